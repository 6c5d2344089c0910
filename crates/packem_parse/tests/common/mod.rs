//! A minimal database and file fixtures for the integration tests.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly
#![allow(dead_code)]

use camino::{Utf8Path, Utf8PathBuf};
use packem_db::{EventLog, File, Files};

/// The smallest database the parse queries run on, with an event log.
#[salsa::db]
#[derive(Clone)]
pub struct TestDb {
    storage: salsa::Storage<Self>,
    files: Files,
    pub log: EventLog,
}

#[salsa::db]
impl salsa::Database for TestDb {}

#[salsa::db]
impl packem_db::Db for TestDb {
    fn files(&self) -> &Files {
        &self.files
    }
}

impl TestDb {
    pub fn new() -> Self {
        let log = EventLog::default();
        Self { storage: salsa::Storage::new(Some(log.callback())), files: Files::default(), log }
    }

    /// Names of the queries executed since the last call.
    pub fn executed(&self) -> Vec<String> {
        use salsa::Database;
        self.log.take().into_iter().map(|key| self.ingredient_debug_name(key.ingredient_index()).to_string()).collect()
    }
}

/// A temporary project directory plus a database over it.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub db: TestDb,
}

impl Fixture {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap(), db: TestDb::new() }
    }

    pub fn path(&self, name: &str) -> Utf8PathBuf {
        let root = Utf8Path::from_path(self.dir.path()).unwrap().canonicalize_utf8().unwrap();
        root.join(name)
    }

    /// Writes `contents` to `name` (creating it) and returns its input.
    pub fn write(&mut self, name: &str, contents: impl AsRef<[u8]>) -> File {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        if self.db.files().get(&path).is_some() {
            packem_db::Files::sync_path(&mut self.db, &path);
        }
        self.file(name)
    }

    /// The input for `name`, whether or not it exists.
    pub fn file(&self, name: &str) -> File {
        let path = self.path(name);
        self.db.files().file(&self.db, &path)
    }
}

use packem_db::Db as _;

/// Scans `source` as a file called `name` in a fresh database.
pub fn scan(name: &str, source: &str) -> packem_parse::ModuleScan {
    let (scan, diagnostics) = scan_with_diagnostics(name, source);
    assert!(diagnostics.is_empty(), "unexpected diagnostics for {name}: {diagnostics:#?}");
    scan
}

/// Scans `source` as a file called `name` in a fresh database; also its diagnostics.
pub fn scan_with_diagnostics(name: &str, source: &str) -> (packem_parse::ModuleScan, Vec<packem_db::Diagnostic>) {
    let mut fx = Fixture::new();
    let file = fx.write(name, source);
    let scan = packem_parse::module_scan(&fx.db, packem_parse::Source::plain(&fx.db, file));
    let diagnostics = packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file));
    ((**scan).clone(), diagnostics.to_vec())
}

/// `(specifier, kind)` of each record.
pub fn records(scan: &packem_parse::ModuleScan) -> Vec<(String, packem_parse::ImportKind)> {
    scan.records.iter().map(|r| (r.specifier.clone(), r.kind)).collect()
}

/// Sorted export names.
pub fn export_names(scan: &packem_parse::ModuleScan) -> Vec<String> {
    let mut names: Vec<String> = scan.exports.iter().map(|e| e.name.clone()).collect();
    names.sort();
    names
}
