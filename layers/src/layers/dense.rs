//! `Dense`: the fully connected layer, `y = activation(x · W + b)`.
//!
//! # Math
//! For each input row `x` (the last axis), `z_j = Σ_i x_i · W[i, j] + b_j` and
//! `y = activation(z)`. The gradients are those of `matmul` and `add` (see their op files).
//! `x · W + b`, with a ReLU when the activation is `'relu'`, is one op (`Var::dense`,
//! `autograd/src/ops/dense.rs`): the same numbers as the chain, and one kernel on a GPU.
//!
//! # Shapes
//! `x: (N, …, in)`, kernel `W: (in, units)`, bias `b: (units,)`, `y: (N, …, units)`: the layer
//! applies to the last axis, so a Dense after a `(N, H, W, C)` feature map without `Flatten`
//! is legal and gives `(N, H, W, units)`, as in Keras. Parameters: `in·units + units`.
use astrograd_autograd::Var;

use crate::activations::{ActivationFn, Output};
use crate::config::{
    activation_json, base_config, initializer_json, insert_nulls, Config, ConfigReader,
    KERNEL_LAYER_UNSUPPORTED,
};
use crate::initializers::Initializer;
use crate::layer::{live, Layer, LayerBase, Weight};
use crate::shape::{check_last_axis, check_min_ndim, last_axis, single, Shape};
use crate::{LayerError, Result};

/// `keras.layers.Dense(units, activation=None, use_bias=True,
/// kernel_initializer='glorot_uniform', bias_initializer='zeros')`.
///
/// ```
/// use astrograd_layers::{Dense, Layer};
/// let mut dense = Dense::new(300).activation("relu");
/// dense.build(&[vec![None, Some(784)]])?;
/// assert_eq!(dense.count_params(), 784 * 300 + 300);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
pub struct Dense {
    base: LayerBase,
    units: usize,
    /// The activation, or the error for an unknown name (reported by `build`).
    activation: std::result::Result<ActivationFn, LayerError>,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    /// `(in, units)`, created by `build`.
    kernel: Option<Var>,
    /// `(units,)`, created by `build` when `use_bias`.
    bias: Option<Var>,
}

impl Dense {
    /// `Dense.from_config(config)`: the layer a config describes (see [`crate::config`]).
    ///
    /// # Errors
    /// A missing or mistyped option, or one astrograd does not support.
    pub fn from_config(config: &Config) -> Result<Dense> {
        let read = ConfigReader::new("Dense", config);
        read.require_null(&KERNEL_LAYER_UNSUPPORTED)?;
        let mut dense = Dense::new(read.usize("units")?)
            .activation_fn(read.activation("activation")?)
            .use_bias(read.bool_or("use_bias", true)?)
            .kernel_initializer(read.initializer("kernel_initializer", Initializer::GlorotUniform)?)
            .bias_initializer(read.initializer("bias_initializer", Initializer::Zeros)?);
        read.apply_base(&mut dense.base)?;
        Ok(dense)
    }

    /// A Dense layer of `units` outputs, with Keras's defaults (no activation, a bias,
    /// glorot_uniform kernel, zero bias).
    pub fn new(units: usize) -> Dense {
        Dense {
            base: LayerBase::new("Dense", "dense"),
            units,
            activation: Ok(ActivationFn::Linear),
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel: None,
            bias: None,
        }
    }

    /// The activation by Keras's name (`"relu"`, `"softmax"`); an unknown name is reported
    /// when the layer is built.
    pub fn activation(mut self, name: &str) -> Dense {
        self.activation = ActivationFn::from_name(name);
        self
    }

    /// The activation as a value.
    pub fn activation_fn(mut self, activation: ActivationFn) -> Dense {
        self.activation = Ok(activation);
        self
    }

    /// Whether to add a bias (default true).
    pub fn use_bias(mut self, use_bias: bool) -> Dense {
        self.use_bias = use_bias;
        self
    }

    /// How to fill the kernel (default glorot_uniform).
    pub fn kernel_initializer(mut self, init: Initializer) -> Dense {
        self.kernel_initializer = init;
        self
    }

    /// How to fill the bias (default zeros).
    pub fn bias_initializer(mut self, init: Initializer) -> Dense {
        self.bias_initializer = init;
        self
    }

    /// The number of outputs.
    pub fn units(&self) -> usize {
        self.units
    }

    /// The kernel `(in, units)`, once built.
    pub fn kernel(&self) -> Option<&Var> {
        self.kernel.as_ref()
    }

    /// The bias `(units,)`, once built (and if `use_bias`).
    pub fn bias(&self) -> Option<&Var> {
        self.bias.as_ref()
    }

    fn not_built(&self) -> LayerError {
        LayerError::invalid(
            format!("layer \"{}\"", self.name()),
            "a built layer (add it to a model with a known input shape)",
            "a layer without weights",
        )
    }
}

impl Layer for Dense {
    fn get_config(&self) -> Result<Config> {
        let mut config = base_config(&self.base);
        config.insert("units".into(), self.units.into());
        config.insert(
            "activation".into(),
            activation_json(&self.activation, self.name())?,
        );
        config.insert("use_bias".into(), self.use_bias.into());
        config.insert(
            "kernel_initializer".into(),
            initializer_json(&self.kernel_initializer),
        );
        config.insert(
            "bias_initializer".into(),
            initializer_json(&self.bias_initializer),
        );
        insert_nulls(&mut config, &KERNEL_LAYER_UNSUPPORTED);
        Ok(config)
    }

    fn base(&self) -> &LayerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut LayerBase {
        &mut self.base
    }

