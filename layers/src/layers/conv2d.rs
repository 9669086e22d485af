//! `Conv2D`: a 2-D convolution over images, `y = activation(conv2d(x, W) + b)`.
//!
//! # Math
//! `y[n, oh, ow, f] = b[f] + Σ_{kh, kw, c} x[n, oh·sh + kh·dh − pad_top, ow·sw + kw·dw − pad_left, c] · W[kh, kw, c, f]`
//! (a cross-correlation, as Keras). The forward, the backward and the im2col + GEMM
//! derivation are in `autograd/src/ops/conv2d.rs`.
//!
//! # Shapes
//! `x: (N, H, W, C)`, kernel `W: (KH, KW, C, F)`, bias `(F,)`, `y: (N, OH, OW, F)`; with
//! `k_eff = k + (k − 1)(d − 1)`: `'valid'` `OH = ⌊(H − k_eff)/sh⌋ + 1`, `'same'` `OH = ⌈H/sh⌉`.
//! Parameters: `KH·KW·C·F + F`.
use astrograd_autograd::ops::conv2d::{Conv2dOptions, Padding};
use astrograd_autograd::Var;

use super::Size2;
use crate::activations::{ActivationFn, Output};
use crate::config::{
    activation_json, base_config, initializer_json, insert_nulls, padding_json, pair_json, Config,
    ConfigReader, KERNEL_LAYER_UNSUPPORTED,
};
use crate::initializers::Initializer;
use crate::layer::{live, Layer, LayerBase, Weight};
use crate::shape::{check_last_axis, check_min_ndim, format_shape, last_axis, single, Shape};
use crate::{LayerError, Result};

/// `keras.layers.Conv2D(filters, kernel_size, strides=(1, 1), padding='valid',
/// dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer='glorot_uniform',
/// bias_initializer='zeros')`.
///
/// ```
/// use astrograd_layers::{Conv2D, Layer};
/// let mut conv = Conv2D::new(32, 3).activation("relu");
/// conv.build(&[vec![None, Some(28), Some(28), Some(1)]])?;
/// let out = conv.compute_output_shape(&[vec![None, Some(28), Some(28), Some(1)]])?;
/// assert_eq!(out, vec![None, Some(26), Some(26), Some(32)]);
/// assert_eq!(conv.count_params(), 3 * 3 * 1 * 32 + 32);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
pub struct Conv2D {
    base: LayerBase,
    filters: usize,
    kernel_size: [usize; 2],
    options: Conv2dOptions,
    activation: std::result::Result<ActivationFn, LayerError>,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    /// `(KH, KW, C, F)`, created by `build`.
    kernel: Option<Var>,
    /// `(F,)`, created by `build` when `use_bias`.
    bias: Option<Var>,
}

impl Conv2D {
    /// `Conv2D.from_config(config)`: the layer a config describes (see [`crate::config`]).
    ///
    /// # Errors
    /// A missing or mistyped option, or one astrograd does not support (`groups` > 1,
    /// `channels_first`, regularizers, constraints).
    pub fn from_config(config: &Config) -> Result<Conv2D> {
        let read = ConfigReader::new("Conv2D", config);
        read.require_null(&KERNEL_LAYER_UNSUPPORTED)?;
        read.require("data_format", "channels_last".into())?;
        read.require("groups", 1.into())?;
        let mut conv = Conv2D::new(read.usize("filters")?, read.pair("kernel_size")?)
            .strides(read.pair("strides")?)
            .padding(read.padding("padding")?)
            .dilation_rate(read.pair("dilation_rate")?)
            .activation_fn(read.activation("activation")?)
            .use_bias(read.bool_or("use_bias", true)?)
            .kernel_initializer(read.initializer("kernel_initializer", Initializer::GlorotUniform)?)
            .bias_initializer(read.initializer("bias_initializer", Initializer::Zeros)?);
        read.apply_base(&mut conv.base)?;
        Ok(conv)
    }

    /// `filters` output channels from a `kernel_size` window (`3` or `(3, 5)`), Keras's defaults.
    pub fn new(filters: usize, kernel_size: impl Into<Size2>) -> Conv2D {
        Conv2D {
            base: LayerBase::new("Conv2D", "conv2d"),
            filters,
            kernel_size: kernel_size.into().0,
            options: Conv2dOptions::default(),
            activation: Ok(ActivationFn::Linear),
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel: None,
            bias: None,
        }
    }

