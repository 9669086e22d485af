//! # Session 1 — a multilayer perceptron classifies clothes (Fashion-MNIST)
//!
//! The first lecture of the course builds a neural network from dense layers and trains it
//! with backpropagation. What it teaches, and what this example shows:
//!
//! 1. **Activation functions.** A neuron computes `f(w·x + b)`; without a non-linear `f`,
//!    stacked layers collapse into one linear map. The lecture compares sigmoid (saturates:
//!    its gradient vanishes far from 0), ReLU (cheap, no saturation for x > 0), leaky ReLU and
//!    ELU (no "dead" neurons for x < 0) and SELU (self-normalising). They are plotted here
//!    with astrograd's own implementations → `activations.png`.
//! 2. **The data.** Fashion-MNIST: 60,000 training and 10,000 test images, 28×28 grey, 10
//!    classes. The first 5,000 training images are kept aside for validation; pixels are
//!    divided by 255.
//! 3. **The model.** `Flatten(28×28) → Dense(300, relu) → Dense(100, relu) → Dense(10,
//!    softmax)`: 266,610 parameters, printed by `model.summary()`.
//! 4. **Training.** `compile(sparse_categorical_crossentropy, adam, accuracy)` and 7 epochs
//!    of mini-batches of 32 (1719 steps): Keras's progress bar, one line per epoch. The course
//!    reached loss 0.2580, accuracy 0.9032, val_loss 0.2959, val_accuracy 0.8938 at epoch 7.
//!    The curves → `history.png`.
//! 5. **Testing.** `model.evaluate` on the 10,000 test images: the course printed 0.86–0.89.
//!    Then `model.predict` on the first test images, the class with the highest probability
//!    (`argmax`) against the true label, and the confusion matrix of the whole test set →
//!    `confusion_matrix.png` (shirts, T-shirts, pullovers and coats are confused most).
//!
//! Run it with `cargo run --release --example session1_mlp` (about 10 s on two cores: 7 epochs
//! of about 1 s, the `s1_mlp` timing in the README's "Speed" section); `-- --help` lists the
//! flags. Besides the common ones, `--learning-rate LR` sets Adam's (the course's `'adam'` is
//! 0.001): `-- --learning-rate 0.01` is the "train with a 10× learning rate" exercise of
//! `docs/tutorials/4-adam-and-schedules.md`.
// `run` returns common::ExampleError, which holds a DataError: large, and made at most once.
#![allow(clippy::result_large_err)]

mod common;

use std::process::ExitCode;

use astrograd::data::arrays::scale_255;
use astrograd::data::fashion_mnist::CLASS_NAMES;
use astrograd::layers::{
    ActivationFn, Dense, FitOptions, Flatten, Layer, Model, Sequential, TerminateOnNaN,
};
use astrograd::optim::Adam;
use astrograd::viz::{self, Line, LinePlotOptions};
use astrograd::{set_seed, Tensor, Var};
use common::{Args, Dataset, Example, ExampleError, Pictures};

const EXAMPLE: Example = Example {
    name: "session1_mlp",
    about: "Session 1 of the course: the activation functions, then an MLP (Flatten → Dense(300) \
            → Dense(100) → Dense(10, softmax)) trained with Adam for 7 epochs on Fashion-MNIST, \
            tested, and its predictions compared with the true labels.",
    epochs: 7,
    batch_size: 32,
    dataset: Dataset::FashionMnist,
};

/// This example's command line: the common flags and Adam's learning rate.
#[derive(clap::Parser, Debug)]
struct Cli {
    #[command(flatten)]
    args: Args,
    /// Adam's learning rate (the course's 'adam' is Adam(learning_rate=0.001))
    #[arg(long, value_name = "LR", default_value_t = 0.001)]
    learning_rate: f32,
}

impl AsRef<Args> for Cli {
    fn as_ref(&self) -> &Args {
        &self.args
    }
}

fn main() -> ExitCode {
    common::main_with(&EXAMPLE, run)
}

/// The course's model: `Flatten(28×28) → Dense(300, relu) → Dense(100, relu) → Dense(10,
/// softmax)`.
fn mlp() -> Result<Model, ExampleError> {
    Ok(Sequential::new(vec![
        Box::new(Flatten::new().with_input_shape(&[28, 28])),
        Box::new(Dense::new(300).activation("relu")),
        Box::new(Dense::new(100).activation("relu")),
        Box::new(Dense::new(10).activation("softmax")),
    ])?)
}

