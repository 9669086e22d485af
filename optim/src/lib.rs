//! # astrograd-optim — optimizers and learning-rate schedules
//!
//! An optimizer turns the gradients that `backward()` leaves in the parameters into a change of
//! the parameters. Each one here is Keras's (TF 2.10) with the same defaults and the same float32
//! formulas, so that a model trained with astrograd follows the same path as in the course's
//! notebooks:
//!
//! | Keras | astrograd | file |
//! |---|---|---|
//! | `SGD(learning_rate=0.01, momentum=0.0, nesterov=False)` | [`SGD::new(0.01)`](SGD)`.momentum(0.9).nesterov(true)` | `sgd.rs` |
//! | `RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-07, centered=False)` | [`RMSprop::default()`](RMSprop)`.rho(0.9).centered(true)` | `rmsprop.rs` |
//! | `Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=False)` | [`Adam::new(0.001)`](Adam)`.beta_1(0.9).amsgrad(true)` | `adam.rs` |
//! | `experimental.AdamW(weight_decay=0.004, …)` | [`AdamW::default()`](AdamW)`.weight_decay(0.004)` | `adamw.rs` |
//! | `Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-07)` | [`Adagrad::default()`](Adagrad) | `adagrad.rs` |
//! | `compile(optimizer='adam')` | [`from_name`]`("adam")` | |
//! | `Adam(clipnorm=1.0)`, `global_clipnorm=`, `clipvalue=` | `.clipnorm(1.0)`, `.global_clipnorm(..)`, `.clipvalue(..)` | `base.rs` |
//! | `Adam(learning_rate=ExponentialDecay(0.01, 1000, 0.9))` | `Adam::new(ExponentialDecay::new(0.01, 1000, 0.9)?)` | `schedules.rs` |
//! | `optimizer.learning_rate = 0.01` (what ReduceLROnPlateau does) | [`set_learning_rate`](Optimizer::set_learning_rate)`(0.01)` | |
//!
//! Every update runs as one fused, parallel pass over each parameter and its slots
//! (`astrograd_kernels::cpu::optimizer`). The step counter, the learning rate of each step and
//! gradient clipping are explained in `base.rs`.
//!
//! ```
//! use astrograd_autograd::{Tensor, Var};
//! use astrograd_optim::{Adam, Optimizer};
//! // Minimise (w − 3)² with Adam.
//! let w = Var::parameter(Tensor::from_vec(vec![0.0], &[1])?);
//! let three = Var::scalar(3.0);
//! let mut adam = Adam::new(0.1);
//! for _ in 0..200 {
//!     w.zero_grad();
//!     let d = w.sub(&three)?;
//!     d.mul(&d)?.sum_all()?.backward()?;
//!     adam.apply_gradients(std::slice::from_ref(&w))?;
//! }
//! assert!((w.value().to_vec()?[0] - 3.0).abs() < 0.05);
//! assert_eq!(adam.iterations(), 200);
//! # Ok::<(), astrograd_autograd::AutogradError>(())
//! ```
#![warn(missing_docs)]
mod adagrad;
mod adam;
mod adamw;
mod base;
mod flat;
mod rmsprop;
pub mod schedules;
mod sgd;
mod state;

#[cfg(test)]
mod keras_parity;
#[cfg(test)]
mod testing;

pub use adagrad::Adagrad;
pub use adam::Adam;
pub use adamw::AdamW;
pub use astrograd_autograd::{AutogradError, Result};
pub use base::{
    clip_by_global_norm, clip_by_norm, clip_by_value, Clipping, LearningRate, OptimizerBase,
};
pub use rmsprop::RMSprop;
pub use schedules::{
    CosineDecay, ExponentialDecay, InverseTimeDecay, LearningRateSchedule, PiecewiseConstantDecay,
    PolynomialDecay,
};
pub use sgd::SGD;
pub use state::{from_config, json_f32, Config};

use astrograd_autograd::{Tensor, Var};

/// What `fit` needs from an optimizer: update the parameters from their gradients, and let
/// callbacks read and change the learning rate.
pub trait Optimizer {
    /// The common fields: class name, learning rate, decay, clipping, step counter.
    fn base(&self) -> &OptimizerBase;

    /// The common fields, to change.
    fn base_mut(&mut self) -> &mut OptimizerBase;

    /// One update step: reads each parameter's `grad()` (parameters without one are skipped),
    /// clips the gradients if asked, updates the values in place and counts the step.
    /// Frozen (non-trainable) parameters are simply not passed.
    ///
    /// # Errors
    /// An invalid hyperparameter (see [`validate`](Optimizer::validate)), or a gradient whose
    /// shape differs from its parameter's.
    fn apply_gradients(&mut self, params: &[Var]) -> Result<()>;

    /// Checks the hyperparameters (a negative learning rate, rho or beta outside [0, 1), a
    /// negative epsilon, bad clipping thresholds); `compile` calls it so that they fail before
    /// training, and every update calls it again.
    fn validate(&self) -> Result<()>;

