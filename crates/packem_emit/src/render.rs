//! `rendered_module`: one module's code, with imports and exports rewritten and top-level names
//! renamed, ready to be concatenated into a chunk.
//!
//! The parse memo is shared and immutable, so rendering parses the source again into a fresh
//! arena it may mutate (architecture note §3.3, option b): the memo can then be evicted by its
//! LRU, and re-parsing a module costs less than its share of a rebuild anyway.

use std::sync::Arc;

use oxc::allocator::{Allocator, CloneIn};
use oxc::ast::ast::{
    AssignmentTarget, BindingPattern, ExportDefaultDeclarationKind, Expression, Program, Statement,
    VariableDeclarationKind, VariableDeclarator,
};
use oxc::ast::builder::AstBuilder;
use oxc::ast_visit::{VisitMut, walk_mut};
use oxc::codegen::{Codegen, CodegenOptions};
use oxc::semantic::Scoping;
use oxc::span::{GetSpan, SPAN};
use packem_db::source_text;
use packem_db::stored::StoredKind;
use packem_db::syntax::{json_expression, quote};
use packem_link::{Helpers, ModuleLink};
use packem_parse::{ImportKind, ModuleFormat, Source, module_scan, parsed_module};
use rustc_hash::FxHashMap;

use crate::{Format, Piece, Target, spelling};

/// One module's code as it appears in its chunk, and what the chunk's prelude must provide.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
    /// With source maps: the code's mappings, sources and names.
    pub map: Option<Arc<crate::sourcemap::ModuleMap>>,
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
    // A render an earlier process stored under the same key (see `render_key`) is this one.
    if packem_db::stored::StoredResults::try_get(db).is_some()
        && let Some(key) = *render_key(db, target, source)
        && let Some(bytes) = packem_db::stored::stored(db, StoredKind::Render, key)
    {
        match postcard::from_bytes::<RenderedModule>(&bytes) {
            Ok(stored) => return stored,
            Err(error) => tracing::debug!(%error, "a stored render does not decode"),
        }
    }
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
        target,
    };
    let empty = || Printed {
        outside: Vec::new(),
        body: Fragment::default(),
        names: Vec::new(),
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
            Some(code) if info.wrap.is_some() => {
                Printed { body: Fragment::text(style.glue(&code, level)), helpers, ..empty() }
            }
            Some(code) => {
                let settings = packem_parse::CompileSettings::for_loader(file.path(db), packem_db::Loader::Js);
                let nesting = parsed_module(db, source);
                let mut printed = nesting.with_stack(|| render_code(db, source, None, &code, &settings, info, &emit));
                // The printed code is generated from the value, not the file's text: no mappings.
                for fragment in printed.outside.iter_mut().chain(std::iter::once(&mut printed.body)) {
                    fragment.tokens.clear();
                }
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
        parsed.with_stack(|| render_code(db, source, Some(parsed), text, source.settings(db), info, &emit))
    };
    let Printed { mut outside, mut body, mut names, legal, hashbang, mut helpers, uses_require, uses_import_meta } =
        printed;
    let map_options = target.emit(db).sourcemap.as_ref();
    // The module's sources: itself, or what its own source map names.
    let mut sources = Vec::new();
    if map_options.is_some() && file.status(db) == packem_db::FileStatus::Exists {
        let text = source_text(db, file);
        let input = match text.error() {
            None if source.settings(db).loader.is_some_and(|l| l.is_code()) => {
                crate::sourcemap::input_map(db, file.path(db), text.as_str())
            }
            _ => None,
        };
        match input {
            Some((map, map_sources)) => {
                let table = map.generate_lookup_table();
                let first_name = names.len() as u32;
                names.extend(map.get_names().map(str::to_string));
                for fragment in outside.iter_mut().chain(std::iter::once(&mut body)) {
                    fragment.tokens.retain_mut(|token| {
                        let Some(found) = map.lookup_token(&table, token.src_line, token.src_col) else {
                            return false;
                        };
                        let Some(source) = found.get_source_id() else { return false };
                        token.source = source;
                        token.src_line = found.get_src_line();
                        token.src_col = found.get_src_col();
                        token.name = found.get_name_id().map(|n| n + first_name);
                        true
                    });
                }
                let contents: Vec<Option<&str>> = map.get_source_contents().collect();
                for (k, source) in map_sources.into_iter().enumerate() {
                    sources.push((source, contents.get(k).copied().flatten().map(str::to_string)));
                }
            }
            None => sources.push((
                crate::sourcemap::MapSource::Path(file.path(db).clone()),
                text.error().is_none().then(|| text.as_str().to_string()),
            )),
        }
    }
    let mut out = Composer { code: String::new(), map: map_options.map(|_| crate::sourcemap::MapWriter::default()) };
    match (&info.wrap, &info.lazy) {
        (Some(wrapper), _) => {
            helpers |= Helpers::COMMON_JS;
            out.text(
                &style.glue(&format!("var {wrapper} = __commonJS(function (exports, module, require) {{\n"), base),
            );
            out.fragment(&body);
            out.text(&style.glue("});\n", base));
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
            out.text(&style.glue(&head, base));
            for fragment in &outside {
                out.fragment(fragment);
            }
            out.text(&style.glue(&open, base));
            out.text(&style.glue(&inner, level));
            out.fragment(&body);
            out.text(&style.glue("});\n", base));
        }
        (None, None) => {
            for fragment in &outside {
                out.fragment(fragment);
            }
            out.fragment(&body);
        }
    }
    let map = match (out.map, map_options) {
        (Some(mut writer), Some(options)) => {
            writer.add_sources(sources.len() as u32, names.len() as u32);
            let sources: Vec<_> = sources.iter().map(|(s, text)| (s.clone(), text.as_deref())).collect();
            Some(Arc::new(crate::sourcemap::ModuleMap::new(writer.finish(), &sources, &names, options)))
        }
        _ => None,
    };
    RenderedModule {
        uses_require,
        uses_import_meta,
        helpers,
        legal_comments: legal,
        hashbang,
        code: Piece::new(out.code),
        map,
    }
}

