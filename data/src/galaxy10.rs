//! Galaxy10: colour pictures of galaxies in 10 morphological classes (Leung & Bovy, astroNN),
//! in its two editions, each one HDF5 file.
//!
//! | edition | file | `images` | `ans` | size |
//! |---|---|---|---|---|
//! | SDSS (the course's) | `Galaxy10.h5` | uint8 (21785, 69, 69, 3) | uint8 (21785,) | 210,234,548 bytes |
//! | DECals | `Galaxy10_DECals.h5` | uint8 (17736, 256, 256, 3), gzip-chunked | uint8 (17736,) | 2.54 GB |
//!
//! The course reads the SDSS file with h5py:
//!
//! ```python
//! with h5py.File('Galaxy10.h5', 'r') as F:
//!     images = np.array(F['images'])   # (21785, 69, 69, 3) uint8
//!     labels = np.array(F['ans'])      # (21785,) uint8, classes 0–9
//! ```
//!
//! and [`load_data`] gives the same arrays as f32 tensors (raw values 0–255; divide by 255
//! yourself, as the course does):
//!
//! ```no_run
//! use astrograd_data::galaxy10;
//! let (images, labels) = galaxy10::load_data()?;
//! assert_eq!(&images.shape()[1..], &[69, 69, 3]);
//! let first = labels.as_slice()?[0] as usize;
//! println!("the first galaxy is {}", galaxy10::CLASS_NAMES[first]);
//! # Ok::<(), astrograd_data::DataError>(())
//! ```
//!
//! # Memory
//! One pixel is one byte in the file and four bytes as f32. The SDSS images take 311 MB as
//! bytes and 1.2 GB as f32; the DECals images take 3.5 GB as bytes and 14 GB as f32, so for
//! DECals read the bytes with [`load_decals_u8`] and convert the part you need
//! ([`Galaxy10Images::images_f32`] after selecting, or your own loop), or, to train without
//! ever holding the file, stream it with [`stream`] (`docs/streaming.md`).
//!
//! # Where the file comes from
//! Looked for in this order (see [`crate::cache`]): the path given to [`load_data_from`]
//! (the file itself, or a folder holding it), `$ASTROGRAD_DATA/galaxy10/`, and
//! `astrograd/datasets/galaxy10/` in the user cache ([`crate::cache::user_cache_dir`]);
//! otherwise downloaded into that cache from each of
//! [`Galaxy10File::urls`] in turn (the astroNN origin first, then its Zenodo copy).
//!
//! # Checksums
//! The SHA-256 digests are the ones astroNN publishes and checks (`astroNN/datasets/
//! galaxy10sdss.py` and `galaxy10.py`); the SDSS size comes from astroNN's documentation
//! ("200 MB (210,234,548 bytes)"). The DECals size is published only as "2.54 GB", so its
//! download is checked by digest alone. A download is verified by [`crate::download::fetch`]
//! before it is renamed into the cache. A file found in a folder is *not* re-hashed at every
//! load (hashing 2.5 GB takes seconds); its structure is checked instead — the datasets, their
//! shapes, dtypes and every label — and [`verify_checksum`] hashes it on request.
use std::path::{Path, PathBuf};

use astrograd_tensor::Tensor;
use hdf5_reader::{Dataset, Datatype, H5Type};

use crate::cache::{Fallback, Lookup};
use crate::download::{fetch, sha256_file, RemoteFile};
use crate::error::{DataError, Result};
use crate::hdf5_stream::{open_hdf5, Hdf5Stream, StreamOptions};

/// The folder name under `$ASTROGRAD_DATA` and the cache (both editions live there).
pub const DATASET: &str = "galaxy10";

/// The number of classes of both editions.
pub const NUM_CLASSES: usize = 10;

/// The SDSS edition's class names, indexed by label (astroNN's `galaxy10sdss.Galaxy10Class`).
pub const CLASS_NAMES: [&str; NUM_CLASSES] = [
    "Disk, Face-on, No Spiral",
    "Smooth, Completely round",
    "Smooth, in-between round",
    "Smooth, Cigar shaped",
    "Disk, Edge-on, Rounded Bulge",
    "Disk, Edge-on, Boxy Bulge",
    "Disk, Edge-on, No Bulge",
    "Disk, Face-on, Tight Spiral",
    "Disk, Face-on, Medium Spiral",
    "Disk, Face-on, Loose Spiral",
];

/// The DECals edition's class names, indexed by label, as astroNN's documentation lists them
/// (its code's lookup table repeats "Smooth, Cigar shaped" at 3 where the documentation and the
/// class counts say "In-between Round Smooth").
pub const DECALS_CLASS_NAMES: [&str; NUM_CLASSES] = [
    "Disturbed Galaxies",
    "Merging Galaxies",
    "Round Smooth Galaxies",
    "In-between Round Smooth Galaxies",
    "Cigar Shaped Smooth Galaxies",
    "Barred Spiral Galaxies",
    "Unbarred Tight Spiral Galaxies",
    "Unbarred Loose Spiral Galaxies",
    "Edge-on Galaxies without Bulge",
    "Edge-on Galaxies with Bulge",
];

