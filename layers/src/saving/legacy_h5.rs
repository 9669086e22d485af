//! Keras 2's HDF5 files, as tf.keras 2.10 (the course's version) writes and reads them:
//! `model.save_weights("w.h5")` and the whole model, `model.save("m.h5")`.
//!
//! ```text
//! m.h5                               attrs: model_config, training_config (JSON strings),
//! │                                         keras_version "2.10.0", backend "tensorflow"
//! ├── model_weights/                 the weights file's layout (w.h5 has it at the root):
//! │   │                              attrs: layer_names = ["dense", "dense_1"]
//! │   ├── dense/                     attrs: weight_names = ["dense/kernel:0", "dense/bias:0"]
//! │   │   └── dense/kernel:0, bias:0
//! │   └── top_level_model_weights/   attrs: weight_names = [] (Keras 2.10 writes it)
//! └── optimizer_weights/             attrs: weight_names = ["Adam/iter:0",
//!     └── Adam/                             "Adam/dense/kernel/m:0", "Adam/dense/bias/m:0", …,
//!         ├── iter:0  int64 ()              "Adam/dense/kernel/v:0", …]
//!         └── dense/kernel/m:0, …
//! ```
//!
//! The optimizer's weights are its step counter, then each slot for every trainable weight of
//! the model, slot by slot (all the `m`, then all the `v`), the order in which Keras creates
//! them; tf.keras reads them back by that order, and so does [`load`].
use std::path::Path;

use astrograd_autograd::Tensor;
use serde_json::Value;

use super::hdf5_tree::{Attr, Hdf5Tree};
use super::training_config::training_config_of;
use super::{model_file_error, write_file, CompileState, RunState};
use crate::config::Config;
use crate::model::Model;
use crate::weights::keras_h5;
use crate::weights::{SavedWeight, WeightsError};
use crate::Result;

/// The Keras version whose layout these files follow (tf.keras 2.10 loads them).
pub const KERAS_VERSION: &str = "2.10.0";

/// The weights of `model` in Keras's weights layout, as the root of a weights file or the
/// `model_weights` group of a model file.
///
/// # Errors
/// A model without weights yet, two weights of one layer with the same name, or a weight that
/// cannot be read back from the GPU.
pub fn weights_tree(model: &Model) -> Result<Hdf5Tree> {
    if model.weights().is_empty() && !model.is_built() {
        return Err(WeightsError::NotBuilt {
            model: model.name().to_string(),
        }
        .into());
    }
    let mut tree = Hdf5Tree::default();
    let mut layer_names = Vec::new();
    for layer in model.layers() {
        let layer = layer.borrow();
        let name = layer.name().to_string();
        let weights = layer.weights();
        let group = tree.group(&name);
        let mut names: Vec<String> = Vec::with_capacity(weights.len());
        for weight in &weights {
            if names.contains(&weight.name) {
                return Err(WeightsError::DuplicateName {
                    model: model.name().to_string(),
                    name: weight.name.clone(),
                }
                .into());
            }
            let value = weight.var.value();
            group.put_f32(&weight.name, value.shape(), &value.to_vec()?);
            names.push(weight.name.clone());
        }
        group.set_attr("weight_names", Attr::AsciiList(names));
        layer_names.push(name);
    }
    tree.group("top_level_model_weights")
        .set_attr("weight_names", Attr::AsciiList(Vec::new()));
    tree.set_attr("layer_names", Attr::AsciiList(layer_names));
    tree.set_attr("backend", Attr::Ascii("tensorflow".into()));
    tree.set_attr("keras_version", Attr::Ascii(KERAS_VERSION.into()));
    Ok(tree)
}

/// `model.save_weights("w.h5")`: the legacy weights file tf.keras 2.10's `load_weights` reads.
///
/// # Errors
/// As [`weights_tree`]; an I/O error writing the file (which is written atomically).
pub fn save_weights(model: &Model, path: &Path) -> Result<()> {
    let mut tree = weights_tree(model)?;
    tree.set_attr("backend", Attr::Utf8("tensorflow".into()));
    tree.set_attr("keras_version", Attr::Utf8(KERAS_VERSION.into()));
    write_file(path, &tree)
}

