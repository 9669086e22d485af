//! Elementwise maximum with broadcasting: `out = max(a, b)`.
//!
//! # Math
//! The output is one of the two inputs, so the gradient goes to whichever was chosen:
//! `da = sum_to_shape(dout · [a ≥ b], shape(a))`, `db = sum_to_shape(dout · [a < b], shape(b))`.
//!
//! **Ties** (`a = b`) follow TF's `_MaximumGrad` (mask `a >= b`): the whole gradient goes to
//! the first input `a`, none to `b` (checked with TF 2.10: `tf.maximum([1.], [1.])` gives
//! gradients 1 and 0). PyTorch splits ties 0.5/0.5 instead; we follow TF.
//!
//! # Shapes
//! `a`, `b`: shapes that broadcast; `out`: the broadcast shape.
use astrograd_tensor::Tensor;

use crate::{Result, Var};

impl Var {
    /// `max(self, other)` elementwise, broadcasting. See [`maximum`].
    pub fn maximum(&self, other: &Var) -> Result<Var> {
        maximum(self, other)
    }
}

/// `max(a, b)` elementwise, broadcasting (NaN propagates). `x.maximum(&Var::scalar(0.0))` is
/// a ReLU, but [`relu`](super::relu::relu) is faster and clearer.
///
/// # Errors
/// A shape error naming `maximum` and both shapes if they do not broadcast.
pub fn maximum(a: &Var, b: &Var) -> Result<Var> {
    let (a_value, b_value) = (a.value(), b.value());
    let out = a_value.maximum(&b_value)?;
    Ok(Var::from_op("maximum", out, &[a, b], move |dout| {
        Ok(vec![
            Some(maximum_backward_a(dout, &a_value, &b_value)?),
            Some(maximum_backward_b(dout, &a_value, &b_value)?),
        ])
    }))
}

/// `da = sum_to_shape(dout · [a ≥ b], shape(a))`: `a` wins ties.
pub fn maximum_backward_a(dout: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let a_won = a.ge(b)?;
    Ok(dout.mul(&a_won)?.sum_to_shape(a.shape())?)
}

/// `db = sum_to_shape(dout · [a < b], shape(b))`.
pub fn maximum_backward_b(dout: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let b_won = a.lt(b)?;
    Ok(dout.mul(&b_won)?.sum_to_shape(b.shape())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{broadcastable_pair, random};
    use crate::AutogradError;
    use proptest::prelude::*;

    #[test]
    fn values_ties_and_broadcasting() {
        let a = Var::parameter(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap());
        let b = Var::parameter(Tensor::from_vec(vec![1.0, 1.0, 4.0], &[3]).unwrap());
        let y = a.maximum(&b).unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![1.0, 2.0, 4.0]);
        y.sum_all().unwrap().backward().unwrap();
        // The tie at element 0 goes to `a`, as in TF.
        assert_eq!(a.grad().unwrap().to_vec().unwrap(), vec![1.0, 1.0, 0.0]);
        assert_eq!(b.grad().unwrap().to_vec().unwrap(), vec![0.0, 0.0, 1.0]);

        let c = Var::parameter(Tensor::scalar(2.5));
        a.maximum(&c)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert_eq!(c.grad().unwrap().to_vec().unwrap(), vec![2.0]); // chosen at elements 0 and 1
    }

    #[test]
    fn shapes_that_do_not_broadcast_are_an_error() {
        let a = Var::constant(Tensor::ones(&[2, 3]));
        let b = Var::constant(Tensor::ones(&[2]));
        let err = a.maximum(&b).unwrap_err();
        assert!(matches!(err, AutogradError::Tensor(_)), "{err}");
        assert!(err.to_string().contains("maximum"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn gradcheck_broadcasting((sa, sb) in broadcastable_pair(3, 4), seed in 0u64..1000) {
            // Away from ties: within ε of a tie the finite difference straddles the switch.
            let a = random(&sa, -2.0, 2.0, seed);
            let b = random(&sb, -2.0, 2.0, seed + 1);
            prop_assume!(a.sub(&b).unwrap().abs().as_slice().unwrap().iter().all(|&d| d > 0.02));
            gradcheck("maximum", |v| v[0].maximum(&v[1]), &[a.clone(), b.clone()]).unwrap();
            gradcheck("maximum (swapped)", |v| v[0].maximum(&v[1]), &[b, a]).unwrap();
        }
    }
}
