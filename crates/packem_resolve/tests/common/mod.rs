//! A concrete test database and fixture helpers shared by the integration tests.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly
#![allow(dead_code)]

use camino::{Utf8Path, Utf8PathBuf};
use packem_db::{EventLog, Files, Project, ProjectOptions};
use packem_resolve::{Resolution, ResolveKind, ResolveRequest, Resolvers, resolve};

/// The smallest database that can run [`resolve`].
#[salsa::db]
#[derive(Clone)]
pub struct TestDb {
    storage: salsa::Storage<Self>,
    files: Files,
    resolvers: Resolvers,
    pub log: EventLog,
}

impl TestDb {
    pub fn new() -> Self {
        let log = EventLog::default();
        Self {
            storage: salsa::Storage::new(Some(log.callback())),
            files: Files::default(),
            resolvers: Resolvers::default(),
            log,
        }
    }

    /// Names of the queries executed since the last call.
    pub fn executed(&self) -> Vec<String> {
        use salsa::Database as _;
        self.log.take().into_iter().map(|key| self.ingredient_debug_name(key.ingredient_index()).to_string()).collect()
    }

    /// How many times `resolve` ran since the last call to `executed`/`take_resolve_runs`.
    pub fn take_resolve_runs(&self) -> usize {
        self.executed().iter().filter(|name| name.as_str() == "resolve").count()
    }
}

#[salsa::db]
impl salsa::Database for TestDb {}

#[salsa::db]
impl packem_db::Db for TestDb {
    fn files(&self) -> &Files {
        &self.files
    }
}

#[salsa::db]
impl packem_resolve::Db for TestDb {
    fn resolvers(&self) -> &Resolvers {
        &self.resolvers
    }
}

/// `tests/fixtures/resolve` in the workspace.
pub fn fixtures_root() -> Utf8PathBuf {
    Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/resolve")
        .canonicalize_utf8()
        .expect("fixtures exist")
}

/// The canonical path of fixture `case`.
pub fn fixture(case: &str) -> Utf8PathBuf {
    fixtures_root().join(case)
}

/// A temporary copy of fixture `case`; the returned path is canonical.
pub struct TempFixture {
    _dir: tempfile::TempDir,
    pub root: Utf8PathBuf,
}

pub fn temp_fixture(case: &str) -> TempFixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = Utf8PathBuf::from_path_buf(dir.path().canonicalize().expect("canonical temp dir"))
        .expect("utf-8 temp dir")
        .join(case);
    copy_dir(&fixture(case), &root);
    TempFixture { _dir: dir, root }
}

fn copy_dir(from: &Utf8Path, to: &Utf8Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in from.read_dir_utf8().expect("read fixture dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

pub fn project(db: &TestDb, options: ProjectOptions) -> Project {
    let scope = packem_db::ResolveScope::new(db, options, 0);
    Project::new(db, Vec::new(), scope, Default::default(), Default::default())
}

/// Options for `platform` with `cwd` set.
pub fn options(cwd: &Utf8Path, platform: packem_db::Platform) -> ProjectOptions {
    ProjectOptions { cwd: cwd.to_owned(), platform, ..Default::default() }
}

/// Resolves `specifier` from `dir` and clones the answer.
pub fn resolve_in(db: &TestDb, project: Project, dir: &Utf8Path, specifier: &str, kind: ResolveKind) -> Resolution {
    let request = ResolveRequest::new(db, project.scope(db), dir.to_owned(), specifier.to_string(), kind);
    resolve(db, request).clone()
}

/// The resolved file, panicking with the resolution otherwise.
#[track_caller]
pub fn expect_file(resolution: &Resolution) -> Utf8PathBuf {
    match resolution {
        Resolution::File { path, .. } => path.clone(),
        other => panic!("expected a file, got {other:?}"),
    }
}

/// Re-syncs every path the database knows about and clears the resolver caches, as the host does
/// after file-system events.
pub fn sync_all(db: &mut TestDb) {
    let paths = db.files.paths();
    for path in paths {
        Files::sync_path(db, &path);
    }
    db.resolvers.clear_caches();
}
