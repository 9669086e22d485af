//! Downloading a file safely: verified, atomic, resumable, shared between processes, with a
//! progress bar.
//!
//! [`fetch`] is the one download function of the crate; every dataset (Fashion-MNIST, MNIST,
//! Galaxy10, cats vs dogs) and Keras's weight files go through it. It
//!
//! 1. takes an exclusive lock on `.<name>.lock` beside the destination (see *Two processes at
//!    once* below);
//! 2. returns the destination at once when it is already there and passes its checks (see
//!    *Verified once*);
//! 3. otherwise asks the server for the file (HTTP GET, TLS by rustls, redirects followed) and
//!    streams the body into `.<name>.partial` *in the destination folder*, with a progress
//!    bar on stderr when stderr is a terminal;
//! 4. flushes the partial file to disk, then reads it back to check its size and digest
//!    (SHA-256, or MD5 for Keras's weight files with [`fetch_md5`]): what is checked is what
//!    a loader will read, not the bytes as they passed through memory;
//! 5. renames it onto the destination, records that it passed, and releases the lock.
//!
//! A rename inside one folder is atomic, so the destination either does not exist or holds the
//! whole verified file: a wrong checksum, a dropped connection, a full disk or a killed
//! process never leaves half a file where a loader would find it.
//!
//! # Two processes at once
//! Two examples started together, or the ranks of an MPI job, may ask for the same file at the
//! same moment. The lock lets one of them download while the others wait (saying so on
//! stderr); each waiting process then finds the verified file and uses it. The lock is the
//! operating system's, so a process that dies, however it dies, releases it; the holder
//! removes `.<name>.lock` as it releases it, so no lock file stays behind (`download/lock.rs`).
//!
//! Some network file systems cannot lock. There each process downloads into a temporary file
//! of its own (`.<name>.<random>.partial`, never resumed), and the atomic rename is the only
//! place where the processes meet: a later rename replaces the file with the same bytes.
//!
//! # Verified once
//! After a file passes its checks, `.<name>.verified` records its size, its modification time
//! and the digest it matched (`download/stamp.rs`). A later `fetch` compares only these, so a
//! 200 MB file is not hashed again on every run. A file whose size or time differs is hashed
//! again, and one that fails is downloaded again, with a message on stderr that says what was
//! found.
//!
//! # Interrupted downloads
//! When the connection drops (or the process is killed) the bytes received so far stay in
//! `.<name>.partial`, and the next `fetch` of the same destination resumes: it asks the server
//! for the rest with `Range: bytes=<len>-`.
//!
//! - A server that answers `206 Partial Content` with the matching `Content-Range` sends only
//!   the rest, which is appended;
//! - a server that ignores ranges (`200 OK`) sends the whole file, which replaces the partial
//!   one (a clean restart);
//! - a server that answers `416 Range Not Satisfiable` (the partial file is as long as the
//!   file, or longer) makes the partial file go and the download start again from zero.
//!
//! The final size and digest are checked over the whole file on disk either way, so a partial
//! file left by another version of the file cannot slip through: it fails the check, and is
//! deleted. Every other error (wrong size or checksum, HTTP error, a write that fails, e.g. on
//! a full disk) deletes the partial file, so only a dropped connection keeps bytes on disk.
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use md5::Md5;
use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};

mod lock;
mod stamp;

#[cfg(test)]
mod concurrent_tests;
#[cfg(test)]
pub(crate) mod test_server;

use lock::DownloadLock;

/// A file that a dataset needs, as published: its name and what the download must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteFile {
    /// The file name, both on the server (appended to the dataset's base URL) and on disk.
    pub name: &'static str,
    /// SHA-256 of the file as downloaded (lower-case hex).
    pub sha256: &'static str,
    /// Size in bytes of the file as downloaded.
    pub size: u64,
}

/// What a file must match to be accepted; each check is made when it is given.
#[derive(Debug, Clone, Copy, Default)]
struct Expected<'a> {
    /// Size in bytes.
    size: Option<u64>,
    /// SHA-256 as hex, either case.
    sha256: Option<&'a str>,
    /// MD5 as hex, either case.
    md5: Option<&'a str>,
}

