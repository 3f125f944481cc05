//! `safeweights check` as a process: exit codes, the demo directory, and the JSON shape.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_safeweights"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn demo_check_human_exits_zero() {
    let o = run(&["check"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stderr}\n{stdout}");
    assert!(stderr.contains("demo model"), "{stderr}");
    for part in [
        "architecture  LlamaForCausalLM -> family llama",
        "rope          llama3",
        "quantization  none",
        "tokenizer     tokenizer.json",
        "2 shard(s), 39 tensors",
        "result: ok",
    ] {
        assert!(stdout.contains(part), "missing {part:?} in:\n{stdout}");
    }
    // The demo folder is removed afterwards.
    let path = stderr
        .split(" to ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert!(!Path::new(path).exists(), "{path} left behind");
}

#[test]
fn demo_check_json_shape() {
    let o = run(&["check", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let j = json_of(&o);
    assert_eq!(
        keys(&j),
        [
            "architecture",
            "bytes",
            "config",
            "diagnostics",
            "ok",
            "path",
            "quantization",
            "quantization_deep",
            "resolved_path",
            "shards",
            "tensors",
            "tokenizer",
            "weights"
        ]
    );
    assert_eq!(j["ok"], true);
    assert!(j["path"].is_string());
    assert_eq!(
        (j["shards"].as_u64(), j["tensors"].as_u64()),
        (Some(2), Some(39))
    );
    assert!(j["bytes"].as_u64().unwrap() > 0);
    let a = &j["architecture"];
    assert_eq!(a["classes"], serde_json::json!(["LlamaForCausalLM"]));
    assert_eq!(
        (
            a["family"].as_str(),
            a["model_type"].as_str(),
            a["supported"].as_bool()
        ),
        (Some("llama"), Some("llama"), Some(true))
    );
    let c = &j["config"];
    for k in [
        "num_hidden_layers",
        "hidden_size",
        "num_attention_heads",
        "num_key_value_heads",
        "head_dim",
        "vocab_size",
        "intermediate_size",
        "tie_word_embeddings",
        "attention_bias",
        "mlp_bias",
        "sliding_window",
        "num_experts",
        "num_experts_per_tok",
        "kv_lora_rank",
        "q_lora_rank",
        "has_vision",
        "rope",
    ] {
        assert!(c.get(k).is_some(), "config.{k} missing");
    }
    assert_eq!(c["num_key_value_heads"], 2);
    assert_eq!(c["head_dim"], 16);
    assert_eq!(c["tie_word_embeddings"], false);
    assert!(
        c["sliding_window"].is_null() && c["num_experts"].is_null() && c["kv_lora_rank"].is_null()
    );
    assert_eq!(c["has_vision"], false);
    let r = &c["rope"];
    assert_eq!(
        (r["type"].as_str(), r["theta"].as_f64()),
        (Some("llama3"), Some(500000.0))
    );
    for k in [
        "factor",
        "low_freq_factor",
        "high_freq_factor",
        "original_max_position_embeddings",
    ] {
        assert!(r[k].is_number(), "rope.{k}");
    }
    let q = &j["quantization"];
    assert_eq!(
        (
            q["method"].as_str(),
            q["source"].as_str(),
            q["supported"].as_bool()
        ),
        (Some("none"), Some("none"), Some(true))
    );
    assert_eq!(j["tokenizer"]["kind"], "tokenizer.json");
    assert_eq!(j["diagnostics"], serde_json::json!([]));
}

fn broken_dir() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    safeweights::model::demo::write_demo_dir(t.path()).unwrap();
    std::fs::remove_file(t.path().join("model-00002-of-00002.safetensors")).unwrap();
    let p = t.path().to_path_buf();
    (t, p)
}

#[test]
fn errors_exit_one_with_diagnostics_in_validate_shape() {
    let (_t, dir) = broken_dir();
    let o = run(&["check", dir.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let j = json_of(&o);
    assert_eq!(j["ok"], false);
    let d = j["diagnostics"].as_array().unwrap();
    assert!(!d.is_empty());
    for x in d {
        assert_eq!(
            keys(x),
            ["advice", "code", "file", "message", "severity", "tensor"]
        );
        assert!(["error", "warning", "info"].contains(&x["severity"].as_str().unwrap()));
    }
    let first = &d[0];
    assert_eq!(first["code"], "DIR004");
    assert_eq!(first["severity"], "error");
    assert!(first["file"]
        .as_str()
        .unwrap()
        .ends_with("model-00002-of-00002.safetensors"));
    // Human output names the code and the advice too.
    let o = run(&["check", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("error DIR004") && s.contains("advice:") && s.contains("will not load"),
        "{s}"
    );
}

#[test]
fn deep_scan_exit_codes() {
    let t = tempfile::tempdir().unwrap();
    safeweights::model::demo::write_demo_dir(t.path()).unwrap();
    let d = t.path().to_str().unwrap();
    let o = run(&["check", d, "--deep", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(json_of(&o)["weights"]["data_scanned"], true);
    // Zero the data of the second shard in place (same length: headers stay valid).
    let shard = t.path().join("model-00002-of-00002.safetensors");
    let bytes = std::fs::read(&shard).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize + 8;
    let mut zeroed = bytes[..n].to_vec();
    zeroed.resize(bytes.len(), 0);
    std::fs::write(&shard, zeroed).unwrap();
    assert_eq!(
        run(&["check", d]).status.code(),
        Some(0),
        "headers alone cannot see it"
    );
    let o = run(&["check", d, "--deep", "--json"]);
    assert_eq!(o.status.code(), Some(0), "all-zero tensors are a warning");
    let j = json_of(&o);
    assert!(j["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["code"] == "DIR024"));
}

#[test]
fn usage_and_io_errors_exit_two() {
    assert_eq!(
        run(&["check", "/nonexistent/model/dir"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["check", "--no-such-flag"]).status.code(), Some(2));
    assert_eq!(
        run(&["check", "--max-header-bytes", "999999999999"])
            .status
            .code(),
        Some(2)
    );
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("file");
    std::fs::write(&f, "x").unwrap();
    let o = run(&["check", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a directory"));
}

#[test]
fn warnings_only_exit_zero_and_keep_demo_keeps_it() {
    let t = tempfile::tempdir().unwrap();
    safeweights::model::demo::write_demo_dir(t.path()).unwrap();
    std::fs::write(t.path().join("pytorch_model.bin"), b"\x80\x02").unwrap();
    let o = run(&["check", t.path().to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(json_of(&o)["diagnostics"][0]["code"], "DIR013");

    let o = run(&["check", "--keep-demo", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let path = stderr.trim().rsplit(" to ").next().unwrap().to_string();
    let p = Path::new(&path);
    assert!(p.join("config.json").exists(), "{path}");
    std::fs::remove_dir_all(p).unwrap();
}
