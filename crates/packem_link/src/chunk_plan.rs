//! Step 4, chunk planning: per entry, the evaluation order, the wrappers, namespace objects,
//! externals and glue.

use std::collections::BTreeSet;

use packem_graph::{EdgeTarget, ModuleId};
use packem_parse::{ImportKind, module_summary};

use crate::linker::Linker;
use crate::output::{
    Binding, ChunkKind, ChunkPlan, CjsRef, ExternalBinding, Glue, NamespaceObject, OrderItem, ValueRef, Wrap,
};

impl Linker<'_> {
    /// The plan of one output: an entry's (`members: None`: everything the entry reaches), or,
    /// with code splitting, a chunk of the given members (see [`crate::chunking`]) whose
    /// evaluation order starts at `entry` (`kind` [`ChunkKind::Shared`]: none; its modules run
    /// when an entry's chunk initializes them).
    pub(crate) fn plan_chunk(
        &mut self,
        entry: ModuleId,
        kind: ChunkKind,
        members: Option<&BTreeSet<ModuleId>>,
    ) -> ChunkPlan {
        let mut state = OrderState::default();
        if kind != ChunkKind::Shared {
            self.visit(entry, &mut state, true);
        }
        let in_chunk: BTreeSet<ModuleId> = match members {
            Some(members) => members.clone(),
            None => {
                // What `require()` and `import()` reach is defined up front (wrappers, lazy
                // modules) and runs when called; its place in the order does not matter.
                while let Some(next) = state.dynamic.iter().copied().find(|m| !state.visited.contains(m)) {
                    self.visit(next, &mut state, false);
                }
                state.visited.iter().copied().filter(|m| self.is_live(*m)).collect()
            }
        };
        let wrappers: Vec<(ModuleId, String)> =
            in_chunk.iter().filter_map(|m| self.wrapper_names.get(m).map(|w| (*m, w.clone()))).collect();
        let mut namespaces = Vec::new();
        // `export * from` an external module: its names join the entry's exports at run time.
        let mut external_star_exports = Vec::new();
        if kind != ChunkKind::Shared {
            self.external_stars(entry, &mut Vec::new(), &mut external_star_exports);
        }
        // Lazy modules define their namespace themselves, when they run.
        let namespaced: Vec<ModuleId> =
            in_chunk.iter().copied().filter(|m| self.namespace_needed.contains(m) && !self.lazy[m.index()]).collect();
        let lazy: Vec<ModuleId> = in_chunk.iter().copied().filter(|m| self.lazy[m.index()]).collect();
        for module in namespaced.iter() {
            let getters = self.namespace_getters(*module);
            let open = self.star_exports_commonjs(*module) || (*module == entry && !external_star_exports.is_empty());
            namespaces.push(NamespaceObject {
                module: *module,
                name: self.namespace_names[module].clone(),
                getters,
                open,
                entry_only: self.entry_only_namespaces.contains(module),
            });
        }
        // Externals used by the chunk's scope-hoisted modules.
        let mut externals = BTreeSet::new();
        let mut external_side_effects = Vec::new();
        let mut top_level_await = false;
        for module in &in_chunk {
            top_level_await |= self.wrap[module.index()] == Wrap::None
                && module_summary(self.db, self.graph.module(*module).source).has_top_level_await;
            for binding in &self.bindings[module.index()] {
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
        if self.wrap[entry.index()] == Wrap::None && kind != ChunkKind::Shared {
            for name in self.export_names(entry, &mut Vec::new()).iter() {
                let binding = self.resolve_export(entry, name, &mut Vec::new());
                if let Binding::External(path, imported) = &binding {
                    externals.insert((path.clone(), imported.clone()));
                    self.ensure_external(path, imported);
                }
                if let Some(value) = self.value_of(&binding) {
                    exports.push((name.to_string(), value));
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
        ChunkPlan {
            entry,
            kind,
            imports: Vec::new(),
            shared_exports: Vec::new(),
            lazy,
            wrappers,
            namespaces,
            order: state.order,
            externals,
            external_side_effects,
            exports,
            entry_wrapper: if kind == ChunkKind::Shared { None } else { self.wrapper_names.get(&entry).cloned() },
            top_level_await,
            external_star_exports,
        }
    }

    /// ESM evaluation order: dependencies first, in source order, each module once. An ESM
    /// import of a CommonJS module runs it (`require_x()`) at the import's place in that order;
    /// a lazily framed module reached through static imports runs there too (`init_x()`).
    /// `eager`: the walk from the entry, which follows static imports only (what `require()`
    /// and `import()` reach is collected in `state.dynamic` for a later, non-eager walk).
    fn visit(&mut self, module: ModuleId, state: &mut OrderState, eager: bool) {
        enum Frame {
            Visit(ModuleId, usize),
            CjsImport(ModuleId, ModuleId),
        }
        if !state.visited.insert(module) {
            return;
        }
        state.open(module);
        // Iterative so that long import chains cannot overflow the stack.
        let mut stack = vec![Frame::Visit(module, 0)];
        while let Some(frame) = stack.pop() {
            let (current, next_edge) = match frame {
                Frame::CjsImport(importer, target) => {
                    // Generated when emitted (not when the edge was seen), so the first emitted
                    // import of a module is the one that initializes its variable.
                    let mut glue = Vec::new();
                    self.cjs_import_glue(importer, Some(target), state, &mut glue);
                    state.order.extend(glue.into_iter().map(OrderItem::Glue));
                    continue;
                }
                Frame::Visit(current, next_edge) => (current, next_edge),
            };
            // With code splitting, a lazy module's `init` runs its dependencies itself, and
            // everything it reaches is lazy too (it is shared by as many entry points), so the
            // walk need not go further: that keeps each order to its chunk's size.
            let edges: &[packem_graph::Edge] = match self.split_points.is_empty() || !self.lazy[current.index()] {
                true => &self.graph.module(current).edges,
                false => &[],
            };
            let Some(edge) = edges.get(next_edge) else {
                if eager && self.lazy[current.index()] && self.is_live(current) {
                    let init = self.init_names[&current].clone();
                    state.lazy_inits.push((current, state.order.len()));
                    state
                        .order
                        .push(OrderItem::Glue(Glue::InitLazy { init, is_async: self.lazy_async[current.index()] }));
                } else if eager && self.wrap[current.index()] == Wrap::None && self.is_live(current) {
                    // Bindings that reach a CommonJS module indirectly (`export * from './x.cjs'`).
                    let mut glue = Vec::new();
                    self.cjs_import_glue(current, None, state, &mut glue);
                    state.order.extend(glue.into_iter().map(OrderItem::Glue));
                    state.order.push(OrderItem::Module(current));
                }
                let parent = stack.iter().rev().find_map(|f| match f {
                    Frame::Visit(m, _) => Some(*m),
                    Frame::CjsImport(..) => None,
                });
                let lazy = &self.lazy;
                state.close(current, parent, |m| lazy[m.index()]);
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
                ImportKind::Require if eager => {
                    state.dynamic.push(target);
                    continue;
                }
                ImportKind::RequireResolve | ImportKind::NewUrl => continue,
                _ => {}
            }
            let is_static = edge.kind.is_static();
            if is_static
                && eager
                && self.wrap[current.index()] == Wrap::None
                && !self.lazy[current.index()]
                && self.wrap[target.index()] == Wrap::Cjs
                && self.is_live(current)
                && self.is_live(target)
            {
                stack.push(Frame::CjsImport(current, target));
            }
            if state.visited.insert(target) {
                state.open(target);
                stack.push(Frame::Visit(target, 0));
            } else {
                state.reach(current, target);
            }
        }
        if eager {
            // `init_x()` of a lazy module in a cycle whose first-reached module is lazy too:
            // that module's `init` runs it (through its prologue) at the place Node would, with
            // the cycle's entry point marked as evaluating. Calling it first would run its
            // dependency, the cycle's entry, before it (Node skips a module that is evaluating).
            let skipped = std::mem::take(&mut state.skipped_inits);
            if !skipped.is_empty() {
                let mut index = 0;
                state.order.retain(|_| {
                    index += 1;
                    !skipped.contains(&(index - 1))
                });
            }
            state.lazy_inits.clear();
        }
    }

    /// `var import_x = __toESM(require_x(), 1);` (once per module) plus the importer's bindings
    /// to it, appended to `out`; with `target == None`, for every CommonJS module the importer
    /// is bound to.
    pub(crate) fn cjs_import_glue(
        &self,
        importer: ModuleId,
        target: Option<ModuleId>,
        state: &mut OrderState,
        out: &mut Vec<Glue>,
    ) {
        let symbols = &self.symbols[importer.index()];
        let mut targets: Vec<CjsRef> = Vec::new();
        if let Some(t) = target {
            targets.push(CjsRef { module: t, node_mode: self.node_mode[importer.index()] });
        }
        for i in 0..symbols.imports.len() {
            if let Some(Binding::CjsProperty(r, _) | Binding::CjsNamespace(r)) = self.import_binding(importer, i)
                && target.is_none_or(|t| t == r.module)
                && !targets.contains(r)
            {
                targets.push(*r);
            }
        }
        for r in targets {
            if !self.is_live(r.module) || !state.bound.insert((importer, r)) {
                continue;
            }
            let var = &self.import_vars[&(r.module, r.node_mode)];
            if state.initialized.insert(r) {
                out.push(Glue::InitCjs {
                    var: var.clone(),
                    wrapper: self.wrapper_names[&r.module].clone(),
                    node_mode: r.node_mode,
                });
            }
            // `export * from` this CommonJS module: its names join the importer's namespace now
            // that it has run.
            if target.is_some()
                && let Some(ns) = self.namespace_names.get(&importer)
                && self.symbols[importer.index()].star_exports.iter().any(|record| {
                    matches!(self.edge_target(importer, *record), Some(EdgeTarget::Module(t)) if *t == r.module)
                })
            {
                out.push(Glue::ReExport { namespace: ns.clone(), from: var.clone() });
            }
            for (i, import) in symbols.imports.iter().enumerate() {
                let value = match self.import_binding(importer, i) {
                    Some(Binding::CjsProperty(m, name)) if *m == r => ValueRef::Member(var.clone(), name.clone()),
                    Some(Binding::CjsNamespace(m)) if *m == r => ValueRef::Name(var.clone()),
                    _ => continue,
                };
                if let Some(local) = self.final_name(importer, &import.local) {
                    out.push(Glue::Bind { local: local.clone(), value });
                }
            }
        }
    }

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
    pub(crate) fn star_exports_commonjs(&self, module: ModuleId) -> bool {
        self.symbols[module.index()].star_exports.iter().any(|record| {
            matches!(self.edge_target(module, *record), Some(EdgeTarget::Module(t)) if self.wrap[t.index()] == Wrap::Cjs)
        })
    }
}

/// The walk that orders a chunk's evaluation.
#[derive(Default)]
pub(crate) struct OrderState {
    visited: BTreeSet<ModuleId>,
    /// Tarjan's strongly connected components over the walk (see [`OrderState::close`]): each
    /// module's discovery index and low link, and the modules not yet assigned a component.
    discovered: rustc_hash::FxHashMap<ModuleId, (u32, u32)>,
    component_stack: Vec<ModuleId>,
    on_component_stack: rustc_hash::FxHashSet<ModuleId>,
    /// `init_x()` items of lazy modules, with their place in `order`.
    lazy_inits: Vec<(ModuleId, usize)>,
    /// Places in `order` of `init_x()` items the cycle's first module's init makes redundant.
    skipped_inits: rustc_hash::FxHashSet<usize>,
    order: Vec<OrderItem>,
    dynamic: Vec<ModuleId>,
    /// CommonJS modules whose `import_x` variable has been assigned.
    initialized: BTreeSet<CjsRef>,
    /// (importer, CommonJS module) pairs whose bindings have been emitted.
    bound: BTreeSet<(ModuleId, CjsRef)>,
}

impl OrderState {
    /// The walk reaches `module` for the first time.
    fn open(&mut self, module: ModuleId) {
        let index = self.discovered.len() as u32;
        self.discovered.insert(module, (index, index));
        self.component_stack.push(module);
        self.on_component_stack.insert(module);
    }

    /// An edge from `from` to the already reached `to`.
    fn reach(&mut self, from: ModuleId, to: ModuleId) {
        if self.on_component_stack.contains(&to) {
            let to_index = self.discovered[&to].0;
            let entry = self.discovered.get_mut(&from).expect("opened");
            entry.1 = entry.1.min(to_index);
        }
    }

    /// The walk is done with `module` (reached from `parent`). When it closes a component of
    /// several modules whose first-reached module is lazy, the other members' `init_x()`
    /// items are dropped.
    fn close(&mut self, module: ModuleId, parent: Option<ModuleId>, is_lazy: impl Fn(ModuleId) -> bool) {
        let (index, low) = self.discovered[&module];
        if let Some(parent) = parent {
            let entry = self.discovered.get_mut(&parent).expect("opened");
            entry.1 = entry.1.min(low);
        }
        if low != index {
            return;
        }
        let mut members = Vec::new();
        while let Some(member) = self.component_stack.pop() {
            self.on_component_stack.remove(&member);
            members.push(member);
            if member == module {
                break;
            }
        }
        if members.len() > 1 && is_lazy(module) {
            for (m, at) in &self.lazy_inits {
                if *m != module && members.contains(m) {
                    self.skipped_inits.insert(*at);
                }
            }
        }
    }
}
