//! Depthwise 2-D convolution (Keras `DepthwiseConv2D`): forward and the three gradients, with
//! the shapes checked here once against the geometry.
//!
//! # Math
//! Output channel `c·M + m` is input channel `c` filtered by `w[.., .., c, m]`; the derivation of
//! the gradients is in `autograd/src/ops/depthwise_conv2d.rs`, the loops in
//! `kernels/src/cpu/depthwise_conv.rs`.
//!
//! # Devices
//! There is no GPU kernel yet: a GPU tensor is a [`TensorError::Device`](crate::TensorError::Device)
//! that says so.
//!
//! # Shapes
//! `x: (N, H, W, C)`, `w: (KH, KW, C, M)`, `b: (C·M,)`, `y: (N, OH, OW, C·M)`, as `g` describes.
use astrograd_kernels::cpu::depthwise_conv as cpu;
use astrograd_kernels::geometry::DepthwiseConv2dGeometry;

use super::conv::check_shape;
use crate::{Result, Tensor};

/// `y[n, oh, ow, c·M + m] = b[c·M + m] + Σ_{kh, kw} x[n, ih, iw, c] · w[kh, kw, c, m]`.
///
/// # Errors
/// [`crate::TensorError::Shape`] if a tensor does not have the shape `g` describes;
/// [`crate::TensorError::Device`] for a GPU tensor.
pub fn depthwise_conv2d_forward(
    g: &DepthwiseConv2dGeometry,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
) -> Result<Tensor> {
    const OP: &str = "depthwise_conv2d";
    x.require_cpu(OP)?;
    w.require_cpu(OP)?;
    check_shape(OP, "x", x, &[g.n, g.h, g.w, g.c])?;
    check_shape(OP, "w", w, &[g.kh, g.kw, g.c, g.m])?;
    if let Some(b) = bias {
        check_shape(OP, "bias", b, &[g.c * g.m])?;
    }
    // y: (N, OH, OW, C·M), written by the kernel
    let out_shape = g.output_shape();
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
/// [`crate::TensorError::Device`] for a GPU tensor.
pub fn depthwise_conv2d_backward_input(
    g: &DepthwiseConv2dGeometry,
    dy: &Tensor,
    w: &Tensor,
) -> Result<Tensor> {
    const OP: &str = "depthwise_conv2d_backward_input";
    check_shape(OP, "dy", dy, &g.output_shape())?;
    check_shape(OP, "w", w, &[g.kh, g.kw, g.c, g.m])?;
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
/// [`crate::TensorError::Device`] for a GPU tensor.
pub fn depthwise_conv2d_backward_weight(
    g: &DepthwiseConv2dGeometry,
    dy: &Tensor,
    x: &Tensor,
) -> Result<Tensor> {
    const OP: &str = "depthwise_conv2d_backward_weight";
    check_shape(OP, "dy", dy, &g.output_shape())?;
    check_shape(OP, "x", x, &[g.n, g.h, g.w, g.c])?;
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
/// [`crate::TensorError::Device`] for a GPU tensor.
pub fn depthwise_conv2d_backward_bias(g: &DepthwiseConv2dGeometry, dy: &Tensor) -> Result<Tensor> {
    check_shape(
        "depthwise_conv2d_backward_bias",
        "dy",
        dy,
        &g.output_shape(),
    )?;
    // db: (C·M,), written by the kernel
    let mut db = vec![0.0; g.c * g.m];
    cpu::depthwise_conv2d_backward_bias(g, dy.as_slice()?, &mut db);
    Tensor::from_vec(db, &[g.c * g.m])
}
