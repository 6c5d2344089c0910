//! Output code as a list of shared pieces.
//!
//! A chunk is the concatenation of thousands of module renders. Concatenating (and hashing and
//! comparing) megabytes on every rebuild made the cost of a one-line edit grow with the size of
//! the bundle, so a chunk holds the pieces instead: each module's [`Piece`] is the `Arc` its
//! `rendered_module` memo holds, generated glue goes in between, and the writer writes the pieces
//! in order. Equality and the chunk's hash come from per-piece hashes, so a rebuild touches the
//! bytes of changed pieces only.

use std::fmt;
use std::sync::Arc;

/// A piece of output code and a hash of its bytes.
#[derive(Clone, Debug, Eq)]
pub struct Piece {
    text: Arc<str>,
    hash: u64,
    /// Whether the text holds a chunk path marker (see [`chunk_marker`]).
    marked: bool,
    /// Line breaks in the text.
    lines: u32,
}

/// The prefix of the stand-in for another chunk's path, `__PACKEM_CHUNK_<index>__`: a chunk's
/// code is rendered before the chunks' file names (which hash their contents) are known, and
/// the stand-ins are replaced once they are ([`Code::with_chunk_paths`]).
const MARKER: &str = "__PACKEM_CHUNK_";

/// The stand-in for the path of chunk `index`.
pub fn chunk_marker(index: u32) -> String {
    format!("{MARKER}{index}__")
}

/// The stand-in for the path of part `part` (from 1) of chunk `index` (`--max-chunk-size`);
/// part 0 is the chunk's main file, [`chunk_marker`].
pub fn part_marker(index: u32, part: u32) -> String {
    if part == 0 { chunk_marker(index) } else { format!("{MARKER}{index}_{part}__") }
}

