//! Saving and loading a model's weights: `model.save_weights(path)` and `model.load_weights(path)`.
//!
//! The format follows the file's extension:
//!
//! | extension | save | load | what it is |
//! |---|---|---|---|
//! | `.safetensors` | ✓ | ✓ | [`safetensors`](mod@safetensors): one float32 tensor per weight, keyed by its Keras name (`dense/kernel:0`) |
//! | `.h5`, `.hdf5` | — | ✓ | Keras's legacy HDF5 weights (`model.save_weights('x.h5')`, `model.save('m.h5')`, the `keras.applications` files) |
//!
//! ```
//! use astrograd_layers::{Dense, Input, Sequential};
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("mlp.safetensors");
//! let layers = || -> Vec<Box<dyn astrograd_layers::Layer>> {
//!     vec![Box::new(Input::new(&[4])), Box::new(Dense::new(3)), Box::new(Dense::new(2))]
//! };
//! let trained = Sequential::new(layers())?;
//! trained.save_weights(&path)?;
//! let mut fresh = Sequential::new(layers())?; // other random weights, other names (dense_2, dense_3)
//! fresh.load_weights(&path)?; // matched by position, as Keras does
//! assert_eq!(fresh.get_weights(), trained.get_weights());
//! # Ok::<(), astrograd_layers::LayerError>(())
//! ```
//!
//! # How weights are matched
//!
//! As in Keras (TF 2.10), there are two ways, for both formats:
//!
//! - [`Model::load_weights`] matches **by position** (Keras's default, "topological" loading):
//!   the k-th layer that has weights in the model gets the k-th layer that has weights in the
//!   file, whatever their names; layers without weights (pooling, Flatten) are skipped on both
//!   sides. A model built twice in one program (`dense` then `dense_2`) still loads. Within a
//!   layer, weights are matched by name when every name of the model's layer is in the file
//!   (so the order does not matter), otherwise by position (the official VGG16 files name
//!   their weights `block1_conv1_W_1:0`, `block1_conv1_b_1:0`). A `.safetensors` file keeps
//!   the model's weight order in its metadata for this.
//! - [`Model::load_weights_by_name`] matches **by layer name** (Keras's `by_name=True`), for
//!   a model whose layers are in another order or another graph.
//!
//! Every count and shape is checked before any weight changes, so a failed load leaves the
//! model as it was. Unlike Keras's `by_name=True`, which silently skips layers it cannot
//! find, a model layer missing from the file, or a file layer missing from the model, is an
//! error that names them.
//!
//! # Saving is atomic
//!
//! [`Model::save_weights`] writes through [`write_atomically`]: a temporary file beside the
//! target, synced, then renamed over it. A save interrupted by an error, a panic or a kill
//! leaves the previous file intact, which is what a `ModelCheckpoint` needs.
pub mod atomic;
pub mod keras_h5;
pub mod safetensors;

use std::collections::HashMap;
use std::path::Path;

use astrograd_autograd::{Tensor, Var};

use crate::layer::Weight;
use crate::model::Model;
use crate::{LayerError, Result};

pub use atomic::write_atomically;

