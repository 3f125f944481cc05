//! Random packed layers for the conformance suite and the bench.
//!
//! Every packed word is uniformly random (so every code, every zero field and, for GPTQ v1,
//! the overflowing zero + 1 all occur); scales are random finite values, optionally mixed
//! with extreme ones (subnormal, largest finite, zero) or NaN where the format carries
//! NaN. The expected values never come from here: they come from the oracle
//! (`crate::oracle`) applied to the same bytes.

use super::dequant::{Fp8Scaling, Nvfp4Convention, Packed, ScaleDtype};
use serde::Serialize;

/// The fixtures' generator: the project's one SplitMix64, so seeds replay everywhere.
pub use crate::gen::rng::SplitMix64 as Rng;

/// Which unusual values a fixture carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Extremes {
    /// Ordinary random finite scales.
    Plain,
    /// Some scales subnormal, some the largest finite value, some zero (both signs).
    Extreme,
    /// Some scales (and, for FP8 weights, some codes) NaN.
    Nan,
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Spec {
    /// GPTQ; `group: None` is group_size -1.
    Gptq {
        /// Bits.
        bits: u32,
        /// Out features.
        n: usize,
        /// In features.
        k: usize,
        /// Group size or -1.
        group: Option<usize>,
        /// v1 zeros.
        v1: bool,
        /// Random act-order g_idx.
        act_order: bool,
        /// Scale dtype.
        scale_dtype: ScaleDtype,
    },
    /// AWQ GEMM.
    Awq {
        /// Out features.
        n: usize,
        /// In features.
        k: usize,
        /// Group size or -1.
        group: Option<usize>,
        /// Scale dtype.
        scale_dtype: ScaleDtype,
    },
    /// NVFP4.
    Nvfp4 {
        /// Rows.
        n: usize,
        /// In features.
        k: usize,
        /// Global scale convention.
        convention: Nvfp4Convention,
    },
    /// MXFP4 (gpt-oss).
    Mxfp4 {
        /// Experts.
        experts: usize,
        /// Rows per expert.
        n: usize,
        /// In features.
        k: usize,
    },
    /// FP8 E4M3.
    Fp8 {
        /// Out features.
        n: usize,
        /// In features.
        k: usize,
        /// Scale granularity.
        scaling: Fp8Scaling,
        /// Scale dtype.
        scale_dtype: ScaleDtype,
    },
    /// compressed-tensors pack-quantized; `group: None` is the channel strategy.
    Ct {
        /// 4 or 8.
        bits: u32,
        /// Out features.
        n: usize,
        /// In features.
        k: usize,
        /// Group size or channel.
        group: Option<usize>,
        /// No zero points.
        symmetric: bool,
        /// Random act-order g_idx.
        act_order: bool,
        /// Scale dtype.
        scale_dtype: ScaleDtype,
    },
}

/// A generated layer: its tensors' bytes in [`Packed`] order.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// What was generated.
    pub spec: Spec,
    /// Unusual values included.
    pub extremes: Extremes,
    /// Seed it was generated from.
    pub seed: u64,
    /// Tensor bytes: weights first, then scales, zeros, g_idx as the format has them.
    pub data: Vec<Vec<u8>>,
    /// NVFP4 global scale (unused by other formats).
    pub global: f32,
}

fn scale_bits(rng: &mut Rng, dt: ScaleDtype, ex: Extremes) -> Vec<u8> {
    // Magnitude 2^[-12, -2) with random sign: well inside every type's normal range.
    let f = (rng.unit_f32() * 10.0 - 12.0).exp2() * if rng.below(4) == 0 { -1.0 } else { 1.0 };
    let roll = rng.below(16);
    let special = match ex {
        Extremes::Plain => None,
        Extremes::Extreme => match roll {
            0 => Some("sub"),
            1 => Some("max"),
            2 => Some("zero"),
            3 => Some("negzero"),
            _ => None,
        },
        Extremes::Nan => (roll < 2).then_some("nan"),
    };
    match dt {
        ScaleDtype::F16 => {
            let b: u16 = match special {
                Some("sub") => 1 + rng.below(0x3FF) as u16,
                Some("max") => 0x7BFF,
                Some("zero") => 0,
                Some("negzero") => 0x8000,
                Some(_) => 0x7E00,
                None => half::f16::from_f32(f).to_bits(),
            };
            b.to_le_bytes().to_vec()
        }
        ScaleDtype::Bf16 => {
            let b: u16 = match special {
                Some("sub") => 1 + rng.below(0x7F) as u16,
                Some("max") => 0x7F7F,
                Some("zero") => 0,
                Some("negzero") => 0x8000,
                Some(_) => 0x7FC0,
                None => half::bf16::from_f32(f).to_bits(),
            };
            b.to_le_bytes().to_vec()
        }
        ScaleDtype::F32 => {
            let b: u32 = match special {
                Some("sub") => 1 + rng.below(0x7F_FFFF) as u32,
                Some("max") => 0x7F7F_FFFF,
                Some("zero") => 0,
                Some("negzero") => 0x8000_0000,
                Some(_) => 0x7FC0_0000,
                None => f.to_bits(),
            };
            b.to_le_bytes().to_vec()
        }
    }
}

