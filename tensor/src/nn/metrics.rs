//! Accuracy counted on the device of the predictions: the number of right predictions of a
//! batch as a one-element tensor, so that on the GPU `fit` reads back one number per batch
//! rather than the predictions.
//!
//! The loops are `kernels/src/cpu/accuracy.rs` (with the math) and `kernels/src/wgpu/metrics.rs`.
//!
//! # Shapes
//! `y_pred: (…, K)`; `y_true: (…)` or `(…, 1)` integer labels (sparse), else `(…, K)`; out: `(1)`.
use astrograd_kernels::cpu::accuracy as cpu;
pub use astrograd_kernels::cpu::accuracy::first_argmax;
pub use astrograd_kernels::metrics::AccuracyKind;
#[cfg(feature = "wgpu")]
use astrograd_kernels::wgpu::{metrics as gpu, GpuBuffer};

use crate::{Result, Tensor, TensorError};

/// The number of right predictions in the batch (for [`AccuracyKind::Binary`], the sum over
/// samples of the fraction right in each): a `(1)` tensor on the device of the inputs.
///
/// ```
/// use astrograd_tensor::nn::metrics::{accuracy_count, AccuracyKind};
/// use astrograd_tensor::Tensor;
/// let y_pred = Tensor::from_vec(vec![0.1, 0.9, 0.8, 0.2, 0.5, 0.5], &[3, 2])?;
/// let labels = Tensor::from_vec(vec![1.0, 1.0, 0.0], &[3])?; // right, wrong, right (tie → 0)
/// let right = accuracy_count(AccuracyKind::SparseCategorical, &y_pred, &labels)?;
/// assert_eq!(right.item()?, 2.0);
/// # Ok::<(), astrograd_tensor::TensorError>(())
/// ```
///
/// # Errors
/// [`TensorError::Shape`] when `y_true` does not hold one label per row (sparse) or as many
/// values as `y_pred`; [`TensorError::Device`] for mixed devices.
pub fn accuracy_count(kind: AccuracyKind, y_pred: &Tensor, y_true: &Tensor) -> Result<Tensor> {
    const OP: &str = "accuracy_count";
    let classes = y_pred.shape().last().copied().unwrap_or(1).max(1);
    let rows = y_pred.numel() / classes;
    let expected = match kind {
        AccuracyKind::SparseCategorical => rows,
        _ => y_pred.numel(),
    };
    if y_true.numel() != expected {
        return Err(TensorError::Shape {
            op: OP,
            expected: format!(
                "y_true with {expected} values for y_pred of shape {:?}",
                y_pred.shape()
            ),
            found: format!("shape {:?}", y_true.shape()),
        });
    }
    #[cfg(feature = "wgpu")]
    if let Some(b) = crate::gpu::all_on_gpu(OP, &[y_pred, y_true])? {
        let out = GpuBuffer::uninit(1)?;
        gpu::accuracy_count(kind, rows, classes, b[0], b[1], &out)?;
        return Ok(Tensor::from_gpu(out, &[1]));
    }
    let right = cpu::accuracy_count(kind, classes, y_pred.as_slice()?, y_true.as_slice()?);
    Tensor::from_vec(vec![right as f32], &[1])
}

#[cfg(all(test, feature = "wgpu"))]
mod tests {
    use super::*;
    use crate::Device;

    #[test]
    fn the_gpu_count_is_the_cpu_count() {
        let Some(gpu) = crate::gpu::gpu_or_skip() else {
            return;
        };
        let mut rng = crate::random::Rng::new(3);
        let (n, k) = (301, 7);
        let y_pred = Tensor::rand_uniform_with(&mut rng, &[n, k], 0.0, 1.0);
        let labels = Tensor::from_vec((0..n).map(|i| (i % k) as f32).collect(), &[n]).unwrap();
        let one_hot = Tensor::rand_uniform_with(&mut rng, &[n, k], 0.0, 1.0);
        let binary_targets =
            Tensor::from_vec((0..n * k).map(|i| (i % 2) as f32).collect(), &[n, k]).unwrap();
        for (kind, y_true) in [
            (AccuracyKind::SparseCategorical, &labels),
            (AccuracyKind::Categorical, &one_hot),
            (AccuracyKind::Binary, &binary_targets),
        ] {
            let cpu = accuracy_count(kind, &y_pred, y_true)
                .unwrap()
                .item()
                .unwrap();
            let on_gpu =
                accuracy_count(kind, &y_pred.to(gpu).unwrap(), &y_true.to(gpu).unwrap()).unwrap();
            assert_eq!(on_gpu.device(), Device::Gpu);
            let got = on_gpu.item().unwrap();
            assert!((got - cpu).abs() <= 1e-3, "{kind:?}: {got} vs {cpu}");
        }
    }
}
