#![allow(clippy::disallowed_methods)] // this crate owns the cache file (see clippy.toml)
//! Behaviour of `Store` against real files: round trips, generations, faults, concurrency.

use std::collections::HashMap;
use std::sync::{Arc, Barrier};

use camino::{Utf8Path, Utf8PathBuf};
use packem_cache::{EVICT_AFTER_GENERATIONS, Store, clean, info};
use tempfile::TempDir;

const BUILD: u128 = 0x1234_5678_9abc_def0_0fed_cba9_8765_4321;

/// Expected payload of each `(kind, key)`.
type Expected = HashMap<(u8, u128), Vec<u8>>;

/// Deterministic pseudo-random bytes for `key`.
fn bytes(key: u128, len: usize) -> Vec<u8> {
    let mut x = (key as u64) ^ ((key >> 64) as u64) ^ 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A temp dir and a cache path inside a not-yet-existing subdirectory.
fn cache_path() -> (TempDir, Utf8PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = Utf8PathBuf::from_path_buf(dir.path().join("sub/.cache/facts.pkc")).unwrap();
    (dir, path)
}

fn open_clean(path: &Utf8Path) -> Store {
    let opened = Store::open(path, BUILD);
    assert_eq!(opened.warning, None);
    opened.store
}

/// Checks that every key in `expected` is either a miss or exactly its bytes; returns the hits.
fn check_no_wrong_bytes(store: &Store, expected: &Expected) -> usize {
    let mut hits = 0;
    for (&(kind, key), want) in expected {
        if let Some(got) = store.get(kind, key) {
            assert_eq!(&*got, want.as_slice(), "wrong bytes for ({kind}, {key})");
            hits += 1;
        }
    }
    hits
}

#[test]
fn store_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Store>();
}

#[test]
fn round_trip() {
    let (_dir, path) = cache_path();
    let sizes = [0usize, 1, 7, 100, 4096, 65_537, 1 << 20];
    let store = Store::open(&path, BUILD);
    assert_eq!(store.warning, None);
    assert!(store.store.is_empty());
    let store = store.store;
    for (i, &len) in sizes.iter().enumerate() {
        store.put((i % 3) as u8, i as u128 * 1_000_003, bytes(i as u128, len));
    }
    assert_eq!(store.len(), sizes.len());
    assert_eq!(&*store.get(1, 1_000_003).unwrap(), bytes(1, 1).as_slice(), "puts are visible before commit");
    let shared: Arc<[u8]> = store.get(1, 1_000_003).map(Arc::from).unwrap();
    assert_eq!(&*shared, bytes(1, 1).as_slice());
    let report = store.commit().unwrap();
    assert_eq!(report.entries, sizes.len());
    assert_eq!(report.generation, 1);
    assert_eq!(report.file_size, std::fs::metadata(&path).unwrap().len());

    let store = open_clean(&path);
    assert_eq!(store.len(), sizes.len());
    for (i, &len) in sizes.iter().enumerate() {
        let got = store.get((i % 3) as u8, i as u128 * 1_000_003).expect("stored key");
        assert_eq!(&*got, bytes(i as u128, len).as_slice());
    }
    assert!(store.get(0, 42).is_none(), "unknown key");
    assert!(store.get(2, 0).is_none(), "known key, other kind");
    let stored: Arc<[u8]> = store.get(0, 0).map(Arc::from).unwrap();
    assert!(stored.is_empty());
    let info = info(&path).unwrap().unwrap();
    assert_eq!((info.entries, info.generation, info.build_id), (sizes.len(), 1, BUILD));
    assert_eq!(info.file_size, std::fs::metadata(&path).unwrap().len());
    assert!(info.live_bytes <= info.file_size && info.written_at_ns > 0);
}

#[test]
fn three_generations_append_and_replace() {
    let (_dir, path) = cache_path();
    let store = open_clean(&path);
    store.put(1, 1, b"one".to_vec());
    store.put(1, 2, bytes(2, 5000));
    let r1 = store.commit().unwrap();

    let store = open_clean(&path);
    store.put(1, 3, bytes(3, 3000));
    store.put(1, 1, b"one, newer".to_vec());
    assert_eq!(&*store.get(1, 1).unwrap(), b"one, newer");
    assert_eq!(store.len(), 3);
    let r2 = store.commit().unwrap();
    assert!(!r2.compacted, "small change must append: {r2:?}");
    assert_eq!(r2.generation, 2);
    assert!(r2.file_size > r1.file_size);

    let store = open_clean(&path);
    store.put(2, 4, Vec::new());
    let r3 = store.commit().unwrap();
    assert!(!r3.compacted, "{r3:?}");
    assert_eq!((r3.generation, r3.entries), (3, 4));

    let store = open_clean(&path);
    assert_eq!(store.len(), 4);
    assert_eq!(&*store.get(1, 1).unwrap(), b"one, newer");
    assert_eq!(&*store.get(1, 2).unwrap(), bytes(2, 5000).as_slice());
    assert_eq!(&*store.get(1, 3).unwrap(), bytes(3, 3000).as_slice());
    assert_eq!(&*store.get(2, 4).unwrap(), b"");
}