/// One of the two published files: where it is and what it must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Galaxy10File {
    /// The file name, on the servers and on disk.
    pub name: &'static str,
    /// Full URLs, tried in order.
    pub urls: &'static [&'static str],
    /// SHA-256 of the file (lower-case hex), as astroNN publishes it.
    pub sha256: &'static str,
    /// Size in bytes, where it is published exactly.
    pub size: Option<u64>,
    /// The side of the square images, where the reader insists on it (SDSS: 69). `None`
    /// accepts any H = W ≥ 1 (the real DECals file has 256; the test fixture 64).
    pub side: Option<usize>,
}

/// The SDSS edition, the file of the course.
pub const SDSS_FILE: Galaxy10File = Galaxy10File {
    name: "Galaxy10.h5",
    urls: &[
        "http://www.astro.utoronto.ca/~bovy/Galaxy10/Galaxy10.h5",
        "https://zenodo.org/records/10844811/files/Galaxy10.h5",
    ],
    sha256: "969a6b1cefcc36e09fffa86febd2f699a4aa19b837ba0427f01b0bc6ded458af",
    size: Some(210_234_548),
    side: Some(69),
};

/// The DECals edition (astroNN's `galaxy10.load_data`).
pub const DECALS_FILE: Galaxy10File = Galaxy10File {
    name: "Galaxy10_DECals.h5",
    urls: &[
        "https://zenodo.org/records/10845026/files/Galaxy10_DECals.h5",
        "https://www.astro.utoronto.ca/~hleung/shared/Galaxy10/Galaxy10_DECals.h5",
    ],
    sha256: "19aefc477c41bb7f77ff07599a6b82a038dc042f889a111b0d4d98bb755c1571",
    size: None,
    side: None,
};

/// The images and labels of one file, as stored: one byte per pixel channel and per label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Galaxy10Images {
    /// Pixel bytes 0–255, row-major `[N, H, W, 3]` (channels last, as in the file).
    pub images: Vec<u8>,
    /// `[N, H, W, 3]`.
    pub shape: [usize; 4],
    /// One class index in `0..10` per image.
    pub labels: Vec<u8>,
}

impl Galaxy10Images {
    /// The number of images N.
    pub fn len(&self) -> usize {
        self.shape[0]
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.shape[0] == 0
    }

    /// The images as an f32 tensor `[N, H, W, 3]` of raw values 0–255.
    ///
    /// # Errors
    /// [`DataError::Tensor`] only if `images` and `shape` disagree (a hand-built value).
    pub fn images_f32(&self) -> Result<Tensor> {
        let data: Vec<f32> = self.images.iter().map(|&b| b as f32).collect();
        Ok(Tensor::from_vec(data, &self.shape)?)
    }

    /// The labels as an f32 tensor `[N]`.
    ///
    /// # Errors
    /// As [`Galaxy10Images::images_f32`].
    pub fn labels_f32(&self) -> Result<Tensor> {
        let data: Vec<f32> = self.labels.iter().map(|&b| b as f32).collect();
        Ok(Tensor::from_vec(data, &[self.labels.len()])?)
    }

    /// `(images, labels)` as f32 tensors.
    ///
    /// # Errors
    /// As [`Galaxy10Images::images_f32`].
    pub fn to_tensors(&self) -> Result<(Tensor, Tensor)> {
        Ok((self.images_f32()?, self.labels_f32()?))
    }
}

/// The SDSS `Galaxy10.h5` as `(images, labels)`: f32 `[N, 69, 69, 3]` with raw values 0–255
/// and f32 `[N]` with classes 0–9 (names in [`CLASS_NAMES`]). Downloads the file (210 MB)
/// into the cache the first time.
///
/// # Errors
/// [`DataError::NotFound`] (every place looked, and how to get the file) when the file is
/// nowhere and cannot be downloaded; the errors of [`read`] when it is damaged.
pub fn load_data() -> Result<(Tensor, Tensor)> {
    load_data_u8()?.to_tensors()
}

/// As [`load_data`], reading `path` when it is a file, or looking first in `path` when it is
/// a folder.
///
/// # Errors
/// As [`load_data`].
pub fn load_data_from(path: impl AsRef<Path>) -> Result<(Tensor, Tensor)> {
    read(&locate(&SDSS_FILE, Some(path.as_ref()))?, &SDSS_FILE)?.to_tensors()
}

/// The SDSS images and labels as bytes (a quarter of the memory of [`load_data`]).
///
/// # Errors
/// As [`load_data`].
pub fn load_data_u8() -> Result<Galaxy10Images> {
    read(&locate(&SDSS_FILE, None)?, &SDSS_FILE)
}

/// `Galaxy10_DECals.h5` as `(images, labels)`: f32 `[N, 256, 256, 3]` (0–255) and f32 `[N]`
/// (names in [`DECALS_CLASS_NAMES`]). The whole file is 14 GB as f32: prefer
/// [`load_decals_u8`]. Downloads the file (2.54 GB) into the cache the first time.
///
/// # Errors
/// As [`load_data`].
pub fn load_decals() -> Result<(Tensor, Tensor)> {
    load_decals_u8()?.to_tensors()
}

