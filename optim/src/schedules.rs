//! Learning-rate schedules: the learning rate as a function of the step (the optimizer's
//! `iterations`, which counts the updates done so far; the first update sees step 0).
//!
//! # Math (`tf.keras.optimizers.schedules`, TF 2.10; every value float32)
//!
//! | schedule | lr(step) |
//! |---|---|
//! | [`ExponentialDecay`] | `lr0·rate^(step/ds)`; staircase floors `step/ds` |
//! | [`InverseTimeDecay`] | `lr0 / (1 + rate·step/ds)`; staircase floors `step/ds` |
//! | [`PiecewiseConstantDecay`] | `v0` if step ≤ b0; `v_i` if b(i−1) < step ≤ b_i; `v_last` if step > b_last |
//! | [`CosineDecay`] | `lr0·((1−α)·½(1 + cos(π·min(step, ds)/ds)) + α)` |
//! | [`PolynomialDecay`] | `(lr0 − end)·(1 − min(step, ds)/ds)^power + end` |
//!
//! `ds` is `decay_steps`. Any closure `Fn(u64) -> f32` is a schedule too:
//!
//! ```
//! use astrograd_optim::schedules::{ExponentialDecay, LearningRateSchedule};
//! let halve_every_10 = |step: u64| 0.1 * 0.5f32.powi((step / 10) as i32);
//! let keras = ExponentialDecay::new(0.1, 10, 0.5)?.staircase(true);
//! for step in [0, 9, 10, 25] {
//!     assert_eq!(halve_every_10.lr(step), keras.lr(step));
//! }
//! # Ok::<(), astrograd_optim::AutogradError>(())
//! ```
use astrograd_autograd::{AutogradError, Result};

/// A learning rate that depends on the step: `lr(step)`.
pub trait LearningRateSchedule {
    /// The learning rate for the update made when `step` updates have already been made.
    fn lr(&self, step: u64) -> f32;
}

/// Any closure `|step| -> lr` (Keras's `LearningRateScheduler`-style function, or a schedule
/// written by hand).
impl<F: Fn(u64) -> f32> LearningRateSchedule for F {
    fn lr(&self, step: u64) -> f32 {
        self(step)
    }
}

fn check_lr(op: &'static str, name: &str, lr: f32) -> Result<()> {
    if lr.is_finite() && lr >= 0.0 {
        Ok(())
    } else {
        Err(AutogradError::Invalid {
            op,
            expected: format!("{name} ≥ 0 and finite"),
            found: format!("{name} = {lr}"),
        })
    }
}

fn check_decay_steps(op: &'static str, decay_steps: u64) -> Result<()> {
    if decay_steps > 0 {
        Ok(())
    } else {
        Err(AutogradError::Invalid {
            op,
            expected: "decay_steps > 0".into(),
            found: "decay_steps = 0".into(),
        })
    }
}

/// `lr0·rate^(step/decay_steps)`: multiply the learning rate by `rate` every `decay_steps` steps,
/// smoothly or (staircase) in jumps.
#[derive(Debug, Clone, PartialEq)]
pub struct ExponentialDecay {
    /// The rate at step 0 (`lr0`).
    pub initial_learning_rate: f32,
    /// Steps over which the rate is multiplied by `decay_rate` once.
    pub decay_steps: u64,
    /// The factor per `decay_steps` steps.
    pub decay_rate: f32,
    /// Decay in jumps every `decay_steps` steps (integer `step/decay_steps`).
    pub staircase: bool,
}

impl ExponentialDecay {
    /// Keras's `ExponentialDecay(initial_learning_rate, decay_steps, decay_rate)`, not staircase.
    ///
    /// # Errors
    /// A negative or non-finite learning rate or rate, or `decay_steps == 0`.
    pub fn new(initial_learning_rate: f32, decay_steps: u64, decay_rate: f32) -> Result<Self> {
        check_lr(
            "ExponentialDecay",
            "initial_learning_rate",
            initial_learning_rate,
        )?;
        check_lr("ExponentialDecay", "decay_rate", decay_rate)?;
        check_decay_steps("ExponentialDecay", decay_steps)?;
        Ok(ExponentialDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        })
    }

    /// Decay in jumps, once every `decay_steps` steps.
    pub fn staircase(mut self, staircase: bool) -> Self {
        self.staircase = staircase;
        self
    }
}

impl LearningRateSchedule for ExponentialDecay {
    fn lr(&self, step: u64) -> f32 {
        let mut p = step as f32 / self.decay_steps as f32;
        if self.staircase {
            p = p.floor();
        }
        self.initial_learning_rate * self.decay_rate.powf(p)
    }
}

