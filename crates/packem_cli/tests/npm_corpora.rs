//! `packem check` on real npm code, and module counts compared with esbuild's metafile.
//!
//! Needs `cargo xtask fixtures` (run by `cargo xtask test`), which installs pinned `three`,
//! `react`, `react-dom` and `esbuild` into `.fixtures/npm`.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

mod common;

use std::path::PathBuf;
use std::process::Command;

fn fixtures() -> PathBuf {
    common::npm_fixtures()
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

fn packem_build(entry: &str, outfile: &std::path::Path, threads: Option<&str>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_packem"));
    cmd.current_dir(fixtures()).args([
        "build",
        entry,
        &format!("--outfile={}", outfile.display()),
        "--log-level=warning",
    ]);
    if let Some(threads) = threads {
        cmd.env("RAYON_NUM_THREADS", threads);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "packem build failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// Runs `script` (an ES module) with node in the fixtures folder and returns its stdout.
fn node_eval(script: &str) -> String {
    let dir = fixtures().join("entries");
    let path = dir.join(format!("check-{}.mjs", std::process::id()));
    std::fs::write(&path, script).unwrap();
    let out = Command::new("node").arg(&path).current_dir(&dir).output().unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "node failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

const THREE_CHECKS: &str = r#"
const keys = Object.keys(THREE).sort();
const v = new THREE.Vector3(1, 2, 3).applyMatrix4(new THREE.Matrix4().makeRotationY(Math.PI / 3)).multiplyScalar(2);
const m = new THREE.Matrix4().compose(new THREE.Vector3(1, 2, 3), new THREE.Quaternion().setFromEuler(new THREE.Euler(0.1, 0.2, 0.3)), new THREE.Vector3(2, 2, 2));
const q = new THREE.Quaternion().setFromAxisAngle(new THREE.Vector3(0, 1, 0), 1.2).slerp(new THREE.Quaternion(), 0.25);
const box = new THREE.Box3().setFromPoints([new THREE.Vector3(-1, 0, 2), new THREE.Vector3(3, -4, 1)]);
const color = new THREE.Color('#336699').offsetHSL(0.1, 0, 0.1).getHexString();
console.log(JSON.stringify({ count: keys.length, keys, v: v.toArray(), m: m.elements, q: q.toArray(), box: [box.min.toArray(), box.max.toArray()], color, deg: THREE.MathUtils.radToDeg(1), revision: THREE.REVISION }));
"#;

#[test]
fn bundled_three_matches_the_package() {
    let dir = tempfile::tempdir().unwrap();
    let entry = entry("three-bundle.mjs", "export * from 'three/src/Three.js';\n");
    let bundle = dir.path().join("three.mjs");
    packem_build(&entry, &bundle, None);
    let url = |p: &std::path::Path| format!("file://{}", p.display());
    let from_bundle = node_eval(&format!("import * as THREE from '{}';\n{THREE_CHECKS}", url(&bundle)));
    let from_sources = node_eval(&format!("import * as THREE from 'three/src/Three.js';\n{THREE_CHECKS}"));
    assert!(from_bundle.contains("\"count\":") && from_bundle.len() > 5_000, "{from_bundle}");
    assert_eq!(from_bundle, from_sources);
    // The package's own build exports the same names and computes the same values.
    let from_package = node_eval(&format!("import * as THREE from 'three';\n{THREE_CHECKS}"));
    assert_eq!(from_bundle, from_package);
}

#[test]
fn build_output_is_identical_across_runs_and_thread_counts() {
    let dir = tempfile::tempdir().unwrap();
    let entry = entry("three-bundle-determinism.mjs", "export * from 'three/src/Three.js';\n");
    let build = |name: &str, threads: Option<&str>| {
        let out = dir.path().join(name);
        packem_build(&entry, &out, threads);
        std::fs::read(out).unwrap()
    };
    let first = build("a.mjs", None);
    assert!(first.len() > 500_000);
    assert_eq!(first, build("b.mjs", None));
    assert_eq!(first, build("c.mjs", Some("1")));
    assert_eq!(first, build("d.mjs", Some("8")));
}
