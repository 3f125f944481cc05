//! Cross-checks between config.json and the tensors the shards hold: the tie flag vs
//! `lm_head.weight` (both directions), `attention_bias` / `mlp_bias` vs bias tensors (one
//! summary per flag listing the layers), `vocab_size` / `hidden_size` vs the embedding
//! shape, `num_hidden_layers` vs the layer indices present, expert count vs expert indices.
//!
//! Both VLM checkpoint layouts are recognised: transformers ≥ 4.52
//! (`model.language_model.*`, `lm_head.*`) and earlier (`language_model.model.*`,
//! `language_model.lm_head.*`). Vision/audio tower tensors are left out of layer counts.
//! Pure: tensor names and shapes in, diagnostics out.

use crate::diag::Diagnostic;
use crate::dtype::Dtype;
use crate::model::config::ModelConfig;
use crate::model::dir::TensorLocation;
use crate::model::index::{group_names, ranges};
use std::collections::{BTreeMap, BTreeSet};

/// Embedding tensor names, most common first (prefix-free suffixes).
const EMBED_SUFFIXES: &[&str] = &[
    "embed_tokens.weight",
    "wte.weight",
    "tok_embeddings.weight",
    "word_embeddings.weight",
    "embedding.word_embeddings.weight",
    "embed_in.weight",
];
/// Output-head tensor names.
const HEAD_NAMES: &[&str] = &[
    "lm_head.weight",
    "language_model.lm_head.weight",
    "model.lm_head.weight",
    "output.weight",
    "embed_out.weight",
    "transformer.output_layer.weight",
];
/// Path fragments of non-language towers.
const TOWER_MARKERS: &[&str] = &[
    "vision",
    "visual",
    "audio",
    "mm_projector",
    "multi_modal",
    "image_",
    "speech",
];

/// How the checkpoint names its language-model tensors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TensorLayout {
    /// The embedding tensor found.
    pub embedding: Option<String>,
    /// The output head found.
    pub lm_head: Option<String>,
    /// `"transformers>=4.52"` (`model.language_model.`), `"transformers<4.52"`
    /// (`language_model.model.`) or `"plain"`.
    pub vlm_layout: Option<&'static str>,
    /// Decoder layer indices present.
    pub layers: BTreeSet<u64>,
}

fn is_tower(name: &str) -> bool {
    TOWER_MARKERS.iter().any(|m| name.contains(m))
}

/// Layer index of a decoder tensor: the number after `layers.`, `h.`, `blocks.` or `layer.`.
fn layer_index(name: &str) -> Option<u64> {
    let parts: Vec<&str> = name.split('.').collect();
    parts.windows(2).find_map(|w| {
        if matches!(w[0], "layers" | "h" | "blocks" | "layer") {
            w[1].parse().ok()
        } else {
            None
        }
    })
}

fn is_norm(name: &str) -> bool {
    name.contains("norm") || name.contains(".ln_") || name.contains("layernorm")
}

fn is_attention_bias(name: &str) -> bool {
    name.ends_with(".bias")
        && !is_norm(name)
        && (name.contains("attn") || name.contains("attention"))
}

fn is_mlp_bias(name: &str) -> bool {
    name.ends_with(".bias")
        && !is_norm(name)
        && (name.contains(".mlp.") || name.contains("feed_forward") || name.contains(".ffn."))
        && !name.contains(".gate.")
        && !name.contains("router")
}