    /// Keras's `optimizer.get_config()`: the class's options, as tf.keras 2.10 writes them
    /// in a model file (see [`from_config`] for the way back).
    ///
    /// # Errors
    /// A learning-rate schedule, which is not written to files.
    fn get_config(&self) -> Result<Config>;

    /// The names of the per-parameter slots, in Keras's order: Adam `m, v` (and `vhat` with
    /// amsgrad), RMSprop `rms` (then `momentum` when momentum > 0, `mg` when centered), SGD
    /// `momentum` when momentum > 0, Adagrad `accumulator`.
    fn slot_names(&self) -> Vec<&'static str>;

    /// The value of slot `slot` for `param`, or `None` before its first update.
    fn slot(&self, param: &Var, slot: &str) -> Option<Tensor>;

    /// Sets slot `slot` of `param` (a checkpoint being restored); the other slots of a
    /// parameter seen for the first time start as Keras starts them.
    ///
    /// # Errors
    /// A slot name the optimizer does not have, or a value whose shape is not the parameter's.
    fn set_slot(&mut self, param: &Var, slot: &str, value: Tensor) -> Result<()>;

    /// The learning rate the next update will use: the schedule at step `iterations` (or the
    /// constant), with the legacy `decay` applied.
    fn learning_rate(&self) -> f32 {
        self.base().current_lr()
    }

    /// Sets a constant learning rate (what ReduceLROnPlateau and LearningRateScheduler do); a
    /// schedule is replaced by the constant, as when Keras assigns `optimizer.learning_rate`.
    /// With the legacy `decay`, this sets the rate before decay.
    fn set_learning_rate(&mut self, lr: f32) {
        self.base_mut().learning_rate = LearningRate::Constant(lr);
    }

    /// The number of updates made so far.
    fn iterations(&self) -> u64 {
        self.base().iterations
    }

    /// Sets the number of updates made so far (a checkpoint being restored): the learning
    /// rate schedule and Adam's bias corrections continue from there.
    fn set_iterations(&mut self, iterations: u64) {
        self.base_mut().iterations = iterations;
    }

    /// Keras's class name: `"SGD"`, `"RMSprop"`, `"Adam"`, `"AdamW"`, `"Adagrad"`.
    fn name(&self) -> &str {
        self.base().name
    }

    /// Clip each parameter's gradient to L2 norm ≤ `clipnorm` (Keras's `clipnorm=`).
    fn clipnorm(mut self, clipnorm: f32) -> Self
    where
        Self: Sized,
    {
        self.base_mut().clipping.clipnorm = Some(clipnorm);
        self
    }

    /// Clip all gradients together to joint L2 norm ≤ `global_clipnorm`.
    fn global_clipnorm(mut self, global_clipnorm: f32) -> Self
    where
        Self: Sized,
    {
        self.base_mut().clipping.global_clipnorm = Some(global_clipnorm);
        self
    }

    /// Clip each gradient element to `[−clipvalue, clipvalue]`.
    fn clipvalue(mut self, clipvalue: f32) -> Self
    where
        Self: Sized,
    {
        self.base_mut().clipping.clipvalue = Some(clipvalue);
        self
    }
}

/// The optimizer names that [`from_name`] knows.
pub const OPTIMIZER_NAMES: [&str; 5] = ["adam", "sgd", "rmsprop", "adagrad", "adamw"];