/// The key of `target`'s render of `source` in the persistent cache (see [`packem_db::stored`]),
/// when a cache is open and the render reads nothing the key leaves out: a hash of the source's
/// fact key (path, text, compile settings), its link information, and the target's and its
/// project's options, which together are every input [`rendered_module`] reads for a code
/// or JSON module (whose value code is made from its text). `None` for what reads more: assets
/// (their bytes, and other files for `file` and `copy`), `--mangle-props` (a project-wide
/// mapping), and, with source maps, a text that may name an input source map (another file).
#[salsa::tracked]
pub fn render_key(db: &dyn packem_resolve::Db, target: Target, source: Source) -> Option<u128> {
    packem_db::stored::StoredResults::try_get(db)?;
    let emit = target.emit(db);
    let file = source.file(db);
    if emit.mangle_props.is_some()
        || file.status(db) != packem_db::FileStatus::Exists
        || !source.settings(db).loader.is_some_and(|l| l.is_code() || l == packem_db::Loader::Json)
    {
        return None;
    }
    let facts = (*packem_parse::fact_key(db, source))?;
    if emit.sourcemap.is_some() && packem_db::files::text_mentions(db, file, &["sourceMappingURL"])[0] {
        return None;
    }
    let project = target.project(db);
    let mut key = packem_db::stored::KeyHasher::new("render");
    key.value(&facts)
        .value(crate::link_info(db, target, source))
        .value(&target.format(db))
        .value(target.global_name(db))
        .value(emit)
        .value(project.link(db))
        .value(project.options(db));
    Some(key.finish())
}

/// `render` encoded for the persistent cache (what [`rendered_module`] decodes).
pub fn encode_render(render: &RenderedModule) -> Vec<u8> {
    postcard::to_allocvec(render).unwrap_or_default()
}

/// A module's code and, with source maps, its mappings, written together.
struct Composer {
    code: String,
    map: Option<crate::sourcemap::MapWriter>,
}

impl Composer {
    /// Generated text (no mappings).
    fn text(&mut self, text: &str) {
        self.code.push_str(text);
        if let Some(map) = &mut self.map {
            map.unmapped(text);
        }
    }

