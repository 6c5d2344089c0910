//! `cargo xtask bench`: packem against esbuild, rolldown and rspack on the generated corpora,
//! written up in `docs/benchmarks.md`.
//!
//! 1. Generates the fixtures (`cargo xtask fixtures`) and installs the pinned peers of
//!    `benches/peers/package.json` into `.fixtures/peers` (git-ignored).
//! 2. Builds `packem` (release) and the `latency` bench of `packem_benches`.
//! 3. Cold builds: every tool as a process (packem's and esbuild's command lines; rolldown and
//!    rspack through their JavaScript API in `benches/peers/driver.mjs`), round-robin, one
//!    warm-up round then `--runs` measured rounds; wall time and peak RSS (`wait4`), medians.
//!    Each output is then run in Node once (`driver.mjs run`) to check it works and agrees.
//! 4. Rebuild latency: packem in process (`cargo bench --bench latency`, which also times the
//!    parse-only floor and an in-process cold build) and, through `driver.mjs rebuild`, packem's
//!    watch mode and the peers' warm sessions, `--reps` edits of each kind.
//! 5. The second process (`second_process.rs`): packem's persistent cache, paired with
//!    esbuild's cold build.
//! 6. Writes the report (raw numbers in `.fixtures/bench/results.json`).
//!
//! `--quick`: `synth-1000` only, 5 edits, 2 runs, report in `.fixtures/bench/benchmarks.md`
//! (raw numbers in `results-quick.json` beside it).
//! `--corpus=NAME` (repeatable), `--reps=N`, `--runs=N`, `--out=FILE` override.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use crate::{env_or, npm_install, run};

/// The corpora, with their entries relative to `.fixtures/<name>` (for a variant, the directory
/// of the corpus it varies: see [`fixture_dir`]).
const CORPORA: &[(&str, &str)] = &[
    ("three10", "entry.js"),
    ("three10-min", "entry.js"),
    ("react-app", "src/main.tsx"),
    ("synth-1000", "src/index.js"),
    ("synth-10000", "src/index.js"),
];
/// The tools, in the report's column order; ratios are to [`BASELINE`].
const TOOLS: &[&str] = &["packem", "esbuild", "rolldown", "rspack"];
const BASELINE: &str = "esbuild";
const EDITS: &[(&str, &str)] = &[
    ("body", "body edit of a leaf"),
    ("body_js", "body edit of a JavaScript leaf"),
    ("import", "import added/removed"),
    ("noop", "no-op rewrite"),
];

/// Whether the driver configures `tool` for `corpus`, for cold builds or (`rebuild`) for warm
/// sessions: rspack needs a loader rule (swc) for TSX, which the comparison leaves out, so it
/// does not build the React app; its watch sessions run in development mode, which does not
/// minify, so it has no rebuild session on `three10-min`.
fn runs_on(tool: &str, corpus: &str, rebuild: bool) -> bool {
    !(tool == "rspack" && (corpus == "react-app" || (rebuild && minified(corpus))))
}

/// The directory under `.fixtures` holding `corpus`'s files: its own, except for variants of a
/// corpus built with other options (`three10-min`: `three10`).
fn fixture_dir(corpus: &str) -> &str {
    match corpus {
        "three10-min" => "three10",
        _ => corpus,
    }
}

/// Whether every tool builds `corpus` minified and with a linked source map (`--minify
/// --sourcemap`, esbuild's headline benchmark).
pub(crate) fn minified(corpus: &str) -> bool {
    corpus == "three10-min"
}

pub(crate) struct Options {
    pub(crate) corpora: Vec<String>,
    reps: usize,
    pub(crate) runs: usize,
    out: PathBuf,
    /// The raw numbers, under `.fixtures/bench`.
    raw: &'static str,
    command: String,
}

