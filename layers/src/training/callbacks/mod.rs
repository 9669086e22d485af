//! Callbacks: code that `fit` runs at the start and end of training, of each epoch and of each
//! batch (Keras's `tf.keras.callbacks`).
//!
//! | Keras | astrograd | file |
//! |---|---|---|
//! | `EarlyStopping(monitor='val_loss', patience=4, restore_best_weights=True)` | [`EarlyStopping::new()`](EarlyStopping)`.patience(4).restore_best_weights(true)` | `early_stopping.rs` |
//! | `ModelCheckpoint('w.{epoch:02d}.safetensors', save_best_only=True, save_weights_only=True)` | [`ModelCheckpoint::new("w.{epoch:02d}.safetensors")`](ModelCheckpoint)`.save_best_only(true)` | `model_checkpoint.rs` |
//! | `CSVLogger('log.csv', append=True)` | [`CsvLogger::new("log.csv")`](CsvLogger)`.append(true)` | `csv_logger.rs` |
//! | `ReduceLROnPlateau(factor=0.5, patience=3)` | [`ReduceLROnPlateau::new()`](ReduceLROnPlateau)`.factor(0.5).patience(3)` | `reduce_lr.rs` |
//! | `LearningRateScheduler(lambda epoch, lr: …)` | [`LearningRateScheduler::new(\|epoch, lr\| …)`](LearningRateScheduler) | `lr_scheduler.rs` |
//! | `TerminateOnNaN()` | [`TerminateOnNaN::new()`](TerminateOnNaN) | `terminate_on_nan.rs` |
//!
//! A callback sees the training through a [`TrainingContext`]: the model (to read or restore
//! its weights), the optimizer's learning rate, the `stop_training` flag, and the console.
//! Each epoch's [`Logs`] pass through the callbacks in the order given, after the progress bar
//! has printed them and before the history records them (so `lr`, which `ReduceLROnPlateau`
//! adds, reaches the history but not the bar, as in Keras).
//!
//! `fit` takes callbacks by value (`.callback(EarlyStopping::new())`) or by reference
//! (`.callback(&mut early_stopping)`, to read `stopped_epoch()` afterwards).
use std::io::Write;

use astrograd_optim::Optimizer;

use super::history::{HistoryParams, Logs};
use super::progress::print_msg;
use super::{Loss, Metric};
use crate::model::Model;
use crate::saving::{save_with, CompileState, RunState};
use crate::Result;

mod backup_and_restore;
mod csv_logger;
mod early_stopping;
mod lr_scheduler;
mod model_checkpoint;
mod reduce_lr;
mod terminate_on_nan;

pub use backup_and_restore::BackupAndRestore;
pub use csv_logger::CsvLogger;
pub use early_stopping::EarlyStopping;
pub use lr_scheduler::LearningRateScheduler;
pub use model_checkpoint::ModelCheckpoint;
pub use reduce_lr::ReduceLROnPlateau;
pub use terminate_on_nan::TerminateOnNaN;

/// What a callback can reach while the model trains.
pub struct TrainingContext<'a> {
    model: &'a mut Model,
    optimizer: &'a mut dyn Optimizer,
    out: &'a mut dyn Write,
    params: HistoryParams,
    /// The compiled loss and metrics, which `fit` holds apart from the model while it trains
    /// (for [`TrainingContext::save_model`]).
    compiled: Option<(Loss, &'a [Metric])>,
    /// Keras's `model.stop_training`: set it to end training after this batch or epoch.
    pub stop_training: bool,
    /// Set in `on_train_begin` to start at another epoch (`BackupAndRestore` resuming).
    pub(crate) initial_epoch: Option<usize>,
}