/// As [`load_decals`], reading `path` when it is a file, or looking first in `path` when it
/// is a folder.
///
/// # Errors
/// As [`load_data`].
pub fn load_decals_from(path: impl AsRef<Path>) -> Result<(Tensor, Tensor)> {
    read(&locate(&DECALS_FILE, Some(path.as_ref()))?, &DECALS_FILE)?.to_tensors()
}

/// The DECals images and labels as bytes (3.5 GB for the real file).
///
/// # Errors
/// As [`load_data`].
pub fn load_decals_u8() -> Result<Galaxy10Images> {
    read(&locate(&DECALS_FILE, None)?, &DECALS_FILE)
}

/// Checks a local copy of `file` against its published SHA-256 (reads the whole file).
///
/// # Errors
/// [`DataError::Io`] when it cannot be read; [`DataError::Verification`] naming the path
/// when the digest differs.
pub fn verify_checksum(path: &Path, file: &Galaxy10File) -> Result<()> {
    let found = sha256_file(path)?;
    if found != file.sha256 {
        return Err(DataError::Verification {
            url: path.display().to_string(),
            what: "SHA-256",
            expected: file.sha256.to_string(),
            found,
        });
    }
    Ok(())
}

/// The path of `file`: `explicit` itself when it is a file, else the first folder of the
/// standard lookup that holds it, else a fresh download into the user cache.
///
/// # Errors
/// [`DataError::NotFound`] listing every place looked and every download tried.
pub fn locate(file: &Galaxy10File, explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit.filter(|p| p.is_file()) {
        return Ok(path.to_path_buf());
    }
    let lookup = Lookup::standard(DATASET, explicit, &[], "", how_to(file));
    let urls: Vec<String> = file.urls.iter().map(|u| u.to_string()).collect();
    locate_with(file, &lookup, &urls)
}

/// [`locate`] with the lookup and the URLs given (the tests serve files from 127.0.0.1).
fn locate_with(file: &Galaxy10File, lookup: &Lookup, urls: &[String]) -> Result<PathBuf> {
    // The lookup only searches here: its own download needs an exact size, which DECals lacks.
    // Our own cache folder is left to `fetch` below, which verifies a copy already there (hashed
    // once, then known by its size and time) and downloads a damaged one again.
    let download_dir = match &lookup.fallback {
        Fallback::Download { dir, .. } => Some(dir),
        Fallback::Fail { .. } => None,
    };
    let search_only = Lookup {
        places: lookup
            .places
            .iter()
            .filter(|place| Some(&place.dir) != download_dir)
            .cloned()
            .collect(),
        fallback: Fallback::Fail {
            reason: String::new(),
        },
        ..lookup.clone()
    };
    let wanted = RemoteFile {
        name: file.name,
        sha256: file.sha256,
        size: file.size.unwrap_or(0), // unused: nothing is downloaded by `search_only`
    };
    let mut looked = match search_only.resolve(&[wanted]) {
        Ok(mut paths) => return Ok(paths.remove(0)),
        Err(DataError::NotFound { looked, .. }) => looked,
        Err(other) => return Err(other),
    };
    for place in lookup
        .places
        .iter()
        .filter(|p| Some(&p.dir) == download_dir)
    {
        let state = if !place.dir.is_dir() {
            "no such folder".to_string()
        } else if place.dir.join(file.name).is_file() {
            format!("{} there, but it could not be verified", file.name)
        } else {
            format!("missing {}", file.name)
        };
        looked += &format!("  - {}: {} ({state})\n", place.origin, place.dir.display());
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
    let mut failures = Vec::new();
    for url in urls {
        match fetch(url, &dir.join(file.name), Some(file.sha256), file.size) {
            Ok(path) => return Ok(path),
            Err(e) => failures.push(format!("\n  - {e}")),
        }
    }
    Err(not_found(failures.concat()))
}

/// What to do by hand when the file is nowhere.
fn how_to(file: &Galaxy10File) -> String {
    let cache = crate::cache::user_cache_dir()
        .map(|root| root.join(DATASET).display().to_string())
        .unwrap_or_else(|| format!("${}/{DATASET}", crate::cache::DATA_ENV));
    format!(
        "  - download {} from any of\n{}\n    into {cache} (or anywhere, then pass its path to \
         the loader's _from function);\n    its SHA-256 is {}",
        file.name,
        file.urls
            .iter()
            .map(|u| format!("      {u}"))
            .collect::<Vec<_>>()
            .join("\n"),
        file.sha256
    )
}

/// Which Galaxy10 file a stream reads, told by the side of its images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edition {
    /// `Galaxy10.h5`: 69×69 images.
    Sdss,
    /// `Galaxy10_DECals.h5`: 256×256 images (any other side is taken for a DECals-layout file).
    Decals,
}

impl Edition {
    /// The edition whose images are `side × side` pixels.
    pub fn of_side(side: usize) -> Edition {
        if side == 69 {
            Edition::Sdss
        } else {
            Edition::Decals
        }
    }