#[test]
fn noop_run_writes_nothing() {
    let (_dir, path) = cache_path();
    let store = open_clean(&path);
    for k in 0..10 {
        store.put(0, k, bytes(k, 100));
    }
    store.commit().unwrap();
    let before = std::fs::read(&path).unwrap();
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));

    let store = open_clean(&path);
    for k in 0..5 {
        assert!(store.get(0, k).is_some());
    }
    let report = store.commit().unwrap();
    assert_eq!(report.bytes_written, 0, "{report:?}");
    assert!(!report.compacted);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), mtime);

    // A store dropped without commit writes nothing either.
    let store = open_clean(&path);
    store.put(0, 99, b"dropped".to_vec());
    drop(store);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn use_marks_are_written_once() {
    let (_dir, path) = cache_path();
    let store = open_clean(&path);
    store.put(0, 1, b"a".to_vec());
    store.commit().unwrap();
    let store = open_clean(&path);
    store.put(0, 2, b"b".to_vec());
    store.commit().unwrap(); // generation 2; entry 1 still marked 1

    let store = open_clean(&path);
    assert!(store.get(0, 1).is_some());
    let r = store.commit().unwrap();
    assert!(r.bytes_written > 0 && r.generation == 3, "stale use mark must be written: {r:?}");
    let store = open_clean(&path);
    assert!(store.get(0, 1).is_some());
    assert_eq!(store.commit().unwrap().bytes_written, 0, "second identical run writes nothing");
}

/// A two-generation file, with the expected bytes of every key and the first generation's length.
fn two_generation_file(path: &Utf8Path) -> (Vec<u8>, u64, Expected) {
    let mut expected = HashMap::new();
    let store = open_clean(path);
    for (kind, key, len) in [(0u8, 10u128, 0usize), (0, 11, 33), (1, 10, 64), (3, u128::MAX, 5)] {
        store.put(kind, key, bytes(key ^ u128::from(kind), len));
        expected.insert((kind, key), bytes(key ^ u128::from(kind), len));
    }
    let gen1_len = store.commit().unwrap().file_size;
    let store = open_clean(path);
    assert!(store.get(0, 11).is_some());
    for (kind, key, len) in [(0u8, 12u128, 48usize), (2, 1, 1), (2, 2, 90)] {
        store.put(kind, key, bytes(key ^ u128::from(kind), len));
        expected.insert((kind, key), bytes(key ^ u128::from(kind), len));
    }
    let r = store.commit().unwrap();
    assert!(!r.compacted, "test needs an appended second generation: {r:?}");
    (std::fs::read(path).unwrap(), gen1_len, expected)
}

#[test]
fn truncation_at_every_offset() {
    let (_dir, path) = cache_path();
    let (full, gen1_len, expected) = two_generation_file(&path);
    let gen1_keys = [(0u8, 10u128), (0, 11), (1, 10), (3, u128::MAX)];
    for len in 0..=full.len() {
        std::fs::write(&path, &full[..len]).unwrap();
        let opened = Store::open(&path, BUILD);
        let valid_as_is = len == full.len() || len as u64 == gen1_len;
        assert_eq!(opened.warning.is_none(), valid_as_is, "len {len}: warning {:?}", opened.warning);
        let hits = check_no_wrong_bytes(&opened.store, &expected);
        if len == full.len() {
            assert_eq!(hits, expected.len());
        } else if len as u64 >= gen1_len {
            // The first generation's footer is found again.
            for (kind, key) in gen1_keys {
                assert!(opened.store.get(kind, key).is_some(), "len {len}: lost ({kind}, {key})");
            }
        } else {
            assert!(opened.store.is_empty(), "len {len}");
        }
    }
}

