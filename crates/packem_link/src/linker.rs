//! The `link` query: binds every import to the export it refers to, decides which modules are
//! wrapped, orders module evaluation per entry, and gives every top-level binding its final name.
//!
//! The steps, in order (after esbuild's `Link` and rolldown's `LinkStage::link`):
//! 1. decide wrapping: CommonJS and JSON modules become lazy `__commonJS` closures;
//! 2. resolve exports (`export … from`, `export *` with ESM's ambiguity rule) and bind imports;
//!    this must come before naming because an ESM-bound import takes its target's name;
//! 3. assign final names, fewest renames first-come in graph order, avoiding globals, runtime
//!    helpers and the nested-scope names where a name is referenced (no capture);
//! 4. plan each entry's chunk: evaluation order (ESM post-order), wrappers, namespace objects,
//!    externals and runtime helpers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use packem_db::{Diagnostic, DiagnosticCode, Loader, Project};
use packem_graph::{EdgeTarget, ModuleGraph, ModuleId, module_graph};
use packem_parse::{ImportKind, ModuleFormat, Source, module_scan, module_summary};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::runtime::Helpers;
use crate::symbols::{ImportBinding, Imported, ModuleSymbols, module_symbols};

/// How a module is emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wrap {
    /// Scope-hoisted into the chunk (ESM and scripts).
    None,
    /// Inside a lazy `var require_x = __commonJS((exports, module) => { … })` (CommonJS, JSON and
    /// assets that something `require()`s, modules disabled by a `browser` field).
    Cjs,
    /// Not bundled: the output imports a copy of the file (the `copy` loader).
    External,
}

/// What an import or export finally refers to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Binding {
    /// A top-level binding of a scope-hoisted module.
    Local(ModuleId, String),
    /// The namespace object of a scope-hoisted module.
    Namespace(ModuleId),
    /// A property of a CommonJS module's `module.exports` (`default` is `module.exports` itself,
    /// as in Node).
    CjsProperty(CjsRef, String),
    /// A CommonJS module's namespace (`__toESM(require_x(), 1)`).
    CjsNamespace(CjsRef),
    /// An import of an external module.
    External(String, Imported),
    /// The import could not be resolved (already reported).
    Unresolved,
    /// No such export.
    Missing,
    /// Several `export *` provide the name (ESM: not exported).
    Ambiguous,
}

/// A CommonJS module as seen from ESM importers of one interop mode.
///
/// In Node mode (importer is `.mjs`/`.mts` or in a `"type": "module"` package) the default
/// import is `module.exports`; otherwise `__esModule` is honoured as Babel and esbuild do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CjsRef {
    /// The CommonJS module.
    pub module: ModuleId,
    /// Whether the importer uses Node's interop.
    pub node_mode: bool,
}

/// How a `require()`/`import()` record is rewritten.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RecordRewrite {
    /// Replace the call with this expression.
    Expr(String),
    /// `require("path")` of an external module (spelled per output format).
    ExternalRequire(String),
    /// `import("path")` of an external module (spelled per output format).
    ExternalImport(String),
}

/// Everything rendering needs to know about one module. `Eq`, so when linking re-runs but this
/// module's part is unchanged, its rendered code is reused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ModuleLink {
    /// Whether the module is wrapped.
    pub wrap: Option<String>,
    /// Final names of the module-scope bindings that change, as (local, final), sorted.
    pub renames: Vec<(String, String)>,
    /// `ns.name` rewrites: namespace local → (property, replacement expression).
    pub namespace_members: Vec<(String, Vec<(String, String)>)>,
    /// Replacements for `require()`/`import()` records, by record index.
    pub records: Vec<(u32, RecordRewrite)>,
    /// The final name of `export default <expression>`'s variable.
    pub default_local: Option<String>,
    /// Set when the module is evaluated lazily (`var init_x = __esm(…)`): it is reached only
    /// through `require()` or `import()`, so it must run when those run, not up front.
    pub lazy: Option<LazyModule>,
}

/// How a lazily evaluated ESM module is framed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LazyModule {
    /// The `init_x` function.
    pub init: String,
    /// Its namespace object (declared up front; filled in when it runs).
    pub namespace: String,
    /// The namespace's getters.
    pub getters: Vec<(String, String)>,
    /// Code run first: initializing lazy dependencies and binding CommonJS imports.
    pub prologue: String,
    /// Variables the prologue assigns, declared outside the closure.
    pub hoisted: Vec<String>,
    /// Whether it (or a lazy module it imports) uses top-level await: its closure is `async`.
    pub is_async: bool,
    /// Whether its namespace stays extensible (see [`NamespaceObject::open`]).
    pub open: bool,
}

/// One statement of a chunk's evaluation order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OrderItem {
    /// A scope-hoisted module's code.
    Module(ModuleId),
    /// Glue code (a CommonJS import: `var import_x = __toESM(require_x(), 1);` and its bindings).
    Code(String),
}

/// An external import used by a chunk: one binding per distinct (path, imported name).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExternalBinding {
    /// The module path, as the output imports it.
    pub path: String,
    /// What is imported.
    pub imported: Imported,
    /// The variable it is bound to.
    pub local: String,
}

/// A namespace object defined up front: `var name = __export({}, { export: () => expr, … })`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NamespaceObject {
    /// The module whose namespace it is.
    pub module: ModuleId,
    /// The variable.
    pub name: String,
    /// (export name, getter expression), sorted by name.
    pub getters: Vec<(String, String)>,
    /// Left extensible: `export * from` a CommonJS module adds names when that module runs.
    pub open: bool,
}

/// The plan for one entry's output.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChunkPlan {
    /// The entry module.
    pub entry: ModuleId,
    /// Wrapped modules in the chunk, with their wrapper variable.
    pub wrappers: Vec<(ModuleId, String)>,
    /// Lazily evaluated modules in the chunk (their code defines `init_x`).
    pub lazy: Vec<ModuleId>,
    /// Namespace objects to define: module, variable, and (export name, getter expression).
    pub namespaces: Vec<NamespaceObject>,
    /// Evaluation order.
    pub order: Vec<OrderItem>,
    /// External bindings, sorted by path.
    pub externals: Vec<ExternalBinding>,
    /// Side-effect-only externals (`import "x"` of an external module), in first-use order.
    pub external_side_effects: Vec<String>,
    /// The entry's exports as (name, expression), sorted by name (empty for a CommonJS entry).
    pub exports: Vec<(String, String)>,
    /// For a wrapped entry, its wrapper variable (the output evaluates `require_entry()`).
    pub entry_wrapper: Option<String>,
    /// Runtime helpers the chunk uses.
    pub helpers: Helpers,
    /// Whether any module of the chunk uses top-level await.
    pub top_level_await: bool,
    /// External modules the entry re-exports with `export * from` (their names are known only
    /// at run time).
    pub external_star_exports: Vec<String>,
}

