//! package.json `sideEffects`: which files a package declares free of side effects.

use packem_db::{File, FileStatus, source_text};

/// Whether the nearest `package.json` above `file` says that `file` has no side effects:
/// `"sideEffects": false`, or a list of globs (relative to the package; a glob without a `/`
/// matches the file name in any directory, as webpack and esbuild read it) that `file` does
/// not match. Such a module is dropped when nothing it exports is used.
///
/// Depends on the existence and text of every `package.json` up to the nearest one.
#[salsa::tracked(returns(copy))]
pub fn side_effect_free(db: &dyn packem_db::Db, file: File) -> bool {
    let path = file.path(db);
    let mut dir = path.parent();
    while let Some(current) = dir {
        if current.file_name() != Some("node_modules") {
            let manifest = db.files().file(db, &current.join("package.json"));
            if manifest.status(db) == FileStatus::Exists {
                let Ok(json) = serde_json::from_str::<serde_json::Value>(source_text(db, manifest).as_str()) else {
                    return false;
                };
                let Ok(relative) = path.strip_prefix(current) else {
                    return false;
                };
                return match json.get("sideEffects") {
                    Some(serde_json::Value::Bool(value)) => !value,
                    Some(serde_json::Value::Array(globs)) => {
                        !globs.iter().filter_map(|g| g.as_str()).any(|glob| matches(glob, relative.as_str()))
                    }
                    _ => false,
                };
            }
        }
        dir = current.parent();
    }
    false
}

/// Whether the package-relative `path` (forward slashes) matches a `sideEffects` glob.
fn matches(glob: &str, path: &str) -> bool {
    let path = path.replace('\\', "/");
    let glob = glob.strip_prefix("./").unwrap_or(glob);
    if glob.contains('/') {
        fast_glob::glob_match(glob, &path)
    } else {
        fast_glob::glob_match(format!("**/{glob}"), &path)
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs_as_webpack_reads_them() {
        assert!(matches("*.css", "src/a/b.css"));
        assert!(matches("./src/polyfill.js", "src/polyfill.js"));
        assert!(!matches("./src/polyfill.js", "lib/src/polyfill.js"));
        assert!(matches("src/**/*.js", "src/a/b.js"));
        assert!(!matches("*.css", "src/a.js"));
    }
}
