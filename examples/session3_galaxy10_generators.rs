//! # Session 3 hands-on — Galaxy10 with generators, dropout and early stopping
//!
//! The hands-on of the third session takes Session 2's Galaxy10 CNN, which overfits (training
//! accuracy 0.94, validation 0.71), and applies the lecture's three remedies. What it teaches,
//! and what this example shows:
//!
//! 1. **The data.** Galaxy10 (SDSS): 21,785 colour pictures of galaxies, 69×69×3, in 10
//!    morphological classes. 90 % for training and 10 % for testing, with scikit-learn's
//!    `train_test_split(test_size=0.1, random_state=42)` (astrograd picks the same rows). The
//!    pixels stay 0–255: the generator rescales them.
//! 2. **Generators on arrays.** `ImageDataGenerator(rescale=1/255, horizontal_flip=True,
//!    validation_split=0.2)` and its `flow(train_images, train_labels, subset=…)`: the first
//!    20 % of the training arrays become the validation subset, the rest the training subset
//!    (491 batches of 32 with the real data). Each picture is flipped left–right at random
//!    each time it is seen: a galaxy's class does not depend on its orientation.
//! 3. **Dropout.** Session 2's network, `Conv2D(12, 3×3, relu) → MaxPooling2D(2) → Flatten
//!    (13,068) → Dense(500, relu) → Dense(100, relu) → Dense(10, softmax)`, with
//!    `Dropout(0.35)` after `Flatten`, after `Dense(500)` and after `Dense(100)`: 6,585,946
//!    parameters (dropout has none), printed by `model.summary()`.
//! 4. **Early stopping.** Adam(1e-3), up to 30 epochs, `EarlyStopping(patience=4,
//!    restore_best_weights=True)` on `val_loss`. The course's run stopped after epoch 19 with
//!    accuracy 0.7786 and val_accuracy 0.7320: the two curves stay close → `history.png`.
//! 5. **Testing.** The test pictures go through a generator that only rescales (no flips, no
//!    validation split); the course reached 0.72 test accuracy, against 0.68 without the
//!    remedies. The first predictions against the true classes, and the confusion matrix of the
//!    test set → `confusion_matrix.png`.
//!
//! Run it with `cargo run --release --example session3_galaxy10_generators` (it downloads the
//! 200 MB `Galaxy10.h5` the first time; `-- --data PATH` to use a copy). Besides the common
//! flags, `--patience N` sets early stopping's patience (the course's 4): an exercise of
//! `docs/tutorials/12-overfitting-early-stopping-augmentation.md` runs it with 1 on the 400
//! pictures of `tests/fixtures/galaxy10/galaxy10_sdss_400.h5`.
// `ExampleError` carries a `DataError` by value: large, but only ever returned once, to exit.
#![allow(clippy::result_large_err)]

mod common;

use std::process::ExitCode;

use astrograd::data::galaxy10::CLASS_NAMES;
use astrograd::data::image_generator::{FlowOptions, ImageDataGenerator, Subset};
use astrograd::data::train_test_split;
use astrograd::layers::{
    Conv2D, Dense, Dropout, EarlyStopping, EvalOptions, FitOptions, Flatten, Layer, MaxPooling2D,
    Model, Sequential, TerminateOnNaN,
};
use astrograd::optim::Adam;
use astrograd::set_seed;
use astrograd::viz;
use common::images::predict_batches;
use common::{Args, Dataset, Example, ExampleError, Pictures};

const EXAMPLE: Example = Example {
    name: "session3_galaxy10_generators",
    about: "The hands-on of Session 3: Galaxy10 (SDSS) through \
            ImageDataGenerator(rescale=1/255, horizontal_flip=True, validation_split=0.2).flow, \
            Session 2's CNN with three Dropout(0.35) layers (6,585,946 parameters), Adam(1e-3) \
            and EarlyStopping(patience=4, restore_best_weights=True) for up to 30 epochs, \
            tested through a rescale-only generator.",
    epochs: 30,
    batch_size: 32,
    dataset: Dataset::Galaxy10,
};

/// This example's command line: the common flags and early stopping's patience.
#[derive(clap::Parser, Debug)]
struct Cli {
    #[command(flatten)]
    args: Args,
    /// Epochs without a better val_loss before training stops (EarlyStopping's patience)
    #[arg(long, value_name = "N", default_value_t = 4)]
    patience: usize,
}

impl AsRef<Args> for Cli {
    fn as_ref(&self) -> &Args {
        &self.args
    }
}

fn main() -> ExitCode {
    common::main_with(&EXAMPLE, run)
}