#[test]
fn flipped_bytes_never_yield_wrong_bytes() {
    let (_dir, path) = cache_path();
    let (full, _, expected) = two_generation_file(&path);
    let mut warned = 0;
    for pos in 0..full.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut data = full.clone();
            data[pos] ^= mask;
            std::fs::write(&path, &data).unwrap();
            let opened = Store::open(&path, BUILD);
            warned += usize::from(opened.warning.is_some());
            let hits = check_no_wrong_bytes(&opened.store, &expected);
            if pos < 40 {
                assert!(opened.warning.is_some() && hits == 0, "header flip at {pos} must invalidate the file");
            }
            if opened.warning.is_none() {
                // A flip inside a live record costs at most that record.
                assert!(hits + 1 >= expected.len(), "pos {pos}: only {hits} hits");
            }
        }
    }
    assert!(warned > 0);
}

#[test]
fn corrupt_record_is_a_miss_and_compacted_away() {
    let (_dir, path) = cache_path();
    let store = open_clean(&path);
    store.put(0, 1, b"first payload".to_vec());
    store.put(0, 2, b"second payload".to_vec());
    store.commit().unwrap();
    let mut data = std::fs::read(&path).unwrap();
    let at = data.windows(5).position(|w| w == b"first").unwrap();
    data[at] ^= 0x20;
    std::fs::write(&path, &data).unwrap();

    let store = open_clean(&path); // the index is intact
    assert!(store.get(0, 1).is_none());
    assert!(store.get(0, 1).is_none(), "still a miss the second time");
    assert_eq!(&*store.get(0, 2).unwrap(), b"second payload");
    let r = store.commit().unwrap();
    assert!(r.compacted && r.evicted == 1 && r.entries == 1, "{r:?}");
    let store = open_clean(&path);
    assert!(store.get(0, 1).is_none());
    assert_eq!(&*store.get(0, 2).unwrap(), b"second payload");
}

#[test]
fn other_build_id_starts_empty_and_rewrites() {
    let (_dir, path) = cache_path();
    let store = open_clean(&path);
    store.put(0, 1, b"old build".to_vec());
    store.commit().unwrap();

    let opened = Store::open(&path, BUILD + 1);
    assert!(opened.warning.as_deref().unwrap().contains("another packem build"), "{:?}", opened.warning);
    assert!(opened.store.is_empty());
    assert!(opened.store.get(0, 1).is_none());
    opened.store.put(0, 2, b"new build".to_vec());
    let r = opened.store.commit().unwrap();
    assert!(r.compacted && r.entries == 1, "{r:?}");

    let opened = Store::open(&path, BUILD + 1);
    assert_eq!(opened.warning, None);
    assert!(opened.store.get(0, 1).is_none());
    assert_eq!(&*opened.store.get(0, 2).unwrap(), b"new build");
    assert_eq!(info(&path).unwrap().unwrap().build_id, BUILD + 1);
    assert!(Store::open(&path, BUILD).warning.is_some());
}

#[test]
fn garbage_file_gives_warning_and_is_rewritten() {
    let (_dir, path) = cache_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"definitely not a cache file").unwrap();
    let opened = Store::open(&path, BUILD);
    assert!(opened.warning.is_some());
    assert!(info(&path).is_err());
    let r = opened.store.commit().unwrap();
    assert!(r.compacted, "an invalid file is rewritten even by a run that put nothing: {r:?}");
    assert_eq!(Store::open(&path, BUILD).warning, None);
}

#[test]
fn eviction_drops_entries_unused_for_too_long() {
    let (_dir, path) = cache_path();
    let store = open_clean(&path);
    store.put(0, 0xA, bytes(0xA, 200_000)); // never used again
    store.put(0, 0xB, b"used every run".to_vec());
    store.commit().unwrap();

    let mut last_size = 0;
    let mut compacted_at = None;
    for generation in 2..=12u64 {
        let store = open_clean(&path);
        assert!(store.get(0, 0xB).is_some());
        store.put(1, u128::from(generation), bytes(u128::from(generation), 50));
        let r = store.commit().unwrap();
        assert_eq!(r.generation, generation);
        if r.compacted {
            assert!(r.file_size < last_size / 2, "compaction must shrink the file: {r:?} after {last_size}");
            compacted_at = Some(generation);
            break;
        }
        last_size = r.file_size;
    }
    // A (last used at 1) becomes evictable when new_gen - 1 > N, and is then most of the file.
    assert_eq!(compacted_at, Some(EVICT_AFTER_GENERATIONS + 2));
    let store = open_clean(&path);
    assert!(store.get(0, 0xA).is_none(), "evicted");
    assert_eq!(&*store.get(0, 0xB).unwrap(), b"used every run");
    // Put at generation 2, never used since: N generations old, not yet evicted.
    assert!(store.get(1, 2).is_some());
}

