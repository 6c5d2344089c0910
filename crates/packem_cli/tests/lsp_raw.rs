//! `packem lsp` over real stdio with hand-written frames: malformed input is answered and the
//! server keeps running.

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

#[test]
fn invalid_json_gets_a_parse_error_and_the_server_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("packem.json"), r#"{ "entries": ["main.js"] }"#).unwrap();
    std::fs::write(dir.path().join("main.js"), "export const x = 1;\n").unwrap();
    let root = format!("file://{}", dir.path().canonicalize().unwrap().display());
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
