//! Target `model_dir`: a model directory (index.json, config.json and a few small shards)
//! written to a temporary directory and checked end to end with `check_dir`, including
//! hostile shard names: `..`, absolute paths (to a real shard outside the directory), NUL,
//! very long names, empty components.
//!
//! Properties: never panics; no file outside the model directory is ever opened (the
//! tensor `outside.secret`, stored in a valid shard beside the directory, never appears,
//! and no opened shard's path leaves the directory); every shard name the index marks as
//! unsafe is reported (DIR005) and left unopened.
//!
//! Shared by `fuzz/fuzz_targets/model_dir.rs` and `tests/fuzz_regressions.rs` (`#[path]`).

use arbitrary::Arbitrary;
use safeweights::container::byte_count;
use safeweights::dtype::Dtype;
use safeweights::gen::hostile::{assemble, contiguous, raw_header};
use safeweights::model::index::shard_name_problem;
use safeweights::model::{check_opened, CheckOptions, ModelDir, OpenOptions};
use serde_json::{json, Map, Value};
use std::path::Path;

/// A shard name, benign or hostile.
#[derive(Debug, Arbitrary)]
pub enum Name {
    /// `model-0000{i}-of-0000{n}.safetensors`.
    Plain(u8),
    /// `../outside.safetensors`: the real shard beside the directory.
    DotDot,
    /// The absolute path of the real shard beside the directory.
    Absolute,
    /// `a/../../outside.safetensors`.
    Nested,
    /// A name holding a NUL byte.
    Nul,
    /// A name of 256..=4351 bytes.
    Long(u16),
    /// `./x.safetensors`, `x//y.safetensors`, `sub/x.safetensors`, `C:x`, `\\x` ...
    Odd(u8),
    /// Any string.
    Raw(String),
}

/// One shard file.
#[derive(Debug, Arbitrary)]
pub struct Shard {
    /// Its file name.
    pub name: Name,
    /// Tensors: (name index, dtype index, dims).
    pub tensors: Vec<(u8, u8, Vec<u8>)>,
    /// Overwrite one byte of the file (position, value).
    pub corrupt: Option<(u16, u8)>,
    /// Whether the file is written at all (a missing shard).
    pub write: bool,
    /// Whether its tensors are listed in the index.
    pub indexed: bool,
}

/// config.json.
#[derive(Debug, Arbitrary)]
pub enum Config {
    /// No config.json.
    Absent,
    /// A generator config (llama, qwen2, qwen3-moe), one key overridden.
    Synth(u8, String, i64),
    /// Any text.
    Raw(String),
}

/// The whole directory.
#[derive(Debug, Arbitrary)]
pub struct Input {
    /// Shards (at most 4 used).
    pub shards: Vec<Shard>,
    /// Extra `weight_map` entries: tensor name index → shard name.
    pub extra_map: Vec<(u8, Name)>,
    /// Write an index (otherwise shards are found by name).
    pub index: bool,
    /// Replace the index with any text.
    pub raw_index: Option<String>,
    /// `metadata.total_size`.
    pub total_size: Option<u64>,
    /// config.json.
    pub config: Config,
    /// Also scan tensor data (`check --deep`).
    pub deep: bool,
}

const TENSOR_NAMES: [&str; 8] = [
    "model.embed_tokens.weight",
    "model.layers.0.self_attn.q_proj.weight",
    "model.layers.0.mlp.down_proj.weight",
    "model.norm.weight",
    "lm_head.weight",
    "model.layers.0.input_layernorm.weight",
    "outside.secret",
    "",
];

fn name_of(n: &Name, i: usize, count: usize, outside: &Path) -> String {
    match n {
        Name::Plain(k) => format!(
            "model-{:05}-of-{:05}.safetensors",
            (*k as usize % 4) + 1,
            count.max(1)
        ),
        Name::DotDot => "../outside.safetensors".into(),
        Name::Absolute => outside.display().to_string(),
        Name::Nested => "a/../../outside.safetensors".into(),
        Name::Nul => format!("model\0{i}.safetensors"),
        Name::Long(k) => "m".repeat(256 + (*k as usize % 4096)) + ".safetensors",
        Name::Odd(k) => [
            "./x.safetensors",
            "x//y.safetensors",
            "sub/x.safetensors",
            "C:x.safetensors",
            "\\x.safetensors",
            ".",
            "..",
            "model.safetensors.index.json",
        ][*k as usize % 8]
            .into(),
        Name::Raw(s) => s.chars().take(300).collect(),
    }
}

