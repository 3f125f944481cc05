//! quantize -> write -> open -> detect -> bind -> oracle == the quantizer's reconstruction,
//! bit for bit, and fast == oracle, for every format, config location and random shapes.

use proptest::prelude::*;
use safeweights::gen::model::{synthesize, ConfigLocation, GenFormat, ModelSpec};
use safeweights::quant::files::ModelFiles;
use safeweights::quant::{bind, detect, layer_prefixes, Method, QuantReport};
use safeweights::{fast, oracle};

fn bits_of(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Writes, reopens and checks every quantized layer; returns the detected report.
fn round_trip(spec: &ModelSpec) -> Result<QuantReport, TestCaseError> {
    let model = synthesize(spec).map_err(|d| TestCaseError::fail(d.to_string()))?;
    let dir = tempfile::tempdir().unwrap();
    model
        .write(dir.path())
        .map_err(|d| TestCaseError::fail(d.to_string()))?;
    let files = ModelFiles::open(dir.path()).map_err(|d| TestCaseError::fail(d.to_string()))?;
    let names = files.names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (scheme, diags) = detect(&files.config, dir.path(), &names);
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect();
    prop_assert!(errors.is_empty(), "{:?}: {errors:?}", spec.quant.format);
    let scheme = scheme.expect("quantized model detected");
    let prefixes = layer_prefixes(&scheme, &names);
    prop_assert_eq!(
        prefixes.to_vec(),
        model.recon.keys().cloned().collect::<Vec<_>>()
    );
    let lookup = files.lookup();
    for p in &prefixes {
        let (layer, diags) = bind(&scheme, p, &lookup);
        prop_assert!(diags.is_empty(), "{p}: {diags:?}");
        let layer = layer.unwrap();
        let o = oracle::dequant(&layer);
        prop_assert!(
            bits_of(&o) == bits_of(&model.recon[p]),
            "oracle != quantizer recon for {p} ({:?})",
            spec.quant.format
        );
        prop_assert!(
            bits_of(&fast::dequant(&layer)) == bits_of(&o),
            "fast != oracle for {p}"
        );
    }
    Ok(QuantReport::new(Some(&scheme), prefixes.len()))
}

#[test]
fn every_format_in_every_legal_location() {
    for format in GenFormat::ALL {
        for &location in format.legal_locations() {
            let mut spec = ModelSpec::small(format, 11);
            spec.location = location;
            let report =
                round_trip(&spec).unwrap_or_else(|e| panic!("{format:?} {location:?}: {e}"));
            let want = match format {
                GenFormat::GptqV1 | GenFormat::GptqV2 => Method::Gptq,
                GenFormat::Awq => Method::Awq,
                GenFormat::IntPack => Method::IntPack,
                GenFormat::Nvfp4Ct | GenFormat::Nvfp4ModelOpt => Method::Nvfp4,
                GenFormat::Mxfp4 => Method::Mxfp4,
                _ => Method::Fp8,
            };
            assert_eq!(report.method, want, "{format:?} {location:?}");
            assert!(report.supported);
            assert_eq!(
                report.layers,
                if format == GenFormat::Mxfp4 { 4 } else { 14 }
            );
            // AutoGPTQ's quantize_config.json and AutoAWQ's quant_config.json carry no module list.
            let legacy_side_file =
                location == ConfigLocation::SideFile && format != GenFormat::Nvfp4ModelOpt;
            assert_eq!(
                report.unquantized_modules.iter().any(|m| m == "lm_head"),
                !legacy_side_file,
                "{format:?} {location:?}"
            );
            let json = serde_json::to_value(&report).unwrap();
            for key in [
                "method",
                "producer",
                "bits",
                "group_size",
                "desc_act",
                "sym",
                "checkpoint_format",
                "scale_convention",
                "source",
                "unquantized_modules",
                "layers",
                "supported",
            ] {
                assert!(json.get(key).is_some(), "report lacks {key}");
            }
            let expected_source = match location {
                ConfigLocation::QuantizationConfig => "config.json:quantization_config",
                ConfigLocation::CompressionConfig => "config.json:compression_config",
                ConfigLocation::TextConfig => "config.json:text_config.quantization_config",
                ConfigLocation::SideFile => match format {
                    GenFormat::Awq => "quant_config.json",
                    GenFormat::Nvfp4ModelOpt => "hf_quant_config.json",
                    _ => "quantize_config.json",
                },
            };
            assert_eq!(report.source, expected_source);
        }
    }
}

/// Shapes per format: (hidden, intermediate) legal for it, with ragged K where allowed.
fn dims(format: GenFormat, bits: u32, a: usize, b: usize) -> (usize, usize) {
    let unit = match format {
        GenFormat::GptqV1 | GenFormat::GptqV2 if bits == 3 => 32,
        GenFormat::GptqV1 | GenFormat::GptqV2 => (32 / bits) as usize,
        GenFormat::Awq => 8,
        GenFormat::Nvfp4Ct | GenFormat::Nvfp4ModelOpt => 16,
        GenFormat::Mxfp4 => 32,
        // ragged: any size
        _ => 1,
    };
    let lo = if unit == 1 { 3 } else { 1 };
    (
        unit * (lo + a % (96 / unit.min(32)).max(1)),
        unit * (lo + b % (128 / unit.min(32)).max(1)),
    )
}

/// `picks` = [a, b, bits_pick, group_pick]: raw random numbers mapped onto legal choices.
fn random_spec(format: GenFormat, seed: u64, picks: [usize; 4], act: bool, sym: bool) -> ModelSpec {
    let [a, b, bits_pick, group_pick] = picks;
    let mut spec = ModelSpec::small(format, seed);
    spec.layers = 1;
    spec.shards = 1 + (seed % 3) as usize;
    spec.experts = 1 + (seed % 2) as usize;
    spec.quant.bits = match format {
        GenFormat::GptqV1 | GenFormat::GptqV2 => [2, 3, 4, 8][bits_pick % 4],
        GenFormat::IntPack => [4, 8][bits_pick % 2],
        _ => spec.quant.bits,
    };
    let (h, i) = dims(format, spec.quant.bits, a, b);
    spec.hidden = h;
    spec.intermediate = i;
    spec.quant.act_order = act;
    spec.quant.sym = sym;
    spec.quant.group_size = match format {
        // AWQ needs G | K for every Linear: -1, or a divisor of gcd(h, i)
        GenFormat::Awq => {
            let g = gcd(h, i);
            let divisors: Vec<i64> = (1..=g).filter(|d| g % d == 0).map(|d| d as i64).collect();
            if group_pick % 3 == 0 {
                -1
            } else {
                divisors[group_pick % divisors.len()]
            }
        }
        _ if group_pick % 3 == 0 => -1,
        _ => 1 + (group_pick % 70) as i64,
    };
    spec.quant.block = [1 + group_pick % 40, 1 + (group_pick / 7) % 40];
    spec
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn random_shapes_round_trip_exactly(
        f in 0..GenFormat::ALL.len(), seed in any::<u64>(), a in 0usize..1000, b in 0usize..1000,
        bits_pick in 0usize..4, group_pick in 0usize..1000, act in any::<bool>(), sym in any::<bool>(),
    ) {
        let format = GenFormat::ALL[f];
        let spec = random_spec(format, seed, [a, b, bits_pick, group_pick], act, sym);
        round_trip(&spec)?;
    }
}

/// Every format gets its own modest batch of random cases (the mixed property above samples
/// formats at random; this makes sure none is starved).
#[test]
fn each_format_random_shapes() {
    let mut rng = safeweights::gen::rng::SplitMix64::new(2024);
    for format in GenFormat::ALL {
        for _ in 0..6 {
            let r = |rng: &mut safeweights::gen::rng::SplitMix64| rng.below(1000);
            let spec = random_spec(
                format,
                rng.next_u64(),
                [r(&mut rng), r(&mut rng), r(&mut rng), r(&mut rng)],
                rng.below(2) == 0,
                rng.below(2) == 0,
            );
            round_trip(&spec).unwrap_or_else(|e| {
                panic!(
                    "{format:?} h={} i={} {:?}: {e}",
                    spec.hidden, spec.intermediate, spec.quant
                )
            });
        }
    }
}

#[test]
fn generators_are_deterministic_from_the_seed() {
    for format in GenFormat::ALL {
        let a = synthesize(&ModelSpec::small(format, 77)).unwrap();
        let b = synthesize(&ModelSpec::small(format, 77)).unwrap();
        let c = synthesize(&ModelSpec::small(format, 78)).unwrap();
        assert_eq!(a.tensors, b.tensors, "{format:?}");
        assert_eq!(a.config, b.config);
        assert_ne!(a.tensors, c.tensors, "{format:?}: the seed must matter");
    }
}
