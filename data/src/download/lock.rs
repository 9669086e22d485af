//! The lock that lets one process download a file while the others wait for it.
//!
//! `.<name>.lock` beside the destination is locked with the operating system's advisory lock
//! ([`File::lock`]: `flock` on Linux and macOS, `LockFileEx` on Windows). The kernel drops
//! the lock when the process ends, however it ends, so a killed download never blocks the
//! next one: at worst it leaves the lock file, which the next holder reuses.
//!
//! On Unix the holder removes the lock file just before it releases the lock, so that lock
//! files do not pile up in the cache. That opens one race, closed in
//! [`DownloadLock::acquire`]: a process that was waiting on the old file gets the lock of a
//! file that no longer has a name, which guards nothing. So, once it holds a lock, a process
//! checks that the file it locked is still the one called `.<name>.lock`, and starts again if
//! it is not.
use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

/// How many times [`DownloadLock::acquire`] starts again when the lock file was replaced while
/// it waited. Each new try waits for one more holder, so this is only a guard against a lock
/// file that keeps vanishing (something else deleting files in the cache).
const MAX_ATTEMPTS: usize = 100;

/// The lock file of `dest`: `.<name>.lock` beside it.
pub(super) fn lock_path(dest: &Path) -> PathBuf {
    dest.with_file_name(format!(".{}.lock", super::file_name(dest)))
}

/// An exclusive lock on the download of one destination, held until it is dropped.
#[derive(Debug)]
pub(super) struct DownloadLock {
    /// `.<name>.lock`.
    path: PathBuf,
    /// The open lock file; the lock lives as long as this handle.
    file: File,
}

impl DownloadLock {
    /// Waits until no other process holds the lock of `dest`, then takes it. Says on stderr
    /// when it has to wait.
    ///
    /// # Errors
    /// The I/O error when the lock file cannot be created (a read-only folder) or the file
    /// system cannot lock (some network file systems).
    pub(super) fn acquire(dest: &Path) -> io::Result<DownloadLock> {
        let path = lock_path(dest);
        let mut said_waiting = false;
        for _ in 0..MAX_ATTEMPTS {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    if !said_waiting {
                        eprintln!(
                            "Waiting for another process that is downloading {}",
                            dest.display()
                        );
                        said_waiting = true;
                    }
                    file.lock()?;
                }
                Err(TryLockError::Error(e)) => return Err(e),
            }
            if still_named(&file, &path) {
                return Ok(DownloadLock { path, file });
            }
            // The holder we waited for removed this file: lock the one now at `path`.
        }
        Err(io::Error::other(format!(
            "{} was replaced {MAX_ATTEMPTS} times while waiting for it",
            path.display()
        )))
    }
}

impl Drop for DownloadLock {
    /// Removes the lock file, then releases the lock (in this order: see the module doc).
    fn drop(&mut self) {
        if cfg!(unix) {
            let _ = std::fs::remove_file(&self.path);
        }
        let _ = self.file.unlock();
    }
}

/// Whether the open `file` is still the file called `path` (same device and inode).
#[cfg(unix)]
fn still_named(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

/// Elsewhere the lock file is never removed, so the file locked is always the one named.
#[cfg(not(unix))]
fn still_named(_file: &File, _path: &Path) -> bool {
    true
}
