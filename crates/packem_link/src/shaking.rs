//! Step 3, tree shaking: which modules run and which of their top-level statements are kept.
//!
//! Reachability over statements (esbuild's parts), from each entry's exports and from every
//! statement that may have side effects in a module that runs:
//! - a module runs when an entry is it, a running module imports it and it is not declared free
//!   of side effects (package.json `sideEffects`), or something it exports is used;
//! - a kept statement keeps the statements that declare the names it references; an imported
//!   name keeps what the import is bound to (through re-exports and `export *`); `ns.x` of a
//!   namespace import keeps only `x`, any other use of `ns` keeps the whole namespace;
//! - a kept `require()` or `import()` runs its target and keeps its whole namespace;
//! - CommonJS, JSON and asset modules are kept whole when they run (their exports are dynamic);
//! - a module that calls `eval` directly keeps every statement.
//!
//! After binding (it follows bindings) and before naming (only namespace objects that are used
//! get a name).

use std::collections::BTreeSet;

use packem_graph::{EdgeTarget, ModuleId};
use packem_parse::ImportKind;
use rustc_hash::FxHashMap;

use crate::linker::Linker;
use crate::output::{Binding, Wrap};
use crate::symbols::{Imported, ModuleSymbols};

/// What the walk does next (a work list, so long import chains cannot overflow the stack).
enum Work {
    /// The module runs.
    Live(ModuleId),
    /// Statement `index` of the module is kept.
    Include(ModuleId, usize),
    /// A module-scope name of the module is used, by index (see `StatementFacts::references`).
    Local(ModuleId, u32),
    /// What an import or export is bound to is used.
    Bind(Binding),
    /// The module's whole namespace object is used.
    Namespace(ModuleId),
    /// Every export of the module is used, but not as an object (the chunk `import()` loads
    /// with code splitting).
    Exports(ModuleId),
}

/// The result of shaking.
pub(crate) struct Shaken {
    /// Per module: whether it runs (is in the output).
    pub(crate) live: Vec<bool>,
    /// Per module and statement: whether it is kept (empty for modules kept whole).
    pub(crate) included: Vec<Vec<bool>>,
    /// Modules whose namespace object is used.
    pub(crate) namespaces: BTreeSet<ModuleId>,
}

