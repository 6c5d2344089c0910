//! Every diagnostic of a project's graph: read and parse errors of each module, unresolved
//! imports, missing entries and import cycles.

use std::sync::Arc;

use packem_db::{Diagnostic, DiagnosticCode, FileError, Project, source_text};
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
        for diagnostic in file_diagnostics(db, module.file).iter() {
            let mut diagnostic = diagnostic.clone();
            if matches!(source_text(db, module.file).error(), Some(FileError::NotUtf8 { .. })) {
                let ext = module.path.extension().map(|e| format!(".{e}")).unwrap_or_default();
                diagnostic.help = Some(format!(
                    "Only JavaScript, TypeScript and JSON can be imported; \"{ext}\" files look binary. Remove the import or mark it external."
                ));
            }
            out.push(diagnostic);
        }
        let unresolved = module.edges.iter().any(|e| matches!(e.target, EdgeTarget::Unresolved(_)));
        if !unresolved {
            continue;
        }
        let scan = module_scan(db, module.file);
        for edge in &module.edges {
            let EdgeTarget::Unresolved(failure) = &edge.target else {
                continue;
            };
            let span = scan.records.get(edge.record as usize).map(|r| r.span);
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
            if edge.in_try_block {
                diagnostic = diagnostic.with_note(
                    "The import is inside a try block, so it is a warning: the code may handle the failure at run time.",
                    None,
                    None,
                );
            }
            out.push(diagnostic);
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
            let span = module_scan(db, from.file).records.get(edge.record as usize).map(|r| r.span);
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
