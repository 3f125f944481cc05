//! Model-directory synthesizer: a family config, its tensors split over shards with an
//! index, a `tokenizer.json` the tokenizers crate loads, and the tokenizer side files,
//! all written through the container [`Writer`] and [`write_bytes_atomic`].
//!
//! Used by the demo (`check` with no directory), the tests and the benchmark; the
//! quantization stage extends it by editing the plan before writing:
//!
//! ```no_run
//! use safeweights::model::synth::{DirPlan, ModelSpec, SynthData, SynthTensor};
//! let spec = ModelSpec::llama_tiny();
//! let mut plan = DirPlan::new(&spec);
//! // e.g. replace a weight by packed integers and add a quantization_config:
//! plan.tensors.retain(|t| t.name != "model.layers.0.mlp.up_proj.weight");
//! plan.tensors.push(SynthTensor::new("model.layers.0.mlp.up_proj.qweight",
//!     safeweights::dtype::Dtype::I32, vec![8, 128], SynthData::Pattern(7)));
//! plan.config["quantization_config"] = serde_json::json!({"quant_method": "gptq", "bits": 4});
//! plan.write("/tmp/model").unwrap();
//! ```
//!
//! Presets: [`ModelSpec::llama_tiny`] (the demo), [`ModelSpec::qwen2_tiny`] (q/k/v biases,
//! tied embeddings), [`ModelSpec::qwen3_moe_tiny`] (experts, router, q/k norms), and
//! [`scale_spec`] / [`write_scale_dir`] (191 sparse shards). [`TokenizerFiles`] picks the
//! tokenizer files; [`DirPlan::extra_files`] adds any other file verbatim.
//!
//! Tensors are distributed over shards in the plan's order (embedding, layers in order,
//! final norm, head), so a layer never straddles more than two shards. Everything is
//! deterministic: the same plan writes the same bytes.

use crate::container::{write_bytes_atomic, WriteError, Writer};
use crate::dtype::Dtype;
use crate::model::index::INDEX_FILE;
use serde_json::{json, Map, Value};
use std::path::Path;

/// Hyperparameters of a synthetic decoder (Llama/Mistral/Qwen2-style layout).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// `architectures[0]`.
    pub class: String,
    /// `model_type`.
    pub model_type: String,
    /// Decoder layers.
    pub layers: u64,
    /// Model width.
    pub hidden: u64,
    /// Query heads.
    pub heads: u64,
    /// Key/value heads.
    pub kv_heads: u64,
    /// Per-head dimension.
    pub head_dim: u64,
    /// MLP width.
    pub intermediate: u64,
    /// Embedding rows.
    pub vocab: u64,
    /// Write `tie_word_embeddings` and omit `lm_head.weight` when true.
    pub tie: bool,
    /// q/k/v/o biases (and `attention_bias: true`).
    pub attention_bias: bool,
    /// MLP biases (and `mlp_bias: true`).
    pub mlp_bias: bool,
    /// Element type of every tensor.
    pub dtype: Dtype,
    /// `rope_theta`.
    pub rope_theta: f64,
    /// A `rope_scaling` block, when any.
    pub rope_scaling: Option<Value>,
    /// `max_position_embeddings`.
    pub max_position_embeddings: u64,
    /// q/k/v biases without an `attention_bias` key (Qwen2 convention).
    pub qkv_bias: bool,
    /// Per-head RMSNorm on queries and keys (`self_attn.q_norm` / `k_norm`, Qwen3).
    pub qk_norm: bool,
    /// Mixture of experts in every layer (Qwen-MoE naming), replacing the dense MLP.
    pub moe: Option<MoeSpec>,
}

/// Mixture-of-experts shape of [`ModelSpec::moe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoeSpec {
    /// Routed experts per layer (`num_experts`).
    pub experts: u64,
    /// Experts per token (`num_experts_per_tok`).
    pub top_k: u64,
    /// Width of each expert's MLP (`moe_intermediate_size`).
    pub intermediate: u64,
}