    /// Printed code and its mappings.
    fn fragment(&mut self, fragment: &Fragment) {
        self.code.push_str(&fragment.text);
        let Some(map) = &mut self.map else { return };
        let start = map.column();
        let mut line = 0;
        for token in &fragment.tokens {
            map.newlines(token.line - line);
            let shift = if token.line == 0 { start } else { 0 };
            line = token.line;
            map.segment(crate::sourcemap::Segment {
                gen_col: token.col + shift,
                source: token.source,
                line: token.src_line,
                col: token.src_col,
                name: token.name,
            });
        }
        // The rest of the fragment's lines, and the columns after its last line break.
        let breaks = memchr::memchr_iter(b'\n', fragment.text.as_bytes()).count() as u32;
        map.newlines(breaks - line);
        let last = fragment.text.rfind('\n').map_or(&fragment.text[..], |i| &fragment.text[i + 1..]);
        let width = crate::sourcemap::utf16_len(last);
        map.set_column(if breaks == 0 { start + width } else { width });
    }
}

/// Printed code and its mappings: lines and UTF-16 columns in `text`, original positions in the
/// module's source, name indices into the module's names.
#[derive(Default)]
struct Fragment {
    text: String,
    tokens: Vec<MapToken>,
}

impl Fragment {
    /// Generated text, without mappings.
    fn text(text: String) -> Self {
        Fragment { text, tokens: Vec::new() }
    }
}

#[derive(Clone, Copy)]
struct MapToken {
    /// The source index (0: the module itself, else into the sources its own map names).
    source: u32,
    line: u32,
    col: u32,
    src_line: u32,
    src_col: u32,
    name: Option<u32>,
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
    /// The target (for the build's property mapping).
    target: Target,
}

