//! `safeweights gen <FORMAT|model> --out PATH [...]`: writes spec-exact quantized fixtures,
//! deterministic from `--seed`.
//!
//! `gen FORMAT` writes a directory with one quantized Linear named `layer` (N x K from
//! `--shape`) and its config; `gen model --format FORMAT` writes a whole small model
//! (family, layers, shards, config location). `--mutate NAME` corrupts the first quantized
//! layer; `--reference FILE` also writes the quantizer's own reconstruction as F32 `weight`.

use super::{EXIT_OK, EXIT_USAGE};
use crate::container::Writer;
use crate::dtype::Dtype;
use crate::gen::model::{synthesize, ConfigLocation, GenFormat, GenModel, ModelSpec, QuantSpec};
use crate::gen::mutate::Mutator;
use crate::gen::rng::SplitMix64;
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `gen`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// `model`, or a format: gptq, gptq-v2, awq, int-pack, nvfp4-ct, nvfp4-modelopt, mxfp4,
    /// fp8-block, fp8-tensor, fp8-channel.
    what: String,
    /// Output directory.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// Seed of the deterministic generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Layer shape `N,K` (single-layer mode).
    #[arg(long, value_name = "N,K", default_value = "256,512")]
    shape: String,
    /// Group size (-1 = one group / per channel).
    #[arg(long, default_value_t = 128, allow_hyphen_values = true)]
    group: i64,
    /// Bits (GPTQ 2/3/4/8, int-pack 4/8).
    #[arg(long)]
    bits: Option<u32>,
    /// Asymmetric quantization (GPTQ, int-pack).
    #[arg(long)]
    asym: bool,
    /// Act-order: GPTQ desc_act / compressed-tensors actorder=group.
    #[arg(long)]
    act_order: bool,
    /// FP8 block `ROWS,COLS`.
    #[arg(long, value_name = "R,C", default_value = "128,128")]
    block: String,
    /// Format of `gen model`.
    #[arg(long, default_value = "gptq")]
    format: String,
    /// Where the quantization config goes: quantization-config, compression-config,
    /// text-config, side-file.
    #[arg(long, default_value = "quantization-config")]
    location: String,
    /// Model family (`gen model`): llama, qwen2, mistral; gpt_oss for mxfp4.
    #[arg(long)]
    family: Option<String>,
    /// Decoder layers (`gen model`).
    #[arg(long, default_value_t = 2)]
    layers: usize,
    /// hidden_size (`gen model`).
    #[arg(long, default_value_t = 256)]
    hidden: usize,
    /// intermediate_size (`gen model`).
    #[arg(long, default_value_t = 512)]
    intermediate: usize,
    /// Experts (`gen model --format mxfp4`).
    #[arg(long, default_value_t = 4)]
    experts: usize,
    /// Shards.
    #[arg(long, default_value_t = 1)]
    shards: usize,
    /// Corrupt the first quantized layer with this mutator (see docs/quant-notes.md).
    #[arg(long, value_name = "NAME")]
    mutate: Option<String>,
    /// Also write the quantizer's reconstruction of the first quantized layer here.
    #[arg(long, value_name = "FILE")]
    reference: Option<PathBuf>,
}

fn pair(s: &str, what: &str) -> Result<(usize, usize), String> {
    let (a, b) = s
        .split_once(',')
        .ok_or_else(|| format!("{what} must be A,B"))?;
    let p = |x: &str| {
        x.trim()
            .parse::<usize>()
            .map_err(|e| format!("{what}: {e}"))
    };
    Ok((p(a)?, p(b)?))
}

