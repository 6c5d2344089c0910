//! Applying changes: turning changed paths (from a watcher, the language server or a rescan) into
//! input updates. Only this file and the cells' sync (`cells.rs`) set inputs after a workspace is
//! made.

use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};
use packem_db::files::FileChange;
use packem_db::{FileStatus, Files, ResolveScope};
use salsa::Setter;

use crate::{ChangeSummary, Workspace};

impl Workspace {
    /// Applies changes to `paths` (created, modified, deleted or renamed files and directories).
    ///
    /// Takes `&mut self`: salsa cancels every running snapshot and waits for it before the first
    /// input is set, so clearing oxc_resolver's cache afterwards cannot race a resolution.
    pub fn apply_changes(&mut self, paths: impl IntoIterator<Item = Utf8PathBuf>) -> ChangeSummary {
        self.changes += 1;
        let _span = tracing::info_span!("apply_changes").entered();
        let mut summary = ChangeSummary::default();
        let mut structure_changed = false;
        // Only paths the build looked at, directories holding them, and config files above them
        // matter. Watching ancestors of missing paths (up to `/` for `node_modules` lookups) sees
        // unrelated files come and go; those must not invalidate resolution. Each is decided by
        // lookups (`Files` keeps the ancestors of every known path), never by a scan.
        let relevant = |files: &Files, path: &Utf8Path| {
            let holds_known = |dir: &Utf8Path| files.get(dir).is_some() || files.holds_known(dir);
            holds_known(path) || (is_resolution_config(path) && path.parent().is_some_and(holds_known))
        };
        let mut queue: Vec<Utf8PathBuf> = Vec::new();
        // The paths the caller reported (not ancestors added below).
        let mut reported = rustc_hash::FxHashSet::default();
        for path in paths {
            if packem_db::files::is_virtual(&path) {
                continue;
            }
            // A path appeared in or vanished from a directory a context module lists.
            if let Some(parent) = path.parent()
                && Files::sync_listing(&mut self.db, parent)
            {
                summary.changed.push(parent.to_owned());
            }
            let files = packem_db::Db::files(&self.db);
            // A file created in a new directory may be reported alone; the directory (which
            // resolution saw missing) is what the queries depend on: re-check known ancestors.
            queue.extend(path.ancestors().skip(1).filter(|a| files.get(a).is_some()).map(Utf8Path::to_owned));
            if relevant(files, &path) {
                reported.insert(path.clone());
                queue.push(path);
            }
        }
        let mut seen = rustc_hash::FxHashSet::default();
        while let Some(path) = queue.pop() {
            if !seen.insert(path.clone()) {
                continue;
            }
            // A `.json` file someone read that is not a module: a tsconfig `extends` base.
            let config = is_resolution_config(&path)
                || (path.extension() == Some("json")
                    && packem_db::Db::files(&self.db)
                        .get(&path)
                        .is_some_and(|file| !self.facts.source_cells.contains_key(&file)));
            let was_dir =
                packem_db::Db::files(&self.db).get(&path).is_some_and(|f| f.status(&self.db) == FileStatus::Directory);
            let is_dir = path.is_dir();
            let change = Files::sync_path(&mut self.db, &path);
            // A directory a context module lists, itself created, deleted or moved (or re-checked
            // by a rescan): its listing is read again.
            if (is_dir || was_dir) && Files::sync_listing(&mut self.db, &path) {
                summary.changed.push(path.clone());
            }
            match change {
                Some(FileChange::Unchanged) => {}
                Some(change) => {
                    structure_changed |= matches!(change, FileChange::Created | FileChange::Deleted) || config;
                    summary.changed.push(path.clone());
                }
                // Nobody looked at this path, but a new package.json or tsconfig can still change
                // how an existing import resolves, and the resolver may have cached its absence.
                None => structure_changed |= config,
            }
            if config || is_dir || was_dir {
                summary.resolution_invalidated = true;
            }
            // A directory created, deleted or moved carries its contents along without an event
            // per file: re-check every known path beneath it. A path that is gone may have been
            // a directory nobody stat'ed itself (only files in it were read). An ancestor that
            // stayed a directory (added above for a child's event) carried nothing along.
            let moved = reported.contains(&path) || change != Some(FileChange::Unchanged);
            if moved && (is_dir || was_dir || !path.exists()) {
                let files = packem_db::Db::files(&self.db);
                let all = files.paths();
                let start = all.partition_point(|k| k.as_path() <= path.as_path());
                queue.extend(all[start..].iter().take_while(|p| p.starts_with(&path)).cloned());
            }
        }
        summary.changed.sort();
        if summary.resolution_invalidated {
            self.bump_resolution_epoch();
            structure_changed = true;
        }
        if structure_changed {
            self.db.resolvers_handle().clear_caches();
            self.mark_cold();
        }
        // A tsconfig.json may have changed JSX or target settings: every source is re-derived.
        if summary.resolution_invalidated {
            self.facts.stale.extend(self.units.iter().map(|unit| unit.project));
        }
        self.sync_fact_cells();
        summary
    }

