//! File inputs and the registry that creates them lazily.
#![allow(clippy::disallowed_methods)] // this module owns reading inputs (see clippy.toml)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use camino::{Utf8Path, Utf8PathBuf};
use dashmap::DashMap;
use rustc_hash::FxBuildHasher;
use salsa::{Durability, Setter};

use crate::Db;

/// Whether something exists at a file's path.
///
/// Resolution reads only this field, so editing a file's contents never re-runs resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileStatus {
    /// A file (or a symlink to one) exists at the path.
    Exists,
    /// A directory exists at the path.
    Directory,
    /// Nothing exists at the path (or it cannot be stat'ed).
    Missing,
}

/// One path on disk, as a salsa input. A path that does not exist is a `File` too, so that the
/// queries that looked for it re-run when it appears.
#[salsa::input(debug)]
pub struct File {
    /// Absolute, normalized path. Never changes for a given input.
    #[returns(ref)]
    pub path: Utf8PathBuf,
    /// What is at the path now.
    #[returns(copy)]
    pub status: FileStatus,
    /// Bumped by the host whenever the file may have changed on disk; [`source_text`] re-reads it.
    #[returns(copy)]
    pub revision: u64,
    /// Unsaved editor text that takes precedence over the disk contents.
    #[returns(ref)]
    pub overlay: Option<Arc<str>>,
}

/// Why a file's text could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FileError {
    /// Nothing exists at the path.
    NotFound,
    /// The path is a directory.
    IsADirectory,
    /// The contents are not valid UTF-8; `valid_up_to` is the byte offset of the first bad byte.
    NotUtf8 { valid_up_to: usize },
    /// The file is larger than the parser's 4 GiB span limit.
    TooLarge { len: u64 },
    /// Any other I/O error, as its message.
    Io(String),
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::NotFound => f.write_str("file not found"),
            FileError::IsADirectory => f.write_str("is a directory"),
            FileError::NotUtf8 { valid_up_to } => {
                write!(f, "file is not valid UTF-8 (invalid byte at offset {valid_up_to})")
            }
            FileError::TooLarge { len } => {
                write!(f, "file is too large ({len} bytes; the limit is 4 GiB)")
            }
            FileError::Io(message) => f.write_str(message),
        }
    }
}

/// A file's contents: text, or the raw bytes of a file that is not UTF-8, or why there are none
/// (then the text is empty).
///
/// Compared by content, so a touched but unchanged file backdates and nothing downstream re-runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SourceText {
    text: Arc<str>,
    error: Option<FileError>,
    /// The raw contents when they are not UTF-8 (for loaders that take bytes).
    bytes: Option<Arc<[u8]>>,
}

impl SourceText {
    /// The text (empty when [`SourceText::error`] is set).
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// A shared handle to the text.
    pub fn arc(&self) -> &Arc<str> {
        &self.text
    }
    /// Why the text could not be read, if it could not.
    pub fn error(&self) -> Option<&FileError> {
        self.error.as_ref()
    }
    /// The raw contents of a file that is not UTF-8 (`None` for text and for unreadable files).
    pub fn bytes(&self) -> Option<&[u8]> {
        self.bytes.as_deref()
    }
    /// Text that did load.
    pub fn from_text(text: Arc<str>) -> Self {
        Self { text, error: None, bytes: None }
    }
    fn failed(error: FileError) -> Self {
        Self { text: Arc::from(""), error: Some(error), bytes: None }
    }
}

/// The text of `file`: the editor overlay if there is one, else the disk contents.
///
/// Reads the disk inside the query; that read is covered by the `revision` field, which the host
/// bumps on every change event for the path. A leading byte-order mark is removed.
#[salsa::tracked(returns(ref))]
pub fn source_text(db: &dyn Db, file: File) -> SourceText {
    let _span = tracing::debug_span!("source_text", path = %file.path(db)).entered();
    if let Some(text) = file.overlay(db) {
        return SourceText::from_text(text.clone());
    }
    if is_artifact_path(file.path(db)) {
        // A target's output before the target was built (`packem check`, the language server).
        return SourceText::from_text(Arc::from(""));
    }
    if crate::context::is_context_path(file.path(db)) {
        return SourceText::from_text(crate::context::context_text(db, file.path(db)));
    }
    if let Err(error) = disk_status(db, file) {
        return SourceText::failed(error);
    }
    let path = file.path(db);
    if !db.files().inner.recording_reads.load(Ordering::Relaxed) {
        return read_text(path);
    }
    // Stamped *before* the read: if the file changes between the two, its stamp changes too (or
    // is racy), so the pair is never saved (see [`Files::take_reads`]).
    let read_at_ns = packem_cache::now_ns();
    let stamp = packem_cache::FileStamp::of(path);
    let text = read_text(path);
    if let Some(stamp) = stamp
        && text.error().is_none()
    {
        let read = DiskRead { stamp, read_at_ns, hash: text_hash(text.as_str()) };
        db.files().inner.reads.insert(path.clone(), read);
    }
    text
}

