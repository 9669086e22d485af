//! Zero padding of images (Keras `ZeroPadding2D`); the loop is in `kernels/src/cpu/zero_pad.rs`.
//!
//! # Devices
//! There is no GPU kernel yet: a GPU tensor is a [`crate::TensorError::Device`] that says so.
//!
//! # Shapes
//! `x: (N, H, W, C)`; `out: (N, top + H + bottom, left + W + right, C)`.
use astrograd_kernels::cpu::zero_pad as cpu;

use crate::{Result, Tensor, TensorError};

/// Pads each image of `x` with `((top, bottom), (left, right))` rows and columns of zeros.
///
/// # Errors
/// [`TensorError::Shape`] naming `zero_pad2d` if `x` is not rank 4 (NHWC); a GPU tensor.
pub fn zero_pad2d_forward(x: &Tensor, pads: ((usize, usize), (usize, usize))) -> Result<Tensor> {
    const OP: &str = "zero_pad2d";
    let Ok(x_shape) = <[usize; 4]>::try_from(x.shape()) else {
        return Err(TensorError::Shape {
            op: OP,
            expected: "a batch of images (N, H, W, C)".into(),
            found: format!("shape {:?}", x.shape()),
        });
    };
    x.require_cpu(OP)?;
    let [n, h, w, c] = x_shape;
    let ((top, bottom), (left, right)) = pads;
    // out: (N, OH, OW, C), written by the kernel
    let out_shape = [n, top + h + bottom, left + w + right, c];
    let mut out = vec![0.0; out_shape.iter().product()];
    cpu::zero_pad2d_forward(x.as_slice()?, x_shape, pads, &mut out);
    Tensor::from_vec(out, &out_shape)
}
