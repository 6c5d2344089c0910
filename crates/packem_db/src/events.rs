//! A log of salsa's `WillExecute` events, for tests that assert which queries re-ran.

use std::sync::Arc;

use parking_lot::Mutex;
use salsa::{DatabaseKeyIndex, Event, EventKind};

/// Collects the keys of the queries salsa executes. Cheap to clone; clones share the log.
#[derive(Clone, Default)]
pub struct EventLog {
    executed: Arc<Mutex<Vec<DatabaseKeyIndex>>>,
    enabled: Arc<std::sync::atomic::AtomicBool>,
}

impl EventLog {
    /// Starts recording (off by default so builds pay nothing).
    pub fn enable(&self) {
        self.enabled.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The callback to pass to `salsa::Storage::new`.
    pub fn callback(&self) -> Box<dyn Fn(Event) + Send + Sync + 'static> {
        let log = self.clone();
        Box::new(move |event| {
            if let EventKind::WillExecute { database_key } = event.kind
                && log.enabled.load(std::sync::atomic::Ordering::Relaxed)
            {
                log.executed.lock().push(database_key);
            }
        })
    }

    /// Takes the executed keys recorded so far.
    pub fn take(&self) -> Vec<DatabaseKeyIndex> {
        std::mem::take(&mut *self.executed.lock())
    }
}
