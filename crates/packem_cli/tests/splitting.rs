//! Code splitting end to end: several entries built with `--splitting`, loaded in one Node
//! process, must print what the unbundled sources print (shared code evaluated once, in Node's
//! order, live bindings across chunks, cycles, top-level await), and chunk names must move only
//! when their bytes or the chunks they load change.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{packem, project, stderr};

/// A project whose `run.mjs` imports each entry in turn from the directory and extension it
/// is given (the sources, or the split build).
fn split_project(files: &[(&str, &str)], entries: &[&str]) -> tempfile::TempDir {
    let imports: String = entries
        .iter()
        .map(|e| {
            let stem = e.trim_end_matches(".js").trim_end_matches(".mjs");
            format!("await import(process.argv[2] + \"/{stem}\" + process.argv[3]);\n")
        })
        .collect();
    let mut all: Vec<(&str, &str)> = files.to_vec();
    all.push(("run.mjs", &imports));
    all.push(("package.json", "{\"type\": \"module\"}"));
    project(&all)
}

fn run(dir: &Path, base: &str, ext: &str) -> String {
    let out = Command::new("node").arg("run.mjs").arg(base).arg(ext).current_dir(dir).output().unwrap();
    assert!(
        out.status.success(),
        "node run.mjs {base} {ext} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds `entries` with `--splitting` (plus `extra` flags) into `out/` and checks that loading
/// them prints what the sources print. Returns the output files and their contents.
fn check(files: &[(&str, &str)], entries: &[&str], extra: &[&str]) -> BTreeMap<String, String> {
    let dir = split_project(files, entries);
    let expected = run(dir.path(), ".", ".js");
    let mut args = vec!["build"];
    args.extend(entries);
    args.extend(["--splitting", "--outdir=out", "--out-extension:.js=.mjs", "--log-level=warning"]);
    args.extend(extra);
    let built = packem(dir.path(), &args);
    assert!(built.status.success(), "build failed:\n{}", stderr(&built));
    let outputs = read_dir(&dir.path().join("out"));
    let actual = run(dir.path(), "./out", ".mjs");
    assert_eq!(actual, expected, "outputs:\n{outputs:#?}");
    outputs
}

fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    out
}

const LOG: &str = "console.log('log evaluated');\nexport function log(...a) { console.log(...a); }\n";

#[test]
fn shared_module_runs_once_across_two_entries() {
    let outputs = check(
        &[
            ("a.js", "import { log } from './log.js';\nimport { shared } from './shared.js';\nlog('a', shared);\n"),
            ("b.js", "import { log } from './log.js';\nimport { shared } from './shared.js';\nlog('b', shared);\n"),
            ("log.js", LOG),
            ("shared.js", "console.log('shared evaluated');\nexport const shared = 'S';\n"),
        ],
        &["a.js", "b.js"],
        &[],
    );
    // One shared chunk holds both common modules; each entry's chunk has only its own code.
    let shared: Vec<&String> = outputs.keys().filter(|k| k.starts_with("chunk-")).collect();
    assert_eq!(shared.len(), 1, "{outputs:#?}");
    assert_eq!(outputs[shared[0]].matches("shared evaluated").count(), 1);
    assert!(!outputs["a.mjs"].contains("shared evaluated"), "{}", outputs["a.mjs"]);
    assert!(!outputs["b.mjs"].contains("shared evaluated"), "{}", outputs["b.mjs"]);
}

#[test]
fn evaluation_order_is_nodes_across_chunks() {
    // `a` imports its own module before the shared one: Node runs `own` first, although the
    // shared chunk is imported (and so loaded) before `a`'s code.
    check(
        &[
            ("a.js", "import './own.js';\nimport './shared.js';\nimport './own2.js';\nconsole.log('a');\n"),
            ("b.js", "import './shared.js';\nconsole.log('b');\n"),
            ("own.js", "console.log('own');\nglobalThis.order = (globalThis.order || '') + 'own,';\n"),
            ("own2.js", "console.log('own2', globalThis.order);\n"),
            ("shared.js", "globalThis.order = (globalThis.order || '') + 'shared,';\nconsole.log('shared');\n"),
        ],
        &["a.js", "b.js"],
        &[],
    );
}

#[test]
fn live_bindings_across_chunks() {
    check(
        &[
            ("a.js", "import { count, inc } from './counter.js';\ninc(); inc();\nconsole.log('a', count);\n"),
            (
                "b.js",
                "import { count, inc } from './counter.js';\nconsole.log('b before', count);\ninc();\nconsole.log('b after', count);\n",
            ),
            ("counter.js", "export let count = 0;\nexport function inc() { count++; }\n"),
        ],
        &["a.js", "b.js"],
        &[],
    );
}

#[test]
fn cycles_across_chunks() {
    check(
        &[
            ("a.js", "import { b } from './b.js';\nexport const a = 'a';\nconsole.log('a sees', b());\n"),
            ("b.js", "import { a } from './a.js';\nexport function b() { return 'b+' + a; }\nconsole.log('b runs');\n"),
            (
                "c.js",
                "import { b } from './b.js';\nconsole.log('c sees', b());\nconst m = await import('./a.js');\nconsole.log('c dyn', m.a);\n",
            ),
        ],
        &["a.js", "c.js"],
        &[],
    );
}

#[test]
fn dynamic_import_of_a_module_also_imported_statically() {
    let outputs = check(
        &[
            (
                "main.js",
                "import { value, log } from './lib.js';\nlog('static', value);\nconst m = await import('./lib.js');\nlog('dynamic', m.value, Object.keys(m));\nconst lazy = await import('./lazy.js');\nlog(lazy.default);\n",
            ),
            (
                "lib.js",
                "console.log('lib evaluated');\nexport const value = 1;\nexport function log(...a) { console.log(...a); }\n",
            ),
            (
                "lazy.js",
                "import { value } from './lib.js';\nconsole.log('lazy evaluated');\nexport default 'lazy ' + value;\n",
            ),
        ],
        &["main.js"],
        &[],
    );
    // `lazy.js` is only reached through `import()`: a chunk of its own that main does not load up front.
    let lazy = outputs.keys().find(|k| k.starts_with("lazy-")).expect("a chunk for lazy.js");
    assert!(outputs[lazy].contains("lazy evaluated"));
    assert!(!outputs["main.mjs"].contains("lazy evaluated"));
    assert!(outputs["main.mjs"].contains(&format!("import(\"./{lazy}\")")), "{}", outputs["main.mjs"]);
}

#[test]
fn top_level_await_across_chunks() {
    check(
        &[
            ("a.js", "import { ready } from './slow.js';\nconsole.log('a', ready);\n"),
            (
                "b.js",
                "import { ready } from './slow.js';\nconsole.log('b', ready);\nconst m = await import('./later.js');\nconsole.log(m.x);\n",
            ),
            (
                "slow.js",
                "await new Promise((r) => setTimeout(r, 5));\nconsole.log('slow done');\nexport const ready = true;\n",
            ),
            ("later.js", "import { ready } from './slow.js';\nawait null;\nexport const x = 'later ' + ready;\n"),
        ],
        &["a.js", "b.js"],
        &[],
    );
}

#[test]
fn commonjs_shared_between_entries_runs_once() {
    check(
        &[
            ("a.js", "import lib from './lib.cjs';\nconsole.log('a', lib.n);\n"),
            (
                "b.js",
                "import { n } from './lib.cjs';\nconsole.log('b', n);\nconst d = await import('./dyn.cjs');\nconsole.log('b dyn', d.default.x);\n",
            ),
            ("lib.cjs", "console.log('lib.cjs evaluated');\nexports.n = 42;\n"),
            ("dyn.cjs", "module.exports = { x: require('./lib.cjs').n + 1 };\n"),
        ],
        &["a.js", "b.js"],
        &[],
    );
}

#[test]
fn entries_in_directories_load_chunks_by_relative_paths() {
    let outputs = check(
        &[
            (
                "pages/a.js",
                "import { log } from '../lib/log.js';\nlog('a');\nconst m = await import('../lib/extra.js');\nm.run();\n",
            ),
            ("pages/b.js", "import { log } from '../lib/log.js';\nlog('b');\n"),
            ("lib/log.js", LOG),
            ("lib/extra.js", "import { log } from './log.js';\nexport function run() { log('extra'); }\n"),
        ],
        &["pages/a.js", "pages/b.js"],
        &["--outbase=.", "--chunk-names=chunks/[dir]/[name]-[hash]"],
    );
    assert!(outputs.contains_key("pages/a.mjs"), "{outputs:#?}");
    let extra = outputs.keys().find(|k| k.starts_with("chunks/lib/extra-")).expect("[dir] of the chunk");
    assert!(outputs["pages/a.mjs"].contains(&format!("\"../{extra}\"")), "{}", outputs["pages/a.mjs"]);
}

#[test]
fn hashes_move_only_with_the_bytes_they_cover() {
    let files = [
        ("a.js", "import { shared } from './shared.js';\nconsole.log('a', shared);\nawait import('./dyn.js');\n"),
        ("b.js", "import { shared } from './shared.js';\nconsole.log('b', shared);\n"),
        ("shared.js", "export const shared = 1;\n"),
        ("dyn.js", "console.log('dyn');\n"),
    ];
    let dir = split_project(&files, &["a.js", "b.js"]);
    let build = |dir: &Path| {
        // A new process does not know the previous build's files: start from an empty directory.
        let _ = std::fs::remove_dir_all(dir.join("out"));
        let built = packem(
            dir,
            &[
                "build",
                "a.js",
                "b.js",
                "--splitting",
                "--outdir=out",
                "--entry-names=[name]-[hash]",
                "--log-level=warning",
            ],
        );
        assert!(built.status.success(), "{}", stderr(&built));
        read_dir(&dir.join("out"))
    };
    let names = |outputs: &BTreeMap<String, String>, prefix: &str| -> String {
        outputs.keys().find(|k| k.starts_with(prefix)).cloned().unwrap_or_else(|| panic!("{prefix}: {outputs:#?}"))
    };
    let first = build(dir.path());
    // An edit of `b.js` alone moves only b's name.
    std::fs::write(dir.path().join("b.js"), "import { shared } from './shared.js';\nconsole.log('b!', shared);\n")
        .unwrap();
    let second = build(dir.path());
    assert_ne!(names(&first, "b-"), names(&second, "b-"));
    for prefix in ["a-", "chunk-", "dyn-"] {
        assert_eq!(names(&first, prefix), names(&second, prefix), "{prefix}");
    }
    // An edit of `dyn.js` moves its name and that of `a`, which imports it, and nothing else.
    std::fs::write(dir.path().join("dyn.js"), "console.log('dyn!');\n").unwrap();
    let third = build(dir.path());
    assert_ne!(names(&second, "dyn-"), names(&third, "dyn-"));
    assert_ne!(names(&second, "a-"), names(&third, "a-"));
    assert_eq!(names(&second, "b-"), names(&third, "b-"));
    assert_eq!(names(&second, "chunk-"), names(&third, "chunk-"));
    assert_eq!(third.len(), 4, "{third:#?}");
}

#[test]
fn splitting_needs_esm_and_an_output_directory() {
    let dir = project(&[("a.js", "console.log(1);\n")]);
    let cjs = packem(dir.path(), &["build", "a.js", "--splitting", "--outdir=out", "--format=cjs"]);
    assert!(!cjs.status.success());
    assert!(stderr(&cjs).contains("--splitting currently only works with --format=esm"), "{}", stderr(&cjs));
    let outfile = packem(dir.path(), &["build", "a.js", "--splitting", "--outfile=out.js"]);
    assert!(!outfile.status.success());
    assert!(stderr(&outfile).contains("--splitting needs an output directory"), "{}", stderr(&outfile));
}

#[test]
fn parts_keep_nodes_order_and_an_edit_changes_one_part() {
    // Ten modules of ~100 bytes each, cut into parts of at most 300 bytes.
    let mut files: Vec<(String, String)> = (0..10)
        .map(|i| {
            let next = if i < 9 { format!("import {{ v{} }} from './m{}.js';\n", i + 1, i + 1) } else { String::new() };
            let uses = if i < 9 { format!(" + v{}", i + 1) } else { String::new() };
            (
                format!("m{i}.js"),
                format!("{next}console.log('m{i} runs');\nexport const v{i} = {i}{uses};\nexport function f{i}() {{ return 'f{i}'; }}\n"),
            )
        })
        .collect();
    files.push((
        "main.js".into(),
        "import { v0, f0 } from './m0.js';\nimport { f9 } from './m9.js';\nconsole.log('main', v0, f0(), f9());\nconst m = await import('./late.js');\nconsole.log(m.late);\n".into(),
    ));
    files.push(("late.js".into(), "import { f5 } from './m5.js';\nexport const late = 'late ' + f5();\n".into()));
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let first = check(&borrowed, &["main.js"], &["--max-chunk-size=300"]);
    let parts: Vec<&String> = first.keys().filter(|k| k.contains("-part-")).collect();
    assert!(parts.len() >= 2, "{first:#?}");
    // Edit m3: one file's bytes change, and no name.
    let dir = split_project(&borrowed, &["main.js"]);
    let build = |dir: &Path| {
        let built = packem(
            dir,
            &["build", "main.js", "--splitting", "--outdir=out", "--max-chunk-size=300", "--log-level=warning"],
        );
        assert!(built.status.success(), "{}", stderr(&built));
        read_dir(&dir.join("out"))
    };
    let before = build(dir.path());
    std::fs::write(
        dir.path().join("m3.js"),
        "import { v4 } from './m4.js';\nconsole.log('m3 runs!');\nexport const v3 = 3 + v4;\nexport function f3() { return 'f3'; }\n",
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(dir.path().join("out"));
    let after = build(dir.path());
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
    let changed: Vec<&String> = before.keys().filter(|k| before[*k] != after[*k]).collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(after[changed[0]].contains("m3 runs!"));
}
