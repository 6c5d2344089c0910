//! Source map mappings that are joined without being re-encoded (esbuild's scheme).
//!
//! A module's mappings are made when it is rendered ([`MapWriter`] over the printer's tokens)
//! and encoded as if the module started the map: every segment after the first is a delta from
//! the one before it, so appending the module after other code re-encodes only its first segment
//! and its first name index, the two parts that depend on what comes before. A run of modules
//! and a chunk are joined the same way, from the pieces their parts hold: a rebuild after an edit
//! encodes one module's mappings and a few small joints, and the rest of the map is the very
//! pieces the unchanged modules' memos hold.
//!
//! Columns are UTF-16 code units, as source map consumers count them.

use camino::Utf8Path;

use crate::{Code, CodeBuilder, Piece, SourceMapOptions};

/// One module's part of a source map: its mappings and, as pieces of JSON that a chunk's map
/// lists as they are, its sources, their contents and its names (each item preceded by a
/// comma).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ModuleMap {
    /// The mappings of the module's code.
    pub mappings: Mappings,
    /// `,"path"` per source: relative to the output directory.
    pub sources: Piece,
    /// `,"text"` (or `,null`) per source; empty without `sourcesContent`.
    pub contents: Piece,
    /// `,"name"` per name.
    pub names: Piece,
}

impl ModuleMap {
    /// The map of a module whose code `mappings` describe, from `sources` (each a path, made
    /// relative to the output directory, or a URL, and its text when known).
    pub(crate) fn new(
        mappings: Mappings,
        sources: &[(MapSource, Option<&str>)],
        names: &[String],
        options: &SourceMapOptions,
    ) -> Self {
        let (mut list, mut contents) = (String::new(), String::new());
        for (source, text) in sources {
            let shown = match source {
                MapSource::Path(path) => relative_path(&options.base, path),
                MapSource::Url(url) => url.clone(),
            };
            list.push(',');
            list.push_str(&json_string(&shown));
            if options.sources_content {
                contents.push(',');
                match text {
                    Some(text) => contents.push_str(&json_string(text)),
                    None => contents.push_str("null"),
                }
            }
        }
        let mut names_list = String::new();
        for name in names {
            names_list.push(',');
            names_list.push_str(&json_string(name));
        }
        ModuleMap { mappings, sources: Piece::new(list), contents: Piece::new(contents), names: Piece::new(names_list) }
    }
}

/// A source a map refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MapSource {
    /// A file, absolute.
    Path(camino::Utf8PathBuf),
    /// Something else (`webpack://…`), as the input map wrote it.
    Url(String),
}

/// The URL of the last `//# sourceMappingURL=` (or `//@ …`) comment in `text`: one SIMD scan
/// from the end, since every module is checked and almost none has one.
fn mapping_url(text: &str) -> Option<&str> {
    const KEY: &[u8] = b"sourceMappingURL=";
    let bytes = text.as_bytes();
    let mut end = bytes.len();
    while let Some(at) = memchr::memmem::rfind(&bytes[..end], KEY) {
        if bytes[..at].ends_with(b"//# ") || bytes[..at].ends_with(b"//@ ") {
            return text[at + KEY.len()..].lines().next().map(str::trim);
        }
        end = at;
    }
    None
}

/// The source map a module's text names in a `//# sourceMappingURL=` comment (a `data:` URL or
/// a file next to it; reading the file makes it an input of the render), with its sources
/// resolved. `None` when there is none or it cannot be read or parsed (the module is then its
/// own source, as in esbuild).
pub(crate) fn input_map(
    db: &dyn packem_db::Db,
    path: &Utf8Path,
    text: &str,
) -> Option<(oxc_sourcemap::SourceMap<'static>, Vec<MapSource>)> {
    let url = mapping_url(text)?;
    let dir = path.parent()?;
    let (json, map_dir) = if let Some(data) = url.strip_prefix("data:") {
        let (header, payload) = data.split_once(',')?;
        let bytes = if header.ends_with(";base64") {
            data_encoding::BASE64.decode(payload.as_bytes()).ok()?
        } else {
            payload.as_bytes().to_vec()
        };
        (String::from_utf8(bytes).ok()?, dir.to_path_buf())
    } else {
        let file = url.strip_prefix("file://").unwrap_or(url);
        if url.contains("://") && !url.starts_with("file://") {
            return None;
        }
        let map_path = normalize(&dir.join(file));
        let map_file = db.files().file(db, &map_path);
        let text = packem_db::source_text(db, map_file);
        if text.error().is_some() {
            return None;
        }
        (text.as_str().to_string(), map_path.parent()?.to_path_buf())
    };
    let parsed: oxc_sourcemap::JSONSourceMap = serde_json::from_str(&json).ok()?;
    let root = parsed.source_root.clone().unwrap_or_default();
    let sources = parsed
        .sources
        .iter()
        .map(|s| {
            let joined = if root.is_empty() || s.contains("://") || s.starts_with('/') {
                s.clone()
            } else {
                format!("{}/{s}", root.trim_end_matches('/'))
            };
            match joined.strip_prefix("file://") {
                Some(file) => MapSource::Path(camino::Utf8PathBuf::from(file)),
                None if joined.contains("://") => MapSource::Url(joined),
                None => MapSource::Path(normalize(&map_dir.join(&joined))),
            }
        })
        .collect();
    let map = oxc_sourcemap::SourceMap::from_json(parsed).ok()?;
    Some((map, sources))
}

