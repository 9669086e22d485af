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
//! Every check (magic number, header length, data length, images vs labels count) turns into
//! a [`DataError`] that names the file and says what was expected and what was found.
use std::io::Read;
use std::path::{Path, PathBuf};

use astrograd_tensor::Tensor;
use byteorder::{BigEndian, ByteOrder};
use flate2::read::GzDecoder;

use crate::cache::Lookup;
use crate::download::RemoteFile;
use crate::error::{DataError, Result};

/// Magic number of an images file: u8 values, rank 3 (N, H, W).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of a labels file: u8 values, rank 1 (N,).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The first two bytes of every gzip stream.
const GZIP_SIGNATURE: [u8; 2] = [0x1f, 0x8b];

/// The contents of one IDX file of u8 values.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// The size of each axis, outermost first (e.g. `[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// The values, row-major; `data.len()` is the product of `dims`.
    pub data: Vec<u8>,
}

/// Reads a whole file, gunzipping it when it starts with the gzip signature.
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read; [`DataError::CorruptGzip`] if it looks like
/// gzip but does not decompress (truncated, bad checksum, not deflate).
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if !bytes.starts_with(&GZIP_SIGNATURE) {
        return Ok(bytes);
    }
    // A guess at the decompressed size saves the vector a few regrowths.
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(2));
    GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| DataError::CorruptGzip {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    Ok(out)
}

/// Parses IDX bytes (already decompressed) and checks them against `expected_magic`.
///
/// `path` is only used in error messages; `what` names the kind of file ("images", "labels").
///
/// # Errors
/// [`DataError::BadMagic`] for another magic number, [`DataError::Truncated`] when the bytes
/// end before the header or the data it announces, [`DataError::TrailingData`] when there are
/// more bytes than announced.
pub fn parse_idx(
    bytes: &[u8],
    path: &Path,
    what: &'static str,
    expected_magic: u32,
) -> Result<IdxArray> {
    let found_len = bytes.len() as u64;
    if bytes.len() < 4 {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: 4,
            found: found_len,
            detail: "the 4-byte magic number".to_string(),
        });
    }
    let magic = BigEndian::read_u32(&bytes[0..4]);
    if magic != expected_magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            what,
            expected: expected_magic,
            found: magic,
        });
    }
    let rank = (magic & 0xff) as usize;
    let header_len = 4 + 4 * rank;
    if bytes.len() < header_len {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: header_len as u64,
            found: found_len,
            detail: format!("a header with {rank} axis sizes"),
        });
    }
    let dims: Vec<usize> = (0..rank)
        .map(|axis| BigEndian::read_u32(&bytes[4 + 4 * axis..8 + 4 * axis]) as usize)
        .collect();
    // u64 so that a corrupt header with huge sizes cannot overflow.
    let data_len = dims
        .iter()
        .fold(1u64, |acc, &d| acc.saturating_mul(d as u64));
    let expected = (header_len as u64).saturating_add(data_len);
    let detail = format!(
        "header {} bytes + data {dims:?} = {data_len} bytes",
        header_len
    );
    if found_len < expected {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected,
            found: found_len,
            detail,
        });
    }
    if found_len > expected {
        return Err(DataError::TrailingData {
            path: path.to_path_buf(),
            expected,
            found: found_len,
            detail,
        });
    }
    Ok(IdxArray {
        dims,
        data: bytes[header_len..].to_vec(),
    })
}

/// Reads an IDX images file (`…-images-idx3-ubyte[.gz]`): u8 values of shape (N, H, W).
///
/// # Errors
/// As [`read_maybe_gzip`] and [`parse_idx`] (magic must be [`IMAGES_MAGIC`]).
pub fn read_images(path: &Path) -> Result<IdxArray> {
    let bytes = read_maybe_gzip(path)?;
    parse_idx(&bytes, path, "images", IMAGES_MAGIC)
}

/// Reads an IDX labels file (`…-labels-idx1-ubyte[.gz]`): u8 values of shape (N,).
///
/// # Errors
/// As [`read_maybe_gzip`] and [`parse_idx`] (magic must be [`LABELS_MAGIC`]).
pub fn read_labels(path: &Path) -> Result<IdxArray> {
    let bytes = read_maybe_gzip(path)?;
    parse_idx(&bytes, path, "labels", LABELS_MAGIC)
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
        assert_eq!(x.as_slice()[7], 255.0);
        assert_eq!(y.to_vec(), vec![9.0, 0.0]);
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
                            found: 35,
                            ..
                        }
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
