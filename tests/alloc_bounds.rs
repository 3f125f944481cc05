//! Resource bounds of the parsers of untrusted bytes (docs/fuzzing.md, "Bounded
//! resources"): a counting global allocator measures the peak bytes allocated while one
//! parse runs, and the number of allocations, over generated and hostile inputs.
//!
//! - Memory: peak ≤ K · input_len + C, with K and C per parser as documented.
//! - Linear work: doubling the input at most roughly doubles the number of allocations
//!   and the peak (measured by counts, never by wall time, so the test cannot be flaky).
//!
//! This is its own test binary because the allocator is process-wide; a mutex serializes
//! the measurements.

use safeweights::container::{parse_header, Limits};
use safeweights::dtype::Dtype;
use safeweights::gen::hostile::{assemble, contiguous, corpus, raw_header};
use safeweights::model::config::parse_config_str;
use safeweights::model::index::parse_index;
use safeweights::model::tokenizer::analyze_tokenizer;
use safeweights::quant::{detect_from, SideFiles};
use serde_json::json;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    COUNT.fetch_add(1, Relaxed);
    let now = CURRENT.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call forwards to the system allocator with the caller's arguments
// unchanged; the counters are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (the caller upholds `alloc`'s contract).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

static SERIAL: Mutex<()> = Mutex::new(());

/// What one run of `f` allocated: peak bytes above the starting level, and allocations.
#[derive(Debug, Clone, Copy)]
struct Usage {
    peak: usize,
    count: usize,
}

/// Held for a whole test: another test building its inputs on another thread would be
/// counted too.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn measure<R>(f: impl FnOnce() -> R) -> Usage {
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    COUNT.store(0, Relaxed);
    let r = f();
    let usage = Usage {
        peak: PEAK.load(Relaxed).saturating_sub(base),
        count: COUNT.load(Relaxed),
    };
    drop(r);
    usage
}

/// Asserts `peak ≤ k · len + c` for every input; returns the largest peak/len seen.
fn check_bound(what: &str, k: usize, c: usize, inputs: &[(String, usize, Usage)]) {
    for (name, len, u) in inputs {
        if std::env::var_os("ALLOC_VERBOSE").is_some() {
            eprintln!(
                "{what}: {name}: {len} bytes, peak {} ({:.1}/byte), {} allocations",
                u.peak,
                u.peak as f64 / *len as f64,
                u.count
            );
        }
        assert!(
            u.peak <= k * len + c,
            "{what}: {name} ({len} bytes) peaked at {} bytes > {k}·len + {c}",
            u.peak
        );
    }
    let worst = inputs
        .iter()
        .map(|(_, len, u)| u.peak as f64 / (*len).max(1) as f64)
        .fold(0.0, f64::max);
    eprintln!("{what}: {} inputs, worst peak/len {worst:.1}", inputs.len());
}

/// Asserts doubling the input (`small` → `big`, `big` about twice `small`) at most
/// `factor`-folds the allocations and the peak.
fn check_linear(what: &str, small: (usize, Usage), big: (usize, Usage), factor: f64) {
    let (ls, s) = small;
    let (lb, b) = big;
    let size = lb as f64 / ls as f64;
    assert!(
        (1.8..=2.2).contains(&size),
        "{what}: inputs are not doubled"
    );
    let count = b.count as f64 / s.count.max(1) as f64;
    let peak = b.peak as f64 / s.peak.max(1) as f64;
    eprintln!("{what}: input x{size:.2}, allocations x{count:.2}, peak x{peak:.2}");
    assert!(
        (1.5..=factor).contains(&count),
        "{what}: allocations grew x{count:.2} for input x{size:.2}"
    );
    assert!(
        peak <= factor,
        "{what}: peak grew x{peak:.2} for input x{size:.2}"
    );
}