/// The map of a run of modules, a chunk or a part: joined mappings and the lists of sources,
/// contents and names, as pieces shared with the modules' maps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MapParts {
    /// The mappings.
    pub mappings: Mappings,
    /// `,"path"` items.
    pub sources: Code,
    /// `,"text"` items (empty without `sourcesContent`).
    pub contents: Code,
    /// `,"name"` items.
    pub names: Code,
}

impl MapParts {
    /// The map of an output file made of these parts alone.
    pub fn output(&self) -> OutputMap {
        OutputMap {
            mappings: self.mappings.to_code(),
            sources: self.sources.clone(),
            contents: self.contents.clone(),
            names: self.names.clone(),
        }
    }
}

/// The map of an output file: its `mappings` and its lists of sources, contents and names, as
/// pieces (mostly shared with the modules' maps).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct OutputMap {
    /// The `mappings` string.
    pub mappings: Code,
    /// `,"path"` items.
    pub sources: Code,
    /// `,"text"` items (empty without `sourcesContent`).
    pub contents: Code,
    /// `,"name"` items.
    pub names: Code,
}

impl OutputMap {
    /// The source map file: JSON for the output `file` (its name, for the map's `file`), with
    /// `prefix` (`../`, for an output below the directory the sources are relative to) before
    /// each relative source path.
    pub fn json(&self, file: &str, source_root: Option<&str>, prefix: &str) -> Code {
        let mut out = CodeBuilder::default();
        out.push_str("{\"version\":3,\"file\":");
        out.push_str(&json_string(file));
        if let Some(root) = source_root {
            out.push_str(",\"sourceRoot\":");
            out.push_str(&json_string(root));
        }
        out.push_str(",\"sources\":[");
        if prefix.is_empty() {
            push_list(&mut out, &self.sources);
        } else {
            let mut prefixed = String::new();
            for piece in self.sources.pieces() {
                prefixed.push_str(&prefix_sources(piece.as_str(), prefix));
            }
            out.push_str(prefixed.strip_prefix(',').unwrap_or(&prefixed));
        }
        out.push_str("],");
        if !self.contents.is_empty() {
            out.push_str("\"sourcesContent\":[");
            push_list(&mut out, &self.contents);
            out.push_str("],");
        }
        out.push_str("\"names\":[");
        push_list(&mut out, &self.names);
        out.push_str("],\"mappings\":\"");
        out.push_code(&self.mappings);
        out.push_str("\"}\n");
        out.finish()
    }

    /// The map after the code's text moved right on some lines: `shifts` are (line, UTF-16
    /// column, change in width) of each replaced text (chunk paths put in for markers), in
    /// order. Segments after a replacement on its line move with it; other lines are copied.
    pub fn shifted(&self, shifts: &[(u32, u32, i64)]) -> OutputMap {
        if shifts.is_empty() {
            return self.clone();
        }
        let text = self.mappings.to_string();
        let mut out = String::with_capacity(text.len() + 16);
        let mut shifts = shifts.iter().peekable();
        for (line, segments) in text.split(';').enumerate() {
            if line > 0 {
                out.push(';');
            }
            let line = line as u32;
            while shifts.next_if(|s| s.0 < line).is_some() {}
            let mut here = Vec::new();
            while let Some(&&shift) = shifts.peek().filter(|s| s.0 == line) {
                here.push(shift);
                shifts.next();
            }
            if here.is_empty() || segments.is_empty() {
                out.push_str(segments);
                continue;
            }
            // Absolute generated columns of this line's segments, moved, encoded again.
            let (mut old_col, mut new_prev) = (0i64, 0i64);
            for (k, segment) in segments.split(',').enumerate() {
                let (delta, rest) = decode_first(segment);
                old_col += delta;
                let moved = old_col + here.iter().filter(|s| i64::from(s.1) < old_col).map(|s| s.2).sum::<i64>();
                if k > 0 {
                    out.push(',');
                }
                vlq(&mut out, moved - new_prev);
                out.push_str(rest);
                new_prev = moved;
            }
        }
        OutputMap { mappings: Code::from_text(out), ..self.clone() }
    }
}

