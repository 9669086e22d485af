//! Processes and threads fetching the same file at the same time, and a download killed
//! half-way.
//!
//! The other processes are copies of this very test binary (`std::env::current_exe()`),
//! started with `--exact <test> --nocapture` and the `ASTROGRAD_TEST_WORKER_*` variables set:
//! in such a copy the test runs [`run_as_worker`], which fetches one file and exits (non-zero
//! if the fetch fails). The server's [`Reply::Gated`] holds back the rest of the body until
//! the test has seen the moment it waits for (a partial file on disk, a process saying that it
//! waits), so the downloads overlap for certain, however slowly the machine runs.
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::test_server::{serve, Reply};
use super::tests::{files_in, numbered_body};
use super::*;

/// What a worker fetches, where to, and the SHA-256 it must have.
const URL_VAR: &str = "ASTROGRAD_TEST_WORKER_URL";
const DEST_VAR: &str = "ASTROGRAD_TEST_WORKER_DEST";
const SHA256_VAR: &str = "ASTROGRAD_TEST_WORKER_SHA256";

/// Size of the served file, and how much of it the server sends before its gate opens.
const SIZE: u32 = 300_000;
const BEFORE_GATE: u32 = 100_000;

/// How long a test waits for a moment before it fails (far longer than it ever takes).
const PATIENCE: Duration = Duration::from_secs(60);

/// In a worker copy of the test binary: fetches the file that the environment names, prints
/// `fetched <path>` and returns true. Anywhere else: returns false at once.
fn run_as_worker() -> bool {
    let Ok(url) = std::env::var(URL_VAR) else {
        return false;
    };
    let dest = std::env::var(DEST_VAR).expect("the worker's destination");
    let sha256 = std::env::var(SHA256_VAR).expect("the worker's SHA-256");
    let path = fetch(&url, Path::new(&dest), Some(&sha256), Some(u64::from(SIZE)))
        .unwrap_or_else(|e| panic!("the worker's fetch failed: {e}"));
    println!("fetched {}", path.display());
    true
}

/// A copy of this test binary fetching one file. Killed if the test fails while it runs.
struct Worker {
    child: Child,
    /// The lines of its stderr, as it writes them.
    stderr: mpsc::Receiver<String>,
}