/// What went wrong while saving or loading weights. Each message names the file, and the
/// layer and weight where there is one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
    /// The file could not be read, written or renamed.
    #[error("cannot {action} '{path}': {detail}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: String,
        /// The operating system's message.
        detail: String,
    },
    /// The file is not a valid file of its format: truncated, corrupted, or of another kind.
    #[error("'{path}' is not a readable {format} weights file: {detail}")]
    Corrupt {
        /// The file.
        path: String,
        /// `HDF5` or `safetensors`.
        format: &'static str,
        /// What the reader found wrong.
        detail: String,
    },
    /// The extension names no supported format, or one that can only be loaded.
    #[error("cannot {action} weights as '{path}': expected a name ending in {expected}")]
    UnsupportedFormat {
        /// `save` or `load`.
        action: &'static str,
        /// The file.
        path: String,
        /// The extensions that work for this action.
        expected: &'static str,
    },
    /// The model has no weights yet, because it does not know its input shape.
    #[error(
        "model \"{model}\" has no weights yet: give it an Input or call model.build(shape) first"
    )]
    NotBuilt {
        /// The model's name.
        model: String,
    },
    /// Two weights of the model have the same name, so a file cannot tell them apart.
    #[error("model \"{model}\" has two weights named \"{name}\": give its layers unique names")]
    DuplicateName {
        /// The model's name.
        model: String,
        /// The repeated weight name.
        name: String,
    },
    /// Loading by position: the model and the file have different numbers of layers with
    /// weights (Keras's "Layer count mismatch").
    #[error(
        "Layer count mismatch when loading weights from '{path}': the model has {} layers with \
         weights {model_layers:?}, the file has {} {file_layers:?}",
        .model_layers.len(),
        .file_layers.len()
    )]
    LayerCount {
        /// The file.
        path: String,
        /// The model's layers that have weights, in order.
        model_layers: Vec<String>,
        /// The file's layers that have weights, in order.
        file_layers: Vec<String>,
    },
    /// Loading by name: layers of the model that the file does not have.
    #[error("'{path}' has no weights for the layers {missing:?} of model \"{model}\" (it has {file_layers:?})")]
    MissingLayers {
        /// The file.
        path: String,
        /// The model's name.
        model: String,
        /// The model's layers not found in the file.
        missing: Vec<String>,
        /// The file's layers that have weights.
        file_layers: Vec<String>,
    },
    /// Loading by name: layers with weights in the file that the model does not have.
    #[error(
        "'{path}' has weights for the layers {extra:?}, which model \"{model}\" does not have"
    )]
    ExtraLayers {
        /// The file.
        path: String,
        /// The model's name.
        model: String,
        /// The file's layers not found in the model.
        extra: Vec<String>,
    },
    /// A layer and its counterpart in the file have different numbers of weights.
    #[error(
        "Weight count mismatch for layer \"{layer}\" (\"{file_layer}\" in '{path}'): the layer \
         has {} weights {model_weights:?}, the file has {} {file_weights:?}",
        .model_weights.len(),
        .file_weights.len()
    )]
    WeightCount {
        /// The file.
        path: String,
        /// The model's layer (or the model, for a `.safetensors` file).
        layer: String,
        /// Its counterpart in the file.
        file_layer: String,
        /// The layer's weight names.
        model_weights: Vec<String>,
        /// The file's weight names.
        file_weights: Vec<String>,
    },
    /// A weight and its counterpart in the file have different shapes.
    #[error(
        "Shape mismatch in layer \"{layer}\" for weight {weight}: the model expects shape \
         {expected:?}, '{path}' has shape {found:?} (as {file_weight})"
    )]
    Shape {
        /// The file.
        path: String,
        /// The model's layer.
        layer: String,
        /// The model's weight name.
        weight: String,
        /// The name of the weight in the file.
        file_weight: String,
        /// The model's shape.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// Loading by name from a `.safetensors` file: weights of the model that it does not have.
    #[error("'{path}' has no tensors for the weights {missing:?} of model \"{model}\"")]
    MissingWeights {
        /// The file.
        path: String,
        /// The model's name.
        model: String,
        /// The weight names not found.
        missing: Vec<String>,
    },
    /// Loading by name from a `.safetensors` file: tensors the model has no weight for.
    #[error("'{path}' has tensors {extra:?}, which model \"{model}\" has no weights for")]
    ExtraWeights {
        /// The file.
        path: String,
        /// The model's name.
        model: String,
        /// The tensor names not found in the model.
        extra: Vec<String>,
    },
    /// A weight stored as something other than float32 (or float64, which is converted).
    #[error("weight \"{name}\" in '{path}' is {dtype}; astrograd loads float32 weights")]
    DType {
        /// The file.
        path: String,
        /// The weight's name in the file.
        name: String,
        /// The type found.
        dtype: String,
    },
    /// A part of a model file is missing or does not make sense (`model_config`,
    /// `training_config`, `optimizer_weights`, `config.json`, …).
    #[error("'{path}': {part}: {detail}")]
    ModelFile {
        /// The file.
        path: String,
        /// The part of the file: an attribute, group or zip entry.
        part: String,
        /// What was expected and what was found.
        detail: String,
    },
    /// A `.safetensors` file without the weight order (written by another program) can only
    /// be loaded by name.
    #[error(
        "'{path}' does not record the order of its weights (it was not written by astrograd): \
         load it with load_weights_by_name"
    )]
    NoOrder {
        /// The file.
        path: String,
    },
}

impl From<WeightsError> for LayerError {
    fn from(e: WeightsError) -> LayerError {
        LayerError::Weights(Box::new(e))
    }
}

impl LayerError {
    /// The [`WeightsError`] inside, when saving or loading weights failed.
    pub fn as_weights_error(&self) -> Option<&WeightsError> {
        match self {
            LayerError::Weights(e) => Some(e),
            _ => None,
        }
    }
}

