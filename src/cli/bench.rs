//! `safeweights bench --gpu [--json]`, `safeweights perf-gate` and `safeweights kernels`.
//!
//! The bench measures the ceilings (device-to-device copy, saturating read), every dequant
//! kernel on an 8192 x 28672 layer, cuBLAS bf16 and every GEMV kernel on the GEMV shapes,
//! all in one run on device 0. The gate compares a bench JSON with a committed baseline.

use super::conformance::report_gpu_error;
use super::{EXIT_INVALID, EXIT_OK, EXIT_USAGE};
use crate::cuda::bench::{self, BenchReport};
use crate::cuda::error::BASELINE_UNUSABLE;
use crate::cuda::{Gpu, GpuError};
use std::path::PathBuf;

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run on the GPU (device 0). Required: there is no CPU bench here.
    #[arg(long)]
    pub gpu: bool,
    /// Print the report as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Timed runs per kernel (at least 50).
    #[arg(long, default_value_t = 60)]
    pub runs: usize,
    /// Skip the GEMV part.
    #[arg(long)]
    pub no_gemv: bool,
    /// Skip the dequant part.
    #[arg(long)]
    pub no_dequant: bool,
    /// Only layers whose format label contains this text (e.g. `nvfp4`, `gptq4`); the
    /// ceilings and the cuBLAS reference always run.
    #[arg(long, value_name = "TEXT")]
    pub only: Option<String>,
    /// Only this GEMV shape, `NxK` (e.g. `28672x8192`); the default runs all five. Other
    /// shapes whose N and K are multiples of 256 (at most 65536) run too, for tuning: the
    /// perf gate compares only the five.
    #[arg(long, value_name = "NxK", value_parser = parse_shape)]
    pub shape: Option<(usize, usize)>,
    /// Only this M for the GEMV part (1, 4 or 16); the default runs all three.
    #[arg(long, value_name = "M", value_parser = parse_m)]
    pub m: Option<usize>,
    /// Time the GEMVs with their activations as the previous run left them in L2, as the
    /// bench did before session 16. By default a kernel writes them afresh before each
    /// (untimed) run, as the op before a GEMV does in a model.
    #[arg(long)]
    pub warm_activations: bool,
}

fn parse_m(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(m) if bench::GEMV_MS.contains(&m) => Ok(m),
        _ => Err(format!("`{s}` is not a bench M; choose 1, 4 or 16")),
    }
}

