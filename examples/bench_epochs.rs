//! # The workload timer: astrograd's epoch times on the course's four workloads
//!
//! The scripts in `bench/reference/` write the course's four training workloads once in PyTorch
//! (`torch_ref.py`) and once in Keras (`keras_ref.py`); this example runs the same four with
//! astrograd — the same models, data sizes, optimizer (Adam, lr 1e-3, ε 1e-7), Glorot-uniform
//! initialisation and batch sizes — times every epoch, and prints one JSON line in their
//! schema, so that the lines can be compared side by side:
//!
//! ```text
//! {"engine":"astrograd","workload":"s1_mlp","epoch_s":1.23,"epochs":[1.4,1.23,1.22],"test_acc":0.86}
//! ```
//!
//! `epoch_s` is the median epoch wall time without the first epoch (the warm-up), as the reference
//! scripts compute it. Machines are shared and noisy: compare ratios measured back to back, not
//! absolute times from different runs.
//!
//! | workload | model | data (as `torch_ref.py`) | batch |
//! |---|---|---|---|
//! | `s1_mlp` | Flatten → Dense 300 relu → Dense 100 relu → Dense 10 softmax | Fashion-MNIST train\[5000:\] (55,000) | 32 |
//! | `s2_cnn` | Conv2D 12 3×3 relu → MaxPool 2 → Flatten → Dense 128 relu → Dense 10 softmax | Fashion-MNIST train\[:48000\] | 32 |
//! | `g10_cnn` | Conv2D 12 3×3 relu → MaxPool 2 → Flatten → Dense 500 relu → 100 relu → 10 softmax | 15,685 uniform 69×69×3 images, 10 random labels | 32 |
//! | `cd_cnn` | Conv 16/32/64 3×3 relu + MaxPool 2 (×3) → Flatten → Dense 512 relu → Dense 1 sigmoid | 400 uniform 150×150×3 images, random 0/1 labels | 20 |
//!
//! As in `torch_ref.py`, an epoch is the training pass only (no validation pass), and the
//! Fashion-MNIST workloads report the test accuracy after the last epoch (`null` for the
//! random-data ones). The model is compiled with `metrics=["accuracy"]`, as in `keras_ref.py`.
//!
//! The main thread is made one of the worker threads
//! ([`work_on_this_thread`](astrograd::tensor::threads::work_on_this_thread)), as PyTorch's
//! OpenMP threads are.
//!
//! Run: `cargo run --release --example bench_epochs -- --workload s1_mlp --epochs 3 --json`
//! (on a GPU: `cargo run --release --features wgpu --example bench_epochs -- --workload s2_cnn
//! --device gpu --json`, which reports `"engine": "astrograd-gpu"`, the adapter as `"gpu"`, and
//! in `"per_step"` what one training step of the last epoch asked of it on average: kernel
//! dispatches, queue submissions, copies to and from the GPU, bind groups and buffers made)
//! (`--data DIR` for a local Fashion-MNIST folder; without `--json` it also prints the model).
//! With `ASTROGRAD_GPU_PROFILE=1` a GPU run adds `"profile"`: the last epoch's milliseconds per
//! step of GPU kernel time, of the host waiting for the GPU, and of the host's own work, and
//! each kernel's microseconds per step (see `kernels/src/wgpu/profile.rs`).
//! `tools/gpu_measure.sh` runs the four workloads on the GPU and on the CPU, back to back.
mod common;

use std::time::Instant;

use astrograd::data::{arrays::scale_255, fashion_mnist};
use astrograd::layers::training::{Callback, FitOptions, Logs, TrainingContext};
use astrograd::layers::{Conv2D, Dense, Flatten, Layer, MaxPooling2D, Model, Sequential};
use astrograd::optim::Adam;
use astrograd::tensor::random::Rng;
use astrograd::{set_seed, Tensor};

