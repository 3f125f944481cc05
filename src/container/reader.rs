//! Opening files: a memory-mapped reader with zero-copy views, and a header-only reader
//! that reads just the first `8 + N` bytes with positioned reads.

use super::header::{parse_header, read_header_len, Alignment, Header, Limits, Parsed, TensorInfo};
use super::sniff::SNIFF_BYTES;
use crate::diag::{attach_file, Diagnostic};
use crate::dtype::Dtype;
use memmap2::Mmap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Why a file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file could not be read at all.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The file was read and is not valid SafeTensors (strict mode), or nothing could be
    /// salvaged from it (lenient mode).
    #[error("{}: invalid SafeTensors file ({} finding(s))", path.display(), diagnostics.len())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every finding, each naming the file.
        diagnostics: Vec<Diagnostic>,
    },
}

impl OpenError {
    fn io(path: &Path, source: io::Error) -> Self {
        OpenError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A zero-copy view of one tensor of a mapped file.
#[derive(Debug, Clone, Copy)]
pub struct TensorView<'a> {
    /// Tensor name.
    pub name: &'a str,
    /// Element type.
    pub dtype: Dtype,
    /// Dimensions.
    pub shape: &'a [u64],
    /// The tensor's bytes, exactly `numel * bits / 8` of them.
    pub data: &'a [u8],
    /// Absolute offset of `data` in the file.
    pub file_offset: u64,
}

/// A validated header read with positioned reads only; the data region is never touched.
#[derive(Debug, Clone)]
pub struct HeaderOnly {
    /// The file.
    pub path: PathBuf,
    /// The validated header (kept entries only, in lenient mode).
    pub header: Header,
    /// Warnings and infos (and, in lenient mode, errors) found while parsing.
    pub diagnostics: Vec<Diagnostic>,
}

impl HeaderOnly {
    /// Reads and validates the header of `path`.
    pub fn open(path: impl AsRef<Path>, limits: &Limits) -> Result<Self, OpenError> {
        let path = path.as_ref();
        let parsed = read_header(path, limits)?;
        let (header, diagnostics) = settle(path, parsed)?;
        Ok(HeaderOnly {
            path: path.to_path_buf(),
            header,
            diagnostics,
        })
    }
}

/// Reads the first `8 + N` bytes of `path` and parses them; the data region is not read.
/// The outcome holds every finding (each naming the file); only I/O failures are errors.
pub fn read_header(path: &Path, limits: &Limits) -> Result<Parsed, OpenError> {
    let file = File::open(path).map_err(|e| OpenError::io(path, e))?;
    let file_len = file.metadata().map_err(|e| OpenError::io(path, e))?.len();
    let mut first = vec![0u8; file_len.min(SNIFF_BYTES as u64) as usize];
    file.read_exact_at(&mut first, 0)
        .map_err(|e| OpenError::io(path, e))?;
    let mut parsed = match read_header_len(&first, file_len, limits) {
        Err(d) => Parsed {
            header: None,
            diagnostics: vec![d],
            entries_seen: 0,
        },
        Ok(n) => {
            // n <= file_len - 8 <= usize range on 64-bit; n <= 256 MiB by the cap.
            let mut buf = vec![0u8; 8 + n as usize];
            file.read_exact_at(&mut buf, 0)
                .map_err(|e| OpenError::io(path, e))?;
            parse_header(&buf, file_len, limits)
        }
    };
    attach_file(&mut parsed.diagnostics, path);
    Ok(parsed)
}

fn settle(path: &Path, parsed: Parsed) -> Result<(Header, Vec<Diagnostic>), OpenError> {
    match parsed.header {
        Some(h) => Ok((h, parsed.diagnostics)),
        None => Err(OpenError::Invalid {
            path: path.to_path_buf(),
            diagnostics: parsed.diagnostics,
        }),
    }
}

/// A validated, memory-mapped SafeTensors file.
#[derive(Debug)]
pub struct SafeTensorsFile {
    path: PathBuf,
    header: Header,
    diagnostics: Vec<Diagnostic>,
    map: Option<Mmap>,
}

impl SafeTensorsFile {
    /// Maps `path`, validates it and keeps the mapping for zero-copy views.
    ///
    /// The file length is checked again after mapping, so a file truncated between the
    /// size query and the mapping is reported instead of faulting later.
    pub fn open(path: impl AsRef<Path>, limits: &Limits) -> Result<Self, OpenError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| OpenError::io(path, e))?;
        let len_before = file.metadata().map_err(|e| OpenError::io(path, e))?.len();
        let map = if len_before == 0 {
            None
        } else {
            // SAFETY: the mapping is read-only and private to this process. Another process
            // truncating the file while it is mapped would make later reads fault (SIGBUS);
            // no API can prevent that for a shared file, so we re-check the length right
            // after mapping and document that files must not be rewritten in place while
            // open (our own writer always replaces files by rename, which is safe).
            Some(unsafe { Mmap::map(&file) }.map_err(|e| OpenError::io(path, e))?)
        };
        let bytes: &[u8] = map.as_deref().unwrap_or(&[]);
        let len_after = file.metadata().map_err(|e| OpenError::io(path, e))?.len();
        if len_after != len_before || bytes.len() as u64 != len_before {
            let d = Diagnostic::error(
                "ST038",
                format!("file changed size while being opened ({len_before} -> {len_after} bytes)"),
            )
            .file(path)
            .advice(
                "another program is writing this file; wait for it to finish and open it again",
            );
            return Err(OpenError::Invalid {
                path: path.to_path_buf(),
                diagnostics: vec![d],
            });
        }
        let mut parsed = parse_header(bytes, len_before, limits);
        attach_file(&mut parsed.diagnostics, path);
        let (header, diagnostics) = settle(path, parsed)?;
        Ok(SafeTensorsFile {
            path: path.to_path_buf(),
            header,
            diagnostics,
            map,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The validated header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Non-fatal findings (warnings, infos; in lenient mode also the errors that were salvaged).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Every tensor, in data-offset order.
    pub fn tensors(&self) -> impl Iterator<Item = TensorView<'_>> {
        self.header.tensors.iter().map(move |t| self.view(t))
    }

    /// One tensor by name.
    pub fn tensor(&self, name: &str) -> Option<TensorView<'_>> {
        self.header.tensor(name).map(|t| self.view(t))
    }

    /// Alignment report of a tensor (to its element size and to 256 bytes).
    pub fn alignment(&self, t: &TensorInfo) -> Alignment {
        self.header.alignment(t)
    }

    fn view<'a>(&'a self, t: &'a TensorInfo) -> TensorView<'a> {
        let bytes: &[u8] = self.map.as_deref().unwrap_or(&[]);
        // Validation proved data_start + end <= file length == bytes.len().
        let start = (self.header.data_start() + t.data_offsets.0) as usize;
        let end = (self.header.data_start() + t.data_offsets.1) as usize;
        TensorView {
            name: &t.name,
            dtype: t.dtype,
            shape: &t.shape,
            data: &bytes[start..end],
            file_offset: start as u64,
        }
    }
}
