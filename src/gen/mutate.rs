//! Named mutators: each corrupts a synthesized model in one way real exports go wrong.
//! `tests/quant_mutators.rs` shows every one is caught, by a diagnostic or by an oracle
//! mismatch; docs/quant-notes.md lists those the files alone cannot reveal.

use super::model::{GenFormat, GenModel};
use crate::diag::Diagnostic;
use crate::dtype::Dtype;
use serde_json::{json, Value};

/// One corruption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutator {
    /// Swap the two nibbles of every packed byte (or every nibble pair of packed words).
    SwapNibbles,
    /// Remove `g_idx` / `weight_g_idx` from an act-order layer.
    MissingGIdx,
    /// Set one g_idx entry to the number of groups (out of range).
    GIdxOutOfRange,
    /// Store the scale tensor transposed (shape and data).
    TransposedScale,
    /// Store NVFP4 block scales as U8 instead of F8_E4M3 (the MXFP4 misroute).
    U8Scale,
    /// NaN global scale.
    NanGlobalScale,
    /// Zero global scale.
    ZeroGlobalScale,
    /// Flip the config's GPTQ checkpoint_format between gptq and gptq_v2.
    V1V2Confusion,
    /// Drop checkpoint_format from a gptq_v2 config (reads as v1): undetectable in the files.
    V2WithoutHint,
    /// Double the configured group size.
    WrongGroupSize,
    /// Set one MXFP4 E8M0 scale to 0xFF (NaN).
    NanMxScale,
    /// Set one FP8 scale to +Inf.
    InfFp8Scale,
    /// Delete a required tensor (qzeros, weight_scale, `_scales`, ...).
    MissingTensor,
    /// Rename the NVFP4 global scale to the other convention's name.
    ScaleConventionSwap,
    /// Store lm_head (listed unquantized) as raw bytes instead of a float weight.
    QuantizedIgnoredModule,
    /// Add a side file naming a different method than config.json.
    ConflictingSideFile,
}

impl Mutator {
    /// Every mutator.
    pub const ALL: [Mutator; 16] = [
        Mutator::SwapNibbles,
        Mutator::MissingGIdx,
        Mutator::GIdxOutOfRange,
        Mutator::TransposedScale,
        Mutator::U8Scale,
        Mutator::NanGlobalScale,
        Mutator::ZeroGlobalScale,
        Mutator::V1V2Confusion,
        Mutator::V2WithoutHint,
        Mutator::WrongGroupSize,
        Mutator::NanMxScale,
        Mutator::InfFp8Scale,
        Mutator::MissingTensor,
        Mutator::ScaleConventionSwap,
        Mutator::QuantizedIgnoredModule,
        Mutator::ConflictingSideFile,
    ];

