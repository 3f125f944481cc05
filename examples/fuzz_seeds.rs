//! Writes the seed corpora of every fuzz target, from the generators, into
//! `<dir>/<target>/` (default `fuzz/seeds/`): `cargo run --release --example fuzz_seeds`.
//!
//! - `parse_header`, `header_vs_full`, `differential`: the hostile corpus
//!   (`gen::hostile::corpus`) plus writer-style valid files of every dtype;
//! - `config`: config.json of the synthesized models (`model::synth`) and of a generated
//!   quantized model of every format (`gen::model`);
//! - `quant_detect`: config.json, side files and tensor names of a generated model of every
//!   format in every legal config location, with and without a recipe.yaml;
//! - `tokenizer`: the synthesizer's tokenizer.json / tokenizer_config.json, alone and
//!   together, plus tekken-like and broken variants;
//! - `structured`, `model_dir`, `quant_bind` (`arbitrary` inputs whose files are built by
//!   the generators inside the target): short byte patterns that select each variant.
//!
//! docs/fuzzing.md describes how the campaigns use them.

use safeweights::dtype::Dtype;
use safeweights::fuzz_checks::join_sections;
use safeweights::gen::hostile::{assemble, contiguous, corpus, raw_header};
use safeweights::gen::model::{synthesize, ConfigLocation, GenFormat, ModelSpec};
use safeweights::model::synth::{self, tokenizer_config_json, tokenizer_json};
use serde_json::json;
use std::path::{Path, PathBuf};

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).expect("create seed dir");
    std::fs::write(d.join(name), bytes).expect("write seed");
}

fn main() {
    let dir = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds"),
        PathBuf::from,
    );
    let mut count = 0usize;
    let mut put = |target: &str, name: &str, bytes: &[u8]| {
        write(&dir, target, name, bytes);
        count += 1;
    };

    // Container targets.
    let mut files: Vec<(String, Vec<u8>)> = corpus()
        .into_iter()
        .map(|c| (c.file_name(), c.bytes))
        .collect();
    for (i, chunk) in Dtype::ALL.chunks(4).enumerate() {
        let tensors: Vec<(String, Dtype, Vec<u64>)> = chunk
            .iter()
            .enumerate()
            .map(|(j, d)| (format!("model.layers.{j}.weight"), *d, vec![2, 8]))
            .collect();
        let (entries, len) = contiguous(&tensors);
        let meta = [("format".to_string(), "pt".to_string())];
        let header = raw_header(&entries, &meta);
        files.push((
            format!("valid_dtypes_{i}.safetensors"),
            assemble(header.as_bytes(), &vec![0x3c; len as usize]),
        ));
    }
    for (name, bytes) in &files {
        for target in ["parse_header", "header_vs_full", "differential"] {
            put(target, name, bytes);
        }
    }

    // config.json.
    let specs = [
        ("llama_tiny", synth::ModelSpec::llama_tiny()),
        ("qwen2_tiny", synth::ModelSpec::qwen2_tiny()),
        ("qwen3_moe_tiny", synth::ModelSpec::qwen3_moe_tiny()),
        ("scale_4x256", synth::scale_spec(4, 256)),
    ];
    for (name, spec) in &specs {
        let text = serde_json::to_string_pretty(&spec.config_json()).unwrap();
        put("config", &format!("{name}.json"), text.as_bytes());
    }

    // Quantized models: config (config target), detection inputs (quant_detect).
    for format in GenFormat::ALL {
        for &location in format.legal_locations() {
            let spec = ModelSpec {
                location,
                ..ModelSpec::small(format, 7)
            };
            let Ok(model) = synthesize(&spec) else {
                continue;
            };
            let stem = format!("{}_{}", format.name(), location.name());
            if location == ConfigLocation::QuantizationConfig {
                let text = serde_json::to_string_pretty(&model.config).unwrap();
                put("config", &format!("{stem}.json"), text.as_bytes());
            }
            let side = |file: &str| -> Vec<u8> {
                model
                    .side_files
                    .iter()
                    .find(|(n, _)| n == file)
                    .map(|(_, v)| v.to_string().into_bytes())
                    .unwrap_or_default()
            };
            let names = model
                .tensors
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            let config = model.config.to_string();
            for recipe in [false, true] {
                let input = join_sections(&[
                    config.as_bytes(),
                    &side("quantize_config.json"),
                    &side("quant_config.json"),
                    &side("hf_quant_config.json"),
                    if recipe { b"recipe" } else { b"" },
                    names.as_bytes(),
                ]);
                let suffix = if recipe { "_recipe" } else { "" };
                put("quant_detect", &format!("{stem}{suffix}"), &input);
            }
        }
    }

    // Tokenizer files. Bits: 0 tokenizer.json, 1 tekken.json, 2 tokenizer.model,
    // 3 tokenizer_config.json, 4 special_tokens_map.json, 5 generation_config.json,
    // 6 chat_template.jinja, 7 chat_template.json.
    let tj = tokenizer_json();
    let tc = tokenizer_config_json().to_string();
    let gen_cfg =
        json!({"bos_token_id": synth::BOS_ID, "eos_token_id": [synth::EOS_ID, synth::EOT_ID]})
            .to_string();
    let vocab = synth::TOKENIZER_VOCAB.to_le_bytes();
    let tekken = json!({
        "config": {"pattern": "\\w+", "num_vocab_tokens": 4, "default_vocab_size": 8, "default_num_special_tokens": 2},
        "vocab": [{"rank": 0, "token_bytes": "YQ=="}, {"rank": 1, "token_bytes": "Yg=="}],
        "special_tokens": [{"rank": 0, "token_str": "<s>"}, {"rank": 1, "token_str": "</s>"}]
    })
    .to_string();
    let seeds: Vec<(&str, u8, Vec<&[u8]>)> = vec![
        ("tokenizer_json", 0b1, vec![tj.as_bytes()]),
        ("tokenizer_json_vocab", 0b1, vec![tj.as_bytes(), &vocab]),
        (
            "full",
            0b0010_1001,
            vec![tj.as_bytes(), tc.as_bytes(), gen_cfg.as_bytes(), &vocab],
        ),
        ("config_only", 0b1000, vec![tc.as_bytes()]),
        ("tekken", 0b10, vec![tekken.as_bytes()]),
        ("sentencepiece_only", 0b100, vec![b""]),
        (
            "templates",
            0b1100_1001,
            vec![
                tj.as_bytes(),
                tc.as_bytes(),
                b"{{ messages }}",
                b"{\"chat_template\": \"x\"}",
            ],
        ),
        ("unreadable", 0b1, vec![b"\0ERR"]),
        ("empty_object", 0b1, vec![b"{}"]),
    ];
    for (name, mask, parts) in seeds {
        let mut input = vec![mask];
        input.extend(join_sections(&parts));
        put("tokenizer", name, &input);
    }

    // arbitrary-driven targets: patterns that walk the variants.
    for target in ["structured", "model_dir", "quant_bind"] {
        for i in 0u8..16 {
            let pattern: Vec<u8> = (0..96u8)
                .map(|j| i.wrapping_mul(17).wrapping_add(j.wrapping_mul(i | 1)))
                .collect();
            put(target, &format!("pattern_{i:02}"), &pattern);
        }
    }
    println!("wrote {count} seeds under {}", dir.display());
}