/// What the command line asks for.
#[derive(clap::Parser, Debug)]
#[command(
    name = "bench_epochs",
    about = "astrograd's epoch times on the course's four workloads, as one JSON line in the \
             schema of bench/reference/'s PyTorch and Keras scripts"
)]
struct Args {
    /// The workload (see the table at the top of examples/bench_epochs.rs)
    #[arg(long, value_name = "W", value_parser = ["s1_mlp", "s2_cnn", "g10_cnn", "cd_cnn"])]
    workload: String,
    /// Epochs to time (the first is the warm-up, left out of epoch_s)
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = common::at_least_one)]
    epochs: usize,
    /// Print only the JSON line (otherwise also the model and Keras's progress)
    #[arg(long)]
    json: bool,
    /// A folder holding the four Fashion-MNIST .gz files [default: the usual places]
    #[arg(long, value_name = "DIR")]
    data: Option<String>,
    /// cpu, or gpu in a build with --features wgpu
    #[arg(long, value_name = "D", default_value = "cpu", value_parser = common::device_named)]
    device: astrograd::Device,
    /// At most N training and N test samples, for a quick check that the workload runs (the
    /// tests use it); the timings are then not comparable with the reference scripts'
    #[arg(long, value_name = "N", value_parser = common::at_least_one)]
    limit: Option<usize>,
    /// Turn off the allocator's cache of big freed blocks (see src/block_cache.rs), to measure
    /// what it buys; the engine name then ends in "-no-block-cache"
    #[arg(long)]
    no_block_cache: bool,
}

/// Records the wall time of every epoch (Keras's `on_epoch_begin` / `on_epoch_end`, as the
/// callback `T` of `keras_ref.py`).
#[derive(Default)]
struct EpochTimer {
    started: Option<Instant>,
    seconds: Vec<f64>,
    /// Under `mpirun`: the seconds spent in all-reduces at the epoch's start, and per epoch.
    all_reduce_at_start: f64,
    all_reduce_seconds: Vec<f64>,
    /// On a GPU: the counters of `astrograd::kernels::wgpu::stats()` at the epoch's start, and
    /// what each epoch asked of the GPU.
    #[cfg(feature = "wgpu")]
    gpu_at_start: astrograd::kernels::wgpu::TransferStats,
    #[cfg(feature = "wgpu")]
    gpu_epochs: Vec<astrograd::kernels::wgpu::TransferStats>,
    /// Under `ASTROGRAD_GPU_PROFILE=1` on a GPU: the profile at the epoch's start, and the
    /// last epoch's profile at its start and end.
    #[cfg(feature = "wgpu")]
    on_gpu: bool,
    #[cfg(feature = "wgpu")]
    profile_at_start: Option<GpuProfile>,
    #[cfg(feature = "wgpu")]
    last_profile: Option<(GpuProfile, GpuProfile)>,
}

#[cfg(feature = "wgpu")]
use astrograd::kernels::wgpu::profile::GpuProfile;

/// The GPU profile, where one is taken (on a GPU, under `ASTROGRAD_GPU_PROFILE=1`).
#[cfg(feature = "wgpu")]
fn gpu_profile(on_gpu: bool) -> astrograd::layers::Result<Option<GpuProfile>> {
    if !on_gpu {
        return Ok(None);
    }
    Ok(astrograd::kernels::wgpu::profile::profile()
        .map_err(astrograd::tensor::TensorError::from)?)
}

impl Callback for EpochTimer {
    fn wants_batch_logs(&self) -> bool {
        false // it times epochs: no per-step read of the loss on a GPU
    }

