//! Execution tests: every folder under `tests/fixtures/exec/<group>/<case>/` is bundled in each
//! output format, the bundle runs in Node, and its stdout and exit code must equal those of
//! running the unbundled sources (rolldown's rule: a bundle is correct when it behaves like its
//! inputs).
//!
//! A case folder holds its inputs and a `_config.json` (every field optional):
//!
//! ```json
//! { "entry": "main.js", "formats": ["esm", "cjs", "iife"], "platform": "node",
//!   "external": [], "globalName": null, "expectedStdout": null,
//!   "expectFailure": null, "expectBuildError": null, "args": [], "expectStderr": [],
//!   "bundleIncludes": [], "bundleExcludes": [], "observesNames": false }
//! ```
//!
//! Every case with the `esm` format also runs as `esm-splitting`: `--splitting` into an output
//! directory, running the entry's chunk (its `import()` targets become chunks of their own;
//! `bundleIncludes`/`bundleExcludes` look at all chunks; an `esm` failure marker covers it), and
//! as `esm-parts`, the same with `--max-chunk-size=100` (chunks cut into parts of a module or two).
//! Every run is repeated with `--minify` (`esm-minify`, `cjs-minify`, …), which must behave the
//! same; `observesNames` marks cases that print function or class names, whose minified runs
//! add `--keep-names` (minifying renames them, as esbuild's does).
//!
//! - `entry` defaults to the first of `main.js`, `main.mjs`, `main.cjs`, `main.ts` that exists.
//! - `expectedStdout` replaces the unbundled run, for sources Node cannot run (TypeScript,
//!   browser-only package fields).
//! - `expectBuildError` is a substring the bundler's stderr must contain, with a non-zero exit.
//! - `args` are extra bundler flags in esbuild's spelling (`--jsx=automatic`, `--define:K=V`,
//!   `--loader:.txt=file`), passed to both bundlers.
//! - `expectStderr` lists substrings the bundler's stderr must contain (an error's
//!   `file:line:col` and message, a warning), whether or not the build fails.
//! - `bundleIncludes`/`bundleExcludes` list substrings the bundle must / must not contain: what
//!   tree shaking keeps and drops (execution alone cannot show that code was dropped).
//! - `expectFailure` is a reason the case is known to fail with packem, as a string (every
//!   format) or `{ "formats": ["cjs"], "reason": "..." }`. Such a case must fail; a case that
//!   starts passing fails the test until the marker is removed, so a stale marker cannot hide a
//!   fix (rolldown's rule). It is ignored under esbuild.
//! - An optional `_test.mjs` runs after the bundle with `BUNDLE` (absolute path), `FORMAT` and
//!   `GLOBAL_NAME` in its environment, and must exit 0; it asserts the entry's exports.
//!
//! The bundler is packem (`packem build`) unless `PACKEM_EXEC_BUNDLER=esbuild`, which runs the
//! esbuild installed by `cargo xtask fixtures` with the same flags; that is how the cases are
//! validated. Under esbuild, `tests/fixtures/exec/_esbuild-known-failures.json` lists the cases
//! where esbuild deliberately differs from Node (see the conformance README, "Expected
//! semantics"); they count as expected failures, and an entry that starts passing is reported.
//! `PACKEM_EXEC_FILTER=<substring>` runs only the cases whose name contains it.
//!
//! Bundles are written to a fresh directory under the system temp dir (never under a
//! `package.json` with `"type": "module"`, so `out.js` runs as a script), and run with the case
//! folder as the working directory so relative file reads behave as in the unbundled run.
//! Externals must be Node built-ins: nothing else resolves from the temp dir, which is also why a
//! bundle that leaves a relative import unbundled fails instead of quietly reading the sources.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// A hung bundle or bundler must not hang the suite.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

const ALL_FORMATS: [&str; 3] = ["esm", "cjs", "iife"];

/// The ESM run with `--splitting` (into an output directory) that every case with the `esm`
/// format also gets: one entry and its `import()` targets as chunks.
const SPLIT_FORMAT: &str = "esm-splitting";

