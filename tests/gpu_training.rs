//! Training on the GPU (feature `wgpu`) gives the CPU's numbers, copies nothing to the host but
//! the scalars the progress bar shows (read when it draws, and at the epoch's end), and allocates
//! no GPU memory after the first steps.
//!
//! ```python
//! # Keras picks the GPU by itself; astrograd is told: model.to(Device::gpu()?) before compile.
//! model = keras.Sequential([
//!     layers.Conv2D(12, (3, 3), activation="relu", input_shape=(28, 28, 1)),
//!     layers.MaxPooling2D((2, 2)), layers.Flatten(),
//!     layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")])
//! model.compile(optimizer=keras.optimizers.Adam(1e-3),
//!               loss="sparse_categorical_crossentropy", metrics=["accuracy"])
//! model.fit(X_train[:256], y_train[:256], epochs=2, batch_size=32)
//! ```
//!
//! In CI the GPU is Mesa's lavapipe (a software Vulkan driver), so the shapes stay small. Without
//! a GPU the tests say so and pass, unless `ASTROGRAD_REQUIRE_GPU=1` (set by CI).
#![cfg(feature = "wgpu")]

use astrograd::data::{arrays::scale_255, fashion_mnist};
use astrograd::kernels::test_env::REQUIRE_DATA;
use astrograd::kernels::wgpu::{dispatches_by_kernel, stats, TransferStats};
use astrograd::layers::training::{Callback, Logs, TrainingContext};
use astrograd::layers::{
    Conv2D, Dense, Dropout, FitOptions, Flatten, Layer, MaxPooling2D, Model, Sequential,
};
use astrograd::optim::Adam;
use astrograd::{set_seed, Device, Tensor};

/// The GPU's counters are global: the tests of this file take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The GPU, or `None` (with a note) where there is none.
fn gpu() -> Option<Device> {
    astrograd::tensor::gpu::gpu_or_skip()
}

/// The first 256 training images of Fashion-MNIST, or (without the dataset, outside CI) 256
/// seeded random images with labels, so that the device comparison still runs.
fn images() -> (Tensor, Tensor) {
    match fashion_mnist::load_data() {
        Ok(((x, y), _)) => {
            let x = scale_255(
                &x.slice_axis(0, 0, 256)
                    .unwrap()
                    .reshape(&[256, 28, 28, 1])
                    .unwrap(),
            )
            .unwrap();
            (x, y.slice_axis(0, 0, 256).unwrap())
        }
        Err(e) if astrograd::kernels::test_env::required(REQUIRE_DATA) => {
            panic!("{REQUIRE_DATA} is set but Fashion-MNIST could not be loaded: {e}")
        }
        Err(_) => {
            set_seed(7);
            let x = Tensor::rand_uniform(&[256, 28, 28, 1], 0.0, 1.0);
            let y = Tensor::rand_uniform(&[256], 0.0, 9.99).unary(astrograd::tensor::UnaryOp::Abs);
            let y = Tensor::from_vec(
                y.to_vec().unwrap().iter().map(|v| v.floor()).collect(),
                &[256],
            )
            .unwrap();
            (x, y)
        }
    }
}

/// The Session 2 CNN (with a Dropout, so that the dropout masks are compared too).
fn session2_cnn() -> Model {
    Sequential::new(vec![
        Box::new(
            Conv2D::new(12, 3)
                .activation("relu")
                .with_input_shape(&[28, 28, 1]),
        ),
        Box::new(MaxPooling2D::new()),
        Box::new(Flatten::new()),
        Box::new(Dense::new(128).activation("relu")),
        Box::new(Dropout::new(0.25)),
        Box::new(Dense::new(10).activation("softmax")),
    ])
    .unwrap()
}

/// A fresh Session 2 CNN, seeded, on `device`, compiled with Adam (lr 1e-3) and accuracy.
fn compiled_session2_cnn(device: Device) -> Model {
    set_seed(42);
    let mut model = session2_cnn();
    model.to(device).unwrap();
    model
        .compile(
            "sparse_categorical_crossentropy",
            Adam::new(1e-3),
            &["accuracy"],
        )
        .unwrap();
    model
}