    /// The class names, indexed by label.
    pub fn class_names(self) -> &'static [&'static str; NUM_CLASSES] {
        match self {
            Edition::Sdss => &CLASS_NAMES,
            Edition::Decals => &DECALS_CLASS_NAMES,
        }
    }
}

/// Either Galaxy10 file as a stream of batches, read chunk by chunk: with
/// [`StreamOptions::default`] (batches of 32, shuffled, pixels / 255, labels as class indices)
/// and the datasets `images` and `ans`. The DECals file never has to fit in memory; see
/// [`crate::hdf5_stream`].
///
/// ```no_run
/// use astrograd_data::galaxy10::{self, Edition};
/// let mut stream = galaxy10::stream("Galaxy10_DECals.h5")?;
/// let [side, _, _] = stream.stored_shape();
/// assert_eq!(Edition::of_side(side), Edition::Decals);
/// stream.on_epoch_start(0);
/// let (x, y) = stream.batch(0)?; // (32, 256, 256, 3) in [0, 1], (32,)
/// # Ok::<(), astrograd_data::DataError>(())
/// ```
///
/// # Errors
/// Those of [`Hdf5Stream::open`]; [`DataError::Layout`] if the images are not `(N, S, S, 3)`
/// or a label is outside `0..10`.
pub fn stream(path: impl AsRef<Path>) -> Result<Hdf5Stream> {
    stream_with(path, StreamOptions::default())
}

/// As [`stream`], with `options` (their dataset names and number of classes are set to
/// Galaxy10's): `stream_with(path, StreamOptions::default().target_size(128, 128))`.
///
/// # Errors
/// As [`stream`].
pub fn stream_with(path: impl AsRef<Path>, options: StreamOptions) -> Result<Hdf5Stream> {
    let stream = Hdf5Stream::open(path.as_ref(), galaxy10_options(options))?;
    check_stream_shape(path.as_ref(), &stream)?;
    Ok(stream)
}

/// As [`stream_with`], split by index into a training and a validation stream
/// ([`Hdf5Stream::open_split`]: the last `validation_split` of the file is validation).
///
/// # Errors
/// As [`stream`]; a `validation_split` outside (0, 1).
pub fn stream_split(
    path: impl AsRef<Path>,
    options: StreamOptions,
    validation_split: f64,
) -> Result<(Hdf5Stream, Hdf5Stream)> {
    let (train, validation) =
        Hdf5Stream::open_split(path.as_ref(), galaxy10_options(options), validation_split)?;
    check_stream_shape(path.as_ref(), &train)?;
    Ok((train, validation))
}

fn galaxy10_options(options: StreamOptions) -> StreamOptions {
    options.datasets("images", "ans").num_classes(NUM_CLASSES)
}

fn check_stream_shape(path: &Path, stream: &Hdf5Stream) -> Result<()> {
    let [h, w, c] = stream.stored_shape();
    if h == w && c == 3 {
        return Ok(());
    }
    Err(DataError::Layout {
        path: path.to_path_buf(),
        item: "dataset `images`".to_string(),
        expected: "a uint8 dataset of shape (N, S, S, 3)".to_string(),
        found: format!("images of shape ({h}, {w}, {c})"),
    })
}

/// The largest expansion of a deflate stream (about 1032 : 1): a compressed dataset cannot
/// hold more bytes than this times the file's size.
pub const MAX_DEFLATE_RATIO: u64 = 1032;

/// The most bytes a chunked (possibly compressed) dataset may declare, whatever the file's
/// size: 8 GiB, over twice the real DECals images (17736·256·256·3 = 3.5 GB).
pub const MAX_DATASET_BYTES: u64 = 8 << 30;

/// Checks the size `dataset` declares (its shape times `element_size` bytes) against what a
/// file of `file_len` bytes can hold, before anything is allocated for it:
///
/// - a contiguous or compact dataset is stored as it is, so it holds at most `file_len`
///   bytes;
/// - a chunked dataset may be compressed: at most [`MAX_DEFLATE_RATIO`] × `file_len` bytes,
///   and never more than [`MAX_DATASET_BYTES`].
///
/// Returns the declared number of elements.
pub(crate) fn check_declared_size(
    path: &Path,
    name: &str,
    dataset: &Dataset,
    element_size: u64,
    file_len: u64,
) -> Result<u64> {
    let shape = dataset.shape();
    let numel = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
    let bytes = numel.and_then(|n| n.checked_mul(element_size));
    let (limit, why) = if dataset.chunks().is_some() {
        let by_ratio = file_len.saturating_mul(MAX_DEFLATE_RATIO);
        if by_ratio < MAX_DATASET_BYTES {
            (
                by_ratio,
                format!(
                    "a chunked dataset inflates to at most {MAX_DEFLATE_RATIO} times the \
                     file's {file_len} bytes"
                ),
            )
        } else {
            (
                MAX_DATASET_BYTES,
                "a chunked dataset may hold at most 8 GiB".to_string(),
            )
        }
    } else {
        (
            file_len,
            format!("an uncompressed dataset lies inside the file's {file_len} bytes"),
        )
    };
    match (numel, bytes) {
        (Some(numel), Some(bytes)) if bytes <= limit => Ok(numel),
        _ => Err(DataError::TooLarge {
            path: path.to_path_buf(),
            item: format!("dataset `{name}`"),
            declared: match bytes {
                Some(bytes) => format!("shape {shape:?} = {bytes} bytes"),
                None => format!("shape {shape:?}, more than 2^64 bytes"),
            },
            limit,
            why,
        }),
    }
}

