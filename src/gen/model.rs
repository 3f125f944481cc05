//! A quantized model-directory synthesizer: config.json for a chosen family with the
//! quantization config in any of its legal locations, quantized and plain tensors, shards,
//! the shard index and a minimal tokenizer.json. Built in memory first ([`GenModel`]) so
//! mutators can corrupt it before [`GenModel::write`] writes it through the container Writer.

use super::quantize::{
    quantize_awq, quantize_fp8, quantize_gptq, quantize_intpack, quantize_mxfp4, quantize_nvfp4,
    GptqOptions, IntPackOptions, QuantizedLayer,
};
use super::rng::SplitMix64;
use crate::container::{write_bytes_atomic, Writer};
use crate::diag::Diagnostic;
use crate::dtype::Dtype;
use crate::quant::linear::{Fp8Granularity, GlobalScaleConvention, OwnedTensor};
use half::f16;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Every on-disk format the generators write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GenFormat {
    /// GPTQ `checkpoint_format: gptq` (zeros minus one).
    GptqV1,
    /// GPTQ `checkpoint_format: gptq_v2`.
    GptqV2,
    /// AWQ GEMM.
    Awq,
    /// compressed-tensors pack-quantized int4/int8.
    IntPack,
    /// compressed-tensors nvfp4-pack-quantized (divisor global scale).
    Nvfp4Ct,
    /// ModelOpt NVFP4 (multiplier weight_scale_2).
    Nvfp4ModelOpt,
    /// gpt-oss MXFP4 experts.
    Mxfp4,
    /// DeepSeek-style block FP8 (`weight_scale_inv`).
    Fp8Block,
    /// vLLM `fp8` per-tensor.
    Fp8Tensor,
    /// compressed-tensors float-quantized, channel strategy.
    Fp8Channel,
}

impl GenFormat {
    /// Every format.
    pub const ALL: [GenFormat; 10] = [
        GenFormat::GptqV1,
        GenFormat::GptqV2,
        GenFormat::Awq,
        GenFormat::IntPack,
        GenFormat::Nvfp4Ct,
        GenFormat::Nvfp4ModelOpt,
        GenFormat::Mxfp4,
        GenFormat::Fp8Block,
        GenFormat::Fp8Tensor,
        GenFormat::Fp8Channel,
    ];

    /// CLI name.
    pub fn name(self) -> &'static str {
        match self {
            GenFormat::GptqV1 => "gptq",
            GenFormat::GptqV2 => "gptq-v2",
            GenFormat::Awq => "awq",
            GenFormat::IntPack => "int-pack",
            GenFormat::Nvfp4Ct => "nvfp4-ct",
            GenFormat::Nvfp4ModelOpt => "nvfp4-modelopt",
            GenFormat::Mxfp4 => "mxfp4",
            GenFormat::Fp8Block => "fp8-block",
            GenFormat::Fp8Tensor => "fp8-tensor",
            GenFormat::Fp8Channel => "fp8-channel",
        }
    }

    /// Parses a CLI name.
    pub fn from_name(s: &str) -> Option<GenFormat> {
        GenFormat::ALL.into_iter().find(|f| f.name() == s)
    }

    /// Locations where this format's config may legally live.
    pub fn legal_locations(self) -> &'static [ConfigLocation] {
        use ConfigLocation::*;
        match self {
            GenFormat::GptqV1 | GenFormat::GptqV2 | GenFormat::Awq | GenFormat::Nvfp4ModelOpt => {
                &[QuantizationConfig, TextConfig, SideFile]
            }
            GenFormat::IntPack | GenFormat::Nvfp4Ct | GenFormat::Fp8Channel => {
                &[QuantizationConfig, CompressionConfig, TextConfig]
            }
            GenFormat::Mxfp4 | GenFormat::Fp8Block | GenFormat::Fp8Tensor => {
                &[QuantizationConfig, TextConfig]
            }
        }
    }
}

/// Where the quantization config is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigLocation {
    /// `config.json` -> `quantization_config`.
    QuantizationConfig,
    /// `config.json` -> `compression_config` (legacy compressed-tensors key).
    CompressionConfig,
    /// `config.json` -> `text_config.quantization_config`.
    TextConfig,
    /// The format's own side file (`quantize_config.json`, `quant_config.json`,
    /// `hf_quant_config.json`), in its legacy spelling.
    SideFile,
}

