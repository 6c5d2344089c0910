//! The nearest `package.json` above a module and the fields linking reads from it: `"type"`
//! (which interop an importer gets, see `module_type.rs`) and `"sideEffects"` (see
//! `side_effects.rs`). Found once per module and parsed once per manifest.

use packem_db::{File, FileStatus, source_text};

/// The nearest `package.json` above `file` (a `node_modules` directory is not a package).
///
/// Depends on the existence of every `package.json` path up to the one found, so creating one
/// re-runs it.
#[salsa::tracked(returns(copy))]
pub fn nearest_manifest(db: &dyn packem_db::Db, file: File) -> Option<File> {
    if packem_db::files::is_virtual(file.path(db)) {
        // Another target's output, or a context module, belongs to no package.
        return None;
    }
    let mut dir = file.path(db).parent();
    while let Some(current) = dir {
        if current.file_name() != Some("node_modules") {
            let manifest = db.files().file(db, &current.join("package.json"));
            if manifest.status(db) == FileStatus::Exists {
                return Some(manifest);
            }
        }
        dir = current.parent();
    }
    None
}

/// What a package.json's `"sideEffects"` says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum SideEffects {
    /// Absent, `true`, or not a boolean or list: every file may have side effects.
    #[default]
    All,
    /// `false`: no file has any.
    None,
    /// Only the files these globs match have side effects.
    Globs(Vec<String>),
}

/// The fields of one `package.json` that linking reads. An unreadable or invalid manifest has
/// the defaults (not `"type": "module"`, side effects everywhere).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Manifest {
    /// `"type": "module"`.
    pub type_module: bool,
    /// `"sideEffects"`.
    pub side_effects: SideEffects,
}

/// The linking fields of the `package.json` file `manifest`, parsed once however many modules
/// the package has.
#[salsa::tracked(returns(ref))]
pub fn manifest(db: &dyn packem_db::Db, manifest: File) -> Manifest {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(source_text(db, manifest).as_str()) else {
        return Manifest::default();
    };
    let side_effects = match json.get("sideEffects") {
        Some(serde_json::Value::Bool(false)) => SideEffects::None,
        Some(serde_json::Value::Array(globs)) => {
            SideEffects::Globs(globs.iter().filter_map(|g| g.as_str().map(str::to_string)).collect())
        }
        _ => SideEffects::All,
    };
    Manifest { type_module: json.get("type").and_then(|t| t.as_str()) == Some("module"), side_effects }
}
