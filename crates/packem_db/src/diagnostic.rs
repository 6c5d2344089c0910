//! Diagnostics as data, and their esbuild-style rendering.
//!
//! Queries never fail: problems in the user's input are [`Diagnostic`] values in query results.
//! Spans are byte offsets into the file's [`crate::SourceText`]; rendering turns them into 1-based
//! `line:column` (columns count characters) with a code frame.

use std::fmt::Write as _;

use camino::{Utf8Path, Utf8PathBuf};

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Severity {
    /// Fails the build.
    Error,
    /// Reported; the build goes on.
    Warning,
}

/// A stable identifier for a kind of diagnostic, shared by the CLI and the LSP server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum DiagnosticCode {
    /// The source has a syntax error. Fix the syntax at the location shown.
    ParseError,
    /// An import specifier resolves to no file. Fix the path, install the package, or mark it external.
    UnresolvedImport,
    /// A file could not be read (permissions, I/O error, or it vanished).
    UnreadableFile,
    /// A file imported as code is not valid UTF-8 (often a binary file imported by mistake).
    InvalidUtf8,
    /// A file is larger than the 4 GiB the parser can address.
    FileTooLarge,
    /// An entry point does not exist.
    MissingEntry,
    /// Modules import each other in a cycle. Legal in JavaScript, but evaluation order may surprise.
    CircularDependency,
    /// A `tsconfig.json` or resolution option could not be loaded.
    InvalidConfig,
    /// An import attribute is not supported (only `type: "json"` is).
    UnsupportedImportAttribute,
    /// An import names an export the module does not have. Fix the name or add the export.
    MissingExport,
    /// Several `export *` provide the imported name, so ESM exports none of them.
    AmbiguousImport,
    /// The output format cannot express the code (top-level await outside ESM output).
    UnsupportedFeature,
    /// An output file could not be written, or its path is invalid.
    OutputError,
    /// A command-line or config option has an invalid value (`--define`, `--target`, `--loader`).
    InvalidOption,
    /// The syntax target cannot run this syntax and it cannot be lowered.
    UnsupportedSyntax,
    /// No loader is configured for the imported file's extension (or its loader is unsupported).
    NoLoader,
    /// An `import()` or `require()` whose argument is neither a string nor a pattern with a
    /// static directory prefix stays a run-time load, which the bundle cannot serve from its files.
    UnbundledImport,
    /// `--declarations`: a declaration needs a type the module does not spell out (TypeScript's
    /// isolated declarations). Add the annotation shown.
    DeclarationError,
}

impl DiagnosticCode {
    /// The UPPER_SNAKE name printed after the message and used as the LSP diagnostic code.
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticCode::ParseError => "PARSE_ERROR",
            DiagnosticCode::UnresolvedImport => "UNRESOLVED_IMPORT",
            DiagnosticCode::UnreadableFile => "UNREADABLE_FILE",
            DiagnosticCode::InvalidUtf8 => "INVALID_UTF8",
            DiagnosticCode::FileTooLarge => "FILE_TOO_LARGE",
            DiagnosticCode::MissingEntry => "MISSING_ENTRY",
            DiagnosticCode::CircularDependency => "CIRCULAR_DEPENDENCY",
            DiagnosticCode::InvalidConfig => "INVALID_CONFIG",
            DiagnosticCode::UnsupportedImportAttribute => "UNSUPPORTED_IMPORT_ATTRIBUTE",
            DiagnosticCode::MissingExport => "MISSING_EXPORT",
            DiagnosticCode::AmbiguousImport => "AMBIGUOUS_IMPORT",
            DiagnosticCode::UnsupportedFeature => "UNSUPPORTED_FEATURE",
            DiagnosticCode::OutputError => "OUTPUT_ERROR",
            DiagnosticCode::InvalidOption => "INVALID_OPTION",
            DiagnosticCode::UnsupportedSyntax => "UNSUPPORTED_SYNTAX",
            DiagnosticCode::NoLoader => "NO_LOADER",
            DiagnosticCode::UnbundledImport => "UNBUNDLED_IMPORT",
            DiagnosticCode::DeclarationError => "DECLARATION_ERROR",
        }
    }
}

/// A location: a file and optionally a byte range in it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Label {
    /// What this location shows ("imported here").
    pub message: String,
    /// The file, absolute.
    pub file: Option<Utf8PathBuf>,
    /// Byte range `[start, end)` in the file's text.
    pub range: Option<(u32, u32)>,
}

