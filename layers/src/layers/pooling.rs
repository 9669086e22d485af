//! `MaxPooling2D` and `AveragePooling2D`: the max or the mean of each window, per channel.
//!
//! The ops, with their math and gradients, are `autograd/src/ops/max_pool2d.rs` and
//! `avg_pool2d.rs`. Defaults as Keras: `pool_size=(2, 2)`, `strides=None` (= the pool size),
//! `padding='valid'`; output sizes as a convolution with the pool as kernel (69 → 34).
//!
//! # Shapes
//! `x: (N, H, W, C)`, `y: (N, OH, OW, C)`. No parameters.
use astrograd_autograd::ops::conv2d::{Conv2dOptions, Padding};
use astrograd_autograd::ops::max_pool2d::Pool2dOptions;
use astrograd_autograd::Var;

use super::conv2d::spatial_output;
use super::Size2;
use crate::config::{base_config, padding_json, pair_json, Config, ConfigReader};
use crate::layer::{Layer, LayerBase};
use crate::shape::{check_ndim, single, Shape};
use crate::Result;

/// Which statistic a pooling layer takes of each window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PoolKind {
    Max,
    Average,
}

/// The options and name shared by both pooling layers.
struct Pool2d {
    base: LayerBase,
    kind: PoolKind,
    options: Pool2dOptions,
}

impl Pool2d {
    fn output_shape(&self, input_shapes: &[Shape]) -> Result<Shape> {
        let shape = single(self.base.name(), input_shapes)?;
        check_ndim(self.base.name(), shape, 4)?;
        let window = Conv2dOptions {
            strides: self.options.strides_or_pool(),
            padding: self.options.padding,
            dilation: [1, 1],
        };
        let op = match self.kind {
            PoolKind::Max => "max_pool2d",
            PoolKind::Average => "avg_pool2d",
        };
        let [oh, ow] = spatial_output(self.base.name(), op, shape, self.options.pool, window)?;
        Ok(vec![shape[0], oh, ow, shape[3]])
    }

    /// Keras's config of a 2-D pooling: `pool_size`, `padding`, `strides` (the pool size when
    /// none was given, as Keras writes it), `data_format`.
    fn config(&self) -> Config {
        let mut config = base_config(&self.base);
        config.insert("pool_size".into(), pair_json(self.options.pool));
        config.insert("padding".into(), padding_json(self.options.padding));
        config.insert("strides".into(), pair_json(self.options.strides_or_pool()));
        config.insert("data_format".into(), "channels_last".into());
        config
    }

    /// Reads [`Pool2d::config`] into a new pooling layer of `kind`.
    fn from_config(base: LayerBase, kind: PoolKind, config: &Config) -> Result<Pool2d> {
        let read = ConfigReader::new(base.class_name(), config);
        read.require("data_format", "channels_last".into())?;
        let pool = read.pair("pool_size")?;
        let strides = match read.get("strides") {
            Some(_) => Some(read.pair("strides")?),
            None => None,
        };
        let mut layer = Pool2d {
            base,
            kind,
            options: Pool2dOptions {
                pool,
                strides,
                padding: read.padding("padding")?,
            },
        };
        read.apply_base(&mut layer.base)?;
        Ok(layer)
    }

    fn forward(&self, inputs: &[Var]) -> Result<Var> {
        let x = single(self.base.name(), inputs)?;
        Ok(match self.kind {
            PoolKind::Max => x.max_pool2d(self.options)?,
            PoolKind::Average => x.avg_pool2d(self.options)?,
        })
    }
}

/// `keras.layers.MaxPooling2D(pool_size=(2, 2), strides=None, padding='valid')`.
///
/// ```
/// use astrograd_layers::{Layer, MaxPooling2D};
/// let pool = MaxPooling2D::new();
/// let out = pool.compute_output_shape(&[vec![None, Some(69), Some(69), Some(32)]])?;
/// assert_eq!(out, vec![None, Some(34), Some(34), Some(32)]);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
pub struct MaxPooling2D(Pool2d);

/// `keras.layers.AveragePooling2D(pool_size=(2, 2), strides=None, padding='valid')`; with
/// `'same'` the mean counts only the cells inside the image.
pub struct AveragePooling2D(Pool2d);

impl MaxPooling2D {
    /// `MaxPooling2D.from_config(config)`: the layer a config describes (see [`crate::config`]).
    ///
    /// # Errors
    /// A missing or mistyped option, or `channels_first`.
    pub fn from_config(config: &Config) -> Result<MaxPooling2D> {
        let base = LayerBase::new("MaxPooling2D", "max_pooling2d");
        Ok(MaxPooling2D(Pool2d::from_config(
            base,
            PoolKind::Max,
            config,
        )?))
    }

    /// A 2×2 pool with stride 2 and `'valid'` padding (Keras's defaults).
    pub fn new() -> MaxPooling2D {
        MaxPooling2D(Pool2d {
            base: LayerBase::new("MaxPooling2D", "max_pooling2d"),
            kind: PoolKind::Max,
            options: Pool2dOptions::default(),
        })
    }

