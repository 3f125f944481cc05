//! The typed form of one quantized Linear: tensors (borrowed bytes) plus parameters.
//!
//! A [`QuantizedLinear`] is only built by [`crate::quant::bind`], which validates every
//! shape, dtype and scale first; decoders ([`crate::oracle`], [`crate::fast`]) may then
//! index without further checks.

use crate::dtype::Dtype;
use half::{bf16, f16};
use std::collections::HashMap;

/// A borrowed tensor: name, dtype, shape and its raw little-endian bytes.
///
/// The container's zero-copy `TensorView` converts into this (see `cli::dequant`); tests and
/// generators supply it from memory through [`OwnedTensor::view`].
#[derive(Debug, Clone, PartialEq)]
pub struct QTensor<'a> {
    /// Full tensor name, e.g. `model.layers.0.mlp.down_proj.qweight`.
    pub name: String,
    /// On-disk element type.
    pub dtype: Dtype,
    /// Shape, outermost first.
    pub shape: Vec<u64>,
    /// Raw bytes (C order, little-endian).
    pub data: &'a [u8],
}

impl QTensor<'_> {
    /// Number of elements (product of the shape; 1 for a scalar).
    pub fn numel(&self) -> u64 {
        self.shape.iter().product()
    }
}

/// A tensor that owns its bytes: what generators produce and in-memory tests look up.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedTensor {
    /// Full tensor name.
    pub name: String,
    /// On-disk element type.
    pub dtype: Dtype,
    /// Shape, outermost first.
    pub shape: Vec<u64>,
    /// Raw bytes (C order, little-endian).
    pub bytes: Vec<u8>,
}

impl OwnedTensor {
    /// A new owned tensor.
    pub fn new(name: impl Into<String>, dtype: Dtype, shape: Vec<u64>, bytes: Vec<u8>) -> Self {
        OwnedTensor {
            name: name.into(),
            dtype,
            shape,
            bytes,
        }
    }

    /// Borrows it as a [`QTensor`].
    pub fn view(&self) -> QTensor<'_> {
        QTensor {
            name: self.name.clone(),
            dtype: self.dtype,
            shape: self.shape.clone(),
            data: &self.bytes,
        }
    }
}

/// Where binding finds tensors by name: the mmap reader, a shard set, or memory.
pub trait TensorLookup<'a> {
    /// The tensor with this exact name, if present.
    fn tensor(&self, name: &str) -> Option<QTensor<'a>>;
}

impl<'a> TensorLookup<'a> for &'a [OwnedTensor] {
    fn tensor(&self, name: &str) -> Option<QTensor<'a>> {
        self.iter().find(|t| t.name == name).map(OwnedTensor::view)
    }
}

impl<'a> TensorLookup<'a> for &'a HashMap<String, OwnedTensor> {
    fn tensor(&self, name: &str) -> Option<QTensor<'a>> {
        self.get(name).map(OwnedTensor::view)
    }
}

/// Any closure from a name to a tensor is a lookup (e.g. over several mmapped shards).
pub struct FnLookup<F>(pub F);

impl<'a, F: Fn(&str) -> Option<QTensor<'a>>> TensorLookup<'a> for FnLookup<F> {
    fn tensor(&self, name: &str) -> Option<QTensor<'a>> {
        (self.0)(name)
    }
}

/// Element `i` of a float tensor (F16, BF16 or F32) as f32; other dtypes are a bug in the
/// caller (binding admits only these for scales).
pub fn float_at(dtype: Dtype, bytes: &[u8], i: usize) -> f32 {
    match dtype {
        Dtype::F32 => f32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4 bytes")),
        Dtype::F16 => f16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]]).to_f32(),
        Dtype::BF16 => bf16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]]).to_f32(),
        other => panic!("float_at on {other}: binding admits only F16, BF16, F32 scales"),
    }
}

/// Little-endian 32-bit word `i` (I32 bits read as u32, quant_formats.md §0).
pub fn word_at(bytes: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4 bytes"))
}

/// Little-endian I32 element `i`.
pub fn i32_at(bytes: &[u8], i: usize) -> i32 {
    word_at(bytes, i) as i32
}

/// GPTQ parameters (quant_formats.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GptqParams {
    /// out_features.
    pub n: usize,
    /// in_features.
    pub k: usize,
    /// 2, 3, 4 or 8.
    pub bits: u32,
    /// Effective group size `G'` (K when the config says -1).
    pub group_size: usize,
    /// `checkpoint_format == "gptq"`: stored zeros are the true zeros minus one (§2.5).
    pub v1: bool,
}

