//! Softmax, log-softmax and the cross-entropy losses on the GPU: the same arithmetic as
//! [`crate::cpu::softmax_cross_entropy`] and the autograd loss ops
//! (`sparse_categorical_crossentropy`, `categorical_crossentropy`, `binary_crossentropy`).
//!
//! # Math
//! For one row of `K` scores:
//!
//! ```text
//! softmax(z)_j = exp(z_j − μ) / Σ_i exp(z_i − μ)          (μ the row maximum)
//! sparse, logits:   loss = logsumexp(z) − z_y             dz = softmax(z) − one_hot(y)
//! dense, logits:    loss = −Σ t_j·log_softmax(z)_j         dz = softmax(z)·Σt − t
//! sparse, probs:    loss = log Σ c − log c_y              dp = 1/Σc − [j = y]/c_y   (c = clip(p))
//! dense, probs:     loss = −Σ t_j·log clip(p_j/Σp)         dp = (g − Σ g·p/s)/s,  g = −t/q
//! binary:           ℓ averaged over the d outputs of a sample (logits or probabilities)
//! ```
//!
//! (Each formula is derived in the autograd op that uses it.)
//!
//! # Shapes
//! Scores `(N, K)`; sparse labels `(N)` (class indices as f32; a label that is not a whole
//! number in `0..K` gives its row a NaN loss and gradient, see `shaders/cross_entropy_common.wgsl`);
//! target rows `(N, K)`; losses and upstream gradients `(N)`. Every output is overwritten.
use super::{dispatch, grid_1d, Access, GpuBuffer, Kernel};
use crate::KernelError;

use crate::EPSILON;

/// A kernel of this family: the common helpers, then one of the shader files.
const fn kernel(
    name: &'static str,
    source: &'static str,
    entry: &'static str,
    buffers: &'static [Access],
) -> Kernel {
    Kernel {
        name,
        source,
        entry,
        buffers,
    }
}

const ROWS_SOURCE: &str = concat!(
    include_str!("shaders/cross_entropy_common.wgsl"),
    include_str!("shaders/softmax_rows.wgsl")
);
const FUSED_SOURCE: &str = concat!(
    include_str!("shaders/cross_entropy_common.wgsl"),
    include_str!("shaders/cross_entropy_fused.wgsl")
);
const LOSS_SOURCE: &str = concat!(
    include_str!("shaders/cross_entropy_common.wgsl"),
    include_str!("shaders/cross_entropy_loss.wgsl")
);
const BACKWARD_SOURCE: &str = concat!(
    include_str!("shaders/cross_entropy_common.wgsl"),
    include_str!("shaders/cross_entropy_backward.wgsl")
);

const ROWS: &[Access] = &[Access::Read, Access::ReadWrite];
const FUSED: &[Access] = &[
    Access::Read,
    Access::Read,
    Access::ReadWrite,
    Access::ReadWrite,
];
const LOSS: &[Access] = &[Access::Read, Access::Read, Access::ReadWrite];
const BACKWARD: &[Access] = &[Access::Read, Access::Read, Access::Read, Access::ReadWrite];

const SOFTMAX: Kernel = kernel("softmax.rows", ROWS_SOURCE, "softmax_rows", ROWS);
const LOG_SOFTMAX: Kernel = kernel("softmax.rows", ROWS_SOURCE, "log_softmax_rows", ROWS);
const SPARSE_FORWARD: Kernel = kernel("cross_entropy.fused", FUSED_SOURCE, "sparse_forward", FUSED);
const DENSE_FORWARD: Kernel = kernel("cross_entropy.fused", FUSED_SOURCE, "dense_forward", FUSED);
const SPARSE_PROBS_FORWARD: Kernel = kernel(
    "cross_entropy.loss",
    LOSS_SOURCE,
    "sparse_probs_forward",
    LOSS,
);
const DENSE_PROBS_FORWARD: Kernel = kernel(
    "cross_entropy.loss",
    LOSS_SOURCE,
    "dense_probs_forward",
    LOSS,
);
const BINARY_FORWARD: Kernel = kernel("cross_entropy.loss", LOSS_SOURCE, "binary_forward", LOSS);
const BINARY_LOGITS_FORWARD: Kernel = kernel(
    "cross_entropy.fused",
    FUSED_SOURCE,
    "binary_logits_forward",
    FUSED,
);
const SPARSE_BACKWARD: Kernel = kernel(
    "cross_entropy.backward",
    BACKWARD_SOURCE,
    "sparse_backward",
    BACKWARD,
);
const DENSE_BACKWARD: Kernel = kernel(
    "cross_entropy.backward",
    BACKWARD_SOURCE,
    "dense_backward",
    BACKWARD,
);
const SPARSE_PROBS_BACKWARD: Kernel = kernel(
    "cross_entropy.backward",
    BACKWARD_SOURCE,
    "sparse_probs_backward",
    BACKWARD,
);
const DENSE_PROBS_BACKWARD: Kernel = kernel(
    "cross_entropy.backward",
    BACKWARD_SOURCE,
    "dense_probs_backward",
    BACKWARD,
);
const BINARY_BACKWARD: Kernel = kernel(
    "cross_entropy.backward",
    BACKWARD_SOURCE,
    "binary_backward",
    BACKWARD,
);

