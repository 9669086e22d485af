//! The other cross-entropies on the CPU: from probabilities (sparse labels or target rows),
//! softmax fused with target rows, and binary. The fused softmax with sparse labels, the one the
//! course uses, is `softmax_cross_entropy.rs`; the GPU twins of both files are
//! `wgpu/softmax_cross_entropy.rs`.
//!
//! # Math
//! For one row of `K` scores; `c = clip(p, ε, 1 − ε)` is Keras's clip, and a gradient is 0 where
//! its input was clipped:
//!
//! ```text
//! sparse, probs:   loss = log Σc − log c_y              dp = 1/Σc − [j = y]/c_y
//! dense, logits:   loss = −Σ t·log_softmax(z)           dz = softmax(z)·Σt − t
//! dense, probs:    loss = −Σ t·log clip(q),  q = p/Σp   dp = (g − Σ g·q)/Σp,  g = −t/q
//! binary, logits:  ℓ = max(z, 0) − z·t + log(1 + e^(−|z|))         dℓ/dz = σ(z) − t
//! binary, probs:   ℓ = −[t·log(c + ε) + (1 − t)·log(1 − c + ε)]    dℓ/dp = −t/(p + ε) + (1 − t)/(1 − p + ε)
//! ```
//!
//! Every backward multiplies by the upstream `dloss` of its row; binary losses are the mean of
//! `ℓ` over the last axis (`d` values), so their gradient is also divided by `d`.
//!
//! # Shapes
//! `(N, K)` scores, targets and gradients as `N·K` slices; sparse labels `(N)` (validated class
//! indices); losses and `dloss` `(N)`. Binary: `(R, d)` scores, targets and gradients; `(R)`
//! losses. Every function overwrites its output.
use super::softmax_cross_entropy::softmax_rows;
use crate::elementwise::stable_sigmoid;
use crate::EPSILON;

/// Keras's clip of probabilities to `[ε, 1 − ε]` (`1 − ε` is `1 − 2⁻²³` in f32).
fn clip(p: f32) -> f32 {
    p.clamp(EPSILON, 1.0 - EPSILON)
}

/// `true` where Keras's clip leaves `p` as it is (its gradient flows).
fn inside_clip(p: f32) -> bool {
    (EPSILON..=1.0 - EPSILON).contains(&p)
}

// ------------------------------------------------------------------ sparse labels, probabilities

/// `losses[n] = log Σ_j c_nj − log c_n,y` (rows that do not sum to 1 are renormalised).
pub fn sparse_from_probs_forward(k: usize, probs: &[f32], labels: &[usize], losses: &mut [f32]) {
    debug_assert_eq!(probs.len(), labels.len() * k);
    for ((p, &y), loss) in probs.chunks_exact(k).zip(labels).zip(losses.iter_mut()) {
        let row_sum: f32 = p.iter().map(|&v| clip(v)).sum();
        *loss = row_sum.ln() - clip(p[y]).ln();
    }
}

/// `dp[n, j] = dloss_n · (1/Σc − [j = y_n]/c_y)`, and 0 where `p` was clipped.
pub fn sparse_from_probs_backward(
    k: usize,
    probs: &[f32],
    labels: &[usize],
    dlosses: &[f32],
    dprobs: &mut [f32],
) {
    debug_assert_eq!(probs.len(), dprobs.len());
    let rows = probs.chunks_exact(k).zip(dprobs.chunks_exact_mut(k));
    for (((p, dp), &y), &g) in rows.zip(labels).zip(dlosses) {
        let row_sum: f32 = p.iter().map(|&v| clip(v)).sum();
        let p_y = clip(p[y]);
        for (j, (&p, dp)) in p.iter().zip(dp.iter_mut()).enumerate() {
            let one_hot = if j == y { 1.0 / p_y } else { 0.0 };
            *dp = if inside_clip(p) {
                g * (1.0 / row_sum - one_hot)
            } else {
                0.0
            };
        }
    }
}

// ------------------------------------------------------------------ target rows

/// Fused softmax + cross-entropy against target rows from logits: `probs = softmax(z)` (what
/// the backward needs) and `losses[n] = −Σ_j t_nj · log_softmax(z_n)_j`, with
/// `log_softmax(z)_j = z_j − lse(z)` and `lse(z) = μ + log Σ_j exp(z_j − μ)` (`μ` the row
/// maximum, so nothing overflows). `z_j − lse` is taken before the product, so large logits
/// keep their precision.
pub fn dense_softmax_forward(
    k: usize,
    logits: &[f32],
    targets: &[f32],
    probs: &mut [f32],
    losses: &mut [f32],
) {
    let n = losses.len();
    softmax_rows(n, k, logits, probs);
    let rows = logits.chunks_exact(k).zip(targets.chunks_exact(k));
    for ((z, t), loss) in rows.zip(losses.iter_mut()) {
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let log_sum_exp = max + z.iter().map(|&v| (v - max).exp()).sum::<f32>().ln();
        *loss = -t
            .iter()
            .zip(z)
            .map(|(t, z)| t * (z - log_sum_exp))
            .sum::<f32>();
    }
}

