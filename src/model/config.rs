//! `config.json` → [`ModelConfig`]: normalise first, then interpret.
//!
//! Normalisation (specs/hf_config_detection.md §6, §8):
//! 1. lift the language model's sub-config (`text_config`, `language_config`, `llm_config`,
//!    `decoder`, `generator`) over the root, keeping root keys it lacks (pre-v5 saves keep
//!    `tie_word_embeddings` inside `text_config`, v5 at the root);
//! 2. fill keys a sub-config omitted because they equalled its class defaults
//!    (transformers' `to_diff_dict`), from per-`model_type` default tables;
//! 3. read every hyperparameter through its alias list (`n_layer`, `n_embd`, `n_head_kv`,
//!    `multi_query_group_num`, …), `dtype` before `torch_dtype`, explicit `head_dim` before
//!    `hidden_size / num_attention_heads`, missing KV heads = MHA;
//! 4. RoPE through [`crate::model::rope`].
//!
//! Pure: takes `&str` / `serde_json::Value`, returns the config plus diagnostics that name
//! `config.json` and the key concerned.

use crate::diag::Diagnostic;
use crate::model::registry::{self, ClassMatch, Family};
use crate::model::rope::{self, RopeConfig};
use serde_json::{Map, Value};

/// Keys that may hold the language model's config inside a multimodal wrapper.
const TEXT_CONFIG_KEYS: &[&str] = &[
    "text_config",
    "language_config",
    "llm_config",
    "decoder",
    "generator",
];
/// Keys of vision sub-configs.
const VISION_KEYS: &[&str] = &[
    "vision_config",
    "visual",
    "vision_tower_config",
    "vit_config",
];
/// Keys of audio sub-configs.
const AUDIO_KEYS: &[&str] = &["audio_config", "speech_config", "audio_tower_config"];

/// Where the architecture was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchSource {
    /// An entry of `architectures`.
    Architectures,
    /// `model_type` (no usable entry in `architectures`).
    ModelType,
    /// Tensor-name heuristics (neither key usable); set by the directory check.
    TensorNames,
    /// Nothing identified the architecture.
    Unknown,
}

/// The resolved architecture.
#[derive(Debug, Clone, PartialEq)]
pub struct Architecture {
    /// Every entry of `architectures`, in order.
    pub classes: Vec<String>,
    /// The class that was used, when one resolved.
    pub class: Option<String>,
    /// The family; [`registry::GENERIC`] for an unknown architecture.
    pub family: &'static Family,
    /// Root `model_type`.
    pub model_type: Option<String>,
    /// `model_type` of the lifted text config, when there is one.
    pub text_model_type: Option<String>,
    /// Where the family came from.
    pub source: ArchSource,
}

impl ArchSource {
    /// Name as reported in JSON: `architectures`, `model_type`, `tensor_names`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            ArchSource::Architectures => "architectures",
            ArchSource::ModelType => "model_type",
            ArchSource::TensorNames => "tensor_names",
            ArchSource::Unknown => "unknown",
        }
    }
}

impl Architecture {
    /// True when the family is in the registry.
    pub fn supported(&self) -> bool {
        self.family.name != registry::GENERIC.name
    }
}

/// Where the quantization block sits in config.json.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantBlock {
    /// `quantization_config`, `compression_config` or `text_config.quantization_config`.
    pub key: String,
    /// The block as written.
    pub value: Value,
}

/// Normalised hyperparameters of the language model. `None` means the config does not
/// determine the value; nothing here is guessed.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Architecture and family.
    pub arch: Architecture,
    /// Number of decoder layers.
    pub num_hidden_layers: Option<u64>,
    /// Model width.
    pub hidden_size: Option<u64>,
    /// Query heads.
    pub num_attention_heads: Option<u64>,
    /// Key/value heads (equal to the query heads when the config omits them: MHA).
    pub num_key_value_heads: Option<u64>,
    /// Per-head dimension: explicit `head_dim` or `hidden_size / num_attention_heads`.
    pub head_dim: Option<u64>,
    /// True when `head_dim` was written in the config rather than derived.
    pub head_dim_explicit: bool,
    /// Vocabulary rows of the embedding.
    pub vocab_size: Option<u64>,
    /// MLP width (dense layers).
    pub intermediate_size: Option<u64>,
    /// Smallest of the context-length keys (vLLM's rule).
    pub max_position_embeddings: Option<u64>,
    /// Tri-state: unset, false or true.
    pub tie_word_embeddings: Option<bool>,
    /// Tri-state: unset, false or true.
    pub attention_bias: Option<bool>,
    /// Tri-state: unset, false or true.
    pub mlp_bias: Option<bool>,
    /// Effective sliding window (`None` when absent, 0, or disabled by `use_sliding_window`).
    pub sliding_window: Option<u64>,
    /// Per-layer attention kinds (`full_attention`, `sliding_attention`, `linear_attention`, …).
    pub layer_types: Option<Vec<String>>,
    /// Attention logit soft-capping (Gemma 2).
    pub attn_logit_softcapping: Option<f64>,
    /// Final logit soft-capping (Gemma 2).
    pub final_logit_softcapping: Option<f64>,
    /// Routed experts per MoE layer.
    pub num_experts: Option<u64>,
    /// Experts each token is routed to.
    pub num_experts_per_tok: Option<u64>,
    /// Shared (always active) experts.
    pub num_shared_experts: Option<u64>,
    /// MLA key/value compression rank.
    pub kv_lora_rank: Option<u64>,
    /// MLA query compression rank.
    pub q_lora_rank: Option<u64>,
    /// MLA rotary part of each head.
    pub qk_rope_head_dim: Option<u64>,
    /// MLA non-rotary part of each head.
    pub qk_nope_head_dim: Option<u64>,
    /// True for multi-head latent attention.
    pub mla: bool,
    /// A vision sub-config is present.
    pub has_vision: bool,
    /// An audio sub-config is present.
    pub has_audio: bool,
    /// `dtype` (or legacy `torch_dtype`) as written.
    pub dtype: Option<String>,
    /// Multi-token-prediction layers stored after the decoder layers (DeepSeek V3 style).
    pub num_nextn_predict_layers: Option<u64>,
    /// RoPE settings.
    pub rope: RopeConfig,
    /// The quantization block, when config.json has one (for the quantization stage).
    pub quantization: Option<QuantBlock>,
    /// The normalised text config the values were read from (lifted, defaults filled).
    pub text: Map<String, Value>,
}

