//! Accuracy on the GPU: the number of right predictions of a batch, for Keras's three
//! `'accuracy'` functions, as one f32 (`shaders/accuracy.wgsl`), so that `fit` reads back one
//! number per batch instead of the predictions.
//!
//! # Math
//! ```text
//! sparse categorical:  Σ_n [argmax ŷ_n = y_n]
//! categorical:         Σ_n [argmax ŷ_n = argmax y_n]
//! binary:              Σ_n (1/d) Σ_j [(ŷ_nj > 0.5) = y_nj]
//! ```
//!
//! `argmax` takes the first of equal maxima, as `tf.argmax`. Divide by N for the batch's mean.
//!
//! A training step's loss and accuracy go into the epoch's running sums together, in one
//! kernel ([`add_loss_and_accuracy`]): `Σ right += right`, `Σ n·loss += n·loss`.
//!
//! # Shapes
//! `y_pred: (N, K)`; `y_true: (N)` labels (sparse) or `(N, K)`; `out`, `loss`, `loss_sum`: `(1)`.
use super::{dispatch, Access, GpuBuffer, Kernel};
pub use crate::metrics::AccuracyKind;
use crate::KernelError;

const ACCURACY: Kernel = Kernel {
    name: "metrics.accuracy",
    source: include_str!("shaders/accuracy.wgsl"),
    entry: "accuracy_count",
    buffers: &[Access::Read, Access::Read, Access::ReadWrite],
};

const LOSS_AND_ACCURACY: Kernel = Kernel {
    name: "metrics.loss_and_accuracy",
    source: include_str!("shaders/accuracy.wgsl"),
    entry: "add_loss_and_accuracy",
    buffers: &[
        Access::Read,
        Access::Read,
        Access::ReadWrite,
        Access::Read,
        Access::ReadWrite,
    ],
};

fn kind_code(kind: AccuracyKind) -> u32 {
    match kind {
        AccuracyKind::SparseCategorical => 0,
        AccuracyKind::Categorical => 1,
        AccuracyKind::Binary => 2,
    }
}

/// Writes into `out[0]` the number of right predictions among the `rows` rows of `classes`
/// scores (for [`AccuracyKind::Binary`], the sum over rows of the fraction right in the row).
pub fn accuracy_count(
    kind: AccuracyKind,
    rows: usize,
    classes: usize,
    y_pred: &GpuBuffer,
    y_true: &GpuBuffer,
    out: &GpuBuffer,
) -> Result<(), KernelError> {
    let params = [rows as u32, classes as u32, kind_code(kind), 0, 0];
    dispatch(&ACCURACY, &params, &[y_pred, y_true, out], [1, 1, 1])
}

