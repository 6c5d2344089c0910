//! Conversions between packem's data (byte offsets, paths, `Diagnostic`) and LSP's (UTF-16
//! positions, `file://` URIs, `lsp_types::Diagnostic`).

use std::str::FromStr;

use camino::{Utf8Path, Utf8PathBuf};
use line_index::{LineCol, LineIndex, TextSize, WideEncoding, WideLineCol};
use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Position, Range, Uri};
use packem_db::{Diagnostic, Severity};

/// `file://` URI of an absolute path.
pub fn uri(path: &Utf8Path) -> Uri {
    let mut out = String::from("file://");
    for byte in path.as_str().bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    Uri::from_str(&out).expect("an encoded file path is a valid URI")
}

/// The path of a `file://` URI (`None` for other schemes or non-UTF-8 paths).
pub fn path(uri: &Uri) -> Option<Utf8PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let mut bytes = Vec::with_capacity(rest.len());
    let raw = rest.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%'
            && i + 2 < raw.len()
            && let Ok(byte) = u8::from_str_radix(std::str::from_utf8(&raw[i + 1..i + 3]).ok()?, 16)
        {
            bytes.push(byte);
            i += 3;
            continue;
        }
        bytes.push(raw[i]);
        i += 1;
    }
    let path = Utf8PathBuf::from(String::from_utf8(bytes).ok()?);
    path.is_absolute().then_some(path)
}

/// Positions in one text.
pub struct Lines<'t> {
    text: &'t str,
    index: LineIndex,
}

impl<'t> Lines<'t> {
    /// Indexes `text`.
    pub fn new(text: &'t str) -> Self {
        Self { text, index: LineIndex::new(text) }
    }

    /// The LSP position (UTF-16 column) of byte `offset` (clamped).
    pub fn position(&self, offset: u32) -> Position {
        let mut offset = (offset as usize).min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let lc = self.index.line_col(TextSize::new(offset as u32));
        let wide = self.index.to_wide(WideEncoding::Utf16, lc).unwrap_or(WideLineCol { line: lc.line, col: lc.col });
        Position { line: wide.line, character: wide.col }
    }

    /// The LSP range of bytes `[start, end)`.
    pub fn range(&self, (start, end): (u32, u32)) -> Range {
        Range { start: self.position(start), end: self.position(end) }
    }

    /// The byte offset of an LSP position (`None` when out of range).
    pub fn offset(&self, position: Position) -> Option<u32> {
        let lc =
            self.index.to_utf8(WideEncoding::Utf16, WideLineCol { line: position.line, col: position.character })?;
        let offset: u32 = self.index.offset(LineCol { line: lc.line, col: lc.col })?.into();
        (offset as usize <= self.text.len()).then_some(offset)
    }
}

/// An LSP diagnostic from a packem one; `text_of` gives the text its spans point into.
pub fn diagnostic(d: &Diagnostic, text: &str, text_of: &dyn Fn(&Utf8Path) -> Option<String>) -> lsp_types::Diagnostic {
    let lines = Lines::new(text);
    let range = d.range.map(|r| lines.range(r)).unwrap_or_default();
    let related: Vec<DiagnosticRelatedInformation> = d
        .notes
        .iter()
        .filter_map(|note| {
            let file = note.file.as_ref()?;
            let range = match (note.range, text_of(file)) {
                (Some(r), Some(text)) => Lines::new(&text).range(r),
                _ => Range::default(),
            };
            Some(DiagnosticRelatedInformation {
                location: Location { uri: uri(file), range },
                message: note.message.clone(),
            })
        })
        .collect();
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\n\n");
        message.push_str(help);
    }
    lsp_types::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.as_str().to_string())),
        source: Some("packem".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip_with_escapes() {
        let p = Utf8Path::new("/tmp/a b/ç#x.js");
        let u = uri(p);
        assert_eq!(u.as_str(), "file:///tmp/a%20b/%C3%A7%23x.js");
        assert_eq!(path(&u).as_deref(), Some(p));
    }

    #[test]
    fn positions_use_utf16_columns() {
        let text = "a𝄞b\nxy";
        let lines = Lines::new(text);
        // '𝄞' is 4 bytes in UTF-8 and 2 units in UTF-16.
        assert_eq!(lines.position(5), Position { line: 0, character: 3 });
        assert_eq!(lines.offset(Position { line: 0, character: 3 }), Some(5));
        assert_eq!(lines.position(8), Position { line: 1, character: 1 });
        assert_eq!(lines.offset(Position { line: 9, character: 0 }), None);
    }
}
