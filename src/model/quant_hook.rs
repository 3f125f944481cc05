//! The seam between `check` and quantization detection.
//!
//! `check` builds the `quantization` section of its report by calling a
//! [`QuantDetector`] (a plain function pointer in [`crate::model::check::CheckOptions`]).
//! The default detector is the quantization stage's
//! [`detect_for_check`](crate::quant::check_hook::detect_for_check); keeping it behind a
//! function pointer lets `model` stay ignorant of quantization formats and lets tests plug
//! in their own detector.

use crate::diag::Diagnostic;
use crate::model::dir::ModelDir;
use serde_json::{json, Map, Value};

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