/// A module's printed code: what goes before its `__esm` closure (hoisted declarations), the
/// code, and its legal comments when they are collected at the end of the output.
struct Printed {
    outside: Vec<Fragment>,
    body: Fragment,
    /// The names the fragments' mappings refer to.
    names: Vec<String>,
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

/// Renders one module: `parsed` is its compiled AST, which is copied (with its scopes and
/// symbols, so no parse or semantic analysis runs again); without it, `text` is compiled here
/// (value modules, whose code is generated).
fn render_code(
    db: &dyn packem_resolve::Db,
    source: Source,
    parsed: Option<&packem_parse::ParsedModule>,
    text: &str,
    settings: &packem_parse::CompileSettings,
    info: &ModuleLink,
    emit: &Emit<'_>,
) -> Printed {
    let (format, platform, level) = (emit.format, emit.platform, emit.level);
    let path = source.file(db).path(db);
    let allocator = Allocator::default();
    let (mut program, mut scoping) = match parsed {
        Some(parsed) => (
            parsed.program().clone_in_with_semantic_ids(&allocator),
            parsed.scoping().clone_in_with_semantic_ids_with_another_arena(),
        ),
        None => {
            let compiled = packem_parse::compile(&allocator, path, text, settings, false);
            (compiled.program, compiled.scoping)
        }
    };
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
    let mut contexts: rustc_hash::FxHashSet<(u32, u32)> = Default::default();
    let mut helpers = Helpers::default();
    let mut uses_require = false;
    for (index, rewrite) in &info.records {
        let Some(record) = scan.records.get(*index as usize) else {
            continue;
        };
        if matches!(record.kind, ImportKind::Require | ImportKind::DynamicImport) {
            let spelled = spelling::record(rewrite, format, wrapped);
            let spelled = if record.specifier.starts_with(packem_parse::CONTEXT_PREFIX) {
                // A context module's export loads the member the argument names: the rewrite
                // becomes a function of the argument, which the render keeps (`Rewriter`).
                contexts.insert(record.span);
                match record.kind {
                    ImportKind::Require => spelled,
                    _ => format!("(__packem_specifier) => {spelled}.then((m) => m.default(__packem_specifier))"),
                }
            } else {
                spelled
            };
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
        contexts: &contexts,
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
    if let Some(options) = crate::mangle_props::mangle_options(db, emit.target) {
        let target = emit.target;
        let mapping = target.property_names(db).as_ref().unwrap_or_else(|| crate::property_mapping(db, target));
        crate::mangle_props::rewrite(&allocator, &mut program, options, mapping);
    }
    let uses_require = uses_require || rewriter.uses_require;
    let uses_import_meta = rewriter.uses_import_meta;

    if emit.keep_names && !wrapped && keep_names(&mut program, &builder, &allocator, &info.renames) {
        helpers |= Helpers::NAME;
    }
    let style = crate::Style { compact: emit.minify.whitespace };
    let mut legal = Vec::new();

    // A lazy module's declarations move out of its `__esm` closure, so other modules can reach
    // them; only their initialization runs inside (esbuild does the same).
    let mut outside = Vec::new();
    let mut functions = None;
    if info.lazy.is_some() {
        let finals: FxHashMap<&str, &str> = info.renames.iter().map(|(l, f)| (l.as_str(), f.as_str())).collect();
        let (hoisted, vars) = hoist_declarations(&mut program, &builder, &allocator, &finals);
        if !vars.is_empty() {
            outside.push(Fragment::text(style.glue(&format!("var {};\n", vars.join(", ")), level - 1)));
        }
        functions = Some(hoisted);
    }
    if !wrapped {
        rename(&mut scoping, &info.renames);
    }
    let mut names = Vec::new();
    let printer =
        Printer { text, path: source.file(db).path(db), level, options: emit.options, compact: emit.minify.whitespace };

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
                minify: packem_db::Minify {
                    // A module that reads names in ways the mangler cannot see keeps its own.
                    identifiers: emit.minify.identifiers && !info.plain_names,
                    ..emit.minify
                },
                keep_names: emit.keep_names,
                target: settings.target.as_deref(),
                closure: wrapped,
                reserved: &reserved,
            },
        );
        let print = |program: &Program<'_>, legal: &mut Vec<String>, names: &mut Vec<String>| {
            printer.print(program, None, minified.as_ref(), legal, names)
        };
        if info.lazy.is_some() {
            // The functions go outside the closure: printed once with the rest (class ids, and
            // so private names, count over the whole program), cut at a marker.
            let all = std::mem::replace(&mut program.body, oxc::allocator::Vec::new_in(&&allocator));
            let mut rest = Vec::new();
            for statement in all {
                if matches!(statement, Statement::FunctionDeclaration(_)) {
                    program.body.push(statement);
                } else {
                    rest.push(statement);
                }
            }
            if !program.body.is_empty() {
                program.body.push(hoist_marker(&builder));
                program.body.extend(rest);
                let printed = print(&program, &mut legal, &mut names);
                let (functions, body) = split_at_marker(printed);
                outside.push(functions);
                return Printed { outside, body, names, legal, hashbang, helpers, uses_require, uses_import_meta };
            }
            program.body.extend(rest);
        }
        let body = print(&program, &mut legal, &mut names);
        return Printed { outside, body, names, legal, hashbang, helpers, uses_require, uses_import_meta };
    }

    let mut print =
        |program: &Program<'_>, scoping: Scoping| printer.print(program, Some(scoping), None, &mut legal, &mut names);
    if let Some(functions) = functions {
        if functions.is_empty() {
            let body = print(&program, scoping);
            return Printed { outside, body, names, legal, hashbang, helpers, uses_require, uses_import_meta };
        }
        // One codegen pass (it consumes the scoping): functions, a marker, the rest.
        let inside = std::mem::replace(&mut program.body, functions);
        program.body.push(hoist_marker(&builder));
        program.body.extend(inside);
        let (functions, body) = split_at_marker(print(&program, scoping));
        outside.push(functions);
        return Printed { outside, body, names, legal, hashbang, helpers, uses_require, uses_import_meta };
    }
    let body = print(&program, scoping);
    Printed { outside, body, names, legal, hashbang, helpers, uses_require, uses_import_meta }
}

/// The statement a lazy module's printed code is cut at: its functions before, the rest after.
const HOIST_MARKER: &str = "__packem_hoist_split__";

fn hoist_marker<'a>(builder: &AstBuilder<'a>) -> Statement<'a> {
    Statement::new_expression_statement(SPAN, Expression::new_identifier(SPAN, HOIST_MARKER, builder), builder)
}

