//! The detector `check` plugs in (`model::check::CheckOptions::quant_detector`): runs
//! [`super::detect`] on the opened directory and returns the `quantization` section in the
//! model module's report type. Wiring: `CheckOptions { quant_detector:
//! safeweights::quant::check_hook::detect_for_check, .. }`.

use super::scheme::QuantReport;
use super::{detect, layer_prefixes};
use crate::model::dir::ModelDir;
use crate::model::quant_hook;
use serde_json::Value;

/// Detects the scheme of `dir` (config.json already parsed as `config`) and fills the
/// `quantization` section: method, source, supported, then every other [`QuantReport`] field
/// (producer, bits, group_size, desc_act, sym, checkpoint_format, scale_convention,
/// unquantized_modules, layers, kv_cache_hint, quant_method_raw), plus the QNT findings.
pub fn detect_for_check(dir: &ModelDir, config: &Value) -> quant_hook::QuantReport {
    let names: Vec<&str> = dir.tensors.keys().map(String::as_str).collect();
    let (scheme, diagnostics) = detect(config, &dir.path, &names);
    let layers = scheme
        .as_ref()
        .map_or(0, |s| layer_prefixes(s, &names).len());
    let report = QuantReport::new(scheme.as_ref(), layers);
    let mut details = match serde_json::to_value(&report) {
        Ok(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let method = report.method.as_str().to_string();
    for k in ["method", "source", "supported"] {
        details.remove(k);
    }
    quant_hook::QuantReport {
        method,
        source: report.source.clone(),
        supported: Some(report.supported),
        details,
        diagnostics,
    }
}