impl ConfigLocation {
    /// Every location.
    pub const ALL: [ConfigLocation; 4] = [
        ConfigLocation::QuantizationConfig,
        ConfigLocation::CompressionConfig,
        ConfigLocation::TextConfig,
        ConfigLocation::SideFile,
    ];
    /// CLI name.
    pub fn name(self) -> &'static str {
        match self {
            ConfigLocation::QuantizationConfig => "quantization-config",
            ConfigLocation::CompressionConfig => "compression-config",
            ConfigLocation::TextConfig => "text-config",
            ConfigLocation::SideFile => "side-file",
        }
    }
    /// Parses a CLI name.
    pub fn from_name(s: &str) -> Option<ConfigLocation> {
        ConfigLocation::ALL.into_iter().find(|l| l.name() == s)
    }
}

/// Quantizer settings; fields a format does not use are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantSpec {
    /// The format.
    pub format: GenFormat,
    /// GPTQ 2/3/4/8, int-pack 4/8.
    pub bits: u32,
    /// Group size (-1 = one group / channel).
    pub group_size: i64,
    /// Symmetric (GPTQ, int-pack).
    pub sym: bool,
    /// Act-order (GPTQ desc_act, int-pack actorder=group).
    pub act_order: bool,
    /// FP8 block `[rows, cols]`.
    pub block: [usize; 2],
}

impl QuantSpec {
    /// Sensible defaults for a format (4-bit, group 128 where applicable).
    pub fn new(format: GenFormat) -> Self {
        QuantSpec {
            format,
            bits: match format {
                GenFormat::Fp8Block | GenFormat::Fp8Tensor | GenFormat::Fp8Channel => 8,
                _ => 4,
            },
            group_size: 128,
            sym: true,
            act_order: false,
            block: [128, 128],
        }
    }

    /// Quantizes one `[n, k]` matrix (MXFP4: `[experts * n, k]`) into this format.
    pub fn quantize(
        &self,
        prefix: &str,
        w: &[f32],
        experts: usize,
        n: usize,
        k: usize,
        rng: &mut SplitMix64,
    ) -> Result<QuantizedLayer, Diagnostic> {
        match self.format {
            GenFormat::GptqV1 | GenFormat::GptqV2 => {
                let o = GptqOptions {
                    bits: self.bits,
                    group_size: self.group_size,
                    sym: self.sym,
                    act_order: self.act_order,
                    v2: self.format == GenFormat::GptqV2,
                };
                quantize_gptq(prefix, w, n, k, &o, rng)
            }
            GenFormat::Awq => quantize_awq(prefix, w, n, k, self.group_size),
            GenFormat::IntPack => {
                let o = IntPackOptions {
                    bits: self.bits,
                    group_size: (self.group_size > 0).then_some(self.group_size as usize),
                    symmetric: self.sym,
                    act_order: self.act_order,
                };
                quantize_intpack(prefix, w, n, k, &o, rng)
            }
            GenFormat::Nvfp4Ct => quantize_nvfp4(prefix, w, n, k, GlobalScaleConvention::Divisor),
            GenFormat::Nvfp4ModelOpt => {
                quantize_nvfp4(prefix, w, n, k, GlobalScaleConvention::Multiplier)
            }
            GenFormat::Mxfp4 => quantize_mxfp4(prefix, w, experts, n, k),
            GenFormat::Fp8Block => quantize_fp8(
                prefix,
                w,
                n,
                k,
                Fp8Granularity::Block {
                    rows: self.block[0],
                    cols: self.block[1],
                },
            ),
            GenFormat::Fp8Tensor => quantize_fp8(prefix, w, n, k, Fp8Granularity::Tensor),
            GenFormat::Fp8Channel => quantize_fp8(prefix, w, n, k, Fp8Granularity::Channel),
        }
    }

