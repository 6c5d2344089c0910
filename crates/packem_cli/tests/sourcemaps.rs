//! Source maps, checked by an independent decoder (the `source-map` npm package, installed by
//! `cargo xtask fixtures`) and by Node's `--enable-source-maps`: for TypeScript and JSX inputs,
//! known tokens of the output map back to their original line and column, plain and minified,
//! in every format; a thrown error reports the original file and line; a package that ships its
//! own map is composed with it; the `--sourcemap` modes and options.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

mod common;

use std::path::Path;
use std::process::Command;

use common::{packem, project, stderr};

/// Sources with probes: string literals whose original positions the test knows.
const FILES: &[(&str, &str)] = &[
    (
        "src/geometry.ts",
        "// Geometry, in TypeScript.\nexport interface Point { x: number; y: number }\n\nexport function area(p: Point, factor: number = 2): number {\n  const label: string = 'area';\n  (globalThis as any).lastLabel = 'probe-area';\n  return p.x * p.y * factor + label.length + 6;\n}\n\nexport function fail(reason: string): never {\n  throw new Error('probe-fail: ' + reason);\n}\n",
    ),
    (
        "src/view.tsx",
        "import { area } from './geometry';\n\nfunction h(tag: string, props: any, ...children: any[]) {\n  return { tag, props, children };\n}\n\nexport function View(props: { n: number }) {\n  return <section className=\"probe-jsx\">{area({ x: props.n, y: 2 })}</section>;\n}\n",
    ),
    (
        "src/main.ts",
        "import { area, fail } from './geometry';\nimport { View } from './view';\n\nconst result = area({ x: 3, y: 4 });\nconsole.log('probe-main', result, JSON.stringify(View({ n: 5 })));\nif (process.argv.includes('--fail')) {\n  fail('asked');\n}\n",
    ),
    ("tsconfig.json", "{ \"compilerOptions\": { \"jsx\": \"react\", \"jsxFactory\": \"h\" } }\n"),
];

/// (probe text, source file, 1-based line, 0-based column of the string's opening quote).
const PROBES: &[(&str, &str, u32, u32)] = &[
    ("probe-area", "src/geometry.ts", 6, 34),
    ("probe-fail: ", "src/geometry.ts", 11, 18),
    ("probe-jsx", "src/view.tsx", 8, 28),
    ("probe-main", "src/main.ts", 5, 12),
];

/// Checks with `source-map` that each probe in `bundle` maps back to where it was written.
fn check_probes(dir: &Path, bundle: &Path, map: &Path) {
    let decoder = common::npm_fixtures().join("node_modules/source-map");
    let probes: Vec<String> =
        PROBES.iter().map(|(text, file, line, col)| format!("[{text:?}, {file:?}, {line}, {col}]")).collect();
    let script = format!(
        r#"
const fs = require("fs");
const {{ SourceMapConsumer }} = require({decoder:?});
const code = fs.readFileSync({bundle:?}, "utf8");
const raw = JSON.parse(fs.readFileSync({map:?}, "utf8"));
const probes = [{probes}];
SourceMapConsumer.with(raw, null, (consumer) => {{
  const problems = [];
  for (const [text, file, line, column] of probes) {{
    const at = code.indexOf(text);
    if (at < 0) {{ problems.push(`${{text}}: not in the bundle`); continue; }}
    const quote = at - 1;
    const before = code.slice(0, quote);
    const genLine = before.split("\n").length;
    const genColumn = quote - (before.lastIndexOf("\n") + 1);
    const original = consumer.originalPositionFor({{ line: genLine, column: genColumn, bias: SourceMapConsumer.GREATEST_LOWER_BOUND }});
    if (!original.source || !original.source.endsWith(file) || original.line !== line || original.column !== column) {{
      problems.push(`${{text}} at ${{genLine}}:${{genColumn}} maps to ${{original.source}}:${{original.line}}:${{original.column}}, expected ${{file}}:${{line}}:${{column}}`);
    }}
  }}
  if (problems.length) {{ console.error(problems.join("\n")); process.exit(1); }}
}});
"#,
        probes = probes.join(", ")
    );
    let script_path = dir.join("check-map.cjs");
    std::fs::write(&script_path, script).unwrap();
    let out = Command::new("node").arg(&script_path).output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}{}",
        bundle.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ts_and_jsx_tokens_map_back_to_their_original_positions() {
    let dir = project(FILES);
    for minify in [false, true] {
        for (format, ext) in [("esm", "mjs"), ("cjs", "cjs"), ("iife", "js")] {
            let out = format!("out/main-{format}-{minify}.{ext}");
            let mut args = vec!["build", "src/main.ts", "--platform=node", "--sourcemap", "--log-level=warning"];
            let outfile = format!("--outfile={out}");
            let format_arg = format!("--format={format}");
            args.extend([outfile.as_str(), format_arg.as_str()]);
            if minify {
                args.push("--minify");
            }
            let built = packem(dir.path(), &args);
            assert!(built.status.success(), "{}", stderr(&built));
            let bundle = dir.path().join(&out);
            let ran = Command::new("node").arg(&bundle).output().unwrap();
            assert!(String::from_utf8_lossy(&ran.stdout).starts_with("probe-main 34 "), "{ran:?}");
            check_probes(dir.path(), &bundle, &dir.path().join(format!("{out}.map")));
        }
    }
}

