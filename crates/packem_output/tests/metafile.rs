//! The metafile: exact JSON for a small example, and shape compatibility with esbuild's.

use std::collections::BTreeMap;

use packem_output::{MetaImport, MetaInput, MetaOutput, MetaOutputInput, Metafile};

/// `esbuild a.js --bundle --metafile=m.json --outdir=out --format=esm --splitting
/// --platform=node --external:fs` (esbuild 0.28.2), verbatim.
const ESBUILD_METAFILE: &str = r#"{
  "inputs": {
    "b.js": {
      "bytes": 20,
      "imports": [],
      "format": "esm"
    },
    "c.js": {
      "bytes": 32,
      "imports": [
        {
          "path": "fs",
          "kind": "require-call",
          "external": true
        }
      ],
      "format": "esm"
    },
    "a.js": {
      "bytes": 83,
      "imports": [
        {
          "path": "b.js",
          "kind": "import-statement",
          "original": "./b.js"
        },
        {
          "path": "c.js",
          "kind": "dynamic-import",
          "original": "./c.js"
        }
      ],
      "format": "esm"
    }
  },
  "outputs": {
    "out/a.js": {
      "imports": [
        {
          "path": "out/chunk-3RG5ZIWI.js",
          "kind": "import-statement"
        },
        {
          "path": "out/c-WZEN23NC.js",
          "kind": "dynamic-import"
        }
      ],
      "exports": [
        "a"
      ],
      "entryPoint": "a.js",
      "inputs": {
        "b.js": {
          "bytesInOutput": 11
        },
        "a.js": {
          "bytesInOutput": 58
        }
      },
      "bytes": 133
    },
    "out/c-WZEN23NC.js": {
      "imports": [
        {
          "path": "out/chunk-3RG5ZIWI.js",
          "kind": "import-statement"
        },
        {
          "path": "fs",
          "kind": "require-call",
          "external": true
        }
      ],
      "exports": [
        "default"
      ],
      "entryPoint": "c.js",
      "inputs": {
        "c.js": {
          "bytesInOutput": 36
        }
      },
      "bytes": 131
    },
    "out/chunk-3RG5ZIWI.js": {
      "imports": [],
      "exports": [
        "__require"
      ],
      "inputs": {},
      "bytes": 390
    }
  }
}
"#;

fn small() -> Metafile {
    let mut meta = Metafile::default();
    meta.inputs
        .insert("src/b.js".into(), MetaInput { bytes: 20, format: Some("esm".into()), imports: vec![], with: None });
    meta.inputs.insert(
        "src/a.js".into(),
        MetaInput {
            bytes: 83,
            format: Some("esm".into()),
            imports: vec![
                MetaImport {
                    path: "src/b.js".into(),
                    kind: "import-statement".into(),
                    original: Some("./b.js".into()),
                    ..Default::default()
                },
                MetaImport { path: "fs".into(), kind: "require-call".into(), external: true, ..Default::default() },
            ],
            with: None,
        },
    );
    meta.inputs.insert(
        "src/data.json".into(),
        MetaInput {
            bytes: 2,
            format: None,
            imports: vec![],
            with: Some(BTreeMap::from([("type".into(), "json".into())])),
        },
    );
    meta.outputs.insert(
        "out/a.js".into(),
        MetaOutput {
            bytes: 133,
            entry_point: Some("src/a.js".into()),
            exports: vec!["a".into()],
            imports: vec![MetaImport {
                path: "fs".into(),
                kind: "require-call".into(),
                external: true,
                ..Default::default()
            }],
            inputs: BTreeMap::from([
                ("src/b.js".into(), MetaOutputInput { bytes_in_output: 11 }),
                ("src/a.js".into(), MetaOutputInput { bytes_in_output: 58 }),
            ]),
            ..Default::default()
        },
    );
    meta
}

#[test]
fn small_metafile_exact_json() {
    let expected = r#"{
  "inputs": {
    "src/a.js": {
      "bytes": 83,
      "format": "esm",
      "imports": [
        {
          "kind": "import-statement",
          "original": "./b.js",
          "path": "src/b.js"
        },
        {
          "external": true,
          "kind": "require-call",
          "path": "fs"
        }
      ]
    },
    "src/b.js": {
      "bytes": 20,
      "format": "esm",
      "imports": []
    },
    "src/data.json": {
      "bytes": 2,
      "imports": [],
      "with": {
        "type": "json"
      }
    }
  },
  "outputs": {
    "out/a.js": {
      "bytes": 133,
      "entryPoint": "src/a.js",
      "exports": [
        "a"
      ],
      "imports": [
        {
          "external": true,
          "kind": "require-call",
          "path": "fs"
        }
      ],
      "inputs": {
        "src/a.js": {
          "bytesInOutput": 58
        },
        "src/b.js": {
          "bytesInOutput": 11
        }
      }
    }
  }
}"#;
    assert_eq!(small().to_json(), expected);
    assert_eq!(Metafile::from_json(expected).unwrap(), small());
}

#[test]
fn empty_metafile() {
    assert_eq!(Metafile::default().to_json(), "{\n  \"inputs\": {},\n  \"outputs\": {}\n}");
}

#[test]
fn esbuild_metafile_round_trips_with_the_same_shape() {
    let parsed = Metafile::from_json(ESBUILD_METAFILE).expect("every esbuild field is modelled");
    let ours: serde_json::Value = serde_json::from_str(&parsed.to_json()).unwrap();
    let theirs: serde_json::Value = serde_json::from_str(ESBUILD_METAFILE).unwrap();
    // Same objects, arrays and values; only key order differs (ours is sorted).
    assert_eq!(ours, theirs);
    let shared_chunk = &parsed.outputs["out/chunk-3RG5ZIWI.js"];
    assert_eq!(shared_chunk.entry_point, None);
    assert!(shared_chunk.inputs.is_empty());
}

#[test]
fn keys_are_sorted_at_every_level() {
    let parsed = Metafile::from_json(ESBUILD_METAFILE).unwrap();
    let json = parsed.to_json();
    // Reading the keys of each object in order: every object's keys must be ascending.
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    fn check(value: &serde_json::Value, json: &str) {
        match value {
            serde_json::Value::Object(map) => {
                let keys: Vec<&String> = map.keys().collect();
                let mut positions = Vec::new();
                for key in &keys {
                    positions.push(json.find(&format!("\"{key}\":")).unwrap());
                    check(&map[*key], json);
                }
                let mut sorted = keys.clone();
                sorted.sort();
                assert_eq!(keys, sorted);
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| check(v, json)),
            _ => {}
        }
    }
    check(&value, &json);
    assert!(json.find("\"bytes\"").unwrap() < json.find("\"imports\"").unwrap());
    assert!(json.find("\"entryPoint\"").unwrap() < json.find("\"exports\"").unwrap());
    // Deterministic: serializing twice gives the same bytes.
    assert_eq!(json, Metafile::from_json(&json).unwrap().to_json());
}
