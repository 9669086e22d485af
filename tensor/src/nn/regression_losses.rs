//! Huber and mean-absolute-error losses (Keras `Huber`, `MeanAbsoluteError`), from the error
//! `e = y_pred − y_true`; the loops are in `kernels/src/cpu/regression_losses.rs`.
//!
//! # Devices
//! There is no GPU kernel yet: a GPU tensor is a [`crate::TensorError::Device`] that says so.
//!
//! # Shapes
//! `error: (…, d)` with `d ≥ 1`; losses (one per row): the shape without the last axis; their
//! upstream gradient `dloss` likewise; `dy_pred`: the shape of `error`.
use astrograd_kernels::cpu::regression_losses as cpu;

use crate::{Result, Tensor, TensorError};

/// The length `d` of the last axis of `error`, after checking that `error` is on the host and
/// that `dloss` (if given) holds one number per row.
fn rows_of(op: &'static str, error: &Tensor, dloss: Option<&Tensor>) -> Result<usize> {
    error.require_cpu(op)?;
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
/// [`TensorError::Shape`] if the last axis is missing or empty; a GPU tensor.
pub fn huber(error: &Tensor, delta: f32) -> Result<Tensor> {
    rows_of("huber", error, None)?;
    // values: the shape of error, one h(e) each
    let mut values = vec![0.0; error.numel()];
    cpu::huber_values(error.as_slice()?, delta, &mut values);
    let last = error.rank() - 1;
    Tensor::from_vec(values, error.shape())?.mean_axes(&[last], false)
}

/// `dp_nj = dloss_n · h′(e_nj)/d`.
///
/// # Errors
/// [`TensorError::Shape`] if `dloss` does not hold one number per row of `error`; a GPU tensor.
pub fn huber_backward(dloss: &Tensor, error: &Tensor, delta: f32) -> Result<Tensor> {
    let d = rows_of("huber_backward", error, Some(dloss))?;
    // dy_pred: the shape of error, written by the kernel
    let mut dy_pred = vec![0.0; error.numel()];
    cpu::huber_backward(dloss.as_slice()?, error.as_slice()?, d, delta, &mut dy_pred);
    Tensor::from_vec(dy_pred, error.shape())
}

/// Mean absolute error of each row: `mean_j |e_j|`.
///
/// # Errors
/// [`TensorError::Shape`] if the last axis is missing or empty; a GPU tensor (the backward
/// runs on the host, so the forward refuses one already).
pub fn mean_absolute_error(error: &Tensor) -> Result<Tensor> {
    rows_of("mean_absolute_error", error, None)?;
    let last = error.rank() - 1;
    error.abs().mean_axes(&[last], false)
}

/// `dp_nj = dloss_n · sign(e_nj)/d`, with `sign(0) = 0`.
///
/// # Errors
/// [`TensorError::Shape`] if `dloss` does not hold one number per row of `error`; a GPU tensor.
pub fn mean_absolute_error_backward(dloss: &Tensor, error: &Tensor) -> Result<Tensor> {
    let d = rows_of("mean_absolute_error_backward", error, Some(dloss))?;
    // dy_pred: the shape of error, written by the kernel
    let mut dy_pred = vec![0.0; error.numel()];
    cpu::mean_absolute_error_backward(dloss.as_slice()?, error.as_slice()?, d, &mut dy_pred);
    Tensor::from_vec(dy_pred, error.shape())
}
