//! Tokenizer files: `tokenizer.json` (loaded with the `tokenizers` crate and exercised on a
//! probe string), `tekken.json` (Mistral, structure checked), `tokenizer_config.json`
//! (chat template, bos/eos), `special_tokens_map.json`, `generation_config.json` (eos ids
//! consistent with the tokenizer). A SentencePiece `tokenizer.model` alone is an error
//! naming the fix: the Rust `tokenizers` crate has no `.model` loader
//! (specs/hf_config_detection.md §5).
//!
//! [`analyze_tokenizer`] is pure (file contents in, report out); [`check_tokenizer`] reads
//! the files of a directory and calls it.

use crate::diag::Diagnostic;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use tokenizers::Tokenizer;

/// Text every tokenizer must encode without error: ASCII, punctuation, accents, CJK,
/// an emoji (byte fallback), digits and whitespace runs.
pub const PROBE: &str = "Hello, world! Grüße aus Köln. 你好，世界。 🦀 12345\n\tx  y";

/// Tokenizer files the check looks at, in the order they are read.
pub const TOKENIZER_FILES: &[&str] = &[
    "tokenizer.json",
    "tekken.json",
    "tokenizer.model",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
    "chat_template.jinja",
    "chat_template.json",
];

/// Which tokenizer the directory ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenizerKind {
    /// `tokenizer.json` (Hugging Face tokenizers).
    TokenizerJson,
    /// `tekken.json` (Mistral).
    Tekken,
    /// Only a SentencePiece `tokenizer.model`.
    SentencePiece,
    /// None at all.
    None,
}

impl TokenizerKind {
    /// Name as printed in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenizerKind::TokenizerJson => "tokenizer.json",
            TokenizerKind::Tekken => "tekken.json",
            TokenizerKind::SentencePiece => "sentencepiece",
            TokenizerKind::None => "none",
        }
    }
}

/// What the tokenizer check found.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenizerReport {
    /// Which tokenizer.
    pub kind: TokenizerKind,
    /// True when the tokenizer was loaded (tokenizer.json) or parsed (tekken.json).
    pub loaded: bool,
    /// Model type inside tokenizer.json (`BPE`, `Unigram`, `WordPiece`, `WordLevel`).
    pub model: Option<String>,
    /// Vocabulary size including added tokens.
    pub vocab_size: Option<u64>,
    /// Largest token id + 1 (ids may be sparse).
    pub id_limit: Option<u64>,
    /// Tokens the probe string encoded to.
    pub probe_tokens: Option<u64>,
    /// Whether decode(encode(probe)) gave the probe back.
    pub probe_round_trip: Option<bool>,
    /// bos token (tokenizer_config.json, else special_tokens_map.json).
    pub bos_token: Option<String>,
    /// eos token (tokenizer_config.json, else special_tokens_map.json).
    pub eos_token: Option<String>,
    /// eos ids of generation_config.json.
    pub generation_eos_ids: Vec<u64>,
    /// Where the chat template was found, when one was.
    pub chat_template: Option<String>,
    /// Findings (TOK codes), each naming its file.
    pub diagnostics: Vec<Diagnostic>,
}

impl TokenizerReport {
    /// The `tokenizer` section of the check JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "kind": self.kind.as_str(),
            "loaded": self.loaded,
            "model": self.model,
            "vocab_size": self.vocab_size,
            "probe_tokens": self.probe_tokens,
            "probe_round_trip": self.probe_round_trip,
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
            "generation_eos_token_ids": self.generation_eos_ids,
            "chat_template": self.chat_template,
        })
    }
}

/// Reads the tokenizer files of `dir` (those in `files`, the directory's file names) and
/// analyses them. `config_vocab` is config.json's vocab_size (the embedding rows).
pub fn check_tokenizer(dir: &Path, files: &[String], config_vocab: Option<u64>) -> TokenizerReport {
    let mut contents: BTreeMap<&'static str, Result<Vec<u8>, String>> = BTreeMap::new();
    for name in TOKENIZER_FILES {
        if files.iter().any(|f| f == name) {
            // tokenizer.model is only named, never read: there is no loader for it here.
            if *name == "tokenizer.model" {
                contents.insert(name, Ok(Vec::new()));
                continue;
            }
            let cap = if matches!(*name, "tokenizer.json" | "tekken.json") {
                crate::model::dir::MAX_LARGE_JSON_BYTES
            } else {
                crate::model::dir::MAX_CONFIG_BYTES
            };
            contents.insert(name, crate::model::dir::read_capped(&dir.join(name), cap));
        }
    }
    let mut r = analyze_tokenizer(&contents, config_vocab);
    for d in &mut r.diagnostics {
        if let Some(f) = &d.file {
            if f.is_relative() {
                d.file = Some(dir.join(f));
            }
        }
    }
    r
}