/// A fresh seeded Session 2 CNN on `device`, compiled with Adam and trained for `epochs` on
/// [`images`] (batches of 32, no progress bar) with `callback`: the model and its history.
fn fit_session2_cnn(
    device: Device,
    epochs: usize,
    callback: &mut dyn Callback,
) -> (Model, astrograd::layers::training::History) {
    let (x, y) = images();
    let mut model = compiled_session2_cnn(device);
    let history = model
        .fit(
            &x,
            &y,
            FitOptions::default()
                .epochs(epochs)
                .batch_size(32)
                .verbose(0)
                .callback(callback),
        )
        .unwrap();
    (model, history)
}

/// Trains a fresh seeded model on `device` and returns the per-epoch losses and accuracies,
/// the final weights, and what the GPU counters said at each epoch's end.
fn train(device: Device, epochs: usize) -> (Vec<f32>, Vec<f32>, Vec<Tensor>, Vec<Snapshot>) {
    train_with(device, epochs, false)
}

/// [`train`], with a callback that reads every batch's logs or not.
fn train_with(
    device: Device,
    epochs: usize,
    batch_logs: bool,
) -> (Vec<f32>, Vec<f32>, Vec<Tensor>, Vec<Snapshot>) {
    let mut counters = Counters {
        batch_logs,
        ..Counters::default()
    };
    let (model, history) = fit_session2_cnn(device, epochs, &mut counters);
    let weights = model
        .get_weights()
        .iter()
        .map(|w| w.to(Device::Cpu).unwrap())
        .collect();
    (
        history.history.get("loss").unwrap().to_vec(),
        history.history.get("accuracy").unwrap().to_vec(),
        weights,
        counters.epochs,
    )
}

#[derive(Clone, Copy, Debug)]
struct Snapshot {
    downloads: u64,
    download_bytes: u64,
    allocations: u64,
}

/// Reads the GPU counters at the start of training and at the end of every epoch.
#[derive(Default)]
struct Counters {
    epochs: Vec<Snapshot>,
    /// Whether it asks for the logs of every batch (as TerminateOnNaN does).
    batch_logs: bool,
}

impl Callback for Counters {
    fn wants_batch_logs(&self) -> bool {
        self.batch_logs
    }

    fn on_train_begin(&mut self, _: &mut TrainingContext) -> astrograd::layers::Result<()> {
        self.snap();
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _: usize,
        _: &mut Logs,
        _: &mut TrainingContext,
    ) -> astrograd::layers::Result<()> {
        self.snap();
        Ok(())
    }
}

impl Counters {
    fn snap(&mut self) {
        let s = stats();
        self.epochs.push(Snapshot {
            downloads: s.downloads,
            download_bytes: s.download_bytes,
            allocations: s.allocations,
        });
    }
}

#[test]
fn the_session2_cnn_trains_on_the_gpu_as_on_the_cpu() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(gpu) = gpu() else { return };
    let (cpu_loss, cpu_acc, cpu_weights, _) = train(Device::Cpu, 2);
    let (gpu_loss, gpu_acc, gpu_weights, _) = train(gpu, 2);
    println!("loss cpu {cpu_loss:?} gpu {gpu_loss:?}; accuracy cpu {cpu_acc:?} gpu {gpu_acc:?}");
    for (c, g) in cpu_loss.iter().zip(&gpu_loss) {
        assert!(
            (c - g).abs() <= 1e-3 * c.abs().max(1.0),
            "loss: cpu {c} gpu {g}"
        );
    }
    // Accuracy counts decisions; one image near a tie may flip between devices.
    for (c, g) in cpu_acc.iter().zip(&gpu_acc) {
        assert!((c - g).abs() <= 2.0 / 256.0, "accuracy: cpu {c} gpu {g}");
    }
    for (c, g) in cpu_weights.iter().zip(&gpu_weights) {
        assert!(
            g.all_close(c, 1e-2, 1e-3),
            "a weight differs between devices"
        );
    }
    assert!(gpu_loss[1] < gpu_loss[0], "the loss falls: {gpu_loss:?}");
}

