//! The GPU benchmark: ceilings measured in the same run (device-to-device copy and a
//! saturating read kernel), then every dequant kernel on an 8192 x 28672 layer, then the
//! GEMV kernels against cuBLAS bf16 (see [`super::gemv`]).
//!
//! Method: CUDA events around each launch, warm-up first, at least 50 timed runs, median
//! with a distribution-free 95% confidence interval (order statistics), inputs rotated over
//! more than twice the L2 size so no run is served from cache.

use super::dequant::{dequant_async, kernel_name, DevicePacked, OutDtype};
use super::error::GpuResult;
use super::fixtures::{Extremes, Fixture, Spec};
use super::runtime::{DevBuf, DeviceInfo, Gpu, KArg};
use cudarc::driver::LaunchConfig;
use serde::{Deserialize, Serialize};

/// Median and its 95% confidence interval, in microseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Timing {
    /// Median.
    pub median_us: f64,
    /// Lower end of the 95% CI of the median.
    pub ci_lo_us: f64,
    /// Upper end of the 95% CI of the median.
    pub ci_hi_us: f64,
    /// Timed runs.
    pub runs: usize,
}

/// Median and order-statistic 95% CI of `samples` (microseconds).
pub fn summarize(samples: &[f64]) -> Timing {
    let mut s = samples.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    if n == 0 {
        return Timing {
            median_us: f64::NAN,
            ci_lo_us: f64::NAN,
            ci_hi_us: f64::NAN,
            runs: 0,
        };
    }
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    // Ranks n/2 -+ 1.96 sqrt(n)/2 (normal approximation to the binomial).
    let half = 1.96 * (n as f64).sqrt() / 2.0;
    let lo = ((n as f64 / 2.0 - half).floor().max(0.0)) as usize;
    let hi = ((n as f64 / 2.0 + half).ceil() as usize).min(n - 1);
    Timing {
        median_us: median,
        ci_lo_us: s[lo],
        ci_hi_us: s[hi],
        runs: n,
    }
}

/// One measured kernel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// Stable key used by the perf gate, e.g. `dequant/gptq4/bf16/8192x28672`.
    pub key: String,
    /// Kernel function.
    pub kernel: String,
    /// Bytes moved per run (packed bytes read + output bytes written, for GEMV also
    /// activations).
    pub bytes: u64,
    /// Timing.
    pub timing: Timing,
    /// Achieved bandwidth in GB/s.
    pub gbps: f64,
    /// Bandwidth as a percentage of the copy ceiling measured in this run.
    pub pct_of_copy: f64,
    /// Bandwidth as a percentage of the read ceiling measured in this run.
    pub pct_of_read: f64,
    /// Speedup over cuBLAS bf16 on the same shape (GEMV only).
    pub speedup_vs_cublas: Option<f64>,
    /// GEMV only: bandwidth as a percentage of the read kernel's over the same number of
    /// weight bytes, rotated the same way (launch and ramp included in both), measured in
    /// this run. The read ceiling above comes from a 2 GiB read, where they weigh nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pct_of_same_size_read: Option<f64>,
}

/// A ceiling measurement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ceiling {
    /// Bytes moved per run.
    pub bytes: u64,
    /// Timing.
    pub timing: Timing,
    /// GB/s at the median.
    pub gbps: f64,
}

/// Everything one bench run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    /// Card name.
    pub device: String,
    /// Short card name (baseline file suffix).
    pub gpu: String,
    /// Driver version.
    pub driver_version: i32,
    /// UTC date and time of the run.
    pub date: String,
    /// Device-to-device copy (bytes read + written).
    pub copy: Ceiling,
    /// Saturating read kernel.
    pub read: Ceiling,
    /// Dequant kernels.
    pub dequant: Vec<Entry>,
    /// How the GEMV activations stood before each timed run: `fresh` (written by a kernel
    /// just before, as by the op before a GEMV in a model; the default since session 16)
    /// or `warm` (left in L2 by the previous run; `bench --warm-activations`, and every
    /// report before session 16, which has no such field).
    #[serde(default)]
    pub activations: Activations,
    /// GEMV kernels and cuBLAS references.
    pub gemv: Vec<Entry>,
}

/// How a bench run's GEMV activations stood before each timed run (`BenchReport::activations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activations {
    /// Written by a kernel just before the run (the bench's default since session 16).
    Fresh,
    /// Left in L2 by the previous run (`bench --warm-activations`; every report before
    /// session 16, which has no such field).
    #[default]
    Warm,
}

impl std::fmt::Display for Activations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Activations::Fresh => "fresh",
            Activations::Warm => "warm",
        })
    }
}

impl BenchReport {
    /// Every entry (dequant, then GEMV).
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.dequant.iter().chain(self.gemv.iter())
    }
}

/// UTC `YYYY-MM-DD HH:MM` of now (no time-zone database needed).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Times `launch(i)` with events: `warmup` untimed calls, then `runs` timed ones, each
/// bracketed by its own event pair; all events are read after one final wait. The timed
/// launches queue behind a `bench_hold` kernel (HOLD_NS_PER_RUN per run, at least
/// HOLD_MIN_NS) while the host submits them, so the GPU runs them back to back: a host
/// stall while submitting (another process, a driver lock) cannot land inside an event pair.
pub fn time_launches(
    gpu: &Gpu,
    warmup: usize,
    runs: usize,
    launch: impl FnMut(usize) -> GpuResult<()>,
) -> GpuResult<Timing> {
    time_launches_after(gpu, warmup, runs, |_| Ok(()), launch)
}

