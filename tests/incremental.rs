//! Query-event tests: after an edit, exactly these queries re-ran.
//!
//! These are how we know the incremental design works; timings alone would not show it.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

use packem_host::EdgeTarget;
use packem_tests::TestProject;

fn app() -> TestProject {
    let mut p = TestProject::new(
        &[
            ("src/main.js", "import { a } from './a.js';\nimport { b } from './b.js';\nconsole.log(a, b);\n"),
            ("src/a.js", "import { leaf } from './leaf.js';\nexport const a = leaf + 1;\n"),
            ("src/b.js", "export const b = 2;\n"),
            ("src/leaf.js", "export function helper() { return 'body'; }\nexport const leaf = 40;\n"),
        ],
        &["src/main.js"],
    );
    let graph = p.ws.module_graph();
    assert_eq!(graph.modules.len(), 4);
    assert!(p.ws.diagnostics().is_empty());
    // What the language server does after a diagnostics run: copy each module's facts into the
    // host's fact cells (see `packem_parse`), which the graph, its diagnostics and the link read.
    p.ws.refresh_fact_cells();
    p.executed(); // drop the cold build's events
    p
}

#[test]
fn body_edit_of_a_leaf_reruns_only_its_parse_and_scan() {
    let mut p = app();
    p.start_editing("src/leaf.js");
    // The edit moves the span of the `leaf` export below it: the spanned scan changes, the
    // span-free summary compares equal and cuts the change off.
    p.write("src/leaf.js", "export function helper() { return 'an edited body'; }\nexport const leaf = 40;\n");
    let _ = p.ws.module_graph();
    let _ = p.ws.diagnostics();
    // The host re-derives the file's facts (`parsed_*`), finds them equal to its fact cells and
    // sets nothing: the accessors the graph reads (`module_summary`, `file_diagnostics`) and
    // everything project-wide are verified without re-running.
    assert_eq!(
        p.executed(),
        [
            "derived_source",
            "module_scan(src/leaf.js)",
            "parsed_diagnostics(src/leaf.js)",
            "parsed_module(src/leaf.js)",
            "parsed_summary(src/leaf.js)",
            "parsed_symbols(src/leaf.js)",
            "source_text(src/leaf.js)",
        ],
        "resolution, the graph and the diagnostics must only be validated"
    );
}

#[test]
fn body_edit_below_every_import_and_export_stops_at_the_scan() {
    let mut p = app();
    p.start_editing("src/b.js");
    p.write("src/b.js", "export const b = 2;\nconsole.log('a statement added below');\n");
    let _ = p.ws.module_graph();
    let _ = p.ws.diagnostics();
    assert_eq!(
        p.executed(),
        [
            "derived_source",
            "module_scan(src/b.js)",
            "parsed_diagnostics(src/b.js)",
            "parsed_module(src/b.js)",
            "parsed_symbols(src/b.js)",
            "source_text(src/b.js)",
        ],
    );
}

#[test]
fn touching_a_file_without_changing_it_stops_at_source_text() {
    let mut p = app();
    p.start_editing("src/leaf.js");
    let text = std::fs::read_to_string(p.path("src/leaf.js")).unwrap();
    p.write("src/leaf.js", &text);
    let _ = p.ws.diagnostics();
    assert_eq!(p.executed(), ["source_text(src/leaf.js)"]);
}

#[test]
fn first_change_of_a_file_reruns_only_its_own_queries() {
    let mut p = app();
    // Unedited files are MEDIUM durability, so salsa verifies their memos without walking them;
    // the first change makes the file LOW, and a value whose durability drops is not backdated:
    // its own queries re-run in full. Nothing project-wide reads them (the graph reads the fact
    // cells, which the host leaves alone), so the graph and the diagnostics do not re-run.
    let text = std::fs::read_to_string(p.path("src/leaf.js")).unwrap();
    p.write("src/leaf.js", &text);
    let _ = p.ws.module_graph();
    let _ = p.ws.diagnostics();
    assert_eq!(
        p.executed(),
        [
            "derived_source",
            "module_scan(src/leaf.js)",
            "parsed_diagnostics(src/leaf.js)",
            "parsed_module(src/leaf.js)",
            "parsed_summary(src/leaf.js)",
            "parsed_symbols(src/leaf.js)",
            "source_text(src/leaf.js)",
        ]
    );
    // Another file's first change costs the same; the first file's next change does not.
    p.write("src/leaf.js", &text);
    let _ = p.ws.diagnostics();
    assert_eq!(p.executed(), ["source_text(src/leaf.js)"]);
}

