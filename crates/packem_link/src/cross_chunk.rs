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
use rustc_hash::FxHashMap;

use crate::linker::Linker;
use crate::output::{Binding, ChunkImport, ChunkKind, ChunkPlan, ModuleLink, NameUse, OrderItem, ValueRef, Wrap};

impl Linker<'_> {
    /// Fills in every chunk's [`ChunkPlan::imports`] and [`ChunkPlan::shared_exports`].
    pub(crate) fn bind_chunks(&self, chunks: &mut [ChunkPlan], modules: &[ModuleLink]) {
        let names: Vec<NameUse> = chunks.iter().map(|chunk| chunk_names(chunk, modules)).collect();
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

    /// What the module `module` (of link `link`) declares and reads.
    pub(crate) fn module_names(&self, module: ModuleId, link: &ModuleLink) -> NameUse {
        let mut names = NameUse::default();
        let index = module.index();
        for (_, rewrite) in &link.records {
            names.record(rewrite);
        }
        if self.wrap[index] != Wrap::None {
            names.declares.extend(link.wrap.iter().cloned());
            return names;
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
                let name = self.final_name(module, local).unwrap_or(local);
                names.declares.insert(name.clone());
            }
        }
        for (i, import) in symbols.imports.iter().enumerate() {
            let target = match self.bindings[index].get(i) {
                // Bound by glue to a variable of the importer's own.
                Some(Binding::CjsProperty(..) | Binding::CjsNamespace(_)) => {
                    self.final_name(module, &import.local).cloned().map(ValueRef::Name)
                }
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
        names
    }
}

/// The names `chunk`'s code declares and reads: its modules' ([`ModuleLink::names`]) and its
/// glue's.
fn chunk_names(chunk: &ChunkPlan, modules: &[ModuleLink]) -> NameUse {
    let mut names = NameUse::default();
    let members = chunk.wrappers.iter().map(|(m, _)| *m).chain(chunk.lazy.iter().copied()).chain(
        chunk.order.iter().filter_map(|item| match item {
            OrderItem::Module(m) => Some(*m),
            OrderItem::Glue(_) => None,
        }),
    );
    for module in members {
        if let Some(module_names) = &modules[module.index()].names {
            names.extend(module_names);
        }
    }
    names.extend(&chunk.glue_names());
    names
}
