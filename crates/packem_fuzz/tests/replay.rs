//! Replays every fuzz target's corpus and regressions (`fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`) on the stable toolchain: each input must run without a panic,
//! including panics that packem catches itself (the language server answers a panicking handler
//! with an error and keeps running, so a hook counts them).
#![allow(clippy::disallowed_methods)] // reads the corpora directly

use std::sync::atomic::{AtomicUsize, Ordering};

static PANICS: AtomicUsize = AtomicUsize::new(0);

#[test]
fn every_corpus_and_regression_input_runs_without_a_panic() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));
    let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut failures = Vec::new();
    let mut total = 0;
    for (name, target) in packem_fuzz::TARGETS {
        let mut inputs = Vec::new();
        for dir in ["corpus", "regressions"] {
            if let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(name)) {
                inputs.extend(entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()));
            }
        }
        inputs.sort();
        assert!(!inputs.is_empty(), "fuzz/corpus/{name} has no inputs");
        for path in inputs {
            let data = std::fs::read(&path).unwrap();
            let before = PANICS.load(Ordering::SeqCst);
            let outcome = std::panic::catch_unwind(|| target(&data));
            if outcome.is_err() || PANICS.load(Ordering::SeqCst) != before {
                failures.push(path.display().to_string());
            }
            total += 1;
        }
    }
    let _ = std::panic::take_hook();
    assert!(failures.is_empty(), "{} of {total} inputs panicked: {failures:#?}", failures.len());
}
