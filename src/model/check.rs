//! `check`: open a model directory and say everything about it, or exactly why it will not
//! load. Orchestration only; every rule lives in the module named after its input
//! ([`dir`], [`index`](crate::model::index), [`config`], [`rope`](crate::model::rope),
//! [`tokenizer`], [`crosscheck`], [`quant_hook`]).

use crate::diag::{Diagnostic, Severity};
use crate::model::config::{self, ArchSource, ModelConfig};
use crate::model::crosscheck::{self, TensorLayout};
use crate::model::dir::{self, DirError, ModelDir, OpenOptions, Progress};
use crate::model::quant_hook::{QuantDetector, QuantReport};
use crate::model::registry;
use crate::model::report::CheckReport;
use crate::model::tokenizer::{self, TokenizerReport};
use serde_json::Value;
use std::path::Path;

/// Options of [`check_dir`].
pub struct CheckOptions<'a> {
    /// Header limits and the progress callback for shard opening.
    pub open: OpenOptions<'a>,
    /// Builds the `quantization` section; the quantization stage plugs in here.
    pub quant_detector: QuantDetector,
    /// Also read every floating-point tensor's data (NaN, infinities, all-zero tensors).
    pub deep: bool,
}

impl Default for CheckOptions<'_> {
    fn default() -> Self {
        CheckOptions {
            open: OpenOptions::default(),
            quant_detector: crate::quant::check_hook::detect_for_check,
            deep: false,
        }
    }
}

impl<'a> CheckOptions<'a> {
    /// Default options with a progress callback.
    pub fn with_progress(progress: &'a (dyn Fn(Progress) + Sync)) -> Self {
        let mut o = CheckOptions::default();
        o.open.progress = Some(progress);
        o
    }
}

/// Checks the model directory (or hub cache repo folder) at `path`.
/// `Err` only when the path cannot be examined at all (usage/I/O error).
pub fn check_dir(path: impl AsRef<Path>, opts: &CheckOptions<'_>) -> Result<CheckReport, DirError> {
    let mut dir = ModelDir::open(path, &opts.open)?;
    if opts.deep {
        let found = crate::model::scan::scan_dir(&dir, &opts.open.limits);
        dir.diagnostics.extend(found);
    }
    let mut report = check_opened(dir, opts.quant_detector);
    report.data_scanned = opts.deep;
    Ok(report)
}