#[test]
fn a_gpu_training_step_reads_back_only_scalars_and_allocates_nothing_after_warm_up() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(gpu) = gpu() else { return };
    let (_, _, _, snapshots) = train(gpu, 3);
    let [start, first, second, third] = snapshots[..] else {
        panic!("expected 4 snapshots, found {}", snapshots.len())
    };
    for (before, after) in [(start, first), (first, second), (second, third)] {
        let downloads = after.downloads - before.downloads;
        // Without a progress bar (verbose 0) nor a callback that reads batch logs, the loss and
        // the accuracy are added up on the GPU and read once, at the epoch's end.
        assert_eq!(downloads, 2, "downloads in one epoch of 8 steps");
        assert_eq!(
            after.download_bytes - before.download_bytes,
            4 * downloads,
            "each download is one f32"
        );
    }
    assert_eq!(
        third.allocations, second.allocations,
        "GPU allocations in the third epoch"
    );
    assert_eq!(
        second.allocations, first.allocations,
        "GPU allocations in the second epoch"
    );
}

/// Reads the GPU counters after every training step.
#[derive(Default)]
struct StepCounters {
    /// `stats()` after each step, in order, over all epochs.
    after_step: Vec<TransferStats>,
    /// `dispatches_by_kernel()` after each step.
    kernels_after_step: Vec<std::collections::BTreeMap<&'static str, u64>>,
    /// How many steps each epoch had.
    steps_per_epoch: Vec<usize>,
    /// `stats()` at each epoch's end: since the epoch's last step, `fit` evaluated the
    /// validation data, if any.
    after_epoch: Vec<TransferStats>,
}

impl Callback for StepCounters {
    /// It reads no logs, so the steps need not read the loss back.
    fn wants_batch_logs(&self) -> bool {
        false
    }

    fn on_epoch_begin(
        &mut self,
        _: usize,
        _: &mut TrainingContext,
    ) -> astrograd::layers::Result<()> {
        self.steps_per_epoch.push(0);
        Ok(())
    }

