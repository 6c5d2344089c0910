//! File stamps: the cheap `stat` fingerprint the caller stores next to a content hash so that a
//! later run can skip re-hashing a file whose stamp is unchanged, plus git's "racy" rule for when
//! a stamp cannot be trusted.

use std::time::{SystemTime, UNIX_EPOCH};

use camino::Utf8Path;

/// Size, times and identity of a file, as returned by `stat` (symlinks followed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FileStamp {
    /// Length in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Status-change time, nanoseconds since the Unix epoch (0 where the platform has none).
    pub ctime_ns: i64,
    /// Inode number (0 where the platform has none).
    pub ino: u64,
    /// Device id (0 where the platform has none).
    pub dev: u64,
}

/// Granularity of file timestamps we are willing to trust, in nanoseconds: 2 s.
///
/// FAT stores mtimes with 2 s resolution, HFS+ and some network file systems with 1 s, and even on
/// nanosecond file systems the kernel stamps files from a clock that only advances every tick
/// (1–10 ms), so a file modified "after" a stamp can still show the same mtime. Two seconds covers
/// all of these; the cost of being conservative is re-hashing files modified in the last 2 s.
pub const GRANULARITY_NS: i64 = 2_000_000_000;

impl FileStamp {
    /// Size of [`FileStamp::to_bytes`].
    pub const BYTES: usize = 40;

    /// Stamps `path` (following symlinks); `None` when it is missing or cannot be stat'ed.
    pub fn of(path: &Utf8Path) -> Option<FileStamp> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Self::from_metadata(&meta))
    }

    /// Stamp from already fetched metadata.
    #[cfg(unix)]
    pub fn from_metadata(meta: &std::fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
        FileStamp {
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
            ino: meta.ino(),
            dev: meta.dev(),
        }
    }

    /// Stamp from already fetched metadata.
    #[cfg(not(unix))]
    pub fn from_metadata(meta: &std::fs::Metadata) -> FileStamp {
        FileStamp {
            size: meta.len(),
            mtime_ns: meta.modified().map(system_time_ns).unwrap_or(0),
            ctime_ns: 0,
            ino: 0,
            dev: 0,
        }
    }

    /// Fixed little-endian encoding: size, mtime, ctime, ino, dev (8 bytes each).
    pub fn to_bytes(&self) -> [u8; Self::BYTES] {
        let mut out = [0u8; Self::BYTES];
        out[0..8].copy_from_slice(&self.size.to_le_bytes());
        out[8..16].copy_from_slice(&self.mtime_ns.to_le_bytes());
        out[16..24].copy_from_slice(&self.ctime_ns.to_le_bytes());
        out[24..32].copy_from_slice(&self.ino.to_le_bytes());
        out[32..40].copy_from_slice(&self.dev.to_le_bytes());
        out
    }

    /// Inverse of [`FileStamp::to_bytes`]; `None` unless `bytes` is exactly [`FileStamp::BYTES`] long.
    pub fn from_bytes(bytes: &[u8]) -> Option<FileStamp> {
        let bytes: &[u8; Self::BYTES] = bytes.try_into().ok()?;
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            w
        };
        Some(FileStamp {
            size: u64::from_le_bytes(word(0)),
            mtime_ns: i64::from_le_bytes(word(1)),
            ctime_ns: i64::from_le_bytes(word(2)),
            ino: u64::from_le_bytes(word(3)),
            dev: u64::from_le_bytes(word(4)),
        })
    }
}

/// git's racy-timestamp rule: a stamp taken at `written_at_ns` whose mtime is within
/// [`GRANULARITY_NS`] of that moment (or after it) cannot prove that the content is unchanged — the
/// file may have been modified again within the same timestamp tick — so the caller must re-hash.
pub fn is_racy(stamp: &FileStamp, written_at_ns: i64) -> bool {
    stamp.mtime_ns >= written_at_ns.saturating_sub(GRANULARITY_NS)
}

/// The current wall-clock time in nanoseconds since the Unix epoch (saturating; negative before it).
pub fn now_ns() -> i64 {
    system_time_ns(SystemTime::now())
}

fn system_time_ns(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map(|n| -n).unwrap_or(i64::MIN),
    }
}
