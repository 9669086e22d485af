//! Adagrad: divide each gradient by the root of the sum of all its squares so far
//! (`tf.keras.optimizers.Adagrad`).
//!
//! # Math (TF 2.10)
//!
//! ```text
//! acc starts at initial_accumulator_value (0.1), not zero
//! acc += g²
//! w −= lr·g / (√acc + ε)
//! ```
//!
//! Weights that get large gradients often slow down; rarely-updated ones keep a large step. The
//! accumulator only grows, so the step shrinks for ever (RMSprop replaces the sum by a running mean).
//! The fused kernel is `astrograd_tensor::nn::optimizer::adagrad_update`.
use std::collections::HashMap;

use astrograd_autograd::{Result, Var};
use astrograd_tensor::nn::optimizer::adagrad_update;
use astrograd_tensor::Tensor;

use crate::base::{
    apply_update, check_non_negative, slot_like, ClipStyle, LearningRate, OptimizerBase,
};
use crate::flat::Flat;
use crate::state::{json_f32, slot_value, unknown_slot, with_options, Config};
use crate::Optimizer;

/// Adagrad (Keras 2.10 defaults: lr 0.001, initial_accumulator_value 0.1, epsilon 1e-7).
#[derive(Debug)]
pub struct Adagrad {
    base: OptimizerBase,
    initial_accumulator_value: f32,
    epsilon: f32,
    /// Sum of squared gradients of each parameter.
    accumulators: HashMap<u64, Tensor>,
    /// All parameters, gradients and slots in flat buffers, on a GPU (see `crate::flat`).
    flat: Option<Flat<Tensor>>,
}

impl Default for Adagrad {
    /// `Adagrad()`: lr 0.001.
    fn default() -> Self {
        Adagrad::new(0.001)
    }
}

impl Adagrad {
    /// Adagrad with a constant learning rate or a schedule.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Adagrad {
            base: OptimizerBase::new("Adagrad", learning_rate.into()),
            initial_accumulator_value: 0.1,
            epsilon: 1e-7,
            accumulators: HashMap::new(),
            flat: None,
        }
    }

    /// The accumulator's starting value ≥ 0 (Keras: 0.1).
    pub fn initial_accumulator_value(mut self, value: f32) -> Self {
        self.initial_accumulator_value = value;
        self
    }

    /// ε (Keras: 1e-7).
    pub fn epsilon(mut self, epsilon: f32) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Keras's legacy `decay`: the rate becomes `lr / (1 + decay·iterations)`.
    pub fn decay(mut self, decay: f32) -> Self {
        self.base.decay = decay;
        self
    }
}

impl Optimizer for Adagrad {
    fn base(&self) -> &OptimizerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut OptimizerBase {
        &mut self.base
    }

    fn get_config(&self) -> Result<Config> {
        let options = [
            (
                "initial_accumulator_value",
                json_f32(self.initial_accumulator_value),
            ),
            ("epsilon", json_f32(self.epsilon)),
        ];
        Ok(with_options(self.base.config()?, &options))
    }

    fn slot_names(&self) -> Vec<&'static str> {
        vec!["accumulator"]
    }

    fn slot(&self, param: &Var, slot: &str) -> Option<Tensor> {
        (slot == "accumulator").then(|| self.accumulators.get(&param.id()).cloned())?
    }

    fn set_slot(&mut self, param: &Var, slot: &str, value: Tensor) -> Result<()> {
        if slot != "accumulator" {
            return Err(unknown_slot(self.base.name, slot, &["accumulator"]));
        }
        let value = slot_value(self.base.name, param, slot, value)?;
        self.accumulators.insert(param.id(), value);
        Ok(())
    }

    fn apply_gradients(&mut self, params: &[Var]) -> Result<()> {
        self.validate()?;
        let lr = self.base.current_lr();
        let (init, epsilon) = (self.initial_accumulator_value, self.epsilon);
        apply_update(
            &mut self.base,
            &mut self.accumulators,
            &mut self.flat,
            params,
            ClipStyle::Legacy,
            |g| slot_like(g, init),
            |w, g, acc| Ok(adagrad_update(w, g, acc, lr, epsilon)?),
        )
    }

    fn validate(&self) -> Result<()> {
        self.base.validate()?;
        check_non_negative(
            self.base.name,
            "initial_accumulator_value",
            self.initial_accumulator_value,
        )?;
        check_non_negative(self.base.name, "epsilon", self.epsilon)
    }
}
