//! Sparse categorical cross-entropy, Keras's `SparseCategoricalCrossentropy(from_logits)` with
//! reduction NONE: one loss per sample, for integer class labels.
//!
//! # Math
//! For one row of `K` scores and its label `y`:
//!
//! **From logits** `z` (what Keras computes whenever the last layer is `softmax`, see
//! `docs/keras-semantics.md`, "The surprises"), softmax and cross-entropy fused, through
//! [`sparse_softmax_cross_entropy`] / [`sparse_softmax_cross_entropy_backward`]:
//!
//! ```text
//! loss = −log softmax(z)_y = logsumexp(z) − z_y        ∂loss/∂z_j = softmax(z)_j − [j = y]
//! ```
//!
//! No probability is ever rounded to 0 and logged, so logits (50, −50) with label 1 give exactly
//! 100.0 (the probability form would stop at the cap 16.118).
//!
//! **From probabilities** `p`, Keras's formula: clip to `[ε, 1−ε]` (`ε = 1e-7`), then treat
//! `log c` as logits, which renormalises rows that do not sum to 1:
//!
//! ```text
//! c = clip(p, ε, 1−ε)      loss = −log c_y + log Σ_j c_j      (cap −log ε = 16.118095)
//! ∂loss/∂p_j = 1/Σc − [j = y]/c_y                              (0 where the clip is active)
//! ```
//!
//! # Shapes
//! `y_pred: (N, K)`; `labels: (N,)` or `(N, 1)`, class indices `0..K` stored as f32;
//! out: `(N,)`. The labels get no gradient.
//!
//! # Devices
//! The arithmetic is [`astrograd_tensor::nn::losses`], on the device of `y_pred` (`labels`
//! must be on the same one). Labels on the CPU are checked here; labels on the GPU are not (that
//! would read them back every batch): a bad one makes its row's loss NaN.
use astrograd_tensor::nn::losses::{
    sparse_cross_entropy_from_probs, sparse_cross_entropy_from_probs_backward,
    sparse_softmax_cross_entropy, sparse_softmax_cross_entropy_backward,
};
use astrograd_tensor::{Device, Tensor};

use crate::{AutogradError, Result, Var};

/// The name the op's errors and graph nodes carry.
const OP: &str = "sparse_categorical_crossentropy";

/// Keras's `backend.epsilon()` (declared once, in the kernels crate).
pub use astrograd_kernels::EPSILON;

impl Var {
    /// Per-sample sparse categorical cross-entropy of the predictions `self`.
    /// See [`sparse_categorical_crossentropy`].
    pub fn sparse_categorical_crossentropy(
        &self,
        labels: &Tensor,
        from_logits: bool,
    ) -> Result<Var> {
        sparse_categorical_crossentropy(self, labels, from_logits)
    }
}

/// Per-sample cross-entropy of `y_pred` (logits when `from_logits`, else probabilities) against
/// integer class `labels`: shape `(N,)`. Keras's default reduction is `.mean_all()` on the result.
///
/// ```
/// use astrograd_autograd::{Tensor, Var};
/// let logits = Var::parameter(Tensor::from_vec(vec![50.0, -50.0], &[1, 2])?);
/// let labels = Tensor::from_vec(vec![1.0], &[1])?;
/// let loss = logits.sparse_categorical_crossentropy(&labels, true)?;
/// assert_eq!(loss.value().to_vec()?, vec![100.0]);
/// loss.mean_all()?.backward()?;
/// assert_eq!(logits.grad().unwrap().to_vec()?, vec![1.0, -1.0]); // softmax − one-hot
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// [`AutogradError::Invalid`] naming `sparse_categorical_crossentropy` if `y_pred` is not
/// `(N, K)` with `K ≥ 1`, if `labels` is not `(N,)` or `(N, 1)`, or if a label is not a whole
/// number in `0..K` (the message gives the label, its row and `K`).
pub fn sparse_categorical_crossentropy(
    y_pred: &Var,
    labels: &Tensor,
    from_logits: bool,
) -> Result<Var> {
    let (n, k) = rows_and_classes(OP, &y_pred.shape())?;
    let labels = class_labels(OP, labels, n, k)?;
    if from_logits {
        return Ok(from_logits_checked(y_pred, labels)?.0);
    }
    let y_pred_value = y_pred.value();
    // losses: (N,)
    let losses = sparse_cross_entropy_from_probs(&y_pred_value, &labels)?;
    Ok(Var::from_op(OP, losses, &[y_pred], move |dout| {
        Ok(vec![Some(
            sparse_categorical_crossentropy_backward_from_probs(dout, &y_pred_value, &labels)?,
        )])
    }))
}