impl GptqParams {
    /// `ceil(K / G')`.
    pub fn groups(&self) -> usize {
        self.k.div_ceil(self.group_size)
    }
}

/// A GPTQ Linear: `qweight [K*b/32, N]`, `qzeros [groups, N*b/32]`, `scales [groups, N]`,
/// optional `g_idx [K]`.
#[derive(Debug, Clone)]
pub struct GptqLinear<'a> {
    /// Layer prefix, e.g. `model.layers.0.self_attn.q_proj`.
    pub prefix: String,
    /// Parameters.
    pub params: GptqParams,
    /// I32 packed codes.
    pub qweight: QTensor<'a>,
    /// I32 packed zero points.
    pub qzeros: QTensor<'a>,
    /// F16/BF16/F32 scales.
    pub scales: QTensor<'a>,
    /// I32 group index per input column; absent means `k / G'`.
    pub g_idx: Option<QTensor<'a>>,
}

/// AWQ GEMM parameters (quant_formats.md §3); always 4-bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwqParams {
    /// out_features.
    pub n: usize,
    /// in_features.
    pub k: usize,
    /// Group size (K when the config says -1).
    pub group_size: usize,
}

/// An AWQ GEMM Linear: `qweight [K, N/8]`, `qzeros [K/G, N/8]`, `scales [K/G, N]`.
#[derive(Debug, Clone)]
pub struct AwqLinear<'a> {
    /// Layer prefix.
    pub prefix: String,
    /// Parameters.
    pub params: AwqParams,
    /// I32 interleaved packed codes.
    pub qweight: QTensor<'a>,
    /// I32 interleaved packed zeros (true zeros, no offset).
    pub qzeros: QTensor<'a>,
    /// F16/BF16/F32 scales.
    pub scales: QTensor<'a>,
}

/// compressed-tensors `pack-quantized` parameters (quant_formats.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntPackParams {
    /// out_features.
    pub n: usize,
    /// in_features.
    pub k: usize,
    /// 4 or 8.
    pub bits: u32,
    /// Group size; `None` is the channel strategy (one scale per row).
    pub group_size: Option<usize>,
    /// Symmetric: no zero point tensor.
    pub symmetric: bool,
}

impl IntPackParams {
    /// Number of scale columns: `ceil(K/G)` or 1 for channel.
    pub fn groups(&self) -> usize {
        self.group_size.map_or(1, |g| self.k.div_ceil(g))
    }
    /// Values per 32-bit word.
    pub fn per_word(&self) -> usize {
        (32 / self.bits) as usize
    }
}

/// A compressed-tensors pack-quantized Linear.
#[derive(Debug, Clone)]
pub struct IntPackLinear<'a> {
    /// Layer prefix.
    pub prefix: String,
    /// Parameters.
    pub params: IntPackParams,
    /// I32 `[N, ceil(K/pf)]`.
    pub weight_packed: QTensor<'a>,
    /// Float `[N, groups]`.
    pub weight_scale: QTensor<'a>,
    /// I32 `[ceil(N/pf), groups]`, asymmetric only.
    pub weight_zero_point: Option<QTensor<'a>>,
    /// I32 `[K]`, actorder=group only.
    pub weight_g_idx: Option<QTensor<'a>>,
}

/// How an NVFP4 per-tensor scale is applied (quant_formats.md §6.4 vs §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GlobalScaleConvention {
    /// compressed-tensors `weight_global_scale`: block scale is divided by it.
    Divisor,
    /// ModelOpt `weight_scale_2`: block scale is multiplied by it.
    Multiplier,
}

/// NVFP4 parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nvfp4Params {
    /// out_features.
    pub n: usize,
    /// in_features (multiple of 16).
    pub k: usize,
    /// The per-tensor scale as stored (global scale or weight_scale_2).
    pub global_scale: f32,
    /// How `global_scale` applies.
    pub convention: GlobalScaleConvention,
}

/// An NVFP4 Linear: packed `U8 [N, K/2]`, `F8_E4M3 [N, K/16]` block scales.
#[derive(Debug, Clone)]
pub struct Nvfp4Linear<'a> {
    /// Layer prefix.
    pub prefix: String,
    /// Parameters.
    pub params: Nvfp4Params,
    /// `weight_packed` (CT) or `weight` (ModelOpt).
    pub packed: QTensor<'a>,
    /// `weight_scale`, F8_E4M3.
    pub block_scale: QTensor<'a>,
}

/// MXFP4 (gpt-oss) parameters: `experts` stacked matrices of `[n, k]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mxfp4Params {
    /// Number of stacked experts (1 for a 2-D tensor).
    pub experts: usize,
    /// Output rows per expert.
    pub n: usize,
    /// Input columns (multiple of 32).
    pub k: usize,
}

