//! `module_symbols`: what the linker needs from one module's AST, without spans or oxc ids.

use std::collections::BTreeSet;
use std::sync::Arc;

use oxc::ast::ast::{
    ExportDefaultDeclarationKind, Expression, IdentifierReference, ImportDeclarationSpecifier, ModuleExportName,
    Statement,
};
use oxc::ast_visit::{Visit, walk};
use oxc::semantic::{Scoping, SymbolId};
use packem_db::syntax::identifier_from;
use packem_parse::{ModuleFormat, ModuleScan, Source, module_scan, parsed_module};
use rustc_hash::FxHashMap;

use crate::statements::StatementFacts;

/// What an import binding refers to in the imported module.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Imported {
    /// A named export (`default` included).
    Name(String),
    /// The whole namespace (`import * as ns`, `export * as ns from`).
    Namespace,
}

/// One `import` binding.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ImportBinding {
    /// The local name.
    pub local: String,
    /// Index of the import record (in `module_scan`/`module_summary` order).
    pub record: u32,
    /// What it imports.
    pub imported: Imported,
}

/// One `export … from` entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ReExport {
    /// The exported name.
    pub exported: String,
    /// Index of the import record.
    pub record: u32,
    /// What it re-exports.
    pub imported: Imported,
}

/// The symbol-level summary of one module: the linker's input. `Eq` and span-free, so a body edit
/// that declares no new name compares equal and linking is not re-run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ModuleSymbols {
    /// Module-scope bindings the module declares itself (imports excluded), sorted. Includes
    /// [`ModuleSymbols::default_local`].
    pub declared: Vec<String>,
    /// Import bindings, in source order.
    pub imports: Vec<ImportBinding>,
    /// `export`ed local bindings as (exported name, local name), in source order.
    pub local_exports: Vec<(String, String)>,
    /// `export … from` entries, in source order.
    pub reexports: Vec<ReExport>,
    /// Records of `export * from` (without `as`), in source order.
    pub star_exports: Vec<u32>,
    /// The variable created for `export default <expression>` (or an anonymous function/class).
    pub default_local: Option<String>,
    /// Names declared in any nested scope, sorted: a renamed top-level name must avoid them.
    pub nested: Vec<String>,
    /// Names referenced but declared nowhere (globals), sorted: no top-level name may take them.
    pub globals: Vec<String>,
    /// Namespace-import locals used other than as `ns.name` (the namespace object is needed).
    pub namespace_values: Vec<String>,
    /// For each namespace-import local, the property names read as `ns.name`, sorted.
    pub namespace_members: Vec<(String, Vec<String>)>,
    /// Per top-level statement (of the compiled program), what tree shaking needs. Empty for
    /// JSON and assets, which are kept whole.
    pub statements: Vec<StatementFacts>,
    /// `require()`/`import()` records no statement holds: followed whenever the module is included.
    pub loose_records: Vec<u32>,
    /// Whether the module calls `eval` directly: then none of its statements is dropped.
    pub direct_eval: bool,
    /// Whether the module has a `with` statement (a name inside it may be an object's property).
    pub with_statement: bool,
    /// Module-scope functions marked `/* #__NO_SIDE_EFFECTS__ */`, sorted: calls to them (from
    /// this module or an importer) are pure.
    pub no_side_effects: Vec<String>,
}

impl ModuleSymbols {
    /// The import binding with local name `local`.
    pub fn import(&self, local: &str) -> Option<&ImportBinding> {
        self.imports.iter().find(|i| i.local == local)
    }

    /// The module-scope name a statement fact's index stands for (see
    /// [`crate::StatementFacts::references`]).
    pub fn name_at(&self, index: u32) -> Option<&str> {
        let index = index as usize;
        match index.checked_sub(self.declared.len()) {
            None => self.declared.get(index).map(String::as_str),
            Some(import) => self.imports.get(import).map(|i| i.local.as_str()),
        }
    }
}

