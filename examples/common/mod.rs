//! What the course examples share: the command line, the folder the pictures go to, loading a
//! dataset with one clear message when it is missing, and printing predictions next to the
//! true labels.
//!
//! Every example takes the same flags (after `--`, as in
//! `cargo run --release --example session1_mlp -- --epochs 2`), defined once, in [`Args`], and
//! parsed by clap; `--help` lists them with the example's defaults:
//!
//! | flag | meaning | default |
//! |---|---|---|
//! | `--epochs N` | epochs of training | the course's |
//! | `--data PATH` | a local copy of the dataset (a folder, or the `.h5` file of Galaxy10) | the usual places, then a download |
//! | `--seed S` | `tf.keras.utils.set_random_seed(S)`, and the split's `random_state` | 42 |
//! | `--batch-size B` | samples per batch | the course's (32, or 20 for image folders) |
//! | `--output DIR` | where the pictures are written | `./astrograd-output/NAME/` |
//! | `--device D` | `cpu`, or `gpu` (built with `--features wgpu`) | `cpu` |
//! | `--limit N` | a quick run: the first N training and N test images of Fashion-MNIST, or the first N images of Galaxy10 before its split (not for image folders) | all |
//! | `--summary` | print the model's summary (`model.summary()`) and stop: no data, no training, no pictures | off |
//! | `--help` | what the example does, and these flags | |
//!
//! The output folder is checked *before* the data is loaded or a model trained, so that a
//! folder that cannot be written costs a second, not minutes of training.
// Each example uses only part of this module.
#![allow(dead_code)]
// ExampleError holds a DataError (about 130 bytes); an example returns at most one, once.
#![allow(clippy::result_large_err)]

pub mod images;

/// This program installs astrograd's allocator, which keeps big freed blocks for the next
/// training step (see `astrograd::block_cache`); the library itself leaves the choice to you.
#[global_allocator]
static ALLOCATOR: astrograd::BlockCache = astrograd::BlockCache;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use astrograd::data::{arrays, fashion_mnist, galaxy10, train_test_split, DataError, TrainTest};
use astrograd::layers::{LayerError, Model};
use astrograd::viz::{self, VizError};
use astrograd::{AutogradError, Device, Tensor, TensorError, Var};

/// What an example is: its name (the output folder's), what `--help` says, its defaults.
pub struct Example {
    /// The example's name, as in `cargo run --release --example NAME`.
    pub name: &'static str,
    /// One paragraph for `--help`: the course workload it reproduces.
    pub about: &'static str,
    /// The course's number of epochs.
    pub epochs: usize,
    /// The course's batch size: 32 (Keras's default for `fit` and `flow`), or 20 for
    /// `flow_from_directory` in Session 3.
    pub batch_size: usize,
    /// The dataset, for `--data` and the message when it is missing.
    pub dataset: Dataset,
}

/// The datasets an example can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dataset {
    /// Fashion-MNIST: a folder holding the four `.gz` IDX files.
    FashionMnist,
    /// Galaxy10 SDSS: `Galaxy10.h5`, or a folder holding it.
    Galaxy10,
    /// Galaxy10 DECals: `Galaxy10_DECals.h5`, or a folder of class folders of images.
    Galaxy10Decals,
    /// Cats vs dogs: `cats_and_dogs_filtered.zip` or its extracted folder (`images.rs`).
    CatsAndDogs,
}

