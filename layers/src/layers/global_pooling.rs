//! `GlobalAveragePooling2D` and `GlobalMaxPooling2D`: one number per channel per image.
//!
//! `y[n, c] = mean (or max) over h, w of x[n, h, w, c]`; ops in `autograd/src/ops/global_pool.rs`.
//!
//! # Shapes
//! `x: (N, H, W, C)`, `y: (N, C)`. No parameters.
use astrograd_autograd::Var;

use crate::config::{base_config, Config, ConfigReader};
use crate::layer::{Layer, LayerBase};
use crate::shape::{check_ndim, single, Shape};
use crate::Result;

/// `keras.layers.GlobalAveragePooling2D()`: the mean of each channel over the image.
///
/// ```
/// use astrograd_layers::{GlobalAveragePooling2D, Layer};
/// let gap = GlobalAveragePooling2D::new();
/// let out = gap.compute_output_shape(&[vec![None, Some(5), Some(5), Some(1280)]])?;
/// assert_eq!(out, vec![None, Some(1280)]);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
pub struct GlobalAveragePooling2D {
    base: LayerBase,
}

/// `keras.layers.GlobalMaxPooling2D()`: the max of each channel over the image.
pub struct GlobalMaxPooling2D {
    base: LayerBase,
}

/// The config both global poolings write.
fn global_pooling_config(base: &LayerBase) -> Config {
    let mut config = base_config(base);
    config.insert("data_format".into(), "channels_last".into());
    config.insert("keepdims".into(), false.into());
    config
}

/// Reads the config both global poolings write.
fn read_global_pooling(read: ConfigReader<'_>, base: &mut LayerBase) -> Result<()> {
    read.require("data_format", "channels_last".into())?;
    read.require("keepdims", false.into())?;
    read.apply_base(base)
}

impl GlobalAveragePooling2D {
    /// `GlobalAveragePooling2D.from_config(config)` (see [`crate::config`]).
    ///
    /// # Errors
    /// `keepdims` true or `channels_first` (not supported), a bad name or dtype.
    pub fn from_config(config: &Config) -> Result<GlobalAveragePooling2D> {
        let mut layer = GlobalAveragePooling2D::new();
        read_global_pooling(
            ConfigReader::new("GlobalAveragePooling2D", config),
            &mut layer.base,
        )?;
        Ok(layer)
    }

    /// The layer (it has no options).
    pub fn new() -> GlobalAveragePooling2D {
        GlobalAveragePooling2D {
            base: LayerBase::new("GlobalAveragePooling2D", "global_average_pooling2d"),
        }
    }
}

impl GlobalMaxPooling2D {
    /// `GlobalMaxPooling2D.from_config(config)` (see [`crate::config`]).
    ///
    /// # Errors
    /// `keepdims` true or `channels_first` (not supported), a bad name or dtype.
    pub fn from_config(config: &Config) -> Result<GlobalMaxPooling2D> {
        let mut layer = GlobalMaxPooling2D::new();
        read_global_pooling(
            ConfigReader::new("GlobalMaxPooling2D", config),
            &mut layer.base,
        )?;
        Ok(layer)
    }

    /// The layer (it has no options).
    pub fn new() -> GlobalMaxPooling2D {
        GlobalMaxPooling2D {
            base: LayerBase::new("GlobalMaxPooling2D", "global_max_pooling2d"),
        }
    }
}

impl Default for GlobalAveragePooling2D {
    fn default() -> Self {
        Self::new()
    }
}

impl Default for GlobalMaxPooling2D {
    fn default() -> Self {
        Self::new()
    }
}

/// `(N, H, W, C)` → `(N, C)`.
fn global_output_shape(layer: &str, input_shapes: &[Shape]) -> Result<Shape> {
    let shape = single(layer, input_shapes)?;
    check_ndim(layer, shape, 4)?;
    Ok(vec![shape[0], shape[3]])
}

impl Layer for GlobalAveragePooling2D {
    fn get_config(&self) -> Result<Config> {
        Ok(global_pooling_config(&self.base))
    }

    fn base(&self) -> &LayerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut LayerBase {
        &mut self.base
    }

    fn build(&mut self, input_shapes: &[Shape]) -> Result<()> {
        global_output_shape(self.name(), input_shapes).map(|_| ())
    }

    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Shape> {
        global_output_shape(self.name(), input_shapes)
    }

    fn call(&mut self, inputs: &[Var], _training: bool) -> Result<Var> {
        Ok(single(self.name(), inputs)?.global_average_pool2d()?)
    }
}

impl Layer for GlobalMaxPooling2D {
    fn get_config(&self) -> Result<Config> {
        Ok(global_pooling_config(&self.base))
    }

    fn base(&self) -> &LayerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut LayerBase {
        &mut self.base
    }

    fn build(&mut self, input_shapes: &[Shape]) -> Result<()> {
        global_output_shape(self.name(), input_shapes).map(|_| ())
    }

    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Shape> {
        global_output_shape(self.name(), input_shapes)
    }

    fn call(&mut self, inputs: &[Var], _training: bool) -> Result<Var> {
        Ok(single(self.name(), inputs)?.global_max_pool2d()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use astrograd_autograd::Tensor;

    #[test]
    fn mean_and_max_per_channel() {
        let x = Var::constant(Tensor::from_vec(vec![1.0, 10.0, 3.0, 30.0], &[1, 2, 1, 2]).unwrap());
        let avg = GlobalAveragePooling2D::new()
            .call(std::slice::from_ref(&x), false)
            .unwrap();
        assert_eq!(avg.value().to_vec().unwrap(), vec![2.0, 20.0]);
        let max = GlobalMaxPooling2D::new().call(&[x], false).unwrap();
        assert_eq!(max.value().to_vec().unwrap(), vec![3.0, 30.0]);
    }
}
