//! Softmax and the cross-entropy losses, forward and backward, on either device.
//!
//! This file checks the shapes and the labels and picks the device; the arithmetic, with its
//! math, is in the kernels: `kernels/src/cpu/softmax_cross_entropy.rs` (softmax, log-softmax and
//! the fused softmax + sparse cross-entropy), `kernels/src/cpu/cross_entropy.rs` (from
//! probabilities, against target rows, binary) and their GPU twins in
//! `kernels/src/wgpu/softmax_cross_entropy.rs`.
//!
//! # Shapes
//! Scores `(N, K)`; sparse labels `(N)` or `(N, 1)`, class indices stored as f32; target rows
//! `(N, K)`; per-sample losses and their gradients `(N)`. Binary cross-entropy: scores and
//! targets `(…, d)`, losses the shape without the last axis.
//!
//! # Labels on the GPU
//! The CPU path checks every label (a whole number in `0..K`) and returns an error. The GPU
//! kernels cannot without reading the labels back (a stall per batch), so a bad label there makes
//! its row's loss and gradient NaN. Labels usually start on the host: `fit` and `evaluate` check
//! them there with [`check_class_indices`] before they are copied to the GPU.
use astrograd_kernels::cpu::cross_entropy as cpu_ce;
use astrograd_kernels::cpu::softmax_cross_entropy as cpu;
#[cfg(feature = "wgpu")]
use astrograd_kernels::wgpu::{softmax_cross_entropy as gpu, GpuBuffer};

use crate::{Result, Tensor, TensorError};

/// Keras's `backend.epsilon()` (declared once, in the kernels crate).
pub use astrograd_kernels::EPSILON;

/// What a fused softmax + cross-entropy forward returns.
#[derive(Clone, Debug)]
pub struct SoftmaxCrossEntropy {
    /// `softmax(logits)`: `(N, K)`, what the backward needs.
    pub probs: Tensor,
    /// One loss per row: `(N)`.
    pub losses: Tensor,
}

/// `(N, K)` of a rank-2 tensor with `K ≥ 1`, or an error naming `op`.
fn rows_and_classes(op: &'static str, scores: &Tensor) -> Result<(usize, usize)> {
    match *scores.shape() {
        [n, k] if k > 0 => Ok((n, k)),
        _ => Err(TensorError::Shape {
            op,
            expected: "scores of shape (N, K) with K ≥ 1".into(),
            found: format!("shape {:?}", scores.shape()),
        }),
    }
}

/// An error unless `t` holds `count` numbers.
fn expect_len(op: &'static str, what: &str, t: &Tensor, count: usize) -> Result<()> {
    if t.numel() == count {
        return Ok(());
    }
    Err(TensorError::Shape {
        op,
        expected: format!("{what} with {count} numbers"),
        found: format!("shape {:?}", t.shape()),
    })
}

/// The labels of a CPU tensor as class indices, each a whole number in `0..K`.
/// Checks that every label of `labels` (on the host) is a class index in `0..k`.
///
/// # Errors
/// [`TensorError::Invalid`] naming `op`, the first bad label and its row, or saying that
/// `labels` is on the GPU.
pub fn check_class_indices(op: &'static str, labels: &Tensor, k: usize) -> Result<()> {
    if labels.device() != crate::Device::Cpu {
        return Err(TensorError::Invalid {
            op,
            msg: "expected labels on the host (to be checked before their copy to the GPU), \
                  found them on the GPU"
                .into(),
        });
    }
    class_indices(op, labels, k).map(|_| ())
}

fn class_indices(op: &'static str, labels: &Tensor, k: usize) -> Result<Vec<usize>> {
    labels
        .as_slice()?
        .iter()
        .enumerate()
        .map(|(row, &label)| {
            if label.fract() == 0.0 && label >= 0.0 && label < k as f32 {
                Ok(label as usize)
            } else {
                Err(TensorError::Invalid {
                    op,
                    msg: format!(
                        "expected class indices in 0..{k} (K = {k} classes), \
                         found label {label} in row {row}"
                    ),
                })
            }
        })
        .collect()
}

