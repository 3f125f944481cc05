//! Target `quant_bind`: a layer quantized by the generators (`gen::model::QuantSpec`, every
//! format, small random shapes and settings), its config detected, then random edits of
//! the config and the tensors (shapes, dtypes, lengths, bytes, missing or renamed
//! tensors). Binding must never panic; a bound layer decodes with the oracle and the fast
//! path without panicking, indexing out of bounds or overflowing, and the two agree bit
//! for bit; an unedited layer binds and decodes to the quantizer's own reconstruction.
//!
//! Shared by `fuzz/fuzz_targets/quant_bind.rs` and `tests/fuzz_regressions.rs` (`#[path]`).

use arbitrary::Arbitrary;
use safeweights::dtype::Dtype;
use safeweights::gen::model::{GenFormat, QuantSpec};
use safeweights::gen::rng::SplitMix64;
use safeweights::quant::{bind, detect_from, layer_prefixes, OwnedTensor, SideFiles};
use serde_json::{json, Value};

/// One edit of the quantized tensors.
#[derive(Debug, Arbitrary)]
pub enum Edit {
    /// Set one dimension.
    Dim {
        /// Tensor index.
        t: u8,
        /// Dimension index.
        d: u8,
        /// New value (small, or a huge power of two).
        v: DimValue,
    },
    /// Append or drop a dimension.
    Rank {
        /// Tensor index.
        t: u8,
        /// Append (true) or pop (false).
        grow: bool,
    },
    /// Change the dtype.
    Dtype {
        /// Tensor index.
        t: u8,
        /// Index into `Dtype::ALL`.
        d: u8,
    },
    /// Cut bytes off the end.
    Truncate {
        /// Tensor index.
        t: u8,
        /// Bytes to drop.
        by: u16,
    },
    /// Append bytes.
    Extend {
        /// Tensor index.
        t: u8,
        /// Bytes to add.
        bytes: Vec<u8>,
    },
    /// Overwrite bytes (random scales, zeros, g_idx, codes: NaN, Inf, out-of-range).
    Bytes {
        /// Tensor index.
        t: u8,
        /// Where.
        at: u16,
        /// What.
        bytes: Vec<u8>,
    },
    /// Delete a tensor.
    Remove {
        /// Tensor index.
        t: u8,
    },
    /// Rename a tensor to another tensor's suffix convention.
    Rename {
        /// Tensor index.
        t: u8,
        /// Suffix index.
        s: u8,
    },
}

/// A dimension value.
#[derive(Debug, Arbitrary)]
pub enum DimValue {
    /// 0..=255.
    Small(u8),
    /// 2^k.
    Pow2(u8),
    /// Anything.
    Raw(u64),
}

/// One config edit: a key of the quantization config set to a value.
#[derive(Debug, Arbitrary)]
pub struct ConfigEdit {
    /// Index into the interesting keys.
    pub key: u8,
    /// New value.
    pub value: i64,
}

/// The whole input.
#[derive(Debug, Arbitrary)]
pub struct Input {
    /// Index into `GenFormat::ALL`.
    pub format: u8,
    /// Bits choice.
    pub bits: u8,
    /// Group size choice.
    pub group: u8,
    /// Symmetric.
    pub sym: bool,
    /// Act-order.
    pub act_order: bool,
    /// FP8 block choice.
    pub block: u8,
    /// Rows choice.
    pub n: u8,
    /// Columns choice.
    pub k: u8,
    /// Experts (MXFP4).
    pub experts: u8,
    /// Weight seed.
    pub seed: u64,
    /// Config edits.
    pub config_edits: Vec<ConfigEdit>,
    /// Tensor edits.
    pub edits: Vec<Edit>,
}

const SUFFIXES: [&str; 12] = [
    "qweight",
    "qzeros",
    "scales",
    "g_idx",
    "weight_packed",
    "weight_scale",
    "weight_zero_point",
    "weight_g_idx",
    "weight_global_scale",
    "weight_scale_2",
    "weight_scale_inv",
    "weight",
];

const CONFIG_KEYS: [&str; 8] = [
    "bits",
    "group_size",
    "weight_block_size",
    "num_bits",
    "desc_act",
    "sym",
    "checkpoint_format",
    "w_bit",
];

