//! Registry of Hugging Face model classes and `model_type`s, mapped to model families.
//!
//! The table covers the decoder LLM families vLLM serves for text generation (and a few
//! more). Resolution follows vLLM's `ModelRegistry`: every entry of `architectures` is
//! tried in order, task suffixes (`*ForSequenceClassification`, …) are normalised to the
//! causal-LM class, and `*ForConditionalGeneration` wrappers resolve through their
//! language model's family. Pure: no I/O.

/// A model family: the unit a serving stack implements once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// Stable short name, printed in reports (`"llama"`, `"qwen3_moe"`, …).
    pub name: &'static str,
    /// Hugging Face classes that belong to the family.
    pub classes: &'static [&'static str],
    /// `model_type` values that belong to the family.
    pub model_types: &'static [&'static str],
    /// True when the family is a mixture of experts.
    pub moe: bool,
    /// True when the family uses multi-head latent attention (`kv_lora_rank`).
    pub mla: bool,
}

/// The family of an architecture that is not in the registry.
pub const GENERIC: Family = Family {
    name: "generic",
    classes: &[],
    model_types: &[],
    moe: false,
    mla: false,
};

macro_rules! fam {
    ($name:expr, [$($c:expr),* $(,)?], [$($t:expr),* $(,)?]) => {
        Family { name: $name, classes: &[$($c),*], model_types: &[$($t),*], moe: false, mla: false }
    };
    ($name:expr, [$($c:expr),* $(,)?], [$($t:expr),* $(,)?], moe) => {
        Family { name: $name, classes: &[$($c),*], model_types: &[$($t),*], moe: true, mla: false }
    };
    ($name:expr, [$($c:expr),* $(,)?], [$($t:expr),* $(,)?], mla) => {
        Family { name: $name, classes: &[$($c),*], model_types: &[$($t),*], moe: true, mla: true }
    };
}