/// The hash of a text that keys everything derived from it ([`content_hash`]).
pub fn text_hash(text: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(text.as_bytes())
}

/// The key under which the persistent cache keeps the [`content_hash`] of the file at `path`
/// while `stamp` describes it ([`StoredKind::ContentHash`](crate::stored::StoredKind)).
pub fn stamp_key(path: &Utf8Path, stamp: &packem_cache::FileStamp) -> u128 {
    let mut key = crate::stored::KeyHasher::new("stamp");
    key.bytes(path.as_str().as_bytes()).bytes(&stamp.to_bytes());
    key.finish()
}

/// The [`text_hash`] of `file`'s text, `None` when it cannot be read as text.
///
/// With a persistent cache open, a file whose stamp (size, mtime and ctime in ns, inode, device)
/// is the one an earlier process saved next to its hash is not read at all: that is how a second
/// process skips reading the files that did not change (git's index works the same way). Stamps
/// are saved only when taken before the read and more than the timestamp granularity older than
/// it (git's "racy" rule, [`packem_cache::is_racy`]), so a file rewritten with the same size and
/// mtime (which changes its ctime anyway) is read again. The stamp is the one taken by the `stat`
/// that read the file's status (no second system call); like [`source_text`], covered by the
/// `revision` the host bumps, with a fresh stamp, on every change event.
#[salsa::tracked]
pub fn content_hash(db: &dyn Db, file: File) -> Option<u128> {
    let path = file.path(db);
    if file.overlay(db).is_none()
        && !is_virtual(path)
        && disk_status(db, file).is_ok()
        && let Some(results) = crate::stored::StoredResults::try_get(db)
        && let Some(stamp) = db.files().observed_stamp(path).unwrap_or_else(|| packem_cache::FileStamp::of(path))
        && let Some(bytes) = results.store(db).0.get(crate::stored::StoredKind::ContentHash, stamp_key(path, &stamp))
        && let Ok(bytes) = <[u8; 16]>::try_from(&bytes[..])
    {
        return Some(u128::from_le_bytes(bytes));
    }
    let text = source_text(db, file);
    text.error().is_none().then(|| text_hash(text.as_str()))
}

/// Whether `file`'s text contains each of `needles` (one answer per needle; all `false` when it
/// cannot be read). With a persistent cache open, taken from it by [`content_hash`], so that
/// asking does not read an unchanged file.
pub fn text_mentions(db: &dyn Db, file: File, needles: &[&str]) -> Vec<bool> {
    let key = crate::stored::StoredResults::try_get(db).and_then(|results| {
        let hash = (*content_hash(db, file))?;
        let mut key = crate::stored::KeyHasher::new("mentions");
        key.value(&hash).value(&needles);
        Some((results, key.finish(), hash))
    });
    if let Some((results, key, _)) = key
        && let Some(bytes) = results.store(db).0.get(crate::stored::StoredKind::Mentions, key)
        && bytes.len() == needles.len()
    {
        return bytes.iter().map(|&b| b == 1).collect();
    }
    let text = source_text(db, file).as_str();
    let found: Vec<bool> =
        needles.iter().map(|needle| memchr::memmem::find(text.as_bytes(), needle.as_bytes()).is_some()).collect();
    // Only when the text read is the one hashed: a file changed on disk after its stamp gave the
    // hash must not have its new answer saved under the old hash.
    if let Some((results, key, hash)) = key
        && hash == text_hash(text)
    {
        results.store(db).0.offer(
            crate::stored::StoredKind::Mentions,
            key,
            found.iter().map(|&b| u8::from(b)).collect(),
        );
    }
    found
}

/// What the disk read of one file saw, for the persistent cache ([`Files::take_reads`]).
#[derive(Clone, Copy, Debug)]
pub struct DiskRead {
    /// The file's stamp just before the read.
    pub stamp: packem_cache::FileStamp,
    /// When the read started (ns since the Unix epoch).
    pub read_at_ns: i64,
    /// The [`text_hash`] of what was read.
    pub hash: u128,
}

