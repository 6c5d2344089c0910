//! The `packem` binary's compile and output options, and its diagnostics, end to end: where
//! outputs go (`--outdir` with `--outbase`, `--entry-names`, `--out-extension`, stdout), which
//! format runs where without `--format`, `--jsx=preserve`, bad option values (each a clear error
//! with nothing written), and the diagnostics `check` and `build` share.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

use std::path::Path;

mod common;
use common::{node, packem, project, stderr, stdout};

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    common::files_under(dir)
}

#[test]
fn without_format_the_output_runs_on_its_platform() {
    let dir = project(&[("src/main.js", "export const answer = 42;\nconsole.log(typeof module, answer);\n")]);
    let d = dir.path();
    // node + .js: CommonJS (esbuild's default), node + .mjs: ESM. (The module is ESM, so it
    // sees no `module` in either, as under Node.)
    assert!(packem(d, &["build", "src/main.js", "--platform=node", "--outfile=out/a.js"]).status.success());
    assert_eq!(node(&d.join("out/a.js")), "undefined 42\n");
    assert!(std::fs::read_to_string(d.join("out/a.js")).unwrap().contains("module.exports"));
    assert!(packem(d, &["build", "src/main.js", "--platform=node", "--outfile=out/b.mjs"]).status.success());
    assert!(std::fs::read_to_string(d.join("out/b.mjs")).unwrap().contains("export {"));
    assert_eq!(node(&d.join("out/b.mjs")), "undefined 42\n");
    // node + a package.json with "type": "module" above the output: ESM, as Node will run it.
    std::fs::create_dir_all(d.join("esm-out")).unwrap();
    std::fs::write(d.join("esm-out/package.json"), "{ \"type\": \"module\" }\n").unwrap();
    assert!(packem(d, &["build", "src/main.js", "--platform=node", "--outfile=esm-out/c.js"]).status.success());
    assert_eq!(node(&d.join("esm-out/c.js")), "undefined 42\n");
    // browser: an IIFE (runs as a classic script).
    assert!(packem(d, &["build", "src/main.js", "--outfile=out/d.js"]).status.success());
    assert!(std::fs::read_to_string(d.join("out/d.js")).unwrap().starts_with("(() => {"));
    // neutral: ESM.
    assert!(packem(d, &["build", "src/main.js", "--platform=neutral", "--outfile=out/e.js"]).status.success());
    assert!(std::fs::read_to_string(d.join("out/e.js")).unwrap().contains("export {"));
}

