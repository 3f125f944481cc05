//! `safeweights dequant DIR --layer PREFIX --out FILE [--oracle]`: writes one Linear's
//! dequantized weight as an F32 `[N, K]` tensor named `weight` (atomically), so anyone can
//! compare our decoding with another tool's.

use super::output::Style;
use super::{EXIT_INVALID, EXIT_OK, EXIT_USAGE};
use crate::container::Writer;
use crate::diag::{has_errors, Diagnostic};
use crate::dtype::Dtype;
use crate::quant::files::ModelFiles;
use crate::quant::{bind, detect, layer_prefixes};
use std::path::PathBuf;

/// Arguments of `dequant`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model directory (config.json + model.safetensors or an index with shards).
    dir: PathBuf,
    /// Layer prefix, e.g. `model.layers.0.self_attn.q_proj` (MXFP4: the name before `_blocks`).
    #[arg(long, value_name = "PREFIX")]
    layer: String,
    /// Output .safetensors file (one F32 tensor `weight` of shape [N, K]).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Decode with the scalar reference oracle instead of the fast path (bit-equal, slower).
    #[arg(long)]
    oracle: bool,
}

/// Runs `dequant`; returns the exit code.
pub fn run(args: Args) -> u8 {
    let style = Style::stdout();
    let report = |diags: &[Diagnostic]| diags.iter().for_each(|d| style.print_diagnostic(d));
    let files = match ModelFiles::open(&args.dir) {
        Ok(f) => f,
        Err(d) => {
            report(&[d]);
            return EXIT_USAGE;
        }
    };
    let names = files.names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (scheme, diags) = detect(&files.config, &args.dir, &names);
    report(&diags);
    let Some(scheme) = scheme else {
        report(&[Diagnostic::error(
            "QNT026",
            format!(
                "{} is not quantized; there is nothing to dequantize",
                args.dir.display()
            ),
        )
        .advice("plain weights can be read directly; `safeweights inspect` shows them")]);
        return EXIT_INVALID;
    };
    if !layer_prefixes(&scheme, &names)
        .iter()
        .any(|p| p == &args.layer)
    {
        let some: Vec<String> = layer_prefixes(&scheme, &names)
            .into_iter()
            .take(5)
            .collect();
        report(&[Diagnostic::error(
            "QNT026",
            format!(
                "no quantized layer `{}` in {}",
                args.layer,
                args.dir.display()
            ),
        )
        .tensor(args.layer.clone())
        .advice(format!("pass a layer prefix such as {}", some.join(", ")))]);
        return EXIT_INVALID;
    }
    let lookup = files.lookup();
    let (layer, bind_diags) = bind(&scheme, &args.layer, &lookup);
    report(&bind_diags);
    let Some(layer) = layer else {
        return EXIT_INVALID;
    };
    let w = if args.oracle {
        crate::oracle::dequant(&layer)
    } else {
        crate::fast::dequant(&layer)
    };
    let bytes: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
    let (rows, cols) = (layer.rows() as u64, layer.cols() as u64);
    let mut writer = Writer::new();
    writer.metadata("source_layer", args.layer.as_str());
    writer.metadata("method", layer.method());
    writer.metadata("decoder", if args.oracle { "oracle" } else { "fast" });
    let added = writer
        .add("weight", Dtype::F32, vec![rows, cols], bytes)
        .map(|_| ());
    let written = added.and_then(|()| writer.write_atomic(&args.out));
    match written {
        Ok(_) => {
            println!(
                "wrote {}: weight F32 [{rows}, {cols}] ({} {}, {} decoder)",
                args.out.display(),
                layer.method(),
                args.layer,
                if args.oracle { "oracle" } else { "fast" }
            );
            if has_errors(&diags) {
                EXIT_INVALID
            } else {
                EXIT_OK
            }
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", args.out.display());
            EXIT_USAGE
        }
    }
}