/// `model.save("m.h5")`: architecture, weights, and, when `compiled` is given, the compile
/// settings and the optimizer's state; astrograd's run state as root attributes Keras ignores.
///
/// # Errors
/// As [`weights_tree`]; a layer option or learning-rate schedule that cannot be written; an
/// I/O error (the file is written atomically).
pub fn save(
    model: &Model,
    compiled: Option<CompileState<'_>>,
    run: &RunState,
    path: &Path,
) -> Result<()> {
    let mut tree = Hdf5Tree::default();
    let model_config =
        serde_json::json!({"class_name": model.class_name(), "config": model.model_config()?});
    tree.set_attr("model_config", Attr::Ascii(model_config.to_string()));
    if let Some(compiled) = compiled {
        let training = training_config_of(compiled)?;
        tree.set_attr(
            "training_config",
            Attr::Ascii(Value::Object(training).to_string()),
        );
    }
    tree.set_attr("backend", Attr::Utf8("tensorflow".into()));
    tree.set_attr("keras_version", Attr::Utf8(KERAS_VERSION.into()));
    if let Some(state) = run.random_state {
        tree.set_attr(
            RANDOM_STATE,
            Attr::I64Array(state.iter().map(|&w| w as i64).collect()),
        );
    }
    if !run.layer_random_states.is_empty() {
        let states: serde_json::Map<String, Value> = run
            .layer_random_states
            .iter()
            .map(|(path, state)| {
                (
                    path.clone(),
                    state
                        .iter()
                        .map(|w| format!("{w:016x}"))
                        .collect::<Vec<_>>()
                        .into(),
                )
            })
            .collect();
        tree.set_attr(
            LAYER_RANDOM_STATES,
            Attr::Ascii(Value::Object(states).to_string()),
        );
    }
    if let Some(epochs) = run.epochs_done {
        tree.set_attr(EPOCHS_DONE, Attr::I64(epochs as i64));
    }
    *tree.group("model_weights") = weights_tree(model)?;
    if let Some(optimizer) = compiled
        .map(|c| optimizer_tree(model, c.optimizer))
        .transpose()?
        .flatten()
    {
        *tree.group("optimizer_weights") = optimizer;
    }
    write_file(path, &tree)
}

/// The root attribute holding astrograd's random generator state (four 64-bit words).
const RANDOM_STATE: &str = "astrograd_random_state";
/// The root attribute holding each layer's generator state (JSON: layer path → four hex words).
const LAYER_RANDOM_STATES: &str = "astrograd_layer_random_states";
/// The root attribute holding the number of epochs done (`BackupAndRestore`).
const EPOCHS_DONE: &str = "astrograd_epochs_done";

/// The `optimizer_weights` group, or `None` before the first update (as Keras writes none).
fn optimizer_tree(
    model: &Model,
    optimizer: &dyn astrograd_optim::Optimizer,
) -> Result<Option<Hdf5Tree>> {
    if optimizer.iterations() == 0 {
        return Ok(None);
    }
    let prefix = optimizer.name().to_string();
    let mut tree = Hdf5Tree::default();
    let iter_name = format!("{prefix}/iter:0");
    tree.put_i64(&iter_name, &[], &[optimizer.iterations() as i64]);
    let mut names = vec![iter_name];
    let initial = initial_slot_value(optimizer)?;
    for slot in optimizer.slot_names() {
        for weight in model.trainable_weights() {
            let name = format!("{prefix}/{}/{slot}:0", weight.name.trim_end_matches(":0"));
            let shape = weight.var.shape();
            let values = match optimizer.slot(&weight.var, slot) {
                Some(value) => value.to_vec()?,
                None => vec![initial; shape.iter().product()],
            };
            tree.put_f32(&name, &shape, &values);
            names.push(name);
        }
    }
    tree.set_attr("weight_names", Attr::AsciiList(names));
    Ok(Some(tree))
}

/// A slot's value before its parameter's first update: Adagrad's initial accumulator, else 0.
fn initial_slot_value(optimizer: &dyn astrograd_optim::Optimizer) -> Result<f32> {
    let config = optimizer.get_config()?;
    Ok(config
        .get("initial_accumulator_value")
        .and_then(Value::as_f64)
        .unwrap_or(0.0) as f32)
}

