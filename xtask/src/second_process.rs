//! `cargo xtask bench`'s "second process" phase: packem's persistent cache between processes,
//! paired with esbuild's cold build in the same rounds.
//!
//! Per corpus, on a copy of its fixture (the edits must not touch `.fixtures`), each round runs:
//! esbuild cold; packem with `--no-cache`; packem on an emptied cache directory (the first
//! process, which also writes the cache); packem again with nothing changed (a no-op second
//! process); then a one-file body edit (a new literal in a function of the corpus's leaf, as the
//! rebuild benchmark edits it) followed by packem (the second process after an edit). Wall times
//! are medians over the rounds; the cache's size is read after the last round and its load time
//! from the `open_cache` span (`PACKEM_LOG`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde_json::{Value, json};

use crate::bench::{Env, Options, measure, median, ms};

/// The file a body edit changes and the statement it extends, per corpus (the rebuild
/// benchmark's leaf, `benches/lib.rs`).
fn leaf(corpus: &str) -> (String, &'static str) {
    match corpus {
        "three10" | "three10-min" => ("copy0/math/MathUtils.js".into(), "return degrees * DEG2RAD;"),
        "react-app" => ("src/Badge.tsx".into(), "const threshold = 1;"),
        synth => {
            let modules: usize = synth.trim_start_matches("synth-").parse().unwrap_or(1000);
            let last = modules - 1;
            (format!("src/g{}/m{last}.js", last / 100), "let acc = (input | 0) + 1;")
        }
    }
}

pub(crate) fn second_process(env: &Env, options: &Options) -> Result<Value> {
    let mut results = serde_json::Map::new();
    for corpus in &options.corpora {
        let source_dir = crate::bench::fixture_path(env.root, corpus);
        let copy = env.work.join(format!("second-{corpus}"));
        let _ = std::fs::remove_dir_all(&copy);
        crate::run(Command::new("cp").arg("-a").arg(&source_dir).arg(&copy))?;
        let entry = copy.join(crate::bench::entry_name(corpus));
        let (leaf_rel, needle) = leaf(corpus);
        let leaf = copy.join(&leaf_rel);
        let leaf_text = std::fs::read_to_string(&leaf).with_context(|| format!("reading {}", leaf.display()))?;
        anyhow::ensure!(leaf_text.contains(needle), "{} lacks `{needle}`", leaf.display());
        let cache = env.work.join(format!("cache-{corpus}"));
        let out = |name: &str| env.work.join("out-second").join(name).join(corpus);
        let packem = |cache_arg: Option<&Path>, outdir: &Path| -> Command {
            let mut cmd = Command::new(env.packem);
            cmd.current_dir(&copy).arg("build").arg(&entry).arg(format!("--outdir={}", outdir.display()));
            cmd.args(["--format=esm", "--platform=browser", "--log-level=warning"]);
            if crate::bench::minified(corpus) {
                cmd.args(["--minify", "--sourcemap"]);
            }
            match cache_arg {
                Some(dir) => cmd.arg(format!("--cache-dir={}", dir.display())),
                None => cmd.arg("--no-cache"),
            };
            cmd
        };
        let mut esbuild = Vec::new();
        let mut no_cache = Vec::new();
        let mut empty = Vec::new();
        let mut noop = Vec::new();
        let mut edited = Vec::new();
        let mut changed = std::time::Instant::now();
        for round in 0..=options.runs {
            eprintln!(
                "bench: second process on {corpus}, {}",
                if round == 0 { "warm-up".into() } else { format!("run {round}") }
            );
            let log = env.work.join(format!("second-{corpus}.log"));
            let esbuild_out = out("esbuild").join(crate::bench::output_name(&entry));
            let mut cmd = Command::new(env.peers.join("node_modules/esbuild/bin/esbuild"));
            cmd.arg(&entry).args(["--bundle", "--format=esm", "--platform=browser", "--log-level=warning"]);
            cmd.arg(format!("--outfile={}", esbuild_out.display()));
            if crate::bench::minified(corpus) {
                cmd.args(["--minify", "--sourcemap"]);
            }
            let e = measure(&mut cmd, &log)?.0;
            let n = measure(&mut packem(None, &out("no-cache")), &log)?.0;
            let _ = std::fs::remove_dir_all(&cache);
            // The sources last changed (the copy, the restored leaf) longer ago than the
            // timestamp granularity, so this build leaves a journal that the no-op run checks.
            std::thread::sleep(Duration::from_millis(2100).saturating_sub(changed.elapsed()));
            let f = measure(&mut packem(Some(&cache), &out("cache")), &log)?.0;
            let s = measure(&mut packem(Some(&cache), &out("cache")), &log)?.0;
            let n_edit = round as u64 + 1;
            let edit = format!("{} + {n_edit} - {n_edit};", needle.trim_end_matches(';'));
            std::fs::write(&leaf, leaf_text.replacen(needle, &edit, 1))?;
            let b = measure(&mut packem(Some(&cache), &out("cache")), &log)?.0;
            std::fs::write(&leaf, &leaf_text)?;
            changed = std::time::Instant::now();
            if round > 0 {
                esbuild.push(e);
                no_cache.push(n);
                empty.push(f);
                noop.push(s);
                edited.push(b);
            }
        }
        // The last build ran after an edit: build the restored sources once more, and check the
        // cached build's outputs against the cold one's.
        measure(&mut packem(Some(&cache), &out("cache")), &env.work.join("second.log"))?;
        measure(&mut packem(None, &out("no-cache")), &env.work.join("second.log"))?;
        let same = directory_bytes(&out("cache"))? == directory_bytes(&out("no-cache"))?;
        anyhow::ensure!(same, "{corpus}: the cached build's outputs differ from the --no-cache build's");
        let cache_bytes = std::fs::metadata(cache.join("packem.cache")).map(|m| m.len()).unwrap_or(0);
        let output_bytes: u64 = directory_bytes(&out("no-cache"))?.iter().map(|(_, b)| b.len() as u64).sum();
        let load_ms = load_time(packem(Some(&cache), &out("cache")))?;
        let _ = std::fs::remove_dir_all(&copy);
        results.insert(
            corpus.to_string(),
            json!({
                "esbuild_cold_ms": ms(median(&mut esbuild)),
                "no_cache_ms": ms(median(&mut no_cache)),
                "empty_cache_ms": ms(median(&mut empty)),
                "noop_ms": ms(median(&mut noop)),
                "body_edit_ms": ms(median(&mut edited)),
                "cache_bytes": cache_bytes,
                "output_bytes": output_bytes,
                "cache_load_ms": load_ms,
            }),
        );
    }
    Ok(Value::Object(results))
}

