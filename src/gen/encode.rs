//! Encoders from f32 to the small float formats, as quantizers use them: round to nearest,
//! ties to even, saturating at the format's largest finite value (quant_formats.md §1.2:
//! "quantizers clamp to ±448 before casting").

use crate::oracle::minifloat::{e2m1_to_f32, e4m3fn_to_f32};
use std::sync::OnceLock;

/// Nearest code among `codes` (sorted by increasing non-negative value) to `|x|`, ties to the
/// even code, saturating at the largest.
fn nearest(values: &[f32], mag: f32) -> usize {
    // first index whose value is >= mag
    let hi = values.partition_point(|&v| v < mag);
    if hi == 0 {
        return 0;
    }
    if hi == values.len() {
        return values.len() - 1;
    }
    let lo = hi - 1;
    let (dl, dh) = (mag - values[lo], values[hi] - mag);
    if dl < dh || (dl == dh && lo % 2 == 0) {
        lo
    } else {
        hi
    }
}

fn e4m3_positive() -> &'static [f32] {
    static T: OnceLock<Vec<f32>> = OnceLock::new();
    T.get_or_init(|| (0..0x7Fu8).map(e4m3fn_to_f32).collect())
}

/// f32 -> E4M3FN code: round-to-nearest-even, saturating to ±448; NaN encodes as 0x7F.
pub fn f32_to_e4m3fn(x: f32) -> u8 {
    if x.is_nan() {
        return 0x7F;
    }
    let sign = if x.is_sign_negative() { 0x80 } else { 0 };
    sign | nearest(e4m3_positive(), x.abs()) as u8
}

/// f32 -> E2M1 code: round-to-nearest-even over `{0, .5, 1, 1.5, 2, 3, 4, 6}`, saturating at 6.
pub fn f32_to_e2m1(x: f32) -> u8 {
    let mags: [f32; 8] = std::array::from_fn(|c| e2m1_to_f32(c as u8));
    let sign = if x.is_sign_negative() { 0x8 } else { 0 };
    sign | nearest(&mags, x.abs()) as u8
}

/// The E8M0 exponent an MXFP4 encoder picks for a block with largest magnitude `amax`:
/// `floor(log2(amax)) - 2 + 127` (quant_formats.md §1.4), clamped to `[0, 254]`; an all-zero
/// block gets 127 (scale 1.0).
pub fn e8m0_for_amax(amax: f32) -> u8 {
    if amax == 0.0 || !amax.is_finite() {
        return 127;
    }
    // exact floor(log2) from the f32 exponent field (subnormals: leading-zero count)
    let bits = amax.to_bits();
    let exp = ((bits >> 23) & 0xFF) as i32;
    let floor_log2 = if exp == 0 {
        -126 - (bits & 0x7F_FFFF).leading_zeros() as i32 + 9 - 1
    } else {
        exp - 127
    };
    (floor_log2 - 2 + 127).clamp(0, 254) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e4m3_round_trips_every_finite_code() {
        for c in 0..=255u8 {
            if c & 0x7F != 0x7F {
                assert_eq!(f32_to_e4m3fn(e4m3fn_to_f32(c)), c, "code {c:#x}");
            }
        }
    }

    #[test]
    fn e4m3_saturates_and_ties_to_even() {
        assert_eq!(f32_to_e4m3fn(1e9), 0x7E);
        assert_eq!(f32_to_e4m3fn(-500.0), 0xFE);
        // 1.0 (0x38) and 1.125 (0x39): midpoint 1.0625 goes to even 0x38
        assert_eq!(f32_to_e4m3fn(1.0625), 0x38);
        // 1.125 and 1.25 (0x3A): midpoint 1.1875 goes to even 0x3A
        assert_eq!(f32_to_e4m3fn(1.1875), 0x3A);
    }

    #[test]
    fn e2m1_round_trips_and_rounds() {
        for c in 0..16u8 {
            assert_eq!(f32_to_e2m1(e2m1_to_f32(c)), c);
        }
        assert_eq!(f32_to_e2m1(2.5), 0x4); // tie 2 vs 3 -> even code 4 (2.0)
        assert_eq!(f32_to_e2m1(5.0), 0x6); // tie 4 vs 6 -> even code 6 (4.0)
        assert_eq!(f32_to_e2m1(100.0), 0x7);
        assert_eq!(f32_to_e2m1(-0.3), 0x9);
    }

    #[test]
    fn e8m0_choice() {
        assert_eq!(e8m0_for_amax(6.0), 127); // floor(log2 6) = 2
        assert_eq!(e8m0_for_amax(1.0), 125);
        assert_eq!(e8m0_for_amax(0.0), 127);
        assert_eq!(e8m0_for_amax(f32::from_bits(1)), 0); // 2^-149 clamps
    }
}
