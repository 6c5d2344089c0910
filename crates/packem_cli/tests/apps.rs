//! Real applications bundled and run: a React 19 TSX app (the automatic JSX runtime from
//! tsconfig.json, `react-dom/server`'s `renderToString`) and a Preact app (`jsxImportSource`),
//! each bundled for node (esm and cjs) and for the browser. The browser bundle runs in a Node
//! `vm` context that has the web's globals but no `process` (as in a browser), and must print
//! the same HTML as the node builds. esbuild builds the same apps for a size comparison, printed
//! with `--nocapture`.
//!
//! The app sources are ours (`tests/fixtures/apps/`); the packages come from `cargo xtask
//! fixtures` (`.fixtures/npm`, never committed). Each app is copied to a temp dir with a
//! `node_modules` symlink, so nothing is written into the repository.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

mod common;
use common::copy_dir;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

fn node_modules() -> PathBuf {
    let dir = repo().join(".fixtures/npm/node_modules");
    assert!(dir.join(".packem-stamp").exists(), "npm fixtures are missing: run `cargo xtask fixtures`");
    dir
}

/// A copy of `tests/fixtures/apps/<name>` in a temp dir, with `node_modules` linked in.
fn app(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("tests/fixtures/apps").join(name), dir.path());
    std::os::unix::fs::symlink(node_modules(), dir.path().join("node_modules")).unwrap();
    dir
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.env("NO_COLOR", "1").output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn packem(dir: &Path, args: &[&str]) -> Output {
    // node_modules is a link to the shared npm fixtures: keep each test's cache in its own directory.
    let cache = format!("--cache-dir={}", dir.join(".packem-cache").display());
    let out = run(Command::new(env!("CARGO_BIN_EXE_packem")).current_dir(dir).arg("build").args(args).arg(cache));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("[ERROR]") && !stderr.contains("[WARNING]"), "{stderr}");
    out
}

fn node(dir: &Path, file: &str) -> String {
    String::from_utf8(run(Command::new("node").current_dir(dir).arg(file)).stdout).unwrap()
}

