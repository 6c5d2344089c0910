//! Atomic, incremental writing of output files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use camino::{Utf8Path, Utf8PathBuf};

use crate::error::{OutputError, OutputErrorCode};
use crate::paths::{lexical_normalize, validate};

/// One file to write, its path relative to the output directory (forward slashes).
///
/// The bytes are a list of pieces written in order, so a bundler can hand over the per-module
/// code it already holds instead of concatenating megabytes on every rebuild.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFile {
    /// Relative to the output directory, e.g. `chunks/chunk-X7Q2.js`.
    pub path: String,
    pieces: Vec<Arc<[u8]>>,
    len: u64,
    hash: u128,
}

impl OutputFile {
    /// An output file at `path` with `contents`.
    pub fn new(path: impl Into<String>, contents: impl Into<Arc<[u8]>>) -> Self {
        let contents = contents.into();
        let hash = content_hash(&contents);
        OutputFile { path: path.into(), len: contents.len() as u64, pieces: vec![contents], hash }
    }

    /// An output file whose bytes are `pieces` concatenated, identified by `hash`: the caller's
    /// hash of the bytes, which must differ whenever the bytes differ (with the odds of a 128-bit
    /// hash). It only decides whether a file written earlier in this process is up to date, so it
    /// need not be a hash of the concatenation itself (a hash of per-piece hashes will do).
    pub fn from_pieces(path: impl Into<String>, pieces: Vec<Arc<[u8]>>, hash: u128) -> Self {
        let len = pieces.iter().map(|p| p.len() as u64).sum();
        // Keep the two kinds of hash apart: a caller's hash never equals a content hash by design.
        OutputFile { path: path.into(), pieces, len, hash: hash ^ 0x5bd1_e995_0000_0001 }
    }

    /// The bytes, as the pieces they are written from.
    pub fn pieces(&self) -> &[Arc<[u8]>] {
        &self.pieces
    }

    /// The size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `bytes` equal this file's bytes.
    fn equals(&self, bytes: &[u8]) -> bool {
        if bytes.len() as u64 != self.len {
            return false;
        }
        let mut rest = bytes;
        for piece in &self.pieces {
            let (head, tail) = rest.split_at(piece.len());
            if head != &piece[..] {
                return false;
            }
            rest = tail;
        }
        true
    }
}

/// What one written file looked like right after we wrote (or confirmed) it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Written {
    hash: u128,
    len: u64,
    modified: Option<SystemTime>,
    /// The inode and the pieces written, kept for files written through a spare: when this file
    /// has become the spare, the next write there skips the pieces it already holds.
    layout: Option<(u64, Pieces)>,
}

/// The pieces of a written file, shared.
type Pieces = Arc<[Arc<[u8]>]>;

impl Written {
    /// Whether `meta` still shows the file as we left it (same size and mtime): then nobody has
    /// written to it since, and its bytes are the ones recorded.
    fn describes(&self, meta: &std::fs::Metadata) -> bool {
        self.len == meta.len() && self.modified.is_some() && self.modified == meta.modified().ok()
    }
}

/// What a previous [`write_outputs`] produced: normalized relative path → content hash, size and
/// mtime.
///
/// Pass it to the next build so unchanged files are skipped without reading them back (when
/// size and mtime on disk still match what we wrote) and files the new build no longer produces
/// are deleted. Lives in memory only (watch mode, LSP); a fresh process starts from
/// `WrittenSet::default()`, which deletes nothing and compares against the bytes on disk.
#[derive(Default, Clone, Debug, PartialEq, Eq)]
pub struct WrittenSet {
    files: BTreeMap<String, Written>,
    /// What each output's spare file holds (the output before the last swap), when known.
    spares: BTreeMap<String, Written>,
}

impl WrittenSet {
    /// Number of files recorded.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file is recorded.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Whether `path` (normalized, relative to the output directory) is recorded.
    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// The recorded paths, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }
}

/// Where and how to write.
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions<'a> {
    /// The output directory, absolute. Created if missing.
    pub outdir: &'a Utf8Path,
    /// Absolute paths of every input file; an output equal to (or inside) one is refused.
    pub inputs: &'a [Utf8PathBuf],
    /// esbuild's `--allow-overwrite`: permit outputs that replace input files.
    pub allow_overwrite: bool,
    /// Keep a spare file next to each output and swap it with the output (Linux's
    /// `RENAME_EXCHANGE`) instead of creating a temporary file and deleting the old output on
    /// every write. Rewriting a file whose pages are already allocated costs a fraction of
    /// creating one (12 MB: about 2 ms instead of 10), which matters to watch mode. The spare is
    /// a hidden `.<name>.packem-spare` holding the previous bytes; [`remove_spares`] deletes them
    /// when the session ends. Elsewhere, or when the swap is unsupported, this is a plain rename.
    pub spare: bool,
}

