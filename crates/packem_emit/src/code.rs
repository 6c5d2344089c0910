//! Output code as a tree of shared pieces (a rope).
//!
//! A chunk is the concatenation of thousands of module renders. Concatenating (and hashing and
//! comparing) megabytes on every rebuild made the cost of a one-line edit grow with the size of
//! the bundle, so a chunk holds the pieces instead: each module's [`Piece`] is the `Arc` its
//! `rendered_module` memo holds, generated glue goes in between, and the writer writes the pieces
//! in order. Equality and the chunk's hash come from per-piece hashes, so a rebuild touches the
//! bytes of changed pieces only.
//!
//! A [`Code`] pushed into another is shared as one node, not copied piece by piece: a chunk
//! holds its runs' codes, and its source map its runs' lists. Flattening cost one reference
//! count per piece and level (three.js×10 with a source map: ~150,000 atomic increments and as
//! many decrements per rebuild, each a cache miss); a rebuild now touches the nodes on the path
//! to what changed and the chunk's list of runs.

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

/// Stored as its text (the persistent cache); the hash and the counts are computed again.
impl serde::Serialize for Piece {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Piece {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Piece::new)
    }
}

impl PartialEq for Piece {
    fn eq(&self, other: &Self) -> bool {
        // Unchanged pieces share their allocation, which `Arc`'s `eq` checks first.
        self.hash == other.hash && self.text == other.text
    }
}

/// The code of an output file: pieces written in order, some of them inside nested codes
/// shared with the memos that made them (see the module docs). Cloning is one reference count.
#[derive(Clone, Debug, Default)]
pub struct Code {
    /// `None` when empty.
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    items: Vec<Item>,
    len: usize,
    /// [`Code::hash128`], computed once when built (the writer asks for it on every rebuild).
    hash: u128,
}

/// An element of a [`Code`]: a piece, or a shared non-empty code.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
enum Item {
    Piece(Piece),
    Code(Code),
}

impl Item {
    fn len(&self) -> usize {
        match self {
            Item::Piece(piece) => piece.len(),
            Item::Code(code) => code.len(),
        }
    }
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Item::Piece(a), Item::Piece(b)) => a == b,
            (Item::Code(a), Item::Code(b)) => a == b,
            _ => false,
        }
    }
}

impl PartialEq for Code {
    /// Equal bytes split the same way: shared nodes compare by address, others by their hashes
    /// and then item by item (the same bytes split differently compare unequal, which only
    /// costs a memo's early cutoff).
    fn eq(&self, other: &Self) -> bool {
        match (&self.inner, &other.inner) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || (a.len == b.len && a.hash == b.hash && a.items == b.items),
            _ => false,
        }
    }
}

impl Eq for Code {}

/// Stored as its items, nested codes included: a code read back splits its bytes the same way,
/// so it has the same [`Code::hash128`] (which depends on the split) and compares equal.
impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(self.items(), serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let items = Vec::<Item>::deserialize(deserializer)?;
        let len = items.iter().map(Item::len).sum();
        Ok(Code::from_items(items, len))
    }
}

impl std::hash::Hash for Code {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u128(self.hash128());
    }
}

impl Code {
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, |inner| inner.len)
    }

    /// Whether the code is empty.
    pub fn is_empty(&self) -> bool {
        self.inner.is_none()
    }

    /// A 128-bit hash identifying the bytes, computed from the pieces' hashes and lengths
    /// (not a hash of the concatenation: two splits of the same bytes hash differently).
    pub fn hash128(&self) -> u128 {
        self.inner.as_ref().map_or(0, |inner| inner.hash)
    }

    fn items(&self) -> &[Item] {
        self.inner.as_ref().map_or(&[], |inner| &inner.items)
    }

    /// The code made of `items` (`len` bytes in all), as they are.
    fn from_items(items: Vec<Item>, len: usize) -> Code {
        if items.is_empty() {
            return Code::default();
        }
        let hash = Code::hash_items(&items);
        Code { inner: Some(Arc::new(Inner { items, len, hash })) }
    }

    /// The hash of `items` (0 for none, as `Code::default()` has).
    fn hash_items(items: &[Item]) -> u128 {
        if items.is_empty() {
            return 0;
        }
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for item in items {
            match item {
                Item::Piece(piece) => {
                    hasher.update(&[0]);
                    hasher.update(&piece.hash.to_le_bytes());
                    hasher.update(&(piece.len() as u64).to_le_bytes());
                }
                Item::Code(code) => {
                    hasher.update(&[1]);
                    hasher.update(&code.hash128().to_le_bytes());
                    hasher.update(&(code.len() as u64).to_le_bytes());
                }
            }
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
        for piece in self.pieces() {
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
        for piece in self.pieces().filter(|p| p.marked) {
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
        self.last_piece().is_none_or(|p| p.text.ends_with('\n'))
    }

    fn last_piece(&self) -> Option<&Piece> {
        match self.items().last()? {
            Item::Piece(piece) => Some(piece),
            Item::Code(code) => code.last_piece(),
        }
    }

    /// The pieces, in order (nested codes' pieces in place).
    pub fn pieces(&self) -> Pieces<'_> {
        Pieces { stack: vec![self.items().iter()] }
    }

    /// The code without its first character (such as a list's leading comma): only the nodes
    /// on the path to the first piece are made again.
    pub fn without_first_char(&self) -> Code {
        let mut out = CodeBuilder::default();
        let mut items = self.items().iter();
        match items.next() {
            Some(Item::Piece(piece)) => {
                let mut chars = piece.text.chars();
                chars.next();
                let rest = chars.as_str();
                if !rest.is_empty() {
                    out.push_piece(&Piece::new(rest));
                }
            }
            Some(Item::Code(code)) => out.push_code(&code.without_first_char()),
            None => {}
        }
        for item in items {
            out.push_item(item);
        }
        out.finish()
    }
}

/// The pieces of a [`Code`], depth first.
pub struct Pieces<'a> {
    stack: Vec<std::slice::Iter<'a, Item>>,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a Piece;

    fn next(&mut self) -> Option<&'a Piece> {
        loop {
            match self.stack.last_mut()?.next() {
                Some(Item::Piece(piece)) => return Some(piece),
                Some(Item::Code(code)) => self.stack.push(code.items().iter()),
                None => {
                    self.stack.pop();
                }
            }
        }
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
        for piece in self.pieces() {
            f.write_str(&piece.text)?;
        }
        Ok(())
    }
}

