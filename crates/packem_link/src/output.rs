//! What linking hands to emission: data, not JavaScript text. `packem_emit` spells it; the
//! runtime helpers a chunk needs are derived from it ([`Glue::helpers`], [`RecordRewrite::helpers`],
//! [`ChunkPlan::helpers`]).

use std::collections::{BTreeMap, BTreeSet};

use packem_db::Diagnostic;
use packem_graph::ModuleId;
use packem_parse::Source;

use crate::runtime::Helpers;
use crate::symbols::Imported;

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
    /// A top-level binding of a scope-hoisted module (shared: bindings are cloned out of the
    /// resolution cache many times per link).
    Local(ModuleId, std::sync::Arc<str>),
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

/// A value generated code reads: a variable, a property of one, or nothing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ValueRef {
    /// A top-level variable of the chunk.
    Name(String),
    /// `object.property` (a CommonJS module's export read through its import variable).
    Member(String, String),
    /// `void 0`: a name the module does not export (already reported, or a namespace member
    /// that is not there).
    Undefined,
}

impl ValueRef {
    /// The variable, when the value is one.
    pub fn name(&self) -> Option<&str> {
        match self {
            ValueRef::Name(name) => Some(name),
            _ => None,
        }
    }
}

/// How a `require()`/`import()` record is rewritten.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RecordRewrite {
    /// `require()` of a wrapped module: `require_x()`.
    RequireWrapped {
        /// The wrapper.
        wrapper: String,
    },
    /// `require()` of a scope-hoisted ES module: `(init_x(), __toCommonJS(x_exports))`.
    RequireEsm {
        /// Its `init_x` when it is evaluated lazily.
        init: Option<String>,
        /// Its namespace object.
        namespace: String,
    },
    /// `import()` of a wrapped module: `Promise.resolve().then(() => __toESM(require_x()))`.
    ImportWrapped {
        /// The wrapper.
        wrapper: String,
        /// Whether the importer uses Node's interop (see [`CjsRef`]).
        node_mode: bool,
    },
    /// `import()` of the chunk of an entry point (code splitting): `import("./chunk.js")`.
    ImportChunk {
        /// The chunk's index in [`LinkOutput::chunks`].
        chunk: u32,
    },
    /// `import()` of a scope-hoisted ES module: a promise of its namespace, after `init_x()`.
    ImportEsm {
        /// Its `init_x` when it is evaluated lazily.
        init: Option<String>,
        /// Whether `init_x()` returns a promise (top-level await).
        is_async: bool,
        /// Its namespace object.
        namespace: String,
    },
    /// `require("path")` of an external module (spelled per output format).
    ExternalRequire(String),
    /// `import("path")` of an external module (spelled per output format).
    ExternalImport(String),
}

impl RecordRewrite {
    /// The runtime helpers the rewritten call uses (`esm_output`: the output format is ESM).
    pub fn helpers(&self, esm_output: bool) -> Helpers {
        match self {
            RecordRewrite::RequireEsm { .. } => Helpers::TO_COMMON_JS,
            RecordRewrite::ImportWrapped { .. } => Helpers::TO_ESM,
            RecordRewrite::ExternalImport(_) if !esm_output => Helpers::TO_ESM,
            _ => Helpers::default(),
        }
    }
}

/// A statement of glue between modules: how ES modules read CommonJS ones, and how lazily
/// evaluated modules start their dependencies.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Glue {
    /// `var import_x = __toESM(require_x(), 1);`: runs the CommonJS module, once per variable.
    InitCjs {
        /// The import variable.
        var: String,
        /// The module's wrapper.
        wrapper: String,
        /// Node's interop (`, 1`).
        node_mode: bool,
    },
    /// `__reExport(x_exports, import_x);`: `export * from` a CommonJS module adds its names.
    ReExport {
        /// The importer's namespace object.
        namespace: String,
        /// The CommonJS module's import variable.
        from: String,
    },
    /// `var local = value;`: an import binding of a CommonJS export.
    Bind {
        /// The importer's variable.
        local: String,
        /// What it reads.
        value: ValueRef,
    },
    /// `init_x();` (or `await init_x();`): starts a lazily evaluated dependency.
    InitLazy {
        /// The dependency's `init_x`.
        init: String,
        /// Whether it must be awaited.
        is_async: bool,
    },
}

impl Glue {
    /// The runtime helpers the statement uses.
    pub fn helpers(&self) -> Helpers {
        match self {
            Glue::InitCjs { .. } => Helpers::TO_ESM,
            Glue::ReExport { .. } => Helpers::RE_EXPORT,
            Glue::Bind { .. } | Glue::InitLazy { .. } => Helpers::default(),
        }
    }

    /// The variable the statement declares, if any.
    pub fn declares(&self) -> Option<&str> {
        match self {
            Glue::InitCjs { var, .. } => Some(var),
            Glue::Bind { local, .. } => Some(local),
            Glue::ReExport { .. } | Glue::InitLazy { .. } => None,
        }
    }
}

