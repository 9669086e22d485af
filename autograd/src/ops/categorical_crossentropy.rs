//! Categorical cross-entropy, Keras's `CategoricalCrossentropy(from_logits)` with reduction
//! NONE: one loss per sample, for one-hot (or soft) target rows.
//!
//! # Math
//! For one row of `K` scores and its target row `t` (usually one-hot, so `Σt = 1`):
//!
//! **From logits** `z`, as TF's `softmax_cross_entropy_with_logits`, computed through the stable
//! log-softmax kernel:
//!
//! ```text
//! loss = −Σ_j t_j · log softmax(z)_j = (Σt)·logsumexp(z) − Σ_j t_j z_j
//! ∂loss/∂z_j = softmax(z)_j · Σt − t_j                 (softmax − one-hot when Σt = 1)
//! ```
//!
//! **From probabilities** `p`, Keras's formula: renormalise, then clip (`ε = 1e-7`):
//!
//! ```text
//! s = Σ_j p_j      q = p/s      c = clip(q, ε, 1−ε)      loss = −Σ_j t_j · log c_j
//! ```
//!
//! Backward, in two steps. Through the log and the clip: `g_j = ∂loss/∂q_j = −t_j/q_j`, and 0
//! where the clip is active. Through the division, `∂q_j/∂p_k = δ_jk/s − p_j/s²`, so
//!
//! ```text
//! ∂loss/∂p_k = (g_k − Σ_j g_j q_j) / s
//! ```
//!
//! A row of zeros has `s = 0` and gives NaN, as in Keras.
//!
//! A row whose true class has `p = 0` is clipped there, so `g = 0` and the whole row gets no
//! gradient (the `cce_probs` fixture's row 2): the loss sits at the cap `−log ε = 16.118` and
//! cannot move. This is why training on logits is preferred.
//!
//! # Shapes
//! `y_pred: (N, K)`, `y_true: (N, K)`, out: `(N,)`. `y_true` gets no gradient.
//!
//! The arithmetic is [`astrograd_tensor::nn::losses`], on the device of `y_pred`.
use astrograd_tensor::nn::losses::{
    dense_cross_entropy_from_probs, dense_cross_entropy_from_probs_backward,
    dense_softmax_cross_entropy, dense_softmax_cross_entropy_backward,
};
use astrograd_tensor::Tensor;

use super::softmax_cross_entropy::rows_and_classes;
use crate::{AutogradError, Result, Var};

impl Var {
    /// Per-sample categorical cross-entropy of the predictions `self`.
    /// See [`categorical_crossentropy`].
    pub fn categorical_crossentropy(&self, y_true: &Tensor, from_logits: bool) -> Result<Var> {
        categorical_crossentropy(self, y_true, from_logits)
    }
}

/// Per-sample cross-entropy of `y_pred` (logits when `from_logits`, else probabilities) against
/// target rows `y_true`: shape `(N,)`. Keras's default reduction is `.mean_all()` on the result.
///
/// ```
/// use astrograd_autograd::{Tensor, Var};
/// let probs = Var::constant(Tensor::from_vec(vec![0.25, 0.25, 0.5], &[1, 3])?);
/// let one_hot = Tensor::from_vec(vec![0.0, 0.0, 1.0], &[1, 3])?;
/// let loss = probs.categorical_crossentropy(&one_hot, false)?.value().to_vec()?;
/// assert!((loss[0] - 2f32.ln()).abs() < 1e-6); // −log 0.5
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// [`AutogradError::Invalid`] naming `categorical_crossentropy` if `y_pred` is not `(N, K)`
/// with `K ≥ 1` or `y_true` has another shape.
pub fn categorical_crossentropy(y_pred: &Var, y_true: &Tensor, from_logits: bool) -> Result<Var> {
    if from_logits {
        return Ok(categorical_crossentropy_with_probs(y_pred, y_true)?.0);
    }
    check_targets(y_pred, y_true)?;
    let (y_pred_value, y_true) = (y_pred.value(), y_true.clone());
    let losses = dense_cross_entropy_from_probs(&y_pred_value, &y_true)?;
    Ok(Var::from_op(OP, losses, &[y_pred], move |dout| {
        Ok(vec![Some(categorical_crossentropy_backward_from_probs(
            dout,
            &y_pred_value,
            &y_true,
        )?)])
    }))
}

/// From logits, with the probabilities: `(losses, softmax(logits))`, the probabilities the fused
/// kernel's (kept for the backward) and the same numbers as `logits.softmax(1)`.
///
/// # Shapes
/// `logits: (N, K)`, `y_true: (N, K)`; out: `(N,)` and `(N, K)`.
///
/// # Errors
/// As [`categorical_crossentropy`].
pub fn categorical_crossentropy_with_probs(logits: &Var, y_true: &Tensor) -> Result<(Var, Tensor)> {
    check_targets(logits, y_true)?;
    let fused = dense_softmax_cross_entropy(&logits.value(), y_true)?;
    // probs: (N, K), kept for the backward
    let probs = fused.probs;
    let (kept, y_true) = (probs.clone(), y_true.clone());
    let losses = Var::from_op(OP, fused.losses, &[logits], move |dout| {
        Ok(vec![Some(categorical_crossentropy_backward_from_logits(
            dout, &kept, &y_true,
        )?)])
    });
    Ok((losses, probs))
}

const OP: &str = "categorical_crossentropy";

