//! Fast CPU dequant of one 8192 x 8192 layer per format, single thread and all threads,
//! as output GB/s, next to a plain memcpy of the same output size measured in the same run.
//!
//! `cargo bench --bench dequant -- --warm-up-time 1 --measurement-time 3`
//! After criterion's report, a table prints each case's best time next to a memcpy of the
//! same size timed interleaved with it, and their ratio.
//! `SAFEWEIGHTS_BENCH_DIM` overrides 8192 (e.g. 2048 for a quick look).

use criterion::{BenchmarkId, Criterion, Throughput};
use half::f16;
use safeweights::dtype::Dtype;
use safeweights::gen::rng::SplitMix64;
use safeweights::quant::{
    bind, Fp8Granularity, GlobalScaleConvention, Layout, Method, OwnedTensor, QuantScheme,
};
use std::hint::black_box;
use std::time::Instant;

fn dim() -> usize {
    std::env::var("SAFEWEIGHTS_BENCH_DIM")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8192)
}

fn scheme(method: Method, layout: Layout) -> QuantScheme {
    QuantScheme::new(method, layout, "bench")
}

fn random_bytes(rng: &mut SplitMix64, n: usize) -> Vec<u8> {
    (0..n.div_ceil(8))
        .flat_map(|_| rng.next_u64().to_le_bytes())
        .take(n)
        .collect()
}

fn f16s(rng: &mut SplitMix64, n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|_| f16::from_f32(rng.uniform(0.001, 0.01)).to_le_bytes())
        .collect()
}

/// Valid tensors for one `d x d` layer of each format, built directly (random codes, sane
/// scales), so setup does not dominate the run.
fn case(name: &str, d: usize) -> (QuantScheme, Vec<OwnedTensor>) {
    let mut rng = SplitMix64::new(1);
    let t = |n: &str, dt, shape: Vec<usize>, b| {
        OwnedTensor::new(
            format!("l.{n}"),
            dt,
            shape.into_iter().map(|x| x as u64).collect(),
            b,
        )
    };
    match name {
        "gptq-4bit-g128" => {
            let g = d / 128;
            (
                scheme(
                    Method::Gptq,
                    Layout::Gptq {
                        bits: Some(4),
                        group_size: Some(128),
                        desc_act: false,
                        v1: true,
                    },
                ),
                vec![
                    t(
                        "qweight",
                        Dtype::I32,
                        vec![d / 8, d],
                        random_bytes(&mut rng, d / 8 * d * 4),
                    ),
                    t(
                        "qzeros",
                        Dtype::I32,
                        vec![g, d / 8],
                        vec![0x77; g * d / 8 * 4],
                    ),
                    t("scales", Dtype::F16, vec![g, d], f16s(&mut rng, g * d)),
                ],
            )
        }
        "gptq-3bit-g128" => {
            let g = d / 128;
            (
                scheme(
                    Method::Gptq,
                    Layout::Gptq {
                        bits: Some(3),
                        group_size: Some(128),
                        desc_act: false,
                        v1: false,
                    },
                ),
                vec![
                    t(
                        "qweight",
                        Dtype::I32,
                        vec![d * 3 / 32, d],
                        random_bytes(&mut rng, d * 3 / 32 * d * 4),
                    ),
                    t(
                        "qzeros",
                        Dtype::I32,
                        vec![g, d * 3 / 32],
                        random_bytes(&mut rng, g * d * 3 / 32 * 4),
                    ),
                    t("scales", Dtype::F16, vec![g, d], f16s(&mut rng, g * d)),
                ],
            )
        }
        "awq-g128" => {
            let g = d / 128;
            (
                scheme(
                    Method::Awq,
                    Layout::Awq {
                        group_size: Some(128),
                    },
                ),
                vec![
                    t(
                        "qweight",
                        Dtype::I32,
                        vec![d, d / 8],
                        random_bytes(&mut rng, d * d / 8 * 4),
                    ),
                    t(
                        "qzeros",
                        Dtype::I32,
                        vec![g, d / 8],
                        random_bytes(&mut rng, g * d / 8 * 4),
                    ),
                    t("scales", Dtype::F16, vec![g, d], f16s(&mut rng, g * d)),
                ],
            )
        }
        "int-pack-4bit-g128" => {
            let g = d / 128;
            (
                scheme(
                    Method::IntPack,
                    Layout::IntPack {
                        bits: 4,
                        group_size: Some(128),
                        symmetric: true,
                        actorder: false,
                    },
                ),
                vec![
                    t(
                        "weight_packed",
                        Dtype::I32,
                        vec![d, d / 8],
                        random_bytes(&mut rng, d * d / 8 * 4),
                    ),
                    t(
                        "weight_scale",
                        Dtype::F16,
                        vec![d, g],
                        f16s(&mut rng, g * d),
                    ),
                    t(
                        "weight_shape",
                        Dtype::I64,
                        vec![2],
                        [d as i64, d as i64]
                            .iter()
                            .flat_map(|x| x.to_le_bytes())
                            .collect(),
                    ),
                ],
            )
        }
        "nvfp4" => (
            scheme(
                Method::Nvfp4,
                Layout::Nvfp4 {
                    convention: GlobalScaleConvention::Divisor,
                },
            ),
            vec![
                t(
                    "weight_packed",
                    Dtype::U8,
                    vec![d, d / 2],
                    random_bytes(&mut rng, d * d / 2),
                ),
                t(
                    "weight_scale",
                    Dtype::F8_E4M3,
                    vec![d, d / 16],
                    (0..d * d / 16).map(|i| 0x30 + (i % 16) as u8).collect(),
                ),
                t(
                    "weight_global_scale",
                    Dtype::F32,
                    vec![1],
                    448f32.to_le_bytes().to_vec(),
                ),
            ],
        ),
        "mxfp4" => (
            scheme(Method::Mxfp4, Layout::Mxfp4),
            vec![
                OwnedTensor::new(
                    "l_blocks",
                    Dtype::U8,
                    vec![1, d as u64, (d / 32) as u64, 16],
                    random_bytes(&mut rng, d * d / 2),
                ),
                OwnedTensor::new(
                    "l_scales",
                    Dtype::U8,
                    vec![1, d as u64, (d / 32) as u64],
                    (0..d * d / 32).map(|i| 118 + (i % 8) as u8).collect(),
                ),
            ],
        ),
        "fp8-block128" => {
            let s = d.div_ceil(128);
            (
                scheme(
                    Method::Fp8,
                    Layout::Fp8 {
                        granularity: Fp8Granularity::Block {
                            rows: 128,
                            cols: 128,
                        },
                    },
                ),
                vec![
                    t(
                        "weight",
                        Dtype::F8_E4M3,
                        vec![d, d],
                        (0..d * d).map(|i| (i % 251) as u8 & 0x7E).collect(),
                    ),
                    t(
                        "weight_scale_inv",
                        Dtype::F32,
                        vec![s, s],
                        (0..s * s)
                            .flat_map(|_| rng.uniform(0.001, 0.01).to_le_bytes())
                            .collect(),
                    ),
                ],
            )
        }
        _ => unreachable!("unknown bench case"),
    }
}

