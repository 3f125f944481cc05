//! The SafeTensors header: length prefix, JSON text, tensor entries, offsets.
//!
//! [`parse_header`] is pure: it takes the first `8 + N` bytes of a file (or the whole
//! file) and the file's real length, and returns the validated [`Header`] together with
//! every finding. The rules and the places where we are stricter than the reference
//! crate are in specs/safetensors_validation.md ("Implications for our validator") and
//! docs/differential.md.

use super::json::{self, BorrowedValue, JsonError};
use super::sniff::sniff;
use crate::diag::{Diagnostic, Severity};
use crate::dtype::Dtype;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// The reference crate's header cap (`MAX_HEADER_SIZE`), our default.
pub const DEFAULT_MAX_HEADER_BYTES: u64 = 100_000_000;
/// The highest cap one may configure: 256 MiB (1.29M-tensor headers exist, safetensors#668).
pub const MAX_CONFIGURABLE_HEADER_BYTES: u64 = 256 * 1024 * 1024;
/// Largest accepted dimension: 2^48.
pub const MAX_DIM: u64 = 1 << 48;
/// Device alignment reported for each tensor (cuBLAS and vectorised loads want 256 bytes).
pub const DEVICE_ALIGN: u64 = 256;

/// What to do with a file that has errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Reject the file; report every error found (the default).
    #[default]
    Strict,
    /// Keep the valid entries, report each dropped one and summarise (salvage, inspection).
    Lenient,
}

/// Bounds applied while parsing untrusted headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted header length N, in bytes.
    pub max_header_bytes: u64,
    /// Largest accepted rank.
    pub max_rank: usize,
    /// Longest accepted tensor name, in bytes.
    pub max_name_len: usize,
    /// Strict or lenient handling of errors.
    pub mode: Mode,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_rank: 8,
            max_name_len: 4096,
            mode: Mode::Strict,
        }
    }
}

impl Limits {
    /// Sets the header cap; fails above [`MAX_CONFIGURABLE_HEADER_BYTES`].
    pub fn with_max_header_bytes(mut self, bytes: u64) -> Result<Self, String> {
        if bytes > MAX_CONFIGURABLE_HEADER_BYTES {
            return Err(format!(
                "header cap {bytes} is above the maximum of {MAX_CONFIGURABLE_HEADER_BYTES} bytes (256 MiB)"
            ));
        }
        self.max_header_bytes = bytes;
        Ok(self)
    }

    /// Switches to lenient mode.
    pub fn lenient(mut self) -> Self {
        self.mode = Mode::Lenient;
        self
    }
}

/// One tensor entry of a validated header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// Tensor name.
    pub name: String,
    /// Element type.
    pub dtype: Dtype,
    /// Dimensions (empty for a 0-rank scalar).
    pub shape: Vec<u64>,
    /// `[start, end)` relative to the start of the data region.
    pub data_offsets: (u64, u64),
}

impl TensorInfo {
    /// Number of bytes of data.
    pub fn byte_len(&self) -> u64 {
        self.data_offsets.1 - self.data_offsets.0
    }

    /// Number of elements (1 for a scalar).
    pub fn numel(&self) -> u64 {
        self.shape.iter().product()
    }
}

/// Where a tensor's data lies relative to alignment boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alignment {
    /// Absolute byte offset of the first data byte in the file.
    pub file_offset: u64,
    /// `file_offset % element size` is 0.
    pub element_aligned: bool,
    /// `file_offset % 256`.
    pub mod_256: u64,
}

impl Alignment {
    /// True when a device copy can use the mapped bytes directly.
    pub fn aligned_256(&self) -> bool {
        self.mod_256 == 0
    }
}

/// A validated header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// N: the header's length in bytes, without the 8-byte prefix.
    pub header_len: u64,
    /// `__metadata__`, when present.
    pub metadata: Option<BTreeMap<String, String>>,
    /// Tensor entries sorted by data offset (then name).
    pub tensors: Vec<TensorInfo>,
    /// Length of the data region (largest end offset).
    pub data_len: u64,
    /// The file's length in bytes.
    pub file_len: u64,
    /// Positions in `tensors`, sorted by name (names are unique in a valid header).
    by_name: Vec<usize>,
}