/// Every file under `dir` (relative path, bytes), sorted.
fn directory_bytes(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).with_context(|| format!("reading {}", at.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.strip_prefix(dir)?.to_path_buf(), std::fs::read(&path)?));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The `open_cache` span's busy time of one run of `cmd` (reading and checking the cache file).
fn load_time(mut cmd: Command) -> Result<f64> {
    let output = cmd.env("PACKEM_LOG", "packem_host::persist=info").env("NO_COLOR", "1").output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr.lines().find(|l| l.contains("open_cache") && l.contains("close")).unwrap_or_default();
    let busy = line.split("time.busy=").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap_or("");
    Ok(parse_duration(busy).map(ms).unwrap_or(0.0))
}

/// A tracing duration (`11.9ms`, `812µs`, `1.2s`).
fn parse_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| c.is_alphabetic() || c == 'µ')?;
    let (value, unit) = text.split_at(split);
    let value: f64 = value.parse().ok()?;
    let seconds = match unit {
        "s" => value,
        "ms" => value / 1e3,
        "µs" | "us" => value / 1e6,
        "ns" => value / 1e9,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

/// The report's section.
pub(crate) fn report(w: &mut String, options: &Options, results: &Value) {
    use std::fmt::Write as _;
    let Some(rows) = results["second_process"].as_object() else { return };
    writeln!(w, "## Second process (persistent cache)\n").unwrap();
    writeln!(
        w,
        "Each round, paired: esbuild's cold build; packem with `--no-cache`; packem on an emptied \
         cache (the first process, which writes it; the sources last changed more than 2 s \
         before, so it leaves a journal); packem again with nothing changed (the journal finds \
         every input and output as it was and the build ends there); then a one-file body edit \
         and packem (every packem run a new process on a copy of the corpus). Medians of {} \
         rounds after a warm-up round; in parentheses the ratio to esbuild's cold build. The \
         cache holds each file's content hash by stamp, each module's facts and renders, and the \
         journal (`ARCHITECTURE.md`, persistence); its load time is the `open_cache` span.\n",
        options.runs
    )
    .unwrap();
    writeln!(
        w,
        "| corpus | esbuild cold | packem `--no-cache` | first process (empty cache) | no-op second process | second process after a body edit | cache / outputs | cache load |"
    )
    .unwrap();
    writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|").unwrap();
    for corpus in &options.corpora {
        let Some(row) = rows.get(corpus) else { continue };
        let esbuild = row["esbuild_cold_ms"].as_f64().unwrap_or(0.0);
        let cell = |key: &str| {
            let value = row[key].as_f64().unwrap_or(0.0);
            format!("{}{}", crate::bench::fmt_ms(value), crate::bench::ratio(value, Some(esbuild)))
        };
        let mib = |key: &str| row[key].as_f64().unwrap_or(0.0) / 1024.0 / 1024.0;
        writeln!(
            w,
            "| {corpus} | {} | {} | {} | {} | {} | {:.1} / {:.1} MiB ({:.2}×) | {} |",
            crate::bench::fmt_ms(esbuild),
            cell("no_cache_ms"),
            cell("empty_cache_ms"),
            cell("noop_ms"),
            cell("body_edit_ms"),
            mib("cache_bytes"),
            mib("output_bytes"),
            mib("cache_bytes") / mib("output_bytes").max(f64::MIN_POSITIVE),
            crate::bench::fmt_ms(row["cache_load_ms"].as_f64().unwrap_or(0.0)),
        )
        .unwrap();
    }
    writeln!(w).unwrap();
}
