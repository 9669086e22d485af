//! IDX files: the format of MNIST and Fashion-MNIST.
//!
//! # Format
//! An IDX file is a tiny header followed by raw numbers, all big-endian:
//!
//! ```text
//! bytes 0..4      magic number 0x0000_08RR: two zero bytes, type code 0x08 (u8), rank RR
//! bytes 4..4+4·RR the size of each axis, u32, outermost first
//! the rest        the values, row-major: exactly the product of the sizes, one byte each
//! ```
//!
//! So `train-images-idx3-ubyte` starts with `0x00000803, 60000, 28, 28` and then holds
//! 60000·28·28 pixel bytes; `train-labels-idx1-ubyte` starts with `0x00000801, 60000` and
//! then holds 60000 label bytes. The files are usually gzip-compressed (`.gz`); the reader
//! recognises gzip by its first two bytes (`1f 8b`), not by the file name, so raw files work
//! too.
//!
//! # Reading a file that may be hostile
//! A file is read as a stream: the header first, then the sizes it declares are checked
//! against what the file can hold *before* anything is allocated, then exactly the payload,
//! then one more read must find the end:
//!
//! - a raw file must be exactly `header + product(dims)` bytes long (its length is known);
//! - a gzip file cannot inflate to more than [`MAX_DEFLATE_RATIO`] times its size, and its
//!   payload may not declare more than [`MAX_DECOMPRESSED_BYTES`]; the payload is read in
//!   growing pieces, so memory follows the bytes that really arrive and never passes the
//!   declared size: a small file that inflates to gigabytes stops at the first byte past
//!   the payload ([`DataError::TrailingData`]);
//! - gzip members glued one after the other are one valid gzip stream (as `gunzip` and
//!   Python's `gzip` read them), and every member's CRC-32 is checked; bytes after the last
//!   member that are not another member are an error ([`DataError::CorruptGzip`]).
//!
//! Every check (magic number, header length, data length, images vs labels count) turns into
//! a [`DataError`] that names the file and says what was expected and what was found.
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use astrograd_tensor::Tensor;
use byteorder::{BigEndian, ByteOrder};
use flate2::read::MultiGzDecoder;

use crate::cache::Lookup;
use crate::download::RemoteFile;
use crate::error::{regular_file, DataError, Result};

/// Magic number of an images file: u8 values, rank 3 (N, H, W).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of a labels file: u8 values, rank 1 (N,).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The first two bytes of every gzip stream.
const GZIP_SIGNATURE: [u8; 2] = [0x1f, 0x8b];

/// The most bytes a gzip-compressed file may inflate to: 1 GiB, twenty times the largest
/// real IDX file (Fashion-MNIST's training images, 47 MB).
pub const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// The largest expansion of deflate, about 1032 : 1 (its longest match, 258 bytes, costs at
/// least two bits): `n` compressed bytes cannot inflate to more than `1032·n`.
pub const MAX_DEFLATE_RATIO: u64 = 1032;

/// The first piece of a payload read from a gzip stream; each next piece doubles the buffer,
/// up to the declared size (1 MiB: small files cost little, big ones few regrowths).
const FIRST_PIECE: usize = 1 << 20;

/// The contents of one IDX file of u8 values.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// The size of each axis, outermost first (e.g. `[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// The values, row-major; `data.len()` is the product of `dims`.
    pub data: Vec<u8>,
}

/// How many payload bytes a stream can hold, known before reading it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Capacity {
    /// A raw file: exactly its length, header included.
    Exact(u64),
    /// A gzip stream of this many compressed bytes: at most [`MAX_DEFLATE_RATIO`] times as
    /// many, and never more than [`MAX_DECOMPRESSED_BYTES`].
    Gzip(u64),
}