/// `dz[n, j] = dloss_n · (p_nj · Σt_n − t_nj)`.
pub fn dense_softmax_backward(
    k: usize,
    probs: &[f32],
    targets: &[f32],
    dlosses: &[f32],
    dlogits: &mut [f32],
) {
    let rows = probs.chunks_exact(k).zip(targets.chunks_exact(k));
    for (((p, t), dz), &g) in rows.zip(dlogits.chunks_exact_mut(k)).zip(dlosses) {
        let t_sum: f32 = t.iter().sum();
        for ((dz, &p), &t) in dz.iter_mut().zip(p).zip(t) {
            *dz = g * (p * t_sum - t);
        }
    }
}

/// Keras's cross-entropy against target rows from probabilities (renormalise, then clip):
/// `q = p/Σp`, `losses[n] = −Σ_j t_nj · log clip(q_nj)`.
pub fn dense_from_probs_forward(k: usize, probs: &[f32], targets: &[f32], losses: &mut [f32]) {
    let rows = probs.chunks_exact(k).zip(targets.chunks_exact(k));
    for ((p, t), loss) in rows.zip(losses.iter_mut()) {
        let s: f32 = p.iter().sum();
        *loss = -p
            .iter()
            .zip(t)
            .map(|(&p, &t)| clip(p / s).ln() * t)
            .sum::<f32>();
    }
}

/// `dp[n, j] = dloss_n · (g_j − Σ_i g_i q_i)/s` with `s = Σp`, `q = p/s` and `g_j = −t_j/q_j`
/// (0 where `q` was clipped).
pub fn dense_from_probs_backward(
    k: usize,
    probs: &[f32],
    targets: &[f32],
    dlosses: &[f32],
    dprobs: &mut [f32],
) {
    let rows = probs.chunks_exact(k).zip(targets.chunks_exact(k));
    for (((p, t), dp), &dloss) in rows.zip(dprobs.chunks_exact_mut(k)).zip(dlosses) {
        let s: f32 = p.iter().sum();
        // g: ∂loss/∂q for this row, written into dp first
        for ((g, &p), &t) in dp.iter_mut().zip(p).zip(t) {
            let q = p / s;
            *g = if inside_clip(q) { -t / q } else { 0.0 };
        }
        let g_dot_q: f32 = dp.iter().zip(p).map(|(g, &p)| g * p / s).sum();
        for g in dp.iter_mut() {
            *g = dloss * (*g - g_dot_q) / s;
        }
    }
}

// ------------------------------------------------------------------ binary

/// The elementwise binary cross-entropy `ℓ(s, t)` of one score, from a logit or a probability.
fn binary_term(s: f32, t: f32, from_logits: bool) -> f32 {
    if from_logits {
        s.max(0.0) - s * t + (-s.abs()).exp().ln_1p()
    } else {
        let c = clip(s);
        -(t * (c + EPSILON).ln() + (1.0 - t) * (1.0 - c + EPSILON).ln())
    }
}

/// `∂ℓ/∂s` of [`binary_term`]: `σ(z) − t` from logits, else the probability's slope (0 where
/// `p` was clipped).
fn binary_slope(s: f32, t: f32, from_logits: bool) -> f32 {
    if from_logits {
        stable_sigmoid(s) - t
    } else if inside_clip(s) {
        -t / (s + EPSILON) + (1.0 - t) / (1.0 - s + EPSILON)
    } else {
        0.0
    }
}

/// `losses[r] = mean_j ℓ(s_rj, t_rj)` over the `d` values of each row (TF 2.10's formulas).
pub fn binary_forward(
    d: usize,
    scores: &[f32],
    targets: &[f32],
    from_logits: bool,
    losses: &mut [f32],
) {
    let rows = scores.chunks_exact(d).zip(targets.chunks_exact(d));
    for ((s, t), loss) in rows.zip(losses.iter_mut()) {
        let sum: f32 = s
            .iter()
            .zip(t)
            .map(|(&s, &t)| binary_term(s, t, from_logits))
            .sum();
        *loss = sum / d as f32;
    }
}

