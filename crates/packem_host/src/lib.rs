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
use packem_db::{CompileOptions, Diagnostic, FileStatus, Files, Project, ProjectOptions, ResolveScope};
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

/// The projects open in one database: what the CLI builds and the LSP server serves.
///
/// Each build target is a [`Project`] of its own (entries, options, compile and link options)
/// with its [`Target`] (format, emission options). They share the database, so a file's parse,
/// scan and symbols (keyed by its compile settings) and resolutions (keyed by a [`ResolveScope`],
/// one per distinct [`ProjectOptions`]) are computed once for every target that agrees on them.
/// The first project is the *primary* one, which the single-target methods
/// ([`Workspace::project`], [`Workspace::module_graph`], …) address.
pub struct Workspace {
    units: Vec<Unit>,
    /// One resolution scope per distinct options value.
    scopes: rustc_hash::FxHashMap<ProjectOptions, ResolveScope>,
    /// The fact firewall's cells (see `packem_parse`'s crate docs), shared by every project.
    facts: FactCells,
    /// Whether edits will follow (see [`Workspace::set_incremental`]).
    incremental: bool,
    pool: Arc<rayon::ThreadPool>,
    // Declared last so that it is dropped after the inputs' owners (see ty's db.rs).
    db: PackemDatabase,
}

