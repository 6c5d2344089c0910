//! Compares node-platform resolutions with what Node.js itself resolves (`require.resolve` and
//! `import.meta.resolve`), where Node's algorithm applies. Skipped when `node` is not installed.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

mod common;

use std::process::Command;

use camino::{Utf8Path, Utf8PathBuf};
use common::*;
use packem_db::Platform;
use packem_resolve::{ExternalReason, Resolution, ResolveKind};

const CJS_PROBE: &str = r#"
const specs = JSON.parse(process.argv[2]);
const out = specs.map((s) => { try { return require.resolve(s); } catch (e) { return "ERROR " + e.code; } });
console.log(JSON.stringify(out));
"#;

const ESM_PROBE: &str = r#"
import { fileURLToPath } from "node:url";
const specs = JSON.parse(process.argv[2]);
const out = specs.map((s) => {
  try {
    const url = import.meta.resolve(s);
    return url.startsWith("file:") ? fileURLToPath(url) : url;
  } catch (e) { return "ERROR " + e.code; }
});
console.log(JSON.stringify(out));
"#;

/// What Node resolves each of `specs` to from a module in `dir`.
fn node_resolve(dir: &Utf8Path, specs: &[&str], kind: ResolveKind) -> Vec<String> {
    let (name, probe) = match kind {
        ResolveKind::Require => ("__packem_probe__.cjs", CJS_PROBE),
        ResolveKind::Import => ("__packem_probe__.mjs", ESM_PROBE),
    };
    let script = dir.join(name);
    std::fs::write(&script, probe).unwrap();
    let output =
        Command::new("node").arg(&script).arg(serde_like_json(specs)).current_dir(dir).output().expect("run node");
    std::fs::remove_file(&script).unwrap();
    assert!(output.status.success(), "node failed: {}", String::from_utf8_lossy(&output.stderr));
    parse_json_strings(String::from_utf8(output.stdout).unwrap().trim())
}

/// A JSON array of plain strings (the specifiers here need no escaping beyond quotes).
fn serde_like_json(specs: &[&str]) -> String {
    let items: Vec<String> =
        specs.iter().map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))).collect();
    format!("[{}]", items.join(","))
}

/// Parses the probe's output: a JSON array of strings (paths contain no escapes in the fixtures).
fn parse_json_strings(text: &str) -> Vec<String> {
    let inner = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).expect("json array");
    if inner.is_empty() {
        return Vec::new();
    }
    inner.split("\",\"").map(|s| s.trim_matches('"').replace("\\\\", "\\")).collect()
}

fn canonical(path: &str) -> Utf8PathBuf {
    Utf8PathBuf::from(path).canonicalize_utf8().unwrap_or_else(|_| Utf8PathBuf::from(path))
}

/// Our answer in Node's terms: a canonical path, or a `node:` builtin name.
fn ours_as_node(resolution: &Resolution) -> String {
    match resolution {
        Resolution::File { path, .. } => canonical(path.as_str()).into_string(),
        Resolution::External { path, reason: ExternalReason::Builtin } => {
            if path.starts_with("node:") {
                path.clone()
            } else {
                format!("node:{path}")
            }
        }
        other => format!("{other:?}"),
    }
}

fn node_as_canonical(answer: &str) -> String {
    if answer.starts_with("ERROR") || answer.starts_with("node:") {
        answer.to_string()
    } else if !answer.starts_with('/') {
        // require.resolve returns builtins bare.
        format!("node:{answer}")
    } else {
        canonical(answer).into_string()
    }
}

fn compare(case: &str, dir_in_case: &str, specs_by_kind: &[(ResolveKind, &[&str])]) {
    let fx = temp_fixture(case);
    let dir = fx.root.join(dir_in_case);
    let db = TestDb::new();
    let project = project(&db, options(&fx.root, Platform::Node));
    let mut mismatches = Vec::new();
    for (kind, specs) in specs_by_kind {
        let node = node_resolve(&dir, specs, *kind);
        assert_eq!(node.len(), specs.len());
        for (spec, node_answer) in specs.iter().zip(node) {
            let node_answer = node_as_canonical(&node_answer);
            assert!(!node_answer.starts_with("ERROR"), "node could not resolve {spec:?} ({kind:?}): {node_answer}");
            let ours = ours_as_node(&resolve_in(&db, project, &dir, spec, *kind));
            if ours != node_answer {
                mismatches.push(format!("{kind:?} {spec:?}: ours {ours}, node {node_answer}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "differences from node:\n{}", mismatches.join("\n"));
}

const RELATIVE_EXPLICIT: &[&str] = &[
    "./a.ts",
    "./b.tsx",
    "./c.mts",
    "./d.cts",
    "./e.js",
    "./f.jsx",
    "./g.mjs",
    "./h.cjs",
    "./i.json",
    "./dir/index.ts",
    "./nested/deep.js",
    "../src/e.js",
];

#[test]
fn relative_files_match_node() {
    compare(
        "relative",
        "src",
        &[
            (ResolveKind::Import, RELATIVE_EXPLICIT),
            (ResolveKind::Require, RELATIVE_EXPLICIT),
            // CommonJS also searches extensions and index files.
            (ResolveKind::Require, &["./e", "./jsdir", "./i", "./nested/deep"]),
        ],
    );
}

const PACKAGES_BOTH: &[&str] = &[
    "main-only",
    "main-only/lib/other.js",
    "no-main",
    "module-main",
    "browser-string",
    "browser-object",
    "exports-cond",
    "exports-cond/feature/a",
    "exports-cond/package.json",
    "exports-sugar",
    // `"exports": null` is no `exports` field to Node.
    "exports-null",
    "exports-null/lib/other.js",
    "@scope/pkg",
    "@scope/pkg/dist/extra.js",
    "@scope/exp",
    "@scope/exp/sub",
    "#internal",
    "#dep",
    "#utils/format",
];

#[test]
fn packages_match_node() {
    compare(
        "packages",
        "src",
        &[
            (ResolveKind::Import, PACKAGES_BOTH),
            (ResolveKind::Require, PACKAGES_BOTH),
            (ResolveKind::Require, &["main-only/lib/other", "@scope/pkg/dist/extra"]),
        ],
    );
}

const BUILTINS: &[&str] = &["fs", "node:fs", "fs/promises", "node:path", "events", "node:test"];

#[test]
fn builtins_match_node() {
    compare("builtins", "src", &[(ResolveKind::Import, BUILTINS), (ResolveKind::Require, BUILTINS)]);
}
