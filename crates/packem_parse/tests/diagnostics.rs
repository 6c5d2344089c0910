//! `file_diagnostics`: read errors and syntax errors, with spans.

mod common;

use common::Fixture;
use packem_db::{DiagnosticCode, Severity};

#[test]
fn syntax_error_has_message_and_span() {
    let mut fx = Fixture::new();
    let src = "const a = 1;\nconst b = ;\n";
    let file = fx.write("bad.js", src);
    let diagnostics = packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file));
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    assert_eq!(d.code, DiagnosticCode::ParseError);
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.file.as_deref(), Some(fx.path("bad.js").as_path()));
    assert!(d.message.contains("Unexpected token"), "{}", d.message);
    let (start, _end) = d.range.unwrap();
    assert_eq!(start as usize, src.find("= ;").unwrap() + 2);
    // The scan still works on the recovered (or empty) program.
    let _ = packem_parse::module_scan(&fx.db, packem_parse::Source::plain(&fx.db, file));
}

#[test]
fn semantic_errors_are_reported_too() {
    let mut fx = Fixture::new();
    let file = fx.write("redeclare.mjs", "let a = 1;\nlet a = 2;\n");
    let diagnostics = packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file));
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert!(diagnostics[0].message.contains("already been declared"), "{}", diagnostics[0].message);
}

#[test]
fn jsx_is_an_error_in_js_files_like_esbuild() {
    let mut fx = Fixture::new();
    let js = fx.write("a.js", "const el = <div />;");
    assert!(!packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, js)).is_empty());
    let jsx = fx.write("a.jsx", "const el = <div />;");
    assert!(packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, jsx)).is_empty());
}

#[test]
fn invalid_json_is_a_parse_error_with_a_span() {
    let mut fx = Fixture::new();
    let file = fx.write("data.json", "{\n  \"a\": 1,\n  \"b\": tru\n}\n");
    let diagnostics = packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file));
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].code, DiagnosticCode::ParseError);
    assert_eq!(diagnostics[0].range, Some((19, 20)));
    let scan = packem_parse::module_scan(&fx.db, packem_parse::Source::plain(&fx.db, file));
    assert_eq!(scan.format, packem_parse::ModuleFormat::Json);
    assert!(scan.exports.is_empty());
    let valid = fx.write("ok.json", "{\"a\": [1, 2]}");
    assert!(packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, valid)).is_empty());
    assert!(packem_parse::parsed_module(&fx.db, packem_parse::Source::plain(&fx.db, valid)).json_value().is_some());
}

#[test]
fn invalid_utf8() {
    let mut fx = Fixture::new();
    let file = fx.write("latin1.js", b"const s = '\xe9t\xe9';\n");
    let diagnostics = packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file));
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].code, DiagnosticCode::InvalidUtf8);
    assert!(diagnostics[0].message.contains("offset 11"), "{}", diagnostics[0].message);
}

#[test]
fn binary_file() {
    let mut fx = Fixture::new();
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend((0..=255u8).cycle().take(4096));
    let file = fx.write("image.png.js", &png);
    let diagnostics = packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file));
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].code, DiagnosticCode::InvalidUtf8);
    // Scanning an unreadable file gives an empty scan, not a panic.
    assert!(packem_parse::module_scan(&fx.db, packem_parse::Source::plain(&fx.db, file)).records.is_empty());
}

#[test]
fn missing_file() {
    let fx = Fixture::new();
    let file = fx.file("does-not-exist.js");
    let diagnostics = packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file));
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].code, DiagnosticCode::UnreadableFile);
    assert_eq!(diagnostics[0].message, "Could not read file: not found");
    assert_eq!(diagnostics[0].file.as_deref(), Some(fx.path("does-not-exist.js").as_path()));
    assert_eq!(
        packem_parse::module_scan(&fx.db, packem_parse::Source::plain(&fx.db, file)).format,
        packem_parse::ModuleFormat::None
    );
}

#[test]
fn fixing_a_syntax_error_clears_the_diagnostic() {
    let mut fx = Fixture::new();
    let file = fx.write("a.js", "let = ;");
    assert!(!packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file)).is_empty());
    fx.write("a.js", "let a = 1;");
    assert!(packem_parse::file_diagnostics(&fx.db, packem_parse::Source::plain(&fx.db, file)).is_empty());
}
