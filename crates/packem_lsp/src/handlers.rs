//! Request handlers. Each runs on a worker thread against a [`Snapshot`] and returns a JSON
//! result; a `salsa::Cancelled` unwinding out of one means an edit arrived meanwhile.

use camino::{Utf8Path, Utf8PathBuf};
use lsp_types::{
    CodeLens, Command, DocumentLink, DocumentLinkParams, GotoDefinitionParams, Hover, HoverContents, HoverParams,
    Location, MarkupContent, MarkupKind, Position, Range, ReferenceParams,
};
use packem_db::source_text;
use packem_graph::{EdgeTarget, ModuleGraph, ModuleId};
use packem_host::Snapshot;
use packem_link::{Binding, Imported};
use packem_parse::{ModuleFormat, module_scan};
use serde_json::{Value, json};

use crate::convert::{Lines, path, uri};

/// A handler's failure, answered as a JSON-RPC error.
pub enum Failure {
    /// The params do not parse (`InvalidParams`).
    InvalidParams(String),
}

type Result<T> = std::result::Result<T, Failure>;

fn parse<T: serde::de::DeserializeOwned>(params: Value) -> Result<T> {
    serde_json::from_value(params).map_err(|e| Failure::InvalidParams(e.to_string()))
}

/// Dispatches a request method to its handler (`None` for unknown methods).
pub fn handle(snapshot: &Snapshot, method: &str, params: Value) -> Option<Result<Value>> {
    Some(match method {
        "textDocument/documentLink" => document_links(snapshot, params),
        "textDocument/definition" => definition(snapshot, params),
        "textDocument/hover" => hover(snapshot, params),
        "textDocument/references" => references(snapshot, params),
        "textDocument/codeLens" => code_lenses(snapshot, params),
        "packem/moduleGraph" => module_graph(snapshot, params),
        "packem/importers" => importers_request(snapshot, params),
        _ => return None,
    })
}

fn text_of(snapshot: &Snapshot, path: &Utf8Path) -> String {
    let files = packem_db::Db::files(&snapshot.db);
    let file = files.file(&snapshot.db, path);
    source_text(&snapshot.db, file).as_str().to_string()
}

/// The import record under `offset` in `module`, with its edge.
fn record_at(snapshot: &Snapshot, graph: &ModuleGraph, module: ModuleId, offset: u32) -> Option<(u32, (u32, u32))> {
    let scan = module_scan(&snapshot.db, graph.module(module).source);
    scan.records
        .iter()
        .enumerate()
        .find_map(|(i, r)| (r.span.0 <= offset && offset <= r.span.1).then_some((i as u32, r.span)))
}

fn edge_target(graph: &ModuleGraph, module: ModuleId, record: u32) -> Option<&EdgeTarget> {
    graph.module(module).edge(record).map(|e| &e.target)
}

fn target_path(graph: &ModuleGraph, target: &EdgeTarget) -> Option<Utf8PathBuf> {
    match target {
        EdgeTarget::Module(id) => Some(graph.module(*id).path.clone()),
        EdgeTarget::Asset(p) => Some(p.clone()),
        _ => None,
    }
}

fn document_links(snapshot: &Snapshot, params: Value) -> Result<Value> {
    let params: DocumentLinkParams = parse(params)?;
    let graph = snapshot.module_graph();
    let Some(file) = path(&params.text_document.uri) else { return Ok(Value::Null) };
    let Some(module) = graph.find(&file) else { return Ok(json!([])) };
    let text = text_of(snapshot, &file);
    let lines = Lines::new(&text);
    let scan = module_scan(&snapshot.db, graph.module(module).source);
    let links: Vec<DocumentLink> = scan
        .records
        .iter()
        .enumerate()
        // Imports a transform added (the JSX runtime) have no place in the file to link.
        .filter(|(_, record)| !packem_parse::is_injected_span(record.span))
        .filter_map(|(i, record)| {
            let target = target_path(&graph, edge_target(&graph, module, i as u32)?)?;
            // The link covers the specifier without its quotes.
            let range = lines.range((record.span.0 + 1, record.span.1.saturating_sub(1).max(record.span.0 + 1)));
            Some(DocumentLink { range, target: Some(uri(&target)), tooltip: Some(target.to_string()), data: None })
        })
        .collect();
    Ok(serde_json::to_value(links).expect("links serialize"))
}