/// Builds a [`Code`]: generated text accumulates into one piece until a shared piece or code
/// is pushed.
#[derive(Default)]
pub struct CodeBuilder {
    items: Vec<Item>,
    len: usize,
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
            self.len += piece.len();
            self.items.push(Item::Piece(piece.clone()));
        }
    }

    /// Appends `code`, shared: as one node, or as its items when it has at most two (a module's
    /// map lists hold one piece each, and a node for them would only add a level).
    pub fn push_code(&mut self, code: &Code) {
        self.flush();
        let items = code.items();
        if items.len() <= 2 {
            for item in items {
                self.push_item(item);
            }
        } else {
            self.len += code.len();
            self.items.push(Item::Code(code.clone()));
        }
    }

    fn push_item(&mut self, item: &Item) {
        self.len += item.len();
        self.items.push(item.clone());
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let text = std::mem::take(&mut self.pending);
            self.len += text.len();
            self.items.push(Item::Piece(Piece::new(text)));
        }
    }

    /// The code built.
    pub fn finish(mut self) -> Code {
        self.flush();
        if let [Item::Code(only)] = &self.items[..] {
            return only.clone();
        }
        Code::from_items(self.items, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(parts: &[&str]) -> Code {
        let mut out = CodeBuilder::default();
        for part in parts {
            out.push_piece(&Piece::new(*part));
        }
        out.finish()
    }

    #[test]
    fn nested_codes_are_shared_and_read_in_order() {
        let run = code(&["a;", "b;", "c;"]);
        let mut chunk = CodeBuilder::default();
        chunk.push_str("(");
        chunk.push_code(&run);
        chunk.push_str(")");
        chunk.push_code(&run);
        let chunk = chunk.finish();
        assert_eq!(chunk.to_string(), "(a;b;c;)a;b;c;");
        assert_eq!(chunk.len(), 14);
        assert_eq!(chunk.pieces().count(), 8);
        // The run is one node of the chunk, not copied piece by piece.
        let inner = run.inner.as_ref().unwrap();
        assert_eq!(Arc::strong_count(inner), 3);
        assert!(!chunk.ends_with_newline());
        assert_eq!(chunk.without_first_char().to_string(), "a;b;c;)a;b;c;");
        assert_eq!(code(&["é,x", "y"]).without_first_char().to_string(), ",xy");
        // A code nested at its start loses the first byte of its first piece only.
        let mut outer = CodeBuilder::default();
        outer.push_code(&chunk);
        outer.push_str("\n");
        let outer = outer.finish();
        assert_eq!(outer.without_first_char().to_string(), "a;b;c;)a;b;c;\n");
        assert!(outer.ends_with_newline());
    }

    #[test]
    fn equality_follows_bytes_and_splits() {
        let a = code(&["x = 1;", "y = 2;", "z;"]);
        let b = code(&["x = 1;", "y = 2;", "z;"]);
        assert_eq!(a, b);
        assert_eq!(a.hash128(), b.hash128());
        let c = code(&["x = 1;", "y = 3;", "z;"]);
        assert_ne!(a, c);
        assert_ne!(a.hash128(), c.hash128());
        let mut nested = CodeBuilder::default();
        nested.push_code(&a);
        nested.push_str("!");
        let mut other = CodeBuilder::default();
        other.push_code(&b);
        other.push_str("!");
        assert_eq!(nested.finish(), other.finish());
        assert_eq!(Code::default(), code(&[""]));
        assert_eq!(Code::default().hash128(), 0);
    }
}
