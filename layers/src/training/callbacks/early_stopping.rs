//! `EarlyStopping`: stop when the monitored number has not improved for `patience` epochs.
//!
//! TF 2.10's algorithm, step for step (`keras/callbacks.py`, `docs/keras-semantics.md` §6). At
//! the end of each epoch, with `current` the monitored value:
//!
//! 1. missing from the logs → a warning, nothing else;
//! 2. with `restore_best_weights`, the first epoch takes a snapshot of the weights;
//! 3. `wait += 1`;
//! 4. if `current` improves on `best` (`current + |min_delta| < best` when minimising,
//!    `current − |min_delta| > best` when maximising; `best` starts at ±∞): `best = current`,
//!    remember the epoch and snapshot the weights, and `wait = 0` — but only if there is no
//!    `baseline` or `current` also improves on it;
//! 5. if `wait ≥ patience` and this is not the first epoch: stop, and with
//!    `restore_best_weights` load the snapshot (printing `Restoring model weights from the end
//!    of the best epoch: 2.`).
//!
//! At the end of training it prints `Epoch 6: early stopping` if it stopped (with `verbose`).
//!
//! Two TF 2.10 behaviours to know:
//! - The best weights are restored **only when it stops**. If the epochs run out first, the
//!   model keeps the last epoch's weights. Keras 3 always restores them at the end of
//!   training: [`EarlyStopping::restore_at_end_keras3`] does that.
//! - With `patience = 0`, step 3 makes `wait ≥ 0` always true, so training stops after the
//!   second epoch whatever the numbers (fixed in TF 2.12).
//!
//! `mode` auto maximises when the name ends in `acc`, `accuracy` or `auc`.
use astrograd_autograd::Tensor;

use super::{Callback, Mode, TrainingContext};
use crate::training::history::Logs;
use crate::Result;

/// Stops training when a monitored number has stopped improving.
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    monitor: String,
    min_delta: f64,
    patience: usize,
    verbose: u8,
    mode: Mode,
    baseline: Option<f64>,
    restore_best_weights: bool,
    restore_at_end: bool,
    // State, reset by `on_train_begin`.
    wait: usize,
    stopped_epoch: usize,
    best: f64,
    best_epoch: usize,
    best_weights: Option<Vec<Tensor>>,
}

impl Default for EarlyStopping {
    fn default() -> EarlyStopping {
        EarlyStopping::new()
    }
}

impl EarlyStopping {
    /// Keras's defaults: monitor `val_loss`, min_delta 0, patience 0, verbose 0, mode auto, no
    /// baseline, no restoring.
    pub fn new() -> EarlyStopping {
        EarlyStopping {
            monitor: "val_loss".into(),
            min_delta: 0.0,
            patience: 0,
            verbose: 0,
            mode: Mode::Auto,
            baseline: None,
            restore_best_weights: false,
            restore_at_end: false,
            wait: 0,
            stopped_epoch: 0,
            best: f64::INFINITY,
            best_epoch: 0,
            best_weights: None,
        }
    }

    /// The logs key to watch (`"val_loss"`, `"val_accuracy"`, …).
    pub fn monitor(mut self, monitor: &str) -> EarlyStopping {
        self.monitor = monitor.to_string();
        self
    }

    /// The least change that counts as an improvement (its sign is ignored).
    pub fn min_delta(mut self, min_delta: f64) -> EarlyStopping {
        self.min_delta = min_delta.abs();
        self
    }

    /// Epochs without improvement before stopping.
    pub fn patience(mut self, patience: usize) -> EarlyStopping {
        self.patience = patience;
        self
    }

    /// 1 prints the restoring and stopping messages.
    pub fn verbose(mut self, verbose: u8) -> EarlyStopping {
        self.verbose = verbose;
        self
    }

    /// Whether lower or higher is better.
    pub fn mode(mut self, mode: Mode) -> EarlyStopping {
        self.mode = mode;
        self
    }

    /// A value the monitored number must beat before `wait` is reset.
    pub fn baseline(mut self, baseline: f64) -> EarlyStopping {
        self.baseline = Some(baseline);
        self
    }

    /// Load the best epoch's weights when stopping (TF 2.10: only when it stops).
    pub fn restore_best_weights(mut self, restore: bool) -> EarlyStopping {
        self.restore_best_weights = restore;
        self
    }

