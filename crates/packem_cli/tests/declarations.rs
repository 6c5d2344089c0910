//! `--declarations`: `.d.ts` files next to the outputs (isolated declarations by oxc), placed by
//! the output layout, with specifiers that TypeScript resolves; checked with `tsc` itself.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

mod common;
use std::io::BufRead as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{npm_fixtures, packem, project, stderr};

/// An entry, two modules it imports, a module only its types import (no edge of the bundle's
/// graph), and an `.mts` module.
const SOURCES: &[(&str, &str)] = &[
    (
        "src/index.ts",
        "import { clamp, type Range } from './math';\n\
         import { format } from './format.ts';\n\
         import type { Options } from './types';\n\
         import { now } from './time.mts';\n\
         export type { Range } from './math';\n\
         export { describe } from './format.ts';\n\
         /** Clamps `value` into `range`, then formats it. */\n\
         export function show(value: number, range: Range, options?: Options): string {\n\
         \x20 return format(clamp(value, range), options?.precision ?? 2) + now();\n\
         }\n\
         export const VERSION: string = '1.0';\n",
    ),
    (
        "src/math.ts",
        "export interface Range {\n  min: number;\n  max: number;\n}\n\
         export function clamp(value: number, range: Range): number {\n\
         \x20 return Math.min(range.max, Math.max(range.min, value));\n}\n",
    ),
    (
        "src/format.ts",
        "import type { Range } from './math.ts';\n\
         export function format(n: number, digits: number): string {\n  return n.toFixed(digits);\n}\n\
         export function describe(range: Range): string {\n  return `${range.min}..${range.max}`;\n}\n",
    ),
    ("src/types.ts", "export interface Options {\n  precision: number;\n}\n"),
    ("src/time.mts", "export function now(): string {\n  return '';\n}\n"),
];

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    common::files_under(dir)
}

fn build(dir: &Path, args: &[&str]) {
    let out = packem(dir, args);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn declarations_of_the_entry_and_of_every_project_module() {
    let dir = project(SOURCES);
    build(dir.path(), &["build", "src/index.ts", "--declarations", "--outdir=dist", "--platform=node", "--format=esm"]);
    assert_eq!(
        files(&dir.path().join("dist")),
        ["format.d.ts", "index.d.ts", "index.js", "math.d.ts", "time.d.mts", "types.d.ts"]
    );
    let index = read(dir.path(), "dist/index.d.ts");
    // Declarations only, with the JSDoc; imports the declaration does not need are gone.
    assert!(index.contains("/** Clamps `value` into `range`, then formats it. */"), "{index}");
    assert!(
        index.contains("export declare function show(value: number, range: Range, options?: Options): string;"),
        "{index}"
    );
    assert!(index.contains("export declare const VERSION: string;"), "{index}");
    assert!(!index.contains("clamp") && !index.contains("return") && !index.contains("time"), "{index}");
    // Specifiers name the JavaScript the declarations describe, as `tsc` writes them.
    for line in [
        "import { type Range } from \"./math.js\";",
        "import type { Options } from \"./types.js\";",
        "export type { Range } from \"./math.js\";",
        "export { describe } from \"./format.js\";",
    ] {
        assert!(index.contains(line), "{line} in\n{index}");
    }
    let format = read(dir.path(), "dist/format.d.ts");
    assert!(format.contains("import type { Range } from \"./math.js\";"), "{format}");
    assert!(format.contains("export declare function describe(range: Range): string;"), "{format}");
    assert!(read(dir.path(), "dist/types.d.ts").contains("export interface Options {"));
    assert!(read(dir.path(), "dist/time.d.mts").contains("export declare function now(): string;"));

    // The entry's declaration follows its output; the others stay laid out from the outbase.
    build(
        dir.path(),
        &["build", "src/index.ts", "--declarations", "--outdir=named", "--entry-names=js/[name]", "--platform=node"],
    );
    let named = files(&dir.path().join("named"));
    assert!(named.contains(&"js/index.d.ts".to_string()) && named.contains(&"math.d.ts".to_string()), "{named:?}");
    let index = read(dir.path(), "named/js/index.d.ts");
    assert!(index.contains("from \"../math.js\";") && index.contains("from \"../types.js\";"), "{index}");

    // With --outfile, next to it; the other modules from the outfile's directory.
    build(dir.path(), &["build", "src/index.ts", "--declarations", "--outfile=out/bundle.js", "--platform=node"]);
    assert_eq!(
        files(&dir.path().join("out")),
        ["bundle.d.ts", "bundle.js", "format.d.ts", "math.d.ts", "time.d.mts", "types.d.ts"]
    );
    assert!(read(dir.path(), "out/bundle.d.ts").contains("from \"./math.js\";"));

    // Declarations are files: not to stdout.
    let out = packem(dir.path(), &["build", "src/index.ts", "--declarations"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--declarations") && stderr(&out).contains("stdout"), "{}", stderr(&out));
}

#[test]
fn mjs_and_cjs_outputs_get_mts_and_cts_declarations() {
    let dir = project(SOURCES);
    build(
        dir.path(),
        &["build", "src/index.ts", "--declarations", "--outdir=esm", "--out-extension:.js=.mjs", "--platform=node"],
    );
    assert_eq!(
        files(&dir.path().join("esm")),
        ["format.d.ts", "index.d.mts", "index.mjs", "math.d.ts", "time.d.mts", "types.d.ts"]
    );
    build(
        dir.path(),
        &[
            "build",
            "src/index.ts",
            "--declarations",
            "--outdir=cjs",
            "--format=cjs",
            "--out-extension:.js=.cjs",
            "--platform=node",
        ],
    );
    assert_eq!(
        files(&dir.path().join("cjs")),
        ["format.d.ts", "index.cjs", "index.d.cts", "math.d.ts", "time.d.mts", "types.d.ts"]
    );
    assert!(read(dir.path(), "cjs/index.d.cts").contains("from \"./math.js\";"));
}

/// Runs the `tsc` of the npm fixtures in `dir` (its `tsconfig.json`); its output.
fn tsc(dir: &Path) -> std::process::Output {
    let tsc = npm_fixtures().join("node_modules/typescript/bin/tsc");
    assert!(tsc.exists(), "typescript is missing from the npm fixtures: run `cargo xtask fixtures`");
    Command::new("node").arg(tsc).arg("-p").arg(dir).output().unwrap()
}

fn tsconfig(resolution: &str) -> String {
    let module = if resolution == "bundler" { "esnext" } else { resolution };
    format!(
        r#"{{ "compilerOptions": {{ "module": "{module}", "moduleResolution": "{resolution}", "strict": true,
           "noEmit": true, "skipLibCheck": false, "types": [] }}, "files": ["main.ts"] }}"#
    )
}

