//! `rendered_module`: one module's code, with imports and exports rewritten and top-level names
//! renamed, ready to be concatenated into a chunk.
//!
//! The parse memo is shared and immutable, so rendering parses the source again into a fresh
//! arena it may mutate (architecture note §3.3, option b): the memo can then be evicted by its
//! LRU, and re-parsing a module costs less than its share of a rebuild anyway.

use oxc::allocator::Allocator;
use oxc::ast::ast::{
    BindingPattern, ExportDefaultDeclarationKind, Expression, Program, Statement, VariableDeclarationKind,
    VariableDeclarator,
};
use oxc::ast::builder::AstBuilder;
use oxc::ast_visit::{VisitMut, walk_mut};
use oxc::codegen::{Codegen, CodegenOptions};
use oxc::semantic::Scoping;
use oxc::span::{GetSpan, SPAN};
use packem_db::source_text;
use packem_db::syntax::{json_expression, quote};
use packem_link::{Helpers, ModuleLink};
use packem_parse::{ImportKind, ModuleFormat, Source, module_scan, parsed_module};
use rustc_hash::FxHashMap;

use crate::{Format, Piece, Target, spelling};

/// One module's code as it appears in its chunk, and what the chunk's prelude must provide.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RenderedModule {
    /// The code (wrapped in `__commonJS` or `__esm` when the module is), indented for its place.
    pub code: Piece,
    /// Whether the code calls `__require` (the chunk defines it).
    pub uses_require: bool,
    /// Whether the code reads the `__import_meta_*` shims (the chunk defines them).
    pub uses_import_meta: bool,
    /// Runtime helpers the code calls (`__toBinary`, `__name`).
    pub helpers: Helpers,
    /// Legal comments collected for the end of the output (`--legal-comments=eof`).
    pub legal_comments: Vec<String>,
    /// The module's `#!` line (without `#!`): an entry's output starts with it.
    pub hashbang: Option<String>,
}

/// The code of one module as it appears in its chunk (wrapped in `__commonJS` when it is).
///
/// In an IIFE everything is one level deeper; user code is indented by the code generator, never
/// by editing lines (which would change multi-line template literals).
#[salsa::tracked(returns(ref))]
pub fn rendered_module(db: &dyn packem_resolve::Db, target: Target, source: Source) -> RenderedModule {
    let file = source.file(db);
    let _span = tracing::debug_span!("rendered_module", path = %file.path(db)).entered();
    let project = target.project(db);
    let info = crate::link_info(db, target, source);
    let format = target.format(db);
    let base = u32::from(format == Format::Iife);
    let level = base + u32::from(info.wrap.is_some() || info.lazy.is_some());
    let scan = module_scan(db, source);
    let platform = project.options(db).platform;
    let style = crate::Style::of(db, target);
    let link_options = project.link(db);
    let emit = Emit {
        format,
        platform,
        level,
        options: target.emit(db),
        minify: link_options.minify,
        keep_names: link_options.keep_names,
    };
    let empty = || Printed {
        outside: String::new(),
        body: String::new(),
        legal: Vec::new(),
        hashbang: None,
        helpers: Helpers::default(),
        uses_require: false,
        uses_import_meta: false,
    };
    let printed = if file.status(db) != packem_db::FileStatus::Exists {
        // Disabled (`browser: false`): an empty module.
        empty()
    } else if matches!(scan.format, ModuleFormat::Json | ModuleFormat::Asset) {
        // A `binary` value calls the helper `packem_graph::asset_value` picked for the platform.
        let helpers = match source.settings(db).loader {
            Some(packem_db::Loader::Binary) if platform == packem_db::Platform::Node => Helpers::TO_BINARY_NODE,
            Some(packem_db::Loader::Binary) => Helpers::TO_BINARY,
            _ => Helpers::default(),
        };
        match value_module_code(db, target, source, info.wrap.is_some()) {
            Some(code) if info.wrap.is_some() => Printed { body: style.glue(&code, level), helpers, ..empty() },
            Some(code) => {
                let settings = packem_parse::CompileSettings::for_loader(file.path(db), packem_db::Loader::Js);
                let nesting = parsed_module(db, source);
                let printed = nesting.with_stack(|| render_code(db, source, &code, &settings, info, &emit));
                Printed { helpers: printed.helpers | helpers, ..printed }
            }
            None => empty(),
        }
    } else if source_text(db, file).error().is_some() {
        // Unreadable (already an error): an empty module.
        empty()
    } else {
        let parsed = parsed_module(db, source);
        let text = source_text(db, file).as_str();
        parsed.with_stack(|| render_code(db, source, text, source.settings(db), info, &emit))
    };
    let Printed { outside, body, legal, hashbang, mut helpers, uses_require, uses_import_meta } = printed;
    let code = match (&info.wrap, &info.lazy) {
        (Some(wrapper), _) => {
            helpers |= Helpers::COMMON_JS;
            format!(
                "{}{body}{}",
                style.glue(&format!("var {wrapper} = __commonJS(function (exports, module, require) {{\n"), base),
                style.glue("});\n", base)
            )
        }
        (None, Some(lazy)) => {
            helpers |= lazy.helpers();
            let mut inner = String::new();
            if let Some(namespace) = &lazy.namespace {
                spelling::export_getters(namespace, &lazy.getters, lazy.open, &mut inner);
            }
            for glue in &lazy.prologue {
                spelling::glue(glue, false, &mut inner);
            }
            // The prologue's variables are read by other modules too: declared outside the closure.
            let hoisted: Vec<&str> = lazy.prologue.iter().filter_map(|g| g.declares()).collect();
            let head = format!(
                "{}{}",
                lazy.namespace.as_ref().map(|ns| format!("var {ns} = {{}};\n")).unwrap_or_default(),
                if hoisted.is_empty() { String::new() } else { format!("var {};\n", hoisted.join(", ")) },
            );
            let open =
                format!("var {} = __esm({}function () {{\n", lazy.init, if lazy.is_async { "async " } else { "" });
            format!(
                "{}{outside}{}{}{body}{}",
                style.glue(&head, base),
                style.glue(&open, base),
                style.glue(&inner, level),
                style.glue("});\n", base)
            )
        }
        (None, None) => body,
    };
    RenderedModule { uses_require, uses_import_meta, helpers, legal_comments: legal, hashbang, code: Piece::new(code) }
}