impl ModelSpec {
    /// A 4-layer Llama-3-style model (GQA 4/2 heads, llama3 RoPE scaling) of about 370 KiB.
    pub fn llama_tiny() -> Self {
        ModelSpec {
            class: "LlamaForCausalLM".into(),
            model_type: "llama".into(),
            layers: 4,
            hidden: 64,
            heads: 4,
            kv_heads: 2,
            head_dim: 16,
            intermediate: 128,
            vocab: 320,
            tie: false,
            attention_bias: false,
            mlp_bias: false,
            dtype: Dtype::BF16,
            rope_theta: 500000.0,
            rope_scaling: Some(json!({
                "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                "high_freq_factor": 4.0, "original_max_position_embeddings": 8192
            })),
            max_position_embeddings: 131072,
            qkv_bias: false,
            qk_norm: false,
            moe: None,
        }
    }

    /// A 2-layer Qwen2-style model: q/k/v biases with no `attention_bias` key, tied
    /// embeddings (no `lm_head.weight`), MHA-free GQA 4/2, plain RoPE with theta 1e6.
    pub fn qwen2_tiny() -> Self {
        ModelSpec {
            class: "Qwen2ForCausalLM".into(),
            model_type: "qwen2".into(),
            layers: 2,
            tie: true,
            qkv_bias: true,
            rope_theta: 1_000_000.0,
            rope_scaling: None,
            max_position_embeddings: 32768,
            ..ModelSpec::llama_tiny()
        }
    }

    /// A 2-layer Qwen3-MoE-style model: 4 experts, top-2, q/k norms, no shared expert.
    pub fn qwen3_moe_tiny() -> Self {
        ModelSpec {
            class: "Qwen3MoeForCausalLM".into(),
            model_type: "qwen3_moe".into(),
            layers: 2,
            qk_norm: true,
            moe: Some(MoeSpec {
                experts: 4,
                top_k: 2,
                intermediate: 32,
            }),
            rope_theta: 1_000_000.0,
            rope_scaling: None,
            max_position_embeddings: 40960,
            ..ModelSpec::llama_tiny()
        }
    }

    /// The config.json this spec describes (transformers 4.x spelling, `torch_dtype`).
    pub fn config_json(&self) -> Value {
        let dtype = match self.dtype {
            Dtype::BF16 => "bfloat16",
            Dtype::F16 => "float16",
            _ => "float32",
        };
        let mut m = Map::new();
        m.insert("architectures".into(), json!([self.class]));
        m.insert("model_type".into(), json!(self.model_type));
        m.insert("hidden_size".into(), json!(self.hidden));
        m.insert("intermediate_size".into(), json!(self.intermediate));
        m.insert("num_hidden_layers".into(), json!(self.layers));
        m.insert("num_attention_heads".into(), json!(self.heads));
        m.insert("num_key_value_heads".into(), json!(self.kv_heads));
        m.insert("head_dim".into(), json!(self.head_dim));
        m.insert("vocab_size".into(), json!(self.vocab));
        m.insert(
            "max_position_embeddings".into(),
            json!(self.max_position_embeddings),
        );
        m.insert("rms_norm_eps".into(), json!(1e-5));
        m.insert("hidden_act".into(), json!("silu"));
        m.insert("tie_word_embeddings".into(), json!(self.tie));
        if !self.qkv_bias {
            m.insert("attention_bias".into(), json!(self.attention_bias));
        }
        if let Some(moe) = self.moe {
            m.insert("num_experts".into(), json!(moe.experts));
            m.insert("num_experts_per_tok".into(), json!(moe.top_k));
            m.insert("moe_intermediate_size".into(), json!(moe.intermediate));
            m.insert("norm_topk_prob".into(), json!(true));
        }
        m.insert("mlp_bias".into(), json!(self.mlp_bias));
        m.insert("rope_theta".into(), json!(self.rope_theta));
        m.insert(
            "rope_scaling".into(),
            self.rope_scaling.clone().unwrap_or(Value::Null),
        );
        m.insert("torch_dtype".into(), json!(dtype));
        m.insert("bos_token_id".into(), json!(BOS_ID));
        m.insert("eos_token_id".into(), json!(EOT_ID));
        m.insert("transformers_version".into(), json!("4.57.0"));
        Value::Object(m)
    }

