//! Step 1, wrapping: which modules are CommonJS closures (`__commonJS`), which are evaluated
//! lazily (`__esm`) and which stay outside the bundle.

use packem_db::{Loader, Project};
use packem_graph::{EdgeTarget, ModuleGraph, ModuleId};
use packem_parse::{ImportKind, ModuleFormat, module_summary};

use crate::output::Wrap;
use crate::symbols::{ModuleSymbols, module_symbols};

/// The symbols of a module that declares nothing (disabled, or outside the bundle).
static NO_SYMBOLS: ModuleSymbols = ModuleSymbols {
    declared: Vec::new(),
    imports: Vec::new(),
    local_exports: Vec::new(),
    reexports: Vec::new(),
    star_exports: Vec::new(),
    default_local: None,
    nested: Vec::new(),
    globals: Vec::new(),
    namespace_values: Vec::new(),
    namespace_members: Vec::new(),
    statements: Vec::new(),
    loose_records: Vec::new(),
    direct_eval: false,
    with_statement: false,
    no_side_effects: Vec::new(),
};

/// How every module is framed, and the symbols the later steps read (per module, by index).
pub(crate) struct Framing<'a> {
    pub(crate) symbols: Vec<&'a ModuleSymbols>,
    pub(crate) wrap: Vec<Wrap>,
    /// For modules under the `copy` loader: the path the output imports instead.
    pub(crate) copies: Vec<Option<String>>,
    /// Scope-hoisted modules no entry reaches through static imports: evaluated lazily.
    pub(crate) lazy: Vec<bool>,
    /// Lazy modules whose evaluation is asynchronous (top-level await, theirs or a dependency's).
    pub(crate) lazy_async: Vec<bool>,
    /// Whether a module's imports of CommonJS use Node's interop (see [`crate::CjsRef`]).
    pub(crate) node_mode: Vec<bool>,
    /// With code splitting: the entry points ([`entry_points`]); empty otherwise.
    pub(crate) split_points: Vec<ModuleId>,
}

/// Decides how each module of `graph` is framed.
pub(crate) fn frame<'a>(db: &'a dyn packem_resolve::Db, project: Project, graph: &ModuleGraph) -> Framing<'a> {
    let mut symbols = Vec::new();
    let mut wrap = Vec::new();
    // JSON and assets are scope-hoisted values unless something `require()`s them, which
    // must see the value itself as `module.exports` (esbuild's and Node's behaviour).
    let mut required = vec![false; graph.modules.len()];
    for module in &graph.modules {
        for edge in &module.edges {
            if let EdgeTarget::Module(t) = edge.target
                && edge.kind == ImportKind::Require
            {
                required[t.index()] = true;
            }
        }
    }
    for &entry in &graph.entries {
        required[entry.index()] = true;
    }
    let mut copies = vec![None; graph.modules.len()];
    for (index, module) in graph.modules.iter().enumerate() {
        if module.disabled {
            symbols.push(&NO_SYMBOLS);
            wrap.push(Wrap::Cjs);
            continue;
        }
        let loader = module.source.settings(db).loader;
        if loader == Some(Loader::Copy) {
            copies[index] = packem_graph::asset_file(db, project, module.file)
                .as_ref()
                .ok()
                .map(|asset| packem_graph::asset_url(db, project, &asset.name));
            symbols.push(&NO_SYMBOLS);
            wrap.push(Wrap::External);
            continue;
        }
        let format = module_summary(db, module.source).format;
        symbols.push(&**module_symbols(db, module.source));
        wrap.push(match format {
            ModuleFormat::CommonJs => Wrap::Cjs,
            _ if loader == Some(Loader::Empty) => Wrap::Cjs,
            ModuleFormat::Json | ModuleFormat::Asset if required[index] => Wrap::Cjs,
            _ => Wrap::None,
        });
    }
    let splitting = project.link(db).splitting;
    let points = entry_points(graph, &wrap, &symbols, splitting);
    let lazy = lazy_modules(graph, &wrap, &points, splitting);
    let split_points = if splitting { points } else { Vec::new() };
    let node_mode = graph
        .modules
        .iter()
        .zip(&wrap)
        .map(|(m, w)| *w == Wrap::Cjs || m.disabled || crate::module_type::node_esm_interop(db, m.file))
        .collect();
    let lazy_async = async_lazy_modules(db, graph, &lazy);
    Framing { symbols, wrap, copies, lazy, lazy_async, node_mode, split_points }
}