fn set_key(v: &mut Value, key: &str, value: &Value) {
    match v {
        Value::Object(o) => {
            if o.contains_key(key) {
                o.insert(key.to_string(), value.clone());
            }
            for x in o.values_mut() {
                set_key(x, key, value);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| set_key(x, key, value)),
        _ => {}
    }
}

/// Equal as bits, or both NaN.
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// The check: see the module documentation.
pub fn run(input: Input) {
    let format = GenFormat::ALL[input.format as usize % GenFormat::ALL.len()];
    let mut spec = QuantSpec::new(format);
    spec.bits = match format {
        GenFormat::GptqV1 | GenFormat::GptqV2 => [2, 3, 4, 8][input.bits as usize % 4],
        GenFormat::IntPack => [4, 8][input.bits as usize % 2],
        _ => spec.bits,
    };
    spec.group_size = [16, 32, 64, 128, -1][input.group as usize % 5];
    spec.sym = input.sym;
    spec.act_order = input.act_order;
    spec.block = [[16, 16], [32, 16], [16, 32], [128, 128]][input.block as usize % 4];
    let n = 8 * (1 + input.n as usize % 8);
    let k = 16 * (1 + input.k as usize % 8);
    let experts = if format == GenFormat::Mxfp4 {
        1 + input.experts as usize % 3
    } else {
        1
    };
    let prefix = if format == GenFormat::Mxfp4 {
        "model.layers.0.mlp.experts.gate_up_proj"
    } else {
        "model.layers.0.mlp.down_proj"
    };
    let mut rng = SplitMix64::new(input.seed);
    let w = rng.weights(experts * n, k, 0.05);
    let Ok(layer) = spec.quantize(prefix, &w, experts, n, k, &mut rng) else {
        return; // a shape or group size the format does not allow
    };

    let mut q = spec.config_json(&[], false);
    for e in input.config_edits.iter().take(4) {
        let value = match CONFIG_KEYS[e.key as usize % CONFIG_KEYS.len()] {
            "weight_block_size" => json!([e.value, e.value]),
            "desc_act" | "sym" => json!(e.value % 2 == 0),
            "checkpoint_format" => {
                json!(["gptq", "gptq_v2", "marlin"][e.value.rem_euclid(3) as usize])
            }
            _ => json!(e.value),
        };
        set_key(
            &mut q,
            CONFIG_KEYS[e.key as usize % CONFIG_KEYS.len()],
            &value,
        );
    }
    let config = json!({ "quantization_config": q });

    let mut tensors: Vec<OwnedTensor> = layer.tensors.clone();
    let unedited = input.edits.is_empty() && input.config_edits.is_empty();
    for e in input.edits.iter().take(8) {
        if tensors.is_empty() {
            break;
        }
        let len = tensors.len();
        let pick = |t: u8| t as usize % len;
        match e {
            Edit::Dim { t, d, v } => {
                let t = &mut tensors[pick(*t)];
                if !t.shape.is_empty() {
                    let i = *d as usize % t.shape.len();
                    t.shape[i] = match v {
                        DimValue::Small(x) => u64::from(*x),
                        DimValue::Pow2(p) => 1u64 << (p % 64),
                        DimValue::Raw(x) => *x,
                    };
                }
            }
            Edit::Rank { t, grow } => {
                let t = &mut tensors[pick(*t)];
                if *grow {
                    t.shape.push(1);
                } else {
                    t.shape.pop();
                }
            }
            Edit::Dtype { t, d } => {
                let i = pick(*t);
                tensors[i].dtype = Dtype::ALL[*d as usize % Dtype::ALL.len()];
            }
            Edit::Truncate { t, by } => {
                let t = &mut tensors[pick(*t)];
                let keep = t.bytes.len().saturating_sub(*by as usize);
                t.bytes.truncate(keep);
            }
            Edit::Extend { t, bytes } => {
                let i = pick(*t);
                tensors[i].bytes.extend_from_slice(bytes);
            }
            Edit::Bytes { t, at, bytes } => {
                let t = &mut tensors[pick(*t)];
                if !t.bytes.is_empty() {
                    let start = *at as usize % t.bytes.len();
                    for (dst, src) in t.bytes[start..].iter_mut().zip(bytes) {
                        *dst = *src;
                    }
                }
            }
            Edit::Remove { t } => {
                let i = pick(*t);
                tensors.remove(i);
            }
            Edit::Rename { t, s } => {
                let i = pick(*t);
                let suffix = SUFFIXES[*s as usize % SUFFIXES.len()];
                tensors[i].name = if format == GenFormat::Mxfp4 {
                    format!("{prefix}_{suffix}")
                } else {
                    format!("{prefix}.{suffix}")
                };
            }
        }
    }

    let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    let (scheme, _) = detect_from(&config, &SideFiles::default(), &names);
    let Some(scheme) = scheme else {
        assert!(!unedited, "the generator's own config is not detected");
        return;
    };
    let lookup: &[OwnedTensor] = &tensors;
    let prefixes = layer_prefixes(&scheme, &names);
    if unedited {
        assert_eq!(prefixes, vec![prefix.to_string()], "layer prefixes");
    }
    for p in &prefixes {
        let (bound, diags) = bind(&scheme, p, &lookup);
        let Some(bound) = bound else {
            assert!(!unedited, "an unedited layer does not bind: {diags:?}");
            continue;
        };
        let oracle = safeweights::oracle::dequant(&bound);
        let fast = safeweights::fast::dequant(&bound);
        assert_eq!(oracle.len(), bound.rows() * bound.cols(), "oracle length");
        assert_eq!(fast.len(), oracle.len(), "fast path length");
        if let Some(i) = (0..oracle.len()).find(|&i| !same(oracle[i], fast[i])) {
            panic!(
                "fast path differs from the oracle at {i}: {} vs {}",
                fast[i], oracle[i]
            );
        }
        if unedited {
            assert_eq!(oracle.len(), layer.recon.len(), "reconstruction length");
            assert!(
                oracle.iter().zip(&layer.recon).all(|(a, b)| same(*a, *b)),
                "oracle differs from the quantizer's reconstruction"
            );
        }
    }
}