    /// Every tensor, in load order, with deterministic pseudo-random data.
    pub fn tensors(&self) -> Vec<SynthTensor> {
        let (h, hd, i) = (self.hidden, self.head_dim, self.intermediate);
        let q = self.heads * hd;
        let kv = self.kv_heads * hd;
        let dt = self.dtype;
        let mut seed = 1u64;
        let mut t = |name: String, shape: Vec<u64>| {
            seed += 1;
            SynthTensor::new(name, dt, shape, SynthData::Pattern(seed))
        };
        let mut v = vec![t("model.embed_tokens.weight".into(), vec![self.vocab, h])];
        for l in 0..self.layers {
            let p = format!("model.layers.{l}");
            v.push(t(format!("{p}.input_layernorm.weight"), vec![h]));
            v.push(t(format!("{p}.self_attn.q_proj.weight"), vec![q, h]));
            v.push(t(format!("{p}.self_attn.k_proj.weight"), vec![kv, h]));
            v.push(t(format!("{p}.self_attn.v_proj.weight"), vec![kv, h]));
            v.push(t(format!("{p}.self_attn.o_proj.weight"), vec![h, q]));
            if self.attention_bias || self.qkv_bias {
                v.push(t(format!("{p}.self_attn.q_proj.bias"), vec![q]));
                v.push(t(format!("{p}.self_attn.k_proj.bias"), vec![kv]));
                v.push(t(format!("{p}.self_attn.v_proj.bias"), vec![kv]));
            }
            if self.attention_bias {
                v.push(t(format!("{p}.self_attn.o_proj.bias"), vec![h]));
            }
            if self.qk_norm {
                v.push(t(format!("{p}.self_attn.q_norm.weight"), vec![hd]));
                v.push(t(format!("{p}.self_attn.k_norm.weight"), vec![hd]));
            }
            v.push(t(format!("{p}.post_attention_layernorm.weight"), vec![h]));
            if let Some(moe) = self.moe {
                let mi = moe.intermediate;
                v.push(t(format!("{p}.mlp.gate.weight"), vec![moe.experts, h]));
                for e in 0..moe.experts {
                    v.push(t(
                        format!("{p}.mlp.experts.{e}.gate_proj.weight"),
                        vec![mi, h],
                    ));
                    v.push(t(
                        format!("{p}.mlp.experts.{e}.up_proj.weight"),
                        vec![mi, h],
                    ));
                    v.push(t(
                        format!("{p}.mlp.experts.{e}.down_proj.weight"),
                        vec![h, mi],
                    ));
                }
                continue;
            }
            v.push(t(format!("{p}.mlp.gate_proj.weight"), vec![i, h]));
            v.push(t(format!("{p}.mlp.up_proj.weight"), vec![i, h]));
            v.push(t(format!("{p}.mlp.down_proj.weight"), vec![h, i]));
            if self.mlp_bias {
                v.push(t(format!("{p}.mlp.gate_proj.bias"), vec![i]));
                v.push(t(format!("{p}.mlp.up_proj.bias"), vec![i]));
                v.push(t(format!("{p}.mlp.down_proj.bias"), vec![h]));
            }
        }
        v.push(t("model.norm.weight".into(), vec![h]));
        if !self.tie {
            v.push(t("lm_head.weight".into(), vec![self.vocab, h]));
        }
        v
    }
}

/// Where a synthetic tensor's bytes come from.
#[derive(Debug, Clone, PartialEq)]
pub enum SynthData {
    /// Exactly these bytes.
    Bytes(Vec<u8>),
    /// Deterministic small values from this seed (floats in ±0.05; integers: raw LCG bytes).
    Pattern(u64),
    /// All zeros.
    Zeros,
}

/// One tensor of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthTensor {
    /// Name.
    pub name: String,
    /// Element type.
    pub dtype: Dtype,
    /// Dimensions.
    pub shape: Vec<u64>,
    /// Contents.
    pub data: SynthData,
}