/// A valid header of `n` tensors (the data is not needed: `parse_header` takes the real
/// file length separately).
fn header_of(n: usize, dtype_step: usize) -> (Vec<u8>, u64) {
    let tensors: Vec<(String, Dtype, Vec<u64>)> = (0..n)
        .map(|i| {
            let d = Dtype::ALL[(i * dtype_step) % Dtype::ALL.len()];
            (
                format!("model.layers.{i}.mlp.down_proj.weight"),
                d,
                vec![8, 4],
            )
        })
        .collect();
    let (entries, data_len) = contiguous(&tensors);
    let meta: Vec<(String, String)> = (0..n / 10)
        .map(|i| (format!("key{i}"), "v".repeat(20)))
        .collect();
    let file = assemble(raw_header(&entries, &meta).as_bytes(), &[]);
    let len = file.len() as u64 + data_len;
    (file, len)
}

fn parse(file: &[u8], len: u64) -> Usage {
    measure(|| parse_header(file, len, &Limits::default()))
}

/// Container header: K = 32, C = 64 KiB (6.8 bytes per byte for writer output, 13.6 for
/// thousands of duplicate keys, each with its own diagnostic, 21 for a 200,000-element
/// shape, parsed as JSON values before the rank check refuses it).
#[test]
fn container_header() {
    let _serial = serial();
    let mut inputs = Vec::new();
    for n in [1, 10, 100, 1000, 10_000] {
        let (file, len) = header_of(n, 1);
        inputs.push((format!("{n} tensors"), file.len(), parse(&file, len)));
    }
    for c in corpus() {
        let u = parse(&c.bytes, c.bytes.len() as u64);
        inputs.push((c.name.to_string(), c.bytes.len(), u));
    }
    // Hostile shapes of growth: one huge name, one huge metadata value, deep nesting,
    // many tiny duplicate keys, long runs of whitespace, a huge dimension list.
    let long_name = format!(
        "{{\"{}\":{{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}}}",
        "n".repeat(1 << 20)
    );
    let long_meta = format!("{{\"__metadata__\":{{\"k\":\"{}\"}}}}", "v".repeat(1 << 20));
    let deep = format!(
        "{{\"__metadata__\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let dups = format!(
        "{{{}\"a\":{{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}}}",
        "\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},".repeat(20_000)
    );
    let spaces = format!("{}{{}}{}", " ".repeat(1 << 20), " ".repeat(1 << 20));
    let dims = format!(
        "{{\"t\":{{\"dtype\":\"U8\",\"shape\":[{}1],\"data_offsets\":[0,1]}}}}",
        "1,".repeat(200_000)
    );
    let escapes = format!(
        "{{\"__metadata__\":{{\"k\":\"{}\"}}}}",
        "\\u00e9".repeat(100_000)
    );
    for (name, h) in [
        ("long name", long_name),
        ("long metadata", long_meta),
        ("deep nesting", deep),
        ("duplicate keys", dups),
        ("whitespace", spaces),
        ("many dimensions", dims),
        ("escapes", escapes),
    ] {
        let file = assemble(h.as_bytes(), &[]);
        let u = parse(&file, file.len() as u64 + 1);
        inputs.push((name.to_string(), file.len(), u));
    }
    check_bound("parse_header", 32, 64 << 10, &inputs);

    let (f1, l1) = header_of(4000, 1);
    let (f2, l2) = header_of(8000, 1);
    check_linear(
        "parse_header",
        (f1.len(), parse(&f1, l1)),
        (f2.len(), parse(&f2, l2)),
        2.5,
    );
}

fn config_text(layers: usize) -> String {
    let mut c = safeweights::model::synth::ModelSpec::llama_tiny().config_json();
    c["num_hidden_layers"] = json!(layers);
    c["layer_types"] = json!((0..layers)
        .map(|i| if i % 4 == 3 {
            "full_attention"
        } else {
            "sliding_attention"
        })
        .collect::<Vec<_>>());
    c["rope_scaling"] = json!({
        "rope_type": "longrope", "factor": 4.0,
        "short_factor": vec![1.0; layers], "long_factor": vec![2.0; layers],
        "original_max_position_embeddings": 4096
    });
    c["id2label"] = json!((0..layers)
        .map(|i| (i.to_string(), json!(format!("LABEL_{i}"))))
        .collect::<serde_json::Map<_, _>>());
    c.to_string()
}