fn read_json(
    name: &str,
    bytes: &Result<Vec<u8>, String>,
    code: &'static str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Value> {
    let err = |m: String| {
        Diagnostic::error(code, m)
            .file(name)
            .advice(format!("fix or re-download {name}"))
    };
    match bytes {
        Err(e) => {
            diags.push(err(format!("{name} cannot be read: {e}")));
            None
        }
        Ok(b) => match serde_json::from_slice::<Value>(b) {
            Ok(v) if v.is_object() => Some(v),
            Ok(_) => {
                diags.push(err(format!("{name} is not a JSON object")));
                None
            }
            Err(e) => {
                diags.push(err(format!("{name} is not valid JSON: {e}")));
                None
            }
        },
    }
}

/// A token given as a string or as an AddedToken object (`{"content": ...}`).
fn token_str(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("content").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

fn ids(v: Option<&Value>) -> Vec<u64> {
    match v {
        Some(Value::Number(n)) => n.as_u64().into_iter().collect(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_u64).collect(),
        _ => Vec::new(),
    }
}

/// Analyses tokenizer files given by name → contents (an `Err` is a read failure).
pub fn analyze_tokenizer(
    files: &BTreeMap<&'static str, Result<Vec<u8>, String>>,
    config_vocab: Option<u64>,
) -> TokenizerReport {
    let mut d = Vec::new();
    let mut r = TokenizerReport {
        kind: TokenizerKind::None,
        loaded: false,
        model: None,
        vocab_size: None,
        id_limit: None,
        probe_tokens: None,
        probe_round_trip: None,
        bos_token: None,
        eos_token: None,
        generation_eos_ids: Vec::new(),
        chat_template: None,
        diagnostics: Vec::new(),
    };
    let mut tok: Option<Tokenizer> = None;
    let mut tekken_vocab: Option<u64> = None;

    if let Some(bytes) = files.get("tokenizer.json") {
        r.kind = TokenizerKind::TokenizerJson;
        match bytes {
            Err(e) => d.push(
                Diagnostic::error("TOK003", format!("tokenizer.json cannot be read: {e}"))
                    .file("tokenizer.json")
                    .advice("check the file's permissions, or download it again"),
            ),
            Ok(b) => match load_guarded(b) {
                Err(e) => d.push(
                    Diagnostic::error("TOK003", format!("tokenizer.json does not load with the tokenizers crate: {e}"))
                        .file("tokenizer.json")
                        .advice("re-save it with a current transformers (AutoTokenizer.from_pretrained(dir).save_pretrained(dir)) or download it again"),
                ),
                Ok(t) => {
                    r.loaded = true;
                    r.model = serde_json::from_slice::<Value>(b)
                        .ok()
                        .and_then(|v| v.get("model")?.get("type")?.as_str().map(str::to_string));
                    let vocab = t.get_vocab(true);
                    r.vocab_size = Some(vocab.len() as u64);
                    r.id_limit = vocab.values().max().map(|m| *m as u64 + 1);
                    let guarded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let mut r2 = r.clone();
                        let mut d2 = Vec::new();
                        probe(&t, &mut r2, &mut d2);
                        (r2, d2)
                    }));
                    match guarded {
                        Ok((r2, d2)) => {
                            r = r2;
                            d.extend(d2);
                        }
                        Err(_) => d.push(
                            Diagnostic::error("TOK004", "the tokenizers crate panicked while encoding the probe text with tokenizer.json")
                                .file("tokenizer.json")
                                .advice("the tokenizer is malformed in a way the crate does not check; re-export it"),
                        ),
                    }
                    tok = Some(t);
                }
            },
        }
    } else if let Some(bytes) = files.get("tekken.json") {
        r.kind = TokenizerKind::Tekken;
        if let Some(v) = read_json("tekken.json", bytes, "TOK003", &mut d) {
            let vocab = v.get("vocab").and_then(Value::as_array);
            let config = v.get("config").and_then(Value::as_object);
            match (vocab, config) {
                (Some(vocab), Some(cfg)) => {
                    let specials = v
                        .get("special_tokens")
                        .and_then(Value::as_array)
                        .map(|a| a.len() as u64)
                        .or_else(|| {
                            cfg.get("default_num_special_tokens")
                                .and_then(Value::as_u64)
                        })
                        .unwrap_or(0);
                    let n = cfg
                        .get("default_vocab_size")
                        .and_then(Value::as_u64)
                        .unwrap_or(vocab.len() as u64 + specials);
                    r.loaded = true;
                    r.model = Some("tekken".into());
                    r.vocab_size = Some(n);
                    r.id_limit = Some(n);
                    tekken_vocab = Some(n);
                    d.push(
                        Diagnostic::info("TOK012", format!("tekken.json (Mistral tokenizer, {} ranked tokens, {specials} special): structure checked, not run", vocab.len()))
                            .file("tekken.json")
                            .advice("serve with a stack that reads tekken.json (vLLM tokenizer_mode=mistral, mistral.rs)"),
                    );
                }
                _ => d.push(
                    Diagnostic::error(
                        "TOK003",
                        "tekken.json lacks its \"vocab\" list or \"config\" object",
                    )
                    .file("tekken.json")
                    .advice("download tekken.json again from the model repository"),
                ),
            }
        }
    } else if files.contains_key("tokenizer.model") {
        r.kind = TokenizerKind::SentencePiece;
        d.push(
            Diagnostic::error("TOK001", "only a SentencePiece tokenizer.model is present; Rust loaders (tokenizers crate, mistral.rs, candle) cannot read it")
                .file("tokenizer.model")
                .advice("write tokenizer.json next to it: python -c \"from transformers import AutoTokenizer as T; T.from_pretrained('DIR').save_pretrained('DIR')\""),
        );
    } else {
        d.push(
            Diagnostic::warning("TOK002", "no tokenizer in the directory (no tokenizer.json, tekken.json or tokenizer.model)")
                .advice("serving needs one: copy the tokenizer files from the base model, or pass --tokenizer to the server"),
        );
    }
    let id_limit = r.id_limit;
    if let (Some(lim), Some(cv)) = (id_limit, config_vocab) {
        if lim > cv {
            d.push(
                Diagnostic::error("TOK011", format!("the tokenizer produces ids up to {} but config.json vocab_size is {cv}; those ids index past the embedding", lim - 1))
                    .file(r.kind.as_str())
                    .tensor("vocab_size")
                    .advice("the tokenizer belongs to another model, or vocab_size is wrong; use the matching pair"),
            );
        }
    }

    // tokenizer_config.json and special_tokens_map.json.
    let tc = files
        .get("tokenizer_config.json")
        .and_then(|b| read_json("tokenizer_config.json", b, "TOK005", &mut d));
    let stm = files
        .get("special_tokens_map.json")
        .and_then(|b| read_json("special_tokens_map.json", b, "TOK008", &mut d));
    if let Some(tc) = &tc {
        match tc.get("chat_template") {
            Some(Value::String(s)) if !s.trim().is_empty() => {
                r.chat_template = Some("tokenizer_config.json".into())
            }
            Some(Value::Array(a)) if !a.is_empty() => {
                r.chat_template = Some("tokenizer_config.json (named templates)".into())
            }
            _ => {}
        }
        r.bos_token = token_str(tc.get("bos_token"));
        r.eos_token = token_str(tc.get("eos_token"));
    }
    if r.chat_template.is_none() {
        for f in ["chat_template.jinja", "chat_template.json"] {
            if matches!(files.get(f), Some(Ok(b)) if !b.is_empty()) {
                r.chat_template = Some(f.into());
                break;
            }
        }
    }
    if let Some(stm) = &stm {
        for (key, slot) in [
            ("bos_token", &mut r.bos_token),
            ("eos_token", &mut r.eos_token),
        ] {
            let s = token_str(stm.get(key));
            match (&slot, &s) {
                (None, Some(_)) => *slot = s,
                (Some(a), Some(b)) if a != b => d.push(
                    Diagnostic::warning("TOK008", format!("special_tokens_map.json says {key} is {b:?} but tokenizer_config.json says {a:?}"))
                        .file("special_tokens_map.json")
                        .tensor(key)
                        .advice("make the two files agree; transformers uses tokenizer_config.json"),
                ),
                _ => {}
            }
        }
    }
    if r.kind != TokenizerKind::None && r.chat_template.is_none() {
        d.push(
            Diagnostic::info("TOK006", "no chat template (tokenizer_config.json chat_template, chat_template.jinja); chat endpoints need one")
                .file("tokenizer_config.json")
                .advice("fine for a base model; for a chat model copy the template from the original repository or pass --chat-template"),
        );
    }
    if let Some(t) = &tok {
        for (key, v) in [("bos_token", &r.bos_token), ("eos_token", &r.eos_token)] {
            if let Some(s) = v {
                if t.token_to_id(s).is_none() {
                    d.push(
                        Diagnostic::error(
                            "TOK007",
                            format!("{key} {s:?} is not a token of tokenizer.json"),
                        )
                        .file(if tc.is_some() {
                            "tokenizer_config.json"
                        } else {
                            "special_tokens_map.json"
                        })
                        .tensor(key)
                        .advice(
                            "set it to a token that tokenizer.json defines (see its added_tokens)",
                        ),
                    );
                }
            }
        }
    }

    // generation_config.json: eos ids inside the tokenizer and consistent with eos_token.
    if let Some(gc) = files
        .get("generation_config.json")
        .and_then(|b| read_json("generation_config.json", b, "TOK010", &mut d))
    {
        r.generation_eos_ids = ids(gc.get("eos_token_id"));
        let limit = id_limit.or(tekken_vocab);
        for key in ["eos_token_id", "bos_token_id", "pad_token_id"] {
            for id in ids(gc.get(key)) {
                let out_of_tok = limit.is_some_and(|l| id >= l);
                let out_of_emb = config_vocab.is_some_and(|v| id >= v);
                let unknown = tok
                    .as_ref()
                    .is_some_and(|t| t.id_to_token(id as u32).is_none());
                if out_of_tok || out_of_emb || unknown {
                    d.push(
                        Diagnostic::error("TOK009", format!("generation_config.json: {key} {id} is not a token id of this tokenizer/embedding"))
                            .file("generation_config.json")
                            .tensor(key)
                            .advice("set it to the id of the model's end-of-turn token (copy generation_config.json from the base model)"),
                    );
                }
            }
        }
        if let (Some(t), Some(eos)) = (&tok, &r.eos_token) {
            if let Some(eid) = t.token_to_id(eos) {
                if !r.generation_eos_ids.is_empty() && !r.generation_eos_ids.contains(&(eid as u64))
                {
                    d.push(
                        Diagnostic::warning(
                            "TOK009",
                            format!(
                                "generation_config.json stops on ids {:?} but the tokenizer's eos_token {eos:?} is id {eid}; generation may run past the end of a turn",
                                r.generation_eos_ids
                            ),
                        )
                        .file("generation_config.json")
                        .tensor("eos_token_id")
                        .advice(format!("add {eid} to eos_token_id in generation_config.json")),
                    );
                }
            }
        }
    }
    r.diagnostics = d;
    r
}

