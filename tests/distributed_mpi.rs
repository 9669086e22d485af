//! Data-parallel training under a real `mpirun` (a build with `--features mpi`; CI installs
//! Open MPI and runs these). The example `distributed_check` trains on N processes and alone,
//! and fails when the weights differ by more than 1e-5; these tests run it as a user would.
//!
//! `cargo test --release --features mpi --test distributed_mpi` (after
//! `cargo build --release --features mpi --examples`, as `cargo test` does for the examples).
#![cfg(feature = "mpi")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

fn example_binary(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let profile_dir = test_binary
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    profile_dir.join("examples").join(name)
}

/// `mpirun` with the flags CI needs (root, more processes than cores), then `rest`.
fn mpirun(rest: &[&str]) -> Output {
    Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe"])
        .args(rest)
        .output()
        .expect("mpirun (Debian: openmpi-bin) must be installed for the mpi feature's tests")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn check() -> String {
    example_binary("distributed_check").display().to_string()
}

fn output_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

/// 2 processes × 16 samples give the weights of 1 process × 32, within 1e-5 (the example
/// exits with 1 otherwise); only rank 0 prints.
#[test]
fn two_processes_train_as_one() {
    assert!(Path::new(FASHION_MNIST).is_dir(), "Fashion-MNIST is needed");
    let out = output_dir();
    let run = mpirun(&[
        "-n",
        "2",
        &check(),
        "--output",
        out.path().to_str().unwrap(),
    ]);
    let stdout = text(&run.stdout);
    assert!(
        run.status.success(),
        "{}\n{stdout}\n{}",
        run.status,
        text(&run.stderr)
    );
    assert!(stdout.contains("MPI, 2 processes"), "{stdout}");
    assert!(
        stdout.contains("a global batch of 32 (16 on rank 0)"),
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("OK: the processes trained as one").count(),
        1,
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("50/50").count(),
        1,
        "one progress bar: {stdout}"
    );
}

/// A global batch that 3 processes cannot split evenly (31 = 10 + 10 + 11) still gives the
/// single-process gradient: each share is weighted by its size.
#[test]
fn three_processes_with_an_uneven_batch_train_as_one() {
    let out = output_dir();
    let run = mpirun(&[
        "-n",
        "3",
        &check(),
        "--batch-size",
        "31",
        "--limit",
        "620",
        "--output",
        out.path().to_str().unwrap(),
    ]);
    let stdout = text(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", text(&run.stderr));
    assert!(
        stdout.contains("a global batch of 31 (10 on rank 0)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("OK: the processes trained as one"),
        "{stdout}"
    );
}

/// Processes that disagree on the data (here: different `--limit`s, through mpirun's
/// several-programs syntax) stop before training, naming every rank's value, and mpirun fails.
#[test]
fn processes_with_different_data_stop_before_training() {
    let out = output_dir();
    let dir = out.path().to_str().unwrap();
    let binary = check();
    let run = mpirun(&[
        "-n", "1", &binary, "--limit", "320", "--output", dir, ":", "-n", "1", &binary, "--limit",
        "352", "--output", dir,
    ]);
    let stderr = text(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    assert!(
        stderr.contains("the same number of samples on every process")
            && stderr.contains("rank 0: 320, rank 1: 352"),
        "{stderr}"
    );
    assert!(!text(&run.stdout).contains("Epoch"), "no training started");
}

/// Started without a launcher, a build with the feature trains alone and says so once.
#[test]
fn without_mpirun_it_trains_alone_and_says_so() {
    let out = output_dir();
    let run = Command::new(example_binary("distributed_check"))
        .args(["--limit", "320", "--output", out.path().to_str().unwrap()])
        .env_remove("OMPI_COMM_WORLD_SIZE")
        .output()
        .expect("the example runs");
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("not started by mpirun or srun").count(),
        1,
        "{stderr}"
    );
    assert!(text(&run.stdout).contains("1 process:"));
}

/// `bench_epochs` under mpirun reports the world size and the all-reduce's share of the epoch.
#[test]
fn bench_epochs_reports_the_processes_and_the_all_reduce_share() {
    let run = mpirun(&[
        "-n",
        "2",
        &example_binary("bench_epochs").display().to_string(),
        "--workload",
        "s1_mlp",
        "--epochs",
        "2",
        "--limit",
        "640",
        "--json",
    ]);
    let stdout = text(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", text(&run.stderr));
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with('{')).collect();
    assert_eq!(lines.len(), 1, "rank 0 prints one line: {stdout}");
    let json: serde_json::Value = serde_json::from_str(lines[0]).expect("a JSON line");
    assert_eq!(json["processes"], 2, "{stdout}");
    let share = json["allreduce_share"].as_f64().expect("a share");
    assert!(share > 0.0 && share < 1.0, "{stdout}");
}
