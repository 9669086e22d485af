//! Softmax along an axis: `out_j = e^(x_j) / Σ_i e^(x_i)`, each slice along `axis` a
//! probability distribution.
//!
//! # Math
//! The Jacobian of one slice is `∂out_j/∂x_i = out_j·(δ_ij − out_i)`. Contracting it with the
//! upstream gradient:
//!
//! ```text
//! dx_i = Σ_j dout_j · out_j·(δ_ij − out_i) = out_i · (dout_i − Σ_j dout_j·out_j)
//! dx   = out ⊙ (dout − Σ_axis(dout ⊙ out))
//! ```
//!
//! so the backward costs `O(K)` per slice and never builds the `K×K` Jacobian; it needs only the
//! saved output.
//!
//! **Fused, not composed.** Softmax could be composed from `max`, `sub`, `exp`, `sum` and `div`
//! (the max shift carries no gradient, because softmax is shift-invariant:
//! `softmax(x − c) = softmax(x)` for any constant `c`). Writing it as one op instead runs the
//! stable row kernel [`softmax_rows`] in a single pass (it subtracts the row maximum so no `exp`
//! overflows) and saves one tensor for the backward instead of five.
//!
//! **Axes.** The kernel works on rows, the last axis. Another axis is moved last by a
//! permutation (a copy), processed, and moved back; the backward's sums work on any axis as is.
//!
//! # Shapes
//! `x`, `out`: the same shape, rank ≥ 1; `axis < rank` (Keras's default `axis=-1` is
//! `rank − 1`).
use astrograd_tensor::nn::losses::softmax_rows;
use astrograd_tensor::shape::check_axis;
use astrograd_tensor::Tensor;

use crate::{Result, Var};

impl Var {
    /// Softmax along `axis` (Keras's `axis=-1` is `self.shape().len() - 1`). See [`softmax`].
    pub fn softmax(&self, axis: usize) -> Result<Var> {
        softmax(self, axis)
    }
}

/// Softmax along `axis`: `tf.keras.activations.softmax(x, axis)`.
///
/// ```
/// use astrograd_autograd::{Tensor, Var};
/// let x = Var::constant(Tensor::from_vec(vec![1000.0, 1000.0, 1.0, 1.0], &[2, 2])?);
/// let p = x.softmax(1)?.value().to_vec()?; // no overflow at 1000
/// assert_eq!(p, vec![0.5, 0.5, 0.5, 0.5]);
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// An axis error naming `softmax` if `axis` is out of range (a scalar has no axis).
pub fn softmax(x: &Var, axis: usize) -> Result<Var> {
    let y = along_axis("softmax", &x.value(), axis, softmax_rows)?;
    let saved_y = y.clone();
    Ok(Var::from_op("softmax", y, &[x], move |dout| {
        Ok(vec![Some(softmax_backward(dout, &saved_y, axis)?)])
    }))
}

/// `dx = y ⊙ (dout − Σ_axis(dout ⊙ y))`, with `y = softmax(x)` saved by the forward.
pub fn softmax_backward(dout: &Tensor, y: &Tensor, axis: usize) -> Result<Tensor> {
    // weighted: (x's shape with `axis` as 1), Σ_j dout_j·y_j for each slice.
    let weighted = dout.mul(y)?.sum_axes(&[axis], true)?;
    Ok(y.mul(&dout.sub(&weighted)?)?)
}

/// A row function on `(N, K)` tensors, as [`softmax_rows`] (it runs on the tensor's device).
pub(crate) type RowKernel = fn(&Tensor) -> astrograd_tensor::Result<Tensor>;

/// Runs a row kernel along `axis` of `x`: moves `axis` last (a copy, skipped when it already
/// is), treats the tensor as `(N, K)` rows with `K = shape[axis]`, and moves the axis back.
///
/// # Errors
/// An axis error naming `op` if `axis` is out of range.
pub(crate) fn along_axis(
    op: &'static str,
    x: &Tensor,
    axis: usize,
    rows: RowKernel,
) -> Result<Tensor> {
    check_axis(op, axis, x.shape())?;
    let rank = x.rank();
    let is_last = axis == rank - 1;
    // to_last: every axis but `axis`, in order, then `axis`.
    let to_last: Vec<usize> = (0..rank).filter(|&a| a != axis).chain([axis]).collect();
    let moved = if is_last {
        x.clone()
    } else {
        x.permute(&to_last)?
    };
    let k = x.shape()[axis];
    // N rows of K; with K = 0 there are no rows to process.
    let n = moved.numel().checked_div(k).unwrap_or(0);
    if n == 0 {
        return Ok(Tensor::zeros_like(x));
    }
    // out: (N, K) rows, back in `moved`'s shape.
    let out = rows(&moved.reshape(&[n, k])?)?.reshape(moved.shape())?;
    if is_last {
        return Ok(out);
    }
    // back[to_last[i]] = i undoes the permutation.
    let mut back = vec![0; rank];
    for (i, &a) in to_last.iter().enumerate() {
        back[a] = i;
    }
    Ok(out.permute(&back)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use crate::AutogradError;
    use proptest::prelude::*;

    #[test]
    fn values_rows_sum_to_one_and_large_logits() {
        let x =
            Var::constant(Tensor::from_vec(vec![0.0, 2f32.ln(), 1000.0, 1000.0], &[2, 2]).unwrap());
        let y = x.softmax(1).unwrap().value().to_vec().unwrap();
        let expected = [1.0 / 3.0, 2.0 / 3.0, 0.5, 0.5];
        for (a, e) in y.iter().zip(expected) {
            assert!((a - e).abs() < 1e-6, "{a} vs {e}");
        }
        // Along axis 0 the columns are the distributions.
        let columns = x.softmax(0).unwrap().value().sum_axes(&[0], false).unwrap();
        assert!(columns.all_close(&Tensor::ones(&[2]), 0.0, 1e-6));
    }

    #[test]
    fn a_bad_axis_is_an_error() {
        let x = Var::constant(Tensor::ones(&[2, 3]));
        let err = x.softmax(2).unwrap_err();
        assert!(matches!(err, AutogradError::Tensor(_)), "{err}");
        assert!(err.to_string().contains("softmax"), "{err}");
        assert!(Var::scalar(1.0).softmax(0).is_err()); // a scalar has no axis
    }

    #[test]
    fn a_uniform_upstream_gradient_gives_zero() {
        // Σ_j softmax_j = 1 whatever x, so d(Σ out)/dx = 0.
        let x = Var::parameter(random(&[3, 4], -2.0, 2.0, 1));
        x.softmax(1).unwrap().sum_all().unwrap().backward().unwrap();
        assert!(x
            .grad()
            .unwrap()
            .all_close(&Tensor::zeros(&[3, 4]), 0.0, 1e-6));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn gradcheck_random_shapes_and_axes(s in shape(3, 4), pick in 0usize..3, seed in 0u64..1000) {
            let axis = pick % s.len();
            let x = random(&s, -2.0, 2.0, seed);
            // Along any axis, the same as the last-axis kernel on the transposed tensor.
            let last = s.len() - 1;
            let y = softmax(&Var::constant(x.clone()), axis).unwrap().value();
            let y_t = softmax(&Var::constant(x.transpose(axis, last).unwrap()), last).unwrap().value();
            prop_assert_eq!(y, y_t.transpose(axis, last).unwrap());
            gradcheck("softmax", |v| v[0].softmax(axis), &[x]).unwrap();
        }
    }
}
