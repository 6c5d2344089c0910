//! Statement facts: what tree shaking needs from each top-level statement of a module (esbuild's
//! parts, rolldown's statement infos): the names it declares and references, the import records
//! it holds, and whether running it may have side effects (oxc's `MayHaveSideEffects`).
//!
//! Span-free and `Eq` (they are part of [`crate::ModuleSymbols`]), so a body edit that keeps them
//! backdates and relinks nothing.

use std::collections::BTreeSet;

use oxc::ast::ast::{
    BindingIdentifier, Declaration, ExportDefaultDeclarationKind, Expression, IdentifierReference, Program, Statement,
    StringLiteral, TemplateLiteral, VariableDeclarationKind,
};
use oxc::ast_visit::{Visit, walk};
use oxc::semantic::{Scoping, SymbolId};
use oxc::span::GetSpan;
use oxc_ecmascript::GlobalContext;
use oxc_ecmascript::side_effects::{MayHaveSideEffects, MayHaveSideEffectsContext, PropertyReadSideEffects};
use rustc_hash::{FxHashMap, FxHashSet};

/// One top-level statement, as tree shaking sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct StatementFacts {
    /// Module-scope names it declares (a `var` in a nested block included), as indices into
    /// [`crate::ModuleSymbols::declared`], sorted.
    pub declares: Vec<u32>,
    /// Module-scope names it reads or writes anywhere inside it, sorted: an index `i` below
    /// `declared.len()` is `declared[i]`, above it `imports[i - declared.len()]` (see
    /// [`crate::ModuleSymbols::name_at`]).
    pub references: Vec<u32>,
    /// The `require()`/`import()`/`require.resolve()`/`new URL()` records it holds.
    pub records: Vec<u32>,
    /// Whether running it may do more than declare: honouring `/* @__PURE__ */` and
    /// `/* #__NO_SIDE_EFFECTS__ */`.
    pub side_effects: bool,
    /// The same, ignoring those annotations (`--ignore-annotations`).
    pub side_effects_unannotated: bool,
    /// Imported functions it calls, by name index, when its only side effects are those calls:
    /// it has none if each is `#__NO_SIDE_EFFECTS__` in its module (linking decides). Empty
    /// otherwise.
    pub pure_if_imports_pure: Vec<u32>,
}

/// The facts of every top-level statement of `program`.
///
/// `records`: the span of each non-static record's specifier → its index. `names`: each
/// module-scope name's index (see [`StatementFacts::references`]; the first `declared_len` are
/// declarations, the rest imports). `default_local`: the variable `export default <expression>`
/// declares.
pub(crate) fn statement_facts(
    program: &Program<'_>,
    scoping: &Scoping,
    records: &FxHashMap<(u32, u32), u32>,
    names: &FxHashMap<&str, u32>,
    declared_len: u32,
    default_local: Option<&str>,
) -> StatementScan {
    let root = scoping.root_scope_id();
    let pure_functions = pure_functions(program);
    let annotated = SideEffects { scoping, annotations: true, pure_functions: &pure_functions, imports_pure: None };
    let unannotated = SideEffects { scoping, annotations: false, pure_functions: &pure_functions, imports_pure: None };

    let mut attributed = FxHashSet::default();
    let mut facts = Vec::with_capacity(program.body.len());
    let mut direct_eval = false;
    let mut with_statement = false;
    for statement in &program.body {
        let mut walker = Walker {
            scoping,
            root,
            records,
            names,
            declares: BTreeSet::new(),
            references: BTreeSet::new(),
            found: Vec::new(),
            direct_eval: false,
            with_statement: false,
            declared_len,
            called_imports: BTreeSet::new(),
            called_symbols: Vec::new(),
        };
        // Import bindings are resolved by linking, not declared by their statement.
        if !matches!(statement, Statement::ImportDeclaration(_)) {
            walker.visit_statement(statement);
        }
        // `export default <expression>` (or an anonymous function or class) declares the
        // variable the render gives it.
        if let Statement::ExportDefaultDeclaration(_) = statement
            && let Some(&index) = default_local.and_then(|local| names.get(local))
        {
            walker.declares.insert(index);
        }
        direct_eval |= walker.direct_eval;
        with_statement |= walker.with_statement;
        attributed.extend(walker.found.iter().copied());
        let mut found = walker.found;
        found.sort_unstable();
        found.dedup();
        let side_effects = statement_side_effects(statement, &annotated);
        // Calls of imported functions: pure if their modules say so (`#__NO_SIDE_EFFECTS__`).
        let pure_if_imports_pure = if side_effects && !walker.called_imports.is_empty() {
            let symbols: FxHashSet<SymbolId> = walker.called_symbols.iter().copied().collect();
            let assuming = SideEffects { imports_pure: Some(&symbols), ..annotated };
            if statement_side_effects(statement, &assuming) {
                Vec::new()
            } else {
                walker.called_imports.iter().copied().collect()
            }
        } else {
            Vec::new()
        };
        facts.push(StatementFacts {
            pure_if_imports_pure,
            declares: walker.declares.into_iter().collect(),
            references: walker.references.into_iter().collect(),
            records: found,
            side_effects,
            // Ignoring annotations can only add side effects.
            side_effects_unannotated: side_effects || statement_side_effects(statement, &unannotated),
        });
    }
    let mut loose: Vec<u32> = records.values().copied().filter(|r| !attributed.contains(r)).collect();
    loose.sort_unstable();
    let mut no_side_effects: Vec<String> =
        pure_functions.iter().map(|&symbol| scoping.symbol_name(symbol).to_string()).collect();
    no_side_effects.sort();
    StatementScan { facts, loose, direct_eval, with_statement, no_side_effects }
}