/// Every known family. Order matters only for readability.
pub static FAMILIES: &[Family] = &[
    fam!(
        "llama",
        ["LlamaForCausalLM", "LLaMAForCausalLM", "LlamaModel"],
        ["llama"]
    ),
    fam!("mistral", ["MistralForCausalLM"], ["mistral"]),
    fam!(
        "mistral3",
        ["Mistral3ForConditionalGeneration", "Ministral3ForCausalLM"],
        ["mistral3", "ministral3", "ministral"]
    ),
    fam!("mixtral", ["MixtralForCausalLM"], ["mixtral"], moe),
    fam!("qwen", ["QWenLMHeadModel"], ["qwen"]),
    fam!("qwen2", ["Qwen2ForCausalLM"], ["qwen2"]),
    fam!("qwen2_moe", ["Qwen2MoeForCausalLM"], ["qwen2_moe"], moe),
    fam!(
        "qwen2_vl",
        [
            "Qwen2VLForConditionalGeneration",
            "Qwen2_5_VLForConditionalGeneration"
        ],
        ["qwen2_vl", "qwen2_5_vl", "qwen2_vl_text", "qwen2_5_vl_text"]
    ),
    fam!("qwen3", ["Qwen3ForCausalLM"], ["qwen3"]),
    fam!("qwen3_moe", ["Qwen3MoeForCausalLM"], ["qwen3_moe"], moe),
    fam!("qwen3_next", ["Qwen3NextForCausalLM"], ["qwen3_next"], moe),
    fam!(
        "qwen3_vl",
        ["Qwen3VLForConditionalGeneration"],
        ["qwen3_vl", "qwen3_vl_text"]
    ),
    fam!(
        "qwen3_vl_moe",
        ["Qwen3VLMoeForConditionalGeneration"],
        ["qwen3_vl_moe", "qwen3_vl_moe_text"],
        moe
    ),
    fam!(
        "qwen3_5",
        [
            "Qwen3_5ForCausalLM",
            "Qwen3_5ForConditionalGeneration",
            "Qwen3_6ForCausalLM",
            "Qwen3_6ForConditionalGeneration"
        ],
        ["qwen3_5", "qwen3_5_text", "qwen3_6", "qwen3_6_text"]
    ),
    fam!(
        "qwen3_5_moe",
        [
            "Qwen3_5MoeForCausalLM",
            "Qwen3_5MoeForConditionalGeneration",
            "Qwen3_6MoeForCausalLM",
            "Qwen3_6MoeForConditionalGeneration"
        ],
        [
            "qwen3_5_moe",
            "qwen3_5_moe_text",
            "qwen3_6_moe",
            "qwen3_6_moe_text"
        ],
        moe
    ),
    fam!("gemma", ["GemmaForCausalLM"], ["gemma"]),
    fam!("gemma2", ["Gemma2ForCausalLM"], ["gemma2"]),
    fam!(
        "gemma3",
        ["Gemma3ForCausalLM", "Gemma3ForConditionalGeneration"],
        ["gemma3", "gemma3_text"]
    ),
    fam!(
        "gemma3n",
        ["Gemma3nForCausalLM", "Gemma3nForConditionalGeneration"],
        ["gemma3n", "gemma3n_text"]
    ),
    fam!("phi", ["PhiForCausalLM"], ["phi", "phi-msft"]),
    fam!(
        "phi3",
        [
            "Phi3ForCausalLM",
            "Phi3SmallForCausalLM",
            "Phi4MMForCausalLM",
            "Phi4FlashForCausalLM"
        ],
        ["phi3", "phi3small", "phi4mm", "phi4flash"]
    ),
    fam!("phimoe", ["PhiMoEForCausalLM"], ["phimoe"], moe),
    fam!("deepseek", ["DeepseekForCausalLM"], ["deepseek"], moe),
    fam!(
        "deepseek_v2",
        ["DeepseekV2ForCausalLM"],
        ["deepseek_v2"],
        mla
    ),
    fam!(
        "deepseek_v3",
        [
            "DeepseekV3ForCausalLM",
            "DeepseekV32ForCausalLM",
            "KimiK2ForCausalLM"
        ],
        ["deepseek_v3", "deepseek_v32", "kimi_k2"],
        mla
    ),
    fam!(
        "cohere",
        ["CohereForCausalLM", "Cohere2ForCausalLM"],
        ["cohere", "cohere2"]
    ),
    fam!("starcoder2", ["Starcoder2ForCausalLM"], ["starcoder2"]),
    fam!("gpt_bigcode", ["GPTBigCodeForCausalLM"], ["gpt_bigcode"]),
    fam!(
        "internlm2",
        [
            "InternLM2ForCausalLM",
            "InternLMForCausalLM",
            "InternLM3ForCausalLM"
        ],
        ["internlm2", "internlm", "internlm3"]
    ),
    fam!("gpt_oss", ["GptOssForCausalLM"], ["gpt_oss"], moe),
    fam!(
        "glm",
        [
            "GlmForCausalLM",
            "Glm4ForCausalLM",
            "ChatGLMModel",
            "ChatGLMForConditionalGeneration"
        ],
        ["glm", "glm4", "chatglm"]
    ),
    fam!(
        "glm4_moe",
        ["Glm4MoeForCausalLM", "Glm4MoeLiteForCausalLM"],
        ["glm4_moe", "glm4_moe_lite"],
        moe
    ),
    fam!(
        "glm4v",
        [
            "Glm4vForConditionalGeneration",
            "Glm4vMoeForConditionalGeneration"
        ],
        ["glm4v", "glm4v_moe", "glm4v_text"]
    ),
    fam!(
        "llama4",
        ["Llama4ForCausalLM", "Llama4ForConditionalGeneration"],
        ["llama4", "llama4_text"],
        moe
    ),
    fam!(
        "mllama",
        ["MllamaForConditionalGeneration"],
        ["mllama", "mllama_text_model"]
    ),
    fam!("nemotron", ["NemotronForCausalLM"], ["nemotron"]),
    fam!("nemotron_h", ["NemotronHForCausalLM"], ["nemotron_h"]),
    fam!(
        "olmo",
        ["OlmoForCausalLM", "Olmo2ForCausalLM", "Olmo3ForCausalLM"],
        ["olmo", "olmo2", "olmo3"]
    ),
    fam!("olmoe", ["OlmoeForCausalLM"], ["olmoe"], moe),
    fam!("granite", ["GraniteForCausalLM"], ["granite"]),
    fam!(
        "granitemoe",
        [
            "GraniteMoeForCausalLM",
            "GraniteMoeSharedForCausalLM",
            "GraniteMoeHybridForCausalLM"
        ],
        ["granitemoe", "granitemoeshared", "granitemoehybrid"],
        moe
    ),
    fam!(
        "falcon",
        ["FalconForCausalLM", "RWForCausalLM"],
        ["falcon", "RefinedWeb", "RefinedWebModel"]
    ),
    fam!("falcon_h1", ["FalconH1ForCausalLM"], ["falcon_h1"]),
    fam!(
        "mamba",
        ["MambaForCausalLM", "Mamba2ForCausalLM"],
        ["mamba", "mamba2"]
    ),
    fam!("jamba", ["JambaForCausalLM"], ["jamba"], moe),
    fam!("dbrx", ["DbrxForCausalLM"], ["dbrx"], moe),
    fam!("arctic", ["ArcticForCausalLM"], ["arctic"], moe),
    fam!("gpt2", ["GPT2LMHeadModel"], ["gpt2"]),
    fam!("gpt_neox", ["GPTNeoXForCausalLM"], ["gpt_neox"]),
    fam!("gptj", ["GPTJForCausalLM"], ["gptj"]),
    fam!("bloom", ["BloomForCausalLM"], ["bloom"]),
    fam!("mpt", ["MPTForCausalLM", "MptForCausalLM"], ["mpt"]),
    fam!(
        "baichuan",
        ["BaichuanForCausalLM", "BaiChuanForCausalLM"],
        ["baichuan"]
    ),
    fam!(
        "exaone",
        ["ExaoneForCausalLM", "Exaone4ForCausalLM"],
        ["exaone", "exaone4"]
    ),
    fam!(
        "minicpm",
        ["MiniCPMForCausalLM", "MiniCPM3ForCausalLM"],
        ["minicpm", "minicpm3"]
    ),
    fam!("ernie4_5", ["Ernie4_5ForCausalLM"], ["ernie4_5"]),
    fam!(
        "ernie4_5_moe",
        ["Ernie4_5_MoeForCausalLM"],
        ["ernie4_5_moe"],
        moe
    ),
    fam!(
        "hunyuan",
        ["HunYuanDenseV1ForCausalLM", "HunYuanMoEV1ForCausalLM"],
        ["hunyuan_v1_dense", "hunyuan_v1_moe"]
    ),
    fam!(
        "stablelm",
        ["StableLmForCausalLM", "StableLMEpochForCausalLM"],
        ["stablelm", "stablelm_epoch"]
    ),
    fam!("persimmon", ["PersimmonForCausalLM"], ["persimmon"]),
    fam!("smollm3", ["SmolLM3ForCausalLM"], ["smollm3"]),
    fam!("seed_oss", ["SeedOssForCausalLM"], ["seed_oss"]),
    fam!("apertus", ["ApertusForCausalLM"], ["apertus"]),
    fam!("arcee", ["ArceeForCausalLM"], ["arcee"]),
    fam!(
        "minimax",
        [
            "MiniMaxText01ForCausalLM",
            "MiniMaxM1ForCausalLM",
            "MiniMaxM2ForCausalLM"
        ],
        ["minimax", "minimax_m1", "minimax_m2"],
        moe
    ),
    fam!(
        "bailing_moe",
        ["BailingMoeForCausalLM", "BailingMoeV2ForCausalLM"],
        ["bailing_moe", "bailing_moe_v2"],
        moe
    ),
    fam!("dots1", ["Dots1ForCausalLM"], ["dots1"], moe),
    fam!("solar", ["SolarForCausalLM"], ["solar"]),
    fam!(
        "llava",
        [
            "LlavaForConditionalGeneration",
            "LlavaNextForConditionalGeneration",
            "LlavaOnevisionForConditionalGeneration"
        ],
        ["llava", "llava_next", "llava_onevision"]
    ),
];

