//! Model directories written to a temporary directory: index, config and small shards,
//! with hostile shard names. Input type and body in `fuzz/inputs/model_dir.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../inputs/model_dir.rs"]
mod model_dir;

fuzz_target!(|input: model_dir::Input| model_dir::run(input));
