//! Chunk assembly: runtime helpers, wrappers, namespace objects and modules in evaluation order,
//! framed by the output format.

use std::fmt::Write as _;
use std::sync::Arc;

use packem_db::{Diagnostic, DiagnosticCode, Platform};
use packem_graph::module_graph;
use packem_link::{ChunkPlan, Helpers, Imported, OrderItem, is_identifier, link, quote};

use crate::{Code, CodeBuilder, Format, Target, indent, rendered_module};

/// One output: the entry it belongs to and its code.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChunkOutput {
    /// The entry module's path.
    pub entry: camino::Utf8PathBuf,
    /// The code, as pieces shared with the module memos.
    pub code: Code,
    /// The modules in the chunk, with the bytes each contributed (for the metafile).
    pub inputs: Vec<(camino::Utf8PathBuf, u64)>,
    /// The entry's export names.
    pub exports: Vec<String>,
    /// External modules the output imports, with esbuild's import kind, in first-use order.
    pub external_imports: Vec<(String, &'static str)>,
}

/// Every output of a target and the diagnostics of linking and emission.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Bundle {
    /// One output per entry, in entry order.
    pub chunks: Vec<ChunkOutput>,
    /// Link and emit diagnostics (missing exports, unsupported features).
    pub diagnostics: Vec<Diagnostic>,
}

/// All outputs of `target`.
#[salsa::tracked(returns(ref))]
pub fn bundle(db: &dyn packem_resolve::Db, target: Target) -> Arc<Bundle> {
    let _span = tracing::info_span!("bundle").entered();
    let project = target.project(db);
    let linked = link(db, project);
    let mut diagnostics = linked.diagnostics.clone();
    let graph = module_graph(db, project);
    let mut chunks = Vec::new();
    for index in 0..linked.chunks.len() {
        let plan = &linked.chunks[index];
        if plan.top_level_await && target.format(db) != Format::Esm {
            diagnostics.push(
                Diagnostic::error(
                    DiagnosticCode::UnsupportedFeature,
                    format!(
                        "Top-level await is currently not supported with the \"{}\" output format",
                        target.format(db).as_str()
                    ),
                )
                .at(graph.module(plan.entry).path.clone(), None),
            );
        }
        chunks.push(rendered_chunk(db, target, index as u32).clone());
    }
    Arc::new(Bundle { chunks, diagnostics })
}

