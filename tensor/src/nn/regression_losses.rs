//! Huber and mean-absolute-error losses (Keras `Huber`, `MeanAbsoluteError`), from the error
//! `e = y_pred − y_true`, on the device of `error`.
//!
//! # Devices
//! The CPU runs the loops of `kernels/src/cpu/regression_losses.rs`. The GPU composes the same
//! math from elementwise kernels, with `q = min(|e|, δ)`:
//!
//! ```text
//! h(e)  = ½q² + δ(|e| − q)       (½e² inside ±δ, δ|e| − ½δ² outside)
//! h′(e) = clamp(e, −δ, δ)        |e|′ = sign(e)
//! ```
//!
//! # Shapes
//! `error: (…, d)` with `d ≥ 1`; losses (one per row): the shape without the last axis; their
//! upstream gradient `dloss` likewise; `dy_pred`: the shape of `error`.
use astrograd_kernels::cpu::regression_losses as cpu;

use crate::{Device, Result, Tensor, TensorError, UnaryOp};

/// The length `d` of the last axis of `error`, after checking that `dloss` (if given) holds
/// one number per row.
fn rows_of(op: &'static str, error: &Tensor, dloss: Option<&Tensor>) -> Result<usize> {
    let d = match error.shape().last() {
        Some(&d) if d > 0 => d,
        _ => {
            return Err(TensorError::Shape {
                op,
                expected: "an error of shape (…, d) with d ≥ 1".into(),
                found: format!("shape {:?}", error.shape()),
            })
        }
    };
    if let Some(dloss) = dloss {
        if dloss.numel() * d != error.numel() {
            return Err(TensorError::Shape {
                op,
                expected: format!("one upstream gradient per row of {:?}", error.shape()),
                found: format!("shape {:?}", dloss.shape()),
            });
        }
    }
    Ok(d)
}

/// Huber loss of each row: `mean_j h(e_j)`, `h(e) = ½e²` inside `±δ`, `δ|e| − ½δ²` outside.
///
/// # Errors
/// [`TensorError::Shape`] if the last axis is missing or empty.
pub fn huber(error: &Tensor, delta: f32) -> Result<Tensor> {
    rows_of("huber", error, None)?;
    let last = error.rank() - 1;
    if error.device() != Device::Cpu {
        // h = ½q² + δ(|e| − q) with q = min(|e|, δ), composed on the device
        let abs = error.abs();
        let q = abs.clamp(0.0, delta);
        let values = q
            .mul(&q)?
            .mul_scalar(0.5)
            .add(&abs.sub(&q)?.mul_scalar(delta))?;
        return values.mean_axes(&[last], false);
    }
    // values: the shape of error, one h(e) each
    let mut values = vec![0.0; error.numel()];
    cpu::huber_values(error.as_slice()?, delta, &mut values);
    Tensor::from_vec(values, error.shape())?.mean_axes(&[last], false)
}

/// `dloss_n · slope_nj / d` for each row of `slope: (…, d)`, on the device of `slope`: the
/// chain rule through a mean over the last axis.
fn times_dloss_over_d(slope: &Tensor, dloss: &Tensor, d: usize) -> Result<Tensor> {
    let rows = slope.numel() / d;
    let per_row = dloss.reshape(&[rows, 1])?.mul_scalar(1.0 / d as f32);
    slope
        .reshape(&[rows, d])?
        .mul(&per_row)?
        .reshape(slope.shape())
}

/// `dp_nj = dloss_n · h′(e_nj)/d`.
///
/// # Errors
/// [`TensorError::Shape`] if `dloss` does not hold one number per row of `error`;
/// [`TensorError::Device`] if `dloss` and `error` are on different devices.
pub fn huber_backward(dloss: &Tensor, error: &Tensor, delta: f32) -> Result<Tensor> {
    let d = rows_of("huber_backward", error, Some(dloss))?;
    if error.device() != Device::Cpu {
        return times_dloss_over_d(&error.clamp(-delta, delta), dloss, d);
    }
    // dy_pred: the shape of error, written by the kernel
    let mut dy_pred = vec![0.0; error.numel()];
    cpu::huber_backward(dloss.as_slice()?, error.as_slice()?, d, delta, &mut dy_pred);
    Tensor::from_vec(dy_pred, error.shape())
}

/// Mean absolute error of each row: `mean_j |e_j|`.
///
/// # Errors
/// [`TensorError::Shape`] if the last axis is missing or empty.
pub fn mean_absolute_error(error: &Tensor) -> Result<Tensor> {
    rows_of("mean_absolute_error", error, None)?;
    let last = error.rank() - 1;
    error.abs().mean_axes(&[last], false)
}

/// `dp_nj = dloss_n · sign(e_nj)/d`, with `sign(0) = 0`.
///
/// # Errors
/// [`TensorError::Shape`] if `dloss` does not hold one number per row of `error`;
/// [`TensorError::Device`] if `dloss` and `error` are on different devices.
pub fn mean_absolute_error_backward(dloss: &Tensor, error: &Tensor) -> Result<Tensor> {
    let d = rows_of("mean_absolute_error_backward", error, Some(dloss))?;
    if error.device() != Device::Cpu {
        return times_dloss_over_d(&error.unary(UnaryOp::Sign), dloss, d);
    }
    // dy_pred: the shape of error, written by the kernel
    let mut dy_pred = vec![0.0; error.numel()];
    cpu::mean_absolute_error_backward(dloss.as_slice()?, error.as_slice()?, d, &mut dy_pred);
    Tensor::from_vec(dy_pred, error.shape())
}

#[cfg(all(test, feature = "wgpu"))]
mod tests {
    use super::*;
    use crate::random::Rng;

    /// Both losses and both gradients give the CPU kernels' numbers on the GPU, with errors
    /// inside, outside and at the edge of Huber's ±δ, and at 0 for MAE's sign.
    #[test]
    fn the_gpu_composition_matches_the_cpu_kernels() {
        let Some(gpu) = crate::gpu::gpu_or_skip() else {
            return;
        };
        let mut rng = Rng::new(5);
        let mut error = Tensor::rand_uniform_with(&mut rng, &[6, 7], -3.0, 3.0);
        error.as_mut_slice().unwrap()[..3].copy_from_slice(&[0.0, 1.5, -1.5]);
        let dloss = Tensor::rand_uniform_with(&mut rng, &[6], -1.0, 1.0);
        let (ge, gd) = (error.to(gpu).unwrap(), dloss.to(gpu).unwrap());
        let close = |what: &str, on_gpu: Tensor, on_cpu: Tensor| {
            assert_eq!(on_gpu.device(), gpu, "{what}: left the GPU");
            assert!(
                on_gpu.all_close(&on_cpu, 1e-5, 1e-6),
                "{what}: {on_gpu} vs {on_cpu}"
            );
        };
        let delta = 1.5;
        close(
            "huber",
            huber(&ge, delta).unwrap(),
            huber(&error, delta).unwrap(),
        );
        close(
            "huber_backward",
            huber_backward(&gd, &ge, delta).unwrap(),
            huber_backward(&dloss, &error, delta).unwrap(),
        );
        close(
            "mean_absolute_error",
            mean_absolute_error(&ge).unwrap(),
            mean_absolute_error(&error).unwrap(),
        );
        close(
            "mean_absolute_error_backward",
            mean_absolute_error_backward(&gd, &ge).unwrap(),
            mean_absolute_error_backward(&dloss, &error).unwrap(),
        );
    }
}
