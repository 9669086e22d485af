//! # Session 3 — cats vs dogs: overfitting, early stopping, data augmentation and dropout
//!
//! The third lecture trains a CNN on real photographs, sees it overfit, and fights back. What
//! it teaches, and what this example shows:
//!
//! 1. **Images from folders.** `cats_and_dogs_filtered` holds `train/{cats,dogs}` (1000 + 1000
//!    JPEGs of various sizes) and `validation/{cats,dogs}` (500 + 500). Too many photographs to
//!    hold in memory comfortably, so `ImageDataGenerator(rescale=1/255).flow_from_directory`
//!    reads them batch by batch (20 images, resized to 150×150, the folder name as the label:
//!    `class_mode='binary'` gives cats 0, dogs 1). It prints `Found 2000 images belonging to 2
//!    classes.`
//! 2. **The model.** Three `Conv2D(3×3, relu) → MaxPooling2D(2)` blocks with 16, 32 and 64
//!    filters, `Flatten` (18,496 values), `Dense(512, relu)` and `Dense(1, sigmoid)`: 9,494,561
//!    parameters, almost all of them in the first dense layer. Adam(1e-3), binary
//!    cross-entropy, accuracy.
//! 3. **Early stopping.** `EarlyStopping(patience=4, restore_best_weights=True)` watches
//!    `val_loss` and stops 4 epochs after its best, going back to that epoch's weights; up to
//!    15 epochs. The course's run overfits: at epoch 8, accuracy 0.94 on the training pictures
//!    but 0.71 on the validation ones. The two curves part → `history.png`.
//! 4. **What the first layer sees.** `conv1`'s 16 outputs for one dog picture, a 4×4 grid →
//!    `feature_maps_conv1.png` (edges, fur, background: each filter responds to a pattern), and
//!    its 16 filters → `kernels_conv1.png`.
//! 5. **Data augmentation.** Every training picture is randomly rotated (±40°), shifted (±20 %),
//!    sheared, zoomed (±20 %) and flipped each time it is seen, so the network never sees the
//!    same picture twice → `augmented.png` shows one picture and 9 of its variants. The
//!    validation pictures are only rescaled.
//! 6. **Dropout.** The same network written with the functional API, with `Dropout(0.5)` after
//!    `Dense(512)`: half of those units are switched off at random at each step, so no unit can
//!    rely on another. Adam(5e-4), EarlyStopping(patience 4), up to 30 epochs. The course's run
//!    reached val_acc 0.742 at epoch 19, and 0.747 when evaluated on the validation folder; the
//!    curves stay together much longer → `history_augmented.png`.
//!
//! Run it with `cargo run --release --example session3_cats_dogs` (it downloads the 65 MB zip
//! the first time; `-- --data PATH` to use a copy). The arithmetic of one training epoch (2000
//! pictures) is about 6 s on two cores — five times the `cd_cnn` timing in the README's "Speed"
//! section, which trains this model on 400 — and reading, resizing and augmenting the JPEGs and
//! the validation pass come on top. `-- --epochs 2` for a quick look (both trainings).
// `ExampleError` carries a `DataError` by value: large, but only ever returned once, to exit.
#![allow(clippy::result_large_err)]

mod common;

use std::path::PathBuf;
use std::process::ExitCode;

use astrograd::data::image_generator::{
    ClassMode, ColorMode, DirectoryIterator, DirectoryOptions, ImageDataGenerator, Interpolation,
    ShiftRange,
};
use astrograd::data::{cats_and_dogs::CatsAndDogs, image_generator::load_image};
use astrograd::layers::{
    input, Conv2D, Dense, Dropout, EarlyStopping, EvalOptions, FitOptions, Flatten, Layer,
    MaxPooling2D, Model, Sequential, TerminateOnNaN,
};
use astrograd::optim::Adam;
use astrograd::tensor::random::Rng;
use astrograd::viz;
use astrograd::{no_grad, set_seed, Device, Tensor, Var};
use common::images::{
    flag_given, image_to_batch, load_cats_and_dogs, load_picture, print_binary_predictions,
};
use common::{Args, Dataset, Example, ExampleError, Pictures};

