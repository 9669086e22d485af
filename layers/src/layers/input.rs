//! `Input`: where a model's data comes in. It has no weights and passes its value through.
//!
//! In a `Sequential`, a leading `Input::new(&[28, 28, 1])` gives the model its input shape (as
//! Keras's `input_shape=`) and adds no row to the summary. In the functional API,
//! [`input`] makes the symbolic tensor that the first layer is applied to (Keras's
//! `keras.Input(shape=(28, 28, 1))`), and the summary shows an `InputLayer` row.
use astrograd_autograd::Var;

use crate::config::{shape_json, Config, ConfigReader};
use crate::functional::SymbolicTensor;
use crate::layer::{Layer, LayerBase, SharedLayer};
use crate::shape::{batch_shape, single, Shape};
use crate::{LayerError, Result};
use serde_json::Value;

/// The input layer (Keras's `InputLayer`), for one example of shape `shape` (no batch axis).
pub struct Input {
    base: LayerBase,
    shape: Shape,
}

impl Input {
    /// `InputLayer.from_config(config)`: the input a config describes, from its
    /// `batch_input_shape` (Keras 2) or `batch_shape` (Keras 3).
    ///
    /// # Errors
    /// A missing or malformed shape, a sparse or ragged input, or a dtype other than float32.
    pub fn from_config(config: &Config) -> Result<Input> {
        let read = ConfigReader::new("InputLayer", config);
        read.require("sparse", false.into())?;
        read.require("ragged", false.into())?;
        let key = if read.get("batch_shape").is_some() {
            "batch_shape"
        } else {
            "batch_input_shape"
        };
        let value = read
            .get(key)
            .ok_or_else(|| read.error(key, "a shape [null, …]", &Value::Null))?;
        let shape = read.shape_of(key, value)?;
        if shape.first() != Some(&None) {
            return Err(read.error(key, "a shape whose batch axis is null", value));
        }
        let mut input = Input {
            base: LayerBase::new("InputLayer", "input").one_based(),
            shape,
        };
        read.check_dtype()?;
        if let Some(name) = read.get("name") {
            let name = name
                .as_str()
                .ok_or_else(|| read.error("name", "a string", name))?;
            input.base.set_name(name);
        }
        Ok(input)
    }

    /// An input of examples of `shape` (`&[28, 28]` for Fashion-MNIST images), batch unknown.
    pub fn new(shape: &[usize]) -> Input {
        Input {
            base: LayerBase::new("InputLayer", "input").one_based(),
            shape: batch_shape(shape),
        }
    }

    /// An input of the batch shape `(None, …)`, whose other axes may be unknown too.
    pub fn from_batch_shape(shape: Shape) -> Input {
        Input {
            base: LayerBase::new("InputLayer", "input").one_based(),
            shape,
        }
    }

    /// The batch shape `(None, …)`.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The symbolic tensor this input produces, for the functional API.
    pub fn into_tensor(self) -> SymbolicTensor {
        let shape = self.shape.clone();
        let layer = SharedLayer::new(self);
        {
            let mut input = layer.borrow_mut();
            input.base_mut().built = true;
            input.base_mut().output_shapes.push(shape.clone());
        }
        SymbolicTensor::new(layer, 0, Vec::new(), shape)
    }
}

/// Keras's `keras.Input(shape=…)`: a symbolic tensor to build a functional model from.
///
/// ```
/// use astrograd_layers::{input, Dense, Layer, Model};
/// let inputs = input(&[784]);
/// let outputs = Dense::new(10).activation("softmax").apply(&inputs)?;
/// let model = Model::new(&inputs, &outputs)?;
/// assert_eq!(model.count_params(), 7850);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
pub fn input(shape: &[usize]) -> SymbolicTensor {
    Input::new(shape).into_tensor()
}

impl Layer for Input {
    fn get_config(&self) -> Result<Config> {
        let mut config = Config::new();
        config.insert("batch_input_shape".into(), shape_json(&self.shape));
        config.insert("dtype".into(), "float32".into());
        config.insert("sparse".into(), false.into());
        config.insert("ragged".into(), false.into());
        config.insert("name".into(), self.name().into());
        Ok(config)
    }

    fn base(&self) -> &LayerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut LayerBase {
        &mut self.base
    }

    fn build(&mut self, _input_shapes: &[Shape]) -> Result<()> {
        Ok(())
    }

    fn compute_output_shape(&self, _input_shapes: &[Shape]) -> Result<Shape> {
        Ok(self.shape.clone())
    }

    fn call(&mut self, inputs: &[Var], _training: bool) -> Result<Var> {
        let x = single(self.name(), inputs)?;
        let item = &x.shape()[1.min(x.shape().len())..];
        let expected: Vec<Option<usize>> = self.shape[1..].to_vec();
        let fits = item.len() == expected.len()
            && item
                .iter()
                .zip(&expected)
                .all(|(d, e)| e.is_none_or(|e| e == *d));
        if !fits {
            return Err(LayerError::IncompatibleInput {
                layer: self.name().to_string(),
                input: 0,
                detail: format!(
                    "expected shape={}, found shape={}",
                    crate::shape::format_shape(&self.shape),
                    crate::shape::format_shape(&x.shape().iter().map(|&d| Some(d)).collect())
                ),
            });
        }
        Ok(x.clone())
    }
}
