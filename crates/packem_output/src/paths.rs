//! Output path validation: everything is checked before anything is written.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use camino::{Utf8Component, Utf8Path, Utf8PathBuf};

use crate::error::{OutputError, OutputErrorCode};
use crate::write::{OutputFile, WriteOptions};

/// Normalizes an output path relative to the output directory.
///
/// Backslashes count as separators (a path from a Windows-minded plugin must not smuggle `..`
/// past us on Unix), `.` and empty components are dropped and `..` pops a component. The result
/// uses forward slashes and is never empty.
///
/// Rejected: the empty path, NUL bytes, a trailing separator (names a directory), absolute paths
/// (`/x`, `\x`, `\\server\x`, `C:\x`, `C:x`), `..` escaping the output directory, and paths that
/// normalize to the output directory itself.
pub fn normalize_output_path(path: &str) -> Result<String, OutputError> {
    use OutputErrorCode::{FilenameOutsideOutputDirectory as Outside, InvalidOutputPath as Invalid};
    if path.is_empty() {
        return Err(OutputError::new(Invalid, path, "Output path is empty"));
    }
    if path.contains('\0') {
        return Err(OutputError::new(Invalid, path, format!("Output path {path:?} contains a NUL byte")));
    }
    let bytes = path.as_bytes();
    if bytes[0] == b'/' || bytes[0] == b'\\' {
        return Err(OutputError::new(
            Outside,
            path,
            format!("Output path {path:?} is absolute; it must be relative to the output directory"),
        ));
    }
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(OutputError::new(
            Outside,
            path,
            format!("Output path {path:?} has a drive prefix; it must be relative to the output directory"),
        ));
    }
    if path.ends_with(['/', '\\']) {
        return Err(OutputError::new(
            Invalid,
            path,
            format!("Output path {path:?} ends with a separator and names a directory, not a file"),
        ));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(OutputError::new(
                        Outside,
                        path,
                        format!("Output path {path:?} escapes the output directory through \"..\""),
                    ));
                }
            }
            _ => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Err(OutputError::new(
            Invalid,
            path,
            format!("Output path {path:?} refers to the output directory itself, not a file"),
        ));
    }
    Ok(parts.join("/"))
}

/// The result of validation, reused by the writer.
pub(crate) struct Validated {
    /// Normalized relative path of each file, in input order.
    pub normalized: Vec<String>,
    /// The output directory with symlinks resolved, if it exists yet.
    pub canonical_outdir: Option<PathBuf>,
}

/// Checks every output path without writing anything.
///
/// Reports every problem found (not only the first): malformed or escaping paths (see
/// [`normalize_output_path`]), two outputs with the same normalized path or one whose path is a
/// directory of another, an output equal to or inside an input file (unless
/// `options.allow_overwrite`), a directory component inside the output directory that is a
/// symlink leading outside it, and a relative `options.outdir`.
pub fn validate_paths(files: &[OutputFile], options: &WriteOptions) -> Result<(), Vec<OutputError>> {
    validate(files, options).map(|_| ())
}