    fn on_epoch_begin(
        &mut self,
        _epoch: usize,
        _ctx: &mut TrainingContext,
    ) -> astrograd::layers::Result<()> {
        self.started = Some(Instant::now());
        self.all_reduce_at_start = astrograd::distributed::world().stats().seconds;
        #[cfg(feature = "wgpu")]
        {
            self.gpu_at_start = astrograd::kernels::wgpu::stats();
            self.profile_at_start = gpu_profile(self.on_gpu)?;
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        _logs: &mut Logs,
        _ctx: &mut TrainingContext,
    ) -> astrograd::layers::Result<()> {
        if let Some(started) = self.started.take() {
            self.seconds.push(started.elapsed().as_secs_f64());
            let all_reduce = astrograd::distributed::world().stats().seconds;
            self.all_reduce_seconds
                .push(all_reduce - self.all_reduce_at_start);
            #[cfg(feature = "wgpu")]
            {
                self.gpu_epochs
                    .push(astrograd::kernels::wgpu::stats().since(&self.gpu_at_start));
                if let (Some(start), Some(end)) =
                    (self.profile_at_start.take(), gpu_profile(self.on_gpu)?)
                {
                    self.last_profile = Some((start, end));
                }
            }
        }
        Ok(())
    }
}

/// One workload: its model, training data, optional test data, batch size and loss.
struct Workload {
    model: Model,
    x: Tensor,
    y: Tensor,
    test: Option<(Tensor, Tensor)>,
    batch_size: usize,
    loss: &'static str,
}

fn build(args: &Args) -> Result<Workload, Box<dyn std::error::Error>> {
    // How many of the workload's `n` samples to use.
    let size = |n: usize| args.limit.map_or(n, |limit| limit.min(n));
    Ok(match args.workload.as_str() {
        "s1_mlp" | "s2_cnn" => {
            let ((x_train, y_train), (x_test, y_test)) = match &args.data {
                Some(dir) => fashion_mnist::load_data_from(dir)?,
                None => fashion_mnist::load_data()?,
            };
            let (x_train, x_test) = (scale_255(&x_train)?, scale_255(&x_test)?);
            if args.workload == "s1_mlp" {
                // torch_ref.py: xtr[5000:] — the first 5,000 are the course's validation set.
                let model = Sequential::new(vec![
                    Box::new(Flatten::new().with_input_shape(&[28, 28])),
                    Box::new(Dense::new(300).activation("relu")),
                    Box::new(Dense::new(100).activation("relu")),
                    Box::new(Dense::new(10).activation("softmax")),
                ])?;
                let (end, tests) = (5000 + size(55_000), size(10_000));
                Workload {
                    model,
                    x: x_train.slice_axis(0, 5000, end)?,
                    y: y_train.slice_axis(0, 5000, end)?,
                    test: Some((
                        x_test.slice_axis(0, 0, tests)?,
                        y_test.slice_axis(0, 0, tests)?,
                    )),
                    batch_size: 32,
                    loss: "sparse_categorical_crossentropy",
                }
            } else {
                // torch_ref.py: xtr[:48000] (what Keras's validation_split=0.2 trains on).
                let model = Sequential::new(vec![
                    Box::new(
                        Conv2D::new(12, 3)
                            .activation("relu")
                            .with_input_shape(&[28, 28, 1]),
                    ),
                    Box::new(MaxPooling2D::new()),
                    Box::new(Flatten::new()),
                    Box::new(Dense::new(128).activation("relu")),
                    Box::new(Dense::new(10).activation("softmax")),
                ])?;
                let (n, tests) = (size(48_000), size(10_000));
                Workload {
                    model,
                    x: x_train.slice_axis(0, 0, n)?.reshape(&[n, 28, 28, 1])?,
                    y: y_train.slice_axis(0, 0, n)?,
                    test: Some((
                        x_test
                            .slice_axis(0, 0, tests)?
                            .reshape(&[tests, 28, 28, 1])?,
                        y_test.slice_axis(0, 0, tests)?,
                    )),
                    batch_size: 32,
                    loss: "sparse_categorical_crossentropy",
                }
            }
        }
        "g10_cnn" => {
            // Galaxy10's training size and image shape, filled with seeded uniform noise.
            let n = size(15_685);
            let mut rng = Rng::new(0);
            let x = Tensor::rand_uniform_with(&mut rng, &[n, 69, 69, 3], 0.0, 1.0);
            let labels: Vec<f32> = (0..n).map(|_| rng.below(10) as f32).collect();
            let model = Sequential::new(vec![
                Box::new(
                    Conv2D::new(12, 3)
                        .activation("relu")
                        .with_input_shape(&[69, 69, 3]),
                ),
                Box::new(MaxPooling2D::new()),
                Box::new(Flatten::new()),
                Box::new(Dense::new(500).activation("relu")),
                Box::new(Dense::new(100).activation("relu")),
                Box::new(Dense::new(10).activation("softmax")),
            ])?;
            Workload {
                model,
                x,
                y: Tensor::from_vec(labels, &[n])?,
                test: None,
                batch_size: 32,
                loss: "sparse_categorical_crossentropy",
            }
        }
        _ => {
            // cats vs dogs: 400 images of 150×150×3, seeded uniform noise, labels 0/1.
            let n = size(400);
            let mut rng = Rng::new(0);
            let x = Tensor::rand_uniform_with(&mut rng, &[n, 150, 150, 3], 0.0, 1.0);
            let labels: Vec<f32> = (0..n).map(|_| rng.below(2) as f32).collect();
            let model = Sequential::new(vec![
                Box::new(
                    Conv2D::new(16, 3)
                        .activation("relu")
                        .with_input_shape(&[150, 150, 3]),
                ),
                Box::new(MaxPooling2D::new()),
                Box::new(Conv2D::new(32, 3).activation("relu")),
                Box::new(MaxPooling2D::new()),
                Box::new(Conv2D::new(64, 3).activation("relu")),
                Box::new(MaxPooling2D::new()),
                Box::new(Flatten::new()),
                Box::new(Dense::new(512).activation("relu")),
                Box::new(Dense::new(1).activation("sigmoid")),
            ])?;
            Workload {
                model,
                x,
                y: Tensor::from_vec(labels, &[n, 1])?,
                test: None,
                batch_size: 20,
                loss: "binary_crossentropy",
            }
        }
    })
}

/// The median of the epoch times without the first (warm-up) one, as the reference scripts
/// compute it.
fn median_without_first(times: &[f64]) -> f64 {
    let mut rest: Vec<f64> = if times.len() > 1 {
        times[1..].to_vec()
    } else {
        times.to_vec()
    };
    rest.sort_by(f64::total_cmp);
    let mid = rest.len() / 2;
    if rest.len() % 2 == 1 {
        rest[mid]
    } else {
        (rest[mid - 1] + rest[mid]) / 2.0
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A bad command line prints clap's message and exits with status 2.
    let args = <Args as clap::Parser>::parse();
    astrograd::block_cache::set_enabled(!args.no_block_cache);
    // This thread runs its share of every parallel kernel (see `tensor/src/threads.rs`).
    astrograd::tensor::threads::work_on_this_thread();
    set_seed(42);
    let mut work = build(&args)?;
    work.model.to(args.device)?;
    // Keras's Adam: lr 1e-3, β₁ 0.9, β₂ 0.999, ε 1e-7 (torch_ref.py sets eps=1e-7 to match).
    work.model
        .compile(work.loss, Adam::new(1e-3), &["accuracy"])?;
    // Under `mpirun -n N` (a build with `--features mpi`) the N processes share each batch;
    // rank 0 prints.
    let world = astrograd::distributed::world();
    if !args.json && world.rank() == 0 {
        println!("{}", work.model.summary()?);
        println!("Running on {}", astrograd::kernels::cpu::fast::describe());
    }
    let mut timer = EpochTimer::default();
    #[cfg(feature = "wgpu")]
    {
        timer.on_gpu = args.device != astrograd::Device::Cpu;
    }
    work.model.fit(
        &work.x,
        &work.y,
        FitOptions::default()
            .epochs(args.epochs)
            .batch_size(work.batch_size)
            .verbose(if args.json { 0 } else { 2 })
            .callback(&mut timer),
    )?;
    let test_acc = match &work.test {
        Some((x_test, y_test)) => {
            let scores = work.model.evaluate(
                x_test,
                y_test,
                astrograd::layers::training::EvalOptions::from(32).verbose(0),
            )?;
            Some(f64::from(scores[1]))
        }
        None => None,
    };
    // Hand-written so that the keys come in the reference scripts' order.
    let epochs: Vec<String> = timer.seconds.iter().map(|t| t.to_string()).collect();
    let test_acc = test_acc.map_or("null".to_string(), |a| a.to_string());
    // The reference scripts' schema; a GPU run, or one without the block cache, is told apart
    // by its engine name.
    let engine = format!(
        "{}{}",
        if args.device == astrograd::Device::Cpu {
            "astrograd"
        } else {
            "astrograd-gpu"
        },
        if args.no_block_cache {
            "-no-block-cache"
        } else {
            ""
        }
    );
    // The share of the epochs' time spent in the all-reduces (0 for one process).
    let all_reduce_share = median_without_first(&timer.all_reduce_seconds)
        / median_without_first(&timer.seconds).max(f64::MIN_POSITIVE);
    // Where it ran: the CPU's model, the kernels' level (ASTROGRAD_KERNELS) and rayon's threads.
    use astrograd::kernels::cpu::fast;
    let line = format!(
        "{{\"engine\": \"{}\", \"workload\": \"{}\", \"epoch_s\": {}, \"epochs\": [{}], \"test_acc\": {}, \"processes\": {}, \"allreduce_share\": {:.4}, \"cpu\": \"{}\", \"kernels\": \"{}\", \"threads\": {}}}",
        engine,
        args.workload,
        median_without_first(&timer.seconds),
        epochs.join(", "),
        test_acc,
        world.size(),
        all_reduce_share,
        fast::cpu_model().replace(['"', '\\'], ""),
        fast::level().name(),
        rayon::current_num_threads()
    );
    // On a GPU: which one, and what one training step asked of it (the last epoch's counts
    // divided by its steps; the epoch's last step also reads its loss and accuracy back).
    #[cfg(feature = "wgpu")]
    let line = match (args.device, timer.gpu_epochs.last()) {
        (astrograd::Device::Gpu, Some(epoch)) => {
            let steps = work.x.shape()[0].div_ceil(work.batch_size) as f64;
            let per_step = |count: u64| format!("{:.2}", count as f64 / steps);
            format!(
                "{}, \"gpu\": \"{}\", \"per_step\": {{\"dispatches\": {}, \"submissions\": {}, \"uploads\": {}, \"upload_bytes\": {}, \"downloads\": {}, \"bind_groups\": {}, \"allocations\": {}}}}}",
                line.trim_end_matches('}'),
                astrograd::kernels::wgpu::context()?
                    .description()
                    .replace(['"', '\\'], ""),
                per_step(epoch.dispatches),
                per_step(epoch.submissions),
                per_step(epoch.uploads),
                per_step(epoch.upload_bytes),
                per_step(epoch.downloads),
                per_step(epoch.bind_groups),
                per_step(epoch.allocations),
            )
        }
        _ => line,
    };
    // Under ASTROGRAD_GPU_PROFILE=1: where the last epoch's step went, in milliseconds per
    // step: the GPU's kernels, the host's wait for them, the rest (the host's own work), and
    // each kernel's microseconds.
    #[cfg(feature = "wgpu")]
    let line = match (&timer.last_profile, timer.seconds.last()) {
        (Some((start, end)), Some(&seconds)) => {
            let steps = work.x.shape()[0].div_ceil(work.batch_size) as f64;
            let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3 / steps;
            let epoch = end.since(start);
            // The slowest kernels first.
            let mut kernels: Vec<_> = epoch.kernels.iter().collect();
            kernels.sort_by_key(|(_, k)| std::cmp::Reverse(k.gpu));
            let each: Vec<String> = kernels
                .iter()
                .map(|(name, k)| format!("\"{name}\": {:.1}", ms(k.gpu) * 1e3))
                .collect();
            format!(
                "{}, \"profile\": {{\"gpu_ms\": {:.3}, \"wait_ms\": {:.3}, \"host_ms\": {:.3}, \"kernels_us\": {{{}}}}}}}",
                line.strip_suffix('}').unwrap_or(&line),
                ms(epoch.gpu_total()),
                ms(epoch.waited),
                (seconds - epoch.waited.as_secs_f64()) * 1e3 / steps,
                each.join(", ")
            )
        }
        _ => line,
    };
    if world.rank() == 0 {
        println!("{line}");
    }
    Ok(())
}
