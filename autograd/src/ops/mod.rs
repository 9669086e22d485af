//! The differentiable ops, one per file.
//!
//! Each file holds: a `//!` header with the math (forward and the chain rule for each input),
//! the forward function (also reachable as a method on [`crate::Var`]), one backward function per
//! input named after it (`matmul_backward_a`, `matmul_backward_b`), and its tests: a
//! finite-difference gradient check, property tests over random shapes, and, where Keras has
//! the op, a comparison with numbers Keras produced (the `tests/keras_parity_*.rs` files at the
//! root).
//!
//! An op composed from other ops (mean, softmax, MSE) has no hand-written backward: its
//! gradient comes from the ops it is made of.
#[cfg(test)]
pub(crate) mod testing;

pub mod abs;
pub mod add;
pub mod avg_pool2d;
pub mod batch_norm;
pub mod binary_crossentropy;
pub mod categorical_crossentropy;
pub mod concat;
pub mod conv2d;
pub mod dense;
pub mod depthwise_conv2d;
pub mod div;
pub mod dropout;
pub mod elu;
pub mod exp;
pub mod flatten;
pub mod gelu;
pub mod global_pool;
pub mod huber;
pub mod leaky_relu;
pub mod log;
pub mod log_softmax;
pub mod mae;
pub mod matmul;
pub mod max;
pub mod max_pool2d;
pub mod maximum_minimum;
pub mod mean;
pub mod mse;
pub mod mul;
pub mod neg;
pub mod pow;
pub mod relu;
pub mod relu6;
pub mod reshape;
pub mod selu;
pub mod sigmoid;
pub mod slice;
pub mod softmax;
pub mod softmax_cross_entropy;
pub mod softplus;
pub mod sqrt;
pub mod sub;
pub mod sum;
pub mod swish;
pub mod tanh;
pub mod transpose;
pub mod zero_pad2d;
