#![allow(clippy::disallowed_methods)] // this crate owns the cache file (see clippy.toml)
//! The on-disk store of packem's persistent cache: one file per cache holding records
//! `(kind: u8, key: u128) -> payload bytes`. Callers compute keys (xxh3-128 of content + options)
//! and encode payloads themselves; the store only keeps bytes. It is only a cache: every fault
//! degrades to an empty or partial store plus a warning string, never a panic, a hang, or wrong
//! bytes for a key.
//!
//! # File format
//! All integers little-endian. A file is a header, records appended by successive commits, and
//! after each commit an index and a footer; only the **last** index/footer is live.
//! ```text
//! header  (40 B): "PKMCACHE" | format u32 | reserved u32 (0) | build_id u128 | created_at_ns i64
//! record  (29 B + payload): len u32 | kind u8 | key u128 | payload | xxh3_64(len..payload) u64
//! index   (20 B + 37 B/entry): generation u64 | written_at_ns i64 | count u32 |
//!         [kind u8 | key u128 | offset u64 | payload len u32 | last_used_generation u64]*
//!         (sorted by (kind, key), no duplicates; offset = the record's first byte)
//! footer  (28 B, the file's last bytes): index_offset u64 | index_len u32 |
//!         xxh3_64(header ++ index ++ index_offset ++ index_len) u64 | "PKMCEND\0"
//! ```
//! Opening checks the footer (end marker, `index_offset + index_len` = footer start, checksum over
//! header + index + footer fields), the format version and the build id, and that every index
//! entry lies before the index. A record is checked (bounds, length, kind, key, its own checksum)
//! the first time it is read, so a corrupt record is a miss, never wrong bytes. If the last bytes
//! are not a valid footer (a commit killed mid-append), the newest earlier valid footer is used:
//! the store keeps the previous commit's entries, warns, and the next commit compacts.
//!
//! # Commit, compaction and eviction
//! A *generation* is one commit that wrote the file. [`Store::commit`] writes nothing when the run
//! put nothing and every entry it used is already marked with the file's last generation (so a
//! no-op rebuild does not touch the file). Otherwise it writes generation `g + 1`, where this run's
//! used and put entries get `last_used = g + 1`:
//! - **append** (the usual case): new records, then a full new index, then a footer, written at the
//!   end of the existing file; on a write error the file is truncated back to its old length.
//! - **compaction**: when dead bytes (superseded records, old indexes and footers, and entries that
//!   would be evicted) would exceed [`COMPACT_DEAD_PERCENT`] (50 %) of the file, or the file is
//!   invalid, from another build, damaged, or has a corrupt record: the live entries are written
//!   to `<name>.tmp.<pid>.<n>` in the same directory, which is then renamed over the file (atomic).
//! - **eviction** happens only at compaction: entries not used by any of the last
//!   [`EVICT_AFTER_GENERATIONS`] (8) generations (`new_gen - last_used > 8`) are dropped.
//!
//! No fsync: a torn file after a crash fails its checksums and costs a cold build at worst.
//!
//! # Concurrency
//! Within a process, a [`Store`] is `Send + Sync`; `get`/`put` take `&self` (use marks are atomics,
//! puts sit behind an `RwLock`). Between processes, `<path>.lock` (a separate file, since compaction
//! replaces the data file's inode) carries `flock` locks: `open` reads under a shared lock (waiting
//! at most 0.5 s, then reading unlocked, which is safe since appends never modify existing bytes and
//! compaction is a rename); `commit` waits at most [`COMMIT_PATIENCE`] for the exclusive lock (other
//! commits hold it for milliseconds, so parallel builds take turns) and skips writing (returning
//! `Err`) if it is still held. Under the lock, if the file changed since `open` (different
//! inode, length or footer bytes), the commit re-reads it and builds on its state, so another
//! process's entries are never lost.
//!
//! # Faults
//! | fault | result |
//! |---|---|
//! | missing file | empty store, no warning |
//! | truncated / torn tail | entries of the last complete commit (or empty) + warning; next commit compacts |
//! | bit flip in header, index or footer | empty (or an earlier commit's entries) + warning |
//! | bit flip in a record | that key misses (logged); next commit compacts it away |
//! | other format / build id | empty + warning; next commit rewrites the file |
//! | unreadable file | empty + warning |
//! | read-only directory, full disk, other I/O error on commit | `Err(warning)`, old file left valid |
//! | lock held by another process at commit | `Err(warning)`, nothing written |
//! | store dropped without commit | nothing written |
//!
//! [`stamp`] holds the file-stamp helpers callers store next to content hashes.