fn definition(snapshot: &Snapshot, params: Value) -> Result<Value> {
    let params: GotoDefinitionParams = parse(params)?;
    let position = params.text_document_position_params;
    let graph = snapshot.module_graph();
    let Some(file) = path(&position.text_document.uri) else { return Ok(Value::Null) };
    let Some(module) = graph.find(&file) else { return Ok(Value::Null) };
    let text = text_of(snapshot, &file);
    let Some(offset) = Lines::new(&text).offset(position.position) else { return Ok(Value::Null) };
    // On a specifier: the resolved file.
    if let Some((record, _)) = record_at(snapshot, &graph, module, offset) {
        let Some(target) = edge_target(&graph, module, record).and_then(|t| target_path(&graph, t)) else {
            return Ok(Value::Null);
        };
        return Ok(serde_json::to_value(Location { uri: uri(&target), range: Range::default() }).expect("serializes"));
    }
    // On an imported binding: the exporting declaration, following re-exports.
    let Some(local) = identifier_at(&text, offset) else { return Ok(Value::Null) };
    let symbols = packem_link::module_symbols(&snapshot.db, graph.module(module).source);
    let Some(import) = symbols.import(&local) else { return Ok(Value::Null) };
    let Some(EdgeTarget::Module(target)) = edge_target(&graph, module, import.record) else { return Ok(Value::Null) };
    let binding = match &import.imported {
        Imported::Namespace => Binding::Namespace(*target),
        Imported::Name(name) => packem_link::trace_export(&snapshot.db, snapshot.project, *target, name),
    };
    let location = match binding {
        Binding::Local(m, local) => declaration(snapshot, &graph, m, &local),
        Binding::Namespace(m) => Some(Location { uri: uri(&graph.module(m).path), range: Range::default() }),
        Binding::CjsProperty(r, _) | Binding::CjsNamespace(r) => {
            Some(Location { uri: uri(&graph.module(r.module).path), range: Range::default() })
        }
        _ => None,
    };
    Ok(location.map(|l| serde_json::to_value(l).expect("serializes")).unwrap_or(Value::Null))
}

/// Where `local` is declared at the top level of `module`.
fn declaration(snapshot: &Snapshot, graph: &ModuleGraph, module: ModuleId, local: &str) -> Option<Location> {
    let node = graph.module(module);
    let parsed = packem_parse::parsed_module(&snapshot.db, node.source);
    let scoping = parsed.scoping();
    let symbol = scoping.get_root_binding(local.into())?;
    let span = scoping.symbol_span(symbol);
    let text = text_of(snapshot, &node.path);
    Some(Location { uri: uri(&node.path), range: Lines::new(&text).range((span.start, span.end)) })
}

/// The identifier (ASCII word characters and `$`) around `offset`.
fn identifier_at(text: &str, offset: u32) -> Option<String> {
    let bytes = text.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$';
    let mut start = (offset as usize).min(bytes.len());
    while start > 0 && is_word(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = (offset as usize).min(bytes.len());
    while end < bytes.len() && is_word(bytes[end]) {
        end += 1;
    }
    (start < end).then(|| text[start..end].to_string())
}

fn hover(snapshot: &Snapshot, params: Value) -> Result<Value> {
    let params: HoverParams = parse(params)?;
    let position = params.text_document_position_params;
    let graph = snapshot.module_graph();
    let Some(file) = path(&position.text_document.uri) else { return Ok(Value::Null) };
    let Some(module) = graph.find(&file) else { return Ok(Value::Null) };
    let text = text_of(snapshot, &file);
    let lines = Lines::new(&text);
    let Some(offset) = lines.offset(position.position) else { return Ok(Value::Null) };
    let Some((record, span)) = record_at(snapshot, &graph, module, offset) else { return Ok(Value::Null) };
    let edge = graph.module(module).edge(record);
    let Some(edge) = edge else { return Ok(Value::Null) };
    let root = &snapshot.project.options(&snapshot.db).cwd;
    let value = match &edge.target {
        EdgeTarget::Module(id) => {
            let target = graph.module(*id);
            let request = packem_resolve::ResolveRequest::new(
                &snapshot.db,
                snapshot.project.scope(&snapshot.db),
                file.parent().map(Utf8Path::to_owned).unwrap_or_default(),
                edge.specifier.clone(),
                packem_graph::resolve_kind(edge.kind),
            );
            let via = match packem_resolve::resolve(&snapshot.db, request) {
                packem_resolve::Resolution::File { via, .. } => format!("{via:?}"),
                packem_resolve::Resolution::Ignored { .. } => "disabled by a package.json browser field".into(),
                _ => String::new(),
            };
            let size = source_text(&snapshot.db, target.file).as_str().len();
            let format = match target.format {
                ModuleFormat::Esm => "ES module",
                ModuleFormat::CommonJs => "CommonJS module",
                ModuleFormat::Json => "JSON module",
                ModuleFormat::Asset => "asset",
                ModuleFormat::None => "script",
            };
            format!(
                "**{}**\n\n`{}`\n\nresolved via: {via} · {format} · {size} bytes",
                edge.specifier,
                packem_db::diagnostic::display_path(&target.path, root)
            )
        }
        EdgeTarget::Asset(p) => format!("**{}**\n\n`{}` (asset)", edge.specifier, p),
        EdgeTarget::External(p) => format!("**{}**\n\nexternal: `{p}`", edge.specifier),
        EdgeTarget::Unresolved(f) => format!("**{}**\n\n{}", edge.specifier, f.message),
    };
    let hover = Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }),
        range: Some(lines.range(span)),
    };
    Ok(serde_json::to_value(hover).expect("serializes"))
}

