//! `BatchNormalization`: normalise each channel (the last axis), then scale by `γ` and shift
//! by `β`.
//!
//! # Math
//! Training (inside `fit`): `y = γ·(x − μ_B)/sqrt(σ²_B + ε) + β` with the batch's statistics,
//! and the moving statistics move towards them: `mm = m·mm + (1 − m)·μ_B`,
//! `mv = m·mv + (1 − m)·v` (TF 2.10 stores the unbiased `v` after a convolution, the biased
//! one after Dense). Inference (evaluate, predict, or a layer with `trainable = false`):
//! `y = γ·(x − mm)/sqrt(mv + ε) + β`. The op, its gradients and their derivation:
//! `autograd/src/ops/batch_norm.rs`.
//!
//! # Shapes
//! `x: (N, …, C)`, `gamma`, `beta`, `moving_mean`, `moving_variance`: `(C,)`. Parameters `4·C`,
//! of which `2·C` trainable (`γ`, `β`).
use astrograd_autograd::ops::batch_norm::{BatchNormOptions, BatchNormState};
use astrograd_autograd::{Tensor, Var};

use super::conv2d::not_built;
use crate::config::{base_config, initializer_json, insert_nulls, json_f32, Config, ConfigReader};
use crate::initializers::Initializer;
use crate::layer::{live, Layer, LayerBase, Weight};
use crate::shape::{check_last_axis, check_min_ndim, last_axis, single, Shape};
use crate::Result;
use serde_json::{json, Value};

/// `keras.layers.BatchNormalization(axis=-1, momentum=0.99, epsilon=0.001, center=True,
/// scale=True)`.
///
/// ```
/// use astrograd_layers::{BatchNormalization, Layer};
/// let mut bn = BatchNormalization::new();
/// bn.build(&[vec![None, Some(26), Some(26), Some(32)]])?;
/// assert_eq!(bn.count_params(), 4 * 32);
/// assert_eq!(bn.weights().iter().filter(|w| w.trainable).count(), 2); // gamma, beta
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
pub struct BatchNormalization {
    base: LayerBase,
    momentum: f32,
    epsilon: f32,
    center: bool,
    scale: bool,
    /// `γ: (C,)` when `scale`.
    gamma: Option<Var>,
    /// `β: (C,)` when `center`.
    beta: Option<Var>,
    /// `(C,)`, a non-trainable weight (a leaf that only this layer changes).
    moving_mean: Option<Var>,
    /// `(C,)`, a non-trainable weight.
    moving_variance: Option<Var>,
}

/// Keras's options of BatchNormalization that astrograd does not have; always `null`.
const UNSUPPORTED: [&str; 4] = [
    "beta_regularizer",
    "gamma_regularizer",
    "beta_constraint",
    "gamma_constraint",
];

impl BatchNormalization {
    /// `BatchNormalization.from_config(config)`: the layer a config describes (see
    /// [`crate::config`]). Only the last axis is normalized, as in every course model.
    ///
    /// # Errors
    /// A missing or mistyped option, another axis, or an option astrograd does not support.
    pub fn from_config(config: &Config) -> Result<BatchNormalization> {
        let read = ConfigReader::new("BatchNormalization", config);
        read.require_null(&UNSUPPORTED)?;
        let axis = read.get("axis");
        let last_axis = match axis {
            None => true,
            Some(Value::Number(n)) => n.as_i64() == Some(-1) || n.as_u64().is_some(),
            Some(Value::Array(items)) => items.len() == 1 && items[0].is_number(),
            Some(_) => false,
        };
        if !last_axis {
            return Err(read.error(
                "axis",
                "the last axis (-1, or [3] for images)",
                axis.unwrap_or(&Value::Null),
            ));
        }
        for (key, expected) in [
            ("beta_initializer", Initializer::Zeros),
            ("gamma_initializer", Initializer::Ones),
            ("moving_mean_initializer", Initializer::Zeros),
            ("moving_variance_initializer", Initializer::Ones),
        ] {
            if read.initializer(key, expected)? != expected {
                let found = read.get(key).cloned().unwrap_or(Value::Null);
                return Err(read.error(
                    key,
                    &format!("{expected:?} (the only one astrograd has)"),
                    &found,
                ));
            }
        }
        let mut bn = BatchNormalization::new()
            .momentum(read.f32_or("momentum", 0.99)?)
            .epsilon(read.f32_or("epsilon", 1e-3)?)
            .center(read.bool_or("center", true)?)
            .scale(read.bool_or("scale", true)?);
        read.apply_base(&mut bn.base)?;
        Ok(bn)
    }

