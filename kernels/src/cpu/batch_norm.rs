//! Batch normalisation's arithmetic on the CPU, one channel-last buffer at a time (the math and
//! its derivation: `autograd/src/ops/batch_norm.rs`; the device dispatch:
//! `tensor/src/nn/batch_norm.rs`; the GPU twin: `kernels/src/wgpu/batch_norm.rs`).
//!
//! # Math
//! Per channel, over the `M` positions of a channels-last `x: (M, C)`:
//!
//! ```text
//! μ = (1/M) Σ x      σ² = (1/M) Σ (x − μ)²      1/σ = 1/sqrt(σ² + ε)
//! x̂ = (x − μ)·(1/σ)  y = γ·x̂ + β
//! moving: mm = m·mm + (1−m)·μ,   mv = m·mv + (1−m)·σ²·bessel
//! dβ = Σ dy    dγ = Σ dy·x̂
//! dx = (γ/σ)/M · (M·dy − Σ dy − x̂ · Σ dy·x̂)   (training)      dx = γ/σ · dy   (inference)
//! ```
//!
//! The sums are accumulated in f64. Every output is overwritten (the crate's rule), except the
//! moving statistics, which are updated in place.
//!
//! # Shapes
//! `x`, `x̂`, `y`, `dy`, `dx`: `M·C` values, channels last; everything per channel: `C` values.
//! The caller (`tensor::nn`) has checked the lengths.

/// Per-channel sums of a channels-last buffer, accumulated in f64.
fn channel_sums_f64(values: impl Iterator<Item = f32>, channels: usize) -> Vec<f64> {
    let mut sums = vec![0.0f64; channels];
    for (i, v) in values.enumerate() {
        sums[i % channels] += v as f64;
    }
    sums
}

/// The batch mean and biased variance of each channel, two passes in f64: the mean, then the
/// squared deviations from it.
pub fn moments(x: &[f32], channels: usize, mean: &mut [f32], variance: &mut [f32]) {
    let positions = (x.len() / channels) as f64;
    let mu: Vec<f64> = channel_sums_f64(x.iter().copied(), channels)
        .into_iter()
        .map(|s| s / positions)
        .collect();
    let mut squares = vec![0.0f64; channels];
    for row in x.chunks_exact(channels) {
        for ((s, &v), m) in squares.iter_mut().zip(row).zip(&mu) {
            *s += (v as f64 - m).powi(2);
        }
    }
    for c in 0..channels {
        mean[c] = mu[c] as f32;
        variance[c] = (squares[c] / positions) as f32;
    }
}

/// `mm = m·mm + (1−m)·μ`, `mv = m·mv + (1−m)·σ²·bessel`, in place.
pub fn update_moving(
    moving_mean: &mut [f32],
    moving_variance: &mut [f32],
    mean: &[f32],
    variance: &[f32],
    momentum: f32,
    bessel: f32,
) {
    for (mm, &mu) in moving_mean.iter_mut().zip(mean) {
        *mm = momentum * *mm + (1.0 - momentum) * mu;
    }
    for (mv, &var) in moving_variance.iter_mut().zip(variance) {
        *mv = momentum * *mv + (1.0 - momentum) * var * bessel;
    }
}

/// `1/σ = 1/sqrt(σ² + ε)` per channel.
pub fn inv_std(variance: &[f32], epsilon: f32, inv_std: &mut [f32]) {
    for (out, v) in inv_std.iter_mut().zip(variance) {
        *out = 1.0 / (v + epsilon).sqrt();
    }
}

/// `x̂ = (x − μ)·(1/σ)` and `y = γ·x̂ + β`.
pub fn normalize(
    x: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
    beta: &[f32],
    x_hat: &mut [f32],
    y: &mut [f32],
) {
    let channels = mean.len();
    for (i, ((&v, h), out)) in x.iter().zip(x_hat.iter_mut()).zip(y.iter_mut()).enumerate() {
        let c = i % channels;
        *h = (v - mean[c]) * inv_std[c];
        *out = gamma[c] * *h + beta[c];
    }
}

/// `(dγ, dβ) = (Σ dy·x̂, Σ dy)` per channel (each product rounded to f32, summed in f64).
pub fn backward_gamma_beta(dy: &[f32], x_hat: &[f32], dgamma: &mut [f32], dbeta: &mut [f32]) {
    let channels = dgamma.len();
    let products = dy.iter().zip(x_hat).map(|(&d, &h)| d * h);
    for (out, s) in dgamma.iter_mut().zip(channel_sums_f64(products, channels)) {
        *out = s as f32;
    }
    for (out, s) in dbeta
        .iter_mut()
        .zip(channel_sums_f64(dy.iter().copied(), channels))
    {
        *out = s as f32;
    }
}