/// `file`'s symbols as `link` sees them: its [`SymbolsCell`]'s copy when the host made one
/// (the fact firewall, see `packem_parse`), else [`parsed_symbols`].
#[salsa::tracked(returns(ref))]
pub fn module_symbols(db: &dyn packem_db::Db, source: Source) -> Arc<ModuleSymbols> {
    match SymbolsCells::try_get(db).and_then(|cells| cells.cells(db).get(&source).copied()) {
        Some(cell) => cell.symbols(db).clone(),
        None => match stored_symbols(db, source) {
            Some(symbols) => symbols.clone(),
            None => parsed_symbols(db, source).clone(),
        },
    }
}

/// `source`'s symbols as an earlier process stored them, when the host opened a persistent
/// cache that has them (see [`packem_db::stored`]): equal to [`parsed_symbols`], whose every
/// input `packem_parse::fact_key` covers.
#[salsa::tracked(returns(ref))]
pub fn stored_symbols(db: &dyn packem_db::Db, source: Source) -> Option<Arc<ModuleSymbols>> {
    packem_db::stored::StoredResults::try_get(db)?;
    let key = (*packem_parse::fact_key(db, source))?;
    let bytes = packem_db::stored::stored(db, packem_db::stored::StoredKind::Symbols, key)?;
    match postcard::from_bytes::<ModuleSymbols>(&bytes) {
        Ok(symbols) => Some(Arc::new(symbols)),
        Err(error) => {
            tracing::debug!(%error, path = %source.file(db).path(db), "stored symbols do not decode");
            None
        }
    }
}

/// `symbols` encoded for the persistent cache (what [`stored_symbols`] decodes).
pub fn encode_symbols(symbols: &ModuleSymbols) -> Vec<u8> {
    postcard::to_allocvec(symbols).unwrap_or_default()
}

/// The host's copy of one file's [`parsed_symbols`], set with MEDIUM durability and only when
/// they differ (like `packem_parse::ParseCell`).
#[salsa::input(debug)]
pub struct SymbolsCell {
    /// Equal to `parsed_symbols(file)` once synced.
    #[returns(ref)]
    pub symbols: Arc<ModuleSymbols>,
}

/// Every [`SymbolsCell`] the host made, by file.
#[salsa::input(singleton, debug)]
pub struct SymbolsCells {
    /// The cells.
    #[returns(ref)]
    pub cells: Arc<FxHashMap<Source, SymbolsCell>>,
}

