//! The `link` query: the driver of linking. It binds every import to the export it refers to,
//! decides how each module is framed, orders evaluation per entry and names every top-level
//! binding. The steps, in order (after esbuild's `Link` and rolldown's `LinkStage::link`):
//!
//! 1. [wrapping](crate::wrapping): CommonJS, required JSON and disabled modules become
//!    `__commonJS` closures; ESM modules no entry reaches statically become lazy `__esm` ones.
//!    First, because every later step asks how a module is framed.
//! 2. [binding](crate::binding): `export … from`, `export *` and CommonJS interop, with missing
//!    and ambiguous imports reported. Before naming, because an import bound to a scope-hoisted
//!    export takes its target's name, and which namespace objects exist depends on the bindings.
//! 3. [shaking](crate::shaking): which modules run and which statements stay, from the
//!    entries' exports and the statements with side effects. After binding, because it follows
//!    bindings; before naming, because only the namespace objects something uses get a name.
//! 4. [naming](crate::naming): final names, first come, first served in graph order, avoiding
//!    globals, runtime helpers and captures. Before planning, whose glue uses the names.
//! 5. [chunk planning](crate::chunk_plan): per entry, the evaluation order (ESM post-order, with
//!    CommonJS imports run at their import's place), wrappers, namespace objects and externals,
//!    of the modules that run. With code splitting, [chunking](crate::chunking) first groups
//!    modules by the entry points that reach them, and each group is planned as a chunk.
//! 6. [projection](crate::projection): each module's part of the result (`ModuleLink`, with the
//!    statements shaking dropped, `import()` of an entry point rewritten to its chunk), after
//!    chunking because of those rewrites, and after everything else it reads.
//! 7. With code splitting, [cross-chunk binding](crate::cross_chunk): which names each chunk
//!    imports from and exports to the others. Last, because it reads the modules' parts and the
//!    chunks' glue.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use packem_db::{Diagnostic, Project};
use packem_graph::{EdgeTarget, ModuleGraph, ModuleId, module_graph};
use packem_parse::Source;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::binding::SymbolIndex;
use crate::output::{Binding, ChunkKind, LinkOutput, ModuleLink, SourceKey, Wrap};
use crate::symbols::{Imported, ModuleSymbols};
use crate::wrapping::Framing;

/// Links `project`: reads only the graph, `module_summary` and `module_symbols` (all `Eq`,
/// span-free), so a body edit that declares no new name does not re-run it.
#[salsa::tracked(returns(ref))]
pub fn link(db: &dyn packem_resolve::Db, project: Project) -> Arc<LinkOutput> {
    let _span = tracing::info_span!("link").entered();
    let graph = module_graph(db, project);
    let step = |name: &'static str| tracing::debug_span!("link_step", step = name).entered();
    let mut linker = {
        let _s = step("wrapping");
        Linker::new(db, project, graph)
    };
    {
        let _s = step("binding");
        linker.bind_all();
    }
    {
        let _s = step("shaking");
        linker.shake();
        linker.settle_namespaces();
    }
    {
        let _s = step("naming");
        linker.assign_names();
        if linker.minify.identifiers {
            linker.minify_names();
        }
    }
    let splitting = project.link(db).splitting;
    let mut chunks: Vec<_> = {
        let _s = step("chunk_plan");
        if splitting {
            linker.split_chunks()
        } else {
            graph.entries.iter().map(|&entry| linker.plan_chunk(entry, ChunkKind::Entry, None)).collect()
        }
    };
    let mut modules: Vec<_> = {
        let _s = step("projection");
        (0..graph.modules.len()).map(|i| linker.module_link(ModuleId(i as u32))).collect()
    };
    if splitting {
        let _s = step("cross_chunk");
        for (i, module) in modules.iter_mut().enumerate() {
            module.names = Some(linker.module_names(ModuleId(i as u32), module));
        }
        linker.bind_chunks(&mut chunks, &modules);
    }
    let by_source =
        graph.modules.iter().enumerate().map(|(i, m)| (SourceKey::of(m.source), ModuleId(i as u32))).collect();
    let mut diagnostics = std::mem::take(&mut linker.diagnostics);
    diagnostics.sort();
    diagnostics.dedup();
    Arc::new(LinkOutput { modules, chunks, diagnostics, by_source })
}

