//! The demo directory `safeweights check` writes when given no directory: a small sharded
//! Llama-3-style model (4 layers, GQA, llama3 RoPE scaling, bf16) in two shards with an
//! index, a byte-level BPE `tokenizer.json`, `tokenizer_config.json` with a chat template,
//! `special_tokens_map.json` and `generation_config.json`, all written by the library's own
//! writer. It checks clean: no errors, no warnings.

use crate::model::synth::{DirPlan, ModelSpec, SynthError, Written};
use std::path::Path;

/// Writes the demo model into `dir` (created if needed).
pub fn write_demo_dir(dir: impl AsRef<Path>) -> Result<Written, SynthError> {
    DirPlan::new(&ModelSpec::llama_tiny()).write(dir)
}