impl Worker {
    /// Starts a copy of this test binary that runs only `test`, as a worker fetching `url`
    /// into `dest`, which must have the SHA-256 `sha256`.
    fn start(test: &str, url: &str, dest: &Path, sha256: &str) -> Worker {
        let module = module_path!()
            .split_once("::")
            .map_or(module_path!(), |(_, inside_the_crate)| inside_the_crate);
        let mut child = Command::new(std::env::current_exe().expect("the test binary"))
            .args([&format!("{module}::{test}"), "--exact", "--nocapture"])
            .env(URL_VAR, url)
            .env(DEST_VAR, dest)
            .env(SHA256_VAR, sha256)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start a worker");
        let stderr = child.stderr.take().expect("piped stderr");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            // Read to the end even when nobody listens, so the worker never blocks on a full pipe.
            for line in BufReader::new(stderr).lines().map_while(|line| line.ok()) {
                let _ = send.send(line);
            }
        });
        Worker {
            child,
            stderr: lines,
        }
    }

    /// Waits until the worker writes a line containing `needle` on stderr; returns the lines
    /// written so far.
    fn wait_for_line(&self, needle: &str) -> Vec<String> {
        let start = Instant::now();
        let mut seen = Vec::new();
        while !seen
            .last()
            .is_some_and(|line: &String| line.contains(needle))
        {
            let left = PATIENCE.saturating_sub(start.elapsed());
            match self.stderr.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(e) => panic!("no {needle:?} from the worker ({e}); it wrote {seen:#?}"),
            }
        }
        seen
    }

    /// Waits until `partial` holds `len` bytes or more: the worker holds the lock and its
    /// download is under way.
    fn wait_for_partial(&mut self, partial: &Path, len: u64) {
        let start = Instant::now();
        while std::fs::metadata(partial).map_or(0, |m| m.len()) < len {
            if let Some(status) = self.child.try_wait().expect("the worker's status") {
                panic!("the worker ended ({status}) before its download was under way");
            }
            assert!(
                start.elapsed() < PATIENCE,
                "{} did not reach {len} bytes in {PATIENCE:?}",
                partial.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the worker to end and returns its stdout; fails the test, showing what it
    /// wrote (`seen` and the rest of its stderr), unless it succeeded.
    fn finish(mut self, mut seen: Vec<String>) -> String {
        let status = self.child.wait().expect("wait for the worker");
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            std::io::Read::read_to_string(&mut out, &mut stdout).expect("the worker's stdout");
        }
        // The reader thread ends, and so the channel, at the end of the worker's stderr.
        seen.extend(self.stderr.iter());
        assert!(
            status.success(),
            "the worker failed ({status});\nstdout: {stdout}\nstderr: {seen:#?}"
        );
        stdout
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A served file whose second part waits for the returned gate to open.
fn gated_route(body: &[u8]) -> (HashMap<String, Reply>, Arc<AtomicBool>) {
    let gate = Arc::new(AtomicBool::new(false));
    let reply = Reply::Gated {
        body: body.to_vec(),
        first: BEFORE_GATE as usize,
        gate: Arc::clone(&gate),
    };
    (HashMap::from([("/f.bin".to_string(), reply)]), gate)
}

#[test]
fn two_processes_fetching_one_file_share_one_download() {
    if run_as_worker() {
        return;
    }
    let body = numbered_body(SIZE);
    let digest = sha256_bytes(&body);
    let (routes, gate) = gated_route(&body);
    // One request only: the second process must take the first one's file, not download it.
    let (base, server) = serve(routes, 1);
    let url = format!("{base}/f.bin");
    let root = tempfile::tempdir().expect("temp dir");
    let cache = root.path().join("cache");
    let dest = cache.join("f.bin");
    let test = "two_processes_fetching_one_file_share_one_download";

    let mut first = Worker::start(test, &url, &dest, &digest);
    first.wait_for_partial(&partial_path(&dest), u64::from(BEFORE_GATE));
    // The first holds the lock, a third of the file on disk: the second must wait for it.
    let second = Worker::start(test, &url, &dest, &digest);
    let said = second.wait_for_line("Waiting for another process");
    gate.store(true, Ordering::SeqCst);

    let fetched = format!("fetched {}", dest.display());
    let first_out = first.finish(Vec::new());
    let second_out = second.finish(said);
    assert!(first_out.contains(&fetched), "{first_out}");
    assert!(second_out.contains(&fetched), "{second_out}");
    assert_eq!(std::fs::read(&dest).expect("the file"), body);
    assert_eq!(server.join().expect("server"), vec!["/f.bin"]);
    // No partial file, no lock file: the file and its stamp.
    assert_eq!(files_in(&cache), vec![".f.bin.verified", "f.bin"]);
}

#[test]
fn a_killed_download_leaves_no_file_and_the_next_fetch_resumes() {
    if run_as_worker() {
        return;
    }
    let body = numbered_body(SIZE);
    let digest = sha256_bytes(&body);
    let (routes, gate) = gated_route(&body);
    let (base, server) = serve(routes, 1);
    let root = tempfile::tempdir().expect("temp dir");
    let dest = root.path().join("f.bin");
    let test = "a_killed_download_leaves_no_file_and_the_next_fetch_resumes";

    let mut worker = Worker::start(test, &format!("{base}/f.bin"), &dest, &digest);
    worker.wait_for_partial(&partial_path(&dest), u64::from(BEFORE_GATE));
    worker.child.kill().expect("kill the worker");
    worker.child.wait().expect("the killed worker");
    gate.store(true, Ordering::SeqCst);
    assert_eq!(server.join().expect("server"), vec!["/f.bin"]);
    // Nothing where a loader looks; the bytes received, and the lock file the killed process
    // could not remove (its lock went with it).
    assert_eq!(files_in(root.path()), vec![".f.bin.lock", ".f.bin.partial"]);
    assert_eq!(
        std::fs::metadata(partial_path(&dest))
            .expect("partial")
            .len(),
        u64::from(BEFORE_GATE)
    );

    let routes = HashMap::from([("/f.bin".to_string(), Reply::Ranged(body.clone()))]);
    let (base, server) = serve(routes, 1);
    fetch(
        &format!("{base}/f.bin"),
        &dest,
        Some(&digest),
        Some(u64::from(SIZE)),
    )
    .expect("resumed at once: no lock is held");
    assert_eq!(std::fs::read(&dest).expect("the file"), body);
    assert_eq!(
        server.join().expect("server"),
        vec![format!("/f.bin (bytes={BEFORE_GATE}-)")]
    );
    assert_eq!(files_in(root.path()), vec![".f.bin.verified", "f.bin"]);
}

#[test]
fn without_a_lock_two_downloads_at_once_each_write_their_own_file() {
    let body = numbered_body(SIZE);
    let digest = sha256_bytes(&body);
    let (routes, gate) = gated_route(&body);
    let (base, server) = serve(routes, 2);
    let root = tempfile::tempdir().expect("temp dir");
    let dest = root.path().join("f.bin");
    let downloads: Vec<_> = (0..2)
        .map(|_| {
            let (url, dest, digest) = (format!("{base}/f.bin"), dest.clone(), digest.clone());
            std::thread::spawn(move || {
                let unlocked = Guard::Unlocked {
                    why: std::io::Error::other("no locks in this test"),
                };
                let expected = Expected {
                    sha256: Some(&digest),
                    size: Some(u64::from(SIZE)),
                    md5: None,
                };
                fetch_guarded(&url, &dest, expected, &unlocked)
            })
        })
        .collect();

    // Both temporary files a third full: the two downloads are under way at once.
    let start = Instant::now();
    let under_way = |name: &String| {
        name.ends_with(".partial")
            && std::fs::metadata(root.path().join(name)).map_or(0, |m| m.len())
                >= u64::from(BEFORE_GATE)
    };
    while files_in(root.path())
        .iter()
        .filter(|n| under_way(n))
        .count()
        < 2
    {
        assert!(
            start.elapsed() < PATIENCE,
            "two partial files never filled: {:?}",
            files_in(root.path())
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    gate.store(true, Ordering::SeqCst);
    for download in downloads {
        let path = download.join().expect("download thread").expect("fetched");
        assert_eq!(path, dest);
    }
    assert_eq!(std::fs::read(&dest).expect("the file"), body);
    assert_eq!(server.join().expect("server"), vec!["/f.bin", "/f.bin"]);
    assert_eq!(files_in(root.path()), vec![".f.bin.verified", "f.bin"]);
}
