//! Header parsing and full validation, ours beside the reference crate, in one run.
//!
//! Two headers shaped like real checkpoints (a 2,000-tensor and a 300-tensor model:
//! `model.layers.N.*` names, BF16 weights, F32 norms, metadata), written by our writer
//! with small shapes so the whole file fits in memory. For each: our `parse_header` on
//! the whole buffer (full validation, what `SafeTensorsFile::open` runs), ours on the
//! `8 + N` header bytes only (what `HeaderOnly` and `validate` run), and the reference
//! crate's `SafeTensors::deserialize` of the same bytes. docs/perf.md records the ratio.
//!
//! Run: `cargo bench --bench container -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use safeweights::container::{parse_header, Limits, Writer};
use safeweights::dtype::Dtype;
use std::hint::black_box;

/// A model of exactly `tensors` tensors: decoder layers of 9 tensors each, embeddings,
/// final norm and head, and as many extra bias vectors as needed to reach the count.
fn model(tensors: usize) -> Vec<u8> {
    let layers = (tensors - 3) / 9;
    let extra = (tensors - 3) % 9;
    let mut w = Writer::new();
    let mut add = |name: String, dtype: Dtype, shape: Vec<u64>| {
        let bytes = safeweights::container::byte_count(&shape, dtype).unwrap();
        w.add(name, dtype, shape, vec![0u8; bytes as usize])
            .unwrap();
    };
    add(
        "model.embed_tokens.weight".into(),
        Dtype::BF16,
        vec![256, 64],
    );
    add("model.norm.weight".into(), Dtype::F32, vec![64]);
    add("lm_head.weight".into(), Dtype::BF16, vec![256, 64]);
    for l in 0..layers {
        let p = format!("model.layers.{l}");
        for proj in ["q_proj", "k_proj", "v_proj", "o_proj"] {
            add(
                format!("{p}.self_attn.{proj}.weight"),
                Dtype::BF16,
                vec![64, 64],
            );
        }
        for proj in ["gate_proj", "up_proj", "down_proj"] {
            add(format!("{p}.mlp.{proj}.weight"), Dtype::BF16, vec![172, 64]);
        }
        add(format!("{p}.input_layernorm.weight"), Dtype::F32, vec![64]);
        add(
            format!("{p}.post_attention_layernorm.weight"),
            Dtype::F32,
            vec![64],
        );
    }
    for i in 0..extra {
        add(format!("model.extra.{i}.bias"), Dtype::F32, vec![64]);
    }
    w.metadata("format", "pt");
    w.to_bytes().unwrap()
}

fn bench_header(c: &mut Criterion, label: &str, tensors: usize) {
    let file = model(tensors);
    let n = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    let limits = Limits::default();
    let len = file.len() as u64;
    // Same verdict and tensor count from both crates before timing anything.
    let ours = parse_header(&file, len, &limits);
    let theirs = safetensors::SafeTensors::deserialize(&file).unwrap();
    assert!(ours.is_valid());
    assert_eq!(ours.header.as_ref().unwrap().tensors.len(), theirs.len());
    assert_eq!(theirs.len(), tensors);

    let mut g = c.benchmark_group(format!(
        "{label} ({} tensors, {n}-byte header)",
        theirs.len()
    ));
    g.throughput(Throughput::Bytes(n as u64));
    g.bench_function("safeweights parse_header (full buffer)", |b| {
        b.iter(|| parse_header(black_box(&file), len, &limits))
    });
    g.bench_function("safeweights parse_header (header bytes only)", |b| {
        b.iter(|| parse_header(black_box(&file[..8 + n]), len, &limits))
    });
    g.bench_function("safetensors 0.8 deserialize", |b| {
        b.iter(|| safetensors::SafeTensors::deserialize(black_box(&file)).unwrap())
    });
    g.finish();
}

fn headers(c: &mut Criterion) {
    bench_header(c, "header_2000", 2000);
    bench_header(c, "header_300", 300);
}

criterion_group!(benches, headers);
criterion_main!(benches);