/// One training batch into an epoch's running sums, in one kernel: `accuracy_sum += ` the
/// batch's count (as [`accuracy_count`]) and `loss_sum += samples·loss[0]`; with `first`, the
/// sums are written instead (the epoch's first batch, no zeroing needed).
#[allow(clippy::too_many_arguments)]
pub fn add_loss_and_accuracy(
    kind: AccuracyKind,
    rows: usize,
    classes: usize,
    y_pred: &GpuBuffer,
    y_true: &GpuBuffer,
    (loss, samples): (&GpuBuffer, usize),
    (accuracy_sum, loss_sum): (&GpuBuffer, &GpuBuffer),
    first: bool,
) -> Result<(), KernelError> {
    let params = [
        rows as u32,
        classes as u32,
        kind_code(kind),
        u32::from(first),
        samples as u32,
    ];
    let buffers = [y_pred, y_true, accuracy_sum, loss, loss_sum];
    dispatch(&LOSS_AND_ACCURACY, &params, &buffers, [1, 1, 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::accuracy as cpu;
    use crate::wgpu::testing::{gpu_available, numbers};

    fn count(kind: AccuracyKind, n: usize, k: usize, pred: &[f32], truth: &[f32]) -> f32 {
        let (pb, tb) = (
            GpuBuffer::upload(pred).unwrap(),
            GpuBuffer::upload(truth).unwrap(),
        );
        let out = GpuBuffer::uninit(1).unwrap();
        accuracy_count(kind, n, k, &pb, &tb, &out).unwrap();
        out.download().unwrap()[0]
    }

    /// Three batches into the running sums: the counts of `accuracy_count` added up, and the
    /// losses times their samples added up in f32 in the same order; the first batch writes
    /// over whatever the sums held.
    #[test]
    fn loss_and_accuracy_add_up_over_batches_in_one_kernel() {
        if !gpu_available() {
            return;
        }
        let (accuracy_sum, loss_sum) = (
            GpuBuffer::upload(&[f32::NAN]).unwrap(),
            GpuBuffer::upload(&[f32::NAN]).unwrap(),
        );
        let (mut expected_right, mut expected_loss) = (0.0f32, 0.0f32);
        for (batch, (n, k)) in [(32usize, 10usize), (32, 10), (7, 10)]
            .into_iter()
            .enumerate()
        {
            let pred = numbers(n * k, 10 + batch as u32);
            let labels: Vec<f32> = (0..n).map(|i| ((i * 3 + batch) % k) as f32).collect();
            let mean_loss = 0.37 * (batch + 1) as f32;
            let (pb, tb, lb) = (
                GpuBuffer::upload(&pred).unwrap(),
                GpuBuffer::upload(&labels).unwrap(),
                GpuBuffer::upload(&[mean_loss]).unwrap(),
            );
            add_loss_and_accuracy(
                AccuracyKind::SparseCategorical,
                n,
                k,
                &pb,
                &tb,
                (&lb, n),
                (&accuracy_sum, &loss_sum),
                batch == 0,
            )
            .unwrap();
            expected_right += count(AccuracyKind::SparseCategorical, n, k, &pred, &labels);
            expected_loss = if batch == 0 {
                mean_loss * n as f32
            } else {
                expected_loss + mean_loss * n as f32
            };
        }
        assert_eq!(accuracy_sum.download().unwrap(), vec![expected_right]);
        let loss = loss_sum.download().unwrap()[0];
        assert!(
            (loss - expected_loss).abs() <= 1e-6 * expected_loss,
            "{loss} vs {expected_loss}"
        );
    }

    #[test]
    fn the_three_accuracies_match_the_cpu_kernel() {
        if !gpu_available() {
            return;
        }
        for (n, k) in [(1usize, 3usize), (37, 10), (1000, 7)] {
            // Scores on a coarse grid so that ties (first argmax) happen.
            let pred: Vec<f32> = numbers(n * k, 1)
                .iter()
                .map(|v| (v * 3.0).round())
                .collect();
            let labels: Vec<f32> = (0..n).map(|i| ((i * 5) % k) as f32).collect();
            let one_hot: Vec<f32> = numbers(n * k, 2)
                .iter()
                .map(|v| (v * 2.0).round())
                .collect();
            for (kind, truth) in [
                (AccuracyKind::SparseCategorical, &labels),
                (AccuracyKind::Categorical, &one_hot),
            ] {
                let expected = cpu::accuracy_count(kind, k, &pred, truth) as f32;
                let got = count(kind, n, k, &pred, truth);
                assert_eq!(got, expected, "{kind:?} ({n}, {k})");
            }
        }
        // Binary: d = 1 (exact count) and d = 3 (means of thirds).
        for (n, d) in [(300usize, 1usize), (41, 3)] {
            let probs: Vec<f32> = numbers(n * d, 3).iter().map(|v| (v + 1.0) / 2.0).collect();
            let mut truth: Vec<f32> = numbers(n * d, 4)
                .iter()
                .map(|v| (*v > 0.0) as u8 as f32)
                .collect();
            truth[0] = 0.5; // never right: a prediction is 0 or 1
            let expected = cpu::accuracy_count(AccuracyKind::Binary, d, &probs, &truth);
            let got = count(AccuracyKind::Binary, n, d, &probs, &truth);
            assert!(
                (got as f64 - expected).abs() < 1e-4,
                "binary ({n}, {d}): {got} vs {expected}"
            );
        }
    }
}