/// What export `name` of the module `module` finally refers to, through re-exports and
/// `export *` (for editor navigation; the same rules as linking).
pub fn trace_export(db: &dyn packem_resolve::Db, project: Project, module: ModuleId, name: &str) -> Binding {
    let graph = module_graph(db, project);
    let mut linker = Linker::new(db, project, graph);
    linker.resolve_export(module, name, &mut Vec::new())
}

/// The part of `link` that concerns the module `source` (a projection: `Eq`, so renders re-run
/// only when their module's part changed).
#[salsa::tracked(returns(ref))]
pub fn module_link(db: &dyn packem_resolve::Db, project: Project, source: Source) -> ModuleLink {
    let linked = link(db, project);
    linked.by_source.get(&SourceKey::of(source)).map(|id| linked.modules[id.index()].clone()).unwrap_or_default()
}

/// An importer whose nested-scope names a binding's final name must avoid, except the one
/// name (the importer's own local for it) that nested scopes may shadow harmlessly.
pub(crate) type Capture = (ModuleId, Option<String>);

/// The linker's state, shared by the steps (each step's file adds its methods).
pub(crate) struct Linker<'a> {
    pub(crate) db: &'a dyn packem_resolve::Db,
    pub(crate) cwd: camino::Utf8PathBuf,
    pub(crate) graph: &'a ModuleGraph,
    pub(crate) symbols: Vec<&'a ModuleSymbols>,
    pub(crate) wrap: Vec<Wrap>,
    /// For modules under the `copy` loader: the path the output imports instead.
    pub(crate) copies: Vec<Option<String>>,
    /// Name lookups per module (see [`Linker::index_of`]).
    pub(crate) indexes: Vec<Option<Arc<SymbolIndex>>>,
    /// Resolved import bindings per module, one per import (in `ModuleSymbols::imports`
    /// order; empty for CommonJS modules).
    pub(crate) bindings: Vec<Vec<Binding>>,
    /// Modules whose namespace object is needed.
    pub(crate) namespace_needed: BTreeSet<ModuleId>,
    /// Per module: local → final name (see [`Linker::final_name`]).
    pub(crate) finals: Vec<FxHashMap<String, String>>,
    pub(crate) taken: FxHashSet<String>,
    /// Every name claimed, in claim order (the tie-break of `--minify-identifiers`).
    pub(crate) claimed: Vec<String>,
    /// The project's minification settings.
    pub(crate) minify: packem_db::Minify,
    /// `--keep-names`.
    pub(crate) keep_names: bool,
    /// Per base name, the first `$n` suffix that may be free (see `Linker::suffix_hint`).
    pub(crate) suffix_hints: FxHashMap<String, u32>,
    pub(crate) reserved: FxHashSet<String>,
    pub(crate) all_nested: FxHashSet<String>,
    /// Names a binding may not take because an importer references it where a nested binding
    /// of that name is visible.
    /// (For each binding, the importers whose nested-scope names it must not take, except
    /// one name each: an importer's own local for the binding, which nested scopes may shadow.)
    /// Per module: local → those importers.
    pub(crate) avoid: Vec<FxHashMap<String, Vec<Capture>>>,
    pub(crate) wrapper_names: BTreeMap<ModuleId, String>,
    /// Scope-hoisted modules no entry reaches through static imports: evaluated lazily.
    pub(crate) lazy: Vec<bool>,
    /// Lazy modules whose evaluation is asynchronous (top-level await, theirs or a dependency's).
    pub(crate) lazy_async: Vec<bool>,
    pub(crate) init_names: BTreeMap<ModuleId, String>,
    pub(crate) namespace_names: BTreeMap<ModuleId, String>,
    pub(crate) import_vars: BTreeMap<(ModuleId, bool), String>,
    /// Per module: whether its imports of CommonJS use Node's interop (see [`CjsRef`]).
    pub(crate) node_mode: Vec<bool>,
    pub(crate) external_names: BTreeMap<(String, Imported), String>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) export_names_cache: FxHashMap<ModuleId, Arc<[&'a str]>>,
    /// How many times `export_names` cut an `export *` cycle short: results computed without
    /// a cut are final and cached, as top-level ones are.
    pub(crate) cycle_cuts: u64,
    /// `resolve_export` results of top-level calls, per module by export name.
    pub(crate) resolved: Vec<FxHashMap<String, Binding>>,
    pub(crate) project: Project,
    /// What tree shaking kept (`None` with tree shaking off: everything).
    pub(crate) shaken: Option<crate::shaking::Shaken>,
    /// Entries whose namespace object only CommonJS and IIFE outputs need.
    pub(crate) entry_only_namespaces: BTreeSet<ModuleId>,
    /// With code splitting: the chunk each entry point's `import()` loads.
    pub(crate) entry_chunks: FxHashMap<ModuleId, u32>,
    /// With code splitting: the entry points (entries and the `import()` targets that get a
    /// chunk of their own), in order.
    pub(crate) split_points: Vec<ModuleId>,
    /// The same, as a set.
    pub(crate) is_split_point: FxHashSet<ModuleId>,
}