/// Training mode: `dx = (γ/σ)/M · (M·dy − Σ dy − x̂ · Σ dy·x̂)`, with `dβ = Σ dy` and
/// `dγ = Σ dy·x̂` from [`backward_gamma_beta`].
#[allow(clippy::too_many_arguments)]
pub fn backward_x_training(
    dy: &[f32],
    x_hat: &[f32],
    gamma: &[f32],
    inv_std: &[f32],
    dgamma: &[f32],
    dbeta: &[f32],
    dx: &mut [f32],
) {
    let channels = gamma.len();
    let positions = (dy.len() / channels) as f32; // M
    for (i, ((out, &d), &h)) in dx.iter_mut().zip(dy).zip(x_hat).enumerate() {
        let c = i % channels;
        let scale = gamma[c] * inv_std[c] / positions;
        *out = scale * (positions * d - dbeta[c] - h * dgamma[c]);
    }
}

/// Inference mode, where `μ` and `σ` are constants: `dx = γ/σ · dy`.
pub fn backward_x_inference(dy: &[f32], gamma: &[f32], inv_std: &[f32], dx: &mut [f32]) {
    let channels = gamma.len();
    for (i, (out, &d)) in dx.iter_mut().zip(dy).enumerate() {
        let c = i % channels;
        *out = d * (gamma[c] * inv_std[c]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two positions, two channels, by hand: μ = (2, 5), σ² = (1, 4).
    #[test]
    fn moments_and_normalize_by_hand() {
        let x = [1.0, 3.0, 3.0, 7.0];
        let (mut mean, mut variance) = ([f32::NAN; 2], [f32::NAN; 2]);
        moments(&x, 2, &mut mean, &mut variance);
        assert_eq!((mean, variance), ([2.0, 5.0], [1.0, 4.0]));
        let mut s = [f32::NAN; 2];
        inv_std(&variance, 0.0, &mut s);
        assert_eq!(s, [1.0, 0.5]);
        let (mut x_hat, mut y) = ([f32::NAN; 4], [f32::NAN; 4]);
        normalize(&x, &mean, &s, &[2.0, 1.0], &[0.5, 0.0], &mut x_hat, &mut y);
        assert_eq!(x_hat, [-1.0, -1.0, 1.0, 1.0]);
        assert_eq!(y, [-1.5, -1.0, 2.5, 1.0]);
    }

    /// The training backward against finite differences of `L = Σ w·y` through the batch
    /// statistics, in f64.
    #[test]
    fn training_backward_matches_finite_differences() {
        let x = [0.3f32, -1.2, 2.0, 0.7, -0.4, 1.1];
        let (gamma, beta) = ([1.5f32, -0.5], [0.1f32, 0.2]);
        let w = [0.2f32, -0.7, 1.1, 0.4, -0.3, 0.9];
        let loss = |x: &[f32]| -> f64 {
            let (mut m, mut v, mut s) = ([0.0; 2], [0.0; 2], [0.0; 2]);
            moments(x, 2, &mut m, &mut v);
            inv_std(&v, 1e-3, &mut s);
            let (mut h, mut y) = ([0.0; 6], [0.0; 6]);
            normalize(x, &m, &s, &gamma, &beta, &mut h, &mut y);
            y.iter().zip(&w).map(|(&a, &b)| a as f64 * b as f64).sum()
        };
        let (mut m, mut v, mut s) = ([0.0; 2], [0.0; 2], [0.0; 2]);
        moments(&x, 2, &mut m, &mut v);
        inv_std(&v, 1e-3, &mut s);
        let (mut h, mut y) = ([0.0; 6], [0.0; 6]);
        normalize(&x, &m, &s, &gamma, &beta, &mut h, &mut y);
        let (mut dgamma, mut dbeta) = ([0.0; 2], [0.0; 2]);
        backward_gamma_beta(&w, &h, &mut dgamma, &mut dbeta);
        let mut dx = [f32::NAN; 6];
        backward_x_training(&w, &h, &gamma, &s, &dgamma, &dbeta, &mut dx);
        for i in 0..6 {
            let (mut plus, mut minus) = (x, x);
            plus[i] += 1e-3;
            minus[i] -= 1e-3;
            let numeric = (loss(&plus) - loss(&minus)) / 2e-3;
            assert!(
                (numeric - dx[i] as f64).abs() < 2e-2,
                "dx[{i}]: {} vs {numeric}",
                dx[i]
            );
        }
        let mut dx_inference = [f32::NAN; 6];
        backward_x_inference(&w, &gamma, &s, &mut dx_inference);
        assert_eq!(dx_inference[0], w[0] * (gamma[0] * s[0]));
    }
}
