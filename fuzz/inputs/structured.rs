//! Structure-aware mutations of valid files (spec, "Fuzz targets"): `arbitrary` picks
//! tensors, lays them out like a writer would, then applies one mutation (prefix skew,
//! offset ±k, a dimension set to 0 or 2^k, a bad dtype, a duplicate key, trailing bytes,
//! truncation, a byte flip, member reordering). Unmutated files must be accepted; every
//! accepted file must tile exactly; an offset or size mutation must be rejected.
//!
//! Shared by `fuzz/fuzz_targets/structured.rs` and `tests/fuzz_regressions.rs` (`#[path]`).

use arbitrary::Arbitrary;
use safeweights::container::{byte_count, parse_header, Limits};
use safeweights::dtype::Dtype;
use safeweights::gen::hostile::{assemble, contiguous, raw_header, RawEntry};

/// An edit of the assembled file's bytes.
type ByteEdit = Box<dyn Fn(&mut Vec<u8>)>;

#[derive(Debug, Arbitrary)]
pub struct Tensor {
    name: String,
    dtype: u8,
    dims: Vec<u8>,
}

#[derive(Debug, Arbitrary)]
pub enum Mutation {
    None,
    PrefixSkew(i8),
    Offset {
        tensor: u8,
        end: bool,
        delta: i8,
    },
    Dim {
        tensor: u8,
        dim: u8,
        value: DimValue,
    },
    Dtype {
        tensor: u8,
        name: String,
    },
    DuplicateKey {
        tensor: u8,
    },
    Trailing(Vec<u8>),
    Truncate(u16),
    Flip {
        at: u16,
        byte: u8,
    },
    Reverse,
    Pad {
        leading: u8,
        trailing: u8,
    },
}

#[derive(Debug, Arbitrary)]
pub enum DimValue {
    Zero,
    Pow2(u8),
    Raw(u64),
}

#[derive(Debug, Arbitrary)]
pub struct Input {
    tensors: Vec<Tensor>,
    metadata: Vec<(String, String)>,
    mutation: Mutation,
}

/// The check: see the module documentation.
pub fn run(input: Input) {
    let mut seen = std::collections::HashSet::new();
    let tensors: Vec<(String, Dtype, Vec<u64>)> = input
        .tensors
        .iter()
        .take(16)
        .filter(|t| {
            !t.name.is_empty()
                && t.name.len() <= 4096
                && !t.name.contains('\0')
                && t.name != "__metadata__"
                && seen.insert(t.name.clone())
        })
        .map(|t| {
            let dtype = Dtype::ALL[t.dtype as usize % Dtype::ALL.len()];
            let mut shape: Vec<u64> = t.dims.iter().take(4).map(|&d| u64::from(d % 9)).collect();
            // Sub-byte dtypes need a whole number of bytes: pad with a dimension of 8.
            if byte_count(&shape, dtype).is_err() {
                shape.push(8);
            }
            (t.name.clone(), dtype, shape)
        })
        .collect();
    let mut metadata = input.metadata;
    metadata.sort();
    metadata.dedup_by(|a, b| a.0 == b.0);
    let (mut entries, data_len) = contiguous(&tensors);
    let data = vec![0x5au8; data_len as usize];
    let pick = |i: u8, n: usize| (n > 0).then(|| i as usize % n);

    let mut must_reject = false;
    let mut pad = (0, 0);
    let mut bytes_edit: Option<ByteEdit> = None;
    match input.mutation {
        Mutation::None => {}
        Mutation::PrefixSkew(k) => {
            must_reject = k != 0;
            bytes_edit = Some(Box::new(move |b: &mut Vec<u8>| {
                let n = u64::from_le_bytes(b[..8].try_into().unwrap());
                b[..8].copy_from_slice(&n.wrapping_add(k as i64 as u64).to_le_bytes());
            }));
        }
        Mutation::Offset { tensor, end, delta } => {
            if let Some(i) = pick(tensor, entries.len()) {
                let o = &mut entries[i].data_offsets;
                let slot = if end { &mut o.1 } else { &mut o.0 };
                *slot = slot.wrapping_add(delta as i64 as u64);
                must_reject = delta != 0;
            }
        }
        Mutation::Dim { tensor, dim, value } => {
            if let Some(i) = pick(tensor, entries.len()) {
                let shape = &mut entries[i].shape;
                if let Some(d) = pick(dim, shape.len()) {
                    shape[d] = match value {
                        DimValue::Zero => 0,
                        DimValue::Pow2(k) => 1u64.checked_shl(k as u32 % 64).unwrap_or(0),
                        DimValue::Raw(x) => x,
                    };
                }
            }
        }
        Mutation::Dtype { tensor, name } => {
            if let Some(i) = pick(tensor, entries.len()) {
                entries[i].dtype = name;
            }
        }
        Mutation::DuplicateKey { tensor } => {
            if let Some(i) = pick(tensor, entries.len()) {
                let copy = entries[i].clone();
                entries.push(copy);
                must_reject = true;
            }
        }
        Mutation::Trailing(extra) => {
            must_reject = !extra.is_empty();
            bytes_edit = Some(Box::new(move |b: &mut Vec<u8>| b.extend_from_slice(&extra)));
        }
        Mutation::Truncate(k) => {
            must_reject = k != 0;
            bytes_edit = Some(Box::new(move |b: &mut Vec<u8>| {
                let keep = b.len().saturating_sub(k as usize);
                b.truncate(keep)
            }));
        }
        Mutation::Flip { at, byte } => {
            bytes_edit = Some(Box::new(move |b: &mut Vec<u8>| {
                let i = at as usize % b.len();
                b[i] = byte;
            }));
        }
        Mutation::Reverse => entries.reverse(),
        Mutation::Pad { leading, trailing } => pad = (leading % 16, trailing % 16),
    }
    let mut header = " ".repeat(pad.0 as usize);
    header.push_str(&raw_header(&entries, &metadata));
    header.push_str(&" ".repeat(pad.1 as usize));
    let mut file = assemble(header.as_bytes(), &data);
    let unmutated = bytes_edit.is_none() && entries_unchanged(&entries, &tensors);
    if let Some(edit) = bytes_edit {
        edit(&mut file);
    }

    let len = file.len() as u64;
    let parsed = parse_header(&file, len, &Limits::default());
    if unmutated && !must_reject {
        assert!(
            parsed.is_valid(),
            "valid layout rejected: {:?}",
            parsed.diagnostics
        );
    }
    if must_reject {
        assert!(!parsed.is_valid(), "mutated file accepted");
    }
    if let Some(h) = parsed.header {
        let mut end = 0;
        for t in &h.tensors {
            assert_eq!(t.data_offsets.0, end);
            assert_eq!(byte_count(&t.shape, t.dtype).unwrap(), t.byte_len());
            end = t.data_offsets.1;
        }
        assert_eq!(8 + h.header_len + end, len);
    }
}

/// True when the entries are the writer-style layout of `tensors`, in any order.
fn entries_unchanged(entries: &[RawEntry], tensors: &[(String, Dtype, Vec<u64>)]) -> bool {
    let (original, _) = contiguous(tensors);
    entries.len() == original.len() && original.iter().all(|o| entries.contains(o))
}
