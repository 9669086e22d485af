//! `ZeroPadding2D`: a border of zeros around each image (before a strided `'valid'`
//! convolution in MobileNetV2 and ResNet50). Op: `autograd/src/ops/zero_pad2d.rs`.
//!
//! # Shapes
//! `x: (N, H, W, C)`, `y: (N, top + H + bottom, left + W + right, C)`. No parameters.
use astrograd_autograd::ops::zero_pad2d::Padding2d;
use astrograd_autograd::Var;

use crate::config::{base_config, Config, ConfigReader};
use crate::layer::{Layer, LayerBase};
use crate::shape::{check_ndim, single, Shape};
use crate::Result;
use serde_json::{json, Value};

/// How much to pad, in any of Keras's three forms: `1` (all sides), `(1, 2)` (top and bottom
/// 1, left and right 2), `((0, 1), (0, 1))` (`((top, bottom), (left, right))`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZeroPadding(pub Padding2d);

impl From<usize> for ZeroPadding {
    fn from(p: usize) -> ZeroPadding {
        ZeroPadding(((p, p), (p, p)))
    }
}

impl From<(usize, usize)> for ZeroPadding {
    fn from((h, w): (usize, usize)) -> ZeroPadding {
        ZeroPadding(((h, h), (w, w)))
    }
}

impl From<Padding2d> for ZeroPadding {
    fn from(pads: Padding2d) -> ZeroPadding {
        ZeroPadding(pads)
    }
}

/// `keras.layers.ZeroPadding2D(padding=(1, 1))`.
///
/// ```
/// use astrograd_layers::{Layer, ZeroPadding2D};
/// let pad = ZeroPadding2D::new(((0, 1), (0, 1)));
/// let out = pad.compute_output_shape(&[vec![None, Some(112), Some(112), Some(96)]])?;
/// assert_eq!(out, vec![None, Some(113), Some(113), Some(96)]);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
pub struct ZeroPadding2D {
    base: LayerBase,
    pads: Padding2d,
}

impl ZeroPadding2D {
    /// `ZeroPadding2D.from_config(config)`: the layer a config describes (see
    /// [`crate::config`]). `padding` is `n`, `[h, w]` or `[[top, bottom], [left, right]]`.
    ///
    /// # Errors
    /// A padding in none of these forms, or `channels_first`.
    pub fn from_config(config: &Config) -> Result<ZeroPadding2D> {
        let read = ConfigReader::new("ZeroPadding2D", config);
        read.require("data_format", "channels_last".into())?;
        let value = read.get("padding").cloned().unwrap_or(Value::Null);
        let whole = |v: &Value| v.as_u64().and_then(|n| usize::try_from(n).ok());
        let pair = |v: &Value| match v.as_array().map(Vec::as_slice) {
            Some([a, b]) => Some((whole(a)?, whole(b)?)),
            _ => whole(v).map(|n| (n, n)),
        };
        let pads = match value.as_array().map(Vec::as_slice) {
            Some([h, w]) => pair(h).zip(pair(w)),
            _ => whole(&value).map(|n| ((n, n), (n, n))),
        };
        let Some(pads) = pads else {
            return Err(read.error(
                "padding",
                "n, [h, w] or [[top, bottom], [left, right]]",
                &value,
            ));
        };
        let mut padding = ZeroPadding2D::new(pads);
        read.apply_base(&mut padding.base)?;
        Ok(padding)
    }

    /// Pads by `padding` (`1`, `(1, 2)` or `((top, bottom), (left, right))`).
    pub fn new(padding: impl Into<ZeroPadding>) -> ZeroPadding2D {
        ZeroPadding2D {
            base: LayerBase::new("ZeroPadding2D", "zero_padding2d"),
            pads: padding.into().0,
        }
    }
}

impl Default for ZeroPadding2D {
    /// Keras's default, one pixel on every side.
    fn default() -> Self {
        ZeroPadding2D::new(1)
    }
}

impl Layer for ZeroPadding2D {
    fn get_config(&self) -> Result<Config> {
        let mut config = base_config(&self.base);
        let ((top, bottom), (left, right)) = self.pads;
        config.insert("padding".into(), json!([[top, bottom], [left, right]]));
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
        check_ndim(self.name(), shape, 4)?;
        let ((top, bottom), (left, right)) = self.pads;
        Ok(vec![
            shape[0],
            shape[1].map(|h| top + h + bottom),
            shape[2].map(|w| left + w + right),
            shape[3],
        ])
    }

    fn call(&mut self, inputs: &[Var], _training: bool) -> Result<Var> {
        Ok(single(self.name(), inputs)?.zero_pad2d(self.pads)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use astrograd_autograd::Tensor;

    #[test]
    fn the_three_forms_of_padding() {
        assert_eq!(ZeroPadding::from(3).0, ((3, 3), (3, 3)));
        assert_eq!(ZeroPadding::from((1, 2)).0, ((1, 1), (2, 2)));
        let y = ZeroPadding2D::new(1)
            .call(&[Var::constant(Tensor::ones(&[1, 2, 2, 1]))], false)
            .unwrap();
        assert_eq!(y.shape(), vec![1, 4, 4, 1]);
    }
}
