//! Elementwise maximum and minimum with broadcasting: `out = max(a, b)` and `out = min(a, b)`,
//! one op that picks, in one of two directions.
//!
//! # Math
//! The output is one of the two inputs, so the gradient goes to whichever was picked. With
//! `[a wins]` meaning `a ≥ b` for the maximum and `a ≤ b` for the minimum:
//! `da = sum_to_shape(dout · [a wins], shape(a))`, `db = sum_to_shape(dout · [b wins], shape(b))`,
//! where `b` wins exactly where `a` does not.
//!
//! **Ties** (`a = b`) follow TF's `_MaximumGrad` / `_MinimumGrad` (masks `a >= b`, `a <= b`):
//! the whole gradient goes to the first input `a`, none to `b` (checked with TF 2.10:
//! `tf.maximum([1.], [1.])` gives gradients 1 and 0). PyTorch splits ties 0.5/0.5 instead; we
//! follow TF.
//!
//! # Shapes
//! `a`, `b`: shapes that broadcast; `out`: the broadcast shape.
use astrograd_tensor::Tensor;

use crate::{Result, Var};

/// Which of the two inputs is picked: the larger or the smaller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// `max(a, b)`.
    Larger,
    /// `min(a, b)`.
    Smaller,
}

impl Pick {
    /// The op's name in graphs and errors: `maximum` or `minimum`.
    pub fn op_name(self) -> &'static str {
        match self {
            Pick::Larger => "maximum",
            Pick::Smaller => "minimum",
        }
    }

    /// `max(a, b)` or `min(a, b)`, broadcasting (NaN propagates).
    fn values(self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Pick::Larger => a.maximum(b)?,
            Pick::Smaller => a.minimum(b)?,
        })
    }

    /// `[a wins]`, 1 or 0 in the broadcast shape: `a ≥ b` (maximum) or `a ≤ b` (minimum).
    fn a_wins(self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Pick::Larger => a.ge(b)?,
            Pick::Smaller => a.le(b)?,
        })
    }

    /// `[b wins]`: `a < b` (maximum) or `a > b` (minimum); ties are `a`'s.
    fn b_wins(self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Pick::Larger => a.lt(b)?,
            Pick::Smaller => a.gt(b)?,
        })
    }
}

impl Var {
    /// `max(self, other)` elementwise, broadcasting. See [`maximum`].
    pub fn maximum(&self, other: &Var) -> Result<Var> {
        maximum(self, other)
    }

    /// `min(self, other)` elementwise, broadcasting. See [`minimum`].
    pub fn minimum(&self, other: &Var) -> Result<Var> {
        minimum(self, other)
    }
}

/// `max(a, b)` elementwise, broadcasting (NaN propagates). `x.maximum(&Var::scalar(0.0))` is
/// a ReLU, but [`relu`](super::relu::relu) is faster and clearer.
///
/// # Errors
/// A shape error naming `maximum` and both shapes if they do not broadcast.
pub fn maximum(a: &Var, b: &Var) -> Result<Var> {
    pick(Pick::Larger, a, b)
}

/// `min(a, b)` elementwise, broadcasting (NaN propagates). `x.minimum(&Var::scalar(6.0))` caps
/// `x` at 6, as the upper half of [`relu6`](super::relu6::relu6).
///
/// # Errors
/// A shape error naming `minimum` and both shapes if they do not broadcast.
pub fn minimum(a: &Var, b: &Var) -> Result<Var> {
    pick(Pick::Smaller, a, b)
}

/// The larger or the smaller of `a` and `b`, elementwise, with the gradient routed to the input
/// that was picked.
pub fn pick(which: Pick, a: &Var, b: &Var) -> Result<Var> {
    let (a_value, b_value) = (a.value(), b.value());
    let out = which.values(&a_value, &b_value)?;
    Ok(Var::from_op(which.op_name(), out, &[a, b], move |dout| {
        Ok(vec![
            Some(pick_backward_a(which, dout, &a_value, &b_value)?),
            Some(pick_backward_b(which, dout, &a_value, &b_value)?),
        ])
    }))
}

/// `da = sum_to_shape(dout · [a wins], shape(a))`: `a` wins ties.
pub fn pick_backward_a(which: Pick, dout: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let a_won = which.a_wins(a, b)?;
    Ok(dout.mul(&a_won)?.sum_to_shape(a.shape())?)
}

/// `db = sum_to_shape(dout · [b wins], shape(b))`.
pub fn pick_backward_b(which: Pick, dout: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let b_won = which.b_wins(a, b)?;
    Ok(dout.mul(&b_won)?.sum_to_shape(b.shape())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{broadcastable_pair, random};
    use crate::AutogradError;
    use proptest::prelude::*;

    fn vector(values: [f32; 3]) -> Var {
        Var::parameter(Tensor::from_vec(values.to_vec(), &[3]).unwrap())
    }

    #[test]
    fn maximum_values_ties_and_broadcasting() {
        let (a, b) = (vector([1.0, 2.0, 3.0]), vector([1.0, 1.0, 4.0]));
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
        assert_eq!(c.grad().unwrap().to_vec().unwrap(), vec![2.0]); // picked at elements 0 and 1
    }

    #[test]
    fn minimum_values_ties_and_broadcasting() {
        let (a, b) = (vector([1.0, 2.0, 3.0]), vector([1.0, 1.0, 4.0]));
        let y = a.minimum(&b).unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![1.0, 1.0, 3.0]);
        y.sum_all().unwrap().backward().unwrap();
        // The tie at element 0 goes to `a`, as in TF.
        assert_eq!(a.grad().unwrap().to_vec().unwrap(), vec![1.0, 0.0, 1.0]);
        assert_eq!(b.grad().unwrap().to_vec().unwrap(), vec![0.0, 1.0, 0.0]);

        let c = Var::parameter(Tensor::scalar(2.5));
        a.minimum(&c)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert_eq!(c.grad().unwrap().to_vec().unwrap(), vec![1.0]); // picked at element 2 only
    }

    #[test]
    fn shapes_that_do_not_broadcast_are_an_error_naming_the_op() {
        let a = Var::constant(Tensor::ones(&[2, 3]));
        let b = Var::constant(Tensor::ones(&[2]));
        for (which, err) in [
            (Pick::Larger, a.maximum(&b).unwrap_err()),
            (Pick::Smaller, a.minimum(&b).unwrap_err()),
        ] {
            assert!(matches!(err, AutogradError::Tensor(_)), "{err}");
            assert!(err.to_string().contains(which.op_name()), "{err}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn gradcheck_broadcasting((sa, sb) in broadcastable_pair(3, 4), seed in 0u64..1000) {
            // Away from ties: within ε of a tie the finite difference straddles the switch.
            let a = random(&sa, -2.0, 2.0, seed);
            let b = random(&sb, -2.0, 2.0, seed + 1);
            prop_assume!(a.sub(&b).unwrap().abs().as_slice().unwrap().iter().all(|&d| d > 0.02));
            for which in [Pick::Larger, Pick::Smaller] {
                let op = |v: &[Var]| pick(which, &v[0], &v[1]);
                gradcheck(which.op_name(), op, &[a.clone(), b.clone()]).unwrap();
                gradcheck(which.op_name(), op, &[b.clone(), a.clone()]).unwrap();
            }
        }
    }
}