/// One project of a [`Workspace`] and the host's state for it.
struct Unit {
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
    /// The graph fact cells were last made for.
    facts_graph: Option<Arc<ModuleGraph>>,
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
        let facts = FactCells::new(&db);
        let mut workspace =
            Self { units: Vec::new(), scopes: Default::default(), facts, incremental: true, pool: worker_pool(), db };
        workspace.add_project(entries, options, compile, packem_db::LinkOptions::default());
        workspace
    }

    /// Opens another project (a build target) in this database and returns it. Files, parses
    /// and, where the options agree, resolutions are shared with the other projects.
    pub fn add_project(
        &mut self,
        entries: Vec<Utf8PathBuf>,
        options: ProjectOptions,
        compile: CompileOptions,
        link: packem_db::LinkOptions,
    ) -> Project {
        let scope = self.scope_for(options);
        let project =
            Project::builder(entries, scope, compile, link).durability(salsa::Durability::MEDIUM).new(&self.db);
        self.units.push(Unit {
            project,
            cold: Arc::new(Cold::default()),
            target: None,
            synced_link: None,
            synced_names: None,
            facts_graph: None,
        });
        project
    }

    /// The projects, the primary one first.
    pub fn projects(&self) -> impl Iterator<Item = Project> + '_ {
        self.units.iter().map(|unit| unit.project)
    }

    /// The scope for `options`, made on first use.
    fn scope_for(&mut self, options: ProjectOptions) -> ResolveScope {
        if let Some(scope) = self.scopes.get(&options) {
            return *scope;
        }
        let epoch = self.scopes.values().map(|scope| scope.epoch(&self.db)).max().unwrap_or(0);
        let scope = ResolveScope::builder(options.clone(), epoch).durability(salsa::Durability::MEDIUM).new(&self.db);
        self.scopes.insert(options, scope);
        scope
    }

    fn unit(&self, project: Project) -> &Unit {
        self.units.iter().find(|unit| unit.project == project).expect("a project of this workspace")
    }

    fn unit_index(&self, project: Project) -> usize {
        self.units.iter().position(|unit| unit.project == project).expect("a project of this workspace")
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

    /// The primary project input.
    pub fn project(&self) -> Project {
        self.units[0].project
    }

    /// Replaces the primary project's entries (a set, so equal lists change nothing).
    pub fn set_entries(&mut self, entries: Vec<Utf8PathBuf>) {
        let project = self.project();
        if project.entries(&self.db) != &entries {
            project.set_entries(&mut self.db).to(entries);
            // Entries get the `--inject` files as leading imports: with any, their sources change.
            if !project.compile(&self.db).inject.is_empty() {
                self.facts.stale.insert(project);
                self.sync_fact_cells();
            }
            self.units[0].cold.mark();
        }
    }

    /// Replaces the primary project's options.
    pub fn set_options(&mut self, options: ProjectOptions) {
        let project = self.project();
        if project.options(&self.db) != &options {
            let scope = self.scope_for(options);
            project.set_scope(&mut self.db).to(scope);
            self.db.resolvers_handle().clear_caches();
            self.facts.stale.insert(project);
            self.sync_fact_cells();
            self.units[0].cold.mark();
        }
    }

    /// Replaces the primary project's compile options (a define, a loader, JSX or the target
    /// changed). Only the modules whose settings change are compiled again: their `Source` keys
    /// differ, the others' stay equal.
    pub fn set_compile_options(&mut self, compile: CompileOptions) {
        self.set_compile_options_of(self.project(), compile);
    }

    /// Replaces `project`'s compile options (see [`Workspace::set_compile_options`]).
    pub fn set_compile_options_of(&mut self, project: Project, compile: CompileOptions) {
        if project.compile(&self.db) != &compile {
            project.set_compile(&mut self.db).with_durability(salsa::Durability::MEDIUM).to(compile);
            self.facts.stale.insert(project);
            self.sync_fact_cells();
            self.unit(project).cold.mark();
        }
    }

    /// Replaces the primary project's link options (tree shaking): the facts stay, the link runs
    /// again.
    pub fn set_link_options(&mut self, link: packem_db::LinkOptions) {
        self.set_link_options_of(self.project(), link);
    }

    /// Replaces `project`'s link options.
    pub fn set_link_options_of(&mut self, project: Project, link: packem_db::LinkOptions) {
        if project.link(&self.db) != &link {
            project.set_link(&mut self.db).with_durability(salsa::Durability::MEDIUM).to(link);
            self.unit(project).cold.mark();
        }
    }

    /// Sets the text a `packem:target/NAME` import embeds: target `name`'s output (see
    /// [`packem_db::files::artifact_path`]). Setting the same text changes nothing.
    pub fn set_artifact(&mut self, name: &str, text: Arc<str>) {
        let path = packem_db::files::artifact_path(name);
        Files::set_artifact(&mut self.db, &path, text);
        self.sync_fact_cells();
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
    fn bump_resolution_epoch(&mut self) {
        let scopes: Vec<ResolveScope> = self.scopes.values().copied().collect();
        for scope in scopes {
            let epoch = scope.epoch(&self.db);
            scope.set_epoch(&mut self.db).to(epoch + 1);
        }
    }

    fn mark_cold(&self) {
        for unit in &self.units {
            unit.cold.mark();
        }
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
        if files.is_empty() && self.facts.stale.is_empty() {
            return;
        }
        // Projects whose every source is re-derived (options, compile options or a tsconfig
        // changed), then each touched file in the other projects that have it.
        let stale = std::mem::take(&mut self.facts.stale);
        let mut pairs = self.facts.pairs_of(&stale);
        for file in &files {
            let projects = self.facts.source_cells[file].iter().map(|(project, _)| *project);
            pairs.extend(projects.filter(|project| !stale.contains(project)).map(|project| (project, *file)));
        }
        self.sync_sources_and_facts(&pairs);
        // An `--inject` file's exports are part of every other file's settings in its project:
        // once its own facts are current, every source of that project is derived again.
        let injected: rustc_hash::FxHashSet<Project> = self
            .units
            .iter()
            .map(|unit| unit.project)
            .filter(|project| !stale.contains(project))
            .filter(|project| {
                let inject = &project.compile(&self.db).inject;
                files.iter().any(|f| inject.iter().any(|i| i == f.path(&self.db)))
            })
            .collect();
        if !injected.is_empty() {
            let every = self.facts.pairs_of(&injected);
            self.sync_sources_and_facts(&every);
        }
    }

    /// Re-derives the sources of `pairs` (a file in a project), setting the cells that differ,
    /// then the facts of their current sources (cells are keyed by source: a file whose settings
    /// changed has none until the next build makes them; a source several projects share is
    /// derived once).
    fn sync_sources_and_facts(&mut self, pairs: &[(Project, packem_db::File)]) {
        if pairs.is_empty() {
            return;
        }
        let fresh: Vec<packem_parse::Source> =
            self.in_parallel(pairs, |db, (project, file)| packem_graph::derived_source(db, *project, *file));
        let medium = salsa::Durability::MEDIUM;
        for ((project, file), source) in pairs.iter().zip(fresh) {
            let cell = self.facts.source_cell(*project, *file).expect("pairs have cells");
            if cell.source(&self.db) != source {
                cell.set_source(&mut self.db).with_durability(medium).to(source);
            }
        }
        // Each file's current sources, and any other it has cells for (an import attribute's
        // loader).
        let mut seen = rustc_hash::FxHashSet::default();
        let mut touched: Vec<packem_parse::Source> = Vec::new();
        for (project, file) in pairs {
            let current = self.facts.source_cell(*project, *file).expect("pairs have cells").source(&self.db);
            let others = self.facts.by_file.get(file).into_iter().flatten().copied();
            for source in std::iter::once(current).chain(others) {
                if self.facts.cells.contains_key(&source) && seen.insert(source) {
                    touched.push(source);
                }
            }
        }
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

    /// The primary project's module graph, with parsing and resolution warmed up in parallel
    /// first.
    pub fn module_graph(&self) -> Arc<ModuleGraph> {
        self.module_graph_of(self.project())
    }

    /// `project`'s module graph, with parsing and resolution warmed up in parallel first.
    pub fn module_graph_of(&self, project: Project) -> Arc<ModuleGraph> {
        let unit = self.unit(project);
        if unit.cold.graph.swap(false, std::sync::atomic::Ordering::Relaxed) {
            // The database is not `Sync`: the pool works on a snapshot, dropped before this returns.
            let snapshot = self.db.clone();
            self.pool.install(move || prewarm::prewarm(&snapshot, project));
        }
        packem_graph::module_graph(&self.db, project).clone()
    }

    /// The primary project's build target for `format` (created on first use; options updated
    /// in place).
    pub fn target(&mut self, format: Format, global_name: Option<String>) -> Target {
        self.target_with(format, global_name, EmitOptions::default())
    }

    /// The primary project's build target for `format` with emission options (created on first
    /// use; options updated in place).
    pub fn target_with(&mut self, format: Format, global_name: Option<String>, emit: EmitOptions) -> Target {
        self.target_of(self.project(), format, global_name, emit)
    }

    /// `project`'s build target (created on first use; options updated in place).
    pub fn target_of(
        &mut self,
        project: Project,
        format: Format,
        global_name: Option<String>,
        emit: EmitOptions,
    ) -> Target {
        let medium = salsa::Durability::MEDIUM;
        let index = self.unit_index(project);
        match self.units[index].target {
            Some(target) => {
                if target.format(&self.db) != format {
                    target.set_format(&mut self.db).with_durability(medium).to(format);
                    self.units[index].cold.mark();
                }
                if target.global_name(&self.db) != &global_name {
                    target.set_global_name(&mut self.db).with_durability(medium).to(global_name);
                }
                if target.emit(&self.db) != &emit {
                    target.set_emit(&mut self.db).with_durability(medium).to(emit);
                    self.units[index].cold.mark();
                }
                target
            }
            None => {
                let target = Target::builder(project, format, global_name, emit, Arc::default(), None, None)
                    .durability(medium)
                    .new(&self.db);
                self.units[index].target = Some(target);
                target
            }
        }
    }

    /// Builds `target`: the graph, linking, then every module rendered in parallel, then the
    /// chunks. Diagnostics of every stage are in [`Workspace::build_diagnostics`].
    pub fn build(&mut self, target: Target) -> Arc<Bundle> {
        self.build_all(&[target]).pop().expect("one bundle per target")
    }

    /// Builds several targets (of different projects) side by side: their graphs (parses and
    /// resolutions shared where their options agree), their links in parallel (each link is
    /// sequential inside), every cold target's renders in one parallel pass, then their chunks.
    /// Returns the bundles in the order of `targets`.
    pub fn build_all(&mut self, targets: &[Target]) -> Vec<Arc<Bundle>> {
        let _span = tracing::info_span!("build", targets = targets.len()).entered();
        let graphs = self.prepare_all(targets);
        let cold: Vec<(Target, Arc<ModuleGraph>)> = targets
            .iter()
            .zip(graphs)
            .filter(|(target, _)| {
                let unit = self.unit(target.project(&self.db));
                unit.cold.render.swap(false, std::sync::atomic::Ordering::Relaxed)
            })
            .map(|(target, graph)| (*target, graph))
            .collect();
        if !cold.is_empty() {
            let _span = tracing::info_span!("render").entered();
            let work: Vec<(Target, packem_parse::Source)> = cold
                .iter()
                .flat_map(|(target, graph)| graph.modules.iter().map(move |module| (*target, module.source)))
                .collect();
            let snapshot = self.db.clone();
            self.pool.install(move || {
                use rayon::prelude::*;
                work.par_iter().for_each_with(snapshot, |db, (target, source)| {
                    let _ = packem_emit::rendered_module(db, *target, *source);
                });
            });
        }
        for target in targets {
            self.sync_names_cell(*target);
        }
        if targets.len() > 1 {
            // Each target's chunks are assembled sequentially: assemble the targets side by side.
            let snapshot = self.db.clone();
            let targets = targets.to_vec();
            self.pool.install(move || {
                use rayon::prelude::*;
                targets.par_iter().for_each_with(snapshot, |db, target| {
                    let _ = packem_emit::bundle(db, *target);
                });
            });
        }
        targets.iter().map(|target| packem_emit::bundle(&self.db, *target).clone()).collect()
    }

    /// The graph's diagnostics followed by linking's and emission's for `target`.
    pub fn build_diagnostics(&mut self, target: Target) -> Vec<Diagnostic> {
        self.prepare_all(&[target]);
        self.sync_names_cell(target);
        let mut all: Vec<Diagnostic> = self.diagnostics_of(target.project(&self.db)).to_vec();
        all.extend(packem_emit::bundle(&self.db, target).diagnostics.iter().cloned());
        all
    }

    /// Everything before rendering, for each target: the graph and its diagnostics, the link,
    /// then the cells (fact cells for new modules, link cells for changed link information).
    fn prepare_all(&mut self, targets: &[Target]) -> Vec<Arc<ModuleGraph>> {
        // Changes set through `db_mut` rather than `apply_changes` are synced here.
        self.sync_fact_cells();
        let projects: Vec<Project> = targets.iter().map(|target| target.project(&self.db)).collect();
        let graphs: Vec<Arc<ModuleGraph>> = projects.iter().map(|project| self.module_graph_of(*project)).collect();
        // Before any cell is set: setting one starts a new revision, and salsa's LRU then drops
        // the ASTs these would otherwise re-parse. Several targets link side by side.
        if projects.len() > 1 {
            let _span = tracing::info_span!("link", targets = projects.len()).entered();
            let snapshot = self.db.clone();
            let all = projects.clone();
            self.pool.install(move || {
                use rayon::prelude::*;
                all.par_iter().for_each_with(snapshot, |db, project| {
                    let _ = packem_graph::graph_diagnostics(db, *project);
                    let _ = packem_link::link(db, *project);
                });
            });
        }
        let links: Vec<Arc<packem_link::LinkOutput>> = projects
            .iter()
            .map(|project| {
                let _ = packem_graph::graph_diagnostics(&self.db, *project);
                packem_link::link(&self.db, *project).clone()
            })
            .collect();
        // Both kinds of cells are set from values read before either is: the values stay valid
        // (a new fact cell holds what its module's queries already returned), and salsa then
        // verifies the graphs and the links once after all the sets instead of once per kind.
        for (project, graph) in projects.iter().zip(&graphs) {
            let _ = self.make_fact_cells(*project, graph);
        }
        for ((target, graph), linked) in targets.iter().zip(&graphs).zip(links) {
            self.sync_link_cells(*target, graph, linked);
            self.sync_property_names(*target, graph);
        }
        graphs
    }

    /// With `--mangle-props`: copies the build's property mapping into the target when it changed
    /// (renders read the copy; see [`Target::property_names`]). Each module's property facts are
    /// computed in parallel first on a cold build.
    fn sync_property_names(&mut self, target: Target, graph: &Arc<ModuleGraph>) {
        if target.emit(&self.db).mangle_props.is_none() {
            return;
        }
        let _span = tracing::debug_span!("sync_property_names").entered();
        if self.unit(target.project(&self.db)).cold.render.load(std::sync::atomic::Ordering::Relaxed) {
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

    /// Makes the fact cells of modules that have none, in every project (the language server
    /// calls this after a diagnostics run for the current state finished; builds do it
    /// themselves).
    pub fn refresh_fact_cells(&mut self) {
        let projects: Vec<Project> = self.projects().collect();
        for project in projects {
            let graph = self.module_graph_of(project);
            let _ = packem_graph::graph_diagnostics(&self.db, project);
            let _ = packem_link::link(&self.db, project);
            if self.make_fact_cells(project, &graph) {
                // New cells re-run every module's accessors once: pay that now, not on the next edit.
                let _ = packem_graph::graph_diagnostics(&self.db, project);
                let _ = packem_link::link(&self.db, project);
            }
        }
    }

    /// Creates fact cells for the modules of `graph` that have none, from the memos the graph,
    /// its diagnostics and the link just read. A new cell changes the cell maps, so every
    /// module's accessors re-run once on the next read (cheaply, and equal, so nothing
    /// downstream re-runs); callers read the graph again right away (a build's `bundle` does),
    /// so the next edit does not pay for it. Returns whether it made any.
    fn make_fact_cells(&mut self, project: Project, graph: &Arc<ModuleGraph>) -> bool {
        let index = self.unit_index(project);
        if !self.incremental || self.units[index].facts_graph.as_ref().is_some_and(|old| Arc::ptr_eq(old, graph)) {
            return false;
        }
        let _span = tracing::debug_span!("make_fact_cells").entered();
        self.units[index].facts_graph = Some(graph.clone());
        self.facts.create(&mut self.db, project, graph)
    }

    /// Brings `target`'s link cells (`packem_emit::LinkCell`) up to date with `linked`: a cell is
    /// set only when its module's link information changed, and created for a module that has
    /// none. Nothing to do when `link` has not re-run since the last sync.
    fn sync_link_cells(&mut self, target: Target, graph: &ModuleGraph, linked: Arc<packem_link::LinkOutput>) {
        let _span = tracing::debug_span!("sync_link_cells").entered();
        let index = self.unit_index(target.project(&self.db));
        if self.units[index].synced_link.as_ref().is_some_and(|old| Arc::ptr_eq(old, &linked)) {
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
        self.units[index].synced_link = Some(linked);
    }

    /// With code splitting: copies the output names into the target's [`packem_emit::NamesCell`]
    /// when they changed (the "names firewall": outputs read the cell, so an edit that moves no
    /// name leaves every other output verifiable in O(1)). Runs after the renders are warm, since
    /// naming reads every chunk.
    fn sync_names_cell(&mut self, target: Target) {
        let project = target.project(&self.db);
        if !project.link(&self.db).splitting {
            return;
        }
        let _span = tracing::debug_span!("sync_names_cell").entered();
        let index = self.unit_index(project);
        let names = packem_emit::output_names(&self.db, target).clone();
        if self.units[index].synced_names.as_ref().is_some_and(|old| Arc::ptr_eq(old, &names)) {
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
        self.units[index].synced_names = Some(names);
    }

    /// A read-only handle on the primary project for another thread. Dropped before the next
    /// change can be applied (applying waits for it; queries running on it unwind with
    /// `salsa::Cancelled`).
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_of(self.project())
    }

    /// A read-only handle on `project` for another thread (see [`Workspace::snapshot`]).
    pub fn snapshot_of(&self, project: Project) -> Snapshot {
        Snapshot { db: self.db.clone(), project, pool: self.pool.clone(), cold: self.unit(project).cold.clone() }
    }

    /// The primary project's graph diagnostics followed by linking's: what `packem check` and the
    /// language server report (a build adds only the output format's own, such as top-level
    /// await in CommonJS output).
    pub fn check_diagnostics(&self) -> Vec<Diagnostic> {
        self.check_diagnostics_of(self.project())
    }

    /// `project`'s graph and link diagnostics.
    pub fn check_diagnostics_of(&self, project: Project) -> Vec<Diagnostic> {
        let mut all: Vec<Diagnostic> = self.diagnostics_of(project).to_vec();
        all.extend(packem_link::link(&self.db, project).diagnostics.iter().cloned());
        all
    }

    /// The primary project's graph diagnostics (computes the graph if needed).
    pub fn diagnostics(&self) -> Arc<[Diagnostic]> {
        self.diagnostics_of(self.project())
    }

    /// `project`'s graph diagnostics (computes the graph if needed).
    pub fn diagnostics_of(&self, project: Project) -> Arc<[Diagnostic]> {
        let _ = self.module_graph_of(project);
        packem_graph::graph_diagnostics(&self.db, project).clone()
    }
}

/// Merges the diagnostics of several targets (`(name, diagnostics)`, in target order): a
/// diagnostic every target has appears once, as it is; one that only some targets have appears
/// once with their names (`… (in target browser)`: a module that fails only in the browser
/// build). Order: first appearance.
pub fn merge_target_diagnostics(per_target: Vec<(String, Vec<Diagnostic>)>) -> Vec<Diagnostic> {
    let count = per_target.len();
    if count == 1 {
        return per_target.into_iter().flat_map(|(_, diagnostics)| diagnostics).collect();
    }
    let mut merged: Vec<(Diagnostic, Vec<String>)> = Vec::new();
    let mut index: rustc_hash::FxHashMap<Diagnostic, usize> = Default::default();
    for (name, diagnostics) in per_target {
        for diagnostic in diagnostics {
            match index.get(&diagnostic) {
                Some(&at) if merged[at].1.last() == Some(&name) => {}
                Some(&at) => merged[at].1.push(name.clone()),
                None => {
                    index.insert(diagnostic.clone(), merged.len());
                    merged.push((diagnostic, vec![name.clone()]));
                }
            }
        }
    }
    merged
        .into_iter()
        .map(|(mut diagnostic, names)| {
            if names.len() < count {
                let which = if names.len() == 1 { "target" } else { "targets" };
                diagnostic.message = format!("{} (in {which} {})", diagnostic.message, names.join(", "));
            }
            diagnostic
        })
        .collect()
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
    /// Each module's [`packem_graph::SourceCell`] (its `derived_source`) in each project that
    /// has it.
    source_cells: rustc_hash::FxHashMap<packem_db::File, Vec<(Project, packem_graph::SourceCell)>>,
    /// The sources other than its own that a file has fact cells for (one per other loader it
    /// is imported with).
    by_file: rustc_hash::FxHashMap<packem_db::File, Vec<packem_parse::Source>>,
    /// Projects whose every source must be re-derived (options, compile options or a tsconfig
    /// changed).
    stale: rustc_hash::FxHashSet<Project>,
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
            stale: Default::default(),
        }
    }

    /// `file`'s source cell in `project`.
    fn source_cell(&self, project: Project, file: packem_db::File) -> Option<packem_graph::SourceCell> {
        self.source_cells.get(&file)?.iter().find(|(p, _)| *p == project).map(|(_, cell)| *cell)
    }

    /// Every file with a source cell in one of `projects`, in path-independent but stable order.
    fn pairs_of(&self, projects: &rustc_hash::FxHashSet<Project>) -> Vec<(Project, packem_db::File)> {
        if projects.is_empty() {
            return Vec::new();
        }
        self.source_cells
            .iter()
            .flat_map(|(file, cells)| {
                cells
                    .iter()
                    .filter(|(project, _)| projects.contains(project))
                    .map(move |(project, _)| (*project, *file))
            })
            .collect()
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
            let own = match self.source_cell(project, module.file) {
                Some(cell) => cell.source(db),
                None => {
                    // The file's own source (an import attribute may have made this module another).
                    let source = packem_graph::derived_source(db, project, module.file);
                    let cell = packem_graph::SourceCell::builder(source).durability(medium).new(db);
                    self.source_cells.entry(module.file).or_default().push((project, cell));
                    sources_created = true;
                    source
                }
            };
            if let std::collections::hash_map::Entry::Vacant(slot) = self.cells.entry(module.source) {
                // Sources other than the file's own (an import attribute's loader): the own one
                // is synced through its source cell, and an old own source (a define no longer
                // mentioned) must not be re-derived on every edit.
                if own != module.source {
                    let others = self.by_file.entry(module.file).or_default();
                    if !others.contains(&module.source) {
                        others.push(module.source);
                    }
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
            let sources = self
                .source_cells
                .iter()
                .flat_map(|(file, cells)| cells.iter().map(move |(project, cell)| ((*project, *file), *cell)))
                .collect();
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

impl Cold {
    fn mark(&self) {
        self.graph.store(true, std::sync::atomic::Ordering::Relaxed);
        self.render.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Default for Cold {
    fn default() -> Self {
        Self { graph: true.into(), render: true.into() }
    }
}
