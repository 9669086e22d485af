//! `ReduceLROnPlateau`: multiply the learning rate by `factor` when the monitored number has
//! stopped improving for `patience` epochs.
//!
//! TF 2.10's algorithm (`docs/keras-semantics.md` §4). At the end of each epoch it first writes
//! the learning rate of the epoch into the logs as `lr` (so it reaches the history), then, with
//! `current` the monitored value:
//!
//! 1. if in cooldown: `cooldown_counter −= 1`, `wait = 0`;
//! 2. if `current` improves on `best` (`current < best − min_delta` when minimising,
//!    `current > best + min_delta` when maximising): `best = current`, `wait = 0`;
//! 3. else, if not in cooldown: `wait += 1`, and when `wait ≥ patience` and `lr > min_lr`:
//!    `lr = max(lr·factor, min_lr)`, `cooldown_counter = cooldown`, `wait = 0`.
//!
//! Mode auto maximises when the name contains `acc`. Keras 3 writes `learning_rate` instead of
//! `lr`.
use super::{Callback, Mode, TrainingContext};
use crate::training::history::{python_float, Logs};
use crate::{LayerError, Result};

/// Lowers the learning rate when a monitored number stops improving.
#[derive(Clone, Debug)]
pub struct ReduceLROnPlateau {
    monitor: String,
    factor: f64,
    patience: usize,
    verbose: u8,
    mode: Mode,
    min_delta: f64,
    cooldown: usize,
    min_lr: f64,
    // State, reset by `on_train_begin`.
    cooldown_counter: usize,
    wait: usize,
    best: f64,
}

impl Default for ReduceLROnPlateau {
    fn default() -> ReduceLROnPlateau {
        ReduceLROnPlateau::new()
    }
}

impl ReduceLROnPlateau {
    /// Keras's defaults: monitor `val_loss`, factor 0.1, patience 10, verbose 0, mode auto,
    /// min_delta 1e-4, cooldown 0, min_lr 0.
    pub fn new() -> ReduceLROnPlateau {
        ReduceLROnPlateau {
            monitor: "val_loss".into(),
            factor: 0.1,
            patience: 10,
            verbose: 0,
            mode: Mode::Auto,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            cooldown_counter: 0,
            wait: 0,
            best: f64::INFINITY,
        }
    }

    /// The logs key to watch.
    pub fn monitor(mut self, monitor: &str) -> ReduceLROnPlateau {
        self.monitor = monitor.to_string();
        self
    }

    /// What the learning rate is multiplied by; must be below 1 (checked when training starts).
    pub fn factor(mut self, factor: f64) -> ReduceLROnPlateau {
        self.factor = factor;
        self
    }

    /// Epochs without improvement before reducing.
    pub fn patience(mut self, patience: usize) -> ReduceLROnPlateau {
        self.patience = patience;
        self
    }

    /// 1 prints each reduction.
    pub fn verbose(mut self, verbose: u8) -> ReduceLROnPlateau {
        self.verbose = verbose;
        self
    }

    /// Whether lower or higher is better.
    pub fn mode(mut self, mode: Mode) -> ReduceLROnPlateau {
        self.mode = mode;
        self
    }

    /// The least change that counts as an improvement.
    pub fn min_delta(mut self, min_delta: f64) -> ReduceLROnPlateau {
        self.min_delta = min_delta;
        self
    }

    /// Epochs to wait after a reduction before counting again.
    pub fn cooldown(mut self, cooldown: usize) -> ReduceLROnPlateau {
        self.cooldown = cooldown;
        self
    }

    /// The learning rate never goes below this.
    pub fn min_lr(mut self, min_lr: f64) -> ReduceLROnPlateau {
        self.min_lr = min_lr;
        self
    }

    /// Epochs since the last improvement.
    pub fn wait(&self) -> usize {
        self.wait
    }

    /// The best value so far.
    pub fn best(&self) -> f64 {
        self.best
    }

    fn maximize(&self) -> bool {
        match self.mode {
            Mode::Min => false,
            Mode::Max => true,
            Mode::Auto => self.monitor.contains("acc"),
        }
    }

    fn in_cooldown(&self) -> bool {
        self.cooldown_counter > 0
    }

    fn is_improvement(&self, current: f64) -> bool {
        if self.maximize() {
            current > self.best + self.min_delta
        } else {
            current < self.best - self.min_delta
        }
    }
}

impl Callback for ReduceLROnPlateau {
    fn wants_batch_logs(&self) -> bool {
        false // it works on the epoch's logs
    }