/// From logits, with the probabilities: `(losses, softmax(logits))`. The probabilities are the
/// fused kernel's, kept for the backward, and the same numbers as `logits.softmax(1)`: a
/// training step takes them as the model's output rather than computing the softmax twice.
///
/// # Shapes
/// `logits: (N, K)`, `labels: (N,)` or `(N, 1)`; out: `(N,)` and `(N, K)`.
///
/// # Errors
/// As [`sparse_categorical_crossentropy`].
pub fn sparse_categorical_crossentropy_with_probs(
    logits: &Var,
    labels: &Tensor,
) -> Result<(Var, Tensor)> {
    let (n, k) = rows_and_classes(OP, &logits.shape())?;
    let labels = class_labels(OP, labels, n, k)?;
    from_logits_checked(logits, labels)
}

/// The fused op from logits, for checked `(N,)` labels.
fn from_logits_checked(logits: &Var, labels: Tensor) -> Result<(Var, Tensor)> {
    let fused = sparse_softmax_cross_entropy(&logits.value(), &labels)?;
    // probs: (N, K), kept for the backward
    let probs = fused.probs;
    let kept = probs.clone();
    let losses = Var::from_op(OP, fused.losses, &[logits], move |dout| {
        Ok(vec![Some(
            sparse_categorical_crossentropy_backward_from_logits(dout, &kept, &labels)?,
        )])
    });
    Ok((losses, probs))
}

/// From logits: `dz[n, j] = dloss_n · (softmax(z_n)_j − [j = y_n])`, by the fused kernel.
/// `labels`: `(N,)`.
pub fn sparse_categorical_crossentropy_backward_from_logits(
    dout: &Tensor,
    probs: &Tensor,
    labels: &Tensor,
) -> Result<Tensor> {
    Ok(sparse_softmax_cross_entropy_backward(probs, labels, dout)?)
}

/// From probabilities: `dp[n, j] = dloss_n · (1/Σc − [j = y_n]/c_y)`, and 0 where `p` was
/// clipped (outside `[ε, 1−ε]`). `labels`: `(N,)`.
pub fn sparse_categorical_crossentropy_backward_from_probs(
    dout: &Tensor,
    probs: &Tensor,
    labels: &Tensor,
) -> Result<Tensor> {
    Ok(sparse_cross_entropy_from_probs_backward(
        probs, labels, dout,
    )?)
}

/// `(N, K)` of a `(N, K)` score matrix with `K ≥ 1`, or an error naming `op`.
pub(crate) fn rows_and_classes(op: &'static str, y_pred_shape: &[usize]) -> Result<(usize, usize)> {
    match *y_pred_shape {
        [n, k] if k > 0 => Ok((n, k)),
        _ => Err(AutogradError::Invalid {
            op,
            expected: "y_pred of shape (N, K): one row of K ≥ 1 class scores per sample".into(),
            found: format!("y_pred of shape {y_pred_shape:?}"),
        }),
    }
}

