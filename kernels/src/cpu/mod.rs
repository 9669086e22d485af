//! CPU kernels. Each file holds one family of ops, fast version first, with its tests;
//! [`naive`] holds the loop-by-loop references that the tests compare against.
pub mod conv;
#[cfg(target_arch = "x86_64")]
mod conv_direct;
pub mod depthwise_conv;
pub mod dropout;
pub mod gemm;
#[cfg(target_arch = "x86_64")]
mod gemm_narrow;
#[cfg(target_arch = "x86_64")]
mod gemm_short;
pub mod map;
pub mod naive;
pub mod optimizer;
pub mod pool;
pub mod softmax_cross_entropy;
mod uninit;

#[cfg(test)]
pub(crate) mod testing;
