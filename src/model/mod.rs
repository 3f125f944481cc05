//! Model directories: resolution, config normalisation, RoPE, tokenizer, cross-checks and
//! the `check` report.
//!
//! Entry points:
//! - [`check_dir`] — open a directory (or hub cache repo folder) and run every check,
//!   returning a [`CheckReport`] (`to_json`, `render`, `ok`);
//! - [`ModelDir::open`] — only the directory layer (index, shards' headers, stray files);
//! - [`normalize_config`] / [`parse_config_str`] — pure config.json normalisation;
//! - [`rope`] — RoPE normalisation and inverse-frequency tables;
//! - [`demo::write_demo_dir`] and [`synth`] — fixture generators.
//!
//! Diagnostic codes: `DIR` (directory, index, shards), `CFG` (config.json and config ↔
//! tensor cross-checks), `TOK` (tokenizer files); see docs/diagnostics.md.

pub mod check;
pub mod config;
pub mod crosscheck;
pub mod demo;
pub mod dir;
pub mod hfcache;
pub mod index;
pub mod quant_hook;
pub mod registry;
pub mod report;
pub mod rope;
pub mod scan;
pub mod synth;
pub mod tokenizer;

pub use check::{check_dir, check_opened, CheckOptions};
pub use config::{normalize_config, parse_config_str, ModelConfig};
pub use dir::{DirError, ModelDir, OpenOptions, Progress};
pub use quant_hook::{QuantDetector, QuantReport};
pub use report::CheckReport;
