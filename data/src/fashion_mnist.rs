//! Fashion-MNIST: 70,000 grey 28×28 pictures of clothes in 10 classes (Zalando Research).
//!
//! The same data, the same shapes and the same values as `keras.datasets.fashion_mnist`:
//!
//! ```python
//! (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
//! # x_train (60000, 28, 28) uint8, y_train (60000,) uint8, x_test (10000, 28, 28), y_test (10000,)
//! ```
//!
//! ```no_run
//! use astrograd_data::fashion_mnist;
//! let ((x_train, y_train), (x_test, y_test)) = fashion_mnist::load_data()?;
//! assert_eq!(x_train.shape(), &[60000, 28, 28]); // f32, raw 0–255: divide by 255 yourself
//! let first = y_train.as_slice()?[0] as usize;
//! assert_eq!(fashion_mnist::CLASS_NAMES[first], "Ankle boot");
//! # Ok::<(), astrograd_data::DataError>(())
//! ```
//!
//! # Where the files come from
//! Four gzipped IDX files (see [`crate::idx`]), looked for in this order (see [`crate::cache`]):
//! the folder given to [`load_data_from`], `$ASTROGRAD_DATA/fashion-mnist/`,
//! `astrograd/datasets/fashion-mnist/` in the user cache ([`crate::cache::user_cache_dir`]:
//! `~/.cache/` on Linux), Debian's [`DEBIAN_DIR`] (package
//! `dataset-fashion-mnist`), and otherwise downloaded from [`BASE_URL`] — the bucket Keras
//! downloads from — into the user cache, checked against [`FILES`]' sizes and SHA-256.
//!
//! # Checksums
//! [`FILES`] holds the digests of the files *as published* (they agree with the MD5 sums of
//! the Fashion-MNIST README). Debian re-compressed its copies (without the gzip name field),
//! so the `.gz` bytes differ while the data inside is identical: [`CONTENT_SHA256`] holds the
//! digests of the *decompressed* files, which both copies share; the integration test
//! `data/tests/fashion_mnist_files.rs` checks the Debian files against them.
use std::path::Path;

use crate::cache::{Lookup, Place};
use crate::download::RemoteFile;
use crate::error::Result;
use crate::idx::{load_train_test, LabelledImages};
use crate::TrainTest;

/// The dataset's folder name under `$ASTROGRAD_DATA` and the cache.
pub const DATASET: &str = "fashion-mnist";

/// The class names, indexed by label (as in the TensorFlow tutorials and the course).
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Where Keras 2.10's `fashion_mnist.load_data()` downloads the files from.
pub const BASE_URL: &str = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/";

/// Where Debian's `dataset-fashion-mnist` package installs the files.
pub const DEBIAN_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The four published files: train images, train labels, test images, test labels.
pub const FILES: [RemoteFile; 4] = [
    RemoteFile {
        name: "train-images-idx3-ubyte.gz",
        sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        size: 26_421_880,
    },
    RemoteFile {
        name: "train-labels-idx1-ubyte.gz",
        sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        size: 29_515,
    },
    RemoteFile {
        name: "t10k-images-idx3-ubyte.gz",
        sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        size: 4_422_102,
    },
    RemoteFile {
        name: "t10k-labels-idx1-ubyte.gz",
        sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        size: 5_148,
    },
];

/// SHA-256 of each file *after gunzip*, in the order of [`FILES`]: the IDX bytes themselves,
/// the same in the published files and in Debian's re-compressed copies.
pub const CONTENT_SHA256: [&str; 4] = [
    "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
];

/// `((x_train, y_train), (x_test, y_test))` as f32 tensors, like `keras.datasets`:
/// images (60000, 28, 28) and (10000, 28, 28) with raw values 0–255, labels (N,) in 0–9.
///
/// # Errors
/// [`crate::DataError::NotFound`] (listing every place looked, and how to get the files) when
/// the files are nowhere and cannot be downloaded; a typed IDX error when a file is damaged.
pub fn load_data() -> Result<TrainTest> {
    to_tensors(load_data_u8()?)
}

