//! The SafeTensors container: one file's header, offsets, dtypes and bytes.
//!
//! Parsing ([`header`], [`json`], [`sniff`]) is pure and fuzzable; [`reader`] and
//! [`writer`] are the I/O edges. Every rule enforced here is listed with its diagnostic
//! code in docs/diagnostics.md.

pub mod header;
pub mod json;
pub mod reader;
pub mod sniff;
pub mod writer;

pub use header::{
    byte_count, parse_header, Alignment, Header, Limits, Mode, Parsed, TensorInfo,
    DEFAULT_MAX_HEADER_BYTES, MAX_CONFIGURABLE_HEADER_BYTES,
};
pub use reader::{HeaderOnly, OpenError, SafeTensorsFile, TensorView};
pub use writer::{atomic_write, write_bytes_atomic, StreamFn, WriteError, Writer};
