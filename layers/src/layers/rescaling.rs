//! `Rescaling`: `y = x · scale + offset` (pixel values 0–255 to 0–1 with `scale = 1/255`, or
//! to −1–1 with `scale = 1/127.5, offset = −1`). No parameters.
use astrograd_autograd::Var;

use crate::config::{base_config, json_f32, Config, ConfigReader};
use crate::layer::{Layer, LayerBase};
use crate::shape::{single, Shape};
use crate::Result;
use serde_json::Value;

/// `keras.layers.Rescaling(scale, offset=0.0)`.
///
/// ```
/// use astrograd_layers::{Layer, Rescaling};
/// use astrograd_autograd::{Tensor, Var};
/// let mut rescale = Rescaling::new(1.0 / 127.5).offset(-1.0);
/// let x = Var::constant(Tensor::from_vec(vec![0.0, 255.0], &[1, 2])?);
/// assert_eq!(rescale.call(&[x], false)?.value().to_vec()?, vec![-1.0, 1.0]);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
pub struct Rescaling {
    base: LayerBase,
    scale: f32,
    offset: f32,
}

impl Rescaling {
    /// `Rescaling.from_config(config)`: the layer a config describes (see [`crate::config`]).
    ///
    /// # Errors
    /// A missing or mistyped scale or offset.
    pub fn from_config(config: &Config) -> Result<Rescaling> {
        let read = ConfigReader::new("Rescaling", config);
        let scale = read
            .get("scale")
            .ok_or_else(|| read.error("scale", "a number", &Value::Null))?;
        let scale = scale
            .as_f64()
            .ok_or_else(|| read.error("scale", "a number", scale))? as f32;
        let mut rescaling = Rescaling::new(scale).offset(read.f32_or("offset", 0.0)?);
        read.apply_base(&mut rescaling.base)?;
        Ok(rescaling)
    }

    /// Multiplies by `scale` (offset 0).
    pub fn new(scale: f32) -> Rescaling {
        Rescaling {
            base: LayerBase::new("Rescaling", "rescaling"),
            scale,
            offset: 0.0,
        }
    }

    /// Adds `offset` after scaling.
    pub fn offset(mut self, offset: f32) -> Rescaling {
        self.offset = offset;
        self
    }
}

impl Layer for Rescaling {
    fn get_config(&self) -> Result<Config> {
        let mut config = base_config(&self.base);
        config.insert("scale".into(), json_f32(self.scale));
        config.insert("offset".into(), json_f32(self.offset));
        Ok(config)
    }

    fn base(&self) -> &LayerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut LayerBase {
        &mut self.base
    }

    fn build(&mut self, input_shapes: &[Shape]) -> Result<()> {
        single(self.name(), input_shapes).map(|_| ())
    }

    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Shape> {
        Ok(single(self.name(), input_shapes)?.clone())
    }

    fn call(&mut self, inputs: &[Var], _training: bool) -> Result<Var> {
        let x = single(self.name(), inputs)?;
        let scaled = x.mul_scalar(self.scale)?;
        if self.offset == 0.0 {
            return Ok(scaled);
        }
        Ok(scaled.add_scalar(self.offset)?)
    }
}
