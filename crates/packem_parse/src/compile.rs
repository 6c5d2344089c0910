//! The compile step: source text to the JavaScript AST every later stage sees.
//!
//! Runs, in order: parse; semantic analysis; a check for syntax the target cannot run (on the
//! program as written, so errors point at the syntax); oxc's transformer (TypeScript, JSX,
//! lowering for the syntax target); `--define` replacement; `--inject`; `--drop:debugger`;
//! dead-code elimination of the branches a define made constant (and `--drop:console`); the
//! entry's prepended imports. Imports added by a transform (the automatic JSX runtime's
//! `react/jsx-runtime`, lowering helpers from `@oxc-project/runtime`, injected files) are ordinary
//! `import` declarations (or `require` calls in CommonJS) by then, so the scan records them as
//! edges of the module graph. The step is deterministic: the parse memo and the render run it on
//! the same text and settings and get the same AST.

use camino::Utf8Path;
use oxc::allocator::Allocator;
use oxc::ast::ast::{Argument, Expression, ImportOrExportKind, Program, Statement, StringLiteral};
use oxc::ast::builder::AstBuilder;
use oxc::ast_visit::{Visit, VisitMut, walk, walk_mut};
use oxc::diagnostics::OxcDiagnostic;
use oxc::parser::{ParseOptions, Parser};
use oxc::semantic::{Scoping, SemanticBuilder};
use oxc::span::{SPAN, SourceType, Span};
use oxc::transformer::{
    ESFeature, EngineTargets, EnvOptions, HelperLoaderMode, HelperLoaderOptions, JsxRuntime, TransformOptions,
    Transformer,
};
use packem_db::{Diagnostic, DiagnosticCode, JsxMode, Loader};

use crate::nesting::guard;
use crate::source::CompileSettings;

/// Specifiers that a transform added have no place in the file; they get spans from this offset
/// up (far beyond any real text), one each, so that records stay distinguishable by span.
pub const INJECTED_SPAN_BASE: u32 = u32::MAX - (1 << 20);

/// Whether a record span belongs to an import a transform added (see [`INJECTED_SPAN_BASE`]).
pub fn is_injected_span(span: (u32, u32)) -> bool {
    span.0 >= INJECTED_SPAN_BASE
}

/// Checks a `--target` list (`es2017`, `chrome100,node18`) as the compile step will read it.
pub fn check_target(target: &str) -> Result<(), String> {
    EngineTargets::from_target(target).map(|_| ())
}

/// A compiled program and what was found on the way.
pub struct Compiled<'a> {
    /// The program after every step.
    pub program: Program<'a>,
    /// Its semantic scoping.
    pub scoping: Scoping,
    /// Parse, semantic, transform and target errors (when asked for), with spans.
    pub errors: Vec<Diagnostic>,
    /// The source type the parser settled on.
    pub source_type: SourceType,
}

/// The source type of a code file under `loader` (module kind from the extension: `.mjs`/`.mts`
/// are modules, `.cjs`/`.cts` CommonJS, others decided by the parser).
pub fn source_type_for(path: &Utf8Path, loader: Loader) -> SourceType {
    let from_path = SourceType::from_path(path.as_std_path()).unwrap_or_else(|_| SourceType::unambiguous());
    let base =
        if from_path.is_typescript() || from_path.is_javascript() { from_path } else { SourceType::unambiguous() };
    let ts = matches!(loader, Loader::Ts | Loader::Tsx);
    let jsx = matches!(loader, Loader::Jsx | Loader::Tsx);
    // `.d.ts` files stay declarations; a `.ts` file under the `js` loader is JavaScript.
    let base = if ts {
        if base.is_typescript() { base } else { base.with_typescript(true) }
    } else {
        base.with_typescript(false)
    };
    base.with_jsx(jsx)
}