/// The code of a JSON or asset module: `module.exports = <value>;` when it is wrapped, else
/// JavaScript declaring the variables its symbols name (see `packem_link::value_module_locals`):
/// one per top-level JSON key and `<stem>_default` for the whole value. `None` when the module
/// has no value (an empty or failed asset: already reported).
fn value_module_code(db: &dyn packem_resolve::Db, target: Target, source: Source, wrapped: bool) -> Option<String> {
    let project = target.project(db);
    let file = source.file(db);
    let scan = module_scan(db, source);
    let value = if scan.format == ModuleFormat::Json {
        let text = source_text(db, file).as_str().trim();
        if text.is_empty() || !parsed_module(db, source).errors().is_empty() {
            return None;
        }
        json_expression(text)
    } else {
        match packem_graph::asset_value(db, project, source) {
            Some(Ok(value)) => value.clone(),
            _ => return None,
        }
    };
    if wrapped {
        return Some(format!("module.exports = {value};\n"));
    }
    let (default_local, keys) = packem_link::value_module_locals(file.path(db), scan);
    let default_local = default_local?;
    if keys.is_empty() {
        return Some(format!("var {default_local} = {value};\n"));
    }
    // One variable per key, then the object made of them (so `data.key === key`).
    let parsed = parsed_module(db, source);
    let text = source_text(db, file).as_str();
    let Some(Expression::ObjectExpression(object)) = parsed.json_value() else {
        return Some(format!("var {default_local} = {value};\n"));
    };
    let mut values: FxHashMap<String, &str> = FxHashMap::default();
    for property in &object.properties {
        if let oxc::ast::ast::ObjectPropertyKind::ObjectProperty(p) = property
            && let oxc::ast::ast::PropertyKey::StringLiteral(key) = &p.key
        {
            let span = p.value.span();
            values.insert(key.value.to_string(), &text[span.start as usize..span.end as usize]);
        }
    }
    let mut code = String::new();
    let mut fields = Vec::new();
    for (key, local) in &keys {
        let value = values.get(key).map_or_else(|| "void 0".to_string(), |v| json_expression(v));
        code.push_str(&format!("var {local} = {value};\n"));
        let quoted = quote(key);
        fields.push(if key == "__proto__" { format!("[{quoted}]: {local}") } else { format!("{quoted}: {local}") });
    }
    code.push_str(&format!("var {default_local} = {{\n  {}\n}};\n", fields.join(",\n  ")));
    Some(code)
}

