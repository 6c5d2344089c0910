//! Watch-mode latency in process: from a file change being applied to the last output byte
//! being written to disk, on the generated corpora (`cargo xtask fixtures`): `three10` (ten
//! copies of three.js's sources, ~3,900 modules), `synth-1000` and `synth-10000` (synthetic apps),
//! and `three10-min` (three10 built with `--minify --sourcemap`, for `body_edit_minified`).
//!
//! Each rebuild sample writes the edited file, calls `Workspace::apply_changes`, builds the ESM
//! bundle and writes it with `packem_output::write_outputs`, passing the previous `WrittenSet`
//! (as watch mode does). The workspace is warmed by one build before sampling. Edits:
//!
//! - `body_edit`: a new literal in a function body of a leaf module;
//! - `import_edit`: an import of an existing module added to (then removed from) a module,
//!   alternating;
//! - `noop_edit`: the file rewritten with the same bytes;
//! - `body_edit_parts`: `body_edit` on the synthetic corpora built with code splitting and
//!   `--max-chunk-size=262144` (every chunk written under its name).
//! - `body_edit_minified`: `body_edit` on `three10-min`: minified, with a linked source map
//!   written beside the bundle.
//!
//! Divan reports fastest/slowest/median/mean; each rebuild bench also prints the median and p90
//! of the latency measured without the write of the edited file (`cargo bench` only).
//! `cold_build` is a fresh workspace building and writing everything.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

use std::sync::Mutex;
use std::time::Duration;

use packem_benches::{Corpus, Session, corpora, quantile};

/// Latency summaries, printed after divan's table.
static SUMMARIES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn main() {
    divan::main();
    let summaries = SUMMARIES.lock().unwrap();
    if !summaries.is_empty() {
        println!("\nlatency from the change applied to the output written (excluding the edited file's write):");
        for line in summaries.iter() {
            println!("  {line}");
        }
    }
}

const REBUILD_SAMPLES: u32 = 40;

#[divan::bench(args = corpora(), sample_count = 5, sample_size = 1)]
fn cold_build(bencher: divan::Bencher, corpus: &str) {
    let copy = Corpus::new(corpus);
    bencher.bench_local(|| {
        // A fresh output directory, so the write is a full one too.
        let _ = std::fs::remove_dir_all(&copy.outdir);
        Session::new(&copy).cold()
    });
}

/// Runs `edit(n)` (returning the file and its new text) once per sample on a warm session and
/// prints the median and p90 of the in-process latency.
fn rebuild(bencher: divan::Bencher, corpus: &str, what: &str, edit: impl Fn(&Corpus, u64) -> (bool, String)) {
    rebuild_with(bencher, corpus, what, None, edit)
}

/// [`rebuild`], with code splitting into parts of at most `max_chunk_size` bytes when given.
fn rebuild_with(
    bencher: divan::Bencher,
    corpus: &str,
    what: &str,
    max_chunk_size: Option<u64>,
    edit: impl Fn(&Corpus, u64) -> (bool, String),
) {
    let copy = Corpus::new(corpus);
    let mut session = match max_chunk_size {
        Some(max) => copy.split_session(max),
        None => copy.session(),
    };
    let mut n = 0u64;
    let mut latencies: Vec<Duration> = Vec::new();
    bencher.bench_local(|| {
        n += 1;
        let (leaf, text) = edit(&copy, n);
        let path = if leaf { &copy.leaf } else { &copy.importer };
        latencies.push(session.timed_edit(path, &text));
    });
    if std::env::args().any(|arg| arg == "--bench") && !latencies.is_empty() {
        let median = quantile(&mut latencies, 0.5);
        let p90 = quantile(&mut latencies, 0.9);
        let line = format!("{what:<18} {corpus:<12} n={:<4} median={median:>9.2?} p90={p90:>9.2?}", latencies.len());
        SUMMARIES.lock().unwrap().push(line);
    }
}

#[divan::bench(args = corpora(), sample_count = REBUILD_SAMPLES, sample_size = 1)]
fn body_edit(bencher: divan::Bencher, corpus: &str) {
    rebuild(bencher, corpus, "body_edit", |copy, n| (true, copy.body_edit(n)));
}

/// A body edit with `--splitting --max-chunk-size=262144`: the edit rewrites one part of
/// at most 256 KiB instead of the rest of one multi-megabyte output.
#[divan::bench(args = ["synth-1000", "synth-10000"], sample_count = REBUILD_SAMPLES, sample_size = 1)]
fn body_edit_parts(bencher: divan::Bencher, corpus: &str) {
    rebuild_with(bencher, corpus, "body_edit_parts", Some(256 * 1024), |copy, n| (true, copy.body_edit(n)));
}

/// A body edit of `three10-min`: three10 built with `--minify --sourcemap` (esbuild's headline
/// benchmark), so each rebuild also minifies and writes the source map.
#[divan::bench(args = ["three10-min"], sample_count = REBUILD_SAMPLES, sample_size = 1)]
fn body_edit_minified(bencher: divan::Bencher, corpus: &str) {
    rebuild(bencher, corpus, "body_edit_minified", |copy, n| (true, copy.body_edit(n)));
}

#[divan::bench(args = corpora(), sample_count = REBUILD_SAMPLES, sample_size = 1)]
fn import_edit(bencher: divan::Bencher, corpus: &str) {
    rebuild(bencher, corpus, "import_edit", |copy, n| (false, copy.import_edit(n % 2 == 1)));
}

#[divan::bench(args = corpora(), sample_count = REBUILD_SAMPLES, sample_size = 1)]
fn noop_edit(bencher: divan::Bencher, corpus: &str) {
    rebuild(bencher, corpus, "noop_edit", |copy, _| (true, copy.leaf_text().to_owned()));
}