impl<'a> Linker<'a> {
    /// A linker over `graph` after step 1 (wrapping), which everything else reads.
    pub(crate) fn new(db: &'a dyn packem_resolve::Db, project: Project, graph: &'a ModuleGraph) -> Self {
        let cwd = project.options(db).cwd.clone();
        let Framing { symbols, wrap, copies, lazy, lazy_async, node_mode, split_points } =
            crate::wrapping::frame(db, project, graph);
        let (reserved, all_nested) = crate::naming::reserved_names(&symbols, &wrap);
        let is_split_point = split_points.iter().copied().collect();
        let n = graph.modules.len();
        Self {
            db,
            cwd,
            graph,
            symbols,
            wrap,
            copies,
            indexes: vec![None; n],
            bindings: vec![Vec::new(); n],
            namespace_needed: BTreeSet::new(),
            finals: vec![FxHashMap::default(); n],
            taken: FxHashSet::default(),
            claimed: Vec::new(),
            minify: project.link(db).minify,
            keep_names: project.link(db).keep_names,
            suffix_hints: FxHashMap::default(),
            reserved,
            all_nested,
            avoid: vec![FxHashMap::default(); n],
            wrapper_names: BTreeMap::new(),
            lazy,
            lazy_async,
            init_names: BTreeMap::new(),
            namespace_names: BTreeMap::new(),
            import_vars: BTreeMap::new(),
            node_mode,
            external_names: BTreeMap::new(),
            diagnostics: Vec::new(),
            export_names_cache: FxHashMap::default(),
            cycle_cuts: 0,
            resolved: vec![FxHashMap::default(); n],
            project,
            shaken: None,
            entry_only_namespaces: BTreeSet::new(),
            entry_chunks: FxHashMap::default(),
            split_points,
            is_split_point,
        }
    }

    /// What `module`'s import binding `i` (an index into its imports) is bound to.
    pub(crate) fn import_binding(&self, module: ModuleId, i: usize) -> Option<&Binding> {
        self.bindings[module.index()].get(i)
    }

    /// What `module`'s import binding named `local` is bound to.
    pub(crate) fn import_binding_named(&self, module: ModuleId, local: &str) -> Option<&Binding> {
        let i = self.symbols[module.index()].imports.iter().position(|i| i.local == local)?;
        self.import_binding(module, i)
    }

    /// The final name of `module`'s top-level binding `local` (once naming ran).
    pub(crate) fn final_name(&self, module: ModuleId, local: &str) -> Option<&String> {
        self.finals[module.index()].get(local)
    }

    /// The target of `module`'s import record `record`.
    pub(crate) fn edge_target(&self, module: ModuleId, record: u32) -> Option<&'a EdgeTarget> {
        self.edge(module, record).map(|e| &e.target)
    }

    /// `module`'s edge for import record `record`.
    pub(crate) fn edge(&self, module: ModuleId, record: u32) -> Option<&'a packem_graph::Edge> {
        self.graph.modules[module.index()].edge(record)
    }
}
