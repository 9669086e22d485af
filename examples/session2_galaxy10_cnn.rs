//! # Session 2, hands-on — a CNN classifies galaxies in colour (Galaxy10 SDSS)
//!
//! The hands-on notebook of Session 2 gives Session 1's galaxies to a convolutional network,
//! now in colour: a 3×3 filter sees the three channels of its 3×3 patch at once. What it
//! teaches, and what this example shows:
//!
//! 1. **The data, in colour.** Galaxy10 SDSS, (N, 69, 69, 3); 10 % held out for testing with
//!    `train_test_split(test_size=0.1, random_state=42)` (scikit-learn's rows); pixels / 255.
//!    The first 16 training galaxies with their morphology → `image_grid.png`.
//! 2. **The model.** `Conv2D(12, 3×3, relu) → MaxPooling2D(2×2) → Flatten (33·33·12 =
//!    13,068) → Dense(500, relu) → Dense(100, relu) → Dense(10, softmax)`: 6,585,946
//!    parameters, 99 % of them in the Dense layer after Flatten.
//! 3. **Training, and overfitting.** Adam(1e-3), 10 epochs, `validation_split=0.2` (491 steps
//!    of 32). The course reached accuracy 0.9362 but val_accuracy only 0.7063 at epoch 10: the
//!    model learns the training galaxies by heart. The two curves part in `history.png`;
//!    Session 3 answers with augmentation and Dropout.
//! 4. **Testing.** The course printed a test accuracy of 0.68; the first predictions against
//!    the true morphologies, and the confusion matrix → `confusion_matrix.png`.
//! 5. **What the first convolution learned.** Its 12 colour filters → `kernels.png`, and the
//!    12 feature maps of one test galaxy (67×67 each) → `feature_maps.png`.
//!
//! The data is `Galaxy10.h5` (200 MB), downloaded into the cache the first time, or given
//! with `--data PATH`. Run it with `cargo run --release --example session2_galaxy10_cnn`.
// `run` returns common::ExampleError, which holds a DataError: large, and made at most once.
#![allow(clippy::result_large_err)]

mod common;

use std::process::ExitCode;

use astrograd::data::galaxy10::CLASS_NAMES;
use astrograd::layers::{
    Conv2D, Dense, FitOptions, Flatten, Layer, MaxPooling2D, Model, Sequential, TerminateOnNaN,
};
use astrograd::optim::Adam;
use astrograd::set_seed;
use astrograd::viz;
use common::{Args, Dataset, Example, ExampleError, Pictures};

const EXAMPLE: Example = Example {
    name: "session2_galaxy10_cnn",
    about: "Session 2 hands-on: Galaxy10 SDSS in colour, split 90/10 (random_state 42), and a \
            CNN (Conv2D(12, 3×3) → MaxPooling2D → Flatten → Dense(500) → Dense(100) → \
            Dense(10, softmax)) trained with Adam(1e-3) for 10 epochs with validation_split \
            0.2; it overfits, as in the course.",
    epochs: 10,
    batch_size: 32,
    dataset: Dataset::Galaxy10,
};

fn main() -> ExitCode {
    common::main(&EXAMPLE, run)
}

/// `Conv2D(12, 3×3, relu) → MaxPooling2D(2) → Flatten → Dense(500, relu) → Dense(100, relu) →
/// Dense(10, softmax)` on pictures of `input_shape` (69, 69, 3).
fn cnn(input_shape: &[usize]) -> Result<Model, ExampleError> {
    Ok(Sequential::new(vec![
        Box::new(
            Conv2D::new(12, 3)
                .activation("relu")
                .with_input_shape(input_shape),
        ),
        Box::new(MaxPooling2D::new()),
        Box::new(Flatten::new()),
        Box::new(Dense::new(500).activation("relu")),
        Box::new(Dense::new(100).activation("relu")),
        Box::new(Dense::new(10).activation("softmax")),
    ])?)
}

fn run(args: &Args, pictures: &mut Pictures) -> Result<(), ExampleError> {
    if args.summary {
        return common::print_summaries(&[&cnn(&common::GALAXY10_SDSS_SHAPE)?]);
    }
    set_seed(u64::from(args.seed));

    println!("== 1. The data, in colour\n");
    let (images, labels) = common::load_galaxy10(&EXAMPLE, args)?;
    let ((x_train, y_train), (x_test, y_test)) =
        common::split_galaxy10(&images, &labels, args.seed)?;
    let input_shape = images.shape()[1..].to_vec(); // (69, 69, 3)
    drop(images); // 1.2 GB as f32 for the real file
    println!(
        "train {:?}, test {:?}; pixels / 255",
        x_train.shape(),
        x_test.shape()
    );
    let grid = pictures.path("image_grid.png");
    common::save_image_grid(&x_train, &y_train, &CLASS_NAMES, 16, 4, &grid)?;
    println!("the first training galaxies → image_grid.png\n");

    println!("== 2. The model\n");
    let mut model = cnn(&input_shape)?;
    model.print_summary()?;

    println!("\n== 3. Training\n");
    model.to(args.device)?; // --device gpu: the weights move to the GPU
    model.compile(
        "sparse_categorical_crossentropy",
        Adam::new(1e-3),
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

    println!("\n== 5. What the first convolution learned\n");
    common::save_conv1_pictures(&model, &x_test.slice_axis(0, 0, 1)?, pictures)?;
    Ok(())
}
