//! Mean absolute error, Keras's `MeanAbsoluteError` with reduction NONE: one loss per sample,
//! the mean of `|y_pred − y_true|` over the last axis.
//!
//! # Math
//! With the error `e = p − t`: `loss_n = (1/d) Σ_j |e_nj|`, so
//! `∂loss_n/∂p_nj = sign(e_nj)/d` and `dp_nj = dloss_n · sign(e_nj)/d`.
//! At `e = 0` the kink gets the subgradient `sign(0) = 0`, as TF's `abs` gives.
//!
//! # Shapes
//! As [`mean_squared_error`](super::mse): `y_pred: (N, d)`, `y_true` the same (or `(N,)` for
//! `(N, 1)`), out `(N,)`.
use astrograd_tensor::nn::regression_losses as nn;
use astrograd_tensor::Tensor;

use super::mse::loss_targets;
use crate::{Result, Var};

impl Var {
    /// Per-sample mean absolute error of the predictions `self`. See [`mean_absolute_error`].
    pub fn mean_absolute_error(&self, y_true: &Tensor) -> Result<Var> {
        mean_absolute_error(self, y_true)
    }
}

/// Per-sample mean absolute error: `loss_n = mean_j |y_pred − y_true|`, shape `(N,)`.
///
/// ```
/// use astrograd_autograd::{Tensor, Var};
/// let y_pred = Var::constant(Tensor::from_vec(vec![1.0, -2.0], &[1, 2])?);
/// let y_true = Tensor::from_vec(vec![0.0, 0.0], &[1, 2])?;
/// assert_eq!(y_pred.mean_absolute_error(&y_true)?.value().to_vec()?, vec![1.5]);
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// [`AutogradError::Invalid`](crate::AutogradError::Invalid) naming `mean_absolute_error` if
/// the shapes do not match or the last axis is empty.
pub fn mean_absolute_error(y_pred: &Var, y_true: &Tensor) -> Result<Var> {
    let y_true = loss_targets("mean_absolute_error", &y_pred.shape(), y_true)?;
    // error: the shape of y_pred
    let error = y_pred.value().sub(&y_true)?;
    // losses: one per row; the backward is a host loop, so a GPU tensor is an error already here
    let losses = nn::mean_absolute_error(&error)?;
    Ok(Var::from_op(
        "mean_absolute_error",
        losses,
        &[y_pred],
        move |dout| Ok(vec![Some(mean_absolute_error_backward(dout, &error)?)]),
    ))
}

/// `dp_nj = dloss_n · sign(e_nj)/d`, with `sign(0) = 0`.
///
/// # Errors
/// A tensor on the GPU (this op runs on the host), or a `dout` without one number per row.
pub fn mean_absolute_error_backward(dout: &Tensor, error: &Tensor) -> Result<Tensor> {
    Ok(nn::mean_absolute_error_backward(dout, error)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, random_away_from_zero};
    use proptest::prelude::*;

    #[test]
    fn values_and_the_gradient_at_the_kink() {
        let y_pred = Var::parameter(Tensor::from_vec(vec![1.0, -2.0, 3.0, 0.5], &[2, 2]).unwrap());
        let y_true = Tensor::from_vec(vec![0.0, 0.0, 3.0, 1.5], &[2, 2]).unwrap();
        let losses = y_pred.mean_absolute_error(&y_true).unwrap();
        assert_eq!(losses.value().to_vec().unwrap(), vec![1.5, 0.5]);
        losses.sum_all().unwrap().backward().unwrap();
        assert_eq!(
            y_pred.grad().unwrap().to_vec().unwrap(),
            vec![0.5, -0.5, 0.0, -0.5]
        );
    }

    #[test]
    fn mismatched_shapes_are_errors_naming_the_op() {
        let y_pred = Var::constant(Tensor::zeros(&[2, 3]));
        let err = y_pred
            .mean_absolute_error(&Tensor::zeros(&[2, 4]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mean_absolute_error") && err.contains("[2, 4]"),
            "{err}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(n in 1usize..5, d in 1usize..5, seed in 0u64..1000) {
            // Errors at least 0.1 from the kink at 0, where finite differences are meaningless.
            let y_true = random(&[n, d], -1.0, 1.0, seed);
            let y_pred = y_true.add(&random_away_from_zero(&[n, d], 0.1, 1.0, seed + 1)).unwrap();
            gradcheck("mean_absolute_error", |v| mean_absolute_error(&v[0], &y_true), &[y_pred]).unwrap();
        }
    }
}
