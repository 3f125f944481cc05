//! Command-line interface. Each subcommand lives in its own file and returns an exit code:
//! 0 success, 1 the input is invalid (findings were reported), 2 usage or I/O error.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod bench;
mod check;
mod conformance;
mod dequant;
mod gen;
mod inspect;
mod output;
mod validate;

pub use output::Style;

/// Open, validate and decode Hugging Face SafeTensors model directories.
#[derive(Debug, Parser)]
#[command(name = "safeweights", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate .safetensors files byte by byte (a directory means every *.safetensors in it).
    Validate(validate::Args),
    /// Check a model directory: config, shards, tokenizer (no DIR: a demo model).
    Check(check::Args),
    /// Show a file's tensors (name, dtype, shape, bytes, offset, alignment) and metadata.
    Inspect(inspect::Args),
    /// Check every decoder (CPU) or CUDA kernel (--gpu) against the oracles.
    Conformance(conformance::Args),
    /// Measure the CUDA kernels against copy/read ceilings and cuBLAS (needs --gpu).
    Bench(bench::Args),
    /// Compare a bench JSON with the committed baseline for that GPU.
    PerfGate(bench::GateArgs),
    /// List the embedded CUDA kernel modules, or precompile them into the kernel cache.
    Kernels(bench::KernelArgs),
    /// Write one quantized Linear's dequantized weight as an F32 [N, K] tensor `weight`.
    Dequant(dequant::Args),
    /// Write spec-exact quantized fixtures (one layer or a whole model), from a seed.
    Gen(Box<gen::Args>),
}

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code when the input was read and found invalid.
pub const EXIT_INVALID: u8 = 1;
/// Exit code for usage and I/O errors.
pub const EXIT_USAGE: u8 = 2;

/// Parses the process arguments and runs the chosen subcommand.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Conformance(args) => conformance::run(args),
        Command::Bench(args) => bench::run(args),
        Command::PerfGate(args) => bench::run_gate(args),
        Command::Kernels(args) => bench::run_kernels(args),
        Command::Check(args) => check::run(args),
        Command::Dequant(args) => dequant::run(args),
        Command::Gen(args) => gen::run(*args),
    };
    ExitCode::from(code)
}