#[test]
fn a_thrown_error_reports_the_original_file_and_line() {
    let dir = project(FILES);
    for minify in [false, true] {
        let mut args = vec!["build", "src/main.ts", "--platform=node", "--sourcemap", "--outfile=out/main.js"];
        if minify {
            args.push("--minify");
        }
        let built = packem(dir.path(), &args);
        assert!(built.status.success(), "{}", stderr(&built));
        let ran = Command::new("node")
            .args(["--enable-source-maps", "out/main.js", "--fail"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&ran.stderr);
        assert!(!ran.status.success());
        assert!(err.contains("src/geometry.ts:11"), "minify {minify}: {err}");
        assert!(err.contains("src/main.ts:7"), "minify {minify}: the caller's frame: {err}");
    }
}

#[test]
fn a_package_with_its_own_map_is_composed() {
    // A package built from TypeScript ships `dist/index.js` and its map; the bundle's map goes
    // through it to the package's `src/index.ts`.
    let dir = project(&[
        (
            "node_modules/pkg/src/index.ts",
            "// The package's source.\nexport interface Options { loud: boolean }\nexport function shout(options: Options): string {\n  const word: string = options.loud ? 'probe-pkg' : 'quiet';\n  if (!options.loud) throw new Error('pkg: ' + word);\n  return word.toUpperCase();\n}\n",
        ),
        ("node_modules/pkg/package.json", "{ \"name\": \"pkg\", \"main\": \"dist/index.js\" }\n"),
        (
            "main.js",
            "const { shout } = require('pkg');\nconsole.log(shout({ loud: true }));\nshout({ loud: false });\n",
        ),
    ]);
    let esbuild = common::npm_fixtures().join("node_modules/.bin/esbuild");
    let compiled = Command::new(esbuild)
        .current_dir(dir.path())
        .args(["node_modules/pkg/src/index.ts", "--outfile=node_modules/pkg/dist/index.js"])
        .args(["--format=cjs", "--sourcemap", "--log-level=warning"])
        .output()
        .unwrap();
    assert!(compiled.status.success(), "{}", String::from_utf8_lossy(&compiled.stderr));
    for minify in [false, true] {
        let mut args = vec!["build", "main.js", "--platform=node", "--sourcemap", "--outfile=out/main.js"];
        if minify {
            args.push("--minify");
        }
        let built = packem(dir.path(), &args);
        assert!(built.status.success(), "{}", stderr(&built));
        let map: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/main.js.map")).unwrap()).unwrap();
        let sources: Vec<&str> = map["sources"].as_array().unwrap().iter().filter_map(|s| s.as_str()).collect();
        assert!(sources.contains(&"../node_modules/pkg/src/index.ts"), "{sources:?}");
        assert!(!sources.iter().any(|s| s.ends_with("dist/index.js")), "the built file is not a source: {sources:?}");
        let ran = Command::new("node")
            .args(["--enable-source-maps", "out/main.js"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&ran.stderr);
        assert!(String::from_utf8_lossy(&ran.stdout).contains("PROBE-PKG"));
        assert!(err.contains("node_modules/pkg/src/index.ts:5"), "minify {minify}: {err}");
    }
}

#[test]
fn sourcemap_modes_and_options() {
    let dir = project(FILES);
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
    let build = |args: &[&str]| {
        let mut all = vec!["build", "src/main.ts", "--platform=node", "--log-level=warning"];
        all.extend(args);
        let built = packem(dir.path(), &all);
        assert!(built.status.success(), "{}", stderr(&built));
    };
    // Linked: a file and a comment naming it.
    build(&["--sourcemap", "--outfile=linked/main.js"]);
    let linked_map = read("linked/main.js.map");
    assert!(read("linked/main.js").ends_with("//# sourceMappingURL=main.js.map\n"));
    // Inline: the same map in the comment, no file.
    build(&["--sourcemap=inline", "--outfile=inline/main.js"]);
    assert!(!dir.path().join("inline/main.js.map").exists());
    let code = read("inline/main.js");
    let url = code.lines().last().unwrap().strip_prefix("//# sourceMappingURL=data:application/json;base64,").unwrap();
    let decoded = decode_base64(url);
    assert_eq!(decoded, linked_map);
    // External: the file, no comment.
    build(&["--sourcemap=external", "--outfile=external/main.js"]);
    assert!(!read("external/main.js").contains("sourceMappingURL"));
    assert_eq!(read("external/main.js.map"), linked_map);
    // Both: the file and the inline comment.
    build(&["--sourcemap=both", "--outfile=both/main.js"]);
    assert_eq!(read("both/main.js.map"), linked_map);
    assert!(read("both/main.js").contains("sourceMappingURL=data:application/json;base64,"));
    // No sources' text, a source root, and an output below the output directory.
    build(&[
        "--sourcemap",
        "--sources-content=false",
        "--source-root=https://example.com/src/",
        "--outdir=out",
        "--entry-names=nested/[name]",
    ]);
    let map: serde_json::Value = serde_json::from_str(&read("out/nested/main.js.map")).unwrap();
    assert!(map.get("sourcesContent").is_none(), "{map}");
    assert_eq!(map["sourceRoot"], "https://example.com/src/");
    assert_eq!(map["file"], "main.js");
    let sources: Vec<&str> = map["sources"].as_array().unwrap().iter().filter_map(|s| s.as_str()).collect();
    assert_eq!(sources, ["../../src/geometry.ts", "../../src/view.tsx", "../../src/main.ts"]);
}

/// Standard base64 (the test decodes what the bundle wrote, independently of the encoder).
fn decode_base64(text: &str) -> String {
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.chars().filter(|&c| c != '=') {
        bits = (bits << 6) | alphabet.find(c).unwrap() as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).unwrap()
}
