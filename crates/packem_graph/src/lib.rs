//! The module graph: which modules a project's entries reach, and how they import each other.
//!
//! Sits between `packem_parse` (one module's imports, as a span-free [`ModuleSummary`]) and the
//! linker. Owns three queries: [`module_edges`] (one module's records, resolved), [`module_graph`]
//! and [`graph_diagnostics`]. The graph reads only `module_edges`, which reads `module_summary`
//! and `resolve`, all `Eq`, and is `Eq` itself: an edit that keeps every module's imports and
//! exports is cut off before it and re-runs nothing here; one that changes a module's imports
//! resolves only that module's records again.
//!
//! It does not resolve specifiers (`packem_resolve` does), parse (`packem_parse` does) or read
//! files. The graph is built by a loop, not by recursive queries, so import cycles need no salsa
//! cycle handling.
//!
//! [`ModuleSummary`]: packem_parse::ModuleSummary

mod asset;
mod cycles;
mod diagnostics;
mod edges;
mod source;

use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};
use packem_db::{File, FileStatus, Loader, Project};
use packem_parse::{CompileSettings, ImportKind, ModuleFormat, Source};
use packem_resolve::{ResolveFailure, ResolveKind};
use rustc_hash::FxHashMap;

pub use asset::{AssetFile, MAX_ASSET_BYTES, asset_file, asset_url, asset_value, data_url};
pub use diagnostics::{graph_diagnostics, injected_note};
pub use edges::{ModuleEdges, RecordEdge, RecordTarget, module_edges};
pub use source::{SourceCell, SourceCells, derived_source, module_source};

/// Index of a module in [`ModuleGraph::modules`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleId(pub u32);

impl ModuleId {
    /// The index as `usize`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// All modules reachable from the entries, in a deterministic order (breadth-first from the
/// entries in the order given, edges in source order).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ModuleGraph {
    /// The modules; a [`ModuleId`] indexes this.
    pub modules: Vec<ModuleNode>,
    /// The entry modules, in the order given (duplicates removed).
    pub entries: Vec<ModuleId>,
    /// Entry paths that do not exist.
    pub missing_entries: Vec<Utf8PathBuf>,
    /// Import cycles through non-dynamic edges, each as the modules along the cycle.
    pub cycles: Vec<Vec<ModuleId>>,
}

/// One module of the graph.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ModuleNode {
    /// The module's file input.
    pub file: File,
    /// The file with the settings it is compiled with: the key of its per-module queries.
    pub source: Source,
    /// Its absolute path.
    pub path: Utf8PathBuf,
    /// ESM, CommonJS, JSON or no module syntax.
    pub format: ModuleFormat,
    /// Disabled by a package.json `browser` field (`false`): bundled as an empty module.
    pub disabled: bool,
    /// Outgoing edges, one per import record, in source order.
    pub edges: Vec<Edge>,
}

/// One import record of a module and what it resolved to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Edge {
    /// Index of the record in the importer's `module_scan`/`module_summary` records.
    pub record: u32,
    /// The specifier as written.
    pub specifier: String,
    /// How it is imported.
    pub kind: ImportKind,
    /// Whether the record is a `require()`/`import()` inside a `try` block.
    pub in_try_block: bool,
    /// The `type` import attribute (`with { type: "json" }`), if any.
    pub type_attribute: Option<String>,
    /// What it resolved to.
    pub target: EdgeTarget,
}

/// What an import record points at.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EdgeTarget {
    /// A module of the graph.
    Module(ModuleId),
    /// A file referenced but not bundled as a module (`require.resolve`, `new URL(.., import.meta.url)`).
    Asset(Utf8PathBuf),
    /// Left as an import in the output.
    External(String),
    /// Resolution failed.
    Unresolved(ResolveFailure),
}

impl ModuleNode {
    /// The edge of import record `record` (edges are one per record, in record order).
    pub fn edge(&self, record: u32) -> Option<&Edge> {
        let edge = self.edges.get(record as usize)?;
        debug_assert_eq!(edge.record, record);
        Some(edge)
    }
}

impl ModuleGraph {
    /// The node of `id`.
    pub fn module(&self, id: ModuleId) -> &ModuleNode {
        &self.modules[id.index()]
    }

