//! `keras.applications`: networks pretrained on ImageNet, for transfer learning.
//!
//! Session 3 of the course ends with "transfer learning in a real situation": take a network
//! that learned to see on 1.2 million ImageNet photographs, drop its classifier (the "top"),
//! freeze it, and train a small new head on the course's pictures; then unfreeze its last block
//! and fine-tune with a tiny learning rate. Keras's calls translate word for word:
//!
//! ```text
//! base = VGG16(include_top=False,              let mut base = vgg16(&Options::new()
//!              weights='imagenet',                 .include_top(false)
//!              input_shape=(150, 150, 3))          .weights("imagenet")
//!                                                  .input_shape(&[150, 150, 3]))?;
//! base.trainable = False                       base.set_trainable(false);
//! x = preprocess_input(images)                 let x = preprocess_input(&images, Mode::Caffe)?;
//! features = base.predict(x)                   let features = extract_features(&mut base, &x, 32)?;
//! ```
//!
//! | file | what it holds |
//! |---|---|
//! | [`vgg16`](mod@vgg16) | VGG16: five blocks of 3×3 convolutions and 2×2 max-pooling, 138 M parameters with its top |
//! | [`resnet50`](mod@resnet50) | ResNet50: bottleneck blocks with shortcut connections, BatchNormalization |
//! | [`mobilenet_v2`](mod@mobilenet_v2) | MobileNetV2: inverted residual blocks of depthwise convolutions, `alpha` width |
//! | [`preprocess`] | `preprocess_input`: 'caffe' (BGR, mean subtracted) and 'tf' (to [−1, 1]) |
//! | [`imagenet`] | `decode_predictions`: the 1000 ImageNet classes (Keras's class index, bundled) |
//! | [`weights_file`] | Keras's official `.h5` files: where they are looked for, downloaded and checked (MD5) |
//! | [`relu`] | Keras's `ReLU(max_value=6)` layer, as MobileNetV2 names it |
//!
//! # What each function checks, as Keras does
//! `include_top=true` with ImageNet weights needs a 224×224×3 input; any input must be at least
//! 32×32 (3 channels with ImageNet weights); `classes` must be 1000 with ImageNet weights and the
//! top. The messages are Keras's, word for word. One difference: without `input_shape` and
//! without the top, Keras builds a model for any size (`(None, None, 3)`); astrograd's models
//! have a fixed size, so it builds one for 224×224×3.
//!
//! # Feature extraction
//! A frozen base computes the same features for an image at every epoch. When the images are
//! not augmented, [`extract_features`] runs the base once over the data set and the new head
//! trains on the stored features: the Keras guide's "fast feature extraction", which turns
//! minutes per epoch into seconds.
pub mod imagenet;
pub mod mobilenet_v2;
pub mod preprocess;
pub mod relu;
pub mod resnet50;
pub mod vgg16;
pub mod weights_file;

use std::path::PathBuf;

use astrograd_autograd::{no_grad, Tensor, Var};
use astrograd_data::DataError;

use crate::functional::SymbolicTensor;
use crate::layer::Layer;
use crate::layers::dense::Dense;
use crate::layers::global_pooling::{GlobalAveragePooling2D, GlobalMaxPooling2D};
use crate::model::Model;
use crate::training::BatchSource;
use crate::LayerError;

pub use imagenet::{decode_predictions, imagenet_class, Prediction};
pub use mobilenet_v2::{make_divisible, mobilenet_v2};
pub use preprocess::{preprocess_input, Mode};
pub use relu::ReLU;
pub use resnet50::resnet50;
pub use vgg16::vgg16;
pub use weights_file::WeightsFile;

/// Where the weights of an application come from (Keras's `weights=` argument).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Weights {
    /// `weights='imagenet'`: Keras's official file, from the cache or downloaded once.
    ImageNet,
    /// `weights='path/to/file.h5'`: a Keras weights file for this very architecture, loaded by
    /// layer position as Keras does.
    File(PathBuf),
    /// `weights=None`: random initialisation.
    Random,
}

