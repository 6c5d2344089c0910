//! One walk over a module's AST that collects its imports, exports and format.

use oxc::ast::ast::*;
use oxc::ast_visit::{Visit, walk};
use oxc::semantic::Scoping;
use oxc::span::{GetSpan, Span};
use oxc::syntax::scope::ScopeFlags;

use crate::nesting::guard;

/// Everything the bundler needs to know about one module's imports and exports, with spans (byte
/// offsets into the file's text). Produced by [`crate::module_scan`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ModuleScan {
    /// How the module imports and exports.
    pub format: ModuleFormat,
    /// Import records, in source order.
    pub records: Vec<ImportRecord>,
    /// Exported names in source order, each with the span of the exported name.
    pub exports: Vec<ExportName>,
    /// Whether the module uses `await` (or `for await`, `await using`) outside any function.
    pub has_top_level_await: bool,
    /// `import(x)` and `require(x)` calls whose specifier has no static directory prefix: they
    /// stay run-time loads (a warning), with the span of the argument.
    pub unbundled: Vec<(u32, u32)>,
}

/// The specifier prefix of a context record: `import(`./locale/${lang}.json`)` is recorded as
/// `packem:context:./locale/*.json` (see `packem_db::context`).
pub const CONTEXT_PREFIX: &str = "packem:context:";

/// One dependency of a module: a specifier and how it is loaded.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImportRecord {
    /// The specifier as written (string value, escapes decoded).
    pub specifier: String,
    /// How the dependency is loaded.
    pub kind: ImportKind,
    /// Byte range of the specifier string literal, quotes included.
    pub span: (u32, u32),
    /// Import attributes (`with { type: "json" }`), sorted.
    pub attributes: Vec<(String, String)>,
    /// Whether the `require()`/`import()` is lexically inside a `try { }` block of the same function
    /// (esbuild turns an unresolved one into a warning).
    pub in_try_block: bool,
}

/// How a dependency is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum ImportKind {
    /// `import … from 'x'` and `import 'x'`.
    Static,
    /// `export { … } from 'x'`.
    ReExport,
    /// `export * from 'x'` and `export * as ns from 'x'`.
    ExportStar,
    /// `import('x')` with a literal specifier.
    DynamicImport,
    /// `require('x')` with a free `require`, and TypeScript's `import x = require('x')`.
    Require,
    /// `require.resolve('x')`.
    RequireResolve,
    /// `new URL('./x', import.meta.url)`.
    NewUrl,
}

impl ImportKind {
    /// The kind as esbuild's metafile spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Static | ImportKind::ReExport | ImportKind::ExportStar => "import-statement",
            ImportKind::DynamicImport => "dynamic-import",
            ImportKind::Require => "require-call",
            ImportKind::RequireResolve => "require-resolve",
            ImportKind::NewUrl => "url-token",
        }
    }

    /// Whether the dependency is part of the module's static ESM graph (linked, not loaded at run time).
    pub fn is_static(self) -> bool {
        matches!(self, ImportKind::Static | ImportKind::ReExport | ImportKind::ExportStar)
    }
}

/// How a module imports and exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum ModuleFormat {
    /// ECMAScript module: `import`/`export` declarations, `import.meta`, top-level `await`, or `.mjs`/`.mts`.
    Esm,
    /// CommonJS: a free `require`, `module` or `exports` (and no ESM syntax), or `.cjs`/`.cts`.
    CommonJs,
    /// No import/export/require/module/exports use.
    None,
    /// A `.json` file (the `json` loader).
    Json,
    /// A file under a non-code loader (`text`, `base64`, `dataurl`, `binary`, `file`, `copy`,
    /// `empty`), or one with no loader: no code of its own, at most a `default` export.
    Asset,
}

/// An exported name and where it is written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExportName {
    /// The name importers use (`default` for the default export).
    pub name: String,
    /// Byte range of the exported name in the source (the `default` keyword for default exports).
    pub span: (u32, u32),
}

