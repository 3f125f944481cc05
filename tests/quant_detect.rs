//! Detection: precedence, legacy spellings, unsupported layouts, disagreements, hints.

use safeweights::quant::{detect_from, Layout, Method, QuantReport, SideFiles};
use serde_json::json;

fn codes(d: &[safeweights::diag::Diagnostic]) -> Vec<&'static str> {
    d.iter().map(|d| d.code).collect()
}

#[test]
fn gptq_legacy_synonyms_and_default_v1() {
    let side = SideFiles {
        quantize_config: Some(json!({"w_bit": 3, "q_group_size": 64, "desc_act": true})),
        ..Default::default()
    };
    // w_bit/q_group_size without quant_method in quantize_config.json reads as AWQ per §11 step 2
    let (s, _) = detect_from(&json!({}), &side, &[]);
    assert_eq!(s.unwrap().method, Method::Awq);
    let side = SideFiles {
        quantize_config: Some(json!({"bits": 3, "group_size": 64, "desc_act": true})),
        ..Default::default()
    };
    let (s, d) = detect_from(&json!({}), &side, &[]);
    let s = s.unwrap();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(
        s.layout,
        Layout::Gptq {
            bits: Some(3),
            group_size: Some(64),
            desc_act: true,
            v1: true
        }
    );
    assert_eq!(s.source, "quantize_config.json");
    let q = json!({"quantization_config": {"quant_method": "gptq", "w_bit": 4, "q_group_size": -1, "format": "gptq_v2"}});
    let (s, _) = detect_from(&q, &SideFiles::default(), &[]);
    assert_eq!(
        s.unwrap().layout,
        Layout::Gptq {
            bits: Some(4),
            group_size: Some(-1),
            desc_act: false,
            v1: false
        }
    );
}

#[test]
fn gptq_marlin_and_bad_bits() {
    for q in [
        json!({"quant_method": "gptq", "bits": 4, "group_size": 128, "is_marlin_format": true}),
        json!({"quant_method": "marlin", "bits": 4, "group_size": 128}),
        json!({"quant_method": "gptq", "bits": 4, "group_size": 128, "checkpoint_format": "marlin"}),
    ] {
        let (s, d) = detect_from(
            &json!({"quantization_config": q}),
            &SideFiles::default(),
            &[],
        );
        let s = s.unwrap();
        assert!(!s.supported());
        assert_eq!(s.checkpoint_format.as_deref(), Some("marlin"));
        assert!(codes(&d).contains(&"QNT003"));
    }
    let (_, d) = detect_from(
        &json!({"quantization_config": {"quant_method": "gptq", "bits": 5, "group_size": 0}}),
        &SideFiles::default(),
        &[],
    );
    assert_eq!(codes(&d).iter().filter(|c| **c == "QNT005").count(), 2);
}

