//! Deep nesting and large inputs never crash the process. These run on default 2 MiB test threads.

mod common;

use std::time::Instant;

use common::Fixture;
use packem_db::DiagnosticCode;

#[test]
fn hundred_thousand_nested_parentheses_give_a_diagnostic() {
    let mut fx = Fixture::new();
    let depth = 100_000;
    let file = fx.write("parens.js", format!("x = {}1{};", "(".repeat(depth), ")".repeat(depth)));
    let diagnostics = packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file));
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].code, DiagnosticCode::ParseError);
    assert!(diagnostics[0].message.starts_with("Nesting too deep"), "{}", diagnostics[0].message);
    let (start, _) = diagnostics[0].range.unwrap();
    assert!(start as usize > packem_parse::MAX_NESTING_DEPTH as usize);
    let scan = packem_parse::module_scan(&fx.db, packem_parse::Source::plain(&fx.db, file));
    assert!(scan.records.is_empty());
    assert!(packem_parse::parsed_module(&fx.db, packem_parse::Source::plain(&fx.db, file)).program().body.is_empty());
}

#[test]
fn nesting_just_under_the_limit_parses_and_scans() {
    let mut fx = Fixture::new();
    let depth = packem_parse::MAX_NESTING_DEPTH as usize - 10;
    let file = fx.write("parens.js", format!("x = {}require('./deep'){};", "(".repeat(depth), ")".repeat(depth)));
    assert!(packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file)).is_empty());
    let scan = packem_parse::module_scan(&fx.db, packem_parse::Source::plain(&fx.db, file));
    assert_eq!(scan.records.len(), 1);
    assert_eq!(scan.records[0].specifier, "./deep");
}

#[test]
fn ten_thousand_nested_arrays_parse_and_scan() {
    let mut fx = Fixture::new();
    let depth = 10_000;
    let file = fx
        .write("arrays.mjs", format!("export const x = {}import('./inner'){};", "[".repeat(depth), "]".repeat(depth)));
    assert!(packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file)).is_empty());
    let scan = packem_parse::module_scan(&fx.db, packem_parse::Source::plain(&fx.db, file));
    assert_eq!(scan.records.len(), 1);
    assert_eq!(scan.exports.len(), 1);
}

#[test]
fn thousand_deep_function_chain_parses_and_scans() {
    let mut fx = Fixture::new();
    let depth = 1_000;
    let mut src = String::new();
    for i in 0..depth {
        src.push_str(&format!("function f{i}() {{ const v{i} = require('./m{i}');\n"));
    }
    src.push_str(&"}\n".repeat(depth));
    let file = fx.write("functions.js", src);
    assert!(packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file)).is_empty());
    let scan = packem_parse::module_scan(&fx.db, packem_parse::Source::plain(&fx.db, file));
    assert_eq!(scan.records.len(), depth);
    assert_eq!(scan.format, packem_parse::ModuleFormat::CommonJs);
}

#[test]
fn long_operator_chains_do_not_overflow() {
    let mut fx = Fixture::new();
    let n = 50_000;
    let src = format!("x = 'a'{};\ny = {}z;\nw = {}1;\n", " + 'b'".repeat(n), "a = ".repeat(n), "!".repeat(n));
    let file = fx.write("chains.js", src);
    assert!(packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file)).is_empty());
    let _ = packem_parse::module_scan(&fx.db, packem_parse::Source::plain(&fx.db, file));
}

#[test]
fn deeply_nested_json_is_refused_cleanly() {
    let mut fx = Fixture::new();
    let depth = 100_000;
    let file = fx.write("deep.json", format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
    let diagnostics = packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file));
    assert_eq!(diagnostics.len(), 1);
    assert!(diagnostics[0].message.starts_with("Nesting too deep"));
}

#[test]
fn fifty_megabyte_file_parses_and_scans() {
    let mut fx = Fixture::new();
    let count = 500_000;
    let mut src = String::with_capacity(count * 110);
    src.push_str("import { helper } from './helper';\n");
    for i in 0..count {
        src.push_str(&format!("export function fn_{i:06}(a, b) {{ return helper(a + b * {i}, 'padding-padding-padding-padding-{i:06}'); }}\n"));
    }
    assert!(src.len() >= 50_000_000, "{}", src.len());
    let file = fx.write("big.js", &src);
    let start = Instant::now();
    assert!(packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file)).is_empty());
    let scan = packem_parse::module_scan(&fx.db, packem_parse::Source::plain(&fx.db, file));
    assert_eq!(scan.records.len(), 1);
    assert_eq!(scan.exports.len(), count);
    let summary = packem_parse::module_summary(&fx.db, packem_parse::Source::plain(&fx.db, file));
    assert_eq!(summary.exports.len(), count);
    eprintln!("50 MB: parse + scan + summary in {:?}", start.elapsed());
}

/// Every construct the stack budget was measured on, nested close to the bracket limit (or, for
/// unbracketed chains, deeply), parses and scans on a default test thread.
#[test]
fn deep_nesting_of_every_measured_construct_is_safe() {
    let d = packem_parse::MAX_NESTING_DEPTH as usize - 100;
    let cases: Vec<(&str, String)> = vec![
        ("objects.js", format!("x = {}1{};", "{a:".repeat(d), "}".repeat(d))),
        ("templates.js", format!("x = {}1{};", "`${".repeat(d), "}`".repeat(d))),
        ("calls.js", format!("x = {}1{};", "f(".repeat(d), ")".repeat(d))),
        ("functions.js", format!("{}{}", "function f(){".repeat(d), "}".repeat(d))),
        ("generics.ts", format!("let x: {}1{};", "A<".repeat(d), ">".repeat(d))),
        ("jsx.jsx", format!("x = {}{};", "<a>".repeat(d), "</a>".repeat(d))),
        ("arrows.js", format!("x = {}1;", "a=>".repeat(d))),
        ("ternaries.js", format!("x = {}1;", "a?b:".repeat(d))),
        ("else-if.js", format!("if (a) {{}} {}", "else if (a) {} ".repeat(d))),
        ("else-if-no-braces.js", format!("if (a) x; {}", "else if (a) x; ".repeat(d))),
        ("new.js", format!("x = {}X;", "new ".repeat(d))),
        ("labels.js", format!("{}x;", "a: ".repeat(d))),
        ("ifs.js", format!("{}x;", "if (a) ".repeat(d))),
        ("patterns.js", format!("let {}a{} = x;", "[".repeat(d), "]".repeat(d))),
    ];
    for (name, src) in cases {
        let mut fx = Fixture::new();
        let file = fx.write(name, &src);
        let diagnostics = packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file));
        assert!(diagnostics.iter().all(|d| !d.message.starts_with("Nesting too deep")), "{name}: {diagnostics:#?}");
        let _ = packem_parse::module_scan(&fx.db, packem_parse::Source::plain(&fx.db, file));
    }
}
