//! Differential fuzzing against the reference crate `safetensors` 0.8 (spec, "Fuzz
//! targets": differential vs safetensors 0.8.0, with an allow-list of intentionally
//! stricter rejections). The allow-list is read from docs/differential.md, as
//! tests/container_differential.rs reads it:
//! - we accept, the reference rejects: crash (we must never be laxer);
//! - we reject, the reference accepts: crash unless one of our error codes is listed;
//! - the reference panics (its unchecked `buffer_end + 8 + n`, docs/differential.md
//!   "Reference panics"): we must reject.

#![no_main]

use libfuzzer_sys::fuzz_target;
use safeweights::container::{parse_header, Limits};
use safeweights::diag::Severity;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

fn allow_list() -> &'static Vec<&'static str> {
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        let doc = include_str!("../../docs/differential.md");
        let section = doc
            .split("## Allow-list")
            .nth(1)
            .expect("allow-list section");
        let section = section.split("\n## ").next().unwrap();
        section
            .lines()
            .filter_map(|l| l.strip_prefix("| "))
            .filter_map(|l| l.split(" |").next())
            .filter(|c| c.starts_with("ST") && c.len() == 5)
            .collect()
    })
}

/// The reference verdict; `None` when it panicked. libFuzzer's panic hook aborts, so a
/// silent hook is installed around the call (fuzzing runs on one thread).
fn reference(data: &[u8]) -> Option<bool> {
    let fuzz_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = catch_unwind(AssertUnwindSafe(|| {
        safetensors::SafeTensors::deserialize(data).is_ok()
    }));
    std::panic::set_hook(fuzz_hook);
    r.ok()
}

fuzz_target!(|data: &[u8]| {
    let ours = parse_header(data, data.len() as u64, &Limits::default());
    match (reference(data), ours.is_valid()) {
        (Some(true), true) | (Some(false), false) | (None, false) => {}
        (None, true) => panic!("reference panicked on a file we accept"),
        (Some(false), true) => panic!("we accept what the reference rejects"),
        (Some(true), false) => {
            let listed = ours
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .any(|d| allow_list().contains(&d.code));
            assert!(
                listed,
                "we reject what the reference accepts, with no allow-listed code: {:?}",
                ours.diagnostics
            );
        }
    }
});