fn set_mode(path: &Utf8Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn read_only_directory() {
    let (_dir, path) = cache_path();
    let store = open_clean(&path);
    store.put(0, 1, b"kept".to_vec());
    store.commit().unwrap();
    let before = std::fs::read(&path).unwrap();
    let cache_dir = path.parent().unwrap().to_owned();
    set_mode(&cache_dir, 0o555);
    // Running as root ignores permissions: then writes must simply work.
    let probe = cache_dir.join("probe");
    let writable = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);

    // An existing file from another build needs a rewrite (temp file + rename in the directory).
    let opened = Store::open(&path, BUILD + 1);
    assert!(opened.warning.is_some());
    opened.store.put(0, 2, b"new".to_vec());
    let result = opened.store.commit();
    // A cache in a missing subdirectory of the read-only directory.
    let nested = cache_dir.join("nested/facts.pkc");
    let store = open_clean(&nested);
    store.put(0, 3, b"x".to_vec());
    let nested_result = store.commit();
    set_mode(&cache_dir, 0o755);

    if writable {
        assert!(result.is_ok() && nested_result.is_ok(), "{result:?} {nested_result:?}");
        assert_eq!(&*open_clean(&nested).get(0, 3).unwrap(), b"x");
    } else {
        let warning = result.unwrap_err();
        assert!(warning.contains("not saved"), "{warning}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "existing file intact");
        assert!(Store::open(&path, BUILD).store.get(0, 1).is_some());
        assert!(nested_result.is_err());
        assert!(!nested.exists());
    }
}

#[test]
fn unwritable_location_is_a_warning() {
    // A cache "directory" that is a regular file fails for every user, root included.
    let (_dir, path) = cache_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path.parent().unwrap().join("file"), b"").unwrap();
    let bad = path.parent().unwrap().join("file/facts.pkc");
    let opened = Store::open(&bad, BUILD); // "not a directory": a warning, an empty store
    assert!(opened.store.is_empty());
    opened.store.put(0, 1, b"x".to_vec());
    let err = opened.store.commit().unwrap_err();
    assert!(err.contains("not saved"), "{err}");
    // A directory where the cache file should be: unusable, rewrite fails, nothing panics.
    std::fs::create_dir_all(&path).unwrap();
    let opened = Store::open(&path, BUILD);
    assert!(opened.warning.is_some());
    opened.store.put(0, 1, b"x".to_vec());
    assert!(opened.store.commit().is_err());
    assert!(info(&path).is_err());
}

#[test]
fn concurrent_stores_sequential_commits_keep_both() {
    let (_dir, path) = cache_path();
    let store = open_clean(&path);
    store.put(0, 0, b"base".to_vec());
    store.commit().unwrap();

    let a = open_clean(&path);
    let b = open_clean(&path);
    for k in 1..=20u128 {
        a.put(1, k, bytes(k, 300));
        b.put(2, k, bytes(k + 100, 300));
    }
    assert!(a.get(0, 0).is_some());
    a.commit().unwrap();
    let rb = b.commit().unwrap();
    assert_eq!(rb.generation, 3, "b builds on a's generation: {rb:?}");
    assert_eq!(rb.entries, 41);

    let store = open_clean(&path);
    assert_eq!(store.len(), 41);
    for k in 1..=20u128 {
        assert_eq!(&*store.get(1, k).unwrap(), bytes(k, 300).as_slice());
        assert_eq!(&*store.get(2, k).unwrap(), bytes(k + 100, 300).as_slice());
    }
    assert!(store.get(0, 0).is_some());
}

#[test]
fn concurrent_commit_after_other_build_rewrote() {
    let (_dir, path) = cache_path();
    let store = open_clean(&path);
    store.put(0, 0, b"base".to_vec());
    store.commit().unwrap();
    let a = open_clean(&path);
    a.put(0, 1, b"a".to_vec());
    let other = Store::open(&path, BUILD + 7).store;
    other.put(0, 2, b"other".to_vec());
    other.commit().unwrap();
    // The file now belongs to another build: `a` rewrites it with what it knows.
    let r = a.commit().unwrap();
    assert!(r.compacted, "{r:?}");
    let store = open_clean(&path);
    assert_eq!(&*store.get(0, 0).unwrap(), b"base");
    assert_eq!(&*store.get(0, 1).unwrap(), b"a");
    assert!(store.get(0, 2).is_none());
}