/// How long to wait for a connection, and for each read once connected.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the bytes of an unfinished download of `dest` are kept: `.<name>.partial` beside it.
pub fn partial_path(dest: &Path) -> PathBuf {
    dest.with_file_name(format!(".{}.partial", file_name(dest)))
}

/// The file name of `dest`, as text (`download` if it has none).
fn file_name(dest: &Path) -> String {
    dest.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".to_string())
}

/// The folder that holds `dest` (`.` for a bare file name).
fn folder_of(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Downloads `url` to `dest`, verifying it, and returns `dest`.
///
/// `expected_sha256` (lower-case hex) and `expected_size` are checked when given; give them
/// whenever they are known. The parent folder of `dest` is created if needed. A `dest` that is
/// already there and passes the checks is returned without a download (it is hashed the first
/// time only; see the module doc); one that fails them is downloaded again, and replaced only
/// once the new file is complete and verified. A download that was cut off earlier resumes
/// where it stopped. Other processes fetching the same `dest` at the same time wait for this
/// one and then use its file.
///
/// # Errors
/// - [`DataError::HttpStatus`] when the server answers 404, 500, … (the message names the URL);
/// - [`DataError::Download`] when the connection fails or drops before the end (the bytes
///   received are kept in [`partial_path`] for the next call);
/// - [`DataError::Verification`] when the size or the SHA-256 is not the expected one;
/// - [`DataError::Io`] when the destination folder cannot be written (e.g. the disk is full).
///
/// In every error case no new file is left at `dest`, and nothing beside it except the partial
/// file of a dropped connection.
pub fn fetch(
    url: &str,
    dest: &Path,
    expected_sha256: Option<&str>,
    expected_size: Option<u64>,
) -> Result<PathBuf> {
    let expected = Expected {
        size: expected_size,
        sha256: expected_sha256,
        md5: None,
    };
    fetch_checked(url, dest, expected)
}

/// [`fetch`] for a file published with an MD5 checksum, as Keras publishes its
/// `keras.applications` weights (`get_file(..., file_hash=<md5>)`): the digest of the whole
/// file is checked before the rename, and a file that fails it is deleted.
///
/// # Errors
/// As [`fetch`]; [`DataError::Verification`] with `what: "MD5"` for a wrong checksum.
pub fn fetch_md5(url: &str, dest: &Path, expected_md5: Option<&str>) -> Result<PathBuf> {
    let expected = Expected {
        md5: expected_md5,
        ..Expected::default()
    };
    fetch_checked(url, dest, expected)
}

/// How this process keeps its download of a file apart from other processes fetching it.
enum Guard {
    /// It holds `.<name>.lock`: it alone touches the destination and `.<name>.partial`. The
    /// lock is only held, never read: it is released when the guard is dropped.
    Locked { _lock: DownloadLock },
    /// The folder cannot be locked (`why`): the bytes go to a temporary file of its own.
    Unlocked { why: std::io::Error },
}

/// [`fetch`] with every check it can make, each when given.
fn fetch_checked(url: &str, dest: &Path, expected: Expected) -> Result<PathBuf> {
    let folder = folder_of(dest);
    std::fs::create_dir_all(&folder).map_err(|e| DataError::io(&folder, e))?;
    let guard = match DownloadLock::acquire(dest) {
        Ok(lock) => Guard::Locked { _lock: lock },
        Err(why) => Guard::Unlocked { why },
    };
    // The lock is released when `guard` goes, after the rename and the stamp.
    fetch_guarded(url, dest, expected, &guard)
}

/// [`fetch`] once `guard` keeps the other processes away, or says why it cannot.
fn fetch_guarded(url: &str, dest: &Path, expected: Expected, guard: &Guard) -> Result<PathBuf> {
    if verified_copy(url, dest, expected)? {
        return Ok(dest.to_path_buf());
    }
    match guard {
        Guard::Locked { .. } => download_resumable(url, dest, expected)?,
        Guard::Unlocked { why } => {
            eprintln!(
                "Cannot lock {} ({why}): downloading without a lock, into a temporary file \
                 of this process",
                lock::lock_path(dest).display()
            );
            download_private(url, dest, expected)?;
        }
    }
    stamp::record(dest, expected);
    Ok(dest.to_path_buf())
}

/// Whether `dest` is already here and passes `expected`: at once when its stamp says it passed
/// before, else after reading it all. A copy that fails is left for the download to replace,
/// with a message that says what was wrong with it.
///
/// # Errors
/// [`DataError::Io`] when `dest` is there but cannot be read.
fn verified_copy(url: &str, dest: &Path, expected: Expected) -> Result<bool> {
    if !dest.is_file() {
        return Ok(false);
    }
    if stamp::matches(dest, expected) {
        return Ok(true);
    }
    match verify_file(url, dest, expected) {
        Ok(()) => {
            stamp::record(dest, expected);
            Ok(true)
        }
        Err(DataError::Verification {
            what,
            expected,
            found,
            ..
        }) => {
            eprintln!(
                "{}: the copy already there is damaged (expected {what} {expected}, found \
                 {found}); downloading it again",
                dest.display()
            );
            Ok(false)
        }
        Err(other) => Err(other),
    }
}

/// Downloads into `.<name>.partial`, which only the holder of the lock touches, resuming
/// after the bytes an interrupted download left there; then verifies it and renames it onto
/// `dest`.
fn download_resumable(url: &str, dest: &Path, expected: Expected) -> Result<()> {
    let partial = partial_path(dest);
    let result = download_into(url, &partial, &file_name(dest), expected.size)
        .and_then(|()| verify_file(url, &partial, expected))
        .and_then(|()| std::fs::rename(&partial, dest).map_err(|e| DataError::io(dest, e)));
    match result {
        Ok(()) => Ok(()),
        // Only a dropped connection keeps its bytes, for the next call to resume.
        Err(e @ DataError::Download { .. }) if partial_len(&partial) > 0 => Err(e),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// Downloads into a temporary file that no other process knows of, then verifies it and
/// renames it onto `dest`. Whatever fails, the temporary file is removed.
fn download_private(url: &str, dest: &Path, expected: Expected) -> Result<()> {
    let folder = folder_of(dest);
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name(dest)))
        .suffix(".partial")
        .tempfile_in(&folder)
        .map_err(|e| DataError::io(&folder, e))?
        .into_temp_path(); // removed when dropped, unless persisted
    download_into(url, &temp, &file_name(dest), expected.size)?;
    verify_file(url, &temp, expected)?;
    temp.persist(dest).map_err(|e| DataError::io(dest, e.error))
}

fn partial_len(partial: &Path) -> u64 {
    std::fs::metadata(partial).map_or(0, |m| m.len())
}

/// Downloads `url` into `partial`, resuming after the bytes already there, and syncs it to
/// disk; `name` is shown on the progress bar. Checks only that the whole announced body
/// arrived: the file itself is checked afterwards, on disk, by [`verify_file`].
fn download_into(url: &str, partial: &Path, name: &str, expected_size: Option<u64>) -> Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        // Per read, not for the whole body: a large file on a slow link may take hours.
        .timeout_per_read(Some(READ_TIMEOUT))
        .build()
        .into();
    let mut resume_from = partial_len(partial);
    let response = loop {
        let mut request = agent.get(url);
        if resume_from > 0 {
            request = request.header("Range", &format!("bytes={resume_from}-"));
        }
        match request.call() {
            Ok(response) => break response,
            // The partial file is as long as the file or longer: start again from zero.
            Err(ureq::Error::StatusCode(416)) if resume_from > 0 => {
                std::fs::remove_file(partial).map_err(|e| DataError::io(partial, e))?;
                resume_from = 0;
            }
            Err(ureq::Error::StatusCode(status)) => {
                return Err(DataError::HttpStatus {
                    url: url.to_string(),
                    status,
                })
            }
            Err(other) => {
                return Err(DataError::Download {
                    url: url.to_string(),
                    detail: other.to_string(),
                })
            }
        }
    };
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let content_length: Option<u64> =
        header("Content-Length").and_then(|value| value.trim().parse().ok());
    // 206 with `Content-Range: bytes <start>-<end>/<total>` for our start: append the rest.
    // Anything else (200) is the whole file: start over.
    let resumed_total = if response.status().as_u16() == 206 && resume_from > 0 {
        let total =
            header("Content-Range").and_then(|range| parse_content_range(&range, resume_from));
        match total {
            Some(total) => Some(total),
            None => {
                return Err(DataError::Verification {
                    url: url.to_string(),
                    what: "Content-Range of the resumed download",
                    expected: format!("bytes {resume_from}-<end>/<total>"),
                    found: header("Content-Range").unwrap_or_else(|| "none".to_string()),
                })
            }
        }
    } else {
        None
    };
    let (start, announced) = match resumed_total {
        Some(total) => (resume_from, Some(total)),
        None => (0, content_length),
    };
    if let (Some(expected), Some(announced)) = (expected_size, announced) {
        // Refuse early rather than download a file we already know is the wrong one.
        if expected != announced {
            return Err(DataError::Verification {
                url: url.to_string(),
                what: "size in bytes (from Content-Length)",
                expected: expected.to_string(),
                found: announced.to_string(),
            });
        }
    }

    let mut file = if start > 0 {
        OpenOptions::new()
            .append(true)
            .open(partial)
            .map_err(|e| DataError::io(partial, e))?
    } else {
        File::create(partial).map_err(|e| DataError::io(partial, e))?
    };

    let progress = progress_bar(name, announced.or(expected_size));
    progress.set_position(start);
    // No size limit on this reader (unlike `read_to_vec`): the file streams to disk.
    let mut reader = response.into_body().into_reader();
    let mut received: u64 = start;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                progress.abandon();
                // What arrived is on disk for the next call to resume from.
                let _ = file.flush();
                return Err(DataError::Download {
                    url: url.to_string(),
                    detail: format!(
                        "connection lost after {received} bytes: {e} (kept for the next try)"
                    ),
                });
            }
        };
        file.write_all(&buffer[..n])
            .map_err(|e| DataError::io(partial, e))?;
        received += n as u64;
        progress.inc(n as u64);
    }
    progress.finish_and_clear();

    if let Some(announced) = announced {
        if received != announced {
            return Err(DataError::Download {
                url: url.to_string(),
                detail: format!("connection closed after {received} of {announced} bytes"),
            });
        }
    }
    // On disk before it is checked and renamed, so that a crash cannot leave a renamed file
    // whose bytes never reached the disk.
    file.sync_all().map_err(|e| DataError::io(partial, e))
}

