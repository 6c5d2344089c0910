//! How the linker's data is written as JavaScript: values, rewritten `require()`/`import()`
//! calls, glue statements and namespace objects. The one place that spells them, so the chunk
//! and the module renders agree.

use std::fmt::Write as _;

use packem_db::syntax::{object_key, property_access, quote};
use packem_link::{Glue, RecordRewrite, ValueRef};

use crate::Format;

/// The expression that reads `value`.
pub(crate) fn value(value: &ValueRef) -> String {
    match value {
        ValueRef::Name(name) => name.clone(),
        ValueRef::Member(object, property) => property_access(object, property),
        ValueRef::Undefined => "void 0".to_string(),
    }
}

/// The expression a `require()`/`import()` call becomes. `wrapped`: the call is inside a
/// CommonJS closure, whose `require` parameter is Node's (or the bundle's stand-in).
pub(crate) fn record(rewrite: &RecordRewrite, format: Format, wrapped: bool) -> String {
    match rewrite {
        RecordRewrite::RequireWrapped { wrapper } => format!("{wrapper}()"),
        RecordRewrite::RequireEsm { init: Some(init), namespace } => format!("({init}(), __toCommonJS({namespace}))"),
        RecordRewrite::RequireEsm { init: None, namespace } => format!("__toCommonJS({namespace})"),
        RecordRewrite::ImportWrapped { wrapper, node_mode } => {
            let mode = if *node_mode { ", 1" } else { "" };
            format!("Promise.resolve().then(() => __toESM({wrapper}(){mode}))")
        }
        RecordRewrite::ImportEsm { init: Some(init), is_async: true, namespace } => {
            format!("Promise.resolve().then(() => {init}()).then(() => {namespace})")
        }
        RecordRewrite::ImportEsm { init: Some(init), is_async: false, namespace } => {
            format!("Promise.resolve().then(() => ({init}(), {namespace}))")
        }
        RecordRewrite::ImportEsm { init: None, namespace, .. } => format!("Promise.resolve().then(() => {namespace})"),
        RecordRewrite::ImportChunk { chunk } => format!("import(\"{}\")", crate::code::chunk_marker(*chunk)),
        RecordRewrite::ExternalRequire(path) if wrapped || format != Format::Esm => format!("require({})", quote(path)),
        RecordRewrite::ExternalRequire(path) => format!("__require({})", quote(path)),
        RecordRewrite::ExternalImport(path) if format == Format::Esm => format!("import({})", quote(path)),
        RecordRewrite::ExternalImport(path) => {
            format!("Promise.resolve().then(() => __toESM(require({}), 1))", quote(path))
        }
    }
}

/// Whether the rewritten call reads the chunk's `__require`.
pub(crate) fn record_uses_require(rewrite: &RecordRewrite, format: Format, wrapped: bool) -> bool {
    matches!(rewrite, RecordRewrite::ExternalRequire(_)) && !wrapped && format == Format::Esm
}

/// One glue statement and its newline. `declare`: with `var` (a lazy module's prologue assigns
/// variables declared outside its closure instead).
pub(crate) fn glue(glue: &Glue, declare: bool, out: &mut String) {
    let var = if declare { "var " } else { "" };
    let _ = match glue {
        Glue::InitCjs { var: name, wrapper, node_mode } => {
            let mode = if *node_mode { ", 1" } else { "" };
            writeln!(out, "{var}{name} = __toESM({wrapper}(){mode});")
        }
        Glue::ReExport { namespace, from } => writeln!(out, "__reExport({namespace}, {from});"),
        Glue::Bind { local, value: v } => writeln!(out, "{var}{local} = {};", value(v)),
        Glue::InitLazy { init, is_async: true } => writeln!(out, "await {init}();"),
        Glue::InitLazy { init, is_async: false } => writeln!(out, "{init}();"),
    };
}

/// The getters of a namespace object, `__export(target, { … })`, with its newline. `open`: the
/// object stays extensible (names are added when a CommonJS module it re-exports runs).
pub(crate) fn export_getters(target: &str, getters: &[(String, ValueRef)], open: bool, out: &mut String) {
    let _ = write!(out, "__export({target}, {{");
    for (i, (export, v)) in getters.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        let _ = write!(out, "  {}: () => {}", object_key(export), value(v));
    }
    if !getters.is_empty() {
        out.push('\n');
    }
    out.push_str(if open { "}, 1);\n" } else { "});\n" });
}

/// `var name = __export({}, { … });`: a namespace object defined up front.
pub(crate) fn namespace_object(name: &str, getters: &[(String, ValueRef)], open: bool) -> String {
    let mut out = format!("var {name} = ");
    export_getters("{}", getters, open, &mut out);
    out
}

/// Generated code without the whitespace its syntax does not need (`--minify-whitespace`):
/// indentation and spaces go, except one between two characters of a name or number (`var x`)
/// and between two `+` or two `-`; a line break stays where it may end a statement (not after
/// `{`, `,`, `;` … nor before `}`, `)`, `.` …), and so does the last one; string literals are
/// copied as they are. Only for code packem generates, which has no
/// comments, regular expressions or template literals.
pub(crate) fn compact(code: &str) -> String {
    fn word(c: char) -> bool {
        c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
    }
    let mut out = String::with_capacity(code.len());
    let (mut space, mut newline) = (false, false);
    let mut chars = code.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' => space = true,
            '\n' => newline = true,
            _ => {
                let last = out.chars().next_back();
                // A line break after `{`, `(`, `,`, `;` … or before `}`, `)`, `,` … changes nothing.
                let needed = |last: char| !"{([,;:=\n".contains(last) && !"})],.;:".contains(c);
                if newline && last.is_some_and(needed) {
                    out.push('\n');
                } else if (space || newline)
                    && let Some(last) = out.chars().next_back()
                    && ((word(last) && word(c)) || (last == c && (c == '+' || c == '-')))
                {
                    out.push(' ');
                }
                (space, newline) = (false, false);
                out.push(c);
                if matches!(c, '"' | '\'' | '`') {
                    // A string literal, copied up to its closing quote.
                    while let Some(d) = chars.next() {
                        out.push(d);
                        if d == '\\' {
                            out.extend(chars.next());
                        } else if d == c {
                            break;
                        }
                    }
                }
            }
        }
    }
    if newline && !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::compact;

    #[test]
    fn compact_keeps_what_the_syntax_needs() {
        assert_eq!(
            compact("  var x = __commonJS(function (exports, module) {\n    a + +b;\n  });\n"),
            "var x=__commonJS(function(exports,module){a+ +b;});\n"
        );
        assert_eq!(compact("f(\"a  b\", 'c \\' d', x - -1);\n\n\n"), "f(\"a  b\",'c \\' d',x- -1);\n");
        assert_eq!(compact("return void 0;\nexport { a as b };"), "return void 0;export{a as b};");
        assert_eq!(
            compact("__export(a, {\n  b: () => c,\n  d: () => e\n});\nf()\ng()\n"),
            "__export(a,{b:()=>c,d:()=>e});f()\ng()\n"
        );
        assert_eq!(compact("é = 1"), "é=1");
    }
}
