//! Parallel warm-up of per-module queries before the sequential graph query runs.
//!
//! salsa 0.28 runs queries on the calling thread only, so the graph query alone would parse one
//! module at a time. Instead, a level-synchronous breadth-first walk computes `module_summary`,
//! `module_symbols` and every `resolve` of a frontier in parallel (one database clone per rayon job), and the graph
//! query then only hits memos. On a rebuild most of these calls just validate.

use packem_db::{FileStatus, Project};
use packem_parse::module_summary;
use packem_resolve::{Resolution, ResolveRequest, resolve};
use rayon::prelude::*;
use rustc_hash::FxHashSet;

use crate::PackemDatabase;

pub(crate) fn prewarm(db: &PackemDatabase, project: Project) {
    let _span = tracing::info_span!("prewarm").entered();
    let files = packem_db::Db::files(db);
    let mut seen: FxHashSet<camino::Utf8PathBuf> = FxHashSet::default();
    let mut frontier: Vec<camino::Utf8PathBuf> = Vec::new();
    for entry in project.entries(db) {
        if files.file(db, entry).status(db) == FileStatus::Exists && seen.insert(entry.clone()) {
            frontier.push(entry.clone());
        }
    }
    while !frontier.is_empty() {
        let found: Vec<Vec<camino::Utf8PathBuf>> = frontier
            .par_iter()
            .map_with(db.clone(), |db, path| {
                let file = packem_db::Db::files(db).file(db, path);
                let source = packem_graph::module_source(db, project, file);
                let summary = module_summary(db, source);
                // The linker's input too, while the AST is in the parse memo's LRU: computed
                // later, sequentially inside `link`, it would parse most modules again.
                let _ = packem_link::module_symbols(db, source);
                let dir = path.parent().map(camino::Utf8Path::to_owned).unwrap_or_default();
                let mut out = Vec::new();
                for record in &summary.records {
                    // A context module is not resolved: the graph makes it (`module_edges`).
                    if record.specifier.starts_with(packem_parse::CONTEXT_PREFIX) {
                        continue;
                    }
                    let request = ResolveRequest::new(
                        db,
                        project.scope(db),
                        dir.clone(),
                        record.specifier.clone(),
                        packem_graph::resolve_kind(record.kind),
                    );
                    if let Resolution::File { path, .. } = resolve(db, request)
                        && packem_graph::kind_bundles_target(record.kind)
                    {
                        out.push(path.clone());
                    }
                }
                out
            })
            .collect();
        frontier = found.into_iter().flatten().filter(|p| seen.insert(p.clone())).collect();
    }
}
