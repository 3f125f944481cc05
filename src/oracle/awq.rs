//! AWQ GEMM oracle (quant_formats.md §3.3–§3.4).

use crate::dtype::Dtype;
use crate::quant::linear::{float_at, word_at, AwqParams};

/// Pack order: nibble slot `i` holds column `8j + AWQ_ORDER[i]` (§3.3).
pub const AWQ_ORDER: [usize; 8] = [0, 2, 4, 6, 1, 3, 5, 7];
/// Unpack order: column `c` of a word is in slot `AWQ_REVERSE_ORDER[c]` (§3.3).
pub const AWQ_REVERSE_ORDER: [usize; 8] = [0, 4, 1, 5, 2, 6, 3, 7];

/// The 4-bit value of column `n` in a row of interleaved words `word(j)` (packed along N).
pub fn awq_field(word: impl Fn(usize) -> u32, n: usize) -> u32 {
    let slot = AWQ_REVERSE_ORDER[n % 8];
    (word(n / 8) >> (4 * slot)) & 0xF
}

/// Dequantizes AWQ GEMM tensors to f32 `[N, K]` (§3.4):
/// `W[n,k] = scales[k/G, n] * (q[k,n] - z[k/G, n])`, zeros stored without offset.
///
/// `qweight` I32 `[K, N/8]`, `qzeros` I32 `[K/G, N/8]`, `scales` `[K/G, N]`.
pub fn dequant_awq(
    p: &AwqParams,
    qweight: &[u8],
    qzeros: &[u8],
    scales: &[u8],
    scales_dtype: Dtype,
) -> Vec<f32> {
    let (n_out, k_in) = (p.n, p.k);
    let words_per_row = n_out / 8;
    let mut w = vec![0f32; n_out * k_in];
    for n in 0..n_out {
        for k in 0..k_in {
            let g = k / p.group_size;
            let q = awq_field(|j| word_at(qweight, k * words_per_row + j), n) as i32;
            let z = awq_field(|j| word_at(qzeros, g * words_per_row + j), n) as i32;
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
    fn known_answer_0x75316420() {
        // §3.3: column values 0..7 -> word 0x75316420
        let w = 0x7531_6420u32;
        let got: Vec<u32> = (0..8).map(|c| awq_field(|_| w, c)).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn orders_are_inverse() {
        for c in 0..8 {
            assert_eq!(AWQ_ORDER[AWQ_REVERSE_ORDER[c]], c);
        }
    }
}
