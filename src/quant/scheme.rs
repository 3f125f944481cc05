//! The detected quantization scheme and its JSON report (the `quantization` block of
//! `safeweights check`).

use super::linear::{Fp8Granularity, GlobalScaleConvention};
use serde::Serialize;

/// Quantization method as reported in the `method` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Method {
    /// GPTQ (AutoGPTQ / GPTQModel).
    #[serde(rename = "gptq")]
    Gptq,
    /// AWQ (AutoAWQ).
    #[serde(rename = "awq")]
    Awq,
    /// NVFP4 (compressed-tensors or ModelOpt).
    #[serde(rename = "nvfp4")]
    Nvfp4,
    /// MXFP4 (gpt-oss).
    #[serde(rename = "mxfp4")]
    Mxfp4,
    /// FP8 E4M3 (block, per-tensor, per-channel).
    #[serde(rename = "fp8")]
    Fp8,
    /// compressed-tensors pack-quantized int4/int8.
    #[serde(rename = "int-pack")]
    IntPack,
    /// bitsandbytes (reported, never decoded).
    #[serde(rename = "bitsandbytes")]
    Bitsandbytes,
    /// Not quantized, or a method we cannot name.
    #[serde(rename = "none")]
    None,
}

impl Method {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Gptq => "gptq",
            Method::Awq => "awq",
            Method::Nvfp4 => "nvfp4",
            Method::Mxfp4 => "mxfp4",
            Method::Fp8 => "fp8",
            Method::IntPack => "int-pack",
            Method::Bitsandbytes => "bitsandbytes",
            Method::None => "none",
        }
    }
}

/// What binding needs to know about the tensors of each Linear.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    /// GPTQ (quant_formats.md §2).
    Gptq {
        /// Bits per weight; `None` when only tensor names were seen.
        bits: Option<u32>,
        /// -1 or > 0; `None` when unknown.
        group_size: Option<i64>,
        /// act-order (g_idx required).
        desc_act: bool,
        /// zeros stored minus one (`checkpoint_format == "gptq"`).
        v1: bool,
    },
    /// AWQ GEMM (§3).
    Awq {
        /// -1 or > 0; `None` when unknown.
        group_size: Option<i64>,
    },
    /// compressed-tensors pack-quantized (§5).
    IntPack {
        /// 4 or 8.
        bits: u32,
        /// `None` = channel strategy.
        group_size: Option<usize>,
        /// No zero point.
        symmetric: bool,
        /// actorder=group: weight_g_idx required.
        actorder: bool,
    },
    /// NVFP4 (§6, §7).
    Nvfp4 {
        /// divisor (CT) or multiplier (ModelOpt).
        convention: GlobalScaleConvention,
    },
    /// gpt-oss MXFP4 (§8).
    Mxfp4,
    /// FP8 E4M3 (§7.4, §9). Tensor vs channel is read from the scale's shape per layer.
    Fp8 {
        /// Scale granularity from the config.
        granularity: Fp8Granularity,
    },
    /// Detected but not decodable here; the reason says why.
    Unsupported {
        /// Human-readable reason, e.g. "GPTQ marlin layout".
        reason: String,
    },
}

/// A detected scheme: what the config (or tensor names) say, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantScheme {
    /// Method family.
    pub method: Method,
    /// Binding layout.
    pub layout: Layout,
    /// Producer (e.g. `modelopt`, `compressed-tensors`, `autoawq`), when known.
    pub producer: Option<String>,
    /// Bits per weight, when the format has a single width.
    pub bits: Option<u32>,
    /// Group size as configured (-1 for one group).
    pub group_size: Option<i64>,
    /// GPTQ act-order.
    pub desc_act: Option<bool>,
    /// Symmetric quantization.
    pub sym: Option<bool>,
    /// GPTQ checkpoint_format (`gptq`, `gptq_v2`, `marlin`, ...) or CT format.
    pub checkpoint_format: Option<String>,
    /// NVFP4 global-scale convention (`divisor`/`multiplier`) or FP8 granularity.
    pub scale_convention: Option<String>,
    /// Where the config was found, e.g. `config.json:quantization_config`.
    pub source: String,
    /// Modules left unquantized (patterns as written: names, fnmatch globs, `re:` regexes).
    pub unquantized_modules: Vec<String>,
    /// KV-cache quantization hint (reported, never applied).
    pub kv_cache_hint: Option<String>,
    /// The raw `quant_method` string as found.
    pub quant_method_raw: Option<String>,
}

