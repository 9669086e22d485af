//! Subtraction with broadcasting: `out = a − b`.
//!
//! # Math
//! `∂out/∂a = 1`, `∂out/∂b = −1`:
//! `da = sum_to_shape(dout, shape(a))`, `db = −sum_to_shape(dout, shape(b))`.
//!
//! # Shapes
//! `a`, `b`: shapes that broadcast; `out`: the broadcast shape.
use astrograd_tensor::Tensor;

use crate::{Result, Var};

impl Var {
    /// `self − other`, broadcasting. See [`sub`].
    pub fn sub(&self, other: &Var) -> Result<Var> {
        sub(self, other)
    }
}

/// `a − b`, broadcasting.
///
/// # Errors
/// A shape error naming `sub` and both shapes if they do not broadcast.
pub fn sub(a: &Var, b: &Var) -> Result<Var> {
    let out = a.value().sub(&b.value())?;
    let (a_shape, b_shape) = (a.shape(), b.shape());
    Ok(Var::from_op("sub", out, &[a, b], move |dout| {
        Ok(vec![
            Some(sub_backward_a(dout, &a_shape)?),
            Some(sub_backward_b(dout, &b_shape)?),
        ])
    }))
}

/// `da = sum_to_shape(dout, shape(a))`.
pub fn sub_backward_a(dout: &Tensor, a_shape: &[usize]) -> Result<Tensor> {
    Ok(dout.sum_to_shape(a_shape)?)
}

/// `db = −sum_to_shape(dout, shape(b))`.
pub fn sub_backward_b(dout: &Tensor, b_shape: &[usize]) -> Result<Tensor> {
    Ok(dout.sum_to_shape(b_shape)?.neg())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{broadcastable_pair, random};
    use proptest::prelude::*;

    #[test]
    fn values_and_error() {
        let a = Var::constant(Tensor::from_vec(vec![5.0, 7.0], &[2]).unwrap());
        let b = Var::constant(Tensor::scalar(2.0));
        assert_eq!(a.sub(&b).unwrap().value().to_vec().unwrap(), vec![3.0, 5.0]);
        let c = Var::constant(Tensor::zeros(&[3]));
        assert!(a.sub(&c).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn gradcheck_broadcasting((sa, sb) in broadcastable_pair(3, 4), seed in 0u64..1000) {
            let a = random(&sa, -1.0, 1.0, seed);
            let b = random(&sb, -1.0, 1.0, seed + 1);
            gradcheck("sub", |v| v[0].sub(&v[1]), &[a.clone(), b.clone()]).unwrap();
            gradcheck("sub (swapped)", |v| v[0].sub(&v[1]), &[b, a]).unwrap();
        }
    }
}
