//! `packem lsp`: a language server showing what the bundler sees, live, from the same database
//! and queries as the CLI.
//!
//! The only crate that knows LSP. The shape is rust-analyzer's and ty's: the main thread owns the
//! [`Workspace`] (the one writer) and applies every change; requests and diagnostics run on
//! worker threads against [`Snapshot`]s. Applying a change cancels them (salsa unwinds them with
//! `Cancelled`): a cancelled request is answered `ContentModified`, a cancelled diagnostics run is
//! simply superseded by the next. A panicking handler is caught and answered as an internal error;
//! the server keeps running.

mod convert;
mod handlers;
mod transport;

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use anyhow::Result;
use camino::{Utf8Path, Utf8PathBuf};
use crossbeam_channel::{Receiver, Sender, select};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::{
    CodeLensOptions, DidChangeTextDocumentParams, DidChangeWatchedFilesParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DocumentLinkOptions, InitializeParams, OneOf, PublishDiagnosticsParams,
    ServerCapabilities, TextDocumentSyncCapability, TextDocumentSyncKind,
};
use packem_host::{Snapshot, Workspace};
use serde_json::{Value, json};

use crate::convert::{Lines, path, uri};

/// The stdio reader's framing, public for the fuzz targets (`packem_fuzz`).
pub use crate::transport::read_frame;

/// Serves LSP on stdin/stdout until the client says `exit`.
pub fn run_stdio() -> Result<()> {
    let (connection, writer) = transport::stdio();
    run(connection)?;
    // Dropping the connection's sender ends the writer once it has flushed every message.
    let _ = writer.join();
    Ok(())
}

/// Serves LSP on `connection` (stdio, or in memory for tests) until `exit`.
pub fn run(connection: Connection) -> Result<()> {
    let (id, params) = connection.initialize_start()?;
    let params: InitializeParams = serde_json::from_value(params).unwrap_or_default();
    let root = root_of(&params);
    let dynamic_watch = params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files.as_ref())
        .and_then(|d| d.dynamic_registration)
        .unwrap_or(false);
    let capabilities = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::INCREMENTAL)),
        document_link_provider: Some(DocumentLinkOptions {
            resolve_provider: Some(false),
            work_done_progress_options: Default::default(),
        }),
        definition_provider: Some(OneOf::Left(true)),
        hover_provider: Some(lsp_types::HoverProviderCapability::Simple(true)),
        references_provider: Some(OneOf::Left(true)),
        code_lens_provider: Some(CodeLensOptions { resolve_provider: Some(false) }),
        ..Default::default()
    };
    let result = json!({
        "capabilities": capabilities,
        "serverInfo": { "name": "packem", "version": env!("CARGO_PKG_VERSION") },
    });
    connection.initialize_finish(id, result)?;
    let mut server = Server::new(connection.sender.clone(), root);
    if dynamic_watch {
        server.register_file_watcher();
    }
    server.refresh_diagnostics();
    server.main_loop(&connection.receiver)
}

fn root_of(params: &InitializeParams) -> Option<Utf8PathBuf> {
    #[allow(deprecated)]
    let from_root_uri = params.root_uri.as_ref().and_then(path);
    from_root_uri.or_else(|| params.workspace_folders.as_ref()?.first().and_then(|f| path(&f.uri)))
}

/// Work finished on a worker thread, handed back to the main loop.
enum Task {
    Response(Response),
    Diagnostics { generation: u64, files: BTreeMap<Utf8PathBuf, Vec<lsp_types::Diagnostic>> },
}