/// The parameter block of `cross_entropy_common.wgsl`: N, K, the binary form, and the clip.
fn params(n: usize, k: usize, from_logits: bool) -> [u32; 6] {
    [
        n as u32,
        k as u32,
        u32::from(from_logits),
        EPSILON.to_bits(),
        (1.0 - EPSILON).to_bits(),
        (1.0 / k.max(1) as f32).to_bits(),
    ]
}

/// `out = softmax(x)` row by row. `x`, `out`: `(N, K)`.
pub fn softmax_rows(n: usize, k: usize, x: &GpuBuffer, out: &GpuBuffer) -> Result<(), KernelError> {
    dispatch(&SOFTMAX, &params(n, k, true), &[x, out], rows_grid(n, k))
}

/// `out = log_softmax(x) = x − logsumexp(x)` row by row. `x`, `out`: `(N, K)`.
pub fn log_softmax_rows(
    n: usize,
    k: usize,
    x: &GpuBuffer,
    out: &GpuBuffer,
) -> Result<(), KernelError> {
    dispatch(
        &LOG_SOFTMAX,
        &params(n, k, true),
        &[x, out],
        rows_grid(n, k),
    )
}

/// One thread per row; nothing to do when a row is empty.
fn rows_grid(n: usize, k: usize) -> [u32; 3] {
    if k == 0 {
        [0, 1, 1]
    } else {
        grid_1d(n)
    }
}

/// Fused softmax + sparse cross-entropy from logits: `probs = softmax(logits)` and
/// `losses[i] = logsumexp(logits_i) − logits_i[labels_i]`.
///
/// # Shapes
/// `logits: (N, K)`, `labels: (N)` (f32 class indices), `probs: (N, K)`, `losses: (N)`.
pub fn softmax_cross_entropy_forward(
    n: usize,
    k: usize,
    logits: &GpuBuffer,
    labels: &GpuBuffer,
    probs: &GpuBuffer,
    losses: &GpuBuffer,
) -> Result<(), KernelError> {
    let buffers = [logits, labels, probs, losses];
    dispatch(
        &SPARSE_FORWARD,
        &params(n, k, true),
        &buffers,
        rows_grid(n, k),
    )
}

/// Backward of [`softmax_cross_entropy_forward`]: `dlogits[i, j] = (probs[i, j] − [j = labels_i]) · dlosses[i]`
/// (overwritten).
///
/// # Shapes
/// `probs: (N, K)`, `labels: (N)`, `dlosses: (N)`, `dlogits: (N, K)`.
pub fn softmax_cross_entropy_backward(
    n: usize,
    k: usize,
    probs: &GpuBuffer,
    labels: &GpuBuffer,
    dlosses: &GpuBuffer,
    dlogits: &GpuBuffer,
) -> Result<(), KernelError> {
    let buffers = [probs, labels, dlosses, dlogits];
    dispatch(
        &SPARSE_BACKWARD,
        &params(n, k, true),
        &buffers,
        grid_1d(n * k),
    )
}