fn scales(rng: &mut Rng, count: usize, dt: ScaleDtype, ex: Extremes) -> Vec<u8> {
    (0..count).flat_map(|_| scale_bits(rng, dt, ex)).collect()
}

/// `g_idx` for K columns in groups of `group`: `k / group`, shuffled when `act_order`.
pub fn g_idx(rng: &mut Rng, k: usize, group: usize, act_order: bool) -> Vec<u8> {
    let mut g: Vec<i32> = (0..k).map(|i| (i / group) as i32).collect();
    if act_order {
        for i in (1..k).rev() {
            let j = rng.below(i + 1);
            g.swap(i, j);
        }
    }
    g.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn e4m3_scale(rng: &mut Rng, ex: Extremes) -> u8 {
    let roll = rng.below(16);
    match (ex, roll) {
        (Extremes::Extreme, 0) => rng.below(8) as u8, // zero or subnormal
        (Extremes::Extreme, 1) => 0x7E,               // 448
        (Extremes::Extreme, 2) => 0x80,               // -0
        (Extremes::Extreme, 3) => 0xA0 + rng.below(0x40) as u8, // negative normals
        (Extremes::Nan, 0) => 0x7F,
        _ => 0x20 + rng.below(0x40) as u8, // 2^-3 .. 2^4.875, positive normals
    }
}

fn e8m0(rng: &mut Rng, ex: Extremes) -> u8 {
    let roll = rng.below(16);
    match (ex, roll) {
        (Extremes::Extreme, 0) => 0,   // 2^-127, an f32 subnormal
        (Extremes::Extreme, 1) => 254, // 2^127
        (Extremes::Extreme, 2) => 1 + rng.below(8) as u8,
        (Extremes::Nan, 0) => 0xFF,
        _ => 116 + rng.below(16) as u8,
    }
}

impl Fixture {
    /// Generates the layer described by `spec`.
    pub fn generate(spec: Spec, extremes: Extremes, seed: u64) -> Fixture {
        let mut rng = Rng::new(seed);
        let mut global = 1.0f32;
        let data = match spec {
            Spec::Gptq {
                bits,
                n,
                k,
                group,
                act_order,
                scale_dtype,
                ..
            } => {
                let g = group.unwrap_or(k);
                let groups = k.div_ceil(g);
                let b = bits as usize;
                let mut d = vec![
                    rng.bytes(k * b / 32 * n * 4),
                    rng.bytes(groups * (n * b / 32) * 4),
                    scales(&mut rng, groups * n, scale_dtype, extremes),
                ];
                if act_order {
                    d.push(g_idx(&mut rng, k, g, true));
                }
                d
            }
            Spec::Awq {
                n,
                k,
                group,
                scale_dtype,
            } => {
                let groups = k / group.unwrap_or(k);
                vec![
                    rng.bytes(k * n / 8 * 4),
                    rng.bytes(groups * n / 8 * 4),
                    scales(&mut rng, groups * n, scale_dtype, extremes),
                ]
            }
            Spec::Nvfp4 { n, k, .. } => {
                global = match extremes {
                    Extremes::Extreme => f32::from_bits(1 + rng.below(0x7F_FFFF) as u32),
                    _ => (rng.unit_f32() * 6.0 - 3.0).exp2(),
                };
                vec![
                    rng.bytes(n * k / 2),
                    (0..n * k / 16)
                        .map(|_| e4m3_scale(&mut rng, extremes))
                        .collect(),
                ]
            }
            Spec::Mxfp4 { experts, n, k } => vec![
                rng.bytes(experts * n * k / 2),
                (0..experts * n * k / 32)
                    .map(|_| e8m0(&mut rng, extremes))
                    .collect(),
            ],
            Spec::Fp8 {
                n,
                k,
                scaling,
                scale_dtype,
            } => {
                let mut w = rng.bytes(n * k);
                if extremes != Extremes::Nan {
                    for b in w.iter_mut() {
                        if *b & 0x7F == 0x7F {
                            *b ^= 1; // keep NaN codes out unless asked for
                        }
                    }
                }
                let count = match scaling {
                    Fp8Scaling::Tensor => 1,
                    Fp8Scaling::Channel => n,
                    Fp8Scaling::Block { rows, cols } => n.div_ceil(rows) * k.div_ceil(cols),
                };
                vec![w, scales(&mut rng, count, scale_dtype, extremes)]
            }
            Spec::Ct {
                bits,
                n,
                k,
                group,
                symmetric,
                act_order,
                scale_dtype,
            } => {
                let pf = 32 / bits as usize;
                let g = group.unwrap_or(k);
                let groups = if group.is_some() { k.div_ceil(g) } else { 1 };
                let mut d = vec![
                    rng.bytes(n * k.div_ceil(pf) * 4),
                    scales(&mut rng, n * groups, scale_dtype, extremes),
                ];
                if !symmetric {
                    d.push(rng.bytes(n.div_ceil(pf) * groups * 4));
                }
                if act_order {
                    d.push(g_idx(&mut rng, k, g, true));
                }
                d
            }
        };
        Fixture {
            spec,
            extremes,
            seed,
            data,
            global,
        }
    }

    /// The layer as [`Packed`] (borrowing this fixture's bytes).
    pub fn packed(&self) -> Packed<'_> {
        let d = &self.data;
        match self.spec {
            Spec::Gptq {
                bits,
                n,
                k,
                group,
                v1,
                act_order,
                scale_dtype,
            } => {
                let g = group.unwrap_or(k);
                Packed::Gptq {
                    bits,
                    n,
                    k,
                    group_size: g,
                    v1,
                    qweight: &d[0],
                    qzeros: &d[1],
                    scales: &d[2],
                    scale_dtype,
                    g_idx: act_order.then(|| d[3].as_slice()),
                    groups: k.div_ceil(g),
                }
            }
            Spec::Awq {
                n,
                k,
                group,
                scale_dtype,
            } => Packed::Awq {
                n,
                k,
                group_size: group.unwrap_or(k),
                qweight: &d[0],
                qzeros: &d[1],
                scales: &d[2],
                scale_dtype,
            },
            Spec::Nvfp4 { n, k, convention } => Packed::Nvfp4 {
                rows: n,
                k,
                convention,
                weight: &d[0],
                weight_scale: &d[1],
                global: vec![self.global],
                rows_per_global: n,
            },
            Spec::Mxfp4 { experts, n, k } => Packed::Mxfp4 {
                experts,
                rows: n,
                k,
                blocks: &d[0],
                scales: &d[1],
            },
            Spec::Fp8 {
                n,
                k,
                scaling,
                scale_dtype,
            } => Packed::Fp8 {
                n,
                k,
                scaling,
                weight: &d[0],
                scale: &d[1],
                scale_dtype,
            },
            Spec::Ct {
                bits,
                n,
                k,
                group,
                symmetric,
                act_order,
                scale_dtype,
            } => {
                let zi = if symmetric { None } else { Some(2) };
                let gi = if act_order {
                    Some(if symmetric { 2 } else { 3 })
                } else {
                    None
                };
                Packed::CtPacked {
                    bits,
                    n,
                    k,
                    group_size: group.unwrap_or(k),
                    groups: if group.is_some() {
                        k.div_ceil(group.unwrap_or(k))
                    } else {
                        1
                    },
                    packed: &d[0],
                    scales: &d[1],
                    scale_dtype,
                    zero_point: zi.map(|i| d[i].as_slice()),
                    g_idx: gi.map(|i| d[i].as_slice()),
                }
            }
        }
    }
}

