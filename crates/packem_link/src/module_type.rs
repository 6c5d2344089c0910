//! Whether an ESM module imports CommonJS with Node's interop or Babel's.
//!
//! Node's rule (the default import of CommonJS is `module.exports`, `__esModule` is ignored)
//! applies when the importer is unambiguously ESM to Node: a `.mjs`/`.mts` file or a file in a
//! package whose nearest `package.json` says `"type": "module"`. Other ESM files get the
//! `__esModule`-aware interop every bundler and transpiler has used (esbuild's rule too).

use packem_db::File;

use crate::package_json::{manifest, nearest_manifest};

/// Whether `file`'s imports of CommonJS modules use Node's interop.
#[salsa::tracked(returns(copy))]
pub fn node_esm_interop(db: &dyn packem_db::Db, file: File) -> bool {
    match file.path(db).extension() {
        Some("mjs" | "mts") => true,
        Some("cjs" | "cts") => false,
        _ => nearest_manifest(db, file).is_some_and(|found| manifest(db, found).type_module),
    }
}
