//! The server end to end, in process over `lsp_server::Connection::memory()`, on temp projects.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

use std::path::Path;
use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use serde_json::{Value, json};

struct Client {
    connection: Connection,
    server: Option<std::thread::JoinHandle<()>>,
    dir: tempfile::TempDir,
    next_id: i32,
    /// Latest diagnostics per URI.
    diagnostics: std::collections::BTreeMap<String, Value>,
}

impl Client {
    fn start(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            write(&dir.path().join(path), text);
        }
        let (server_side, client_side) = Connection::memory();
        let server = std::thread::spawn(move || packem_lsp::run(server_side).unwrap());
        let mut client =
            Self { connection: client_side, server: Some(server), dir, next_id: 0, diagnostics: Default::default() };
        let root = client.uri("");
        let result = client.request(
            "initialize",
            json!({ "rootUri": root, "capabilities": { "workspace": { "didChangeWatchedFiles": { "dynamicRegistration": true } } } }),
        );
        assert_eq!(result["capabilities"]["textDocumentSync"], 2);
        client.notify("initialized", json!({}));
        client
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().canonicalize().unwrap().join(rel)
    }

    fn uri(&self, rel: &str) -> String {
        let path = self.path(rel);
        format!("file://{}", path.display()).trim_end_matches('/').to_string()
    }

    fn notify(&self, method: &str, params: Value) {
        self.connection.sender.send(Message::Notification(Notification::new(method.into(), params))).unwrap();
    }

    fn send_request(&mut self, method: &str, params: Value) -> RequestId {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.connection.sender.send(Message::Request(Request::new(id.clone(), method.into(), params))).unwrap();
        id
    }

    /// Handles one message from the server; returns responses.
    fn pump(&mut self, timeout: Duration) -> Option<Response> {
        match self.connection.receiver.recv_timeout(timeout) {
            Ok(Message::Response(response)) => Some(response),
            Ok(Message::Notification(n)) => {
                if n.method == "textDocument/publishDiagnostics" {
                    let uri = n.params["uri"].as_str().unwrap().to_string();
                    self.diagnostics.insert(uri, n.params["diagnostics"].clone());
                }
                None
            }
            Ok(Message::Request(r)) => {
                // client/registerCapability and friends.
                self.connection.sender.send(Message::Response(Response::new_ok(r.id, Value::Null))).unwrap();
                None
            }
            Err(_) => None,
        }
    }

    fn response(&mut self, id: RequestId) -> Response {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(response) = self.pump(Duration::from_millis(50))
                && response.id == id
            {
                return response;
            }
        }
        panic!("no response to {id:?}");
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        let response = self.response(id);
        assert!(response.error.is_none(), "{method}: {:?}", response.error);
        response.result.unwrap_or(Value::Null)
    }

    /// Waits until the diagnostics published for `rel` satisfy `check`.
    fn wait_diagnostics(&mut self, rel: &str, check: impl Fn(&Value) -> bool) -> Value {
        let uri = self.uri(rel);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(d) = self.diagnostics.get(&uri)
                && check(d)
            {
                return d.clone();
            }
            assert!(
                Instant::now() < deadline,
                "diagnostics for {rel} never matched; last: {:?}",
                self.diagnostics.get(&uri)
            );
            self.pump(Duration::from_millis(50));
        }
    }

    fn open(&self, rel: &str) {
        let text = std::fs::read_to_string(self.path(rel)).unwrap();
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": self.uri(rel), "languageId": "javascript", "version": 1, "text": text } }),
        );
    }

    fn stop(mut self) {
        let id = self.send_request("shutdown", Value::Null);
        self.response(id);
        self.notify("exit", Value::Null);
        self.server.take().unwrap().join().unwrap();
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn codes(diagnostics: &Value) -> Vec<String> {
    diagnostics.as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap().to_string()).collect()
}

