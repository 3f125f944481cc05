//! The seam between `check` and quantization detection.
//!
//! `check` builds the `quantization` section of its report by calling a
//! [`QuantDetector`] (a plain function pointer in [`crate::model::check::CheckOptions`]).
//! The quantization stage (`quant::detect`) replaces [`locate_quantization`] as the
//! default detector; nothing else in `model` needs to change.
//!
//! [`locate_quantization`] does not interpret any scheme: it says "none" only when the
//! directory genuinely has no quantization metadata (no `quantization_config`,
//! `compression_config`, `text_config.quantization_config`, nor the side files
//! `quantize_config.json`, `quant_config.json`, `hf_quant_config.json`), and otherwise
//! names the method and where it was found, leaving `supported` undetermined (`null`).

use crate::diag::Diagnostic;
use crate::model::dir::ModelDir;
use serde_json::{json, Map, Value};

/// Side files that carry quantization metadata outside config.json.
pub const QUANT_SIDE_FILES: &[&str] = &[
    "quantize_config.json",
    "quant_config.json",
    "hf_quant_config.json",
];

/// The `quantization` section of the check report.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantReport {
    /// Normalised method name (`"none"` when unquantized).
    pub method: String,
    /// Where the metadata was found (`"none"`, `"config.json:quantization_config"`, a side file).
    pub source: String,
    /// Whether the scheme can be served/decoded; `None` when not determined.
    pub supported: Option<bool>,
    /// Scheme parameters (bits, group size, …), merged into the JSON section.
    pub details: Map<String, Value>,
    /// Findings of the detector (QNT codes).
    pub diagnostics: Vec<Diagnostic>,
}

impl QuantReport {
    /// The report for a model with no quantization metadata at all.
    pub fn none() -> Self {
        QuantReport {
            method: "none".into(),
            source: "none".into(),
            supported: Some(true),
            details: Map::new(),
            diagnostics: Vec::new(),
        }
    }

    /// The `quantization` section of the check JSON: method, source, supported, then details.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("method".into(), json!(self.method));
        m.insert("source".into(), json!(self.source));
        m.insert("supported".into(), json!(self.supported));
        for (k, v) in &self.details {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(m)
    }
}

/// Signature of a quantization detector: the opened directory and config.json as parsed
/// (`Value::Null` when there is none).
pub type QuantDetector = fn(&ModelDir, &Value) -> QuantReport;

/// Finds where quantization metadata lives without interpreting it (see module docs).
pub fn locate_quantization(dir: &ModelDir, raw_config: &Value) -> QuantReport {
    let mut found: Vec<(String, Option<String>)> = Vec::new();
    for key in ["quantization_config", "compression_config"] {
        if let Some(b) = raw_config.get(key).filter(|v| v.is_object()) {
            found.push((format!("config.json:{key}"), method_of(b)));
        }
    }
    for sub in ["text_config", "language_config", "llm_config"] {
        if let Some(b) = raw_config
            .get(sub)
            .and_then(|t| t.get("quantization_config"))
            .filter(|v| v.is_object())
        {
            found.push((
                format!("config.json:{sub}.quantization_config"),
                method_of(b),
            ));
        }
    }
    for f in QUANT_SIDE_FILES {
        if dir.has_file(f) {
            let method = std::fs::read(dir.path.join(f))
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| method_of(&v));
            found.push((f.to_string(), method));
        }
    }
    let Some((source, method)) = found.first().cloned() else {
        return QuantReport::none();
    };
    let mut details = Map::new();
    details.insert("interpreted".into(), Value::Bool(false));
    details.insert(
        "found_in".into(),
        Value::Array(found.iter().map(|(s, _)| Value::from(s.clone())).collect()),
    );
    QuantReport {
        method: method.unwrap_or_else(|| "unknown".into()),
        source,
        supported: None,
        details,
        diagnostics: Vec::new(),
    }
}

/// `quant_method` lower-cased, with the `compressed_tensors` spelling normalised.
fn method_of(block: &Value) -> Option<String> {
    let m = block
        .get("quant_method")
        .or_else(|| block.get("quantization").and_then(|q| q.get("quant_algo")))
        .and_then(Value::as_str)?
        .to_ascii_lowercase();
    Some(if m == "compressed_tensors" {
        "compressed-tensors".into()
    } else {
        m
    })
}