impl<'a> Linker<'a> {
    /// Shakes the graph (see the module docs); with tree shaking off, everything is kept.
    pub(crate) fn shake(&mut self) {
        let n = self.graph.modules.len();
        let options = self.project.link(self.db).clone();
        if !options.tree_shaking {
            return;
        }
        let annotations = !options.ignore_annotations;
        let mut shaken = Shaken {
            live: vec![false; n],
            included: self.symbols.iter().map(|s| vec![false; s.statements.len()]).collect(),
            namespaces: BTreeSet::new(),
        };
        let mut declared_by: FxHashMap<ModuleId, Vec<Vec<usize>>> = FxHashMap::default();
        let mut used_locals: FxHashMap<ModuleId, Vec<bool>> = FxHashMap::default();
        let mut hopped: Vec<rustc_hash::FxHashSet<&'a str>> = vec![rustc_hash::FxHashSet::default(); n];
        let mut work: Vec<Work> = Vec::new();
        // Per module, once asked: whether its package declares it free of side effects.
        let mut effect_free: Vec<Option<bool>> = vec![None; n];
        for &entry in &self.graph.entries {
            work.push(Work::Live(entry));
            if self.wrap[entry.index()] == Wrap::None {
                for name in self.export_names(entry, &mut Vec::new()).iter() {
                    self.export_hops(entry, name, &mut hopped, &mut work);
                    work.push(Work::Bind(self.resolve_export(entry, name, &mut Vec::new())));
                }
            }
        }
        let mut exported: BTreeSet<ModuleId> = BTreeSet::new();
        while let Some(item) = work.pop() {
            match item {
                Work::Live(m) => {
                    if std::mem::replace(&mut shaken.live[m.index()], true) {
                        continue;
                    }
                    let symbols = self.symbols[m.index()];
                    let edges = &self.graph.module(m).edges;
                    if self.wrap[m.index()] != Wrap::None {
                        // Kept whole: everything it requires runs.
                        for edge in edges {
                            self.follow(m, edge.record, &mut work);
                        }
                        continue;
                    }
                    for (i, statement) in symbols.statements.iter().enumerate() {
                        let effects = if annotations {
                            // Calls of imported `#__NO_SIDE_EFFECTS__` functions were its only effects.
                            let pure_calls = &statement.pure_if_imports_pure;
                            let only_pure_calls =
                                !pure_calls.is_empty() && pure_calls.iter().all(|&n| self.calls_pure(m, n));
                            statement.side_effects && !only_pure_calls
                        } else {
                            statement.side_effects_unannotated
                        };
                        if effects || symbols.direct_eval {
                            work.push(Work::Include(m, i));
                        }
                    }
                    for edge in edges {
                        if let EdgeTarget::Module(t) = edge.target
                            && edge.kind.is_static()
                            && !(annotations && self.side_effect_free(t, &mut effect_free))
                        {
                            work.push(Work::Live(t));
                        }
                    }
                    for &record in &symbols.loose_records {
                        self.follow(m, record, &mut work);
                    }
                    // `eval` can read any import, namespaces included.
                    if symbols.direct_eval {
                        let first = symbols.declared.len() as u32;
                        for import in first..first + symbols.imports.len() as u32 {
                            work.push(Work::Local(m, import));
                        }
                    }
                }
                Work::Include(m, i) => {
                    if std::mem::replace(&mut shaken.included[m.index()][i], true) {
                        continue;
                    }
                    work.push(Work::Live(m));
                    let symbols = self.symbols[m.index()];
                    let statement = &symbols.statements[i];
                    for &name in &statement.references {
                        work.push(Work::Local(m, name));
                    }
                    for &record in &statement.records {
                        self.follow(m, record, &mut work);
                    }
                }
                Work::Local(m, index) => {
                    // Each name once: statements reference the same names over and over.
                    let symbols = self.symbols[m.index()];
                    let seen = used_locals
                        .entry(m)
                        .or_insert_with(|| vec![false; symbols.declared.len() + symbols.imports.len()]);
                    match seen.get_mut(index as usize) {
                        Some(seen) if !*seen => *seen = true,
                        _ => continue,
                    }
                    work.push(Work::Live(m));
                    if let Some(i) = (index as usize).checked_sub(symbols.declared.len()) {
                        let import = &symbols.imports[i];
                        let name = &import.local;
                        let binding = self.import_binding(m, i).cloned().unwrap_or(Binding::Unresolved);
                        match binding {
                            // `ns.x` only: each member is used, not the namespace object.
                            Binding::Namespace(t)
                                if import.imported == Imported::Namespace
                                    && !symbols.namespace_values.contains(name)
                                    && !symbols.direct_eval =>
                            {
                                work.push(Work::Live(t));
                                let members = symbols.namespace_members.iter().find(|(ns, _)| ns == name);
                                for prop in members.map(|(_, props)| props.as_slice()).unwrap_or_default() {
                                    self.export_hops(t, prop, &mut hopped, &mut work);
                                    work.push(Work::Bind(self.resolve_export(t, prop, &mut Vec::new())));
                                }
                            }
                            binding => {
                                if let Some(&EdgeTarget::Module(t)) = self.edge_target(m, import.record) {
                                    work.push(Work::Live(t));
                                    if let Imported::Name(imported) = &import.imported {
                                        self.export_hops(t, imported, &mut hopped, &mut work);
                                    }
                                }
                                work.push(Work::Bind(binding));
                            }
                        }
                        continue;
                    }
                    let declared_by = declared_by.entry(m).or_insert_with(|| {
                        let mut by: Vec<Vec<usize>> = vec![Vec::new(); symbols.declared.len()];
                        for (i, statement) in symbols.statements.iter().enumerate() {
                            for &declared in &statement.declares {
                                if let Some(list) = by.get_mut(declared as usize) {
                                    list.push(i);
                                }
                            }
                        }
                        by
                    });
                    for &i in &declared_by[index as usize] {
                        work.push(Work::Include(m, i));
                    }
                }
                Work::Bind(binding) => match binding {
                    Binding::Local(t, local) => {
                        work.push(Work::Live(t));
                        if let Ok(index) = self.symbols[t.index()].declared.binary_search_by(|d| d.as_str().cmp(&local))
                        {
                            work.push(Work::Local(t, index as u32));
                        }
                    }
                    Binding::Namespace(t) => work.push(Work::Namespace(t)),
                    Binding::CjsProperty(r, _) | Binding::CjsNamespace(r) => work.push(Work::Live(r.module)),
                    _ => {}
                },
                Work::Namespace(t) | Work::Exports(t) => {
                    let first = match item {
                        Work::Namespace(_) => shaken.namespaces.insert(t),
                        _ => exported.insert(t),
                    };
                    if !first {
                        continue;
                    }
                    work.push(Work::Live(t));
                    if self.wrap[t.index()] == Wrap::None {
                        for name in self.export_names(t, &mut Vec::new()).iter() {
                            self.export_hops(t, name, &mut hopped, &mut work);
                            work.push(Work::Bind(self.resolve_export(t, name, &mut Vec::new())));
                        }
                    }
                }
            }
        }
        self.shaken = Some(shaken);
    }

