//! Square root: `out = √x`.
//!
//! # Math
//! `∂out/∂x = 1/(2√x) = 1/(2·out)`, so `dx = dout · 0.5 / out` (TF's `SqrtGrad` uses the same
//! saved output).
//!
//! # Shapes
//! `x`, `out`: the same shape.
use astrograd_tensor::{Tensor, UnaryOp};

use crate::{Result, Var};

impl Var {
    /// `√x` elementwise. See [`sqrt`].
    pub fn sqrt(&self) -> Result<Var> {
        sqrt(self)
    }
}

/// `√x` elementwise; `√x = NaN` for `x < 0` (IEEE). At `x = 0` the value is 0 and the
/// gradient `+∞`: add a small epsilon first (`√(x + ε)`) where `x` can reach 0.
///
/// # Errors
/// None in practice; `Result` for uniformity with the other ops.
pub fn sqrt(x: &Var) -> Result<Var> {
    let y = x.value().sqrt();
    let saved_y = y.clone();
    Ok(Var::from_op("sqrt", y, &[x], move |dout| {
        Ok(vec![Some(sqrt_backward(dout, &saved_y)?)])
    }))
}

/// `dx = dout · 0.5 / y`, with `y = √x` saved by the forward.
pub fn sqrt_backward(dout: &Tensor, y: &Tensor) -> Result<Tensor> {
    Ok(dout.unary_backward(UnaryOp::Sqrt, y)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use proptest::prelude::*;

    #[test]
    fn values_and_gradient() {
        let x = Var::parameter(Tensor::from_vec(vec![4.0, 0.25, -1.0], &[3]).unwrap());
        let y = x.sqrt().unwrap();
        let values = y.value().to_vec().unwrap();
        assert_eq!(&values[..2], &[2.0, 0.5]);
        assert!(values[2].is_nan());
        y.backward_with(Tensor::from_vec(vec![1.0, 1.0, 0.0], &[3]).unwrap())
            .unwrap();
        assert_eq!(&x.grad().unwrap().to_vec().unwrap()[..2], &[0.25, 1.0]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000) {
            let x = random(&s, 0.5, 3.0, seed);
            gradcheck("sqrt", |v| v[0].sqrt(), &[x]).unwrap();
        }
    }

    #[cfg(feature = "wgpu")]
    #[test]
    fn the_gpu_computes_what_the_cpu_computes() {
        crate::ops::testing::gpu_matches_cpu("sqrt", &[random(&[3, 4], 0.1, 4.0, 43)], |v| {
            v[0].sqrt().unwrap()
        });
    }
}