/// Everything rendering needs to know about one module. `Eq`, so when linking re-runs but this
/// module's part is unchanged, its rendered code is reused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ModuleLink {
    /// Whether the module is wrapped.
    pub wrap: Option<String>,
    /// Final names of the module-scope bindings that change, as (local, final), sorted.
    pub renames: Vec<(String, String)>,
    /// `ns.name` rewrites: namespace local → (property, what it reads).
    pub namespace_members: Vec<(String, Vec<(String, ValueRef)>)>,
    /// Replacements for `require()`/`import()` records, by record index.
    pub records: Vec<(u32, RecordRewrite)>,
    /// The final name of `export default <expression>`'s variable.
    pub default_local: Option<String>,
    /// Set when the module is evaluated lazily (`var init_x = __esm(…)`): it is reached only
    /// through `require()` or `import()`, so it must run when those run, not up front.
    pub lazy: Option<LazyModule>,
    /// Indices of the top-level statements tree shaking dropped (see
    /// [`crate::ModuleSymbols::statements`]), sorted.
    pub dropped: Vec<u32>,
    /// With code splitting: the top-level names the module's code declares and reads, which
    /// decide what chunks (and parts of chunks) import from each other.
    pub names: Option<NameUse>,
    /// The module reads names in ways minification cannot see (a direct `eval`, `with`): its
    /// own names must keep theirs.
    pub plain_names: bool,
}

/// Top-level names some code declares and reads (code splitting: a chunk imports what it reads
/// and does not declare from where it is declared).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NameUse {
    /// Names it declares.
    pub declares: BTreeSet<String>,
    /// Names it reads (its own declarations included).
    pub reads: BTreeSet<String>,
}

impl NameUse {
    /// Adds `other`'s names.
    pub fn extend(&mut self, other: &NameUse) {
        self.declares.extend(other.declares.iter().cloned());
        self.reads.extend(other.reads.iter().cloned());
    }

    /// Reads `value`.
    pub fn value(&mut self, value: &ValueRef) {
        match value {
            ValueRef::Name(name) | ValueRef::Member(name, _) => {
                self.reads.insert(name.clone());
            }
            ValueRef::Undefined => {}
        }
    }

    /// What the glue statement declares and reads.
    pub fn glue(&mut self, glue: &Glue) {
        if let Some(var) = glue.declares() {
            self.declares.insert(var.to_string());
        }
        match glue {
            Glue::InitCjs { wrapper, .. } => {
                self.reads.insert(wrapper.clone());
            }
            Glue::ReExport { namespace, from } => {
                self.reads.insert(namespace.clone());
                self.reads.insert(from.clone());
            }
            Glue::Bind { value, .. } => self.value(value),
            Glue::InitLazy { init, .. } => {
                self.reads.insert(init.clone());
            }
        }
    }

    /// What the rewritten record reads.
    pub fn record(&mut self, rewrite: &RecordRewrite) {
        match rewrite {
            RecordRewrite::RequireWrapped { wrapper } | RecordRewrite::ImportWrapped { wrapper, .. } => {
                self.reads.insert(wrapper.clone());
            }
            RecordRewrite::RequireEsm { init, namespace } | RecordRewrite::ImportEsm { init, namespace, .. } => {
                self.reads.extend(init.iter().cloned());
                self.reads.insert(namespace.clone());
            }
            RecordRewrite::ImportChunk { .. }
            | RecordRewrite::ExternalRequire(_)
            | RecordRewrite::ExternalImport(_) => {}
        }
    }

    /// What the namespace object declares and reads.
    pub fn namespace_object(&mut self, namespace: &NamespaceObject) {
        self.declares.insert(namespace.name.clone());
        for (_, value) in &namespace.getters {
            self.value(value);
        }
    }
}

/// How a lazily evaluated ESM module is framed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LazyModule {
    /// The `init_x` function.
    pub init: String,
    /// Its namespace object (declared up front; filled in when it runs), when something reads
    /// it (with code splitting, a module that is lazy only because two chunks share it has none).
    pub namespace: Option<String>,
    /// The namespace's getters.
    pub getters: Vec<(String, ValueRef)>,
    /// What runs first, in order: initializing lazy dependencies and binding CommonJS imports.
    /// Its variables are declared outside the closure (other modules read them too).
    pub prologue: Vec<Glue>,
    /// Whether it (or a lazy module it imports) uses top-level await: its closure is `async`.
    pub is_async: bool,
    /// Whether its namespace stays extensible (see [`NamespaceObject::open`]).
    pub open: bool,
}

impl LazyModule {
    /// The runtime helpers its frame and prologue use.
    pub fn helpers(&self) -> Helpers {
        let mut helpers = Helpers::ESM;
        if self.namespace.is_some() {
            helpers |= Helpers::EXPORT;
        }
        if self.open && self.namespace.is_some() {
            helpers |= Helpers::RE_EXPORT;
        }
        for glue in &self.prologue {
            helpers |= glue.helpers();
        }
        helpers
    }
}