/// `printed` cut at [`HOIST_MARKER`]'s statement (which goes): the code before it, whole lines
/// when the code is indented, and after it; the mappings go with their code.
fn split_at_marker(printed: Fragment) -> (Fragment, Fragment) {
    let code = &printed.text;
    let marker = format!("{HOIST_MARKER};");
    let Some(at) = code.find(&marker) else {
        return (Fragment::default(), printed);
    };
    // Indented code: the marker's line goes, from its indentation to its line break.
    let start = code[..at].rfind('\n').map_or(0, |i| i + 1);
    let start = if code[start..at].trim().is_empty() { start } else { at };
    let mut end = at + marker.len();
    if code[end..].starts_with('\n') {
        end += 1;
    }
    let position = |offset: usize| {
        let before = &code[..offset];
        let line = memchr::memchr_iter(b'\n', before.as_bytes()).count() as u32;
        let col = crate::sourcemap::utf16_len(before.rfind('\n').map_or(before, |i| &before[i + 1..]));
        (line, col)
    };
    let (start_pos, end_pos) = (position(start), position(end));
    let mut first = Fragment { text: code[..start].to_string(), tokens: Vec::new() };
    let mut second = Fragment { text: code[end..].to_string(), tokens: Vec::new() };
    if !first.text.is_empty() && !first.text.ends_with('\n') {
        first.text.push('\n');
    }
    for token in printed.tokens {
        let at = (token.line, token.col);
        if at < start_pos {
            first.tokens.push(token);
        } else if at >= end_pos {
            let col = if token.line == end_pos.0 { token.col - end_pos.1 } else { token.col };
            second.tokens.push(MapToken { line: token.line - end_pos.0, col, ..token });
        }
    }
    (first, second)
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

/// How a module's programs are printed.
struct Printer<'p> {
    /// The module's source text (for legal comments).
    text: &'p str,
    /// The module's path (the source of its mappings).
    path: &'p camino::Utf8Path,
    /// Indentation level (none when compact).
    level: u32,
    options: &'p crate::EmitOptions,
    /// `--minify-whitespace`.
    compact: bool,
}

impl Printer<'_> {
    /// Prints `program` with two-space indentation, every line `level` levels deep (or
    /// compact), with its mappings when source maps are on (names added to `names`). Legal
    /// comments are kept in place, dropped, or (for the end of the output) appended to `legal`.
    fn print(
        &self,
        program: &Program<'_>,
        scoping: Option<Scoping>,
        minified: Option<&oxc::minifier::MinifierReturn>,
        legal: &mut Vec<String>,
        names: &mut Vec<String>,
    ) -> Fragment {
        use oxc::codegen::{CommentOptions, LegalComment};
        let legal_mode = match self.options.legal_comments {
            crate::LegalComments::None => LegalComment::None,
            crate::LegalComments::Inline => LegalComment::Inline,
            // Collected for the end of the output or a file of their own.
            crate::LegalComments::Eof | crate::LegalComments::Linked | crate::LegalComments::External => {
                LegalComment::External
            }
        };
        let ret = Codegen::new()
            .with_options(CodegenOptions {
                comments: CommentOptions { legal: legal_mode, ..CommentOptions::disabled() },
                minify: self.compact,
                indent_char: oxc::codegen::IndentChar::Space,
                indent_width: 2,
                initial_indent: if self.compact { 0 } else { self.level },
                source_map_path: self.options.sourcemap.as_ref().map(|_| self.path.as_std_path().to_path_buf()),
                ..CodegenOptions::default()
            })
            .with_scoping(scoping)
            // The private member names (`#x`) the mangler chose.
            .with_private_member_mappings(minified.and_then(|m| m.class_private_mappings.clone()))
            .build(program);
        for comment in &ret.legal_comments {
            if let Some(text) = self.text.get(comment.span.start as usize..comment.span.end as usize) {
                legal.push(text.to_string());
            }
        }
        let mut tokens = Vec::new();
        if let Some(map) = &ret.map {
            // The map's names, as indices into the module's list.
            let first = names.len() as u32;
            names.extend(map.get_names().map(str::to_string));
            tokens.extend(map.get_tokens().map(|t| MapToken {
                source: 0,
                line: t.get_dst_line(),
                col: t.get_dst_col(),
                src_line: t.get_src_line(),
                src_col: t.get_src_col(),
                name: t.get_name_id().map(|n| n + first),
            }));
        }
        let mut code = ret.code;
        // Compact code prints on one line: a module still ends its own.
        if self.compact && !code.is_empty() && !code.ends_with('\n') {
            code.push('\n');
        }
        Fragment { text: code, tokens }
    }
}

