//! Per-module minification (`--minify-syntax`, `--minify-identifiers`) with oxc's compressor
//! and mangler, and the compact spelling of generated code (`--minify-whitespace`).
//!
//! Each module is minified on its own, inside `rendered_module`, so a body edit minifies one
//! module again and nothing else. Linking has already given every top-level binding its final
//! (short, with `--minify-identifiers`) name; here:
//!
//! 1. the final names are written into the identifiers ([`bake_names`]): oxc's minifier builds
//!    its own semantic model from the AST, so names kept only in a `Scoping` would be lost, and
//!    other modules' top-level names become free names, which the mangler keeps clear of;
//! 2. the program is compressed as a *script*: its top level is the chunk's, which other modules
//!    read, so nothing declared there may be dropped or inlined away (tree shaking already
//!    dropped what nothing uses);
//! 3. nested bindings are mangled (a CommonJS module's top level too: it is a closure), never
//!    into the names the module reads from outside, including those inside the code linking
//!    spliced in as text (`reserved`);
//! 4. the mangled names are written into the identifiers again, so the module prints without a
//!    `Scoping` (a lazy module prints in two parts).

use oxc::allocator::Allocator;
use oxc::ast::ast::{
    AssignmentTarget, AssignmentTargetMaybeDefault, AssignmentTargetProperty, BindingIdentifier, Expression,
    IdentifierReference, Program, PropertyKey, Statement, VariableDeclarationKind,
};
use oxc::ast::builder::AstBuilder;
use oxc::ast_visit::{VisitMut, walk_mut};
use oxc::minifier::{CompressOptions, MangleOptions, Minifier, MinifierOptions};
use oxc::semantic::{Scoping, SymbolFlags};
use oxc::span::SPAN;
use packem_db::Minify;

/// How one module is minified.
pub(crate) struct ModuleMinify<'o> {
    pub(crate) minify: Minify,
    /// `--keep-names`: functions and classes keep their names.
    pub(crate) keep_names: bool,
    /// The syntax target (`--target`), which bounds the syntax the compressor may produce.
    pub(crate) target: Option<&'o str>,
    /// Whether the module's top level is a closure of its own (a CommonJS wrapper), whose names
    /// may be mangled too.
    pub(crate) closure: bool,
    /// Names no nested binding may take, sorted: the final top-level names the module reads,
    /// and the names inside code spliced in as text (which its AST does not show as names).
    pub(crate) reserved: &'o [String],
}

/// Compresses and mangles `program`, whose module-scope names are final in `scoping`, and
/// writes every name into its identifiers. Returns the private-member renames of its classes
/// for the printer.
pub(crate) fn minify_module<'a>(
    allocator: &'a Allocator,
    program: &mut Program<'a>,
    scoping: &mut Scoping,
    options: &ModuleMinify<'_>,
) -> Option<oxc::minifier::MinifierReturn> {
    if options.minify.identifiers {
        free_reserved_names(scoping, options);
    }
    bake_names(allocator, program, scoping);
    if !options.minify.syntax && !options.minify.identifiers {
        return None;
    }
    let source_type = program.source_type;
    // A nested `import` or `export` declaration (`label: import …`, which a `.cjs` file's parse
    // lets through) is a parse error the module's facts report; the minifier, which sees a
    // script, must not meet it (it asserts). One walk of the tree, beside the compressor's many.
    if packem_parse::nested_module_declaration(program).is_some() {
        return None;
    }
    // The chunk's top level: what is declared there stays (see the module docs).
    program.source_type = source_type.with_script(true);
    let compress = options.minify.syntax.then(|| CompressOptions {
        target: options.target.and_then(|t| oxc::transformer::EngineTargets::from_target(t).ok()).unwrap_or_default(),
        keep_names: if options.keep_names {
            oxc::minifier::CompressOptionsKeepNames::all_true()
        } else {
            oxc::minifier::CompressOptionsKeepNames::all_false()
        },
        // `debugger` statements go only with `--drop:debugger`, as in esbuild.
        drop_debugger: false,
        ..CompressOptions::smallest()
    });
    let mangle = options.minify.identifiers.then(|| MangleOptions {
        top_level: Some(options.closure),
        keep_names: options.keep_names.into(),
        reserved: options.reserved.iter().map(|s| s.as_str().into()).collect(),
        debug: false,
    });
    let hidden = if compress.is_some() { hide_constants(allocator, program) } else { Vec::new() };
    let ret = Minifier::new(MinifierOptions { compress, mangle, mangle_properties: None }).minify(allocator, program);
    if !hidden.is_empty() {
        Restorer { hidden: hidden.into_iter().map(Some).collect() }.visit_program(program);
    }
    program.source_type = source_type;
    if let Some(scoping) = &ret.scoping {
        bake_names(allocator, program, scoping);
    }
    Some(ret)
}