/// [`time_launches`] with `prep(i)` queued before run i's start event (so not timed).
pub fn time_launches_after(
    gpu: &Gpu,
    warmup: usize,
    runs: usize,
    mut prep: impl FnMut(usize) -> GpuResult<()>,
    mut launch: impl FnMut(usize) -> GpuResult<()>,
) -> GpuResult<Timing> {
    for i in 0..warmup {
        prep(i)?;
        launch(i)?;
    }
    gpu.sync("bench warm-up")?;
    hold_stream(gpu, (runs as u64 * HOLD_NS_PER_RUN).max(HOLD_MIN_NS))?;
    let mut evs = Vec::with_capacity(runs);
    for i in 0..runs {
        let (a, b) = (gpu.event()?, gpu.event()?);
        prep(warmup + i)?;
        gpu.record(&a)?;
        launch(warmup + i)?;
        gpu.record(&b)?;
        evs.push((a, b));
    }
    gpu.sync("bench timed runs")?;
    let mut us = Vec::with_capacity(runs);
    for (a, b) in &evs {
        us.push(gpu.elapsed_ms(a, b)? as f64 * 1000.0);
    }
    Ok(summarize(&us))
}

/// Queues `bench_hold` for `ns` nanoseconds: the launches queued after it run back to back.
fn hold_stream(gpu: &Gpu, ns: u64) -> GpuResult<()> {
    gpu.launch(
        "bench_hold",
        LaunchConfig {
            grid_dim: (1, 1, 1),
            block_dim: (32, 1, 1),
            shared_mem_bytes: 0,
        },
        &[KArg::U64(ns)],
    )
}

/// Hold before the timed launches (`time_launches`): far above the host's submission time
/// per launch (tens of microseconds at most), so that the queue stays ahead of the GPU.
const HOLD_NS_PER_RUN: u64 = 150_000;
const HOLD_MIN_NS: u64 = 5_000_000;

fn gbps(bytes: u64, t: &Timing) -> f64 {
    bytes as f64 / (t.median_us * 1e-6) / 1e9
}

/// Device-to-device copy of `bytes` (counted twice: read and written).
pub fn measure_copy(gpu: &Gpu, bytes: usize, runs: usize) -> GpuResult<Ceiling> {
    let src = gpu.alloc(bytes)?;
    let mut dst = gpu.alloc(bytes)?;
    gpu.fill_u16(&src, 0x3C00)?;
    let t = time_launches(gpu, 5, runs, |_| gpu.copy_dtod(&src, &mut dst))?;
    let moved = 2 * bytes as u64;
    Ok(Ceiling {
        bytes: moved,
        gbps: gbps(moved, &t),
        timing: t,
    })
}

/// Times the read kernel over `per` bytes at `src + (i % copies) * per` for run i.
fn time_read_probe(
    gpu: &Gpu,
    src: &DevBuf,
    per: usize,
    copies: usize,
    runs: usize,
) -> GpuResult<Timing> {
    let blocks = (gpu.info().sm_count.max(1) as u32) * 8;
    let sink = gpu.alloc(blocks as usize * 4)?;
    let cfg = LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (512, 1, 1),
        shared_mem_bytes: 0,
    };
    time_launches(gpu, 5, runs, |it| {
        gpu.launch(
            "read_probe",
            cfg,
            &[
                KArg::Ptr(src.ptr() + ((it % copies) * per) as u64),
                KArg::U64((per / 16) as u64),
                KArg::Ptr(sink.ptr()),
            ],
        )
    })
}

/// The saturating read kernel over `bytes`.
pub fn measure_read(gpu: &Gpu, bytes: usize, runs: usize) -> GpuResult<Ceiling> {
    let src = gpu.alloc(bytes)?;
    gpu.fill_u16(&src, 0x1234)?;
    let t = time_read_probe(gpu, &src, bytes, 1, runs)?;
    Ok(Ceiling {
        bytes: bytes as u64,
        gbps: gbps(bytes as u64, &t),
        timing: t,
    })
}

/// The read kernel over `bytes` (rounded up to 256), rotated over enough copies to exceed
/// `min_total` bytes like the GEMV weights, so no run is served from L2. Returns the timing
/// and the bytes read per run.
pub fn measure_read_rotated(
    gpu: &Gpu,
    bytes: usize,
    min_total: usize,
    runs: usize,
) -> GpuResult<(Timing, u64)> {
    let per = bytes.div_ceil(256) * 256;
    let copies = min_total.div_ceil(per).clamp(2, 64);
    let src = gpu.alloc(per * copies)?;
    gpu.fill_u16(&src, 0x1234)?;
    Ok((time_read_probe(gpu, &src, per, copies, runs)?, per as u64))
}

