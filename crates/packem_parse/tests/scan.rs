//! What `module_scan` finds: records of every kind, exports, format and top-level await.

mod common;

use common::{export_names, records, scan, scan_with_diagnostics};
use packem_parse::{ImportKind, ModuleFormat};

fn rec(s: &str, k: ImportKind) -> (String, ImportKind) {
    (s.to_string(), k)
}

#[test]
fn every_record_kind_in_source_order() {
    let src = r#"
import a from "./static";
import "./side-effect";
export { b } from "./re-export";
export * from "./star";
export * as ns from "./star-as";
const lazy = () => import("./dynamic");
import(`./template`);
import(someVariable);
function inner() { return require("./required"); }
const where = require.resolve("./resolved");
const url = new URL("./asset.png", import.meta.url);
"#;
    let (scan, diagnostics) = scan_with_diagnostics("main.js", src);
    // `import(someVariable)` is no record: it stays a run-time load, with a warning at it.
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0].code, packem_db::DiagnosticCode::UnbundledImport);
    assert_eq!(
        &src[diagnostics[0].range.unwrap().0 as usize..diagnostics[0].range.unwrap().1 as usize],
        "someVariable"
    );
    use ImportKind::*;
    assert_eq!(
        records(&scan),
        vec![
            rec("./static", Static),
            rec("./side-effect", Static),
            rec("./re-export", ReExport),
            rec("./star", ExportStar),
            rec("./star-as", ExportStar),
            rec("./dynamic", DynamicImport),
            rec("./template", DynamicImport),
            rec("./required", Require),
            rec("./resolved", RequireResolve),
            rec("./asset.png", NewUrl),
        ]
    );
    // Spans cover the string literal, quotes included.
    for r in &scan.records {
        let text = &src[r.span.0 as usize..r.span.1 as usize];
        assert!(text.len() == r.specifier.len() + 2 && text.contains(&r.specifier), "{text} vs {}", r.specifier);
    }
    assert_eq!(scan.format, ModuleFormat::Esm);
}

#[test]
fn import_kind_strings_follow_esbuild_metafile() {
    assert_eq!(ImportKind::Static.as_str(), "import-statement");
    assert_eq!(ImportKind::DynamicImport.as_str(), "dynamic-import");
    assert_eq!(ImportKind::Require.as_str(), "require-call");
    assert_eq!(ImportKind::RequireResolve.as_str(), "require-resolve");
    assert_eq!(ImportKind::NewUrl.as_str(), "url-token");
    assert!(ImportKind::ExportStar.is_static() && !ImportKind::Require.is_static());
}

#[test]
fn require_that_is_a_local_binding_is_not_a_record() {
    let scan = scan(
        "a.js",
        "function f(require) { return require('./not-a-dep'); }\nconst x = require('./dep');\nrequire('a', 'b');\n",
    );
    assert_eq!(records(&scan), vec![rec("./dep", ImportKind::Require)]);
    assert_eq!(scan.format, ModuleFormat::CommonJs);
}

#[test]
fn attributes_are_collected_and_sorted() {
    let scan = scan(
        "a.js",
        r#"import data from "./data.json" with { type: "json", "b-key": "v" };
export { x } from "./x.json" with { type: "json" };
import("./lazy.json", { with: { type: "json" } });"#,
    );
    let attrs: Vec<_> = scan.records.iter().map(|r| r.attributes.clone()).collect();
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(attrs[0], vec![pair("b-key", "v"), pair("type", "json")]);
    assert_eq!(attrs[1], vec![pair("type", "json")]);
    assert_eq!(attrs[2], vec![pair("type", "json")]);
}

#[test]
fn in_try_block_is_per_function_and_only_the_try_body() {
    let scan = scan(
        "a.js",
        r#"
try { require("./in-try"); import("./dyn-in-try"); } catch (e) { require("./in-catch"); } finally { require("./in-finally"); }
try { (function () { require("./in-nested-function"); })(); } catch {}
require("./outside");
"#,
    );
    let flags: Vec<_> = scan.records.iter().map(|r| (r.specifier.as_str(), r.in_try_block)).collect();
    assert_eq!(
        flags,
        vec![
            ("./in-try", true),
            ("./dyn-in-try", true),
            ("./in-catch", false),
            ("./in-finally", false),
            ("./in-nested-function", false),
            ("./outside", false),
        ]
    );
}

