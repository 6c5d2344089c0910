//! Results stored by an earlier process (the persistent cache), as queries see them.
//!
//! The host opens its cache and hands it to the database as the [`StoredResults`] singleton
//! before the first query runs; it never changes during a session. Queries that can take a
//! stored value (`packem_parse::stored_parse_facts`, `packem_link::stored_symbols`) compute a
//! key from *everything* their direct counterpart reads (path, text, compile settings), look it
//! up, and fall back to computing when it is missing or does not decode. A stored value is
//! therefore only ever used where computing would give the same value, and a bad cache costs
//! time, never correctness. Keys are only meaningful to the binary that wrote them: the store
//! is tied to one build of packem (`packem_cache`'s build id).

use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Where stored results come from: the host's cache file, or a test's map.
pub trait ResultStore: Send + Sync + 'static {
    /// The payload stored under `(kind, key)`, if any.
    fn get(&self, kind: StoredKind, key: u128) -> Option<Arc<[u8]>>;

    /// A value a query computed for a key it missed, for the next save to store. Only for values
    /// that are a function of their key alone (content-addressed); the default drops it.
    fn offer(&self, kind: StoredKind, key: u128, payload: Vec<u8>) {
        let _ = (kind, key, payload);
    }
}

/// What a stored payload is (one byte in the store).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum StoredKind {
    /// A source's summary and diagnostics (`packem_parse`).
    ParseFacts = 1,
    /// A source's symbols (`packem_link`).
    Symbols = 2,
    /// A module's render for a target (`packem_emit`).
    Render = 3,
    /// A file's content hash under its path and stamp (`files::content_hash`).
    ContentHash = 4,
    /// Whether a text contains each of some strings (`files::text_mentions`).
    Mentions = 5,
    /// What a build saw on disk and wrote, by command line (the host's no-op check).
    Journal = 6,
}

/// The handle queries read. Compared by identity: the host sets it once per session.
#[derive(Clone)]
pub struct StoreHandle(pub Arc<dyn ResultStore>);

impl PartialEq for StoreHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StoreHandle {}

impl std::fmt::Debug for StoreHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreHandle")
    }
}

/// The persistent cache's results, when the host opened one. Absent: every query computes.
#[salsa::input(singleton, debug)]
pub struct StoredResults {
    /// The store.
    #[returns(ref)]
    pub store: StoreHandle,
}

/// The stored payload of `(kind, key)` when the host opened a cache.
pub fn stored(db: &dyn crate::Db, kind: StoredKind, key: u128) -> Option<Arc<[u8]>> {
    StoredResults::try_get(db)?.store(db).0.get(kind, key)
}

/// A stable 128-bit key builder (xxh3) for stored results: feed it every input of the value.
/// `Hash` implementations are stable within one binary, which is all a store needs.
pub struct KeyHasher(xxhash_rust::xxh3::Xxh3);

impl KeyHasher {
    /// A hasher for keys of one `domain` (so equal inputs of different uses never share a key).
    pub fn new(domain: &str) -> Self {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(domain.as_bytes());
        Self(hasher)
    }

    /// Adds raw bytes (a file's contents).
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// Adds a value through its `Hash` implementation.
    pub fn value(&mut self, value: &impl Hash) -> &mut Self {
        value.hash(&mut self.0);
        self
    }

    /// The key.
    pub fn finish(&self) -> u128 {
        self.0.digest128()
    }
}

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0.digest()
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
