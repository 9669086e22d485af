//! `Dropout`: while training, zero each value with probability `rate` and scale the rest by
//! `1/(1 − rate)`; the identity in `evaluate` and `predict`. Op: `autograd/src/ops/dropout.rs`.
//!
//! The masks come from the layer's own generator, seeded from `seed` when given, or else forked
//! from the global generator when the layer is built, so that `set_seed(42)` before building a
//! model fixes every mask of the run. No parameters.
use astrograd_autograd::Var;
use astrograd_tensor::random::{fork, Rng};

use crate::config::{base_config, json_f32, Config, ConfigReader};
use crate::layer::{Layer, LayerBase};
use crate::shape::{single, Shape};
use crate::{LayerError, Result};
use serde_json::Value;

/// `keras.layers.Dropout(rate, noise_shape=None, seed=None)` (no `noise_shape`).
///
/// ```
/// use astrograd_layers::{Dropout, Layer};
/// use astrograd_autograd::{Tensor, Var};
/// let mut dropout = Dropout::new(0.5).seed(1);
/// dropout.build(&[vec![None, Some(1000)]])?;
/// let x = Var::constant(Tensor::ones(&[1, 1000]));
/// let y = dropout.call(std::slice::from_ref(&x), true)?; // training: zeros and twos
/// assert!(y.value().as_slice()?.iter().all(|&v| v == 0.0 || v == 2.0));
/// assert_eq!(dropout.call(&[x], false)?.value().to_vec()?, vec![1.0; 1000]); // inference
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
pub struct Dropout {
    base: LayerBase,
    rate: f32,
    seed: Option<u64>,
    /// The generator of the masks, made by `build`.
    rng: Option<Rng>,
}

impl Dropout {
    /// `Dropout.from_config(config)`: the layer a config describes (see [`crate::config`]).
    ///
    /// # Errors
    /// A missing or mistyped rate, or a `noise_shape` (not supported).
    pub fn from_config(config: &Config) -> Result<Dropout> {
        let read = ConfigReader::new("Dropout", config);
        read.require_null(&["noise_shape"])?;
        let mut dropout = Dropout::new(read.f32_or("rate", f32::NAN)?);
        if read.get("seed").is_some() {
            dropout = dropout.seed(read.usize("seed")? as u64);
        }
        read.apply_base(&mut dropout.base)?;
        Ok(dropout)
    }

    /// Drops a fraction `rate` (in [0, 1)) of the values while training.
    pub fn new(rate: f32) -> Dropout {
        Dropout {
            base: LayerBase::new("Dropout", "dropout"),
            rate,
            seed: None,
            rng: None,
        }
    }

    /// Seeds this layer's masks (Keras's `seed=`).
    pub fn seed(mut self, seed: u64) -> Dropout {
        self.seed = Some(seed);
        self
    }

    /// The fraction dropped.
    pub fn rate(&self) -> f32 {
        self.rate
    }
}

impl Layer for Dropout {
    fn random_state(&self) -> Option<[u64; 4]> {
        self.rng.as_ref().map(Rng::state)
    }

    fn set_random_state(&mut self, state: [u64; 4]) {
        self.rng = Some(Rng::from_state(state));
    }

    fn get_config(&self) -> Result<Config> {
        let mut config = base_config(&self.base);
        config.insert("rate".into(), json_f32(self.rate));
        config.insert("noise_shape".into(), Value::Null);
        config.insert("seed".into(), self.seed.map_or(Value::Null, Value::from));
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
        if !(0.0..1.0).contains(&self.rate) {
            return Err(LayerError::invalid(
                format!("layer \"{}\"", self.name()),
                "a rate between 0 and 1 (1 excluded)",
                format!("rate={}", self.rate),
            ));
        }
        self.rng = Some(self.seed.map_or_else(fork, Rng::new));
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Shape> {
        Ok(single(self.name(), input_shapes)?.clone())
    }

    fn call(&mut self, inputs: &[Var], training: bool) -> Result<Var> {
        let x = single(self.name(), inputs)?;
        if !training {
            return Ok(x.clone());
        }
        let seed = self.seed;
        let rng = self
            .rng
            .get_or_insert_with(|| seed.map_or_else(fork, Rng::new));
        Ok(x.dropout(self.rate, training, rng)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use astrograd_autograd::Tensor;

    #[test]
    fn same_seed_same_mask_and_bad_rate() {
        let x = Var::constant(Tensor::ones(&[1, 64]));
        let mut a = Dropout::new(0.35).seed(3);
        let mut b = Dropout::new(0.35).seed(3);
        a.build(&[vec![None, Some(64)]]).unwrap();
        b.build(&[vec![None, Some(64)]]).unwrap();
        let ya = a
            .call(std::slice::from_ref(&x), true)
            .unwrap()
            .value()
            .to_vec();
        assert_eq!(ya, b.call(&[x], true).unwrap().value().to_vec());
        let err = Dropout::new(1.5)
            .build(&[vec![None, Some(64)]])
            .unwrap_err()
            .to_string();
        assert!(err.contains("rate=1.5"), "{err}");
    }
}
