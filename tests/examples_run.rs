//! Every example, run as its user runs it: the compiled binary from `target/…/examples/`, on
//! small data in the real formats, checked for its exit code, for the absence of a panic and
//! for every picture it promises (a PNG that decodes).
//!
//! - Fashion-MNIST: the real files (`/usr/share/datasets/fashion-mnist`, Debian's
//!   `dataset-fashion-mnist`), cut short with `--limit`.
//! - Galaxy10: `tests/fixtures/galaxy10/galaxy10_sdss_400.h5`, a 400-image file in the layout of the
//!   real `Galaxy10.h5` (written by `tools/galaxy10_fixtures.py` with h5py).
//! - Cats vs dogs: a small folder of JPEGs in the real archive's layout, drawn by
//!   [`synthetic::write_cats_and_dogs`].
//!
//! `cargo test` builds the examples before it runs any test, so the binaries are those of
//! this build. (`cargo test --test examples_run` alone does not build them: run
//! `cargo build --release --examples` first, or the whole test command.)
//!
//! Without Fashion-MNIST the tests that need it say so and pass, unless
//! `ASTROGRAD_REQUIRE_DATA=1` (set by CI).
//!
//! With `ASTROGRAD_TEST_MPIRUN=N` (CI sets 2, on a build with `--features mpi`), the course
//! examples that [`run_example`] starts run data-parallel under `mpirun -n N`, and must pass
//! the same checks: one list of pictures (rank 0's), the same files.
#[path = "synthetic/cats_dogs.rs"]
mod synthetic;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use astrograd::kernels::test_env;

const FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// The longest any example may take here; one that runs longer is killed and fails.
const TIME_LIMIT: Duration = Duration::from_secs(300);

/// Where `cargo` put the example `name`, next to the folder of this test binary.
fn example_binary(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/examples_run-<hash> → target/<profile>/examples/<name>
    let profile_dir = test_binary
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: build the examples first (`cargo build --release --examples`, or run \
         the whole `cargo test` command, which builds them)",
        path.display()
    );
    path
}

/// What one run of an example printed.
struct Finished {
    stdout: String,
    stderr: String,
}

/// Runs example `name` with `args` and the output folder `output`, and checks that it exits
/// with 0, does not panic and writes each of `pictures` there as a PNG that decodes.
fn run_example(name: &str, args: &[&str], output: &Path, pictures: &[&str]) -> Finished {
    // The course examples (those that train) run under mpirun; the tools (docs_figures,
    // stream_memory, predict, the tour) are single-process programs.
    let course = name.starts_with("session") || name == "galaxy10_decals";
    let mut command = match std::env::var("ASTROGRAD_TEST_MPIRUN") {
        Ok(processes) if course => {
            let mut mpirun = Command::new("mpirun");
            mpirun
                .args([
                    "-n",
                    processes.trim(),
                    "--allow-run-as-root",
                    "--oversubscribe",
                ])
                .arg(example_binary(name));
            mpirun
        }
        _ => Command::new(example_binary(name)),
    };
    let mut child = command
        .args(args)
        .arg("--output")
        .arg(output)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    // Read both pipes on threads so that a chatty example cannot block on a full pipe.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || read_all(&mut stdout));
    let err = std::thread::spawn(move || read_all(&mut stderr));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the example") {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} {args:?} ran longer than {TIME_LIMIT:?} and was killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let finished = Finished {
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    };
    assert!(
        status.success() && !finished.stderr.contains("panicked"),
        "{name} {args:?} exited with {status}\n--- stdout (end)\n{}\n--- stderr\n{}",
        tail(&finished.stdout, 3000),
        finished.stderr
    );
    for picture in pictures {
        let path = output.join(picture);
        let decoded = image::open(&path)
            .unwrap_or_else(|e| panic!("{name}: {} is not a readable PNG: {e}", path.display()));
        assert!(
            decoded.width() > 0 && decoded.height() > 0,
            "{name}: {picture} is empty"
        );
        assert!(
            finished.stdout.contains(&format!("  {picture}\n")),
            "{name} wrote {picture} but did not list it"
        );
    }
    finished
}