/// Parses config.json text. Returns the raw document too (the quantization stage reads it).
pub fn parse_config_str(text: &str) -> Result<(Value, ModelConfig, Vec<Diagnostic>), Diagnostic> {
    let containers = count_json_containers(text);
    if containers > MAX_CONFIG_CONTAINERS {
        return Err(Diagnostic::error(
            "CFG040",
            format!("config.json holds {containers} JSON objects and arrays, more than the {MAX_CONFIG_CONTAINERS} a model config can plausibly need; it is not parsed"),
        )
        .advice("this is not a model config (or a hostile one); download config.json again"));
    }
    let raw: Value = serde_json::from_str(text).map_err(|e| {
        Diagnostic::error("CFG002", format!("config.json is not valid JSON: {e}"))
            .advice("fix the syntax error at the line and column given, or re-save the config with transformers")
    })?;
    let (cfg, diags) = normalize_config(&raw)?;
    Ok((raw, cfg, diags))
}

/// Most JSON objects and arrays [`parse_config_str`] accepts. Every object costs a tree
/// node of several hundred bytes once parsed (250 bytes of memory per byte of `{"a":0},`
/// text, found by tests/alloc_bounds.rs), so a 64 MiB config.json of tiny objects would
/// have taken gigabytes; real configs hold well under a hundred.
pub const MAX_CONFIG_CONTAINERS: usize = 10_000;

/// Objects and arrays opened in `text` outside strings: a pass without allocation.
fn count_json_containers(text: &str) -> usize {
    let (mut n, mut in_string, mut escaped) = (0, false, false);
    for &b in text.as_bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => n += 1,
                _ => {}
            }
        }
    }
    n
}