/// Reads one Galaxy10 file and checks that it is laid out as `file` says: an `images` dataset
/// uint8 `[N, H, W, 3]` (H = W = `file.side` when given, else any H = W ≥ 1), an `ans`
/// dataset of integers `[N]`, every label in `0..10`. Contiguous and chunked datasets are
/// read alike, with any of HDF5's gzip and shuffle filters.
///
/// # Errors
/// - [`DataError::Io`] when the file cannot be opened, [`DataError::NotAFile`] when it is a
///   named pipe, a device or a folder;
/// - [`DataError::Truncated`] when it is shorter than its HDF5 superblock says;
/// - [`DataError::Corrupt`] when it is not HDF5 or a dataset's bytes do not decode;
/// - [`DataError::TooLarge`] when a dataset declares more bytes than the file can hold (a
///   contiguous dataset at most the file's size, a chunked one at most [`MAX_DEFLATE_RATIO`]
///   times it and never more than [`MAX_DATASET_BYTES`]), before anything is allocated for it;
/// - [`DataError::Layout`] for a missing dataset, a wrong shape or dtype, counts that differ
///   or a label out of range — each naming the file, the dataset, what was expected and found.
pub fn read(path: &Path, file: &Galaxy10File) -> Result<Galaxy10Images> {
    let corrupt = |detail: String| DataError::Corrupt {
        path: path.to_path_buf(),
        format: "HDF5",
        detail,
    };
    let layout = |item: &str, expected: String, found: String| DataError::Layout {
        path: path.to_path_buf(),
        item: item.to_string(),
        expected,
        found,
    };
    // h5py's automatic chunks are at most 1 MiB; a chunk declared larger than 64 MiB is
    // refused before it is inflated.
    let (h5, file_len) = open_hdf5(path, hdf5_reader::DEFAULT_CHUNK_CACHE_BYTES)?;
    let root = h5.root_group().map_err(|e| corrupt(e.to_string()))?;

    let side = file
        .side
        .map_or_else(|| "S".to_string(), |side| side.to_string());
    let images_expected = format!("a uint8 dataset of shape (N, {side}, {side}, 3)");
    let images = root.dataset("images").map_err(|e| {
        layout(
            "dataset `images`",
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
            "dataset `images`",
            images_expected,
            format!("dtype {}", dtype_name(images.dtype())),
        ));
    }
    let shape = images.shape();
    let square = shape.len() == 4 && shape[1] == shape[2] && shape[1] >= 1 && shape[3] == 3;
    let side_ok = file
        .side
        .is_none_or(|side| shape.get(1) == Some(&(side as u64)));
    if !(square && side_ok) {
        return Err(layout(
            "dataset `images`",
            images_expected,
            format!("shape {shape:?}"),
        ));
    }
    let numel = check_declared_size(path, "images", &images, 1, file_len)?;
    let dims = [shape[0], shape[1], shape[2], shape[3]].map(|d| d as usize);
    let n = dims[0];

    let labels_ds = root.dataset("ans").map_err(|e| {
        layout(
            "dataset `ans`",
            format!("an integer dataset of shape ({n},)"),
            format!("none ({e})"),
        )
    })?;
    if labels_ds.shape() != [n as u64] {
        return Err(layout(
            "dataset `ans`",
            format!("shape ({n},), one label per image"),
            format!("shape {:?}", labels_ds.shape()),
        ));
    }
    if let Datatype::FixedPoint { size, .. } = labels_ds.dtype() {
        check_declared_size(path, "ans", &labels_ds, u64::from(*size), file_len)?;
    }
    let labels = read_labels(&labels_ds)
        .map_err(|found| layout("dataset `ans`", "integer labels".to_string(), found))?;
    let labels: Vec<u8> = labels
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            u8::try_from(label)
                .ok()
                .filter(|&l| (l as usize) < NUM_CLASSES)
                .ok_or_else(|| {
                    layout(
                        &format!("`ans[{i}]`"),
                        format!("a class in 0..{NUM_CLASSES}"),
                        label.to_string(),
                    )
                })
        })
        .collect::<Result<_>>()?;

    let mut pixels = vec![0u8; numel as usize];
    images
        .read_into(&mut pixels)
        .map_err(|e| corrupt(format!("dataset `images`: {e}")))?;
    Ok(Galaxy10Images {
        images: pixels,
        shape: dims,
        labels,
    })
}