/// How one module is printed.
struct Emit<'e> {
    format: Format,
    platform: packem_db::Platform,
    /// Indentation level of the module's code.
    level: u32,
    options: &'e crate::EmitOptions,
    minify: packem_db::Minify,
    keep_names: bool,
}

/// A module's printed code: what goes before its `__esm` closure (hoisted declarations), the
/// code, and its legal comments when they are collected at the end of the output.
struct Printed {
    outside: String,
    body: String,
    legal: Vec<String>,
    /// The file's `#!` line, which only the entry's output keeps (as its first line).
    hashbang: Option<String>,
    /// Runtime helpers the printed code calls.
    helpers: Helpers,
    /// Whether the code calls the chunk's `__require`.
    uses_require: bool,
    /// Whether the code reads the chunk's `__import_meta_*` variables.
    uses_import_meta: bool,
}

fn render_code(
    db: &dyn packem_resolve::Db,
    source: Source,
    text: &str,
    settings: &packem_parse::CompileSettings,
    info: &ModuleLink,
    emit: &Emit<'_>,
) -> Printed {
    let (format, platform, level) = (emit.format, emit.platform, emit.level);
    let path = source.file(db).path(db);
    let allocator = Allocator::default();
    let compiled = packem_parse::compile(&allocator, path, text, settings, false);
    let mut program = compiled.program;
    let mut scoping = compiled.scoping;
    let hashbang = program.hashbang.take().map(|h| h.value.to_string());
    // Tree shaking: the statements linking dropped go first (indices are the compiled program's,
    // as the scan saw it).
    if !info.dropped.is_empty() {
        let body = std::mem::replace(&mut program.body, oxc::allocator::Vec::new_in(&&allocator));
        let mut dropped = info.dropped.iter().peekable();
        for (index, statement) in body.into_iter().enumerate() {
            if dropped.next_if(|&&d| d as usize == index).is_none() {
                program.body.push(statement);
            }
        }
    }

    // Records are found again by the span of their specifier string.
    let scan = module_scan(db, source);
    let wrapped = info.wrap.is_some();
    let mut record_rewrites: FxHashMap<(u32, u32), String> = FxHashMap::default();
    let mut helpers = Helpers::default();
    let mut uses_require = false;
    for (index, rewrite) in &info.records {
        let Some(record) = scan.records.get(*index as usize) else {
            continue;
        };
        if matches!(record.kind, ImportKind::Require | ImportKind::DynamicImport) {
            let spelled = spelling::record(rewrite, format, wrapped);
            let spelled = if emit.minify.whitespace { spelling::compact(&spelled) } else { spelled };
            record_rewrites.insert(record.span, spelled);
            helpers |= rewrite.helpers(format == Format::Esm);
            uses_require |= spelling::record_uses_require(rewrite, format, wrapped);
        }
    }

    let builder = AstBuilder::new(&allocator);
    if !wrapped {
        rewrite_module_syntax(&mut program, &builder, &allocator, info);
    }
    let namespaces: FxHashMap<String, FxHashMap<String, String>> = info
        .namespace_members
        .iter()
        .map(|(ns, props)| (ns.clone(), props.iter().map(|(p, v)| (p.clone(), spelling::value(v))).collect()))
        .collect();
    let namespace_texts: Vec<String> = if emit.minify.identifiers {
        namespaces.values().flat_map(|m| m.values().cloned()).collect()
    } else {
        Vec::new()
    };
    let mut rewriter = Rewriter {
        builder: &builder,
        allocator: &allocator,
        scoping: &scoping,
        records: &record_rewrites,
        namespaces,
        top_level_this: !wrapped,
        hide_commonjs_globals: !wrapped && scan.format == ModuleFormat::Esm && format != Format::Esm,
        node_require: !wrapped && format == Format::Esm && platform == packem_db::Platform::Node,
        function_depth: 0,
        uses_require: false,
        uses_import_meta: false,
        import_meta: match (format, platform) {
            (Format::Esm, _) => None,
            (_, packem_db::Platform::Node) => Some(true),
            _ => Some(false),
        },
    };
    rewriter.visit_program(&mut program);
    let uses_require = uses_require || rewriter.uses_require;
    let uses_import_meta = rewriter.uses_import_meta;

    if emit.keep_names && !wrapped && keep_names(&mut program, &builder, &allocator, &info.renames) {
        helpers |= Helpers::NAME;
    }
    let style = crate::Style { compact: emit.minify.whitespace };
    let mut legal = Vec::new();

    // A lazy module's declarations move out of its `__esm` closure, so other modules can reach
    // them; only their initialization runs inside (esbuild does the same).
    let mut outside = String::new();
    let mut functions = None;
    if info.lazy.is_some() {
        let finals: FxHashMap<&str, &str> = info.renames.iter().map(|(l, f)| (l.as_str(), f.as_str())).collect();
        let (hoisted, vars) = hoist_declarations(&mut program, &builder, &allocator, &finals);
        if !vars.is_empty() {
            outside.push_str(&style.glue(&format!("var {};\n", vars.join(", ")), level - 1));
        }
        functions = Some(hoisted);
    }
    if !wrapped {
        rename(&mut scoping, &info.renames);
    }

    if emit.minify.any() {
        // Hoisted functions are minified with the rest and split off again after.
        if let Some(hoisted) = functions {
            let rest = std::mem::replace(&mut program.body, hoisted);
            program.body.extend(rest);
        }
        let mut reserved: Vec<String> = Vec::new();
        for text in record_rewrites.values().chain(namespace_texts.iter()) {
            reserved.extend(words(text));
        }
        reserved.extend(GENERATED_NAMES.iter().map(|s| s.to_string()));
        reserved.extend(info.renames.iter().map(|(_, name)| name.clone()));
        reserved.sort_unstable();
        reserved.dedup();
        let minified = crate::minify::minify_module(
            &allocator,
            &mut program,
            &mut scoping,
            &crate::minify::ModuleMinify {
                minify: emit.minify,
                keep_names: emit.keep_names,
                target: settings.target.as_deref(),
                closure: wrapped,
                reserved: &reserved,
            },
        );
        let mut print = |program: &Program<'_>| {
            codegen(program, None, minified.as_ref(), text, level, emit.options, emit.minify.whitespace, &mut legal)
        };
        if info.lazy.is_some() {
            let all = std::mem::replace(&mut program.body, oxc::allocator::Vec::new_in(&&allocator));
            let mut rest = oxc::allocator::Vec::new_in(&&allocator);
            for statement in all {
                if matches!(statement, Statement::FunctionDeclaration(_)) {
                    program.body.push(statement);
                } else {
                    rest.push(statement);
                }
            }
            if !program.body.is_empty() {
                outside.push_str(&print(&program));
            }
            program.body = rest;
        }
        let body = print(&program);
        return Printed { outside, body, legal, hashbang, helpers, uses_require, uses_import_meta };
    }

    let mut print = |program: &Program<'_>, scoping: Scoping| {
        codegen(program, Some(scoping), None, text, level, emit.options, false, &mut legal)
    };
    if let Some(functions) = functions {
        if functions.is_empty() {
            let body = print(&program, scoping);
            return Printed { outside, body, legal, hashbang, helpers, uses_require, uses_import_meta };
        }
        // One codegen pass (it consumes the scoping): functions, a marker line, the rest.
        const MARKER: &str = "__packem_hoist_split__";
        let inside = std::mem::replace(&mut program.body, functions);
        program.body.push(Statement::new_expression_statement(
            SPAN,
            Expression::new_identifier(SPAN, MARKER, &builder),
            &builder,
        ));
        program.body.extend(inside);
        let code = print(&program, scoping);
        let split = code.find(&format!("{MARKER};\n")).unwrap_or(code.len());
        // The marker line starts with the indentation: cut there.
        let line_start = code[..split].rfind('\n').map_or(0, |i| i + 1);
        outside.push_str(&code[..line_start]);
        let body = code.get(split + MARKER.len() + 2..).unwrap_or_default().to_string();
        return Printed { outside, body, legal, hashbang, helpers, uses_require, uses_import_meta };
    }
    let body = print(&program, scoping);
    Printed { outside, body, legal, hashbang, helpers, uses_require, uses_import_meta }
}