impl Weights {
    /// `"imagenet"`, `"none"` (Keras's `None`), or the path of a file.
    pub fn parse(text: &str) -> Weights {
        match text {
            "imagenet" => Weights::ImageNet,
            "none" | "None" => Weights::Random,
            path => Weights::File(PathBuf::from(path)),
        }
    }

    /// Keras's spelling, for messages: `imagenet`, `None`, or the path.
    fn keras_repr(&self) -> String {
        match self {
            Weights::ImageNet => "imagenet".to_string(),
            Weights::File(path) => path.display().to_string(),
            Weights::Random => "None".to_string(),
        }
    }
}

impl From<&str> for Weights {
    fn from(text: &str) -> Weights {
        Weights::parse(text)
    }
}

/// What to put after the last feature map when there is no top (Keras's `pooling=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    /// `pooling=None`: the model ends with the last feature map `(N, H, W, C)`.
    None,
    /// `pooling='avg'`: `GlobalAveragePooling2D`, `(N, C)`.
    Avg,
    /// `pooling='max'`: `GlobalMaxPooling2D`, `(N, C)`.
    Max,
}

/// The arguments every application takes, with Keras's defaults (`include_top=True`,
/// `weights='imagenet'`, `input_shape=None`, `pooling=None`, `classes=1000`,
/// `classifier_activation='softmax'`).
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Whether to keep the ImageNet classifier (`fc1`, `fc2`, `predictions` for VGG16).
    pub include_top: bool,
    /// Where the weights come from.
    pub weights: Weights,
    /// `(H, W, C)` of one image; `None` for 224×224×3.
    pub input_shape: Option<Vec<usize>>,
    /// The pooling after the last feature map, without the top.
    pub pooling: Pooling,
    /// The number of classes of the top.
    pub classes: usize,
    /// The activation of the top's last layer.
    pub classifier_activation: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            include_top: true,
            weights: Weights::ImageNet,
            input_shape: None,
            pooling: Pooling::None,
            classes: 1000,
            classifier_activation: "softmax".to_string(),
        }
    }
}

impl Options {
    /// Keras's defaults.
    pub fn new() -> Options {
        Options::default()
    }

    /// `include_top=`.
    pub fn include_top(mut self, include_top: bool) -> Options {
        self.include_top = include_top;
        self
    }

    /// `weights=`: `"imagenet"`, `"none"`, a path, or a [`Weights`].
    pub fn weights(mut self, weights: impl Into<Weights>) -> Options {
        self.weights = weights.into();
        self
    }

    /// `input_shape=(H, W, C)`.
    pub fn input_shape(mut self, shape: &[usize]) -> Options {
        self.input_shape = Some(shape.to_vec());
        self
    }

    /// `pooling=`.
    pub fn pooling(mut self, pooling: Pooling) -> Options {
        self.pooling = pooling;
        self
    }

    /// `classes=`.
    pub fn classes(mut self, classes: usize) -> Options {
        self.classes = classes;
        self
    }

    /// `classifier_activation=` (`"softmax"`, or `"linear"` for logits).
    pub fn classifier_activation(mut self, activation: &str) -> Options {
        self.classifier_activation = activation.to_string();
        self
    }
}

/// What can go wrong while building an application or getting its weights.
#[derive(Debug, thiserror::Error)]
pub enum ApplicationError {
    /// An argument Keras rejects, with Keras's message (`Input size must be at least 32x32;
    /// Received: input_shape=(31, 40, 3)`).
    #[error("{message}")]
    Argument {
        /// Keras's `ValueError` text.
        message: String,
    },
    /// Building the model or loading a weights file failed (a file for another architecture
    /// or input size names the layer and both shapes).
    #[error(transparent)]
    Layer(#[from] LayerError),
    /// The ImageNet weights are not on this machine and could not be downloaded (no internet,
    /// or a download that failed its checksum and was removed).
    #[error(
        "cannot get the ImageNet weights of {model}: {source}\n\
         The file is {url}\n\
         Looked in: {looked}\n\
         Without internet, download it on another machine, then pass its path \
         (weights=Weights::File(path); `--weights PATH` in the examples), or train from \
         random weights (Weights::Random; `--weights none`)."
    )]
    WeightsUnavailable {
        /// The model (`vgg16`).
        model: String,
        /// Where Keras downloads the file from.
        url: String,
        /// The folders searched, comma-separated.
        looked: String,
        /// Why the download failed (boxed: it is large, and rare).
        #[source]
        source: Box<DataError>,
    },
}