/// Span-free projection of [`ModuleScan`]: what the module graph and linking depend on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ModuleSummary {
    /// How the module imports and exports.
    pub format: ModuleFormat,
    /// The records of [`ModuleScan::records`] without spans, same order and length.
    pub records: Vec<ImportRecordSummary>,
    /// Exported names, sorted and deduplicated.
    pub exports: Vec<String>,
    /// Whether the module has top-level `await`.
    pub has_top_level_await: bool,
    /// How many `import()`/`require()` calls stay run-time loads ([`ModuleScan::unbundled`]).
    pub unbundled: usize,
}

/// An [`ImportRecord`] without its span.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ImportRecordSummary {
    /// The specifier as written.
    pub specifier: String,
    /// How the dependency is loaded.
    pub kind: ImportKind,
    /// Import attributes, sorted.
    pub attributes: Vec<(String, String)>,
    /// Whether it is inside a `try` block.
    pub in_try_block: bool,
}

impl ModuleScan {
    /// The span-free projection.
    pub fn summary(&self) -> ModuleSummary {
        let mut exports: Vec<String> = self.exports.iter().map(|e| e.name.clone()).collect();
        exports.sort_unstable();
        exports.dedup();
        ModuleSummary {
            format: self.format,
            records: self
                .records
                .iter()
                .map(|r| ImportRecordSummary {
                    specifier: r.specifier.clone(),
                    kind: r.kind,
                    attributes: r.attributes.clone(),
                    in_try_block: r.in_try_block,
                })
                .collect(),
            exports,
            has_top_level_await: self.has_top_level_await,
            unbundled: self.unbundled.len(),
        }
    }
}

/// Which extension-implied format a file has.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExtensionFormat {
    Esm,
    CommonJs,
    Either,
}

/// Scans a parsed program.
pub(crate) fn scan_program(program: &Program<'_>, scoping: &Scoping, source: &str, ext: ExtensionFormat) -> ModuleScan {
    let mut scanner = Scanner {
        scoping,
        source,
        is_ts: program.source_type.is_typescript(),
        is_jsx: program.source_type.is_jsx(),
        records: Vec::new(),
        exports: Vec::new(),
        unbundled: Vec::new(),
        has_esm_syntax: false,
        uses_commonjs: false,
        has_top_level_await: false,
        function_depth: 0,
        try_depth: 0,
        namespace_depth: 0,
    };
    guard(|| scanner.visit_program(program));
    let format = if scanner.has_esm_syntax || scanner.has_top_level_await || ext == ExtensionFormat::Esm {
        ModuleFormat::Esm
    } else if scanner.uses_commonjs || ext == ExtensionFormat::CommonJs {
        ModuleFormat::CommonJs
    } else {
        ModuleFormat::None
    };
    ModuleScan {
        format,
        records: scanner.records,
        exports: scanner.exports,
        has_top_level_await: scanner.has_top_level_await,
        unbundled: scanner.unbundled,
    }
}

struct Scanner<'s> {
    scoping: &'s Scoping,
    source: &'s str,
    is_ts: bool,
    is_jsx: bool,
    records: Vec<ImportRecord>,
    exports: Vec<ExportName>,
    unbundled: Vec<(u32, u32)>,
    has_esm_syntax: bool,
    uses_commonjs: bool,
    has_top_level_await: bool,
    /// Functions (and arrows) we are inside.
    function_depth: u32,
    /// `try` blocks we are inside, within the current function.
    try_depth: u32,
    /// TypeScript namespace and `declare module` bodies we are inside: their imports and exports are
    /// not the module's.
    namespace_depth: u32,
}

fn span_pair(span: Span) -> (u32, u32) {
    (span.start, span.end)
}

/// A string literal or an expression-free template literal: its value and span.
fn static_string(expr: &Expression<'_>) -> Option<(String, Span)> {
    match expr {
        Expression::StringLiteral(s) => Some((s.value.to_string(), s.span)),
        Expression::TemplateLiteral(t) if t.expressions.is_empty() => {
            t.quasis.first().and_then(|q| q.value.cooked).map(|cooked| (cooked.to_string(), t.span))
        }
        _ => None,
    }
}