    /// Keras's defaults: momentum 0.99, epsilon 1e-3, with `γ` and `β`.
    pub fn new() -> BatchNormalization {
        BatchNormalization {
            base: LayerBase::new("BatchNormalization", "batch_normalization"),
            momentum: 0.99,
            epsilon: 1e-3,
            center: true,
            scale: true,
            gamma: None,
            beta: None,
            moving_mean: None,
            moving_variance: None,
        }
    }

    /// Weight of the old moving statistics (default 0.99; MobileNetV2 uses 0.999).
    pub fn momentum(mut self, momentum: f32) -> BatchNormalization {
        self.momentum = momentum;
        self
    }

    /// Added to the variance (default 1e-3; ResNet50 uses 1.001e-5).
    pub fn epsilon(mut self, epsilon: f32) -> BatchNormalization {
        self.epsilon = epsilon;
        self
    }

    /// Whether to learn a shift `β` (default true).
    pub fn center(mut self, center: bool) -> BatchNormalization {
        self.center = center;
        self
    }

    /// Whether to learn a scale `γ` (default true).
    pub fn scale(mut self, scale: bool) -> BatchNormalization {
        self.scale = scale;
        self
    }
}

impl Default for BatchNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl Layer for BatchNormalization {
    fn get_config(&self) -> Result<Config> {
        let mut config = base_config(&self.base);
        // tf.keras 2.10 writes the axis as a list once the layer is built: [3] for NHWC.
        let axis = match self.base.output_shapes.first().map(Vec::len) {
            Some(rank) if rank > 0 => json!([rank - 1]),
            _ => json!(-1),
        };
        config.insert("axis".into(), axis);
        config.insert("momentum".into(), json_f32(self.momentum));
        config.insert("epsilon".into(), json_f32(self.epsilon));
        config.insert("center".into(), self.center.into());
        config.insert("scale".into(), self.scale.into());
        config.insert(
            "beta_initializer".into(),
            initializer_json(&Initializer::Zeros),
        );
        config.insert(
            "gamma_initializer".into(),
            initializer_json(&Initializer::Ones),
        );
        config.insert(
            "moving_mean_initializer".into(),
            initializer_json(&Initializer::Zeros),
        );
        config.insert(
            "moving_variance_initializer".into(),
            initializer_json(&Initializer::Ones),
        );
        insert_nulls(&mut config, &UNSUPPORTED);
        Ok(config)
    }

    fn base(&self) -> &LayerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut LayerBase {
        &mut self.base
    }