/// Scope-hoisted modules that some entry reaches, but not through static imports of
/// scope-hoisted modules alone (only through `require()` or `import()`), and those something
/// `require()`s: they are framed as lazy `__esm` closures, so that they run when those calls run. In an output whose entry does reach
/// one statically, the chunk calls its `init_x()` where it would have run (esbuild's scheme), so
/// whether a module runs eagerly is decided per output.
///
/// With `splitting`, every `import()` target is an entry point of its own (not a place where
/// laziness starts), and a module two entry points reach is lazy too: it sits in a shared chunk,
/// and each entry's chunk calls its `init_x()` at its place in that entry's evaluation order,
/// so evaluation order is Node's even though the shared chunk is imported first.
fn lazy_modules(graph: &ModuleGraph, wrap: &[Wrap], points: &[ModuleId], splitting: bool) -> Vec<bool> {
    let n = graph.modules.len();
    let mut lazy = vec![false; n];
    let is_point: rustc_hash::FxHashSet<ModuleId> = points.iter().copied().collect();
    let mut reached_by = vec![0u32; n];
    for &entry in points {
        let mut eager = vec![false; n];
        let mut stack: Vec<ModuleId> = Vec::new();
        if wrap[entry.index()] == Wrap::None {
            eager[entry.index()] = true;
            stack.push(entry);
        }
        while let Some(module) = stack.pop() {
            for edge in &graph.module(module).edges {
                if let EdgeTarget::Module(target) = edge.target
                    && edge.kind.is_static()
                    && wrap[target.index()] == Wrap::None
                    && !eager[target.index()]
                {
                    eager[target.index()] = true;
                    stack.push(target);
                }
            }
        }
        let mut reached = vec![false; n];
        reached[entry.index()] = true;
        stack.push(entry);
        while let Some(module) = stack.pop() {
            for edge in &graph.module(module).edges {
                if let EdgeTarget::Module(target) = edge.target
                    && !matches!(edge.kind, ImportKind::RequireResolve | ImportKind::NewUrl)
                    && !(splitting && edge.kind == ImportKind::DynamicImport && is_point.contains(&target))
                    && !reached[target.index()]
                {
                    reached[target.index()] = true;
                    stack.push(target);
                }
            }
        }
        for i in 0..n {
            lazy[i] |= reached[i] && !eager[i] && wrap[i] == Wrap::None;
            reached_by[i] += u32::from(reached[i]);
        }
    }
    if splitting {
        for i in 0..n {
            lazy[i] |= reached_by[i] > 1 && wrap[i] == Wrap::None;
        }
    }
    // A `require()`d ES module runs when the call runs, which may be before its place in the
    // static order (esbuild wraps these too).
    for module in &graph.modules {
        for edge in &module.edges {
            if let EdgeTarget::Module(target) = edge.target
                && edge.kind == ImportKind::Require
                && wrap[target.index()] == Wrap::None
            {
                lazy[target.index()] = true;
            }
        }
    }
    lazy
}

/// Lazy modules that must be initialized asynchronously: they use top-level await or statically
/// import a lazy module that does (a fixpoint, since imports can be circular).
fn async_lazy_modules(db: &dyn packem_resolve::Db, graph: &ModuleGraph, lazy: &[bool]) -> Vec<bool> {
    let mut result: Vec<bool> = (0..graph.modules.len())
        .map(|i| lazy[i] && module_summary(db, graph.modules[i].source).has_top_level_await)
        .collect();
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..graph.modules.len() {
            if !lazy[i] || result[i] {
                continue;
            }
            let awaits = graph.modules[i]
                .edges
                .iter()
                .any(|e| e.kind.is_static() && matches!(e.target, EdgeTarget::Module(t) if result[t.index()]));
            if awaits {
                result[i] = true;
                changed = true;
            }
        }
    }
    result
}

/// The modules outputs start from: the entries and, with `splitting`, every scope-hoisted
/// module an `import()` loads, in graph order. Not CommonJS ones, nor modules whose namespace a
/// static import uses as a value (`import()` must return that very object): those stay in their
/// importers' chunks, and their `import()` is rewritten as without splitting.
pub(crate) fn entry_points(
    graph: &ModuleGraph,
    wrap: &[Wrap],
    symbols: &[&ModuleSymbols],
    splitting: bool,
) -> Vec<ModuleId> {
    let mut points = graph.entries.clone();
    if splitting {
        let mut seen: rustc_hash::FxHashSet<ModuleId> = points.iter().copied().collect();
        for (module, symbols) in graph.modules.iter().zip(symbols) {
            for import in &symbols.imports {
                if import.imported == crate::symbols::Imported::Namespace
                    && symbols.namespace_values.contains(&import.local)
                    && let Some(edge) = module.edge(import.record)
                    && let EdgeTarget::Module(target) = edge.target
                {
                    seen.insert(target);
                }
            }
        }
        for module in &graph.modules {
            for edge in &module.edges {
                if let EdgeTarget::Module(target) = edge.target
                    && edge.kind == ImportKind::DynamicImport
                    && wrap[target.index()] == Wrap::None
                    && seen.insert(target)
                {
                    points.push(target);
                }
            }
        }
    }
    points
}
