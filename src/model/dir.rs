//! Opening a model directory: which weight files count, the index, stray files, and the
//! shards' headers read in parallel.
//!
//! Layouts, in order of precedence:
//! 1. `model.safetensors.index.json` plus the shards its `weight_map` names;
//! 2. a single `model.safetensors`;
//! 3. other `*.safetensors` without an index (routed by their headers, with a warning).
//!
//! `consolidated*.safetensors` (Mistral's native format) beside HF weights and pickle
//! checkpoints (`*.bin`, `*.pt`, `*.pth`, `*.ckpt`) are reported and never opened.
//! A hub cache repo folder is resolved to the snapshot `refs/main` names.
//!
//! Shards are opened with header-only reads on the rayon pool; results are collected in
//! shard-name order, so the output never depends on thread timing.

use crate::container::{HeaderOnly, Limits, OpenError, TensorInfo};
use crate::diag::Diagnostic;
use crate::dtype::Dtype;
use crate::model::hfcache;
use crate::model::index::{self, Index, ShardTensor, INDEX_FILE};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// File name of a single-file model.
pub const SINGLE_FILE: &str = "model.safetensors";

/// Extensions of pickle checkpoints, which are reported and never unpickled.
pub const PICKLE_EXTENSIONS: &[&str] = &["bin", "pt", "pth", "ckpt"];

/// How the weights are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `model.safetensors.index.json` plus shards.
    Indexed,
    /// One `model.safetensors`.
    Single,
    /// `*.safetensors` files without an index.
    Unindexed,
    /// No SafeTensors weights found.
    None,
}

/// Progress of shard opening, passed to the callback after each shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Shards opened so far.
    pub done: usize,
    /// Shards to open.
    pub total: usize,
}

/// Options for [`ModelDir::open`].
#[derive(Default)]
pub struct OpenOptions<'a> {
    /// Header limits passed to the container reader.
    pub limits: Limits,
    /// Called (from worker threads) after each shard header is read.
    pub progress: Option<&'a (dyn Fn(Progress) + Sync)>,
}

/// One weight file and its header (when it could be read).
#[derive(Debug, Clone)]
pub struct Shard {
    /// Name relative to the model directory.
    pub name: String,
    /// Full path.
    pub path: PathBuf,
    /// File length in bytes (0 when unreadable).
    pub file_len: u64,
    /// Tensors, as the validated header lists them; `None` when the file could not be read
    /// or is invalid (the reason is in the diagnostics).
    pub tensors: Option<Vec<TensorInfo>>,
    /// `__metadata__` of the header.
    pub metadata: Option<BTreeMap<String, String>>,
}

/// Where one tensor lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorLocation {
    /// Index into [`ModelDir::shards`].
    pub shard: usize,
    /// Element type.
    pub dtype: Dtype,
    /// Dimensions.
    pub shape: Vec<u64>,
    /// Bytes of data.
    pub bytes: u64,
}

/// Why a directory could not be examined at all (usage or I/O error, exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// The path does not exist or is not a directory.
    #[error("{}: {reason}", path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
        /// What it is instead.
        reason: String,
    },
    /// The directory could not be listed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// An opened model directory: weight files, their headers, the index and every finding.
#[derive(Debug, Clone)]
pub struct ModelDir {
    /// The path the user gave.
    pub requested: PathBuf,
    /// The directory actually examined (a hub cache folder resolves to its snapshot).
    pub path: PathBuf,
    /// Weight layout.
    pub layout: Layout,
    /// The parsed index, when the layout is [`Layout::Indexed`] and it parsed.
    pub index: Option<Index>,
    /// Weight files that were opened, sorted by name.
    pub shards: Vec<Shard>,
    /// Every tensor by name (first shard wins for duplicates, which are reported).
    pub tensors: BTreeMap<String, TensorLocation>,
    /// Tensors the index lists in shards that are missing, unsafe or unreadable: known to
    /// exist by name, with no header to describe them. Cross-checks treat them as present.
    pub unavailable: BTreeSet<String>,
    /// Names of the top-level files of the directory, sorted.
    pub files: Vec<String>,
    /// Directory-level findings (DIR codes and container codes of the shards).
    pub diagnostics: Vec<Diagnostic>,
}