impl Dataset {
    /// What `--data` points to, in a few words (for the usage).
    fn short(self) -> &'static str {
        match self {
            Dataset::FashionMnist => "a folder holding the four Fashion-MNIST .gz files",
            Dataset::Galaxy10 => "Galaxy10.h5 (SDSS), or a folder holding it",
            Dataset::Galaxy10Decals => {
                "Galaxy10_DECals.h5, or a folder of class folders of FITS, JPEG or PNG images"
            }
            Dataset::CatsAndDogs => "cats_and_dogs_filtered.zip or its extracted folder",
        }
    }

    /// What `--data` must point to.
    fn expected(self) -> String {
        match self {
            Dataset::FashionMnist => format!(
                "a folder holding the four Fashion-MNIST files ({})",
                fashion_mnist::FILES.map(|f| f.name).join(", ")
            ),
            Dataset::Galaxy10 => format!(
                "the Galaxy10 SDSS file {} (or a folder holding it)",
                galaxy10::SDSS_FILE.name
            ),
            Dataset::Galaxy10Decals => format!(
                "the Galaxy10 DECals file {} (or a folder holding it), or a folder of class \
                 folders of FITS, JPEG or PNG images",
                galaxy10::DECALS_FILE.name
            ),
            Dataset::CatsAndDogs => images::cats_and_dogs_expected(),
        }
    }
}

/// The flags every example takes. A flag that every example should take is one more field
/// here (its `///` line is its `--help` text); an example's own flags go in a
/// `#[derive(clap::Args)]` struct of its own, flattened beside these (as in
/// `session3_transfer_learning`).
#[derive(clap::Args, Clone, Debug, PartialEq)]
pub struct Args {
    /// Epochs of training
    // Its default, the course's, is the example's: see `command`.
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub epochs: usize,
    /// A local copy of the dataset
    // Its help says what the example's dataset must be: see `command`.
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Random seed, as tf.keras.utils.set_random_seed, and the split's random_state
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u32,
    /// Samples per batch
    // Its default, the course's, is the example's: see `command`.
    #[arg(long, value_name = "B", value_parser = at_least_one)]
    pub batch_size: usize,
    /// Where the pictures go
    // Its default, astrograd-output/NAME, is the example's: see `command`.
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// Where the model trains: cpu, or gpu in a build with --features wgpu
    /// (`model.to(args.device)` before `compile`)
    #[arg(long, value_name = "D", default_value = "cpu", value_parser = device_named)]
    pub device: Device,
    /// A quick run: the first N training and N test images of Fashion-MNIST, or the first N
    /// images of Galaxy10 before its split [default: all]
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub limit: Option<usize>,
    /// Save the trained model there: a .keras (Keras 3) or .h5 (Keras 2) file, which
    /// `--example predict`, `astrograd::load_model` and Keras's `load_model` open
    #[arg(long, value_name = "PATH", value_parser = model_file_name)]
    pub save: Option<PathBuf>,
    /// Back the training up in DIR after every epoch; a run that was killed and is started
    /// again with the same command goes on from its last finished epoch (Keras's
    /// BackupAndRestore)
    #[arg(long, value_name = "DIR")]
    pub backup: Option<PathBuf>,
    /// Print the model's summary (model.summary()) and stop, without loading data or training
    /// (the parameter counts that the docs quote are read from this, by
    /// tests/doc_param_counts.rs)
    #[arg(long)]
    pub summary: bool,
}

impl AsRef<Args> for Args {
    fn as_ref(&self) -> &Args {
        self
    }
}

/// The command line of an example that takes the common flags only.
#[derive(clap::Parser, Debug)]
pub struct Flags {
    #[command(flatten)]
    pub args: Args,
}

impl AsRef<Args> for Flags {
    fn as_ref(&self) -> &Args {
        &self.args
    }
}

/// A whole number ≥ 1 (epochs, a batch size, a number of samples), for clap.
pub fn at_least_one(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected a whole number ≥ 1".to_string()),
    }
}

/// A file name whose extension names a model format (`.keras`, `.h5`, `.hdf5`), for clap: a
/// wrong name fails before training, not after.
pub fn model_file_name(value: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(value);
    match astrograd::layers::saving::ModelFormat::of(&path) {
        Some(_) => Ok(path),
        None => Err("expected a file name ending in .keras, .h5 or .hdf5".to_string()),
    }
}

