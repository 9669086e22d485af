//! The file side of the stream: the `images` and `labels` datasets, checked once when the
//! file is opened, and [`ImageFile::read`], which reads a run of images and nothing else.
//!
//! # How a run of images is read
//! `read(a..b)` asks `hdf5-reader` for the hyperslab `images[a..b, :, :, :]`
//! ([`Dataset::read_slice`]). For a chunked dataset, the reader looks up in the chunk index
//! (a B-tree, or a fixed or extensible array) only the chunks that meet the hyperslab, reads
//! each from the file with one positioned read, undoes its filters (shuffle, gzip) and copies
//! the part inside the hyperslab; for a contiguous dataset it reads the bytes of those images
//! at their offset. Nothing else of the dataset is read. The reader's own chunk cache is
//! turned off: the stream reads each block once per epoch, so a cache would only hold memory.
use std::ops::Range;
use std::path::{Path, PathBuf};

use hdf5_reader::{Dataset, Datatype, Hdf5File, OpenOptions, SliceInfo, SliceInfoElem};

use crate::error::{regular_file, DataError, Result};
use crate::galaxy10::{check_declared_size, dtype_name, read_labels};

/// The largest chunk inflated (64 MiB; h5py's automatic chunks are at most 1 MiB).
const MAX_CHUNK_BYTES: usize = 64 << 20;

/// Opens an HDF5 file for reading, after checking that it is a regular file at least as long
/// as its superblock says (a cut-off download is [`DataError::Truncated`], not a late
/// decoding error). Returns the file and its length.
///
/// # Errors
/// [`DataError::Io`], [`DataError::NotAFile`], [`DataError::Corrupt`] (not HDF5),
/// [`DataError::Truncated`].
pub(crate) fn open_hdf5(path: &Path, chunk_cache_bytes: usize) -> Result<(Hdf5File, u64)> {
    // A named pipe or a device is refused here: opening it could wait forever.
    let file_len = regular_file(path)?.len();
    let options = OpenOptions::default()
        .with_max_chunk_bytes(MAX_CHUNK_BYTES)
        .with_chunk_cache_bytes(chunk_cache_bytes);
    let h5 = Hdf5File::open_with_options(path, options).map_err(|e| DataError::Corrupt {
        path: path.to_path_buf(),
        format: "HDF5",
        detail: e.to_string(),
    })?;
    // As libhdf5 does: a file shorter than its superblock says was cut off.
    let superblock = h5.superblock();
    let expected_len = superblock
        .base_address
        .saturating_add(superblock.eof_address);
    if expected_len > file_len {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: expected_len,
            found: file_len,
            detail: "the end of file recorded in the HDF5 superblock".to_string(),
        });
    }
    Ok((h5, file_len))
}

/// An opened file of images and labels.
#[derive(Clone)]
pub(crate) struct ImageFile {
    /// The file, for error messages.
    pub path: PathBuf,
    /// The images dataset's name.
    pub images_name: String,
    /// The images dataset, uint8 `(N, H, W, C)` or `(N, H, W)`.
    images: Dataset,
    /// `(N, H, W, C)`, with C = 1 for a dataset of rank 3.
    pub shape: [usize; 4],
    /// Images per chunk along the first axis, for a chunked dataset.
    pub chunk_images: Option<usize>,
    /// The labels dataset's name.
    pub labels_name: String,
    /// One label per image, as stored.
    pub labels: Vec<i128>,
}

