//! Detection of the quantization scheme, with the source recorded
//! (quant_formats.md §0 "Where the quantization config is found", §11).
//!
//! Precedence: `config.json` `quantization_config` -> `compression_config` ->
//! `text_config.quantization_config` -> side files `quantize_config.json` (GPTQ, also AWQ),
//! `quant_config.json` (legacy AWQ), `hf_quant_config.json` (ModelOpt) -> `recipe.yaml`
//! (informational) -> tensor-name heuristics (with a warning). Every present source is
//! parsed; two that disagree are an error naming both.

use super::linear::{Fp8Granularity, GlobalScaleConvention};
use super::pattern::module_is_listed;
use super::scheme::{Layout, Method, QuantScheme};
use crate::diag::Diagnostic;
use serde_json::Value;
use std::path::Path;

/// The side files detection reads, already parsed (so detection itself does no I/O).
#[derive(Debug, Clone, Default)]
pub struct SideFiles {
    /// `quantize_config.json`.
    pub quantize_config: Option<Value>,
    /// `quant_config.json`.
    pub quant_config: Option<Value>,
    /// `hf_quant_config.json`.
    pub hf_quant_config: Option<Value>,
    /// Whether `recipe.yaml` exists.
    pub recipe_yaml: bool,
}

impl SideFiles {
    /// Reads the side files present in `dir`; unreadable or invalid JSON gives QNT008.
    pub fn read(dir: &Path) -> (SideFiles, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let mut load = |name: &str| -> Option<Value> {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path).ok()?;
            parse_side_file(name, &text)
                .map_err(|d| diags.push(d.file(&path)))
                .ok()
        };
        let side = SideFiles {
            quantize_config: load("quantize_config.json"),
            quant_config: load("quant_config.json"),
            hf_quant_config: load("hf_quant_config.json"),
            recipe_yaml: dir.join("recipe.yaml").is_file(),
        };
        (side, diags)
    }
}

/// Parses the text of the side file `name`: a JSON object, or a QNT008 finding (without
/// a file; [`SideFiles::read`] adds it). Pure, so the fuzz target drives it directly.
pub fn parse_side_file(name: &str, text: &str) -> Result<Value, Diagnostic> {
    let bad = |what: String| {
        Diagnostic::error("QNT008", format!("{name} {what}"))
            .advice("fix or remove the file; loaders read it as the quantization config")
    };
    match serde_json::from_str::<Value>(text) {
        Ok(v) if v.is_object() => Ok(v),
        Ok(_) => Err(bad("is not a JSON object".into())),
        Err(e) => Err(bad(format!("is not valid JSON: {e}"))),
    }
}

/// Detects the scheme from the parsed `config.json`, the side files in `dir` and the
/// tensor names of the model. Returns `None` for an unquantized model.
pub fn detect(
    config: &Value,
    dir: &Path,
    tensor_names: &[&str],
) -> (Option<QuantScheme>, Vec<Diagnostic>) {
    let (side, mut diags) = SideFiles::read(dir);
    let (scheme, more) = detect_from(config, &side, tensor_names);
    diags.extend(more);
    (scheme, diags)
}