/// Task heads that vLLM converts from the causal-LM class (`*ForSequenceClassification` →
/// `*ForCausalLM`, then converts the model).
const TASK_SUFFIXES: &[&str] = &[
    "ForSequenceClassification",
    "ForTokenClassification",
    "ForQuestionAnswering",
    "ForRewardModel",
    "ForEmbedding",
];

/// How a class name was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassMatch {
    /// The class itself is registered.
    Exact,
    /// A task-head class whose causal-LM counterpart is registered.
    TaskHead,
    /// `XForConditionalGeneration` / `XModel` / `XForCausalLM` where `X` is a registered prefix.
    Wrapper,
}

/// Looks up a Hugging Face class name.
pub fn family_for_class(class: &str) -> Option<(&'static Family, ClassMatch)> {
    if let Some(f) = FAMILIES.iter().find(|f| f.classes.contains(&class)) {
        return Some((f, ClassMatch::Exact));
    }
    for suffix in TASK_SUFFIXES {
        if let Some(stem) = class.strip_suffix(suffix) {
            let causal = format!("{stem}ForCausalLM");
            if let Some(f) = FAMILIES
                .iter()
                .find(|f| f.classes.contains(&causal.as_str()))
            {
                return Some((f, ClassMatch::TaskHead));
            }
        }
    }
    // Wrapper classes: the stem of a known causal-LM class with another suffix.
    for suffix in [
        "ForConditionalGeneration",
        "ForCausalLM",
        "Model",
        "LMHeadModel",
    ] {
        if let Some(stem) = class.strip_suffix(suffix) {
            if stem.is_empty() {
                continue;
            }
            let hit = FAMILIES.iter().find(|f| {
                f.classes.iter().any(|c| {
                    c.strip_suffix("ForCausalLM")
                        .or_else(|| c.strip_suffix("ForConditionalGeneration"))
                        == Some(stem)
                })
            });
            if let Some(f) = hit {
                return Some((f, ClassMatch::Wrapper));
            }
        }
    }
    None
}

