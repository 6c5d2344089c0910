//! End-to-end: the real binary in `--watch` mode on a temp project, driven by real file-system
//! edits; after each edit the bundle on disk must become exactly what a fresh build writes.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Watch {
    child: Child,
    dir: tempfile::TempDir,
    /// Flags beyond the entry, `--outdir=dist` and `--platform=node` (for the watch and the cold builds).
    extra: Vec<String>,
}

impl Watch {
    fn start(files: &[(&str, &str)]) -> Self {
        Self::start_with(files, &[])
    }

    fn start_with(files: &[(&str, &str)], extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            write(&dir.path().join(path), text);
        }
        let child = Command::new(env!("CARGO_BIN_EXE_packem"))
            .current_dir(dir.path())
            .args(["build", "src/main.js", "--outdir=dist", "--watch", "--platform=node"])
            .args(extra)
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Self { child, dir, extra: extra.iter().map(|s| s.to_string()).collect() }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// What a fresh `packem build` of the current files writes.
    fn cold_build(&self) -> Option<Vec<u8>> {
        let out = tempfile::tempdir().unwrap();
        let status = Command::new(env!("CARGO_BIN_EXE_packem"))
            .current_dir(self.dir.path())
            .args(["build", "src/main.js", "--platform=node", "--log-level=silent"])
            .args(&self.extra)
            .arg(format!("--outdir={}", out.path().display()))
            .status()
            .unwrap();
        status.success().then(|| std::fs::read(out.path().join("main.js")).unwrap())
    }

    /// Waits until the watched output equals a cold build of the current files.
    fn wait_for_cold_output(&self) -> Vec<u8> {
        let expected = self.cold_build().expect("the current state builds");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if std::fs::read(self.path("dist/main.js")).ok().as_ref() == Some(&expected) {
                return expected;
            }
            assert!(Instant::now() < deadline, "the watcher never wrote the expected bundle");
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn run_bundle(&self) -> String {
        let out = Command::new("node").arg(self.path("dist/main.js")).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Closes stdin and returns the exit status and everything printed on stderr.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "watch did not exit after stdin closed");
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        (status, stderr)
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// An editor's atomic save: write a temporary file next to the target, then rename it over.
fn atomic_save(path: &Path, text: &str) {
    let tmp = path.with_extension("js.tmp~");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn watch_rebuilds_after_real_file_system_edits() {
    let w = Watch::start(&[
        ("src/main.js", "import { a } from './a.js';\nimport { b } from './b.js';\nconsole.log(a, b);\n"),
        ("src/a.js", "export const a = 1;\n"),
    ]);
    // The first build fails (./b.js is missing) and writes nothing.
    std::thread::sleep(Duration::from_millis(500));
    assert!(!w.path("dist/main.js").exists());

    // Creating the missing file fixes the build.
    write(&w.path("src/b.js"), "export const b = 2;\n");
    w.wait_for_cold_output();
    assert_eq!(w.run_bundle(), "1 2\n");

    // An atomic save (temp file + rename) is an edit.
    atomic_save(&w.path("src/a.js"), "export const a = 'saved';\n");
    w.wait_for_cold_output();
    assert_eq!(w.run_bundle(), "saved 2\n");

    // A new directory with a module, and an import of it.
    write(&w.path("src/lib/c.js"), "export const c = 3;\n");
    atomic_save(
        &w.path("src/main.js"),
        "import { a } from './a.js';\nimport { b } from './b.js';\nimport { c } from './lib/c.js';\nconsole.log(a, b, c);\n",
    );
    w.wait_for_cold_output();
    assert_eq!(w.run_bundle(), "saved 2 3\n");

    // A package whose `exports` map changes.
    write(&w.path("node_modules/pkg/package.json"), r#"{ "name": "pkg", "exports": "./one.js" }"#);
    write(&w.path("node_modules/pkg/one.js"), "export default 'one';\n");
    write(&w.path("node_modules/pkg/two.js"), "export default 'two';\n");
    atomic_save(
        &w.path("src/main.js"),
        "import pkg from 'pkg';\nimport { c } from './lib/c.js';\nconsole.log(pkg, c);\n",
    );
    w.wait_for_cold_output();
    assert_eq!(w.run_bundle(), "one 3\n");
    write(&w.path("node_modules/pkg/package.json"), r#"{ "name": "pkg", "exports": "./two.js" }"#);
    w.wait_for_cold_output();
    assert_eq!(w.run_bundle(), "two 3\n");

    // Deleting an imported file is an error: the last good output stays.
    let good = std::fs::read(w.path("dist/main.js")).unwrap();
    std::fs::remove_file(w.path("src/lib/c.js")).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(std::fs::read(w.path("dist/main.js")).unwrap(), good);

    // Restoring it rebuilds.
    write(&w.path("src/lib/c.js"), "export const c = 'back';\n");
    w.wait_for_cold_output();
    assert_eq!(w.run_bundle(), "two back\n");

    let (status, stderr) = w.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("kept the last good output"), "{stderr}");
    assert!(stderr.contains("queries re-ran"), "{stderr}");
}

#[test]
fn watch_follows_asset_edits_and_copies_one_asset_per_new_import() {
    let w = Watch::start_with(
        &[
            (
                "src/main.js",
                "import note from './note.txt';\nimport logo from './logo.png';\nconsole.log(note, logo.length > 0);\n",
            ),
            ("src/note.txt", "first"),
            ("src/logo.png", "a logo"),
            ("src/icon.png", "an icon"),
        ],
        &["--loader:.png=file"],
    );
    w.wait_for_cold_output();
    assert_eq!(w.run_bundle(), "first true\n");
    let assets = |w: &Watch| -> Vec<(String, std::time::SystemTime)> {
        let mut out: Vec<_> = std::fs::read_dir(w.path("dist"))
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".png"))
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.metadata().unwrap().modified().unwrap()))
            .collect();
        out.sort();
        out
    };
    let before = assets(&w);
    assert_eq!(before.len(), 1, "{before:?}");