/// The same with `--max-chunk-size=100`: every chunk cut into parts of a module or two.
const PARTS_FORMAT: &str = "esm-parts";

/// Every format also runs minified (`--minify`), as `<format>-minify`: the minified bundle must
/// behave exactly as the sources do. A failure marker for a format covers its minified run.
const MINIFY_SUFFIX: &str = "-minify";

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CaseConfig {
    entry: Option<String>,
    formats: Option<Vec<String>>,
    platform: Option<String>,
    #[serde(default)]
    external: Vec<String>,
    global_name: Option<String>,
    expected_stdout: Option<String>,
    expect_failure: Option<ExpectFailure>,
    expect_build_error: Option<String>,
    /// Extra bundler flags (esbuild's spellings, so both bundlers take them).
    #[serde(default)]
    args: Vec<String>,
    /// Substrings the bundler's stderr must contain (an error's location and message, a warning).
    #[serde(default)]
    expect_stderr: Vec<String>,
    /// Substrings the bundle must contain (code tree shaking must keep).
    #[serde(default)]
    bundle_includes: Vec<String>,
    /// Substrings the bundle must not contain (code tree shaking must drop).
    #[serde(default)]
    bundle_excludes: Vec<String>,
    /// The case prints or checks function and class names, which minifying changes (as
    /// esbuild's does): its minified runs add `--keep-names`.
    #[serde(default)]
    observes_names: bool,
}

/// `"reason"` for every format of the case, or `{ "formats": [...], "reason": "..." }`.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum ExpectFailure {
    AllFormats(String),
    Some(KnownFailure),
}