const EXAMPLE: Example = Example {
    name: "session3_cats_dogs",
    about: "Session 3 of the course: cats vs dogs read from folders with \
            ImageDataGenerator.flow_from_directory (150×150, batches of 20), a 3-block CNN \
            (9,494,561 parameters) trained with EarlyStopping for up to 15 epochs, the feature \
            maps of its first layer for one dog, its overfitting curves; then data augmentation \
            and Dropout(0.5), up to 30 epochs, evaluated on the validation folder.",
    epochs: 15,
    batch_size: 20,
    dataset: Dataset::CatsAndDogs,
};

/// `target_size=(150, 150)`.
const SIZE: (usize, usize) = (150, 150);
/// The augmented training runs up to 30 epochs in the course (15 for the first model).
const AUGMENTED_EPOCHS: usize = 30;

fn main() -> ExitCode {
    common::main(&EXAMPLE, run)
}

/// The course's first model: three `Conv2D` + `MaxPooling2D` blocks (16, 32, 64 filters),
/// `Flatten`, `Dense(512, relu)`, `Dense(1, sigmoid)`, on 150×150 colour pictures.
fn small_convnet() -> Result<Model, ExampleError> {
    Ok(Sequential::new(vec![
        Box::new(
            Conv2D::new(16, 3)
                .activation("relu")
                .with_input_shape(&[SIZE.0, SIZE.1, 3])
                .with_name("conv1"),
        ),
        Box::new(MaxPooling2D::new()),
        Box::new(Conv2D::new(32, 3).activation("relu")),
        Box::new(MaxPooling2D::new()),
        Box::new(Conv2D::new(64, 3).activation("relu")),
        Box::new(MaxPooling2D::new()),
        Box::new(Flatten::new()),
        Box::new(Dense::new(512).activation("relu")),
        Box::new(Dense::new(1).activation("sigmoid")),
    ])?)
}

