//! Glue between the quantization layer (`crate::quant`, `crate::oracle`, `crate::fast`) and
//! the GPU side: a bound [`QuantizedLinear`] becomes a [`Packed`] for upload, and a
//! generated [`Fixture`] becomes a [`QuantizedLinear`] so the oracle and the fast CPU path
//! can decode exactly the bytes the kernels see.

use super::dequant::{Fp8Scaling, Nvfp4Convention, Packed, ScaleDtype};
use super::error::{GpuError, GpuResult};
use super::fixtures::{Fixture, Spec};
use crate::dtype::Dtype;
use crate::quant::linear::{
    AwqLinear, AwqParams, Fp8Granularity, Fp8Linear, Fp8Params, GlobalScaleConvention, GptqLinear,
    GptqParams, IntPackLinear, IntPackParams, Mxfp4Linear, Mxfp4Params, Nvfp4Linear, Nvfp4Params,
    QTensor, QuantizedLinear,
};

fn scale_dtype(kernel: &str, d: Dtype) -> GpuResult<ScaleDtype> {
    match d {
        Dtype::F16 => Ok(ScaleDtype::F16),
        Dtype::BF16 => Ok(ScaleDtype::Bf16),
        Dtype::F32 => Ok(ScaleDtype::F32),
        other => Err(GpuError::bad_args(
            kernel,
            format!("scale dtype {other:?} is not F16, BF16 or F32"),
        )),
    }
}

fn dtype_of(s: ScaleDtype) -> Dtype {
    match s {
        ScaleDtype::F16 => Dtype::F16,
        ScaleDtype::Bf16 => Dtype::BF16,
        ScaleDtype::F32 => Dtype::F32,
    }
}

/// The GPU view of a bound layer (no copies: the bytes stay where binding found them).
pub fn packed_from_linear<'a>(l: &QuantizedLinear<'a>) -> GpuResult<Packed<'a>> {
    Ok(match l {
        QuantizedLinear::Gptq(g) => Packed::Gptq {
            bits: g.params.bits,
            n: g.params.n,
            k: g.params.k,
            group_size: g.params.group_size,
            v1: g.params.v1,
            qweight: g.qweight.data,
            qzeros: g.qzeros.data,
            scales: g.scales.data,
            scale_dtype: scale_dtype("gptq", g.scales.dtype)?,
            g_idx: g.g_idx.as_ref().map(|t| t.data),
            groups: g.params.groups(),
        },
        QuantizedLinear::Awq(a) => Packed::Awq {
            n: a.params.n,
            k: a.params.k,
            group_size: a.params.group_size,
            qweight: a.qweight.data,
            qzeros: a.qzeros.data,
            scales: a.scales.data,
            scale_dtype: scale_dtype("awq", a.scales.dtype)?,
        },
        QuantizedLinear::IntPack(c) => Packed::CtPacked {
            bits: c.params.bits,
            n: c.params.n,
            k: c.params.k,
            group_size: c.params.group_size.unwrap_or(c.params.k),
            groups: c.params.groups(),
            packed: c.weight_packed.data,
            scales: c.weight_scale.data,
            scale_dtype: scale_dtype("ct", c.weight_scale.dtype)?,
            zero_point: c.weight_zero_point.as_ref().map(|t| t.data),
            g_idx: c.weight_g_idx.as_ref().map(|t| t.data),
        },
        QuantizedLinear::Nvfp4(v) => Packed::Nvfp4 {
            rows: v.params.n,
            k: v.params.k,
            convention: match v.params.convention {
                GlobalScaleConvention::Multiplier => Nvfp4Convention::Multiplier,
                GlobalScaleConvention::Divisor => Nvfp4Convention::Divisor,
            },
            weight: v.packed.data,
            weight_scale: v.block_scale.data,
            global: vec![v.params.global_scale],
            rows_per_global: v.params.n,
        },
        QuantizedLinear::Mxfp4(m) => Packed::Mxfp4 {
            experts: m.params.experts,
            rows: m.params.n,
            k: m.params.k,
            blocks: m.blocks.data,
            scales: m.scales.data,
        },
        QuantizedLinear::Fp8(f) => Packed::Fp8 {
            n: f.params.n,
            k: f.params.k,
            scaling: match f.params.granularity {
                Fp8Granularity::Tensor => Fp8Scaling::Tensor,
                Fp8Granularity::Channel => Fp8Scaling::Channel,
                Fp8Granularity::Block { rows, cols } => Fp8Scaling::Block { rows, cols },
            },
            weight: f.weight.data,
            scale: f.scale.data,
            scale_dtype: scale_dtype("fp8", f.scale.dtype)?,
        },
    })
}

/// Uploads a bound layer (typically views of a memory-mapped file) through `uploader`:
/// page-aligned tensors are copied once from their mapping, the others through pinned
/// staging (see [`super::upload`]).
pub fn upload_linear(
    uploader: &mut super::upload::Uploader<'_>,
    l: &QuantizedLinear<'_>,
) -> GpuResult<super::dequant::DevicePacked> {
    packed_from_linear(l)?.upload_with(uploader)
}

fn t<'a>(name: &str, dtype: Dtype, shape: &[usize], data: &'a [u8]) -> QTensor<'a> {
    QTensor {
        name: format!("fixture.{name}"),
        dtype,
        shape: shape.iter().map(|&d| d as u64).collect(),
        data,
    }
}

