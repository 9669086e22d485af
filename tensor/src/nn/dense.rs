//! The forward pass of a Dense layer, `y = x·W + b`, then a ReLU when asked, on the device of
//! its operands.
//!
//! On the CPU it is the product, the bias addition and the ReLU one after the other (the same
//! kernels, in the same order, as the three tensor ops). On a GPU it is one kernel: the matrix
//! product adds the bias and applies the ReLU to each sum before it writes it (the `Epilogue`
//! of `kernels/src/wgpu/matmul.rs`), where the three ops would be three passes over `y`.
//!
//! The gradients of the kernel and the bias can be written into tensors given to them (`into`):
//! an optimizer that keeps every gradient in one flat buffer asks for that, and then updates
//! all the parameters in one dispatch (`astrograd_optim`'s `flat` module).
//!
//! # Shapes
//! `x: (N, …, in)`, `w: (in, units)`, `bias: (units)` → `y: (N, …, units)`.
use super::conv::check_shape;
use crate::{Result, Tensor, TensorError, UnaryOp};

/// `y = x·W + b` (`relu`: `relu(x·W + b)`).
///
/// # Errors
/// [`TensorError::Shape`] naming `dense` if `w` is not a matrix, `x`'s last axis is not `w`'s
/// first, or `bias` is not `(units)`; [`TensorError::Device`] if the operands are on different
/// devices; GPU errors.
pub fn dense_forward(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, relu: bool) -> Result<Tensor> {
    const OP: &str = "dense";
    let (inputs, units) = match (w.shape(), x.shape().last()) {
        (&[inputs, units], Some(&last)) if last == inputs => (inputs, units),
        _ => {
            return Err(TensorError::Shape {
                op: OP,
                expected: "x (N, …, in) and a kernel w (in, units)".into(),
                found: format!("x of shape {:?}, w of shape {:?}", x.shape(), w.shape()),
            })
        }
    };
    if let Some(b) = bias {
        check_shape(OP, "bias", b, &[units])?;
    }
    #[cfg(not(feature = "wgpu"))]
    let _ = inputs;
    // A kernel of no inputs (y = b) takes the chained ops below, on either device.
    #[cfg(feature = "wgpu")]
    if let Some(rows) = x.numel().checked_div(inputs) {
        let operands: Vec<&Tensor> = [x, w].into_iter().chain(bias).collect();
        if let Some(buffers) = crate::gpu::all_on_gpu(OP, &operands)? {
            use astrograd_kernels::wgpu::matmul::{matmul_with, Epilogue, MatmulGeometry};
            // y: (rows, units), every leading axis of x folded into the rows.
            let mut out_shape = x.shape().to_vec();
            if let Some(last) = out_shape.last_mut() {
                *last = units;
            }
            let y = astrograd_kernels::wgpu::GpuBuffer::uninit(rows * units)?;
            let epilogue = Epilogue {
                bias: buffers.get(2).copied(),
                relu,
            };
            let g = MatmulGeometry::row_major(1, rows, inputs, units);
            matmul_with(&g, buffers[0], buffers[1], 0.0, &y, epilogue)?;
            return Ok(Tensor::from_gpu(y, &out_shape));
        }
    }
    let z = x.matmul(w)?;
    let z = match bias {
        Some(b) => z.add(b)?,
        None => z,
    };
    Ok(if relu { z.unary(UnaryOp::Relu) } else { z })
}

/// `dW = xᵀ · dz`, every leading axis of `x` and `dz` folded into the rows:
/// `(rows, in)ᵀ · (rows, units)`. On the GPU written into `into` when it is given.
///
/// # Errors
/// [`TensorError::Shape`] if `x` and `dz` do not have the same leading axes; a shape error if
/// `into` is not `(in, units)`; GPU errors.
pub fn dense_backward_kernel(dz: &Tensor, x: &Tensor, into: Option<&Tensor>) -> Result<Tensor> {
    let (inputs, units) = (last_axis(x), last_axis(dz));
    let rows = x.numel().checked_div(inputs).unwrap_or(0);
    let x2 = x.reshape(&[rows, inputs])?;
    let dz2 = dz.reshape(&[rows, units])?;
    x2.matmul_t_into(&dz2, true, false, into)
}