/// Session 2's Galaxy10 CNN with `Dropout(0.35)` after `Flatten`, `Dense(500)` and
/// `Dense(100)`, on pictures of `input_shape` (69, 69, 3).
fn cnn_with_dropout(input_shape: &[usize]) -> Result<Model, ExampleError> {
    Ok(Sequential::new(vec![
        Box::new(
            Conv2D::new(12, 3)
                .activation("relu")
                .with_input_shape(input_shape)
                .with_name("conv_1"),
        ),
        Box::new(
            MaxPooling2D::new()
                .pool_size(2)
                .strides(2)
                .with_name("pool_1"),
        ),
        Box::new(Flatten::new()),
        Box::new(Dropout::new(0.35)),
        Box::new(Dense::new(500).activation("relu").with_name("dense_1")),
        Box::new(Dropout::new(0.35)),
        Box::new(Dense::new(100).activation("relu").with_name("dense_2")),
        Box::new(Dropout::new(0.35)),
        Box::new(
            Dense::new(10)
                .activation("softmax")
                .with_name("output_layer"),
        ),
    ])?)
}

fn run(cli: &Cli, pictures: &mut Pictures) -> Result<(), ExampleError> {
    let args = &cli.args;
    if args.summary {
        return common::print_summaries(&[&cnn_with_dropout(&common::GALAXY10_SDSS_SHAPE)?]);
    }
    // tf.keras.utils.set_random_seed(42): initial weights, dropout, shuffling, flips.
    set_seed(u64::from(args.seed));
    let seed = u64::from(args.seed);

    println!("== 1. The data\n");
    let (images, labels) = common::load_galaxy10(&EXAMPLE, args)?;
    // train_idx, test_idx = train_test_split(np.arange(n), test_size=0.1, random_state=42)
    let (train_rows, test_rows) = train_test_split(labels.shape()[0], 0.1, args.seed)?;
    let (train_images, train_labels) = (
        images.select(0, &train_rows)?,
        labels.select(0, &train_rows)?,
    );
    let (test_images, test_labels) = (images.select(0, &test_rows)?, labels.select(0, &test_rows)?);
    println!(
        "train {:?}, test {:?}; pixels 0–255 (the generators rescale them)\n",
        train_images.shape(),
        test_images.shape()
    );

    println!("== 2. Generators on arrays\n");
    // datagen = ImageDataGenerator(rescale=1./255, horizontal_flip=True, validation_split=0.2)
    let datagen = ImageDataGenerator::default()
        .rescale(1.0 / 255.0)
        .horizontal_flip(true)
        .validation_split(0.2);
    // train_generator = datagen.flow(train_images, train_labels, subset='training')
    let flow = |subset| {
        FlowOptions::default()
            .batch_size(args.batch_size)
            .seed(seed)
            .subset(subset)
    };
    let mut train = datagen.flow(&train_images, Some(&train_labels), flow(Subset::Training))?;
    let mut validation =
        datagen.flow(&train_images, Some(&train_labels), flow(Subset::Validation))?;
    println!(
        "training subset: {} pictures in {} batches; validation subset: {} pictures (the first 20 %)\n",
        train.samples(),
        train.len(),
        validation.samples()
    );

    println!("== 3. The model, with dropout\n");
    let mut model = cnn_with_dropout(&train_images.shape()[1..])?;
    model.print_summary()?;
    model.to(args.device)?; // --device gpu: the weights move to the GPU
    model.compile(
        "sparse_categorical_crossentropy",
        Adam::new(1e-3),
        &["accuracy"],
    )?;

    println!(
        "\n== 4. Training with early stopping (up to {} epochs)\n",
        args.epochs
    );
    // es_callback = EarlyStopping(patience=4, restore_best_weights=True); --patience N
    // history = model.fit(train_generator, validation_data=validation_generator, epochs=30,
    //                     callbacks=[es_callback])
    let history = model.fit_batches(
        &mut train,
        FitOptions::default()
            .callbacks(common::backup(args, "training")) // --backup DIR: resume a killed run
            .callback(TerminateOnNaN::new()) // stop at the first NaN loss
            .epochs(args.epochs)
            .validation_batches(&mut validation)
            .callback(
                EarlyStopping::new()
                    .patience(cli.patience)
                    .restore_best_weights(true)
                    .verbose(1),
            ),
    )?;
    common::save_model(args, &model)?; // --save PATH: the trained model, as a .keras or .h5 file
    viz::history_plot(&history, &pictures.path("history.png"))?;

    println!("\n== 5. Testing\n");
    // test_generator = ImageDataGenerator(rescale=1./255).flow(test_images, test_labels,
    //                                                           shuffle=False)
    let mut test = ImageDataGenerator::default().rescale(1.0 / 255.0).flow(
        &test_images,
        Some(&test_labels),
        FlowOptions::default()
            .batch_size(args.batch_size)
            .shuffle(false),
    )?;
    let logs = model.evaluate_batches_with(&mut test, EvalOptions::default())?;
    println!(
        "test loss {:.4}, test accuracy {:.4} (the course: 0.72)",
        logs.get("loss").unwrap_or(f32::NAN),
        logs.get("accuracy").unwrap_or(f32::NAN)
    );
    let (probabilities, y_test) = predict_batches(&mut model, &mut test)?;
    common::print_predictions(&probabilities, &y_test, &CLASS_NAMES, 8)?;
    viz::confusion_matrix(
        &common::as_classes(&y_test)?,
        &common::predicted_classes(&probabilities)?,
        &common::names(&CLASS_NAMES),
        &pictures.path("confusion_matrix.png"),
    )?;
    Ok(())
}
