//! Leaky ReLU: `out = x` for `x > 0`, `α·x` otherwise.
//!
//! # Math
//! `∂out/∂x = 1` for `x > 0`, `α` otherwise: `dx = dout · (x > 0 ? 1 : α)`. At `x = 0` the
//! slope is `α`, as TF's `LeakyReluGrad`.
//!
//! **Two Keras defaults.** The layer `tf.keras.layers.LeakyReLU()` uses `α = 0.3`; the
//! activation string `activation='leaky_relu'` resolves (TF 2.10) to `tf.nn.leaky_relu`, whose
//! default is `α = 0.2`. Pass the one you mean; both are pinned by the Keras parity test.
//!
//! # Shapes
//! `x`, `out`: the same shape.
use astrograd_tensor::{Tensor, UnaryOp};

use crate::{AutogradError, Result, Var};

impl Var {
    /// Leaky ReLU with negative slope `alpha`. See [`leaky_relu`].
    pub fn leaky_relu(&self, alpha: f32) -> Result<Var> {
        leaky_relu(self, alpha)
    }
}

/// `x` for `x > 0`, `alpha · x` otherwise (Keras layer default `alpha = 0.3`, `tf.nn` and the
/// `'leaky_relu'` string default `0.2`).
///
/// # Errors
/// [`AutogradError::Invalid`] if `alpha` is not finite.
pub fn leaky_relu(x: &Var, alpha: f32) -> Result<Var> {
    if !alpha.is_finite() {
        return Err(AutogradError::Invalid {
            op: "leaky_relu",
            expected: "a finite negative slope alpha (Keras: 0.3 for the layer, 0.2 for tf.nn)"
                .into(),
            found: format!("alpha = {alpha}"),
        });
    }
    let x_value = x.value();
    let y = x_value.unary(UnaryOp::LeakyRelu(alpha));
    Ok(Var::from_op("leaky_relu", y, &[x], move |dout| {
        Ok(vec![Some(leaky_relu_backward(dout, &x_value, alpha)?)])
    }))
}

/// `dx = dout · (x > 0 ? 1 : α)`.
pub fn leaky_relu_backward(dout: &Tensor, x: &Tensor, alpha: f32) -> Result<Tensor> {
    Ok(dout.unary_backward(UnaryOp::LeakyRelu(alpha), x)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random_away_from_zero, shape};
    use proptest::prelude::*;

    #[test]
    fn values_and_gradient() {
        let x = Var::parameter(Tensor::from_vec(vec![-2.0, 0.0, 3.0], &[3]).unwrap());
        let y = x.leaky_relu(0.3).unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![-0.6, 0.0, 3.0]);
        y.sum_all().unwrap().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![0.3, 0.3, 1.0]);
    }

    #[test]
    fn a_non_finite_alpha_is_an_error() {
        let x = Var::constant(Tensor::ones(&[2]));
        let err = x.leaky_relu(f32::NAN).unwrap_err();
        assert!(
            matches!(
                err,
                AutogradError::Invalid {
                    op: "leaky_relu",
                    ..
                }
            ),
            "{err}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000, alpha in prop::sample::select(vec![0.2f32, 0.3, 0.01])) {
            let x = random_away_from_zero(&s, 0.1, 2.0, seed);
            gradcheck("leaky_relu", |v| v[0].leaky_relu(alpha), &[x]).unwrap();
        }
    }
}
