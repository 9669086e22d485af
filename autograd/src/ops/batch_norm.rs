//! Batch normalization, as Keras's `BatchNormalization` layer computes it (axis −1).
//!
//! Each channel `c` (the last axis) is normalised over all the other axes: over the
//! `M = N·H·W` positions of an image batch `(N, H, W, C)`, or over the `M = N` rows of `(N, C)`.
//!
//! # Math
//! **Training** (the batch statistics, biased: divided by `M`):
//!
//! ```text
//! μ_c  = (1/M) Σ x              σ²_c = (1/M) Σ (x − μ_c)²         σ_c = sqrt(σ²_c + ε)
//! x̂    = (x − μ_c) / σ_c        y    = γ_c · x̂ + β_c
//! ```
//!
//! and the moving statistics that inference will use are updated in place (momentum `m`):
//! `mm = m·mm + (1−m)·μ`, `mv = m·mv + (1−m)·v`. Which `v`? In TF 2.10, a rank-4 input takes the
//! fused kernel, which stores the **unbiased** variance `v = σ²·M/(M−1)`; any other rank stores
//! the biased `σ²` (the fixtures `batch_norm_train_4d` and `batch_norm_train_2d` pin both
//! down). Keras 3 always stores the biased one. `y` uses the biased `σ²` in every case.
//!
//! **Backward of training mode.** With `dy = ∂L/∂y` and every `Σ` over the M positions of one
//! channel:
//!
//! ```text
//! dβ = Σ dy
//! dγ = Σ dy · x̂
//! dx = (γ/σ)/M · (M·dy − Σ dy − x̂ · Σ(dy · x̂))
//! ```
//!
//! Derivation of `dx`: `x` reaches `y` directly and through `μ` and `σ`, with
//! `∂μ/∂x_i = 1/M` and `∂σ/∂x_i = (x_i − μ)/(M·σ) = x̂_i/M` (the `μ` term of `∂σ²/∂x_i` vanishes
//! because `Σ (x_j − μ) = 0`). Hence
//! `∂x̂_j/∂x_i = (δ_ij − 1/M)/σ − (x_j − μ)/σ² · x̂_i/M = (δ_ij − 1/M − x̂_j·x̂_i/M)/σ`,
//! and with `dx̂ = γ·dy`:
//! `dx_i = Σ_j dx̂_j ∂x̂_j/∂x_i = (γ/σ)·(dy_i − (1/M)Σ dy − x̂_i·(1/M)Σ dy·x̂)`.
//! The two subtracted terms remove from `dy` its mean and its component along `x̂`: moving all
//! of a channel up, or stretching it, does not change `y`.
//!
//! **Inference** uses the moving statistics, which are constants here, so `y` is a plain
//! affine map of `x`: `x̂ = (x − mm)/sqrt(mv + ε)`, `dx = γ/sqrt(mv + ε) · dy`; `dγ` and `dβ` are
//! the same formulas as in training.
//!
//! # Shapes
//! `x: (…, C)` of rank ≥ 2 (`(N, H, W, C)` after a convolution, `(N, C)` after Dense);
//! `gamma`, `beta`, `state.moving_mean`, `state.moving_variance`: `(C,)`; `y`: the shape of `x`.
//!
//! The arithmetic is [`astrograd_tensor::nn::batch_norm`], on the device of `x` (the
//! parameters and the moving statistics must be on the same one).
use astrograd_tensor::nn::batch_norm as nn;
use astrograd_tensor::nn::batch_norm::{
    batch_norm_moments, batch_norm_normalize, batch_norm_update_moving,
};
use astrograd_tensor::Tensor;

use crate::{AutogradError, Result, Var};

/// The moving statistics of one batch-normalization layer (Keras's non-trainable weights).
#[derive(Clone, Debug)]
pub struct BatchNormState {
    /// Running mean of the batch means, per channel: `(C,)`.
    pub moving_mean: Tensor,
    /// Running mean of the batch variances, per channel: `(C,)`.
    pub moving_variance: Tensor,
}