/// Names generated code refers to that a module's printed code may contain as text: no
/// nested binding may be minified into one of them.
const GENERATED_NAMES: &[&str] = &[
    "__require",
    "__import_meta_url",
    "__import_meta_dirname",
    "__import_meta_filename",
    "__name",
    "Object",
    "Promise",
];

/// The names in generated code `text` (words that do not start with a digit).
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()))
        .filter(|w| w.chars().next().is_some_and(|c| !c.is_ascii_digit()))
        .map(str::to_string)
}

/// Prints `program` with two-space indentation, every line `level` levels deep. Legal comments
/// are kept in place, dropped, or (for the end of the output) appended to `legal`.
#[allow(clippy::too_many_arguments)]
fn codegen(
    program: &Program<'_>,
    scoping: Option<Scoping>,
    minified: Option<&oxc::minifier::MinifierReturn>,
    text: &str,
    level: u32,
    options: &crate::EmitOptions,
    compact: bool,
    legal: &mut Vec<String>,
) -> String {
    use oxc::codegen::{CommentOptions, LegalComment};
    let legal_mode = match options.legal_comments {
        crate::LegalComments::None => LegalComment::None,
        crate::LegalComments::Inline => LegalComment::Inline,
        crate::LegalComments::Eof => LegalComment::External,
    };
    let ret = Codegen::new()
        .with_options(CodegenOptions {
            comments: CommentOptions { legal: legal_mode, ..CommentOptions::disabled() },
            minify: compact,
            indent_char: oxc::codegen::IndentChar::Space,
            indent_width: 2,
            initial_indent: if compact { 0 } else { level },
            ..CodegenOptions::default()
        })
        .with_scoping(scoping)
        // The private member names (`#x`) the mangler chose.
        .with_private_member_mappings(minified.and_then(|m| m.class_private_mappings.clone()))
        .build(program);
    for comment in &ret.legal_comments {
        if let Some(text) = text.get(comment.span.start as usize..comment.span.end as usize) {
            legal.push(text.to_string());
        }
    }
    let mut code = ret.code;
    // Compact code prints on one line: a module still ends its own.
    if compact && !code.is_empty() && !code.ends_with('\n') {
        code.push('\n');
    }
    code
}