/// Fused softmax + cross-entropy against target rows `t` (one-hot or soft), from logits:
/// `probs = softmax(logits)`, `losses[i] = −Σ_j t_ij · log_softmax(logits_i)_j`.
///
/// # Shapes
/// `logits: (N, K)`, `targets: (N, K)`, `probs: (N, K)`, `losses: (N)`.
pub fn dense_cross_entropy_forward(
    n: usize,
    k: usize,
    logits: &GpuBuffer,
    targets: &GpuBuffer,
    probs: &GpuBuffer,
    losses: &GpuBuffer,
) -> Result<(), KernelError> {
    let buffers = [logits, targets, probs, losses];
    dispatch(
        &DENSE_FORWARD,
        &params(n, k, true),
        &buffers,
        rows_grid(n, k),
    )
}

/// Backward of [`dense_cross_entropy_forward`]: `dlogits[i, j] = dlosses[i] · (probs[i, j] · Σ_j t_ij − t_ij)`.
pub fn dense_cross_entropy_backward(
    n: usize,
    k: usize,
    probs: &GpuBuffer,
    targets: &GpuBuffer,
    dlosses: &GpuBuffer,
    dlogits: &GpuBuffer,
) -> Result<(), KernelError> {
    let buffers = [probs, targets, dlosses, dlogits];
    dispatch(
        &DENSE_BACKWARD,
        &params(n, k, true),
        &buffers,
        grid_1d(n * k),
    )
}

/// Sparse cross-entropy from probabilities (Keras's clip, then renormalise):
/// `losses[i] = log Σ_j c_ij − log c_i,label` with `c = clip(p, ε, 1−ε)`.
pub fn sparse_cross_entropy_from_probs_forward(
    n: usize,
    k: usize,
    probs: &GpuBuffer,
    labels: &GpuBuffer,
    losses: &GpuBuffer,
) -> Result<(), KernelError> {
    let buffers = [probs, labels, losses];
    dispatch(
        &SPARSE_PROBS_FORWARD,
        &params(n, k, false),
        &buffers,
        rows_grid(n, k),
    )
}

/// Backward of [`sparse_cross_entropy_from_probs_forward`]:
/// `dprobs[i, j] = dlosses[i] · (1/Σc − [j = label]/c_label)`, 0 where `p` was clipped.
pub fn sparse_cross_entropy_from_probs_backward(
    n: usize,
    k: usize,
    probs: &GpuBuffer,
    labels: &GpuBuffer,
    dlosses: &GpuBuffer,
    dprobs: &GpuBuffer,
) -> Result<(), KernelError> {
    let buffers = [probs, labels, dlosses, dprobs];
    dispatch(
        &SPARSE_PROBS_BACKWARD,
        &params(n, k, false),
        &buffers,
        grid_1d(n * k),
    )
}

/// Cross-entropy against target rows from probabilities: `q = p/Σp`,
/// `losses[i] = −Σ_j t_ij · log clip(q_ij)`.
pub fn dense_cross_entropy_from_probs_forward(
    n: usize,
    k: usize,
    probs: &GpuBuffer,
    targets: &GpuBuffer,
    losses: &GpuBuffer,
) -> Result<(), KernelError> {
    let buffers = [probs, targets, losses];
    dispatch(
        &DENSE_PROBS_FORWARD,
        &params(n, k, false),
        &buffers,
        rows_grid(n, k),
    )
}

/// Backward of [`dense_cross_entropy_from_probs_forward`]:
/// `dprobs[i, k] = dlosses[i] · (g_k − Σ_j g_j·p_j/s)/s` with `g_j = −t_j/q_j` (0 where clipped).
pub fn dense_cross_entropy_from_probs_backward(
    n: usize,
    k: usize,
    probs: &GpuBuffer,
    targets: &GpuBuffer,
    dlosses: &GpuBuffer,
    dprobs: &GpuBuffer,
) -> Result<(), KernelError> {
    let buffers = [probs, targets, dlosses, dprobs];
    dispatch(
        &DENSE_PROBS_BACKWARD,
        &params(n, k, false),
        &buffers,
        grid_1d(n * k),
    )
}

