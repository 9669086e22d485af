//! `Flatten`: `(N, H, W, C)` → `(N, H·W·C)`, row-major (the feature `(h, w, c)` lands at
//! column `(h·W + w)·C + c`). Op: `autograd/src/ops/flatten.rs`. No parameters.
use astrograd_autograd::Var;

use crate::config::{base_config, Config, ConfigReader};
use crate::layer::{Layer, LayerBase};
use crate::shape::{single, Shape};
use crate::Result;

/// `keras.layers.Flatten()`.
///
/// ```
/// use astrograd_layers::{Flatten, Layer};
/// let out = Flatten::new().compute_output_shape(&[vec![None, Some(28), Some(28)]])?;
/// assert_eq!(out, vec![None, Some(784)]);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
pub struct Flatten {
    base: LayerBase,
}

impl Flatten {
    /// `Flatten.from_config(config)`: the layer a config describes (see [`crate::config`]).
    ///
    /// # Errors
    /// `channels_first`, or a bad name, trainable flag or dtype.
    pub fn from_config(config: &Config) -> Result<Flatten> {
        let read = ConfigReader::new("Flatten", config);
        read.require("data_format", "channels_last".into())?;
        let mut flatten = Flatten::new();
        read.apply_base(&mut flatten.base)?;
        Ok(flatten)
    }

    /// The layer (it has no options).
    pub fn new() -> Flatten {
        Flatten {
            base: LayerBase::new("Flatten", "flatten"),
        }
    }
}

impl Default for Flatten {
    fn default() -> Self {
        Self::new()
    }
}

impl Layer for Flatten {
    fn get_config(&self) -> Result<Config> {
        let mut config = base_config(&self.base);
        config.insert("data_format".into(), "channels_last".into());
        Ok(config)
    }

    fn base(&self) -> &LayerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut LayerBase {
        &mut self.base
    }

    fn build(&mut self, input_shapes: &[Shape]) -> Result<()> {
        self.compute_output_shape(input_shapes).map(|_| ())
    }

    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Shape> {
        let shape = single(self.name(), input_shapes)?;
        let batch = shape.first().copied().flatten();
        // An unknown size anywhere makes the product unknown.
        let features = shape
            .iter()
            .skip(1)
            .try_fold(1usize, |product, d| d.map(|d| product * d));
        Ok(vec![batch, features])
    }

    fn call(&mut self, inputs: &[Var], _training: bool) -> Result<Var> {
        Ok(single(self.name(), inputs)?.flatten()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use astrograd_autograd::Tensor;

    #[test]
    fn flattens_all_but_the_batch() {
        let flatten = Flatten::new();
        assert_eq!(
            flatten
                .compute_output_shape(&[vec![None, Some(69), Some(69), Some(3)]])
                .unwrap(),
            vec![None, Some(14283)]
        );
        assert_eq!(
            flatten
                .compute_output_shape(&[vec![None, None, Some(3)]])
                .unwrap(),
            vec![None, None]
        );
        let y = Flatten::new()
            .call(&[Var::constant(Tensor::zeros(&[2, 3, 4]))], false)
            .unwrap();
        assert_eq!(y.shape(), vec![2, 12]);
    }
}