fn project() -> Client {
    Client::start(&[
        ("packem.json", r#"{ "entries": ["src/main.js"], "platform": "node" }"#),
        (
            "src/main.js",
            "import { greet } from './greet.js';\nimport * as util from './util.js';\nconsole.log(greet(util.name));\n",
        ),
        ("src/greet.js", "export { greet } from './impl.js';\n"),
        ("src/impl.js", "export function greet(name) {\n  return 'hi ' + name;\n}\n"),
        ("src/util.js", "export const name = 'you';\n"),
    ])
}

#[test]
fn an_unresolved_import_is_reported_and_cleared_when_the_file_appears() {
    let mut c = project();
    c.open("src/main.js");
    c.wait_diagnostics("src/main.js", |d| d.as_array().unwrap().is_empty());
    // Type an import of a file that does not exist.
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": c.uri("src/main.js"), "version": 2 },
            "contentChanges": [{ "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } }, "text": "import './missing.js';\n" }]
        }),
    );
    let d = c.wait_diagnostics("src/main.js", |d| codes(d) == ["UNRESOLVED_IMPORT"]);
    assert_eq!(d[0]["range"]["start"], json!({ "line": 0, "character": 7 }));
    assert_eq!(d[0]["source"], "packem");
    // Create it on disk and tell the server, as the editor's file watcher would.
    write(&c.path("src/missing.js"), "export {};\n");
    c.notify("workspace/didChangeWatchedFiles", json!({ "changes": [{ "uri": c.uri("src/missing.js"), "type": 1 }] }));
    c.wait_diagnostics("src/main.js", |d| d.as_array().unwrap().is_empty());
    c.stop();
}

#[test]
fn missing_exports_and_cycles_are_diagnosed() {
    let mut c = Client::start(&[
        ("packem.json", r#"{ "entries": ["a.js"] }"#),
        ("a.js", "import { nope } from './b.js';\nconsole.log(nope);\n"),
        ("b.js", "import './a.js';\nexport const yes = 1;\n"),
    ]);
    c.open("a.js");
    let d = c.wait_diagnostics("a.js", |d| codes(d).contains(&"MISSING_EXPORT".to_string()));
    let cycle = d.as_array().unwrap().iter().find(|d| d["code"] == "CIRCULAR_DEPENDENCY").expect("a cycle warning");
    assert_eq!(cycle["severity"], 2);
    assert_eq!(cycle["relatedInformation"][0]["location"]["uri"], c.uri("b.js"));
    c.stop();
}

#[test]
fn navigation_requests_answer_with_the_right_locations() {
    let mut c = project();
    c.open("src/main.js");
    let main = c.uri("src/main.js");
    let links = c.request("textDocument/documentLink", json!({ "textDocument": { "uri": main } }));
    assert_eq!(links[0]["target"], c.uri("src/greet.js"));
    assert_eq!(
        links[0]["range"],
        json!({ "start": { "line": 0, "character": 23 }, "end": { "line": 0, "character": 33 } })
    );
    // On the specifier: the file.
    let def = c.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": main }, "position": { "line": 0, "character": 26 } }),
    );
    assert_eq!(def["uri"], c.uri("src/greet.js"));
    // On the imported binding: the declaration, through the re-export.
    let def = c.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": main }, "position": { "line": 2, "character": 13 } }),
    );
    assert_eq!(def["uri"], c.uri("src/impl.js"));
    assert_eq!(def["range"]["start"], json!({ "line": 0, "character": 16 }));
    let hover = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": main }, "position": { "line": 1, "character": 26 } }),
    );
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.contains("src/util.js") && text.contains("bytes"), "{text}");
    let refs = c.request(
        "textDocument/references",
        json!({ "textDocument": { "uri": c.uri("src/impl.js") }, "position": { "line": 0, "character": 0 }, "context": { "includeDeclaration": false } }),
    );
    assert_eq!(refs.as_array().unwrap().len(), 1);
    assert_eq!(refs[0]["uri"], c.uri("src/greet.js"));
    let lenses = c.request("textDocument/codeLens", json!({ "textDocument": { "uri": c.uri("src/util.js") } }));
    assert_eq!(lenses[0]["command"]["title"], "1 importer");
    let importers = c.request("packem/importers", json!({ "uri": c.uri("src/util.js") }));
    assert_eq!(importers[0]["uri"], main);
    let graph = c.request("packem/moduleGraph", json!({}));
    assert_eq!(graph["nodes"].as_array().unwrap().len(), 4);
    assert_eq!(graph["nodes"][0]["entry"], true);
    let sub = c.request("packem/moduleGraph", json!({ "uri": c.uri("src/greet.js") }));
    assert_eq!(sub["nodes"].as_array().unwrap().len(), 2);
    c.stop();
}

