//! Softplus: `out = ln(1 + eˣ)`, a smooth ReLU.
//!
//! # Math
//! `∂out/∂x = eˣ / (1 + eˣ) = σ(x)`: `dx = dout · σ(x)`.
//!
//! **Stability:** `ln(1 + eˣ)` overflows for `x > 88` and loses everything below `1e-7` to
//! the `1 +`. Rewriting `ln(1 + eˣ) = max(x, 0) + ln(1 + e^(−|x|))`, the exponent is never
//! positive, and `ln_1p` keeps the small term accurate.
//!
//! # Shapes
//! `x`, `out`: the same shape.
use astrograd_tensor::{Tensor, UnaryOp};

use crate::{Result, Var};

impl Var {
    /// `ln(1 + eˣ)` elementwise. See [`softplus`].
    pub fn softplus(&self) -> Result<Var> {
        softplus(self)
    }
}

/// `ln(1 + eˣ)` elementwise, computed stably: `tf.keras.activations.softplus(x)`.
///
/// # Errors
/// None in practice; `Result` for uniformity with the other ops.
pub fn softplus(x: &Var) -> Result<Var> {
    let x_value = x.value();
    let y = x_value.unary(UnaryOp::Softplus);
    Ok(Var::from_op("softplus", y, &[x], move |dout| {
        Ok(vec![Some(softplus_backward(dout, &x_value)?)])
    }))
}

/// `dx = dout · σ(x)`.
pub fn softplus_backward(dout: &Tensor, x: &Tensor) -> Result<Tensor> {
    Ok(dout.unary_backward(UnaryOp::Softplus, x)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use proptest::prelude::*;

    #[test]
    fn values_and_large_inputs() {
        let x = Var::parameter(Tensor::from_vec(vec![0.0, 100.0, -100.0, -20.0], &[4]).unwrap());
        let y = x.softplus().unwrap();
        let values = y.value().to_vec().unwrap();
        assert!((values[0] - 2f32.ln()).abs() < 1e-7);
        assert_eq!(values[1], 100.0); // no overflow
        assert!(values[2] > 0.0 && values[2] < 1e-43); // e⁻¹⁰⁰, subnormal
        assert!((values[3] - (-20.0f32).exp()).abs() < 1e-14); // not lost to 1 + tiny
        y.sum_all().unwrap().backward().unwrap();
        let dx = x.grad().unwrap().to_vec().unwrap();
        assert_eq!(&dx[..2], &[0.5, 1.0]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000) {
            let x = random(&s, -4.0, 4.0, seed);
            let y = softplus(&Var::constant(x.clone())).unwrap().value();
            for (&x, &y) in x.as_slice().unwrap().iter().zip(y.as_slice().unwrap()) {
                prop_assert!((y - x.exp().ln_1p()).abs() < 1e-6);
            }
            gradcheck("softplus", |v| v[0].softplus(), &[x]).unwrap();
        }
    }
}