/// One statement of a chunk's evaluation order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OrderItem {
    /// A scope-hoisted module's code.
    Module(ModuleId),
    /// Glue (binding a CommonJS import where the importing module's code would run).
    Glue(Glue),
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

/// A namespace object defined up front: `var name = __export({}, { export: () => value, … })`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NamespaceObject {
    /// The module whose namespace it is.
    pub module: ModuleId,
    /// The variable.
    pub name: String,
    /// (export name, what its getter reads), sorted by name.
    pub getters: Vec<(String, ValueRef)>,
    /// Left extensible: `export * from` a CommonJS module adds names when that module runs.
    pub open: bool,
    /// Only an entry's exports need it (CommonJS and IIFE outputs); ESM output leaves it out.
    pub entry_only: bool,
}

/// What a chunk is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChunkKind {
    /// An entry's output.
    Entry,
    /// With code splitting: the chunk an `import()` loads (its namespace is the module's).
    DynamicEntry,
    /// With code splitting: modules several entry points reach, evaluated when one of their
    /// chunks initializes them.
    Shared,
}

/// Names a chunk imports from another chunk (code splitting).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChunkImport {
    /// The chunk's index in [`LinkOutput::chunks`].
    pub chunk: u32,
    /// The top-level names imported, sorted (the same names in both chunks).
    pub names: Vec<String>,
}

/// The plan for one output file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChunkPlan {
    /// The entry module (for a shared chunk, its first module).
    pub entry: ModuleId,
    /// What the chunk is for.
    pub kind: ChunkKind,
    /// Names it imports from other chunks, by chunk index (code splitting).
    pub imports: Vec<ChunkImport>,
    /// Top-level names other chunks import from it, sorted (code splitting).
    pub shared_exports: Vec<String>,
    /// Wrapped modules in the chunk, with their wrapper variable.
    pub wrappers: Vec<(ModuleId, String)>,
    /// Lazily evaluated modules in the chunk (their code defines `init_x`).
    pub lazy: Vec<ModuleId>,
    /// Namespace objects to define up front.
    pub namespaces: Vec<NamespaceObject>,
    /// Evaluation order.
    pub order: Vec<OrderItem>,
    /// External bindings, sorted by path.
    pub externals: Vec<ExternalBinding>,
    /// Side-effect-only externals (`import "x"` of an external module), in first-use order.
    pub external_side_effects: Vec<String>,
    /// The entry's exports as (name, value), sorted by name (empty for a CommonJS entry).
    pub exports: Vec<(String, ValueRef)>,
    /// For a wrapped entry, its wrapper variable (the output evaluates `require_entry()`).
    pub entry_wrapper: Option<String>,
    /// Whether any module of the chunk uses top-level await.
    pub top_level_await: bool,
    /// External modules the entry re-exports with `export * from` (their names are known only
    /// at run time).
    pub external_star_exports: Vec<String>,
}

impl ChunkPlan {
    /// The names the chunk's own code (not its modules') declares and reads: namespace
    /// objects, glue, exports, the entry's wrapper and the external imports.
    pub fn glue_names(&self) -> NameUse {
        let mut names = NameUse::default();
        for namespace in &self.namespaces {
            names.namespace_object(namespace);
        }
        for item in &self.order {
            if let OrderItem::Glue(glue) = item {
                names.glue(glue);
            }
        }
        for (_, value) in &self.exports {
            names.value(value);
        }
        names.reads.extend(self.entry_wrapper.iter().cloned());
        for external in &self.externals {
            names.declares.insert(external.local.clone());
        }
        names
    }

    /// The runtime helpers the chunk's own code uses: its namespace objects and glue. (The
    /// modules' renders report theirs: wrappers, lazy frames, rewritten records.) `esm_output`:
    /// `no_entry_exports`: the output does not expose the entry's exports through its namespace
    /// (ESM, or IIFE without a global name), which leaves out [`NamespaceObject::entry_only`]
    /// ones.
    pub fn helpers(&self, no_entry_exports: bool) -> Helpers {
        let mut helpers = Helpers::default();
        for namespace in self.namespaces.iter().filter(|n| !(no_entry_exports && n.entry_only)) {
            helpers |= Helpers::EXPORT;
            if namespace.open {
                helpers |= Helpers::RE_EXPORT;
            }
        }
        for item in &self.order {
            if let OrderItem::Glue(glue) = item {
                helpers |= glue.helpers();
            }
        }
        helpers
    }
}

/// The result of linking a project.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LinkOutput {
    /// Per module (indexed by [`ModuleId`]).
    pub modules: Vec<ModuleLink>,
    /// One chunk per entry, in entry order; with code splitting, then one per other entry point
    /// (`import()` target) and the shared chunks.
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
