//! Query-event tests for linking and emission, and the incremental contract for outputs:
//! after edits, the bundle equals a cold build's, byte for byte.

use packem_host::{Format, Workspace};
use packem_tests::{TestProject, app};

fn build(p: &mut TestProject, format: Format) -> Vec<String> {
    let target = p.ws.target(format, None);
    let bundle = p.ws.build(target);
    assert!(p.ws.build_diagnostics(target).is_empty(), "{:?}", p.ws.build_diagnostics(target));
    bundle.chunks.iter().map(|c| c.code.to_string()).collect()
}

fn cold(p: &TestProject, format: Format) -> Vec<String> {
    let db = p.ws.db();
    let mut ws = Workspace::new(p.ws.project().entries(db).clone(), p.ws.project().options(db).clone());
    let target = ws.target(format, None);
    ws.build(target).chunks.iter().map(|c| c.code.to_string()).collect()
}

#[test]
fn body_edit_rerenders_one_module_and_does_not_relink() {
    let mut p = app();
    build(&mut p, Format::Esm);
    p.executed();
    // The edit derives the file's own facts (the host compares them with its fact cells, finds
    // them equal and sets nothing), re-renders the module, its run and the chunk. The graph,
    // its diagnostics, the link and every other module are only verified, in O(1), from the
    // file's first edit on (its durability drops to LOW, but nothing project-wide reads it).
    p.write("src/math.js", "export function total(a, b) {\n  return b + a + 1;\n}\nexport const unused = 1;\n");
    let out = build(&mut p, Format::Esm);
    assert!(out[0].contains("return b + a + 1;"), "{}", out[0]);
    assert_eq!(
        p.executed(),
        [
            "bundle",
            "derived_source",
            "module_scan(src/math.js)",
            "parsed_diagnostics(src/math.js)",
            "parsed_module(src/math.js)",
            "parsed_summary(src/math.js)",
            "parsed_symbols(src/math.js)",
            "rendered_chunk",
            "rendered_module",
            "rendered_run",
            "source_text(src/math.js)",
        ],
        "the first edit neither relinks nor re-renders other modules"
    );
    // A later edit: the same, except that the summary is backdated (same spans, so an equal scan).
    p.write("src/math.js", "export function total(a, b) {\n  return b + a + 0;\n}\nexport const unused = 1;\n");
    let out = build(&mut p, Format::Esm);
    assert!(out[0].contains("return b + a + 0;"), "{}", out[0]);
    assert_eq!(
        p.executed(),
        [
            "bundle",
            "derived_source",
            "module_scan(src/math.js)",
            "parsed_diagnostics(src/math.js)",
            "parsed_module(src/math.js)",
            "parsed_symbols(src/math.js)",
            "rendered_chunk",
            "rendered_module",
            "rendered_run",
            "source_text(src/math.js)",
        ],
        "link, module_link, the chunk's layout (its namespace objects and glue) and the other modules' renders must only be validated"
    );
    assert_eq!(out, cold(&p, Format::Esm));
}

#[test]
fn renaming_an_export_relinks() {
    let mut p = app();
    build(&mut p, Format::Esm);
    p.executed();
    p.write("src/format.js", "export function dollars(n) {\n  return '$' + n.toFixed(2);\n}\n");
    p.write("src/main.js", "import { total } from './math.js';\nimport * as fmt from './format.js';\nconsole.log(fmt.dollars(total(2, 3)));\n");
    let out = build(&mut p, Format::Esm);
    let executed = p.executed();
    assert!(executed.contains(&"link".to_string()), "{executed:?}");
    assert!(executed.contains(&"chunk_layout".to_string()), "a new link lays the chunk out again: {executed:?}");
    assert!(!executed.iter().any(|q| q.ends_with("(src/math.js)")), "math.js is untouched: {executed:?}");
    assert_eq!(out, cold(&p, Format::Esm));
}

#[test]
fn a_missing_export_is_an_error_at_the_import() {
    let mut p = app();
    p.write("src/main.js", "import { nope } from './math.js';\nconsole.log(nope);\n");
    let target = p.ws.target(Format::Esm, None);
    p.ws.build(target);
    let diagnostics = p.ws.build_diagnostics(target);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0].message, "No matching export in \"src/math.js\" for import \"nope\"");
    assert_eq!(diagnostics[0].file.as_deref(), Some(p.path("src/main.js").as_path()));
    assert_eq!(diagnostics[0].notes[0].file.as_deref(), Some(p.path("src/math.js").as_path()));
}