    /// The id of the module at `path`, if it is in the graph.
    pub fn find(&self, path: &Utf8Path) -> Option<ModuleId> {
        self.modules.iter().position(|m| m.path == path).map(|i| ModuleId(i as u32))
    }
}

/// The loader an import attribute `type` asks for: `json`, and the TC39 proposals' `text` and
/// `bytes` (`None` for other types, which `graph_diagnostics` reports).
pub fn loader_of_type(type_attribute: &str) -> Option<Loader> {
    match type_attribute {
        "json" => Some(Loader::Json),
        "text" => Some(Loader::Text),
        "bytes" => Some(Loader::Binary),
        _ => None,
    }
}

/// Whether an edge of this kind pulls its target into the bundle as a module.
pub fn kind_bundles_target(kind: ImportKind) -> bool {
    !matches!(kind, ImportKind::RequireResolve | ImportKind::NewUrl)
}

/// The resolver conditions an import kind uses.
pub fn resolve_kind(kind: ImportKind) -> ResolveKind {
    match kind {
        ImportKind::Require | ImportKind::RequireResolve => ResolveKind::Require,
        _ => ResolveKind::Import,
    }
}

/// The module graph of `project`: breadth-first from its entries over every import record.
///
/// `Eq`, and it reads only `Eq` queries, so a body edit that leaves summaries equal only
/// validates this memo. `returns(ref)` because callers iterate it.
#[salsa::tracked(returns(ref))]
pub fn module_graph(db: &dyn packem_resolve::Db, project: Project) -> Arc<ModuleGraph> {
    let _span = tracing::info_span!("module_graph").entered();
    let mut modules: Vec<ModuleNode> = Vec::new();
    // A module is a file under one loader: an import attribute that asks for another loader
    // (`with { type: "text" }` of a `.svg`) makes a module of its own.
    let mut ids: FxHashMap<(File, Option<Loader>), ModuleId> = FxHashMap::default();
    let mut entries = Vec::new();
    let mut missing_entries = Vec::new();

    let mut add = |modules: &mut Vec<ModuleNode>, file: File, disabled: bool, forced: Option<Loader>| -> ModuleId {
        let source = module_source(db, project, file);
        // The file's own loader is no override: the same module as a plain import.
        let forced = forced.filter(|l| source.settings(db).loader != Some(*l));
        *ids.entry((file, forced)).or_insert_with(|| {
            let id = ModuleId(modules.len() as u32);
            let path = file.path(db).clone();
            let source = match forced {
                Some(loader) => Source::new(db, file, CompileSettings::for_loader(&path, loader)),
                None => source,
            };
            modules.push(ModuleNode { file, source, path, format: ModuleFormat::None, disabled, edges: Vec::new() });
            id
        })
    };

    for entry in project.entries(db) {
        let file = db.files().file(db, entry);
        if file.status(db) != FileStatus::Exists {
            missing_entries.push(entry.clone());
            continue;
        }
        let id = add(&mut modules, file, false, None);
        if !entries.contains(&id) {
            entries.push(id);
        }
    }

    // Breadth-first: `next` walks `modules` as it grows.
    let mut next = 0;
    while next < modules.len() {
        let id = ModuleId(next as u32);
        next += 1;
        if modules[id.index()].disabled {
            continue;
        }
        let resolved = module_edges(db, project, modules[id.index()].source);
        modules[id.index()].format = resolved.format;
        let mut edges = Vec::with_capacity(resolved.records.len());
        for (index, record) in resolved.records.iter().enumerate() {
            let target = match &record.target {
                RecordTarget::Module { file, disabled, forced } => {
                    EdgeTarget::Module(add(&mut modules, *file, *disabled, *forced))
                }
                RecordTarget::Asset(path) => EdgeTarget::Asset(path.clone()),
                RecordTarget::External(path) => EdgeTarget::External(path.clone()),
                RecordTarget::Unresolved(failure) => EdgeTarget::Unresolved(failure.clone()),
            };
            edges.push(Edge {
                record: index as u32,
                specifier: record.specifier.clone(),
                kind: record.kind,
                in_try_block: record.in_try_block,
                type_attribute: record.type_attribute.clone(),
                target,
            });
        }
        modules[id.index()].edges = edges;
    }

    let cycles = cycles::find_cycles(&modules);
    Arc::new(ModuleGraph { modules, entries, missing_entries, cycles })
}