/// config.json: K = 64, C = 32 MiB: at most `MAX_CONFIG_CONTAINERS` (10,000) objects and
/// arrays, each a few KiB once parsed and normalised (the RoPE table of a normalised
/// config is not built here; `inv_freq` is capped at 2^19 entries separately).
#[test]
fn config_json() {
    let _serial = serial();
    let mut inputs = Vec::new();
    for n in [1, 10, 100, 1000, 10_000] {
        let t = config_text(n);
        inputs.push((
            format!("{n} layers"),
            t.len(),
            measure(|| parse_config_str(&t)),
        ));
    }
    for (name, t) in [
        (
            "deep",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        ),
        (
            "long string",
            format!("{{\"model_type\":\"{}\"}}", "x".repeat(1 << 20)),
        ),
        (
            "many keys",
            format!(
                "{{{}\"z\":0}}",
                (0..50_000)
                    .map(|i| format!("\"k{i}\":{i},"))
                    .collect::<String>()
            ),
        ),
        (
            "tiny objects (refused)",
            format!("{{\"x\":[{}{{}}]}}", "{\"a\":0},".repeat(100_000)),
        ),
        (
            "tiny objects",
            format!("{{\"x\":[{}{{}}]}}", "{\"a\":0},".repeat(9_990)),
        ),
        (
            "tiny arrays",
            format!("{{\"x\":[{}0]}}", "[0],".repeat(9_990)),
        ),
        ("numbers", format!("{{\"x\":[{}0]}}", "0,".repeat(500_000))),
        (
            "nested text_config",
            format!(
                "{{\"text_config\":{}{{}}{}}}",
                "{\"text_config\":".repeat(100),
                "}".repeat(100)
            ),
        ),
    ] {
        inputs.push((name.to_string(), t.len(), measure(|| parse_config_str(&t))));
    }
    check_bound("parse_config_str", 64, 32 << 20, &inputs);
    let (a, b) = (config_text(4000), config_text(8000));
    check_linear(
        "parse_config_str",
        (a.len(), measure(|| parse_config_str(&a))),
        (b.len(), measure(|| parse_config_str(&b))),
        2.5,
    );
}

fn index_text(n: usize) -> String {
    let map: serde_json::Map<String, serde_json::Value> = (0..n)
        .map(|i| {
            (
                format!("model.layers.{i}.mlp.down_proj.weight"),
                json!(format!("model-{:05}-of-{:05}.safetensors", i % 7 + 1, 7)),
            )
        })
        .collect();
    json!({"metadata": {"total_size": 123}, "weight_map": map}).to_string()
}

/// model.safetensors.index.json: K = 24, C = 64 KiB (5 bytes per byte for a real index,
/// 18 when every entry names an unsafe shard and gets a diagnostic).
#[test]
fn index_json() {
    let _serial = serial();
    let mut inputs = Vec::new();
    for n in [1, 10, 100, 1000, 10_000, 50_000] {
        let t = index_text(n);
        inputs.push((format!("{n} entries"), t.len(), measure(|| parse_index(&t))));
    }
    let hostile = format!(
        "{{\"weight_map\":{{{}\"z\":\"a\"}}}}",
        (0..20_000)
            .map(|i| format!("\"t{i}\":\"../{i}/{}\",", "x".repeat(i % 50)))
            .collect::<String>()
    );
    inputs.push((
        "hostile names".into(),
        hostile.len(),
        measure(|| parse_index(&hostile)),
    ));
    let dup = format!(
        "{{\"weight_map\":{{{}\"a\":\"b\"}}}}",
        "\"a\":\"b\",".repeat(100_000)
    );
    inputs.push((
        "duplicate keys".into(),
        dup.len(),
        measure(|| parse_index(&dup)),
    ));
    check_bound("parse_index", 24, 64 << 10, &inputs);
    let (a, b) = (index_text(20_000), index_text(40_000));
    check_linear(
        "parse_index",
        (a.len(), measure(|| parse_index(&a))),
        (b.len(), measure(|| parse_index(&b))),
        2.5,
    );
}

