//! `safeweights conformance [--gpu] [--json]`: every decoder and kernel against the oracles.
//!
//! Without `--gpu` the CPU part runs (fast path vs oracle, the same cases the GPU part
//! uses). With `--gpu` the dequant kernels (bit for bit), the GEMV kernels (relative error
//! against an f64 reference), the upload paths and the kernel cache are checked on device 0.

use super::{EXIT_INVALID, EXIT_OK, EXIT_USAGE};
use crate::cuda::conformance::{self as conf, CaseResult, GemvCase};
use crate::cuda::{bridge, Gpu, GpuError};
use serde_json::json;

/// Arguments of `conformance`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run the GPU part (device 0) instead of the CPU part.
    #[arg(long)]
    pub gpu: bool,
    /// Print the full results as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON results to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
    /// Seed of the random fixtures (a failing case names its seed).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Skip the GEMV part of the GPU suite.
    #[arg(long)]
    pub no_gemv: bool,
}

/// Prints a GPU error the way every GPU command does and returns its exit code.
pub fn report_gpu_error(e: &GpuError) -> u8 {
    eprintln!("error {e}");
    if e.is_unavailable() {
        eprintln!("advice: GPU commands need an NVIDIA GPU with its driver and NVRTC; everything else works without one");
    }
    EXIT_USAGE
}

fn emit(args: &Args, value: serde_json::Value) -> u8 {
    let text = serde_json::to_string_pretty(&value).expect("serializable");
    if args.json {
        println!("{text}");
    }
    if let Some(path) = &args.out {
        if let Err(e) = crate::container::write_bytes_atomic(path, text.as_bytes()) {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    }
    EXIT_OK
}

/// Runs the subcommand.
pub fn run(args: Args) -> u8 {
    if !args.gpu {
        let results = conf::run_cpu_dequant(&bridge::oracle, &bridge::fast, args.seed);
        let rows = conf::rows(&results);
        if !args.json {
            conf::print_table(
                "CPU conformance: fast path vs oracle (bit for bit, f32)",
                &rows,
            );
        }
        let failed = results.iter().filter(|r| !r.passed()).count();
        let code = emit(
            &args,
            json!({"part": "cpu", "seed": args.seed, "rows": rows, "cases": results}),
        );
        return if code != EXIT_OK {
            code
        } else if failed > 0 {
            EXIT_INVALID
        } else {
            EXIT_OK
        };
    }
    let gpu = match Gpu::open(0) {
        Ok(g) => g,
        Err(e) => return report_gpu_error(&e),
    };
    match run_gpu(&gpu, &args) {
        Ok(code) => code,
        Err(e) => report_gpu_error(&e),
    }
}

fn run_gpu(gpu: &Gpu, args: &Args) -> Result<u8, GpuError> {
    let info = gpu.info().clone();
    let mut dq: Vec<CaseResult> = conf::run_gpu_dequant(gpu, &bridge::oracle, args.seed)?;
    dq.extend(conf::run_gpu_upload(gpu, args.seed)?);
    let gemv: Vec<GemvCase> = if args.no_gemv {
        Vec::new()
    } else {
        dq.extend(conf::run_gpu_fp8_nan(gpu, &bridge::oracle, args.seed)?);
        conf::run_gpu_gemv(gpu, &bridge::oracle, args.seed)?
    };
    // Last, so both modules have been loaded (and stored) once in this process.
    dq.extend(conf::run_gpu_cache(gpu)?);
    let rows = conf::rows(&dq);
    let grows = conf::gemv_rows(&gemv);
    let date = crate::cuda::bench::utc_now();
    if !args.json {
        println!(
            "GPU conformance on {} (sm_{}{}, driver {}), {date}",
            info.name, info.compute_capability.0, info.compute_capability.1, info.driver_version
        );
        conf::print_table(
            "dequant kernels vs oracle (bit for bit after rounding)",
            &rows,
        );
        if !gemv.is_empty() {
            conf::print_gemv_table(&grows);
            let by_rounding: Vec<_> = gemv
                .iter()
                .filter(|c| c.passed() && c.rel_err > c.tol)
                .collect();
            for c in &by_rounding {
                println!(
                    "note: {} {} {} m={} {:?}: rel err {:.2e} above {:.0e} through the rounding \
                     to the output type alone (against the rounded reference {:.2e})",
                    c.kernel, c.format, c.shape, c.m, c.act, c.rel_err, c.tol, c.rel_err_out
                );
            }
        }
        for r in dq.iter().filter(|r| !r.passed()).take(10) {
            eprintln!(
                "FAIL {} {} {} seed {} ({:?}): {}",
                r.kernel,
                r.format,
                r.shape,
                r.seed,
                r.extremes,
                r.error
                    .clone()
                    .or(r.first_mismatch.clone())
                    .unwrap_or_default()
            );
        }
        for c in gemv.iter().filter(|c| !c.passed()).take(10) {
            eprintln!(
                "FAIL gemv {} {} {} m={} {:?}: rel err {:e} (against the reference rounded to \
                 the output type {:e}), nan {}, unwritten {} {}",
                c.kernel,
                c.format,
                c.shape,
                c.m,
                c.act,
                c.rel_err,
                c.rel_err_out,
                c.nan,
                c.unwritten,
                c.error.clone().unwrap_or_default()
            );
        }
    }
    let failed =
        dq.iter().filter(|r| !r.passed()).count() + gemv.iter().filter(|c| !c.passed()).count();
    let value = json!({
        "part": "gpu", "device": info, "date": date, "seed": args.seed,
        "dequant_rows": rows, "gemv_rows": grows.iter().map(|(k, c, e, f)| json!({"kernel": k, "cases": c, "max_rel_err": e, "failed": f})).collect::<Vec<_>>(),
        "failed": failed, "dequant_cases": dq, "gemv_cases": gemv,
    });
    let code = emit(args, value);
    if failed > 0 {
        eprintln!(
            "error {}: {failed} conformance case(s) failed; the bench must not run",
            crate::cuda::error::CONFORMANCE_FAILED
        );
        return Ok(EXIT_INVALID);
    }
    Ok(code)
}