impl Header {
    /// Absolute file offset of the data region: 8 + N.
    pub fn data_start(&self) -> u64 {
        8 + self.header_len
    }

    /// Looks a tensor up by name.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.by_name
            .binary_search_by(|&i| self.tensors[i].name.as_str().cmp(name))
            .ok()
            .map(|k| &self.tensors[self.by_name[k]])
    }

    /// Alignment report of a tensor of this header.
    pub fn alignment(&self, t: &TensorInfo) -> Alignment {
        let file_offset = self.data_start() + t.data_offsets.0;
        Alignment {
            file_offset,
            element_aligned: file_offset % t.dtype.align_bytes() == 0,
            mod_256: file_offset % DEVICE_ALIGN,
        }
    }

    /// Sum of all tensors' bytes.
    pub fn total_tensor_bytes(&self) -> u64 {
        self.tensors.iter().map(TensorInfo::byte_len).sum()
    }
}

/// The outcome of parsing: the header when it can be trusted, and every finding.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// `Some` when strict mode found no error, or in lenient mode when the header text
    /// itself was readable (then it holds the kept entries only).
    pub header: Option<Header>,
    /// Every finding, in order of discovery.
    pub diagnostics: Vec<Diagnostic>,
    /// Number of tensor entries in the header text (kept or not).
    pub entries_seen: usize,
}

impl Parsed {
    /// True when no finding is an error.
    pub fn is_valid(&self) -> bool {
        !crate::diag::has_errors(&self.diagnostics)
    }
}

/// Reads the length prefix N, bounded by the cap and by the file length.
///
/// `prefix` holds at least the file's first 8 bytes when the file has that many.
/// Returns N, or the finding that stops parsing. `8 + N` is never formed unchecked.
pub fn read_header_len(prefix: &[u8], file_len: u64, limits: &Limits) -> Result<u64, Diagnostic> {
    let wrong = |d: Diagnostic| match sniff(prefix) {
        Some(kind) => Diagnostic::error("ST002", format!("this file is {}", kind.describe()))
            .advice(kind.advice()),
        None => d,
    };
    if file_len < 8 || prefix.len() < 8 {
        return Err(wrong(
            Diagnostic::error(
                "ST001",
                format!("file is {file_len} bytes, shorter than the 8-byte header length prefix"),
            )
            .advice("the file is empty or truncated; download it again"),
        ));
    }
    let n = u64::from_le_bytes(prefix[..8].try_into().expect("8 bytes"));
    if n > limits.max_header_bytes {
        return Err(wrong(
            Diagnostic::error(
                "ST005",
                format!(
                    "header length {n} exceeds the cap of {} bytes",
                    limits.max_header_bytes
                ),
            )
            .advice(
                "if this is a real header, raise the cap with --max-header-bytes (at most 256 MiB)",
            ),
        ));
    }
    let room = file_len - 8;
    if n > room {
        return Err(wrong(
            Diagnostic::error(
                "ST006",
                format!("header length {n} runs past the end of the {file_len}-byte file"),
            )
            .advice("the file is truncated or not SafeTensors; download it again"),
        ));
    }
    Ok(n)
}

/// Parses and validates a header.
///
/// `prefix` is the file's first `8 + N` bytes or more (the whole file is fine);
/// `file_len` is the real length of the file on disk.
pub fn parse_header(prefix: &[u8], file_len: u64, limits: &Limits) -> Parsed {
    let mut out = Parsed {
        header: None,
        diagnostics: Vec::new(),
        entries_seen: 0,
    };
    let n = match read_header_len(prefix, file_len, limits) {
        Ok(n) => n,
        Err(d) => {
            out.diagnostics.push(d);
            return out;
        }
    };
    // n <= file_len - 8 was checked, so 8 + n cannot overflow.
    let end = 8 + n as usize;
    if prefix.len() < end {
        out.diagnostics.push(
            Diagnostic::error(
                "ST006",
                format!(
                    "only {} of the {} header bytes were available",
                    prefix.len(),
                    end
                ),
            )
            .advice("the file changed while it was read, or is truncated; read it again"),
        );
        return out;
    }
    let text = &prefix[8..end];
    let root = match header_json(text) {
        Ok(v) => v,
        Err(d) => {
            out.diagnostics.push(d);
            return out;
        }
    };
    let BorrowedValue::Object(members) = root else {
        out.diagnostics.push(
            Diagnostic::error(
                "ST012",
                format!("header is {}, not a JSON object", root.kind()),
            )
            .advice("the header must be one JSON object mapping tensor names to entries"),
        );
        return out;
    };
    validate_members(members, n, file_len, limits, &mut out);
    out
}