/// Detection over `n` tensor names and `p` unquantized-module patterns.
fn detect_input(n: usize, p: usize) -> (serde_json::Value, Vec<String>, usize) {
    let patterns: Vec<String> = (0..p)
        .map(|i| match i % 3 {
            0 => format!("model.layers.{i}.mlp.gate"),
            1 => format!("model.layers.*.experts.{i}"),
            _ => format!("re:.*layers\\.{i}\\.self_attn$"),
        })
        .collect();
    let config = json!({"quantization_config": {
        "quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": false,
        "checkpoint_format": "gptq", "modules_to_not_convert": patterns
    }});
    let names: Vec<String> = (0..n)
        .flat_map(|i| {
            ["qweight", "qzeros", "scales", "g_idx"]
                .map(|s| format!("model.layers.{i}.mlp.down_proj.{s}"))
        })
        .collect();
    let len = config.to_string().len() + names.iter().map(|n| n.len() + 1).sum::<usize>();
    (config, names, len)
}

/// Quantization detection: K = 8, C = 64 KiB over config + names; work is
/// O(names × patterns) (every quantized name is matched against every pattern), linear in
/// each with the other fixed.
#[test]
fn quant_detect() {
    let _serial = serial();
    let run = |n: usize, p: usize| {
        let (config, names, len) = detect_input(n, p);
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        (
            len,
            measure(|| detect_from(&config, &SideFiles::default(), &refs)),
        )
    };
    let mut inputs = Vec::new();
    for (n, p) in [(1, 1), (100, 3), (1000, 3), (10_000, 3), (100, 300)] {
        let (len, u) = run(n, p);
        inputs.push((format!("{n} layers, {p} patterns"), len, u));
    }
    check_bound("detect_from", 8, 64 << 10, &inputs);
    check_linear("detect_from (names)", run(5000, 3), run(10_000, 3), 2.5);
    check_linear("detect_from (patterns)", run(10, 2000), run(10, 4000), 2.5);
}

fn tokenizer_json(extra: usize) -> Vec<u8> {
    let mut v: serde_json::Value =
        serde_json::from_str(&safeweights::model::synth::tokenizer_json()).unwrap();
    let vocab = v["model"]["vocab"].as_object_mut().unwrap();
    let base = vocab.len();
    for i in 0..extra {
        vocab.insert(format!("tok{i}"), json!(base + i));
    }
    v.to_string().into_bytes()
}

/// Tokenizer files: K = 64, C = 4 MiB (the tokenizers crate builds its own tables).
#[test]
fn tokenizer() {
    let _serial = serial();
    let run = |bytes: Vec<u8>| {
        let len = bytes.len();
        let mut files: BTreeMap<&'static str, Result<Vec<u8>, String>> = BTreeMap::new();
        files.insert("tokenizer.json", Ok(bytes));
        (len, measure(|| analyze_tokenizer(&files, Some(1000))))
    };
    let mut inputs = Vec::new();
    for n in [0, 1000, 10_000, 50_000] {
        let (len, u) = run(tokenizer_json(n));
        inputs.push((format!("{n} extra tokens"), len, u));
    }
    for (name, t) in [
        (
            "deep",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        ),
        (
            "long string",
            format!("{{\"model\":\"{}\"}}", "x".repeat(1 << 20)),
        ),
        (
            "tiny objects",
            format!("{{\"x\":[{}{{}}]}}", "{\"a\":0},".repeat(100_000)),
        ),
    ] {
        let (len, u) = run(t.into_bytes());
        inputs.push((name.to_string(), len, u));
    }
    check_bound("analyze_tokenizer", 64, 4 << 20, &inputs);
    check_linear(
        "analyze_tokenizer",
        run(tokenizer_json(20_000)),
        run(tokenizer_json(40_000)),
        2.5,
    );
}
