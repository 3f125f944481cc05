//! Raw bytes into `parse_header`, strict and lenient. It must never panic; a strict
//! accept must tile the data region exactly and cover the file (8 + N + Σbytes == len);
//! lenient mode may only keep entries that lie inside the data and do not overlap.

#![no_main]

use libfuzzer_sys::fuzz_target;
use safeweights::container::{byte_count, parse_header, Limits, Mode};

fuzz_target!(|data: &[u8]| {
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
});
