//! # Session 3 — transfer learning: a network pretrained on ImageNet, a new head, fine-tuning
//!
//! The course's last topic: instead of learning to see from 2000 photographs, borrow a network
//! that already learned on 1.2 million (ImageNet), and only teach it the new question. What it
//! teaches, and what this example shows:
//!
//! 1. **The pretrained base.** `VGG16` (or `MobileNetV2` with `--base mobilenet_v2`, `ResNet50`
//!    with `--base resnet50`) without its ImageNet classifier (`include_top=False`), with Keras's
//!    ImageNet weights (`weights='imagenet'`: downloaded once, 59 MB for VGG16, 9 MB for
//!    MobileNetV2, 94 MB for ResNet50; or
//!    `--weights PATH` to a copy of Keras's file). Its summary: 14,714,688 parameters for VGG16,
//!    a 150×150 picture becomes 4×4×512 features.
//! 2. **Freezing.** `base.trainable = False`: all its parameters become non-trainable (the
//!    summary says so) and training leaves them alone.
//! 3. **Feature extraction.** A frozen base computes the same features for a picture at every
//!    epoch, so without augmentation they are computed once (`preprocess_input`, then the base
//!    over the training and validation pictures) and a small new head learns on them in seconds:
//!    `Flatten` (VGG16) or `GlobalAveragePooling2D` (MobileNetV2, ResNet50) → `Dense(256, relu)` →
//!    `Dropout(0.5)` → `Dense(1, sigmoid)` (Galaxy10: `Dense(10, softmax)`). Adam(1e-4).
//!    With `--augment` the pictures are flipped, shifted and zoomed instead, and every epoch runs
//!    the frozen base on them (slower: that is why feature extraction exists).
//! 4. **Fine-tuning.** The base is unfrozen except its first layers (VGG16: everything before
//!    `block5_conv1`; MobileNetV2: its first 100 layers, as the TF tutorial does; ResNet50:
//!    everything before its last stage, `conv5_block1_1_conv`), the model is
//!    **compiled again** (Keras takes the trainable weights at compile time) with RMSprop(1e-5),
//!    a learning rate small enough not to wreck what ImageNet taught, and training continues
//!    from `initial_epoch`. MobileNetV2's and ResNet50's BatchNormalization layers stay in inference mode
//!    (`base(x, training=False)`).
//! 5. **The curves** of both phases on one plot, with a dashed line where fine-tuning starts →
//!    `history.png`; then the validation accuracy.
//!
//! Run it with `cargo run --release --example session3_transfer_learning` (cats vs dogs at
//! 150×150; `-- --dataset galaxy10` for Galaxy10 at 69×69). Flags besides the usual ones:
//! `--base vgg16|mobilenet_v2|resnet50`, `--weights imagenet|none|PATH`, `--dataset cats_dogs|galaxy10`,
//! `--image-size N` (cats vs dogs), `--fine-tune-epochs N` (default 10), `--fine-tune-at LAYER`
//! (the first layer of the base to unfreeze), `--augment`; `--summary` prints the three
//! summaries (the base, the head, the whole model ready to fine-tune) with random weights and
//! stops, without data or downloads. Without
//! internet, `--weights none` runs the same recipe from random weights (it learns little, but it
//! runs). Fine-tuning is the slow part: each epoch runs VGG16 over 3000 pictures at 150×150
//! (about 13 GFLOP each) and back through `block5`, about 44 TFLOP in all — at least 2½ minutes
//! an epoch on two cores even at the 269 GFLOP/s of the README's GEMM benchmark.
// `ExampleError` carries a `DataError` by value: large, but only ever returned once, to exit.
#![allow(clippy::result_large_err)]

mod common;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use astrograd::data::cats_and_dogs::CatsAndDogs;
use astrograd::data::image_generator::{
    ClassMode, DirectoryIterator, DirectoryOptions, ImageDataGenerator, ShiftRange,
};
use astrograd::data::train_test_split;
use astrograd::layers::applications::{
    extract_features, extract_features_from, mobilenet_v2, preprocess_input, resnet50, vgg16, Mode,
    Options, Weights,
};
use astrograd::layers::training::BatchSource;
use astrograd::layers::{
    Dense, Dropout, EvalOptions, FitOptions, Flatten, GlobalAveragePooling2D, Input, Layer,
    LayerError, Model, Sequential, SharedLayer, TerminateOnNaN,
};
use astrograd::optim::{Adam, RMSprop};
use astrograd::viz::{self, EpochMarker, HistoryPlotOptions};
use astrograd::{set_seed, Tensor};
use common::images::load_cats_and_dogs;
use common::{Args, Dataset, Example, ExampleError};

