//! Scale: a 191-shard directory of about 3,000 tensors made of sparse files (header
//! written, data never written) is checked header-only, in seconds, with memory that does
//! not grow with the 119 GiB of (apparent) tensor data.

use safeweights::model::synth::write_scale_dir;
use safeweights::model::{check_dir, CheckOptions};
use std::time::Instant;

/// Peak resident set size of this process, in KiB (Linux `VmHWM`).
fn vm_hwm_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn check_191_sparse_shards_header_only() {
    let t = tempfile::tempdir().unwrap();
    let w = write_scale_dir(t.path(), 4096).unwrap();
    assert_eq!(w.shard_names.len(), 191);
    assert_eq!(w.tensors, 2973);
    let apparent: u64 = w
        .shard_names
        .iter()
        .map(|n| std::fs::metadata(t.path().join(n)).unwrap().len())
        .sum();
    assert!(apparent > 100 << 30, "apparent size {apparent}");

    let before = vm_hwm_kib();
    let start = Instant::now();
    let r = check_dir(t.path(), &CheckOptions::default()).unwrap();
    let elapsed = start.elapsed();
    let grown_mib = (vm_hwm_kib() - before) / 1024;

    assert!(r.ok(), "{:?}", r.diagnostics);
    assert_eq!(r.shards, 191);
    assert_eq!(r.tensors, 2973);
    assert_eq!(r.bytes, w.tensor_bytes);
    assert_eq!(r.to_json()["config"]["num_hidden_layers"], 330);
    // Reading the data would take minutes and gigabytes; headers take milliseconds.
    assert!(elapsed.as_secs() < 20, "check took {elapsed:?}");
    assert!(
        grown_mib < 64,
        "peak RSS grew by {grown_mib} MiB for {apparent} bytes of data"
    );
    eprintln!(
        "191 shards, {} tensors, {apparent} bytes: {elapsed:?}, peak RSS +{grown_mib} MiB",
        r.tensors
    );
}
