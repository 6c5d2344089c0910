//! The editor side of `packem lsp`, tested from outside the project's own code:
//!
//! 1. the VS Code extension in `editors/vscode` installs from its lock (`npm ci`, into its
//!    git-ignored `node_modules`), typechecks and passes its unit tests;
//! 2. the real `packem` binary, started as `packem lsp`, is driven over stdio by
//!    `tests/lsp_client/drive.mjs` with `vscode-jsonrpc` (the JSON-RPC library under
//!    `vscode-languageclient`): initialize, the dynamic watched-files registration, didOpen,
//!    `UNRESOLVED_IMPORT` published for an import of a missing file, `packem/moduleGraph`,
//!    shutdown and exit with code 0.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Instant, SystemTime};

use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

fn text(o: &Output) -> String {
    format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `npm <args>` in `dir`; panics with its output when it fails.
fn npm(dir: &Path, args: &[&str]) {
    let started = Instant::now();
    let out = Command::new("npm")
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env("npm_config_update_notifier", "false")
        .output()
        .unwrap_or_else(|e| panic!("running `npm {}` (is Node.js installed?): {e}", args.join(" ")));
    eprintln!("lsp_stdio: `npm {}` took {:.1?}", args.join(" "), started.elapsed());
    assert!(
        out.status.success(),
        "`npm {}` in {} failed ({}):\n{}",
        args.join(" "),
        dir.display(),
        out.status,
        text(&out)
    );
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Installs `editors/vscode/node_modules` unless it is there and newer than the lock.
fn install_extension_deps(vscode: &Path) {
    let lock = vscode.join("package-lock.json");
    // npm writes this file last, after a complete install.
    let installed = modified(&vscode.join("node_modules/.package-lock.json"));
    let stale = match (installed, modified(&lock)) {
        (Some(installed), Some(lock)) => installed < lock,
        (None, _) => true,
        (Some(_), None) => false,
    };
    if !stale {
        return;
    }
    if lock.exists() {
        npm(vscode, &["ci", "--no-audit", "--no-fund"]);
    } else {
        npm(vscode, &["install", "--no-audit", "--no-fund"]);
    }
}

#[test]
fn vscode_extension_and_lsp_over_stdio() {
    let root = repo_root();
    let vscode = root.join("editors/vscode");

    // 1. The extension: install, typecheck, unit tests.
    install_extension_deps(&vscode);
    npm(&vscode, &["run", "typecheck"]);
    npm(&vscode, &["test"]);

    // 2. The real server, driven over stdio.
    let bin = env!("CARGO_BIN_EXE_packem");

    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("packem.json"), r#"{ "entries": ["src/main.js"] }"#).unwrap();
    std::fs::write(project.join("src/main.js"), "import { missing } from './missing.js';\nconsole.log(missing);\n")
        .unwrap();

    let script = root.join("crates/packem_cli/tests/lsp_client/drive.mjs");
    let started = Instant::now();
    let out = Command::new("node")
        .arg(&script)
        .arg(bin)
        .arg(&project)
        .arg(&vscode)
        .env_remove("PACKEM_LOG")
        .env_remove("RUST_LOG")
        .output()
        .expect("running node");
    eprintln!("lsp_stdio: drive.mjs took {:.1?}", started.elapsed());
    assert!(out.status.success(), "drive.mjs failed ({}):\n{}", out.status, text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("drive.mjs printed no JSON summary ({e}):\n{}", text(&out)));
    let pretty = serde_json::to_string_pretty(&summary).unwrap();
    eprintln!("lsp_stdio: summary: {pretty}");

    assert_eq!(summary["errors"], Value::Array(vec![]), "the session had errors:\n{pretty}");

    // The capabilities of the contract.
    let caps = &summary["capabilities"];
    let sync = &caps["textDocumentSync"];
    let sync_kind = if sync.is_object() { &sync["change"] } else { sync };
    assert_eq!(sync_kind, 2, "incremental sync:\n{pretty}");
    for provider in
        ["documentLinkProvider", "definitionProvider", "hoverProvider", "referencesProvider", "codeLensProvider"]
    {
        let p = &caps[provider];
        assert!(!p.is_null() && p != false, "{provider} is advertised:\n{pretty}");
    }
    let registrations = summary["registrations"].as_array().unwrap();
    assert!(
        registrations.iter().any(|m| m == "workspace/didChangeWatchedFiles"),
        "watched files are registered dynamically after `initialized`:\n{pretty}"
    );

    // The unresolved import, as the CLI reports it.
    let diagnostics =
        summary["diagnostics"].as_array().unwrap_or_else(|| panic!("no diagnostics for main.js:\n{pretty}"));
    let unresolved = diagnostics
        .iter()
        .find(|d| d["code"] == "UNRESOLVED_IMPORT")
        .unwrap_or_else(|| panic!("UNRESOLVED_IMPORT for main.js:\n{pretty}"));
    assert_eq!(unresolved["source"], "packem", "{pretty}");
    assert_eq!(unresolved["range"]["start"]["line"], 0, "on the import's line:\n{pretty}");
    assert!(summary["diagnosticsAfterMs"].as_u64().is_some_and(|t| t <= 10_000), "{pretty}");

    // `packem/moduleGraph`: the entry, and the import that did not resolve.
    let graph = &summary["moduleGraph"];
    let nodes = graph["nodes"].as_array().unwrap_or_else(|| panic!("moduleGraph has nodes:\n{pretty}"));
    let main = nodes
        .iter()
        .find(|n| n["path"] == "src/main.js")
        .unwrap_or_else(|| panic!("main.js is in the module graph:\n{pretty}"));
    assert_eq!(main["entry"], true, "{pretty}");
    assert_eq!(main["format"], "esm", "{pretty}");
    let edges = graph["edges"].as_array().unwrap_or_else(|| panic!("moduleGraph has edges:\n{pretty}"));
    let missing = edges
        .iter()
        .find(|e| e["specifier"] == "./missing.js")
        .unwrap_or_else(|| panic!("the ./missing.js import is an edge:\n{pretty}"));
    assert_eq!(missing["from"], main["id"], "{pretty}");
    assert!(missing["to"].is_null(), "an unresolved import has no target:\n{pretty}");
    assert_eq!(missing["kind"], "import-statement", "{pretty}");

    // A clean shutdown.
    assert_eq!(summary["shutdown"], true, "{pretty}");
    assert_eq!(summary["exitCode"], 0, "`exit` after `shutdown` exits with 0:\n{pretty}");
}