    /// Keras 3's rule: with `restore_best_weights`, load the best weights at the end of
    /// training even when the epochs ran out before it stopped (messages in Keras 3's order).
    pub fn restore_at_end_keras3(mut self, at_end: bool) -> EarlyStopping {
        self.restore_at_end = at_end;
        self
    }

    /// The epoch it stopped at (0-based; 0 if it did not stop), Keras's `stopped_epoch`.
    pub fn stopped_epoch(&self) -> usize {
        self.stopped_epoch
    }

    /// The epoch of the best value so far (0-based).
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }

    /// The best value so far.
    pub fn best(&self) -> f64 {
        self.best
    }

    /// Epochs since the last improvement.
    pub fn wait(&self) -> usize {
        self.wait
    }

    fn maximize(&self) -> bool {
        match self.mode {
            Mode::Min => false,
            Mode::Max => true,
            Mode::Auto => ["acc", "accuracy", "auc"]
                .iter()
                .any(|end| self.monitor.ends_with(end)),
        }
    }

    fn is_improvement(&self, value: f64, reference: f64) -> bool {
        if self.maximize() {
            value - self.min_delta > reference
        } else {
            value + self.min_delta < reference
        }
    }

    fn restore(&mut self, ctx: &mut TrainingContext) -> Result<()> {
        if let Some(weights) = &self.best_weights {
            if self.verbose > 0 {
                ctx.print(&format!(
                    "Restoring model weights from the end of the best epoch: {}.",
                    self.best_epoch + 1
                ));
            }
            ctx.model().set_weights(weights)?;
        }
        Ok(())
    }
}

impl Callback for EarlyStopping {
    fn wants_batch_logs(&self) -> bool {
        false // it works on the epoch's logs
    }

    fn on_train_begin(&mut self, _ctx: &mut TrainingContext) -> Result<()> {
        self.wait = 0;
        self.stopped_epoch = 0;
        self.best = if self.maximize() {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        self.best_weights = None;
        self.best_epoch = 0;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        ctx: &mut TrainingContext,
    ) -> Result<()> {
        let Some(current) = logs.get(&self.monitor) else {
            ctx.warn_missing("Early stopping", &self.monitor, logs);
            return Ok(());
        };
        let current = f64::from(current);
        if self.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some(ctx.model().get_weights());
        }
        self.wait += 1;
        if self.is_improvement(current, self.best) {
            self.best = current;
            self.best_epoch = epoch;
            if self.restore_best_weights {
                self.best_weights = Some(ctx.model().get_weights());
            }
            if self
                .baseline
                .is_none_or(|baseline| self.is_improvement(current, baseline))
            {
                self.wait = 0;
            }
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = epoch;
            ctx.stop_training = true;
            if self.restore_best_weights && !self.restore_at_end {
                self.restore(ctx)?;
            }
        }
        Ok(())
    }

