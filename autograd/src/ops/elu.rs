//! Exponential linear unit: `out = x` for `x > 0`, `α·(eˣ − 1)` otherwise.
//!
//! # Math
//! `∂out/∂x = 1` for `x > 0`, `α·eˣ` otherwise: `dx = dout · (x > 0 ? 1 : α·eˣ)`.
//! For `α = 1` the two slopes meet at 0, so the function is smooth there; at `x = 0` we use
//! `α·e⁰ = α`, which is what TF 2.10 gives (Keras computes `tf.where(x > 0, elu, α·elu)`).
//!
//! # Shapes
//! `x`, `out`: the same shape.
use astrograd_tensor::{Tensor, UnaryOp};

use crate::{AutogradError, Result, Var};

impl Var {
    /// ELU with scale `alpha` for negative inputs (Keras default 1.0). See [`elu`].
    pub fn elu(&self, alpha: f32) -> Result<Var> {
        elu(self, alpha)
    }
}

/// `x` for `x > 0`, `alpha · (eˣ − 1)` otherwise: `tf.keras.activations.elu(x, alpha=1.0)`
/// (`activation='elu'` uses `alpha = 1.0`).
///
/// # Errors
/// [`AutogradError::Invalid`] if `alpha` is not finite.
pub fn elu(x: &Var, alpha: f32) -> Result<Var> {
    if !alpha.is_finite() {
        return Err(AutogradError::Invalid {
            op: "elu",
            expected: "a finite alpha (Keras default 1.0)".into(),
            found: format!("alpha = {alpha}"),
        });
    }
    let x_value = x.value();
    // exp_m1 keeps eˣ − 1 accurate for x near 0.
    let y = x_value.unary(UnaryOp::Elu(alpha));
    Ok(Var::from_op("elu", y, &[x], move |dout| {
        Ok(vec![Some(elu_backward(dout, &x_value, alpha)?)])
    }))
}

/// `dx = dout · (x > 0 ? 1 : α·eˣ)`.
pub fn elu_backward(dout: &Tensor, x: &Tensor, alpha: f32) -> Result<Tensor> {
    Ok(dout.unary_backward(UnaryOp::Elu(alpha), x)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random_away_from_zero, shape};
    use proptest::prelude::*;

    #[test]
    fn values_and_gradient() {
        let x = Var::parameter(Tensor::from_vec(vec![-1.0, 0.0, 2.0], &[3]).unwrap());
        let y = x.elu(0.5).unwrap();
        let expected = [0.5 * ((-1.0f32).exp() - 1.0), 0.0, 2.0];
        for (a, e) in y.value().to_vec().unwrap().iter().zip(expected) {
            assert!((a - e).abs() < 1e-7, "{a} vs {e}");
        }
        y.sum_all().unwrap().backward().unwrap();
        let dx = x.grad().unwrap().to_vec().unwrap();
        assert!((dx[0] - 0.5 * (-1.0f32).exp()).abs() < 1e-7);
        assert_eq!(&dx[1..], &[0.5, 1.0]); // α at x = 0, as TF
    }

    #[test]
    fn a_non_finite_alpha_is_an_error() {
        let x = Var::constant(Tensor::ones(&[2]));
        assert!(matches!(
            x.elu(f32::INFINITY),
            Err(AutogradError::Invalid { op: "elu", .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000, alpha in prop::sample::select(vec![1.0f32, 0.5, 2.0])) {
            // Away from 0, where the slope jumps unless α = 1.
            let x = random_away_from_zero(&s, 0.1, 3.0, seed);
            gradcheck("elu", |v| v[0].elu(alpha), &[x]).unwrap();
        }
    }
}
