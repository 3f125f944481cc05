//! `model.safetensors.index.json`: parsing and reconciliation with the shards' headers.
//!
//! Rules (issue 3, "Directory resolution"; llama.cpp's bidirectional check, vLLM's
//! "referenced in index but missing"):
//! - every `weight_map` entry's shard exists and holds that tensor;
//! - every tensor of every listed shard appears in the index;
//! - no tensor lives in two shards (a duplicate `weight_map` key says exactly that);
//! - shard names are relative paths without `..`, absolute or empty components;
//! - `metadata.total_size` is advisory: a mismatch is a warning.
//!
//! Missing and unexpected tensors are reported grouped by prefix ([`group_names`]).
//! Pure: no I/O.

use crate::container::json::{self, JsonValue};
use crate::diag::Diagnostic;
use std::collections::{BTreeMap, BTreeSet};

/// File name of the index.
pub const INDEX_FILE: &str = "model.safetensors.index.json";

/// A parsed index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Index {
    /// Tensor name → shard file name (relative to the directory), first entry per name.
    pub weight_map: BTreeMap<String, String>,
    /// `metadata.total_size`, when present and an integer.
    pub total_size: Option<u64>,
    /// Distinct shard names, sorted.
    pub shards: Vec<String>,
}

/// Parses the index text. Structural problems that leave nothing usable are `Err`;
/// the rest (duplicates, unsafe shard names) are diagnostics beside a usable index.
pub fn parse_index(text: &str) -> Result<(Index, Vec<Diagnostic>), Diagnostic> {
    let fatal = |msg: String| {
        Diagnostic::error("DIR003", msg)
            .advice("regenerate the index with save_pretrained, or delete it when the directory has a single model.safetensors")
    };
    let v =
        json::parse(text).map_err(|e| fatal(format!("{INDEX_FILE} is not valid JSON: {e:?}")))?;
    let JsonValue::Object(root) = v else {
        return Err(fatal(format!(
            "{INDEX_FILE} must be a JSON object, found {}",
            v.kind()
        )));
    };
    let mut diags = Vec::new();
    let mut index = Index::default();
    let wm = root.iter().find(|(k, _)| k == "weight_map").map(|(_, v)| v);
    let Some(JsonValue::Object(entries)) = wm else {
        return Err(fatal(match wm {
            None => format!("{INDEX_FILE} has no weight_map"),
            Some(v) => format!("{INDEX_FILE}: weight_map is {}, not an object", v.kind()),
        }));
    };
    if entries.is_empty() {
        return Err(Diagnostic::error(
            "DIR018",
            format!("{INDEX_FILE}: weight_map is empty; no tensor can be found"),
        )
        .advice("regenerate the index with save_pretrained"));
    }
    let mut dup: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, shard) in entries {
        let JsonValue::String(shard) = shard else {
            diags.push(
                fatal(format!(
                    "{INDEX_FILE}: weight_map entry for {name} is {}, not a file name",
                    shard.kind()
                ))
                .tensor(name.clone()),
            );
            continue;
        };
        if let Some(first) = index.weight_map.get(name) {
            dup.entry(name.clone())
                .or_insert_with(|| vec![first.clone()])
                .push(shard.clone());
            continue;
        }
        index.weight_map.insert(name.clone(), shard.clone());
    }
    for (name, shards) in dup {
        diags.push(
            Diagnostic::error(
                "DIR009",
                format!(
                    "{INDEX_FILE}: tensor {name} is mapped {} times, to {}",
                    shards.len(),
                    shards.join(", ")
                ),
            )
            .tensor(name)
            .advice("a tensor must live in exactly one shard; regenerate the index"),
        );
    }
    let meta = root.iter().find(|(k, _)| k == "metadata").map(|(_, v)| v);
    if let Some(JsonValue::Object(m)) = meta {
        index.total_size = m
            .iter()
            .find(|(k, _)| k == "total_size")
            .and_then(|(_, v)| match v {
                JsonValue::U64(u) => Some(*u),
                JsonValue::F64(f) if *f >= 0.0 && f.fract() == 0.0 => Some(*f as u64),
                _ => None,
            });
    }
    let shards: BTreeSet<String> = index.weight_map.values().cloned().collect();
    for s in &shards {
        if let Some(why) = shard_name_problem(s) {
            diags.push(
                Diagnostic::error("DIR005", format!("{INDEX_FILE} names shard \"{s}\", which {why}; it is not opened"))
                    .tensor(s.clone())
                    .advice("shard names must be plain relative file names such as model-00001-of-00002.safetensors"),
            );
        }
    }
    index.shards = shards.into_iter().collect();
    Ok((index, diags))
}

/// Why a shard name is unsafe to join to the directory, or `None` when it is fine.
pub fn shard_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("is empty");
    }
    if name.contains('\0') {
        return Some("contains a NUL byte");
    }
    if name.starts_with('/') || name.starts_with('\\') || name.as_bytes().get(1) == Some(&b':') {
        return Some("is an absolute path");
    }
    let parts: Vec<&str> = name.split(['/', '\\']).collect();
    if parts.contains(&"..") {
        return Some("climbs out of the directory with ..");
    }
    if parts.iter().any(|p| p.is_empty() || *p == ".") {
        return Some("has an empty or '.' path component");
    }
    None
}

