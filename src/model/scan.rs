//! `check --deep`: read every byte of every floating-point tensor (through the container's
//! memory-mapped reader) and report NaN, infinities and tensors that are entirely zero
//! (what an interrupted download or a sparse placeholder file leaves behind).
//!
//! Shards are scanned in parallel; findings are collected in shard order, so the output is
//! deterministic. [`scan_floats`] is pure (bytes in, counts out).

use crate::container::{Limits, OpenError, SafeTensorsFile};
use crate::diag::Diagnostic;
use crate::dtype::Dtype;
use crate::model::dir::ModelDir;
use crate::model::index::group_names;
use rayon::prelude::*;

/// Counts of special values in one tensor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FloatCounts {
    /// Elements that are NaN.
    pub nan: u64,
    /// Elements that are +inf or -inf.
    pub inf: u64,
    /// True when every byte is zero.
    pub all_zero: bool,
}

/// Scans little-endian elements of `dtype`; `None` for dtypes without NaN/inf encodings
/// here (integers, FP8, FP4/FP6, E8M0 scales).
pub fn scan_floats(dtype: Dtype, data: &[u8]) -> Option<FloatCounts> {
    // (element bytes, exponent mask, mantissa mask), IEEE-754 layouts.
    let (width, exp, man): (usize, u64, u64) = match dtype {
        Dtype::F16 => (2, 0x7C00, 0x03FF),
        Dtype::BF16 => (2, 0x7F80, 0x007F),
        Dtype::F32 => (4, 0x7F80_0000, 0x007F_FFFF),
        Dtype::F64 => (8, 0x7FF0_0000_0000_0000, 0x000F_FFFF_FFFF_FFFF),
        _ => return None,
    };
    let mut c = FloatCounts {
        all_zero: data.iter().all(|b| *b == 0),
        ..FloatCounts::default()
    };
    if c.all_zero {
        return Some(c);
    }
    for e in data.chunks_exact(width) {
        let mut buf = [0u8; 8];
        buf[..width].copy_from_slice(e);
        let bits = u64::from_le_bytes(buf);
        if bits & exp == exp {
            if bits & man == 0 {
                c.inf += 1;
            } else {
                c.nan += 1;
            }
        }
    }
    Some(c)
}

/// Scans every opened shard of `dir`; returns DIR022–DIR024 findings.
pub fn scan_dir(dir: &ModelDir, limits: &Limits) -> Vec<Diagnostic> {
    let per_shard: Vec<Vec<Diagnostic>> = dir
        .shards
        .par_iter()
        .filter(|s| s.tensors.is_some())
        .map(|s| {
            let f = match SafeTensorsFile::open(&s.path, limits) {
                Ok(f) => f,
                // Header problems were reported by the header-only pass.
                Err(OpenError::Invalid { .. }) => return Vec::new(),
                Err(OpenError::Io { source, .. }) => {
                    return vec![Diagnostic::error("DIR019", format!("shard {} cannot be mapped for the data scan: {source}", s.name))
                        .file(&s.path)
                        .advice("check the file's permissions and the disk")]
                }
            };
            let mut d = Vec::new();
            let mut zeros = Vec::new();
            for v in f.tensors() {
                let Some(c) = scan_floats(v.dtype, v.data) else { continue };
                if c.all_zero && !v.data.is_empty() {
                    zeros.push(v.name.to_string());
                }
                if c.nan > 0 {
                    d.push(
                        Diagnostic::error("DIR022", format!("{} of {} values of {} are NaN", c.nan, v.data.len() as u64 * 8 / v.dtype.bits(), v.name))
                            .tensor(v.name)
                            .file(&s.path)
                            .advice("the weights are corrupt (or the export overflowed); re-download or re-export the model"),
                    );
                }
                if c.inf > 0 {
                    d.push(
                        Diagnostic::warning("DIR023", format!("{} values of {} are infinite", c.inf, v.name))
                            .tensor(v.name)
                            .file(&s.path)
                            .advice("weights are normally finite; check the export (a mask buffer saved as a weight is the usual harmless cause)"),
                    );
                }
            }
            if !zeros.is_empty() {
                d.push(
                    Diagnostic::warning(
                        "DIR024",
                        format!("{} tensor(s) of {} are entirely zero: {}", zeros.len(), s.name, group_names(&zeros).join("; ")),
                    )
                    .tensor(zeros[0].clone())
                    .file(&s.path)
                    .advice("a zero-filled weight usually means an interrupted download or a placeholder file; download the shard again"),
                );
            }
            d
        })
        .collect();
    per_shard.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_values_per_dtype() {
        let bf16: Vec<u8> = [0x3F80u16, 0x7F80, 0xFF80, 0x7FC0, 0x0000]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(
            scan_floats(Dtype::BF16, &bf16),
            Some(FloatCounts {
                nan: 1,
                inf: 2,
                all_zero: false
            })
        );
        let f16: Vec<u8> = [0x3C00u16, 0x7C00, 0x7E00]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(
            scan_floats(Dtype::F16, &f16),
            Some(FloatCounts {
                nan: 1,
                inf: 1,
                all_zero: false
            })
        );
        let f32s: Vec<u8> = [1.0f32, f32::NAN, f32::NEG_INFINITY]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(
            scan_floats(Dtype::F32, &f32s),
            Some(FloatCounts {
                nan: 1,
                inf: 1,
                all_zero: false
            })
        );
        let f64s: Vec<u8> = [f64::NAN, 2.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(scan_floats(Dtype::F64, &f64s).unwrap().nan, 1);
        assert!(scan_floats(Dtype::F32, &[0; 16]).unwrap().all_zero);
        assert_eq!(scan_floats(Dtype::I32, &[0; 4]), None);
        assert_eq!(scan_floats(Dtype::F8_E4M3, &[0x7F]), None);
    }
}
