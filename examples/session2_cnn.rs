//! # Session 2 — a convolutional network looks at the clothes (Fashion-MNIST)
//!
//! The second lecture replaces the first dense layers by a convolution: small filters slid
//! over the image, the same weights at every position, so the network finds a pattern
//! wherever it is and needs far fewer weights per feature. What it teaches, and what this
//! example shows:
//!
//! 1. **An image is a matrix of numbers.** A 4×4 grid of labelled training images →
//!    `image_grid.png`, and one image with the value of each pixel written on it →
//!    `pixel_values.png`.
//! 2. **The model, written twice.** `Conv2D(12, 3×3, relu) → MaxPooling2D(2×2) → Flatten
//!    (13·13·12 = 2028) → Dense(128, relu) → Dense(10, softmax)`: 261,122 parameters. The
//!    lecture writes it with `Sequential([...])` and again with the functional API
//!    (`inputs = Input(...); x = Conv2D(...)(inputs); …; Model(inputs, outputs)`); both
//!    summaries are printed and both counts checked. The Sequential one is trained.
//! 3. **Training.** Adam(1e-3), 8 epochs, `validation_split=0.2` (the last 12,000 training
//!    images; 1500 steps of 32). The course reached accuracy 0.9469 and val_accuracy 0.9140
//!    at epoch 8: better than Session 1's MLP with fewer parameters. → `history.png`.
//! 4. **Testing.** Test accuracy (the course printed 0.91), the first predictions against the
//!    true labels, the confusion matrix → `confusion_matrix.png`.
//! 5. **What the network learned.** The 12 filters of the first convolution, 3×3 each →
//!    `kernels.png`, and what they make of one test image (the 12 feature maps of `conv1`,
//!    26×26 each) → `feature_maps.png`: edges, outlines, dark and light regions.
//!
//! Run it with `cargo run --release --example session2_cnn` (8 epochs; the training pass of one
//! takes about 1.9 s on two cores, the `s2_cnn` timing in the README's "Speed" section, and a
//! validation pass over 12,000 images follows it); `-- --help` lists the flags.
// `run` returns common::ExampleError, which holds a DataError: large, and made at most once.
#![allow(clippy::result_large_err)]

mod common;

use std::process::ExitCode;

use astrograd::data::arrays::scale_255;
use astrograd::data::fashion_mnist::CLASS_NAMES;
use astrograd::layers::summary::thousands;
use astrograd::layers::{
    input, Conv2D, Dense, FitOptions, Flatten, Layer, MaxPooling2D, Model, TerminateOnNaN,
};
use astrograd::layers::{LayerError, Sequential};
use astrograd::optim::Adam;
use astrograd::set_seed;
use astrograd::viz;
use common::{Args, Dataset, Example, ExampleError, Pictures};

const EXAMPLE: Example = Example {
    name: "session2_cnn",
    about: "Session 2 of the course: images as numbers, then a CNN (Conv2D(12, 3×3) → \
            MaxPooling2D → Flatten → Dense(128) → Dense(10, softmax)) written with Sequential \
            and with the functional API, trained with Adam for 8 epochs on Fashion-MNIST, \
            tested, and its first-layer filters and feature maps drawn.",
    epochs: 8,
    batch_size: 32,
    dataset: Dataset::FashionMnist,
};

/// The parameter count both versions of the model must have (the lecture's summary).
const COURSE_PARAMS: usize = 261_122;

fn main() -> ExitCode {
    common::main(&EXAMPLE, run)
}

/// `Conv2D(12, 3×3, relu) → MaxPooling2D(2) → Flatten → Dense(128, relu) → Dense(10,
/// softmax)`, with `Sequential`.
fn sequential_model() -> Result<Model, LayerError> {
    Sequential::new(vec![
        Box::new(
            Conv2D::new(12, 3)
                .activation("relu")
                .with_input_shape(&[28, 28, 1]),
        ),
        Box::new(MaxPooling2D::new()),
        Box::new(Flatten::new()),
        Box::new(Dense::new(128).activation("relu")),
        Box::new(Dense::new(10).activation("softmax")),
    ])
}

fn run(args: &Args, pictures: &mut Pictures) -> Result<(), ExampleError> {
    if args.summary {
        return common::print_summaries(&[&sequential_model()?, &functional_model()?]);
    }
    set_seed(u64::from(args.seed));

    println!("== 1. An image is a matrix of numbers\n");
    let ((x_train, y_train), (x_test, y_test)) = common::load_fashion_mnist(&EXAMPLE, args)?;
    // Conv2D wants a channel axis: (N, 28, 28) → (N, 28, 28, 1); then / 255.
    let x_train = scale_255(&x_train.reshape(&[x_train.shape()[0], 28, 28, 1])?)?;
    let x_test = scale_255(&x_test.reshape(&[x_test.shape()[0], 28, 28, 1])?)?;
    println!("train {:?}, test {:?}", x_train.shape(), x_test.shape());

    let grid = pictures.path("image_grid.png");
    common::save_image_grid(&x_train, &y_train, &CLASS_NAMES, 16, 4, &grid)?;
    viz::pixel_values(
        &x_train.slice_axis(0, 0, 1)?,
        &pictures.path("pixel_values.png"),
    )?;
    println!("the first 16 training images → image_grid.png; the first one's pixels → pixel_values.png\n");

    println!("== 2. The model, with Sequential\n");
    let mut model = sequential_model()?;
    model.print_summary()?;

    println!("\n== 2'. The same model, with the functional API\n");
    let functional = functional_model()?;
    functional.print_summary()?;
    for (api, m) in [("Sequential", &model), ("functional", &functional)] {
        if m.count_params() != COURSE_PARAMS {
            return Err(LayerError::invalid(
                "session2_cnn",
                format!("{COURSE_PARAMS} parameters in the {api} model, as in the lecture"),
                m.count_params().to_string(),
            )
            .into());
        }
    }
    println!(
        "\nboth have {} parameters, as the lecture's summary",
        thousands(COURSE_PARAMS)
    );

    println!("\n== 3. Training (the Sequential model)\n");
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
    println!(
        "the image shown to conv1: test image 0, {}",
        CLASS_NAMES[common::as_classes(&y_test)?[0]]
    );
    common::save_conv1_pictures(&model, &x_test.slice_axis(0, 0, 1)?, pictures)?;
    Ok(())
}

/// The lecture's second version of the model:
///
/// ```python
/// inputs = keras.Input(shape=(28, 28, 1))
/// x = layers.Conv2D(12, (3, 3), activation="relu")(inputs)
/// x = layers.MaxPooling2D((2, 2))(x)
/// x = layers.Flatten()(x)
/// x = layers.Dense(128, activation="relu")(x)
/// outputs = layers.Dense(10, activation="softmax")(x)
/// model = keras.Model(inputs=inputs, outputs=outputs)
/// ```
fn functional_model() -> Result<Model, LayerError> {
    let inputs = input(&[28, 28, 1]);
    let x = Conv2D::new(12, 3).activation("relu").apply(&inputs)?;
    let x = MaxPooling2D::new().apply(&x)?;
    let x = Flatten::new().apply(&x)?;
    let x = Dense::new(128).activation("relu").apply(&x)?;
    let outputs = Dense::new(10).activation("softmax").apply(&x)?;
    Model::new(&inputs, &outputs)
}