/// `lr0 / (1 + rate·step/decay_steps)`: a 1/t decay.
#[derive(Debug, Clone, PartialEq)]
pub struct InverseTimeDecay {
    /// The rate at step 0 (`lr0`).
    pub initial_learning_rate: f32,
    /// The step scale of the decay.
    pub decay_steps: u64,
    /// How fast the rate falls (`rate`).
    pub decay_rate: f32,
    /// Decay in jumps every `decay_steps` steps (integer `step/decay_steps`).
    pub staircase: bool,
}

impl InverseTimeDecay {
    /// Keras's `InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate)`, not staircase.
    ///
    /// # Errors
    /// A negative or non-finite learning rate or rate, or `decay_steps == 0`.
    pub fn new(initial_learning_rate: f32, decay_steps: u64, decay_rate: f32) -> Result<Self> {
        check_lr(
            "InverseTimeDecay",
            "initial_learning_rate",
            initial_learning_rate,
        )?;
        check_lr("InverseTimeDecay", "decay_rate", decay_rate)?;
        check_decay_steps("InverseTimeDecay", decay_steps)?;
        Ok(InverseTimeDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        })
    }

    /// Decay in jumps, once every `decay_steps` steps.
    pub fn staircase(mut self, staircase: bool) -> Self {
        self.staircase = staircase;
        self
    }
}

impl LearningRateSchedule for InverseTimeDecay {
    fn lr(&self, step: u64) -> f32 {
        let mut p = step as f32 / self.decay_steps as f32;
        if self.staircase {
            p = p.floor();
        }
        self.initial_learning_rate / (1.0 + self.decay_rate * p)
    }
}

/// A constant learning rate on each interval between `boundaries`:
/// `values[0]` while step ≤ `boundaries[0]`, `values[i]` while `boundaries[i−1]` < step ≤
/// `boundaries[i]`, and the last value after the last boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct PiecewiseConstantDecay {
    /// The steps where the rate changes, increasing.
    pub boundaries: Vec<u64>,
    /// The rates, one more than `boundaries`.
    pub values: Vec<f32>,
}

impl PiecewiseConstantDecay {
    /// Keras's `PiecewiseConstantDecay(boundaries, values)`.
    ///
    /// # Errors
    /// `values.len() != boundaries.len() + 1`, boundaries not strictly increasing, or a negative
    /// value.
    pub fn new(boundaries: Vec<u64>, values: Vec<f32>) -> Result<Self> {
        const OP: &str = "PiecewiseConstantDecay";
        if values.len() != boundaries.len() + 1 {
            return Err(AutogradError::Invalid {
                op: OP,
                expected: format!(
                    "one more value than boundaries ({} boundaries → {} values)",
                    boundaries.len(),
                    boundaries.len() + 1
                ),
                found: format!("{} values", values.len()),
            });
        }
        if let Some(w) = boundaries.windows(2).find(|w| w[0] >= w[1]) {
            return Err(AutogradError::Invalid {
                op: OP,
                expected: "strictly increasing boundaries".into(),
                found: format!("{} followed by {} in {boundaries:?}", w[0], w[1]),
            });
        }
        for &v in &values {
            check_lr(OP, "each value", v)?;
        }
        Ok(PiecewiseConstantDecay { boundaries, values })
    }
}

impl LearningRateSchedule for PiecewiseConstantDecay {
    fn lr(&self, step: u64) -> f32 {
        // The interval index is the number of boundaries strictly below the step.
        let interval = self.boundaries.iter().filter(|&&b| step > b).count();
        self.values[interval]
    }
}

/// Half a cosine from `lr0` down to `alpha·lr0` over `decay_steps` steps, then constant.
///
/// **Warm-up (Keras 3 only; TF 2.10's CosineDecay has none).** With
/// [`warmup`](CosineDecay::warmup)`(target, warmup_steps)` the rate first rises linearly from
/// `initial_learning_rate` to `target` over `warmup_steps` steps, then decays from `target` by the
/// cosine over the next `decay_steps` steps (Keras 3's `warmup_target`, `warmup_steps`):
///
/// ```text
/// step < warmup_steps:  lr0 + (target − lr0)·step/warmup_steps
/// otherwise:            target·((1−α)·½(1 + cos(π·s/ds)) + α),  s = min(step − warmup_steps, ds)
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CosineDecay {
    /// The rate at step 0 (`lr0`).
    pub initial_learning_rate: f32,
    /// Steps over which the cosine falls to the floor (`ds`).
    pub decay_steps: u64,
    /// The floor, as a fraction of the peak rate (0 decays to zero).
    pub alpha: f32,
    /// Keras 3's `(warmup_target, warmup_steps)`; `None` is TF 2.10's schedule.
    pub warmup: Option<(f32, u64)>,
}

