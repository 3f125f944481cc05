//! config.json normalisation on configs shaped like real hub releases (written here, not
//! downloaded), and the Llama-3.1-8B llama3 RoPE inverse-frequency table.

use safeweights::model::rope::{default_inv_freq, llama3_inv_freq};
use safeweights::model::{normalize_config, parse_config_str, ModelConfig};
use serde_json::{json, Value};
use std::f64::consts::PI;

fn norm(v: Value) -> (ModelConfig, Vec<&'static str>) {
    let (c, d) = normalize_config(&v).unwrap();
    (c, d.iter().map(|d| d.code).collect())
}

fn llama31_8b() -> Value {
    json!({
        "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
        "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu",
        "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
        "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
        "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
        "pretraining_tp": 1, "rms_norm_eps": 1e-05,
        "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 8192, "rope_type": "llama3"},
        "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
        "transformers_version": "4.43.0.dev0", "use_cache": true, "vocab_size": 128256
    })
}

/// Expected table computed here from the formula (Llama 3.1 reference implementation,
/// `apply_scaling` in meta-llama/llama-models), independently of the library.
fn expected_llama31() -> Vec<f64> {
    let (theta, factor, low, high, orig) = (500000.0f64, 8.0f64, 1.0f64, 4.0f64, 8192.0f64);
    let (low_wavelen, high_wavelen) = (orig / low, orig / high);
    (0..64)
        .map(|i| {
            let freq = 1.0 / theta.powf((2 * i) as f64 / 128.0);
            let wavelen = 2.0 * PI / freq;
            if wavelen < high_wavelen {
                freq
            } else if wavelen > low_wavelen {
                freq / factor
            } else {
                let smooth = (orig / wavelen - low) / (high - low);
                (1.0 - smooth) * freq / factor + smooth * freq
            }
        })
        .collect()
}

#[test]
fn llama31_8b_rope_inverse_frequencies() {
    let (c, codes) = norm(llama31_8b());
    assert!(codes.is_empty(), "{codes:?}");
    assert_eq!(c.head_dim, Some(128));
    let table = c
        .rope
        .main
        .inv_freq(128, c.max_position_embeddings)
        .unwrap();
    assert_eq!(table, llama3_inv_freq(128, 500000.0, 8.0, 1.0, 4.0, 8192.0));
    assert_eq!(table.len(), 64);
    let expected = expected_llama31();
    for (i, (a, e)) in table.iter().zip(&expected).enumerate() {
        assert!(
            (a - e).abs() <= 1e-15 * e.abs(),
            "component {i}: {a} vs {e}"
        );
    }
    let base = default_inv_freq(128, 500000.0);
    // High-frequency components (wavelength < 8192/4 = 2048 positions): unchanged.
    let unchanged: Vec<usize> = (0..64).filter(|&i| table[i] == base[i]).collect();
    assert_eq!(unchanged, (0..=28).collect::<Vec<_>>());
    assert_eq!(table[0], 1.0);
    // Low-frequency components (wavelength > 8192): divided by exactly 8.
    let divided: Vec<usize> = (0..64).filter(|&i| table[i] == base[i] / 8.0).collect();
    assert_eq!(divided, (35..64).collect::<Vec<_>>());
    // The smooth band 29..=34 lies strictly between the two and is interpolated.
    for i in 29..=34 {
        assert!(
            table[i] < base[i] && table[i] > base[i] / 8.0,
            "component {i}"
        );
        let smooth = (8192.0 * base[i] / (2.0 * PI) - 1.0) / 3.0;
        assert!(smooth > 0.0 && smooth < 1.0);
    }
    // A value checked by hand: component 30, smooth = 0.59285, 0.00213112 -> 0.00137189.
    assert!((table[30] - 0.0013718935677611381).abs() < 1e-15);
    // Frequencies still decrease monotonically across the band edges.
    assert!(table.windows(2).all(|w| w[0] > w[1]));
}

