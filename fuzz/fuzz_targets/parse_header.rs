//! Raw bytes into `parse_header`, strict and lenient (body:
//! `safeweights::fuzz_checks::container::parse_header_check`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    safeweights::fuzz_checks::container::parse_header_check(data);
});
