//! Powers: `out = xᵖ` for a constant exponent ([`powf`]) and `out = aᵇ` for a tensor exponent
//! ([`pow`], broadcasting).
//!
//! # Math
//! Constant exponent: `∂out/∂x = p·xᵖ⁻¹`, so `dx = dout · p · xᵖ⁻¹` (and `dx = 0` for `p = 0`,
//! where `0 · x⁻¹` would give NaN at `x = 0`).
//!
//! Tensor exponent, `out = aᵇ = e^(b·ln a)`:
//! - `∂out/∂a = b·aᵇ⁻¹`: `da = sum_to_shape(dout · b · aᵇ⁻¹, shape(a))`;
//! - `∂out/∂b = aᵇ·ln a`: `db = sum_to_shape(dout · aᵇ · ln a, shape(b))`.
//!
//! `ln a` exists only for `a > 0`; where `a ≤ 0`, `db` is 0, as in TF's `_PowGrad`
//! (a negative base only has a real power for integer exponents, which are not
//! differentiable in `b` there anyway).
//!
//! # Shapes
//! [`powf`]: `x`, `out` the same shape. [`pow`]: `a`, `b` shapes that broadcast; `out` the
//! broadcast shape.
use astrograd_tensor::{Tensor, UnaryOp};

use crate::{Result, Var};

impl Var {
    /// `selfᵖ` elementwise for a constant exponent `p`. See [`powf`].
    pub fn powf(&self, p: f32) -> Result<Var> {
        powf(self, p)
    }

    /// `self` raised to the power `exponent`, elementwise, broadcasting. See [`pow`].
    pub fn pow(&self, exponent: &Var) -> Result<Var> {
        pow(self, exponent)
    }
}

/// `xᵖ` elementwise for a constant exponent `p` (`f32::powf`: a negative `x` gives NaN unless
/// `p` is a whole number).
///
/// # Errors
/// None in practice; `Result` for uniformity with the other ops.
pub fn powf(x: &Var, p: f32) -> Result<Var> {
    let x_value = x.value();
    let y = x_value.powf(p);
    Ok(Var::from_op("powf", y, &[x], move |dout| {
        Ok(vec![Some(powf_backward(dout, &x_value, p)?)])
    }))
}

/// `dx = dout · p · xᵖ⁻¹` (zero for `p = 0`).
pub fn powf_backward(dout: &Tensor, x: &Tensor, p: f32) -> Result<Tensor> {
    if p == 0.0 {
        return Ok(Tensor::zeros_like(x));
    }
    Ok(dout.unary_backward(UnaryOp::PowScalar(p), x)?)
}

/// `aᵇ` elementwise, broadcasting.
///
/// # Errors
/// A shape error naming `pow` and both shapes if they do not broadcast.
pub fn pow(a: &Var, b: &Var) -> Result<Var> {
    let (a_value, b_value) = (a.value(), b.value());
    let out = a_value.pow(&b_value)?;
    let saved_out = out.clone();
    Ok(Var::from_op("pow", out, &[a, b], move |dout| {
        Ok(vec![
            Some(pow_backward_a(dout, &a_value, &b_value)?),
            Some(pow_backward_b(dout, &a_value, &b_value, &saved_out)?),
        ])
    }))
}

/// `da = sum_to_shape(dout · b · aᵇ⁻¹, shape(a))`.
pub fn pow_backward_a(dout: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    // b · aᵇ⁻¹, with broadcasting, on either device.
    let slope = a.pow(&b.add_scalar(-1.0))?.mul(b)?;
    Ok(dout.mul(&slope)?.sum_to_shape(a.shape())?)
}