fn read_all(pipe: &mut impl std::io::Read) -> String {
    let mut bytes = Vec::new();
    let _ = pipe.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The last `n` bytes of `text` (at a character boundary).
fn tail(text: &str, n: usize) -> &str {
    let mut start = text.len().saturating_sub(n);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// True if Fashion-MNIST is on this machine; false (with a note) if a test may skip.
fn fashion_mnist_here(test: &str) -> bool {
    if Path::new(FASHION_MNIST)
        .join("train-images-idx3-ubyte.gz")
        .is_file()
    {
        return true;
    }
    test_env::skip(
        test_env::REQUIRE_DATA,
        &format!("{test}: Fashion-MNIST is not in {FASHION_MNIST}"),
    );
    false
}

fn galaxy10_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/galaxy10/galaxy10_sdss_400.h5")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

/// The figures of `docs/images/figure_*.png`, as `docs_figures` writes them.
const DOCS_FIGURES: [&str; 14] = [
    "figure_backprop.png",
    "figure_im2col.png",
    "figure_softmax_cross_entropy.png",
    "figure_activation_derivatives.png",
    "figure_initialisation.png",
    "figure_same_padding.png",
    "figure_max_pool_gradient.png",
    "figure_dropout_masks.png",
    "figure_batch_norm_moving_statistics.png",
    "figure_augmentation.png",
    "figure_lr_schedules.png",
    "figure_optimizer_trajectories.png",
    "figure_early_stopping.png",
    "figure_transfer_frozen.png",
];

/// `docs_figures` is seeded: two runs write the same bytes. The committed figures have the
/// size of a fresh run's, and the tables of numbers (exact arithmetic, the same on every CPU)
/// are byte for byte the committed ones, so a change to a Dense layer's backward, im2col,
/// `'same'` padding, max pooling's backward, the dropout mask or VGG16's layers that is not
/// followed by `cargo run --release --example docs_figures` fails here.
#[test]
fn docs_figures_runs_twice_alike_and_matches_the_committed_figures() {
    let (first, second) = (
        tempfile::tempdir().expect("temp dir"),
        tempfile::tempdir().expect("temp dir"),
    );
    run_example("docs_figures", &[], first.path(), &DOCS_FIGURES);
    run_example("docs_figures", &[], second.path(), &DOCS_FIGURES);
    let committed_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images");
    for name in DOCS_FIGURES {
        let read = |dir: &Path| {
            std::fs::read(dir.join(name))
                .unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
        };
        let fresh = read(first.path());
        assert!(
            fresh == read(second.path()),
            "{name} differs between two runs"
        );
        let committed = read(&committed_dir);
        let size = |bytes: &[u8]| {
            let decoded = image::load_from_memory(bytes).expect("a PNG");
            (decoded.width(), decoded.height())
        };
        assert_eq!(
            size(&committed),
            size(&fresh),
            "docs/images/{name} is out of date: run `cargo run --release --example docs_figures`"
        );
        let exact = [
            "figure_backprop.png",
            "figure_im2col.png",
            "figure_same_padding.png",
            "figure_max_pool_gradient.png",
            "figure_dropout_masks.png",
            "figure_transfer_frozen.png",
        ];
        if exact.contains(&name) {
            assert!(
                committed == fresh,
                "docs/images/{name} is out of date: run `cargo run --release --example docs_figures`"
            );
        }
    }
}

#[test]
fn autograd_tour_runs() {
    let output = tempfile::tempdir().expect("temp dir");
    let binary = example_binary("autograd_tour");
    let run = Command::new(binary)
        .current_dir(output.path())
        .stdin(Stdio::null())
        .output()
        .expect("run autograd_tour");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    assert!(run.status.success(), "{}\n{stderr}", tail(&stdout, 3000));
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn session1_mlp_runs() {
    if !fashion_mnist_here("session1_mlp_runs") {
        return;
    }
    let output = tempfile::tempdir().expect("temp dir");
    let run = run_example(
        "session1_mlp",
        &[
            "--data",
            FASHION_MNIST,
            "--limit",
            "600",
            "--epochs",
            "2",
            "--learning-rate",
            "0.01",
        ],
        output.path(),
        &["activations.png", "history.png", "confusion_matrix.png"],
    );
    assert!(run.stdout.contains("Epoch 2/2"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Training (Adam, learning rate 0.01)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("266,610"),
        "the course's parameter count"
    );
}

#[test]
fn session1_optimizers_runs() {
    if !fashion_mnist_here("session1_optimizers_runs") {
        return;
    }
    let output = tempfile::tempdir().expect("temp dir");
    run_example(
        "session1_optimizers",
        &["--data", FASHION_MNIST, "--limit", "300", "--epochs", "1"],
        output.path(),
        &["optimizers.png"],
    );
}

#[test]
fn session2_cnn_runs_and_draws_its_feature_maps() {
    if !fashion_mnist_here("session2_cnn_runs_and_draws_its_feature_maps") {
        return;
    }
    let output = tempfile::tempdir().expect("temp dir");
    run_example(
        "session2_cnn",
        &["--data", FASHION_MNIST, "--limit", "300", "--epochs", "1"],
        output.path(),
        &[
            "image_grid.png",
            "pixel_values.png",
            "history.png",
            "confusion_matrix.png",
            "kernels.png",
            "feature_maps.png",
        ],
    );
}

#[test]
fn session1_galaxy10_mlp_runs() {
    let output = tempfile::tempdir().expect("temp dir");
    let data = galaxy10_file();
    run_example(
        "session1_galaxy10_mlp",
        &["--data", path_str(&data), "--epochs", "1"],
        output.path(),
        &["image_grid.png", "history.png", "confusion_matrix.png"],
    );
}

#[test]
fn session2_galaxy10_cnn_runs_and_draws_its_feature_maps() {
    let output = tempfile::tempdir().expect("temp dir");
    let data = galaxy10_file();
    run_example(
        "session2_galaxy10_cnn",
        &["--data", path_str(&data), "--epochs", "1"],
        output.path(),
        &[
            "image_grid.png",
            "history.png",
            "confusion_matrix.png",
            "kernels.png",
            "feature_maps.png",
        ],
    );
}

#[test]
fn session3_galaxy10_generators_runs() {
    let output = tempfile::tempdir().expect("temp dir");
    let data = galaxy10_file();
    run_example(
        "session3_galaxy10_generators",
        &[
            "--data",
            path_str(&data),
            "--epochs",
            "1",
            "--patience",
            "1",
        ],
        output.path(),
        &["history.png", "confusion_matrix.png"],
    );
}

/// A small cats-vs-dogs folder (JPEGs in the archive's layout), with the things desktops leave
/// beside photos: a file that is not an image in `validation/dogs`, which the generators skip
/// and the example must not pick as its "first dog".
fn small_cats_and_dogs(root: &Path) -> PathBuf {
    let base = synthetic::write_cats_and_dogs(
        root,
        &synthetic::Spec {
            train_per_class: 12,
            validation_per_class: 4,
            min_side: 60,
            max_side: 120,
            seed: 3,
        },
    );
    std::fs::write(base.join("validation/dogs/.DS_Store"), b"\0\0\0\x01Bud1").expect("write");
    std::fs::write(
        base.join("validation/dogs/desktop.ini"),
        b"[.ShellClassInfo]\n",
    )
    .expect("write");
    base
}

#[test]
fn session3_cats_dogs_runs_on_a_folder_of_jpegs() {
    let data = tempfile::tempdir().expect("temp dir");
    let folder = small_cats_and_dogs(data.path());
    let output = tempfile::tempdir().expect("temp dir");
    run_example(
        "session3_cats_dogs",
        &[
            "--data",
            path_str(&folder),
            "--epochs",
            "1",
            "--batch-size",
            "8",
        ],
        output.path(),
        &[
            "history.png",
            "feature_maps_conv1.png",
            "kernels_conv1.png",
            "augmented.png",
            "history_augmented.png",
        ],
    );
}

#[test]
fn session3_cats_dogs_refuses_limit_with_a_usage_error() {
    let data = tempfile::tempdir().expect("temp dir");
    let output = tempfile::tempdir().expect("temp dir");
    let run = Command::new(example_binary("session3_cats_dogs"))
        .args(["--data", path_str(data.path()), "--limit", "5", "--output"])
        .arg(output.path())
        .stdin(Stdio::null())
        .output()
        .expect("run session3_cats_dogs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "--limit is not for image folders");
    assert!(stderr.contains("--limit 5: cats vs dogs"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `session3_transfer_learning` on a small cats-vs-dogs folder: `base` untrained, 48×48 images,
/// one epoch of each phase, on `device`; it must finish both phases and draw its history.
fn run_transfer_learning_both_phases(base: &str, device: &str) -> Finished {
    let data = tempfile::tempdir().expect("temp dir");
    let folder = small_cats_and_dogs(data.path());
    let output = tempfile::tempdir().expect("temp dir");
    let run = run_example(
        "session3_transfer_learning",
        &[
            "--data",
            path_str(&folder),
            "--base",
            base,
            "--weights",
            "none",
            "--image-size",
            "48",
            "--epochs",
            "1",
            "--fine-tune-epochs",
            "1",
            "--batch-size",
            "8",
            "--device",
            device,
        ],
        output.path(),
        &["history.png"],
    );
    assert!(
        run.stdout.contains("Epoch 2/2"),
        "{base} on the {device}: fine-tuning ran: {}",
        run.stdout
    );
    run
}

#[test]
fn session3_transfer_learning_runs_both_phases() {
    for base in ["mobilenet_v2", "vgg16", "resnet50"] {
        run_transfer_learning_both_phases(base, "cpu");
    }
}

/// MobileNetV2 (depthwise convolution, zero padding, ReLU6, batch norm) trains on the GPU, both
/// phases, as `--device gpu` asks (lavapipe in CI).
#[cfg(feature = "wgpu")]
#[test]
fn session3_transfer_learning_trains_mobilenet_v2_on_the_gpu() {
    if astrograd::tensor::gpu::gpu_or_skip().is_none() {
        return;
    }
    let run = run_transfer_learning_both_phases("mobilenet_v2", "gpu");
    // The GPU says what it is, and a software renderer (CI's lavapipe) is called one.
    assert!(run.stderr.contains("astrograd: GPU "), "{}", run.stderr);
    if run.stderr.contains("llvmpipe") {
        assert!(
            run.stderr
                .contains("software renderer that runs on the CPU"),
            "{}",
            run.stderr
        );
    }
}

/// ResNet50 (7×7 stride-2 convolution, residual additions, batch norm, zero padding, 3×3 max
/// pooling) trains on the GPU, both phases (lavapipe in CI).
#[cfg(feature = "wgpu")]
#[test]
fn session3_transfer_learning_trains_resnet50_on_the_gpu() {
    if astrograd::tensor::gpu::gpu_or_skip().is_none() {
        return;
    }
    run_transfer_learning_both_phases("resnet50", "gpu");
}

/// `ASTROGRAD_GPU` picks an adapter by number; a number with no adapter stops the example with
/// a message that lists the adapters, before any work.
#[cfg(feature = "wgpu")]
#[test]
fn astrograd_gpu_picks_the_adapter() {
    if astrograd::tensor::gpu::gpu_or_skip().is_none() {
        return;
    }
    let run = |value: &str| {
        Command::new(example_binary("session3_transfer_learning"))
            .args(["--device", "gpu", "--summary"])
            .env("ASTROGRAD_GPU", value)
            .stdin(Stdio::null())
            .output()
            .expect("run session3_transfer_learning")
    };
    let first = run("0");
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(stderr.contains("astrograd: GPU "), "{stderr}");
    let missing = run("99");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success());
    assert!(
        stderr.contains("ASTROGRAD_GPU=99, but there is no adapter 99") && stderr.contains("  0: "),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn session3_transfer_learning_on_galaxy10_runs() {
    let output = tempfile::tempdir().expect("temp dir");
    let data = galaxy10_file();
    run_example(
        "session3_transfer_learning",
        &[
            "--dataset",
            "galaxy10",
            "--data",
            path_str(&data),
            "--base",
            "mobilenet_v2",
            "--weights",
            "none",
            "--epochs",
            "1",
            "--fine-tune-epochs",
            "1",
        ],
        output.path(),
        &["history.png"],
    );
}

/// Runs `bench_epochs` with `args` and `env`, checks that it succeeded, and returns its JSON
/// line, parsed, with the line itself for messages.
fn run_bench_epochs(args: &[&str], env: &[(&str, &str)]) -> (serde_json::Value, String) {
    let run = Command::new(example_binary("bench_epochs"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run bench_epochs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "bench_epochs {args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let line = stdout.lines().last().expect("one JSON line").to_string();
    let json = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    (json, line)
}

#[test]
fn bench_epochs_prints_its_json_line_for_every_workload() {
    use astrograd::kernels::cpu::fast::{self, Level};
    for workload in ["s1_mlp", "s2_cnn", "g10_cnn", "cd_cnn"] {
        let fashion = workload.starts_with("s");
        if fashion && !fashion_mnist_here("bench_epochs (Fashion-MNIST workloads)") {
            continue;
        }
        let mut args = vec![
            "--workload",
            workload,
            "--epochs",
            "2",
            "--json",
            "--limit",
            "64",
        ];
        if fashion {
            args.extend(["--data", FASHION_MNIST]);
        }
        // One workload runs with the allocator's block cache off, as its on/off measurement does.
        let no_block_cache = workload == "g10_cnn";
        if no_block_cache {
            args.push("--no-block-cache");
        }
        // Each workload runs at another level of the kernels, and says which it ran.
        let (cap, level) = match workload {
            "s1_mlp" => ("avx2", Level::Avx2),
            "s2_cnn" => ("baseline", Level::Baseline),
            "g10_cnn" => ("portable", Level::Portable),
            _ => ("fast", Level::Avx512),
        };
        let (json, line) = run_bench_epochs(
            &args,
            &[("ASTROGRAD_KERNELS", cap), ("RAYON_NUM_THREADS", "2")],
        );
        assert_eq!(json["workload"], workload);
        let engine = if no_block_cache {
            "astrograd-no-block-cache"
        } else {
            "astrograd"
        };
        assert_eq!(json["engine"], engine, "{line}");
        assert_eq!(json["epochs"].as_array().map(Vec::len), Some(2), "{line}");
        assert!(json["epoch_s"].as_f64().is_some_and(|s| s > 0.0), "{line}");
        assert_eq!(json["test_acc"].is_null(), !fashion, "{line}");
        assert_eq!(
            json["kernels"],
            level.min(fast::cpu_level()).name(),
            "ASTROGRAD_KERNELS={cap}: {line}"
        );
        assert_eq!(json["threads"], 2, "{line}");
        assert!(
            json["cpu"].as_str().is_some_and(|cpu| !cpu.is_empty()),
            "{line}"
        );
    }
}

/// `bench_epochs --device gpu` says which GPU it ran on and what one training step asked of
/// it, for every workload (on lavapipe in CI, with few samples): the training set stays on the
/// GPU (a step uploads only its two lists of sample numbers), one submission per step (and the
/// last step's two reads), and in the fourth epoch (the one counted) no buffer and no bind group
/// is made: by then every step's buffers have been met in the order the following steps meet
/// them, the optimizer's two gradient buffers (used in turn) included, each written once by
/// the backward kernels (steps 2 and 3; the first step's gradients are copied in).
#[cfg(feature = "wgpu")]
#[test]
fn bench_epochs_counts_what_a_gpu_step_asks_for_every_workload() {
    if astrograd::tensor::gpu::gpu_or_skip().is_none() {
        return;
    }
    /// One workload to run on the GPU.
    struct GpuBenchCase {
        workload: &'static str,
        batch: usize,
        /// `--limit`: the cats-vs-dogs CNN takes 30 s an epoch of 64 images on lavapipe, so it
        /// gets one batch.
        samples: &'static str,
    }
    let cases = [
        GpuBenchCase {
            workload: "s1_mlp",
            batch: 32,
            samples: "64",
        },
        GpuBenchCase {
            workload: "s2_cnn",
            batch: 32,
            samples: "64",
        },
        GpuBenchCase {
            workload: "g10_cnn",
            batch: 32,
            samples: "64",
        },
        GpuBenchCase {
            workload: "cd_cnn",
            batch: 20,
            samples: "20",
        },
    ];
    for GpuBenchCase {
        workload,
        batch,
        samples,
    } in cases
    {
        let fashion = workload.starts_with("s");
        if fashion && !fashion_mnist_here("bench_epochs --device gpu (Fashion-MNIST workloads)") {
            continue;
        }
        let mut args = vec![
            "--workload",
            workload,
            "--device",
            "gpu",
            "--epochs",
            "4",
            "--json",
            "--limit",
            samples,
        ];
        if fashion {
            args.extend(["--data", FASHION_MNIST]);
        }
        let (json, line) = run_bench_epochs(&args, &[]);
        println!("{line}");
        assert_eq!(json["engine"], "astrograd-gpu", "{line}");
        assert!(
            json["gpu"]
                .as_str()
                .is_some_and(|gpu| gpu.contains("driver")),
            "{line}"
        );
        let per_step = |key: &str| {
            json["per_step"][key]
                .as_f64()
                .unwrap_or_else(|| panic!("no per_step.{key}: {line}"))
        };
        let samples: f64 = samples.parse().unwrap();
        let steps = (samples / batch as f64).ceil();
        assert_eq!(per_step("uploads"), 2.0, "{line}");
        assert_eq!(
            per_step("upload_bytes"),
            2.0 * 4.0 * samples / steps,
            "{line}"
        );
        assert_eq!(per_step("downloads"), 2.0 / steps, "{line}");
        let submissions = 1.0 + 2.0 / steps;
        assert!(
            (per_step("submissions") - submissions).abs() < 0.01,
            "{line}"
        );
        assert!(per_step("dispatches") > 10.0, "{line}");
        assert_eq!(per_step("bind_groups"), 0.0, "{line}");
        assert_eq!(per_step("allocations"), 0.0, "{line}");
    }
}

/// With `ASTROGRAD_GPU_PROFILE=1`, `bench_epochs --device gpu` adds where the last epoch's
/// steps went: GPU kernel time, the host's wait and its own work (each positive), and each
/// kernel's share, the products and the optimizer among them, adding up to the GPU time.
/// Without the variable there is no profile.
#[cfg(feature = "wgpu")]
#[test]
fn bench_epochs_profiles_a_gpu_step_when_asked() {
    if astrograd::tensor::gpu::gpu_or_skip().is_none() {
        return;
    }
    if !fashion_mnist_here("bench_epochs with ASTROGRAD_GPU_PROFILE=1") {
        return;
    }
    let args = [
        "--workload",
        "s1_mlp",
        "--device",
        "gpu",
        "--epochs",
        "2",
        "--json",
        "--limit",
        "64",
        "--data",
        FASHION_MNIST,
    ];
    let (json, line) = run_bench_epochs(&args, &[("ASTROGRAD_GPU_PROFILE", "1")]);
    let ms = |key: &str| {
        json["profile"][key]
            .as_f64()
            .unwrap_or_else(|| panic!("no profile.{key}: {line}"))
    };
    assert!(
        ms("gpu_ms") > 0.0 && ms("wait_ms") > 0.0 && ms("host_ms") > 0.0,
        "{line}"
    );
    let kernels = json["profile"]["kernels_us"]
        .as_object()
        .unwrap_or_else(|| panic!("no profile.kernels_us: {line}"));
    for name in ["matmul", "optimizer", "cross_entropy.fused"] {
        assert!(kernels.contains_key(name), "{name}: {line}");
    }
    let sum_us: f64 = kernels.values().filter_map(|v| v.as_f64()).sum();
    assert!(
        (sum_us / 1e3 - ms("gpu_ms")).abs() < 0.01 + 1e-3 * ms("gpu_ms"),
        "{line}"
    );
    let (plain, line) = run_bench_epochs(&args, &[("ASTROGRAD_GPU_PROFILE", "0")]);
    assert!(plain.get("profile").is_none(), "{line}");
}

/// `--summary` prints the models and stops: it needs no data (a `--data` that does not exist
/// is not even looked at) and writes nothing (the output folder is not made).
#[test]
fn summary_prints_every_model_without_data_or_output() {
    let output = tempfile::tempdir().expect("temp dir");
    let folder = output.path().join("not-made");
    for name in [
        "session1_mlp",
        "session1_galaxy10_mlp",
        "session1_optimizers",
        "session2_cnn",
        "session2_galaxy10_cnn",
        "session3_cats_dogs",
        "session3_galaxy10_generators",
        "session3_transfer_learning",
        "galaxy10_decals",
    ] {
        let run = Command::new(example_binary(name))
            .args([
                "--summary",
                "--data",
                "/nonexistent-astrograd-data",
                "--output",
            ])
            .arg(&folder)
            .stdin(Stdio::null())
            .output()
            .expect("run the example");
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "{name} --summary: {stdout}\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(stdout.contains("Total params: "), "{name}: {stdout}");
        assert!(!stdout.contains("Epoch 1/"), "{name} trained: {stdout}");
        assert!(!folder.exists(), "{name} --summary made its output folder");
    }
}

#[test]
fn a_bad_flag_is_a_usage_error_with_exit_code_2() {
    for name in [
        "session1_mlp",
        "session1_galaxy10_mlp",
        "session1_optimizers",
        "session2_cnn",
        "session2_galaxy10_cnn",
        "session3_cats_dogs",
        "session3_galaxy10_generators",
        "session3_transfer_learning",
        "galaxy10_decals",
    ] {
        let run = Command::new(example_binary(name))
            .arg("--epoch")
            .stdin(Stdio::null())
            .output()
            .expect("run the example");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains("unexpected argument '--epoch'"),
            "{name}: {stderr}"
        );
        assert!(
            stderr.contains("a similar argument exists: '--epochs'"),
            "{name}: {stderr}"
        );
        let help = Command::new(example_binary(name))
            .arg("--help")
            .output()
            .expect("run the example");
        let stdout = String::from_utf8_lossy(&help.stdout);
        assert!(help.status.success(), "{name} --help");
        assert!(stdout.contains("--epochs <N>"), "{name} --help: {stdout}");
        assert!(stdout.contains("[default: "), "{name} --help: {stdout}");
    }
}

/// `stream_memory` on tiny DECals-layout files (chunks of 8 images, a shuffle buffer of 32):
/// each file is streamed in a fresh process, and the peak memory of a file eight times longer
/// is no bigger, beyond noise. A loader that kept the file would add 44 MB as bytes (176 MB as
/// float32) between the two.
#[test]
fn stream_memory_runs_and_its_peak_does_not_grow_with_the_file() {
    let output = tempfile::tempdir().expect("temp dir");
    let args = [
        "--sizes",
        "32,256",
        "--chunks",
        "8,64,64,3",
        "--buffer",
        "32",
        "--batch-size",
        "8",
        "--train-batches",
        "1",
    ];
    let run = run_example("stream_memory", &args, output.path(), &[]);
    let peak = |images: &str| -> f64 {
        let row = run
            .stdout
            .lines()
            .find(|line| line.starts_with(&format!("| {images} |")))
            .unwrap_or_else(|| panic!("no row for {images} images in:\n{}", run.stdout));
        row.split('|')
            .nth(4)
            .expect("peak column")
            .trim()
            .parse()
            .expect("a number")
    };
    let (small, large) = (peak("32"), peak("256"));
    assert!(
        large < small + 30.0,
        "peak RSS {small} MB for 32 images, {large} MB for 256:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("slope:"), "{}", run.stdout);
    assert!(
        run.stdout.contains("training a small CNN"),
        "{}",
        run.stdout
    );
    // The files are gone.
    assert_eq!(std::fs::read_dir(output.path()).expect("output").count(), 0);
}

/// A file in the layout of `Galaxy10_DECals.h5` (`images` uint8 `(N, S, S, 3)` in chunks of 8
/// images, gzip; `ans` uint8), small: each class a bright square in its own place.
fn small_decals_file(dir: &Path, n: usize, side: usize) -> PathBuf {
    let mut pixels = vec![0u8; n * side * side * 3];
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    for (i, image) in pixels.chunks_mut(side * side * 3).enumerate() {
        let class = i % 10;
        for (p, value) in image.iter_mut().enumerate() {
            let (y, x) = (p / (side * 3), (p / 3) % side);
            let in_square = y / (side / 2) == class % 2 && x * 5 / side == class / 2;
            *value = if in_square {
                220
            } else {
                ((p * 7 + i) % 23) as u8
            };
        }
    }
    let path = dir.join("Galaxy10_DECals.h5");
    let mut builder = hdf5_pure::FileBuilder::new();
    builder
        .create_dataset("images")
        .with_u8_data(&pixels)
        .with_shape(&[n as u64, side as u64, side as u64, 3])
        .with_chunks(&[8, side as u64, side as u64, 3])
        .with_deflate(4);
    builder
        .create_dataset("ans")
        .with_u8_data(&labels)
        .with_shape(&[n as u64]);
    builder.write(&path).expect("write the DECals-layout file");
    path
}

/// The pictures and the report that `galaxy10_decals` makes.
const DECALS_PICTURES: [&str; 4] = [
    "history.png",
    "confusion_matrix.png",
    "roc_curves.png",
    "worst_classified.png",
];

#[test]
fn galaxy10_decals_streams_a_file_in_the_real_layout() {
    let data = tempfile::tempdir().expect("temp dir");
    let file = small_decals_file(data.path(), 100, 40);
    let output = tempfile::tempdir().expect("temp dir");
    let run = run_example(
        "galaxy10_decals",
        &[
            "--data",
            path_str(&file),
            "--size",
            "24",
            "--epochs",
            "2",
            "--batch-size",
            "8",
        ],
        output.path(),
        &DECALS_PICTURES,
    );
    // 80 training images in 10 batches, 10 validation and 10 test images, every class in each.
    assert!(
        run.stdout
            .contains("images 0..80: per class [8, 8, 8, 8, 8, 8, 8, 8, 8, 8]"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("warning: the"), "{}", run.stdout);
    assert!(run.stdout.contains("Epoch 2/2"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("precision    recall  f1-score   support"),
        "the classification report: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Disturbed"),
        "DECals's class names: {}",
        run.stdout
    );
    assert!(run.stdout.contains("ROC AUC per class"), "{}", run.stdout);
}

#[test]
fn galaxy10_decals_trains_on_folders_of_fits_files() {
    let data = tempfile::tempdir().expect("temp dir");
    // Two classes of 16×16 float FITS images: a bright centre, or a bright corner.
    for (class, bright) in [("round", (6..10, 6..10)), ("corner", (0..4, 0..4))] {
        let folder = data.path().join(class);
        std::fs::create_dir_all(&folder).expect("class folder");
        for k in 0..10 {
            let pixels: Vec<f32> = (0..256)
                .map(|p| {
                    let (y, x) = (p / 16, p % 16);
                    let sky = ((p * 13 + k) % 7) as f32;
                    if bright.0.contains(&y) && bright.1.contains(&x) {
                        500.0 + sky
                    } else {
                        sky
                    }
                })
                .collect();
            std::fs::write(
                folder.join(format!("cutout_{k}.fits")),
                fits_f32(16, 16, &pixels),
            )
            .expect("write a FITS file");
        }
    }
    let output = tempfile::tempdir().expect("temp dir");
    let run = run_example(
        "galaxy10_decals",
        &[
            "--data",
            path_str(data.path()),
            "--size",
            "24",
            "--epochs",
            "2",
            "--batch-size",
            "4",
        ],
        output.path(),
        &DECALS_PICTURES,
    );
    assert!(
        run.stdout
            .contains("Found 16 images belonging to 2 classes."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("precision    recall  f1-score   support"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("corner"), "{}", run.stdout);
}

/// A FITS file with one `BITPIX = -32` image of `height × width` (big-endian floats), its
/// header and data each padded to 2880 bytes, as the standard lays them out.
fn fits_f32(height: usize, width: usize, pixels: &[f32]) -> Vec<u8> {
    let cards = [
        "SIMPLE  =                    T".to_string(),
        "BITPIX  =                  -32".to_string(),
        "NAXIS   =                    2".to_string(),
        format!("NAXIS1  = {width:>20}"),
        format!("NAXIS2  = {height:>20}"),
        "END".to_string(),
    ];
    let mut bytes: Vec<u8> = cards
        .iter()
        .flat_map(|card| format!("{card:<80}").into_bytes())
        .collect();
    bytes.resize(2880, b' ');
    for value in pixels {
        bytes.extend_from_slice(&value.to_be_bytes());
    }
    let padded = bytes.len().div_ceil(2880) * 2880;
    bytes.resize(padded, 0);
    bytes
}
