//! Whether an ESM module imports CommonJS with Node's interop or Babel's.
//!
//! Node's rule (the default import of CommonJS is `module.exports`, `__esModule` is ignored)
//! applies when the importer is unambiguously ESM to Node: a `.mjs`/`.mts` file or a file in a
//! package whose nearest `package.json` says `"type": "module"`. Other ESM files get the
//! `__esModule`-aware interop every bundler and transpiler has used (esbuild's rule too).

use packem_db::{File, FileStatus, source_text};

/// Whether `file`'s imports of CommonJS modules use Node's interop.
///
/// Depends on the existence and text of every `package.json` up to the nearest one, so creating
/// or editing one re-runs it.
#[salsa::tracked(returns(copy))]
pub fn node_esm_interop(db: &dyn packem_db::Db, file: File) -> bool {
    let path = file.path(db);
    match path.extension() {
        Some("mjs" | "mts") => return true,
        Some("cjs" | "cts") => return false,
        _ => {}
    }
    let mut dir = path.parent();
    while let Some(current) = dir {
        if current.file_name() != Some("node_modules") {
            let manifest = db.files().file(db, &current.join("package.json"));
            if manifest.status(db) == FileStatus::Exists {
                let text = source_text(db, manifest);
                return serde_json::from_str::<serde_json::Value>(text.as_str())
                    .ok()
                    .and_then(|v| v.get("type")?.as_str().map(|t| t == "module"))
                    .unwrap_or(false);
            }
        }
        dir = current.parent();
    }
    false
}
