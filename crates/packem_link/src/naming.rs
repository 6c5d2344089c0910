//! Step 3, naming: the final name of every top-level binding and of the generated variables.

use std::sync::Arc;

use packem_db::syntax::{KEYWORDS, identifier_from, is_identifier};
use packem_graph::ModuleId;
use rustc_hash::FxHashSet;

use crate::linker::Linker;
use crate::output::{Binding, Wrap};
use crate::symbols::{Imported, ModuleSymbols};

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

/// Names no generated or renamed binding may take: keywords, [`RESERVED`], the runtime helpers
/// and every global a module references; and every nested-scope name in the graph (which
/// generated names, readable from any scope, must avoid).
pub(crate) fn reserved_names(symbols: &[Arc<ModuleSymbols>], wrap: &[Wrap]) -> (FxHashSet<String>, FxHashSet<String>) {
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
    (reserved, all_nested)
}

impl Linker<'_> {
    /// Claims a final name for `(module, local)`.
    fn claim(&mut self, module: ModuleId, local: &str, exempt_original: bool) -> String {
        let nested = &self.symbols[module.index()].nested;
        let avoid = self.avoid.get(&(module, local.to_string()));
        // Whether an importer's nested scope declares `candidate` (other than its exempt name).
        let captured = |candidate: &String| {
            avoid.is_some_and(|importers| {
                importers.iter().any(|(importer, except)| {
                    except.as_ref() != Some(candidate)
                        && self.symbols[importer.index()].nested.binary_search(candidate).is_ok()
                })
            })
        };
        let mut candidate = local.to_string();
        let mut n = 0;
        loop {
            let free = !self.taken.contains(&candidate)
                && !self.reserved.contains(&candidate)
                && !captured(&candidate)
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

    /// The base of a module's generated names: its file stem (its directory's name for `index`).
    pub(crate) fn stem(&self, module: ModuleId) -> String {
        let path = &self.graph.module(module).path;
        let mut stem = path.file_stem().unwrap_or("module").to_string();
        if stem == "index"
            && let Some(dir) = path.parent().and_then(|p| p.file_name())
        {
            stem = dir.to_string();
        }
        identifier_from(&stem)
    }

    /// Final names. First come, first served, in graph order; every name is checked
    /// against globals, runtime helpers and the nested scopes where it is referenced.
    pub(crate) fn assign_names(&mut self) {
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

    /// Names the variable an external import binds, once per (path, name).
    pub(crate) fn ensure_external(&mut self, path: &str, imported: &Imported) {
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
}

/// `path` as the base of a variable name (`import_react_dom`).
fn sanitize(path: &str) -> String {
    let s: String = path.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    s.trim_matches('_').to_string()
}