/// The raw bytes of `file` (the editor overlay's UTF-8 if there is one), for loaders that do not
/// parse the file (`text`, `base64`, `dataurl`, `binary`, `file`, `copy`). Unlike
/// [`source_text`], nothing is stripped. Compared by content.
#[salsa::tracked(returns(ref))]
pub fn source_bytes(db: &dyn Db, file: File) -> Result<Arc<[u8]>, FileError> {
    let _span = tracing::debug_span!("source_bytes", path = %file.path(db)).entered();
    if let Some(text) = file.overlay(db) {
        return Ok(Arc::from(text.as_bytes()));
    }
    if is_artifact_path(file.path(db)) {
        return Ok(Arc::from(&[][..]));
    }
    if crate::context::is_context_path(file.path(db)) {
        return Ok(Arc::from(crate::context::context_text(db, file.path(db)).as_bytes()));
    }
    disk_status(db, file)?;
    read_bytes(file.path(db)).map(Arc::from)
}

/// `Err` when the host saw no file at `file`'s path; reads the `revision` that covers the disk
/// read which follows.
fn disk_status(db: &dyn Db, file: File) -> Result<(), FileError> {
    let _ = file.revision(db);
    match file.status(db) {
        FileStatus::Missing => Err(FileError::NotFound),
        FileStatus::Directory => Err(FileError::IsADirectory),
        FileStatus::Exists => Ok(()),
    }
}

/// The largest source the parser can address (its spans are `u32`).
const MAX_SOURCE_LEN: u64 = u32::MAX as u64;

/// The contents of the regular file at `path`.
fn read_bytes(path: &Utf8Path) -> Result<Vec<u8>, FileError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Err(FileError::IsADirectory),
        // FIFOs, sockets and devices would block or stream forever: only regular files are read.
        Ok(meta) if !meta.is_file() => return Err(FileError::Io("not a regular file".to_string())),
        Ok(meta) if meta.len() >= MAX_SOURCE_LEN => return Err(FileError::TooLarge { len: meta.len() }),
        Ok(_) => {}
        Err(err) => return Err(io_error(&err)),
    }
    std::fs::read(path).map_err(|err| io_error(&err))
}

fn read_text(path: &Utf8Path) -> SourceText {
    let bytes = match read_bytes(path) {
        Ok(bytes) => bytes,
        Err(error) => return SourceText::failed(error),
    };
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            SourceText::from_text(Arc::from(text))
        }
        Err(err) => {
            let valid_up_to = err.utf8_error().valid_up_to();
            SourceText {
                bytes: Some(err.into_bytes().into()),
                ..SourceText::failed(FileError::NotUtf8 { valid_up_to })
            }
        }
    }
}

fn io_error(err: &std::io::Error) -> FileError {
    match err.kind() {
        std::io::ErrorKind::NotFound => FileError::NotFound,
        std::io::ErrorKind::IsADirectory => FileError::IsADirectory,
        _ => FileError::Io(err.to_string()),
    }
}

/// Maps paths to [`File`] inputs, creating them on first use (from inside queries too).
///
/// Shared by every clone of the database, so a snapshot sees the files its parent created.
#[derive(Clone, Default)]
pub struct Files {
    inner: Arc<FilesInner>,
}

#[derive(Default)]
struct FilesInner {
    by_path: DashMap<Utf8PathBuf, File, FxBuildHasher>,
    /// Every proper ancestor of a known path (paths are never forgotten, so neither are these).
    dirs: DashMap<Utf8PathBuf, (), FxBuildHasher>,
    /// Source of fresh revisions; a global counter keeps every revision distinct.
    next_revision: AtomicU64,
    /// See [`Files::set_cold_contents`].
    cold_contents: std::sync::atomic::AtomicBool,
    /// Files whose inputs were set since the last [`Files::take_touched`].
    touched: std::sync::Mutex<rustc_hash::FxHashSet<File>>,
    /// The context modules listing each directory (see [`Files::sync_listing`]).
    contexts: DashMap<Utf8PathBuf, Vec<File>, FxBuildHasher>,
    /// See [`Files::record_reads`].
    recording_reads: std::sync::atomic::AtomicBool,
    /// The texts read from disk since the last [`Files::take_reads`], when recording.
    reads: DashMap<Utf8PathBuf, DiskRead, FxBuildHasher>,
    /// Each path's stamp when its status was last read from disk, when recording.
    stamps: DashMap<Utf8PathBuf, Option<packem_cache::FileStamp>, FxBuildHasher>,
}