#[test]
fn v5_rope_parameters_flat_and_nested() {
    // transformers v5 Llama: rope_theta inside rope_parameters, dtype instead of torch_dtype.
    let mut v = llama31_8b();
    let m = v.as_object_mut().unwrap();
    let scaling = m.remove("rope_scaling").unwrap();
    m.remove("rope_theta");
    m.remove("torch_dtype");
    let mut p = scaling.clone();
    p["rope_theta"] = json!(500000.0);
    m.insert("rope_parameters".into(), p);
    m.insert("dtype".into(), json!("bfloat16"));
    let (c, codes) = norm(v);
    assert!(codes.is_empty(), "{codes:?}");
    assert_eq!(c.rope.main.theta, Some(500000.0));
    assert_eq!(c.rope.main.rope_type, "llama3");
    assert_eq!(c.dtype.as_deref(), Some("bfloat16"));

    // Gemma 3 (v5): nested per layer type plus layer_types.
    let layer_types: Vec<&str> = (0..12)
        .map(|i| {
            if (i + 1) % 6 == 0 {
                "full_attention"
            } else {
                "sliding_attention"
            }
        })
        .collect();
    let (c, codes) = norm(json!({
        "architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "hidden_size": 1152,
        "num_hidden_layers": 12, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 256,
        "vocab_size": 262144, "sliding_window": 512, "layer_types": layer_types,
        "rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
                            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
        "final_logit_softcapping": null, "attn_logit_softcapping": null
    }));
    assert!(codes.is_empty(), "{codes:?}");
    assert_eq!(c.rope.main.rope_type, "linear");
    assert_eq!(
        c.rope.per_layer_type["sliding_attention"].theta,
        Some(10000.0)
    );
    assert_eq!(c.layer_types.as_ref().unwrap().len(), 12);
    assert_eq!(c.sliding_window, Some(512));
    assert_eq!(c.head_dim, Some(256));
}