    fn on_batch_end(
        &mut self,
        _: usize,
        _: &Logs,
        _: &mut TrainingContext,
    ) -> astrograd::layers::Result<()> {
        self.after_step.push(stats());
        self.kernels_after_step.push(dispatches_by_kernel());
        if let Some(steps) = self.steps_per_epoch.last_mut() {
            *steps += 1;
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _: usize,
        _: &mut Logs,
        _: &mut TrainingContext,
    ) -> astrograd::layers::Result<()> {
        self.after_epoch.push(stats());
        Ok(())
    }
}

/// What a training step asks of the GPU, step after step, for the Session 2 CNN (8 steps an
/// epoch, two epochs), read by a callback that reads no logs:
/// - the training set went to the GPU once, before the first step: a step uploads only the
///   batch's sample numbers (32 `u32`, once for the images' gather and once for the labels'),
///   not its images;
/// - from the first step on, every step records the same dispatches and uploads in **one
///   submission** (uploads are recorded in order with the kernels, and `fit` submits at the end
///   of the step), and reads nothing back, except the last step of each epoch, which also reads
///   the epoch's loss and accuracy (two reads of 4 bytes, each a submission of its own);
/// - from the third step on, nothing is allocated (the pool has every size the step asks for),
///   except the first reading of the epoch's logs, at the first epoch's last step;
/// - in the second epoch no bind group is made: the pool hands out the same buffers at every
///   step, so every dispatch finds its bind group in the cache;
/// - the first convolution makes no `cols` (forward and weight gradient), and no softmax kernel
///   runs: the accuracy reads the cross-entropy kernel's probabilities;
/// - the optimizer updates every weight and bias in one dispatch, and no gradient is copied:
///   the Dense and Conv2D backwards write them into the optimizer's flat buffer;
/// - the batch's loss and accuracy are added to the epoch's sums by one kernel.
///
/// The counts are printed: `docs/gpu.md` quotes them.
#[test]
fn every_step_after_the_first_asks_the_same_of_the_gpu() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(gpu) = gpu() else { return };
    let mut counters = StepCounters::default();
    fit_session2_cnn(gpu, 2, &mut counters);
    assert_eq!(counters.steps_per_epoch, vec![8, 8]);
    // What happened between the ends of steps 1 and 2, 2 and 3, …, 7 and 8 of each epoch.
    let epochs: Vec<Vec<TransferStats>> = counters
        .after_step
        .chunks(8)
        .map(|epoch| epoch.windows(2).map(|w| w[1].since(&w[0])).collect())
        .collect();
    for (e, steps) in epochs.iter().enumerate() {
        for (i, step) in steps.iter().enumerate() {
            println!("epoch {}, step {}: {step:?}", e + 1, i + 2);
        }
    }
    let first = epochs[0][0];
    assert!(first.dispatches > 0, "{first:?}");
    // Where the dispatches of a step go, kernel by kernel (steps 1 → 2 of the second epoch).
    let (before, after) = (
        &counters.kernels_after_step[8],
        &counters.kernels_after_step[9],
    );
    let by_kernel: Vec<(&str, u64)> = after
        .iter()
        .map(|(name, n)| (*name, n - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    println!("one step's dispatches by kernel: {by_kernel:?}");
    let total: u64 = by_kernel.iter().map(|(_, n)| n).sum();
    assert_eq!(total, first.dispatches, "{by_kernel:?}");
    let ran = |kernel: &str| by_kernel.iter().any(|(name, _)| *name == kernel);
    assert!(
        ran("conv2d.implicit") && ran("conv2d.implicit_weight") && !ran("conv2d.im2col"),
        "the convolution's forward and weight gradient read their patches from x: {by_kernel:?}"
    );
    assert!(
        !ran("softmax.rows"),
        "the output's probabilities come from the cross-entropy's kernel: {by_kernel:?}"
    );
    assert!(
        ran("metrics.loss_and_accuracy") && !ran("metrics.accuracy"),
        "the loss and the accuracy go into the epoch's sums in one kernel: {by_kernel:?}"
    );
    assert_eq!(
        (first.uploads, first.upload_bytes),
        (2, 2 * 32 * 4),
        "{first:?}"
    );
    assert_eq!(first.submissions, 1, "{first:?}");
    assert_eq!(first.downloads, 0, "a step reads nothing back: {first:?}");
    let updates = by_kernel.iter().find(|(name, _)| *name == "optimizer");
    assert_eq!(updates, Some(&("optimizer", 1)), "{by_kernel:?}");
    assert_eq!(first.copies, 0, "{first:?}");
    for (e, steps) in epochs.iter().enumerate() {
        for (i, step) in steps.iter().enumerate() {
            let at = format!("epoch {}, step {}: {step:?}", e + 1, i + 2);
            assert_eq!(
                (
                    step.dispatches,
                    step.uploads,
                    step.upload_bytes,
                    step.copies
                ),
                (
                    first.dispatches,
                    first.uploads,
                    first.upload_bytes,
                    first.copies
                ),
                "{at}"
            );
            // The last step of an epoch also reads the epoch's loss and accuracy.
            let last = i + 1 == steps.len();
            let (reads, extra_submissions) = if last { (2, 2) } else { (0, 0) };
            assert_eq!(step.downloads, reads, "{at}");
            assert_eq!(step.download_bytes, 4 * reads, "{at}");
            assert_eq!(
                step.submissions,
                first.submissions + extra_submissions,
                "{at}"
            );
            // The first reading of an epoch's logs (the first epoch's last step) may make the
            // small buffers that reading needs; after that nothing is made.
            if (e, i) != (0, 0) && !(e == 0 && last) {
                assert_eq!(step.allocations, 0, "{at}");
            }
            if e == 1 {
                assert_eq!(step.bind_groups, 0, "{at}");
            }
        }
    }
}

#[test]
fn a_callback_that_reads_every_batch_gets_fresh_logs_at_every_step() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(gpu) = gpu() else { return };
    let (_, _, _, snapshots) = train_with(gpu, 1, true);
    let [start, end] = snapshots[..] else {
        panic!("expected 2 snapshots, found {}", snapshots.len())
    };
    // 8 steps, each reading the running loss and accuracy.
    assert_eq!(end.downloads - start.downloads, 2 * 8);
}

/// A label outside `0..K` is an error on the GPU too, as on the CPU (the GPU kernels alone
/// would turn it into a NaN loss): `fit` and `evaluate` check the labels on the host before
/// copying them.
#[test]
fn a_label_out_of_range_is_an_error_on_the_gpu() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(device) = gpu() else { return };
    set_seed(3);
    let x = Tensor::rand_uniform(&[8, 4], 0.0, 1.0);
    let y = Tensor::from_vec(vec![0.0, 1.0, 2.0, 1.0, 0.0, 10.0, 1.0, 2.0], &[8]).unwrap();
    let mut model = Sequential::new(vec![Box::new(
        Dense::new(3).activation("softmax").with_input_shape(&[4]),
    )])
    .unwrap();
    model.to(device).unwrap();
    model
        .compile(
            "sparse_categorical_crossentropy",
            Adam::new(1e-3),
            &["accuracy"],
        )
        .unwrap();
    for err in [
        model
            .fit(
                &x,
                &y,
                FitOptions::default()
                    .batch_size(8)
                    .shuffle(false)
                    .verbose(0),
            )
            .unwrap_err()
            .to_string(),
        model.evaluate(&x, &y, 8).unwrap_err().to_string(),
    ] {
        assert!(
            err.contains("expected class indices in 0..3 (K = 3 classes), found label 10 in row 5"),
            "{err}"
        );
    }
}