mod format;
mod lock;
pub mod stamp;
mod store;

use camino::Utf8Path;

pub use stamp::{FileStamp, GRANULARITY_NS, is_racy, now_ns};
pub use store::{
    COMMIT_PATIENCE, COMPACT_DEAD_PERCENT, CommitReport, EVICT_AFTER_GENERATIONS, MAX_PAYLOAD, Opened, Payload, Store,
};

/// Summary of a cache file, for `packem cache info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// File size in bytes.
    pub file_size: u64,
    /// Entries in the live index.
    pub entries: usize,
    /// Bytes a compaction without eviction would keep: header, live records, index, footer.
    pub live_bytes: u64,
    /// When the file was created (by its first commit or last compaction's source), ns since epoch.
    pub created_at_ns: i64,
    /// When the last commit wrote it, ns since epoch.
    pub written_at_ns: i64,
    /// Build id of the binary that wrote it.
    pub build_id: u128,
    /// Number of commits that wrote it (its generation).
    pub generation: u64,
}

/// Describes the cache file at `path`: `Ok(None)` when it is missing, `Err(warning)` when it
/// cannot be read or is not a valid, complete cache file (of any build id).
pub fn info(path: &Utf8Path) -> Result<Option<Info>, String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Ok(m) if !m.is_file() => return Err(format!("cache path {path} is not a regular file")),
        _ => {}
    }
    let data = {
        let _lock = lock::shared_bounded(path, std::time::Duration::from_millis(500));
        match std::fs::read(path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read cache file {path}: {e}")),
        }
    };
    let parsed = format::parse(&data).map_err(|e| format!("invalid cache file {path}: {e}"))?;
    if let Some(why) = parsed.recovered {
        return Err(format!("damaged cache file {path}: {why}"));
    }
    let entries = &parsed.index.entries;
    let live_bytes =
        (format::HEADER_LEN + format::INDEX_HEAD_LEN + entries.len() * format::INDEX_ENTRY_LEN + format::FOOTER_LEN)
            as u64
            + entries.iter().map(format::IndexEntry::record_size).sum::<u64>();
    Ok(Some(Info {
        file_size: data.len() as u64,
        entries: entries.len(),
        live_bytes,
        created_at_ns: parsed.header.created_at_ns,
        written_at_ns: parsed.index.written_at_ns,
        build_id: parsed.header.build_id,
        generation: parsed.index.generation,
    }))
}

/// Removes the cache file at `path`, its lock file and leftover compaction temp files; a missing
/// file is fine. Fails (removing nothing) if another process holds the lock, i.e. is committing.
pub fn clean(path: &Utf8Path) -> Result<(), String> {
    let _lock = match lock::exclusive_bounded(path, COMMIT_PATIENCE) {
        Ok(lock::Exclusive::Locked(guard)) => Some(guard),
        Ok(lock::Exclusive::Busy) => return Err(format!("cache {path} is in use by another packem process")),
        // No directory, or a read-only one: removing the data file below reports the real problem.
        Err(_) => None,
    };
    let remove = |p: &Utf8Path| match std::fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(format!("cannot remove {p}: {e}")),
        _ => Ok(()),
    };
    remove(path)?;
    if let Some(dir) = path.parent() {
        store::remove_stale_temps(path, if dir.as_str().is_empty() { Utf8Path::new(".") } else { dir });
    }
    remove(&lock::lock_path(path))
}
