//! Concatenation along an existing axis: `out = [x₀ | x₁ | … ]` (Keras `Concatenate`).
//!
//! # Math
//! Each input occupies its own range of the output along `axis`: input `i` sits at
//! `offset_i..offset_i + D_i`, where `offset_i = D₀ + … + D_{i−1}`. Nothing is added or
//! scaled, so each input's gradient is its own range of `dout`:
//!
//! `dxᵢ = dout[…, offset_i..offset_i + D_i, …]` (a slice; the inverse of the forward).
//!
//! The same `Var` passed twice gets both of its slices, added by the engine.
//!
//! # Shapes
//! `xᵢ: (…, Dᵢ, …)`, equal on every axis but `axis`; `out: (…, Σ Dᵢ, …)`.
use astrograd_tensor::Tensor;

use crate::{Result, Var};

/// Joins `xs` along `axis`.
///
/// ```
/// use astrograd_autograd::{ops::concat::concat, Tensor, Var};
/// let a = Var::constant(Tensor::from_vec(vec![1.0, 2.0], &[1, 2])?);
/// let b = Var::constant(Tensor::from_vec(vec![3.0], &[1, 1])?);
/// assert_eq!(concat(&[&a, &b], 1)?.value().to_vec()?, vec![1.0, 2.0, 3.0]);
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// An error naming `concat` for an empty list, an axis out of range, or shapes that differ on
/// an axis other than `axis`.
pub fn concat(xs: &[&Var], axis: usize) -> Result<Var> {
    let values: Vec<Tensor> = xs.iter().map(|x| x.value()).collect();
    let refs: Vec<&Tensor> = values.iter().collect();
    let out = Tensor::concat(&refs, axis)?;
    // offsets: where each input starts along `axis` in the output, and where the last ends.
    let mut offsets = vec![0];
    for v in &values {
        offsets.push(offsets[offsets.len() - 1] + v.shape()[axis]);
    }
    Ok(Var::from_op("concat", out, xs, move |dout| {
        offsets
            .windows(2)
            .map(|range| Ok(Some(concat_backward_input(dout, axis, range[0], range[1])?)))
            .collect()
    }))
}

/// The gradient of the input that occupies `start..end` of `axis`: `dout[…, start..end, …]`.
pub fn concat_backward_input(
    dout: &Tensor,
    axis: usize,
    start: usize,
    end: usize,
) -> Result<Tensor> {
    Ok(dout.slice_axis(axis, start, end)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use proptest::prelude::*;

    #[test]
    fn values_and_one_gradient_per_input() {
        // a: (2, 1), b: (2, 2) → out: (2, 3) = [[1, 3, 4], [2, 5, 6]].
        let a = Var::parameter(Tensor::from_vec(vec![1.0, 2.0], &[2, 1]).unwrap());
        let b = Var::parameter(Tensor::from_vec(vec![3.0, 4.0, 5.0, 6.0], &[2, 2]).unwrap());
        let out = concat(&[&a, &b], 1).unwrap();
        assert_eq!(
            out.value().to_vec().unwrap(),
            vec![1.0, 3.0, 4.0, 2.0, 5.0, 6.0]
        );
        let dout = Tensor::from_vec(vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0], &[2, 3]).unwrap();
        out.backward_with(dout).unwrap();
        assert_eq!(a.grad().unwrap().to_vec().unwrap(), vec![10.0, 40.0]);
        assert_eq!(
            b.grad().unwrap().to_vec().unwrap(),
            vec![20.0, 30.0, 50.0, 60.0]
        );
    }

    #[test]
    fn the_same_input_twice_gets_both_slices() {
        let x = Var::parameter(Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap());
        let out = concat(&[&x, &x], 0).unwrap();
        out.backward_with(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4]).unwrap())
            .unwrap();
        assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![4.0, 6.0]);
    }

    #[test]
    fn bad_inputs_are_errors_naming_concat() {
        let a = Var::constant(Tensor::zeros(&[2, 2]));
        let b = Var::constant(Tensor::zeros(&[1, 2]));
        let err = concat(&[&a, &b], 1).unwrap_err().to_string();
        assert!(err.contains("concat") && err.contains("[1, 2]"), "{err}");
        assert!(concat(&[], 0).is_err());
        assert!(concat(&[&a, &b], 2).is_err());
        assert_eq!(concat(&[&a, &b], 0).unwrap().shape(), vec![3, 2]);
    }

    #[derive(Debug, Clone)]
    struct ConcatCase {
        /// The shape every input shares, except on `axis`.
        shape: Vec<usize>,
        axis: usize,
        /// The size of each input along `axis` (0 allowed: an empty input).
        sizes: Vec<usize>,
    }

    fn cases() -> impl Strategy<Value = ConcatCase> {
        shape(3, 3)
            .prop_flat_map(|shape| {
                let rank = shape.len();
                (
                    Just(shape),
                    0..rank,
                    prop::collection::vec(0usize..=3, 1..=3),
                )
            })
            .prop_map(|(shape, axis, sizes)| ConcatCase { shape, axis, sizes })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn gradcheck_random_pieces(case in cases(), seed in 0u64..1000) {
            let ConcatCase { shape, axis, sizes } = case;
            let inputs: Vec<Tensor> = sizes
                .iter()
                .enumerate()
                .map(|(i, &d)| {
                    let mut s = shape.clone();
                    s[axis] = d;
                    random(&s, -1.0, 1.0, seed + i as u64)
                })
                .collect();
            gradcheck("concat", |v| concat(&v.iter().collect::<Vec<_>>(), axis), &inputs).unwrap();
        }
    }

    #[cfg(feature = "wgpu")]
    #[test]
    fn the_gpu_computes_what_the_cpu_computes() {
        let (a, b) = (
            random(&[2, 3, 2], -1.0, 1.0, 48),
            random(&[2, 1, 2], -1.0, 1.0, 49),
        );
        // Weighted, so that each input's gradient is its own slice of dout, not all ones.
        let w = random(&[2, 4, 2], -1.0, 1.0, 50);
        crate::ops::testing::gpu_matches_cpu("concat", &[a, b, w], |v| {
            concat(&[&v[0], &v[1]], 1).unwrap().mul(&v[2]).unwrap()
        });
    }
}
