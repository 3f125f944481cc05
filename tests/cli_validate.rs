//! The `safeweights` binary: `validate` and `inspect` exit codes, JSON shapes, options,
//! and that no corpus file makes it panic (exit 101).

use safeweights::container::Writer;
use safeweights::dtype::Dtype;
use safeweights::gen::hostile::corpus;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_safeweights"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed by a signal")
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

fn hostile() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hostile")
}

fn fixture(name: &str) -> String {
    hostile()
        .join(format!("{name}.safetensors"))
        .display()
        .to_string()
}

/// A valid two-tensor file in `dir`.
fn valid_file(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let mut w = Writer::new();
    w.add("model.embed.weight", Dtype::BF16, vec![4, 2], vec![0u8; 16])
        .unwrap();
    w.add("model.norm.bias", Dtype::F32, vec![3], vec![0u8; 12])
        .unwrap();
    w.metadata("format", "pt");
    w.write_atomic(&path).unwrap();
    path.display().to_string()
}

/// Checks the documented shape of `validate --json` exactly; returns the files array.
fn check_validate_shape(v: &Value) -> &Vec<Value> {
    let top = v.as_object().expect("an object");
    assert_eq!(
        top.keys().collect::<Vec<_>>(),
        ["files", "valid"],
        "top-level keys"
    );
    assert!(v["valid"].is_boolean());
    let files = v["files"].as_array().expect("files is an array");
    for f in files {
        let o = f.as_object().unwrap();
        assert_eq!(
            o.keys().collect::<Vec<_>>(),
            ["diagnostics", "path", "tensors", "valid"],
            "file keys"
        );
        assert!(f["path"].is_string() && f["valid"].is_boolean() && f["tensors"].is_u64());
        let path = f["path"].as_str().unwrap();
        for d in f["diagnostics"].as_array().unwrap() {
            let o = d.as_object().unwrap();
            for key in ["code", "severity", "message", "tensor", "advice"] {
                assert!(o.contains_key(key), "diagnostic lacks `{key}`: {d}");
            }
            // The one key beyond the shape: the file, equal to the entry's path.
            for key in o.keys() {
                assert!(
                    ["code", "severity", "message", "tensor", "advice", "file"]
                        .contains(&key.as_str()),
                    "unexpected key `{key}`"
                );
            }
            if let Some(file) = o.get("file") {
                assert_eq!(file.as_str(), Some(path));
            }
            assert!(d["code"].is_string() && d["message"].is_string());
            assert!(["error", "warning", "info"].contains(&d["severity"].as_str().unwrap()));
            assert!(d["tensor"].is_null() || d["tensor"].is_string());
            assert!(d["advice"].is_null() || d["advice"].is_string());
        }
        // A file is valid exactly when none of its findings is an error.
        let has_error = f["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["severity"] == "error");
        assert_eq!(f["valid"].as_bool().unwrap(), !has_error, "{path}");
    }
    let all = files.iter().all(|f| f["valid"] == true);
    assert_eq!(v["valid"].as_bool().unwrap(), all);
    files
}

fn codes_of(file: &Value) -> Vec<&str> {
    file["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect()
}

#[test]
fn validate_exit_codes_are_0_1_2() {
    let dir = tempfile::tempdir().unwrap();
    let ok = valid_file(dir.path(), "ok.safetensors");
    assert_eq!(code(&run(&["validate", &ok])), 0);
    assert_eq!(code(&run(&["validate", &fixture("gap")])), 1);
    assert_eq!(code(&run(&["validate", &ok, &fixture("gap")])), 1);
    let missing = dir.path().join("nope.safetensors").display().to_string();
    assert_eq!(code(&run(&["validate", &missing])), 2);
    // An I/O error outranks an invalid file.
    assert_eq!(code(&run(&["validate", &fixture("gap"), &missing])), 2);
    assert_eq!(code(&run(&["validate"])), 2, "no path is a usage error");
    assert_eq!(code(&run(&["validate", "--no-such-flag", &ok])), 2);
}

#[test]
fn validate_json_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let ok = valid_file(dir.path(), "ok.safetensors");
    let out = run(&[
        "validate",
        "--json",
        &ok,
        &fixture("duplicate_key_conflicting"),
    ]);
    assert_eq!(code(&out), 1);
    let v = json(&out);
    let files = check_validate_shape(&v);
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["path"], ok.as_str());
    assert_eq!(files[0]["valid"], true);
    assert_eq!(files[0]["tensors"], 2);
    assert_eq!(files[0]["diagnostics"].as_array().unwrap().len(), 0);
    assert_eq!(files[1]["valid"], false);
    assert_eq!(files[1]["tensors"], 2, "entries seen in the header text");
    assert_eq!(codes_of(&files[1]), ["ST013", "ST033"]);
    let dup = &files[1]["diagnostics"][0];
    assert_eq!(dup["severity"], "error");
    assert_eq!(dup["tensor"], "a");
    assert!(dup["advice"].as_str().unwrap().contains("once"));
    assert_eq!(v["valid"], false);
}

