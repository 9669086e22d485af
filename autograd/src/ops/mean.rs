//! Mean over axes: `out = (1/count) Σ_{axes} x`, composed from [`sum`](super::sum) and a
//! multiplication by a constant, so its backward is theirs: each element receives
//! `dout / count`.
//!
//! # Shapes
//! `x`: any; `out`: `x`'s shape without `axes` (or with them as 1 when `keepdims`).
use crate::{AutogradError, Result, Var};

impl Var {
    /// Mean over `axes`. See [`mean`].
    pub fn mean_axes(&self, axes: &[usize], keepdims: bool) -> Result<Var> {
        mean(self, axes, keepdims)
    }

    /// Mean of every element, as a scalar (shape `[]`).
    pub fn mean_all(&self) -> Result<Var> {
        let axes: Vec<usize> = (0..self.shape().len()).collect();
        mean(self, &axes, false)
    }
}

/// Mean over `axes`.
///
/// # Errors
/// An axis error for a bad axis; [`AutogradError::Invalid`] if a reduced axis is empty.
pub fn mean(x: &Var, axes: &[usize], keepdims: bool) -> Result<Var> {
    let shape = x.shape();
    let total = x.sum_axes(axes, keepdims)?; // checks the axes
    let count: usize = axes.iter().map(|&a| shape[a]).product();
    if count == 0 {
        return Err(AutogradError::Invalid {
            op: "mean",
            expected: "non-empty axes to average".into(),
            found: format!("shape {shape:?} reduced over axes {axes:?}"),
        });
    }
    total.mul_scalar(1.0 / count as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use astrograd_tensor::Tensor;
    use proptest::prelude::*;

    #[test]
    fn values_gradient_and_empty() {
        let x = Var::parameter(Tensor::from_vec(vec![1.0, 2.0, 3.0, 6.0], &[2, 2]).unwrap());
        let m = x.mean_axes(&[1], false).unwrap();
        assert_eq!(m.value().to_vec().unwrap(), vec![1.5, 4.5]);
        x.mean_all().unwrap().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![0.25; 4]);
        let empty = Var::constant(Tensor::zeros(&[0, 2]));
        assert!(empty.mean_axes(&[0], false).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn gradcheck_random_axes(s in shape(4, 4), pick in any::<u8>(), keepdims in any::<bool>(), seed in 0u64..1000) {
            let axes: Vec<usize> = (0..s.len()).filter(|a| pick & (1 << a) != 0).collect();
            let x = random(&s, -1.0, 1.0, seed);
            gradcheck("mean", |v| v[0].mean_axes(&axes, keepdims), &[x]).unwrap();
        }
    }
}
