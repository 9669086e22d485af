//! `Activation`: applies an activation function by name, `keras.layers.Activation('relu')`.
//! No parameters. A softmax or sigmoid here offers its logits to the loss, as after Dense.
use astrograd_autograd::Var;

use crate::activations::{ActivationFn, Output};
use crate::config::{activation_json, base_config, Config, ConfigReader};
use crate::layer::{Layer, LayerBase};
use crate::shape::{single, Shape};
use crate::{LayerError, Result};

/// `keras.layers.Activation(activation)`.
///
/// ```
/// use astrograd_layers::{Activation, Layer};
/// use astrograd_autograd::{Tensor, Var};
/// let mut relu = Activation::new("relu");
/// let x = Var::constant(Tensor::from_vec(vec![-1.0, 2.0], &[1, 2])?);
/// assert_eq!(relu.call(&[x], false)?.value().to_vec()?, vec![0.0, 2.0]);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
pub struct Activation {
    base: LayerBase,
    activation: std::result::Result<ActivationFn, LayerError>,
}

impl Activation {
    /// `Activation.from_config(config)`: the layer a config describes (see [`crate::config`]).
    ///
    /// # Errors
    /// An unknown activation, or a bad name, trainable flag or dtype.
    pub fn from_config(config: &Config) -> Result<Activation> {
        let read = ConfigReader::new("Activation", config);
        let mut activation = Activation::from_fn(read.activation("activation")?);
        read.apply_base(&mut activation.base)?;
        Ok(activation)
    }

    /// The activation by Keras's name; an unknown name is reported when the layer is built
    /// or called.
    pub fn new(name: &str) -> Activation {
        Activation {
            base: LayerBase::new("Activation", "activation"),
            activation: ActivationFn::from_name(name),
        }
    }

    /// The activation as a value.
    pub fn from_fn(activation: ActivationFn) -> Activation {
        Activation {
            base: LayerBase::new("Activation", "activation"),
            activation: Ok(activation),
        }
    }
}

impl Layer for Activation {
    fn get_config(&self) -> Result<Config> {
        let mut config = base_config(&self.base);
        config.insert(
            "activation".into(),
            activation_json(&self.activation, self.name())?,
        );
        Ok(config)
    }

    fn base(&self) -> &LayerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut LayerBase {
        &mut self.base
    }

    fn build(&mut self, input_shapes: &[Shape]) -> Result<()> {
        single(self.name(), input_shapes)?;
        self.activation.clone().map(|_| ())
    }

    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Shape> {
        Ok(single(self.name(), input_shapes)?.clone())
    }

    fn call(&mut self, inputs: &[Var], training: bool) -> Result<Var> {
        self.call_with_logits(inputs, training)?.output()
    }

    fn call_with_logits(&mut self, inputs: &[Var], _training: bool) -> Result<Output> {
        let x = single(self.name(), inputs)?;
        Output::activate(x.clone(), self.activation.clone()?)
    }
}
