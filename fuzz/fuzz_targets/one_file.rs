#![no_main]
//! `cargo fuzz run one_file`: see `packem_fuzz::one_file`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| packem_fuzz::one_file(data));
