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
    let (rows, classes) = check_targets(OP, kind, y_pred, y_true)?;
    #[cfg(not(feature = "wgpu"))]
    let _ = rows;
    #[cfg(feature = "wgpu")]
    if let Some(b) = crate::gpu::all_on_gpu(OP, &[y_pred, y_true])? {
        let out = GpuBuffer::uninit(1)?;
        gpu::accuracy_count(kind, rows, classes, b[0], b[1], &out)?;
        return Ok(Tensor::from_gpu(out, &[1]));
    }
    let right = cpu::accuracy_count(kind, classes, y_pred.as_slice()?, y_true.as_slice()?);
    Tensor::from_vec(vec![right as f32], &[1])
}

/// An epoch's running sums of a training batch's accuracy count and loss: returns
/// `(accuracy_sum + right, loss_sum + samples·loss)` for the `sums` so far (`None` for the
/// epoch's first batch: `(right, samples·loss)`), with `right` as [`accuracy_count`] counts
/// it and `loss` the batch's mean loss, a one-element tensor. On the GPU it is one kernel that
/// adds in place: the loss and the metric of a step together, where the count, the product and
/// the two sums would be four.
///
/// # Errors
/// As [`accuracy_count`]; [`TensorError::Shape`] if `loss` or a sum is not one number.
pub fn add_loss_and_accuracy(
    kind: AccuracyKind,
    y_pred: &Tensor,
    y_true: &Tensor,
    (loss, samples): (&Tensor, usize),
    sums: Option<(Tensor, Tensor)>,
) -> Result<(Tensor, Tensor)> {
    const OP: &str = "add_loss_and_accuracy";
    let (rows, classes) = check_targets(OP, kind, y_pred, y_true)?;
    #[cfg(not(feature = "wgpu"))]
    let _ = (rows, classes);
    let one_number = [
        Some(loss),
        sums.as_ref().map(|s| &s.0),
        sums.as_ref().map(|s| &s.1),
    ];
    if let Some(t) = one_number.into_iter().flatten().find(|t| t.numel() != 1) {
        return Err(TensorError::Shape {
            op: OP,
            expected: "a loss and sums of one number each".into(),
            found: format!("shape {:?}", t.shape()),
        });
    }
    #[cfg(feature = "wgpu")]
    if let Some(b) = crate::gpu::all_on_gpu(OP, &[y_pred, y_true, loss])? {
        let first = sums.is_none();
        let (mut accuracy_sum, mut loss_sum) = match sums {
            Some(sums) => sums,
            None => (crate::gpu::uninit(&[1])?, crate::gpu::uninit(&[1])?),
        };
        gpu::add_loss_and_accuracy(
            kind,
            rows,
            classes,
            b[0],
            b[1],
            (b[2], samples),
            (accuracy_sum.gpu_buffer_mut()?, loss_sum.gpu_buffer_mut()?),
            first,
        )?;
        return Ok((accuracy_sum, loss_sum));
    }
    let right = accuracy_count(kind, y_pred, y_true)?;
    let loss_times_n = loss.reshape(&[1])?.mul_scalar(samples as f32);
    Ok(match sums {
        None => (right, loss_times_n),
        Some((accuracy_sum, loss_sum)) => (accuracy_sum.add(&right)?, loss_sum.add(&loss_times_n)?),
    })
}

/// `(rows, classes)` of `y_pred`, after checking that `y_true` holds one label per row
/// (sparse) or as many values as `y_pred`.
fn check_targets(
    op: &'static str,
    kind: AccuracyKind,
    y_pred: &Tensor,
    y_true: &Tensor,
) -> Result<(usize, usize)> {
    let classes = y_pred.shape().last().copied().unwrap_or(1).max(1);
    let rows = y_pred.numel() / classes;
    let expected = match kind {
        AccuracyKind::SparseCategorical => rows,
        _ => y_pred.numel(),
    };
    if y_true.numel() != expected {
        return Err(TensorError::Shape {
            op,
            expected: format!(
                "y_true with {expected} values for y_pred of shape {:?}",
                y_pred.shape()
            ),
            found: format!("shape {:?}", y_true.shape()),
        });
    }
    Ok((rows, classes))
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

    /// The running sums of three batches are the same on both devices (the GPU's in one kernel
    /// a batch, in place), and a loss of more than one number is an error.
    #[test]
    fn loss_and_accuracy_sums_agree_on_both_devices() {
        let Some(gpu) = crate::gpu::gpu_or_skip() else {
            return;
        };
        let mut rng = crate::random::Rng::new(5);
        let (mut on_cpu, mut on_gpu) = (None, None);
        for batch in 0..3 {
            let n = 20 + batch;
            let y_pred = Tensor::rand_uniform_with(&mut rng, &[n, 4], 0.0, 1.0);
            let labels = Tensor::from_vec((0..n).map(|i| (i % 4) as f32).collect(), &[n]).unwrap();
            let loss = Tensor::from_vec(vec![0.25 * (batch + 1) as f32], &[]).unwrap();
            let kind = AccuracyKind::SparseCategorical;
            on_cpu =
                Some(add_loss_and_accuracy(kind, &y_pred, &labels, (&loss, n), on_cpu).unwrap());
            let (p, l, s) = (
                y_pred.to(gpu).unwrap(),
                labels.to(gpu).unwrap(),
                loss.to(gpu).unwrap(),
            );
            on_gpu = Some(add_loss_and_accuracy(kind, &p, &l, (&s, n), on_gpu).unwrap());
        }
        let ((cpu_right, cpu_loss), (gpu_right, gpu_loss)) = (on_cpu.unwrap(), on_gpu.unwrap());
        assert_eq!(gpu_right.device(), Device::Gpu);
        assert_eq!(gpu_right.item().unwrap(), cpu_right.item().unwrap());
        let (a, b) = (gpu_loss.item().unwrap(), cpu_loss.item().unwrap());
        assert!((a - b).abs() <= 1e-5 * b, "{a} vs {b}");
        let wide = Tensor::zeros(&[2]);
        let (y, t) = (Tensor::zeros(&[2, 3]), Tensor::zeros(&[2]));
        let err = add_loss_and_accuracy(AccuracyKind::SparseCategorical, &y, &t, (&wide, 2), None)
            .unwrap_err();
        assert!(err.to_string().contains("one number each"), "{err}");
    }
}
