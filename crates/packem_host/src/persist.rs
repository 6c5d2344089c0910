//! Persistence: the host's side of the cache between processes (`packem_cache` owns the file).
//!
//! [`Workspace::open_cache`] hands the store to the database (`packem_db::stored`) before the
//! first query; the fact queries then take a stored value wherever its key (path, text, compile
//! settings: everything their direct counterpart reads) matches, and parse only what changed.
//! [`Workspace::save_cache`] adds the facts and renders the build computed and had no entry for,
//! then commits. The cache never decides anything by itself: a missing, stale or damaged
//! entry is a miss, and a miss computes.
//!
//! Stored today: each source's summary and diagnostics, and its symbols (one entry each, keyed by
//! `packem_parse::fact_key`), and each code or JSON module's render per target (keyed by
//! `packem_emit::render_key`). Never stored: ASTs, resolutions (their validity depends on every
//! probed path), the graph and the link (recomputed from the facts in tens of milliseconds), and
//! chunks (assembled from the renders).

use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};
use packem_db::Db as _;
use packem_db::stored::{ResultStore, StoreHandle, StoredKind, StoredResults};

use crate::{Target, Workspace};

/// The cache's file name in its directory.
pub const CACHE_FILE: &str = "packem.cache";

/// The default cache directory for a project whose working directory is `cwd`:
/// `node_modules/.cache/packem` in the nearest directory from `cwd` up that has a
/// `package.json` (where babel-loader, terser-webpack-plugin and Rspack keep theirs, found the
/// same way); outside any package, a directory per working directory under the system's
/// temporary directory (babel-loader's fallback), so that no `node_modules` appears where there
/// was none.
pub fn default_cache_dir(cwd: &Utf8Path) -> Utf8PathBuf {
    match cwd.ancestors().find(|dir| dir.join("package.json").is_file()) {
        Some(root) => root.join("node_modules").join(".cache").join("packem"),
        None => {
            let temp = Utf8PathBuf::from_path_buf(std::env::temp_dir()).unwrap_or_else(|_| Utf8PathBuf::from("/tmp"));
            let key = xxhash_rust::xxh3::xxh3_64(cwd.as_str().as_bytes());
            temp.join("packem-cache").join(format!("{key:016x}"))
        }
    }
}

/// This binary's identity: the store is only read by the build of packem that wrote it (the
/// keys hash Rust values whose layout can change between builds).
pub fn build_id() -> u128 {
    static ID: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    *ID.get_or_init(|| {
        let mut key = packem_db::stored::KeyHasher::new("packem build");
        key.value(&env!("CARGO_PKG_VERSION"));
        let exe = std::env::current_exe().ok().and_then(|path| Utf8PathBuf::from_path_buf(path).ok());
        match exe.as_deref().and_then(packem_cache::FileStamp::of) {
            Some(stamp) => key.value(&(stamp.size, stamp.mtime_ns, stamp.ino, stamp.dev)),
            // Without the executable's identity, a rebuilt binary could read keys it hashes
            // differently: use a key no other process has.
            None => key.value(&(std::process::id(), packem_cache::now_ns())),
        };
        key.finish()
    })
}

/// The store as the database reads it, and what queries offered it for the next save.
struct Cached {
    store: Arc<packem_cache::Store>,
    offered: Arc<dashmap::DashMap<(u8, u128), Vec<u8>, rustc_hash::FxBuildHasher>>,
}

impl ResultStore for Cached {
    fn get(&self, kind: StoredKind, key: u128) -> Option<Arc<[u8]>> {
        self.store.get(kind as u8, key).map(Arc::from)
    }

    fn offer(&self, kind: StoredKind, key: u128, payload: Vec<u8>) {
        self.offered.insert((kind as u8, key), payload);
    }
}

/// The persistent cache a workspace opened.
pub(crate) struct Persistence {
    path: Utf8PathBuf,
    /// The store the queries read: the file as it was when the session started. It commits
    /// once; later saves open the file afresh (it holds what the first commit wrote, and other
    /// processes' commits), so that nothing is put twice and a save with nothing new writes
    /// nothing.
    store: Arc<packem_cache::Store>,
    /// Values queries computed and offered (see [`ResultStore::offer`]), until saved.
    offered: Arc<dashmap::DashMap<(u8, u128), Vec<u8>, rustc_hash::FxBuildHasher>>,
    /// The journal to save (see `journal.rs`): its key and payload.
    pub(crate) journal: Option<(u128, Vec<u8>)>,
}

