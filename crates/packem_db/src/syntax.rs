//! JavaScript spelling shared by every stage that writes code: quoting strings, property
//! access and keys, and whether a name can be written bare.

/// JavaScript keywords and reserved words: never identifiers.
pub const KEYWORDS: &[&str] = &[
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// A double-quoted string literal with the value `s`: JSON's escapes, plus U+2028 and U+2029
/// (valid in JSON strings, line terminators in older JavaScript).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `s` is a reserved word, or `arguments`/`eval` (which strict code cannot bind).
pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s) || s == "arguments" || s == "eval"
}

/// Whether `s` can be written as a JavaScript identifier (ASCII subset; others are quoted).
pub fn is_identifier(s: &str) -> bool {
    is_identifier_name(s) && !KEYWORDS.contains(&s)
}

/// Whether `s` can be written as a property name after a dot (keywords allowed).
pub fn is_identifier_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// `object.name`, or `object["name"]` when `name` is not an identifier name.
pub fn property_access(object: &str, name: &str) -> String {
    if is_identifier_name(name) { format!("{object}.{name}") } else { format!("{object}[{}]", quote(name)) }
}

/// `name` as a key of an object literal that defines an own property: bare when it is an
/// identifier name, quoted otherwise, and computed for `__proto__` (which, bare or quoted, sets
/// the prototype instead).
pub fn object_key(name: &str) -> String {
    if name == "__proto__" {
        "[\"__proto__\"]".to_string()
    } else if is_identifier_name(name) {
        name.to_string()
    } else {
        quote(name)
    }
}

/// A JSON text as a JavaScript expression with the same value: the text itself, or
/// `JSON.parse("…")` when a `__proto__` key in it would set a prototype in a literal.
pub fn json_expression(text: &str) -> String {
    if text.contains("__proto__") { format!("JSON.parse({})", quote(text)) } else { text.to_string() }
}

/// `s` with every character an ASCII identifier cannot hold replaced by `_`, and a `_` in front
/// when it would be empty or start with a digit.
pub fn identifier_from(s: &str) -> String {
    let mut out: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '$' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_as_json_does() {
        for s in ["plain", "a\"b\\c", "tab\there\nline\r", "\u{1}\u{8}\u{c}\u{1f}", "é ✓ 🎉"] {
            let quoted = quote(s);
            assert_eq!(serde_json::from_str::<String>(&quoted).unwrap(), s);
        }
        assert_eq!(quote("\u{2028}\u{2029}"), "\"\\u2028\\u2029\"");
    }

    #[test]
    fn names() {
        assert!(is_identifier("a$_1") && !is_identifier("class") && is_identifier_name("class"));
        assert!(!is_identifier_name("1a") && !is_identifier_name("a-b") && !is_identifier_name(""));
        assert_eq!(property_access("o", "a-b"), "o[\"a-b\"]");
        assert_eq!(object_key("__proto__"), "[\"__proto__\"]");
        assert_eq!(identifier_from("9-lives"), "_9_lives");
    }
}
