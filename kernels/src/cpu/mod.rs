//! CPU kernels. Each file holds one family of ops and opens with the textbook algorithm, which
//! runs on any CPU; where a faster variant exists, one hook at the top of each function hands the
//! work to [`fast`], and `ASTROGRAD_KERNELS=portable` turns those hooks off. [`naive`] holds the
//! loop-by-loop references that the tests compare both paths against.
//!
//! Imports point one way: `matrix.rs` (the matrix view, parallel blocks) ← `fast/gemm_*.rs` ←
//! `gemm.rs` ← `fast/conv.rs` ← `conv.rs`; no file of `fast/` imports a file that holds a hook.
pub mod accuracy;
pub mod batch_norm;
pub mod conv;
pub mod cross_entropy;
pub mod depthwise_conv;
pub mod dropout;
pub mod fast;
pub mod gemm;
pub mod map;
mod matrix;
pub mod naive;
pub mod optimizer;
pub mod pool;
pub mod regression_losses;
pub mod softmax_cross_entropy;
pub mod zero_pad;

#[cfg(test)]
pub(crate) mod testing;
