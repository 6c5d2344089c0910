//! The in-memory view of one cache file ([`Store`]) and its commit (append or compaction).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, ErrorKind, Read, Seek, SeekFrom, Write};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use camino::{Utf8Path, Utf8PathBuf};

use crate::format::{
    self, FOOTER_LEN, HEADER_LEN, Header, INDEX_ENTRY_LEN, INDEX_HEAD_LEN, Index, IndexEntry, Parsed, RECORD_OVERHEAD,
};
use crate::lock::{self, Exclusive};
use crate::stamp::{FileStamp, now_ns};

/// Entries not used by any of the last `EVICT_AFTER_GENERATIONS` commits are dropped by the next
/// compaction (a generation is one commit that wrote the file, not one run: runs that change
/// nothing write nothing and do not age entries).
pub const EVICT_AFTER_GENERATIONS: u64 = 8;

/// How long a commit (or `clean`) waits for another process to release the cache's lock.
pub const COMMIT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// A commit compacts (rewrites the file) instead of appending when dead bytes — superseded
/// records, old indexes and footers, evictable entries — would exceed this percentage of the file.
pub const COMPACT_DEAD_PERCENT: u64 = 50;

/// How long [`Store::open`] waits for a committing process to release the lock before reading
/// anyway (an unlocked read is still safe: a torn file fails its checksums).
const OPEN_LOCK_PATIENCE: Duration = Duration::from_millis(500);

/// Largest payload a record can hold (its length field is a `u32`).
pub const MAX_PAYLOAD: usize = u32::MAX as usize - RECORD_OVERHEAD;

/// `(kind, key)`.
type Key = (u8, u128);

const USED: u8 = 1;
const VERIFIED: u8 = 2;
const BAD: u8 = 4;

/// A cache file loaded into memory: `(kind, key) -> payload` records. `Send + Sync`; `get` and
/// `put` take `&self`. Nothing is written until [`Store::commit`]; dropping a store writes nothing.
pub struct Store {
    path: Utf8PathBuf,
    build_id: u128,
    snapshot: Snapshot,
    /// Per index entry of `snapshot.parsed`: `USED | VERIFIED | BAD` bits.
    flags: Vec<AtomicU8>,
    puts: RwLock<HashMap<Key, Arc<[u8]>>>,
    has_puts: AtomicBool,
    saw_bad: AtomicBool,
    /// Set by the first [`Store::commit`]: a store commits once (see there).
    committed: AtomicBool,
}

/// What [`Store::open`] returns: the store (possibly empty) and why it is empty or partial, if it is.
#[derive(Debug)]
pub struct Opened {
    /// The store; empty when the file was missing or invalid.
    pub store: Store,
    /// Set when an existing file could not be used (fully or partly); meant for the user.
    pub warning: Option<String>,
}

/// What [`Store::commit`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitReport {
    /// Bytes written to disk (0 when there was nothing to write).
    pub bytes_written: u64,
    /// Whether the file was rewritten from scratch rather than appended to.
    pub compacted: bool,
    /// Entries in the file's index after the commit.
    pub entries: usize,
    /// Entries dropped by this commit's compaction (unused for too long, or corrupt).
    pub evicted: usize,
    /// File size after the commit.
    pub file_size: u64,
    /// The file's generation after the commit.
    pub generation: u64,
}

/// A payload returned by [`Store::get`]: borrowed from the file read at open, or shared with a
/// `put` of this run. Dereferences to `[u8]`.
#[derive(Clone)]
pub struct Payload<'a>(PayloadInner<'a>);

#[derive(Clone)]
enum PayloadInner<'a> {
    Stored(&'a [u8]),
    Put(Arc<[u8]>),
}

impl Deref for Payload<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            PayloadInner::Stored(s) => s,
            PayloadInner::Put(a) => a,
        }
    }
}

impl AsRef<[u8]> for Payload<'_> {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<Payload<'_>> for Arc<[u8]> {
    /// Shares a put payload; copies a stored one.
    fn from(p: Payload<'_>) -> Arc<[u8]> {
        match p.0 {
            PayloadInner::Stored(s) => Arc::from(s),
            PayloadInner::Put(a) => a,
        }
    }
}