    /// The window (default 2; `3` or `(3, 3)`).
    pub fn pool_size(mut self, pool: impl Into<Size2>) -> MaxPooling2D {
        self.0.options.pool = pool.into().0;
        self
    }

    /// The step of the window (default: the pool size).
    pub fn strides(mut self, strides: impl Into<Size2>) -> MaxPooling2D {
        self.0.options.strides = Some(strides.into().0);
        self
    }

    /// `Padding::Valid` (default) or `Padding::Same`.
    pub fn padding(mut self, padding: Padding) -> MaxPooling2D {
        self.0.options.padding = padding;
        self
    }
}

impl Default for MaxPooling2D {
    fn default() -> MaxPooling2D {
        MaxPooling2D::new()
    }
}

impl Layer for MaxPooling2D {
    fn get_config(&self) -> Result<Config> {
        Ok(self.0.config())
    }

    fn base(&self) -> &LayerBase {
        &self.0.base
    }

    fn base_mut(&mut self) -> &mut LayerBase {
        &mut self.0.base
    }

    fn build(&mut self, input_shapes: &[Shape]) -> Result<()> {
        self.0.output_shape(input_shapes).map(|_| ())
    }

    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Shape> {
        self.0.output_shape(input_shapes)
    }

    fn call(&mut self, inputs: &[Var], _training: bool) -> Result<Var> {
        self.0.forward(inputs)
    }
}

impl AveragePooling2D {
    /// `AveragePooling2D.from_config(config)`: the layer a config describes (see [`crate::config`]).
    ///
    /// # Errors
    /// A missing or mistyped option, or `channels_first`.
    pub fn from_config(config: &Config) -> Result<AveragePooling2D> {
        let base = LayerBase::new("AveragePooling2D", "average_pooling2d");
        Ok(AveragePooling2D(Pool2d::from_config(
            base,
            PoolKind::Average,
            config,
        )?))
    }

    /// A 2×2 pool with stride 2 and `'valid'` padding (Keras's defaults).
    pub fn new() -> AveragePooling2D {
        AveragePooling2D(Pool2d {
            base: LayerBase::new("AveragePooling2D", "average_pooling2d"),
            kind: PoolKind::Average,
            options: Pool2dOptions::default(),
        })
    }

    /// The window (default 2; `3` or `(3, 3)`).
    pub fn pool_size(mut self, pool: impl Into<Size2>) -> AveragePooling2D {
        self.0.options.pool = pool.into().0;
        self
    }

    /// The step of the window (default: the pool size).
    pub fn strides(mut self, strides: impl Into<Size2>) -> AveragePooling2D {
        self.0.options.strides = Some(strides.into().0);
        self
    }

    /// `Padding::Valid` (default) or `Padding::Same`.
    pub fn padding(mut self, padding: Padding) -> AveragePooling2D {
        self.0.options.padding = padding;
        self
    }
}

impl Default for AveragePooling2D {
    fn default() -> AveragePooling2D {
        AveragePooling2D::new()
    }
}

impl Layer for AveragePooling2D {
    fn get_config(&self) -> Result<Config> {
        Ok(self.0.config())
    }

    fn base(&self) -> &LayerBase {
        &self.0.base
    }

    fn base_mut(&mut self) -> &mut LayerBase {
        &mut self.0.base
    }

    fn build(&mut self, input_shapes: &[Shape]) -> Result<()> {
        self.0.output_shape(input_shapes).map(|_| ())
    }

    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Shape> {
        self.0.output_shape(input_shapes)
    }

    fn call(&mut self, inputs: &[Var], _training: bool) -> Result<Var> {
        self.0.forward(inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use astrograd_autograd::Tensor;

    #[test]
    fn max_and_average_of_windows() {
        let x = Var::constant(
            Tensor::from_vec((1..=16).map(|v| v as f32).collect(), &[1, 4, 4, 1]).unwrap(),
        );
        let y = MaxPooling2D::new()
            .call(std::slice::from_ref(&x), false)
            .unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![6.0, 8.0, 14.0, 16.0]);
        let y = AveragePooling2D::new().call(&[x], false).unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![3.5, 5.5, 11.5, 13.5]);
    }

    #[test]
    fn shapes_and_rank_errors() {
        let pool = MaxPooling2D::new()
            .pool_size(3)
            .strides(2)
            .padding(Padding::Same)
            .with_name("p");
        let out = pool
            .compute_output_shape(&[vec![None, Some(7), Some(7), Some(1)]])
            .unwrap();
        assert_eq!(out, vec![None, Some(4), Some(4), Some(1)]);
        let err = pool
            .compute_output_shape(&[vec![None, Some(7)]])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("layer \"p\"") && err.contains("expected ndim=4, found ndim=2"),
            "{err}"
        );
    }
}
