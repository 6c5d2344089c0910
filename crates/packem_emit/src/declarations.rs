//! Declaration files (`--declarations`): each project module's `.d.ts`, made by oxc's isolated
//! declarations transform (TypeScript's `isolatedDeclarations`: types come from annotations, never
//! from inference across files).
//!
//! [`module_declaration`] is one module's declaration text, `Eq` by value, so an edit that keeps a
//! module's declaration backdates there. [`project_declarations`] lists the declarations of a project's
//! own modules (sorted by path) and which of them each relative specifier refers to, so that the
//! host can place the files and rewrite the specifiers for where they land. Nothing here knows
//! output paths.

use std::collections::BTreeMap;
use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};
use oxc::allocator::Allocator;
use oxc::ast::ast::{
    ExportAllDeclaration, ExportFromDeclaration, ImportDeclaration, StringLiteral, TSExternalModuleReference,
    TSImportType,
};
use oxc::ast_visit::{Visit, walk};
use oxc::codegen::{Codegen, CodegenOptions, CommentOptions};
use oxc::parser::Parser;
use oxc::span::SourceType;
use oxc_isolated_declarations::{IsolatedDeclarations, IsolatedDeclarationsOptions};
use packem_db::{Diagnostic, DiagnosticCode, Loader, Project, Severity, source_text};
use packem_graph::{module_graph, module_source};
use packem_parse::Source;
use packem_resolve::{Resolution, ResolveKind, ResolveRequest, resolve};

/// One module's declaration file, as oxc prints it (specifiers as the module wrote them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ModuleDeclaration {
    /// The `.d.ts` text.
    pub text: Arc<str>,
    /// The relative module specifiers in `text` (imports, re-exports, `import("…")` types), in
    /// text order.
    pub specifiers: Vec<DeclarationSpecifier>,
    /// What isolated declarations could not declare (errors at the module's own spans).
    pub diagnostics: Arc<[Diagnostic]>,
}

/// A relative specifier in a declaration's text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeclarationSpecifier {
    /// The string literal's byte range in the text, quotes included.
    pub range: (u32, u32),
    /// The specifier.
    pub specifier: String,
}

/// The declarations of a project's own modules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Declarations {
    /// Sorted by path.
    pub modules: Vec<DeclaredModule>,
}

/// One module of [`Declarations`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeclaredModule {
    /// The module's path.
    pub path: Utf8PathBuf,
    /// Its declaration (the [`module_declaration`] memo's).
    pub declaration: Arc<ModuleDeclaration>,
    /// Per specifier of the declaration: the index in [`Declarations::modules`] of the module it
    /// resolves to, when it is one of them.
    pub targets: Vec<Option<u32>>,
}

/// Whether a file under `loader` gets a declaration: code of the project (not under
/// `node_modules`) that is not a declaration file itself.
pub fn declares(path: &Utf8Path, loader: Option<Loader>) -> bool {
    matches!(loader, Some(Loader::Js | Loader::Jsx | Loader::Ts | Loader::Tsx))
        && !packem_db::files::is_virtual(path)
        && !path.components().any(|c| c.as_str() == "node_modules")
        && !is_declaration_file(path.file_name().unwrap_or_default())
}

/// `x.d.ts`, `x.d.mts`, `x.d.cts`, and TypeScript's `x.d.css.ts` for other extensions.
fn is_declaration_file(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    match parts.as_slice() {
        [.., "d", "ts" | "mts" | "cts"] => parts.len() > 2,
        [.., "d", _, "ts"] => parts.len() > 3,
        _ => false,
    }
}

/// The declarations of `project`'s modules: the graph's modules that [`declares`] accepts, and
/// the project files their declarations import by relative specifier (type-only imports are no
/// edges of the graph), transitively. Sorted by path.
#[salsa::tracked(returns(ref))]
pub fn project_declarations(db: &dyn packem_resolve::Db, project: Project) -> Arc<Declarations> {
    let _span = tracing::debug_span!("project_declarations").entered();
    let graph = module_graph(db, project);
    let mut found: BTreeMap<Utf8PathBuf, Source> = BTreeMap::new();
    let mut queue: Vec<Source> = Vec::new();
    for module in &graph.modules {
        if !module.disabled
            && declares(&module.path, module.source.settings(db).loader)
            && !found.contains_key(&module.path)
        {
            found.insert(module.path.clone(), module.source);
            queue.push(module.source);
        }
    }
    // Resolved files of each module's specifiers (None: not a file).
    let mut resolved: BTreeMap<Utf8PathBuf, Vec<Option<Utf8PathBuf>>> = BTreeMap::new();
    while let Some(source) = queue.pop() {
        let path = source.file(db).path(db).clone();
        let dir = path.parent().map(Utf8Path::to_owned).unwrap_or_default();
        let declaration = module_declaration(db, source);
        let mut targets = Vec::with_capacity(declaration.specifiers.len());
        for specifier in &declaration.specifiers {
            let request = ResolveRequest::new(
                db,
                project.scope(db),
                dir.clone(),
                specifier.specifier.clone(),
                ResolveKind::Import,
            );
            let target = match resolve(db, request) {
                Resolution::File { path, .. } => Some(path.clone()),
                _ => None,
            };
            if let Some(target) = &target
                && !found.contains_key(target)
            {
                let file = db.files().file(db, target);
                let source = module_source(db, project, file);
                if declares(target, source.settings(db).loader) {
                    found.insert(target.clone(), source);
                    queue.push(source);
                }
            }
            targets.push(target);
        }
        resolved.insert(path, targets);
    }
    let index: BTreeMap<&Utf8PathBuf, u32> = found.keys().enumerate().map(|(i, path)| (path, i as u32)).collect();
    let modules = found
        .iter()
        .map(|(path, &source)| DeclaredModule {
            path: path.clone(),
            declaration: module_declaration(db, source).clone(),
            targets: resolved[path].iter().map(|t| t.as_ref().and_then(|t| index.get(t).copied())).collect(),
        })
        .collect();
    Arc::new(Declarations { modules })
}