impl Capacity {
    /// The most payload bytes after a header of `header_len` bytes, and the rule in words.
    pub(crate) fn payload_limit(self, header_len: u64) -> (u64, String) {
        match self {
            Capacity::Exact(len) => (
                len.saturating_sub(header_len),
                format!("a raw file of {len} bytes holds its header and at most the rest"),
            ),
            Capacity::Gzip(len) => {
                let by_ratio = len.saturating_mul(MAX_DEFLATE_RATIO);
                if by_ratio < MAX_DECOMPRESSED_BYTES {
                    (
                        by_ratio,
                        format!(
                            "{len} gzip bytes inflate to at most {MAX_DEFLATE_RATIO} times as many"
                        ),
                    )
                } else {
                    (
                        MAX_DECOMPRESSED_BYTES,
                        "a gzip file may inflate to at most 1 GiB".to_string(),
                    )
                }
            }
        }
    }
}

/// Opens `path` (a regular file only) and returns a reader of its bytes, gunzipped when they
/// start with the gzip signature, with how much it can hold.
pub(crate) fn open(path: &Path) -> Result<(Box<dyn Read>, Capacity)> {
    let len = regular_file(path)?.len();
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut input = BufReader::new(file);
    let head = input.fill_buf().map_err(|e| DataError::io(path, e))?;
    if head.starts_with(&GZIP_SIGNATURE) {
        // MultiGzDecoder: a stream of several gzip members is valid gzip.
        Ok((Box::new(MultiGzDecoder::new(input)), Capacity::Gzip(len)))
    } else {
        Ok((Box::new(input), Capacity::Exact(len)))
    }
}

/// Reads a whole file, gunzipping it when it starts with the gzip signature.
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read; [`DataError::NotAFile`] for a named pipe, a
/// device or a folder; [`DataError::CorruptGzip`] if it looks like gzip but does not
/// decompress (truncated, bad checksum, not deflate, garbage after the last member);
/// [`DataError::TooLarge`] if it inflates to more than [`MAX_DEFLATE_RATIO`] times its size
/// or [`MAX_DECOMPRESSED_BYTES`] (reading stops there).
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let (mut reader, capacity) = open(path)?;
    let io_error = stream_error(path, capacity);
    let (limit, why) = capacity.payload_limit(0);
    let bytes = read_payload(&mut reader, limit.saturating_add(1)).map_err(io_error)?;
    if bytes.len() as u64 > limit {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            item: "the gzip stream".to_string(),
            declared: format!("more than {limit} bytes"),
            limit,
            why,
        });
    }
    Ok(bytes)
}

/// Reads an IDX file of u8 values from disk (raw or gzip) and checks it against
/// `expected_magic`; `what` names the kind of file in messages ("images", "labels").
///
/// # Errors
/// [`DataError::Io`] or [`DataError::NotAFile`] when the file cannot be opened;
/// [`DataError::BadMagic`] for another magic number; [`DataError::TooLarge`] when the header
/// declares more than the file can hold (nothing is allocated then);
/// [`DataError::Truncated`] when the bytes end before the header or the data it announces;
/// [`DataError::TrailingData`] when more bytes follow; [`DataError::CorruptGzip`] for a
/// damaged gzip stream.
pub fn read_idx(path: &Path, what: &'static str, expected_magic: u32) -> Result<IdxArray> {
    let (reader, capacity) = open(path)?;
    parse_stream(reader, capacity, path, what, expected_magic)
}

/// Parses IDX bytes (already decompressed) and checks them against `expected_magic`.
///
/// `path` is only used in error messages; `what` names the kind of file ("images", "labels").
///
/// # Errors
/// As [`read_idx`] for a raw file.
pub fn parse_idx(
    bytes: &[u8],
    path: &Path,
    what: &'static str,
    expected_magic: u32,
) -> Result<IdxArray> {
    parse_stream(
        bytes,
        Capacity::Exact(bytes.len() as u64),
        path,
        what,
        expected_magic,
    )
}

