//! Latency of `packem lsp` from `textDocument/didChange` to the `publishDiagnostics` that
//! answers it, on a generated 10,000-module workspace (1,000 in the test profile): for a body
//! edit of a leaf and for an import edit. The server runs in process over
//! `lsp_server::Connection::memory()`, exactly as in an editor minus the pipe.
//!
//! `cargo bench -p packem_benches --bench lsp` (needs `cargo xtask fixtures`).
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use packem_benches::{Corpus, quantile};
use serde_json::{Value, json};

fn main() {
    let full = std::env::args().any(|a| a == "--bench") || std::env::var_os("PACKEM_BENCH_FULL").is_some();
    let name = if cfg!(debug_assertions) || !full { "synth-1000" } else { "synth-10000" };
    let samples =
        std::env::var("PACKEM_BENCH_SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(if full { 30 } else { 3 });
    let corpus = Corpus::new(name);
    let root = corpus.entry.parent().unwrap().parent().unwrap().to_owned();
    std::fs::write(
        root.join("packem.json"),
        format!("{{ \"entries\": [\"{}\"] }}", corpus.entry.strip_prefix(&root).unwrap()),
    )
    .unwrap();

    let uri = |p: &camino::Utf8Path| format!("file://{p}");
    let (client, thread) = start(&uri(&root));
    let send = |m: Message| client.sender.send(m).unwrap();
    send(Message::Notification(Notification::new("initialized".into(), json!({}))));

    let started = Instant::now();
    let open = |path: &camino::Utf8Path, text: &str| {
        send(Message::Notification(Notification::new(
            "textDocument/didOpen".into(),
            json!({ "textDocument": { "uri": uri(path), "languageId": "javascript", "version": 1, "text": text } }),
        )));
    };
    open(&corpus.leaf, corpus.leaf_text());
    wait(&client, |m| is_diagnostics_for(m, &uri(&corpus.leaf)));
    println!("{name}: first diagnostics after open (cold): {:.1?}", started.elapsed());
    let importer_text = corpus.import_edit(false);
    open(&corpus.importer, &importer_text);
    wait(&client, |m| is_diagnostics_for(m, &uri(&corpus.importer)));

    let mut version = 1;
    let mut change = |path: &camino::Utf8Path, text: String| -> Duration {
        version += 1;
        let start = Instant::now();
        send(Message::Notification(Notification::new(
            "textDocument/didChange".into(),
            json!({ "textDocument": { "uri": uri(path), "version": version }, "contentChanges": [{ "text": text }] }),
        )));
        wait(&client, |m| is_diagnostics_for(m, &uri(path)));
        start.elapsed()
    };
    let mut body: Vec<Duration> = (0..samples).map(|n| change(&corpus.leaf, corpus.body_edit(n as u64 + 1))).collect();
    let import_samples =
        std::env::var("PACKEM_BENCH_IMPORT_SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(samples);
    let mut import: Vec<Duration> =
        (0..import_samples).map(|n| change(&corpus.importer, corpus.import_edit(n % 2 == 0))).collect();
    for (label, samples) in [("body edit", &mut body), ("import edit", &mut import)] {
        println!(
            "{name}: didChange -> publishDiagnostics, {label}: median {:.2?}, p90 {:.2?} ({} samples)",
            quantile(samples, 0.5),
            quantile(samples, 0.9),
            samples.len()
        );
    }
    stop(client, thread);

    // A second session on the persistent cache the first one saved (after its first
    // diagnostics): from `initialized` to the first diagnostics of the opened leaf.
    let (client, thread) = start(&uri(&root));
    let send = |m: Message| client.sender.send(m).unwrap();
    let started = Instant::now();
    send(Message::Notification(Notification::new("initialized".into(), json!({}))));
    send(Message::Notification(Notification::new(
        "textDocument/didOpen".into(),
        json!({ "textDocument": { "uri": uri(&corpus.leaf), "languageId": "javascript", "version": 1, "text": corpus.leaf_text() } }),
    )));
    wait(&client, |m| is_diagnostics_for(m, &uri(&corpus.leaf)));
    println!("{name}: first diagnostics after initialized (warm persistent cache): {:.1?}", started.elapsed());
    stop(client, thread);
}

/// A server in process on `root_uri`, initialized (the client still has to send `initialized`).
fn start(root_uri: &str) -> (Connection, std::thread::JoinHandle<()>) {
    let (server, client) = Connection::memory();
    let thread = std::thread::spawn(move || packem_lsp::run(server).unwrap());
    client
        .sender
        .send(Message::Request(Request::new(
            RequestId::from(1),
            "initialize".into(),
            json!({ "rootUri": root_uri, "capabilities": {} }),
        )))
        .unwrap();
    wait(&client, |m| matches!(m, Message::Response(r) if r.id == RequestId::from(1)));
    (client, thread)
}

/// Shuts the server down and waits for it.
fn stop(client: Connection, thread: std::thread::JoinHandle<()>) {
    client.sender.send(Message::Request(Request::new(RequestId::from(2), "shutdown".into(), Value::Null))).unwrap();
    wait(&client, |m| matches!(m, Message::Response(r) if r.id == RequestId::from(2)));
    client.sender.send(Message::Notification(Notification::new("exit".into(), Value::Null))).unwrap();
    thread.join().unwrap();
}

fn is_diagnostics_for(message: &Message, uri: &str) -> bool {
    matches!(message, Message::Notification(n) if n.method == "textDocument/publishDiagnostics" && n.params["uri"] == uri)
}

/// Waits for a message matching `want`, answering server requests on the way.
fn wait(client: &Connection, want: impl Fn(&Message) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let Ok(message) = client.receiver.recv_timeout(Duration::from_secs(1)) else { continue };
        if want(&message) {
            return;
        }
        if let Message::Request(r) = message {
            client.sender.send(Message::Response(Response::new_ok(r.id, Value::Null))).unwrap();
        }
    }
    panic!("timed out waiting for the server");
}