/// Runs every check on an already opened directory.
pub fn check_opened(dir: ModelDir, quant_detector: QuantDetector) -> CheckReport {
    let mut diags: Vec<Diagnostic> = dir.diagnostics.clone();
    let config_path = dir.path.join("config.json");

    // config.json
    let (raw, mut cfg): (Value, Option<ModelConfig>) = if dir.has_file("config.json") {
        let text = dir::read_capped(&config_path, dir::MAX_CONFIG_BYTES)
            .and_then(|b| String::from_utf8(b).map_err(|e| format!("not UTF-8: {e}")));
        match text {
            Err(e) => {
                diags.push(
                    Diagnostic::error("CFG002", format!("config.json cannot be read: {e}"))
                        .file(&config_path)
                        .advice("check the file's permissions and encoding, or download it again"),
                );
                (Value::Null, None)
            }
            Ok(text) => match config::parse_config_str(&text) {
                Err(d) => {
                    diags.push(d.file(&config_path));
                    (Value::Null, None)
                }
                Ok((raw, cfg, mut d)) => {
                    for x in &mut d {
                        x.file.get_or_insert_with(|| config_path.clone());
                    }
                    diags.extend(d);
                    (raw, Some(cfg))
                }
            },
        }
    } else {
        let (msg, advice) = if dir.has_file("params.json") {
            (
                "no config.json; params.json (Mistral's native format) is present",
                "use the Hugging Face export of the model (with config.json), or a Mistral-format loader (vLLM --config-format mistral)",
            )
        } else {
            (
                "no config.json; the architecture and hyperparameters are unknown",
                "download config.json from the model repository",
            )
        };
        let code = if dir.has_file("params.json") {
            "CFG033"
        } else {
            "CFG001"
        };
        diags.push(
            Diagnostic::error(code, msg)
                .file(&config_path)
                .advice(advice),
        );
        (Value::Null, None)
    };

    // Architecture from tensor names when the config names none.
    let heuristic = cfg
        .as_ref()
        .map_or(true, |c| c.arch.source == ArchSource::Unknown);
    let mut heuristic_family = None;
    if heuristic && !dir.tensors.is_empty() {
        if let Some((fam, why)) =
            registry::family_from_tensor_names(dir.tensors.keys().map(String::as_str))
        {
            diags.push(
                Diagnostic::warning("CFG035", format!("family {} guessed from tensor names ({why}); nothing in config.json names the architecture", fam.name))
                    .tensor(why)
                    .file(&config_path)
                    .advice("add \"architectures\" and \"model_type\" to config.json; loaders will not guess"),
            );
            heuristic_family = Some(fam);
            if let Some(c) = cfg.as_mut() {
                c.arch.family = fam;
                c.arch.source = ArchSource::TensorNames;
            }
        }
    }

    // Cross-checks.
    let mut layout = TensorLayout::default();
    if let Some(c) = &cfg {
        if !dir.tensors.is_empty() {
            let (l, mut d) = crosscheck::crosscheck(c, &dir.tensors, &dir.unavailable);
            for x in &mut d {
                let shard = x
                    .tensor
                    .as_deref()
                    .and_then(|t| dir.shard_of(t))
                    .map(|s| s.path.clone());
                x.file
                    .get_or_insert_with(|| shard.unwrap_or_else(|| config_path.clone()));
            }
            layout = l;
            diags.extend(d);
        }
    }

    // Tokenizer.
    let tok: TokenizerReport = tokenizer::check_tokenizer(
        &dir.path,
        &dir.files,
        cfg.as_ref().and_then(|c| c.vocab_size),
    );
    diags.extend(tok.diagnostics.iter().cloned());
    if let (Some(c), Some(limit)) = (&cfg, tok.id_limit) {
        for key in ["bos_token_id", "eos_token_id", "pad_token_id"] {
            let ids: Vec<u64> = match c.text.get(key) {
                Some(Value::Number(n)) => n.as_u64().into_iter().collect(),
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_u64).collect(),
                _ => Vec::new(),
            };
            for id in ids.into_iter().filter(|id| *id >= limit) {
                diags.push(
                    Diagnostic::error("TOK009", format!("config.json: {key} {id} is beyond the tokenizer's ids (0..{limit})"))
                        .tensor(key)
                        .file(&config_path)
                        .advice("set it to the id of the model's special token (loaders fall back to config.json when generation_config.json has none)"),
                );
            }
        }
    }

    // Quantization (replaceable).
    let quant: QuantReport = quant_detector(&dir, &raw);
    diags.extend(quant.diagnostics.iter().cloned());

    sort_diagnostics(&mut diags);
    CheckReport {
        requested: dir.requested.clone(),
        path: dir.path.clone(),
        layout_kind: dir.layout,
        config: cfg,
        heuristic_family,
        quant,
        tokenizer: tok,
        tensor_layout: layout,
        shards: dir.shards.len(),
        tensors: dir.tensors.len(),
        bytes: dir.tensor_bytes(),
        dtypes: dtype_summary(&dir),
        data_scanned: false,
        quant_deep: None,
        diagnostics: diags,
    }
}

/// Deterministic order: severity, then code, file, tensor, message.
pub fn sort_diagnostics(d: &mut [Diagnostic]) {
    let rank = |s: Severity| match s {
        Severity::Error => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
    };
    d.sort_by(|a, b| {
        (rank(a.severity), a.code, &a.file, &a.tensor, &a.message).cmp(&(
            rank(b.severity),
            b.code,
            &b.file,
            &b.tensor,
            &b.message,
        ))
    });
}

fn dtype_summary(dir: &ModelDir) -> Vec<(String, u64, u64)> {
    let mut m: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for t in dir.tensors.values() {
        let e = m.entry(t.dtype.name().to_string()).or_default();
        e.0 += 1;
        e.1 = e.1.saturating_add(t.bytes);
    }
    let mut v: Vec<(String, u64, u64)> = m.into_iter().map(|(k, (n, b))| (k, n, b)).collect();
    v.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    v
}

/// Re-exported for callers that only need the directory layer.
pub use dir::Layout;