/// Runs every cross-check. Diagnostics name the tensor and the config key.
///
/// `unavailable` names tensors known to exist (the index lists them) whose shard could not
/// be read: they count as present for presence checks, so one missing shard is reported
/// once (DIR004), not again as a missing head or missing layers.
pub fn crosscheck(
    cfg: &ModelConfig,
    tensors: &BTreeMap<String, TensorLocation>,
    unavailable: &BTreeSet<String>,
) -> (TensorLayout, Vec<Diagnostic>) {
    let mut d = Vec::new();
    let mut layout = TensorLayout::default();
    let lm_names: Vec<&String> = tensors
        .keys()
        .chain(unavailable)
        .filter(|n| !is_tower(n))
        .collect();

    layout.embedding = lm_names
        .iter()
        .filter(|n| EMBED_SUFFIXES.iter().any(|s| n.ends_with(s)))
        .min_by_key(|n| n.len())
        .map(|n| n.to_string());
    layout.lm_head = HEAD_NAMES
        .iter()
        .find(|h| tensors.contains_key(**h) || unavailable.contains(**h))
        .map(|h| h.to_string());
    layout.vlm_layout = layout.embedding.as_deref().map(|e| {
        if e.starts_with("model.language_model.") {
            "transformers>=4.52"
        } else if e.starts_with("language_model.") {
            "transformers<4.52"
        } else {
            "plain"
        }
    });
    layout.layers = lm_names.iter().filter_map(|n| layer_index(n)).collect();

    // Tie flag vs head.
    match (cfg.tie_word_embeddings, &layout.lm_head) {
        (Some(true), Some(h)) => d.push(
            Diagnostic::warning("CFG024", format!("tie_word_embeddings is true but the checkpoint also stores {h}; loaders tie the head to the embedding and skip it"))
                .tensor(h.clone())
                .advice("if the head differs from the embedding, set tie_word_embeddings to false; otherwise drop the tensor to save memory"),
        ),
        (Some(false), None) => d.push(
            Diagnostic::error("CFG025", "tie_word_embeddings is false but there is no lm_head.weight; the output head would be uninitialised")
                .tensor("lm_head.weight")
                .advice("set tie_word_embeddings to true if the model shares the embedding, or add the missing shard with lm_head.weight"),
        ),
        (None, None) if layout.embedding.is_some() => d.push(
            Diagnostic::warning("CFG037", "tie_word_embeddings is unset and there is no lm_head.weight; loaders whose class default is untied (Llama, Qwen2, Mistral) leave the head uninitialised")
                .tensor("tie_word_embeddings")
                .advice("write \"tie_word_embeddings\": true in config.json"),
        ),
        _ => {}
    }

    // Bias flags vs bias tensors, one summary each.
    let attn_layers: BTreeSet<u64> = lm_names
        .iter()
        .filter(|n| is_attention_bias(n))
        .filter_map(|n| layer_index(n))
        .collect();
    let mlp_layers: BTreeSet<u64> = lm_names
        .iter()
        .filter(|n| is_mlp_bias(n))
        .filter_map(|n| layer_index(n))
        .collect();
    bias_check(
        &mut d,
        "attention_bias",
        "CFG026",
        cfg.attention_bias,
        &attn_layers,
        &layout.layers,
    );
    bias_check(
        &mut d,
        "mlp_bias",
        "CFG027",
        cfg.mlp_bias,
        &mlp_layers,
        &layout.layers,
    );

    // Embedding shape.
    let float = |dt: Dtype| {
        matches!(
            dt,
            Dtype::F16 | Dtype::BF16 | Dtype::F32 | Dtype::F64 | Dtype::F8_E4M3 | Dtype::F8_E5M2
        )
    };
    match layout
        .embedding
        .as_ref()
        .and_then(|e| tensors.get(e).map(|t| (e, t)))
    {
        Some((name, t)) if t.shape.len() == 2 && float(t.dtype) => {
            let (rows, cols) = (t.shape[0], t.shape[1]);
            if let Some(v) = cfg.vocab_size {
                if v != rows {
                    d.push(
                        Diagnostic::error("CFG028", format!("config.json vocab_size is {v} but {name} has {rows} rows"))
                            .tensor(name.clone())
                            .advice("set vocab_size to the embedding's row count (or use the config that belongs to these weights)"),
                    );
                }
            }
            if let Some(h) = cfg.hidden_size {
                if h != cols {
                    d.push(
                        Diagnostic::error("CFG028", format!("config.json hidden_size is {h} but {name} has {cols} columns"))
                            .tensor(name.clone())
                            .advice("the config does not belong to these weights; use the matching config.json"),
                    );
                }
            }
            if let Some(head) = layout
                .lm_head
                .as_ref()
                .and_then(|h| tensors.get(h).map(|t| (h, t)))
            {
                if head.1.shape.len() == 2 && float(head.1.dtype) && head.1.shape[0] != rows {
                    d.push(
                        Diagnostic::error("CFG028", format!("{} has {} rows but the embedding has {rows}", head.0, head.1.shape[0]))
                            .tensor(head.0.clone())
                            .advice("the head and embedding must cover the same vocabulary; re-export the model"),
                    );
                }
            }
        }
        Some((name, t)) if t.shape.len() != 2 => d.push(
            Diagnostic::error(
                "CFG028",
                format!(
                    "embedding {name} has shape {:?}; expected [vocab_size, hidden_size]",
                    t.shape
                ),
            )
            .tensor(name.clone())
            .advice("the checkpoint is corrupt or not a decoder LLM"),
        ),
        Some(_) => {}
        None => {
            if !tensors.is_empty() && unavailable.is_empty() {
                d.push(
                    Diagnostic::warning("CFG032", "no embedding tensor found (embed_tokens / wte / word_embeddings); vocab_size and hidden_size are not cross-checked")
                        .tensor("embed_tokens.weight")
                        .advice("expected for unusual naming; if the shard holding the embedding is missing, download it"),
                );
            }
        }
    }

    // Layer indices.
    if let Some(n) = cfg.num_hidden_layers {
        if !layout.layers.is_empty() || n > 0 && !tensors.is_empty() {
            let (missing_count, missing_ranges) = gaps(&layout.layers, n);
            let extra: BTreeSet<u64> = layout.layers.iter().copied().filter(|i| *i >= n).collect();
            let mtp = cfg.num_nextn_predict_layers.unwrap_or(0);
            let (mtp_layers, extra): (BTreeSet<u64>, BTreeSet<u64>) =
                extra.into_iter().partition(|i| *i < n.saturating_add(mtp));
            if missing_count > 0 && !layout.layers.is_empty() {
                d.push(
                    Diagnostic::error(
                        "CFG029",
                        format!("num_hidden_layers is {n} but no tensors exist for layer(s) {missing_ranges} ({missing_count} of {n})"),
                    )
                    .tensor("num_hidden_layers")
                    .advice("a shard is missing or the config is wrong; download every shard, or fix num_hidden_layers"),
                );
            }
            if !extra.is_empty() {
                d.push(
                    Diagnostic::error(
                        "CFG029",
                        format!("num_hidden_layers is {n} but tensors exist for layer(s) {}; loaders reject them as unexpected", ranges(&extra)),
                    )
                    .tensor("num_hidden_layers")
                    .advice("set num_hidden_layers to the number of layers stored, or remove the extra layers"),
                );
            }
            if !mtp_layers.is_empty() {
                d.push(
                    Diagnostic::info(
                        "CFG029",
                        format!("layer(s) {} after the {n} decoder layers are multi-token-prediction layers (num_nextn_predict_layers {mtp})", ranges(&mtp_layers)),
                    )
                    .tensor("num_nextn_predict_layers")
                    .advice("nothing to do; used only for speculative decoding"),
                );
            }
        }
    }

    // Uniform dense families: every decoder layer holds the same tensors.
    if UNIFORM_FAMILIES.contains(&cfg.arch.family.name)
        && cfg.num_experts.is_none()
        && layout.layers.len() >= 2
    {
        if let Some(dg) = uniform_layer_check(&lm_names, &layout.layers) {
            d.push(dg);
        }
    }

    // Expert indices vs expert count.
    if let Some(ne) = cfg.num_experts {
        let experts: BTreeSet<u64> = lm_names
            .iter()
            .filter_map(|n| {
                let parts: Vec<&str> = n.split('.').collect();
                parts.windows(2).find_map(|w| {
                    if w[0] == "experts" {
                        w[1].parse::<u64>().ok()
                    } else {
                        None
                    }
                })
            })
            .collect();
        if let Some(max) = experts.iter().max() {
            if max.saturating_add(1) != ne || experts.len() as u64 != ne {
                d.push(
                    Diagnostic::error(
                        "CFG031",
                        format!(
                            "config.json has {ne} experts but the tensors have expert indices {}",
                            ranges(&experts)
                        ),
                    )
                    .tensor("num_experts")
                    .advice("the config does not match the weights (or expert shards are missing)"),
                );
            }
        }
    }
    (layout, d)
}