#[test]
fn switching_format_rerenders_and_matches_cold_builds() {
    let mut p = app();
    for format in [Format::Esm, Format::Cjs, Format::Iife, Format::Esm] {
        assert_eq!(build(&mut p, format), cold(&p, format), "{format:?}");
    }
}

#[test]
fn incremental_outputs_equal_cold_outputs_after_a_sequence_of_edits() {
    let mut p = app();
    build(&mut p, Format::Esm);
    let steps: &[(&str, Option<&str>)] = &[
        ("src/extra.cjs", Some("module.exports = { hello: 'hi' };\n")),
        (
            "src/main.js",
            Some(
                "import { total } from './math.js';\nimport extra from './extra.cjs';\nconsole.log(total(1, 2), extra.hello);\n",
            ),
        ),
        ("src/math.js", Some("export function total(a, b) {\n  return a * b;\n}\nexport { total as product };\n")),
        ("src/extra.cjs", Some("exports.hello = 'hello';\n")),
        ("src/format.js", None),
        ("src/main.js", Some("export * from './math.js';\nexport { default as extra } from './extra.cjs';\n")),
        ("src/math.js", Some("export let total = 1;\nexport function product() { total++; }\n")),
    ];
    for (path, contents) in steps {
        match contents {
            Some(text) => p.write(path, text),
            None => p.remove(path),
        }
        for format in [Format::Esm, Format::Cjs] {
            assert_eq!(build(&mut p, format), cold(&p, format), "after editing {path} ({format:?})");
        }
    }
}

#[test]
fn adding_an_import_relinks_and_renders_only_what_changed() {
    let mut p = app();
    build(&mut p, Format::Esm);
    p.executed();
    p.write(
        "src/main.js",
        "import { total } from './math.js';\nimport * as fmt from './format.js';\nimport { unused } from './math.js';\nconsole.log(fmt.money(total(2, unused)));\n",
    );
    let out = build(&mut p, Format::Esm);
    let executed = p.executed();
    for query in ["link", "module_graph", "module_summary(src/main.js)", "rendered_chunk"] {
        assert!(executed.contains(&query.to_string()), "{query} should run: {executed:?}");
    }
    // math.js and format.js are not parsed again; format.js is not rendered again (its
    // module_link is equal), math.js is: `unused` is used now, so tree shaking keeps it.
    assert!(!executed.iter().any(|q| q.contains("(src/math.js)") || q.contains("(src/format.js)")), "{executed:?}");
    assert_eq!(executed.iter().filter(|q| *q == "rendered_module").count(), 2, "{executed:?}");
    assert_eq!(out, cold(&p, Format::Esm));
    assert!(out[0].contains("const unused = 1"), "{out:?}");
}

#[test]
fn an_import_of_a_kept_export_renders_only_the_importer() {
    let mut p = app();
    build(&mut p, Format::Esm);
    p.executed();
    // `total` is kept already: only main.js's own part of the link changes.
    p.write(
        "src/main.js",
        "import { total } from './math.js';\nimport * as fmt from './format.js';\nimport { total as sum } from './math.js';\nconsole.log(fmt.money(total(2, sum(1, 1))));\n",
    );
    let out = build(&mut p, Format::Esm);
    let executed = p.executed();
    assert!(executed.contains(&"link".to_string()), "{executed:?}");
    assert_eq!(executed.iter().filter(|q| *q == "rendered_module").count(), 1, "{executed:?}");
    assert_eq!(out, cold(&p, Format::Esm));
    assert!(!out[0].contains("unused"), "tree shaking drops the unused export: {out:?}");
}

#[test]
fn creating_and_deleting_a_module_rebuilds_exactly() {
    let mut p = app();
    p.write("src/main.js", "import { later } from './later.js';\nconsole.log(later);\n");
    let target = p.ws.target(Format::Esm, None);
    p.ws.build(target);
    assert_eq!(p.ws.build_diagnostics(target).len(), 1, "./later.js is missing");
    p.executed();

    p.write("src/later.js", "export const later = 'here';\n");
    let out = build(&mut p, Format::Esm);
    let executed = p.executed();
    assert!(executed.contains(&"resolve".to_string()) && executed.contains(&"link".to_string()), "{executed:?}");
    assert!(executed.contains(&"parsed_module(src/later.js)".to_string()), "{executed:?}");
    assert!(!executed.contains(&"parsed_module(src/main.js)".to_string()), "main.js did not change: {executed:?}");
    assert_eq!(out, cold(&p, Format::Esm));

    p.remove("src/later.js");
    p.ws.build(target);
    let diagnostics = p.ws.build_diagnostics(target);
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].message, "Could not resolve \"./later.js\"");
    let executed = p.executed();
    assert!(!executed.contains(&"parsed_module(src/main.js)".to_string()), "{executed:?}");
}

