//! A model's architecture as Keras's `model.get_config()` JSON, and the model rebuilt from it
//! (`keras.models.model_from_json`), in tf.keras 2.10's form.
//!
//! A `Sequential` model lists its layers, its `InputLayer` first:
//!
//! ```text
//! {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
//!     {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 28, 28], …}},
//!     {"class_name": "Flatten", "config": {"name": "flatten", …}},
//!     {"class_name": "Dense", "config": {"name": "dense", "units": 300, …}}]}}
//! ```
//!
//! A functional model also says which outputs feed each layer: every call of a layer is a
//! node, and `inbound_nodes` lists, for each node, the `[layer name, node index, tensor
//! index, kwargs]` of its inputs:
//!
//! ```text
//! {"class_name": "Functional", "config": {"name": "model", "layers": [
//!     {"class_name": "InputLayer", "name": "input_1", "config": {…}, "inbound_nodes": []},
//!     {"class_name": "Dense", "name": "dense", "config": {…},
//!      "inbound_nodes": [[["input_1", 0, 0, {}]]]},
//!     {"class_name": "Add", "name": "add", "config": {…},
//!      "inbound_nodes": [[["dense", 0, 0, {}], ["input_1", 0, 0, {}]]]}],
//!  "input_layers": [["input_1", 0, 0]], "output_layers": [["add", 0, 0]]}}
//! ```
//!
//! Rebuilding creates each layer from its config ([`deserialize_layer`]) and then calls the
//! layers on each other's outputs in the order the nodes can be computed, as Keras does.
use std::collections::HashMap;

use serde_json::{json, Value};

use crate::applications::ReLU;
use crate::config::{Config, ConfigReader};
use crate::functional::SymbolicTensor;
use crate::layer::{Layer, SharedLayer};
use crate::model::{Model, Sequential};
use crate::{
    Activation, Add, AveragePooling2D, BatchNormalization, Conv2D, Dense, DepthwiseConv2D, Dropout,
    Flatten, GlobalAveragePooling2D, GlobalMaxPooling2D, Input, LayerError, MaxPooling2D,
    Rescaling, Result, ZeroPadding2D,
};

/// The layer classes a model file may hold.
pub const SUPPORTED_CLASSES: [&str; 18] = [
    "InputLayer",
    "Dense",
    "Conv2D",
    "DepthwiseConv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "Flatten",
    "Dropout",
    "BatchNormalization",
    "Activation",
    "ReLU",
    "Rescaling",
    "ZeroPadding2D",
    "Add",
    "Sequential",
    "Functional",
];

/// `keras.layers.deserialize({"class_name": …, "config": …})`: a layer of a supported class,
/// built from its config. Nested models (`Sequential`, `Functional`, `Model`) are rebuilt
/// whole.
///
/// # Errors
/// A class astrograd does not have (the message lists the supported ones), a `Lambda` layer
/// (it holds Python code, refused as Keras's `safe_mode` refuses it), or a bad config.
pub fn deserialize_layer(class_name: &str, config: &Config) -> Result<Box<dyn Layer>> {
    Ok(match class_name {
        "InputLayer" => Box::new(Input::from_config(config)?),
        "Dense" => Box::new(Dense::from_config(config)?),
        "Conv2D" => Box::new(Conv2D::from_config(config)?),
        "DepthwiseConv2D" => Box::new(DepthwiseConv2D::from_config(config)?),
        "MaxPooling2D" => Box::new(MaxPooling2D::from_config(config)?),
        "AveragePooling2D" => Box::new(AveragePooling2D::from_config(config)?),
        "GlobalAveragePooling2D" => Box::new(GlobalAveragePooling2D::from_config(config)?),
        "GlobalMaxPooling2D" => Box::new(GlobalMaxPooling2D::from_config(config)?),
        "Flatten" => Box::new(Flatten::from_config(config)?),
        "Dropout" => Box::new(Dropout::from_config(config)?),
        "BatchNormalization" => Box::new(BatchNormalization::from_config(config)?),
        "Activation" => Box::new(Activation::from_config(config)?),
        "ReLU" => Box::new(ReLU::from_config(config)?),
        "Rescaling" => Box::new(Rescaling::from_config(config)?),
        "ZeroPadding2D" => Box::new(ZeroPadding2D::from_config(config)?),
        "Add" => Box::new(Add::from_config(config)?),
        "Sequential" | "Functional" | "Model" => Box::new(model_from_config(class_name, config)?),
        "Lambda" => {
            return Err(LayerError::invalid(
                "model config",
                "layers without code (a Lambda layer holds Python code, which astrograd will \
                 not run, as Keras's safe_mode refuses it)",
                format!("the Lambda layer \"{}\"", layer_name(config)),
            ))
        }
        other => {
            return Err(LayerError::invalid(
                "model config",
                format!(
                    "one of the layer classes astrograd has: {}",
                    SUPPORTED_CLASSES.join(", ")
                ),
                format!("the {other} layer \"{}\"", layer_name(config)),
            ))
        }
    })
}