/// Looks up a `model_type` (case-sensitive, as written by transformers).
pub fn family_for_model_type(model_type: &str) -> Option<&'static Family> {
    FAMILIES
        .iter()
        .find(|f| f.model_types.contains(&model_type))
}

/// Looks up a family by its short name.
pub fn family_by_name(name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.name == name)
}

/// Guesses a family from tensor names alone, for configs that name no architecture.
/// Returns the family and the tensor that gave it away.
pub fn family_from_tensor_names<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Option<(&'static Family, String)> {
    // Ordered from most to least specific marker.
    const MARKERS: &[(&str, &str)] = &[
        ("self_attn.kv_a_proj_with_mqa", "deepseek_v3"),
        ("block_sparse_moe.experts.", "mixtral"),
        ("mlp.shared_expert_gate", "qwen2_moe"),
        ("attention.wqkv", "internlm2"),
        ("transformer.h.0.self_attention.query_key_value", "falcon"),
        ("transformer.h.0.attn.c_attn", "gpt2"),
        ("gpt_neox.layers.", "gpt_neox"),
        ("self_attn.q_norm", "qwen3"),
        ("pre_feedforward_layernorm", "gemma2"),
        ("self_attn.o_proj", "llama"),
    ];
    let names: Vec<&str> = names.into_iter().collect();
    for (marker, fam) in MARKERS {
        if let Some(n) = names.iter().find(|n| n.contains(marker)) {
            return family_by_name(fam).map(|f| (f, (*n).to_string()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_families_are_covered() {
        for class in [
            "LlamaForCausalLM",
            "MistralForCausalLM",
            "MixtralForCausalLM",
            "Qwen2ForCausalLM",
            "Qwen2MoeForCausalLM",
            "Qwen3ForCausalLM",
            "Qwen3MoeForCausalLM",
            "Qwen3_5ForConditionalGeneration",
            "Qwen3_5MoeForCausalLM",
            "GemmaForCausalLM",
            "Gemma2ForCausalLM",
            "Gemma3ForCausalLM",
            "Phi3ForCausalLM",
            "DeepseekV2ForCausalLM",
            "DeepseekV3ForCausalLM",
            "CohereForCausalLM",
            "Starcoder2ForCausalLM",
            "InternLM2ForCausalLM",
            "GptOssForCausalLM",
            "Glm4ForCausalLM",
            "Llama4ForConditionalGeneration",
            "NemotronHForCausalLM",
            "OlmoForCausalLM",
            "GraniteForCausalLM",
            "FalconForCausalLM",
        ] {
            let (_, m) = family_for_class(class).unwrap_or_else(|| panic!("{class} unknown"));
            assert_eq!(m, ClassMatch::Exact, "{class}");
        }
    }

    #[test]
    fn task_heads_and_wrappers_resolve_to_their_family() {
        let (f, m) = family_for_class("Qwen2ForSequenceClassification").unwrap();
        assert_eq!((f.name, m), ("qwen2", ClassMatch::TaskHead));
        let (f, m) = family_for_class("Gemma2ForConditionalGeneration").unwrap();
        assert_eq!((f.name, m), ("gemma2", ClassMatch::Wrapper));
        assert!(family_for_class("TotallyNewForCausalLM").is_none());
        assert!(family_for_class("ForCausalLM").is_none());
    }

    #[test]
    fn model_types_and_flags() {
        assert_eq!(family_for_model_type("gemma3_text").unwrap().name, "gemma3");
        assert!(family_for_model_type("deepseek_v3").unwrap().mla);
        assert!(family_for_model_type("mixtral").unwrap().moe);
        assert!(!family_for_model_type("llama").unwrap().moe);
        assert!(family_for_model_type("Llama").is_none());
    }

    #[test]
    fn every_class_and_model_type_is_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for f in FAMILIES {
            for c in f.classes {
                assert!(seen.insert(format!("c:{c}")), "duplicate class {c}");
            }
            for t in f.model_types {
                assert!(seen.insert(format!("t:{t}")), "duplicate model_type {t}");
            }
        }
    }

    #[test]
    fn tensor_name_heuristic() {
        let names = [
            "model.layers.0.self_attn.o_proj.weight",
            "model.embed_tokens.weight",
        ];
        let (f, why) = family_from_tensor_names(names).unwrap();
        assert_eq!(f.name, "llama");
        assert_eq!(why, "model.layers.0.self_attn.o_proj.weight");
        assert!(family_from_tensor_names(["foo"]).is_none());
    }
}
