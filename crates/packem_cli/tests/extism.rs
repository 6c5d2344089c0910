//! The Extism-shaped fixture (`tests/fixtures/extism`): one packem.json with five targets in one
//! database; node host bundles start the worker embedded from `packem:target/worker-node`, the
//! browser bundle embeds `packem:target/worker-browser`. Also: cycles between targets, unknown
//! target names, `--only` building an embedded target without writing it, and `--watch`
//! rebuilding every affected target after a worker edit.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

mod common;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{copy_dir, packem, stderr};

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/extism");
    copy_dir(&from, dir.path());
    dir
}

/// Runs `script` (the body of an async function, as CommonJS: an `--input-type=module` flag would
/// reach the workers the bundles start with `eval: true`) with Node in `dir`; returns its stdout.
fn node_eval(dir: &Path, script: &str) -> String {
    let script = format!("(async () => {{ {script} }})().catch((e) => {{ console.error(e); process.exit(1); }});");
    let out = Command::new("node").current_dir(dir).args(["-e", &script]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

const CALL_ESM: &str = "const m = await import('./dist/esm/mod.mjs'); const p = m.createPlugin(); \
    console.log(await p.call('hi')); await p.close();";
const CALL_CJS: &str = "const m = require('./dist/cjs/mod.cjs'); const p = m.createPlugin(); \
    console.log(await p.call('hey')); await p.close();";

#[test]
fn five_targets_build_in_one_process_and_each_node_artifact_starts_its_embedded_worker() {
    let dir = fixture();
    let out = packem(dir.path(), &["build"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for name in ["worker-node", "worker-browser", "node-esm", "node-cjs", "browser-esm"] {
        assert!(stderr(&out).contains(&format!("target {name}:")), "{}", stderr(&out));
    }
    assert_eq!(node_eval(dir.path(), CALL_ESM), "HI! from the worker\n");
    assert_eq!(node_eval(dir.path(), CALL_CJS), "HEY! from the worker\n");

    // Each artifact embeds the very file its worker target wrote.
    let read = |rel: &str| std::fs::read_to_string(dir.path().join(rel)).unwrap();
    let embedded = |bundle: &str| {
        let script = format!("const m = await import('./{bundle}'); process.stdout.write(m.WORKER_SOURCE);");
        node_eval(dir.path(), &script)
    };
    assert_eq!(embedded("dist/esm/mod.mjs"), read("dist/worker/node.js"));
    assert_eq!(embedded("dist/browser/mod.js"), read("dist/worker/browser.js"));
    // The browser artifact and its worker hold no Node built-in; the node worker does.
    for browser in ["dist/browser/mod.js", "dist/worker/browser.js"] {
        assert!(!read(browser).contains("node:"), "{browser}: {}", read(browser));
    }
    assert!(read("dist/worker/node.js").contains("node:worker_threads"));
    // The worker targets are minified (their packem.json key), the hosts are not.
    assert!(read("dist/worker/browser.js").lines().count() < 8, "{}", read("dist/worker/browser.js"));
}

#[test]
fn only_builds_the_targets_a_selected_one_embeds_without_writing_them() {
    let dir = fixture();
    let out = packem(dir.path(), &["build", "--only", "node-esm"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(node_eval(dir.path(), CALL_ESM), "HI! from the worker\n");
    assert!(!dir.path().join("dist/worker").exists(), "the embedded worker target is not written");
    assert!(!dir.path().join("dist/cjs").exists());
}

#[test]
fn a_cycle_between_targets_is_an_error_at_the_import_and_nothing_is_written() {
    let dir = fixture();
    let worker = dir.path().join("src/worker.ts");
    let text = std::fs::read_to_string(&worker).unwrap();
    std::fs::write(
        &worker,
        format!(
            "import host from \"packem:target/node-esm\" with {{ type: \"text\" }};\nconsole.log(host.length);\n{text}"
        ),
    )
    .unwrap();
    let out = packem(dir.path(), &["build"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("Targets embed each other in a cycle"), "{err}");
    assert!(err.contains("\"worker-node\" → \"node-esm\" → \"worker-node\""), "{err}");
    assert!(err.contains("src/worker.ts:1:"), "{err}");
    assert!(!dir.path().join("dist").exists(), "nothing is written");
}

#[test]
fn an_unknown_target_name_suggests_the_closest() {
    let dir = fixture();
    let source = dir.path().join("src/polyfills/node-worker-source.ts");
    let text = std::fs::read_to_string(&source).unwrap().replace("worker-node", "worker-nod");
    std::fs::write(&source, text).unwrap();
    let out = packem(dir.path(), &["build", "--only", "node-esm"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("Could not resolve \"packem:target/worker-nod\""), "{err}");
    assert!(err.contains("Did you mean \"packem:target/worker-node\"?"), "{err}");
    assert!(err.contains("src/polyfills/node-worker-source.ts:1:"), "{err}");
}

#[test]
fn an_embedded_target_must_write_one_file() {
    let dir = fixture();
    let config = dir.path().join("packem.json");
    let original = std::fs::read_to_string(&config).unwrap();
    let text = original.replace(
        "\"outfile\": \"dist/worker/node.js\", \"minify\": true",
        "\"outfile\": \"dist/worker/node.js\", \"minify\": true, \"sourcemap\": \"linked\"",
    );
    std::fs::write(&config, &text).unwrap();
    // A source map is a companion of the one file: the file is embedded as written.
    let out = packem(dir.path(), &["build", "--only", "node-esm"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(node_eval(dir.path(), CALL_ESM), "HI! from the worker\n");
    // Two entries are two files.
    let two = original.replace(
        "\"entries\": [\"src/worker.ts\"], \"platform\": \"node\", \"format\": \"cjs\",\n      \"outfile\": \"dist/worker/node.js\"",
        "\"entries\": [\"src/worker.ts\", \"src/shared.ts\"], \"platform\": \"node\", \"format\": \"cjs\",\n      \"outdir\": \"dist/worker\"",
    );
    // (the browser worker extends it: it keeps its one entry)
    let two = two.replace(
        "\"outfile\": \"dist/worker/browser.js\"",
        "\"outfile\": \"dist/worker/browser.js\", \"entries\": [\"src/worker.ts\"]",
    );
    assert_ne!(two, original);
    std::fs::write(&config, two).unwrap();
    let out = packem(dir.path(), &["build", "--only", "node-esm"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("an embedded target must write one file"), "{}", stderr(&out));
}

#[test]
fn watch_rebuilds_the_worker_targets_and_the_bundles_that_embed_them() {
    let dir = fixture();
    let mut child = Command::new(env!("CARGO_BIN_EXE_packem"))
        .current_dir(dir.path())
        .args(["build", "--watch"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(25));
        }
    };
    let path = |rel: &str| -> PathBuf { dir.path().join(rel) };
    // Everything the watch prints, read as it comes: the watchers are in place once it says so.
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut stderr_pipe = child.stderr.take().unwrap();
    let reader = {
        let log = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut stderr_pipe, &mut buf) {
                if n == 0 {
                    break;
                }
                log.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    wait_for("the first build", &|| log.lock().unwrap().contains("watching for changes"));
    let before = std::fs::read_to_string(path("dist/browser/mod.js")).unwrap();

    let worker = path("src/worker.ts");
    let text = std::fs::read_to_string(&worker).unwrap().replace("from the worker", "from worker v2");
    std::fs::write(&worker, text).unwrap();
    let updated = |rel: &str| std::fs::read_to_string(path(rel)).is_ok_and(|t| t.contains("from worker v2"));
    let outputs = [
        "dist/worker/node.js",
        "dist/worker/browser.js",
        "dist/esm/mod.mjs",
        "dist/cjs/mod.cjs",
        "dist/browser/mod.js",
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    while !outputs.iter().all(|rel| updated(rel)) {
        let state: Vec<(&str, bool)> = outputs.iter().map(|rel| (*rel, updated(rel))).collect();
        assert!(Instant::now() < deadline, "not every affected target was rebuilt: {state:?}\n{}", log.lock().unwrap());
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(node_eval(dir.path(), CALL_ESM), "HI! from worker v2\n");
    assert_ne!(before, std::fs::read_to_string(path("dist/browser/mod.js")).unwrap());

    drop(child.stdin.take());
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let err = log.lock().unwrap().clone();
    assert!(status.success(), "{err}");
    assert!(err.contains("[watch] src/worker.ts"), "{err}");
}

#[test]
fn the_declarations_type_check_a_consumer_and_a_misuse_fails() {
    let dir = fixture();
    let out = packem(dir.path(), &["build"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for (rel, exists) in [
        ("dist/esm/mod.d.mts", true),
        ("dist/cjs/mod.d.cts", true),
        ("dist/browser/mod.d.ts", true),
        ("dist/worker", false),
    ] {
        let found = std::fs::read_dir(dir.path().join(rel)).map_or_else(
            |_| dir.path().join(rel).exists(),
            |mut entries| entries.any(|e| e.unwrap().file_name().to_string_lossy().contains(".d.")),
        );
        assert_eq!(found, exists, "{rel}");
    }
    let tsc = common::npm_fixtures().join("node_modules/typescript/bin/tsc");
    assert!(tsc.exists(), "typescript is missing from the npm fixtures: run `cargo xtask fixtures`");
    let check = |resolution: &str, from: &str, body: &str| {
        let consumer = dir.path().join(format!("consumer-{resolution}"));
        std::fs::create_dir_all(&consumer).unwrap();
        let module = if resolution == "bundler" { "esnext" } else { resolution };
        std::fs::write(
            consumer.join("tsconfig.json"),
            format!(
                r#"{{ "compilerOptions": {{ "module": "{module}", "moduleResolution": "{resolution}", "strict": true,
                   "noEmit": true, "skipLibCheck": false, "types": [] }}, "files": ["main.mts"] }}"#
            ),
        )
        .unwrap();
        // An ES module (`.mts`), as an ESM consumer is under node16.
        std::fs::write(
            consumer.join("main.mts"),
            format!("import {{ createPlugin, callLocally, WORKER_SOURCE, type Plugin }} from '{from}';\n{body}"),
        )
        .unwrap();
        Command::new("node").arg(&tsc).arg("-p").arg(&consumer).output().unwrap()
    };
    let good = "export const plugin: Plugin = createPlugin();\n\
                export const answer: Promise<string> = plugin.call(callLocally('x') + WORKER_SOURCE.length);\n";
    let bad = "export const n: number = callLocally('x');\n";
    for (resolution, from) in [("node16", "../dist/esm/mod.mjs"), ("bundler", "../dist/browser/mod.js")] {
        let out = check(resolution, from, good);
        assert!(out.status.success(), "{resolution}: {}{}", common::stdout(&out), stderr(&out));
        let out = check(resolution, from, bad);
        assert!(!out.status.success(), "{resolution}: a misuse type-checks");
        assert!(common::stdout(&out).contains("TS2322"), "{}", common::stdout(&out));
    }
}

#[test]
fn a_target_embedded_as_bytes_is_a_uint8array_of_its_output() {
    let dir = fixture();
    std::fs::write(
        dir.path().join("src/polyfills/node-worker-source.ts"),
        "import bytes from \"packem:target/worker-node\" with { type: \"bytes\" };\n\
         if (!(bytes instanceof Uint8Array)) throw new Error(\"not bytes\");\n\
         const text: string = new TextDecoder().decode(bytes);\n\
         export default text;\n",
    )
    .unwrap();
    let out = packem(dir.path(), &["build", "--only", "node-esm,worker-node"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(node_eval(dir.path(), CALL_ESM), "HI! from the worker\n");
    let embedded =
        node_eval(dir.path(), "const m = await import('./dist/esm/mod.mjs'); process.stdout.write(m.WORKER_SOURCE);");
    assert_eq!(embedded, std::fs::read_to_string(dir.path().join("dist/worker/node.js")).unwrap());
}

/// With the persistent cache, a second `packem build` of the five targets parses nothing: the
/// worker targets' renders are saved too, although the hosts were built after their outputs
/// were handed over (which the host sets itself, so it does not count as a change).
#[test]
fn a_second_build_of_every_target_parses_nothing() {
    let dir = fixture();
    let cache = format!("--cache-dir={}", dir.path().join(".cache").display());
    let out = packem(dir.path(), &["build", &cache]);
    assert!(out.status.success(), "{}", stderr(&out));
    let first = std::fs::read_to_string(dir.path().join("dist/esm/mod.mjs")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_packem"))
        .current_dir(dir.path())
        .args(["build", &cache])
        .env("NO_COLOR", "1")
        .env("PACKEM_LOG", "packem_parse=debug")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // The embedded outputs are text assets (an empty program; assets are not cached): every
    // source file's render comes from the cache.
    let parsed: Vec<&str> = std::str::from_utf8(&out.stderr)
        .unwrap()
        .lines()
        .filter(|l| l.contains("parsed_module{") && l.contains("close") && !l.contains("path=packem:target/"))
        .collect();
    assert!(parsed.is_empty(), "{parsed:#?}");
    assert_eq!(std::fs::read_to_string(dir.path().join("dist/esm/mod.mjs")).unwrap(), first);
}
