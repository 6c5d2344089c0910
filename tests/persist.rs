//! The persistent cache between processes, in process: each `restart` is a fresh database (what a
//! new process starts from) that opens the cache the previous one saved. Outputs must equal a
//! build without the cache, and the query events show what the cache spared.
#![allow(clippy::disallowed_methods)] // tests edit their fixtures directly

use camino::Utf8PathBuf;
use packem_host::Format;
use packem_tests::{TestProject, app};

fn cache_dir(p: &TestProject) -> Utf8PathBuf {
    p.root().join("node_modules/.cache/packem")
}

fn build(p: &mut TestProject, format: Format) -> Vec<String> {
    let target = p.ws.target(format, None);
    let bundle = p.ws.build(target);
    bundle.chunks.iter().map(|c| c.code.to_string()).collect()
}

/// What a build without any cache gives, in a fresh database.
fn cold(p: &mut TestProject, format: Format) -> Vec<String> {
    assert_eq!(p.restart(None), None);
    build(p, format)
}

/// The fact queries (the ones the cache stands for) among `executed`.
fn fact_queries(executed: &[String]) -> Vec<String> {
    executed
        .iter()
        .filter(|q| {
            q.starts_with("parsed_summary") || q.starts_with("parsed_symbols") || q.starts_with("parsed_diagnostics")
        })
        .cloned()
        .collect()
}

#[test]
fn a_second_process_takes_every_fact_from_the_cache() {
    let mut p = app();
    let expected = cold(&mut p, Format::Esm);
    let dir = cache_dir(&p);
    // The first process finds no cache: no warning, everything computed, then saved.
    assert_eq!(p.restart(Some(&dir)), None);
    assert_eq!(build(&mut p, Format::Esm), expected);
    assert_eq!(fact_queries(&p.executed()).len(), 9, "three modules, three fact queries each");
    let saved = p.ws.save_cache().unwrap();
    // Summary and diagnostics, symbols, render, and whether it mentions `process` (the default
    // `process.env.NODE_ENV` define of the browser platform), for three modules. No stamps: the
    // files were written too recently to trust theirs.
    assert_eq!(saved.added, 12, "{saved:?}");
    // The second builds the same bytes without deriving any fact or parsing anything: every
    // render is stored too.
    assert_eq!(p.restart(Some(&dir)), None);
    assert_eq!(build(&mut p, Format::Esm), expected);
    let executed = p.executed();
    assert_eq!(fact_queries(&executed), Vec::<String>::new());
    assert!(!executed.iter().any(|q| q.starts_with("parsed_module") || q.starts_with("module_scan")), "{executed:#?}");
    // Nothing new: nothing added, nothing written.
    let again = p.ws.save_cache().unwrap();
    assert_eq!((again.added, again.written), (0, 0), "{again:?}");
}

#[test]
fn check_in_a_second_process_parses_nothing() {
    let mut p = app();
    let dir = cache_dir(&p);
    p.restart(Some(&dir));
    let first = p.ws.check_diagnostics();
    p.ws.save_cache().unwrap();
    p.restart(Some(&dir));
    assert_eq!(p.ws.check_diagnostics(), first);
    let executed = p.executed();
    assert!(!executed.iter().any(|q| q.starts_with("parsed_module")), "{executed:#?}");
    assert!(fact_queries(&executed).is_empty(), "{executed:#?}");
}

#[test]
fn an_edit_between_processes_derives_only_that_files_facts() {
    let mut p = app();
    let dir = cache_dir(&p);
    p.restart(Some(&dir));
    build(&mut p, Format::Esm);
    p.ws.save_cache().unwrap();
    // Edited while no process ran: the next one sees new text, so a new key.
    std::fs::write(p.path("src/math.js"), "export function total(a, b) {\n  return b + a + 1;\n}\n").unwrap();
    let expected = cold(&mut p, Format::Esm);
    assert!(expected[0].contains("return b + a + 1;"), "{}", expected[0]);
    p.restart(Some(&dir));
    assert_eq!(build(&mut p, Format::Esm), expected);
    let executed = p.executed();
    // The other files: only their text is read (for the keys) and their stored facts taken
    // through the accessors; no parse, scan or render work.
    let reads = ["file_diagnostics(", "module_summary(", "module_symbols(", "node_esm_interop(", "source_text("];
    for query in executed.iter().filter(|q| q.contains("(src/") && !q.contains("(src/math.js)")) {
        assert!(reads.iter().any(|r| query.starts_with(r)), "{query} ran for an unchanged file: {executed:#?}");
    }
    assert_eq!(
        fact_queries(&executed),
        ["parsed_diagnostics(src/math.js)", "parsed_summary(src/math.js)", "parsed_symbols(src/math.js)"]
    );
    // Only the edited module is parsed (its render too is new); the others' renders are stored.
    let parsed: Vec<&String> = executed.iter().filter(|q| q.starts_with("parsed_module")).collect();
    assert_eq!(parsed, ["parsed_module(src/math.js)"]);
    assert_eq!(p.ws.save_cache().unwrap().added, 4);
}

