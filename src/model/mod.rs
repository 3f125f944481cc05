//! Model directories: resolution, config normalisation, RoPE, tokenizer and the `check` report.
pub mod config;
pub mod crosscheck;
pub mod dir;
pub mod hfcache;
pub mod index;
pub mod registry;
pub mod rope;
pub mod tokenizer;
