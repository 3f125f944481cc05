//! config.json normalisation (body: `safeweights::fuzz_checks::config::config`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| safeweights::fuzz_checks::config::config(data));