/// The symbol summary of `file` (empty for JSON and CommonJS internals are kept as `nested`).
#[salsa::tracked(returns(ref))]
pub fn parsed_symbols(db: &dyn packem_db::Db, source: Source) -> Arc<ModuleSymbols> {
    let file = source.file(db);
    let _span = tracing::debug_span!("parsed_symbols", path = %file.path(db)).entered();
    let scan = module_scan(db, source);
    if matches!(scan.format, ModuleFormat::Json | ModuleFormat::Asset) {
        return Arc::new(value_module_symbols(file.path(db), scan));
    }
    let parsed = parsed_module(db, source);
    let program = parsed.program();
    let scoping = parsed.scoping();
    // Import records are matched to declarations by the span of their specifier string.
    let record_at: FxHashMap<(u32, u32), u32> =
        scan.records.iter().enumerate().filter(|(_, r)| r.kind.is_static()).map(|(i, r)| (r.span, i as u32)).collect();
    let record_of = |span: oxc::span::Span| record_at.get(&(span.start, span.end)).copied();

    let mut out = ModuleSymbols::default();
    for statement in &program.body {
        match statement {
            Statement::ImportDeclaration(decl) => {
                let Some(record) = record_of(decl.source.span) else {
                    continue;
                };
                for specifier in decl.specifiers.iter().flatten() {
                    let (local, imported) = match specifier {
                        ImportDeclarationSpecifier::ImportSpecifier(s) => {
                            (s.local.name.to_string(), Imported::Name(export_name(&s.imported)))
                        }
                        ImportDeclarationSpecifier::ImportDefaultSpecifier(s) => {
                            (s.local.name.to_string(), Imported::Name("default".into()))
                        }
                        ImportDeclarationSpecifier::ImportNamespaceSpecifier(s) => {
                            (s.local.name.to_string(), Imported::Namespace)
                        }
                    };
                    // TypeScript type-only bindings have no runtime symbol.
                    if scoping
                        .get_root_binding(local.as_str().into())
                        .is_some_and(|id| !scoping.symbol_flags(id).is_value())
                    {
                        continue;
                    }
                    out.imports.push(ImportBinding { local, record, imported });
                }
            }
            Statement::ExportFromDeclaration(decl) => {
                let Some(record) = record_of(decl.source.span) else {
                    continue;
                };
                if decl.export_kind.is_type() {
                    continue;
                }
                for s in &decl.specifiers {
                    if s.export_kind.is_type() {
                        continue;
                    }
                    out.reexports.push(ReExport {
                        exported: export_name(&s.exported),
                        record,
                        imported: Imported::Name(export_name(&s.local)),
                    });
                }
            }
            Statement::ExportDeclaration(decl) => {
                if decl.declaration.is_type() {
                    continue;
                }
                for id in declaration_names(&decl.declaration) {
                    out.local_exports.push((id.clone(), id));
                }
            }
            Statement::ExportNamedDeclaration(decl) => {
                if decl.export_kind.is_type() {
                    continue;
                }
                for s in &decl.specifiers {
                    let local = export_name(&s.local);
                    let is_value = scoping
                        .get_root_binding(local.as_str().into())
                        .is_none_or(|id| scoping.symbol_flags(id).is_value());
                    if !s.export_kind.is_type() && is_value {
                        out.local_exports.push((export_name(&s.exported), local));
                    }
                }
            }
            Statement::ExportAllDeclaration(decl) => {
                let Some(record) = record_of(decl.source.span) else {
                    continue;
                };
                match &decl.exported {
                    Some(name) => out.reexports.push(ReExport {
                        exported: export_name(name),
                        record,
                        imported: Imported::Namespace,
                    }),
                    None => out.star_exports.push(record),
                }
            }
            Statement::ExportDefaultDeclaration(decl) => {
                let named = match &decl.declaration {
                    ExportDefaultDeclarationKind::FunctionDeclaration(f) => f.id.as_ref().map(|id| id.name.to_string()),
                    ExportDefaultDeclarationKind::ClassDeclaration(c) => c.id.as_ref().map(|id| id.name.to_string()),
                    ExportDefaultDeclarationKind::TSInterfaceDeclaration(_) => continue,
                    _ => None,
                };
                let local = named.unwrap_or_else(|| {
                    let name = default_name(file.path(db), scoping);
                    out.default_local = Some(name.clone());
                    name
                });
                out.local_exports.push(("default".into(), local));
            }
            _ => {}
        }
    }

    let root = scoping.root_scope_id();
    let import_locals: BTreeSet<&str> = out.imports.iter().map(|i| i.local.as_str()).collect();
    let mut declared: BTreeSet<String> = scoping
        .iter_bindings_in(root)
        .filter(|&id| scoping.symbol_flags(id).is_value())
        .map(|id| scoping.symbol_name(id).to_string())
        .filter(|name| !import_locals.contains(name.as_str()))
        .collect();
    declared.extend(out.default_local.clone());
    out.declared = declared.into_iter().collect();

    // Statement facts name module-scope bindings by index: declared names, then imports.
    let mut names: FxHashMap<&str, u32> = FxHashMap::default();
    for (i, name) in out.declared.iter().enumerate() {
        names.insert(name, i as u32);
    }
    for (j, import) in out.imports.iter().enumerate() {
        names.entry(&import.local).or_insert((out.declared.len() + j) as u32);
    }
    let dynamic_records: FxHashMap<(u32, u32), u32> =
        scan.records.iter().enumerate().filter(|(_, r)| !r.kind.is_static()).map(|(i, r)| (r.span, i as u32)).collect();
    let statements = parsed.with_stack(|| {
        crate::statements::statement_facts(
            program,
            scoping,
            &dynamic_records,
            &names,
            out.declared.len() as u32,
            out.default_local.as_deref(),
        )
    });
    out.statements = statements.facts;
    out.loose_records = statements.loose;
    out.direct_eval = statements.direct_eval;
    out.with_statement = statements.with_statement;
    out.no_side_effects = statements.no_side_effects;

    let mut nested = BTreeSet::new();
    for (scope, bindings) in scoping.iter_bindings() {
        if scope != root {
            nested.extend(bindings.keys().map(|name| name.to_string()));
        }
    }
    out.nested = nested.into_iter().collect();
    let mut globals: Vec<String> = scoping.root_unresolved_references().keys().map(|k| k.to_string()).collect();
    globals.sort();
    out.globals = globals;

    let namespaces: FxHashMap<SymbolId, String> = out
        .imports
        .iter()
        .filter(|i| i.imported == Imported::Namespace)
        .filter_map(|i| scoping.get_root_binding(i.local.as_str().into()).map(|id| (id, i.local.clone())))
        .collect();
    if !namespaces.is_empty() {
        let mut finder = NamespaceValueUses {
            scoping,
            namespaces: &namespaces,
            found: BTreeSet::new(),
            members: std::collections::BTreeMap::new(),
        };
        parsed.with_stack(|| finder.visit_program(program));
        out.namespace_values = finder.found.into_iter().collect();
        out.namespace_members =
            finder.members.into_iter().map(|(ns, props)| (ns, props.into_iter().collect())).collect();
    }
    Arc::new(out)
}