impl Files {
    /// The input for `path` (absolute and normalized), created on first use with the status found
    /// on disk now.
    ///
    /// Durability: see [`Files::set_cold_contents`], [`edited_durability`] and [`status_durability`].
    pub fn file(&self, db: &dyn Db, path: &Utf8Path) -> File {
        if let Some(file) = self.inner.by_path.get(path) {
            return *file;
        }
        let status = self.stat(path);
        // `entry` takes the shard lock: two threads racing on one path get the same input.
        let file = *self.inner.by_path.entry(path.to_owned()).or_insert_with(|| {
            File::builder(path.to_owned(), status, self.fresh_revision(), None)
                .durability(self.content_durability(path))
                .status_durability(status_durability(path))
                .new(db)
        });
        if let Some(key) = crate::context::ContextKey::parse(path) {
            if let Some((dir, _)) = key.listing() {
                let mut contexts = self.inner.contexts.entry(dir).or_default();
                if !contexts.contains(&file) {
                    contexts.push(file);
                }
            }
            // Virtual: it lives in no directory.
            return file;
        }
        if is_virtual(path) {
            return file;
        }
        for dir in path.ancestors().skip(1) {
            if self.inner.dirs.insert(dir.to_owned(), ()).is_some() {
                break;
            }
        }
        file
    }

    /// Marks `dir`'s listing as possibly changed (a path in it appeared or disappeared): the
    /// context modules that list it generate their text again. Returns whether any does.
    pub fn sync_listing(db: &mut dyn Db, dir: &Utf8Path) -> bool {
        let contexts: Vec<File> = match db.files().inner.contexts.get(dir) {
            Some(files) => files.clone(),
            None => return false,
        };
        if let Some(file) = db.files().get(dir) {
            let revision = db.files().fresh_revision();
            file.set_revision(db).with_durability(edited_durability(dir)).to(revision);
        }
        for context in contexts {
            db.files().touch(context);
        }
        true
    }

    /// Whether some known path lies inside `dir` (a directory watchers may report on its own).
    pub fn holds_known(&self, dir: &Utf8Path) -> bool {
        self.inner.dirs.contains_key(dir)
    }

    /// Makes project files' contents MEDIUM until their first edit.
    ///
    /// Files being worked on become LOW when first edited and every other file stays MEDIUM, so
    /// after an edit salsa re-walks the query chains of the edited files only and verifies every
    /// other module's memos without walking them (10,000 modules: 39 ms → 14 ms from keystroke to
    /// diagnostics in the language server). The price: a value whose durability drops cannot be
    /// backdated, so a file's first edit re-runs what depends on it once (the graph and the link;
    /// renders are shielded by the host's link cells). `Workspace` turns this on for every front
    /// end. Set it before any file input is created.
    pub fn set_cold_contents(&self, cold: bool) {
        self.inner.cold_contents.store(cold, Ordering::Relaxed);
    }

    fn content_durability(&self, path: &Utf8Path) -> Durability {
        if in_node_modules(path) {
            Durability::HIGH
        } else if self.inner.cold_contents.load(Ordering::Relaxed) {
            Durability::MEDIUM
        } else {
            Durability::LOW
        }
    }

    /// What is at `path` now; when recording, also remembers its stamp from the same `stat`
    /// ([`Files::observed_stamp`]).
    fn stat(&self, path: &Utf8Path) -> FileStatus {
        if !self.inner.recording_reads.load(Ordering::Relaxed) {
            return stat(path);
        }
        let (status, stamp) = stat_stamped(path);
        self.inner.stamps.insert(path.to_owned(), stamp);
        status
    }

    /// Records, from now on, each path's stamp when its status is read ([`Files::observed_stamp`])
    /// and each text read from disk with its stamp and hash ([`Files::take_reads`]), for the
    /// persistent cache. Off by default.
    pub fn record_reads(&self, on: bool) {
        self.inner.recording_reads.store(on, Ordering::Relaxed);
    }

    /// The stamp `path` had when its status was last read from disk (`None`: nothing was there),
    /// if that happened while recording (see [`Files::record_reads`]).
    pub fn observed_stamp(&self, path: &Utf8Path) -> Option<Option<packem_cache::FileStamp>> {
        self.inner.stamps.get(path).map(|stamp| *stamp)
    }