#[test]
fn typescript_type_only_imports_are_elided() {
    let scan = scan(
        "a.ts",
        r#"
import type { T } from "./type-only";
import { type U } from "./inline-type-only";
import { V } from "./used-as-type";
import { W } from "./unused";
import { X } from "./used-as-value";
import { Y, type Z } from "./mixed";
import "./side-effect";
import {} from "./empty-braces";
export type { T2 } from "./export-type";
export { type T3 } from "./export-inline-type";
export type * from "./export-type-star";
import Def from "./default-used";
let v: V = X;
let y: Z = Y;
console.log(Def);
"#,
    );
    assert_eq!(
        records(&scan),
        vec![
            rec("./used-as-value", ImportKind::Static),
            rec("./mixed", ImportKind::Static),
            rec("./side-effect", ImportKind::Static),
            rec("./empty-braces", ImportKind::Static),
            rec("./default-used", ImportKind::Static),
        ]
    );
}

#[test]
fn javascript_keeps_unused_imports() {
    let scan = scan("a.js", "import { unused } from './x';");
    assert_eq!(records(&scan), vec![rec("./x", ImportKind::Static)]);
}

#[test]
fn tsx_keeps_react_for_the_classic_jsx_runtime() {
    let scan = scan("a.tsx", "import React from 'react';\nexport const el = <div />;\n");
    assert_eq!(records(&scan), vec![rec("react", ImportKind::Static)]);
}

#[test]
fn typescript_import_equals_require() {
    let scan = scan(
        "a.ts",
        "import fs = require('fs');\nimport unused = require('./unused');\nimport type T = require('./type');\nfs.readFileSync('x');\n",
    );
    assert_eq!(records(&scan), vec![rec("fs", ImportKind::Require)]);
    assert_eq!(scan.format, ModuleFormat::CommonJs);
}

#[test]
fn format_detection() {
    assert_eq!(scan("a.js", "import x from './x';").format, ModuleFormat::Esm);
    assert_eq!(scan("a.js", "export const a = 1;").format, ModuleFormat::Esm);
    assert_eq!(scan("a.js", "console.log(import.meta.url);").format, ModuleFormat::Esm);
    assert_eq!(scan("a.js", "await Promise.resolve();").format, ModuleFormat::Esm);
    assert_eq!(scan("a.js", "const x = require('./x');").format, ModuleFormat::CommonJs);
    assert_eq!(scan("a.js", "module.exports = 1;").format, ModuleFormat::CommonJs);
    assert_eq!(scan("a.js", "exports.a = 1;").format, ModuleFormat::CommonJs);
    assert_eq!(scan("a.js", "console.log('plain'); import('./lazy');").format, ModuleFormat::None);
    assert_eq!(scan("a.js", "const module = {}; module.exports = 1;").format, ModuleFormat::None);
    assert_eq!(scan("a.cjs", "console.log(1);").format, ModuleFormat::CommonJs);
    assert_eq!(scan("a.cts", "console.log(1);").format, ModuleFormat::CommonJs);
    assert_eq!(scan("a.mjs", "console.log(1);").format, ModuleFormat::Esm);
    assert_eq!(scan("a.mts", "console.log(1);").format, ModuleFormat::Esm);
    assert_eq!(scan("a.json", "{\"a\": 1}").format, ModuleFormat::Json);
    // ESM syntax wins over CommonJS references.
    assert_eq!(scan("a.js", "import x from './x'; module.exports = x;").format, ModuleFormat::Esm);
    // A top-level `return` is allowed in CommonJS files.
    assert_eq!(scan("a.cjs", "if (x) return;\nmodule.exports = 1;").format, ModuleFormat::CommonJs);
    // An unknown extension has no loader: nothing is parsed (importing it is an error at the
    // importer), and an extensionless file is JavaScript.
    assert_eq!(scan("a.weird", "const x = require('./x');").format, ModuleFormat::Asset);
    assert!(scan("a.weird", "const x = require('./x');").records.is_empty());
    assert_eq!(scan("cli", "const x = require('./x');").format, ModuleFormat::CommonJs);
}

#[test]
fn esm_exports() {
    let src = r#"
export const a = 1, { b, c: [d] } = obj;
export function f() {}
export class C {}
let x, y;
export { x, y as "string name", x as z };
export default function () {}
export * from "./not-listed";
export * as ns from "./listed";
export { re } from "./re";
"#;
    let scan = scan("a.js", src);
    assert_eq!(export_names(&scan), ["C", "a", "b", "d", "default", "f", "ns", "re", "string name", "x", "z"]);
    let default = scan.exports.iter().find(|e| e.name == "default").unwrap();
    assert_eq!(&src[default.span.0 as usize..default.span.1 as usize], "default");
    let y = scan.exports.iter().find(|e| e.name == "string name").unwrap();
    assert_eq!(&src[y.span.0 as usize..y.span.1 as usize], "\"string name\"");
}

