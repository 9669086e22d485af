//! Reshape: the same numbers, row-major order kept, in a new shape.
//!
//! # Math
//! A reshape moves no number, so the gradient is `dout` read back in the input's shape:
//! `dx = reshape(dout, shape(x))`.
//!
//! # Shapes
//! `x`: any; `out`: any shape with the same element count.
use astrograd_tensor::Tensor;

use crate::{Result, Var};

impl Var {
    /// The same values in `shape`. See [`reshape`].
    pub fn reshape(&self, shape: &[usize]) -> Result<Var> {
        reshape(self, shape)
    }
}

/// The same values in `shape`.
///
/// # Errors
/// A shape error naming `reshape` if the element counts differ.
pub fn reshape(x: &Var, shape: &[usize]) -> Result<Var> {
    let out = x.value().reshape(shape)?;
    let x_shape = x.shape();
    Ok(Var::from_op("reshape", out, &[x], move |dout| {
        Ok(vec![Some(reshape_backward(dout, &x_shape)?)])
    }))
}

/// `dx = reshape(dout, shape(x))`.
pub fn reshape_backward(dout: &Tensor, x_shape: &[usize]) -> Result<Tensor> {
    Ok(dout.reshape(x_shape)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use proptest::prelude::*;

    #[test]
    fn wrong_count_is_an_error() {
        let x = Var::constant(Tensor::zeros(&[2, 3]));
        assert!(x.reshape(&[5]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_to_flat_and_back(s in shape(4, 4), seed in 0u64..1000) {
            let x = random(&s, -1.0, 1.0, seed);
            let n = x.numel();
            gradcheck("reshape", |v| v[0].reshape(&[n]), std::slice::from_ref(&x)).unwrap();
            let reversed: Vec<usize> = s.iter().rev().cloned().collect();
            gradcheck("reshape", |v| v[0].reshape(&reversed), &[x]).unwrap();
        }
    }
}
