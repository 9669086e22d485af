//! Downloading a file safely: verified, atomic, resumable, with a progress bar.
//!
//! [`fetch`] is the one download function of the crate; every dataset (Fashion-MNIST, MNIST,
//! Galaxy10, cats vs dogs) goes through it. It
//!
//! 1. asks the server for the file (HTTP GET, TLS by rustls, redirects followed),
//! 2. streams the body into `.<name>.partial` *in the destination folder*, hashing it with
//!    SHA-256 and counting bytes as they arrive, with a progress bar on stderr when stderr is
//!    a terminal,
//! 3. checks the size and the digest (SHA-256, or MD5 for Keras's weight files with
//!    [`fetch_md5`]) against the expected ones, and only then
//! 4. renames the partial file onto the destination.
//!
//! A rename inside one folder is atomic, so the destination either does not exist or holds the
//! whole verified file: a wrong checksum, a dropped connection, a full disk or a killed
//! process never leaves half a file where a loader would find it.
//!
//! # Interrupted downloads
//! When the connection drops (or the process is killed) the bytes received so far stay in
//! `.<name>.partial`, and the next `fetch` of the same destination resumes: it hashes the
//! partial bytes and asks the server for the rest with `Range: bytes=<len>-`.
//!
//! - A server that answers `206 Partial Content` with the matching `Content-Range` sends only
//!   the rest, which is appended;
//! - a server that ignores ranges (`200 OK`) sends the whole file, which replaces the partial
//!   one (a clean restart);
//! - a server that answers `416 Range Not Satisfiable` (the partial file is as long as the
//!   file, or longer) makes the partial file go and the download start again from zero.
//!
//! The final size and SHA-256 are checked over the whole file either way, so a partial file
//! left by another version of the file cannot slip through: it fails the check, and is
//! deleted. Every other error (wrong size or checksum, HTTP error, a write that fails, e.g. on
//! a full disk) deletes the partial file, so only a dropped connection keeps bytes on disk.
//! Two processes must not download the same destination at the same time.
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use md5::Md5;
use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};

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

/// How long to wait for a connection, and for each read once connected.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the bytes of an unfinished download of `dest` are kept: `.<name>.partial` beside it.
pub fn partial_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".to_string());
    dest.with_file_name(format!(".{name}.partial"))
}

/// Downloads `url` to `dest`, verifying it, and returns `dest`.
///
/// `expected_sha256` (lower-case hex) and `expected_size` are checked when given; give them
/// whenever they are known. The parent folder of `dest` is created if needed. An existing
/// `dest` is replaced only once the new file is complete and verified. A download that was
/// cut off earlier resumes where it stopped (see the module doc).
///
/// # Errors
/// - [`DataError::HttpStatus`] when the server answers 404, 500, … (the message names the URL);
/// - [`DataError::Download`] when the connection fails or drops before the end (the bytes
///   received are kept in [`partial_path`] for the next call);
/// - [`DataError::Verification`] when the size or the SHA-256 is not the expected one;
/// - [`DataError::Io`] when the destination folder cannot be written (e.g. the disk is full).
///
/// In every error case nothing is left at `dest`, and nothing beside it except the partial
/// file of a dropped connection.
pub fn fetch(
    url: &str,
    dest: &Path,
    expected_sha256: Option<&str>,
    expected_size: Option<u64>,
) -> Result<PathBuf> {
    fetch_checked(url, dest, expected_sha256, expected_size, None)
}

/// [`fetch`] for a file published with an MD5 checksum, as Keras publishes its
/// `keras.applications` weights (`get_file(..., file_hash=<md5>)`): the digest of the whole
/// file is checked before the rename, and a file that fails it is deleted.
///
/// # Errors
/// As [`fetch`]; [`DataError::Verification`] with `what: "MD5"` for a wrong checksum.
pub fn fetch_md5(url: &str, dest: &Path, expected_md5: Option<&str>) -> Result<PathBuf> {
    fetch_checked(url, dest, None, None, expected_md5)
}

