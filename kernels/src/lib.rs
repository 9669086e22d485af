//! # astrograd-kernels — the arithmetic, on plain slices
//!
//! Every hot loop of astrograd lives here, written on `&[f32]` / `&mut [f32]` so that it can be
//! tested and benchmarked alone. Each fast kernel has a naive reference beside it
//! (`cpu::naive`) and a test that the two agree.
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
//! - Forward kernels **overwrite** their output; backward kernels **accumulate** (`+=`) into the
//!   gradient, so that a tensor used twice receives both contributions.
//! - Kernels assume validated inputs (slice lengths are only `debug_assert!`ed); validation happens
//!   once, in the geometry constructors ([`cpu::conv::Conv2dGeometry::new`], …), which return
//!   `Result<_, KernelError>`.
//! - Kernels run in parallel with rayon, but their results are **bit-identical whatever the number of
//!   threads**: work is split into tiles that depend only on the shapes, and partial sums are reduced
//!   in tile order.
#![warn(missing_docs)]
pub mod cpu;
pub mod elementwise;
pub mod error;
pub mod test_env;
#[cfg(feature = "wgpu")]
pub mod wgpu;

pub use error::KernelError;

/// Keras's `backend.epsilon()`, `1e-7`: the clip margin of the losses' probability forms
/// (`p ∈ [ε, 1 − ε]`) and the `+ε` inside their logarithms, on both devices. Declared once here;
/// the loss code of `tensor` and `autograd` uses this one.
pub const EPSILON: f32 = 1e-7;