    /// The quantization config exactly as the producer writes it (`legacy` = the
    /// side-file spelling: AutoGPTQ quantize_config.json without quant_method, AutoAWQ
    /// quant_config.json with w_bit/q_group_size/"GEMM", ModelOpt nested hf_quant_config.json).
    pub fn config_json(&self, unquantized: &[&str], legacy: bool) -> Value {
        let ct = |fmt: &str, weights: Value, input: Value| {
            json!({
                "quant_method": "compressed-tensors",
                "format": fmt,
                "quantization_status": "compressed",
                "version": "0.10.2",
                "config_groups": {"group_0": {
                    "targets": ["Linear"], "weights": weights,
                    "input_activations": input, "output_activations": null, "format": null
                }},
                "ignore": unquantized,
                "kv_cache_scheme": null,
                "sparsity_config": {}
            })
        };
        match self.format {
            GenFormat::GptqV1 | GenFormat::GptqV2 => {
                let mut q = json!({
                    "bits": self.bits, "group_size": self.group_size, "desc_act": self.act_order,
                    "sym": self.sym, "damp_percent": 0.01, "static_groups": false, "true_sequential": true,
                });
                if !legacy {
                    q["quant_method"] = json!("gptq");
                    q["checkpoint_format"] = json!(if self.format == GenFormat::GptqV1 {
                        "gptq"
                    } else {
                        "gptq_v2"
                    });
                    q["modules_to_not_convert"] = json!(unquantized);
                } else if self.format == GenFormat::GptqV2 {
                    q["checkpoint_format"] = json!("gptq_v2");
                }
                q
            }
            GenFormat::Awq if legacy => {
                json!({"zero_point": true, "q_group_size": self.group_size, "w_bit": 4, "version": "GEMM"})
            }
            GenFormat::Awq => json!({
                "quant_method": "awq", "zero_point": true, "group_size": self.group_size, "bits": 4,
                "version": "gemm", "modules_to_not_convert": unquantized
            }),
            GenFormat::IntPack => {
                let group = self.group_size > 0;
                ct(
                    "pack-quantized",
                    json!({
                        "num_bits": self.bits, "type": "int", "symmetric": self.sym,
                        "strategy": if group { "group" } else { "channel" },
                        "group_size": if group { json!(self.group_size) } else { Value::Null },
                        "actorder": if self.act_order && group { json!("group") } else { Value::Null },
                        "dynamic": false, "observer": "minmax"
                    }),
                    Value::Null,
                )
            }
            GenFormat::Nvfp4Ct => ct(
                "nvfp4-pack-quantized",
                json!({"num_bits": 4, "type": "float", "symmetric": true, "strategy": "tensor_group", "group_size": 16, "dynamic": false}),
                json!({"num_bits": 4, "type": "float", "symmetric": true, "strategy": "tensor_group", "group_size": 16, "dynamic": "local"}),
            ),
            GenFormat::Fp8Channel => ct(
                "float-quantized",
                json!({"num_bits": 8, "type": "float", "symmetric": true, "strategy": "channel", "group_size": null, "dynamic": false}),
                json!({"num_bits": 8, "type": "float", "symmetric": true, "strategy": "token", "dynamic": true}),
            ),
            GenFormat::Nvfp4ModelOpt if legacy => json!({
                "producer": {"name": "modelopt", "version": "0.29.0"},
                "quantization": {"quant_algo": "NVFP4", "kv_cache_quant_algo": "FP8", "group_size": 16, "exclude_modules": unquantized}
            }),
            GenFormat::Nvfp4ModelOpt => json!({
                "quant_method": "modelopt", "quant_algo": "NVFP4", "group_size": 16,
                "kv_cache_quant_algo": "FP8", "exclude_modules": unquantized,
                "producer": {"name": "modelopt", "version": "0.29.0"}
            }),
            GenFormat::Mxfp4 => {
                json!({"quant_method": "mxfp4", "modules_to_not_convert": unquantized})
            }
            GenFormat::Fp8Block => json!({
                "quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                "weight_block_size": self.block, "modules_to_not_convert": unquantized
            }),
            GenFormat::Fp8Tensor => json!({
                "quant_method": "fp8", "activation_scheme": "dynamic", "modules_to_not_convert": unquantized
            }),
        }
    }

    fn side_file_name(&self) -> Option<&'static str> {
        match self.format {
            GenFormat::GptqV1 | GenFormat::GptqV2 => Some("quantize_config.json"),
            GenFormat::Awq => Some("quant_config.json"),
            GenFormat::Nvfp4ModelOpt => Some("hf_quant_config.json"),
            _ => None,
        }
    }
}

