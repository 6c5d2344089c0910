//! Shared helpers for packem's integration tests: temp projects on disk driven through a
//! [`Workspace`], with the executed queries named by file.
#![allow(clippy::disallowed_methods)] // test and benchmark support writes fixtures directly

use camino::{Utf8Path, Utf8PathBuf};
use packem_db::{CompileOptions, Platform, ProjectOptions};
use packem_host::{PackemDatabase, Workspace};
use salsa::plumbing::AsId;

/// A project in a temp directory, open in a workspace whose event log records executed queries.
pub struct TestProject {
    root: Utf8PathBuf,
    /// The workspace under test.
    pub ws: Workspace,
    _dir: tempfile::TempDir,
}

impl TestProject {
    /// Writes `files` (relative path, contents) and opens a workspace on `entries`.
    pub fn new(files: &[(&str, &str)], entries: &[&str]) -> Self {
        Self::with_platform(files, entries, Platform::Browser)
    }

    /// Like [`TestProject::new`] for a given platform.
    pub fn with_platform(files: &[(&str, &str)], entries: &[&str], platform: Platform) -> Self {
        Self::with_compile(files, entries, platform, CompileOptions::default())
    }

    /// Like [`TestProject::with_platform`] with compile options (loaders, JSX, define, target).
    pub fn with_compile(files: &[(&str, &str)], entries: &[&str], platform: Platform, compile: CompileOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().canonicalize().unwrap()).unwrap();
        for (path, text) in files {
            write_file(&root.join(path), text);
        }
        let options = ProjectOptions { cwd: root.clone(), platform, ..ProjectOptions::default() };
        let db = PackemDatabase::new();
        db.events().enable();
        let ws = Workspace::with_compile(db, entries.iter().map(|e| root.join(e)).collect(), options, compile);
        Self { root, ws, _dir: dir }
    }

    /// Replaces the workspace with a new one on a fresh database (another process, in effect)
    /// with the same entries, options and compile options, its event log on; with `cache`, it
    /// opens that persistent cache first and returns the warning opening it gave.
    pub fn restart(&mut self, cache: Option<&Utf8Path>) -> Option<String> {
        let (entries, options, compile) = {
            let db = self.ws.db();
            let project = self.ws.project();
            (project.entries(db).clone(), project.options(db).clone(), project.compile(db).clone())
        };
        let db = PackemDatabase::new();
        db.events().enable();
        self.ws = Workspace::with_compile(db, entries, options, compile);
        cache.and_then(|dir| self.ws.open_cache(dir))
    }

    /// The absolute path of `rel`.
    pub fn path(&self, rel: &str) -> Utf8PathBuf {
        self.root.join(rel)
    }

    /// The project root.
    pub fn root(&self) -> &Utf8Path {
        &self.root
    }

    /// Writes a file and tells the workspace.
    pub fn write(&mut self, rel: &str, text: &str) {
        let path = self.path(rel);
        write_file(&path, text);
        self.ws.apply_changes([path]);
    }

    /// Deletes a file and tells the workspace.
    pub fn remove(&mut self, rel: &str) {
        let path = self.path(rel);
        std::fs::remove_file(&path).unwrap();
        self.ws.apply_changes([path]);
    }

    /// Renames a file or directory and tells the workspace about both paths.
    pub fn rename(&mut self, from: &str, to: &str) {
        let (from, to) = (self.path(from), self.path(to));
        std::fs::rename(&from, &to).unwrap();
        self.ws.apply_changes([from, to]);
    }

    /// Makes `rel` a file being edited, as after its first save in a session: touches it with the
    /// same bytes, brings the graph and diagnostics up to date and drops the events. A file's
    /// first change drops its contents' durability from MEDIUM to LOW, which re-runs what
    /// depends on it once (salsa cannot backdate across a drop); tests of steady-state edits
    /// start here.
    pub fn start_editing(&mut self, rel: &str) {
        let text = std::fs::read_to_string(self.path(rel)).unwrap();
        self.write(rel, &text);
        let _ = self.ws.module_graph();
        let _ = self.ws.diagnostics();
        self.executed();
    }

    /// Queries executed since the last call, as sorted `query(file)` strings (file relative to the
    /// root; keys that are not files are left out, e.g. `module_graph`, `resolve`).
    pub fn executed(&self) -> Vec<String> {
        let db = self.ws.db();
        let files = packem_db::Db::files(db);
        let mut out: Vec<String> = db
            .events()
            .take()
            .into_iter()
            .map(|key| {
                use salsa::Database as _;
                let name = db.ingredient_debug_name(key.ingredient_index()).to_string();
                // File-keyed queries name their file; Source-keyed ones their source's file.
                let file = match name.as_str() {
                    "source_text" | "source_bytes" | "node_esm_interop" => {
                        files.paths().into_iter().find(|p| files.get(p).is_some_and(|f| f.as_id() == key.key_index()))
                    }
                    "parsed_module" | "module_scan" | "module_summary" | "parsed_summary" | "file_diagnostics"
                    | "parsed_diagnostics" | "module_symbols" | "parsed_symbols" => {
                        let source = <packem_parse::Source as salsa::plumbing::FromId>::from_id(key.key_index());
                        Some(source.file(db).path(db).clone())
                    }
                    _ => None,
                };
                match file {
                    Some(path) => format!("{name}({})", path.strip_prefix(&self.root).unwrap_or(&path)),
                    None => name,
                }
            })
            .collect();
        out.sort();
        out
    }
}

/// The three-module app most build tests start from: `src/main.js` imports `total` from
/// `src/math.js` (which also exports an unused constant) and `src/format.js` as a namespace.
pub fn app() -> TestProject {
    TestProject::new(
        &[
            (
                "src/main.js",
                "import { total } from './math.js';\nimport * as fmt from './format.js';\nconsole.log(fmt.money(total(2, 3)));\n",
            ),
            ("src/math.js", "export function total(a, b) {\n  return a + b;\n}\nexport const unused = 1;\n"),
            ("src/format.js", "export function money(n) {\n  return '$' + n.toFixed(2);\n}\n"),
        ],
        &["src/main.js"],
    )
}

fn write_file(path: &Utf8Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}
