//! Several targets in one database: which queries re-run for each target after an edit, and
//! outputs equal to cold builds. A worker target is embedded by two host targets through
//! `packem:target/worker` (the CLI's `Builder` orchestrates the same steps: build the embedded
//! target, hand its output to the workspace, build the targets that embed it).

use std::sync::Arc;

use packem_db::{LinkOptions, Platform, ProjectOptions};
use packem_host::{EmitOptions, Format, Target, Workspace};
use packem_tests::TestProject;

const FILES: &[(&str, &str)] = &[
    (
        "src/main.js",
        "import worker from 'packem:target/worker' with { type: 'text' };\n\
         import { shout } from './shared.js';\n\
         import { pad } from './other.js';\n\
         export const source = worker;\n\
         export const run = (s) => pad(shout(s));\n",
    ),
    ("src/worker.js", "import { shout } from './shared.js';\nconsole.log(shout('worker'));\n"),
    ("src/shared.js", "export function shout(s) {\n  return s.toUpperCase();\n}\n"),
    ("src/other.js", "export function pad(s) {\n  return ` ${s} `;\n}\n"),
];

/// The worker (primary project), then the host as ESM and as CommonJS.
struct Targets {
    worker: Target,
    esm: Target,
    cjs: Target,
}

fn options(root: &camino::Utf8Path) -> ProjectOptions {
    ProjectOptions {
        cwd: root.to_owned(),
        platform: Platform::Node,
        targets: vec!["worker".into()],
        ..ProjectOptions::default()
    }
}

/// The worker as the primary project's CommonJS target, and the host as ESM and CommonJS
/// (projects of their own, with the same options).
fn targets(ws: &mut Workspace, root: &camino::Utf8Path) -> Targets {
    let worker = ws.target(Format::Cjs, None);
    let mut host = |format| {
        let entries = vec![root.join("src/main.js")];
        let project = ws.add_project(entries, options(root), Default::default(), LinkOptions::default());
        ws.target_of(project, format, None, EmitOptions::default())
    };
    let esm = host(Format::Esm);
    let cjs = host(Format::Cjs);
    Targets { worker, esm, cjs }
}

fn open(p: &mut TestProject) -> Targets {
    let root = p.root().to_owned();
    p.ws.set_options(options(&root));
    targets(&mut p.ws, &root)
}

/// The worker, its output handed to the workspace, then both hosts side by side.
fn build(ws: &mut Workspace, t: &Targets) -> Vec<String> {
    let worker = ws.build_all(&[t.worker]).pop().unwrap();
    let text = worker.chunks[0].code.to_string();
    ws.set_artifact("worker", Arc::from(text.as_str()));
    let hosts = ws.build_all(&[t.esm, t.cjs]);
    for target in [t.worker, t.esm, t.cjs] {
        assert!(ws.build_diagnostics(target).is_empty(), "{:?}", ws.build_diagnostics(target));
    }
    std::iter::once(text).chain(hosts.iter().map(|b| b.chunks[0].code.to_string())).collect()
}

fn cold(p: &TestProject) -> Vec<String> {
    let mut ws = Workspace::new(vec![p.path("src/worker.js")], options(p.root()));
    let t = targets(&mut ws, p.root());
    build(&mut ws, &t)
}

fn count(executed: &[String], query: &str) -> usize {
    executed.iter().filter(|q| q.as_str() == query).count()
}

#[test]
fn a_body_edit_of_a_shared_module_parses_it_once_and_renders_it_once_per_target() {
    let mut p = TestProject::new(FILES, &["src/worker.js"]);
    let t = open(&mut p);
    let out = build(&mut p.ws, &t);
    assert!(out[1].contains("WORKER") || out[1].contains("toUpperCase"), "{}", out[1]);
    let executed = p.executed();
    // Cold: each file is parsed once for all three targets (same settings), and rendered once
    // per target.
    assert_eq!(count(&executed, "parsed_module(src/shared.js)"), 1, "{executed:?}");
    assert_eq!(count(&executed, "parsed_module(src/main.js)"), 1, "{executed:?}");

    p.write("src/shared.js", "export function shout(s) {\n  return s.toUpperCase() + '!';\n}\n");
    let out = build(&mut p.ws, &t);
    assert_eq!(out, cold(&p));
    let executed = p.executed();
    assert_eq!(count(&executed, "parsed_module(src/shared.js)"), 1, "{executed:?}");
    assert_eq!(count(&executed, "parsed_module(src/main.js)"), 0, "{executed:?}");
    // The shared module in each of the three targets, and the worker's output embedded by each
    // host (its bytes changed): five renders, three chunks.
    assert_eq!(count(&executed, "rendered_module"), 5, "{executed:?}");
    assert_eq!(count(&executed, "rendered_chunk"), 3, "{executed:?}");
    // Nothing relinks: the edit keeps every module's facts.
    assert_eq!(count(&executed, "link"), 0, "{executed:?}");
}

#[test]
fn a_worker_edit_rerenders_the_worker_and_the_modules_that_embed_it() {
    let mut p = TestProject::new(FILES, &["src/worker.js"]);
    let t = open(&mut p);
    build(&mut p.ws, &t);
    p.executed();

    p.write("src/worker.js", "import { shout } from './shared.js';\nconsole.log(shout('worker 2'));\n");
    let out = build(&mut p.ws, &t);
    assert!(out[1].contains("worker 2"), "the hosts embed the new worker: {}", out[1]);
    assert_eq!(out, cold(&p));
    let executed = p.executed();
    assert_eq!(count(&executed, "parsed_module(src/worker.js)"), 1, "{executed:?}");
    assert_eq!(count(&executed, "source_text(packem:target/worker)"), 1, "{executed:?}");
    // The worker's module, then the embedded text in each host; main.js, shared.js and other.js
    // are not rendered again in any target.
    assert_eq!(count(&executed, "rendered_module"), 3, "{executed:?}");
    assert_eq!(count(&executed, "rendered_chunk"), 3, "{executed:?}");
    assert_eq!(count(&executed, "link"), 0, "{executed:?}");

    // An edit only the hosts see: the worker's bundle backdates, so its output is not handed
    // over again and the embedded module is not rendered again.
    p.write("src/other.js", "export function pad(s) {\n  return `[${s}]`;\n}\n");
    let out = build(&mut p.ws, &t);
    assert_eq!(out, cold(&p));
    let executed = p.executed();
    assert_eq!(count(&executed, "source_text(packem:target/worker)"), 0, "{executed:?}");
    assert_eq!(count(&executed, "rendered_module"), 2, "other.js in each host: {executed:?}");
    // The embedded text is a MEDIUM input: the hosts' project-wide queries stay verified in O(1).
    assert_eq!(count(&executed, "graph_diagnostics"), 0, "{executed:?}");
}

#[test]
fn targets_with_the_same_options_share_resolutions() {
    let mut p = TestProject::new(FILES, &["src/worker.js"]);
    let t = open(&mut p);
    build(&mut p.ws, &t);
    let executed = p.executed();
    // main.js's three imports are resolved once though two projects (the hosts) read them, and
    // worker.js's `./shared.js` is the very request main.js makes: one resolution per request
    // and scope, not per target.
    assert_eq!(count(&executed, "resolve"), 3, "{executed:?}");
    assert!(!executed.iter().any(|q| q.contains("packem:target/package.json")), "{executed:?}");
}
