//! Keras 3's files: the `.keras` zip (`model.save("m.keras")`) and the `.weights.h5` weights
//! file, read and written as Keras 3.15 writes them.
//!
//! ```text
//! m.keras (a zip, entries stored)
//! ├── metadata.json      {"keras_version": "3.15.1", "date_saved": "…"}
//! ├── config.json        {"module": "keras", "class_name": "Sequential", "config": {…},
//! │                       "build_config": {…}, "compile_config": {…}}
//! └── model.weights.h5   layers/dense/vars/0, 1            (kernel, bias)
//!                        layers/batch_normalization/vars/0…3
//!                        optimizer/vars/0 iteration (int32), 1 learning rate,
//!                                       2… the slots
//!                        vars/                             (the model's own: none)
//! ```
//!
//! Three differences from Keras 2 matter here:
//! - **Configs** wrap each layer, initializer and dtype in `{"module", "class_name", "config",
//!   "registered_name"}`, add a `build_config` (the input shape), name the input shape
//!   `batch_shape`, and describe a functional graph's edges as `keras_history` entries.
//!   [`to_keras3`] and [`from_keras3`] translate between the two forms; everything else in
//!   astrograd reads and writes the Keras 2 form.
//! - **Weights** are found by position, not name: a layer's group is its class name in snake
//!   case, numbered when repeated (`dense`, `dense_1`), whatever the layer's own name.
//! - **Optimizer slots** are kept per variable for Adam (`m`, `v` of the first weight, then of
//!   the second, …), but slot by slot for RMSprop, as Keras 3 creates them.
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

use astrograd_autograd::Tensor;
use hdf5_reader::group::Group;
use serde_json::{json, Value};

use super::hdf5_tree::{Attr, Hdf5Tree};
use super::training_config::training_config_of;
use super::{model_file_error, write_bytes, write_file, CompileState, RunState};
use crate::config::Config;
use crate::layer::{Layer, SharedLayer};
use crate::model::Model;
use crate::weights::{keras_h5, SavedWeight, WeightsError};
use crate::Result;

/// The Keras version whose `.keras` layout this module writes.
pub const KERAS_VERSION: &str = "3.15.1";

/// The largest zip entry read (a `config.json` or weights file larger than this is refused
/// before it is unpacked).
const MAX_ENTRY_BYTES: u64 = 4 << 30;

// ---------------------------------------------------------------------------------------
// Configs: Keras 2 form ↔ Keras 3 form
// ---------------------------------------------------------------------------------------