#[test]
fn another_output_format_keeps_every_fact_and_renders_again() {
    let mut p = app();
    let dir = cache_dir(&p);
    p.restart(Some(&dir));
    build(&mut p, Format::Esm);
    p.ws.save_cache().unwrap();
    let expected = cold(&mut p, Format::Cjs);
    p.restart(Some(&dir));
    assert_eq!(build(&mut p, Format::Cjs), expected);
    let executed = p.executed();
    assert!(fact_queries(&executed).is_empty());
    // Renders are keyed by the format: CommonJS output renders every module again, once.
    assert_eq!(executed.iter().filter(|q| q.starts_with("parsed_module")).count(), 3, "{executed:#?}");
    assert_eq!(p.ws.save_cache().unwrap().added, 3);
    // Both formats' renders are kept: ESM again renders nothing.
    let esm = cold(&mut p, Format::Esm);
    p.restart(Some(&dir));
    assert_eq!(build(&mut p, Format::Esm), esm);
    assert!(!p.executed().iter().any(|q| q.starts_with("parsed_module")));
}

#[test]
fn a_watch_session_started_from_the_cache_follows_edits() {
    let mut p = app();
    let dir = cache_dir(&p);
    p.restart(Some(&dir));
    build(&mut p, Format::Esm);
    p.ws.save_cache().unwrap();
    p.restart(Some(&dir));
    build(&mut p, Format::Esm);
    // The fact cells were made from stored facts; an edit re-derives the file's facts from
    // its text, and a new import is followed.
    p.write(
        "src/format.js",
        "import { total } from './math.js';\nexport function money(n) {\n  return '€' + total(n, 0);\n}\n",
    );
    let incremental = build(&mut p, Format::Esm);
    assert!(incremental[0].contains("\"€\" + total(n, 0)"), "{}", incremental[0]);
    assert_eq!(incremental, cold(&mut p, Format::Esm));
}

#[test]
fn a_damaged_cache_is_a_warning_and_a_correct_build() {
    let mut p = app();
    let dir = cache_dir(&p);
    p.restart(Some(&dir));
    let expected = build(&mut p, Format::Esm);
    p.ws.save_cache().unwrap();
    let file = dir.join(packem_host::CACHE_FILE);
    let bytes = std::fs::read(&file).unwrap();
    // Cut short (a process killed while writing): unusable, said, rebuilt, then rewritten.
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let warning = p.restart(Some(&dir));
    assert!(warning.is_some(), "a truncated cache must be reported");
    assert_eq!(build(&mut p, Format::Esm), expected);
    assert_eq!(fact_queries(&p.executed()).len(), 9);
    p.ws.save_cache().unwrap();
    assert_eq!(p.restart(Some(&dir)), None, "the next save rewrote a valid cache");
    assert_eq!(build(&mut p, Format::Esm), expected);
    assert!(fact_queries(&p.executed()).is_empty());
    // Every byte flipped in turn: never a panic, never other output.
    let bytes = std::fs::read(&file).unwrap();
    for at in (0..bytes.len()).step_by((bytes.len() / 64).max(1)) {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x5a;
        std::fs::write(&file, &damaged).unwrap();
        p.restart(Some(&dir));
        assert_eq!(build(&mut p, Format::Esm), expected, "byte {at} flipped");
    }
}

#[test]
fn a_session_that_saves_again_writes_only_what_is_new() {
    let mut p = app();
    let dir = cache_dir(&p);
    p.restart(Some(&dir));
    build(&mut p, Format::Esm);
    assert_eq!(p.ws.save_cache().unwrap().added, 12);
    // Nothing new since: nothing added, nothing written (the session's own entries are found).
    let again = p.ws.save_cache().unwrap();
    assert_eq!((again.added, again.written), (0, 0), "{again:?}");
    // An edit in the session: its file's facts and render are added, and only they.
    p.write("src/format.js", "export function money(n) {\n  return '#' + n;\n}\n");
    build(&mut p, Format::Esm);
    let edited = p.ws.save_cache().unwrap();
    assert_eq!(edited.added, 4, "{edited:?}");
    for _ in 0..12 {
        let idle = p.ws.save_cache().unwrap();
        assert_eq!((idle.added, idle.written), (0, 0), "{idle:?}");
    }
    // A new process finds all of it.
    let expected = cold(&mut p, Format::Esm);
    p.restart(Some(&dir));
    assert_eq!(build(&mut p, Format::Esm), expected);
    assert!(!p.executed().iter().any(|q| q.starts_with("parsed_module")));
}