/// Import sites of `target` in other modules.
fn importers(snapshot: &Snapshot, graph: &ModuleGraph, target: ModuleId) -> Vec<Location> {
    let mut out = Vec::new();
    for (index, module) in graph.modules.iter().enumerate() {
        let edges: Vec<_> = module.edges.iter().filter(|e| e.target == EdgeTarget::Module(target)).collect();
        if edges.is_empty() {
            continue;
        }
        let text = text_of(snapshot, &module.path);
        let lines = Lines::new(&text);
        let scan = module_scan(&snapshot.db, graph.modules[index].source);
        for edge in edges {
            if let Some(record) = scan.records.get(edge.record as usize) {
                // An import the JSX transform added points at the top of the importer.
                let span = if packem_parse::is_injected_span(record.span) { (0, 0) } else { record.span };
                out.push(Location { uri: uri(&module.path), range: lines.range(span) });
            }
        }
    }
    out
}

fn references(snapshot: &Snapshot, params: Value) -> Result<Value> {
    let params: ReferenceParams = parse(params)?;
    let graph = snapshot.module_graph();
    let Some(file) = path(&params.text_document_position.text_document.uri) else { return Ok(Value::Null) };
    let Some(module) = graph.find(&file) else { return Ok(json!([])) };
    Ok(serde_json::to_value(importers(snapshot, &graph, module)).expect("serializes"))
}

fn code_lenses(snapshot: &Snapshot, params: Value) -> Result<Value> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Params {
        text_document: lsp_types::TextDocumentIdentifier,
    }
    let params: Params = parse(params)?;
    let graph = snapshot.module_graph();
    let Some(file) = path(&params.text_document.uri) else { return Ok(Value::Null) };
    let Some(module) = graph.find(&file) else { return Ok(json!([])) };
    let count = importers(snapshot, &graph, module).len();
    let title = if count == 1 { "1 importer".to_string() } else { format!("{count} importers") };
    let lens = CodeLens {
        range: Range { start: Position::default(), end: Position::default() },
        command: Some(Command {
            title,
            command: "packem.showImporters".into(),
            arguments: Some(vec![json!(params.text_document.uri.as_str())]),
        }),
        data: None,
    };
    Ok(serde_json::to_value(vec![lens]).expect("serializes"))
}

fn importers_request(snapshot: &Snapshot, params: Value) -> Result<Value> {
    let uri_value =
        params.get("uri").and_then(Value::as_str).ok_or_else(|| Failure::InvalidParams("expected { uri }".into()))?;
    let uri: lsp_types::Uri =
        uri_value.parse().map_err(|_| Failure::InvalidParams(format!("not a URI: {uri_value}")))?;
    let graph = snapshot.module_graph();
    let Some(file) = path(&uri) else { return Ok(json!([])) };
    let Some(module) = graph.find(&file) else { return Ok(json!([])) };
    Ok(serde_json::to_value(importers(snapshot, &graph, module)).expect("serializes"))
}

/// The module graph as JSON, optionally restricted to what one file reaches.
fn module_graph(snapshot: &Snapshot, params: Value) -> Result<Value> {
    let graph = snapshot.module_graph();
    let root = &snapshot.project.options(&snapshot.db).cwd;
    let start = match params.get("uri").and_then(Value::as_str) {
        Some(u) => {
            let uri: lsp_types::Uri = u.parse().map_err(|_| Failure::InvalidParams(format!("not a URI: {u}")))?;
            match path(&uri).and_then(|p| graph.find(&p)) {
                Some(id) => Some(id),
                None => return Ok(json!({ "nodes": [], "edges": [] })),
            }
        }
        None => None,
    };
    let mut included = vec![start.is_none(); graph.modules.len()];
    if let Some(start) = start {
        let mut stack = vec![start];
        included[start.index()] = true;
        while let Some(id) = stack.pop() {
            for edge in &graph.module(id).edges {
                if let EdgeTarget::Module(t) = edge.target
                    && !included[t.index()]
                {
                    included[t.index()] = true;
                    stack.push(t);
                }
            }
        }
    }
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for (i, module) in graph.modules.iter().enumerate() {
        if !included[i] {
            continue;
        }
        let format = match module.format {
            ModuleFormat::Esm => "esm",
            ModuleFormat::CommonJs => "cjs",
            ModuleFormat::Json => "json",
            ModuleFormat::Asset => "asset",
            ModuleFormat::None => "script",
        };
        nodes.push(json!({
            "id": i,
            "uri": uri(&module.path).as_str(),
            "path": packem_db::diagnostic::display_path(&module.path, root),
            "format": format,
            "entry": graph.entries.contains(&ModuleId(i as u32)),
        }));
        for edge in &module.edges {
            let mut e =
                json!({ "from": i, "to": Value::Null, "specifier": edge.specifier, "kind": edge.kind.as_str() });
            match &edge.target {
                EdgeTarget::Module(t) => e["to"] = json!(t.0),
                EdgeTarget::External(p) => e["external"] = json!(p),
                EdgeTarget::Unresolved(f) => e["error"] = json!(f.message),
                EdgeTarget::Asset(p) => e["asset"] = json!(packem_db::diagnostic::display_path(p, root)),
            }
            edges.push(e);
        }
    }
    Ok(json!({ "nodes": nodes, "edges": edges }))
}
