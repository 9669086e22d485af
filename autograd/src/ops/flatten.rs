//! Flatten (Keras `Flatten`): keep the batch axis, lay everything else out in one row.
//!
//! `(N, H, W, C)` → `(N, H·W·C)` in row-major order, so the feature `(h, w, c)` of an image
//! lands at column `(h·W + w)·C + c`, the order that pretrained Dense-after-Flatten weights
//! (VGG16's `fc1`, 25088 × 4096) assume. A batch of numbers `(N,)` becomes `(N, 1)`, as
//! Keras's eager `reshape(x, [N, −1])` does.
//!
//! Composed from [`reshape`](super::reshape), so its backward is reshape's: `dout` read back in
//! the input's shape.
//!
//! # Shapes
//! `x: (N, d₁, …, d_k)` with `k ≥ 0`; `out: (N, d₁·…·d_k)` (`(N, 1)` when `k = 0`).
use crate::{AutogradError, Result, Var};

impl Var {
    /// `(N, …)` → `(N, product of the rest)`, as Keras's `Flatten`. See [`flatten`].
    pub fn flatten(&self) -> Result<Var> {
        flatten(self)
    }
}

/// `(N, …)` → `(N, product of the rest)`, row-major, as Keras's `Flatten`.
///
/// ```
/// use astrograd_autograd::{Tensor, Var};
/// let x = Var::constant(Tensor::zeros(&[32, 28, 28, 1]));
/// assert_eq!(x.flatten()?.shape(), vec![32, 784]);
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// [`AutogradError::Invalid`] naming `flatten` for a scalar, which has no batch axis.
pub fn flatten(x: &Var) -> Result<Var> {
    let shape = x.shape();
    let Some((&n, rest)) = shape.split_first() else {
        return Err(AutogradError::Invalid {
            op: "flatten",
            expected: "a tensor with a batch axis (rank ≥ 1)".into(),
            found: "a scalar, shape []".into(),
        });
    };
    x.reshape(&[n, rest.iter().product()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::{random, shape};
    use astrograd_tensor::Tensor;
    use proptest::prelude::*;

    #[test]
    fn nhwc_order_as_keras() {
        // x: (1, 2, 2, 3), x[n, h, w, c] = (h·2 + w)·3 + c: flattening keeps that order.
        let x = Var::constant(
            Tensor::from_vec((0..12).map(|i| i as f32).collect(), &[1, 2, 2, 3]).unwrap(),
        );
        let y = x.flatten().unwrap();
        assert_eq!(y.shape(), vec![1, 12]);
        assert_eq!(
            y.value().to_vec().unwrap(),
            (0..12).map(|i| i as f32).collect::<Vec<_>>()
        );
        assert_eq!(
            Var::constant(Tensor::zeros(&[5, 3]))
                .flatten()
                .unwrap()
                .shape(),
            vec![5, 3]
        );
    }

    #[test]
    fn a_batch_of_numbers_becomes_a_column() {
        let x = Var::constant(Tensor::zeros(&[4]));
        assert_eq!(x.flatten().unwrap().shape(), vec![4, 1]);
    }

    #[test]
    fn a_scalar_is_an_error() {
        let err = Var::scalar(1.0).flatten().unwrap_err().to_string();
        assert!(err.contains("flatten") && err.contains("[]"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(s in shape(4, 4), seed in 0u64..1000) {
            let x = random(&s, -1.0, 1.0, seed);
            let n = s[0];
            let rest: usize = s[1..].iter().product();
            let out = Var::constant(x.clone()).flatten().unwrap();
            prop_assert_eq!(out.shape(), vec![n, rest]);
            gradcheck("flatten", |v| v[0].flatten(), &[x]).unwrap();
        }
    }
}
