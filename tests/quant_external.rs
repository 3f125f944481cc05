//! Cross-check of our decoders and encoders against other libraries' output, committed under
//! fixtures/external/ by fixtures/external/make_external.py (ml_dtypes; torch + python
//! safetensors when available). A missing file skips its test with a printed notice.

use safeweights::container::{Limits, SafeTensorsFile};
use safeweights::gen::encode::{f32_to_e2m1, f32_to_e4m3fn};
use safeweights::oracle::minifloat::*;
use serde_json::Value;
use std::path::PathBuf;

fn fixture(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/external")
        .join(name);
    if p.is_file() {
        Some(p)
    } else {
        println!(
            "NOTICE: {} is absent; run fixtures/external/make_external.py to produce it. Skipped.",
            p.display()
        );
        None
    }
}

fn u32s(v: &Value, key: &str) -> Vec<u32> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key}"))
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// Same value, where every NaN equals every NaN (payloads differ between libraries).
fn same(ours: f32, theirs_bits: u32) -> bool {
    let theirs = f32::from_bits(theirs_bits);
    (ours.is_nan() && theirs.is_nan()) || ours.to_bits() == theirs_bits
}

/// A minifloat decoder.
type Decoder = fn(u8) -> f32;

#[test]
fn every_minifloat_code_matches_ml_dtypes() {
    let Some(p) = fixture("minifloat_codes.json") else {
        return;
    };
    let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let tables: [(&str, Decoder, usize); 5] = [
        ("float4_e2m1fn", e2m1_to_f32, 16),
        ("float8_e4m3fn", e4m3fn_to_f32, 256),
        ("float8_e4m3fnuz", e4m3fnuz_to_f32, 256),
        ("float8_e5m2", e5m2_to_f32, 256),
        ("float8_e8m0fnu", e8m0_to_f32, 256),
    ];
    for (key, decode, n) in tables {
        let want = u32s(&v, key);
        assert_eq!(want.len(), n, "{key}");
        for (code, &bits) in want.iter().enumerate() {
            let ours = decode(code as u8);
            assert!(
                same(ours, bits),
                "{key} code {code:#04x}: ours {ours:e} ({:#010x}), ml_dtypes {:e} ({bits:#010x})",
                ours.to_bits(),
                f32::from_bits(bits)
            );
        }
    }
}

#[test]
fn encoders_match_ml_dtypes_round_to_nearest_even() {
    let Some(p) = fixture("minifloat_codes.json") else {
        return;
    };
    let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    for (inputs, codes, enc) in [
        (
            "e4m3fn_encode_inputs",
            "e4m3fn_encode_codes",
            f32_to_e4m3fn as fn(f32) -> u8,
        ),
        ("e2m1_encode_inputs", "e2m1_encode_codes", f32_to_e2m1),
    ] {
        let xs = u32s(&v, inputs);
        let cs = u32s(&v, codes);
        assert_eq!(xs.len(), cs.len());
        assert!(xs.len() > 100);
        for (&x, &c) in xs.iter().zip(&cs) {
            let x = f32::from_bits(x);
            assert_eq!(u32::from(enc(x)), c, "{inputs}: {x:e}");
        }
    }
}

#[test]
fn torch_float8_tensors_decode_like_torch() {
    let Some(p) = fixture("torch_float8.safetensors") else {
        return;
    };
    let f = SafeTensorsFile::open(&p, &Limits::default())
        .expect("python safetensors output opens strictly");
    for (name, decode) in [
        ("e4m3fn", e4m3fn_to_f32 as fn(u8) -> f32),
        ("e5m2", e5m2_to_f32),
        ("e4m3fn_every_code", e4m3fn_to_f32),
        ("e5m2_every_code", e5m2_to_f32),
    ] {
        let codes = f.tensor(name).unwrap_or_else(|| panic!("{name}"));
        let want = f.tensor(&format!("{name}_as_f32")).unwrap();
        assert_eq!(codes.shape, want.shape);
        assert_eq!(want.data.len(), codes.data.len() * 4);
        for (i, &c) in codes.data.iter().enumerate() {
            let bits = u32::from_le_bytes(want.data[4 * i..4 * i + 4].try_into().unwrap());
            assert!(same(decode(c), bits), "{name}[{i}] code {c:#04x}");
        }
    }
}