#[test]
fn removing_the_last_use_of_an_export_drops_it_and_renders_only_the_two_modules() {
    let mut p = app();
    p.write(
        "src/main.js",
        "import { total, unused } from './math.js';\nimport * as fmt from './format.js';\nconsole.log(fmt.money(total(2, unused)));\n",
    );
    let before = build(&mut p, Format::Esm);
    assert!(before[0].contains("const unused = 1"), "{before:?}");
    p.executed();
    p.write("src/main.js", "import { total } from './math.js';\nimport * as fmt from './format.js';\nconsole.log(fmt.money(total(2, 3)));\n");
    let out = build(&mut p, Format::Esm);
    let executed = p.executed();
    assert!(executed.contains(&"link".to_string()), "{executed:?}");
    // main.js and math.js (whose dropped statements changed); format.js is not rendered again.
    assert_eq!(executed.iter().filter(|q| *q == "rendered_module").count(), 2, "{executed:?}");
    assert!(!executed.iter().any(|q| q.contains("(src/format.js)") || q.contains("(src/math.js)")), "{executed:?}");
    assert!(!out[0].contains("unused"), "{out:?}");
    assert_eq!(out, cold(&p, Format::Esm));
}

#[test]
fn a_body_edit_that_keeps_statement_facts_renders_one_module_and_does_not_relink() {
    let mut p = app();
    build(&mut p, Format::Esm);
    p.executed();
    // Inside a function body: the statement still declares `money` and references nothing new.
    p.write("src/format.js", "export function money(n) {\n  return '€' + n.toFixed(2);\n}\n");
    let out = build(&mut p, Format::Esm);
    let executed = p.executed();
    assert!(!executed.contains(&"link".to_string()), "{executed:?}");
    assert_eq!(executed.iter().filter(|q| *q == "rendered_module").count(), 1, "{executed:?}");
    assert_eq!(out, cold(&p, Format::Esm));
}

#[test]
fn a_statement_gaining_a_side_effect_relinks_and_renders_only_its_module() {
    let mut p = app();
    build(&mut p, Format::Esm);
    p.executed();
    // `unused` stays unused, but its initializer now has a side effect: it is kept.
    p.write(
        "src/math.js",
        "export function total(a, b) {\n  return a + b;\n}\nexport const unused = console.log('kept');\n",
    );
    let out = build(&mut p, Format::Esm);
    let executed = p.executed();
    assert!(executed.contains(&"link".to_string()), "{executed:?}");
    assert_eq!(executed.iter().filter(|q| *q == "rendered_module").count(), 1, "{executed:?}");
    assert!(!executed.iter().any(|q| q.contains("(src/format.js)") || q.contains("(src/main.js)")), "{executed:?}");
    assert!(out[0].contains("console.log(\"kept\")") || out[0].contains("console.log('kept')"), "{out:?}");
    assert_eq!(out, cold(&p, Format::Esm));
}

#[test]
fn editing_side_effects_in_package_json_relinks_to_the_cold_result() {
    let mut p = TestProject::new(
        &[
            ("src/main.js", "import { used } from 'pkg';\nconsole.log(used);\n"),
            ("node_modules/pkg/package.json", "{ \"name\": \"pkg\", \"main\": \"index.js\", \"sideEffects\": false }"),
            ("node_modules/pkg/index.js", "export { used } from './used.js';\nimport './effect.js';\n"),
            ("node_modules/pkg/used.js", "export const used = 'used';\n"),
            ("node_modules/pkg/effect.js", "globalThis.effectRan = 'effectRan';\n"),
        ],
        &["src/main.js"],
    );
    let dropped = build(&mut p, Format::Esm);
    assert!(!dropped[0].contains("effectRan"), "{dropped:?}");
    p.write(
        "node_modules/pkg/package.json",
        "{ \"name\": \"pkg\", \"main\": \"index.js\", \"sideEffects\": [\"./effect.js\"] }",
    );
    let kept = build(&mut p, Format::Esm);
    assert!(kept[0].contains("effectRan"), "{kept:?}");
    assert_eq!(kept, cold(&p, Format::Esm));
}