/// A weight as a file holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedWeight {
    /// Its name in the file (`dense/kernel:0`, `block1_conv1_W_1:0`).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub values: Vec<f32>,
}

/// A layer's weights as a file holds them.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedLayer {
    /// The layer's name in the file.
    pub name: String,
    /// Its weights in the file's order.
    pub weights: Vec<SavedWeight>,
}

/// How a file's weights are paired with the model's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Matching {
    /// By position among the layers with weights (Keras's default).
    Topological,
    /// By layer name (Keras's `by_name=True`).
    ByName,
}

/// The formats, from a file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Safetensors,
    KerasH5,
    Keras3WeightsH5,
}

impl Format {
    /// The format `path`'s extension names, if any.
    fn of(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".weights.h5") {
            return Some(Format::Keras3WeightsH5);
        }
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "safetensors" => Some(Format::Safetensors),
            "h5" | "hdf5" => Some(Format::KerasH5),
            _ => None,
        }
    }
}

/// [`WeightsError::UnsupportedFormat`] for `action` (`save` or `load`).
fn unsupported(action: &'static str, path: &Path) -> WeightsError {
    WeightsError::UnsupportedFormat {
        action,
        path: path.display().to_string(),
        expected: ".safetensors, .weights.h5 (Keras 3), .h5 or .hdf5 (Keras 2)",
    }
}

impl Model {
    /// `model.save_weights(path)`: writes every weight to `path`, atomically (see the
    /// [module docs](crate::weights)). The format comes from the file name: `.safetensors`,
    /// `.weights.h5` (Keras 3's layout), `.h5` / `.hdf5` (the Keras 2 layout that tf.keras
    /// 2.10's `load_weights` reads).
    ///
    /// # Errors
    /// [`WeightsError::UnsupportedFormat`] for another extension; [`WeightsError::NotBuilt`] before the model has weights;
    /// [`WeightsError::DuplicateName`] when two weights share a name; [`WeightsError::Io`]
    /// when the file cannot be written (the previous file is then left as it was).
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        match Format::of(path) {
            Some(Format::Safetensors) => safetensors::save(self, path),
            Some(Format::KerasH5) => crate::saving::legacy_h5::save_weights(self, path),
            Some(Format::Keras3WeightsH5) => crate::saving::keras3::save_weights(self, path),
            None => Err(unsupported("save", path).into()),
        }
    }

    /// `model.load_weights(path)`: sets every weight from `path`, matching layers **by
    /// position** among those with weights (Keras's default; see the [module
    /// docs](crate::weights)). `.safetensors`, a Keras 2 `.h5` file, or a Keras 3
    /// `.weights.h5` file (whose layers are always matched by position, as Keras 3 does).
    ///
    /// # Errors
    /// [`WeightsError::LayerCount`], [`WeightsError::WeightCount`] or [`WeightsError::Shape`]
    /// naming the layer and weight that do not fit; [`WeightsError::Corrupt`] for a truncated
    /// or foreign file; [`WeightsError::Io`], [`WeightsError::UnsupportedFormat`],
    /// [`WeightsError::NotBuilt`]. On error no weight has changed.
    pub fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        load(self, path.as_ref(), Matching::Topological)
    }

    /// `model.load_weights(path, by_name=True)`: as [`Model::load_weights`], matching layers
    /// (for `.safetensors`, weights) by name instead of position.
    ///
    /// # Errors
    /// As [`Model::load_weights`]; [`WeightsError::MissingLayers`] /
    /// [`WeightsError::ExtraLayers`] (`.h5`) and [`WeightsError::MissingWeights`] /
    /// [`WeightsError::ExtraWeights`] (`.safetensors`) naming what is on one side only.
    pub fn load_weights_by_name(&mut self, path: impl AsRef<Path>) -> Result<()> {
        load(self, path.as_ref(), Matching::ByName)
    }
}

fn load(model: &Model, path: &Path, matching: Matching) -> Result<()> {
    built_weights(model)?;
    let pairs = match Format::of(path) {
        Some(Format::Safetensors) => {
            let saved = safetensors::read(path)?;
            safetensors::pair(model, saved, path, matching)?
        }
        Some(Format::KerasH5) => {
            let saved = keras_h5::read(path)?;
            pair_layers(model, &saved, path, matching)?
        }
        // A Keras 3 file is matched by position, as Keras 3 reads it (it holds no names);
        // a Keras 2 file given this name is read as one.
        Some(Format::Keras3WeightsH5) => match keras_h5::read(path) {
            Ok(saved) => pair_layers(model, &saved, path, matching)?,
            Err(_) => return crate::saving::keras3::load_weights(model, path),
        },
        None => return Err(unsupported("load", path).into()),
    };
    // Every pair was checked: now change the model.
    for (var, value) in pairs {
        var.set_value(value)?;
    }
    Ok(())
}

