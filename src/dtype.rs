//! Element types of the SafeTensors format, as in the reference crate 0.8
//! (specs/safetensors_validation.md §1, "Dtype" table).

use serde::Serialize;
use std::fmt;

/// A SafeTensors element type. Names are case-sensitive on disk; variants are spelled
/// exactly as on disk (and as in the reference crate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[allow(non_camel_case_types)]
pub enum Dtype {
    /// Boolean stored as one byte.
    BOOL,
    /// FP4 E2M1, two per byte, packed over the whole tensor.
    F4,
    /// FP6 E2M3, packed over the whole tensor.
    F6_E2M3,
    /// FP6 E3M2, packed over the whole tensor.
    F6_E3M2,
    /// Unsigned 8-bit integer.
    U8,
    /// Signed 8-bit integer.
    I8,
    /// FP8 E5M2.
    F8_E5M2,
    /// FP8 E4M3FN (no infinities, one NaN pattern per sign).
    F8_E4M3,
    /// E8M0 exponent-only scale (OCP MX).
    F8_E8M0,
    /// FP8 E4M3FNUZ (AMD; no negative zero, bias 8).
    F8_E4M3FNUZ,
    /// FP8 E5M2FNUZ (AMD; no negative zero, bias 16).
    F8_E5M2FNUZ,
    /// Signed 16-bit integer.
    I16,
    /// Unsigned 16-bit integer.
    U16,
    /// IEEE half precision.
    F16,
    /// bfloat16.
    BF16,
    /// Signed 32-bit integer.
    I32,
    /// Unsigned 32-bit integer.
    U32,
    /// IEEE single precision.
    F32,
    /// Complex of two f32.
    C64,
    /// IEEE double precision.
    F64,
    /// Signed 64-bit integer.
    I64,
    /// Unsigned 64-bit integer.
    U64,
}

impl Dtype {
    /// Every dtype, in the reference crate's declaration order.
    pub const ALL: [Dtype; 22] = [
        Dtype::BOOL,
        Dtype::F4,
        Dtype::F6_E2M3,
        Dtype::F6_E3M2,
        Dtype::U8,
        Dtype::I8,
        Dtype::F8_E5M2,
        Dtype::F8_E4M3,
        Dtype::F8_E8M0,
        Dtype::F8_E4M3FNUZ,
        Dtype::F8_E5M2FNUZ,
        Dtype::I16,
        Dtype::U16,
        Dtype::F16,
        Dtype::BF16,
        Dtype::I32,
        Dtype::U32,
        Dtype::F32,
        Dtype::C64,
        Dtype::F64,
        Dtype::I64,
        Dtype::U64,
    ];

    /// Bits per element.
    pub fn bits(self) -> u64 {
        use Dtype::*;
        match self {
            F4 => 4,
            F6_E2M3 | F6_E3M2 => 6,
            BOOL | U8 | I8 | F8_E5M2 | F8_E4M3 | F8_E8M0 | F8_E4M3FNUZ | F8_E5M2FNUZ => 8,
            I16 | U16 | F16 | BF16 => 16,
            I32 | U32 | F32 => 32,
            C64 | F64 | I64 | U64 => 64,
        }
    }

    /// Natural alignment in bytes of one element (1 for sub-byte types).
    pub fn align_bytes(self) -> u64 {
        (self.bits() / 8).max(1)
    }

    /// The on-disk name.
    pub fn name(self) -> &'static str {
        use Dtype::*;
        match self {
            BOOL => "BOOL",
            F4 => "F4",
            F6_E2M3 => "F6_E2M3",
            F6_E3M2 => "F6_E3M2",
            U8 => "U8",
            I8 => "I8",
            F8_E5M2 => "F8_E5M2",
            F8_E4M3 => "F8_E4M3",
            F8_E8M0 => "F8_E8M0",
            F8_E4M3FNUZ => "F8_E4M3FNUZ",
            F8_E5M2FNUZ => "F8_E5M2FNUZ",
            I16 => "I16",
            U16 => "U16",
            F16 => "F16",
            BF16 => "BF16",
            I32 => "I32",
            U32 => "U32",
            F32 => "F32",
            C64 => "C64",
            F64 => "F64",
            I64 => "I64",
            U64 => "U64",
        }
    }

    /// Parses an on-disk name (case-sensitive).
    pub fn from_name(name: &str) -> Option<Dtype> {
        Dtype::ALL.iter().copied().find(|d| d.name() == name)
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for d in Dtype::ALL {
            assert_eq!(Dtype::from_name(d.name()), Some(d));
            assert_eq!(Dtype::from_name(&d.name().to_lowercase()), None);
        }
        assert_eq!(Dtype::from_name("f32"), None);
    }

    #[test]
    fn bit_widths_match_reference_table() {
        assert_eq!(Dtype::F4.bits(), 4);
        assert_eq!(Dtype::F6_E3M2.bits(), 6);
        assert_eq!(Dtype::F8_E8M0.bits(), 8);
        assert_eq!(Dtype::BF16.bits(), 16);
        assert_eq!(Dtype::C64.bits(), 64);
        assert_eq!(Dtype::ALL.len(), 22);
    }
}