impl Persistence {
    /// The payload the cache held for `(kind, key)` when the session opened it.
    pub(crate) fn stored(&self, kind: StoredKind, key: u128) -> Option<packem_cache::Payload<'_>> {
        self.store.get(kind as u8, key)
    }
}

/// What [`Workspace::save_cache`] did.
#[derive(Clone, Debug, Default)]
pub struct CacheReport {
    /// Entries added by this process.
    pub added: usize,
    /// Entries this process's modules found already stored (used, or there to be used).
    pub reused: usize,
    /// Entries in the cache file after the commit.
    pub entries: usize,
    /// The cache file's size after the commit, in bytes.
    pub file_size: u64,
    /// Bytes written by the commit (0 when nothing was new).
    pub written: u64,
}

impl Workspace {
    /// Opens the persistent cache in `dir` (created when missing) and hands it to the database.
    /// Call before the first build: results computed earlier do not look at the cache. Returns a
    /// warning when the cache file was there but unusable (damaged, another version): the build
    /// then starts cold, which is always correct.
    pub fn open_cache(&mut self, dir: &Utf8Path) -> Option<String> {
        let _span = tracing::info_span!("open_cache").entered();
        let packem_cache::Opened { store, warning } = packem_cache::Store::open(&dir.join(CACHE_FILE), build_id());
        let store = Arc::new(store);
        let offered = Arc::default();
        let handle = StoreHandle(Arc::new(Cached { store: store.clone(), offered: Arc::clone(&offered) }));
        // HIGH: the store never changes during a session, so the queries that read it (every
        // render, the facts of sources without cells) keep their durability.
        let high = salsa::Durability::HIGH;
        match StoredResults::try_get(&self.db) {
            Some(existing) => {
                use salsa::Setter;
                existing.set_store(&mut self.db).with_durability(high).to(handle);
            }
            None => {
                let _ = StoredResults::builder(handle).durability(high).new(&self.db);
            }
        }
        self.persistence = Some(Persistence { path: dir.join(CACHE_FILE), store, offered, journal: None });
        // Every text read from now on is stamped, so that the next process can skip reading it.
        self.db.files().record_reads(true);
        warning
    }

    /// Puts the content hash of every text read from disk since the last save under its path
    /// and stamp, where the stamp is not racy (see `packem_db::files::content_hash`). Returns how
    /// many were new.
    ///
    /// The stamp was taken before the read, more than the timestamp granularity after the file's
    /// last modification: if the file changed between the stamp and the read, that change gave it
    /// a later mtime (and ctime), so no later `stat` can show the stamp saved with the new
    /// content, and the entry is never used.
    fn save_stamps(&self, store: &packem_cache::Store, reads: &[(Utf8PathBuf, packem_db::files::DiskRead)]) -> usize {
        let fresh = reads
            .iter()
            .filter(|(_, read)| !packem_cache::is_racy(&read.stamp, read.read_at_ns))
            .map(|(path, read)| (packem_db::files::stamp_key(path, &read.stamp), read.hash));
        let mut added = 0;
        for (key, hash) in fresh {
            if store.get(StoredKind::ContentHash as u8, key).is_none() {
                store.put(StoredKind::ContentHash as u8, key, hash.to_le_bytes().to_vec());
                added += 1;
            }
        }
        added
    }

