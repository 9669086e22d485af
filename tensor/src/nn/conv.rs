//! 2-D convolution (Keras `Conv2D`) on either device: forward and the three gradients.
//!
//! # Math
//! With `cols: (N·OH·OW, KH·KW·C)` the receptive fields of the output pixels (im2col) and
//! `W: (KH·KW·C, F)` the HWIO kernel as it lies in memory:
//!
//! ```text
//! Y = cols · W + b      dW = colsᵀ · dY      db = Σ_rows dY      dX = col2im(dY · Wᵀ)
//! ```
//!
//! The derivation and the CPU loops are in `kernels/src/cpu/conv.rs`; the GPU version (the same
//! algorithm, col2im as a gather) in `kernels/src/wgpu/conv.rs`.
//!
//! # Shapes
//! `x: (N, H, W, C)`, `w: (KH, KW, C, F)`, `b: (F,)`, `y: (N, OH, OW, F)`, as `g` describes.
use astrograd_kernels::cpu::conv as cpu;
pub use astrograd_kernels::cpu::conv::ConvActivation;
use astrograd_kernels::geometry::Conv2dGeometry;

use crate::{Result, Tensor, TensorError};

/// Checks that `t` has the shape `expected` that the geometry describes.
pub(crate) fn check_shape(
    op: &'static str,
    name: &str,
    t: &Tensor,
    expected: &[usize],
) -> Result<()> {
    if t.shape() != expected {
        return Err(TensorError::Shape {
            op,
            expected: format!("{name} of shape {expected:?}"),
            found: format!("{name} of shape {:?}", t.shape()),
        });
    }
    Ok(())
}

/// `y = conv2d(x, w) + bias`, i.e. `Y = cols · W + b`.
///
/// ```
/// use astrograd_kernels::geometry::{Conv2dGeometry, Padding};
/// use astrograd_tensor::{nn, Tensor};
/// // A 3×3 image 1..9 and a 2×2 kernel of ones: each output sums one 2×2 window.
/// let x = Tensor::from_vec((1..=9).map(|v| v as f32).collect(), &[1, 3, 3, 1])?;
/// let w = Tensor::ones(&[2, 2, 1, 1]);
/// let g = Conv2dGeometry::new([1, 3, 3, 1], [2, 2, 1, 1], [1, 1], [1, 1], Padding::Valid)?;
/// let y = nn::conv::conv2d_forward(&g, &x, &w, None)?;
/// assert_eq!(y.to_vec()?, vec![12.0, 16.0, 24.0, 28.0]);
/// # Ok::<(), astrograd_tensor::TensorError>(())
/// ```
///
/// # Errors
/// [`TensorError::Shape`] if a tensor does not have the shape `g` describes;
/// [`TensorError::Device`] if the operands are on different devices; GPU errors.
pub fn conv2d_forward(
    g: &Conv2dGeometry,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
) -> Result<Tensor> {
    conv2d_forward_activated(g, x, w, bias, ConvActivation::Linear)
}

/// `y = activation(conv2d(x, w) + bias)`: on the CPU the activation is applied as the sums are
/// written (a 1×1 convolution, one GEMM over the whole batch, takes it in a parallel pass after);
/// on a GPU the product's epilogue adds the bias and applies it.
///
/// # Errors
/// As [`conv2d_forward`].
pub fn conv2d_forward_activated(
    g: &Conv2dGeometry,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    activation: ConvActivation,
) -> Result<Tensor> {
    let op = match activation {
        ConvActivation::Linear => "conv2d",
        ConvActivation::Relu => "conv2d_relu",
    };
    check_shape(op, "x", x, &[g.n, g.h, g.w, g.c])?;
    check_shape(op, "w", w, &[g.kh, g.kw, g.c, g.f])?;
    if let Some(b) = bias {
        check_shape(op, "bias", b, &[g.f])?;
    }
    // y: (N, OH, OW, F)
    let out_shape = g.output_shape();
    #[cfg(feature = "wgpu")]
    {
        let operands: Vec<&Tensor> = [x, w].into_iter().chain(bias).collect();
        if let Some(buffers) = crate::gpu::all_on_gpu(op, &operands)? {
            let y = astrograd_kernels::wgpu::GpuBuffer::uninit(out_shape.iter().product())?;
            // The bias and the ReLU are applied by the product as it writes y.
            astrograd_kernels::wgpu::conv::conv2d_forward_activated(
                g,
                buffers[0],
                buffers[1],
                buffers.get(2).copied(),
                activation == ConvActivation::Relu,
                &y,
            )?;
            return Ok(Tensor::from_gpu(y, &out_shape));
        }
    }
    let y = cpu::conv2d_forward_vec(
        g,
        x.as_slice()?,
        w.as_slice()?,
        bias.map(Tensor::as_slice).transpose()?,
        activation,
    );
    Tensor::from_vec(y, &out_shape)
}