/// `--keep-names`: after each top-level function, class or variable holding an anonymous
/// function or class that linking renames, `__name(final, "original")` restores its `name`.
/// Whether it added any.
fn keep_names<'a>(
    program: &mut Program<'a>,
    builder: &AstBuilder<'a>,
    allocator: &'a Allocator,
    renames: &[(String, String)],
) -> bool {
    if renames.is_empty() {
        return false;
    }
    let mut added = false;
    let finals: FxHashMap<&str, &str> = renames.iter().map(|(l, f)| (l.as_str(), f.as_str())).collect();
    let named = |name: &str| -> Option<Statement<'a>> {
        let final_name = finals.get(name)?;
        let text = format!("__name({final_name}, {})", quote(name));
        Some(Statement::new_expression_statement(
            SPAN,
            Expression::new_identifier(SPAN, allocator.alloc_str(&text), builder),
            builder,
        ))
    };
    let body = std::mem::replace(&mut program.body, oxc::allocator::Vec::new_in(&allocator));
    for statement in body {
        let mut after = Vec::new();
        match &statement {
            Statement::FunctionDeclaration(f) => after.extend(f.id.as_ref().and_then(|id| named(&id.name))),
            Statement::ClassDeclaration(c) => after.extend(c.id.as_ref().and_then(|id| named(&id.name))),
            Statement::VariableDeclaration(decl) => {
                for d in &decl.declarations {
                    let anonymous = match d.init.as_ref().map(|e| e.without_parentheses()) {
                        Some(Expression::FunctionExpression(f)) => f.id.is_none(),
                        Some(Expression::ClassExpression(c)) => c.id.is_none(),
                        Some(Expression::ArrowFunctionExpression(_)) => true,
                        _ => false,
                    };
                    if anonymous && let BindingPattern::BindingIdentifier(id) = &d.id {
                        after.extend(named(&id.name));
                    }
                }
            }
            _ => {}
        }
        added |= !after.is_empty();
        program.body.push(statement);
        program.body.extend(after);
    }
    added
}