fn header_json(text: &[u8]) -> Result<BorrowedValue<'_>, Diagnostic> {
    if text.starts_with(b"\xEF\xBB\xBF") {
        return Err(
            Diagnostic::error("ST007", "header starts with a UTF-8 byte-order mark")
                .advice("rewrite the file without a BOM; SafeTensors headers are plain UTF-8 JSON"),
        );
    }
    // `contains` on bytes is a vectorised memchr; find the position only to report it.
    if text.contains(&0) {
        let pos = text.iter().position(|&b| b == 0).unwrap_or_default();
        return Err(Diagnostic::error("ST008", format!("header contains a NUL byte at header offset {pos}"))
            .advice("headers are padded with spaces, never NULs; the writer is broken or the file is corrupt"));
    }
    let text = std::str::from_utf8(text).map_err(|e| {
        Diagnostic::error("ST009", format!("header is not valid UTF-8 ({e})"))
            .advice("the file is corrupt or not SafeTensors")
    })?;
    json::parse_borrowed(text).map_err(|e| match e {
        JsonError::Syntax(m) => {
            Diagnostic::error("ST010", format!("header is not valid JSON: {m}"))
                .advice("the file is corrupt or not SafeTensors; download or export it again")
        }
        JsonError::TrailingCharacters(m) => Diagnostic::error(
            "ST011",
            format!("header has data after its JSON object: {m}"),
        )
        .advice("only spaces may pad the header; this may be a polyglot file"),
    })
}

/// Per-entry result of the field checks.
struct Entry {
    name: String,
    dtype: Option<Dtype>,
    shape: Option<Vec<u64>>,
    offsets: Option<(u64, u64)>,
    /// The first error found in this entry; `None` while it is valid.
    first_error: Option<&'static str>,
}