impl ExpectFailure {
    fn reason_for(&self, format: &str) -> Option<String> {
        match self {
            ExpectFailure::AllFormats(reason) => Some(reason.clone()),
            ExpectFailure::Some(k) => k.reason_for(format),
        }
    }
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct KnownFailure {
    /// Formats esbuild fails; all of the case's formats when absent.
    formats: Option<Vec<String>>,
    reason: String,
}

impl KnownFailure {
    fn reason_for(&self, format: &str) -> Option<String> {
        // A split build is an ESM build: a marker for `esm` covers it.
        let format = format.strip_suffix(MINIFY_SUFFIX).unwrap_or(format);
        let applies = self.formats.as_ref().is_none_or(|f| {
            f.iter().any(|f| f == format || ((format == SPLIT_FORMAT || format == PARTS_FORMAT) && f == "esm"))
        });
        applies.then(|| self.reason.clone())
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Bundler {
    Packem,
    Esbuild,
}

struct Case {
    /// `group/case`, with forward slashes.
    name: String,
    dir: PathBuf,
    config: CaseConfig,
}

/// What one process did.
struct Run {
    stdout: String,
    stderr: String,
    /// `None` when killed by a signal or the timeout.
    code: Option<i32>,
    timed_out: bool,
}

impl Run {
    fn describe_exit(&self) -> String {
        if self.timed_out {
            format!("timed out after {PROCESS_TIMEOUT:?}")
        } else {
            match self.code {
                Some(c) => format!("exit code {c}"),
                None => "killed by a signal".to_string(),
            }
        }
    }
}

enum Outcome {
    Pass,
    Fail(String),
}

/// Each format of one case with its outcome.
type CaseOutcomes = Vec<(String, Outcome)>;

#[derive(Default)]
struct Tally {
    passed: usize,
    expected_failures: usize,
    /// Human-readable failure reports, in case order.
    failures: Vec<String>,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

fn fixtures_dir() -> PathBuf {
    repo_root().join("tests/fixtures/exec")
}

#[test]
fn exec() {
    let bundler = match std::env::var("PACKEM_EXEC_BUNDLER").as_deref() {
        Ok("esbuild") => Bundler::Esbuild,
        Ok("packem") | Ok("") | Err(_) => Bundler::Packem,
        Ok(other) => panic!("PACKEM_EXEC_BUNDLER={other}: expected `packem` or `esbuild`"),
    };
    let mut cases = discover(&fixtures_dir());
    assert!(!cases.is_empty(), "no cases under {}", fixtures_dir().display());
    let known = load_known_failures(&cases);
    if let Ok(filter) = std::env::var("PACKEM_EXEC_FILTER") {
        cases.retain(|c| c.name.contains(&filter));
    }
    let bundler_path = match bundler {
        Bundler::Packem => PathBuf::from(env!("CARGO_BIN_EXE_packem")),
        Bundler::Esbuild => {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.fixtures/npm/node_modules/.bin/esbuild");
            assert!(p.exists(), "{} is missing; run `cargo xtask fixtures`", p.display());
            p
        }
    };

    let results: Vec<Mutex<Option<CaseOutcomes>>> = cases.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    // Each case spends most of its time waiting on node; two workers per core keep the CPUs busy
    // without swamping a shared machine.
    let workers = std::thread::available_parallelism().map(|n| n.get() * 2).unwrap_or(4).min(cases.len());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let outcomes = run_case(case, bundler, &bundler_path);
                    *results[i].lock().unwrap() = Some(outcomes);
                }
            });
        }
    });

    // Tally in case order so the report is deterministic.
    let mut tally = Tally::default();
    for (case, result) in cases.iter().zip(&results) {
        let outcomes = result.lock().unwrap().take().unwrap();
        for (format, outcome) in outcomes {
            let label = format!("{} [{format}]", case.name);
            let marker: Option<String> = match bundler {
                Bundler::Packem => case.config.expect_failure.as_ref().and_then(|e| e.reason_for(&format)),
                Bundler::Esbuild => known.get(&case.name).and_then(|k| k.reason_for(&format)),
            };
            match (outcome, marker) {
                (Outcome::Pass, None) => tally.passed += 1,
                (Outcome::Fail(_), Some(_)) => tally.expected_failures += 1,
                (Outcome::Pass, Some(reason)) => tally.failures.push(format!(
                    "{label}: passes but is marked as an expected failure ({reason}); remove the marker"
                )),
                (Outcome::Fail(msg), None) => tally.failures.push(format!("{label}: {msg}")),
            }
        }
    }
    let bundler_name = match bundler {
        Bundler::Packem => "packem",
        Bundler::Esbuild => "esbuild",
    };
    eprintln!(
        "exec: {} passed, {} failed, {} expected failures ({bundler_name}; one per case and format)",
        tally.passed,
        tally.failures.len(),
        tally.expected_failures
    );
    if !tally.failures.is_empty() {
        panic!(
            "{} execution case(s) failed with {bundler_name}:\n\n{}",
            tally.failures.len(),
            tally.failures.join("\n\n")
        );
    }
}