/// `source`'s declaration file: its text parsed as TypeScript (the compiled AST has no types
/// left), run through oxc's isolated declarations and printed with its JSDoc comments.
///
/// A file that cannot be read or parsed gets an empty declaration (those errors are the graph's
/// to report, except a JavaScript file that does not parse as TypeScript, reported here).
#[salsa::tracked(returns(ref))]
pub fn module_declaration(db: &dyn packem_db::Db, source: Source) -> Arc<ModuleDeclaration> {
    let file = source.file(db);
    let path = file.path(db);
    let _span = tracing::debug_span!("module_declaration", path = %path).entered();
    let text = source_text(db, file);
    if text.error().is_some() {
        return Arc::default();
    }
    let loader = source.settings(db).loader;
    let jsx = matches!(loader, Some(Loader::Jsx | Loader::Tsx));
    let source_type = SourceType::from_path(path.as_std_path())
        .unwrap_or_else(|_| SourceType::mjs())
        .with_typescript(true)
        .with_jsx(jsx);
    let text = text.as_str();
    let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        packem_parse::with_stack_for_text(text, || declare(text, source_type))
    }));
    let (declaration, parse_errors) = match made {
        Ok(Ok(made)) => made,
        // Too deep to walk: the graph reports it.
        Ok(Err(_)) => return Arc::default(),
        Err(_) => {
            let error = Diagnostic::error(
                DiagnosticCode::DeclarationError,
                "Internal error: oxc's isolated declarations panicked on this file",
            );
            return Arc::new(ModuleDeclaration {
                diagnostics: Arc::from([error.at(path.clone(), None)]),
                ..Default::default()
            });
        }
    };
    // Parse errors of TypeScript files are the graph's; a JavaScript file that parses as
    // JavaScript but not as TypeScript has no declaration, and says why.
    let parse_errors = if parse_errors.is_empty() || !packem_parse::parsed_diagnostics(db, source).is_empty() {
        Vec::new()
    } else {
        let help = "--declarations reads JavaScript modules as TypeScript, and this one does not parse as TypeScript.";
        parse_errors.into_iter().map(|d| d.with_help(help)).collect()
    };
    let javascript = matches!(loader, Some(Loader::Js | Loader::Jsx));
    let diagnostics = declaration
        .diagnostics
        .iter()
        .map(|d| if javascript { untyped_javascript(d.clone()) } else { d.clone() })
        .chain(parse_errors)
        .map(|d| located(d, path))
        .collect();
    Arc::new(ModuleDeclaration { diagnostics, ..declaration })
}

/// A declaration error of a JavaScript module as a warning: JavaScript has no annotations to add
/// (TypeScript does not report isolated declarations errors in JavaScript files either), so the
/// declaration leaves the type out (`any` to TypeScript).
fn untyped_javascript(mut d: Diagnostic) -> Diagnostic {
    d.severity = Severity::Warning;
    d.help = Some("In a JavaScript module this type is left out of the declaration (`any`); write the module in TypeScript to declare it.".into());
    d
}

/// `d` with `path` as its file and its notes'.
fn located(mut d: Diagnostic, path: &Utf8Path) -> Diagnostic {
    d.file = Some(path.to_owned());
    for note in &mut d.notes {
        if note.range.is_some() && note.file.is_none() {
            note.file = Some(path.to_owned());
        }
    }
    d
}

