//! Tree shaking on real packages: one import of a large library must bundle to about what
//! esbuild's (unminified) bundle weighs, and the bundle must still run as the sources do.
//!
//! Needs `cargo xtask fixtures` (run by `cargo xtask test`): pinned `lodash-es`, `three`,
//! `date-fns` and `esbuild` in `.fixtures/npm`.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    common::npm_fixtures()
}

/// Bundles `source` with packem and with esbuild (ESM for node, unminified) and returns both
/// sizes, after checking that both bundles print what the sources print.
fn sizes(name: &str, source: &str) -> (u64, u64) {
    let root = fixtures();
    let entry = root.join("entries").join(format!("shake-{name}.mjs"));
    std::fs::create_dir_all(entry.parent().unwrap()).unwrap();
    std::fs::write(&entry, source).unwrap();
    let expected = Command::new("node").arg(&entry).output().unwrap();
    assert!(expected.status.success(), "{}", String::from_utf8_lossy(&expected.stderr));
    let out = tempfile::tempdir().unwrap();
    let packem_out = out.path().join("packem.mjs");
    let esbuild_out = out.path().join("esbuild.mjs");
    let packem = Command::new(env!("CARGO_BIN_EXE_packem"))
        .current_dir(&root)
        .arg("build")
        .arg(&entry)
        .arg(format!("--outfile={}", packem_out.display()))
        .args(["--format=esm", "--platform=node", "--log-level=warning"])
        .output()
        .unwrap();
    assert!(packem.status.success(), "{}", String::from_utf8_lossy(&packem.stderr));
    let esbuild = Command::new(root.join("node_modules/.bin/esbuild"))
        .current_dir(&root)
        .arg(&entry)
        .arg("--bundle")
        .arg(format!("--outfile={}", esbuild_out.display()))
        .args(["--format=esm", "--platform=node", "--log-level=warning"])
        .output()
        .unwrap();
    assert!(esbuild.status.success(), "{}", String::from_utf8_lossy(&esbuild.stderr));
    for bundle in [&packem_out, &esbuild_out] {
        let ran = Command::new("node").arg(bundle).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ran.stdout),
            String::from_utf8_lossy(&expected.stdout),
            "{}: {}",
            bundle.display(),
            String::from_utf8_lossy(&ran.stderr)
        );
    }
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    (size(&packem_out), size(&esbuild_out))
}

fn assert_within(name: &str, source: &str) {
    let (packem, esbuild) = sizes(name, source);
    eprintln!("{name}: packem {packem} bytes, esbuild {esbuild} bytes ({:.2}×)", packem as f64 / esbuild as f64);
    assert!(packem * 10 <= esbuild * 11, "{name}: packem {packem} bytes, esbuild {esbuild} (more than 1.1×)");
}

#[test]
fn lodash_es_debounce_alone() {
    assert_within(
        "lodash-debounce",
        "import { debounce } from 'lodash-es';\nconst f = debounce((x) => x, 10);\nconsole.log(typeof f, typeof f.cancel);\nf.cancel();\n",
    );
}

#[test]
fn three_vector3_alone() {
    assert_within("three-vector3", "import { Vector3 } from 'three';\nconsole.log(new Vector3(1, 2, 2).length());\n");
}

#[test]
fn date_fns_format_alone() {
    assert_within(
        "date-fns-format",
        "import { format } from 'date-fns';\nconsole.log(format(new Date(2020, 0, 2, 3, 4), 'yyyy-MM-dd HH:mm'));\n",
    );
}
