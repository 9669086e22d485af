//! # astrograd-autograd — reverse-mode automatic differentiation
//!
//! Define-by-run, as PyTorch and micrograd: every operation on [`Var`]s computes its value at
//! once and records, in the output `Var`, which op produced it from which inputs and how to
//! send a gradient back to each of them. `loss.backward()` then walks that record from the loss
//! to the leaves in reverse topological order; each op's backward receives `dout = ∂loss/∂out`
//! and returns `∂loss/∂input` for each input, which is **accumulated** (`+=`) into that input's
//! gradient, so a value used twice (`x * x`) gets both contributions.
//!
//! One op per file under [`ops`]: its math in the `//!` header, its forward, one backward
//! function per input, and its tests (a finite-difference [`gradcheck`], property tests over
//! random shapes, and numbers from Keras where Keras has the op).
//!
//! ```
//! use astrograd_autograd::{Tensor, Var};
//! let x = Var::parameter(Tensor::from_vec(vec![3.0], &[1])?);
//! let y = x.mul(&x)?.add(&x)?; // y = x² + x
//! y.backward()?;
//! assert_eq!(x.grad().unwrap().to_vec()?, vec![7.0]); // dy/dx = 2x + 1
//! # Ok::<(), astrograd_autograd::AutogradError>(())
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
//! The light ops (elementwise, reductions, matmul, shape ops) take a `Tensor` method in place
//! of step 3.
//!
//! This crate is step 2: [`ops`], one file per op.
#![warn(missing_docs)]
mod error;
pub mod gradcheck;
pub mod ops;
mod var;

pub use astrograd_tensor::{set_seed, Device, Tensor, TensorError};
pub use error::{AutogradError, Result};
pub use var::{is_grad_enabled, no_grad, Var};