    /// The step of the window (default 1).
    pub fn strides(mut self, strides: impl Into<Size2>) -> Conv2D {
        self.options.strides = strides.into().0;
        self
    }

    /// `Padding::Valid` (default) or `Padding::Same`.
    pub fn padding(mut self, padding: Padding) -> Conv2D {
        self.options.padding = padding;
        self
    }

    /// The spacing of the kernel taps (default 1).
    pub fn dilation_rate(mut self, dilation: impl Into<Size2>) -> Conv2D {
        self.options.dilation = dilation.into().0;
        self
    }

    /// The activation by Keras's name; an unknown name is reported when the layer is built.
    pub fn activation(mut self, name: &str) -> Conv2D {
        self.activation = ActivationFn::from_name(name);
        self
    }

    /// The activation as a value.
    pub fn activation_fn(mut self, activation: ActivationFn) -> Conv2D {
        self.activation = Ok(activation);
        self
    }

    /// Whether to add a bias (default true).
    pub fn use_bias(mut self, use_bias: bool) -> Conv2D {
        self.use_bias = use_bias;
        self
    }

    /// How to fill the kernel (default glorot_uniform).
    pub fn kernel_initializer(mut self, init: Initializer) -> Conv2D {
        self.kernel_initializer = init;
        self
    }

    /// How to fill the bias (default zeros).
    pub fn bias_initializer(mut self, init: Initializer) -> Conv2D {
        self.bias_initializer = init;
        self
    }

    /// The kernel `(KH, KW, C, F)`, once built.
    pub fn kernel(&self) -> Option<&Var> {
        self.kernel.as_ref()
    }

    /// The bias `(F,)`, once built (and if `use_bias`).
    pub fn bias(&self) -> Option<&Var> {
        self.bias.as_ref()
    }
}