impl fmt::Debug for Payload<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Payload({} bytes)", self.len())
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.path).field("entries", &self.len()).finish_non_exhaustive()
    }
}

/// The file as read at some point.
struct Snapshot {
    /// Its bytes (empty when missing or unreadable).
    data: Vec<u8>,
    /// `stat` of the file that was read; `None` when it was missing.
    stamp: Option<FileStamp>,
    /// The decoded file when it is valid (possibly recovered) for our build id.
    parsed: Option<Parsed>,
    /// The file exists but must be rewritten: invalid, another build's, or with a torn tail.
    rewrite: bool,
}

impl Snapshot {
    fn missing() -> Snapshot {
        Snapshot { data: Vec::new(), stamp: None, parsed: None, rewrite: false }
    }
    fn unusable() -> Snapshot {
        Snapshot { data: Vec::new(), stamp: None, parsed: None, rewrite: true }
    }
    fn generation(&self) -> u64 {
        self.parsed.as_ref().map_or(0, |p| p.index.generation)
    }
}

/// Reads and decodes `path` (no locking; see [`Store::open`]). Returns a warning when the file
/// exists but cannot be (fully) used.
fn read_snapshot(path: &Utf8Path, build_id: u128) -> (Snapshot, Option<String>) {
    let warn = |reason: &dyn fmt::Display| Some(format!("ignoring cache file {path}: {reason}"));
    // Only regular files: opening a FIFO or reading a device at the cache path could never end.
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return (Snapshot::unusable(), warn(&"not a regular file")),
        Err(e) if e.kind() == ErrorKind::NotFound => return (Snapshot::missing(), None),
        Err(e) => return (Snapshot::unusable(), warn(&e)),
    }
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return (Snapshot::missing(), None),
        Err(e) => return (Snapshot::unusable(), warn(&e)),
    };
    let mut data = Vec::new();
    if let Err(e) = file.read_to_end(&mut data) {
        return (Snapshot::unusable(), warn(&e));
    }
    let stamp = file.metadata().ok().map(|m| FileStamp { size: data.len() as u64, ..FileStamp::from_metadata(&m) });
    let mut snapshot = Snapshot { data, stamp, parsed: None, rewrite: true };
    let warning = match format::parse(&snapshot.data) {
        Err(e) => warn(&e),
        Ok(p) if p.header.build_id != build_id => {
            warn(&format_args!("written by another packem build ({:032x})", p.header.build_id))
        }
        Ok(p) => {
            let warning = p.recovered.as_ref().map(|why| {
                format!(
                    "cache file {path} was damaged ({why}); kept the {} entries of an earlier commit",
                    p.index.entries.len()
                )
            });
            snapshot.rewrite = warning.is_some();
            snapshot.parsed = Some(p);
            warning
        }
    };
    (snapshot, warning)
}

/// Whether the file at `path` is still the one `snapshot` was read from (same inode, length and
/// last bytes — appends change the length, compactions the inode and footer).
fn unchanged(path: &Utf8Path, snapshot: &Snapshot) -> bool {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return false,
        Err(e) => return e.kind() == ErrorKind::NotFound && snapshot.stamp.is_none(),
    }
    let Ok(mut file) = File::open(path) else { return false };
    let (Some(old), Ok(meta)) = (snapshot.stamp, file.metadata()) else { return false };
    let now = FileStamp::from_metadata(&meta);
    if (now.size, now.ino, now.dev) != (old.size, old.ino, old.dev) {
        return false;
    }
    let Some(old_tail) = snapshot.data.len().checked_sub(FOOTER_LEN).and_then(|at| snapshot.data.get(at..)) else {
        return snapshot.data.is_empty() && now.size == 0;
    };
    let mut tail = [0u8; FOOTER_LEN];
    file.seek(SeekFrom::End(-(FOOTER_LEN as i64))).is_ok() && file.read_exact(&mut tail).is_ok() && tail == old_tail
}