/// [`detect`] without I/O: the side files are given.
pub fn detect_from(
    config: &Value,
    side: &SideFiles,
    tensor_names: &[&str],
) -> (Option<QuantScheme>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut candidates: Vec<QuantScheme> = Vec::new();
    let from_config = [
        (
            "config.json:quantization_config",
            config.get("quantization_config"),
        ),
        (
            "config.json:compression_config",
            config.get("compression_config"),
        ),
        (
            "config.json:text_config.quantization_config",
            config
                .get("text_config")
                .and_then(|t| t.get("quantization_config")),
        ),
        ("quantize_config.json", side.quantize_config.as_ref()),
        ("quant_config.json", side.quant_config.as_ref()),
        ("hf_quant_config.json", side.hf_quant_config.as_ref()),
    ];
    for (source, q) in from_config {
        let Some(q) = q else { continue };
        if q.is_null() {
            continue;
        }
        if !q.is_object() {
            diags.push(
                Diagnostic::error("QNT005", format!("{source} is not a JSON object"))
                    .tensor(source)
                    .advice("the quantization config must be an object with a quant_method"),
            );
            continue;
        }
        if let Some(s) = parse_source(q, source, &mut diags) {
            candidates.push(s);
        }
    }
    if side.recipe_yaml {
        diags.push(
            Diagnostic::info(
                "QNT007",
                "recipe.yaml (llm-compressor recipe) found; it is informational only",
            )
            .tensor("recipe.yaml")
            .advice("detection uses config.json; the recipe only documents how the model was made"),
        );
    }
    let heuristic = heuristic_methods(tensor_names);

    // Disagreement between present sources (quant_formats.md §11, issue: "an error naming both").
    if let Some(first) = candidates.first() {
        for other in &candidates[1..] {
            if let Some(what) = disagreement(first, other) {
                diags.push(
                    Diagnostic::error(
                        "QNT001",
                        format!("{} and {} disagree: {what}", first.source, other.source),
                    )
                    .tensor(other.source.clone())
                    .advice("remove the stale quantization config so that one source remains"),
                );
            }
        }
        if let Some((methods, evidence)) = &heuristic {
            if !methods.contains(&first.method) && first.method != Method::None {
                diags.push(
                    Diagnostic::error(
                        "QNT001",
                        format!(
                            "{} says {} but the tensor names ({evidence}) say {}",
                            first.source,
                            first.method.as_str(),
                            methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(" or ")
                        ),
                    )
                    .tensor(evidence.clone())
                    .advice("the config does not describe these weights; re-export the model or fix quant_method"),
                );
            }
        }
    }
    let mut scheme = match candidates.into_iter().next() {
        Some(s) => s,
        None => match heuristic {
            None => return (None, diags),
            Some((methods, evidence)) => {
                let s = scheme_from_names(methods[0], &evidence);
                diags.push(
                    Diagnostic::warning(
                        "QNT002",
                        format!(
                            "no quantization config found; tensor names ({evidence}) suggest {}",
                            methods[0].as_str()
                        ),
                    )
                    .tensor(evidence)
                    .advice("add the producer's quantization config (config.json quantization_config) so loaders agree"),
                );
                s
            }
        },
    };
    if let Layout::Unsupported { reason } = &scheme.layout {
        diags.push(
            Diagnostic::warning(
                "QNT003",
                format!("{} checkpoint: {reason}", scheme.method.as_str()),
            )
            .tensor(scheme.source.clone())
            .advice("safeweights reports this scheme but cannot bind or decode it"),
        );
    }
    if let Some(h) = &scheme.kv_cache_hint {
        diags.push(
            Diagnostic::info(
                "QNT006",
                format!("KV-cache quantization configured ({h}); reported, not applied"),
            )
            .tensor(scheme.source.clone())
            .advice("the serving engine decides whether to quantize the KV cache"),
        );
    }
    // Listed-unquantized modules must not carry quantized tensors.
    for name in tensor_names {
        if let Some(prefix) = quantized_prefix_of(name) {
            if let Some(pat) = scheme
                .unquantized_modules
                .iter()
                .find(|p| module_is_listed(p, prefix))
            {
                diags.push(
                    Diagnostic::error(
                        "QNT020",
                        format!("{prefix} is listed as unquantized (`{pat}` in {}) but has quantized tensor {name}", scheme.source),
                    )
                    .tensor(*name)
                    .advice("remove the module from the unquantized list or store it as a plain weight"),
                );
            }
        }
    }
    scheme.unquantized_modules.dedup();
    (Some(scheme), diags)
}

/// Suffixes that mark a tensor as part of a quantized Linear, with the prefix before them.
fn quantized_prefix_of(name: &str) -> Option<&str> {
    const SUFFIXES: [&str; 7] = [
        ".qweight",
        ".weight_packed",
        ".weight_scale_inv",
        ".weight_scale_2",
        ".weight_global_scale",
        "_blocks",
        ".SCB",
    ];
    SUFFIXES.iter().find_map(|s| name.strip_suffix(s))
}