/// `ds[r, j] = ∂ℓ/∂s · dloss_r / d` (the chain rule through the mean over the last axis).
pub fn binary_backward(
    d: usize,
    scores: &[f32],
    targets: &[f32],
    dlosses: &[f32],
    from_logits: bool,
    dscores: &mut [f32],
) {
    let rows = scores.chunks_exact(d).zip(targets.chunks_exact(d));
    for (((s, t), ds), &g) in rows.zip(dscores.chunks_exact_mut(d)).zip(dlosses) {
        for ((ds, &s), &t) in ds.iter_mut().zip(s).zip(t) {
            *ds = binary_slope(s, t, from_logits) * (g / d as f32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each backward is the derivative of its forward: a central difference in f64 of the
    /// forward, weighted by random `dloss`, against the analytic gradient.
    #[test]
    fn every_backward_is_the_derivative_of_its_forward() {
        let (n, k) = (3, 4);
        let logits: Vec<f32> = (0..n * k)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0)
            .collect();
        let probs: Vec<f32> = (0..n * k)
            .map(|i| 0.05 + (i * 5 % 9) as f32 / 10.0)
            .collect();
        let targets: Vec<f32> = (0..n * k).map(|i| (i * 3 % 4) as f32 / 4.0).collect();
        let labels = [2usize, 0, 3];
        let dloss = [0.5f32, -1.0, 2.0];

        type Forward<'a> = Box<dyn Fn(&[f32], &mut [f32]) + 'a>;
        type Backward<'a> = Box<dyn Fn(&[f32], &mut [f32]) + 'a>;
        let cases: Vec<(&str, &[f32], Forward, Backward)> = vec![
            (
                "sparse from probs",
                &probs,
                Box::new(|p, l| sparse_from_probs_forward(k, p, &labels, l)),
                Box::new(|p, dp| sparse_from_probs_backward(k, p, &labels, &dloss, dp)),
            ),
            (
                "dense softmax",
                &logits,
                Box::new(|z, l| dense_softmax_forward(k, z, &targets, &mut vec![0.0; n * k], l)),
                Box::new(|z, dz| {
                    let mut p = vec![0.0; n * k];
                    softmax_rows(n, k, z, &mut p);
                    dense_softmax_backward(k, &p, &targets, &dloss, dz)
                }),
            ),
            (
                "dense from probs",
                &probs,
                Box::new(|p, l| dense_from_probs_forward(k, p, &targets, l)),
                Box::new(|p, dp| dense_from_probs_backward(k, p, &targets, &dloss, dp)),
            ),
            (
                "binary from logits",
                &logits,
                Box::new(|z, l| binary_forward(k, z, &targets, true, l)),
                Box::new(|z, dz| binary_backward(k, z, &targets, &dloss, true, dz)),
            ),
            (
                "binary from probs",
                &probs,
                Box::new(|p, l| binary_forward(k, p, &targets, false, l)),
                Box::new(|p, dp| binary_backward(k, p, &targets, &dloss, false, dp)),
            ),
        ];
        for (what, x, forward, backward) in cases {
            let weighted = |x: &[f32]| {
                let mut l = vec![0.0; n];
                forward(x, &mut l);
                l.iter()
                    .zip(&dloss)
                    .map(|(l, g)| (l * g) as f64)
                    .sum::<f64>()
            };
            let mut analytic = vec![f32::NAN; n * k];
            backward(x, &mut analytic);
            for i in 0..n * k {
                let h = 1e-3;
                let (mut up, mut down) = (x.to_vec(), x.to_vec());
                up[i] += h;
                down[i] -= h;
                let numeric = (weighted(&up) - weighted(&down)) / (2.0 * h as f64);
                let err = (numeric - analytic[i] as f64).abs();
                assert!(
                    err <= 2e-2 * (1.0 + numeric.abs()),
                    "{what}, element {i}: analytic {} vs numeric {numeric}",
                    analytic[i]
                );
            }
        }
    }

    /// A clipped probability (0 or 1) passes no gradient, as in Keras.
    #[test]
    fn clipped_probabilities_pass_no_gradient() {
        let probs = [0.0, 0.5, 1.0];
        let mut dp = [f32::NAN; 3];
        sparse_from_probs_backward(3, &probs, &[1], &[1.0], &mut dp);
        assert_eq!((dp[0], dp[2]), (0.0, 0.0));
        binary_backward(3, &probs, &[1.0, 1.0, 1.0], &[1.0], false, &mut dp);
        assert_eq!((dp[0], dp[2]), (0.0, 0.0));
    }
}