const ABOUT: &str =
    "Session 3's transfer learning: a VGG16 (or MobileNetV2, ResNet50) pretrained on \
    ImageNet, without its top and frozen; features extracted once, a new head trained on them \
    (Adam 1e-4); then the top block unfrozen and fine-tuned with RMSprop(1e-5) from \
    initial_epoch; both phases on one plot. With --dataset galaxy10, --data is Galaxy10.h5 (SDSS) \
    or a folder holding it.";

const CATS_DOGS: Example = Example {
    name: "session3_transfer_learning",
    about: ABOUT,
    epochs: 10,
    batch_size: 20,
    dataset: Dataset::CatsAndDogs,
};

const GALAXY10: Example = Example {
    dataset: Dataset::Galaxy10,
    ..CATS_DOGS
};

/// This example's command line: the common flags and its own.
#[derive(clap::Parser, Debug)]
struct Cli {
    #[command(flatten)]
    args: Args,
    #[command(flatten)]
    extra: Extra,
}

/// The flags of this example, on top of the common ones.
#[derive(clap::Args, Clone, Debug, PartialEq)]
struct Extra {
    /// The pretrained base
    #[arg(long, value_enum, value_name = "B", default_value = "vgg16")]
    base: Base,
    /// imagenet (Keras's file, downloaded once), none (random weights), or the PATH of Keras's .h5
    #[arg(long, value_name = "W", default_value = "imagenet", value_parser = weights)]
    weights: Weights,
    /// The pictures to learn
    #[arg(long, value_enum, value_name = "D", default_value = "cats_dogs")]
    dataset: Source,
    /// Cats vs dogs pictures resized to N×N (at least 32)
    #[arg(long, value_name = "N", default_value_t = 150, value_parser = image_size)]
    image_size: usize,
    /// Epochs of fine-tuning
    #[arg(long, value_name = "N", default_value_t = 10)]
    fine_tune_epochs: usize,
    /// Augment the training pictures (no feature extraction then)
    #[arg(long)]
    augment: bool,
    /// The first layer of the base to unfreeze for fine-tuning, and every layer after it
    /// [default: block5_conv1 for VGG16, the 101st layer for MobileNetV2, conv5_block1_1_conv for
    /// ResNet50]
    #[arg(long, value_name = "LAYER")]
    fine_tune_at: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Base {
    Vgg16,
    #[value(name = "mobilenet_v2")]
    MobileNetV2,
    #[value(name = "resnet50")]
    ResNet50,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Source {
    #[value(name = "cats_dogs")]
    CatsDogs,
    Galaxy10,
}

/// `--weights`: `imagenet`, `none` or a path, as Keras's `weights=`.
fn weights(text: &str) -> Result<Weights, String> {
    Ok(Weights::parse(text))
}

/// `--image-size`: VGG16, MobileNetV2 and ResNet50 need pictures of at least 32×32.
fn image_size(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 32 => Ok(n),
        _ => Err("expected a whole number ≥ 32".to_string()),
    }
}

impl Base {
    fn mode(self) -> Mode {
        match self {
            Base::Vgg16 | Base::ResNet50 => Mode::Caffe,
            Base::MobileNetV2 => Mode::Tf,
        }
    }
}

fn main() -> ExitCode {
    let world = common::start();
    let Cli { args, extra } = match common::parse::<Cli>(&CATS_DOGS, std::env::args().skip(1)) {
        Ok(cli) => cli,
        Err(e) => return common::exit_with(e),
    };
    let example = match extra.dataset {
        Source::CatsDogs => &CATS_DOGS,
        Source::Galaxy10 => &GALAXY10,
    };
    if args.summary {
        return match summary(&extra) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("\nerror: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // In a data-parallel run only rank 0 writes.
    if world.rank() == 0 {
        if let Err(e) = viz::ensure_writable_dir(&args.output) {
            eprintln!(
                "error: the output folder {} cannot be written ({e}); choose another with --output DIR",
                args.output.display()
            );
            return common::fail(world);
        }
    }
    let start = Instant::now();
    match run(example, &args, &extra) {
        Ok(pictures) => {
            println!("\nPictures saved in {}:", args.output.display());
            for path in pictures {
                let name = path.file_name().unwrap_or(path.as_os_str());
                println!("  {}", name.to_string_lossy());
            }
            println!("\n(total {:.1} s)", start.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\nerror: {e}");
            common::fail(world)
        }
    }
}

/// The pictures, as the two phases need them.
enum Data {
    /// Cats vs dogs folders, read by generators (pixels 0–255, not rescaled).
    Folders(CatsAndDogs),
    /// Galaxy10 arrays (pixels 0–255): `((x_train, y_train), (x_test, y_test))`.
    Arrays((Tensor, Tensor), (Tensor, Tensor)),
}

fn run(example: &Example, args: &Args, extra: &Extra) -> Result<Vec<PathBuf>, ExampleError> {
    set_seed(u64::from(args.seed));
    let batch_size = args.batch_size;
    let (data, size, classes) = if extra.dataset == Source::Galaxy10 {
        let (images, labels) = common::load_galaxy10(example, args)?;
        let (train, test) = train_test_split(labels.shape()[0], 0.1, args.seed)?;
        let split = (
            (images.select(0, &train)?, labels.select(0, &train)?),
            (images.select(0, &test)?, labels.select(0, &test)?),
        );
        let size = images.shape()[1];
        (Data::Arrays(split.0, split.1), size, 10)
    } else {
        (
            Data::Folders(load_cats_and_dogs(example, args)?),
            extra.image_size,
            2,
        )
    };

    println!("\n== 1. The pretrained base\n");
    let mut base = pretrained_base(extra.base, &extra.weights, size)?;
    base.to(args.device)?; // --device gpu: VGG16, MobileNetV2 and ResNet50 alike
    base.print_summary()?;
    let feature_shape = feature_shape(&base);

    println!("\n== 2. Freezing the base\n");
    freeze(&mut base);
    // Kept to freeze by index later: Keras's `base.layers[:n]`.
    let base_layers: Vec<SharedLayer> = base.layers().to_vec();

    let mut head = new_head(extra.base, &feature_shape, classes)?;
    head.to(args.device)?;
    head.print_summary()?;
    let loss = if classes == 2 {
        "binary_crossentropy"
    } else {
        "sparse_categorical_crossentropy"
    };
    let mode = extra.base.mode();

    println!("\n== 3. Training the new head ({} epochs)\n", args.epochs);
    let first = if extra.augment {
        None
    } else {
        let started = Instant::now();
        let (train, validation) = features(&mut base, &data, size, batch_size, args.seed, mode)?;
        println!(
            "features of {} training and {} validation pictures: {:?} each, computed once in {:.1} s",
            train.0.shape()[0],
            validation.0.shape()[0],
            feature_shape,
            started.elapsed().as_secs_f64()
        );
        head.compile(loss, Adam::new(1e-4), &["accuracy"])?;
        let history = head.fit(
            &train.0,
            &train.1,
            FitOptions::default()
                .callbacks(common::backup(args, "head")) // --backup DIR: resume a killed run
                .callback(TerminateOnNaN::new()) // stop at the first NaN loss
                .epochs(args.epochs)
                .batch_size(batch_size)
                .validation_data(&validation.0, &validation.1),
        )?;
        Some(history)
    };

    // The whole model: the base, then the head (sharing its trained weights).
    base.set_inference_only(true); // base(x, training=False)
    let base_name = base.name().to_string();
    let mut model = Sequential::new(vec![
        Box::new(Input::new(&[size, size, 3])),
        Box::new(base),
        Box::new(head),
    ])?;
    let history = match first {
        Some(history) => history,
        None => {
            println!("(--augment: the frozen base runs on every augmented batch)");
            model.compile(loss, Adam::new(1e-4), &["accuracy"])?;
            let (mut train, mut validation) =
                generators(&data, size, batch_size, args.seed, true, mode)?;
            model.fit_batches(
                train.as_mut(),
                FitOptions::default()
                    .callbacks(common::backup(args, "new_head")) // --backup DIR: resume a killed run
                    .callback(TerminateOnNaN::new()) // stop at the first NaN loss
                    .epochs(args.epochs)
                    .validation_batches(validation.as_mut()),
            )?
        }
    };

    println!("\n== 4. Fine-tuning the top of the base\n");
    unfreeze_top(&model, &base_name, &base_layers, extra)?;
    println!("the model is compiled again");
    // Keras takes the trainable weights when compiling: compile again after a change.
    model.compile(loss, RMSprop::new(1e-5), &["accuracy"])?;
    model.print_summary()?;
    let initial_epoch = history.epoch.len();
    let (mut train, mut validation) =
        generators(&data, size, batch_size, args.seed, extra.augment, mode)?;
    let fine = model.fit_batches(
        train.as_mut(),
        FitOptions::default()
            .callbacks(common::backup(args, "fine_tuning")) // --backup DIR: resume a killed run
            .callback(TerminateOnNaN::new()) // stop at the first NaN loss
            .epochs(initial_epoch + extra.fine_tune_epochs)
            .initial_epoch(initial_epoch)
            .validation_batches(validation.as_mut()),
    )?;
    common::save_model(args, &model)?; // --save PATH: the fine-tuned model, as a .keras or .h5 file

    println!("\n== 5. Both phases\n");
    let both = viz::join_histories(&[&history, &fine]);
    let plot = args.output.join("history.png");
    viz::history_plot_with(
        &[("", &both)],
        &HistoryPlotOptions {
            title: format!("{base_name}: new head, then fine-tuning"),
            marker: Some(EpochMarker {
                after_epoch: initial_epoch,
                label: "start of fine-tuning".to_string(),
            }),
            validation_only: false,
        },
        &plot,
    )?;
    let logs =
        model.evaluate_batches_with(validation.as_mut(), EvalOptions::default().verbose(0))?;
    println!(
        "validation loss {:.4}, accuracy {:.4} after {} epochs of head and {} of fine-tuning",
        logs.get("loss").unwrap_or(f32::NAN),
        logs.get("accuracy").unwrap_or(f32::NAN),
        initial_epoch,
        extra.fine_tune_epochs
    );
    Ok(vec![plot])
}

/// `--summary`: what a run prints of its models, without data or weights (parameter counts
/// do not depend on either): the base, frozen; the head; the whole model once the top of the
/// base is unfrozen, whose "Trainable params" is what fine-tuning trains.
fn summary(extra: &Extra) -> Result<(), ExampleError> {
    let (size, classes) = match extra.dataset {
        Source::CatsDogs => (extra.image_size, 2),
        Source::Galaxy10 => (common::GALAXY10_SDSS_SHAPE[0], 10),
    };
    let mut base = pretrained_base(extra.base, &Weights::Random, size)?;
    base.print_summary()?;
    println!();
    freeze(&mut base);
    let base_layers: Vec<SharedLayer> = base.layers().to_vec();
    let head = new_head(extra.base, &feature_shape(&base), classes)?;
    println!();
    head.print_summary()?;
    base.set_inference_only(true);
    let base_name = base.name().to_string();
    let model = Sequential::new(vec![
        Box::new(Input::new(&[size, size, 3])),
        Box::new(base),
        Box::new(head),
    ])?;
    println!();
    unfreeze_top(&model, &base_name, &base_layers, extra)?;
    println!();
    model.print_summary()?;
    Ok(())
}

/// `VGG16(include_top=False, weights=…, input_shape=(size, size, 3))`, or MobileNetV2, or
/// ResNet50.
fn pretrained_base(base: Base, weights: &Weights, size: usize) -> Result<Model, ExampleError> {
    let options = Options::new()
        .include_top(false)
        .weights(weights.clone())
        .input_shape(&[size, size, 3]);
    let built = match base {
        Base::Vgg16 => vgg16(&options),
        Base::MobileNetV2 => mobilenet_v2(&options, 1.0),
        Base::ResNet50 => resnet50(&options),
    };
    Ok(built.map_err(LayerError::from)?)
}

/// The shape of one picture's features: the base's output shape without the batch axis
/// (VGG16 at 150×150: `[4, 4, 512]`).
fn feature_shape(base: &Model) -> Vec<usize> {
    base.output_shape()
        .unwrap_or_default()
        .iter()
        .skip(1)
        .map(|d| d.unwrap_or(1))
        .collect()
}

/// `base.trainable = False`, and what it leaves trainable (nothing).
fn freeze(base: &mut Model) {
    base.set_trainable(false);
    println!(
        "{}: {} parameters, {} trainable after base.trainable = False",
        base.name(),
        base.count_params(),
        base.trainable_weights()
            .iter()
            .map(|w| w.numel())
            .sum::<usize>()
    );
}

/// `base.trainable = True; for layer in base.layers[:fine_tune_at]: layer.trainable = False`:
/// the base (inside `model`) unfrozen from `--fine-tune-at` on (VGG16: `block5_conv1`;
/// MobileNetV2: its 101st layer, as the TF tutorial; ResNet50: its last stage).
///
/// # Errors
/// A `--fine-tune-at` that names no layer of the base.
fn unfreeze_top(
    model: &Model,
    base_name: &str,
    base_layers: &[SharedLayer],
    extra: &Extra,
) -> Result<(), ExampleError> {
    model.layer(base_name)?.borrow_mut().set_trainable(true);
    let position = |name: &str| {
        base_layers
            .iter()
            .position(|l| l.name() == name)
            .ok_or_else(|| ExampleError::Usage {
                message: format!("--fine-tune-at {name}: {base_name} has no layer of that name"),
                usage: "Its layers are listed by --summary.".into(),
            })
    };
    let fine_tune_at = match (&extra.fine_tune_at, extra.base) {
        (Some(name), _) => position(name)?,
        (None, Base::Vgg16) => position("block5_conv1")?,
        (None, Base::MobileNetV2) => 100.min(base_layers.len()),
        (None, Base::ResNet50) => position("conv5_block1_1_conv")?,
    };
    for layer in &base_layers[..fine_tune_at] {
        layer.borrow_mut().set_trainable(false);
    }
    println!(
        "layers {fine_tune_at}.. of {base_name} unfrozen ({} from {})",
        base_layers.len() - fine_tune_at,
        base_layers
            .get(fine_tune_at)
            .map_or("-".to_string(), |l| l.name())
    );
    Ok(())
}

/// The new head, on the base's features: `Flatten` (VGG16, as the Keras blog) or
/// `GlobalAveragePooling2D` (MobileNetV2, as the TF tutorial; ResNet50) → `Dense(256, relu)` →
/// `Dropout(0.5)` → `Dense(1, sigmoid)` or `Dense(10, softmax)`.
fn new_head(base: Base, feature_shape: &[usize], classes: usize) -> Result<Model, ExampleError> {
    let reduce: Box<dyn Layer> = match base {
        Base::Vgg16 => Box::new(Flatten::new()),
        Base::MobileNetV2 | Base::ResNet50 => Box::new(GlobalAveragePooling2D::new()),
    };
    let last = if classes == 2 {
        Dense::new(1).activation("sigmoid")
    } else {
        Dense::new(classes).activation("softmax")
    };
    Ok(Sequential::new(vec![
        Box::new(Input::new(feature_shape)),
        reduce,
        Box::new(Dense::new(256).activation("relu")),
        Box::new(Dropout::new(0.5)),
        Box::new(last),
    ])?
    .with_name("head"))
}

/// The training and validation features, each computed once: `(features, labels)`.
#[allow(clippy::type_complexity)]
fn features(
    base: &mut Model,
    data: &Data,
    size: usize,
    batch_size: usize,
    seed: u32,
    mode: Mode,
) -> Result<((Tensor, Tensor), (Tensor, Tensor)), ExampleError> {
    let prepare = |x: &Tensor| preprocess_input(x, mode);
    match data {
        Data::Arrays((x_train, y_train), (x_test, y_test)) => Ok((
            (
                extract_features(base, &prepare(x_train)?, batch_size)?,
                y_train.clone(),
            ),
            (
                extract_features(base, &prepare(x_test)?, batch_size)?,
                y_test.clone(),
            ),
        )),
        Data::Folders(folders) => {
            // In a fixed order: each picture once, its label beside it.
            let options = folder_options(size, batch_size, seed).shuffle(false);
            let plain = ImageDataGenerator::default();
            let mut train = plain.flow_from_directory(&folders.train_dir, options.clone())?;
            let mut validation = plain.flow_from_directory(&folders.validation_dir, options)?;
            Ok((
                extract_features_from(base, &mut train, prepare)?,
                extract_features_from(base, &mut validation, prepare)?,
            ))
        }
    }
}

fn folder_options(size: usize, batch_size: usize, seed: u32) -> DirectoryOptions {
    DirectoryOptions::default()
        .target_size(size, size)
        .batch_size(batch_size)
        .class_mode(ClassMode::Binary)
        .seed(u64::from(seed))
}

/// Batches that go through `preprocess_input` on their way to the model (Keras's
/// `ImageDataGenerator(preprocessing_function=preprocess_input)`).
struct Preprocessed<S> {
    source: S,
    mode: Mode,
}

impl<S: BatchSource> BatchSource for Preprocessed<S> {
    fn len(&self) -> usize {
        self.source.len()
    }

    fn on_epoch_start(&mut self, epoch: usize) {
        self.source.on_epoch_start(epoch);
    }

    fn batch(&mut self, i: usize) -> astrograd::layers::Result<(Tensor, Tensor)> {
        let (x, y) = self.source.batch(i)?;
        Ok((preprocess_input(&x, self.mode)?, y))
    }
}

/// A source of batches for `fit`, whichever generator makes them.
type Batches = Box<dyn BatchSource>;

/// Training and validation batches for `fit`: pictures 0–255 (augmented when asked), then
/// `preprocess_input`.
fn generators(
    data: &Data,
    size: usize,
    batch_size: usize,
    seed: u32,
    augment: bool,
    mode: Mode,
) -> Result<(Batches, Batches), ExampleError> {
    let training = if augment {
        ImageDataGenerator::default()
            .rotation_range(20.0)
            .width_shift_range(ShiftRange::Float(0.1))
            .height_shift_range(ShiftRange::Float(0.1))
            .zoom_range(0.1)
            .horizontal_flip(true)
    } else {
        ImageDataGenerator::default()
    };
    let plain = ImageDataGenerator::default();
    match data {
        Data::Folders(folders) => {
            let options = folder_options(size, batch_size, seed);
            let train: DirectoryIterator =
                training.flow_from_directory(&folders.train_dir, options.clone())?;
            let validation = plain.flow_from_directory(&folders.validation_dir, options)?;
            Ok((
                Box::new(Preprocessed {
                    source: train,
                    mode,
                }),
                Box::new(Preprocessed {
                    source: validation,
                    mode,
                }),
            ))
        }
        Data::Arrays((x_train, y_train), (x_test, y_test)) => {
            use astrograd::data::image_generator::FlowOptions;
            let options = || {
                FlowOptions::default()
                    .batch_size(batch_size)
                    .seed(u64::from(seed))
            };
            let train = training.flow(x_train, Some(y_train), options())?;
            let validation = plain.flow(x_test, Some(y_test), options().shuffle(false))?;
            Ok((
                Box::new(Preprocessed {
                    source: train,
                    mode,
                }),
                Box::new(Preprocessed {
                    source: validation,
                    mode,
                }),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<Cli, clap::Error> {
        common::parse::<Cli>(&CATS_DOGS, argv.iter().map(|s| s.to_string()))
    }

    #[test]
    fn our_flags_parse_beside_the_common_ones() {
        let Cli { args, extra } = parse(&[
            "--epochs",
            "2",
            "--base=mobilenet_v2",
            "--weights",
            "none",
            "--augment",
            "--image-size",
            "64",
            "--data",
            "/d",
        ])
        .unwrap();
        assert_eq!(extra.base, Base::MobileNetV2);
        assert_eq!(extra.weights, Weights::Random);
        assert!(extra.augment);
        assert_eq!(extra.dataset, Source::CatsDogs);
        assert_eq!((extra.image_size, extra.fine_tune_epochs), (64, 10));
        assert_eq!(args.epochs, 2);
        assert_eq!(args.data, Some(PathBuf::from("/d")));
        let galaxy10 = parse(&["--dataset", "galaxy10", "--weights=w.h5"]).unwrap();
        assert_eq!(galaxy10.extra.dataset, Source::Galaxy10);
        assert_eq!(galaxy10.extra.weights, Weights::File(PathBuf::from("w.h5")));
    }

    #[test]
    fn bad_values_name_what_is_accepted() {
        let e = parse(&["--base", "resnet"]).unwrap_err().to_string();
        assert!(e.contains("invalid value 'resnet' for '--base <B>'"), "{e}");
        assert!(
            e.contains("[possible values: vgg16, mobilenet_v2, resnet50]"),
            "{e}"
        );
        assert_eq!(
            parse(&["--base", "resnet50"]).unwrap().extra.base,
            Base::ResNet50
        );
        let e = parse(&["--image-size", "16"]).unwrap_err().to_string();
        assert!(e.contains("expected a whole number ≥ 32"), "{e}");
        let e = parse(&["--weights"]).unwrap_err().to_string();
        assert!(e.contains("a value is required for '--weights <W>'"), "{e}");
        let help = parse(&["--help"]).unwrap_err().to_string();
        assert!(help.contains("--fine-tune-epochs <N>"), "{help}");
        assert!(help.contains("--epochs <N>"), "{help}");
    }
}
