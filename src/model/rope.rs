//! Rotary position embedding: normalisation of every spelling transformers and the hub use,
//! and the inverse-frequency tables of the scaling variants.
//!
//! Accepted inputs (specs/hf_config_detection.md §1 "RoPE", §6):
//! - transformers v4 `rope_scaling` with `rope_theta` beside it at the top level;
//! - transformers v5 `rope_parameters`, flat or nested per layer type
//!   (`{"full_attention": {...}, "sliding_attention": {...}}`) with `rope_theta` inside;
//! - the legacy key `type` (copied to `rope_type`; a conflict is an error except the known
//!   pairs `su`/`longrope` and `mrope`/`default`), the legacy names `su` → `longrope` and
//!   `mrope` → `default` (+ `mrope_section`);
//! - aliases `rotary_emb_base` → `rope_theta`, `rotary_pct`/`rotary_emb_fraction` →
//!   `partial_rotary_factor`;
//! - Gemma 3 v4 configs: `rope_local_base_freq` is the theta of sliding-attention layers.
//!
//! Pure: takes the JSON object of the (text) config, returns a [`Rope`] plus diagnostics.

use crate::diag::Diagnostic;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::f64::consts::PI;

/// Parameters each known `rope_type` takes, in the order they are reported. `required`
/// parameters must be present; the others are reported as `null` when absent.
struct TypeSpec {
    name: &'static str,
    required: &'static [&'static str],
    optional: &'static [&'static str],
}

const TYPES: &[TypeSpec] = &[
    TypeSpec {
        name: "default",
        required: &[],
        optional: &["mrope_section", "mrope_interleaved"],
    },
    TypeSpec {
        name: "linear",
        required: &["factor"],
        optional: &[],
    },
    TypeSpec {
        name: "dynamic",
        required: &[],
        optional: &["factor", "alpha", "original_max_position_embeddings"],
    },
    TypeSpec {
        name: "ntk",
        required: &["factor"],
        optional: &["mixed_b"],
    },
    TypeSpec {
        name: "yarn",
        required: &["factor"],
        optional: &[
            "original_max_position_embeddings",
            "beta_fast",
            "beta_slow",
            "mscale",
            "mscale_all_dim",
            "attention_factor",
            "truncate",
        ],
    },
    TypeSpec {
        name: "deepseek_yarn",
        required: &["factor"],
        optional: &[
            "original_max_position_embeddings",
            "beta_fast",
            "beta_slow",
            "mscale",
            "mscale_all_dim",
            "attention_factor",
        ],
    },
    TypeSpec {
        name: "longrope",
        required: &["short_factor", "long_factor"],
        optional: &[
            "original_max_position_embeddings",
            "attention_factor",
            "short_mscale",
            "long_mscale",
        ],
    },
    TypeSpec {
        name: "llama3",
        required: &[
            "factor",
            "low_freq_factor",
            "high_freq_factor",
            "original_max_position_embeddings",
        ],
        optional: &[],
    },
    TypeSpec {
        name: "mllama4",
        required: &[
            "factor",
            "low_freq_factor",
            "high_freq_factor",
            "original_max_position_embeddings",
        ],
        optional: &[],
    },
];

/// Where the RoPE settings were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeSource {
    /// transformers v5 `rope_parameters`.
    RopeParameters,
    /// transformers v4 `rope_scaling` (with top-level `rope_theta`).
    RopeScaling,
    /// Neither block: plain RoPE from `rope_theta` (or nothing at all).
    TopLevel,
}

impl RopeSource {
    /// Key name as written in config.json (`"none"` for the top level).
    pub fn as_str(self) -> &'static str {
        match self {
            RopeSource::RopeParameters => "rope_parameters",
            RopeSource::RopeScaling => "rope_scaling",
            RopeSource::TopLevel => "none",
        }
    }
}

/// Normalised RoPE settings of one attention kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Rope {
    /// Normalised `rope_type` (`default`, `linear`, `dynamic`, `yarn`, `longrope`, `llama3`, …).
    pub rope_type: String,
    /// `rope_theta` (base); `None` when the config does not say.
    pub theta: Option<f64>,
    /// Fraction of each head's dimensions that rotate; `None` when unset (meaning 1).
    pub partial_rotary_factor: Option<f64>,
    /// Every parameter of the type (absent optional ones are `Value::Null`), in spec order,
    /// then any extra keys the config carries.
    pub params: Vec<(String, Value)>,
    /// True when the type is not one this module knows (reported as an error).
    pub known: bool,
}

