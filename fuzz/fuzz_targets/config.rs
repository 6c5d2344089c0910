#![no_main]
//! `cargo fuzz run config`: see `packem_fuzz::config`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| packem_fuzz::config(data));