/// Where a record of the new index comes from.
#[derive(Clone)]
enum Source {
    /// An existing record (entry of the source snapshot's index).
    Base(IndexEntry),
    /// A payload put by this run.
    Put(Arc<[u8]>),
}

/// One entry of the index a commit writes.
struct Item {
    last_used: u64,
    source: Source,
}

impl Item {
    fn record_size(&self) -> u64 {
        match &self.source {
            Source::Base(e) => e.record_size(),
            Source::Put(p) => (RECORD_OVERHEAD + p.len()) as u64,
        }
    }
}

impl Store {
    /// Opens `path` for a binary identified by `build_id` (a caller-computed u128: version + exe
    /// identity). A missing file gives an empty store and no warning; an invalid file or one from
    /// another build id gives an empty store and a warning (the next commit rewrites it); a file
    /// whose tail was torn by an interrupted commit gives the entries of the last complete commit
    /// and a warning. Reads the whole file into memory under a shared lock (waiting at most
    /// 0.5 s for a committing process, then reading anyway). Never fails or panics.
    pub fn open(path: &Utf8Path, build_id: u128) -> Opened {
        let _span = tracing::debug_span!("cache_open", %path).entered();
        let (snapshot, warning) = match std::fs::metadata(path) {
            Err(e) if e.kind() == ErrorKind::NotFound => (Snapshot::missing(), None),
            Ok(m) if !m.is_file() => read_snapshot(path, build_id),
            _ => {
                let _lock = lock::shared_bounded(path, OPEN_LOCK_PATIENCE);
                read_snapshot(path, build_id)
            }
        };
        if let Some(w) = &warning {
            tracing::debug!("{w}");
        }
        let entries = snapshot.parsed.as_ref().map_or(0, |p| p.index.entries.len());
        tracing::debug!(entries, bytes = snapshot.data.len(), "opened cache");
        let store = Store {
            path: path.to_owned(),
            build_id,
            flags: (0..entries).map(|_| AtomicU8::new(0)).collect(),
            snapshot,
            puts: RwLock::new(HashMap::new()),
            has_puts: AtomicBool::new(false),
            saw_bad: AtomicBool::new(false),
            committed: AtomicBool::new(false),
        };
        Opened { store, warning }
    }

