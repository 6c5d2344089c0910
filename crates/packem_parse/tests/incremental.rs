//! Early cutoff: which queries re-run after an edit, observed through salsa's events.

mod common;

use common::Fixture;
use packem_db::File;

/// Stands in for the module graph: it reads only the span-free summary.
#[salsa::tracked(returns(copy))]
fn downstream(db: &dyn packem_db::Db, file: File) -> usize {
    let summary = packem_parse::module_summary(db, packem_parse::Source::plain(db, file));
    summary.records.len() + summary.exports.len()
}

fn ran(executed: &[String], query: &str) -> bool {
    executed.iter().any(|q| q == query)
}

/// A helper with a body to edit comes first, so a body edit moves the spans of the import and export
/// after it: `module_scan` then differs and the cutoff has to happen at `parsed_summary`.
const ORIGINAL: &str = "function greet() {\n  return 'hello';\n}\nimport { a } from './a';\nexport function f() {\n  return a + greet();\n}\n";

fn setup() -> (Fixture, File) {
    let mut fx = Fixture::new();
    let file = fx.write("main.js", ORIGINAL);
    assert_eq!(downstream(&fx.db, file), 2);
    fx.db.log.enable();
    fx.db.log.take();
    (fx, file)
}

#[test]
fn a_body_edit_does_not_rerun_what_reads_the_summary() {
    let (mut fx, file) = setup();
    fx.write("main.js", ORIGINAL.replace("'hello'", "'goodbye, world'"));
    assert_eq!(downstream(&fx.db, file), 2);
    let executed = fx.db.executed();
    for query in ["source_text", "parsed_module", "module_scan", "parsed_summary"] {
        assert!(ran(&executed, query), "{query} should re-run: {executed:?}");
    }
    assert!(!ran(&executed, "downstream"), "downstream must be cut off: {executed:?}");
}

#[test]
fn an_edit_after_every_import_and_export_backdates_the_scan_itself() {
    let (mut fx, file) = setup();
    fx.write("main.js", ORIGINAL.replace("a + greet()", "greet() + a + 1"));
    assert_eq!(downstream(&fx.db, file), 2);
    let executed = fx.db.executed();
    assert!(ran(&executed, "module_scan"), "{executed:?}");
    assert!(!ran(&executed, "parsed_summary"), "the scan compares equal, so the summary is not re-run: {executed:?}");
    assert!(!ran(&executed, "downstream"), "{executed:?}");
}

#[test]
fn adding_an_import_reruns_downstream() {
    let (mut fx, file) = setup();
    fx.write("main.js", format!("import './b';\n{ORIGINAL}"));
    assert_eq!(downstream(&fx.db, file), 3);
    let executed = fx.db.executed();
    assert!(ran(&executed, "parsed_summary"), "{executed:?}");
    assert!(ran(&executed, "downstream"), "{executed:?}");
}

#[test]
fn a_whitespace_edit_changes_the_scan_but_not_the_summary() {
    let (mut fx, file) = setup();
    let before = packem_parse::module_scan(&fx.db, packem_parse::Source::plain(&fx.db, file)).clone();
    fx.db.log.take();
    fx.write("main.js", format!("\n\n   {ORIGINAL}"));
    let after = packem_parse::module_scan(&fx.db, packem_parse::Source::plain(&fx.db, file)).clone();
    assert_ne!(before, after, "spans moved, so the scan differs");
    assert_eq!(after.records[0].span.0, before.records[0].span.0 + 5);
    assert_eq!(downstream(&fx.db, file), 2);
    let executed = fx.db.executed();
    assert!(ran(&executed, "module_scan"), "{executed:?}");
    assert!(ran(&executed, "parsed_summary"), "{executed:?}");
    assert!(!ran(&executed, "downstream"), "summary backdates, downstream does not run: {executed:?}");
}

#[test]
fn touching_a_file_without_changing_it_stops_at_source_text() {
    let (mut fx, file) = setup();
    fx.write("main.js", ORIGINAL);
    assert_eq!(downstream(&fx.db, file), 2);
    let executed = fx.db.executed();
    assert!(ran(&executed, "source_text"), "{executed:?}");
    assert!(!ran(&executed, "parsed_module"), "{executed:?}");
}

#[test]
fn parsed_module_is_shared_and_compared_by_pointer() {
    let (fx, file) = setup();
    let first = packem_parse::parsed_module(&fx.db, packem_parse::Source::plain(&fx.db, file)).clone();
    let second = packem_parse::parsed_module(&fx.db, packem_parse::Source::plain(&fx.db, file)).clone();
    assert!(first == second);
    assert_eq!(first.source(), ORIGINAL);
    assert_eq!(first.program().body.len(), 3);
    assert!(first.source_type().is_module());
    let path = camino::Utf8Path::new("/x/main.js");
    let settings = packem_parse::CompileSettings::new(path, &packem_db::CompileOptions::default());
    let other = packem_parse::ParsedModule::parse(path, ORIGINAL.into(), &settings);
    assert!(first != other);
    // The AST can be read from another thread.
    std::thread::scope(|s| {
        s.spawn(|| assert_eq!(first.program().body.len(), 3));
    });
}
