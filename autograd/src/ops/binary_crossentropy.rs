//! Binary cross-entropy, Keras's `BinaryCrossentropy(from_logits)` with reduction NONE: one loss
//! per sample, the mean over the last axis (one or several independent yes/no outputs).
//!
//! # Math
//! For one output with target `t ∈ [0, 1]`, averaged over the `d` outputs of a sample
//! (`dp = dloss_n · ∂ℓ/∂p / d`):
//!
//! **From logits** `z` (what Keras computes when the last layer is `sigmoid`), the stable form of
//! `−[t·log σ(z) + (1−t)·log(1−σ(z))]`:
//!
//! ```text
//! ℓ = max(z, 0) − z·t + log(1 + exp(−|z|))          ∂ℓ/∂z = σ(z) − t
//! ```
//!
//! (`exp` only ever sees `−|z| ≤ 0`, so nothing overflows.)
//!
//! **From probabilities** `p`, TF 2.10's formula, with `ε = 1e-7`:
//!
//! ```text
//! c = clip(p, ε, 1−ε)
//! ℓ = −[t·log(c + ε) + (1−t)·log(1 − c + ε)]       ∂ℓ/∂p = −t/(c + ε) + (1−t)/(1 − c + ε)   (0 where clipped)
//! ```
//!
//! The `+ε` inside the logs caps the loss at `−log(2ε) = 15.424949` for `p = 0, t = 1`, and, in
//! f32, at `15.333239` for `p = 1, t = 0`: the bound `1 − 1e-7` rounds to `1 − 2⁻²³`, so
//! `1 − c + ε = 2⁻²³ + 1e-7`. Keras 3 drops the `+ε` (cap `−log ε = 16.118`). The clip has
//! zero gradient outside `[ε, 1−ε]`, as TF's `clip_by_value`.
//!
//! # Shapes
//! As [`mean_squared_error`](super::mse): `y_pred: (N, d)`, `y_true` the same (or `(N,)` for
//! `(N, 1)`), out `(N,)`.
//!
//! The arithmetic is [`astrograd_tensor::nn::losses`], on the device of `y_pred`.
use astrograd_tensor::nn::losses::{
    binary_cross_entropy, binary_cross_entropy_backward,
    binary_cross_entropy_from_logits_with_probs,
};
use astrograd_tensor::Tensor;

use super::mse::loss_targets;
use crate::{Result, Var};

/// Keras's `backend.epsilon()` (declared once, in the kernels crate).
pub use astrograd_kernels::EPSILON;

impl Var {
    /// Per-sample binary cross-entropy of the predictions `self`. See [`binary_crossentropy`].
    pub fn binary_crossentropy(&self, y_true: &Tensor, from_logits: bool) -> Result<Var> {
        binary_crossentropy(self, y_true, from_logits)
    }
}

/// Per-sample binary cross-entropy, the mean over the last axis: shape `(N,)`.
/// `y_pred` holds logits when `from_logits`, probabilities otherwise.
///
/// ```
/// use astrograd_autograd::{Tensor, Var};
/// let y_true = Tensor::from_vec(vec![1.0, 0.0], &[2, 1])?;
/// let logits = Var::constant(Tensor::from_vec(vec![0.0, 0.0], &[2, 1])?);
/// let losses = logits.binary_crossentropy(&y_true, true)?.value().to_vec()?;
/// assert!(losses.iter().all(|l| (l - 2f32.ln()).abs() < 1e-6)); // σ(0) = ½ either way
/// let probs = Var::constant(Tensor::from_vec(vec![0.0, 0.5], &[2, 1])?);
/// let losses = probs.binary_crossentropy(&y_true, false)?.value().to_vec()?;
/// assert!((losses[0] - 15.424949).abs() < 1e-5); // the TF 2.10 cap −log(2ε)
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// [`AutogradError::Invalid`](crate::AutogradError::Invalid) naming `binary_crossentropy` if
/// the shapes do not match or the last axis is empty.
pub fn binary_crossentropy(y_pred: &Var, y_true: &Tensor, from_logits: bool) -> Result<Var> {
    let y_true = loss_targets("binary_crossentropy", &y_pred.shape(), y_true)?;
    let y_pred_value = y_pred.value();
    let losses = binary_cross_entropy(&y_pred_value, &y_true, from_logits)?;
    Ok(Var::from_op(
        "binary_crossentropy",
        losses,
        &[y_pred],
        move |dout| {
            let dy_pred = if from_logits {
                binary_crossentropy_backward_from_logits(dout, &y_pred_value, &y_true)?
            } else {
                binary_crossentropy_backward_from_probs(dout, &y_pred_value, &y_true)?
            };
            Ok(vec![Some(dy_pred)])
        },
    ))
}

/// From logits, with the probabilities: `(losses, σ(logits))`. The probabilities are the
/// sigmoid op's numbers (on the GPU written by the loss's own kernel): a training step takes
/// them as the output of a model ending in a sigmoid rather than computing the sigmoid again.
///
/// # Shapes
/// `logits: (…, d)`, `y_true` as for [`binary_crossentropy`]; out: `(…)` and `(…, d)`.
///
/// # Errors
/// As [`binary_crossentropy`].
pub fn binary_crossentropy_with_probs(logits: &Var, y_true: &Tensor) -> Result<(Var, Tensor)> {
    let y_true = loss_targets("binary_crossentropy", &logits.shape(), y_true)?;
    let logits_value = logits.value();
    let (losses, probs) = binary_cross_entropy_from_logits_with_probs(&logits_value, &y_true)?;
    let losses = Var::from_op("binary_crossentropy", losses, &[logits], move |dout| {
        Ok(vec![Some(binary_crossentropy_backward_from_logits(
            dout,
            &logits_value,
            &y_true,
        )?)])
    });
    Ok((losses, probs))
}

