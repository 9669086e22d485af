//! Cats vs dogs: the 3000 JPEGs of Google's `cats_and_dogs_filtered.zip` (a subset of the
//! Kaggle "Dogs vs. Cats" pictures), in folders ready for `flow_from_directory`.
//!
//! ```text
//! cats_and_dogs_filtered/
//! ├── train/        cats/ (1000 JPEGs)   dogs/ (1000 JPEGs)
//! └── validation/   cats/ (500 JPEGs)    dogs/ (500 JPEGs)
//! ```
//!
//! The course gets them as Keras's tutorials do:
//!
//! ```python
//! path_to_zip = tf.keras.utils.get_file('cats_and_dogs.zip', origin=_URL, extract=True)
//! train_dir = os.path.join(os.path.dirname(path_to_zip), 'cats_and_dogs_filtered', 'train')
//! ```
//!
//! and [`load`] gives the same two folders:
//!
//! ```no_run
//! use astrograd_data::cats_and_dogs;
//! let data = cats_and_dogs::load()?;
//! println!("training pictures in {}", data.train_dir.display());
//! # Ok::<(), astrograd_data::DataError>(())
//! ```
//!
//! # Where the files come from
//! Looked for, in this order (see [`crate::cache`]): the path given to [`load_from`] (the zip,
//! the extracted `cats_and_dogs_filtered` folder, or a folder holding either),
//! `$ASTROGRAD_DATA/cats_and_dogs/` and `astrograd/datasets/cats_and_dogs/` in the user cache
//! ([`crate::cache::user_cache_dir`]). A folder
//! holding the extracted tree is used as it is; a folder holding only the zip gets it
//! extracted beside it. Otherwise the zip is downloaded from [`URL`] into the cache and
//! extracted there; the zip is kept, as Keras keeps it.
//!
//! # Checks
//! Google publishes no checksum for this zip. The download is checked by its size,
//! [`ZIP_SIZE`] (the byte count Keras prints when it downloads it), and the archive by its
//! structure: it must open as a zip, every entry must give exactly its declared size and
//! CRC-32 as it is written (see [`extract`]), and it must hold the four class folders.
//!
//! # Safe extraction
//! An archive is untrusted input. Every entry is checked *before anything is written*: a name
//! with a `..` component, an absolute name or a symbolic link rejects the whole archive
//! ("zip slip"), and so does a total size above [`MAX_EXTRACTED_BYTES`] (a zip bomb). The
//! entries are written into a temporary folder beside the target, which is renamed onto
//! `cats_and_dogs_filtered` only once everything is written and checked: an interrupted or
//! failed extraction leaves nothing behind. A `cats_and_dogs_filtered` folder that lacks any
//! file of the archive (or holds it at another size) is what an extraction stopped halfway by
//! other means leaves (an `unzip` interrupted, a copy cut short): it is replaced by a fresh
//! extraction.
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use flate2::Crc;

use crate::cache::{Fallback, Lookup};
use crate::download::fetch;
use crate::error::{regular_file, DataError, Result};

/// The folder name under `$ASTROGRAD_DATA` and the cache.
pub const DATASET: &str = "cats_and_dogs";

/// Where the course (and Keras's tutorials) download the zip from.
pub const URL: &str = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip";

/// The zip's file name.
pub const ZIP_NAME: &str = "cats_and_dogs_filtered.zip";

/// The zip's size in bytes, as Keras reports it when downloading (`68606236`).
pub const ZIP_SIZE: u64 = 68_606_236;

/// The top folder inside the zip.
pub const FOLDER: &str = "cats_and_dogs_filtered";

/// The class folders the archive must hold, relative to [`FOLDER`].
pub const CLASS_FOLDERS: [&str; 4] = [
    "train/cats",
    "train/dogs",
    "validation/cats",
    "validation/dogs",
];

/// The most bytes an archive may expand to (the real one holds about 68 MB of JPEGs).
pub const MAX_EXTRACTED_BYTES: u64 = 1 << 30;