/// The model's weights, or [`WeightsError::NotBuilt`] when it has none because it is not
/// built (a built model without weights, all pooling, is fine).
/// Gives the model the weights of a Keras file's layers, matched in order (Keras's
/// `load_weights_from_hdf5_group`); nothing changes unless every weight fits.
///
/// # Errors
/// As [`Model::load_weights`] for a `.h5` file.
pub(crate) fn assign_layers(model: &Model, saved: &[SavedLayer], path: &Path) -> Result<()> {
    built_weights(model)?;
    for (var, value) in pair_layers(model, saved, path, Matching::Topological)? {
        var.set_value(value)?;
    }
    Ok(())
}

fn built_weights(model: &Model) -> Result<Vec<Weight>> {
    let weights = model.weights();
    if weights.is_empty() && !model.is_built() {
        return Err(WeightsError::NotBuilt {
            model: model.name().to_string(),
        }
        .into());
    }
    Ok(weights)
}

/// A model weight, and the value the file has for it.
type Pair = (Var, Tensor);

/// Pairs the model's layers with a file's (see the module docs), then each layer's weights.
fn pair_layers(
    model: &Model,
    saved: &[SavedLayer],
    path: &Path,
    matching: Matching,
) -> Result<Vec<Pair>> {
    // Layers without weights (pooling, Flatten, Input) take no part, on either side.
    let layers: Vec<(String, Vec<Weight>)> = model
        .layers()
        .iter()
        .map(|l| (l.name(), l.borrow().weights()))
        .filter(|(_, w)| !w.is_empty())
        .collect();
    let saved: Vec<&SavedLayer> = saved.iter().filter(|l| !l.weights.is_empty()).collect();
    let file_layers: Vec<String> = saved.iter().map(|l| l.name.clone()).collect();
    let display = path.display().to_string();
    let matched: Vec<(&(String, Vec<Weight>), &SavedLayer)> = match matching {
        Matching::Topological => {
            if layers.len() != saved.len() {
                return Err(WeightsError::LayerCount {
                    path: display,
                    model_layers: layers.iter().map(|(n, _)| n.clone()).collect(),
                    file_layers,
                }
                .into());
            }
            layers.iter().zip(saved.iter().copied()).collect()
        }
        Matching::ByName => {
            let by_name: HashMap<&str, &SavedLayer> =
                saved.iter().map(|l| (l.name.as_str(), *l)).collect();
            let missing: Vec<String> = layers
                .iter()
                .filter(|(n, _)| !by_name.contains_key(n.as_str()))
                .map(|(n, _)| n.clone())
                .collect();
            if !missing.is_empty() {
                return Err(WeightsError::MissingLayers {
                    path: display,
                    model: model.name().to_string(),
                    missing,
                    file_layers,
                }
                .into());
            }
            let extra: Vec<String> = file_layers
                .iter()
                .filter(|f| !layers.iter().any(|(n, _)| n == *f))
                .cloned()
                .collect();
            if !extra.is_empty() {
                return Err(WeightsError::ExtraLayers {
                    path: display,
                    model: model.name().to_string(),
                    extra,
                }
                .into());
            }
            layers.iter().map(|l| (l, by_name[l.0.as_str()])).collect()
        }
    };
    let mut pairs = Vec::new();
    for ((layer, weights), file_layer) in matched {
        pairs.extend(pair_weights(layer, weights, file_layer, &display)?);
    }
    Ok(pairs)
}