/// `db = Σ_rows dz`: the bias was added to every row, `(N, …, units)` → `(units)`. On the GPU
/// written into `into` when it is given.
///
/// # Errors
/// A shape error if `into` is not `(units)`; GPU errors.
pub fn dense_backward_bias(dz: &Tensor, into: Option<&Tensor>) -> Result<Tensor> {
    let units = last_axis(dz);
    #[cfg(feature = "wgpu")]
    if let (Some(dz_buffer), Some(rows)) = (
        dz.gpu_buffer(),
        dz.numel().checked_div(units).filter(|&rows| rows > 0),
    ) {
        use astrograd_kernels::wgpu::reduce::{reduce, Reduction};
        // The rows are one axis of consecutive numbers: the same sums, in the same order, as
        // reducing every leading axis of dz.
        let db = crate::gpu::Output::new("dense_backward_bias", &[units], into)?;
        reduce(Reduction::Sum, dz_buffer, &[rows, units], &[0], db.buffer())?;
        return Ok(db.finish(&[units]));
    }
    #[cfg(not(feature = "wgpu"))]
    let _ = into;
    dz.sum_to_shape(&[units])
}

/// The size of the last axis (1 for a scalar).
fn last_axis(t: &Tensor) -> usize {
    t.shape().last().copied().unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_that_do_not_fit_are_errors_naming_dense() {
        let x = Tensor::zeros(&[4, 3]);
        for (w, b) in [
            (Tensor::zeros(&[2, 5]), None),
            (Tensor::zeros(&[3, 5, 1]), None),
            (Tensor::zeros(&[3, 5]), Some(Tensor::zeros(&[4]))),
        ] {
            let err = dense_forward(&x, &w, b.as_ref(), false).unwrap_err();
            assert!(err.to_string().contains("dense"), "{err}");
        }
        let y = dense_forward(
            &Tensor::zeros(&[2, 7, 3]),
            &Tensor::ones(&[3, 5]),
            None,
            true,
        );
        assert_eq!(y.unwrap().shape(), &[2, 7, 5]);
    }

    /// On the CPU the op is the three tensor ops chained, bit for bit.
    #[test]
    fn on_the_cpu_it_is_the_product_the_bias_and_the_relu_chained() {
        crate::set_seed(5);
        let x = Tensor::rand_uniform(&[6, 4, 9], -1.0, 1.0);
        let w = Tensor::rand_uniform(&[9, 7], -1.0, 1.0);
        let b = Tensor::rand_uniform(&[7], -1.0, 1.0);
        let chained = x.matmul(&w).unwrap().add(&b).unwrap();
        assert_eq!(dense_forward(&x, &w, Some(&b), false).unwrap(), chained);
        let relu = chained.unary(UnaryOp::Relu);
        assert_eq!(dense_forward(&x, &w, Some(&b), true).unwrap(), relu);
        assert_eq!(
            dense_forward(&x, &w, None, false).unwrap(),
            x.matmul(&w).unwrap()
        );
    }

    /// On the GPU, one kernel gives the CPU's numbers (within the products' rounding), with a
    /// bias or without, with a ReLU or without, for a batch with extra leading axes too.
    #[cfg(feature = "wgpu")]
    #[test]
    fn on_the_gpu_the_epilogue_gives_the_cpu_numbers() {
        let Some(gpu) = crate::gpu::gpu_or_skip() else {
            return;
        };
        crate::set_seed(6);
        for x_shape in [vec![33, 70], vec![3, 5, 70], vec![4, 0]] {
            let inputs = *x_shape.last().unwrap();
            let x = Tensor::rand_uniform(&x_shape, -1.0, 1.0);
            let w = Tensor::rand_uniform(&[inputs, 19], -1.0, 1.0);
            let b = Tensor::rand_uniform(&[19], -1.0, 1.0);
            for (bias, relu) in [
                (None, false),
                (Some(&b), false),
                (Some(&b), true),
                (None, true),
            ] {
                let cpu = dense_forward(&x, &w, bias, relu).unwrap();
                let on_gpu = |t: &Tensor| t.to(gpu).unwrap();
                let gpu_bias = bias.map(on_gpu);
                let y = dense_forward(&on_gpu(&x), &on_gpu(&w), gpu_bias.as_ref(), relu).unwrap();
                assert_eq!(y.device(), gpu);
                assert_eq!(y.shape(), cpu.shape());
                let (y, cpu) = (y.to_vec().unwrap(), cpu.to_vec().unwrap());
                let worst = y
                    .iter()
                    .zip(&cpu)
                    .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
                    .fold(0.0, f32::max);
                assert!(
                    worst < 1e-5,
                    "{x_shape:?}, bias {}, relu {relu}: {worst}",
                    bias.is_some()
                );
            }
        }
    }
}