/// RoPE of a whole model: the main settings plus per-layer-type overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct RopeConfig {
    /// Settings of full-attention layers (or of every layer when not nested).
    pub main: Rope,
    /// Settings per layer type other than `full_attention` (e.g. `sliding_attention`).
    pub per_layer_type: BTreeMap<String, Rope>,
    /// Where the settings came from.
    pub source: RopeSource,
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn get_num(m: &Map<String, Value>, keys: &[&str]) -> Option<f64> {
    keys.iter().find_map(|k| m.get(*k).and_then(num))
}

/// Reads RoPE settings from a normalised (text) config object.
pub fn parse_rope(cfg: &Map<String, Value>, diags: &mut Vec<Diagnostic>) -> RopeConfig {
    let top_theta = get_num(cfg, &["rope_theta", "rotary_emb_base"]);
    let top_prf = get_num(
        cfg,
        &["partial_rotary_factor", "rotary_pct", "rotary_emb_fraction"],
    );
    let params = cfg.get("rope_parameters").filter(|v| !v.is_null());
    let scaling = cfg.get("rope_scaling").filter(|v| !v.is_null());

    let (block, source) = match (params, scaling) {
        (Some(p), Some(s)) => {
            if !rope_blocks_agree(p, s) {
                diags.push(
                    Diagnostic::warning(
                        "CFG017",
                        "config.json has both rope_parameters and rope_scaling and they disagree; rope_parameters (transformers v5) is used",
                    )
                    .tensor("rope_scaling")
                    .advice("delete the stale rope_scaling block so every loader reads the same RoPE settings"),
                );
            }
            (Some(p), RopeSource::RopeParameters)
        }
        (Some(p), None) => (Some(p), RopeSource::RopeParameters),
        (None, Some(s)) => (Some(s), RopeSource::RopeScaling),
        (None, None) => (None, RopeSource::TopLevel),
    };

    let mut per_layer_type = BTreeMap::new();
    let main = match block {
        None => plain(top_theta, top_prf),
        Some(Value::Object(b)) if is_nested(b) => {
            let mut main = None;
            for (layer_type, sub) in b {
                let Some(sub) = sub.as_object() else {
                    diags.push(bad_block(&format!("rope_parameters.{layer_type}")));
                    continue;
                };
                let r = parse_flat(
                    sub,
                    top_theta,
                    top_prf,
                    &format!("{}.{layer_type}", source.as_str()),
                    diags,
                );
                if layer_type == "full_attention" {
                    main = Some(r);
                } else {
                    per_layer_type.insert(layer_type.clone(), r);
                }
            }
            main.unwrap_or_else(|| plain(top_theta, top_prf))
        }
        Some(Value::Object(b)) => parse_flat(b, top_theta, top_prf, source.as_str(), diags),
        Some(_) => {
            diags.push(bad_block(source.as_str()));
            plain(top_theta, top_prf)
        }
    };

    // Gemma 3 (transformers v4): local layers use their own base and no scaling.
    if let Some(local) = get_num(cfg, &["rope_local_base_freq"]) {
        per_layer_type
            .entry("sliding_attention".to_string())
            .or_insert_with(|| plain(Some(local), top_prf));
    }
    let mut bad_prf: Vec<f64> = std::iter::once(&main)
        .chain(per_layer_type.values())
        .filter_map(|r| r.partial_rotary_factor)
        .filter(|p| !(*p > 0.0 && *p <= 1.0))
        .collect();
    bad_prf.dedup();
    for p in bad_prf {
        diags.push(
            Diagnostic::error("CFG030", format!("config.json: partial_rotary_factor is {p}; it must be in (0, 1]"))
                .tensor("partial_rotary_factor")
                .advice("set partial_rotary_factor to the fraction of each head that rotates (1.0 for all of it)"),
        );
    }
    RopeConfig {
        main,
        per_layer_type,
        source,
    }
}

fn plain(theta: Option<f64>, prf: Option<f64>) -> Rope {
    Rope {
        rope_type: "default".into(),
        theta,
        partial_rotary_factor: prf,
        params: Vec::new(),
        known: true,
    }
}

fn bad_block(key: &str) -> Diagnostic {
    Diagnostic::error("CFG014", format!("config.json: {key} is not a JSON object"))
        .tensor(key)
        .advice("write the RoPE block as an object such as {\"rope_type\": \"default\", \"rope_theta\": 10000.0}")
}

