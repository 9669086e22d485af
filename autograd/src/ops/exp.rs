//! Exponential: `out = eˣ`.
//!
//! # Math
//! `∂out/∂x = eˣ = out`, so the backward reuses the forward's result: `dx = dout · out`.
//!
//! # Shapes
//! `x`, `out`: the same shape.
use astrograd_tensor::Tensor;

use crate::{Result, Var};

impl Var {
    /// `eˣ` elementwise. See [`exp`].
    pub fn exp(&self) -> Result<Var> {
        exp(self)
    }
}

/// `eˣ` elementwise. Overflows to `+∞` above about 88.7, as any f32 `exp`.
///
/// # Errors
/// None in practice; `Result` for uniformity with the other ops.
pub fn exp(x: &Var) -> Result<Var> {
    let y = x.value().exp();
    let saved_y = y.clone();
    Ok(Var::from_op("exp", y, &[x], move |dout| {
        Ok(vec![Some(exp_backward(dout, &saved_y)?)])
    }))
}

/// `dx = dout · y`, with `y = eˣ` saved by the forward.
pub fn exp_backward(dout: &Tensor, y: &Tensor) -> Result<Tensor> {
    Ok(dout.mul(y)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use proptest::prelude::*;

    #[test]
    fn values_and_gradient() {
        let x = Var::parameter(Tensor::from_vec(vec![0.0, 1.0, -1.0], &[3]).unwrap());
        let y = x.exp().unwrap();
        assert_eq!(
            y.value().to_vec().unwrap(),
            vec![1.0, std::f32::consts::E, (-1.0f32).exp()]
        );
        y.sum_all().unwrap().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), y.value().to_vec());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000) {
            let x = random(&s, -2.0, 2.0, seed);
            gradcheck("exp", |v| v[0].exp(), &[x]).unwrap();
        }
    }
}