fn build(args: &Args) -> Result<(GenModel, GenFormat), String> {
    let fmt_name = if args.what == "model" {
        args.format.as_str()
    } else {
        args.what.as_str()
    };
    let format = GenFormat::from_name(fmt_name).ok_or_else(|| {
        let all: Vec<&str> = GenFormat::ALL.iter().map(|f| f.name()).collect();
        format!(
            "unknown format `{fmt_name}` (one of: model, {})",
            all.join(", ")
        )
    })?;
    let location = ConfigLocation::from_name(&args.location)
        .ok_or_else(|| format!("unknown --location `{}`", args.location))?;
    let mut quant = QuantSpec::new(format);
    quant.group_size = args.group;
    quant.sym = !args.asym;
    quant.act_order = args.act_order;
    if let Some(b) = args.bits {
        quant.bits = b;
    }
    let (br, bc) = pair(&args.block, "--block")?;
    quant.block = [br, bc];
    let mut spec = ModelSpec {
        family: args.family.clone().unwrap_or_else(|| {
            if format == GenFormat::Mxfp4 {
                "gpt_oss".into()
            } else {
                "llama".into()
            }
        }),
        layers: args.layers,
        hidden: args.hidden,
        intermediate: args.intermediate,
        vocab: 320,
        experts: args.experts,
        shards: args.shards,
        location,
        quant,
        seed: args.seed,
    };
    let model = if args.what == "model" {
        synthesize(&spec).map_err(|d| d.to_string())?
    } else {
        let (n, k) = pair(&args.shape, "--shape")?;
        spec.layers = 0;
        let mut m = synthesize(&spec).map_err(|d| d.to_string())?;
        let mut rng = SplitMix64::new(args.seed ^ 0x5EED);
        let w = rng.weights(n, k, 0.05);
        let l = quant
            .quantize("layer", &w, 1, n, k, &mut rng)
            .map_err(|d| d.to_string())?;
        m.tensors
            .retain(|t| !t.name.starts_with("model.") && t.name != "lm_head.weight");
        m.tensors.extend(l.tensors);
        m.tensors.sort_by(|a, b| a.name.cmp(&b.name));
        m.recon.insert("layer".into(), l.recon);
        m
    };
    Ok((model, format))
}

/// Runs `gen`; returns the exit code.
pub fn run(args: Args) -> u8 {
    let (mut model, format) = match build(&args) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let target = model.recon.keys().next().cloned().unwrap_or_default();
    if let Some(name) = &args.mutate {
        let Some(m) = Mutator::from_name(name) else {
            let all: Vec<&str> = Mutator::ALL.iter().map(|m| m.name()).collect();
            eprintln!(
                "error: unknown mutator `{name}` (one of: {})",
                all.join(", ")
            );
            return EXIT_USAGE;
        };
        if let Err(d) = m.apply(&mut model, format, &target) {
            eprintln!("{d}");
            return EXIT_USAGE;
        }
    }
    if let Err(d) = model.write(&args.out) {
        eprintln!("{d}");
        return EXIT_USAGE;
    }
    if let Some(path) = &args.reference {
        let recon = &model.recon[&target];
        let k = reference_cols(&model, &target, recon.len());
        let bytes: Vec<u8> = recon.iter().flat_map(|x| x.to_le_bytes()).collect();
        let mut w = Writer::new();
        w.metadata("source_layer", target.as_str());
        let added = w
            .add(
                "weight",
                Dtype::F32,
                vec![(recon.len() / k) as u64, k as u64],
                bytes,
            )
            .map(|_| ());
        if let Err(e) = added.and_then(|()| w.write_atomic(path)) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return EXIT_USAGE;
        }
    }
    let layers = model.recon.len();
    println!(
        "{}",
        json!({"out": args.out.display().to_string(), "format": format.name(), "quantized_layers": layers,
               "tensors": model.tensors.len(), "shards": model.shards, "seed": args.seed, "mutator": args.mutate,
               "first_layer": target})
    );
    EXIT_OK
}

/// K of the quantizer's reconstruction of `prefix`, read from the layer's tensors.
fn reference_cols(model: &GenModel, prefix: &str, len: usize) -> usize {
    let find = |s: &str| model.tensors.iter().find(|t| t.name == s);
    let k = if let Some(t) = find(&format!("{prefix}.weight_shape")) {
        i64::from_le_bytes(t.bytes[8..16].try_into().unwrap_or([0; 8])) as usize
    } else if let Some(t) = find(&format!("{prefix}.g_idx")) {
        t.shape[0] as usize
    } else if let Some(t) = find(&format!("{prefix}_blocks")) {
        t.shape[t.shape.len() - 2] as usize * 32
    } else if let Some(t) = find(&format!("{prefix}.qweight")) {
        t.shape[0] as usize // AWQ qweight is [K, N/8]
    } else if let Some(t) =
        find(&format!("{prefix}.weight_packed")).or_else(|| find(&format!("{prefix}.weight")))
    {
        if t.dtype == Dtype::U8 {
            t.shape[1] as usize * 2
        } else {
            t.shape[1] as usize
        }
    } else {
        len
    };
    k.max(1)
}
