//! Softmax, log-softmax, and softmax fused with cross-entropy, row by row.
//!
//! # Math
//!
//! For one row of logits `z` (length K):
//!
//! ```text
//! softmax(z)_j     = exp(z_j) / Σ_i exp(z_i)
//! logsumexp(z)     = log Σ_i exp(z_i)
//! log_softmax(z)_j = z_j − logsumexp(z)
//! CE(z, label)     = −log softmax(z)_label = logsumexp(z) − z_label
//! ```
//!
//! **Stability:** `exp` overflows f32 beyond 88, so every formula subtracts the row maximum `μ` first:
//! `Σ exp(z_i) = exp(μ)·Σ exp(z_i − μ)`, where now every exponent is ≤ 0 and the largest term is 1.
//!
//! **Backward of the fused loss:** `∂CE/∂z_j = softmax(z)_j − [j = label]` — the famous
//! "probabilities minus one-hot". Fusing softmax with cross-entropy gives this simple, stable
//! gradient instead of dividing by a probability that may have underflowed to 0.
//!
//! Rows are independent, so large inputs run in parallel over rows; each row is computed the same
//! way on any thread, so results do not depend on the thread count.
use rayon::prelude::*;

/// Rows per parallel task; below one task's worth of elements everything runs on the calling thread.
const ROWS_PER_TASK: usize = 256;
const PARALLEL_MIN_ELEMENTS: usize = 1 << 15;

/// Applies `row_op(i, in_row, out_row)` to every row `i` of `(n, k)` matrices, in parallel when large.
fn for_each_row(
    n: usize,
    k: usize,
    x: &[f32],
    out: &mut [f32],
    row_op: impl Fn(usize, &[f32], &mut [f32]) + Sync,
) {
    debug_assert_eq!(x.len(), n * k);
    debug_assert_eq!(out.len(), n * k);
    if k == 0 {
        return;
    }
    let block = |(b, (x_block, out_block)): (usize, (&[f32], &mut [f32]))| {
        for (r, (x_row, out_row)) in x_block
            .chunks_exact(k)
            .zip(out_block.chunks_exact_mut(k))
            .enumerate()
        {
            row_op(b * ROWS_PER_TASK + r, x_row, out_row);
        }
    };
    if n * k >= PARALLEL_MIN_ELEMENTS {
        x.par_chunks(ROWS_PER_TASK * k)
            .zip(out.par_chunks_mut(ROWS_PER_TASK * k))
            .enumerate()
            .for_each(block);
    } else {
        x.chunks(ROWS_PER_TASK * k)
            .zip(out.chunks_mut(ROWS_PER_TASK * k))
            .enumerate()
            .for_each(block);
    }
}

/// Writes `exp(z_j − μ)` into `out` and returns `(μ, Σ_j exp(z_j − μ))` for one row.
fn shifted_exp(z: &[f32], out: &mut [f32]) -> (f32, f32) {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for (o, &v) in out.iter_mut().zip(z) {
        *o = (v - max).exp();
        sum += *o;
    }
    (max, sum)
}

/// `out = softmax(x)` row by row, computed stably.
///
/// # Shapes
/// `x: (N, K)`, `out: (N, K)` (overwritten).
///
/// ```
/// use astrograd_kernels::cpu::softmax_cross_entropy::softmax_rows;
/// let mut p = [0.0; 3];
/// softmax_rows(1, 3, &[1000.0, 1000.0, 1000.0], &mut p); // no overflow
/// assert!(p.iter().all(|&v| (v - 1.0 / 3.0).abs() < 1e-6));
/// ```
pub fn softmax_rows(n: usize, k: usize, x: &[f32], out: &mut [f32]) {
    for_each_row(n, k, x, out, |_, z, p| {
        let (_, sum) = shifted_exp(z, p);
        p.iter_mut().for_each(|v| *v /= sum);
    });
}