#[test]
fn validate_reports_a_missing_file_in_json_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone.safetensors").display().to_string();
    let out = run(&["validate", "--json", &missing]);
    assert_eq!(code(&out), 2);
    let v = json(&out);
    let files = check_validate_shape(&v);
    assert_eq!(codes_of(&files[0]), ["CLI001"]);
    assert_eq!(files[0]["valid"], false);
}

#[test]
fn validate_lenient_downgrades_unknown_fields_and_salvages_entries() {
    let unknown = fixture("unknown_field");
    assert_eq!(code(&run(&["validate", &unknown])), 1);
    let out = run(&["validate", "--json", "--lenient", &unknown]);
    assert_eq!(
        code(&out),
        0,
        "an unknown field is only a warning when lenient"
    );
    let v = json(&out);
    let files = check_validate_shape(&v);
    let st018 = &files[0]["diagnostics"][0];
    assert_eq!(
        (st018["code"].as_str(), st018["severity"].as_str()),
        (Some("ST018"), Some("warning"))
    );

    // One valid entry beside an overlapping unknown-dtype entry: lenient keeps one, and
    // the file stays invalid because the errors are still reported.
    let out = run(&[
        "validate",
        "--json",
        "--lenient",
        &fixture("unknown_dtype_with_overlap"),
    ]);
    assert_eq!(code(&out), 1);
    let v = json(&out);
    let files = check_validate_shape(&v);
    assert_eq!(
        files[0]["tensors"], 0,
        "both entries overlap, so neither is kept"
    );
    let codes = codes_of(&files[0]);
    assert!(codes.contains(&"ST023") && codes.contains(&"ST036") && codes.contains(&"ST037"));
}

#[test]
fn validate_max_header_bytes_is_bounded_and_applied() {
    let dir = tempfile::tempdir().unwrap();
    let ok = valid_file(dir.path(), "ok.safetensors");
    let above = (256u64 * 1024 * 1024 + 1).to_string();
    let out = run(&["validate", "--max-header-bytes", &above, &ok]);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("256 MiB"));
    let max = (256u64 * 1024 * 1024).to_string();
    assert_eq!(
        code(&run(&["validate", "--max-header-bytes", &max, &ok])),
        0
    );
    // A cap below this header's length rejects it with ST005.
    let out = run(&["validate", "--json", "--max-header-bytes", "16", &ok]);
    assert_eq!(code(&out), 1);
    assert_eq!(codes_of(&check_validate_shape(&json(&out))[0]), ["ST005"]);
    // And a header over the default cap is accepted once the cap is raised.
    assert_eq!(
        code(&run(&["validate", &fixture("header_len_over_cap")])),
        1
    );
    let out = run(&[
        "validate",
        "--json",
        "--max-header-bytes",
        "200000000",
        &fixture("header_len_over_cap"),
    ]);
    assert_eq!(
        codes_of(&check_validate_shape(&json(&out))[0]),
        ["ST006"],
        "past the cap check, the length now runs past the end of the file"
    );
}