/// Model shape and layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// `model_type`: `llama`, `qwen2`, `mistral` (dense) or `gpt_oss` (MoE, MXFP4 experts).
    pub family: String,
    /// Decoder layers.
    pub layers: usize,
    /// hidden_size.
    pub hidden: usize,
    /// intermediate_size.
    pub intermediate: usize,
    /// vocab_size.
    pub vocab: usize,
    /// Experts (gpt_oss only).
    pub experts: usize,
    /// Number of shards (1 = `model.safetensors`, no index).
    pub shards: usize,
    /// Where the quantization config goes.
    pub location: ConfigLocation,
    /// The quantization.
    pub quant: QuantSpec,
    /// Seed.
    pub seed: u64,
}

impl ModelSpec {
    /// A small model of `family` in `format` (shapes legal for every format, 3-bit included).
    pub fn small(format: GenFormat, seed: u64) -> Self {
        ModelSpec {
            family: if format == GenFormat::Mxfp4 {
                "gpt_oss".into()
            } else {
                "llama".into()
            },
            layers: 2,
            hidden: 64,
            intermediate: 128,
            vocab: 320, // covers the byte-level tokenizer's 264 ids
            experts: 2,
            shards: 2,
            location: ConfigLocation::QuantizationConfig,
            quant: QuantSpec {
                group_size: 32,
                block: [32, 16],
                ..QuantSpec::new(format)
            },
            seed,
        }
    }
}

/// A synthesized model held in memory.
#[derive(Debug, Clone)]
pub struct GenModel {
    /// config.json.
    pub config: Value,
    /// Side files (name, JSON).
    pub side_files: Vec<(String, Value)>,
    /// Every tensor, sorted by name.
    pub tensors: Vec<OwnedTensor>,
    /// Quantizer reconstruction per quantized layer prefix.
    pub recon: BTreeMap<String, Vec<f32>>,
    /// Number of shards to write.
    pub shards: usize,
    /// vocab size for tokenizer.json.
    pub vocab: usize,
}

fn gen_err(code: &'static str, msg: String, advice: &str) -> Diagnostic {
    Diagnostic::error(code, msg).advice(advice)
}

fn plain(name: String, shape: Vec<u64>, rng: &mut SplitMix64, scale: f32) -> OwnedTensor {
    let n: u64 = shape.iter().product();
    let bytes = (0..n)
        .flat_map(|_| f16::from_f32(rng.normal() * scale).to_le_bytes())
        .collect();
    OwnedTensor::new(name, Dtype::F16, shape, bytes)
}