fn layer_name(config: &Config) -> &str {
    config.get("name").and_then(Value::as_str).unwrap_or("?")
}

/// `{"class_name": …, "config": …}` of a layer, as a model's config lists it.
pub fn serialize_layer(layer: &dyn Layer) -> Result<Value> {
    Ok(json!({"class_name": layer.class_name(), "config": layer.get_config()?}))
}

impl Model {
    /// Keras's `model.get_config()` in tf.keras 2.10's form: the `Sequential` layer list, or a
    /// functional model's layers with their `inbound_nodes` and the input and output layers.
    ///
    /// # Errors
    /// A layer option that was never valid (an unknown activation name).
    pub fn model_config(&self) -> Result<Config> {
        let mut config = Config::new();
        config.insert("name".into(), self.name().into());
        let mut layers = Vec::new();
        if self.is_sequential() {
            if let Some(shape) = self.input_shape() {
                let mut input = Input::from_batch_shape(shape);
                input.base_mut().set_name(format!(
                    "{}_input",
                    self.layers()
                        .first()
                        .map_or("input".to_string(), |l| l.name())
                ));
                layers.push(serialize_layer(&input)?);
            }
            for layer in self.layers() {
                layers.push(serialize_layer(layer.borrow().as_ref())?);
            }
            config.insert("layers".into(), layers.into());
            return Ok(config);
        }
        let nodes = self.graph_nodes();
        // Keras numbers a layer's nodes within the model from 0, in call order.
        let node_index = |tensor: &SymbolicTensor| -> usize {
            let layer = tensor.layer();
            let mut own: Vec<usize> = nodes
                .iter()
                .filter(|n| n.layer().same_layer(&layer))
                .map(|n| n.node().node_index)
                .collect();
            own.sort_unstable();
            own.iter()
                .position(|&i| i == tensor.node().node_index)
                .unwrap_or(0)
        };
        for layer in self.layers() {
            let mut inbound = Vec::new();
            let mut own: Vec<&SymbolicTensor> = nodes
                .iter()
                .filter(|n| n.layer().same_layer(layer))
                .collect();
            own.sort_by_key(|n| n.node().node_index);
            for node in own.iter().filter(|n| !n.is_input()) {
                let inputs: Vec<Value> = node
                    .node()
                    .inputs
                    .iter()
                    .map(|x| json!([x.layer().name(), node_index(x), 0, {}]))
                    .collect();
                inbound.push(Value::Array(inputs));
            }
            let layer = layer.borrow();
            let mut entry = serialize_layer(layer.as_ref())?;
            if let Value::Object(map) = &mut entry {
                map.insert("name".into(), layer.name().into());
                map.insert("inbound_nodes".into(), inbound.into());
            }
            layers.push(entry);
        }
        config.insert("layers".into(), layers.into());
        let (input, output) = self.graph_ends().ok_or_else(|| {
            LayerError::invalid(
                "model config",
                "a functional model's input and output",
                "none",
            )
        })?;
        config.insert(
            "input_layers".into(),
            json!([[input.layer().name(), node_index(&input), 0]]),
        );
        config.insert(
            "output_layers".into(),
            json!([[output.layer().name(), node_index(&output), 0]]),
        );
        Ok(config)
    }
}