/// Every folder with a `_config.json`, sorted by name. `node_modules` folders are inputs, not
/// cases, and are not searched.
fn discover(root: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let config_path = dir.join("_config.json");
        if config_path.is_file() {
            let text = std::fs::read_to_string(&config_path).unwrap();
            let config: CaseConfig =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", config_path.display()));
            let name = dir
                .strip_prefix(root)
                .unwrap()
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let case = Case { name, dir, config };
            validate(&case);
            cases.push(case);
            continue;
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() && entry.file_name() != "node_modules" {
                stack.push(entry.path());
            }
        }
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

fn validate(case: &Case) {
    for f in case.formats() {
        assert!(ALL_FORMATS.contains(&f.as_str()), "{}: unknown format {f}", case.name);
    }
    assert!(
        matches!(case.platform(), "node" | "browser" | "neutral"),
        "{}: unknown platform {}",
        case.name,
        case.platform()
    );
    assert!(case.dir.join(case.entry()).is_file(), "{}: entry {} does not exist", case.name, case.entry());
}

fn load_known_failures(cases: &[Case]) -> BTreeMap<String, KnownFailure> {
    let path = fixtures_dir().join("_esbuild-known-failures.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return BTreeMap::new();
    };
    let known: BTreeMap<String, KnownFailure> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for name in known.keys() {
        assert!(cases.iter().any(|c| &c.name == name), "{}: no case named {name}", path.display());
    }
    known
}

impl Case {
    fn entry(&self) -> String {
        if let Some(e) = &self.config.entry {
            return e.clone();
        }
        ["main.js", "main.mjs", "main.cjs", "main.ts"]
            .into_iter()
            .find(|e| self.dir.join(e).is_file())
            .unwrap_or("main.js")
            .to_string()
    }

    fn formats(&self) -> Vec<String> {
        self.config.formats.clone().unwrap_or_else(|| ALL_FORMATS.iter().map(|s| s.to_string()).collect())
    }

    fn platform(&self) -> &str {
        self.config.platform.as_deref().unwrap_or("node")
    }
}

/// Runs one case in every format; the unbundled run happens once.
fn run_case(case: &Case, bundler: Bundler, bundler_path: &Path) -> CaseOutcomes {
    let mut formats = case.formats();
    if formats.iter().any(|f| f == "esm") {
        formats.push(SPLIT_FORMAT.to_string());
        formats.push(PARTS_FORMAT.to_string());
    }
    let minified: Vec<String> = formats.iter().map(|f| format!("{f}{MINIFY_SUFFIX}")).collect();
    formats.extend(minified);
    // The reference behaviour: the sources under Node, or the configured stdout.
    let expected: Result<(String, Option<i32>), String> = if case.config.expect_build_error.is_some() {
        Ok((String::new(), Some(0)))
    } else if let Some(stdout) = &case.config.expected_stdout {
        Ok((stdout.clone(), Some(0)))
    } else {
        let run = run_process(Command::new("node").arg(case.entry()).current_dir(&case.dir));
        if run.timed_out {
            Err(format!("the unbundled run timed out\nstderr:\n{}", run.stderr))
        } else {
            Ok((run.stdout, run.code))
        }
    };
    // One persistent cache per case, shared by its variants (later variants take the facts, and
    // renders where the options agree, from it), outside the source tree.
    let cache = tempfile::Builder::new().prefix("packem-exec-cache-").tempdir().expect("creating a temp dir");
    formats
        .iter()
        .map(|format| {
            let outcome = match &expected {
                Err(msg) => Outcome::Fail(msg.clone()),
                Ok((stdout, code)) => run_format(case, format, bundler, bundler_path, stdout, *code, cache.path()),
            };
            (format.clone(), outcome)
        })
        .collect()
}

fn run_format(
    case: &Case,
    format: &str,
    bundler: Bundler,
    bundler_path: &Path,
    expected_stdout: &str,
    expected_code: Option<i32>,
    cache: &Path,
) -> Outcome {
    let tmp =
        tempfile::Builder::new().prefix("packem-exec-").tempdir_in(std::env::temp_dir()).expect("creating a temp dir");
    let minify = format.ends_with(MINIFY_SUFFIX);
    let format = format.strip_suffix(MINIFY_SUFFIX).unwrap_or(format);
    let parts = format == PARTS_FORMAT;
    let split = format == SPLIT_FORMAT || parts;
    let format = if split { "esm" } else { format };
    let ext = match format {
        "esm" => "mjs",
        "cjs" => "cjs",
        _ => "js",
    };
    let outfile = if split {
        let stem = Path::new(&case.entry()).file_stem().unwrap().to_string_lossy().into_owned();
        tmp.path().join(format!("{stem}.mjs"))
    } else {
        tmp.path().join(format!("out.{ext}"))
    };

    let mut build = Command::new(bundler_path);
    build.current_dir(&case.dir);
    match bundler {
        Bundler::Packem => {
            build.arg("build").arg(case.entry()).arg(format!("--cache-dir={}", cache.display()));
        }
        Bundler::Esbuild => {
            build.arg(case.entry()).arg("--bundle");
        }
    }
    if split {
        build.arg(format!("--outdir={}", tmp.path().display())).arg("--splitting").arg("--out-extension:.js=.mjs");
        if parts {
            build.arg("--max-chunk-size=100");
        }
    } else {
        build.arg(format!("--outfile={}", outfile.display()));
    }
    build
        .arg(format!("--format={format}"))
        .arg(format!("--platform={}", case.platform()))
        .arg("--log-level=warning")
        .env("NO_COLOR", "1")
        .env_remove("PACKEM_LOG")
        .env_remove("RUST_LOG");
    for e in &case.config.external {
        build.arg(format!("--external:{e}"));
    }
    if let Some(name) = &case.config.global_name {
        build.arg(format!("--global-name={name}"));
    }
    build.args(&case.config.args);
    if minify {
        // Minified runs write source maps too: they must not change what runs, and each map
        // is checked below.
        build.arg("--minify").arg("--sourcemap");
        if case.config.observes_names {
            build.arg("--keep-names");
        }
    }
    let built = run_process(&mut build);
    for needle in &case.config.expect_stderr {
        if !built.stderr.contains(needle.as_str()) {
            return Outcome::Fail(format!("the bundler's stderr lacks {needle:?}:\n{}", built.stderr));
        }
    }

    if let Some(needle) = &case.config.expect_build_error {
        return if built.code == Some(0) {
            Outcome::Fail(format!("the build succeeded, expected an error containing {needle:?}"))
        } else if !built.stderr.contains(needle.as_str()) {
            Outcome::Fail(format!(
                "the build failed ({}) but stderr lacks {needle:?}:\n{}",
                built.describe_exit(),
                built.stderr
            ))
        } else {
            Outcome::Pass
        };
    }
    if built.code != Some(0) {
        return Outcome::Fail(format!(
            "the build failed ({}):\n{}{}",
            built.describe_exit(),
            built.stdout,
            built.stderr
        ));
    }

    let bundle = if split {
        // Every chunk: kept code may sit in any of them.
        let mut files: Vec<PathBuf> = walk_files(tmp.path());
        files.sort();
        files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).collect::<Vec<_>>().join("\n")
    } else {
        std::fs::read_to_string(&outfile).unwrap_or_default()
    };
    if minify && bundler == Bundler::Packem {
        for file in walk_files(tmp.path()) {
            if file.extension().is_some_and(|e| e == "map")
                && let Err(problem) = check_source_map(&file)
            {
                return Outcome::Fail(format!("{}: {problem}", file.display()));
            }
        }
    }
    // Minified code spells what it keeps differently; the unminified run checks what is kept.
    let (includes, excludes) =
        if minify { (&[][..], &[][..]) } else { (&case.config.bundle_includes[..], &case.config.bundle_excludes[..]) };
    for needle in includes {
        if !bundle.contains(needle.as_str()) {
            return Outcome::Fail(format!("the bundle lacks {needle:?}:\n{bundle}"));
        }
    }
    for needle in excludes {
        if bundle.contains(needle.as_str()) {
            return Outcome::Fail(format!("the bundle contains {needle:?}, which tree shaking must drop:\n{bundle}"));
        }
    }

    let ran = run_process(Command::new("node").arg(&outfile).current_dir(&case.dir));
    let mut problems = String::new();
    if ran.stdout != expected_stdout {
        let _ = write!(problems, "stdout differs (- expected, + bundle):\n{}", line_diff(expected_stdout, &ran.stdout));
    }
    if ran.code != expected_code || ran.timed_out {
        let _ = writeln!(
            problems,
            "exit: expected {}, bundle had {}",
            expected_code.map_or("a signal".to_string(), |c| format!("exit code {c}")),
            ran.describe_exit()
        );
    }
    if !problems.is_empty() {
        if !ran.stderr.trim().is_empty() {
            let _ = write!(problems, "bundle stderr:\n{}", indent(&ran.stderr));
        }
        return Outcome::Fail(problems);
    }

    let test_script = case.dir.join("_test.mjs");
    if test_script.is_file() {
        let mut cmd = Command::new("node");
        cmd.arg(&test_script).current_dir(&case.dir).env("BUNDLE", &outfile).env("FORMAT", format);
        if let Some(name) = &case.config.global_name {
            cmd.env("GLOBAL_NAME", name);
        }
        let t = run_process(&mut cmd);
        if t.code != Some(0) {
            return Outcome::Fail(format!(
                "_test.mjs failed ({}):\n{}{}",
                t.describe_exit(),
                indent(&t.stdout),
                indent(&t.stderr)
            ));
        }
    }
    Outcome::Pass
}