/// Normalises and interprets a parsed config.json document.
pub fn normalize_config(raw: &Value) -> Result<(ModelConfig, Vec<Diagnostic>), Diagnostic> {
    let root = raw.as_object().ok_or_else(|| {
        Diagnostic::error(
            "CFG002",
            format!(
                "config.json must be a JSON object, found {}",
                json_kind(raw)
            ),
        )
        .advice("config.json should be the object that transformers' save_pretrained writes")
    })?;
    let mut diags = Vec::new();

    // 1. Lift the text config.
    let sub_key = TEXT_CONFIG_KEYS.iter().find(|k| {
        root.get(**k)
            .is_some_and(|v| v.is_object() && v.as_object().is_some_and(|o| !o.is_empty()))
    });
    let mut text = match sub_key {
        Some(k) => root[*k].as_object().cloned().unwrap_or_default(),
        None => root.clone(),
    };
    if sub_key.is_some() {
        for (k, v) in root {
            let structural = TEXT_CONFIG_KEYS.contains(&k.as_str())
                || VISION_KEYS.contains(&k.as_str())
                || AUDIO_KEYS.contains(&k.as_str())
                || k == "architectures"
                || k == "model_type";
            if !structural && !text.contains_key(k) {
                text.insert(k.clone(), v.clone());
            }
        }
    }
    let model_type = root
        .get("model_type")
        .and_then(Value::as_str)
        .map(str::to_string);
    let text_model_type = sub_key
        .and_then(|_| text.get("model_type"))
        .and_then(Value::as_str)
        .map(str::to_string);

    // 2. Class defaults for keys a sub-config left out.
    if let (Some(k), Some(mt)) = (
        sub_key,
        text_model_type.as_deref().or(model_type.as_deref()),
    ) {
        let filled = fill_defaults(&mut text, mt);
        if !filled.is_empty() {
            diags.push(
                Diagnostic::info(
                    "CFG023",
                    format!(
                        "config.json: {k} omits {} (saved as a diff against {mt} class defaults); filled with the defaults",
                        filled.join(", ")
                    ),
                )
                .tensor(*k)
                .advice("nothing to do; loaders that read raw JSON must apply the same defaults"),
            );
        }
    }

    // Architecture.
    let classes: Vec<String> = match root.get("architectures") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    let arch = resolve_architecture(classes, model_type, text_model_type, &mut diags);
    if let Some(Value::Object(auto)) = root.get("auto_map") {
        let target = [
            "AutoModelForCausalLM",
            "AutoModel",
            "AutoModelForImageTextToText",
        ]
        .iter()
        .find_map(|k| auto.get(*k).and_then(Value::as_str))
        .map(str::to_string)
        .or_else(|| auto.values().find_map(Value::as_str).map(str::to_string));
        if let Some(target) = target {
            let native = if arch.supported() {
                format!(
                    "family {} is known, so native loaders can ignore it",
                    arch.family.name
                )
            } else {
                "no native implementation is known, so loading needs that code".to_string()
            };
            diags.push(
                Diagnostic::info("CFG038", format!("config.json: auto_map points at repository code ({target}); {native}"))
                    .tensor("auto_map")
                    .advice("transformers/vLLM run it only with trust_remote_code=True: read that Python file before enabling it"),
            );
        }
    }

    // Quantization block (reported, interpreted by the quant stage).
    let quantization = ["quantization_config", "compression_config"]
        .iter()
        .find_map(|k| {
            root.get(*k)
                .filter(|v| v.is_object())
                .map(|v| QuantBlock { key: k.to_string(), value: v.clone() })
        })
        .or_else(|| {
            let k = sub_key?;
            let v = root[*k].get("quantization_config").filter(|v| v.is_object())?;
            diags.push(
                Diagnostic::info("CFG034", format!("config.json: quantization_config sits inside {k}; lifted to the model"))
                    .tensor(format!("{k}.quantization_config"))
                    .advice("nothing to do; loaders that only read the top level will miss it (vLLM reads both)"),
            );
            Some(QuantBlock { key: format!("{k}.quantization_config"), value: v.clone() })
        });

    let mut cfg = interpret(&text, arch, quantization, &mut diags);
    cfg.has_vision = VISION_KEYS
        .iter()
        .any(|k| root.get(*k).is_some_and(|v| !v.is_null()));
    cfg.has_audio = AUDIO_KEYS
        .iter()
        .any(|k| root.get(*k).is_some_and(|v| !v.is_null()));
    if cfg.has_vision || cfg.has_audio {
        let what = match (cfg.has_vision, cfg.has_audio) {
            (true, true) => "vision and audio encoders",
            (true, false) => "a vision encoder",
            _ => "an audio encoder",
        };
        diags.push(
            Diagnostic::info("CFG022", format!("config.json describes {what}; the language model is checked, the encoders are reported only"))
                .advice("serve with a stack that implements this multimodal wrapper, or text-only by loading the language model"),
        );
    }
    Ok((cfg, diags))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn resolve_architecture(
    classes: Vec<String>,
    model_type: Option<String>,
    text_model_type: Option<String>,
    diags: &mut Vec<Diagnostic>,
) -> Architecture {
    let mut arch = Architecture {
        classes: classes.clone(),
        class: None,
        family: &registry::GENERIC,
        model_type: model_type.clone(),
        text_model_type: text_model_type.clone(),
        source: ArchSource::Unknown,
    };
    let by_type = || {
        text_model_type
            .as_deref()
            .and_then(registry::family_for_model_type)
            .or_else(|| {
                model_type
                    .as_deref()
                    .and_then(registry::family_for_model_type)
            })
    };

    for class in &classes {
        if let Some((fam, how)) = registry::family_for_class(class) {
            // A wrapper whose name matched loosely: its language model decides when known.
            let fam = match (how, by_type()) {
                (ClassMatch::Wrapper, Some(t)) => t,
                _ => fam,
            };
            arch.class = Some(class.clone());
            arch.family = fam;
            arch.source = ArchSource::Architectures;
            match how {
                ClassMatch::Exact => {}
                ClassMatch::Wrapper => diags.push(
                    Diagnostic::info("CFG007", format!("config.json: class {class} is not registered itself; resolved to family {} through its name and language model", fam.name))
                        .tensor("architectures")
                        .advice("nothing to do if the language model loads; a serving stack needs this wrapper class to load the other towers"),
                ),
                ClassMatch::TaskHead => diags.push(
                    Diagnostic::warning("CFG036", format!("config.json: {class} is a task head, not a text-generation model; its backbone is family {}", fam.name))
                        .tensor("architectures")
                        .advice("serve it as a classifier/reward model (vLLM converts the model), or use the base causal-LM checkpoint for generation"),
                ),
            }
            break;
        }
    }
    if arch.class.is_none() && !classes.is_empty() {
        // Every class unknown: a wrapper around a known language model, or model_type.
        match by_type() {
            Some(fam) if classes.iter().any(|c| c.ends_with("ForConditionalGeneration")) && text_model_type.is_some() => {
                arch.family = fam;
                arch.source = ArchSource::ModelType;
                diags.push(
                    Diagnostic::info("CFG007", format!("config.json: wrapper class {} is not registered; its language model ({}) is family {}", classes[0], text_model_type.as_deref().unwrap_or("?"), fam.name))
                        .tensor("architectures")
                        .advice("the language model is checked; a serving stack needs the wrapper class to load the other towers"),
                );
            }
            Some(fam) => {
                arch.family = fam;
                arch.source = ArchSource::ModelType;
                diags.push(
                    Diagnostic::warning("CFG004", format!(
                        "config.json: unknown architecture class {}; model_type \"{}\" maps to family {}, which is used",
                        classes.join(", "),
                        text_model_type.as_deref().or(model_type.as_deref()).unwrap_or("?"),
                        fam.name
                    ))
                    .tensor("architectures")
                    .advice("check that the class name is spelled as transformers writes it; serving stacks dispatch on it"),
                );
            }
            None => diags.push(
                Diagnostic::warning("CFG004", format!(
                    "config.json: unknown architecture class {} (model_type {}); treated as a generic decoder, checked with generic tensor conventions only",
                    classes.join(", "),
                    model_type.as_deref().map(|m| format!("\"{m}\"")).unwrap_or_else(|| "unset".into())
                ))
                .tensor("architectures")
                .advice("serving needs native support for this class or a generic backend (vLLM's Transformers backend, trust_remote_code for custom code)"),
            ),
        }
    } else if classes.is_empty() {
        match by_type() {
            Some(fam) => {
                arch.family = fam;
                arch.source = ArchSource::ModelType;
                diags.push(
                    Diagnostic::info("CFG006", format!("config.json has no architectures; family {} taken from model_type", fam.name))
                        .tensor("architectures")
                        .advice("add \"architectures\": [\"<Class>ForCausalLM\"] so loaders that dispatch on the class find it"),
                );
            }
            None if model_type.is_some() || text_model_type.is_some() => diags.push(
                Diagnostic::warning("CFG004", format!(
                    "config.json has no architectures and an unknown model_type \"{}\"; treated as a generic decoder",
                    text_model_type.as_deref().or(model_type.as_deref()).unwrap_or_default()
                ))
                .tensor("model_type")
                .advice("add \"architectures\" naming the transformers class; serving stacks dispatch on it"),
            ),
            None => diags.push(
                Diagnostic::warning("CFG005", "config.json has neither architectures nor model_type; the family is guessed from tensor names")
                    .tensor("architectures")
                    .advice("add \"architectures\" and \"model_type\" from the original model's config.json"),
            ),
        }
    }
    if arch.class.is_some() && classes.len() > 1 {
        let used = arch.class.clone().unwrap_or_default();
        let ignored: Vec<&str> = classes
            .iter()
            .filter(|c| **c != used)
            .map(String::as_str)
            .collect();
        diags.push(
            Diagnostic::warning("CFG003", format!("config.json lists {} architectures; {used} is used, ignored: {}", classes.len(), ignored.join(", ")))
                .tensor("architectures")
                .advice("keep one class in architectures; loaders that require exactly one (mistral.rs) refuse this config"),
        );
    }
    arch
}

/// Class defaults of the sub-configs transformers writes as diffs (transformers 5.24
/// `*Config.__init__` signatures).
fn class_defaults(model_type: &str) -> &'static [(&'static str, f64)] {
    match model_type {
        "llama" => &[
            ("vocab_size", 32000.0),
            ("hidden_size", 4096.0),
            ("intermediate_size", 11008.0),
            ("num_hidden_layers", 32.0),
            ("num_attention_heads", 32.0),
            ("max_position_embeddings", 2048.0),
            ("rms_norm_eps", 1e-6),
        ],
        "llama4_text" => &[
            ("vocab_size", 202048.0),
            ("hidden_size", 5120.0),
            ("intermediate_size", 8192.0),
            ("intermediate_size_mlp", 16384.0),
            ("num_hidden_layers", 48.0),
            ("num_attention_heads", 40.0),
            ("num_key_value_heads", 8.0),
            ("head_dim", 128.0),
            ("max_position_embeddings", 131072.0),
            ("rope_theta", 500000.0),
            ("num_local_experts", 16.0),
            ("num_experts_per_tok", 1.0),
        ],
        "mllama_text_model" => &[
            ("vocab_size", 128256.0),
            ("hidden_size", 4096.0),
            ("intermediate_size", 14336.0),
            ("num_hidden_layers", 40.0),
            ("num_attention_heads", 32.0),
            ("num_key_value_heads", 8.0),
            ("max_position_embeddings", 131072.0),
            ("rope_theta", 500000.0),
        ],
        "mistral" | "ministral" | "ministral3" => &[
            ("vocab_size", 32000.0),
            ("hidden_size", 4096.0),
            ("intermediate_size", 14336.0),
            ("num_hidden_layers", 32.0),
            ("num_attention_heads", 32.0),
            ("num_key_value_heads", 8.0),
            ("max_position_embeddings", 131072.0),
            ("rms_norm_eps", 1e-6),
        ],
        "qwen2" => &[
            ("vocab_size", 151936.0),
            ("hidden_size", 4096.0),
            ("intermediate_size", 22016.0),
            ("num_hidden_layers", 32.0),
            ("num_attention_heads", 32.0),
            ("num_key_value_heads", 32.0),
            ("max_position_embeddings", 32768.0),
        ],
        "qwen2_vl_text" | "qwen2_5_vl_text" => &[
            ("vocab_size", 152064.0),
            ("hidden_size", 8192.0),
            ("intermediate_size", 29568.0),
            ("num_hidden_layers", 80.0),
            ("num_attention_heads", 64.0),
            ("num_key_value_heads", 8.0),
            ("max_position_embeddings", 32768.0),
        ],
        "gemma3_text" => &[
            ("vocab_size", 262208.0),
            ("hidden_size", 2304.0),
            ("intermediate_size", 9216.0),
            ("num_hidden_layers", 26.0),
            ("num_attention_heads", 8.0),
            ("num_key_value_heads", 4.0),
            ("head_dim", 256.0),
            ("max_position_embeddings", 131072.0),
            ("sliding_window", 4096.0),
            ("rope_theta", 1_000_000.0),
            ("rope_local_base_freq", 10000.0),
        ],
        _ => &[],
    }
}

