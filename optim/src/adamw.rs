//! AdamW: Adam with decoupled weight decay (`tf.keras.optimizers.experimental.AdamW` in TF 2.10,
//! `keras.optimizers.AdamW` in Keras 3).
//!
//! # Math (t = iterations + 1)
//!
//! ```text
//! w −= w·wd·lr                              the decay, applied to the weight directly
//! then the Adam step of `adam.rs` (m, v, α, amsgrad)
//! ```
//!
//! "Decoupled": the decay is not added to the gradient (as an L2 penalty would be), so it is not
//! divided by √v — every weight shrinks by the same fraction `wd·lr` per step.
//!
//! AdamW belongs to Keras's newer optimizer class, which differs from the TF 2.10 defaults in two
//! details copied here: it has no legacy `decay`, and of clipnorm, global_clipnorm and clipvalue
//! only the first one set is applied.
use std::collections::HashMap;

use astrograd_autograd::{Result, Tensor, Var};

use crate::adam::{adam_slot_names, adam_step, check_adam, AdamSlots, OneMinusBeta};
use crate::base::{apply_update, check_non_negative, ClipStyle, LearningRate, OptimizerBase};
use crate::flat::Flat;
use crate::state::{json_f32, with_options, Config};
use crate::Optimizer;

/// AdamW (Keras defaults: lr 0.001, weight_decay 0.004, beta_1 0.9, beta_2 0.999, epsilon 1e-7,
/// amsgrad false).
#[derive(Debug)]
pub struct AdamW {
    base: OptimizerBase,
    weight_decay: f32,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    amsgrad: bool,
    slots: HashMap<u64, AdamSlots>,
    /// All parameters, gradients and slots in flat buffers, on a GPU (see `crate::flat`).
    flat: Option<Flat<AdamSlots>>,
}

impl Default for AdamW {
    /// `AdamW()`: lr 0.001, weight decay 0.004.
    fn default() -> Self {
        AdamW::new(0.001)
    }
}

impl AdamW {
    /// AdamW with a constant learning rate or a schedule.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        AdamW {
            base: OptimizerBase::new("AdamW", learning_rate.into()),
            weight_decay: 0.004,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
            slots: HashMap::new(),
            flat: None,
        }
    }

    /// The decoupled weight decay wd ≥ 0 (Keras: 0.004).
    pub fn weight_decay(mut self, weight_decay: f32) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Decay β₁ of the first moment, in [0, 1) (Keras: 0.9).
    pub fn beta_1(mut self, beta_1: f32) -> Self {
        self.beta_1 = beta_1;
        self
    }

    /// Decay β₂ of the second moment, in [0, 1) (Keras: 0.999).
    pub fn beta_2(mut self, beta_2: f32) -> Self {
        self.beta_2 = beta_2;
        self
    }

    /// ε (Keras: 1e-7).
    pub fn epsilon(mut self, epsilon: f32) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// The AMSGrad variant (Keras: false).
    pub fn amsgrad(mut self, amsgrad: bool) -> Self {
        self.amsgrad = amsgrad;
        self
    }
}

impl Optimizer for AdamW {
    fn base(&self) -> &OptimizerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut OptimizerBase {
        &mut self.base
    }

    fn get_config(&self) -> Result<Config> {
        let options = [
            ("weight_decay", json_f32(self.weight_decay)),
            ("beta_1", json_f32(self.beta_1)),
            ("beta_2", json_f32(self.beta_2)),
            ("epsilon", json_f32(self.epsilon)),
            ("amsgrad", self.amsgrad.into()),
        ];
        Ok(with_options(self.base.config()?, &options))
    }

    fn slot_names(&self) -> Vec<&'static str> {
        adam_slot_names(self.amsgrad)
    }

    fn slot(&self, param: &Var, slot: &str) -> Option<Tensor> {
        self.slots.get(&param.id())?.get(slot)
    }

    fn set_slot(&mut self, param: &Var, slot: &str, value: Tensor) -> Result<()> {
        AdamSlots::set_in(
            &mut self.slots,
            self.base.name,
            self.amsgrad,
            param,
            slot,
            value,
        )
    }

    fn apply_gradients(&mut self, params: &[Var]) -> Result<()> {
        self.validate()?;
        let mut step = adam_step(
            &self.base,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            OneMinusBeta::FromDecimal,
        );
        step.weight_decay = self.weight_decay;
        let amsgrad = self.amsgrad;
        apply_update(
            &mut self.base,
            &mut self.slots,
            &mut self.flat,
            params,
            ClipStyle::Experimental,
            |g| AdamSlots::zeros(g, amsgrad),
            |w, g, s| s.update(w, g, &step),
        )
    }

    fn validate(&self) -> Result<()> {
        self.base.validate()?;
        check_adam(self.base.name, self.beta_1, self.beta_2, self.epsilon)?;
        check_non_negative(self.base.name, "weight_decay", self.weight_decay)
    }
}