#[test]
fn a_single_entry_without_an_output_goes_to_stdout() {
    let dir = project(&[("main.js", "console.log('to stdout');\n")]);
    let out = packem(dir.path(), &["build", "main.js", "--platform=node", "--bundle"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("console.log(\"to stdout\");"), "{}", stdout(&out));
    assert!(!stderr(&out).contains("Done in"), "no summary on stdout builds: {}", stderr(&out));
    // No output file: only the persistent cache was written.
    let written: Vec<String> =
        files(dir.path()).into_iter().filter(|f| !f.starts_with("node_modules/.cache/")).collect();
    assert_eq!(written, ["main.js"]);
    // Two entries need an output directory.
    std::fs::write(dir.path().join("b.js"), "1;\n").unwrap();
    let out = packem(dir.path(), &["build", "main.js", "b.js"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--outdir"), "{}", stderr(&out));
}

#[test]
fn outdir_names_follow_outbase_entry_names_and_out_extension() {
    let dir = project(&[
        ("src/pages/home.js", "console.log('home');\n"),
        ("src/pages/admin/users.js", "console.log('users');\n"),
    ]);
    let d = dir.path();
    let out = packem(
        d,
        &[
            "build",
            "src/pages/home.js",
            "src/pages/admin/users.js",
            "--platform=node",
            "--outdir=dist",
            "--outbase=src",
            "--entry-names=[dir]/[name]-[hash]",
            "--out-extension:.js=.cjs",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let written = files(&d.join("dist"));
    assert_eq!(written.len(), 2, "{written:?}");
    let home = written.iter().find(|f| f.starts_with("pages/home-")).expect("pages/home-[hash].cjs");
    assert!(home.ends_with(".cjs") && home.len() == "pages/home-".len() + 8 + ".cjs".len(), "{home}");
    assert!(written.iter().any(|f| f.starts_with("pages/admin/users-") && f.ends_with(".cjs")), "{written:?}");
    assert_eq!(node(&d.join("dist").join(home)), "home\n");
    // The hash follows the bytes: an unrelated entry's edit keeps it, an edit of this one changes it.
    std::fs::write(d.join("src/pages/admin/users.js"), "console.log('users!');\n").unwrap();
    let again = packem(
        d,
        &[
            "build",
            "src/pages/home.js",
            "src/pages/admin/users.js",
            "--platform=node",
            "--outdir=dist2",
            "--outbase=src",
            "--entry-names=[dir]/[name]-[hash]",
            "--out-extension:.js=.cjs",
        ],
    );
    assert!(again.status.success());
    assert!(files(&d.join("dist2")).contains(home), "{:?}", files(&d.join("dist2")));
}

#[test]
fn jsx_preserve_keeps_the_jsx() {
    let dir = project(&[("main.jsx", "export const el = <div className=\"a\">{1 + 1}</div>;\n")]);
    let out = packem(dir.path(), &["build", "main.jsx", "--jsx=preserve", "--format=esm"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("<div className=\"a\">{1 + 1}</div>"), "{}", stdout(&out));
}

#[test]
fn bad_option_values_are_clear_errors_and_write_nothing() {
    let dir = project(&[("main.js", "console.log(1);\n"), ("data.bin", "\u{0}\u{1}")]);
    let d = dir.path();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--loader:.bin=bytes"],
            "unknown loader \"bytes\" (valid loaders: js, jsx, ts, tsx, json, text, base64, dataurl, binary, file, copy, empty)",
        ),
        (&["--loader:bin"], "expected --loader:.ext=NAME"),
        (&["--define:process.env.NODE_ENV=production mode"], "the value must be JSON or an identifier"),
        (&["--define:1x=true"], "\"1x\" is not an identifier or a dotted member chain"),
        (&["--define:FLAG"], "expected --define:NAME=VALUE"),
        (&["--target=es2099"], "invalid --target=es2099"),
        (&["--target=chrome"], "invalid --target=chrome"),
        (&["--out-extension:.css=.x"], "expected --out-extension:.js=.EXT"),
        (&["--banner:css=x"], "packem does not bundle CSS"),
        (&["--inject:./missing.js"], "could not read --inject:"),
    ];
    for (args, message) in cases {
        let mut all = vec!["build", "main.js", "--outdir=dist"];
        all.extend_from_slice(args);
        let out = packem(d, &all);
        assert_ne!(out.status.code(), Some(0), "{args:?} should fail");
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: expected {message:?} in\n{}", stderr(&out));
        assert!(!d.join("dist").exists(), "{args:?} wrote output");
    }
}

#[test]
fn check_reports_link_errors_like_build_and_no_follow_on_errors() {
    let dir = project(&[
        (
            "main.js",
            "import { debounce } from './lodash.js';\nimport { value } from './broken.js';\nconsole.log(debounce, value);\n",
        ),
        ("lodash.js", "export function debounced() {}\nexport function throttle() {}\n"),
        ("broken.js", "export const value = ;\n"),
    ]);
    let check = packem(dir.path(), &["check", "main.js"]);
    let build = packem(dir.path(), &["build", "main.js", "--outdir=dist"]);
    for out in [&check, &build] {
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(out);
        // The missing export underlines the imported name and suggests the closest export.
        assert!(err.contains("No matching export in \"lodash.js\" for import \"debounce\" [MISSING_EXPORT]"), "{err}");
        assert!(err.contains("main.js:1:10:"), "{err}");
        assert!(err.contains("Did you mean `debounced`?"), "{err}");
        // The syntax error is reported once; importing from the broken module adds nothing.
        assert!(err.contains("broken.js:1:22:") && err.contains("[PARSE_ERROR]"), "{err}");
        assert!(!err.contains("for import \"value\""), "a follow-on error:\n{err}");
        assert_eq!(err.matches("[ERROR]").count(), 2, "{err}");
    }
    assert!(stderr(&check).contains("2 errors"), "{}", stderr(&check));
}

#[test]
fn a_duplicate_declaration_is_reported_at_the_second_with_a_note_at_the_first() {
    let dir = project(&[("main.js", "let count = 1;\nconsole.log(count);\nlet count = 2;\n")]);
    let out = packem(dir.path(), &["check", "main.js"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let at_second = err.find("main.js:3:5:").expect(&err);
    let at_first = err.find("main.js:1:5:").expect(&err);
    assert!(at_second < at_first, "the primary location comes first:\n{err}");
    assert!(err.contains("has already been declared"), "{err}");
}

#[test]
fn paths_in_messages_are_relative_to_the_working_directory() {
    let dir =
        project(&[("app/src/main.js", "import './missing.js';\nimport './logo.png';\n"), ("app/src/logo.png", "png")]);
    let out = packem(&dir.path().join("app"), &["check", "src/main.js"]);
    let err = stderr(&out);
    assert!(!err.contains(&dir.path().to_string_lossy().to_string()), "an absolute path:\n{err}");
    assert!(
        err.contains("src/main.js:1:8:") && err.contains("No loader is configured for \".png\" files: src/logo.png"),
        "{err}"
    );
}

#[test]
fn the_log_limit_caps_printed_messages() {
    let imports: String = (0..9).map(|i| format!("import './missing{i}.js';\n")).collect();
    let dir = project(&[("main.js", &imports)]);
    let out = packem(dir.path(), &["check", "main.js"]);
    let err = stderr(&out);
    assert_eq!(err.matches("[UNRESOLVED_IMPORT]").count(), 6, "{err}");
    assert!(err.contains("6 of 9 messages shown (disable the message limit with --log-limit=0)"), "{err}");
    let out = packem(dir.path(), &["check", "main.js", "--log-limit=0"]);
    assert_eq!(stderr(&out).matches("[UNRESOLVED_IMPORT]").count(), 9);
}

#[test]
fn an_asset_over_50_mb_is_an_error() {
    let dir = project(&[("main.js", "import video from './big.bin';\nconsole.log(video);\n")]);
    let file = std::fs::File::create(dir.path().join("big.bin")).unwrap();
    file.set_len((50 << 20) + 1).unwrap();
    let out = packem(dir.path(), &["build", "main.js", "--loader:.bin=file", "--outdir=dist"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("more than the 50 MB limit for assets"), "{}", stderr(&out));
    assert!(!dir.path().join("dist").exists());
}

#[test]
fn packem_json_compile_keys_apply_to_build_and_check() {
    let dir = project(&[
        (
            "packem.json",
            "{ \"entries\": [\"src/main.jsx\"], \"platform\": \"node\", \"jsx\": \"transform\", \"jsxFactory\": \"h\", \"define\": { \"GREETING\": \"\\\"hi\\\"\" }, \"loader\": { \".txt\": \"text\" } }\n",
        ),
        ("src/h.js", "export const h = (t, p, ...c) => `<${t}>${c.join('')}</${t}>`;\n"),
        ("src/note.txt", "from a text file"),
        (
            "src/main.jsx",
            "import { h } from './h.js';\nimport note from './note.txt';\nconsole.log(<b>{GREETING} {note}</b>);\n",
        ),
    ]);
    let out = packem(dir.path(), &["build", "--outfile=out.cjs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(node(&dir.path().join("out.cjs")), "<b>hi from a text file</b>\n");
    let bad = project(&[
        ("packem.json", "{ \"entries\": [\"a.js\"], \"loader\": { \".x\": \"nope\" } }\n"),
        ("a.js", "1;\n"),
    ]);
    let out = packem(bad.path(), &["check"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("loader \".x\": unknown loader \"nope\""), "{}", stderr(&out));
}

#[test]
fn esm_importers_of_commonjs_output_see_its_names_and_its_external_star_exports() {
    let dir = project(&[
        ("main.js", "export * from 'bar';\nexport const own = 1;\nexport default 'main';\n"),
        ("node_modules/bar/package.json", "{ \"name\": \"bar\", \"main\": \"index.js\" }\n"),
        ("node_modules/bar/index.js", "exports.bar = function bar() {};\n"),
        ("test.mjs", "import main, { own, bar } from './dist/main.cjs';\nconsole.log(own, typeof bar, typeof main);\n"),
    ]);
    let out = packem(
        dir.path(),
        &["build", "main.js", "--platform=node", "--format=cjs", "--external:bar", "--outfile=dist/main.cjs"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(node(&dir.path().join("test.mjs")), "1 function object\n");
}

#[test]
fn lowering_without_the_helper_package_is_one_error_naming_it() {
    let dir = project(&[("main.js", "async function f(x) { return { ...x }; }\nf({}).then(console.log);\n")]);
    let out = packem(dir.path(), &["build", "main.js", "--platform=node", "--target=es2016", "--outdir=dist"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.matches("[ERROR]").count(), 1, "{err}");
    assert!(err.contains("needs helpers from \"@oxc-project/runtime\", which is not installed"), "{err}");
    assert!(err.contains("asyncToGenerator") && err.contains("npm install --save-dev @oxc-project/runtime"), "{err}");
    assert!(!dir.path().join("dist").exists());
}

#[test]
fn the_metafile_lists_assets_and_import_attributes() {
    let dir = project(&[
        (
            "src/main.js",
            "import logo from './logo.png';\nimport data from './data.json' with { type: 'json' };\nconsole.log(logo, data);\n",
        ),
        ("src/logo.png", "png bytes"),
        ("src/data.json", "{ \"a\": 1 }\n"),
    ]);
    let out = packem(
        dir.path(),
        &["build", "src/main.js", "--platform=node", "--loader:.png=file", "--outdir=dist", "--metafile=meta.json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("meta.json")).unwrap()).unwrap();
    let outputs = meta["outputs"].as_object().unwrap();
    let asset = outputs.keys().find(|k| k.starts_with("dist/logo-") && k.ends_with(".png")).expect("the asset");
    assert_eq!(outputs[asset]["bytes"], 9);
    assert_eq!(outputs[asset]["inputs"]["src/logo.png"]["bytesInOutput"], 9);
    let imports = meta["inputs"]["src/main.js"]["imports"].as_array().unwrap();
    assert!(imports.iter().any(|i| i["path"] == "src/data.json" && i["with"]["type"] == "json"), "{imports:?}");
}

#[test]
fn the_metafile_sizes_a_binary_input_by_its_bytes() {
    let dir = project(&[("main.js", "import bytes from './blob.bin';\nconsole.log(bytes.length);\n")]);
    std::fs::write(dir.path().join("blob.bin"), [0x89, b'P', 0xff, 0xfe, 0x00, 0x01]).unwrap();
    let out = packem(
        dir.path(),
        &["build", "main.js", "--platform=node", "--loader:.bin=binary", "--outfile=out.js", "--metafile=meta.json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["inputs"]["blob.bin"]["bytes"], 6, "{meta}");
}

#[test]
fn the_metafile_reports_minified_outputs_as_written_with_their_companions() {
    let source = "export function greet(name) {\n  const greeting = 'Hello, ' + name;\n  return greeting;\n}\n/*! legal */\nconsole.log(greet('you'));\n";
    let dir = project(&[("main.js", source)]);
    let out = packem(
        dir.path(),
        &[
            "build",
            "main.js",
            "--minify",
            "--sourcemap",
            "--legal-comments=linked",
            "--format=esm",
            "--outdir=dist",
            "--metafile=meta.json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("meta.json")).unwrap()).unwrap();
    let outputs = meta["outputs"].as_object().unwrap();
    for name in ["dist/main.js", "dist/main.js.map", "dist/main.js.LEGAL.txt"] {
        let written = std::fs::metadata(dir.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}")).len();
        assert_eq!(outputs[name]["bytes"], written, "{name}: {meta}");
    }
    // Minified: the input's share of the output is smaller than the input.
    let code = std::fs::read_to_string(dir.path().join("dist/main.js")).unwrap();
    assert!(code.starts_with("function e(t){return"), "{code}");
    let share = outputs["dist/main.js"]["inputs"]["main.js"]["bytesInOutput"].as_u64().unwrap();
    assert!(share > 0 && share < source.len() as u64 - 40, "{share} {meta}");
    assert!(outputs["dist/main.js.map"]["inputs"].as_object().unwrap().is_empty(), "{meta}");
}

#[test]
fn two_assets_with_one_name_are_an_error() {
    let dir = project(&[
        ("main.js", "import a from './a/logo.png';\nimport b from './b/logo.png';\nconsole.log(a, b);\n"),
        ("a/logo.png", "first"),
        ("b/logo.png", "second"),
    ]);
    let out = packem(dir.path(), &["build", "main.js", "--loader:.png=file", "--asset-names=[name]", "--outdir=dist"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Two assets would be written to \"logo.png\": a/logo.png and b/logo.png"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("dist").exists());
    // With the default names (a content hash) both are written.
    let out = packem(dir.path(), &["build", "main.js", "--loader:.png=file", "--outdir=dist"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(files(&dir.path().join("dist")).len(), 3);
}

#[test]
fn syntax_the_target_cannot_run_is_reported_once_at_the_syntax() {
    let dir = project(&[(
        "main.mjs",
        "const big = 10n;\nawait Promise.resolve(1);\nfor await (const x of [1]) console.log(x, big);\n",
    )]);
    let out = packem(dir.path(), &["check", "main.mjs", "--target=es2017"]);
    let err = stderr(&out);
    assert_eq!(err.matches("[UNSUPPORTED_SYNTAX]").count(), 3, "{err}");
    assert!(err.contains("main.mjs:1:13:") && err.contains("main.mjs:2:1:") && err.contains("main.mjs:3:1:"), "{err}");
    assert!(!err.contains("main.mjs:1:1:"), "{err}");
}

#[test]
fn a_tsconfig_target_that_cannot_be_lowered_to_is_one_warning() {
    let dir = project(&[
        ("tsconfig.json", "{ \"compilerOptions\": { \"target\": \"ES3\" } }\n"),
        ("main.ts", "import { a } from './a';\nimport { b } from './b';\nconsole.log(a ?? b);\n"),
        ("a.ts", "export const a: number | null = null;\n"),
        ("b.ts", "export const b = 2;\n"),
    ]);
    let out = packem(dir.path(), &["build", "main.ts", "--platform=node", "--outfile=out.cjs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.matches("[WARNING]").count(), 1, "{err}");
    assert!(err.contains("\"target\" \"es3\" cannot be lowered to, so it is ignored"), "{err}");
    assert_eq!(node(&dir.path().join("out.cjs")), "2\n");
}

#[test]
fn the_entry_hashbang_stays_the_first_line_before_the_banner() {
    let dir = project(&[
        ("cli.js", "#!/usr/bin/env node\nimport { run } from './lib.js';\nrun();\n"),
        ("lib.js", "#!/usr/bin/env node\nexport const run = () => console.log('ran');\n"),
    ]);
    let out = packem(dir.path(), &["build", "cli.js", "--platform=node", "--banner:js=// banner", "--outfile=out.cjs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let code = std::fs::read_to_string(dir.path().join("out.cjs")).unwrap();
    assert!(code.starts_with("#!/usr/bin/env node\n// banner\n"), "{code}");
    assert_eq!(code.matches("#!").count(), 1, "{code}");
    assert_eq!(node(&dir.path().join("out.cjs")), "ran\n");
}

#[test]
fn mangle_props_reserves_and_rejects_bad_patterns() {
    let dir = project(&[("main.js", "const o = { keep_: 1, drop_: 2 };\nconsole.log(o.keep_ + o.drop_);\n")]);
    let out = packem(
        dir.path(),
        &["build", "main.js", "--mangle-props=_$", "--reserve-props=^keep", "--outfile=out.js", "--format=esm"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let code = std::fs::read_to_string(dir.path().join("out.js")).unwrap();
    assert!(code.contains("keep_") && !code.contains("drop_"), "{code}");
    assert_eq!(node(&dir.path().join("out.js")).trim(), "3");
    let out = packem(dir.path(), &["build", "main.js", "--mangle-props=(", "--outfile=out.js"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("invalid --mangle-props=("), "{}", stderr(&out));
    let out = packem(dir.path(), &["build", "main.js", "--reserve-props=x", "--outfile=out.js"]);
    assert!(stderr(&out).contains("need --mangle-props"), "{}", stderr(&out));
}
