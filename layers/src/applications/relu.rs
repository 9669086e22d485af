//! `ReLU`: Keras's `layers.ReLU(max_value)` layer, as MobileNetV2 uses it (`Conv1_relu`,
//! `block_1_expand_relu`, …: `ReLU(6.0)`).
//!
//! # Math
//! `y = min(max(x, 0), max_value)`; without a `max_value`, `y = max(x, 0)`. `ReLU(6.0)` is
//! `relu6` (its op and gradient: `autograd/src/ops/relu6.rs`).
//!
//! It computes what `Activation("relu6")` computes; it exists so that the summary and the
//! weight files show Keras's class name (`Conv1_relu (ReLU)`), and the automatic name `re_lu`.
use astrograd_autograd::{Tensor, Var};

use crate::config::{base_config, json_f32, Config, ConfigReader};
use crate::layer::{Layer, LayerBase};
use crate::shape::{single, Shape};
use crate::{LayerError, Result};
use serde_json::Value;

/// `keras.layers.ReLU(max_value=None)` (no `negative_slope`, no `threshold`).
///
/// ```
/// use astrograd_layers::applications::ReLU;
/// use astrograd_layers::Layer;
/// use astrograd_autograd::{Tensor, Var};
/// let mut relu6 = ReLU::new().max_value(6.0);
/// let x = Var::constant(Tensor::from_vec(vec![-1.0, 3.0, 9.0], &[3])?);
/// assert_eq!(relu6.call(&[x], false)?.value().to_vec()?, vec![0.0, 3.0, 6.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ReLU {
    base: LayerBase,
    max_value: Option<f32>,
}

impl ReLU {
    /// `ReLU.from_config(config)`: the layer a config describes (see [`crate::config`]).
    ///
    /// # Errors
    /// A `negative_slope` or `threshold` other than 0 (not supported), a mistyped `max_value`.
    pub fn from_config(config: &Config) -> Result<ReLU> {
        let read = ConfigReader::new("ReLU", config);
        for key in ["negative_slope", "threshold"] {
            if read.f32_or(key, 0.0)? != 0.0 {
                return Err(read.error(key, "0 (the only value astrograd supports)", &config[key]));
            }
        }
        let mut relu = ReLU::new();
        if read.get("max_value").is_some() {
            relu = relu.max_value(read.f32_or("max_value", 0.0)?);
        }
        read.apply_base(&mut relu.base)?;
        Ok(relu)
    }

    /// `ReLU()`: `max(x, 0)`.
    pub fn new() -> ReLU {
        ReLU {
            base: LayerBase::new("ReLU", "re_lu"),
            max_value: None,
        }
    }

    /// `ReLU(max_value)`: the output is capped at `max_value` (MobileNetV2: 6).
    pub fn max_value(mut self, max_value: f32) -> ReLU {
        self.max_value = Some(max_value);
        self
    }
}

impl Default for ReLU {
    fn default() -> Self {
        Self::new()
    }
}

impl Layer for ReLU {
    fn get_config(&self) -> Result<Config> {
        let mut config = base_config(&self.base);
        config.insert(
            "max_value".into(),
            self.max_value.map_or(Value::Null, json_f32),
        );
        config.insert("negative_slope".into(), json_f32(0.0));
        config.insert("threshold".into(), json_f32(0.0));
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
        match self.max_value {
            Some(v) if v.is_nan() || v < 0.0 => Err(LayerError::invalid(
                format!("layer \"{}\"", self.name()),
                "a max_value ≥ 0",
                format!("max_value={v}"),
            )),
            _ => Ok(()),
        }
    }

    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Shape> {
        Ok(single(self.name(), input_shapes)?.clone())
    }

    fn call(&mut self, inputs: &[Var], _training: bool) -> Result<Var> {
        let x = single(self.name(), inputs)?;
        Ok(match self.max_value {
            None => x.relu()?,
            Some(6.0) => x.relu6()?,
            // min(relu(x), v) with v as a constant of x's shape.
            Some(v) => {
                let cap = Var::constant(Tensor::ones(&x.shape()).mul_scalar(v));
                x.relu()?.minimum(&cap)?
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_and_names_as_keras() {
        crate::reset_names();
        let x = Var::constant(Tensor::from_vec(vec![-2.0, 0.5, 4.0, 7.0], &[2, 2]).unwrap());
        let mut plain = ReLU::new();
        assert_eq!(plain.name(), "re_lu");
        assert_eq!(plain.class_name(), "ReLU");
        let y = plain.call(std::slice::from_ref(&x), true).unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![0.0, 0.5, 4.0, 7.0]);
        let y = ReLU::new()
            .max_value(6.0)
            .call(std::slice::from_ref(&x), true)
            .unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![0.0, 0.5, 4.0, 6.0]);
        let y = ReLU::new().max_value(1.0).call(&[x], true).unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![0.0, 0.5, 1.0, 1.0]);
        let mut bad = ReLU::new().max_value(-1.0);
        assert!(bad.build(&[vec![None, Some(2)]]).is_err());
    }
}
