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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFile {
    /// Relative to the output directory, e.g. `chunks/chunk-X7Q2.js`.
    pub path: String,
    /// The exact bytes to write.
    pub contents: Arc<[u8]>,
}

impl OutputFile {
    /// An output file at `path` with `contents`.
    pub fn new(path: impl Into<String>, contents: impl Into<Arc<[u8]>>) -> Self {
        OutputFile { path: path.into(), contents: contents.into() }
    }
}

/// What one written file looked like right after we wrote (or confirmed) it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Written {
    hash: u128,
    len: u64,
    modified: Option<SystemTime>,
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
        let hash = content_hash(&file.contents);
        let prev = previous.and_then(|p| p.files.get(norm.as_str()));
        match write_one(&mut dirs, norm, &file.contents, hash, prev) {
            Ok((written, changed)) => {
                report.set.files.insert(norm.clone(), written);
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

/// Writes one file unless its bytes are already there. Returns what is on disk and whether it
/// was written.
fn write_one(
    dirs: &mut DirCache,
    rel: &str,
    contents: &[u8],
    hash: u128,
    prev: Option<&Written>,
) -> Result<(Written, bool), WriteError> {
    let (rel_dir, file_name) = split_rel(rel);
    let dir = dirs.resolve(rel_dir, true)?.expect("created on demand");
    let target = dir.join(file_name);
    let len = contents.len() as u64;

    let existing = std::fs::symlink_metadata(&target).ok();
    if let Some(meta) = &existing
        && meta.is_file()
        && meta.len() == len
    {
        let modified = meta.modified().ok();
        let trusted =
            prev.is_some_and(|p| p.hash == hash && p.len == len && p.modified.is_some() && p.modified == modified);
        if trusted || std::fs::read(&target).is_ok_and(|on_disk| on_disk == contents) {
            return Ok((Written { hash, len, modified }, false));
        }
    }

    let keep_permissions = existing.filter(|m| m.is_file()).map(|m| m.permissions());
    write_atomically(&dir, file_name, &target, contents, keep_permissions)
        .map_err(|err| (OutputErrorCode::WriteFailed, format!("Could not write {}: {err}", target.display())))?;
    let modified = std::fs::symlink_metadata(&target).and_then(|m| m.modified()).ok();
    Ok((Written { hash, len, modified }, true))
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `contents` to a fresh temporary file in `dir`, then renames it onto `target`.
fn write_atomically(
    dir: &Path,
    file_name: &str,
    target: &Path,
    contents: &[u8],
    permissions: Option<std::fs::Permissions>,
) -> io::Result<()> {
    // Keep the temporary name well below the usual 255-byte limit.
    let mut stem_end = file_name.len().min(100);
    while !file_name.is_char_boundary(stem_end) {
        stem_end -= 1;
    }
    let stem = &file_name[..stem_end];
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
        file.write_all(contents)?;
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