/// As [`load_data`], looking first in `dir` (then in the usual places).
///
/// # Errors
/// As [`load_data`].
pub fn load_data_from(dir: impl AsRef<Path>) -> Result<TrainTest> {
    to_tensors(load_u8(Some(dir.as_ref()))?)
}

/// The train and test sets as stored, one byte per pixel and per label (a quarter of the
/// memory of [`load_data`]).
///
/// # Errors
/// As [`load_data`].
pub fn load_data_u8() -> Result<(LabelledImages, LabelledImages)> {
    load_u8(None)
}

/// The standard [`Lookup`] for Fashion-MNIST, with `explicit` tried first when given.
pub fn lookup(explicit: Option<&Path>) -> Lookup {
    let debian = Place {
        origin: "Debian package dataset-fashion-mnist".to_string(),
        dir: DEBIAN_DIR.into(),
    };
    Lookup::standard(DATASET, explicit, &[debian], BASE_URL, how_to())
}

fn load_u8(explicit: Option<&Path>) -> Result<(LabelledImages, LabelledImages)> {
    load_train_test(&lookup(explicit), &FILES)
}

fn to_tensors((train, test): (LabelledImages, LabelledImages)) -> Result<TrainTest> {
    Ok((train.to_tensors()?, test.to_tensors()?))
}

