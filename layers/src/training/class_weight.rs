//! Weights for imbalanced classes: `fit(class_weight=…, sample_weight=…)` and
//! scikit-learn's `compute_class_weight("balanced", …)`.
//!
//! # Math
//! A weight `w_n` per sample scales that sample's loss. Keras 2.10 reduces a weighted batch
//! with `SUM_OVER_BATCH_SIZE`, dividing by the number of samples, not by the sum of the weights:
//!
//! ```text
//! loss_batch = Σ_n w_n · loss_n / N
//! ```
//!
//! so weights of 2 double the loss (and the gradients), as if the learning rate were doubled
//! for those samples. `class_weight = {k: c_k}` gives every sample of class `k` the weight
//! `c_k` (its class is `argmax y` for one-hot rows, else `y` itself); with `sample_weight` too,
//! the two multiply. The metrics given to `compile(metrics=…)` are *not* weighted (Keras 2.10
//! weights only `weighted_metrics`), and neither is the validation loss by `class_weight`.
//!
//! "balanced" weights (scikit-learn) make every class weigh the same in total:
//!
//! ```text
//! c_k = n_samples / (n_classes · n_k)
//! ```
//!
//! In Galaxy10 DECals the round smooth galaxies outnumber the cigar-shaped ones about 8 to 1;
//! balanced weights give each cigar-shaped galaxy about 8 times the weight of a round one.
use std::collections::{BTreeMap, HashMap};

use astrograd_autograd::Tensor;

use crate::{LayerError, Result};

/// `class_weight=`: a weight per class index (Keras's dict `{0: 1.0, 1: 9.0}`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClassWeight(pub BTreeMap<usize, f32>);

impl From<&[(usize, f32)]> for ClassWeight {
    fn from(pairs: &[(usize, f32)]) -> ClassWeight {
        ClassWeight(pairs.iter().copied().collect())
    }
}

impl<const N: usize> From<[(usize, f32); N]> for ClassWeight {
    fn from(pairs: [(usize, f32); N]) -> ClassWeight {
        ClassWeight(pairs.into_iter().collect())
    }
}

/// Weights by class index: `weights[k]` for class `k` (what [`compute_class_weight`] returns
/// for classes `0..K`).
impl From<Vec<f32>> for ClassWeight {
    fn from(weights: Vec<f32>) -> ClassWeight {
        ClassWeight(weights.into_iter().enumerate().collect())
    }
}

impl From<&[f32]> for ClassWeight {
    fn from(weights: &[f32]) -> ClassWeight {
        ClassWeight::from(weights.to_vec())
    }
}

impl From<BTreeMap<usize, f32>> for ClassWeight {
    fn from(map: BTreeMap<usize, f32>) -> ClassWeight {
        ClassWeight(map)
    }
}

impl From<HashMap<usize, f32>> for ClassWeight {
    fn from(map: HashMap<usize, f32>) -> ClassWeight {
        ClassWeight(map.into_iter().collect())
    }
}

impl ClassWeight {
    /// Keras's check (keys `0..n`, no gap) and astrograd's (finite weights ≥ 0).
    ///
    /// # Errors
    /// Keys that are not `0..n`; a negative, NaN or infinite weight.
    pub fn validate(&self) -> Result<()> {
        let keys: Vec<usize> = self.0.keys().copied().collect();
        if keys.iter().enumerate().any(|(i, &k)| i != k) {
            return Err(LayerError::invalid(
                "fit",
                "a class_weight with keys from 0 to one less than the number of classes",
                format!("keys {keys:?}"),
            ));
        }
        if let Some((k, w)) = self.0.iter().find(|(_, w)| !(w.is_finite() && **w >= 0.0)) {
            return Err(LayerError::invalid(
                "fit",
                "class weights that are finite and ≥ 0",
                format!("{w} for class {k}"),
            ));
        }
        Ok(())
    }

