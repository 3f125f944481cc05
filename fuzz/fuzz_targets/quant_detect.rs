//! Quantization detection from config.json, side files, recipe.yaml and tensor names
//! (body: `safeweights::fuzz_checks::quant_detect::quant_detect`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| safeweights::fuzz_checks::quant_detect::quant_detect(data));