impl ApplicationError {
    fn argument(message: impl Into<String>) -> ApplicationError {
        ApplicationError::Argument {
            message: message.into(),
        }
    }
}

/// An application's error as a [`LayerError`], for code that returns those (`?` after
/// `.map_err(LayerError::from)`): the layer error itself, or [`LayerError::Invalid`] with the
/// message.
impl From<ApplicationError> for LayerError {
    fn from(e: ApplicationError) -> LayerError {
        match e {
            ApplicationError::Layer(e) => e,
            ApplicationError::Argument { message } => {
                LayerError::invalid("keras.applications", "arguments Keras accepts", message)
            }
            unavailable @ ApplicationError::WeightsUnavailable { .. } => LayerError::invalid(
                "weights='imagenet'",
                "Keras's weights file, in a cache or downloaded",
                unavailable.to_string(),
            ),
        }
    }
}

/// `Result` with [`ApplicationError`].
pub type Result<T> = std::result::Result<T, ApplicationError>;

/// Python's tuple spelling, as Keras's messages print shapes: `(150, 150, 3)`.
fn python_tuple(shape: &[usize]) -> String {
    let items: Vec<String> = shape.iter().map(usize::to_string).collect();
    if items.len() == 1 {
        format!("({},)", items[0])
    } else {
        format!("({})", items.join(", "))
    }
}

/// Which Keras source file an application comes from: their messages differ in small ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// `vgg16.py`.
    Vgg,
    /// `resnet.py`.
    ResNet,
    /// `mobilenet_v2.py`.
    MobileNetV2,
}

/// The checks every application starts with (Keras's first lines of `VGG16(...)`): a weights
/// file that exists, 1000 classes with ImageNet weights and the top. The messages are those
/// of the Keras file the application comes from.
fn check_weights_and_classes(options: &Options, source: Source) -> Result<()> {
    if let Weights::File(path) = &options.weights {
        if !path.exists() {
            let weights = options.weights.keras_repr();
            let received = match source {
                Source::Vgg => format!("  Received: weights={weights}"),
                Source::ResNet => String::new(),
                Source::MobileNetV2 => format!("  Received `weights={weights}`"),
            };
            return Err(ApplicationError::argument(format!(
                "The `weights` argument should be either `None` (random initialization), \
                 `imagenet` (pre-training on ImageNet), or the path to the weights file to be \
                 loaded.{received}"
            )));
        }
    }
    if options.weights == Weights::ImageNet && options.include_top && options.classes != 1000 {
        let classes = options.classes;
        let received = match source {
            Source::Vgg => format!(".  Received `classes={classes}`"),
            Source::ResNet => String::new(),
            Source::MobileNetV2 => format!(". Received `classes={classes}`"),
        };
        return Err(ApplicationError::argument(format!(
            "If using `weights` as `\"imagenet\"` with `include_top` as true, `classes` should \
             be 1000{received}"
        )));
    }
    Ok(())
}