/// Two entries sharing `shared.js`, and `a.js` loading `lazy.js` with `import()`, split.
fn split_app() -> TestProject {
    let mut p = TestProject::new(
        &[
            (
                "src/a.js",
                "import { shared } from './shared.js';\nimport { own } from './own.js';\nconsole.log(shared, own);\nimport('./lazy.js').then((m) => console.log(m.lazy));\n",
            ),
            ("src/b.js", "import { shared } from './shared.js';\nconsole.log('b', shared);\n"),
            ("src/own.js", "export const own = 'own';\n"),
            ("src/shared.js", "export const shared = 'shared';\nexport const unused = 1;\n"),
            ("src/lazy.js", "export const lazy = 'lazy';\n"),
        ],
        &["src/a.js", "src/b.js"],
    );
    p.ws.set_link_options(packem_db::LinkOptions { splitting: true, ..packem_db::LinkOptions::default() });
    p
}

/// Each output's file name and code.
fn split_build(p: &mut TestProject) -> Vec<(String, String)> {
    let target = p.ws.target(Format::Esm, None);
    let bundle = p.ws.build(target);
    assert!(p.ws.build_diagnostics(target).is_empty(), "{:?}", p.ws.build_diagnostics(target));
    bundle.chunks.iter().map(|c| (c.file_name.clone().expect("split outputs are named"), c.code.to_string())).collect()
}

fn split_cold(p: &TestProject) -> Vec<(String, String)> {
    let db = p.ws.db();
    let mut ws = Workspace::new(p.ws.project().entries(db).clone(), p.ws.project().options(db).clone());
    ws.set_link_options(p.ws.project().link(db).clone());
    let target = ws.target(Format::Esm, None);
    ws.build(target).chunks.iter().map(|c| (c.file_name.clone().unwrap(), c.code.to_string())).collect()
}

fn count(events: &[String], name: &str) -> usize {
    events.iter().filter(|e| *e == name).count()
}

#[test]
fn split_body_edit_rerenders_one_module_and_reassembles_one_chunk() {
    let mut p = split_app();
    let before = split_build(&mut p);
    assert_eq!(before.len(), 4, "a, b, lazy and a shared chunk: {before:#?}");
    p.executed();
    // `own.js` is in a's chunk only.
    p.write("src/own.js", "export const own = 'own!';\n");
    let after = split_build(&mut p);
    let events = p.executed();
    assert_eq!(count(&events, "rendered_module"), 1, "{events:?}");
    assert_eq!(count(&events, "rendered_chunk"), 1, "{events:?}");
    assert_eq!(count(&events, "link"), 0, "{events:?}");
    // Only a's bytes changed; no other chunk's name or bytes moved.
    for (old, new) in before.iter().zip(&after) {
        if old.0 == "a.js" {
            assert_ne!(old.1, new.1);
        } else {
            assert_eq!(old, new);
        }
    }
    assert_eq!(after, split_cold(&p));
    // An edit of the shared module re-renders it and re-assembles the shared chunk alone; the
    // entries' chunks only see its new name.
    p.write("src/shared.js", "export const shared = 'shared!';\nexport const unused = 1;\n");
    let after_shared = split_build(&mut p);
    let events = p.executed();
    assert_eq!(count(&events, "rendered_module"), 1, "{events:?}");
    assert_eq!(count(&events, "rendered_chunk"), 1, "{events:?}");
    assert_eq!(count(&events, "link"), 0, "{events:?}");
    let lazy = |out: &[(String, String)]| out.iter().find(|c| c.0.starts_with("lazy-")).cloned().unwrap();
    assert_eq!(lazy(&after), lazy(&after_shared), "lazy.js does not load the shared chunk");
    assert_eq!(after_shared, split_cold(&p));
}

#[test]
fn split_import_edits_relink_to_the_cold_result() {
    let mut p = split_app();
    split_build(&mut p);
    // b starts loading lazy.js too, then imports it statically (it joins the shared chunk),
    // then stops using it.
    p.write("src/b.js", "import { shared } from './shared.js';\nconsole.log('b', shared);\nimport('./lazy.js').then((m) => console.log(m.lazy));\n");
    assert_eq!(split_build(&mut p), split_cold(&p));
    p.write(
        "src/b.js",
        "import { shared } from './shared.js';\nimport { lazy } from './lazy.js';\nconsole.log('b', shared, lazy);\n",
    );
    let out = split_build(&mut p);
    assert_eq!(out, split_cold(&p));
    assert!(out.iter().any(|c| c.0.starts_with("chunk-") && c.1.contains("\"lazy\"")), "{out:#?}");
    p.write("src/b.js", "import { shared } from './shared.js';\nconsole.log('b', shared);\n");
    assert_eq!(split_build(&mut p), split_cold(&p));
    // A new use of an unused export of the shared chunk.
    p.write("src/b.js", "import { shared, unused } from './shared.js';\nconsole.log('b', shared, unused);\n");
    let out = split_build(&mut p);
    assert_eq!(out, split_cold(&p));
    assert!(out.iter().any(|c| c.0.starts_with("chunk-") && c.1.contains("unused = 1")), "{out:#?}");
}