/// `keras.models.model_from_config({"class_name": …, "config": …})`: the model a config
/// describes, with fresh weights (built when its input shape is known).
///
/// # Errors
/// As [`deserialize_layer`] for each layer; a functional graph whose nodes name layers or
/// nodes that do not exist, or cannot all be computed (a cycle).
pub fn model_from_config(class_name: &str, config: &Config) -> Result<Model> {
    let read = ConfigReader::new(class_name, config);
    let name = read.str_or("name", "")?;
    let layers = config
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            read.error(
                "layers",
                "a list of layer configs",
                config.get("layers").unwrap_or(&Value::Null),
            )
        })?;
    let mut model = match class_name {
        "Sequential" => sequential_from_config(&read, layers)?,
        _ => functional_from_config(&read, layers, config)?,
    };
    if !name.is_empty() {
        model = model.with_name(name);
    }
    Ok(model)
}

/// The `class_name` and `config` of one entry of a `layers` list.
fn layer_entry<'a>(read: &ConfigReader<'_>, entry: &'a Value) -> Result<(&'a str, &'a Config)> {
    let class_name = entry.get("class_name").and_then(Value::as_str);
    let config = entry.get("config").and_then(Value::as_object);
    match (class_name, config) {
        (Some(c), Some(config)) => Ok((c, config)),
        _ => Err(read.error(
            "layers",
            "entries {\"class_name\": …, \"config\": {…}}",
            entry,
        )),
    }
}

fn sequential_from_config(read: &ConfigReader<'_>, layers: &[Value]) -> Result<Model> {
    let mut built = Vec::with_capacity(layers.len());
    for entry in layers {
        let (class_name, config) = layer_entry(read, entry)?;
        built.push(deserialize_layer(class_name, config)?);
    }
    Sequential::new(built)
}

fn functional_from_config(
    read: &ConfigReader<'_>,
    layers: &[Value],
    config: &Config,
) -> Result<Model> {
    // 1. Every layer, by name, with the inbound nodes still to be called.
    struct Pending {
        name: String,
        layer: SharedLayer,
        nodes: Vec<Vec<(String, usize)>>,
        done: usize,
    }
    let mut pending: Vec<Pending> = Vec::new();
    let mut tensors: HashMap<(String, usize), SymbolicTensor> = HashMap::new();
    for entry in layers {
        let (class_name, layer_config) = layer_entry(read, entry)?;
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_else(|| layer_name(layer_config))
            .to_string();
        if class_name == "InputLayer" {
            let input = Input::from_config(layer_config)?;
            tensors.insert((name, 0), input.into_tensor());
            continue;
        }
        let layer = deserialize_layer(class_name, layer_config)?;
        let nodes = inbound_nodes(read, &name, entry.get("inbound_nodes"))?;
        pending.push(Pending {
            name,
            layer: SharedLayer::from_box(layer),
            nodes,
            done: 0,
        });
    }
    // 2. Call the layers, node by node, as soon as a node's inputs exist.
    loop {
        let mut progress = false;
        for entry in pending.iter_mut() {
            while entry.done < entry.nodes.len() {
                let inputs: Option<Vec<SymbolicTensor>> = entry.nodes[entry.done]
                    .iter()
                    .map(|key| tensors.get(key).cloned())
                    .collect();
                let Some(inputs) = inputs else { break };
                let refs: Vec<&SymbolicTensor> = inputs.iter().collect();
                let output = entry.layer.apply_all(&refs)?;
                tensors.insert((entry.name.clone(), entry.done), output);
                entry.done += 1;
                progress = true;
            }
        }
        if !progress {
            break;
        }
    }
    if let Some(entry) = pending.iter().find(|e| e.done < e.nodes.len()) {
        let name = &entry.name;
        let missing: Vec<String> = entry.nodes[entry.done]
            .iter()
            .filter(|key| !tensors.contains_key(*key))
            .map(|(layer, node)| format!("node {node} of \"{layer}\""))
            .collect();
        return Err(LayerError::invalid(
            format!(
                "config of {} \"{}\"",
                read.class_name(),
                read.str_or("name", "?")?
            ),
            "inbound_nodes that name layers and nodes of the model",
            format!(
                "layer \"{name}\" called on {}, which the model does not compute",
                missing.join(", ")
            ),
        ));
    }
    let end = |key: &str| -> Result<SymbolicTensor> {
        let value = config.get(key).unwrap_or(&Value::Null);
        // [["input_1", 0, 0]] or ["input_1", 0, 0]: one input and one output.
        let one = match value.as_array().map(Vec::as_slice) {
            Some([first]) if first.is_array() => first,
            _ => value,
        };
        let name = one.get(0).and_then(Value::as_str);
        let node = one.get(1).and_then(Value::as_u64).unwrap_or(0) as usize;
        name.and_then(|n| tensors.get(&(n.to_string(), node)).cloned())
            .ok_or_else(|| read.error(key, "one [layer name, node index, 0] of the model", value))
    };
    Model::new(&end("input_layers")?, &end("output_layers")?)
}