#[test]
fn adding_an_import_reruns_that_modules_resolution_and_the_graph_only() {
    let mut p = app();
    // './leaf' (not './leaf.js', which a.js already resolves from the same directory) is a new
    // resolve request; an identical request would be shared and not run again.
    p.write("src/b.js", "import { leaf } from './leaf';\nexport const b = leaf;\n");
    let graph = p.ws.module_graph();
    let _ = p.ws.diagnostics();
    let executed = p.executed();
    assert_eq!(
        executed,
        [
            "derived_source",
            "graph_diagnostics",
            // b's records alone are resolved again (one execution: each module has its own).
            "module_edges",
            "module_graph",
            "module_scan(src/b.js)",
            "module_summary(src/b.js)",
            "parsed_diagnostics(src/b.js)",
            "parsed_module(src/b.js)",
            "parsed_summary(src/b.js)",
            "parsed_symbols(src/b.js)",
            "resolve",
            "source_text(src/b.js)",
        ],
        "only b's new import is resolved; no other module is parsed again"
    );
    let b = graph.find(&p.path("src/b.js")).unwrap();
    let leaf = graph.find(&p.path("src/leaf.js")).unwrap();
    assert_eq!(graph.module(b).edges[0].target, EdgeTarget::Module(leaf));
}

#[test]
fn creating_a_missing_file_resolves_the_import() {
    let mut p = app();
    p.write("src/b.js", "import { c } from './c.js';\nexport const b = c;\n");
    let diagnostics = p.ws.diagnostics();
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].message, "Could not resolve \"./c.js\"");
    assert_eq!(diagnostics[0].range, Some((18, 26)));
    p.executed();

    p.write("src/c.js", "export const c = 3;\n");
    let graph = p.ws.module_graph();
    assert!(p.ws.diagnostics().is_empty());
    let b = graph.find(&p.path("src/b.js")).unwrap();
    let c = graph.find(&p.path("src/c.js")).expect("c.js joined the graph");
    assert_eq!(graph.module(b).edges[0].target, EdgeTarget::Module(c));
    let executed = p.executed();
    assert!(executed.contains(&"resolve".to_string()), "{executed:?}");
    assert!(!executed.iter().any(|q| q.contains("(src/a.js)") || q.contains("(src/leaf.js)")), "{executed:?}");
}

#[test]
fn deleting_a_file_produces_the_diagnostic() {
    let mut p = app();
    p.remove("src/leaf.js");
    let graph = p.ws.module_graph();
    let diagnostics = p.ws.diagnostics();
    assert_eq!(graph.modules.len(), 3);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0].message, "Could not resolve \"./leaf.js\"");
    assert_eq!(diagnostics[0].file.as_deref(), Some(p.path("src/a.js").as_path()));
    let executed = p.executed();
    assert!(executed.contains(&"resolve".to_string()), "{executed:?}");
    assert!(!executed.iter().any(|q| q.contains("(src/b.js)") || q.contains("(src/main.js)")), "{executed:?}");

    // Restoring it fixes the build again.
    p.write("src/leaf.js", "export const leaf = 1;\n");
    assert!(p.ws.diagnostics().is_empty());
    assert_eq!(p.ws.module_graph().modules.len(), 4);
}

#[test]
fn renaming_a_file_moves_the_edge_or_breaks_it() {
    let mut p = app();
    p.rename("src/leaf.js", "src/renamed.js");
    assert_eq!(p.ws.diagnostics().len(), 1);
    p.rename("src/renamed.js", "src/leaf.js");
    assert!(p.ws.diagnostics().is_empty());
    assert_eq!(p.ws.module_graph().modules.len(), 4);
}

