//! GPTQ oracle (quant_formats.md §2.3–§2.6).

use crate::dtype::Dtype;
use crate::quant::linear::{float_at, i32_at, word_at, GptqParams};

/// Field `i` of a continuous LSB-first stream of `bits`-bit fields, where the stream's
/// 32-bit word `j` is `word(j)`. For b in {2,4,8} this is word `i/pf`, shift `b*(i%pf)`
/// (§2.3); for b = 3 the fields at positions 10 and 21 of each 32-value group straddle two
/// words (§2.4), which this reads across the boundary.
pub fn stream_field(word: impl Fn(usize) -> u32, i: usize, bits: u32) -> u32 {
    let bit = i * bits as usize;
    let (j, off) = (bit / 32, (bit % 32) as u32);
    let mask = (1u64 << bits) - 1;
    let mut v = u64::from(word(j)) >> off;
    if off + bits > 32 {
        v |= u64::from(word(j + 1)) << (32 - off);
    }
    (v & mask) as u32
}

/// Dequantizes GPTQ tensors to f32 `[N, K]` (§2.6):
/// `W[n,k] = scales[g,n] * (q(k,n) - (z(g,n) + v1))`, `g = g_idx[k]` or `k / G'`.
///
/// `qweight` I32 `[K*b/32, N]` (packed along K), `qzeros` I32 `[groups, N*b/32]` (packed
/// along N), `scales` `[groups, N]` in `scales_dtype` (F16, BF16 or F32), `g_idx` I32 `[K]`.
pub fn dequant_gptq(
    p: &GptqParams,
    qweight: &[u8],
    qzeros: &[u8],
    scales: &[u8],
    scales_dtype: Dtype,
    g_idx: Option<&[u8]>,
) -> Vec<f32> {
    let (n_out, k_in, b) = (p.n, p.k, p.bits);
    let zero_words_per_row = n_out * b as usize / 32;
    let mut w = vec![0f32; n_out * k_in];
    for n in 0..n_out {
        for k in 0..k_in {
            let g = match g_idx {
                Some(gi) => i32_at(gi, k) as usize,
                None => k / p.group_size,
            };
            // qweight column n is a stream running down the rows (packed along K).
            let q = stream_field(|r| word_at(qweight, r * n_out + n), k, b) as i32;
            // qzeros row g is a stream running along the columns (packed along N).
            let z_stored =
                stream_field(|j| word_at(qzeros, g * zero_words_per_row + j), n, b) as i32;
            // §2.5: v1 stores zero - 1; readers add 1 back, in i32 with no wrap.
            let z = z_stored + i32::from(p.v1);
            let s = float_at(scales_dtype, scales, g * n_out + n);
            w[n * k_in + k] = s * (q - z) as f32;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_bit_known_answer_0x87654321() {
        // §2.3: codes q[k=0..7] = 1..8 -> word 0x87654321
        let w = 0x8765_4321u32;
        let got: Vec<u32> = (0..8).map(|i| stream_field(|_| w, i, 4)).collect();
        assert_eq!(got, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn three_bit_known_answer_stream() {
        // §2.4: v_i = i % 8 -> 0x88FAC688, 0xC688FAC6, 0xFAC688FA
        let words = [0x88FA_C688u32, 0xC688_FAC6, 0xFAC6_88FA];
        for i in 0..32 {
            assert_eq!(
                stream_field(|j| words[j], i, 3),
                (i % 8) as u32,
                "value {i}"
            );
        }
    }

    #[test]
    fn v1_sym_zero_word_decodes_to_eight() {
        // §2.5: sym 4-bit v1 qzeros words are 0x77777777; true zero = 7 + 1 = 8.
        let p = GptqParams {
            n: 8,
            k: 8,
            bits: 4,
            group_size: 8,
            v1: true,
        };
        let mut qweight = Vec::new();
        for _ in 0..8 {
            qweight.extend_from_slice(&0x8765_4321u32.to_le_bytes()); // column n: codes 1..8
        }
        let qzeros = 0x7777_7777u32.to_le_bytes();
        let scales: Vec<u8> = (0..8)
            .flat_map(|_| half::f16::from_f32(0.5).to_le_bytes())
            .collect();
        let w = dequant_gptq(&p, &qweight, &qzeros, &scales, Dtype::F16, None);
        for n in 0..8 {
            for k in 0..8 {
                assert_eq!(w[n * 8 + k], 0.5 * (k as f32 + 1.0 - 8.0));
            }
        }
        // The same bytes read as v2 shift every weight by one scale step.
        let w2 = dequant_gptq(
            &GptqParams { v1: false, ..p },
            &qweight,
            &qzeros,
            &scales,
            Dtype::F16,
            None,
        );
        assert_eq!(w2[0], 0.5 * (1.0 - 7.0));
    }
}