/// Parses `<index>[_<part>]__` after a marker's prefix: (chunk, part, bytes read).
fn parse_marker(after: &str) -> Option<(u32, u32, usize)> {
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    let index = after[..digits].parse::<u32>().ok()?;
    let mut at = digits;
    let mut part = 0;
    if after[at..].starts_with('_') && !after[at..].starts_with("__") {
        let more = after[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
        part = after[at + 1..at + 1 + more].parse::<u32>().ok()?;
        at += 1 + more;
    }
    after[at..].starts_with("__").then_some((index, part, at + 2))
}

impl Piece {
    /// A piece holding `text`.
    pub fn new(text: impl Into<Arc<str>>) -> Self {
        let text = text.into();
        let hash = xxhash_rust::xxh3::xxh3_64(text.as_bytes());
        let marked = memchr::memmem::find(text.as_bytes(), MARKER.as_bytes()).is_some();
        let lines = memchr::memchr_iter(b'\n', text.as_bytes()).count() as u32;
        Piece { text, hash, marked, lines }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// XXH3-64 of the code.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether the piece is empty.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

impl std::hash::Hash for Piece {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Equal pieces have equal bytes, hence equal hashes.
        state.write_u64(self.hash);
    }
}

impl PartialEq for Piece {
    fn eq(&self, other: &Self) -> bool {
        // Unchanged pieces share their allocation, which `Arc`'s `eq` checks first.
        self.hash == other.hash && self.text == other.text
    }
}

/// The code of an output file: pieces written in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Code {
    pieces: Vec<Piece>,
    len: usize,
    /// [`Code::hash128`], computed once when built (the writer asks for it on every rebuild).
    hash: u128,
}

impl Code {
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the code is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A 128-bit hash identifying the bytes, computed from the pieces' hashes and lengths
    /// (not a hash of the concatenation: two splits of the same bytes hash differently).
    pub fn hash128(&self) -> u128 {
        self.hash
    }

    /// The hash of `pieces` (0 for none, as `Code::default()` has).
    fn hash_pieces(pieces: &[Piece]) -> u128 {
        if pieces.is_empty() {
            return 0;
        }
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for piece in pieces {
            hasher.update(&piece.hash.to_le_bytes());
            hasher.update(&(piece.len() as u64).to_le_bytes());
        }
        hasher.digest128()
    }

    /// The code with each chunk marker replaced by `path(chunk, part)`. Pieces without markers
    /// are shared, not copied. Also returns where the text after a replacement moved, for the
    /// source map: (line, UTF-16 column of the marker in the text before replacing, change in
    /// width) per replacement.
    pub fn with_chunk_paths(&self, path: impl Fn(u32, u32) -> String) -> (Code, Vec<(u32, u32, i64)>) {
        let mut out = CodeBuilder::default();
        let mut shifts = Vec::new();
        // The line and UTF-16 column (in the new text) where the next piece starts.
        let (mut line, mut col) = (0u32, 0u32);
        for piece in &self.pieces {
            if !piece.marked {
                out.push_piece(piece);
                let last = piece.text.rfind('\n').map_or(&piece.text[..], |i| &piece.text[i + 1..]);
                let width = crate::sourcemap::utf16_len(last);
                (line, col) = if piece.lines > 0 { (line + piece.lines, width) } else { (line, col + width) };
                continue;
            }
            let mut rest: &str = &piece.text;
            let mut text = String::with_capacity(rest.len());
            while let Some(at) = rest.find(MARKER) {
                let before = &rest[..at];
                text.push_str(before);
                match before.rfind('\n') {
                    Some(i) => {
                        line += memchr::memchr_iter(b'\n', before.as_bytes()).count() as u32;
                        col = crate::sourcemap::utf16_len(&before[i + 1..]);
                    }
                    None => col += crate::sourcemap::utf16_len(before),
                }
                let after = &rest[at + MARKER.len()..];
                match parse_marker(after) {
                    Some((index, part, len)) => {
                        let replacement = path(index, part);
                        let width = crate::sourcemap::utf16_len(&replacement);
                        let old = (MARKER.len() + len) as u32;
                        shifts.push((line, col, i64::from(width) - i64::from(old)));
                        // Columns count in the text before the replacements (the map's).
                        col += old;
                        text.push_str(&replacement);
                        rest = &after[len..];
                    }
                    None => {
                        text.push_str(MARKER);
                        col += MARKER.len() as u32;
                        rest = after;
                    }
                }
            }
            match rest.rfind('\n') {
                Some(i) => {
                    line += memchr::memchr_iter(b'\n', rest.as_bytes()).count() as u32;
                    col = crate::sourcemap::utf16_len(&rest[i + 1..]);
                }
                None => col += crate::sourcemap::utf16_len(rest),
            }
            text.push_str(rest);
            out.push_piece(&Piece::new(text));
        }
        (out.finish(), shifts)
    }

    /// The (chunk, part) pairs whose markers the code holds, in first-use order.
    pub fn chunk_references(&self) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for piece in self.pieces.iter().filter(|p| p.marked) {
            let mut rest: &str = &piece.text;
            while let Some(at) = rest.find(MARKER) {
                let after = &rest[at + MARKER.len()..];
                if let Some((index, part, _)) = parse_marker(after)
                    && !out.contains(&(index, part))
                {
                    out.push((index, part));
                }
                rest = after;
            }
        }
        out
    }

    /// Whether the code is empty or ends with a line break.
    pub fn ends_with_newline(&self) -> bool {
        self.pieces.last().is_none_or(|p| p.text.ends_with('\n'))
    }

    /// The pieces, in order.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// The pieces as byte slices (shared, not copied), for writing.
    pub fn byte_pieces(&self) -> Vec<Arc<[u8]>> {
        self.pieces.iter().map(|p| Arc::<[u8]>::from(p.text.clone())).collect()
    }
}

impl Code {
    /// Code of one piece holding `text`.
    pub fn from_text(text: String) -> Code {
        let mut out = CodeBuilder::default();
        out.push_str(&text);
        out.finish()
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for piece in &self.pieces {
            f.write_str(&piece.text)?;
        }
        Ok(())
    }
}

/// Builds a [`Code`]: generated text accumulates into one piece until a shared piece is pushed.
#[derive(Default)]
pub struct CodeBuilder {
    code: Code,
    pending: String,
}

impl CodeBuilder {
    /// Appends generated text.
    pub fn push_str(&mut self, text: &str) {
        self.pending.push_str(text);
    }

    /// Appends a shared piece (no copy).
    pub fn push_piece(&mut self, piece: &Piece) {
        self.flush();
        if !piece.is_empty() {
            self.code.len += piece.len();
            self.code.pieces.push(piece.clone());
        }
    }

    /// Appends every piece of `code`.
    pub fn push_code(&mut self, code: &Code) {
        for piece in &code.pieces {
            self.push_piece(piece);
        }
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let text = std::mem::take(&mut self.pending);
            self.code.len += text.len();
            self.code.pieces.push(Piece::new(text));
        }
    }

    /// The code built.
    pub fn finish(mut self) -> Code {
        self.flush();
        self.code.hash = Code::hash_pieces(&self.code.pieces);
        self.code
    }
}