/// What to do by hand when the files are nowhere.
fn how_to() -> String {
    let cache = crate::cache::user_cache_dir()
        .map(|root| root.join(DATASET).display().to_string())
        .unwrap_or_else(|| format!("${}/{DATASET}", crate::cache::DATA_ENV));
    let urls: Vec<String> = FILES
        .iter()
        .map(|f| format!("    {BASE_URL}{}", f.name))
        .collect();
    format!(
        "  - on Debian or Ubuntu: sudo apt install dataset-fashion-mnist (installs {DEBIAN_DIR}), or\n  \
         - download these four files into {cache}\n    (or into any folder, then call \
         fashion_mnist::load_data_from(folder)):\n{}",
        urls.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::cache::Fallback;
    use crate::download::sha256_bytes;
    use crate::download::test_server::{serve, Reply};
    use crate::error::DataError;
    use crate::idx::testing::write_dataset;

    fn names() -> [&'static str; 4] {
        FILES.map(|f| f.name)
    }

    #[test]
    fn class_names_follow_the_labels() {
        assert_eq!(CLASS_NAMES.len(), 10);
        assert_eq!(CLASS_NAMES[0], "T-shirt/top");
        assert_eq!(CLASS_NAMES[9], "Ankle boot");
    }

    #[test]
    fn an_explicit_folder_is_read_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        write_dataset(dir.path(), names(), 6, 4);
        let ((x_train, y_train), (x_test, y_test)) =
            load_data_from(dir.path()).expect("explicit folder is complete");
        assert_eq!(x_train.shape(), &[6, 28, 28]);
        assert_eq!(y_train.shape(), &[6]);
        assert_eq!(x_test.shape(), &[4, 28, 28]);
        assert_eq!(y_test.to_vec().unwrap(), vec![9.0, 0.0, 1.0, 2.0]);
        assert_eq!(x_train.as_slice().unwrap()[1], 7.0); // raw values, not scaled
    }

    /// The four files served by a local server, and a lookup whose cache is `cache`.
    fn served_lookup(
        files: &[RemoteFile],
        bodies: &[Vec<u8>],
        cache: &Path,
    ) -> (Lookup, std::thread::JoinHandle<Vec<String>>) {
        let routes: HashMap<String, Reply> = files
            .iter()
            .zip(bodies)
            .map(|(f, body)| (format!("/keras/{}", f.name), Reply::Body(body.clone())))
            .collect();
        let (base, server) = serve(routes, files.len());
        let lookup = Lookup {
            dataset: DATASET,
            places: vec![Place {
                origin: "user cache".to_string(),
                dir: cache.to_path_buf(),
            }],
            fallback: Fallback::Download {
                base_url: format!("{base}/keras/"),
                dir: cache.to_path_buf(),
            },
            how_to: how_to(),
        };
        (lookup, server)
    }

    /// RemoteFile entries for `bodies`, with the real names and the bodies' own digests.
    fn remote_files(bodies: &[Vec<u8>]) -> Vec<RemoteFile> {
        FILES
            .iter()
            .zip(bodies)
            .map(|(f, body)| RemoteFile {
                name: f.name,
                sha256: Box::leak(sha256_bytes(body).into_boxed_str()),
                size: body.len() as u64,
            })
            .collect()
    }

    #[test]
    fn a_download_fills_the_cache_and_loads() {
        let staging = tempfile::tempdir().expect("temp dir");
        let bodies = write_dataset(staging.path(), names(), 5, 3);
        let files = remote_files(&bodies);
        let root = tempfile::tempdir().expect("temp dir");
        let cache = root.path().join("fashion-mnist");
        let (lookup, server) = served_lookup(&files, &bodies, &cache);
        let (train, test) = load_train_test(&lookup, &files).expect("download and read");
        assert_eq!(train.shape, [5, 28, 28]);
        assert_eq!(test.labels, vec![9, 0, 1]);
        assert_eq!(server.join().expect("server").len(), 4);
        for (f, body) in files.iter().zip(&bodies) {
            assert_eq!(&std::fs::read(cache.join(f.name)).expect("cached"), body);
        }
        // A second load finds everything in the cache and asks the network for nothing.
        let offline = Lookup {
            fallback: Fallback::Fail {
                reason: "offline".to_string(),
            },
            ..lookup
        };
        load_train_test(&offline, &files).expect("served from the cache");
    }

    #[test]
    fn a_checksum_mismatch_fails_and_leaves_the_cache_empty() {
        let staging = tempfile::tempdir().expect("temp dir");
        let bodies = write_dataset(staging.path(), names(), 2, 2);
        let mut files = remote_files(&bodies);
        files[0].sha256 = FILES[0].sha256; // the real digest: the toy file cannot match it
        let root = tempfile::tempdir().expect("temp dir");
        let cache = root.path().join("fashion-mnist");
        let (lookup, _server) = served_lookup(&files, &bodies, &cache);
        let err = load_train_test(&lookup, &files).expect_err("checksum mismatch");
        let message = err.to_string();
        assert!(matches!(err, DataError::NotFound { .. }), "{err:?}");
        assert!(message.contains("SHA-256"), "{message}");
        assert!(message.contains(FILES[0].sha256), "{message}");
        assert!(
            message.contains("apt install dataset-fashion-mnist"),
            "{message}"
        );
        let left: Vec<_> = std::fs::read_dir(&cache).expect("cache dir").collect();
        assert!(left.is_empty(), "the cache should be empty, holds {left:?}");
    }

    #[test]
    fn a_damaged_file_gives_a_typed_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let bodies = write_dataset(dir.path(), names(), 2, 2);
        let cut = &bodies[0][..bodies[0].len() - 10];
        std::fs::write(dir.path().join(FILES[0].name), cut).expect("write");
        let err = read_dir_for_test(dir.path()).expect_err("truncated gzip");
        assert!(matches!(err, DataError::CorruptGzip { .. }), "{err:?}");
    }

    fn read_dir_for_test(dir: &Path) -> Result<(LabelledImages, LabelledImages)> {
        let paths: Vec<_> = FILES.iter().map(|f| dir.join(f.name)).collect();
        crate::idx::read_train_test(&paths)
    }

    #[test]
    fn the_hand_instructions_name_every_url() {
        let text = how_to();
        for f in FILES {
            assert!(text.contains(&format!("{BASE_URL}{}", f.name)), "{text}");
        }
    }
}
