//! Hostile tokenizer files (body: `safeweights::fuzz_checks::tokenizer::tokenizer`).
//!
//! The library catches panics of the tokenizers crate and reports them (TOK003/TOK004),
//! but libFuzzer's panic hook aborts before any unwinding, so this target installs a hook
//! that aborts only for panics located in our own sources (relative paths); a panic in a
//! dependency (absolute registry path) unwinds to the library's `catch_unwind`, and one
//! that escapes it still aborts through libfuzzer-sys's own `catch_unwind`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Once;

fuzz_target!(|data: &[u8]| {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let ours = info.location().is_some_and(|l| !l.file().starts_with('/'));
            if ours {
                eprintln!("{info}");
                std::process::abort();
            }
        }))
    });
    safeweights::fuzz_checks::tokenizer::tokenizer(data);
});
