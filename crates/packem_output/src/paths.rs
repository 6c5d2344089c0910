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
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    validate(&paths, options).map(|_| ())
}

/// [`validate_paths`] on the paths of a set of outputs.
pub(crate) fn validate(paths: &[&str], options: &WriteOptions) -> Result<Validated, Vec<OutputError>> {
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
    let mut normalized = Vec::with_capacity(paths.len());
    // normalized path -> original path of its first occurrence
    let mut seen: HashMap<String, &str> = HashMap::with_capacity(paths.len());
    for &path in paths {
        match normalize_output_path(path) {
            Ok(norm) => {
                if let Some(first) = seen.get(norm.as_str()) {
                    errors.push(OutputError::new(
                        OutputErrorCode::DuplicateOutputPath,
                        path,
                        format!("Two output files share the same path {norm:?} (from {first:?} and {path:?})"),
                    ));
                } else {
                    seen.insert(norm.clone(), path);
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
    // lexically normalized, once, by `InputPaths`; each output's real location is resolved
    // instead, once per directory (thousands of chunks share one). Looking up an output's few
    // ancestors keeps a write's cost independent of the number of inputs.
    let mut parents = ParentCache::default();
    for (&path, norm) in paths.iter().zip(&normalized) {
        if norm.is_empty() {
            continue;
        }
        let target = outdir.join(norm);
        // Symlinked directories inside the output directory must not lead outside it.
        let resolved = match parents.resolve(&outdir, canonical_outdir.as_deref(), norm) {
            Ok(resolved) => resolved,
            Err(escaped_to) => {
                errors.push(OutputError::new(
                    OutputErrorCode::FilenameOutsideOutputDirectory,
                    path,
                    format!(
                        "Output path {:?} leads outside the output directory {outdir:?} through a symlink (to {})",
                        path,
                        escaped_to.display()
                    ),
                ));
                continue;
            }
        };
        if options.allow_overwrite {
            continue;
        }
        let inputs = &options.inputs.paths;
        let hits_input = target.ancestors().any(|a| inputs.contains(a.as_std_path()))
            || resolved.as_ref().is_some_and(|r| r.ancestors().any(|a| inputs.contains(a)));
        if hits_input {
            errors.push(OutputError::new(
                OutputErrorCode::OutputOverwritesInput,
                path,
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

/// The input files outputs may not overwrite (see [`WriteOptions::inputs`]): absolute paths,
/// lexically normalized once when made, so that each write looks up only its outputs' paths.
#[derive(Clone, Debug, Default)]
pub struct InputPaths {
    paths: HashSet<PathBuf>,
}

impl InputPaths {
    /// The set of `paths`.
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a Utf8Path>) -> Self {
        let paths = paths
            .into_iter()
            .map(|p| if is_lexically_normal(p.as_str()) { p.to_path_buf() } else { lexical_normalize(p) })
            .map(Utf8PathBuf::into_std_path_buf)
            .collect();
        InputPaths { paths }
    }

    /// The number of paths.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

/// [`resolve_parent`] answers per output directory: every file directly in one directory
/// resolves to the directory's answer plus its name.
#[derive(Default)]
struct ParentCache {
    dirs: HashMap<String, Result<Option<PathBuf>, PathBuf>>,
}

impl ParentCache {
    fn resolve(
        &mut self,
        outdir: &Utf8Path,
        canonical_outdir: Option<&Path>,
        rel: &str,
    ) -> Result<Option<PathBuf>, PathBuf> {
        let (dir, file_name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let answer = match self.dirs.get(dir) {
            Some(answer) => answer.clone(),
            None => {
                // Resolve a stand-in file in the directory, then drop its name.
                let probe = if dir.is_empty() { "_".to_owned() } else { format!("{dir}/_") };
                let answer = resolve_parent(outdir, canonical_outdir, &probe)
                    .map(|resolved| resolved.map(|p| p.parent().map(Path::to_path_buf).unwrap_or(p)));
                self.dirs.insert(dir.to_owned(), answer.clone());
                answer
            }
        };
        answer.map(|resolved| resolved.map(|dir| dir.join(file_name)))
    }
}

/// Whether `path` has no empty, `.` or `..` component (then [`lexical_normalize`] keeps it).
fn is_lexically_normal(path: &str) -> bool {
    let bytes = path.as_bytes();
    // Only the few `/.` in a path can start a `.` or `..` component (a hidden directory does not).
    !path.contains("//")
        && path.match_indices("/.").all(|(at, _)| match bytes.get(at + 2) {
            None | Some(b'/') => false,
            Some(b'.') => !matches!(bytes.get(at + 3), None | Some(b'/')),
            Some(_) => true,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexically_normal_paths_are_told_from_ones_to_normalize() {
        for normal in ["/a/b.js", "/tmp/.tmpX/src/a.js", "/a/..b/c", "/a/.../c", "/a/b."] {
            assert!(is_lexically_normal(normal), "{normal}");
            assert_eq!(lexical_normalize(Utf8Path::new(normal)), normal);
        }
        for other in ["/a/./b", "/a/../b", "/a//b", "/a/.", "/a/.."] {
            assert!(!is_lexically_normal(other), "{other}");
        }
    }
}