/// The dequant bench layers: every format on `n x k`.
pub fn dequant_bench_specs(n: usize, k: usize) -> Vec<Spec> {
    use super::dequant::{Fp8Scaling, Nvfp4Convention, ScaleDtype};
    let mut v = Vec::new();
    for bits in [2u32, 3, 4, 8] {
        v.push(Spec::Gptq {
            bits,
            n,
            k,
            group: Some(128),
            v1: true,
            act_order: false,
            scale_dtype: ScaleDtype::F16,
        });
    }
    v.push(Spec::Gptq {
        bits: 4,
        n,
        k,
        group: Some(128),
        v1: true,
        act_order: true,
        scale_dtype: ScaleDtype::F16,
    });
    v.push(Spec::Awq {
        n,
        k,
        group: Some(128),
        scale_dtype: ScaleDtype::F16,
    });
    for convention in [Nvfp4Convention::Multiplier, Nvfp4Convention::Divisor] {
        v.push(Spec::Nvfp4 { n, k, convention });
    }
    v.push(Spec::Mxfp4 { experts: 1, n, k });
    for scaling in [
        Fp8Scaling::Tensor,
        Fp8Scaling::Channel,
        Fp8Scaling::Block {
            rows: 128,
            cols: 128,
        },
    ] {
        v.push(Spec::Fp8 {
            n,
            k,
            scaling,
            scale_dtype: ScaleDtype::F32,
        });
    }
    for (bits, symmetric, group) in [
        (4u32, true, Some(128)),
        (4, false, Some(128)),
        (8, true, None),
    ] {
        v.push(Spec::Ct {
            bits,
            n,
            k,
            group,
            symmetric,
            act_order: false,
            scale_dtype: ScaleDtype::Bf16,
        });
    }
    v
}

/// Uploads enough copies of a layer that they span more than `min_bytes`.
pub fn rotation(gpu: &Gpu, fx: &Fixture, min_bytes: usize) -> GpuResult<Vec<DevicePacked>> {
    let packed = fx.packed();
    let copies = min_bytes
        .div_ceil(packed.packed_bytes().max(1))
        .clamp(2, 64);
    let mut up = super::upload::Uploader::new(gpu)?;
    (0..copies).map(|_| packed.upload_with(&mut up)).collect()
}

/// Benchmarks every dequant kernel on `n x k`; percentages against `copy` / `read`.
pub fn bench_dequant(
    gpu: &Gpu,
    n: usize,
    k: usize,
    runs: usize,
    copy: &Ceiling,
    read: &Ceiling,
    only: Option<&str>,
) -> GpuResult<Vec<Entry>> {
    let l2 = gpu.info().l2_bytes.max(1) as usize;
    let mut out = Vec::new();
    for (i, spec) in dequant_bench_specs(n, k).into_iter().enumerate() {
        let fx = Fixture::generate(spec, Extremes::Plain, 0xBE7C_0000 + i as u64);
        if only.is_some_and(|o| !fx.packed().label().contains(o)) {
            continue;
        }
        let layers = rotation(gpu, &fx, 3 * l2)?;
        let (rows, cols) = layers[0].out_shape();
        let dst: DevBuf = gpu.alloc(rows * cols * 2)?;
        for dtype in OutDtype::ALL {
            let t = time_launches(gpu, 5, runs, |it| {
                dequant_async(gpu, &layers[it % layers.len()], dtype, &dst)
            })?;
            let bytes = (layers[0].packed_bytes() + rows * cols * 2) as u64;
            let g = gbps(bytes, &t);
            out.push(Entry {
                key: format!(
                    "dequant/{}/{}/{rows}x{cols}",
                    fx.packed().label(),
                    dtype.suffix()
                ),
                kernel: kernel_name(&layers[0], dtype).to_string(),
                bytes,
                gbps: g,
                pct_of_copy: 100.0 * g / copy.gbps,
                pct_of_read: 100.0 * g / read.gbps,
                timing: t,
                speedup_vs_cublas: None,
                pct_of_same_size_read: None,
            });
        }
    }
    Ok(out)
}

/// The GEMV bench shapes (N x K).
pub const GEMV_SHAPES: [(usize, usize); 5] = [
    (4096, 4096),
    (8192, 8192),
    (14336, 4096),
    (4096, 14336),
    (28672, 8192),
];

/// Copies `src` into `dst` with a kernel (`bench_rewrite`), so that `dst` is written by SMs
/// as a model's previous op would write it.
fn rewrite(gpu: &Gpu, src: &DevBuf, dst: &DevBuf) -> GpuResult<()> {
    let n16 = (src.len().min(dst.len()) / 16) as u64;
    gpu.launch(
        "bench_rewrite",
        LaunchConfig {
            grid_dim: ((n16.div_ceil(256)).clamp(1, 1024) as u32, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        },
        &[KArg::Ptr(dst.ptr()), KArg::Ptr(src.ptr()), KArg::U64(n16)],
    )
}

/// The GEMV bench batch sizes.
pub const GEMV_MS: [usize; 3] = [1, 4, 16];

/// The GEMV bench layers on `n x k` (group 128 where the format has groups).
pub fn gemv_bench_specs(n: usize, k: usize) -> Vec<Spec> {
    use super::dequant::{Fp8Scaling, Nvfp4Convention, ScaleDtype};
    vec![
        Spec::Gptq {
            bits: 4,
            n,
            k,
            group: Some(128),
            v1: true,
            act_order: false,
            scale_dtype: ScaleDtype::F16,
        },
        Spec::Gptq {
            bits: 4,
            n,
            k,
            group: Some(128),
            v1: true,
            act_order: true,
            scale_dtype: ScaleDtype::F16,
        },
        Spec::Gptq {
            bits: 8,
            n,
            k,
            group: Some(128),
            v1: true,
            act_order: false,
            scale_dtype: ScaleDtype::F16,
        },
        Spec::Awq {
            n,
            k,
            group: Some(128),
            scale_dtype: ScaleDtype::F16,
        },
        Spec::Nvfp4 {
            n,
            k,
            convention: Nvfp4Convention::Multiplier,
        },
        Spec::Nvfp4 {
            n,
            k,
            convention: Nvfp4Convention::Divisor,
        },
        Spec::Mxfp4 { experts: 1, n, k },
        Spec::Fp8 {
            n,
            k,
            scaling: Fp8Scaling::Tensor,
            scale_dtype: ScaleDtype::F32,
        },
        Spec::Fp8 {
            n,
            k,
            scaling: Fp8Scaling::Block {
                rows: 128,
                cols: 128,
            },
            scale_dtype: ScaleDtype::F32,
        },
        Spec::Ct {
            bits: 4,
            n,
            k,
            group: Some(128),
            symmetric: true,
            act_order: false,
            scale_dtype: ScaleDtype::Bf16,
        },
    ]
}

/// Which GEMV layers `bench_gemv` times (`None`: all).
#[derive(Debug, Default, Clone, Copy)]
pub struct GemvFilter<'a> {
    /// Only formats whose label contains this text.
    pub only: Option<&'a str>,
    /// Only this shape (N, K).
    pub shape: Option<(usize, usize)>,
    /// Only this M.
    pub m: Option<usize>,
    /// Leave the activations as the previous run left them (in L2) instead of writing them
    /// afresh before each timed run.
    pub warm_activations: bool,
}

