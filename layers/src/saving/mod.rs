//! Whole models in files: `model.save(path)` and [`load_model`], in Keras's own formats, the
//! format chosen by the file name as Keras chooses it.
//!
//! | file name | format | holds |
//! |---|---|---|
//! | `m.keras` | Keras 3: a zip of `config.json`, `metadata.json`, `model.weights.h5` ([`keras3`]) | architecture, weights, compile settings, optimizer state |
//! | `m.h5`, `m.hdf5` | Keras 2 (tf.keras 2.10) HDF5 ([`legacy_h5`]) | the same |
//!
//! A model read back predicts the same numbers, bit for bit, and a compiled one continues
//! training where it stopped: `fit` works without `compile`, with the optimizer's slots (Adam's
//! `m` and `v`, …) and step count restored.
//!
//! ```
//! use astrograd_layers::{load_model, Dense, Input, Sequential};
//! # let dir = tempfile::tempdir()?;
//! let mut model = Sequential::new(vec![
//!     Box::new(Input::new(&[4])),
//!     Box::new(Dense::new(3).activation("softmax")),
//! ])?;
//! model.compile("sparse_categorical_crossentropy", "adam", &["accuracy"])?;
//! for name in ["m.keras", "m.h5"] {
//!     let path = dir.path().join(name);
//!     model.save(&path)?;
//!     let again = load_model(&path)?;
//!     assert_eq!(again.get_weights(), model.get_weights());
//!     assert!(again.is_compiled());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Files are written atomically (a temporary file beside the target, then a rename), so an
//! interrupted save leaves the previous file whole. Reading checks every part before a model
//! is returned: a layer class astrograd does not have, a config that does not match its
//! weights, a truncated file are errors that name the file and the part.
pub mod hdf5_tree;
pub mod keras3;
pub mod legacy_h5;
pub mod model_config;
pub mod training_config;

use std::path::Path;

pub use model_config::{deserialize_layer, model_from_config, serialize_layer, SUPPORTED_CLASSES};

use crate::model::Model;
use crate::weights::WeightsError;
use crate::{LayerError, Result};
use hdf5_tree::Hdf5Tree;

/// The formats of a whole-model file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelFormat {
    /// Keras 3's `.keras` zip.
    Keras,
    /// Keras 2's `.h5` / `.hdf5`.
    LegacyH5,
}

impl ModelFormat {
    /// The format Keras would choose for this file name; `None` for any other extension.
    pub fn of(path: &Path) -> Option<ModelFormat> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "keras" => Some(ModelFormat::Keras),
            "h5" | "hdf5" => Some(ModelFormat::LegacyH5),
            _ => None,
        }
    }
}

fn unsupported(action: &'static str, path: &Path) -> LayerError {
    WeightsError::UnsupportedFormat {
        action,
        path: path.display().to_string(),
        expected: ".keras (Keras 3), .h5 or .hdf5 (Keras 2)",
    }
    .into()
}

impl Model {
    /// Keras's `model.save(path)`: the architecture, the weights, and for a compiled model
    /// the compile settings and optimizer state, in the format the extension names
    /// (`.keras`, `.h5`, `.hdf5`). The file is written atomically.
    ///
    /// # Errors
    /// Another extension; a model without weights yet; a learning-rate schedule (not saved);
    /// an I/O error.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        match ModelFormat::of(path) {
            Some(ModelFormat::Keras) => keras3::save(self, path),
            Some(ModelFormat::LegacyH5) => legacy_h5::save(self, path),
            None => Err(unsupported("save a model", path)),
        }
    }
}

/// Keras's `keras.models.load_model(path)`: the model a `.keras`, `.h5` or `.hdf5` file holds,
/// compiled when the file was saved from a compiled model (with the optimizer's state), so
/// that `fit` continues the training.
///
/// # Errors
/// Another extension; a file that cannot be read, is truncated, or is not a Keras model
/// file; a layer class astrograd does not have (the message lists the supported ones); a
/// `Lambda` layer; weights that do not fit the architecture.
pub fn load_model(path: impl AsRef<Path>) -> Result<Model> {
    let path = path.as_ref();
    match ModelFormat::of(path) {
        Some(ModelFormat::Keras) => keras3::load(path),
        Some(ModelFormat::LegacyH5) => legacy_h5::load(path),
        None => Err(unsupported("load a model", path)),
    }
}

/// The error for a missing or malformed part of a model file.
pub(crate) fn model_file_error(path: &Path, part: &str, detail: String) -> LayerError {
    WeightsError::ModelFile {
        path: path.display().to_string(),
        part: part.to_string(),
        detail,
    }
    .into()
}

/// Writes an HDF5 tree to `path`, atomically.
pub(crate) fn write_file(path: &Path, tree: &Hdf5Tree) -> Result<()> {
    let bytes = tree
        .to_bytes()
        .map_err(|detail| model_file_error(path, "HDF5 encoding", detail))?;
    write_bytes(path, &bytes)
}

/// Writes bytes to `path`, atomically.
pub(crate) fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::weights::write_atomically(path, |w| std::io::Write::write_all(w, bytes)).map_err(|e| {
        WeightsError::Io {
            action: "write",
            path: path.display().to_string(),
            detail: e.to_string(),
        }
        .into()
    })
}