/// The fixture as the quantization layer's typed layer (borrowing the fixture's bytes).
pub fn linear_of(fx: &Fixture) -> QuantizedLinear<'_> {
    let d = &fx.data;
    let prefix = "fixture".to_string();
    match fx.spec {
        Spec::Gptq {
            bits,
            n,
            k,
            group,
            v1,
            act_order,
            scale_dtype,
        } => {
            let g = group.unwrap_or(k);
            let groups = k.div_ceil(g);
            let b = bits as usize;
            QuantizedLinear::Gptq(GptqLinear {
                prefix,
                params: GptqParams {
                    n,
                    k,
                    bits,
                    group_size: g,
                    v1,
                },
                qweight: t("qweight", Dtype::I32, &[k * b / 32, n], &d[0]),
                qzeros: t("qzeros", Dtype::I32, &[groups, n * b / 32], &d[1]),
                scales: t("scales", dtype_of(scale_dtype), &[groups, n], &d[2]),
                g_idx: act_order.then(|| t("g_idx", Dtype::I32, &[k], &d[3])),
            })
        }
        Spec::Awq {
            n,
            k,
            group,
            scale_dtype,
        } => {
            let g = group.unwrap_or(k);
            QuantizedLinear::Awq(AwqLinear {
                prefix,
                params: AwqParams {
                    n,
                    k,
                    group_size: g,
                },
                qweight: t("qweight", Dtype::I32, &[k, n / 8], &d[0]),
                qzeros: t("qzeros", Dtype::I32, &[k / g, n / 8], &d[1]),
                scales: t("scales", dtype_of(scale_dtype), &[k / g, n], &d[2]),
            })
        }
        Spec::Nvfp4 { n, k, convention } => QuantizedLinear::Nvfp4(Nvfp4Linear {
            prefix,
            params: Nvfp4Params {
                n,
                k,
                global_scale: fx.global,
                convention: match convention {
                    Nvfp4Convention::Multiplier => GlobalScaleConvention::Multiplier,
                    Nvfp4Convention::Divisor => GlobalScaleConvention::Divisor,
                },
            },
            packed: t("weight", Dtype::U8, &[n, k / 2], &d[0]),
            block_scale: t("weight_scale", Dtype::F8_E4M3, &[n, k / 16], &d[1]),
        }),
        Spec::Mxfp4 { experts, n, k } => QuantizedLinear::Mxfp4(Mxfp4Linear {
            prefix,
            params: Mxfp4Params { experts, n, k },
            blocks: t("blocks", Dtype::U8, &[experts, n, k / 32, 16], &d[0]),
            scales: t("scales", Dtype::U8, &[experts, n, k / 32], &d[1]),
        }),
        Spec::Fp8 {
            n,
            k,
            scaling,
            scale_dtype,
        } => {
            let (granularity, shape) = match scaling {
                Fp8Scaling::Tensor => (Fp8Granularity::Tensor, vec![1]),
                Fp8Scaling::Channel => (Fp8Granularity::Channel, vec![n, 1]),
                Fp8Scaling::Block { rows, cols } => (
                    Fp8Granularity::Block { rows, cols },
                    vec![n.div_ceil(rows), k.div_ceil(cols)],
                ),
            };
            QuantizedLinear::Fp8(Fp8Linear {
                prefix,
                params: Fp8Params { n, k, granularity },
                weight: t("weight", Dtype::F8_E4M3, &[n, k], &d[0]),
                scale: t("weight_scale", dtype_of(scale_dtype), &shape, &d[1]),
            })
        }
        Spec::Ct {
            bits,
            n,
            k,
            group,
            symmetric,
            act_order,
            scale_dtype,
        } => {
            let pf = 32 / bits as usize;
            let groups = group.map_or(1, |g| k.div_ceil(g));
            let mut next = 2;
            let zp = (!symmetric).then(|| {
                next += 1;
                t(
                    "weight_zero_point",
                    Dtype::I32,
                    &[n.div_ceil(pf), groups],
                    &d[2],
                )
            });
            let gi = act_order.then(|| t("weight_g_idx", Dtype::I32, &[k], &d[next]));
            QuantizedLinear::IntPack(IntPackLinear {
                prefix,
                params: IntPackParams {
                    n,
                    k,
                    bits,
                    group_size: group,
                    symmetric,
                },
                weight_packed: t("weight_packed", Dtype::I32, &[n, k.div_ceil(pf)], &d[0]),
                weight_scale: t("weight_scale", dtype_of(scale_dtype), &[n, groups], &d[1]),
                weight_zero_point: zp,
                weight_g_idx: gi,
            })
        }
    }
}

/// The oracle's dequantization of a fixture (`crate::oracle::dequant`).
pub fn oracle(fx: &Fixture) -> Vec<f32> {
    crate::oracle::dequant(&linear_of(fx))
}

/// The fast CPU path's dequantization of a fixture (`crate::fast::dequant`).
pub fn fast(fx: &Fixture) -> Vec<f32> {
    crate::fast::dequant(&linear_of(fx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cuda::fixtures::{dequant_cases, Extremes};

    #[test]
    fn fixture_and_linear_round_trip_to_the_same_packed_bytes() {
        for (i, (spec, ex)) in dequant_cases().into_iter().enumerate().step_by(7) {
            let fx = Fixture::generate(spec, ex, i as u64);
            let a = fx.packed();
            let l = linear_of(&fx);
            let b = packed_from_linear(&l).unwrap();
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{spec:?}");
            assert_eq!(
                crate::oracle::dequant(&l).len(),
                a.out_shape().0 * a.out_shape().1
            );
        }
    }

    #[test]
    fn cpu_conformance_fast_path_matches_oracle_on_every_case() {
        let results = crate::cuda::conformance::run_cpu_dequant(&oracle, &fast, 1);
        let failed: Vec<_> = results.iter().filter(|r| !r.passed()).collect();
        assert!(failed.is_empty(), "{failed:#?}");
        assert!(results.iter().any(|r| r.extremes == Extremes::Nan));
    }
}
