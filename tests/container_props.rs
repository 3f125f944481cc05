//! Property tests of the container layer (spec, "Property tests").
//!
//! Case counts keep the whole file to a few seconds in release: 256 cases per property,
//! 4096 for the cheap no-panic properties, 48 for the one that writes files. Setting
//! `PROPTEST_CASES` (e.g. 10000 for a nightly run) overrides every count.

use proptest::prelude::*;
use safeweights::container::{
    byte_count, parse_header, Header, HeaderOnly, Limits, Parsed, SafeTensorsFile, Writer,
};
use safeweights::diag::Severity;
use safeweights::dtype::Dtype;
use safeweights::gen::hostile::{assemble, contiguous, raw_header, RawEntry};
use std::collections::BTreeSet;

/// `default` cases, unless `PROPTEST_CASES` says otherwise.
fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

type Tensors = Vec<(String, Dtype, Vec<u64>)>;

/// 0-6 tensors with unique names, any dtype, rank 0-4 (dimensions 0-5); sub-byte tensors
/// get a trailing dimension of 8 when needed to fill whole bytes.
fn tensors() -> impl Strategy<Value = Tensors> {
    prop::collection::vec(
        (
            "[a-z_.]{1,10}",
            0..Dtype::ALL.len(),
            prop::collection::vec(0u64..6, 0..5),
        ),
        0..7,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (name, d, mut shape))| {
                let dtype = Dtype::ALL[d];
                if byte_count(&shape, dtype).is_err() {
                    shape.push(8);
                }
                (format!("{name}{i}"), dtype, shape)
            })
            .collect()
    })
}

/// Deterministic data for a tensor, so round trips can compare bytes.
fn data_for(i: usize, len: u64) -> Vec<u8> {
    (0..len).map(|k| (k as usize * 31 + i * 7) as u8).collect()
}

fn write(tensors: &Tensors, metadata: &[(String, String)]) -> Vec<u8> {
    let mut w = Writer::new();
    for (i, (name, dtype, shape)) in tensors.iter().enumerate() {
        let len = byte_count(shape, *dtype).unwrap();
        w.add(name.clone(), *dtype, shape.clone(), data_for(i, len))
            .unwrap();
    }
    for (k, v) in metadata {
        w.metadata(k.clone(), v.clone());
    }
    w.to_bytes().unwrap()
}

fn parse(bytes: &[u8]) -> Parsed {
    parse_header(bytes, bytes.len() as u64, &Limits::default())
}

fn error_codes(p: &Parsed) -> BTreeSet<&'static str> {
    p.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.code)
        .collect()
}

/// The invariants of an accepted header (spec: "Accepted ⇒ ranges tile exactly and
/// 8+N+Σbytes == file_len"; "every view length equals the bytes from shape and dtype";
/// "the alignment report equals abs_offset % align").
fn check_accepted(h: &Header, file_len: u64) -> Result<(), TestCaseError> {
    let mut end = 0u64;
    let mut sum = 0u64;
    for t in &h.tensors {
        prop_assert_eq!(t.data_offsets.0, end, "gap or overlap before {}", &t.name);
        let bytes = byte_count(&t.shape, t.dtype).unwrap();
        prop_assert_eq!(t.byte_len(), bytes);
        end = t.data_offsets.1;
        sum += bytes;
        let a = h.alignment(t);
        let abs = 8 + h.header_len + t.data_offsets.0;
        prop_assert_eq!(a.file_offset, abs);
        prop_assert_eq!(a.element_aligned, abs % t.dtype.align_bytes() == 0);
        prop_assert_eq!(a.mod_256, abs % 256);
        prop_assert_eq!(a.aligned_256(), abs % 256 == 0);
        prop_assert!(std::ptr::eq(h.tensor(&t.name).unwrap(), t));
    }
    prop_assert_eq!(h.data_len, end);
    prop_assert_eq!(8 + h.header_len + sum, file_len);
    Ok(())
}