/// Methods compatible with the tensor names, and the evidence (one example name).
fn heuristic_methods(names: &[&str]) -> Option<(Vec<Method>, String)> {
    let has = |suffix: &str| {
        names
            .iter()
            .find(|n| n.ends_with(suffix))
            .map(|n| n.to_string())
    };
    if let Some(e) = has(".qweight") {
        return Some(if has(".g_idx").is_some() {
            (vec![Method::Gptq], e)
        } else {
            (vec![Method::Gptq, Method::Awq], e)
        });
    }
    if let Some(e) = has(".weight_global_scale").or_else(|| has(".weight_scale_2")) {
        return Some((vec![Method::Nvfp4], e));
    }
    if let Some(e) = has(".weight_packed") {
        return Some((vec![Method::IntPack, Method::Nvfp4], e));
    }
    if let Some(e) = has("_blocks") {
        if has("_scales").is_some() {
            return Some((vec![Method::Mxfp4], e));
        }
    }
    if let Some(e) = has(".weight_scale_inv") {
        return Some((vec![Method::Fp8], e));
    }
    if let Some(e) = names
        .iter()
        .find(|n| n.contains(".quant_state.bitsandbytes__") || n.ends_with(".SCB"))
    {
        return Some((vec![Method::Bitsandbytes], e.to_string()));
    }
    None
}

fn scheme_from_names(method: Method, evidence: &str) -> QuantScheme {
    let layout = match method {
        Method::Gptq => Layout::Gptq {
            bits: None,
            group_size: None,
            desc_act: false,
            v1: true,
        },
        Method::Awq => Layout::Awq { group_size: None },
        Method::Mxfp4 => Layout::Mxfp4,
        Method::Fp8 => Layout::Fp8 {
            granularity: Fp8Granularity::Block {
                rows: 128,
                cols: 128,
            },
        },
        Method::Nvfp4 if evidence.ends_with(".weight_scale_2") => Layout::Nvfp4 {
            convention: GlobalScaleConvention::Multiplier,
        },
        Method::Nvfp4 => Layout::Nvfp4 {
            convention: GlobalScaleConvention::Divisor,
        },
        _ => Layout::Unsupported {
            reason: "parameters unknown without a quantization config".into(),
        },
    };
    let mut s = QuantScheme::new(method, layout, "tensor-names");
    if method == Method::Fp8 {
        s.scale_convention = Some("block-128x128 (assumed)".into());
    }
    s
}

/// What two sources disagree on, if anything.
fn disagreement(a: &QuantScheme, b: &QuantScheme) -> Option<String> {
    if a.method != b.method {
        return Some(format!(
            "method {} vs {}",
            a.method.as_str(),
            b.method.as_str()
        ));
    }
    if a.bits.is_some() && b.bits.is_some() && a.bits != b.bits {
        return Some(format!(
            "bits {:?} vs {:?}",
            a.bits.unwrap_or(0),
            b.bits.unwrap_or(0)
        ));
    }
    if a.group_size.is_some() && b.group_size.is_some() && a.group_size != b.group_size {
        return Some(format!(
            "group_size {} vs {}",
            a.group_size.unwrap_or(0),
            b.group_size.unwrap_or(0)
        ));
    }
    if a.checkpoint_format.is_some()
        && b.checkpoint_format.is_some()
        && a.checkpoint_format != b.checkpoint_format
    {
        return Some(format!(
            "checkpoint_format {} vs {}",
            a.checkpoint_format.as_deref().unwrap_or(""),
            b.checkpoint_format.as_deref().unwrap_or("")
        ));
    }
    None
}