/// The result of linking a project.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LinkOutput {
    /// Per module (indexed by [`ModuleId`]).
    pub modules: Vec<ModuleLink>,
    /// One chunk per entry, in entry order.
    pub chunks: Vec<ChunkPlan>,
    /// Missing and ambiguous imports.
    pub diagnostics: Vec<Diagnostic>,
    /// `Source` → module index, for the per-module projection.
    pub by_source: BTreeMap<SourceKey, ModuleId>,
}

/// A sortable key for a module's `Source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceKey(salsa::Id);

impl SourceKey {
    /// The key of `source`.
    pub fn of(source: Source) -> Self {
        Self(salsa::plumbing::AsId::as_id(&source))
    }
}

/// Links `project`: reads only the graph, `module_summary` and `module_symbols` (all `Eq`,
/// span-free), so a body edit that declares no new name does not re-run it.
#[salsa::tracked(returns(ref))]
pub fn link(db: &dyn packem_resolve::Db, project: Project) -> Arc<LinkOutput> {
    let _span = tracing::info_span!("link").entered();
    let graph = module_graph(db, project);
    let mut linker = Linker::new(db, project, graph);
    linker.bind_all();
    linker.assign_names();
    let chunks = graph.entries.iter().map(|&entry| linker.plan_chunk(entry)).collect();
    let modules = (0..graph.modules.len()).map(|i| linker.module_link(ModuleId(i as u32))).collect();
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

/// JavaScript keywords and reserved words: never identifiers.
const KEYWORDS: &[&str] = &[
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// Names no top-level binding may take besides the keywords: names with a meaning in some
/// output or in every scope.
const RESERVED: &[&str] = &[
    "arguments",
    "eval",
    "undefined",
    "NaN",
    "Infinity",
    "require",
    "module",
    "exports",
    "globalThis",
    "__filename",
    "__dirname",
    // Globals the runtime helpers and generated glue use: a module's top-level `Symbol` (lodash
    // has one) must not shadow them.
    "Object",
    "Symbol",
    "Promise",
    "Error",
];

struct Linker<'a> {
    db: &'a dyn packem_resolve::Db,
    cwd: camino::Utf8PathBuf,
    graph: &'a ModuleGraph,
    symbols: Vec<Arc<ModuleSymbols>>,
    wrap: Vec<Wrap>,
    /// For modules under the `copy` loader: the path the output imports instead.
    copies: Vec<Option<String>>,
    /// Name lookups per module (see [`Linker::index_of`]).
    indexes: Vec<Option<Arc<SymbolIndex>>>,
    /// Resolved import bindings per module: local → binding.
    bindings: Vec<BTreeMap<String, Binding>>,
    /// Modules whose namespace object is needed.
    namespace_needed: BTreeSet<ModuleId>,
    /// (module, local) → final name.
    finals: FxHashMap<(ModuleId, String), String>,
    taken: FxHashSet<String>,
    reserved: FxHashSet<String>,
    all_nested: FxHashSet<String>,
    /// Names a binding may not take because an importer references it where a nested binding
    /// of that name is visible.
    avoid: FxHashMap<(ModuleId, String), FxHashSet<String>>,
    wrapper_names: BTreeMap<ModuleId, String>,
    /// Scope-hoisted modules no entry reaches through static imports: evaluated lazily.
    lazy: Vec<bool>,
    /// Lazy modules whose evaluation is asynchronous (top-level await, theirs or a dependency's).
    lazy_async: Vec<bool>,
    init_names: BTreeMap<ModuleId, String>,
    namespace_names: BTreeMap<ModuleId, String>,
    import_vars: BTreeMap<(ModuleId, bool), String>,
    /// Per module: whether its imports of CommonJS use Node's interop (see [`CjsRef`]).
    node_mode: Vec<bool>,
    external_names: BTreeMap<(String, Imported), String>,
    diagnostics: Vec<Diagnostic>,
    export_names_cache: FxHashMap<ModuleId, Vec<String>>,
}

impl<'a> Linker<'a> {
    fn new(db: &'a dyn packem_resolve::Db, project: Project, graph: &'a ModuleGraph) -> Self {
        let cwd = project.options(db).cwd.clone();
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
                symbols.push(Arc::default());
                wrap.push(Wrap::Cjs);
                continue;
            }
            let loader = module.source.settings(db).loader;
            if loader == Some(Loader::Copy) {
                copies[index] = packem_graph::asset_file(db, project, module.file)
                    .as_ref()
                    .ok()
                    .map(|asset| packem_graph::asset_url(db, project, &asset.name));
                symbols.push(Arc::default());
                wrap.push(Wrap::External);
                continue;
            }
            let format = module_summary(db, module.source).format;
            symbols.push(module_symbols(db, module.source).clone());
            wrap.push(match format {
                ModuleFormat::CommonJs => Wrap::Cjs,
                _ if loader == Some(Loader::Empty) => Wrap::Cjs,
                ModuleFormat::Json | ModuleFormat::Asset if required[index] => Wrap::Cjs,
                _ => Wrap::None,
            });
        }
        let mut reserved: FxHashSet<String> = KEYWORDS.iter().chain(RESERVED).map(|s| s.to_string()).collect();
        reserved.extend(crate::runtime::HELPER_NAMES.iter().map(|s| s.to_string()));
        let mut all_nested = FxHashSet::default();
        for (i, s) in symbols.iter().enumerate() {
            reserved.extend(s.globals.iter().cloned());
            all_nested.extend(s.nested.iter().cloned());
            if wrap[i] == Wrap::Cjs {
                all_nested.extend(s.declared.iter().cloned());
            }
        }
        let n = graph.modules.len();
        let lazy = lazy_modules(graph, &wrap);
        let node_mode = graph
            .modules
            .iter()
            .zip(&wrap)
            .map(|(m, w)| *w == Wrap::Cjs || m.disabled || crate::module_type::node_esm_interop(db, m.file))
            .collect();
        let lazy_async = async_lazy_modules(db, graph, &lazy);
        Self {
            db,
            cwd,
            graph,
            symbols,
            wrap,
            copies,
            indexes: vec![None; n],
            bindings: vec![BTreeMap::new(); n],
            namespace_needed: BTreeSet::new(),
            finals: FxHashMap::default(),
            taken: FxHashSet::default(),
            reserved,
            all_nested,
            avoid: FxHashMap::default(),
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
        }
    }

    /// `module`'s exports, re-exports and imports by name (built on first use: a module can have
    /// hundreds of thousands of exports, and every namespace getter looks one up).
    fn index_of(&mut self, module: ModuleId) -> Arc<SymbolIndex> {
        if let Some(index) = &self.indexes[module.index()] {
            return index.clone();
        }
        let symbols = &self.symbols[module.index()];
        let mut index = SymbolIndex::default();
        // The first of duplicate names wins, as the linear search did.
        for (i, (exported, _)) in symbols.local_exports.iter().enumerate() {
            index.local_exports.entry(exported.clone()).or_insert(i);
        }
        for (i, re) in symbols.reexports.iter().enumerate() {
            index.reexports.entry(re.exported.clone()).or_insert(i);
        }
        for (i, import) in symbols.imports.iter().enumerate() {
            index.imports.entry(import.local.clone()).or_insert(i);
        }
        let index = Arc::new(index);
        self.indexes[module.index()] = Some(index.clone());
        index
    }

    fn edge_target(&self, module: ModuleId, record: u32) -> Option<&EdgeTarget> {
        self.graph.module(module).edges.iter().find(|e| e.record == record).map(|e| &e.target)
    }

    /// What `imported` of the module behind `module`'s record `record` refers to.
    fn resolve_record(
        &mut self,
        module: ModuleId,
        record: u32,
        imported: &Imported,
        stack: &mut Vec<(ModuleId, String)>,
    ) -> Binding {
        match self.edge_target(module, record).cloned() {
            Some(EdgeTarget::Module(target)) if self.wrap[target.index()] == Wrap::External => {
                match self.copies[target.index()].clone() {
                    Some(url) => Binding::External(url, imported.clone()),
                    None => Binding::Unresolved,
                }
            }
            Some(EdgeTarget::Module(target)) => match imported {
                Imported::Namespace if self.wrap[target.index()] == Wrap::Cjs => {
                    Binding::CjsNamespace(CjsRef { module: target, node_mode: self.node_mode[module.index()] })
                }
                Imported::Namespace => Binding::Namespace(target),
                Imported::Name(name) if self.wrap[target.index()] == Wrap::Cjs => Binding::CjsProperty(
                    CjsRef { module: target, node_mode: self.node_mode[module.index()] },
                    name.clone(),
                ),
                Imported::Name(name) => self.resolve_export(target, name, stack),
            },
            Some(EdgeTarget::External(path)) => Binding::External(path, imported.clone()),
            _ => Binding::Unresolved,
        }
    }

    /// What export `name` of `module` refers to, following re-exports and `export *`.
    fn resolve_export(&mut self, module: ModuleId, name: &str, stack: &mut Vec<(ModuleId, String)>) -> Binding {
        if self.wrap[module.index()] == Wrap::Cjs {
            return Binding::CjsProperty(CjsRef { module, node_mode: true }, name.to_string());
        }
        if stack.iter().any(|(m, n)| *m == module && n == name) {
            return Binding::Missing;
        }
        stack.push((module, name.to_string()));
        let symbols = self.symbols[module.index()].clone();
        let index = self.index_of(module);
        let result = if let Some(&i) = index.local_exports.get(name) {
            let local = &symbols.local_exports[i].1;
            match index.imports.get(local.as_str()).map(|&i| &symbols.imports[i]) {
                Some(import) => self.resolve_record(module, import.record, &import.imported.clone(), stack),
                None => Binding::Local(module, local.clone()),
            }
        } else if let Some(re) = index.reexports.get(name).map(|&i| &symbols.reexports[i]) {
            self.resolve_record(module, re.record, &re.imported.clone(), stack)
        } else if name == "default" {
            Binding::Missing
        } else {
            let mut found = BTreeSet::new();
            let mut dynamic = None;
            for &record in &symbols.star_exports {
                match self.edge_target(module, record).cloned() {
                    Some(EdgeTarget::Module(target)) if self.wrap[target.index()] == Wrap::Cjs => {
                        let cjs = CjsRef { module: target, node_mode: self.node_mode[module.index()] };
                        dynamic.get_or_insert(Binding::CjsProperty(cjs, name.to_string()));
                    }
                    Some(EdgeTarget::Module(target)) => match self.resolve_export(target, name, stack) {
                        Binding::Missing | Binding::Unresolved => {}
                        binding => {
                            found.insert(binding);
                        }
                    },
                    Some(EdgeTarget::External(path)) => {
                        dynamic.get_or_insert(Binding::External(path, Imported::Name(name.to_string())));
                    }
                    _ => {}
                }
            }
            match found.len() {
                0 => dynamic.unwrap_or(Binding::Missing),
                1 => found.into_iter().next().expect("one element"),
                _ => Binding::Ambiguous,
            }
        };
        stack.pop();
        result
    }

    /// Every export name of a scope-hoisted module (own, re-exported and through `export *`,
    /// ambiguous names excluded), sorted as a namespace object's keys are.
    fn export_names(&mut self, module: ModuleId, visiting: &mut Vec<ModuleId>) -> Vec<String> {
        if let Some(names) = self.export_names_cache.get(&module) {
            return names.clone();
        }
        if visiting.contains(&module) {
            return Vec::new();
        }
        visiting.push(module);
        let symbols = self.symbols[module.index()].clone();
        let mut names: BTreeSet<String> = symbols.local_exports.iter().map(|(e, _)| e.clone()).collect();
        names.extend(symbols.reexports.iter().map(|r| r.exported.clone()));
        let mut star_names = BTreeSet::new();
        for &record in &symbols.star_exports {
            if let Some(EdgeTarget::Module(target)) = self.edge_target(module, record).cloned()
                && self.wrap[target.index()] == Wrap::None
            {
                star_names.extend(self.export_names(target, visiting).into_iter().filter(|n| n != "default"));
            }
        }
        for name in star_names {
            if !names.contains(&name)
                && !matches!(self.resolve_export(module, &name, &mut Vec::new()), Binding::Ambiguous | Binding::Missing)
            {
                names.insert(name);
            }
        }
        visiting.pop();
        let names: Vec<String> = names.into_iter().collect();
        if visiting.is_empty() {
            self.export_names_cache.insert(module, names.clone());
        }
        names
    }

    /// Step 2: binds every import of every module, reporting missing and ambiguous ones.
    fn bind_all(&mut self) {
        for index in 0..self.graph.modules.len() {
            let module = ModuleId(index as u32);
            if self.wrap[index] == Wrap::Cjs {
                continue;
            }
            let symbols = self.symbols[index].clone();
            for import in &symbols.imports {
                let binding = self.resolve_record(module, import.record, &import.imported, &mut Vec::new());
                match &binding {
                    Binding::Missing | Binding::Ambiguous => self.report_import(module, import, &binding),
                    Binding::Namespace(target)
                        if import.imported != Imported::Namespace
                            || symbols.namespace_values.contains(&import.local) =>
                    {
                        self.namespace_needed.insert(*target);
                    }
                    Binding::Local(target, local) => {
                        // The importer's nested names must not capture the target's final name.
                        let nested = symbols.nested.iter().filter(|n| **n != import.local).cloned();
                        self.avoid.entry((*target, local.clone())).or_default().extend(nested);
                    }
                    _ => {}
                }
                self.bindings[index].insert(import.local.clone(), binding);
            }
            // Every `export { x } from` must name a real export, as Node's linker requires,
            // whether or not anything imports it.
            for re in &symbols.reexports {
                if let Imported::Name(_) = &re.imported {
                    let binding = self.resolve_record(module, re.record, &re.imported, &mut Vec::new());
                    if matches!(binding, Binding::Missing | Binding::Ambiguous) {
                        let import = ImportBinding {
                            local: re.exported.clone(),
                            record: re.record,
                            imported: re.imported.clone(),
                        };
                        self.report_import(module, &import, &binding);
                    }
                }
            }
            // `ns.name` rewrites insert the target's name in this module's code.
            for (ns, props) in &symbols.namespace_members {
                if let Some(Binding::Namespace(target)) = self.bindings[index].get(ns).cloned() {
                    for prop in props {
                        match self.resolve_export(target, prop, &mut Vec::new()) {
                            Binding::Local(m, local) => {
                                self.avoid.entry((m, local)).or_default().extend(symbols.nested.iter().cloned());
                            }
                            Binding::Namespace(m) => {
                                self.namespace_needed.insert(m);
                            }
                            _ => {}
                        }
                    }
                }
            }
            // Dynamic imports and `require()` of scope-hoisted modules hand out their namespace.
            for edge in &self.graph.module(module).edges {
                if let EdgeTarget::Module(target) = edge.target
                    && matches!(edge.kind, ImportKind::DynamicImport | ImportKind::Require)
                    && self.wrap[target.index()] == Wrap::None
                {
                    self.namespace_needed.insert(target);
                }
            }
        }
        // Wrapped modules can `require()` scope-hoisted ones too.
        for index in 0..self.graph.modules.len() {
            if self.wrap[index] == Wrap::Cjs {
                for edge in &self.graph.modules[index].edges {
                    if let EdgeTarget::Module(target) = edge.target
                        && matches!(edge.kind, ImportKind::DynamicImport | ImportKind::Require)
                        && self.wrap[target.index()] == Wrap::None
                    {
                        self.namespace_needed.insert(target);
                    }
                }
            }
        }
        for index in 0..self.graph.modules.len() {
            if self.lazy[index] {
                self.namespace_needed.insert(ModuleId(index as u32));
            }
        }
        // Entries expose their namespace (for cjs/iife output and `export *` re-export of it).
        for &entry in &self.graph.entries {
            if self.wrap[entry.index()] == Wrap::None {
                self.namespace_needed.insert(entry);
            }
        }
        // A namespace object's getters reference everything it exports.
        let mut pending: Vec<ModuleId> = self.namespace_needed.iter().copied().collect();
        while let Some(module) = pending.pop() {
            for name in self.export_names(module, &mut Vec::new()) {
                if let Binding::Namespace(inner) = self.resolve_export(module, &name, &mut Vec::new())
                    && self.namespace_needed.insert(inner)
                {
                    pending.push(inner);
                }
            }
        }
    }

    fn report_import(&mut self, module: ModuleId, import: &ImportBinding, binding: &Binding) {
        let node = self.graph.module(module);
        let target = match self.edge_target(module, import.record) {
            Some(EdgeTarget::Module(t)) => *t,
            _ => return,
        };
        let target_node = self.graph.module(target);
        // A module that failed to load (a syntax error, no loader) has already been reported;
        // its importers' names would only be follow-on errors.
        let loader = target_node.source.settings(self.db).loader;
        if loader.is_none()
            || loader == Some(Loader::Css)
            || packem_parse::file_diagnostics(self.db, target_node.source).iter().any(Diagnostic::is_error)
        {
            return;
        }
        let target_path = target_node.path.clone();
        let Imported::Name(name) = &import.imported else {
            return;
        };
        let scan = module_scan(self.db, node.source);
        let record = scan.records.get(import.record as usize);
        let record_span = record.map(|r| r.span);
        let injected = record_span.is_some_and(packem_parse::is_injected_span);
        // Underline the imported name itself when it can be found, else the specifier; an import
        // a transform added has no place in the file.
        let span = record_span
            .filter(|_| !injected)
            .and_then(|s| crate::symbols::imported_name_span(self.db, node.source, s, &import.local).or(Some(s)));
        let shown = packem_db::diagnostic::display_path(&target_path, &self.cwd);
        let (code, message) = match binding {
            Binding::Ambiguous => {
                (DiagnosticCode::AmbiguousImport, format!("Ambiguous import \"{name}\" has multiple matching exports"))
            }
            _ => (DiagnosticCode::MissingExport, format!("No matching export in \"{shown}\" for import \"{name}\"")),
        };
        let note = match binding {
            Binding::Ambiguous => {
                format!("\"{shown}\" gets \"{name}\" from more than one `export *`, so it exports none of them:")
            }
            _ => format!("\"{shown}\" has no export named \"{name}\":"),
        };
        let mut diagnostic = Diagnostic::error(code, message).at(node.path.clone(), span).with_note(
            note,
            Some(target_path.clone()),
            None,
        );
        if matches!(binding, Binding::Missing)
            && self.wrap[target.index()] == Wrap::None
            && let Some(suggestion) = closest(name, &self.export_names(target, &mut Vec::new()))
        {
            diagnostic = diagnostic.with_help(format!("Did you mean `{suggestion}`?"));
        }
        self.diagnostics.push(diagnostic);
    }

    /// Claims a final name for `(module, local)`.
    fn claim(&mut self, module: ModuleId, local: &str, exempt_original: bool) -> String {
        let nested = &self.symbols[module.index()].nested;
        let avoid = self.avoid.get(&(module, local.to_string()));
        let mut candidate = local.to_string();
        let mut n = 0;
        loop {
            let free = !self.taken.contains(&candidate)
                && !self.reserved.contains(&candidate)
                && avoid.is_none_or(|a| !a.contains(&candidate))
                && ((exempt_original && candidate == local) || nested.binary_search(&candidate).is_err());
            if free {
                break;
            }
            n += 1;
            candidate = format!("{local}${n}");
        }
        self.taken.insert(candidate.clone());
        self.finals.insert((module, local.to_string()), candidate.clone());
        candidate
    }

    /// Claims a synthetic name (wrapper, namespace object, import variable): it must avoid every
    /// nested name in the graph, since it may be referenced from any scope.
    fn claim_synthetic(&mut self, base: &str) -> String {
        let mut candidate = base.to_string();
        let mut n = 0;
        while self.taken.contains(&candidate)
            || self.reserved.contains(&candidate)
            || self.all_nested.contains(&candidate)
        {
            n += 1;
            candidate = format!("{base}${n}");
        }
        self.taken.insert(candidate.clone());
        candidate
    }

    fn stem(&self, module: ModuleId) -> String {
        let path = &self.graph.module(module).path;
        let mut stem = path.file_stem().unwrap_or("module").to_string();
        if stem == "index"
            && let Some(dir) = path.parent().and_then(|p| p.file_name())
        {
            stem = dir.to_string();
        }
        let mut out: String =
            stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '$' { c } else { '_' }).collect();
        if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
            out.insert(0, '_');
        }
        out
    }

    /// Step 3: final names. First come, first served, in graph order; every name is checked
    /// against globals, runtime helpers and the nested scopes where it is referenced.
    fn assign_names(&mut self) {
        for index in 0..self.graph.modules.len() {
            let module = ModuleId(index as u32);
            if self.wrap[index] == Wrap::Cjs {
                let name = self.claim_synthetic(&format!("require_{}", self.stem(module)));
                self.wrapper_names.insert(module, name);
                continue;
            }
            let symbols = self.symbols[index].clone();
            for local in &symbols.declared {
                self.claim(module, local, true);
            }
            // Imports bound to variables of their own (CommonJS and external imports).
            for import in &symbols.imports {
                match self.bindings[index].get(&import.local) {
                    Some(Binding::CjsProperty(..) | Binding::CjsNamespace(_)) => {
                        self.claim(module, &import.local, true);
                    }
                    Some(Binding::External(path, imported)) => {
                        let (path, imported) = (path.clone(), imported.clone());
                        self.ensure_external(&path, &imported);
                    }
                    _ => {}
                }
            }
        }
        for module in self.namespace_needed.clone() {
            let name = self.claim_synthetic(&format!("{}_exports", self.stem(module)));
            self.namespace_names.insert(module, name);
        }
        for index in 0..self.graph.modules.len() {
            if self.lazy[index] {
                let module = ModuleId(index as u32);
                let name = self.claim_synthetic(&format!("init_{}", self.stem(module)));
                self.init_names.insert(module, name);
            }
        }
        for index in 0..self.graph.modules.len() {
            if self.wrap[index] == Wrap::Cjs {
                let module = ModuleId(index as u32);
                for node_mode in [true, false] {
                    let name = self.claim_synthetic(&format!("import_{}", self.stem(module)));
                    self.import_vars.insert((module, node_mode), name);
                }
            }
        }
    }

    /// The expression a binding is read through, or `None` when it has no value.
    fn expr(&self, binding: &Binding) -> Option<String> {
        match binding {
            Binding::Local(m, local) => self.finals.get(&(*m, local.clone())).cloned(),
            Binding::Namespace(m) => self.namespace_names.get(m).cloned(),
            Binding::CjsProperty(r, name) => {
                let var = self.import_vars.get(&(r.module, r.node_mode))?;
                Some(property_access(var, name))
            }
            Binding::CjsNamespace(r) => self.import_vars.get(&(r.module, r.node_mode)).cloned(),
            Binding::External(path, imported) => self.external_names.get(&(path.clone(), imported.clone())).cloned(),
            _ => None,
        }
    }

    fn module_link(&mut self, module: ModuleId) -> ModuleLink {
        let index = module.index();
        let symbols = self.symbols[index].clone();
        let mut out = ModuleLink { wrap: self.wrapper_names.get(&module).cloned(), ..ModuleLink::default() };
        if self.wrap[index] == Wrap::None {
            let mut renames = BTreeMap::new();
            for local in &symbols.declared {
                if let Some(f) = self.finals.get(&(module, local.clone())) {
                    renames.insert(local.clone(), f.clone());
                }
            }
            for import in &symbols.imports {
                let binding = self.bindings[index].get(&import.local).cloned().unwrap_or(Binding::Unresolved);
                let target = match &binding {
                    Binding::CjsProperty(..) | Binding::CjsNamespace(_) => {
                        self.finals.get(&(module, import.local.clone())).cloned()
                    }
                    Binding::Namespace(_)
                        if import.imported == Imported::Namespace
                            && !symbols.namespace_values.contains(&import.local) =>
                    {
                        None
                    }
                    other => self.expr(other),
                };
                if let Some(target) = target {
                    renames.insert(import.local.clone(), target);
                }
            }
            renames.retain(|local, f| local != f);
            out.renames = renames.into_iter().collect();
            out.default_local =
                symbols.default_local.as_ref().and_then(|d| self.finals.get(&(module, d.clone())).cloned());
            for (ns, props) in &symbols.namespace_members {
                let Some(Binding::Namespace(target)) = self.bindings[index].get(ns).cloned() else {
                    continue;
                };
                if symbols.namespace_values.contains(ns) {
                    continue;
                }
                let rewrites = props
                    .iter()
                    .map(|prop| {
                        let binding = self.resolve_export(target, prop, &mut Vec::new());
                        (prop.clone(), self.expr(&binding).unwrap_or_else(|| "void 0".to_string()))
                    })
                    .collect();
                out.namespace_members.push((ns.clone(), rewrites));
            }
        }
        for edge in &self.graph.module(module).edges {
            if let Some(rewrite) = self.record_rewrite(module, &edge.target, edge.kind) {
                out.records.push((edge.record, rewrite));
            }
        }
        if self.lazy[index] {
            out.lazy = Some(self.lazy_module(module));
        }
        out
    }

    /// How a `require()`/`import()` of `target` is written.
    fn record_rewrite(&self, importer: ModuleId, target: &EdgeTarget, kind: ImportKind) -> Option<RecordRewrite> {
        let mode = if self.node_mode[importer.index()] { ", 1" } else { "" };
        if let EdgeTarget::Module(t) = target
            && let Some(url) = &self.copies[t.index()]
        {
            return match kind {
                ImportKind::Require => Some(RecordRewrite::ExternalRequire(url.clone())),
                ImportKind::DynamicImport => Some(RecordRewrite::ExternalImport(url.clone())),
                _ => None,
            };
        }
        let expr = match (target, kind) {
            (EdgeTarget::Module(t), ImportKind::Require) => match (self.wrapper_names.get(t), self.init_names.get(t)) {
                (Some(wrapper), _) => format!("{wrapper}()"),
                (None, Some(init)) => format!("({init}(), __toCommonJS({}))", self.namespace_names[t]),
                (None, None) => format!("__toCommonJS({})", self.namespace_names[t]),
            },
            (EdgeTarget::Module(t), ImportKind::DynamicImport) => {
                match (self.wrapper_names.get(t), self.init_names.get(t)) {
                    (Some(wrapper), _) => format!("Promise.resolve().then(() => __toESM({wrapper}(){mode}))"),
                    (None, Some(init)) if self.lazy_async[t.index()] => {
                        format!("Promise.resolve().then(() => {init}()).then(() => {})", self.namespace_names[t])
                    }
                    (None, Some(init)) => {
                        format!("Promise.resolve().then(() => ({init}(), {}))", self.namespace_names[t])
                    }
                    (None, None) => format!("Promise.resolve().then(() => {})", self.namespace_names[t]),
                }
            }
            (EdgeTarget::External(path), ImportKind::Require) => {
                return Some(RecordRewrite::ExternalRequire(path.clone()));
            }
            (EdgeTarget::External(path), ImportKind::DynamicImport) => {
                return Some(RecordRewrite::ExternalImport(path.clone()));
            }
            _ => return None,
        };
        Some(RecordRewrite::Expr(expr))
    }

    /// The frame of a lazily evaluated module: its namespace getters and a prologue that runs its
    /// static dependencies (lazy ones and CommonJS ones) in source order.
    fn lazy_module(&mut self, module: ModuleId) -> LazyModule {
        let names = self.export_names(module, &mut Vec::new());
        let getters = names
            .iter()
            .filter_map(|name| {
                let binding = self.resolve_export(module, name, &mut Vec::new());
                self.expr(&binding).map(|e| (name.clone(), e))
            })
            .collect();
        let mut prologue = String::new();
        let mut state = OrderState::default();
        for edge in &self.graph.module(module).edges {
            let EdgeTarget::Module(target) = edge.target else { continue };
            if !edge.kind.is_static() {
                continue;
            }
            if let Some(init) = self.init_names.get(&target) {
                let wait = if self.lazy_async[target.index()] { "await " } else { "" };
                prologue.push_str(&format!("{wait}{init}();\n"));
            } else if self.wrap[target.index()] == Wrap::Cjs {
                prologue.push_str(&self.cjs_import_code(module, Some(target), &mut state));
            }
        }
        prologue.push_str(&self.cjs_import_code(module, None, &mut state));
        // The glue's variables are read by other modules too: declare them outside the closure.
        let mut hoisted = Vec::new();
        let prologue: String = prologue
            .lines()
            .map(|line| match line.strip_prefix("var ").and_then(|rest| rest.split_once(" = ")) {
                Some((name, _)) => {
                    hoisted.push(name.to_string());
                    format!("{}\n", &line[4..])
                }
                None => format!("{line}\n"),
            })
            .collect();
        LazyModule {
            hoisted,
            init: self.init_names[&module].clone(),
            namespace: self.namespace_names[&module].clone(),
            getters,
            prologue,
            is_async: self.lazy_async[module.index()],
            open: self.star_exports_commonjs(module),
        }
    }

    /// Step 4: the chunk of one entry.
    fn plan_chunk(&mut self, entry: ModuleId) -> ChunkPlan {
        let mut state = OrderState::default();
        self.visit(entry, &mut state);
        // Dynamically imported modules evaluate after the static graph, as they would in Node
        // (an `import()` settles after the importing code has run).
        while let Some(next) = state.dynamic.iter().copied().find(|m| !state.visited.contains(m)) {
            self.visit(next, &mut state);
        }
        let mut helpers = Helpers::default();
        let in_chunk: BTreeSet<ModuleId> = state.visited.iter().copied().collect();
        let wrappers: Vec<(ModuleId, String)> =
            in_chunk.iter().filter_map(|m| self.wrapper_names.get(m).map(|w| (*m, w.clone()))).collect();
        if !wrappers.is_empty() {
            helpers |= Helpers::COMMON_JS;
        }
        let mut namespaces = Vec::new();
        // `export * from` an external module: its names join the entry's exports at run time.
        let mut external_star_exports = Vec::new();
        self.external_stars(entry, &mut Vec::new(), &mut external_star_exports);
        // Lazy modules define their namespace themselves, when they run.
        let namespaced: Vec<ModuleId> =
            in_chunk.iter().copied().filter(|m| self.namespace_needed.contains(m) && !self.lazy[m.index()]).collect();
        let lazy: Vec<ModuleId> = in_chunk.iter().copied().filter(|m| self.lazy[m.index()]).collect();
        if !lazy.is_empty() {
            helpers |= Helpers::ESM | Helpers::EXPORT;
        }
        if lazy.iter().any(|m| self.star_exports_commonjs(*m)) {
            helpers |= Helpers::RE_EXPORT;
        }
        // A lazy module binds its CommonJS imports in its own prologue.
        let lazy_imports_cjs = lazy.iter().any(|m| {
            self.graph.module(*m).edges.iter().any(|e| {
                e.kind.is_static() && matches!(e.target, EdgeTarget::Module(t) if self.wrap[t.index()] == Wrap::Cjs)
            })
        });
        if lazy_imports_cjs {
            helpers |= Helpers::TO_ESM;
        }
        for module in namespaced.iter() {
            let names = self.export_names(*module, &mut Vec::new());
            let getters = names
                .iter()
                .filter_map(|name| {
                    let binding = self.resolve_export(*module, name, &mut Vec::new());
                    self.expr(&binding).map(|e| (name.clone(), e))
                })
                .collect();
            let open = self.star_exports_commonjs(*module) || (*module == entry && !external_star_exports.is_empty());
            if open {
                helpers |= Helpers::RE_EXPORT;
            }
            namespaces.push(NamespaceObject {
                module: *module,
                name: self.namespace_names[module].clone(),
                getters,
                open,
            });
            helpers |= Helpers::EXPORT;
        }
        // Externals used by the chunk's scope-hoisted modules.
        let mut externals = BTreeSet::new();
        let mut external_side_effects = Vec::new();
        let mut top_level_await = false;
        for module in &in_chunk {
            top_level_await |= self.wrap[module.index()] == Wrap::None
                && module_summary(self.db, self.graph.module(*module).source).has_top_level_await;
            for binding in self.bindings[module.index()].values() {
                if let Binding::External(path, imported) = binding {
                    externals.insert((path.clone(), imported.clone()));
                }
            }
            if self.wrap[module.index()] == Wrap::None {
                for edge in &self.graph.module(*module).edges {
                    let path = match &edge.target {
                        EdgeTarget::External(path) => Some(path),
                        EdgeTarget::Module(t) => self.copies[t.index()].as_ref(),
                        _ => None,
                    };
                    if let Some(path) = path
                        && edge.kind.is_static()
                        && !external_side_effects.contains(path)
                    {
                        external_side_effects.push(path.clone());
                    }
                }
            }
        }
        let mut exports = Vec::new();
        if self.wrap[entry.index()] == Wrap::None {
            for name in self.export_names(entry, &mut Vec::new()) {
                let binding = self.resolve_export(entry, &name, &mut Vec::new());
                if let Binding::External(path, imported) = &binding {
                    externals.insert((path.clone(), imported.clone()));
                    self.ensure_external(path, imported);
                }
                if let Some(expr) = self.expr(&binding) {
                    exports.push((name, expr));
                }
            }
        }
        let externals: Vec<ExternalBinding> = externals
            .into_iter()
            .filter_map(|(path, imported)| {
                let local = self.external_names.get(&(path.clone(), imported.clone()))?.clone();
                Some(ExternalBinding { path, imported, local })
            })
            .collect();
        for item in &state.order {
            if let OrderItem::Code(code) = item
                && code.contains("__toESM(")
            {
                helpers |= Helpers::TO_ESM;
            }
        }
        for module in &in_chunk {
            for edge in &self.graph.module(*module).edges {
                if let EdgeTarget::Module(t) = edge.target {
                    match edge.kind {
                        ImportKind::Require if self.wrap[t.index()] == Wrap::None => helpers |= Helpers::TO_COMMON_JS,
                        ImportKind::DynamicImport if self.wrap[t.index()] == Wrap::Cjs => helpers |= Helpers::TO_ESM,
                        _ => {}
                    }
                }
            }
        }
        ChunkPlan {
            entry,
            lazy,
            wrappers,
            namespaces,
            order: state.order,
            externals,
            external_side_effects,
            exports,
            entry_wrapper: self.wrapper_names.get(&entry).cloned(),
            helpers,
            top_level_await,
            external_star_exports,
        }
    }

    fn ensure_external(&mut self, path: &str, imported: &Imported) {
        let key = (path.to_string(), imported.clone());
        if !self.external_names.contains_key(&key) {
            let base = match imported {
                Imported::Name(n) if n != "default" && is_identifier(n) => n.clone(),
                _ => format!("import_{}", sanitize(path)),
            };
            let name = self.claim_synthetic(&base);
            self.external_names.insert(key, name);
        }
    }

    /// ESM evaluation order: dependencies first, in source order, each module once. An ESM
    /// import of a CommonJS module runs it (`require_x()`) at the import's place in that order.
    fn visit(&mut self, module: ModuleId, state: &mut OrderState) {
        enum Frame {
            Visit(ModuleId, usize),
            CjsImport(ModuleId, ModuleId),
        }
        if !state.visited.insert(module) {
            return;
        }
        // Iterative so that long import chains cannot overflow the stack.
        let mut stack = vec![Frame::Visit(module, 0)];
        while let Some(frame) = stack.pop() {
            let (current, next_edge) = match frame {
                Frame::CjsImport(importer, target) => {
                    // Generated when emitted (not when the edge was seen), so the first emitted
                    // import of a module is the one that initializes its variable.
                    let code = self.cjs_import_code(importer, Some(target), state);
                    if !code.is_empty() {
                        state.order.push(OrderItem::Code(code));
                    }
                    continue;
                }
                Frame::Visit(current, next_edge) => (current, next_edge),
            };
            let edges = &self.graph.module(current).edges;
            let Some(edge) = edges.get(next_edge) else {
                if self.wrap[current.index()] == Wrap::None && !self.lazy[current.index()] {
                    // Bindings that reach a CommonJS module indirectly (`export * from './x.cjs'`).
                    let code = self.cjs_import_code(current, None, state);
                    if !code.is_empty() {
                        state.order.push(OrderItem::Code(code));
                    }
                    state.order.push(OrderItem::Module(current));
                }
                continue;
            };
            stack.push(Frame::Visit(current, next_edge + 1));
            let EdgeTarget::Module(target) = edge.target else {
                continue;
            };
            if self.wrap[target.index()] == Wrap::External {
                continue;
            }
            match edge.kind {
                ImportKind::DynamicImport => {
                    state.dynamic.push(target);
                    continue;
                }
                ImportKind::RequireResolve | ImportKind::NewUrl => continue,
                _ => {}
            }
            let is_static = edge.kind.is_static();
            if is_static
                && self.wrap[current.index()] == Wrap::None
                && !self.lazy[current.index()]
                && self.wrap[target.index()] == Wrap::Cjs
            {
                stack.push(Frame::CjsImport(current, target));
            }
            if state.visited.insert(target) {
                stack.push(Frame::Visit(target, 0));
            }
        }
    }

    /// `var import_x = __toESM(require_x(), 1);` (once per module) plus the importer's bindings
    /// to it; with `target == None`, for every CommonJS module the importer is bound to.
    fn cjs_import_code(&self, importer: ModuleId, target: Option<ModuleId>, state: &mut OrderState) -> String {
        let mut code = String::new();
        let symbols = &self.symbols[importer.index()];
        let mut targets: Vec<CjsRef> = Vec::new();
        if let Some(t) = target {
            targets.push(CjsRef { module: t, node_mode: self.node_mode[importer.index()] });
        }
        for import in &symbols.imports {
            if let Some(Binding::CjsProperty(r, _) | Binding::CjsNamespace(r)) =
                self.bindings[importer.index()].get(&import.local)
                && target.is_none_or(|t| t == r.module)
                && !targets.contains(r)
            {
                targets.push(*r);
            }
        }
        for r in targets {
            if !state.bound.insert((importer, r)) {
                continue;
            }
            let var = &self.import_vars[&(r.module, r.node_mode)];
            if state.initialized.insert(r) {
                let mode = if r.node_mode { ", 1" } else { "" };
                code.push_str(&format!("var {var} = __toESM({}(){mode});\n", self.wrapper_names[&r.module]));
            }
            // `export * from` this CommonJS module: its names join the importer's namespace now
            // that it has run.
            if target.is_some()
                && let Some(ns) = self.namespace_names.get(&importer)
                && self.symbols[importer.index()].star_exports.iter().any(|record| {
                    matches!(self.edge_target(importer, *record), Some(EdgeTarget::Module(t)) if *t == r.module)
                })
            {
                code.push_str(&format!("__reExport({ns}, {var});\n"));
            }
            for import in &symbols.imports {
                let value = match self.bindings[importer.index()].get(&import.local) {
                    Some(Binding::CjsProperty(m, name)) if *m == r => property_access(var, name),
                    Some(Binding::CjsNamespace(m)) if *m == r => var.clone(),
                    _ => continue,
                };
                if let Some(local) = self.finals.get(&(importer, import.local.clone())) {
                    code.push_str(&format!("var {local} = {value};\n"));
                }
            }
        }
        code
    }
}