fn run(cli: &Cli, pictures: &mut Pictures) -> Result<(), ExampleError> {
    let args = &cli.args;
    if args.summary {
        return common::print_summaries(&[&mlp()?]);
    }
    // tf.keras.utils.set_random_seed(42): the initial weights and the shuffling.
    set_seed(u64::from(args.seed));

    println!("== 1. Activation functions\n");
    plot_activations(&pictures.path("activations.png"))?;
    println!("sigmoid, ReLU, leaky ReLU, ELU and SELU on [-5, 5] → activations.png\n");

    println!("== 2. The data\n");
    let ((x_train_full, y_train_full), (x_test, y_test)) =
        common::load_fashion_mnist(&EXAMPLE, args)?;
    // X_valid, X_train = X_train_full[:5000] / 255., X_train_full[5000:] / 255.
    let x_train_full = scale_255(&x_train_full)?;
    let (n, n_valid) = (
        x_train_full.shape()[0],
        common::fashion_mnist_validation_size(x_train_full.shape()[0]),
    );
    let x_valid = x_train_full.slice_axis(0, 0, n_valid)?;
    let x_train = x_train_full.slice_axis(0, n_valid, n)?;
    let y_valid = y_train_full.slice_axis(0, 0, n_valid)?;
    let y_train = y_train_full.slice_axis(0, n_valid, n)?;
    let x_test = scale_255(&x_test)?;
    println!(
        "train {:?}, validation {:?}, test {:?}; pixels / 255\n",
        x_train.shape(),
        x_valid.shape(),
        x_test.shape()
    );

    println!("== 3. The model\n");
    let mut model = mlp()?;
    model.print_summary()?;

    println!(
        "\n== 4. Training (Adam, learning rate {})\n",
        cli.learning_rate
    );
    model.to(args.device)?; // --device gpu: the weights move to the GPU
                            // model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.compile(
        "sparse_categorical_crossentropy",
        Adam::new(cli.learning_rate),
        &["accuracy"],
    )?;
    let history = model.fit(
        &x_train,
        &y_train,
        FitOptions::default()
            .callbacks(common::backup(args, "training")) // --backup DIR: resume a killed run
            .callback(TerminateOnNaN::new()) // stop at the first NaN loss
            .epochs(args.epochs)
            .batch_size(args.batch_size)
            .validation_data(&x_valid, &y_valid),
    )?;
    common::save_model(args, &model)?; // --save PATH: the trained model, as a .keras or .h5 file
    viz::history_plot(&history, &pictures.path("history.png"))?;

    println!("\n== 5. Testing\n");
    let test = model.evaluate(&x_test, &y_test, args.batch_size)?;
    println!("test loss {:.4}, test accuracy {:.4}", test[0], test[1]);

    let y_proba = model.predict(&x_test, args.batch_size)?;
    common::print_predictions(&y_proba, &y_test, &CLASS_NAMES, 3)?;
    viz::confusion_matrix(
        &common::as_classes(&y_test)?,
        &common::predicted_classes(&y_proba)?,
        &common::names(&CLASS_NAMES),
        &pictures.path("confusion_matrix.png"),
    )?;
    Ok(())
}

/// The lecture's activation functions, computed by the same code the layers use.
fn plot_activations(path: &std::path::Path) -> Result<(), ExampleError> {
    // x: 201 points from -5 to 5.
    let x: Vec<f32> = (0..=200).map(|i| -5.0 + 0.05 * i as f32).collect();
    let x_var = Var::constant(Tensor::from_vec(x.clone(), &[x.len()])?);
    let curves = [
        ("sigmoid", "sigmoid"),
        ("ReLU", "relu"),
        ("leaky ReLU (α = 0.2)", "leaky_relu"),
        ("ELU (α = 1)", "elu"),
        ("SELU", "selu"),
    ];
    let mut lines = Vec::new();
    for (label, name) in curves {
        let y = ActivationFn::from_name(name)?.apply(&x_var)?;
        lines.push(Line {
            label: label.to_string(),
            x: x.clone(),
            y: y.value().to_vec()?,
        });
    }
    let options = LinePlotOptions {
        title: "Activation functions".into(),
        x_label: "z".into(),
        y_label: "f(z)".into(),
        ..Default::default()
    };
    viz::line_plot(&lines, &options, path)?;
    Ok(())
}
