//! Adam: momentum divided by a running RMS of the gradient, both bias-corrected
//! (`tf.keras.optimizers.Adam`).
//!
//! # Math (TF 2.10; `m`, `v` start at zero; t = iterations + 1)
//!
//! ```text
//! m += (g − m)·(1−β₁)                       a running mean of g   (= β₁·m + (1−β₁)·g)
//! v += (g² − v)·(1−β₂)                      a running mean of g²
//! α  = lr·√(1−β₂ᵗ) / (1−β₁ᵗ)               both bias corrections folded into the rate
//! w −= α·m / (√v + ε)
//! amsgrad: v̂ = max(v̂, v) replaces v in the last line
//! ```
//!
//! Why the corrections: m and v start at zero, so early on they underestimate the true means by
//! the factors (1−β₁ᵗ) and (1−β₂ᵗ). Dividing by those makes the first step about `lr·sign(g)`
//! whatever the scale of g. Keras adds ε to the uncorrected √v, the corrections being folded into
//! α (the paper's "ε̂"): the same as adding ε/√(1−β₂ᵗ), not ε, to √v̂ of the paper's algorithm 1.
//! The fused kernel is `astrograd_tensor::nn::optimizer::adam_update`.
use std::collections::HashMap;

use astrograd_autograd::{Result, Var};
use astrograd_tensor::nn::optimizer::{adam_update, AdamStep};
use astrograd_tensor::Tensor;

use crate::base::{
    apply_update, check_non_negative, check_unit_interval, slot_like, ClipStyle, LearningRate,
    OptimizerBase,
};
use crate::flat::{Flat, SlotTensors};
use crate::state::{json_f32, slot_value, slots_for, unknown_slot, with_options, Config};
use crate::Optimizer;

/// The slots of one parameter (shared with AdamW).
#[derive(Debug)]
pub(crate) struct AdamSlots {
    /// First moment (running mean of g).
    pub m: Tensor,
    /// Second moment (running mean of g²).
    pub v: Tensor,
    /// Largest v so far (amsgrad only; else empty).
    pub vhat: Option<Tensor>,
}

impl AdamSlots {
    /// Zero slots for the gradient `g`, on its device.
    pub fn zeros(g: &Tensor, amsgrad: bool) -> Result<AdamSlots> {
        Ok(AdamSlots {
            m: slot_like(g, 0.0)?,
            v: slot_like(g, 0.0)?,
            vhat: amsgrad.then(|| slot_like(g, 0.0)).transpose()?,
        })
    }

    /// The slot named `name` (`m`, `v`, `vhat`).
    pub fn get(&self, name: &str) -> Option<Tensor> {
        match name {
            "m" => Some(self.m.clone()),
            "v" => Some(self.v.clone()),
            "vhat" => self.vhat.clone(),
            _ => None,
        }
    }

    /// Sets the slot named `name` (one of [`adam_slot_names`]).
    pub fn set(&mut self, name: &str, value: Tensor) {
        match name {
            "m" => self.m = value,
            "v" => self.v = value,
            _ => self.vhat = Some(value),
        }
    }

    /// Sets slot `slot` of `param` in an optimizer's map of slots, making the parameter's
    /// slots (zeros) if it has none yet (shared by Adam and AdamW).
    pub fn set_in(
        slots: &mut HashMap<u64, AdamSlots>,
        optimizer: &str,
        amsgrad: bool,
        param: &Var,
        slot: &str,
        value: Tensor,
    ) -> Result<()> {
        let names = adam_slot_names(amsgrad);
        if !names.contains(&slot) {
            return Err(unknown_slot(optimizer, slot, &names));
        }
        let value = slot_value(optimizer, param, slot, value)?;
        slots_for(slots, param, || AdamSlots::zeros(&value, amsgrad))?.set(slot, value);
        Ok(())
    }

    /// Runs the fused Adam step on one parameter.
    pub fn update(&mut self, w: &mut Tensor, g: &Tensor, step: &AdamStep) -> Result<()> {
        let vhat = self.vhat.as_mut();
        Ok(adam_update(w, g, &mut self.m, &mut self.v, vhat, step)?)
    }
}

impl SlotTensors for AdamSlots {
    /// `m`, `v`, then `vhat` with amsgrad.
    fn tensors_mut(&mut self) -> Vec<&mut Tensor> {
        [&mut self.m, &mut self.v]
            .into_iter()
            .chain(self.vhat.as_mut())
            .collect()
    }
}