impl Layer for Conv2D {
    fn get_config(&self) -> Result<Config> {
        let mut config = base_config(&self.base);
        config.insert("filters".into(), self.filters.into());
        config.insert("kernel_size".into(), pair_json(self.kernel_size));
        config.insert("strides".into(), pair_json(self.options.strides));
        config.insert("padding".into(), padding_json(self.options.padding));
        config.insert("data_format".into(), "channels_last".into());
        config.insert("dilation_rate".into(), pair_json(self.options.dilation));
        config.insert("groups".into(), 1.into());
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
        check_min_ndim(self.name(), shape, 4)?;
        let channels = last_axis(self.name(), shape)?;
        let [kh, kw] = self.kernel_size;
        let kernel = self
            .kernel_initializer
            .sample(&[kh, kw, channels, self.filters]);
        self.kernel = Some(Var::parameter(kernel));
        if self.use_bias {
            self.bias = Some(Var::parameter(
                self.bias_initializer.sample(&[self.filters]),
            ));
        }
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Shape> {
        let shape = single(self.name(), input_shapes)?;
        check_min_ndim(self.name(), shape, 4)?;
        if let Some(kernel) = &self.kernel {
            check_last_axis(self.name(), shape, kernel.shape()[2])?;
        }
        let [oh, ow] =
            spatial_output(self.name(), "conv2d", shape, self.kernel_size, self.options)?;
        Ok(vec![shape[0], oh, ow, Some(self.filters)])
    }

    fn call(&mut self, inputs: &[Var], training: bool) -> Result<Var> {
        self.call_with_logits(inputs, training)?.output()
    }

    fn call_with_logits(&mut self, inputs: &[Var], _training: bool) -> Result<Output> {
        let x = single(self.name(), inputs)?;
        let kernel = self.kernel.as_ref().ok_or_else(|| not_built(self.name()))?;
        let trainable = self.base.trainable;
        let bias = self.bias.as_ref().map(|b| live(b, trainable));
        let (kernel, activation) = (live(kernel, trainable), self.activation.clone()?);
        if activation == ActivationFn::Relu {
            // The course's `Conv2D(..., activation='relu')`: one op, the ReLU applied as the
            // convolution writes its output (see `conv2d_relu`).
            let y = x.conv2d_relu(&kernel, bias.as_ref(), self.options)?;
            return Ok(Output::plain(y));
        }
        // z: (N, OH, OW, F)
        let z = x.conv2d(&kernel, bias.as_ref(), self.options)?;
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

/// The error of a layer called before it has weights.
pub(crate) fn not_built(name: &str) -> LayerError {
    LayerError::invalid(
        format!("layer \"{name}\""),
        "a built layer (add it to a model with a known input shape)",
        "a layer without weights",
    )
}

/// `[OH, OW]` of a window sliding over `(N, H, W, C)` (convolution or pooling), by Keras's
/// rules; an unknown size stays unknown.
///
/// # Errors
/// [`LayerError::IncompatibleInput`] when a `'valid'` window does not fit (Keras: "One of the
/// dimensions in the output is <= 0 due to downsampling in conv2d").
pub(crate) fn spatial_output(
    layer: &str,
    op: &str,
    shape: &Shape,
    window: [usize; 2],
    options: Conv2dOptions,
) -> Result<[Option<usize>; 2]> {
    let mut out = [None, None];
    for axis in 0..2 {
        let Some(n) = shape[1 + axis] else { continue };
        let (k, s, d) = (window[axis], options.strides[axis], options.dilation[axis]);
        if s == 0 || d == 0 || k == 0 {
            return Err(LayerError::invalid(
                format!("layer \"{layer}\""),
                "window sizes, strides and dilation rates ≥ 1",
                format!(
                    "window {window:?}, strides {:?}, dilation {:?}",
                    options.strides, options.dilation
                ),
            ));
        }
        let k_eff = k + (k - 1) * (d - 1);
        let size = match options.padding {
            Padding::Same => n.div_ceil(s),
            Padding::Valid if n >= k_eff => (n - k_eff) / s + 1,
            Padding::Valid => 0,
        };
        if size == 0 {
            return Err(LayerError::IncompatibleInput {
                layer: layer.to_string(),
                input: 0,
                detail: format!(
                    "One of the dimensions in the output is <= 0 due to downsampling in {op}. \
                     Consider increasing the input size. Received input shape {} which would \
                     produce output shape with a zero or negative value in a dimension.",
                    format_shape(shape)
                ),
            });
        }
        out[axis] = Some(size);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use astrograd_autograd::Tensor;

    #[test]
    fn output_sizes_follow_keras() {
        let conv = Conv2D::new(8, 3).strides(2).padding(Padding::Same);
        let out = conv
            .compute_output_shape(&[vec![None, Some(69), Some(68), Some(3)]])
            .unwrap();
        assert_eq!(out, vec![None, Some(35), Some(34), Some(8)]);
        let conv = Conv2D::new(8, (3, 3)).dilation_rate(2);
        let out = conv
            .compute_output_shape(&[vec![None, Some(7), None, Some(3)]])
            .unwrap();
        assert_eq!(out, vec![None, Some(3), None, Some(8)]);
    }

    #[test]
    fn rank_2_input_is_rejected_with_keras_wording() {
        let mut conv = Conv2D::new(8, 3).with_name("conv2d");
        let err = conv
            .build(&[vec![None, Some(784)]])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "Input 0 of layer \"conv2d\" is incompatible with the layer: expected min_ndim=4, \
             found ndim=2. Full shape received: (None, 784)"
        );
        let err = conv
            .compute_output_shape(&[vec![None, Some(2), Some(2), Some(1)]])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("One of the dimensions in the output is <= 0"),
            "{err}"
        );
    }

    #[test]
    fn runs_the_convolution_with_bias_and_activation() {
        let mut conv = Conv2D::new(1, 2).activation("relu");
        conv.build(&[vec![None, Some(3), Some(3), Some(1)]])
            .unwrap();
        conv.kernel()
            .unwrap()
            .set_value(Tensor::ones(&[2, 2, 1, 1]))
            .unwrap();
        conv.bias()
            .unwrap()
            .set_value(Tensor::full(&[1], -13.0))
            .unwrap();
        let x = Var::constant(
            Tensor::from_vec((1..=9).map(|v| v as f32).collect(), &[1, 3, 3, 1]).unwrap(),
        );
        // window sums 12, 16, 24, 28, minus 13, relu
        let y = conv.call(&[x], false).unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![0.0, 3.0, 11.0, 15.0]);
        let names: Vec<String> = conv.weights().into_iter().map(|w| w.name).collect();
        assert!(names[0].ends_with("/kernel:0") && names[1].ends_with("/bias:0"));
    }
}