impl SynthTensor {
    /// A tensor description.
    pub fn new(name: impl Into<String>, dtype: Dtype, shape: Vec<u64>, data: SynthData) -> Self {
        SynthTensor {
            name: name.into(),
            dtype,
            shape,
            data,
        }
    }

    /// Bytes of data (`numel * bits / 8`, rounded up).
    pub fn byte_len(&self) -> u64 {
        (self.shape.iter().product::<u64>() * self.dtype.bits()).div_ceil(8)
    }

    /// The tensor's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let n = self.byte_len() as usize;
        match &self.data {
            SynthData::Bytes(b) => b.clone(),
            SynthData::Zeros => vec![0; n],
            SynthData::Pattern(seed) => pattern_bytes(self.dtype, n, *seed),
        }
    }
}

fn pattern_bytes(dtype: Dtype, n: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let unit = |x: u32| (x as f32 / (1u64 << 31) as f32 - 0.5) * 0.1;
    let mut out = Vec::with_capacity(n);
    match dtype {
        Dtype::BF16 => {
            while out.len() < n {
                out.extend_from_slice(&half::bf16::from_f32(unit(next())).to_le_bytes());
            }
        }
        Dtype::F16 => {
            while out.len() < n {
                out.extend_from_slice(&half::f16::from_f32(unit(next())).to_le_bytes());
            }
        }
        Dtype::F32 => {
            while out.len() < n {
                out.extend_from_slice(&unit(next()).to_le_bytes());
            }
        }
        _ => {
            while out.len() < n {
                out.extend_from_slice(&next().to_le_bytes());
            }
        }
    }
    out.truncate(n);
    out
}

/// Which tokenizer files to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenizerFiles {
    /// tokenizer.json, tokenizer_config.json (with chat template), special_tokens_map.json,
    /// generation_config.json.
    Full,
    /// tokenizer.json only.
    JsonOnly,
    /// A SentencePiece-style tokenizer.model only (opaque bytes; never parsed).
    SentencePieceOnly,
    /// No tokenizer files.
    None,
}

/// Everything to write: edit the fields, then call [`DirPlan::write`].
#[derive(Debug, Clone)]
pub struct DirPlan {
    /// config.json contents.
    pub config: Value,
    /// Tensors in shard order.
    pub tensors: Vec<SynthTensor>,
    /// Number of shards; 1 writes `model.safetensors` without an index.
    pub shards: usize,
    /// Write sparse files (header + `set_len`, data never written).
    pub sparse: bool,
    /// Tokenizer files.
    pub tokenizer: TokenizerFiles,
    /// Extra files written verbatim (name, contents).
    pub extra_files: Vec<(String, Vec<u8>)>,
}

/// What [`DirPlan::write`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Shard file names, in order.
    pub shard_names: Vec<String>,
    /// Tensor count.
    pub tensors: usize,
    /// Bytes of tensor data.
    pub tensor_bytes: u64,
}

/// Why writing a plan failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The container writer refused a tensor or the file system failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The plan is inconsistent.
    #[error("invalid plan: {0}")]
    Plan(String),
}

impl DirPlan {
    /// A plan for `spec`: 2 shards, real data, full tokenizer files.
    pub fn new(spec: &ModelSpec) -> Self {
        DirPlan {
            config: spec.config_json(),
            tensors: spec.tensors(),
            shards: 2,
            sparse: false,
            tokenizer: TokenizerFiles::Full,
            extra_files: Vec::new(),
        }
    }

    /// Shard file name `model-0000i-of-0000n.safetensors` (1-based).
    pub fn shard_name(i: usize, n: usize) -> String {
        format!("model-{i:05}-of-{n:05}.safetensors")
    }