/// Runs a browser bundle in a `vm` context with the web's globals (console, timers, encoders,
/// `MessageChannel`) and without Node's (`process`, `require`, `Buffer`), and returns what it
/// logged.
fn browser(dir: &Path, file: &str) -> String {
    const RUNNER: &str = r#"
const vm = require("vm"), fs = require("fs");
const lines = [];
const log = (...args) => lines.push(args.join(" "));
const context = { console: { log, info: log, warn: () => {}, error: (...a) => lines.push("error: " + a.join(" ")) },
  setTimeout, clearTimeout, queueMicrotask, TextEncoder, TextDecoder, URL, AbortController, atob, btoa };
const channels = [];
context.MessageChannel = class extends MessageChannel { constructor() { super(); channels.push(this); } };
context.window = context.self = context.globalThis = context;
vm.createContext(context);
try {
  vm.runInContext(fs.readFileSync(process.argv[1], "utf8"), context, { filename: process.argv[1] });
} finally {
  setTimeout(() => { for (const c of channels) { c.port1.close(); c.port2.close(); } process.stdout.write(lines.join("\n") + "\n"); }, 50);
}
"#;
    String::from_utf8(run(Command::new("node").current_dir(dir).args(["-e", RUNNER, file])).stdout).unwrap()
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// Bundles `entry` of `app` every way, checks that every bundle prints `expected`, and reports
/// the browser bundle's size next to esbuild's.
fn check_app(name: &str, entry: &str, expected: &str) {
    let dir = app(name);
    let d = dir.path();
    packem(d, &[entry, "--platform=node", "--format=esm", "--outfile=out/node.mjs"]);
    assert_eq!(node(d, "out/node.mjs"), expected, "node esm");
    packem(d, &[entry, "--platform=node", "--format=cjs", "--outfile=out/node.cjs"]);
    assert_eq!(node(d, "out/node.cjs"), expected, "node cjs");
    // No --format: the browser default (iife) must run as written.
    packem(d, &[entry, "--platform=browser", "--outfile=out/browser.js"]);
    assert_eq!(browser(d, "out/browser.js"), expected, "browser (vm without process)");
    packem(d, &[entry, "--platform=browser", "--define:process.env.NODE_ENV=\"production\"", "--outfile=out/prod.js"]);
    assert_eq!(browser(d, "out/prod.js"), expected, "browser production build");
    let code = std::fs::read_to_string(d.join("out/prod.js")).unwrap();
    assert!(!code.contains("process.env.NODE_ENV"), "the production build still reads process.env.NODE_ENV");

    let esbuild = node_modules().join(".bin/esbuild");
    run(Command::new(&esbuild).current_dir(d).args([
        entry,
        "--bundle",
        "--platform=browser",
        "--outfile=out/esbuild.js",
    ]));
    run(Command::new(&esbuild).current_dir(d).args([
        entry,
        "--bundle",
        "--platform=browser",
        "--define:process.env.NODE_ENV=\"production\"",
        "--outfile=out/esbuild-prod.js",
    ]));
    assert_eq!(browser(d, "out/esbuild.js"), expected, "esbuild's browser bundle (the reference)");
    eprintln!(
        "{name}: browser bundle {} bytes (esbuild {}); production {} bytes (esbuild {})",
        size(&d.join("out/browser.js")),
        size(&d.join("out/esbuild.js")),
        size(&d.join("out/prod.js")),
        size(&d.join("out/esbuild-prod.js")),
    );
}

#[test]
fn react_19_tsx_app_renders_the_same_html_in_node_and_the_browser() {
    check_app(
        "react",
        "src/main.tsx",
        "<main class=\"app\"><h1>Tasks <span class=\"badge many\">2</span></h1><section><h2>Open</h2><ul><li data-id=\"2\">Bundle React</li><li data-id=\"3\">Run it &lt;everywhere&gt;</li></ul></section><p>task<!-- --> done</p></main>\n",
    );
}

#[test]
fn preact_app_with_jsx_import_source_renders_the_same_html_everywhere() {
    check_app(
        "preact",
        "src/main.jsx",
        "<div id=\"page\"><p>Hello, Ada!</p><p>Hello, Grace!</p><button type=\"button\" class=\"counter\">Count: 3</button></div>\n",
    );
}

/// Lowering that needs helpers (private fields, class fields, async functions, object rest and
/// spread) bundles them from `@oxc-project/runtime`, and the lowered output runs as the sources do.
#[test]
fn lowering_for_old_targets_bundles_the_runtime_helpers_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::os::unix::fs::symlink(node_modules(), d.join("node_modules")).unwrap();
    std::fs::create_dir_all(d.join("src")).unwrap();
    std::fs::write(
        d.join("src/main.js"),
        "class Counter {\n  #count = 0;\n  static created = 0;\n  constructor() { Counter.created++; }\n  inc() { return ++this.#count; }\n}\nasync function later(x) { await null; return { ...x, done: true }; }\nconst { a, ...rest } = { a: 1, b: 2, c: 3 };\nlater({ n: 1 }).then((v) => console.log(JSON.stringify(v), a, JSON.stringify(rest), new Counter().inc(), Counter.created, 2 ** 3));\n",
    )
    .unwrap();
    let expected = node(d, "src/main.js");
    for (target, absent) in
        [("es2016", &["async ", "#count", "...x"][..]), ("es2021", &["#count", "static created"][..])]
    {
        let out = format!("out/{target}.cjs");
        packem(d, &["src/main.js", "--platform=node", &format!("--target={target}"), &format!("--outfile={out}")]);
        assert_eq!(node(d, &out), expected, "{target}");
        let code = std::fs::read_to_string(d.join(&out)).unwrap();
        for syntax in absent {
            assert!(!code.contains(syntax), "{target}: the output still has {syntax:?}");
        }
    }
}