struct Server {
    sender: Sender<Message>,
    root: Option<Utf8PathBuf>,
    workspace: Option<Workspace>,
    /// The workspace's projects by packem.json target name (one, `default`, without targets).
    targets: Vec<(String, packem_db::Project)>,
    /// Open documents: their current text (the overlay) and version.
    documents: BTreeMap<Utf8PathBuf, String>,
    tasks: (Sender<Task>, Receiver<Task>),
    /// Requests handed to workers and not yet answered.
    pending: BTreeSet<RequestId>,
    /// Bumped by every change; diagnostics computed for an older one are dropped.
    generation: u64,
    /// Files that have diagnostics published (so they can be cleared).
    published: BTreeSet<Utf8PathBuf>,
    /// A diagnostics run for the current state finished and the workspace's fact cells may be
    /// refreshed (see [`Server::refresh_fact_cells_when_idle`]).
    fact_cells_due: bool,
    /// Whether this workspace saved the persistent cache after its first diagnostics run.
    cache_saved: bool,
    pool: Arc<rayon::ThreadPool>,
    next_id: i32,
    shutting_down: bool,
}

impl Server {
    fn new(sender: Sender<Message>, root: Option<Utf8PathBuf>) -> Self {
        let mut server = Self {
            sender,
            root,
            workspace: None,
            targets: Vec::new(),
            documents: BTreeMap::new(),
            tasks: crossbeam_channel::unbounded(),
            pending: BTreeSet::new(),
            generation: 0,
            published: BTreeSet::new(),
            fact_cells_due: false,
            cache_saved: false,
            pool: Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(2)
                    .stack_size(256 << 20)
                    .thread_name(|i| format!("packem-lsp-{i}"))
                    .build()
                    .expect("building the LSP worker pool"),
            ),
            next_id: 0,
            shutting_down: false,
        };
        server.load_workspace();
        server
    }

    /// (Re)reads `packem.json`/`package.json` and opens the workspace; a broken config is shown
    /// to the user, not fatal.
    fn load_workspace(&mut self) {
        let Some(root) = self.root.clone() else { return };
        match packem_host::config::load_targets(&root) {
            Ok(configs) => {
                let same = self.workspace.as_ref().is_some_and(|ws| {
                    let db = ws.db();
                    self.targets.len() == configs.len()
                        && self.targets.iter().zip(&configs).all(|((name, project), (new_name, config))| {
                            name == new_name
                                && project.entries(db) == &config.entries
                                && project.options(db) == &config.options
                        })
                });
                if same {
                    // Compile keys (define, loader, jsx, target) recompile only what they affect.
                    if let Some(ws) = self.workspace.as_mut() {
                        for ((_, project), (_, config)) in self.targets.iter().zip(configs) {
                            ws.set_compile_options_of(*project, config.compile);
                        }
                    }
                    return;
                }
                // Every target is a project of one database: files, parses and (where options
                // agree) resolutions are shared. Edited documents become the only LOW-durability
                // files (`Workspace` sets `Files::set_cold_contents`).
                let mut configs = configs.into_iter();
                let (first_name, first) = configs.next().expect("load_targets returns one at least");
                let mut workspace = Workspace::with_compile(
                    packem_host::PackemDatabase::default(),
                    first.entries,
                    first.options,
                    first.compile,
                );
                let mut targets = vec![(first_name, workspace.project())];
                for (name, config) in configs {
                    let link = packem_db::LinkOptions::default();
                    targets.push((name, workspace.add_project(config.entries, config.options, config.compile, link)));
                }
                // Facts earlier processes computed (keyed by text, so unsaved documents too).
                if let Some(warning) = workspace.open_cache(&packem_host::default_cache_dir(&root)) {
                    self.notify(
                        "window/logMessage",
                        json!({ "type": 2, "message": format!("packem: the persistent cache: {warning}") }),
                    );
                }
                for (path, text) in &self.documents {
                    workspace.set_overlay(path, Some(Arc::from(text.as_str())));
                }
                self.workspace = Some(workspace);
                self.cache_saved = false;
                self.targets = targets;
            }
            Err(message) => {
                self.workspace = None;
                self.targets.clear();
                self.notify("window/showMessage", json!({ "type": 2, "message": format!("packem: {message}") }));
            }
        }
    }

    fn main_loop(&mut self, receiver: &Receiver<Message>) -> Result<()> {
        loop {
            let tasks = self.tasks.1.clone();
            select! {
                recv(receiver) -> message => {
                    let Ok(message) = message else { return Ok(()) };
                    match message {
                        Message::Request(request) => self.on_request(request),
                        Message::Notification(notification) => {
                            if notification.method == "exit" {
                                return Ok(());
                            }
                            self.on_notification(notification);
                        }
                        Message::Response(_) => {}
                    }
                }
                recv(tasks) -> task => {
                    if let Ok(task) = task {
                        self.on_task(task);
                    }
                }
            }
        }
    }

    fn send(&self, message: impl Into<Message>) {
        let _ = self.sender.send(message.into());
    }

    fn notify(&self, method: &str, params: Value) {
        self.send(Notification::new(method.to_string(), params));
    }

    fn register_file_watcher(&mut self) {
        self.next_id += 1;
        let registration = json!({
            "registrations": [{
                "id": "packem-watched-files",
                "method": "workspace/didChangeWatchedFiles",
                "registerOptions": { "watchers": [
                    { "globPattern": "**/*.{js,jsx,ts,tsx,mjs,cjs,mts,cts,json,txt}" },
                    { "globPattern": "**/package.json" },
                    { "globPattern": "**/packem.json" }
                ]}
            }]
        });
        self.send(Request::new(
            RequestId::from(format!("packem/{}", self.next_id)),
            "client/registerCapability".into(),
            registration,
        ));
    }

    fn on_request(&mut self, request: Request) {
        if request.method == "shutdown" {
            self.shutting_down = true;
            self.send(Response::new_ok(request.id, Value::Null));
            if let Some(workspace) = &mut self.workspace {
                save_cache(workspace);
            }
            return;
        }
        if self.shutting_down {
            self.send(Response::new_err(
                request.id,
                ErrorCode::InvalidRequest as i32,
                "the server is shutting down".into(),
            ));
            return;
        }
        let Some(workspace) = &self.workspace else {
            let message = "packem: no workspace (add a packem.json with \"entries\")".to_string();
            self.send(Response::new_err(request.id, ErrorCode::RequestFailed as i32, message));
            return;
        };
        // `packem/moduleGraph` may name a target; everything else reads the first.
        let target =
            request.params.get("target").and_then(Value::as_str).filter(|_| request.method == "packem/moduleGraph");
        let snapshot = match target {
            None => workspace.snapshot(),
            Some(name) => match self.targets.iter().find(|(n, _)| n == name) {
                Some((_, project)) => workspace.snapshot_of(*project),
                None => {
                    let known: Vec<&str> = self.targets.iter().map(|(n, _)| n.as_str()).collect();
                    let message = format!("no target is named \"{name}\" (targets: {})", known.join(", "));
                    self.send(Response::new_err(request.id, ErrorCode::InvalidParams as i32, message));
                    return;
                }
            },
        };
        let sender = self.tasks.0.clone();
        self.pending.insert(request.id.clone());
        self.pool.spawn(move || {
            let Request { id, method, params } = request;
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                salsa::Cancelled::catch(AssertUnwindSafe(|| handlers::handle(&snapshot, &method, params)))
            }));
            drop(snapshot);
            let response = match outcome {
                Ok(Ok(Some(Ok(value)))) => Response::new_ok(id, value),
                Ok(Ok(Some(Err(handlers::Failure::InvalidParams(message))))) => {
                    Response::new_err(id, ErrorCode::InvalidParams as i32, message)
                }
                Ok(Ok(None)) => {
                    Response::new_err(id, ErrorCode::MethodNotFound as i32, format!("unknown method {method}"))
                }
                Ok(Err(_cancelled)) => {
                    Response::new_err(id, ErrorCode::ContentModified as i32, "content modified".to_string())
                }
                Err(panic) => {
                    let message = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "unknown panic".to_string());
                    tracing::error!(%method, %message, "request handler panicked");
                    Response::new_err(id, ErrorCode::InternalError as i32, format!("packem panicked: {message}"))
                }
            };
            let _ = sender.send(Task::Response(response));
        });
    }

    fn on_task(&mut self, task: Task) {
        match task {
            Task::Response(response) => {
                // A request cancelled by the client was already answered.
                if self.pending.remove(&response.id) {
                    self.send(response);
                }
                self.refresh_fact_cells_when_idle();
            }
            Task::Diagnostics { generation, files } => {
                if generation != self.generation {
                    return;
                }
                // Open documents always get a publish, so an editor learns they are clean too.
                let stale: Vec<Utf8PathBuf> = self
                    .published
                    .iter()
                    .chain(self.documents.keys())
                    .filter(|p| !files.contains_key(*p))
                    .cloned()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                for path in stale {
                    self.publish(&path, Vec::new());
                }
                self.published = files.keys().cloned().collect();
                for (path, diagnostics) in files {
                    self.publish(&path, diagnostics);
                }
                self.fact_cells_due = true;
                self.refresh_fact_cells_when_idle();
            }
        }
    }

    /// After a diagnostics run computed the graph and the link of the current state, copies new
    /// modules' facts into the workspace's fact cells, so the next keystroke re-validates nothing
    /// project-wide (a no-op unless the graph changed). Waits until no request is in flight:
    /// making cells sets inputs, which would cancel a request although nothing changed.
    fn refresh_fact_cells_when_idle(&mut self) {
        if self.fact_cells_due
            && self.pending.is_empty()
            && let Some(workspace) = &mut self.workspace
        {
            workspace.refresh_fact_cells();
            // What the first run computed serves the next session; later edits are saved at
            // shutdown (a save reads the cache file and every module's keys: not per keystroke).
            if !self.cache_saved {
                save_cache(workspace);
                self.cache_saved = true;
            }
            self.fact_cells_due = false;
        }
    }

    fn publish(&self, path: &Utf8Path, diagnostics: Vec<lsp_types::Diagnostic>) {
        let params = PublishDiagnosticsParams { uri: uri(path), diagnostics, version: None };
        self.notify("textDocument/publishDiagnostics", serde_json::to_value(params).expect("serializes"));
    }

    fn on_notification(&mut self, notification: Notification) {
        let Notification { method, params } = notification;
        match method.as_str() {
            "textDocument/didOpen" => {
                let Ok(params) = serde_json::from_value::<DidOpenTextDocumentParams>(params) else { return };
                let Some(path) = path(&params.text_document.uri) else { return };
                self.set_document(path, Some(params.text_document.text));
            }
            "textDocument/didChange" => {
                let Ok(params) = serde_json::from_value::<DidChangeTextDocumentParams>(params) else { return };
                let Some(path) = path(&params.text_document.uri) else { return };
                let Some(mut text) = self.documents.get(&path).cloned() else { return };
                for change in params.content_changes {
                    match change.range {
                        Some(range) => {
                            let lines = Lines::new(&text);
                            let (Some(start), Some(end)) = (lines.offset(range.start), lines.offset(range.end)) else {
                                continue;
                            };
                            if start <= end {
                                text.replace_range(start as usize..end as usize, &change.text);
                            }
                        }
                        None => text = change.text,
                    }
                }
                self.set_document(path, Some(text));
            }
            "textDocument/didClose" => {
                let Ok(params) = serde_json::from_value::<DidCloseTextDocumentParams>(params) else { return };
                let Some(path) = path(&params.text_document.uri) else { return };
                self.set_document(path, None);
            }
            "workspace/didChangeWatchedFiles" => {
                let Ok(params) = serde_json::from_value::<DidChangeWatchedFilesParams>(params) else { return };
                let paths: Vec<Utf8PathBuf> = params.changes.iter().filter_map(|c| path(&c.uri)).collect();
                if paths.iter().any(|p| {
                    p.file_name() == Some("packem.json")
                        || Some(p) == self.root.as_ref().map(|r| r.join("package.json")).as_ref()
                }) {
                    self.load_workspace();
                }
                if let Some(workspace) = &mut self.workspace {
                    workspace.apply_changes(paths);
                }
                self.refresh_diagnostics();
            }
            "$/cancelRequest" => {
                let id = params.get("id").cloned().and_then(|id| serde_json::from_value::<RequestId>(id).ok());
                if let Some(id) = id
                    && self.pending.remove(&id)
                {
                    self.send(Response::new_err(id, ErrorCode::RequestCanceled as i32, "canceled".to_string()));
                }
            }
            _ => {}
        }
    }

    /// Records an open document's text (or its closing) and applies it as an overlay.
    fn set_document(&mut self, path: Utf8PathBuf, text: Option<String>) {
        match &text {
            Some(text) => {
                self.documents.insert(path.clone(), text.clone());
            }
            None => {
                self.documents.remove(&path);
            }
        }
        if let Some(workspace) = &mut self.workspace {
            workspace.set_overlay(&path, text.map(|t| Arc::from(t.as_str())));
        }
        self.refresh_diagnostics();
    }

    /// Computes every diagnostic on a worker, for the current generation.
    fn refresh_diagnostics(&mut self) {
        self.generation += 1;
        // The state changed: wait for this run's graph before making cells.
        self.fact_cells_due = false;
        let Some(workspace) = &self.workspace else { return };
        let snapshots: Vec<(String, Snapshot)> =
            self.targets.iter().map(|(name, project)| (name.clone(), workspace.snapshot_of(*project))).collect();
        let generation = self.generation;
        let open: Vec<Utf8PathBuf> = self.documents.keys().cloned().collect();
        let sender = self.tasks.0.clone();
        self.pool.spawn(move || {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                salsa::Cancelled::catch(AssertUnwindSafe(|| collect_diagnostics(&snapshots, &open)))
            }));
            drop(snapshots);
            match outcome {
                Ok(Ok(files)) => {
                    let _ = sender.send(Task::Diagnostics { generation, files });
                }
                // Cancelled: a newer change scheduled another run.
                Ok(Err(_)) => {}
                Err(_) => tracing::error!("computing diagnostics panicked"),
            }
        });
    }
}