/// The first VLQ of a segment and the text after it.
fn decode_first(segment: &str) -> (i64, &str) {
    let (mut value, mut shift, mut end) = (0u64, 0, 0);
    for (i, b) in segment.bytes().enumerate() {
        let digit = BASE64.iter().position(|&c| c == b).unwrap_or(0) as u64;
        value |= (digit & 31) << shift;
        shift += 5;
        end = i + 1;
        if digit & 32 == 0 {
            break;
        }
    }
    let signed = if value & 1 == 1 { -((value >> 1) as i64) } else { (value >> 1) as i64 };
    (signed, &segment[end..])
}

/// Appends a list of `,item` pieces without the first comma.
fn push_list(out: &mut CodeBuilder, list: &Code) {
    match list.pieces().next() {
        Some(first) if first.as_str().starts_with(',') => out.push_code(&list.without_first_char()),
        _ => out.push_code(list),
    }
}

/// `,"a","b"` with `prefix` before each relative path (not before a URL or an absolute path).
fn prefix_sources(items: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(items.len());
    for item in items.split(",\"").filter(|i| !i.is_empty()) {
        out.push_str(",\"");
        if !item.contains("://") && !item.starts_with('/') {
            out.push_str(prefix);
        }
        out.push_str(item);
    }
    out
}

/// Joins the maps of modules and generated text into [`MapParts`].
#[derive(Default)]
pub struct MapJoiner {
    writer: MapWriter,
    sources: CodeBuilder,
    contents: CodeBuilder,
    names: CodeBuilder,
}

impl MapJoiner {
    /// Generated text without mappings.
    pub fn unmapped(&mut self, text: &str) {
        self.writer.unmapped(text);
    }

    /// A module's code, with its map.
    pub fn module(&mut self, map: &ModuleMap) {
        self.writer.append(&map.mappings);
        self.sources.push_piece(&map.sources);
        self.contents.push_piece(&map.contents);
        self.names.push_piece(&map.names);
    }

    /// A run's, chunk's or part's code, with its map.
    pub fn parts(&mut self, map: &MapParts) {
        self.writer.append(&map.mappings);
        self.sources.push_code(&map.sources);
        self.contents.push_code(&map.contents);
        self.names.push_code(&map.names);
    }

    /// The map joined.
    pub fn finish(self) -> MapParts {
        MapParts {
            mappings: self.writer.finish(),
            sources: self.sources.finish(),
            contents: self.contents.finish(),
            names: self.names.finish(),
        }
    }
}

/// `path` with `.` and `..` components resolved lexically.
fn normalize(path: &Utf8Path) -> camino::Utf8PathBuf {
    let mut out = camino::Utf8PathBuf::new();
    for component in path.components() {
        match component {
            camino::Utf8Component::CurDir => {}
            camino::Utf8Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_str()),
        }
    }
    out
}

/// `text` as a JSON string.
pub(crate) fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

/// `to` relative to the directory `from`, with `/` separators (`../src/a.ts`).
pub(crate) fn relative_path(from: &Utf8Path, to: &Utf8Path) -> String {
    let from: Vec<&str> = from.components().map(|c| c.as_str()).collect();
    let to_parts: Vec<&str> = to.components().map(|c| c.as_str()).collect();
    let common = from.iter().zip(&to_parts).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return to.as_str().replace('\\', "/");
    }
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&to_parts[common..]);
    parts.join("/")
}

/// One mapping: a place in the generated code and the original position it comes from. Source
/// and name indices count within the piece the segment belongs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    /// The generated column (from the start of its line).
    pub gen_col: u32,
    /// The source index.
    pub source: u32,
    /// The original line (from 0).
    pub line: u32,
    /// The original column (UTF-16).
    pub col: u32,
    /// The name index, when the original was a renamed identifier.
    pub name: Option<u32>,
}