/// Loads tokenizer.json, turning a panic inside the tokenizers crate into an error: the
/// check must never abort on a hostile file.
fn load_guarded(bytes: &[u8]) -> Result<Tokenizer, String> {
    std::panic::catch_unwind(|| Tokenizer::from_bytes(bytes))
        .map_err(|_| "the tokenizers crate panicked while loading it".to_string())?
        .map_err(|e| e.to_string())
}

fn probe(t: &Tokenizer, r: &mut TokenizerReport, d: &mut Vec<Diagnostic>) {
    match t.encode(PROBE, false) {
        Err(e) => d.push(
            Diagnostic::error("TOK004", format!("tokenizer.json loads but fails to encode the probe text: {e}"))
                .file("tokenizer.json")
                .advice("the tokenizer is broken (e.g. a pre-tokenizer regex or normalizer the crate rejects); re-export it"),
        ),
        Ok(enc) => {
            let ids = enc.get_ids();
            r.probe_tokens = Some(ids.len() as u64);
            if ids.is_empty() {
                d.push(
                    Diagnostic::error("TOK004", "tokenizer.json encodes the probe text to zero tokens")
                        .file("tokenizer.json")
                        .advice("the vocabulary or model section is empty or broken; re-export the tokenizer"),
                );
                return;
            }
            match t.decode(ids, false) {
                Ok(s) => {
                    let same = s == PROBE;
                    r.probe_round_trip = Some(same);
                    if !same {
                        d.push(
                            Diagnostic::warning("TOK004", format!("decode(encode(probe)) differs from the probe: got {s:?}"))
                                .file("tokenizer.json")
                                .advice("expected for lossy normalizers (lower-casing, unknown-token maps); otherwise the decoder is misconfigured"),
                        );
                    }
                }
                Err(e) => d.push(
                    Diagnostic::error("TOK004", format!("tokenizer.json fails to decode its own ids: {e}"))
                        .file("tokenizer.json")
                        .advice("the decoder section is broken; re-export the tokenizer"),
                ),
            }
        }
    }
}
