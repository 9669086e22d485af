//! Sum over axes: `out = Σ_{axes} x`.
//!
//! # Math
//! Every summed element contributes with weight 1, so each receives the gradient of the sum
//! it went into: `dx = broadcast(dout with the reduced axes kept as size 1, shape(x))`.
//!
//! # Shapes
//! `x`: any; `out`: `x`'s shape without `axes` (or with them as 1 when `keepdims`).
use astrograd_tensor::Tensor;

use crate::{Result, Var};

impl Var {
    /// Sum over `axes`. See [`sum`].
    pub fn sum_axes(&self, axes: &[usize], keepdims: bool) -> Result<Var> {
        sum(self, axes, keepdims)
    }

    /// Sum of every element, as a scalar (shape `[]`).
    pub fn sum_all(&self) -> Result<Var> {
        let axes: Vec<usize> = (0..self.shape().len()).collect();
        sum(self, &axes, false)
    }
}

/// Sum over `axes`; with `keepdims` the reduced axes stay as size 1.
///
/// # Errors
/// An axis error if an axis is out of range or repeated.
pub fn sum(x: &Var, axes: &[usize], keepdims: bool) -> Result<Var> {
    let out = x.value().sum_axes(axes, keepdims)?;
    let x_shape = x.shape();
    let axes = axes.to_vec();
    Ok(Var::from_op("sum", out, &[x], move |dout| {
        Ok(vec![Some(sum_backward(dout, &x_shape, &axes)?)])
    }))
}

/// `dx = broadcast(dout, shape(x))`, after putting the reduced axes back as size 1.
pub fn sum_backward(dout: &Tensor, x_shape: &[usize], axes: &[usize]) -> Result<Tensor> {
    let kept: Vec<usize> = (0..x_shape.len())
        .map(|a| if axes.contains(&a) { 1 } else { x_shape[a] })
        .collect();
    Ok(dout.reshape(&kept)?.broadcast_to(x_shape)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use proptest::prelude::*;

    #[test]
    fn values_and_errors() {
        let x = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap());
        assert_eq!(
            x.sum_axes(&[0], false).unwrap().value().to_vec().unwrap(),
            vec![4.0, 6.0]
        );
        assert_eq!(x.sum_all().unwrap().value().item().unwrap(), 10.0);
        assert!(x.sum_axes(&[2], false).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn gradcheck_random_axes(s in shape(4, 4), pick in any::<u8>(), keepdims in any::<bool>(), seed in 0u64..1000) {
            let axes: Vec<usize> = (0..s.len()).filter(|a| pick & (1 << a) != 0).collect();
            let x = random(&s, -1.0, 1.0, seed);
            gradcheck("sum", |v| v[0].sum_axes(&axes, keepdims), &[x]).unwrap();
        }
    }
}
