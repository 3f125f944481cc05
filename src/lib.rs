//! safeweights: open, validate and decode Hugging Face SafeTensors model directories.
//!
//! The pipeline follows the data: [`container`] (one `.safetensors` file) → `model`
//! (a directory: index, shards, config, tokenizer) → `quant` (detect, bind) →
//! `oracle` / `fast` / `cuda`. [`diag`] is the vocabulary every stage reports in.

pub mod cli;
pub mod container;
pub mod cuda;
pub mod diag;
pub mod dtype;
pub mod fast;
/// Check bodies of the fuzz targets, shared with the stable replay test (docs/fuzzing.md).
#[doc(hidden)]
pub mod fuzz_checks;
/// Fixture generators (hostile corpus, quantizers, model directories, mutators); they
/// write files only through [`container::writer`].
pub mod gen;
pub mod model;
pub mod oracle;
pub mod quant;
