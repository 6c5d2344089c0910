//! Step 7 with code splitting, cross-chunk binding: which top-level names each chunk imports
//! from which other chunk, and so which names each chunk exports.
//!
//! Final names are unique across the whole link (step 4), so a chunk imports a name under the
//! very name it has where it is declared, and modules' renders do not depend on chunking. A
//! name belongs to the chunk that declares it: a module's kept declarations, a wrapper, a lazy
//! module's `init_x`, namespace and hoisted prologue variables, a namespace object, a glue
//! variable. A name several chunks declare (an `import_x` each binds for itself) is imported
//! only by chunks that do not, preferably from a shared chunk. References come from the same
//! data the renders spell (imports' targets, namespace members, record rewrites, lazy frames,
//! glue, exports), so an import is never missing; a reference to a name no chunk declares
//! (one shaking dropped with the statement that used it) is not imported.

use std::collections::{BTreeMap, BTreeSet};

use packem_graph::ModuleId;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::linker::Linker;
use crate::output::{
    Binding, ChunkImport, ChunkKind, ChunkPlan, Glue, ModuleLink, OrderItem, RecordRewrite, ValueRef, Wrap,
};

/// What one chunk declares and reads.
#[derive(Default)]
struct Names {
    declares: FxHashSet<String>,
    reads: BTreeSet<String>,
}

impl Names {
    fn value(&mut self, value: &ValueRef) {
        match value {
            ValueRef::Name(name) | ValueRef::Member(name, _) => {
                self.reads.insert(name.clone());
            }
            ValueRef::Undefined => {}
        }
    }

    fn glue(&mut self, glue: &Glue) {
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

    fn record(&mut self, rewrite: &RecordRewrite) {
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
}

impl Linker<'_> {
    /// Fills in every chunk's [`ChunkPlan::imports`] and [`ChunkPlan::shared_exports`].
    pub(crate) fn bind_chunks(&self, chunks: &mut [ChunkPlan], modules: &[ModuleLink]) {
        let names: Vec<Names> = chunks.iter().map(|chunk| self.chunk_names(chunk, modules)).collect();
        // Shared chunks first: a name several chunks declare is imported from a shared one.
        let mut owner: FxHashMap<&str, u32> = FxHashMap::default();
        let order = (0..chunks.len())
            .filter(|&i| chunks[i].kind == ChunkKind::Shared)
            .chain((0..chunks.len()).filter(|&i| chunks[i].kind != ChunkKind::Shared));
        for i in order {
            let mut declared: Vec<&str> = names[i].declares.iter().map(String::as_str).collect();
            declared.sort_unstable();
            for name in declared {
                owner.entry(name).or_insert(i as u32);
            }
        }
        let mut exports: Vec<BTreeSet<String>> = vec![BTreeSet::new(); chunks.len()];
        for (i, chunk) in chunks.iter_mut().enumerate() {
            let mut imports: BTreeMap<u32, Vec<String>> = BTreeMap::new();
            for name in &names[i].reads {
                if names[i].declares.contains(name) {
                    continue;
                }
                if let Some(&from) = owner.get(name.as_str())
                    && from != i as u32
                {
                    imports.entry(from).or_default().push(name.clone());
                    exports[from as usize].insert(name.clone());
                }
            }
            chunk.imports = imports.into_iter().map(|(chunk, names)| ChunkImport { chunk, names }).collect();
        }
        for (chunk, names) in chunks.iter_mut().zip(exports) {
            chunk.shared_exports = names.into_iter().collect();
        }
    }

    /// The names `chunk`'s code declares and reads.
    fn chunk_names(&self, chunk: &ChunkPlan, modules: &[ModuleLink]) -> Names {
        let mut names = Names::default();
        let members = chunk.wrappers.iter().map(|(m, _)| *m).chain(chunk.lazy.iter().copied()).chain(
            chunk.order.iter().filter_map(|item| match item {
                OrderItem::Module(m) => Some(*m),
                OrderItem::Glue(_) => None,
            }),
        );
        for module in members {
            self.module_names(module, &modules[module.index()], &mut names);
        }
        for namespace in &chunk.namespaces {
            names.declares.insert(namespace.name.clone());
            for (_, value) in &namespace.getters {
                names.value(value);
            }
        }
        for item in &chunk.order {
            if let OrderItem::Glue(glue) = item {
                names.glue(glue);
            }
        }
        for (_, value) in &chunk.exports {
            names.value(value);
        }
        names.reads.extend(chunk.entry_wrapper.iter().cloned());
        for external in &chunk.externals {
            names.declares.insert(external.local.clone());
        }
        names
    }

    /// What the module `module` (of link `link`) declares and reads.
    fn module_names(&self, module: ModuleId, link: &ModuleLink, names: &mut Names) {
        let index = module.index();
        for (_, rewrite) in &link.records {
            names.record(rewrite);
        }
        if self.wrap[index] != Wrap::None {
            names.declares.extend(link.wrap.iter().cloned());
            return;
        }
        let symbols = &self.symbols[index];
        let kept = self.shaken.as_ref().map(|s| &s.included[index]).filter(|included| !included.is_empty());
        let mut declared = vec![kept.is_none(); symbols.declared.len()];
        if let Some(included) = kept {
            for (statement, facts) in symbols.statements.iter().enumerate() {
                if included[statement] {
                    for &d in &facts.declares {
                        declared[d as usize] = true;
                    }
                }
            }
        }
        for (local, kept) in symbols.declared.iter().zip(declared) {
            if kept {
                let name = self.finals.get(&(module, local.clone())).unwrap_or(local);
                names.declares.insert(name.clone());
            }
        }
        for import in &symbols.imports {
            let target = match self.bindings[index].get(&import.local) {
                Some(Binding::CjsProperty(..) | Binding::CjsNamespace(_)) => None,
                Some(binding) => self.value_of(binding),
                None => None,
            };
            if let Some(value) = target {
                names.value(&value);
            }
        }
        for (_, members) in &link.namespace_members {
            for (_, value) in members {
                names.value(value);
            }
        }
        if let Some(lazy) = &link.lazy {
            names.declares.insert(lazy.init.clone());
            if let Some(namespace) = &lazy.namespace {
                names.declares.insert(namespace.clone());
                for (_, value) in &lazy.getters {
                    names.value(value);
                }
            }
            for glue in &lazy.prologue {
                names.glue(glue);
            }
        }
    }
}