/// What [`write_outputs`] did. Paths are normalized and relative to the output directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Files created or replaced, in the order given.
    pub written: Vec<String>,
    /// Files whose bytes were already on disk (not touched; mtime preserved), in the order given.
    pub unchanged: Vec<String>,
    /// Files from `previous` no longer produced, now deleted (sorted).
    pub deleted: Vec<String>,
    /// Everything this build produced; pass it as `previous` to the next build.
    pub set: WrittenSet,
}

/// Validates every path first (nothing is written if any is invalid), then writes each changed
/// file atomically.
///
/// - Validation is [`crate::validate_paths`]; all its errors are returned at once.
/// - Each changed file is written to a temporary file in its own directory and renamed over the
///   target (no fsync): readers see the old bytes or the new bytes, never a prefix. The
///   permissions of a replaced file are kept (an `chmod +x`'d CLI bundle stays executable). A
///   symlink at the target path is replaced, not followed.
/// - A file whose bytes equal what is on disk is not rewritten, so its mtime is preserved. With
///   `previous`, a file whose hash, size and mtime all match the previous write is trusted
///   without reading it back.
/// - Files recorded in `previous` that are not in `files` are deleted, after all writes succeed
///   (except a stale file in the way of a new directory, which goes first). Only those files:
///   nothing else in `outdir` is ever deleted, and emptied directories are left in place.
/// - Directories are created one level at a time and each is checked, after symlink
///   resolution, to be inside the output directory, so a symlink swapped in after validation
///   still cannot redirect a write.
///
/// On failure the errors are returned (`WRITE_FAILED` for I/O); files already renamed into place
/// stay (each one complete), and stale files are not deleted.
pub fn write_outputs(
    files: &[OutputFile],
    options: &WriteOptions,
    previous: Option<&WrittenSet>,
) -> Result<WriteReport, Vec<OutputError>> {
    let validated = validate(files, options)?;
    let outdir = lexical_normalize(options.outdir);

    if let Err(err) = std::fs::create_dir_all(&outdir) {
        return Err(vec![OutputError::new(
            OutputErrorCode::WriteFailed,
            outdir.as_str(),
            format!("Could not create the output directory {outdir:?}: {err}"),
        )]);
    }
    let canonical_outdir = match validated.canonical_outdir {
        Some(canonical) => canonical,
        None => match std::fs::canonicalize(&outdir) {
            Ok(canonical) => canonical,
            Err(err) => {
                return Err(vec![OutputError::new(
                    OutputErrorCode::WriteFailed,
                    outdir.as_str(),
                    format!("Could not resolve the output directory {outdir:?}: {err}"),
                )]);
            }
        },
    };
    let mut dirs = DirCache { canonical_outdir: &canonical_outdir, known: HashMap::new() };

    let current: HashSet<&str> = validated.normalized.iter().map(String::as_str).collect();
    let new_dirs: HashSet<&str> =
        validated.normalized.iter().flat_map(|norm| norm.match_indices('/').map(move |(i, _)| &norm[..i])).collect();
    let (stale_first, stale_later): (Vec<&str>, Vec<&str>) = previous
        .map(|prev| prev.paths().filter(|p| !current.contains(p)).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .partition(|p| new_dirs.contains(p));

    let mut errors = Vec::new();
    let mut report = WriteReport::default();
    for stale in stale_first {
        delete_stale(&mut dirs, stale, &mut report, &mut errors);
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    for (file, norm) in files.iter().zip(&validated.normalized) {
        let prev = previous.and_then(|p| p.files.get(norm.as_str()));
        let prev_spare = previous.and_then(|p| p.spares.get(norm.as_str()));
        match write_one(&mut dirs, norm, file, prev, prev_spare, options.spare) {
            Ok((written, changed, spare)) => {
                report.set.files.insert(norm.clone(), written);
                if let Some(spare) = spare {
                    report.set.spares.insert(norm.clone(), spare);
                }
                if changed {
                    report.written.push(norm.clone());
                } else {
                    report.unchanged.push(norm.clone());
                }
            }
            Err((kind, message)) => errors.push(OutputError::new(kind, &file.path, message)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    for stale in stale_later {
        delete_stale(&mut dirs, stale, &mut report, &mut errors);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    report.deleted.sort();
    tracing::debug!(
        written = report.written.len(),
        unchanged = report.unchanged.len(),
        deleted = report.deleted.len(),
        "wrote outputs to {outdir}"
    );
    Ok(report)
}

type WriteError = (OutputErrorCode, String);

/// Canonical directories inside the output directory, created and checked once per write.
struct DirCache<'a> {
    canonical_outdir: &'a Path,
    /// Relative directory (normalized) → its canonical path.
    known: HashMap<String, PathBuf>,
}

impl DirCache<'_> {
    /// The canonical directory for `rel_dir` ("" is the output directory), created level by
    /// level if `create`; `Ok(None)` if it does not exist and `create` is false.
    fn resolve(&mut self, rel_dir: &str, create: bool) -> Result<Option<PathBuf>, WriteError> {
        if rel_dir.is_empty() {
            return Ok(Some(self.canonical_outdir.to_path_buf()));
        }
        if let Some(known) = self.known.get(rel_dir) {
            return Ok(Some(known.clone()));
        }
        let (parent_rel, name) = rel_dir.rsplit_once('/').unwrap_or(("", rel_dir));
        let Some(parent) = self.resolve(parent_rel, create)? else {
            return Ok(None);
        };
        let dir = parent.join(name);
        if std::fs::symlink_metadata(&dir).is_err() {
            if !create {
                return Ok(None);
            }
            match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                Err(err) => {
                    return Err((
                        OutputErrorCode::WriteFailed,
                        format!("Could not create directory {}: {err}", dir.display()),
                    ));
                }
            }
        }
        let canonical = std::fs::canonicalize(&dir)
            .map_err(|err| (OutputErrorCode::WriteFailed, format!("Could not resolve {}: {err}", dir.display())))?;
        if !canonical.starts_with(self.canonical_outdir) {
            return Err((
                OutputErrorCode::FilenameOutsideOutputDirectory,
                format!(
                    "Directory {} leads outside the output directory {} (to {})",
                    dir.display(),
                    self.canonical_outdir.display(),
                    canonical.display()
                ),
            ));
        }
        if !canonical.is_dir() {
            return Err((OutputErrorCode::WriteFailed, format!("{} exists and is not a directory", dir.display())));
        }
        self.known.insert(rel_dir.to_owned(), canonical.clone());
        Ok(Some(canonical))
    }
}

fn split_rel(rel: &str) -> (&str, &str) {
    rel.rsplit_once('/').unwrap_or(("", rel))
}

/// Writes one file unless its bytes are already there. Returns what is on disk, whether it was
/// written, and what its spare file holds now (when known).
fn write_one(
    dirs: &mut DirCache,
    rel: &str,
    file: &OutputFile,
    prev: Option<&Written>,
    prev_spare: Option<&Written>,
    spare: bool,
) -> Result<(Written, bool, Option<Written>), WriteError> {
    let (rel_dir, file_name) = split_rel(rel);
    let dir = dirs.resolve(rel_dir, true)?.expect("created on demand");
    let target = dir.join(file_name);
    let (hash, len) = (file.hash, file.len);

    let existing = std::fs::symlink_metadata(&target).ok();
    if let Some(meta) = &existing
        && meta.is_file()
        && meta.len() == len
    {
        let modified = meta.modified().ok();
        // The file on disk is the one we wrote last time: its hash says whether it is current.
        let ours = prev.is_some_and(|p| p.describes(meta));
        let current = if ours {
            prev.is_some_and(|p| p.hash == hash)
        } else {
            std::fs::read(&target).is_ok_and(|on_disk| file.equals(&on_disk))
        };
        if current {
            let layout = if ours { prev.and_then(|p| p.layout.clone()) } else { None };
            return Ok((Written { hash, len, modified, layout }, false, prev_spare.cloned()));
        }
    }

    let keep_permissions = existing.as_ref().filter(|m| m.is_file()).map(|m| m.permissions());
    let swapped = if spare && existing.as_ref().is_some_and(|m| m.is_file()) {
        write_via_spare(&dir, file_name, &target, file, prev_spare, keep_permissions.clone())
            .map_err(|err| (OutputErrorCode::WriteFailed, format!("Could not write {}: {err}", target.display())))?
    } else {
        Swap::NotDone
    };
    if swapped == Swap::NotDone {
        write_atomically(&dir, file_name, &target, &file.pieces, keep_permissions)
            .map_err(|err| (OutputErrorCode::WriteFailed, format!("Could not write {}: {err}", target.display())))?;
    }
    let meta = std::fs::symlink_metadata(&target).ok();
    let modified = meta.as_ref().and_then(|m| m.modified().ok());
    // Kept in watch mode only: the next write may swap this file out and write into it.
    let layout = meta.as_ref().filter(|_| spare).map(|meta| (inode(meta), Arc::from(file.pieces.as_slice())));
    // After an exchange the spare is the file that was the output: what `prev` recorded, if the
    // output was still ours then.
    let spare_now = match (swapped, &existing) {
        (Swap::Exchanged, Some(old)) => prev.filter(|p| p.describes(old)).cloned(),
        _ => None,
    };
    Ok((Written { hash, len, modified, layout }, true, spare_now))
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_meta: &std::fs::Metadata) -> u64 {
    0
}

/// How [`write_via_spare`] replaced the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Swap {
    /// Not at all (no spare possible here): write a temporary file instead.
    NotDone,
    /// Spare and output exchanged: the spare now holds the previous output.
    Exchanged,
    /// Spare renamed over the output (no exchange on this system): there is no spare now.
    Renamed,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `pieces` to a fresh temporary file in `dir`, then renames it onto `target`.
fn write_atomically(
    dir: &Path,
    file_name: &str,
    target: &Path,
    pieces: &[Arc<[u8]>],
    permissions: Option<std::fs::Permissions>,
) -> io::Result<()> {
    let stem = short_stem(file_name);
    let pid = std::process::id();
    let (temp, mut file) = loop {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{stem}.packem-{pid}-{n}.tmp"));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => break (temp, file),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    };
    let result = (|| {
        write_all_pieces(&mut file, pieces)?;
        if let Some(permissions) = permissions {
            file.set_permissions(permissions)?;
        }
        drop(file);
        std::fs::rename(&temp, target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// The spare file kept next to output `file_name` (see [`WriteOptions::spare`]).
fn spare_name(file_name: &str) -> String {
    format!(".{}.packem-spare", short_stem(file_name))
}

/// At most the first 100 bytes of `file_name` (on a character boundary), so the names of
/// temporary and spare files stay well below the usual 255-byte limit.
fn short_stem(file_name: &str) -> &str {
    let mut end = file_name.len().min(100);
    while !file_name.is_char_boundary(end) {
        end -= 1;
    }
    &file_name[..end]
}

/// Writes `file` into the spare file of `target` (reusing its pages) and swaps it with `target`
/// in one atomic rename. Returns [`Swap::NotDone`] (nothing done) where that is not possible:
/// not Linux, or the spare is not a plain file of ours (a symlink or a file with other links).
///
/// When `expected` says what the spare holds (the output before the last swap, identified by
/// inode, size and mtime), only the pieces that differ are written: the common leading pieces
/// are skipped, and when the size is unchanged so are the common trailing ones. An edit near the
/// end of a bundle, or one that keeps its module's length, then writes kilobytes instead of the
/// whole file. Pieces are compared by address first (unchanged modules share their memo's
/// allocation), then by bytes.
#[cfg(target_os = "linux")]
fn write_via_spare(
    dir: &Path,
    file_name: &str,
    target: &Path,
    out: &OutputFile,
    expected: Option<&Written>,
    permissions: Option<std::fs::Permissions>,
) -> io::Result<Swap> {
    use std::io::Seek as _;
    use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
    let spare = dir.join(spare_name(file_name));
    // No O_TRUNC: overwriting keeps the allocated pages; `set_len` trims the tail afterwards.
    let Ok(mut file) = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(&spare)
    else {
        return Ok(Swap::NotDone);
    };
    let meta = file.metadata()?;
    if !meta.is_file() || meta.nlink() != 1 {
        return Ok(Swap::NotDone);
    }
    let held = expected.and_then(|e| {
        let (ino, pieces) = e.layout.as_ref()?;
        (*ino == meta.ino() && e.describes(&meta)).then_some((pieces, e.len))
    });
    let (first, offset, end) = match held {
        Some((held, held_len)) => unchanged_ends(held, held_len, &out.pieces, out.len),
        None => (0, 0, out.pieces.len()),
    };
    let result = (|| {
        file.seek(io::SeekFrom::Start(offset))?;
        write_all_pieces(&mut file, &out.pieces[first..end])?;
        if meta.len() != out.len {
            file.set_len(out.len)?;
        }
        if held.is_some() {
            // A partial write may write nothing at all (an edit undone): the output is new anyway.
            file.set_modified(SystemTime::now())?;
        }
        if let Some(permissions) = permissions {
            file.set_permissions(permissions)?;
        }
        Ok(())
    })();
    if let Err(err) = result {
        // Its bytes are unknown now: never skip pieces in it again.
        drop(file);
        let _ = std::fs::remove_file(&spare);
        return Err(err);
    }
    drop(file);
    let cwd = rustix::fs::CWD;
    match rustix::fs::renameat_with(cwd, &spare, cwd, target, rustix::fs::RenameFlags::EXCHANGE) {
        Ok(()) => Ok(Swap::Exchanged),
        // No exchange here (an old kernel or another file system): a plain rename is still atomic.
        Err(_) => std::fs::rename(&spare, target).map(|()| Swap::Renamed),
    }
}

#[cfg(not(target_os = "linux"))]
fn write_via_spare(
    _dir: &Path,
    _file_name: &str,
    _target: &Path,
    _out: &OutputFile,
    _expected: Option<&Written>,
    _permissions: Option<std::fs::Permissions>,
) -> io::Result<Swap> {
    Ok(Swap::NotDone)
}

/// Which of `new`'s pieces must be written over a file holding `held`: returns the first piece
/// to write, its byte offset, and the end of the pieces to write. Leading pieces equal in both
/// are skipped; trailing ones too when both are `len` bytes long (then they sit at the same
/// offsets).
fn unchanged_ends(held: &[Arc<[u8]>], held_len: u64, new: &[Arc<[u8]>], len: u64) -> (usize, u64, usize) {
    let same = |a: &Arc<[u8]>, b: &Arc<[u8]>| Arc::ptr_eq(a, b) || a[..] == b[..];
    let first = held.iter().zip(new).take_while(|(a, b)| same(a, b)).count();
    let offset = new[..first].iter().map(|p| p.len() as u64).sum();
    if held_len != len {
        return (first, offset, new.len());
    }
    let tail = held[first..].iter().rev().zip(new[first..].iter().rev()).take_while(|(a, b)| same(a, b)).count();
    (first, offset, new.len() - tail)
}

/// Deletes the spare files [`WriteOptions::spare`] kept for the outputs in `written` (call when
/// a watch session ends). Errors are ignored: a spare left behind is only a hidden file.
pub fn remove_spares(outdir: &Utf8Path, written: &WrittenSet) {
    let outdir = lexical_normalize(outdir);
    for rel in written.paths() {
        let (rel_dir, file_name) = split_rel(rel);
        let dir = if rel_dir.is_empty() { outdir.clone() } else { outdir.join(rel_dir) };
        let spare = dir.join(spare_name(file_name));
        if std::fs::symlink_metadata(&spare).is_ok_and(|m| m.is_file()) {
            let _ = std::fs::remove_file(&spare);
        }
    }
}

/// Writes every piece in order with vectored writes (a few system calls for thousands of pieces).
fn write_all_pieces(file: &mut std::fs::File, pieces: &[Arc<[u8]>]) -> io::Result<()> {
    // Linux accepts at most 1,024 buffers per call.
    const BATCH: usize = 1024;
    for batch in pieces.chunks(BATCH) {
        let mut slices: Vec<io::IoSlice<'_>> =
            batch.iter().filter(|p| !p.is_empty()).map(|p| io::IoSlice::new(p)).collect();
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            match file.write_vectored(slices) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "failed to write whole output")),
                Ok(n) => io::IoSlice::advance_slices(&mut slices, n),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }
    Ok(())
}

/// Deletes one stale output (a file or symlink, never a directory) if it is still there.
fn delete_stale(dirs: &mut DirCache, rel: &str, report: &mut WriteReport, errors: &mut Vec<OutputError>) {
    let (rel_dir, file_name) = split_rel(rel);
    let dir = match dirs.resolve(rel_dir, false) {
        Ok(Some(dir)) => dir,
        Ok(None) => return, // already gone with its directory
        Err((kind, message)) => {
            errors.push(OutputError::new(kind, rel, format!("Not deleting stale output: {message}")));
            return;
        }
    };
    let target = dir.join(file_name);
    // Its spare (see `WriteOptions::spare`) goes with it.
    let spare = dir.join(spare_name(file_name));
    if std::fs::symlink_metadata(&spare).is_ok_and(|m| m.is_file()) {
        let _ = std::fs::remove_file(&spare);
    }
    match std::fs::symlink_metadata(&target) {
        Ok(meta) if !meta.is_dir() => match std::fs::remove_file(&target) {
            Ok(()) => report.deleted.push(rel.to_owned()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => errors.push(OutputError::new(
                OutputErrorCode::WriteFailed,
                rel,
                format!("Could not delete stale output {}: {err}", target.display()),
            )),
        },
        _ => {}
    }
}

/// A 128-bit content hash (XXH3-128: fast enough to hash a 10 MB bundle in about a millisecond,
/// which matters because every rebuild hashes every output).
fn content_hash(bytes: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(bytes)
}
