//! Zero padding of images (Keras `ZeroPadding2D`), on the device of `x`: the loops are
//! `kernels/src/cpu/zero_pad.rs` and `kernels/src/wgpu/zero_pad.rs`.
//!
//! # Shapes
//! `x: (N, H, W, C)`; `out: (N, top + H + bottom, left + W + right, C)`.
use astrograd_kernels::cpu::zero_pad as cpu;

use crate::{Result, Tensor, TensorError};

/// Pads each image of `x` with `((top, bottom), (left, right))` rows and columns of zeros.
///
/// # Errors
/// [`TensorError::Shape`] naming `zero_pad2d` if `x` is not rank 4 (NHWC).
pub fn zero_pad2d_forward(x: &Tensor, pads: ((usize, usize), (usize, usize))) -> Result<Tensor> {
    const OP: &str = "zero_pad2d";
    let Ok(x_shape) = <[usize; 4]>::try_from(x.shape()) else {
        return Err(TensorError::Shape {
            op: OP,
            expected: "a batch of images (N, H, W, C)".into(),
            found: format!("shape {:?}", x.shape()),
        });
    };
    let [n, h, w, c] = x_shape;
    let ((top, bottom), (left, right)) = pads;
    // out: (N, OH, OW, C), written by the kernel
    let out_shape = [n, top + h + bottom, left + w + right, c];
    #[cfg(feature = "wgpu")]
    if let Some(xb) = x.gpu_buffer() {
        let out = astrograd_kernels::wgpu::GpuBuffer::uninit(out_shape.iter().product())?;
        astrograd_kernels::wgpu::zero_pad::zero_pad2d_forward(xb, x_shape, pads, &out)?;
        return Ok(Tensor::from_gpu(out, &out_shape));
    }
    let mut out = vec![0.0; out_shape.iter().product()];
    cpu::zero_pad2d_forward(x.as_slice()?, x_shape, pads, &mut out);
    Tensor::from_vec(out, &out_shape)
}