/// The pattern of a context record (`./locale/*.json`, a `*` for each dynamic part) and the
/// span of the argument: a template literal with substitutions, or a `+` concatenation that
/// starts with a string, whose static prefix is a relative directory (`./`, `../`) with no
/// dynamic part before the file name. `Err` for any other non-literal argument.
fn context_pattern(expr: &Expression<'_>) -> Result<(String, Span), ()> {
    let mut pattern = String::new();
    let push_dynamic = |pattern: &mut String| {
        if !pattern.ends_with('*') {
            pattern.push('*');
        }
    };
    match expr {
        Expression::TemplateLiteral(t) if !t.expressions.is_empty() => {
            for (index, quasi) in t.quasis.iter().enumerate() {
                if index > 0 {
                    push_dynamic(&mut pattern);
                }
                pattern.push_str(quasi.value.cooked.as_ref().ok_or(())?.as_str());
            }
        }
        Expression::BinaryExpression(_) => {
            // `a + b + c` is `(a + b) + c`: walk down the left side, then read right to left.
            let mut parts = Vec::new();
            let mut current = expr;
            while let Expression::BinaryExpression(b) = current {
                if b.operator != oxc::ast::ast::BinaryOperator::Addition {
                    return Err(());
                }
                parts.push(&b.right);
                current = &b.left;
            }
            parts.push(current);
            parts.reverse();
            if !matches!(parts[0], Expression::StringLiteral(_)) {
                return Err(());
            }
            for part in parts {
                match static_string(part) {
                    Some((text, _)) => pattern.push_str(&text),
                    None => push_dynamic(&mut pattern),
                }
            }
        }
        _ => return Err(()),
    }
    let directory = pattern.rsplit_once('/').map(|(dir, _)| dir).ok_or(())?;
    let relative = pattern.starts_with("./") || pattern.starts_with("../");
    if !relative || directory.contains('*') || !pattern.contains('*') {
        return Err(());
    }
    Ok((pattern, expr.span()))
}

fn attribute_key(key: &ImportAttributeKey<'_>) -> String {
    match key {
        ImportAttributeKey::Identifier(id) => id.name.to_string(),
        ImportAttributeKey::StringLiteral(s) => s.value.to_string(),
    }
}