/// Set in the child process of the out-of-memory test.
const OUT_OF_MEMORY_CHILD: &str = "ASTROGRAD_TEST_OUT_OF_MEMORY";

/// A batch that does not fit in the GPU's memory (here a 16 MiB limit set with
/// `ASTROGRAD_GPU_MEMORY`, in a child process, as the limit is read when the GPU opens) is an
/// error that names the buffer's size and the limit, not a crash; the model stays usable: it
/// trains on the GPU with smaller batches, and it moves to the CPU and trains there. A
/// training set with no room on the GPU stays on the host, its batches copied one by one.
#[test]
fn running_out_of_gpu_memory_is_an_error_and_the_model_lives_on() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if gpu().is_none() {
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_that_runs_out_of_gpu_memory",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(OUT_OF_MEMORY_CHILD, "1")
        .env("ASTROGRAD_GPU_MEMORY", "16MiB")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("the model lived on"),
        "the child failed:\n{stdout}\n{stderr}"
    );
}

#[test]
fn child_that_runs_out_of_gpu_memory() {
    if std::env::var(OUT_OF_MEMORY_CHILD).is_err() {
        return;
    }
    let Some(gpu) = gpu() else { return };
    // A training set with no room on the GPU (2,000 images, 6.3 MB, more than half of what the
    // limit leaves) stays on the host: each batch is copied, two uploads a step.
    set_seed(9);
    let big_x = Tensor::rand_uniform(&[2000, 28, 28, 1], 0.0, 1.0);
    let big_y = Tensor::from_vec((0..2000).map(|i| (i % 10) as f32).collect(), &[2000]).unwrap();
    let mut model = compiled_session2_cnn(gpu);
    // The first fit also makes Adam's slots; the second is counted.
    let fit_big = |model: &mut Model| {
        model
            .fit(&big_x, &big_y, FitOptions::default().verbose(0))
            .unwrap()
    };
    fit_big(&mut model);
    let before = stats();
    fit_big(&mut model);
    let during = stats().since(&before);
    let steps = 2000_u64.div_ceil(32);
    assert_eq!(during.uploads, 2 * steps, "{during:?}");
    assert_eq!(during.upload_bytes, 2000 * (784 + 1) * 4, "{during:?}");
    let (x, y) = images();
    let mut model = compiled_session2_cnn(gpu);
    let fit = |model: &mut Model, batch_size: usize| {
        model.fit(
            &x,
            &y,
            FitOptions::default().batch_size(batch_size).verbose(0),
        )
    };
    // 256 images at once: the convolution's output alone is 8.3 MB.
    let err = fit(&mut model, 256).unwrap_err().to_string();
    println!("{err}");
    assert!(err.starts_with("out of GPU memory: a buffer of "), "{err}");
    assert!(
        err.contains("the limit set by ASTROGRAD_GPU_MEMORY is 16777216"),
        "{err}"
    );
    assert!(err.contains("model.to(Device::Cpu)"), "{err}");
    // Smaller batches fit.
    let history = fit(&mut model, 16).unwrap();
    assert!(history.history.get("loss").unwrap()[0].is_finite());
    // And the model moves to the CPU with what it learnt, its Adam moments too, and trains
    // there.
    let kernel = model.trainable_weights()[0].var.clone();
    let moments = |model: &Model| -> Vec<Tensor> {
        let adam = model.optimizer().unwrap();
        ["m", "v"]
            .map(|slot| adam.slot(&kernel, slot).unwrap())
            .to_vec()
    };
    let on_gpu: Vec<Vec<f32>> = moments(&model)
        .iter()
        .map(|t| t.to_vec().unwrap())
        .collect();
    model.to(Device::Cpu).unwrap();
    assert_eq!(model.device(), Device::Cpu);
    let on_cpu = moments(&model);
    assert!(on_cpu.iter().all(|t| t.device() == Device::Cpu));
    let on_cpu: Vec<Vec<f32>> = on_cpu.iter().map(|t| t.to_vec().unwrap()).collect();
    assert_eq!(on_cpu, on_gpu);
    assert!(
        on_cpu[1].iter().any(|&v| v > 0.0),
        "the moments were learnt"
    );
    let history = fit(&mut model, 256).unwrap();
    assert!(history.history.get("loss").unwrap()[0].is_finite());
    println!("the model lived on");
}

