//! `GlobalAveragePooling2D` and `GlobalMaxPooling2D`: one number per channel per image.
//!
//! `y[n, c] = mean (or max) over h, w of x[n, h, w, c]`; ops in `autograd/src/ops/global_pool.rs`.
//!
//! # Shapes
//! `x: (N, H, W, C)`, `y: (N, C)`. No parameters.
use astrograd_autograd::Var;

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

impl GlobalAveragePooling2D {
    /// The layer (it has no options).
    pub fn new() -> GlobalAveragePooling2D {
        GlobalAveragePooling2D {
            base: LayerBase::new("GlobalAveragePooling2D", "global_average_pooling2d"),
        }
    }
}

impl GlobalMaxPooling2D {
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
