//! The host: the one concrete salsa database and the workspace that owns it.
//!
//! Both front ends (the CLI and, later, the LSP server) hold a [`Workspace`]. It is the only
//! writer of inputs: [`Workspace::apply_changes`] turns changed paths into input updates (file
//! status and revision, the resolution epoch for `package.json`/`tsconfig.json` and directory
//! changes) and clears oxc_resolver's cache while no query is running. Reads go through queries,
//! warmed in parallel by [`Workspace::module_graph`] with one database clone per rayon job
//! (salsa 0.28 has no parallel query API).

pub mod config;
mod database;
mod log;
pub use log::init_tracing_from_env;
mod outputs;
mod prewarm;

use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};
use packem_db::files::FileChange;
use packem_db::{CompileOptions, Diagnostic, FileStatus, Files, Project, ProjectOptions};
use salsa::Setter;

pub use database::PackemDatabase;
pub use outputs::BundleOutputs;
pub use packem_emit::{
    Bundle, ChunkNaming, ChunkOutput, EmitOptions, Format, LegalComments, ManglePropsOptions, SourceMapMode,
    SourceMapOptions, Target,
};
pub use packem_graph::{Edge, EdgeTarget, ModuleGraph, ModuleId, ModuleNode};
pub use packem_link::ChunkKind;

/// What [`Workspace::apply_changes`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSummary {
    /// Paths whose input changed (created, deleted or modified).
    pub changed: Vec<Utf8PathBuf>,
    /// Whether resolution as a whole was invalidated (a package.json, tsconfig or directory changed).
    pub resolution_invalidated: bool,
}

/// A project open in a database: the unit the CLI builds and the LSP server serves.
pub struct Workspace {
    project: Project,
    /// Set when many memos may be missing (first build, files created or deleted, resolution or
    /// options changed): the next build warms them in parallel. A warm rebuild skips that, since
    /// re-validating every module in parallel costs more than the few queries an edit re-runs.
    cold: Arc<Cold>,
    target: Option<Target>,
    /// The link output the target's link cells were last synced with (held, so its address
    /// identifies it).
    synced_link: Option<Arc<packem_link::LinkOutput>>,
    /// The output names last copied into the target's names cell.
    synced_names: Option<Arc<packem_emit::OutputNames>>,
    /// The fact firewall's cells (see `packem_parse`'s crate docs).
    facts: FactCells,
    /// Whether edits will follow (see [`Workspace::set_incremental`]).
    incremental: bool,
    pool: Arc<rayon::ThreadPool>,
    // Declared last so that it is dropped after the inputs' owners (see ty's db.rs).
    db: PackemDatabase,
}

impl Workspace {
    /// A workspace for `entries` (absolute paths) with `options`, in a fresh database.
    pub fn new(entries: Vec<Utf8PathBuf>, options: ProjectOptions) -> Self {
        Self::with_database(PackemDatabase::default(), entries, options)
    }

    /// Like [`Workspace::new`], on a given database (tests pass one with an enabled event log).
    pub fn with_database(db: PackemDatabase, entries: Vec<Utf8PathBuf>, options: ProjectOptions) -> Self {
        Self::with_compile(db, entries, options, CompileOptions::default())
    }

    /// A workspace with compile options (loaders, JSX, define, target) on a given database.
    pub fn with_compile(
        db: PackemDatabase,
        entries: Vec<Utf8PathBuf>,
        options: ProjectOptions,
        compile: CompileOptions,
    ) -> Self {
        // Unedited files stay MEDIUM durability (see `Files::set_cold_contents`): with the link
        // firewall (`packem_emit::LinkCell`), a body edit then verifies the memos of the edited
        // file's chain only.
        packem_db::Db::files(&db).set_cold_contents(true);
        let project = Project::builder(entries, options, compile, packem_db::LinkOptions::default(), 0)
            .durability(salsa::Durability::MEDIUM)
            .new(&db);
        let facts = FactCells::new(&db);
        Self {
            project,
            target: None,
            synced_link: None,
            synced_names: None,
            facts,
            incremental: true,
            cold: Arc::new(Cold::default()),
            pool: worker_pool(),
            db,
        }
    }