/// Checks the file at `path`, as it is on disk, against `expected`: the size first (cheap),
/// then each digest over the bytes read back from the file.
///
/// # Errors
/// [`DataError::Verification`] naming `url` for the first check that fails;
/// [`DataError::Io`] when the file cannot be read.
fn verify_file(url: &str, path: &Path, expected: Expected) -> Result<()> {
    let mismatch = |what: &'static str, expected: String, found: String| {
        Err(DataError::Verification {
            url: url.to_string(),
            what,
            expected,
            found,
        })
    };
    let size = std::fs::metadata(path)
        .map_err(|e| DataError::io(path, e))?
        .len();
    if let Some(want) = expected.size {
        if size != want {
            return mismatch("size in bytes", want.to_string(), size.to_string());
        }
    }
    if let Some(want) = expected.sha256 {
        let found = sha256_file(path)?;
        if !found.eq_ignore_ascii_case(want) {
            return mismatch("SHA-256", want.to_string(), found);
        }
    }
    if let Some(want) = expected.md5 {
        let found = md5_file(path)?;
        if !found.eq_ignore_ascii_case(want) {
            return mismatch("MD5", want.to_string(), found);
        }
    }
    Ok(())
}

/// The total size from `Content-Range: bytes <start>-<end>/<total>`, when `<start>` is the
/// byte we asked for and the range runs to the end.
fn parse_content_range(value: &str, start: u64) -> Option<u64> {
    let (range, total) = value.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let (first, last, total): (u64, u64, u64) =
        (first.parse().ok()?, last.parse().ok()?, total.parse().ok()?);
    (first == start && last + 1 == total).then_some(total)
}

