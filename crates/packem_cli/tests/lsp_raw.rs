//! `packem lsp` over real stdio with hand-written frames: malformed input is answered and the
//! server keeps running.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};

fn frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// Reads frames until one satisfies `want`.
fn read_until(reader: &mut impl std::io::BufRead, want: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    loop {
        let mut length = 0;
        loop {
            let mut line = String::new();
            assert!(reader.read_line(&mut line).unwrap() > 0, "server closed stdout");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                length = v.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        if want(&value) {
            return value;
        }
    }
}

/// Starts `packem lsp` on the workspace `root` and completes the initialization handshake.
fn start(
    root: &std::path::Path,
) -> (std::process::Child, std::process::ChildStdin, BufReader<std::process::ChildStdout>) {
    let root = format!("file://{}", root.canonicalize().unwrap().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_packem"))
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let initialize = serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": { "rootUri": root, "capabilities": {} } });
    stdin.write_all(&frame(&initialize.to_string())).unwrap();
    read_until(&mut stdout, |v| v["id"] == 1);
    stdin.write_all(&frame(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#)).unwrap();
    (child, stdin, stdout)
}

#[test]
fn invalid_json_gets_a_parse_error_and_the_server_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("packem.json"), r#"{ "entries": ["main.js"] }"#).unwrap();
    std::fs::write(dir.path().join("main.js"), "export const x = 1;\n").unwrap();
    let (mut child, mut stdin, mut stdout) = start(dir.path());
    // Not JSON at all, then JSON that is not JSON-RPC.
    stdin.write_all(&frame("{ this is not json")).unwrap();
    let error = read_until(&mut stdout, |v| v.get("error").is_some());
    assert_eq!(error["error"]["code"], -32700);
    assert_eq!(error["id"], serde_json::Value::Null);
    stdin.write_all(&frame(r#"[1, 2, 3]"#)).unwrap();
    let error = read_until(&mut stdout, |v| v.get("error").is_some());
    assert_eq!(error["error"]["code"], -32700);
    // Still serving.
    let graph = serde_json::json!({ "jsonrpc": "2.0", "id": 2, "method": "packem/moduleGraph", "params": {} });
    stdin.write_all(&frame(&graph.to_string())).unwrap();
    let response = read_until(&mut stdout, |v| v["id"] == 2);
    assert_eq!(response["result"]["nodes"].as_array().unwrap().len(), 1);
    stdin.write_all(&frame(r#"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"#)).unwrap();
    read_until(&mut stdout, |v| v["id"] == 3);
    stdin.write_all(&frame(r#"{"jsonrpc":"2.0","method":"exit"}"#)).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success());
    let _ = stdout.lines();
}

#[test]
fn diagnostics_say_which_targets_have_them_and_the_module_graph_takes_a_target() {
    let dir = tempfile::tempdir().unwrap();
    let config = r#"{
  "entries": ["main.js"],
  "targets": [
    { "name": "node", "platform": "node" },
    { "name": "browser", "platform": "browser", "polyfills": { "./fs.js": "./fs-browser.js" } }
  ]
}"#;
    std::fs::write(dir.path().join("packem.json"), config).unwrap();
    std::fs::write(
        dir.path().join("main.js"),
        "import { read } from './fs.js';\nimport missing from './nope.js';\nconsole.log(read(), missing);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("fs.js"),
        "import { readFileSync } from 'node:fs';\nexport const read = () => readFileSync;\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("fs-browser.js"), "import os from 'node:os';\nexport const read = () => os;\n")
        .unwrap();
    let root = format!("file://{}", dir.path().canonicalize().unwrap().display());
    let (mut child, mut stdin, mut stdout) = start(dir.path());

    // `./nope.js` fails in both targets: said once, with no target named. `node:os` fails only
    // in the browser target, in the browser's replacement of fs.js.
    let main_uri = format!("{root}/main.js");
    let browser_uri = format!("{root}/fs-browser.js");
    let mut published: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    while !(published.contains_key(&main_uri) && published.contains_key(&browser_uri)) {
        let message = read_until(&mut stdout, |v| v["method"] == "textDocument/publishDiagnostics");
        let messages = message["params"]["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["message"].as_str().unwrap().to_string())
            .collect();
        published.insert(message["params"]["uri"].as_str().unwrap().to_string(), messages);
    }
    let main = &published[&main_uri];
    assert_eq!(main.len(), 1, "{main:?}");
    assert!(main[0].contains("./nope.js") && !main[0].contains("(in target"), "{main:?}");
    let browser = &published[&browser_uri];
    assert!(browser[0].contains("node:os") && browser[0].contains("(in target browser)"), "{browser:?}");

    let mut graph = |id: i32, params: serde_json::Value, stdin: &mut std::process::ChildStdin| {
        let request =
            serde_json::json!({ "jsonrpc": "2.0", "id": id, "method": "packem/moduleGraph", "params": params });
        stdin.write_all(&frame(&request.to_string())).unwrap();
        read_until(&mut stdout, |v| v["id"] == id)
    };
    let paths = |response: &serde_json::Value| -> Vec<String> {
        let nodes = response["result"]["nodes"].as_array().unwrap_or_else(|| panic!("{response}"));
        let mut out: Vec<String> = nodes.iter().map(|n| n["path"].as_str().unwrap_or_default().to_string()).collect();
        out.sort();
        out
    };
    let node = graph(2, serde_json::json!({ "target": "node" }), &mut stdin);
    assert!(paths(&node).iter().any(|p| p == "fs.js"), "{node}");
    let browser = graph(3, serde_json::json!({ "target": "browser" }), &mut stdin);
    assert!(paths(&browser).iter().any(|p| p == "fs-browser.js"), "{browser}");
    assert!(!paths(&browser).iter().any(|p| p == "fs.js"), "{browser}");
    let unknown = graph(4, serde_json::json!({ "target": "brower" }), &mut stdin);
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    assert!(unknown["error"]["message"].as_str().unwrap().contains("targets: node, browser"), "{unknown}");

    stdin.write_all(&frame(r#"{"jsonrpc":"2.0","id":9,"method":"shutdown"}"#)).unwrap();
    read_until(&mut stdout, |v| v["id"] == 9);
    stdin.write_all(&frame(r#"{"jsonrpc":"2.0","method":"exit"}"#)).unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

/// Runs one language-server session on `root` (parse spans logged to `log`): waits for the
/// diagnostics of `file`, then shuts down. Returns them.
fn session_diagnostics(root: &std::path::Path, file: &std::path::Path, log: &std::path::Path) -> serde_json::Value {
    let uri = format!("file://{}", root.canonicalize().unwrap().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_packem"))
        .arg("lsp")
        .env("PACKEM_LOG", "packem_parse=debug")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let initialize = serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": { "rootUri": uri, "capabilities": {} } });
    stdin.write_all(&frame(&initialize.to_string())).unwrap();
    read_until(&mut stdout, |v| v["id"] == 1);
    stdin.write_all(&frame(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#)).unwrap();
    let file_uri = format!("file://{}", file.canonicalize().unwrap().display());
    let published = read_until(&mut stdout, |v| {
        v["method"] == "textDocument/publishDiagnostics" && v["params"]["uri"] == file_uri.as_str()
    });
    stdin.write_all(&frame(r#"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"#)).unwrap();
    read_until(&mut stdout, |v| v["id"] == 3);
    stdin.write_all(&frame(r#"{"jsonrpc":"2.0","method":"exit"}"#)).unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    published["params"]["diagnostics"].clone()
}

#[test]
fn a_second_session_takes_every_fact_from_the_persistent_cache() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("package.json"), "{}").unwrap();
    std::fs::write(root.join("packem.json"), r#"{ "entries": ["main.js"] }"#).unwrap();
    std::fs::write(root.join("main.js"), "import { missing } from './lib.js';\nconsole.log(missing);\n").unwrap();
    std::fs::write(root.join("lib.js"), "export const present = 1;\n").unwrap();
    let log = root.join("lsp.log");
    let parses = |log: &std::path::Path| {
        std::fs::read_to_string(log)
            .unwrap()
            .lines()
            .filter(|l| l.contains("parsed_module{") && l.contains("close"))
            .count()
    };
    let first = session_diagnostics(root, &root.join("main.js"), &log);
    assert!(first.to_string().contains("missing"), "{first}");
    assert_eq!(parses(&log), 2, "{}", std::fs::read_to_string(&log).unwrap());
    assert!(root.join("node_modules/.cache/packem/packem.cache").is_file());
    // The next session publishes the same diagnostics without parsing: the import error's span
    // comes from the scan, so the file with the error is the one module parsed.
    let second = session_diagnostics(root, &root.join("main.js"), &log);
    assert_eq!(second, first);
    let parsed: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| l.contains("parsed_module{") && l.contains("close"))
        .map(str::to_owned)
        .collect();
    assert!(parsed.len() == 1 && parsed[0].contains("main.js"), "{parsed:#?}");
}