pub(crate) fn validate(files: &[OutputFile], options: &WriteOptions) -> Result<Validated, Vec<OutputError>> {
    let outdir = options.outdir;
    if !outdir.is_absolute() {
        return Err(vec![OutputError::new(
            OutputErrorCode::InvalidOutputPath,
            outdir.as_str(),
            format!("The output directory {outdir:?} must be an absolute path"),
        )]);
    }
    let outdir = lexical_normalize(outdir);
    let canonical_outdir = std::fs::canonicalize(&outdir).ok();

    let mut errors = Vec::new();
    let mut normalized = Vec::with_capacity(files.len());
    // normalized path -> original path of its first occurrence
    let mut seen: HashMap<String, &str> = HashMap::with_capacity(files.len());
    for file in files {
        match normalize_output_path(&file.path) {
            Ok(norm) => {
                if let Some(first) = seen.get(norm.as_str()) {
                    errors.push(OutputError::new(
                        OutputErrorCode::DuplicateOutputPath,
                        &file.path,
                        format!("Two output files share the same path {norm:?} (from {first:?} and {:?})", file.path),
                    ));
                } else {
                    seen.insert(norm.clone(), &file.path);
                }
                normalized.push(norm);
            }
            Err(err) => {
                errors.push(err);
                normalized.push(String::new());
            }
        }
    }

    // A file and a directory cannot share a path: `a.js` and `a.js/b.js`.
    let mut reported: HashSet<&str> = HashSet::new();
    for norm in normalized.iter().filter(|n| !n.is_empty()) {
        for (i, _) in norm.match_indices('/') {
            let dir = &norm[..i];
            if seen.contains_key(dir) && reported.insert(dir) {
                errors.push(OutputError::new(
                    OutputErrorCode::DuplicateOutputPath,
                    dir,
                    format!("Output path {dir:?} is both a file and the directory of {norm:?}"),
                ));
            }
        }
    }

    // Inputs are compared as given (callers pass real paths: the resolver returns them) and
    // lexically normalized; each output's real location is resolved instead. Canonicalizing every
    // input here, on every write, cost more than the rest of a rebuild.
    // Only inputs at an output's path or above it matter: collect those few candidate paths
    // first, then scan the inputs once (hashing and normalizing thousands of input paths on
    // every write of a watch session cost milliseconds).
    let mut candidates: HashSet<std::path::PathBuf> = HashSet::new();
    for norm in normalized.iter().filter(|norm| !norm.is_empty()) {
        let target = outdir.join(norm);
        candidates.extend(target.ancestors().map(|a| a.as_std_path().to_path_buf()));
        if let Ok(Some(resolved)) = resolve_parent(&outdir, canonical_outdir.as_deref(), norm) {
            candidates.extend(resolved.ancestors().map(std::path::Path::to_path_buf));
        }
    }
    // The scan compares lengths before bytes and allocates only for the rare input path that is
    // not already normal: hashing or copying every input path cost ~1 ms per 10,000 inputs.
    let candidate_lens: Vec<usize> = candidates.iter().map(|c| c.as_os_str().len()).collect();
    let is_candidate =
        |p: &Utf8Path| candidate_lens.contains(&p.as_str().len()) && candidates.contains(p.as_std_path());
    let input_lexical: HashSet<Utf8PathBuf> = if options.allow_overwrite {
        HashSet::new()
    } else {
        options
            .inputs
            .iter()
            .filter_map(|p| {
                if !p.as_str().contains("/.") && !p.as_str().contains("//") {
                    return is_candidate(p).then(|| p.clone());
                }
                let p = lexical_normalize(p);
                is_candidate(&p).then_some(p)
            })
            .collect()
    };
    let input_real: HashSet<&std::path::Path> = input_lexical.iter().map(|p| p.as_std_path()).collect();

    for (file, norm) in files.iter().zip(&normalized) {
        if norm.is_empty() {
            continue;
        }
        let target = outdir.join(norm);
        // Symlinked directories inside the output directory must not lead outside it.
        let resolved = match resolve_parent(&outdir, canonical_outdir.as_deref(), norm) {
            Ok(resolved) => resolved,
            Err(escaped_to) => {
                errors.push(OutputError::new(
                    OutputErrorCode::FilenameOutsideOutputDirectory,
                    &file.path,
                    format!(
                        "Output path {:?} leads outside the output directory {outdir:?} through a symlink (to {})",
                        file.path,
                        escaped_to.display()
                    ),
                ));
                continue;
            }
        };
        if options.allow_overwrite {
            continue;
        }
        let hits_input = target.ancestors().any(|a| input_lexical.contains(a))
            || resolved
                .as_ref()
                .is_some_and(|r| input_real.contains(r.as_path()) || r.ancestors().any(|a| input_real.contains(a)));
        if hits_input {
            errors.push(OutputError::new(
                OutputErrorCode::OutputOverwritesInput,
                &file.path,
                format!(
                    "Refusing to overwrite input file {:?} (use \"--allow-overwrite\" to allow this)",
                    target.as_str()
                ),
            ));
        }
    }

    if errors.is_empty() { Ok(Validated { normalized, canonical_outdir }) } else { Err(errors) }
}

/// Resolves where `outdir/rel` would really be written: the deepest existing ancestor of its
/// parent directory is canonicalized and the rest appended. Fails with the resolved directory
/// when that directory is outside the canonical output directory.
///
/// Returns `Ok(None)` when the output directory does not exist yet (then nothing below it can be
/// a symlink).
pub(crate) fn resolve_parent(
    outdir: &Utf8Path,
    canonical_outdir: Option<&Path>,
    rel: &str,
) -> Result<Option<PathBuf>, PathBuf> {
    let Some(canonical_outdir) = canonical_outdir else {
        return Ok(None);
    };
    let components: Vec<&str> = rel.split('/').collect();
    let (file_name, dirs) = components.split_last().expect("normalized paths are non-empty");
    // Walk down from the output directory while the directories exist.
    let mut existing = outdir.to_path_buf();
    let mut depth = 0;
    for dir in dirs {
        let next = existing.join(dir);
        if std::fs::symlink_metadata(&next).is_err() {
            break;
        }
        existing = next;
        depth += 1;
    }
    let mut resolved = match std::fs::canonicalize(&existing) {
        Ok(resolved) => resolved,
        // A dangling symlink or a file where a directory should be: writing will fail cleanly
        // later (create_dir_all refuses), nothing can escape.
        Err(_) => return Ok(None),
    };
    if !resolved.starts_with(canonical_outdir) {
        return Err(resolved);
    }
    for dir in &dirs[depth..] {
        resolved.push(dir);
    }
    resolved.push(file_name);
    Ok(Some(resolved))
}

/// Removes `.` and resolves `..` lexically (on an absolute path `..` at the root stays at the root).
pub(crate) fn lexical_normalize(path: &Utf8Path) -> Utf8PathBuf {
    let mut out = Utf8PathBuf::new();
    for component in path.components() {
        match component {
            Utf8Component::CurDir => {}
            Utf8Component::ParentDir => {
                if out.as_str().is_empty() || out.ends_with("..") {
                    out.push("..");
                } else if out.parent().is_some() {
                    out.pop();
                }
            }
            other => out.push(other.as_str()),
        }
    }
    out
}