/// The output file of entry number `index`.
#[salsa::tracked(returns(ref))]
pub fn rendered_chunk(db: &dyn packem_resolve::Db, target: Target, index: u32) -> ChunkOutput {
    let _span = tracing::info_span!("rendered_chunk", index).entered();
    let project = target.project(db);
    let graph = module_graph(db, project);
    let plan = &link(db, project).chunks[index as usize];
    let format = target.format(db);
    let platform = project.options(db).platform;
    let mut inputs = Vec::new();
    // In an IIFE everything sits one level deep: glue is indented here, modules come indented.
    let level = u32::from(format == Format::Iife);
    let mut body = CodeBuilder::default();
    let mut uses_require = false;
    let mut uses_import_meta = false;
    let mut helpers = plan.helpers;
    let mut push_module = |body: &mut CodeBuilder, module: packem_graph::ModuleId| {
        let rendered = rendered_module(db, target, graph.module(module).file);
        inputs.push((graph.module(module).path.clone(), rendered.code.len() as u64));
        uses_require |= rendered.uses_require;
        uses_import_meta |= rendered.uses_import_meta;
        body.push_piece(&rendered.code);
    };

    // Wrappers first: they are lazy, so their place does not matter, and every later module may call them.
    for (module, _) in &plan.wrappers {
        push_module(&mut body, *module);
    }
    // Lazily evaluated modules: definitions only; they run when first required or imported.
    for module in &plan.lazy {
        push_module(&mut body, *module);
    }
    let mut glue = String::new();
    let mut glue_requires = false;
    // Namespace objects: getters are lazy, so defining them all up front is safe in cycles.
    for namespace in &plan.namespaces {
        glue.push_str(&namespace_object(&namespace.name, &namespace.getters, namespace.open));
    }
    let entry_namespace = plan.namespaces.iter().find(|n| n.module == plan.entry).map(|n| n.name.clone());
    // CommonJS output exposes the exports before the code runs, as a CommonJS module would.
    if format == Format::Cjs
        && let Some(ns) = &entry_namespace
    {
        helpers |= Helpers::TO_COMMON_JS;
        let _ = writeln!(glue, "module.exports = __toCommonJS({ns});");
    }
    for item in &plan.order {
        match item {
            OrderItem::Module(module) => {
                if !glue.is_empty() {
                    glue_requires |= glue.contains("__require");
                    body.push_str(&indent(&std::mem::take(&mut glue), level));
                }
                push_module(&mut body, *module);
            }
            OrderItem::Code(code) => glue.push_str(code),
        }
    }
    glue_requires |= glue.contains("__require");
    body.push_str(&indent(&glue, level));
    let body = body.finish();

    let uses_require = uses_require
        || glue_requires
        || (helpers.contains(Helpers::COMMON_JS) && format == Format::Esm && platform == Platform::Node);
    let mut prelude = String::new();
    match format {
        Format::Esm => {
            if uses_require && platform == Platform::Node {
                prelude.push_str("import { createRequire as __createRequire } from \"module\";\nvar __require = __createRequire(import.meta.url);\n");
            } else if uses_require {
                prelude.push_str("var __require = typeof require !== \"undefined\" ? require : (x) => { throw Error('Dynamic require of \"' + x + '\" is not supported'); };\n");
            }
            prelude.push_str(&esm_external_imports(plan));
        }
        Format::Cjs | Format::Iife => prelude.push_str(&required_externals(plan, &mut helpers)),
    }
    if uses_import_meta {
        prelude.push_str("var __import_meta_url = require(\"url\").pathToFileURL(__filename).href;\nvar __import_meta_dirname = __dirname;\nvar __import_meta_filename = __filename;\n");
    }
    // The `require` CommonJS modules see: Node's where there is one.
    if helpers.contains(Helpers::COMMON_JS) {
        prelude.push_str(match (format, platform) {
            (Format::Esm, Platform::Node) => "var __cjsRequire = __require;\n",
            (Format::Cjs, _) => "var __cjsRequire = require;\n",
            _ => "var __cjsRequire = typeof require !== \"undefined\" ? require : void 0;\n",
        });
    }
    // ESM is strict; without CommonJS modules (which may rely on sloppy mode) the whole output can be.
    if format != Format::Esm && plan.wrappers.is_empty() {
        prelude.insert_str(0, "\"use strict\";\n");
    }
    let footer = match format {
        Format::Esm => esm_exports(plan),
        Format::Cjs => match &plan.entry_wrapper {
            Some(wrapper) => format!("module.exports = {wrapper}();\n"),
            None => String::new(),
        },
        Format::Iife => match (&plan.entry_wrapper, &entry_namespace) {
            (Some(wrapper), _) => format!("return {wrapper}();\n"),
            (None, Some(ns)) if target.global_name(db).is_some() => {
                helpers |= Helpers::TO_COMMON_JS;
                format!("return __toCommonJS({ns});\n")
            }
            _ => String::new(),
        },
    };
    // After every helper is known (`return __toCommonJS` may add one).
    let runtime = helpers.code();
    let mut out = CodeBuilder::default();
    match format {
        Format::Iife => {
            match target.global_name(db) {
                Some(name) => out.push_str(&format!("{} = (() => {{\n", global_assignment(name))),
                None => out.push_str("(() => {\n"),
            }
            out.push_str(&indent(&format!("{prelude}{runtime}"), 1));
            out.push_code(&body);
            out.push_str(&indent(&footer, 1));
            out.push_str("})();\n");
        }
        _ => {
            out.push_str(&prelude);
            out.push_str(&runtime);
            out.push_code(&body);
            out.push_str(&footer);
        }
    }
    let mut external_imports: Vec<(String, &'static str)> = Vec::new();
    let kind = match format {
        Format::Esm => "import-statement",
        _ => "require-call",
    };
    for path in plan.externals.iter().map(|e| &e.path).chain(&plan.external_side_effects) {
        if !external_imports.iter().any(|(p, _)| p == path) {
            external_imports.push((path.clone(), kind));
        }
    }
    ChunkOutput {
        external_imports,
        entry: graph.module(plan.entry).path.clone(),
        code: out.finish(),
        inputs,
        exports: plan.exports.iter().map(|(name, _)| name.clone()).collect(),
    }
}

/// `var a` for a plain name, `a.b.c` (with `var a = a || {}` style guards) for dotted ones.
fn global_assignment(name: &str) -> String {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() == 1 {
        return format!("var {name}");
    }
    let mut out = format!("var {0} = typeof {0} !== \"undefined\" ? {0} : {{}};\n", parts[0]);
    let mut path = parts[0].to_string();
    for part in &parts[1..parts.len() - 1] {
        path = format!("{path}.{part}");
        let _ = writeln!(out, "{path} = {path} || {{}};");
    }
    out.push_str(&format!("{path}.{}", parts[parts.len() - 1]));
    out
}

fn property_key(name: &str) -> String {
    if packem_link::is_identifier_name(name) { name.to_string() } else { quote(name) }
}

fn namespace_object(name: &str, getters: &[(String, String)], open: bool) -> String {
    let mut out = format!("var {name} = __export({{}}, {{");
    for (i, (export, expr)) in getters.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        let _ = write!(out, "  {}: () => {expr}", property_key(export));
    }
    let close = if open { "}, 1);\n" } else { "});\n" };
    if !getters.is_empty() {
        out.push('\n');
    }
    out.push_str(close);
    out
}

