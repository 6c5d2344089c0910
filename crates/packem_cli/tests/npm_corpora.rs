//! `packem check` on real npm code, and module counts compared with esbuild's metafile.
//!
//! Needs `cargo xtask fixtures` (run by `cargo xtask test`), which installs pinned `three`,
//! `react`, `react-dom` and `esbuild` into `.fixtures/npm`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().join(".fixtures/npm");
    assert!(
        dir.join("node_modules/.packem-stamp").exists(),
        "npm fixtures are missing: run `cargo xtask fixtures` (or `cargo xtask test`)"
    );
    dir
}

/// Writes `source` as an entry inside the fixtures folder (so `node_modules` resolves) and
/// returns its path relative to the fixtures folder.
fn entry(name: &str, source: &str) -> String {
    let path = fixtures().join("entries").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, source).unwrap();
    format!("entries/{name}")
}

fn packem_module_count(entry: &str, platform: &str) -> usize {
    let out = Command::new(env!("CARGO_BIN_EXE_packem"))
        .current_dir(fixtures())
        .args(["graph", "--format=json", &format!("--platform={platform}"), entry])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "packem graph failed:\n{stderr}");
    assert!(!stderr.contains("[ERROR]"), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["modules"].as_array().unwrap().len()
}

fn packem_check(entry: &str, platform: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_packem"))
        .current_dir(fixtures())
        .args(["check", &format!("--platform={platform}"), entry])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "packem check failed:\n{stderr}");
    assert!(stderr.contains("checked: no problems"), "{stderr}");
}

fn esbuild_input_count(entry: &str, platform: &str) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let meta = dir.path().join("meta.json");
    let out = Command::new(fixtures().join("node_modules/.bin/esbuild"))
        .current_dir(fixtures())
        .args([
            entry,
            "--bundle",
            &format!("--platform={platform}"),
            &format!("--metafile={}", meta.display()),
            &format!("--outfile={}", dir.path().join("out.js").display()),
            "--log-level=error",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "esbuild failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(meta).unwrap()).unwrap();
    json["inputs"].as_object().unwrap().len()
}

#[test]
fn three_esm_entry_checks_clean_and_matches_esbuild() {
    let entry =
        entry("three.mjs", "import * as THREE from 'three';\nconsole.log(new THREE.Vector3(1, 2, 3).length());\n");
    packem_check(&entry, "browser");
    assert_eq!(packem_module_count(&entry, "browser"), esbuild_input_count(&entry, "browser"));
}

#[test]
fn three_sources_check_clean_and_match_esbuild() {
    let entry = entry("three-src.mjs", "export * from 'three/src/Three.js';\n");
    packem_check(&entry, "browser");
    let count = packem_module_count(&entry, "browser");
    assert!(count > 300, "three's sources are hundreds of modules, got {count}");
    assert_eq!(count, esbuild_input_count(&entry, "browser"));
}

#[test]
fn react_dom_server_cjs_checks_clean_and_matches_esbuild() {
    let entry = entry(
        "react-dom-server.cjs",
        "const React = require('react');\nconst { renderToString } = require('react-dom/server');\nconsole.log(renderToString(React.createElement('p', null, 'hi')));\n",
    );
    packem_check(&entry, "node");
    assert_eq!(packem_module_count(&entry, "node"), esbuild_input_count(&entry, "node"));
}

#[test]
fn graph_output_is_identical_whatever_the_thread_count() {
    let entry = entry("three-src-determinism.mjs", "export * from 'three/src/Three.js';\n");
    let run = |threads: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_packem"))
            .current_dir(fixtures())
            .env("RAYON_NUM_THREADS", threads)
            .args(["graph", "--format=json", &entry])
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    };
    let one = run("1");
    assert!(one.len() > 10_000);
    assert_eq!(one, run("2"));
    assert_eq!(one, run("8"));
}