/// Every file under `dir`.
fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Runs a process with its output captured to files (so a chatty child cannot block on a full
/// pipe) and a timeout.
fn run_process(cmd: &mut Command) -> Run {
    let dir = tempfile::tempdir().expect("creating a temp dir");
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let mut child = cmd
        .env_remove("NODE_OPTIONS")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > PROCESS_TIMEOUT {
            let _ = child.kill();
            timed_out = true;
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Run {
        stdout: read(&out_path),
        stderr: read(&err_path),
        code: if timed_out { None } else { status.code() },
        timed_out,
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// A line diff from the longest common subsequence; the outputs are small.
fn line_diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            let _ = writeln!(out, "      {}", a[i]);
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            let _ = writeln!(out, "    - {}", a[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "    + {}", b[j]);
            j += 1;
        }
    }
    if !expected.is_empty() && !actual.is_empty() && expected.ends_with('\n') != actual.ends_with('\n') {
        let _ = writeln!(out, "    (trailing newline differs)");
    }
    out
}

/// Checks a source map next to its output: valid JSON of version 3, every mapping within the
/// output's lines and the sources' lines, every source and name index in range, and the output
/// naming it in its last line.
fn check_source_map(map_path: &Path) -> Result<(), String> {
    let json = std::fs::read_to_string(map_path).map_err(|e| e.to_string())?;
    let value: serde_json::Value = serde_json::from_str(&json).map_err(|e| format!("not JSON: {e}"))?;
    let output = map_path.with_extension("");
    let code = std::fs::read_to_string(&output).map_err(|e| format!("{}: {e}", output.display()))?;
    let file = output.file_name().unwrap().to_string_lossy();
    if value["file"] != file.as_ref() {
        return Err(format!("\"file\" is {}, not {file}", value["file"]));
    }
    let comment = format!("//# sourceMappingURL={file}.map");
    if code.lines().last() != Some(comment.as_str()) {
        return Err(format!("the output does not end with {comment:?}"));
    }
    let contents: Vec<Option<String>> = serde_json::from_value(value["sourcesContent"].clone()).unwrap_or_default();
    let map = oxc_sourcemap::SourceMap::from_json_string(&json).map_err(|e| format!("cannot decode: {e:?}"))?;
    let sources = map.get_sources().count() as u32;
    if contents.len() as u32 != sources {
        return Err(format!("{sources} sources but {} contents", contents.len()));
    }
    let lines: Vec<&str> = code.lines().collect();
    for token in map.get_tokens() {
        let line = lines
            .get(token.get_dst_line() as usize)
            .ok_or(format!("mapping on line {} past the end", token.get_dst_line()))?;
        if token.get_dst_col() > line.encode_utf16().count() as u32 {
            return Err(format!(
                "mapping at {}:{} past the end of its line",
                token.get_dst_line(),
                token.get_dst_col()
            ));
        }
        let source = token.get_source_id().ok_or("a mapping without a source")?;
        if source >= sources {
            return Err(format!("source index {source} of {sources}"));
        }
        if let Some(Some(text)) = contents.get(source as usize)
            && token.get_src_line() as usize > text.lines().count()
        {
            return Err(format!("original line {} past the end of source {source}", token.get_src_line()));
        }
        if token.get_name_id().is_some_and(|n| n >= map.get_names().count() as u32) {
            return Err("name index out of range".into());
        }
    }
    Ok(())
}
