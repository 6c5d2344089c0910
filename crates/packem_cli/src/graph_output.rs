//! The three renderings of a module graph: tree, JSON and DOT.

use std::fmt::Write as _;

use camino::Utf8Path;
use packem_db::diagnostic::display_path;
use packem_host::{EdgeTarget, ModuleGraph, ModuleId};
use packem_parse::{ImportKind, ModuleFormat};

fn format_name(format: ModuleFormat) -> &'static str {
    match format {
        ModuleFormat::Esm => "esm",
        ModuleFormat::CommonJs => "cjs",
        ModuleFormat::Json => "json",
        ModuleFormat::Asset => "asset",
        ModuleFormat::None => "script",
    }
}

/// An indented tree; a module reached again is marked instead of expanded.
pub fn tree(graph: &ModuleGraph, cwd: &Utf8Path) -> String {
    let mut out = String::new();
    let mut expanded = vec![false; graph.modules.len()];
    for &entry in &graph.entries {
        let module = graph.module(entry);
        let _ = writeln!(out, "{} [{}]", display_path(&module.path, cwd), format_name(module.format));
        expanded[entry.index()] = true;
        // Iterative depth-first walk: (module, next edge index, prefix).
        let mut stack: Vec<(ModuleId, usize, String)> = vec![(entry, 0, String::new())];
        while let Some((id, edge_index, prefix)) = stack.pop() {
            let edges = &graph.module(id).edges;
            let Some(edge) = edges.get(edge_index) else {
                continue;
            };
            stack.push((id, edge_index + 1, prefix.clone()));
            let last = edge_index + 1 == edges.len();
            let (branch, indent) = if last { ("└── ", "    ") } else { ("├── ", "│   ") };
            let kind = match edge.kind {
                ImportKind::Static | ImportKind::ReExport | ImportKind::ExportStar => String::new(),
                other => format!(" ({})", other.as_str()),
            };
            let target = match &edge.target {
                EdgeTarget::Module(target) => {
                    let m = graph.module(*target);
                    let seen = std::mem::replace(&mut expanded[target.index()], true);
                    let mark = if m.disabled {
                        " (disabled)"
                    } else if seen && !m.edges.is_empty() {
                        " (see above)"
                    } else {
                        ""
                    };
                    if !seen {
                        stack.push((*target, 0, format!("{prefix}{indent}")));
                    }
                    format!("{} [{}]{mark}", display_path(&m.path, cwd), format_name(m.format))
                }
                EdgeTarget::Asset(path) => format!("{} (asset)", display_path(path, cwd)),
                EdgeTarget::External(path) => format!("{path} (external)"),
                EdgeTarget::Unresolved(_) => "✘ unresolved".to_string(),
            };
            let _ = writeln!(out, "{prefix}{branch}{}{kind} → {target}", edge.specifier);
        }
    }
    out
}

/// JSON with sorted keys: `entries`, `modules` (path, format, imports) and `cycles`.
pub fn json(graph: &ModuleGraph, cwd: &Utf8Path) -> String {
    use serde_json::{Value, json};
    let path = |id: &ModuleId| display_path(&graph.module(*id).path, cwd);
    let modules: Vec<Value> = graph
        .modules
        .iter()
        .map(|m| {
            let imports: Vec<Value> = m
                .edges
                .iter()
                .map(|e| {
                    let mut v = json!({ "specifier": e.specifier, "kind": e.kind.as_str() });
                    match &e.target {
                        EdgeTarget::Module(id) => v["path"] = json!(path(id)),
                        EdgeTarget::Asset(p) => {
                            v["path"] = json!(display_path(p, cwd));
                            v["asset"] = json!(true);
                        }
                        EdgeTarget::External(p) => {
                            v["path"] = json!(p);
                            v["external"] = json!(true);
                        }
                        EdgeTarget::Unresolved(f) => v["error"] = json!(f.message),
                    }
                    v
                })
                .collect();
            let mut v =
                json!({ "path": display_path(&m.path, cwd), "format": format_name(m.format), "imports": imports });
            if m.disabled {
                v["disabled"] = json!(true);
            }
            v
        })
        .collect();
    let value = json!({
        "entries": graph.entries.iter().map(path).collect::<Vec<_>>(),
        "modules": modules,
        "cycles": graph.cycles.iter().map(|c| c.iter().map(path).collect::<Vec<_>>()).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&value).expect("JSON values serialize");
    text.push('\n');
    text
}

/// Graphviz DOT: modules are boxes, externals dashed, unresolved imports red.
pub fn dot(graph: &ModuleGraph, cwd: &Utf8Path) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = String::from("digraph packem {\n  node [shape=box];\n");
    for (i, m) in graph.modules.iter().enumerate() {
        let style = if graph.entries.contains(&ModuleId(i as u32)) { ", style=bold" } else { "" };
        let _ = writeln!(out, "  m{i} [label={}{style}];", quote(&display_path(&m.path, cwd)));
    }
    let mut extra = 0;
    for (i, m) in graph.modules.iter().enumerate() {
        for e in &m.edges {
            let style = if e.kind == ImportKind::DynamicImport { ", style=dashed" } else { "" };
            match &e.target {
                EdgeTarget::Module(t) => {
                    let _ = writeln!(out, "  m{i} -> m{} [label={}{style}];", t.0, quote(&e.specifier));
                }
                target => {
                    let (label, attrs) = match target {
                        EdgeTarget::External(p) => (p.clone(), "style=dashed"),
                        EdgeTarget::Asset(p) => (display_path(p, cwd), "shape=note"),
                        _ => (e.specifier.clone(), "color=red, fontcolor=red"),
                    };
                    let _ = writeln!(out, "  x{extra} [label={}, {attrs}];", quote(&label));
                    let _ = writeln!(out, "  m{i} -> x{extra} [label={}{style}];", quote(&e.specifier));
                    extra += 1;
                }
            }
        }
    }
    out.push_str("}\n");
    out
}