/// `--keep-names`: `__name(final, "original")` restores the `name` of each top-level function,
/// class or variable holding an anonymous function or class that linking renames. For a
/// function, at the top of the module (a function is hoisted: code before its declaration may
/// read its name); for a class whose static members run code, in a `static {}` block before
/// them (they may read it); otherwise right after the declaration. Whether it added any.
fn keep_names<'a>(
    program: &mut Program<'a>,
    builder: &AstBuilder<'a>,
    allocator: &'a Allocator,
    renames: &[(String, String)],
) -> bool {
    if renames.is_empty() {
        return false;
    }
    let finals: FxHashMap<&str, &str> = renames.iter().map(|(l, f)| (l.as_str(), f.as_str())).collect();
    let call = |target: &str, name: &str| -> Statement<'a> {
        let text = format!("__name({target}, {})", quote(name));
        Statement::new_expression_statement(
            SPAN,
            Expression::new_identifier(SPAN, allocator.alloc_str(&text), builder),
            builder,
        )
    };
    let named = |name: &str| -> Option<Statement<'a>> { Some(call(finals.get(name)?, name)) };
    let body = std::mem::replace(&mut program.body, oxc::allocator::Vec::new_in(&allocator));
    let mut front = Vec::new();
    let mut added = false;
    for mut statement in body {
        let mut after = Vec::new();
        match &mut statement {
            Statement::FunctionDeclaration(f) => front.extend(f.id.as_ref().and_then(|id| named(&id.name))),
            Statement::ClassDeclaration(c) => {
                let statics_run_code = c.body.body.iter().any(|element| match element {
                    oxc::ast::ast::ClassElement::StaticBlock(_) => true,
                    oxc::ast::ast::ClassElement::PropertyDefinition(p) => p.r#static && p.value.is_some(),
                    _ => false,
                });
                match c.id.as_ref().map(|id| id.name.to_string()) {
                    Some(name) if statics_run_code && finals.contains_key(name.as_str()) => {
                        let block = oxc::ast::ast::ClassElement::new_static_block(
                            SPAN,
                            oxc::allocator::Vec::from_iter_in([call("this", &name)], &allocator),
                            builder,
                        );
                        c.body.body.insert(0, block);
                        added = true;
                    }
                    Some(name) => after.extend(named(&name)),
                    None => {}
                }
            }
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
    if !front.is_empty() {
        added = true;
        let rest = std::mem::replace(&mut program.body, oxc::allocator::Vec::from_iter_in(front, &allocator));
        program.body.extend(rest);
    }
    added
}

/// Splits a lazy module's top level: function declarations are returned (they go outside the
/// closure), `var`/`let`/`const`/`class` declarations (destructuring ones included) become
/// assignments in place and their names are returned (declared with `var` outside).
fn hoist_declarations<'a>(
    program: &mut Program<'a>,
    builder: &AstBuilder<'a>,
    allocator: &'a Allocator,
    finals: &FxHashMap<&str, &str>,
) -> (oxc::allocator::Vec<'a, Statement<'a>>, Vec<String>) {
    let final_name = |name: &str| -> &'a str { allocator.alloc_str(finals.get(name).copied().unwrap_or(name)) };
    let assign_to = |target: AssignmentTarget<'a>, value: Expression<'a>| -> Statement<'a> {
        let expression = Expression::new_assignment_expression(
            SPAN,
            oxc::ast::ast::AssignmentOperator::Assign,
            target,
            value,
            builder,
        );
        Statement::new_expression_statement(SPAN, expression, builder)
    };
    let assign = |name: &'a str, value: Expression<'a>| -> Statement<'a> {
        assign_to(AssignmentTarget::new_assignment_target_identifier(SPAN, name, builder), value)
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
            Statement::VariableDeclaration(decl) => {
                for declarator in decl.unbox().declarations {
                    match declarator.id {
                        BindingPattern::BindingIdentifier(id) => {
                            let name = final_name(id.name.as_str());
                            vars.push(name.to_string());
                            if let Some(init) = declarator.init {
                                program.body.push(assign(name, init));
                            }
                        }
                        // `const { a, b: [c] } = x` becomes `({ a, b: [c] } = x)`.
                        pattern => {
                            let target = assignment_target(pattern, builder, &final_name, &mut vars);
                            if let Some(init) = declarator.init {
                                program.body.push(assign_to(target, init));
                            }
                        }
                    }
                }
            }
            other => program.body.push(other),
        }
    }
    (functions, vars)
}