/// The facts of a module's statements.
pub(crate) struct StatementScan {
    /// Per top-level statement, in order.
    pub(crate) facts: Vec<StatementFacts>,
    /// Dynamic records no statement holds (kept whenever the module is).
    pub(crate) loose: Vec<u32>,
    /// Whether the module calls `eval` directly (which can read any name: nothing is dropped).
    pub(crate) direct_eval: bool,
    /// Whether the module has a `with` statement.
    pub(crate) with_statement: bool,
    /// Functions marked `#__NO_SIDE_EFFECTS__`, by name, sorted.
    pub(crate) no_side_effects: Vec<String>,
}

/// Whether `statement` may have side effects beyond declaring its names.
fn statement_side_effects<'a>(statement: &Statement<'a>, ctx: &SideEffects<'_>) -> bool {
    match statement {
        // Linking handles module syntax: the declaration carries no effect of its own.
        Statement::ImportDeclaration(_)
        | Statement::ExportAllDeclaration(_)
        | Statement::ExportNamedDeclaration(_)
        | Statement::ExportFromDeclaration(_)
        | Statement::TSExportAssignment(_)
        | Statement::TSNamespaceExportDeclaration(_) => false,
        Statement::ExportDeclaration(decl) => declaration_side_effects(&decl.declaration, ctx),
        Statement::ExportDefaultDeclaration(decl) => match &decl.declaration {
            ExportDefaultDeclarationKind::FunctionDeclaration(_) => false,
            ExportDefaultDeclarationKind::ClassDeclaration(class) => class.may_have_side_effects(ctx),
            ExportDefaultDeclarationKind::TSInterfaceDeclaration(_) => false,
            other => other.as_expression().is_none_or(|e| e.may_have_side_effects(ctx)),
        },
        Statement::TSTypeAliasDeclaration(_)
        | Statement::TSInterfaceDeclaration(_)
        | Statement::TSGlobalDeclaration(_)
        | Statement::TSEnumDeclaration(_)
        | Statement::TSNamespaceDeclaration(_)
        | Statement::TSExternalModuleDeclaration(_)
        | Statement::TSImportEqualsDeclaration(_) => true,
        other => other.may_have_side_effects(ctx),
    }
}

fn declaration_side_effects<'a>(declaration: &Declaration<'a>, ctx: &SideEffects<'_>) -> bool {
    match declaration {
        Declaration::VariableDeclaration(_)
        | Declaration::FunctionDeclaration(_)
        | Declaration::ClassDeclaration(_) => declaration.may_have_side_effects(ctx),
        // TypeScript declarations the transformer left (none should remain): kept.
        _ => true,
    }
}