impl ModelDir {
    /// Opens `path` (a model directory or a hub cache repo folder), reading only headers.
    pub fn open(path: impl AsRef<Path>, opts: &OpenOptions<'_>) -> Result<ModelDir, DirError> {
        let requested = path.as_ref().to_path_buf();
        let md = fs::metadata(&requested).map_err(|e| DirError::NotADirectory {
            path: requested.clone(),
            reason: e.to_string(),
        })?;
        if !md.is_dir() {
            return Err(DirError::NotADirectory {
                path: requested,
                reason:
                    "not a directory (check takes a model directory; use validate for one file)"
                        .into(),
            });
        }
        let mut diagnostics = Vec::new();
        let mut dir = requested.clone();
        if hfcache::is_hf_cache_repo(&requested) {
            match hfcache::resolve_snapshot(&requested) {
                Ok((snap, d)) => {
                    dir = snap;
                    diagnostics.extend(d);
                }
                Err(d) => {
                    diagnostics.push(d);
                    return Ok(ModelDir {
                        requested,
                        path: dir,
                        layout: Layout::None,
                        index: None,
                        shards: Vec::new(),
                        tensors: BTreeMap::new(),
                        unavailable: BTreeSet::new(),
                        files: Vec::new(),
                        diagnostics,
                    });
                }
            }
        }
        let files = list_files(&dir).map_err(|source| DirError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut me = ModelDir {
            requested,
            path: dir,
            layout: Layout::None,
            index: None,
            shards: Vec::new(),
            tensors: BTreeMap::new(),
            unavailable: BTreeSet::new(),
            files,
            diagnostics,
        };
        me.resolve(opts);
        Ok(me)
    }

    /// True when the directory has a top-level file of this name.
    pub fn has_file(&self, name: &str) -> bool {
        self.files.iter().any(|f| f == name)
    }

    /// Total bytes of tensor data over every opened shard.
    pub fn tensor_bytes(&self) -> u64 {
        self.tensors
            .values()
            .fold(0u64, |a, t| a.saturating_add(t.bytes))
    }

    /// The shard a tensor lives in.
    pub fn shard_of(&self, name: &str) -> Option<&Shard> {
        self.tensors.get(name).map(|t| &self.shards[t.shard])
    }

    fn resolve(&mut self, opts: &OpenOptions<'_>) {
        let st_files: Vec<&String> = self
            .files
            .iter()
            .filter(|f| f.ends_with(".safetensors"))
            .collect();
        let consolidated: Vec<String> = st_files
            .iter()
            .filter(|f| f.starts_with("consolidated"))
            .map(|s| s.to_string())
            .collect();
        let hf_files: Vec<String> = st_files
            .iter()
            .filter(|f| !f.starts_with("consolidated"))
            .map(|s| s.to_string())
            .collect();
        let pickles: Vec<String> = self
            .files
            .iter()
            .filter(|f| {
                Path::new(f.as_str())
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| PICKLE_EXTENSIONS.contains(&e))
            })
            .cloned()
            .collect();
        let has_index = self.has_file(INDEX_FILE);

        // Which files to open.
        let mut to_open: Vec<String> = Vec::new();
        if has_index {
            self.layout = Layout::Indexed;
            let ipath = self.path.join(INDEX_FILE);
            let text = read_capped(&ipath, MAX_LARGE_JSON_BYTES)
                .and_then(|b| String::from_utf8(b).map_err(|e| format!("not UTF-8: {e}")));
            match text {
                Err(e) => self.diagnostics.push(
                    Diagnostic::error("DIR003", format!("{INDEX_FILE} cannot be read: {e}"))
                        .file(&ipath)
                        .advice("check the file's permissions, or download it again"),
                ),
                Ok(text) => match index::parse_index(&text) {
                    Err(d) => self.diagnostics.push(d.file(&ipath)),
                    Ok((idx, mut d)) => {
                        for x in &mut d {
                            x.file.get_or_insert_with(|| ipath.clone());
                        }
                        self.diagnostics.extend(d);
                        to_open = self.check_index_shards(&idx);
                        self.index = Some(idx);
                    }
                },
            }
            let listed: BTreeSet<&str> = self
                .index
                .as_ref()
                .map(|i| i.shards.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let unlisted: Vec<&String> = hf_files
                .iter()
                .filter(|f| !listed.contains(f.as_str()))
                .collect();
            for f in unlisted {
                let (code, why) = if f == SINGLE_FILE {
                    ("DIR016", "a single-file model.safetensors sits beside the index; the index wins and it is not opened")
                } else {
                    (
                        "DIR017",
                        "this .safetensors file is not referenced by the index; it is not opened",
                    )
                };
                self.diagnostics.push(
                    Diagnostic::warning(code, format!("{f}: {why}"))
                        .file(self.path.join(f))
                        .advice("delete the leftover file so every loader sees one set of weights"),
                );
            }
        } else if hf_files.iter().any(|f| f == SINGLE_FILE) {
            self.layout = Layout::Single;
            to_open.push(SINGLE_FILE.into());
            for f in hf_files.iter().filter(|f| *f != SINGLE_FILE) {
                self.diagnostics.push(
                    Diagnostic::warning("DIR017", format!("{f}: extra .safetensors file beside model.safetensors; it is not opened"))
                        .file(self.path.join(f))
                        .advice("delete the leftover file, or add an index if the model is sharded"),
                );
            }
        } else if !hf_files.is_empty() {
            self.layout = Layout::Unindexed;
            to_open = hf_files.clone();
            self.diagnostics.push(
                Diagnostic::warning(
                    "DIR020",
                    format!("no {INDEX_FILE} and no {SINGLE_FILE}; the {} .safetensors files are routed by their headers", hf_files.len()),
                )
                .file(&self.path)
                .advice("add the index (save_pretrained writes it) so loaders that require it can find each tensor"),
            );
        }

        if !consolidated.is_empty() {
            let (sev, why) = if self.layout == Layout::None {
                (
                    "error",
                    "are Mistral-format weights; there are no Hugging Face weights to check",
                )
            } else {
                ("warning", "sit beside the Hugging Face weights; they are a second copy in Mistral's format and are not opened")
            };
            let msg = format!("{} {why}", consolidated.join(", "));
            let d = if sev == "error" {
                Diagnostic::error("DIR012", msg)
            } else {
                Diagnostic::warning("DIR012", msg)
            };
            self.diagnostics.push(
                d.file(self.path.join(&consolidated[0]))
                    .advice("keep one weight format per directory; loaders that glob *.safetensors load both and fail on unknown keys"),
            );
        }
        if !pickles.is_empty() {
            self.diagnostics.push(
                Diagnostic::warning(
                    "DIR013",
                    format!("pickle checkpoint file(s) {}: never opened or unpickled (pickle can run code)", pickles.join(", ")),
                )
                .file(self.path.join(&pickles[0]))
                .advice("delete them, or convert them to SafeTensors; they are not needed when SafeTensors weights exist"),
            );
        }
        if self.layout == Layout::None {
            let extra = if pickles.is_empty() {
                String::new()
            } else {
                format!(" (only pickle checkpoints: {})", pickles.join(", "))
            };
            self.diagnostics.push(
                Diagnostic::error("DIR002", format!("no SafeTensors weights: neither {SINGLE_FILE} nor {INDEX_FILE} is here{extra}"))
                    .file(&self.path)
                    .advice("download the .safetensors files of the model, or convert the checkpoint to SafeTensors"),
            );
            return;
        }
        self.open_shards(to_open, opts);
    }

    /// Checks each shard named by the index exists as a regular file (symlinks followed);
    /// returns the names that can be opened.
    fn check_index_shards(&mut self, idx: &Index) -> Vec<String> {
        let mut by_shard: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (t, s) in &idx.weight_map {
            by_shard.entry(s.as_str()).or_default().push(t.as_str());
        }
        let mut ok = Vec::new();
        for s in &idx.shards {
            if index::shard_name_problem(s).is_some() {
                continue; // DIR005 already reported
            }
            let p = self.path.join(s);
            let tensors: &[&str] = by_shard
                .get(s.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            match fs::metadata(&p) {
                Ok(m) if m.is_file() => ok.push(s.clone()),
                Ok(_) => self.diagnostics.push(
                    Diagnostic::error(
                        "DIR006",
                        format!(
                            "shard {s} is not a regular file; its {} tensor(s) cannot be loaded",
                            tensors.len()
                        ),
                    )
                    .file(&p)
                    .advice("replace it with the shard file from the model repository"),
                ),
                Err(e) => {
                    let dangling = fs::symlink_metadata(&p).is_ok();
                    let (code, what) = if dangling {
                        ("DIR006", "is a symlink whose target does not exist")
                    } else {
                        ("DIR004", "is referenced by the index but missing")
                    };
                    let _ = e;
                    self.diagnostics.push(
                        Diagnostic::error(
                            code,
                            format!("shard {s} {what}; {} tensor(s) cannot be loaded: {}", tensors.len(), index::group_names(tensors).join("; ")),
                        )
                        .tensor(tensors.first().copied().unwrap_or_default())
                        .file(&p)
                        .advice("download the missing shard (an interrupted download leaves exactly this)"),
                    );
                }
            }
        }
        ok
    }

    fn open_shards(&mut self, names: Vec<String>, opts: &OpenOptions<'_>) {
        let total = names.len();
        let done = AtomicUsize::new(0);
        let dir = self.path.clone();
        let results: Vec<(Shard, Vec<Diagnostic>)> = names
            .par_iter()
            .map(|name| {
                let path = dir.join(name);
                let r = open_one(name, &path, &opts.limits);
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if let Some(cb) = opts.progress {
                    cb(Progress { done: n, total });
                }
                r
            })
            .collect();
        let mut headers: BTreeMap<String, Vec<ShardTensor>> = BTreeMap::new();
        let mut unreadable = BTreeSet::new();
        let mut shards: Vec<Shard> = Vec::with_capacity(results.len());
        for (shard, d) in results {
            self.diagnostics.extend(d);
            match &shard.tensors {
                Some(ts) => {
                    headers.insert(
                        shard.name.clone(),
                        ts.iter()
                            .map(|t| ShardTensor {
                                name: t.name.clone(),
                                bytes: t.byte_len(),
                            })
                            .collect(),
                    );
                }
                None => {
                    unreadable.insert(shard.name.clone());
                }
            }
            shards.push(shard);
        }
        shards.sort_by(|a, b| a.name.cmp(&b.name));
        for (i, s) in shards.iter().enumerate() {
            for t in s.tensors.iter().flatten() {
                self.tensors
                    .entry(t.name.clone())
                    .or_insert_with(|| TensorLocation {
                        shard: i,
                        dtype: t.dtype,
                        shape: t.shape.clone(),
                        bytes: t.byte_len(),
                    });
            }
        }
        let mut recon = match &self.index {
            Some(idx) => index::reconcile(idx, &headers, &unreadable),
            None => {
                // Unindexed or single: only duplicates across files can be wrong.
                let idx = Index {
                    weight_map: headers
                        .iter()
                        .flat_map(|(s, ts)| ts.iter().map(move |t| (t.name.clone(), s.clone())))
                        .collect(),
                    total_size: None,
                    shards: headers.keys().cloned().collect(),
                };
                index::reconcile(&idx, &headers, &unreadable)
                    .into_iter()
                    .filter(|d| d.code == "DIR009")
                    .collect()
            }
        };
        for d in &mut recon {
            match &d.file {
                Some(f) if f.is_relative() => d.file = Some(self.path.join(f)),
                Some(_) => {}
                None => d.file = Some(self.path.join(INDEX_FILE)),
            }
        }
        self.diagnostics.extend(recon);
        if let Some(idx) = &self.index {
            let opened: BTreeSet<&str> = shards
                .iter()
                .filter(|s| s.tensors.is_some())
                .map(|s| s.name.as_str())
                .collect();
            self.unavailable = idx
                .weight_map
                .iter()
                .filter(|(n, s)| !opened.contains(s.as_str()) && !self.tensors.contains_key(*n))
                .map(|(n, _)| n.clone())
                .collect();
        }
        if shards
            .iter()
            .all(|s| s.tensors.as_ref().is_some_and(Vec::is_empty))
            && !shards.is_empty()
        {
            self.diagnostics.push(
                Diagnostic::error("DIR021", "the weight files hold no tensors at all")
                    .file(&shards[0].path)
                    .advice("the export failed; re-save the model"),
            );
        }
        self.shards = shards;
    }
}

fn open_one(name: &str, path: &Path, limits: &Limits) -> (Shard, Vec<Diagnostic>) {
    let mut shard = Shard {
        name: name.to_string(),
        path: path.to_path_buf(),
        file_len: 0,
        tensors: None,
        metadata: None,
    };
    match HeaderOnly::open(path, limits) {
        Ok(h) => {
            shard.file_len = h.header.file_len;
            shard.tensors = Some(h.header.tensors);
            shard.metadata = h.header.metadata;
            (shard, h.diagnostics)
        }
        Err(OpenError::Invalid { diagnostics, .. }) => {
            let mut d = vec![Diagnostic::error(
                "DIR011",
                format!("shard {name} is not a valid SafeTensors file ({} finding(s) below); its tensors cannot be loaded", diagnostics.len()),
            )
            .file(path)
            .advice("download the shard again; run `safeweights validate` on it for details")];
            d.extend(diagnostics);
            (shard, d)
        }
        Err(OpenError::Io { source, .. }) => (
            shard,
            vec![
                Diagnostic::error("DIR019", format!("shard {name} cannot be read: {source}"))
                    .file(path)
                    .advice("check the file's permissions and the disk"),
            ],
        ),
    }
}

/// Reads a small metadata file (config, index, tokenizer) after checking its size, so a
/// hostile multi-gigabyte "config.json" is refused instead of loaded into memory.
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    let len = fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > cap {
        return Err(format!(
            "it is {len} bytes, more than the {cap} such a file can plausibly need"
        ));
    }
    fs::read(path).map_err(|e| e.to_string())
}

/// Largest config.json / generation_config.json / tokenizer_config.json accepted.
pub const MAX_CONFIG_BYTES: u64 = 64 << 20;
/// Largest index or tokenizer.json accepted.
pub const MAX_LARGE_JSON_BYTES: u64 = 1 << 30;

fn list_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut v = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        // Regular files, and symlinks to files (hub snapshots link to blobs) or to nothing
        // (dangling: reported when opened). The entry's own type needs no extra stat.
        let ft = e.file_type()?;
        let is_file = ft.is_file()
            || (ft.is_symlink() && fs::metadata(e.path()).map_or(true, |m| m.is_file()));
        if is_file {
            v.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    v.sort();
    Ok(v)
}