    /// The payload stored for `(kind, key)`: a record put by this run, or one read at open whose
    /// own checksum, length, kind and key check out (checked once per entry; a bad record is a
    /// miss, is logged, and makes the next commit compact it away). Marks the entry used by this
    /// run. Callable from many threads at once.
    pub fn get(&self, kind: u8, key: u128) -> Option<Payload<'_>> {
        if self.has_puts.load(Ordering::Acquire)
            && let Some(p) = self.puts.read().unwrap_or_else(PoisonError::into_inner).get(&(kind, key))
        {
            return Some(Payload(PayloadInner::Put(p.clone())));
        }
        let parsed = self.snapshot.parsed.as_ref()?;
        let i = parsed.index.find(kind, key)?;
        let (entry, flag) = (parsed.index.entries.get(i)?, self.flags.get(i)?);
        let state = flag.load(Ordering::Relaxed);
        if state & BAD != 0 {
            return None;
        }
        let record = if state & VERIFIED != 0 {
            format::record_bytes(&self.snapshot.data, entry)
        } else {
            format::checked_record(&self.snapshot.data, entry)
        };
        let Some(record) = record else {
            tracing::warn!(path = %self.path, kind, key = %format_args!("{key:032x}"), "corrupt cache record ignored");
            flag.fetch_or(BAD, Ordering::Relaxed);
            self.saw_bad.store(true, Ordering::Relaxed);
            return None;
        };
        if state & (USED | VERIFIED) != USED | VERIFIED {
            flag.fetch_or(USED | VERIFIED, Ordering::Relaxed);
        }
        Some(Payload(PayloadInner::Stored(format::record_payload(record))))
    }

    /// Adds or replaces the record for `(kind, key)`; later `get`s of this store see it. Payloads
    /// larger than [`MAX_PAYLOAD`] are ignored (logged).
    pub fn put(&self, kind: u8, key: u128, payload: Vec<u8>) {
        if payload.len() > MAX_PAYLOAD {
            tracing::warn!(len = payload.len(), "cache payload too large; not cached");
            return;
        }
        self.puts.write().unwrap_or_else(PoisonError::into_inner).insert((kind, key), payload.into());
        self.has_puts.store(true, Ordering::Release);
    }

    /// Number of distinct keys: those read at open plus those put by this run.
    pub fn len(&self) -> usize {
        let base = self.snapshot.parsed.as_ref().map(|p| &p.index);
        let puts = self.puts.read().unwrap_or_else(PoisonError::into_inner);
        let new = puts.keys().filter(|(kind, key)| base.and_then(|i| i.find(*kind, *key)).is_none()).count();
        base.map_or(0, |i| i.entries.len()) + new
    }

    /// Whether [`Store::commit`] was called (it is then only read from).
    pub fn is_committed(&self) -> bool {
        self.committed.load(Ordering::Acquire)
    }

    /// Whether the store holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes what this run added and its use marks, as a new generation. Writes nothing when the
    /// run put nothing and every entry it used was already marked by the file's last generation.
    /// Otherwise takes `<path>.lock`, waiting at most [`COMMIT_PATIENCE`] (if another process
    /// still holds it, nothing is written and an `Err` says so), rebuilds on the file's current state if another process
    /// committed since `open`, and appends new records + index + footer, or compacts into a fresh
    /// file renamed over the old one (see the crate docs for when). Any I/O error leaves the old
    /// file valid and is returned as `Err(warning)`.
    ///
    /// Takes `&self` (a store shared with readers can be committed): the puts move into the file,
    /// so they are no longer served by this store afterwards (a miss, never wrong bytes). A store
    /// commits once: its use marks and its view of the file are those of its open, so a second
    /// commit would write them again. A second call is an `Err`; open the file again instead.
    pub fn commit(&self) -> Result<CommitReport, String> {
        let _span = tracing::debug_span!("cache_commit", path = %self.path).entered();
        if self.committed.swap(true, Ordering::AcqRel) {
            return Err(format!(
                "cache {}: this store was already committed; open the file again to commit more",
                self.path
            ));
        }
        let puts = std::mem::take(&mut *self.puts.write().unwrap_or_else(PoisonError::into_inner));
        self.has_puts.store(false, Ordering::Release);
        let original = &self.snapshot;
        let saw_bad = self.saw_bad.load(Ordering::Relaxed);
        let flags: Vec<u8> = self.flags.iter().map(|f| f.load(Ordering::Relaxed)).collect();
        let used_keys: HashMap<Key, ()> = original
            .parsed
            .iter()
            .flat_map(|p| p.index.entries.iter().zip(&flags))
            .filter(|(_, f)| *f & USED != 0)
            .map(|(e, _)| ((e.kind, e.key), ()))
            .collect();

        let stale_marks = original.parsed.as_ref().is_some_and(|p| {
            p.index.entries.iter().zip(&flags).any(|(e, f)| f & USED != 0 && e.last_used != p.index.generation)
        });
        if puts.is_empty() && !saw_bad && !original.rewrite && !stale_marks {
            tracing::debug!("nothing to write");
            return Ok(CommitReport {
                entries: original.parsed.as_ref().map_or(0, |p| p.index.entries.len()),
                file_size: original.data.len() as u64,
                generation: original.generation(),
                ..CommitReport::default()
            });
        }

        let path = self.path.as_path();
        let dir = match path.parent() {
            Some(d) if !d.as_str().is_empty() => d,
            _ => Utf8Path::new("."),
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create cache directory {dir}: {e}; cache not saved"))?;
        let _lock = match lock::exclusive_bounded(path, COMMIT_PATIENCE).map_err(|e| format!("{e}; cache not saved"))? {
            Exclusive::Locked(guard) => guard,
            Exclusive::Busy => {
                return Err(format!("cache {path} is locked by another packem process; this run's cache not saved"));
            }
        };

        // The state to build on: the file as it is now if another process committed since open.
        let current = if unchanged(path, original) {
            None
        } else {
            tracing::debug!("cache file changed since open; rebuilding on its current state");
            Some(read_snapshot(path, self.build_id).0)
        };
        let disk = current.as_ref().unwrap_or(original);
        let (source, source_is_original) = match &current {
            Some(c) if c.parsed.is_some() => (c, false),
            _ => (original, true),
        };
        let can_append = disk.parsed.is_some() && !disk.rewrite && std::ptr::eq(disk, source);

        let new_gen = source.generation() + 1;
        let mut items: BTreeMap<Key, Item> = BTreeMap::new();
        let mut bad = 0;
        if let Some(p) = &source.parsed {
            for (i, e) in p.index.entries.iter().enumerate() {
                if source_is_original && flags.get(i).is_some_and(|f| f & BAD != 0) {
                    bad += 1;
                    continue;
                }
                let last_used = if used_keys.contains_key(&(e.kind, e.key)) { new_gen } else { e.last_used };
                items.insert((e.kind, e.key), Item { last_used, source: Source::Base(*e) });
            }
        }
        for ((kind, key), payload) in puts {
            items.insert((kind, key), Item { last_used: new_gen, source: Source::Put(payload) });
        }
        let evictable = |it: &Item| new_gen - it.last_used > EVICT_AFTER_GENERATIONS;

        let mut compact = !can_append || bad > 0;
        if !compact {
            let put_bytes: u64 =
                items.values().filter(|it| matches!(it.source, Source::Put(_))).map(Item::record_size).sum();
            let new_len = disk.data.len() as u64 + put_bytes + index_size(items.len()) + FOOTER_LEN as u64;
            let kept = items.values().filter(|it| !evictable(it));
            let live = HEADER_LEN as u64
                + kept.clone().map(Item::record_size).sum::<u64>()
                + index_size(kept.count())
                + FOOTER_LEN as u64;
            compact = new_len.saturating_sub(live) * 100 > new_len * COMPACT_DEAD_PERCENT;
        }

        let report = if compact {
            let created_at_ns = source.parsed.as_ref().map_or_else(now_ns, |p| p.header.created_at_ns);
            let header = Header { build_id: self.build_id, created_at_ns };
            let before = items.len();
            items.retain(|_, it| !evictable(it));
            let evicted = before - items.len() + bad;
            compact_to(path, dir, &header, &source.data, new_gen, items, evicted)?
        } else {
            append_to(path, disk, new_gen, items)?
        };
        tracing::debug!(?report, "committed cache");
        Ok(report)
    }
}