impl CosineDecay {
    /// Keras's `CosineDecay(initial_learning_rate, decay_steps)` with `alpha = 0`, no warm-up.
    ///
    /// # Errors
    /// A negative or non-finite learning rate, or `decay_steps == 0`.
    pub fn new(initial_learning_rate: f32, decay_steps: u64) -> Result<Self> {
        check_lr(
            "CosineDecay",
            "initial_learning_rate",
            initial_learning_rate,
        )?;
        check_decay_steps("CosineDecay", decay_steps)?;
        Ok(CosineDecay {
            initial_learning_rate,
            decay_steps,
            alpha: 0.0,
            warmup: None,
        })
    }

    /// The final rate as a fraction of the peak: the schedule ends at `alpha·peak`.
    pub fn alpha(mut self, alpha: f32) -> Self {
        self.alpha = alpha;
        self
    }

    /// Keras 3's linear warm-up to `warmup_target` over `warmup_steps` steps, before the decay.
    pub fn warmup(mut self, warmup_target: f32, warmup_steps: u64) -> Self {
        self.warmup = Some((warmup_target, warmup_steps));
        self
    }

    /// `peak·((1−α)·½(1 + cos(π·step/ds)) + α)` for `step ≤ ds`.
    fn decay(&self, step: f32, peak: f32) -> f32 {
        let completed_fraction = step / self.decay_steps as f32;
        let cosine_decayed = 0.5 * (1.0 + (std::f32::consts::PI * completed_fraction).cos());
        peak * ((1.0 - self.alpha) * cosine_decayed + self.alpha)
    }
}

impl LearningRateSchedule for CosineDecay {
    fn lr(&self, step: u64) -> f32 {
        let decay_steps = self.decay_steps as f32;
        match self.warmup {
            None => self.decay((step as f32).min(decay_steps), self.initial_learning_rate),
            Some((target, warmup_steps)) => {
                let warmup_steps = warmup_steps as f32;
                let step = (step as f32).min(decay_steps + warmup_steps);
                if step < warmup_steps {
                    let lr0 = self.initial_learning_rate;
                    (target - lr0) * (step / warmup_steps) + lr0
                } else {
                    self.decay(step - warmup_steps, target)
                }
            }
        }
    }
}

/// `(lr0 − end)·(1 − step/ds)^power + end`: from `lr0` to `end` in `decay_steps` steps (a straight
/// line for power 1), then constant at `end`, or, with `cycle`, restarting with a longer period.
#[derive(Debug, Clone, PartialEq)]
pub struct PolynomialDecay {
    /// The rate at step 0 (`lr0`).
    pub initial_learning_rate: f32,
    /// Steps from `lr0` to `end` (`ds`).
    pub decay_steps: u64,
    /// The rate at the end (`end`).
    pub end_learning_rate: f32,
    /// The exponent of the decay (1: a straight line).
    pub power: f32,
    /// After `decay_steps`, stretch the period to the next multiple of `decay_steps` above the step
    /// (the rate jumps back up) instead of staying at `end_learning_rate`.
    pub cycle: bool,
}

impl PolynomialDecay {
    /// Keras's `PolynomialDecay(initial_learning_rate, decay_steps)`: end 1e-4, power 1, no cycle.
    ///
    /// # Errors
    /// A negative or non-finite learning rate, or `decay_steps == 0`.
    pub fn new(initial_learning_rate: f32, decay_steps: u64) -> Result<Self> {
        check_lr(
            "PolynomialDecay",
            "initial_learning_rate",
            initial_learning_rate,
        )?;
        check_decay_steps("PolynomialDecay", decay_steps)?;
        Ok(PolynomialDecay {
            initial_learning_rate,
            decay_steps,
            end_learning_rate: 1e-4,
            power: 1.0,
            cycle: false,
        })
    }

    /// The rate reached after `decay_steps` steps.
    pub fn end_learning_rate(mut self, end_learning_rate: f32) -> Self {
        self.end_learning_rate = end_learning_rate;
        self
    }

    /// The exponent (1 is linear).
    pub fn power(mut self, power: f32) -> Self {
        self.power = power;
        self
    }

    /// Restart the decay after each period (see the field's doc).
    pub fn cycle(mut self, cycle: bool) -> Self {
        self.cycle = cycle;
        self
    }
}

impl LearningRateSchedule for PolynomialDecay {
    fn lr(&self, step: u64) -> f32 {
        let mut step_f = step as f32;
        let mut decay_steps = self.decay_steps as f32;
        if self.cycle {
            // The first multiple of decay_steps at or above the step (1 at step 0).
            let multiplier = if step == 0 {
                1.0
            } else {
                (step_f / decay_steps).ceil()
            };
            decay_steps *= multiplier;
        } else {
            step_f = step_f.min(decay_steps);
        }
        let p = step_f / decay_steps;
        (self.initial_learning_rate - self.end_learning_rate) * (1.0 - p).powf(self.power)
            + self.end_learning_rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_rel_close, Fixture};

