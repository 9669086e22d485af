//! 2-D max and average pooling (Keras `MaxPooling2D`, `AveragePooling2D`) and global pooling
//! (`GlobalAveragePooling2D`, `GlobalMaxPooling2D`) on either device.
//!
//! # Math
//! A window slides over each channel; max keeps the largest valid cell and remembers which one
//! won (`argmax`, a flat index into `x`, the first on ties), average divides by the number of
//! *valid* cells (padding takes no part, as in TensorFlow). Backward:
//!
//! ```text
//! max:  dx[i] = Σ_{o : argmax[o] = i} dy[o]
//! avg:  dx[i] = Σ_{windows o containing i} dy[o] / count(o)
//! ```
//!
//! The loops are in `kernels/src/cpu/pool.rs` and `kernels/src/wgpu/pool.rs`.
//!
//! Global pooling pools each image's whole `H×W`, `(N, H, W, C)` → `(N, C)`; its max gradient is
//! shared equally among the pixels that tie for the maximum (TensorFlow's `reduce_max` rule).
//!
//! # Shapes
//! `x: (N, H, W, C)`, `y: (N, OH, OW, C)`, as `g` describes.
use astrograd_kernels::cpu::pool as cpu;
use astrograd_kernels::geometry::Pool2dGeometry;

use super::conv::check_shape;
use crate::{Result, Tensor, TensorError};

/// The winners of a max pooling, one flat index into `x` per output element, kept on the device
/// of the pooled tensor for the backward pass.
#[derive(Debug)]
pub enum Argmax {
    /// Indices in host memory.
    Cpu(Vec<usize>),
    /// Indices (`u32`) in a GPU buffer.
    #[cfg(feature = "wgpu")]
    Gpu(astrograd_kernels::wgpu::GpuBuffer),
}

impl Argmax {
    /// The number of indices: one per output element.
    pub fn len(&self) -> usize {
        match self {
            Argmax::Cpu(indices) => indices.len(),
            #[cfg(feature = "wgpu")]
            Argmax::Gpu(buffer) => buffer.len(),
        }
    }

    /// True when there are no indices.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn input_shape(g: &Pool2dGeometry) -> [usize; 4] {
    [g.n, g.h, g.w, g.c]
}

/// Max pooling forward: `y` and the winner of each window.
///
/// ```
/// use astrograd_kernels::geometry::{Padding, Pool2dGeometry};
/// use astrograd_tensor::{nn, Tensor};
/// let x = Tensor::from_vec(vec![1.0, 5.0, 2.0, 3.0], &[1, 2, 2, 1])?;
/// let g = Pool2dGeometry::new([1, 2, 2, 1], [2, 2], [2, 2], Padding::Valid)?;
/// let (y, argmax) = nn::pool::max_pool2d_forward(&g, &x)?;
/// assert_eq!(y.to_vec()?, vec![5.0]);
/// assert!(matches!(argmax, nn::pool::Argmax::Cpu(ref a) if a == &[1]));
/// # Ok::<(), astrograd_tensor::TensorError>(())
/// ```
///
/// # Errors
/// [`TensorError::Shape`] if `x` does not have the shape `g` describes; GPU errors.
pub fn max_pool2d_forward(g: &Pool2dGeometry, x: &Tensor) -> Result<(Tensor, Argmax)> {
    check_shape("max_pool2d", "x", x, &input_shape(g))?;
    // y, argmax: (N, OH, OW, C)
    let out_shape = g.output_shape();
    #[cfg(feature = "wgpu")]
    if let Some(x_buffer) = x.gpu_buffer() {
        use astrograd_kernels::wgpu::GpuBuffer;
        let len = out_shape.iter().product();
        let (y, argmax) = (GpuBuffer::uninit(len)?, GpuBuffer::uninit(len)?);
        astrograd_kernels::wgpu::pool::max_pool2d_forward(g, x_buffer, &y, &argmax)?;
        return Ok((Tensor::from_gpu(y, &out_shape), Argmax::Gpu(argmax)));
    }
    let (y, argmax) = cpu::max_pool2d_forward(g, x.as_slice()?);
    Ok((Tensor::from_vec(y, &out_shape)?, Argmax::Cpu(argmax)))
}

