//! `safeweights validate PATH... [--json] [--lenient] [--max-header-bytes N]`

use super::output::{diagnostic_json, print_json, Style};
use super::{EXIT_INVALID, EXIT_OK, EXIT_USAGE};
use crate::container::reader::read_header;
use crate::container::{Limits, OpenError, DEFAULT_MAX_HEADER_BYTES};
use crate::diag::{has_errors, Diagnostic};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories (a directory means every *.safetensors directly inside it).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print one JSON document on stdout instead of the human report.
    #[arg(long)]
    json: bool,
    /// Keep valid entries of broken files and report each dropped one (salvage mode).
    #[arg(long)]
    lenient: bool,
    /// Largest header accepted, in bytes (at most 268435456 = 256 MiB).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_HEADER_BYTES)]
    max_header_bytes: u64,
}

/// The verdict on one file.
struct FileReport {
    path: PathBuf,
    tensors: usize,
    diagnostics: Vec<Diagnostic>,
    io_error: bool,
}

impl FileReport {
    fn valid(&self) -> bool {
        !self.io_error && !has_errors(&self.diagnostics)
    }
}

/// Expands directories into their *.safetensors files (sorted); keeps files as given.
fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: cannot list directory: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "safetensors") && f.is_file())
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "{}: no .safetensors files in this directory",
                    p.display()
                ));
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn validate_one(path: &Path, limits: &Limits) -> FileReport {
    match read_header(path, limits) {
        Ok(parsed) => FileReport {
            path: path.to_path_buf(),
            tensors: parsed
                .header
                .as_ref()
                .map_or(parsed.entries_seen, |h| h.tensors.len()),
            diagnostics: parsed.diagnostics,
            io_error: false,
        },
        Err(e) => {
            let msg = match &e {
                OpenError::Io { source, .. } => format!("cannot read the file: {source}"),
                OpenError::Invalid { .. } => e.to_string(),
            };
            FileReport {
                path: path.to_path_buf(),
                tensors: 0,
                diagnostics: vec![Diagnostic::error("CLI001", msg)
                    .file(path)
                    .advice("check that the path exists and is readable")],
                io_error: true,
            }
        }
    }
}

/// Runs `validate`; returns the exit code.
pub fn run(args: Args) -> u8 {
    let mut limits = match Limits::default().with_max_header_bytes(args.max_header_bytes) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: --max-header-bytes: {e}");
            return EXIT_USAGE;
        }
    };
    if args.lenient {
        limits = limits.lenient();
    }
    let files = match expand(&args.paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let reports: Vec<FileReport> = files.iter().map(|f| validate_one(f, &limits)).collect();
    let all_valid = reports.iter().all(FileReport::valid);
    if args.json {
        let files: Vec<_> = reports
            .iter()
            .map(|r| {
                json!({
                    "path": r.path.display().to_string(),
                    "valid": r.valid(),
                    "tensors": r.tensors,
                    "diagnostics": r.diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        print_json(&json!({ "valid": all_valid, "files": files }));
    } else {
        let style = Style::stdout();
        for r in &reports {
            let verdict = if r.valid() { "valid" } else { "INVALID" };
            println!(
                "{}: {} ({} tensors)",
                style.bold(&r.path.display().to_string()),
                verdict,
                r.tensors
            );
            for d in &r.diagnostics {
                style.print_diagnostic(d);
            }
        }
    }
    if reports.iter().any(|r| r.io_error) {
        EXIT_USAGE
    } else if all_valid {
        EXIT_OK
    } else {
        EXIT_INVALID
    }
}
