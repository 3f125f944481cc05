//! `check --deep`: decode every quantized layer with the fast path and report non-finite or
//! zero scales, all-zero layers, non-finite weights and per-layer statistics; plus the
//! check that modules listed as unquantized are plain float weights.

use super::bind::bind;
use super::linear::{float_at, QuantizedLinear, TensorLookup};
use super::pattern::module_is_listed;
use super::scheme::QuantScheme;
use crate::diag::Diagnostic;
use crate::dtype::Dtype;
use crate::oracle::minifloat::e4m3fn_to_f32;
use serde::Serialize;

/// Statistics of one decoded layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerStats {
    /// Layer prefix.
    pub prefix: String,
    /// Method name.
    pub method: &'static str,
    /// Rows (N, or experts * N).
    pub rows: usize,
    /// Columns (K).
    pub cols: usize,
    /// Smallest finite weight.
    pub min: f32,
    /// Largest finite weight.
    pub max: f32,
    /// Mean of finite weights.
    pub mean: f64,
    /// Root mean square of finite weights.
    pub rms: f64,
    /// Weights exactly zero.
    pub zeros: usize,
    /// NaN or infinite weights.
    pub nonfinite: usize,
    /// Scale entries equal to zero.
    pub zero_scales: usize,
    /// Scale entries NaN or infinite.
    pub nonfinite_scales: usize,
}

/// Result of [`deep_check`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeepReport {
    /// One entry per layer that bound.
    pub layers: Vec<LayerStats>,
    /// Findings (binding errors, QNT023–QNT025).
    pub diagnostics: Vec<Diagnostic>,
}

/// Zero and non-finite entries among a layer's scales, and the scale tensor's name.
fn scale_health(layer: &QuantizedLinear<'_>) -> (usize, usize, String) {
    let count = |dtype: Dtype, data: &[u8], n: usize| {
        let vals = (0..n).map(|i| float_at(dtype, data, i));
        let (mut z, mut nf) = (0, 0);
        for v in vals {
            z += usize::from(v == 0.0);
            nf += usize::from(!v.is_finite());
        }
        (z, nf)
    };
    let (z, nf, name) = match layer {
        QuantizedLinear::Gptq(l) => {
            let (z, nf) = count(l.scales.dtype, l.scales.data, l.scales.numel() as usize);
            (z, nf, l.scales.name.clone())
        }
        QuantizedLinear::Awq(l) => {
            let (z, nf) = count(l.scales.dtype, l.scales.data, l.scales.numel() as usize);
            (z, nf, l.scales.name.clone())
        }
        QuantizedLinear::IntPack(l) => {
            let (z, nf) = count(
                l.weight_scale.dtype,
                l.weight_scale.data,
                l.weight_scale.numel() as usize,
            );
            (z, nf, l.weight_scale.name.clone())
        }
        QuantizedLinear::Nvfp4(l) => {
            let z = l
                .block_scale
                .data
                .iter()
                .filter(|&&c| e4m3fn_to_f32(c) == 0.0)
                .count();
            (z, 0, l.block_scale.name.clone())
        }
        // E8M0 has no zero; 0xFF is rejected by binding.
        QuantizedLinear::Mxfp4(l) => (0, 0, l.scales.name.clone()),
        QuantizedLinear::Fp8(l) => {
            let (z, nf) = count(l.scale.dtype, l.scale.data, l.scale.numel() as usize);
            (z, nf, l.scale.name.clone())
        }
    };
    (z, nf, name)
}

/// Rows decoded at a time, so a huge layer never needs its whole f32 copy in memory.
const SLICE_ROWS: usize = 1024;

