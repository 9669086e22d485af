//! `Input`: where a model's data comes in. It has no weights and passes its value through.
//!
//! In a `Sequential`, a leading `Input::new(&[28, 28, 1])` gives the model its input shape (as
//! Keras's `input_shape=`) and adds no row to the summary. In the functional API,
//! [`input`] makes the symbolic tensor that the first layer is applied to (Keras's
//! `keras.Input(shape=(28, 28, 1))`), and the summary shows an `InputLayer` row.
use astrograd_autograd::Var;

use crate::functional::SymbolicTensor;
use crate::layer::{Layer, LayerBase, SharedLayer};
use crate::shape::{batch_shape, single, Shape};
use crate::{LayerError, Result};

/// The input layer (Keras's `InputLayer`), for one example of shape `shape` (no batch axis).
pub struct Input {
    base: LayerBase,
    shape: Shape,
}

impl Input {
    /// An input of examples of `shape` (`&[28, 28]` for Fashion-MNIST images), batch unknown.
    pub fn new(shape: &[usize]) -> Input {
        Input {
            base: LayerBase::new("InputLayer", "input").one_based(),
            shape: batch_shape(shape),
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