/// A mutation applied to a writer-style layout before it is written.
#[derive(Debug, Clone)]
enum Mutation {
    None,
    Offset { at: usize, end: bool, delta: i64 },
    Dim { at: usize, dim: usize, value: u64 },
    Dtype { at: usize, name: String },
    Duplicate { at: usize },
    Rename { at: usize, name: String },
    DataDelta(i64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::None),
        (any::<usize>(), any::<bool>(), -3i64..=3).prop_map(|(at, end, delta)| Mutation::Offset {
            at,
            end,
            delta
        }),
        (
            any::<usize>(),
            any::<usize>(),
            prop_oneof![0u64..8, Just(1 << 48), Just((1 << 48) + 1), Just(u64::MAX)]
        )
            .prop_map(|(at, dim, value)| Mutation::Dim { at, dim, value }),
        (
            any::<usize>(),
            prop_oneof![
                (0..Dtype::ALL.len()).prop_map(|i| Dtype::ALL[i].name().to_owned()),
                "[A-Z0-9_]{0,6}"
            ]
        )
            .prop_map(|(at, name)| Mutation::Dtype { at, name }),
        any::<usize>().prop_map(|at| Mutation::Duplicate { at }),
        (
            any::<usize>(),
            prop_oneof![Just(String::new()), Just("a\0b".to_owned()), "[a-z]{1,4}"]
        )
            .prop_map(|(at, name)| Mutation::Rename { at, name }),
        (-2i64..=2).prop_map(Mutation::DataDelta),
    ]
}

/// Applies `m`; returns the entries and the data length to write.
fn apply(m: &Mutation, mut entries: Vec<RawEntry>, data_len: u64) -> (Vec<RawEntry>, u64) {
    let n = entries.len();
    match m {
        Mutation::None => {}
        Mutation::Offset { at, end, delta } if n > 0 => {
            let o = &mut entries[at % n].data_offsets;
            let slot = if *end { &mut o.1 } else { &mut o.0 };
            *slot = slot.wrapping_add(*delta as u64);
        }
        Mutation::Dim { at, dim, value } if n > 0 => {
            let shape = &mut entries[at % n].shape;
            if !shape.is_empty() {
                let k = dim % shape.len();
                shape[k] = *value;
            }
        }
        Mutation::Dtype { at, name } if n > 0 => entries[at % n].dtype = name.clone(),
        Mutation::Duplicate { at } if n > 0 => {
            let copy = entries[at % n].clone();
            entries.push(copy);
        }
        Mutation::Rename { at, name } if n > 0 => entries[at % n].name = name.clone(),
        Mutation::DataDelta(d) => return (entries, data_len.saturating_add_signed(*d)),
        _ => {}
    }
    (entries, data_len)
}

fn file_of(entries: &[RawEntry], metadata: &[(String, String)], data_len: u64) -> Vec<u8> {
    assemble(
        raw_header(entries, metadata).as_bytes(),
        &vec![0xA5; data_len as usize],
    )
}

/// A header text that shuffles members and fields according to `seed`.
fn shuffled_header(entries: &[RawEntry], metadata: &[(String, String)], seed: u64) -> String {
    let mut members: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            const ORDERS: [[usize; 3]; 6] = [
                [0, 1, 2],
                [0, 2, 1],
                [1, 0, 2],
                [1, 2, 0],
                [2, 0, 1],
                [2, 1, 0],
            ];
            e.to_json(ORDERS[(seed as usize).wrapping_add(i * 7) % 6])
        })
        .collect();
    if !metadata.is_empty() {
        let text = raw_header(&[], metadata);
        members.push(text[1..text.len() - 1].to_owned());
    }
    // Fisher-Yates with a SplitMix64 stream.
    let mut s = seed;
    for i in (1..members.len()).rev() {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let j = ((z ^ (z >> 31)) % (i as u64 + 1)) as usize;
        members.swap(i, j);
    }
    format!("{{{}}}", members.join(","))
}