/// Splits a lazy module's top level: function declarations are returned (they go outside the
/// closure), `var`/`let`/`const`/`class` declarations become assignments in place and their names
/// are returned (declared with `var` outside). Destructuring declarations stay as they are.
fn hoist_declarations<'a>(
    program: &mut Program<'a>,
    builder: &AstBuilder<'a>,
    allocator: &'a Allocator,
    finals: &FxHashMap<&str, &str>,
) -> (oxc::allocator::Vec<'a, Statement<'a>>, Vec<String>) {
    let final_name = |name: &str| -> &'a str { allocator.alloc_str(finals.get(name).copied().unwrap_or(name)) };
    let assign = |name: &'a str, value: Expression<'a>| -> Statement<'a> {
        let target = oxc::ast::ast::AssignmentTarget::new_assignment_target_identifier(SPAN, name, builder);
        let expression = Expression::new_assignment_expression(
            SPAN,
            oxc::ast::ast::AssignmentOperator::Assign,
            target,
            value,
            builder,
        );
        Statement::new_expression_statement(SPAN, expression, builder)
    };
    let mut functions = oxc::allocator::Vec::new_in(&allocator);
    let mut vars = Vec::new();
    let body = std::mem::replace(&mut program.body, oxc::allocator::Vec::new_in(&allocator));
    for statement in body {
        match statement {
            Statement::FunctionDeclaration(_) => functions.push(statement),
            Statement::ClassDeclaration(mut class) if class.id.is_some() => {
                let name = final_name(class.id.as_ref().map(|id| id.name.as_str()).unwrap_or_default());
                vars.push(name.to_string());
                class.r#type = oxc::ast::ast::ClassType::ClassExpression;
                program.body.push(assign(name, Expression::ClassExpression(class)));
            }
            Statement::VariableDeclaration(decl)
                if decl.declarations.iter().all(|d| matches!(d.id, BindingPattern::BindingIdentifier(_))) =>
            {
                for declarator in decl.unbox().declarations {
                    let BindingPattern::BindingIdentifier(id) = &declarator.id else { continue };
                    let name = final_name(id.name.as_str());
                    vars.push(name.to_string());
                    if let Some(init) = declarator.init {
                        program.body.push(assign(name, init));
                    }
                }
            }
            other => program.body.push(other),
        }
    }
    (functions, vars)
}

/// Renames module-scope bindings to their final names.
fn rename(scoping: &mut Scoping, renames: &[(String, String)]) {
    let root = scoping.root_scope_id();
    let ids: Vec<_> = renames
        .iter()
        .filter_map(|(local, final_name)| {
            scoping.get_binding(root, local.as_str().into()).map(|id| (id, final_name.clone()))
        })
        .collect();
    for (id, final_name) in ids {
        scoping.set_symbol_name(id, final_name.as_str().into());
    }
}

