//! # Data-parallel training, checked: N processes give the weights of one
//!
//! Run it on a cluster (or on one machine) to check that MPI works with astrograd before a long
//! job: `cargo build --release --features mpi --example distributed_check`, then
//! `mpirun -n 2 target/release/examples/distributed_check` (or `srun` in a Slurm job).
//!
//! What it does, on every process:
//! 1. trains a small CNN (`Conv2D(8, 3×3, relu) → MaxPooling2D → Flatten → Dense(32, relu) →
//!    Dense(10, softmax)`, no dropout and no batch normalization, whose results depend on how
//!    a batch is split) with Adam on the first [`STEPS`] global batches of Fashion-MNIST
//!    (`--limit N`: the first N images), for `--epochs` epochs (1) with a global batch of
//!    `--batch-size` samples (32), shared by all the processes: each takes its share of every
//!    batch, and the gradients are averaged with one all-reduce per step;
//! 2. trains the same model again from the same seed *alone* (a single-process communicator),
//!    with the whole batch;
//! 3. compares the two: every weight, and `evaluate` and `predict` on the test images (each
//!    process taking every N-th batch). The largest difference must stay below 1e-5; it
//!    differs from 0 only by the order of the floating-point sums (a batch's gradient summed
//!    in two halves, then added), which training slowly amplifies: on Fashion-MNIST with 2
//!    processes it was 5e-6 after 64 steps and 1.1e-5 after 128.
//!
//! Without `mpirun` it runs as one process and compares one process with itself.
// `run` returns common::ExampleError, which holds a DataError: large, and made at most once.
#![allow(clippy::result_large_err)]

mod common;

use std::process::ExitCode;

use astrograd::data::arrays::scale_255;
use astrograd::distributed::{world, Communicator, SingleProcess};
use astrograd::layers::{
    Conv2D, Dense, EvalOptions, FitOptions, Flatten, Input, LayerError, MaxPooling2D, Model,
    Sequential,
};
use astrograd::optim::Adam;
use astrograd::{set_seed, Tensor};
use common::{Args, Dataset, Example, ExampleError, Pictures};

const EXAMPLE: Example = Example {
    name: "distributed_check",
    about: "Checks data-parallel training: under mpirun, N processes sharing each batch must \
            end with the weights that one process gets alone (within 1e-5), and evaluate and \
            predict must agree.",
    epochs: 1,
    batch_size: 32,
    dataset: Dataset::FashionMnist,
};

/// The largest difference allowed between the weights (and outputs) of the two runs.
const TOLERANCE: f32 = 1e-5;

/// The global batches trained on, without `--limit`.
const STEPS: usize = 50;

fn main() -> ExitCode {
    common::main(&EXAMPLE, run)
}

fn cnn() -> Result<Model, ExampleError> {
    Ok(Sequential::new(vec![
        Box::new(Input::new(&[28, 28, 1])),
        Box::new(Conv2D::new(8, 3).activation("relu")),
        Box::new(MaxPooling2D::new()),
        Box::new(Flatten::new()),
        Box::new(Dense::new(32).activation("relu")),
        Box::new(Dense::new(10).activation("softmax")),
    ])?)
}

/// The model trained from `seed` on `processes`, and its test loss, accuracy and outputs.
struct Trained {
    weights: Vec<Vec<f32>>,
    test: Vec<f32>,
    outputs: Tensor,
}

fn train(
    args: &Args,
    data: &Data,
    processes: &'static dyn Communicator,
    verbose: u8,
) -> Result<Trained, ExampleError> {
    set_seed(u64::from(args.seed));
    let mut model = cnn()?;
    model.to(args.device)?;
    model.compile(
        "sparse_categorical_crossentropy",
        Adam::new(0.001),
        &["accuracy"],
    )?;
    model.fit(
        &data.x_train,
        &data.y_train,
        FitOptions::default()
            .epochs(args.epochs)
            .batch_size(args.batch_size)
            .verbose(verbose)
            .communicator(processes),
    )?;
    let options = || {
        EvalOptions::default()
            .batch_size(args.batch_size)
            .verbose(0)
            .communicator(processes)
    };
    let test = model.evaluate(&data.x_test, &data.y_test, options())?;
    let outputs = model.predict(&data.x_test, options())?;
    let weights = model
        .weights()
        .iter()
        .map(|w| w.var.value().to_vec())
        .collect::<Result<_, _>>()?;
    Ok(Trained {
        weights,
        test,
        outputs,
    })
}

struct Data {
    x_train: Tensor,
    y_train: Tensor,
    x_test: Tensor,
    y_test: Tensor,
}

/// The largest absolute difference between two lists of numbers.
fn largest_difference<'a>(
    a: impl IntoIterator<Item = &'a f32>,
    b: impl IntoIterator<Item = &'a f32>,
) -> f32 {
    a.into_iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn run(args: &Args, _pictures: &mut Pictures) -> Result<(), ExampleError> {
    if args.summary {
        return common::print_summaries(&[&cnn()?]);
    }
    let processes = world();
    let ((x_train, y_train), (x_test, y_test)) = common::load_fashion_mnist(&EXAMPLE, args)?;
    let four_d = |x: &Tensor| -> Result<Tensor, ExampleError> {
        let n = x.shape()[0];
        Ok(scale_255(x)?.reshape(&[n, 28, 28, 1])?)
    };
    let n = args.limit.unwrap_or(STEPS * args.batch_size);
    let data = Data {
        x_train: four_d(&common::first(&x_train, Some(n))?)?,
        y_train: common::first(&y_train, Some(n))?,
        x_test: four_d(&x_test)?,
        y_test,
    };
    let n = data.x_train.shape()[0];
    let share = astrograd::distributed::share(args.batch_size, processes.rank(), processes.size());
    println!(
        "{}: {n} training images, {} epochs, a global batch of {} ({} on rank 0)\n",
        processes.describe(),
        args.epochs,
        args.batch_size,
        share.len()
    );
    let together = train(args, &data, processes, 2)?;
    let alone = train(args, &data, &SingleProcess, 0)?;

    let weights = largest_difference(
        together.weights.iter().flatten(),
        alone.weights.iter().flatten(),
    );
    let test = largest_difference(&together.test, &alone.test);
    let outputs = largest_difference(&together.outputs.to_vec()?, &alone.outputs.to_vec()?);
    println!(
        "\nlargest difference from one process alone: weights {weights:.2e}, test loss and \
         accuracy {test:.2e}, predictions {outputs:.2e} (tolerance {TOLERANCE:.0e})"
    );
    println!(
        "test loss {:.4}, accuracy {:.4} ({}); alone {:.4}, {:.4}",
        together.test[0],
        together.test[1],
        processes.describe(),
        alone.test[0],
        alone.test[1]
    );
    let worst = weights.max(test).max(outputs);
    // NaN compares false: it fails too.
    if worst <= TOLERANCE {
        println!("OK: the processes trained as one");
        Ok(())
    } else {
        Err(LayerError::invalid(
            "distributed_check",
            format!("the weights of one process within {TOLERANCE:.0e}"),
            format!("a difference of {worst:.2e}"),
        )
        .into())
    }
}
