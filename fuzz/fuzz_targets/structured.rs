//! Structure-aware mutations of valid files; input type and body in `fuzz/inputs/structured.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../inputs/structured.rs"]
mod structured;

fuzz_target!(|input: structured::Input| structured::run(input));