/// Turns a read error into the error of its stream: a gzip stream that does not decode is
/// [`DataError::CorruptGzip`], a raw file that cannot be read is [`DataError::Io`].
pub(crate) fn stream_error(
    path: &Path,
    capacity: Capacity,
) -> impl Fn(std::io::Error) -> DataError + '_ {
    move |e| match capacity {
        Capacity::Gzip(_) => DataError::CorruptGzip {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
        Capacity::Exact(_) => DataError::io(path, e),
    }
}

/// The IDX reader: header, bounds, payload, end (see the module doc).
fn parse_stream(
    mut reader: impl Read,
    capacity: Capacity,
    path: &Path,
    what: &'static str,
    expected_magic: u32,
) -> Result<IdxArray> {
    let io_error = stream_error(path, capacity);
    let truncated = |expected: u64, found: u64, detail: String| DataError::Truncated {
        path: path.to_path_buf(),
        expected,
        found,
        detail,
    };
    let mut magic_bytes = [0u8; 4];
    let got = read_full(&mut reader, &mut magic_bytes).map_err(&io_error)?;
    if got < 4 {
        return Err(truncated(
            4,
            got as u64,
            "the 4-byte magic number".to_string(),
        ));
    }
    let magic = BigEndian::read_u32(&magic_bytes);
    if magic != expected_magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            what,
            expected: expected_magic,
            found: magic,
        });
    }
    // The rank is the magic's last byte, so at most 255 axes: a small, fixed header.
    let rank = (magic & 0xff) as usize;
    let header_len = 4 + 4 * rank;
    let mut dim_bytes = vec![0u8; 4 * rank];
    let got = read_full(&mut reader, &mut dim_bytes).map_err(&io_error)?;
    if got < dim_bytes.len() {
        return Err(truncated(
            header_len as u64,
            (4 + got) as u64,
            format!("a header with {rank} axis sizes"),
        ));
    }
    let dims: Vec<usize> = dim_bytes
        .chunks_exact(4)
        .map(|word| BigEndian::read_u32(word) as usize)
        .collect();

    // Bounds, before any allocation.
    let (limit, why) = capacity.payload_limit(header_len as u64);
    let product = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    let data_len = match product {
        // A raw file's exact length is compared below, for the clearer Truncated message.
        Some(len) if len <= limit || matches!(capacity, Capacity::Exact(_)) => len,
        _ => {
            return Err(DataError::TooLarge {
                path: path.to_path_buf(),
                item: format!("the IDX {what} header"),
                declared: match product {
                    Some(len) => format!("data of shape {dims:?} = {len} bytes"),
                    None => format!("data of shape {dims:?}, more than 2^64 bytes"),
                },
                limit,
                why,
            })
        }
    };
    let expected = header_len as u64 + data_len;
    let detail = format!("header {header_len} bytes + data {dims:?} = {data_len} bytes");
    if let Capacity::Exact(len) = capacity {
        // A raw file's length is known: compare before reading anything more.
        if len < expected {
            return Err(truncated(expected, len, detail));
        }
        if len > expected {
            return Err(DataError::TrailingData {
                path: path.to_path_buf(),
                expected,
                found: len.to_string(),
                detail,
            });
        }
    }

    let data = read_payload(&mut reader, data_len).map_err(&io_error)?;
    if (data.len() as u64) < data_len {
        return Err(truncated(
            expected,
            (header_len + data.len()) as u64,
            detail,
        ));
    }
    // One more byte must not exist; for gzip this read also checks the last CRC-32, and
    // reads the header of a next member if more bytes follow.
    let mut probe = [0u8; 1];
    let more = read_full(&mut reader, &mut probe).map_err(|e| match capacity {
        Capacity::Gzip(_) => DataError::CorruptGzip {
            path: path.to_path_buf(),
            detail: format!(
                "after the {expected} bytes the header announces: {e} (a damaged end of \
                 stream, or bytes after it that are not another gzip member)"
            ),
        },
        Capacity::Exact(_) => DataError::io(path, e),
    })?;
    if more > 0 {
        return Err(DataError::TrailingData {
            path: path.to_path_buf(),
            expected,
            found: format!("at least {} bytes", expected + 1),
            detail: format!("{detail}; reading stopped at the first byte past them"),
        });
    }
    Ok(IdxArray { dims, data })
}

