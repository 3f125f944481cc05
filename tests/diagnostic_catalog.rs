//! Keeps docs/diagnostics.md and the codes used in src/ equal, in both directions.

use std::collections::BTreeSet;
use std::path::Path;

const PREFIXES: [&str; 8] = ["ST", "DIR", "CFG", "TOK", "QNT", "GPU", "GEN", "CLI"];

/// Finds `"PREFIX123"` string literals (a prefix, then exactly three digits).
fn codes_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices('"') {
        let rest = &text[i + 1..];
        for p in PREFIXES {
            if let Some(tail) = rest.strip_prefix(p) {
                let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
                if digits.len() == 3 && tail[3..].starts_with('"') {
                    out.insert(format!("{p}{digits}"));
                }
            }
        }
    }
    out
}

fn walk(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.extend(codes_in(&std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn every_code_is_catalogued_and_every_catalogued_code_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut in_src = BTreeSet::new();
    walk(&root.join("src"), &mut in_src);
    let doc = std::fs::read_to_string(root.join("docs/diagnostics.md")).unwrap();
    let in_doc: BTreeSet<String> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(|c| c.trim().to_owned())
        .collect();
    let missing: Vec<_> = in_src.difference(&in_doc).collect();
    let stale: Vec<_> = in_doc.difference(&in_src).collect();
    assert!(
        missing.is_empty(),
        "codes used in src/ but not in docs/diagnostics.md: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "codes in docs/diagnostics.md but not used in src/: {stale:?}"
    );
    assert!(
        in_src.len() > 30,
        "the scan found too few codes ({}); is it broken?",
        in_src.len()
    );
}

#[test]
fn scanner_finds_literals_and_ignores_lookalikes() {
    let found = codes_in(r#"x("ST001") y("ST0012") z("QNT042") w(ST003) "GPU12""#);
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        vec!["QNT042", "ST001"]
    );
}