    /// The weight of each sample of a batch of targets `y`, for a model whose output has
    /// `outputs` values per sample (1 for a sigmoid: classes 0 and 1).
    ///
    /// # Errors
    /// A weight for a class the model does not have; a label without a weight; targets of
    /// rank above 2.
    pub fn sample_weights(&self, y: &Tensor, outputs: usize) -> Result<Vec<f32>> {
        let classes = outputs.max(2);
        if let Some((&k, _)) = self.0.range(classes..).next() {
            return Err(LayerError::invalid(
                "fit",
                format!(
                    "class_weight for the model's {classes} classes (0 to {})",
                    classes - 1
                ),
                format!("a weight for class {k}, which the model does not have"),
            ));
        }
        let labels = class_labels(y)?;
        labels
            .iter()
            .enumerate()
            .map(|(n, &label)| {
                let weight = usize::try_from(label).ok().and_then(|k| self.0.get(&k));
                weight.copied().ok_or_else(|| {
                    LayerError::invalid(
                        "fit",
                        format!(
                            "a class_weight for every label (classes 0 to {})",
                            self.0.len().saturating_sub(1)
                        ),
                        format!("label {label} at sample {n} of the batch, without a weight"),
                    )
                })
            })
            .collect()
    }
}

/// The class of each row of `y`, as Keras reads it for `class_weight`: `argmax` of one-hot
/// rows `(N, K>1)`, else the value truncated to an integer.
fn class_labels(y: &Tensor) -> Result<Vec<i64>> {
    let values = y.to_vec()?;
    match y.shape() {
        [_, k] if *k > 1 => Ok(values
            .chunks_exact(*k)
            .map(|row| super::metrics::first_argmax(row) as i64)
            .collect()),
        shape if shape.len() <= 2 => Ok(values.iter().map(|&v| v as i64).collect()),
        shape => Err(LayerError::invalid(
            "fit",
            "targets of rank 1 or 2 with class_weight",
            format!("y of shape {shape:?}"),
        )),
    }
}

/// scikit-learn's `compute_class_weight("balanced", classes=classes, y=y)`:
/// `n_samples / (n_classes · count(k))` for each class of `classes`, in that order.
///
/// ```
/// use astrograd_layers::training::compute_class_weight;
/// let w = compute_class_weight("balanced", &[0, 1, 2], &[0, 0, 0, 0, 1, 1, 2, 2])?;
/// assert_eq!(w, vec![8.0 / 12.0, 8.0 / 6.0, 8.0 / 6.0]);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
///
/// # Errors
/// A mode other than `"balanced"`; a class of `classes` with no sample in `y`, or a label of
/// `y` missing from `classes` (scikit-learn's two `ValueError`s); repeated classes; no sample.
pub fn compute_class_weight(mode: &str, classes: &[usize], y: &[usize]) -> Result<Vec<f64>> {
    const WHAT: &str = "compute_class_weight";
    if mode != "balanced" {
        return Err(LayerError::invalid(WHAT, "class_weight \"balanced\"", mode));
    }
    let mut sorted = classes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != classes.len() || y.is_empty() {
        return Err(LayerError::invalid(
            WHAT,
            "distinct classes and at least one label",
            format!("classes {classes:?} and {} labels", y.len()),
        ));
    }
    if let Some(label) = y.iter().find(|l| sorted.binary_search(l).is_err()) {
        return Err(LayerError::invalid(
            WHAT,
            "classes should include all valid labels that can be in y",
            format!("label {label}, not in classes {classes:?}"),
        ));
    }
    let counts: Vec<usize> = classes
        .iter()
        .map(|k| y.iter().filter(|&l| l == k).count())
        .collect();
    if let Some(i) = counts.iter().position(|&c| c == 0) {
        return Err(LayerError::invalid(
            WHAT,
            "classes should have valid labels that are in y",
            format!("class {}, which has no sample in y", classes[i]),
        ));
    }
    let n = y.len() as f64;
    let k = classes.len() as f64;
    Ok(counts.iter().map(|&c| n / (k * c as f64)).collect())
}

