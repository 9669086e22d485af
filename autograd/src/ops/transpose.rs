//! Permute and transpose: the same numbers with their axes reordered.
//!
//! # Math
//! `out[i₀, …, i_{r−1}] = x[j]` with `j[axes[k]] = i_k`: output axis `k` is input axis
//! `axes[k]` (numpy's `transpose(axes)`). Every number moves once and is not changed, so the
//! gradient moves back the other way: `dx = permute(dout, axes⁻¹)`, where the inverse
//! permutation has `axes⁻¹[axes[k]] = k`.
//!
//! `transpose(x, a, b)` is the permutation that swaps two axes; a swap is its own inverse.
//!
//! # Shapes
//! `x: (d₀, …, d_{r−1})`; `out: (d_{axes[0]}, …, d_{axes[r−1]})`.
//! NHWC → NCHW is `permute(x, [0, 3, 1, 2])`, and back is `permute(x, [0, 2, 3, 1])`.
use astrograd_tensor::Tensor;

use crate::{AutogradError, Result, Var};

impl Var {
    /// Reorders the axes: output axis `k` is input axis `axes[k]`. See [`permute`].
    pub fn permute(&self, axes: &[usize]) -> Result<Var> {
        permute(self, axes)
    }

    /// Swaps two axes. See [`transpose`].
    pub fn transpose(&self, axis0: usize, axis1: usize) -> Result<Var> {
        transpose(self, axis0, axis1)
    }
}

/// Reorders the axes of `x`: output axis `k` is input axis `axes[k]`.
///
/// ```
/// use astrograd_autograd::{Tensor, Var};
/// let x = Var::constant(Tensor::zeros(&[2, 5, 5, 3])); // N H W C
/// assert_eq!(x.permute(&[0, 3, 1, 2])?.shape(), vec![2, 3, 5, 5]); // N C H W
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// An error naming `permute` if `axes` is not a permutation of `0..rank`.
pub fn permute(x: &Var, axes: &[usize]) -> Result<Var> {
    let out = x.value().permute(axes)?;
    let axes = axes.to_vec();
    Ok(Var::from_op("permute", out, &[x], move |dout| {
        Ok(vec![Some(permute_backward(dout, &axes)?)])
    }))
}

/// `dx = permute(dout, axes⁻¹)`.
pub fn permute_backward(dout: &Tensor, axes: &[usize]) -> Result<Tensor> {
    Ok(dout.permute(&inverse_permutation(axes))?)
}

/// The permutation that undoes `axes`: `inverse[axes[k]] = k`.
pub fn inverse_permutation(axes: &[usize]) -> Vec<usize> {
    let mut inverse = vec![0; axes.len()];
    for (k, &a) in axes.iter().enumerate() {
        inverse[a] = k;
    }
    inverse
}

/// Swaps axes `axis0` and `axis1` (a [`permute`] by the swap, so its backward swaps back).
///
/// # Errors
/// [`AutogradError::Invalid`] naming `transpose` if either axis is out of range.
pub fn transpose(x: &Var, axis0: usize, axis1: usize) -> Result<Var> {
    let shape = x.shape();
    if axis0 >= shape.len() || axis1 >= shape.len() {
        return Err(AutogradError::Invalid {
            op: "transpose",
            expected: format!("two axes below the rank {} of shape {shape:?}", shape.len()),
            found: format!("axes {axis0} and {axis1}"),
        });
    }
    let mut axes: Vec<usize> = (0..shape.len()).collect();
    axes.swap(axis0, axis1);
    permute(x, &axes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use astrograd_tensor::random::Rng;
    use proptest::prelude::*;

    fn iota(shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        Tensor::from_vec((0..n).map(|i| i as f32).collect(), shape).unwrap()
    }

    #[test]
    fn values_nhwc_to_nchw_and_back() {
        let x = Var::constant(iota(&[1, 2, 2, 3])); // N H W C
        let y = x.permute(&[0, 3, 1, 2]).unwrap(); // N C H W
        assert_eq!(y.shape(), vec![1, 3, 2, 2]);
        // Channel 0 holds every third value.
        assert_eq!(&y.value().to_vec().unwrap()[..4], &[0.0, 3.0, 6.0, 9.0]);
        let back = y.permute(&[0, 2, 3, 1]).unwrap();
        assert_eq!(back.value().to_vec(), x.value().to_vec());
        let t = Var::constant(iota(&[2, 3])).transpose(1, 0).unwrap();
        assert_eq!(
            t.value().to_vec().unwrap(),
            vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
        );
    }

    #[test]
    fn gradient_is_dout_moved_back() {
        // x: (2, 3); out = xᵀ: (3, 2); dout[i, j] lands on x[j, i].
        let x = Var::parameter(iota(&[2, 3]));
        let out = x.transpose(0, 1).unwrap();
        out.backward_with(iota(&[3, 2])).unwrap();
        assert_eq!(
            x.grad().unwrap().to_vec().unwrap(),
            vec![0.0, 2.0, 4.0, 1.0, 3.0, 5.0]
        );
        assert_eq!(inverse_permutation(&[2, 0, 1]), vec![1, 2, 0]);
    }

    #[test]
    fn bad_axes_are_errors() {
        let x = Var::constant(Tensor::zeros(&[2, 3]));
        let err = x.permute(&[0, 0]).unwrap_err().to_string();
        assert!(err.contains("permute") && err.contains("[2, 3]"), "{err}");
        assert!(x.permute(&[0, 1, 2]).is_err());
        assert!(x.permute(&[1, 2]).is_err());
        let err = x.transpose(0, 2).unwrap_err().to_string();
        assert!(err.contains("transpose") && err.contains("[2, 3]"), "{err}");
    }

    /// A random shape with a random permutation of its axes.
    fn shape_and_permutation() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        (shape(4, 4), any::<u64>()).prop_map(|(s, seed)| {
            let axes = Rng::new(seed).permutation(s.len());
            (s, axes)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn gradcheck_random_permutations((s, axes) in shape_and_permutation(), seed in 0u64..1000) {
            let x = random(&s, -1.0, 1.0, seed);
            gradcheck("permute", |v| v[0].permute(&axes), std::slice::from_ref(&x)).unwrap();
            let (a0, a1) = (axes[0], s.len() - 1);
            gradcheck("transpose", |v| v[0].transpose(a0, a1), &[x]).unwrap();
        }
    }
}