    fn build(&mut self, input_shapes: &[Shape]) -> Result<()> {
        let shape = single(self.name(), input_shapes)?;
        check_min_ndim(self.name(), shape, 2)?;
        let c = last_axis(self.name(), shape)?;
        self.gamma = self
            .scale
            .then(|| Var::parameter(Initializer::Ones.sample(&[c])));
        self.beta = self
            .center
            .then(|| Var::parameter(Initializer::Zeros.sample(&[c])));
        let state = BatchNormState::new(c);
        self.moving_mean = Some(Var::constant(state.moving_mean));
        self.moving_variance = Some(Var::constant(state.moving_variance));
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Shape> {
        let shape = single(self.name(), input_shapes)?;
        check_min_ndim(self.name(), shape, 2)?;
        if let Some(mean) = &self.moving_mean {
            check_last_axis(self.name(), shape, mean.shape()[0])?;
        }
        Ok(shape.clone())
    }

    fn call(&mut self, inputs: &[Var], training: bool) -> Result<Var> {
        let x = single(self.name(), inputs)?;
        let (Some(moving_mean), Some(moving_variance)) = (&self.moving_mean, &self.moving_variance)
        else {
            return Err(not_built(self.name()));
        };
        let c = moving_mean.shape()[0];
        let trainable = self.base.trainable;
        // Without scale / center, γ = 1 and β = 0, constants.
        let gamma = match &self.gamma {
            Some(g) => live(g, trainable),
            None => Var::constant(Tensor::ones(&[c])),
        };
        let beta = match &self.beta {
            Some(b) => live(b, trainable),
            None => Var::constant(Tensor::zeros(&[c])),
        };
        let mut state = BatchNormState {
            moving_mean: moving_mean.value(),
            moving_variance: moving_variance.value(),
        };
        let options = BatchNormOptions {
            momentum: self.momentum,
            epsilon: self.epsilon,
            // A frozen BatchNormalization runs in inference mode even inside fit
            // (docs/keras-semantics.md §1).
            training: training && trainable,
        };
        let y = x.batch_norm(&gamma, &beta, &mut state, options)?;
        moving_mean.set_value(state.moving_mean)?;
        moving_variance.set_value(state.moving_variance)?;
        Ok(y)
    }

    fn weights(&self) -> Vec<Weight> {
        let mut weights = Vec::new();
        if let Some(gamma) = &self.gamma {
            weights.push(self.base.weight("gamma", gamma, true));
        }
        if let Some(beta) = &self.beta {
            weights.push(self.base.weight("beta", beta, true));
        }
        if let Some(mean) = &self.moving_mean {
            weights.push(self.base.weight("moving_mean", mean, false));
        }
        if let Some(variance) = &self.moving_variance {
            weights.push(self.base.weight("moving_variance", variance, false));
        }
        weights
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built(trainable: bool) -> BatchNormalization {
        let mut bn = BatchNormalization::new().with_name("bn");
        bn.build(&[vec![None, Some(1)]]).unwrap();
        bn.set_trainable(trainable);
        bn
    }

    #[test]
    fn training_uses_batch_statistics_and_moves_the_averages() {
        let mut bn = built(true);
        let x = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4, 1]).unwrap());
        let y = bn.call(std::slice::from_ref(&x), true).unwrap();
        assert!(y.value().sum_all().item().unwrap().abs() < 1e-5);
        let weights = bn.weights();
        let names: Vec<&str> = weights.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "bn/gamma:0",
                "bn/beta:0",
                "bn/moving_mean:0",
                "bn/moving_variance:0"
            ]
        );
        assert!((weights[2].var.value().item().unwrap() - 0.025).abs() < 1e-6);
        // Inference with the moving statistics: (x − 0.025)/sqrt(mv + 1e-3).
        let y = bn.call(&[x], false).unwrap().value().to_vec().unwrap();
        let mv = weights[3].var.value().item().unwrap();
        assert!((y[0] - (1.0 - 0.025) / (mv + 1e-3).sqrt()).abs() < 1e-5);
    }

    #[test]
    fn a_frozen_layer_runs_in_inference_mode_even_when_training() {
        let mut bn = built(false);
        let x = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4, 1]).unwrap());
        let y = bn.call(&[x], true).unwrap().value().to_vec().unwrap();
        let expected = 1.0 / (1.0f32 + 1e-3).sqrt();
        assert!((y[0] - expected).abs() < 1e-6, "{y:?}");
        assert_eq!(bn.weights()[2].var.value().item().unwrap(), 0.0); // stats frozen
        assert!(bn.weights().iter().all(|w| !w.trainable));
    }
}