fn str_of<'v>(q: &'v Value, keys: &[&str]) -> Option<&'v str> {
    keys.iter().find_map(|k| q.get(*k).and_then(Value::as_str))
}
fn int_of(q: &Value, keys: &[&str]) -> Option<i64> {
    keys.iter().find_map(|k| q.get(*k).and_then(Value::as_i64))
}
fn bool_of(q: &Value, keys: &[&str]) -> Option<bool> {
    keys.iter().find_map(|k| q.get(*k).and_then(Value::as_bool))
}
fn list_of(q: &Value, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .filter_map(|k| q.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn bad_value(source: &str, key: &str, msg: String) -> Diagnostic {
    Diagnostic::error("QNT005", format!("{source}: {msg}"))
        .tensor(format!("{source}.{key}"))
        .advice("fix the value to one the producer writes (see docs/quant-notes.md)")
}

/// Parses one quantization config object.
fn parse_source(q: &Value, source: &str, diags: &mut Vec<Diagnostic>) -> Option<QuantScheme> {
    let raw = str_of(q, &["quant_method", "method"]).map(str::to_string);
    let mut method = raw.as_deref().map(str::to_ascii_lowercase);
    if method.is_none() {
        if let Some(p) = q
            .get("producer")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
        {
            // hf_quant_config.json: the producer name is the method (§11 step 2)
            method = Some(p.to_ascii_lowercase());
        } else if q.get("w_bit").is_some()
            || q.get("q_group_size").is_some()
            || q.get("zero_point").is_some()
            || source == "quant_config.json"
        {
            method = Some("awq".into());
        } else if q.get("bits").is_some() {
            method = Some("gptq".into());
        }
    }
    let Some(method) = method else {
        diags.push(
            Diagnostic::error("QNT005", format!("{source} has no quant_method"))
                .tensor(format!("{source}.quant_method"))
                .advice(
                    "add quant_method; without it loaders guess (mistral.rs assumes its own 'afq')",
                ),
        );
        return None;
    };
    let mut s = match method.as_str() {
        "gptq" | "marlin" => parse_gptq(q, source, method == "marlin", diags),
        "awq" => parse_awq(q, source, diags),
        "compressed-tensors" => parse_ct(q, source, diags),
        "modelopt" => parse_modelopt(q, source),
        "mxfp4" => {
            let mut s = QuantScheme::new(Method::Mxfp4, Layout::Mxfp4, source);
            s.bits = Some(4);
            s.group_size = Some(32);
            s.scale_convention = Some("e8m0".into());
            s.unquantized_modules = list_of(q, &["modules_to_not_convert"]);
            s
        }
        "fp8" => parse_fp8(q, source, diags),
        "bitsandbytes" => {
            let bits = if bool_of(q, &["load_in_4bit", "_load_in_4bit"]) == Some(true) {
                Some(4)
            } else {
                Some(8)
            };
            let mut s = QuantScheme::new(
                Method::Bitsandbytes,
                Layout::Unsupported {
                    reason: "bitsandbytes weights are not decoded by safeweights".into(),
                },
                source,
            );
            s.bits = bits;
            s.producer = Some("bitsandbytes".into());
            s.checkpoint_format = str_of(q, &["bnb_4bit_quant_type"]).map(str::to_string);
            s.unquantized_modules = list_of(q, &["llm_int8_skip_modules"]);
            s
        }
        other => {
            let mut s = QuantScheme::new(
                Method::None,
                Layout::Unsupported {
                    reason: format!("unknown quant_method `{other}`"),
                },
                source,
            );
            s.producer = None;
            s
        }
    };
    s.quant_method_raw = raw;
    Some(s)
}

/// quant_formats.md §2.1.
fn parse_gptq(
    q: &Value,
    source: &str,
    marlin_method: bool,
    diags: &mut Vec<Diagnostic>,
) -> QuantScheme {
    let bits = int_of(q, &["bits", "w_bit"]);
    let group = int_of(q, &["group_size", "q_group_size"]);
    let desc_act = bool_of(q, &["desc_act"]).unwrap_or(false);
    let sym = bool_of(q, &["sym"]).unwrap_or(true);
    let mut fmt = str_of(q, &["checkpoint_format", "format"])
        .unwrap_or("gptq")
        .to_ascii_lowercase();
    if marlin_method || bool_of(q, &["is_marlin_format"]) == Some(true) {
        fmt = "marlin".into();
    }
    let mut ok = true;
    if let Some(b) = bits {
        if ![2, 3, 4, 8].contains(&b) {
            diags.push(bad_value(
                source,
                "bits",
                format!("GPTQ bits must be 2, 3, 4 or 8, got {b}"),
            ));
            ok = false;
        }
    } else {
        diags.push(bad_value(
            source,
            "bits",
            "GPTQ config has no bits (or w_bit)".into(),
        ));
        ok = false;
    }
    match group {
        Some(g) if g == -1 || g > 0 => {}
        Some(g) => {
            diags.push(bad_value(
                source,
                "group_size",
                format!("GPTQ group_size must be -1 or > 0, got {g}"),
            ));
            ok = false;
        }
        None => {
            diags.push(bad_value(
                source,
                "group_size",
                "GPTQ config has no group_size".into(),
            ));
            ok = false;
        }
    }
    let layout = match fmt.as_str() {
        _ if !ok => Layout::Unsupported {
            reason: "invalid GPTQ config".into(),
        },
        "gptq" | "gptq_v2" => Layout::Gptq {
            bits: bits.map(|b| b as u32),
            group_size: group,
            desc_act,
            v1: fmt == "gptq",
        },
        "marlin" => Layout::Unsupported {
            reason: "GPTQ marlin layout (tensors B and s) is out of scope".into(),
        },
        other => Layout::Unsupported {
            reason: format!("GPTQ checkpoint_format `{other}` is out of scope"),
        },
    };
    let mut s = QuantScheme::new(Method::Gptq, layout, source);
    s.bits = bits.map(|b| b as u32);
    s.group_size = group;
    s.desc_act = Some(desc_act);
    s.sym = Some(sym);
    s.checkpoint_format = Some(fmt);
    s.producer = q
        .get("meta")
        .and_then(|m| m.get("quantizer"))
        .map(|p| match p {
            Value::Array(a) => a
                .first()
                .and_then(Value::as_str)
                .unwrap_or("gptqmodel")
                .to_string(),
            Value::String(x) => x.clone(),
            _ => "gptqmodel".into(),
        })
        .or_else(|| Some("autogptq".into()));
    s.unquantized_modules = list_of(q, &["modules_to_not_convert"]);
    s
}

/// quant_formats.md §3.1.
fn parse_awq(q: &Value, source: &str, diags: &mut Vec<Diagnostic>) -> QuantScheme {
    let bits = int_of(q, &["bits", "w_bit"]).unwrap_or(4);
    let group = int_of(q, &["group_size", "q_group_size"]);
    let version = str_of(q, &["version"])
        .unwrap_or("gemm")
        .to_ascii_lowercase();
    let zero_point = bool_of(q, &["zero_point"]).unwrap_or(true);
    let layout = if bits != 4 {
        diags.push(bad_value(
            source,
            "bits",
            format!("AWQ is 4-bit only, got {bits}"),
        ));
        Layout::Unsupported {
            reason: format!("AWQ with {bits} bits"),
        }
    } else if version != "gemm" {
        Layout::Unsupported {
            reason: format!("AWQ `{version}` layout (only GEMM is specified)"),
        }
    } else {
        match group {
            Some(g) if g == -1 || g > 0 => Layout::Awq {
                group_size: Some(g),
            },
            Some(g) => {
                diags.push(bad_value(
                    source,
                    "group_size",
                    format!("AWQ group_size must be -1 or > 0, got {g}"),
                ));
                Layout::Unsupported {
                    reason: "invalid AWQ group_size".into(),
                }
            }
            None => {
                diags.push(bad_value(
                    source,
                    "group_size",
                    "AWQ config has no group_size (or q_group_size)".into(),
                ));
                Layout::Unsupported {
                    reason: "AWQ group size unknown".into(),
                }
            }
        }
    };
    let mut s = QuantScheme::new(Method::Awq, layout, source);
    s.bits = Some(bits as u32);
    s.group_size = group;
    s.sym = Some(!zero_point);
    s.checkpoint_format = Some(version);
    s.producer = Some("autoawq".into());
    s.unquantized_modules = list_of(q, &["modules_to_not_convert"]);
    s
}

/// One parsed compressed-tensors config group: (format, layout, num_bits, group_size, symmetric).
type CtGroup = (String, Layout, Option<u32>, Option<i64>, Option<bool>);

/// quant_formats.md §4–§6, §9.3.
fn parse_ct(q: &Value, source: &str, diags: &mut Vec<Diagnostic>) -> QuantScheme {
    let top_format = str_of(q, &["format"]).unwrap_or("").to_string();
    let groups: Vec<(&String, &Value)> = q
        .get("config_groups")
        .and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    let mut parsed: Vec<CtGroup> = Vec::new();
    for (gname, g) in &groups {
        let w = g.get("weights").cloned().unwrap_or(Value::Null);
        let fmt = g
            .get("format")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| top_format.clone());
        let bits = int_of(&w, &["num_bits"]).map(|b| b as u32);
        let gs = int_of(&w, &["group_size"]);
        let sym = bool_of(&w, &["symmetric"]);
        let strategy = str_of(&w, &["strategy"])
            .map(str::to_string)
            .unwrap_or_else(|| match gs {
                None => "tensor".into(),
                Some(-1) => "channel".into(),
                Some(_) => "group".into(),
            });
        let actorder = match w.get("actorder") {
            Some(Value::String(s)) => s == "group" || s == "dynamic",
            Some(Value::Bool(b)) => *b,
            _ => false,
        };
        let layout = match fmt.as_str() {
            "nvfp4-pack-quantized" => Layout::Nvfp4 {
                convention: GlobalScaleConvention::Divisor,
            },
            "pack-quantized" => match (bits, strategy.as_str()) {
                (Some(b @ (4 | 8)), "group" | "channel") => Layout::IntPack {
                    bits: b,
                    group_size: if strategy == "group" {
                        gs.filter(|&g| g > 0).map(|g| g as usize)
                    } else {
                        None
                    },
                    symmetric: sym.unwrap_or(true),
                    actorder,
                },
                _ => Layout::Unsupported {
                    reason: format!(
                        "pack-quantized with num_bits {bits:?} and strategy {strategy}"
                    ),
                },
            },
            "float-quantized" | "naive-quantized"
                if bits == Some(8) && str_of(&w, &["type"]) == Some("float") =>
            {
                let granularity = match strategy.as_str() {
                    "tensor" => Fp8Granularity::Tensor,
                    "channel" => Fp8Granularity::Channel,
                    "block" => match block_structure(w.get("block_structure")) {
                        Some((r, c)) => Fp8Granularity::Block { rows: r, cols: c },
                        None => {
                            diags.push(bad_value(
                                source,
                                "block_structure",
                                format!("group {gname}: unreadable block_structure"),
                            ));
                            Fp8Granularity::Block {
                                rows: 128,
                                cols: 128,
                            }
                        }
                    },
                    other => {
                        diags.push(bad_value(
                            source,
                            "strategy",
                            format!("group {gname}: FP8 strategy {other} not specified"),
                        ));
                        Fp8Granularity::Tensor
                    }
                };
                Layout::Fp8 { granularity }
            }
            other => Layout::Unsupported {
                reason: format!("compressed-tensors format `{other}`"),
            },
        };
        parsed.push((fmt, layout, bits, gs, sym));
    }
    let Some((fmt, layout, bits, gs, sym)) = parsed.first().cloned() else {
        diags.push(bad_value(
            source,
            "config_groups",
            "compressed-tensors config has no config_groups".into(),
        ));
        let mut s = QuantScheme::new(
            Method::None,
            Layout::Unsupported {
                reason: "no config_groups".into(),
            },
            source,
        );
        s.producer = Some("compressed-tensors".into());
        return s;
    };
    let layout = if parsed.iter().any(|p| p.1 != layout) {
        Layout::Unsupported {
            reason: "mixed schemes across config_groups".into(),
        }
    } else {
        layout
    };
    let method = match &layout {
        Layout::Nvfp4 { .. } => Method::Nvfp4,
        Layout::IntPack { .. } => Method::IntPack,
        Layout::Fp8 { .. } => Method::Fp8,
        _ if fmt.contains("nvfp4") => Method::Nvfp4,
        _ if fmt.contains("mxfp4") => Method::Mxfp4,
        _ if fmt == "pack-quantized" => Method::IntPack,
        _ if fmt == "float-quantized" => Method::Fp8,
        _ => Method::None,
    };
    let mut s = QuantScheme::new(method, layout.clone(), source);
    s.producer = Some("compressed-tensors".into());
    s.bits = bits;
    s.group_size = gs;
    s.sym = sym;
    s.checkpoint_format = Some(fmt);
    s.scale_convention = match &layout {
        Layout::Nvfp4 { .. } => Some("divisor".into()),
        Layout::Fp8 { granularity } => Some(granularity_name(granularity)),
        _ => None,
    };
    s.unquantized_modules = list_of(q, &["ignore"]);
    s.kv_cache_hint = q
        .get("kv_cache_scheme")
        .filter(|v| !v.is_null())
        .map(|v| v.to_string());
    s
}

fn block_structure(v: Option<&Value>) -> Option<(usize, usize)> {
    match v? {
        Value::Array(a) if a.len() == 2 => Some((a[0].as_u64()? as usize, a[1].as_u64()? as usize)),
        Value::String(s) => {
            let (r, c) = s.split_once('x')?;
            Some((r.trim().parse().ok()?, c.trim().parse().ok()?))
        }
        _ => None,
    }
    // A zero block cannot tile anything (and binding divides by it).
    .filter(|&(r, c)| r > 0 && c > 0)
}

fn granularity_name(g: &Fp8Granularity) -> String {
    match g {
        Fp8Granularity::Tensor => "per-tensor".into(),
        Fp8Granularity::Channel => "per-channel".into(),
        Fp8Granularity::Block { rows, cols } => format!("block-{rows}x{cols}"),
    }
}

/// quant_formats.md §7.1: flat `quantization_config` or nested `hf_quant_config.json`.
fn parse_modelopt(q: &Value, source: &str) -> QuantScheme {
    let inner = q.get("quantization").unwrap_or(q);
    let algo = str_of(inner, &["quant_algo"])
        .or_else(|| str_of(q, &["quant_algo"]))
        .map(str::to_ascii_uppercase);
    let (method, layout) = match algo.as_deref() {
        Some("NVFP4") => (
            Method::Nvfp4,
            Layout::Nvfp4 {
                convention: GlobalScaleConvention::Multiplier,
            },
        ),
        Some("FP8") => (
            Method::Fp8,
            Layout::Fp8 {
                granularity: Fp8Granularity::Tensor,
            },
        ),
        Some("FP8_PER_CHANNEL_PER_TOKEN") => (
            Method::Fp8,
            Layout::Fp8 {
                granularity: Fp8Granularity::Channel,
            },
        ),
        Some(other) => (
            Method::None,
            Layout::Unsupported {
                reason: format!("ModelOpt quant_algo `{other}`"),
            },
        ),
        None => (
            Method::None,
            Layout::Unsupported {
                reason: "ModelOpt config without quant_algo".into(),
            },
        ),
    };
    let mut s = QuantScheme::new(method, layout.clone(), source);
    let version = q
        .get("producer")
        .and_then(|p| p.get("version"))
        .and_then(Value::as_str);
    s.producer = Some(match version {
        Some(v) => format!("modelopt {v}"),
        None => "modelopt".into(),
    });
    s.checkpoint_format = algo.clone();
    match layout {
        Layout::Nvfp4 { .. } => {
            s.bits = Some(4);
            s.group_size = int_of(inner, &["group_size"]).or(Some(16));
            s.scale_convention = Some("multiplier".into());
        }
        Layout::Fp8 { granularity } => {
            s.bits = Some(8);
            s.scale_convention = Some(granularity_name(&granularity));
        }
        _ => {}
    }
    s.unquantized_modules = list_of(inner, &["exclude_modules", "ignore"]);
    if s.unquantized_modules.is_empty() {
        s.unquantized_modules = list_of(q, &["exclude_modules", "ignore"]);
    }
    s.kv_cache_hint = str_of(inner, &["kv_cache_quant_algo"])
        .or_else(|| str_of(q, &["kv_cache_quant_algo"]))
        .map(str::to_string)
        .or_else(|| {
            q.get("kv_cache_scheme")
                .filter(|v| !v.is_null())
                .map(|v| v.to_string())
        });
    s
}

/// quant_formats.md §9.1, §9.2.
fn parse_fp8(q: &Value, source: &str, diags: &mut Vec<Diagnostic>) -> QuantScheme {
    let granularity = match q.get("weight_block_size") {
        None | Some(Value::Null) => Fp8Granularity::Tensor,
        Some(v) => match block_structure(Some(v)) {
            Some((r, c)) if r > 0 && c > 0 => Fp8Granularity::Block { rows: r, cols: c },
            _ => {
                diags.push(bad_value(
                    source,
                    "weight_block_size",
                    format!("weight_block_size must be [rows, cols] > 0, got {v}"),
                ));
                return QuantScheme::new(
                    Method::Fp8,
                    Layout::Unsupported {
                        reason: "invalid weight_block_size".into(),
                    },
                    source,
                );
            }
        },
    };
    if let Some(f) = str_of(q, &["fmt"]) {
        if !f.eq_ignore_ascii_case("e4m3") {
            let mut s = QuantScheme::new(
                Method::Fp8,
                Layout::Unsupported {
                    reason: format!("FP8 fmt `{f}`"),
                },
                source,
            );
            s.bits = Some(8);
            return s;
        }
    }
    let mut s = QuantScheme::new(Method::Fp8, Layout::Fp8 { granularity }, source);
    s.bits = Some(8);
    s.scale_convention = Some(match (granularity, str_of(q, &["scale_fmt"])) {
        (g, Some(fmt)) => format!("{} ({fmt})", granularity_name(&g)),
        (g, None) => granularity_name(&g),
    });
    s.unquantized_modules = list_of(q, &["modules_to_not_convert", "ignored_layers"]);
    s
}
