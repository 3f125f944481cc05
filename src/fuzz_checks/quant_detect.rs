//! Target `quant_detect`: detection of the quantization scheme from config.json, every
//! side file (`quantize_config.json`, `quant_config.json`, `hf_quant_config.json`, the
//! presence of `recipe.yaml`) and tensor names.
//!
//! Input: sections split at `0xFF` (see [`super::sections`]): config.json,
//! quantize_config.json, quant_config.json, hf_quant_config.json, recipe.yaml (present
//! when the section is non-empty), then tensor names one per line. An empty JSON section
//! is an absent file.

use crate::quant::detect::{detect_from, parse_side_file, SideFiles};
use crate::quant::{bind, layer_prefixes, OwnedTensor};
use serde_json::Value;

/// Never panics; detection is deterministic; every prefix the detected scheme names can be
/// handed to [`bind`] with no tensors, which must refuse it.
pub fn quant_detect(data: &[u8]) {
    let s = super::sections(data, 6);
    let config: Value = serde_json::from_slice(s[0]).unwrap_or(Value::Null);
    let side_file = |i: usize, name: &str| -> Option<Value> {
        if s[i].is_empty() {
            return None;
        }
        parse_side_file(name, &String::from_utf8_lossy(s[i])).ok()
    };
    let side = SideFiles {
        quantize_config: side_file(1, "quantize_config.json"),
        quant_config: side_file(2, "quant_config.json"),
        hf_quant_config: side_file(3, "hf_quant_config.json"),
        recipe_yaml: !s[4].is_empty(),
    };
    let names_text = String::from_utf8_lossy(s[5]);
    let names: Vec<&str> = names_text.lines().take(4096).collect();
    let (scheme, diags) = detect_from(&config, &side, &names);
    let (scheme2, diags2) = detect_from(&config, &side, &names);
    assert_eq!(scheme, scheme2, "detection is deterministic");
    assert_eq!(diags, diags2);
    let Some(scheme) = scheme else { return };
    let none: &[OwnedTensor] = &[];
    for prefix in layer_prefixes(&scheme, &names).iter().take(64) {
        let (layer, d) = bind(&scheme, prefix, &none);
        assert!(layer.is_none(), "bound a layer with no tensors");
        assert!(!d.is_empty(), "refused a layer without saying why");
    }
}
