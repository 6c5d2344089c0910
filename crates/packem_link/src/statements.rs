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
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct StatementFacts {
    /// Module-scope names it declares (a `var` in a nested block included), sorted.
    pub declares: Vec<String>,
    /// Module-scope names (declarations and imports) it reads or writes anywhere inside it, sorted.
    pub references: Vec<String>,
    /// The `require()`/`import()`/`require.resolve()`/`new URL()` records it holds.
    pub records: Vec<u32>,
    /// Whether running it may do more than declare: honouring `/* @__PURE__ */` and
    /// `/* #__NO_SIDE_EFFECTS__ */`.
    pub side_effects: bool,
    /// The same, ignoring those annotations (`--ignore-annotations`).
    pub side_effects_unannotated: bool,
}

/// The facts of every top-level statement of `program`.
///
/// `records`: the span of each non-static record's specifier → its index. `default_local`: the
/// variable `export default <expression>` declares.
pub(crate) fn statement_facts(
    program: &Program<'_>,
    scoping: &Scoping,
    records: &FxHashMap<(u32, u32), u32>,
    default_local: Option<&str>,
) -> StatementScan {
    let root = scoping.root_scope_id();
    let pure_functions = pure_functions(program);
    let annotated = SideEffects { scoping, annotations: true, pure_functions: &pure_functions };
    let unannotated = SideEffects { scoping, annotations: false, pure_functions: &pure_functions };
    let mut attributed = FxHashSet::default();
    let mut facts = Vec::with_capacity(program.body.len());
    let mut direct_eval = false;
    for statement in &program.body {
        let mut walker = Walker {
            scoping,
            root,
            records,
            declares: BTreeSet::new(),
            references: BTreeSet::new(),
            found: Vec::new(),
            direct_eval: false,
        };
        // Import bindings are resolved by linking, not declared by their statement.
        if !matches!(statement, Statement::ImportDeclaration(_)) {
            walker.visit_statement(statement);
        }
        // `export default <expression>` (or an anonymous function or class) declares the
        // variable the render gives it.
        if let Statement::ExportDefaultDeclaration(_) = statement
            && let Some(local) = default_local
        {
            walker.declares.insert(local.to_string());
        }
        direct_eval |= walker.direct_eval;
        attributed.extend(walker.found.iter().copied());
        let mut found = walker.found;
        found.sort_unstable();
        found.dedup();
        let side_effects = statement_side_effects(statement, &annotated);
        facts.push(StatementFacts {
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
    StatementScan { facts, loose, direct_eval }
}

/// The facts of a module's statements.
pub(crate) struct StatementScan {
    /// Per top-level statement, in order.
    pub(crate) facts: Vec<StatementFacts>,
    /// Dynamic records no statement holds (kept whenever the module is).
    pub(crate) loose: Vec<u32>,
    /// Whether the module calls `eval` directly (which can read any name: nothing is dropped).
    pub(crate) direct_eval: bool,
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
struct SideEffects<'s> {
    scoping: &'s Scoping,
    annotations: bool,
    pure_functions: &'s FxHashSet<SymbolId>,
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
        ident
            .reference_id
            .get()
            .and_then(|id| self.scoping.get_reference(id).symbol_id())
            .is_some_and(|symbol| self.pure_functions.contains(&symbol))
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
    declares: BTreeSet<String>,
    references: BTreeSet<String>,
    found: Vec<u32>,
    direct_eval: bool,
}

impl Walker<'_> {
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
        {
            self.declares.insert(id.name.to_string());
        }
    }

    fn visit_identifier_reference(&mut self, ident: &IdentifierReference<'a>) {
        if let Some(symbol) = ident.reference_id.get().and_then(|id| self.scoping.get_reference(id).symbol_id())
            && self.scoping.symbol_scope_id(symbol) == self.root
        {
            self.references.insert(self.scoping.symbol_name(symbol).to_string());
        }
    }

    fn visit_call_expression(&mut self, call: &oxc::ast::ast::CallExpression<'a>) {
        if let Expression::Identifier(callee) = &call.callee
            && callee.name == "eval"
            && callee.reference_id.get().is_none_or(|id| self.scoping.get_reference(id).symbol_id().is_none())
        {
            self.direct_eval = true;
        }
        walk::walk_call_expression(self, call);
    }

    fn visit_string_literal(&mut self, literal: &StringLiteral<'a>) {
        self.record_at(literal.span);
    }

    fn visit_template_literal(&mut self, literal: &TemplateLiteral<'a>) {
        self.record_at(literal.span());
        walk::walk_template_literal(self, literal);
    }
}
