//! package.json `sideEffects`: which files a package declares free of side effects.

use packem_db::File;

use crate::package_json::{SideEffects, manifest, nearest_manifest};

/// Whether the nearest `package.json` above `file` says that `file` has no side effects:
/// `"sideEffects": false`, or a list of globs (relative to the package; a glob without a `/`
/// matches the file name in any directory, as webpack and esbuild read it) that `file` does
/// not match. Such a module is dropped when nothing it exports is used.
#[salsa::tracked(returns(copy))]
pub fn side_effect_free(db: &dyn packem_db::Db, file: File) -> bool {
    let Some(found) = nearest_manifest(db, file) else {
        return false;
    };
    match &manifest(db, found).side_effects {
        SideEffects::All => false,
        SideEffects::None => true,
        SideEffects::Globs(globs) => {
            let package = found.path(db).parent().unwrap_or(camino::Utf8Path::new(""));
            let Ok(relative) = file.path(db).strip_prefix(package) else {
                return false;
            };
            !globs.iter().any(|glob| matches(glob, relative.as_str()))
        }
    }
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
