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
//! # Shapes
//! `y_pred: (N, K)`; `y_true: (N)` labels (sparse) or `(N, K)`; `out: (1)`.
use super::{dispatch, Access, GpuBuffer, Kernel};
pub use crate::metrics::AccuracyKind;
use crate::KernelError;

const ACCURACY: Kernel = Kernel {
    name: "metrics.accuracy",
    source: include_str!("shaders/accuracy.wgsl"),
    entry: "accuracy_count",
    buffers: &[Access::Read, Access::Read, Access::ReadWrite],
};

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
    let code = match kind {
        AccuracyKind::SparseCategorical => 0,
        AccuracyKind::Categorical => 1,
        AccuracyKind::Binary => 2,
    };
    let params = [rows as u32, classes as u32, code];
    dispatch(&ACCURACY, &params, &[y_pred, y_true, out], [1, 1, 1])
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