impl Options {
    fn parse(root: &Path, args: &[String]) -> Result<Self> {
        let quick = args.iter().any(|a| a == "--quick");
        let mut options = Options {
            corpora: if quick {
                vec!["synth-1000".to_owned()]
            } else {
                CORPORA.iter().map(|(name, _)| name.to_string()).collect()
            },
            reps: if quick { 5 } else { 20 },
            runs: if quick { 2 } else { 5 },
            out: root.join(if quick { ".fixtures/bench/benchmarks.md" } else { "docs/benchmarks.md" }),
            raw: if quick { "results-quick.json" } else { "results.json" },
            command: ["cargo xtask bench"]
                .into_iter()
                .chain(args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
        };
        let mut corpora_given = Vec::new();
        for arg in args {
            if arg == "--quick" {
            } else if let Some(name) = arg.strip_prefix("--corpus=") {
                if !CORPORA.iter().any(|(known, _)| *known == name) {
                    bail!("unknown corpus {name}");
                }
                corpora_given.push(name.to_owned());
            } else if let Some(n) = arg.strip_prefix("--reps=") {
                options.reps = n.parse().context("--reps=N")?;
            } else if let Some(n) = arg.strip_prefix("--runs=") {
                options.runs = n.parse().context("--runs=N")?;
            } else if let Some(path) = arg.strip_prefix("--out=") {
                options.out = std::env::current_dir()?.join(path);
            } else {
                bail!("unknown option {arg} (known: --quick --corpus=NAME --reps=N --runs=N --out=FILE)");
            }
        }
        if !corpora_given.is_empty() {
            options.corpora = corpora_given;
        }
        if options.reps == 0 || options.runs == 0 {
            bail!("--reps and --runs must be at least 1");
        }
        Ok(options)
    }
}

pub fn bench(root: &Path, args: &[String]) -> Result<()> {
    let options = Options::parse(root, args)?;
    let started = Instant::now();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let (peers, packem) = prepare(root)?;
    let cargo = env_or("CARGO", "cargo");
    run(Command::new(&cargo).current_dir(root).args([
        "bench",
        "-p",
        "packem_benches",
        "--bench",
        "latency",
        "--no-run",
    ]))?;
    let driver = root.join("benches/peers/driver.mjs");
    let work = root.join(".fixtures/bench");
    std::fs::create_dir_all(&work)?;
    let env = Env { root, peers: &peers, packem: &packem, driver: &driver, work: &work };

    let info = machine_info(root, &env, load.split_whitespace().take(3).collect::<Vec<_>>().join(" "))?;
    let cold = cold_builds(&env, &options)?;
    eprintln!("bench: packem in process (cargo bench --bench latency)");
    let latency_json = work.join("latency.json");
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(root).args(["bench", "-p", "packem_benches", "--bench", "latency", "--"]);
    cmd.arg(format!("--reps={}", options.reps)).arg(format!("--cold-runs={}", options.runs));
    cmd.args(options.corpora.iter().map(|c| format!("--corpus={c}")));
    cmd.arg(format!("--out={}", latency_json.display())).stdout(Stdio::null());
    run(&mut cmd)?;
    let in_process: Value = serde_json::from_str(&std::fs::read_to_string(&latency_json)?)?;
    let rebuilds = rebuild_sessions(&env, &options)?;
    let second = crate::second_process::second_process(&env, &options)?;

    let results =
        json!({ "info": info, "cold": cold, "in_process": in_process, "rebuild": rebuilds, "second_process": second });
    std::fs::write(work.join(options.raw), serde_json::to_string_pretty(&results)?)?;
    let report = report(&options, &results, started.elapsed());
    if let Some(dir) = options.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&options.out, report)?;
    eprintln!(
        "bench: wrote {} (raw numbers in {}) in {:.0?}",
        options.out.display(),
        work.join(options.raw).display(),
        started.elapsed()
    );
    Ok(())
}

/// `cargo xtask bench-second`: only the second-process phase (esbuild's cold build paired), its
/// report in `docs/benchmarks-persist.md` (`--out=FILE` overrides; `--corpus`, `--runs` as for
/// `bench`; default corpora: three10 and synth-10000).
pub fn bench_second(root: &Path, args: &[String]) -> Result<()> {
    let mut options = Options::parse(root, args)?;
    options.command =
        ["cargo xtask bench-second"].into_iter().chain(args.iter().map(String::as_str)).collect::<Vec<_>>().join(" ");
    if !args.iter().any(|a| a.starts_with("--corpus=")) {
        options.corpora = vec!["three10".to_owned(), "synth-10000".to_owned()];
    }
    if !args.iter().any(|a| a.starts_with("--out=")) {
        options.out = root.join("docs/benchmarks-persist.md");
    }
    let started = Instant::now();
    let (peers, packem) = prepare(root)?;
    let driver = root.join("benches/peers/driver.mjs");
    let work = root.join(".fixtures/bench");
    std::fs::create_dir_all(&work)?;
    let env = Env { root, peers: &peers, packem: &packem, driver: &driver, work: &work };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let info = machine_info(root, &env, load.split_whitespace().take(3).collect::<Vec<_>>().join(" "))?;
    let second = crate::second_process::second_process(&env, &options)?;
    let results = json!({ "info": info, "second_process": second });
    std::fs::write(work.join("results-second.json"), serde_json::to_string_pretty(&results)?)?;
    let mut w = String::new();
    writeln!(
        w,
        "# Benchmarks: the second process\n\nGenerated by `{}` on {} at commit `{}`{} ({} cores, load {} at the start); \
         the run took {:.0} s. Raw numbers: `.fixtures/bench/results-second.json`.\n",
        options.command,
        info["date"].as_str().unwrap_or("?"),
        info["commit"].as_str().unwrap_or("?"),
        if info["dirty"].as_bool() == Some(true) { " (with uncommitted changes)" } else { "" },
        info["cores"],
        info["load"].as_str().unwrap_or("?"),
        started.elapsed().as_secs_f64(),
    )?;
    crate::second_process::report(&mut w, &options, &results);
    std::fs::write(&options.out, w)?;
    eprintln!("bench-second: wrote {}", options.out.display());
    Ok(())
}

