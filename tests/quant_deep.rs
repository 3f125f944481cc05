//! `check --deep` library side: statistics per layer, zero / non-finite scales, all-zero
//! layers, and the progress callback.

use half::f16;
use safeweights::gen::model::{synthesize, GenFormat, ModelSpec};
use safeweights::gen::quantize::{quantize_gptq, GptqOptions};
use safeweights::gen::rng::SplitMix64;
use safeweights::quant::{deep_check, detect_from, OwnedTensor, SideFiles};
use serde_json::json;

fn names(t: &[OwnedTensor]) -> Vec<&str> {
    t.iter().map(|t| t.name.as_str()).collect()
}

#[test]
fn healthy_model_reports_stats_for_every_layer_and_progress() {
    for format in GenFormat::ALL {
        let model = synthesize(&ModelSpec::small(format, 3)).unwrap();
        let n = names(&model.tensors);
        let (scheme, _) = detect_from(&model.config, &SideFiles::default(), &n);
        let scheme = scheme.unwrap();
        let mut calls = Vec::new();
        let lookup = model.tensors.as_slice();
        let report = deep_check(&scheme, &lookup, &n, &mut |done, total, _| {
            calls.push((done, total))
        });
        assert!(
            report.diagnostics.iter().all(|d| !d.is_error()),
            "{format:?}: {:?}",
            report.diagnostics
        );
        assert_eq!(report.layers.len(), model.recon.len(), "{format:?}");
        assert_eq!(calls.len(), model.recon.len() + 1);
        assert_eq!(
            *calls.last().unwrap(),
            (model.recon.len(), model.recon.len())
        );
        for s in &report.layers {
            let recon = &model.recon[&s.prefix];
            let mean = recon.iter().map(|&x| f64::from(x)).sum::<f64>() / recon.len() as f64;
            assert!(
                (s.mean - mean).abs() < 1e-9,
                "{format:?} {}: {} vs {mean}",
                s.prefix,
                s.mean
            );
            assert_eq!(s.max, recon.iter().copied().fold(f32::MIN, f32::max));
            assert_eq!(s.nonfinite, 0);
            assert!(s.rms > 0.0);
        }
    }
}

fn gptq_layer(w: &[f32], n: usize, k: usize) -> Vec<OwnedTensor> {
    let o = GptqOptions {
        bits: 4,
        group_size: 32,
        sym: true,
        act_order: false,
        v2: false,
    };
    quantize_gptq("l", w, n, k, &o, &mut SplitMix64::new(1))
        .unwrap()
        .tensors
}

fn gptq_scheme(names: &[&str]) -> safeweights::quant::QuantScheme {
    let cfg = json!({"quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 32}});
    detect_from(&cfg, &SideFiles::default(), names).0.unwrap()
}

#[test]
fn all_zero_layer_zero_scale_and_nan_scale_are_reported() {
    let (n, k) = (16, 64);
    // all-zero weights -> QNT024
    let t = gptq_layer(&vec![0.0; n * k], n, k);
    let nm = names(&t);
    let lookup = t.as_slice();
    let r = deep_check(&gptq_scheme(&nm), &lookup, &nm, &mut |_, _, _| {});
    assert!(
        r.diagnostics.iter().any(|d| d.code == "QNT024"),
        "{:?}",
        r.diagnostics
    );
    assert_eq!(r.layers[0].zeros, n * k);

    let w = SplitMix64::new(2).weights(n, k, 0.1);
    let mut t = gptq_layer(&w, n, k);
    let scales = t.iter_mut().find(|t| t.name == "l.scales").unwrap();
    scales.bytes[..2].copy_from_slice(&f16::ZERO.to_le_bytes());
    scales.bytes[2..4].copy_from_slice(&f16::NAN.to_le_bytes());
    let nm = names(&t);
    let lookup = t.as_slice();
    let r = deep_check(&gptq_scheme(&nm), &lookup, &nm, &mut |_, _, _| {});
    let codes: Vec<&str> = r.diagnostics.iter().map(|d| d.code).collect();
    assert!(
        codes.contains(&"QNT025") && codes.contains(&"QNT019") && codes.contains(&"QNT023"),
        "{codes:?}"
    );
    let s = &r.layers[0];
    assert_eq!((s.zero_scales, s.nonfinite_scales), (1, 1));
    assert_eq!(
        s.nonfinite, 32,
        "one group of 32 columns in row 1 decodes to NaN"
    );
    assert!(s.min.is_finite() && s.max.is_finite());
}
