//! # Session 1, hands-on — an MLP classifies galaxies (Galaxy10 SDSS, in grey)
//!
//! The hands-on notebook of Session 1 takes the lecture's recipe to astronomy: 21,785 galaxy
//! images from the Sloan Digital Sky Survey, 69×69 pixels in colour, each labelled by Galaxy
//! Zoo volunteers with one of 10 morphologies (smooth and round, disk edge-on, spiral, …).
//! What it teaches, and what this example shows:
//!
//! 1. **Preparing real data.** The images are made grey by averaging the three colour
//!    channels (`images.mean(axis=3)` → (N, 69, 69)); 10 % are held out for testing with
//!    scikit-learn's `train_test_split(test_size=0.1, random_state=42)` (the same rows here);
//!    pixels are divided by 255. The first 16 training galaxies → `image_grid.png`.
//! 2. **A bigger MLP.** `Flatten(69×69 = 4761) → Dense(500, relu) → Dense(100, relu) →
//!    Dense(10, softmax)`: 2,432,110 parameters, almost all in the first layer.
//! 3. **Training with a validation split.** Adam, 10 epochs, `validation_split=0.2` (the
//!    last 20 % of the training set; 491 steps of 32). The course reached accuracy 0.7302 and
//!    val_accuracy 0.6953 at epoch 10 → `history.png`.
//! 4. **Testing.** The course printed a test accuracy of 0.67: a dense network on raw pixels
//!    does not see shapes, and Session 2's convolution does better. The first predictions
//!    against the true morphologies, and the confusion matrix → `confusion_matrix.png`.
//!
//! The data is `Galaxy10.h5` (200 MB), downloaded into the cache the first time, or given
//! with `--data PATH`. Run it with `cargo run --release --example session1_galaxy10_mlp`.
// `run` returns common::ExampleError, which holds a DataError: large, and made at most once.
#![allow(clippy::result_large_err)]

mod common;

use std::process::ExitCode;

use astrograd::data::arrays::to_grey_channel_mean;
use astrograd::data::galaxy10::CLASS_NAMES;
use astrograd::layers::{Dense, FitOptions, Flatten, Layer, Model, Sequential, TerminateOnNaN};
use astrograd::set_seed;
use astrograd::viz;
use common::{Args, Dataset, Example, ExampleError, Pictures};

const EXAMPLE: Example = Example {
    name: "session1_galaxy10_mlp",
    about: "Session 1 hands-on: Galaxy10 SDSS images made grey by the channel mean, split \
            90/10 (random_state 42), and an MLP (Flatten → Dense(500) → Dense(100) → \
            Dense(10, softmax)) trained with Adam for 10 epochs with validation_split 0.2.",
    epochs: 10,
    batch_size: 32,
    dataset: Dataset::Galaxy10,
};

fn main() -> ExitCode {
    common::main(&EXAMPLE, run)
}

/// `Flatten(height×width) → Dense(500, relu) → Dense(100, relu) → Dense(10, softmax)`.
fn mlp(height: usize, width: usize) -> Result<Model, ExampleError> {
    Ok(Sequential::new(vec![
        Box::new(Flatten::new().with_input_shape(&[height, width])),
        Box::new(Dense::new(500).activation("relu")),
        Box::new(Dense::new(100).activation("relu")),
        Box::new(Dense::new(10).activation("softmax")),
    ])?)
}

fn run(args: &Args, pictures: &mut Pictures) -> Result<(), ExampleError> {
    if args.summary {
        let [height, width, _] = common::GALAXY10_SDSS_SHAPE;
        return common::print_summaries(&[&mlp(height, width)?]);
    }
    set_seed(u64::from(args.seed));

    println!("== 1. Preparing the data\n");
    let (images, labels) = common::load_galaxy10(&EXAMPLE, args)?;
    // images: (N, 69, 69, 3) → grey: (N, 69, 69)
    let grey = to_grey_channel_mean(&images)?;
    drop(images); // 1.2 GB as f32 for the real file
    let ((x_train, y_train), (x_test, y_test)) = common::split_galaxy10(&grey, &labels, args.seed)?;
    println!(
        "grey images {:?} (the mean of the 3 channels); train {:?}, test {:?}; pixels / 255",
        grey.shape(),
        x_train.shape(),
        x_test.shape()
    );
    let [height, width] = [grey.shape()[1], grey.shape()[2]];
    drop(grey);
    // image_grid wants a channel axis: (16, 69, 69) → (16, 69, 69, 1).
    let n_grid = x_train.shape()[0].min(16);
    let grid_images = x_train
        .slice_axis(0, 0, n_grid)?
        .reshape(&[n_grid, height, width, 1])?;
    let grid = pictures.path("image_grid.png");
    common::save_image_grid(&grid_images, &y_train, &CLASS_NAMES, n_grid, 4, &grid)?;
    println!("the first {n_grid} training galaxies → image_grid.png\n");

    println!("== 2. The model\n");
    let mut model = mlp(height, width)?;
    model.print_summary()?;

    println!("\n== 3. Training\n");
    model.to(args.device)?; // --device gpu: the weights move to the GPU
    model.compile("sparse_categorical_crossentropy", "adam", &["accuracy"])?;
    let history = model.fit(
        &x_train,
        &y_train,
        FitOptions::default()
            .callbacks(common::backup(args, "training")) // --backup DIR: resume a killed run
            .callback(TerminateOnNaN::new()) // stop at the first NaN loss
            .epochs(args.epochs)
            .batch_size(args.batch_size)
            .validation_split(0.2),
    )?;
    common::save_model(args, &model)?; // --save PATH: the trained model, as a .keras or .h5 file
    viz::history_plot(&history, &pictures.path("history.png"))?;

    println!("\n== 4. Testing\n");
    let test = model.evaluate(&x_test, &y_test, args.batch_size)?;
    println!("test loss {:.4}, test accuracy {:.4}", test[0], test[1]);
    let y_proba = model.predict(&x_test, args.batch_size)?;
    common::print_predictions(&y_proba, &y_test, &CLASS_NAMES, 10)?;
    viz::confusion_matrix(
        &common::as_classes(&y_test)?,
        &common::predicted_classes(&y_proba)?,
        &common::names(&CLASS_NAMES),
        &pictures.path("confusion_matrix.png"),
    )?;
    Ok(())
}