impl ImageFile {
    /// Opens `path` and checks its two datasets: `images_name` uint8 of rank 3 or 4, whose
    /// one image is at most `max_image_bytes`, and `labels_name`, integers of shape `(N,)`.
    ///
    /// # Errors
    /// Those of [`open_hdf5`]; [`DataError::Layout`] for a missing dataset, a wrong dtype or
    /// rank, or labels whose number differs from the images' (both numbers named);
    /// [`DataError::TooLarge`] for an image above `max_image_bytes` or labels declaring more
    /// bytes than the file holds.
    pub fn open(
        path: &Path,
        images_name: &str,
        labels_name: &str,
        max_image_bytes: usize,
    ) -> Result<ImageFile> {
        let (h5, file_len) = open_hdf5(path, 0)?;
        let layout = |item: String, expected: String, found: String| DataError::Layout {
            path: path.to_path_buf(),
            item,
            expected,
            found,
        };
        let root = h5.root_group().map_err(|e| DataError::Corrupt {
            path: path.to_path_buf(),
            format: "HDF5",
            detail: e.to_string(),
        })?;
        let images_item = format!("dataset `{images_name}`");
        let images_expected = "a uint8 dataset of shape (N, H, W, C) or (N, H, W)".to_string();
        let images = root.dataset(images_name).map_err(|e| {
            layout(
                images_item.clone(),
                images_expected.clone(),
                format!("none ({e})"),
            )
        })?;
        if !matches!(
            images.dtype(),
            Datatype::FixedPoint {
                size: 1,
                signed: false,
                ..
            }
        ) {
            return Err(layout(
                images_item,
                images_expected,
                format!("dtype {}", dtype_name(images.dtype())),
            ));
        }
        let dims = images.shape();
        let shape = match *dims {
            [n, h, w] => [n, h, w, 1],
            [n, h, w, c] => [n, h, w, c],
            _ => {
                return Err(layout(
                    images_item,
                    images_expected,
                    format!("shape {dims:?}"),
                ))
            }
        };
        let image_bytes = shape[1..]
            .iter()
            .try_fold(1u64, |bytes, &d| bytes.checked_mul(d))
            .filter(|&bytes| bytes <= max_image_bytes as u64);
        let image_bytes = image_bytes.ok_or_else(|| DataError::TooLarge {
            path: path.to_path_buf(),
            item: images_item.clone(),
            declared: format!("images of shape {:?}", &shape[1..]),
            limit: max_image_bytes as u64,
            why: "one image must fit in the stream's block (max_block_bytes)".to_string(),
        })?;
        if image_bytes == 0 {
            return Err(layout(
                images_item,
                images_expected,
                format!("shape {dims:?}"),
            ));
        }
        let n = shape[0];
        let labels_item = format!("dataset `{labels_name}`");
        let labels_ds = root.dataset(labels_name).map_err(|e| {
            layout(
                labels_item.clone(),
                format!("an integer dataset of shape ({n},), one label per image"),
                format!("none ({e})"),
            )
        })?;
        let labels_shape = labels_ds.shape();
        if labels_shape != [n] {
            let count = match *labels_shape {
                [len] => format!("{len} labels"),
                _ => "not one label per image".to_string(),
            };
            return Err(layout(
                labels_item,
                format!("shape ({n},), one label per image of `{images_name}` ({n} images)"),
                format!("shape {labels_shape:?} ({count})"),
            ));
        }
        if let Datatype::FixedPoint { size, .. } = labels_ds.dtype() {
            check_declared_size(path, labels_name, &labels_ds, u64::from(*size), file_len)?;
        }
        let labels = read_labels(&labels_ds)
            .map_err(|found| layout(labels_item, "integer labels".to_string(), found))?;
        let chunk_images = images.chunks().map(|c| c[0].max(1) as usize);
        Ok(ImageFile {
            path: path.to_path_buf(),
            images_name: images_name.to_string(),
            images,
            shape: shape.map(|d| d as usize),
            chunk_images,
            labels_name: labels_name.to_string(),
            labels,
        })
    }

    /// Bytes of one image, `H·W·C`.
    pub fn image_bytes(&self) -> usize {
        self.shape[1] * self.shape[2] * self.shape[3]
    }

    /// The bytes of images `range`, one image after the other.
    ///
    /// # Errors
    /// [`DataError::Corrupt`] naming the first image that cannot be read (a chunk that does
    /// not inflate, a chunk index pointing outside the file) and the run it was read in.
    pub fn read(&self, range: Range<usize>) -> Result<Vec<u8>> {
        self.read_slice(range.clone()).map_err(|e| {
            // Find the image: read the run again one image at a time (only on failure).
            let culprit = range.clone().find(|&i| self.read_slice(i..i + 1).is_err());
            let which = match culprit {
                Some(i) => format!("`{}[{i}]`", self.images_name),
                None => format!("`{}[{}..{}]`", self.images_name, range.start, range.end),
            };
            DataError::Corrupt {
                path: self.path.clone(),
                format: "HDF5",
                detail: format!(
                    "{which} cannot be read (while reading images {}..{}): {e}",
                    range.start, range.end
                ),
            }
        })
    }

    fn read_slice(&self, range: Range<usize>) -> std::result::Result<Vec<u8>, String> {
        let all = |d: usize| SliceInfoElem::Slice {
            start: 0,
            end: d as u64,
            step: 1,
        };
        let mut selections = vec![SliceInfoElem::Slice {
            start: range.start as u64,
            end: range.end as u64,
            step: 1,
        }];
        selections.extend(self.images.shape()[1..].iter().map(|&d| all(d as usize)));
        let array = self
            .images
            .read_slice::<u8>(&SliceInfo { selections })
            .map_err(|e| e.to_string())?;
        Ok(if array.is_standard_layout() {
            array.into_raw_vec_and_offset().0
        } else {
            array.iter().copied().collect()
        })
    }
}
