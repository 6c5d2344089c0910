//! Encoding and decoding of the cache file: header, records, index and footer (see the crate docs
//! for the layout). Everything here is pure (byte slices in, values out); decoding never panics and
//! bounds-checks every slice.

use xxhash_rust::xxh3::{Xxh3Default, xxh3_64};

/// First bytes of every cache file.
pub(crate) const MAGIC: &[u8; 8] = b"PKMCACHE";
/// Last bytes of every complete cache file.
pub(crate) const END_MAGIC: &[u8; 8] = b"PKMCEND\0";
/// Bumped whenever the layout changes; another value makes the file invalid (rewritten on commit).
pub(crate) const FORMAT_VERSION: u32 = 1;

/// `magic | format u32 | reserved u32 | build_id u128 | created_at_ns i64`.
pub(crate) const HEADER_LEN: usize = 8 + 4 + 4 + 16 + 8;
/// `len u32 | kind u8 | key u128` before the payload.
pub(crate) const RECORD_HEAD_LEN: usize = 4 + 1 + 16;
/// Record bytes besides the payload: head plus the trailing `xxh3_64` checksum.
pub(crate) const RECORD_OVERHEAD: usize = RECORD_HEAD_LEN + 8;
/// `generation u64 | written_at_ns i64 | count u32` before the index entries.
pub(crate) const INDEX_HEAD_LEN: usize = 8 + 8 + 4;
/// `kind u8 | key u128 | offset u64 | len u32 | last_used u64`.
pub(crate) const INDEX_ENTRY_LEN: usize = 1 + 16 + 8 + 4 + 8;
/// `index_offset u64 | index_len u32 | checksum u64 | end magic`.
pub(crate) const FOOTER_LEN: usize = 8 + 4 + 8 + 8;
/// How many earlier footers [`parse`] tries when the last bytes are not a valid footer.
const MAX_RECOVERY_CANDIDATES: usize = 64;

/// The file header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub build_id: u128,
    pub created_at_ns: i64,
}

/// One index entry: where the record for `(kind, key)` lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub kind: u8,
    pub key: u128,
    /// Offset of the record's first byte (its `len` field).
    pub offset: u64,
    /// Payload length.
    pub len: u32,
    /// Generation of the last commit that used or wrote this entry.
    pub last_used: u64,
}

impl IndexEntry {
    /// Total size of the record this entry points at.
    pub(crate) fn record_size(&self) -> u64 {
        RECORD_OVERHEAD as u64 + u64::from(self.len)
    }
}

/// The index written by one commit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Index {
    pub generation: u64,
    pub written_at_ns: i64,
    /// Sorted by `(kind, key)`, no duplicates.
    pub entries: Vec<IndexEntry>,
}

impl Index {
    /// Position of `(kind, key)` in `entries`.
    pub(crate) fn find(&self, kind: u8, key: u128) -> Option<usize> {
        self.entries.binary_search_by(|e| (e.kind, e.key).cmp(&(kind, key))).ok()
    }
}

/// A decoded file.
#[derive(Clone, Debug)]
pub(crate) struct Parsed {
    pub header: Header,
    pub index: Index,
    /// Why the last bytes were not a valid footer, when an earlier footer was used instead.
    pub recovered: Option<String>,
}

/// Appends a header.
pub(crate) fn encode_header(header: &Header, out: &mut Vec<u8>) {
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&header.build_id.to_le_bytes());
    out.extend_from_slice(&header.created_at_ns.to_le_bytes());
}

/// Appends a record; the caller guarantees `payload.len() <= u32::MAX`.
pub(crate) fn encode_record(kind: u8, key: u128, payload: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.push(kind);
    out.extend_from_slice(&key.to_le_bytes());
    out.extend_from_slice(payload);
    let sum = xxh3_64(&out[start..]);
    out.extend_from_slice(&sum.to_le_bytes());
}

/// Appends `index` and the footer. `header_bytes` are the file's first [`HEADER_LEN`] bytes and
/// `index_offset` the file offset where the index starts (`out`'s end maps to it).
/// Fails when the index would not fit the footer's `u32` length.
pub(crate) fn encode_index_and_footer(
    header_bytes: &[u8],
    index_offset: u64,
    index: &Index,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let count = u32::try_from(index.entries.len()).map_err(|_| "too many cache entries".to_string())?;
    let index_len = INDEX_HEAD_LEN + index.entries.len() * INDEX_ENTRY_LEN;
    let index_len = u32::try_from(index_len).map_err(|_| "cache index too large".to_string())?;
    let start = out.len();
    out.extend_from_slice(&index.generation.to_le_bytes());
    out.extend_from_slice(&index.written_at_ns.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    for e in &index.entries {
        out.push(e.kind);
        out.extend_from_slice(&e.key.to_le_bytes());
        out.extend_from_slice(&e.offset.to_le_bytes());
        out.extend_from_slice(&e.len.to_le_bytes());
        out.extend_from_slice(&e.last_used.to_le_bytes());
    }
    let mut footer = [0u8; 12];
    footer[..8].copy_from_slice(&index_offset.to_le_bytes());
    footer[8..].copy_from_slice(&index_len.to_le_bytes());
    let sum = footer_checksum(header_bytes, &out[start..], &footer);
    out.extend_from_slice(&footer);
    out.extend_from_slice(&sum.to_le_bytes());
    out.extend_from_slice(END_MAGIC);
    Ok(())
}

/// `xxh3_64(header ++ index ++ index_offset ++ index_len)`.
fn footer_checksum(header: &[u8], index: &[u8], footer_fields: &[u8]) -> u64 {
    let mut h = Xxh3Default::new();
    h.update(header);
    h.update(index);
    h.update(footer_fields);
    h.digest()
}

/// Little-endian reader over a slice that reports running past the end instead of panicking.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let end = self.pos.checked_add(N)?;
        let bytes: [u8; N] = self.data.get(self.pos..end)?.try_into().ok()?;
        self.pos = end;
        Some(bytes)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_le_bytes)
    }
    fn u128(&mut self) -> Option<u128> {
        self.take().map(u128::from_le_bytes)
    }
}

