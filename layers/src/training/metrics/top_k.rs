//! Top-k accuracy: a sample counts as right when its true class is among the `k` highest
//! scores (`TopKCategoricalAccuracy`, `SparseTopKCategoricalAccuracy`, k = 5 by default).
//!
//! # Math
//! Keras 2.10 calls `tf.math.in_top_k(y_pred, label, k)`, which decides by counting:
//!
//! ```text
//! right  ⇔  ŷ_label is finite, every ŷ_j of the row is finite, label ∈ 0..K,
//!           and  #{ j : ŷ_j > ŷ_label } < k
//! ```
//!
//! so classes *tied* with the true one never push it out: with scores `(0.4, 0.3, 0.3)` and
//! `k = 2`, both class 1 and class 2 are "in the top 2". `top_k_categorical_accuracy` first
//! turns a one-hot row into its label with `argmax` (the first maximum).
//!
//! # Shapes
//! `y_pred (N, K)` (or more axes, flattened to rows of `K`); sparse labels `(N,)` or `(N, 1)`,
//! one-hot targets `(N, K)`.

/// `tf.math.in_top_k` for one row: whether `label` is among the `k` highest of `row`, ties
/// counted in (see the module doc). A label outside the row, or a NaN/∞ anywhere in it, is
/// "not in the top k", as TensorFlow answers.
///
/// ```
/// use astrograd_layers::training::metrics::top_k::in_top_k;
/// assert!(in_top_k(&[0.4, 0.3, 0.3], 2, 2)); // tied with class 1: both in the top 2
/// assert!(!in_top_k(&[0.4, 0.3, 0.3], 2, 1));
/// assert!(!in_top_k(&[0.4, 0.3], 5, 3)); // no class 5
/// ```
pub fn in_top_k(row: &[f32], label: usize, k: usize) -> bool {
    let Some(&target) = row.get(label) else {
        return false;
    };
    if !target.is_finite() || row.iter().any(|v| !v.is_finite()) {
        return false;
    }
    row.iter().filter(|&&v| v > target).count() < k
}

#[cfg(test)]
mod tests {
    use super::super::MetricFn;
    use super::*;
    use astrograd_autograd::Tensor;
    use proptest::prelude::*;

    fn sparse_top_k_count(p: &[f32], labels: &[f32], classes: usize, k: usize) -> f64 {
        let y_pred = Tensor::from_vec(p.to_vec(), &[labels.len(), classes]).unwrap();
        let y_true = Tensor::from_vec(labels.to_vec(), &[labels.len()]).unwrap();
        let f = MetricFn::SparseTopKCategoricalAccuracy { k };
        f.batch_sum(&y_pred, &y_true).unwrap().0
    }

    fn top_k_count(p: &[f32], one_hot: &[f32], classes: usize, k: usize) -> f64 {
        let shape = [p.len() / classes, classes];
        let y_pred = Tensor::from_vec(p.to_vec(), &shape).unwrap();
        let y_true = Tensor::from_vec(one_hot.to_vec(), &shape).unwrap();
        let f = MetricFn::TopKCategoricalAccuracy { k };
        f.batch_sum(&y_pred, &y_true).unwrap().0
    }

    /// Keras's docstring example: `sparse_top_k_categorical_accuracy([2, 1],
    /// [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], k=3)` → `[1, 1]`; with k = 1 only row 2 is right.
    #[test]
    fn keras_docstring_cases() {
        let p = [0.1, 0.9, 0.8, 0.05, 0.95, 0.0];
        assert_eq!(sparse_top_k_count(&p, &[2.0, 1.0], 3, 3), 2.0);
        assert_eq!(sparse_top_k_count(&p, &[2.0, 1.0], 3, 1), 1.0);
        let one_hot = [0.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        assert_eq!(top_k_count(&p, &one_hot, 3, 2), 2.0);
        assert_eq!(top_k_count(&p, &one_hot, 3, 1), 1.0);
    }

    #[test]
    fn ties_straddling_the_boundary_are_all_in() {
        assert!(in_top_k(&[0.5, 0.5, 0.5, 0.1], 2, 1));
        assert!(!in_top_k(&[0.5, 0.5, 0.5, 0.1], 3, 3));
        assert!(!in_top_k(&[0.5, f32::NAN, 0.1], 0, 3));
        assert_eq!(sparse_top_k_count(&[0.5, 0.5], &[-1.0], 2, 2), 0.0);
    }

    proptest! {
        /// k ≥ K puts every finite label in the top k; k = 1 is plain accuracy when the row has
        /// no ties.
        #[test]
        fn k_at_least_the_classes_is_always_right(
            row in prop::collection::vec(-10.0f32..10.0, 1..8),
            pick in 0usize..8,
        ) {
            let label = pick % row.len();
            prop_assert!(in_top_k(&row, label, row.len()));
            let max = row.iter().cloned().fold(f32::MIN, f32::max);
            let unique_max = row.iter().filter(|&&v| v == max).count() == 1;
            if unique_max {
                prop_assert_eq!(in_top_k(&row, label, 1), row[label] == max);
            }
        }
    }
}
