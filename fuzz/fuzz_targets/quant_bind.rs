//! Binding, oracle and fast path on generator-quantized layers with random edits. Input
//! type and body in `fuzz/inputs/quant_bind.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../inputs/quant_bind.rs"]
mod quant_bind;

fuzz_target!(|input: quant_bind::Input| quant_bind::run(input));
