//! Huber loss, Keras's `Huber(delta)` with reduction NONE: squared for small errors, linear for
//! large ones, averaged over the last axis.
//!
//! # Math
//! With the error `e = p − t` and `δ > 0` (Keras default 1.0):
//!
//! ```text
//! h(e) = ½ e²           if |e| ≤ δ         h′(e) = e
//!        δ|e| − ½ δ²    otherwise          h′(e) = δ · sign(e)
//! loss_n = (1/d) Σ_j h(e_nj)               dp_nj = dloss_n · h′(e_nj)/d
//! ```
//!
//! Both pieces meet with the same value and slope at `|e| = δ`, so the loss is smooth enough
//! for gradient descent while a single outlier pulls with at most `δ`, not with its full error.
//!
//! # Shapes
//! As [`mean_squared_error`](super::mse): `y_pred: (N, d)`, `y_true` the same (or `(N,)` for
//! `(N, 1)`), out `(N,)`.
use astrograd_tensor::nn::regression_losses as nn;
use astrograd_tensor::Tensor;

use super::mse::loss_targets;
use crate::{AutogradError, Result, Var};

/// Keras's default `delta` of `tf.keras.losses.Huber`.
pub const HUBER_DEFAULT_DELTA: f32 = 1.0;

impl Var {
    /// Per-sample Huber loss of the predictions `self`. See [`huber`].
    pub fn huber(&self, y_true: &Tensor, delta: f32) -> Result<Var> {
        huber(self, y_true, delta)
    }
}

/// Per-sample Huber loss with threshold `delta` ([`HUBER_DEFAULT_DELTA`] in Keras), shape `(N,)`.
///
/// ```
/// use astrograd_autograd::ops::huber::HUBER_DEFAULT_DELTA;
/// use astrograd_autograd::{Tensor, Var};
/// let y_pred = Var::constant(Tensor::from_vec(vec![0.5, 3.0], &[1, 2])?);
/// let y_true = Tensor::zeros(&[1, 2]);
/// // (½·0.5² + (3 − ½)) / 2
/// assert_eq!(y_pred.huber(&y_true, HUBER_DEFAULT_DELTA)?.value().to_vec()?, vec![1.3125]);
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// [`AutogradError::Invalid`] naming `huber` if `delta` is not a positive finite number, the
/// shapes do not match, or the last axis is empty.
pub fn huber(y_pred: &Var, y_true: &Tensor, delta: f32) -> Result<Var> {
    if !(delta > 0.0 && delta.is_finite()) {
        return Err(AutogradError::Invalid {
            op: "huber",
            expected: "a positive finite delta".into(),
            found: format!("delta = {delta}"),
        });
    }
    let y_true = loss_targets("huber", &y_pred.shape(), y_true)?;
    // error: the shape of y_pred
    let error = y_pred.value().sub(&y_true)?;
    // losses: one per row; host loops, so a GPU tensor is an error, not a panic
    let losses = nn::huber(&error, delta)?;
    Ok(Var::from_op("huber", losses, &[y_pred], move |dout| {
        Ok(vec![Some(huber_backward(dout, &error, delta)?)])
    }))
}

/// `dp_nj = dloss_n · h′(e_nj)/d`, with `h′(e) = e` inside `±δ` and `δ·sign(e)` outside.
///
/// # Errors
/// A tensor on the GPU (this op runs on the host), or a `dout` without one number per row.
pub fn huber_backward(dout: &Tensor, error: &Tensor, delta: f32) -> Result<Tensor> {
    Ok(nn::huber_backward(dout, error, delta)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, random_away_from_zero};
    use proptest::prelude::*;

    #[test]
    fn values_and_gradients_on_both_sides_of_delta() {
        let y_pred = Var::parameter(Tensor::from_vec(vec![0.5, -3.0, 2.0, 0.0], &[2, 2]).unwrap());
        let y_true = Tensor::zeros(&[2, 2]);
        let losses = y_pred.huber(&y_true, 1.0).unwrap();
        // Row 0: (0.125 + 2.5)/2; row 1: (1.5 + 0)/2.
        assert_eq!(losses.value().to_vec().unwrap(), vec![1.3125, 0.75]);
        losses.sum_all().unwrap().backward().unwrap();
        assert_eq!(
            y_pred.grad().unwrap().to_vec().unwrap(),
            vec![0.25, -0.5, 0.5, 0.0]
        );
        // A larger delta keeps 2.0 in the quadratic part.
        let wide = Var::constant(Tensor::from_vec(vec![2.0], &[1, 1]).unwrap());
        assert_eq!(
            wide.huber(&Tensor::zeros(&[1, 1]), 3.0)
                .unwrap()
                .value()
                .to_vec()
                .unwrap(),
            vec![2.0]
        );
    }

    #[test]
    fn bad_delta_and_shapes_are_errors_naming_the_op() {
        let y_pred = Var::constant(Tensor::zeros(&[2, 3]));
        let err = y_pred
            .huber(&Tensor::zeros(&[2, 3]), -1.0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("huber") && err.contains("delta = -1"), "{err}");
        assert!(y_pred.huber(&Tensor::zeros(&[2, 3]), f32::NAN).is_err());
        let err = y_pred
            .huber(&Tensor::zeros(&[3]), 1.0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("huber") && err.contains("[3]"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(n in 1usize..5, d in 1usize..5, delta in 0.5f32..1.5, seed in 0u64..1000) {
            // Errors kept 0.1 away from ±δ, where h″ jumps and finite differences lose accuracy.
            let error = random_away_from_zero(&[n, d], 0.05, 2.5, seed)
                .map(|e| if (e.abs() - delta).abs() < 0.1 { e + 0.2 * e.signum() } else { e })
                .unwrap();
            let y_true = random(&[n, d], -1.0, 1.0, seed + 1);
            let y_pred = y_true.add(&error).unwrap();
            gradcheck("huber", |v| huber(&v[0], &y_true, delta), &[y_pred]).unwrap();
        }
    }
}