/// Adam's slot names in Keras's order (shared with AdamW).
pub(crate) fn adam_slot_names(amsgrad: bool) -> Vec<&'static str> {
    if amsgrad {
        vec!["m", "v", "vhat"]
    } else {
        vec!["m", "v"]
    }
}

/// Adam (Keras defaults: lr 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7, amsgrad false).
///
/// ```
/// use astrograd_optim::{Adam, Optimizer};
/// let adam = Adam::default().beta_1(0.95).amsgrad(true);
/// assert_eq!(adam.learning_rate(), 0.001);
/// assert_eq!(adam.name(), "Adam");
/// ```
#[derive(Debug)]
pub struct Adam {
    base: OptimizerBase,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    amsgrad: bool,
    slots: HashMap<u64, AdamSlots>,
    /// All parameters, gradients and slots in flat buffers, on a GPU (see `crate::flat`).
    flat: Option<Flat<AdamSlots>>,
}

impl Default for Adam {
    /// `Adam()`: lr 0.001, as `compile(optimizer='adam')`.
    fn default() -> Self {
        Adam::new(0.001)
    }
}

impl Adam {
    /// Adam with a constant learning rate or a schedule.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Adam {
            base: OptimizerBase::new("Adam", learning_rate.into()),
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
            slots: HashMap::new(),
            flat: None,
        }
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

    /// Keras's legacy `decay`: the rate becomes `lr / (1 + decay·iterations)`.
    pub fn decay(mut self, decay: f32) -> Self {
        self.base.decay = decay;
        self
    }
}

/// How `1 − β` is rounded to float32; Keras's two optimizer classes differ here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OneMinusBeta {
    /// TF 2.10's default Adam: β is a float32 and `1 − β` is computed in float32.
    Float32,
    /// The newer class (AdamW in 2.10, every optimizer in Keras 3): `1 − β` is computed in Python's
    /// double precision from the number the user wrote (0.9 → 0.09999999999999998), then rounded
    /// to float32. The shortest decimal that prints our f32 β is that number (`0.9f32` prints
    /// "0.9"), so parsing it as f64 recovers it.
    FromDecimal,
}

impl OneMinusBeta {
    fn of(self, beta: f32) -> f32 {
        match self {
            OneMinusBeta::Float32 => 1.0 - beta,
            OneMinusBeta::FromDecimal => {
                let decimal: f64 = beta.to_string().parse().expect("an f32 prints as a number");
                (1.0 - decimal) as f32
            }
        }
    }
}

/// The numbers of the next Adam step (t = iterations + 1), as TF computes them in float32.
pub(crate) fn adam_step(
    base: &OptimizerBase,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    rounding: OneMinusBeta,
) -> AdamStep {
    let t = (base.iterations + 1) as f32;
    AdamStep {
        lr: base.current_lr(),
        one_minus_beta_1: rounding.of(beta_1),
        one_minus_beta_2: rounding.of(beta_2),
        epsilon,
        beta_1_power: beta_1.powf(t),
        beta_2_power: beta_2.powf(t),
        weight_decay: 0.0,
    }
}

/// Checks β₁, β₂ ∈ [0, 1) and ε ≥ 0.
pub(crate) fn check_adam(op: &'static str, beta_1: f32, beta_2: f32, epsilon: f32) -> Result<()> {
    check_unit_interval(op, "beta_1", beta_1)?;
    check_unit_interval(op, "beta_2", beta_2)?;
    check_non_negative(op, "epsilon", epsilon)
}

impl Optimizer for Adam {
    fn base(&self) -> &OptimizerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut OptimizerBase {
        &mut self.base
    }

    fn get_config(&self) -> Result<Config> {
        let options = [
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
        let step = adam_step(
            &self.base,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            OneMinusBeta::Float32,
        );
        let amsgrad = self.amsgrad;
        apply_update(
            &mut self.base,
            &mut self.slots,
            &mut self.flat,
            params,
            ClipStyle::Legacy,
            |g| AdamSlots::zeros(g, amsgrad),
            |w, g, s| s.update(w, g, &step),
        )
    }

    fn validate(&self) -> Result<()> {
        self.base.validate()?;
        check_adam(self.base.name, self.beta_1, self.beta_2, self.epsilon)
    }
}
