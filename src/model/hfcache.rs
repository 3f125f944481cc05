//! Hugging Face hub cache repo folders: `models--org--name/` with `refs/main` and
//! `snapshots/<rev>/`. The snapshot named by `refs/main` is the model directory; its files
//! are symlinks into `blobs/`, which is why shard paths may be symlinks.

use crate::diag::Diagnostic;
use std::fs;
use std::path::{Path, PathBuf};

/// True when `dir` looks like a hub cache repo folder (has `snapshots/` and `refs/` or
/// is named `models--*`).
pub fn is_hf_cache_repo(dir: &Path) -> bool {
    let named = dir
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("models--"));
    dir.join("snapshots").is_dir() && (dir.join("refs").is_dir() || named)
}

/// Resolves a cache repo folder to the snapshot `refs/main` names. Returns the snapshot
/// path plus an info diagnostic saying so, or an error naming what is missing.
pub fn resolve_snapshot(repo: &Path) -> Result<(PathBuf, Vec<Diagnostic>), Diagnostic> {
    let refs_main = repo.join("refs").join("main");
    let snapshots = repo.join("snapshots");
    let revision = match fs::read_to_string(&refs_main) {
        Ok(s) => s.trim().to_string(),
        Err(_) => {
            // No refs/main: usable only when exactly one snapshot exists.
            let revs = list_dirs(&snapshots);
            if revs.len() == 1 {
                let rev = &revs[0];
                let d = Diagnostic::warning(
                    "DIR015",
                    format!("hub cache folder has no refs/main; using its only snapshot {rev}"),
                )
                .file(&refs_main)
                .advice(
                    "re-download with huggingface_hub so refs/main names the revision you mean",
                );
                return Ok((snapshots.join(rev), vec![d]));
            }
            return Err(Diagnostic::error(
                "DIR015",
                format!(
                    "hub cache folder has no refs/main and {} snapshots ({}); which revision to check is ambiguous",
                    revs.len(),
                    revs.join(", ")
                ),
            )
            .file(&refs_main)
            .advice("pass the snapshot directory itself: <repo>/snapshots/<revision>"));
        }
    };
    let valid_rev = !revision.is_empty()
        && revision
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && revision != "."
        && revision != "..";
    if !valid_rev {
        return Err(Diagnostic::error(
            "DIR015",
            format!("refs/main holds \"{revision}\", which is not a revision name"),
        )
        .file(&refs_main)
        .advice(
            "refs/main should hold a commit hash; re-download the model with huggingface_hub",
        ));
    }
    let snap = snapshots.join(&revision);
    if !snap.is_dir() {
        return Err(Diagnostic::error(
            "DIR015",
            format!("refs/main names revision {revision} but snapshots/{revision} does not exist"),
        )
        .file(&refs_main)
        .advice("the cache is incomplete; re-download the model with huggingface_hub"));
    }
    let info = Diagnostic::info(
        "DIR014",
        format!("hub cache folder: checking snapshot {revision} (named by refs/main)"),
    )
    .file(&snap)
    .advice("nothing to do");
    Ok((snap, vec![info]))
}

fn list_dirs(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(p)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