    /// Writes the directory (created if needed). Existing files of the same names are
    /// replaced atomically.
    pub fn write(&self, dir: impl AsRef<Path>) -> Result<Written, SynthError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| WriteError::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        if self.shards == 0 || self.shards > self.tensors.len().max(1) {
            return Err(SynthError::Plan(format!(
                "{} shards for {} tensors",
                self.shards,
                self.tensors.len()
            )));
        }
        let n = self.shards;
        let len = self.tensors.len();
        let mut weight_map = Map::new();
        let mut names = Vec::new();
        let mut total = 0u64;
        for i in 0..n {
            // Even split: shard i holds tensors [i*len/n, (i+1)*len/n).
            let chunk = &self.tensors[i * len / n..(i + 1) * len / n];
            let name = if n == 1 {
                "model.safetensors".to_string()
            } else {
                Self::shard_name(i + 1, n)
            };
            let mut w = Writer::new();
            w.metadata("format", "pt");
            for t in chunk {
                total += t.byte_len();
                weight_map.insert(t.name.clone(), json!(name));
                if self.sparse {
                    w.add_streamed(
                        t.name.clone(),
                        t.dtype,
                        t.shape.clone(),
                        Box::new(|_| Ok(())),
                    )?;
                } else {
                    w.add(t.name.clone(), t.dtype, t.shape.clone(), t.bytes())?;
                }
            }
            let path = dir.join(&name);
            if self.sparse {
                w.write_sparse(&path)?;
            } else {
                w.write_atomic(&path)?;
            }
            names.push(name);
        }
        if n > 1 {
            let index = json!({"metadata": {"total_size": total}, "weight_map": weight_map});
            write_json(&dir.join(INDEX_FILE), &index)?;
        }
        write_json(&dir.join("config.json"), &self.config)?;
        match self.tokenizer {
            TokenizerFiles::Full => {
                write_text(&dir.join("tokenizer.json"), &tokenizer_json())?;
                write_json(&dir.join("tokenizer_config.json"), &tokenizer_config_json())?;
                write_json(
                    &dir.join("special_tokens_map.json"),
                    &json!({"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}),
                )?;
                write_json(
                    &dir.join("generation_config.json"),
                    &json!({"bos_token_id": BOS_ID, "eos_token_id": [EOS_ID, EOT_ID], "do_sample": true, "temperature": 0.6, "top_p": 0.9}),
                )?;
            }
            TokenizerFiles::JsonOnly => write_text(&dir.join("tokenizer.json"), &tokenizer_json())?,
            TokenizerFiles::SentencePieceOnly => {
                // Opaque protobuf-looking bytes: the check must name the file, never parse it.
                write_bytes_atomic(
                    &dir.join("tokenizer.model"),
                    b"\x0a\x0b\x0a\x05<unk>\x15\x00\x00\x00\x00\x18\x02",
                )?
            }
            TokenizerFiles::None => {}
        }
        for (name, bytes) in &self.extra_files {
            write_bytes_atomic(&dir.join(name), bytes)?;
        }
        Ok(Written {
            shard_names: names,
            tensors: self.tensors.len(),
            tensor_bytes: total,
        })
    }
}

fn write_json(path: &Path, v: &Value) -> Result<(), WriteError> {
    let mut text = serde_json::to_string_pretty(v).map_err(|e| WriteError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    text.push('\n');
    write_bytes_atomic(path, text.as_bytes())
}

fn write_text(path: &Path, s: &str) -> Result<(), WriteError> {
    write_bytes_atomic(path, s.as_bytes())
}

/// Id of `<|begin_of_text|>` in [`tokenizer_json`].
pub const BOS_ID: u64 = 259;
/// Id of `<|end_of_text|>`.
pub const EOS_ID: u64 = 260;
/// Id of `<|eot_id|>` (end of turn).
pub const EOT_ID: u64 = 263;
/// Tokens of [`tokenizer_json`] (256 bytes + 3 merges + 5 specials).
pub const TOKENIZER_VOCAB: u64 = 264;

/// GPT-2 byte-to-unicode table: the printable stand-in of every byte.
fn byte_chars() -> Vec<char> {
    let mut printable: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut chars: Vec<u32> = printable.clone();
    let mut extra = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            printable.push(b);
            chars.push(256 + extra);
            extra += 1;
        }
    }
    let mut table = vec![' '; 256];
    for (b, c) in printable.iter().zip(chars) {
        table[*b as usize] = char::from_u32(c).unwrap_or('?');
    }
    table
}