/// `main.js` loads 70 lazy modules with `import()`; each imports one name of `shared.js`, which
/// re-exports six modules: a chunk all of them share, cut into parts of at most 150 bytes.
fn parted_app() -> TestProject {
    let mut files: Vec<(String, String)> = Vec::new();
    let (mut main, mut shared) = (String::new(), String::new());
    for k in 1..=6 {
        files.push((format!("src/a{k}.js"), format!("export const a{k} = '{}';\n", "a".repeat(60 + k))));
        shared.push_str(&format!("export {{ a{k} }} from './a{k}.js';\n"));
        main.push_str(&format!("import {{ a{k} }} from './shared.js';\nconsole.log(a{k});\n"));
    }
    files.push(("src/shared.js".to_string(), shared));
    for k in 0..70 {
        let a = k % 6 + 1;
        files.push((
            format!("src/lazy{k}.js"),
            format!("import {{ a{a} }} from './shared.js';\nexport const lazy{k} = a{a} + {k};\n"),
        ));
        main.push_str(&format!("import('./lazy{k}.js').then((m) => console.log(m.lazy{k}));\n"));
    }
    files.push(("src/main.js".to_string(), main));
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let mut p = TestProject::new(&files, &["src/main.js"]);
    p.ws.set_link_options(packem_db::LinkOptions { splitting: true, ..packem_db::LinkOptions::default() });
    p
}

fn parted_emit() -> packem_host::EmitOptions {
    parted_emit_named("[dir]/[name]")
}

fn parted_emit_named(chunks: &str) -> packem_host::EmitOptions {
    let chunk_naming = packem_host::ChunkNaming { chunks: chunks.to_string(), ..Default::default() };
    packem_host::EmitOptions { max_chunk_size: Some(150), chunk_naming, ..Default::default() }
}

fn parted_build(ws: &mut Workspace) -> Vec<(String, String)> {
    parted_build_with(ws, parted_emit())
}

fn parted_build_with(ws: &mut Workspace, emit: packem_host::EmitOptions) -> Vec<(String, String)> {
    let target = ws.target_with(Format::Esm, None, emit);
    let bundle = ws.build(target);
    assert!(ws.build_diagnostics(target).is_empty(), "{:?}", ws.build_diagnostics(target));
    bundle.chunks.iter().map(|c| (c.file_name.clone().unwrap(), c.code.to_string())).collect()
}

/// With `[hash]` in the chunk names (the default), an edit inside a part changes no main
/// file's own hash, so the names are verified, not recomputed, and no template is filled again.
#[test]
fn hashed_split_body_edit_keeps_the_names() {
    let mut p = parted_app();
    let emit = || parted_emit_named("[name]-[hash]");
    let first = parted_build_with(&mut p.ws, emit());
    assert!(first.iter().any(|(name, _)| name.contains("-part")), "{first:#?}");
    p.write("src/a3.js", format!("export const a3 = '{}';\n", "c".repeat(63)).as_str());
    let before = parted_build_with(&mut p.ws, emit());
    p.executed();
    p.write("src/a3.js", format!("export const a3 = '{}';\n", "b".repeat(63)).as_str());
    let after = parted_build_with(&mut p.ws, emit());
    let events = p.executed();
    let changed: Vec<&String> =
        before.iter().zip(&after).filter(|(old, new)| old != new).map(|(old, _)| &old.0).collect();
    assert_eq!(changed.len(), 1, "one part's bytes move, and no name: {changed:?}");
    assert_eq!(before.iter().map(|(n, _)| n).collect::<Vec<_>>(), after.iter().map(|(n, _)| n).collect::<Vec<_>>());
    assert_eq!(count(&events, "rendered_chunk"), 1, "{events:?}");
    assert_eq!(count(&events, "own_hash_group"), 1, "the edited chunk's group, which backdates: {events:?}");
    assert_eq!(count(&events, "output_templates"), 0, "{events:?}");
    assert_eq!(count(&events, "output_names"), 0, "{events:?}");
    let db = p.ws.db();
    let mut cold = Workspace::new(p.ws.project().entries(db).clone(), p.ws.project().options(db).clone());
    cold.set_link_options(p.ws.project().link(db).clone());
    assert_eq!(after, parted_build_with(&mut cold, emit()));
}

