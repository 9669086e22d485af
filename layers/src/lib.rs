//! # astrograd-layers — Keras-style layers and models
//!
//! The layers of the course, the `Sequential` and functional [`Model`], `model.summary()` as
//! TF 2.10 prints it, and the weight initializers. A Keras cell translates almost word for word:
//!
//! ```text
//! model = keras.Sequential([                         let mut model = Sequential::new(vec![
//!     keras.Input(shape=(28, 28, 1)),                    Box::new(Input::new(&[28, 28, 1])),
//!     layers.Conv2D(32, (3, 3), activation="relu"),      Box::new(Conv2D::new(32, (3, 3)).activation("relu")),
//!     layers.MaxPooling2D(),                             Box::new(MaxPooling2D::new()),
//!     layers.Flatten(),                                  Box::new(Flatten::new()),
//!     layers.Dense(10, activation="softmax"),            Box::new(Dense::new(10).activation("softmax")),
//! ])                                                 ])?;
//! model.summary()                                    model.print_summary()?;
//! ```
//!
//! Each layer builds its forward pass from the differentiable ops of
//! [`astrograd_autograd::ops`], so `loss.backward()` reaches every weight. Where to read:
//!
//! | file | what it holds |
//! |---|---|
//! | [`config`] | each layer's options as Keras's config JSON, read back with checks |
//! | [`layer`] | the [`Layer`] trait, [`Weight`], the life of a layer (construct, build, call) |
//! | [`layers`] | one file per layer: [`Dense`], [`Conv2D`], [`BatchNormalization`], … |
//! | [`model`] | [`Model`], [`Sequential`]: forward pass, weights, freezing |
//! | [`functional`] | [`SymbolicTensor`] and the graph walk of the functional API |
//! | [`summary`] | `model.summary()` |
//! | [`initializers`] | [`Initializer`]: glorot, he, lecun, … with Keras's fans |
//! | [`activations`] | [`ActivationFn`] by name, and the logits a final softmax/sigmoid keeps |
//! | [`weights`] | `save_weights` / `load_weights`: safetensors, Keras `.h5`, atomic writes |
//! | [`training`] | `compile`, `fit`, `evaluate`, `predict`, the progress bar, callbacks |
//! | [`applications`] | VGG16, ResNet50, MobileNetV2 with Keras's ImageNet weights; `preprocess_input`, `decode_predictions`, feature extraction |
//!
//! ## The route of an op
//!
//! Every op takes one route, and each crate is one step of it (conv2d as the example):
//!
//! 1. **layers**: a layer (`layers/src/layers/conv2d.rs`) owns the weights and calls the op;
//! 2. **autograd**: `autograd/src/ops/conv2d.rs` holds the math, the forward, one backward function
//!    per input and the tests; it never looks at the device;
//! 3. **tensor::nn**: `tensor/src/nn/conv.rs` checks the shapes once, against the geometry, and
//!    dispatches on the device of the operands, nothing else;
//! 4. **kernels**: `kernels/src/cpu/conv.rs` (the textbook loop, with the fast path behind one hook
//!    in `kernels/src/cpu/fast/`) or `kernels/src/wgpu/conv.rs`; the device-neutral shapes
//!    (`Conv2dGeometry`, `Pool2dGeometry`, `Padding`) live in `kernels/src/geometry.rs`.
//!
//! The light ops (elementwise, reductions, matmul, shape ops) take a `Tensor` method in place
//! of step 3.
//!
//! This crate is step 1: the layers of [`layers`] build their forward from the ops of step 2.
#![warn(missing_docs)]
pub mod activations;
pub mod applications;
pub mod config;
mod device;
mod error;
pub mod functional;
pub mod initializers;
pub mod layer;
pub mod layers;
pub mod model;
pub mod names;
pub mod saving;
pub mod shape;
pub mod summary;
pub mod training;
pub mod weights;

pub use activations::{ActivationFn, Logits, Output};
pub use astrograd_autograd::ops::conv2d::Padding;
pub use error::{LayerError, Result};
pub use functional::SymbolicTensor;
pub use initializers::Initializer;
pub use layer::{Layer, LayerBase, SharedLayer, Weight};
pub use layers::activation::Activation;
pub use layers::add::Add;
pub use layers::batch_normalization::BatchNormalization;
pub use layers::conv2d::Conv2D;
pub use layers::dense::Dense;
pub use layers::depthwise_conv2d::DepthwiseConv2D;
pub use layers::dropout::Dropout;
pub use layers::flatten::Flatten;
pub use layers::global_pooling::{GlobalAveragePooling2D, GlobalMaxPooling2D};
pub use layers::input::{input, Input};
pub use layers::pooling::{AveragePooling2D, MaxPooling2D};
pub use layers::rescaling::Rescaling;
pub use layers::zero_padding2d::{ZeroPadding, ZeroPadding2D};
pub use layers::Size2;
pub use model::{Model, Sequential};
pub use names::reset_names;
pub use saving::load_model;
pub use shape::Shape;
pub use training::{
    classification_report, compute_class_weight, Augmented, BackupAndRestore, Callback,
    ClassWeight, EarlyStopping, EvalOptions, F1Score, FitOptions, History, Loss, Metric,
    ModelCheckpoint, Precision, Recall, ReduceLROnPlateau, ReportOptions, TerminateOnNaN, AUC,
};
pub use weights::{write_atomically, WeightsError};