fn esm_external_imports(plan: &ChunkPlan) -> String {
    let mut out = String::new();
    let mut done = Vec::new();
    for binding in &plan.externals {
        let path = quote(&binding.path);
        let _ = match &binding.imported {
            Imported::Namespace => writeln!(out, "import * as {} from {path};", binding.local),
            Imported::Name(name) if name == "default" => {
                writeln!(out, "import {} from {path};", binding.local)
            }
            Imported::Name(name) if *name == binding.local => {
                writeln!(out, "import {{ {name} }} from {path};")
            }
            Imported::Name(name) => {
                writeln!(out, "import {{ {} as {} }} from {path};", property_key(name), binding.local)
            }
        };
        done.push(binding.path.clone());
    }
    for path in &plan.external_side_effects {
        if !done.contains(path) {
            let _ = writeln!(out, "import {};", quote(path));
            done.push(path.clone());
        }
    }
    out
}

fn required_externals(plan: &ChunkPlan, helpers: &mut Helpers) -> String {
    let mut out = String::new();
    let mut done = Vec::new();
    for binding in &plan.externals {
        let path = quote(&binding.path);
        let _ = match &binding.imported {
            Imported::Namespace => {
                *helpers |= Helpers::TO_ESM;
                writeln!(out, "var {} = __toESM(require({path}), 1);", binding.local)
            }
            // Node's rule: the default import of CommonJS is `module.exports`.
            Imported::Name(name) if name == "default" => {
                writeln!(out, "var {} = require({path});", binding.local)
            }
            Imported::Name(name) => writeln!(
                out,
                "var {} = {};",
                binding.local,
                packem_link::property_access(&format!("require({path})"), name)
            ),
        };
        done.push(binding.path.clone());
    }
    for path in &plan.external_side_effects {
        if !done.contains(path) {
            let _ = writeln!(out, "require({});", quote(path));
            done.push(path.clone());
        }
    }
    out
}

fn esm_exports(plan: &ChunkPlan) -> String {
    if let Some(wrapper) = &plan.entry_wrapper {
        return format!("export default {wrapper}();\n");
    }
    if plan.exports.is_empty() {
        return String::new();
    }
    let mut prelude = String::new();
    let mut specifiers = Vec::new();
    for (i, (name, expr)) in plan.exports.iter().enumerate() {
        // An export must name a variable; other expressions get one.
        let local = if is_identifier(expr) {
            expr.clone()
        } else {
            let local = format!("__export_{i}");
            let _ = writeln!(prelude, "var {local} = {expr};");
            local
        };
        specifiers.push(if *name == local { local } else { format!("{local} as {}", property_key_export(name)) });
    }
    format!("{prelude}export {{\n  {}\n}};\n", specifiers.join(",\n  "))
}

fn property_key_export(name: &str) -> String {
    if is_identifier(name) || name == "default" { name.to_string() } else { quote(name) }
}