/// The dequant conformance cases: every format and variant over odd shapes, plus
/// extreme-scale and NaN-carrying variants where the format allows them.
pub fn dequant_cases() -> Vec<(Spec, Extremes)> {
    use Extremes::*;
    let mut v = Vec::new();
    let sdts = [ScaleDtype::F16, ScaleDtype::Bf16, ScaleDtype::F32];
    for bits in [2u32, 3, 4, 8] {
        // (N, K) multiples of the packing unit but of no tile size.
        let shapes: &[(usize, usize)] = match bits {
            3 => &[(96, 160), (32, 416)],
            2 => &[(48, 208), (16, 80)],
            // (96, 520), (64, 4104), (32, 1032): the staged act-order kernel's shapes
            // (N % 32 == 0, K % 8 == 0), with a partial last step and, for 4104, two steps
            // per block.
            4 => &[(72, 200), (8, 136), (96, 520), (64, 4104)],
            _ => &[(44, 36), (4, 300), (36, 292), (32, 1032)],
        };
        for &(n, k) in shapes {
            for (gi, group) in [Some(32), Some(128), None].into_iter().enumerate() {
                for v1 in [true, false] {
                    for act_order in [false, true] {
                        let ex = [Plain, Extreme, Nan][(gi + v1 as usize + act_order as usize) % 3];
                        v.push((
                            Spec::Gptq {
                                bits,
                                n,
                                k,
                                group,
                                v1,
                                act_order,
                                scale_dtype: sdts[gi],
                            },
                            ex,
                        ));
                    }
                }
            }
        }
    }
    for (n, k, group) in [
        (40, 96, Some(32)),
        (8, 24, None),
        (136, 256, Some(128)),
        (24, 384, Some(64)),
    ] {
        for (i, ex) in [Plain, Extreme, Nan].into_iter().enumerate() {
            v.push((
                Spec::Awq {
                    n,
                    k,
                    group,
                    scale_dtype: sdts[i],
                },
                ex,
            ));
        }
    }
    for (n, k) in [(33, 48), (7, 16), (65, 208)] {
        for convention in [Nvfp4Convention::Multiplier, Nvfp4Convention::Divisor] {
            for ex in [Plain, Extreme, Nan] {
                v.push((Spec::Nvfp4 { n, k, convention }, ex));
            }
        }
    }
    for (experts, n, k) in [(1, 5, 64), (3, 17, 96), (2, 1, 32)] {
        for ex in [Plain, Extreme, Nan] {
            v.push((Spec::Mxfp4 { experts, n, k }, ex));
        }
    }
    for (n, k) in [(37, 45), (130, 300), (1, 7), (129, 129)] {
        for (i, scaling) in [
            Fp8Scaling::Tensor,
            Fp8Scaling::Channel,
            Fp8Scaling::Block {
                rows: 128,
                cols: 128,
            },
        ]
        .into_iter()
        .enumerate()
        {
            for ex in [Plain, Extreme, Nan] {
                v.push((
                    Spec::Fp8 {
                        n,
                        k,
                        scaling,
                        scale_dtype: if i == 1 {
                            ScaleDtype::Bf16
                        } else {
                            ScaleDtype::F32
                        },
                    },
                    ex,
                ));
            }
        }
    }
    for bits in [4u32, 8] {
        for (n, k) in [(13, 37), (64, 256), (9, 131)] {
            for (gi, group) in [Some(32), Some(128), None].into_iter().enumerate() {
                for symmetric in [true, false] {
                    for act_order in [false, true] {
                        if act_order && group.is_none() {
                            continue;
                        }
                        let ex = [Plain, Extreme, Nan][(gi + symmetric as usize) % 3];
                        v.push((
                            Spec::Ct {
                                bits,
                                n,
                                k,
                                group,
                                symmetric,
                                act_order,
                                scale_dtype: sdts[(gi + 1) % 3],
                            },
                            ex,
                        ));
                    }
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_case_validates() {
        for (i, (spec, ex)) in dequant_cases().into_iter().enumerate() {
            let fx = Fixture::generate(spec, ex, i as u64);
            fx.packed()
                .validate()
                .unwrap_or_else(|e| panic!("{spec:?}: {e}"));
        }
    }

    #[test]
    fn act_order_g_idx_is_a_permutation_of_the_plain_one() {
        let mut rng = Rng::new(7);
        let plain = g_idx(&mut rng, 300, 32, false);
        let shuffled = g_idx(&mut rng, 300, 32, true);
        assert_ne!(plain, shuffled);
        let mut a: Vec<_> = plain.chunks(4).collect();
        let mut b: Vec<_> = shuffled.chunks(4).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }
}
