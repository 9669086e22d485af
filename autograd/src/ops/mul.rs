//! Elementwise product with broadcasting: `out = a · b`.
//!
//! # Math
//! `∂out/∂a = b`, `∂out/∂b = a` (the product rule):
//! `da = sum_to_shape(dout · b, shape(a))`, `db = sum_to_shape(dout · a, shape(b))`.
//! For `x · x` both inputs are the same node and the two contributions add up to `2x · dout`.
//!
//! # Shapes
//! `a`, `b`: shapes that broadcast; `out`: the broadcast shape.
use astrograd_tensor::Tensor;

use crate::{Result, Var};

impl Var {
    /// `self · other` elementwise, broadcasting. See [`mul`].
    pub fn mul(&self, other: &Var) -> Result<Var> {
        mul(self, other)
    }

    /// `self · s` for a constant number `s` (on the tensor's device; `dself = dout · s`).
    pub fn mul_scalar(&self, s: f32) -> Result<Var> {
        let out = self.value().mul_scalar(s);
        Ok(Var::from_op("mul_scalar", out, &[self], move |dout| {
            Ok(vec![Some(dout.mul_scalar(s))])
        }))
    }
}

/// `a · b` elementwise, broadcasting.
///
/// # Errors
/// A shape error naming `mul` and both shapes if they do not broadcast.
pub fn mul(a: &Var, b: &Var) -> Result<Var> {
    let (a_value, b_value) = (a.value(), b.value());
    let out = a_value.mul(&b_value)?;
    Ok(Var::from_op("mul", out, &[a, b], move |dout| {
        Ok(vec![
            Some(mul_backward_a(dout, &a_value, &b_value)?),
            Some(mul_backward_b(dout, &a_value, &b_value)?),
        ])
    }))
}

/// `da = sum_to_shape(dout · b, shape(a))`.
pub fn mul_backward_a(dout: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(dout.mul(b)?.sum_to_shape(a.shape())?)
}

/// `db = sum_to_shape(dout · a, shape(b))`.
pub fn mul_backward_b(dout: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(dout.mul(a)?.sum_to_shape(b.shape())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{broadcastable_pair, random};
    use proptest::prelude::*;

    #[test]
    fn square_gets_two_contributions() {
        let x = Var::parameter(Tensor::from_vec(vec![3.0, -2.0], &[2]).unwrap());
        x.mul(&x).unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![6.0, -4.0]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn gradcheck_broadcasting((sa, sb) in broadcastable_pair(3, 4), seed in 0u64..1000) {
            let a = random(&sa, -2.0, 2.0, seed);
            let b = random(&sb, -2.0, 2.0, seed + 1);
            gradcheck("mul", |v| v[0].mul(&v[1]), &[a.clone(), b.clone()]).unwrap();
            gradcheck("mul (swapped)", |v| v[0].mul(&v[1]), &[b, a]).unwrap();
        }
    }
}