    /// CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Mutator::SwapNibbles => "swap-nibbles",
            Mutator::MissingGIdx => "missing-g-idx",
            Mutator::GIdxOutOfRange => "g-idx-out-of-range",
            Mutator::TransposedScale => "transposed-scale",
            Mutator::U8Scale => "u8-scale",
            Mutator::NanGlobalScale => "nan-global-scale",
            Mutator::ZeroGlobalScale => "zero-global-scale",
            Mutator::V1V2Confusion => "v1-v2-confusion",
            Mutator::V2WithoutHint => "v2-without-hint",
            Mutator::WrongGroupSize => "wrong-group-size",
            Mutator::NanMxScale => "nan-mx-scale",
            Mutator::InfFp8Scale => "inf-fp8-scale",
            Mutator::MissingTensor => "missing-tensor",
            Mutator::ScaleConventionSwap => "scale-convention-swap",
            Mutator::QuantizedIgnoredModule => "quantized-ignored-module",
            Mutator::ConflictingSideFile => "conflicting-side-file",
        }
    }

    /// Parses a CLI name.
    pub fn from_name(s: &str) -> Option<Mutator> {
        Mutator::ALL.into_iter().find(|m| m.name() == s)
    }

    /// Whether the mutator applies to models of `format` built with act-order `act_order`.
    pub fn applies_to(self, format: GenFormat, act_order: bool) -> bool {
        use GenFormat::*;
        match self {
            Mutator::SwapNibbles => matches!(
                format,
                GptqV1 | GptqV2 | Awq | IntPack | Nvfp4Ct | Nvfp4ModelOpt | Mxfp4
            ),
            Mutator::MissingGIdx => act_order && matches!(format, GptqV1 | GptqV2 | IntPack),
            Mutator::GIdxOutOfRange => {
                matches!(format, GptqV1 | GptqV2) || (act_order && format == IntPack)
            }
            Mutator::TransposedScale => !matches!(format, Fp8Tensor | Mxfp4),
            Mutator::U8Scale => matches!(format, Nvfp4Ct | Nvfp4ModelOpt),
            Mutator::NanGlobalScale | Mutator::ZeroGlobalScale | Mutator::ScaleConventionSwap => {
                matches!(format, Nvfp4Ct | Nvfp4ModelOpt)
            }
            Mutator::V1V2Confusion | Mutator::V2WithoutHint => {
                format == GptqV2 || (self == Mutator::V1V2Confusion && format == GptqV1)
            }
            Mutator::WrongGroupSize => matches!(format, GptqV1 | GptqV2 | Awq | IntPack),
            Mutator::NanMxScale => format == Mxfp4,
            Mutator::InfFp8Scale => matches!(format, Fp8Block | Fp8Tensor | Fp8Channel),
            Mutator::MissingTensor
            | Mutator::QuantizedIgnoredModule
            | Mutator::ConflictingSideFile => true,
        }
    }

    /// Applies the mutation to the first quantized layer (`target`) of `model`.
    pub fn apply(
        self,
        model: &mut GenModel,
        format: GenFormat,
        target: &str,
    ) -> Result<(), Diagnostic> {
        let na = || {
            Diagnostic::error(
                "GEN004",
                format!(
                    "mutator {} does not apply to {}",
                    self.name(),
                    format.name()
                ),
            )
            .advice("choose a mutator listed for this format in docs/quant-notes.md")
        };
        let sep = if format == GenFormat::Mxfp4 { "_" } else { "." };
        let name = |s: &str| format!("{target}{sep}{s}");
        let qcfg = quant_config_mut(model);
        match self {
            Mutator::SwapNibbles => {
                let packed = ["qweight", "weight_packed", "weight", "blocks"]
                    .iter()
                    .map(|s| name(s))
                    .find(|n| {
                        model
                            .tensors
                            .iter()
                            .any(|t| &t.name == n && matches!(t.dtype, Dtype::U8 | Dtype::I32))
                    })
                    .ok_or_else(na)?;
                // Swapping the nibbles of each byte swaps adjacent 4-bit fields (and scrambles
                // 2-, 3- and 8-bit fields), as a writer with the wrong nibble order would.
                let t = model.tensor_mut(&packed).expect("found above");
                for b in t.bytes.iter_mut() {
                    *b = b.rotate_left(4);
                }
            }
            Mutator::MissingGIdx => {
                let before = model.tensors.len();
                model
                    .tensors
                    .retain(|t| t.name != name("g_idx") && t.name != name("weight_g_idx"));
                if model.tensors.len() == before {
                    return Err(na());
                }
            }
            Mutator::GIdxOutOfRange => {
                let scales = model
                    .tensors
                    .iter()
                    .find(|t| t.name == name("scales") || t.name == name("weight_scale"))
                    .ok_or_else(na)?;
                let groups = if scales.name.ends_with(".scales") {
                    scales.shape[0]
                } else {
                    scales.shape[1]
                } as i32;
                let t = model
                    .tensors
                    .iter_mut()
                    .find(|t| t.name == name("g_idx") || t.name == name("weight_g_idx"))
                    .ok_or_else(na)?;
                t.bytes[..4].copy_from_slice(&groups.to_le_bytes());
            }
            Mutator::TransposedScale => {
                let t = ["scales", "weight_scale", "weight_scale_inv"]
                    .iter()
                    .map(|s| name(s))
                    .find_map(|n| {
                        model
                            .tensors
                            .iter()
                            .position(|t| t.name == n && t.shape.len() == 2)
                    })
                    .ok_or_else(na)?;
                let t = &mut model.tensors[t];
                let (r, c) = (t.shape[0] as usize, t.shape[1] as usize);
                let es = t.dtype.bits() as usize / 8;
                let mut out = vec![0u8; t.bytes.len()];
                for i in 0..r {
                    for j in 0..c {
                        out[(j * r + i) * es..(j * r + i + 1) * es]
                            .copy_from_slice(&t.bytes[(i * c + j) * es..(i * c + j + 1) * es]);
                    }
                }
                t.bytes = out;
                t.shape = vec![c as u64, r as u64];
                if r == c {
                    return Err(na());
                }
            }
            Mutator::U8Scale => {
                let t = model.tensor_mut(&name("weight_scale")).ok_or_else(na)?;
                t.dtype = Dtype::U8;
            }
            Mutator::NanGlobalScale | Mutator::ZeroGlobalScale => {
                let v = if self == Mutator::NanGlobalScale {
                    f32::NAN
                } else {
                    0.0
                };
                let t = model
                    .tensors
                    .iter_mut()
                    .find(|t| {
                        t.name == name("weight_global_scale") || t.name == name("weight_scale_2")
                    })
                    .ok_or_else(na)?;
                t.bytes = v.to_le_bytes().to_vec();
            }
            Mutator::V1V2Confusion | Mutator::V2WithoutHint => {
                let q = qcfg.ok_or_else(na)?;
                let cur = q
                    .get("checkpoint_format")
                    .and_then(Value::as_str)
                    .unwrap_or("gptq")
                    .to_string();
                if self == Mutator::V2WithoutHint {
                    q.as_object_mut()
                        .ok_or_else(na)?
                        .remove("checkpoint_format");
                } else {
                    q["checkpoint_format"] = json!(if cur == "gptq" { "gptq_v2" } else { "gptq" });
                }
            }
            Mutator::WrongGroupSize => {
                let q = qcfg.ok_or_else(na)?;
                let (obj, key) = if let Some(w) = q.pointer_mut("/config_groups/group_0/weights") {
                    (w, "group_size")
                } else if q.get("q_group_size").is_some() {
                    (q, "q_group_size")
                } else {
                    (q, "group_size")
                };
                let g = obj.get(key).and_then(Value::as_i64).ok_or_else(na)?;
                obj[key] = json!(if g > 0 { g * 2 } else { 16 });
            }
            Mutator::NanMxScale => {
                let t = model.tensor_mut(&name("scales")).ok_or_else(na)?;
                t.bytes[0] = 0xFF;
            }
            Mutator::InfFp8Scale => {
                let t = model
                    .tensors
                    .iter_mut()
                    .find(|t| t.name == name("weight_scale_inv") || t.name == name("weight_scale"))
                    .ok_or_else(na)?;
                t.bytes[..4].copy_from_slice(&f32::INFINITY.to_le_bytes());
            }
            Mutator::MissingTensor => {
                let victim = ["qzeros", "weight_scale", "scales", "weight_scale_inv"]
                    .iter()
                    .map(|s| name(s))
                    .find(|n| model.tensors.iter().any(|t| &t.name == n))
                    .ok_or_else(na)?;
                model.tensors.retain(|t| t.name != victim);
            }
            Mutator::ScaleConventionSwap => {
                let t = model
                    .tensors
                    .iter_mut()
                    .find(|t| {
                        t.name == name("weight_global_scale") || t.name == name("weight_scale_2")
                    })
                    .ok_or_else(na)?;
                t.name = if t.name.ends_with("weight_global_scale") {
                    name("weight_scale_2")
                } else {
                    name("weight_global_scale")
                };
                model.tensors.sort_by(|a, b| a.name.cmp(&b.name));
            }
            Mutator::QuantizedIgnoredModule => {
                let t = model.tensor_mut("lm_head.weight").ok_or_else(na)?;
                t.dtype = Dtype::U8;
                t.shape[1] *= 2;
            }
            Mutator::ConflictingSideFile => {
                let (file, v) = if matches!(format, GenFormat::GptqV1 | GenFormat::GptqV2) {
                    (
                        "quant_config.json",
                        json!({"zero_point": true, "q_group_size": 128, "w_bit": 4, "version": "GEMM"}),
                    )
                } else {
                    (
                        "quantize_config.json",
                        json!({"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": false}),
                    )
                };
                model.side_files.retain(|(n, _)| n != file);
                model.side_files.push((file.to_string(), v));
            }
        }
        Ok(())
    }
}

/// The quantization config object wherever it lives (config.json keys or the side file).
fn quant_config_mut(model: &mut GenModel) -> Option<&mut Value> {
    if model.config.get("quantization_config").is_some() {
        return model.config.get_mut("quantization_config");
    }
    if model.config.get("compression_config").is_some() {
        return model.config.get_mut("compression_config");
    }
    if model
        .config
        .pointer("/text_config/quantization_config")
        .is_some()
    {
        return model.config.pointer_mut("/text_config/quantization_config");
    }
    model.side_files.first_mut().map(|(_, v)| v)
}