/// `db = sum_to_shape(dout · out · ln a, shape(b))`, with `ln a` taken as 0 where `a ≤ 0`.
pub fn pow_backward_b(dout: &Tensor, a: &Tensor, b: &Tensor, out: &Tensor) -> Result<Tensor> {
    // ln a: (shape of a), broadcast against out by the mul below.
    let safe_ln_a = a.unary(UnaryOp::LnOrZero);
    Ok(dout.mul(out)?.mul(&safe_ln_a)?.sum_to_shape(b.shape())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{broadcastable_pair, random, random_away_from_zero, shape};
    use crate::AutogradError;
    use proptest::prelude::*;

    #[test]
    fn powf_values_and_gradient() {
        let x = Var::parameter(Tensor::from_vec(vec![-2.0, 0.0, 3.0], &[3]).unwrap());
        let y = x.powf(2.0).unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![4.0, 0.0, 9.0]);
        y.sum_all().unwrap().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![-4.0, 0.0, 6.0]);
        // p = 0: constant 1, gradient 0 (not NaN) even at x = 0.
        let z = Var::parameter(Tensor::from_vec(vec![0.0, 2.0], &[2]).unwrap());
        z.powf(0.0).unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(z.grad().unwrap().to_vec().unwrap(), vec![0.0, 0.0]);
    }

    #[test]
    fn pow_values_gradients_and_bad_shapes() {
        let a = Var::parameter(Tensor::from_vec(vec![2.0, 3.0, -2.0], &[3]).unwrap());
        let b = Var::parameter(Tensor::from_vec(vec![3.0, 2.0, 2.0], &[3]).unwrap());
        let y = a.pow(&b).unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![8.0, 9.0, 4.0]);
        y.sum_all().unwrap().backward().unwrap();
        assert_eq!(a.grad().unwrap().to_vec().unwrap(), vec![12.0, 6.0, -4.0]);
        let db = b.grad().unwrap().to_vec().unwrap();
        assert!((db[0] - 8.0 * 2f32.ln()).abs() < 1e-5);
        assert!((db[1] - 9.0 * 3f32.ln()).abs() < 1e-5);
        assert_eq!(db[2], 0.0); // negative base: no gradient for the exponent, as TF
        let bad = Var::constant(Tensor::ones(&[2]));
        let err = a.pow(&bad).unwrap_err();
        assert!(matches!(err, AutogradError::Tensor(_)), "{err}");
        assert!(err.to_string().contains("pow"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn powf_gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000, p in prop::sample::select(vec![3.0f32, 2.0, 0.5, -1.5])) {
            let x = random(&s, 0.5, 2.0, seed);
            gradcheck("powf", |v| v[0].powf(p), &[x]).unwrap();
        }

        #[test]
        fn powf_whole_exponent_on_negative_bases(s in shape(3, 4), seed in 0u64..1000) {
            let x = random_away_from_zero(&s, 0.5, 2.0, seed);
            gradcheck("powf(3)", |v| v[0].powf(3.0), &[x]).unwrap();
        }

        #[test]
        fn pow_gradcheck_broadcasting((sa, sb) in broadcastable_pair(3, 4), seed in 0u64..1000) {
            // a > 0 so that ln a, and hence db, exists.
            let a = random(&sa, 0.5, 2.0, seed);
            let b = random(&sb, -2.0, 2.0, seed + 1);
            gradcheck("pow", |v| v[0].pow(&v[1]), &[a.clone(), b.clone()]).unwrap();
            // The exponent may carry the larger shape too.
            let a_small = random(&sb, 0.5, 2.0, seed + 2);
            let b_large = random(&sa, -2.0, 2.0, seed + 3);
            gradcheck("pow (swapped)", |v| v[0].pow(&v[1]), &[a_small, b_large]).unwrap();
        }
    }

    #[cfg(feature = "wgpu")]
    #[test]
    fn the_gpu_computes_what_the_cpu_computes() {
        let a = random(&[2, 3], 0.2, 2.0, 44);
        let b = random(&[3], -1.5, 2.0, 45);
        crate::ops::testing::gpu_matches_cpu("powf", std::slice::from_ref(&a), |v| {
            v[0].powf(2.5).unwrap()
        });
        crate::ops::testing::gpu_matches_cpu("powf 0", std::slice::from_ref(&a), |v| {
            v[0].powf(0.0).unwrap()
        });
        // b broadcast against a; a ≤ 0 appears in neither (its ln a is taken as 0).
        crate::ops::testing::gpu_matches_cpu("pow", &[a, b], |v| v[0].pow(&v[1]).unwrap());
    }
}
