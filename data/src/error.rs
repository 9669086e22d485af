//! The one error type of the data crate.
//!
//! Every variant says what was expected and what was found, and names the file or URL, so
//! that a message read in a notebook is enough to fix the problem.
use std::path::PathBuf;

use astrograd_tensor::TensorError;

/// What went wrong while reading, downloading or preparing data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The operating system refused a read or a write (missing file, no permission, full disk).
    #[error("{path}: {source}")]
    Io {
        /// The file or folder that was read or written.
        path: PathBuf,
        #[source]
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The first four bytes of an IDX file are not the magic number of the expected kind.
    #[error(
        "{path}: not an IDX {what} file: expected magic number {expected:#010x}, found {found:#010x}"
    )]
    BadMagic {
        /// The file (or folder) concerned.
        path: PathBuf,
        /// The kind of IDX file expected: `"images"` or `"labels"`.
        what: &'static str,
        /// The magic number of that kind.
        expected: u32,
        /// The first four bytes of the file.
        found: u32,
    },
    /// The file ends before the data its header announces.
    #[error("{path}: truncated file: expected {expected} bytes ({detail}), found {found}")]
    Truncated {
        /// The file (or folder) concerned.
        path: PathBuf,
        /// The size in bytes the header announces.
        expected: u64,
        /// The size in bytes of the file.
        found: u64,
        /// How the expected size follows from the header.
        detail: String,
    },
    /// The file is longer than its header announces (two files glued together, a wrong header,
    /// garbage after a gzip stream). `found` is the exact length when it is known, else "at
    /// least …": reading stops at the first byte past the announced data.
    #[error(
        "{path}: more data than the header announces: expected {expected} bytes ({detail}), \
         found {found}"
    )]
    TrailingData {
        /// The file (or folder) concerned.
        path: PathBuf,
        /// The size in bytes the header announces.
        expected: u64,
        /// The size found, or "at least …" when reading stopped early.
        found: String,
        /// How the expected size follows from the header.
        detail: String,
    },
    /// A header that declares more data than the file can hold, refused before anything is
    /// allocated (a damaged header, or a file built to exhaust memory).
    #[error("{path}: {item} declares {declared}, but at most {limit} bytes can be read ({why})")]
    TooLarge {
        /// The file (or folder) concerned.
        path: PathBuf,
        /// What declared the size, e.g. "the IDX header" or "dataset `images`".
        item: String,
        /// The declared size in words, e.g. "[60000, 28, 28] = 47040000 bytes".
        declared: String,
        /// The most bytes the rule allows for this file.
        limit: u64,
        /// The rule, e.g. "an uncompressed file holds at most its own size".
        why: String,
    },
    /// A path that is not a regular file (a named pipe, a socket, a device, a folder, a broken
    /// link) where a file was expected. It is never opened: reading a named pipe waits forever.
    #[error("{path}: expected a regular file, found {found}")]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead, e.g. "a named pipe".
        found: &'static str,
    },
    /// An image file that is not a whole, decodable picture (cut off, damaged, 0×0 pixels).
    #[error("{path}: expected {expected}, found {found}")]
    BadImage {
        /// The image file.
        path: PathBuf,
        /// What a usable image is.
        expected: String,
        /// What the decoder found or said.
        found: String,
    },
    /// A FITS image whose every pixel is blank (NaN, or the `BLANK` value of an integer
    /// image): there is nothing in it to learn from. `flow_from_directory` prints a warning
    /// and leaves such an image out of its batch.
    #[error(
        "{path}: expected at least one valid pixel, found all {pixels} pixels blank \
         (NaN, or the BLANK value of an integer image)"
    )]
    BlankImage {
        /// The FITS file.
        path: PathBuf,
        /// The number of pixels (every one of them blank).
        pixels: usize,
    },
    /// An archive entry whose bytes are not the ones the archive recorded (CRC-32 or size):
    /// the archive was damaged after it was made.
    #[error(
        "{path}: entry {entry:?} is damaged: expected {expected}, found {found}; \
         delete the archive and download it again"
    )]
    CorruptEntry {
        /// The archive.
        path: PathBuf,
        /// The entry's name in the archive.
        entry: String,
        /// The CRC-32 or size the archive recorded.
        expected: String,
        /// What the entry's bytes give.
        found: String,
    },
    /// A `.gz` file that does not decompress.
    #[error("{path}: corrupt gzip data: {detail}")]
    CorruptGzip {
        /// The `.gz` file.
        path: PathBuf,
        /// The decompressor's message.
        detail: String,
    },
    /// A file that is not a readable container of its kind (not HDF5, not a zip, cut off).
    #[error("{path}: not a readable {format} file: {detail}")]
    Corrupt {
        /// The file (or folder) concerned.
        path: PathBuf,
        /// The container format, e.g. `"HDF5"` or `"zip"`.
        format: &'static str,
        /// The reader's message.
        detail: String,
    },
    /// A readable file whose contents are not laid out as the dataset's (a missing HDF5
    /// dataset, a wrong shape or dtype, a label out of range, a missing folder in an archive).
    #[error("{path}: {item}: expected {expected}, found {found}")]
    Layout {
        /// The file (or folder) concerned.
        path: PathBuf,
        /// What was looked at, e.g. "dataset `images`" or "`ans[3]`".
        item: String,
        /// What the dataset's layout needs.
        expected: String,
        /// What the file holds.
        found: String,
    },
    /// An archive entry that would land outside the folder it is extracted into (zip slip).
    #[error("{path}: refusing to extract entry {entry:?}: {reason}")]
    UnsafeArchiveEntry {
        /// The archive.
        path: PathBuf,
        /// The entry's name, as stored in the archive.
        entry: String,
        /// Why it is refused, e.g. "its name leaves the target folder".
        reason: &'static str,
    },
    /// A folder left by an earlier extraction that stopped halfway, which could not be
    /// replaced by a fresh one.
    #[error(
        "{path}: an earlier extraction left this folder incomplete and it could not be \
         replaced ({detail}); delete the folder and load again"
    )]
    StaleExtraction {
        /// The folder.
        path: PathBuf,
        /// Why it could not be replaced.
        detail: String,
    },
    /// An images file and a labels file that do not hold the same number of examples.
    #[error(
        "{images_path} holds {images} images but {labels_path} holds {labels} labels: \
         expected the same count"
    )]
    CountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// The number of images it holds.
        images: usize,
        /// The labels file.
        labels_path: PathBuf,
        /// The number of labels it holds.
        labels: usize,
    },
    /// The server answered with an HTTP error status (404, 500, …).
    #[error("download of {url} failed: the server answered HTTP {status}")]
    HttpStatus {
        /// The URL asked for.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The connection failed or dropped before the whole file arrived.
    #[error("download of {url} failed: {detail}")]
    Download {
        /// The URL asked for.
        url: String,
        /// What failed, and how many bytes had arrived.
        detail: String,
    },
    /// The downloaded bytes are not the expected file (wrong size or wrong SHA-256).
    #[error(
        "download of {url} is not the expected file: expected {what} {expected}, found {found}"
    )]
    Verification {
        /// The URL downloaded.
        url: String,
        /// The check that failed: size in bytes, SHA-256 or MD5.
        what: &'static str,
        /// The value expected.
        expected: String,
        /// The value of the downloaded bytes.
        found: String,
    },
    /// No place held the dataset and downloading it failed too.
    #[error(
        "{dataset}: the files were not found and could not be downloaded.\n\
         Looked in:\n{looked}\nDownload: {download}\nTo get the files by hand:\n{how_to}"
    )]
    NotFound {
        /// The dataset's name, e.g. "fashion-mnist".
        dataset: &'static str,
        /// One line per place looked, with why it did not do.
        looked: String,
        /// Why the download did not happen or failed.
        download: String,
        /// How to download the files by hand, and where to put them.
        how_to: String,
    },
    /// An argument that makes no sense (a test fraction of 1.5, images of the wrong rank, …).
    #[error("{op}: expected {expected}, found {found}")]
    Invalid {
        /// The function, e.g. `"train_test_split_stratified"`.
        op: &'static str,
        /// What it accepts.
        expected: String,
        /// What it was given.
        found: String,
    },
    /// A label outside `0..num_classes`.
    #[error("{op}: label {label} at index {index} is out of range for {num_classes} classes")]
    LabelOutOfRange {
        /// The function that read the label.
        op: &'static str,
        /// The label's position in the array.
        index: usize,
        /// The label.
        label: f32,
        /// The number of classes.
        num_classes: usize,
    },
    /// Building a tensor failed.
    #[error(transparent)]
    Tensor(#[from] TensorError),
}

impl DataError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> DataError {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}

/// The metadata of `path` (following symbolic links) if it is a regular file, so that it can be
/// opened without risk: opening a named pipe blocks until a writer comes, a device can be
/// endless, and neither is a data file.
///
/// # Errors
/// [`DataError::Io`] when `path` cannot be looked at (missing, no permission);
/// [`DataError::NotAFile`] when it is anything but a regular file.
pub fn regular_file(path: &std::path::Path) -> Result<std::fs::Metadata> {
    let metadata = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    if metadata.is_file() {
        return Ok(metadata);
    }
    Err(DataError::NotAFile {
        path: path.to_path_buf(),
        found: file_kind(&metadata.file_type()),
    })
}

/// What a file type is, in words, for messages.
pub fn file_kind(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return "a device";
        }
    }
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "something that is not a regular file"
    }
}

/// `Result` with [`DataError`].
pub type Result<T> = std::result::Result<T, DataError>;