fn validate_members(
    members: Vec<(Cow<'_, str>, BorrowedValue<'_>)>,
    n: u64,
    file_len: u64,
    limits: &Limits,
    out: &mut Parsed,
) {
    let diags = &mut out.diagnostics;
    let lenient = limits.mode == Mode::Lenient;
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(members.len());
    for (k, _) in &members {
        *seen.entry(k.as_ref()).or_default() += 1;
    }
    // Each key was counted once per occurrence: fewer keys than members means duplicates.
    let any_duplicate = seen.len() < members.len();
    let mut dup_reported = std::collections::HashSet::new();
    for (k, _) in members.iter().filter(|_| any_duplicate) {
        if seen[k.as_ref()] > 1 && dup_reported.insert(k.as_ref()) {
            diags.push(
                Diagnostic::error(
                    "ST013",
                    format!(
                        "key appears {} times in the header; readers disagree on which wins",
                        seen[k.as_ref()]
                    ),
                )
                .tensor(k.clone())
                .advice("rewrite the file so every tensor name appears once"),
            );
        }
    }
    let duplicated: std::collections::HashSet<String> = seen
        .iter()
        .filter(|(_, &c)| c > 1)
        .map(|(k, _)| (*k).to_owned())
        .collect();

    let mut metadata = None;
    let mut entries = Vec::with_capacity(members.len());
    let mut metadata_done = false;
    for (key, value) in members {
        if key == "__metadata__" {
            if metadata_done {
                continue;
            }
            metadata_done = true;
            metadata = parse_metadata(value, diags);
            continue;
        }
        out.entries_seen += 1;
        let mut e = check_entry(key.into_owned(), value, limits, diags);
        if !duplicated.is_empty() && duplicated.contains(&e.name) {
            e.fail("ST013");
        }
        entries.push(e);
    }

    // Order of each entry's offsets, then its byte count where shape and dtype are known.
    for e in entries.iter_mut() {
        let Some((s, end)) = e.offsets else { continue };
        if s > end {
            diags.push(
                Diagnostic::error(
                    "ST030",
                    format!("data_offsets [{s}, {end}] end before they start"),
                )
                .tensor(e.name.clone())
                .advice("the header is corrupt; re-export the file"),
            );
            e.fail("ST030");
            continue;
        }
        let (Some(shape), Some(dtype)) = (e.shape.as_ref(), e.dtype) else {
            continue;
        };
        match byte_count(shape, dtype) {
            Ok(bytes) if bytes != end - s => {
                diags.push(
                    Diagnostic::error(
                        "ST031",
                        format!(
                            "{dtype} {shape:?} needs {bytes} bytes but data_offsets [{s}, {end}] span {}",
                            end - s
                        ),
                    )
                    .tensor(e.name.clone())
                    .advice("shape, dtype and offsets disagree; the header is corrupt or hand-edited"),
                );
                e.fail("ST031");
            }
            Ok(_) => {}
            Err(d) => {
                let code = d.code;
                diags.push(d.tensor(e.name.clone()));
                e.fail(code);
            }
        }
    }

    // Tiling of [0, data_len): every entry with ordered offsets takes part, kept or not,
    // so that one bad entry cannot hide an overlap.
    let mut ranged: Vec<(u64, u64, usize)> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            e.offsets
                .filter(|(s, end)| s <= end)
                .map(|(s, end)| (s, end, i))
        })
        .collect();
    ranged.sort_by(|a, b| (a.0, a.1, &entries[a.2].name).cmp(&(b.0, b.1, &entries[b.2].name)));
    let mut expected = 0u64;
    let mut last: Option<usize> = None;
    let mut overlapping = Vec::new();
    for &(s, end, i) in &ranged {
        if s > expected {
            diags.push(
                Diagnostic::error(
                    "ST032",
                    format!("{} unused data bytes before this tensor (gap [{expected}, {s}))", s - expected),
                )
                .tensor(entries[i].name.clone())
                .advice("data must tile the region exactly; the header is corrupt or the file was hand-edited"),
            );
        } else if s < expected {
            let other = last.map(|j| entries[j].name.clone()).unwrap_or_default();
            diags.push(
                Diagnostic::error(
                    "ST033",
                    format!("data [{s}, {end}) overlaps the data of `{other}` (which ends at {expected})"),
                )
                .tensor(entries[i].name.clone())
                .advice("two tensors share bytes (aliasing); re-export the file"),
            );
            overlapping.push(i);
            if let Some(j) = last {
                overlapping.push(j);
            }
        }
        if end >= expected {
            expected = end;
            last = Some(i);
        }
    }
    for i in overlapping {
        entries[i].fail("ST033");
    }
    let data_len = expected;
    let room = file_len - 8 - n;
    if data_len > room {
        diags.push(
            Diagnostic::error(
                "ST035",
                format!("tensor data needs {data_len} bytes but only {room} follow the header"),
            )
            .advice("the file is truncated (an interrupted download?); download it again"),
        );
        for e in entries.iter_mut() {
            if e.offsets.is_some_and(|(_, end)| end > room) {
                e.fail("ST035");
            }
        }
    } else if data_len < room
        && entries
            .iter()
            .all(|e| e.offsets.is_some_and(|(s, end)| s <= end))
    {
        // Only when every entry's range is known: bytes after the last known range may
        // belong to an entry whose offsets were unreadable (already an error), and calling
        // them trailing data would send the reader after a polyglot that is not there.
        diags.push(
            Diagnostic::error(
                "ST034",
                format!("{} bytes follow the last tensor's data", room - data_len),
            )
            .advice("trailing bytes are not allowed (polyglot files hide other formats there); strip them or re-export"),
        );
    }

    if lenient {
        finish_lenient(entries, metadata, n, file_len, out);
    } else if !crate::diag::has_errors(&out.diagnostics) {
        let tensors = entries
            .into_iter()
            .map(|e| TensorInfo {
                name: e.name,
                dtype: e.dtype.expect("valid"),
                shape: e.shape.expect("valid"),
                data_offsets: e.offsets.expect("valid"),
            })
            .collect();
        out.header = Some(build_header(tensors, metadata, n, file_len));
    }
}

