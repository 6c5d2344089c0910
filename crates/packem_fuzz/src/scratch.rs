//! Scratch directories: one per target run, under one temporary directory per process.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use camino::{Utf8Path, Utf8PathBuf};

/// A fresh, empty directory (canonical path), deleted with everything in it on drop.
pub struct Scratch {
    root: Utf8PathBuf,
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Scratch {
    /// A new scratch directory.
    pub fn new() -> Self {
        static BASE: OnceLock<tempfile::TempDir> = OnceLock::new();
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let base = BASE.get_or_init(|| tempfile::Builder::new().prefix("packem-fuzz").tempdir().expect("a temp dir"));
        let base = Utf8PathBuf::from_path_buf(base.path().canonicalize().expect("canonical temp dir"))
            .expect("a UTF-8 temp dir");
        let root = base.join(NEXT.fetch_add(1, Ordering::Relaxed).to_string());
        std::fs::create_dir_all(&root).expect("creating a scratch directory");
        Self { root }
    }

    /// Its path.
    pub fn root(&self) -> &Utf8Path {
        &self.root
    }

    /// Writes `bytes` at `rel` (creating directories); a path the file system refuses is
    /// skipped, since the generators make odd names on purpose.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> bool {
        let path = self.root.join(rel);
        if !path.starts_with(&self.root) {
            return false;
        }
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::write(&path, bytes).is_ok()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
