//! Log-softmax along an axis: `out_j = x_j − ln Σ_i e^(x_i)`, the logarithm of
//! [`softmax`](super::softmax), computed without ever forming a probability that could
//! underflow to 0 (whose log would be `−∞`).
//!
//! # Math
//! `∂out_j/∂x_i = δ_ij − softmax(x)_i`. Contracting with the upstream gradient:
//!
//! ```text
//! dx_i = Σ_j dout_j·(δ_ij − softmax_i) = dout_i − softmax(x)_i · Σ_j dout_j
//! dx   = dout − e^out ⊙ Σ_axis dout        (softmax(x) = e^out)
//! ```
//!
//! Fused like softmax: the forward is the stable row kernel [`log_softmax_rows`]
//! (`x − max − ln Σ e^(x − max)`), and the backward needs only the saved output.
//!
//! # Shapes
//! `x`, `out`: the same shape, rank ≥ 1; `axis < rank`.
use astrograd_tensor::nn::losses::log_softmax_rows;
use astrograd_tensor::Tensor;

use super::softmax::along_axis;
use crate::{Result, Var};

impl Var {
    /// Log-softmax along `axis` (Keras's `axis=-1` is `self.shape().len() - 1`).
    /// See [`log_softmax`].
    pub fn log_softmax(&self, axis: usize) -> Result<Var> {
        log_softmax(self, axis)
    }
}

/// Log-softmax along `axis`: `tf.nn.log_softmax(x, axis)`.
///
/// # Errors
/// An axis error naming `log_softmax` if `axis` is out of range (a scalar has no axis).
pub fn log_softmax(x: &Var, axis: usize) -> Result<Var> {
    let y = along_axis("log_softmax", &x.value(), axis, log_softmax_rows)?;
    let saved_y = y.clone();
    Ok(Var::from_op("log_softmax", y, &[x], move |dout| {
        Ok(vec![Some(log_softmax_backward(dout, &saved_y, axis)?)])
    }))
}

/// `dx = dout − e^y ⊙ Σ_axis dout`, with `y = log_softmax(x)` saved by the forward.
pub fn log_softmax_backward(dout: &Tensor, y: &Tensor, axis: usize) -> Result<Tensor> {
    // total: (x's shape with `axis` as 1), Σ_j dout_j for each slice.
    let total = dout.sum_axes(&[axis], true)?;
    Ok(dout.sub(&y.exp().mul(&total)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use crate::AutogradError;
    use proptest::prelude::*;

    #[test]
    fn values_and_extreme_logits() {
        let x =
            Var::constant(Tensor::from_vec(vec![0.0, 2f32.ln(), 50.0, -50.0], &[2, 2]).unwrap());
        let y = x.log_softmax(1).unwrap().value().to_vec().unwrap();
        assert!((y[0] - (1.0f32 / 3.0).ln()).abs() < 1e-6);
        assert!((y[1] - (2.0f32 / 3.0).ln()).abs() < 1e-6);
        // softmax would give exactly 0 for the second class (e⁻¹⁰⁰ underflows); its log is −100.
        assert_eq!(y[2], 0.0);
        assert_eq!(y[3], -100.0);
    }

    #[test]
    fn a_bad_axis_is_an_error() {
        let x = Var::constant(Tensor::ones(&[2, 3]));
        let err = x.log_softmax(5).unwrap_err();
        assert!(matches!(err, AutogradError::Tensor(_)), "{err}");
        assert!(err.to_string().contains("log_softmax"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn gradcheck_random_shapes_and_axes(s in shape(3, 4), pick in 0usize..3, seed in 0u64..1000) {
            let axis = pick % s.len();
            let x = random(&s, -2.0, 2.0, seed);
            // log_softmax = ln(softmax) where softmax does not underflow.
            let y = log_softmax(&Var::constant(x.clone()), axis).unwrap().value();
            let ln_p = Var::constant(x.clone()).softmax(axis).unwrap().value().ln();
            prop_assert!(y.all_close(&ln_p, 1e-5, 1e-5));
            gradcheck("log_softmax", |v| v[0].log_softmax(axis), &[x]).unwrap();
        }
    }
}