pub(crate) struct Env<'a> {
    pub(crate) root: &'a Path,
    pub(crate) peers: &'a Path,
    pub(crate) packem: &'a Path,
    driver: &'a Path,
    pub(crate) work: &'a Path,
}

impl Env<'_> {
    /// `node driver.mjs <args>` with the peers' directory.
    fn driver(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("node");
        cmd.current_dir(self.root).arg(self.driver).args(args).arg(format!("--peers={}", self.peers.display()));
        cmd
    }

    /// Runs the driver and parses the JSON it prints last.
    fn driver_json(&self, args: &[&str]) -> Result<Value> {
        let output = self.driver(args).stdin(Stdio::null()).stderr(Stdio::inherit()).output()?;
        let text = String::from_utf8_lossy(&output.stdout);
        let last = text.lines().rev().find(|line| line.starts_with('{'));
        let json: Option<Value> = last.and_then(|line| serde_json::from_str(line).ok());
        if !output.status.success() {
            let reason = json.as_ref().and_then(|j| j["error"].as_str()).unwrap_or("see its output above");
            bail!("driver.mjs {} failed: {reason}", args[0]);
        }
        json.context("driver.mjs printed no JSON")
    }
}

/// What every benchmark needs first: the fixtures, the peers (installed), and packem's release
/// binary (built). Returns the peers' directory and the binary.
pub(crate) fn prepare(root: &Path) -> Result<(PathBuf, PathBuf)> {
    crate::all_fixtures(root)?;
    let peers = install_peers(root)?;
    let cargo = env_or("CARGO", "cargo");
    run(Command::new(&cargo).current_dir(root).args(["build", "--release", "-p", "packem_cli", "--bin", "packem"]))?;
    Ok((peers, root.join("target/release/packem")))
}

/// Installs `benches/peers/package.json` into `.fixtures/peers` unless the stamp matches.
pub(crate) fn install_peers(root: &Path) -> Result<PathBuf> {
    let dir = root.join(".fixtures/peers");
    std::fs::create_dir_all(&dir)?;
    let manifest = std::fs::read_to_string(root.join("benches/peers/package.json"))?;
    npm_install(&dir, &manifest, "bench")?;
    Ok(dir)
}

fn command_output(cmd: &mut Command) -> Option<String> {
    let output = cmd.stderr(Stdio::null()).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn machine_info(root: &Path, env: &Env, load: String) -> Result<Value> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name").and_then(|rest| rest.split_once(':')).map(|(_, v)| v.trim()))
        .unwrap_or("unknown")
        .to_owned();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned();
    let git = |args: &[&str]| command_output(Command::new("git").current_dir(root).args(args));
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    // The report itself does not count.
    let dirty = git(&["status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs/benchmarks.md"])
        .is_some_and(|s| !s.is_empty());
    let versions = env.driver_json(&["versions"])?;
    let packem = command_output(Command::new(env.packem).arg("--version")).unwrap_or_default();
    // Node's own start-up, part of every cold build through the JavaScript API.
    let mut node_start: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            let _ = Command::new("node").args(["-e", ""]).status();
            start.elapsed()
        })
        .collect();
    Ok(json!({
        "cpu": cpu,
        "cores": cores,
        "memory_kib": memory_kib,
        "kernel": kernel,
        "load": load,
        "commit": commit,
        "dirty": dirty,
        "date": command_output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])).unwrap_or_default(),
        "rustc": command_output(Command::new("rustc").arg("-V")).unwrap_or_default(),
        "packem": packem.trim_start_matches("packem ").to_owned(),
        "versions": versions,
        "node_start_ms": ms(median(&mut node_start)),
    }))
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn median<T: Ord + Copy>(samples: &mut [T]) -> T {
    samples.sort();
    samples[(samples.len() - 1) / 2]
}

