//! `BackupAndRestore`: a run that was killed (a crash, a cluster's time limit, Ctrl-C) and is
//! started again with the same command goes on from the last finished epoch instead of from
//! the beginning.
//!
//! At the end of each epoch the whole model is written to `backup_dir/backup.keras`
//! (atomically: a kill while writing leaves the previous backup whole), with the optimizer's
//! state, the random generators' states and the number of epochs done. When training begins
//! and that file exists, the model takes its weights, the optimizer its slots and step count,
//! the generators their states, and `fit` starts at the next epoch: the resumed run ends on
//! the weights of a run that was never interrupted, bit for bit on the CPU. When training ends
//! normally the backup is deleted (Keras's `delete_checkpoint=True`), so the next run starts
//! afresh.
//!
//! ```text
//! model.fit(x, y, epochs=10, callbacks=[keras.callbacks.BackupAndRestore("backup")])
//! FitOptions::default().epochs(10).callbacks(vec![Box::new(BackupAndRestore::new("backup"))])
//! ```
use std::path::{Path, PathBuf};

use super::{Callback, TrainingContext};
use crate::saving::load_with_run_state;
use crate::training::history::Logs;
use crate::{LayerError, Result};

/// Keras's `BackupAndRestore(backup_dir, delete_checkpoint=True)`, saving at each epoch's end.
#[derive(Clone, Debug)]
pub struct BackupAndRestore {
    backup_dir: PathBuf,
    delete_checkpoint: bool,
}

impl BackupAndRestore {
    /// Backs up into `backup_dir` (made when needed).
    pub fn new(backup_dir: impl Into<PathBuf>) -> BackupAndRestore {
        BackupAndRestore {
            backup_dir: backup_dir.into(),
            delete_checkpoint: true,
        }
    }

    /// `false` keeps the backup after a finished run.
    pub fn delete_checkpoint(mut self, delete: bool) -> BackupAndRestore {
        self.delete_checkpoint = delete;
        self
    }

    /// The backup file.
    pub fn backup_path(&self) -> PathBuf {
        self.backup_dir.join("backup.keras")
    }

    /// Gives the model and optimizer of `ctx` the backup's state; returns the epochs done.
    fn restore(&self, path: &Path, ctx: &mut TrainingContext) -> Result<usize> {
        let (saved, run) = load_with_run_state(path)?;
        let context = |detail: String| {
            LayerError::invalid(
                "BackupAndRestore",
                format!(
                    "a backup of this model and optimizer in '{}'",
                    path.display()
                ),
                detail,
            )
        };
        let epochs_done = run
            .epochs_done
            .ok_or_else(|| context("a file without the number of epochs done".into()))?;
        let saved_optimizer = saved
            .optimizer()
            .ok_or_else(|| context("a model saved without its optimizer".into()))?;
        if saved_optimizer.name() != ctx.optimizer().name() {
            return Err(context(format!(
                "the optimizer {} (this run uses {})",
                saved_optimizer.name(),
                ctx.optimizer().name()
            )));
        }
        // Shapes are checked before anything changes.
        ctx.model()
            .set_weights(&saved.get_weights())
            .map_err(|e| context(e.to_string()))?;
        let (from, to) = (saved.trainable_weights(), ctx.model().trainable_weights());
        let optimizer = ctx.optimizer();
        for slot in saved_optimizer.slot_names() {
            for (f, t) in from.iter().zip(&to) {
                if let Some(value) = saved_optimizer.slot(&f.var, slot) {
                    optimizer.set_slot(&t.var, slot, value)?;
                }
            }
        }
        optimizer.set_iterations(saved_optimizer.iterations());
        run.restore(ctx.model());
        Ok(epochs_done)
    }
}

impl Callback for BackupAndRestore {
    fn wants_batch_logs(&self) -> bool {
        false
    }

    fn on_train_begin(&mut self, ctx: &mut TrainingContext) -> Result<()> {
        let path = self.backup_path();
        if path.exists() {
            let epochs_done = self.restore(&path, ctx)?;
            ctx.print(&format!(
                "BackupAndRestore: resuming from '{}' after epoch {epochs_done}",
                path.display()
            ));
            ctx.set_initial_epoch(epochs_done);
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        _logs: &mut Logs,
        ctx: &mut TrainingContext,
    ) -> Result<()> {
        std::fs::create_dir_all(&self.backup_dir).map_err(|e| {
            LayerError::invalid(
                "BackupAndRestore",
                "a backup directory that can be written",
                format!("'{}': {e}", self.backup_dir.display()),
            )
        })?;
        ctx.save_model(&self.backup_path(), Some(epoch + 1))
    }

    fn on_train_end(&mut self, _logs: &Logs, _ctx: &mut TrainingContext) -> Result<()> {
        // Data-parallel: rank 0 wrote the backup, and deletes it.
        if self.delete_checkpoint && astrograd_distributed::is_main_process() {
            match std::fs::remove_file(self.backup_path()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(LayerError::invalid(
                        "BackupAndRestore",
                        "a backup that can be deleted after training",
                        format!("'{}': {e}", self.backup_path().display()),
                    ))
                }
            }
            // The directory too, when nothing else is in it.
            let _ = std::fs::remove_dir(&self.backup_dir);
        }
        Ok(())
    }
}