#[test]
fn editing_package_exports_changes_resolution() {
    let mut p = TestProject::new(
        &[
            ("main.js", "import { v } from 'pkg';\nconsole.log(v);\n"),
            ("node_modules/pkg/package.json", r#"{ "name": "pkg", "exports": { ".": "./one.js" } }"#),
            ("node_modules/pkg/one.js", "export const v = 1;\n"),
            ("node_modules/pkg/two.js", "export const v = 2;\n"),
        ],
        &["main.js"],
    );
    let graph = p.ws.module_graph();
    assert_eq!(graph.modules[1].path, p.path("node_modules/pkg/one.js"));
    p.executed();

    p.write("node_modules/pkg/package.json", r#"{ "name": "pkg", "exports": { ".": "./two.js" } }"#);
    let graph = p.ws.module_graph();
    assert_eq!(graph.modules[1].path, p.path("node_modules/pkg/two.js"));
    let executed = p.executed();
    assert!(
        executed.contains(&"resolve".to_string()) && executed.contains(&"module_graph".to_string()),
        "{executed:?}"
    );
    assert!(!executed.contains(&"parsed_module(main.js)".to_string()), "{executed:?}");
}

#[test]
fn an_editor_overlay_overrides_the_disk() {
    let mut p = app();
    let leaf = p.path("src/leaf.js");
    p.ws.set_overlay(&leaf, Some("import './gone.js';\nexport const leaf = 1;\n".into()));
    let diagnostics = p.ws.diagnostics();
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].message, "Could not resolve \"./gone.js\"");
    p.ws.set_overlay(&leaf, None);
    assert!(p.ws.diagnostics().is_empty());
}

#[test]
fn incremental_graph_equals_a_cold_graph_after_edits() {
    let mut p = app();
    p.write("src/b.js", "import { leaf } from './leaf.js';\nimport './c.js';\nexport const b = leaf;\n");
    p.write("src/c.js", "import './a.js';\nexport default 1;\n");
    p.remove("src/a.js");
    p.write("src/a.js", "export const a = 5;\n");
    let incremental = p.ws.module_graph();
    let cold = packem_host::Workspace::new(
        p.ws.project().entries(p.ws.db()).clone(),
        p.ws.project().options(p.ws.db()).clone(),
    );
    let cold_graph = cold.module_graph();
    let paths = |g: &packem_host::ModuleGraph| {
        g.modules
            .iter()
            .map(|m| {
                (
                    m.path.clone(),
                    m.edges
                        .iter()
                        .map(|e| {
                            (
                                e.specifier.clone(),
                                match &e.target {
                                    EdgeTarget::Module(id) => Some(g.module(*id).path.clone()),
                                    _ => None,
                                },
                            )
                        })
                        .collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(paths(&incremental), paths(&cold_graph));
    assert_eq!(p.ws.diagnostics().len(), cold.diagnostics().len());
}

#[test]
fn a_file_that_is_not_utf8_keeps_its_bytes() {
    let p = TestProject::new(&[("main.js", "import './data.bin';\n")], &["main.js"]);
    let bytes = [0x89u8, b'P', b'N', b'G', 0xff, 0xfe, 0, 1];
    std::fs::write(p.path("data.bin"), bytes).unwrap();
    let db = p.ws.db();
    let file = packem_db::Db::files(db).file(db, &p.path("data.bin"));
    let source = packem_db::source_text(db, file);
    assert_eq!(source.bytes(), Some(&bytes[..]));
    assert_eq!(source.error(), Some(&packem_db::FileError::NotUtf8 { valid_up_to: 0 }));
    assert_eq!(source.as_str(), "");
}

#[test]
fn changes_to_unrelated_paths_invalidate_nothing() {
    let mut p = app();
    // Resolution looked for `node_modules` in every ancestor, so a watcher watches them; files and
    // directories appearing there that no query looked at must not re-run anything.
    let unrelated = p.root().join("scratch");
    std::fs::create_dir_all(unrelated.join("deeper")).unwrap();
    std::fs::write(unrelated.join("notes.txt"), "hello").unwrap();
    std::fs::write(unrelated.join("package.json"), "{}").unwrap();
    let summary = p.ws.apply_changes([
        unrelated.clone(),
        unrelated.join("deeper"),
        unrelated.join("notes.txt"),
        unrelated.join("package.json"),
    ]);
    assert!(summary.changed.is_empty() && !summary.resolution_invalidated, "{summary:?}");
    let _ = p.ws.diagnostics();
    assert_eq!(p.executed(), Vec::<String>::new());
    // A package.json above the modules does matter.
    let summary = p.ws.apply_changes([p.path("src/package.json")]);
    assert!(summary.resolution_invalidated);
}