fn fill_defaults(text: &mut Map<String, Value>, model_type: &str) -> Vec<String> {
    let mut filled = Vec::new();
    for (k, v) in class_defaults(model_type) {
        if !text.contains_key(*k) {
            let val = if v.fract() == 0.0 && *v < 1e15 {
                Value::from(*v as u64)
            } else {
                Value::from(*v)
            };
            text.insert(k.to_string(), val);
            filled.push(k.to_string());
        }
    }
    filled
}

/// Reads the first present key of `keys` as an unsigned integer; a wrong type is an error.
fn get_u64(m: &Map<String, Value>, keys: &[&str], diags: &mut Vec<Diagnostic>) -> Option<u64> {
    for k in keys {
        match m.get(*k) {
            None | Some(Value::Null) => continue,
            Some(v) => {
                if let Some(u) = v.as_u64() {
                    return Some(u);
                }
                if let Some(f) = v.as_f64() {
                    if f >= 0.0 && f.fract() == 0.0 && f < 9.0e15 {
                        return Some(f as u64);
                    }
                }
                diags.push(
                    Diagnostic::error(
                        "CFG009",
                        format!("config.json: {k} is {v}, not a non-negative integer"),
                    )
                    .tensor(*k)
                    .advice(format!("write {k} as a plain integer, e.g. \"{k}\": 4096")),
                );
                return None;
            }
        }
    }
    None
}

fn get_f64(m: &Map<String, Value>, keys: &[&str], diags: &mut Vec<Diagnostic>) -> Option<f64> {
    for k in keys {
        match m.get(*k) {
            None | Some(Value::Null) => continue,
            Some(v) => {
                if let Some(f) = v.as_f64() {
                    return Some(f);
                }
                diags.push(
                    Diagnostic::error("CFG009", format!("config.json: {k} is {v}, not a number"))
                        .tensor(*k)
                        .advice(format!("write {k} as a number or null")),
                );
                return None;
            }
        }
    }
    None
}

