//! MXFP4 (gpt-oss) oracle (quant_formats.md §8.3).

use super::minifloat::{e2m1_to_f32, e8m0_to_f32};
use super::nvfp4::fp4_code;
use crate::quant::linear::Mxfp4Params;

/// Dequantizes MXFP4 to f32 `[experts * N, K]`:
/// `W[r,k] = e2m1(code) * 2^(scales[r, k/32] - 127)`; a `0xFF` scale decodes to NaN
/// (§1.4) and so does every weight of its block.
/// `blocks` U8 `[experts, N, K/32, 16]`, `scales` U8 `[experts, N, K/32]`.
pub fn dequant_mxfp4(p: &Mxfp4Params, blocks: &[u8], scales: &[u8]) -> Vec<f32> {
    let rows = p.experts * p.n;
    let k_in = p.k;
    let mut w = vec![0f32; rows * k_in];
    for r in 0..rows {
        // blocks row r is K/32 blocks of 16 bytes: byte (k/32)*16 + (k%32)/2 = k/2
        let row = &blocks[r * (k_in / 2)..(r + 1) * (k_in / 2)];
        for k in 0..k_in {
            let x = e8m0_to_f32(scales[r * (k_in / 32) + k / 32]);
            w[r * k_in + k] = e2m1_to_f32(fp4_code(row, k)) * x;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_applies_per_32_and_nan_scale_poisons_block() {
        let p = Mxfp4Params {
            experts: 1,
            n: 1,
            k: 64,
        };
        let blocks = vec![0x92u8; 32];
        let w = dequant_mxfp4(&p, &blocks, &[0x80, 0xFF]); // 2.0, NaN
        assert_eq!(w[0], 2.0);
        assert_eq!(w[1], -1.0);
        assert!(w[32..].iter().all(|v| v.is_nan()));
    }
}
