//! Model-directory checks on generated fixtures: every directory, config, cross-check and
//! tokenizer rule, each through `check_dir` on a directory written by the synthesizer.

use safeweights::container::Writer;
use safeweights::diag::Severity;
use safeweights::dtype::Dtype;
use safeweights::model::synth::{
    DirPlan, ModelSpec, SynthData, SynthTensor, TokenizerFiles, EOT_ID,
};
use safeweights::model::{check_dir, demo, CheckOptions, CheckReport, ModelDir, OpenOptions};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn check(p: &Path) -> CheckReport {
    check_dir(p, &CheckOptions::default()).unwrap()
}

fn find<'a>(r: &'a CheckReport, code: &str) -> Vec<&'a safeweights::diag::Diagnostic> {
    r.diagnostics.iter().filter(|d| d.code == code).collect()
}

/// Asserts `code` was reported with `sev` and returns its first message.
fn expect(r: &CheckReport, code: &str, sev: Severity) -> String {
    let hits: Vec<_> = find(r, code)
        .into_iter()
        .filter(|d| d.severity == sev)
        .collect();
    assert!(
        !hits.is_empty(),
        "{code} ({sev}) not reported; got:\n{}",
        r.diagnostics
            .iter()
            .map(|d| format!("  {d}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    hits[0].message.clone()
}

fn write_plan(dir: &Path, f: impl FnOnce(&mut DirPlan)) -> PathBuf {
    let mut plan = DirPlan::new(&ModelSpec::llama_tiny());
    f(&mut plan);
    plan.write(dir).unwrap();
    dir.to_path_buf()
}

fn edit_json(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    f(&mut v);
    fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

#[test]
fn demo_directory_checks_clean() {
    let t = tmp();
    let w = demo::write_demo_dir(t.path()).unwrap();
    assert_eq!(w.shard_names.len(), 2);
    let r = check(t.path());
    assert!(r.ok());
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    assert_eq!((r.shards, r.tensors), (2, 39));
    assert_eq!(r.bytes, w.tensor_bytes);
    let j = r.to_json();
    assert_eq!(j["architecture"]["family"], "llama");
    assert_eq!(j["config"]["rope"]["type"], "llama3");
    assert_eq!(j["config"]["rope"]["low_freq_factor"], 1.0);
    assert_eq!(j["tokenizer"]["kind"], "tokenizer.json");
    assert_eq!(j["tokenizer"]["probe_round_trip"], true);
    assert_eq!(j["quantization"]["method"], "none");
}

#[test]
fn family_presets_check_clean() {
    for (spec, family, tensors) in [
        (ModelSpec::qwen2_tiny(), "qwen2", 1 + 2 * 12 + 1),
        (
            ModelSpec::qwen3_moe_tiny(),
            "qwen3_moe",
            1 + 2 * (5 + 2 + 1 + 1 + 12) + 2,
        ),
    ] {
        let t = tmp();
        DirPlan::new(&spec).write(t.path()).unwrap();
        let r = check(t.path());
        assert!(r.diagnostics.is_empty(), "{family}: {:?}", r.diagnostics);
        assert_eq!(r.tensors, tensors, "{family}");
        assert_eq!(r.to_json()["architecture"]["family"], family);
    }
    // Expert count that disagrees with the expert tensors.
    let t = tmp();
    let mut plan = DirPlan::new(&ModelSpec::qwen3_moe_tiny());
    plan.config["num_experts"] = json!(8);
    plan.write(t.path()).unwrap();
    assert!(expect(&check(t.path()), "CFG031", Severity::Error).contains("0-3"));
}

#[test]
fn output_is_deterministic() {
    let t = tmp();
    write_plan(t.path(), |p| {
        p.shards = 5;
        p.tensors
            .retain(|t| t.name != "model.layers.2.mlp.up_proj.weight");
    });
    fs::write(t.path().join("stray.bin"), b"x").unwrap();
    let a = check(t.path()).to_json();
    for _ in 0..5 {
        assert_eq!(check(t.path()).to_json(), a);
    }
}

#[test]
fn single_file_layout_and_progress_callback() {
    let t = tmp();
    write_plan(t.path(), |p| p.shards = 1);
    assert!(t.path().join("model.safetensors").exists());
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let cb = |_p: safeweights::model::Progress| {
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let r = check_dir(t.path(), &CheckOptions::with_progress(&cb)).unwrap();
    assert!(r.ok(), "{:?}", r.diagnostics);
    assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(r.to_json()["weights"]["layout"], "single");
}

#[test]
fn missing_shard_lists_its_tensors_grouped() {
    let t = tmp();
    write_plan(t.path(), |p| p.shards = 4);
    fs::remove_file(t.path().join("model-00002-of-00004.safetensors")).unwrap();
    let r = check(t.path());
    let m = expect(&r, "DIR004", Severity::Error);
    assert!(
        m.contains("model-00002-of-00004.safetensors") && m.contains("model.layers."),
        "{m}"
    );
    // The tensors of the missing shard are not reported a second time as missing.
    assert!(find(&r, "DIR007").is_empty());
    // Nor as a missing head or missing layers: one cause, one error.
    let errors: Vec<&str> = r
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code)
        .collect();
    assert_eq!(errors, ["DIR004"]);
    assert!(!r.ok());
}

#[test]
fn stale_index_both_directions_and_total_size() {
    let t = tmp();
    write_plan(t.path(), |p| p.shards = 2);
    let idx = t.path().join("model.safetensors.index.json");
    edit_json(&idx, |v| {
        let wm = v["weight_map"].as_object_mut().unwrap();
        wm.remove("model.layers.0.mlp.up_proj.weight");
        wm.insert(
            "model.layers.9.mlp.up_proj.weight".into(),
            json!("model-00001-of-00002.safetensors"),
        );
        wm.insert(
            "model.layers.10.mlp.up_proj.weight".into(),
            json!("model-00001-of-00002.safetensors"),
        );
        v["metadata"]["total_size"] = json!(12);
    });
    let r = check(t.path());
    let m = expect(&r, "DIR007", Severity::Error);
    assert!(m.contains("model.layers.{9-10}.mlp.up_proj.weight"), "{m}");
    let m = expect(&r, "DIR008", Severity::Error);
    assert!(m.contains("model.layers.0.mlp.up_proj.weight"), "{m}");
    expect(&r, "DIR010", Severity::Warning);
}

#[test]
fn tensor_in_two_shards_and_duplicate_index_key() {
    let t = tmp();
    let dir = write_plan(t.path(), |p| p.shards = 2);
    // Rewrite shard 2 with an extra copy of a tensor that shard 1 holds.
    let mut w = Writer::new();
    w.add(
        "model.embed_tokens.weight",
        Dtype::BF16,
        vec![2],
        vec![0u8; 4],
    )
    .unwrap();
    w.add(
        "lm_head.weight",
        Dtype::BF16,
        vec![320, 64],
        vec![0u8; 320 * 64 * 2],
    )
    .unwrap();
    w.write_atomic(dir.join("model-00002-of-00002.safetensors"))
        .unwrap();
    let r = check(&dir);
    let m = expect(&r, "DIR009", Severity::Error);
    assert!(m.contains("model.embed_tokens.weight"), "{m}");
    // Duplicate key in the index text itself.
    let idx = dir.join("model.safetensors.index.json");
    let text = fs::read_to_string(&idx).unwrap();
    let dup = text.replacen(
        "\"weight_map\": {",
        "\"weight_map\": {\n    \"lm_head.weight\": \"model-00001-of-00002.safetensors\",",
        1,
    );
    fs::write(&idx, dup).unwrap();
    let r = check(&dir);
    assert!(find(&r, "DIR009")
        .iter()
        .any(|d| d.message.contains("mapped 2 times")));
}

#[test]
fn unsafe_and_non_regular_shard_paths() {
    let t = tmp();
    let dir = write_plan(t.path(), |p| p.shards = 2);
    let idx = dir.join("model.safetensors.index.json");
    edit_json(&idx, |v| {
        v["weight_map"]["model.norm.weight"] = json!("../outside.safetensors");
        v["weight_map"]["lm_head.weight"] = json!("/etc/passwd");
        v["weight_map"]["model.layers.0.input_layernorm.weight"] = json!("subdir.safetensors");
        v["weight_map"]["model.layers.1.input_layernorm.weight"] = json!("dangling.safetensors");
    });
    fs::create_dir(dir.join("subdir.safetensors")).unwrap();
    std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("dangling.safetensors")).unwrap();
    let r = check(&dir);
    let unsafe_names: Vec<String> = find(&r, "DIR005")
        .iter()
        .map(|d| d.message.clone())
        .collect();
    assert_eq!(unsafe_names.len(), 2, "{unsafe_names:?}");
    assert!(unsafe_names.iter().any(|m| m.contains("absolute")));
    let non_regular: Vec<String> = find(&r, "DIR006")
        .iter()
        .map(|d| d.message.clone())
        .collect();
    assert_eq!(non_regular.len(), 2, "{non_regular:?}");
    assert!(non_regular.iter().any(|m| m.contains("symlink")));
}

#[test]
fn symlinked_shards_like_the_hub_cache_are_fine() {
    let t = tmp();
    let blobs = t.path().join("blobs");
    write_plan(&blobs, |p| p.shards = 2);
    let snap = t
        .path()
        .join("models--org--tiny")
        .join("snapshots")
        .join("abc123");
    fs::create_dir_all(&snap).unwrap();
    for e in fs::read_dir(&blobs).unwrap() {
        let e = e.unwrap();
        std::os::unix::fs::symlink(e.path(), snap.join(e.file_name())).unwrap();
    }
    let repo = t.path().join("models--org--tiny");
    fs::create_dir_all(repo.join("refs")).unwrap();
    fs::write(repo.join("refs/main"), "abc123\n").unwrap();
    let r = check(&repo);
    assert!(r.ok(), "{:?}", r.diagnostics);
    expect(&r, "DIR014", Severity::Info);
    assert_eq!(r.path, snap);
    assert_eq!(r.tensors, 39);

    // refs/main pointing nowhere; then missing with one snapshot; then garbage.
    fs::write(repo.join("refs/main"), "deadbeef").unwrap();
    let r = check(&repo);
    assert!(expect(&r, "DIR015", Severity::Error).contains("deadbeef"));
    fs::remove_file(repo.join("refs/main")).unwrap();
    let r = check(&repo);
    expect(&r, "DIR015", Severity::Warning);
    assert!(r.ok());
    fs::write(repo.join("refs/main"), "../../etc").unwrap();
    expect(&check(&repo), "DIR015", Severity::Error);
}

#[test]
fn stray_weight_files_are_reported_never_opened() {
    let t = tmp();
    let dir = write_plan(t.path(), |p| p.shards = 2);
    // Garbage content: opening them would produce container errors.
    fs::write(dir.join("consolidated.safetensors"), b"not safetensors").unwrap();
    fs::write(dir.join("pytorch_model.bin"), b"\x80\x02}q\x00.").unwrap();
    fs::write(dir.join("training_args.bin"), b"\x80\x02").unwrap();
    fs::write(dir.join("model.safetensors"), b"junk").unwrap();
    fs::write(dir.join("model-extra.safetensors"), b"junk").unwrap();
    let r = check(&dir);
    expect(&r, "DIR012", Severity::Warning);
    let m = expect(&r, "DIR013", Severity::Warning);
    assert!(
        m.contains("pytorch_model.bin") && m.contains("training_args.bin"),
        "{m}"
    );
    expect(&r, "DIR016", Severity::Warning);
    expect(&r, "DIR017", Severity::Warning);
    assert!(
        r.ok(),
        "stray files must not be opened: {:?}",
        r.diagnostics
    );
    assert!(r.diagnostics.iter().all(|d| !d.code.starts_with("ST")));
}

#[test]
fn no_weights_pickles_only_and_consolidated_only() {
    let t = tmp();
    fs::write(t.path().join("config.json"), "{}").unwrap();
    fs::write(t.path().join("pytorch_model.bin"), b"\x80\x02").unwrap();
    let r = check(t.path());
    assert!(expect(&r, "DIR002", Severity::Error).contains("pytorch_model.bin"));
    let t = tmp();
    let mut w = Writer::new();
    w.add("tok_embeddings.weight", Dtype::F32, vec![2], vec![0u8; 8])
        .unwrap();
    w.write_atomic(t.path().join("consolidated.safetensors"))
        .unwrap();
    fs::write(t.path().join("params.json"), r#"{"dim": 8}"#).unwrap();
    let r = check(t.path());
    expect(&r, "DIR012", Severity::Error);
    expect(&r, "CFG033", Severity::Error);
}

#[test]
fn index_structure_errors() {
    let t = tmp();
    let dir = write_plan(t.path(), |p| p.shards = 2);
    let idx = dir.join("model.safetensors.index.json");
    fs::write(&idx, "{\"weight_map\": ").unwrap();
    expect(&check(&dir), "DIR003", Severity::Error);
    fs::write(&idx, r#"{"weight_map": {}}"#).unwrap();
    expect(&check(&dir), "DIR018", Severity::Error);
}

#[test]
fn corrupt_unreadable_unindexed_and_empty_shards() {
    let t = tmp();
    let dir = write_plan(t.path(), |p| p.shards = 2);
    let shard = dir.join("model-00001-of-00002.safetensors");
    let mut bytes = fs::read(&shard).unwrap();
    bytes.truncate(bytes.len() / 2);
    fs::write(&shard, bytes).unwrap();
    let r = check(&dir);
    expect(&r, "DIR011", Severity::Error);
    assert!(r
        .diagnostics
        .iter()
        .any(|d| d.code.starts_with("ST") && d.file.as_deref() == Some(shard.as_path())));

    // Unindexed shards, routed by headers.
    let t = tmp();
    let dir = write_plan(t.path(), |p| p.shards = 2);
    fs::remove_file(dir.join("model.safetensors.index.json")).unwrap();
    let r = check(&dir);
    expect(&r, "DIR020", Severity::Warning);
    assert_eq!(r.tensors, 39);
    assert!(r.ok());

    // model.safetensors as a dangling symlink: listed, unreadable.
    let t = tmp();
    fs::write(t.path().join("config.json"), "{}").unwrap();
    std::os::unix::fs::symlink(t.path().join("gone"), t.path().join("model.safetensors")).unwrap();
    expect(&check(t.path()), "DIR019", Severity::Error);

    // A file with no tensors.
    let t = tmp();
    Writer::new()
        .write_atomic(t.path().join("model.safetensors"))
        .unwrap();
    fs::write(t.path().join("config.json"), "{}").unwrap();
    expect(&check(t.path()), "DIR021", Severity::Error);
}

#[test]
fn not_a_directory_is_a_usage_error() {
    let t = tmp();
    assert!(check_dir(t.path().join("nope"), &CheckOptions::default()).is_err());
    fs::write(t.path().join("f"), "x").unwrap();
    assert!(ModelDir::open(t.path().join("f"), &OpenOptions::default()).is_err());
}

#[test]
fn config_file_problems() {
    let t = tmp();
    let dir = write_plan(t.path(), |_| {});
    fs::remove_file(dir.join("config.json")).unwrap();
    let r = check(&dir);
    expect(&r, "CFG001", Severity::Error);
    // The family still comes from tensor names.
    assert!(expect(&r, "CFG035", Severity::Warning).contains("llama"));
    assert_eq!(r.to_json()["architecture"]["family"], "llama");
    assert_eq!(r.to_json()["architecture"]["source"], "tensor_names");
    assert!(r.to_json()["config"]["hidden_size"].is_null());
    fs::write(dir.join("config.json"), "{\"hidden_size\": 64,}").unwrap();
    assert!(expect(&check(&dir), "CFG002", Severity::Error).contains("line"));
    fs::write(
        dir.join("config.json"),
        "{\"hidden_size\": 64, \"num_hidden_layers\": 4}",
    )
    .unwrap();
    let r = check(&dir);
    expect(&r, "CFG005", Severity::Warning);
    expect(&r, "CFG035", Severity::Warning);
}

#[test]
fn config_tensor_crosschecks() {
    // Tie flag true but head stored; bias flags false but biases stored.
    let t = tmp();
    let mut spec = ModelSpec::llama_tiny();
    spec.attention_bias = true;
    spec.mlp_bias = true;
    let mut plan = DirPlan::new(&spec);
    plan.config["tie_word_embeddings"] = json!(true);
    plan.config["attention_bias"] = json!(false);
    plan.config["mlp_bias"] = json!(false);
    plan.write(t.path()).unwrap();
    let r = check(t.path());
    expect(&r, "CFG024", Severity::Warning);
    assert!(expect(&r, "CFG026", Severity::Error).contains("0-3"));
    assert!(expect(&r, "CFG027", Severity::Error).contains("0-3"));
    assert_eq!(
        find(&r, "CFG026").len(),
        1,
        "one summary, not one per layer"
    );

    // Untied without a head; wrong vocab and layer count; flags true without biases.
    let t = tmp();
    write_plan(t.path(), |p| {
        p.tensors.retain(|t| t.name != "lm_head.weight");
        p.config["vocab_size"] = json!(321);
        p.config["num_hidden_layers"] = json!(6);
        p.config["attention_bias"] = json!(true);
    });
    let r = check(t.path());
    expect(&r, "CFG025", Severity::Error);
    assert!(expect(&r, "CFG028", Severity::Error).contains("320 rows"));
    assert!(expect(&r, "CFG029", Severity::Error).contains("4-5"));
    expect(&r, "CFG026", Severity::Error);

    // Unset tie, no head.
    let t = tmp();
    write_plan(t.path(), |p| {
        p.tensors.retain(|t| t.name != "lm_head.weight");
        p.config
            .as_object_mut()
            .unwrap()
            .remove("tie_word_embeddings");
    });
    expect(&check(t.path()), "CFG037", Severity::Warning);

    // Odd naming: no embedding to cross-check.
    let t = tmp();
    write_plan(t.path(), |p| {
        for x in &mut p.tensors {
            x.name = x.name.replace("embed_tokens", "tokens_in");
        }
    });
    expect(&check(t.path()), "CFG032", Severity::Warning);
}

#[test]
fn multimodal_wrapper_with_post_452_layout() {
    let t = tmp();
    let spec = ModelSpec::llama_tiny();
    let mut plan = DirPlan::new(&spec);
    for x in &mut plan.tensors {
        if let Some(rest) = x.name.strip_prefix("model.") {
            x.name = format!("model.language_model.{rest}");
        }
    }
    plan.tensors.push(SynthTensor::new(
        "model.vision_tower.blocks.40.w",
        Dtype::BF16,
        vec![4],
        SynthData::Zeros,
    ));
    let text = plan.config.clone();
    plan.config = json!({
        "architectures": ["Mistral3ForConditionalGeneration"], "model_type": "mistral3",
        "text_config": text, "vision_config": {"model_type": "pixtral", "hidden_size": 8},
        "quantization_config": null
    });
    plan.config["text_config"]["model_type"] = json!("mistral");
    plan.write(t.path()).unwrap();
    let r = check(t.path());
    assert!(r.ok(), "{:?}", r.diagnostics);
    expect(&r, "CFG022", Severity::Info);
    let j = r.to_json();
    assert_eq!(j["config"]["has_vision"], true);
    assert_eq!(j["config"]["hidden_size"], 64);
    assert_eq!(j["weights"]["checkpoint_layout"], "transformers>=4.52");
    assert_eq!(j["architecture"]["text_model_type"], "mistral");
}

#[test]
fn quantization_section_comes_from_the_quant_detector() {
    let t = tmp();
    write_plan(t.path(), |p| {
        p.config["quantization_config"] = json!({"quant_method": "GPTQ", "bits": 4});
    });
    let j = check(t.path()).to_json();
    assert_eq!(j["quantization"]["method"], "gptq");
    assert_eq!(
        j["quantization"]["source"],
        "config.json:quantization_config"
    );
    // The GPTQ config lacks group_size: reported, and the scheme is not decodable.
    assert_eq!(j["quantization"]["supported"], false);
    let codes: Vec<&str> = j["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"QNT005"), "{codes:?}");
    let t = tmp();
    write_plan(t.path(), |p| {
        p.extra_files.push((
            "quantize_config.json".into(),
            br#"{"bits": 4, "group_size": 128}"#.to_vec(),
        ));
    });
    let j = check(t.path()).to_json();
    // A GPTQ side file over plain weights: the config and the weights disagree.
    assert_eq!(j["quantization"]["source"], "quantize_config.json");
    assert_eq!(j["quantization"]["method"], "gptq");
    assert_eq!(j["quantization"]["layers"], 0);
    assert_eq!(j["ok"], false);
    let codes: Vec<&str> = j["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["QNT027"]);
    // A replacement detector is called.
    fn fake(_: &ModelDir, _: &Value) -> safeweights::model::QuantReport {
        let mut q = safeweights::model::QuantReport::none();
        q.method = "fake".into();
        q
    }
    let o = CheckOptions {
        quant_detector: fake,
        ..Default::default()
    };
    assert_eq!(
        check_dir(t.path(), &o).unwrap().to_json()["quantization"]["method"],
        "fake"
    );
}

#[test]
fn tokenizer_variants() {
    // SentencePiece only.
    let t = tmp();
    write_plan(t.path(), |p| {
        p.tokenizer = TokenizerFiles::SentencePieceOnly
    });
    let r = check(t.path());
    assert!(expect(&r, "TOK001", Severity::Error).contains("tokenizer.model"));
    assert_eq!(r.to_json()["tokenizer"]["kind"], "sentencepiece");
    // None.
    let t = tmp();
    write_plan(t.path(), |p| p.tokenizer = TokenizerFiles::None);
    let r = check(t.path());
    expect(&r, "TOK002", Severity::Warning);
    assert!(r.ok());
    assert_eq!(r.to_json()["tokenizer"]["kind"], "none");
    // tokenizer.json only: no chat template.
    let t = tmp();
    write_plan(t.path(), |p| p.tokenizer = TokenizerFiles::JsonOnly);
    expect(&check(t.path()), "TOK006", Severity::Info);
    // Broken tokenizer.json.
    let t = tmp();
    write_plan(t.path(), |_| {});
    fs::write(
        t.path().join("tokenizer.json"),
        r#"{"model": {"type": "Nope"}}"#,
    )
    .unwrap();
    expect(&check(t.path()), "TOK003", Severity::Error);
    // tekken.json.
    let t = tmp();
    write_plan(t.path(), |p| {
        p.tokenizer = TokenizerFiles::None;
        p.extra_files.push((
            "tekken.json".into(),
            serde_json::to_vec(&json!({"config": {"default_vocab_size": 300, "default_num_special_tokens": 10}, "vocab": [{"rank": 0, "token_bytes": "AA=="}], "special_tokens": []})).unwrap(),
        ));
    });
    let r = check(t.path());
    expect(&r, "TOK012", Severity::Info);
    assert_eq!(r.to_json()["tokenizer"]["vocab_size"], 300);
    let t = tmp();
    write_plan(t.path(), |p| {
        p.tokenizer = TokenizerFiles::None;
        p.extra_files
            .push(("tekken.json".into(), b"{\"vocab\": 3}".to_vec()));
    });
    expect(&check(t.path()), "TOK003", Severity::Error);
}

#[test]
fn tokenizer_side_files() {
    let t = tmp();
    let dir = write_plan(t.path(), |_| {});
    edit_json(&dir.join("tokenizer_config.json"), |v| {
        v["eos_token"] = json!("<|nope|>")
    });
    edit_json(&dir.join("generation_config.json"), |v| {
        v["eos_token_id"] = json!([5000, 7])
    });
    edit_json(&dir.join("special_tokens_map.json"), |v| {
        v["eos_token"] = json!({"content": "<|end_of_text|>"})
    });
    let r = check(&dir);
    assert!(expect(&r, "TOK007", Severity::Error).contains("<|nope|>"));
    assert!(expect(&r, "TOK009", Severity::Error).contains("5000"));
    expect(&r, "TOK008", Severity::Warning);

    // config.json ids are checked too.
    let t2 = tmp();
    write_plan(t2.path(), |p| p.config["eos_token_id"] = json!([263, 9999]));
    let r = check(t2.path());
    let hit = find(&r, "TOK009");
    assert!(
        hit.iter()
            .any(|d| d.message.contains("config.json: eos_token_id 9999")),
        "{hit:?}"
    );

    // eos ids valid but not including the tokenizer's eos.
    let t = tmp();
    let dir = write_plan(t.path(), |_| {});
    edit_json(&dir.join("generation_config.json"), |v| {
        v["eos_token_id"] = json!(260)
    });
    let m = expect(&check(&dir), "TOK009", Severity::Warning);
    assert!(m.contains(&EOT_ID.to_string()), "{m}");

    // Unparseable side files.
    let t = tmp();
    let dir = write_plan(t.path(), |_| {});
    fs::write(dir.join("tokenizer_config.json"), "{").unwrap();
    fs::write(dir.join("special_tokens_map.json"), "[]").unwrap();
    fs::write(dir.join("generation_config.json"), "nope").unwrap();
    let r = check(&dir);
    expect(&r, "TOK005", Severity::Error);
    expect(&r, "TOK008", Severity::Error);
    expect(&r, "TOK010", Severity::Error);

    // Tokenizer larger than the embedding.
    let t = tmp();
    write_plan(t.path(), |p| {
        p.config["vocab_size"] = json!(200);
        for x in &mut p.tensors {
            if x.shape.first() == Some(&320) {
                x.shape[0] = 200;
            }
        }
    });
    expect(&check(t.path()), "TOK011", Severity::Error);
}

#[test]
fn tokenizer_probe_failures() {
    // A WordLevel tokenizer without the probe's words and without an unk token cannot encode it.
    let t = tmp();
    let dir = write_plan(t.path(), |p| p.tokenizer = TokenizerFiles::JsonOnly);
    let wl = json!({"version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": null,
        "model": {"type": "WordLevel", "vocab": {"hello": 0, "[UNK]": 1}, "unk_token": "[UNK]"}});
    fs::write(dir.join("tokenizer.json"), serde_json::to_vec(&wl).unwrap()).unwrap();
    let r = check(&dir);
    // Lossy (lower-casing, unknown words): a warning, not an error.
    assert!(expect(&r, "TOK004", Severity::Warning).contains("differs"));
}

#[test]
fn deep_scan_finds_nan_inf_and_zero_tensors() {
    let t = tmp();
    write_plan(t.path(), |p| {
        for x in &mut p.tensors {
            let n = x.byte_len() as usize;
            if x.name == "model.layers.1.self_attn.q_proj.weight" {
                let mut b = x.bytes();
                b[2..4].copy_from_slice(&0x7FC0u16.to_le_bytes()); // bf16 NaN
                x.data = SynthData::Bytes(b);
            } else if x.name == "model.layers.2.mlp.down_proj.weight" {
                let mut b = x.bytes();
                b[0..2].copy_from_slice(&0xFF80u16.to_le_bytes()); // bf16 -inf
                x.data = SynthData::Bytes(b);
            } else if x.name.ends_with("post_attention_layernorm.weight") {
                x.data = SynthData::Bytes(vec![0; n]);
            }
        }
    });
    let shallow = check(t.path());
    assert!(
        shallow.ok() && shallow.diagnostics.is_empty(),
        "headers alone cannot see data"
    );
    let opts = CheckOptions {
        deep: true,
        ..Default::default()
    };
    let r = check_dir(t.path(), &opts).unwrap();
    assert!(expect(&r, "DIR022", Severity::Error).starts_with("1 of 4096 values"));
    assert_eq!(
        find(&r, "DIR022")[0].tensor.as_deref(),
        Some("model.layers.1.self_attn.q_proj.weight")
    );
    expect(&r, "DIR023", Severity::Warning);
    let zeros: Vec<String> = find(&r, "DIR024")
        .iter()
        .map(|d| d.message.clone())
        .collect();
    assert!(
        zeros
            .iter()
            .any(|m| m.contains("post_attention_layernorm.weight")),
        "{zeros:?}"
    );
    assert_eq!(r.to_json()["weights"]["data_scanned"], true);
    assert!(!r.ok());
}

mod hostile_files {
    use super::*;
    use proptest::prelude::*;

    fn content() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            Just(b"{}".to_vec()),
            Just(b"[]".to_vec()),
            Just(b"null".to_vec()),
            Just(br#"{"weight_map": {"a": "model-00001-of-00002.safetensors"}, "metadata": {"total_size": "x"}}"#.to_vec()),
            Just(br#"{"architectures": 5, "num_hidden_layers": 18446744073709551615, "rope_scaling": [1], "layer_types": "x"}"#.to_vec()),
            Just(br#"{"model": {"type": "BPE", "vocab": {}, "merges": []}}"#.to_vec()),
            Just(br#"{"eos_token_id": [18446744073709551615], "bos_token": {"content": 3}}"#.to_vec()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn check_never_panics_on_hostile_metadata_files(files in prop::collection::vec((0usize..6, content()), 1..5)) {
            let t = tmp();
            demo::write_demo_dir(t.path()).unwrap();
            const NAMES: [&str; 6] = ["config.json", "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json", "special_tokens_map.json"];
            for (i, bytes) in &files {
                fs::write(t.path().join(NAMES[*i]), bytes).unwrap();
            }
            let r = check_dir(t.path(), &CheckOptions::default()).unwrap();
            // Every finding names a code of the catalogue and renders.
            let _ = r.to_json();
            let _ = r.render(&|s| s.to_string());
            prop_assert!(r.diagnostics.iter().all(|d| d.code.len() == 6 || d.code.starts_with("ST")));
        }
    }
}