#[test]
fn concurrent_stores_threaded_commits() {
    for round in 0..10 {
        let (_dir, path) = cache_path();
        if round % 2 == 0 {
            let store = open_clean(&path);
            store.put(0, 0, b"base".to_vec());
            store.commit().unwrap();
        }
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = [1u8, 2]
            .into_iter()
            .map(|kind| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let store = open_clean(&path);
                    for k in 0..50u128 {
                        store.put(kind, k, bytes(k + u128::from(kind) * 1000, 2000));
                    }
                    barrier.wait();
                    store.commit()
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for r in &results {
            if let Err(w) = r {
                assert!(w.contains("locked"), "only the lock may stop a commit: {w}");
            }
        }
        assert!(results.iter().any(Result::is_ok), "someone must win the lock");

        let store = open_clean(&path);
        for (i, kind) in [1u8, 2].into_iter().enumerate() {
            for k in 0..50u128 {
                let got = store.get(kind, k);
                assert_eq!(got.is_some(), results[i].is_ok(), "round {round} kind {kind} key {k}");
                if let Some(got) = got {
                    assert_eq!(&*got, bytes(k + u128::from(kind) * 1000, 2000).as_slice());
                }
            }
        }
        assert_eq!(store.get(0, 0).is_some(), round % 2 == 0);
    }
}

#[test]
fn parallel_gets_mark_entries_used() {
    let (_dir, path) = cache_path();
    let store = open_clean(&path);
    for k in 0..200u128 {
        store.put(0, k, bytes(k, 64));
    }
    store.commit().unwrap();
    let store = open_clean(&path);
    store.put(1, 0, b"new".to_vec());
    std::thread::scope(|s| {
        for t in 0..4u128 {
            let store = &store;
            s.spawn(move || {
                for k in (t..200).step_by(2) {
                    assert_eq!(&*store.get(0, k).unwrap(), bytes(k, 64).as_slice());
                    assert_eq!(&*store.get(1, 0).unwrap(), b"new");
                }
            });
        }
    });
    assert_eq!(store.commit().unwrap().generation, 2);
    // Every entry was used in generation 2, so a run using them all writes nothing.
    let store = open_clean(&path);
    for k in 0..200u128 {
        assert!(store.get(0, k).is_some());
    }
    assert_eq!(store.commit().unwrap().bytes_written, 0);
}

#[test]
fn info_and_clean() {
    let (_dir, path) = cache_path();
    assert_eq!(info(&path), Ok(None));
    clean(&path).unwrap(); // missing is fine, even with a missing directory
    let store = open_clean(&path);
    store.put(0, 1, b"x".to_vec());
    store.commit().unwrap();
    assert!(info(&path).unwrap().is_some());
    let lock = Utf8PathBuf::from(format!("{path}.lock"));
    assert!(lock.exists());
    clean(&path).unwrap();
    assert!(!path.exists() && !lock.exists());
    assert_eq!(info(&path), Ok(None));
    assert!(open_clean(&path).is_empty());
}

#[test]
fn torn_tail_keeps_previous_commit_and_next_commit_compacts() {
    let (_dir, path) = cache_path();
    let (full, gen1_len, _) = two_generation_file(&path);
    std::fs::write(&path, &full[..full.len() - 3]).unwrap();
    let opened = Store::open(&path, BUILD);
    assert!(opened.warning.as_deref().unwrap().contains("earlier commit"), "{:?}", opened.warning);
    assert_eq!(opened.store.len(), 4);
    assert!(info(&path).is_err());
    let r = opened.store.commit().unwrap();
    assert!(r.compacted && r.entries == 4 && r.generation == 2, "{r:?}");
    assert!(r.file_size <= gen1_len, "{r:?}");
    let store = open_clean(&path);
    assert_eq!(store.len(), 4);
    assert_eq!(&*store.get(0, 11).unwrap(), bytes(11, 33).as_slice());
}

#[test]
fn a_store_commits_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = camino::Utf8PathBuf::from_path_buf(dir.path().join("facts.pkc")).unwrap();
    let store = Store::open(&path, BUILD).store;
    store.put(0, 1, b"one".to_vec());
    assert!(!store.is_committed());
    store.commit().unwrap();
    assert!(store.is_committed());
    let len = std::fs::metadata(&path).unwrap().len();
    // A second commit would write stale use marks again: refused, and the file is untouched.
    store.put(0, 2, b"two".to_vec());
    assert!(store.commit().unwrap_err().contains("already committed"));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
    // Opening again commits what is new.
    let again = Store::open(&path, BUILD).store;
    again.put(0, 2, b"two".to_vec());
    again.commit().unwrap();
    let read = Store::open(&path, BUILD).store;
    assert_eq!(read.get(0, 1).as_deref(), Some(&b"one"[..]));
    assert_eq!(read.get(0, 2).as_deref(), Some(&b"two"[..]));
}