#[test]
fn validate_a_directory_means_its_safetensors_files() {
    let dir = tempfile::tempdir().unwrap();
    valid_file(dir.path(), "b.safetensors");
    valid_file(dir.path(), "a.safetensors");
    std::fs::write(dir.path().join("notes.txt"), "not a model").unwrap();
    let d = dir.path().display().to_string();
    let out = run(&["validate", "--json", &d]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    let paths: Vec<&str> = check_validate_shape(&v)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 2, "only *.safetensors, sorted");
    assert!(paths[0].ends_with("a.safetensors") && paths[1].ends_with("b.safetensors"));

    let empty = tempfile::tempdir().unwrap();
    assert_eq!(
        code(&run(&["validate", &empty.path().display().to_string()])),
        2
    );

    // The corpus directory: every file reported once, with its manifest verdict.
    let out = run(&["validate", "--json", &hostile().display().to_string()]);
    assert_eq!(code(&out), 1);
    let v = json(&out);
    let files = check_validate_shape(&v);
    let cases = corpus();
    assert_eq!(files.len(), cases.len());
    for c in &cases {
        let f = files
            .iter()
            .find(|f| {
                f["path"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/{}", c.file_name()))
            })
            .unwrap_or_else(|| panic!("{} not reported", c.name));
        assert_eq!(
            f["valid"].as_bool().unwrap(),
            c.code.is_none(),
            "{}",
            c.name
        );
        if let Some(code) = c.code {
            assert!(codes_of(f).contains(&code), "{}", c.name);
        }
    }
}

#[test]
fn validate_human_report_names_file_verdict_and_codes() {
    let out = run(&["validate", &fixture("gap")]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("gap.safetensors: INVALID (2 tensors)"),
        "{text}"
    );
    assert!(text.contains("error ST032 [b]"), "{text}");
    assert!(text.contains("advice:"), "{text}");
}

#[test]
fn inspect_prints_a_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let ok = valid_file(dir.path(), "ok.safetensors");
    let out = run(&["inspect", &ok]);
    assert_eq!(code(&out), 0);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("2 tensors"), "{text}");
    let head: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        head,
        ["name", "dtype", "shape", "bytes", "offset", "alignment"]
    );
    // The writer puts the 4-byte F32 first (descending alignment), then BF16.
    assert!(
        lines[2].starts_with("model.norm.bias") && lines[2].contains("F32"),
        "{text}"
    );
    assert!(
        lines[2].contains("[3]") && lines[2].contains(" 12 "),
        "{text}"
    );
    assert!(lines[3].starts_with("model.embed.weight") && lines[3].contains("BF16"));
    assert!(text.contains("format = pt"), "{text}");

    let out = run(&["inspect", "--json", &ok]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["valid"], true);
    assert_eq!(v["metadata"]["format"], "pt");
    let ts = v["tensors"].as_array().unwrap();
    assert_eq!(ts.len(), 2);
    let header = v["header_bytes"].as_u64().unwrap();
    assert_eq!(
        8 + header + v["data_bytes"].as_u64().unwrap(),
        v["file_bytes"].as_u64().unwrap()
    );
    for t in ts {
        let start = t["data_offsets"][0].as_u64().unwrap();
        let abs = t["file_offset"].as_u64().unwrap();
        assert_eq!(abs, 8 + header + start);
        assert_eq!(t["offset_mod_256"].as_u64().unwrap(), abs % 256);
        assert_eq!(t["aligned_256"].as_bool().unwrap(), abs % 256 == 0);
        assert_eq!(t["element_aligned"], true, "the writer aligns every tensor");
    }
    assert_eq!(ts[1]["name"], "model.embed.weight");
    assert_eq!(ts[1]["shape"], serde_json::json!([4, 2]));
    assert_eq!(ts[1]["bytes"], 16);
}

#[test]
fn inspect_exit_codes_and_lenient_listing() {
    assert_eq!(code(&run(&["inspect", &fixture("gap")])), 1);
    assert_eq!(code(&run(&["inspect", "/nonexistent/x.safetensors"])), 2);
    let out = run(&[
        "inspect",
        "--json",
        "--lenient",
        &fixture("imp_unknown_dtype_skips_offsets"),
    ]);
    assert_eq!(code(&out), 1);
    let v = json(&out);
    assert_eq!(v["valid"], false);
    assert_eq!(v["tensors"].as_array().unwrap().len(), 0);
    let out = run(&["inspect", "--json", "--lenient", &fixture("unknown_field")]);
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["tensors"][0]["name"], "a");
    let out = run(&["inspect", &fixture("lfs_pointer")]);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stdout).contains("git-LFS pointer"));
}

#[test]
fn no_corpus_file_makes_the_binary_panic() {
    let dir = hostile().display().to_string();
    for flags in [
        &[][..],
        &["--json"],
        &["--lenient"],
        &["--json", "--lenient"],
    ] {
        let mut args = vec!["validate"];
        args.extend_from_slice(flags);
        args.push(&dir);
        let out = run(&args);
        assert_eq!(code(&out), 1, "validate {flags:?}");
    }
    for c in corpus() {
        let f = hostile().join(c.file_name()).display().to_string();
        for flags in [
            &[][..],
            &["--json"],
            &["--lenient"],
            &["--json", "--lenient"],
        ] {
            let mut args = vec!["inspect"];
            args.extend_from_slice(flags);
            args.push(&f);
            let out = run(&args);
            let want = if c.code.is_some() { 1 } else { 0 };
            // Lenient mode may accept a file whose only errors become warnings.
            let got = code(&out);
            assert_ne!(got, 101, "inspect {flags:?} {} panicked", c.name);
            assert!(
                got == want || flags.contains(&"--lenient"),
                "inspect {flags:?} {}: exit {got}",
                c.name
            );
            assert!(
                got == 0 || got == 1,
                "inspect {flags:?} {}: exit {got}",
                c.name
            );
        }
    }
}
