//! `cargo xtask bench-targets [--runs=N]`: several targets of one packem.json in one `packem
//! build` (one database: parses shared where options agree, targets side by side) against a
//! packem process per target and against esbuild, on the Extism-shaped fixture
//! (`tests/fixtures/extism`, five targets, two of them embedded in the others) and on
//! three.js×10 built as ESM, CommonJS and IIFE; and a `--watch` rebuild after a worker edit.
//! Writes `docs/benchmarks-targets.md`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::bench::{measure, median, ms};

const EXTISM_TARGETS: &[&str] = &["worker-node", "worker-browser", "node-esm", "node-cjs", "browser-esm"];
const THREE_TARGETS: &[(&str, &str)] = &[("esm", "esm"), ("cjs", "cjs"), ("iife", "iife")];

pub fn bench_targets(root: &Path, args: &[String]) -> Result<()> {
    let mut runs = 10usize;
    for arg in args {
        match arg.strip_prefix("--runs=") {
            Some(n) => runs = n.parse().context("--runs=N")?,
            None => bail!("unknown option {arg} (known: --runs=N)"),
        }
    }
    let started = Instant::now();
    let (peers, packem) = crate::bench::prepare(root)?;
    let esbuild = peers.join("node_modules/esbuild/bin/esbuild");
    let work = root.join(".fixtures/bench-targets");
    let _ = std::fs::remove_dir_all(&work);
    let extism = work.join("extism");
    copy_dir(&root.join("tests/fixtures/extism"), &extism)?;
    let log = work.join("log.txt");
    let time = |cmd: &mut Command| -> Result<Duration> { Ok(measure(cmd, &log)?.0) };

    // The Extism fixture: one process, a process per target, esbuild's API (one build per
    // target, in one node process).
    eprintln!("bench-targets: tests/fixtures/extism, {runs} runs");
    let mut one = Vec::new();
    let mut separate = Vec::new();
    let mut esbuild_process = Vec::new();
    let mut esbuild_builds = Vec::new();
    for _ in 0..runs {
        one.push(time(Command::new(&packem).current_dir(&extism).args([
            "build",
            "--log-level=warning",
            "--no-cache",
        ]))?);
        let mut total = Duration::ZERO;
        for name in EXTISM_TARGETS {
            total += time(Command::new(&packem).current_dir(&extism).args([
                "build",
                "--only",
                name,
                "--log-level=warning",
                "--no-cache",
            ]))?;
        }
        separate.push(total);
        let script = root.join("benches/peers/targets-esbuild.mjs");
        let start = Instant::now();
        let output = Command::new("node").arg(&script).arg(&extism).arg(&peers).output()?;
        esbuild_process.push(start.elapsed());
        if !output.status.success() {
            bail!("targets-esbuild.mjs failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let json: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        esbuild_builds.push(Duration::from_secs_f64(json["ms"].as_f64().unwrap_or_default() / 1000.0));
    }
    let watch = watch_worker_edits(&packem, &extism, runs.max(10))?;

    // three.js×10 as three targets.
    eprintln!("bench-targets: three.js×10 as ESM, CommonJS and IIFE, {runs} runs");
    let three = work.join("three10");
    std::fs::create_dir_all(&three)?;
    let entry = root.join(".fixtures/three10/entry.js");
    let targets: Vec<String> = THREE_TARGETS
        .iter()
        .map(|(name, format)| format!(r#"{{ "name": "{name}", "format": "{format}", "outfile": "dist/{name}.js" }}"#))
        .collect();
    std::fs::write(
        three.join("packem.json"),
        format!(
            "{{ \"entries\": [{}], \"platform\": \"browser\", \"targets\": [{}] }}\n",
            serde_json::Value::String(entry.display().to_string()),
            targets.join(", ")
        ),
    )?;
    let (mut three_one, mut three_separate, mut three_esbuild) = (Vec::new(), Vec::new(), Vec::new());
    let mut three_rss = (0, 0);
    for _ in 0..runs {
        let (wall, rss) = measure(
            Command::new(&packem).current_dir(&three).args(["build", "--log-level=warning", "--no-cache"]),
            &log,
        )?;
        three_one.push(wall);
        three_rss.0 = three_rss.0.max(rss);
        let mut total = Duration::ZERO;
        for (name, _) in THREE_TARGETS {
            let (wall, rss) = measure(
                Command::new(&packem).current_dir(&three).args([
                    "build",
                    "--only",
                    name,
                    "--log-level=warning",
                    "--no-cache",
                ]),
                &log,
            )?;
            total += wall;
            three_rss.1 = three_rss.1.max(rss);
        }
        three_separate.push(total);
        let mut total = Duration::ZERO;
        for (name, format) in THREE_TARGETS {
            total += time(Command::new(&esbuild).current_dir(&three).arg(&entry).args([
                "--bundle",
                &format!("--format={format}"),
                "--platform=browser",
                &format!("--outfile=dist/esbuild-{name}.js"),
                "--log-level=warning",
            ]))?;
        }
        three_esbuild.push(total);
    }

    let mut report = String::new();
    let row = |label: &str, samples: &mut Vec<Duration>, base: f64| -> String {
        let value = ms(median(samples));
        format!("| {label} | {value:.1} ms | {:.2}× |\n", value / base)
    };
    report.push_str("# Several targets in one build\n\n");
    report.push_str(&format!(
        "Written by `cargo xtask bench-targets` (medians of {runs} runs, {:.0?} in all). Ratios are to one\n\
         `packem build` of every target. Process wall times, start-up included.\n\n",
        started.elapsed()
    ));
    report.push_str(
        "## `tests/fixtures/extism`: five targets (two workers, embedded in three hosts)\n\n\
         | how | time | ratio |\n|---|---|---|\n",
    );
    let base = ms(median(&mut one.clone()));
    report.push_str(&row("one `packem build` (five targets, one database)", &mut one, base));
    report.push_str(&row("five `packem build --only NAME` (a host run also builds its worker)", &mut separate, base));
    report.push_str(&row("esbuild: a node script, five `build()` calls (process)", &mut esbuild_process, base));
    report.push_str(&row("esbuild: the five `build()` calls alone", &mut esbuild_builds, base));
    let mut watch_samples = watch.clone();
    report.push_str(&format!(
        "\n`packem build --watch`, an edit of `src/worker.ts` (rebuilds both workers and the three hosts\n\
         that embed them, writes five files): median {:.1} ms over {} edits, as the watch reports it.\n\n",
        ms(median(&mut watch_samples)),
        watch.len()
    ));
    report.push_str(
        "## three.js×10 (3,871 modules) as ESM, CommonJS and IIFE\n\n| how | time | ratio |\n|---|---|---|\n",
    );
    let base = ms(median(&mut three_one.clone()));
    report.push_str(&row("one `packem build` (three targets)", &mut three_one, base));
    report.push_str(&row("three `packem build --only NAME`", &mut three_separate, base));
    report.push_str(&row("three `esbuild --bundle` runs", &mut three_esbuild, base));
    report.push_str(&format!(
        "\nPeak RSS: {} MiB for the one build of three targets, {} MiB for the largest single-target run.\n",
        three_rss.0 / 1024,
        three_rss.1 / 1024
    ));
    let out = root.join("docs/benchmarks-targets.md");
    std::fs::write(&out, report)?;
    eprintln!("bench-targets: wrote {}", out.display());
    Ok(())
}

/// Starts `packem build --watch` in `dir`, edits `src/worker.ts` `edits` times, and returns the
/// rebuild times the watch reports.
fn watch_worker_edits(packem: &Path, dir: &Path, edits: usize) -> Result<Vec<Duration>> {
    let mut child = Command::new(packem)
        .current_dir(dir)
        .args(["build", "--watch"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(child.stderr.take().context("stderr")?).lines();
    let mut next_line = |want: &str| -> Result<String> {
        for line in lines.by_ref() {
            let line = line?;
            if line.contains(want) {
                return Ok(line);
            }
        }
        bail!("the watch ended before printing {want:?}")
    };
    next_line("watching for changes")?;
    let worker = dir.join("src/worker.ts");
    let original = std::fs::read_to_string(&worker)?;
    let mut times = Vec::new();
    for i in 0..edits {
        std::fs::write(&worker, original.replace("from the worker", &format!("from the worker ({i})")))?;
        let line = next_line("[watch] src/worker.ts")?;
        // "[watch] src/worker.ts · N queries re-ran · 6.5ms · wrote …"
        let time = line.split(" · ").nth(2).and_then(|t| t.strip_suffix("ms")).and_then(|t| t.parse::<f64>().ok());
        times.push(Duration::from_secs_f64(time.context("a rebuild time")? / 1000.0));
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::write(&worker, original)?;
    let mut stdin = child.stdin.take().context("stdin")?;
    let _ = stdin.flush();
    drop(stdin);
    child.wait()?;
    Ok(times)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
