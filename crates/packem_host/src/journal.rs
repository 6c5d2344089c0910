//! The journal: what a build saw on disk, so that a later process with the same command line can
//! tell, with a `stat` per path and nothing else, that nothing it depends on changed and the
//! outputs on disk are the ones it would write (a no-op build; for `packem check`, a check that
//! would report nothing). Kept in the persistent cache
//! under [`StoredKind::Journal`], keyed by [`journal_key`].
//!
//! **What is observed.** Every path the database asked about ([`packem_db::Files`]: each file
//! read, each path the resolver probed, found or missing) with its stamp (size, mtime and ctime
//! in ns, inode, device) or its absence, and every directory above any of them with its stamp: a
//! directory's mtime moves whenever an entry is created, deleted or renamed in it, which covers
//! what the resolver might find now that it did not then (a new `package.json`, `index.js` or
//! `node_modules` folder) even where it did not report the probe; above the working directory
//! only the probed paths count, since directories such as the home directory or `/tmp` change
//! all the time. Then each output the build left in place, with its stamp after the write.
//!
//! **Soundness.** A journal is recorded only when every input stamp is older than the build's
//! start by more than the file system's timestamp granularity (git's racy rule,
//! [`packem_cache::is_racy`]): a file changed while the build ran, or just before it, could
//! otherwise keep a stamp equal to the one recorded. Builds with diagnostics record none, so that
//! a warning prints on every build. Virtual paths (other targets' outputs, context modules) are
//! not files; they come from files that are. What it cannot see: a change to a file the
//! resolver reads internally without reporting it (a tsconfig `extends`ed from a package), made
//! in place; `packem cache clean` or `--no-cache` rebuilds.

use camino::{Utf8Path, Utf8PathBuf};
use packem_cache::FileStamp;
use packem_db::Db as _;
use packem_db::stored::StoredKind;
use serde::{Deserialize, Serialize};

use crate::Workspace;

/// What one path looked like: its stamp, or `None` when nothing was there.
type Seen = Option<FileStamp>;

/// A build's observations and what it reported.
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    /// Inputs and their directories, sorted by path.
    inputs: Vec<(String, Seen)>,
    /// The outputs, as left on disk.
    outputs: Vec<(String, Seen)>,
    /// The outputs' display paths and sizes, as the build reported them.
    summary: Vec<(String, u64)>,
}

/// The key of the journal of a build run with `args` (every command-line argument) from `cwd`, by
/// this binary.
pub fn journal_key(args: &[std::ffi::OsString], cwd: &Utf8Path) -> u128 {
    let mut key = packem_db::stored::KeyHasher::new("journal");
    key.value(&crate::build_id()).bytes(cwd.as_str().as_bytes());
    for arg in args {
        key.bytes(arg.as_encoded_bytes());
    }
    key.finish()
}

impl Workspace {
    /// When the journal under `key` shows every input and output as it was, the outputs' display
    /// paths and sizes as that build reported them: the outputs on disk are the ones this build
    /// would write. `None` otherwise (then build). Needs an open cache and no overlays.
    pub fn unchanged_since_journal(&self, key: u128) -> Option<Vec<(String, u64)>> {
        let _span = tracing::info_span!("check_journal").entered();
        let bytes = self.persistence.as_ref()?.stored(StoredKind::Journal, key)?;
        let journal: Journal = postcard::from_bytes(&bytes).ok()?;
        let paths: Vec<&(String, Seen)> = journal.inputs.iter().chain(&journal.outputs).collect();
        let changed = self.pool.install(|| {
            use rayon::prelude::*;
            paths.par_iter().find_any(|(path, seen)| FileStamp::of(Utf8Path::new(path)) != *seen).map(|(path, _)| path)
        });
        let same = changed.is_none();
        tracing::debug!(same, paths = paths.len(), changed, "journal checked");
        same.then_some(journal.summary)
    }

    /// Records, for the next [`Workspace::save_cache`], what this build saw (every path the
    /// database knows, their directories, and `read`: files the front end read itself, such as
    /// `packem.json`) and left (`outputs`, absolute), with the `summary` it reported, under
    /// `key`. `started_ns` is when the build began: a journal with an input modified since
    /// shortly before then is not recorded. Returns whether it was.
    pub fn record_journal(
        &mut self,
        key: u128,
        started_ns: i64,
        read: &[Utf8PathBuf],
        outputs: &[Utf8PathBuf],
        summary: Vec<(String, u64)>,
    ) -> bool {
        let _span = tracing::info_span!("record_journal").entered();
        if self.persistence.is_none() {
            return false;
        }
        let files = self.db.files();
        let cwd = self.project().options(&self.db).cwd.clone();
        // The paths the database asked about, as it saw them (stamped by the same `stat` that
        // read their status: what the build used, with no second system call)...
        let mut inputs: Vec<(String, Seen)> = files
            .paths()
            .into_iter()
            .filter(|path| !packem_db::files::is_virtual(path))
            .map(|path| {
                let seen = files.observed_stamp(&path).unwrap_or_else(|| FileStamp::of(&path));
                (path.into_string(), seen)
            })
            .collect();
        // ...and their directories, now. Directories above the working directory (the home
        // directory, `/tmp`) change all the time for reasons of their own; there, the paths the
        // resolver probed stand alone.
        let dirs: Vec<Utf8PathBuf> = files.dirs().into_iter().filter(|dir| dir.starts_with(&cwd)).collect();
        inputs.extend(self.in_parallel(&dirs, |_, dir| (dir.to_string(), FileStamp::of(dir))));
        inputs.extend(read.iter().map(|path| (path.to_string(), FileStamp::of(path))));
        inputs.sort_by(|a, b| a.0.cmp(&b.0));
        inputs.dedup_by(|a, b| a.0 == b.0);
        if let Some((path, _)) =
            inputs.iter().find(|(_, seen)| seen.as_ref().is_some_and(|stamp| packem_cache::is_racy(stamp, started_ns)))
        {
            tracing::debug!(%path, "not journaled: an input changed too recently");
            return false;
        }
        let outputs: Vec<(String, Seen)> = outputs.iter().map(|path| (path.to_string(), FileStamp::of(path))).collect();
        if outputs.iter().any(|(_, seen)| seen.is_none()) {
            return false;
        }
        let journal = Journal { inputs, outputs, summary };
        let Ok(bytes) = postcard::to_allocvec(&journal) else { return false };
        if let Some(persistence) = self.persistence.as_mut() {
            persistence.journal = Some((key, bytes));
        }
        true
    }
}