    /// Whether edits will follow (the default). A one-shot build turns this off: it then makes
    /// no fact cells, which only pay off from the second build on (making them took 13 ms on
    /// three.js×10's 3,871 modules).
    pub fn set_incremental(&mut self, incremental: bool) {
        self.incremental = incremental;
        // A one-shot build reads every AST twice (scan, then render): keeping them all costs less
        // memory than the peers use and saves parsing each module again. Sessions that live on
        // keep the LRU bound.
        let capacity = if incremental { packem_parse::PARSED_MODULE_LRU } else { 0 };
        packem_parse::set_parsed_module_lru(&mut self.db, capacity);
    }

    /// The database, for running queries.
    pub fn db(&self) -> &PackemDatabase {
        &self.db
    }

    /// The database, mutably (tests and front ends that set inputs directly).
    pub fn db_mut(&mut self) -> &mut PackemDatabase {
        &mut self.db
    }

    /// The project input.
    pub fn project(&self) -> Project {
        self.project
    }

    /// Replaces the entries (a set, so equal lists change nothing).
    pub fn set_entries(&mut self, entries: Vec<Utf8PathBuf>) {
        if self.project.entries(&self.db) != &entries {
            self.project.set_entries(&mut self.db).to(entries);
            // Entries get the `--inject` files as leading imports: with any, their sources change.
            if !self.project.compile(&self.db).inject.is_empty() {
                self.facts.all_sources_stale = true;
                self.sync_fact_cells();
            }
            self.mark_cold();
        }
    }

    /// Replaces the options.
    pub fn set_options(&mut self, options: ProjectOptions) {
        if self.project.options(&self.db) != &options {
            self.project.set_options(&mut self.db).to(options);
            self.db.resolvers_handle().clear_caches();
            self.facts.all_sources_stale = true;
            self.sync_fact_cells();
            self.mark_cold();
        }
    }

    /// Replaces the compile options (a define, a loader, JSX or the target changed). Only the
    /// modules whose settings change are compiled again: their `Source` keys differ, the others'
    /// stay equal.
    pub fn set_compile_options(&mut self, compile: CompileOptions) {
        if self.project.compile(&self.db) != &compile {
            self.project.set_compile(&mut self.db).with_durability(salsa::Durability::MEDIUM).to(compile);
            self.facts.all_sources_stale = true;
            self.sync_fact_cells();
            self.mark_cold();
        }
    }

    /// Replaces the link options (tree shaking): the facts stay, the link runs again.
    pub fn set_link_options(&mut self, link: packem_db::LinkOptions) {
        if self.project.link(&self.db) != &link {
            self.project.set_link(&mut self.db).with_durability(salsa::Durability::MEDIUM).to(link);
            self.mark_cold();
        }
    }

