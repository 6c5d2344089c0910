//! `packem build` with the targets of `packem.json`: layering, `--only`, command-line flags over
//! a target's settings, colliding outputs, and configuration errors with file and line.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

mod common;
use common::{node, packem, project, stderr};

const SOURCES: &[(&str, &str)] = &[
    (
        "src/index.ts",
        "import { platform } from './platform';\n\
         declare const VERSION: string;\n\
         export const describe = (name: string): string => `${name} ${VERSION} on ${platform()}`;\n\
         console.log(describe('lib'));\n",
    ),
    (
        "src/platform.ts",
        "import { release } from 'node:os';\nexport const platform = () => typeof release === 'function' ? 'node' : 'other';\n",
    ),
    (
        "src/platform-browser.ts",
        "import { release } from 'node:os';\nexport const platform = () => `browser ${release}`;\n",
    ),
    ("src/shims/os.ts", "export const release = 'shim';\n"),
];

const CONFIG: &str = r#"{
  "entries": ["src/index.ts"],
  "platform": "node",
  "define": { "VERSION": "\"1.0\"" },
  "targets": [
    { "name": "node-esm", "format": "esm", "outfile": "dist/index.mjs" },
    { "name": "node-cjs", "extends": "node-esm", "format": "cjs", "outfile": "dist/index.cjs" },
    { "name": "browser", "extends": "node-esm", "platform": "browser", "format": "iife", "outfile": "dist/browser.js",
      "polyfills": { "./src/platform.ts": "./src/platform-browser.ts" },
      "alias": { "node:os": "./src/shims/os.ts" }, "minify": true }
  ]
}
"#;

fn files(config: &str) -> Vec<(&str, &str)> {
    let mut files = SOURCES.to_vec();
    files.push(("packem.json", config));
    files
}