/// Builds a model in memory.
pub fn synthesize(spec: &ModelSpec) -> Result<GenModel, Diagnostic> {
    let q = &spec.quant;
    if !q.format.legal_locations().contains(&spec.location) {
        return Err(gen_err(
            "GEN002",
            format!(
                "{} configs cannot live in {}",
                q.format.name(),
                spec.location.name()
            ),
            "pick a location the format's producer writes (see `safeweights gen --help`)",
        ));
    }
    let moe = q.format == GenFormat::Mxfp4;
    if moe != (spec.family == "gpt_oss") {
        return Err(gen_err(
            "GEN002",
            format!(
                "family {} does not fit format {}",
                spec.family,
                q.format.name()
            ),
            "MXFP4 models are gpt_oss; other formats use a dense family (llama, qwen2, mistral)",
        ));
    }
    let mut rng = SplitMix64::new(spec.seed);
    let (h, i, v) = (spec.hidden, spec.intermediate, spec.vocab);
    let mut tensors = Vec::new();
    let mut recon = BTreeMap::new();
    let mut add_q = |tensors: &mut Vec<OwnedTensor>,
                     rng: &mut SplitMix64,
                     prefix: String,
                     e: usize,
                     n: usize,
                     k: usize|
     -> Result<(), Diagnostic> {
        let w = rng.weights(e * n, k, 0.05);
        let l = q.quantize(&prefix, &w, e, n, k, rng)?;
        tensors.extend(l.tensors);
        recon.insert(prefix, l.recon);
        Ok(())
    };
    tensors.push(plain(
        "model.embed_tokens.weight".into(),
        vec![v as u64, h as u64],
        &mut rng,
        0.02,
    ));
    tensors.push(plain(
        "model.norm.weight".into(),
        vec![h as u64],
        &mut rng,
        1.0,
    ));
    tensors.push(plain(
        "lm_head.weight".into(),
        vec![v as u64, h as u64],
        &mut rng,
        0.02,
    ));
    for l in 0..spec.layers {
        let p = format!("model.layers.{l}");
        tensors.push(plain(
            format!("{p}.input_layernorm.weight"),
            vec![h as u64],
            &mut rng,
            1.0,
        ));
        tensors.push(plain(
            format!("{p}.post_attention_layernorm.weight"),
            vec![h as u64],
            &mut rng,
            1.0,
        ));
        for proj in ["q_proj", "k_proj", "v_proj", "o_proj"] {
            let prefix = format!("{p}.self_attn.{proj}");
            if moe {
                tensors.push(plain(
                    format!("{prefix}.weight"),
                    vec![h as u64, h as u64],
                    &mut rng,
                    0.05,
                ));
            } else {
                add_q(&mut tensors, &mut rng, prefix, 1, h, h)?;
            }
        }
        if moe {
            let e = spec.experts;
            tensors.push(plain(
                format!("{p}.mlp.router.weight"),
                vec![e as u64, h as u64],
                &mut rng,
                0.05,
            ));
            add_q(
                &mut tensors,
                &mut rng,
                format!("{p}.mlp.experts.gate_up_proj"),
                e,
                2 * i,
                h,
            )?;
            add_q(
                &mut tensors,
                &mut rng,
                format!("{p}.mlp.experts.down_proj"),
                e,
                h,
                i,
            )?;
            let bias = |name: String, n: usize, rng: &mut SplitMix64| {
                let b = (0..e * n)
                    .flat_map(|_| (rng.normal() * 0.01).to_le_bytes())
                    .collect();
                OwnedTensor::new(name, Dtype::F32, vec![e as u64, n as u64], b)
            };
            tensors.push(bias(
                format!("{p}.mlp.experts.gate_up_proj_bias"),
                2 * i,
                &mut rng,
            ));
            tensors.push(bias(format!("{p}.mlp.experts.down_proj_bias"), h, &mut rng));
        } else {
            add_q(
                &mut tensors,
                &mut rng,
                format!("{p}.mlp.gate_proj"),
                1,
                i,
                h,
            )?;
            add_q(&mut tensors, &mut rng, format!("{p}.mlp.up_proj"), 1, i, h)?;
            add_q(
                &mut tensors,
                &mut rng,
                format!("{p}.mlp.down_proj"),
                1,
                h,
                i,
            )?;
        }
    }
    let unquantized: Vec<&str> = if moe {
        vec![
            "model.layers.*.self_attn",
            "model.layers.*.mlp.router",
            "model.embed_tokens",
            "lm_head",
        ]
    } else {
        vec!["lm_head"]
    };
    tensors.sort_by(|a, b| a.name.cmp(&b.name));

    let mut config = json!({
        "architectures": [match spec.family.as_str() {
            "gpt_oss" => "GptOssForCausalLM", "qwen2" => "Qwen2ForCausalLM", "mistral" => "MistralForCausalLM", _ => "LlamaForCausalLM"
        }],
        "model_type": spec.family,
        "hidden_size": h, "intermediate_size": i, "num_hidden_layers": spec.layers,
        "num_attention_heads": (h / 16).max(1), "num_key_value_heads": (h / 16).max(1), "head_dim": 16,
        "vocab_size": v, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "torch_dtype": "float16", "tie_word_embeddings": false,
    });
    if moe {
        config["num_local_experts"] = json!(spec.experts);
        config["num_experts_per_tok"] = json!(spec.experts.min(2));
    }
    let mut side_files = Vec::new();
    match spec.location {
        ConfigLocation::QuantizationConfig => {
            config["quantization_config"] = q.config_json(&unquantized, false);
            if q.format == GenFormat::Nvfp4ModelOpt {
                // ModelOpt's export writes both files (quant_formats.md §7.1)
                side_files.push((
                    "hf_quant_config.json".into(),
                    q.config_json(&unquantized, true),
                ));
            }
        }
        ConfigLocation::CompressionConfig => {
            config["compression_config"] = q.config_json(&unquantized, false)
        }
        ConfigLocation::TextConfig => {
            let text = config.clone();
            config = json!({
                "architectures": ["LlavaForConditionalGeneration"], "model_type": "llava",
                "text_config": text, "vision_config": {"model_type": "clip_vision_model"}
            });
            config["text_config"]["quantization_config"] = q.config_json(&unquantized, false);
        }
        ConfigLocation::SideFile => {
            let name = q.side_file_name().expect("legal_locations checked");
            side_files.push((name.to_string(), q.config_json(&unquantized, true)));
        }
    }
    Ok(GenModel {
        config,
        side_files,
        tensors,
        recon,
        shards: spec.shards.max(1),
        vocab: v,
    })
}