/// `out = log_softmax(x) = x − logsumexp(x)` row by row, computed stably.
///
/// # Shapes
/// `x: (N, K)`, `out: (N, K)` (overwritten).
pub fn log_softmax_rows(n: usize, k: usize, x: &[f32], out: &mut [f32]) {
    for_each_row(n, k, x, out, |_, z, o| {
        let (max, sum) = shifted_exp(z, o);
        let log_sum_exp = max + sum.ln();
        o.iter_mut().zip(z).for_each(|(o, &v)| *o = v - log_sum_exp);
    });
}

/// Fused softmax + cross-entropy forward: `probs = softmax(logits)` and
/// `losses[i] = logsumexp(logits_i) − logits_i[labels_i]`, both computed stably.
///
/// # Shapes
/// `logits: (N, K)`, `labels: (N)` with every `labels[i] < K` (the caller validates),
/// `probs: (N, K)` and `losses: (N)` (overwritten). `probs` is what the backward needs.
pub fn softmax_cross_entropy_forward(
    n: usize,
    k: usize,
    logits: &[f32],
    labels: &[usize],
    probs: &mut [f32],
    losses: &mut [f32],
) {
    debug_assert_eq!(labels.len(), n);
    debug_assert_eq!(losses.len(), n);
    debug_assert!(labels.iter().all(|&l| l < k));
    softmax_rows(n, k, logits, probs);
    // Rows are short (K classes), so the loss is a cheap serial pass; recomputing the max and sum
    // here keeps softmax_rows the single place that writes probs.
    for (i, (z, loss)) in logits.chunks_exact(k).zip(losses.iter_mut()).enumerate() {
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = z.iter().map(|&v| (v - max).exp()).sum();
        *loss = max + sum.ln() - z[labels[i]];
    }
}

