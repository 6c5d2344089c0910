//! Context modules (webpack's and Rspack's *context dependency*): an `import()` or `require()`
//! whose specifier is a template or a concatenation with a static directory prefix,
//! `` import(`./locale/${lang}.json`) ``, loads one of the files that match the pattern
//! (`./locale/*.json`). The scan records the pattern; resolution maps it to a *context module*,
//! a virtual file whose text is generated here from the directory's listing: a table from each
//! matching file's specifier, spelled as the importer would compute it, to an `import()` or
//! `require()` of that file. The listing is a query over the directory's `File` input, so
//! creating or deleting a matching file changes the context module and nothing else.
//!
//! A `*` stands for each dynamic part and matches any characters but `/`: a pattern covers one
//! directory, not the directories below it.
#![allow(clippy::disallowed_methods)] // directory listings are inputs this module owns (see clippy.toml)

use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};

use crate::files::{File, FileStatus, normalize};
use crate::{Db, syntax};

/// Separates a context module's pattern from its kind in its path.
const MARKER: &str = "#packem-context:";

/// How a context module's members are loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContextKind {
    /// `import()`: the module is ESM, its default export returns a promise of the member's namespace.
    Import,
    /// `require()`: the module is CommonJS, its export is a function returning the member's exports.
    Require,
}

/// What a context module covers: the importer's directory, the pattern as written (a `*` for
/// each dynamic part), how it loads, and the `type` import attribute its members get.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContextKey {
    /// The importer's directory (absolute, normalized).
    pub dir: Utf8PathBuf,
    /// The pattern as written, e.g. `./locale/*.json`.
    pub pattern: String,
    /// `import()` or `require()`.
    pub kind: ContextKind,
    /// The `type` import attribute (`json`, `text`, …), given to every member.
    pub type_attribute: Option<String>,
}

impl ContextKey {
    /// The context module's path: `<dir>/<pattern>#packem-context:<kind>:<type>`. Virtual: never
    /// looked up on disk, always existing; readable relative to the project in diagnostics,
    /// `packem graph` and the bundle's comments.
    pub fn path(&self) -> Utf8PathBuf {
        let kind = match self.kind {
            ContextKind::Import => "import",
            ContextKind::Require => "require",
        };
        let ty = self.type_attribute.as_deref().unwrap_or("");
        Utf8PathBuf::from(format!("{}/{}{MARKER}{kind}:{ty}", self.dir, self.pattern))
    }

    /// Parses [`ContextKey::path`].
    pub fn parse(path: &Utf8Path) -> Option<ContextKey> {
        let (place, rest) = path.as_str().rsplit_once(MARKER)?;
        let (kind, ty) = rest.split_once(':')?;
        let kind = match kind {
            "import" => ContextKind::Import,
            "require" => ContextKind::Require,
            _ => return None,
        };
        // The directory is normalized, so the first `/./` or `/../` starts the pattern.
        let start = [place.find("/./"), place.find("/../")].into_iter().flatten().min()?;
        Some(ContextKey {
            dir: Utf8PathBuf::from(&place[..start]),
            pattern: place[start + 1..].to_string(),
            kind,
            type_attribute: (!ty.is_empty()).then(|| ty.to_string()),
        })
    }

    /// The directory the members are in (absolute, normalized) and the file-name glob, or
    /// `None` when the pattern's directory part has a `*` (a dynamic directory).
    pub fn listing(&self) -> Option<(Utf8PathBuf, &str)> {
        let (dir, glob) = self.pattern.rsplit_once('/')?;
        (!dir.contains('*')).then(|| (normalize(&self.dir.join(dir)), glob))
    }
}

/// Whether `path` is a context module's ([`ContextKey::path`]).
pub fn is_context_path(path: &Utf8Path) -> bool {
    path.as_str().contains(MARKER)
}

