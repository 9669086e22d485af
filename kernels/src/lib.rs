//! # astrograd-kernels — the arithmetic, on plain slices
//!
//! Every hot loop of astrograd lives here, written on `&[f32]` / `&mut [f32]` so that it can be
//! tested and benchmarked alone:
//!
//! - [`geometry`]: the shapes of the windowed ops (convolution, pooling), validated once and
//!   shared by both devices;
//! - [`elementwise`] and [`metrics`]: the named elementwise functions and the kinds of accuracy,
//!   which both devices implement;
//! - [`cpu`]: each file opens with the textbook algorithm, which runs on any CPU, and hands the
//!   work to its fast variant in `cpu/fast/` through one hook that says when it applies
//!   (`ASTROGRAD_KERNELS=portable` turns the hooks off, see [`cpu::fast`]); the naive references
//!   of `cpu/naive.rs` are the oracle the tests compare both paths against;
//! - `wgpu` (feature `wgpu`): the same arithmetic as WGSL compute shaders, each checked against
//!   the CPU kernel.
//!
//! ## Dimension letters (used in every shape comment of this crate)
//!
//! | letter | meaning |
//! |---|---|
//! | N | batch size (number of images) |
//! | H, W | input height and width |
//! | C | input channels |
//! | F | filters, i.e. output channels of a convolution |
//! | M | depth multiplier of a depthwise convolution (output channels C·M) |
//! | OH, OW | output height and width |
//! | KH, KW | kernel (or pooling window) height and width |
//! | K | number of classes, in softmax / cross-entropy |
//!
//! ## Conventions
//!
//! - Images are **NHWC** (channels last, as Keras): element `(n, h, w, c)` of `x` is
//!   `x[((n·H + h)·W + w)·C + c]`.
//! - Convolution kernels are **HWIO** `(KH, KW, C, F)`, so Keras weights load without a transpose.
//! - All data is `f32`; the naive references accumulate in `f64`.
//! - **Every kernel overwrites its output**, on both devices, forward and backward alike: `y`, `dx`,
//!   `dw`, `db`, `dlogits` come out holding exactly the result, whatever they held before (even
//!   NaN). Gradients add up in one place only, `Var::backward` in `autograd/src/var.rs`, so that a
//!   tensor used twice (`x * x`) receives both contributions. Two kinds of kernel make the rule's
//!   exceptions explicit rather than silent: the GEMMs take `β` as an argument, BLAS-style
//!   (`C = A·B + β·C`: `β = 0` overwrites, `β = 1` adds, and the caller says which), and the
//!   optimizer updates (`cpu/optimizer.rs`, `wgpu/optimizer.rs`) update the weights and their
//!   slots in place, which is their job.
//! - Kernels assume validated inputs (slice lengths are only `debug_assert!`ed); validation happens
//!   once, in the geometry constructors ([`geometry::Conv2dGeometry::new`], …), which return
//!   `Result<_, KernelError>`.
//! - Kernels run in parallel with rayon, but their results are **bit-identical whatever the number of
//!   threads**: work is split into tiles that depend only on the shapes, and partial sums are reduced
//!   in tile order.
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
//! This crate is step 4: arithmetic on slices, with no notion of a `Tensor` or a graph.
#![warn(missing_docs)]
pub mod cpu;
pub mod elementwise;
pub mod error;
pub mod geometry;
pub mod metrics;
pub mod test_env;
#[cfg(feature = "wgpu")]
pub mod wgpu;

pub use error::KernelError;

/// Keras's `backend.epsilon()`, `1e-7`: the clip margin of the losses' probability forms
/// (`p ∈ [ε, 1 − ε]`) and the `+ε` inside their logarithms, on both devices. Declared once here;
/// the loss code of `tensor` and `autograd` uses this one.
pub const EPSILON: f32 = 1e-7;
