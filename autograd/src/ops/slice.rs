//! Slice along one axis: `out = x[…, start..end, …]`.
//!
//! # Math
//! The output is a copy of the entries `start..end` of `axis`; the other entries of `x` are
//! not used. So each kept entry receives its `dout` and the rest receive 0:
//! `dx = zeros(shape(x))` with `dx[…, start..end, …] = dout` (a scatter into zeros).
//!
//! # Shapes
//! `x: (…, D, …)` with `D` at `axis`; `out: (…, end − start, …)`.
use astrograd_tensor::Tensor;

use crate::{Result, Var};

impl Var {
    /// The entries `start..end` along `axis`. See [`slice_axis`].
    pub fn slice_axis(&self, axis: usize, start: usize, end: usize) -> Result<Var> {
        slice_axis(self, axis, start, end)
    }
}

/// The entries `start..end` along `axis`.
///
/// ```
/// use astrograd_autograd::{Tensor, Var};
/// let x = Var::constant(Tensor::from_vec(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], &[3, 2])?);
/// assert_eq!(x.slice_axis(0, 1, 3)?.value().to_vec()?, vec![2.0, 3.0, 4.0, 5.0]);
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// An error naming `slice` if `axis` is out of range or not `start ≤ end ≤ D`.
pub fn slice_axis(x: &Var, axis: usize, start: usize, end: usize) -> Result<Var> {
    let out = x.value().slice_axis(axis, start, end)?;
    let x_shape = x.shape();
    Ok(Var::from_op("slice", out, &[x], move |dout| {
        Ok(vec![Some(slice_axis_backward(
            dout, &x_shape, axis, start,
        )?)])
    }))
}

/// `dx = zeros(shape(x))` with `dout` written at `start..start + len` of `axis`.
///
/// Row-major view: `x` is `outer` blocks of `D·inner` numbers (`outer` = the product of the
/// sizes before `axis`, `inner` = after it), and `dout` is `outer` blocks of `len·inner`
/// numbers; block `o` of `dout` lands at offset `start·inner` inside block `o` of `dx`.
pub fn slice_axis_backward(
    dout: &Tensor,
    x_shape: &[usize],
    axis: usize,
    start: usize,
) -> Result<Tensor> {
    let size = x_shape[axis];
    let inner: usize = x_shape[axis + 1..].iter().product();
    let len = dout.shape()[axis];
    let mut dx = Tensor::zeros(x_shape);
    if len == 0 || inner == 0 {
        return Ok(dx);
    }
    let src = dout.as_slice()?;
    let dst = dx.as_mut_slice()?;
    // One block of dout: (len·inner) numbers, copied into a block of dx: (D·inner) numbers.
    for (o, block) in src.chunks_exact(len * inner).enumerate() {
        let at = o * size * inner + start * inner;
        dst[at..at + len * inner].copy_from_slice(block);
    }
    Ok(dx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use proptest::prelude::*;

    #[test]
    fn values_and_scattered_gradient() {
        // x: (2, 3) = [[0, 1, 2], [3, 4, 5]]; out = x[:, 1..3]: (2, 2).
        let x =
            Var::parameter(Tensor::from_vec(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], &[2, 3]).unwrap());
        let out = x.slice_axis(1, 1, 3).unwrap();
        assert_eq!(out.shape(), vec![2, 2]);
        assert_eq!(out.value().to_vec().unwrap(), vec![1.0, 2.0, 4.0, 5.0]);
        out.backward_with(Tensor::from_vec(vec![10.0, 20.0, 30.0, 40.0], &[2, 2]).unwrap())
            .unwrap();
        assert_eq!(
            x.grad().unwrap().to_vec().unwrap(),
            vec![0.0, 10.0, 20.0, 0.0, 30.0, 40.0]
        );
    }

    #[test]
    fn an_empty_slice_has_a_zero_gradient() {
        let x = Var::parameter(Tensor::ones(&[2, 3]));
        let out = x.slice_axis(0, 1, 1).unwrap();
        assert_eq!(out.shape(), vec![0, 3]);
        let dx = slice_axis_backward(&Tensor::zeros(&[0, 3]), &[2, 3], 0, 1).unwrap();
        assert_eq!(dx.to_vec().unwrap(), vec![0.0; 6]);
    }

    #[test]
    fn out_of_range_is_an_error_naming_slice() {
        let x = Var::constant(Tensor::zeros(&[4, 2]));
        let err = x.slice_axis(0, 3, 5).unwrap_err().to_string();
        assert!(err.contains("slice") && err.contains("[4, 2]"), "{err}");
        assert!(x.slice_axis(0, 3, 2).is_err());
        assert!(x.slice_axis(2, 0, 1).is_err());
    }

    #[derive(Debug, Clone)]
    struct SliceCase {
        shape: Vec<usize>,
        axis: usize,
        start: usize,
        end: usize,
    }

    fn cases() -> impl Strategy<Value = SliceCase> {
        shape(4, 4)
            .prop_flat_map(|shape| {
                let rank = shape.len();
                (Just(shape), 0..rank)
            })
            .prop_flat_map(|(shape, axis)| {
                let size = shape[axis];
                (Just(shape), Just(axis), 0..=size)
            })
            .prop_flat_map(|(shape, axis, start)| {
                let size = shape[axis];
                (Just(shape), Just(axis), Just(start), start..=size)
            })
            .prop_map(|(shape, axis, start, end)| SliceCase {
                shape,
                axis,
                start,
                end,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn gradcheck_random_slices(case in cases(), seed in 0u64..1000) {
            let SliceCase { shape, axis, start, end } = case;
            let x = random(&shape, -1.0, 1.0, seed);
            gradcheck("slice", |v| v[0].slice_axis(axis, start, end), &[x]).unwrap();
        }
    }
}
