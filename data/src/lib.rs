//! # astrograd-data — datasets, downloads and image generators
//!
//! The datasets of the course as plain [`astrograd_tensor::Tensor`]s, read from their real
//! file formats, and the small array recipes that prepare them:
//!
//! | module | what it holds |
//! |---|---|
//! | [`fashion_mnist`], [`mnist`] | `load_data()` as `keras.datasets`: `((x_train, y_train), (x_test, y_test))` |
//! | [`galaxy10`] | Galaxy10 SDSS (`load_data`) and DECals (`load_decals`) from their HDF5 files, or streamed (`stream`) |
//! | [`hdf5_stream`] | batches streamed from an HDF5 file bigger than memory: chunk by chunk, shuffled, resized, prefetched |
//! | [`cats_and_dogs`] | `load()`: the cats vs dogs zip, downloaded and safely extracted |
//! | [`fits`] | `load(path)`: a FITS image (raw or gzip) as a tensor `(H, W)` or `(H, W, bands)` |
//! | [`image_generator`] | Keras's `ImageDataGenerator`: augmentation, `flow`, `flow_from_directory`, prefetching |
//! | [`idx`] | the IDX reader (gzip or raw), every header and size checked |
//! | [`cache`] | where files are looked for: explicit folder, `$ASTROGRAD_DATA`, user cache, system packages |
//! | [`download`] | [`download::fetch`]: verified (size, SHA-256), atomic, with a progress bar |
//! | [`stretch`] | min–max, percentile clip, asinh (Lupton et al. 2004) and zscale, for a generator's `preprocessing_function` |
//! | [`split`] | `train_test_split` with scikit-learn's exact indices, stratified or not |
//! | [`arrays`] | grey by channel mean, `x / 255`, one-hot labels |
//!
//! ```no_run
//! use astrograd_data::{arrays, fashion_mnist};
//! let ((x_train, y_train), (x_test, y_test)) = fashion_mnist::load_data()?;
//! let x_train = arrays::scale_255(&x_train)?; // pixels / 255, as the course does
//! # Ok::<(), astrograd_data::DataError>(())
//! ```
//!
//! Every failure is a [`DataError`] that names the file or URL and says what was expected
//! and what was found. Of astrograd's crates, it depends only on the tensor crate (its tests
//! also use the kernels crate's `test_env`).
#![warn(missing_docs)]
pub mod arrays;
pub mod cache;
pub mod cats_and_dogs;
pub mod download;
pub mod error;
pub mod fashion_mnist;
pub mod fits;
pub mod galaxy10;
pub mod hdf5_stream;
pub mod idx;
pub mod image_generator;
pub mod mnist;
pub mod split;
pub mod stretch;

use astrograd_tensor::Tensor;

pub use error::{DataError, Result};
pub use split::{train_test_split, train_test_split_stratified};

/// `((x_train, y_train), (x_test, y_test))`, the shape of every `keras.datasets` loader.
pub type TrainTest = ((Tensor, Tensor), (Tensor, Tensor));