/// Renames the bindings the mangler may rename that carry a reserved name: a final top-level
/// name the module reads (written into its identifiers next, which such a binding would
/// capture) or a name its spliced-in code reads (the mangler keeps a binding that already has a
/// reserved name). The new name is unused in the module, and the mangler shortens it.
fn free_reserved_names(scoping: &mut Scoping, options: &ModuleMinify<'_>) {
    let reserved = |name: &str| options.reserved.binary_search_by(|r| r.as_str().cmp(name)).is_ok();
    let root = scoping.root_scope_id();
    // `--keep-names` keeps function and class names as written.
    let kept =
        |id| options.keep_names && scoping.symbol_flags(id).intersects(SymbolFlags::Function | SymbolFlags::Class);
    let clashing: Vec<_> = scoping
        .symbol_ids()
        .filter(|&id| (options.closure || scoping.symbol_scope_id(id) != root) && reserved(scoping.symbol_name(id)))
        .filter(|&id| !kept(id))
        .collect();
    if clashing.is_empty() {
        return;
    }
    let mut used: rustc_hash::FxHashSet<String> =
        scoping.symbol_ids().map(|id| scoping.symbol_name(id).to_string()).collect();
    used.extend(scoping.root_unresolved_references().keys().map(|k| k.to_string()));
    for id in clashing {
        let mut name = format!("{}$", scoping.symbol_name(id));
        while reserved(&name) || used.contains(&name) {
            name.push('$');
        }
        scoping.set_symbol_name(id, name.as_str().into());
        used.insert(name);
    }
}

/// The stand-in for hidden constant number `n` (see [`hide_constants`]).
const HIDDEN: &str = "__packem_constant_";

/// Hides the initializers of the top-level `let` and `const` declarations whose value is a
/// constant behind free names (`__packem_constant_<n>__`), returned in order.
///
/// The compressor inlines such constants into the functions that read them (it assumes no
/// temporal dead zone), so a read that must throw, because it runs before the declaration (a
/// cycle between modules does that), would read the value instead. A free name has no known
/// value: nothing is inlined, and the declaration keeps its place.
fn hide_constants<'a>(allocator: &'a Allocator, program: &mut Program<'a>) -> Vec<Expression<'a>> {
    let builder = AstBuilder::new(allocator);
    let mut hidden = Vec::new();
    for statement in program.body.iter_mut() {
        let Statement::VariableDeclaration(declaration) = statement else { continue };
        if declaration.kind == VariableDeclarationKind::Var {
            continue;
        }
        for declarator in declaration.declarations.iter_mut() {
            if let Some(init) = &mut declarator.init
                && is_constant(init)
            {
                let name = allocator.alloc_str(&format!("{HIDDEN}{}__", hidden.len()));
                hidden.push(std::mem::replace(init, Expression::new_identifier(SPAN, name, &builder)));
            }
        }
    }
    hidden
}

/// Whether `expr` is made of literals and operators only (what the compressor can evaluate).
fn is_constant(expr: &Expression<'_>) -> bool {
    match expr {
        Expression::StringLiteral(_)
        | Expression::NumericLiteral(_)
        | Expression::BooleanLiteral(_)
        | Expression::NullLiteral(_)
        | Expression::BigIntLiteral(_) => true,
        Expression::TemplateLiteral(t) => t.expressions.iter().all(is_constant),
        Expression::Identifier(id) => matches!(id.name.as_str(), "undefined" | "NaN" | "Infinity"),
        Expression::UnaryExpression(u) => is_constant(&u.argument),
        Expression::BinaryExpression(b) => is_constant(&b.left) && is_constant(&b.right),
        Expression::LogicalExpression(l) => is_constant(&l.left) && is_constant(&l.right),
        Expression::ConditionalExpression(c) => {
            is_constant(&c.test) && is_constant(&c.consequent) && is_constant(&c.alternate)
        }
        Expression::ParenthesizedExpression(p) => is_constant(&p.expression),
        _ => false,
    }
}

/// Puts the constants [`hide_constants`] hid back.
struct Restorer<'a> {
    hidden: Vec<Option<Expression<'a>>>,
}

impl<'a> VisitMut<'a> for Restorer<'a> {
    fn visit_expression(&mut self, expr: &mut Expression<'a>) {
        if let Expression::Identifier(id) = expr
            && let Some(n) = id.name.strip_prefix(HIDDEN).and_then(|n| n.strip_suffix("__"))
            && let Some(original) = n.parse::<usize>().ok().and_then(|n| self.hidden.get_mut(n)?.take())
        {
            *expr = original;
            return;
        }
        walk_mut::walk_expression(self, expr);
    }
}

