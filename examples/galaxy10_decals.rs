//! # After the course — Galaxy10 DECals streamed from disk, imbalanced classes, your own FITS
//!
//! The course ends on Galaxy10 SDSS, small enough to load whole. Its successor, Galaxy10 DECals,
//! is 17,736 colour images of 256×256 (2.7 GB on disk, 14 GB as float32), and its largest class
//! is about eight times its smallest. This example trains on it the way a scientist's own survey
//! data has to be trained on:
//!
//! 1. **Streamed, never loaded.** `galaxy10::stream_with` reads the batches chunk by chunk from
//!    `Galaxy10_DECals.h5`, resizing 256 → 128 on the fly; memory stays bounded whatever the
//!    file's size (`docs/streaming.md`). The first 80 % of the file trains, the next 10 %
//!    validates, the last 10 % tests: a split by index, as streams split. The class counts of
//!    each part are printed, and a warning says when a part lacks a class (a file sorted by
//!    class would need another split).
//! 2. **Augmented.** Galaxies have no up or down: each training image is flipped and rotated at
//!    random ([`Augmented`] wraps the stream with an `ImageDataGenerator`).
//! 3. **Balanced class weights.** `compute_class_weight("balanced")`, as scikit-learn computes
//!    it from the training labels, scales each sample's loss, so that the rare classes count as
//!    much as the common ones: `fit(class_weight=…)`.
//! 4. **A CNN at 128×128**: three `Conv2D` + `MaxPooling2D` blocks (16, 32, 64 filters), then
//!    `Flatten → Dropout(0.5) → Dense(128, relu) → Dense(10, softmax)`, Adam(1e-3), early
//!    stopping on `val_loss`.
//! 5. **The metrics astronomers report.** On the test part: scikit-learn's
//!    `classification_report` (precision, recall, F1 and support per class), the confusion
//!    matrix → `confusion_matrix.png`, one-vs-rest ROC curves with their AUC →
//!    `roc_curves.png`, and the 16 test galaxies the network got most wrong (lowest probability
//!    given to their true class) → `worst_classified.png`.
//!
//! **Your own cutouts.** `--data DIR`, where `DIR` holds one folder per class of FITS files
//! (`.fits`, `.fit`, `.fits.gz`, beside JPEG or PNG), trains the same network on them: the
//! images are read by `flow_from_directory`, brought to [0, 1] by an asinh stretch
//! (`docs/fits.md`), flipped at random, and 20 % of each class is held out for validation
//! and testing.
//!
//! Run it with `cargo run --release --example galaxy10_decals` (it downloads the 2.7 GB
//! `Galaxy10_DECals.h5` into the cache the first time, checking its SHA-256; `-- --data PATH`
//! for a copy, or a folder of class folders). `--size N` sets the side the images are resized
//! to (128), `--limit N` keeps the first N images of the file.
// `ExampleError` carries a `DataError` by value: large, but only ever returned once, to exit.
#![allow(clippy::result_large_err)]

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use astrograd::data::galaxy10::{self, Edition};
use astrograd::data::hdf5_stream::{Hdf5Stream, StreamOptions};
use astrograd::data::image_generator::{
    ClassMode, ColorMode, DirectoryIterator, DirectoryOptions, Image, ImageDataGenerator, Subset,
};
use astrograd::data::stretch::Stretch;
use astrograd::layers::training::BatchSource;
use astrograd::layers::{
    classification_report, compute_class_weight, Augmented, Conv2D, Dense, Dropout, EarlyStopping,
    FitOptions, Flatten, Layer, MaxPooling2D, Model, ReportOptions, Sequential, TerminateOnNaN,
};
use astrograd::optim::Adam;
use astrograd::{set_seed, viz, Tensor};
use common::images::predict_batches;
use common::{Args, Dataset, Example, ExampleError, Pictures};

const EXAMPLE: Example = Example {
    name: "galaxy10_decals",
    about: "After the course: Galaxy10 DECals (17,736 images of 256×256×3) streamed from its \
            HDF5 file and resized to 128×128, flipped and rotated at random, a CNN trained with \
            balanced class weights, then scikit-learn's classification report, the confusion \
            matrix, ROC curves and the worst-classified galaxies. --data DIR trains on class \
            folders of FITS files instead.",
    epochs: 15,
    batch_size: 32,
    dataset: Dataset::Galaxy10Decals,
};

