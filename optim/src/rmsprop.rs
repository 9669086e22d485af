//! RMSprop: divide each gradient by a running root-mean-square of its recent values
//! (`tf.keras.optimizers.RMSprop`).
//!
//! # Math (TF 2.10; slots start at zero)
//!
//! ```text
//! momentum = 0:   ms = ρ·ms + (1−ρ)·g²                 centered: mg = ρ·mg + (1−ρ)·g
//!                 w −= lr·g / (√ms + ε)                centered: √(ms − mg²) + ε
//! momentum μ > 0: ms += (g² − ms)·(1−ρ)                centered: mg += (g − mg)·(1−ρ)
//!                 mom = μ·mom + lr·g / √(ms + ε)       centered: √(ms − mg² + ε)
//!                 w −= mom
//! ```
//!
//! **ε moves inside the square root when momentum > 0** (TF 2.10 runs a C++ kernel then, and
//! Python code otherwise). TF 2.11+ and Keras 3 always use `w −= lr·g / √(ms + ε)`-style updates;
//! with ε = 1e-7 the two differ only for tiny gradients.
//! The fused kernel is `astrograd_tensor::nn::optimizer::rmsprop_update`.
use std::collections::HashMap;

use astrograd_autograd::{Result, Var};
use astrograd_tensor::nn::optimizer::{rmsprop_update, RmspropStep};
use astrograd_tensor::Tensor;

use crate::base::{
    apply_update, check_momentum, check_non_negative, check_unit_interval, slot_like, ClipStyle,
    LearningRate, OptimizerBase,
};
use crate::flat::{Flat, SlotTensors};
use crate::state::{json_f32, slot_value, slots_for, unknown_slot, with_options, Config};
use crate::Optimizer;

/// The slots of one parameter.
#[derive(Debug)]
struct RmspropSlots {
    /// Mean square of the gradient.
    ms: Tensor,
    /// Mean gradient (centered only).
    mg: Option<Tensor>,
    /// Momentum buffer (momentum > 0 only).
    mom: Option<Tensor>,
}

impl SlotTensors for RmspropSlots {
    /// `ms`, then `mg` (centered), then `mom` (momentum > 0).
    fn tensors_mut(&mut self) -> Vec<&mut Tensor> {
        std::iter::once(&mut self.ms)
            .chain(self.mg.as_mut())
            .chain(self.mom.as_mut())
            .collect()
    }
}

/// RMSprop (Keras defaults: lr 0.001, rho 0.9, momentum 0, epsilon 1e-7, centered false).
#[derive(Debug)]
pub struct RMSprop {
    base: OptimizerBase,
    rho: f32,
    momentum: f32,
    epsilon: f32,
    centered: bool,
    slots: HashMap<u64, RmspropSlots>,
    /// All parameters, gradients and slots in flat buffers, on a GPU (see `crate::flat`).
    flat: Option<Flat<RmspropSlots>>,
}

impl Default for RMSprop {
    /// `RMSprop()`: lr 0.001, as `compile(optimizer='rmsprop')`.
    fn default() -> Self {
        RMSprop::new(0.001)
    }
}

impl RMSprop {
    /// RMSprop with a constant learning rate or a schedule.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        RMSprop {
            base: OptimizerBase::new("RMSprop", learning_rate.into()),
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
            slots: HashMap::new(),
            flat: None,
        }
    }

    /// Decay ρ of the moving averages, in [0, 1) (Keras: 0.9).
    pub fn rho(mut self, rho: f32) -> Self {
        self.rho = rho;
        self
    }

    /// Momentum μ in [0, 1] (Keras: 0).
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }

    /// ε (Keras: 1e-7).
    pub fn epsilon(mut self, epsilon: f32) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Divide by the gradient's estimated standard deviation instead of its RMS (Keras: false).
    pub fn centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }

    /// Keras's legacy `decay`: the rate becomes `lr / (1 + decay·iterations)`.
    pub fn decay(mut self, decay: f32) -> Self {
        self.base.decay = decay;
        self
    }
}

impl Optimizer for RMSprop {
    fn base(&self) -> &OptimizerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut OptimizerBase {
        &mut self.base
    }

    fn get_config(&self) -> Result<Config> {
        let options = [
            ("rho", json_f32(self.rho)),
            ("momentum", json_f32(self.momentum)),
            ("epsilon", json_f32(self.epsilon)),
            ("centered", self.centered.into()),
        ];
        Ok(with_options(self.base.config()?, &options))
    }

    fn slot_names(&self) -> Vec<&'static str> {
        let mut names = vec!["rms"];
        if self.momentum > 0.0 {
            names.push("momentum");
        }
        if self.centered {
            names.push("mg");
        }
        names
    }

    fn slot(&self, param: &Var, slot: &str) -> Option<Tensor> {
        let slots = self.slots.get(&param.id())?;
        match slot {
            "rms" => Some(slots.ms.clone()),
            "momentum" => slots.mom.clone(),
            "mg" => slots.mg.clone(),
            _ => None,
        }
    }

    fn set_slot(&mut self, param: &Var, slot: &str, value: Tensor) -> Result<()> {
        let names = self.slot_names();
        if !names.contains(&slot) {
            return Err(unknown_slot(self.base.name, slot, &names));
        }
        let value = slot_value(self.base.name, param, slot, value)?;
        let (centered, with_momentum) = (self.centered, self.momentum > 0.0);
        let slots = slots_for(&mut self.slots, param, || {
            Ok(RmspropSlots {
                ms: slot_like(&value, 0.0)?,
                mg: centered.then(|| slot_like(&value, 0.0)).transpose()?,
                mom: with_momentum.then(|| slot_like(&value, 0.0)).transpose()?,
            })
        })?;
        match slot {
            "rms" => slots.ms = value,
            "momentum" => slots.mom = Some(value),
            _ => slots.mg = Some(value),
        }
        Ok(())
    }

    fn apply_gradients(&mut self, params: &[Var]) -> Result<()> {
        self.validate()?;
        let step = RmspropStep {
            lr: self.base.current_lr(),
            rho: self.rho,
            momentum: self.momentum,
            epsilon: self.epsilon,
        };
        let (centered, with_momentum) = (self.centered, self.momentum > 0.0);
        apply_update(
            &mut self.base,
            &mut self.slots,
            &mut self.flat,
            params,
            ClipStyle::Legacy,
            |g| {
                Ok(RmspropSlots {
                    ms: slot_like(g, 0.0)?,
                    mg: centered.then(|| slot_like(g, 0.0)).transpose()?,
                    mom: with_momentum.then(|| slot_like(g, 0.0)).transpose()?,
                })
            },
            |w, g, s| {
                let (mg, mom) = (s.mg.as_mut(), s.mom.as_mut());
                Ok(rmsprop_update(w, g, &mut s.ms, mg, mom, &step)?)
            },
        )
    }

    fn validate(&self) -> Result<()> {
        self.base.validate()?;
        check_unit_interval(self.base.name, "rho", self.rho)?;
        check_momentum(self.base.name, self.momentum)?;
        check_non_negative(self.base.name, "epsilon", self.epsilon)
    }
}