#[test]
fn awq_layouts_and_gemv() {
    let side = SideFiles {
        quant_config: Some(
            json!({"zero_point": true, "q_group_size": 128, "w_bit": 4, "version": "GEMM"}),
        ),
        ..Default::default()
    };
    let (s, d) = detect_from(&json!({}), &side, &[]);
    assert!(d.is_empty());
    let s = s.unwrap();
    assert_eq!(
        s.layout,
        Layout::Awq {
            group_size: Some(128)
        }
    );
    assert_eq!(s.checkpoint_format.as_deref(), Some("gemm"));
    let (s, d) = detect_from(
        &json!({"quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128, "version": "GEMV"}}),
        &SideFiles::default(),
        &[],
    );
    assert!(!s.unwrap().supported());
    assert!(codes(&d).contains(&"QNT003"));
}

#[test]
fn precedence_and_disagreement() {
    let cfg = json!({
        "quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128, "version": "gemm"},
        "text_config": {"quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 128}}
    });
    let (s, d) = detect_from(&cfg, &SideFiles::default(), &[]);
    assert_eq!(s.unwrap().method, Method::Awq);
    let e = d.iter().find(|d| d.code == "QNT001").expect("disagreement");
    assert!(
        e.message.contains("config.json:quantization_config") && e.message.contains("text_config"),
        "{}",
        e.message
    );
    // Agreement (ModelOpt writes both files) is fine.
    let cfg = json!({"quantization_config": {"quant_method": "modelopt", "quant_algo": "NVFP4", "exclude_modules": ["lm_head"]}});
    let side = SideFiles {
        hf_quant_config: Some(
            json!({"producer": {"name": "modelopt", "version": "0.29"}, "quantization": {"quant_algo": "NVFP4", "kv_cache_quant_algo": "FP8", "exclude_modules": ["lm_head"]}}),
        ),
        ..Default::default()
    };
    let (s, d) = detect_from(&cfg, &side, &[]);
    assert!(!codes(&d).contains(&"QNT001"), "{d:?}");
    assert_eq!(s.unwrap().scale_convention.as_deref(), Some("multiplier"));
    // compression_config outranks text_config
    let cfg = json!({
        "compression_config": {"quant_method": "fp8", "weight_block_size": [128, 128]},
        "text_config": {"quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]}}
    });
    assert_eq!(
        detect_from(&cfg, &SideFiles::default(), &[])
            .0
            .unwrap()
            .source,
        "config.json:compression_config"
    );
}

#[test]
fn tensor_name_heuristics_warn_and_disagree() {
    let names = [
        "model.layers.0.mlp.experts.down_proj_blocks",
        "model.layers.0.mlp.experts.down_proj_scales",
    ];
    let (s, d) = detect_from(&json!({}), &SideFiles::default(), &names);
    assert_eq!(s.unwrap().method, Method::Mxfp4);
    assert_eq!(codes(&d), vec!["QNT002"]);
    let (s, d) = detect_from(&json!({}), &SideFiles::default(), &["a.qweight", "a.g_idx"]);
    assert!(!s.unwrap().supported(), "bits unknown without config");
    assert_eq!(codes(&d), vec!["QNT002"]);
    let awq = json!({"quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128}});
    let (_, d) = detect_from(&awq, &SideFiles::default(), &["a.qweight", "a.g_idx"]);
    assert!(codes(&d).contains(&"QNT001"));
    assert!(
        detect_from(&json!({}), &SideFiles::default(), &["a.weight"])
            .0
            .is_none()
    );
}

#[test]
fn compressed_tensors_variants_and_hints() {
    let ct = |fmt: &str, w: serde_json::Value| {
        json!({"quantization_config": {
            "quant_method": "compressed-tensors", "format": fmt,
            "config_groups": {"group_0": {"targets": ["Linear"], "weights": w}},
            "ignore": ["lm_head", "re:.*mlp.gate$"], "kv_cache_scheme": {"num_bits": 8, "type": "float"}
        }})
    };
    let (s, d) = detect_from(
        &ct(
            "pack-quantized",
            json!({"num_bits": 8, "type": "int", "symmetric": false, "strategy": "channel"}),
        ),
        &SideFiles::default(),
        &[],
    );
    let s = s.unwrap();
    assert_eq!(
        s.layout,
        Layout::IntPack {
            bits: 8,
            group_size: None,
            symmetric: false,
            actorder: false
        }
    );
    assert_eq!(s.unquantized_modules, vec!["lm_head", "re:.*mlp.gate$"]);
    assert!(codes(&d).contains(&"QNT006"));
    let (s, _) = detect_from(
        &ct(
            "float-quantized",
            json!({"num_bits": 8, "type": "float", "strategy": "block", "block_structure": "64x32"}),
        ),
        &SideFiles::default(),
        &[],
    );
    assert_eq!(s.unwrap().scale_convention.as_deref(), Some("block-64x32"));
    let (s, _) = detect_from(
        &ct("sparse-24-bitmask", json!({"num_bits": 8})),
        &SideFiles::default(),
        &[],
    );
    assert!(!s.unwrap().supported());
}

#[test]
fn bitsandbytes_is_reported_unsupported_and_report_shape() {
    let cfg = json!({"quantization_config": {"quant_method": "bitsandbytes", "load_in_4bit": true, "bnb_4bit_quant_type": "nf4", "llm_int8_skip_modules": ["lm_head"]}});
    let (s, d) = detect_from(&cfg, &SideFiles::default(), &[]);
    let s = s.unwrap();
    assert!(codes(&d).contains(&"QNT003"));
    let r = serde_json::to_value(QuantReport::new(Some(&s), 0)).unwrap();
    assert_eq!(r["method"], "bitsandbytes");
    assert_eq!(r["bits"], 4);
    assert_eq!(r["supported"], false);
    assert_eq!(r["unquantized_modules"], json!(["lm_head"]));
    let none = serde_json::to_value(QuantReport::new(None, 0)).unwrap();
    assert_eq!(none["method"], "none");
    assert_eq!(none["source"], "none");
}

#[test]
fn ignored_module_with_quantized_tensors_is_an_error() {
    let cfg = json!({"quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 128, "modules_to_not_convert": ["lm_head"]}});
    let (_, d) = detect_from(
        &cfg,
        &SideFiles::default(),
        &["lm_head.qweight", "lm_head.g_idx"],
    );
    let e = d.iter().find(|d| d.code == "QNT020").expect("QNT020");
    assert_eq!(e.tensor.as_deref(), Some("lm_head.qweight"));
}