/// Checks `sample_weight=` against the samples of `x`: shape `(N,)` (or `(N, 1)`), finite and
/// ≥ 0.
///
/// # Errors
/// Another shape or length; a negative, NaN or infinite weight.
pub fn check_sample_weight(weights: &Tensor, samples: usize) -> Result<()> {
    let shape = weights.shape();
    if !matches!(shape, [n] | [n, 1] if *n == samples) {
        return Err(LayerError::invalid(
            "fit",
            format!("sample_weight of shape ({samples},), one weight per sample"),
            format!("sample_weight of shape {shape:?}"),
        ));
    }
    let values = weights.to_vec()?;
    if let Some((i, w)) = values
        .iter()
        .enumerate()
        .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
    {
        return Err(LayerError::invalid(
            "fit",
            "sample weights that are finite and ≥ 0",
            format!("{w} at sample {i}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(values: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(values.to_vec(), shape).unwrap()
    }

    #[test]
    fn balanced_weights_and_their_errors() {
        // 9 of class 0, 1 of class 1: 10/(2·9) and 10/(2·1).
        let mut y = vec![0usize; 9];
        y.push(1);
        let w = compute_class_weight("balanced", &[0, 1], &y).unwrap();
        assert_eq!(w, vec![10.0 / 18.0, 5.0]);
        let err = compute_class_weight("balanced", &[0, 1, 2], &y).unwrap_err();
        assert!(
            err.to_string().contains("class 2, which has no sample"),
            "{err}"
        );
        let err = compute_class_weight("balanced", &[0], &y).unwrap_err();
        assert!(
            err.to_string().contains("include all valid labels"),
            "{err}"
        );
        assert!(compute_class_weight("inverse", &[0, 1], &y).is_err());
    }

    #[test]
    fn class_weights_become_sample_weights() {
        let cw = ClassWeight::from([(0, 1.0), (1, 9.0)]);
        cw.validate().unwrap();
        // Integer labels, a sigmoid's (N, 1) targets, and one-hot rows.
        assert_eq!(
            cw.sample_weights(&t(&[1., 0., 1.], &[3]), 2).unwrap(),
            vec![9., 1., 9.]
        );
        assert_eq!(
            cw.sample_weights(&t(&[1., 0.], &[2, 1]), 1).unwrap(),
            vec![9., 1.]
        );
        let one_hot = t(&[0., 1., 1., 0.], &[2, 2]);
        assert_eq!(cw.sample_weights(&one_hot, 2).unwrap(), vec![9., 1.]);
    }

    #[test]
    fn bad_class_weights_are_errors() {
        let gap = ClassWeight::from([(0, 1.0), (2, 9.0)]);
        assert!(gap
            .validate()
            .unwrap_err()
            .to_string()
            .contains("keys [0, 2]"));
        let negative = ClassWeight::from(vec![1.0, -2.0]);
        assert!(negative
            .validate()
            .unwrap_err()
            .to_string()
            .contains("-2 for class 1"));
        assert!(ClassWeight::from(vec![f32::NAN]).validate().is_err());
        // A weight for class 3 on a 3-class model: the model has no class 3.
        let extra = ClassWeight::from(vec![1.0, 1.0, 1.0, 2.0]);
        let err = extra
            .sample_weights(&t(&[0.0], &[1]), 3)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a weight for class 3, which the model does not have"),
            "{err}"
        );
        // Label 2 without a weight.
        let short = ClassWeight::from(vec![1.0, 1.0]);
        let err = short
            .sample_weights(&t(&[0.0, 2.0], &[2]), 3)
            .unwrap_err()
            .to_string();
        assert!(err.contains("label 2 at sample 1"), "{err}");
        assert!(check_sample_weight(&t(&[1.0, 2.0], &[2]), 3).is_err());
        assert!(check_sample_weight(&t(&[1.0, f32::NAN], &[2]), 2).is_err());
        check_sample_weight(&t(&[1.0, 0.0], &[2, 1]), 2).unwrap();
    }
}