impl BatchNormState {
    /// Keras's initial state: moving mean 0, moving variance 1.
    pub fn new(channels: usize) -> BatchNormState {
        BatchNormState {
            moving_mean: Tensor::zeros(&[channels]),
            moving_variance: Tensor::ones(&[channels]),
        }
    }
}

/// How [`batch_norm`] runs.
#[derive(Clone, Copy, Debug)]
pub struct BatchNormOptions {
    /// Weight of the old moving statistics in the update (Keras default 0.99).
    pub momentum: f32,
    /// Added to the variance before the square root (Keras default 1e-3).
    pub epsilon: f32,
    /// Batch statistics and a moving-statistics update (true, as in `fit`), or the moving
    /// statistics (false, as in `evaluate` and `predict`).
    pub training: bool,
}

impl Default for BatchNormOptions {
    /// Keras's defaults, in inference mode (as a layer called outside `fit`).
    fn default() -> Self {
        BatchNormOptions {
            momentum: 0.99,
            epsilon: 1e-3,
            training: false,
        }
    }
}

/// What the forward keeps for the backward.
#[derive(Clone, Debug)]
pub struct BatchNormSaved {
    /// The normalised input `x̂ = (x − μ)/σ`: the shape of `x`.
    pub x_hat: Tensor,
    /// `1/σ` per channel, with the batch (training) or moving (inference) variance: `(C,)`.
    pub inv_std: Tensor,
    /// The scale `γ`: `(C,)`.
    pub gamma: Tensor,
}

impl Var {
    /// Batch normalization of `self` over every axis but the last. See [`batch_norm`].
    pub fn batch_norm(
        &self,
        gamma: &Var,
        beta: &Var,
        state: &mut BatchNormState,
        options: BatchNormOptions,
    ) -> Result<Var> {
        batch_norm(self, gamma, beta, state, options)
    }
}

/// Batch normalization of `x` over every axis but the last (channel) axis; in training mode
/// it also updates `state`'s moving statistics.
///
/// ```
/// use astrograd_autograd::ops::batch_norm::{BatchNormOptions, BatchNormState};
/// use astrograd_autograd::{Tensor, Var};
/// let x = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4, 1])?);
/// let (gamma, beta) = (Var::parameter(Tensor::ones(&[1])), Var::parameter(Tensor::zeros(&[1])));
/// let mut state = BatchNormState::new(1);
/// let options = BatchNormOptions { training: true, ..Default::default() };
/// let y = x.batch_norm(&gamma, &beta, &mut state, options)?;
/// assert!(y.value().sum_all().item()?.abs() < 1e-6); // zero mean
/// assert!((state.moving_mean.item()? - 0.025).abs() < 1e-6); // 0.99·0 + 0.01·2.5
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// [`AutogradError::Invalid`] naming `batch_norm` if `x` has rank < 2 or no positions to
/// average (an empty batch), or if `gamma`, `beta` or a moving statistic is not `(C,)`.
pub fn batch_norm(
    x: &Var,
    gamma: &Var,
    beta: &Var,
    state: &mut BatchNormState,
    options: BatchNormOptions,
) -> Result<Var> {
    let x_value = x.value();
    let channels = check_arguments(x_value.shape(), gamma, beta, state)?;
    let positions = x_value.numel() / channels; // M

    let (mean, variance) = if options.training {
        let (mean, variance) = batch_norm_moments(&x_value)?;
        update_moving_statistics(
            state,
            &mean,
            &variance,
            positions,
            x_value.rank(),
            options.momentum,
        )?;
        (mean, variance)
    } else {
        (state.moving_mean.clone(), state.moving_variance.clone())
    };
    let gamma_value = gamma.value();
    let normalized = batch_norm_normalize(
        &x_value,
        &mean,
        &variance,
        &gamma_value,
        &beta.value(),
        options.epsilon,
    )?;

    let saved = BatchNormSaved {
        x_hat: normalized.x_hat,
        inv_std: normalized.inv_std,
        gamma: gamma_value,
    };
    let training = options.training;
    Ok(Var::from_op(
        "batch_norm",
        normalized.y,
        &[x, gamma, beta],
        move |dout| {
            // dγ = Σ dy·x̂ and dβ = Σ dy, which the training dx needs too.
            let (dgamma, dbeta) = batch_norm_backward_gamma_beta(dout, &saved.x_hat)?;
            let dx = if training {
                batch_norm_backward_x_training(dout, &saved, &dgamma, &dbeta)?
            } else {
                batch_norm_backward_x_inference(dout, &saved)?
            };
            Ok(vec![Some(dx), Some(dgamma), Some(dbeta)])
        },
    ))
}