#[test]
fn gemma2_softcapping_and_gemma3_v4_pattern() {
    let (c, _) = norm(
        json!({"architectures": ["Gemma2ForCausalLM"], "hidden_size": 2304, "num_attention_heads": 8,
        "num_key_value_heads": 4, "head_dim": 256, "num_hidden_layers": 26, "vocab_size": 256000,
        "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0, "sliding_window": 4096}),
    );
    assert_eq!(
        (c.attn_logit_softcapping, c.final_logit_softcapping),
        (Some(50.0), Some(30.0))
    );
    let (c, _) = norm(
        json!({"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text",
        "num_hidden_layers": 12, "sliding_window": 512, "sliding_window_pattern": 6,
        "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
        "rope_scaling": {"rope_type": "linear", "factor": 8.0}}),
    );
    let lt = c.layer_types.unwrap();
    assert_eq!(lt[5], "full_attention");
    assert_eq!(lt[0], "sliding_attention");
    assert_eq!(c.rope.main.rope_type, "linear");
    assert_eq!(
        c.rope.per_layer_type["sliding_attention"].theta,
        Some(10000.0)
    );
}

#[test]
fn phi3_longrope_legacy_su_and_qwen_yarn() {
    let short: Vec<f64> = (0..48).map(|i| 1.0 + i as f64 * 0.01).collect();
    let long: Vec<f64> = (0..48).map(|i| 1.0 + i as f64 * 0.5).collect();
    let (c, codes) = norm(
        json!({"architectures": ["Phi3ForCausalLM"], "hidden_size": 3072, "num_attention_heads": 32,
        "num_hidden_layers": 32, "vocab_size": 32064, "original_max_position_embeddings": 4096,
        "rope_scaling": {"type": "su", "short_factor": short, "long_factor": long}, "rope_theta": 10000.0}),
    );
    assert_eq!(c.rope.main.rope_type, "longrope");
    assert!(codes.contains(&"CFG016"));
    assert!(codes.contains(&"CFG015"));
    let inv = c.rope.main.inv_freq(96, None).unwrap();
    assert_eq!(inv.len(), 48);
    assert!((inv[1] - default_inv_freq(96, 10000.0)[1] / 1.01).abs() < 1e-15);

    let (c, codes) = norm(
        json!({"architectures": ["Qwen2ForCausalLM"], "hidden_size": 5120, "num_attention_heads": 40,
        "num_key_value_heads": 8, "num_hidden_layers": 64, "vocab_size": 152064, "rope_theta": 1000000.0,
        "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768},
        "sliding_window": 131072, "use_sliding_window": false, "max_window_layers": 64}),
    );
    assert_eq!(c.rope.main.rope_type, "yarn");
    assert!(codes.contains(&"CFG019"));
    assert_eq!(c.layer_types, None, "window disabled: no sliding layers");
    // 40 heads, 8 KV heads, MLP 27648: 1, 2, 4, 8 (KV heads divide), not 16 (40 % 16 != 0).
    let mut v = json!({"hidden_size": 5120, "num_attention_heads": 40, "num_key_value_heads": 8, "intermediate_size": 27648});
    assert_eq!(
        normalize_config(&v).unwrap().0.tensor_parallel_sizes(),
        Some(vec![1, 2, 4, 8])
    );
    // Llama-3.1-8B: 32 heads, 8 KV heads (replicated beyond 8), MLP 14336: up to 32.
    assert_eq!(
        norm(llama31_8b()).0.tensor_parallel_sizes(),
        Some(vec![1, 2, 4, 8, 16, 32])
    );
    v["num_attention_heads"] = json!(null);
    assert_eq!(
        normalize_config(&v).unwrap().0.tensor_parallel_sizes(),
        None
    );
    // Qwen2 with the window on: layers from max_window_layers use it.
    let (c2, _) = norm(
        json!({"num_hidden_layers": 4, "sliding_window": 4096, "use_sliding_window": true, "max_window_layers": 2}),
    );
    assert_eq!(
        c2.layer_types.unwrap(),
        [
            "full_attention",
            "full_attention",
            "sliding_attention",
            "sliding_attention"
        ]
    );
    let j = safeweights::model::rope::rope_json(&c.rope);
    for k in [
        "factor",
        "original_max_position_embeddings",
        "beta_fast",
        "beta_slow",
        "mscale",
        "mscale_all_dim",
        "attention_factor",
    ] {
        assert!(j.get(k).is_some(), "yarn parameter {k} missing from {j}");
    }
    assert!(
        j["beta_fast"].is_null(),
        "absent parameters are null, never guessed"
    );
}

#[test]
fn moe_mla_and_multimodal_families() {
    let (c, codes) = norm(
        json!({"architectures": ["Qwen3MoeForCausalLM"], "hidden_size": 2048, "num_attention_heads": 32,
        "num_key_value_heads": 4, "head_dim": 128, "num_hidden_layers": 48, "vocab_size": 151936,
        "num_experts": 128, "num_experts_per_tok": 8, "moe_intermediate_size": 768, "tie_word_embeddings": false}),
    );
    assert!(codes.is_empty(), "{codes:?}");
    assert_eq!(c.arch.family.name, "qwen3_moe");
    assert!(c.arch.family.moe);
    assert_eq!((c.num_experts, c.num_experts_per_tok), (Some(128), Some(8)));

    let (c, codes) = norm(
        json!({"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "hidden_size": 7168,
        "num_attention_heads": 128, "num_key_value_heads": 128, "num_hidden_layers": 61, "vocab_size": 129280,
        "kv_lora_rank": 512, "q_lora_rank": 1536, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128, "v_head_dim": 128,
        "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8, "num_nextn_predict_layers": 1,
        "rope_scaling": {"type": "yarn", "factor": 40, "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0,
                         "original_max_position_embeddings": 4096}, "rope_theta": 10000}),
    );
    assert!(c.mla && c.arch.family.mla);
    assert_eq!(c.num_nextn_predict_layers, Some(1));
    assert!(codes.contains(&"CFG021"));

    let (c, _) = norm(
        json!({"architectures": ["GptOssForCausalLM"], "hidden_size": 2880, "num_attention_heads": 64,
        "num_key_value_heads": 8, "head_dim": 64, "num_hidden_layers": 24, "vocab_size": 201088, "num_local_experts": 32,
        "experts_per_token": 4, "num_experts_per_tok": 4, "attention_bias": true, "sliding_window": 128,
        "layer_types": (0..24).map(|i| if i % 2 == 0 { "sliding_attention" } else { "full_attention" }).collect::<Vec<_>>(),
        "rope_scaling": {"rope_type": "yarn", "factor": 32.0, "beta_fast": 32.0, "beta_slow": 1.0, "truncate": false,
                         "original_max_position_embeddings": 4096}, "rope_theta": 150000}),
    );
    assert_eq!(c.attention_bias, Some(true));
    assert_eq!(c.arch.family.name, "gpt_oss");
    assert!(c.rope.main.inv_freq(64, None).is_some());

    // Qwen2-VL flat on the hub (v4), with mrope.
    let (c, codes) = norm(
        json!({"architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl",
        "hidden_size": 1536, "num_attention_heads": 12, "num_key_value_heads": 2, "num_hidden_layers": 28, "vocab_size": 151936,
        "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}, "vision_config": {"depth": 32}}),
    );
    assert_eq!(c.rope.main.rope_type, "default");
    assert!(codes.contains(&"CFG016") && codes.contains(&"CFG022"));
    assert!(c.has_vision);

    // Llama 4 with text_config diff: class defaults fill the omitted keys.
    let (c, codes) = norm(
        json!({"architectures": ["Llama4ForConditionalGeneration"], "model_type": "llama4",
        "text_config": {"model_type": "llama4_text", "hidden_size": 5120, "num_local_experts": 16, "num_experts_per_tok": 1,
                        "num_attention_heads": 40, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 202048},
        "vision_config": {"model_type": "llama4_vision_model"}}),
    );
    assert_eq!(c.num_hidden_layers, Some(48), "Llama4TextConfig default");
    assert_eq!(c.rope.main.theta, Some(500000.0));
    assert_eq!(c.hidden_size, Some(5120), "written values are kept");
    assert!(codes.contains(&"CFG023"));
    assert_eq!(c.arch.family.name, "llama4");
}

#[test]
fn remote_code_auto_map_is_reported() {
    let (c, codes) = norm(
        json!({"architectures": ["InternLM2ForCausalLM"], "auto_map": {"AutoConfig": "configuration_internlm2.InternLM2Config", "AutoModelForCausalLM": "modeling_internlm2.InternLM2ForCausalLM"}}),
    );
    assert!(c.arch.supported());
    assert!(codes.contains(&"CFG038"));
    let (c, d) = normalize_config(&json!({"architectures": ["PhiForCausalLMX"], "model_type": "phi-msftx", "auto_map": {"AutoModelForCausalLM": "modeling_phi.PhiForCausalLM"}})).unwrap();
    assert!(!c.arch.supported());
    let m = &d.iter().find(|d| d.code == "CFG038").unwrap().message;
    assert!(
        m.contains("modeling_phi.PhiForCausalLM") && m.contains("needs that code"),
        "{m}"
    );
}

#[test]
fn config_text_parsing_errors_name_the_problem() {
    let e = parse_config_str("{\"a\": }").unwrap_err();
    assert_eq!(e.code, "CFG002");
    assert!(e.message.contains("line 1"), "{}", e.message);
    let (raw, c, _) = parse_config_str(&llama31_8b().to_string()).unwrap();
    assert_eq!(raw["vocab_size"], 128256);
    assert_eq!(c.vocab_size, Some(128256));
}

mod never_panics {
    use proptest::prelude::*;
    use safeweights::dtype::Dtype;
    use safeweights::model::crosscheck::crosscheck;
    use safeweights::model::dir::TensorLocation;
    use safeweights::model::index::{group_names, parse_index};
    use safeweights::model::normalize_config;
    use serde_json::{json, Map, Value};
    use std::collections::{BTreeMap, BTreeSet};

    /// Keys the normaliser reads, so random documents reach real code paths.
    const KEYS: &[&str] = &[
        "architectures",
        "model_type",
        "text_config",
        "vision_config",
        "hidden_size",
        "n_embd",
        "num_hidden_layers",
        "num_attention_heads",
        "num_key_value_heads",
        "multi_query",
        "head_dim",
        "vocab_size",
        "intermediate_size",
        "tie_word_embeddings",
        "attention_bias",
        "mlp_bias",
        "sliding_window",
        "use_sliding_window",
        "sliding_window_pattern",
        "layer_types",
        "rope_theta",
        "rope_scaling",
        "rope_parameters",
        "partial_rotary_factor",
        "rope_local_base_freq",
        "kv_lora_rank",
        "q_lora_rank",
        "qk_rope_head_dim",
        "qk_nope_head_dim",
        "num_experts",
        "num_experts_per_tok",
        "n_shared_experts",
        "dtype",
        "torch_dtype",
        "quantization_config",
        "rope_type",
        "type",
        "factor",
        "low_freq_factor",
        "high_freq_factor",
        "original_max_position_embeddings",
        "short_factor",
        "long_factor",
        "full_attention",
        "sliding_attention",
        "max_position_embeddings",
        "num_nextn_predict_layers",
    ];

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (0u64..200).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            "[a-z_]{0,12}".prop_map(Value::from),
            prop::sample::select(vec![
                "llama3",
                "yarn",
                "su",
                "mrope",
                "linear",
                "LlamaForCausalLM",
                "gemma3_text",
                "sliding_attention"
            ])
            .prop_map(Value::from),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(KEYS.to_vec()), inner), 0..8).prop_map(
                    |kv| Value::Object(
                        kv.into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect::<Map<_, _>>()
                    )
                ),
            ]
        })
    }

    proptest! {
        #[test]
        fn config_normalisation_never_panics(v in value()) {
            if let Ok((c, _)) = normalize_config(&v) {
                let _ = c.rope.main.inv_freq(c.head_dim.unwrap_or(64), c.max_position_embeddings);
                let mut tensors = BTreeMap::new();
                tensors.insert("model.embed_tokens.weight".to_string(), TensorLocation { shard: 0, dtype: Dtype::BF16, shape: vec![3, 4], bytes: 24 });
                tensors.insert("model.layers.18446744073709551615.mlp.experts.18446744073709551615.w".to_string(), TensorLocation { shard: 0, dtype: Dtype::BF16, shape: vec![], bytes: 2 });
                let _ = crosscheck(&c, &tensors, &BTreeSet::new());
            }
        }

        #[test]
        fn index_parsing_never_panics(s in ".{0,200}", names in prop::collection::vec("[a-z0-9./]{0,20}", 0..10)) {
            let _ = parse_index(&s);
            let wm: Map<String, Value> = names.iter().map(|n| (n.clone(), Value::from(n.clone()))).collect();
            let _ = parse_index(&json!({"weight_map": wm, "metadata": {"total_size": -1}}).to_string());
            let _ = group_names(&names);
        }
    }
}
