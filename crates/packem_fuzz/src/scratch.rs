//! Scratch directories: one per target run, removed afterwards.

use camino::{Utf8Path, Utf8PathBuf};

/// A fresh, empty directory (canonical path), deleted with everything in it on drop.
pub struct Scratch {
    root: Utf8PathBuf,
    _dir: tempfile::TempDir,
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Scratch {
    /// A new scratch directory.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("packem-fuzz").tempdir().expect("a temp dir");
        let root = Utf8PathBuf::from_path_buf(dir.path().canonicalize().expect("a canonical temp dir"))
            .expect("a UTF-8 temp dir");
        Self { root, _dir: dir }
    }

    /// Its path.
    pub fn root(&self) -> &Utf8Path {
        &self.root
    }

    /// Writes `bytes` at `rel` (creating directories); a path the file system refuses, or one
    /// that leaves the directory, is skipped, since the generators make odd names on purpose.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> bool {
        if rel.split('/').any(|c| c == "..") || rel.starts_with('/') {
            return false;
        }
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::write(&path, bytes).is_ok()
    }
}