/// Training mode: `dx = (γ/σ)/M · (M·dy − Σ dy − x̂ · Σ(dy · x̂))`, sums per channel
/// (`Σ dy` is `dβ`, `Σ dy·x̂` is `dγ`).
pub fn batch_norm_backward_x_training(
    dout: &Tensor,
    saved: &BatchNormSaved,
    dgamma: &Tensor,
    dbeta: &Tensor,
) -> Result<Tensor> {
    Ok(nn::batch_norm_backward_x_training(
        dout,
        &saved.x_hat,
        &saved.gamma,
        &saved.inv_std,
        dgamma,
        dbeta,
    )?)
}

/// Inference mode, where `μ` and `σ` are constants: `dx = γ/σ · dy`.
pub fn batch_norm_backward_x_inference(dout: &Tensor, saved: &BatchNormSaved) -> Result<Tensor> {
    Ok(nn::batch_norm_backward_x_inference(
        dout,
        &saved.gamma,
        &saved.inv_std,
    )?)
}

/// `(dγ, dβ) = (Σ dy · x̂, Σ dy)` per channel.
pub fn batch_norm_backward_gamma_beta(dout: &Tensor, x_hat: &Tensor) -> Result<(Tensor, Tensor)> {
    Ok(nn::batch_norm_backward_gamma_beta(dout, x_hat)?)
}

/// Checks the shapes and returns the number of channels `C`.
fn check_arguments(
    x_shape: &[usize],
    gamma: &Var,
    beta: &Var,
    state: &BatchNormState,
) -> Result<usize> {
    if x_shape.len() < 2 {
        return Err(AutogradError::Invalid {
            op: "batch_norm",
            expected: "an input of rank ≥ 2 with channels last, (N, C) or (N, H, W, C)".into(),
            found: format!("shape {x_shape:?}"),
        });
    }
    let channels = x_shape[x_shape.len() - 1];
    if x_shape.iter().product::<usize>() == 0 {
        return Err(AutogradError::Invalid {
            op: "batch_norm",
            expected: "at least one channel and one position per channel to normalise over".into(),
            found: format!("an empty input, shape {x_shape:?}"),
        });
    }
    let parameters = [
        ("gamma", gamma.shape()),
        ("beta", beta.shape()),
        ("moving_mean", state.moving_mean.shape().to_vec()),
        ("moving_variance", state.moving_variance.shape().to_vec()),
    ];
    for (name, shape) in parameters {
        if shape != [channels] {
            return Err(AutogradError::Invalid {
                op: "batch_norm",
                expected: format!(
                    "{name} of shape [{channels}] (one per channel of x {x_shape:?})"
                ),
                found: format!("{name} of shape {shape:?}"),
            });
        }
    }
    Ok(channels)
}

