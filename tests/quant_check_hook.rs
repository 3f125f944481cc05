//! `check` with the quantization detector plugged in fills the `quantization` block.

use safeweights::gen::model::{synthesize, GenFormat, ModelSpec};
use safeweights::model::check::{check_dir, CheckOptions};
use safeweights::quant::check_hook::detect_for_check;

#[test]
fn check_reports_the_quantization_block() {
    for (format, method) in [
        (GenFormat::GptqV2, "gptq"),
        (GenFormat::Mxfp4, "mxfp4"),
        (GenFormat::Nvfp4ModelOpt, "nvfp4"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        synthesize(&ModelSpec::small(format, 1))
            .unwrap()
            .write(dir.path())
            .unwrap();
        let opts = CheckOptions {
            quant_detector: detect_for_check,
            ..CheckOptions::default()
        };
        let report = check_dir(dir.path(), &opts).unwrap();
        let q = &report.to_json()["quantization"];
        assert_eq!(q["method"], method, "{q}");
        assert_eq!(q["supported"], true);
        assert_eq!(q["source"], "config.json:quantization_config");
        for key in [
            "producer",
            "bits",
            "group_size",
            "desc_act",
            "sym",
            "checkpoint_format",
            "scale_convention",
            "unquantized_modules",
            "layers",
        ] {
            assert!(
                q.get(key).is_some(),
                "{format:?}: quantization block lacks {key}: {q}"
            );
        }
        assert_eq!(q["layers"], if format == GenFormat::Mxfp4 { 4 } else { 14 });
    }
}

/// `safeweights check --deep` decodes every quantized layer through the fast path: a clean
/// model passes with statistics for each layer; a corrupt scale is reported and fails.
#[test]
fn check_deep_decodes_quantized_layers_from_the_cli() {
    let bin = env!("CARGO_BIN_EXE_safeweights");
    let run = |args: &[&str]| std::process::Command::new(bin).args(args).output().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let clean = tmp.path().join("clean");
    let bad = tmp.path().join("bad");
    let gen = |out: &std::path::Path, extra: &[&str]| {
        let mut a = vec![
            "gen",
            "model",
            "--format",
            "fp8-block",
            "--seed",
            "5",
            "--out",
        ];
        a.push(out.to_str().unwrap());
        a.extend_from_slice(extra);
        assert_eq!(run(&a).status.code(), Some(0));
    };
    gen(&clean, &[]);
    gen(&bad, &["--mutate", "inf-fp8-scale"]);

    let o = run(&["check", "--deep", "--json", clean.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let layers = j["quantization_deep"]["layers"].as_array().unwrap();
    assert_eq!(
        layers.len() as u64,
        j["quantization"]["layers"].as_u64().unwrap()
    );
    assert!(layers
        .iter()
        .all(|l| l["nonfinite"] == 0 && l["rms"].as_f64().unwrap() > 0.0));

    // Without --deep the data is never read, so the corrupt scale goes unseen.
    let o = run(&["check", "--json", bad.to_str().unwrap()]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(j["quantization_deep"].is_null());
    let o = run(&["check", "--deep", "--json", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<&str> = j["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"QNT019"), "{codes:?}");
}