/// Compiles `text` (the file at `path`) with `settings`. With `report` unset, the semantic
/// syntax check is skipped and `errors` holds only what the steps themselves report (the render
/// does that: its input already compiled once without errors).
pub fn compile<'a>(
    allocator: &'a Allocator,
    path: &Utf8Path,
    text: &'a str,
    settings: &CompileSettings,
    report: bool,
) -> Compiled<'a> {
    let loader = settings.loader.filter(|l| l.is_code()).unwrap_or(Loader::Js);
    let source_type = source_type_for(path, loader);
    let options = ParseOptions { allow_return_outside_function: source_type.is_commonjs(), ..ParseOptions::default() };
    let ret = Parser::new(allocator, text, source_type).with_options(options).parse();
    let mut errors = Vec::new();
    let parse_failed = !ret.diagnostics.is_empty() || ret.panicked;
    if ret.panicked && ret.diagnostics.is_empty() {
        errors.push(parse_error("The parser gave up on this file", (0, 0)));
    }
    if parse_failed && loader == Loader::Js && looks_like_jsx(text, source_type) {
        // esbuild's message: the file is valid JSX, the loader is the problem.
        let at = ret.diagnostics.first().and_then(|d| d.labels.first().map(|l| l.offset())).unwrap_or(0);
        let ext = path.extension().map(|e| format!(".{e}")).unwrap_or_else(|| ".js".to_string());
        errors.push(
            parse_error("The JSX syntax extension is not currently enabled", (at, at + 1)).with_help(format!(
                "The loader for \"{ext}\" files is \"js\"; use --loader:{ext}=jsx to parse JSX in them (or rename the file to .jsx)."
            )),
        );
    } else {
        errors.extend(ret.diagnostics.iter().map(convert));
    }
    let mut program = ret.program;
    let semantic = SemanticBuilder::new()
        .with_check_syntax_error(report && !parse_failed)
        .with_enum_eval(program.source_type.is_typescript())
        .build(&program);
    if report && !parse_failed {
        errors.extend(semantic.diagnostics.iter().map(convert));
        // oxc checks that `import` and `export` declarations sit at the top level of modules,
        // not of CommonJS files (`.cjs`), where packem still reads ESM syntax: a nested one
        // (`label: import …`) reached the renderer, which cannot remove it.
        if source_type.is_commonjs()
            && let Some(span) = nested_module_declaration(&program)
        {
            errors.push(parse_error(
                "An \"import\" or \"export\" declaration can only be used at the top level of a module",
                (span.start, span.end),
            ));
        }
    }
    let mut scoping = semantic.semantic.into_scoping();
    let final_source_type = program.source_type;
    if parse_failed {
        return Compiled { program, scoping, errors, source_type: final_source_type };
    }

    // Lowering targets, checked once: a bad target is reported here and nothing is lowered.
    let targets = match settings.target.as_deref() {
        Some(target) => match EngineTargets::from_target(target) {
            Ok(targets) => Some(targets),
            Err(message) => {
                errors.push(Diagnostic::error(
                    DiagnosticCode::InvalidOption,
                    format!("Invalid target \"{target}\": {message}"),
                ));
                None
            }
        },
        None => None,
    };

    // Syntax the target cannot run, found on the program as written (lowering moves spans).
    if let Some(targets) = &targets {
        let mut check = TargetCheck {
            targets,
            target: settings.target.as_deref().unwrap_or_default(),
            errors: &mut errors,
            function_depth: 0,
        };
        guard(|| check.visit_program(&program));
    }

    let jsx_used = final_source_type.is_jsx() && settings.jsx.mode != JsxMode::Preserve;
    // A JSX file with neither ESM nor CommonJS syntax is a module (as esbuild treats it): the
    // automatic runtime then adds an `import`, not a `require`.
    let mut final_source_type = final_source_type;
    if jsx_used
        && settings.jsx.mode == JsxMode::Automatic
        && final_source_type.is_script()
        && !source_type.is_commonjs()
        && !["require", "module", "exports"].iter().any(|name| scoping.root_unresolved_references().contains_key(*name))
    {
        final_source_type = final_source_type.with_module(true);
        program.source_type = final_source_type;
    }
    if final_source_type.is_typescript() || jsx_used || targets.is_some() {
        let options = transform_options(settings, final_source_type, targets.clone());
        let ret = Transformer::new(allocator, path.as_std_path(), &options).build_with_scoping(scoping, &mut program);
        scoping = ret.scoping;
        // The target check above reports what cannot be lowered, at the syntax itself.
        errors.extend(
            ret.diagnostics
                .iter()
                .filter(|d| !d.message.contains("not available in the configured target environment"))
                .map(convert),
        );
    }

    let builder = AstBuilder::new(allocator);
    let mut changed_by_define = false;
    if !settings.define.is_empty() {
        match oxc::transformer_plugins::ReplaceGlobalDefinesConfig::new(&settings.define) {
            Ok(config) => {
                let ret =
                    oxc::transformer_plugins::ReplaceGlobalDefines::new(allocator, config).build(scoping, &mut program);
                scoping = ret.scoping;
                changed_by_define = ret.changed;
            }
            Err(diagnostics) => {
                for d in diagnostics {
                    let mut d = convert(&d);
                    d.code = DiagnosticCode::InvalidOption;
                    d.range = None;
                    errors.push(d);
                }
            }
        }
    }

    if !settings.inject.is_empty() {
        let imports = settings
            .inject
            .iter()
            .map(|i| {
                let source = i.path.as_str();
                if i.export == "default" {
                    oxc::transformer_plugins::InjectImport::default_specifier(source, &i.name)
                } else {
                    oxc::transformer_plugins::InjectImport::named_specifier(source, Some(&i.export), &i.name)
                }
            })
            .collect();
        let config = oxc::transformer_plugins::InjectGlobalVariablesConfig::new(imports);
        let ret = oxc::transformer_plugins::InjectGlobalVariables::new(allocator, config).build(scoping, &mut program);
        // The new imports bind names that were globals: resolve the references again.
        scoping =
            if ret.changed { SemanticBuilder::new().build(&program).semantic.into_scoping() } else { ret.scoping };
    }

    if settings.drop_debugger {
        drop_debugger(&mut program, &builder);
    }
    if !settings.drop_labels.is_empty() {
        drop_labels(&mut program, &builder, &settings.drop_labels);
    }

    // Branches a define made constant go away before the scan sees their imports (React's
    // `if (process.env.NODE_ENV === "production") module.exports = require(...)`).
    if changed_by_define || settings.drop_console {
        if changed_by_define {
            // The define plugin replaces references without updating the scoping (a
            // `declare const NAME` erased by the TypeScript transform leaves a symbol whose
            // reference it replaced): the compressor needs scoping that matches the program
            // (oxc checks this in debug builds).
            scoping = SemanticBuilder::new().build(&program).semantic.into_scoping();
        }
        let options = oxc::minifier::CompressOptions {
            drop_console: settings.drop_console,
            drop_debugger: false,
            unused: oxc::minifier::CompressOptionsUnused::Keep,
            ..oxc::minifier::CompressOptions::dce()
        };
        oxc::minifier::Compressor::new(allocator).dead_code_elimination_with_scoping(&mut program, scoping, options);
        scoping = SemanticBuilder::new().build(&program).semantic.into_scoping();
    }

    if !settings.prepend_imports.is_empty() {
        let body = std::mem::replace(&mut program.body, oxc::allocator::Vec::new_in(&allocator));
        for path in settings.prepend_imports.iter() {
            let source = StringLiteral::new(SPAN, allocator.alloc_str(path.as_str()), None, &builder);
            program.body.push(Statement::new_import_declaration(
                SPAN,
                None,
                source,
                None,
                None,
                ImportOrExportKind::Value,
                &builder,
            ));
        }
        program.body.extend(body);
        // Bare imports declare nothing: the scoping needs no update.
    }

    mark_injected_specifiers(&mut program);

    Compiled { program, scoping, errors, source_type: final_source_type }
}