/// Binary cross-entropy, the mean over the `d` outputs of each sample (`from_logits` or from
/// probabilities, see `autograd::ops::binary_crossentropy`).
///
/// # Shapes
/// `scores: (N, d)`, `targets: (N, d)`, `losses: (N)`.
pub fn binary_cross_entropy_forward(
    n: usize,
    d: usize,
    scores: &GpuBuffer,
    targets: &GpuBuffer,
    losses: &GpuBuffer,
    from_logits: bool,
) -> Result<(), KernelError> {
    let buffers = [scores, targets, losses];
    dispatch(
        &BINARY_FORWARD,
        &params(n, d, from_logits),
        &buffers,
        rows_grid(n, d),
    )
}

/// [`binary_cross_entropy_forward`] from logits, which also writes `probs = σ(logits)`: the
/// numbers of the sigmoid kernel, so that a model with a sigmoid output trained with this
/// loss gets its output from the loss's kernel (as the softmax's from
/// [`softmax_cross_entropy_forward`]).
///
/// # Shapes
/// `logits: (N, d)`, `targets: (N, d)`, `probs: (N, d)`, `losses: (N)`.
pub fn binary_cross_entropy_forward_with_probs(
    n: usize,
    d: usize,
    logits: &GpuBuffer,
    targets: &GpuBuffer,
    probs: &GpuBuffer,
    losses: &GpuBuffer,
) -> Result<(), KernelError> {
    let buffers = [logits, targets, probs, losses];
    dispatch(
        &BINARY_LOGITS_FORWARD,
        &params(n, d, true),
        &buffers,
        rows_grid(n, d),
    )
}