/// Decodes the header (magic and format checked; the build id is the caller's business).
pub(crate) fn decode_header(data: &[u8]) -> Result<Header, String> {
    let mut r = Reader::new(data);
    let magic = r.take::<8>().ok_or("file too short for a header")?;
    if &magic != MAGIC {
        return Err("not a packem cache file (bad magic)".into());
    }
    let format = r.u32().ok_or("file too short for a header")?;
    if format != FORMAT_VERSION {
        return Err(format!("cache format {format} (expected {FORMAT_VERSION})"));
    }
    let _reserved = r.u32().ok_or("file too short for a header")?;
    let build_id = r.u128().ok_or("file too short for a header")?;
    let created_at_ns = r.i64().ok_or("file too short for a header")?;
    Ok(Header { build_id, created_at_ns })
}

/// Decodes a whole file. When its last bytes are not a valid footer (an interrupted append), the
/// newest earlier valid footer is used and `recovered` says why; no valid footer at all is an error.
pub(crate) fn parse(data: &[u8]) -> Result<Parsed, String> {
    if data.is_empty() {
        return Err("empty cache file".into());
    }
    let header = decode_header(data)?;
    let first_err = match parse_at(data, data.len(), header) {
        Ok(parsed) => return Ok(parsed),
        Err(e) => e,
    };
    // Look for an earlier footer: the end magic at the end of a previous commit.
    let mut candidates = 0;
    let mut end = data.len().saturating_sub(1);
    let min_end = HEADER_LEN + INDEX_HEAD_LEN + FOOTER_LEN;
    while end >= min_end && candidates < MAX_RECOVERY_CANDIDATES {
        let Some(pos) = rfind(data.get(..end).unwrap_or_default(), END_MAGIC) else { break };
        let footer_end = pos + END_MAGIC.len();
        if footer_end >= min_end {
            candidates += 1;
            if let Ok(mut parsed) = parse_at(data, footer_end, header) {
                parsed.recovered = Some(first_err);
                return Ok(parsed);
            }
        }
        end = footer_end.saturating_sub(1);
    }
    Err(first_err)
}

/// Last position of `needle` in `hay`.
fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut end = hay.len();
    while end >= needle.len() {
        let pos = hay.get(..end - needle.len() + 1)?.iter().rposition(|&b| b == first)?;
        if hay.get(pos..pos + needle.len()) == Some(needle) {
            return Some(pos);
        }
        end = pos + needle.len() - 1;
    }
    None
}

/// Decodes the file as if it ended at `end` (the end of a footer).
fn parse_at(data: &[u8], end: usize, header: Header) -> Result<Parsed, String> {
    let data = data.get(..end).ok_or("file too short")?;
    if data.len() < HEADER_LEN + INDEX_HEAD_LEN + FOOTER_LEN {
        return Err("file too short for a footer (truncated)".into());
    }
    let footer_start = data.len() - FOOTER_LEN;
    let mut r = Reader::new(data.get(footer_start..).unwrap_or_default());
    let index_offset = r.u64().ok_or("bad footer")?;
    let index_len = r.u32().ok_or("bad footer")?;
    let sum = r.u64().ok_or("bad footer")?;
    let magic = r.take::<8>().ok_or("bad footer")?;
    if &magic != END_MAGIC {
        return Err("no end marker (truncated or interrupted write)".into());
    }
    let index_start = usize::try_from(index_offset).map_err(|_| "bad index offset")?;
    let index_end = index_start.checked_add(index_len as usize).ok_or("bad index offset")?;
    if index_start < HEADER_LEN || index_end != footer_start {
        return Err("index location does not match the file length".into());
    }
    let header_bytes = data.get(..HEADER_LEN).ok_or("file too short")?;
    let index_bytes = data.get(index_start..index_end).ok_or("bad index offset")?;
    let footer_fields = data.get(footer_start..footer_start + 12).ok_or("bad footer")?;
    if footer_checksum(header_bytes, index_bytes, footer_fields) != sum {
        return Err("header/index checksum mismatch (corrupted)".into());
    }
    let index = decode_index(index_bytes, index_offset)?;
    Ok(Parsed { header, index, recovered: None })
}

