//! `packem build` in process on three.js's sources (388 modules, ESM output): a cold build in a
//! fresh database, and a rebuild after a body edit of one leaf module in a warm one (the
//! output bytes, not written to disk: writing is `packem_output`'s and is benchmarked by the
//! watch-mode benchmarks).
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

use packem_benches::ThreeCopy;
use packem_host::Format;

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 10)]
fn cold_build_three(bencher: divan::Bencher) {
    let copy = ThreeCopy::new();
    bencher.bench_local(|| {
        let mut ws = copy.workspace();
        let target = ws.target(Format::Esm, None);
        let bundle = ws.build(target);
        assert!(bundle.chunks[0].code.len() > 500_000);
        bundle.chunks[0].code.len()
    });
}

#[divan::bench(sample_count = 50)]
fn body_edit_rebuild_three(bencher: divan::Bencher) {
    let copy = ThreeCopy::new();
    let mut ws = copy.workspace();
    let target = ws.target(Format::Esm, None);
    ws.build(target);
    let original = std::fs::read_to_string(&copy.leaf).unwrap();
    let mut n = 0u64;
    bencher.bench_local(|| {
        n += 1;
        // A new literal inside a function body: no import, export or declared name changes.
        let edited =
            original.replacen("return degrees * DEG2RAD;", &format!("return degrees * DEG2RAD * {n} / {n};"), 1);
        std::fs::write(&copy.leaf, edited).unwrap();
        ws.apply_changes([copy.leaf.clone()]);
        let bundle = ws.build(target);
        assert!(bundle.diagnostics.is_empty());
    });
}
