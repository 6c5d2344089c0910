#![allow(clippy::disallowed_methods)] // this crate owns the cache file (see clippy.toml)
//! `kill -9` of a process in the middle of commits: readers (during and after) see a valid store,
//! a recovered one, or an empty one with a warning — never wrong bytes.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use packem_cache::{Store, now_ns};

const BUILD: u128 = 0xfeed_beef;
/// When set, `kill_child_writer` acts as the writer process (path of the cache file).
const CHILD_ENV: &str = "PACKEM_CACHE_KILL_TEST_PATH";
const KEYS: u128 = 400;

/// The only payload ever stored for `key` (content-addressed, as in real use).
fn payload(key: u128) -> Vec<u8> {
    let mut bytes = key.to_le_bytes().to_vec();
    bytes.resize((key as usize * 7919) % 40_000, key.wrapping_mul(31) as u8);
    bytes
}

/// The child: commits a large store over and over until killed. Does nothing in a normal test run.
#[test]
fn kill_child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let path = Utf8PathBuf::from(path);
    for round in 0u128.. {
        let store = Store::open(&path, BUILD).store;
        for key in (0..KEYS).step_by(3) {
            let _ = store.get(0, key);
        }
        for i in 0..60 {
            let key = (round * 60 + i) % KEYS;
            store.put(0, key, payload(key));
        }
        let _ = store.commit();
    }
}

/// Opens the cache and checks every key: a miss or exactly its payload. Returns (valid, hits).
fn check(path: &Utf8Path) -> (bool, usize) {
    let opened = Store::open(path, BUILD);
    let mut hits = 0;
    for key in 0..KEYS {
        if let Some(got) = opened.store.get(0, key) {
            assert!(*got == *payload(key), "wrong bytes for key {key}");
            hits += 1;
        }
    }
    if opened.warning.is_some() {
        assert!(hits == 0 || opened.warning.as_deref().is_some_and(|w| w.contains("earlier commit")));
    }
    (opened.warning.is_none(), hits)
}

#[test]
fn kill_9_during_commits_never_yields_wrong_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = Utf8PathBuf::from_path_buf(dir.path().join("cache/facts.pkc")).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = now_ns() as u64 | 1;
    let (mut valid_after_kill, mut hits_after_kill, mut reads_during) = (0, 0, 0);
    for _ in 0..20 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let delay = Duration::from_millis(20 + rng % 150);
        let mut child = Command::new(&exe)
            .args(["kill_child_writer", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while start.elapsed() < delay {
            check(&path); // concurrent reader
            reads_during += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let (valid, hits) = check(&path);
        valid_after_kill += usize::from(valid);
        hits_after_kill += hits;
    }
    assert!(reads_during > 0);
    assert!(hits_after_kill > 0, "the writer never committed anything");
    // The store is usable again after one commit, whatever state the kills left.
    let store = Store::open(&path, BUILD).store;
    store.put(0, 1, payload(1));
    store.commit().unwrap();
    let (valid, hits) = check(&path);
    assert!(valid && hits >= 1, "after kills: {valid_after_kill}/20 valid, final hits {hits}");
}