/// The names of the files (not directories) in `dir`, sorted; empty when it is not a directory.
/// Covered by the directory's `revision`, which the host bumps when a path appears in it or
/// disappears from it.
#[salsa::tracked(returns(ref))]
pub fn dir_entries(db: &dyn Db, dir: File) -> Arc<[String]> {
    let _ = dir.revision(db);
    if dir.status(db) != FileStatus::Directory {
        return Arc::from([]);
    }
    let _span = tracing::debug_span!("dir_entries", path = %dir.path(db)).entered();
    let Ok(read) = std::fs::read_dir(dir.path(db)) else { return Arc::from([]) };
    let mut names: Vec<String> = read
        .filter_map(Result::ok)
        // Symlinks count as what they point at.
        .filter(|entry| std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    names.into()
}

/// Whether `name` matches `glob`, whose `*`s match any characters (none included).
pub fn glob_matches(glob: &str, name: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return glob == name;
    }
    if name.len() < first.len() + last.len() || !name.starts_with(first) || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Extensions a pattern that names none matches (as webpack's `resolve.extensions`): code and
/// JSON, never a `README.md` or a source map next to them.
const CODE_EXTENSIONS: &[&str] = &["js", "mjs", "cjs", "jsx", "ts", "mts", "cts", "tsx", "json"];

/// The files a context module covers: each specifier the importer may compute for a member (the
/// pattern with its `*`s filled in) and the member's absolute path, sorted by specifier. A
/// pattern whose end names no extension (`"./handlers/" + name`) matches only code and JSON
/// files, and each of them also answers to its name without the extension, as `require` and
/// bundlers resolve it.
pub fn context_members(db: &dyn Db, key: &ContextKey) -> Vec<(String, Utf8PathBuf)> {
    let Some((dir, glob)) = key.listing() else { return Vec::new() };
    let prefix = &key.pattern[..key.pattern.len() - glob.len()];
    let names_extension = glob.rsplit('*').next().is_some_and(|end| end.contains('.'));
    let dir_file = db.files().file(db, &dir);
    let mut members: Vec<(String, Utf8PathBuf)> = Vec::new();
    for name in dir_entries(db, dir_file).iter().filter(|name| glob_matches(glob, name)) {
        let path = dir.join(name);
        if names_extension {
            members.push((format!("{prefix}{name}"), path));
            continue;
        }
        let Some((stem, extension)) = name.rsplit_once('.').filter(|(stem, _)| !stem.is_empty()) else { continue };
        if !CODE_EXTENSIONS.contains(&extension) {
            continue;
        }
        members.push((format!("{prefix}{name}"), path.clone()));
        if glob_matches(glob, stem) {
            members.push((format!("{prefix}{stem}"), path));
        }
    }
    // The first file claims a name without its extension (`a.js` before `a.json`, by name).
    members.sort_by(|a, b| a.0.cmp(&b.0));
    members.dedup_by(|later, earlier| later.0 == earlier.0);
    members
}

/// The generated text of the context module at `path`: a table of its members and a function
/// that loads one by the specifier the importer computed (an unknown one fails as Node fails:
/// `MODULE_NOT_FOUND` from `require`, a rejected promise from `import()`).
pub fn context_text(db: &dyn Db, path: &Utf8Path) -> Arc<str> {
    let Some(key) = ContextKey::parse(path) else { return Arc::from("") };
    let members = context_members(db, &key);
    let attributes = match &key.type_attribute {
        Some(ty) => format!(", {{ with: {{ type: {} }} }}", syntax::quote(ty)),
        None => String::new(),
    };
    let (header, fail, code) = match key.kind {
        ContextKind::Import => {
            ("export default function load(specifier) {", "return Promise.reject(missing);", "ERR_MODULE_NOT_FOUND")
        }
        ContextKind::Require => ("module.exports = function load(specifier) {", "throw missing;", "MODULE_NOT_FOUND"),
    };
    let mut out = format!("// The files matching {}\nconst members = {{\n", syntax::quote(&key.pattern));
    for (specifier, file) in &members {
        // Relative to the context module's own directory, which is the members'.
        let relative = format!("./{}", file.file_name().unwrap_or_default());
        let call = match key.kind {
            ContextKind::Import => format!("import({}{attributes})", syntax::quote(&relative)),
            ContextKind::Require => format!("require({})", syntax::quote(&relative)),
        };
        out.push_str(&format!("  {}: () => {call},\n", syntax::quote(specifier)));
    }
    out.push_str(&format!(
        "}};\n{header}\n  if (Object.prototype.hasOwnProperty.call(members, specifier)) return members[specifier]();\n  \
         const missing = Object.assign(new Error(\"Cannot find module '\" + specifier + \"'\"), {{ code: {} }});\n  {fail}\n}}\n",
        syntax::quote(code)
    ));
    Arc::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        let key = ContextKey {
            dir: "/p/src".into(),
            pattern: "../src/locale/*.json".into(),
            kind: ContextKind::Import,
            type_attribute: Some("json".into()),
        };
        assert_eq!(key.path(), "/p/src/../src/locale/*.json#packem-context:import:json");
        assert_eq!(ContextKey::parse(&key.path()), Some(key.clone()));
        assert_eq!(key.listing(), Some(("/p/src/locale".into(), "*.json")));
        let plain =
            ContextKey { pattern: "./a-*-b*.js".into(), kind: ContextKind::Require, type_attribute: None, ..key };
        assert_eq!(ContextKey::parse(&plain.path()), Some(plain));
    }

    #[test]
    fn globs_match_any_characters_at_each_star() {
        assert!(glob_matches("*.json", "en.json"));
        assert!(glob_matches("*.json", ".json"));
        assert!(!glob_matches("*.json", "en.js"));
        assert!(glob_matches("a-*-b*.js", "a-x-b.js"));
        assert!(glob_matches("a-*-b*.js", "a--bzz.js"));
        assert!(!glob_matches("a-*-b*.js", "a-x-c.js"));
        assert!(!glob_matches("ab*ba", "aba"));
    }
}
