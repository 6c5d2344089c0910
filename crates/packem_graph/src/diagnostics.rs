//! Every diagnostic of a project's graph: read and parse errors of each module, unresolved
//! imports, missing entries and import cycles.

use std::sync::Arc;

use packem_db::{Diagnostic, DiagnosticCode, FileError, Loader, Project, source_text};
use packem_parse::{ImportKind, file_diagnostics, module_scan};

use crate::{EdgeTarget, ModuleGraph, module_graph};

/// All diagnostics of `project`, in module order (entries first), then cycles.
///
/// Reads `module_scan` (which has spans) only for modules with an unresolved import or in a
/// cycle, so a body edit elsewhere only validates this memo.
#[salsa::tracked(returns(ref))]
pub fn graph_diagnostics(db: &dyn packem_resolve::Db, project: Project) -> Arc<[Diagnostic]> {
    let _span = tracing::info_span!("graph_diagnostics").entered();
    let graph = module_graph(db, project);
    let cwd = &project.options(db).cwd;
    let mut out = Vec::new();

    for entry in &graph.missing_entries {
        let shown = packem_db::diagnostic::display_path(entry, cwd);
        out.push(
            Diagnostic::error(DiagnosticCode::MissingEntry, format!("Could not resolve \"{shown}\""))
                .with_help("Entry points must be existing files; check the path and the working directory."),
        );
    }

    for module in &graph.modules {
        if module.disabled {
            continue;
        }
        for diagnostic in file_diagnostics(db, module.source).iter() {
            let mut diagnostic = diagnostic.clone();
            if matches!(source_text(db, module.file).error(), Some(FileError::NotUtf8 { .. })) {
                let ext = module.path.extension().map(|e| format!(".{e}")).unwrap_or_default();
                diagnostic.help = Some(format!(
                    "This file is loaded as code, but \"{ext}\" files look binary here: choose a loader for it (--loader:{ext}=binary, base64, dataurl or file), remove the import, or mark it external."
                ));
            }
            out.push(diagnostic);
        }
        match module.source.settings(db).loader {
            Some(Loader::Copy) => {
                if let Err(d) = crate::asset_file(db, project, module.file) {
                    out.push(d.clone());
                }
            }
            Some(loader) if loader.reads_bytes() => {
                if let Some(Err(d)) = crate::asset_value(db, project, module.source) {
                    out.push(d.clone());
                }
            }
            _ => {}
        }
        let loader_problems: Vec<(usize, Diagnostic)> = module
            .edges
            .iter()
            .enumerate()
            .filter_map(|(i, edge)| loader_problem(db, graph, edge, cwd).map(|d| (i, d)))
            .collect();
        let unresolved = module.edges.iter().any(|e| matches!(e.target, EdgeTarget::Unresolved(_)));
        if !unresolved && loader_problems.is_empty() {
            continue;
        }
        let scan = module_scan(db, module.source);
        for (i, diagnostic) in loader_problems {
            let span = scan
                .records
                .get(module.edges[i].record as usize)
                .map(|r| r.span)
                .filter(|s| !packem_parse::is_injected_span(*s));
            out.push(diagnostic.at(module.path.clone(), span));
        }
        // Lowering helpers that do not resolve: one error per module, naming them all.
        let mut missing_helpers: Vec<&str> = Vec::new();
        for edge in &module.edges {
            let EdgeTarget::Unresolved(failure) = &edge.target else {
                continue;
            };
            let span = scan.records.get(edge.record as usize).map(|r| r.span);
            let injected = span.is_some_and(packem_parse::is_injected_span);
            if injected && let Some(helper) = edge.specifier.strip_prefix(HELPERS_PACKAGE) {
                missing_helpers.push(helper.trim_start_matches("/helpers/"));
                continue;
            }
            let span = span.filter(|_| !injected);
            // esbuild's rule: a failed require()/import() guarded by try/catch, or a
            // require.resolve/new URL that is only a reference, may fail at run time on purpose.
            let soft = edge.in_try_block || matches!(edge.kind, ImportKind::RequireResolve | ImportKind::NewUrl);
            let diagnostic = if soft {
                Diagnostic::warning(failure.code, failure.message.clone())
            } else {
                Diagnostic::error(failure.code, failure.message.clone())
            };
            let mut diagnostic = diagnostic.at(module.path.clone(), span);
            if let Some(help) = &failure.help {
                diagnostic = diagnostic.with_help(help.clone());
            }
            if injected {
                diagnostic = diagnostic.with_note(injected_note(&edge.specifier), None, None);
            }
            if edge.in_try_block {
                diagnostic = diagnostic.with_note(
                    "The import is inside a try block, so it is a warning: the code may handle the failure at run time.",
                    None,
                    None,
                );
            }
            out.push(diagnostic);
        }
        if !missing_helpers.is_empty() {
            out.push(
                Diagnostic::error(
                    DiagnosticCode::UnresolvedImport,
                    format!("Lowering this file for --target needs helpers from \"{HELPERS_PACKAGE}\", which is not installed"),
                )
                .at(module.path.clone(), None)
                .with_note(format!("The helpers: {}.", missing_helpers.join(", ")), None, None)
                .with_help(format!("Install it (npm install --save-dev {HELPERS_PACKAGE}@0.146), or raise --target.")),
            );
        }
    }

    // tsconfig.json targets oxc cannot lower to: one warning per tsconfig.json, when no
    // --target overrides them.
    if project.compile(db).target.is_none() {
        let mut warned = Vec::new();
        for module in graph.modules.iter().filter(|m| m.source.settings(db).loader.is_some_and(Loader::is_code)) {
            let Some(ts) = packem_resolve::tsconfig_compile(db, project.scope(db), module.file) else { continue };
            let Some(target) = ts.target.as_deref() else { continue };
            if target == "esnext" || warned.contains(&ts.path) {
                continue;
            }
            if let Err(why) = packem_parse::check_target(target) {
                warned.push(ts.path.clone());
                out.push(
                    Diagnostic::warning(
                        DiagnosticCode::InvalidConfig,
                        format!(
                            "The tsconfig.json \"target\" \"{target}\" cannot be lowered to, so it is ignored: {why}"
                        ),
                    )
                    .at(ts.path.clone(), None)
                    .with_help("Set --target (es2017…esnext, or engines such as chrome100) to lower syntax."),
                );
            }
        }
    }
    out.extend(cycle_diagnostics(db, graph, cwd));
    out.into()
}