#[test]
fn split_body_edit_resolves_one_output() {
    let mut p = parted_app();
    let before = parted_build(&mut p.ws);
    let parts = before.iter().filter(|(name, _)| name.contains("-part-")).count();
    assert!(before.len() > 64 && parts >= 3, "more than one group of outputs, a chunk in parts: {}", before.len());
    // Other chunks import from the shared chunk's main file, which re-exports its parts' names.
    assert!(before.iter().any(|(name, code)| name.starts_with("chunk-") && code.contains("-part-")), "{before:#?}");
    // The file's first edit moves its durability (see `Files::set_cold_contents`); the second is
    // the steady state.
    p.write("src/a3.js", format!("export const a3 = '{}';\n", "c".repeat(63)).as_str());
    let before = parted_build(&mut p.ws);
    p.executed();
    p.write("src/a3.js", format!("export const a3 = '{}';\n", "b".repeat(63)).as_str());
    let after = parted_build(&mut p.ws);
    let events = p.executed();
    let changed: Vec<&String> =
        before.iter().zip(&after).filter(|(old, new)| old != new).map(|(old, _)| &old.0).collect();
    assert_eq!(changed.len(), 1, "one part's bytes move: {changed:?}");
    assert_eq!(count(&events, "rendered_module"), 1, "{events:?}");
    assert_eq!(count(&events, "rendered_chunk"), 1, "only the shared chunk; its importers read no part: {events:?}");
    assert_eq!(count(&events, "link"), 0, "{events:?}");
    assert_eq!(count(&events, "layout_group"), 1, "{events:?}");
    assert_eq!(count(&events, "output_names"), 0, "the layout backdated, so the names are only verified: {events:?}");
    // The shared chunk's files (its main file and parts), in the one group that holds them.
    let shared_files = before.iter().filter(|(name, _)| name.starts_with("chunk-")).count();
    assert_eq!(count(&events, "resolved_output"), shared_files, "{events:?}");
    assert_eq!(count(&events, "output_group"), 1, "{events:?}");
    let db = p.ws.db();
    let mut cold = Workspace::new(p.ws.project().entries(db).clone(), p.ws.project().options(db).clone());
    cold.set_link_options(p.ws.project().link(db).clone());
    assert_eq!(after, parted_build(&mut cold));
}

/// The queries a body edit of `src/format.js` re-runs when its statement facts stay.
const FORMAT_BODY_EDIT: [&str; 11] = [
    "bundle",
    "derived_source",
    "module_scan(src/format.js)",
    "parsed_diagnostics(src/format.js)",
    "parsed_module(src/format.js)",
    "parsed_summary(src/format.js)",
    "parsed_symbols(src/format.js)",
    "rendered_chunk",
    "rendered_module",
    "rendered_run",
    "source_text(src/format.js)",
];

fn minified(p: &mut TestProject) {
    p.ws.set_link_options(packem_db::LinkOptions {
        minify: packem_db::Minify::ALL,
        ..packem_db::LinkOptions::default()
    });
}

fn minified_cold(p: &TestProject, format: Format) -> Vec<String> {
    let db = p.ws.db();
    let mut ws = Workspace::new(p.ws.project().entries(db).clone(), p.ws.project().options(db).clone());
    ws.set_link_options(p.ws.project().link(db).clone());
    let target = ws.target(format, None);
    ws.build(target).chunks.iter().map(|c| c.code.to_string()).collect()
}

#[test]
fn minified_body_edit_reminifies_one_module_and_renames_nothing() {
    // With `--minify`, a body edit that keeps the module's statement facts minifies that module
    // again (its render) and re-assembles the chunk: short top-level names come from linking,
    // which does not re-run, so no other module's bytes change.
    let mut p = app();
    minified(&mut p);
    let before = build(&mut p, Format::Esm);
    p.executed();
    p.write("src/format.js", "export function money(n) {\n  return '€' + n.toFixed(2);\n}\n");
    let after = build(&mut p, Format::Esm);
    assert_eq!(p.executed(), FORMAT_BODY_EDIT, "only the edited module is minified again");
    assert!(after[0].contains("`€`"), "{}", after[0]);
    // Only the edited module's line changed: every other line (the helpers, the other modules,
    // the exports) is byte for byte the same.
    let (old, new): (Vec<&str>, Vec<&str>) = (before[0].lines().collect(), after[0].lines().collect());
    assert_eq!(old.len(), new.len());
    let changed: Vec<_> = old.iter().zip(&new).filter(|(a, b)| a != b).collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].0.contains("`$`"), "{changed:?}");
    assert_eq!(after, minified_cold(&p, Format::Esm));
}