#[test]
fn a_consumer_type_checks_against_the_declarations_and_a_misuse_fails() {
    let mut sources = SOURCES.to_vec();
    sources.push(("package.json", r#"{ "name": "lib", "type": "module" }"#));
    let dir = project(&sources);
    build(dir.path(), &["build", "src/index.ts", "--declarations", "--outdir=dist", "--platform=node"]);
    build(
        dir.path(),
        &["build", "src/index.ts", "--declarations", "--outdir=mjs", "--out-extension:.js=.mjs", "--platform=node"],
    );
    let good = "import { show, describe, VERSION, type Range } from '../dist/index.js';\n\
                import { show as show2 } from '../mjs/index.mjs';\n\
                const range: Range = { min: 0, max: 10 };\n\
                const text: string = show(12, range, { precision: 1 }) + describe(range) + VERSION;\n\
                export const both: string = text + show2(1, range);\n";
    let bad = "import { show, type Range } from '../dist/index.js';\n\
               const range: Range = { min: 0, max: 10 };\n\
               export const n: number = show(12, range, { precision: 'one' });\n";
    for resolution in ["node16", "bundler"] {
        let consumer = dir.path().join(format!("consumer-{resolution}"));
        std::fs::create_dir_all(&consumer).unwrap();
        std::fs::write(consumer.join("tsconfig.json"), tsconfig(resolution)).unwrap();
        std::fs::write(consumer.join("main.ts"), good).unwrap();
        let out = tsc(&consumer);
        assert!(out.status.success(), "{resolution}: {}{}", common::stdout(&out), stderr(&out));

        std::fs::write(consumer.join("main.ts"), bad).unwrap();
        let out = tsc(&consumer);
        let text = common::stdout(&out);
        assert!(!out.status.success(), "{resolution}: the misuse type-checked");
        // `string` is not a `number`, nor `'one'` a precision.
        assert_eq!(text.matches("error TS2322").count(), 2, "{resolution}: {text}");
    }
}

#[test]
fn a_type_isolated_declarations_cannot_infer_is_an_error_at_its_place_and_nothing_is_written() {
    let mut sources = SOURCES.to_vec();
    sources.push(("src/math.ts", "export function clamp(value: number, range: { min: number; max: number }) {\n  return value + range.min;\n}\nexport type Range = { min: number; max: number };\n"));
    let dir = project(&sources);
    let out = packem(dir.path(), &["build", "src/index.ts", "--declarations", "--outdir=dist", "--platform=node"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("[DECLARATION_ERROR]") && err.contains("explicit return type"), "{err}");
    assert!(err.contains("src/math.ts:1:17:"), "{err}");
    assert!(err.contains("export function clamp("), "a code frame: {err}");
    assert!(!dir.path().join("dist").exists(), "nothing is written");

    // Without --declarations, the same project builds.
    build(dir.path(), &["build", "src/index.ts", "--outdir=dist", "--platform=node"]);
}

/// `packem build --watch` on a project, with the rebuild lines of its stderr and the declaration
/// queries that ran (their `tracing` spans).
struct Watch {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Watch {
    fn start(dir: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_packem"))
            .current_dir(dir)
            .arg("build")
            .args(args)
            .arg("--watch")
            .env("NO_COLOR", "1")
            .env("PACKEM_LOG", "packem_emit::declarations=debug")
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The next `[watch]` line, skipping rebuilds that changed nothing (an editor's save can
    /// come as two events), and the declaration queries that ran before it: `project` for the
    /// list, else the file name of the module whose declaration was made.
    fn next(&self) -> (String, Vec<String>) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        let mut ran = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| panic!("no [watch] line; saw {seen:?}"));
            if line.starts_with("[watch]") && !line.ends_with("output unchanged") {
                ran.sort();
                return (line, ran);
            }
            // A module's span closes inside the list's: `project_declarations:module_declaration{…}`.
            if line.contains("close")
                && line.contains("module_declaration")
                && let Some((_, path)) = line.split_once("path=")
            {
                let path = path.split(['}', ' ']).next().unwrap_or_default();
                ran.push(path.rsplit('/').next().unwrap_or_default().to_string());
            } else if line.contains("close") && line.contains("project_declarations") {
                ran.push("project".to_string());
            }
            seen.push(line);
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

#[test]
fn an_edit_that_keeps_the_declarations_writes_no_declaration_and_a_type_edit_only_its_own() {
    let dir = project(SOURCES);
    let w = Watch::start(dir.path(), &["src/index.ts", "--declarations", "--outdir=dist", "--platform=node"]);
    let (line, ran) = w.next();
    assert!(line.contains("build finished"), "{line}");
    assert_eq!(ran, ["format.ts", "index.ts", "math.ts", "project", "time.mts", "types.ts"]);
    // The watcher starts watching after it prints that line.
    std::thread::sleep(Duration::from_millis(500));
    let math = read(dir.path(), "dist/math.d.ts");

    // Body edits: the bundle changes, no declaration does. The module's declaration is made again
    // and comes out the same, so no other module's declaration is made again. The list re-runs
    // after the file's first edit only (its contents drop from MEDIUM to LOW durability, and
    // salsa does not backdate across a durability drop); it then compares equal.
    for (i, body) in ["value < range.min ? range.min : value", "Math.max(range.min, value)"].iter().enumerate() {
        let text = format!(
            "export interface Range {{\n  min: number;\n  max: number;\n}}\n\
             export function clamp(value: number, range: Range): number {{\n  return {body};\n}}\n"
        );
        std::fs::write(dir.path().join("src/math.ts"), text).unwrap();
        let (line, ran) = w.next();
        assert!(line.contains("src/math.ts") && line.contains("wrote dist/index.js"), "{line}");
        assert!(!line.contains(".d.ts"), "{line}");
        assert_eq!(ran, if i == 0 { &["math.ts", "project"][..] } else { &["math.ts"][..] });
        assert_eq!(read(dir.path(), "dist/math.d.ts"), math);
    }

    // An edit of types only: the bundle is the same, one declaration changes.
    std::fs::write(
        dir.path().join("src/types.ts"),
        "export interface Options {\n  precision: number;\n  unit?: string;\n}\n",
    )
    .unwrap();
    let (line, ran) = w.next();
    assert!(line.ends_with("wrote dist/types.d.ts"), "{line}");
    assert_eq!(ran, ["project", "types.ts"]);
    assert!(read(dir.path(), "dist/types.d.ts").contains("unit?: string;"));

    // A declaration error keeps the last good output; fixing it writes the declaration.
    std::fs::write(dir.path().join("src/types.ts"), "export const DEFAULTS = { precision: [1].map(String) };\n")
        .unwrap();
    let (line, _) = w.next();
    assert!(line.contains("error"), "{line}");
    std::fs::write(dir.path().join("src/types.ts"), "export interface Options {\n  precision: number;\n}\n").unwrap();
    let (line, _) = w.next();
    assert!(line.ends_with("wrote dist/types.d.ts"), "{line}");
}

#[test]
fn the_declarations_key_of_packem_json() {
    let mut sources = SOURCES.to_vec();
    sources.push((
        "packem.json",
        r#"{
  "entries": ["src/index.ts"],
  "platform": "node",
  "declarations": true,
  "targets": [
    { "name": "esm", "format": "esm", "outdir": "dist/esm", "outExtension": { ".js": ".mjs" } },
    { "name": "cjs", "format": "cjs", "outdir": "dist/cjs", "outExtension": { ".js": ".cjs" } },
    { "name": "plain", "outfile": "dist/plain.js", "declarations": false }
  ]
}
"#,
    ));
    let dir = project(&sources);
    build(dir.path(), &["build"]);
    let dist = files(&dir.path().join("dist"));
    for file in ["esm/index.d.mts", "esm/math.d.ts", "cjs/index.d.cts", "cjs/types.d.ts", "plain.js"] {
        assert!(dist.contains(&file.to_string()), "{file} in {dist:?}");
    }
    assert!(!dist.iter().any(|f| f.starts_with("plain.d")), "{dist:?}");
}