/// `keras.models.load_model("m.h5")`: the model, its weights, and (when the file has them)
/// its compile settings and optimizer state. Nothing is built before every part was checked.
///
/// # Errors
/// [`WeightsError::Corrupt`] for a file that is not HDF5 or is truncated;
/// [`WeightsError::ModelFile`] for a missing or malformed part; a layer class astrograd does
/// not have; weights or optimizer weights that do not fit the architecture.
pub fn load(path: &Path) -> Result<(Model, RunState)> {
    let bytes = std::fs::read(path).map_err(|e| WeightsError::Io {
        action: "read",
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    let file_len = bytes.len();
    let file = keras_h5::open(bytes, path)?;
    let root = file
        .root_group()
        .map_err(|e| keras_h5::corrupt(path, e.to_string()))?;
    let attribute = |name: &str| -> Result<Option<String>> {
        let attributes = root
            .attributes()
            .map_err(|e| keras_h5::corrupt(path, e.to_string()))?;
        match attributes.iter().find(|a| a.name == name) {
            None => Ok(None),
            Some(a) => a
                .read_string()
                .map(Some)
                .map_err(|e| model_file_error(path, name, e.to_string())),
        }
    };
    let model_config = attribute("model_config")?.ok_or_else(|| {
        model_file_error(
            path,
            "model_config",
            "no model_config attribute: this is a weights file (load it with load_weights on a \
             model you build), not a whole model"
                .into(),
        )
    })?;
    let model_config = parse_json(path, "model_config", &model_config)?;
    let mut model = model_from_json(path, &model_config)?;
    if let Some(version) = attribute("keras_version")? {
        check_keras_version(path, &version)?;
    }
    let layers = keras_h5::read_layers(&file, file_len, path)?;
    crate::weights::assign_layers(&model, &layers, path)?;
    if let Some(training) = attribute("training_config")? {
        let training = parse_json(path, "training_config", &training)?;
        model
            .compile_from_training_config(&training)
            .map_err(|e| model_file_error(path, "training_config", e.to_string()))?;
        if let Ok(group) = root.group("optimizer_weights") {
            let names =
                keras_h5::string_list(&group, "weight_names", &|d| keras_h5::corrupt(path, d))?
                    .unwrap_or_default();
            let mut weights = Vec::with_capacity(names.len());
            let mut iterations = None;
            for name in &names {
                if name.ends_with("/iter:0") {
                    let part = format!("optimizer_weights/{name}");
                    iterations = Some(read_step_count(&group, name, path, &part)?);
                } else {
                    weights.push(keras_h5::read_weight(
                        &group,
                        "optimizer_weights",
                        name,
                        file_len,
                        path,
                    )?);
                }
            }
            restore_optimizer(&mut model, iterations.unwrap_or(0), &weights, path)?;
        }
    }
    let words = |name: &str| -> Option<Vec<i64>> {
        let attributes = root.attributes().ok()?;
        let attribute = attributes.into_iter().find(|a| a.name == name)?;
        attribute.read_1d::<i64>().ok()
    };
    let layer_states = attribute(LAYER_RANDOM_STATES)?
        .map(|text| parse_json(path, LAYER_RANDOM_STATES, &text))
        .transpose()?
        .map(|json| super::parse_layer_states(&Value::Object(json)))
        .unwrap_or_default();
    let run = RunState {
        layer_random_states: layer_states,
        random_state: words(RANDOM_STATE)
            .filter(|w| w.len() == 4)
            .map(|w| [w[0] as u64, w[1] as u64, w[2] as u64, w[3] as u64]),
        epochs_done: words(EPOCHS_DONE)
            .and_then(|w| w.first().copied())
            .and_then(|e| usize::try_from(e).ok()),
    };
    Ok((model, run))
}

/// The JSON of an attribute, or an error naming it.
pub(crate) fn parse_json(path: &Path, part: &str, text: &str) -> Result<Config> {
    serde_json::from_str(text)
        .map_err(|e| model_file_error(path, part, format!("not valid JSON: {e}")))
}

/// The model of a `{"class_name": …, "config": …}` JSON.
pub(crate) fn model_from_json(path: &Path, json: &Config) -> Result<Model> {
    let class_name = json.get("class_name").and_then(Value::as_str);
    let config = json.get("config").and_then(Value::as_object);
    let (Some(class_name), Some(config)) = (class_name, config) else {
        return Err(model_file_error(
            path,
            "model_config",
            "expected {\"class_name\": …, \"config\": {…}}".into(),
        ));
    };
    super::model_config::model_from_config(class_name, config)
        .map_err(|e| model_file_error(path, "model_config", e.to_string()))
}

/// Files from Keras 1 (or an unknown future Keras) are refused: their layouts differ.
fn check_keras_version(path: &Path, version: &str) -> Result<()> {
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(2) => Ok(()),
        _ => Err(model_file_error(
            path,
            "keras_version",
            format!(
                "expected a file written by Keras 2 (tf.keras), found keras_version {version:?}"
            ),
        )),
    }
}

/// An optimizer's step counter (`Adam/iter:0`, int64 in Keras 2; `optimizer/vars/0`, int32 in
/// Keras 3): one whole number ≥ 0 at `name` under `group`.
pub(crate) fn read_step_count(
    group: &hdf5_reader::group::Group,
    name: &str,
    path: &Path,
    part: &str,
) -> Result<u64> {
    let bad = |detail: String| model_file_error(path, part, detail);
    let (dirs, leaf) = name.rsplit_once('/').unwrap_or(("", name));
    let mut parent = group.clone();
    for dir in dirs.split('/').filter(|d| !d.is_empty()) {
        parent = parent.group(dir).map_err(|e| bad(e.to_string()))?;
    }
    let dataset = parent.dataset(leaf).map_err(|e| bad(e.to_string()))?;
    if dataset.shape().iter().product::<u64>() != 1 {
        return Err(bad(format!(
            "expected one integer, found shape {:?}",
            dataset.shape()
        )));
    }
    let value = match dataset.dtype() {
        hdf5_reader::Datatype::FixedPoint {
            size: 4,
            signed: true,
            ..
        } => {
            let mut value = [0i32; 1];
            dataset
                .read_into(&mut value)
                .map_err(|e| bad(e.to_string()))?;
            i64::from(value[0])
        }
        hdf5_reader::Datatype::FixedPoint {
            size: 8,
            signed: true,
            ..
        } => {
            let mut value = [0i64; 1];
            dataset
                .read_into(&mut value)
                .map_err(|e| bad(e.to_string()))?;
            value[0]
        }
        other => return Err(bad(format!("expected a signed integer, found {other:?}"))),
    };
    u64::try_from(value).map_err(|_| bad(format!("a negative step count {value}")))
}

/// Gives the compiled optimizer its step count and slots, in Keras's order: each slot for
/// every trainable weight, slot by slot.
pub(crate) fn restore_optimizer(
    model: &mut Model,
    iterations: u64,
    values: &[SavedWeight],
    path: &Path,
) -> Result<()> {
    let trainable = model.trainable_weights();
    let optimizer = model.optimizer_mut().ok_or_else(|| {
        model_file_error(
            path,
            "optimizer_weights",
            "optimizer weights without a training_config".into(),
        )
    })?;
    let slots = optimizer.slot_names();
    let expected = slots.len() * trainable.len();
    if values.len() != expected {
        return Err(model_file_error(
            path,
            "optimizer_weights",
            format!(
                "{} has the slots {slots:?} for each of the model's {} trainable weights, {expected} \
                 values; the file has {}",
                optimizer.name(),
                trainable.len(),
                values.len()
            ),
        ));
    }
    // Check every shape first, so that a bad file leaves the optimizer as it was.
    let mut pairs = Vec::with_capacity(expected);
    for (i, saved) in values.iter().enumerate() {
        let (slot, weight) = (slots[i / trainable.len()], &trainable[i % trainable.len()]);
        if saved.shape != weight.var.shape() {
            return Err(model_file_error(
                path,
                "optimizer_weights",
                format!(
                    "{} (slot {slot:?} of {}) has shape {:?}, the weight has {:?}",
                    saved.name,
                    weight.name,
                    saved.shape,
                    weight.var.shape()
                ),
            ));
        }
        pairs.push((
            slot,
            weight.var.clone(),
            Tensor::from_vec(saved.values.clone(), &saved.shape)?,
        ));
    }
    for (slot, var, value) in pairs {
        optimizer.set_slot(&var, slot, value)?;
    }
    optimizer.set_iterations(iterations);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keras_2_files_are_read_as_keras_2() {
        let path = Path::new("m.h5");
        assert!(check_keras_version(path, "2.10.0").is_ok());
        assert!(check_keras_version(path, "2.4.3").is_ok());
        for version in ["1.2.2", "3.1.0", "unknown"] {
            let err = check_keras_version(path, version).unwrap_err().to_string();
            assert!(
                err.contains(version) && err.contains("m.h5") && err.contains("keras_version"),
                "{err}"
            );
        }
    }
}
