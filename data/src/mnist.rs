//! MNIST: 70,000 grey 28×28 hand-written digits, 0 to 9 (LeCun, Cortes and Burges).
//!
//! The same data, shapes and values as `keras.datasets.mnist.load_data()`: images
//! (60000, 28, 28) and (10000, 28, 28) with raw values 0–255, labels (N,) in 0–9.
//!
//! ```no_run
//! use astrograd_data::mnist;
//! let ((x_train, y_train), (x_test, y_test)) = mnist::load_data()?;
//! assert_eq!(x_test.shape(), &[10000, 28, 28]);
//! # Ok::<(), astrograd_data::DataError>(())
//! ```
//!
//! # Files, and how they differ from Keras's
//! Keras 2.10 downloads one `mnist.npz` (a zip of four NumPy arrays). astrograd reads the
//! original four gzipped IDX files instead, with the same reader as Fashion-MNIST
//! ([`crate::idx`]): they hold the same 70,000 images and labels in the same order, and they
//! are the files people already have. They are looked for in the folder given to
//! [`load_data_from`], `$ASTROGRAD_DATA/mnist/`, `astrograd/datasets/mnist/` in the user cache
//! ([`crate::cache::user_cache_dir`]), and otherwise downloaded into the cache from [`BASE_URL`], the mirror that TensorFlow Datasets
//! uses (Yann LeCun's own page no longer serves them reliably), checked against the sizes and
//! SHA-256 digests of [`FILES`].
use std::path::Path;

use crate::cache::Lookup;
use crate::download::RemoteFile;
use crate::error::Result;
use crate::idx::{load_train_test, LabelledImages};
use crate::TrainTest;

/// The dataset's folder name under `$ASTROGRAD_DATA` and the cache.
pub const DATASET: &str = "mnist";

/// The class names: the digits themselves.
pub const CLASS_NAMES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// The mirror of the original files used by TensorFlow Datasets.
pub const BASE_URL: &str = "https://storage.googleapis.com/cvdf-datasets/mnist/";

/// The four original files: train images, train labels, test images, test labels.
pub const FILES: [RemoteFile; 4] = [
    RemoteFile {
        name: "train-images-idx3-ubyte.gz",
        sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        size: 9_912_422,
    },
    RemoteFile {
        name: "train-labels-idx1-ubyte.gz",
        sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        size: 28_881,
    },
    RemoteFile {
        name: "t10k-images-idx3-ubyte.gz",
        sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        size: 1_648_877,
    },
    RemoteFile {
        name: "t10k-labels-idx1-ubyte.gz",
        sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        size: 4_542,
    },
];

/// `((x_train, y_train), (x_test, y_test))` as f32 tensors, like `keras.datasets.mnist`.
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
    to_tensors(load_train_test(&lookup(Some(dir.as_ref())), &FILES)?)
}

/// The train and test sets as stored, one byte per pixel and per label.
///
/// # Errors
/// As [`load_data`].
pub fn load_data_u8() -> Result<(LabelledImages, LabelledImages)> {
    load_train_test(&lookup(None), &FILES)
}

/// The standard [`Lookup`] for MNIST, with `explicit` tried first when given.
pub fn lookup(explicit: Option<&Path>) -> Lookup {
    Lookup::standard(DATASET, explicit, &[], BASE_URL, how_to())
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
        "  - download these four files into {cache}\n    (or into any folder, then call \
         mnist::load_data_from(folder)):\n{}",
        urls.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::testing::write_dataset;

    #[test]
    fn loads_idx_files_from_an_explicit_folder() {
        let dir = tempfile::tempdir().expect("temp dir");
        write_dataset(dir.path(), FILES.map(|f| f.name), 3, 2);
        let ((x_train, y_train), (x_test, _)) = load_data_from(dir.path()).expect("complete");
        assert_eq!(x_train.shape(), &[3, 28, 28]);
        assert_eq!(y_train.to_vec().unwrap(), vec![9.0, 0.0, 1.0]);
        assert_eq!(x_test.shape(), &[2, 28, 28]);
    }

    #[test]
    fn the_hand_instructions_name_every_url() {
        let text = how_to();
        for f in FILES {
            assert!(text.contains(&format!("{BASE_URL}{}", f.name)), "{text}");
        }
    }
}