/// The cold-build command of `tool` on `corpus`'s `entry`, writing `outfile` (minified, with a
/// linked source map, for a [`minified`] corpus).
fn cold_command(env: &Env, tool: &str, corpus: &str, entry: &Path, outfile: &Path) -> Command {
    let out = format!("--outfile={}", outfile.display());
    let minify: &[&str] = if minified(corpus) { &["--minify", "--sourcemap"] } else { &[] };
    match tool {
        "packem" => {
            let mut cmd = Command::new(env.packem);
            // Cold: no persistent cache (the "second process" rows measure it).
            cmd.arg("build").arg(entry).args([&out, "--format=esm", "--platform=browser", "--log-level=warning"]);
            cmd.args(minify).arg("--no-cache");
            cmd
        }
        "esbuild" => {
            let mut cmd = Command::new(env.peers.join("node_modules/esbuild/bin/esbuild"));
            cmd.arg(entry).args(["--bundle", &out, "--format=esm", "--platform=browser", "--log-level=warning"]);
            cmd.args(minify);
            cmd
        }
        _ => {
            let (entry, outfile) = (entry.display().to_string(), outfile.display().to_string());
            let mut args = vec!["cold", tool, &entry, &outfile];
            if minified(corpus) {
                args.push("--minify");
            }
            env.driver(&args)
        }
    }
}

/// Runs `cmd` to completion; returns its wall time and peak resident set size (KiB).
pub(crate) fn measure(cmd: &mut Command, log: &Path) -> Result<(Duration, u64)> {
    let log_file = std::fs::File::create(log)?;
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log_file);
    let start = Instant::now();
    let child = cmd.spawn().with_context(|| format!("running {cmd:?}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value, and `wait4` reaps our own child `pid`
    // (which `child` is never waited on again).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    if reaped != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        let stderr = std::fs::read_to_string(log).unwrap_or_default();
        bail!("{cmd:?} failed (status {status}):\n{}", stderr.chars().take(4000).collect::<String>());
    }
    // Linux reports `ru_maxrss` in KiB.
    Ok((wall, usage.ru_maxrss as u64))
}

/// The output file name of a corpus's bundle (its entry's, with a `.js` extension).
pub(crate) fn output_name(entry: &Path) -> std::ffi::OsString {
    entry.with_extension("js").file_name().unwrap().to_owned()
}

/// The directory holding `corpus`'s files.
pub(crate) fn fixture_path(root: &Path, corpus: &str) -> PathBuf {
    root.join(".fixtures").join(fixture_dir(corpus))
}

/// `corpus`'s entry, relative to [`fixture_path`].
pub(crate) fn entry_name(corpus: &str) -> &'static str {
    CORPORA.iter().find(|(name, _)| *name == corpus).map(|(_, entry)| *entry).unwrap_or("index.js")
}

fn entry_of(root: &Path, corpus: &str) -> PathBuf {
    let entry = CORPORA.iter().find(|(name, _)| *name == corpus).map(|(_, entry)| *entry).unwrap();
    root.join(".fixtures").join(fixture_dir(corpus)).join(entry)
}

/// Cold builds, round-robin over the tools so that background noise spreads over all of them.
fn cold_builds(env: &Env, options: &Options) -> Result<Value> {
    let mut results = serde_json::Map::new();
    for corpus in &options.corpora {
        let entry = entry_of(env.root, corpus);
        let name = output_name(&entry);
        let mut samples: Vec<(Vec<Duration>, Vec<u64>)> = vec![(Vec::new(), Vec::new()); TOOLS.len()];
        for round in 0..=options.runs {
            eprintln!(
                "bench: cold builds of {corpus}, {}",
                if round == 0 { "warm-up".into() } else { format!("run {round}") }
            );
            for (i, tool) in TOOLS.iter().enumerate().filter(|(_, t)| runs_on(t, corpus, false)) {
                let outdir = env.work.join("out").join(tool).join(corpus);
                let _ = std::fs::remove_dir_all(&outdir);
                let outfile = outdir.join(&name);
                let log = env.work.join(format!("cold-{tool}-{corpus}.log"));
                let (wall, rss) = measure(&mut cold_command(env, tool, corpus, &entry, &outfile), &log)?;
                if round > 0 {
                    samples[i].0.push(wall);
                    samples[i].1.push(rss);
                }
            }
        }
        let mut tools = serde_json::Map::new();
        for (i, tool) in TOOLS.iter().enumerate() {
            if !runs_on(tool, corpus, false) {
                tools.insert(tool.to_string(), json!({ "skipped": "not configured for this corpus" }));
                continue;
            }
            let outfile = env.work.join("out").join(tool).join(corpus).join(&name);
            let size = std::fs::metadata(&outfile).map(|m| m.len()).unwrap_or(0);
            let outfile = outfile.display().to_string();
            let runs = env.driver_json(&["run", &outfile]).unwrap_or_else(|err| json!({ "error": format!("{err:#}") }));
            let (walls, rsss) = &mut samples[i];
            tools.insert(
                tool.to_string(),
                json!({
                    "wall_ms": ms(median(walls)),
                    "rss_kib": median(rsss),
                    "walls_ms": walls.iter().map(|&d| ms(d)).collect::<Vec<_>>(),
                    "rss_samples_kib": rsss,
                    "output_bytes": size,
                    "run": runs,
                }),
            );
        }
        results.insert(corpus.clone(), Value::Object(tools));
    }
    Ok(Value::Object(results))
}

