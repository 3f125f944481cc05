//! compressed-tensors `pack-quantized` oracle (quant_formats.md §5.3–§5.4).

use crate::dtype::Dtype;
use crate::quant::linear::{float_at, i32_at, word_at, IntPackParams};

/// Dequantizes pack-quantized tensors to f32 `[N, K]` (§5.4):
/// symmetric `W = s[n,g] * (u - 2^(b-1))`, asymmetric `W = s[n,g] * (u - uz[n,g])`.
///
/// `packed` I32 `[N, ceil(K/pf)]` (along K), `scale` `[N, groups]`, `zero_point` I32
/// `[ceil(N/pf), groups]` (along N), `g_idx` I32 `[K]`.
pub fn dequant_intpack(
    p: &IntPackParams,
    packed: &[u8],
    scale: &[u8],
    scale_dtype: Dtype,
    zero_point: Option<&[u8]>,
    g_idx: Option<&[u8]>,
) -> Vec<f32> {
    let (n_out, k_in, b) = (p.n, p.k, p.bits);
    let pf = p.per_word();
    let words_per_row = k_in.div_ceil(pf);
    let groups = p.groups();
    let mask = (1u32 << b) - 1;
    let offset = 1i32 << (b - 1);
    let mut w = vec![0f32; n_out * k_in];
    for n in 0..n_out {
        for k in 0..k_in {
            let g = match (g_idx, p.group_size) {
                (Some(gi), _) => i32_at(gi, k) as usize,
                (None, Some(gs)) => k / gs,
                (None, None) => 0,
            };
            let u = ((word_at(packed, n * words_per_row + k / pf) >> (b as usize * (k % pf)))
                & mask) as i32;
            let z = match zero_point {
                // zero points are packed along dim 0 (N): word row n/pf, field n%pf
                Some(zp) => {
                    ((word_at(zp, (n / pf) * groups + g) >> (b as usize * (n % pf))) & mask) as i32
                }
                None => offset,
            };
            let s = float_at(scale_dtype, scale, n * groups + g);
            w[n * k_in + k] = s * (u - z) as f32;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_0xfedcba98() {
        // §5.3: 4-bit sym codes 0..7 -> u = 8..15 -> 0xFEDCBA98
        let p = IntPackParams {
            n: 1,
            k: 8,
            bits: 4,
            group_size: None,
            symmetric: true,
        };
        let w = dequant_intpack(
            &p,
            &0xFEDC_BA98u32.to_le_bytes(),
            &1f32.to_le_bytes(),
            Dtype::F32,
            None,
            None,
        );
        assert_eq!(w, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
    }
}