/// One problem found in the user's input.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Diagnostic {
    /// Where: file and byte range (primary location).
    pub file: Option<Utf8PathBuf>,
    /// Byte range `[start, end)` in `file`'s text.
    pub range: Option<(u32, u32)>,
    /// How bad.
    pub severity: Severity,
    /// What kind.
    pub code: DiagnosticCode,
    /// A terse description of what is wrong.
    pub message: String,
    /// Further locations and explanations.
    pub notes: Vec<Label>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with no location yet.
    pub fn error(code: DiagnosticCode, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, message)
    }

    /// A warning with no location yet.
    pub fn warning(code: DiagnosticCode, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, message)
    }

    fn new(severity: Severity, code: DiagnosticCode, message: impl Into<String>) -> Self {
        Self { file: None, range: None, severity, code, message: message.into(), notes: Vec::new(), help: None }
    }

    /// Sets the primary location.
    pub fn at(mut self, file: impl Into<Utf8PathBuf>, range: Option<(u32, u32)>) -> Self {
        self.file = Some(file.into());
        self.range = range;
        self
    }

    /// Adds a note, optionally with a location.
    pub fn with_note(
        mut self,
        message: impl Into<String>,
        file: Option<Utf8PathBuf>,
        range: Option<(u32, u32)>,
    ) -> Self {
        self.notes.push(Label { message: message.into(), file, range });
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Whether this fails the build.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A position in a file: 1-based line, 1-based column counted in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, in characters (not bytes).
    pub column: u32,
}

/// The 1-based line and character column of byte `offset` in `text` (clamped to the text and to a
/// character boundary).
pub fn line_col(text: &str, offset: u32) -> LineCol {
    let mut offset = (offset as usize).min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let index = line_index::LineIndex::new(text);
    let lc = index.line_col(line_index::TextSize::new(offset as u32));
    let line_start = offset - lc.col as usize;
    let column = text[line_start..offset].chars().count() as u32;
    LineCol { line: lc.line + 1, column: column + 1 }
}

/// How to render: colors on or off, and the directory paths are shown relative to.
pub struct RenderOptions<'a> {
    /// Emit ANSI colors.
    pub color: bool,
    /// Paths are printed relative to this directory when they are inside it.
    pub cwd: &'a Utf8Path,
}

/// Renders `diagnostic` like esbuild: a headline, then `file:line:col:` and a code frame.
///
/// `text_of` supplies the text of a file (the same text the spans point into).
pub fn render(
    diagnostic: &Diagnostic,
    text_of: &dyn Fn(&Utf8Path) -> Option<std::sync::Arc<str>>,
    options: &RenderOptions,
) -> String {
    use anstyle::{AnsiColor, Style};
    let paint = |style: Style, s: &str| -> String {
        if options.color { format!("{}{s}{}", style.render(), style.render_reset()) } else { s.to_string() }
    };
    let (icon, label, color) = match diagnostic.severity {
        Severity::Error => ("✘", "[ERROR]", AnsiColor::Red),
        Severity::Warning => ("▲", "[WARNING]", AnsiColor::Yellow),
    };
    let bold = Style::new().bold();
    let mut out = String::new();
    let badge = Style::new().fg_color(Some(color.into())).bold();
    let _ = writeln!(
        out,
        "{} {} {}",
        paint(badge, &format!("{icon} {label}")),
        paint(bold, &diagnostic.message),
        paint(Style::new().dimmed(), &format!("[{}]", diagnostic.code.as_str())),
    );
    out.push('\n');
    if let Some(file) = &diagnostic.file {
        render_location(&mut out, file, diagnostic.range, text_of, options, color, 4);
    }
    for note in &diagnostic.notes {
        let _ = writeln!(out, "  {}", note.message);
        if let Some(file) = &note.file {
            out.push('\n');
            render_location(&mut out, file, note.range, text_of, options, AnsiColor::Green, 4);
        } else {
            out.push('\n');
        }
    }
    if let Some(help) = &diagnostic.help {
        let _ = writeln!(out, "  {}", help);
        out.push('\n');
    }
    out
}

/// `path` relative to `cwd` when inside it, else as is.
pub fn display_path(path: &Utf8Path, cwd: &Utf8Path) -> String {
    match path.strip_prefix(cwd) {
        Ok(rel) if !rel.as_str().is_empty() => rel.to_string(),
        _ => path.to_string(),
    }
}

const MAX_FRAME_WIDTH: usize = 100;

