//! `DepthwiseConv2D`: each input channel filtered on its own (MobileNetV2's building block).
//!
//! # Math
//! `y[n, oh, ow, c·M + m] = b[c·M + m] + Σ_{kh, kw} x[n, ih, iw, c] · W[kh, kw, c, m]` with `M`
//! the depth multiplier; no channel mixing. Op and gradients: `autograd/src/ops/depthwise_conv2d.rs`.
//!
//! # Shapes
//! `x: (N, H, W, C)`, `depthwise_kernel: (KH, KW, C, M)`, bias `(C·M,)`, `y: (N, OH, OW, C·M)`;
//! output sizes as Conv2D. Parameters: `KH·KW·C·M + C·M`.
use astrograd_autograd::ops::conv2d::{Conv2dOptions, Padding};
use astrograd_autograd::Var;

use super::conv2d::{not_built, spatial_output};
use super::Size2;
use crate::activations::{ActivationFn, Output};
use crate::config::{
    activation_json, base_config, initializer_json, insert_nulls, padding_json, pair_json, Config,
    ConfigReader,
};
use crate::initializers::Initializer;
use crate::layer::{live, Layer, LayerBase, Weight};
use crate::shape::{check_last_axis, check_min_ndim, last_axis, single, Shape};
use crate::{LayerError, Result};

/// `keras.layers.DepthwiseConv2D(kernel_size, strides=(1, 1), padding='valid',
/// depth_multiplier=1, dilation_rate=(1, 1), activation=None, use_bias=True,
/// depthwise_initializer='glorot_uniform', bias_initializer='zeros')`.
///
/// ```
/// use astrograd_layers::{DepthwiseConv2D, Layer};
/// let mut dw = DepthwiseConv2D::new(3).use_bias(false);
/// dw.build(&[vec![None, Some(112), Some(112), Some(32)]])?;
/// assert_eq!(dw.count_params(), 3 * 3 * 32);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
pub struct DepthwiseConv2D {
    base: LayerBase,
    kernel_size: [usize; 2],
    depth_multiplier: usize,
    options: Conv2dOptions,
    activation: std::result::Result<ActivationFn, LayerError>,
    use_bias: bool,
    depthwise_initializer: Initializer,
    bias_initializer: Initializer,
    /// `(KH, KW, C, M)`, created by `build`.
    depthwise_kernel: Option<Var>,
    /// `(C·M,)`, created by `build` when `use_bias`.
    bias: Option<Var>,
}

impl DepthwiseConv2D {
    /// `DepthwiseConv2D.from_config(config)`: the layer a config describes (see
    /// [`crate::config`]).
    ///
    /// # Errors
    /// A missing or mistyped option, or one astrograd does not support.
    pub fn from_config(config: &Config) -> Result<DepthwiseConv2D> {
        let read = ConfigReader::new("DepthwiseConv2D", config);
        read.require_null(&[
            "bias_regularizer",
            "activity_regularizer",
            "bias_constraint",
            "depthwise_regularizer",
            "depthwise_constraint",
        ])?;
        read.require("data_format", "channels_last".into())?;
        read.require("groups", 1.into())?;
        let depthwise_initializer =
            read.initializer("depthwise_initializer", Initializer::GlorotUniform)?;
        let mut conv = DepthwiseConv2D::new(read.pair("kernel_size")?)
            .depth_multiplier(match read.get("depth_multiplier") {
                Some(_) => read.usize("depth_multiplier")?,
                None => 1,
            })
            .strides(read.pair("strides")?)
            .padding(read.padding("padding")?)
            .dilation_rate(read.pair("dilation_rate")?)
            .use_bias(read.bool_or("use_bias", true)?)
            .depthwise_initializer(depthwise_initializer)
            .bias_initializer(read.initializer("bias_initializer", Initializer::Zeros)?);
        conv.activation = Ok(read.activation("activation")?);
        read.apply_base(&mut conv.base)?;
        Ok(conv)
    }

    /// A depthwise convolution with a `kernel_size` window and Keras's defaults.
    pub fn new(kernel_size: impl Into<Size2>) -> DepthwiseConv2D {
        DepthwiseConv2D {
            base: LayerBase::new("DepthwiseConv2D", "depthwise_conv2d"),
            kernel_size: kernel_size.into().0,
            depth_multiplier: 1,
            options: Conv2dOptions::default(),
            activation: Ok(ActivationFn::Linear),
            use_bias: true,
            depthwise_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            depthwise_kernel: None,
            bias: None,
        }
    }

    /// Output channels per input channel (default 1).
    pub fn depth_multiplier(mut self, multiplier: usize) -> DepthwiseConv2D {
        self.depth_multiplier = multiplier;
        self
    }

    /// The step of the window (default 1).
    pub fn strides(mut self, strides: impl Into<Size2>) -> DepthwiseConv2D {
        self.options.strides = strides.into().0;
        self
    }

    /// `Padding::Valid` (default) or `Padding::Same`.
    pub fn padding(mut self, padding: Padding) -> DepthwiseConv2D {
        self.options.padding = padding;
        self
    }

    /// The spacing of the kernel taps (default 1).
    pub fn dilation_rate(mut self, dilation: impl Into<Size2>) -> DepthwiseConv2D {
        self.options.dilation = dilation.into().0;
        self
    }

