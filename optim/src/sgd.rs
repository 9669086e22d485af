//! SGD: gradient descent, with optional momentum and Nesterov momentum (`tf.keras.optimizers.SGD`).
//!
//! # Math (TF 2.10; `v` starts at zero)
//!
//! ```text
//! momentum = 0:   w −= lr·g
//! momentum μ:     v = μ·v − lr·g ;  w += v
//! nesterov:       v = μ·v − lr·g ;  w += μ·v − lr·g
//! ```
//!
//! Keras keeps the velocity already multiplied by the learning rate, so changing the rate
//! mid-training (a schedule, ReduceLROnPlateau) only affects the new gradients.
//! The fused kernels are `astrograd_tensor::nn::optimizer::{sgd_update, sgd_momentum_update}`.
use std::collections::HashMap;

use astrograd_autograd::{Result, Var};
use astrograd_tensor::nn::optimizer::{sgd_momentum_update, sgd_update};
use astrograd_tensor::Tensor;

use crate::base::{
    apply_update, check_momentum, slot_like, ClipStyle, LearningRate, OptimizerBase,
};
use crate::flat::Flat;
use crate::state::{json_f32, slot_value, unknown_slot, with_options, Config};
use crate::Optimizer;

/// Stochastic gradient descent (Keras defaults: lr 0.01, momentum 0, nesterov false).
///
/// ```
/// use astrograd_optim::{Optimizer, SGD};
/// use astrograd_autograd::{Tensor, Var};
/// let w = Var::parameter(Tensor::from_vec(vec![1.0], &[1])?);
/// w.mul(&w)?.backward()?; // d(w²)/dw = 2
/// let mut sgd = SGD::new(0.1);
/// sgd.apply_gradients(&[w.clone()])?;
/// assert!((w.value().to_vec()?[0] - 0.8).abs() < 1e-7); // 1 − 0.1·2
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
#[derive(Debug)]
pub struct SGD {
    base: OptimizerBase,
    momentum: f32,
    nesterov: bool,
    /// The velocity of each parameter (empty when momentum is 0), by `Var::id`.
    velocity: HashMap<u64, Option<Tensor>>,
    /// All parameters, gradients and slots in flat buffers, on a GPU (see `crate::flat`).
    flat: Option<Flat<Option<Tensor>>>,
}

impl Default for SGD {
    /// `SGD()`: lr 0.01, as `compile(optimizer='sgd')`.
    fn default() -> Self {
        SGD::new(0.01)
    }
}

impl SGD {
    /// SGD with a constant learning rate or a schedule.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        SGD {
            base: OptimizerBase::new("SGD", learning_rate.into()),
            momentum: 0.0,
            nesterov: false,
            velocity: HashMap::new(),
            flat: None,
        }
    }

    /// Momentum μ in [0, 1] (Keras: 0).
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }

    /// Nesterov momentum (Keras: false).
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Keras's legacy `decay`: the rate becomes `lr / (1 + decay·iterations)`.
    pub fn decay(mut self, decay: f32) -> Self {
        self.base.decay = decay;
        self
    }
}

impl Optimizer for SGD {
    fn base(&self) -> &OptimizerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut OptimizerBase {
        &mut self.base
    }

    fn get_config(&self) -> Result<Config> {
        let options = [
            ("momentum", json_f32(self.momentum)),
            ("nesterov", self.nesterov.into()),
        ];
        Ok(with_options(self.base.config()?, &options))
    }

    fn slot_names(&self) -> Vec<&'static str> {
        if self.momentum > 0.0 {
            vec!["momentum"]
        } else {
            Vec::new()
        }
    }

    fn slot(&self, param: &Var, slot: &str) -> Option<Tensor> {
        (slot == "momentum").then(|| self.velocity.get(&param.id())?.clone())?
    }

    fn set_slot(&mut self, param: &Var, slot: &str, value: Tensor) -> Result<()> {
        let names = self.slot_names();
        if !names.contains(&slot) {
            return Err(unknown_slot(self.base.name, slot, &names));
        }
        let value = slot_value(self.base.name, param, slot, value)?;
        self.velocity.insert(param.id(), Some(value));
        Ok(())
    }

    fn apply_gradients(&mut self, params: &[Var]) -> Result<()> {
        self.validate()?;
        let lr = self.base.current_lr();
        let (momentum, nesterov) = (self.momentum, self.nesterov);
        // Keras uses the momentum kernel exactly when momentum > 0.
        let with_momentum = momentum > 0.0;
        apply_update(
            &mut self.base,
            &mut self.velocity,
            &mut self.flat,
            params,
            ClipStyle::Legacy,
            |g| with_momentum.then(|| slot_like(g, 0.0)).transpose(),
            |w, g, v| {
                match v {
                    Some(v) => sgd_momentum_update(w, g, v, lr, momentum, nesterov)?,
                    None => sgd_update(w, g, lr)?,
                }
                Ok(())
            },
        )
    }

    fn validate(&self) -> Result<()> {
        self.base.validate()?;
        check_momentum(self.base.name, self.momentum)
    }
}
