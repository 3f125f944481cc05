//! Replays the hostile-file corpus in `fixtures/hostile/` (spec: "Regression corpus").
//!
//! The corpus is produced by `safeweights::gen::hostile` (regenerate it with
//! `cargo run --example gen_hostile`); these tests check that the checked-in files are
//! exactly what the generator produces, that every file yields exactly the error codes
//! its manifest names through every reading path, and that the corpus still covers every
//! attack the spec lists.

use safeweights::container::reader::read_header;
use safeweights::container::{byte_count, parse_header, Limits, OpenError, SafeTensorsFile};
use safeweights::diag::{Diagnostic, Severity};
use safeweights::gen::hostile::{corpus, manifest_json, HostileCase, MANIFEST};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hostile")
}

fn error_codes(diags: &[Diagnostic]) -> Vec<&'static str> {
    let set: BTreeSet<&'static str> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.code)
        .collect();
    set.into_iter().collect()
}

#[test]
fn checked_in_corpus_matches_the_generator() {
    let dir = corpus_dir();
    let cases = corpus();
    let mut stale = Vec::new();
    for c in &cases {
        match std::fs::read(dir.join(c.file_name())) {
            Ok(bytes) if bytes == c.bytes => {}
            Ok(_) => stale.push(format!("{} differs", c.file_name())),
            Err(e) => stale.push(format!("{}: {e}", c.file_name())),
        }
    }
    let manifest = std::fs::read_to_string(dir.join(MANIFEST)).expect("manifest.json exists");
    if manifest != manifest_json(&cases) {
        stale.push("manifest.json differs".into());
    }
    let generated: BTreeSet<String> = cases.iter().map(HostileCase::file_name).collect();
    for item in std::fs::read_dir(&dir).unwrap() {
        let name = item.unwrap().file_name().to_string_lossy().into_owned();
        if name != MANIFEST && !generated.contains(&name) {
            stale.push(format!("{name} is not generated"));
        }
    }
    assert!(
        stale.is_empty(),
        "fixtures/hostile is out of date (run `cargo run --example gen_hostile`): {stale:#?}"
    );
}

#[test]
fn manifest_names_each_file_once_with_its_code() {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(corpus_dir().join(MANIFEST)).unwrap())
            .unwrap();
    let files = manifest["files"].as_array().expect("files array");
    assert_eq!(files.len(), corpus().len());
    let mut names = BTreeSet::new();
    for f in files {
        let name = f["file"].as_str().expect("file name");
        assert!(names.insert(name.to_owned()), "{name} listed twice");
        let codes: Vec<&str> = f["error_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        match f["code"].as_str() {
            Some(code) => assert!(codes.contains(&code), "{name}: {code} not in {codes:?}"),
            None => assert!(codes.is_empty(), "{name}: accepted file lists error codes"),
        }
        assert!(
            !f["source"].as_str().unwrap().is_empty(),
            "{name}: no source"
        );
    }
}