/// Sets the modification time of every file under `src/` an hour back, as for files checked out
/// long before the build (a stamp taken within the timestamp granularity of its read is never
/// saved, so the files a test has just written would otherwise be read every time).
fn age_sources(p: &TestProject) {
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for entry in std::fs::read_dir(p.path("src")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(an_hour_ago).unwrap();
    }
}

/// The project files whose text `executed` shows read.
fn texts_read(executed: &[String]) -> Vec<String> {
    executed.iter().filter(|q| q.starts_with("source_text(src/")).cloned().collect()
}

#[test]
fn a_second_process_reads_only_the_files_that_changed() {
    let mut p = app();
    age_sources(&p);
    let dir = cache_dir(&p);
    p.restart(Some(&dir));
    let expected = build(&mut p, Format::Esm);
    assert_eq!(texts_read(&p.executed()).len(), 3);
    let saved = p.ws.save_cache().unwrap();
    // Nine facts and renders, three answers to "does it mention `process`" and three stamps: the
    // browser build reads texts for the default `process.env.NODE_ENV` define too.
    assert_eq!(saved.added, 15, "{saved:?}");
    p.restart(Some(&dir));
    assert_eq!(build(&mut p, Format::Esm), expected);
    let executed = p.executed();
    assert_eq!(texts_read(&executed), Vec::<String>::new(), "{executed:#?}");
    assert_eq!(executed.iter().filter(|q| q.starts_with("content_hash")).count(), 3, "{executed:#?}");
    assert_eq!(p.ws.save_cache().unwrap().added, 0);
    // An edit between processes changes the file's stamp (its ctime, even when size and mtime
    // are put back): that file alone is read.
    let math = p.path("src/math.js");
    let before = std::fs::metadata(&math).unwrap();
    std::fs::write(&math, "export function total(a, b) {\n  return b + a;\n}\nexport const unused = 1;\n").unwrap();
    std::fs::File::options().write(true).open(&math).unwrap().set_modified(before.modified().unwrap()).unwrap();
    assert_eq!(std::fs::metadata(&math).unwrap().len(), before.len());
    let expected = cold(&mut p, Format::Esm);
    assert!(expected[0].contains("return b + a;"), "{}", expected[0]);
    p.restart(Some(&dir));
    assert_eq!(build(&mut p, Format::Esm), expected);
    assert_eq!(texts_read(&p.executed()), ["source_text(src/math.js)"]);
}

/// A file changed on disk during a session, after its content hash came from its stamp, is
/// then read with other contents: nothing computed from those contents may be saved under the
/// hash of the old ones (it would be taken when the old contents come back).
#[test]
fn a_file_changed_during_a_session_saves_nothing_under_its_old_hash() {
    let mut p = app();
    age_sources(&p);
    let dir = cache_dir(&p);
    p.restart(Some(&dir));
    build(&mut p, Format::Esm);
    p.ws.save_cache().unwrap();
    let math = p.path("src/math.js");
    let old = std::fs::read_to_string(&math).unwrap();
    let old_mtime = std::fs::metadata(&math).unwrap().modified().unwrap();
    // The next session hashes every file by its stamp, then the file changes behind its back and
    // a CommonJS build (no stored render) reads the new text.
    p.restart(Some(&dir));
    build(&mut p, Format::Esm);
    std::fs::write(&math, old.replace("a + b", "a * b")).unwrap();
    build(&mut p, Format::Cjs);
    p.ws.save_cache().unwrap();
    // The old contents come back (another stamp): a CommonJS build must render them.
    std::fs::write(&math, &old).unwrap();
    std::fs::File::options().write(true).open(&math).unwrap().set_modified(old_mtime).unwrap();
    let expected = cold(&mut p, Format::Cjs);
    assert!(expected[0].contains("a + b"), "{}", expected[0]);
    p.restart(Some(&dir));
    assert_eq!(build(&mut p, Format::Cjs), expected);
}
