//! `module_edges`: what one module's import records resolve to, before the graph numbers the
//! modules. Memoized per module, so an edit that changes one module's imports resolves only that
//! module's records again, and the graph walk over every other module is a few table lookups
//! (keyed by file inputs, not by hashing paths).

use std::sync::Arc;

use camino::Utf8PathBuf;
use packem_db::{File, Loader, Project};
use packem_parse::{ImportKind, ModuleFormat, Source, module_summary};
use packem_resolve::{Resolution, ResolveFailure, ResolveRequest, resolve};

use crate::{kind_bundles_target, loader_of_type, resolve_kind};

/// One module's format and resolved import records, in record order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ModuleEdges {
    /// ESM, CommonJS, JSON or no module syntax.
    pub format: ModuleFormat,
    /// One per import record.
    pub records: Vec<RecordEdge>,
}

/// One import record and what it resolved to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RecordEdge {
    /// The specifier as written.
    pub specifier: String,
    /// How it is imported.
    pub kind: ImportKind,
    /// Whether the record is a `require()`/`import()` inside a `try` block.
    pub in_try_block: bool,
    /// The `type` import attribute, if any.
    pub type_attribute: Option<String>,
    /// What it resolved to.
    pub target: RecordTarget,
}

/// What a record resolved to, with files as inputs (the graph turns them into module ids).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RecordTarget {
    /// A file bundled as a module.
    Module {
        /// The file.
        file: File,
        /// Disabled by a package.json `browser` field.
        disabled: bool,
        /// The loader an import attribute asks for.
        forced: Option<Loader>,
    },
    /// A file referenced but not bundled as a module.
    Asset(Utf8PathBuf),
    /// Left as an import in the output.
    External(String),
    /// Resolution failed.
    Unresolved(ResolveFailure),
}

/// The resolved import records of `source` (a module of `project`).
#[salsa::tracked(returns(ref))]
pub fn module_edges(db: &dyn packem_resolve::Db, project: Project, source: Source) -> Arc<ModuleEdges> {
    let summary = module_summary(db, source);
    let dir = source.file(db).path(db).parent().map(|p| p.to_owned()).unwrap_or_default();
    let scope = project.scope(db);
    let records = summary
        .records
        .iter()
        .map(|record| {
            let type_attribute = record.attributes.iter().find(|(k, _)| k == "type").map(|(_, v)| v.clone());
            if let Some(pattern) = record.specifier.strip_prefix(packem_parse::CONTEXT_PREFIX) {
                // A context module: generated code (never under the attribute's loader; its
                // members are imported with it).
                let key = packem_db::context::ContextKey {
                    dir: dir.clone(),
                    pattern: pattern.to_string(),
                    kind: match record.kind {
                        ImportKind::Require => packem_db::context::ContextKind::Require,
                        _ => packem_db::context::ContextKind::Import,
                    },
                    type_attribute: type_attribute.clone(),
                };
                let file = db.files().file(db, &key.path());
                return RecordEdge {
                    specifier: record.specifier.clone(),
                    kind: record.kind,
                    in_try_block: record.in_try_block,
                    type_attribute: None,
                    target: RecordTarget::Module { file, disabled: false, forced: None },
                };
            }
            let request =
                ResolveRequest::new(db, scope, dir.clone(), record.specifier.clone(), resolve_kind(record.kind));
            let forced = type_attribute.as_deref().and_then(loader_of_type);
            let target = match resolve(db, request) {
                Resolution::File { path, .. } if kind_bundles_target(record.kind) => {
                    RecordTarget::Module { file: db.files().file(db, path), disabled: false, forced }
                }
                Resolution::File { path, .. } => RecordTarget::Asset(path.clone()),
                Resolution::Ignored { path } => {
                    RecordTarget::Module { file: db.files().file(db, path), disabled: true, forced: None }
                }
                Resolution::External { path, .. } => RecordTarget::External(path.clone()),
                Resolution::Failed(failure) => RecordTarget::Unresolved(failure.clone()),
            };
            RecordEdge {
                specifier: record.specifier.clone(),
                kind: record.kind,
                in_try_block: record.in_try_block,
                type_attribute,
                target,
            }
        })
        .collect();
    Arc::new(ModuleEdges { format: summary.format, records })
}