/// An MXFP4 tensor pair: `<p>_blocks U8 [.., N, K/32, 16]`, `<p>_scales U8 [.., N, K/32]`.
#[derive(Debug, Clone)]
pub struct Mxfp4Linear<'a> {
    /// Prefix without the `_blocks` suffix.
    pub prefix: String,
    /// Parameters.
    pub params: Mxfp4Params,
    /// Packed E2M1 codes.
    pub blocks: QTensor<'a>,
    /// E8M0 exponents.
    pub scales: QTensor<'a>,
}

/// Granularity of an FP8 weight's scale (quant_formats.md §7.4, §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fp8Granularity {
    /// One scale (`[]` or `[1]`).
    Tensor,
    /// One scale per output row (`[N]` or `[N, 1]`).
    Channel,
    /// One scale per `rows x cols` block, `[ceil(N/rows), ceil(K/cols)]`.
    Block {
        /// Block height.
        rows: usize,
        /// Block width.
        cols: usize,
    },
}

/// FP8 E4M3 parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fp8Params {
    /// out_features.
    pub n: usize,
    /// in_features.
    pub k: usize,
    /// Scale granularity.
    pub granularity: Fp8Granularity,
}

/// An FP8 Linear: `weight F8_E4M3 [N, K]` and its scale (`weight_scale` or `weight_scale_inv`).
#[derive(Debug, Clone)]
pub struct Fp8Linear<'a> {
    /// Layer prefix.
    pub prefix: String,
    /// Parameters.
    pub params: Fp8Params,
    /// F8_E4M3 codes.
    pub weight: QTensor<'a>,
    /// Float scale(s); multiplied in every convention (§9.1).
    pub scale: QTensor<'a>,
}

/// One bound, validated quantized Linear.
#[derive(Debug, Clone)]
pub enum QuantizedLinear<'a> {
    /// GPTQ v1/v2, 2/3/4/8-bit.
    Gptq(GptqLinear<'a>),
    /// AWQ GEMM 4-bit.
    Awq(AwqLinear<'a>),
    /// compressed-tensors pack-quantized int4/int8.
    IntPack(IntPackLinear<'a>),
    /// NVFP4 (compressed-tensors or ModelOpt).
    Nvfp4(Nvfp4Linear<'a>),
    /// MXFP4 (gpt-oss).
    Mxfp4(Mxfp4Linear<'a>),
    /// FP8 E4M3 per-tensor, per-channel or block.
    Fp8(Fp8Linear<'a>),
}

impl QuantizedLinear<'_> {
    /// Rows of the dequantized matrix (experts * N for stacked MXFP4).
    pub fn rows(&self) -> usize {
        match self {
            QuantizedLinear::Gptq(l) => l.params.n,
            QuantizedLinear::Awq(l) => l.params.n,
            QuantizedLinear::IntPack(l) => l.params.n,
            QuantizedLinear::Nvfp4(l) => l.params.n,
            QuantizedLinear::Mxfp4(l) => l.params.experts * l.params.n,
            QuantizedLinear::Fp8(l) => l.params.n,
        }
    }

    /// Columns of the dequantized matrix (in_features K).
    pub fn cols(&self) -> usize {
        match self {
            QuantizedLinear::Gptq(l) => l.params.k,
            QuantizedLinear::Awq(l) => l.params.k,
            QuantizedLinear::IntPack(l) => l.params.k,
            QuantizedLinear::Nvfp4(l) => l.params.k,
            QuantizedLinear::Mxfp4(l) => l.params.k,
            QuantizedLinear::Fp8(l) => l.params.k,
        }
    }

    /// The layer prefix.
    pub fn prefix(&self) -> &str {
        match self {
            QuantizedLinear::Gptq(l) => &l.prefix,
            QuantizedLinear::Awq(l) => &l.prefix,
            QuantizedLinear::IntPack(l) => &l.prefix,
            QuantizedLinear::Nvfp4(l) => &l.prefix,
            QuantizedLinear::Mxfp4(l) => &l.prefix,
            QuantizedLinear::Fp8(l) => &l.prefix,
        }
    }

    /// Short format name as in the `quantization.method` JSON field.
    pub fn method(&self) -> &'static str {
        match self {
            QuantizedLinear::Gptq(_) => "gptq",
            QuantizedLinear::Awq(_) => "awq",
            QuantizedLinear::IntPack(_) => "int-pack",
            QuantizedLinear::Nvfp4(_) => "nvfp4",
            QuantizedLinear::Mxfp4(_) => "mxfp4",
            QuantizedLinear::Fp8(_) => "fp8",
        }
    }
}
