//! Whole-model checkpoints during `fit` (`ModelCheckpoint(save_weights_only=false)`) and
//! `BackupAndRestore` (Keras's callback): a run that dies after its second epoch and is started again with the same
//! code ends on the weights of the run that never died, bit for bit (shuffling and Dropout on).
//!
//! One test in this binary: the global random generator is shared by a process's tests.
use std::path::Path;

use astrograd_autograd::Tensor;
use astrograd_layers::saving::{load_with_run_state, resume_from};
use astrograd_layers::training::{Callback, FitOptions, Logs, TrainingContext};
use astrograd_layers::{
    BackupAndRestore, Dense, Dropout, Input, LayerError, Model, ModelCheckpoint, Sequential,
};
use astrograd_tensor::set_seed;

fn model() -> Model {
    let mut model = Sequential::new(vec![
        Box::new(Input::new(&[3])),
        Box::new(Dense::new(8).activation("relu")),
        Box::new(Dropout::new(0.3)),
        Box::new(Dense::new(3).activation("softmax")),
    ])
    .unwrap();
    model
        .compile("sparse_categorical_crossentropy", "rmsprop", &["accuracy"])
        .unwrap();
    model
}

fn data() -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..60)
        .map(|i| ((i * 37 % 23) as f32 / 11.0) - 1.0)
        .collect();
    let y: Vec<f32> = (0..20).map(|i| (i % 3) as f32).collect();
    (
        Tensor::from_vec(x, &[20, 3]).unwrap(),
        Tensor::from_vec(y, &[20]).unwrap(),
    )
}

fn fit(
    model: &mut Model,
    initial_epoch: usize,
    callbacks: Vec<Box<dyn Callback + '_>>,
) -> Result<(), LayerError> {
    let (x, y) = data();
    let mut options = FitOptions::default()
        .batch_size(4)
        .epochs(4)
        .initial_epoch(initial_epoch)
        .verbose(0);
    options.callbacks = callbacks;
    model.fit(&x, &y, options).map(|_| ())
}

fn weights(model: &Model) -> Vec<Vec<f32>> {
    model
        .get_weights()
        .iter()
        .map(|w| w.to_vec().unwrap())
        .collect()
}

/// Fails at the end of epoch `epoch` (0-based): a process killed there.
struct DieAfter {
    epoch: usize,
}

impl Callback for DieAfter {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        _logs: &mut Logs,
        _ctx: &mut TrainingContext,
    ) -> Result<(), LayerError> {
        if epoch == self.epoch {
            return Err(LayerError::invalid("test", "to keep running", "killed"));
        }
        Ok(())
    }
}

fn file(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

#[test]
fn checkpoints_and_backups_resume_a_run_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    set_seed(7);
    let mut straight = model();
    fit(&mut straight, 0, Vec::new()).unwrap();
    let expected = weights(&straight);

    // 1. Whole-model checkpoints, one per epoch, then a resume from the second.
    set_seed(7);
    let mut checkpointed = model();
    let name = file(dir.path(), "ckpt.{epoch:02d}.keras");
    let checkpoint = ModelCheckpoint::new(&name).save_weights_only(false);
    fit(&mut checkpointed, 0, vec![Box::new(checkpoint)]).unwrap();
    assert_eq!(
        weights(&checkpointed),
        expected,
        "checkpointing changed the run"
    );
    for epoch in 1..=4 {
        assert!(dir.path().join(format!("ckpt.{epoch:02}.keras")).exists());
    }
    let (_, run) = load_with_run_state(&dir.path().join("ckpt.02.keras")).unwrap();
    assert_eq!(run.epochs_done, Some(2));
    set_seed(999);
    let mut resumed = resume_from(dir.path().join("ckpt.02.keras")).unwrap();
    fit(&mut resumed, 2, Vec::new()).unwrap();
    assert_eq!(weights(&resumed), expected, "resumed from a checkpoint");

    // save_best_only: only improving epochs write the file (here the training loss).
    set_seed(7);
    let best_path = dir.path().join("best.h5");
    let best = ModelCheckpoint::new(&file(dir.path(), "best.h5"))
        .save_weights_only(false)
        .save_best_only(true)
        .monitor("loss");
    let mut tracked = model();
    fit(&mut tracked, 0, vec![Box::new(best)]).unwrap();
    let (saved, run) = load_with_run_state(&best_path).unwrap();
    assert!(saved.is_compiled() && (1..=4).contains(&run.epochs_done.unwrap()));

    // A whole model needs a model file name.
    let wrong = ModelCheckpoint::new(&file(dir.path(), "w.safetensors")).save_weights_only(false);
    let err = fit(&mut model(), 0, vec![Box::new(wrong)])
        .unwrap_err()
        .to_string();
    assert!(err.contains(".keras"), "{err}");

    // 2. BackupAndRestore: the run dies after epoch 2; the same code run again finishes it.
    let backup_dir = dir.path().join("backup");
    set_seed(7);
    let mut dying = model();
    let callbacks: Vec<Box<dyn Callback>> = vec![
        Box::new(BackupAndRestore::new(&backup_dir)),
        Box::new(DieAfter { epoch: 1 }),
    ];
    assert!(fit(&mut dying, 0, callbacks).is_err());
    assert!(backup_dir.join("backup.keras").exists());
    set_seed(7);
    let mut again = model();
    fit(
        &mut again,
        0,
        vec![Box::new(BackupAndRestore::new(&backup_dir))],
    )
    .unwrap();
    assert_eq!(weights(&again), expected, "resumed by BackupAndRestore");
    assert!(
        !backup_dir.join("backup.keras").exists(),
        "the backup outlived a finished run"
    );
    // With nothing to restore, the same code trains from the start.
    set_seed(7);
    let mut fresh = model();
    fit(
        &mut fresh,
        0,
        vec![Box::new(BackupAndRestore::new(&backup_dir))],
    )
    .unwrap();
    assert_eq!(weights(&fresh), expected);
}
