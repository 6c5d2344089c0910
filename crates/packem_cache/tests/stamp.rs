#![allow(clippy::disallowed_methods)] // this crate owns the cache file (see clippy.toml)
//! File stamps and the racy-timestamp rule.

use std::time::{Duration, SystemTime};

use camino::Utf8PathBuf;
use packem_cache::stamp::{FileStamp, GRANULARITY_NS, is_racy, now_ns};

fn temp_file(contents: &[u8]) -> (tempfile::TempDir, Utf8PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = Utf8PathBuf::from_path_buf(dir.path().join("input.js")).unwrap();
    std::fs::write(&path, contents).unwrap();
    (dir, path)
}

#[test]
fn fresh_file_is_racy() {
    let (_dir, path) = temp_file(b"export const a = 1;");
    let stamp = FileStamp::of(&path).unwrap();
    assert_eq!(stamp.size, 19);
    assert!(is_racy(&stamp, now_ns()));
}

#[test]
fn old_file_is_not_racy() {
    let (_dir, path) = temp_file(b"old");
    let ten_s_ago = SystemTime::now() - Duration::from_secs(10);
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(ten_s_ago).unwrap();
    let stamp = FileStamp::of(&path).unwrap();
    let written_at = now_ns();
    let age = written_at - stamp.mtime_ns;
    assert!((9_000_000_000..11_000_000_000).contains(&age), "mtime was set: age {age}");
    assert!(!is_racy(&stamp, written_at));
    // Within the granularity of the stamp time: racy; after it: racy.
    assert!(is_racy(&stamp, stamp.mtime_ns + GRANULARITY_NS));
    assert!(is_racy(&stamp, stamp.mtime_ns - 1));
    assert!(!is_racy(&stamp, stamp.mtime_ns + GRANULARITY_NS + 1));
}

#[test]
fn stamp_bytes_round_trip_and_change_detection() {
    let (_dir, path) = temp_file(b"one");
    let stamp = FileStamp::of(&path).unwrap();
    assert!(stamp.ino != 0 && stamp.mtime_ns > 0 && stamp.ctime_ns > 0);
    let bytes = stamp.to_bytes();
    assert_eq!(bytes.len(), FileStamp::BYTES);
    assert_eq!(FileStamp::from_bytes(&bytes), Some(stamp));
    assert_eq!(FileStamp::from_bytes(&bytes[1..]), None);
    assert_eq!(FileStamp::from_bytes(&[0; 41]), None);
    std::fs::write(&path, b"one more").unwrap();
    assert_ne!(FileStamp::of(&path), Some(stamp));
    assert_eq!(FileStamp::of(&path.with_file_name("missing.js")), None);
}
