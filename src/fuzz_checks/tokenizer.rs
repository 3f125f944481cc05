//! Target `tokenizer`: hostile tokenizer files into [`analyze_tokenizer`].
//!
//! Input: a first byte whose bits say which of [`TOKENIZER_FILES`] are present, then the
//! present files' contents in that order, split at `0xFF` (see [`super::sections`]), then
//! an optional 8-byte little-endian config vocab size.

use crate::model::tokenizer::{analyze_tokenizer, TokenizerKind, TOKENIZER_FILES};
use std::collections::BTreeMap;

/// Never panics (the tokenizers crate's own panics are caught and reported by the
/// library); the reported kind matches the files given; the report serializes.
pub fn tokenizer(data: &[u8]) {
    let Some((&mask, rest)) = data.split_first() else {
        return;
    };
    let parts = super::sections(rest, TOKENIZER_FILES.len() + 1);
    let mut files: BTreeMap<&'static str, Result<Vec<u8>, String>> = BTreeMap::new();
    let mut next = 0;
    for (bit, name) in TOKENIZER_FILES.iter().enumerate() {
        if mask & (1 << bit) != 0 {
            // A section holding exactly "\0ERR" stands for a read failure.
            let body = parts[next];
            let content = if body == b"\0ERR" {
                Err("permission denied".to_string())
            } else {
                Ok(body.to_vec())
            };
            files.insert(name, content);
            next += 1;
        }
    }
    let vocab = parts
        .get(next)
        .and_then(|b| <[u8; 8]>::try_from(*b).ok())
        .map(u64::from_le_bytes);
    let r = analyze_tokenizer(&files, vocab);
    let expected = if files.contains_key("tokenizer.json") {
        TokenizerKind::TokenizerJson
    } else if files.contains_key("tekken.json") {
        TokenizerKind::Tekken
    } else {
        r.kind
    };
    assert_eq!(r.kind, expected, "tokenizer kind");
    if r.loaded {
        assert!(
            r.vocab_size.is_some(),
            "a loaded tokenizer has a vocabulary size"
        );
    }
    let _ = r.to_json();
}
