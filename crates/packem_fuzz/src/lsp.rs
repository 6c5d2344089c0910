//! Target (c): the language server's message handling, and its stdio framing.

use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use serde_json::{Value, json};

use crate::scratch::Scratch;

/// The files of the served project; operations name them by index.
const FILES: &[&str] = &["src/main.js", "src/lib.ts", "src/new.js", "packem.json", "src/view.tsx"];

/// How long the server may take to answer before the run counts as a hang.
const PATIENCE: Duration = Duration::from_secs(20);

#[derive(Arbitrary, Debug)]
enum Op {
    Open(u8, String),
    Change(u8, Vec<Edit>),
    Replace(u8, String),
    Close(u8),
    Definition(u8, Position),
    Hover(u8, Position),
    References(u8, Position),
    Links(u8),
    Lenses(u8),
    Graph(Option<String>),
    Importers(u8),
    /// A file changed on disk (new contents, or deleted), then reported as watched.
    Disk(u8, Option<String>),
    /// Any method with any JSON parameters, as a request or a notification.
    Raw {
        method: String,
        params: String,
        request: bool,
    },
    Cancel(u8),
}

#[derive(Arbitrary, Debug)]
struct Edit {
    start: Position,
    end: Position,
    text: String,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct Position {
    line: u8,
    character: u16,
}

impl Position {
    fn json(self) -> Value {
        json!({ "line": self.line % 8, "character": self.character % 300 })
    }
}

/// `data[0]` even: a session of operations decoded from the rest; odd: the rest is read as a
/// stdio stream of `Content-Length` frames.
pub fn lsp(data: &[u8]) {
    match data.split_first() {
        Some((mode, rest)) if mode % 2 == 1 => frames(rest),
        Some((_, rest)) => session(rest),
        None => {}
    }
}

/// Reads frames until the input ends, as the stdio reader does.
fn frames(mut input: &[u8]) {
    while let Some(frame) = packem_lsp::read_frame(&mut input) {
        if let Ok(body) = frame {
            let _ = serde_json::from_slice::<Message>(&body);
        }
    }
}

fn session(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let ops: Vec<Op> = Vec::arbitrary(&mut u).unwrap_or_default();
    let scratch = Scratch::new();
    scratch.write("packem.json", br#"{ "entries": ["src/main.js"] }"#);
    scratch.write("src/main.js", b"import { f } from './lib.ts';\nimport './view.tsx';\nconsole.log(f(1));\n");
    scratch.write("src/lib.ts", b"export function f(n: number): number {\n  return n + 1;\n}\n");
    scratch.write("src/view.tsx", b"export const v = <p>{'\xf0\x9f\x98\x80'}</p>;\n");
    let uri = |i: u8| format!("file://{}", scratch.root().join(FILES[usize::from(i) % FILES.len()]));

    let (server_side, client) = Connection::memory();
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    let server = std::thread::spawn(move || {
        let _ = packem_lsp::run(server_side);
        let _ = done_tx.send(());
    });
    let mut next = 0;
    let mut request = |method: &str, params: Value| {
        next += 1;
        let id = RequestId::from(next);
        let _ = client.sender.send(Message::Request(Request::new(id.clone(), method.into(), params)));
        id
    };
    let notify = |method: &str, params: Value| {
        let _ = client.sender.send(Message::Notification(Notification::new(method.into(), params)));
    };
    let root = format!("file://{}", scratch.root());
    let init = request(
        "initialize",
        json!({ "rootUri": root, "capabilities": { "workspace": { "didChangeWatchedFiles": { "dynamicRegistration": true } } } }),
    );
    wait_for(&client, &init);
    notify("initialized", json!({}));
    let mut versions = [0i32; 5];
    for op in ops.into_iter().take(24) {
        let doc = |i: u8| json!({ "uri": uri(i) });
        let at = |i: u8, p: Position| json!({ "textDocument": doc(i), "position": p.json() });
        match op {
            Op::Open(i, text) => notify(
                "textDocument/didOpen",
                json!({ "textDocument": { "uri": uri(i), "languageId": "javascript", "version": 0, "text": text } }),
            ),
            Op::Change(i, edits) => {
                let slot = &mut versions[usize::from(i) % FILES.len()];
                *slot += 1;
                let changes: Vec<Value> = edits
                    .into_iter()
                    .take(4)
                    .map(|e| json!({ "range": { "start": e.start.json(), "end": e.end.json() }, "text": e.text }))
                    .collect();
                notify(
                    "textDocument/didChange",
                    json!({ "textDocument": { "uri": uri(i), "version": *slot }, "contentChanges": changes }),
                );
            }
            Op::Replace(i, text) => {
                let slot = &mut versions[usize::from(i) % FILES.len()];
                *slot += 1;
                notify(
                    "textDocument/didChange",
                    json!({ "textDocument": { "uri": uri(i), "version": *slot }, "contentChanges": [{ "text": text }] }),
                );
            }
            Op::Close(i) => notify("textDocument/didClose", json!({ "textDocument": doc(i) })),
            Op::Definition(i, p) => drop(request("textDocument/definition", at(i, p))),
            Op::Hover(i, p) => drop(request("textDocument/hover", at(i, p))),
            Op::References(i, p) => {
                let mut params = at(i, p);
                params["context"] = json!({ "includeDeclaration": true });
                drop(request("textDocument/references", params));
            }
            Op::Links(i) => drop(request("textDocument/documentLink", json!({ "textDocument": doc(i) }))),
            Op::Lenses(i) => drop(request("textDocument/codeLens", json!({ "textDocument": doc(i) }))),
            Op::Graph(target) => drop(request("packem/moduleGraph", json!({ "target": target }))),
            Op::Importers(i) => drop(request("packem/importers", json!({ "textDocument": doc(i) }))),
            Op::Disk(i, text) => {
                let rel = FILES[usize::from(i) % FILES.len()];
                let path = scratch.root().join(rel);
                let kind = match text {
                    Some(text) => {
                        scratch.write(rel, text.as_bytes());
                        2
                    }
                    None => {
                        let _ = std::fs::remove_file(&path);
                        3
                    }
                };
                notify("workspace/didChangeWatchedFiles", json!({ "changes": [{ "uri": uri(i), "type": kind }] }));
            }
            Op::Raw { method, params, request: true } => {
                let params = serde_json::from_str(&params).unwrap_or(Value::String(params));
                drop(request(&method, params));
            }
            Op::Raw { method, params, request: false } => {
                if method != "exit" {
                    notify(&method, serde_json::from_str(&params).unwrap_or(Value::String(params)));
                }
            }
            Op::Cancel(id) => notify("$/cancelRequest", json!({ "id": id })),
        }
    }
    let shutdown = request("shutdown", Value::Null);
    wait_for(&client, &shutdown);
    notify("exit", Value::Null);
    assert!(done_rx.recv_timeout(PATIENCE).is_ok(), "the server did not stop after exit");
    let _ = server.join();
}

/// Reads the server's messages until the response to `id`; an answer that reports a panic, or
/// no answer in time, fails the run.
fn wait_for(client: &Connection, id: &RequestId) {
    loop {
        let message = client.receiver.recv_timeout(PATIENCE).expect("the server stopped answering");
        if let Message::Response(Response { id: got, error, .. }) = message {
            // The server's answer to a panicking handler (a method named "panicked" is not one).
            if let Some(error) = &error {
                let panicked = error.code == lsp_server::ErrorCode::InternalError as i32
                    && error.message.starts_with("packem panicked");
                assert!(!panicked, "a request handler panicked: {}", error.message);
            }
            if &got == id {
                return;
            }
        }
    }
}