/// The labels as an `(N,)` tensor, after checking that there is one per row and, on the CPU,
/// that each is a whole number in `0..K`.
fn class_labels(op: &'static str, labels: &Tensor, n: usize, k: usize) -> Result<Tensor> {
    if labels.shape() != [n] && labels.shape() != [n, 1] {
        return Err(AutogradError::Invalid {
            op,
            expected: format!(
                "labels of shape [{n}] or [{n}, 1], one class index per row of y_pred"
            ),
            found: format!("labels of shape {:?}", labels.shape()),
        });
    }
    if labels.device() == Device::Cpu {
        astrograd_tensor::nn::losses::check_class_indices(op, labels, k)?;
    }
    Ok(labels.reshape(&[n])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::random;
    use astrograd_tensor::random::Rng;
    use proptest::prelude::*;

    fn labels(values: &[f32]) -> Tensor {
        Tensor::from_vec(values.to_vec(), &[values.len()]).unwrap()
    }

    /// PyTorch 2.x: `F.cross_entropy(torch.tensor([[1., 2., 3.], [1., 1., 1.]]), torch.tensor([2, 0]),
    /// reduction='none')` → `[0.4076059, 1.0986123]`.
    #[test]
    fn logits_match_pytorch_and_probabilities_renormalise() {
        let logits =
            Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 1.0, 1.0, 1.0], &[2, 3]).unwrap());
        let l = logits
            .sparse_categorical_crossentropy(&labels(&[2.0, 0.0]), true)
            .unwrap()
            .value()
            .to_vec()
            .unwrap();
        assert!(
            (l[0] - 0.4076059).abs() < 1e-6 && (l[1] - 1.0986123).abs() < 1e-6,
            "{l:?}"
        );
        // Row 0 sums to 2, so p_y = 0.5 counts as 0.25: −log 0.5 + log 2 = log 4.
        // Row 1 has p_y = 0: the cap −log ε.
        let probs =
            Var::constant(Tensor::from_vec(vec![1.0, 0.5, 0.5, 0.0, 0.5, 0.5], &[2, 3]).unwrap());
        let column = Tensor::from_vec(vec![1.0, 0.0], &[2, 1]).unwrap(); // (N, 1) labels
        let l = probs
            .sparse_categorical_crossentropy(&column, false)
            .unwrap()
            .value()
            .to_vec()
            .unwrap();
        assert!(
            (l[0] - 4f32.ln()).abs() < 1e-6 && (l[1] - 16.118095).abs() < 1e-5,
            "{l:?}"
        );
    }

    #[test]
    fn clipped_probabilities_get_no_gradient() {
        let probs = Var::parameter(
            Tensor::from_vec(vec![0.0, 0.25, 0.75, 1.0, 0.0, 0.0], &[2, 3]).unwrap(),
        );
        let losses = probs
            .sparse_categorical_crossentropy(&labels(&[1.0, 0.0]), false)
            .unwrap();
        losses.sum_all().unwrap().backward().unwrap();
        let g = probs.grad().unwrap().to_vec().unwrap();
        // Row 0: 1/Σc − 1/0.25 at the label, 1/Σc elsewhere; p = 0 gets 0. Row 1: all clipped.
        let row_sum = 1e-7 + 0.25 + 0.75;
        let expected = [0.0, 1.0 / row_sum - 4.0, 1.0 / row_sum, 0.0, 0.0, 0.0];
        for (a, e) in g.iter().zip(expected) {
            assert!((a - e).abs() < 1e-5, "{g:?}");
        }
    }

    #[test]
    fn bad_labels_and_shapes_are_errors_naming_the_op_and_the_label() {
        let y_pred = Var::constant(Tensor::zeros(&[2, 3]));
        for (bad, shown) in [
            (3.0, "label 3 in row 1"),
            (-1.0, "label -1 in row 1"),
            (1.5, "label 1.5 in row 1"),
        ] {
            let err = y_pred
                .sparse_categorical_crossentropy(&labels(&[0.0, bad]), true)
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("sparse_categorical_crossentropy") && err.contains(shown),
                "{err}"
            );
            assert!(err.contains("K = 3"), "{err}");
        }
        let err = y_pred
            .sparse_categorical_crossentropy(&labels(&[0.0, 1.0, 2.0]), false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("labels of shape [2] or [2, 1]") && err.contains("[3]"),
            "{err}"
        );
        let flat = Var::constant(Tensor::zeros(&[6]));
        assert!(flat
            .sparse_categorical_crossentropy(&labels(&[0.0]), true)
            .is_err());
        let no_classes = Var::constant(Tensor::zeros(&[2, 0]));
        assert!(no_classes
            .sparse_categorical_crossentropy(&labels(&[0.0, 0.0]), true)
            .is_err());
    }

    fn random_labels(n: usize, k: usize, seed: u64) -> Tensor {
        let mut rng = Rng::new(seed);
        labels(&(0..n).map(|_| rng.below(k) as f32).collect::<Vec<_>>())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(n in 1usize..5, k in 1usize..6, seed in 0u64..1000) {
            let y = random_labels(n, k, seed);
            let logits = random(&[n, k], -3.0, 3.0, seed + 1);
            gradcheck("sparse_categorical_crossentropy (logits)", |v| sparse_categorical_crossentropy(&v[0], &y, true), &[logits]).unwrap();
            // Unnormalised probabilities away from the clip bounds.
            let probs = random(&[n, k], 0.2, 0.8, seed + 2);
            gradcheck("sparse_categorical_crossentropy (probs)", |v| sparse_categorical_crossentropy(&v[0], &y, false), &[probs]).unwrap();
        }
    }
}
