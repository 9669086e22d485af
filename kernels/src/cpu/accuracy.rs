//! Accuracy on the CPU: the number of right predictions of a batch, for Keras's three
//! `'accuracy'` functions. Its GPU twin is `wgpu/metrics.rs`.
//!
//! # Math
//! ```text
//! sparse categorical:  Σ_n [argmax ŷ_n = y_n]
//! categorical:         Σ_n [argmax ŷ_n = argmax y_n]
//! binary:              Σ_n (1/d) Σ_j [(ŷ_nj > 0.5) = y_nj]      (strictly above ½, even for logits)
//! ```
//!
//! `argmax` takes the first of equal maxima, as `tf.argmax`. Divide by N for the batch's mean.
//!
//! # Shapes
//! `y_pred: (N·K)`, rows of K scores (K = d for binary); `y_true: (N)` labels (sparse) or
//! `(N·K)`.
use crate::metrics::AccuracyKind;

/// Index of the largest value, the first one on ties (as `tf.argmax`).
///
/// ```
/// use astrograd_kernels::cpu::accuracy::first_argmax;
/// assert_eq!(first_argmax(&[0.2, 0.7, 0.7]), 1);
/// ```
pub fn first_argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best
}

/// The number of right predictions among the rows of `classes` scores of `y_pred` (for
/// [`AccuracyKind::Binary`], the sum over rows of the fraction right in each row).
///
/// ```
/// use astrograd_kernels::cpu::accuracy::accuracy_count;
/// use astrograd_kernels::metrics::AccuracyKind;
/// let y_pred = [0.1, 0.9, 0.8, 0.2, 0.5, 0.5];
/// let labels = [1.0, 1.0, 0.0]; // right, wrong, right (a tie goes to class 0)
/// assert_eq!(accuracy_count(AccuracyKind::SparseCategorical, 2, &y_pred, &labels), 2.0);
/// ```
pub fn accuracy_count(kind: AccuracyKind, classes: usize, y_pred: &[f32], y_true: &[f32]) -> f64 {
    let rows = y_pred.chunks_exact(classes);
    match kind {
        AccuracyKind::SparseCategorical => rows
            .zip(y_true)
            .filter(|(row, &label)| first_argmax(row) as f32 == label)
            .count() as f64,
        AccuracyKind::Categorical => rows
            .zip(y_true.chunks_exact(classes))
            .filter(|(row, target)| first_argmax(row) == first_argmax(target))
            .count() as f64,
        AccuracyKind::Binary => rows
            .zip(y_true.chunks_exact(classes))
            .map(|(p, t)| {
                let right = p.iter().zip(t).filter(|(&p, &t)| flag(p > 0.5) == t);
                right.count() as f64 / classes as f64
            })
            .sum(),
    }
}

/// `1.0` for true, `0.0` for false.
fn flag(c: bool) -> f32 {
    if c {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_counts_what_keras_counts() {
        // Two rows of three scores; the second row ties between classes 1 and 2.
        let y_pred = [0.1, 0.7, 0.2, 0.0, 0.5, 0.5];
        let sparse = accuracy_count(AccuracyKind::SparseCategorical, 3, &y_pred, &[1.0, 2.0]);
        assert_eq!(sparse, 1.0, "the tie goes to the first maximum, class 1");
        let one_hot = [0.0, 1.0, 0.0, 0.0, 1.0, 0.0];
        assert_eq!(
            accuracy_count(AccuracyKind::Categorical, 3, &y_pred, &one_hot),
            2.0
        );
        // Binary, d = 3: row 0 predicts (0, 1, 0) and row 1 (0, 0, 0) (0.5 is not above ½).
        let truth = [0.0, 1.0, 1.0, 0.0, 1.0, 0.0];
        let binary = accuracy_count(AccuracyKind::Binary, 3, &y_pred, &truth);
        assert!((binary - (2.0 / 3.0 + 2.0 / 3.0)).abs() < 1e-12, "{binary}");
    }
}