/// The mappings of a piece of generated code, encoded relative to the zero state (see the
/// module docs): the line breaks before its first segment, that segment, the encoded rest split
/// around its first name index, and what an appended piece needs to know about its end.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Mappings {
    /// Line breaks before the first segment.
    lead: u32,
    /// The first segment, if there is any.
    first: Option<Segment>,
    /// After the first segment, up to the first name index after it.
    middle: Code,
    /// The first name index after the first segment (when that one has none).
    first_name: Option<u32>,
    /// The rest.
    tail: Code,
    /// The last segment's (source, line, column).
    end: (u32, u32, u32),
    /// The last name index, if any segment has one.
    end_name: Option<u32>,
    /// Line breaks in the piece.
    lines: u32,
    /// UTF-16 columns after the last line break (or in all, for a piece of one line).
    end_cols: u32,
    /// The generated column of the last segment, when it is on the last line.
    end_gen_col: Option<u32>,
    /// How many sources and names the piece's indices count.
    sources: u32,
    names: u32,
}

impl Mappings {
    /// The number of sources the piece refers to by index.
    pub fn sources(&self) -> u32 {
        self.sources
    }

    /// The number of names the piece refers to by index.
    pub fn names(&self) -> u32 {
        self.names
    }

    /// Line breaks in the piece.
    pub fn lines(&self) -> u32 {
        self.lines
    }

