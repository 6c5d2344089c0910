//! Step 3, naming: the final name of every top-level binding and of the generated variables.

use packem_db::syntax::{KEYWORDS, identifier_from, is_identifier};
use packem_graph::ModuleId;
use rustc_hash::{FxHashMap, FxHashSet};

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
pub(crate) fn reserved_names(symbols: &[&ModuleSymbols], wrap: &[Wrap]) -> (FxHashSet<String>, FxHashSet<String>) {
    let mut reserved: FxHashSet<String> = KEYWORDS.iter().chain(RESERVED).map(|s| s.to_string()).collect();
    reserved.extend(crate::runtime::HELPER_NAMES.iter().map(|s| s.to_string()));
    let mut all_nested = FxHashSet::default();
    // Most names recur across modules: copied once each.
    let add = |set: &mut FxHashSet<String>, names: &[String]| {
        for name in names {
            if !set.contains(name) {
                set.insert(name.clone());
            }
        }
    };
    for (i, s) in symbols.iter().enumerate() {
        add(&mut reserved, &s.globals);
        add(&mut all_nested, &s.nested);
        if wrap[i] == Wrap::Cjs {
            add(&mut all_nested, &s.declared);
        }
    }
    (reserved, all_nested)
}

impl Linker<'_> {
    /// Claims a final name for `(module, local)`.
    fn claim(&mut self, module: ModuleId, local: &str, exempt_original: bool) -> String {
        let nested = &self.symbols[module.index()].nested;
        let avoid = self.avoid[module.index()].get(local);
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
        let first_suffix = self.suffix_hint(local);
        loop {
            // Most names are declared in no nested scope at all: one lookup settles both checks.
            let free = !self.taken.contains(&candidate)
                && !self.reserved.contains(&candidate)
                && !self.is_compress_builtin(&candidate)
                && (!self.all_nested.contains(&candidate)
                    || (!captured(&candidate)
                        && ((exempt_original && candidate == local) || nested.binary_search(&candidate).is_err())));
            if free {
                break;
            }
            n = if n == 0 { first_suffix } else { n + 1 };
            candidate = format!("{local}${n}");
        }
        self.note_suffix(local, first_suffix, n);
        self.taken.insert(candidate.clone());
        self.claimed.push(candidate.clone());
        self.finals[module.index()].insert(local.to_string(), candidate.clone());
        candidate
    }

    /// Claims a synthetic name (wrapper, namespace object, import variable): it must avoid every
    /// nested name in the graph, since it may be referenced from any scope.
    fn claim_synthetic(&mut self, base: &str) -> String {
        let mut candidate = base.to_string();
        let mut n = 0;
        let first_suffix = self.suffix_hint(base);
        while self.taken.contains(&candidate)
            || self.reserved.contains(&candidate)
            || self.is_compress_builtin(&candidate)
            || self.all_nested.contains(&candidate)
        {
            n = if n == 0 { first_suffix } else { n + 1 };
            candidate = format!("{base}${n}");
        }
        self.note_suffix(base, first_suffix, n);
        self.taken.insert(candidate.clone());
        self.claimed.push(candidate.clone());
        candidate
    }

    /// The first `$n` suffix worth trying for `base`: every `base$k` below it is taken (names
    /// recur: three.js×10 declares each name ten times, and trying `$1`, `$2`, … each time
    /// would cost quadratic time).
    fn suffix_hint(&self, base: &str) -> u32 {
        self.suffix_hints.get(base).copied().unwrap_or(1)
    }

    /// After `base$n` was claimed having started at `first`: with no gap before it, the hint
    /// moves past it (taken names stay taken, so the hint stays true).
    fn note_suffix(&mut self, base: &str, first: u32, n: u32) {
        if n != 0 && n == first {
            self.suffix_hints.insert(base.to_string(), n + 1);
        }
    }

    /// The base of a module's generated names: its file stem (its directory's name for `index`).
    pub(crate) fn stem(&self, module: ModuleId) -> String {
        let path = &self.graph.module(module).path;
        let mut stem = packem_db::files::module_stem(path).as_deref().unwrap_or("module").to_string();
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
            let symbols = self.symbols[index];
            for local in &symbols.declared {
                self.claim(module, local, true);
            }
            // Imports bound to variables of their own (CommonJS and external imports).
            for (i, import) in symbols.imports.iter().enumerate() {
                match self.bindings[index].get(i) {
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

/// The ECMAScript globals oxc's compressor assumes to be the built-ins when it meets them as
/// free names (`new Array(3)` → `[,,,]`, `Math.max(1, 2)` → `2`). With `--minify-syntax` no
/// top-level binding is named after one: a module reading another's top-level `Array` sees a
/// free name once its imports are gone, and must not have it folded as the built-in.
const COMPRESS_BUILTINS: &[&str] = &[
    "AggregateError",
    "Array",
    "ArrayBuffer",
    "Atomics",
    "BigInt",
    "BigInt64Array",
    "BigUint64Array",
    "Boolean",
    "DataView",
    "Date",
    "Error",
    "EvalError",
    "FinalizationRegistry",
    "Float16Array",
    "Float32Array",
    "Float64Array",
    "Function",
    "Int16Array",
    "Int32Array",
    "Int8Array",
    "Intl",
    "Iterator",
    "JSON",
    "Map",
    "Math",
    "Number",
    "Object",
    "Promise",
    "Proxy",
    "RangeError",
    "ReferenceError",
    "Reflect",
    "RegExp",
    "Set",
    "SharedArrayBuffer",
    "String",
    "Symbol",
    "SyntaxError",
    "TypeError",
    "URIError",
    "Uint16Array",
    "Uint32Array",
    "Uint8Array",
    "Uint8ClampedArray",
    "WeakMap",
    "WeakRef",
    "WeakSet",
    "console",
    "decodeURI",
    "decodeURIComponent",
    "encodeURI",
    "encodeURIComponent",
    "escape",
    "isFinite",
    "isNaN",
    "parseFloat",
    "parseInt",
    "unescape",
];

impl Linker<'_> {
    /// With `--minify-syntax`: whether `name` may not name a top-level binding (see
    /// [`COMPRESS_BUILTINS`]).
    pub(crate) fn is_compress_builtin(&self, name: &str) -> bool {
        self.minify.syntax && COMPRESS_BUILTINS.contains(&name)
    }

    /// `--minify-identifiers`: every name [`Linker::assign_names`] claimed gets a short one
    /// (oxc's `base54` sequence), the most referenced first, ties in claim order (graph order),
    /// so the result is deterministic. Counts come from the statement facts of the statements
    /// tree shaking kept (how many statements declare or reference each binding), not from the
    /// code: a body edit that keeps a module's facts relinks nothing and renames nothing.
    ///
    /// A short name avoids keywords, the reserved names and every global the graph reads, and
    /// the nested names that the per-module mangler leaves alone (in modules with a direct
    /// `eval`, and every nested name with `--keep-names`): the others are renamed by the
    /// mangler, which keeps clear of the top-level names each module reads. The names a module
    /// with a direct `eval` or a `with` statement declares or imports keep their long names
    /// (the `eval`'d code may name them, the `with` object may have a property of a short name).
    pub(crate) fn minify_names(&mut self) {
        let n = self.graph.modules.len();
        let mut counts: FxHashMap<String, u32> = FxHashMap::default();
        let mut bump = |name: &str| {
            if let Some(count) = counts.get_mut(name) {
                *count += 1;
            } else {
                counts.insert(name.to_string(), 1);
            }
        };
        let mut unmangled: FxHashSet<&str> = FxHashSet::default();
        // Names a direct `eval` may read by name keep theirs.
        let mut pinned: FxHashSet<String> = FxHashSet::default();
        for index in 0..n {
            let module = ModuleId(index as u32);
            let symbols = self.symbols[index];
            let plain = symbols.direct_eval || symbols.with_statement;
            if plain || self.keep_names {
                unmangled.extend(symbols.nested.iter().map(String::as_str));
                if self.wrap[index] == Wrap::Cjs {
                    unmangled.extend(symbols.declared.iter().map(String::as_str));
                }
            }
            if plain {
                // What its rewritten `require()`/`import()` calls name, too.
                for edge in &self.graph.module(module).edges {
                    if let packem_graph::EdgeTarget::Module(target) = edge.target {
                        pinned.extend(self.wrapper_names.get(&target).cloned());
                        pinned.extend(self.init_names.get(&target).cloned());
                        pinned.extend(self.namespace_names.get(&target).cloned());
                        pinned.extend(self.import_vars.get(&(target, true)).cloned());
                        pinned.extend(self.import_vars.get(&(target, false)).cloned());
                    }
                }
            }
            if plain && self.wrap[index] != Wrap::Cjs {
                pinned.extend(symbols.declared.iter().filter_map(|local| self.final_name(module, local).cloned()));
                for (i, import) in symbols.imports.iter().enumerate() {
                    let name = match self.bindings[index].get(i) {
                        Some(Binding::CjsProperty(..) | Binding::CjsNamespace(_)) => {
                            self.final_name(module, &import.local).cloned()
                        }
                        Some(binding) => self.value_of(binding).and_then(|v| v.name().map(str::to_string)),
                        None => None,
                    };
                    pinned.extend(name);
                }
            }
            if self.wrap[index] == Wrap::Cjs || !self.is_live(module) {
                continue;
            }
            let included = self.shaken.as_ref().map(|s| &s.included[index]).filter(|i| !i.is_empty());
            let declared = symbols.declared.len();
            for (statement, facts) in symbols.statements.iter().enumerate() {
                if included.is_some_and(|included| !included[statement]) {
                    continue;
                }
                for &name in facts.declares.iter().chain(&facts.references) {
                    let name = name as usize;
                    let target = match name.checked_sub(declared) {
                        None => self.final_name(module, &symbols.declared[name]).cloned(),
                        Some(import) => match self.bindings[index].get(import) {
                            Some(Binding::CjsProperty(..) | Binding::CjsNamespace(_)) => {
                                self.final_name(module, &symbols.imports[import].local).cloned()
                            }
                            Some(binding) => self.value_of(binding).and_then(|v| v.name().map(str::to_string)),
                            None => None,
                        },
                    };
                    if let Some(target) = target {
                        bump(&target);
                    }
                }
            }
        }
        let mut order: Vec<(u32, usize)> =
            self.claimed.iter().enumerate().map(|(i, name)| (counts.get(name).copied().unwrap_or(0), i)).collect();
        order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut short: FxHashMap<String, String> = FxHashMap::default();
        let mut next = 0u32;
        for (_, i) in order {
            if pinned.contains(&self.claimed[i]) {
                continue;
            }
            let name = loop {
                let candidate = oxc::mangler::base54(next);
                next += 1;
                let candidate = candidate.as_str();
                if !KEYWORDS.contains(&candidate)
                    && !oxc::syntax::keyword::is_reserved_keyword_or_global_object(candidate)
                    && !self.reserved.contains(candidate)
                    && !self.is_compress_builtin(candidate)
                    && !unmangled.contains(candidate)
                    && !pinned.contains(candidate)
                {
                    break candidate.to_string();
                }
            };
            short.insert(self.claimed[i].clone(), name);
        }
        let rename = |name: &mut String| {
            if let Some(s) = short.get(name.as_str()) {
                name.clone_from(s);
            }
        };
        for finals in &mut self.finals {
            finals.values_mut().for_each(rename);
        }
        self.wrapper_names.values_mut().for_each(rename);
        self.namespace_names.values_mut().for_each(rename);
        self.init_names.values_mut().for_each(rename);
        self.import_vars.values_mut().for_each(rename);
        self.external_names.values_mut().for_each(rename);
        // Names claimed from here on (externals the entry re-exports) must avoid these.
        self.taken = short.into_values().chain(pinned).collect();
        self.claimed.clear();
    }
}