/// Keras's string shortcuts (`compile(optimizer='adam')`): the optimizer with Keras's defaults.
/// Case-insensitive, as Keras.
///
/// ```
/// let opt = astrograd_optim::from_name("Adam")?;
/// assert_eq!((opt.name(), opt.learning_rate()), ("Adam", 0.001));
/// # Ok::<(), astrograd_optim::AutogradError>(())
/// ```
///
/// # Errors
/// An unknown name; the message lists the known ones.
pub fn from_name(name: &str) -> Result<Box<dyn Optimizer>> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "adam" => Box::new(Adam::default()),
        "sgd" => Box::new(SGD::default()),
        "rmsprop" => Box::new(RMSprop::default()),
        "adagrad" => Box::new(Adagrad::default()),
        "adamw" => Box::new(AdamW::default()),
        _ => {
            return Err(AutogradError::Invalid {
                op: "optimizer",
                expected: format!("one of {}", OPTIMIZER_NAMES.join(", ")),
                found: format!("{name:?}"),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use astrograd_autograd::Tensor;

    fn param(values: Vec<f32>) -> Var {
        let n = values.len();
        Var::parameter(Tensor::from_vec(values, &[n]).unwrap())
    }

    /// Gives `w` the gradient `g` (as backward of Σ w·g would).
    fn set_grad(w: &Var, g: Vec<f32>) {
        w.zero_grad();
        let n = g.len();
        let g = Var::constant(Tensor::from_vec(g, &[n]).unwrap());
        w.mul(&g).unwrap().sum_all().unwrap().backward().unwrap();
    }

    #[test]
    fn from_name_gives_keras_defaults() {
        for (name, class, lr) in [
            ("adam", "Adam", 0.001),
            ("SGD", "SGD", 0.01),
            ("rmsprop", "RMSprop", 0.001),
            ("adagrad", "Adagrad", 0.001),
            ("AdamW", "AdamW", 0.001),
        ] {
            let opt = from_name(name).unwrap();
            assert_eq!(
                (opt.name(), opt.learning_rate(), opt.iterations()),
                (class, lr, 0)
            );
        }
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let err = from_name("adamax").err().unwrap().to_string();
        assert!(
            err.contains("\"adamax\"") && err.contains("adam, sgd, rmsprop, adagrad, adamw"),
            "{err}"
        );
    }

    #[test]
    fn bad_hyperparameters_are_errors_before_any_update() {
        let w = param(vec![1.0]);
        set_grad(&w, vec![1.0]);
        let bad: Vec<(Box<dyn Optimizer>, &str)> = vec![
            (Box::new(SGD::new(-0.1)), "learning_rate ≥ 0"),
            (Box::new(SGD::default().momentum(1.5)), "momentum in [0, 1]"),
            (Box::new(RMSprop::default().rho(1.0)), "rho in [0, 1)"),
            (Box::new(RMSprop::default().rho(-0.1)), "rho in [0, 1)"),
            (Box::new(Adam::default().beta_1(1.0)), "beta_1 in [0, 1)"),
            (
                Box::new(Adam::default().beta_2(f32::NAN)),
                "beta_2 in [0, 1)",
            ),
            (Box::new(Adam::new(f32::INFINITY)), "learning_rate ≥ 0"),
            (Box::new(Adam::default().epsilon(-1.0)), "epsilon ≥ 0"),
            (
                Box::new(AdamW::default().weight_decay(-0.1)),
                "weight_decay ≥ 0",
            ),
            (
                Box::new(Adagrad::default().initial_accumulator_value(-1.0)),
                "initial_accumulator_value ≥ 0",
            ),
            (Box::new(SGD::default().clipnorm(0.0)), "clipnorm > 0"),
            (
                Box::new(SGD::default().clipnorm(1.0).global_clipnorm(1.0)),
                "at most one of",
            ),
            (
                Box::new(Adam::new(|step: u64| -1.0 - step as f32)),
                "learning_rate ≥ 0",
            ),
        ];
        for (mut opt, expected) in bad {
            let err = opt
                .validate()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.contains(expected) && err.contains(opt.name()),
                "{}: {err}",
                opt.name()
            );
            assert!(opt.apply_gradients(std::slice::from_ref(&w)).is_err());
            assert_eq!(
                w.value().to_vec().unwrap(),
                vec![1.0],
                "a rejected step must not touch the weights"
            );
            assert_eq!(opt.iterations(), 0);
        }
    }

    #[test]
    fn params_without_a_gradient_are_skipped_and_slots_follow_the_var() {
        let (a, b) = (param(vec![1.0]), param(vec![1.0]));
        let mut sgd = SGD::new(0.1).momentum(0.5);
        set_grad(&a, vec![1.0]);
        sgd.apply_gradients(&[a.clone(), b.clone()]).unwrap(); // b has no gradient
        assert_eq!(b.value().to_vec().unwrap(), vec![1.0]);
        assert!((a.value().to_vec().unwrap()[0] - 0.9).abs() < 1e-7); // v = −0.1
                                                                      // The order changes; a's velocity must still be a's: v = 0.5·(−0.1) − 0.1 = −0.15.
        set_grad(&b, vec![1.0]);
        sgd.apply_gradients(&[b.clone(), a.clone()]).unwrap();
        assert!(
            (a.value().to_vec().unwrap()[0] - 0.75).abs() < 1e-6,
            "{:?}",
            a.value().to_vec()
        );
        assert!(
            (b.value().to_vec().unwrap()[0] - 0.9).abs() < 1e-7,
            "b starts with a fresh velocity"
        );
        assert_eq!(sgd.iterations(), 2);
    }

    #[test]
    fn learning_rate_follows_the_schedule_and_set_replaces_it() {
        let w = param(vec![1.0]);
        let mut adam = Adam::new(ExponentialDecay::new(0.1, 1, 0.5).unwrap());
        assert_eq!(adam.learning_rate(), 0.1);
        set_grad(&w, vec![1.0]);
        adam.apply_gradients(std::slice::from_ref(&w)).unwrap();
        assert_eq!(adam.learning_rate(), 0.05); // the rate of the next (second) update
        adam.set_learning_rate(0.01);
        assert_eq!(adam.learning_rate(), 0.01);
        adam.apply_gradients(std::slice::from_ref(&w)).unwrap();
        assert_eq!(adam.learning_rate(), 0.01, "a set rate is a constant");
        let mut sgd = SGD::new(0.1).decay(1.0);
        sgd.apply_gradients(std::slice::from_ref(&w)).unwrap();
        assert_eq!(sgd.learning_rate(), 0.05); // 0.1 / (1 + 1·1)
    }
}