/// A module's symbols by name.
#[derive(Default)]
struct SymbolIndex {
    local_exports: FxHashMap<String, usize>,
    reexports: FxHashMap<String, usize>,
    imports: FxHashMap<String, usize>,
}

#[derive(Default)]
struct OrderState {
    visited: BTreeSet<ModuleId>,
    order: Vec<OrderItem>,
    dynamic: Vec<ModuleId>,
    /// CommonJS modules whose `import_x` variable has been assigned.
    initialized: BTreeSet<CjsRef>,
    /// (importer, CommonJS module) pairs whose bindings have been emitted.
    bound: BTreeSet<(ModuleId, CjsRef)>,
}

/// The export name closest to `name` by edit distance (case changes count as half), if one is
/// close enough to be a likely typo.
fn closest(name: &str, candidates: &[String]) -> Option<String> {
    let lower = name.to_lowercase();
    candidates
        .iter()
        .filter(|c| c.as_str() != name)
        .map(|c| {
            let distance = strsim::damerau_levenshtein(&lower, &c.to_lowercase()) * 2
                + usize::from(c.to_lowercase() == lower && c != name);
            (distance, c)
        })
        .filter(|(distance, c)| *distance <= 2 * (1 + name.len().max(c.len()) / 4))
        .min()
        .map(|(_, c)| c.clone())
}

