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
use crate::KernelError;

const ACCURACY: Kernel = Kernel {
    name: "metrics.accuracy",
    source: include_str!("shaders/accuracy.wgsl"),
    entry: "accuracy_count",
    buffers: &[Access::Read, Access::Read, Access::ReadWrite],
};

/// Which of Keras's accuracies to count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccuracyKind {
    /// `argmax ŷ == y` for integer labels `(N)`.
    SparseCategorical,
    /// `argmax ŷ == argmax y` for one-hot rows `(N, K)`.
    Categorical,
    /// `(ŷ > 0.5) == y` per element, averaged over the last axis.
    Binary,
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
    use crate::wgpu::testing::{gpu_available, numbers};

    /// Index of the largest value, the first one on ties (the CPU metric's `first_argmax`).
    fn first_argmax(row: &[f32]) -> usize {
        let mut best = 0;
        for (j, &v) in row.iter().enumerate() {
            if v > row[best] {
                best = j;
            }
        }
        best
    }

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
    fn the_three_accuracies_match_the_cpu_metric() {
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
            let expected = pred
                .chunks_exact(k)
                .zip(&labels)
                .filter(|(row, &y)| first_argmax(row) as f32 == y)
                .count() as f32;
            let got = count(AccuracyKind::SparseCategorical, n, k, &pred, &labels);
            assert_eq!(got, expected, "sparse ({n}, {k})");

            let one_hot: Vec<f32> = numbers(n * k, 2)
                .iter()
                .map(|v| (v * 2.0).round())
                .collect();
            let expected = pred
                .chunks_exact(k)
                .zip(one_hot.chunks_exact(k))
                .filter(|(row, t)| first_argmax(row) == first_argmax(t))
                .count() as f32;
            let got = count(AccuracyKind::Categorical, n, k, &pred, &one_hot);
            assert_eq!(got, expected, "categorical ({n}, {k})");
        }
        // Binary: d = 1 (exact count) and d = 3 (means of thirds).
        for (n, d) in [(300usize, 1usize), (41, 3)] {
            let probs: Vec<f32> = numbers(n * d, 3).iter().map(|v| (v + 1.0) / 2.0).collect();
            let mut truth: Vec<f32> = numbers(n * d, 4)
                .iter()
                .map(|v| (*v > 0.0) as u8 as f32)
                .collect();
            truth[0] = 0.5; // never right: a prediction is 0 or 1
            let expected: f64 = probs
                .chunks_exact(d)
                .zip(truth.chunks_exact(d))
                .map(|(p, t)| {
                    let right = p
                        .iter()
                        .zip(t)
                        .filter(|(&p, &t)| ((p > 0.5) as u8 as f32) == t);
                    right.count() as f64 / d as f64
                })
                .sum();
            let got = count(AccuracyKind::Binary, n, d, &probs, &truth);
            assert!(
                (got as f64 - expected).abs() < 1e-4,
                "binary ({n}, {d}): {got} vs {expected}"
            );
        }
    }

    #[test]
    fn exactly_half_is_not_above_one_half() {
        if !gpu_available() {
            return;
        }
        let got = count(
            AccuracyKind::Binary,
            3,
            1,
            &[0.5, 0.51, 0.49],
            &[1.0, 1.0, 0.0],
        );
        assert_eq!(got, 2.0);
    }
}