/// A nested block has only object values and no type key of its own.
fn is_nested(b: &Map<String, Value>) -> bool {
    !b.is_empty()
        && !b.contains_key("rope_type")
        && !b.contains_key("type")
        && b.values().all(Value::is_object)
}

/// True when two RoPE blocks describe the same scaling, ignoring the v4/v5 theta move.
fn rope_blocks_agree(p: &Value, s: &Value) -> bool {
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("rope_theta");
            m.remove("partial_rotary_factor");
            if let Some(t) = m.remove("type") {
                m.entry("rope_type").or_insert(t);
            }
        }
        v
    };
    strip(p) == strip(s)
}

fn parse_flat(
    b: &Map<String, Value>,
    top_theta: Option<f64>,
    top_prf: Option<f64>,
    key: &str,
    diags: &mut Vec<Diagnostic>,
) -> Rope {
    let rt = b.get("rope_type").and_then(Value::as_str);
    let legacy = b.get("type").and_then(Value::as_str);
    let raw_type = match (rt, legacy) {
        (Some(r), Some(l)) if r != l => {
            let allowed = matches!(
                (r, l),
                ("longrope", "su")
                    | ("su", "longrope")
                    | ("default", "mrope")
                    | ("mrope", "default")
            );
            if !allowed {
                diags.push(
                    Diagnostic::error(
                        "CFG015",
                        format!("config.json: {key} has rope_type \"{r}\" but legacy type \"{l}\"; which scaling applies is ambiguous"),
                    )
                    .tensor(key)
                    .advice("remove the legacy \"type\" key and keep the rope_type the checkpoint was trained with"),
                );
            }
            r
        }
        (Some(r), _) => r,
        (None, Some(l)) => {
            diags.push(
                Diagnostic::info("CFG015", format!("config.json: {key} uses the legacy key \"type\": \"{l}\"; read as rope_type"))
                    .tensor(key)
                    .advice("rename \"type\" to \"rope_type\" (transformers >= 4.45 spelling)"),
            );
            l
        }
        (None, None) => "default",
    };
    let mut rope_type = match raw_type {
        "su" => {
            diags.push(
                Diagnostic::info(
                    "CFG016",
                    format!(
                        "config.json: {key} uses the legacy RoPE name \"su\"; read as \"longrope\""
                    ),
                )
                .tensor(key)
                .advice("rename the rope_type to \"longrope\""),
            );
            "longrope".to_string()
        }
        "mrope" => {
            diags.push(
                Diagnostic::info("CFG016", format!("config.json: {key} uses the legacy RoPE name \"mrope\"; read as \"default\" with mrope_section"))
                    .tensor(key)
                    .advice("rename the rope_type to \"default\" and keep mrope_section"),
            );
            "default".to_string()
        }
        other => other.to_string(),
    };
    if rope_type == "mrope" {
        rope_type = "default".into();
    }
    let theta = get_num(b, &["rope_theta"]).or(top_theta);
    let prf = get_num(b, &["partial_rotary_factor"]).or(top_prf);
    let spec = TYPES.iter().find(|t| t.name == rope_type);
    let skip = ["rope_type", "type", "rope_theta", "partial_rotary_factor"];
    let mut params = Vec::new();
    match spec {
        Some(spec) => {
            for p in spec.required {
                match b.get(*p) {
                    Some(v) if !v.is_null() => params.push((p.to_string(), v.clone())),
                    _ => {
                        diags.push(
                            Diagnostic::error(
                                "CFG014",
                                format!("config.json: {key} has rope_type \"{rope_type}\" but no \"{p}\", which that type requires"),
                            )
                            .tensor(format!("{key}.{p}"))
                            .advice(format!("add \"{p}\" to {key}; copy it from the original model's config.json")),
                        );
                        params.push((p.to_string(), Value::Null));
                    }
                }
            }
            for p in spec.optional {
                params.push((p.to_string(), b.get(*p).cloned().unwrap_or(Value::Null)));
            }
            validate_values(&rope_type, b, key, diags);
        }
        None => {
            diags.push(
                Diagnostic::error(
                    "CFG013",
                    format!(
                        "config.json: {key} has unknown RoPE scaling type \"{rope_type}\"; known types: {}",
                        TYPES.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
                    ),
                )
                .tensor(key)
                .advice("use one of the known rope_type values, or a loader that implements this scaling"),
            );
        }
    }
    for (k, v) in b {
        if !skip.contains(&k.as_str()) && !params.iter().any(|(p, _)| p == k) {
            params.push((k.clone(), v.clone()));
        }
    }
    Rope {
        rope_type,
        theta,
        partial_rotary_factor: prf,
        params,
        known: spec.is_some(),
    }
}