/// Reads up to `len` bytes: memory grows with the bytes that arrive (doubling from
/// [`FIRST_PIECE`]), never past `len`. Fewer bytes come back when the stream ends first.
pub(crate) fn read_payload(reader: &mut impl Read, len: u64) -> std::io::Result<Vec<u8>> {
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let mut data = Vec::new();
    while data.len() < len {
        let target = data.len().max(FIRST_PIECE / 2).saturating_mul(2).min(len);
        let piece = target - data.len();
        data.reserve_exact(piece);
        let got = reader.by_ref().take(piece as u64).read_to_end(&mut data)?;
        if got < piece {
            break; // the stream ended
        }
    }
    Ok(data)
}

/// Fills `buf` as far as the stream goes; returns how many bytes were read (less than
/// `buf.len()` only at the end of the stream).
pub(crate) fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reads an IDX images file (`…-images-idx3-ubyte[.gz]`): u8 values of shape (N, H, W).
///
/// # Errors
/// As [`read_idx`] (magic must be [`IMAGES_MAGIC`]).
pub fn read_images(path: &Path) -> Result<IdxArray> {
    read_idx(path, "images", IMAGES_MAGIC)
}

/// Reads an IDX labels file (`…-labels-idx1-ubyte[.gz]`): u8 values of shape (N,).
///
/// # Errors
/// As [`read_idx`] (magic must be [`LABELS_MAGIC`]).
pub fn read_labels(path: &Path) -> Result<IdxArray> {
    read_idx(path, "labels", LABELS_MAGIC)
}

/// Images and their labels as the files store them: one byte per pixel and per label.
///
/// # Shapes
/// `images`: (N, H, W) row-major, `labels`: (N,).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledImages {
    /// Pixel bytes, 0–255; `images.len() == n · h · w`.
    pub images: Vec<u8>,
    /// `[N, H, W]`.
    pub shape: [usize; 3],
    /// One class index per image.
    pub labels: Vec<u8>,
}

impl LabelledImages {
    /// The number of examples N.
    pub fn len(&self) -> usize {
        self.shape[0]
    }

    /// True when there are no examples.
    pub fn is_empty(&self) -> bool {
        self.shape[0] == 0
    }

    /// The images as an f32 tensor (N, H, W) of raw values 0–255, as `keras.datasets` gives
    /// them (divide by 255 yourself, or use [`crate::arrays::scale_u8`]).
    pub fn images_f32(&self) -> Result<Tensor> {
        let data: Vec<f32> = self.images.iter().map(|&b| b as f32).collect();
        Ok(Tensor::from_vec(data, &self.shape)?)
    }

    /// The labels as an f32 tensor (N,).
    pub fn labels_f32(&self) -> Result<Tensor> {
        let data: Vec<f32> = self.labels.iter().map(|&b| b as f32).collect();
        Ok(Tensor::from_vec(data, &[self.labels.len()])?)
    }

    /// `(images, labels)` as f32 tensors.
    pub fn to_tensors(&self) -> Result<(Tensor, Tensor)> {
        Ok((self.images_f32()?, self.labels_f32()?))
    }
}

/// Reads an images file and its labels file and checks that they hold the same count.
///
/// # Errors
/// As [`read_images`] and [`read_labels`]; [`DataError::CountMismatch`] when N differs.
pub fn read_labelled_images(images_path: &Path, labels_path: &Path) -> Result<LabelledImages> {
    let images = read_images(images_path)?;
    let labels = read_labels(labels_path)?;
    if images.dims[0] != labels.dims[0] {
        return Err(DataError::CountMismatch {
            images_path: PathBuf::from(images_path),
            images: images.dims[0],
            labels_path: PathBuf::from(labels_path),
            labels: labels.dims[0],
        });
    }
    Ok(LabelledImages {
        images: images.data,
        shape: [images.dims[0], images.dims[1], images.dims[2]],
        labels: labels.data,
    })
}

