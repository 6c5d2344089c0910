//! `packem.schema.json` (at the repository root, for editors) is the JSON Schema of `packem.json`,
//! generated from the config's types. These tests keep the committed file current
//! (`PACKEM_UPDATE_SCHEMA=1 cargo test -p packem_host --test config_schema` rewrites it) and check
//! configs against it with an independent validator, which must agree with packem's own reader.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

use std::path::{Path, PathBuf};

use camino::Utf8Path;
use packem_host::config::{TargetConfig, targets};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

fn generated() -> String {
    serde_json::to_string_pretty(&schemars::schema_for!(TargetConfig)).unwrap() + "\n"
}

#[test]
fn the_committed_schema_is_current() {
    let path = repo().join("packem.schema.json");
    if std::env::var_os("PACKEM_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, generated()).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated(),
        "packem.schema.json is out of date: run PACKEM_UPDATE_SCHEMA=1 cargo test -p packem_host --test config_schema"
    );
}

/// The `packem.json` example of the README (the JSON block with `"targets"`).
fn readme_example() -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let block = readme.split("```json\n").skip(1).find(|b| b.contains("\"targets\"")).expect("an example with targets");
    block.split("```").next().unwrap().to_owned()
}

#[test]
fn the_schema_and_packems_reader_agree_on_good_and_bad_configs() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("packem.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let good = [
        readme_example(),
        r#"{"entries": ["a.ts"], "platform": "node", "sourcemap": "both", "target": ["node18", "chrome100"]}"#.into(),
        r#"{"entries": ["a.ts"], "targets": [{"name": "x", "sourcemap": false, "drop": ["console"], "maxChunkSize": 1024}]}"#
            .into(),
    ];
    for text in &good {
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        let errors: Vec<String> = validator.iter_errors(&json).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{text}: {errors:?}");
        let file = targets::parse(Utf8Path::new("/p/packem.json"), text.clone()).unwrap();
        file.targets().unwrap();
    }
    let bad = [
        r#"{"entries": ["a.ts"], "bogusKey": 1}"#,
        r#"{"entries": ["a.ts"], "minify": "yes"}"#,
        r#"{"entries": ["a.ts"], "targets": [{"name": "x", "format": "esn"}]}"#,
        r#"{"entries": ["a.ts"], "targets": {"name": "x"}}"#,
        r#"{"entries": "a.ts"}"#,
        r#"{"entries": ["a.ts"], "sourcemap": "sometimes"}"#,
        r#"{"entries": ["a.ts"], "define": {"A": 1}}"#,
    ];
    for text in bad {
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        assert!(!validator.is_valid(&json), "the schema accepts {text}");
        assert!(targets::parse(Utf8Path::new("/p/packem.json"), text.into()).is_err(), "packem accepts {text}");
    }
}