/// The declaration of `text` (diagnostics without a file), or no declaration and the parse errors.
fn declare(text: &str, source_type: SourceType) -> (ModuleDeclaration, Vec<Diagnostic>) {
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, text, source_type).parse();
    if parsed.panicked || !parsed.diagnostics.is_empty() {
        let errors =
            parsed.diagnostics.iter().map(|d| packem_parse::oxc_diagnostic(d, DiagnosticCode::ParseError)).collect();
        return (ModuleDeclaration::default(), errors);
    }
    let declared = IsolatedDeclarations::new(&allocator, IsolatedDeclarationsOptions { strip_internal: false })
        .build(&parsed.program);
    let options = CodegenOptions {
        comments: CommentOptions { jsdoc: true, ..CommentOptions::disabled() },
        ..CodegenOptions::default()
    };
    let printed = Codegen::new().with_options(options).build(&declared.program).code;
    let diagnostics = declared
        .diagnostics
        .iter()
        .map(|d| packem_parse::oxc_diagnostic(d, DiagnosticCode::DeclarationError))
        .collect();
    let specifiers = relative_specifiers(&printed);
    (ModuleDeclaration { text: Arc::from(printed), specifiers, diagnostics }, Vec::new())
}

/// The relative specifiers of a printed declaration file, found by parsing it.
fn relative_specifiers(text: &str) -> Vec<DeclarationSpecifier> {
    struct Collect(Vec<DeclarationSpecifier>);
    impl Collect {
        fn add(&mut self, literal: &StringLiteral<'_>) {
            let value = literal.value.as_str();
            if value == "." || value == ".." || value.starts_with("./") || value.starts_with("../") {
                let range = (literal.span.start, literal.span.end);
                self.0.push(DeclarationSpecifier { range, specifier: value.to_owned() });
            }
        }
    }
    impl<'a> Visit<'a> for Collect {
        fn visit_import_declaration(&mut self, it: &ImportDeclaration<'a>) {
            self.add(&it.source);
        }
        fn visit_export_all_declaration(&mut self, it: &ExportAllDeclaration<'a>) {
            self.add(&it.source);
        }
        fn visit_export_from_declaration(&mut self, it: &ExportFromDeclaration<'a>) {
            self.add(&it.source);
        }
        fn visit_ts_import_type(&mut self, it: &TSImportType<'a>) {
            self.add(&it.source);
            walk::walk_ts_import_type(self, it);
        }
        fn visit_ts_external_module_reference(&mut self, it: &TSExternalModuleReference<'a>) {
            self.add(&it.expression);
        }
    }
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, text, SourceType::d_ts()).parse();
    let mut collect = Collect(Vec::new());
    collect.visit_program(&parsed.program);
    collect.0.sort_by_key(|s| s.range);
    collect.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(text: &str, path: &str) -> (ModuleDeclaration, Vec<Diagnostic>) {
        let source_type = SourceType::from_path(path).unwrap().with_typescript(true);
        declare(text, source_type)
    }

    #[test]
    fn declares_exports_and_finds_relative_specifiers() {
        let (d, errors) = declared(
            "import { helper, type Options } from './util.ts';\n\
             export type { Options } from \"./util\";\n\
             export * from '../shared/index.js';\n\
             /** Adds. */\n\
             export function add(a: number, b: number): number { return helper(a) + b; }\n\
             export const o = (x: Options): typeof import('./types').T => x as any;\n\
             export { default as pkg } from 'some-package';\n",
            "src/index.ts",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert!(d.diagnostics.is_empty(), "{:?}", d.diagnostics);
        assert!(d.text.contains("/** Adds. */"), "{}", d.text);
        assert!(d.text.contains("export declare function add(a: number, b: number): number;"), "{}", d.text);
        let specs: Vec<&str> = d.specifiers.iter().map(|s| s.specifier.as_str()).collect();
        assert_eq!(specs, ["./util.ts", "./util", "../shared/index.js", "./types"], "{}", d.text);
        for s in &d.specifiers {
            let literal = &d.text[s.range.0 as usize..s.range.1 as usize];
            assert_eq!(&literal[1..literal.len() - 1], s.specifier);
        }
    }

    #[test]
    fn a_missing_return_type_is_a_declaration_error_at_the_function() {
        let text = "export function f(a: number) { return [a].map(String); }\n";
        let (d, _) = declared(text, "a.ts");
        assert_eq!(d.diagnostics.len(), 1, "{:?}", d.diagnostics);
        let error = &d.diagnostics[0];
        assert_eq!(error.code, DiagnosticCode::DeclarationError);
        let (start, end) = error.range.unwrap();
        assert!(text[start as usize..end as usize].contains('f'), "{error:?}");
    }

    #[test]
    fn javascript_is_declared_as_typescript() {
        let (d, errors) = declared("export const answer = 42;\nexport class A { x = 'a'; }\n", "a.js");
        assert!(errors.is_empty() && d.diagnostics.is_empty(), "{errors:?} {:?}", d.diagnostics);
        assert!(d.text.contains("export declare const answer = 42;"), "{}", d.text);
    }

    #[test]
    fn declaration_files_are_recognized() {
        for name in ["a.d.ts", "a.d.mts", "a.d.cts", "a.d.css.ts"] {
            assert!(is_declaration_file(name), "{name}");
        }
        for name in ["a.ts", "d.ts", "a.mts", "a.d.js", "d.css.ts"] {
            assert!(!is_declaration_file(name), "{name}");
        }
    }
}