/// Indices of `0..n` absent from `present`: the count and up to 16 ranges as text,
/// computed without materialising `0..n` (n comes from an untrusted config).
fn gaps(present: &BTreeSet<u64>, n: u64) -> (u64, String) {
    let mut parts: Vec<String> = Vec::new();
    let mut count = 0u64;
    let mut next = 0u64;
    for i in present.range(..n).copied().chain(std::iter::once(n)) {
        if i > next {
            count += i - next;
            if parts.len() < 16 {
                parts.push(if i - next == 1 {
                    next.to_string()
                } else {
                    format!("{next}-{}", i - 1)
                });
            } else if parts.len() == 16 {
                parts.push("...".into());
            }
        }
        next = i.saturating_add(1);
    }
    (count, parts.join(","))
}

/// Families whose decoder layers all carry the same tensors (no MoE, no hybrid blocks).
const UNIFORM_FAMILIES: &[&str] = &[
    "llama",
    "mistral",
    "mistral3",
    "qwen2",
    "qwen3",
    "gemma",
    "gemma2",
    "gemma3",
    "phi3",
    "cohere",
    "starcoder2",
    "internlm2",
    "olmo",
    "granite",
    "exaone",
    "smollm3",
    "apertus",
    "arcee",
    "seed_oss",
    "glm",
    "stablelm",
];