#[test]
fn build_without_entries_builds_every_target_layered_on_the_top_level_and_what_it_extends() {
    let dir = project(&files(CONFIG));
    let out = packem(dir.path(), &["build"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for name in ["node-esm", "node-cjs", "browser"] {
        assert!(stderr(&out).contains(&format!("target {name}:")), "{}", stderr(&out));
    }
    let dist = dir.path().join("dist");
    assert_eq!(node(&dist.join("index.mjs")), "lib 1.0 on node\n");
    assert_eq!(node(&dist.join("index.cjs")), "lib 1.0 on node\n");
    let cjs = std::fs::read_to_string(dist.join("index.cjs")).unwrap();
    assert!(cjs.contains("module.exports"), "{cjs}");
    // The browser target: the polyfill replaced the platform module, whose `node:os` import the
    // alias swapped for a shim; and it is minified.
    let browser = std::fs::read_to_string(dist.join("browser.js")).unwrap();
    assert!(!browser.contains("node:os") && !browser.contains("typeof"), "{browser}");
    assert!(!browser.contains("describe") && !browser.contains("  "), "minified: {browser}");
    assert_eq!(node(&dist.join("browser.js")), "lib 1.0 on browser shim\n");
}

#[test]
fn only_picks_targets_and_flags_on_the_command_line_win() {
    let dir = project(&files(CONFIG));
    let out = packem(dir.path(), &["build", "--only=node-cjs", "--define:VERSION=\"2.0\"", "--log-level=warning"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dist = dir.path().join("dist");
    assert!(!dist.join("index.mjs").exists() && !dist.join("browser.js").exists());
    assert_eq!(node(&dist.join("index.cjs")), "lib 2.0 on node\n");

    // The command line's output location replaces the target's (either spelling), and its
    // syntax target replaces the config's instead of joining it.
    let config = CONFIG.replace("\"platform\": \"node\",", "\"platform\": \"node\", \"target\": \"es2020\",");
    std::fs::write(dir.path().join("packem.json"), config).unwrap();
    let out = packem(
        dir.path(),
        &["build", "--only=node-esm", "--outdir=out", "--out-extension:.js=.mjs", "--target=es2017"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(node(&dir.path().join("out/index.mjs")), "lib 1.0 on node\n");

    let out = packem(dir.path(), &["build", "--only", "node-csj"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no target is named \"node-csj\" (did you mean \"node-cjs\"?)"), "{}", stderr(&out));
    let out = packem(dir.path(), &["build", "--only=browser", "src/index.ts"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--only picks targets of packem.json"), "{}", stderr(&out));
}

#[test]
fn targets_writing_the_same_file_are_an_error_and_nothing_is_written() {
    let config = CONFIG.replace("dist/browser.js", "dist/index.mjs");
    let dir = project(&files(&config));
    let out = packem(dir.path(), &["build"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("targets \"node-esm\" and \"browser\" both write dist/index.mjs"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("dist").exists(), "nothing is written");
}

#[test]
fn configuration_errors_name_the_file_the_line_and_the_key() {
    let config = CONFIG.replace("\"platform\": \"node\",", "\"platform\": \"node\",\n  \"outDir\": \"x\",");
    let dir = project(&files(&config));
    let out = packem(dir.path(), &["build"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("packem.json:4:"), "{err}");
    assert!(err.contains("unknown key \"outDir\" (did you mean \"outdir\"?)"), "{err}");

    let config = CONFIG.replace("\"minify\": true", "\"minify\": \"yes\"");
    let dir = project(&files(&config));
    let err = stderr(&packem(dir.path(), &["build"]));
    assert!(err.contains("packem.json:10:"), "{err}");
    assert!(err.contains("\"targets[2].minify\": invalid type: string \"yes\", expected a boolean"), "{err}");

    let config = CONFIG
        .replace("\"extends\": \"node-esm\", \"format\": \"cjs\"", "\"extends\": \"browser\", \"format\": \"cjs\"")
        .replace("\"extends\": \"node-esm\", \"platform\"", "\"extends\": \"node-cjs\", \"platform\"");
    let dir = project(&files(&config));
    let err = stderr(&packem(dir.path(), &["build"]));
    assert!(err.contains("\"extends\" makes a cycle: node-cjs → browser → node-cjs"), "{err}");
    assert!(!dir.path().join("dist").exists(), "nothing is written");

    // A target without entries anywhere is an error, not the first target's entries.
    let config = CONFIG
        .replace("\"entries\": [\"src/index.ts\"],", "")
        .replace("\"name\": \"node-esm\",", "\"name\": \"node-esm\", \"entries\": [\"src/index.ts\"],")
        .replace("\"extends\": \"node-esm\", \"platform\"", "\"platform\"");
    let dir = project(&files(&config));
    let err = stderr(&packem(dir.path(), &["build"]));
    assert!(err.contains("target \"browser\": no \"entries\""), "{err}");

    // A setting the flags refuse names the target and where it is.
    let config = CONFIG.replace("\"minify\": true", "\"maxChunkSize\": 0");
    let dir = project(&files(&config));
    let err = stderr(&packem(dir.path(), &["build"]));
    assert!(err.contains("packem.json:8:5: target \"browser\""), "{err}");
    assert!(err.contains("--max-chunk-size needs --splitting"), "{err}");
}

#[test]
fn check_reads_every_target_and_names_those_a_diagnostic_is_only_in() {
    let config = r#"{
  "entries": ["src/index.ts"],
  "define": { "VERSION": "\"1.0\"" },
  "targets": [
    { "name": "node", "platform": "node" },
    { "name": "browser", "platform": "browser" },
    { "name": "browser-shimmed", "platform": "browser", "alias": { "node:os": "./src/shims/os.ts" } }
  ]
}
"#;
    let mut sources = files(config);
    sources.push(("src/extra.ts", "import missing from './missing';\nexport default missing;\n"));
    sources[0].1 =
        "import { platform } from './platform';\nimport extra from './extra';\nconsole.log(platform(), extra);\n";
    let dir = project(&sources);
    let out = packem(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    // Every target fails to resolve ./missing: reported once, naming no target.
    assert_eq!(err.matches("Could not resolve \"./missing\"").count(), 1, "{err}");
    assert!(!err.contains("./missing\" (in target"), "{err}");
    // node:os only fails for the browser target without the alias.
    assert!(err.contains("Could not resolve \"node:os\" (in target browser)"), "{err}");
    assert!(err.contains("2 errors"), "{err}");
}