    /// The activation by Keras's name; an unknown name is reported when the layer is built.
    pub fn activation(mut self, name: &str) -> DepthwiseConv2D {
        self.activation = ActivationFn::from_name(name);
        self
    }

    /// Whether to add a bias (default true).
    pub fn use_bias(mut self, use_bias: bool) -> DepthwiseConv2D {
        self.use_bias = use_bias;
        self
    }

    /// How to fill the kernel (default glorot_uniform).
    pub fn depthwise_initializer(mut self, init: Initializer) -> DepthwiseConv2D {
        self.depthwise_initializer = init;
        self
    }

    /// How to fill the bias (default zeros).
    pub fn bias_initializer(mut self, init: Initializer) -> DepthwiseConv2D {
        self.bias_initializer = init;
        self
    }

    /// The kernel `(KH, KW, C, M)`, once built.
    pub fn depthwise_kernel(&self) -> Option<&Var> {
        self.depthwise_kernel.as_ref()
    }

    /// The bias `(C·M,)`, once built (and if `use_bias`).
    pub fn bias(&self) -> Option<&Var> {
        self.bias.as_ref()
    }
}

impl Layer for DepthwiseConv2D {
    fn get_config(&self) -> Result<Config> {
        let mut config = base_config(&self.base);
        config.insert("kernel_size".into(), pair_json(self.kernel_size));
        config.insert("strides".into(), pair_json(self.options.strides));
        config.insert("padding".into(), padding_json(self.options.padding));
        config.insert("data_format".into(), "channels_last".into());
        config.insert("dilation_rate".into(), pair_json(self.options.dilation));
        // tf.keras 2.10 also writes "groups": 1, which Keras 3's DepthwiseConv2D refuses;
        // without it, both load the file.
        config.insert(
            "activation".into(),
            activation_json(&self.activation, self.name())?,
        );
        config.insert("use_bias".into(), self.use_bias.into());
        config.insert(
            "bias_initializer".into(),
            initializer_json(&self.bias_initializer),
        );
        insert_nulls(
            &mut config,
            &[
                "bias_regularizer",
                "activity_regularizer",
                "bias_constraint",
            ],
        );
        config.insert("depth_multiplier".into(), self.depth_multiplier.into());
        config.insert(
            "depthwise_initializer".into(),
            initializer_json(&self.depthwise_initializer),
        );
        insert_nulls(
            &mut config,
            &["depthwise_regularizer", "depthwise_constraint"],
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
        self.activation.clone()?;
        let shape = single(self.name(), input_shapes)?;
        check_min_ndim(self.name(), shape, 4)?;
        let channels = last_axis(self.name(), shape)?;
        let [kh, kw] = self.kernel_size;
        let m = self.depth_multiplier;
        let kernel = self.depthwise_initializer.sample(&[kh, kw, channels, m]);
        self.depthwise_kernel = Some(Var::parameter(kernel));
        if self.use_bias {
            self.bias = Some(Var::parameter(
                self.bias_initializer.sample(&[channels * m]),
            ));
        }
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Shape> {
        let shape = single(self.name(), input_shapes)?;
        check_min_ndim(self.name(), shape, 4)?;
        if let Some(kernel) = &self.depthwise_kernel {
            check_last_axis(self.name(), shape, kernel.shape()[2])?;
        }
        let op = "depthwise_conv2d";
        let [oh, ow] = spatial_output(self.name(), op, shape, self.kernel_size, self.options)?;
        Ok(vec![
            shape[0],
            oh,
            ow,
            shape[3].map(|c| c * self.depth_multiplier),
        ])
    }

    fn call(&mut self, inputs: &[Var], training: bool) -> Result<Var> {
        self.call_with_logits(inputs, training)?.output()
    }

    fn call_with_logits(&mut self, inputs: &[Var], _training: bool) -> Result<Output> {
        let x = single(self.name(), inputs)?;
        let kernel = self
            .depthwise_kernel
            .as_ref()
            .ok_or_else(|| not_built(self.name()))?;
        let trainable = self.base.trainable;
        let bias = self.bias.as_ref().map(|b| live(b, trainable));
        let z = x.depthwise_conv2d(&live(kernel, trainable), bias.as_ref(), self.options)?;
        Output::activate(z, self.activation.clone()?)
    }

    fn weights(&self) -> Vec<Weight> {
        let mut weights = Vec::new();
        if let Some(kernel) = &self.depthwise_kernel {
            weights.push(self.base.weight("depthwise_kernel", kernel, true));
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
    fn multiplier_scales_channels_and_params() {
        let mut dw = DepthwiseConv2D::new(3)
            .depth_multiplier(2)
            .padding(Padding::Same)
            .strides(2);
        let input = vec![None, Some(7), Some(7), Some(3)];
        dw.build(std::slice::from_ref(&input)).unwrap();
        assert_eq!(
            dw.compute_output_shape(&[input]).unwrap(),
            vec![None, Some(4), Some(4), Some(6)]
        );
        assert_eq!(dw.count_params(), 3 * 3 * 3 * 2 + 6);
        let names: Vec<String> = dw.weights().into_iter().map(|w| w.name).collect();
        assert!(names[0].ends_with("/depthwise_kernel:0"));
        let y = dw
            .call(&[Var::constant(Tensor::ones(&[2, 7, 7, 3]))], false)
            .unwrap();
        assert_eq!(y.shape(), vec![2, 4, 4, 6]);
    }
}