/// Every diagnostic of every target grouped by file, plus parse errors of open files outside
/// the first target's graph. Diagnostics without a file (a missing entry) go on the config
/// file. With several targets, a diagnostic that only some of them have says which (a module
/// that fails only in the browser target).
fn collect_diagnostics(
    snapshots: &[(String, Snapshot)],
    open: &[Utf8PathBuf],
) -> BTreeMap<Utf8PathBuf, Vec<lsp_types::Diagnostic>> {
    let (_, first) = &snapshots[0];
    let db = &first.db;
    let files = packem_db::Db::files(db);
    let text_of = |path: &Utf8Path| -> Option<String> {
        let file = files.get(path)?;
        Some(packem_db::source_text(db, file).as_str().to_string())
    };
    let per_target: Vec<(String, Vec<packem_db::Diagnostic>)> =
        snapshots.iter().map(|(name, snapshot)| (name.clone(), snapshot.diagnostics())).collect();
    let mut merged = packem_host::merge_target_diagnostics(per_target);
    let graphs: Vec<_> = snapshots.iter().map(|(_, snapshot)| snapshot.module_graph()).collect();
    for path in open {
        if graphs.iter().all(|graph| graph.find(path).is_none()) {
            let file = files.file(db, path);
            let source = packem_graph::module_source(db, first.project, file);
            merged.extend(packem_parse::file_diagnostics(db, source).iter().cloned());
        }
    }
    let config = first.project.options(db).cwd.join("packem.json");
    let mut out: BTreeMap<Utf8PathBuf, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
    for d in merged {
        let file = d.file.clone().unwrap_or_else(|| config.clone());
        let text = text_of(&file).unwrap_or_default();
        out.entry(file).or_default().push(convert::diagnostic(&d, &text, &text_of));
    }
    out
}

/// Saves what the session computed to the persistent cache; a failure only loses speed.
fn save_cache(workspace: &mut Workspace) {
    if let Err(warning) = workspace.save_cache() {
        tracing::warn!(%warning, "the persistent cache was not written");
    }
}