/// `name` as a key of an object literal that defines an own property: bare when it is an
/// identifier name, quoted otherwise, and computed for `__proto__` (which, bare or quoted, sets
/// the prototype instead).
pub fn object_key(name: &str) -> String {
    if name == "__proto__" {
        "[\"__proto__\"]".to_string()
    } else if is_identifier_name(name) {
        name.to_string()
    } else {
        quote(name)
    }
}

/// A JSON text as a JavaScript expression with the same value: the text itself, or
/// `JSON.parse("…")` when a `__proto__` key in it would set a prototype in a literal.
pub fn json_expression(text: &str) -> String {
    if text.contains("__proto__") { format!("JSON.parse({})", quote(text)) } else { text.to_string() }
}

/// `object.name`, or `object["name"]` when `name` is not an identifier name.
pub fn property_access(object: &str, name: &str) -> String {
    if is_identifier_name(name) { format!("{object}.{name}") } else { format!("{object}[{}]", quote(name)) }
}

/// A JSON-quoted string (valid JavaScript).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `s` is a reserved word, or `arguments`/`eval` (which strict code cannot bind).
pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s) || s == "arguments" || s == "eval"
}

/// Whether `s` can be written as a JavaScript identifier (ASCII subset; others are quoted).
pub fn is_identifier(s: &str) -> bool {
    is_identifier_name(s) && !KEYWORDS.contains(&s)
}

