//! `check` of the 191-shard sparse directory (header-only) beside opening the same shards
//! through the reference `safetensors` crate (read file + `SafeTensors::deserialize`), in
//! the same run. Also prints the ratio of medians and each side's peak RSS, measured in a
//! child process per side (VmHWM is a per-process high-water mark).
//!
//! Run: `cargo bench --bench check -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, Criterion};
use safeweights::model::synth::write_scale_dir;
use safeweights::model::{check_dir, CheckOptions, ModelDir, OpenOptions};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

const MODE_ENV: &str = "SAFEWEIGHTS_BENCH_MODE";
const DIR_ENV: &str = "SAFEWEIGHTS_BENCH_DIR";

fn shards(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    v.sort();
    v
}

/// What the reference crate offers for a directory: read each file, deserialize it.
fn reference_open(dir: &Path) -> usize {
    shards(dir)
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).unwrap();
            let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
            st.len()
        })
        .sum()
}

fn our_check(dir: &Path) -> usize {
    let r = check_dir(dir, &CheckOptions::default()).unwrap();
    assert!(r.ok());
    r.tensors
}

fn our_headers(dir: &Path) -> usize {
    ModelDir::open(dir, &OpenOptions::default())
        .unwrap()
        .tensors
        .len()
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

struct Fixture {
    _tmp: tempfile::TempDir,
    path: PathBuf,
    apparent: u64,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let w = write_scale_dir(tmp.path(), 256).unwrap();
        let path = tmp.path().to_path_buf();
        let apparent = shards(&path).iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
        eprintln!(
            "fixture: {} shards, {} tensors, {} bytes of tensor data (sparse), {apparent} bytes on disk (apparent)",
            w.shard_names.len(),
            w.tensors,
            w.tensor_bytes
        );
        Fixture { _tmp: tmp, path, apparent }
    })
}

fn median_secs<T>(mut f: impl FnMut() -> T, runs: usize) -> f64 {
    let mut v: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_secs_f64()
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[runs / 2]
}

/// Peak RSS of one run of `mode` in a fresh process.
fn peak_in_child(mode: &str, dir: &Path) -> u64 {
    let out = Command::new(std::env::current_exe().unwrap())
        .env(MODE_ENV, mode)
        .env(DIR_ENV, dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn summary() {
    let f = fixture();
    let ours = median_secs(|| black_box(our_check(&f.path)), 9);
    let headers = median_secs(|| black_box(our_headers(&f.path)), 9);
    let reference = median_secs(|| black_box(reference_open(&f.path)), 5);
    let (p_ours, p_ref, p_idle) = (
        peak_in_child("check", &f.path),
        peak_in_child("reference", &f.path),
        peak_in_child("idle", &f.path),
    );
    // The same layout 16x wider: 119 GiB of (sparse) tensor data. Only our side can run
    // here; the reference would read every byte.
    let big = tempfile::tempdir().unwrap();
    write_scale_dir(big.path(), 4096).unwrap();
    let big_time = median_secs(|| black_box(our_check(big.path())), 5);
    let p_big = peak_in_child("check", big.path());
    let big_bytes: u64 = shards(big.path())
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    eprintln!(
        "summary (wide): check {:.2} ms, peak RSS {} MiB, apparent data {} GiB",
        big_time * 1e3,
        p_big / 1024,
        big_bytes >> 30
    );
    eprintln!(
        "summary: check {:.2} ms, headers only {:.2} ms, safetensors read+deserialize {:.2} ms; ratio reference/check {:.1}x; \
         peak RSS: idle {} MiB, check {} MiB, reference {} MiB; apparent data {} MiB",
        ours * 1e3,
        headers * 1e3,
        reference * 1e3,
        reference / ours,
        p_idle / 1024,
        p_ours / 1024,
        p_ref / 1024,
        f.apparent >> 20
    );
}

fn bench(c: &mut Criterion) {
    let f = fixture();
    let mut g = c.benchmark_group("check_191_shards");
    g.sample_size(10);
    g.bench_function("safeweights_check", |b| b.iter(|| our_check(&f.path)));
    g.bench_function("safeweights_headers_only", |b| {
        b.iter(|| our_headers(&f.path))
    });
    g.bench_function("safetensors_read_deserialize", |b| {
        b.iter(|| reference_open(&f.path))
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(mode) = std::env::var(MODE_ENV) {
        let dir = PathBuf::from(std::env::var(DIR_ENV).unwrap());
        match mode.as_str() {
            "check" => {
                black_box(our_check(&dir));
            }
            "reference" => {
                black_box(reference_open(&dir));
            }
            _ => {}
        }
        println!("{}", vm_hwm_kib());
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --benches` runs the binary with --test? skip the heavy parts then.
    if args.iter().any(|a| a == "--list" || a == "--test") {
        benches();
        return;
    }
    summary();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
