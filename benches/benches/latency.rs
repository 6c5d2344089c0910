//! packem's numbers for `cargo xtask bench`, as JSON: per generated corpus (`cargo xtask
//! fixtures`), the parse-only floor (see `parse.rs`), a cold in-process build (fresh workspace,
//! everything built and written), and the latency of the rebuild benchmarks' edits in one warm
//! [`Session`] (from the edited file being on disk to the output being written; see
//! `rebuild.rs`): `body` (`Corpus::body_edit`), `import` (`Corpus::import_edit`, adding then
//! removing), `noop` (the leaf rewritten with the same bytes) and, for `react-app`, `body_js`
//! (the same edit of a JavaScript leaf, to compare with the TSX leaf's `body`). Each kind starts with
//! unmeasured warm-up edits and ends with the edited file restored, as `benches/peers/driver.mjs`
//! does for the other bundlers.
//!
//! Not a divan benchmark: a plain `main` printing JSON on stdout (and to `--out=FILE`), a summary
//! on stderr. Under `cargo bench` (which passes `--bench`): every corpus, 20 edits of each kind,
//! 5 cold builds. Otherwise (the test mode of `cargo test --all-targets`): `synth-1000` only, 2
//! of each. `--reps=N`, `--cold-runs=N` and `--corpus=NAME` (repeatable) override; NAME may also
//! be a variant such as `three10-min` (three10's files, built minified with a linked source map:
//! see `Corpus::minified`), which `cargo xtask bench` passes but `cargo bench` does not run.
//!
//! `cargo bench -p packem_benches --bench latency -- --out=latency.json`
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

mod common;

use std::time::{Duration, Instant};

use common::Sources;
use packem_benches::{Corpus, Session, corpora, quantile};
use serde_json::{Value, json};

fn main() {
    let mut full = false;
    let mut reps = None;
    let mut cold_runs = None;
    let mut names = Vec::new();
    let mut out = None;
    for arg in std::env::args().skip(1) {
        if arg == "--bench" {
            full = true;
        } else if let Some(n) = arg.strip_prefix("--reps=") {
            reps = Some(n.parse::<u64>().expect("--reps=N"));
        } else if let Some(n) = arg.strip_prefix("--cold-runs=") {
            cold_runs = Some(n.parse::<usize>().expect("--cold-runs=N"));
        } else if let Some(name) = arg.strip_prefix("--corpus=") {
            names.push(name.to_owned());
        } else if let Some(path) = arg.strip_prefix("--out=") {
            out = Some(path.to_owned());
        } else {
            eprintln!("latency: ignoring argument {arg:?}");
        }
    }
    let reps = reps.unwrap_or(if full { 20 } else { 2 });
    let cold_runs = cold_runs.unwrap_or(if full { 5 } else { 1 });
    if names.is_empty() {
        names = if full { corpora().into_iter().map(str::to_owned).collect() } else { vec!["synth-1000".to_owned()] };
    }

    let results: Vec<Value> = names.iter().map(|name| corpus(name, reps, cold_runs, full)).collect();
    let report = json!({ "tool": "packem (in process)", "corpora": results });
    let text = serde_json::to_string_pretty(&report).unwrap();
    if let Some(path) = out {
        std::fs::write(&path, &text).unwrap_or_else(|err| panic!("writing {path}: {err}"));
    }
    println!("{text}");
}

fn corpus(name: &str, reps: u64, cold_runs: usize, warm_up: bool) -> Value {
    let sources = Sources::load(name);
    let parse = timed(cold_runs, warm_up, || sources.parse_all(false));
    let parse_semantic = timed(cold_runs, warm_up, || sources.parse_all(true));
    eprintln!(
        "{name}: {} modules, parse floor {:.1}ms (with semantic {:.1}ms)",
        sources.files.len(),
        parse["median_ms"].as_f64().unwrap(),
        parse_semantic["median_ms"].as_f64().unwrap()
    );

    let copy = Corpus::new(name);
    let cold = timed(cold_runs, warm_up, || {
        // A fresh output directory, so the write is a full one too.
        let _ = std::fs::remove_dir_all(&copy.outdir);
        Session::new(&copy).cold()
    });
    eprintln!("{name}: cold build in process {:.1}ms", cold["median_ms"].as_f64().unwrap());

    let mut session = copy.session();
    let mut n = 0u64;
    let mut measure = |kind: &str, warmup: u64, count: u64, edit: &dyn Fn(&Corpus, u64) -> (Which, String)| {
        let mut samples = Vec::new();
        for i in 0..warmup + count {
            n += 1;
            let (which, text) = edit(&copy, n);
            let path = match which {
                Which::Leaf => &copy.leaf,
                Which::JsLeaf => copy.js_leaf.as_ref().expect("a JavaScript leaf"),
                Which::Importer => &copy.importer,
            };
            let latency = session.timed_edit(path, &text);
            if i >= warmup {
                samples.push(latency);
            }
        }
        // Back to the original files for the next kind (unmeasured).
        session.edit(&copy.leaf, copy.leaf_text());
        session.edit(&copy.importer, &copy.import_edit(false));
        if let Some(js_leaf) = &copy.js_leaf {
            session.edit(js_leaf, copy.js_leaf_text());
        }
        let result = summary(&mut samples);
        eprintln!(
            "{name}: {kind:<7} median {:.1}ms p90 {:.1}ms",
            result["median_ms"].as_f64().unwrap(),
            result["p90_ms"].as_f64().unwrap()
        );
        result
    };
    let body = measure("body", 2, reps, &|copy, n| (Which::Leaf, copy.body_edit(n)));
    let import = measure("import", 2, reps.div_ceil(2) * 2, &|copy, n| (Which::Importer, copy.import_edit(n % 2 == 1)));
    let noop = measure("noop", 1, reps, &|copy, _| (Which::Leaf, copy.leaf_text().to_owned()));
    let mut edits = json!({ "body": body, "import": import, "noop": noop });
    if copy.js_leaf.is_some() {
        edits["body_js"] = measure("body_js", 2, reps, &|copy, n| (Which::JsLeaf, copy.js_body_edit(n)));
    }

    json!({
        "corpus": name,
        "modules": sources.files.len(),
        "bytes": sources.bytes(),
        "parse": parse,
        "parse_semantic": parse_semantic,
        "cold": cold,
        "edits": edits,
    })
}

/// Which file an edit changes.
enum Which {
    Leaf,
    JsLeaf,
    Importer,
}

/// Runs `f` `runs` times (after one unmeasured run when `warm_up`) and summarizes the times.
fn timed<T>(runs: usize, warm_up: bool, mut f: impl FnMut() -> T) -> Value {
    if warm_up {
        std::hint::black_box(f());
    }
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    summary(&mut samples)
}

/// The shape `benches/peers/driver.mjs` prints too: count, misses, median, p90 and the samples,
/// in milliseconds.
fn summary(samples: &mut [Duration]) -> Value {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let in_order: Vec<f64> = samples.iter().map(|&d| (ms(d) * 1000.0).round() / 1000.0).collect();
    let (median, p90) = if samples.is_empty() {
        (None, None)
    } else {
        (Some(ms(quantile(samples, 0.5))), Some(ms(quantile(samples, 0.9))))
    };
    json!({ "n": samples.len(), "missed": 0, "median_ms": median, "p90_ms": p90, "samples_ms": in_order })
}