/// Decodes every quantized layer (fast path) and reports findings and statistics.
/// `progress(done, total, prefix)` is called before each layer and once at the end.
pub fn deep_check<'a, L: TensorLookup<'a>>(
    scheme: &QuantScheme,
    lookup: &L,
    tensor_names: &[&str],
    progress: &mut dyn FnMut(usize, usize, &str),
) -> DeepReport {
    let prefixes = super::layer_prefixes(scheme, tensor_names);
    let mut report = DeepReport::default();
    report
        .diagnostics
        .extend(check_unquantized(scheme, lookup, tensor_names));
    for (i, prefix) in prefixes.iter().enumerate() {
        progress(i, prefixes.len(), prefix);
        let (layer, diags) = bind(scheme, prefix, lookup);
        report.diagnostics.extend(diags);
        let Some(layer) = layer else { continue };
        let (zero_scales, nonfinite_scales, scale_name) = scale_health(&layer);
        let (rows, cols) = (layer.rows(), layer.cols());
        let (mut min, mut max, mut sum, mut sq) = (f32::INFINITY, f32::NEG_INFINITY, 0f64, 0f64);
        let (mut zeros, mut nonfinite) = (0usize, 0usize);
        let mut buf = vec![0f32; SLICE_ROWS.min(rows) * cols];
        let mut r0 = 0;
        while r0 < rows {
            let r = SLICE_ROWS.min(rows - r0);
            let out = &mut buf[..r * cols];
            crate::fast::dequant_rows_into(&layer, r0, out);
            for &v in out.iter() {
                if !v.is_finite() {
                    nonfinite += 1;
                    continue;
                }
                zeros += usize::from(v == 0.0);
                min = min.min(v);
                max = max.max(v);
                sum += f64::from(v);
                sq += f64::from(v) * f64::from(v);
            }
            r0 += r;
        }
        let finite = (rows * cols - nonfinite).max(1) as f64;
        if nonfinite_scales > 0 {
            report.diagnostics.push(
                Diagnostic::error(
                    "QNT019",
                    format!("{scale_name} holds {nonfinite_scales} NaN or infinite scale(s)"),
                )
                .tensor(scale_name.clone())
                .advice("every weight in those groups decodes to NaN/Inf; re-export the layer"),
            );
        }
        if zero_scales > 0 {
            report.diagnostics.push(
                Diagnostic::warning("QNT025", format!("{scale_name} holds {zero_scales} zero scale(s); those groups decode to all zeros"))
                    .tensor(scale_name.clone())
                    .advice("a zero scale usually means a dead or badly calibrated group; check the export"),
            );
        }
        if nonfinite > 0 {
            report.diagnostics.push(
                Diagnostic::error(
                    "QNT023",
                    format!("{prefix} decodes to {nonfinite} NaN or infinite weight(s)"),
                )
                .tensor(prefix.clone())
                .advice(
                    "the scales or codes are corrupt; compare with `safeweights dequant --oracle`",
                ),
            );
        }
        if zeros == rows * cols && rows * cols > 0 {
            report.diagnostics.push(
                Diagnostic::warning("QNT024", format!("{prefix} decodes to all zeros"))
                    .tensor(prefix.clone())
                    .advice("an all-zero Linear is almost always an export bug; check the source checkpoint"),
            );
        }
        report.layers.push(LayerStats {
            prefix: prefix.clone(),
            method: layer.method(),
            rows,
            cols,
            min: if nonfinite == rows * cols {
                f32::NAN
            } else {
                min
            },
            max: if nonfinite == rows * cols {
                f32::NAN
            } else {
                max
            },
            mean: sum / finite,
            rms: (sq / finite).sqrt(),
            zeros,
            nonfinite,
            zero_scales,
            nonfinite_scales,
        });
    }
    progress(prefixes.len(), prefixes.len(), "");
    report
}

/// Modules listed as unquantized must be plain float weights (F16/BF16/F32): QNT020 otherwise.
pub fn check_unquantized<'a, L: TensorLookup<'a>>(
    scheme: &QuantScheme,
    lookup: &L,
    tensor_names: &[&str],
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for name in tensor_names {
        let Some(prefix) = name.strip_suffix(".weight") else {
            continue;
        };
        let Some(pat) = scheme
            .unquantized_modules
            .iter()
            .find(|p| module_is_listed(p, prefix))
        else {
            continue;
        };
        let Some(t) = lookup.tensor(name) else {
            continue;
        };
        if ![Dtype::F16, Dtype::BF16, Dtype::F32].contains(&t.dtype) {
            diags.push(
                Diagnostic::error(
                    "QNT020",
                    format!("{name} is {} but `{pat}` lists {prefix} as unquantized (plain F16/BF16/F32 expected)", t.dtype),
                )
                .tensor(*name)
                .advice("store the module as a plain float weight or remove it from the unquantized list"),
            );
        }
    }
    diags
}

/// A progress callback for [`deep_check`] that draws an indicatif bar on stderr (for
/// `check --deep`); hidden automatically when stderr is not a terminal.
pub fn progress_bar() -> impl FnMut(usize, usize, &str) {
    let mut bar: Option<indicatif::ProgressBar> = None;
    move |done, total, prefix| {
        let b = bar.get_or_insert_with(|| {
            let b = indicatif::ProgressBar::new(total as u64);
            if let Ok(s) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}") {
                b.set_style(s);
            }
            b
        });
        b.set_position(done as u64);
        b.set_message(prefix.to_string());
        if done == total {
            b.finish_and_clear();
        }
    }
}