impl GenModel {
    /// Tensor by name.
    pub fn tensor_mut(&mut self, name: &str) -> Option<&mut OwnedTensor> {
        self.tensors.iter_mut().find(|t| t.name == name)
    }

    /// Writes the directory: config.json, side files, shards (+ index), tokenizer.json.
    pub fn write(&self, dir: &Path) -> Result<(), Diagnostic> {
        let io = |e: std::io::Error, what: &str| {
            gen_err(
                "GEN003",
                format!("cannot write {what} in {}: {e}", dir.display()),
                "check the output path is a writable directory",
            )
        };
        std::fs::create_dir_all(dir).map_err(|e| io(e, "the directory"))?;
        let pretty = |v: &Value| serde_json::to_string_pretty(v).expect("JSON values serialize");
        let write_json = |name: &str, v: &Value| {
            write_bytes_atomic(&dir.join(name), pretty(v).as_bytes())
                .map_err(|e| io(std::io::Error::other(e.to_string()), name))
        };
        write_json("config.json", &self.config)?;
        for (name, v) in &self.side_files {
            write_json(name, v)?;
        }
        // The byte-level BPE tokenizer of the model synthesizer: it loads in the tokenizers
        // crate and round-trips any text, so `check` has nothing to say about it.
        let tok = crate::model::synth::tokenizer_json();
        write_bytes_atomic(&dir.join("tokenizer.json"), tok.as_bytes())
            .map_err(|e| io(std::io::Error::other(e.to_string()), "tokenizer.json"))?;
        // Contiguous runs of the sorted tensor list, balanced by bytes.
        let total: usize = self.tensors.iter().map(|t| t.bytes.len()).sum();
        let per = total.div_ceil(self.shards).max(1);
        let mut shard_of = Vec::with_capacity(self.tensors.len());
        let mut acc = 0;
        for t in &self.tensors {
            shard_of.push((acc / per).min(self.shards - 1));
            acc += t.bytes.len();
        }
        let file_name = |s: usize| {
            if self.shards == 1 {
                "model.safetensors".to_string()
            } else {
                format!("model-{:05}-of-{:05}.safetensors", s + 1, self.shards)
            }
        };
        let mut weight_map = serde_json::Map::new();
        for s in 0..self.shards {
            let mut w = Writer::new();
            w.metadata("format", "pt");
            for (t, _) in self
                .tensors
                .iter()
                .zip(&shard_of)
                .filter(|(_, &si)| si == s)
            {
                w.add(
                    t.name.as_str(),
                    t.dtype,
                    t.shape.clone(),
                    t.bytes.as_slice(),
                )
                .map_err(|e| {
                    gen_err(
                        "GEN003",
                        format!("cannot add {}: {e}", t.name),
                        "tensor names must be unique and shapes match the bytes",
                    )
                })?;
                weight_map.insert(t.name.clone(), json!(file_name(s)));
            }
            w.write_atomic(dir.join(file_name(s))).map_err(|e| {
                gen_err(
                    "GEN003",
                    format!("cannot write {}: {e}", file_name(s)),
                    "check disk space and permissions",
                )
            })?;
        }
        if self.shards > 1 {
            let index = json!({"metadata": {"total_size": total}, "weight_map": weight_map});
            write_json("model.safetensors.index.json", &index)?;
        }
        Ok(())
    }
}