/// Max pooling backward: each window's gradient goes to its winner, `dx[argmax[o]] += dy[o]`.
///
/// # Shapes
/// `dy: (N, OH, OW, C)`, `argmax` from the forward → `dx: (N, H, W, C)`.
///
/// # Errors
/// [`TensorError::Shape`] if `dy` or `argmax` does not have the size `g` describes;
/// [`TensorError::Kernel`] if a CPU index lies outside its own window; [`TensorError::Device`]
/// if `dy` and `argmax` are on different devices; GPU errors.
pub fn max_pool2d_backward(g: &Pool2dGeometry, dy: &Tensor, argmax: &Argmax) -> Result<Tensor> {
    const OP: &str = "max_pool2d_backward";
    check_shape(OP, "dy", dy, &g.output_shape())?;
    if argmax.len() != dy.numel() {
        return Err(TensorError::Shape {
            op: OP,
            expected: format!("{} indices of max_pool2d's forward", dy.numel()),
            found: format!("{} indices", argmax.len()),
        });
    }
    let x_shape = input_shape(g);
    match argmax {
        Argmax::Cpu(indices) => {
            if dy.device() != crate::Device::Cpu {
                return Err(TensorError::Device {
                    op: OP,
                    found: format!("dy on the {} and argmax on the cpu", dy.device()),
                });
            }
            // dx: (N, H, W, C); the kernel checks that every winner lies in its own window.
            let dx = cpu::max_pool2d_backward(g, dy.as_slice()?, indices)?;
            Tensor::from_vec(dx, &x_shape)
        }
        #[cfg(feature = "wgpu")]
        Argmax::Gpu(indices) => {
            let Some(dy_buffer) = dy.gpu_buffer() else {
                return Err(TensorError::Device {
                    op: OP,
                    found: format!("dy on the {} and argmax on the gpu", dy.device()),
                });
            };
            let dx = astrograd_kernels::wgpu::GpuBuffer::uninit(x_shape.iter().product())?;
            astrograd_kernels::wgpu::pool::max_pool2d_backward(g, dy_buffer, indices, &dx)?;
            Ok(Tensor::from_gpu(dx, &x_shape))
        }
    }
}

/// Average pooling forward: the mean over the valid cells of each window.
///
/// # Shapes
/// `x: (N, H, W, C)` → `y: (N, OH, OW, C)`.
///
/// # Errors
/// [`TensorError::Shape`] if `x` does not have the shape `g` describes; GPU errors.
pub fn avg_pool2d_forward(g: &Pool2dGeometry, x: &Tensor) -> Result<Tensor> {
    check_shape("avg_pool2d", "x", x, &input_shape(g))?;
    // y: (N, OH, OW, C)
    let out_shape = g.output_shape();
    #[cfg(feature = "wgpu")]
    if let Some(x_buffer) = x.gpu_buffer() {
        let y = astrograd_kernels::wgpu::GpuBuffer::uninit(out_shape.iter().product())?;
        astrograd_kernels::wgpu::pool::avg_pool2d_forward(g, x_buffer, &y)?;
        return Ok(Tensor::from_gpu(y, &out_shape));
    }
    let mut y = vec![0.0; out_shape.iter().product()];
    cpu::avg_pool2d_forward(g, x.as_slice()?, &mut y);
    Tensor::from_vec(y, &out_shape)
}

/// Average pooling backward: every valid cell of a window gets `dy / count`.
///
/// # Shapes
/// `dy: (N, OH, OW, C)` → `dx: (N, H, W, C)`.
///
/// # Errors
/// [`TensorError::Shape`] if `dy` does not have the shape `g` describes; GPU errors.
pub fn avg_pool2d_backward(g: &Pool2dGeometry, dy: &Tensor) -> Result<Tensor> {
    check_shape("avg_pool2d_backward", "dy", dy, &g.output_shape())?;
    let x_shape = input_shape(g);
    #[cfg(feature = "wgpu")]
    if let Some(dy_buffer) = dy.gpu_buffer() {
        let dx = astrograd_kernels::wgpu::GpuBuffer::uninit(x_shape.iter().product())?;
        astrograd_kernels::wgpu::pool::avg_pool2d_backward(g, dy_buffer, &dx)?;
        return Ok(Tensor::from_gpu(dx, &x_shape));
    }
    // dx: (N, H, W, C), written by the kernel
    let mut dx = vec![0.0; x_shape.iter().product()];
    cpu::avg_pool2d_backward(g, dy.as_slice()?, &mut dx);
    Tensor::from_vec(dx, &x_shape)
}