const CASES: [&str; 7] = [
    "gptq-4bit-g128",
    "gptq-3bit-g128",
    "awq-g128",
    "int-pack-4bit-g128",
    "nvfp4",
    "mxfp4",
    "fp8-block128",
];

/// Timed repetitions per case for the ratio table.
const REPS: usize = 5;

fn time(mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

fn main() {
    let d = dim();
    let out_bytes = (d * d * 4) as u64;
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let all = rayon::current_num_threads();
    let mut c = Criterion::default().sample_size(10).configure_from_args();
    let mut out = vec![0f32; d * d];
    let src = vec![1f32; d * d];
    // (case, best 1-thread s, best all-threads s, memcpy 1-thread s, memcpy all-threads s):
    // each case's memcpy is timed interleaved with it, so a shared machine's load hits both.
    let mut table: Vec<(String, f64, f64, f64, f64)> = Vec::new();
    {
        let mut g = c.benchmark_group(format!("dequant_{d}x{d}"));
        g.throughput(Throughput::Bytes(out_bytes));
        g.bench_function(BenchmarkId::new("memcpy", "1-thread"), |b| {
            b.iter(|| out.copy_from_slice(black_box(&src)))
        });
        use rayon::prelude::*;
        let par_copy = |out: &mut [f32]| {
            out.par_chunks_mut(1 << 20)
                .zip(src.par_chunks(1 << 20))
                .for_each(|(o, s)| o.copy_from_slice(s))
        };
        g.bench_function(BenchmarkId::new("memcpy", format!("{all}-threads")), |b| {
            b.iter(|| par_copy(black_box(&mut out)))
        });
        for name in CASES {
            let (scheme, tensors) = case(name, d);
            let lookup = tensors.as_slice();
            let (layer, diags) = bind(&scheme, "l", &lookup);
            let layer = layer.unwrap_or_else(|| panic!("{name}: {diags:?}"));
            g.bench_function(BenchmarkId::new(name, "1-thread"), |b| {
                b.iter(|| {
                    single.install(|| safeweights::fast::dequant_into(&layer, black_box(&mut out)))
                })
            });
            g.bench_function(BenchmarkId::new(name, format!("{all}-threads")), |b| {
                b.iter(|| safeweights::fast::dequant_into(&layer, black_box(&mut out)))
            });
            let (mut t1, mut ta, mut m1, mut ma) = (f64::MAX, f64::MAX, f64::MAX, f64::MAX);
            for _ in 0..REPS {
                m1 = m1.min(time(|| out.copy_from_slice(black_box(&src))));
                t1 = t1.min(time(|| {
                    single.install(|| safeweights::fast::dequant_into(&layer, &mut out))
                }));
                ma = ma.min(time(|| par_copy(&mut out)));
                ta = ta.min(time(|| safeweights::fast::dequant_into(&layer, &mut out)));
            }
            table.push((name.into(), t1, ta, m1, ma));
        }
        g.finish();
    }
    c.final_summary();
    let gbs = |t: f64| out_bytes as f64 / t / 1e9;
    println!(
        "\n{d}x{d} f32 output ({:.0} MiB); best of {REPS}, memcpy timed interleaved with each case; \
         ratio = memcpy time / dequant time at the same thread count",
        out_bytes as f64 / 1048576.0
    );
    println!("| case | 1 thread GB/s | memcpy 1 thread GB/s | ratio | {all} threads GB/s | memcpy {all} threads GB/s | ratio |");
    println!("|---|---|---|---|---|---|---|");
    for (name, t1, ta, m1, ma) in &table {
        println!(
            "| {name} | {:.2} | {:.2} | {:.0}% | {:.2} | {:.2} | {:.0}% |",
            gbs(*t1),
            gbs(*m1),
            100.0 * m1 / t1,
            gbs(*ta),
            gbs(*ma),
            100.0 * ma / ta
        );
    }
}
