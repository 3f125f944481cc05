//! `safeweights check [DIR] [--json] [--deep] [--keep-demo]`: everything about a model directory, or
//! exactly why it will not load. With no DIR, writes the demo model to a temporary folder
//! and checks that.

use super::output::{print_json, Style};
use super::{EXIT_INVALID, EXIT_OK, EXIT_USAGE};
use crate::container::{Limits, DEFAULT_MAX_HEADER_BYTES};
use crate::model::{check_dir, demo, CheckOptions, Progress};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model directory (config.json, *.safetensors, tokenizer) or a hub cache folder
    /// (models--org--name). Without it, a demo model is written to a temporary folder.
    dir: Option<PathBuf>,
    /// Print one JSON document on stdout instead of the human report.
    #[arg(long)]
    json: bool,
    /// Also read the data: every floating-point tensor (NaN, infinities, all-zero
    /// tensors) and every quantized layer, decoded with the fast path (non-finite or zero
    /// scales, all-zero layers, per-layer statistics); without it only headers are read.
    #[arg(long)]
    deep: bool,
    /// Keep the demo directory instead of deleting it after the check.
    #[arg(long)]
    keep_demo: bool,
    /// Largest shard header accepted, in bytes (at most 268435456 = 256 MiB).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_HEADER_BYTES)]
    max_header_bytes: u64,
}

/// Runs `check`; returns the exit code (0 no errors, 1 errors, 2 usage or I/O).
pub fn run(args: Args) -> u8 {
    let limits = match Limits::default().with_max_header_bytes(args.max_header_bytes) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let mut _demo_guard = None;
    let dir = match args.dir {
        Some(d) => d,
        None => {
            let tmp = match tempfile::Builder::new()
                .prefix("safeweights-demo-")
                .tempdir()
            {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: cannot create a temporary folder for the demo model: {e}");
                    return EXIT_USAGE;
                }
            };
            let path = tmp.path().to_path_buf();
            if let Err(e) = demo::write_demo_dir(&path) {
                eprintln!("error: cannot write the demo model: {e}");
                return EXIT_USAGE;
            }
            eprintln!(
                "no directory given: wrote a demo model (4-layer Llama-style, 2 shards, tokenizer) to {}{}",
                path.display(),
                if args.keep_demo { "" } else { " (deleted afterwards; --keep-demo keeps it)" }
            );
            if args.keep_demo {
                let _ = tmp.keep();
            } else {
                _demo_guard = Some(tmp);
            }
            path
        }
    };

    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new(0);
        if let Ok(s) =
            ProgressStyle::with_template("{spinner} reading shard headers {pos}/{len} {wide_bar}")
        {
            b.set_style(s);
        }
        b
    });
    let progress = |p: Progress| {
        if let Some(b) = &bar {
            b.set_length(p.total as u64);
            b.set_position(p.done as u64);
        }
    };
    let mut opts = CheckOptions::with_progress(&progress);
    opts.open.limits = limits;
    opts.deep = args.deep;
    let mut report = match check_dir(&dir, &opts) {
        Ok(r) => r,
        Err(e) => {
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if args.deep {
        if std::io::stderr().is_terminal() {
            crate::quant::check_hook::deep_for_check(
                &mut report,
                &mut crate::quant::progress_bar(),
            );
        } else {
            crate::quant::check_hook::deep_for_check(&mut report, &mut |_, _, _| {});
        }
    }
    if args.json {
        print_json(&report.to_json());
    } else {
        let style = Style::stdout();
        print!("{}", report.render(&|s| style.severity(s)));
    }
    if report.ok() {
        EXIT_OK
    } else {
        EXIT_INVALID
    }
}
