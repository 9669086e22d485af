//! Mean squared error, Keras's `MeanSquaredError` with reduction NONE: one loss per sample,
//! the mean of the squared error over the last axis. (Keras's default reduction, the mean over
//! the batch, is `.mean_all()` on the result.)
//!
//! # Math
//! `loss_n = (1/d) Σ_j (p_nj − t_nj)²`, so `∂loss_n/∂p_nj = 2·(p_nj − t_nj)/d`.
//!
//! Composed from [`sub`](super::sub), [`mul`](super::mul) (the error times itself) and
//! [`mean`](super::mean), whose backwards give exactly this gradient: no hand-written backward.
//!
//! # Shapes
//! `y_pred: (N, d)` (any rank ≥ 1: the mean runs over the last axis); `y_true`: the same shape,
//! or without the last axis when that axis is 1 (targets `(N,)` for predictions `(N, 1)`, which
//! Keras expands the same way); out: `y_pred`'s shape without its last axis, `(N,)`.
//!
//! The shape rule is shared by the per-sample losses ([`mean_absolute_error`](super::mae),
//! [`huber`](super::huber), [`binary_crossentropy`](super::binary_crossentropy)) through
//! `loss_targets` (crate-private).
use astrograd_tensor::Tensor;

use crate::{AutogradError, Result, Var};

impl Var {
    /// Per-sample mean squared error of the predictions `self`. See [`mean_squared_error`].
    pub fn mean_squared_error(&self, y_true: &Tensor) -> Result<Var> {
        mean_squared_error(self, y_true)
    }
}

/// Per-sample mean squared error: `loss_n = mean_j (y_pred − y_true)²`, shape `(N,)`.
///
/// ```
/// use astrograd_autograd::{Tensor, Var};
/// let y_pred = Var::parameter(Tensor::from_vec(vec![1.0, 2.0, 0.0, 0.0], &[2, 2])?);
/// let y_true = Tensor::from_vec(vec![0.0, 0.0, 0.0, 3.0], &[2, 2])?;
/// assert_eq!(y_pred.mean_squared_error(&y_true)?.value().to_vec()?, vec![2.5, 4.5]);
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// [`AutogradError::Invalid`] naming `mean_squared_error` if the shapes do not match (see
/// `loss_targets`) or the last axis is empty.
pub fn mean_squared_error(y_pred: &Var, y_true: &Tensor) -> Result<Var> {
    let y_true = loss_targets("mean_squared_error", &y_pred.shape(), y_true)?;
    let error = y_pred.sub(&Var::constant(y_true))?;
    let last = error.shape().len() - 1;
    error.mul(&error)?.mean_axes(&[last], false)
}

/// Checks the targets of a per-sample loss (mean over the last axis) and returns them in
/// `y_pred`'s shape.
///
/// Accepted: `y_true` of `y_pred`'s shape, or of `y_pred`'s shape without a last axis of size 1
/// (Keras expands `(N,)` to `(N, 1)` in the same case).
///
/// # Errors
/// [`AutogradError::Invalid`] naming `op` if `y_pred` is a scalar or its last axis is empty (no
/// mean to take), or if the shapes match neither way.
pub(crate) fn loss_targets(
    op: &'static str,
    y_pred_shape: &[usize],
    y_true: &Tensor,
) -> Result<Tensor> {
    if y_pred_shape.last().is_none_or(|&d| d == 0) {
        return Err(AutogradError::Invalid {
            op,
            expected: "predictions with a non-empty last axis to average over, e.g. (N, d)".into(),
            found: format!("y_pred of shape {y_pred_shape:?}"),
        });
    }
    let same = y_true.shape() == y_pred_shape;
    let expandable = y_pred_shape.last() == Some(&1)
        && y_true.shape() == &y_pred_shape[..y_pred_shape.len() - 1];
    if !same && !expandable {
        return Err(AutogradError::Invalid {
            op,
            expected: format!("y_true of the shape of y_pred {y_pred_shape:?}"),
            found: format!("y_true of shape {:?}", y_true.shape()),
        });
    }
    Ok(y_true.reshape(y_pred_shape)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::random;
    use proptest::prelude::*;

    #[test]
    fn values_gradient_and_expanded_targets() {
        let y_pred = Var::parameter(Tensor::from_vec(vec![1.0, 2.0, 0.0, 0.0], &[2, 2]).unwrap());
        let y_true = Tensor::from_vec(vec![0.0, 0.0, 0.0, 3.0], &[2, 2]).unwrap();
        let losses = mean_squared_error(&y_pred, &y_true).unwrap();
        assert_eq!(losses.value().to_vec().unwrap(), vec![2.5, 4.5]);
        losses.sum_all().unwrap().backward().unwrap();
        assert_eq!(
            y_pred.grad().unwrap().to_vec().unwrap(),
            vec![1.0, 2.0, 0.0, -3.0]
        ); // 2e/d
           // (N,) targets for (N, 1) predictions.
        let column = Var::constant(Tensor::from_vec(vec![1.0, 2.0], &[2, 1]).unwrap());
        let targets = Tensor::from_vec(vec![0.0, 0.0], &[2]).unwrap();
        assert_eq!(
            column
                .mean_squared_error(&targets)
                .unwrap()
                .value()
                .to_vec()
                .unwrap(),
            vec![1.0, 4.0]
        );
    }

    #[test]
    fn mismatched_shapes_are_errors_naming_the_op() {
        let y_pred = Var::constant(Tensor::zeros(&[2, 3]));
        let err = y_pred
            .mean_squared_error(&Tensor::zeros(&[3, 2]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mean_squared_error") && err.contains("[2, 3]") && err.contains("[3, 2]"),
            "{err}"
        );
        assert!(y_pred.mean_squared_error(&Tensor::zeros(&[2])).is_err()); // only a last axis of 1 expands
        let empty = Var::constant(Tensor::zeros(&[2, 0]));
        assert!(empty.mean_squared_error(&Tensor::zeros(&[2, 0])).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(n in 1usize..5, d in 1usize..5, seed in 0u64..1000) {
            let y_pred = random(&[n, d], -2.0, 2.0, seed);
            let y_true = random(&[n, d], -2.0, 2.0, seed + 1);
            gradcheck("mean_squared_error", |v| mean_squared_error(&v[0], &y_true), &[y_pred]).unwrap();
        }
    }
}
