//! The header-only path and the full-buffer path report the same findings (body:
//! `safeweights::fuzz_checks::container::header_vs_full`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    safeweights::fuzz_checks::container::header_vs_full(data);
});