impl Entry {
    fn fail(&mut self, code: &'static str) {
        self.first_error.get_or_insert(code);
    }
}

fn finish_lenient(
    entries: Vec<Entry>,
    metadata: Option<BTreeMap<String, String>>,
    n: u64,
    file_len: u64,
    out: &mut Parsed,
) {
    let total = entries.len();
    let mut reasons: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut kept = Vec::new();
    for e in entries {
        if let Some(reason) = e.first_error {
            *reasons.entry(reason).or_default() += 1;
            out.diagnostics.push(
                Diagnostic::warning(
                    "ST036",
                    format!("dropped this entry (first reason {reason})"),
                )
                .tensor(e.name)
                .advice("lenient mode keeps only entries that validate on their own"),
            );
        } else {
            kept.push(TensorInfo {
                name: e.name,
                dtype: e.dtype.expect("valid"),
                shape: e.shape.expect("valid"),
                data_offsets: e.offsets.expect("valid"),
            });
        }
    }
    let summary = if reasons.is_empty() {
        "nothing dropped".to_owned()
    } else {
        reasons
            .iter()
            .map(|(c, k)| format!("{c}: {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.diagnostics.push(Diagnostic::info(
        "ST037",
        format!(
            "lenient read kept {} of {total} tensors; dropped by reason: {summary}",
            kept.len()
        ),
    ));
    out.header = Some(build_header(kept, metadata, n, file_len));
}

fn build_header(
    mut tensors: Vec<TensorInfo>,
    metadata: Option<BTreeMap<String, String>>,
    n: u64,
    file_len: u64,
) -> Header {
    tensors.sort_by(|a, b| (a.data_offsets, &a.name).cmp(&(b.data_offsets, &b.name)));
    let data_len = tensors.iter().map(|t| t.data_offsets.1).max().unwrap_or(0);
    // A sorted index instead of a name map: no name is copied or hashed.
    let mut by_name: Vec<usize> = (0..tensors.len()).collect();
    by_name.sort_unstable_by(|&a, &b| tensors[a].name.cmp(&tensors[b].name));
    Header {
        header_len: n,
        metadata,
        tensors,
        data_len,
        file_len,
        by_name,
    }
}

fn parse_metadata(
    value: BorrowedValue<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<BTreeMap<String, String>> {
    match value {
        BorrowedValue::Null => {
            diags.push(
                Diagnostic::warning("ST015", "`__metadata__` is null")
                    .tensor("__metadata__")
                    .advice("omit `__metadata__` or make it a string-to-string map"),
            );
            None
        }
        BorrowedValue::Object(items) => {
            let mut map = BTreeMap::new();
            for (k, v) in items {
                match v {
                    BorrowedValue::String(s) => {
                        if map.insert(k.to_string(), s.into_owned()).is_some() {
                            diags.push(
                                Diagnostic::error(
                                    "ST013",
                                    format!("`__metadata__` has the key `{k}` twice"),
                                )
                                .tensor("__metadata__")
                                .advice("rewrite the file so every metadata key appears once"),
                            );
                        }
                    }
                    other => diags.push(
                        Diagnostic::error(
                            "ST014",
                            format!("`__metadata__`.`{k}` is {}, not a string", other.kind()),
                        )
                        .tensor("__metadata__")
                        .advice("metadata values must be strings; store numbers as text"),
                    ),
                }
            }
            Some(map)
        }
        other => {
            diags.push(
                Diagnostic::error(
                    "ST014",
                    format!("`__metadata__` is {}, not an object", other.kind()),
                )
                .tensor("__metadata__")
                .advice("`__metadata__` must map strings to strings"),
            );
            None
        }
    }
}

fn check_entry(
    name: String,
    value: BorrowedValue<'_>,
    limits: &Limits,
    diags: &mut Vec<Diagnostic>,
) -> Entry {
    let mut e = Entry {
        name,
        dtype: None,
        shape: None,
        offsets: None,
        first_error: None,
    };
    if e.name.is_empty() {
        diags.push(
            Diagnostic::error("ST019", "a tensor has an empty name")
                .tensor("")
                .advice("give every tensor a name"),
        );
        e.fail("ST019");
    }
    if e.name.contains('\0') {
        diags.push(
            Diagnostic::error("ST020", "tensor name contains a NUL character")
                .tensor(display_name(&e.name))
                .advice("NUL in names breaks C-string consumers; rename the tensor"),
        );
        e.fail("ST020");
    }
    if e.name.len() > limits.max_name_len {
        diags.push(
            Diagnostic::error(
                "ST021",
                format!(
                    "tensor name is {} bytes, above the cap of {}",
                    e.name.len(),
                    limits.max_name_len
                ),
            )
            .tensor(display_name(&e.name))
            .advice("tensor names this long are an attack or a bug; rename the tensor"),
        );
        e.fail("ST021");
    }
    let BorrowedValue::Object(fields) = value else {
        diags.push(
            Diagnostic::error("ST016", format!("entry is {}, not an object", value.kind()))
                .tensor(display_name(&e.name))
                .advice("each tensor entry must be {\"dtype\", \"shape\", \"data_offsets\"}"),
        );
        e.fail("ST016");
        return e;
    };
    // Entries have three fields: a sorted small vector beats a map here.
    let mut counts: Vec<(&str, usize)> = Vec::with_capacity(fields.len());
    for (k, _) in &fields {
        match counts.iter_mut().find(|(name, _)| *name == k.as_ref()) {
            Some((_, c)) => *c += 1,
            None => counts.push((k.as_ref(), 1)),
        }
    }
    counts.sort_unstable();
    for (k, c) in &counts {
        if *c > 1 {
            diags.push(
                Diagnostic::error(
                    "ST013",
                    format!("field `{k}` appears {c} times in this entry"),
                )
                .tensor(display_name(&e.name))
                .advice("rewrite the file so every field appears once"),
            );
            e.fail("ST013");
        }
    }
    for required in ["dtype", "shape", "data_offsets"] {
        if !counts.iter().any(|(name, _)| *name == required) {
            diags.push(
                Diagnostic::error("ST017", format!("entry has no `{required}` field"))
                    .tensor(display_name(&e.name))
                    .advice("each tensor entry needs dtype, shape and data_offsets"),
            );
            e.fail("ST017");
        }
    }
    for (k, v) in fields {
        match k.as_ref() {
            "dtype" => match v {
                BorrowedValue::String(s) => match Dtype::from_name(&s) {
                    Some(d) => e.dtype = Some(d),
                    None => {
                        diags.push(
                            Diagnostic::error("ST023", format!("unknown dtype `{}`", truncate(&s, 40)))
                                .tensor(display_name(&e.name))
                                .advice("dtype names are case-sensitive, e.g. F32, BF16, F8_E4M3; see docs/diagnostics.md"),
                        );
                        e.fail("ST023");
                    }
                },
                other => {
                    diags.push(
                        Diagnostic::error(
                            "ST022",
                            format!("dtype is {}, not a string", other.kind()),
                        )
                        .tensor(display_name(&e.name))
                        .advice("dtype must be a string such as \"BF16\""),
                    );
                    e.fail("ST022");
                }
            },
            "shape" => match parse_shape(&v, limits) {
                Ok(s) => e.shape = Some(s),
                Err(d) => {
                    let code = d.code;
                    diags.push(d.tensor(display_name(&e.name)));
                    e.fail(code);
                }
            },
            "data_offsets" => match parse_offsets(&v) {
                Ok(o) => e.offsets = Some(o),
                Err(d) => {
                    diags.push(d.tensor(display_name(&e.name)));
                    e.fail("ST029");
                }
            },
            other => {
                let severity = if limits.mode == Mode::Strict {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                diags.push(
                    Diagnostic::new("ST018", severity, format!("unknown field `{}` in entry", truncate(other, 40)))
                        .tensor(display_name(&e.name))
                        .advice("entries hold only dtype, shape and data_offsets; use __metadata__ for anything else"),
                );
                if severity == Severity::Error {
                    e.fail("ST018");
                }
            }
        }
    }
    e
}

fn parse_shape(v: &BorrowedValue<'_>, limits: &Limits) -> Result<Vec<u64>, Diagnostic> {
    let BorrowedValue::Array(items) = v else {
        return Err(
            Diagnostic::error("ST024", format!("shape is {}, not an array", v.kind()))
                .advice("shape must be an array of non-negative integers"),
        );
    };
    if items.len() > limits.max_rank {
        return Err(Diagnostic::error(
            "ST025",
            format!(
                "rank {} exceeds the cap of {}",
                items.len(),
                limits.max_rank
            ),
        )
        .advice("no model tensor has this many dimensions; the header is corrupt or hostile"));
    }
    let mut dims = Vec::with_capacity(items.len());
    for (i, d) in items.iter().enumerate() {
        let Some(x) = d.as_u64() else {
            return Err(Diagnostic::error(
                "ST024",
                format!("shape[{i}] is {}, not a non-negative integer", d.kind()),
            )
            .advice("shape must be an array of non-negative integers"));
        };
        if x > MAX_DIM {
            return Err(
                Diagnostic::error("ST026", format!("shape[{i}] = {x} exceeds 2^48"))
                    .advice("no real tensor is this large; the header is corrupt or hostile"),
            );
        }
        dims.push(x);
    }
    Ok(dims)
}

fn parse_offsets(v: &BorrowedValue<'_>) -> Result<(u64, u64), Diagnostic> {
    let bad = |what: String| {
        Diagnostic::error("ST029", format!("data_offsets {what}"))
            .advice("data_offsets must be [start, end], two non-negative integers")
    };
    let BorrowedValue::Array(items) = v else {
        return Err(bad(format!("is {}, not an array", v.kind())));
    };
    if items.len() != 2 {
        return Err(bad(format!("has {} elements, not 2", items.len())));
    }
    match (items[0].as_u64(), items[1].as_u64()) {
        (Some(s), Some(e)) => Ok((s, e)),
        _ => Err(bad(format!(
            "holds {} and {}, not two non-negative integers",
            items[0].kind(),
            items[1].kind()
        ))),
    }
}

/// Bytes taken by `shape` elements of `dtype`, with every product checked.
///
/// The verdict does not depend on dimension order: a zero dimension makes the count 0
/// whatever the others are (each was already bounded by 2^48), and with no zero the
/// partial products only grow, so an overflow anywhere is an overflow of the total.
pub fn byte_count(shape: &[u64], dtype: Dtype) -> Result<u64, Diagnostic> {
    let overflow = || {
        Diagnostic::error(
            "ST027",
            format!("{dtype} {shape:?} is too large to address"),
        )
        .advice("the size overflows 64-bit arithmetic; the header is corrupt or hostile")
    };
    let numel = if shape.contains(&0) {
        0
    } else {
        shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(overflow)?
    };
    let bits = numel.checked_mul(dtype.bits()).ok_or_else(overflow)?;
    if bits % 8 != 0 {
        return Err(Diagnostic::error(
            "ST028",
            format!("{dtype} {shape:?} is {bits} bits, not a whole number of bytes"),
        )
        .advice("sub-byte tensors are packed over the whole tensor; the element count must fill whole bytes"));
    }
    let bytes = bits / 8;
    if bytes > isize::MAX as u64 {
        return Err(overflow());
    }
    Ok(bytes)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

/// A tensor name made safe to print: control characters escaped, length capped.
/// Computed only when a finding is reported: escaping costs more than checking an entry.
fn display_name(name: &str) -> String {
    let escaped: String = name.chars().flat_map(char::escape_debug).collect();
    truncate(&escaped, 200)
}