/// This example's command line: the common flags and the side of the images.
#[derive(clap::Parser, Debug)]
struct Cli {
    #[command(flatten)]
    args: Args,
    /// The side the images are resized to before the network
    #[arg(long, value_name = "N", default_value_t = 128, value_parser = common::at_least_one)]
    size: usize,
    /// Epochs without a better val_loss before training stops (EarlyStopping's patience)
    #[arg(long, value_name = "N", default_value_t = 3)]
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

/// The CNN: three blocks of `Conv2D(3×3, relu) → MaxPooling2D(2)` with 16, 32 and 64 filters,
/// then `Flatten → Dropout(0.5) → Dense(128, relu) → Dense(classes, softmax)`.
fn cnn(side: usize, classes: usize) -> Result<Model, ExampleError> {
    let block = |filters: usize, name: &str| -> [Box<dyn Layer>; 2] {
        [
            Box::new(
                Conv2D::new(filters, 3)
                    .activation("relu")
                    .with_name(&format!("conv_{name}")),
            ),
            Box::new(MaxPooling2D::new().with_name(&format!("pool_{name}"))),
        ]
    };
    let mut layers: Vec<Box<dyn Layer>> = vec![Box::new(
        Conv2D::new(16, 3)
            .activation("relu")
            .with_input_shape(&[side, side, 3])
            .with_name("conv_1"),
    )];
    layers.push(Box::new(MaxPooling2D::new().with_name("pool_1")));
    layers.extend(block(32, "2"));
    layers.extend(block(64, "3"));
    layers.push(Box::new(Flatten::new()));
    layers.push(Box::new(Dropout::new(0.5)));
    layers.push(Box::new(
        Dense::new(128).activation("relu").with_name("dense"),
    ));
    layers.push(Box::new(
        Dense::new(classes)
            .activation("softmax")
            .with_name("output_layer"),
    ));
    Ok(Sequential::new(layers)?)
}

/// The three parts of the data, whichever the source, with the class names.
struct Parts {
    train: Box<dyn BatchSource>,
    validation: Box<dyn BatchSource>,
    test: Box<dyn BatchSource>,
    /// The class of each training image (for the class weights).
    train_labels: Vec<usize>,
    class_names: Vec<String>,
}

fn run(cli: &Cli, pictures: &mut Pictures) -> Result<(), ExampleError> {
    let args = &cli.args;
    if args.summary {
        return common::print_summaries(&[&cnn(cli.size, galaxy10::NUM_CLASSES)?]);
    }
    // tf.keras.utils.set_random_seed: initial weights, dropout, shuffling, augmentation.
    set_seed(u64::from(args.seed));

    println!("== 1. The data, streamed\n");
    let mut parts = match &args.data {
        Some(dir) if dir.is_dir() && !dir.join(galaxy10::DECALS_FILE.name).is_file() => {
            fits_folders(cli, dir)?
        }
        explicit => {
            let path = galaxy10::locate(&galaxy10::DECALS_FILE, explicit.as_deref())
                .map_err(|e| common::missing_data(&EXAMPLE, e))?;
            decals_streams(cli, &path)?
        }
    };
    let classes = parts.class_names.len();

    println!("\n== 2. Balanced class weights\n");
    // class_weight = compute_class_weight("balanced", classes=np.arange(10), y=train_labels)
    let all_classes: Vec<usize> = (0..classes).collect();
    let weights = compute_class_weight("balanced", &all_classes, &parts.train_labels)?;
    for (k, (name, w)) in parts.class_names.iter().zip(&weights).enumerate() {
        println!("  {k} {name:<40} {w:.3}");
    }
    let class_weight: Vec<f32> = weights.iter().map(|&w| w as f32).collect();

    println!("\n== 3. The model\n");
    let mut model = cnn(cli.size, classes)?;
    model.print_summary()?;
    model.to(args.device)?; // --device gpu: the weights move to the GPU
    model.compile(
        "sparse_categorical_crossentropy",
        Adam::new(1e-3),
        &["accuracy"],
    )?;

    println!("\n== 4. Training, up to {} epochs\n", args.epochs);
    let history = model.fit_batches(
        parts.train.as_mut(),
        FitOptions::default()
            .callbacks(common::backup(args, "training")) // --backup DIR: resume a killed run
            .callback(TerminateOnNaN::new())
            .epochs(args.epochs)
            .class_weight(class_weight)
            .validation_batches(parts.validation.as_mut())
            .callback(
                EarlyStopping::new()
                    .patience(cli.patience)
                    .restore_best_weights(true)
                    .verbose(1),
            ),
    )?;
    common::save_model(args, &model)?; // --save PATH: the trained model, as a .keras or .h5 file
    viz::history_plot(&history, &pictures.path("history.png"))?;

    println!("\n== 5. The test part\n");
    let (probabilities, y_test) = predict_batches(&mut model, parts.test.as_mut())?;
    let y_true = common::as_classes(&y_test)?;
    let y_pred = common::predicted_classes(&probabilities)?;
    let present: Vec<usize> = (0..classes).collect();
    // print(classification_report(y_true, y_pred, labels=range(10), target_names=names))
    let report = classification_report(
        &y_true,
        &y_pred,
        ReportOptions::default()
            .labels(&present)
            .target_names(&parts.class_names),
    )?;
    println!("{report}");
    viz::confusion_matrix(
        &y_true,
        &y_pred,
        &parts.class_names,
        &pictures.path("confusion_matrix.png"),
    )?;
    match viz::roc_curves(
        &y_true,
        &probabilities,
        &parts.class_names,
        &pictures.path("roc_curves.png"),
    ) {
        Ok(aucs) => {
            let shown: Vec<String> = aucs.iter().map(|a| format!("{a:.3}")).collect();
            println!("ROC AUC per class (one vs rest): {}", shown.join(", "));
        }
        // A test part too small to hold both kinds of sample for any class.
        Err(e) => println!("no ROC curves: {e}"),
    }
    save_worst_classified(
        parts.test.as_mut(),
        &probabilities,
        &y_true,
        &parts.class_names,
        args.batch_size,
        &pictures.path("worst_classified.png"),
    )?;
    Ok(())
}

/// `Galaxy10_DECals.h5` (or any file in its layout) as three streams: the first 80 % of the
/// images train (shuffled, augmented), the next 10 % validate, the last 10 % test.
fn decals_streams(cli: &Cli, path: &Path) -> Result<Parts, ExampleError> {
    let args = &cli.args;
    let options = StreamOptions::default()
        .batch_size(args.batch_size)
        .target_size(cli.size, cli.size)
        .seed(u64::from(args.seed));
    // Opened once whole, for its length, its labels and its edition.
    let whole = galaxy10::stream_with(path, options.clone())?;
    let n = args
        .limit
        .map_or(whole.samples(), |l| l.min(whole.samples()));
    let (train_end, validation_end) = (n * 8 / 10, n * 9 / 10);
    if train_end == 0 || validation_end == train_end || n == validation_end {
        return Err(ExampleError::BadDataPath {
            path: path.to_path_buf(),
            expected: "at least 10 images, for the three parts".into(),
            found: format!("{n} images"),
        });
    }
    let [side, _, _] = whole.stored_shape();
    let class_names = common::names(Edition::of_side(side).class_names());
    println!(
        "{}: {} images of {side}×{side}×3, streamed as {}×{} in batches of {}",
        path.display(),
        whole.samples(),
        cli.size,
        cli.size,
        args.batch_size
    );
    let train = galaxy10::stream_with(path, options.clone().range(0..train_end))?;
    let validation = galaxy10::stream_with(
        path,
        options
            .clone()
            .range(train_end..validation_end)
            .shuffle(false),
    )?;
    let test = galaxy10::stream_with(path, options.range(validation_end..n).shuffle(false))?;
    for (part, stream) in [
        ("training", &train),
        ("validation", &validation),
        ("test", &test),
    ] {
        print_class_counts(part, stream, &class_names);
    }
    println!(
        "the training stream holds at most {:.0} MB of images at a time",
        train.memory_bound() as f64 / 1e6
    );
    let train_labels = train.labels().to_vec();
    // Galaxies have no up or down: flips both ways and any rotation.
    let augmentation = ImageDataGenerator::default()
        .horizontal_flip(true)
        .vertical_flip(true)
        .rotation_range(180.0);
    Ok(Parts {
        train: Box::new(Augmented::new(train, augmentation, u64::from(args.seed))),
        validation: Box::new(validation),
        test: Box::new(test),
        train_labels,
        class_names,
    })
}

/// How many images of each class a part holds, and a warning for a class it lacks.
fn print_class_counts(part: &str, stream: &Hdf5Stream, class_names: &[String]) {
    let mut counts = vec![0usize; class_names.len()];
    for &label in stream.labels() {
        if let Some(count) = counts.get_mut(label) {
            *count += 1;
        }
    }
    let shown: Vec<String> = counts.iter().map(usize::to_string).collect();
    println!(
        "{part:<10} images {:?}: per class [{}]",
        stream.range(),
        shown.join(", ")
    );
    let missing: Vec<&str> = counts
        .iter()
        .zip(class_names)
        .filter(|(&count, _)| count == 0)
        .map(|(_, name)| name.as_str())
        .collect();
    if !missing.is_empty() {
        println!(
            "warning: the {part} part has no {}: the file may be ordered by class",
            missing.join(", ")
        );
    }
}

/// A folder of class folders (FITS, JPEG or PNG): `flow_from_directory` with an asinh stretch,
/// 20 % of each class held out (the same 20 % serves for validation and for the test).
fn fits_folders(cli: &Cli, dir: &Path) -> Result<Parts, ExampleError> {
    let args = &cli.args;
    // The values of a FITS file are physical: an asinh stretch brings each image into [0, 1].
    let stretch = Stretch::asinh(0.1)?;
    let generator = ImageDataGenerator::default()
        .validation_split(0.2)
        .preprocessing_function(move |image: &mut Image| stretch.apply(image));
    let flow = |generator: &ImageDataGenerator, subset: Subset, shuffle: bool| {
        generator.flow_from_directory(
            dir,
            DirectoryOptions::default()
                .target_size(cli.size, cli.size)
                .color_mode(ColorMode::Rgb)
                .class_mode(ClassMode::Sparse)
                .batch_size(args.batch_size)
                .shuffle(shuffle)
                .seed(u64::from(args.seed))
                .subset(subset),
        )
    };
    let augmented = generator.clone().horizontal_flip(true).vertical_flip(true);
    let train: DirectoryIterator = flow(&augmented, Subset::Training, true)?;
    let validation = flow(&generator, Subset::Validation, false)?;
    let test = flow(&generator, Subset::Validation, false)?;
    let class_names = train.class_names().to_vec();
    if class_names.len() < 2 {
        return Err(ExampleError::BadDataPath {
            path: PathBuf::from(dir),
            expected: "a folder of at least two class folders of images".into(),
            found: format!("{} class folder(s)", class_names.len()),
        });
    }
    let train_labels = train.classes().to_vec();
    Ok(Parts {
        train: Box::new(train),
        validation: Box::new(validation),
        test: Box::new(test),
        train_labels,
        class_names,
    })
}

/// The 16 test images whose true class got the lowest probability, each captioned with its
/// true and predicted class numbers and the probability of the true class → `path`.
fn save_worst_classified(
    test: &mut dyn BatchSource,
    probabilities: &Tensor,
    y_true: &[usize],
    class_names: &[String],
    batch_size: usize,
    path: &Path,
) -> Result<(), ExampleError> {
    let probabilities = probabilities.to_vec()?;
    let classes = class_names.len();
    let mut order: Vec<usize> = (0..y_true.len()).collect();
    let p_true = |i: usize| probabilities[i * classes + y_true[i]];
    order.sort_by(|&a, &b| p_true(a).total_cmp(&p_true(b)));
    order.truncate(16);
    order.sort_unstable(); // read in file order
                           // The test source is not shuffled: image i is row i % B of batch i / B.
    test.on_epoch_start(0);
    let mut images = Vec::new();
    let mut labels = Vec::new();
    let mut batch: Option<(usize, Tensor)> = None;
    for &i in &order {
        let b = i / batch_size;
        if batch.as_ref().map(|(k, _)| *k) != Some(b) {
            batch = Some((b, test.batch(b)?.0));
        }
        let Some((_, x)) = &batch else { continue };
        images.push(x.slice_axis(0, i % batch_size, i % batch_size + 1)?);
        let row = &probabilities[i * classes..(i + 1) * classes];
        let predicted = (0..classes)
            .max_by(|&a, &c| row[a].total_cmp(&row[c]))
            .unwrap_or(0);
        // The class numbers of the report's rows: true → predicted, and p(true class).
        labels.push(format!(
            "{} → {} (p {:.2})",
            y_true[i],
            predicted,
            p_true(i)
        ));
    }
    if images.is_empty() {
        return Ok(());
    }
    let images: Vec<&Tensor> = images.iter().collect();
    viz::image_grid(&Tensor::concat(&images, 0)?, &labels, 4, path)?;
    Ok(())
}