/// Removes `import` and `export` syntax: declarations stay, specifier lists and `from` clauses go
/// (the linker has bound them), `export default <expr>` becomes a variable.
fn rewrite_module_syntax<'a>(
    program: &mut Program<'a>,
    builder: &AstBuilder<'a>,
    allocator: &'a Allocator,
    info: &ModuleLink,
) {
    let body = std::mem::replace(&mut program.body, oxc::allocator::Vec::new_in(&allocator));
    for statement in body {
        match statement {
            Statement::ImportDeclaration(_)
            | Statement::ExportFromDeclaration(_)
            | Statement::ExportAllDeclaration(_)
            | Statement::ExportNamedDeclaration(_)
            | Statement::TSExportAssignment(_)
            | Statement::TSNamespaceExportDeclaration(_) => {}
            Statement::ExportDeclaration(decl) => {
                let decl = decl.unbox();
                program.body.push(Statement::from(decl.declaration));
            }
            Statement::ExportDefaultDeclaration(decl) => {
                let decl = decl.unbox();
                let default_name = info.default_local.as_deref().unwrap_or("__default");
                match decl.declaration {
                    ExportDefaultDeclarationKind::FunctionDeclaration(mut function) => {
                        let anonymous = function.id.is_none();
                        if anonymous {
                            function.id = Some(oxc::ast::ast::BindingIdentifier::new(
                                SPAN,
                                allocator.alloc_str(default_name),
                                builder,
                            ));
                        }
                        program.body.push(Statement::FunctionDeclaration(function));
                        if anonymous {
                            program.body.push(default_name_fix(default_name, builder, allocator));
                        }
                    }
                    ExportDefaultDeclarationKind::ClassDeclaration(mut class) => {
                        let anonymous = class.id.is_none();
                        if anonymous {
                            class.id = Some(oxc::ast::ast::BindingIdentifier::new(
                                SPAN,
                                allocator.alloc_str(default_name),
                                builder,
                            ));
                        }
                        program.body.push(Statement::ClassDeclaration(class));
                        if anonymous {
                            program.body.push(default_name_fix(default_name, builder, allocator));
                        }
                    }
                    ExportDefaultDeclarationKind::TSInterfaceDeclaration(_) => {}
                    kind => {
                        let expression = kind.into_expression();
                        let anonymous = match expression.without_parentheses() {
                            Expression::FunctionExpression(f) => f.id.is_none(),
                            Expression::ClassExpression(c) => c.id.is_none(),
                            Expression::ArrowFunctionExpression(_) => true,
                            _ => false,
                        };
                        let id =
                            BindingPattern::new_binding_identifier(SPAN, allocator.alloc_str(default_name), builder);
                        let declarator = VariableDeclarator::new(SPAN, id, None, Some(expression), false, builder);
                        let declarations = oxc::allocator::Vec::from_iter_in([declarator], &allocator);
                        program.body.push(Statement::new_variable_declaration(
                            SPAN,
                            VariableDeclarationKind::Var,
                            declarations,
                            false,
                            builder,
                        ));
                        if anonymous {
                            program.body.push(default_name_fix(default_name, builder, allocator));
                        }
                    }
                }
            }
            other => program.body.push(other),
        }
    }
}

/// `Object.defineProperty(f, "name", …)`: an anonymous `export default` function or class is
/// named `default`, as ESM names it, not after the variable packem gives it.
fn default_name_fix<'a>(name: &str, builder: &AstBuilder<'a>, allocator: &'a Allocator) -> Statement<'a> {
    let text = format!("Object.defineProperty({name}, \"name\", {{ value: \"default\", configurable: true }})");
    let expression = Expression::new_identifier(SPAN, allocator.alloc_str(&text), builder);
    Statement::new_expression_statement(SPAN, expression, builder)
}

/// Expression rewrites: `require()`/`import()` of bundled modules, `ns.name` of unmaterialized
/// namespaces, and top-level `this` (undefined in ESM).
struct Rewriter<'a, 'r> {
    builder: &'r AstBuilder<'a>,
    allocator: &'a Allocator,
    scoping: &'r Scoping,
    records: &'r FxHashMap<(u32, u32), String>,
    namespaces: FxHashMap<String, FxHashMap<String, String>>,
    top_level_this: bool,
    /// ESM code sees no `require`/`module`/`exports` (CommonJS output has them in scope).
    hide_commonjs_globals: bool,
    /// A free `require` in scope-hoisted code of ESM output for node is `createRequire`'s.
    node_require: bool,
    function_depth: u32,
    /// Set when a free `require` became the chunk's `__require`.
    uses_require: bool,
    /// Set when `import.meta` became the chunk's `__import_meta_*` variables.
    uses_import_meta: bool,
    /// How to replace `import.meta` outside ESM output: `Some(true)` with the output file's
    /// location (CommonJS for node), `Some(false)` with an empty object, `None` keep it.
    import_meta: Option<bool>,
}