/// Warm rebuild sessions through the driver: packem's watch mode and each peer.
fn rebuild_sessions(env: &Env, options: &Options) -> Result<Value> {
    let mut results = serde_json::Map::new();
    let packem = format!("--packem={}", env.packem.display());
    let reps = format!("--reps={}", options.reps);
    for corpus in &options.corpora {
        let mut tools = serde_json::Map::new();
        let dir = env.root.join(".fixtures").join(fixture_dir(corpus)).display().to_string();
        for tool in TOOLS {
            if !runs_on(tool, corpus, true) {
                tools.insert(tool.to_string(), json!({ "skipped": "not configured for this corpus" }));
                continue;
            }
            eprintln!("bench: rebuilds of {corpus} with {tool}");
            let work = std::env::temp_dir().join(format!("packem-bench-{tool}-{corpus}"));
            let work_arg = work.display().to_string();
            let result = env
                .driver_json(&["rebuild", tool, corpus, &dir, &work_arg, &reps, &packem])
                .unwrap_or_else(|err| json!({ "error": format!("{err:#}") }));
            // The driver empties it; remove it if so.
            let _ = std::fs::remove_dir(&work);
            tools.insert(tool.to_string(), result);
        }
        results.insert(corpus.clone(), Value::Object(tools));
    }
    Ok(Value::Object(results))
}

// ---------------------------------------------------------------------------------------------
// The report.

pub(crate) fn fmt_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

fn fmt_mib(kib: f64) -> String {
    format!("{:.0} MiB", kib / 1024.0)
}

pub(crate) fn ratio(value: f64, base: Option<f64>) -> String {
    match base {
        Some(base) if base > 0.0 => format!(" ({:.2}×)", value / base),
        _ => String::new(),
    }
}

/// A rebuild cell: `median / p90` (and the ratio of the median to the baseline's).
fn edit_cell(edit: &Value, base: Option<f64>) -> String {
    if edit.get("skipped").is_some() {
        return "n/a".to_owned();
    }
    if let Some(error) = edit.get("error") {
        return format!("failed: {}", error.as_str().unwrap_or("").lines().next().unwrap_or(""));
    }
    let missed = edit["missed"].as_u64().unwrap_or(0);
    let failed = edit["failed_builds"].as_u64().unwrap_or(0);
    let (Some(median), Some(p90)) = (edit["median_ms"].as_f64(), edit["p90_ms"].as_f64()) else {
        return "no rebuild".to_owned();
    };
    let mut cell = format!("{} / {}{}", fmt_ms(median), fmt_ms(p90), ratio(median, base));
    if missed > 0 {
        write!(cell, " ({missed} without rebuild)").unwrap();
    }
    if failed > 0 {
        write!(cell, " ({failed} failed builds)").unwrap();
    }
    cell
}