/// Where the extracted pictures are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatsAndDogs {
    /// The `cats_and_dogs_filtered` folder.
    pub root: PathBuf,
    /// `root/train`, with `cats/` and `dogs/`.
    pub train_dir: PathBuf,
    /// `root/validation`, with `cats/` and `dogs/`.
    pub validation_dir: PathBuf,
}

impl CatsAndDogs {
    /// The folders of an extracted tree at `root`, if it holds the four class folders.
    fn at(root: &Path) -> Option<CatsAndDogs> {
        CLASS_FOLDERS
            .iter()
            .all(|class| root.join(class).is_dir())
            .then(|| CatsAndDogs {
                root: root.to_path_buf(),
                train_dir: root.join("train"),
                validation_dir: root.join("validation"),
            })
    }
}

/// The train and validation folders, downloading (65 MB) and extracting the zip into the
/// user cache the first time.
///
/// # Errors
/// [`DataError::NotFound`] listing every place looked and why the download failed; the errors
/// of [`extract`] when the zip is damaged or unsafe.
pub fn load() -> Result<CatsAndDogs> {
    resolve(&lookup(None), URL, Some(ZIP_SIZE))
}

/// As [`load`], looking first at `path`: the zip itself (extracted beside it), an extracted
/// `cats_and_dogs_filtered` folder, or a folder holding either.
///
/// # Errors
/// As [`load`]; [`DataError::Layout`] when `path` is an extracted folder without the four
/// class folders.
pub fn load_from(path: impl AsRef<Path>) -> Result<CatsAndDogs> {
    let path = path.as_ref();
    if path.is_file() {
        let into = path.parent().unwrap_or(Path::new("."));
        return extract(path, into);
    }
    if path.file_name() == Some(FOLDER.as_ref()) && path.is_dir() {
        return CatsAndDogs::at(path).ok_or_else(|| missing_classes(path));
    }
    resolve(&lookup(Some(path)), URL, Some(ZIP_SIZE))
}

/// The standard [`Lookup`] for cats vs dogs, with `explicit` tried first when given.
pub fn lookup(explicit: Option<&Path>) -> Lookup {
    Lookup::standard(DATASET, explicit, &[], URL, how_to())
}

/// The first place with the extracted tree or the zip, else a download into the lookup's
/// download folder from `url`, checked against `size`.
fn resolve(lookup: &Lookup, url: &str, size: Option<u64>) -> Result<CatsAndDogs> {
    let mut looked = String::new();
    for place in &lookup.places {
        let root = place.dir.join(FOLDER);
        if let Some(found) = CatsAndDogs::at(&root) {
            return Ok(found);
        }
        let zip = place.dir.join(ZIP_NAME);
        if zip.is_file() {
            return extract(&zip, &place.dir);
        }
        let why = if place.dir.is_dir() {
            format!(
                "no {FOLDER}/ with {} and no {ZIP_NAME}",
                CLASS_FOLDERS.join(", ")
            )
        } else {
            "no such folder".to_string()
        };
        looked += &format!("  - {}: {} ({why})\n", place.origin, place.dir.display());
    }
    let not_found = |download: String| DataError::NotFound {
        dataset: DATASET,
        looked: looked.clone(),
        download,
        how_to: lookup.how_to.clone(),
    };
    let dir = match &lookup.fallback {
        Fallback::Download { dir, .. } => dir,
        Fallback::Fail { reason } => return Err(not_found(reason.clone())),
    };
    let zip = fetch(url, &dir.join(ZIP_NAME), None, size).map_err(|e| not_found(e.to_string()))?;
    extract(&zip, dir)
}

/// What to do by hand when the pictures are nowhere.
fn how_to() -> String {
    let cache = crate::cache::user_cache_dir()
        .map(|root| root.join(DATASET).display().to_string())
        .unwrap_or_else(|| format!("${}/{DATASET}", crate::cache::DATA_ENV));
    format!(
        "  - download {URL}\n    into {cache} (it is extracted on the next load), or unzip it \
         anywhere and call cats_and_dogs::load_from(folder)"
    )
}

