//! `safeweights gen` and `safeweights dequant` end to end: the dequantized file equals the
//! quantizer's reconstruction (`--reference`), through both the fast path and `--oracle`.

use safeweights::container::{Limits, SafeTensorsFile};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_safeweights"))
}

fn weight(path: &std::path::Path) -> (Vec<u64>, Vec<u8>) {
    let f = SafeTensorsFile::open(path, &Limits::default()).unwrap();
    let v = f.tensor("weight").unwrap();
    assert_eq!(v.dtype, safeweights::dtype::Dtype::F32);
    (v.shape.to_vec(), v.data.to_vec())
}

#[test]
fn gen_then_dequant_matches_reference_for_every_format() {
    for (fmt, extra) in [
        (
            "gptq",
            vec![
                "--bits",
                "3",
                "--act-order",
                "--shape",
                "64,96",
                "--group",
                "32",
            ],
        ),
        (
            "gptq-v2",
            vec!["--asym", "--shape", "64,96", "--group", "-1"],
        ),
        ("awq", vec!["--shape", "64,96", "--group", "32"]),
        (
            "int-pack",
            vec!["--asym", "--shape", "40,77", "--group", "16"],
        ),
        ("nvfp4-ct", vec!["--shape", "24,64"]),
        ("nvfp4-modelopt", vec!["--shape", "24,64"]),
        ("mxfp4", vec!["--shape", "24,64"]),
        ("fp8-block", vec!["--shape", "50,70", "--block", "16,32"]),
        ("fp8-tensor", vec!["--shape", "50,70"]),
        ("fp8-channel", vec!["--shape", "50,70"]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m");
        let reference = dir.path().join("ref.safetensors");
        let st = bin()
            .args(["gen", fmt, "--seed", "9", "--out"])
            .arg(&model)
            .arg("--reference")
            .arg(&reference)
            .args(&extra)
            .status()
            .unwrap();
        assert!(st.success(), "gen {fmt}");
        for oracle in [false, true] {
            let out = dir.path().join(format!("out-{oracle}.safetensors"));
            let mut cmd = bin();
            cmd.arg("dequant")
                .arg(&model)
                .args(["--layer", "layer", "--out"])
                .arg(&out);
            if oracle {
                cmd.arg("--oracle");
            }
            let o = cmd.output().unwrap();
            assert!(
                o.status.success(),
                "dequant {fmt}: {}",
                String::from_utf8_lossy(&o.stdout)
            );
            assert_eq!(weight(&out), weight(&reference), "{fmt} oracle={oracle}");
        }
    }
}

#[test]
fn dequant_reports_mutations_and_unknown_layers() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m");
    let st = bin()
        .args([
            "gen", "nvfp4-ct", "--shape", "16,32", "--mutate", "u8-scale", "--out",
        ])
        .arg(&model)
        .status()
        .unwrap();
    assert!(st.success());
    let o = bin()
        .arg("dequant")
        .arg(&model)
        .args(["--layer", "layer", "--out"])
        .arg(dir.path().join("x.safetensors"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(
        text.contains("QNT013") && text.contains("layer.weight_scale"),
        "{text}"
    );
    let o = bin()
        .arg("dequant")
        .arg(&model)
        .args(["--layer", "nope", "--out"])
        .arg(dir.path().join("y.safetensors"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(!dir.path().join("y.safetensors").exists());
}

#[test]
fn gen_model_writes_shards_index_and_tokenizer() {
    let dir = tempfile::tempdir().unwrap();
    let st = bin()
        .args([
            "gen",
            "model",
            "--format",
            "awq",
            "--location",
            "side-file",
            "--shards",
            "3",
            "--hidden",
            "64",
            "--intermediate",
            "128",
            "--group",
            "32",
            "--out",
        ])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    for f in [
        "config.json",
        "quant_config.json",
        "tokenizer.json",
        "model.safetensors.index.json",
        "model-00003-of-00003.safetensors",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    let bad = bin()
        .args(["gen", "mxfp4", "--location", "side-file", "--out"])
        .arg(dir.path().join("z"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
