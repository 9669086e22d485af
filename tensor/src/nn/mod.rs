//! Heavy neural-network ops that dispatch on the device of their inputs: the CPU kernels of
//! `astrograd_kernels::cpu` for CPU tensors, the WGSL kernels of `astrograd_kernels::wgpu` for
//! GPU tensors (feature `wgpu`). One file per family; the autograd ops call these, so that
//! autograd and layers never look at the device. Inputs on different devices are a
//! [`crate::TensorError::Device`] naming the op.
pub mod batch_norm;
pub mod conv;
pub mod dense;
pub mod depthwise_conv;
pub mod dropout;
pub mod losses;
pub mod metrics;
pub mod optimizer;
pub mod pad;
pub mod pool;
pub mod regression_losses;