/// `[N, H, W, C]` of a global pooling's input, or an error naming `op` if `x` is not a batch of
/// images with at least one pixel.
fn nhwc(op: &'static str, x_shape: &[usize]) -> Result<[usize; 4]> {
    match <[usize; 4]>::try_from(x_shape) {
        Ok(shape) if shape[1] * shape[2] > 0 => Ok(shape),
        _ => Err(TensorError::Shape {
            op,
            expected: "a batch of images (N, H, W, C) with H, W ≥ 1".into(),
            found: format!("shape {x_shape:?}"),
        }),
    }
}

/// Global average pooling (Keras `GlobalAveragePooling2D`):
/// `y[n, c] = (1 / (H·W)) Σ_{h, w} x[n, h, w, c]`.
///
/// On the CPU this is `sum` over (H, W) times `1 / (H·W)`, exactly what autograd's `mean`
/// computes; on the GPU one thread per `(n, c)` sums its channel.
///
/// # Shapes
/// `x: (N, H, W, C)` → `y: (N, C)`.
///
/// # Errors
/// [`TensorError::Shape`] if `x` is not `(N, H, W, C)` with `H·W > 0`; GPU errors.
pub fn global_avg_pool2d_forward(x: &Tensor) -> Result<Tensor> {
    let shape = nhwc("global_average_pool2d", x.shape())?;
    #[cfg(feature = "wgpu")]
    if let Some(x_buffer) = x.gpu_buffer() {
        let y = astrograd_kernels::wgpu::GpuBuffer::uninit(shape[0] * shape[3])?;
        astrograd_kernels::wgpu::pool::global_avg_pool2d_forward(shape, x_buffer, &y)?;
        return Ok(Tensor::from_gpu(y, &[shape[0], shape[3]]));
    }
    let [_, h, w, _] = shape;
    x.sum_axes(&[1, 2], false)?
        .mul(&Tensor::scalar(1.0 / (h * w) as f32))
}

/// Global average pooling backward: every pixel gets its share, `dx[n, h, w, c] = dy[n, c] / (H·W)`.
///
/// # Shapes
/// `dy: (N, C)` → `dx: (N, H, W, C)` = `x_shape`.
///
/// # Errors
/// [`TensorError::Shape`] if `x_shape` is not `(N, H, W, C)` with `H·W > 0` or `dy` is not
/// `(N, C)`; GPU errors.
pub fn global_avg_pool2d_backward(x_shape: &[usize], dy: &Tensor) -> Result<Tensor> {
    const OP: &str = "global_average_pool2d_backward";
    let [n, h, w, c] = nhwc(OP, x_shape)?;
    check_shape(OP, "dy", dy, &[n, c])?;
    #[cfg(feature = "wgpu")]
    if let Some(dy_buffer) = dy.gpu_buffer() {
        let dx = astrograd_kernels::wgpu::GpuBuffer::uninit(x_shape.iter().product())?;
        astrograd_kernels::wgpu::pool::global_avg_pool2d_backward([n, h, w, c], dy_buffer, &dx)?;
        return Ok(Tensor::from_gpu(dx, x_shape));
    }
    // The gradients of `mul` by 1/(H·W) and of `sum`: scale, then spread over (H, W).
    dy.mul(&Tensor::scalar(1.0 / (h * w) as f32))?
        .reshape(&[n, 1, 1, c])?
        .broadcast_to(x_shape)
}

/// Global max pooling (Keras `GlobalMaxPooling2D`): `y[n, c] = max_{h, w} x[n, h, w, c]`.
///
/// # Shapes
/// `x: (N, H, W, C)` → `y: (N, C)`.
///
/// # Errors
/// [`TensorError::Shape`] if `x` is not `(N, H, W, C)` with `H·W > 0`; GPU errors.
pub fn global_max_pool2d_forward(x: &Tensor) -> Result<Tensor> {
    #[cfg_attr(not(feature = "wgpu"), allow(unused_variables))]
    let shape = nhwc("global_max_pool2d", x.shape())?;
    #[cfg(feature = "wgpu")]
    if let Some(x_buffer) = x.gpu_buffer() {
        let y = astrograd_kernels::wgpu::GpuBuffer::uninit(shape[0] * shape[3])?;
        astrograd_kernels::wgpu::pool::global_max_pool2d_forward(shape, x_buffer, &y)?;
        return Ok(Tensor::from_gpu(y, &[shape[0], shape[3]]));
    }
    x.max_axes(&[1, 2], false)
}