/// One tensor as seen in a shard header (what reconciliation needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardTensor {
    /// Tensor name.
    pub name: String,
    /// Bytes of data.
    pub bytes: u64,
}

/// Checks the index against the headers of the shards that could be read
/// (`shard name → tensors`). Shards that could not be opened are left out of `headers`
/// and named in `unreadable`, so their tensors are not reported again as missing.
pub fn reconcile(
    index: &Index,
    headers: &BTreeMap<String, Vec<ShardTensor>>,
    unreadable: &BTreeSet<String>,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    // Missing: listed in the index, absent from the shard the index names.
    let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, shard) in &index.weight_map {
        if unreadable.contains(shard) {
            continue;
        }
        if let Some(ts) = headers.get(shard) {
            if !ts.iter().any(|t| &t.name == name) {
                missing.entry(shard).or_default().push(name);
            }
        }
    }
    for (shard, names) in missing {
        diags.push(
            Diagnostic::error(
                "DIR007",
                format!("{} tensor(s) the index maps to {shard} are not in it: {}", names.len(), group_names(&names).join("; ")),
            )
            .tensor(names[0])
            .file(shard)
            .advice("the shard is stale or truncated: download it again, or regenerate the index from the shards"),
        );
    }
    // Unexpected and duplicated: what the shards hold.
    let mut owners: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut unexpected: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (shard, ts) in headers {
        for t in ts {
            owners.entry(&t.name).or_default().push(shard);
            if !index.weight_map.contains_key(&t.name) {
                unexpected.entry(shard).or_default().push(&t.name);
            }
        }
    }
    for (shard, names) in unexpected {
        diags.push(
            Diagnostic::error(
                "DIR008",
                format!(
                    "{shard} holds {} tensor(s) the index does not list: {}",
                    names.len(),
                    group_names(&names).join("; ")
                ),
            )
            .tensor(names[0])
            .file(shard)
            .advice(
                "the index is stale: regenerate it from the shards (or remove the extra tensors)",
            ),
        );
    }
    let mut dups: Vec<(&str, Vec<&str>)> =
        owners.into_iter().filter(|(_, s)| s.len() > 1).collect();
    dups.sort();
    if !dups.is_empty() {
        let names: Vec<&str> = dups.iter().map(|(n, _)| *n).collect();
        let (first, shards) = &dups[0];
        diags.push(
            Diagnostic::error(
                "DIR009",
                format!(
                    "{} tensor(s) are stored in more than one shard (e.g. {first} in {}): {}",
                    dups.len(),
                    shards.join(", "),
                    group_names(&names).join("; ")
                ),
            )
            .tensor(*first)
            .advice("a tensor must live in exactly one shard; which copy a loader uses is undefined. Re-shard the model"),
        );
    }
    // total_size is advisory.
    if let Some(total) = index.total_size {
        if unreadable.is_empty() && headers.len() == index.shards.len() {
            let actual: u64 = headers
                .values()
                .flatten()
                .fold(0u64, |a, t| a.saturating_add(t.bytes));
            if actual != total {
                diags.push(
                    Diagnostic::warning(
                        "DIR010",
                        format!("{INDEX_FILE}: metadata.total_size is {total} but the shards hold {actual} bytes of tensor data"),
                    )
                    .tensor("metadata.total_size")
                    .advice("advisory only; regenerate the index to make it exact"),
                );
            }
        }
    }
    diags
}

/// Groups tensor names for reports: the first number in a name (the layer index) is
/// replaced by its indices listed as ranges, e.g. `model.layers.{0-3,7}.mlp.down_proj.weight`;
/// suffixes present in exactly the same layers collapse to
/// `model.layers.{2-3}.* (9 tensors per layer)`. At most 8 groups are listed.
pub fn group_names<S: AsRef<str>>(names: &[S]) -> Vec<String> {
    let mut groups: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    let mut plain: Vec<String> = Vec::new();
    for n in names {
        let n = n.as_ref();
        match split_layer(n) {
            Some((pre, idx, post)) => {
                groups
                    .entry(format!("{pre}\u{0}{post}"))
                    .or_default()
                    .insert(idx);
            }
            None => plain.push(n.to_string()),
        }
    }
    // Suffixes that occur in exactly the same layers collapse into one `*` group, so a
    // missing shard reads "model.layers.{2-3}.* (9 tensors per layer)".
    let mut by_layers: BTreeMap<(&str, &BTreeSet<u64>), Vec<&str>> = BTreeMap::new();
    for (k, idx) in &groups {
        let (pre, post) = k.split_once('\u{0}').unwrap_or((k, ""));
        by_layers.entry((pre, idx)).or_default().push(post);
    }
    let mut out: Vec<String> = Vec::new();
    for ((pre, idx), posts) in by_layers {
        let layers = if idx.len() == 1 {
            idx.iter().next().copied().unwrap_or(0).to_string()
        } else {
            format!("{{{}}}", ranges(idx))
        };
        if posts.len() == 1 {
            out.push(format!("{pre}{layers}{}", posts[0]));
        } else {
            out.push(format!(
                "{pre}{layers}.* ({} tensors per layer)",
                posts.len()
            ));
        }
    }
    out.extend(plain);
    if out.len() > 8 {
        let rest = out.len() - 8;
        out.truncate(8);
        out.push(format!("and {rest} more group(s)"));
    }
    out
}

