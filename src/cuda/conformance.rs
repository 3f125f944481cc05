//! The conformance suite: every kernel against its oracle, every element checked.
//!
//! Dequant kernels must reproduce the oracle's f32 value rounded to the output type, bit
//! for bit (any NaN matches any NaN). Outputs are poisoned with [`POISON`] before every
//! launch, so an element the kernel never wrote is caught even when a NaN was expected.
//! The CPU part runs the same cases through the oracle and the fast CPU path.

use super::dequant::{dequant_checked, kernel_name, OutDtype, POISON};
use super::error::{GpuError, GpuResult};
use super::fixtures::{dequant_cases, Extremes, Fixture, Spec};
use super::runtime::Gpu;
use serde::Serialize;
use std::collections::BTreeMap;

/// The oracle: the f32 `[rows, K]` dequantization of a fixture's bytes.
pub type OracleFn<'a> = &'a dyn Fn(&Fixture) -> Vec<f32>;

/// Outcome of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Kernel (GPU) or path (CPU) under test.
    pub kernel: String,
    /// Format label.
    pub format: String,
    /// Shape summary.
    pub shape: String,
    /// Unusual values included.
    pub extremes: Extremes,
    /// Fixture seed.
    pub seed: u64,
    /// Elements compared.
    pub elements: usize,
    /// Elements that differ from the oracle.
    pub mismatches: usize,
    /// Elements still holding the poison value.
    pub unwritten: usize,
    /// Largest difference in units in the last place (u32::MAX for NaN vs number).
    pub max_ulp: u32,
    /// First mismatch, for the report.
    pub first_mismatch: Option<String>,
    /// Error text when the case could not run.
    pub error: Option<String>,
}

impl CaseResult {
    /// True when every element matched and nothing failed.
    pub fn passed(&self) -> bool {
        self.mismatches == 0 && self.unwritten == 0 && self.error.is_none()
    }
}

/// One table row: all cases of one kernel.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Kernel or check name.
    pub kernel: String,
    /// Cases run.
    pub cases: usize,
    /// Largest ulp difference seen.
    pub max_ulp: u32,
    /// Cases that failed.
    pub failed: usize,
}

/// Groups case results into table rows (sorted by kernel name).
pub fn rows(results: &[CaseResult]) -> Vec<Row> {
    let mut m: BTreeMap<&str, Row> = BTreeMap::new();
    for r in results {
        let row = m.entry(&r.kernel).or_insert_with(|| Row {
            kernel: r.kernel.clone(),
            cases: 0,
            max_ulp: 0,
            failed: 0,
        });
        row.cases += 1;
        row.max_ulp = row.max_ulp.max(r.max_ulp);
        row.failed += usize::from(!r.passed());
    }
    m.into_values().collect()
}

/// Prints the table (kernel, cases, max ulp diff, result).
pub fn print_table(title: &str, rows: &[Row]) {
    println!("{title}");
    println!(
        "{:<28} {:>6} {:>13} {:>8}",
        "kernel", "cases", "max ulp diff", "result"
    );
    for r in rows {
        let ulp = if r.max_ulp == u32::MAX {
            "NaN".to_string()
        } else {
            r.max_ulp.to_string()
        };
        let res = if r.failed == 0 {
            "PASS".to_string()
        } else {
            format!("FAIL({})", r.failed)
        };
        println!("{:<28} {:>6} {:>13} {:>8}", r.kernel, r.cases, ulp, res);
    }
}

/// Position of `bits` on the number line of 16-bit floats (sign-magnitude to two's
/// complement), so that adjacent values differ by one.
fn ordered16(bits: u16) -> i32 {
    if bits & 0x8000 != 0 {
        -((bits & 0x7FFF) as i32)
    } else {
        bits as i32
    }
}

fn ordered32(bits: u32) -> i64 {
    if bits & 0x8000_0000 != 0 {
        -((bits & 0x7FFF_FFFF) as i64)
    } else {
        bits as i64
    }
}

/// Compares 16-bit outputs with the oracle rounded to `dtype`; fills the counters of `r`.
pub fn compare16(r: &mut CaseResult, dtype: OutDtype, expected: &[f32], got: &[u16], cols: usize) {
    r.elements = expected.len();
    if got.len() != expected.len() {
        r.error = Some(format!(
            "{} outputs, expected {}",
            got.len(),
            expected.len()
        ));
        return;
    }
    for (i, (&e, &g)) in expected.iter().zip(got).enumerate() {
        let want = dtype.round_bits(e);
        if g == POISON {
            r.unwritten += 1;
        }
        let (wn, gn) = (dtype.is_nan(want), dtype.is_nan(g));
        let ulp = match (wn, gn) {
            (true, true) => 0,
            (false, false) => ordered16(want).abs_diff(ordered16(g)),
            _ => u32::MAX,
        };
        if ulp != 0 || g == POISON {
            r.mismatches += 1;
            if r.first_mismatch.is_none() {
                r.first_mismatch = Some(format!(
                    "[{}, {}]: expected {want:#06x} ({e:e}), got {g:#06x}",
                    i / cols.max(1),
                    i % cols.max(1)
                ));
            }
        }
        r.max_ulp = r.max_ulp.max(ulp);
    }
}

/// Compares two f32 outputs bit for bit (NaN matches NaN).
pub fn compare32(r: &mut CaseResult, expected: &[f32], got: &[f32], cols: usize) {
    r.elements = expected.len();
    if got.len() != expected.len() {
        r.error = Some(format!(
            "{} outputs, expected {}",
            got.len(),
            expected.len()
        ));
        return;
    }
    for (i, (&e, &g)) in expected.iter().zip(got).enumerate() {
        let ulp = match (e.is_nan(), g.is_nan()) {
            (true, true) => 0,
            (false, false) => {
                u32::try_from(ordered32(e.to_bits()).abs_diff(ordered32(g.to_bits())))
                    .unwrap_or(u32::MAX)
            }
            _ => u32::MAX,
        };
        if ulp != 0 {
            r.mismatches += 1;
            if r.first_mismatch.is_none() {
                r.first_mismatch = Some(format!(
                    "[{}, {}]: expected {e:e}, got {g:e}",
                    i / cols.max(1),
                    i % cols.max(1)
                ));
            }
        }
        r.max_ulp = r.max_ulp.max(ulp);
    }
}

