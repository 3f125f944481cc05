//! Spec-literal decoders of the small float formats used by quantized checkpoints
//! (quant_formats.md §1). Each decoder follows the spec's formula term by term; powers of
//! two are computed in f64 (exact for every exponent used here) and rounded once to f32,
//! which is exact because every value of these formats is representable in f32.

/// `2^e` as f64, exact for `-1022 <= e <= 1023`.
fn pow2(e: i32) -> f64 {
    2f64.powi(e)
}

/// FP4 E2M1 (quant_formats.md §1.1): layout `s e1 e0 m`, bias 1, no Inf, no NaN.
/// Only the low four bits of `code` are read.
pub fn e2m1_to_f32(code: u8) -> f32 {
    let code = code & 0x0F;
    let s = if code & 0x8 != 0 { -1.0 } else { 1.0 };
    let e = i32::from((code >> 1) & 0x3);
    let m = f64::from(code & 0x1);
    let v = if e == 0 {
        // §1.1: e == 0 -> (-1)^s * 0.5 * m
        s * 0.5 * m
    } else {
        // §1.1: otherwise (-1)^s * 2^(e-1) * (1 + m/2)
        s * pow2(e - 1) * (1.0 + m / 2.0)
    };
    v as f32
}

/// FP8 E4M3FN, SafeTensors `F8_E4M3` (quant_formats.md §1.2): `s eeee mmm`, bias 7,
/// no Inf, NaN at `0x7F` and `0xFF`.
pub fn e4m3fn_to_f32(code: u8) -> f32 {
    let s = if code & 0x80 != 0 { -1.0 } else { 1.0 };
    let e = i32::from((code >> 3) & 0xF);
    let m = f64::from(code & 0x7);
    if e == 15 && m == 7.0 {
        return f32::NAN;
    }
    let v = if e == 0 {
        s * pow2(-6) * (m / 8.0)
    } else {
        s * pow2(e - 7) * (1.0 + m / 8.0)
    };
    v as f32
}

/// FP8 E4M3FNUZ, SafeTensors `F8_E4M3FNUZ` (quant_formats.md §1.5): bias 8, the single NaN
/// is `0x80`, no negative zero, no Inf.
pub fn e4m3fnuz_to_f32(code: u8) -> f32 {
    if code == 0x80 {
        return f32::NAN;
    }
    let s = if code & 0x80 != 0 { -1.0 } else { 1.0 };
    let e = i32::from((code >> 3) & 0xF);
    let m = f64::from(code & 0x7);
    let v = if e == 0 {
        s * pow2(-7) * (m / 8.0)
    } else {
        s * pow2(e - 8) * (1.0 + m / 8.0)
    };
    v as f32
}

/// FP8 E5M2, SafeTensors `F8_E5M2` (quant_formats.md §1.3): `s eeeee mm`, bias 15,
/// IEEE-like: `e == 31` is Inf (m == 0) or NaN.
pub fn e5m2_to_f32(code: u8) -> f32 {
    let neg = code & 0x80 != 0;
    let s = if neg { -1.0 } else { 1.0 };
    let e = i32::from((code >> 2) & 0x1F);
    let m = f64::from(code & 0x3);
    if e == 31 {
        if m == 0.0 {
            return if neg {
                f32::NEG_INFINITY
            } else {
                f32::INFINITY
            };
        }
        return f32::NAN;
    }
    let v = if e == 0 {
        s * pow2(-14) * (m / 4.0)
    } else {
        s * pow2(e - 15) * (1.0 + m / 4.0)
    };
    v as f32
}

/// E8M0 shared scale (quant_formats.md §1.4): `2^(e-127)`, no zero, no Inf, `0xFF` = NaN.
pub fn e8m0_to_f32(code: u8) -> f32 {
    if code == 0xFF {
        return f32::NAN;
    }
    pow2(i32::from(code) - 127) as f32
}