fn transform_options(
    settings: &CompileSettings,
    source_type: SourceType,
    targets: Option<EngineTargets>,
) -> TransformOptions {
    let mut options = TransformOptions::default();
    let jsx = &settings.jsx;
    options.jsx.jsx_plugin = jsx.mode != JsxMode::Preserve && source_type.is_jsx();
    options.jsx.display_name_plugin = false;
    options.jsx.runtime = if jsx.mode == JsxMode::Automatic { JsxRuntime::Automatic } else { JsxRuntime::Classic };
    options.jsx.development = jsx.mode == JsxMode::Automatic && jsx.development;
    options.jsx.jsx_self_plugin = false;
    options.jsx.jsx_source_plugin = false;
    options.jsx.import_source = Some(jsx.import_source.clone());
    options.jsx.pragma = Some(jsx.factory.clone());
    options.jsx.pragma_frag = Some(jsx.fragment.clone());
    options.typescript.jsx_pragma = jsx.factory.clone().into();
    options.typescript.jsx_pragma_frag = jsx.fragment.clone().into();
    options.typescript.only_remove_type_imports = settings.typescript.verbatim_module_syntax;
    if settings.typescript.experimental_decorators {
        options.decorator.legacy = true;
        options.decorator.emit_decorator_metadata = settings.typescript.emit_decorator_metadata;
    }
    if let Some(targets) = targets {
        options.env = EnvOptions::from(targets);
    }
    // Lowering helpers are imported from the npm package, resolved and bundled like any import.
    options.helper_loader = HelperLoaderOptions { mode: HelperLoaderMode::Runtime, ..HelperLoaderOptions::default() };
    options
}