impl QuantScheme {
    /// A scheme with only its method, layout and source known; every parameter unset.
    pub fn new(method: Method, layout: Layout, source: &str) -> QuantScheme {
        QuantScheme {
            method,
            layout,
            producer: None,
            bits: None,
            group_size: None,
            desc_act: None,
            sym: None,
            checkpoint_format: None,
            scale_convention: None,
            source: source.to_string(),
            unquantized_modules: vec![],
            kv_cache_hint: None,
            quant_method_raw: None,
        }
    }

    /// True when binding and decoding are implemented for this layout.
    pub fn supported(&self) -> bool {
        match &self.layout {
            Layout::Unsupported { .. } => false,
            Layout::Gptq {
                bits, group_size, ..
            } => bits.is_some() && group_size.is_some(),
            Layout::Awq { group_size } => group_size.is_some(),
            _ => true,
        }
    }
}

/// The `quantization` block of `safeweights check` (one JSON object, fields as documented
/// in docs/quant-notes.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuantReport {
    /// `gptq` | `awq` | `nvfp4` | `mxfp4` | `fp8` | `int-pack` | `bitsandbytes` | `none`.
    pub method: Method,
    /// Producer, when known.
    pub producer: Option<String>,
    /// Bits per weight.
    pub bits: Option<u32>,
    /// Group size (-1 = one group).
    pub group_size: Option<i64>,
    /// GPTQ act-order.
    pub desc_act: Option<bool>,
    /// Symmetric.
    pub sym: Option<bool>,
    /// Checkpoint format.
    pub checkpoint_format: Option<String>,
    /// Scale convention.
    pub scale_convention: Option<String>,
    /// Where the config came from (`none` when not quantized).
    pub source: String,
    /// Unquantized module patterns.
    pub unquantized_modules: Vec<String>,
    /// Number of quantized Linear layers found by tensor name.
    pub layers: usize,
    /// Whether safeweights can decode it.
    pub supported: bool,
    /// KV-cache quantization hint, when the config carries one.
    pub kv_cache_hint: Option<String>,
    /// Raw `quant_method` as found.
    pub quant_method_raw: Option<String>,
}

impl QuantReport {
    /// The report for a detection result and the number of quantized layers found.
    pub fn new(scheme: Option<&QuantScheme>, layers: usize) -> Self {
        match scheme {
            None => QuantReport {
                method: Method::None,
                producer: None,
                bits: None,
                group_size: None,
                desc_act: None,
                sym: None,
                checkpoint_format: None,
                scale_convention: None,
                source: "none".into(),
                unquantized_modules: vec![],
                layers: 0,
                supported: true,
                kv_cache_hint: None,
                quant_method_raw: None,
            },
            Some(s) => QuantReport {
                method: s.method,
                producer: s.producer.clone(),
                bits: s.bits,
                group_size: s.group_size,
                desc_act: s.desc_act,
                sym: s.sym,
                checkpoint_format: s.checkpoint_format.clone(),
                scale_convention: s.scale_convention.clone(),
                source: s.source.clone(),
                unquantized_modules: s.unquantized_modules.clone(),
                layers,
                supported: s.supported(),
                kv_cache_hint: s.kv_cache_hint.clone(),
                quant_method_raw: s.quant_method_raw.clone(),
            },
        }
    }
}