    /// Every module a used export `name` of `module` passes through (`export … from`, `export *`,
    /// an export of an import) runs, as in Node and esbuild: their side-effect imports run too.
    /// `hopped`: the (module, name) pairs already followed (a chain from one is always the same).
    fn export_hops(
        &mut self,
        module: ModuleId,
        name: &'a str,
        hopped: &mut [rustc_hash::FxHashSet<&'a str>],
        work: &mut Vec<Work>,
    ) {
        let mut current = Some((module, name));
        while let Some((m, name)) = current.take() {
            if self.wrap[m.index()] != Wrap::None || !hopped[m.index()].insert(name) {
                break;
            }
            let symbols: &'a ModuleSymbols = self.symbols[m.index()];
            let index = self.index_of(m);
            // The next hop: a record of `m` and the name imported through it.
            let next = if let Some(&i) = index.local_exports.get(name) {
                let local = &symbols.local_exports[i].1;
                index
                    .imports
                    .get(local.as_str())
                    .map(|&i| (symbols.imports[i].record, Some(&symbols.imports[i].imported)))
            } else if let Some(&i) = index.reexports.get(name) {
                Some((symbols.reexports[i].record, Some(&symbols.reexports[i].imported)))
            } else if name != "default" {
                // As `resolve_export` decides: a scope-hoisted module's export first, then a
                // CommonJS module (which might have it at run time).
                let mut commonjs = None;
                let mut found = None;
                for &record in &symbols.star_exports {
                    match self.edge_target(m, record) {
                        Some(&EdgeTarget::Module(t)) if self.wrap[t.index()] == Wrap::Cjs => {
                            commonjs.get_or_insert(record);
                        }
                        Some(&EdgeTarget::Module(t))
                            if !matches!(
                                self.resolve_export(t, name, &mut Vec::new()),
                                Binding::Missing | Binding::Unresolved
                            ) =>
                        {
                            found = Some(record);
                            break;
                        }
                        _ => {}
                    }
                }
                found.or(commonjs).map(|record| (record, None))
            } else {
                None
            };
            let Some((record, imported)) = next else { break };
            let Some(&EdgeTarget::Module(t)) = self.edge_target(m, record) else { break };
            work.push(Work::Live(t));
            // Through `export *`, the same name; else the name imported, if any.
            match imported {
                None => current = Some((t, name)),
                Some(Imported::Name(next_name)) => current = Some((t, next_name.as_str())),
                Some(Imported::Namespace) => {}
            }
        }
    }

    /// A kept `require()`/`import()`/`new URL()` record of `module`: its target runs, and a
    /// scope-hoisted target hands out its whole namespace.
    fn follow(&self, module: ModuleId, record: u32, work: &mut Vec<Work>) {
        let Some(edge) = self.edge(module, record) else {
            return;
        };
        let EdgeTarget::Module(t) = edge.target else {
            return;
        };
        work.push(Work::Live(t));
        if matches!(edge.kind, ImportKind::Require | ImportKind::DynamicImport) && self.wrap[t.index()] == Wrap::None {
            // With code splitting, `import()` loads the target's chunk, whose exports are its
            // namespace: every export is used, but no namespace object is built.
            let chunk = edge.kind == ImportKind::DynamicImport && self.is_split_point.contains(&t);
            work.push(if chunk { Work::Exports(t) } else { Work::Namespace(t) });
        }
    }

    /// Whether import `name` (a name index) of `module` is bound to a function its module marks
    /// `#__NO_SIDE_EFFECTS__`.
    fn calls_pure(&mut self, module: ModuleId, name: u32) -> bool {
        // Name indexes past the declared names are imports, in order.
        let Some(import) = (name as usize).checked_sub(self.symbols[module.index()].declared.len()) else {
            return false;
        };
        match self.import_binding(module, import) {
            Some(Binding::Local(t, function)) => {
                self.symbols[t.index()].no_side_effects.binary_search_by(|f| f.as_str().cmp(function)).is_ok()
            }
            _ => false,
        }
    }

    /// Whether `module`'s package declares it free of side effects.
    fn side_effect_free(&self, module: ModuleId, known: &mut [Option<bool>]) -> bool {
        let node = self.graph.module(module);
        *known[module.index()]
            .get_or_insert_with(|| !node.disabled && crate::side_effects::side_effect_free(self.db, node.file))
    }

    /// After shaking, the namespace objects that exist are the used ones, those of lazy modules
    /// (their frame fills them in) and the entries' (CommonJS and IIFE outputs export them; an
    /// entry's that nothing else uses is marked so that ESM output leaves it out).
    pub(crate) fn settle_namespaces(&mut self) {
        let Some(shaken) = &self.shaken else {
            return;
        };
        let mut needed = shaken.namespaces.clone();
        // With code splitting, `import()` loads a chunk instead, and a lazy module that
        // nothing `require()`s needs no namespace.
        if !self.project.link(self.db).splitting {
            needed.extend(
                (0..self.graph.modules.len()).filter(|&i| self.lazy[i] && shaken.live[i]).map(|i| ModuleId(i as u32)),
            );
        }
        for &entry in &self.graph.entries {
            // `export * from` a CommonJS module fills the namespace at run time (`__reExport`),
            // which every output does.
            if self.wrap[entry.index()] == Wrap::None && needed.insert(entry) && !self.star_exports_commonjs(entry) {
                self.entry_only_namespaces.insert(entry);
            }
        }
        self.namespace_needed = needed;
    }

    /// Whether `module` is in the output.
    pub(crate) fn is_live(&self, module: ModuleId) -> bool {
        self.shaken.as_ref().is_none_or(|s| s.live[module.index()])
    }

    /// The statements of `module` that tree shaking dropped, in order.
    pub(crate) fn dropped_statements(&self, module: ModuleId) -> Vec<u32> {
        let Some(shaken) = &self.shaken else {
            return Vec::new();
        };
        if self.wrap[module.index()] != Wrap::None || !shaken.live[module.index()] {
            return Vec::new();
        }
        let included = &shaken.included[module.index()];
        (0..included.len()).filter(|&i| !included[i]).map(|i| i as u32).collect()
    }
}