fn shard_bytes(tensors: &[(u8, u8, Vec<u8>)]) -> (Vec<u8>, Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    let list: Vec<(String, Dtype, Vec<u64>)> = tensors
        .iter()
        .take(6)
        .filter(|t| seen.insert(t.0 % 6))
        .map(|(n, d, dims)| {
            let dtype = Dtype::ALL[*d as usize % Dtype::ALL.len()];
            let mut shape: Vec<u64> = dims.iter().take(3).map(|&x| u64::from(x % 17)).collect();
            if byte_count(&shape, dtype).is_err() {
                shape.push(8);
            }
            (TENSOR_NAMES[*n as usize % 6].to_string(), dtype, shape)
        })
        .collect();
    let (entries, data_len) = contiguous(&list);
    let data: Vec<u8> = (0..data_len).map(|i| (i * 37 % 251) as u8).collect();
    let file = assemble(raw_header(&entries, &[]).as_bytes(), &data);
    (file, list.into_iter().map(|t| t.0).collect())
}

fn synth_config(which: u8) -> Value {
    use safeweights::model::synth::ModelSpec;
    match which % 3 {
        0 => ModelSpec::llama_tiny().config_json(),
        1 => ModelSpec::qwen2_tiny().config_json(),
        _ => ModelSpec::qwen3_moe_tiny().config_json(),
    }
}

/// The check: see the module documentation.
pub fn run(input: Input) {
    let root = tempfile::tempdir().expect("temp dir");
    let outside = root.path().join("outside.safetensors");
    // A valid shard holding only `outside.secret`, beside the model directory.
    let (entries, len) = contiguous(&[("outside.secret".into(), Dtype::F32, vec![4])]);
    let secret = assemble(
        raw_header(&entries, &[]).as_bytes(),
        &vec![0u8; len as usize],
    );
    std::fs::write(&outside, secret).expect("write outside shard");
    let dir = root.path().join("model");
    std::fs::create_dir(&dir).expect("model dir");

    let count = input.shards.len().min(4);
    let mut weight_map = Map::new();
    for (i, s) in input.shards.iter().take(4).enumerate() {
        let name = name_of(&s.name, i, count, &outside);
        let (mut bytes, names) = shard_bytes(&s.tensors);
        if let Some((at, b)) = s.corrupt {
            let at = at as usize % bytes.len();
            bytes[at] = b;
        }
        // Only plain relative names are written; hostile ones point at nothing or at the
        // real file outside.
        if s.write && shard_name_problem(&name).is_none() && name.len() < 200 {
            let path = dir.join(&name);
            if let Some(parent) = path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = std::fs::write(path, bytes);
        }
        if s.indexed {
            for n in names {
                weight_map.insert(n, json!(name));
            }
        }
    }
    for (t, n) in input.extra_map.iter().take(4) {
        let name = name_of(n, 9, count, &outside);
        weight_map.insert(TENSOR_NAMES[*t as usize % 8].into(), json!(name));
    }
    if input.index {
        let text = match &input.raw_index {
            Some(t) => t.clone(),
            None => {
                let mut meta = Map::new();
                if let Some(t) = input.total_size {
                    meta.insert("total_size".into(), json!(t));
                }
                json!({"metadata": meta, "weight_map": weight_map}).to_string()
            }
        };
        std::fs::write(dir.join("model.safetensors.index.json"), text).expect("index");
    }
    match &input.config {
        Config::Absent => {}
        Config::Synth(which, key, value) => {
            let mut c = synth_config(*which);
            if let Some(o) = c.as_object_mut() {
                let keys: Vec<String> = o.keys().cloned().collect();
                let k = keys
                    .iter()
                    .find(|k| **k == *key)
                    .cloned()
                    .unwrap_or_else(|| keys[key.len() % keys.len()].clone());
                o.insert(k, json!(value));
            }
            std::fs::write(dir.join("config.json"), c.to_string()).expect("config");
        }
        Config::Raw(text) => std::fs::write(dir.join("config.json"), text).expect("config"),
    }

    let opened = ModelDir::open(&dir, &OpenOptions::default()).expect("directory opens");
    let canon = dir.canonicalize().expect("canonical dir");
    assert!(
        !opened.tensors.contains_key("outside.secret"),
        "a tensor from outside the model directory was loaded"
    );
    for s in &opened.shards {
        if s.tensors.is_some() {
            let p = s.path.canonicalize().expect("an opened shard exists");
            assert!(
                p.starts_with(&canon),
                "opened {} outside the directory",
                p.display()
            );
        }
    }
    if let Some(index) = &opened.index {
        for s in &index.shards {
            if shard_name_problem(s).is_some() {
                assert!(
                    opened
                        .diagnostics
                        .iter()
                        .any(|d| d.code == "DIR005" && d.tensor.as_deref() == Some(s.as_str())),
                    "unsafe shard name {s:?} not reported"
                );
            }
        }
    }
    let opts = CheckOptions {
        deep: input.deep,
        ..CheckOptions::default()
    };
    let mut opened = opened;
    if input.deep {
        let found = safeweights::model::scan::scan_dir(&opened, &opts.open.limits);
        opened.diagnostics.extend(found);
    }
    let report = check_opened(opened, opts.quant_detector);
    let _ = report.to_json();
    let _ = report.render(&|s| s.as_str().to_string());
}