fn get_bool(m: &Map<String, Value>, keys: &[&str], diags: &mut Vec<Diagnostic>) -> Option<bool> {
    for k in keys {
        match m.get(*k) {
            None | Some(Value::Null) => continue,
            Some(Value::Bool(b)) => return Some(*b),
            Some(v) => {
                diags.push(
                    Diagnostic::error(
                        "CFG009",
                        format!("config.json: {k} is {v}, not true or false"),
                    )
                    .tensor(*k)
                    .advice(format!(
                        "write {k} as true or false (JSON booleans, unquoted)"
                    )),
                );
                return None;
            }
        }
    }
    None
}

fn interpret(
    t: &Map<String, Value>,
    arch: Architecture,
    quantization: Option<QuantBlock>,
    diags: &mut Vec<Diagnostic>,
) -> ModelConfig {
    let d = diags;
    let num_hidden_layers = get_u64(
        t,
        &["num_hidden_layers", "n_layer", "n_layers", "num_layers"],
        d,
    );
    let hidden_size = get_u64(t, &["hidden_size", "n_embd", "d_model", "model_dim"], d);
    let num_attention_heads = get_u64(
        t,
        &["num_attention_heads", "n_head", "n_heads", "num_heads"],
        d,
    );
    let vocab_size = get_u64(t, &["vocab_size", "n_vocab", "padded_vocab_size"], d);
    let intermediate_size = get_u64(
        t,
        &["intermediate_size", "ffn_hidden_size", "n_inner", "ffn_dim"],
        d,
    );

    let ssm = matches!(arch.family.name, "mamba");
    let mut required = vec![
        ("num_hidden_layers", num_hidden_layers),
        ("hidden_size", hidden_size),
        ("vocab_size", vocab_size),
    ];
    if !ssm {
        required.push(("num_attention_heads", num_attention_heads));
    }
    for (k, v) in required {
        if v.is_none() && !t.contains_key(k) {
            d.push(
                Diagnostic::error(
                    "CFG008",
                    format!(
                        "config.json has no {k} (nor any alias of it); the model cannot be built"
                    ),
                )
                .tensor(k)
                .advice(format!("add \"{k}\" from the original model's config.json")),
            );
        }
    }

    // KV heads, with vLLM's alias list and Falcon's multi_query flag.
    let mut num_key_value_heads = get_u64(
        t,
        &[
            "num_key_value_heads",
            "n_head_kv",
            "num_kv_heads",
            "n_kv_heads",
            "multi_query_group_num",
            "num_attention_groups",
        ],
        d,
    );
    if num_key_value_heads.is_none()
        && get_bool(t, &["multi_query"], d) == Some(true)
        && get_bool(t, &["new_decoder_architecture"], d) != Some(true)
    {
        num_key_value_heads = Some(1);
    }
    if num_key_value_heads.is_none() {
        if let Some(h) = num_attention_heads {
            num_key_value_heads = Some(h);
            d.push(
                Diagnostic::info("CFG012", format!("config.json has no num_key_value_heads; multi-head attention assumed ({h} KV heads)"))
                    .tensor("num_key_value_heads")
                    .advice("nothing to do for MHA models; add num_key_value_heads if the model uses grouped-query attention"),
            );
        }
    }

    // MLA.
    let kv_lora_rank = get_u64(t, &["kv_lora_rank"], d);
    let q_lora_rank = get_u64(t, &["q_lora_rank"], d);
    let qk_rope_head_dim = get_u64(t, &["qk_rope_head_dim"], d);
    let qk_nope_head_dim = get_u64(t, &["qk_nope_head_dim"], d);
    let mla = kv_lora_rank.is_some_and(|r| r > 0) || q_lora_rank.is_some_and(|r| r > 0);
    if mla {
        d.push(
            Diagnostic::info(
                "CFG021",
                format!(
                    "multi-head latent attention: kv_lora_rank {}, q_lora_rank {}; the KV cache stores the compressed latent",
                    opt(kv_lora_rank),
                    opt(q_lora_rank)
                ),
            )
            .tensor("kv_lora_rank")
            .advice("serve with an MLA-capable stack (vLLM, SGLang); generic GQA kernels cannot run this attention"),
        );
    }

    // head_dim: explicit wins, then hidden_size_per_head, then MLA q/k head, then derived.
    let explicit = get_u64(t, &["head_dim", "hidden_size_per_head"], d).filter(|h| *h > 0);
    let head_dim = if explicit.is_some() {
        explicit
    } else if mla && qk_rope_head_dim.is_some() && qk_nope_head_dim.is_some() {
        Some(
            qk_rope_head_dim
                .unwrap_or(0)
                .saturating_add(qk_nope_head_dim.unwrap_or(0)),
        )
    } else {
        match (hidden_size, num_attention_heads) {
            (Some(h), Some(n)) if n > 0 && h % n == 0 => Some(h / n),
            (Some(h), Some(n)) => {
                d.push(
                    Diagnostic::error("CFG010", format!("config.json: hidden_size {h} is not divisible by num_attention_heads {n} and there is no head_dim"))
                        .tensor("head_dim")
                        .advice("add the model's head_dim to config.json, or fix hidden_size / num_attention_heads"),
                );
                None
            }
            _ => None,
        }
    };
    if let (Some(h), Some(kv)) = (num_attention_heads, num_key_value_heads) {
        if kv == 0 || h % kv != 0 {
            d.push(
                Diagnostic::error("CFG011", format!("config.json: num_attention_heads {h} is not a multiple of num_key_value_heads {kv}"))
                    .tensor("num_key_value_heads")
                    .advice("grouped-query attention needs whole groups; fix num_key_value_heads"),
            );
        }
    }

    let max_position_embeddings = [
        "max_position_embeddings",
        "n_positions",
        "max_seq_len",
        "seq_length",
        "max_sequence_length",
        "max_target_positions",
    ]
    .iter()
    .filter_map(|k| t.get(*k).and_then(Value::as_u64))
    .min();

    let tie_word_embeddings = get_bool(t, &["tie_word_embeddings"], d);
    let attention_bias = get_bool(t, &["attention_bias", "qkv_bias"], d);
    let mlp_bias = get_bool(t, &["mlp_bias"], d);

    // Sliding window: 0 disables; Qwen2's use_sliding_window=false disables.
    let raw_window = get_u64(t, &["sliding_window"], d).filter(|w| *w > 0);
    let use_sw = get_bool(t, &["use_sliding_window"], d);
    let sliding_window = match (raw_window, use_sw) {
        (Some(w), Some(false)) => {
            d.push(
                Diagnostic::info("CFG019", format!("config.json: sliding_window {w} is disabled by use_sliding_window=false; full attention everywhere"))
                    .tensor("sliding_window")
                    .advice("nothing to do; a loader that ignores use_sliding_window would wrongly window attention"),
            );
            None
        }
        (w, _) => w,
    };

    let mut layer_types: Option<Vec<String>> = match t.get("layer_types") {
        Some(Value::Array(a)) => {
            let v: Vec<String> = a
                .iter()
                .map(|x| x.as_str().unwrap_or("").to_string())
                .collect();
            Some(v)
        }
        Some(Value::Null) | None => None,
        Some(other) => {
            d.push(
                Diagnostic::error("CFG020", format!("config.json: layer_types is {}, not a list of strings", json_kind(other)))
                    .tensor("layer_types")
                    .advice("write layer_types as one string per layer, e.g. [\"sliding_attention\", \"full_attention\"]"),
            );
            None
        }
    };
    if layer_types.is_none() {
        if let (Some(p), Some(n), Some(_)) = (
            t.get("sliding_window_pattern")
                .and_then(Value::as_u64)
                .filter(|p| *p > 0),
            // Derived only for plausible depths: n comes from an untrusted file.
            num_hidden_layers.filter(|n| *n <= 1_000_000),
            sliding_window,
        ) {
            // Gemma 3 v4: every p-th layer is global.
            layer_types = Some(
                (0..n)
                    .map(|i| {
                        if (i + 1) % p == 0 {
                            "full_attention"
                        } else {
                            "sliding_attention"
                        }
                        .to_string()
                    })
                    .collect(),
            );
        }
    }
    if layer_types.is_none() && use_sw == Some(true) {
        // Qwen2: layers from max_window_layers on use the window.
        if let (Some(m), Some(n), Some(_)) = (
            get_u64(t, &["max_window_layers"], d),
            num_hidden_layers.filter(|n| *n <= 1_000_000),
            sliding_window,
        ) {
            layer_types = Some(
                (0..n)
                    .map(|i| {
                        if i >= m {
                            "sliding_attention"
                        } else {
                            "full_attention"
                        }
                        .to_string()
                    })
                    .collect(),
            );
        }
    }
    if let (Some(lt), Some(n)) = (&layer_types, num_hidden_layers) {
        if lt.len() as u64 != n {
            d.push(
                Diagnostic::error(
                    "CFG020",
                    format!(
                        "config.json: layer_types has {} entries but num_hidden_layers is {n}",
                        lt.len()
                    ),
                )
                .tensor("layer_types")
                .advice("give exactly one layer type per decoder layer"),
            );
        }
        const KNOWN: &[&str] = &[
            "full_attention",
            "sliding_attention",
            "chunked_attention",
            "linear_attention",
            "mamba",
            "attention",
            "conv",
            "hybrid",
        ];
        let mut unknown: Vec<&str> = lt
            .iter()
            .map(String::as_str)
            .filter(|x| !KNOWN.contains(x))
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        if !unknown.is_empty() {
            d.push(
                Diagnostic::warning(
                    "CFG020",
                    format!(
                        "config.json: layer_types has unknown kinds {}",
                        unknown.join(", ")
                    ),
                )
                .tensor("layer_types")
                .advice(
                    "check the spelling; known kinds include full_attention and sliding_attention",
                ),
            );
        }
        if sliding_window.is_none() && lt.iter().any(|x| x == "sliding_attention") {
            d.push(
                Diagnostic::error("CFG020", "config.json: layer_types has sliding_attention layers but no sliding_window size")
                    .tensor("sliding_window")
                    .advice("set sliding_window to the window the model was trained with"),
            );
        }
    }

    let num_experts = get_u64(
        t,
        &[
            "num_experts",
            "num_local_experts",
            "n_routed_experts",
            "moe_num_experts",
        ],
        d,
    )
    .filter(|n| *n > 0);
    let num_experts_per_tok = get_u64(
        t,
        &["num_experts_per_tok", "num_experts_per_token", "moe_top_k"],
        d,
    );
    let mut num_shared_experts = get_u64(
        t,
        &[
            "n_shared_experts",
            "num_shared_experts",
            "moe_num_shared_experts",
        ],
        d,
    );
    if num_shared_experts.is_none()
        && get_u64(t, &["shared_expert_intermediate_size"], d).is_some_and(|s| s > 0)
    {
        num_shared_experts = Some(1);
    }
    if let (Some(n), Some(k)) = (num_experts, num_experts_per_tok) {
        if k == 0 || k > n {
            d.push(
                Diagnostic::error("CFG031", format!("config.json: num_experts_per_tok {k} must be between 1 and the number of experts {n}"))
                    .tensor("num_experts_per_tok")
                    .advice("fix num_experts_per_tok or the expert count"),
            );
        }
    } else if num_experts.is_some() != num_experts_per_tok.is_some() && num_experts.is_some() {
        d.push(
            Diagnostic::warning(
                "CFG031",
                format!(
                    "config.json: {} experts but no num_experts_per_tok",
                    opt(num_experts)
                ),
            )
            .tensor("num_experts_per_tok")
            .advice("add num_experts_per_tok (top-k routing) from the original config"),
        );
    }

    let dtype_v5 = t.get("dtype").and_then(Value::as_str);
    let dtype_v4 = t.get("torch_dtype").and_then(Value::as_str);
    if let (Some(a), Some(b)) = (dtype_v5, dtype_v4) {
        if a != b {
            d.push(
                Diagnostic::warning("CFG018", format!("config.json: dtype \"{a}\" and legacy torch_dtype \"{b}\" disagree; dtype is used"))
                    .tensor("torch_dtype")
                    .advice("delete torch_dtype (deprecated since transformers 4.56) or make it equal"),
            );
        }
    }
    let dtype = dtype_v5.or(dtype_v4).map(str::to_string);

    let attn_logit_softcapping = get_f64(t, &["attn_logit_softcapping"], d);
    let final_logit_softcapping = get_f64(t, &["final_logit_softcapping"], d);
    let num_nextn_predict_layers = get_u64(t, &["num_nextn_predict_layers"], d);
    let rope = rope::parse_rope(t, d);

    ModelConfig {
        arch,
        num_hidden_layers,
        hidden_size,
        num_attention_heads,
        num_key_value_heads,
        head_dim,
        head_dim_explicit: explicit.is_some(),
        vocab_size,
        intermediate_size,
        max_position_embeddings,
        tie_word_embeddings,
        attention_bias,
        mlp_bias,
        sliding_window,
        layer_types,
        attn_logit_softcapping,
        final_logit_softcapping,
        num_experts,
        num_experts_per_tok,
        num_shared_experts,
        kv_lora_rank,
        q_lora_rank,
        qk_rope_head_dim,
        qk_nope_head_dim,
        mla,
        has_vision: false,
        has_audio: false,
        dtype,
        num_nextn_predict_layers,
        rope,
        quantization,
        text: t.clone(),
    }
}

