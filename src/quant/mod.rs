//! Quantization: detection of the scheme ([`detect`]), typed binding of each Linear
//! ([`bind`] -> [`QuantizedLinear`]), and the deep check of every quantized layer
//! ([`deep_check`]). Spec: quant_formats.md (cited by section throughout).

pub mod bind;
pub mod check_hook;
pub mod deep;
pub mod detect;
pub mod files;
pub mod linear;
pub mod pattern;
pub mod scheme;

pub use bind::bind;
pub use deep::{check_unquantized, deep_check, progress_bar, DeepReport, LayerStats};
pub use detect::{detect, detect_from, SideFiles};
pub use linear::{
    FnLookup, Fp8Granularity, GlobalScaleConvention, OwnedTensor, QTensor, QuantizedLinear,
    TensorLookup,
};
pub use scheme::{Layout, Method, QuantReport, QuantScheme};

/// The prefixes of every quantized Linear under `scheme`, found by tensor name, sorted.
/// These are the prefixes [`bind`] accepts (for MXFP4, the name before `_blocks`).
pub fn layer_prefixes(scheme: &QuantScheme, tensor_names: &[&str]) -> Vec<String> {
    // A set, not `tensor_names.contains`: that made this quadratic in the number of tensors.
    let set: std::collections::HashSet<&str> = tensor_names.iter().copied().collect();
    let has = |n: &str| set.contains(n);
    let mut out: Vec<String> = tensor_names
        .iter()
        .filter_map(|name| -> Option<&str> {
            match &scheme.layout {
                Layout::Gptq { .. } | Layout::Awq { .. } => name.strip_suffix(".qweight"),
                Layout::IntPack { .. } => name.strip_suffix(".weight_packed"),
                Layout::Nvfp4 {
                    convention: GlobalScaleConvention::Divisor,
                } => name.strip_suffix(".weight_packed"),
                Layout::Nvfp4 {
                    convention: GlobalScaleConvention::Multiplier,
                } => name
                    .strip_suffix(".weight_scale")
                    .filter(|p| has(&format!("{p}.weight_scale_2")) || has(&format!("{p}.weight"))),
                Layout::Mxfp4 => name.strip_suffix("_blocks"),
                Layout::Fp8 { .. } => name
                    .strip_suffix(".weight_scale_inv")
                    .or_else(|| name.strip_suffix(".weight_scale"))
                    .filter(|p| has(&format!("{p}.weight"))),
                Layout::Unsupported { .. } => name
                    .strip_suffix(".qweight")
                    .or_else(|| name.strip_suffix(".weight_packed"))
                    .or_else(|| name.strip_suffix("_blocks")),
            }
        })
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}