/// `--save PATH`: writes the trained model (architecture, weights, compile settings and
/// optimizer state) and says where; nothing without the flag.
///
/// # Errors
/// The model's save error (an unwritable folder).
pub fn save_model(args: &Args, model: &astrograd::layers::Model) -> Result<(), ExampleError> {
    if let Some(path) = &args.save {
        model.save(path)?;
        println!(
            "\nModel saved to {} (open it with --example predict -- --model {})",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// `--backup DIR`: a `BackupAndRestore` callback backing up the training `phase` (an example
/// that trains twice backs each phase up in its own folder, `DIR/phase`); none without the
/// flag.
pub fn backup(args: &Args, phase: &str) -> Option<Box<dyn astrograd::layers::Callback>> {
    let dir = args.backup.as_ref()?;
    Some(Box::new(astrograd::layers::BackupAndRestore::new(
        dir.join(phase),
    )))
}

/// `cpu` or `gpu`, for clap.
pub fn device_named(name: &str) -> Result<Device, String> {
    Device::from_name(name).map_err(|e| e.to_string())
}

/// The command line `C` of `example` as clap describes it: the example's name and what it does
/// (for `--help`), and its defaults (the course's epochs and batch size,
/// `astrograd-output/NAME`).
pub fn command<C: clap::CommandFactory>(example: &Example) -> clap::Command {
    let output = Path::new("astrograd-output").join(example.name);
    C::command()
        .name(example.name)
        .about(example.about)
        .override_usage(format!(
            "cargo run --release --example {} -- [FLAGS]",
            example.name
        ))
        .mut_arg("epochs", |arg| {
            arg.default_value(example.epochs.to_string())
                .required(false)
        })
        .mut_arg("batch_size", |arg| {
            arg.default_value(example.batch_size.to_string())
                .required(false)
        })
        .mut_arg("output", |arg| {
            arg.default_value(output.display().to_string())
                .required(false)
        })
        .mut_arg("data", |arg| {
            let help = format!(
                "{} [default: the usual places, then a download]",
                example.dataset.short()
            );
            arg.help(help)
        })
}

/// Parses `argv` (the flags, without the program's name) into `C`.
///
/// # Errors
/// clap's error for an unknown flag, a missing value or a value that does not parse (its
/// message names the flag, and suggests the flag meant); and for `--help`, whose "error" is the
/// help text (`ErrorKind::DisplayHelp`, printed to stdout with exit status 0 by
/// [`exit_with`]).
pub fn parse<C: clap::CommandFactory + clap::FromArgMatches>(
    example: &Example,
    argv: impl IntoIterator<Item = String>,
) -> Result<C, clap::Error> {
    let mut command = command::<C>(example);
    let argv = std::iter::once(example.name.to_string()).chain(argv);
    let matches = command.try_get_matches_from_mut(argv)?;
    C::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
}

/// Prints clap's message (the help to stdout, an error to stderr) and gives its exit status:
/// 0 after `--help`, 2 for a bad command line.
pub fn exit_with(e: clap::Error) -> ExitCode {
    let _ = e.print();
    ExitCode::from(e.exit_code().clamp(0, 255) as u8)
}

/// How to call the example, for a usage error found after parsing.
pub fn usage(example: &Example) -> String {
    let usage = command::<Flags>(example).render_usage();
    format!("{usage}\n\nFor the flags, try '--help'.")
}

/// Everything that can stop an example, each with a message that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ExampleError {
    /// Flags that parse but do not go together (`--limit` with an image folder).
    #[error("{message}\n\n{usage}")]
    Usage { message: String, usage: String },
    /// The dataset is nowhere on this machine and could not be downloaded.
    #[error("{source}\n\nIf you have a copy elsewhere, pass it with --data:\n    cargo run --release --example {example} -- --data PATH\n  where PATH is {expected}.")]
    MissingData {
        example: &'static str,
        expected: String,
        source: DataError,
    },
    /// `--data` points to something that is not the dataset.
    #[error("--data {path}: expected {expected}, found {found}")]
    BadDataPath {
        path: PathBuf,
        expected: String,
        found: String,
    },
    /// The output folder cannot be written (checked before training).
    #[error("the output folder {} cannot be written ({detail}); choose another with --output DIR", .dir.display())]
    Output { dir: PathBuf, detail: String },
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error(transparent)]
    Viz(#[from] VizError),
    #[error(transparent)]
    Tensor(#[from] TensorError),
    #[error(transparent)]
    Autograd(#[from] AutogradError),
}

/// The pictures an example saves, collected to be listed at the end.
pub struct Pictures {
    dir: PathBuf,
    saved: Vec<PathBuf>,
}

impl Pictures {
    /// The path of the picture `file_name` in the output folder, remembered for the final list.
    pub fn path(&mut self, file_name: &str) -> PathBuf {
        let path = self.dir.join(file_name);
        self.saved.push(path.clone());
        path
    }

    /// The output folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Runs an example: parses the command line, prints `--help` or checks the output folder,
/// calls `run`, then lists the pictures. An error is printed as one message, and the exit
/// status is 2 for a bad command line, 1 for anything else.
pub fn main(
    example: &Example,
    run: impl FnOnce(&Args, &mut Pictures) -> Result<(), ExampleError>,
) -> ExitCode {
    main_with::<Flags>(example, |flags, pictures| run(&flags.args, pictures))
}

/// [`main`] for an example with flags of its own: `C` flattens [`Args`] beside them (as
/// `session1_mlp`'s `--learning-rate`), and `run` receives all of them.
pub fn main_with<C>(
    example: &Example,
    run: impl FnOnce(&C, &mut Pictures) -> Result<(), ExampleError>,
) -> ExitCode
where
    C: clap::CommandFactory + clap::FromArgMatches + AsRef<Args>,
{
    let world = start();
    let flags = match parse::<C>(example, std::env::args().skip(1)) {
        Ok(flags) => flags,
        Err(e) => return exit_with(e),
    };
    let args: &Args = flags.as_ref();
    // --summary writes nothing, so the folder is not made; in a data-parallel run only rank 0
    // writes.
    if !args.summary && world.rank() == 0 {
        if let Err(e) = viz::ensure_writable_dir(&args.output) {
            let detail = match e {
                VizError::Write { source, .. } => source.to_string(),
                other => other.to_string(),
            };
            let dir = args.output.clone();
            eprintln!("error: {}", ExampleError::Output { dir, detail });
            return fail(world);
        }
    }
    let mut pictures = Pictures {
        dir: args.output.clone(),
        saved: Vec::new(),
    };
    match run(&flags, &mut pictures) {
        Ok(()) => {
            if !pictures.saved.is_empty() {
                println!("\nPictures saved in {}:", pictures.dir.display());
                for path in &pictures.saved {
                    let name = path.file_name().unwrap_or(path.as_os_str());
                    println!("  {}", name.to_string_lossy());
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\nerror: {e}");
            fail(world)
        }
    }
}

/// What every example does first: the main thread runs its share of every parallel kernel
/// instead of sleeping through it (1.2–1.3× on the course models; see tensor/src/threads.rs),
/// and, under `mpirun` (a build with `--features mpi`), where every process runs this same
/// program, only rank 0 prints. Returns the processes.
pub fn start() -> &'static dyn astrograd::distributed::Communicator {
    astrograd::tensor::threads::work_on_this_thread();
    let world = astrograd::distributed::world();
    if world.rank() != 0 {
        quiet_standard_output();
    }
    world
}

/// Exit status 1; in a data-parallel run the whole job ends (MPI_Abort), since the other
/// processes may be waiting for this one in a collective and would wait forever.
pub fn fail(world: &dyn astrograd::distributed::Communicator) -> ExitCode {
    if world.size() > 1 {
        world.abort(1);
    }
    ExitCode::FAILURE
}

/// Sends standard output to `/dev/null`: in a data-parallel run only rank 0 prints (the other
/// ranks compute the same numbers). Errors still go to standard error.
fn quiet_standard_output() {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
            // SAFETY: dup2 on two open descriptors; `null` is closed after, fd 1 stays open.
            unsafe {
                libc::dup2(null.as_raw_fd(), libc::STDOUT_FILENO);
            }
        }
    }
}

/// `--summary`: prints each model's summary, as `model.summary()` does, for an example to
/// return right after (no data is loaded).
///
/// # Errors
/// A model whose summary cannot be computed (a layer that was never built).
pub fn print_summaries(models: &[&Model]) -> Result<(), ExampleError> {
    for (i, model) in models.iter().enumerate() {
        if i > 0 {
            println!();
        }
        model.print_summary()?;
    }
    Ok(())
}

/// Fashion-MNIST as `keras.datasets.fashion_mnist.load_data()`: from `--data` when given
/// (which must then hold the four files), else from the usual places or a download.
///
/// # Errors
/// [`ExampleError::MissingData`] when it is nowhere; [`ExampleError::BadDataPath`] when
/// `--data` is not a folder holding the files; a damaged file's [`DataError`].
pub fn load_fashion_mnist(example: &Example, args: &Args) -> Result<TrainTest, ExampleError> {
    println!("Loading Fashion-MNIST…");
    let loaded = match &args.data {
        Some(dir) => {
            check_fashion_mnist_dir(dir)?;
            fashion_mnist::load_data_from(dir)
        }
        None => fashion_mnist::load_data(),
    };
    let ((x_train, y_train), (x_test, y_test)) = loaded.map_err(|e| missing_data(example, e))?;
    Ok((
        (first(&x_train, args.limit)?, first(&y_train, args.limit)?),
        (first(&x_test, args.limit)?, first(&y_test, args.limit)?),
    ))
}

/// The shape of one Galaxy10 SDSS picture, `(69, 69, 3)`: what `--summary` builds the
/// Galaxy10 models for, since it loads no data (a training run takes the shape from the file).
pub const GALAXY10_SDSS_SHAPE: [usize; 3] = [69, 69, 3];

/// How many of `n` Fashion-MNIST training images the course keeps for validation: 5,000 of the
/// 60,000 (`X_train_full[:5000]`), or the same twelfth of fewer under `--limit`.
pub fn fashion_mnist_validation_size(n: usize) -> usize {
    (n / 12).min(5000)
}

/// The first `limit` samples of `x` (all of them without a limit): `x[:limit]`.
///
/// # Errors
/// A tensor of rank 0.
pub fn first(x: &Tensor, limit: Option<usize>) -> Result<Tensor, ExampleError> {
    match limit {
        Some(n) if n < x.shape().first().copied().unwrap_or(0) => Ok(x.slice_axis(0, 0, n)?),
        _ => Ok(x.clone()),
    }
}

fn check_fashion_mnist_dir(dir: &Path) -> Result<(), ExampleError> {
    let bad = |found: String| ExampleError::BadDataPath {
        path: dir.to_path_buf(),
        expected: Dataset::FashionMnist.expected(),
        found,
    };
    if !dir.is_dir() {
        return Err(bad(if dir.exists() {
            "a file".into()
        } else {
            "nothing at that path".into()
        }));
    }
    let missing: Vec<&str> = fashion_mnist::FILES
        .iter()
        .map(|f| f.name)
        .filter(|name| !dir.join(name).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!("a folder without {}", missing.join(", "))));
    }
    Ok(())
}

/// Galaxy10 SDSS as the course reads it with h5py: `(images, labels)`, images f32
/// `(N, 69, 69, 3)` with values 0–255, labels `(N,)`. From `--data` when given (the file, or
/// a folder holding it), else from the usual places or a download.
///
/// # Errors
/// As [`load_fashion_mnist`]; a file that is not laid out as Galaxy10's says what it expected.
pub fn load_galaxy10(example: &Example, args: &Args) -> Result<(Tensor, Tensor), ExampleError> {
    println!("Loading Galaxy10 (SDSS)…");
    let loaded = match &args.data {
        Some(path) => {
            if !path.exists() {
                return Err(ExampleError::BadDataPath {
                    path: path.clone(),
                    expected: Dataset::Galaxy10.expected(),
                    found: "nothing at that path".into(),
                });
            }
            if path.is_dir() && !path.join(galaxy10::SDSS_FILE.name).is_file() {
                return Err(ExampleError::BadDataPath {
                    path: path.clone(),
                    expected: Dataset::Galaxy10.expected(),
                    found: format!("a folder without {}", galaxy10::SDSS_FILE.name),
                });
            }
            galaxy10::load_data_from(path)
        }
        None => galaxy10::load_data(),
    };
    let (images, labels) = loaded.map_err(|e| missing_data(example, e))?;
    // The split is made from what is kept: `--limit` takes the first N images of the file.
    Ok((first(&images, args.limit)?, first(&labels, args.limit)?))
}

/// A `NotFound` becomes the message with the `--data` flag; other errors stay as they are.
pub fn missing_data(example: &Example, e: DataError) -> ExampleError {
    match e {
        DataError::NotFound { .. } => ExampleError::MissingData {
            example: example.name,
            expected: example.dataset.expected(),
            source: e,
        },
        other => ExampleError::Data(other),
    }
}

/// The course's Galaxy10 split, `train_test_split(images, labels, test_size=0.1,
/// random_state=seed)` (the same rows as scikit-learn), then `/ 255`:
/// `((x_train, y_train), (x_test, y_test))`.
///
/// # Errors
/// A data set too small to split.
pub fn split_galaxy10(
    images: &Tensor,
    labels: &Tensor,
    seed: u32,
) -> Result<TrainTest, ExampleError> {
    let (train, test) = train_test_split(labels.shape()[0], 0.1, seed)?;
    let x_train = arrays::scale_255(&images.select(0, &train)?)?;
    let x_test = arrays::scale_255(&images.select(0, &test)?)?;
    Ok((
        (x_train, labels.select(0, &train)?),
        (x_test, labels.select(0, &test)?),
    ))
}

/// The class of each row of `probabilities` (N, classes): `np.argmax(y_proba, axis=1)`.
///
/// # Errors
/// A tensor that is not (N, classes).
pub fn predicted_classes(probabilities: &Tensor) -> Result<Vec<usize>, ExampleError> {
    as_classes(&probabilities.argmax(1)?)
}

/// Labels stored as f32 (as the loaders give them) to class indices.
///
/// # Errors
/// Labels on the GPU (copy them with `.to(Device::Cpu)` first).
pub fn as_classes(labels: &Tensor) -> Result<Vec<usize>, ExampleError> {
    Ok(labels.as_slice()?.iter().map(|&c| c as usize).collect())
}

/// Prints the first `n` predictions against the true labels, with the probability the model
/// gave to the class it chose, as the course does after `model.predict(X_new)`.
///
/// # Errors
/// A tensor that is not (N, classes).
pub fn print_predictions(
    probabilities: &Tensor,
    y_true: &Tensor,
    class_names: &[&str],
    n: usize,
) -> Result<(), ExampleError> {
    let n = n.min(probabilities.shape()[0]);
    let predicted = predicted_classes(&probabilities.slice_axis(0, 0, n)?)?;
    let truth = as_classes(&y_true.slice_axis(0, 0, n)?)?;
    let classes = probabilities.shape()[1];
    println!("\nThe first {n} test images:");
    println!(
        "  {:>5}  {:<32} {:>11}  true label",
        "image", "predicted", "probability"
    );
    for i in 0..n {
        let p = probabilities.as_slice()?[i * classes + predicted[i]];
        let mark = if predicted[i] == truth[i] {
            "✓"
        } else {
            "✗"
        };
        println!(
            "  {i:>5}  {:<32} {p:>11.2}  {:<32} {mark}",
            class_names[predicted[i]], class_names[truth[i]]
        );
    }
    Ok(())
}

/// The first `n` images of `x` with their class names under them, `cols` to a row (the
/// course's labelled grid).
///
/// # Errors
/// As [`viz::image_grid`].
pub fn save_image_grid(
    x: &Tensor,
    y: &Tensor,
    class_names: &[&str],
    n: usize,
    cols: usize,
    path: &Path,
) -> Result<(), ExampleError> {
    let n = n.min(x.shape()[0]);
    let labels: Vec<String> = as_classes(&y.slice_axis(0, 0, n)?)?
        .into_iter()
        .map(|c| class_names[c].to_string())
        .collect();
    viz::image_grid(&x.slice_axis(0, 0, n)?, &labels, cols, path)?;
    Ok(())
}

/// What the first layer of `model` (a convolution) learned: its kernel (KH, KW, C, F) →
/// `kernels.png`, and its output for `image` (1, H, W, C), one map per filter →
/// `feature_maps.png`. The first layer alone is applied to the image, as Keras's
/// `Model(model.inputs, model.layers[0].output).predict(image)`.
///
/// # Errors
/// A first layer without weights or with an input shape other than the image's.
pub fn save_conv1_pictures(
    model: &Model,
    image: &Tensor,
    pictures: &mut Pictures,
) -> Result<(), ExampleError> {
    let conv1 = model.layers()[0].clone();
    let kernel = match conv1.borrow().weights().first() {
        // Pictures are drawn on the host: a weight on the GPU is copied back.
        Some(w) => w.var.value().to(Device::Cpu)?,
        None => {
            return Err(LayerError::invalid(
                "save_conv1_pictures",
                "a first layer with a kernel (a Conv2D)",
                format!("layer \"{}\" without weights", conv1.name()),
            )
            .into())
        }
    };
    viz::kernels(&kernel, &pictures.path("kernels.png"))?;
    // The device is asked before the layer is borrowed: `model.device()` reads the layers
    // itself, and a layer cannot be read while it is borrowed to run.
    let image = image.to(model.device())?;
    // maps: (1, OH, OW, F)
    let maps = conv1
        .borrow_mut()
        .call(&[Var::constant(image)], false)?
        .value()
        .to(Device::Cpu)?;
    viz::feature_maps(&maps, 4, &pictures.path("feature_maps.png"))?;
    println!(
        "{}: kernel {:?} → kernels.png; its {} feature maps of one image, {}×{} each → feature_maps.png",
        conv1.name(),
        kernel.shape(),
        maps.shape()[3],
        maps.shape()[1],
        maps.shape()[2]
    );
    Ok(())
}

/// The class names as owned strings, as the picture functions take them.
pub fn names(class_names: &[&str]) -> Vec<String> {
    class_names.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    // Run by tests/examples_unit.rs, which compiles an example as a module.
    use super::*;

    const EXAMPLE: Example = Example {
        name: "demo",
        about: "A demo.",
        epochs: 7,
        batch_size: 32,
        dataset: Dataset::FashionMnist,
    };

    fn parse_flags(argv: &[&str]) -> Result<Args, clap::Error> {
        let argv = argv.iter().map(|s| s.to_string());
        parse::<Flags>(&EXAMPLE, argv).map(|flags| flags.args)
    }

    #[test]
    fn defaults_are_the_courses() {
        let args = parse_flags(&[]).unwrap();
        assert_eq!(args.epochs, 7);
        assert_eq!(args.seed, 42);
        assert_eq!(args.batch_size, 32);
        assert_eq!(args.output, Path::new("astrograd-output/demo"));
        let folders = Example {
            batch_size: 20,
            ..EXAMPLE
        };
        let args = parse::<Flags>(&folders, []).unwrap().args;
        assert_eq!(args.batch_size, 20);
        assert_eq!(args.device, Device::Cpu);
        assert_eq!((args.data, args.limit), (None, None));
    }

    #[test]
    fn flags_with_space_or_equals() {
        let args = parse_flags(&[
            "--epochs",
            "2",
            "--seed=7",
            "--data",
            "/d",
            "--output=o",
            "--batch-size",
            "64",
            "--limit",
            "600",
        ])
        .unwrap();
        assert_eq!((args.epochs, args.seed, args.batch_size), (2, 7, 64));
        assert_eq!(args.data.as_deref(), Some(Path::new("/d")));
        assert_eq!(args.output, Path::new("o"));
        assert_eq!(args.limit, Some(600));
    }

    #[test]
    fn help_names_the_example_and_every_flag_with_its_default() {
        let e = parse_flags(&["--epochs", "1", "--help"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp);
        assert_eq!(e.exit_code(), 0);
        let help = e.to_string();
        for needle in [
            "A demo.",
            "cargo run --release --example demo -- [FLAGS]",
            "--epochs <N>",
            "[default: 7]",
            "[default: astrograd-output/demo]",
            "a folder holding the four Fashion-MNIST .gz files",
            "--batch-size <B>",
            "[default: 32]",
            "--device <D>",
            "--limit <N>",
        ] {
            assert!(help.contains(needle), "{needle:?} not in:\n{help}");
        }
    }

    #[test]
    fn bad_flags_are_explained() {
        let e = parse_flags(&["--epoch", "2"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let e = e.to_string();
        assert!(e.contains("unexpected argument '--epoch'"), "{e}");
        assert!(e.contains("a similar argument exists: '--epochs'"), "{e}");
        let e = parse_flags(&["--epochs", "zero"]).unwrap_err().to_string();
        assert!(e.contains("invalid value 'zero' for '--epochs <N>'"), "{e}");
        assert!(e.contains("expected a whole number ≥ 1"), "{e}");
        let e = parse_flags(&["--limit", "0"]).unwrap_err().to_string();
        assert!(e.contains("invalid value '0' for '--limit <N>'"), "{e}");
        let e = parse_flags(&["--seed"]).unwrap_err().to_string();
        assert!(e.contains("a value is required for '--seed <S>'"), "{e}");
        let e = parse_flags(&["--device", "tpu"]).unwrap_err().to_string();
        assert!(
            e.contains("expected \"cpu\" or \"gpu\", found \"tpu\""),
            "{e}"
        );
    }

    #[test]
    fn limit_keeps_the_first_samples_and_a_twelfth_for_validation() {
        let x = Tensor::from_vec((0..10).map(|v| v as f32).collect(), &[10]).unwrap();
        assert_eq!(
            first(&x, Some(3)).unwrap().to_vec().unwrap(),
            vec![0.0, 1.0, 2.0]
        );
        assert_eq!(first(&x, Some(30)).unwrap().shape(), &[10]);
        assert_eq!(first(&x, None).unwrap().shape(), &[10]);
        assert_eq!(fashion_mnist_validation_size(60_000), 5000);
        assert_eq!(fashion_mnist_validation_size(600), 50);
    }

    #[test]
    fn a_data_folder_without_the_files_says_which_are_missing() {
        let dir = std::env::temp_dir();
        let e = check_fashion_mnist_dir(&dir.join("no-such-astrograd-folder"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("found nothing at that path"), "{e}");
        let empty = std::env::temp_dir().join(format!("astrograd-empty-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        let e = check_fashion_mnist_dir(&empty).unwrap_err().to_string();
        std::fs::remove_dir(&empty).unwrap();
        assert!(
            e.contains("a folder without train-images-idx3-ubyte.gz"),
            "{e}"
        );
    }
}