/// `validation_data=(x_val, y_val)` goes to the GPU once, with the training set: each epoch's
/// evaluation uploads only its batches' sample numbers (2 uploads of 32 `u32` a batch), not
/// the images (64 × 784 × 4 bytes an epoch before), and gives the numbers it gave on the host.
#[test]
fn validation_arrays_go_to_the_gpu_once() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(gpu) = gpu() else { return };
    let (x, y) = images();
    let (x_train, y_train) = (
        x.slice_axis(0, 0, 192).unwrap(),
        y.slice_axis(0, 0, 192).unwrap(),
    );
    let (x_val, y_val) = (
        x.slice_axis(0, 192, 256).unwrap(),
        y.slice_axis(0, 192, 256).unwrap(),
    );
    let mut counters = StepCounters::default();
    let mut model = compiled_session2_cnn(gpu);
    let history = model
        .fit(
            &x_train,
            &y_train,
            FitOptions::default()
                .epochs(2)
                .batch_size(32)
                .verbose(0)
                .validation_data(&x_val, &y_val)
                .callback(&mut counters),
        )
        .unwrap();
    assert_eq!(counters.after_epoch.len(), 2);
    for (epoch, end) in counters.after_epoch.iter().enumerate() {
        // 6 steps an epoch; the validation ran between the last one and the epoch's end.
        let validation = end.since(&counters.after_step[6 * epoch + 5]);
        assert_eq!(
            (validation.uploads, validation.upload_bytes),
            (4, 2 * 4 * 64),
            "epoch {}: {validation:?}",
            epoch + 1
        );
    }
    // The numbers of evaluating the trained model on the host's arrays, batch by batch.
    let scores = model.evaluate(&x_val, &y_val, 32).unwrap();
    assert_eq!(
        scores,
        vec![
            history.history["val_loss"][1],
            history.history["val_accuracy"][1]
        ]
    );
}
