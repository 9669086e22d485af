//! # Session 1 — training choices side by side: optimizers, schedules, initialisation
//!
//! The lecture's second half is about *how* a network is trained: the same model and the same
//! data reach different places depending on the optimizer, its learning rate and the initial
//! weights. This example trains Session 1's MLP (`Flatten → Dense(300, relu) → Dense(100,
//! relu) → Dense(10, softmax)` on Fashion-MNIST, 55,000 training and 5,000 validation images)
//! a few epochs with each choice, every run starting from the same seed:
//!
//! | run | update rule (`docs/keras-semantics.md` §4) | what the lecture says about it |
//! |---|---|---|
//! | SGD | `w −= lr·g`, lr 0.01 | slow in ravines; a single learning rate for every weight |
//! | SGD + momentum 0.9 | `v = 0.9·v − lr·g; w += v` | a ball rolling downhill: speeds up along consistent directions |
//! | Nesterov | the gradient "looked ahead" along `v` | momentum that corrects itself earlier |
//! | RMSprop | `w −= lr·g / √(mean of g²)`, lr 0.001 | one step size per weight, from recent gradients |
//! | Adam | momentum + RMSprop, bias-corrected, lr 0.001 | the usual default (the course's `'adam'`) |
//! | Adam + ExponentialDecay | `lr = 0.001 · 0.5^(step / steps_per_epoch)` | big steps first, small steps to settle (our choice of numbers: halved every epoch) |
//! | Adam, He initialisation | hidden kernels `he_normal` instead of Keras's `glorot_uniform` | variance `2 / fan_in` keeps ReLU activations from shrinking layer after layer |
//!
//! Glorot against He is the "Adam" run against the last one: same optimizer, different
//! initial weights.
//!
//! What you will see: the model summary, Keras's progress bar for every epoch of every run,
//! then a table of the final training, validation and test accuracies, and one picture
//! overlaying the validation curves of all runs → `optimizers.png` (loss on the left,
//! accuracy on the right). With seed 42 and 3 epochs (test accuracy): plain SGD lags behind
//! (0.80), momentum and Nesterov catch up (0.86), RMSprop's validation loss jumps back up at
//! epoch 3 (0.81), Adam reaches 0.865 with Glorot and 0.869 with He initialisation, and Adam
//! with the decaying learning rate ends best (0.877).
//!
//! Run it with `cargo run --release --example session1_optimizers` (7 runs of 3 epochs: 21
//! epochs of about 1 s on two cores, the `s1_mlp` timing in the README's "Speed" section, each
//! followed by a validation pass; `-- --epochs N` for more).
// `run` returns common::ExampleError, which holds a DataError: large, and made at most once.
#![allow(clippy::result_large_err)]

mod common;

use std::process::ExitCode;

use astrograd::data::arrays::scale_255;
use astrograd::layers::{
    Dense, EvalOptions, FitOptions, Flatten, History, Initializer, Layer, Model, Sequential,
    TerminateOnNaN,
};
use astrograd::optim::{Adam, ExponentialDecay, Optimizer, RMSprop, SGD};
use astrograd::set_seed;
use astrograd::viz::{self, HistoryPlotOptions};
use common::{Args, Dataset, Example, ExampleError, Pictures};

const EXAMPLE: Example = Example {
    name: "session1_optimizers",
    about: "Session 1's training choices on Fashion-MNIST: the MLP trained a few epochs each \
            with SGD, SGD + momentum, Nesterov, RMSprop, Adam, Adam + ExponentialDecay, and \
            Adam with He instead of Glorot initialisation; one picture of the validation \
            curves and a table of the final accuracies.",
    epochs: 3,
    batch_size: 32,
    dataset: Dataset::FashionMnist,
};

/// One training run: a name for the table and the legend, an optimizer, and the initializer
/// of the two hidden layers' kernels.
struct Run {
    name: &'static str,
    optimizer: Box<dyn Optimizer>,
    hidden_init: Initializer,
}

/// What a run ended with.
struct Outcome {
    name: &'static str,
    history: History,
    test_accuracy: f32,
}

fn main() -> ExitCode {
    common::main(&EXAMPLE, run)
}

