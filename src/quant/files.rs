//! A deliberately small model-directory opener for `dequant` and the round-trip tests:
//! `config.json` plus `model.safetensors` or the shards named by
//! `model.safetensors.index.json`, each opened with the container's validating mmap reader.
//! The `model` module's resolver (issue 3) replaces this; only [`ModelFiles::open`] would change.

use super::linear::{QTensor, TensorLookup};
use crate::container::{Limits, SafeTensorsFile};
use crate::diag::Diagnostic;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The opened directory.
pub struct ModelFiles {
    /// Parsed `config.json` (`Value::Null` when absent).
    pub config: Value,
    /// Opened `.safetensors` files with their paths.
    pub files: Vec<(PathBuf, SafeTensorsFile)>,
}

fn open_err(path: &Path, msg: String) -> Diagnostic {
    Diagnostic::error("QNT009", msg)
        .file(path)
        .advice("point at a model directory with config.json and .safetensors weights")
}

impl ModelFiles {
    /// Opens `dir`.
    pub fn open(dir: &Path) -> Result<ModelFiles, Diagnostic> {
        let cfg_path = dir.join("config.json");
        let config = match std::fs::read_to_string(&cfg_path) {
            Ok(t) => serde_json::from_str(&t)
                .map_err(|e| open_err(&cfg_path, format!("config.json is not valid JSON: {e}")))?,
            Err(_) => Value::Null,
        };
        let index_path = dir.join("model.safetensors.index.json");
        let mut names: Vec<String> = Vec::new();
        if let Ok(t) = std::fs::read_to_string(&index_path) {
            let index: Value = serde_json::from_str(&t)
                .map_err(|e| open_err(&index_path, format!("index is not valid JSON: {e}")))?;
            let map = index
                .get("weight_map")
                .and_then(Value::as_object)
                .ok_or_else(|| open_err(&index_path, "index has no weight_map object".into()))?;
            for f in map.values().filter_map(Value::as_str) {
                if !names.iter().any(|n| n == f) {
                    names.push(f.to_string());
                }
            }
            names.sort();
        } else if dir.join("model.safetensors").is_file() {
            names.push("model.safetensors".into());
        } else {
            return Err(open_err(
                dir,
                format!(
                    "{} has neither model.safetensors nor model.safetensors.index.json",
                    dir.display()
                ),
            ));
        }
        let mut files = Vec::new();
        for n in names {
            if n.contains('/') || n.contains('\\') || n.starts_with('.') {
                return Err(open_err(
                    &index_path,
                    format!("index names shard `{n}` outside the directory"),
                ));
            }
            let path = dir.join(&n);
            let f = SafeTensorsFile::open(&path, &Limits::default())
                .map_err(|e| open_err(&path, format!("cannot open {n}: {e}")))?;
            files.push((path, f));
        }
        Ok(ModelFiles { config, files })
    }

    /// Every tensor name across the shards.
    pub fn names(&self) -> Vec<String> {
        self.files
            .iter()
            .flat_map(|(_, f)| f.tensors().map(|v| v.name.to_string()).collect::<Vec<_>>())
            .collect()
    }

    /// A lookup over all shards.
    pub fn lookup(&self) -> ShardLookup<'_> {
        ShardLookup {
            files: self.files.iter().map(|(_, f)| f).collect(),
        }
    }
}

/// [`TensorLookup`] over opened shards (first shard holding the name wins).
pub struct ShardLookup<'f> {
    files: Vec<&'f SafeTensorsFile>,
}

impl<'f> TensorLookup<'f> for ShardLookup<'f> {
    fn tensor(&self, name: &str) -> Option<QTensor<'f>> {
        self.files
            .iter()
            .find_map(|f| f.tensor(name))
            .map(|v| QTensor {
                name: v.name.to_string(),
                dtype: v.dtype,
                shape: v.shape.to_vec(),
                data: v.data,
            })
    }
}
