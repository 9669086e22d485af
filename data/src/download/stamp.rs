//! The stamp `.<name>.verified`, which spares a verified file from being hashed on every run.
//!
//! Hashing Galaxy10's 200 MB takes seconds; doing it each time an example starts would be
//! wasted. Once a file has passed its checks, its stamp records what identifies this very copy
//! cheaply (its size and modification time) and what it was checked against:
//!
//! ```text
//! size 210234548
//! modified 1712345678.123456789
//! sha256 969a6b1cefcc36e09fffa86febd2f699a4aa19b837ba0427f01b0bc6ded458af
//! ```
//!
//! A later check reads the file's size and time again: when they and the expected digest are
//! the ones in the stamp, the file is taken as verified. A file rewritten, truncated or
//! touched since, or a different expected digest, does not match its stamp and is hashed
//! again. A stamp is only a shortcut: a missing or damaged one costs one more hash. What it
//! cannot see is a change that keeps both the size and the time (a bit flipped by the disk
//! itself); delete the stamp to have the file hashed again.
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::Expected;

/// The stamp of `dest`: `.<name>.verified` beside it.
pub(super) fn stamp_path(dest: &Path) -> PathBuf {
    dest.with_file_name(format!(".{}.verified", super::file_name(dest)))
}

/// Whether the stamp of `dest` says that the file as it is now passed `expected`.
pub(super) fn matches(dest: &Path, expected: Expected) -> bool {
    match describe(dest, expected) {
        Some(now) => std::fs::read_to_string(stamp_path(dest)).is_ok_and(|stamp| stamp == now),
        None => false,
    }
}

/// Records that `dest`, as it is now, passed `expected`. Only a digest is worth a stamp
/// (a size alone is checked at once). Best effort: a stamp that cannot be written costs one
/// more hash next time, so the error is not worth failing a download that succeeded.
pub(super) fn record(dest: &Path, expected: Expected) {
    if let Some(text) = describe(dest, expected) {
        let _ = std::fs::write(stamp_path(dest), text);
    }
}

/// The stamp's text for `dest` as it is now and for `expected`; `None` when nothing would be
/// spared (no digest expected) or the file's size or time cannot be read.
fn describe(dest: &Path, expected: Expected) -> Option<String> {
    if expected.sha256.is_none() && expected.md5.is_none() {
        return None;
    }
    let metadata = std::fs::metadata(dest).ok()?;
    let modified = metadata.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    let mut text = format!(
        "size {}\nmodified {}.{:09}\n",
        metadata.len(),
        modified.as_secs(),
        modified.subsec_nanos()
    );
    if let Some(sha256) = expected.sha256 {
        text += &format!("sha256 {}\n", sha256.to_ascii_lowercase());
    }
    if let Some(md5) = expected.md5 {
        text += &format!("md5 {}\n", md5.to_ascii_lowercase());
    }
    Some(text)
}