#[test]
fn typescript_type_exports_are_left_out() {
    let scan = scan(
        "a.ts",
        "export interface I {}\nexport type T = 1;\nexport declare const d: number;\nexport enum E { A }\nexport namespace N { export const v = 1; }\ninterface J {}\nexport { J };\nexport const v = 1;\nexport default interface K {}\n",
    );
    assert_eq!(export_names(&scan), ["E", "N", "v"]);
}

#[test]
fn commonjs_exports_best_effort() {
    let scan = scan(
        "a.js",
        "exports.a = 1;\nmodule.exports.b = 2;\nexports['c'] = 3;\nObject.defineProperty(exports, 'd', { value: 4 });\nObject.defineProperty(exports, '__esModule', { value: true });\nfunction f(exports) { exports.notMe = 1; }\n",
    );
    assert_eq!(export_names(&scan), ["a", "b", "c", "d"]);
    let scan2 = common::scan("b.js", "module.exports = { x, y: 1, 'z': 2 };");
    assert_eq!(export_names(&scan2), ["x", "y", "z"]);
}

#[test]
fn json_exports_are_top_level_keys() {
    let src = "{\n  \"name\": \"pkg\",\n  \"nested\": { \"inner\": 1 }\n}\n";
    let scan = scan("data.json", src);
    assert_eq!(export_names(&scan), ["name", "nested"]);
    assert!(scan.records.is_empty());
    let name = &scan.exports[0];
    assert_eq!(&src[name.span.0 as usize..name.span.1 as usize], "\"name\"");
}

#[test]
fn top_level_await() {
    assert!(scan("a.mjs", "await x;").has_top_level_await);
    assert!(scan("a.mjs", "for await (const x of xs) {}").has_top_level_await);
    assert!(scan("a.mjs", "if (a) { const y = await x; }").has_top_level_await);
    assert!(!scan("a.mjs", "async function f() { await x; }").has_top_level_await);
    assert!(!scan("a.mjs", "const f = async () => { await x; };").has_top_level_await);
    assert!(!scan("a.mjs", "class A { async m() { for await (const x of y) {} } }").has_top_level_await);
    assert!(!scan("a.js", "console.log(1);").has_top_level_await);
}

#[test]
fn summary_leaves_out_spans_and_sorts_exports() {
    let mut fx = common::Fixture::new();
    let file = fx.write("a.js", "export const b = 1; export const a = 2; export { a as b2 }; import './x';");
    let summary = packem_parse::module_summary(&fx.db, packem_parse::Source::plain(&fx.db, file));
    assert_eq!(summary.exports, ["a", "b", "b2"]);
    assert_eq!(summary.records.len(), 1);
    assert_eq!(summary.records[0].specifier, "./x");
    assert_eq!(summary.format, ModuleFormat::Esm);
}

#[test]
fn typescript_reexported_imports_are_kept_and_typeof_uses_are_not() {
    let scan = scan(
        "a.ts",
        "import { A } from './reexported';\nexport { A };\nimport { B } from './typeof-only';\nlet b: typeof B;\n",
    );
    assert_eq!(records(&scan), vec![rec("./reexported", ImportKind::Static)]);
    assert_eq!(export_names(&scan), ["A"]);
}

#[test]
fn templates_and_concatenations_with_a_static_directory_are_context_records() {
    let src = r#"
import(`./locale/${lang}.json`, { with: { type: "json" } });
require("./handlers/" + name + ".js");
require(`../up/${a}-${b}.js`);
import(`./${dir}/index.js`);
import(`${base}/x.js`);
require("a" + b);
"#;
    let (scan, diagnostics) = scan_with_diagnostics("main.js", src);
    use ImportKind::*;
    assert_eq!(
        records(&scan),
        vec![
            rec("packem:context:./locale/*.json", DynamicImport),
            rec("packem:context:./handlers/*.js", Require),
            rec("packem:context:../up/*-*.js", Require),
        ]
    );
    assert_eq!(scan.records[0].attributes, vec![("type".to_string(), "json".to_string())]);
    // A dynamic directory, no static prefix, a bare prefix: run-time loads, one warning each.
    let spans: Vec<&str> =
        diagnostics.iter().map(|d| &src[d.range.unwrap().0 as usize..d.range.unwrap().1 as usize]).collect();
    assert_eq!(spans, ["`./${dir}/index.js`", "`${base}/x.js`", "\"a\" + b"]);
}