fn report(options: &Options, results: &Value, elapsed: Duration) -> String {
    let info = &results["info"];
    let versions = &info["versions"];
    let in_process: Vec<&Value> =
        results["in_process"]["corpora"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    let in_process_of = |corpus: &str| in_process.iter().find(|c| c["corpus"] == corpus).copied();
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "# Benchmarks\n").unwrap();
    writeln!(
        w,
        "Generated by `{}` on {} at commit `{}`{}; the whole run took {:.0} s. Do not edit by hand: \
         rerun the command on a quiet machine to reproduce it (it needs what the README's set-up needs; \
         rolldown and rspack need Node.js 20.19 or later).\n",
        options.command,
        info["date"].as_str().unwrap_or("?"),
        info["commit"].as_str().unwrap_or("?"),
        if info["dirty"].as_bool() == Some(true) { " (with uncommitted changes)" } else { "" },
        elapsed.as_secs_f64(),
    )
    .unwrap();
    writeln!(w, "```sh\n{}\n```\n", options.command).unwrap();
    writeln!(w, "| machine | |\n|---|---|").unwrap();
    writeln!(w, "| CPU | {} × {} |", info["cores"], info["cpu"].as_str().unwrap_or("?")).unwrap();
    writeln!(w, "| memory | {:.1} GiB |", info["memory_kib"].as_f64().unwrap_or(0.0) / 1024.0 / 1024.0).unwrap();
    writeln!(w, "| Linux | {} |", info["kernel"].as_str().unwrap_or("?")).unwrap();
    writeln!(w, "| load average at the start | {} |", info["load"].as_str().unwrap_or("?")).unwrap();
    writeln!(
        w,
        "| Node.js | {} (start-up: {}) |",
        versions["node"].as_str().unwrap_or("?"),
        fmt_ms(info["node_start_ms"].as_f64().unwrap_or(0.0))
    )
    .unwrap();
    writeln!(
        w,
        "| packem | {} (release profile, {}) |",
        info["packem"].as_str().unwrap_or("?"),
        info["rustc"].as_str().unwrap_or("?")
    )
    .unwrap();
    for (tool, key) in [("esbuild", "esbuild"), ("rolldown", "rolldown"), ("@rspack/core", "rspack")] {
        writeln!(w, "| {tool} | {} |", versions[key].as_str().unwrap_or("?")).unwrap();
    }
    writeln!(w).unwrap();

    writeln!(w, "## Corpora\n").unwrap();
    writeln!(w, "Generated by `cargo xtask fixtures` into `.fixtures/` (see `xtask/src/main.rs`):\n").unwrap();
    for corpus in &options.corpora {
        let what = match corpus.as_str() {
            "three10" => {
                "ten copies of three.js's `src` and an entry re-exporting each copy as a namespace (esbuild's classic benchmark)"
            }
            "three10-min" => {
                "three10 built with `--minify --sourcemap` (esbuild's headline benchmark); its rebuilds edit the same leaf"
            }
            "react-app" => {
                "the React 19 TSX app of `tests/fixtures/apps/react` (the automatic JSX runtime from tsconfig.json, `react-dom/server`); its rebuilds edit a TSX component (`body`) and, to compare, a JavaScript module (`body_js`)"
            }
            _ => {
                "a synthetic app of ES modules (default, namespace, named and dynamic imports, `export *`), from a fixed seed"
            }
        };
        let (files, bytes) = in_process_of(corpus)
            .map(|c| (c["modules"].as_u64().unwrap_or(0), c["bytes"].as_f64().unwrap_or(0.0)))
            .unwrap_or_default();
        writeln!(w, "- `{corpus}`: {what}; the bundle has {files} modules, {:.1} MiB.", bytes / 1024.0 / 1024.0)
            .unwrap();
    }
    writeln!(w).unwrap();

    // Cold builds.
    writeln!(w, "## Cold build\n").unwrap();
    writeln!(
        w,
        "One process per build, from spawn to exit, writing one ESM bundle (and, minified, its \
         source map) to an empty directory; the median of {} runs after a warm-up run, \
         round-robin over the tools. In parentheses: the ratio to {BASELINE} (lower is better).\n",
        options.runs
    )
    .unwrap();
    let header = |w: &mut String, first: &str| {
        writeln!(w, "| {first} | {} |", TOOLS.join(" | ")).unwrap();
        writeln!(w, "|---|{}", "---:|".repeat(TOOLS.len())).unwrap();
    };
    writeln!(w, "Wall time:\n").unwrap();
    header(w, "corpus");
    for corpus in &options.corpora {
        let row = &results["cold"][corpus];
        let base = row[BASELINE]["wall_ms"].as_f64();
        let cells: Vec<String> = TOOLS
            .iter()
            .map(|tool| row[tool]["wall_ms"].as_f64().map(|v| fmt_ms(v) + &ratio(v, base)).unwrap_or_default())
            .collect();
        writeln!(w, "| {corpus} | {} |", cells.join(" | ")).unwrap();
    }
    writeln!(w, "\nPeak resident set size (`ru_maxrss` of the process):\n").unwrap();
    header(w, "corpus");
    for corpus in &options.corpora {
        let row = &results["cold"][corpus];
        let base = row[BASELINE]["rss_kib"].as_f64();
        let cells: Vec<String> = TOOLS
            .iter()
            .map(|tool| row[tool]["rss_kib"].as_f64().map(|v| fmt_mib(v) + &ratio(v, base)).unwrap_or_default())
            .collect();
        writeln!(w, "| {corpus} | {} |", cells.join(" | ")).unwrap();
    }
    writeln!(
        w,
        "\nThe outputs, each imported once in Node.js (`node benches/peers/driver.mjs run FILE`): size, \
         and the entry's exports (three10: ten namespaces; synth: `default`, the value its calls compute, \
         which must agree):\n"
    )
    .unwrap();
    header(w, "corpus");
    for corpus in &options.corpora {
        let row = &results["cold"][corpus];
        let cells: Vec<String> = TOOLS
            .iter()
            .map(|tool| {
                if row[tool].get("skipped").is_some() {
                    return "n/a".to_owned();
                }
                let bytes = row[tool]["output_bytes"].as_f64().unwrap_or(0.0);
                let run = &row[tool]["run"];
                let ran = if let Some(error) = run.get("error") {
                    format!("does not run: {}", error.as_str().unwrap_or("?").lines().next().unwrap_or(""))
                } else if let Some(value) = run["default"].as_f64() {
                    format!("runs, default = {value}")
                } else {
                    format!("runs, {} exports", run["exports"])
                };
                format!("{:.2} MiB, {ran}", bytes / 1024.0 / 1024.0)
            })
            .collect();
        writeln!(w, "| {corpus} | {} |", cells.join(" | ")).unwrap();
    }
    writeln!(w).unwrap();

    crate::second_process::report(w, options, results);

    // Rebuilds.
    writeln!(w, "## Rebuild latency\n").unwrap();
    writeln!(
        w,
        "A warm process, then {} edits of each kind (after unmeasured warm-up edits), each timed from \
         just after the edited file is written to the output being on disk: median / p90, and the \
         ratio of the median to {BASELINE}'s. Edits (`benches/lib.rs`): a new literal in a function \
         body of a leaf module; an import of an existing module added to, then removed from, another \
         module, alternately; the leaf rewritten with the same bytes. *packem (in process)* is \
         `Session::timed_edit` (apply the change, build, write; no file watching); the other columns \
         watch the file system, except {BASELINE}, whose `rebuild()` the driver calls right after the \
         write.\n",
        options.reps
    )
    .unwrap();
    let columns = ["packem (in process)", "packem --watch", "esbuild", "rolldown", "rspack (dev)"];
    writeln!(w, "| corpus | edit | {} |", columns.join(" | ")).unwrap();
    writeln!(w, "|---|---|{}", "---:|".repeat(columns.len())).unwrap();
    for corpus in &options.corpora {
        let sessions = &results["rebuild"][corpus];
        for (kind, label) in EDITS {
            let measured = in_process_of(corpus).is_some_and(|c| !c["edits"][kind].is_null());
            if !measured {
                continue;
            }
            let base = sessions[BASELINE]["edits"][kind]["median_ms"].as_f64();
            let mut cells = vec![
                in_process_of(corpus).map(|c| edit_cell(&c["edits"][kind], base)).unwrap_or_else(|| "?".to_owned()),
            ];
            for tool in TOOLS {
                let session = &sessions[tool];
                cells.push(if session.get("error").is_some() || session.get("skipped").is_some() {
                    edit_cell(session, None)
                } else {
                    edit_cell(&session["edits"][kind], base)
                });
            }
            writeln!(w, "| {corpus} | {label} | {} |", cells.join(" | ")).unwrap();
        }
    }
    writeln!(w, "\nThe first build of each warm session, for reference:\n").unwrap();
    writeln!(w, "| corpus | {} |", ["packem --watch", "esbuild", "rolldown", "rspack (dev)"].join(" | ")).unwrap();
    writeln!(w, "|---|{}", "---:|".repeat(TOOLS.len())).unwrap();
    for corpus in &options.corpora {
        let mut cells = Vec::new();
        for tool in TOOLS {
            let session = &results["rebuild"][corpus][tool];
            if session.get("skipped").is_some() {
                cells.push("n/a".to_owned());
                continue;
            }
            let spurious = session["spurious_rebuilds"].as_u64().unwrap_or(0);
            let mut cell = session["initial_build_ms"].as_f64().map(fmt_ms).unwrap_or_else(|| "failed".to_owned());
            if spurious > 0 {
                write!(cell, " ({spurious} unprompted rebuilds)").unwrap();
            }
            cells.push(cell);
        }
        writeln!(w, "| {corpus} | {} |", cells.join(" | ")).unwrap();
    }
    writeln!(w).unwrap();

    // The parse-only floor.
    writeln!(w, "## Parse-only floor\n").unwrap();
    writeln!(
        w,
        "oxc parsing every module of the bundle once, in parallel on all cores, from sources already \
         in memory (`benches/benches/parse.rs`; median of {} runs): no build can be faster. *+ semantic* \
         adds oxc's scopes and symbols, which packem also builds for every module. Then packem's cold \
         build, in process and as a command, as a multiple of the parse floor.\n",
        options.runs
    )
    .unwrap();
    writeln!(w, "| corpus | modules | oxc parse | + semantic | packem cold (in process) | packem cold (command) |")
        .unwrap();
    writeln!(w, "|---|---:|---:|---:|---:|---:|").unwrap();
    for corpus in &options.corpora {
        let Some(c) = in_process_of(corpus) else { continue };
        let parse = c["parse"]["median_ms"].as_f64().unwrap_or(0.0);
        let semantic = c["parse_semantic"]["median_ms"].as_f64().unwrap_or(0.0);
        let cold = c["cold"]["median_ms"].as_f64().unwrap_or(0.0);
        let command = results["cold"][corpus]["packem"]["wall_ms"].as_f64().unwrap_or(0.0);
        let times = |v: f64| if parse > 0.0 { format!(" ({:.1}×)", v / parse) } else { String::new() };
        writeln!(
            w,
            "| {corpus} | {} | {} | {}{} | {}{} | {}{} |",
            c["modules"],
            fmt_ms(parse),
            fmt_ms(semantic),
            times(semantic),
            fmt_ms(cold),
            times(cold),
            fmt_ms(command),
            times(command)
        )
        .unwrap();
    }
    writeln!(w).unwrap();
    writeln!(w, "{}", NOTES.trim()).unwrap();
    out
}