impl ModelConfig {
    /// Tensor-parallel degrees (powers of two up to 64) the language model splits across
    /// the way vLLM shards it: query heads divide evenly, KV heads divide evenly or are
    /// replicated (`tp` a multiple of the KV heads), and the MLP width divides evenly.
    /// `None` when the head counts are unknown.
    pub fn tensor_parallel_sizes(&self) -> Option<Vec<u64>> {
        let heads = self.num_attention_heads.filter(|h| *h > 0)?;
        let kv = self.num_key_value_heads.filter(|k| *k > 0)?;
        Some(
            (0..7)
                .map(|p| 1u64 << p)
                .filter(|tp| heads % tp == 0)
                .filter(|tp| kv % tp == 0 || tp % kv == 0)
                .filter(|tp| self.intermediate_size.is_none_or_divisible(*tp))
                .collect(),
        )
    }
}

trait DivisibleBy {
    fn is_none_or_divisible(&self, by: u64) -> bool;
}

impl DivisibleBy for Option<u64> {
    fn is_none_or_divisible(&self, by: u64) -> bool {
        self.map_or(true, |v| v % by == 0)
    }
}

fn opt(v: Option<u64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "unset".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(v: Value) -> (ModelConfig, Vec<Diagnostic>) {
        normalize_config(&v).unwrap()
    }

    fn codes(d: &[Diagnostic]) -> Vec<&'static str> {
        d.iter().map(|d| d.code).collect()
    }

    /// Found by tests/alloc_bounds.rs: tiny objects cost 250 bytes of memory per byte.
    #[test]
    fn too_many_containers_are_refused_before_parsing() {
        let ok = format!(
            "{{\"model_type\":\"llama\",\"x\":[{}{{}}],\"s\":\"{}\"}}",
            "{},".repeat(MAX_CONFIG_CONTAINERS - 3),
            "{[\\\"".repeat(50_000)
        );
        assert_eq!(count_json_containers(&ok), MAX_CONFIG_CONTAINERS);
        assert!(parse_config_str(&ok).is_ok());
        let bad = ok.replacen("[", "[{},", 1);
        assert_eq!(parse_config_str(&bad).unwrap_err().code, "CFG040");
    }

    #[test]
    fn llama_basics_and_derived_head_dim() {
        let (c, d) = norm(
            json!({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8, "num_hidden_layers": 32, "vocab_size": 128256, "torch_dtype": "bfloat16", "rope_theta": 500000.0}),
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(c.arch.family.name, "llama");
        assert_eq!(c.head_dim, Some(128));
        assert!(!c.head_dim_explicit);
        assert_eq!(c.dtype.as_deref(), Some("bfloat16"));
        assert_eq!(c.tie_word_embeddings, None);
    }

    #[test]
    fn explicit_head_dim_wins_and_mha_default() {
        let (c, d) = norm(
            json!({"architectures": ["Gemma2ForCausalLM"], "hidden_size": 3584, "num_attention_heads": 16, "head_dim": 256, "num_hidden_layers": 42, "vocab_size": 256000}),
        );
        assert_eq!(c.head_dim, Some(256));
        assert!(c.head_dim_explicit);
        assert_eq!(c.num_key_value_heads, Some(16));
        assert_eq!(codes(&d), vec!["CFG012"]);
    }

    #[test]
    fn text_config_is_lifted_with_class_defaults_and_quant() {
        let (c, d) = norm(json!({
            "architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
            "text_config": {"model_type": "gemma3_text", "hidden_size": 2560, "num_hidden_layers": 34, "quantization_config": {"quant_method": "fp8"}},
            "vision_config": {"model_type": "siglip_vision_model"}, "tie_word_embeddings": true
        }));
        assert_eq!(c.arch.family.name, "gemma3");
        assert_eq!(c.arch.text_model_type.as_deref(), Some("gemma3_text"));
        assert_eq!(c.hidden_size, Some(2560));
        assert_eq!(c.vocab_size, Some(262208));
        assert_eq!(c.head_dim, Some(256));
        assert_eq!(c.tie_word_embeddings, Some(true));
        assert!(c.has_vision);
        assert_eq!(
            c.quantization.as_ref().unwrap().key,
            "text_config.quantization_config"
        );
        let cs = codes(&d);
        for code in ["CFG023", "CFG034", "CFG022"] {
            assert!(cs.contains(&code), "{code} missing in {cs:?}");
        }
        // Gemma 3 v4 local base and pattern-derived layer types.
        assert_eq!(
            c.rope.per_layer_type["sliding_attention"].theta,
            Some(10000.0)
        );
    }

    #[test]
    fn architecture_resolution_paths() {
        let (c, d) = norm(
            json!({"architectures": ["FooBarForCausalLM", "LlamaForCausalLM"], "model_type": "llama"}),
        );
        assert_eq!(c.arch.class.as_deref(), Some("LlamaForCausalLM"));
        assert!(codes(&d).contains(&"CFG003"));
        let (c, d) = norm(json!({"architectures": ["FooBarForCausalLM"], "model_type": "foobar"}));
        assert!(!c.arch.supported());
        assert!(d
            .iter()
            .any(|x| x.code == "CFG004" && x.message.contains("FooBarForCausalLM")));
        let (c, d) = norm(json!({"architectures": ["MyQwenForCausalLM"], "model_type": "qwen2"}));
        assert_eq!(c.arch.family.name, "qwen2");
        assert!(codes(&d).contains(&"CFG004"));
        let (c, d) = norm(json!({"model_type": "qwen3"}));
        assert_eq!(c.arch.family.name, "qwen3");
        assert!(codes(&d).contains(&"CFG006"));
        let (c, d) = norm(json!({"hidden_size": 8}));
        assert_eq!(c.arch.source, ArchSource::Unknown);
        assert!(codes(&d).contains(&"CFG005"));
        let (_, d) = norm(json!({"architectures": ["LlamaForSequenceClassification"]}));
        assert!(codes(&d).contains(&"CFG036"));
        let (c, d) = norm(
            json!({"architectures": ["NewVlmForConditionalGeneration"], "text_config": {"model_type": "qwen2", "hidden_size": 64}}),
        );
        assert_eq!(c.arch.family.name, "qwen2");
        assert!(codes(&d).contains(&"CFG007"));
    }

    #[test]
    fn aliases_falcon_and_gpt2() {
        let (c, _) = norm(
            json!({"architectures": ["FalconForCausalLM"], "n_embd": 4544, "n_head": 71, "n_layer": 32, "vocab_size": 65024, "multi_query": true}),
        );
        assert_eq!(
            (c.hidden_size, c.num_attention_heads, c.num_key_value_heads),
            (Some(4544), Some(71), Some(1))
        );
        let (c, _) = norm(
            json!({"architectures": ["ChatGLMModel"], "hidden_size": 4096, "num_attention_heads": 32, "multi_query_group_num": 2, "num_layers": 28, "padded_vocab_size": 65024, "seq_length": 8192}),
        );
        assert_eq!(
            (c.num_key_value_heads, c.num_hidden_layers, c.vocab_size),
            (Some(2), Some(28), Some(65024))
        );
        assert_eq!(c.max_position_embeddings, Some(8192));
    }

    #[test]
    fn errors_for_missing_and_wrong_types_and_shapes() {
        let (_, d) = norm(
            json!({"architectures": ["LlamaForCausalLM"], "hidden_size": "4096", "num_attention_heads": 32}),
        );
        assert!(d
            .iter()
            .any(|x| x.code == "CFG009" && x.tensor.as_deref() == Some("hidden_size")));
        assert!(d
            .iter()
            .any(|x| x.code == "CFG008" && x.tensor.as_deref() == Some("num_hidden_layers")));
        let (_, d) = norm(
            json!({"architectures": ["LlamaForCausalLM"], "hidden_size": 100, "num_attention_heads": 3, "num_key_value_heads": 2, "num_hidden_layers": 1, "vocab_size": 10}),
        );
        assert!(codes(&d).contains(&"CFG010"));
        assert!(codes(&d).contains(&"CFG011"));
        let (_, d) = norm(json!({"tie_word_embeddings": "yes"}));
        assert!(d
            .iter()
            .any(|x| x.code == "CFG009" && x.tensor.as_deref() == Some("tie_word_embeddings")));
    }

    #[test]
    fn sliding_window_layer_types_moe_mla_dtype() {
        let (c, d) = norm(
            json!({"architectures": ["Qwen2ForCausalLM"], "sliding_window": 32768, "use_sliding_window": false}),
        );
        assert_eq!(c.sliding_window, None);
        assert!(codes(&d).contains(&"CFG019"));
        let (c, d) = norm(
            json!({"num_hidden_layers": 3, "sliding_window": 512, "layer_types": ["sliding_attention", "full_attention"]}),
        );
        assert_eq!(c.sliding_window, Some(512));
        assert!(d.iter().any(|x| x.code == "CFG020" && x.is_error()));
        let (_, d) = norm(json!({"num_hidden_layers": 1, "layer_types": ["sliding_attention"]}));
        assert!(d
            .iter()
            .any(|x| x.code == "CFG020" && x.message.contains("no sliding_window")));
        let (c, d) = norm(
            json!({"architectures": ["DeepseekV3ForCausalLM"], "n_routed_experts": 256, "num_experts_per_tok": 8, "n_shared_experts": 1, "kv_lora_rank": 512, "q_lora_rank": 1536, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128, "hidden_size": 7168, "num_attention_heads": 128}),
        );
        assert_eq!(
            (c.num_experts, c.num_experts_per_tok, c.num_shared_experts),
            (Some(256), Some(8), Some(1))
        );
        assert!(c.mla);
        assert_eq!(c.head_dim, Some(192));
        assert!(codes(&d).contains(&"CFG021"));
        let (_, d) = norm(json!({"num_local_experts": 8, "num_experts_per_tok": 9}));
        assert!(codes(&d).contains(&"CFG031"));
        let (c, d) = norm(json!({"dtype": "bfloat16", "torch_dtype": "float16"}));
        assert_eq!(c.dtype.as_deref(), Some("bfloat16"));
        assert!(codes(&d).contains(&"CFG018"));
    }

    #[test]
    fn invalid_documents() {
        assert_eq!(parse_config_str("{").unwrap_err().code, "CFG002");
        assert_eq!(parse_config_str("[1]").unwrap_err().code, "CFG002");
    }
}