fn validate_values(
    rope_type: &str,
    b: &Map<String, Value>,
    key: &str,
    diags: &mut Vec<Diagnostic>,
) {
    let mut bad = |p: &str, why: &str| {
        diags.push(
            Diagnostic::error("CFG014", format!("config.json: {key}.{p} {why}"))
                .tensor(format!("{key}.{p}"))
                .advice("fix the value; copy it from the original model's config.json"),
        );
    };
    for p in [
        "factor",
        "low_freq_factor",
        "high_freq_factor",
        "original_max_position_embeddings",
        "alpha",
    ] {
        if let Some(v) = b.get(p) {
            match v.as_f64() {
                Some(x) if x > 0.0 && x.is_finite() => {}
                Some(x) => bad(p, &format!("is {x}; it must be a positive number")),
                None if v.is_null() => {}
                None => bad(p, &format!("is {v}, not a number")),
            }
        }
    }
    if rope_type == "llama3" {
        if let (Some(lo), Some(hi)) = (
            get_num(b, &["low_freq_factor"]),
            get_num(b, &["high_freq_factor"]),
        ) {
            if hi <= lo {
                bad(
                    "high_freq_factor",
                    &format!("({hi}) must be greater than low_freq_factor ({lo})"),
                );
            }
        }
    }
    if rope_type == "longrope" {
        for p in ["short_factor", "long_factor"] {
            if let Some(v) = b.get(p) {
                let ok = v
                    .as_array()
                    .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x.as_f64().is_some()));
                if !ok {
                    bad(p, "must be a non-empty list of numbers");
                }
            }
        }
    }
}

impl Rope {
    /// The value of a parameter, when present and numeric.
    pub fn param_f64(&self, name: &str) -> Option<f64> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_f64())
    }

    fn param_list(&self, name: &str) -> Option<Vec<f64>> {
        let (_, v) = self.params.iter().find(|(k, _)| k == name)?;
        v.as_array()?.iter().map(Value::as_f64).collect()
    }

    /// Rotary dimensions for a head of `head_dim` (`head_dim * partial_rotary_factor`).
    pub fn rotary_dim(&self, head_dim: u64) -> u64 {
        let f = self.partial_rotary_factor.unwrap_or(1.0);
        (head_dim as f64 * f) as u64
    }

    /// The inverse-frequency table (`rotary_dim / 2` entries) at the trained context length,
    /// as transformers' `ROPE_INIT_FUNCTIONS` compute it, in f64.
    /// `None` when theta or a required parameter is missing, or the type has no closed form
    /// here (`ntk`, `mllama4`).
    /// `max_position_embeddings` is the config's value, used by yarn when the block has no
    /// `original_max_position_embeddings`.
    pub fn inv_freq(
        &self,
        head_dim: u64,
        max_position_embeddings: Option<u64>,
    ) -> Option<Vec<f64>> {
        let theta = self.theta?;
        let dim = self.rotary_dim(head_dim);
        if !(2..=1 << 20).contains(&dim) || theta.is_nan() || theta <= 1.0 {
            return None;
        }
        match self.rope_type.as_str() {
            "default" | "dynamic" => Some(default_inv_freq(dim, theta)),
            "linear" => {
                let f = self.param_f64("factor")?;
                Some(
                    default_inv_freq(dim, theta)
                        .into_iter()
                        .map(|x| x / f)
                        .collect(),
                )
            }
            "llama3" => Some(llama3_inv_freq(
                dim,
                theta,
                self.param_f64("factor")?,
                self.param_f64("low_freq_factor")?,
                self.param_f64("high_freq_factor")?,
                self.param_f64("original_max_position_embeddings")?,
            )),
            "yarn" | "deepseek_yarn" => {
                let orig = self
                    .param_f64("original_max_position_embeddings")
                    .or(max_position_embeddings.map(|m| m as f64))?;
                let truncate = self
                    .params
                    .iter()
                    .find(|(k, _)| k == "truncate")
                    .and_then(|(_, v)| v.as_bool())
                    .unwrap_or(true);
                Some(yarn_inv_freq(
                    dim,
                    theta,
                    self.param_f64("factor")?,
                    orig,
                    self.param_f64("beta_fast").unwrap_or(32.0),
                    self.param_f64("beta_slow").unwrap_or(1.0),
                    truncate,
                ))
            }
            "longrope" => {
                let short = self.param_list("short_factor")?;
                if short.len() as u64 != dim / 2 {
                    return None;
                }
                Some(
                    default_inv_freq(dim, theta)
                        .into_iter()
                        .zip(short)
                        .map(|(f, s)| f / s)
                        .collect(),
                )
            }
            _ => None,
        }
    }
}