/// How each tool is configured, and what the numbers include.
const NOTES: &str = r#"
## How the tools are configured

Every tool bundles the entry into one ESM file for the browser platform, without minification
or source maps, except on `three10-min` (below). Commands and options (`benches/peers/driver.mjs`
holds the JavaScript ones):

- **packem**: `packem build ENTRY --outfile=FILE --format=esm --platform=browser`. Rebuilds: in
  process through `benches/lib.rs`'s `Session`, and `packem build --watch` (notify; a batch
  starts after a 10 ms quiet period), timed to its rebuild line on stderr, which it prints after
  the write. On a no-op rewrite packem compares the contents and re-runs one query; its watch
  mode still prints a line ("output unchanged"), so it is timed like the others.
- **esbuild**: the native binary, `esbuild ENTRY --bundle --outfile=FILE --format=esm
  --platform=browser`. Rebuilds: the JavaScript API's `context()` and `rebuild()` with
  `write: true`, called right after the write, so there is no file-watching delay; `rebuild()`
  always rebuilds, also after a no-op rewrite. Without code splitting, esbuild inlines dynamic
  imports.
- **rolldown**: its JavaScript API in Node.js (so a cold build includes Node's start-up, above,
  and loading rolldown), `platform: 'browser'`, `output: { format: 'esm', codeSplitting: false }`
  (dynamic imports inlined: one file). Rebuilds: `watch()` with `experimental.incrementalBuild`
  and the default `buildDelay` (0), timed to the `BUNDLE_END` event, which follows the write.
