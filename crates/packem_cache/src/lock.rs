//! Advisory locking on `<cache path>.lock` (`flock` on unix, through `std::fs::File::try_lock*`).
//!
//! The lock lives in its own file because compaction replaces the data file by rename (a new
//! inode), which would silently split a lock taken on the data file itself. The lock file is never
//! written or removed except by [`crate::clean`].

use std::fs::{File, OpenOptions, TryLockError};
use std::thread::sleep;
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};

/// A held lock; released when dropped (closing the descriptor releases the `flock`).
#[derive(Debug)]
pub(crate) struct LockGuard {
    _file: File,
}

/// `<path>.lock`.
pub(crate) fn lock_path(path: &Utf8Path) -> Utf8PathBuf {
    let mut s = path.as_str().to_owned();
    s.push_str(".lock");
    Utf8PathBuf::from(s)
}

fn open_lock_file(path: &Utf8Path, create: bool) -> std::io::Result<File> {
    OpenOptions::new().read(true).write(true).create(create).truncate(false).open(lock_path(path))
}

/// Outcome of [`exclusive_bounded`].
pub(crate) enum Exclusive {
    Locked(LockGuard),
    /// Another process (or another `Store` of this one) holds the lock.
    Busy,
}

/// Takes the exclusive lock, creating the lock file if needed, retrying for at most `patience`
/// (another process's commit or open holds it for milliseconds; parallel builds sharing a cache
/// then take turns instead of skipping their commits).
pub(crate) fn exclusive_bounded(path: &Utf8Path, patience: Duration) -> Result<Exclusive, String> {
    let file = open_lock_file(path, true).map_err(|e| format!("cannot open lock file {}: {e}", lock_path(path)))?;
    match retry(patience, || file.try_lock()) {
        Ok(true) => Ok(Exclusive::Locked(LockGuard { _file: file })),
        Ok(false) => Ok(Exclusive::Busy),
        Err(e) => Err(format!("cannot lock {}: {e}", lock_path(path))),
    }
}

/// Takes a shared lock, retrying for at most `patience`. Best effort: `None` when the lock file
/// cannot be opened (read-only directory) or a writer keeps the lock; reading unlocked is still safe
/// because a torn read fails the footer check.
pub(crate) fn shared_bounded(path: &Utf8Path, patience: Duration) -> Option<LockGuard> {
    let file = open_lock_file(path, true).or_else(|_| File::open(lock_path(path))).ok()?;
    matches!(retry(patience, || file.try_lock_shared()), Ok(true)).then_some(LockGuard { _file: file })
}

/// Calls `try_lock` until it succeeds (`Ok(true)`) or `patience` has passed while the lock stays
/// held (`Ok(false)`); an error other than "held" ends it at once.
fn retry(patience: Duration, try_lock: impl Fn() -> Result<(), TryLockError>) -> std::io::Result<bool> {
    let start = Instant::now();
    loop {
        match try_lock() {
            Ok(()) => return Ok(true),
            Err(TryLockError::WouldBlock) if start.elapsed() < patience => sleep(Duration::from_millis(5)),
            Err(TryLockError::WouldBlock) => return Ok(false),
            Err(TryLockError::Error(e)) => return Err(e),
        }
    }
}