/// The labels as wide integers, whatever integer type the file stores them in (both real
/// files use uint8). `Err` carries the dtype or decode error for the message.
pub(crate) fn read_labels(dataset: &Dataset) -> std::result::Result<Vec<i128>, String> {
    match dataset.dtype() {
        Datatype::FixedPoint { size, signed, .. } => match (size, signed) {
            (1, false) => read_as::<u8>(dataset),
            (1, true) => read_as::<i8>(dataset),
            (2, false) => read_as::<u16>(dataset),
            (2, true) => read_as::<i16>(dataset),
            (4, false) => read_as::<u32>(dataset),
            (4, true) => read_as::<i32>(dataset),
            (8, false) => read_as::<u64>(dataset),
            (8, true) => read_as::<i64>(dataset),
            _ => Err(format!("dtype {}", dtype_name(dataset.dtype()))),
        },
        other => Err(format!("dtype {}", dtype_name(other))),
    }
}

fn read_as<T: H5Type + Default + Clone + Into<i128>>(
    dataset: &Dataset,
) -> std::result::Result<Vec<i128>, String> {
    let n = dataset.shape().iter().product::<u64>() as usize;
    let mut values = vec![T::default(); n];
    dataset
        .read_into(&mut values)
        .map_err(|e| format!("undecodable data ({e})"))?;
    Ok(values.into_iter().map(Into::into).collect())
}