/// Decodes an index whose bytes passed the checksum, still checking every entry's bounds and order.
fn decode_index(bytes: &[u8], index_offset: u64) -> Result<Index, String> {
    let mut r = Reader::new(bytes);
    let bad = || "malformed index".to_string();
    let generation = r.u64().ok_or_else(bad)?;
    let written_at_ns = r.i64().ok_or_else(bad)?;
    let count = r.u32().ok_or_else(bad)? as usize;
    if count.checked_mul(INDEX_ENTRY_LEN).and_then(|n| n.checked_add(INDEX_HEAD_LEN)) != Some(bytes.len()) {
        return Err(bad());
    }
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let e = IndexEntry {
            kind: r.u8().ok_or_else(bad)?,
            key: r.u128().ok_or_else(bad)?,
            offset: r.u64().ok_or_else(bad)?,
            len: r.u32().ok_or_else(bad)?,
            last_used: r.u64().ok_or_else(bad)?,
        };
        let end = e.offset.checked_add(e.record_size()).ok_or_else(bad)?;
        if e.offset < HEADER_LEN as u64 || end > index_offset || e.last_used > generation {
            return Err(bad());
        }
        if let Some(prev) = entries.last().map(|p: &IndexEntry| (p.kind, p.key))
            && prev >= (e.kind, e.key)
        {
            return Err(bad());
        }
        entries.push(e);
    }
    Ok(Index { generation, written_at_ns, entries })
}

/// The whole record `entry` points at (`len` through checksum) if it is intact: in bounds, same
/// length, kind and key as the entry, and its checksum matches.
pub(crate) fn checked_record<'a>(data: &'a [u8], entry: &IndexEntry) -> Option<&'a [u8]> {
    let record = record_bytes(data, entry)?;
    let mut r = Reader::new(record);
    if r.u32()? != entry.len || r.u8()? != entry.kind || r.u128()? != entry.key {
        return None;
    }
    let body_len = record.len() - 8;
    let sum = u64::from_le_bytes(record.get(body_len..)?.try_into().ok()?);
    (xxh3_64(record.get(..body_len)?) == sum).then_some(record)
}

/// The bytes of the record `entry` points at, bounds-checked but not verified (for records
/// [`checked_record`] already accepted).
pub(crate) fn record_bytes<'a>(data: &'a [u8], entry: &IndexEntry) -> Option<&'a [u8]> {
    let start = usize::try_from(entry.offset).ok()?;
    let end = start.checked_add(usize::try_from(entry.record_size()).ok()?)?;
    data.get(start..end)
}

/// The payload inside a record returned by [`checked_record`].
pub(crate) fn record_payload(record: &[u8]) -> &[u8] {
    record.get(RECORD_HEAD_LEN..record.len().saturating_sub(8)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(entries: &[(u8, u128, &[u8])], generation: u64) -> Vec<u8> {
        let mut out = Vec::new();
        encode_header(&Header { build_id: 7, created_at_ns: 1 }, &mut out);
        let mut index = Index { generation, written_at_ns: 2, entries: vec![] };
        for &(kind, key, payload) in entries {
            let offset = out.len() as u64;
            encode_record(kind, key, payload, &mut out);
            index.entries.push(IndexEntry { kind, key, offset, len: payload.len() as u32, last_used: generation });
        }
        index.entries.sort_by_key(|e| (e.kind, e.key));
        let header = out[..HEADER_LEN].to_vec();
        encode_index_and_footer(&header, out.len() as u64, &index, &mut out).unwrap();
        out
    }

    #[test]
    fn round_trip() {
        let data = file(&[(1, 5, b"hello"), (0, 9, b""), (1, 2, b"x")], 3);
        let parsed = parse(&data).unwrap();
        assert_eq!(parsed.header, Header { build_id: 7, created_at_ns: 1 });
        assert_eq!(parsed.index.generation, 3);
        assert!(parsed.recovered.is_none());
        let keys: Vec<_> = parsed.index.entries.iter().map(|e| (e.kind, e.key)).collect();
        assert_eq!(keys, vec![(0, 9), (1, 2), (1, 5)]);
        let e = parsed.index.entries[parsed.index.find(1, 5).unwrap()];
        assert_eq!(record_payload(checked_record(&data, &e).unwrap()), b"hello");
        let wrong_key = IndexEntry { key: 6, ..e };
        assert!(checked_record(&data, &wrong_key).is_none());
    }

    #[test]
    fn recovers_previous_footer() {
        let mut data = file(&[(1, 5, b"hello")], 1);
        data.extend_from_slice(b"garbage tail PKMCEND\0 more");
        let parsed = parse(&data).unwrap();
        assert!(parsed.recovered.is_some());
        assert_eq!(parsed.index.entries.len(), 1);
    }

    #[test]
    fn rfind_finds_last() {
        assert_eq!(rfind(b"abcabc", b"bc"), Some(4));
        assert_eq!(rfind(b"abcab", b"bc"), Some(1));
        assert_eq!(rfind(b"b", b"bc"), None);
        assert_eq!(rfind(b"", b"bc"), None);
    }
}
