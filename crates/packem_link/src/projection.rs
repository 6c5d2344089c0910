//! Step 5, projection: each module's part of the link ([`ModuleLink`]): its renames, rewritten
//! records and frame. Last, because it reads the bindings, the names and the framing.

use std::collections::BTreeMap;

use packem_graph::{EdgeTarget, ModuleId};
use packem_parse::ImportKind;

use crate::chunk_plan::OrderState;
use crate::linker::Linker;
use crate::output::{Binding, Glue, LazyModule, ModuleLink, RecordRewrite, ValueRef, Wrap};
use crate::symbols::Imported;

impl Linker<'_> {
    /// What a binding is read through, or `None` when it has no value.
    pub(crate) fn value_of(&self, binding: &Binding) -> Option<ValueRef> {
        match binding {
            Binding::Local(m, local) => self.final_name(*m, local).cloned().map(ValueRef::Name),
            Binding::Namespace(m) => self.namespace_names.get(m).cloned().map(ValueRef::Name),
            Binding::CjsProperty(r, name) => {
                let var = self.import_vars.get(&(r.module, r.node_mode))?;
                Some(ValueRef::Member(var.clone(), name.clone()))
            }
            Binding::CjsNamespace(r) => self.import_vars.get(&(r.module, r.node_mode)).cloned().map(ValueRef::Name),
            Binding::External(path, imported) => {
                self.external_names.get(&(path.clone(), imported.clone())).cloned().map(ValueRef::Name)
            }
            _ => None,
        }
    }

    /// The getters of `module`'s namespace object: every export name and what it reads.
    pub(crate) fn namespace_getters(&mut self, module: ModuleId) -> Vec<(String, ValueRef)> {
        let names = self.export_names(module, &mut Vec::new());
        names
            .iter()
            .filter_map(|name| {
                let binding = self.resolve_export(module, name, &mut Vec::new());
                self.value_of(&binding).map(|value| (name.to_string(), value))
            })
            .collect()
    }

    /// `module`'s part of the link.
    pub(crate) fn module_link(&mut self, module: ModuleId) -> ModuleLink {
        let index = module.index();
        let symbols = self.symbols[index];
        let mut out = ModuleLink {
            wrap: self.wrapper_names.get(&module).cloned(),
            plain_names: symbols.direct_eval || symbols.with_statement,
            ..ModuleLink::default()
        };
        if self.wrap[index] == Wrap::None {
            let mut renames = BTreeMap::new();
            // Only names that change: most keep theirs.
            for local in &symbols.declared {
                if let Some(f) = self.final_name(module, local)
                    && f != local
                {
                    renames.insert(local.clone(), f.clone());
                }
            }
            for (i, import) in symbols.imports.iter().enumerate() {
                let binding = self.bindings[index].get(i).cloned().unwrap_or(Binding::Unresolved);
                let target = match &binding {
                    // Bound to a variable of its own by the glue.
                    Binding::CjsProperty(..) | Binding::CjsNamespace(_) => {
                        self.final_name(module, &import.local).cloned()
                    }
                    Binding::Namespace(_)
                        if import.imported == Imported::Namespace
                            && !symbols.namespace_values.contains(&import.local) =>
                    {
                        None
                    }
                    // An import of a scope-hoisted export is renamed to the export's variable;
                    // a CommonJS property would be a member expression, which the glue binds.
                    other => self.value_of(other).and_then(|v| v.name().map(str::to_string)),
                };
                if let Some(target) = target
                    && target != import.local
                {
                    renames.insert(import.local.clone(), target);
                }
            }
            out.renames = renames.into_iter().collect();
            out.default_local = symbols.default_local.as_ref().and_then(|d| self.final_name(module, d).cloned());
            for (ns, props) in &symbols.namespace_members {
                let Some(&Binding::Namespace(target)) = self.import_binding_named(module, ns) else {
                    continue;
                };
                if symbols.namespace_values.contains(ns) {
                    continue;
                }
                let rewrites = props
                    .iter()
                    .map(|prop| {
                        let binding = self.resolve_export(target, prop, &mut Vec::new());
                        (prop.clone(), self.value_of(&binding).unwrap_or(ValueRef::Undefined))
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
        if self.lazy[index] && self.is_live(module) {
            out.lazy = Some(self.lazy_module(module));
        }
        out.dropped = self.dropped_statements(module);
        out
    }

    /// How a `require()`/`import()` of `target` is written.
    fn record_rewrite(&self, importer: ModuleId, target: &EdgeTarget, kind: ImportKind) -> Option<RecordRewrite> {
        if let EdgeTarget::Module(t) = target
            && let Some(url) = &self.copies[t.index()]
        {
            return match kind {
                ImportKind::Require => Some(RecordRewrite::ExternalRequire(url.clone())),
                ImportKind::DynamicImport => Some(RecordRewrite::ExternalImport(url.clone())),
                _ => None,
            };
        }
        match (target, kind) {
            (EdgeTarget::Module(t), ImportKind::Require) => Some(match self.wrapper_names.get(t) {
                Some(wrapper) => RecordRewrite::RequireWrapped { wrapper: wrapper.clone() },
                // No namespace: the target does not run, so the call was dropped with its statement.
                None => RecordRewrite::RequireEsm {
                    init: self.init_names.get(t).cloned(),
                    namespace: self.namespace_names.get(t)?.clone(),
                },
            }),
            (EdgeTarget::Module(t), ImportKind::DynamicImport) if self.entry_chunks.contains_key(t) => {
                Some(RecordRewrite::ImportChunk { chunk: self.entry_chunks[t] })
            }
            (EdgeTarget::Module(t), ImportKind::DynamicImport) => Some(match self.wrapper_names.get(t) {
                Some(wrapper) => RecordRewrite::ImportWrapped {
                    wrapper: wrapper.clone(),
                    node_mode: self.node_mode[importer.index()],
                },
                None => RecordRewrite::ImportEsm {
                    init: self.init_names.get(t).cloned(),
                    is_async: self.lazy_async[t.index()],
                    namespace: self.namespace_names.get(t)?.clone(),
                },
            }),
            (EdgeTarget::External(path), ImportKind::Require) => Some(RecordRewrite::ExternalRequire(path.clone())),
            (EdgeTarget::External(path), ImportKind::DynamicImport) => {
                Some(RecordRewrite::ExternalImport(path.clone()))
            }
            _ => None,
        }
    }

    /// The frame of a lazily evaluated module: its namespace getters and a prologue that runs its
    /// static dependencies (lazy ones and CommonJS ones) in source order.
    fn lazy_module(&mut self, module: ModuleId) -> LazyModule {
        let getters = self.namespace_getters(module);
        let mut prologue = Vec::new();
        let mut state = OrderState::default();
        for edge in &self.graph.module(module).edges {
            let EdgeTarget::Module(target) = edge.target else { continue };
            if !edge.kind.is_static() || !self.is_live(target) {
                continue;
            }
            if let Some(init) = self.init_names.get(&target) {
                prologue.push(Glue::InitLazy { init: init.clone(), is_async: self.lazy_async[target.index()] });
            } else if self.wrap[target.index()] == Wrap::Cjs {
                self.cjs_import_glue(module, Some(target), &mut state, &mut prologue);
            }
        }
        self.cjs_import_glue(module, None, &mut state, &mut prologue);
        LazyModule {
            init: self.init_names[&module].clone(),
            namespace: self.namespace_names.get(&module).cloned(),
            getters,
            prologue,
            is_async: self.lazy_async[module.index()],
            open: self.star_exports_commonjs(module),
        }
    }
}