/// Splits `a.b.12.c` into (`a.b.`, 12, `.c`) at the first all-digit dotted component.
pub(crate) fn split_layer(name: &str) -> Option<(&str, u64, &str)> {
    let mut start = 0;
    for part in name.split('.') {
        let end = start + part.len();
        if !part.is_empty() && part.len() <= 9 && part.bytes().all(|b| b.is_ascii_digit()) {
            let idx = part.parse().ok()?;
            return Some((&name[..start], idx, &name[end..]));
        }
        start = end + 1;
    }
    None
}

/// `{0,1,2,5,7,8}` → `0-2,5,7-8`.
pub(crate) fn ranges(set: &BTreeSet<u64>) -> String {
    let mut parts = Vec::new();
    let mut it = set.iter().copied().peekable();
    while let Some(a) = it.next() {
        let mut b = a;
        while b.checked_add(1).is_some_and(|n| it.peek() == Some(&n)) {
            b += 1;
            it.next();
        }
        parts.push(if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, bytes: u64) -> ShardTensor {
        ShardTensor {
            name: name.into(),
            bytes,
        }
    }

    #[test]
    fn parses_and_flags_duplicates_and_unsafe_names() {
        let text = r#"{"metadata": {"total_size": 10}, "weight_map": {"a": "s1.safetensors", "b": "../x.safetensors", "a": "s2.safetensors"}}"#;
        let (idx, d) = parse_index(text).unwrap();
        assert_eq!(idx.total_size, Some(10));
        assert_eq!(idx.weight_map["a"], "s1.safetensors");
        assert!(d
            .iter()
            .any(|d| d.code == "DIR009" && d.message.contains("s2.safetensors")));
        assert!(d
            .iter()
            .any(|d| d.code == "DIR005" && d.message.contains("..")));
    }

    #[test]
    fn structural_errors() {
        assert_eq!(parse_index("nope").unwrap_err().code, "DIR003");
        assert_eq!(parse_index("{}").unwrap_err().code, "DIR003");
        assert_eq!(
            parse_index(r#"{"weight_map": {}}"#).unwrap_err().code,
            "DIR018"
        );
        let (_, d) = parse_index(r#"{"weight_map": {"a": 3}}"#).unwrap();
        assert_eq!(d[0].code, "DIR003");
    }

    #[test]
    fn shard_names() {
        assert!(shard_name_problem("model-00001-of-00002.safetensors").is_none());
        assert!(shard_name_problem("sub/model.safetensors").is_none());
        for bad in ["", "/etc/passwd", "a/../b", "..", "C:\\x", "a//b", "./a"] {
            assert!(shard_name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn reconcile_reports_every_direction_grouped() {
        let mut wm = BTreeMap::new();
        for i in 0..4 {
            wm.insert(format!("model.layers.{i}.w"), "s1".to_string());
        }
        wm.insert("lm_head.weight".into(), "s2".into());
        let index = Index {
            weight_map: wm,
            total_size: Some(999),
            shards: vec!["s1".into(), "s2".into()],
        };
        let mut h = BTreeMap::new();
        h.insert(
            "s1".to_string(),
            vec![
                t("model.layers.0.w", 4),
                t("model.layers.3.w", 4),
                t("extra", 1),
            ],
        );
        h.insert(
            "s2".to_string(),
            vec![t("lm_head.weight", 8), t("extra", 1)],
        );
        let d = reconcile(&index, &h, &BTreeSet::new());
        let missing = d.iter().find(|d| d.code == "DIR007").unwrap();
        assert!(
            missing.message.contains("model.layers.{1-2}.w"),
            "{}",
            missing.message
        );
        assert_eq!(d.iter().filter(|d| d.code == "DIR008").count(), 2);
        assert!(d
            .iter()
            .any(|d| d.code == "DIR009" && d.tensor.as_deref() == Some("extra")));
        assert!(d.iter().any(|d| d.code == "DIR010" && !d.is_error()));
    }

    #[test]
    fn grouping() {
        let g = group_names(&[
            "m.layers.0.a",
            "m.layers.1.a",
            "m.layers.2.a",
            "m.layers.9.a",
            "m.norm",
            "m.layers.4.b",
        ]);
        assert_eq!(g, vec!["m.layers.{0-2,9}.a", "m.layers.4.b", "m.norm"]);
        let g = group_names(&[
            "m.layers.2.a",
            "m.layers.3.a",
            "m.layers.2.b",
            "m.layers.3.b",
            "m.layers.3.c",
        ]);
        assert_eq!(
            g,
            vec!["m.layers.{2-3}.* (2 tensors per layer)", "m.layers.3.c"]
        );
    }
}