/// Keras's `to_snake_case`: `"Conv2D"` → `"conv2d"`, `"ReLU"` → `"re_lu"`,
/// `"BatchNormalization"` → `"batch_normalization"`.
pub fn to_snake_case(name: &str) -> String {
    let chars: Vec<char> = name
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    // 1. "(.)([A-Z][a-z]+)" → "\1_\2": an underscore before a capital followed by lowercase.
    let mut first = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let starts_word =
            c.is_ascii_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
        if i > 0 && starts_word {
            first.push('_');
        }
        first.push(c);
    }
    // 2. "([a-z])([A-Z])" → "\1_\2", then lowercase.
    let chars: Vec<char> = first.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if i > 0 && c.is_ascii_uppercase() && chars[i - 1].is_ascii_lowercase() {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// `{"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, …}`.
fn dtype_policy() -> Value {
    json!({"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null})
}

/// One layer's Keras 2 config in Keras 3's form (without the entry around it).
fn layer_config_to_keras3(class_name: &str, config: &Config) -> Config {
    let mut out = Config::new();
    for (key, value) in config {
        match key.as_str() {
            "dtype" if class_name != "InputLayer" => {
                out.insert(key.clone(), dtype_policy());
            }
            "batch_input_shape" if class_name == "InputLayer" => {
                out.insert("batch_shape".into(), value.clone());
            }
            // Keras 3 builds the first layer from the model's input instead.
            "batch_input_shape" => {}
            // Keras 3's BatchNormalization takes one axis, as an integer.
            "axis" if class_name == "BatchNormalization" => {
                out.insert(key.clone(), json!(-1));
            }
            // Keras 3's DepthwiseConv2D has no `groups`.
            "groups" if class_name == "DepthwiseConv2D" => {}
            _ if key.ends_with("_initializer") && value.is_object() => {
                let mut init = value.as_object().cloned().unwrap_or_default();
                let mut wrapped = Config::new();
                wrapped.insert("module".into(), "keras.initializers".into());
                wrapped.insert(
                    "class_name".into(),
                    init.remove("class_name").unwrap_or(Value::Null),
                );
                wrapped.insert("config".into(), init.remove("config").unwrap_or(json!({})));
                wrapped.insert("registered_name".into(), Value::Null);
                out.insert(key.clone(), wrapped.into());
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if class_name == "InputLayer" {
        out.insert("optional".into(), false.into());
    }
    out
}

/// A model's Keras 2 config (from [`Model::model_config`]) in Keras 3's form, with the
/// `build_config` of each layer from the shapes it was built for.
///
/// # Errors
/// A layer option that was never valid.
pub fn to_keras3(model: &Model) -> Result<Value> {
    let config = model.model_config()?;
    let mut out = Config::new();
    out.insert("name".into(), model.name().into());
    out.insert("trainable".into(), model.trainable().into());
    if model.is_sequential() {
        out.insert("dtype".into(), dtype_policy());
    }
    let entries = config
        .get("layers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let input_shapes = layer_input_shapes(model);
    let output_shapes = shapes_by_layer(model);
    let mut layers = Vec::new();
    for entry in &entries {
        let class_name = entry["class_name"].as_str().unwrap_or_default();
        let name = entry["config"]["name"].as_str().unwrap_or_default();
        let layer = model.layers().iter().find(|l| l.name() == name).cloned();
        // A nested model (a pretrained base) is written whole, in Keras 3's form too.
        let nested = match &layer {
            Some(layer) => layer.borrow().as_any_model().map(to_keras3).transpose()?,
            None => None,
        };
        let inner = match nested {
            Some(nested) => nested,
            None => {
                let inner_config = entry["config"].as_object().cloned().unwrap_or_default();
                json!({"module": "keras.layers", "class_name": class_name,
                       "config": layer_config_to_keras3(class_name, &inner_config),
                       "registered_name": null})
            }
        };
        let mut inner = inner.as_object().cloned().unwrap_or_default();
        if let Some(shape) = input_shapes.get(name) {
            inner.insert("build_config".into(), json!({"input_shape": shape}));
        }
        if let Some(nodes) = entry.get("inbound_nodes").and_then(Value::as_array) {
            inner.insert("name".into(), name.into());
            inner.insert(
                "inbound_nodes".into(),
                inbound_nodes_to_keras3(nodes, &output_shapes),
            );
        }
        layers.push(Value::Object(inner));
    }
    out.insert("layers".into(), layers.into());
    for key in ["input_layers", "output_layers"] {
        if let Some(Value::Array(ends)) = config.get(key) {
            // One input and one output: Keras 3 writes the entry itself.
            out.insert(key.into(), ends.first().cloned().unwrap_or(Value::Null));
        }
    }
    let input_shape = model.input_shape().map(|s| crate::config::shape_json(&s));
    if model.is_sequential() {
        if let Some(shape) = &input_shape {
            out.insert("build_input_shape".into(), shape.clone());
        }
    }
    // Keras 3 names the functional class by its module and registers it by name.
    let (module, registered) = if model.is_sequential() {
        ("keras", Value::Null)
    } else {
        ("keras.src.models.functional", Value::from("Functional"))
    };
    let mut entry = json!({"module": module, "class_name": model.class_name(), "config": out, "registered_name": registered});
    if let Some(shape) = input_shape {
        entry["build_config"] = json!({"input_shape": shape});
    }
    Ok(entry)
}

/// The shape each layer of `model` was built for, by layer name (a list of shapes for `Add`).
fn layer_input_shapes(model: &Model) -> HashMap<String, Value> {
    let mut shapes = HashMap::new();
    if model.is_sequential() {
        let mut current = model.input_shape();
        for layer in model.layers() {
            let layer = layer.borrow();
            if let Some(shape) = &current {
                shapes.insert(layer.name().to_string(), crate::config::shape_json(shape));
            }
            current = layer.base().output_shapes.first().cloned();
        }
    } else {
        for node in model.graph_nodes() {
            let inputs = &node.node().inputs;
            let value = match inputs.as_slice() {
                [] => continue,
                [one] => crate::config::shape_json(one.shape()),
                many => Value::Array(
                    many.iter()
                        .map(|x| crate::config::shape_json(x.shape()))
                        .collect(),
                ),
            };
            shapes.entry(node.layer().name()).or_insert(value);
        }
    }
    shapes
}

/// The output shape of each layer's first node, by name (for `keras_history` entries).
fn shapes_by_layer(model: &Model) -> HashMap<String, Value> {
    model
        .graph_nodes()
        .iter()
        .map(|n| (n.layer().name(), crate::config::shape_json(n.shape())))
        .collect()
}

/// Keras 2's `[[["dense", 0, 0, {}]]]` as Keras 3's `[{"args": [tensor], "kwargs": {}}]`, a
/// list of tensors for a layer called on several (`Add`).
fn inbound_nodes_to_keras3(nodes: &[Value], shapes: &HashMap<String, Value>) -> Value {
    let tensor = |input: &Value| {
        let name = input[0].as_str().unwrap_or_default();
        json!({"class_name": "__keras_tensor__", "config": {
            "shape": shapes.get(name).cloned().unwrap_or(Value::Null),
            "dtype": "float32",
            "keras_history": [name, input[1], input[2]]}})
    };
    let converted: Vec<Value> = nodes
        .iter()
        .map(|node| {
            let inputs = node.as_array().cloned().unwrap_or_default();
            let args = match inputs.as_slice() {
                [one] => json!([tensor(one)]),
                many => json!([many.iter().map(tensor).collect::<Vec<_>>()]),
            };
            json!({"args": args, "kwargs": {}})
        })
        .collect();
    converted.into()
}

/// A Keras 3 model config (`{"module", "class_name", "config", …}`) in the Keras 2 form that
/// [`super::model_from_config`] reads: `inbound_nodes` rewritten as Keras 2's lists. Layer
/// configs need no change: the readers accept both forms.
///
/// # Errors
/// An inbound node in neither form.
pub fn from_keras3(entry: &Value) -> std::result::Result<(String, Config), String> {
    let class_name = entry
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or("no class_name")?;
    let mut config = entry
        .get("config")
        .and_then(Value::as_object)
        .cloned()
        .ok_or("no config")?;
    if let Some(Value::Array(layers)) = config.get_mut("layers") {
        for layer in layers.iter_mut() {
            let is_model = matches!(
                layer.get("class_name").and_then(Value::as_str),
                Some("Sequential" | "Functional" | "Model")
            );
            if is_model {
                let (_, nested) = from_keras3(layer)?;
                layer["config"] = Value::Object(nested);
            }
            if let Some(Value::Array(nodes)) = layer.get("inbound_nodes").cloned() {
                let converted = nodes
                    .iter()
                    .map(inbound_node_from_keras3)
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                layer["inbound_nodes"] = converted.into();
            }
        }
    }
    Ok((class_name.to_string(), config))
}

/// One Keras 3 node `{"args": [...], "kwargs": {}}` as Keras 2's `[["name", node, tensor, {}], …]`;
/// a Keras 2 node is returned as it is.
fn inbound_node_from_keras3(node: &Value) -> std::result::Result<Value, String> {
    let Some(args) = node.get("args").and_then(Value::as_array) else {
        return Ok(node.clone());
    };
    let mut inputs = Vec::new();
    let mut collect = |tensor: &Value| -> std::result::Result<(), String> {
        let history = tensor
            .pointer("/config/keras_history")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("an inbound node argument without keras_history: {tensor}"))?;
        inputs.push(json!([history.first(), history.get(1), history.get(2), {}]));
        Ok(())
    };
    for arg in args {
        match arg {
            Value::Array(tensors) => tensors.iter().try_for_each(&mut collect)?,
            tensor => collect(tensor)?,
        }
    }
    Ok(inputs.into())
}

// ---------------------------------------------------------------------------------------
// Weights: layers/<snake_case>/vars/<i>
// ---------------------------------------------------------------------------------------

/// The Keras 3 group name of each layer of a list: its class in snake case, numbered from the
/// second of a class on (`dense`, `dense_1`).
fn layer_keys(layers: &[SharedLayer]) -> Vec<String> {
    let mut used: HashMap<String, usize> = HashMap::new();
    layers
        .iter()
        .map(|layer| {
            let base = to_snake_case(layer.borrow().class_name());
            let count = used.entry(base.clone()).or_insert(0);
            let key = if *count == 0 {
                base.clone()
            } else {
                format!("{base}_{count}")
            };
            *count += 1;
            key
        })
        .collect()
}

/// The layers of a model as Keras 3 lists them: a `Sequential` without its input, a functional
/// model with it (our `Model::layers` already does both).
fn write_layer(layer: &dyn Layer, tree: &mut Hdf5Tree) -> Result<()> {
    let vars = tree.group("vars");
    vars.set_attr("name", Attr::Ascii(layer.name().into()));
    match layer.as_any_model() {
        Some(model) => {
            let group = tree.group("layers");
            for (key, inner) in layer_keys(model.layers()).iter().zip(model.layers()) {
                write_layer(inner.borrow().as_ref(), group.group(key))?;
            }
        }
        None => {
            for (i, weight) in layer.weights().iter().enumerate() {
                let value = weight.var.value();
                vars.put_f32(&i.to_string(), value.shape(), &value.to_vec()?);
            }
        }
    }
    Ok(())
}

/// The slots of a Keras 3 optimizer, in the order of its variables: blocks of slots, each
/// block taken weight by weight (Adam: `[m, v]` for each weight, then `[vhat]` for each).
fn slot_blocks(optimizer: &str, slots: &[&'static str]) -> Vec<Vec<&'static str>> {
    match optimizer {
        "Adam" | "AdamW" => {
            let mut blocks = vec![slots
                .iter()
                .copied()
                .filter(|s| *s != "vhat")
                .collect::<Vec<_>>()];
            if slots.contains(&"vhat") {
                blocks.push(vec!["vhat"]);
            }
            blocks
        }
        _ => slots.iter().map(|s| vec![*s]).collect(),
    }
}

/// The whole weights file of a model: layers, optimizer (when compiled), the model's own vars.
fn weights_tree(model: &Model, compiled: Option<CompileState<'_>>) -> Result<Hdf5Tree> {
    let mut tree = Hdf5Tree::default();
    let layers = tree.group("layers");
    for (key, layer) in layer_keys(model.layers()).iter().zip(model.layers()) {
        write_layer(layer.borrow().as_ref(), layers.group(key))?;
    }
    if let Some(optimizer) = compiled.map(|c| c.optimizer) {
        let vars = tree.group("optimizer/vars");
        vars.set_attr("name", Attr::Ascii(to_snake_case(optimizer.name())));
        let iterations = i32::try_from(optimizer.iterations()).unwrap_or(i32::MAX);
        vars.put_i32("0", &[], &[iterations]);
        vars.put_f32("1", &[], &[optimizer.learning_rate()]);
        if optimizer.iterations() > 0 {
            let mut index = 2;
            let trainable = model.trainable_weights();
            for block in slot_blocks(optimizer.name(), &optimizer.slot_names()) {
                for weight in &trainable {
                    for slot in &block {
                        let shape = weight.var.shape();
                        let values = match optimizer.slot(&weight.var, slot) {
                            Some(v) => v.to_vec()?,
                            None => vec![0.0; shape.iter().product()],
                        };
                        vars.put_f32(&index.to_string(), &shape, &values);
                        index += 1;
                    }
                }
            }
        }
    }
    tree.group("vars")
        .set_attr("name", Attr::Ascii(model.name().into()));
    Ok(tree)
}

/// `model.save_weights("m.weights.h5")` in Keras 3's layout.
///
/// # Errors
/// A weight that cannot be read back from the GPU; an I/O error (written atomically).
pub fn save_weights(model: &Model, path: &Path) -> Result<()> {
    write_file(path, &weights_tree(model, model.compile_state())?)
}

/// Reads the weights of `layer` from its group, checking counts and shapes; returns the
/// (variable, value) pairs to assign.
fn read_layer(
    layer: &dyn Layer,
    group: &Group,
    at: &str,
    path: &Path,
    file_len: usize,
    out: &mut Vec<(astrograd_autograd::Var, Tensor)>,
) -> Result<()> {
    match layer.as_any_model() {
        Some(model) => {
            let layers = group
                .group("layers")
                .map_err(|e| model_file_error(path, &format!("{at}/layers"), e.to_string()))?;
            for (key, inner) in layer_keys(model.layers()).iter().zip(model.layers()) {
                let sub = layers.group(key).map_err(|_| {
                    model_file_error(
                        path,
                        &format!("{at}/layers/{key}"),
                        format!("no group for layer \"{}\"", inner.name()),
                    )
                })?;
                read_layer(
                    inner.borrow().as_ref(),
                    &sub,
                    &format!("{at}/layers/{key}"),
                    path,
                    file_len,
                    out,
                )?;
            }
        }
        None => {
            let weights = layer.weights();
            let stored = match group.group("vars") {
                Ok(vars) => vars
                    .member_names()
                    .map(|(_, datasets)| datasets.len())
                    .unwrap_or(0),
                Err(_) => 0,
            };
            if stored != weights.len() {
                return Err(model_file_error(
                    path,
                    &format!("{at}/vars"),
                    format!(
                        "layer \"{}\" has {} weights, the file has {stored}",
                        layer.name(),
                        weights.len()
                    ),
                ));
            }
            for (i, weight) in weights.iter().enumerate() {
                let saved = keras_h5::read_weight(
                    group,
                    layer.name(),
                    &format!("vars/{i}"),
                    file_len,
                    path,
                )?;
                let shape = weight.var.shape();
                if saved.shape != shape {
                    return Err(WeightsError::Shape {
                        path: path.display().to_string(),
                        layer: layer.name().to_string(),
                        weight: weight.name.clone(),
                        file_weight: format!("{at}/vars/{i}"),
                        expected: shape,
                        found: saved.shape,
                    }
                    .into());
                }
                out.push((
                    weight.var.clone(),
                    Tensor::from_vec(saved.values, &saved.shape)?,
                ));
            }
        }
    }
    Ok(())
}

/// Assigns the weights of a Keras 3 weights file to `model` and, when asked and the model is
/// compiled, returns the optimizer state to restore. Nothing changes unless every weight (and
/// optimizer variable) fits.
fn read_weights(
    model: &Model,
    bytes: Vec<u8>,
    path: &Path,
    with_optimizer: bool,
) -> Result<Option<(u64, SlotValues)>> {
    let file_len = bytes.len();
    let file = keras_h5::open(bytes, path)?;
    let root = file
        .root_group()
        .map_err(|e| keras_h5::corrupt(path, e.to_string()))?;
    let layers = root.group("layers").map_err(|_| {
        model_file_error(
            path,
            "layers",
            "no /layers group: not a Keras 3 weights file".into(),
        )
    })?;
    let mut pairs = Vec::new();
    for (key, layer) in layer_keys(model.layers()).iter().zip(model.layers()) {
        let group = layers.group(key).map_err(|_| {
            model_file_error(
                path,
                &format!("layers/{key}"),
                format!("no group for layer \"{}\"", layer.name()),
            )
        })?;
        read_layer(
            layer.borrow().as_ref(),
            &group,
            &format!("layers/{key}"),
            path,
            file_len,
            &mut pairs,
        )?;
    }
    let optimizer_state = if with_optimizer && model.is_compiled() {
        read_optimizer(model, &root, path, file_len)?
    } else {
        None
    };
    for (var, value) in pairs {
        var.set_value(value)?;
    }
    Ok(optimizer_state)
}

/// Gives the compiled optimizer its restored step count and slots.
fn restore_optimizer(model: &mut Model, (iterations, saved): (u64, SlotValues)) -> Result<()> {
    let trainable = model.trainable_weights();
    // The state is read only for a compiled model, so there is an optimizer to give it to.
    if let Some(optimizer) = model.optimizer_mut() {
        for (slot, index, value) in saved {
            optimizer.set_slot(&trainable[index].var, slot, value)?;
        }
        optimizer.set_iterations(iterations);
    }
    Ok(())
}

type SlotValues = Vec<(&'static str, usize, Tensor)>;

/// The optimizer's step count and slots from `optimizer/vars`, checked against the model.
fn read_optimizer(
    model: &Model,
    root: &Group,
    path: &Path,
    file_len: usize,
) -> Result<Option<(u64, SlotValues)>> {
    let Ok(vars) = root.group("optimizer").and_then(|g| g.group("vars")) else {
        return Ok(None);
    };
    let Some(optimizer) = model.optimizer() else {
        return Ok(None);
    };
    let count = vars.member_names().map(|(_, d)| d.len()).unwrap_or(0);
    let bad = |detail: String| model_file_error(path, "optimizer/vars", detail);
    let iterations = super::legacy_h5::read_step_count(&vars, "0", path, "optimizer/vars/0")?;
    let trainable = model.trainable_weights();
    let blocks = slot_blocks(optimizer.name(), &optimizer.slot_names());
    let slots: usize = blocks.iter().map(Vec::len).sum();
    if count <= 2 {
        return Ok(Some((iterations, Vec::new())));
    }
    if count != 2 + slots * trainable.len() {
        return Err(bad(format!(
            "{} has {slots} slots for each of the model's {} trainable weights ({} variables with the step \
             count and learning rate); the file has {count}",
            optimizer.name(),
            trainable.len(),
            2 + slots * trainable.len()
        )));
    }
    let mut values = Vec::new();
    let mut index = 2;
    for block in &blocks {
        for (w, weight) in trainable.iter().enumerate() {
            for slot in block {
                let saved: SavedWeight =
                    keras_h5::read_weight(&vars, "optimizer", &index.to_string(), file_len, path)?;
                if saved.shape != weight.var.shape() {
                    return Err(bad(format!(
                        "variable {index} (slot {slot:?} of {}) has shape {:?}, the weight has {:?}",
                        weight.name,
                        saved.shape,
                        weight.var.shape()
                    )));
                }
                values.push((*slot, w, Tensor::from_vec(saved.values, &saved.shape)?));
                index += 1;
            }
        }
    }
    Ok(Some((iterations, values)))
}

/// `model.load_weights("m.weights.h5")` from Keras 3's layout.
///
/// # Errors
/// A file that is not a Keras 3 weights file; a layer or weight count or shape that does not
/// match the model (the model is then left unchanged).
pub fn load_weights(model: &Model, path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| WeightsError::Io {
        action: "read",
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    read_weights(model, bytes, path, false).map(|_| ())
}

// ---------------------------------------------------------------------------------------
// The .keras zip
// ---------------------------------------------------------------------------------------

/// The compile settings in Keras 3's `compile_config`.
fn compile_config(compiled: CompileState<'_>) -> Result<Value> {
    let training = training_config_of(compiled)?;
    let optimizer = compiled.optimizer;
    let mut config = optimizer.get_config()?;
    if config
        .get("decay")
        .and_then(Value::as_f64)
        .is_some_and(|d| d != 0.0)
    {
        return Err(crate::LayerError::invalid(
            "model.save(\".keras\")",
            "an optimizer without the legacy decay (Keras 3 has none)",
            format!("{} with decay {}", optimizer.name(), config["decay"]),
        ));
    }
    config.remove("decay");
    let mut keras3 = Config::new();
    keras3.insert("name".into(), to_snake_case(optimizer.name()).into());
    keras3.insert(
        "learning_rate".into(),
        config.remove("learning_rate").unwrap_or(Value::Null),
    );
    let weight_decay = config.remove("weight_decay").unwrap_or(Value::Null);
    keras3.insert("weight_decay".into(), weight_decay);
    for key in ["clipnorm", "global_clipnorm", "clipvalue"] {
        keras3.insert(key.into(), config.remove(key).unwrap_or(Value::Null));
    }
    keras3.insert("use_ema".into(), false.into());
    keras3.insert("ema_momentum".into(), json!(0.99));
    keras3.insert("ema_overwrite_frequency".into(), Value::Null);
    keras3.insert("loss_scale_factor".into(), Value::Null);
    keras3.insert("gradient_accumulation_steps".into(), Value::Null);
    config.remove("name");
    keras3.extend(config);
    // A mean metric by the name given to compile; a metric with a config as Keras 3 writes it.
    let metrics: Vec<Value> = compiled
        .metrics
        .iter()
        .map(|m| match super::training_config::metric_json(m) {
            Value::Object(mut object) if object["class_name"] != "MeanMetricWrapper" => {
                object.insert("module".into(), "keras.metrics".into());
                object.insert("registered_name".into(), Value::Null);
                Value::Object(object)
            }
            _ => Value::from(m.name.clone()),
        })
        .collect();
    let mut loss = training["loss"].clone();
    if let Value::Object(map) = &mut loss {
        map.insert("module".into(), "keras.losses".into());
        map.insert("registered_name".into(), Value::Null);
        if let Some(Value::Object(c)) = map.get_mut("config") {
            c.insert("reduction".into(), "sum_over_batch_size".into());
        }
    }
    Ok(json!({
        "optimizer": {"module": "keras.optimizers", "class_name": optimizer.name(), "config": keras3, "registered_name": null},
        "loss": loss,
        "loss_weights": null,
        "metrics": metrics,
        "weighted_metrics": null,
        "run_eagerly": false,
        "steps_per_execution": 1,
        "jit_compile": false,
    }))
}

/// `model.save("m.keras")`, with the compile settings and optimizer state when given; the run
/// state goes in an `astrograd.json` entry, which Keras does not read.
///
/// # Errors
/// A layer option or optimizer setting Keras 3 cannot hold (a schedule, the legacy decay); an
/// I/O error (the file is written atomically).
pub fn save(
    model: &Model,
    compiled: Option<CompileState<'_>>,
    run: &RunState,
    path: &Path,
) -> Result<()> {
    let mut config = to_keras3(model)?;
    if let Some(compiled) = compiled {
        config["compile_config"] = compile_config(compiled)?;
    }
    let metadata = json!({"keras_version": KERAS_VERSION, "date_saved": date_saved()});
    let weights = weights_tree(model, compiled)?
        .to_bytes()
        .map_err(|detail| model_file_error(path, "model.weights.h5", detail))?;
    let run_state = json!({
        "random_state": run.random_state.map(|s| s.iter().map(|w| format!("{w:016x}")).collect::<Vec<_>>()),
        "epochs_done": run.epochs_done,
        "layer_random_states": run.layer_random_states.iter()
            .map(|(path, state)| (path.clone(), state.iter().map(|w| format!("{w:016x}")).collect::<Vec<_>>().into()))
            .collect::<serde_json::Map<String, Value>>(),
    });
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let entries: [(&str, Vec<u8>); 4] = [
        ("metadata.json", metadata.to_string().into_bytes()),
        ("config.json", config.to_string().into_bytes()),
        ("model.weights.h5", weights),
        (RUN_STATE_ENTRY, run_state.to_string().into_bytes()),
    ];
    let zip_error = |e: &dyn std::fmt::Display| model_file_error(path, "zip", e.to_string());
    for (name, bytes) in entries {
        zip.start_file(name, options).map_err(|e| zip_error(&e))?;
        zip.write_all(&bytes).map_err(|e| zip_error(&e))?;
    }
    let bytes = zip.finish().map_err(|e| zip_error(&e))?.into_inner();
    write_bytes(path, &bytes)
}

/// The zip entry with astrograd's run state.
const RUN_STATE_ENTRY: &str = "astrograd.json";

/// The run state of an `astrograd.json` entry (empty when the file has none).
fn read_run_state(archive: &mut zip::ZipArchive<std::fs::File>, path: &Path) -> Result<RunState> {
    if archive.index_for_name(RUN_STATE_ENTRY).is_none() {
        return Ok(RunState::default());
    }
    let bytes = read_entry(archive, RUN_STATE_ENTRY, path)?;
    let json: Value = serde_json::from_slice(&bytes)
        .map_err(|e| model_file_error(path, RUN_STATE_ENTRY, format!("not valid JSON: {e}")))?;
    let words: Option<Vec<u64>> = json["random_state"].as_array().map(|words| {
        words
            .iter()
            .filter_map(|w| w.as_str().and_then(|h| u64::from_str_radix(h, 16).ok()))
            .collect()
    });
    Ok(RunState {
        random_state: words
            .filter(|w| w.len() == 4)
            .map(|w| [w[0], w[1], w[2], w[3]]),
        epochs_done: json["epochs_done"].as_u64().map(|e| e as usize),
        layer_random_states: super::parse_layer_states(&json["layer_random_states"]),
    })
}

/// Today's date as Keras writes it (`2026-12-03@11:17:34`, UTC).
fn date_saved() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}@{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Reads one entry of the zip, refusing one larger than [`MAX_ENTRY_BYTES`].
fn read_entry(
    archive: &mut zip::ZipArchive<std::fs::File>,
    name: &str,
    path: &Path,
) -> Result<Vec<u8>> {
    let mut entry = archive.by_name(name).map_err(|e| {
        model_file_error(
            path,
            name,
            format!("cannot read this entry of the zip: {e}"),
        )
    })?;
    if entry.size() > MAX_ENTRY_BYTES {
        return Err(model_file_error(
            path,
            name,
            format!(
                "{} bytes, more than the {MAX_ENTRY_BYTES} read",
                entry.size()
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| model_file_error(path, name, format!("damaged: {e}")))?;
    Ok(bytes)
}

/// `keras.models.load_model("m.keras")`.
///
/// # Errors
/// A file that is not a zip or lacks an entry; a Keras version other than 3; a layer class
/// astrograd does not have; weights or optimizer variables that do not fit.
pub fn load(path: &Path) -> Result<(Model, RunState)> {
    let file = std::fs::File::open(path).map_err(|e| WeightsError::Io {
        action: "read",
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| model_file_error(path, "zip", format!("not a readable .keras zip: {e}")))?;
    let metadata = read_entry(&mut archive, "metadata.json", path)?;
    let metadata: Value = serde_json::from_slice(&metadata)
        .map_err(|e| model_file_error(path, "metadata.json", format!("not valid JSON: {e}")))?;
    let version = metadata
        .get("keras_version")
        .and_then(Value::as_str)
        .unwrap_or("?");
    if !version.starts_with("3.") {
        return Err(model_file_error(
            path,
            "metadata.json",
            format!("expected a file written by Keras 3, found keras_version {version:?}"),
        ));
    }
    let config = read_entry(&mut archive, "config.json", path)?;
    let config: Value = serde_json::from_slice(&config)
        .map_err(|e| model_file_error(path, "config.json", format!("not valid JSON: {e}")))?;
    let (class_name, model_config) =
        from_keras3(&config).map_err(|d| model_file_error(path, "config.json", d))?;
    let mut model = super::model_config::model_from_config(&class_name, &model_config)
        .map_err(|e| model_file_error(path, "config.json", e.to_string()))?;
    if let Some(compile) = config.get("compile_config").filter(|c| !c.is_null()) {
        let training = training_config_from_keras3(compile)
            .map_err(|d| model_file_error(path, "compile_config", d))?;
        model
            .compile_from_training_config(&training)
            .map_err(|e| model_file_error(path, "compile_config", e.to_string()))?;
    }
    let weights = read_entry(&mut archive, "model.weights.h5", path)?;
    if let Some(state) = read_weights(&model, weights, path, true)? {
        restore_optimizer(&mut model, state)?;
    }
    let run = read_run_state(&mut archive, path)?;
    Ok((model, run))
}

/// Keras 3's `compile_config` in the `training_config` form that
/// [`Model::compile_from_training_config`] reads.
fn training_config_from_keras3(compile: &Value) -> std::result::Result<Config, String> {
    let optimizer = compile.get("optimizer").ok_or("no optimizer")?;
    let optimizer = match optimizer {
        // compile(optimizer="adam") before the model was built.
        Value::String(name) => {
            let class = astrograd_optim::from_name(name).map_err(|e| e.to_string())?;
            json!({"class_name": class.name(), "config": class.get_config().map_err(|e| e.to_string())?})
        }
        other => other.clone(),
    };
    let mut training = Config::new();
    training.insert(
        "loss".into(),
        compile.get("loss").cloned().unwrap_or(Value::Null),
    );
    training.insert(
        "metrics".into(),
        compile.get("metrics").cloned().unwrap_or(Value::Null),
    );
    training.insert(
        "weighted_metrics".into(),
        compile
            .get("weighted_metrics")
            .cloned()
            .unwrap_or(Value::Null),
    );
    training.insert(
        "loss_weights".into(),
        compile.get("loss_weights").cloned().unwrap_or(Value::Null),
    );
    training.insert("optimizer_config".into(), optimizer);
    Ok(training)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_as_keras_writes_it() {
        for (class, snake) in [
            ("Conv2D", "conv2d"),
            ("ReLU", "re_lu"),
            ("BatchNormalization", "batch_normalization"),
            ("DepthwiseConv2D", "depthwise_conv2d"),
            ("GlobalAveragePooling2D", "global_average_pooling2d"),
            ("InputLayer", "input_layer"),
            ("RMSprop", "rm_sprop"),
            ("AdamW", "adam_w"),
            ("SGD", "sgd"),
        ] {
            assert_eq!(to_snake_case(class), snake);
        }
    }

    #[test]
    fn adam_keeps_its_slots_per_weight_and_rmsprop_slot_by_slot() {
        assert_eq!(
            slot_blocks("Adam", &["m", "v", "vhat"]),
            vec![vec!["m", "v"], vec!["vhat"]]
        );
        assert_eq!(
            slot_blocks("RMSprop", &["rms", "momentum"]),
            vec![vec!["rms"], vec!["momentum"]]
        );
    }
}