    fn on_train_end(&mut self, _logs: &Logs, ctx: &mut TrainingContext) -> Result<()> {
        if self.stopped_epoch > 0 && self.verbose > 0 {
            ctx.print(&format!("Epoch {}: early stopping", self.stopped_epoch + 1));
        }
        if self.restore_best_weights && self.restore_at_end {
            self.restore(ctx)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::callbacks::testing::{model_and_optimizer, params, set_w, w};
    use crate::training::progress::Console;

    /// What a scripted run did.
    struct Run {
        /// Epochs run (the last one is where it stopped).
        epochs_run: usize,
        /// The weight at the end (each epoch sets it to its 1-based number).
        final_w: f32,
        printed: String,
        stopped_epoch: usize,
    }

    /// Drives `callback` through epochs whose monitored `val_loss` (or `key`) is `values`; at
    /// the end of epoch i (1-based) the model's weight is i, as if training had changed it.
    fn run(mut callback: EarlyStopping, key: &str, values: &[f32]) -> Run {
        let (mut model, mut opt) = model_and_optimizer();
        let (mut console, captured) = Console::capture(false);
        let mut ctx =
            TrainingContext::new(&mut model, &mut opt, console.writer(), params(values.len()));
        callback.on_train_begin(&mut ctx).unwrap();
        let mut epochs_run = 0;
        let mut logs = Logs::new();
        for (epoch, &value) in values.iter().enumerate() {
            set_w(ctx.model(), (epoch + 1) as f32);
            logs = Logs::from_pairs(&[("loss", 1.0), (key, value)]);
            callback.on_epoch_end(epoch, &mut logs, &mut ctx).unwrap();
            epochs_run += 1;
            if ctx.stop_training {
                break;
            }
        }
        callback.on_train_end(&logs, &mut ctx).unwrap();
        let final_w = w(ctx.model());
        Run {
            epochs_run,
            final_w,
            printed: captured.text(),
            stopped_epoch: callback.stopped_epoch(),
        }
    }

    /// `docs/keras-semantics.md` §6, verified with TF 2.10: patience 4, best at epoch 2 → training
    /// stops after epoch 6 and the weights from the end of epoch 2 are restored.
    /// `EarlyStopping(patience=4, restore_best_weights=True, verbose=1)`.
    #[test]
    fn the_verified_keras_example() {
        let stopping = EarlyStopping::new()
            .patience(4)
            .restore_best_weights(true)
            .verbose(1);
        let result = run(
            stopping,
            "val_loss",
            &[1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99],
        );
        assert_eq!(result.epochs_run, 6);
        assert_eq!(result.stopped_epoch, 5);
        assert_eq!(result.final_w, 2.0);
        assert_eq!(
            result.printed,
            "Restoring model weights from the end of the best epoch: 2.\nEpoch 6: early stopping\n"
        );
    }

    #[test]
    fn tf_2_10_restores_only_when_it_stops_keras_3_always() {
        let values = [1.0, 0.5, 0.6, 0.7];
        let tf210 = run(
            EarlyStopping::new().patience(4).restore_best_weights(true),
            "val_loss",
            &values,
        );
        assert_eq!(
            (tf210.epochs_run, tf210.final_w, tf210.stopped_epoch),
            (4, 4.0, 0)
        );
        assert_eq!(tf210.printed, "");
        let keras3 = EarlyStopping::new()
            .patience(4)
            .restore_best_weights(true)
            .restore_at_end_keras3(true)
            .verbose(1);
        let keras3 = run(keras3, "val_loss", &values);
        assert_eq!((keras3.epochs_run, keras3.final_w), (4, 2.0));
        assert_eq!(
            keras3.printed,
            "Restoring model weights from the end of the best epoch: 2.\n"
        );
    }

    /// TF 2.10's quirk: patience 0 stops after the second epoch even while improving.
    #[test]
    fn patience_zero_stops_at_epoch_two() {
        let result = run(EarlyStopping::new(), "val_loss", &[3.0, 2.0, 1.0, 0.5]);
        assert_eq!(result.epochs_run, 2);
        // Without restore_best_weights the last weights stay.
        assert_eq!(result.final_w, 2.0);
    }

    #[test]
    fn min_delta_mode_and_baseline() {
        // Improvements under 0.1 do not count with min_delta 0.1: wait reaches 2 at epoch 3.
        let result = run(
            EarlyStopping::new().patience(2).min_delta(-0.1),
            "val_loss",
            &[1.0, 0.95, 0.92, 0.5],
        );
        assert_eq!(result.epochs_run, 3);
        // Accuracy is maximised in auto mode.
        let result = run(
            EarlyStopping::new().monitor("val_accuracy").patience(2),
            "val_accuracy",
            &[0.5, 0.6, 0.7, 0.8, 0.7, 0.6, 0.5],
        );
        assert_eq!(result.epochs_run, 6);
        // Mode max on a loss stops when it keeps going down.
        let result = run(
            EarlyStopping::new().mode(Mode::Max).patience(1),
            "val_loss",
            &[1.0, 0.9, 0.8],
        );
        assert_eq!(result.epochs_run, 2);
        // A baseline never beaten: wait never resets although val_loss improves.
        let result = run(
            EarlyStopping::new().patience(3).baseline(0.1),
            "val_loss",
            &[1.0, 0.9, 0.8, 0.7, 0.6],
        );
        assert_eq!(result.epochs_run, 3);
    }

    #[test]
    fn a_missing_monitor_warns_and_never_stops() {
        let result = run(EarlyStopping::new().patience(1), "loss2", &[1.0, 2.0, 3.0]);
        assert_eq!(result.epochs_run, 3);
        assert!(result.printed.contains(
            "Early stopping conditioned on metric `val_loss` which is not available. \
             Available metrics are: loss,loss2"
        ));
    }
}
