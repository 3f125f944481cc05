//! Model directories: resolution, config normalisation, RoPE, tokenizer and the `check` report.
pub mod config;
pub mod registry;
pub mod rope;