/// `y_pred: (N, K)` with `K ≥ 1` and `y_true` of the same shape, or an error naming the op.
fn check_targets(y_pred: &Var, y_true: &Tensor) -> Result<()> {
    let (n, k) = rows_and_classes(OP, &y_pred.shape())?;
    if y_true.shape() != [n, k] {
        return Err(AutogradError::Invalid {
            op: OP,
            expected: format!(
                "y_true of the shape of y_pred [{n}, {k}] (one target row per sample)"
            ),
            found: format!("y_true of shape {:?}", y_true.shape()),
        });
    }
    Ok(())
}

/// From logits: `dz[n, j] = dloss_n · (softmax(z_n)_j · Σt_n − t[n, j])`.
pub fn categorical_crossentropy_backward_from_logits(
    dout: &Tensor,
    probs: &Tensor,
    y_true: &Tensor,
) -> Result<Tensor> {
    Ok(dense_softmax_cross_entropy_backward(probs, y_true, dout)?)
}

/// From probabilities: `dp[n, k] = dloss_n · (g_k − Σ_j g_j q_j)/s` with `g_j = −t_j/q_j`
/// (0 where `q = p/s` was clipped).
pub fn categorical_crossentropy_backward_from_probs(
    dout: &Tensor,
    probs: &Tensor,
    y_true: &Tensor,
) -> Result<Tensor> {
    Ok(dense_cross_entropy_from_probs_backward(
        probs, y_true, dout,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::random;
    use astrograd_tensor::random::Rng;
    use proptest::prelude::*;

    #[test]
    fn one_hot_logits_agree_with_the_sparse_loss() {
        let logits = random(&[3, 4], -2.0, 2.0, 7);
        let one_hot = Tensor::from_vec(
            vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0],
            &[3, 4],
        )
        .unwrap();
        let labels = Tensor::from_vec(vec![1.0, 3.0, 0.0], &[3]).unwrap();
        let (a, b) = (Var::parameter(logits.clone()), Var::parameter(logits));
        let dense = a.categorical_crossentropy(&one_hot, true).unwrap();
        let sparse = b.sparse_categorical_crossentropy(&labels, true).unwrap();
        assert!(dense.value().all_close(&sparse.value(), 1e-6, 1e-6));
        dense.sum_all().unwrap().backward().unwrap();
        sparse.sum_all().unwrap().backward().unwrap();
        assert!(a.grad().unwrap().all_close(&b.grad().unwrap(), 1e-6, 1e-6));
    }

    #[test]
    fn probabilities_are_renormalised_and_a_clipped_true_class_stops_the_gradient() {
        // Row 0 sums to 2: q = (0.25, 0.75). Row 1: the true class has p = 0.
        let probs = Var::parameter(Tensor::from_vec(vec![0.5, 1.5, 0.0, 1.0], &[2, 2]).unwrap());
        let one_hot = Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[2, 2]).unwrap();
        let losses = probs.categorical_crossentropy(&one_hot, false).unwrap();
        let l = losses.value().to_vec().unwrap();
        assert!(
            (l[0] + 0.75f32.ln()).abs() < 1e-6 && (l[1] - 16.118095).abs() < 1e-5,
            "{l:?}"
        );
        losses.sum_all().unwrap().backward().unwrap();
        // Row 0: g = (0, −1/0.75), Σ g·q = −1, dp = (g + 1)/2 = (0.5, 0.5 − 2/3).
        let g = probs.grad().unwrap().to_vec().unwrap();
        let expected = [0.5, 0.5 - 2.0 / 3.0, 0.0, 0.0];
        for (a, e) in g.iter().zip(expected) {
            assert!((a - e).abs() < 1e-6, "{g:?}");
        }
    }

    #[test]
    fn mismatched_shapes_are_errors_naming_the_op() {
        let y_pred = Var::constant(Tensor::zeros(&[2, 3]));
        let err = y_pred
            .categorical_crossentropy(&Tensor::zeros(&[2]), true)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("categorical_crossentropy")
                && err.contains("[2, 3]")
                && err.contains("[2]"),
            "{err}"
        );
        let flat = Var::constant(Tensor::zeros(&[3]));
        assert!(flat
            .categorical_crossentropy(&Tensor::zeros(&[3]), false)
            .is_err());
    }

    /// Target rows that sum to 1: one-hot or soft (random weights), half each.
    fn targets(n: usize, k: usize, seed: u64) -> Tensor {
        let mut rng = Rng::new(seed);
        let mut data = Vec::with_capacity(n * k);
        for _ in 0..n {
            let row: Vec<f32> = if rng.uniform() < 0.5 {
                let hot = rng.below(k);
                (0..k).map(|j| if j == hot { 1.0 } else { 0.0 }).collect()
            } else {
                (0..k).map(|_| rng.uniform() + 0.1).collect()
            };
            let s: f32 = row.iter().sum();
            data.extend(row.iter().map(|v| v / s));
        }
        Tensor::from_vec(data, &[n, k]).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(n in 1usize..5, k in 2usize..6, seed in 0u64..1000) {
            let t = targets(n, k, seed);
            let logits = random(&[n, k], -3.0, 3.0, seed + 1);
            gradcheck("categorical_crossentropy (logits)", |v| categorical_crossentropy(&v[0], &t, true), &[logits]).unwrap();
            // Unnormalised probabilities, each well inside (0, 1) after renormalising.
            let probs = random(&[n, k], 0.2, 0.8, seed + 2);
            gradcheck("categorical_crossentropy (probs)", |v| categorical_crossentropy(&v[0], &t, false), &[probs]).unwrap();
        }
    }
}