    // Editing the text asset rebuilds with its new contents.
    write(&w.path("src/note.txt"), "second");
    w.wait_for_cold_output();
    assert_eq!(w.run_bundle(), "second true\n");

    // A new asset import writes one asset; the old one is left as it is.
    atomic_save(
        &w.path("src/main.js"),
        "import note from './note.txt';\nimport logo from './logo.png';\nimport icon from './icon.png';\nconsole.log(note, logo !== icon);\n",
    );
    w.wait_for_cold_output();
    assert_eq!(w.run_bundle(), "second true\n");
    let after = assets(&w);
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(after.contains(&before[0]), "the logo was rewritten: {before:?} -> {after:?}");

    // Editing an image renames its asset (a new hash): the stale copy is deleted.
    write(&w.path("src/icon.png"), "a new icon");
    w.wait_for_cold_output();
    let edited = assets(&w);
    assert_eq!(edited.len(), 2, "{edited:?}");
    assert!(edited.contains(&before[0]), "{edited:?}");
    let (status, stderr) = w.stop();
    assert!(status.success(), "{stderr}");
}

/// An edit made while the first build runs, after it read the file and before the watcher
/// watches its directory (here: the moment the first output appears, while the session still
/// saves its cache), is rebuilt all the same: the watcher looks for such changes once its
/// watches are in place. Without that look the edit was lost until the next one.
/// Both an imported module and the entry (whose status the workspace read before the watcher
/// started recording stamps), with and without the persistent cache.
#[test]
fn an_edit_made_during_the_first_build_is_not_lost() {
    for round in 0..8 {
        let extra: &[&str] = if round < 4 { &[] } else { &["--no-cache"] };
        let w = Watch::start_with(
            &[
                ("src/main.js", "import { a } from './a.js';\nconsole.log(a);\n"),
                ("src/a.js", "export const a = 'first';\n"),
            ],
            extra,
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while !w.path("dist/main.js").exists() {
            assert!(Instant::now() < deadline, "the first build never wrote");
            std::thread::sleep(Duration::from_micros(200));
        }
        let expected = if round % 2 == 0 {
            write(&w.path("src/a.js"), &format!("export const a = 'second {round}';\n"));
            format!("second {round}\n")
        } else {
            write(&w.path("src/main.js"), &format!("import {{ a }} from './a.js';\nconsole.log(a, {round});\n"));
            format!("first {round}\n")
        };
        w.wait_for_cold_output();
        assert_eq!(w.run_bundle(), expected);
        let (status, _) = w.stop();
        assert!(status.success());
    }
}

#[test]
fn watch_forever_ignores_stdin_closing() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("src/main.js"), "console.log(1);\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_packem"))
        .current_dir(dir.path())
        .args(["build", "src/main.js", "--outdir=dist", "--watch=forever", "--log-level=silent"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert!(child.try_wait().unwrap().is_none(), "--watch=forever must keep running");
    assert!(dir.path().join("dist/main.js").exists());
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn watch_with_the_output_next_to_the_sources_still_sees_edits() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("main.js"), "console.log('one');\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_packem"))
        .current_dir(dir.path())
        .args(["build", "main.js", "--outfile=bundle.js", "--platform=node", "--watch", "--log-level=silent"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let out = dir.path().join("bundle.js");
    let wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !std::fs::read_to_string(&out).is_ok_and(|code| code.contains(needle)) {
            assert!(Instant::now() < deadline, "the watcher never wrote {needle:?}");
            std::thread::sleep(Duration::from_millis(25));
        }
    };
    wait_for("one");
    write(&dir.path().join("main.js"), "console.log('two');\n");
    wait_for("two");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn watch_adds_and_removes_the_members_of_a_context_module() {
    let w = Watch::start(&[
        (
            "src/main.js",
            "const names = ['en', 'fr'];\n\
             const load = (n) => import(`./locale/${n}.js`).then((m) => m.default, () => 'none');\n\
             Promise.all(names.map(load)).then((v) => console.log(v.join(' ')));\n",
        ),
        ("src/locale/en.js", "export default 'hello';\n"),
    ]);
    w.wait_for_cold_output();
    assert_eq!(w.run_bundle(), "hello none\n");

    // A new file matching the pattern joins the context module.
    write(&w.path("src/locale/fr.js"), "export default 'bonjour';\n");
    w.wait_for_cold_output();
    assert_eq!(w.run_bundle(), "hello bonjour\n");

    // A deleted one leaves it.
    std::fs::remove_file(w.path("src/locale/en.js")).unwrap();
    w.wait_for_cold_output();
    assert_eq!(w.run_bundle(), "none bonjour\n");

    // A file that does not match changes nothing.
    write(&w.path("src/locale/notes.txt"), "notes\n");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(w.run_bundle(), "none bonjour\n");

    let (status, stderr) = w.stop();
    assert!(status.success(), "{stderr}");
}
