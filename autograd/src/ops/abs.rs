//! Absolute value: `out = |x|`.
//!
//! # Math
//! `∂out/∂x = sign(x)`: `dx = dout · sign(x)`, with `sign(0) = 0` at the kink, as TF
//! (note that Rust's `f32::signum(0.0)` is 1, so the sign is written out).
//!
//! # Shapes
//! `x`, `out`: the same shape.
use astrograd_tensor::{Tensor, UnaryOp};

use crate::{Result, Var};

impl Var {
    /// `|x|` elementwise. See [`abs`].
    pub fn abs(&self) -> Result<Var> {
        abs(self)
    }
}

/// `|x|` elementwise.
///
/// # Errors
/// None in practice; `Result` for uniformity with the other ops.
pub fn abs(x: &Var) -> Result<Var> {
    let x_value = x.value();
    let y = x_value.abs();
    Ok(Var::from_op("abs", y, &[x], move |dout| {
        Ok(vec![Some(abs_backward(dout, &x_value)?)])
    }))
}

/// `dx = dout · sign(x)`, with `sign(0) = 0`.
pub fn abs_backward(dout: &Tensor, x: &Tensor) -> Result<Tensor> {
    Ok(dout.unary_backward(UnaryOp::Abs, x)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random_away_from_zero, shape};
    use proptest::prelude::*;

    #[test]
    fn values_and_gradient_at_the_kink() {
        let x = Var::parameter(Tensor::from_vec(vec![-2.0, 0.0, 3.0], &[3]).unwrap());
        let y = x.abs().unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![2.0, 0.0, 3.0]);
        y.sum_all().unwrap().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![-1.0, 0.0, 1.0]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000) {
            // Away from the kink at 0, where the finite difference straddles both slopes.
            let x = random_away_from_zero(&s, 0.1, 2.0, seed);
            gradcheck("abs", |v| v[0].abs(), &[x]).unwrap();
        }
    }

    #[cfg(feature = "wgpu")]
    #[test]
    fn the_gpu_computes_what_the_cpu_computes() {
        let x = Tensor::from_vec(vec![-2.0, 0.0, 0.5, -0.25, 3.0, 0.0], &[2, 3]).unwrap();
        crate::ops::testing::gpu_matches_cpu("abs", &[x], |v| v[0].abs().unwrap());
    }
}