#[test]
fn a_burst_of_edits_ends_with_diagnostics_for_the_final_text() {
    let mut c = project();
    c.open("src/main.js");
    for i in 0..100 {
        // Alternate between a broken and a fine import; the last edit (i = 99) is broken.
        let text =
            if i % 2 == 1 { format!("import './missing{i}.js';\n") } else { "import './util.js';\n".to_string() };
        c.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": c.uri("src/main.js"), "version": i + 2 }, "contentChanges": [{ "text": text }] }),
        );
    }
    let d = c.wait_diagnostics("src/main.js", |d| {
        d.as_array().unwrap().len() == 1 && d[0]["message"].as_str().unwrap().contains("missing99.js")
    });
    assert_eq!(codes(&d), ["UNRESOLVED_IMPORT"]);
    c.stop();
}

#[test]
fn bad_requests_get_errors_and_the_server_keeps_running() {
    let mut c = project();
    let id = c.send_request("no/such/method", json!({}));
    assert_eq!(c.response(id).error.unwrap().code, lsp_server::ErrorCode::MethodNotFound as i32);
    let id = c.send_request("textDocument/definition", json!({ "nonsense": true }));
    assert_eq!(c.response(id).error.unwrap().code, lsp_server::ErrorCode::InvalidParams as i32);
    // Unknown files and out-of-range positions are answered, not crashed on.
    let unknown = c.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": c.uri("nope.js") }, "position": { "line": 0, "character": 0 } }),
    );
    assert_eq!(unknown, Value::Null);
    let far = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": c.uri("src/main.js") }, "position": { "line": 9999, "character": 9999 } }),
    );
    assert_eq!(far, Value::Null);
    let links = c.request("textDocument/documentLink", json!({ "textDocument": { "uri": "untitled:Untitled-1" } }));
    assert_eq!(links, Value::Null);
    // A cancelled request is answered exactly once (cancelled or with its result).
    let id = c.send_request("packem/moduleGraph", json!({}));
    c.notify("$/cancelRequest", json!({ "id": id.clone() }));
    let response = c.response(id.clone());
    assert!(response.error.is_none_or(|e| e.code == lsp_server::ErrorCode::RequestCanceled as i32));
    // Still serving.
    let graph = c.request("packem/moduleGraph", json!({}));
    assert_eq!(graph["nodes"].as_array().unwrap().len(), 4);
    c.stop();
}

#[test]
fn the_server_compiles_with_packem_json_compile_keys_and_follows_their_edits() {
    let mut c = Client::start(&[
        (
            "packem.json",
            r#"{ "entries": ["src/main.jsx"], "jsx": "transform", "jsxFactory": "h", "loader": { ".svg": "text" } }"#,
        ),
        ("src/h.js", "export const h = (t) => t;\n"),
        ("src/icon.svg", "<svg/>"),
        ("src/main.jsx", "import { h } from './h.js';\nimport icon from './icon.svg';\nconsole.log(<b>{icon}</b>);\n"),
    ]);
    c.open("src/main.jsx");
    // The `.svg` loader and the JSX settings come from packem.json: no diagnostics, as `check` says.
    c.wait_diagnostics("src/main.jsx", |d| d.as_array().unwrap().is_empty());
    // Dropping the loader makes the import an error at its specifier, without a restart.
    write(&c.path("packem.json"), r#"{ "entries": ["src/main.jsx"], "jsx": "transform", "jsxFactory": "h" }"#);
    c.notify("workspace/didChangeWatchedFiles", json!({ "changes": [{ "uri": c.uri("packem.json"), "type": 2 }] }));
    let d = c.wait_diagnostics("src/main.jsx", |d| codes(d) == ["NO_LOADER"]);
    assert_eq!(d[0]["range"]["start"], json!({ "line": 1, "character": 17 }));
    c.stop();
}