    /// The disk reads recorded since the last call (the latest per path), sorted by path. A read
    /// is worth saving only if its stamp is not racy (see [`content_hash`]); the caller checks.
    pub fn take_reads(&self) -> Vec<(Utf8PathBuf, DiskRead)> {
        let paths: Vec<Utf8PathBuf> = self.inner.reads.iter().map(|e| e.key().clone()).collect();
        let mut reads: Vec<_> = paths.into_iter().filter_map(|path| self.inner.reads.remove(&path)).collect();
        reads.sort_by(|a, b| a.0.cmp(&b.0));
        reads
    }

    /// The input for `path` if some query or the host has asked for it.
    pub fn get(&self, path: &Utf8Path) -> Option<File> {
        self.inner.by_path.get(path).map(|file| *file)
    }

    /// All known paths, sorted.
    pub fn paths(&self) -> Vec<Utf8PathBuf> {
        let mut paths: Vec<_> = self.inner.by_path.iter().map(|e| e.key().clone()).collect();
        paths.sort();
        paths
    }

    /// Every proper ancestor directory of a known path, sorted.
    pub fn dirs(&self) -> Vec<Utf8PathBuf> {
        let mut dirs: Vec<_> = self.inner.dirs.iter().map(|e| e.key().clone()).collect();
        dirs.sort();
        dirs
    }

    /// Number of known paths.
    pub fn len(&self) -> usize {
        self.inner.by_path.len()
    }

    /// Whether no path is known.
    pub fn is_empty(&self) -> bool {
        self.inner.by_path.is_empty()
    }

    /// The files whose status, revision or overlay was set since the last call, in no particular
    /// order (the host re-derives their facts; see `packem_host`'s fact cells).
    pub fn take_touched(&self) -> Vec<File> {
        let mut touched = self.inner.touched.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        touched.drain().collect()
    }

    fn touch(&self, file: File) {
        self.inner.touched.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(file);
    }

    /// A revision number no file has had.
    pub fn fresh_revision(&self) -> u64 {
        self.inner.next_revision.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Re-reads `path`'s status from disk and marks its contents as possibly changed.
    ///
    /// Returns what changed, or `None` when nobody has asked for this path (so nothing can depend on
    /// it). Setters are only called for fields that differ, because salsa treats every set as a change.
    pub fn sync_path(db: &mut dyn Db, path: &Utf8Path) -> Option<FileChange> {
        let file = db.files().get(path)?;
        let old = file.status(db);
        let new = db.files().stat(path);
        if old != new {
            file.set_status(db).with_durability(status_durability(path)).to(new);
        }
        let change = match (old, new) {
            (FileStatus::Missing | FileStatus::Directory, FileStatus::Exists) => FileChange::Created,
            (FileStatus::Exists, FileStatus::Missing | FileStatus::Directory) => FileChange::Deleted,
            (FileStatus::Exists, FileStatus::Exists) => FileChange::Modified,
            (a, b) if a != b => FileChange::Created,
            _ => FileChange::Unchanged,
        };
        if matches!(change, FileChange::Modified | FileChange::Created) || old != new {
            let revision = db.files().fresh_revision();
            file.set_revision(db).with_durability(edited_durability(path)).to(revision);
            db.files().touch(file);
        }
        Some(change)
    }

    /// Sets the text of a target's output ([`artifact_path`]): an overlay of MEDIUM durability,
    /// since the project-wide queries of the targets that embed it read it (as the value of a
    /// text module), and a LOW input there would make them re-walk their dependencies after every
    /// edit. Setting the same text changes nothing.
    pub fn set_artifact(db: &mut dyn Db, path: &Utf8Path, text: Arc<str>) -> File {
        let file = db.files().file(db, path);
        if file.overlay(db).as_deref() != Some(&*text) {
            file.set_overlay(db).with_durability(Durability::MEDIUM).to(Some(text));
            db.files().touch(file);
        }
        file
    }

    /// Sets or clears the editor overlay of `path` (creating its input if needed).
    pub fn set_overlay(db: &mut dyn Db, path: &Utf8Path, text: Option<Arc<str>>) -> File {
        let file = db.files().file(db, path);
        if file.overlay(db).as_deref() != text.as_deref() {
            file.set_overlay(db).with_durability(Durability::LOW).to(text);
            db.files().touch(file);
        }
        file
    }
}

/// What [`Files::sync_path`] observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileChange {
    /// The path did not exist (as a file) and now does.
    Created,
    /// The path existed (as a file) and now does not.
    Deleted,
    /// The file exists before and after; its contents may differ.
    Modified,
    /// Nothing changed.
    Unchanged,
}

