//! `safeweights inspect FILE [--json] [--lenient]`

use super::output::{diagnostic_json, print_json, Style};
use super::{EXIT_INVALID, EXIT_OK, EXIT_USAGE};
use crate::container::reader::read_header;
use crate::container::{Limits, OpenError, DEFAULT_MAX_HEADER_BYTES};
use crate::diag::has_errors;
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The .safetensors file.
    file: PathBuf,
    /// Print one JSON document on stdout.
    #[arg(long)]
    json: bool,
    /// Show the valid entries of a broken file instead of refusing it.
    #[arg(long)]
    lenient: bool,
    /// Largest header accepted, in bytes (at most 256 MiB).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_HEADER_BYTES)]
    max_header_bytes: u64,
}

/// Runs `inspect`; returns the exit code.
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
    let parsed = match read_header(&args.file, &limits) {
        Ok(p) => p,
        Err(OpenError::Io { path, source }) => {
            eprintln!("error: {}: cannot read the file: {source}", path.display());
            return EXIT_USAGE;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let code = if has_errors(&parsed.diagnostics) {
        EXIT_INVALID
    } else {
        EXIT_OK
    };
    let style = Style::stdout();
    let Some(h) = parsed.header else {
        if args.json {
            print_json(&json!({
                "path": args.file.display().to_string(),
                "valid": false,
                "tensors": [],
                "metadata": null,
                "diagnostics": parsed.diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
            }));
        } else {
            println!(
                "{}: INVALID, nothing to show",
                style.bold(&args.file.display().to_string())
            );
            parsed
                .diagnostics
                .iter()
                .for_each(|d| style.print_diagnostic(d));
            println!("  (try --lenient to list the entries that are valid)");
        }
        return code;
    };
    if args.json {
        let tensors: Vec<_> = h
            .tensors
            .iter()
            .map(|t| {
                let a = h.alignment(t);
                json!({
                    "name": t.name,
                    "dtype": t.dtype.name(),
                    "shape": t.shape,
                    "bytes": t.byte_len(),
                    "data_offsets": [t.data_offsets.0, t.data_offsets.1],
                    "file_offset": a.file_offset,
                    "element_aligned": a.element_aligned,
                    "aligned_256": a.aligned_256(),
                    "offset_mod_256": a.mod_256,
                })
            })
            .collect();
        print_json(&json!({
            "path": args.file.display().to_string(),
            "valid": code == EXIT_OK,
            "header_bytes": h.header_len,
            "data_bytes": h.data_len,
            "file_bytes": h.file_len,
            "metadata": h.metadata,
            "tensors": tensors,
            "diagnostics": parsed.diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
        }));
        return code;
    }
    println!(
        "{}: {} tensors, header {} bytes, data {} bytes",
        style.bold(&args.file.display().to_string()),
        h.tensors.len(),
        h.header_len,
        h.data_len
    );
    let rows: Vec<[String; 6]> = h
        .tensors
        .iter()
        .map(|t| {
            let a = h.alignment(t);
            let shape = format!("{:?}", t.shape);
            let align = format!(
                "{}{}",
                if a.element_aligned {
                    "elem"
                } else {
                    "MISALIGNED"
                },
                if a.aligned_256() {
                    ", 256".to_owned()
                } else {
                    format!(", 256+{}", a.mod_256)
                }
            );
            [
                t.name.clone(),
                t.dtype.name().to_owned(),
                shape,
                t.byte_len().to_string(),
                a.file_offset.to_string(),
                align,
            ]
        })
        .collect();
    let heads = ["name", "dtype", "shape", "bytes", "offset", "alignment"];
    let mut widths = heads.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {:>w4$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4]
        )
    };
    println!("{}", style.bold(&line(heads)));
    for r in &rows {
        println!("{}", line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]));
    }
    match &h.metadata {
        Some(m) if !m.is_empty() => {
            println!("metadata:");
            for (k, v) in m {
                println!("  {k} = {v}");
            }
        }
        _ => println!("metadata: none"),
    }
    parsed
        .diagnostics
        .iter()
        .for_each(|d| style.print_diagnostic(d));
    code
}