/// A destructuring pattern as an assignment target, its names final (and collected in `names`).
fn assignment_target<'a>(
    pattern: BindingPattern<'a>,
    builder: &AstBuilder<'a>,
    final_name: &impl Fn(&str) -> &'a str,
    names: &mut Vec<String>,
) -> oxc::ast::ast::AssignmentTarget<'a> {
    use oxc::ast::ast::{
        AssignmentTarget, AssignmentTargetMaybeDefault, AssignmentTargetProperty, AssignmentTargetRest,
    };
    let maybe_default = |pattern: BindingPattern<'a>, names: &mut Vec<String>| match pattern {
        BindingPattern::AssignmentPattern(p) => {
            let p = p.unbox();
            let binding = assignment_target(p.left, builder, final_name, names);
            AssignmentTargetMaybeDefault::new_assignment_target_with_default(SPAN, binding, p.right, builder)
        }
        other => AssignmentTargetMaybeDefault::from(assignment_target(other, builder, final_name, names)),
    };
    let rest = |argument: BindingPattern<'a>, names: &mut Vec<String>| {
        oxc::allocator::Box::new_in(
            AssignmentTargetRest::new(SPAN, assignment_target(argument, builder, final_name, names), builder),
            builder,
        )
    };
    match pattern {
        BindingPattern::BindingIdentifier(id) => {
            let name = final_name(id.name.as_str());
            names.push(name.to_string());
            AssignmentTarget::new_assignment_target_identifier(SPAN, name, builder)
        }
        BindingPattern::ObjectPattern(object) => {
            let object = object.unbox();
            let mut properties = oxc::allocator::Vec::new_in(builder);
            for property in object.properties {
                let binding = maybe_default(property.value, names);
                properties.push(AssignmentTargetProperty::new_assignment_target_property_property(
                    SPAN,
                    property.key,
                    binding,
                    property.computed,
                    builder,
                ));
            }
            let rest = object.rest.map(|r| rest(r.unbox().argument, names));
            AssignmentTarget::new_object_assignment_target(SPAN, properties, rest, builder)
        }
        BindingPattern::ArrayPattern(array) => {
            let array = array.unbox();
            let mut elements = oxc::allocator::Vec::new_in(builder);
            for element in array.elements {
                elements.push(element.map(|e| maybe_default(e, names)));
            }
            let rest = array.rest.map(|r| rest(r.unbox().argument, names));
            AssignmentTarget::new_array_assignment_target(SPAN, elements, rest, builder)
        }
        // Only inside an object or array pattern, handled above.
        BindingPattern::AssignmentPattern(p) => assignment_target(p.unbox().left, builder, final_name, names),
    }
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
    /// The records that load a context module: the call keeps its argument.
    contexts: &'r rustc_hash::FxHashSet<(u32, u32)>,
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
        let (Expression::StringLiteral(_) | Expression::TemplateLiteral(_) | Expression::BinaryExpression(_)) =
            argument
        else {
            return None;
        };
        let span = argument.span();
        self.records.get(&(span.start, span.end)).cloned()
    }

    /// The argument of a `require()`/`import()` call that loads a context module (taken out of
    /// the call, which is replaced next).
    fn take_context_argument(&self, expr: &mut Expression<'a>) -> Option<Expression<'a>> {
        let slot = match expr {
            Expression::CallExpression(call) => call.arguments.first_mut()?.as_expression_mut()?,
            Expression::ImportExpression(import) => &mut import.source,
            _ => return None,
        };
        let span = slot.span();
        if !self.contexts.contains(&(span.start, span.end)) {
            return None;
        }
        Some(std::mem::replace(slot, Expression::new_null_literal(SPAN, self.builder)))
    }
}

impl<'a> VisitMut<'a> for Rewriter<'a, '_> {
    fn visit_expression(&mut self, expr: &mut Expression<'a>) {
        if let Some(text) = self.record_of(expr) {
            if let Some(mut argument) = self.take_context_argument(expr) {
                // `load(argument)`: the computed specifier picks the member at run time.
                self.visit_expression(&mut argument);
                let callee = self.verbatim(&text);
                let arguments =
                    oxc::allocator::Vec::from_iter_in([oxc::ast::ast::Argument::from(argument)], &self.allocator);
                *expr = Expression::new_call_expression(SPAN, callee, None, arguments, false, self.builder);
                return;
            }
            *expr = self.verbatim(&text);
            return;
        }
        if let Some(text) = self.namespace_member(expr) {
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