/// SHA-256 of a file's bytes, as lower-case hex (what `sha256sum` prints).
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| DataError::io(path, e))?;
    Ok(to_hex(&hasher.finalize()))
}

/// MD5 of a file's bytes, as lower-case hex (what `md5sum` prints, and what Keras's
/// `get_file(file_hash=…)` compares for a 32-character hash).
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read.
pub fn md5_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut hasher = Md5::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| DataError::io(path, e))?;
    Ok(to_hex(&hasher.finalize()))
}

/// SHA-256 of bytes in memory, as lower-case hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A byte-counting bar when the size is known, a spinner otherwise. indicatif draws nothing
/// when stderr is not a terminal (tests, CI logs).
fn progress_bar(name: &str, total: Option<u64>) -> ProgressBar {
    let bar = match total {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::new_spinner(),
    };
    let template = "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(format!("Downloading {name}"));
    bar
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::test_server::{serve, Reply};
    use super::*;

    pub(super) fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("readable dir")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_good_download_is_verified_and_written() {
        let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let digest = sha256_bytes(&body);
        let routes = HashMap::from([("/f.bin".to_string(), Reply::Body(body.clone()))]);
        let (base, server) = serve(routes, 1);
        let dir = tempfile::tempdir().expect("temp dir");
        let dest = dir.path().join("sub").join("f.bin");
        let got = fetch(
            &format!("{base}/f.bin"),
            &dest,
            Some(&digest),
            Some(100_000),
        )
        .expect("download succeeds");
        assert_eq!(got, dest);
        assert_eq!(std::fs::read(&dest).expect("written"), body);
        assert_eq!(sha256_file(&dest).expect("readable"), digest);
        // The file and its stamp: no temporary file, no lock file left beside it.
        assert_eq!(
            files_in(&dir.path().join("sub")),
            vec![".f.bin.verified", "f.bin"]
        );
        assert_eq!(server.join().expect("server thread"), vec!["/f.bin"]);
    }

    #[test]
    fn a_wrong_checksum_is_an_error_and_leaves_no_file() {
        let routes = HashMap::from([("/f.bin".to_string(), Reply::Body(b"not the file".to_vec()))]);
        let (base, _server) = serve(routes, 1);
        let dir = tempfile::tempdir().expect("temp dir");
        let dest = dir.path().join("f.bin");
        let expected = "0".repeat(64);
        let err = fetch(&format!("{base}/f.bin"), &dest, Some(&expected), None)
            .expect_err("checksum mismatch");
        assert!(
            matches!(&err, DataError::Verification { what: "SHA-256", found, .. }
                if *found == sha256_bytes(b"not the file")),
            "{err:?}"
        );
        assert!(err.to_string().contains(&expected), "{err}");
        assert!(
            files_in(dir.path()).is_empty(),
            "left behind: {:?}",
            files_in(dir.path())
        );
    }

    #[test]
    fn a_wrong_size_is_refused_before_the_body_is_read() {
        let routes = HashMap::from([("/f.bin".to_string(), Reply::Body(vec![1; 10]))]);
        let (base, _server) = serve(routes, 1);
        let dir = tempfile::tempdir().expect("temp dir");
        let err = fetch(
            &format!("{base}/f.bin"),
            &dir.path().join("f.bin"),
            None,
            Some(11),
        )
        .expect_err("size mismatch");
        assert!(matches!(err, DataError::Verification { .. }), "{err:?}");
        assert!(files_in(dir.path()).is_empty());
    }

    #[test]
    fn a_404_is_an_error_naming_the_url() {
        let (base, _server) = serve(HashMap::new(), 1);
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("{base}/missing.gz");
        let err = fetch(&url, &dir.path().join("missing.gz"), None, None).expect_err("404");
        assert!(
            matches!(err, DataError::HttpStatus { status: 404, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains(&url), "{err}");
        assert!(files_in(dir.path()).is_empty());
    }

    pub(super) fn numbered_body(len: u32) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn a_dropped_connection_keeps_a_partial_file_that_the_next_call_resumes() {
        let body = numbered_body(50_000);
        let digest = sha256_bytes(&body);
        let routes = HashMap::from([(
            "/f.bin".to_string(),
            Reply::DropAfter {
                body: body.clone(),
                sent: 20_000,
            },
        )]);
        let (base, _server) = serve(routes, 1);
        let dir = tempfile::tempdir().expect("temp dir");
        let dest = dir.path().join("f.bin");
        let err = fetch(&format!("{base}/f.bin"), &dest, Some(&digest), Some(50_000))
            .expect_err("dropped");
        assert!(matches!(err, DataError::Download { .. }), "{err:?}");
        // Nothing where a loader looks; the bytes received wait beside it.
        assert_eq!(files_in(dir.path()), vec![".f.bin.partial"]);
        let kept = std::fs::read(partial_path(&dest)).expect("partial kept");
        assert_eq!(kept, body[..kept.len()]);

        // A server that honours ranges sends only the rest.
        let routes = HashMap::from([("/f.bin".to_string(), Reply::Ranged(body.clone()))]);
        let (base, server) = serve(routes, 1);
        fetch(&format!("{base}/f.bin"), &dest, Some(&digest), Some(50_000)).expect("resumed");
        assert_eq!(std::fs::read(&dest).expect("written"), body);
        assert_eq!(files_in(dir.path()), vec![".f.bin.verified", "f.bin"]);
        assert_eq!(
            server.join().expect("server"),
            vec![format!("/f.bin (bytes={}-)", kept.len())]
        );
    }

    #[test]
    fn a_server_without_ranges_restarts_from_zero() {
        let body = numbered_body(30_000);
        let digest = sha256_bytes(&body);
        let dir = tempfile::tempdir().expect("temp dir");
        let dest = dir.path().join("f.bin");
        std::fs::write(partial_path(&dest), vec![0xAA; 1000]).expect("stale partial");
        let routes = HashMap::from([("/f.bin".to_string(), Reply::Body(body.clone()))]);
        let (base, server) = serve(routes, 1);
        fetch(&format!("{base}/f.bin"), &dest, Some(&digest), None).expect("restarted");
        assert_eq!(std::fs::read(&dest).expect("written"), body);
        assert_eq!(files_in(dir.path()), vec![".f.bin.verified", "f.bin"]);
        assert_eq!(server.join().expect("server"), vec!["/f.bin (bytes=1000-)"]);
    }

    #[test]
    fn a_partial_file_as_long_as_the_file_restarts_after_416() {
        let body = numbered_body(10_000);
        let dir = tempfile::tempdir().expect("temp dir");
        let dest = dir.path().join("f.bin");
        std::fs::write(partial_path(&dest), vec![1; 10_000]).expect("full-length partial");
        let routes = HashMap::from([("/f.bin".to_string(), Reply::Ranged(body.clone()))]);
        let (base, server) = serve(routes, 2);
        fetch(
            &format!("{base}/f.bin"),
            &dest,
            Some(&sha256_bytes(&body)),
            None,
        )
        .expect("restarted");
        assert_eq!(std::fs::read(&dest).expect("written"), body);
        assert_eq!(
            server.join().expect("server"),
            vec!["/f.bin (bytes=10000-)", "/f.bin"]
        );
    }

    #[test]
    fn a_stale_partial_file_fails_the_checksum_and_is_deleted() {
        let body = numbered_body(20_000);
        let digest = sha256_bytes(&body);
        let dir = tempfile::tempdir().expect("temp dir");
        let dest = dir.path().join("f.bin");
        // Bytes of another version of the file: resuming appends the right rest to them.
        std::fs::write(partial_path(&dest), vec![9; 5_000]).expect("stale partial");
        let routes = HashMap::from([("/f.bin".to_string(), Reply::Ranged(body.clone()))]);
        let (base, _server) = serve(routes, 2);
        let url = format!("{base}/f.bin");
        let err = fetch(&url, &dest, Some(&digest), None).expect_err("wrong digest");
        assert!(
            matches!(
                err,
                DataError::Verification {
                    what: "SHA-256",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            files_in(dir.path()).is_empty(),
            "{:?}",
            files_in(dir.path())
        );
        // The next call starts from zero and succeeds.
        fetch(&url, &dest, Some(&digest), None).expect("fresh download");
        assert_eq!(std::fs::read(&dest).expect("written"), body);
    }

    #[test]
    fn content_range_must_match_the_request() {
        assert_eq!(parse_content_range("bytes 100-199/200", 100), Some(200));
        assert_eq!(parse_content_range("bytes 0-199/200", 100), None);
        assert_eq!(parse_content_range("bytes 100-150/200", 100), None);
        assert_eq!(parse_content_range("bytes 100-199/*", 100), None);
    }

    #[test]
    fn a_refused_connection_is_a_download_error() {
        // Bind then drop a listener: nothing listens on that port any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("http://127.0.0.1:{port}/f.bin");
        let err = fetch(&url, &dir.path().join("f.bin"), None, None).expect_err("refused");
        assert!(matches!(err, DataError::Download { .. }), "{err:?}");
        assert!(err.to_string().contains(&url), "{err}");
    }

    #[test]
    fn an_md5_download_is_checked_and_a_wrong_one_removed() {
        let body = numbered_body(40_000);
        let dir = tempfile::tempdir().expect("temp dir");
        let scratch = dir.path().join("scratch.bin");
        std::fs::write(&scratch, &body).expect("scratch");
        let digest = md5_file(&scratch).expect("md5");
        std::fs::remove_file(&scratch).expect("remove scratch");
        let routes = HashMap::from([("/w.h5".to_string(), Reply::Body(body.clone()))]);
        let (base, _server) = serve(routes, 2);
        let url = format!("{base}/w.h5");
        let dest = dir.path().join("models").join("w.h5");
        let wrong = "0123456789abcdef0123456789abcdef";
        let err = fetch_md5(&url, &dest, Some(wrong)).expect_err("wrong md5");
        assert!(
            matches!(&err, DataError::Verification { what: "MD5", expected, found, .. }
                if expected == wrong && *found == digest),
            "{err:?}"
        );
        assert!(err.to_string().contains(&url), "{err}");
        // Neither the file nor a partial one is left where a loader would look.
        assert!(files_in(&dir.path().join("models")).is_empty());
        fetch_md5(&url, &dest, Some(&digest.to_uppercase())).expect("right md5");
        assert_eq!(std::fs::read(&dest).expect("written"), body);
        assert_eq!(
            files_in(&dir.path().join("models")),
            vec![".w.h5.verified", "w.h5"]
        );
    }

    /// A URL where nothing listens: a fetch that asks the network fails at once.
    fn refused_url() -> String {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        format!("http://127.0.0.1:{port}/f.bin")
    }

    #[test]
    fn a_good_file_already_there_is_used_without_a_download() {
        let body = numbered_body(20_000);
        let dir = tempfile::tempdir().expect("temp dir");
        let dest = dir.path().join("f.bin");
        std::fs::write(&dest, &body).expect("copy already there");
        let got = fetch(
            &refused_url(),
            &dest,
            Some(&sha256_bytes(&body)),
            Some(20_000),
        )
        .expect("the copy passes its checks");
        assert_eq!(got, dest);
        // Hashed once, and stamped so that it is not hashed again.
        assert_eq!(files_in(dir.path()), vec![".f.bin.verified", "f.bin"]);
    }

    #[test]
    fn a_damaged_copy_is_downloaded_again() {
        let body = numbered_body(20_000);
        let dir = tempfile::tempdir().expect("temp dir");
        let dest = dir.path().join("f.bin");
        let mut damaged = body.clone();
        damaged[12_345] ^= 0x10; // one bit flipped, same size
        std::fs::write(&dest, &damaged).expect("damaged copy");
        let routes = HashMap::from([("/f.bin".to_string(), Reply::Body(body.clone()))]);
        let (base, server) = serve(routes, 1);
        fetch(
            &format!("{base}/f.bin"),
            &dest,
            Some(&sha256_bytes(&body)),
            Some(20_000),
        )
        .expect("downloaded again");
        assert_eq!(std::fs::read(&dest).expect("replaced"), body);
        assert_eq!(server.join().expect("server"), vec!["/f.bin"]);
        assert_eq!(files_in(dir.path()), vec![".f.bin.verified", "f.bin"]);
    }

    /// Rewrites `path` with `bytes` and gives it the modification time `time`.
    fn rewrite_with_time(path: &Path, bytes: &[u8], time: std::time::SystemTime) {
        std::fs::write(path, bytes).expect("rewrite");
        File::options()
            .write(true)
            .open(path)
            .expect("open")
            .set_modified(time)
            .expect("set the modification time");
    }

    #[test]
    fn a_verified_file_is_hashed_again_only_when_its_size_or_time_changes() {
        let body = numbered_body(30_000);
        let digest = sha256_bytes(&body);
        let routes = HashMap::from([("/f.bin".to_string(), Reply::Body(body.clone()))]);
        let (base, server) = serve(routes, 1);
        let dir = tempfile::tempdir().expect("temp dir");
        let dest = dir.path().join("f.bin");
        fetch(&format!("{base}/f.bin"), &dest, Some(&digest), None).expect("first download");
        assert_eq!(server.join().expect("server"), vec!["/f.bin"]);

        // Other bytes of the same size and time: the stamp still matches, so the file is
        // taken without being read. This proves that the hash was skipped.
        let modified = std::fs::metadata(&dest)
            .and_then(|m| m.modified())
            .expect("modification time");
        let other = vec![7u8; body.len()];
        rewrite_with_time(&dest, &other, modified);
        fetch(&refused_url(), &dest, Some(&digest), None).expect("trusted by its stamp");
        assert_eq!(std::fs::read(&dest).expect("read"), other);

        // A different time: hashed again, found wrong, downloaded again.
        rewrite_with_time(&dest, &other, modified + Duration::from_secs(1));
        let routes = HashMap::from([("/f.bin".to_string(), Reply::Body(body.clone()))]);
        let (base, server) = serve(routes, 1);
        fetch(&format!("{base}/f.bin"), &dest, Some(&digest), None).expect("fetched again");
        assert_eq!(std::fs::read(&dest).expect("read"), body);
        assert_eq!(server.join().expect("server"), vec!["/f.bin"]);

        // A different expected digest does not match the stamp either.
        let err = fetch(&refused_url(), &dest, Some(&"0".repeat(64)), None)
            .expect_err("not the file asked for, and offline");
        assert!(matches!(err, DataError::Download { .. }), "{err:?}");
    }

    #[test]
    fn without_a_lock_a_cut_off_download_leaves_nothing() {
        let body = numbered_body(50_000);
        let routes = HashMap::from([(
            "/f.bin".to_string(),
            Reply::DropAfter {
                body: body.clone(),
                sent: 20_000,
            },
        )]);
        let (base, _server) = serve(routes, 1);
        let dir = tempfile::tempdir().expect("temp dir");
        let dest = dir.path().join("f.bin");
        let unlocked = Guard::Unlocked {
            why: std::io::Error::other("no locks in this test"),
        };
        let digest = sha256_bytes(&body);
        let expected = Expected {
            sha256: Some(&digest),
            ..Expected::default()
        };
        let err = fetch_guarded(&format!("{base}/f.bin"), &dest, expected, &unlocked)
            .expect_err("dropped");
        assert!(matches!(err, DataError::Download { .. }), "{err:?}");
        // The temporary file of this process is never resumed, so it goes too.
        assert!(
            files_in(dir.path()).is_empty(),
            "{:?}",
            files_in(dir.path())
        );
    }

    #[test]
    fn md5_matches_the_standard_test_vector() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").expect("write");
        assert_eq!(
            md5_file(&path).expect("md5"),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }

    #[test]
    fn sha256_matches_the_standard_test_vector() {
        assert_eq!(
            sha256_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
