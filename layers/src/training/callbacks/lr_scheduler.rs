//! `LearningRateScheduler`: set the learning rate at the start of each epoch from a function of
//! the epoch (counted from 0) and the current rate, as Keras's
//! `LearningRateScheduler(lambda epoch, lr: lr if epoch < 10 else lr * tf.math.exp(-0.1))`.
//!
//! The function works in `f64` as Keras's Python floats do: it receives the float32 rate widened
//! to `f64`, and its result is stored as float32. The epoch's rate is written into the logs as
//! `lr` at the end of the epoch.
use super::{Callback, TrainingContext};
use crate::training::history::{python_float, Logs};
use crate::{LayerError, Result};

/// Sets the learning rate at the start of each epoch.
pub struct LearningRateScheduler {
    schedule: Box<dyn FnMut(usize, f64) -> f64>,
    verbose: u8,
}

impl LearningRateScheduler {
    /// A scheduler calling `schedule(epoch, lr)` before each epoch.
    ///
    /// ```
    /// use astrograd_layers::training::LearningRateScheduler;
    /// let scheduler = LearningRateScheduler::new(|epoch, lr| {
    ///     if epoch < 10 { lr } else { lr * (-0.1f64).exp() }
    /// });
    /// ```
    pub fn new(schedule: impl FnMut(usize, f64) -> f64 + 'static) -> LearningRateScheduler {
        LearningRateScheduler {
            schedule: Box::new(schedule),
            verbose: 0,
        }
    }

    /// 1 prints each new rate.
    pub fn verbose(mut self, verbose: u8) -> LearningRateScheduler {
        self.verbose = verbose;
        self
    }
}

impl Callback for LearningRateScheduler {
    fn wants_batch_logs(&self) -> bool {
        false // it works on the epoch's logs
    }

    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut TrainingContext) -> Result<()> {
        let lr = (self.schedule)(epoch, f64::from(ctx.learning_rate()));
        if !lr.is_finite() || lr < 0.0 {
            return Err(LayerError::invalid(
                "LearningRateScheduler",
                "a finite, non-negative learning rate from the schedule",
                format!("{} at epoch {epoch}", python_float(lr)),
            ));
        }
        ctx.set_learning_rate(lr as f32);
        if self.verbose > 0 {
            ctx.print(&format!(
                "\nEpoch {}: LearningRateScheduler setting learning rate to {}.",
                epoch + 1,
                python_float(lr)
            ));
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        logs: &mut Logs,
        ctx: &mut TrainingContext,
    ) -> Result<()> {
        logs.set("lr", ctx.learning_rate());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::callbacks::testing::{model_and_optimizer, params};

    #[test]
    fn sets_the_rate_each_epoch_and_logs_it() {
        let (mut model, mut opt) = model_and_optimizer();
        let mut out = Vec::new();
        let mut ctx = TrainingContext::new(&mut model, &mut opt, &mut out, params(3));
        let mut scheduler =
            LearningRateScheduler::new(|epoch, lr| if epoch < 1 { lr } else { lr * 0.5 })
                .verbose(1);
        let mut logged = Vec::new();
        for epoch in 0..3 {
            scheduler.on_epoch_begin(epoch, &mut ctx).unwrap();
            let mut logs = Logs::from_pairs(&[("loss", 1.0)]);
            scheduler.on_epoch_end(epoch, &mut logs, &mut ctx).unwrap();
            logged.push(logs.get("lr").unwrap());
        }
        let half = (f64::from(0.01f32) * 0.5) as f32;
        assert_eq!(logged, vec![0.01, half, (f64::from(half) * 0.5) as f32]);
        let mut bad = LearningRateScheduler::new(|_, _| f64::NAN);
        assert!(bad.on_epoch_begin(0, &mut ctx).is_err());
        let printed = String::from_utf8(out).unwrap();
        assert!(
            printed.starts_with(
                "\nEpoch 1: LearningRateScheduler setting learning rate to 0.009999999776482582.\n"
            ),
            "{printed}"
        );
    }
}