    /// Applies changes to `paths` (created, modified, deleted or renamed files and directories).
    ///
    /// Takes `&mut self`: salsa cancels every running snapshot and waits for it before the first
    /// input is set, so clearing oxc_resolver's cache afterwards cannot race a resolution.
    pub fn apply_changes(&mut self, paths: impl IntoIterator<Item = Utf8PathBuf>) -> ChangeSummary {
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
        for path in paths {
            let files = packem_db::Db::files(&self.db);
            // A file created in a new directory may be reported alone; the directory (which
            // resolution saw missing) is what the queries depend on: re-check known ancestors.
            queue.extend(path.ancestors().skip(1).filter(|a| files.get(a).is_some()).map(Utf8Path::to_owned));
            if relevant(files, &path) {
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
            match Files::sync_path(&mut self.db, &path) {
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
            // a directory nobody stat'ed itself (only files in it were read).
            if is_dir || was_dir || !path.exists() {
                let files = packem_db::Db::files(&self.db);
                let all = files.paths();
                let start = all.partition_point(|k| k.as_path() <= path.as_path());
                queue.extend(all[start..].iter().take_while(|p| p.starts_with(&path)).cloned());
            }
        }
        summary.changed.sort();
        if summary.resolution_invalidated {
            let epoch = self.project.resolution_epoch(&self.db);
            self.project.set_resolution_epoch(&mut self.db).to(epoch + 1);
            structure_changed = true;
        }
        if structure_changed {
            self.db.resolvers_handle().clear_caches();
            self.mark_cold();
        }
        // A tsconfig.json may have changed JSX or target settings: every source is re-derived.
        self.facts.all_sources_stale |= summary.resolution_invalidated;
        self.sync_fact_cells();
        summary
    }

    fn mark_cold(&self) {
        self.cold.graph.store(true, std::sync::atomic::Ordering::Relaxed);
        self.cold.render.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Re-checks every known path (after a watcher lost events, or on request).
    pub fn rescan(&mut self) -> ChangeSummary {
        let paths = packem_db::Db::files(&self.db).paths();
        let mut summary = self.apply_changes(paths);
        if !summary.resolution_invalidated {
            let epoch = self.project.resolution_epoch(&self.db);
            self.project.set_resolution_epoch(&mut self.db).to(epoch + 1);
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
        Files::set_overlay(&mut self.db, path, text);
        self.sync_fact_cells();
    }

    /// Re-derives the facts of every file touched since the last sync that has cells, and sets
    /// the cells whose facts differ (MEDIUM durability). A body edit sets none, so the graph, its
    /// diagnostics and the link stay verified without walking their dependencies.
    fn sync_fact_cells(&mut self) {
        let _span = tracing::debug_span!("sync_fact_cells").entered();
        let files: Vec<packem_db::File> = packem_db::Db::files(&self.db)
            .take_touched()
            .into_iter()
            .filter(|file| self.facts.source_cells.contains_key(file))
            .collect();
        if files.is_empty() && !self.facts.all_sources_stale {
            return;
        }
        let all = std::mem::take(&mut self.facts.all_sources_stale);
        // An `--inject` file's exports are part of every other file's settings: once its own
        // facts are current, every source is derived again.
        let inject = &self.project.compile(&self.db).inject;
        let inject_touched = files.iter().any(|f| inject.iter().any(|i| i == f.path(&self.db)));
        let files = if all { self.facts.source_cells.keys().copied().collect() } else { files };
        self.sync_sources_and_facts(&files);
        if inject_touched && !all {
            let every: Vec<packem_db::File> = self.facts.source_cells.keys().copied().collect();
            self.sync_sources_and_facts(&every);
        }
    }

    /// Re-derives the sources of `files`, setting the cells that differ, then the facts of their
    /// current sources (cells are keyed by source: a file whose settings changed has none until
    /// the next build makes them).
    fn sync_sources_and_facts(&mut self, files: &[packem_db::File]) {
        let project = self.project;
        let fresh: Vec<packem_parse::Source> =
            self.in_parallel(files, |db, file| packem_graph::derived_source(db, project, *file));
        let medium = salsa::Durability::MEDIUM;
        for (file, source) in files.iter().zip(fresh) {
            let cell = self.facts.source_cells[file];
            if cell.source(&self.db) != source {
                cell.set_source(&mut self.db).with_durability(medium).to(source);
            }
        }
        // The file's current source, and any other it has cells for (an import attribute's
        // loader).
        let touched: Vec<packem_parse::Source> = files
            .iter()
            .flat_map(|file| {
                let current = self.facts.source_cells[file].source(&self.db);
                let others = self.facts.by_file.get(file).into_iter().flatten().copied().filter(move |s| *s != current);
                std::iter::once(current).chain(others)
            })
            .filter(|source| self.facts.cells.contains_key(source))
            .collect();
        if touched.is_empty() {
            return;
        }
        let facts: Vec<Facts> = self.in_parallel(&touched, |db, source| Facts::derive(db, *source));
        for (source, fresh) in touched.into_iter().zip(facts) {
            self.facts.update(&mut self.db, source, fresh);
        }
    }

    /// `f` of each item, on the worker pool when there are several (a branch switch touches many
    /// files), in order.
    fn in_parallel<T: Sync, R: Send>(&self, items: &[T], f: impl Fn(&PackemDatabase, &T) -> R + Sync) -> Vec<R> {
        if items.len() > 1 {
            let snapshot = self.db.clone();
            self.pool.install(|| {
                use rayon::prelude::*;
                items.par_iter().map_with(snapshot, |db, item| f(db, item)).collect()
            })
        } else {
            items.iter().map(|item| f(&self.db, item)).collect()
        }
    }

    /// The module graph, with parsing and resolution warmed up in parallel first.
    pub fn module_graph(&self) -> Arc<ModuleGraph> {
        if self.cold.graph.swap(false, std::sync::atomic::Ordering::Relaxed) {
            // The database is not `Sync`: the pool works on a snapshot, dropped before this returns.
            let snapshot = self.db.clone();
            let project = self.project;
            self.pool.install(move || prewarm::prewarm(&snapshot, project));
        }
        packem_graph::module_graph(&self.db, self.project).clone()
    }

    /// The build target for `format` (created on first use; options updated in place).
    pub fn target(&mut self, format: Format, global_name: Option<String>) -> Target {
        self.target_with(format, global_name, EmitOptions::default())
    }

    /// The build target for `format` with emission options (created on first use; options
    /// updated in place).
    pub fn target_with(&mut self, format: Format, global_name: Option<String>, emit: EmitOptions) -> Target {
        let medium = salsa::Durability::MEDIUM;
        match self.target {
            Some(target) => {
                if target.format(&self.db) != format {
                    target.set_format(&mut self.db).with_durability(medium).to(format);
                    self.mark_cold();
                }
                if target.global_name(&self.db) != &global_name {
                    target.set_global_name(&mut self.db).with_durability(medium).to(global_name);
                }
                if target.emit(&self.db) != &emit {
                    target.set_emit(&mut self.db).with_durability(medium).to(emit);
                    self.mark_cold();
                }
                target
            }
            None => {
                let target = Target::builder(self.project, format, global_name, emit, Arc::default(), None, None)
                    .durability(medium)
                    .new(&self.db);
                self.target = Some(target);
                target
            }
        }
    }

    /// Builds `target`: the graph, linking, then every module rendered in parallel, then the
    /// chunks. Diagnostics of every stage are in [`Workspace::build_diagnostics`].
    pub fn build(&mut self, target: Target) -> Arc<Bundle> {
        let graph = self.prepare(target);
        if self.cold.render.swap(false, std::sync::atomic::Ordering::Relaxed) {
            let snapshot = self.db.clone();
            self.pool.install(move || {
                use rayon::prelude::*;
                graph.modules.par_iter().for_each_with(snapshot, |db, module| {
                    let _ = packem_emit::rendered_module(db, target, module.source);
                });
            });
        }
        self.sync_names_cell(target);
        packem_emit::bundle(&self.db, target).clone()
    }

    /// The graph's diagnostics followed by linking's and emission's for `target`.
    pub fn build_diagnostics(&mut self, target: Target) -> Vec<Diagnostic> {
        self.prepare(target);
        self.sync_names_cell(target);
        let mut all: Vec<Diagnostic> = self.diagnostics().to_vec();
        all.extend(packem_emit::bundle(&self.db, target).diagnostics.iter().cloned());
        all
    }

    /// Everything before rendering: the graph and its diagnostics, the link, then the cells
    /// (fact cells for new modules, link cells for changed link information).
    fn prepare(&mut self, target: Target) -> Arc<ModuleGraph> {
        // Changes set through `db_mut` rather than `apply_changes` are synced here.
        self.sync_fact_cells();
        let graph = self.module_graph();
        // Before any cell is set: setting one starts a new revision, and salsa's LRU then drops
        // the ASTs these would otherwise re-parse.
        let _ = packem_graph::graph_diagnostics(&self.db, self.project);
        let linked = packem_link::link(&self.db, self.project).clone();
        // Both kinds of cells are set from values read before either is: the values stay valid
        // (a new fact cell holds what its module's queries already returned), and salsa then
        // verifies the graph and the link once after all the sets instead of once per kind.
        let _ = self.make_fact_cells(&graph);
        self.sync_link_cells(target, &graph, linked);
        self.sync_property_names(target, &graph);
        graph
    }

    /// With `--mangle-props`: copies the build's property mapping into the target when it changed
    /// (renders read the copy; see [`Target::property_names`]). Each module's property facts are
    /// computed in parallel first on a cold build.
    fn sync_property_names(&mut self, target: Target, graph: &Arc<ModuleGraph>) {
        if target.emit(&self.db).mangle_props.is_none() {
            return;
        }
        let _span = tracing::debug_span!("sync_property_names").entered();
        if self.cold.render.load(std::sync::atomic::Ordering::Relaxed) {
            let snapshot = self.db.clone();
            let graph = graph.clone();
            self.pool.install(move || {
                use rayon::prelude::*;
                graph.modules.par_iter().for_each_with(snapshot, |db, module| {
                    let _ = packem_emit::property_facts(db, target, module.source);
                });
            });
        }
        let mapping = packem_emit::property_mapping(&self.db, target).clone();
        if target.property_names(&self.db).as_ref() != Some(&mapping) {
            target.set_property_names(&mut self.db).with_durability(salsa::Durability::MEDIUM).to(Some(mapping));
        }
    }

    /// Makes the fact cells of modules that have none (the language server calls this after a
    /// diagnostics run for the current state finished; builds do it themselves).
    pub fn refresh_fact_cells(&mut self) {
        let graph = self.module_graph();
        let _ = packem_graph::graph_diagnostics(&self.db, self.project);
        let _ = packem_link::link(&self.db, self.project);
        if self.make_fact_cells(&graph) {
            // New cells re-run every module's accessors once: pay that now, not on the next edit.
            let _ = packem_graph::graph_diagnostics(&self.db, self.project);
            let _ = packem_link::link(&self.db, self.project);
        }
    }

    /// Creates fact cells for the modules of `graph` that have none, from the memos the graph,
    /// its diagnostics and the link just read. A new cell changes the cell maps, so every
    /// module's accessors re-run once on the next read (cheaply, and equal, so nothing
    /// downstream re-runs); callers read the graph again right away (a build's `bundle` does),
    /// so the next edit does not pay for it. Returns whether it made any.
    fn make_fact_cells(&mut self, graph: &Arc<ModuleGraph>) -> bool {
        if !self.incremental || self.facts.graph.as_ref().is_some_and(|old| Arc::ptr_eq(old, graph)) {
            return false;
        }
        let _span = tracing::debug_span!("make_fact_cells").entered();
        self.facts.graph = Some(graph.clone());
        self.facts.create(&mut self.db, self.project, graph)
    }

    /// Brings `target`'s link cells (`packem_emit::LinkCell`) up to date with `linked`: a cell is
    /// set only when its module's link information changed, and created for a module that has
    /// none. Nothing to do when `link` has not re-run since the last sync.
    fn sync_link_cells(&mut self, target: Target, graph: &ModuleGraph, linked: Arc<packem_link::LinkOutput>) {
        let _span = tracing::debug_span!("sync_link_cells").entered();
        if self.synced_link.as_ref().is_some_and(|old| Arc::ptr_eq(old, &linked)) {
            return;
        }
        let cells = target.link_cells(&self.db).clone();
        let mut created: Vec<(packem_parse::Source, packem_emit::LinkCell)> = Vec::new();
        let mut changed: Vec<(packem_emit::LinkCell, usize)> = Vec::new();
        for (index, module) in graph.modules.iter().enumerate() {
            let info = &linked.modules[index];
            match cells.get(&module.source) {
                Some(cell) if cell.info(&self.db) == info => {}
                Some(cell) => changed.push((*cell, index)),
                None => created.push((
                    module.source,
                    packem_emit::LinkCell::builder(info.clone()).durability(salsa::Durability::MEDIUM).new(&self.db),
                )),
            }
        }
        for (cell, index) in changed {
            cell.set_info(&mut self.db).with_durability(salsa::Durability::MEDIUM).to(linked.modules[index].clone());
        }
        if !created.is_empty() {
            let mut map = (*cells).clone();
            map.extend(created);
            target.set_link_cells(&mut self.db).with_durability(salsa::Durability::MEDIUM).to(Arc::new(map));
        }
        self.synced_link = Some(linked);
    }

    /// With code splitting: copies the output names into the target's [`packem_emit::NamesCell`]
    /// when they changed (the "names firewall": outputs read the cell, so an edit that moves no
    /// name leaves every other output verifiable in O(1)). Runs after the renders are warm, since
    /// naming reads every chunk.
    fn sync_names_cell(&mut self, target: Target) {
        if !self.project.link(&self.db).splitting {
            return;
        }
        let _span = tracing::debug_span!("sync_names_cell").entered();
        let names = packem_emit::output_names(&self.db, target).clone();
        if self.synced_names.as_ref().is_some_and(|old| Arc::ptr_eq(old, &names)) {
            return;
        }
        let medium = salsa::Durability::MEDIUM;
        match target.names_cell(&self.db) {
            Some(cell) if cell.names(&self.db) == &names => {}
            Some(cell) => {
                cell.set_names(&mut self.db).with_durability(medium).to(names.clone());
            }
            None => {
                let cell = packem_emit::NamesCell::builder(names.clone()).durability(medium).new(&self.db);
                target.set_names_cell(&mut self.db).with_durability(medium).to(Some(cell));
            }
        }
        self.synced_names = Some(names);
    }

    /// A read-only handle for another thread. Dropped before the next change can be applied
    /// (applying waits for it; queries running on it unwind with `salsa::Cancelled`).
    pub fn snapshot(&self) -> Snapshot {
        Snapshot { db: self.db.clone(), project: self.project, pool: self.pool.clone(), cold: self.cold.clone() }
    }

    /// The graph's diagnostics followed by linking's: what `packem check` and the language
    /// server report (a build adds only the output format's own, such as top-level await in
    /// CommonJS output).
    pub fn check_diagnostics(&self) -> Vec<Diagnostic> {
        let mut all: Vec<Diagnostic> = self.diagnostics().to_vec();
        all.extend(packem_link::link(&self.db, self.project).diagnostics.iter().cloned());
        all
    }

    /// The graph's diagnostics (computes the graph if needed).
    pub fn diagnostics(&self) -> Arc<[Diagnostic]> {
        let _ = self.module_graph();
        packem_graph::graph_diagnostics(&self.db, self.project).clone()
    }
}

/// Stack of each worker thread. Virtual memory: only touched pages are committed. Large enough
/// that `packem_parse`'s stack guard (which wants a few MiB of headroom per parse) never has to
/// map a fresh segment for ordinary files; mapping one per file costs more than parsing it.
const WORKER_STACK: usize = 256 << 20;

/// The rayon pool queries run on (`RAYON_NUM_THREADS` sets its size, as for the global pool).
fn worker_pool() -> Arc<rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Arc<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        Arc::new(
            rayon::ThreadPoolBuilder::new()
                .thread_name(|i| format!("packem-worker-{i}"))
                .stack_size(WORKER_STACK)
                .build()
                .expect("building the worker thread pool"),
        )
    })
    .clone()
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

/// A snapshot of a [`Workspace`]'s database for reading on another thread.
pub struct Snapshot {
    /// The database snapshot.
    pub db: PackemDatabase,
    /// The project.
    pub project: Project,
    pool: Arc<rayon::ThreadPool>,
    cold: Arc<Cold>,
}

impl Snapshot {
    /// The module graph (parsing and resolution warmed in parallel first).
    pub fn module_graph(&self) -> Arc<ModuleGraph> {
        if self.cold.graph.swap(false, std::sync::atomic::Ordering::Relaxed) {
            let warm = self.db.clone();
            let project = self.project;
            self.pool.install(move || prewarm::prewarm(&warm, project));
        }
        packem_graph::module_graph(&self.db, self.project).clone()
    }

    /// Graph diagnostics plus linking's (missing and ambiguous imports).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let _ = self.module_graph();
        let mut all: Vec<Diagnostic> = packem_graph::graph_diagnostics(&self.db, self.project).to_vec();
        all.extend(packem_link::link(&self.db, self.project).diagnostics.iter().cloned());
        all
    }
}

/// The host's side of the fact firewall (see `packem_parse`'s crate docs): every cell it made,
/// and the graph it last made cells for.
struct FactCells {
    parse_map: packem_parse::ParseCells,
    symbols_map: packem_link::SymbolsCells,
    cells: rustc_hash::FxHashMap<packem_parse::Source, (packem_parse::ParseCell, packem_link::SymbolsCell)>,
    source_map: packem_graph::SourceCells,
    /// Each module's [`packem_graph::SourceCell`]: its `derived_source`.
    source_cells: rustc_hash::FxHashMap<packem_db::File, packem_graph::SourceCell>,
    /// The sources other than its own that a file has fact cells for (one per other loader it
    /// is imported with).
    by_file: rustc_hash::FxHashMap<packem_db::File, Vec<packem_parse::Source>>,
    /// Set when every source must be re-derived (options, compile options or a tsconfig changed).
    all_sources_stale: bool,
    graph: Option<Arc<ModuleGraph>>,
}

/// One file's facts as the cells hold them.
struct Facts {
    summary: Arc<packem_parse::ModuleSummary>,
    diagnostics: Arc<[Diagnostic]>,
    symbols: Arc<packem_link::ModuleSymbols>,
}

impl Facts {
    /// `source`'s facts now (the direct queries, not the cells).
    fn derive(db: &PackemDatabase, source: packem_parse::Source) -> Facts {
        Facts {
            summary: packem_parse::parsed_summary(db, source).clone(),
            diagnostics: packem_parse::parsed_diagnostics(db, source).clone(),
            symbols: packem_link::parsed_symbols(db, source).clone(),
        }
    }
}

impl FactCells {
    fn new(db: &PackemDatabase) -> Self {
        let medium = salsa::Durability::MEDIUM;
        Self {
            parse_map: packem_parse::ParseCells::builder(Arc::default()).durability(medium).new(db),
            symbols_map: packem_link::SymbolsCells::builder(Arc::default()).durability(medium).new(db),
            cells: Default::default(),
            source_map: packem_graph::SourceCells::builder(Arc::default()).durability(medium).new(db),
            source_cells: Default::default(),
            by_file: Default::default(),
            all_sources_stale: false,
            graph: None,
        }
    }