/// A byte-level BPE `tokenizer.json` (Llama-3 style special tokens) that the tokenizers
/// crate loads and that round-trips any UTF-8 text.
pub fn tokenizer_json() -> String {
    let chars = byte_chars();
    let mut vocab = Map::new();
    for (b, c) in chars.iter().enumerate() {
        vocab.insert(c.to_string(), json!(b));
    }
    let space = chars[b' ' as usize];
    let merges = [
        (format!("{space}"), "t".to_string()),
        ("h".into(), "e".into()),
        (format!("{space}t"), "he".to_string()),
    ];
    for (i, (a, b)) in merges.iter().enumerate() {
        vocab.insert(format!("{a}{b}"), json!(256 + i));
    }
    let specials = [
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eot_id|>",
    ];
    let added: Vec<Value> = specials
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({"id": BOS_ID as usize + i, "content": s, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    for (i, s) in specials.iter().enumerate() {
        vocab.insert(s.to_string(), json!(BOS_ID as usize + i));
    }
    let merges: Vec<Value> = merges
        .iter()
        .map(|(a, b)| json!(format!("{a} {b}")))
        .collect();
    let doc = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                  "ignore_merges": false, "vocab": vocab, "merges": merges}
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// tokenizer_config.json with a Llama-3 style chat template.
pub fn tokenizer_config_json() -> Value {
    json!({
        "bos_token": "<|begin_of_text|>",
        "eos_token": "<|eot_id|>",
        "model_max_length": 131072,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": "{{ bos_token }}{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n{{ message['content'] | trim }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
    })
}

/// A Llama-layout spec for scale tests: `layers` layers of width `hidden`, 64-wide heads,
/// vocabulary 32,000 (9 tensors per layer + 3).
pub fn scale_spec(layers: u64, hidden: u64) -> ModelSpec {
    ModelSpec {
        layers,
        hidden,
        heads: (hidden / 64).max(1),
        kv_heads: (hidden / 256).max(1),
        head_dim: 64,
        intermediate: hidden * 11 / 4,
        vocab: 32000,
        ..ModelSpec::llama_tiny()
    }
}

/// Writes the 191-shard sparse directory of the scale test and benchmark: a Llama layout
/// with 330 layers of width `hidden` (2,973 tensors). Data is never written: with
/// `hidden` 256 the files total about 475 MiB, with 4096 about 119 GiB, all sparse.
pub fn write_scale_dir(dir: impl AsRef<Path>, hidden: u64) -> Result<Written, SynthError> {
    let spec = scale_spec(330, hidden);
    let mut plan = DirPlan::new(&spec);
    plan.shards = 191;
    plan.sparse = true;
    plan.write(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_json_loads_and_round_trips() {
        let t = tokenizers::Tokenizer::from_bytes(tokenizer_json().as_bytes()).unwrap();
        assert_eq!(t.get_vocab_size(true) as u64, TOKENIZER_VOCAB);
        assert_eq!(t.token_to_id("<|eot_id|>"), Some(EOT_ID as u32));
        let text = "the theme: Grüße 🦀";
        let enc = t.encode(text, false).unwrap();
        assert!(
            enc.get_ids().contains(&258),
            "merge ' the' used: {:?}",
            enc.get_ids()
        );
        assert_eq!(t.decode(enc.get_ids(), false).unwrap(), text);
    }

    #[test]
    fn pattern_is_deterministic_and_sized() {
        let a = SynthTensor::new("a", Dtype::BF16, vec![3, 5], SynthData::Pattern(9));
        assert_eq!(a.bytes().len(), 30);
        assert_eq!(a.bytes(), a.bytes());
        let b = SynthTensor::new("b", Dtype::F4, vec![3], SynthData::Pattern(9));
        assert_eq!(b.bytes().len(), 2);
    }

    #[test]
    fn scale_spec_tensor_count() {
        assert_eq!(scale_spec(330, 256).tensors().len(), 2973);
    }
}