fn cycle_diagnostics(db: &dyn packem_resolve::Db, graph: &ModuleGraph, cwd: &camino::Utf8Path) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for cycle in &graph.cycles {
        let names: Vec<String> = cycle
            .iter()
            .chain(cycle.first())
            .map(|id| packem_db::diagnostic::display_path(&graph.module(*id).path, cwd))
            .collect();
        let first = graph.module(cycle[0]);
        let mut diagnostic = Diagnostic::warning(
            DiagnosticCode::CircularDependency,
            format!("Circular dependency: {}", names.join(" -> ")),
        );
        // One located note per import along the cycle; the first becomes the primary location.
        for (i, id) in cycle.iter().enumerate() {
            let from = graph.module(*id);
            let to = cycle[(i + 1) % cycle.len()];
            let Some(edge) = from.edges.iter().find(|e| e.target == EdgeTarget::Module(to)) else {
                continue;
            };
            let span = module_scan(db, from.source)
                .records
                .get(edge.record as usize)
                .map(|r| r.span)
                .filter(|s| !packem_parse::is_injected_span(*s));
            if i == 0 {
                diagnostic = diagnostic.at(first.path.clone(), span);
            } else {
                diagnostic = diagnostic.with_note(
                    format!("{} imports \"{}\" here:", names[i], edge.specifier),
                    Some(from.path.clone()),
                    span,
                );
            }
        }
        diagnostic = diagnostic.with_help(
            "Cycles are legal, but a module in a cycle may run before the modules it imports have finished evaluating.",
        );
        out.push(diagnostic);
    }
    out
}

/// The npm package oxc's lowering imports its helpers from.
const HELPERS_PACKAGE: &str = "@oxc-project/runtime";

/// Why a transform imported `specifier`, for messages about an import the file does not spell.
pub fn injected_note(specifier: &str) -> String {
    if specifier.contains("jsx-runtime") || specifier.contains("jsx-dev-runtime") {
        format!(
            "The automatic JSX runtime imports \"{specifier}\" (tsconfig.json's \"jsx\" or --jsx=automatic); install it, or set --jsx-import-source."
        )
    } else if specifier.starts_with("@oxc-project/runtime") {
        format!(
            "Lowering syntax for --target imports the helper \"{specifier}\"; install the npm package @oxc-project/runtime, or raise --target."
        )
    } else {
        format!("\"{specifier}\" is imported by --inject.")
    }
}

/// An error for an import whose target has no usable loader, or whose `type` attribute packem
/// does not support (no location yet).
fn loader_problem(
    db: &dyn packem_resolve::Db,
    graph: &ModuleGraph,
    edge: &crate::Edge,
    cwd: &camino::Utf8Path,
) -> Option<Diagnostic> {
    let EdgeTarget::Module(id) = edge.target else { return None };
    let target = graph.module(id);
    if target.disabled {
        return None;
    }
    let loader = target.source.settings(db).loader;
    // Most edges have no problem: the message parts are spelled only for those that do.
    if loader.is_some_and(|l| l != Loader::Css) && edge.type_attribute.is_none() {
        return None;
    }
    let shown = packem_db::diagnostic::display_path(&target.path, cwd);
    let ext = target.path.extension().map(|e| format!(".{}", e.to_ascii_lowercase()));
    let flag_ext = ext.clone().unwrap_or_else(|| ".ext".to_string());
    match loader {
        None => {
            let what =
                ext.as_deref().map_or_else(|| "files without an extension".to_string(), |e| format!("\"{e}\" files"));
            return Some(
                Diagnostic::error(DiagnosticCode::NoLoader, format!("No loader is configured for {what}: {shown}"))
                    .with_help(format!("Choose one with --loader:{flag_ext}=NAME (file, dataurl, text, base64, binary, copy or empty), or remove the import.")),
            );
        }
        Some(Loader::Css) => {
            return Some(
                Diagnostic::error(DiagnosticCode::NoLoader, format!("packem does not bundle CSS: {shown}"))
                    .with_help(format!("Use --loader:{flag_ext}=file to copy the file into the output directory, or --loader:{flag_ext}=empty to drop the import.")),
            );
        }
        Some(_) => {}
    }
    // `json`, `text` and `bytes` choose the target's loader (the graph made it that module);
    // other types are not supported.
    let attribute = edge.type_attribute.as_deref()?;
    if crate::loader_of_type(attribute).is_some() {
        return None;
    }
    Some(
        Diagnostic::error(
            DiagnosticCode::UnsupportedImportAttribute,
            format!("Importing with a type attribute of \"{attribute}\" is not supported"),
        )
        .with_help("packem supports the import attribute types \"json\", \"text\" and \"bytes\"."),
    )
}