/// Plain RoPE: `inv_freq[i] = 1 / theta^(2i / dim)` for `i` in `0..dim/2`.
pub fn default_inv_freq(dim: u64, theta: f64) -> Vec<f64> {
    (0..dim / 2)
        .map(|i| 1.0 / theta.powf((2 * i) as f64 / dim as f64))
        .collect()
}

/// Llama 3.1 frequency-dependent scaling (transformers `_compute_llama3_parameters`):
/// wavelengths shorter than `original / high_freq_factor` are kept, longer than
/// `original / low_freq_factor` are divided by `factor`, and the band in between is
/// interpolated smoothly between the two.
pub fn llama3_inv_freq(
    dim: u64,
    theta: f64,
    factor: f64,
    low_freq_factor: f64,
    high_freq_factor: f64,
    original_max_position_embeddings: f64,
) -> Vec<f64> {
    let low_freq_wavelen = original_max_position_embeddings / low_freq_factor;
    let high_freq_wavelen = original_max_position_embeddings / high_freq_factor;
    default_inv_freq(dim, theta)
        .into_iter()
        .map(|f| {
            let wavelen = 2.0 * PI / f;
            if wavelen < high_freq_wavelen {
                f
            } else if wavelen > low_freq_wavelen {
                f / factor
            } else {
                let smooth = (original_max_position_embeddings / wavelen - low_freq_factor)
                    / (high_freq_factor - low_freq_factor);
                (1.0 - smooth) * f / factor + smooth * f
            }
        })
        .collect()
}

/// YaRN (transformers `_compute_yarn_parameters`): dimensions rotating faster than
/// `beta_fast` turns over the original context are extrapolated, slower than `beta_slow`
/// interpolated by `factor`, with a linear ramp between.
pub fn yarn_inv_freq(
    dim: u64,
    theta: f64,
    factor: f64,
    original_max_position_embeddings: f64,
    beta_fast: f64,
    beta_slow: f64,
    truncate: bool,
) -> Vec<f64> {
    let d = dim as f64;
    let correction_dim = |rotations: f64| {
        d * (original_max_position_embeddings / (rotations * 2.0 * PI)).ln() / (2.0 * theta.ln())
    };
    let (mut low, mut high) = (correction_dim(beta_fast), correction_dim(beta_slow));
    if truncate {
        low = low.floor();
        high = high.ceil();
    }
    let low = low.max(0.0);
    let high = high.min(d - 1.0);
    let high = if low == high { high + 0.001 } else { high };
    default_inv_freq(dim, theta)
        .into_iter()
        .enumerate()
        .map(|(i, extrapolation)| {
            let interpolation = extrapolation / factor;
            let ramp = ((i as f64 - low) / (high - low)).clamp(0.0, 1.0);
            let extrapolation_factor = 1.0 - ramp;
            interpolation * (1.0 - extrapolation_factor) + extrapolation * extrapolation_factor
        })
        .collect()
}

/// `rope` section of the check report: `type`, `theta`, `partial_rotary_factor` when set,
/// then every parameter of the type; `per_layer_type` when layers differ.
pub fn rope_json(r: &RopeConfig) -> Value {
    let mut m = one_json(&r.main);
    m.insert("source".into(), Value::from(r.source.as_str()));
    if !r.per_layer_type.is_empty() {
        let per: Map<String, Value> = r
            .per_layer_type
            .iter()
            .map(|(k, v)| (k.clone(), Value::Object(one_json(v))))
            .collect();
        m.insert("per_layer_type".into(), Value::Object(per));
    }
    Value::Object(m)
}