#[test]
fn minified_outputs_equal_cold_outputs_in_every_format() {
    let mut p = app();
    minified(&mut p);
    for format in [Format::Esm, Format::Cjs, Format::Iife] {
        let out = build(&mut p, format);
        assert_eq!(out, minified_cold(&p, format), "{format:?}");
        assert!(!out[0].contains("  "), "minified output has no indentation: {}", out[0]);
    }
    p.write("src/main.js", "import { total } from './math.js';\nconsole.log(total(4, 5));\n");
    for format in [Format::Esm, Format::Cjs, Format::Iife] {
        assert_eq!(build(&mut p, format), minified_cold(&p, format), "after an import edit ({format:?})");
    }
}

fn mapped_emit(p: &TestProject) -> packem_host::EmitOptions {
    packem_host::EmitOptions {
        sourcemap: Some(packem_host::SourceMapOptions {
            mode: packem_host::SourceMapMode::Linked,
            sources_content: true,
            source_root: None,
            base: p.path("out"),
        }),
        ..packem_host::EmitOptions::default()
    }
}

/// Code and map of each chunk.
fn mapped(ws: &mut Workspace, emit: packem_host::EmitOptions) -> Vec<(String, String)> {
    let target = ws.target_with(Format::Esm, None, emit);
    let bundle = ws.build(target);
    assert!(ws.build_diagnostics(target).is_empty());
    bundle
        .chunks
        .iter()
        .map(|c| (c.code.to_string(), c.map.as_ref().map(|m| m.json("main.js", None, "").to_string()).unwrap()))
        .collect()
}

#[test]
fn minified_mapped_body_edit_rerenders_one_module_and_joins_its_map() {
    // With `--minify --sourcemap`, a body edit re-runs the edited module's render (its minify
    // and its mappings) and the run and chunk that join the pieces: no other module's mappings
    // are encoded again (their pieces are shared), and the map equals a cold build's.
    let mut p = app();
    minified(&mut p);
    let emit = mapped_emit(&p);
    let before = mapped(&mut p.ws, emit.clone());
    p.executed();
    p.write("src/format.js", "export function money(n) {\n  return '€' + n.toFixed(2);\n}\n");
    let after = mapped(&mut p.ws, emit.clone());
    assert_eq!(p.executed(), FORMAT_BODY_EDIT, "only the edited module is minified and mapped again");
    assert_ne!(before, after);
    let db = p.ws.db();
    let mut cold = Workspace::new(p.ws.project().entries(db).clone(), p.ws.project().options(db).clone());
    cold.set_link_options(p.ws.project().link(db).clone());
    assert_eq!(after, mapped(&mut cold, emit));
    // The map names the three sources, with their text.
    let map: serde_json::Value = serde_json::from_str(&after[0].1).unwrap();
    assert_eq!(map["sources"].as_array().unwrap().len(), 3, "{map}");
    assert!(map["sourcesContent"].to_string().contains("€"), "{map}");
}

fn props_emit() -> packem_host::EmitOptions {
    packem_host::EmitOptions {
        mangle_props: Some(packem_host::ManglePropsOptions { pattern: "_$".into(), reserve: None, quoted: false }),
        ..packem_host::EmitOptions::default()
    }
}

fn props_build(ws: &mut Workspace) -> Vec<String> {
    let target = ws.target_with(Format::Esm, None, props_emit());
    let bundle = ws.build(target);
    assert!(ws.build_diagnostics(target).is_empty(), "{:?}", ws.build_diagnostics(target));
    bundle.chunks.iter().map(|c| c.code.to_string()).collect()
}

fn props_cold(p: &TestProject) -> Vec<String> {
    let db = p.ws.db();
    let mut cold = Workspace::new(p.ws.project().entries(db).clone(), p.ws.project().options(db).clone());
    cold.set_link_options(p.ws.project().link(db).clone());
    props_build(&mut cold)
}

