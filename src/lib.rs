//! # astrograd — a deep-learning engine written from scratch, to learn from
//!
//! astrograd follows the IAA-CSIC school "Basic Neural Networks 2023" (taught in Keras) step
//! by step: tensors, reverse-mode automatic differentiation, layers, optimizers, and the CPU
//! kernels underneath, each written to be read.
//!
//! The crates, from the bottom up:
//!
//! | crate | what it holds |
//! |---|---|
//! | [`kernels`] | the arithmetic on plain slices: GEMM, convolution as im2col + GEMM, pooling, softmax-cross-entropy |
//! | [`tensor`] | [`Tensor`]: shape, f32 storage, seeded randomness, shape ops, elementwise math, reductions, matmul |
//! | [`autograd`] | [`Var`], `backward()`, one differentiable op per file, gradient checking |
//! | [`optim`] | optimizers (SGD, RMSprop, Adam, AdamW, Adagrad) and learning-rate schedules |
//! | [`layers`] | Keras-style layers and models: `summary()`, `compile`, `fit`, callbacks, weight files, whole models in Keras's `.keras` and `.h5` ([`load_model`]) |
//! | [`data`] | datasets (Fashion-MNIST, MNIST), the download cache, splits |
//! | [`distributed`] | the processes of a run: one, or N under `mpirun` (the `mpi` feature); `fit` averages gradients across them |
//! | [`viz`] | the course's pictures as PNG: image grids, training curves, confusion matrix, feature maps |
//!
//! Start with `cargo run --release --example autograd_tour`.
#![warn(missing_docs)]
pub use astrograd_autograd as autograd;
pub use astrograd_data as data;
pub use astrograd_distributed as distributed;
pub use astrograd_kernels as kernels;
pub use astrograd_layers as layers;
pub use astrograd_optim as optim;
pub use astrograd_tensor as tensor;

pub mod block_cache;
pub mod viz;

/// An allocator a training program may install (the library does not): the system's, plus
/// a cache of big freed blocks that the next training step reuses. See [`block_cache`].
pub use block_cache::BlockCache;

pub use astrograd_autograd::{gradcheck, no_grad, ops, AutogradError, Var};
pub use astrograd_layers::load_model;
pub use astrograd_tensor::{set_seed, Device, Tensor, TensorError};

/// The names most programs need: `use astrograd::prelude::*;`.
pub mod prelude {
    pub use astrograd_autograd::{no_grad, AutogradError, Var};
    pub use astrograd_layers::load_model;
    pub use astrograd_tensor::{set_seed, Device, Tensor, TensorError};
}