/// cuBLAS bf16 GEMM on the GEMV shapes (the reference users would otherwise run), then
/// every GEMV kernel (bf16 activations) with its speedup over that reference.
pub fn bench_gemv(
    gpu: &Gpu,
    runs: usize,
    read: &Ceiling,
    copy: &Ceiling,
    filter: &GemvFilter,
) -> GpuResult<Vec<Entry>> {
    let only = filter.only;
    let ms: Vec<usize> = GEMV_MS
        .into_iter()
        .filter(|m| filter.m.map_or(true, |f| f == *m))
        .collect();
    use super::gemv::{cublas, cublas_gemm, gemv_async, plan, Plan, Scratch};
    let blas = cublas(gpu)?;
    let l2 = gpu.info().l2_bytes.max(1) as usize;
    let act = OutDtype::Bf16;
    let mut out = Vec::new();
    let mut rng = super::fixtures::Rng::new(0x6E6D_7631);
    let shapes = match filter.shape {
        Some(s) => vec![s],
        None => GEMV_SHAPES.to_vec(),
    };
    for (n, k) in shapes {
        let xs: Vec<u8> = (0..16 * k)
            .flat_map(|_| act.round_bits(rng.unit_f32() * 2.0 - 1.0).to_le_bytes())
            .collect();
        let x = gpu.upload_bytes(&xs)?;
        let y = gpu.alloc(16 * n * 2)?;
        // Before each timed run (untimed), a kernel writes the activations afresh, as the
        // op before a GEMV does in a model: read again and again by the previous runs
        // instead, their L2 lines made the M = 16 GEMVs up to 10% faster or slower
        // depending on the kernel (docs/perf.md, session 16).
        let x_src = match filter.warm_activations {
            false => Some(gpu.upload_bytes(&xs)?),
            true => None,
        };
        let fresh = |_: usize| match &x_src {
            Some(src) => rewrite(gpu, src, &x),
            None => Ok(()),
        };
        // cuBLAS bf16 reference over rotated dense weights.
        let dense_bytes = n * k * 2;
        let copies = (3 * l2).div_ceil(dense_bytes).clamp(2, 16);
        let mut dense = Vec::new();
        for _ in 0..copies {
            let d = gpu.alloc(dense_bytes)?;
            gpu.fill_u16(&d, 0x3C00 ^ (rng.next_u64() as u16 & 0x00FF))?;
            dense.push(d);
        }
        let mut cublas_t = std::collections::HashMap::new();
        for &m in &ms {
            let t = time_launches_after(gpu, 5, runs, fresh, |it| {
                cublas_gemm(
                    &blas,
                    act,
                    dense[it % dense.len()].ptr(),
                    x.ptr(),
                    y.ptr(),
                    m,
                    n,
                    k,
                )
            })?;
            let bytes = (dense_bytes + m * k * 2 + m * n * 2) as u64;
            let g = gbps(bytes, &t);
            cublas_t.insert(m, t.median_us);
            out.push(Entry {
                key: format!("cublas-bf16/{n}x{k}/m{m}"),
                kernel: "cublasGemmEx bf16".into(),
                bytes,
                gbps: g,
                pct_of_copy: 100.0 * g / copy.gbps,
                pct_of_read: 100.0 * g / read.gbps,
                timing: t,
                speedup_vs_cublas: Some(1.0),
                pct_of_same_size_read: None,
            });
        }
        drop(dense);
        for (i, spec) in gemv_bench_specs(n, k).into_iter().enumerate() {
            let fx = Fixture::generate(spec, Extremes::Plain, 0x6E6D_0000 + i as u64);
            if only.is_some_and(|o| !fx.packed().label().contains(o)) {
                continue;
            }
            let layers = rotation(gpu, &fx, 3 * l2)?;
            let mut scratch = Scratch::default();
            // The same-size read: the layer's packed bytes, once per layer.
            let mut same_size: Option<f64> = None;
            for &m in &ms {
                if plan(gpu, &layers[0], act, m) == Plan::DequantCublas {
                    continue;
                }
                // Every rotated copy is launched once before the timed runs: the per-layer
                // preparation of the first launch (repacks, the FP8 NaN scan) is not timed.
                // The table names the plan the launches took.
                let mut pl = Plan::DequantCublas;
                let mut run = |it: usize| {
                    gemv_async(
                        gpu,
                        &layers[it % layers.len()],
                        act,
                        m,
                        &x,
                        None,
                        &y,
                        &mut scratch,
                        None,
                    )
                };
                let t = time_launches_after(gpu, layers.len().max(5), runs, fresh, |it| {
                    pl = run(it)?;
                    Ok(())
                })?;
                if let Ok(spec) = std::env::var("SAFEWEIGHTS_BENCH_AB") {
                    let key = format!("{}/{n}x{k}/m{m}", fx.packed().label());
                    ab_probe(gpu, &key, &spec, layers.len().max(5), runs, fresh, |it| {
                        run(it).map(|_| ())
                    })?;
                }
                if std::env::var("SAFEWEIGHTS_TL_PROBE")
                    .is_ok_and(|v| matches!(v.as_str(), "1" | "2" | "3" | "4"))
                {
                    let key = format!("{}/{n}x{k}/m{m}", fx.packed().label());
                    tl_probe(gpu, &key, fresh, |it| run(it).map(|_| ()))?;
                }
                let bytes = (layers[0].packed_bytes() + m * k * 2 + m * n * 2) as u64;
                let g = gbps(bytes, &t);
                if same_size.is_none() {
                    let (rt, rb) =
                        measure_read_rotated(gpu, layers[0].packed_bytes(), 3 * l2, runs)?;
                    same_size = Some(gbps(rb, &rt));
                }
                out.push(Entry {
                    pct_of_same_size_read: same_size.map(|r| 100.0 * g / r),
                    key: format!("gemv/{}/{n}x{k}/m{m}", fx.packed().label()),
                    kernel: pl.describe(),
                    bytes,
                    gbps: g,
                    pct_of_copy: 100.0 * g / copy.gbps,
                    pct_of_read: 100.0 * g / read.gbps,
                    speedup_vs_cublas: cublas_t.get(&m).map(|c| c / t.median_us),
                    timing: t,
                });
            }
        }
    }
    Ok(out)
}