/// Module-scope functions marked `/* #__NO_SIDE_EFFECTS__ */` (declarations, and variables
/// initialized with a marked function or arrow): a call to one is pure.
fn pure_functions(program: &Program<'_>) -> FxHashSet<SymbolId> {
    let mut out = FxHashSet::default();
    let mut add = |id: &BindingIdentifier<'_>| out.extend(id.symbol_id.get());
    let marked = |e: &Expression<'_>| match e.without_parentheses() {
        Expression::FunctionExpression(f) => f.pure,
        Expression::ArrowFunctionExpression(f) => f.pure,
        _ => false,
    };
    for statement in &program.body {
        let declaration = match statement {
            Statement::ExportDeclaration(decl) => Some(&decl.declaration),
            Statement::ExportDefaultDeclaration(decl) => {
                if let ExportDefaultDeclarationKind::FunctionDeclaration(f) = &decl.declaration
                    && f.pure
                    && let Some(id) = &f.id
                {
                    add(id);
                }
                None
            }
            other => other.as_declaration(),
        };
        match declaration {
            Some(Declaration::FunctionDeclaration(f)) if f.pure => {
                if let Some(id) = &f.id {
                    add(id);
                }
            }
            Some(Declaration::VariableDeclaration(v)) if v.kind == VariableDeclarationKind::Const => {
                for d in &v.declarations {
                    if let (Some(id), Some(init)) = (d.id.get_binding_identifier(), &d.init)
                        && marked(init)
                    {
                        add(id);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// oxc's side-effect analysis, configured as esbuild and rolldown are: property reads may run
/// getters, reading an unknown global may throw.
#[derive(Clone, Copy)]
struct SideEffects<'s> {
    scoping: &'s Scoping,
    annotations: bool,
    pure_functions: &'s FxHashSet<SymbolId>,
    /// Import bindings whose calls count as pure (to ask whether they are a statement's only
    /// side effects).
    imports_pure: Option<&'s FxHashSet<SymbolId>>,
}

impl<'a> GlobalContext<'a> for SideEffects<'_> {
    fn is_global_reference(&self, reference: &IdentifierReference<'a>) -> bool {
        reference.reference_id.get().is_none_or(|id| self.scoping.get_reference(id).symbol_id().is_none())
    }
}

impl<'a> MayHaveSideEffectsContext<'a> for SideEffects<'_> {
    fn annotations(&self) -> bool {
        self.annotations
    }

    fn manual_pure_functions(&self, callee: &Expression) -> bool {
        if !self.annotations {
            return false;
        }
        let Expression::Identifier(ident) = callee.without_parentheses() else {
            return false;
        };
        ident.reference_id.get().and_then(|id| self.scoping.get_reference(id).symbol_id()).is_some_and(|symbol| {
            self.pure_functions.contains(&symbol) || self.imports_pure.is_some_and(|i| i.contains(&symbol))
        })
    }

    fn property_read_side_effects(&self) -> PropertyReadSideEffects {
        PropertyReadSideEffects::All
    }

    fn unknown_global_side_effects(&self) -> bool {
        true
    }
}

/// Collects one statement's module-scope declarations and references and its records.
struct Walker<'s> {
    scoping: &'s Scoping,
    root: oxc::semantic::ScopeId,
    records: &'s FxHashMap<(u32, u32), u32>,
    names: &'s FxHashMap<&'s str, u32>,
    declared_len: u32,
    /// Imports (by name index) called directly, and their symbols.
    called_imports: BTreeSet<u32>,
    called_symbols: Vec<SymbolId>,
    declares: BTreeSet<u32>,
    references: BTreeSet<u32>,
    found: Vec<u32>,
    direct_eval: bool,
    with_statement: bool,
}

impl Walker<'_> {
    /// Notes a call of an imported function.
    fn callee(&mut self, callee: &Expression<'_>) {
        if let Expression::Identifier(ident) = callee.without_parentheses()
            && let Some(symbol) = ident.reference_id.get().and_then(|id| self.scoping.get_reference(id).symbol_id())
            && self.scoping.symbol_scope_id(symbol) == self.root
            && let Some(&index) = self.names.get(ident.name.as_str())
            && index >= self.declared_len
        {
            self.called_imports.insert(index);
            self.called_symbols.push(symbol);
        }
    }

    fn record_at(&mut self, span: oxc::span::Span) {
        if let Some(&record) = self.records.get(&(span.start, span.end)) {
            self.found.push(record);
        }
    }
}

impl<'a> Visit<'a> for Walker<'_> {
    fn visit_binding_identifier(&mut self, id: &BindingIdentifier<'a>) {
        if let Some(symbol) = id.symbol_id.get()
            && self.scoping.symbol_scope_id(symbol) == self.root
            && let Some(&index) = self.names.get(id.name.as_str())
        {
            self.declares.insert(index);
        }
    }

    fn visit_identifier_reference(&mut self, ident: &IdentifierReference<'a>) {
        if let Some(symbol) = ident.reference_id.get().and_then(|id| self.scoping.get_reference(id).symbol_id())
            && self.scoping.symbol_scope_id(symbol) == self.root
            && let Some(&index) = self.names.get(self.scoping.symbol_name(symbol))
        {
            self.references.insert(index);
        }
    }

    fn visit_call_expression(&mut self, call: &oxc::ast::ast::CallExpression<'a>) {
        self.callee(&call.callee);
        // `(eval)(…)` is a direct eval too.
        if let Expression::Identifier(callee) = call.callee.without_parentheses()
            && callee.name == "eval"
            && callee.reference_id.get().is_none_or(|id| self.scoping.get_reference(id).symbol_id().is_none())
        {
            self.direct_eval = true;
        }
        walk::walk_call_expression(self, call);
    }

    fn visit_with_statement(&mut self, with: &oxc::ast::ast::WithStatement<'a>) {
        self.with_statement = true;
        walk::walk_with_statement(self, with);
    }

    fn visit_new_expression(&mut self, new: &oxc::ast::ast::NewExpression<'a>) {
        self.callee(&new.callee);
        walk::walk_new_expression(self, new);
    }

    fn visit_string_literal(&mut self, literal: &StringLiteral<'a>) {
        self.record_at(literal.span);
    }

    fn visit_template_literal(&mut self, literal: &TemplateLiteral<'a>) {
        self.record_at(literal.span());
        walk::walk_template_literal(self, literal);
    }
}
