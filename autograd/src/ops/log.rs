//! Natural logarithm: `out = ln x`.
//!
//! # Math
//! `∂out/∂x = 1/x`, so `dx = dout / x`.
//!
//! # Shapes
//! `x`, `out`: the same shape.
use astrograd_tensor::Tensor;

use crate::{Result, Var};

impl Var {
    /// `ln x` elementwise (named `ln` as [`Tensor::ln`] and Rust's `f32::ln`). See [`ln`].
    pub fn ln(&self) -> Result<Var> {
        ln(self)
    }
}

/// `ln x` elementwise. Outside its domain it follows IEEE, as numpy and TF do:
/// `ln 0 = −∞`, `ln x = NaN` for `x < 0` (the op does not check, so a NaN loss points here).
///
/// # Errors
/// None in practice; `Result` for uniformity with the other ops.
pub fn ln(x: &Var) -> Result<Var> {
    let x_value = x.value();
    let y = x_value.ln();
    Ok(Var::from_op("ln", y, &[x], move |dout| {
        Ok(vec![Some(ln_backward(dout, &x_value)?)])
    }))
}

/// `dx = dout / x`.
pub fn ln_backward(dout: &Tensor, x: &Tensor) -> Result<Tensor> {
    Ok(dout.div(x)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use proptest::prelude::*;

    #[test]
    fn values_and_domain_edges() {
        let x = Var::constant(
            Tensor::from_vec(vec![1.0, std::f32::consts::E, 0.0, -1.0], &[4]).unwrap(),
        );
        let y = x.ln().unwrap().value().to_vec().unwrap();
        assert_eq!(y[0], 0.0);
        assert!((y[1] - 1.0).abs() < 1e-7); // E rounded to f32 is just below e
        assert_eq!(y[2], f32::NEG_INFINITY);
        assert!(y[3].is_nan());
    }

    #[test]
    fn gradient_is_one_over_x() {
        let x = Var::parameter(Tensor::from_vec(vec![0.5, 4.0], &[2]).unwrap());
        x.ln().unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![2.0, 0.25]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000) {
            // Kept away from 0, where 1/x is too steep for finite differences.
            let x = random(&s, 0.5, 3.0, seed);
            gradcheck("ln", |v| v[0].ln(), &[x]).unwrap();
        }
    }
}