fn run(args: &Args, pictures: &mut Pictures) -> Result<(), ExampleError> {
    if args.summary {
        return common::print_summaries(&[&small_convnet()?, &functional_model_with_dropout()?]);
    }
    // tf.keras.utils.set_random_seed(42): initial weights, dropout, shuffling, augmentation.
    set_seed(u64::from(args.seed));
    let batch_size = args.batch_size;
    // `--epochs N` sets both trainings; without it they run the course's 15 and 30.
    let augmented_epochs = if flag_given("--epochs") {
        args.epochs
    } else {
        AUGMENTED_EPOCHS
    };

    println!("== 1. Images from folders\n");
    let data = load_cats_and_dogs(&EXAMPLE, args)?;
    println!("train: {}", data.train_dir.display());
    println!("validation: {}\n", data.validation_dir.display());
    // train_datagen = ImageDataGenerator(rescale=1./255)
    // train_generator = train_datagen.flow_from_directory(train_dir, target_size=(150, 150),
    //                                                     batch_size=20, class_mode='binary')
    let rescale_only = ImageDataGenerator::default().rescale(1.0 / 255.0);
    let folder_options = DirectoryOptions::default()
        .target_size(SIZE.0, SIZE.1)
        .batch_size(batch_size)
        .class_mode(ClassMode::Binary)
        .seed(u64::from(args.seed));
    let mut train = rescale_only.flow_from_directory(&data.train_dir, folder_options.clone())?;
    let mut validation =
        rescale_only.flow_from_directory(&data.validation_dir, folder_options.clone())?;
    let class_names = train.class_names().to_vec();
    println!("classes: {:?}\n", train.class_indices());

    println!("== 2. The model\n");
    let mut model = small_convnet()?;
    model.print_summary()?;
    model.to(args.device)?; // --device gpu: the weights move to the GPU
    model.compile("binary_crossentropy", Adam::new(1e-3), &["acc"])?;

    println!(
        "\n== 3. Training with early stopping (up to {} epochs)\n",
        args.epochs
    );
    let mut early_stopping = EarlyStopping::new()
        .patience(4)
        .restore_best_weights(true)
        .verbose(1);
    let history = model.fit_batches(
        &mut train,
        FitOptions::default()
            .callbacks(common::backup(args, "small_convnet")) // --backup DIR: resume a killed run
            .callback(TerminateOnNaN::new()) // stop at the first NaN loss
            .epochs(args.epochs)
            .validation_batches(&mut validation)
            .callback(&mut early_stopping),
    )?;
    viz::history_plot(&history, &pictures.path("history.png"))?;
    report_gap(&history);

    println!("\n== 4. What the first layer sees\n");
    let dog = first_dog(&data, &validation)?;
    let x = load_picture(&dog, SIZE)?;
    let conv1 = model.layer("conv1")?;
    // visualization_model = Model(inputs=model.inputs, outputs=model.get_layer('conv1').output)
    let on_device = x.to(model.device())?;
    let maps = no_grad(|| conv1.borrow_mut().call(&[Var::constant(on_device)], false))?;
    let maps = maps.value().to(Device::Cpu)?; // pictures are drawn on the host
    println!(
        "{} → conv1 → {:?}: 16 maps of 148×148 (3×3 'valid' convolution of 150×150)",
        dog.display(),
        maps.shape()
    );
    viz::feature_maps(&maps, 4, &pictures.path("feature_maps_conv1.png"))?;
    if let Some(kernel) = conv1.borrow().weights().first() {
        viz::kernels(
            &kernel.var.value().to(Device::Cpu)?,
            &pictures.path("kernels_conv1.png"),
        )?;
    }

    println!("\n== 5. Data augmentation\n");
    // train_datagen = ImageDataGenerator(rescale=1./255, rotation_range=40,
    //     width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2, zoom_range=0.2,
    //     horizontal_flip=True)
    let augmenting = ImageDataGenerator::default()
        .rescale(1.0 / 255.0)
        .rotation_range(40.0)
        .width_shift_range(ShiftRange::Float(0.2))
        .height_shift_range(ShiftRange::Float(0.2))
        .shear_range(0.2)
        .zoom_range(0.2)
        .horizontal_flip(true);
    show_augmentation(&augmenting, &dog, u64::from(args.seed), pictures)?;
    let mut train = augmenting.flow_from_directory(&data.train_dir, folder_options.clone())?;
    let mut validation = rescale_only.flow_from_directory(&data.validation_dir, folder_options)?;

    println!("\n== 6. Dropout, with the functional API\n");
    let mut model = functional_model_with_dropout()?;
    model.print_summary()?;
    model.to(args.device)?; // --device gpu: the weights move to the GPU
    model.compile("binary_crossentropy", Adam::new(5e-4), &["acc"])?;
    let history = model.fit_batches(
        &mut train,
        FitOptions::default()
            .callbacks(common::backup(args, "dropout")) // --backup DIR: resume a killed run
            .callback(TerminateOnNaN::new()) // stop at the first NaN loss
            .epochs(augmented_epochs)
            .validation_batches(&mut validation)
            .callback(EarlyStopping::new().patience(4).verbose(1)),
    )?;
    common::save_model(args, &model)?; // --save PATH: the trained model, as a .keras or .h5 file
    viz::history_plot(&history, &pictures.path("history_augmented.png"))?;
    report_gap(&history);

    println!("\n== 7. Evaluation on the validation folder\n");
    // model.evaluate(validation_generator)
    let logs = model.evaluate_batches_with(&mut validation, EvalOptions::default())?;
    println!(
        "validation loss {:.4}, accuracy {:.4} (the course: 0.7470)",
        logs.get("loss").unwrap_or(f32::NAN),
        logs.get("acc").unwrap_or(f32::NAN)
    );
    validation.on_epoch_start(0);
    let (x, y) = validation.batch(0)?;
    let probabilities = model.predict(&x, EvalOptions::default().verbose(0))?;
    print_binary_predictions(&probabilities, &y, &class_names, 10)?;
    Ok(())
}