/// Reads the four files of an MNIST-style dataset, in the order
/// `[train images, train labels, test images, test labels]`.
///
/// # Errors
/// As [`read_labelled_images`], for the first file that fails.
pub fn read_train_test(paths: &[PathBuf]) -> Result<(LabelledImages, LabelledImages)> {
    if paths.len() != 4 {
        return Err(DataError::Invalid {
            op: "read_train_test",
            expected: "4 paths (train images, train labels, test images, test labels)".to_string(),
            found: format!("{} paths", paths.len()),
        });
    }
    let train = read_labelled_images(&paths[0], &paths[1])?;
    let test = read_labelled_images(&paths[2], &paths[3])?;
    Ok((train, test))
}

/// Finds (or downloads) the four files of an MNIST-style dataset with `lookup`, then reads
/// them. `files` is in the order of [`read_train_test`].
///
/// # Errors
/// [`DataError::NotFound`] from the lookup, or any error of [`read_train_test`].
pub fn load_train_test(
    lookup: &Lookup,
    files: &[RemoteFile],
) -> Result<(LabelledImages, LabelledImages)> {
    let paths = lookup.resolve(files)?;
    read_train_test(&paths)
}

/// Test helpers that write genuine IDX files (shared with the loaders' tests).
#[cfg(test)]
pub(crate) mod testing {
    use std::io::Write;

    use flate2::write::GzEncoder;
    use flate2::Compression;

    /// IDX bytes of an images file: magic, (n, h, w), then `pixels`.
    pub fn images_bytes(n: u32, h: u32, w: u32, pixels: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for word in [super::IMAGES_MAGIC, n, h, w] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        out.extend_from_slice(pixels);
        out
    }

    /// IDX bytes of a labels file: magic, (n,), then `labels`.
    pub fn labels_bytes(labels: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for word in [super::LABELS_MAGIC, labels.len() as u32] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        out.extend_from_slice(labels);
        out
    }