/// `--drop-labels`: removes every statement labelled with one of `labels` (sorted), as esbuild
/// does (an empty statement where one is required, as in `if (x) DEV: f();`).
fn drop_labels<'a>(program: &mut Program<'a>, builder: &AstBuilder<'a>, labels: &[String]) {
    struct Dropper<'b, 'a> {
        builder: &'b AstBuilder<'a>,
        labels: &'b [String],
    }
    impl<'a> Dropper<'_, 'a> {
        fn dropped(&self, statement: &Statement<'a>) -> bool {
            matches!(statement, Statement::LabeledStatement(l)
                if self.labels.binary_search_by(|x| x.as_str().cmp(l.label.name.as_str())).is_ok())
        }
    }
    impl<'a> VisitMut<'a> for Dropper<'_, 'a> {
        fn visit_statements(&mut self, it: &mut oxc::allocator::Vec<'a, Statement<'a>>) {
            it.retain(|s| !self.dropped(s));
            walk_mut::walk_statements(self, it);
        }
        fn visit_statement(&mut self, it: &mut Statement<'a>) {
            if self.dropped(it) {
                *it = Statement::new_empty_statement(oxc::span::GetSpan::span(it), self.builder);
                return;
            }
            walk_mut::walk_statement(self, it);
        }
    }
    Dropper { builder, labels }.visit_program(program);
}

/// `--drop:debugger`: removes every `debugger` statement (an empty statement where one is
/// required, as in `if (x) debugger;`).
fn drop_debugger<'a>(program: &mut Program<'a>, builder: &AstBuilder<'a>) {
    struct Dropper<'b, 'a> {
        builder: &'b AstBuilder<'a>,
    }
    impl<'a> VisitMut<'a> for Dropper<'_, 'a> {
        fn visit_statements(&mut self, it: &mut oxc::allocator::Vec<'a, Statement<'a>>) {
            it.retain(|s| !matches!(s, Statement::DebuggerStatement(_)));
            walk_mut::walk_statements(self, it);
        }
        fn visit_statement(&mut self, it: &mut Statement<'a>) {
            if let Statement::DebuggerStatement(d) = it {
                *it = Statement::new_empty_statement(d.span, self.builder);
            }
            walk_mut::walk_statement(self, it);
        }
    }
    guard(|| Dropper { builder }.visit_program(program));
}

/// Gives every specifier string a transform added (empty span at 0) its own span above
/// [`INJECTED_SPAN_BASE`]: top-level `import` declarations and `require("…")` calls.
fn mark_injected_specifiers(program: &mut Program<'_>) {
    struct Marker {
        next: u32,
    }
    impl Marker {
        fn mark(&mut self, literal: &mut StringLiteral<'_>) {
            if literal.span == SPAN {
                literal.span = Span::empty(INJECTED_SPAN_BASE + self.next);
                self.next += 1;
            }
        }
    }
    impl<'a> VisitMut<'a> for Marker {
        fn visit_statement(&mut self, it: &mut Statement<'a>) {
            match it {
                Statement::ImportDeclaration(decl) => self.mark(&mut decl.source),
                Statement::VariableDeclaration(_) | Statement::ExpressionStatement(_) => {
                    walk_mut::walk_statement(self, it)
                }
                _ => {}
            }
        }
        fn visit_expression(&mut self, it: &mut Expression<'a>) {
            if let Expression::CallExpression(call) = it
                && matches!(&call.callee, Expression::Identifier(id) if id.name == "require")
                && let Some(Argument::StringLiteral(literal)) = call.arguments.first_mut()
            {
                self.mark(literal);
            }
            walk_mut::walk_expression(self, it);
        }
    }
    let mut marker = Marker { next: 0 };
    for statement in program.body.iter_mut() {
        marker.visit_statement(statement);
    }
}

/// Whether `text`, which failed to parse as JavaScript, parses as JSX.
fn looks_like_jsx(text: &str, source_type: SourceType) -> bool {
    if !text.contains('<') {
        return false;
    }
    let allocator = Allocator::default();
    let ret = Parser::new(&allocator, text, source_type.with_jsx(true)).parse();
    ret.diagnostics.is_empty() && !ret.panicked
}

/// Finds syntax the target cannot run and oxc cannot lower (it lowers the rest), before lowering.
struct TargetCheck<'t> {
    targets: &'t EngineTargets,
    target: &'t str,
    errors: &'t mut Vec<Diagnostic>,
    function_depth: u32,
}