#[test]
fn every_file_produces_exactly_its_error_codes() {
    let mut wrong = Vec::new();
    for c in corpus() {
        let p = parse_header(&c.bytes, c.bytes.len() as u64, &Limits::default());
        let got = error_codes(&p.diagnostics);
        if got != c.error_codes || p.is_valid() != c.code.is_none() {
            wrong.push(format!(
                "{}: expected {:?}, got {:?}",
                c.name, c.error_codes, p.diagnostics
            ));
        }
        if let Some(code) = c.code {
            assert!(p.header.is_none(), "{}: strict parse kept a header", c.name);
            assert!(got.contains(&code));
        } else {
            let h = p.header.expect("accepted file has a header");
            assert_eq!(
                8 + h.header_len + h.total_tensor_bytes(),
                c.bytes.len() as u64,
                "{}",
                c.name
            );
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn header_only_and_mapped_readers_agree_on_every_file() {
    let dir = corpus_dir();
    let limits = Limits::default();
    for c in corpus() {
        let path = dir.join(c.file_name());
        let header_only = read_header(&path, &limits).expect("readable");
        assert_eq!(
            error_codes(&header_only.diagnostics),
            c.error_codes,
            "{} (header-only)",
            c.name
        );
        assert!(
            header_only
                .diagnostics
                .iter()
                .all(|d| d.file.as_deref() == Some(&*path)),
            "{}: a finding does not name the file",
            c.name
        );
        match SafeTensorsFile::open(&path, &limits) {
            Ok(f) => {
                assert!(c.code.is_none(), "{}: mapped reader accepted it", c.name);
                for v in f.tensors() {
                    assert_eq!(
                        v.data.len() as u64,
                        byte_count(v.shape, v.dtype).unwrap(),
                        "{} [{}]",
                        c.name,
                        v.name
                    );
                }
            }
            Err(OpenError::Invalid { diagnostics, .. }) => {
                assert_eq!(
                    error_codes(&diagnostics),
                    c.error_codes,
                    "{} (mmap)",
                    c.name
                )
            }
            Err(e) => panic!("{}: {e}", c.name),
        }
    }
}

#[test]
fn lenient_mode_keeps_only_entries_that_validate_alone() {
    for c in corpus() {
        let len = c.bytes.len() as u64;
        let strict = parse_header(&c.bytes, len, &Limits::default());
        let lenient = parse_header(&c.bytes, len, &Limits::default().lenient());
        let strict_codes = error_codes(&strict.diagnostics);
        for code in error_codes(&lenient.diagnostics) {
            assert!(
                strict_codes.contains(&code),
                "{}: lenient reported {code}, strict did not",
                c.name
            );
        }
        let Some(h) = lenient.header else { continue };
        assert!(
            lenient.diagnostics.iter().any(|d| d.code == "ST037"),
            "{}: no lenient summary",
            c.name
        );
        let room = len - 8 - h.header_len;
        for t in &h.tensors {
            let (s, e) = t.data_offsets;
            assert!(s <= e && e <= room, "{} [{}] out of range", c.name, t.name);
            assert_eq!(byte_count(&t.shape, t.dtype).unwrap(), e - s, "{}", c.name);
        }
        for pair in h.tensors.windows(2) {
            assert!(
                pair[0].data_offsets.1 <= pair[1].data_offsets.0,
                "{}: kept entries overlap",
                c.name
            );
        }
    }
}

/// Every attack the spec and the issue name, by corpus file; the file must exist and be
/// rejected with the given code (or accepted, for `None`).
const REQUIRED: &[(&str, Option<&str>)] = &[
    ("lfs_pointer", Some("ST002")),
    ("html_page", Some("ST002")),
    ("pickle", Some("ST002")),
    ("zip", Some("ST002")),
    ("bom", Some("ST007")),
    ("nul_padding", Some("ST008")),
    ("trailing_garbage_after_json", Some("ST011")),
    ("duplicate_key_identical", Some("ST013")),
    ("duplicate_key_conflicting", Some("ST013")),
    ("unknown_field", Some("ST018")),
    ("unknown_dtype", Some("ST023")),
    ("unknown_dtype_with_inverted_offsets", Some("ST030")),
    ("unknown_dtype_with_overlap", Some("ST033")),
    ("float_in_shape", Some("ST024")),
    ("offsets_float", Some("ST029")),
    ("negative_dim", Some("ST024")),
    ("audiocpp_negative_offset", Some("ST029")),
    ("string_dim", Some("ST024")),
    ("offsets_three_elements", Some("ST029")),
    ("rank_9", Some("ST025")),
    ("dim_2p48_plus_1", Some("ST026")),
    ("shape_0_max_max", Some("ST026")),
    ("shape_max_2_0", Some("ST026")),
    ("offsets_sum_to_usize_max", Some("ST035")),
    ("gap", Some("ST032")),
    ("overlap", Some("ST033")),
    ("alias", Some("ST033")),
    ("polyglot_zip", Some("ST034")),
    ("polyglot_pdf", Some("ST034")),
    ("length_prefix_is_zip_magic", Some("ST002")),
    ("truncated_file", Some("ST035")),
    ("header_len_over_cap", Some("ST005")),
    ("header_len_past_eof", Some("ST006")),
    ("f4_odd_count", Some("ST028")),
    ("empty_name", Some("ST019")),
    ("nul_in_name", Some("ST020")),
    ("huge_name", Some("ST021")),
    ("ollama_unchecked_length_prefix", Some("ST005")),
    ("ollama_short_data_offsets", Some("ST029")),
    ("ollama_inverted_offsets", Some("ST030")),
    ("safetensors_cpp_product_wraps_to_zero", Some("ST027")),
    ("imp_unknown_dtype_skips_offsets", Some("ST035")),
    ("fastllm_length_plus_5_wraps", Some("ST005")),
    ("fastllm_shape_smaller_than_offsets", Some("ST031")),
    ("gomlx_only_length_checked", Some("ST032")),
    ("handcrafted_bad_offset", Some("ST035")),
    ("handcrafted_duplicate_tensor_name", Some("ST013")),
    ("handcrafted_n_tensors_minus_one", Some("ST005")),
    ("not_json", Some("ST010")),
    ("entry_not_object", Some("ST016")),
    ("missing_field", Some("ST017")),
    ("dtype_not_string", Some("ST022")),
    ("empty_file", Some("ST001")),
    ("ok_leading_trailing_spaces", None),
    ("ok_f32_at_offset_1", None),
    ("ok_zero_length_at_one_offset", None),
];

#[test]
fn corpus_covers_every_listed_attack() {
    let cases = corpus();
    for (name, code) in REQUIRED {
        let c = cases
            .iter()
            .find(|c| c.name == *name)
            .unwrap_or_else(|| panic!("corpus has no `{name}`"));
        match code {
            Some(code) => assert!(c.error_codes.contains(code), "{name}: {:?}", c.error_codes),
            None => assert!(c.code.is_none(), "{name} must be accepted"),
        }
    }
}

#[test]
fn corpus_exercises_every_container_error_code() {
    // Every error a parse of bytes can report (ST036-ST038 are lenient and I/O findings).
    let expected: BTreeSet<String> = (1..=35)
        .filter(|n| ![3, 4, 15].contains(n))
        .map(|n| format!("ST{n:03}"))
        .collect();
    let produced: BTreeSet<String> = corpus()
        .iter()
        .flat_map(|c| c.error_codes.iter().map(|s| s.to_string()))
        .collect();
    let missing: Vec<_> = expected.difference(&produced).collect();
    assert!(missing.is_empty(), "no corpus file produces {missing:?}");
}

#[test]
fn corpus_stays_small() {
    let total: usize = corpus().iter().map(|c| c.bytes.len()).sum();
    assert!(corpus().iter().all(|c| c.bytes.len() <= 8192));
    assert!(total < 64 * 1024, "corpus is {total} bytes");
}