fn run(args: &Args, pictures: &mut Pictures) -> Result<(), ExampleError> {
    if args.summary {
        // Every run trains this model; only the initial weights and the optimizer differ.
        return common::print_summaries(&[&mlp(Initializer::GlorotUniform)?]);
    }
    let ((x_train_full, y_train_full), (x_test, y_test)) =
        common::load_fashion_mnist(&EXAMPLE, args)?;
    let x_train_full = scale_255(&x_train_full)?;
    let n = x_train_full.shape()[0];
    // X_valid, X_train = X_train_full[:5000], X_train_full[5000:]
    let n_valid = common::fashion_mnist_validation_size(n);
    let (x_valid, x_train) = (
        x_train_full.slice_axis(0, 0, n_valid)?,
        x_train_full.slice_axis(0, n_valid, n)?,
    );
    let (y_valid, y_train) = (
        y_train_full.slice_axis(0, 0, n_valid)?,
        y_train_full.slice_axis(0, n_valid, n)?,
    );
    let x_test = scale_255(&x_test)?;
    let steps_per_epoch = x_train.shape()[0].div_ceil(args.batch_size) as u64;

    let runs = vec![
        Run {
            name: "SGD",
            optimizer: Box::new(SGD::new(0.01)),
            hidden_init: Initializer::GlorotUniform,
        },
        Run {
            name: "SGD + momentum 0.9",
            optimizer: Box::new(SGD::new(0.01).momentum(0.9)),
            hidden_init: Initializer::GlorotUniform,
        },
        Run {
            name: "Nesterov",
            optimizer: Box::new(SGD::new(0.01).momentum(0.9).nesterov(true)),
            hidden_init: Initializer::GlorotUniform,
        },
        Run {
            name: "RMSprop",
            optimizer: Box::new(RMSprop::new(0.001)),
            hidden_init: Initializer::GlorotUniform,
        },
        Run {
            name: "Adam",
            optimizer: Box::new(Adam::new(0.001)),
            hidden_init: Initializer::GlorotUniform,
        },
        Run {
            name: "Adam + ExponentialDecay",
            optimizer: Box::new(Adam::new(ExponentialDecay::new(
                0.001,
                steps_per_epoch,
                0.5,
            )?)),
            hidden_init: Initializer::GlorotUniform,
        },
        Run {
            name: "Adam, He init",
            optimizer: Box::new(Adam::new(0.001)),
            hidden_init: Initializer::HeNormal,
        },
    ];

    let mut outcomes = Vec::new();
    for (i, run) in runs.into_iter().enumerate() {
        // The same seed for every run: the same initial weights (for the same initializer)
        // and the same order of the batches, so only the choice under test differs.
        set_seed(u64::from(args.seed));
        let mut model = mlp(run.hidden_init)?;
        if i == 0 {
            model.print_summary()?;
        }
        println!("\n== {} ({})\n", run.name, run.optimizer.name());
        model.to(args.device)?; // --device gpu: the weights move to the GPU
        model.compile(
            "sparse_categorical_crossentropy",
            run.optimizer,
            &["accuracy"],
        )?;
        let history = model.fit(
            &x_train,
            &y_train,
            FitOptions::default()
                .callbacks(common::backup(args, run.name)) // --backup DIR: resume a killed run
                .callback(TerminateOnNaN::new()) // stop at the first NaN loss
                .epochs(args.epochs)
                .batch_size(args.batch_size)
                .validation_data(&x_valid, &y_valid),
        )?;
        let quiet = EvalOptions::default()
            .batch_size(args.batch_size)
            .verbose(0);
        let test = model.evaluate(&x_test, &y_test, quiet)?;
        // --save PATH keeps the run with the best test accuracy so far.
        if outcomes.iter().all(|o: &Outcome| test[1] > o.test_accuracy) {
            common::save_model(args, &model)?;
        }
        outcomes.push(Outcome {
            name: run.name,
            history,
            test_accuracy: test[1],
        });
    }

    print_table(&outcomes, args.epochs);
    let curves: Vec<(&str, &History)> = outcomes.iter().map(|o| (o.name, &o.history)).collect();
    let options = HistoryPlotOptions {
        title: format!(
            "Fashion-MNIST MLP: validation curves after {} epochs",
            args.epochs
        ),
        validation_only: true,
        ..Default::default()
    };
    viz::history_plot_with(&curves, &options, &pictures.path("optimizers.png"))?;
    Ok(())
}

/// Session 1's MLP, with `hidden_init` for the kernels of the two ReLU layers.
fn mlp(hidden_init: Initializer) -> Result<Model, ExampleError> {
    Ok(Sequential::new(vec![
        Box::new(Flatten::new().with_input_shape(&[28, 28])),
        Box::new(
            Dense::new(300)
                .activation("relu")
                .kernel_initializer(hidden_init),
        ),
        Box::new(
            Dense::new(100)
                .activation("relu")
                .kernel_initializer(hidden_init),
        ),
        Box::new(Dense::new(10).activation("softmax")),
    ])?)
}

/// The final accuracies of every run, one line each.
fn print_table(outcomes: &[Outcome], epochs: usize) {
    println!("\nAfter {epochs} epochs:\n");
    println!(
        "  {:<26} {:>10} {:>10} {:>10} {:>10}",
        "run", "loss", "accuracy", "val_acc", "test_acc"
    );
    for o in outcomes {
        let last = |key: &str| {
            o.history
                .history
                .get(key)
                .and_then(|v| v.last().copied())
                .unwrap_or(f32::NAN)
        };
        println!(
            "  {:<26} {:>10.4} {:>10.4} {:>10.4} {:>10.4}",
            o.name,
            last("loss"),
            last("accuracy"),
            last("val_accuracy"),
            o.test_accuracy
        );
    }
}
