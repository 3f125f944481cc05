//! Fast CPU dequant of one 8192 x 8192 layer per format, single thread and all threads,
//! as output GB/s, next to a plain memcpy of the same output size measured in the same run.
//!
//! `cargo bench --bench dequant -- --warm-up-time 1 --measurement-time 3`
//! After criterion's report, a table prints each case's best time as a ratio to memcpy.
//! `SAFEWEIGHTS_BENCH_DIM` overrides 8192 (e.g. 2048 for a quick look).

use criterion::{BenchmarkId, Criterion, Throughput};
use half::f16;
use safeweights::dtype::Dtype;
use safeweights::gen::rng::SplitMix64;
use safeweights::quant::{
    bind, Fp8Granularity, GlobalScaleConvention, Layout, Method, OwnedTensor, QuantScheme,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn dim() -> usize {
    std::env::var("SAFEWEIGHTS_BENCH_DIM")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8192)
}

fn scheme(method: Method, layout: Layout) -> QuantScheme {
    QuantScheme {
        method,
        layout,
        producer: None,
        bits: None,
        group_size: None,
        desc_act: None,
        sym: None,
        checkpoint_format: None,
        scale_convention: None,
        source: "bench".into(),
        unquantized_modules: vec![],
        kv_cache_hint: None,
        quant_method_raw: None,
    }
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

fn best_of(reps: usize, mut f: impl FnMut()) -> Duration {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .expect("reps > 0")
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
    // (case, threads) -> best seconds, for the ratio table
    let mut table: Vec<(String, f64, f64)> = Vec::new();
    {
        let mut g = c.benchmark_group(format!("dequant_{d}x{d}"));
        g.throughput(Throughput::Bytes(out_bytes));
        g.bench_function(BenchmarkId::new("memcpy", "1-thread"), |b| {
            b.iter(|| out.copy_from_slice(black_box(&src)))
        });
        let m1 = best_of(3, || out.copy_from_slice(black_box(&src))).as_secs_f64();
        use rayon::prelude::*;
        let par_copy = |out: &mut [f32]| {
            out.par_chunks_mut(1 << 20)
                .zip(src.par_chunks(1 << 20))
                .for_each(|(o, s)| o.copy_from_slice(s))
        };
        g.bench_function(BenchmarkId::new("memcpy", format!("{all}-threads")), |b| {
            b.iter(|| par_copy(black_box(&mut out)))
        });
        let ma = best_of(3, || par_copy(&mut out)).as_secs_f64();
        table.push(("memcpy".into(), m1, ma));
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
            let t1 = best_of(3, || {
                single.install(|| safeweights::fast::dequant_into(&layer, &mut out))
            })
            .as_secs_f64();
            let ta = best_of(3, || safeweights::fast::dequant_into(&layer, &mut out)).as_secs_f64();
            table.push((name.into(), t1, ta));
        }
        g.finish();
    }
    c.final_summary();
    let gbs = |t: f64| out_bytes as f64 / t / 1e9;
    let (m1, ma) = (table[0].1, table[0].2);
    println!("\n{d}x{d} f32 output ({:.0} MiB); best of 3; ratio = memcpy time / dequant time (same thread count)", out_bytes as f64 / 1048576.0);
    println!("| case | 1 thread GB/s | ratio to memcpy | {all} threads GB/s | ratio to memcpy |");
    println!("|---|---|---|---|---|");
    for (name, t1, ta) in &table {
        println!(
            "| {name} | {:.2} | {:.0}% | {:.2} | {:.0}% |",
            gbs(*t1),
            100.0 * m1 / t1,
            gbs(*ta),
            100.0 * ma / ta
        );
    }
}
