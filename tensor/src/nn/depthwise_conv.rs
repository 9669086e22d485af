//! Depthwise 2-D convolution (Keras `DepthwiseConv2D`): forward and the three gradients, with
//! the shapes checked here once against the geometry.
//!
//! # Math
//! Output channel `c·M + m` is input channel `c` filtered by `w[.., .., c, m]`; the derivation of
//! the gradients is in `autograd/src/ops/depthwise_conv2d.rs`, the loops in
//! `kernels/src/cpu/depthwise_conv.rs`.
//!
//! # Devices
//! On the device of the operands: `kernels/src/cpu/depthwise_conv.rs` or
//! `kernels/src/wgpu/depthwise_conv.rs`. On the GPU the bias is a broadcasting add and its
//! gradient a sum over rows.
//!
//! # Shapes
//! `x: (N, H, W, C)`, `w: (KH, KW, C, M)`, `b: (C·M,)`, `y: (N, OH, OW, C·M)`, as `g` describes.
use astrograd_kernels::cpu::depthwise_conv as cpu;
use astrograd_kernels::geometry::DepthwiseConv2dGeometry;

use super::conv::check_shape;
use crate::{Result, Tensor};
#[cfg(feature = "wgpu")]
use astrograd_kernels::wgpu::{depthwise_conv as gpu, GpuBuffer};

/// `y[n, oh, ow, c·M + m] = b[c·M + m] + Σ_{kh, kw} x[n, ih, iw, c] · w[kh, kw, c, m]`.
///
/// # Errors
/// [`crate::TensorError::Shape`] if a tensor does not have the shape `g` describes;
/// [`crate::TensorError::Device`] for operands on different devices.
pub fn depthwise_conv2d_forward(
    g: &DepthwiseConv2dGeometry,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
) -> Result<Tensor> {
    const OP: &str = "depthwise_conv2d";
    check_shape(OP, "x", x, &[g.n, g.h, g.w, g.c])?;
    check_shape(OP, "w", w, &[g.kh, g.kw, g.c, g.m])?;
    if let Some(b) = bias {
        check_shape(OP, "bias", b, &[g.c * g.m])?;
    }
    // y: (N, OH, OW, C·M), written by the kernel
    let out_shape = g.output_shape();
    #[cfg(feature = "wgpu")]
    if let Some(b) = crate::gpu::all_on_gpu(OP, &[&[x, w][..], bias.as_slice()].concat())? {
        let y = GpuBuffer::uninit(out_shape.iter().product())?;
        gpu::depthwise_conv2d_forward(g, b[0], b[1], &y)?;
        let y = Tensor::from_gpu(y, &out_shape);
        return match bias {
            Some(bias) => y.add(bias),
            None => Ok(y),
        };
    }
    let mut y = vec![0.0; out_shape.iter().product()];
    cpu::depthwise_conv2d_forward(
        g,
        x.as_slice()?,
        w.as_slice()?,
        bias.map(Tensor::as_slice).transpose()?,
        &mut y,
    );
    Tensor::from_vec(y, &out_shape)
}

/// `dx[n, ih, iw, c] = Σ_{windows reading (ih, iw)} Σ_m dy[n, oh, ow, c·M + m] · w[kh, kw, c, m]`.
///
/// # Shapes
/// `dy: (N, OH, OW, C·M)`, `w: (KH, KW, C, M)` → `dx: (N, H, W, C)`.
///
/// # Errors
/// [`crate::TensorError::Shape`] if `dy` or `w` does not have the shape `g` describes;
/// [`crate::TensorError::Device`] for operands on different devices.
pub fn depthwise_conv2d_backward_input(
    g: &DepthwiseConv2dGeometry,
    dy: &Tensor,
    w: &Tensor,
) -> Result<Tensor> {
    const OP: &str = "depthwise_conv2d_backward_input";
    check_shape(OP, "dy", dy, &g.output_shape())?;
    check_shape(OP, "w", w, &[g.kh, g.kw, g.c, g.m])?;
    #[cfg(feature = "wgpu")]
    if let Some(b) = crate::gpu::all_on_gpu(OP, &[dy, w])? {
        let dx = GpuBuffer::uninit(g.n * g.h * g.w * g.c)?;
        gpu::depthwise_conv2d_backward_input(g, b[0], b[1], &dx)?;
        return Ok(Tensor::from_gpu(dx, &[g.n, g.h, g.w, g.c]));
    }
    // dx: (N, H, W, C), written by the kernel
    let mut dx = vec![0.0; g.n * g.h * g.w * g.c];
    cpu::depthwise_conv2d_backward_input(g, dy.as_slice()?, w.as_slice()?, &mut dx);
    Tensor::from_vec(dx, &[g.n, g.h, g.w, g.c])
}

/// `dw[kh, kw, c, m] = Σ_{n, oh, ow} x[n, ih, iw, c] · dy[n, oh, ow, c·M + m]`.
///
/// # Shapes
/// `dy: (N, OH, OW, C·M)`, `x: (N, H, W, C)` → `dw: (KH, KW, C, M)`.
///
/// # Errors
/// [`crate::TensorError::Shape`] if `dy` or `x` does not have the shape `g` describes;
/// [`crate::TensorError::Device`] for operands on different devices.
pub fn depthwise_conv2d_backward_weight(
    g: &DepthwiseConv2dGeometry,
    dy: &Tensor,
    x: &Tensor,
) -> Result<Tensor> {
    const OP: &str = "depthwise_conv2d_backward_weight";
    check_shape(OP, "dy", dy, &g.output_shape())?;
    check_shape(OP, "x", x, &[g.n, g.h, g.w, g.c])?;
    #[cfg(feature = "wgpu")]
    if let Some(b) = crate::gpu::all_on_gpu(OP, &[x, dy])? {
        let dw = GpuBuffer::uninit(g.kh * g.kw * g.c * g.m)?;
        gpu::depthwise_conv2d_backward_weight(g, b[0], b[1], &dw)?;
        return Ok(Tensor::from_gpu(dw, &[g.kh, g.kw, g.c, g.m]));
    }
    // dw: (KH, KW, C, M), written by the kernel
    let mut dw = vec![0.0; g.kh * g.kw * g.c * g.m];
    cpu::depthwise_conv2d_backward_weight(g, x.as_slice()?, dy.as_slice()?, &mut dw);
    Tensor::from_vec(dw, &[g.kh, g.kw, g.c, g.m])
}

/// `db[c·M + m] = Σ_{n, oh, ow} dy[n, oh, ow, c·M + m]`.
///
/// # Shapes
/// `dy: (N, OH, OW, C·M)` → `db: (C·M,)`.
///
/// # Errors
/// [`crate::TensorError::Shape`] if `dy` does not have the shape `g` describes;
/// [`crate::TensorError::Device`] for operands on different devices.
pub fn depthwise_conv2d_backward_bias(g: &DepthwiseConv2dGeometry, dy: &Tensor) -> Result<Tensor> {
    check_shape(
        "depthwise_conv2d_backward_bias",
        "dy",
        dy,
        &g.output_shape(),
    )?;
    #[cfg(feature = "wgpu")]
    if dy.gpu_buffer().is_some() {
        let rows = g.n * g.oh * g.ow;
        return dy.reshape(&[rows, g.c * g.m])?.sum_axes(&[0], false);
    }
    // db: (C·M,), written by the kernel
    let mut db = vec![0.0; g.c * g.m];
    cpu::depthwise_conv2d_backward_bias(g, dy.as_slice()?, &mut db);
    Tensor::from_vec(db, &[g.c * g.m])
}