    /// Adds the facts of every module of every project's graph, and the renders of every built
    /// target, that the cache has no entry for, then writes the cache. Values come from the
    /// queries' memos (the build computed them), encoded in parallel. Returns a warning when the cache could not be written (a read-only
    /// directory, a full disk, another process holding it): the outputs are unaffected. May be
    /// called again later in a session (a watch session saves after its first build and when it
    /// ends): each commit adds what is new since the last.
    pub fn save_cache(&mut self) -> Result<CacheReport, String> {
        let Some(persistence) = self.persistence.as_ref() else {
            return Ok(CacheReport::default());
        };
        let store = if persistence.store.is_committed() {
            // A warning here was already given when the session opened the cache (or concerns
            // a file another process broke since): this save rewrites it either way.
            Arc::new(packem_cache::Store::open(&persistence.path, build_id()).store)
        } else {
            persistence.store.clone()
        };
        let _span = tracing::info_span!("save_cache").entered();
        // A file whose text, read during the session, is not the text its content hash (taken
        // from its stamp) stands for changed on disk behind the session's back: what was derived
        // from it is saved under no key (the next session reads it again).
        let reads = self.db.files().take_reads();
        let changed: rustc_hash::FxHashSet<packem_db::File> = self
            .in_parallel(&reads, |db, (path, read)| {
                let file = db.files().get(path)?;
                (*packem_db::files::content_hash(db, file) != Some(read.hash)).then_some(file)
            })
            .into_iter()
            .flatten()
            .collect();
        let mut sources: Vec<packem_parse::Source> = Vec::new();
        let mut seen = rustc_hash::FxHashSet::default();
        for project in self.projects().collect::<Vec<_>>() {
            let graph = self.module_graph_of(project);
            sources.extend(
                graph
                    .modules
                    .iter()
                    .filter(|m| !m.disabled && !changed.contains(&m.file))
                    .map(|m| m.source)
                    .filter(|s| seen.insert(*s)),
            );
        }
        // (added, reused) per source.
        let counts: Vec<(usize, usize)> = self.in_parallel(&sources, |db, source| {
            let Some(key) = *packem_parse::fact_key(db, *source) else { return (0, 0) };
            let (mut added, mut reused) = (0, 0);
            if store.get(StoredKind::ParseFacts as u8, key).is_none() {
                let summary = packem_parse::module_summary(db, *source);
                let diagnostics = packem_parse::file_diagnostics(db, *source);
                store.put(StoredKind::ParseFacts as u8, key, packem_parse::encode_parse_facts(summary, diagnostics));
                added += 1;
            } else {
                reused += 1;
            }
            if store.get(StoredKind::Symbols as u8, key).is_none() {
                let symbols = packem_link::module_symbols(db, *source);
                store.put(StoredKind::Symbols as u8, key, packem_link::encode_symbols(symbols));
                added += 1;
            } else {
                reused += 1;
            }
            (added, reused)
        });
        // Each built target's renders (a render whose key the cache has was read from it), if no
        // change was applied since the build: a render computed now could read link cells the
        // next build would sync first.
        let renders: Vec<(Target, packem_parse::Source)> = self
            .units
            .iter()
            .filter(|unit| unit.built_at == Some(self.changes))
            .filter_map(|unit| Some((unit.target?, unit.project)))
            .flat_map(|(target, project)| {
                let graph = self.module_graph_of(project);
                graph
                    .modules
                    .iter()
                    .filter(|m| !m.disabled && !changed.contains(&m.file))
                    .map(|m| (target, m.source))
                    .collect::<Vec<_>>()
            })
            .collect();
        let render_counts: Vec<(usize, usize)> = self.in_parallel(&renders, |db, (target, source)| {
            let Some(key) = *packem_emit::render_key(db, *target, *source) else { return (0, 0) };
            if store.get(StoredKind::Render as u8, key).is_some() {
                return (0, 1);
            }
            let render = packem_emit::rendered_module(db, *target, *source);
            store.put(StoredKind::Render as u8, key, packem_emit::encode_render(render));
            (1, 0)
        });
        let (mut added, reused) =
            counts.into_iter().chain(render_counts).fold((0, 0), |(a, r), (da, dr)| (a + da, r + dr));
        added += self.save_stamps(&store, &reads);
        let offered: Vec<((u8, u128), Vec<u8>)> = {
            let keys: Vec<(u8, u128)> = persistence.offered.iter().map(|e| *e.key()).collect();
            keys.into_iter().filter_map(|key| persistence.offered.remove(&key)).collect()
        };
        if let Some((key, journal)) = self.persistence.as_mut().and_then(|p| p.journal.take()) {
            store.put(StoredKind::Journal as u8, key, journal);
            added += 1;
        }
        for ((kind, key), payload) in offered {
            if store.get(kind, key).is_none() {
                store.put(kind, key, payload);
                added += 1;
            }
        }
        let report = store.commit()?;
        Ok(CacheReport {
            added,
            reused,
            entries: report.entries,
            file_size: report.file_size,
            written: report.bytes_written,
        })
    }
}