fn missing_classes(root: &Path) -> DataError {
    let missing: Vec<&str> = CLASS_FOLDERS
        .iter()
        .copied()
        .filter(|class| !root.join(class).is_dir())
        .collect();
    DataError::Layout {
        path: root.to_path_buf(),
        item: "class folders".to_string(),
        expected: CLASS_FOLDERS.join(", "),
        found: format!("{} missing", missing.join(", ")),
    }
}

/// One entry of the archive, checked before anything is written.
struct CheckedEntry {
    /// Its position in the archive.
    index: usize,
    /// Its name as a path that stays inside the target folder.
    relative: PathBuf,
    is_dir: bool,
    /// Its declared uncompressed size.
    size: u64,
}

/// Extracts the zip at `zip_path` into `into`, giving `into/cats_and_dogs_filtered`; does
/// nothing when that folder already holds every file of the archive at its size. See the
/// module doc for the safety checks.
///
/// Each entry is copied through a CRC-32 hasher with room for one byte more than it
/// declares: an entry longer or shorter than declared, or whose bytes were altered (stored or
/// deflated), is an error before the extraction is accepted.
///
/// # Errors
/// - [`DataError::Io`] when the zip cannot be opened or `into` cannot be written,
///   [`DataError::NotAFile`] when it is a named pipe, a device or a folder;
/// - [`DataError::Corrupt`] when it is not a zip;
/// - [`DataError::CorruptEntry`], naming the entry, when one does not decompress, fails its
///   CRC-32 or is not its declared size;
/// - [`DataError::UnsafeArchiveEntry`] for a `..` component, an absolute name or a symlink;
/// - [`DataError::Layout`] when the archive is too large or lacks the four class folders;
/// - [`DataError::StaleExtraction`] when an incomplete folder is in the way and cannot be
///   moved (the message says which folder to delete).
pub fn extract(zip_path: &Path, into: &Path) -> Result<CatsAndDogs> {
    let target = into.join(FOLDER);
    let corrupt = |detail: String| DataError::Corrupt {
        path: zip_path.to_path_buf(),
        format: "zip",
        detail,
    };
    // A named pipe or a device is refused before it is opened (opening it could wait forever).
    regular_file(zip_path)?;
    let file = File::open(zip_path).map_err(|e| DataError::io(zip_path, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| corrupt(e.to_string()))?;
    let entries = check_entries(zip_path, &mut archive)?;
    if let Some(done) = complete_extraction(into, &entries) {
        return Ok(done);
    }

    std::fs::create_dir_all(into).map_err(|e| DataError::io(into, e))?;
    // Removed with everything in it when dropped, on success (after the rename) or error.
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{FOLDER}."))
        .tempdir_in(into)
        .map_err(|e| DataError::io(into, e))?;
    for entry in &entries {
        let dest = staging.path().join(&entry.relative);
        if entry.is_dir {
            std::fs::create_dir_all(&dest).map_err(|e| DataError::io(&dest, e))?;
            continue;
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| DataError::io(parent, e))?;
        }
        write_entry(zip_path, &mut archive, entry, &dest)?;
    }

    let extracted = staging.path().join(FOLDER);
    if CatsAndDogs::at(&extracted).is_none() {
        return Err(DataError::Layout {
            path: zip_path.to_path_buf(),
            item: "archive contents".to_string(),
            expected: format!(
                "folders {}",
                CLASS_FOLDERS.map(|c| format!("{FOLDER}/{c}")).join(", ")
            ),
            found: match missing_classes(&extracted) {
                DataError::Layout { found, .. } => found,
                other => other.to_string(),
            },
        });
    }
    replace_target(&extracted, &target, staging.path(), into, &entries)?;
    CatsAndDogs::at(&target).ok_or_else(|| missing_classes(&target))
}

