//! Corpora for packem's benchmarks: copies of npm packages installed by `cargo xtask fixtures`.

use camino::{Utf8Path, Utf8PathBuf};

/// `.fixtures/npm` at the workspace root, or a panic telling how to create it.
pub fn npm_fixtures() -> Utf8PathBuf {
    let dir = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join(".fixtures/npm");
    assert!(dir.join("node_modules/.packem-stamp").exists(), "run `cargo xtask fixtures` first");
    dir
}

/// A private copy of `three/src` (so benchmarks may edit it) with an entry re-exporting it.
pub struct ThreeCopy {
    /// The temp directory holding the copy; deleted on drop.
    pub dir: tempfile::TempDir,
    /// The entry file.
    pub entry: Utf8PathBuf,
    /// A leaf module edited by the rebuild benchmark.
    pub leaf: Utf8PathBuf,
}

impl ThreeCopy {
    /// Copies `three/src` into a new temp directory.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().canonicalize().unwrap()).unwrap();
        copy_dir(&npm_fixtures().join("node_modules/three/src"), &root.join("src"));
        let entry = root.join("entry.js");
        std::fs::write(&entry, "export * from './src/Three.js';\n").unwrap();
        Self { dir, entry, leaf: root.join("src/math/MathUtils.js") }
    }
}

impl Default for ThreeCopy {
    fn default() -> Self {
        Self::new()
    }
}

fn copy_dir(from: &Utf8Path, to: &Utf8Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in from.read_dir_utf8().unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
