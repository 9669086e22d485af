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
//! astrograd also records in its files the random generator's state (Keras ignores it):
//! [`resume_from`] restores it, so that a run continued from a checkpoint ends on the weights
//! of the run that never stopped, bit for bit, shuffling and dropout included.
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

use astrograd_optim::Optimizer;

use crate::model::Model;
use crate::training::{Loss, Metric};
use crate::weights::WeightsError;
use crate::{LayerError, Result};
use hdf5_tree::Hdf5Tree;

/// What a model file keeps of `compile`: the loss, the metrics, and the optimizer with its
/// slots. `fit` holds these apart from the model while it trains, so a checkpoint written
/// from a callback passes them in.
#[derive(Clone, Copy)]
pub struct CompileState<'a> {
    /// The compiled loss.
    pub loss: Loss,
    /// The compiled metrics.
    pub metrics: &'a [Metric],
    /// The optimizer, with its slots and step count.
    pub optimizer: &'a dyn Optimizer,
}

impl Model {
    /// The compile settings and optimizer of a compiled model.
    pub fn compile_state(&self) -> Option<CompileState<'_>> {
        self.compiled.as_ref().map(|c| CompileState {
            loss: c.loss,
            metrics: &c.metrics,
            optimizer: c.optimizer.as_ref(),
        })
    }
}

/// What astrograd adds to its own model files, which Keras ignores: the random generators'
/// states, so that [`resume_from`] continues a run's shuffling and dropout where it stopped,
/// and the number of epochs done (for `BackupAndRestore`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunState {
    /// [`astrograd_tensor::random::global_state`] when the file was written.
    pub random_state: Option<[u64; 4]>,
    /// The state of each layer's own generator (Dropout), by the layer's position in
    /// `model.layers()` (`"2"`, or `"0/3"` inside a nested model), so that a model built again
    /// by the same code, whose automatic names differ, finds them.
    pub layer_random_states: Vec<(String, [u64; 4])>,
    /// Epochs finished when the file was written.
    pub epochs_done: Option<usize>,
}

impl RunState {
    /// The generators' states now.
    pub fn now(model: &Model) -> RunState {
        let mut layer_random_states = Vec::new();
        collect_layer_states(model, "", &mut layer_random_states);
        RunState {
            random_state: Some(astrograd_tensor::random::global_state()),
            layer_random_states,
            epochs_done: None,
        }
    }

    /// Puts the global generator and each layer's generator back in the recorded states.
    pub fn restore(&self, model: &Model) {
        if let Some(state) = self.random_state {
            astrograd_tensor::random::set_global_state(state);
        }
        for (path, state) in &self.layer_random_states {
            if let Some(layer) = find_layer(model, path) {
                layer.borrow_mut().set_random_state(*state);
            }
        }
    }
}

/// `{"dropout": ["…16 hex digits…", ×4], …}` → (layer path, state) pairs; malformed entries
/// are left out (the run then draws differently, as with a file Keras wrote).
pub(crate) fn parse_layer_states(json: &serde_json::Value) -> Vec<(String, [u64; 4])> {
    let Some(map) = json.as_object() else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(path, words)| {
            let words: Vec<u64> = words
                .as_array()?
                .iter()
                .filter_map(|w| u64::from_str_radix(w.as_str()?, 16).ok())
                .collect();
            let state: [u64; 4] = words.try_into().ok()?;
            Some((path.clone(), state))
        })
        .collect()
}

fn collect_layer_states(model: &Model, prefix: &str, out: &mut Vec<(String, [u64; 4])>) {
    for (index, layer) in model.layers().iter().enumerate() {
        let layer = layer.borrow();
        let path = format!("{prefix}{index}");
        if let Some(state) = layer.random_state() {
            out.push((path.clone(), state));
        }
        if let Some(inner) = layer.as_any_model() {
            collect_layer_states(inner, &format!("{path}/"), out);
        }
    }
}

/// The layer at a path of positions (`"2"`, or `"0/3"` inside a nested model).
fn find_layer(model: &Model, path: &str) -> Option<crate::SharedLayer> {
    let (first, rest) = match path.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (path, None),
    };
    let layer = model.layers().get(first.parse::<usize>().ok()?)?.clone();
    match rest {
        None => Some(layer),
        Some(rest) => {
            let inner = layer.borrow();
            find_layer(inner.as_any_model()?, rest)
        }
    }
}

/// Writes a whole model (architecture, weights, `compile` and optimizer state when given, and
/// the run state) in the format of the file name.
///
/// # Errors
/// As [`Model::save`].
pub fn save_with(
    model: &Model,
    compiled: Option<CompileState<'_>>,
    run: &RunState,
    path: &Path,
) -> Result<()> {
    match ModelFormat::of(path) {
        Some(ModelFormat::Keras) => keras3::save(model, compiled, run, path),
        Some(ModelFormat::LegacyH5) => legacy_h5::save(model, compiled, run, path),
        None => Err(unsupported("save a model", path)),
    }
}

/// [`load_model`] for continuing a training run: also puts the random generator back in the
/// state the file recorded (astrograd's files do), so that `fit(initial_epoch = …)` shuffles
/// and drops out as the run that never stopped, and ends on its weights bit for bit.
///
/// # Errors
/// As [`load_model`].
pub fn resume_from(path: impl AsRef<Path>) -> Result<Model> {
    let path = path.as_ref();
    let (model, run) = load_with_run_state(path)?;
    run.restore(&model);
    Ok(model)
}

/// A model file's model and astrograd's run state (empty for files Keras wrote).
///
/// # Errors
/// As [`load_model`].
pub fn load_with_run_state(path: &Path) -> Result<(Model, RunState)> {
    match ModelFormat::of(path) {
        Some(ModelFormat::Keras) => keras3::load(path),
        Some(ModelFormat::LegacyH5) => legacy_h5::load(path),
        None => Err(unsupported("load a model", path)),
    }
}

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
        save_with(
            self,
            self.compile_state(),
            &RunState::now(self),
            path.as_ref(),
        )
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
    load_with_run_state(path.as_ref()).map(|(model, _)| model)
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
