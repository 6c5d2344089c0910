//! Step 2, binding: what every import and export finally refers to, through `export … from`,
//! `export *` (ESM's ambiguity rule) and CommonJS interop; missing and ambiguous imports are
//! errors with both locations.

use std::collections::BTreeSet;
use std::sync::Arc;

use packem_db::{Diagnostic, DiagnosticCode, Loader};
use packem_graph::{EdgeTarget, ModuleId};
use packem_parse::{ImportKind, module_scan};
use rustc_hash::FxHashMap;

use crate::linker::Linker;
use crate::output::{Binding, CjsRef, Wrap};
use crate::symbols::{ImportBinding, Imported, ModuleSymbols};

impl<'a> Linker<'a> {
    /// `module`'s exports, re-exports and imports by name (built on first use: a module can have
    /// hundreds of thousands of exports, and every namespace getter looks one up).
    pub(crate) fn index_of(&mut self, module: ModuleId) -> Arc<SymbolIndex> {
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

    /// What `imported` of the module behind `module`'s record `record` refers to.
    fn resolve_record<'n>(
        &mut self,
        module: ModuleId,
        record: u32,
        imported: &'n Imported,
        stack: &mut Vec<(ModuleId, &'n str)>,
    ) -> Binding
    where
        'a: 'n,
    {
        match self.edge_target(module, record) {
            Some(&EdgeTarget::Module(target)) if self.wrap[target.index()] == Wrap::External => {
                match self.copies[target.index()].clone() {
                    Some(url) => Binding::External(url, imported.clone()),
                    None => Binding::Unresolved,
                }
            }
            Some(&EdgeTarget::Module(target)) => match imported {
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
            Some(EdgeTarget::External(path)) => Binding::External(path.clone(), imported.clone()),
            _ => Binding::Unresolved,
        }
    }

    /// What export `name` of `module` refers to, following re-exports and `export *`. `stack`:
    /// the (module, name) pairs being resolved, to cut cycles (names borrowed, not copied: this
    /// runs hundreds of thousands of times per link).
    pub(crate) fn resolve_export<'n>(
        &mut self,
        module: ModuleId,
        name: &'n str,
        stack: &mut Vec<(ModuleId, &'n str)>,
    ) -> Binding
    where
        'a: 'n,
    {
        if self.wrap[module.index()] == Wrap::Cjs {
            return Binding::CjsProperty(CjsRef { module, node_mode: true }, name.to_string());
        }
        // The common miss of an `export *` search: a module without `export *` that does not
        // have the name.
        let symbols = self.symbols[module.index()];
        if symbols.star_exports.is_empty() {
            let index = self.index_of(module);
            if !index.local_exports.contains_key(name) && !index.reexports.contains_key(name) {
                return Binding::Missing;
            }
        }
        // Results of top-level resolutions are final (no cycle cut them short): reuse them.
        // (Caching results below the top level too, when no cycle was cut, saves nothing
        // measurable: most are asked for once.)
        if let Some(binding) = self.resolved[module.index()].get(name) {
            return binding.clone();
        }
        if stack.iter().any(|&(m, n)| m == module && n == name) {
            return Binding::Missing;
        }
        let top_level = stack.is_empty();
        stack.push((module, name));
        let index = self.index_of(module);
        let result = if let Some(&i) = index.local_exports.get(name) {
            let local = &symbols.local_exports[i].1;
            match index.imports.get(local.as_str()).map(|&i| &symbols.imports[i]) {
                Some(import) => self.resolve_record(module, import.record, &import.imported, stack),
                None => Binding::Local(module, local.as_str().into()),
            }
        } else if let Some(re) = index.reexports.get(name).map(|&i| &symbols.reexports[i]) {
            self.resolve_record(module, re.record, &re.imported, stack)
        } else if name == "default" {
            Binding::Missing
        } else {
            let mut found = BTreeSet::new();
            let mut dynamic = None;
            for &record in &symbols.star_exports {
                match self.edge_target(module, record) {
                    Some(&EdgeTarget::Module(target)) if self.wrap[target.index()] == Wrap::Cjs => {
                        let cjs = CjsRef { module: target, node_mode: self.node_mode[module.index()] };
                        dynamic.get_or_insert(Binding::CjsProperty(cjs, name.to_string()));
                    }
                    Some(&EdgeTarget::Module(target)) => match self.resolve_export(target, name, stack) {
                        Binding::Missing | Binding::Unresolved => {}
                        binding => {
                            found.insert(binding);
                        }
                    },
                    Some(EdgeTarget::External(path)) => {
                        dynamic.get_or_insert(Binding::External(path.clone(), Imported::Name(name.to_string())));
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
        if top_level {
            self.resolved[module.index()].insert(name.to_string(), result.clone());
        }
        result
    }

    /// Every export name of a scope-hoisted module (own, re-exported and through `export *`,
    /// ambiguous names excluded), sorted as a namespace object's keys are.
    pub(crate) fn export_names(&mut self, module: ModuleId, visiting: &mut Vec<ModuleId>) -> Arc<[&'a str]> {
        if let Some(names) = self.export_names_cache.get(&module) {
            return names.clone();
        }
        if visiting.contains(&module) {
            self.cycle_cuts += 1;
            return Arc::default();
        }
        let cuts = self.cycle_cuts;
        visiting.push(module);
        let symbols: &'a ModuleSymbols = self.symbols[module.index()];
        let mut names: Vec<&'a str> = symbols.local_exports.iter().map(|(e, _)| e.as_str()).collect();
        names.extend(symbols.reexports.iter().map(|r| r.exported.as_str()));
        names.sort_unstable();
        names.dedup();
        let mut star_names: Vec<&'a str> = Vec::new();
        for &record in &symbols.star_exports {
            if let Some(&EdgeTarget::Module(target)) = self.edge_target(module, record)
                && self.wrap[target.index()] == Wrap::None
            {
                let below = self.export_names(target, visiting);
                star_names.extend(below.iter().filter(|n| **n != "default" && names.binary_search(n).is_err()));
            }
        }
        star_names.sort_unstable();
        star_names.dedup();
        star_names.retain(|name| {
            !matches!(self.resolve_export(module, name, &mut Vec::new()), Binding::Ambiguous | Binding::Missing)
        });
        visiting.pop();
        names.append(&mut star_names);
        names.sort_unstable();
        let names: Arc<[&'a str]> = names.into();
        // Final unless a cycle was cut below (see `cycle_cuts`).
        if visiting.is_empty() || self.cycle_cuts == cuts {
            self.export_names_cache.insert(module, names.clone());
        }
        names
    }

    /// Binds every import of every module, reporting missing and ambiguous ones.
    pub(crate) fn bind_all(&mut self) {
        for index in 0..self.graph.modules.len() {
            let module = ModuleId(index as u32);
            if self.wrap[index] == Wrap::Cjs {
                continue;
            }
            let symbols = self.symbols[index];
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
                        // The importer's nested names (but the import's own) must not capture the
                        // target's final name.
                        let avoid = self.avoid[target.index()].entry(local.to_string()).or_default();
                        // A module's entries are pushed while it is bound, so they are the last ones.
                        let mine = avoid.iter().rev().take_while(|(m, _)| *m == module);
                        if !mine.into_iter().any(|(_, except)| except.as_deref() == Some(&import.local)) {
                            avoid.push((module, Some(import.local.clone())));
                        }
                    }
                    _ => {}
                }
                self.bindings[index].push(binding);
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
                if let Some(&Binding::Namespace(target)) = self.import_binding_named(module, ns) {
                    for prop in props {
                        match self.resolve_export(target, prop, &mut Vec::new()) {
                            Binding::Local(m, local) => {
                                let avoid = self.avoid[m.index()].entry(local.to_string()).or_default();
                                if !avoid
                                    .iter()
                                    .rev()
                                    .take_while(|(m, _)| *m == module)
                                    .any(|(_, except)| except.is_none())
                                {
                                    avoid.push((module, None));
                                }
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
            for name in self.export_names(module, &mut Vec::new()).iter() {
                if let Binding::Namespace(inner) = self.resolve_export(module, name, &mut Vec::new())
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
            Some(&EdgeTarget::Module(t)) => t,
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
}

/// A module's symbols by name.
#[derive(Default)]
pub(crate) struct SymbolIndex {
    pub(crate) local_exports: FxHashMap<String, usize>,
    pub(crate) reexports: FxHashMap<String, usize>,
    pub(crate) imports: FxHashMap<String, usize>,
}

/// The export name closest to `name` by edit distance (case changes count as half), if one is
/// close enough to be a likely typo.
fn closest(name: &str, candidates: &[&str]) -> Option<String> {
    let lower = name.to_lowercase();
    candidates
        .iter()
        .copied()
        .filter(|&c| c != name)
        .map(|c| {
            let distance = strsim::damerau_levenshtein(&lower, &c.to_lowercase()) * 2
                + usize::from(c.to_lowercase() == lower && c != name);
            (distance, c)
        })
        .filter(|(distance, c)| *distance <= 2 * (1 + name.len().max(c.len()) / 4))
        .min()
        .map(|(_, c)| c.to_string())
}