/// Backward of [`binary_cross_entropy_forward`]: `dscores[i, j] = ∂ℓ/∂s_ij · dlosses[i]/d`
/// (`σ(z) − t` from logits; `−t/(p+ε) + (1−t)/(1−p+ε)`, 0 where clipped, from probabilities).
pub fn binary_cross_entropy_backward(
    n: usize,
    d: usize,
    scores: &GpuBuffer,
    targets: &GpuBuffer,
    dlosses: &GpuBuffer,
    dscores: &GpuBuffer,
    from_logits: bool,
) -> Result<(), KernelError> {
    let buffers = [scores, targets, dlosses, dscores];
    dispatch(
        &BINARY_BACKWARD,
        &params(n, d, from_logits),
        &buffers,
        grid_1d(n * d),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::softmax_cross_entropy as cpu;
    use crate::wgpu::testing::{gpu_available, max_rel_diff, numbers};

    /// One parity case: N rows of K classes (odd sizes on purpose), logits scaled by `scale`.
    #[derive(Debug, Clone, Copy)]
    struct RowsCase {
        n: usize,
        k: usize,
        scale: f32,
    }

    const CASES: [RowsCase; 4] = [
        RowsCase {
            n: 1,
            k: 1,
            scale: 1.0,
        },
        RowsCase {
            n: 37,
            k: 10,
            scale: 8.0,
        },
        RowsCase {
            n: 300,
            k: 3,
            scale: 50.0,
        },
        RowsCase {
            n: 5,
            k: 129,
            scale: 2.0,
        },
    ];

    fn logits(case: RowsCase, seed: u32) -> Vec<f32> {
        numbers(case.n * case.k, seed)
            .iter()
            .map(|v| v * case.scale)
            .collect()
    }

    fn labels(case: RowsCase) -> Vec<f32> {
        (0..case.n).map(|i| ((i * 7 + 3) % case.k) as f32).collect()
    }

    fn upload(v: &[f32]) -> GpuBuffer {
        GpuBuffer::upload(v).unwrap()
    }

    fn check(what: &str, got: &GpuBuffer, expected: &[f32], tol: f32) {
        let err = max_rel_diff(&got.download().unwrap(), expected);
        assert!(err < tol, "{what}: max relative difference {err}");
    }

    #[test]
    fn softmax_and_log_softmax_match_the_cpu_kernels() {
        if !gpu_available() {
            return;
        }
        for case in CASES {
            let (n, k) = (case.n, case.k);
            let x = logits(case, 1);
            let (mut p, mut lp) = (vec![0.0; n * k], vec![0.0; n * k]);
            cpu::softmax_rows(n, k, &x, &mut p);
            cpu::log_softmax_rows(n, k, &x, &mut lp);
            let (xb, out) = (upload(&x), GpuBuffer::uninit(n * k).unwrap());
            softmax_rows(n, k, &xb, &out).unwrap();
            check(&format!("softmax {case:?}"), &out, &p, 1e-6);
            log_softmax_rows(n, k, &xb, &out).unwrap();
            // log_softmax is as large as the logits (±100 here): a few ulps of 100.
            check(&format!("log_softmax {case:?}"), &out, &lp, 1e-5);
        }
    }

    #[test]
    fn sparse_forward_and_backward_match_the_cpu_kernels() {
        if !gpu_available() {
            return;
        }
        for case in CASES {
            let (n, k) = (case.n, case.k);
            let (z, y) = (logits(case, 2), labels(case));
            let y_index: Vec<usize> = y.iter().map(|&v| v as usize).collect();
            let dlosses: Vec<f32> = numbers(n, 3);
            let (mut p, mut l) = (vec![0.0; n * k], vec![0.0; n]);
            cpu::softmax_cross_entropy_forward(n, k, &z, &y_index, &mut p, &mut l);
            let mut dz = vec![0.0; n * k];
            cpu::softmax_cross_entropy_backward(n, k, &p, &y_index, &dlosses, &mut dz);

            let (zb, yb) = (upload(&z), upload(&y));
            let (pb, lb) = (
                GpuBuffer::uninit(n * k).unwrap(),
                GpuBuffer::uninit(n).unwrap(),
            );
            softmax_cross_entropy_forward(n, k, &zb, &yb, &pb, &lb).unwrap();
            check(&format!("probs {case:?}"), &pb, &p, 1e-6);
            check(&format!("losses {case:?}"), &lb, &l, 1e-5);
            let dzb = GpuBuffer::uninit(n * k).unwrap();
            softmax_cross_entropy_backward(n, k, &pb, &yb, &upload(&dlosses), &dzb).unwrap();
            check(&format!("dlogits {case:?}"), &dzb, &dz, 1e-6);
        }
    }

    #[test]
    fn huge_logits_do_not_overflow_and_bad_labels_give_nan() {
        if !gpu_available() {
            return;
        }
        let z = upload(&[1e4, 0.0, -1e4, 1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
        let y = upload(&[1.0, 3.0, 0.5]); // row 1: label ≥ K; row 2: not a whole number
        let (pb, lb) = (GpuBuffer::uninit(9).unwrap(), GpuBuffer::uninit(3).unwrap());
        softmax_cross_entropy_forward(3, 3, &z, &y, &pb, &lb).unwrap();
        let l = lb.download().unwrap();
        assert_eq!(l[0], 1e4);
        assert!(l[1].is_nan() && l[2].is_nan(), "{l:?}");
        assert_eq!(&pb.download().unwrap()[..3], &[1.0, 0.0, 0.0]);
    }

    /// `(N, K)` of probabilities in (0, 1), with an exact 0 and 1 to exercise the clip.
    fn probabilities(case: RowsCase, seed: u32) -> Vec<f32> {
        let mut p: Vec<f32> = numbers(case.n * case.k, seed)
            .iter()
            .map(|v| 0.5 + 0.49 * v)
            .collect();
        // A zero (clipped to ε) in a row that still sums to more than 0: a row of one zero
        // would be 0/0, NaN on the CPU and unspecified in WGSL.
        if case.k > 1 {
            p[0] = 0.0;
        }
        if p.len() > 2 {
            p[2] = 1.0;
        }
        p
    }

    /// The CPU formulas of `autograd::ops::softmax_cross_entropy` (probability form), on slices.
    fn sparse_probs_cpu(
        n: usize,
        k: usize,
        p: &[f32],
        y: &[f32],
        dl: &[f32],
    ) -> (Vec<f32>, Vec<f32>) {
        let clip = |v: f32| v.clamp(EPSILON, 1.0 - EPSILON);
        let mut losses = vec![0.0; n];
        let mut d = vec![0.0; n * k];
        for i in 0..n {
            let row = &p[i * k..(i + 1) * k];
            let label = y[i] as usize;
            let row_sum: f32 = row.iter().map(|&v| clip(v)).sum();
            losses[i] = row_sum.ln() - clip(row[label]).ln();
            let p_y = clip(row[label]);
            for j in 0..k {
                let one_hot = if j == label { 1.0 / p_y } else { 0.0 };
                let inside = (EPSILON..=1.0 - EPSILON).contains(&row[j]);
                d[i * k + j] = if inside {
                    dl[i] * (1.0 / row_sum - one_hot)
                } else {
                    0.0
                };
            }
        }
        (losses, d)
    }

    #[test]
    fn sparse_from_probabilities_matches_the_cpu_formula() {
        if !gpu_available() {
            return;
        }
        for case in CASES {
            let (n, k) = (case.n, case.k);
            let (p, y, dl) = (probabilities(case, 4), labels(case), numbers(case.n, 5));
            let (losses, d) = sparse_probs_cpu(n, k, &p, &y, &dl);
            let (pb, yb) = (upload(&p), upload(&y));
            let lb = GpuBuffer::uninit(n).unwrap();
            sparse_cross_entropy_from_probs_forward(n, k, &pb, &yb, &lb).unwrap();
            check(&format!("losses {case:?}"), &lb, &losses, 1e-5);
            let db = GpuBuffer::uninit(n * k).unwrap();
            sparse_cross_entropy_from_probs_backward(n, k, &pb, &yb, &upload(&dl), &db).unwrap();
            check(&format!("dprobs {case:?}"), &db, &d, 1e-5);
        }
    }

    /// Soft target rows, each summing to about 1.
    fn targets(case: RowsCase, seed: u32) -> Vec<f32> {
        numbers(case.n * case.k, seed)
            .iter()
            .map(|v| (v + 1.0) / case.k as f32)
            .collect()
    }

    #[test]
    fn dense_forms_match_the_cpu_formulas() {
        if !gpu_available() {
            return;
        }
        let clip = |v: f32| v.clamp(EPSILON, 1.0 - EPSILON);
        for case in CASES {
            let (n, k) = (case.n, case.k);
            let (z, t, dl) = (logits(case, 6), targets(case, 7), numbers(n, 8));
            // From logits, as categorical_crossentropy: log_softmax, then −Σ t·log p.
            let (mut probs, mut lp) = (vec![0.0; n * k], vec![0.0; n * k]);
            cpu::softmax_rows(n, k, &z, &mut probs);
            cpu::log_softmax_rows(n, k, &z, &mut lp);
            let mut losses = vec![0.0; n];
            let mut dz = vec![0.0; n * k];
            for i in 0..n {
                let r = i * k..(i + 1) * k;
                losses[i] = lp[r.clone()]
                    .iter()
                    .zip(&t[r.clone()])
                    .map(|(l, t)| -(l * t))
                    .sum();
                let t_sum: f32 = t[r.clone()].iter().sum();
                for j in r {
                    dz[j] = dl[i] * (probs[j] * t_sum - t[j]);
                }
            }
            let (zb, tb, dlb) = (upload(&z), upload(&t), upload(&dl));
            let (pb, lb) = (
                GpuBuffer::uninit(n * k).unwrap(),
                GpuBuffer::uninit(n).unwrap(),
            );
            dense_cross_entropy_forward(n, k, &zb, &tb, &pb, &lb).unwrap();
            check(&format!("dense probs {case:?}"), &pb, &probs, 1e-6);
            check(&format!("dense losses {case:?}"), &lb, &losses, 1e-5);
            let db = GpuBuffer::uninit(n * k).unwrap();
            dense_cross_entropy_backward(n, k, &pb, &tb, &dlb, &db).unwrap();
            check(&format!("dense dlogits {case:?}"), &db, &dz, 1e-5);

            // From probabilities: q = p/s, −Σ t·log clip(q); dp = (g − Σ g·p/s)/s.
            let p = probabilities(case, 9);
            let mut d = vec![0.0; n * k];
            for i in 0..n {
                let r = i * k..(i + 1) * k;
                let s: f32 = p[r.clone()].iter().sum();
                losses[i] = p[r.clone()]
                    .iter()
                    .zip(&t[r.clone()])
                    .map(|(&p, &t)| -(clip(p / s).ln() * t))
                    .sum();
                let g: Vec<f32> = r
                    .clone()
                    .map(|j| {
                        let q = p[j] / s;
                        if (EPSILON..=1.0 - EPSILON).contains(&q) {
                            -t[j] / q
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let g_dot_q: f32 = g.iter().zip(&p[r.clone()]).map(|(g, &p)| g * p / s).sum();
                for (j, g) in r.zip(&g) {
                    d[j] = dl[i] * (g - g_dot_q) / s;
                }
            }
            let pb = upload(&p);
            dense_cross_entropy_from_probs_forward(n, k, &pb, &tb, &lb).unwrap();
            check(&format!("dense probs losses {case:?}"), &lb, &losses, 1e-5);
            dense_cross_entropy_from_probs_backward(n, k, &pb, &tb, &dlb, &db).unwrap();
            check(&format!("dense dprobs {case:?}"), &db, &d, 1e-5);
        }
    }

    #[test]
    fn binary_cross_entropy_matches_the_cpu_formulas() {
        if !gpu_available() {
            return;
        }
        let sigmoid = crate::elementwise::stable_sigmoid;
        for case in CASES {
            let (n, d) = (case.n, case.k);
            let t: Vec<f32> = numbers(n * d, 10).iter().map(|v| (v + 1.0) / 2.0).collect();
            let dl = numbers(n, 11);
            for from_logits in [true, false] {
                let s = if from_logits {
                    logits(case, 12)
                } else {
                    probabilities(case, 13)
                };
                let ell = |v: f32, t: f32| {
                    if from_logits {
                        v.max(0.0) - v * t + (-v.abs()).exp().ln_1p()
                    } else {
                        let c = v.clamp(EPSILON, 1.0 - EPSILON);
                        -(t * (c + EPSILON).ln() + (1.0 - t) * (1.0 - c + EPSILON).ln())
                    }
                };
                let slope = |v: f32, t: f32| {
                    if from_logits {
                        sigmoid(v) - t
                    } else if (EPSILON..=1.0 - EPSILON).contains(&v) {
                        -t / (v + EPSILON) + (1.0 - t) / (1.0 - v + EPSILON)
                    } else {
                        0.0
                    }
                };
                let losses: Vec<f32> = (0..n)
                    .map(|i| {
                        let sum: f32 = (i * d..(i + 1) * d).map(|j| ell(s[j], t[j])).sum();
                        sum * (1.0 / d as f32)
                    })
                    .collect();
                let grads: Vec<f32> = (0..n * d)
                    .map(|j| slope(s[j], t[j]) * (dl[j / d] / d as f32))
                    .collect();
                let (sb, tb) = (upload(&s), upload(&t));
                let lb = GpuBuffer::uninit(n).unwrap();
                binary_cross_entropy_forward(n, d, &sb, &tb, &lb, from_logits).unwrap();
                check(
                    &format!("bce losses {case:?} logits {from_logits}"),
                    &lb,
                    &losses,
                    1e-5,
                );
                if from_logits {
                    // With the probabilities: the same losses, and the sigmoid kernel's σ(z),
                    // bit for bit.
                    let (pb, lb2) = (
                        GpuBuffer::uninit(n * d).unwrap(),
                        GpuBuffer::uninit(n).unwrap(),
                    );
                    binary_cross_entropy_forward_with_probs(n, d, &sb, &tb, &pb, &lb2).unwrap();
                    assert_eq!(lb2.download().unwrap(), lb.download().unwrap(), "{case:?}");
                    let sig = GpuBuffer::uninit(n * d).unwrap();
                    crate::wgpu::elementwise::unary(
                        crate::elementwise::UnaryOp::Sigmoid,
                        &sb,
                        &sig,
                    )
                    .unwrap();
                    let (got, want) = (pb.download().unwrap(), sig.download().unwrap());
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&got), bits(&want), "{case:?}");
                }
                let gb = GpuBuffer::uninit(n * d).unwrap();
                binary_cross_entropy_backward(n, d, &sb, &tb, &upload(&dl), &gb, from_logits)
                    .unwrap();
                check(
                    &format!("bce grads {case:?} logits {from_logits}"),
                    &gb,
                    &grads,
                    1e-5,
                );
            }
        }
    }
}