impl TargetCheck<'_> {
    fn unsupported(&mut self, what: &str, feature: ESFeature, span: Span) {
        if self.targets.has_feature(feature) {
            let mut d = Diagnostic::error(
                DiagnosticCode::UnsupportedSyntax,
                format!(
                    "{what} {} not available in the configured target environment (\"{}\")",
                    if what.ends_with('s') { "are" } else { "is" },
                    self.target
                ),
            );
            d.range = Some((span.start, span.end));
            self.errors.push(d.with_help("Raise --target (or tsconfig.json's \"target\"), or remove the syntax."));
        }
    }
}

impl<'a> Visit<'a> for TargetCheck<'_> {
    fn visit_statement(&mut self, it: &Statement<'a>) {
        guard(|| walk::walk_statement(self, it));
    }

    fn visit_expression(&mut self, it: &Expression<'a>) {
        guard(|| walk::walk_expression(self, it));
    }

    fn visit_big_int_literal(&mut self, it: &oxc::ast::ast::BigIntLiteral<'a>) {
        self.unsupported("Big integer literals", ESFeature::ES2020BigInt, it.span);
    }

    fn visit_function(&mut self, it: &oxc::ast::ast::Function<'a>, flags: oxc::semantic::ScopeFlags) {
        self.function_depth += 1;
        walk::walk_function(self, it, flags);
        self.function_depth -= 1;
    }

    fn visit_arrow_function_expression(&mut self, it: &oxc::ast::ast::ArrowFunctionExpression<'a>) {
        self.function_depth += 1;
        walk::walk_arrow_function_expression(self, it);
        self.function_depth -= 1;
    }

    fn visit_await_expression(&mut self, it: &oxc::ast::ast::AwaitExpression<'a>) {
        if self.function_depth == 0 {
            self.unsupported("Top-level await", ESFeature::ES2022TopLevelAwait, it.span);
        }
        walk::walk_await_expression(self, it);
    }

    fn visit_for_of_statement(&mut self, it: &oxc::ast::ast::ForOfStatement<'a>) {
        if it.r#await && self.function_depth == 0 {
            self.unsupported("Top-level await", ESFeature::ES2022TopLevelAwait, it.span);
        }
        walk::walk_for_of_statement(self, it);
    }
}

/// An oxc diagnostic as a packem `ParseError` (no file yet); see [`oxc_diagnostic`].
pub(crate) fn convert(d: &OxcDiagnostic) -> Diagnostic {
    oxc_diagnostic(d, DiagnosticCode::ParseError)
}

/// An oxc diagnostic as a packem error with `code` (no file yet): at its primary label (for a
/// redeclaration, the second declaration), with the other labels as notes.
pub fn oxc_diagnostic(d: &OxcDiagnostic, code: DiagnosticCode) -> Diagnostic {
    let labels: &[oxc::diagnostics::LabeledSpan] = d.labels.as_slice();
    let primary = labels
        .iter()
        .position(|l| l.primary())
        .or_else(|| (labels.len() > 1 && d.message.contains("has already been declared")).then(|| labels.len() - 1))
        .unwrap_or(0);
    let range = labels.get(primary).map(|l| (l.offset(), l.offset() + l.len())).unwrap_or((0, 0));
    let mut out = Diagnostic::error(code, d.message.to_string());
    out.range = Some(range);
    for (i, label) in labels.iter().enumerate() {
        if i != primary {
            let message = label.label().map(str::to_string).unwrap_or_else(|| "See also:".to_string());
            out = out.with_note(message, None, Some((label.offset(), label.offset() + label.len())));
        }
    }
    if let Some(help) = &d.help {
        out = out.with_help(help.to_string());
    }
    out
}

/// The first `import` or `export` declaration below the top level of `program`, if any (a
/// parse error that oxc reports for modules only).
pub fn nested_module_declaration(program: &Program) -> Option<Span> {
    struct Nested(Option<Span>);
    impl<'a> Visit<'a> for Nested {
        fn visit_module_declaration(&mut self, declaration: &oxc::ast::ast::ModuleDeclaration<'a>) {
            use oxc::span::GetSpan as _;
            self.0.get_or_insert(declaration.span());
        }
    }
    let mut nested = Nested(None);
    guard(|| {
        for statement in &program.body {
            match statement.as_module_declaration() {
                Some(declaration) => walk::walk_module_declaration(&mut nested, declaration),
                None => nested.visit_statement(statement),
            }
        }
    });
    nested.0
}

/// A `ParseError` at `range`, with no file yet.
pub(crate) fn parse_error(message: impl Into<String>, range: (u32, u32)) -> Diagnostic {
    let mut d = Diagnostic::error(DiagnosticCode::ParseError, message);
    d.range = Some(range);
    d
}