fn shape_of(spec: &Spec) -> String {
    match *spec {
        Spec::Gptq { n, k, group, .. } | Spec::Awq { n, k, group, .. } => {
            format!("{n}x{k} g{}", group.map_or(-1, |g| g as i64))
        }
        Spec::Ct { n, k, group, .. } => format!("{n}x{k} g{}", group.map_or(-1, |g| g as i64)),
        Spec::Nvfp4 { n, k, .. } => format!("{n}x{k}"),
        Spec::Mxfp4 { experts, n, k } => format!("{experts}x{n}x{k}"),
        Spec::Fp8 { n, k, .. } => format!("{n}x{k}"),
    }
}

fn new_case(kernel: String, fx: &Fixture) -> CaseResult {
    CaseResult {
        kernel,
        format: fx.packed().label(),
        shape: shape_of(&fx.spec),
        extremes: fx.extremes,
        seed: fx.seed,
        elements: 0,
        mismatches: 0,
        unwritten: 0,
        max_ulp: 0,
        first_mismatch: None,
        error: None,
    }
}

/// Every fixture of the dequant suite, seeded from `seed`.
pub fn dequant_fixtures(seed: u64) -> Vec<Fixture> {
    dequant_cases()
        .into_iter()
        .enumerate()
        .map(|(i, (spec, ex))| {
            Fixture::generate(
                spec,
                ex,
                seed.wrapping_mul(1_000_003).wrapping_add(i as u64),
            )
        })
        .collect()
}

/// GPU part: every dequant kernel, both output types, every case. A case that cannot run
/// (launch failure) is recorded as failed rather than aborting the suite, except when the
/// GPU itself is unusable.
pub fn run_gpu_dequant(gpu: &Gpu, oracle: OracleFn<'_>, seed: u64) -> GpuResult<Vec<CaseResult>> {
    let mut out = Vec::new();
    for fx in dequant_fixtures(seed) {
        let expected = oracle(&fx);
        let packed = fx.packed();
        let dev = packed.upload(gpu)?;
        let (_, cols) = dev.out_shape();
        for dtype in OutDtype::ALL {
            let mut r = new_case(kernel_name(&dev, dtype).to_string(), &fx);
            match dequant_checked(gpu, &dev, dtype) {
                Ok(got) => compare16(&mut r, dtype, &expected, &got, cols),
                Err(e) if e.is_unavailable() => return Err(e),
                Err(e) => r.error = Some(e.to_string()),
            }
            out.push(r);
        }
    }
    Ok(out)
}