/// Pairs one layer's weights with its counterpart's: by name when the file has every name
/// of the layer, by position otherwise; then checks each shape.
fn pair_weights(
    layer: &str,
    weights: &[Weight],
    file_layer: &SavedLayer,
    path: &str,
) -> Result<Vec<Pair>> {
    let count_error = || WeightsError::WeightCount {
        path: path.to_string(),
        layer: layer.to_string(),
        file_layer: file_layer.name.clone(),
        model_weights: weights.iter().map(|w| w.name.clone()).collect(),
        file_weights: file_layer.weights.iter().map(|w| w.name.clone()).collect(),
    };
    if weights.len() != file_layer.weights.len() {
        return Err(count_error().into());
    }
    let find = |name: &str| file_layer.weights.iter().find(|s| s.name == name);
    let by_name = weights.iter().all(|w| find(&w.name).is_some());
    let mut pairs = Vec::with_capacity(weights.len());
    for (i, weight) in weights.iter().enumerate() {
        let saved = if by_name {
            find(&weight.name).ok_or_else(count_error)?
        } else {
            &file_layer.weights[i]
        };
        pairs.push((
            weight.var.clone(),
            checked_value(layer, weight, saved, path)?,
        ));
    }
    Ok(pairs)
}

/// The file's value for `weight`, after checking that the shapes agree.
fn checked_value(layer: &str, weight: &Weight, saved: &SavedWeight, path: &str) -> Result<Tensor> {
    let expected = weight.var.shape();
    let shape_error = || WeightsError::Shape {
        path: path.to_string(),
        layer: layer.to_string(),
        weight: weight.name.clone(),
        file_weight: saved.name.clone(),
        expected: expected.clone(),
        found: saved.shape.clone(),
    };
    if saved.shape != expected {
        return Err(shape_error().into());
    }
    Tensor::from_vec(saved.values.clone(), &saved.shape).map_err(|_| shape_error().into())
}

/// Turns an I/O error into [`WeightsError::Io`].
fn io_error(action: &'static str, path: &Path, e: &std::io::Error) -> WeightsError {
    WeightsError::Io {
        action,
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dense, Input, Sequential};

    #[test]
    fn the_extension_chooses_the_format() {
        assert_eq!(
            Format::of(Path::new("a/b.safetensors")),
            Some(Format::Safetensors)
        );
        assert_eq!(Format::of(Path::new("w.H5")), Some(Format::KerasH5));
        assert_eq!(Format::of(Path::new("w.hdf5")), Some(Format::KerasH5));
        assert_eq!(Format::of(Path::new("w.ckpt")), None);
        assert_eq!(Format::of(Path::new("weights")), None);
        assert_eq!(
            Format::of(Path::new("m.Weights.h5")),
            Some(Format::Keras3WeightsH5)
        );
        let dir = tempfile::tempdir().unwrap();
        let model =
            Sequential::new(vec![Box::new(Input::new(&[3])), Box::new(Dense::new(2))]).unwrap();
        let err = model
            .save_weights(dir.path().join("best.ckpt"))
            .unwrap_err();
        assert!(
            matches!(
                err.as_weights_error(),
                Some(WeightsError::UnsupportedFormat { .. })
            ),
            "{err}"
        );
        assert_eq!(
            unsupported("save", Path::new("best.ckpt")).to_string(),
            "cannot save weights as 'best.ckpt': expected a name ending in .safetensors, \
             .weights.h5 (Keras 3), .h5 or .hdf5 (Keras 2)"
        );
    }

    #[test]
    fn an_unbuilt_model_has_nothing_to_save_or_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let mut model = Sequential::new(vec![Box::new(Dense::new(2))]).unwrap();
        let err = model.save_weights(&path).unwrap_err();
        assert!(
            matches!(err.as_weights_error(), Some(WeightsError::NotBuilt { .. })),
            "{err}"
        );
        assert!(model.load_weights(&path).is_err());
        assert!(!path.exists());
    }

    #[test]
    fn a_built_model_without_weights_saves_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let mut model = Sequential::new(vec![Box::new(Input::new(&[3]))]).unwrap();
        model.save_weights(&path).unwrap();
        // A safetensors file with no tensors, only the metadata.
        let saved = safetensors::read(&path).unwrap();
        assert!(saved.weights.is_empty(), "{saved:?}");
        assert_eq!(saved.order, Some(Vec::new()));
        model.load_weights(&path).unwrap();
        model.load_weights_by_name(&path).unwrap();
        assert!(model.get_weights().is_empty());
        // A model with weights cannot take it: nothing to give them.
        let mut dense =
            Sequential::new(vec![Box::new(Input::new(&[3])), Box::new(Dense::new(2))]).unwrap();
        let before = dense.get_weights();
        let err = dense.load_weights(&path).unwrap_err();
        assert!(
            matches!(
                err.as_weights_error(),
                Some(WeightsError::WeightCount { .. })
            ),
            "{err}"
        );
        assert_eq!(dense.get_weights(), before);
    }
}
