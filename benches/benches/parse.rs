//! The parse-only floor: how long oxc takes to parse every module of a generated corpus once
//! (`three10`, `synth-1000`, `synth-10000`; `cargo xtask fixtures`), in parallel on rayon's pool,
//! from sources already in memory. A cold `packem build` parses the same files and does
//! everything else on top, so this is the limit it can approach. `parse_semantic` adds oxc's
//! semantic analysis (scopes, symbols, syntax checks), which packem also runs on every module.
#![allow(clippy::disallowed_methods)] // benchmarks read their corpora directly

mod common;

use common::Sources;
use packem_benches::corpora;

fn main() {
    divan::main();
}

#[divan::bench(args = corpora(), sample_count = 10)]
fn parse(bencher: divan::Bencher, corpus: &str) {
    let sources = Sources::load(corpus);
    bencher.counter(divan::counter::BytesCount::new(sources.bytes())).bench_local(|| sources.parse_all(false));
}

#[divan::bench(args = corpora(), sample_count = 10)]
fn parse_semantic(bencher: divan::Bencher, corpus: &str) {
    let sources = Sources::load(corpus);
    bencher.counter(divan::counter::BytesCount::new(sources.bytes())).bench_local(|| sources.parse_all(true));
}