fn render_location(
    out: &mut String,
    file: &Utf8Path,
    range: Option<(u32, u32)>,
    text_of: &dyn Fn(&Utf8Path) -> Option<std::sync::Arc<str>>,
    options: &RenderOptions,
    color: anstyle::AnsiColor,
    indent: usize,
) {
    use anstyle::Style;
    let paint = |style: Style, s: &str| -> String {
        if options.color { format!("{}{s}{}", style.render(), style.render_reset()) } else { s.to_string() }
    };
    let pad = " ".repeat(indent);
    let shown = display_path(file, options.cwd);
    let text = range.and_then(|_| text_of(file));
    let (Some((start, end)), Some(text)) = (range, text) else {
        let _ = writeln!(out, "{pad}{}:", paint(Style::new().bold(), &shown));
        out.push('\n');
        return;
    };
    let start_lc = line_col(&text, start);
    let _ = writeln!(
        out,
        "{pad}{}:",
        paint(Style::new().bold(), &format!("{shown}:{}:{}", start_lc.line, start_lc.column))
    );
    // A location past the text or on a blank line has nothing to show: no empty frame.
    let frame_line = {
        let at = (start as usize).min(text.len());
        let at = (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        &text[line_start..line_end]
    };
    if start as usize > text.len() || frame_line.trim().is_empty() {
        out.push('\n');
        return;
    }
    // The frame shows the first line of the range; the underline stops at its end.
    let mut start = (start as usize).min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[line_start..line_end].trim_end_matches('\r');
    let end = (end as usize).clamp(start, line_start + line.len());
    // Columns in characters, with tabs shown as two spaces.
    let before: Vec<char> = line[..start - line_start].chars().collect();
    let marked: Vec<char> = text[start..end].chars().collect();
    let after: Vec<char> = line[end - line_start..].chars().collect();
    let mut before_s: String = before.iter().collect::<String>().replace('\t', "  ");
    let marked_s: String = marked.iter().collect::<String>().replace('\t', "  ");
    let mut after_s: String = after.iter().collect::<String>().replace('\t', "  ");
    // Keep long lines readable: cut text far from the marked range (esbuild does the same).
    let width = |s: &str| unicode_width::UnicodeWidthStr::width(s);
    if width(&before_s) > MAX_FRAME_WIDTH / 2 {
        let keep: String =
            before_s.chars().rev().take(MAX_FRAME_WIDTH / 2 - 3).collect::<Vec<_>>().into_iter().rev().collect();
        before_s = format!("...{keep}");
    }
    if width(&before_s) + width(&marked_s) + width(&after_s) > MAX_FRAME_WIDTH {
        let room = MAX_FRAME_WIDTH.saturating_sub(width(&before_s) + width(&marked_s)).max(3);
        after_s = format!("{}...", after_s.chars().take(room - 3).collect::<String>());
    }
    let gutter = start_lc.line.to_string();
    let blank = " ".repeat(gutter.len());
    let _ = writeln!(
        out,
        "{pad}  {gutter} │ {}{}{}",
        before_s,
        paint(anstyle::Style::new().fg_color(Some(color.into())), &marked_s),
        after_s
    );
    let underline = "~".repeat(width(&marked_s).max(1));
    let caret = if marked_s.is_empty() { "^".to_string() } else { underline };
    let _ = writeln!(
        out,
        "{pad}  {blank} ╵ {}{}",
        " ".repeat(width(&before_s)),
        paint(anstyle::Style::new().fg_color(Some(color.into())), &caret)
    );
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_from_one() {
        let text = "ab\nçd x\n";
        assert_eq!(line_col(text, 0), LineCol { line: 1, column: 1 });
        assert_eq!(line_col(text, 3), LineCol { line: 2, column: 1 });
        // 'ç' is two bytes; 'x' is the 4th character of line 2.
        assert_eq!(line_col(text, 7), LineCol { line: 2, column: 4 });
        assert_eq!(line_col(text, 1000), LineCol { line: 3, column: 1 });
    }

    #[test]
    fn no_empty_code_frames() {
        let text: std::sync::Arc<str> = "let a = 1;\n\n".into();
        let options = RenderOptions { color: false, cwd: Utf8Path::new("/p") };
        // On a blank line, and past the end of the text: the location without a frame.
        for range in [(11, 11), (500, 500)] {
            let d = Diagnostic::error(DiagnosticCode::ParseError, "Unexpected end of file").at("/p/a.js", Some(range));
            let rendered = render(&d, &|_| Some(text.clone()), &options);
            assert!(!rendered.contains('│') && !rendered.contains('╵'), "{rendered}");
            assert!(rendered.contains("a.js:"), "{rendered}");
        }
    }

    #[test]
    fn renders_location_and_code_frame() {
        let text: std::sync::Arc<str> = "import x from \"./missing\";\nfoo();\n".into();
        let d = Diagnostic::error(DiagnosticCode::UnresolvedImport, "Could not resolve \"./missing\"")
            .at("/p/src/a.js", Some((14, 25)))
            .with_help("Mark it external.");
        let rendered = render(&d, &|_| Some(text.clone()), &RenderOptions { color: false, cwd: Utf8Path::new("/p") });
        let expected = "✘ [ERROR] Could not resolve \"./missing\" [UNRESOLVED_IMPORT]\n\n    src/a.js:1:15:\n      1 │ import x from \"./missing\";\n        ╵               ~~~~~~~~~~~\n\n  Mark it external.\n\n";
        assert_eq!(rendered, expected);
    }

    #[test]
    fn color_codes_only_when_asked() {
        let d = Diagnostic::warning(DiagnosticCode::CircularDependency, "cycle");
        let plain = render(&d, &|_| None, &RenderOptions { color: false, cwd: Utf8Path::new("/") });
        let colored = render(&d, &|_| None, &RenderOptions { color: true, cwd: Utf8Path::new("/") });
        assert!(!plain.contains('\x1b'));
        assert!(colored.contains('\x1b'));
    }
}
