//! Regenerates the hostile-file corpus in `fixtures/hostile/` (or the directory given as
//! the first argument): `cargo run --example gen_hostile`.
//!
//! The files and `manifest.json` come from `safeweights::gen::hostile`; never edit them
//! by hand. `tests/container_corpus.rs` fails when the checked-in copy and the generator
//! disagree.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/hostile"),
        PathBuf::from,
    );
    match safeweights::gen::hostile::write_corpus(&dir) {
        Ok(n) => {
            println!("wrote {n} files and manifest.json to {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