/// [`fetch`] with every check it can make: size, SHA-256 and MD5, each when given.
fn fetch_checked(
    url: &str,
    dest: &Path,
    expected_sha256: Option<&str>,
    expected_size: Option<u64>,
    expected_md5: Option<&str>,
) -> Result<PathBuf> {
    let folder = match dest.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&folder).map_err(|e| DataError::io(&folder, e))?;
    let partial = partial_path(dest);
    let name = dest
        .file_name()
        .map_or_else(|| url.to_string(), |n| n.to_string_lossy().into_owned());
    let result = fetch_into(url, &partial, &name, expected_sha256, expected_size)
        .and_then(|()| check_md5(url, &partial, expected_md5));
    match result {
        Ok(()) => {
            std::fs::rename(&partial, dest).map_err(|e| {
                let _ = std::fs::remove_file(&partial);
                DataError::io(dest, e)
            })?;
            Ok(dest.to_path_buf())
        }
        // Only a dropped connection keeps its bytes, for the next call to resume.
        Err(e @ DataError::Download { .. }) if partial_len(&partial) > 0 => Err(e),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn partial_len(partial: &Path) -> u64 {
    std::fs::metadata(partial).map_or(0, |m| m.len())
}

/// Downloads into `partial` (resuming from its bytes), verifies, and syncs it to disk;
/// `name` is shown on the progress bar.
fn fetch_into(
    url: &str,
    partial: &Path,
    name: &str,
    expected_sha256: Option<&str>,
    expected_size: Option<u64>,
) -> Result<()> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(CONNECT_TIMEOUT)
        .timeout_read(READ_TIMEOUT)
        .build();
    let mut resume_from = partial_len(partial);
    let response = loop {
        let mut request = agent.get(url);
        if resume_from > 0 {
            request = request.set("Range", &format!("bytes={resume_from}-"));
        }
        match request.call() {
            Ok(response) => break response,
            // The partial file is as long as the file or longer: start again from zero.
            Err(ureq::Error::Status(416, _)) if resume_from > 0 => {
                std::fs::remove_file(partial).map_err(|e| DataError::io(partial, e))?;
                resume_from = 0;
            }
            Err(ureq::Error::Status(status, _)) => {
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
    let content_length: Option<u64> = response
        .header("Content-Length")
        .and_then(|value| value.trim().parse().ok());
    // 206 with `Content-Range: bytes <start>-<end>/<total>` for our start: append the rest.
    // Anything else (200) is the whole file: start over.
    let resumed_total = if response.status() == 206 && resume_from > 0 {
        let total = response
            .header("Content-Range")
            .and_then(|range| parse_content_range(range, resume_from));
        match total {
            Some(total) => Some(total),
            None => {
                return Err(DataError::Verification {
                    url: url.to_string(),
                    what: "Content-Range of the resumed download",
                    expected: format!("bytes {resume_from}-<end>/<total>"),
                    found: response
                        .header("Content-Range")
                        .unwrap_or("none")
                        .to_string(),
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

    let mut hasher = Sha256::new();
    let mut file = if start > 0 {
        // The bytes already here count in the digest.
        let mut existing = File::open(partial).map_err(|e| DataError::io(partial, e))?;
        std::io::copy(&mut existing, &mut hasher).map_err(|e| DataError::io(partial, e))?;
        OpenOptions::new()
            .append(true)
            .open(partial)
            .map_err(|e| DataError::io(partial, e))?
    } else {
        File::create(partial).map_err(|e| DataError::io(partial, e))?
    };

    let progress = progress_bar(name, announced.or(expected_size));
    progress.set_position(start);
    let mut reader = response.into_reader();
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
        hasher.update(&buffer[..n]);
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
    if let Some(expected) = expected_size {
        if received != expected {
            return Err(DataError::Verification {
                url: url.to_string(),
                what: "size in bytes",
                expected: expected.to_string(),
                found: received.to_string(),
            });
        }
    }
    let digest = to_hex(&hasher.finalize());
    if let Some(expected) = expected_sha256 {
        if !digest.eq_ignore_ascii_case(expected) {
            return Err(DataError::Verification {
                url: url.to_string(),
                what: "SHA-256",
                expected: expected.to_string(),
                found: digest,
            });
        }
    }
    // Flushed to disk before the rename, so that a crash cannot leave a renamed empty file.
    file.sync_all().map_err(|e| DataError::io(partial, e))
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

/// Checks the MD5 of a complete download (a second pass over the file: MD5 is only asked for
/// by Keras's weight files, read once).
fn check_md5(url: &str, path: &Path, expected_md5: Option<&str>) -> Result<()> {
    let Some(expected) = expected_md5 else {
        return Ok(());
    };
    let digest = md5_file(path)?;
    if digest.eq_ignore_ascii_case(expected) {
        return Ok(());
    }
    Err(DataError::Verification {
        url: url.to_string(),
        what: "MD5",
        expected: expected.to_string(),
        found: digest,
    })
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

/// A tiny HTTP/1.1 server on 127.0.0.1 for the download tests (here and in the loaders).
#[cfg(test)]
pub(crate) mod test_server {
    use std::collections::HashMap;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    /// What the server does for one path.
    #[derive(Clone)]
    pub enum Reply {
        /// 200 with the whole body.
        Body(Vec<u8>),
        /// 200 announcing the whole body, then the connection closes after `sent` bytes.
        DropAfter { body: Vec<u8>, sent: usize },
        /// Honours `Range: bytes=<start>-` with 206 and `Content-Range` (416 past the end);
        /// 200 with the whole body without a Range header.
        Ranged(Vec<u8>),
    }

    /// Serves `routes` (path → reply; anything else is a 404) for at most `max_requests`
    /// requests or 20 seconds, whichever comes first. Returns the base URL
    /// (`http://127.0.0.1:PORT`) and a handle that yields the paths requested, in order, each
    /// followed by ` (bytes=<start>-)` when the request asked for a range.
    pub fn serve(
        routes: HashMap<String, Reply>,
        max_requests: usize,
    ) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("bound address"));
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut requested = Vec::new();
            while requested.len() < max_requests && Instant::now() < deadline {
                let mut stream = match listener.accept() {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                };
                stream.set_nonblocking(false).expect("blocking stream");
                let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                // Read the headers up to the blank line, keeping a Range header.
                let mut range_start: Option<usize> = None;
                let mut line = String::new();
                while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                    let lower = line.to_ascii_lowercase();
                    if let Some(value) = lower.strip_prefix("range: bytes=") {
                        range_start = value.trim().trim_end_matches('-').parse().ok();
                    }
                    line.clear();
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .to_string();
                let mut extra = String::new();
                let (status, body, sent) = match (routes.get(&path), range_start) {
                    (Some(Reply::Body(body)), _) => ("200 OK", body.clone(), body.len()),
                    (Some(Reply::DropAfter { body, sent }), _) => ("200 OK", body.clone(), *sent),
                    (Some(Reply::Ranged(body)), Some(start)) if start < body.len() => {
                        extra = format!(
                            "Content-Range: bytes {start}-{}/{}\r\n",
                            body.len() - 1,
                            body.len()
                        );
                        let rest = body[start..].to_vec();
                        let len = rest.len();
                        ("206 Partial Content", rest, len)
                    }
                    (Some(Reply::Ranged(_)), Some(_)) => ("416 Range Not Satisfiable", vec![], 0),
                    (Some(Reply::Ranged(body)), None) => ("200 OK", body.clone(), body.len()),
                    (None, _) => ("404 Not Found", b"not found".to_vec(), 9),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body[..sent]);
                let _ = stream.flush();
                match range_start {
                    Some(start) => requested.push(format!("{path} (bytes={start}-)")),
                    None => requested.push(path),
                }
            }
            requested
        });
        (base, handle)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::test_server::{serve, Reply};
    use super::*;

    fn files_in(dir: &Path) -> Vec<String> {
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
        // Only the file itself: no temporary left beside it.
        assert_eq!(files_in(&dir.path().join("sub")), vec!["f.bin"]);
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

    fn numbered_body(len: u32) -> Vec<u8> {
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
        assert_eq!(files_in(dir.path()), vec!["f.bin"]);
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
        assert_eq!(files_in(dir.path()), vec!["f.bin"]);
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
        assert_eq!(files_in(&dir.path().join("models")), vec!["w.h5"]);
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