impl<'a> Rewriter<'a, '_> {
    /// An expression printed as `text` verbatim. Parenthesized unless it is a plain name, so it
    /// is safe in any position.
    fn verbatim(&self, text: &str) -> Expression<'a> {
        let simple = text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$');
        let text = if simple { text.to_string() } else { format!("({text})") };
        Expression::new_identifier(SPAN, self.allocator.alloc_str(&text), self.builder)
    }

    fn namespace_member(&self, expr: &Expression<'a>) -> Option<String> {
        let (object, property) = match expr {
            Expression::StaticMemberExpression(m) => (&m.object, m.property.name.to_string()),
            Expression::ComputedMemberExpression(m) => (&m.object, m.static_property_name()?.to_string()),
            _ => return None,
        };
        let Expression::Identifier(ident) = object else {
            return None;
        };
        let symbol = self.scoping.get_reference(ident.reference_id.get()?).symbol_id()?;
        if self.scoping.symbol_scope_id(symbol) != self.scoping.root_scope_id() {
            return None;
        }
        let members = self.namespaces.get(self.scoping.symbol_name(symbol))?;
        Some(members.get(&property).cloned().unwrap_or_else(|| "void 0".to_string()))
    }

    /// `import.meta` and `import.meta.{url,dirname,filename}` outside ESM output.
    fn import_meta(&mut self, expr: &Expression<'a>) -> Option<String> {
        let node = self.import_meta?;
        let is_meta = |e: &Expression<'a>| matches!(e, Expression::ImportMeta(_));
        // Chunk-level variables (defined by the chunk when used), so a local `require` or
        // `__dirname` in the module cannot capture them.
        let text = match expr {
            Expression::StaticMemberExpression(m) if is_meta(&m.object) && node => match m.property.name.as_str() {
                "url" => Some("__import_meta_url".to_string()),
                "dirname" => Some("__import_meta_dirname".to_string()),
                "filename" => Some("__import_meta_filename".to_string()),
                _ => Some("void 0".to_string()),
            },
            e if is_meta(e) => Some(if node {
                "{ url: __import_meta_url, dirname: __import_meta_dirname, filename: __import_meta_filename }"
                    .to_string()
            } else {
                "{}".to_string()
            }),
            _ => None,
        }?;
        self.uses_import_meta |= text.contains("__import_meta_");
        Some(text)
    }

    fn record_of(&self, expr: &Expression<'a>) -> Option<String> {
        let argument = match expr {
            Expression::CallExpression(call) => match (&call.callee, call.arguments.first()) {
                (Expression::Identifier(callee), Some(arg))
                    if callee.name == "require" && call.arguments.len() == 1 =>
                {
                    arg.as_expression()?
                }
                _ => return None,
            },
            Expression::ImportExpression(import) => &import.source,
            _ => return None,
        };
        let (Expression::StringLiteral(_) | Expression::TemplateLiteral(_)) = argument else {
            return None;
        };
        let span = argument.span();
        self.records.get(&(span.start, span.end)).cloned()
    }
}

impl<'a> VisitMut<'a> for Rewriter<'a, '_> {
    fn visit_expression(&mut self, expr: &mut Expression<'a>) {
        if let Some(text) = self.record_of(expr).or_else(|| self.namespace_member(expr)) {
            *expr = self.verbatim(&text);
            return;
        }
        if let Some(text) = self.import_meta(expr) {
            *expr = self.verbatim(&text);
            return;
        }
        // `typeof require` is a feature test: ESM code sees no `require`, as in Node.
        if self.node_require
            && let Expression::UnaryExpression(unary) = expr
            && unary.operator == oxc::ast::ast::UnaryOperator::Typeof
            && matches!(&unary.argument, Expression::Identifier(ident) if ident.name == "require")
        {
            return;
        }
        if self.node_require
            && let Expression::Identifier(ident) = expr
            && ident.name == "require"
            && ident.reference_id.get().is_some_and(|r| self.scoping.get_reference(r).symbol_id().is_none())
        {
            self.uses_require = true;
            *expr = self.verbatim("__require");
            return;
        }
        if self.hide_commonjs_globals
            && let Expression::Identifier(ident) = expr
            && matches!(ident.name.as_str(), "require" | "module" | "exports")
            && ident.reference_id.get().is_some_and(|r| self.scoping.get_reference(r).symbol_id().is_none())
        {
            *expr = self.verbatim("void 0");
            return;
        }
        if self.top_level_this && self.function_depth == 0 && matches!(expr, Expression::ThisExpression(_)) {
            *expr = self.verbatim("void 0");
            return;
        }
        walk_mut::walk_expression(self, expr);
    }

    fn visit_function(&mut self, function: &mut oxc::ast::ast::Function<'a>, flags: oxc::semantic::ScopeFlags) {
        self.function_depth += 1;
        walk_mut::walk_function(self, function, flags);
        self.function_depth -= 1;
    }

    fn visit_class(&mut self, class: &mut oxc::ast::ast::Class<'a>) {
        self.function_depth += 1;
        walk_mut::walk_class(self, class);
        self.function_depth -= 1;
    }
}