    /// Makes every resolution re-run (each answers the same question again; equal answers
    /// backdate).
    pub(crate) fn bump_resolution_epoch(&mut self) {
        let scopes: Vec<ResolveScope> = self.scopes.values().copied().collect();
        for scope in scopes {
            let epoch = scope.epoch(&self.db);
            scope.set_epoch(&mut self.db).to(epoch + 1);
        }
    }

    pub(crate) fn mark_cold(&self) {
        for unit in &self.units {
            unit.cold.mark();
        }
    }

    /// The files and missing paths whose stamp on disk is no longer the one the database saw
    /// when it last read their status (needs [`Files::record_reads`]), sorted: changes made after
    /// a build looked at a path and before a watcher watched its directory. A watcher that starts
    /// watching after a build asks this once its watches are in place, so an edit made during
    /// the build is not lost. Directories are left out (writing the outputs moves their stamps).
    pub fn changed_since_read(&self) -> Vec<Utf8PathBuf> {
        let files = packem_db::Db::files(&self.db);
        let seen: Vec<(Utf8PathBuf, Option<packem_cache::FileStamp>)> = files
            .paths()
            .into_iter()
            .filter(|path| !packem_db::files::is_virtual(path))
            .filter(|path| files.get(path).is_some_and(|file| file.status(&self.db) != FileStatus::Directory))
            .filter_map(|path| files.observed_stamp(&path).map(|stamp| (path, stamp)))
            .collect();
        self.in_parallel(&seen, |_, (path, stamp)| (packem_cache::FileStamp::of(path) != *stamp).then(|| path.clone()))
            .into_iter()
            .flatten()
            .collect()
    }

    /// Re-checks every known path (after a watcher lost events, or on request).
    pub fn rescan(&mut self) -> ChangeSummary {
        let paths = packem_db::Db::files(&self.db).paths();
        let mut summary = self.apply_changes(paths);
        if !summary.resolution_invalidated {
            self.bump_resolution_epoch();
            self.db.resolvers_handle().clear_caches();
            summary.resolution_invalidated = true;
        }
        summary
    }

    /// Directories a watcher must watch (non-recursively) so that every change that can affect
    /// the build is seen: the directory of every file read, and for every path that was looked
    /// for and not found, its nearest existing ancestor (so creating it is seen). Sorted.
    pub fn watch_directories(&self) -> Vec<Utf8PathBuf> {
        let files = packem_db::Db::files(&self.db);
        let mut dirs = std::collections::BTreeSet::new();
        for path in files.paths() {
            let Some(file) = files.get(&path) else { continue };
            if packem_db::files::is_virtual(&path) {
                continue;
            }
            let dir = match file.status(&self.db) {
                FileStatus::Directory => Some(path.clone()),
                FileStatus::Exists => path.parent().map(Utf8Path::to_owned),
                FileStatus::Missing => {
                    let mut ancestor = path.parent();
                    while let Some(a) = ancestor {
                        if a.is_dir() {
                            break;
                        }
                        ancestor = a.parent();
                    }
                    ancestor.map(Utf8Path::to_owned)
                }
            };
            dirs.extend(dir);
        }
        dirs.into_iter().collect()
    }

    /// Sets (or with `None` clears) an editor's unsaved text for `path`.
    pub fn set_overlay(&mut self, path: &Utf8Path, text: Option<Arc<str>>) {
        self.changes += 1;
        Files::set_overlay(&mut self.db, path, text);
        self.sync_fact_cells();
    }
}

/// Whether a change to `path` can change how imports resolve anywhere (oxc_resolver reads these
/// files once and caches them, so their reads are not recorded per query).
fn is_resolution_config(path: &Utf8Path) -> bool {
    match path.file_name() {
        Some("package.json") => true,
        Some(name) => (name.starts_with("tsconfig") || name.starts_with("jsconfig")) && name.ends_with(".json"),
        None => false,
    }
}