/// `mm = m·mm + (1−m)·μ`, `mv = m·mv + (1−m)·v`, with TF 2.10's choice of `v` (see the header).
fn update_moving_statistics(
    state: &mut BatchNormState,
    mean: &Tensor,
    variance: &Tensor,
    positions: usize,
    rank: usize,
    momentum: f32,
) -> Result<()> {
    // The fused kernel (rank 4) divides by M − 1, or by 1 when M = 1.
    let bessel = if rank == 4 && positions > 1 {
        positions as f32 / (positions - 1) as f32
    } else {
        1.0
    };
    batch_norm_update_moving(
        &mut state.moving_mean,
        &mut state.moving_variance,
        mean,
        variance,
        momentum,
        bessel,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::random;
    use proptest::prelude::*;

    fn training() -> BatchNormOptions {
        BatchNormOptions {
            training: true,
            ..Default::default()
        }
    }

    fn params(channels: usize, seed: u64) -> (Tensor, Tensor) {
        (
            random(&[channels], 0.5, 1.5, seed),
            random(&[channels], -0.5, 0.5, seed + 1),
        )
    }

    #[test]
    fn training_normalises_each_channel_and_updates_the_moving_statistics() {
        // Channel 0: [1, 2, 3, 4] (μ 2.5, σ² 1.25); channel 1: [10, 10, 10, 10] (μ 10, σ² 0).
        let x = Var::constant(
            Tensor::from_vec(vec![1.0, 10.0, 2.0, 10.0, 3.0, 10.0, 4.0, 10.0], &[4, 2]).unwrap(),
        );
        let gamma = Var::constant(Tensor::from_vec(vec![2.0, 1.0], &[2]).unwrap());
        let beta = Var::constant(Tensor::from_vec(vec![0.0, 5.0], &[2]).unwrap());
        let mut state = BatchNormState::new(2);
        let y = x
            .batch_norm(&gamma, &beta, &mut state, training())
            .unwrap()
            .value()
            .to_vec()
            .unwrap();
        let s = (1.25f32 + 1e-3).sqrt();
        let expected = [-3.0 / s, 5.0, -1.0 / s, 5.0, 1.0 / s, 5.0, 3.0 / s, 5.0];
        for (a, e) in y.iter().zip(expected) {
            assert!((a - e).abs() < 1e-6, "{y:?}");
        }
        // Rank 2: the biased variance goes into the moving variance.
        assert!(state.moving_mean.all_close(
            &Tensor::from_vec(vec![0.025, 0.1], &[2]).unwrap(),
            0.0,
            1e-6
        ));
        let mv = Tensor::from_vec(vec![0.99 + 0.01 * 1.25, 0.99], &[2]).unwrap();
        assert!(state.moving_variance.all_close(&mv, 0.0, 1e-6));
    }

    #[test]
    fn rank_4_updates_with_the_unbiased_variance() {
        // The same channel-0 numbers as (1, 2, 2, 1): M = 4, unbiased σ² = 1.25·4/3.
        let x = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 2, 2, 1]).unwrap());
        let (gamma, beta) = (
            Var::constant(Tensor::ones(&[1])),
            Var::constant(Tensor::zeros(&[1])),
        );
        let mut state = BatchNormState::new(1);
        x.batch_norm(&gamma, &beta, &mut state, training()).unwrap();
        let expected = 0.99 + 0.01 * 1.25 * 4.0 / 3.0;
        assert!((state.moving_variance.item().unwrap() - expected).abs() < 1e-6);
        // A single position per channel: TF divides by 1, not by 0.
        let one = Var::constant(Tensor::from_vec(vec![7.0], &[1, 1, 1, 1]).unwrap());
        let mut state = BatchNormState::new(1);
        one.batch_norm(&gamma, &beta, &mut state, training())
            .unwrap();
        assert!((state.moving_variance.item().unwrap() - 0.99).abs() < 1e-6);
    }

    #[test]
    fn inference_uses_the_moving_statistics_and_leaves_them_alone() {
        let x = Var::parameter(Tensor::from_vec(vec![1.0, 3.0], &[2, 1]).unwrap());
        let gamma = Var::parameter(Tensor::from_vec(vec![2.0], &[1]).unwrap());
        let beta = Var::parameter(Tensor::from_vec(vec![0.5], &[1]).unwrap());
        let mut state = BatchNormState {
            moving_mean: Tensor::from_vec(vec![1.0], &[1]).unwrap(),
            moving_variance: Tensor::from_vec(vec![4.0 - 1e-3], &[1]).unwrap(),
        };
        let y = x
            .batch_norm(&gamma, &beta, &mut state, BatchNormOptions::default())
            .unwrap();
        assert!(y.value().all_close(
            &Tensor::from_vec(vec![0.5, 2.5], &[2, 1]).unwrap(),
            0.0,
            1e-6
        ));
        assert_eq!(state.moving_mean.to_vec().unwrap(), vec![1.0]);
        y.sum_all().unwrap().backward().unwrap();
        assert!(x
            .grad()
            .unwrap()
            .all_close(&Tensor::full(&[2, 1], 1.0), 0.0, 1e-6)); // γ/σ = 2/2
        assert!(gamma
            .grad()
            .unwrap()
            .all_close(&Tensor::full(&[1], 1.0), 0.0, 1e-6)); // x̂ = 0, 1
        assert_eq!(beta.grad().unwrap().to_vec().unwrap(), vec![2.0]);
    }

    #[test]
    fn bad_shapes_are_errors_naming_the_op() {
        let (gamma, beta) = (
            Var::constant(Tensor::ones(&[3])),
            Var::constant(Tensor::zeros(&[3])),
        );
        let mut state = BatchNormState::new(3);
        let rank_1 = Var::constant(Tensor::zeros(&[3]));
        let empty = Var::constant(Tensor::zeros(&[0, 3]));
        let wrong_channels = Var::constant(Tensor::zeros(&[2, 4]));
        for x in [rank_1, empty, wrong_channels] {
            let err = x
                .batch_norm(&gamma, &beta, &mut state, training())
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("batch_norm"), "{err}");
        }
        let x = Var::constant(Tensor::zeros(&[2, 3]));
        let mut bad_state = BatchNormState {
            moving_mean: Tensor::zeros(&[2]),
            ..BatchNormState::new(3)
        };
        let err = x
            .batch_norm(&gamma, &beta, &mut bad_state, training())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("moving_mean of shape [3]") && err.contains("[2]"),
            "{err}"
        );
        let short_beta = Var::constant(Tensor::zeros(&[1]));
        assert!(x
            .batch_norm(&gamma, &short_beta, &mut state, training())
            .is_err());
    }

    /// The gradient of sum(y·r) checked by finite differences, in both modes.
    fn check(shape: &[usize], training: bool, seed: u64) {
        let channels = shape[shape.len() - 1];
        // Noise in [−1, 1] plus ±1.5 alternating over positions, so that no channel has a tiny
        // batch variance: 1/σ would be huge and the finite differences inaccurate.
        let mut x = random(shape, -1.0, 1.0, seed);
        for (i, v) in x.as_mut_slice().unwrap().iter_mut().enumerate() {
            *v += if (i / channels).is_multiple_of(2) {
                1.5
            } else {
                -1.5
            };
        }
        let (gamma, beta) = params(channels, seed + 2);
        let state = BatchNormState {
            moving_mean: random(&[channels], -0.5, 0.5, seed + 4),
            moving_variance: random(&[channels], 0.5, 1.5, seed + 5),
        };
        let options = BatchNormOptions {
            training,
            ..Default::default()
        };
        let f = |v: &[Var]| batch_norm(&v[0], &v[1], &v[2], &mut state.clone(), options);
        gradcheck("batch_norm", f, &[x, gamma, beta]).unwrap();
    }

    #[test]
    fn gradcheck_training_and_inference() {
        check(&[2, 3, 3, 2], true, 1);
        check(&[6, 3], true, 2);
        check(&[2, 3, 3, 2], false, 3);
    }

    #[derive(Debug, Clone)]
    struct BatchNormCase {
        shape: Vec<usize>,
        training: bool,
    }

    fn cases() -> impl Strategy<Value = BatchNormCase> {
        // Rank 2 to 4, at least 3 positions per channel. With 2 the normalized values are
        // ±d/√(d² + ε) ≈ ±1 whatever x is (d: half their distance), so ∂L/∂x ≈ ε/d³ ≈ 1e-4,
        // below the f32 rounding noise of the batch variance carried into the finite
        // difference: nothing to check there.
        (
            prop::collection::vec(1usize..4, 1..=3),
            1usize..4,
            any::<bool>(),
        )
            .prop_map(|(mut leading, c, training)| {
                leading[0] += 2;
                leading.push(c);
                BatchNormCase {
                    shape: leading,
                    training,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_shapes(case in cases(), seed in 0u64..1000) {
            check(&case.shape, case.training, seed);
        }
    }
}
