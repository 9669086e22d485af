//! Maximum over axes: `out = max_{axes} x`.
//!
//! # Math
//! Within each reduced lane, `out` is the value of the largest element, so only the
//! element(s) holding that value move it: `∂out/∂x[i] = 1` at the maximum and `0` elsewhere.
//!
//! When several elements tie for the maximum, `max` has no derivative there; we follow
//! TensorFlow's `reduce_max` gradient (`_MinOrMaxGrad`), which shares `dout` **equally**
//! among the tied elements:
//!
//! `indicator = (x == broadcast(out))`, `count = Σ_{axes} indicator`,
//! `dx = indicator / count · broadcast(dout)`.
//!
//! So a lane `[1, 3, 3, 2]` with `dout = 1` sends `[0, 0.5, 0.5, 0]` back (PyTorch's
//! `amax` does the same; its `max(dim)` picks one index instead). A lane whose maximum is NaN
//! matches no element, so its gradient is `0/0 = NaN`, as in TF: a NaN is never hidden.
//!
//! # Shapes
//! `x`: any; `out`: `x`'s shape without `axes` (or with them as 1 when `keepdims`).
use astrograd_tensor::Tensor;

use crate::{Result, Var};

impl Var {
    /// Maximum over `axes`. See [`max`].
    pub fn max_axes(&self, axes: &[usize], keepdims: bool) -> Result<Var> {
        max(self, axes, keepdims)
    }
}

/// Maximum over `axes`; with `keepdims` the reduced axes stay as size 1.
///
/// ```
/// use astrograd_autograd::{Tensor, Var};
/// let x = Var::parameter(Tensor::from_vec(vec![1.0, 3.0, 3.0, 2.0], &[4])?);
/// let m = x.max_axes(&[0], false)?;
/// assert_eq!(m.value().to_vec()?, vec![3.0]);
/// m.backward()?;
/// assert_eq!(x.grad().unwrap().to_vec()?, vec![0.0, 0.5, 0.5, 0.0]); // ties share, as in TF
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// An axis error naming `max` if an axis is out of range or repeated, or a reduced axis is
/// empty.
pub fn max(x: &Var, axes: &[usize], keepdims: bool) -> Result<Var> {
    let x_value = x.value();
    let out = x_value.max_axes(axes, keepdims)?;
    let saved_out = out.clone();
    let axes = axes.to_vec();
    Ok(Var::from_op("max", out, &[x], move |dout| {
        Ok(vec![Some(max_backward(dout, &x_value, &saved_out, &axes)?)])
    }))
}

