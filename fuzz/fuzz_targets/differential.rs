//! Differential fuzzing against the reference crate `safetensors` 0.8, modulo the
//! allow-list of docs/differential.md (body: `safeweights::fuzz_checks::container::differential`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use safeweights::fuzz_checks::container::{allow_list, differential};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

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
    static ALLOW: OnceLock<Vec<&'static str>> = OnceLock::new();
    differential(data, reference(data), ALLOW.get_or_init(allow_list));
});
