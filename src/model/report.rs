//! The `check` report: one value that prints for people ([`CheckReport::render`]) and
//! serialises for machines ([`CheckReport::to_json`], the shape documented in issue 3).
//! A value the directory does not determine is `null`, never guessed.

use crate::diag::{Diagnostic, Severity};
use crate::model::config::ModelConfig;
use crate::model::crosscheck::TensorLayout;
use crate::model::dir::Layout;
use crate::model::quant_hook::QuantReport;
use crate::model::registry::{self, Family};
use crate::model::rope;
use crate::model::tokenizer::TokenizerReport;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Everything `check` found.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// The path the user gave.
    pub requested: PathBuf,
    /// The directory examined (the snapshot, for a hub cache folder).
    pub path: PathBuf,
    /// How the weights are laid out.
    pub layout_kind: Layout,
    /// The normalised config, when config.json parsed.
    pub config: Option<ModelConfig>,
    /// The family guessed from tensor names when no config named one.
    pub heuristic_family: Option<&'static Family>,
    /// The quantization section.
    pub quant: QuantReport,
    /// The tokenizer section.
    pub tokenizer: TokenizerReport,
    /// Embedding/head/layer naming found in the checkpoint.
    pub tensor_layout: TensorLayout,
    /// Weight files opened.
    pub shards: usize,
    /// Distinct tensors.
    pub tensors: usize,
    /// Bytes of tensor data.
    pub bytes: u64,
    /// `(dtype, tensors, bytes)`, most bytes first.
    pub dtypes: Vec<(String, u64, u64)>,
    /// True when tensor data was read (`--deep`), not only headers.
    pub data_scanned: bool,
    /// Per-layer decode statistics of the quantized layers (`--deep` on a quantized
    /// model), filled in by the quantization stage.
    pub quant_deep: Option<Value>,
    /// Every finding, errors first, in a deterministic order.
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckReport {
    /// True when no finding is an error.
    pub fn ok(&self) -> bool {
        !self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Number of findings of one severity.
    pub fn count(&self, s: Severity) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == s).count()
    }

    fn family(&self) -> &'static Family {
        self.config
            .as_ref()
            .map(|c| c.arch.family)
            .or(self.heuristic_family)
            .unwrap_or(&registry::GENERIC)
    }

    /// The model's dtype: config.json `dtype`/`torch_dtype`, else the dtype holding the
    /// most bytes in the headers. Returns `(value, source)`.
    pub fn dtype(&self) -> (Option<String>, &'static str) {
        if let Some(d) = self.config.as_ref().and_then(|c| c.dtype.clone()) {
            return (Some(d), "config.json");
        }
        match self.dtypes.first() {
            Some((d, _, _)) => (Some(d.clone()), "safetensors headers"),
            None => (None, "none"),
        }
    }

    /// The JSON document of `check --json`.
    pub fn to_json(&self) -> Value {
        let c = self.config.as_ref();
        let arch = json!({
            "classes": c.map(|c| c.arch.classes.clone()).unwrap_or_default(),
            "family": self.family().name,
            "model_type": c.and_then(|c| c.arch.model_type.clone()),
            "supported": self.family().name != registry::GENERIC.name,
            "class": c.and_then(|c| c.arch.class.clone()),
            "text_model_type": c.and_then(|c| c.arch.text_model_type.clone()),
            "source": c.map(|c| c.arch.source.as_str()).unwrap_or(if self.heuristic_family.is_some() { "tensor_names" } else { "unknown" }),
        });
        let (dtype, dtype_source) = self.dtype();
        let config = json!({
            "num_hidden_layers": c.and_then(|c| c.num_hidden_layers),
            "hidden_size": c.and_then(|c| c.hidden_size),
            "num_attention_heads": c.and_then(|c| c.num_attention_heads),
            "num_key_value_heads": c.and_then(|c| c.num_key_value_heads),
            "head_dim": c.and_then(|c| c.head_dim),
            "vocab_size": c.and_then(|c| c.vocab_size),
            "intermediate_size": c.and_then(|c| c.intermediate_size),
            "tie_word_embeddings": c.and_then(|c| c.tie_word_embeddings),
            "attention_bias": c.and_then(|c| c.attention_bias),
            "mlp_bias": c.and_then(|c| c.mlp_bias),
            "sliding_window": c.and_then(|c| c.sliding_window),
            "num_experts": c.and_then(|c| c.num_experts),
            "num_experts_per_tok": c.and_then(|c| c.num_experts_per_tok),
            "kv_lora_rank": c.and_then(|c| c.kv_lora_rank),
            "q_lora_rank": c.and_then(|c| c.q_lora_rank),
            "has_vision": c.map(|c| c.has_vision),
            "rope": c.map(|c| rope::rope_json(&c.rope)),
            "max_position_embeddings": c.and_then(|c| c.max_position_embeddings),
            "num_shared_experts": c.and_then(|c| c.num_shared_experts),
            "layer_types": c.and_then(|c| c.layer_types.clone()),
            "attn_logit_softcapping": c.and_then(|c| c.attn_logit_softcapping),
            "final_logit_softcapping": c.and_then(|c| c.final_logit_softcapping),
            "mla": c.map(|c| c.mla),
            "has_audio": c.map(|c| c.has_audio),
            "dtype": dtype,
            "dtype_source": dtype_source,
            "tensor_parallel_sizes": c.and_then(|c| c.tensor_parallel_sizes()),
        });
        let diagnostics: Vec<Value> = self.diagnostics.iter().map(diagnostic_json).collect();
        let mut weights = Map::new();
        weights.insert(
            "layout".into(),
            json!(format!("{:?}", self.layout_kind).to_lowercase()),
        );
        weights.insert("embedding".into(), json!(self.tensor_layout.embedding));
        weights.insert("lm_head".into(), json!(self.tensor_layout.lm_head));
        weights.insert(
            "checkpoint_layout".into(),
            json!(self.tensor_layout.vlm_layout),
        );
        weights.insert("data_scanned".into(), json!(self.data_scanned));
        weights.insert(
            "dtypes".into(),
            Value::Object(
                self.dtypes
                    .iter()
                    .map(|(d, n, b)| (d.clone(), json!({"tensors": n, "bytes": b})))
                    .collect(),
            ),
        );
        json!({
            "ok": self.ok(),
            "path": self.requested.display().to_string(),
            "resolved_path": self.path.display().to_string(),
            "architecture": arch,
            "config": config,
            "quantization": self.quant.to_json(),
            "tokenizer": self.tokenizer.to_json(),
            "shards": self.shards,
            "tensors": self.tensors,
            "bytes": self.bytes,
            "weights": Value::Object(weights),
            "quantization_deep": self.quant_deep,
            "diagnostics": diagnostics,
        })
    }

    /// The human report: architecture, hyperparameters, RoPE, quantization, tokenizer,
    /// counts, then findings grouped by severity. `label` colours severity names.
    pub fn render(&self, label: &dyn Fn(Severity) -> String) -> String {
        let mut s = String::new();
        let c = self.config.as_ref();
        let opt = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_else(|| "?".into());
        let tri = |v: Option<bool>| v.map(|x| x.to_string()).unwrap_or_else(|| "unset".into());
        let _ = writeln!(s, "model directory {}", self.requested.display());
        if self.path != self.requested {
            let _ = writeln!(s, "  resolved to   {}", self.path.display());
        }
        let fam = self.family();
        let class = c
            .and_then(|c| c.arch.class.clone())
            .or_else(|| c.and_then(|c| c.arch.classes.first().cloned()));
        let _ = writeln!(
            s,
            "  architecture  {} -> family {}{}",
            class.unwrap_or_else(|| "(none)".into()),
            fam.name,
            if fam.name == registry::GENERIC.name {
                " (not in the registry)"
            } else {
                ""
            }
        );
        if let Some(c) = c {
            let _ = writeln!(
                s,
                "  shape         {} layers, hidden {}, heads {} (KV {}), head_dim {}, vocab {}, MLP {}",
                opt(c.num_hidden_layers),
                opt(c.hidden_size),
                opt(c.num_attention_heads),
                opt(c.num_key_value_heads),
                opt(c.head_dim),
                opt(c.vocab_size),
                opt(c.intermediate_size)
            );
            let mut attn = format!(
                "tie_word_embeddings {}, attention_bias {}, mlp_bias {}, sliding_window {}",
                tri(c.tie_word_embeddings),
                tri(c.attention_bias),
                tri(c.mlp_bias),
                c.sliding_window
                    .map(|w| w.to_string())
                    .unwrap_or_else(|| "none".into())
            );
            if c.mla {
                let _ = write!(
                    attn,
                    ", MLA (kv_lora_rank {}, q_lora_rank {})",
                    opt(c.kv_lora_rank),
                    opt(c.q_lora_rank)
                );
            }
            let _ = writeln!(s, "  attention     {attn}");
            if let Some(tp) = c.tensor_parallel_sizes() {
                let tp: Vec<String> = tp.iter().map(u64::to_string).collect();
                let _ = writeln!(s, "  tensor par.   splits over {} GPU(s)", tp.join(", "));
            }
            if c.num_experts.is_some() {
                let _ = writeln!(
                    s,
                    "  experts       {} routed, top-{}, {} shared",
                    opt(c.num_experts),
                    opt(c.num_experts_per_tok),
                    opt(c.num_shared_experts)
                );
            }
            let r = &c.rope.main;
            let mut rope_line = format!(
                "{}, theta {}",
                r.rope_type,
                r.theta
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "unset".into())
            );
            for (k, v) in r.params.iter().filter(|(_, v)| !v.is_null()) {
                let shown = match v {
                    Value::Array(a) => format!("[{} values]", a.len()),
                    other => other.to_string(),
                };
                let _ = write!(rope_line, ", {k} {shown}");
            }
            if let Some(p) = r.partial_rotary_factor {
                let _ = write!(rope_line, ", partial_rotary_factor {p}");
            }
            for (lt, lr) in &c.rope.per_layer_type {
                let _ = write!(
                    rope_line,
                    "; {lt}: {} theta {}",
                    lr.rope_type,
                    lr.theta
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "unset".into())
                );
            }
            let _ = writeln!(s, "  rope          {rope_line}");
            if c.has_vision || c.has_audio {
                let _ = writeln!(
                    s,
                    "  towers        vision {}, audio {}",
                    c.has_vision, c.has_audio
                );
            }
        }
        let q = &self.quant;
        let _ = writeln!(
            s,
            "  quantization  {} (source {}, supported {})",
            q.method,
            q.source,
            q.supported
                .map(|b| b.to_string())
                .unwrap_or_else(|| "undetermined".into())
        );
        let t = &self.tokenizer;
        let mut tl = t.kind.as_str().to_string();
        if let Some(m) = &t.model {
            let _ = write!(tl, " ({m}, {} tokens)", opt(t.vocab_size));
        }
        if let Some(n) = t.probe_tokens {
            let _ = write!(tl, ", probe {n} tokens");
        }
        let _ = write!(
            tl,
            ", chat template {}",
            t.chat_template.clone().unwrap_or_else(|| "none".into())
        );
        if let Some(e) = &t.eos_token {
            let _ = write!(tl, ", eos {e}");
        }
        let _ = writeln!(s, "  tokenizer     {tl}");
        let (dtype, src) = self.dtype();
        let _ = writeln!(
            s,
            "  weights       {} shard(s), {} tensors, {} ({}), dtype {} from {src}, {}",
            self.shards,
            self.tensors,
            human_bytes(self.bytes),
            self.bytes,
            dtype.unwrap_or_else(|| "?".into()),
            if self.data_scanned {
                "data scanned"
            } else {
                "headers only"
            }
        );
        if let Some(layers) = self
            .quant_deep
            .as_ref()
            .and_then(|d| d.get("layers"))
            .and_then(Value::as_array)
        {
            let nonfinite: u64 = layers
                .iter()
                .filter_map(|l| l.get("nonfinite").and_then(Value::as_u64))
                .sum();
            let zero_scales: u64 = layers
                .iter()
                .filter_map(|l| l.get("zero_scales").and_then(Value::as_u64))
                .sum();
            let _ = writeln!(
                s,
                "  deep decode   {} quantized layer(s) decoded, {nonfinite} non-finite weight(s), {zero_scales} zero scale(s)",
                layers.len()
            );
        }
        let (e, w, i) = (
            self.count(Severity::Error),
            self.count(Severity::Warning),
            self.count(Severity::Info),
        );
        let _ = writeln!(s, "findings: {e} error(s), {w} warning(s), {i} info");
        for sev in [Severity::Error, Severity::Warning, Severity::Info] {
            for d in self.diagnostics.iter().filter(|d| d.severity == sev) {
                let tensor = d
                    .tensor
                    .as_deref()
                    .map(|t| format!(" [{t}]"))
                    .unwrap_or_default();
                let file = d
                    .file
                    .as_ref()
                    .map(|f| format!(" {}", short_path(f, &self.path)))
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    "  {} {}{file}{tensor}: {}",
                    label(d.severity),
                    d.code,
                    d.message
                );
                if let Some(a) = &d.advice {
                    let _ = writeln!(s, "      advice: {a}");
                }
            }
        }
        let _ = writeln!(
            s,
            "{}",
            if self.ok() {
                "result: ok"
            } else {
                "result: will not load (errors above)"
            }
        );
        s
    }
}

fn short_path(f: &std::path::Path, base: &std::path::Path) -> String {
    f.strip_prefix(base)
        .ok()
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| f.display().to_string())
}

/// `1536` → `1.5 KiB`.
pub fn human_bytes(b: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// One diagnostic in the shape `validate` uses, plus `file`.
pub fn diagnostic_json(d: &Diagnostic) -> Value {
    json!({
        "code": d.code,
        "severity": d.severity.as_str(),
        "message": d.message,
        "tensor": d.tensor,
        "advice": d.advice,
        "file": d.file.as_ref().map(|p| p.display().to_string()),
    })
}