/// The 16 E2M1 values in code order, as printed in quant_formats.md §1.1.
pub const E2M1_TABLE: [f32; 16] = [
    0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// An independent decoder: builds the f32 bit pattern directly from the fields.
    fn via_bits(code: u8, ebits: u32, mbits: u32, bias: i32) -> f32 {
        let s = u32::from(code >> (ebits + mbits)) & 1;
        let e = (u32::from(code) >> mbits) & ((1 << ebits) - 1);
        let m = u32::from(code) & ((1 << mbits) - 1);
        let mag = if e == 0 {
            // subnormal: m * 2^(1-bias-mbits), exact as an f32 multiple of a power of two
            m as f32 * f32::from_bits(((1 - bias - mbits as i32 + 127) as u32) << 23)
        } else {
            f32::from_bits((((e as i32 - bias + 127) as u32) << 23) | (m << (23 - mbits)))
        };
        if s == 1 {
            -mag
        } else {
            mag
        }
    }

    #[test]
    fn e2m1_every_code_matches_spec_table() {
        for c in 0..16u8 {
            let got = e2m1_to_f32(c);
            assert_eq!(
                got.to_bits(),
                E2M1_TABLE[c as usize].to_bits(),
                "code {c:#x}"
            );
            assert_eq!(got.to_bits(), via_bits(c, 2, 1, 1).to_bits(), "code {c:#x}");
        }
        // upper bits are ignored
        assert_eq!(e2m1_to_f32(0xF2), 1.0);
    }

    #[test]
    fn e4m3fn_every_code() {
        for c in 0..=255u8 {
            let got = e4m3fn_to_f32(c);
            if c & 0x7F == 0x7F {
                assert!(got.is_nan(), "code {c:#x}");
            } else {
                assert_eq!(got.to_bits(), via_bits(c, 4, 3, 7).to_bits(), "code {c:#x}");
            }
        }
        assert_eq!(e4m3fn_to_f32(0x7E), 448.0);
        assert_eq!(e4m3fn_to_f32(0x38), 1.0);
        assert_eq!(e4m3fn_to_f32(0x01), 2f32.powi(-9));
        assert_eq!(e4m3fn_to_f32(0x08), 2f32.powi(-6));
        assert_eq!(e4m3fn_to_f32(0x80).to_bits(), (-0.0f32).to_bits());
        assert_eq!(
            (0..=255u8).filter(|&c| e4m3fn_to_f32(c).is_nan()).count(),
            2
        );
    }

    #[test]
    fn e4m3fnuz_every_code() {
        for c in 0..=255u8 {
            let got = e4m3fnuz_to_f32(c);
            if c == 0x80 {
                assert!(got.is_nan());
            } else {
                assert_eq!(got.to_bits(), via_bits(c, 4, 3, 8).to_bits(), "code {c:#x}");
                assert!(got.is_finite());
            }
        }
        assert_eq!(e4m3fnuz_to_f32(0x7F), 240.0);
        assert_eq!(e4m3fnuz_to_f32(0x40), 1.0);
    }

    #[test]
    fn e5m2_every_code() {
        for c in 0..=255u8 {
            let got = e5m2_to_f32(c);
            match c & 0x7F {
                0x7C => assert!(got.is_infinite() && (got < 0.0) == (c >= 0x80)),
                0x7D..=0x7F => assert!(got.is_nan(), "code {c:#x}"),
                _ => assert_eq!(
                    got.to_bits(),
                    via_bits(c, 5, 2, 15).to_bits(),
                    "code {c:#x}"
                ),
            }
        }
        assert_eq!(e5m2_to_f32(0x7B), 57344.0);
        assert_eq!(e5m2_to_f32(0x3C), 1.0);
        assert_eq!(e5m2_to_f32(0x01), 2f32.powi(-16));
    }

    #[test]
    fn e8m0_every_code() {
        for c in 0..=254u8 {
            let got = e8m0_to_f32(c);
            let want = if c == 0 {
                f32::from_bits(0x0040_0000)
            } else {
                f32::from_bits(u32::from(c) << 23)
            };
            assert_eq!(got.to_bits(), want.to_bits(), "code {c:#x}");
        }
        assert!(e8m0_to_f32(0xFF).is_nan());
        assert_eq!(e8m0_to_f32(0x7F), 1.0);
    }
}