/// `dX = col2im(dY · Wᵀ)`: each input pixel collects `dY · Wᵀ` from every window that read it.
///
/// # Shapes
/// `dy: (N, OH, OW, F)`, `w: (KH, KW, C, F)` → `dx: (N, H, W, C)`.
///
/// # Errors
/// [`TensorError::Shape`] if `dy` or `w` does not have the shape `g` describes;
/// [`TensorError::Device`] if they are on different devices; GPU errors.
pub fn conv2d_backward_input(g: &Conv2dGeometry, dy: &Tensor, w: &Tensor) -> Result<Tensor> {
    const OP: &str = "conv2d_backward_input";
    check_shape(OP, "dy", dy, &g.output_shape())?;
    check_shape(OP, "w", w, &[g.kh, g.kw, g.c, g.f])?;
    let x_shape = [g.n, g.h, g.w, g.c];
    #[cfg(feature = "wgpu")]
    if let Some(buffers) = crate::gpu::all_on_gpu(OP, &[dy, w])? {
        let dx = astrograd_kernels::wgpu::GpuBuffer::uninit(x_shape.iter().product())?;
        astrograd_kernels::wgpu::conv::conv2d_backward_input(g, buffers[0], buffers[1], &dx)?;
        return Ok(Tensor::from_gpu(dx, &x_shape));
    }
    // dx: (N, H, W, C), written by the kernel
    let mut dx = vec![0.0; x_shape.iter().product()];
    cpu::conv2d_backward_input(g, dy.as_slice()?, w.as_slice()?, &mut dx);
    Tensor::from_vec(dx, &x_shape)
}

/// `dW = colsᵀ · dY`: each weight collects input × upstream gradient over every window. On the
/// GPU the result is written into `into` when it is given (a gradient's place in an
/// optimizer's flat buffer).
///
/// # Shapes
/// `dy: (N, OH, OW, F)`, `x: (N, H, W, C)` → `dw: (KH, KW, C, F)`.
///
/// # Errors
/// [`TensorError::Shape`] if `dy` or `x` does not have the shape `g` describes;
/// [`TensorError::Device`] if they are on different devices; GPU errors.
pub fn conv2d_backward_weight(
    g: &Conv2dGeometry,
    dy: &Tensor,
    x: &Tensor,
    into: Option<&Tensor>,
) -> Result<Tensor> {
    const OP: &str = "conv2d_backward_weight";
    #[cfg(not(feature = "wgpu"))]
    let _ = into;
    check_shape(OP, "dy", dy, &g.output_shape())?;
    check_shape(OP, "x", x, &[g.n, g.h, g.w, g.c])?;
    let w_shape = [g.kh, g.kw, g.c, g.f];
    #[cfg(feature = "wgpu")]
    if let Some(buffers) = crate::gpu::all_on_gpu(OP, &[dy, x])? {
        let dw = crate::gpu::Output::new(OP, &w_shape, into)?;
        astrograd_kernels::wgpu::conv::conv2d_backward_weight(
            g,
            buffers[1],
            buffers[0],
            dw.buffer(),
        )?;
        return Ok(dw.finish(&w_shape));
    }
    // dw: (KH, KW, C, F), written by the kernel
    let mut dw = vec![0.0; w_shape.iter().product()];
    cpu::conv2d_backward_weight(g, x.as_slice()?, dy.as_slice()?, &mut dw);
    Tensor::from_vec(dw, &w_shape)
}