/// The prefix of the paths of other targets' outputs (`packem:target/NAME` imports).
pub const ARTIFACT_PREFIX: &str = "packem:target/";

/// The path of the virtual file that holds target `name`'s output: not a path on disk (it is
/// relative, and no front end looks it up there), its text is an overlay the host sets after
/// building that target, and it always exists.
pub fn artifact_path(name: &str) -> Utf8PathBuf {
    Utf8PathBuf::from(format!("{ARTIFACT_PREFIX}{name}"))
}

/// Whether `path` is generated rather than on disk: a target's output or a context module.
pub fn is_virtual(path: &Utf8Path) -> bool {
    path.as_str().starts_with(ARTIFACT_PREFIX) || crate::context::is_context_path(path)
}

/// Whether `path` is a target's output ([`artifact_path`]) rather than a file on disk.
pub fn is_artifact_path(path: &Utf8Path) -> bool {
    path.as_str().strip_prefix(ARTIFACT_PREFIX).is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

/// [`stat`], and the path's stamp from the same system call (`None` for virtual paths and when
/// nothing is there).
fn stat_stamped(path: &Utf8Path) -> (FileStatus, Option<packem_cache::FileStamp>) {
    if is_virtual(path) {
        return (stat(path), None);
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => (FileStatus::Directory, Some(packem_cache::FileStamp::from_metadata(&meta))),
        Ok(meta) => (FileStatus::Exists, Some(packem_cache::FileStamp::from_metadata(&meta))),
        Err(_) => (FileStatus::Missing, None),
    }
}

fn stat(path: &Utf8Path) -> FileStatus {
    if crate::context::is_context_path(path) {
        return FileStatus::Exists;
    }
    // Targets' outputs always exist; nothing else is below them (and the disk is never asked).
    if path.as_str().starts_with(ARTIFACT_PREFIX) || path.as_str() == ARTIFACT_PREFIX.trim_end_matches('/') {
        return if is_artifact_path(path) { FileStatus::Exists } else { FileStatus::Missing };
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => FileStatus::Directory,
        Ok(_) => FileStatus::Exists,
        Err(_) => FileStatus::Missing,
    }
}

/// Durability of a file's contents once it has been edited: HIGH under `node_modules` (ty's rule:
/// editing app code then never re-validates library queries), LOW elsewhere. Before its first
/// edit a project file's contents may be MEDIUM (see [`Files::set_cold_contents`]).
pub fn edited_durability(path: &Utf8Path) -> Durability {
    if in_node_modules(path) { Durability::HIGH } else { Durability::LOW }
}

/// Durability of a file's existence (`status`): MEDIUM for project files, because files are
/// created and deleted far less often than they are edited. Resolution reads only `status`, so
/// after a content edit salsa can skip re-validating every resolution instead of re-walking the
/// paths each one probed (that walk was most of a warm rebuild on 10,000 modules).
pub fn status_durability(path: &Utf8Path) -> Durability {
    if in_node_modules(path) { Durability::HIGH } else { Durability::MEDIUM }
}

fn in_node_modules(path: &Utf8Path) -> bool {
    path.components().any(|c| c.as_str() == "node_modules")
}

/// The stem generated names and chunk names of the module at `path` start from: its file stem,
/// or for a context module the last directory of its pattern and `_context` (`locale_context`).
pub fn module_stem(path: &Utf8Path) -> Option<std::borrow::Cow<'_, str>> {
    if let Some(key) = crate::context::ContextKey::parse(path) {
        let dir = key.listing().and_then(|(dir, _)| dir.file_name().map(str::to_string));
        return Some(format!("{}_context", dir.unwrap_or_else(|| "module".into())).into());
    }
    path.file_stem().map(std::borrow::Cow::Borrowed)
}

/// Lexically normalizes an absolute path: removes `.` and resolves `..` (never above the root).
pub fn normalize(path: &Utf8Path) -> Utf8PathBuf {
    use camino::Utf8Component as C;
    let mut out = Utf8PathBuf::new();
    for component in path.components() {
        match component {
            C::Prefix(_) | C::RootDir => out.push(component.as_str()),
            C::CurDir => {}
            C::ParentDir => {
                if out.parent().is_some() {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            C::Normal(part) => out.push(part),
        }
    }
    out
}