/// The symbols of a JSON or asset module as it is rendered when scope-hoisted: a variable per
/// named export (each top-level JSON key) and `<stem>_default` for the value; see
/// [`value_module_locals`].
fn value_module_symbols(path: &camino::Utf8Path, scan: &ModuleScan) -> ModuleSymbols {
    let (default_local, keys) = value_module_locals(path, scan);
    let mut out = ModuleSymbols::default();
    if let Some(default_local) = default_local {
        out.local_exports.push(("default".into(), default_local.clone()));
        out.default_local = Some(default_local);
    }
    for (key, local) in keys {
        out.local_exports.push((key, local));
    }
    let mut declared: Vec<String> = out.local_exports.iter().map(|(_, l)| l.clone()).collect();
    declared.sort();
    declared.dedup();
    out.declared = declared;
    out
}

/// The variables a scope-hoisted JSON or asset module declares: `<stem>_default` for its value
/// (`None` when it has no default export), and one per top-level JSON key as (key, variable),
/// in the order `JSON.parse` gives them (a duplicate key at its first place).
pub fn value_module_locals(path: &camino::Utf8Path, scan: &ModuleScan) -> (Option<String>, Vec<(String, String)>) {
    let base = identifier_from(packem_db::files::module_stem(path).as_deref().unwrap_or("module"));
    let has_default = scan.format == ModuleFormat::Json || scan.exports.iter().any(|e| e.name == "default");
    let default_local = has_default.then(|| format!("{base}_default"));
    let mut taken: BTreeSet<String> = default_local.iter().cloned().collect();
    let mut keys = Vec::new();
    if scan.format == ModuleFormat::Json {
        for (i, export) in scan.exports.iter().enumerate() {
            // A duplicate key keeps its first place (its value is the last one's, as
            // `JSON.parse` has it).
            if scan.exports[..i].iter().any(|earlier| earlier.name == export.name) {
                continue;
            }
            let mut local = identifier_from(&export.name);
            if packem_db::syntax::is_keyword(&local) {
                local.insert(0, '_');
            }
            while !taken.insert(local.clone()) {
                local.push('$');
            }
            keys.push((export.name.clone(), local));
        }
    }
    (default_local, keys)
}

