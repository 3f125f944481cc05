//! Writing SafeTensors files: deterministic order, space-padded header, streamed data,
//! atomic replacement (temporary file in the same directory, fsync, rename).

use super::header::{byte_count, MAX_CONFIGURABLE_HEADER_BYTES};
use crate::dtype::Dtype;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A closure that writes a tensor's bytes; it must write exactly the tensor's byte count.
pub type StreamFn<'a> = Box<dyn FnOnce(&mut dyn Write) -> io::Result<()> + 'a>;

enum Source<'a> {
    Bytes(Cow<'a, [u8]>),
    Stream(StreamFn<'a>),
}

struct Pending<'a> {
    name: String,
    dtype: Dtype,
    shape: Vec<u64>,
    bytes: u64,
    source: Source<'a>,
}

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A tensor was described inconsistently; nothing was written.
    #[error("tensor `{name}`: {reason}")]
    BadTensor {
        /// The tensor.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Writing failed; no file was left under the final name.
    #[error("{}: {source}", path.display())]
    Io {
        /// The destination.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

/// Collects tensors and writes them as one SafeTensors file.
///
/// Tensors are laid out like the reference writer: by descending element alignment, then
/// by name, so every tensor is aligned to its element size (the header is padded to a
/// multiple of 8 bytes). The order does not depend on the order of [`Writer::add`] calls.
#[derive(Default)]
pub struct Writer<'a> {
    tensors: Vec<Pending<'a>>,
    names: HashSet<String>,
    metadata: BTreeMap<String, String>,
}

impl<'a> Writer<'a> {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tensor whose bytes are in memory (owned `Vec<u8>` or a borrowed slice).
    pub fn add(
        &mut self,
        name: impl Into<String>,
        dtype: Dtype,
        shape: Vec<u64>,
        data: impl Into<Cow<'a, [u8]>>,
    ) -> Result<&mut Self, WriteError> {
        let data = data.into();
        let name = name.into();
        let bytes = self.check(&name, dtype, &shape)?;
        if bytes != data.len() as u64 {
            return Err(WriteError::BadTensor {
                name,
                reason: format!(
                    "{dtype} {shape:?} needs {bytes} bytes but {} were given",
                    data.len()
                ),
            });
        }
        self.push(name, dtype, shape, bytes, Source::Bytes(data));
        Ok(self)
    }

    /// Adds a tensor whose bytes are produced while the file is written, so large
    /// tensors never need to be held in memory. Writing fails (and leaves no file) if
    /// the closure writes a different number of bytes than the shape needs.
    pub fn add_streamed(
        &mut self,
        name: impl Into<String>,
        dtype: Dtype,
        shape: Vec<u64>,
        produce: StreamFn<'a>,
    ) -> Result<&mut Self, WriteError> {
        let name = name.into();
        let bytes = self.check(&name, dtype, &shape)?;
        self.push(name, dtype, shape, bytes, Source::Stream(produce));
        Ok(self)
    }

    /// Sets one `__metadata__` entry.
    pub fn metadata(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Number of tensors added.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// True when no tensor was added.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    fn check(&self, name: &str, dtype: Dtype, shape: &[u64]) -> Result<u64, WriteError> {
        let bad = |reason: String| WriteError::BadTensor {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() || name.contains('\0') || name == "__metadata__" {
            return Err(bad(
                "names must be non-empty, free of NUL and not `__metadata__`".into(),
            ));
        }
        if self.names.contains(name) {
            return Err(bad("added twice".into()));
        }
        if shape.len() > 8 || shape.iter().any(|&d| d > super::header::MAX_DIM) {
            return Err(bad(format!(
                "shape {shape:?} is beyond what readers accept"
            )));
        }
        byte_count(shape, dtype).map_err(|d| bad(d.message))
    }

    fn push(
        &mut self,
        name: String,
        dtype: Dtype,
        shape: Vec<u64>,
        bytes: u64,
        source: Source<'a>,
    ) {
        self.names.insert(name.clone());
        self.tensors.push(Pending {
            name,
            dtype,
            shape,
            bytes,
            source,
        });
    }

    /// Lays the tensors out and returns the padded header text and the data length.
    fn layout(&mut self) -> Result<(Vec<u8>, u64), WriteError> {
        self.tensors.sort_by(|a, b| {
            b.dtype
                .align_bytes()
                .cmp(&a.dtype.align_bytes())
                .then_with(|| a.name.cmp(&b.name))
        });
        let mut json = String::from("{");
        let mut first = true;
        if !self.metadata.is_empty() {
            json.push_str("\"__metadata__\":");
            json.push_str(&serde_json::to_string(&self.metadata).expect("string map serializes"));
            first = false;
        }
        let mut offset = 0u64;
        for t in &self.tensors {
            if !first {
                json.push(',');
            }
            first = false;
            let end = offset
                .checked_add(t.bytes)
                .ok_or_else(|| WriteError::BadTensor {
                    name: t.name.clone(),
                    reason: "total data size overflows".into(),
                })?;
            json.push_str(&serde_json::to_string(&t.name).expect("string serializes"));
            json.push_str(&format!(
                ":{{\"dtype\":\"{}\",\"shape\":{},\"data_offsets\":[{offset},{end}]}}",
                t.dtype,
                serde_json::to_string(&t.shape).expect("u64 list serializes")
            ));
            offset = end;
        }
        json.push('}');
        let mut header = json.into_bytes();
        while header.len() % 8 != 0 {
            header.push(b' ');
        }
        if header.len() as u64 > MAX_CONFIGURABLE_HEADER_BYTES {
            return Err(WriteError::BadTensor {
                name: "__header__".into(),
                reason: format!(
                    "header would be {} bytes, above any reader's cap",
                    header.len()
                ),
            });
        }
        Ok((header, offset))
    }

    /// Writes everything to `out`: prefix, header, data.
    fn emit(mut self, out: &mut dyn Write) -> Result<u64, (Option<String>, io::Error)> {
        let (header, data_len) = self
            .layout()
            .map_err(|e| (None, io::Error::other(e.to_string())))?;
        out.write_all(&(header.len() as u64).to_le_bytes())
            .map_err(|e| (None, e))?;
        out.write_all(&header).map_err(|e| (None, e))?;
        for t in self.tensors {
            let name = t.name;
            match t.source {
                Source::Bytes(b) => out.write_all(&b).map_err(|e| (Some(name.clone()), e))?,
                Source::Stream(f) => {
                    let mut counter = Counting {
                        inner: out,
                        written: 0,
                    };
                    f(&mut counter).map_err(|e| (Some(name.clone()), e))?;
                    if counter.written != t.bytes {
                        return Err((
                            Some(name),
                            io::Error::other(format!(
                                "streamed {} bytes, expected {}",
                                counter.written, t.bytes
                            )),
                        ));
                    }
                }
            }
        }
        Ok(8 + header.len() as u64 + data_len)
    }

    /// Serializes into memory (for tests and small files).
    pub fn to_bytes(self) -> Result<Vec<u8>, WriteError> {
        let mut v = Vec::new();
        self.emit(&mut v)
            .map_err(|(name, e)| WriteError::BadTensor {
                name: name.unwrap_or_default(),
                reason: e.to_string(),
            })?;
        Ok(v)
    }

    /// Writes the file atomically: a temporary file in the same directory is written,
    /// flushed and fsynced, then renamed over `path`, and the directory is fsynced. On
    /// any failure the temporary file is removed and `path` is untouched.
    pub fn write_atomic(self, path: impl AsRef<Path>) -> Result<u64, WriteError> {
        let path = path.as_ref();
        atomic_write(path, |file| {
            let mut w = BufWriter::with_capacity(1 << 20, file);
            let n = self.emit(&mut w).map_err(|(name, e)| match name {
                Some(n) => io::Error::new(e.kind(), format!("tensor `{n}`: {e}")),
                None => e,
            })?;
            w.flush()?;
            Ok(n)
        })
    }

    /// Writes the header and sizes the file with `set_len` without writing any tensor
    /// data: a sparse file whose data reads as zeros. For scale tests of header-only
    /// paths. Atomic like [`Writer::write_atomic`].
    pub fn write_sparse(mut self, path: impl AsRef<Path>) -> Result<u64, WriteError> {
        let path = path.as_ref();
        let (header, data_len) = self.layout()?;
        atomic_write(path, |file| {
            file.write_all(&(header.len() as u64).to_le_bytes())?;
            file.write_all(&header)?;
            let total = 8 + header.len() as u64 + data_len;
            file.set_len(total)?;
            Ok(total)
        })
    }
}

struct Counting<'w> {
    inner: &'w mut dyn Write,
    written: u64,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a file atomically through `fill`, which writes the whole content to the
/// temporary file. Used for every output of the project (SafeTensors files, JSON, configs).
pub fn atomic_write<T>(
    path: &Path,
    fill: impl FnOnce(&mut File) -> io::Result<T>,
) -> Result<T, WriteError> {
    let io_err = |source: io::Error| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(io_err)?;
    let value = fill(tmp.as_file_mut()).map_err(io_err)?;
    tmp.as_file().sync_all().map_err(io_err)?;
    tmp.persist(path).map_err(|e| io_err(e.error))?;
    if let Ok(d) = File::open(&dir) {
        // Persist the rename itself; some filesystems refuse fsync on directories.
        let _ = d.sync_all();
    }
    Ok(value)
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    atomic_write(path, |f| f.write_all(bytes))
}