/// Bytes of an index with `entries` entries.
fn index_size(entries: usize) -> u64 {
    (INDEX_HEAD_LEN + entries * INDEX_ENTRY_LEN) as u64
}

/// Builds the index of `items` (sorted by key), given each record's offset.
fn build_index(generation: u64, items: &[(Key, u64, u32, u64)]) -> Index {
    Index {
        generation,
        written_at_ns: now_ns(),
        entries: items
            .iter()
            .map(|&((kind, key), offset, len, last_used)| IndexEntry { kind, key, offset, len, last_used })
            .collect(),
    }
}

fn payload_len(p: &[u8]) -> u32 {
    u32::try_from(p.len()).unwrap_or(u32::MAX)
}

/// Appends this run's records, the new index and the footer to the file `disk` was read from.
/// On a write error the file is truncated back to its old length.
fn append_to(
    path: &Utf8Path,
    disk: &Snapshot,
    generation: u64,
    items: BTreeMap<Key, Item>,
) -> Result<CommitReport, String> {
    let old_len = disk.data.len() as u64;
    let header_bytes = disk.data.get(..HEADER_LEN).ok_or("cache file too short")?;
    let mut buf = Vec::new();
    let mut rows = Vec::with_capacity(items.len());
    for (k, it) in &items {
        let (offset, len) = match &it.source {
            Source::Base(e) => (e.offset, e.len),
            Source::Put(p) => {
                let offset = old_len + buf.len() as u64;
                format::encode_record(k.0, k.1, p, &mut buf);
                (offset, payload_len(p))
            }
        };
        rows.push((*k, offset, len, it.last_used));
    }
    let index = build_index(generation, &rows);
    format::encode_index_and_footer(header_bytes, old_len + buf.len() as u64, &index, &mut buf)?;

    let fail = |e: &dyn fmt::Display| format!("cannot write cache file {path}: {e}; this run's cache not saved");
    let mut file = OpenOptions::new().write(true).open(path).map_err(|e| fail(&e))?;
    let len_now = file.metadata().map_err(|e| fail(&e))?.len();
    if len_now != old_len {
        return Err(fail(&"file changed while locked"));
    }
    let written = file.seek(SeekFrom::Start(old_len)).and_then(|_| file.write_all(&buf)).and_then(|()| file.flush());
    if let Err(e) = written {
        // Leave the last complete commit as the file's end (the footer check would catch the
        // torn tail anyway, but then the next open would have to recover and compact).
        let _ = file.set_len(old_len);
        return Err(fail(&e));
    }
    Ok(CommitReport {
        bytes_written: buf.len() as u64,
        compacted: false,
        entries: index.entries.len(),
        evicted: 0,
        file_size: old_len + buf.len() as u64,
        generation,
    })
}