    /// `bytes` gzip-compressed.
    pub fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder
            .write_all(bytes)
            .expect("writing to a Vec cannot fail");
        encoder.finish().expect("writing to a Vec cannot fail")
    }

    /// Writes a small gzipped MNIST-style dataset into `dir` under `names` (train images,
    /// train labels, test images, test labels): `n_train` and `n_test` images of 28×28 whose
    /// labels count 9, 0, 1, 2, … Returns the gzipped bytes of each file, in order.
    pub fn write_dataset(
        dir: &std::path::Path,
        names: [&str; 4],
        n_train: usize,
        n_test: usize,
    ) -> Vec<Vec<u8>> {
        std::fs::create_dir_all(dir).expect("create dataset dir");
        let labels = |n: usize| -> Vec<u8> { (0..n).map(|i| ((i + 9) % 10) as u8).collect() };
        let files = [
            gzip(&images_bytes(
                n_train as u32,
                28,
                28,
                &pattern(n_train, 28, 28),
            )),
            gzip(&labels_bytes(&labels(n_train))),
            gzip(&images_bytes(
                n_test as u32,
                28,
                28,
                &pattern(n_test, 28, 28),
            )),
            gzip(&labels_bytes(&labels(n_test))),
        ];
        for (name, bytes) in names.iter().zip(&files) {
            std::fs::write(dir.join(name), bytes).expect("write dataset file");
        }
        files.to_vec()
    }

    /// A deterministic pixel pattern for `n` images of `h`×`w`.
    pub fn pattern(n: usize, h: usize, w: usize) -> Vec<u8> {
        (0..n * h * w).map(|i| (i * 7 % 256) as u8).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{gzip, images_bytes, labels_bytes, pattern};
    use super::*;
    use proptest::prelude::*;

    /// One malformed-file case: the bytes on disk and the error they must give.
    struct BadFileCase {
        name: &'static str,
        bytes: Vec<u8>,
        check: fn(&DataError) -> bool,
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("temp dir is writable");
        path
    }

    #[test]
    fn reads_gzip_and_raw_files_alike() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pixels = pattern(3, 4, 5);
        let raw = images_bytes(3, 4, 5, &pixels);
        for (name, bytes) in [("raw", raw.clone()), ("img.gz", gzip(&raw))] {
            let path = write(dir.path(), name, &bytes);
            let array = read_images(&path).expect("valid file");
            assert_eq!(array.dims, vec![3, 4, 5]);
            assert_eq!(array.data, pixels);
        }
    }

    #[test]
    fn labelled_images_become_f32_tensors() {
        let dir = tempfile::tempdir().expect("temp dir");
        let images = write(
            dir.path(),
            "i.gz",
            &gzip(&images_bytes(2, 2, 2, &[0, 1, 2, 3, 4, 5, 6, 255])),
        );
        let labels = write(dir.path(), "l.gz", &gzip(&labels_bytes(&[9, 0])));
        let set = read_labelled_images(&images, &labels).expect("valid pair");
        assert_eq!(set.len(), 2);
        let (x, y) = set.to_tensors().expect("shapes agree");
        assert_eq!(x.shape(), &[2, 2, 2]);
        assert_eq!(x.as_slice().unwrap()[7], 255.0);
        assert_eq!(y.to_vec().unwrap(), vec![9.0, 0.0]);
    }

    #[test]
    fn malformed_files_give_typed_errors() {
        let good = images_bytes(2, 3, 3, &pattern(2, 3, 3));
        let cases = vec![
            BadFileCase {
                name: "wrong magic (a labels file read as images)",
                bytes: labels_bytes(&[1, 2, 3]),
                check: |e| {
                    matches!(
                        e,
                        DataError::BadMagic {
                            expected: 0x803,
                            found: 0x801,
                            ..
                        }
                    )
                },
            },
            BadFileCase {
                name: "shorter than the magic number",
                bytes: vec![0, 0],
                check: |e| {
                    matches!(
                        e,
                        DataError::Truncated {
                            expected: 4,
                            found: 2,
                            ..
                        }
                    )
                },
            },
            BadFileCase {
                name: "header cut short",
                bytes: good[..10].to_vec(),
                check: |e| {
                    matches!(
                        e,
                        DataError::Truncated {
                            expected: 16,
                            found: 10,
                            ..
                        }
                    )
                },
            },
            BadFileCase {
                name: "data cut short",
                bytes: good[..good.len() - 1].to_vec(),
                check: |e| {
                    matches!(
                        e,
                        DataError::Truncated {
                            expected: 34,
                            found: 33,
                            ..
                        }
                    )
                },
            },
            BadFileCase {
                name: "extra bytes after the data",
                bytes: [good.clone(), vec![0]].concat(),
                check: |e| {
                    matches!(
                        e,
                        DataError::TrailingData {
                            expected: 34,
                            found,
                            ..
                        } if found == "35"
                    )
                },
            },
            BadFileCase {
                name: "truncated gzip",
                bytes: {
                    let gz = gzip(&good);
                    gz[..gz.len() / 2].to_vec()
                },
                check: |e| matches!(e, DataError::CorruptGzip { .. }),
            },
            BadFileCase {
                name: "gzip signature, garbage after it",
                bytes: vec![
                    0x1f, 0x8b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                ],
                check: |e| matches!(e, DataError::CorruptGzip { .. }),
            },
        ];
        let dir = tempfile::tempdir().expect("temp dir");
        for case in cases {
            let path = write(dir.path(), "bad", &case.bytes);
            let err = read_images(&path).expect_err(case.name);
            assert!(
                (case.check)(&err),
                "{}: unexpected error {err:?}",
                case.name
            );
            // The message names the file, so the user knows which one to replace.
            assert!(err.to_string().contains("bad"), "{}: {err}", case.name);
        }
    }

    #[test]
    fn a_corrupt_gzip_checksum_is_caught() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut gz = gzip(&images_bytes(1, 2, 2, &[1, 2, 3, 4]));
        let crc_at = gz.len() - 8; // the trailer is CRC32 then ISIZE
        gz[crc_at] ^= 0xff;
        let path = write(dir.path(), "crc.gz", &gz);
        let err = read_images(&path).expect_err("bad CRC");
        assert!(matches!(err, DataError::CorruptGzip { .. }), "{err:?}");
    }

    #[test]
    fn two_gzip_members_are_one_valid_file() {
        // `cat a.gz b.gz > c.gz` is valid gzip: gunzip gives the two parts one after the other.
        let dir = tempfile::tempdir().expect("temp dir");
        let pixels = pattern(2, 3, 4);
        let raw = images_bytes(2, 3, 4, &pixels);
        let (head, tail) = raw.split_at(11);
        let path = write(dir.path(), "two.gz", &[gzip(head), gzip(tail)].concat());
        let array = read_images(&path).expect("two members");
        assert_eq!(array.dims, vec![2, 3, 4]);
        assert_eq!(array.data, pixels);
        assert_eq!(read_maybe_gzip(&path).expect("two members"), raw);
    }

    /// Bytes after a gzip stream and the words its error must hold.
    struct AfterGzipCase {
        name: &'static str,
        after: Vec<u8>,
        needle: &'static str,
    }

    #[test]
    fn anything_after_the_payload_is_an_error() {
        let raw = images_bytes(1, 2, 2, &[1, 2, 3, 4]);
        let cases = [
            AfterGzipCase {
                name: "garbage after the gzip stream",
                after: b"garbage!".to_vec(),
                needle: "not another gzip member",
            },
            AfterGzipCase {
                name: "a second member with more data",
                after: gzip(&[9; 100]),
                needle: "more data than the header announces",
            },
            AfterGzipCase {
                name: "zero padding",
                after: vec![0; 512],
                needle: "corrupt gzip data",
            },
        ];
        let dir = tempfile::tempdir().expect("temp dir");
        for case in cases {
            let path = write(dir.path(), "after.gz", &[gzip(&raw), case.after].concat());
            let err = read_images(&path).expect_err(case.name);
            let message = err.to_string();
            assert!(message.contains(case.needle), "{}: {message}", case.name);
            assert!(message.contains("after.gz"), "{}: {message}", case.name);
        }
    }

    #[test]
    fn a_gzip_bomb_stops_one_byte_past_the_declared_payload() {
        // 16 MiB of zeros compress to 16 KiB: 64 such members inflate to 1 GiB. The header
        // declares 2·28·28 bytes, so reading must stop right after them.
        let zeros = gzip(&vec![0u8; 16 << 20]);
        let mut bytes = gzip(&images_bytes(2, 28, 28, &[]));
        for _ in 0..64 {
            bytes.extend_from_slice(&zeros);
        }
        assert!(bytes.len() < 2 << 20, "{} compressed bytes", bytes.len());
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write(dir.path(), "bomb.gz", &bytes);
        let started = std::time::Instant::now();
        let err = read_images(&path).expect_err("more than declared");
        match &err {
            DataError::TrailingData {
                expected, found, ..
            } => {
                assert_eq!(*expected, 16 + 2 * 784);
                assert_eq!(found, &format!("at least {} bytes", 16 + 2 * 784 + 1));
            }
            other => panic!("expected TrailingData, found {other:?}"),
        }
        // Inflating the whole gigabyte takes seconds; stopping early takes milliseconds.
        assert!(
            started.elapsed().as_secs_f64() < 1.0,
            "{:?}",
            started.elapsed()
        );
    }

    /// A header whose declared sizes no file of this length can hold.
    struct HugeHeaderCase {
        name: &'static str,
        dims: [u32; 3],
        gzipped: bool,
        check: fn(&DataError) -> bool,
    }

    #[test]
    fn huge_declared_sizes_are_refused_before_allocating() {
        let cases = [
            HugeHeaderCase {
                name: "raw, 4 GiB declared in a 20-byte file",
                dims: [1 << 16, 1 << 8, 1 << 8],
                gzipped: false,
                check: |e| {
                    matches!(
                        e,
                        DataError::Truncated {
                            expected: 0x1_0000_0010,
                            found: 20,
                            ..
                        }
                    )
                },
            },
            HugeHeaderCase {
                name: "raw, a product that overflows 64 bits",
                dims: [u32::MAX, u32::MAX, u32::MAX],
                gzipped: false,
                check: |e| matches!(e, DataError::TooLarge { .. }),
            },
            HugeHeaderCase {
                name: "gzip, more than 1032 times the compressed size",
                dims: [60000, 28, 28],
                gzipped: true,
                check: |e| matches!(e, DataError::TooLarge { why, .. } if why.contains("1032 times")),
            },
            HugeHeaderCase {
                name: "gzip, a product that overflows 64 bits",
                dims: [u32::MAX, u32::MAX, u32::MAX],
                gzipped: true,
                check: |e| matches!(e, DataError::TooLarge { .. }),
            },
        ];
        let dir = tempfile::tempdir().expect("temp dir");
        for case in cases {
            let [n, h, w] = case.dims;
            let raw = images_bytes(n, h, w, &[1, 2, 3, 4]);
            let bytes = if case.gzipped { gzip(&raw) } else { raw };
            let path = write(dir.path(), "huge", &bytes);
            let err = read_images(&path).expect_err(case.name);
            assert!((case.check)(&err), "{}: {err:?}", case.name);
            assert!(err.to_string().contains("huge"), "{}: {err}", case.name);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_named_pipe_is_refused_without_being_opened() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join("train-images-idx3-ubyte.gz");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
        // Opening a FIFO for reading would wait for a writer forever.
        let err = read_images(&fifo).expect_err("not a file");
        assert!(
            matches!(err, DataError::NotAFile { found, .. } if found.contains("named pipe")),
            "{err:?}"
        );
    }

    #[test]
    fn images_and_labels_counts_must_agree() {
        let dir = tempfile::tempdir().expect("temp dir");
        let images = write(dir.path(), "i", &images_bytes(3, 1, 1, &[1, 2, 3]));
        let labels = write(dir.path(), "l", &labels_bytes(&[1, 2]));
        let err = read_labelled_images(&images, &labels).expect_err("3 images, 2 labels");
        assert!(
            matches!(
                err,
                DataError::CountMismatch {
                    images: 3,
                    labels: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("3 images"), "{err}");
    }

    #[test]
    fn a_missing_file_is_an_io_error_naming_it() {
        let err = read_labels(Path::new("/nonexistent/labels.gz")).expect_err("no file");
        assert!(matches!(err, DataError::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("/nonexistent/labels.gz"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// Any shape round-trips, and any cut of the file is an error, never a panic.
        #[test]
        fn round_trip_and_every_cut_is_an_error(n in 0u32..4, h in 1u32..4, w in 1u32..4, cut in 0usize..64) {
            let pixels = pattern(n as usize, h as usize, w as usize);
            let bytes = images_bytes(n, h, w, &pixels);
            let path = Path::new("mem");
            let array = parse_idx(&bytes, path, "images", IMAGES_MAGIC).expect("valid");
            prop_assert_eq!(array.dims, vec![n as usize, h as usize, w as usize]);
            prop_assert_eq!(array.data, pixels);
            let cut = cut.min(bytes.len());
            if cut < bytes.len() {
                prop_assert!(parse_idx(&bytes[..cut], path, "images", IMAGES_MAGIC).is_err());
            }
        }
    }
}