- **rspack**: `@rspack/core`'s JavaScript API in Node.js (Node's start-up included), ESM output
  (`output.module`, `library.type: 'module'`, `chunkFormat: 'module'`), `target: ['web',
  'es2022']`, `devtool: false`, `optimization: { minimize: false, splitChunks: false,
  runtimeChunk: false, sideEffects: 'flag' }` and `output.asyncChunks: false` (dynamic imports
  kept in the one chunk). Cold builds use `mode: 'production'` (tree shaking and module
  concatenation, the closest to the others' scope-hoisted output) with minification off.
  `sideEffects: 'flag'` trusts only package.json's `sideEffects`, as esbuild and rolldown do;
  rspack's production default, `true`, also analyzes every module's code, which made its cold
  build of synth-10000 take 12–20 s instead of about 2 s. Rebuilds: `compiler.watch` with the
  default `aggregateTimeout` (5 ms) in `mode: 'development'`, as rspack is used in watch mode:
  modules are wrapped in functions rather than concatenated and unused exports are kept, so its
  rebuilds are not the same work as its cold builds or as the scope-hoisting tools' rebuilds.

On `three10-min` every tool minifies everything (whitespace, syntax and identifiers) and writes a
linked source map (a `.map` file beside the bundle, named by a `//# sourceMappingURL=` comment,
holding the sources' text): packem and esbuild with `--minify --sourcemap` (cold builds, and
packem's `--watch`; in process, `Session` sets `Minify` on all three parts and linked
`SourceMapOptions` with the output directory as base, and writes the map); esbuild's rebuild
context `minify: true, sourcemap: true`; rolldown `output: { minify: true, sourcemap: true }`
(its minifier is oxc's); rspack's cold build `optimization.minimize: true` (its default
minimizer, `SwcJsMinimizerRspackPlugin`) and `devtool: 'source-map'`. rspack's rebuild sessions
run in development mode, which does not minify, so it has no rebuild numbers on `three10-min`.

Cold numbers are whole processes: reading, resolving, parsing, linking, printing and writing,
plus process start-up (and Node's for rolldown and rspack). Peak RSS is the process's maximum
resident set size. Rebuild latency is measured in the driver's process (for packem in process,
in the benchmark's), so for the watching tools it includes the watcher's delay in noticing the
change and its debounce. A watcher may start a build between the truncation and the write of
the edited file; such a failed build is counted ("failed builds") and the sample runs on to the
next successful build. The machine may not have been idle: see the load average above, and
compare ratios rather than absolute numbers across machines.
"#;