/// Finds tensors present in some decoder layers but missing from others, grouped.
fn uniform_layer_check(names: &[&String], layers: &BTreeSet<u64>) -> Option<Diagnostic> {
    // suffix after the layer index -> (prefix, layers holding it)
    let mut by_suffix: BTreeMap<(&str, &str), BTreeSet<u64>> = BTreeMap::new();
    for n in names {
        let parts: Vec<&str> = n.split('.').collect();
        let Some(pos) = parts.windows(2).position(|w| {
            matches!(w[0], "layers" | "h" | "blocks" | "layer") && w[1].parse::<u64>().is_ok()
        }) else {
            continue;
        };
        let idx: u64 = parts[pos + 1].parse().ok()?;
        let prefix_len: usize = parts[..=pos].iter().map(|p| p.len() + 1).sum();
        let suffix_start = prefix_len + parts[pos + 1].len();
        by_suffix
            .entry((&n[..prefix_len], &n[suffix_start..]))
            .or_default()
            .insert(idx);
    }
    let mut missing: Vec<String> = Vec::new();
    for ((prefix, suffix), have) in &by_suffix {
        let absent: BTreeSet<u64> = layers.difference(have).copied().collect();
        if !absent.is_empty() && absent.len() < layers.len() {
            for i in &absent {
                missing.push(format!("{prefix}{i}{suffix}"));
            }
        }
    }
    if missing.is_empty() {
        return None;
    }
    Some(
        Diagnostic::error(
            "CFG039",
            format!(
                "{} tensor(s) that the other decoder layers hold are missing: {}",
                missing.len(),
                group_names(&missing).join("; ")
            ),
        )
        .tensor(missing[0].clone())
        .advice("the export dropped tensors (vLLM: \"weights were not initialized from checkpoint\"); re-export or re-download the model"),
    )
}

