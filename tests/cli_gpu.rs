//! The GPU commands from the outside: the no-GPU path, the CPU conformance part, the gate.

use std::process::Command;

fn sw(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_safeweights"))
        .args(args)
        .output()
        .expect("binary runs")
}

#[test]
fn gpu_commands_exit_2_with_a_clear_message_without_a_driver() {
    if safeweights::cuda::runtime::driver_present() {
        eprintln!("a CUDA driver is installed here: the no-GPU path cannot be exercised");
        return;
    }
    for args in [&["conformance", "--gpu"][..], &["bench", "--gpu"][..]] {
        let out = sw(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("GPU001") && err.contains("no CUDA driver"),
            "{args:?}: {err}"
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed results without a GPU"
        );
    }
}

#[test]
fn bench_without_the_gpu_flag_is_a_usage_error() {
    let out = sw(&["bench"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--gpu"));
}

#[test]
fn cpu_conformance_passes_and_prints_the_table() {
    let out = sw(&["conformance"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("max ulp diff") && text.contains("PASS"),
        "{text}"
    );
    assert!(!text.contains("FAIL"), "{text}");
    for format in [
        "gptq3",
        "awq",
        "nvfp4-ct",
        "nvfp4-modelopt",
        "mxfp4",
        "fp8-block",
        "ct-int4-asym",
    ] {
        assert!(text.contains(format), "{format} missing from the CPU table");
    }
}

fn report(median: f64) -> String {
    report_at(median, 1.0)
}

/// A one-kernel bench report whose read ceiling is `read_gbps`.
fn report_at(median: f64, read_gbps: f64) -> String {
    format!(
        r#"{{"device":"NVIDIA H100 80GB HBM3","gpu":"h100","driver_version":13000,"date":"x",
        "copy":{{"bytes":1,"timing":{{"median_us":1.0,"ci_lo_us":1.0,"ci_hi_us":1.0,"runs":60}},"gbps":1.0}},
        "read":{{"bytes":1,"timing":{{"median_us":1.0,"ci_lo_us":1.0,"ci_hi_us":1.0,"runs":60}},"gbps":{read_gbps}}},
        "dequant":[{{"key":"dequant/gptq4/bf16/8192x28672","kernel":"dq_gptq4_bf16","bytes":1,
        "timing":{{"median_us":{median},"ci_lo_us":{lo},"ci_hi_us":{hi},"runs":60}},"gbps":1.0,
        "pct_of_copy":1.0,"pct_of_read":1.0,"speedup_vs_cublas":null}}],"gemv":[]}}"#,
        lo = median * 0.99,
        hi = median * 1.01
    )
}

/// `safeweights perf-gate --baseline BASE --current CUR EXTRA...`.
fn perf_gate(
    base: &std::path::Path,
    cur: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let mut a = vec![
        "perf-gate",
        "--baseline",
        base.to_str().unwrap(),
        "--current",
        cur.to_str().unwrap(),
    ];
    a.extend_from_slice(extra);
    sw(&a)
}

/// The reports written as files named `names[i]` in a new temporary directory (kept alive
/// by the returned handle), and their paths.
fn write_reports(reports: &[(&str, String)]) -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let paths = reports
        .iter()
        .map(|(name, text)| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect();
    (dir, paths)
}

#[test]
fn perf_gate_passes_an_identical_run_and_fails_a_regression() {
    let (_dir, p) = write_reports(&[
        ("baseline-h100.json", report(100.0)),
        ("same.json", report(100.0)),
        ("slow.json", report(107.0)),
    ]);
    let (base, same, slow) = (&p[0], &p[1], &p[2]);
    let args = |cur: &std::path::Path| perf_gate(base, cur, &[]);
    let ok = args(same);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("perf gate: PASS (1 kernels compared)"));
    let bad = args(slow);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("GPU012"));
    // The verdict is on stdout too, so a report redirected to a file ends with it.
    let out = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(
        out.lines().last(),
        Some("perf gate: FAIL (1 of 1 kernels flagged)"),
        "{out}"
    );
}

#[test]
fn perf_gate_notes_a_slower_card_and_can_judge_at_the_baseline_ceiling() {
    // 6% slower on a card that reads 5.5% slower.
    let (_dir, p) = write_reports(&[
        ("baseline-h100.json", report_at(100.0, 3087.0)),
        ("cur.json", report_at(106.0, 2917.0)),
    ]);
    let (base, cur) = (&p[0], &p[1]);
    let run = |extra: &[&str]| perf_gate(base, cur, extra);
    let raw = run(&[]);
    assert_eq!(raw.status.code(), Some(1));
    let out = String::from_utf8_lossy(&raw.stdout);
    assert!(
        out.contains("note: this run's read ceiling is 2917 GB/s, -5.5%"),
        "{out}"
    );
    assert!(
        out.contains("+0.2%"),
        "the change at the baseline's ceiling: {out}"
    );
    let norm = run(&["--normalize-ceiling"]);
    assert_eq!(
        norm.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&norm.stdout)
    );
}

#[test]
fn perf_gate_notes_a_baseline_timed_with_other_activations() {
    let with = |cond: &str| {
        report(100.0).replacen(
            r#""gemv":[]"#,
            &format!(r#""gemv":[],"activations":"{cond}""#),
            1,
        )
    };
    // A report from before the `activations` field reads as `warm`.
    let (_dir, p) = write_reports(&[
        ("baseline-h100.json", report(100.0)),
        ("fresh.json", with("fresh")),
        ("warm.json", with("warm")),
    ]);
    let (base, fresh, warm) = (&p[0], &p[1], &p[2]);
    let gate = |cur: &std::path::Path| {
        let o = perf_gate(base, cur, &[]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let out = gate(fresh);
    assert!(
        out.contains(
            "note: the baseline timed its GEMVs with warm activations and this run with fresh"
        ),
        "{out}"
    );
    let out = gate(warm);
    assert!(!out.contains("activations"), "{out}");
}
