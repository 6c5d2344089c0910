//! `packem check` in process on three.js's sources (388 modules): a cold run in a fresh
//! database, and a re-check after a body edit of one leaf module in a warm one.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

use packem_benches::ThreeCopy;

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 10)]
fn cold_check_three(bencher: divan::Bencher) {
    let copy = ThreeCopy::new();
    bencher.bench_local(|| {
        let ws = copy.workspace();
        assert!(ws.diagnostics().is_empty());
        ws.module_graph().modules.len()
    });
}

#[divan::bench(sample_count = 50)]
fn body_edit_recheck_three(bencher: divan::Bencher) {
    let copy = ThreeCopy::new();
    let mut ws = copy.workspace();
    assert!(ws.diagnostics().is_empty());
    let original = std::fs::read_to_string(&copy.leaf).unwrap();
    let mut n = 0u64;
    bencher.bench_local(|| {
        n += 1;
        // A new top-level statement each time: the module's imports and exports stay equal.
        let edited = original.replacen("const DEG2RAD", &format!("const EDIT_{n} = {n};\nconst DEG2RAD"), 1);
        std::fs::write(&copy.leaf, edited).unwrap();
        ws.apply_changes([copy.leaf.clone()]);
        assert!(ws.diagnostics().is_empty());
    });
}
