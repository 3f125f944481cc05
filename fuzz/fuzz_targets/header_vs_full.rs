//! The header-only path (the first bytes, then exactly `8 + N`, as
//! `container::reader::read_header` reads them) and the full-buffer path must report the
//! same findings on any input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use safeweights::container::header::read_header_len;
use safeweights::container::sniff::SNIFF_BYTES;
use safeweights::container::{parse_header, Limits};

fuzz_target!(|data: &[u8]| {
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
});