/// CPU part: the fast path against the oracle on the same cases, bit for bit in f32.
pub fn run_cpu_dequant(oracle: OracleFn<'_>, fast: OracleFn<'_>, seed: u64) -> Vec<CaseResult> {
    dequant_fixtures(seed)
        .iter()
        .map(|fx| {
            let mut r = new_case(format!("cpu-fast:{}", fx.packed().label()), fx);
            let cols = fx.packed().out_shape().1;
            compare32(&mut r, &oracle(fx), &fast(fx), cols);
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case() -> CaseResult {
        let fx = Fixture::generate(
            Spec::Nvfp4 {
                n: 1,
                k: 16,
                convention: super::super::dequant::Nvfp4Convention::Divisor,
            },
            Extremes::Plain,
            1,
        );
        new_case("k".into(), &fx)
    }

    #[test]
    fn compare16_catches_one_ulp_unwritten_and_nan_mismatch() {
        let exp = [1.0f32, 2.0, f32::NAN, 3.0];
        let dt = OutDtype::Bf16;
        let mut good: Vec<u16> = exp.iter().map(|&v| dt.round_bits(v)).collect();
        let mut r = case();
        compare16(&mut r, dt, &exp, &good, 2);
        assert!(r.passed(), "{r:?}");
        good[1] += 1;
        let mut r = case();
        compare16(&mut r, dt, &exp, &good, 2);
        assert_eq!((r.mismatches, r.max_ulp), (1, 1));
        good[1] -= 1;
        good[3] = POISON;
        let mut r = case();
        compare16(&mut r, dt, &exp, &good, 2);
        assert_eq!(r.unwritten, 1);
        assert!(!r.passed());
        good[3] = dt.round_bits(3.0);
        good[2] = dt.round_bits(0.0);
        let mut r = case();
        compare16(&mut r, dt, &exp, &good, 2);
        assert_eq!(r.max_ulp, u32::MAX);
        assert!(!r.passed());
    }

    #[test]
    fn compare16_counts_ulps_across_zero() {
        let dt = OutDtype::F16;
        let mut r = case();
        // -0 vs +smallest subnormal: one step apart on the number line.
        compare16(&mut r, dt, &[-0.0], &[0x0001], 1);
        assert_eq!(r.max_ulp, 1);
    }

    #[test]
    fn rows_group_by_kernel_and_count_failures() {
        let mut a = case();
        a.kernel = "x".into();
        let mut b = a.clone();
        b.mismatches = 2;
        b.max_ulp = 3;
        let rs = rows(&[a.clone(), b, a]);
        assert_eq!(rs.len(), 1);
        assert_eq!((rs[0].cases, rs[0].failed, rs[0].max_ulp), (3, 1, 3));
    }
}

// ------------------------------------------------------------------------------------------
// GEMV conformance: every GEMV kernel (and the dequant + cuBLAS fallback) against an f64 CPU
// reference built from the oracle's weights, M = 1..16, odd shapes, random act order.
// ------------------------------------------------------------------------------------------

/// Outcome of one GEMV case.
#[derive(Debug, Clone, Serialize)]
pub struct GemvCase {
    /// Kernel or path chosen by the dispatcher.
    pub kernel: String,
    /// The dispatcher's plan in words ([`Plan::describe`]: K splits, clusters, repacks).
    pub plan: String,
    /// Format label.
    pub format: String,
    /// Shape summary.
    pub shape: String,
    /// Rows of x.
    pub m: usize,
    /// Activation / output type.
    pub act: OutDtype,
    /// Whether a bias was added.
    pub bias: bool,
    /// ||y - y_ref|| / ||y_ref||.
    pub rel_err: f64,
    /// ||y - r(y_ref)|| / ||y_ref||, r rounding to the output type (through f32): the
    /// distance to what an exact kernel writes. The final rounding alone can put `rel_err`
    /// above the tolerance where a few large outputs dominate the norm (bf16 rounds by up
    /// to 2^-8 of a value, 3.9e-3); this one is then near 0 for a correct kernel.
    pub rel_err_out: f64,
    /// Allowed relative error (2e-3 for bf16, 1e-3 for f16).
    pub tol: f64,
    /// NaN outputs (never allowed).
    pub nan: usize,
    /// Outputs still holding the poison value.
    pub unwritten: usize,
    /// Error text when the case could not run.
    pub error: Option<String>,
}

impl GemvCase {
    /// True when every output was written and finite and the error is within tolerance:
    /// `rel_err`, or where the rounding to the output type alone exceeds it, `rel_err_out`.
    /// A real error shows in both. (A kernel whose f32 sum lands on the other side of a
    /// rounding midpoint than the f64 one is a unit off on that output in `rel_err_out`:
    /// on a layer of many outputs that weighs little in the norm.)
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && self.nan == 0
            && self.unwritten == 0
            && (self.rel_err <= self.tol || self.rel_err_out <= self.tol)
    }
}

/// Layers of the GEMV suite: every fused format at odd shapes, plus fallback formats.
/// N is one to two thousand so that the relative error (dominated by the final rounding to
/// the output type, ~1.5e-3 RMS for bf16) is averaged over enough outputs to be meaningful.
pub fn gemv_specs() -> Vec<Spec> {
    use super::dequant::{Fp8Scaling, Nvfp4Convention, ScaleDtype};
    let f16 = ScaleDtype::F16;
    let mut v = Vec::new();
    let nv = |n, k, convention| Spec::Nvfp4 { n, k, convention };
    let mx = |experts, n, k| Spec::Mxfp4 { experts, n, k };
    for (bits, n, k, group) in [
        (4u32, 2056, 200, Some(32)),
        (4, 1032, 136, None),
        (8, 2100, 36, Some(32)),
        (8, 1036, 260, Some(128)),
        // K % 32 == 0, group % 32 == 0: the tensor-core kernel without g_idx (grid.y
        // splits K for 2048; group -1 is K = 320).
        (4, 1032, 2048, Some(128)),
        // The persistent M = 1 kernel (`i4wp`) with groups of 3 and 6 halves of 128 k.
        (4, 1032, 1536, Some(384)),
        (4, 1048, 768, None),
        (4, 2056, 96, Some(32)),
        (4, 520, 320, None),
        (8, 1036, 1024, Some(128)),
        (8, 2052, 96, Some(32)),
    ] {
        for act_order in [false, true] {
            let v1 = !act_order;
            v.push(Spec::Gptq {
                bits,
                n,
                k,
                group,
                v1,
                act_order,
                scale_dtype: f16,
            });
        }
    }
    for (n, k, group, scale_dtype) in [
        (2056, 96, 32, f16),
        (1032, 256, 128, ScaleDtype::Bf16),
        // Above 4096x4096 at M <= 8 AWQ runs repacked on the GPTQ4 kernels: 64-k chunks
        // (group 64) and 32-k chunks (group 32, K % 64 != 0).
        (4104, 4160, 64, f16),
        (4104, 4128, 32, ScaleDtype::Bf16),
        // Split K (grid.y > 1) on the tensor-core kernel; f32 scales take the CUDA-core one.
        (1032, 2048, 128, f16),
        (2056, 96, 32, ScaleDtype::F32),
    ] {
        v.push(Spec::Awq {
            n,
            k,
            group: Some(group),
            scale_dtype,
        });
    }
    for convention in [Nvfp4Convention::Multiplier, Nvfp4Convention::Divisor] {
        v.push(nv(2049, 48, convention));
        v.push(nv(1025, 208, convention));
        // K % 128 == 0: the tensor-core kernel (one chunk: three warps idle; five chunks).
        v.push(nv(777, 128, convention));
        v.push(nv(1030, 640, convention));
        // K % 256 == 0: the 256-k variant at M <= 8.
        v.push(nv(520, 768, convention));
    }
    // M = 1 in 8-warp blocks: the activation-ring kernels (`wca`, `wa`). NVFP4 on 257 tiles
    // of 40 chunks (5 per warp: the fifth reuses the ring's first stage), MXFP4 on 33 tiles
    // of 16; the last tiles partial. The alternate pass (SAFEWEIGHTS_FP4_XR=0) takes
    // the plain 8-warp kernels here.
    v.push(nv(4104, 10240, Nvfp4Convention::Divisor));
    v.push(mx(1, 520, 4096));
    // M > 8 on fewer than 8192 rows with K >= 10240: 128-row blocks with K split in four
    // over grid.y (`x2r4k`): the NVFP4 layer above, and MXFP4 on 264 x 10368 (81 chunks:
    // unequal shares; the last block partial). The alternate pass
    // (SAFEWEIGHTS_FP4_KSPLIT=0) takes the one-tile kernels there.
    v.push(mx(1, 264, 10368));
    // 256-k chunks (M <= 8) with a next chunk to prefetch: 8200 rows keep 4 warps per
    // block, so each warp walks 3 chunks (and the last tile is partial).
    v.push(nv(8200, 3072, Nvfp4Convention::Divisor));
    v.push(mx(1, 8200, 3072));
    // M > 8 where one wave of 16-warp blocks holds the 64-column groups (`fp4ga` `c1w16`):
    // 8200 rows above (129 groups, K over the block's 16 warps), and two K splits as a
    // cluster (`c1w16_sk`) on 4104 rows (65 groups): NVFP4 4104 x 10240 above, and MXFP4
    // on 4104 x 4096 (4 chunks per warp; the last group partial). The third pass takes the
    // 8-warp kernels there (SAFEWEIGHTS_FP4_GA_W16=0).
    v.push(mx(1, 4104, 4096));
    // 8192 rows or more at M > 8: the small-block two-tile kernels (`x2s`, 4 warps on
    // 14337 rows and, on an H100 or H200, 2 warps on 25601: `fp4_small_warps`; with
    // SAFEWEIGHTS_FP4_SMALL=0, the alternate pass, the four-row-group ones, on 25601 rows
    // the 8-warp, 128-register `x2r4l`). On 25601 rows the two K warps of either walk 5
    // and 6 chunks (NVFP4) or 2 and 3 (MXFP4): both slots of the two-chunk loop, an odd
    // tail and an even one.
    v.push(nv(14337, 128, Nvfp4Convention::Multiplier));
    v.push(mx(1, 14337, 128));
    v.push(nv(25601, 1408, Nvfp4Convention::Divisor));
    v.push(mx(1, 25601, 640));
    v.push(mx(1, 2047, 96));
    v.push(mx(2, 1031, 320));
    // K % 128 == 0 (bf16: the tensor-core kernel; 640 also takes the 256-k variant at M <= 8).
    v.push(mx(1, 1030, 640));
    v.push(mx(2, 515, 512));
    for scaling in [
        Fp8Scaling::Tensor,
        Fp8Scaling::Channel,
        Fp8Scaling::Block {
            rows: 128,
            cols: 128,
        },
    ] {
        v.push(Spec::Fp8 {
            n: 2000,
            k: 304,
            scaling,
            scale_dtype: ScaleDtype::F32,
        });
        // K % 64 == 0: the tensor-core kernel (K = 384: three 128-column blocks, 128-k
        // chunks; K = 320: 64-k chunks); 8200 rows take the two-chunk ("u") loop at M > 8.
        for (n, k) in [(1030, 384), (1030, 320), (8200, 384), (8200, 320)] {
            v.push(Spec::Fp8 {
                n,
                k,
                scaling,
                scale_dtype: ScaleDtype::F32,
            });
        }
    }
    // Block widths other than 128: a power of two (the block index is a shift) and not
    // (a division), through the tensor-core kernel at every M on 1030 rows and through the
    // CUDA-core one at M < 4 on 8200 (layers of 8192 rows or fewer take the tensor-core
    // kernel at every M).
    for (rows, cols) in [(32, 256), (16, 192)] {
        for n in [1030, 8200] {
            v.push(Spec::Fp8 {
                n,
                k: 768,
                scaling: Fp8Scaling::Block { rows, cols },
                scale_dtype: ScaleDtype::F32,
            });
        }
    }
    for (symmetric, group, n, k) in [
        (true, Some(32), 2049, 96),
        (false, Some(128), 1031, 256),
        (true, None, 2047, 160),
        // K % 128 == 0 and group % 128 == 0: the tensor-core kernel.
        (true, Some(128), 1030, 640),
        (false, None, 777, 384),
        // K >= 8192: two m16 tiles per warp at every M.
        (false, Some(128), 520, 8192),
        // M > 8 with 400 / 800 two-tile row pairs or more: two / four row groups per block
        // (the last group partial).
        (true, Some(128), 12801, 256),
        (false, Some(128), 25601, 128),
        // 14336 rows or columns at M <= 8: repacked onto the GPTQ4 kernels (64-k chunks,
        // last column tile partial; 32-k chunks with zero points and K splits).
        (true, Some(128), 14344, 256),
        (false, Some(32), 528, 14336),
    ] {
        let scale_dtype = ScaleDtype::Bf16;
        v.push(Spec::Ct {
            bits: 4,
            n,
            k,
            group,
            symmetric,
            act_order: false,
            scale_dtype,
        });
    }
    // Fallback (dequant to f32 + cuBLAS) paths.
    v.push(Spec::Gptq {
        bits: 3,
        n: 2080,
        k: 160,
        group: Some(32),
        v1: true,
        act_order: true,
        scale_dtype: f16,
    });
    v.push(Spec::Ct {
        bits: 8,
        n: 2049,
        k: 37,
        group: Some(32),
        symmetric: false,
        act_order: true,
        scale_dtype: f16,
    });
    let block = Fp8Scaling::Block {
        rows: 128,
        cols: 128,
    };
    v.push(Spec::Fp8 {
        n: 2001,
        k: 45,
        scaling: block,
        scale_dtype: ScaleDtype::Bf16,
    });
    v
}

/// Extra GEMV layers, after [`gemv_specs`] (so that those keep their seeds): the FP4
/// tensor-core kernels on unusual scales, act-order GPTQ4 on a larger layer, GPTQ4 with two
/// K splits in clusters, and FP8 block scales on K = 4096.
/// NVFP4 with extreme E4M3 block scales (+-0, subnormal, 448 and negative ones among ordinary ones, under
/// an ordinary global scale: the scale pairs of the repacked decode are the scale times
/// 2^118 or 2^7, which must stay exact and finite); MXFP4 (bf16 activations only) with
/// every E8M0 scale multiplied by 2^`shift` (up to 2^16, so that the layer's delta is
/// above 0: `e8m0_rp_bf16x2` in gemv.cu). Every kernel family (128-k, 256-k, two tiles,
/// four row groups) sees them.
pub fn gemv_special_specs() -> Vec<(Spec, Extremes, u8)> {
    use super::dequant::Nvfp4Convention::{Divisor, Multiplier};
    use super::dequant::{Fp8Scaling, ScaleDtype};
    let nv = |n, k, convention| Spec::Nvfp4 { n, k, convention };
    let mx = |n, k| Spec::Mxfp4 { experts: 1, n, k };
    // GPTQ 4-bit, group 128: n, k, v1 zeros, act-order, scale type.
    let gq = |n, k, v1, act_order, scale_dtype| Spec::Gptq {
        bits: 4,
        n,
        k,
        group: Some(128),
        v1,
        act_order,
        scale_dtype,
    };
    let ct4_sym = |n, k| Spec::Ct {
        bits: 4,
        n,
        k,
        group: Some(128),
        symmetric: true,
        act_order: false,
        scale_dtype: ScaleDtype::Bf16,
    };
    vec![
        (nv(1030, 640, Multiplier), Extremes::Extreme, 0),
        // 513 tiles of 12 256-k chunks: at M = 1 on an H100 or H200 the 256-k kernels in
        // 6-warp blocks, two chunks per warp (`fp4_wide_warps`).
        (nv(8200, 3072, Divisor), Extremes::Extreme, 0),
        // 801 row pairs (the last one row): at M > 8 on an H100 or H200 the 2-warp
        // small-block kernel (`x2s`, `fp4_small_warps`); the alternate pass takes `x2r4l`.
        (nv(25601, 256, Multiplier), Extremes::Extreme, 0),
        (nv(14337, 128, Divisor), Extremes::Extreme, 0),
        (mx(8200, 3072), Extremes::Plain, 12),
        (mx(25601, 128), Extremes::Plain, 12),
        (mx(14337, 256), Extremes::Plain, 12),
        // Act-order GPTQ4 on a layer of LLM size (group 128, split K): the GEMV launched to
        // overlap the activation permute before it (programmatic dependent launch).
        (
            gq(4104, 4160, false, true, ScaleDtype::F16),
            Extremes::Plain,
            0,
        ),
        // Two K splits on 129 column tiles (the last partial): on an H100 or H200 the split
        // blocks of each tile run as one cluster and sum in distributed shared memory.
        (
            gq(8200, 2048, false, false, ScaleDtype::F16),
            Extremes::Plain,
            0,
        ),
        // 266 column tiles, plain and act-order: more than one wave of 8-warp GPTQ4 blocks on
        // an H100 or H200 (2 per SM), so M <= 8 takes the 4-warp 64-k kernel (`gptq4w4`).
        (
            gq(17000, 512, true, false, ScaleDtype::F16),
            Extremes::Plain,
            0,
        ),
        (
            gq(17000, 512, false, true, ScaleDtype::Bf16),
            Extremes::Plain,
            0,
        ),
        // FP8 block scales, 128- and 256-wide, on K = 4096: every lane of the CUDA-core
        // kernel (M <= 2; 8200 rows, since layers of 8192 rows or fewer take the
        // tensor-core kernel at every M) with whole batches of chunks and several blocks
        // per batch.
        (
            Spec::Fp8 {
                n: 8200,
                k: 4096,
                scaling: Fp8Scaling::Block {
                    rows: 128,
                    cols: 128,
                },
                scale_dtype: ScaleDtype::F32,
            },
            Extremes::Plain,
            0,
        ),
        (
            Spec::Fp8 {
                n: 8200,
                k: 4096,
                scaling: Fp8Scaling::Block {
                    rows: 32,
                    cols: 256,
                },
                scale_dtype: ScaleDtype::F32,
            },
            Extremes::Plain,
            0,
        ),
        // Symmetric compressed-tensors int4 repacked onto the GPTQ4 kernels that take every
        // zero point as 8 (`gemv_mma_gptq4*z_*`): 266 column tiles (the 4-warp 64-k kernel
        // at M <= 8 on an H100 or H200), and K = 14336 (K splits summed in the kernel).
        (ct4_sym(17024, 256), Extremes::Plain, 0),
        (ct4_sym(512, 14336), Extremes::Plain, 0),
    ]
}

/// `||y - y_ref|| / ||y_ref||` with `y_ref = x W^T + bias` in f64 from the oracle's weights.
pub fn gemv_rel_err(
    w: &[f32],
    x: &[f32],
    bias: Option<&[f32]>,
    y: &[f32],
    m: usize,
    n: usize,
    k: usize,
) -> f64 {
    gemv_rel_errs(w, x, bias, y, (m, n, k), |v| v).0
}

/// `gemv_rel_err` and the same against the reference passed through `round` (the rounding
/// to the output type: `GemvCase::rel_err_out`), from one pass over the reference.
pub fn gemv_rel_errs(
    w: &[f32],
    x: &[f32],
    bias: Option<&[f32]>,
    y: &[f32],
    (m, n, k): (usize, usize, usize),
    round: impl Fn(f64) -> f64 + Sync,
) -> (f64, f64) {
    use rayon::prelude::*;
    let (num, num_out, den) = (0..m * n)
        .into_par_iter()
        .map(|i| {
            let (mi, ni) = (i / n, i % n);
            let mut acc = bias.map_or(0.0, |b| b[ni] as f64);
            let row = &w[ni * k..(ni + 1) * k];
            let xr = &x[mi * k..(mi + 1) * k];
            for (a, b) in row.iter().zip(xr) {
                acc += *a as f64 * *b as f64;
            }
            let (d, d_out) = (y[i] as f64 - acc, y[i] as f64 - round(acc));
            (d * d, d_out * d_out, acc * acc)
        })
        .reduce(|| (0.0, 0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    let ratio = |num: f64| match (num, den) {
        (0.0, 0.0) => 0.0,
        (_, 0.0) => f64::INFINITY,
        _ => (num / den).sqrt(),
    };
    (ratio(num), ratio(num_out))
}

fn to_bytes16(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// GPU part of the GEMV suite.
pub fn run_gpu_gemv(gpu: &Gpu, oracle: OracleFn<'_>, seed: u64) -> GpuResult<Vec<GemvCase>> {
    use super::fixtures::Rng;
    use super::gemv::{cublas, gemv_async, Plan, Scratch};
    let blas = cublas(gpu)?;
    let mut out = Vec::new();
    let mut rng = Rng::new(seed ^ 0x6E6D_7600);
    let specs = gemv_specs()
        .into_iter()
        .map(|s| (s, Extremes::Plain, 0u8))
        .chain(gemv_special_specs());
    for (si, (spec, extremes, shift)) in specs.enumerate() {
        let mut fx = Fixture::generate(spec, extremes, seed.wrapping_add(7_000 + si as u64));
        let mut label = fx.packed().label();
        if let (Extremes::Extreme, Spec::Nvfp4 { convention, .. }) = (extremes, spec) {
            // Extreme block scales under an ordinary global scale (the fixture's extreme
            // global, an f32 subnormal, makes W overflow or vanish: a dequant test), 2^-6
            // as a multiplier or 2^6 as a divisor, which keeps |W| <= 42 and the outputs
            // within f16's range.
            fx.global = match convention {
                super::dequant::Nvfp4Convention::Multiplier => 1.0 / 64.0,
                super::dequant::Nvfp4Convention::Divisor => 64.0,
            };
            label.push_str(" (extreme scales)");
        }
        if shift > 0 {
            // MXFP4 scales (tensor 1) times 2^shift; NaN bytes stay NaN.
            for e in fx.data[1].iter_mut().filter(|e| **e != 0xFF) {
                *e += shift;
            }
            label.push_str(&format!(" (scales x 2^{shift})"));
        }
        let w = oracle(&fx);
        let dev = fx.packed().upload(gpu)?;
        let (n, k) = dev.out_shape();
        let mut scratch = Scratch::default();
        for act in OutDtype::ALL {
            // Scales up to 2^16 put the outputs beyond f16's range; the bf16 tensor-core
            // kernels are what the shifted layers are for.
            if shift > 0 && act == OutDtype::F16 {
                continue;
            }
            for m in 1..=16usize {
                // M = 3, 7, 11, 15: all-positive activations (mean 0.75, as after a gated
                // SiLU), so that kernels summing (magic + q) x and subtracting the zero
                // point's share afterwards are checked where that share is large.
                let positive = m % 4 == 3;
                let xb: Vec<u16> = (0..m * k)
                    .map(|_| {
                        let u = rng.unit_f32();
                        act.round_bits(if positive { 0.25 + u } else { u * 2.0 - 1.0 })
                    })
                    .collect();
                let xf: Vec<f32> = xb.iter().map(|&b| act.to_f32(b)).collect();
                let with_bias = m % 2 == 1;
                let bb: Vec<u16> = (0..n)
                    .map(|_| act.round_bits(rng.unit_f32() - 0.5))
                    .collect();
                let bf: Vec<f32> = bb.iter().map(|&b| act.to_f32(b)).collect();
                let x = gpu.upload_bytes(&to_bytes16(&xb))?;
                let bias = if with_bias {
                    Some(gpu.upload_bytes(&to_bytes16(&bb))?)
                } else {
                    None
                };
                let y = gpu.alloc(m * n * 2)?;
                gpu.fill_u16(&y, POISON)?;
                let mut c = GemvCase {
                    kernel: String::new(),
                    plan: String::new(),
                    format: label.clone(),
                    shape: format!("{n}x{k}"),
                    m,
                    act,
                    bias: with_bias,
                    rel_err: f64::NAN,
                    rel_err_out: f64::NAN,
                    tol: if act == OutDtype::Bf16 { 2e-3 } else { 1e-3 },
                    nan: 0,
                    unwritten: 0,
                    error: None,
                };
                let run = gemv_async(
                    gpu,
                    &dev,
                    act,
                    m,
                    &x,
                    bias.as_ref(),
                    &y,
                    &mut scratch,
                    Some(&blas),
                )
                .and_then(|p| gpu.sync("gemv").map(|_| p));
                match run {
                    Ok(p) => {
                        c.plan = p.describe();
                        c.kernel = match p {
                            Plan::Row { kernel }
                            | Plan::Column { kernel, .. }
                            | Plan::Mma { kernel, .. } => strip_m_suffix(&kernel),
                            Plan::DequantCublas => "dequant+cublas".into(),
                        };
                        let got: Vec<u16> = gpu
                            .download(&y)?
                            .chunks_exact(2)
                            .map(|b| u16::from_le_bytes([b[0], b[1]]))
                            .collect();
                        c.unwritten = got.iter().filter(|&&g| g == POISON).count();
                        let yf: Vec<f32> = got.iter().map(|&g| act.to_f32(g)).collect();
                        c.nan = yf.iter().filter(|v| v.is_nan()).count();
                        (c.rel_err, c.rel_err_out) = gemv_rel_errs(
                            &w,
                            &xf,
                            with_bias.then_some(&bf[..]),
                            &yf,
                            (m, n, k),
                            |v| act.to_f32(act.round_bits(v as f32)) as f64,
                        );
                    }
                    Err(e) if e.is_unavailable() => return Err(e),
                    Err(e) => {
                        c.kernel = "error".into();
                        c.error = Some(e.to_string());
                    }
                }
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// A kernel name without its `_m<MT>` instantiation suffix (`gemv_nvfp4_bf16_m4` ->
/// `gemv_nvfp4_bf16`), so that one table row covers every M; other names are kept whole.
fn strip_m_suffix(kernel: &str) -> String {
    match kernel.rsplit_once("_m") {
        Some((a, d)) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => a.to_string(),
        _ => kernel.to_string(),
    }
}

/// Table rows of the GEMV suite: (kernel, cases, max rel err, failed). Split kernels that
/// ran as thread-block clusters get a row of their own (`<kernel>+clusters`).
pub fn gemv_rows(cases: &[GemvCase]) -> Vec<(String, usize, f64, usize)> {
    let mut m: BTreeMap<String, (usize, f64, usize)> = BTreeMap::new();
    for c in cases {
        let path = if c.plan.contains(" in clusters") {
            "+clusters"
        } else {
            ""
        };
        let e = m
            .entry(format!("{}{path} [{}]", c.kernel, c.format))
            .or_insert((0, 0.0, 0));
        e.0 += 1;
        e.1 = if c.rel_err.is_nan() {
            f64::NAN
        } else {
            e.1.max(c.rel_err)
        };
        e.2 += usize::from(!c.passed());
    }
    m.into_iter().map(|(k, (a, b, c))| (k, a, b, c)).collect()
}

/// Prints the GEMV table.
pub fn print_gemv_table(rows: &[(String, usize, f64, usize)]) {
    println!(
        "{:<44} {:>6} {:>12} {:>8}",
        "gemv kernel [format]", "cases", "max rel err", "result"
    );
    for (k, cases, err, failed) in rows {
        let res = if *failed == 0 {
            "PASS".to_string()
        } else {
            format!("FAIL({failed})")
        };
        println!("{k:<44} {cases:>6} {err:>12.2e} {res:>8}");
    }
}

#[cfg(test)]
mod gemv_tests {
    use super::*;

    #[test]
    fn table_names_drop_only_the_m_suffix() {
        assert_eq!(strip_m_suffix("gemv_nvfp4_bf16_m16"), "gemv_nvfp4_bf16");
        assert_eq!(
            strip_m_suffix("gemv_mma_nvfp4w_bf16_n1_w4"),
            "gemv_mma_nvfp4w_bf16_n1_w4"
        );
        assert_eq!(strip_m_suffix("dequant+cublas"), "dequant+cublas");
    }

    #[test]
    fn the_final_rounding_alone_does_not_fail_a_case() {
        // One output just above the midpoint of 1 and 1 + 2^-7: rounded to bf16 (what an
        // exact kernel writes) it is 1 + 2^-7, 3.9e-3 away, above the 2e-3 tolerance.
        let act = OutDtype::Bf16;
        let exact = 1.0f32 + 2f32.powi(-8) + 2f32.powi(-20);
        let round = |v: f64| act.to_f32(act.round_bits(v as f32)) as f64;
        let written = act.to_f32(act.round_bits(exact));
        assert_eq!(written, 1.0 + 2f32.powi(-7));
        let (e, e_out) = gemv_rel_errs(&[1.0], &[exact], None, &[written], (1, 1, 1), round);
        assert!(e > 3.8e-3 && e_out == 0.0, "{e} {e_out}");
        let case = |y: f32| {
            let (rel_err, rel_err_out) =
                gemv_rel_errs(&[1.0], &[exact], None, &[y], (1, 1, 1), round);
            GemvCase {
                kernel: String::new(),
                plan: String::new(),
                format: String::new(),
                shape: String::new(),
                m: 1,
                act,
                bias: false,
                rel_err,
                rel_err_out,
                tol: 2e-3,
                nan: 0,
                unwritten: 0,
                error: None,
            }
        };
        assert!(case(written).passed());
        // One unit off in either direction is an error both measures see (on a layer of
        // many outputs, one such output weighs little in either norm).
        assert!(!case(1.0).passed());
        assert!(!case(1.0 + 2f32.powi(-6)).passed());
        assert!(!case(1.0 - 2f32.powi(-8)).passed());
        assert!(!case(f32::NAN).passed());
    }

    #[test]
    fn rel_err_is_zero_for_the_exact_product_and_grows_with_error() {
        let w = [1.0f32, 2.0, 3.0, 4.0];
        let x = [1.0f32, -1.0];
        let y = [-1.0f32, -1.0];
        assert_eq!(gemv_rel_err(&w, &x, None, &y, 1, 2, 2), 0.0);
        let y2 = [-1.0f32, -1.1];
        assert!(gemv_rel_err(&w, &x, None, &y2, 1, 2, 2) > 0.05);
        let y3 = [f32::NAN, -1.0];
        assert!(gemv_rel_err(&w, &x, None, &y3, 1, 2, 2).is_nan());
    }
}

fn plain_case(kernel: &str, format: &str, shape: String) -> CaseResult {
    CaseResult {
        kernel: kernel.into(),
        format: format.into(),
        shape,
        extremes: Extremes::Plain,
        seed: 0,
        elements: 0,
        mismatches: 0,
        unwritten: 0,
        max_ulp: 0,
        first_mismatch: None,
        error: None,
    }
}

/// Upload paths: a page-aligned range of a memory-mapped file (single copy from the
/// registered mapping) and unaligned ranges (pinned staging, several chunks), each read
/// back and compared byte for byte.
pub fn run_gpu_upload(gpu: &Gpu, seed: u64) -> GpuResult<Vec<CaseResult>> {
    use super::upload::{Uploader, PAGE, STAGING_BYTES};
    use std::io::Write;
    let mut rng = super::fixtures::Rng::new(seed ^ 0x0075_706C);
    let total = 3 * STAGING_BYTES + 5 * PAGE;
    let bytes = rng.bytes(total);
    let mut file = tempfile::tempfile().map_err(|e| GpuError::driver("tempfile", e))?;
    file.write_all(&bytes)
        .map_err(|e| GpuError::driver("tempfile write", e))?;
    // SAFETY: the temporary file is private to this process and not modified while mapped.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| GpuError::driver("mmap", e))?;
    let mut up = Uploader::new(gpu)?;
    let ranges = [
        ("upload:direct", PAGE, 2 * STAGING_BYTES),
        ("upload:staged", PAGE + 8, 2 * STAGING_BYTES + 12_345),
        ("upload:staged-small", 3, 1000),
    ];
    let mut out = Vec::new();
    for (name, off, len) in ranges {
        let before = up.stats;
        let src = &map[off..off + len];
        let mut r = plain_case(name, "bytes", format!("{len} B at offset {off}"));
        let dev = up.upload(src)?;
        gpu.sync("upload")?;
        let back = gpu.download(&dev)?;
        r.elements = len;
        r.mismatches =
            back.iter().zip(src).filter(|(a, b)| a != b).count() + back.len().abs_diff(len);
        let direct = up.stats.direct_tensors > before.direct_tensors;
        if name == "upload:direct" && !direct {
            r.error = Some(
                "the page-aligned range was staged: cuMemHostRegister refused the mapping".into(),
            );
        }
        if name != "upload:direct" && direct {
            r.error = Some("an unaligned range took the direct path".into());
        }
        out.push(r);
    }
    Ok(out)
}

/// FP8 GEMV on layers (8200x1024) with and without NaN codes: the dispatcher's per-layer scan must send
/// a layer holding one to the kernel that tests every chunk (`gemv_fp8_*`), whose outputs
/// are NaN exactly on the rows holding a NaN code and match the f64 reference elsewhere,
/// and a layer without one to `gemv_fp8n_*` (unless `SAFEWEIGHTS_FP8_NANSCAN=0` keeps every
/// layer on the testing kernel). M = 1 and 2 (the CUDA-core kernel) and M = 4 and 16 (the
/// tensor-core kernels, `gemv_mma_fp8*` and `gemv_mma_fp8n*`), both activation types;
/// `mismatches` counts wrong rows.
pub fn run_gpu_fp8_nan(gpu: &Gpu, oracle: OracleFn<'_>, seed: u64) -> GpuResult<Vec<CaseResult>> {
    use super::dequant::{Fp8Scaling, ScaleDtype};
    use super::fixtures::Rng;
    use super::gemv::{fp8_nan_scan, gemv_async, Plan, Scratch};
    let mut rng = Rng::new(seed ^ 0x0066_7038);
    let mut out = Vec::new();
    for (si, with_nan) in [true, false].into_iter().enumerate() {
        // More than 8192 rows, so that M = 1 and 2 take the CUDA-core kernels (src/cuda/gemv.rs).
        let spec = Spec::Fp8 {
            n: 8200,
            k: 1024,
            scaling: Fp8Scaling::Block {
                rows: 128,
                cols: 128,
            },
            scale_dtype: ScaleDtype::F32,
        };
        // A plain fixture (finite scales, no NaN code), then one NaN code in every other row.
        let mut fx = Fixture::generate(spec, Extremes::Plain, seed.wrapping_add(9_000 + si as u64));
        let (n, k) = (8200usize, 1024usize);
        let nan_rows: Vec<bool> = (0..n).map(|r| with_nan && r % 2 == 0).collect();
        for (r, &nan) in nan_rows.iter().enumerate() {
            if nan {
                let col = rng.below(k);
                fx.data[0][r * k + col] = if rng.below(2) == 0 { 0x7F } else { 0xFF };
            }
        }
        let w = oracle(&fx);
        let dev = fx.packed().upload(gpu)?;
        let mut scratch = Scratch::default();
        for act in OutDtype::ALL {
            for m in [1usize, 2, 4, 16] {
                let kind = if with_nan {
                    "nan codes"
                } else {
                    "no nan codes"
                };
                let mut r = plain_case("gemv:fp8-nan-scan", kind, format!("{n}x{k} m{m} {act:?}"));
                let xb: Vec<u16> = (0..m * k)
                    .map(|_| act.round_bits(0.25 + rng.unit_f32()))
                    .collect();
                let xf: Vec<f32> = xb.iter().map(|&b| act.to_f32(b)).collect();
                let x = gpu.upload_bytes(&to_bytes16(&xb))?;
                let y = gpu.alloc(m * n * 2)?;
                gpu.fill_u16(&y, POISON)?;
                let pl = gemv_async(gpu, &dev, act, m, &x, None, &y, &mut scratch, None)
                    .and_then(|p| gpu.sync("gemv").map(|_| p))?;
                let nan_free = !with_nan && fp8_nan_scan();
                let want = match (m >= 4, nan_free) {
                    (false, true) => "gemv_fp8n_",
                    (false, false) => "gemv_fp8_",
                    (true, true) => "gemv_mma_fp8n",
                    (true, false) => "gemv_mma_fp8",
                };
                let ok = match &pl {
                    Plan::Row { kernel } | Plan::Mma { kernel, .. } => {
                        kernel.starts_with(want)
                            && (nan_free || !kernel.starts_with("gemv_mma_fp8n"))
                    }
                    _ => false,
                };
                if !ok {
                    r.error = Some(format!("dispatched to {}, not {want}*", pl.describe()));
                }
                let got: Vec<f32> = gpu
                    .download(&y)?
                    .chunks_exact(2)
                    .map(|b| act.to_f32(u16::from_le_bytes([b[0], b[1]])))
                    .collect();
                r.elements = m * n;
                for mi in 0..m {
                    for (row, &nan) in nan_rows.iter().enumerate() {
                        let g = got[mi * n + row];
                        let ok = if nan {
                            g.is_nan()
                        } else {
                            let (want, size) = w[row * k..(row + 1) * k]
                                .iter()
                                .zip(&xf[mi * k..(mi + 1) * k])
                                .map(|(a, b)| {
                                    (*a as f64 * *b as f64, (*a as f64 * *b as f64).abs())
                                })
                                .fold((0.0, 0.0), |s, v| (s.0 + v.0, s.1 + v.1));
                            // One output rounding (2^-8 bf16, 2^-11 f16, relative) and the f32
                            // sums' (far below 1e-5 of the sum of |products|).
                            let rel = if act == OutDtype::Bf16 { 4e-3 } else { 5e-4 };
                            g.is_finite()
                                && (g as f64 - want).abs() <= rel * want.abs() + 1e-5 * size
                        };
                        r.mismatches += usize::from(!ok);
                    }
                }
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// The kernel cache: after this process loaded the modules, loading them again must come
/// from the disk cache (unless no cache directory is writable, which is reported).
pub fn run_gpu_cache(gpu: &Gpu) -> GpuResult<Vec<CaseResult>> {
    use super::kernels::ModuleId;
    let mut out = Vec::new();
    for id in ModuleId::ALL {
        let mut r = plain_case("nvrtc-cache", id.name(), gpu.info().arch());
        match super::nvrtc_cache::image_for(id, gpu.info()) {
            Ok((_, "cache")) => r.elements = 1,
            Ok((_, origin)) => {
                r.error = Some(format!(
                    "second load came from {origin}, not the cache ({:?})",
                    super::nvrtc_cache::cache_dir()
                ))
            }
            Err(e) => r.error = Some(e.to_string()),
        }
        out.push(r);
    }
    Ok(out)
}
