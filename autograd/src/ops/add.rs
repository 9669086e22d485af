//! Addition with broadcasting: `out = a + b`.
//!
//! # Math
//! `∂out/∂a = ∂out/∂b = 1`, so each input receives `dout` itself, summed back over the axes
//! that broadcasting stretched (a bias of shape `(F,)` added to `(N, F)` receives
//! `Σₙ dout[n, :]`):
//!
//! `da = sum_to_shape(dout, shape(a))`, `db = sum_to_shape(dout, shape(b))`.
//!
//! # Shapes
//! `a`, `b`: any two shapes that broadcast (numpy rules); `out`: the broadcast shape.
use astrograd_tensor::Tensor;

use crate::{Result, Var};

impl Var {
    /// `self + other`, broadcasting. See [`add`].
    pub fn add(&self, other: &Var) -> Result<Var> {
        add(self, other)
    }

    /// `self + s` for a constant number `s` (on the tensor's device; `dself = dout`).
    pub fn add_scalar(&self, s: f32) -> Result<Var> {
        let out = self.value().add_scalar(s);
        Ok(Var::from_op("add_scalar", out, &[self], |dout| {
            Ok(vec![Some(dout.clone())])
        }))
    }
}

/// `a + b`, broadcasting.
///
/// ```
/// use astrograd_autograd::{Tensor, Var};
/// let x = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?);
/// let b = Var::constant(Tensor::from_vec(vec![10.0, 20.0], &[2])?);
/// assert_eq!(x.add(&b)?.value().to_vec()?, vec![11.0, 22.0, 13.0, 24.0]);
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// A shape error naming `add` and both shapes if they do not broadcast.
pub fn add(a: &Var, b: &Var) -> Result<Var> {
    let out = a.value().add(&b.value())?;
    let (a_shape, b_shape) = (a.shape(), b.shape());
    Ok(Var::from_op("add", out, &[a, b], move |dout| {
        Ok(vec![
            Some(add_backward_a(dout, &a_shape)?),
            Some(add_backward_b(dout, &b_shape)?),
        ])
    }))
}

/// `da = sum_to_shape(dout, shape(a))`.
pub fn add_backward_a(dout: &Tensor, a_shape: &[usize]) -> Result<Tensor> {
    Ok(dout.sum_to_shape(a_shape)?)
}

/// `db = sum_to_shape(dout, shape(b))`.
pub fn add_backward_b(dout: &Tensor, b_shape: &[usize]) -> Result<Tensor> {
    Ok(dout.sum_to_shape(b_shape)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{broadcastable_pair, random};
    use proptest::prelude::*;

    #[test]
    fn bias_gradient_sums_over_the_batch() {
        let x = Var::parameter(Tensor::ones(&[3, 2]));
        let b = Var::parameter(Tensor::zeros(&[2]));
        x.add(&b).unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(b.grad().unwrap().to_vec().unwrap(), vec![3.0, 3.0]);
        assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![1.0; 6]);
    }

    #[test]
    fn incompatible_shapes_are_an_error() {
        let a = Var::constant(Tensor::zeros(&[2, 3]));
        let b = Var::constant(Tensor::zeros(&[4]));
        let err = a.add(&b).unwrap_err().to_string();
        assert!(
            err.contains("add") && err.contains("[2, 3] and [4]"),
            "{err}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn gradcheck_broadcasting((sa, sb) in broadcastable_pair(3, 4), seed in 0u64..1000) {
            let a = random(&sa, -1.0, 1.0, seed);
            let b = random(&sb, -1.0, 1.0, seed + 1);
            gradcheck("add", |v| v[0].add(&v[1]), &[a.clone(), b.clone()]).unwrap();
            gradcheck("add (swapped)", |v| v[0].add(&v[1]), &[b, a]).unwrap();
        }
    }
}