fn metadata() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map("[a-z]{1,6}", "[ -~]{0,12}", 0..3)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(config(4096))]

    /// Parsing never panics on arbitrary bytes, strict or lenient.
    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        for limits in [Limits::default(), Limits::default().lenient()] {
            let p = parse_header(&bytes, bytes.len() as u64, &limits);
            if p.is_valid() {
                check_accepted(p.header.as_ref().unwrap(), bytes.len() as u64)?;
            }
        }
    }

    /// Parsing never panics on a correct length prefix followed by JSON-like text, which
    /// gets past the framing checks into the JSON and entry validation.
    #[test]
    fn parse_never_panics_on_framed_json_like_text(
        text in r#"[ {}\[\],:"a-zA-Z0-9_.\-\\]{0,200}"#,
        data in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        let bytes = assemble(text.as_bytes(), &data);
        for limits in [Limits::default(), Limits::default().lenient()] {
            let p = parse_header(&bytes, bytes.len() as u64, &limits);
            if p.is_valid() {
                check_accepted(p.header.as_ref().unwrap(), bytes.len() as u64)?;
            }
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Whatever is accepted, even after a mutation, tiles exactly and covers the file.
    #[test]
    fn accepted_implies_exact_tiling(
        ts in tensors(),
        md in metadata(),
        m in mutation(),
        reverse in any::<bool>(),
    ) {
        let mut ts = ts;
        if reverse {
            ts.reverse();
        }
        let (entries, data_len) = contiguous(&ts);
        let (entries, data_len) = apply(&m, entries, data_len);
        let bytes = file_of(&entries, &md, data_len);
        let p = parse(&bytes);
        if let Some(h) = &p.header {
            prop_assert!(p.is_valid());
            check_accepted(h, bytes.len() as u64)?;
        }
        if matches!(m, Mutation::None) {
            prop_assert!(p.is_valid(), "{:?}", p.diagnostics);
        }
    }

    /// Writing then reading returns every tensor unchanged: names, dtypes, shapes, bytes.
    #[test]
    fn write_then_read_round_trips(ts in tensors(), md in metadata()) {
        let bytes = write(&ts, &md);
        let p = parse(&bytes);
        prop_assert!(p.is_valid(), "{:?}", p.diagnostics);
        let h = p.header.unwrap();
        check_accepted(&h, bytes.len() as u64)?;
        prop_assert_eq!(h.tensors.len(), ts.len());
        for (i, (name, dtype, shape)) in ts.iter().enumerate() {
            let t = h.tensor(name).expect("tensor present");
            prop_assert_eq!(t.dtype, *dtype);
            prop_assert_eq!(&t.shape, shape);
            // The writer aligns every tensor to its element size.
            prop_assert!(h.alignment(t).element_aligned);
            let start = (h.data_start() + t.data_offsets.0) as usize;
            let end = (h.data_start() + t.data_offsets.1) as usize;
            prop_assert_eq!(&bytes[start..end], &data_for(i, t.byte_len())[..]);
        }
        let want: std::collections::BTreeMap<String, String> = md.into_iter().collect();
        prop_assert_eq!(h.metadata.unwrap_or_default(), want);
    }

    /// Every truncation (to any shorter length) and every one-byte extension is rejected.
    #[test]
    fn truncation_and_extension_are_rejected(ts in tensors(), extra in any::<u8>()) {
        let bytes = write(&ts, &[]);
        for len in 0..bytes.len() {
            prop_assert!(!parse(&bytes[..len]).is_valid(), "truncated to {} accepted", len);
        }
        let mut longer = bytes.clone();
        longer.push(extra);
        prop_assert!(!parse(&longer).is_valid(), "extension accepted");
    }

    /// Changing any single offset by one is rejected.
    #[test]
    fn every_offset_change_by_one_is_rejected(ts in tensors(), md in metadata()) {
        let (entries, data_len) = contiguous(&ts);
        prop_assert!(parse(&file_of(&entries, &md, data_len)).is_valid());
        for i in 0..entries.len() {
            for end in [false, true] {
                for delta in [1u64, u64::MAX] {
                    let mut es = entries.clone();
                    let o = &mut es[i].data_offsets;
                    let slot = if end { &mut o.1 } else { &mut o.0 };
                    *slot = slot.wrapping_add(delta);
                    let p = parse(&file_of(&es, &md, data_len));
                    prop_assert!(!p.is_valid(), "{} {:?} accepted", es[i].name, es[i].data_offsets);
                }
            }
        }
    }

    /// The order of JSON members (entries, `__metadata__`) and of the fields inside each
    /// entry never changes the verdict or the set of error codes.
    #[test]
    fn json_key_order_never_changes_the_verdict(
        ts in tensors(),
        md in metadata(),
        m in mutation(),
        seed in any::<u64>(),
    ) {
        let (entries, data_len) = contiguous(&ts);
        let (entries, data_len) = apply(&m, entries, data_len);
        let data = vec![0xA5; data_len as usize];
        let base = parse(&assemble(raw_header(&entries, &md).as_bytes(), &data));
        let shuffled = parse(&assemble(shuffled_header(&entries, &md, seed).as_bytes(), &data));
        prop_assert_eq!(base.is_valid(), shuffled.is_valid());
        prop_assert_eq!(error_codes(&base), error_codes(&shuffled));
        if let (Some(a), Some(b)) = (&base.header, &shuffled.header) {
            prop_assert_eq!(&a.tensors, &b.tensors);
        }
    }

    /// Tensors laid out in any order after a header of any length: the alignment report
    /// equals the absolute offset modulo the element size and modulo 256.
    #[test]
    fn alignment_report_equals_abs_offset_mod_align(
        ts in tensors(),
        md in metadata(),
        pad in 0usize..300,
    ) {
        let (entries, data_len) = contiguous(&ts);
        let mut text = raw_header(&entries, &md);
        text.push_str(&" ".repeat(pad));
        let bytes = assemble(text.as_bytes(), &vec![1; data_len as usize]);
        let p = parse(&bytes);
        prop_assert!(p.is_valid(), "{:?}", p.diagnostics);
        check_accepted(p.header.as_ref().unwrap(), bytes.len() as u64)?;
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// Through files: the mapped reader's views and the header-only reader agree with the
    /// in-memory parse, and every view is exactly as long as its shape and dtype need.
    #[test]
    fn file_readers_give_views_of_the_right_length(ts in tensors(), md in metadata()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let bytes = write(&ts, &md);
        std::fs::write(&path, &bytes).unwrap();
        let limits = Limits::default();
        let f = SafeTensorsFile::open(&path, &limits).unwrap();
        let ho = HeaderOnly::open(&path, &limits).unwrap();
        prop_assert_eq!(f.header(), &ho.header);
        prop_assert_eq!(f.tensors().count(), ts.len());
        for v in f.tensors() {
            prop_assert_eq!(v.data.len() as u64, byte_count(v.shape, v.dtype).unwrap());
            let i = ts.iter().position(|t| t.0 == v.name).unwrap();
            prop_assert_eq!(v.data, &data_for(i, v.data.len() as u64)[..]);
            prop_assert_eq!(v.file_offset, f.alignment(f.header().tensor(v.name).unwrap()).file_offset);
        }
    }
}

/// Every dtype round-trips with a scalar, an empty and a regular shape, in one file.
#[test]
fn every_dtype_round_trips_with_empty_and_scalar_shapes() {
    let mut ts: Tensors = Vec::new();
    for d in Dtype::ALL {
        // Scalars of sub-byte dtypes are not whole bytes; everything else is.
        let shapes: Vec<Vec<u64>> = if d.bits() % 8 == 0 {
            vec![vec![], vec![0], vec![3, 0, 2], vec![2, 4]]
        } else {
            vec![vec![0], vec![3, 0, 2], vec![2, 4]]
        };
        for (k, shape) in shapes.into_iter().enumerate() {
            ts.push((format!("{d}.{k}"), d, shape));
        }
    }
    let bytes = write(&ts, &[("format".into(), "pt".into())]);
    let p = parse(&bytes);
    assert!(p.is_valid(), "{:?}", p.diagnostics);
    let h = p.header.unwrap();
    assert_eq!(h.tensors.len(), ts.len());
    for (i, (name, dtype, shape)) in ts.iter().enumerate() {
        let t = h.tensor(name).unwrap();
        assert_eq!((t.dtype, &t.shape), (*dtype, shape));
        let start = (h.data_start() + t.data_offsets.0) as usize;
        let end = (h.data_start() + t.data_offsets.1) as usize;
        assert_eq!(&bytes[start..end], &data_for(i, t.byte_len())[..], "{name}");
    }
    for d in [Dtype::F4, Dtype::F6_E2M3, Dtype::F6_E3M2] {
        let mut w = Writer::new();
        assert!(w.add("s", d, vec![], Vec::new()).is_err(), "{d} scalar");
    }
}