/// The in-process A/B probe (`SAFEWEIGHTS_BENCH_AB=VAR=VAL[,VAR=VAL...][;...]`, diagnostic
/// output on stderr only): after an entry's own timing, `SAFEWEIGHTS_BENCH_AB_ROUNDS`
/// rounds (default 5) each time the launches as configured, then once per `;`-separated
/// variant with its variables set in this process's environment (the plan reads its knobs
/// at every launch), restored after it. The rounds alternate on the same rotated layers
/// and buffers, so a variant is compared without the allocation-to-allocation spread of
/// separate bench processes. Prints each round's medians and, per variant, the median of
/// its rounds and of its differences from the default.
#[allow(clippy::too_many_arguments)]
fn ab_probe(
    gpu: &Gpu,
    key: &str,
    spec: &str,
    warmup: usize,
    runs: usize,
    mut prep: impl FnMut(usize) -> GpuResult<()>,
    mut launch: impl FnMut(usize) -> GpuResult<()>,
) -> GpuResult<()> {
    let variants: Vec<Vec<(String, String)>> = std::iter::once(Vec::new())
        .chain(spec.split(';').filter(|v| !v.trim().is_empty()).map(|v| {
            v.split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
                .collect()
        }))
        .collect();
    let rounds = std::env::var("SAFEWEIGHTS_BENCH_AB_ROUNDS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(5)
        .clamp(1, 50);
    let mut med = vec![Vec::new(); variants.len()];
    for r in 0..rounds {
        let mut line = format!("ab {key} round {r}:");
        for (vi, vars) in variants.iter().enumerate() {
            let saved: Vec<_> = vars
                .iter()
                .map(|(a, _)| (a.clone(), std::env::var_os(a)))
                .collect();
            for (a, b) in vars {
                std::env::set_var(a, b);
            }
            let t = time_launches_after(gpu, warmup, runs, &mut prep, &mut launch);
            for (a, old) in saved {
                match old {
                    Some(v) => std::env::set_var(&a, v),
                    None => std::env::remove_var(&a),
                }
            }
            let t = t?;
            line += &format!(" v{vi} {:.3}", t.median_us);
            med[vi].push(t.median_us);
        }
        eprintln!("{line}");
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    for (vi, vars) in variants.iter().enumerate() {
        let diffs: Vec<f64> = med[vi].iter().zip(&med[0]).map(|(a, b)| a - b).collect();
        eprintln!(
            "ab {key} v{vi} [{}]: median {:.3} us, mean {:.3}, median diff {:+.3} us, mean diff {:+.3} (min {:+.3}, max {:+.3})",
            vars.iter().map(|(a, b)| format!("{a}={b}")).collect::<Vec<_>>().join(","),
            summarize(&med[vi]).median_us,
            mean(&med[vi]),
            summarize(&diffs).median_us,
            mean(&diffs),
            diffs.iter().cloned().fold(f64::INFINITY, f64::min),
            diffs.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        );
    }
    Ok(())
}

/// Stamp slots per warp in the `SW_TL` probe buffer (kernels/gemv.cu, `tl_stamp`).
pub const TL_SLOTS: usize = 8;
/// Warp-slot capacity of that buffer (u64 words).
pub const TL_WORDS: usize = 16384;
/// The quantiles [`tl_phase_spread`] reports: min, p10, median, p90, max.
pub const TL_QUANTILES: [f64; 5] = [0.0, 0.1, 0.5, 0.9, 1.0];

/// One launch's `SW_TL` stamps (`TL_SLOTS` u64 words per warp; a warp that did not run has
/// slot 0 zero) as, per phase, the quantiles [`TL_QUANTILES`] over warps of: for phase 0, the
/// warp's entry time in ns after the launch's first entry (the low 32 bits of %globaltimer
/// in slot 0's high word); for phases 1-7, the cycles from the warp's entry (%clock, slot 0's
/// low word) to that stamp. A phase no warp stamped is `None`; `None` overall when no warp
/// stamped at all (a kernel built without the probe).
pub fn tl_phase_spread(stamps: &[u64]) -> Option<Vec<Option<[f64; 5]>>> {
    let warps: Vec<&[u64]> = stamps
        .chunks_exact(TL_SLOTS)
        .filter(|w| w[0] != 0)
        .collect();
    let entry_ns = |w: &[u64]| (w[0] >> 32) as u32;
    // The first entry, found by signed offsets from any one entry, so a wrap of the low 32
    // bits (every 4.3 s) within a launch does not matter.
    let any = entry_ns(warps.first()?);
    let first = warps
        .iter()
        .map(|w| entry_ns(w).wrapping_sub(any) as i32)
        .min()
        .map(|d| any.wrapping_add(d as u32))?;
    let spread = |mut v: Vec<f64>| -> Option<[f64; 5]> {
        if v.is_empty() {
            return None;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let q = |f: f64| v[((v.len() - 1) as f64 * f).round() as usize];
        Some(TL_QUANTILES.map(q))
    };
    Some(
        (0..TL_SLOTS)
            .map(|p| {
                spread(
                    warps
                        .iter()
                        .filter(|w| p == 0 || w[p] != 0)
                        .map(|w| match p {
                            0 => entry_ns(w).wrapping_sub(first) as f64,
                            _ => (w[p] as u32).wrapping_sub(w[0] as u32) as f64,
                        })
                        .collect(),
                )
            })
            .collect(),
    )
}

/// The `SW_TL` timing probe (`SAFEWEIGHTS_TL_PROBE=1|2|3|4`, with kernels built with
/// `SAFEWEIGHTS_KERNEL_DEFINES=SW_TL=1|2|3|4`; docs/cuda.md): 30 launches queued behind a hold,
/// each after its `prep` and an event, each followed by a copy of the kernel's stamps; prints
/// per phase the medians over launches of [`tl_phase_spread`], and the launches' median event
/// time. Diagnostic output on stderr only.
fn tl_probe(
    gpu: &Gpu,
    key: &str,
    mut prep: impl FnMut(usize) -> GpuResult<()>,
    mut launch: impl FnMut(usize) -> GpuResult<()>,
) -> GpuResult<()> {
    const R: usize = 30;
    let copy_cfg = LaunchConfig {
        grid_dim: (16, 1, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    };
    let bufs = (0..=R)
        .map(|_| gpu.alloc(TL_WORDS * 8))
        .collect::<GpuResult<Vec<_>>>()?;
    // Clears the stamps of earlier launches.
    gpu.launch("gemv_tl_copy", copy_cfg, &[KArg::Ptr(bufs[R].ptr())])?;
    hold_stream(gpu, HOLD_MIN_NS)?;
    let mut evs = Vec::with_capacity(R);
    for (i, buf) in bufs.iter().take(R).enumerate() {
        let (a, b) = (gpu.event()?, gpu.event()?);
        prep(1000 + i)?;
        gpu.record(&a)?;
        launch(1000 + i)?;
        gpu.record(&b)?;
        gpu.launch("gemv_tl_copy", copy_cfg, &[KArg::Ptr(buf.ptr())])?;
        evs.push((a, b));
    }
    gpu.sync("tl probe")?;
    let median = |mut v: Vec<f64>| -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let mut per_launch = Vec::with_capacity(R);
    let mut ev_us = Vec::with_capacity(R);
    for ((a, b), buf) in evs.iter().zip(&bufs) {
        ev_us.push(gpu.elapsed_ms(a, b)? as f64 * 1000.0);
        let words: Vec<u64> = gpu
            .download(buf)?
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        match tl_phase_spread(&words) {
            Some(s) => per_launch.push(s),
            None => {
                eprintln!(
                    "TL {key}: no stamps (kernel built without SW_TL, or not a stamped kernel)"
                );
                return Ok(());
            }
        }
    }
    eprintln!(
        "TL {key}: event median {:.2} us, {R} launches",
        median(ev_us)
    );
    let names = match std::env::var("SAFEWEIGHTS_TL_PROBE").as_deref() {
        Ok("2") => [
            "entry ns",
            "c0 c1",
            "zeroed",
            "pointers",
            "before wait",
            "after wait",
            "x c0",
            "exit",
        ],
        Ok("3") => [
            "entry ns",
            "sk_entry",
            "dep launch",
            "c0 c1",
            "pointers",
            "before wait",
            "x c0",
            "exit",
        ],
        Ok("4") => [
            "entry ns",
            "loop end",
            "flushed",
            "reduced",
            "split_tail",
            "sums out",
            "sk_wait",
            "exit",
        ],
        _ => [
            "entry ns",
            "after wait",
            "x c0",
            "mma c0",
            "x c0+1",
            "mma c0+1",
            "loop end",
            "exit",
        ],
    };
    for (p, name) in names.iter().enumerate() {
        let cols: Vec<String> = (0..TL_QUANTILES.len())
            .map(|j| {
                let v = per_launch
                    .iter()
                    .filter_map(|s| s[p].map(|q| q[j]))
                    .collect();
                format!("{:6.0}", median(v))
            })
            .collect();
        eprintln!("TL {key}: {name:11} min/p10/med/p90/max {}", cols.join(" "));
    }
    Ok(())
}

/// The gate's judgement of one kernel.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Entry key.
    pub key: String,
    /// Baseline median (us).
    pub base_us: f64,
    /// This run's median (us).
    pub now_us: f64,
    /// Change of the median in percent (positive = slower).
    pub change_pct: f64,
    /// The change with this run's median scaled to the baseline's read ceiling
    /// ([`ceiling_ratio`]); what `--normalize-ceiling` judges.
    pub change_at_base_ceiling_pct: f64,
    /// Human verdict.
    pub verdict: String,
    /// Diagnostic code when the gate fails on this kernel.
    pub code: Option<&'static str>,
}

/// Compares `cur` with `base`: a kernel fails when its median is more than 5% slower, or
/// more than 3% slower with non-overlapping 95% confidence intervals (GPU012); a win of more
/// than 10% fails too until the baseline is updated (GPU013); a baseline kernel missing
/// from this run fails (GPU015). Kernels new in this run are listed, not judged.
pub fn gate(base: &BenchReport, cur: &BenchReport) -> Vec<Verdict> {
    gate_with(base, cur, false)
}

/// This run's read ceiling over the baseline's (1 where either is missing or not positive):
/// lent cards of one model differ by a few percent (H100: 3005 to 3087 GB/s), and a
/// memory-bound kernel's time follows that.
pub fn ceiling_ratio(base: &BenchReport, cur: &BenchReport) -> f64 {
    let (b, c) = (base.read.gbps, cur.read.gbps);
    match b.is_finite() && c.is_finite() && b > 0.0 && c > 0.0 {
        true => c / b,
        false => 1.0,
    }
}

/// [`gate`], judging with `at_base_ceiling` this run's medians and confidence intervals
/// scaled by [`ceiling_ratio`], i.e. as if this card read memory as fast as the baseline's
/// (`perf-gate --normalize-ceiling`). Every verdict reports both changes.
pub fn gate_with(base: &BenchReport, cur: &BenchReport, at_base_ceiling: bool) -> Vec<Verdict> {
    let ratio = ceiling_ratio(base, cur);
    let judged = if at_base_ceiling { ratio } else { 1.0 };
    let now: std::collections::HashMap<&str, &Entry> =
        cur.entries().map(|e| (e.key.as_str(), e)).collect();
    let mut out = Vec::new();
    for b in base.entries() {
        let Some(c) = now.get(b.key.as_str()) else {
            out.push(Verdict {
                key: b.key.clone(),
                base_us: b.timing.median_us,
                now_us: f64::NAN,
                change_pct: f64::NAN,
                change_at_base_ceiling_pct: f64::NAN,
                verdict: "missing from this run".into(),
                code: Some("GPU015"),
            });
            continue;
        };
        let (bm, now_us) = (b.timing.median_us, c.timing.median_us);
        let change = 100.0 * (now_us / bm - 1.0);
        let change_at_base = 100.0 * (now_us * ratio / bm - 1.0);
        let cm = now_us * judged;
        let disjoint = c.timing.ci_lo_us * judged > b.timing.ci_hi_us;
        let (verdict, code) = if b.key.starts_with("cublas-") {
            // cuBLAS is the reference the speedups are measured against, not our kernel:
            // its drift between machines is reported but never fails the gate.
            ("reference (not gated)".to_string(), None)
        } else if cm > bm * 1.05 {
            ("REGRESSION (> 5% slower)".to_string(), Some("GPU012"))
        } else if cm > bm * 1.03 && disjoint {
            (
                "REGRESSION (> 3% slower, CIs disjoint)".to_string(),
                Some("GPU012"),
            )
        } else if cm < bm * 0.90 {
            (
                "WIN > 10%: explain it and update the baseline".to_string(),
                Some("GPU013"),
            )
        } else {
            ("ok".to_string(), None)
        };
        out.push(Verdict {
            key: b.key.clone(),
            base_us: bm,
            now_us,
            change_pct: change,
            change_at_base_ceiling_pct: change_at_base,
            verdict,
            code,
        });
    }
    let known: std::collections::HashSet<&str> = base.entries().map(|e| e.key.as_str()).collect();
    for c in cur.entries().filter(|e| !known.contains(e.key.as_str())) {
        out.push(Verdict {
            key: c.key.clone(),
            base_us: f64::NAN,
            now_us: c.timing.median_us,
            change_pct: f64::NAN,
            change_at_base_ceiling_pct: f64::NAN,
            verdict: "new (not in baseline)".into(),
            code: None,
        });
    }
    out
}

/// Device description for reports.
pub fn describe(info: &DeviceInfo) -> (String, String, i32) {
    (info.name.clone(), info.short_name(), info.driver_version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_ci_bracket_the_middle() {
        let s: Vec<f64> = (1..=101).map(f64::from).collect();
        let t = summarize(&s);
        assert_eq!(t.median_us, 51.0);
        assert!(t.ci_lo_us < 51.0 && t.ci_hi_us > 51.0);
        assert!(t.ci_lo_us >= 40.0 && t.ci_hi_us <= 62.0, "{t:?}");
        let t = summarize(&[4.0, 1.0, 3.0, 2.0]);
        assert_eq!(t.median_us, 2.5);
    }

    fn report(entries: &[(&str, f64, f64, f64)]) -> BenchReport {
        let ceiling = Ceiling {
            bytes: 1,
            timing: summarize(&[1.0]),
            gbps: 1.0,
        };
        BenchReport {
            device: "d".into(),
            gpu: "h100".into(),
            driver_version: 1,
            date: String::new(),
            copy: ceiling.clone(),
            read: ceiling,
            dequant: entries
                .iter()
                .map(|&(k, m, lo, hi)| Entry {
                    key: k.into(),
                    kernel: k.into(),
                    bytes: 1,
                    timing: Timing {
                        median_us: m,
                        ci_lo_us: lo,
                        ci_hi_us: hi,
                        runs: 60,
                    },
                    gbps: 1.0,
                    pct_of_copy: 1.0,
                    pct_of_read: 1.0,
                    speedup_vs_cublas: None,
                    pct_of_same_size_read: None,
                })
                .collect(),
            gemv: Vec::new(),
            activations: Activations::Fresh,
        }
    }

    #[test]
    fn gate_flags_regressions_wins_and_missing_kernels() {
        let base = report(&[
            ("a", 100.0, 99.0, 101.0),
            ("b", 100.0, 99.0, 101.0),
            ("c", 100.0, 90.0, 110.0),
            ("d", 100.0, 99.0, 101.0),
            ("e", 100.0, 99.0, 101.0),
            ("cublas-bf16/8x8/m1", 100.0, 99.0, 101.0),
        ]);
        let cur = report(&[
            ("a", 106.0, 105.0, 107.0),
            ("b", 104.0, 103.5, 105.0),
            ("c", 104.0, 95.0, 112.0),
            ("d", 85.0, 84.0, 86.0),
            ("f", 1.0, 1.0, 1.0),
            ("cublas-bf16/8x8/m1", 120.0, 119.0, 121.0),
        ]);
        let v = gate(&base, &cur);
        let code = |k: &str| v.iter().find(|x| x.key == k).unwrap().code;
        assert_eq!(code("a"), Some("GPU012"));
        assert_eq!(code("b"), Some("GPU012"));
        assert_eq!(code("c"), None, "4% slower but overlapping CIs passes");
        assert_eq!(code("d"), Some("GPU013"));
        assert_eq!(code("e"), Some("GPU015"));
        assert_eq!(code("f"), None);
        assert_eq!(
            code("cublas-bf16/8x8/m1"),
            None,
            "the reference is not gated"
        );
    }

    #[test]
    fn gate_can_judge_at_the_baselines_read_ceiling() {
        let base = report(&[("a", 100.0, 99.0, 101.0), ("b", 100.0, 99.0, 101.0)]);
        // A card whose memory reads 4% slower: kernel a follows it, kernel b is 9% slower.
        let mut cur = report(&[("a", 104.2, 103.8, 104.6), ("b", 109.0, 108.5, 109.5)]);
        cur.read.gbps = 0.96;
        assert!((ceiling_ratio(&base, &cur) - 0.96).abs() < 1e-12);
        let code = |v: &[Verdict], k: &str| v.iter().find(|x| x.key == k).unwrap().code;
        let raw = gate(&base, &cur);
        assert_eq!(
            code(&raw, "a"),
            Some("GPU012"),
            "raw: 4.2% slower, CIs disjoint"
        );
        assert_eq!(code(&raw, "b"), Some("GPU012"));
        let norm = gate_with(&base, &cur, true);
        assert_eq!(code(&norm, "a"), None, "0.03% at the baseline's ceiling");
        assert_eq!(code(&norm, "b"), Some("GPU012"), "4.6% and disjoint there");
        let a = norm.iter().find(|x| x.key == "a").unwrap();
        assert!((a.change_pct - 4.2).abs() < 1e-9);
        assert!(a.change_at_base_ceiling_pct.abs() < 0.1);
        // No ceiling to compare: ratio 1.
        cur.read.gbps = f64::NAN;
        assert_eq!(ceiling_ratio(&base, &cur), 1.0);
    }

    #[test]
    fn tl_phase_spread_reads_entry_times_and_cycles() {
        // Three warps; the third's entry is 4,294,967,000 + 400 ns wrapped past 2^32, its
        // clock wrapped too; the second warp has no phase-3 stamp; a fourth did not run.
        let mut w = vec![0u64; 4 * TL_SLOTS];
        let entry = |ns: u32, clk: u32| ((ns as u64) << 32) | clk as u64;
        w[0] = entry(4_294_967_000, 100);
        w[1] = 1100; // 1,000 cycles
        w[3] = 3100;
        w[TL_SLOTS] = entry(4_294_967_100, 5000);
        w[TL_SLOTS + 1] = 7000; // 2,000 cycles
        w[2 * TL_SLOTS] = entry(104, u32::MAX - 99);
        w[2 * TL_SLOTS + 1] = 2900; // 3,000 cycles across the wrap
        w[2 * TL_SLOTS + 3] = 400;
        let s = tl_phase_spread(&w).expect("stamps");
        assert_eq!(s[0], Some([0.0, 0.0, 100.0, 400.0, 400.0]));
        assert_eq!(s[1], Some([1000.0, 1000.0, 2000.0, 3000.0, 3000.0]));
        let p3 = s[3].expect("two warps");
        assert_eq!((p3[0], p3[4]), (500.0, 3000.0));
        assert_eq!(s[2], None);
        assert_eq!(tl_phase_spread(&[0u64; 2 * TL_SLOTS]), None);
    }

    #[test]
    fn utc_now_is_formatted() {
        let s = utc_now();
        assert_eq!(s.len(), "2026-11-25 23:59 UTC".len(), "{s}");
        assert!(s.starts_with("20"), "{s}");
    }
}
