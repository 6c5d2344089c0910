//! Snapshots: read-only handles on the database for other threads (the language server's
//! requests, the CLI's parallel stages).

use std::sync::Arc;

use packem_db::{Diagnostic, Project};

use crate::{Cold, ModuleGraph, PackemDatabase, Workspace};

impl Workspace {
    /// A read-only handle on the primary project for another thread. Dropped before the next
    /// change can be applied (applying waits for it; queries running on it unwind with
    /// `salsa::Cancelled`).
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_of(self.project())
    }

    /// A read-only handle on `project` for another thread (see [`Workspace::snapshot`]).
    pub fn snapshot_of(&self, project: Project) -> Snapshot {
        Snapshot { db: self.db.clone(), project, pool: self.pool.clone(), cold: self.unit(project).cold.clone() }
    }
}

/// A snapshot of a [`Workspace`]'s database for reading on another thread.
pub struct Snapshot {
    /// The database snapshot.
    pub db: PackemDatabase,
    /// The project.
    pub project: Project,
    pool: Arc<rayon::ThreadPool>,
    cold: Arc<Cold>,
}

impl Snapshot {
    /// The module graph (parsing and resolution warmed in parallel first).
    pub fn module_graph(&self) -> Arc<ModuleGraph> {
        crate::warm_graph(&self.db, &self.pool, &self.cold, self.project)
    }

    /// Graph diagnostics plus linking's (missing and ambiguous imports).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let _ = self.module_graph();
        let mut all: Vec<Diagnostic> = packem_graph::graph_diagnostics(&self.db, self.project).to_vec();
        all.extend(packem_link::link(&self.db, self.project).diagnostics.iter().cloned());
        all
    }
}