/// Writes each symbol's name in `scoping` into the identifiers that declare or refer to it. A
/// shorthand `({ a } = b)` whose `a` is renamed keeps reading property `a`: `({ a: x } = b)`.
pub(crate) fn bake_names<'a>(allocator: &'a Allocator, program: &mut Program<'a>, scoping: &Scoping) {
    let mut baker = Baker { allocator, builder: AstBuilder::new(allocator), scoping };
    baker.visit_program(program);
}

struct Baker<'a, 's> {
    allocator: &'a Allocator,
    builder: AstBuilder<'a>,
    scoping: &'s Scoping,
}

impl<'a> VisitMut<'a> for Baker<'a, '_> {
    fn visit_binding_identifier(&mut self, ident: &mut BindingIdentifier<'a>) {
        if let Some(symbol) = ident.symbol_id.get() {
            let name = self.scoping.symbol_name(symbol);
            if name != ident.name.as_str() {
                ident.name = self.allocator.alloc_str(name).into();
            }
        }
    }

    fn visit_identifier_reference(&mut self, ident: &mut IdentifierReference<'a>) {
        if let Some(reference) = ident.reference_id.get()
            && let Some(symbol) = self.scoping.get_reference(reference).symbol_id()
        {
            let name = self.scoping.symbol_name(symbol);
            if name != ident.name.as_str() {
                ident.name = self.allocator.alloc_str(name).into();
            }
        }
    }

    fn visit_assignment_target_property(&mut self, property: &mut AssignmentTargetProperty<'a>) {
        if let AssignmentTargetProperty::AssignmentTargetPropertyIdentifier(shorthand) = property {
            let original = shorthand.binding.name;
            self.visit_identifier_reference(&mut shorthand.binding);
            if shorthand.binding.name != original {
                let key = PropertyKey::new_static_identifier(SPAN, original, &self.builder);
                let name = shorthand.binding.name;
                let target = match shorthand.binding.reference_id.get() {
                    Some(id) => AssignmentTarget::new_assignment_target_identifier_with_reference_id(
                        SPAN,
                        name,
                        id,
                        &self.builder,
                    ),
                    None => AssignmentTarget::new_assignment_target_identifier(SPAN, name, &self.builder),
                };
                let binding = match shorthand.init.take() {
                    Some(init) => AssignmentTargetMaybeDefault::new_assignment_target_with_default(
                        SPAN,
                        target,
                        init,
                        &self.builder,
                    ),
                    None => AssignmentTargetMaybeDefault::from(target),
                };
                *property = AssignmentTargetProperty::new_assignment_target_property_property(
                    SPAN,
                    key,
                    binding,
                    false,
                    &self.builder,
                );
            }
        }
        walk_mut::walk_assignment_target_property(self, property);
    }
}

/// The code of `helpers` (see [`packem_link::Helpers::code`]), minified as `minify` says. Each
/// helper is minified once per process and kind of minification, as a script (its top-level
/// name stays; its locals get short names).
pub(crate) fn helpers_code(helpers: packem_link::Helpers, minify: Minify) -> String {
    use std::sync::OnceLock;
    if !minify.any() {
        return helpers.code();
    }
    static MINIFIED: [OnceLock<Vec<String>>; 8] = [const { OnceLock::new() }; 8];
    let kind = usize::from(minify.whitespace) | usize::from(minify.syntax) << 1 | usize::from(minify.identifiers) << 2;
    let all = MINIFIED[kind]
        .get_or_init(|| packem_link::Helpers::ALL.each().map(|(_, code)| minify_helper(code, minify)).collect());
    let mut out = String::new();
    for (index, _) in helpers.each() {
        out.push_str(&all[index]);
    }
    out
}

/// One helper's code, minified (it is packem's own: it parses).
fn minify_helper(code: &str, minify: Minify) -> String {
    let allocator = Allocator::default();
    let source_type = oxc::span::SourceType::cjs().with_script(true);
    let mut program = oxc::parser::Parser::new(&allocator, code, source_type).parse().program;
    let compress = minify.syntax.then(|| CompressOptions { drop_debugger: false, ..CompressOptions::smallest() });
    let mangle = minify.identifiers.then(|| MangleOptions { top_level: Some(false), ..MangleOptions::default() });
    let ret =
        Minifier::new(MinifierOptions { compress, mangle, mangle_properties: None }).minify(&allocator, &mut program);
    let options = oxc::codegen::CodegenOptions {
        minify: minify.whitespace,
        comments: oxc::codegen::CommentOptions::disabled(),
        indent_char: oxc::codegen::IndentChar::Space,
        indent_width: 2,
        ..oxc::codegen::CodegenOptions::default()
    };
    let mut out = oxc::codegen::Codegen::new().with_options(options).with_scoping(ret.scoping).build(&program).code;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}