    fn build(&mut self, input_shapes: &[Shape]) -> Result<()> {
        self.activation.clone()?;
        let shape = single(self.name(), input_shapes)?;
        check_min_ndim(self.name(), shape, 2)?;
        let fan_in = last_axis(self.name(), shape)?;
        let kernel = self.kernel_initializer.sample(&[fan_in, self.units]);
        self.kernel = Some(Var::parameter(kernel));
        if self.use_bias {
            self.bias = Some(Var::parameter(self.bias_initializer.sample(&[self.units])));
        }
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Shape> {
        let shape = single(self.name(), input_shapes)?;
        check_min_ndim(self.name(), shape, 2)?;
        if let Some(kernel) = &self.kernel {
            check_last_axis(self.name(), shape, kernel.shape()[0])?;
        }
        let mut out = shape.clone();
        *out.last_mut().expect("rank checked ≥ 2") = Some(self.units);
        Ok(out)
    }

    fn call(&mut self, inputs: &[Var], training: bool) -> Result<Var> {
        self.call_with_logits(inputs, training)?.output()
    }

    fn call_with_logits(&mut self, inputs: &[Var], _training: bool) -> Result<Output> {
        let x = single(self.name(), inputs)?;
        let kernel = self.kernel.as_ref().ok_or_else(|| self.not_built())?;
        let trainable = self.base.trainable;
        let activation = self.activation.clone()?;
        let bias = self.bias.as_ref().map(|b| live(b, trainable));
        // z: (N, …, units); relu(z) in the same op for Keras's activation='relu'
        let relu = activation == ActivationFn::Relu;
        let z = x.dense(&live(kernel, trainable), bias.as_ref(), relu)?;
        if relu {
            return Ok(Output::plain(z));
        }
        Output::activate(z, activation)
    }

    fn weights(&self) -> Vec<Weight> {
        let mut weights = Vec::new();
        if let Some(kernel) = &self.kernel {
            weights.push(self.base.weight("kernel", kernel, true));
        }
        if let Some(bias) = &self.bias {
            weights.push(self.base.weight("bias", bias, true));
        }
        weights
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use astrograd_autograd::Tensor;

    #[test]
    fn computes_x_w_plus_b_on_the_last_axis() {
        let mut dense = Dense::new(2).activation("relu");
        dense.build(&[vec![None, Some(3)]]).unwrap();
        let w = Tensor::from_vec(vec![1.0, -1.0, 2.0, 0.0, 0.0, 1.0], &[3, 2]).unwrap();
        dense.kernel().unwrap().set_value(w).unwrap();
        dense
            .bias()
            .unwrap()
            .set_value(Tensor::from_vec(vec![0.5, -10.0], &[2]).unwrap())
            .unwrap();
        let x = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 3]).unwrap());
        // z = [1 + 4 + 0 + 0.5, −1 + 0 + 3 − 10] = [5.5, −8] → relu [5.5, 0]
        assert_eq!(
            dense.call(&[x], false).unwrap().value().to_vec().unwrap(),
            vec![5.5, 0.0]
        );
        // On a feature map: (None, 4, 4, 3) → (None, 4, 4, 2).
        let out = dense
            .compute_output_shape(&[vec![None, Some(4), Some(4), Some(3)]])
            .unwrap();
        assert_eq!(out, vec![None, Some(4), Some(4), Some(2)]);
        let map = Var::constant(Tensor::ones(&[2, 4, 4, 3]));
        assert_eq!(dense.call(&[map], false).unwrap().shape(), vec![2, 4, 4, 2]);
    }

    #[test]
    fn softmax_output_offers_its_logits_and_weights_are_named() {
        let mut dense = Dense::new(3).activation("softmax").with_name("head");
        dense.build(&[vec![None, Some(4)]]).unwrap();
        let x = Var::constant(Tensor::ones(&[2, 4]));
        let out = dense.call_with_logits(&[x], true).unwrap();
        assert_eq!(out.logits().unwrap().activation, ActivationFn::Softmax);
        let names: Vec<String> = dense.weights().into_iter().map(|w| w.name).collect();
        assert_eq!(names, ["head/kernel:0", "head/bias:0"]);
        assert_eq!(dense.count_params(), 15);
    }

    #[test]
    fn bad_inputs_are_reported_with_the_layer_name() {
        let err = Dense::new(3)
            .activation("rellu")
            .with_name("d")
            .build(&[vec![None, Some(4)]]);
        assert!(err
            .unwrap_err()
            .to_string()
            .contains("Unknown activation function: 'rellu'"));
        let mut dense = Dense::new(3).with_name("d");
        let err = dense.build(&[vec![None]]).unwrap_err().to_string();
        assert!(err.contains("expected min_ndim=2, found ndim=1"), "{err}");
        dense.build(&[vec![None, Some(4)]]).unwrap();
        let err = dense
            .compute_output_shape(&[vec![None, Some(5)]])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "Input 0 of layer \"d\" is incompatible with the layer: expected axis -1 of input \
             shape to have value 4, but received input with shape (None, 5)"
        );
    }

    #[test]
    fn a_frozen_dense_passes_gradient_to_its_input_only() {
        let mut dense = Dense::new(2);
        dense.build(&[vec![None, Some(3)]]).unwrap();
        dense.set_trainable(false);
        assert!(dense.weights().iter().all(|w| !w.trainable));
        let x = Var::parameter(Tensor::ones(&[1, 3]));
        dense
            .call(std::slice::from_ref(&x), true)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert!(x.grad().is_some());
        assert!(dense.kernel().unwrap().grad().is_none());
    }
}