/// Distinguishes temp files of concurrent compactions within one process (across processes, the
/// lock and the pid already do).
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// `<file name>.tmp.` — prefix of compaction temp files next to the cache file.
pub(crate) fn temp_prefix(path: &Utf8Path) -> String {
    format!("{}.tmp.", path.file_name().unwrap_or("cache"))
}

/// Removes temp files left by killed compactions. Only call with the exclusive lock held: then no
/// other compaction of this cache can be running.
pub(crate) fn remove_stale_temps(path: &Utf8Path, dir: &Utf8Path) {
    let prefix = temp_prefix(path);
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Writes a fresh file holding `items` (records copied from `source_data` after checking them, or
/// this run's puts) to a temp file in `dir` and renames it over `path`.
fn compact_to(
    path: &Utf8Path,
    dir: &Utf8Path,
    header: &Header,
    source_data: &[u8],
    generation: u64,
    items: BTreeMap<Key, Item>,
    mut evicted: usize,
) -> Result<CommitReport, String> {
    remove_stale_temps(path, dir);
    let temp = dir.join(format!(
        "{}{}.{}",
        temp_prefix(path),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let fail = |e: &dyn fmt::Display| format!("cannot write cache file {path}: {e}; this run's cache not saved");
    let file = OpenOptions::new().write(true).create_new(true).open(&temp).map_err(|e| fail(&e))?;
    let result = (|| -> Result<CommitReport, String> {
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut head = Vec::with_capacity(HEADER_LEN);
        format::encode_header(header, &mut head);
        out.write_all(&head).map_err(|e| fail(&e))?;
        let mut offset = head.len() as u64;
        let mut rows = Vec::with_capacity(items.len());
        let mut scratch = Vec::new();
        for (k, it) in &items {
            let (record, len) = match &it.source {
                Source::Base(e) => match format::checked_record(source_data, e) {
                    Some(r) => (r, e.len),
                    None => {
                        evicted += 1;
                        continue;
                    }
                },
                Source::Put(p) => {
                    scratch.clear();
                    format::encode_record(k.0, k.1, p, &mut scratch);
                    (scratch.as_slice(), payload_len(p))
                }
            };
            out.write_all(record).map_err(|e| fail(&e))?;
            rows.push((*k, offset, len, it.last_used));
            offset += record.len() as u64;
        }
        let index = build_index(generation, &rows);
        let mut tail = Vec::new();
        format::encode_index_and_footer(&head, offset, &index, &mut tail)?;
        out.write_all(&tail).map_err(|e| fail(&e))?;
        out.into_inner().map_err(|e| fail(e.error()))?;
        let size = offset + tail.len() as u64;
        Ok(CommitReport {
            bytes_written: size,
            compacted: true,
            entries: index.entries.len(),
            evicted,
            file_size: size,
            generation,
        })
    })();
    let result = result.and_then(|r| std::fs::rename(&temp, path).map(|()| r).map_err(|e| fail(&e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}