/// Global max pooling backward, as TensorFlow's `reduce_max` gradient: the pixels that tie for
/// the maximum share `dy` equally,
/// `dx[n, h, w, c] = (x[n, h, w, c] == y[n, c]) / count[n, c] · dy[n, c]`.
///
/// # Shapes
/// `x: (N, H, W, C)`, `y: (N, C)` from the forward, `dy: (N, C)` → `dx: (N, H, W, C)`.
///
/// # Errors
/// [`TensorError::Shape`] if the shapes do not fit; [`TensorError::Device`] if the tensors are
/// on different devices; GPU errors.
pub fn global_max_pool2d_backward(x: &Tensor, y: &Tensor, dy: &Tensor) -> Result<Tensor> {
    const OP: &str = "global_max_pool2d_backward";
    let shape = nhwc(OP, x.shape())?;
    let [n, _, _, c] = shape;
    check_shape(OP, "y", y, &[n, c])?;
    check_shape(OP, "dy", dy, &[n, c])?;
    #[cfg(feature = "wgpu")]
    if let Some(buffers) = crate::gpu::all_on_gpu(OP, &[x, y, dy])? {
        let dx = astrograd_kernels::wgpu::GpuBuffer::uninit(x.numel())?;
        astrograd_kernels::wgpu::pool::global_max_pool2d_backward(
            shape, buffers[0], buffers[1], buffers[2], &dx,
        )?;
        return Ok(Tensor::from_gpu(dx, x.shape()));
    }
    // indicator: (N, H, W, C), 1 where a pixel equals its channel's maximum.
    let indicator = x.eq_elem(&y.reshape(&[n, 1, 1, c])?)?;
    // count: (N, 1, 1, C), how many pixels tie for each maximum.
    let count = indicator.sum_axes(&[1, 2], true)?;
    indicator.div(&count)?.mul(&dy.reshape(&[n, 1, 1, c])?)
}

#[cfg(all(test, feature = "wgpu"))]
mod tests {
    use super::*;
    use crate::random::Rng;
    use crate::Device;
    use astrograd_kernels::geometry::Padding;

    fn gpu() -> Option<Device> {
        crate::gpu::gpu_or_skip()
    }

    #[test]
    fn gpu_tensors_match_cpu_tensors() {
        let Some(device) = gpu() else { return };
        let g = Pool2dGeometry::new([2, 5, 7, 3], [3, 3], [2, 2], Padding::Same).unwrap();
        let mut rng = Rng::new(3);
        let x = Tensor::rand_uniform_with(&mut rng, &[2, 5, 7, 3], -1.0, 1.0);
        let dy = Tensor::rand_uniform_with(&mut rng, &g.output_shape(), -1.0, 1.0);
        let (xg, dyg) = (x.to(device).unwrap(), dy.to(device).unwrap());

        let (y, argmax) = max_pool2d_forward(&g, &x).unwrap();
        let (yg, argmax_g) = max_pool2d_forward(&g, &xg).unwrap();
        assert!(matches!(argmax_g, Argmax::Gpu(_)));
        assert_eq!(yg.to_vec(), y.to_vec(), "max y");
        let dx = max_pool2d_backward(&g, &dy, &argmax).unwrap();
        let dxg = max_pool2d_backward(&g, &dyg, &argmax_g).unwrap();
        assert_eq!(dxg.device(), Device::Gpu);
        assert_eq!(dxg.to_vec(), dx.to_vec(), "max dx");
        let err = max_pool2d_backward(&g, &dy, &argmax_g).unwrap_err();
        assert!(matches!(err, TensorError::Device { .. }), "{err}");

        let y = avg_pool2d_forward(&g, &x).unwrap();
        let yg = avg_pool2d_forward(&g, &xg).unwrap();
        assert!(yg.all_close(&y, 1e-6, 1e-6), "avg y: {yg} vs {y}");
        let dx = avg_pool2d_backward(&g, &dy).unwrap();
        let dxg = avg_pool2d_backward(&g, &dyg).unwrap();
        assert!(dxg.all_close(&dx, 1e-6, 1e-6), "avg dx: {dxg} vs {dx}");
    }
}