fn bias_check(
    d: &mut Vec<Diagnostic>,
    key: &str,
    code: &'static str,
    flag: Option<bool>,
    with_bias: &BTreeSet<u64>,
    layers: &BTreeSet<u64>,
) {
    match flag {
        Some(true) => {
            let without: BTreeSet<u64> = layers.difference(with_bias).copied().collect();
            if !without.is_empty() {
                d.push(
                    Diagnostic::error(code, format!("{key} is true but layer(s) {} ({} of {}) have no such bias tensors", ranges(&without), without.len(), layers.len()))
                        .tensor(key)
                        .advice(format!("set {key} to false if the model has no biases; otherwise the shards are incomplete")),
                );
            }
        }
        Some(false) if !with_bias.is_empty() => {
            d.push(
                Diagnostic::error(code, format!("{key} is false but layer(s) {} ({} of {}) store bias tensors; loaders reject them as unexpected", ranges(with_bias), with_bias.len(), layers.len()))
                    .tensor(key)
                    .advice(format!("set {key} to true")),
            );
        }
        _ => {}
    }
}

/// Short summary of grouped names (re-exported for reports).
pub fn summarize(names: &[String]) -> String {
    group_names(names).join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::normalize_config;
    use serde_json::json;

    fn loc(shape: &[u64]) -> TensorLocation {
        TensorLocation {
            shard: 0,
            dtype: Dtype::BF16,
            shape: shape.to_vec(),
            bytes: shape.iter().product::<u64>() * 2,
        }
    }

    fn model(layers: u64, bias: bool, head: bool) -> BTreeMap<String, TensorLocation> {
        let mut t = BTreeMap::new();
        t.insert("model.embed_tokens.weight".into(), loc(&[100, 16]));
        for i in 0..layers {
            t.insert(
                format!("model.layers.{i}.self_attn.q_proj.weight"),
                loc(&[16, 16]),
            );
            t.insert(
                format!("model.layers.{i}.input_layernorm.weight"),
                loc(&[16]),
            );
            if bias {
                t.insert(
                    format!("model.layers.{i}.self_attn.q_proj.bias"),
                    loc(&[16]),
                );
                t.insert(format!("model.layers.{i}.mlp.up_proj.bias"), loc(&[16]));
            }
        }
        if head {
            t.insert("lm_head.weight".into(), loc(&[100, 16]));
        }
        t
    }

    fn cfg(v: serde_json::Value) -> ModelConfig {
        normalize_config(&v).unwrap().0
    }

    fn codes(d: &[Diagnostic]) -> Vec<&'static str> {
        d.iter().map(|d| d.code).collect()
    }

    #[test]
    fn consistent_model_has_no_findings() {
        let c = cfg(
            json!({"num_hidden_layers": 2, "hidden_size": 16, "vocab_size": 100, "num_attention_heads": 2, "tie_word_embeddings": false, "attention_bias": false, "mlp_bias": false}),
        );
        let (l, d) = crosscheck(&c, &model(2, false, true), &BTreeSet::new());
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(l.layers.len(), 2);
        assert_eq!(l.vlm_layout, Some("plain"));
    }

    #[test]
    fn uniform_layers_missing_tensors_are_grouped() {
        let c = cfg(json!({"architectures": ["LlamaForCausalLM"], "num_hidden_layers": 4}));
        let mut t = model(4, false, true);
        t.remove("model.layers.2.input_layernorm.weight");
        t.remove("model.layers.3.input_layernorm.weight");
        let (_, d) = crosscheck(&c, &t, &BTreeSet::new());
        let m = &d.iter().find(|d| d.code == "CFG039").unwrap().message;
        assert!(
            m.contains("model.layers.{2-3}.input_layernorm.weight"),
            "{m}"
        );
        // Not for MoE/hybrid families, where layers legitimately differ.
        let c = cfg(json!({"architectures": ["DeepseekV3ForCausalLM"], "num_hidden_layers": 4}));
        assert!(!crosscheck(&c, &t, &BTreeSet::new())
            .1
            .iter()
            .any(|d| d.code == "CFG039"));
    }

    #[test]
    fn tie_flag_both_directions() {
        let c = cfg(json!({"tie_word_embeddings": true}));
        assert!(
            codes(&crosscheck(&c, &model(1, false, true), &BTreeSet::new()).1).contains(&"CFG024")
        );
        let c = cfg(json!({"tie_word_embeddings": false}));
        assert!(
            codes(&crosscheck(&c, &model(1, false, false), &BTreeSet::new()).1).contains(&"CFG025")
        );
        let c = cfg(json!({}));
        assert!(
            codes(&crosscheck(&c, &model(1, false, false), &BTreeSet::new()).1).contains(&"CFG037")
        );
    }

    #[test]
    fn bias_flags_summarise_layers() {
        let c = cfg(json!({"attention_bias": true, "mlp_bias": false}));
        let mut t = model(4, true, true);
        t.remove("model.layers.2.self_attn.q_proj.bias");
        let (_, d) = crosscheck(&c, &t, &BTreeSet::new());
        let a = d.iter().find(|d| d.code == "CFG026").unwrap();
        assert!(a.message.contains("layer(s) 2 (1 of 4)"), "{}", a.message);
        let m = d.iter().find(|d| d.code == "CFG027").unwrap();
        assert!(m.message.contains("0-3"), "{}", m.message);
    }

    #[test]
    fn shapes_layers_and_experts() {
        let c = cfg(
            json!({"num_hidden_layers": 4, "hidden_size": 32, "vocab_size": 99, "num_local_experts": 4, "num_experts_per_tok": 2}),
        );
        let mut t = model(3, false, true);
        t.insert(
            "model.layers.0.block_sparse_moe.experts.0.w1.weight".into(),
            loc(&[4, 4]),
        );
        t.insert(
            "model.layers.0.block_sparse_moe.experts.1.w1.weight".into(),
            loc(&[4, 4]),
        );
        let (_, d) = crosscheck(&c, &t, &BTreeSet::new());
        assert_eq!(d.iter().filter(|d| d.code == "CFG028").count(), 2);
        assert!(d
            .iter()
            .any(|d| d.code == "CFG029" && d.message.contains("layer(s) 3 ")));
        assert!(codes(&d).contains(&"CFG031"));
        let c = cfg(json!({"num_hidden_layers": 2, "num_nextn_predict_layers": 1}));
        let (_, d) = crosscheck(&c, &model(3, false, true), &BTreeSet::new());
        assert!(d.iter().any(|d| d.code == "CFG029" && !d.is_error()));
        let c = cfg(json!({"num_hidden_layers": 1}));
        let (_, d) = crosscheck(&c, &model(3, false, true), &BTreeSet::new());
        assert!(d
            .iter()
            .any(|d| d.code == "CFG029" && d.is_error() && d.message.contains("1-2")));
    }

    #[test]
    fn vlm_layouts_and_missing_embedding() {
        let mut t = BTreeMap::new();
        t.insert(
            "model.language_model.embed_tokens.weight".to_string(),
            loc(&[10, 4]),
        );
        t.insert("model.vision_tower.layers.30.w".to_string(), loc(&[4]));
        let (l, _) = crosscheck(&cfg(json!({})), &t, &BTreeSet::new());
        assert_eq!(l.vlm_layout, Some("transformers>=4.52"));
        assert!(l.layers.is_empty(), "vision layers must not count");
        let mut t = BTreeMap::new();
        t.insert(
            "language_model.model.embed_tokens.weight".to_string(),
            loc(&[10, 4]),
        );
        assert_eq!(
            crosscheck(&cfg(json!({})), &t, &BTreeSet::new())
                .0
                .vlm_layout,
            Some("transformers<4.52")
        );
        let mut t = BTreeMap::new();
        t.insert("foo".to_string(), loc(&[10, 4]));
        assert!(codes(&crosscheck(&cfg(json!({})), &t, &BTreeSet::new()).1).contains(&"CFG032"));
    }
}
