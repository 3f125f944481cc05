//! The detector `check` plugs in (`model::check::CheckOptions::quant_detector`): runs
//! [`super::detect`] on the opened directory and returns the `quantization` section in the
//! model module's report type. Wiring: `CheckOptions { quant_detector:
//! safeweights::quant::check_hook::detect_for_check, .. }`.

use super::files::ModelFiles;
use super::scheme::QuantReport;
use super::{deep_check, detect, layer_prefixes};
use crate::diag::Diagnostic;
use crate::model::check::sort_diagnostics;
use crate::model::dir::ModelDir;
use crate::model::quant_hook;
use crate::model::report::CheckReport;
use serde_json::Value;
use std::collections::HashSet;

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
    let mut diagnostics = diagnostics;
    if let Some(s) = scheme.as_ref().filter(|s| s.supported() && layers == 0) {
        diagnostics.push(
            Diagnostic::error(
                "QNT027",
                format!(
                    "{} declares {} quantization but no tensor has that format's names",
                    s.source,
                    s.method.as_str()
                ),
            )
            .tensor(s.source.clone())
            .advice("remove the stale quantization config, or download the quantized weights that go with it"),
        );
    }
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

/// `check --deep` for quantized models: maps the weights, decodes every quantized layer with
/// the fast path ([`super::deep_check`]) and adds the findings (non-finite or zero scales,
/// all-zero layers, binding errors) and per-layer statistics to `report`. Does nothing for
/// an unquantized or unsupported model. `progress(done, total, layer)` reports each layer.
pub fn deep_for_check(report: &mut CheckReport, progress: &mut dyn FnMut(usize, usize, &str)) {
    if report.quant.method == "none" || report.quant.supported != Some(true) {
        return;
    }
    let files = match ModelFiles::open(&report.path) {
        Ok(f) => f,
        Err(d) => {
            report.diagnostics.push(d);
            sort_diagnostics(&mut report.diagnostics);
            return;
        }
    };
    let names = files.names();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    // Detection findings are already in the report; only the scheme is needed here.
    let (Some(scheme), _) = detect(&files.config, &report.path, &refs) else {
        return;
    };
    let deep = deep_check(&scheme, &files.lookup(), &refs, progress);
    let mut seen: HashSet<(&'static str, Option<String>)> = report
        .diagnostics
        .iter()
        .map(|d| (d.code, d.tensor.clone()))
        .collect();
    for d in deep.diagnostics.iter() {
        if seen.insert((d.code, d.tensor.clone())) {
            report.diagnostics.push(d.clone());
        }
    }
    sort_diagnostics(&mut report.diagnostics);
    report.quant_deep = serde_json::to_value(&deep).ok();
}
