//! Logistic sigmoid: `out = σ(x) = 1 / (1 + e⁻ˣ)`.
//!
//! # Math
//! `σ'(x) = σ(x)·(1 − σ(x))`, so the backward needs only the saved output:
//! `dx = dout · out · (1 − out)`.
//!
//! **Stability:** for large negative `x`, `e⁻ˣ` overflows to `+∞`. That still gives the right 0,
//! but the mirror form `eˣ / (1 + eˣ)` for `x < 0` never overflows and keeps full relative
//! precision for tiny outputs, so [`stable_sigmoid`] uses whichever exponent is ≤ 0.
//!
//! # Shapes
//! `x`, `out`: the same shape.
use astrograd_tensor::{Tensor, UnaryOp};

use crate::{Result, Var};

impl Var {
    /// `1 / (1 + e⁻ˣ)` elementwise. See [`sigmoid`].
    pub fn sigmoid(&self) -> Result<Var> {
        sigmoid(self)
    }
}

/// `σ(x)` for one number, with an exponent that is never positive (no overflow).
pub use astrograd_kernels::elementwise::stable_sigmoid;

/// `σ(x)` elementwise: `tf.keras.activations.sigmoid(x)`.
///
/// # Errors
/// None in practice; `Result` for uniformity with the other ops.
pub fn sigmoid(x: &Var) -> Result<Var> {
    let y = x.value().unary(UnaryOp::Sigmoid);
    let saved_y = y.clone();
    Ok(Var::from_op("sigmoid", y, &[x], move |dout| {
        Ok(vec![Some(sigmoid_backward(dout, &saved_y)?)])
    }))
}

/// `dx = dout · y · (1 − y)`, with `y = σ(x)` saved by the forward.
pub fn sigmoid_backward(dout: &Tensor, y: &Tensor) -> Result<Tensor> {
    Ok(dout.unary_backward(UnaryOp::Sigmoid, y)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use proptest::prelude::*;

    #[test]
    fn values_and_large_inputs() {
        let x = Var::parameter(Tensor::from_vec(vec![0.0, -100.0, 100.0, -90.0], &[4]).unwrap());
        let y = x.sigmoid().unwrap();
        let values = y.value().to_vec().unwrap();
        assert_eq!([values[0], values[2]], [0.5, 1.0]);
        // e⁻¹⁰⁰ ≈ 3.7e-44 and e⁻⁹⁰ ≈ 8.2e-40 are subnormal in f32, but kept, not lost to 1/(1 + ∞).
        assert!(values[1] > 0.0 && values[1] < 1e-43);
        assert!(values[3] > 0.0 && values[3] < 1e-38);
        y.sum_all().unwrap().backward().unwrap();
        let dx = x.grad().unwrap().to_vec().unwrap();
        assert_eq!([dx[0], dx[2]], [0.25, 0.0]);
        assert!(dx.iter().all(|d| d.is_finite() && *d >= 0.0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000) {
            let x = random(&s, -4.0, 4.0, seed);
            let y = sigmoid(&Var::constant(x.clone())).unwrap().value();
            for (&x, &y) in x.as_slice().unwrap().iter().zip(y.as_slice().unwrap()) {
                prop_assert!((y - 1.0 / (1.0 + (-x).exp())).abs() < 1e-6);
            }
            gradcheck("sigmoid", |v| v[0].sigmoid(), &[x]).unwrap();
        }
    }
}
