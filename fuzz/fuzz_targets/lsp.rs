#![no_main]
//! `cargo fuzz run lsp`: see `packem_fuzz::lsp`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| packem_fuzz::lsp(data));
