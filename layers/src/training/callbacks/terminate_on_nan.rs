//! `TerminateOnNaN`: stop training as soon as the running loss is NaN or infinite.
//!
//! Without it, a NaN loss does not stop anything: the weights become NaN and the history shows
//! `nan`, as in Keras.
use super::{Callback, TrainingContext};
use crate::training::history::Logs;
use crate::Result;

/// Stops training after a batch whose loss is NaN or infinite.
#[derive(Clone, Copy, Debug, Default)]
pub struct TerminateOnNaN;

impl TerminateOnNaN {
    /// The callback.
    pub fn new() -> TerminateOnNaN {
        TerminateOnNaN
    }
}

impl Callback for TerminateOnNaN {
    fn on_batch_end(&mut self, batch: usize, logs: &Logs, ctx: &mut TrainingContext) -> Result<()> {
        if logs.get("loss").is_some_and(|loss| !loss.is_finite()) {
            ctx.print(&format!(
                "Batch {batch}: Invalid loss, terminating training"
            ));
            ctx.stop_training = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::callbacks::testing::{model_and_optimizer, params};

    #[test]
    fn stops_on_nan_and_infinity_only() {
        let (mut model, mut opt) = model_and_optimizer();
        let mut out = Vec::new();
        let mut ctx = TrainingContext::new(&mut model, &mut opt, &mut out, params(1));
        let mut callback = TerminateOnNaN::new();
        callback
            .on_batch_end(0, &Logs::from_pairs(&[("loss", 1e30)]), &mut ctx)
            .unwrap();
        assert!(!ctx.stop_training);
        callback
            .on_batch_end(3, &Logs::from_pairs(&[("loss", f32::NAN)]), &mut ctx)
            .unwrap();
        assert!(ctx.stop_training);
        ctx.stop_training = false;
        callback
            .on_batch_end(4, &Logs::from_pairs(&[("loss", f32::INFINITY)]), &mut ctx)
            .unwrap();
        assert!(ctx.stop_training);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Batch 3: Invalid loss, terminating training\nBatch 4: Invalid loss, terminating training\n"
        );
    }
}
