//! The stdio transport: `Content-Length` framed JSON-RPC on stdin/stdout.
//!
//! Written here rather than taken from `lsp_server::Connection::stdio` because a frame that is not
//! valid JSON-RPC must be answered with a parse error and the server must keep reading; there,
//! it ends the reader thread and so the server.

use std::io::{BufRead, Write as _};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use lsp_server::{Connection, Message};

/// A connection over stdin/stdout, and the writer thread to join after the server stops.
pub fn stdio() -> (Connection, JoinHandle<()>) {
    let (to_client, outgoing): (Sender<Message>, Receiver<Message>) = crossbeam_channel::bounded(0);
    let (incoming, from_client) = crossbeam_channel::bounded::<Message>(0);
    let writer = std::thread::Builder::new()
        .name("packem-lsp-writer".into())
        .spawn(move || {
            for message in outgoing {
                let mut stdout = std::io::stdout().lock();
                if message.write(&mut stdout).is_err() || stdout.flush().is_err() {
                    break;
                }
            }
        })
        .expect("spawning the writer");
    std::thread::Builder::new()
        .name("packem-lsp-reader".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            while let Some(frame) = read_frame(&mut stdin) {
                let message = frame.and_then(|body| {
                    serde_json::from_slice::<Message>(&body).map_err(|e| format!("invalid JSON-RPC message: {e}"))
                });
                match message {
                    Ok(message) => {
                        let exit = matches!(&message, Message::Notification(n) if n.method == "exit");
                        if incoming.send(message).is_err() || exit {
                            break;
                        }
                    }
                    Err(error) => write_parse_error(&error),
                }
            }
        })
        .expect("spawning the reader");
    (Connection { sender: to_client, receiver: from_client }, writer)
}

/// The next frame's body; `None` at end of input, `Some(Err)` for a malformed frame.
pub fn read_frame(input: &mut impl BufRead) -> Option<Result<Vec<u8>, String>> {
    let mut length = None;
    loop {
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        let line = line.trim_end();
        if line.is_empty() {
            if length.is_some() {
                break;
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            match value.trim().parse::<usize>() {
                Ok(n) if n <= 1 << 30 => length = Some(n),
                _ => return Some(Err(format!("invalid Content-Length: {}", value.trim()))),
            }
        }
    }
    let mut body = vec![0; length?];
    input.read_exact(&mut body).ok()?;
    Some(Ok(body))
}

/// JSON-RPC's answer to an unparsable message: error -32700 with a null id.
fn write_parse_error(message: &str) {
    let body = serde_json::json!({ "jsonrpc": "2.0", "id": null, "error": { "code": -32700, "message": message } })
        .to_string();
    let mut stdout = std::io::stdout().lock();
    let _ = write!(stdout, "Content-Length: {}\r\n\r\n{body}", body.len());
    let _ = stdout.flush();
}
