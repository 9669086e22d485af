//! Scaled exponential linear unit: `out = λ·x` for `x > 0`, `λ·α·(eˣ − 1)` otherwise, with
//! Keras's constants `α = 1.67326324…`, `λ = 1.05070098…` (Klambauer et al. 2017: with
//! `lecun_normal` weights they keep activations near zero mean and unit variance).
//!
//! # Math
//! `∂out/∂x = λ` for `x > 0`, `λ·α·eˣ` otherwise: `dx = dout · (x > 0 ? λ : λ·α·eˣ)`.
//! At `x = 0` the slope is `λ`, as TF's `SeluGrad` (which tests `out < 0`).
//!
//! # Shapes
//! `x`, `out`: the same shape.
use astrograd_tensor::{Tensor, UnaryOp};

use crate::{Result, Var};

/// `α` of SELU, as in `tf.keras.activations.selu` (1.6732632423543772848170429916717).
pub const SELU_ALPHA: f32 = 1.673_263_2;
/// `λ`, the scale of SELU (1.0507009873554804934193349852946).
pub const SELU_SCALE: f32 = 1.050_701;

impl Var {
    /// SELU with Keras's constants. See [`selu`].
    pub fn selu(&self) -> Result<Var> {
        selu(self)
    }
}

/// `λ·x` for `x > 0`, `λ·α·(eˣ − 1)` otherwise: `tf.keras.activations.selu(x)`.
///
/// # Errors
/// None in practice; `Result` for uniformity with the other ops.
pub fn selu(x: &Var) -> Result<Var> {
    let x_value = x.value();
    let y = x_value.unary(UnaryOp::Selu);
    Ok(Var::from_op("selu", y, &[x], move |dout| {
        Ok(vec![Some(selu_backward(dout, &x_value)?)])
    }))
}

/// `dx = dout · (x > 0 ? λ : λ·α·eˣ)`.
pub fn selu_backward(dout: &Tensor, x: &Tensor) -> Result<Tensor> {
    Ok(dout.unary_backward(UnaryOp::Selu, x)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random_away_from_zero, shape};
    use proptest::prelude::*;

    #[test]
    fn values_and_gradient() {
        let x = Var::parameter(Tensor::from_vec(vec![-30.0, 0.0, 2.0], &[3]).unwrap());
        let y = x.selu().unwrap().value().to_vec().unwrap();
        // Large negative inputs saturate at −λα ≈ −1.7581.
        assert!((y[0] + 1.050_701 * 1.673_263_2).abs() < 1e-6);
        assert_eq!(&y[1..], &[0.0, 2.0 * SELU_SCALE]);
        x.selu().unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(
            &x.grad().unwrap().to_vec().unwrap()[1..],
            &[SELU_SCALE, SELU_SCALE]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000) {
            // Away from 0, where the slope jumps from λα to λ.
            let x = random_away_from_zero(&s, 0.1, 3.0, seed);
            gradcheck("selu", |v| v[0].selu(), &[x]).unwrap();
        }
    }
}
