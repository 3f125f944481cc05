//! NVFP4 oracle (quant_formats.md §6.3, §6.4, §7.2, §7.3).

use super::minifloat::{e2m1_to_f32, e4m3fn_to_f32};
use crate::quant::linear::{GlobalScaleConvention, Nvfp4Params};

/// The E2M1 code of element `k` in a row of packed bytes: low nibble = even k (§6.3).
pub fn fp4_code(row: &[u8], k: usize) -> u8 {
    let byte = row[k / 2];
    if k % 2 == 0 {
        byte & 0x0F
    } else {
        byte >> 4
    }
}

/// Dequantizes NVFP4 to f32 `[N, K]`.
///
/// compressed-tensors (§6.4, divisor): `W = e2m1 * (f32(weight_scale) / weight_global_scale)`.
/// ModelOpt (§7.3, multiplier): `W = e2m1 * (f32(weight_scale) * weight_scale_2)`.
/// `packed` U8 `[N, K/2]`, `block_scale` F8_E4M3 `[N, K/16]`.
pub fn dequant_nvfp4(p: &Nvfp4Params, packed: &[u8], block_scale: &[u8]) -> Vec<f32> {
    let (n_out, k_in) = (p.n, p.k);
    let mut w = vec![0f32; n_out * k_in];
    for n in 0..n_out {
        let row = &packed[n * (k_in / 2)..(n + 1) * (k_in / 2)];
        for k in 0..k_in {
            let s = e4m3fn_to_f32(block_scale[n * (k_in / 16) + k / 16]);
            let scale = match p.convention {
                GlobalScaleConvention::Divisor => s / p.global_scale,
                GlobalScaleConvention::Multiplier => s * p.global_scale,
            };
            w[n * k_in + k] = e2m1_to_f32(fp4_code(row, k)) * scale;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_0x92() {
        // §6.3: (+1.0, -0.5) -> codes (0x2, 0x9) -> byte 0x92
        assert_eq!(e2m1_to_f32(fp4_code(&[0x92], 0)), 1.0);
        assert_eq!(e2m1_to_f32(fp4_code(&[0x92], 1)), -0.5);
    }

    #[test]
    fn conventions_differ_by_reciprocal() {
        let packed = vec![0x92u8; 8];
        let scales = vec![0x38u8]; // 1.0
        let d = Nvfp4Params {
            n: 1,
            k: 16,
            global_scale: 4.0,
            convention: GlobalScaleConvention::Divisor,
        };
        let m = Nvfp4Params {
            global_scale: 0.25,
            convention: GlobalScaleConvention::Multiplier,
            ..d
        };
        assert_eq!(
            dequant_nvfp4(&d, &packed, &scales),
            dequant_nvfp4(&m, &packed, &scales)
        );
        assert_eq!(dequant_nvfp4(&d, &packed, &scales)[0], 0.25);
    }
}