fn one_json(r: &Rope) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), Value::from(r.rope_type.clone()));
    m.insert(
        "theta".into(),
        r.theta.map(Value::from).unwrap_or(Value::Null),
    );
    m.insert(
        "partial_rotary_factor".into(),
        r.partial_rotary_factor
            .map(Value::from)
            .unwrap_or(Value::Null),
    );
    for (k, v) in &r.params {
        m.insert(k.clone(), v.clone());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> (RopeConfig, Vec<Diagnostic>) {
        let mut d = Vec::new();
        let r = parse_rope(v.as_object().unwrap(), &mut d);
        (r, d)
    }

    #[test]
    fn v4_llama3_block_with_top_level_theta() {
        let (r, d) = parse(
            json!({"rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}),
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(r.main.rope_type, "llama3");
        assert_eq!(r.main.theta, Some(500000.0));
        assert_eq!(r.source, RopeSource::RopeScaling);
        assert_eq!(r.main.param_f64("factor"), Some(8.0));
    }

    #[test]
    fn v5_nested_per_layer_type() {
        let (r, d) = parse(json!({"rope_parameters": {
            "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}}));
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(r.main.rope_type, "linear");
        assert_eq!(r.main.theta, Some(1e6));
        assert_eq!(r.per_layer_type["sliding_attention"].theta, Some(1e4));
    }

    #[test]
    fn legacy_type_and_su_are_normalised() {
        let (r, d) = parse(
            json!({"rope_scaling": {"type": "su", "short_factor": [1.0], "long_factor": [2.0]}}),
        );
        assert_eq!(r.main.rope_type, "longrope");
        assert!(d.iter().any(|d| d.code == "CFG015"));
        assert!(d.iter().any(|d| d.code == "CFG016"));
        assert!(!d.iter().any(|d| d.is_error()));
    }

    #[test]
    fn conflicting_type_keys_and_unknown_types_are_errors() {
        let (_, d) =
            parse(json!({"rope_scaling": {"type": "linear", "rope_type": "yarn", "factor": 2.0}}));
        assert!(d.iter().any(|d| d.code == "CFG015" && d.is_error()));
        let (r, d) = parse(json!({"rope_scaling": {"rope_type": "spiral", "factor": 2.0}}));
        assert!(!r.main.known);
        assert!(d.iter().any(|d| d.code == "CFG013" && d.is_error()));
    }

    #[test]
    fn missing_required_parameter_is_named() {
        let (r, d) = parse(json!({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}));
        let missing: Vec<_> = d
            .iter()
            .filter(|d| d.code == "CFG014")
            .filter_map(|d| d.tensor.clone())
            .collect();
        assert_eq!(missing.len(), 3, "{missing:?}");
        assert!(missing.contains(&"rope_scaling.low_freq_factor".to_string()));
        assert!(r.main.inv_freq(128, None).is_none());
    }

    #[test]
    fn aliases_and_gemma3_local_base() {
        let (r, _) = parse(
            json!({"rotary_emb_base": 10000, "rotary_pct": 0.25, "rope_local_base_freq": 10000.0, "rope_theta": 1e6}),
        );
        assert_eq!(r.main.theta, Some(1e6));
        assert_eq!(r.main.partial_rotary_factor, Some(0.25));
        assert_eq!(r.per_layer_type["sliding_attention"].theta, Some(1e4));
        assert_eq!(r.main.rotary_dim(128), 32);
    }

    #[test]
    fn partial_rotary_factor_out_of_range() {
        let (_, d) = parse(json!({"partial_rotary_factor": 1.5}));
        assert!(d.iter().any(|d| d.code == "CFG030" && d.is_error()));
        let (_, d) = parse(
            json!({"rope_parameters": {"rope_type": "default", "partial_rotary_factor": 0.0}}),
        );
        assert!(d.iter().any(|d| d.code == "CFG030"));
        let (_, d) = parse(json!({"partial_rotary_factor": 0.5}));
        assert!(d.is_empty());
    }

    #[test]
    fn yarn_keeps_fast_dims_and_interpolates_slow_ones() {
        let (r, d) = parse(
            json!({"rope_theta": 10000.0, "max_position_embeddings": 4096, "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 4096}}),
        );
        assert!(d.is_empty());
        let inv = r.main.inv_freq(128, None).unwrap();
        let base = default_inv_freq(128, 10000.0);
        assert_eq!(inv[0], base[0]);
        assert!((inv[63] - base[63] / 4.0).abs() < 1e-18);
    }

    #[test]
    fn stale_rope_scaling_beside_rope_parameters_warns() {
        let (r, d) = parse(
            json!({"rope_parameters": {"rope_type": "default", "rope_theta": 1e6}, "rope_scaling": {"type": "linear", "factor": 2.0}}),
        );
        assert_eq!(r.main.rope_type, "default");
        assert!(d.iter().any(|d| d.code == "CFG017"));
        let (_, d) = parse(
            json!({"rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1e6}, "rope_scaling": {"type": "linear", "factor": 2.0}}),
        );
        assert!(d.is_empty(), "{d:?}");
    }
}