/// The span of the name an import or re-export binds as `local`, in the declaration whose
/// specifier string is at `record_span` (for error messages; re-parses nothing when the AST is
/// in memory, and is only called on error paths).
pub(crate) fn imported_name_span(
    db: &dyn packem_db::Db,
    source: Source,
    record_span: (u32, u32),
    local: &str,
) -> Option<(u32, u32)> {
    use oxc::span::GetSpan;
    let parsed = parsed_module(db, source);
    let pair = |span: oxc::span::Span| (span.start, span.end);
    for statement in &parsed.program().body {
        match statement {
            Statement::ImportDeclaration(decl) if pair(decl.source.span) == record_span => {
                for specifier in decl.specifiers.iter().flatten() {
                    match specifier {
                        ImportDeclarationSpecifier::ImportSpecifier(s) if s.local.name == local => {
                            return Some(pair(s.imported.span()));
                        }
                        ImportDeclarationSpecifier::ImportDefaultSpecifier(s) if s.local.name == local => {
                            return Some(pair(s.local.span));
                        }
                        _ => {}
                    }
                }
            }
            Statement::ExportFromDeclaration(decl) if pair(decl.source.span) == record_span => {
                for s in &decl.specifiers {
                    if export_name(&s.exported) == local {
                        return Some(pair(s.local.span()));
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// A `<file stem>_default` name free in the module.
fn default_name(path: &camino::Utf8Path, scoping: &Scoping) -> String {
    let stem = packem_db::files::module_stem(path);
    let mut name = format!("{}_default", identifier_from(stem.as_deref().unwrap_or("module")));
    while scoping.symbol_names().any(|n| n == name) {
        name.push('$');
    }
    name
}

/// The string value of an export/import name.
pub fn export_name(name: &ModuleExportName) -> String {
    name.name().to_string()
}

/// The names a declaration binds (variables, functions, classes; TypeScript enums/namespaces with values).
fn declaration_names(declaration: &oxc::ast::ast::Declaration) -> Vec<String> {
    use oxc::ast::ast::Declaration;
    match declaration {
        Declaration::VariableDeclaration(v) => {
            v.declarations.iter().flat_map(|d| d.id.get_binding_identifiers()).map(|id| id.name.to_string()).collect()
        }
        Declaration::FunctionDeclaration(f) => f.id.iter().map(|id| id.name.to_string()).collect(),
        Declaration::ClassDeclaration(c) => c.id.iter().map(|id| id.name.to_string()).collect(),
        Declaration::TSEnumDeclaration(e) => vec![e.id.name.to_string()],
        Declaration::TSNamespaceDeclaration(m) if !m.declare => vec![m.id.name.to_string()],
        _ => vec![],
    }
}

/// Finds namespace imports used other than as `ns.name` / `ns["name"]`.
struct NamespaceValueUses<'s> {
    scoping: &'s Scoping,
    namespaces: &'s FxHashMap<SymbolId, String>,
    found: BTreeSet<String>,
    members: std::collections::BTreeMap<String, BTreeSet<String>>,
}

impl NamespaceValueUses<'_> {
    fn namespace_of(&self, ident: &IdentifierReference) -> Option<&String> {
        let reference = self.scoping.get_reference(ident.reference_id.get()?);
        if !reference.is_value() {
            return None;
        }
        self.namespaces.get(&reference.symbol_id()?)
    }
}

impl<'a> Visit<'a> for NamespaceValueUses<'_> {
    fn visit_expression(&mut self, expr: &Expression<'a>) {
        let object = match expr {
            Expression::StaticMemberExpression(m) => Some(&m.object),
            Expression::ComputedMemberExpression(m) if m.static_property_name().is_some() => Some(&m.object),
            _ => None,
        };
        if let Some(Expression::Identifier(ident)) = object
            && let Some(ns) = self.namespace_of(ident).cloned()
        {
            let property = match expr {
                Expression::StaticMemberExpression(m) => m.property.name.to_string(),
                Expression::ComputedMemberExpression(m) => {
                    m.static_property_name().map(|n| n.to_string()).unwrap_or_default()
                }
                _ => unreachable!("matched above"),
            };
            self.members.entry(ns).or_default().insert(property);
            if let Expression::ComputedMemberExpression(m) = expr {
                self.visit_expression(&m.expression);
            }
            return;
        }
        walk::walk_expression(self, expr);
    }

    fn visit_identifier_reference(&mut self, ident: &IdentifierReference<'a>) {
        if let Some(name) = self.namespace_of(ident) {
            self.found.insert(name.clone());
        }
    }
}