    fn on_train_begin(&mut self, _ctx: &mut TrainingContext) -> Result<()> {
        if self.factor >= 1.0 || self.factor.is_nan() {
            return Err(LayerError::invalid(
                "ReduceLROnPlateau",
                "factor < 1.0",
                format!(
                    "ReduceLROnPlateau does not support a factor >= 1.0. Got {}",
                    python_float(self.factor)
                ),
            ));
        }
        self.best = if self.maximize() {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        self.cooldown_counter = 0;
        self.wait = 0;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        ctx: &mut TrainingContext,
    ) -> Result<()> {
        logs.set("lr", ctx.learning_rate());
        let Some(current) = logs.get(&self.monitor) else {
            ctx.warn_missing("Learning rate reduction", &self.monitor, logs);
            return Ok(());
        };
        let current = f64::from(current);
        if self.in_cooldown() {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if self.is_improvement(current) {
            self.best = current;
            self.wait = 0;
        } else if !self.in_cooldown() {
            self.wait += 1;
            if self.wait >= self.patience {
                let old_lr = ctx.learning_rate();
                if old_lr > self.min_lr as f32 {
                    // As Keras: the float32 rate times a Python float, in double precision.
                    let new_lr = (f64::from(old_lr) * self.factor).max(self.min_lr);
                    ctx.set_learning_rate(new_lr as f32);
                    if self.verbose > 0 {
                        ctx.print(&format!(
                            "\nEpoch {}: ReduceLROnPlateau reducing learning rate to {}.",
                            epoch + 1,
                            python_float(new_lr)
                        ));
                    }
                    self.cooldown_counter = self.cooldown;
                    self.wait = 0;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::callbacks::testing::{model_and_optimizer, params};
    use crate::training::progress::Console;

    /// Drives the callback through epochs with these monitored values; returns the `lr` each
    /// epoch logged, the rate after the last epoch, and what was printed.
    fn run(mut callback: ReduceLROnPlateau, key: &str, values: &[f32]) -> (Vec<f32>, f32, String) {
        let (mut model, mut opt) = model_and_optimizer();
        let (mut console, captured) = Console::capture(false);
        let mut ctx =
            TrainingContext::new(&mut model, &mut opt, console.writer(), params(values.len()));
        ctx.set_learning_rate(0.001);
        callback.on_train_begin(&mut ctx).unwrap();
        let mut logged = Vec::new();
        for (epoch, &value) in values.iter().enumerate() {
            let mut logs = Logs::from_pairs(&[("loss", 1.0), (key, value)]);
            callback.on_epoch_end(epoch, &mut logs, &mut ctx).unwrap();
            assert_eq!(logs.keys().last(), Some(&"lr"));
            logged.push(logs.get("lr").unwrap());
        }
        let lr = ctx.learning_rate();
        (logged, lr, captured.text())
    }

    /// Keras: `ReduceLROnPlateau(factor=0.1, patience=2, verbose=1)`, learning rate 0.001,
    /// val_loss 1.0, 0.9, then flat.
    #[test]
    fn reduces_after_patience_epochs_without_improvement() {
        let callback = ReduceLROnPlateau::new().patience(2).verbose(1);
        let (logged, lr, printed) = run(callback, "val_loss", &[1.0, 0.9, 0.9, 0.9, 0.9, 0.9]);
        // Epochs 3, 4 do not improve → reduced after epoch 4; epochs 5, 6 → again after 6.
        assert_eq!(logged[..4], [0.001; 4]);
        assert_eq!(logged[4], (f64::from(0.001f32) * 0.1) as f32);
        assert_eq!(
            lr,
            (f64::from((f64::from(0.001f32) * 0.1) as f32) * 0.1) as f32
        );
        assert_eq!(
            printed,
            "\nEpoch 4: ReduceLROnPlateau reducing learning rate to 0.00010000000474974513.\n\
             \nEpoch 6: ReduceLROnPlateau reducing learning rate to 1.0000000474974514e-05.\n"
        );
    }

    #[test]
    fn min_delta_cooldown_and_min_lr() {
        // Improvements smaller than min_delta 1e-4 do not count.
        // Epoch 2 (−5e-5) does not count, and the rate drops; epoch 3 (−1.0001e-4) counts.
        let (logged, lr, _) = run(
            ReduceLROnPlateau::new().patience(1),
            "val_loss",
            &[1.0, 0.99995, 0.9999],
        );
        let reduced = (f64::from(0.001f32) * 0.1) as f32;
        assert_eq!((logged, lr), (vec![0.001, 0.001, reduced], reduced));
        // Cooldown 2 after a reduction at the end of epoch 2. Keras decrements the counter
        // before it tests it, so epoch 3 is skipped, epoch 4 counts again (the counter reaches 0
        // there) and, with patience 1, reduces again.
        let (logged, _, _) = run(
            ReduceLROnPlateau::new().patience(1).cooldown(2).factor(0.5),
            "val_loss",
            &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        );
        let half = (f64::from(0.001f32) * 0.5) as f32;
        let quarter = (f64::from(half) * 0.5) as f32;
        assert_eq!(logged, vec![0.001, 0.001, half, half, quarter, quarter]);
        // min_lr is a floor, and at the floor nothing more happens.
        let (_, lr, _) = run(
            ReduceLROnPlateau::new().patience(1).min_lr(0.0005),
            "val_loss",
            &[1.0, 1.0, 1.0, 1.0],
        );
        assert_eq!(lr, 0.0005);
    }

    #[test]
    fn accuracy_is_maximised_and_a_factor_of_one_is_an_error() {
        let (logged, _, _) = run(
            ReduceLROnPlateau::new().monitor("val_accuracy").patience(1),
            "val_accuracy",
            &[0.5, 0.6, 0.7, 0.7],
        );
        assert_eq!(logged[..4], [0.001; 4]);
        let (mut model, mut opt) = model_and_optimizer();
        let mut sink = Vec::new();
        let mut ctx = TrainingContext::new(&mut model, &mut opt, &mut sink, params(1));
        let err = ReduceLROnPlateau::new()
            .factor(1.0)
            .on_train_begin(&mut ctx)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("does not support a factor >= 1.0. Got 1.0"),
            "{err}"
        );
    }
}