/// Checks every entry's name and the total size, before anything is written.
fn check_entries(
    zip_path: &Path,
    archive: &mut zip::ZipArchive<File>,
) -> Result<Vec<CheckedEntry>> {
    let corrupt = |detail: String| DataError::Corrupt {
        path: zip_path.to_path_buf(),
        format: "zip",
        detail,
    };
    let mut entries = Vec::with_capacity(archive.len());
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index(index)
            .map_err(|e| corrupt(e.to_string()))?;
        let name = entry
            .name()
            .map_err(|e| corrupt(e.to_string()))?
            .to_string();
        let unsafe_entry = |reason: &'static str| DataError::UnsafeArchiveEntry {
            path: zip_path.to_path_buf(),
            entry: name.clone(),
            reason,
        };
        if entry.is_symlink() {
            return Err(unsafe_entry("symbolic links are not extracted"));
        }
        let relative = safe_relative_path(&name).map_err(unsafe_entry)?;
        // The zip crate's own check, as a second opinion.
        if entry.enclosed_name().is_none() {
            return Err(unsafe_entry("its name leaves the target folder"));
        }
        total = total.saturating_add(entry.size());
        entries.push(CheckedEntry {
            index,
            relative,
            is_dir: entry.is_dir(),
            size: entry.size(),
        });
    }
    if total > MAX_EXTRACTED_BYTES {
        return Err(DataError::Layout {
            path: zip_path.to_path_buf(),
            item: "total uncompressed size".to_string(),
            expected: format!("at most {MAX_EXTRACTED_BYTES} bytes"),
            found: format!("{total} bytes"),
        });
    }
    Ok(entries)
}

/// Writes one file entry to `dest`, checking its size and CRC-32 while it is written.
fn write_entry(
    zip_path: &Path,
    archive: &mut zip::ZipArchive<File>,
    entry: &CheckedEntry,
    dest: &Path,
) -> Result<()> {
    let name = entry.relative.display().to_string().replace('\\', "/");
    let damaged = |expected: String, found: String| DataError::CorruptEntry {
        path: zip_path.to_path_buf(),
        entry: name.clone(),
        expected,
        found,
    };
    let mut reader = archive.by_index(entry.index).map_err(|e| {
        damaged(
            "an entry that can be read".to_string(),
            format!("an unreadable entry ({e})"),
        )
    })?;
    let declared_crc = reader.crc32();
    let mut out = File::create(dest).map_err(|e| DataError::io(dest, e))?;
    let mut crc = Crc::new();
    let mut written: u64 = 0;
    let mut buffer = vec![0u8; 64 << 10];
    // Room for one byte more than declared, so that a longer entry shows, and so that the
    // last read reaches the end of the entry, where the zip crate checks the CRC-32 too.
    let mut limited = (&mut reader).take(entry.size + 1);
    loop {
        // A read error is the archive's fault (bad deflate data, an unknown method, a CRC
        // the zip crate refused); a write error is the disk's.
        let n = match limited.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // Every declared byte arrived and the zip crate's own CRC-32 check failed: the
            // comparison below says which checksum the bytes have.
            Err(_) if written == entry.size && crc.sum() != declared_crc => break,
            Err(e) => {
                return Err(damaged(
                    format!("{} bytes with CRC-32 {declared_crc:08x}", entry.size),
                    format!("data that does not decode: {e}"),
                ))
            }
        };
        crc.update(&buffer[..n]);
        out.write_all(&buffer[..n])
            .map_err(|e| DataError::io(dest, e))?;
        written += n as u64;
    }
    if written != entry.size {
        return Err(damaged(
            format!("{} bytes", entry.size),
            if written > entry.size {
                format!("more than {}", entry.size)
            } else {
                format!("{written} bytes")
            },
        ));
    }
    let crc = crc.sum();
    if crc != declared_crc {
        return Err(damaged(
            format!("CRC-32 {declared_crc:08x}"),
            format!("CRC-32 {crc:08x}"),
        ));
    }
    Ok(())
}

/// The extracted tree in `into` when it holds every file of the archive at its declared size
/// (a complete earlier extraction), else `None`.
fn complete_extraction(into: &Path, entries: &[CheckedEntry]) -> Option<CatsAndDogs> {
    let found = CatsAndDogs::at(&into.join(FOLDER))?;
    let complete = entries
        .iter()
        .filter(|e| !e.is_dir && e.relative.starts_with(FOLDER))
        .all(|e| {
            std::fs::metadata(into.join(&e.relative))
                .is_ok_and(|m| m.is_file() && m.len() == e.size)
        });
    complete.then_some(found)
}