/// `db = Σ_{n, oh, ow} dY[n, oh, ow, :]`: the bias was added to every output pixel. On the GPU
/// the result is written into `into` when it is given.
///
/// # Shapes
/// `dy: (N, OH, OW, F)` → `db: (F,)`.
///
/// # Errors
/// [`TensorError::Shape`] if `dy` does not have the shape `g` describes; GPU errors.
pub fn conv2d_backward_bias(
    g: &Conv2dGeometry,
    dy: &Tensor,
    into: Option<&Tensor>,
) -> Result<Tensor> {
    const OP: &str = "conv2d_backward_bias";
    #[cfg(not(feature = "wgpu"))]
    let _ = into;
    check_shape(OP, "dy", dy, &g.output_shape())?;
    #[cfg(feature = "wgpu")]
    if let Some(dy_buffer) = dy.gpu_buffer() {
        let db = crate::gpu::Output::new(OP, &[g.f], into)?;
        astrograd_kernels::wgpu::conv::conv2d_backward_bias(g, dy_buffer, db.buffer())?;
        return Ok(db.finish(&[g.f]));
    }
    // db: (F,), written by the kernel
    let mut db = vec![0.0; g.f];
    cpu::conv2d_backward_bias(g, dy.as_slice()?, &mut db);
    Tensor::from_vec(db, &[g.f])
}

#[cfg(all(test, feature = "wgpu"))]
mod tests {
    use super::*;
    use crate::random::Rng;
    use crate::Device;
    use astrograd_kernels::geometry::Padding;

    /// The GPU, or `None` (with a note) where there is none; CI sets `ASTROGRAD_REQUIRE_GPU`.
    fn gpu() -> Option<Device> {
        crate::gpu::gpu_or_skip()
    }

    fn close(gpu: &Tensor, cpu: &Tensor, what: &str) {
        assert_eq!(gpu.device(), Device::Gpu, "{what}: the result left the GPU");
        assert!(gpu.all_close(cpu, 1e-5, 1e-5), "{what}: {gpu} vs {cpu}");
    }

    #[test]
    fn gpu_tensors_match_cpu_tensors_and_mixed_devices_are_an_error() {
        let Some(device) = gpu() else { return };
        let g =
            Conv2dGeometry::new([2, 6, 5, 3], [3, 3, 3, 4], [2, 2], [1, 1], Padding::Same).unwrap();
        let mut rng = Rng::new(7);
        let x = Tensor::rand_uniform_with(&mut rng, &[2, 6, 5, 3], -1.0, 1.0);
        let w = Tensor::rand_uniform_with(&mut rng, &[3, 3, 3, 4], -1.0, 1.0);
        let b = Tensor::rand_uniform_with(&mut rng, &[4], -1.0, 1.0);
        let dy = Tensor::rand_uniform_with(&mut rng, &g.output_shape(), -1.0, 1.0);
        let on = |t: &Tensor| t.to(device).unwrap();
        let (xg, wg, bg, dyg) = (on(&x), on(&w), on(&b), on(&dy));
        close(
            &conv2d_forward(&g, &xg, &wg, Some(&bg)).unwrap(),
            &conv2d_forward(&g, &x, &w, Some(&b)).unwrap(),
            "y",
        );
        close(
            &conv2d_backward_input(&g, &dyg, &wg).unwrap(),
            &conv2d_backward_input(&g, &dy, &w).unwrap(),
            "dx",
        );
        close(
            &conv2d_backward_weight(&g, &dyg, &xg, None).unwrap(),
            &conv2d_backward_weight(&g, &dy, &x, None).unwrap(),
            "dw",
        );
        close(
            &conv2d_backward_bias(&g, &dyg, None).unwrap(),
            &conv2d_backward_bias(&g, &dy, None).unwrap(),
            "db",
        );
        let err = conv2d_forward(&g, &xg, &w, None).unwrap_err();
        assert!(
            matches!(err, TensorError::Device { op: "conv2d", .. }),
            "{err}"
        );
        assert!(err.to_string().contains("gpu, cpu"), "{err}");
    }
}