impl<'a> TrainingContext<'a> {
    /// A context over this model and optimizer, writing messages to `out` (`fit` makes one for
    /// each call; a test can make one to drive a callback with scripted logs).
    pub fn new(
        model: &'a mut Model,
        optimizer: &'a mut dyn Optimizer,
        out: &'a mut dyn Write,
        params: HistoryParams,
    ) -> TrainingContext<'a> {
        TrainingContext {
            model,
            optimizer,
            out,
            params,
            compiled: None,
            stop_training: false,
            initial_epoch: None,
        }
    }

    /// The compiled loss and metrics, so that [`TrainingContext::save_model`] can write them.
    pub fn with_compiled(mut self, loss: Loss, metrics: &'a [Metric]) -> TrainingContext<'a> {
        self.compiled = Some((loss, metrics));
        self
    }

    /// Writes the whole model as it is now, with its compile settings, the optimizer's state
    /// and the random generators' states (see [`crate::saving`]), in the format of the file
    /// name; `epochs_done` is recorded for `BackupAndRestore`.
    ///
    /// # Errors
    /// As [`Model::save`].
    pub fn save_model(&self, path: &std::path::Path, epochs_done: Option<usize>) -> Result<()> {
        let compiled = self.compiled.map(|(loss, metrics)| CompileState {
            loss,
            metrics,
            optimizer: &*self.optimizer,
        });
        let mut run = RunState::now(self.model);
        run.epochs_done = epochs_done;
        save_with(self.model, compiled, &run, path)
    }

    /// Starts the training at `epoch` instead of `initial_epoch` (from `on_train_begin`: a run
    /// resumed from a backup).
    pub fn set_initial_epoch(&mut self, epoch: usize) {
        self.initial_epoch = Some(epoch);
    }

    /// The model being trained.
    pub fn model(&self) -> &Model {
        self.model
    }

    /// The model, to change it (unfreeze a layer, set weights).
    pub fn model_mut(&mut self) -> &mut Model {
        self.model
    }

    /// The optimizer.
    pub fn optimizer(&mut self) -> &mut dyn Optimizer {
        self.optimizer
    }

    /// The learning rate of the next update (`model.optimizer.lr`).
    pub fn learning_rate(&self) -> f32 {
        self.optimizer.learning_rate()
    }

    /// Sets a constant learning rate from now on.
    pub fn set_learning_rate(&mut self, lr: f32) {
        self.optimizer.set_learning_rate(lr);
    }

    /// `{verbose, epochs, steps}` of this `fit`.
    pub fn params(&self) -> HistoryParams {
        self.params
    }

    /// Prints a line as Keras's `print_msg`, to the console `fit` writes to.
    pub fn print(&mut self, message: &str) {
        print_msg(self.out, message);
    }

    /// Prints Keras's warning for a monitored key that is not in the logs.
    pub(crate) fn warn_missing(&mut self, what: &str, monitor: &str, logs: &Logs) {
        let message = format!(
            "WARNING: {what} conditioned on metric `{monitor}` which is not available. \
             Available metrics are: {}",
            logs.keys().join(",")
        );
        self.print(&message);
    }
}

/// Code that runs during `fit`. Every method has an empty default: implement those you need.
///
/// ```
/// use astrograd_layers::training::{Callback, Logs, TrainingContext};
/// /// Stops once the training accuracy passes 99 %.
/// struct GoodEnough;
/// impl Callback for GoodEnough {
///     fn on_epoch_end(
///         &mut self,
///         _epoch: usize,
///         logs: &mut Logs,
///         ctx: &mut TrainingContext,
///     ) -> astrograd_layers::Result<()> {
///         if logs.get("accuracy").is_some_and(|a| a > 0.99) {
///             ctx.stop_training = true;
///         }
///         Ok(())
///     }
/// }
/// ```
#[allow(unused_variables)]
pub trait Callback {
    /// Before the first epoch.
    ///
    /// # Errors
    /// A callback's error ends `fit` with it.
    fn on_train_begin(&mut self, ctx: &mut TrainingContext) -> Result<()> {
        Ok(())
    }