#[test]
fn mangled_properties_agree_across_modules_and_a_body_edit_keeps_the_mapping() {
    // `--mangle-props`: each module's property facts are a query, the build's mapping another.
    // A body edit that spells the same properties re-derives that module's facts (equal, so the
    // mapping is not recomputed) and renders that module alone; an edit that adds a mangled
    // property changes the mapping, and the result equals a cold build's.
    let mut p = TestProject::new(
        &[
            (
                "src/main.js",
                "import { make } from './point.js';\nconst p = make(1, 2);\nconsole.log(p.x_ + p.y_, p.name);\n",
            ),
            ("src/point.js", "export function make(x, y) {\n  return { x_: x, y_: y, name: 'p' };\n}\n"),
        ],
        &["src/main.js"],
    );
    let before = props_build(&mut p.ws);
    assert!(!before[0].contains("x_") && !before[0].contains("y_"), "{}", before[0]);
    assert!(before[0].contains(".name"), "{}", before[0]);
    p.executed();
    p.write("src/point.js", "export function make(x, y) {\n  return { x_: x * 2, y_: y, name: 'p' };\n}\n");
    let after = props_build(&mut p.ws);
    assert_eq!(
        p.executed(),
        [
            "bundle",
            "derived_source",
            "module_scan(src/point.js)",
            "parsed_diagnostics(src/point.js)",
            "parsed_module(src/point.js)",
            "parsed_summary(src/point.js)",
            "parsed_symbols(src/point.js)",
            "property_facts",
            "property_mapping",
            "rendered_chunk",
            "rendered_module",
            "rendered_run",
            "source_text(src/point.js)",
        ],
        "the edited module's facts re-run; the mapping re-runs (the file's first edit lowers its \
         durability) and stays equal, so no other module renders again"
    );
    assert_ne!(before, after);
    assert_eq!(after, props_cold(&p));
    // A new mangled property changes the mapping: both modules use it consistently.
    p.write("src/point.js", "export function make(x, y) {\n  return { x_: x, y_: y, z_: 3, name: 'p' };\n}\n");
    p.write(
        "src/main.js",
        "import { make } from './point.js';\nconst p = make(1, 2);\nconsole.log(p.x_ + p.y_ + p.z_, p.name);\n",
    );
    let changed = props_build(&mut p.ws);
    assert!(p.executed().iter().any(|q| q == "property_mapping"));
    assert!(!changed[0].contains("z_"), "{}", changed[0]);
    assert_eq!(changed, props_cold(&p));
}

#[test]
fn a_file_created_in_a_context_directory_joins_the_context_module_and_nothing_else_reparses() {
    let mut p = TestProject::new(
        &[
            (
                "src/main.js",
                "const load = (n) => import(`./locale/${n}.js`).then((m) => m.default, () => 'none');\n\
                 Promise.all(['en', 'fr'].map(load)).then((v) => console.log(v.join(' ')));\n",
            ),
            ("src/locale/en.js", "export default 'hello';\n"),
            ("src/other.js", "export default 1;\n"),
        ],
        &["src/main.js"],
    );
    let before = build(&mut p, Format::Esm);
    assert!(before[0].contains("\"./locale/en.js\""), "{}", before[0]);
    assert!(!before[0].contains("bonjour"), "{}", before[0]);
    p.executed();

    p.write("src/locale/fr.js", "export default 'bonjour';\n");
    let out = build(&mut p, Format::Esm);
    assert_eq!(out, cold(&p, Format::Esm));
    assert!(out[0].contains("\"./locale/fr.js\"") && out[0].contains("bonjour"), "{}", out[0]);
    let executed = p.executed();
    // The listing, the context module's text and facts, the new member's; main.js and en.js are
    // not parsed again.
    assert!(executed.contains(&"dir_entries".to_string()), "{executed:?}");
    assert!(executed.iter().any(|q| q.starts_with("parsed_module(src/./locale/*.js#packem-context")), "{executed:?}");
    assert!(executed.contains(&"parsed_module(src/locale/fr.js)".to_string()), "{executed:?}");
    assert!(!executed.contains(&"parsed_module(src/main.js)".to_string()), "{executed:?}");
    assert!(!executed.contains(&"parsed_module(src/locale/en.js)".to_string()), "{executed:?}");

    // Deleting a member removes it; a file that does not match leaves the bundle as it was.
    p.remove("src/locale/en.js");
    let out = build(&mut p, Format::Esm);
    assert_eq!(out, cold(&p, Format::Esm));
    assert!(!out[0].contains("hello"), "{}", out[0]);
    p.write("src/locale/notes.txt", "notes\n");
    assert_eq!(build(&mut p, Format::Esm), out);

    // The listed directory itself moved away, then back with a member: the listing follows.
    p.rename("src/locale", "src/moved");
    let out = build(&mut p, Format::Esm);
    assert_eq!(out, cold(&p, Format::Esm));
    assert!(!out[0].contains("bonjour"), "{}", out[0]);
    p.rename("src/moved", "src/locale");
    let out = build(&mut p, Format::Esm);
    assert_eq!(out, cold(&p, Format::Esm));
    assert!(out[0].contains("bonjour"), "{}", out[0]);
}