    /// Sets the cells of `source` whose value differs from `fresh`.
    fn update(&self, db: &mut PackemDatabase, source: packem_parse::Source, fresh: Facts) {
        let Some((parse, symbols)) = self.cells.get(&source) else { return };
        let medium = salsa::Durability::MEDIUM;
        if parse.summary(db) != &fresh.summary {
            parse.set_summary(db).with_durability(medium).to(fresh.summary);
        }
        if parse.diagnostics(db) != &fresh.diagnostics {
            parse.set_diagnostics(db).with_durability(medium).to(fresh.diagnostics);
        }
        if symbols.symbols(db) != &fresh.symbols {
            symbols.set_symbols(db).with_durability(medium).to(fresh.symbols);
        }
    }

    /// Cells for the (enabled) modules of `graph` that have none, then the maps, if any was made.
    fn create(&mut self, db: &mut PackemDatabase, project: Project, graph: &ModuleGraph) -> bool {
        let medium = salsa::Durability::MEDIUM;
        let mut created = false;
        let mut sources_created = false;
        for module in graph.modules.iter().filter(|m| !m.disabled) {
            if let std::collections::hash_map::Entry::Vacant(slot) = self.source_cells.entry(module.file) {
                // The file's own source (an import attribute may have made this module another).
                let source = packem_graph::derived_source(db, project, module.file);
                slot.insert(packem_graph::SourceCell::builder(source).durability(medium).new(db));
                sources_created = true;
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = self.cells.entry(module.source) {
                // Sources other than the file's own (an import attribute's loader): the own one
                // is synced through its source cell, and an old own source (a define no longer
                // mentioned) must not be re-derived on every edit.
                if self.source_cells[&module.file].source(db) != module.source {
                    self.by_file.entry(module.file).or_default().push(module.source);
                }
                let Facts { summary, diagnostics, symbols } = Facts::derive(db, module.source);
                slot.insert((
                    packem_parse::ParseCell::builder(summary, diagnostics).durability(medium).new(db),
                    packem_link::SymbolsCell::builder(symbols).durability(medium).new(db),
                ));
                created = true;
            }
        }
        if created {
            let parse = self.cells.iter().map(|(file, (cell, _))| (*file, *cell)).collect();
            let symbols = self.cells.iter().map(|(file, (_, cell))| (*file, *cell)).collect();
            self.parse_map.set_cells(db).with_durability(medium).to(Arc::new(parse));
            self.symbols_map.set_cells(db).with_durability(medium).to(Arc::new(symbols));
        }
        if sources_created {
            let sources = self.source_cells.iter().map(|(file, cell)| ((project, *file), *cell)).collect();
            self.source_map.set_cells(db).with_durability(medium).to(Arc::new(sources));
        }
        created || sources_created
    }
}

/// Whether the next graph or build should warm memos in parallel (see [`Workspace`]).
struct Cold {
    graph: std::sync::atomic::AtomicBool,
    render: std::sync::atomic::AtomicBool,
}

impl Default for Cold {
    fn default() -> Self {
        Self { graph: true.into(), render: true.into() }
    }
}
