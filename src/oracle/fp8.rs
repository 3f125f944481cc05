//! FP8 E4M3 oracle (quant_formats.md §7.4, §9.1–§9.3).

use super::minifloat::e4m3fn_to_f32;
use crate::dtype::Dtype;
use crate::quant::linear::{float_at, Fp8Granularity, Fp8Params};

/// Index of the scale that applies to weight `(n, k)`.
pub fn fp8_scale_index(p: &Fp8Params, n: usize, k: usize) -> usize {
    match p.granularity {
        Fp8Granularity::Tensor => 0,
        Fp8Granularity::Channel => n,
        // §9.1: [ceil(N/rows), ceil(K/cols)], ragged edge blocks share the edge scale
        Fp8Granularity::Block { rows, cols } => (n / rows) * p.k.div_ceil(cols) + k / cols,
    }
}

/// Dequantizes FP8 to f32 `[N, K]`: `W = e4m3(weight[n,k]) * scale` (multiply in every
/// convention, including DeepSeek's `weight_scale_inv`, §9.1).
pub fn dequant_fp8(p: &Fp8Params, weight: &[u8], scale: &[u8], scale_dtype: Dtype) -> Vec<f32> {
    let mut w = vec![0f32; p.n * p.k];
    for n in 0..p.n {
        for k in 0..p.k {
            let s = float_at(scale_dtype, scale, fp8_scale_index(p, n, k));
            w[n * p.k + k] = e4m3fn_to_f32(weight[n * p.k + k]) * s;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_scales_cover_ragged_edges() {
        let p = Fp8Params {
            n: 3,
            k: 5,
            granularity: Fp8Granularity::Block { rows: 2, cols: 2 },
        };
        let weight = vec![0x38u8; 15]; // 1.0
        let scales: Vec<u8> = (1..=6).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let w = dequant_fp8(&p, &weight, &scales, Dtype::F32);
        assert_eq!(
            w,
            vec![1., 1., 2., 2., 3., 1., 1., 2., 2., 3., 4., 4., 5., 5., 6.]
        );
    }
}