    /// One Keras fixture: the schedule and the file with its rates.
    struct ScheduleCase {
        fixture: &'static str,
        schedule: Box<dyn LearningRateSchedule>,
    }

    fn cases() -> Vec<ScheduleCase> {
        let case =
            |fixture, schedule: Box<dyn LearningRateSchedule>| ScheduleCase { fixture, schedule };
        vec![
            case(
                "schedule_exponential",
                Box::new(ExponentialDecay::new(0.1, 10, 0.96).unwrap()),
            ),
            case(
                "schedule_exponential_staircase",
                Box::new(ExponentialDecay::new(0.1, 10, 0.5).unwrap().staircase(true)),
            ),
            case(
                "schedule_inverse_time",
                Box::new(InverseTimeDecay::new(0.1, 10, 0.5).unwrap()),
            ),
            case(
                "schedule_inverse_time_staircase",
                Box::new(InverseTimeDecay::new(0.1, 10, 0.5).unwrap().staircase(true)),
            ),
            case(
                "schedule_piecewise",
                Box::new(
                    PiecewiseConstantDecay::new(vec![10, 20, 100], vec![1.0, 0.5, 0.1, 0.01])
                        .unwrap(),
                ),
            ),
            case(
                "schedule_cosine",
                Box::new(CosineDecay::new(0.1, 100).unwrap()),
            ),
            case(
                "schedule_cosine_alpha",
                Box::new(CosineDecay::new(0.1, 100).unwrap().alpha(0.2)),
            ),
            case(
                "schedule_cosine_warmup",
                Box::new(
                    CosineDecay::new(0.0, 100)
                        .unwrap()
                        .alpha(0.1)
                        .warmup(0.1, 10),
                ),
            ),
            case(
                "schedule_polynomial",
                Box::new(PolynomialDecay::new(0.1, 100).unwrap()),
            ),
            case(
                "schedule_polynomial_power",
                Box::new(
                    PolynomialDecay::new(0.1, 100)
                        .unwrap()
                        .end_learning_rate(0.01)
                        .power(2.0),
                ),
            ),
            case(
                "schedule_polynomial_cycle",
                Box::new(
                    PolynomialDecay::new(0.1, 10)
                        .unwrap()
                        .end_learning_rate(0.01)
                        .power(0.5)
                        .cycle(true),
                ),
            ),
        ]
    }

    /// Every schedule against the rates Keras computed (the call is in each fixture's
    /// `params.keras_call`, e.g. `tf.keras.optimizers.schedules.CosineDecay(0.1, decay_steps=100,
    /// alpha=0.2)`; the warm-up case is Keras 3's formula, computed by the script in NumPy).
    #[test]
    fn schedules_match_keras() {
        for ScheduleCase { fixture, schedule } in cases() {
            let f = Fixture::load(fixture);
            let steps = f.tensor("steps");
            let ours: Vec<f32> = steps.iter().map(|&s| schedule.lr(s as u64)).collect();
            assert_rel_close(fixture, &ours, &f.tensor("lr"), 1e-6);
        }
    }

    #[test]
    fn piecewise_boundaries_are_inclusive_on_the_left_interval() {
        let s = PiecewiseConstantDecay::new(vec![100, 110], vec![1.0, 0.5, 0.1]).unwrap();
        let got: Vec<f32> = [0, 100, 101, 110, 111].iter().map(|&t| s.lr(t)).collect();
        assert_eq!(got, vec![1.0, 1.0, 0.5, 0.5, 0.1]);
    }

    #[test]
    fn bad_schedules_are_errors() {
        let err = PiecewiseConstantDecay::new(vec![10, 20], vec![1.0, 0.5]).unwrap_err();
        assert!(
            err.to_string().contains("3 values") && err.to_string().contains("found 2 values"),
            "{err}"
        );
        assert!(PiecewiseConstantDecay::new(vec![20, 10], vec![1.0, 0.5, 0.1]).is_err());
        assert!(ExponentialDecay::new(0.1, 0, 0.5).is_err());
        assert!(ExponentialDecay::new(-0.1, 10, 0.5).is_err());
        assert!(CosineDecay::new(f32::NAN, 10).is_err());
        assert!(PolynomialDecay::new(0.1, 0).is_err());
        assert!(InverseTimeDecay::new(0.1, 10, -1.0).is_err());
    }

    #[test]
    fn a_closure_is_a_schedule() {
        let s: Box<dyn LearningRateSchedule> = Box::new(|step: u64| 1.0 / (step + 1) as f32);
        assert_eq!(s.lr(3), 0.25);
    }
}