/// Keras's `imagenet_utils.obtain_input_shape`: the input shape `(H, W, C)` to build for,
/// checked. `default_size` is 224 (MobileNetV2: the input's size when it is one of its
/// trained sizes); `min_size` 32.
fn obtain_input_shape(
    options: &Options,
    default_size: usize,
    min_size: usize,
) -> Result<[usize; 3]> {
    let imagenet = options.weights == Weights::ImageNet;
    let given = options.input_shape.as_deref();
    let channels = match given {
        Some(shape) if !imagenet && shape.len() == 3 => shape[2],
        _ => 3,
    };
    let default_shape = [default_size, default_size, channels];
    if imagenet && options.include_top {
        if let Some(shape) = given {
            if shape != default_shape {
                return Err(ApplicationError::argument(format!(
                    "When setting `include_top=True` and loading `imagenet` weights, \
                     `input_shape` should be {}.  Received: input_shape={}",
                    python_tuple(&default_shape),
                    python_tuple(shape)
                )));
            }
        }
        return Ok(default_shape);
    }
    let Some(shape) = given else {
        return Ok(default_shape);
    };
    if shape.len() != 3 {
        return Err(ApplicationError::argument(
            "`input_shape` must be a tuple of three integers.",
        ));
    }
    if shape[2] != 3 && imagenet {
        return Err(ApplicationError::argument(format!(
            "The input must have 3 channels; Received `input_shape={}`",
            python_tuple(shape)
        )));
    }
    if shape[0] < min_size || shape[1] < min_size {
        return Err(ApplicationError::argument(format!(
            "Input size must be at least {min_size}x{min_size}; Received: input_shape={}",
            python_tuple(shape)
        )));
    }
    Ok([shape[0], shape[1], shape[2]])
}

/// The end of every application: the ImageNet classifier (`top`, built by the caller), or the
/// pooling asked for.
fn pooled(x: SymbolicTensor, pooling: Pooling, names: (&str, &str)) -> Result<SymbolicTensor> {
    Ok(match pooling {
        Pooling::None => x,
        Pooling::Avg => GlobalAveragePooling2D::new()
            .maybe_named(names.0)
            .apply(&x)?,
        Pooling::Max => GlobalMaxPooling2D::new().maybe_named(names.1).apply(&x)?,
    })
}

/// The `predictions` layer: `Dense(classes, activation=classifier_activation)`.
fn predictions(x: &SymbolicTensor, options: &Options) -> Result<SymbolicTensor> {
    Ok(Dense::new(options.classes)
        .activation(&options.classifier_activation)
        .with_name("predictions")
        .apply(x)?)
}

/// Names a layer when `name` is not empty (Keras names some pooling layers, not others).
trait MaybeNamed: Layer + Sized {
    fn maybe_named(self, name: &str) -> Self {
        if name.is_empty() {
            self
        } else {
            self.with_name(name)
        }
    }
}

impl<L: Layer + Sized> MaybeNamed for L {}

/// Loads the weights `options` asks for into a freshly built application.
fn load_weights(
    model: &mut Model,
    options: &Options,
    file: impl FnOnce() -> WeightsFile,
) -> Result<()> {
    match &options.weights {
        Weights::Random => Ok(()),
        Weights::File(path) => Ok(model.load_weights(path)?),
        Weights::ImageNet => {
            let path = file().get()?;
            Ok(model.load_weights(&path)?)
        }
    }
}

/// Fast feature extraction: `base.predict(images)` in inference mode, `batch_size` images at a
/// time, without recording anything for a backward pass. Run a frozen base once over a data set
/// that is not augmented, then train the new head on the features.
///
/// # Shapes
/// `images: (N, H, W, C)` → the base's output for each image, `(N, …)`.
///
/// # Errors
/// [`LayerError::Invalid`] for a batch size of 0; an image shape the base does not take.
pub fn extract_features(
    base: &mut Model,
    images: &Tensor,
    batch_size: usize,
) -> std::result::Result<Tensor, LayerError> {
    if batch_size == 0 {
        return Err(LayerError::invalid(
            "extract_features",
            "a batch size of at least 1",
            "0",
        ));
    }
    let n = images.shape().first().copied().unwrap_or(0);
    let mut features = Vec::new();
    let mut start = 0;
    while start < n {
        let end = (start + batch_size).min(n);
        // Each batch goes to the base's device, and its features come back to the host.
        let batch = images.slice_axis(0, start, end)?.to(base.device())?;
        let out = no_grad(|| base.forward(&Var::constant(batch), false))?.value();
        features.push(out.to(astrograd_autograd::Device::Cpu)?);
        start = end;
    }
    if features.is_empty() {
        return Err(LayerError::invalid(
            "extract_features",
            "at least one image",
            format!("images of shape {:?}", images.shape()),
        ));
    }
    let features: Vec<&Tensor> = features.iter().collect();
    Ok(Tensor::concat(&features, 0)?)
}

