//! End-to-end tests of the `packem` binary: output formats, exit codes and bad input.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{packem, project, stderr, stdout};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

#[test]
fn graph_of_the_example_app_as_a_tree() {
    let out = packem(&repo_root().join("examples/app"), &["graph", "--platform=node", "src/main.ts"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = "\
src/main.ts [esm]
├── @lib/format → src/lib/format.ts [esm]
├── ./inventory.js → src/inventory.ts [esm]
│   └── @lib/math → src/lib/math.ts [esm]
├── #config → src/config.json [json]
├── ./legacy.cjs → src/legacy.cjs [cjs]
│   └── path (require-call) → path (external)
└── ./lazy/summary.js (dynamic-import) → src/lazy/summary.ts [esm]
    └── @lib/format → src/lib/format.ts [esm]
";
    assert_eq!(stdout(&out), expected);
}

#[test]
fn graph_as_json_lists_modules_imports_and_cycles() {
    let dir = project(&[
        ("a.js", "import './b.js';\nimport 'fs';\nexport const a = 1;\n"),
        ("b.js", "import { a } from './a.js';\nconsole.log(a);\n"),
    ]);
    let out = packem(dir.path(), &["graph", "--format", "json", "--platform=node", "a.js"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["entries"], serde_json::json!(["a.js"]));
    assert_eq!(json["modules"].as_array().unwrap().len(), 2);
    assert_eq!(
        json["modules"][0]["imports"][1],
        serde_json::json!({"specifier": "fs", "kind": "import-statement", "path": "fs", "external": true})
    );
    assert_eq!(json["cycles"], serde_json::json!([["a.js", "b.js"]]));
    assert!(stderr(&out).contains("Circular dependency: a.js -> b.js -> a.js"), "{}", stderr(&out));
}

#[test]
fn graph_as_dot() {
    let dir = project(&[("a.js", "import('./b.js');\nimport './nope.js';\n"), ("b.js", "")]);
    let out = packem(dir.path(), &["graph", "--format=dot", "a.js"]);
    assert_eq!(out.status.code(), Some(1), "an unresolved import is an error");
    let dot = stdout(&out);
    assert!(dot.starts_with("digraph packem {\n"), "{dot}");
    assert!(dot.contains("m0 -> m1 [label=\"./b.js\", style=dashed];"), "{dot}");
    assert!(dot.contains("color=red"), "{dot}");
}

#[test]
fn check_passes_on_the_example_app() {
    let out = packem(&repo_root().join("examples/app"), &["check", "--platform=node", "src/main.ts"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("7 modules checked: no problems"), "{}", stderr(&out));
}

#[test]
fn unresolved_import_prints_location_and_code_frame() {
    let dir = project(&[("src/a.js", "import x from \"./missing\";\nconsole.log(x);\n")]);
    let out = packem(dir.path(), &["check", "src/a.js"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let expected = "\
✘ [ERROR] Could not resolve \"./missing\" [UNRESOLVED_IMPORT]

    src/a.js:1:15:
      1 │ import x from \"./missing\";
        ╵               ~~~~~~~~~~~
";
    assert!(err.starts_with(expected), "{err}");
    assert!(err.contains("1 module checked: 1 error"), "{err}");
    assert!(!err.contains('\x1b'), "NO_COLOR is respected");
}

#[test]
fn color_flag_forces_colors() {
    let dir = project(&[("a.js", "import './missing';\n")]);
    let out = packem(dir.path(), &["check", "--color=true", "a.js"]);
    assert!(stderr(&out).contains('\x1b'), "{}", stderr(&out));
}

#[test]
fn esbuild_flag_spellings_are_accepted() {
    let dir = project(&[
        ("a.js", "import 'left-pad';\nimport 'lodash/fp';\nimport 'fs';\nimport 'old';\n"),
        ("node_modules/new/index.js", ""),
    ]);
    let out = packem(
        dir.path(),
        &[
            "check",
            "--platform=node",
            "--external:left-pad",
            "--external:lodash",
            "--alias:old=new",
            "--log-level=error",
            "a.js",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "log level error prints no summary");
}

#[test]
fn missing_entry_is_an_error() {
    let dir = project(&[]);
    let out = packem(dir.path(), &["check", "nope.js"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("Could not resolve \"nope.js\" [MISSING_ENTRY]"), "{}", stderr(&out));
}

#[test]
fn syntax_error_is_located() {
    let dir = project(&[("a.js", "import './b.js';\n"), ("b.js", "const x = ;\n")]);
    let out = packem(dir.path(), &["check", "a.js"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("[PARSE_ERROR]") && err.contains("b.js:1:11:"), "{err}");
}

#[test]
fn binary_and_invalid_utf8_files_are_diagnosed() {
    let dir = project(&[("a.js", "import './logo.png';\nimport './latin1.js';\n")]);
    std::fs::write(dir.path().join("logo.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe").unwrap();
    std::fs::write(dir.path().join("latin1.js"), b"const s = '\xe9t\xe9';\n").unwrap();
    let out = packem(dir.path(), &["check", "a.js"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    // No loader applies to `.png`: one error at the import that names the flag, nothing more.
    assert_eq!(err.matches("[NO_LOADER]").count(), 1, "{err}");
    assert!(err.contains("No loader is configured for \".png\" files: logo.png"), "{err}");
    assert!(err.contains("a.js:1:8:") && err.contains("--loader:.png="), "{err}");
    assert_eq!(err.matches("[INVALID_UTF8]").count(), 1, "{err}");
    assert!(err.contains("\".js\" files look binary"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_fifo_is_not_read_and_nothing_hangs() {
    let dir = project(&[("a.js", "import './pipe.js';\n")]);
    let status = Command::new("mkfifo").arg(dir.path().join("pipe.js")).status().unwrap();
    assert!(status.success());
    // Imported, a FIFO is not a file to the resolver.
    let out = packem(dir.path(), &["check", "a.js"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("[UNRESOLVED_IMPORT]"), "{}", stderr(&out));
    // As an entry, it exists but is never read (reading would block forever).
    let out = packem(dir.path(), &["check", "pipe.js"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not a regular file"), "{}", stderr(&out));
}

#[cfg(unix)]
#[test]
fn symlink_loop_is_an_unresolved_import() {
    let dir = project(&[("a.js", "import './loop1.js';\n")]);
    std::os::unix::fs::symlink(dir.path().join("loop2.js"), dir.path().join("loop1.js")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("loop1.js"), dir.path().join("loop2.js")).unwrap();
    let out = packem(dir.path(), &["check", "a.js"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("[UNRESOLVED_IMPORT]"), "{}", stderr(&out));
}

#[test]
fn import_cycle_is_a_warning_not_an_error() {
    let dir =
        project(&[("a.js", "import './b.js';\n"), ("b.js", "import './c.js';\n"), ("c.js", "import './a.js';\n")]);
    let out = packem(dir.path(), &["check", "a.js"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("▲ [WARNING] Circular dependency: a.js -> b.js -> c.js -> a.js [CIRCULAR_DEPENDENCY]"),
        "{err}"
    );
    assert!(err.contains("b.js imports \"./c.js\" here:"), "{err}");
}

#[test]
fn deeply_nested_expression_does_not_crash() {
    let depth = 100_000;
    let source = format!("export const x = {}1{};\n", "(".repeat(depth), ")".repeat(depth));
    let dir = project(&[("deep.js", &source)]);
    let out = packem(dir.path(), &["check", "deep.js"]);
    // Either it parses or it is a clear parse error; never a crash.
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    if out.status.code() == Some(1) {
        assert!(stderr(&out).contains("[PARSE_ERROR]"), "{}", stderr(&out));
    }
}

#[test]
fn a_50_mb_generated_file_is_checked() {
    let mut source = String::with_capacity(51 << 20);
    let mut i = 0;
    while source.len() < 50 << 20 {
        source.push_str(&format!("export function f{i}(a, b) {{ return a * {i} + b - \"{i}\".length; }}\n"));
        i += 1;
    }
    let dir = project(&[("main.js", "import * as big from './big.js';\nconsole.log(Object.keys(big).length);\n")]);
    std::fs::write(dir.path().join("big.js"), source).unwrap();
    let out = packem(dir.path(), &["check", "main.js"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("2 modules checked: no problems"), "{}", stderr(&out));
}

#[test]
fn build_writes_the_bundle_a_summary_and_a_metafile() {
    let dir = project(&[
        (
            "src/main.js",
            "import { greet } from './greet.js';\nimport data from './data.json' with { type: 'json' };\nconsole.log(greet(data.name));\n",
        ),
        ("src/greet.js", "export const greet = (n) => `hello ${n}`;\n"),
        ("src/data.json", "{ \"name\": \"world\" }\n"),
    ]);
    let out = packem(dir.path(), &["build", "src/main.js", "--outdir=dist", "--metafile=meta.json", "--platform=node"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("dist/main.js"), "{}", stderr(&out));
    assert!(stderr(&out).contains("Done in"), "{}", stderr(&out));
    let run = Command::new("node").arg(dir.path().join("dist/main.js")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hello world\n", "{}", String::from_utf8_lossy(&run.stderr));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["inputs"].as_object().unwrap().len(), 3);
    assert_eq!(
        meta["inputs"]["src/main.js"]["imports"][0],
        serde_json::json!({"path": "src/greet.js", "kind": "import-statement", "original": "./greet.js"})
    );
    let output = &meta["outputs"]["dist/main.js"];
    assert_eq!(output["entryPoint"], "src/main.js");
    let size = std::fs::metadata(dir.path().join("dist/main.js")).unwrap().len();
    assert_eq!(output["bytes"], size);
    assert_eq!(output["inputs"].as_object().unwrap().len(), 3);
    assert_eq!(output["imports"], serde_json::json!([]));
}

#[test]
fn metafile_lists_external_imports_of_outputs() {
    let dir = project(&[(
        "main.js",
        "import { join } from 'node:path';
import 'left-pad';
console.log(join('a', 'b'));
",
    )]);
    let out = packem(
        dir.path(),
        &["build", "main.js", "--outfile=out.mjs", "--platform=node", "--external:left-pad", "--metafile=meta.json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("meta.json")).unwrap()).unwrap();
    assert_eq!(
        meta["outputs"]["out.mjs"]["imports"],
        serde_json::json!([
            {"path": "node:path", "kind": "import-statement", "external": true},
            {"path": "left-pad", "kind": "import-statement", "external": true}
        ])
    );
}

#[test]
fn build_writes_nothing_when_there_are_errors() {
    let dir = project(&[
        ("main.js", "import { nope } from './lib.js';\nconsole.log(nope);\n"),
        ("lib.js", "export const yes = 1;\n"),
    ]);
    let out = packem(dir.path(), &["build", "main.js", "--outdir=dist"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("No matching export in \"lib.js\" for import \"nope\" [MISSING_EXPORT]"), "{err}");
    // The imported name is underlined, not the specifier.
    assert!(err.contains("main.js:1:10:"), "{err}");
    assert!(err.contains("\"lib.js\" has no export named \"nope\":"), "{err}");
    assert!(!dir.path().join("dist").exists());
}

#[test]
fn build_refuses_to_overwrite_an_input() {
    let dir = project(&[("main.js", "console.log(1);\n")]);
    let out = packem(dir.path(), &["build", "main.js", "--outfile=main.js"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("OUTPUT_OVERWRITES_INPUT"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(dir.path().join("main.js")).unwrap(), "console.log(1);\n");
}

#[test]
fn top_level_await_is_an_error_outside_esm_output() {
    let dir = project(&[("main.mjs", "const x = await Promise.resolve(1);\nconsole.log(x);\n")]);
    let out = packem(dir.path(), &["build", "main.mjs", "--outfile=out.cjs", "--format=cjs"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Top-level await is currently not supported with the \"cjs\" output format"),
        "{}",
        stderr(&out)
    );
    let out = packem(dir.path(), &["build", "main.mjs", "--outfile=out.mjs"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn several_entries_build_to_an_outdir_with_their_relative_paths() {
    let dir = project(&[
        ("src/a.js", "import { shared } from './lib/shared.js';\nconsole.log('a', shared);\n"),
        ("src/pages/b.js", "import { shared } from '../lib/shared.js';\nconsole.log('b', shared);\n"),
        ("src/lib/shared.js", "export const shared = 42;\n"),
    ]);
    let out = packem(dir.path(), &["build", "src/a.js", "src/pages/b.js", "--outdir=out", "--format=cjs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for (file, expected) in [("out/a.js", "a 42\n"), ("out/pages/b.js", "b 42\n")] {
        let run = Command::new("node").arg(dir.path().join(file)).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&run.stdout), expected);
    }
}

#[test]
fn without_entries_the_cli_reads_packem_json_like_the_language_server() {
    let dir = project(&[
        ("packem.json", r#"{ "entries": ["src/app.js"], "platform": "node", "external": ["left-pad"] }"#),
        ("src/app.js", "import 'left-pad';\nimport { join } from 'path';\nconsole.log(join('a', 'b'));\n"),
    ]);
    let out = packem(dir.path(), &["check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 module checked: no problems"), "{}", stderr(&out));
    let out = packem(dir.path(), &["build", "--outfile=out.mjs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // No config and no entries: a clear error.
    let empty = project(&[]);
    let out = packem(empty.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no entry points given"), "{}", stderr(&out));
}

#[test]
fn esbuild_style_bundle_flag_is_accepted() {
    let dir = project(&[("main.js", "console.log(1 + 1);\n")]);
    let out = packem(dir.path(), &["build", "main.js", "--bundle", "--outfile=out.js", "--log-level=warning"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = Command::new("node").arg(dir.path().join("out.js")).output().unwrap();
    assert_eq!(stdout(&run), "2\n");
}

/// An external imported as a namespace is `__toESM(require(…))` in CommonJS and IIFE output: the
/// helper must be defined before that line runs (found by the differential test, seed 218;
/// the output threw "__toESM is not a function").
#[test]
fn a_namespace_import_of_an_external_runs_in_commonjs_and_iife_output() {
    let dir = project(&[(
        "main.mjs",
        "import * as path from 'node:path';\nexport * as again from 'node:path';\nconsole.log(typeof path.join);\n",
    )]);
    for format in ["cjs", "iife"] {
        let outdir = format!("out-{format}");
        let out = packem(
            dir.path(),
            &["build", "main.mjs", "--platform=node", &format!("--format={format}"), &format!("--outdir={outdir}")],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(common::node(&dir.path().join(outdir).join("main.js")), "function\n", "{format}");
    }
}

/// A nested `import` declaration in a `.cjs` file (`label: import …`) is a parse error; with
/// `--minify` it reached oxc's minifier, which asserts on it (a fuzzing find:
/// `fuzz/regressions/project/minifier-labeled-import`).
#[test]
fn a_nested_import_declaration_in_a_commonjs_file_is_an_error_even_when_minifying() {
    let dir = project(&[("m.cjs", "const a = 1;\nlabel:\nimport * as ns from './m.cjs';\nconsole.log(a, ns);\n")]);
    for extra in [&[][..], &["--minify"][..]] {
        let mut args = vec!["build", "m.cjs", "--outdir=out", "--platform=node"];
        args.extend_from_slice(extra);
        let out = packem(dir.path(), &args);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("[PARSE_ERROR]"), "{extra:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{extra:?}: {}", stderr(&out));
    }
}
