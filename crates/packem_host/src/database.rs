//! [`PackemDatabase`]: the one type that implements every layer's `Db` trait.

use packem_db::{EventLog, Files};
use packem_resolve::Resolvers;

/// The salsa database shared by every front end. Cloning it makes a snapshot for another thread.
#[salsa::db]
#[derive(Clone)]
pub struct PackemDatabase {
    files: Files,
    resolvers: Resolvers,
    events: EventLog,
    // Last, so that on drop the handles above go first (see ty's db.rs).
    storage: salsa::Storage<Self>,
}

impl Default for PackemDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl PackemDatabase {
    /// A fresh, empty database.
    pub fn new() -> Self {
        let events = EventLog::default();
        Self {
            files: Files::default(),
            resolvers: Resolvers::default(),
            storage: salsa::Storage::new(Some(events.callback())),
            events,
        }
    }

    /// The log of executed queries (record with [`EventLog::enable`]).
    pub fn events(&self) -> &EventLog {
        &self.events
    }

    pub(crate) fn resolvers_handle(&self) -> &Resolvers {
        &self.resolvers
    }
}

#[salsa::db]
impl salsa::Database for PackemDatabase {}

#[salsa::db]
impl packem_db::Db for PackemDatabase {
    fn files(&self) -> &Files {
        &self.files
    }
}

#[salsa::db]
impl packem_resolve::Db for PackemDatabase {
    fn resolvers(&self) -> &Resolvers {
        &self.resolvers
    }
}