fn with_clause_attributes(clause: Option<&WithClause<'_>>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = clause
        .map(|c| c.with_entries.iter().map(|e| (attribute_key(&e.key), e.value.value.to_string())).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// The name of a non-computed (or string-literal computed) property key.
fn property_key_name(key: &PropertyKey<'_>) -> Option<(String, Span)> {
    match key {
        PropertyKey::StaticIdentifier(id) => Some((id.name.to_string(), id.span)),
        PropertyKey::StringLiteral(s) => Some((s.value.to_string(), s.span)),
        _ => None,
    }
}

impl<'s> Scanner<'s> {
    /// Whether `id` refers to no binding in the module (a global such as `require`).
    fn is_free(&self, id: &IdentifierReference<'_>) -> bool {
        id.reference_id.get().is_none_or(|r| self.scoping.get_reference(r).symbol_id().is_none())
    }

    fn is_free_named(&self, expr: &Expression<'_>, name: &str) -> bool {
        matches!(expr, Expression::Identifier(id) if id.name == name && self.is_free(id))
    }

    /// Whether a binding is read as a value anywhere (TypeScript elides imports that are not).
    fn used_as_value(&self, id: &BindingIdentifier<'_>) -> bool {
        // The classic JSX runtime reads `React` implicitly.
        if self.is_jsx && id.name == "React" {
            return true;
        }
        let Some(symbol) = id.symbol_id.get() else {
            return true;
        };
        self.scoping.get_resolved_references(symbol).any(|r| r.is_value())
    }

    /// Whether a TypeScript import declaration survives type elision.
    fn import_is_kept(&self, decl: &ImportDeclaration<'_>) -> bool {
        if decl.import_kind.is_type() {
            return false;
        }
        if !self.is_ts {
            return true;
        }
        let Some(specifiers) = &decl.specifiers else {
            return true;
        };
        if specifiers.is_empty() {
            return true;
        }
        specifiers.iter().any(|s| match s {
            ImportDeclarationSpecifier::ImportSpecifier(s) => !s.import_kind.is_type() && self.used_as_value(&s.local),
            ImportDeclarationSpecifier::ImportDefaultSpecifier(s) => self.used_as_value(&s.local),
            ImportDeclarationSpecifier::ImportNamespaceSpecifier(s) => self.used_as_value(&s.local),
        })
    }

    fn push_record(&mut self, specifier: String, kind: ImportKind, span: Span, attributes: Vec<(String, String)>) {
        let in_try_block = self.try_depth > 0
            && matches!(kind, ImportKind::Require | ImportKind::RequireResolve | ImportKind::DynamicImport);
        self.records.push(ImportRecord { specifier, kind, span: span_pair(span), attributes, in_try_block });
    }

    /// A context record for a non-literal `import()`/`require()` argument with a usable
    /// pattern, else a run-time load to warn about.
    fn dynamic_record(&mut self, argument: &Expression<'_>, kind: ImportKind, attributes: Vec<(String, String)>) {
        match context_pattern(argument) {
            Ok((pattern, span)) => self.push_record(format!("{CONTEXT_PREFIX}{pattern}"), kind, span, attributes),
            Err(()) => self.unbundled.push(span_pair(argument.span())),
        }
    }

    fn push_export(&mut self, name: impl Into<String>, span: Span) {
        self.exports.push(ExportName { name: name.into(), span: span_pair(span) });
    }

    fn push_declaration_exports(&mut self, decl: &Declaration<'_>) {
        if decl.declare() || decl.is_type() {
            return;
        }
        match decl {
            Declaration::VariableDeclaration(var) => {
                for declarator in &var.declarations {
                    for id in declarator.id.get_binding_identifiers() {
                        self.push_export(id.name.as_str(), id.span);
                    }
                }
            }
            Declaration::FunctionDeclaration(f) => {
                if let Some(id) = &f.id {
                    self.push_export(id.name.as_str(), id.span);
                }
            }
            Declaration::ClassDeclaration(c) => {
                if let Some(id) = &c.id {
                    self.push_export(id.name.as_str(), id.span);
                }
            }
            Declaration::TSEnumDeclaration(e) => self.push_export(e.id.name.as_str(), e.id.span),
            Declaration::TSNamespaceDeclaration(ns) => self.push_export(ns.id.name.as_str(), ns.id.span),
            Declaration::TSImportEqualsDeclaration(ie) => self.push_export(ie.id.name.as_str(), ie.id.span),
            Declaration::TSTypeAliasDeclaration(_)
            | Declaration::TSInterfaceDeclaration(_)
            | Declaration::TSExternalModuleDeclaration(_)
            | Declaration::TSGlobalDeclaration(_) => {}
        }
    }

    /// A local `export { x }` of a TypeScript type is elided, like TypeScript does.
    fn local_export_is_type(&self, local: &ModuleExportName<'_>) -> bool {
        let ModuleExportName::IdentifierReference(id) = local else {
            return false;
        };
        let Some(symbol) = id.reference_id.get().and_then(|r| self.scoping.get_reference(r).symbol_id()) else {
            return false;
        };
        let flags = self.scoping.symbol_flags(symbol);
        !flags.is_value() && !flags.is_import()
    }

    /// `exports.x = …`, `module.exports.x = …`, `exports['x'] = …`, and the keys of `module.exports = { … }`.
    fn commonjs_export_assignment(&mut self, assign: &AssignmentExpression<'_>) {
        let Some(member) = assign.left.as_member_expression() else {
            return;
        };
        let object = member.object();
        let targets_exports = self.is_free_named(object, "exports")
            || matches!(object, Expression::StaticMemberExpression(m) if m.property.name == "exports" && self.is_free_named(&m.object, "module"));
        if targets_exports {
            match member {
                MemberExpression::StaticMemberExpression(m) => {
                    self.push_export(m.property.name.as_str(), m.property.span)
                }
                MemberExpression::ComputedMemberExpression(m) => {
                    if let Expression::StringLiteral(s) = &m.expression {
                        self.push_export(s.value.as_str(), s.span);
                    }
                }
                MemberExpression::PrivateFieldExpression(_) => {}
            }
            return;
        }
        // `module.exports = { a, b: 1 }`
        if let MemberExpression::StaticMemberExpression(m) = member
            && m.property.name == "exports"
            && self.is_free_named(&m.object, "module")
            && let Expression::ObjectExpression(obj) = assign.right.without_parentheses()
        {
            for prop in &obj.properties {
                if let ObjectPropertyKind::ObjectProperty(p) = prop
                    && let Some((name, span)) = property_key_name(&p.key)
                {
                    self.push_export(name, span);
                }
            }
        }
    }

    fn enter_function(&mut self) -> u32 {
        self.function_depth += 1;
        std::mem::take(&mut self.try_depth)
    }

    fn leave_function(&mut self, saved_try: u32) {
        self.function_depth -= 1;
        self.try_depth = saved_try;
    }
}

impl<'a> Visit<'a> for Scanner<'_> {
    fn visit_statement(&mut self, it: &Statement<'a>) {
        guard(|| walk::walk_statement(self, it));
    }

    fn visit_expression(&mut self, it: &Expression<'a>) {
        guard(|| walk::walk_expression(self, it));
    }

    fn visit_ts_type(&mut self, it: &TSType<'a>) {
        guard(|| walk::walk_ts_type(self, it));
    }

    fn visit_binding_pattern(&mut self, it: &BindingPattern<'a>) {
        guard(|| walk::walk_binding_pattern(self, it));
    }

    fn visit_jsx_element(&mut self, it: &JSXElement<'a>) {
        guard(|| walk::walk_jsx_element(self, it));
    }

    fn visit_ts_module_block(&mut self, it: &TSModuleBlock<'a>) {
        self.namespace_depth += 1;
        walk::walk_ts_module_block(self, it);
        self.namespace_depth -= 1;
    }

    fn visit_import_declaration(&mut self, it: &ImportDeclaration<'a>) {
        if self.namespace_depth > 0 {
            return;
        }
        self.has_esm_syntax = true;
        if self.import_is_kept(it) {
            self.push_record(
                it.source.value.to_string(),
                ImportKind::Static,
                it.source.span,
                with_clause_attributes(it.with_clause.as_deref()),
            );
        }
    }

    fn visit_export_declaration(&mut self, it: &ExportDeclaration<'a>) {
        if self.namespace_depth > 0 {
            return walk::walk_export_declaration(self, it);
        }
        self.has_esm_syntax = true;
        self.push_declaration_exports(&it.declaration);
        walk::walk_export_declaration(self, it);
    }

    fn visit_export_named_declaration(&mut self, it: &ExportNamedDeclaration<'a>) {
        if self.namespace_depth > 0 {
            return walk::walk_export_named_declaration(self, it);
        }
        self.has_esm_syntax = true;
        if it.export_kind.is_type() {
            return;
        }
        for spec in &it.specifiers {
            if spec.export_kind.is_type() || (self.is_ts && self.local_export_is_type(&spec.local)) {
                continue;
            }
            self.push_export(spec.exported.name().as_str(), spec.exported.span());
        }
        walk::walk_export_named_declaration(self, it);
    }

    fn visit_export_from_declaration(&mut self, it: &ExportFromDeclaration<'a>) {
        if self.namespace_depth > 0 {
            return walk::walk_export_from_declaration(self, it);
        }
        self.has_esm_syntax = true;
        if it.export_kind.is_type() {
            return;
        }
        if !it.specifiers.is_empty() && it.specifiers.iter().all(|s| s.export_kind.is_type()) {
            return;
        }
        self.push_record(
            it.source.value.to_string(),
            ImportKind::ReExport,
            it.source.span,
            with_clause_attributes(it.with_clause.as_deref()),
        );
        for spec in it.specifiers.iter().filter(|s| !s.export_kind.is_type()) {
            self.push_export(spec.exported.name().as_str(), spec.exported.span());
        }
    }

    fn visit_export_all_declaration(&mut self, it: &ExportAllDeclaration<'a>) {
        if self.namespace_depth > 0 {
            return walk::walk_export_all_declaration(self, it);
        }
        self.has_esm_syntax = true;
        if it.export_kind.is_type() {
            return;
        }
        self.push_record(
            it.source.value.to_string(),
            ImportKind::ExportStar,
            it.source.span,
            with_clause_attributes(it.with_clause.as_deref()),
        );
        if let Some(exported) = &it.exported {
            self.push_export(exported.name().as_str(), exported.span());
        }
    }

    fn visit_export_default_declaration(&mut self, it: &ExportDefaultDeclaration<'a>) {
        if self.namespace_depth > 0 {
            return walk::walk_export_default_declaration(self, it);
        }
        self.has_esm_syntax = true;
        if !matches!(it.declaration, ExportDefaultDeclarationKind::TSInterfaceDeclaration(_)) {
            let start = it.span.start as usize;
            let keyword = self
                .source
                .get(start..it.span.end as usize)
                .and_then(|text| text.find("default"))
                .map(|offset| start + offset);
            let span = keyword.map_or(it.span, |k| Span::new(k as u32, (k + "default".len()) as u32));
            self.push_export("default", span);
        }
        walk::walk_export_default_declaration(self, it);
    }

    fn visit_ts_import_equals_declaration(&mut self, it: &TSImportEqualsDeclaration<'a>) {
        if let TSModuleReference::ExternalModuleReference(ext) = &it.module_reference
            && !it.import_kind.is_type()
            && self.used_as_value(&it.id)
        {
            self.uses_commonjs = true;
            self.push_record(ext.expression.value.to_string(), ImportKind::Require, ext.expression.span, Vec::new());
        }
    }

    fn visit_ts_export_assignment(&mut self, it: &TSExportAssignment<'a>) {
        // `export = x` is TypeScript's `module.exports = x`.
        self.uses_commonjs = true;
        walk::walk_ts_export_assignment(self, it);
    }

    fn visit_import_meta(&mut self, _it: &ImportMeta) {
        self.has_esm_syntax = true;
    }

    fn visit_import_expression(&mut self, it: &ImportExpression<'a>) {
        let attributes = || it.options.as_ref().map(dynamic_import_attributes).unwrap_or_default();
        if let Some((specifier, span)) = static_string(&it.source) {
            self.push_record(specifier, ImportKind::DynamicImport, span, attributes());
        } else {
            self.dynamic_record(&it.source, ImportKind::DynamicImport, attributes());
        }
        walk::walk_import_expression(self, it);
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        let first = it.arguments.first().and_then(Argument::as_expression);
        if it.arguments.len() == 1
            && let Some((specifier, span)) = first.and_then(static_string)
        {
            if self.is_free_named(&it.callee, "require") {
                self.push_record(specifier, ImportKind::Require, span, Vec::new());
            } else if let Expression::StaticMemberExpression(m) = &it.callee
                && m.property.name == "resolve"
                && self.is_free_named(&m.object, "require")
            {
                self.push_record(specifier, ImportKind::RequireResolve, span, Vec::new());
            }
        }
        if it.arguments.len() == 1
            && let Some(argument) = first.filter(|a| static_string(a).is_none())
            && self.is_free_named(&it.callee, "require")
        {
            self.dynamic_record(argument, ImportKind::Require, Vec::new());
        }
        // `Object.defineProperty(exports, "name", …)`, as compiled TypeScript and Babel write exports.
        if let Expression::StaticMemberExpression(m) = &it.callee
            && m.property.name == "defineProperty"
            && matches!(&m.object, Expression::Identifier(o) if o.name == "Object")
            && it.arguments.len() == 3
            && first.is_some_and(|e| self.is_free_named(e, "exports"))
            && let Some(Expression::StringLiteral(name)) = it.arguments.get(1).and_then(Argument::as_expression)
            && name.value != "__esModule"
        {
            self.push_export(name.value.as_str(), name.span);
        }
        walk::walk_call_expression(self, it);
    }

    fn visit_new_expression(&mut self, it: &NewExpression<'a>) {
        if matches!(&it.callee, Expression::Identifier(id) if id.name == "URL")
            && it.arguments.len() >= 2
            && let Some(Expression::StaticMemberExpression(base)) =
                it.arguments.get(1).and_then(Argument::as_expression)
            && base.property.name == "url"
            && matches!(base.object, Expression::ImportMeta(_))
            && let Some((specifier, span)) =
                it.arguments.first().and_then(Argument::as_expression).and_then(static_string)
        {
            self.push_record(specifier, ImportKind::NewUrl, span, Vec::new());
        }
        walk::walk_new_expression(self, it);
    }

    fn visit_identifier_reference(&mut self, it: &IdentifierReference<'a>) {
        if matches!(it.name.as_str(), "require" | "module" | "exports") && self.is_free(it) {
            let is_value = it.reference_id.get().is_none_or(|r| self.scoping.get_reference(r).is_value());
            if is_value {
                self.uses_commonjs = true;
            }
        }
    }

    fn visit_assignment_expression(&mut self, it: &AssignmentExpression<'a>) {
        if it.operator == AssignmentOperator::Assign {
            self.commonjs_export_assignment(it);
        }
        walk::walk_assignment_expression(self, it);
    }

    fn visit_function(&mut self, it: &Function<'a>, flags: ScopeFlags) {
        let saved = self.enter_function();
        walk::walk_function(self, it, flags);
        self.leave_function(saved);
    }

    fn visit_arrow_function_expression(&mut self, it: &ArrowFunctionExpression<'a>) {
        let saved = self.enter_function();
        walk::walk_arrow_function_expression(self, it);
        self.leave_function(saved);
    }

    fn visit_try_statement(&mut self, it: &TryStatement<'a>) {
        self.try_depth += 1;
        self.visit_block_statement(&it.block);
        self.try_depth -= 1;
        if let Some(handler) = &it.handler {
            self.visit_catch_clause(handler);
        }
        if let Some(finalizer) = &it.finalizer {
            self.visit_block_statement(finalizer);
        }
    }

    fn visit_await_expression(&mut self, it: &AwaitExpression<'a>) {
        if self.function_depth == 0 {
            self.has_top_level_await = true;
        }
        walk::walk_await_expression(self, it);
    }

    fn visit_for_of_statement(&mut self, it: &ForOfStatement<'a>) {
        if it.r#await && self.function_depth == 0 {
            self.has_top_level_await = true;
        }
        walk::walk_for_of_statement(self, it);
    }

    fn visit_variable_declaration(&mut self, it: &VariableDeclaration<'a>) {
        if it.kind == VariableDeclarationKind::AwaitUsing && self.function_depth == 0 {
            self.has_top_level_await = true;
        }
        walk::walk_variable_declaration(self, it);
    }
}

/// Attributes of `import('x', { with: { type: 'json' } })` (best effort: literal objects only).
fn dynamic_import_attributes(options: &Expression<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Expression::ObjectExpression(obj) = options {
        for prop in &obj.properties {
            if let ObjectPropertyKind::ObjectProperty(p) = prop
                && property_key_name(&p.key).is_some_and(|(k, _)| k == "with" || k == "assert")
                && let Expression::ObjectExpression(inner) = &p.value
            {
                for entry in &inner.properties {
                    if let ObjectPropertyKind::ObjectProperty(e) = entry
                        && let Some((key, _)) = property_key_name(&e.key)
                        && let Some((value, _)) = static_string(&e.value)
                    {
                        out.push((key, value));
                    }
                }
            }
        }
    }
    out.sort();
    out
}