    /// Before each epoch (`epoch` counted from 0).
    ///
    /// # Errors
    /// A callback's error ends `fit` with it.
    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut TrainingContext) -> Result<()> {
        Ok(())
    }

    /// Whether this callback reads the `logs` of [`Callback::on_batch_end`]. On a GPU, fresh
    /// batch logs cost a wait for the GPU at every step, so `fit` computes them only when some
    /// callback says yes (or the progress bar draws); otherwise `on_batch_end` sees the logs of
    /// the bar's last drawing. The built-in callbacks that work per epoch say no.
    fn wants_batch_logs(&self) -> bool {
        true
    }

    /// After each training batch, with the running means of the epoch so far.
    ///
    /// # Errors
    /// A callback's error ends `fit` with it.
    fn on_batch_end(&mut self, batch: usize, logs: &Logs, ctx: &mut TrainingContext) -> Result<()> {
        Ok(())
    }

    /// After each epoch and its validation; may add entries to `logs` (they reach the history).
    ///
    /// # Errors
    /// A callback's error ends `fit` with it.
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        ctx: &mut TrainingContext,
    ) -> Result<()> {
        Ok(())
    }

    /// After the last epoch, with its logs.
    ///
    /// # Errors
    /// A callback's error ends `fit` with it.
    fn on_train_end(&mut self, logs: &Logs, ctx: &mut TrainingContext) -> Result<()> {
        Ok(())
    }
}

/// A callback lent to `fit` (`.callback(&mut early_stopping)`) is still a callback.
impl<C: Callback + ?Sized> Callback for &mut C {
    fn on_train_begin(&mut self, ctx: &mut TrainingContext) -> Result<()> {
        (**self).on_train_begin(ctx)
    }

    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut TrainingContext) -> Result<()> {
        (**self).on_epoch_begin(epoch, ctx)
    }

    fn wants_batch_logs(&self) -> bool {
        (**self).wants_batch_logs()
    }

    fn on_batch_end(&mut self, batch: usize, logs: &Logs, ctx: &mut TrainingContext) -> Result<()> {
        (**self).on_batch_end(batch, logs, ctx)
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        ctx: &mut TrainingContext,
    ) -> Result<()> {
        (**self).on_epoch_end(epoch, logs, ctx)
    }

    fn on_train_end(&mut self, logs: &Logs, ctx: &mut TrainingContext) -> Result<()> {
        (**self).on_train_end(logs, ctx)
    }
}

/// Whether a monitored number should go down or up (Keras's `mode=`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Decided from the monitored name (each callback has its own rule, as in Keras).
    #[default]
    Auto,
    /// Lower is better (`'min'`).
    Min,
    /// Higher is better (`'max'`).
    Max,
}

#[cfg(test)]
pub(crate) mod testing {
    //! A tiny model and an optimizer to drive callbacks with scripted logs.
    use astrograd_autograd::Tensor;
    use astrograd_optim::SGD;

    use super::*;
    use crate::{Dense, Input, Sequential};

    /// A one-weight model `y = w·x` and SGD(0.01).
    pub fn model_and_optimizer() -> (Model, SGD) {
        let model = Sequential::new(vec![
            Box::new(Input::new(&[1])),
            Box::new(Dense::new(1).use_bias(false)),
        ])
        .unwrap();
        (model, SGD::new(0.01))
    }

    /// Sets the model's only weight.
    pub fn set_w(model: &Model, w: f32) {
        model
            .set_weights(&[Tensor::from_vec(vec![w], &[1, 1]).unwrap()])
            .unwrap();
    }

    /// The model's only weight.
    pub fn w(model: &Model) -> f32 {
        model.get_weights()[0].to_vec().unwrap()[0]
    }

    /// Parameters of a scripted run of `epochs` epochs.
    pub fn params(epochs: usize) -> HistoryParams {
        HistoryParams {
            verbose: 1,
            epochs,
            steps: 1,
        }
    }
}