/// The GPU buffers of `tensors` when all are on the GPU, `None` when all are on the CPU.
#[cfg(feature = "wgpu")]
fn gpu_buffers<'a>(op: &'static str, tensors: &[&'a Tensor]) -> Result<Option<Vec<&'a GpuBuffer>>> {
    crate::gpu::all_on_gpu(op, tensors)
}

/// A new GPU buffer of `len` numbers, for a kernel to overwrite.
#[cfg(feature = "wgpu")]
fn output(len: usize) -> Result<GpuBuffer> {
    Ok(GpuBuffer::uninit(len)?)
}

// ------------------------------------------------------------------ softmax rows

/// `softmax(x)` of every row of `x: (N, K)`, computed stably.
///
/// # Errors
/// [`TensorError::Shape`] if `x` is not `(N, K)` with `K ≥ 1`.
pub fn softmax_rows(x: &Tensor) -> Result<Tensor> {
    rows_op("softmax_rows", x, cpu::softmax_rows, false)
}

/// `log_softmax(x) = x − logsumexp(x)` of every row of `x: (N, K)`, computed stably.
///
/// # Errors
/// [`TensorError::Shape`] if `x` is not `(N, K)` with `K ≥ 1`.
pub fn log_softmax_rows(x: &Tensor) -> Result<Tensor> {
    rows_op("log_softmax_rows", x, cpu::log_softmax_rows, true)
}

fn rows_op(
    op: &'static str,
    x: &Tensor,
    on_cpu: fn(usize, usize, &[f32], &mut [f32]),
    log: bool,
) -> Result<Tensor> {
    let (n, k) = rows_and_classes(op, x)?;
    #[cfg(feature = "wgpu")]
    if let Some(xb) = x.gpu_buffer() {
        let out = output(n * k)?;
        if log {
            gpu::log_softmax_rows(n, k, xb, &out)?;
        } else {
            gpu::softmax_rows(n, k, xb, &out)?;
        }
        return Ok(Tensor::from_gpu(out, &[n, k]));
    }
    let _ = log;
    let mut out = Tensor::zeros(&[n, k]);
    on_cpu(n, k, x.as_slice()?, out.as_mut_slice()?);
    Ok(out)
}

// ------------------------------------------------------------------ sparse labels

/// Fused softmax + sparse cross-entropy from logits.
///
/// # Errors
/// [`TensorError::Shape`] if `logits` is not `(N, K)` or `labels` does not hold N numbers;
/// [`TensorError::Invalid`] for a label outside `0..K` (CPU); [`TensorError::Device`] for
/// mixed devices.
pub fn sparse_softmax_cross_entropy(
    logits: &Tensor,
    labels: &Tensor,
) -> Result<SoftmaxCrossEntropy> {
    const OP: &str = "sparse_softmax_cross_entropy";
    let (n, k) = rows_and_classes(OP, logits)?;
    expect_len(OP, "labels", labels, n)?;
    #[cfg(feature = "wgpu")]
    if let Some(b) = gpu_buffers(OP, &[logits, labels])? {
        let (probs, losses) = (output(n * k)?, output(n)?);
        gpu::softmax_cross_entropy_forward(n, k, b[0], b[1], &probs, &losses)?;
        return Ok(SoftmaxCrossEntropy {
            probs: Tensor::from_gpu(probs, &[n, k]),
            losses: Tensor::from_gpu(losses, &[n]),
        });
    }
    let labels = class_indices(OP, labels, k)?;
    // probs: (N, K), kept for the backward; losses: (N)
    let mut probs = Tensor::zeros(&[n, k]);
    let mut losses = Tensor::zeros(&[n]);
    cpu::softmax_cross_entropy_forward(
        n,
        k,
        logits.as_slice()?,
        &labels,
        probs.as_mut_slice()?,
        losses.as_mut_slice()?,
    );
    Ok(SoftmaxCrossEntropy { probs, losses })
}

/// Backward of [`sparse_softmax_cross_entropy`]: `dlogits = (probs − one_hot(labels)) · dlosses`
/// (row by row): `(N, K)`.
///
/// # Errors
/// As [`sparse_softmax_cross_entropy`], and if `dlosses` does not hold N numbers.
pub fn sparse_softmax_cross_entropy_backward(
    probs: &Tensor,
    labels: &Tensor,
    dlosses: &Tensor,
) -> Result<Tensor> {
    const OP: &str = "sparse_softmax_cross_entropy_backward";
    let (n, k) = rows_and_classes(OP, probs)?;
    expect_len(OP, "labels", labels, n)?;
    expect_len(OP, "dlosses", dlosses, n)?;
    #[cfg(feature = "wgpu")]
    if let Some(b) = gpu_buffers(OP, &[probs, labels, dlosses])? {
        let dlogits = output(n * k)?;
        gpu::softmax_cross_entropy_backward(n, k, b[0], b[1], b[2], &dlogits)?;
        return Ok(Tensor::from_gpu(dlogits, &[n, k]));
    }
    let labels = class_indices(OP, labels, k)?;
    // dlogits: (N, K), written by the kernel
    let mut dlogits = Tensor::zeros(&[n, k]);
    cpu::softmax_cross_entropy_backward(
        n,
        k,
        probs.as_slice()?,
        &labels,
        dlosses.as_slice()?,
        dlogits.as_mut_slice()?,
    );
    Ok(dlogits)
}

/// Sparse cross-entropy from probabilities: `losses[n] = log Σ_j c_nj − log c_n,y` with
/// `c = clip(p, ε, 1−ε)` (rows that do not sum to 1 are renormalised): `(N)`.
///
/// # Errors
/// As [`sparse_softmax_cross_entropy`].
pub fn sparse_cross_entropy_from_probs(probs: &Tensor, labels: &Tensor) -> Result<Tensor> {
    const OP: &str = "sparse_cross_entropy_from_probs";
    let (n, k) = rows_and_classes(OP, probs)?;
    expect_len(OP, "labels", labels, n)?;
    #[cfg(feature = "wgpu")]
    if let Some(b) = gpu_buffers(OP, &[probs, labels])? {
        let losses = output(n)?;
        gpu::sparse_cross_entropy_from_probs_forward(n, k, b[0], b[1], &losses)?;
        return Ok(Tensor::from_gpu(losses, &[n]));
    }
    let labels = class_indices(OP, labels, k)?;
    let mut losses = Tensor::zeros(&[n]);
    cpu_ce::sparse_from_probs_forward(k, probs.as_slice()?, &labels, losses.as_mut_slice()?);
    Ok(losses)
}

/// Backward of [`sparse_cross_entropy_from_probs`]:
/// `dp[n, j] = dloss_n · (1/Σc − [j = y_n]/c_y)`, and 0 where `p` was clipped: `(N, K)`.
///
/// # Errors
/// As [`sparse_softmax_cross_entropy_backward`].
pub fn sparse_cross_entropy_from_probs_backward(
    probs: &Tensor,
    labels: &Tensor,
    dlosses: &Tensor,
) -> Result<Tensor> {
    const OP: &str = "sparse_cross_entropy_from_probs_backward";
    let (n, k) = rows_and_classes(OP, probs)?;
    expect_len(OP, "labels", labels, n)?;
    expect_len(OP, "dlosses", dlosses, n)?;
    #[cfg(feature = "wgpu")]
    if let Some(b) = gpu_buffers(OP, &[probs, labels, dlosses])? {
        let dprobs = output(n * k)?;
        gpu::sparse_cross_entropy_from_probs_backward(n, k, b[0], b[1], b[2], &dprobs)?;
        return Ok(Tensor::from_gpu(dprobs, &[n, k]));
    }
    let labels = class_indices(OP, labels, k)?;
    let mut dprobs = Tensor::zeros(&[n, k]);
    cpu_ce::sparse_from_probs_backward(
        k,
        probs.as_slice()?,
        &labels,
        dlosses.as_slice()?,
        dprobs.as_mut_slice()?,
    );
    Ok(dprobs)
}

// ------------------------------------------------------------------ target rows

/// An error unless `targets` has the shape of `scores`.
fn expect_same_shape(op: &'static str, scores: &Tensor, targets: &Tensor) -> Result<()> {
    if targets.shape() == scores.shape() {
        return Ok(());
    }
    Err(TensorError::Shape {
        op,
        expected: format!("targets of the scores' shape {:?}", scores.shape()),
        found: format!("shape {:?}", targets.shape()),
    })
}

/// Fused softmax + cross-entropy against target rows `t` from logits:
/// `losses[n] = −Σ_j t_nj · log_softmax(z_n)_j`.
///
/// # Errors
/// [`TensorError::Shape`] if `logits` is not `(N, K)` or `targets` has another shape;
/// [`TensorError::Device`] for mixed devices.
pub fn dense_softmax_cross_entropy(
    logits: &Tensor,
    targets: &Tensor,
) -> Result<SoftmaxCrossEntropy> {
    const OP: &str = "dense_softmax_cross_entropy";
    let (n, k) = rows_and_classes(OP, logits)?;
    expect_same_shape(OP, logits, targets)?;
    #[cfg(feature = "wgpu")]
    if let Some(b) = gpu_buffers(OP, &[logits, targets])? {
        let (probs, losses) = (output(n * k)?, output(n)?);
        gpu::dense_cross_entropy_forward(n, k, b[0], b[1], &probs, &losses)?;
        return Ok(SoftmaxCrossEntropy {
            probs: Tensor::from_gpu(probs, &[n, k]),
            losses: Tensor::from_gpu(losses, &[n]),
        });
    }
    let (mut probs, mut losses) = (Tensor::zeros(&[n, k]), Tensor::zeros(&[n]));
    cpu_ce::dense_softmax_forward(
        k,
        logits.as_slice()?,
        targets.as_slice()?,
        probs.as_mut_slice()?,
        losses.as_mut_slice()?,
    );
    Ok(SoftmaxCrossEntropy { probs, losses })
}

/// Backward of [`dense_softmax_cross_entropy`]: `dz[n, j] = dloss_n · (p_nj · Σt_n − t_nj)`.
///
/// # Errors
/// As [`dense_softmax_cross_entropy`], and if `dlosses` does not hold N numbers.
pub fn dense_softmax_cross_entropy_backward(
    probs: &Tensor,
    targets: &Tensor,
    dlosses: &Tensor,
) -> Result<Tensor> {
    const OP: &str = "dense_softmax_cross_entropy_backward";
    let (n, k) = rows_and_classes(OP, probs)?;
    expect_same_shape(OP, probs, targets)?;
    expect_len(OP, "dlosses", dlosses, n)?;
    #[cfg(feature = "wgpu")]
    if let Some(b) = gpu_buffers(OP, &[probs, targets, dlosses])? {
        let dlogits = output(n * k)?;
        gpu::dense_cross_entropy_backward(n, k, b[0], b[1], b[2], &dlogits)?;
        return Ok(Tensor::from_gpu(dlogits, &[n, k]));
    }
    let mut dlogits = Tensor::zeros(&[n, k]);
    cpu_ce::dense_softmax_backward(
        k,
        probs.as_slice()?,
        targets.as_slice()?,
        dlosses.as_slice()?,
        dlogits.as_mut_slice()?,
    );
    Ok(dlogits)
}

/// Cross-entropy against target rows from probabilities (Keras: renormalise, then clip):
/// `q = p/Σp`, `losses[n] = −Σ_j t_nj · log clip(q_nj)`.
///
/// # Errors
/// As [`dense_softmax_cross_entropy`].
pub fn dense_cross_entropy_from_probs(probs: &Tensor, targets: &Tensor) -> Result<Tensor> {
    const OP: &str = "dense_cross_entropy_from_probs";
    let (n, k) = rows_and_classes(OP, probs)?;
    expect_same_shape(OP, probs, targets)?;
    #[cfg(feature = "wgpu")]
    if let Some(b) = gpu_buffers(OP, &[probs, targets])? {
        let losses = output(n)?;
        gpu::dense_cross_entropy_from_probs_forward(n, k, b[0], b[1], &losses)?;
        return Ok(Tensor::from_gpu(losses, &[n]));
    }
    let mut losses = Tensor::zeros(&[n]);
    cpu_ce::dense_from_probs_forward(
        k,
        probs.as_slice()?,
        targets.as_slice()?,
        losses.as_mut_slice()?,
    );
    Ok(losses)
}

/// Backward of [`dense_cross_entropy_from_probs`]: `dp[n, k] = dloss_n · (g_k − Σ_j g_j q_j)/s`
/// with `g_j = −t_j/q_j` (0 where `q = p/s` was clipped).
///
/// # Errors
/// As [`dense_softmax_cross_entropy_backward`].
pub fn dense_cross_entropy_from_probs_backward(
    probs: &Tensor,
    targets: &Tensor,
    dlosses: &Tensor,
) -> Result<Tensor> {
    const OP: &str = "dense_cross_entropy_from_probs_backward";
    let (n, k) = rows_and_classes(OP, probs)?;
    expect_same_shape(OP, probs, targets)?;
    expect_len(OP, "dlosses", dlosses, n)?;
    #[cfg(feature = "wgpu")]
    if let Some(b) = gpu_buffers(OP, &[probs, targets, dlosses])? {
        let dprobs = output(n * k)?;
        gpu::dense_cross_entropy_from_probs_backward(n, k, b[0], b[1], b[2], &dprobs)?;
        return Ok(Tensor::from_gpu(dprobs, &[n, k]));
    }
    let mut dprobs = Tensor::zeros(&[n, k]);
    cpu_ce::dense_from_probs_backward(
        k,
        probs.as_slice()?,
        targets.as_slice()?,
        dlosses.as_slice()?,
        dprobs.as_mut_slice()?,
    );
    Ok(dprobs)
}

// ------------------------------------------------------------------ binary

/// `(rows, d)` of binary scores `(…, d)` with `d ≥ 1`, after checking the targets' shape.
fn binary_geometry(op: &'static str, scores: &Tensor, targets: &Tensor) -> Result<(usize, usize)> {
    expect_same_shape(op, scores, targets)?;
    match scores.shape().last() {
        Some(&d) if d > 0 => Ok((scores.numel() / d, d)),
        _ => Err(TensorError::Shape {
            op,
            expected: "scores with a non-empty last axis, e.g. (N, d)".into(),
            found: format!("shape {:?}", scores.shape()),
        }),
    }
}

/// Binary cross-entropy per sample, the mean over the last axis: `scores` are logits when
/// `from_logits` (`ℓ = max(z, 0) − z·t + log(1 + exp(−|z|))`), else probabilities
/// (`ℓ = −[t·log(c + ε) + (1−t)·log(1 − c + ε)]`, `c = clip(p)`, TF 2.10).
///
/// # Shapes
/// `scores`, `targets`: `(…, d)`; out: `(…)`.
///
/// # Errors
/// [`TensorError::Shape`] if the shapes differ or the last axis is empty;
/// [`TensorError::Device`] for mixed devices.
pub fn binary_cross_entropy(
    scores: &Tensor,
    targets: &Tensor,
    from_logits: bool,
) -> Result<Tensor> {
    const OP: &str = "binary_crossentropy";
    let (rows, d) = binary_geometry(OP, scores, targets)?;
    let out_shape = &scores.shape()[..scores.rank() - 1];
    debug_assert_eq!(scores.numel(), rows * d);
    #[cfg(feature = "wgpu")]
    if let Some(b) = gpu_buffers(OP, &[scores, targets])? {
        let losses = output(rows)?;
        gpu::binary_cross_entropy_forward(rows, d, b[0], b[1], &losses, from_logits)?;
        return Ok(Tensor::from_gpu(losses, out_shape));
    }
    let mut losses = Tensor::zeros(out_shape);
    cpu_ce::binary_forward(
        d,
        scores.as_slice()?,
        targets.as_slice()?,
        from_logits,
        losses.as_mut_slice()?,
    );
    Ok(losses)
}

/// [`binary_cross_entropy`] from logits, with the probabilities: `(losses, σ(logits))`, the
/// probabilities the sigmoid op gives (on the GPU, one kernel writes both), so that a model
/// whose output is a sigmoid gets its output from the loss rather than computing it again.
///
/// # Shapes
/// `logits`, `targets`: `(…, d)`; out: `(…)` and `(…, d)`.
///
/// # Errors
/// As [`binary_cross_entropy`].
pub fn binary_cross_entropy_from_logits_with_probs(
    logits: &Tensor,
    targets: &Tensor,
) -> Result<(Tensor, Tensor)> {
    const OP: &str = "binary_crossentropy";
    let (rows, d) = binary_geometry(OP, logits, targets)?;
    #[cfg(feature = "wgpu")]
    if let Some(b) = gpu_buffers(OP, &[logits, targets])? {
        let (probs, losses) = (output(rows * d)?, output(rows)?);
        gpu::binary_cross_entropy_forward_with_probs(rows, d, b[0], b[1], &probs, &losses)?;
        let out_shape = &logits.shape()[..logits.rank() - 1];
        return Ok((
            Tensor::from_gpu(losses, out_shape),
            Tensor::from_gpu(probs, logits.shape()),
        ));
    }
    let _ = (rows, d);
    let losses = binary_cross_entropy(logits, targets, true)?;
    Ok((losses, logits.unary(crate::UnaryOp::Sigmoid)))
}

/// Backward of [`binary_cross_entropy`]: `ds = ∂ℓ/∂s · dloss/d`, with `∂ℓ/∂z = σ(z) − t` from
/// logits and `∂ℓ/∂p = −t/(p + ε) + (1−t)/(1 − p + ε)` (0 where clipped) from probabilities.
///
/// # Errors
/// As [`binary_cross_entropy`], and if `dlosses` does not hold one number per sample.
pub fn binary_cross_entropy_backward(
    scores: &Tensor,
    targets: &Tensor,
    dlosses: &Tensor,
    from_logits: bool,
) -> Result<Tensor> {
    const OP: &str = "binary_crossentropy_backward";
    let (rows, d) = binary_geometry(OP, scores, targets)?;
    expect_len(OP, "dlosses", dlosses, rows)?;
    #[cfg(feature = "wgpu")]
    if let Some(b) = gpu_buffers(OP, &[scores, targets, dlosses])? {
        let dscores = output(rows * d)?;
        gpu::binary_cross_entropy_backward(rows, d, b[0], b[1], b[2], &dscores, from_logits)?;
        return Ok(Tensor::from_gpu(dscores, scores.shape()));
    }
    let mut dscores = Tensor::zeros(scores.shape());
    cpu_ce::binary_backward(
        d,
        scores.as_slice()?,
        targets.as_slice()?,
        dlosses.as_slice()?,
        from_logits,
        dscores.as_mut_slice()?,
    );
    Ok(dscores)
}

#[cfg(all(test, feature = "wgpu"))]
mod tests {
    use super::*;
    use crate::random::Rng;
    use crate::Device;

    fn gpu() -> Option<Device> {
        crate::gpu::gpu_or_skip()
    }

    fn close(what: &str, gpu: &Tensor, cpu: &Tensor) {
        assert_eq!(gpu.device(), Device::Gpu, "{what}: left the GPU");
        assert_eq!(gpu.shape(), cpu.shape(), "{what}: shape");
        assert!(gpu.all_close(cpu, 1e-5, 1e-5), "{what}: {gpu} vs {cpu}");
    }

    /// Every loss and gradient gives the CPU's numbers on the GPU (N = 33, K = 5).
    #[test]
    fn every_loss_matches_on_both_devices() {
        let Some(dev) = gpu() else { return };
        let mut rng = Rng::new(1);
        let (n, k) = (33, 5);
        let z = Tensor::rand_uniform_with(&mut rng, &[n, k], -4.0, 4.0);
        let p = Tensor::rand_uniform_with(&mut rng, &[n, k], 0.01, 0.99);
        let t = Tensor::rand_uniform_with(&mut rng, &[n, k], 0.0, 1.0);
        let labels = Tensor::from_vec((0..n).map(|i| (i % k) as f32).collect(), &[n]).unwrap();
        let dl = Tensor::rand_uniform_with(&mut rng, &[n], -1.0, 1.0);
        let g = |x: &Tensor| x.to(dev).unwrap();

        let (c, d) = (
            sparse_softmax_cross_entropy(&z, &labels).unwrap(),
            sparse_softmax_cross_entropy(&g(&z), &g(&labels)).unwrap(),
        );
        close("sparse probs", &d.probs, &c.probs);
        close("sparse losses", &d.losses, &c.losses);
        let back = sparse_softmax_cross_entropy_backward(&d.probs, &g(&labels), &g(&dl)).unwrap();
        close(
            "sparse dlogits",
            &back,
            &sparse_softmax_cross_entropy_backward(&c.probs, &labels, &dl).unwrap(),
        );

        let (c, d) = (
            dense_softmax_cross_entropy(&z, &t).unwrap(),
            dense_softmax_cross_entropy(&g(&z), &g(&t)).unwrap(),
        );
        close("dense losses", &d.losses, &c.losses);
        let back = dense_softmax_cross_entropy_backward(&d.probs, &g(&t), &g(&dl)).unwrap();
        close(
            "dense dlogits",
            &back,
            &dense_softmax_cross_entropy_backward(&c.probs, &t, &dl).unwrap(),
        );

        close(
            "sparse from probs",
            &sparse_cross_entropy_from_probs(&g(&p), &g(&labels)).unwrap(),
            &sparse_cross_entropy_from_probs(&p, &labels).unwrap(),
        );
        close(
            "sparse from probs backward",
            &sparse_cross_entropy_from_probs_backward(&g(&p), &g(&labels), &g(&dl)).unwrap(),
            &sparse_cross_entropy_from_probs_backward(&p, &labels, &dl).unwrap(),
        );
        close(
            "dense from probs",
            &dense_cross_entropy_from_probs(&g(&p), &g(&t)).unwrap(),
            &dense_cross_entropy_from_probs(&p, &t).unwrap(),
        );
        close(
            "dense from probs backward",
            &dense_cross_entropy_from_probs_backward(&g(&p), &g(&t), &g(&dl)).unwrap(),
            &dense_cross_entropy_from_probs_backward(&p, &t, &dl).unwrap(),
        );
        for (from_logits, s) in [(true, &z), (false, &p)] {
            close(
                "binary",
                &binary_cross_entropy(&g(s), &g(&t), from_logits).unwrap(),
                &binary_cross_entropy(s, &t, from_logits).unwrap(),
            );
            close(
                "binary backward",
                &binary_cross_entropy_backward(&g(s), &g(&t), &g(&dl), from_logits).unwrap(),
                &binary_cross_entropy_backward(s, &t, &dl, from_logits).unwrap(),
            );
        }
        close(
            "softmax",
            &softmax_rows(&g(&z)).unwrap(),
            &softmax_rows(&z).unwrap(),
        );
        close(
            "log_softmax",
            &log_softmax_rows(&g(&z)).unwrap(),
            &log_softmax_rows(&z).unwrap(),
        );
        // Mixed devices are an error naming the op.
        let err = sparse_softmax_cross_entropy(&g(&z), &labels)
            .unwrap_err()
            .to_string();
        assert!(err.contains("sparse_softmax_cross_entropy"), "{err}");
    }
}
