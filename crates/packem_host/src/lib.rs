//! The host: the one concrete salsa database and the workspace that owns it.
//!
//! Both front ends (the CLI and, later, the LSP server) hold a [`Workspace`]. It is the only
//! writer of inputs: [`Workspace::apply_changes`] turns changed paths into input updates (file
//! status and revision, the resolution epoch for `package.json`/`tsconfig.json` and directory
//! changes) and clears oxc_resolver's cache while no query is running. Reads go through queries,
//! warmed in parallel by [`Workspace::module_graph`] with one database clone per rayon job
//! (salsa 0.28 has no parallel query API).

mod cells;
mod changes;
pub mod config;
mod database;
mod journal;
mod log;
pub use log::init_tracing_from_env;
mod outputs;
mod persist;
mod prewarm;
mod snapshot;

use std::sync::Arc;

use camino::Utf8PathBuf;
use packem_db::{CompileOptions, Diagnostic, Files, Project, ProjectOptions, ResolveScope};
use salsa::Setter;

pub use database::PackemDatabase;
pub use journal::journal_key;
pub use outputs::BundleOutputs;
pub use packem_emit::{
    Bundle, ChunkNaming, ChunkOutput, EmitOptions, Format, LegalComments, ManglePropsOptions, SourceMapMode,
    SourceMapOptions, Target,
};
pub use packem_graph::{Edge, EdgeTarget, ModuleGraph, ModuleId, ModuleNode};
pub use packem_link::ChunkKind;
pub use persist::{CACHE_FILE, CacheReport, build_id, default_cache_dir};
pub use snapshot::Snapshot;

use cells::FactCells;

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
    /// The persistent cache, when one is open.
    persistence: Option<persist::Persistence>,
    /// How many times files, overlays or options were changed through this workspace. Not
    /// counted: what the host sets itself during builds (cells, and the outputs a target embeds,
    /// which only the targets built after them read).
    changes: u64,
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
    /// [`Workspace::changes`] when the target was last built: its renders are current while no
    /// change was applied since (what [`Workspace::save_cache`] stores).
    built_at: Option<u64>,
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
        let mut workspace = Self {
            units: Vec::new(),
            scopes: Default::default(),
            facts,
            incremental: true,
            persistence: None,
            changes: 0,
            pool: worker_pool(),
            db,
        };
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
            built_at: None,
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

    /// The primary project input.
    pub fn project(&self) -> Project {
        self.units[0].project
    }

    /// Replaces the primary project's entries (a set, so equal lists change nothing).
    pub fn set_entries(&mut self, entries: Vec<Utf8PathBuf>) {
        self.changes += 1;
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
        self.changes += 1;
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
        self.changes += 1;
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
        self.changes += 1;
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
        warm_graph(&self.db, &self.pool, &self.unit(project).cold, project)
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
                if target.format(&self.db) != format
                    || target.global_name(&self.db) != &global_name
                    || target.emit(&self.db) != &emit
                {
                    self.changes += 1;
                }
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
        let bundles = targets.iter().map(|target| packem_emit::bundle(&self.db, *target).clone()).collect();
        for target in targets {
            let index = self.unit_index(target.project(&self.db));
            self.units[index].built_at = Some(self.changes);
        }
        bundles
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

/// `project`'s module graph read from `db`, warming parses and resolutions in parallel first when
/// `cold` says many memos may be missing (the one implementation behind the workspace's and the
/// snapshots' graph accessors).
fn warm_graph(db: &PackemDatabase, pool: &rayon::ThreadPool, cold: &Cold, project: Project) -> Arc<ModuleGraph> {
    if cold.graph.swap(false, std::sync::atomic::Ordering::Relaxed) {
        // The database is not `Sync`: the pool works on a snapshot, dropped before this returns.
        let snapshot = db.clone();
        pool.install(move || prewarm::prewarm(&snapshot, project));
    }
    packem_graph::module_graph(db, project).clone()
}