/// Fused softmax + cross-entropy backward: `dlogits[i, j] = (probs[i, j] − [j = labels_i]) · dlosses[i]`.
///
/// # Shapes
/// `probs: (N, K)` from the forward, `labels: (N)`, `dlosses: (N)`, `dlogits: (N, K)` (overwritten).
pub fn softmax_cross_entropy_backward(
    n: usize,
    k: usize,
    probs: &[f32],
    labels: &[usize],
    dlosses: &[f32],
    dlogits: &mut [f32],
) {
    debug_assert_eq!(probs.len(), n * k);
    debug_assert_eq!(labels.len(), n);
    debug_assert_eq!(dlosses.len(), n);
    debug_assert_eq!(dlogits.len(), n * k);
    for (i, (p, d)) in probs
        .chunks_exact(k)
        .zip(dlogits.chunks_exact_mut(k))
        .enumerate()
    {
        for (j, (p, d)) in p.iter().zip(d.iter_mut()).enumerate() {
            let one_hot = if j == labels[i] { 1.0 } else { 0.0 };
            *d = (p - one_hot) * dlosses[i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::testing::{assert_close, random_vec, with_threads};

    /// Reference softmax in f64, straight from the definition (fine for moderate logits).
    fn softmax_naive(z: &[f32]) -> Vec<f64> {
        let e: Vec<f64> = z.iter().map(|&v| (v as f64).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|v| v / s).collect()
    }

    /// PyTorch 2.x:
    /// ```python
    /// z = torch.tensor([[1., 2., 3.], [1., 1., 1.]])
    /// torch.softmax(z, 1)                               # [[0.0900306, 0.2447285, 0.665241], [1/3]*3]
    /// torch.nn.functional.cross_entropy(z, torch.tensor([2, 0]), reduction='none')  # [0.4076059, 1.0986123]
    /// ```
    #[test]
    fn matches_pytorch_numbers() {
        let z = [1.0, 2.0, 3.0, 1.0, 1.0, 1.0];
        let (mut p, mut loss) = ([0.0; 6], [0.0; 2]);
        softmax_cross_entropy_forward(2, 3, &z, &[2, 0], &mut p, &mut loss);
        assert_close(
            &p,
            &[
                0.0900306,
                0.2447285,
                0.665241,
                1.0 / 3.0,
                1.0 / 3.0,
                1.0 / 3.0,
            ],
            1e-6,
            "probs",
        );
        assert_close(&loss, &[0.4076059, 1.0986123], 1e-6, "losses");
    }

    #[test]
    fn softmax_and_log_softmax_match_the_definition_and_each_other() {
        let (n, k) = (37, 10);
        let x: Vec<f32> = random_vec(n * k, 5).iter().map(|v| v * 8.0).collect();
        let (mut p, mut lp) = (vec![0.0; n * k], vec![0.0; n * k]);
        softmax_rows(n, k, &x, &mut p);
        log_softmax_rows(n, k, &x, &mut lp);
        let reference: Vec<f32> = x
            .chunks(k)
            .flat_map(softmax_naive)
            .map(|v| v as f32)
            .collect();
        assert_close(&p, &reference, 1e-6, "softmax");
        let exp_lp: Vec<f32> = lp.iter().map(|v| v.exp()).collect();
        assert_close(&exp_lp, &reference, 1e-6, "exp(log_softmax)");
    }

    #[test]
    fn huge_logits_do_not_overflow() {
        let z = [1e4, 0.0, -1e4];
        let (mut p, mut lp, mut loss) = ([0.0; 3], [0.0; 3], [0.0; 1]);
        log_softmax_rows(1, 3, &z, &mut lp);
        softmax_cross_entropy_forward(1, 3, &z, &[1], &mut p, &mut loss);
        assert_eq!(p, [1.0, 0.0, 0.0]);
        assert_eq!(lp, [0.0, -1e4, -2e4]);
        assert_eq!(loss, [1e4]);
    }

    /// The gradient `probs − one_hot` against central finite differences of the loss.
    #[test]
    fn backward_matches_finite_differences() {
        let (n, k) = (3, 5);
        let z = random_vec(n * k, 7);
        let labels = [4, 0, 2];
        let dlosses = [0.5, -1.0, 2.0];
        let total_loss = |z: &[f32]| -> f64 {
            let (mut p, mut l) = (vec![0.0; n * k], vec![0.0; n]);
            softmax_cross_entropy_forward(n, k, z, &labels, &mut p, &mut l);
            l.iter()
                .zip(&dlosses)
                .map(|(l, d)| *l as f64 * *d as f64)
                .sum()
        };
        let (mut p, mut l) = (vec![0.0; n * k], vec![0.0; n]);
        softmax_cross_entropy_forward(n, k, &z, &labels, &mut p, &mut l);
        let mut dz = vec![f32::NAN; n * k]; // overwritten
        softmax_cross_entropy_backward(n, k, &p, &labels, &dlosses, &mut dz);
        let eps = 1e-2;
        let numeric: Vec<f32> = (0..n * k)
            .map(|i| {
                let (mut up, mut down) = (z.clone(), z.clone());
                up[i] += eps;
                down[i] -= eps;
                ((total_loss(&up) - total_loss(&down)) / (2.0 * eps as f64)) as f32
            })
            .collect();
        assert_close(&dz, &numeric, 1e-3, "dlogits");
    }

    #[test]
    fn large_inputs_are_parallel_and_independent_of_thread_count() {
        let (n, k) = (4000, 10);
        assert!(n * k >= PARALLEL_MIN_ELEMENTS);
        let x = random_vec(n * k, 9);
        let run = || {
            let mut p = vec![0.0; n * k];
            softmax_rows(n, k, &x, &mut p);
            p
        };
        let (one, three) = (with_threads(1, run), with_threads(3, run));
        assert_eq!(one, three);
        let reference: Vec<f32> = x
            .chunks(k)
            .flat_map(softmax_naive)
            .map(|v| v as f32)
            .collect();
        assert_close(&one, &reference, 1e-6, "parallel softmax");
    }
}
