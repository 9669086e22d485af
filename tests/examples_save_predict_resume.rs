//! The examples' whole-model flags, run as a user runs them: `--save PATH` writes a model that
//! `astrograd::load_model` (and Keras) opens, the `predict` example classifies images with it,
//! and `--backup DIR` lets a run killed mid-training (a real SIGKILL) be started again with
//! the same command and end on the weights of a run that was never killed, bit for bit.
//!
//! Fashion-MNIST comes from `/usr/share/datasets/fashion-mnist` (Debian's
//! `dataset-fashion-mnist`); without it these tests say so and pass, unless
//! `ASTROGRAD_REQUIRE_DATA=1` (set by CI). The binaries are the ones `cargo test` builds.
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use astrograd::data::fashion_mnist;
use astrograd::kernels::test_env;
use astrograd::load_model;

const FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

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

/// Where `cargo` put the example `name` (next to this test binary's folder).
fn example_binary(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let profile_dir = test_binary
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: run the whole `cargo test` command, which builds the examples",
        path.display()
    );
    path
}

/// Runs an example to the end and returns what it printed.
fn run(name: &str, args: &[&str]) -> Output {
    Command::new(example_binary(name))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run the example")
}

fn assert_success(name: &str, output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && !stderr.contains("panicked"),
        "{name} exited with {}\n{stdout}\n{stderr}",
        output.status
    );
    stdout
}

fn s(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

#[test]
fn a_saved_course_model_loads_and_predict_classifies_images_with_it() {
    if !fashion_mnist_here("a_saved_course_model_loads_and_predict_classifies_images_with_it") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model_path = dir.path().join("cnn.keras");
    let out = dir.path().join("out");
    let cnn = run(
        "session2_cnn",
        &[
            "--data",
            FASHION_MNIST,
            "--limit",
            "300",
            "--epochs",
            "1",
            "--output",
            s(&out),
            "--save",
            s(&model_path),
        ],
    );
    let stdout = assert_success("session2_cnn", &cnn);
    assert!(stdout.contains("Model saved to"), "{stdout}");
    let mut model = load_model(&model_path).unwrap();
    assert!(model.is_compiled());

    // Three test images as PNG files, and what the model says of them here.
    let (_, (x_test, y_test)) = fashion_mnist::load_data_from(Path::new(FASHION_MNIST)).unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    let pixels = x_test.to_vec().unwrap();
    let labels = y_test.to_vec().unwrap();
    let mut scaled = Vec::new();
    for i in 0..3 {
        let image: Vec<u8> = pixels[i * 784..(i + 1) * 784]
            .iter()
            .map(|&v| v as u8)
            .collect();
        let name = images.join(format!("test{i}_{}.png", labels[i]));
        image::GrayImage::from_raw(28, 28, image)
            .unwrap()
            .save(&name)
            .unwrap();
        scaled.extend(pixels[i * 784..(i + 1) * 784].iter().map(|&v| v / 255.0));
    }
    let x = astrograd::Tensor::from_vec(scaled, &[3, 28, 28, 1]).unwrap();
    let probabilities = model.predict(&x, 32).unwrap().to_vec().unwrap();
    let predict = run(
        "predict",
        &[
            "--model",
            s(&model_path),
            "--classes",
            "fashion-mnist",
            "--top",
            "2",
            s(&images),
        ],
    );
    let stdout = assert_success("predict", &predict);
    for (i, row) in probabilities.chunks(10).enumerate() {
        let best = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        let file = format!("test{i}_{}.png", labels[i]);
        let block = stdout
            .split(&file)
            .nth(1)
            .unwrap_or_else(|| panic!("{file} not in\n{stdout}"));
        let first = block.lines().nth(1).unwrap();
        assert!(
            first.trim_start().starts_with("1. ")
                && first.contains(fashion_mnist::CLASS_NAMES[best]),
            "{file}: {first}\n{stdout}"
        );
        assert!(
            first.contains(&format!("{:.2}%", 100.0 * row[best])),
            "{first}"
        );
    }

    // The Keras 2 format from another example.
    let h5 = dir.path().join("mlp.h5");
    let mlp = run(
        "session1_mlp",
        &[
            "--data",
            FASHION_MNIST,
            "--limit",
            "300",
            "--epochs",
            "1",
            "--output",
            s(&out),
            "--save",
            s(&h5),
        ],
    );
    assert_success("session1_mlp", &mlp);
    assert_eq!(load_model(&h5).unwrap().count_params(), 266_610);
}

#[test]
fn bad_save_names_and_bad_images_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let bad = run("session1_mlp", &["--save", "model.pt"]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("expected a file name ending in .keras, .h5 or .hdf5"),
        "{stderr}"
    );

    let missing = run(
        "predict",
        &["--model", s(&dir.path().join("none.keras")), s(dir.path())],
    );
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("none.keras") && !stderr.contains("panicked"),
        "{stderr}"
    );
    let no_images = run("predict", &["--model", "m.keras"]);
    assert_eq!(no_images.status.code(), Some(2));
}

/// Runs `session1_mlp` with these flags, killing it as soon as `kill_when` exists.
fn run_until(args: &[&str], kill_when: &Path) -> bool {
    let mut child = Command::new(example_binary("session1_mlp"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if kill_when.exists() {
            child.kill().unwrap(); // SIGKILL: nothing of the run gets to clean up
            child.wait().unwrap();
            return true;
        }
        if child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_killed_run_started_again_with_the_same_command_resumes_from_its_backup() {
    if !fashion_mnist_here(
        "a_killed_run_started_again_with_the_same_command_resumes_from_its_backup",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (straight, resumed, backup) = (
        dir.path().join("straight.keras"),
        dir.path().join("resumed.keras"),
        dir.path().join("backup"),
    );
    let common = [
        "--data",
        FASHION_MNIST,
        "--limit",
        "3000",
        "--epochs",
        "10",
        "--output",
        s(&out),
    ];
    let mut args: Vec<&str> = common.to_vec();
    args.extend(["--save", s(&straight)]);
    assert_success("session1_mlp", &run("session1_mlp", &args));

    let mut args: Vec<&str> = common.to_vec();
    args.extend(["--save", s(&resumed), "--backup", s(&backup)]);
    let backup_file = backup.join("training").join("backup.keras");
    assert!(
        run_until(&args, &backup_file),
        "the run ended before its first backup: nothing was killed"
    );
    assert!(!resumed.exists(), "the killed run saved its model");
    let again = run("session1_mlp", &args);
    let stdout = assert_success("session1_mlp", &again);
    assert!(
        stdout.contains("BackupAndRestore: resuming from"),
        "{stdout}"
    );
    assert!(
        !backup_file.exists(),
        "the backup outlived the finished run"
    );
    let weights = |path: &Path| -> Vec<Vec<f32>> {
        load_model(path)
            .unwrap()
            .get_weights()
            .iter()
            .map(|w| w.to_vec().unwrap())
            .collect()
    };
    assert_eq!(
        weights(&resumed),
        weights(&straight),
        "the resumed run ended elsewhere"
    );
}
