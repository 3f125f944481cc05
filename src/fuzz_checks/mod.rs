//! The check bodies of the fuzz targets in `fuzz/` that take raw bytes, shared with the
//! stable replay test `tests/fuzz_regressions.rs` so that `cargo test` re-runs every
//! committed corpus entry and every past crash without a nightly toolchain.
//!
//! Each function panics when the property it checks is false; that is the finding.
//! Targets driven by `arbitrary` (`structured`, `model_dir`, `quant_bind`) keep their
//! input types and bodies in `fuzz/inputs/`, which the fuzz crate and the replay test
//! both include. docs/fuzzing.md lists every target and the campaigns run.
//!
//! Not part of the public API: no stability promise.

pub mod config;
pub mod container;
pub mod quant_detect;
pub mod tokenizer;

/// Splits a fuzz input into sections at each `0xFF` byte (a byte valid UTF-8 never holds,
/// so JSON sections stay intact). Always returns at least `min` sections (empty ones added).
pub fn sections(data: &[u8], min: usize) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = data.split(|b| *b == 0xFF).collect();
    while v.len() < min {
        v.push(&[]);
    }
    v
}

/// Joins sections with the `0xFF` separator [`sections`] splits on (for seed corpora).
pub fn join_sections(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(0xFF);
        }
        out.extend_from_slice(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_round_trip() {
        let joined = join_sections(&[b"{}", b"", b"a\nb"]);
        assert_eq!(
            sections(&joined, 5),
            vec![&b"{}"[..], b"", b"a\nb", b"", b""]
        );
    }
}