/// numpy's name for an HDF5 datatype, as h5py users know it (`uint8`, `float32`, …).
pub(crate) fn dtype_name(dtype: &Datatype) -> String {
    match dtype {
        Datatype::FixedPoint { size, signed, .. } => {
            format!("{}int{}", if *signed { "" } else { "u" }, 8 * *size as u32)
        }
        Datatype::FloatingPoint { size, .. } => format!("float{}", 8 * *size as u32),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::cache::Place;
    use crate::download::sha256_bytes;
    use crate::download::test_server::{serve, Reply};

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/galaxy10")
            .join(name)
    }

    /// The pixel formulas of tools/galaxy10_fixtures.py.
    fn sdss_pixel(n: usize, y: usize, x: usize, c: usize) -> u8 {
        ((37 * n + 11 * y + 5 * x + 71 * c) % 256) as u8
    }

    fn decals_pixel(n: usize, y: usize, x: usize, c: usize) -> u8 {
        ((13 * n + 7 * y + 3 * x + 50 * c) % 256) as u8
    }

    fn expected_pixels(shape: [usize; 4], pixel: fn(usize, usize, usize, usize) -> u8) -> Vec<u8> {
        let mut out = Vec::with_capacity(shape.iter().product());
        for n in 0..shape[0] {
            for y in 0..shape[1] {
                for x in 0..shape[2] {
                    for c in 0..shape[3] {
                        out.push(pixel(n, y, x, c));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn class_names_follow_astronn() {
        assert_eq!(CLASS_NAMES[0], "Disk, Face-on, No Spiral");
        assert_eq!(CLASS_NAMES[9], "Disk, Face-on, Loose Spiral");
        assert_eq!(DECALS_CLASS_NAMES[0], "Disturbed Galaxies");
        assert_eq!(DECALS_CLASS_NAMES[9], "Edge-on Galaxies with Bulge");
    }

    #[test]
    fn the_sdss_layout_is_read_pixel_for_pixel() {
        let data = read(&fixture("galaxy10_sdss.h5"), &SDSS_FILE).expect("fixture reads");
        assert_eq!(data.shape, [12, 69, 69, 3]);
        assert_eq!(data.images, expected_pixels(data.shape, sdss_pixel));
        let labels: Vec<u8> = (0..12).map(|i| (i % 10) as u8).collect();
        assert_eq!(data.labels, labels);
    }

    #[test]
    fn load_data_from_takes_a_file_or_a_folder() {
        let (images, labels) = load_data_from(fixture("galaxy10_sdss.h5")).expect("explicit file");
        assert_eq!(images.shape(), &[12, 69, 69, 3]);
        assert_eq!(labels.shape(), &[12]);
        // f32 of the raw bytes, not scaled.
        assert_eq!(images.as_slice().unwrap()[5], sdss_pixel(0, 0, 1, 2) as f32);
        assert_eq!(labels.as_slice().unwrap()[11], 1.0);

        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::copy(fixture("galaxy10_sdss.h5"), dir.path().join("Galaxy10.h5")).expect("copy");
        let (images, _) = load_data_from(dir.path()).expect("folder holding Galaxy10.h5");
        assert_eq!(images.shape(), &[12, 69, 69, 3]);
    }

    #[test]
    fn the_decals_layout_is_read_through_gzip_and_shuffle_chunks() {
        let data = read(&fixture("galaxy10_decals.h5"), &DECALS_FILE).expect("fixture reads");
        assert_eq!(data.shape, [5, 64, 64, 3]);
        assert_eq!(data.images, expected_pixels(data.shape, decals_pixel));
        assert_eq!(data.labels, vec![9, 0, 4, 7, 2]);
        let (images, labels) = load_decals_from(fixture("galaxy10_decals.h5")).expect("loads");
        assert_eq!(images.shape(), &[5, 64, 64, 3]);
        assert_eq!(labels.to_vec().unwrap(), vec![9.0, 0.0, 4.0, 7.0, 2.0]);
    }

    #[test]
    fn the_sdss_reader_insists_on_69_pixels() {
        let err = read(&fixture("galaxy10_decals.h5"), &SDSS_FILE).expect_err("64 is not 69");
        assert!(
            matches!(&err, DataError::Layout { item, .. } if item == "dataset `images`"),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("(N, 69, 69, 3)"), "{message}");
        assert!(message.contains("[5, 64, 64, 3]"), "{message}");
    }

    /// A bad fixture and the words its error message must contain.
    struct BadFileCase {
        file: &'static str,
        needles: &'static [&'static str],
    }

    #[test]
    fn files_with_the_wrong_layout_are_typed_errors_naming_the_file() {
        let cases = [
            BadFileCase {
                file: "bad_label.h5",
                needles: &["`ans[1]`", "a class in 0..10", "found 12"],
            },
            BadFileCase {
                file: "no_ans.h5",
                needles: &["dataset `ans`", "found none"],
            },
            BadFileCase {
                file: "wrong_shape.h5",
                needles: &["dataset `images`", "[2, 68, 69, 3]"],
            },
            BadFileCase {
                file: "float_images.h5",
                needles: &["a uint8 dataset", "dtype float32"],
            },
            BadFileCase {
                file: "count_mismatch.h5",
                needles: &["shape (3,), one label per image", "[2]"],
            },
        ];
        for case in cases {
            let path = fixture(case.file);
            let err = read(&path, &SDSS_FILE).expect_err(case.file);
            assert!(
                matches!(err, DataError::Layout { .. }),
                "{}: {err:?}",
                case.file
            );
            let message = err.to_string();
            assert!(message.contains(case.file), "{message}");
            for needle in case.needles {
                assert!(message.contains(needle), "{needle:?} not in {message}");
            }
        }
    }

    #[test]
    fn truncated_and_foreign_files_are_errors() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, fixture_name) in [
            ("sdss_cut.h5", "galaxy10_sdss.h5"),
            ("decals_cut.h5", "galaxy10_decals.h5"),
        ] {
            let bytes = std::fs::read(fixture(fixture_name)).expect("fixture");
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).expect("write");
            let err = read(&path, &DECALS_FILE).expect_err("truncated");
            assert!(
                matches!(err, DataError::Truncated { .. } | DataError::Corrupt { .. }),
                "{err:?}"
            );
            assert!(err.to_string().contains(name), "{err}");
        }
        let text = dir.path().join("Galaxy10.h5");
        std::fs::write(&text, b"<html>404 Not Found</html>").expect("write");
        let err = read(&text, &SDSS_FILE).expect_err("not HDF5");
        assert!(
            matches!(err, DataError::Corrupt { format: "HDF5", .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("Galaxy10.h5"), "{err}");
        let err = read(&dir.path().join("missing.h5"), &SDSS_FILE).expect_err("missing");
        assert!(matches!(err, DataError::Io { .. }), "{err:?}");
    }

    /// `bytes` with every `(N, H, W, 3)` shape of the images dataset (its dims and its max
    /// dims, little-endian u64) given `n` images instead.
    fn with_image_count(bytes: &[u8], shape: [u64; 4], n: u64) -> Vec<u8> {
        let old: Vec<u8> = shape.iter().flat_map(|d| d.to_le_bytes()).collect();
        let mut new_shape = shape;
        new_shape[0] = n;
        let new: Vec<u8> = new_shape.iter().flat_map(|d| d.to_le_bytes()).collect();
        let mut out = bytes.to_vec();
        let mut patched = 0;
        let mut at = 0;
        while let Some(offset) = out[at..].windows(old.len()).position(|w| w == old) {
            let start = at + offset;
            out[start..start + new.len()].copy_from_slice(&new);
            at = start + new.len();
            patched += 1;
        }
        assert!(patched >= 1, "the fixture holds the shape {shape:?}");
        out
    }

    /// A fixture whose images dataset declares `n` images, and the rule that must refuse it.
    struct DeclaredSizeCase {
        fixture: &'static str,
        shape: [u64; 4],
        n: u64,
        why: &'static str,
    }

    #[test]
    fn declared_sizes_beyond_the_file_are_refused_before_allocating() {
        let cases = [
            // 12000·69·69·3 = 171 MB in a 173 kB file: the old rule (1032 × the file) let
            // it through and allocated it.
            DeclaredSizeCase {
                fixture: "galaxy10_sdss.h5",
                shape: [12, 69, 69, 3],
                n: 12_000,
                why: "uncompressed dataset lies inside the file",
            },
            DeclaredSizeCase {
                fixture: "galaxy10_sdss.h5",
                shape: [12, 69, 69, 3],
                n: u64::MAX / 2,
                why: "uncompressed dataset lies inside the file",
            },
            // Chunked and gzip-compressed: 5000·64·64·3 = 61 MB from 37 kB is more than
            // deflate can inflate.
            DeclaredSizeCase {
                fixture: "galaxy10_decals.h5",
                shape: [5, 64, 64, 3],
                n: 5_000,
                why: "1032 times",
            },
        ];
        let dir = tempfile::tempdir().expect("temp dir");
        for case in cases {
            let bytes = std::fs::read(fixture(case.fixture)).expect("fixture");
            let path = dir.path().join(case.fixture);
            std::fs::write(&path, with_image_count(&bytes, case.shape, case.n)).expect("write");
            let err = read(&path, &DECALS_FILE).expect_err("declared too large");
            assert!(
                matches!(&err, DataError::TooLarge { item, why, .. }
                    if item == "dataset `images`" && why.contains(case.why)),
                "{}: {err:?}",
                case.fixture
            );
            assert!(err.to_string().contains(case.fixture), "{err}");
        }
        // A chunked dataset is refused above 8 GiB whatever the file's size.
        let bytes = std::fs::read(fixture("galaxy10_decals.h5")).expect("fixture");
        let mut big = with_image_count(&bytes, [5, 64, 64, 3], 1 << 20);
        big.resize(big.len() + (16 << 20), 0); // 16 MiB × 1032 is above 8 GiB
        let path = dir.path().join("padded.h5");
        std::fs::write(&path, big).expect("write");
        let err = read(&path, &DECALS_FILE).expect_err("above the cap");
        assert!(
            matches!(&err, DataError::TooLarge { limit, .. } if *limit == MAX_DATASET_BYTES),
            "{err:?}"
        );
    }

    /// A lookup whose only place and download folder is `cache`.
    fn cache_lookup(cache: &Path, file: &Galaxy10File) -> Lookup {
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
            how_to: how_to(file),
        }
    }

    #[test]
    fn a_download_tries_each_mirror_then_lands_in_the_cache() {
        let body = std::fs::read(fixture("galaxy10_sdss.h5")).expect("fixture");
        let digest: &'static str = Box::leak(sha256_bytes(&body).into_boxed_str());
        let file = Galaxy10File {
            sha256: digest,
            size: Some(body.len() as u64),
            ..SDSS_FILE
        };
        // The first mirror is gone (404), the second serves the file.
        let routes = HashMap::from([("/zenodo/Galaxy10.h5".to_string(), Reply::Body(body))]);
        let (base, server) = serve(routes, 2);
        let root = tempfile::tempdir().expect("temp dir");
        let cache = root.path().join(DATASET);
        let lookup = cache_lookup(&cache, &file);
        let urls = [
            format!("{base}/bovy/Galaxy10.h5"),
            format!("{base}/zenodo/Galaxy10.h5"),
        ];
        let path = locate_with(&file, &lookup, &urls).expect("second mirror works");
        assert_eq!(path, cache.join("Galaxy10.h5"));
        assert_eq!(
            server.join().expect("server"),
            vec!["/bovy/Galaxy10.h5", "/zenodo/Galaxy10.h5"]
        );
        assert_eq!(read(&path, &file).expect("reads").len(), 12);
        // The second time the cache answers: the mirrors are gone, and the copy is known by
        // the stamp of its verification.
        let again = locate_with(&file, &lookup, &urls).expect("cached");
        assert_eq!(again, path);
        // A copy damaged since is downloaded again.
        let mut damaged = std::fs::read(&path).expect("read");
        damaged[1000] ^= 0xff;
        std::fs::write(&path, &damaged).expect("write");
        let routes = HashMap::from([(
            "/zenodo/Galaxy10.h5".to_string(),
            Reply::Body(std::fs::read(fixture("galaxy10_sdss.h5")).expect("fixture")),
        )]);
        let (base, server) = serve(routes, 1);
        let repaired = locate_with(&file, &lookup, &[format!("{base}/zenodo/Galaxy10.h5")])
            .expect("downloaded again");
        assert_eq!(server.join().expect("server"), vec!["/zenodo/Galaxy10.h5"]);
        assert_eq!(
            std::fs::read(&repaired).expect("read"),
            std::fs::read(fixture("galaxy10_sdss.h5")).expect("fixture")
        );
        verify_checksum(&path, &file).expect("digest matches");
        let err = verify_checksum(&path, &SDSS_FILE).expect_err("not the real file");
        assert!(matches!(err, DataError::Verification { .. }), "{err:?}");
    }

    #[test]
    fn when_every_mirror_fails_the_error_lists_places_and_downloads() {
        let (base, _server) = serve(HashMap::new(), 2);
        let root = tempfile::tempdir().expect("temp dir");
        let cache = root.path().join(DATASET);
        let lookup = cache_lookup(&cache, &DECALS_FILE);
        let urls = [format!("{base}/a.h5"), format!("{base}/b.h5")];
        let message = locate_with(&DECALS_FILE, &lookup, &urls)
            .expect_err("404 twice")
            .to_string();
        for needle in [
            "user cache",
            "no such folder",
            &urls[0],
            &urls[1],
            "HTTP 404",
            DECALS_FILE.sha256,
        ] {
            assert!(message.contains(needle), "{needle:?} not in:\n{message}");
        }
        assert!(!cache.join("Galaxy10_DECals.h5").exists());
    }
}
