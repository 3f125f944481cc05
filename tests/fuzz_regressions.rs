//! Replays every committed fuzz corpus entry (`fuzz/corpus/<target>/`) and every past crash
//! (`fuzz/regressions/<target>/`) through the same check the fuzz target runs, on the
//! stable toolchain, so CI catches a regression without nightly or cargo-fuzz.
//! docs/fuzzing.md lists the targets, the campaigns and the regression files.

use arbitrary::{Arbitrary, Unstructured};
use safeweights::fuzz_checks::{config, container, quant_detect, tokenizer};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "../fuzz/inputs/model_dir.rs"]
mod model_dir;
#[path = "../fuzz/inputs/quant_bind.rs"]
mod quant_bind;
#[path = "../fuzz/inputs/structured.rs"]
mod structured;

/// Every input file of `target`: corpus and regressions, sorted.
fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut v = Vec::new();
    for kind in ["corpus", "regressions"] {
        let Ok(rd) = std::fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_file() {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

/// Runs `check` on every input of `target`; fails naming every input that panicked.
fn replay(target: &str, min_inputs: usize, check: impl Fn(&[u8])) {
    let files = inputs(target);
    assert!(
        files.len() >= min_inputs,
        "{target}: only {} committed inputs (corpus or regressions missing?)",
        files.len()
    );
    let mut failed = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        if catch_unwind(AssertUnwindSafe(|| check(&bytes))).is_err() {
            failed.push(f.display().to_string());
        }
    }
    assert!(failed.is_empty(), "{target}: failing inputs: {failed:#?}");
}

/// Decodes bytes as libfuzzer-sys does for a typed target (`arbitrary_take_rest`, inputs
/// shorter than the size hint skipped) and runs `run`. `FUZZ_DEBUG=1` prints the input.
fn typed<T: for<'a> Arbitrary<'a> + std::fmt::Debug>(bytes: &[u8], run: impl Fn(T)) {
    if bytes.len() < T::size_hint(0).0 {
        return;
    }
    if let Ok(input) = T::arbitrary_take_rest(Unstructured::new(bytes)) {
        if std::env::var_os("FUZZ_DEBUG").is_some() {
            eprintln!("{input:#?}");
        }
        run(input);
    }
}

#[test]
fn parse_header() {
    replay("parse_header", 10, container::parse_header_check);
}

#[test]
fn header_vs_full() {
    replay("header_vs_full", 10, container::header_vs_full);
}

#[test]
fn differential() {
    let allow = container::allow_list();
    replay("differential", 10, |data| {
        // The reference crate panics on some inputs (overflow checks are on in tests);
        // that verdict is `None`, as in the fuzz target.
        let reference = catch_unwind(|| safetensors::SafeTensors::deserialize(data).is_ok()).ok();
        container::differential(data, reference, &allow);
    });
}

#[test]
fn structured() {
    replay("structured", 10, |b| typed(b, structured::run));
}

#[test]
fn model_dir() {
    replay("model_dir", 10, |b| typed(b, model_dir::run));
}

#[test]
fn config() {
    replay("config", 10, config::config);
}

#[test]
fn quant_detect() {
    replay("quant_detect", 10, quant_detect::quant_detect);
}

#[test]
fn quant_bind() {
    replay("quant_bind", 10, |b| typed(b, quant_bind::run));
}

#[test]
fn tokenizer() {
    replay("tokenizer", 10, tokenizer::tokenizer);
}