/// Whether `s` can be written as a property name after a dot (keywords allowed).
pub fn is_identifier_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

fn sanitize(path: &str) -> String {
    let s: String = path.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    s.trim_matches('_').to_string()
}

impl Linker<'_> {
    /// The external modules whose names `module` re-exports through `export * from`, directly
    /// or through scope-hoisted modules it star-exports, in first-seen order.
    fn external_stars(&self, module: ModuleId, visited: &mut Vec<ModuleId>, out: &mut Vec<String>) {
        if visited.contains(&module) || self.wrap[module.index()] != Wrap::None {
            return;
        }
        visited.push(module);
        for record in &self.symbols[module.index()].star_exports {
            match self.edge_target(module, *record) {
                Some(EdgeTarget::External(path)) if !out.contains(path) => out.push(path.clone()),
                Some(EdgeTarget::Module(t)) => self.external_stars(*t, visited, out),
                _ => {}
            }
        }
    }

    /// Whether `module` has `export * from` a CommonJS module (its namespace gains names at run time).
    fn star_exports_commonjs(&self, module: ModuleId) -> bool {
        self.symbols[module.index()].star_exports.iter().any(|record| {
            matches!(self.edge_target(module, *record), Some(EdgeTarget::Module(t)) if self.wrap[t.index()] == Wrap::Cjs)
        })
    }
}

/// Scope-hoisted modules that no entry reaches through static imports of scope-hoisted modules.
fn lazy_modules(graph: &ModuleGraph, wrap: &[Wrap]) -> Vec<bool> {
    let mut eager = vec![false; graph.modules.len()];
    let mut stack: Vec<ModuleId> = graph.entries.iter().copied().filter(|e| wrap[e.index()] == Wrap::None).collect();
    for entry in &stack {
        eager[entry.index()] = true;
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
    (0..graph.modules.len()).map(|i| wrap[i] == Wrap::None && !eager[i]).collect()
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
