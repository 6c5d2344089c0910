//! The firewall cells: inputs the host sets from query results so that an edit that keeps a
//! module's facts stops at the module (early cutoff that salsa's own backdating cannot give,
//! since every reader would still re-verify its whole dependency chain).
//!
//! | cell | defined in | holds | read by |
//! |---|---|---|---|
//! | `SourceCell` (map `SourceCells`) | `packem_graph` | a file's `Source` (file + compile settings) in a project | `module_source` |
//! | `ParseCell` (map `ParseCells`) | `packem_parse` | a source's summary and diagnostics | `module_summary`, `file_diagnostics` |
//! | `SymbolsCell` (map `SymbolsCells`) | `packem_link` | a source's symbols | `module_symbols` |
//! | `LinkCell` (a `Target`'s `link_cells`) | `packem_emit` | a module's slice of the link output | `rendered_module` |
//! | `NamesCell` (a `Target`'s `names_cell`) | `packem_emit` | the output names, with splitting | outputs |
//! | a `Target`'s `property_names` | `packem_emit` | the `--mangle-props` mapping | renders |
//!
//! Each is defined next to the query that reads it (a crate cannot read a type defined above
//! it); this file is their one writer. The discipline is the same for all: a cell is made from a
//! value its direct query just returned, is set again only when a re-derived value differs, and
//! is set at MEDIUM durability, so readers of unchanged cells verify in O(1). The direct queries
//! (`parsed_summary`, `parsed_symbols`, `link`, `output_names`) stay the source of truth:
//! [`Workspace`]'s sync methods re-derive from them for every touched file before a build reads
//! a cell. The persistent cache (`persist.rs`) only chooses the *initial* values of fact cells,
//! keyed by everything the direct queries read.

use std::sync::Arc;

use packem_db::{Diagnostic, Project};
use salsa::Setter;

use crate::{ModuleGraph, PackemDatabase, Target, Workspace};

impl Workspace {
    /// Re-derives the facts of every file touched since the last sync that has cells, and sets
    /// the cells whose facts differ (MEDIUM durability). A body edit sets none, so the graph, its
    /// diagnostics and the link stay verified without walking their dependencies.
    pub(crate) fn sync_fact_cells(&mut self) {
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
    pub(crate) fn sync_sources_and_facts(&mut self, pairs: &[(Project, packem_db::File)]) {
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

    /// With `--mangle-props`: copies the build's property mapping into the target when it changed
    /// (renders read the copy; see [`Target::property_names`]). Each module's property facts are
    /// computed in parallel first on a cold build.
    pub(crate) fn sync_property_names(&mut self, target: Target, graph: &Arc<ModuleGraph>) {
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
    pub(crate) fn make_fact_cells(&mut self, project: Project, graph: &Arc<ModuleGraph>) -> bool {
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
    pub(crate) fn sync_link_cells(
        &mut self,
        target: Target,
        graph: &ModuleGraph,
        linked: Arc<packem_link::LinkOutput>,
    ) {
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
    pub(crate) fn sync_names_cell(&mut self, target: Target) {
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
}

/// The host's side of the fact firewall (see `packem_parse`'s crate docs): every cell it made,
/// and the graph it last made cells for.
pub(crate) struct FactCells {
    pub(crate) parse_map: packem_parse::ParseCells,
    pub(crate) symbols_map: packem_link::SymbolsCells,
    pub(crate) cells: rustc_hash::FxHashMap<packem_parse::Source, (packem_parse::ParseCell, packem_link::SymbolsCell)>,
    pub(crate) source_map: packem_graph::SourceCells,
    /// Each module's [`packem_graph::SourceCell`] (its `derived_source`) in each project that
    /// has it.
    pub(crate) source_cells: rustc_hash::FxHashMap<packem_db::File, Vec<(Project, packem_graph::SourceCell)>>,
    /// The sources other than its own that a file has fact cells for (one per other loader it
    /// is imported with).
    pub(crate) by_file: rustc_hash::FxHashMap<packem_db::File, Vec<packem_parse::Source>>,
    /// Projects whose every source must be re-derived (options, compile options or a tsconfig
    /// changed).
    pub(crate) stale: rustc_hash::FxHashSet<Project>,
}

/// One file's facts as the cells hold them.
pub(crate) struct Facts {
    summary: Arc<packem_parse::ModuleSummary>,
    diagnostics: Arc<[Diagnostic]>,
    symbols: Arc<packem_link::ModuleSymbols>,
}

impl Facts {
    /// `source`'s facts for a new cell: what the graph and the link just read (a stored value
    /// when the persistent cache had one, else the direct queries').
    pub(crate) fn initial(db: &PackemDatabase, source: packem_parse::Source) -> Facts {
        Facts {
            summary: packem_parse::module_summary(db, source).clone(),
            diagnostics: packem_parse::file_diagnostics(db, source).clone(),
            symbols: packem_link::module_symbols(db, source).clone(),
        }
    }

    /// `source`'s facts now (the direct queries, not the cells).
    pub(crate) fn derive(db: &PackemDatabase, source: packem_parse::Source) -> Facts {
        Facts {
            summary: packem_parse::parsed_summary(db, source).clone(),
            diagnostics: packem_parse::parsed_diagnostics(db, source).clone(),
            symbols: packem_link::parsed_symbols(db, source).clone(),
        }
    }
}

impl FactCells {
    pub(crate) fn new(db: &PackemDatabase) -> Self {
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
    pub(crate) fn source_cell(&self, project: Project, file: packem_db::File) -> Option<packem_graph::SourceCell> {
        self.source_cells.get(&file)?.iter().find(|(p, _)| *p == project).map(|(_, cell)| *cell)
    }

    /// Every file with a source cell in one of `projects`, in path-independent but stable order.
    pub(crate) fn pairs_of(&self, projects: &rustc_hash::FxHashSet<Project>) -> Vec<(Project, packem_db::File)> {
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
    pub(crate) fn update(&self, db: &mut PackemDatabase, source: packem_parse::Source, fresh: Facts) {
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
    pub(crate) fn create(&mut self, db: &mut PackemDatabase, project: Project, graph: &ModuleGraph) -> bool {
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
                let Facts { summary, diagnostics, symbols } = Facts::initial(db, module.source);
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