    /// The `mappings` string of a source map made of this piece alone.
    pub fn to_code(&self) -> Code {
        let mut out = CodeBuilder::default();
        out.push_str(&";".repeat(self.lead as usize));
        if let Some(first) = self.first {
            let mut text = String::new();
            vlq(&mut text, i64::from(first.gen_col));
            vlq(&mut text, i64::from(first.source));
            vlq(&mut text, i64::from(first.line));
            vlq(&mut text, i64::from(first.col));
            if let Some(name) = first.name {
                vlq(&mut text, i64::from(name));
            }
            out.push_str(&text);
            out.push_code(&self.middle);
            if let Some(name) = self.first_name {
                let mut text = String::new();
                vlq(&mut text, i64::from(name));
                out.push_str(&text);
            }
            out.push_code(&self.tail);
        }
        out.finish()
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Stage {
    /// Before the first segment.
    #[default]
    Lead,
    /// After the first segment, before the first name index.
    Middle,
    /// After the first name index.
    Tail,
}

/// Writes [`Mappings`]: unmapped text, segments, and other pieces' mappings appended.
#[derive(Default)]
pub struct MapWriter {
    stage: Stage,
    lead: u32,
    first: Option<Segment>,
    middle: CodeBuilder,
    first_name: Option<u32>,
    tail: CodeBuilder,
    /// The last segment written: (source, line, column, name).
    prev: (u32, u32, u32, u32),
    has_name: bool,
    /// The generated column of the last segment on the current line.
    line_gen_col: Option<u32>,
    /// The UTF-16 column the next text starts at.
    col: u32,
    lines: u32,
    sources: u32,
    names: u32,
}

impl MapWriter {
    fn out(&mut self) -> &mut CodeBuilder {
        if self.stage == Stage::Tail { &mut self.tail } else { &mut self.middle }
    }

    /// `n` line breaks.
    pub fn newlines(&mut self, n: u32) {
        if n == 0 {
            return;
        }
        if self.stage == Stage::Lead {
            self.lead += n;
        } else {
            let semicolons = ";".repeat(n as usize);
            self.out().push_str(&semicolons);
        }
        self.lines += n;
        self.line_gen_col = None;
        self.col = 0;
    }

    /// Generated text without mappings.
    pub fn unmapped(&mut self, text: &str) {
        let breaks = memchr::memchr_iter(b'\n', text.as_bytes()).count() as u32;
        self.newlines(breaks);
        let last = text.rfind('\n').map_or(text, |i| &text[i + 1..]);
        self.col += utf16_len(last);
    }

    /// Sources and names the next appended or written segments refer to: `sources` and `names`
    /// more indices (written segments count from the current totals).
    pub fn add_sources(&mut self, sources: u32, names: u32) {
        self.sources += sources;
        self.names += names;
    }

    /// The current column (UTF-16) where the next text starts.
    pub fn column(&self) -> u32 {
        self.col
    }

    /// Moves to column `col` of the current line (after text written without this writer).
    pub fn set_column(&mut self, col: u32) {
        self.col = col;
    }

    /// One segment, at `segment.gen_col` on the current line (absolute indices).
    pub fn segment(&mut self, segment: Segment) {
        if self.stage == Stage::Lead {
            self.first = Some(segment);
            self.stage = if segment.name.is_some() { Stage::Tail } else { Stage::Middle };
            self.has_name = segment.name.is_some();
        } else {
            let mut text = String::with_capacity(12);
            if self.line_gen_col.is_some() {
                text.push(',');
            }
            vlq(&mut text, i64::from(segment.gen_col) - i64::from(self.line_gen_col.unwrap_or(0)));
            vlq(&mut text, i64::from(segment.source) - i64::from(self.prev.0));
            vlq(&mut text, i64::from(segment.line) - i64::from(self.prev.1));
            vlq(&mut text, i64::from(segment.col) - i64::from(self.prev.2));
            self.out().push_str(&text);
            if let Some(name) = segment.name {
                self.name(name);
            }
        }
        self.prev = (segment.source, segment.line, segment.col, segment.name.unwrap_or(self.prev.3));
        self.line_gen_col = Some(segment.gen_col);
    }

    /// The name field of the segment just written.
    fn name(&mut self, name: u32) {
        if self.stage == Stage::Middle && !self.has_name {
            self.first_name = Some(name);
            self.stage = Stage::Tail;
        } else {
            let mut text = String::new();
            vlq(&mut text, i64::from(name) - i64::from(self.prev.3));
            self.out().push_str(&text);
        }
        self.has_name = true;
        self.prev.3 = name;
    }

    /// Another piece's mappings, whose code is appended here: its source and name indices come
    /// after the ones counted so far.
    pub fn append(&mut self, piece: &Mappings) {
        let (source_offset, name_offset) = (self.sources, self.names);
        self.sources += piece.sources;
        self.names += piece.names;
        let Some(first) = piece.first else {
            self.newlines(piece.lines);
            self.col = if piece.lines > 0 { piece.end_cols } else { self.col + piece.end_cols };
            return;
        };
        self.newlines(piece.lead);
        let start_col = self.col;
        let shift = if piece.lead == 0 { start_col } else { 0 };
        self.segment(Segment {
            gen_col: first.gen_col + shift,
            source: first.source + source_offset,
            line: first.line,
            col: first.col,
            name: first.name.map(|n| n + name_offset),
        });
        let middle = &piece.middle;
        self.out().push_code(middle);
        if let Some(name) = piece.first_name {
            self.name(name + name_offset);
        }
        let tail = &piece.tail;
        self.out().push_code(tail);
        self.prev = (
            piece.end.0 + source_offset,
            piece.end.1,
            piece.end.2,
            piece.end_name.map_or(self.prev.3, |n| n + name_offset),
        );
        let breaks = piece.lines - piece.lead;
        self.lines += breaks;
        if breaks > 0 {
            self.col = piece.end_cols;
            self.line_gen_col = piece.end_gen_col;
        } else {
            // The piece ends on the line it started: its columns count from where it started.
            self.col += piece.end_cols;
            self.line_gen_col = piece.end_gen_col.map(|c| c + shift);
        }
    }

    /// The mappings written.
    pub fn finish(self) -> Mappings {
        Mappings {
            lead: self.lead,
            first: self.first,
            middle: self.middle.finish(),
            first_name: self.first_name,
            tail: self.tail.finish(),
            end: (self.prev.0, self.prev.1, self.prev.2),
            end_name: self.has_name.then_some(self.prev.3),
            lines: self.lines,
            end_cols: self.col,
            end_gen_col: self.line_gen_col,
            sources: self.sources,
            names: self.names,
        }
    }
}

/// The length of `text` in UTF-16 code units.
pub(crate) fn utf16_len(text: &str) -> u32 {
    if text.is_ascii() { text.len() as u32 } else { text.encode_utf16().count() as u32 }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends `value` as a base64 VLQ.
fn vlq(out: &mut String, value: i64) {
    let mut rest = if value < 0 { ((-value) << 1) | 1 } else { value << 1 } as u64;
    loop {
        let mut digit = (rest & 31) as u8;
        rest >>= 5;
        if rest > 0 {
            digit |= 32;
        }
        out.push(BASE64[digit as usize] as char);
        if rest == 0 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_mapping_url_comment_is_found() {
        assert_eq!(mapping_url("x();\n//# sourceMappingURL=index.js.map\n"), Some("index.js.map"));
        assert_eq!(mapping_url("//# sourceMappingURL=a.map\n//@ sourceMappingURL=b.map "), Some("b.map"));
        assert_eq!(mapping_url("const s = 'sourceMappingURL=no';\n"), None);
        assert_eq!(mapping_url("x();"), None);
    }

    /// Decodes a `mappings` string into absolute (line, gen col, source, line, col, name).
    fn decode(mappings: &str) -> Vec<(u32, u32, u32, u32, u32, Option<u32>)> {
        let json = format!(
            r#"{{"version":3,"sources":[{}],"names":[{}],"mappings":"{mappings}"}}"#,
            (0..64).map(|i| format!("\"s{i}\"")).collect::<Vec<_>>().join(","),
            (0..64).map(|i| format!("\"n{i}\"")).collect::<Vec<_>>().join(",")
        );
        let map = oxc_sourcemap::SourceMap::from_json_string(&json).unwrap();
        map.get_tokens()
            .map(|t| {
                (
                    t.get_dst_line(),
                    t.get_dst_col(),
                    t.get_source_id().unwrap(),
                    t.get_src_line(),
                    t.get_src_col(),
                    t.get_name_id(),
                )
            })
            .collect()
    }

    /// Pieces of code with segments: (text, segments as (line in piece, col, source, line, col, name)).
    type Piece = (&'static str, Vec<(u32, u32, u32, u32, u32, Option<u32>)>, u32, u32);

    fn write(piece: &Piece) -> Mappings {
        let (text, segments, sources, names) = piece;
        let mut w = MapWriter::default();
        let mut line = 0;
        for &(l, c, s, ol, oc, n) in segments {
            w.newlines(l - line);
            line = l;
            w.segment(Segment { gen_col: c, source: s, line: ol, col: oc, name: n });
        }
        w.newlines(text.matches('\n').count() as u32 - line);
        let last = text.rfind('\n').map_or(*text, |i| &text[i + 1..]);
        w.col = if text.contains('\n') { utf16_len(last) } else { utf16_len(text) };
        w.add_sources(*sources, *names);
        w.finish()
    }

    #[test]
    fn appended_pieces_decode_as_one_map() {
        let pieces: Vec<Piece> = vec![
            ("ab\ncd\n", vec![(0, 0, 0, 3, 1, None), (0, 1, 0, 3, 2, Some(0)), (1, 1, 0, 4, 0, Some(1))], 1, 2),
            ("glue;\n", vec![], 0, 0),
            ("x\n\ny\n", vec![(0, 0, 0, 0, 0, None), (2, 0, 1, 9, 9, None), (2, 0, 1, 9, 10, Some(0))], 2, 1),
            ("no", vec![(0, 1, 0, 5, 5, Some(0))], 1, 1),
            ("tail\n", vec![(0, 2, 0, 1, 1, None)], 1, 0),
        ];
        // The expected absolute segments, computed by hand from the pieces' offsets.
        let expected = vec![
            (0, 0, 0, 3, 1, None),
            (0, 1, 0, 3, 2, Some(0)),
            (1, 1, 0, 4, 0, Some(1)),
            (3, 0, 1, 0, 0, None),
            (5, 0, 2, 9, 9, None),
            (5, 0, 2, 9, 10, Some(2)),
            (6, 1, 3, 5, 5, Some(3)),
            (6, 4, 4, 1, 1, None),
        ];
        let mut all = MapWriter::default();
        for piece in &pieces {
            let m = write(piece);
            all.append(&m);
        }
        let joined = all.finish();
        assert_eq!(decode(&joined.to_code().to_string()), expected);
        // Joined in two levels (runs, then the chunk), the same.
        let (mut a, mut b) = (MapWriter::default(), MapWriter::default());
        for piece in &pieces[..2] {
            a.append(&write(piece));
        }
        for piece in &pieces[2..] {
            b.append(&write(piece));
        }
        let mut chunk = MapWriter::default();
        chunk.unmapped("");
        chunk.append(&a.finish());
        chunk.append(&b.finish());
        assert_eq!(decode(&chunk.finish().to_code().to_string()), expected);
    }

    #[test]
    fn vlq_matches_the_spec() {
        let mut s = String::new();
        for v in [0, 1, -1, 15, 16, -16, 1000, -123456] {
            vlq(&mut s, v);
            s.push(',');
        }
        assert_eq!(s, "A,C,D,e,gB,hB,w+B,hkxH,");
    }
}
