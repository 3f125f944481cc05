//! Container targets: raw bytes into [`parse_header`], strict and lenient; the header-only
//! path against the whole buffer; and the differential check against the reference crate.

use crate::container::header::read_header_len;
use crate::container::sniff::SNIFF_BYTES;
use crate::container::{byte_count, parse_header, Limits, Mode};
use crate::diag::Severity;

/// Target `parse_header`: never panics; a strict accept tiles `[0, data_len)` exactly and
/// `8 + N + Σbytes == len`; lenient mode keeps only in-range, non-overlapping entries whose
/// size matches shape × dtype.
pub fn parse_header_check(data: &[u8]) {
    let len = data.len() as u64;
    for limits in [Limits::default(), Limits::default().lenient()] {
        let parsed = parse_header(data, len, &limits);
        let Some(h) = &parsed.header else { continue };
        let room = len - 8 - h.header_len;
        let mut end = 0u64;
        for t in &h.tensors {
            let (s, e) = t.data_offsets;
            assert!(s >= end && s <= e && e <= room, "kept tensor out of place");
            assert_eq!(byte_count(&t.shape, t.dtype).unwrap(), e - s);
            if limits.mode == Mode::Strict {
                assert_eq!(s, end, "strict accept must tile exactly");
            }
            end = e;
        }
        if limits.mode == Mode::Strict {
            assert!(
                parsed.is_valid(),
                "strict mode returned a header with errors"
            );
            assert_eq!(
                8 + h.header_len + end,
                len,
                "accepted file must be covered exactly"
            );
        }
    }
}

/// Target `header_vs_full`: the header-only path (the first [`SNIFF_BYTES`], then exactly
/// `8 + N` bytes, as `container::reader::read_header` reads them) reports the same
/// diagnostics, header and entry count as a parse of the whole buffer.
pub fn header_vs_full(data: &[u8]) {
    let len = data.len() as u64;
    for limits in [Limits::default(), Limits::default().lenient()] {
        let full = parse_header(data, len, &limits);
        let first = &data[..data.len().min(SNIFF_BYTES)];
        let header_only = match read_header_len(first, len, &limits) {
            Err(d) => {
                assert_eq!(full.diagnostics, vec![d], "length check differs");
                continue;
            }
            Ok(n) => parse_header(&data[..8 + n as usize], len, &limits),
        };
        assert_eq!(full.diagnostics, header_only.diagnostics);
        assert_eq!(full.header, header_only.header);
        assert_eq!(full.entries_seen, header_only.entries_seen);
    }
}

/// The error codes of docs/differential.md's "Allow-list": rejections of files the
/// reference crate accepts that are intended.
pub fn allow_list() -> Vec<&'static str> {
    let doc = include_str!("../../docs/differential.md");
    let section = doc
        .split("## Allow-list")
        .nth(1)
        .expect("docs/differential.md has an Allow-list section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" |").next())
        .filter(|c| c.starts_with("ST") && c.len() == 5)
        .collect()
}

/// Target `differential`, given the reference crate's verdict on the same bytes
/// (`Some(accepted)`, or `None` when it panicked):
/// - we accept, the reference rejects: failure (we must never be laxer);
/// - we reject, the reference accepts: failure unless one of our error codes is listed;
/// - the reference panics (its unchecked `buffer_end + 8 + n`): we must reject.
pub fn differential(data: &[u8], reference: Option<bool>, allow: &[&str]) {
    let ours = parse_header(data, data.len() as u64, &Limits::default());
    match (reference, ours.is_valid()) {
        (Some(true), true) | (Some(false), false) | (None, false) => {}
        (None, true) => panic!("reference panicked on a file we accept"),
        (Some(false), true) => panic!("we accept what the reference rejects"),
        (Some(true), false) => {
            let listed = ours
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .any(|d| allow.contains(&d.code));
            assert!(
                listed,
                "we reject what the reference accepts, with no allow-listed code: {:?}",
                ours.diagnostics
            );
        }
    }
}