/// [`extract_features`] for the batches of a source (an `ImageDataGenerator` iterator made with
/// `shuffle(false)`): every batch goes through `prepare` (e.g. [`preprocess_input`]), then the
/// base. Returns `(features, labels)` concatenated over one pass of the source.
///
/// # Errors
/// The source's, `prepare`'s or the base's errors; an empty source.
pub fn extract_features_from(
    base: &mut Model,
    source: &mut dyn BatchSource,
    prepare: impl Fn(&Tensor) -> std::result::Result<Tensor, LayerError>,
) -> std::result::Result<(Tensor, Tensor), LayerError> {
    source.on_epoch_start(0);
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for i in 0..source.len() {
        let (x, y) = source.batch(i)?;
        let x = prepare(&x)?;
        let batch = x.shape()[0];
        features.push(extract_features(base, &x, batch)?);
        labels.push(y);
    }
    if features.is_empty() {
        return Err(LayerError::invalid(
            "extract_features_from",
            "a source with at least one batch",
            "an empty source",
        ));
    }
    let features: Vec<&Tensor> = features.iter().collect();
    let labels: Vec<&Tensor> = labels.iter().collect();
    Ok((Tensor::concat(&features, 0)?, Tensor::concat(&labels, 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_shapes_are_checked_as_keras_does() {
        let imagenet_top = Options::new();
        assert_eq!(
            obtain_input_shape(&imagenet_top, 224, 32).unwrap(),
            [224, 224, 3]
        );
        let err = obtain_input_shape(&imagenet_top.clone().input_shape(&[150, 150, 3]), 224, 32)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "When setting `include_top=True` and loading `imagenet` weights, `input_shape` \
             should be (224, 224, 3).  Received: input_shape=(150, 150, 3)"
        );
        let no_top = Options::new().include_top(false).weights("none");
        assert_eq!(
            obtain_input_shape(&no_top.clone().input_shape(&[150, 150, 1]), 224, 32).unwrap(),
            [150, 150, 1]
        );
        let err = obtain_input_shape(&no_top.clone().input_shape(&[31, 40, 3]), 224, 32)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "Input size must be at least 32x32; Received: input_shape=(31, 40, 3)"
        );
        let err = obtain_input_shape(&no_top.clone().input_shape(&[64, 64]), 224, 32)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "`input_shape` must be a tuple of three integers.");
        let grey = Options::new().include_top(false).input_shape(&[64, 64, 1]);
        let err = obtain_input_shape(&grey, 224, 32).unwrap_err().to_string();
        assert_eq!(
            err,
            "The input must have 3 channels; Received `input_shape=(64, 64, 1)`"
        );
        // Without the top, random weights and any size from 32 up.
        let top_random = Options::new().weights("none").input_shape(&[32, 48, 3]);
        assert_eq!(
            obtain_input_shape(&top_random, 224, 32).unwrap(),
            [32, 48, 3]
        );
    }

    #[test]
    fn weights_and_classes_are_checked_as_keras_does() {
        let err = check_weights_and_classes(&Options::new().classes(10), Source::Vgg)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "If using `weights` as `\"imagenet\"` with `include_top` as true, `classes` should \
             be 1000.  Received `classes=10`"
        );
        let top_off = Options::new().classes(10).include_top(false);
        assert!(check_weights_and_classes(&top_off, Source::ResNet).is_ok());
        let missing = Options::new().weights("no/such/file.h5");
        let err = check_weights_and_classes(&missing, Source::Vgg)
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("Received: weights=no/such/file.h5"), "{err}");
        assert_eq!(Weights::parse("none"), Weights::Random);
        assert_eq!(Weights::parse("imagenet"), Weights::ImageNet);
        assert_eq!(Weights::parse("w.h5"), Weights::File(PathBuf::from("w.h5")));
        assert_eq!(python_tuple(&[3]), "(3,)");
    }
}
