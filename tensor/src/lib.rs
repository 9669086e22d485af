//! # astrograd-tensor — the `Tensor`
//!
//! A [`Tensor`] is a shape plus `f32` numbers stored row-major (C order) on a [`Device`].
//! Images are **NHWC** (channels last), as in Keras:
//!
//! | letter | meaning |
//! |---|---|
//! | N | batch size (number of images) |
//! | H, W | height and width of an image or feature map |
//! | C | channels in (3 for RGB, 1 for grey) |
//! | F | filters = channels out of a convolution |
//! | OH, OW | output height and width |
//! | KH, KW | kernel height and width |
//! | M, K, N | the three sizes of a matrix product `(M, K) · (K, N)` |
//!
//! Everything that can go wrong with user input (shapes that do not fit, an axis out of
//! range, an empty tensor where values are needed) comes back as a [`TensorError`] naming the
//! operation and the shapes. Everything random draws from one seeded generator:
//! [`set_seed`] makes a run reproducible.
//!
//! ```
//! use astrograd_tensor::Tensor;
//! let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
//! let column_sums = x.sum_axes(&[0], false)?;
//! assert_eq!(column_sums.to_vec()?, vec![5.0, 7.0, 9.0]);
//! # Ok::<(), astrograd_tensor::TensorError>(())
//! ```
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
//! The light ops (elementwise, reductions, matmul, shape ops) take a [`Tensor`] method in place
//! of step 3.
//!
//! This crate is step 3: [`nn`] holds the dispatch of the heavy ops, one file per family.
#![warn(missing_docs)]
mod creation;
mod device;
mod display;
mod elementwise;
mod error;
#[cfg(feature = "wgpu")]
pub mod gpu;
mod matmul;
pub mod nn;
pub mod random;
mod reduce;
pub mod shape;
mod shape_ops;
mod tensor;
pub mod threads;

pub use device::Device;
pub use elementwise::{BinaryOp, UnaryOp};
pub use error::{Result, TensorError};
pub use random::set_seed;
pub use tensor::Tensor;