/// Renames the fresh `extracted` tree onto `target`. When `target` is in the way: another
/// process may have just finished the same extraction (then its tree is used), or it is an
/// incomplete tree left earlier, which is moved into `staging` (deleted with it) and replaced.
fn replace_target(
    extracted: &Path,
    target: &Path,
    staging: &Path,
    into: &Path,
    entries: &[CheckedEntry],
) -> Result<()> {
    let Err(first) = std::fs::rename(extracted, target) else {
        return Ok(());
    };
    if complete_extraction(into, entries).is_some() {
        return Ok(());
    }
    let stale = |detail: String| DataError::StaleExtraction {
        path: target.to_path_buf(),
        detail,
    };
    match std::fs::rename(target, staging.join("stale")) {
        Ok(()) => {}
        // Gone already: another process moved it.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(stale(format!("{first}; moving it aside: {e}"))),
    }
    if let Err(e) = std::fs::rename(extracted, target) {
        if complete_extraction(into, entries).is_none() {
            return Err(stale(format!("{first}; then: {e}")));
        }
    }
    Ok(())
}

/// `name` as a relative path that stays inside the target folder, or why it does not.
/// Stricter than the zip crate's `enclosed_name`: any `..` is refused, even `a/../b`.
fn safe_relative_path(name: &str) -> std::result::Result<PathBuf, &'static str> {
    if name.contains('\0') {
        return Err("its name contains a NUL byte");
    }
    if name.starts_with('/') || name.starts_with('\\') || name.get(1..2) == Some(":") {
        return Err("its name is an absolute path");
    }
    // Archives made on Windows may separate with backslashes.
    if name.split(['/', '\\']).any(|part| part == "..") {
        return Err("its name contains a `..` component");
    }
    let mut path = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("its name contains a `..` component"),
            Component::RootDir | Component::Prefix(_) => {
                return Err("its name is an absolute path")
            }
        }
    }
    if path.as_os_str().is_empty() {
        return Err("its name is empty");
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::cache::Place;
    use crate::download::test_server::{serve, Reply};

    /// One entry of a test archive.
    enum Entry {
        File(&'static str, &'static [u8]),
        Symlink(&'static str, &'static str),
    }

    /// The names of a small archive laid out as the real one (the "JPEGs" are not images:
    /// extraction does not decode them).
    fn good_entries() -> Vec<Entry> {
        vec![
            Entry::File("cats_and_dogs_filtered/vectorize.py", b"print('hi')\n"),
            Entry::File("cats_and_dogs_filtered/train/cats/cat.0.jpg", b"cat zero"),
            Entry::File("cats_and_dogs_filtered/train/cats/cat.1.jpg", b"cat one"),
            Entry::File("cats_and_dogs_filtered/train/dogs/dog.0.jpg", b"dog zero"),
            Entry::File(
                "cats_and_dogs_filtered/validation/cats/cat.2000.jpg",
                b"c2000",
            ),
            Entry::File(
                "cats_and_dogs_filtered/validation/dogs/dog.2000.jpg",
                b"d2000",
            ),
        ]
    }

    fn zip_bytes(entries: &[Entry]) -> Vec<u8> {
        zip_bytes_with(entries, zip::CompressionMethod::Deflated)
    }

    fn zip_bytes_with(entries: &[Entry], method: zip::CompressionMethod) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for entry in entries {
            match entry {
                Entry::File(name, body) => {
                    writer.start_file(*name, options).expect("start entry");
                    writer.write_all(body).expect("write entry");
                }
                Entry::Symlink(name, target) => {
                    writer
                        .add_symlink(*name, *target, options)
                        .expect("symlink");
                }
            }
        }
        writer.finish().expect("finish zip").into_inner()
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("readable")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_good_archive_is_extracted_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let zip = dir.path().join(ZIP_NAME);
        std::fs::write(&zip, zip_bytes(&good_entries())).expect("write zip");
        let data = load_from(&zip).expect("extracts");
        assert_eq!(data.root, dir.path().join(FOLDER));
        assert_eq!(data.train_dir, dir.path().join(FOLDER).join("train"));
        assert_eq!(
            std::fs::read(data.train_dir.join("cats/cat.1.jpg")).expect("extracted"),
            b"cat one"
        );
        assert_eq!(names_in(&data.validation_dir), vec!["cats", "dogs"]);
        // Only the zip and the tree: the staging folder is gone.
        assert_eq!(names_in(dir.path()), vec![FOLDER, ZIP_NAME]);
        // A second call sees the complete folder and does not extract again.
        std::fs::write(data.train_dir.join("cats/marker"), b"").expect("marker");
        assert_eq!(load_from(&zip).expect("already there"), data);
        assert!(data.train_dir.join("cats/marker").exists());
        // The extracted folder itself, and the folder holding it, are accepted too.
        assert_eq!(load_from(&data.root).expect("tree"), data);
        assert_eq!(
            load_from(dir.path()).expect("folder holding the tree"),
            data
        );
    }

    /// An archive with one bad entry, and the reason it must be refused for.
    struct UnsafeCase {
        bad: Entry,
        reason: &'static str,
    }

    #[test]
    fn zip_slip_entries_reject_the_whole_archive() {
        let cases = [
            UnsafeCase {
                bad: Entry::File("../evil", b"gotcha"),
                reason: "`..`",
            },
            UnsafeCase {
                bad: Entry::File("cats_and_dogs_filtered/train/../../evil", b"gotcha"),
                reason: "`..`",
            },
            UnsafeCase {
                bad: Entry::File("/tmp/astrograd-evil", b"gotcha"),
                reason: "absolute",
            },
            UnsafeCase {
                bad: Entry::Symlink("cats_and_dogs_filtered/train/cats/link", "/etc"),
                reason: "symbolic link",
            },
        ];
        for case in cases {
            let root = tempfile::tempdir().expect("temp dir");
            let into = root.path().join("into");
            let mut entries = good_entries();
            entries.insert(2, case.bad);
            let zip = root.path().join(ZIP_NAME);
            std::fs::write(&zip, zip_bytes(&entries)).expect("write zip");
            let err = extract(&zip, &into).expect_err("unsafe archive");
            assert!(
                matches!(err, DataError::UnsafeArchiveEntry { .. }),
                "{err:?}"
            );
            assert!(err.to_string().contains(case.reason), "{err}");
            // Nothing was written: not the good entries, not the evil one.
            assert!(!into.exists(), "{:?}", names_in(&into));
            assert_eq!(names_in(root.path()), vec![ZIP_NAME]);
            assert!(!Path::new("/tmp/astrograd-evil").exists());
        }
    }

    #[test]
    fn broken_archives_are_typed_errors() {
        let dir = tempfile::tempdir().expect("temp dir");
        let into = dir.path().join("into");
        let not_zip = dir.path().join("not.zip");
        std::fs::write(&not_zip, b"<html>Access denied</html>").expect("write");
        let err = extract(&not_zip, &into).expect_err("not a zip");
        assert!(
            matches!(err, DataError::Corrupt { format: "zip", .. }),
            "{err:?}"
        );

        let bytes = zip_bytes(&good_entries());
        let cut = dir.path().join("cut.zip");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
        let err = extract(&cut, &into).expect_err("truncated");
        assert!(matches!(err, DataError::Corrupt { .. }), "{err:?}");

        // A valid zip without the validation folders.
        let partial = dir.path().join("partial.zip");
        std::fs::write(&partial, zip_bytes(&good_entries()[..4])).expect("write");
        let message = extract(&partial, &into)
            .expect_err("incomplete")
            .to_string();
        assert!(message.contains("validation/cats"), "{message}");
        // Nothing half-extracted is left.
        assert!(names_in(&into).is_empty(), "{:?}", names_in(&into));
    }

    /// Where the data of entry `name` starts in `zip`, and how many bytes it takes.
    fn entry_data(zip: &[u8], name: &str) -> (usize, usize) {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("valid zip");
        let entry = archive.by_name(name).expect("entry exists");
        let start = entry.data_start().expect("local header read") as usize;
        (start, entry.compressed_size() as usize)
    }

    /// An archive with one entry's bytes altered, and how it was made.
    struct AlteredCase {
        name: &'static str,
        method: zip::CompressionMethod,
        /// Words the message must hold.
        needle: &'static str,
    }

    #[test]
    fn an_altered_entry_is_an_error_naming_it_and_nothing_is_kept() {
        let entry = "cats_and_dogs_filtered/train/dogs/dog.0.jpg";
        let cases = [
            AlteredCase {
                name: "stored",
                method: zip::CompressionMethod::Stored,
                needle: "found CRC-32",
            },
            AlteredCase {
                name: "deflated",
                method: zip::CompressionMethod::Deflated,
                needle: "is damaged: expected",
            },
        ];
        for case in cases {
            let mut zip = zip_bytes_with(&good_entries(), case.method);
            let (start, len) = entry_data(&zip, entry);
            // The middle byte of the entry's data, changed by one bit.
            zip[start + len / 2] ^= 0x04;
            let root = tempfile::tempdir().expect("temp dir");
            let path = root.path().join(ZIP_NAME);
            std::fs::write(&path, &zip).expect("write zip");
            let err = extract(&path, root.path()).expect_err(case.name);
            assert!(
                matches!(&err, DataError::CorruptEntry { entry: e, .. } if e == entry),
                "{}: {err:?}",
                case.name
            );
            let message = err.to_string();
            assert!(message.contains(ZIP_NAME), "{message}");
            assert!(message.contains("dog.0.jpg"), "{message}");
            assert!(message.contains(case.needle), "{message}");
            // No tree, no staging folder: only the zip.
            assert_eq!(names_in(root.path()), vec![ZIP_NAME], "{}", case.name);
        }
    }

    #[test]
    fn an_entry_longer_than_declared_is_an_error() {
        // A stored entry of 8 bytes whose headers say 5: its uncompressed-size field sits 8
        // bytes before the name in the local header, 22 bytes before it in the central one.
        let mut zip = zip_bytes_with(&good_entries(), zip::CompressionMethod::Stored);
        let name = b"cats_and_dogs_filtered/train/dogs/dog.0.jpg";
        let name_starts: Vec<usize> = zip
            .windows(name.len())
            .enumerate()
            .filter(|(_, w)| w == name)
            .map(|(at, _)| at)
            .collect();
        assert_eq!(name_starts.len(), 2, "local and central headers");
        for (name_at, back) in name_starts.into_iter().zip([8, 22]) {
            let field = name_at - back;
            assert_eq!(zip[field..field + 4], 8u32.to_le_bytes());
            zip[field..field + 4].copy_from_slice(&5u32.to_le_bytes());
        }
        let root = tempfile::tempdir().expect("temp dir");
        let path = root.path().join(ZIP_NAME);
        std::fs::write(&path, &zip).expect("write zip");
        let err = extract(&path, root.path()).expect_err("longer than declared");
        assert!(matches!(err, DataError::CorruptEntry { .. }), "{err:?}");
        assert_eq!(names_in(root.path()), vec![ZIP_NAME]);
    }

    /// A stale tree beside the zip, as an interrupted extraction leaves it.
    struct StaleCase {
        name: &'static str,
        make: fn(&Path),
    }

    #[test]
    fn a_stale_half_extracted_folder_is_replaced() {
        let cases = [
            StaleCase {
                name: "one class folder and a partial file",
                make: |tree| {
                    std::fs::create_dir_all(tree.join("train/cats")).expect("mkdir");
                    std::fs::write(tree.join("train/cats/cat.0.jpg"), b"ca").expect("write");
                },
            },
            StaleCase {
                name: "all class folders, one picture missing",
                make: |tree| {
                    for class in CLASS_FOLDERS {
                        std::fs::create_dir_all(tree.join(class)).expect("mkdir");
                    }
                    std::fs::write(tree.join("train/cats/cat.0.jpg"), b"cat zero").expect("w");
                },
            },
            StaleCase {
                name: "a file where the folder should be",
                make: |tree| std::fs::write(tree, b"not a folder").expect("write"),
            },
        ];
        for case in cases {
            let root = tempfile::tempdir().expect("temp dir");
            let zip = root.path().join(ZIP_NAME);
            std::fs::write(&zip, zip_bytes(&good_entries())).expect("write zip");
            (case.make)(&root.path().join(FOLDER));
            let data = extract(&zip, root.path()).expect(case.name);
            assert_eq!(
                std::fs::read(data.train_dir.join("cats/cat.0.jpg")).expect("extracted"),
                b"cat zero",
                "{}",
                case.name
            );
            assert_eq!(
                std::fs::read(data.validation_dir.join("dogs/dog.2000.jpg")).expect("there"),
                b"d2000"
            );
            // The stale tree went with the staging folder.
            assert_eq!(
                names_in(root.path()),
                vec![FOLDER, ZIP_NAME],
                "{}",
                case.name
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_named_pipe_for_the_zip_is_refused_without_being_opened() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join(ZIP_NAME);
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
        let err = extract(&fifo, dir.path()).expect_err("not a file");
        assert!(matches!(err, DataError::NotAFile { .. }), "{err:?}");
    }

    #[test]
    fn safe_relative_path_refuses_escapes() {
        assert_eq!(
            safe_relative_path("a/./b.jpg"),
            Ok(PathBuf::from("a").join("b.jpg"))
        );
        for bad in [
            "..", "a/../b", "a\\..\\b", "/abs", "\\abs", "C:/x", "", "a\0b",
        ] {
            assert!(safe_relative_path(bad).is_err(), "{bad:?}");
        }
    }

    /// A lookup whose only place and download folder is `cache`.
    fn cache_lookup(cache: &Path) -> Lookup {
        Lookup {
            dataset: DATASET,
            places: vec![Place {
                origin: "user cache".to_string(),
                dir: cache.to_path_buf(),
            }],
            fallback: Fallback::Download {
                base_url: String::new(),
                dir: cache.to_path_buf(),
            },
            how_to: how_to(),
        }
    }

    #[test]
    fn a_download_is_extracted_into_the_cache_and_reused() {
        let body = zip_bytes(&good_entries());
        let size = body.len() as u64;
        let routes = HashMap::from([(format!("/mledu/{ZIP_NAME}"), Reply::Body(body))]);
        let (base, server) = serve(routes, 1);
        let root = tempfile::tempdir().expect("temp dir");
        let cache = root.path().join(DATASET);
        let lookup = cache_lookup(&cache);
        let url = format!("{base}/mledu/{ZIP_NAME}");
        let data = resolve(&lookup, &url, Some(size)).expect("download and extract");
        assert_eq!(data.root, cache.join(FOLDER));
        assert_eq!(
            std::fs::read(data.validation_dir.join("dogs/dog.2000.jpg")).expect("extracted"),
            b"d2000"
        );
        assert_eq!(names_in(&cache), vec![FOLDER, ZIP_NAME]);
        assert_eq!(
            server.join().expect("server"),
            vec![format!("/mledu/{ZIP_NAME}")]
        );
        // The second load finds the tree: the server is gone, so any request would fail.
        assert_eq!(resolve(&lookup, &url, Some(size)).expect("cached"), data);
    }

    #[test]
    fn a_wrong_size_or_a_404_is_reported_with_the_places_looked() {
        let body = zip_bytes(&good_entries());
        let routes = HashMap::from([("/z.zip".to_string(), Reply::Body(body))]);
        let (base, _server) = serve(routes, 2);
        let root = tempfile::tempdir().expect("temp dir");
        let cache = root.path().join(DATASET);
        let lookup = cache_lookup(&cache);
        let message = resolve(&lookup, &format!("{base}/z.zip"), Some(ZIP_SIZE))
            .expect_err("not the real size")
            .to_string();
        assert!(message.contains(&ZIP_SIZE.to_string()), "{message}");
        assert!(message.contains("user cache"), "{message}");
        let message = resolve(&lookup, &format!("{base}/gone.zip"), None)
            .expect_err("404")
            .to_string();
        assert!(message.contains("HTTP 404"), "{message}");
        assert!(!cache.join(ZIP_NAME).exists());
    }
}
