#![no_main]
//! `cargo fuzz run project`: see `packem_fuzz::project`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| packem_fuzz::project(data));