/// The course's second model: the first one with `Dropout(0.5)` after `Dense(512)`, written
/// with the functional API (`Input → … → Model(inputs, outputs)`).
fn functional_model_with_dropout() -> Result<Model, ExampleError> {
    let inputs = input(&[SIZE.0, SIZE.1, 3]);
    let x = Conv2D::new(16, 3).activation("relu").apply(&inputs)?;
    let x = MaxPooling2D::new().apply(&x)?;
    let x = Conv2D::new(32, 3).activation("relu").apply(&x)?;
    let x = MaxPooling2D::new().apply(&x)?;
    let x = Conv2D::new(64, 3).activation("relu").apply(&x)?;
    let x = MaxPooling2D::new().apply(&x)?;
    let x = Flatten::new().apply(&x)?;
    let x = Dense::new(512).activation("relu").apply(&x)?;
    let x = Dropout::new(0.5).apply(&x)?;
    let outputs = Dense::new(1).activation("sigmoid").apply(&x)?;
    Ok(Model::new(&inputs, &outputs)?)
}

/// The first dog picture of the validation generator (the course shows one dog): a file it
/// listed as a dog (an image's name, a regular non-empty file) that also decodes, so that a
/// `desktop.ini`, a `.DS_Store` or a damaged picture left in the folder is passed over.
fn first_dog(data: &CatsAndDogs, validation: &DirectoryIterator) -> Result<PathBuf, ExampleError> {
    let dogs = validation.class_indices().get("dogs").copied();
    validation
        .filepaths()
        .into_iter()
        .zip(validation.classes())
        .filter(|&(_, &class)| Some(class) == dogs)
        .map(|(path, _)| path)
        .find(|path| load_image(path, ColorMode::Rgb, SIZE, Interpolation::Nearest).is_ok())
        .ok_or_else(|| ExampleError::BadDataPath {
            path: data.validation_dir.join("dogs"),
            expected: "a folder of dog pictures".into(),
            found: "no picture that decodes".into(),
        })
}

/// Nine random variants of one picture, as the augmenting generator makes them.
fn show_augmentation(
    generator: &ImageDataGenerator,
    picture: &std::path::Path,
    seed: u64,
    pictures: &mut Pictures,
) -> Result<(), ExampleError> {
    let image = load_image(picture, ColorMode::Rgb, SIZE, Interpolation::Nearest)?;
    let mut rng = Rng::new(seed);
    let variants = (0..9)
        .map(|_| image_to_batch(&generator.random_transform(&image, &mut rng)?))
        .collect::<Result<Vec<Tensor>, ExampleError>>()?;
    let variants: Vec<&Tensor> = variants.iter().collect();
    let original = image_to_batch(&image)?;
    let original = original.reshape(&original.shape()[1..])?;
    viz::augmented_grid(
        &original,
        &Tensor::concat(&variants, 0)?,
        &pictures.path("augmented.png"),
    )?;
    println!("one picture and 9 random variants → augmented.png");
    Ok(())
}

/// Training against validation accuracy at the last epoch: the size of the overfitting.
fn report_gap(history: &astrograd::layers::History) {
    let last = |key: &str| {
        history
            .history
            .get(key)
            .and_then(|v| v.last().copied())
            .unwrap_or(f32::NAN)
    };
    println!(
        "\nlast epoch: acc {:.4}, val_acc {:.4}: training ahead of validation by {:.1} points",
        last("acc"),
        last("val_acc"),
        100.0 * (last("acc") - last("val_acc"))
    );
}