fn parse_shape(s: &str) -> Result<(usize, usize), String> {
    let (n, k) = s
        .split_once('x')
        .ok_or_else(|| format!("`{s}` is not NxK (e.g. 28672x8192)"))?;
    let n: usize = n.parse().map_err(|_| format!("`{n}` is not a row count"))?;
    let k: usize = k
        .parse()
        .map_err(|_| format!("`{k}` is not a column count"))?;
    let tunable = |d: usize| d > 0 && d % 256 == 0 && d <= 65536;
    if bench::GEMV_SHAPES.contains(&(n, k)) || (tunable(n) && tunable(k)) {
        Ok((n, k))
    } else {
        Err(format!(
            "{n}x{k} is not a bench shape; choose one of {}, or N and K multiples of 256 up to 65536",
            bench::GEMV_SHAPES
                .iter()
                .map(|(n, k)| format!("{n}x{k}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// Runs `bench`.
pub fn run(args: Args) -> u8 {
    if !args.gpu {
        eprintln!("error CLI: bench measures GPU kernels; pass --gpu");
        return EXIT_USAGE;
    }
    if args.runs < 50 {
        eprintln!("error CLI: --runs must be at least 50 (medians of fewer runs are not reported)");
        return EXIT_USAGE;
    }
    let gpu = match Gpu::open(0) {
        Ok(g) => g,
        Err(e) => return report_gpu_error(&e),
    };
    match run_gpu(&gpu, &args) {
        Ok(r) => {
            let text = serde_json::to_string_pretty(&r).expect("serializable");
            if args.json {
                println!("{text}");
            } else {
                print_report(&r);
            }
            if let Some(p) = &args.out {
                if let Err(e) = crate::container::write_bytes_atomic(p, text.as_bytes()) {
                    eprintln!("error: {e}");
                    return EXIT_USAGE;
                }
            }
            EXIT_OK
        }
        Err(e) => report_gpu_error(&e),
    }
}

fn run_gpu(gpu: &Gpu, args: &Args) -> Result<BenchReport, GpuError> {
    let (device, short, driver) = bench::describe(gpu.info());
    let copy = bench::measure_copy(gpu, 1 << 30, args.runs)?;
    let read = bench::measure_read(gpu, 2 << 30, args.runs)?;
    let dequant = if args.no_dequant {
        Vec::new()
    } else {
        bench::bench_dequant(
            gpu,
            8192,
            28672,
            args.runs,
            &copy,
            &read,
            args.only.as_deref(),
        )?
    };
    let gemv = if args.no_gemv {
        Vec::new()
    } else {
        bench::bench_gemv(
            gpu,
            args.runs,
            &read,
            &copy,
            &bench::GemvFilter {
                only: args.only.as_deref(),
                shape: args.shape,
                m: args.m,
                warm_activations: args.warm_activations,
            },
        )?
    };
    Ok(BenchReport {
        device,
        gpu: short,
        driver_version: driver,
        date: bench::utc_now(),
        copy,
        read,
        dequant,
        gemv,
        activations: match args.warm_activations {
            true => bench::Activations::Warm,
            false => bench::Activations::Fresh,
        },
    })
}

/// Prints the bench tables.
pub fn print_report(r: &BenchReport) {
    println!(
        "bench on {} (driver {}), {}",
        r.device, r.driver_version, r.date
    );
    println!(
        "ceilings: copy {:.0} GB/s (median {:.1} us), read {:.0} GB/s (median {:.1} us)",
        r.copy.gbps, r.copy.timing.median_us, r.read.gbps, r.read.timing.median_us
    );
    if !r.dequant.is_empty() {
        println!(
            "{:<44} {:>10} {:>9} {:>8}",
            "dequant (8192x28672)", "median us", "GB/s", "% copy"
        );
        for e in &r.dequant {
            println!(
                "{:<44} {:>10.1} {:>9.0} {:>7.1}%",
                e.key.trim_start_matches("dequant/"),
                e.timing.median_us,
                e.gbps,
                e.pct_of_copy
            );
        }
    }
    if !r.gemv.is_empty() {
        println!(
            "{:<44} {:>10} {:>9} {:>8} {:>8} {:>9}",
            "gemv (bf16 act)", "median us", "GB/s", "% read", "x cuBLAS", "% same-sz"
        );
        for e in &r.gemv {
            println!(
                "{:<44} {:>10.1} {:>9.0} {:>7.1}% {:>8.2} {:>8.1}%",
                e.key,
                e.timing.median_us,
                e.gbps,
                e.pct_of_read,
                e.speedup_vs_cublas.unwrap_or(f64::NAN),
                e.pct_of_same_size_read.unwrap_or(f64::NAN)
            );
        }
    }
}

/// Arguments of `perf-gate`.
#[derive(Debug, clap::Args)]
pub struct GateArgs {
    /// The committed baseline (benches/baseline-<gpu>.json).
    #[arg(long)]
    pub baseline: PathBuf,
    /// The bench JSON of this run.
    #[arg(long)]
    pub current: PathBuf,
    /// Judge this run's times scaled to the baseline's read ceiling (this run's read GB/s
    /// over the baseline's), for a card whose memory is slower or faster than the one the
    /// baseline was measured on. Off by default: the gate compares raw medians.
    #[arg(long)]
    pub normalize_ceiling: bool,
}

/// Runs `perf-gate`: 0 pass, 1 regression (or unexplained win), 2 unreadable input.
pub fn run_gate(args: GateArgs) -> u8 {
    let read = |p: &PathBuf| -> Result<BenchReport, String> {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))
    };
    let (base, cur) = match (read(&args.baseline), read(&args.current)) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(e), _) => {
            eprintln!("error {BASELINE_UNUSABLE}: baseline unreadable: {e}");
            return EXIT_USAGE;
        }
        (_, Err(e)) => {
            eprintln!("error CLI: bench report unreadable: {e}");
            return EXIT_USAGE;
        }
    };
    if base.gpu != cur.gpu {
        eprintln!(
            "error {BASELINE_UNUSABLE}: baseline is for {} but this run is on {}; use benches/baseline-{}.json",
            base.gpu, cur.gpu, cur.gpu
        );
        return EXIT_USAGE;
    }
    let verdicts = bench::gate_with(&base, &cur, args.normalize_ceiling);
    let ratio = bench::ceiling_ratio(&base, &cur);
    println!(
        "{:<48} {:>10} {:>10} {:>8} {:>13}  verdict",
        "kernel", "base us", "now us", "change", "at base ceil."
    );
    for v in &verdicts {
        println!(
            "{:<48} {:>10.1} {:>10.1} {:>+7.1}% {:>+12.1}%  {}",
            v.key, v.base_us, v.now_us, v.change_pct, v.change_at_base_ceiling_pct, v.verdict
        );
    }
    // Lent cards of one model differ in memory speed; say so where it can explain a verdict.
    if (ratio - 1.0).abs() > 0.02 {
        println!(
            "note: this run's read ceiling is {:.0} GB/s, {:+.1}% against the baseline's {:.0} GB/s; \
             memory-bound kernels move with it (\"at base ceil.\" scales this run to the baseline's; \
             --normalize-ceiling judges that column{})",
            cur.read.gbps,
            100.0 * (ratio - 1.0),
            base.read.gbps,
            if args.normalize_ceiling { ", as this run does" } else { "" }
        );
    }
    if base.activations != cur.activations {
        println!(
            "note: the baseline timed its GEMVs with {} activations and this run with {}; at M = 16 \
             that alone moves some kernels by up to 10% (bench --warm-activations; docs/perf.md)",
            base.activations, cur.activations
        );
    }
    let bad: Vec<&bench::Verdict> = verdicts.iter().filter(|v| v.code.is_some()).collect();
    for v in &bad {
        eprintln!("error {}: {} {}", v.code.unwrap_or(""), v.key, v.verdict);
    }
    if bad.is_empty() {
        println!("perf gate: PASS ({} kernels compared)", verdicts.len());
        EXIT_OK
    } else {
        // The verdict also on stdout, so that a report redirected to a file ends with it.
        println!(
            "perf gate: FAIL ({} of {} kernels flagged)",
            bad.len(),
            verdicts.len()
        );
        EXIT_INVALID
    }
}

/// Arguments of `kernels`.
#[derive(Debug, clap::Args)]
pub struct KernelArgs {
    /// Compile every module for this compute capability (e.g. 90) without a GPU and store
    /// it in the kernel cache ($SAFEWEIGHTS_KERNEL_CACHE or ~/.cache/safeweights/kernels).
    #[arg(long)]
    pub precompile: Option<u32>,
    /// Driver version the cache entries are keyed to (as cuDriverGetVersion reports it).
    #[arg(long, default_value_t = 13000)]
    pub driver_version: i32,
}

/// Runs `kernels`: lists the embedded kernel modules, or precompiles them.
pub fn run_kernels(args: KernelArgs) -> u8 {
    use crate::cuda::kernels::ModuleId;
    match args.precompile {
        None => {
            for id in ModuleId::ALL {
                println!("kernels/{}.cu  {} bytes", id.name(), id.source().len());
            }
            EXIT_OK
        }
        Some(cc) => {
            let info = crate::cuda::DeviceInfo {
                name: "precompile".into(),
                compute_capability: ((cc / 10) as i32, (cc % 10) as i32),
                driver_version: args.driver_version,
                sm_count: 0,
                l2_bytes: 0,
                total_mem: 0,
            };
            match crate::cuda::nvrtc_cache::precompile(&info) {
                Ok(files) => {
                    for f in files {
                        println!("{}", f.display());
                    }
                    EXIT_OK
                }
                Err(e) => report_gpu_error(&e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_filter_takes_bench_and_tunable_shapes() {
        assert_eq!(parse_shape("28672x8192"), Ok((28672, 8192)));
        assert_eq!(parse_shape("4096x14336"), Ok((4096, 14336)));
        assert_eq!(parse_shape("33792x8192"), Ok((33792, 8192)));
        for bad in ["123x4", "8192x100", "0x8192", "65792x8192"] {
            let e = parse_shape(bad).unwrap_err();
            assert!(
                e.contains("not a bench shape") && e.contains("8192x8192"),
                "{e}"
            );
        }
        let e = parse_shape("123x4").unwrap_err();
        assert!(
            e.contains("not a bench shape") && e.contains("8192x8192"),
            "{e}"
        );
        assert!(parse_shape("8192").unwrap_err().contains("not NxK"));
        assert!(parse_shape("ax8192").unwrap_err().contains("row count"));
        assert!(parse_shape("8192xb").unwrap_err().contains("column count"));
    }

    #[test]
    fn m_filter_takes_only_bench_ms() {
        for m in [1, 4, 16] {
            assert_eq!(parse_m(&m.to_string()), Ok(m));
        }
        for bad in ["2", "0", "17", "x", ""] {
            assert!(
                parse_m(bad).unwrap_err().contains("choose 1, 4 or 16"),
                "{bad}"
            );
        }
    }
}