/// `[[["input_1", 0, 0, {}]], …]` → for each node, its inputs as (layer name, node index).
fn inbound_nodes(
    read: &ConfigReader<'_>,
    layer: &str,
    value: Option<&Value>,
) -> Result<Vec<Vec<(String, usize)>>> {
    let bad = |v: &Value| {
        read.error(
            "inbound_nodes",
            &format!("of layer \"{layer}\" as [[[name, node, tensor, {{}}], …], …]"),
            v,
        )
    };
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let nodes = value.as_array().ok_or_else(|| bad(value))?;
    nodes
        .iter()
        .map(|node| {
            node.as_array()
                .ok_or_else(|| bad(node))?
                .iter()
                .map(|input| {
                    let name = input.get(0).and_then(Value::as_str);
                    let index = input.get(1).and_then(Value::as_u64);
                    match (name, index) {
                        (Some(n), Some(i)) => Ok((n.to_string(), i as usize)),
                        _ => Err(bad(input)),
                    }
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{input, Layer, Padding};
    use astrograd_autograd::{Tensor, Var};

    /// Every layer class in one Sequential model, and a functional graph with a shared input.
    fn models() -> Vec<Model> {
        let sequential = Sequential::new(vec![
            Box::new(Input::new(&[9, 9, 2])),
            Box::new(Rescaling::new(1.0 / 255.0).offset(-0.5)),
            Box::new(ZeroPadding2D::new(((1, 0), (2, 1)))),
            Box::new(
                Conv2D::new(3, (3, 2))
                    .strides(2)
                    .padding(Padding::Same)
                    .activation("relu"),
            ),
            Box::new(BatchNormalization::new().momentum(0.9)),
            Box::new(DepthwiseConv2D::new(2).depth_multiplier(2).use_bias(false)),
            Box::new(ReLU::new().max_value(6.0)),
            Box::new(MaxPooling2D::new().pool_size(2).strides(1)),
            Box::new(AveragePooling2D::new().padding(Padding::Same)),
            Box::new(Activation::new("tanh")),
            Box::new(Flatten::new()),
            Box::new(Dropout::new(0.25)),
            Box::new(Dense::new(4).activation("softmax")),
        ])
        .unwrap();
        let x = input(&[6, 6, 3]);
        let y = Conv2D::new(3, 3).padding(Padding::Same).apply(&x).unwrap();
        let sum = Add::new().apply_all(&[&x, &y]).unwrap();
        let max = GlobalMaxPooling2D::new().apply(&sum).unwrap();
        let out = Dense::new(2).apply(&max).unwrap();
        let functional = Model::new(&x, &out).unwrap();
        let avg = GlobalAveragePooling2D::new().apply(&x).unwrap();
        let nested = Sequential::new(vec![
            Box::new(Input::new(&[6, 6, 3])),
            Box::new(functional),
            Box::new(Dense::new(1).activation("sigmoid")),
        ])
        .unwrap();
        let simple = Model::new(&x, &avg).unwrap();
        vec![sequential, nested, simple]
    }

    #[test]
    fn every_layer_and_model_kind_round_trips_through_its_config() {
        for model in models() {
            let config = model.model_config().unwrap();
            let text = serde_json::to_string(&config).unwrap();
            let parsed: Config = serde_json::from_str(&text).unwrap();
            let rebuilt = model_from_config(model.class_name(), &parsed).unwrap();
            assert_eq!(rebuilt.model_config().unwrap(), config, "{}", model.name());
            rebuilt.set_weights(&model.get_weights()).unwrap();
            let shape: Vec<usize> = model.input_shape().unwrap()[1..]
                .iter()
                .map(|d| d.unwrap())
                .collect();
            let mut batch = vec![2];
            batch.extend(shape);
            let n: usize = batch.iter().product();
            let x = Tensor::from_vec((0..n).map(|i| (i % 7) as f32 * 0.3 - 0.8).collect(), &batch)
                .unwrap();
            let (mut a, mut b) = (model, rebuilt);
            let ya = a
                .forward(&Var::constant(x.clone()), false)
                .unwrap()
                .value()
                .to_vec()
                .unwrap();
            let yb = b
                .forward(&Var::constant(x), false)
                .unwrap()
                .value()
                .to_vec()
                .unwrap();
            assert_eq!(ya, yb);
        }
    }

    #[test]
    fn unknown_classes_and_lambda_are_refused_by_name() {
        let config: Config = serde_json::from_str(r#"{"name": "lstm_1", "units": 4}"#).unwrap();
        let err = deserialize_layer("LSTM", &config)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("LSTM layer \"lstm_1\"") && err.contains("Conv2D, DepthwiseConv2D"),
            "{err}"
        );
        let config: Config =
            serde_json::from_str(r#"{"name": "lambda", "function": "..."}"#).unwrap();
        let err = deserialize_layer("Lambda", &config)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("Lambda layer \"lambda\"") && err.contains("safe_mode"),
            "{err}"
        );
    }

    #[test]
    fn a_graph_that_names_a_missing_layer_is_an_error() {
        let text = r#"{"name": "m", "layers": [
            {"class_name": "InputLayer", "name": "in", "config": {"batch_input_shape": [null, 3], "name": "in"}, "inbound_nodes": []},
            {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 2}, "inbound_nodes": [[["nowhere", 0, 0, {}]]]}],
            "input_layers": [["in", 0, 0]], "output_layers": [["d", 0, 0]]}"#;
        let config: Config = serde_json::from_str(text).unwrap();
        let err = model_from_config("Functional", &config)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("\"d\"") && err.contains("nowhere"), "{err}");
    }

    #[test]
    fn tf_keras_2_10_configs_are_read() {
        // Printed by tf.keras 2.10.1: keras.Sequential([keras.Input(shape=(6,)), Dense(5, "relu"),
        // BatchNormalization(), Dropout(0.2), Dense(3, "softmax")]).get_config()
        let text = r#"{"name": "sequential", "layers": [{"class_name": "InputLayer", "config": {"batch_input_shape": [null, 6], "dtype": "float32", "sparse": false, "ragged": false, "name": "input_1"}}, {"class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32", "units": 5, "activation": "relu", "use_bias": true, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}}, {"class_name": "BatchNormalization", "config": {"name": "batch_normalization", "trainable": true, "dtype": "float32", "axis": [1], "momentum": 0.99, "epsilon": 0.001, "center": true, "scale": true, "beta_initializer": {"class_name": "Zeros", "config": {}}, "gamma_initializer": {"class_name": "Ones", "config": {}}, "moving_mean_initializer": {"class_name": "Zeros", "config": {}}, "moving_variance_initializer": {"class_name": "Ones", "config": {}}, "beta_regularizer": null, "gamma_regularizer": null, "beta_constraint": null, "gamma_constraint": null}}, {"class_name": "Dropout", "config": {"name": "dropout", "trainable": true, "dtype": "float32", "rate": 0.2, "noise_shape": null, "seed": null}}, {"class_name": "Dense", "config": {"name": "dense_1", "trainable": true, "dtype": "float32", "units": 3, "activation": "softmax", "use_bias": true, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}}]}"#;
        let config: Config = serde_json::from_str(text).unwrap();
        let model = model_from_config("Sequential", &config).unwrap();
        assert_eq!(model.count_params(), 35 + 20 + 18);
        let mut written = model.model_config().unwrap();
        // The only difference: the name of the input, which a Sequential does not keep.
        written["layers"][0]["config"]["name"] = "input_1".into();
        assert_eq!(written, config);
    }
}