/// From logits: `dz_nj = dloss_n · (σ(z_nj) − t_nj)/d`.
pub fn binary_crossentropy_backward_from_logits(
    dout: &Tensor,
    logits: &Tensor,
    y_true: &Tensor,
) -> Result<Tensor> {
    Ok(binary_cross_entropy_backward(logits, y_true, dout, true)?)
}

/// From probabilities: `dp_nj = dloss_n · (−t/(c + ε) + (1−t)/(1 − c + ε))/d`, and 0 where the
/// clip to `[ε, 1−ε]` is active.
pub fn binary_crossentropy_backward_from_probs(
    dout: &Tensor,
    probs: &Tensor,
    y_true: &Tensor,
) -> Result<Tensor> {
    Ok(binary_cross_entropy_backward(probs, y_true, dout, false)?)
}

/// `σ(z) = 1/(1 + exp(−z))`, written so that `exp` never overflows (the tests' reference).
#[cfg(test)]
use astrograd_kernels::elementwise::stable_sigmoid as sigmoid;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::random;
    use astrograd_tensor::random::Rng;
    use proptest::prelude::*;

    #[test]
    fn the_tf_2_10_caps_and_their_zero_gradient() {
        let y_pred = Var::parameter(Tensor::from_vec(vec![0.0, 1.0, 0.7], &[3, 1]).unwrap());
        let y_true = Tensor::from_vec(vec![1.0, 0.0, 1.0], &[3]).unwrap(); // (N,) for (N, 1)
        let losses = y_pred.binary_crossentropy(&y_true, false).unwrap();
        let l = losses.value().to_vec().unwrap();
        assert!(
            (l[0] - 15.424949).abs() < 1e-5 && (l[1] - 15.333239).abs() < 1e-5,
            "{l:?}"
        );
        assert!((l[2] + (0.7f32 + 1e-7).ln()).abs() < 1e-6);
        losses.sum_all().unwrap().backward().unwrap();
        let g = y_pred.grad().unwrap().to_vec().unwrap();
        assert_eq!(&g[..2], &[0.0, 0.0]);
        assert!((g[2] + 1.0 / 0.7).abs() < 1e-5);
    }

    #[test]
    fn huge_logits_stay_finite_and_match_the_naive_formula() {
        let y_pred =
            Var::constant(Tensor::from_vec(vec![100.0, -100.0, 0.3, -1.2], &[2, 2]).unwrap());
        let y_true = Tensor::from_vec(vec![0.0, 0.0, 1.0, 0.25], &[2, 2]).unwrap();
        let l = y_pred
            .binary_crossentropy(&y_true, true)
            .unwrap()
            .value()
            .to_vec()
            .unwrap();
        assert!((l[0] - 50.0).abs() < 1e-4, "{l:?}"); // (100 + 0)/2
        let naive = |z: f32, t: f32| -(t * sigmoid(z).ln() + (1.0 - t) * (1.0 - sigmoid(z)).ln());
        assert!((l[1] - (naive(0.3, 1.0) + naive(-1.2, 0.25)) / 2.0).abs() < 1e-6);
    }

    /// With the probabilities: the losses and gradients of the plain op from logits, and the
    /// sigmoid op's numbers as the probabilities.
    #[test]
    fn with_probs_is_the_loss_from_logits_and_the_sigmoid() {
        let z = random(&[5, 3], -6.0, 6.0, 4);
        let t = targets(&[5, 3], 5);
        let (a, b) = (Var::parameter(z.clone()), Var::parameter(z.clone()));
        let (losses, probs) = binary_crossentropy_with_probs(&a, &t).unwrap();
        let plain = b.binary_crossentropy(&t, true).unwrap();
        assert_eq!(
            losses.value().to_vec().unwrap(),
            plain.value().to_vec().unwrap()
        );
        let sigmoid = Var::constant(z).sigmoid().unwrap().value();
        assert_eq!(probs.to_vec().unwrap(), sigmoid.to_vec().unwrap());
        losses.sum_all().unwrap().backward().unwrap();
        plain.sum_all().unwrap().backward().unwrap();
        assert_eq!(
            a.grad().unwrap().to_vec().unwrap(),
            b.grad().unwrap().to_vec().unwrap()
        );
    }

    #[test]
    fn mismatched_shapes_are_errors_naming_the_op() {
        let y_pred = Var::constant(Tensor::zeros(&[4, 2]));
        let err = y_pred
            .binary_crossentropy(&Tensor::zeros(&[4]), true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("binary_crossentropy") && err.contains("[4, 2]") && err.contains("[4]"),
            "{err}"
        );
    }

    /// Targets in [0, 1], with some exactly 0 and 1 as for real labels.
    fn targets(shape: &[usize], seed: u64) -> Tensor {
        let mut rng = Rng::new(seed);
        let data = (0..shape.iter().product::<usize>())
            .map(|_| match rng.below(3) {
                0 => 0.0,
                1 => 1.0,
                _ => rng.uniform(),
            })
            .collect();
        Tensor::from_vec(data, shape).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(n in 1usize..5, d in 1usize..5, seed in 0u64..1000) {
            let y_true = targets(&[n, d], seed);
            let logits = random(&[n, d], -3.0, 3.0, seed + 1);
            gradcheck("binary_crossentropy (logits)", |v| binary_crossentropy(&v[0], &y_true, true), &[logits]).unwrap();
            // Probabilities away from the clip bounds, where ∂ℓ/∂p jumps to 0.
            let probs = random(&[n, d], 0.15, 0.85, seed + 2);
            gradcheck("binary_crossentropy (probs)", |v| binary_crossentropy(&v[0], &y_true, false), &[probs]).unwrap();
        }
    }
}
