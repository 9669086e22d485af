//! Writing a file so that it is either the old one or the complete new one, never half of each.
//!
//! A checkpoint written during a long `fit` must survive the program being killed while it is
//! written. Writing straight into `best.safetensors` would leave a truncated file; instead
//! [`write_atomically`] writes a temporary file next to it, forces it to disk, and renames it
//! over the target. A rename within one directory replaces the name in one step on POSIX
//! filesystems (and on NTFS), so a reader finds the previous file until the new one is
//! complete.
//!
//! The steps, each for a reason:
//!
//! 1. create `.<name>.tmp-<pid>-<n>` in the target's directory (a rename across filesystems
//!    would be a copy, not atomic);
//! 2. let the caller write into it through a buffered writer;
//! 3. flush and `fsync` the file, so that its bytes are on disk before its name is;
//! 4. rename it over the target;
//! 5. `fsync` the directory (Unix), so that the rename itself survives a power cut.
//!
//! If any step fails, or the caller's writer returns an error or panics, the temporary file is
//! removed and the target is left as it was.
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Writes `path` by calling `write` on a buffered writer into a temporary file in the same
/// directory, then renaming that file over `path`: after a failure, a panic or a crash the
/// previous content of `path` (or its absence) is still there, and no temporary file is left
/// behind (except after a crash, as a `.<name>.tmp-*` file).
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("log.txt");
/// use std::io::Write;
/// use astrograd_layers::weights::write_atomically;
/// write_atomically(&path, |w| w.write_all(b"epoch 1\n"))?;
/// // A writer that fails leaves the old file untouched.
/// let failed = write_atomically(&path, |w| {
///     w.write_all(b"epoch 2, half")?;
///     Err(std::io::Error::other("disk full"))
/// });
/// assert!(failed.is_err());
/// assert_eq!(std::fs::read_to_string(&path)?, "epoch 1\n");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// In a data-parallel run (MPI) only rank 0 writes: on the other ranks this returns `Ok`
/// without touching the disk, so no two processes ever write the same file (their weights are
/// the same). A rank that must read the file back waits for rank 0 first (a barrier).
///
/// # Errors
/// The first I/O error: creating the temporary file (a missing or read-only directory),
/// the caller's own error, flushing, syncing or renaming.
pub fn write_atomically<F>(path: impl AsRef<Path>, write: F) -> io::Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> io::Result<()>,
{
    if !astrograd_distributed::is_main_process() {
        return Ok(());
    }
    let path = path.as_ref();
    let (file, temp) = create_temp_beside(path)?;
    // Removes the temporary file on every early return and on a panic in `write`.
    let guard = RemoveOnDrop(Some(temp));
    let mut writer = BufWriter::new(file);
    write(&mut writer)?;
    let file = writer
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    file.sync_all()?;
    drop(file);
    fs::rename(guard.path(), path)?;
    guard.disarm();
    sync_directory(path);
    Ok(())
}

/// Creates a new, empty temporary file in `path`'s directory, named after it.
fn create_temp_beside(path: &Path) -> io::Result<(File, PathBuf)> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("'{}' does not name a file", path.display()),
        )
    })?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".tmp-{}-{n}", std::process::id()));
        let temp = dir.join(name);
        // create_new: never reuse (and so never clobber) a file that is already there.
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((file, temp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Makes the rename durable. Best effort: some filesystems and platforms (Windows) cannot
/// open or sync a directory, and the file itself is complete either way.
fn sync_directory(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Deletes the temporary file when dropped, unless disarmed after the rename.
struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    fn path(&self) -> &Path {
        self.0.as_deref().expect("the path is taken only by disarm")
    }

    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Every file in `dir`, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_a_new_file_and_replaces_an_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.bin");
        write_atomically(&path, |w| w.write_all(b"first")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        write_atomically(&path, |w| w.write_all(b"second, longer")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second, longer");
        assert_eq!(listing(dir.path()), vec!["w.bin"]);
    }

    #[test]
    fn a_writer_that_fails_midway_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.safetensors");
        write_atomically(&path, |w| w.write_all(b"good weights")).unwrap();
        let err = write_atomically(&path, |w| {
            // More than BufWriter's 8 KiB buffer, so that bytes really reach the temp file.
            w.write_all(&[7u8; 20_000])?;
            Err(io::Error::other("interrupted"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "interrupted");
        assert_eq!(fs::read(&path).unwrap(), b"good weights");
        assert_eq!(listing(dir.path()), vec!["checkpoint.safetensors"]);
    }

    #[test]
    fn a_writer_that_fails_leaves_no_file_where_there_was_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.bin");
        assert!(write_atomically(&path, |_| Err(io::Error::other("no"))).is_err());
        assert!(listing(dir.path()).is_empty());
    }

    #[test]
    fn a_panicking_writer_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.bin");
        write_atomically(&path, |w| w.write_all(b"old")).unwrap();
        let result = std::panic::catch_unwind(|| {
            let _ = write_atomically(&path, |w| {
                w.write_all(b"half")?;
                panic!("killed while writing")
            });
        });
        assert!(result.is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(listing(dir.path()), vec!["w.bin"]);
    }

    #[test]
    fn a_missing_directory_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/w.bin");
        let err = write_atomically(&path, |w| w.write_all(b"x")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_path_without_a_file_name_is_an_error() {
        let err = write_atomically("/", |w| w.write_all(b"x")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