/// `dx = (x == out) / count · dout`: `dout` shared equally among the maxima of each lane.
///
/// `out` and `dout` may come with or without the reduced axes kept as size 1.
pub fn max_backward(dout: &Tensor, x: &Tensor, out: &Tensor, axes: &[usize]) -> Result<Tensor> {
    // kept: x's shape with the reduced axes as 1, so out and dout broadcast against x.
    let kept: Vec<usize> = (0..x.rank())
        .map(|a| if axes.contains(&a) { 1 } else { x.shape()[a] })
        .collect();
    let out = out.reshape(&kept)?;
    let dout = dout.reshape(&kept)?;
    // indicator: (shape of x), 1 where an element equals its lane's maximum.
    let indicator = x.eq_elem(&out)?;
    // count: (kept), how many elements tie for each maximum (≥ 1 unless the maximum is NaN).
    let count = indicator.sum_axes(axes, true)?;
    Ok(indicator.div(&count)?.mul(&dout)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::shape;
    use astrograd_tensor::random::Rng;
    use proptest::prelude::*;

    /// Distinct values 0.1 apart in random order: the maximum of every lane is unique and
    /// stays so under gradcheck's ±0.01 steps, where `max` is differentiable.
    fn distinct(shape: &[usize], seed: u64) -> Tensor {
        let n: usize = shape.iter().product();
        let data = Rng::new(seed)
            .permutation(n)
            .into_iter()
            .map(|i| 0.1 * i as f32 - 0.05 * n as f32)
            .collect();
        Tensor::from_vec(data, shape).unwrap()
    }

    #[test]
    fn values_with_and_without_keepdims() {
        // x: (2, 3)
        let x =
            Var::constant(Tensor::from_vec(vec![1.0, 9.0, 3.0, -4.0, 0.0, -1.0], &[2, 3]).unwrap());
        assert_eq!(
            x.max_axes(&[1], false).unwrap().value().to_vec().unwrap(),
            vec![9.0, 0.0]
        );
        let m = x.max_axes(&[0], true).unwrap();
        assert_eq!(m.shape(), vec![1, 3]);
        assert_eq!(m.value().to_vec().unwrap(), vec![1.0, 9.0, 3.0]);
        let all = x.max_axes(&[0, 1], false).unwrap();
        assert_eq!(all.shape(), Vec::<usize>::new());
        assert_eq!(all.value().item().unwrap(), 9.0);
    }

    #[test]
    fn gradient_goes_to_the_maximum_only() {
        let x = Var::parameter(
            Tensor::from_vec(vec![1.0, 9.0, 3.0, -4.0, 0.0, -1.0], &[2, 3]).unwrap(),
        );
        let m = x.max_axes(&[1], false).unwrap();
        m.backward_with(Tensor::from_vec(vec![2.0, -3.0], &[2]).unwrap())
            .unwrap();
        assert_eq!(
            x.grad().unwrap().to_vec().unwrap(),
            vec![0.0, 2.0, 0.0, 0.0, -3.0, 0.0]
        );
    }

    #[test]
    fn ties_share_the_gradient_equally_as_in_tensorflow() {
        // tf.reduce_max over axis 1 of [[5, 1, 5, 5], [2, 7, 7, 0]] with dy = [3, 1]
        // gives dx = [[1, 0, 1, 1], [0, 0.5, 0.5, 0]].
        let x = Var::parameter(
            Tensor::from_vec(vec![5.0, 1.0, 5.0, 5.0, 2.0, 7.0, 7.0, 0.0], &[2, 4]).unwrap(),
        );
        let m = x.max_axes(&[1], true).unwrap();
        assert_eq!(m.value().to_vec().unwrap(), vec![5.0, 7.0]);
        m.backward_with(Tensor::from_vec(vec![3.0, 1.0], &[2, 1]).unwrap())
            .unwrap();
        assert_eq!(
            x.grad().unwrap().to_vec().unwrap(),
            vec![1.0, 0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 0.0]
        );
        // Every element tied: each gets 1/4 of dout.
        let same = Var::parameter(Tensor::full(&[2, 2], 1.5));
        same.max_axes(&[0, 1], false).unwrap().backward().unwrap();
        assert_eq!(same.grad().unwrap().to_vec().unwrap(), vec![0.25; 4]);
    }

    #[test]
    fn bad_axes_are_errors_naming_max() {
        let x = Var::constant(Tensor::zeros(&[2, 3]));
        let err = x.max_axes(&[2], false).unwrap_err().to_string();
        assert!(err.contains("max") && err.contains("[2, 3]"), "{err}");
        assert!(x.max_axes(&[1, 1], false).is_err());
        let empty = Var::constant(Tensor::zeros(&[0, 3]));
        assert!(empty.max_axes(&[0], false).is_err());
    }

    #[test]
    fn gradcheck_on_unique_maxima() {
        let x = distinct(&[3, 4, 2], 7);
        gradcheck(
            "max",
            |v| v[0].max_axes(&[1], false),
            std::slice::from_ref(&x),
        )
        .unwrap();
        gradcheck("max", |v| v[0].max_axes(&[0, 2], true), &[x]).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn gradcheck_random_axes(s in shape(4, 4), pick in any::<u8>(), keepdims in any::<bool>(), seed in 0u64..1000) {
            let axes: Vec<usize> = (0..s.len()).filter(|a| pick & (1 << a) != 0).collect();
            let x = distinct(&s, seed);
            gradcheck("max", |v| v[0].max_axes(&axes, keepdims), &[x]).unwrap();
        }
    }
}
