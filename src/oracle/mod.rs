//! Reference dequantization oracles: one spec-literal, scalar function per format.
//!
//! Written for obviousness, not speed: every loop visits `(n, k)` and evaluates the
//! spec's formula for that single weight. [`crate::fast`] must equal these bit for bit.
//!
//! Each format has a raw-slice entry point (parameters plus the tensors' bytes) that a
//! conformance suite can call without the binding layer:
//! [`gptq::dequant_gptq`], [`awq::dequant_awq`], [`intpack::dequant_intpack`],
//! [`nvfp4::dequant_nvfp4`], [`mxfp4::dequant_mxfp4`], [`fp8::dequant_fp8`].
//! All return the weight as f32 `[rows, K]` row-major (`nn.Linear` orientation).

pub mod awq;
pub mod fp8;
pub mod gptq;
pub mod intpack;
pub mod minifloat;
pub mod mxfp4;
pub mod nvfp4;

use crate::quant::QuantizedLinear;

/// Dequantizes a bound Linear to f32 `[rows, K]`, row-major.
pub fn dequant(layer: &QuantizedLinear<'_>) -> Vec<f32> {
    match layer {
        QuantizedLinear::Gptq(l) => gptq::dequant_gptq(
            &l.params,
            l.qweight.data,
            l.qzeros.data,
            l.scales.data,
            l.scales.dtype,
            l.g_idx.as_ref().map(|t| t.data),
        ),
        QuantizedLinear::Awq(l) => awq::dequant_awq(
            &l.params,
            l.qweight.data,
            l.qzeros.data,
            l.scales.data,
            l.scales.dtype,
        ),
        QuantizedLinear::IntPack(l) => intpack::dequant_intpack(
            &l.params,
            l.weight_packed.data,
            l.weight_scale.data,
            l.weight_scale.dtype,
            l.weight_zero_point.as_ref().map(|t| t.data),
            l.weight_g_idx.as_ref().map(|t| t.data),
        ),
        QuantizedLinear::Nvfp4(l) => {
            nvfp4::dequant_nvfp4(&l.params, l.packed.data, l.block_scale.data)
        }
        QuantizedLinear::Mxfp4(l) => mxfp4::dequant_mxfp4(&l.params, l.blocks.data, l.scales.data),
        QuantizedLinear::Fp8(l) => {
            fp8::dequant_fp8(&l.params, l.weight.data, l.scale.data, l.scale.dtype)
        }
    }
}
