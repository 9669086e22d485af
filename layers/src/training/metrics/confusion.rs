//! `Precision` and `Recall`: counts of true positives (TP), false positives (FP) and false
//! negatives (FN), added up over every batch of an epoch, then one division.
//!
//! # Math
//! Each value of `y_pred` is a yes/no decision, compared with the value of `y_true` at the
//! same place (Keras 2.10, `metrics_utils.update_confusion_matrix_variables`):
//!
//! ```text
//! predicted yes  ⇔  ŷ > threshold            (strictly; threshold 0.5)
//! actual yes     ⇔  y ≠ 0
//! TP += w·[yes, yes]   FP += w·[predicted yes, actual no]   FN += w·[predicted no, actual yes]
//! precision = TP / (TP + FP)      recall = TP / (TP + FN)      (0 when the divisor is 0)
//! ```
//!
//! `w` is the sample's weight (1 without weights). For a softmax output this flattens the
//! `(N, K)` one-hot targets and predictions and counts every cell, so the "precision" of a
//! multi-class model is the micro-average of its one-vs-rest decisions at 0.5. Two options
//! narrow it, applied in this order:
//! - `top_k = k`: in each row only the `k` highest scores can say yes (the others become
//!   −10¹⁰, and the threshold becomes −10¹⁰ unless one is given): "is the true class among my
//!   top k guesses?";
//! - `class_id = c`: only column `c` is counted: the precision of class `c` against the rest.
//!
//! # Shapes
//! `y_true` and `y_pred` of the same shape, except that one of them may carry an extra last
//! axis of size 1 (`(N,)` labels against a sigmoid's `(N, 1)`). Integer labels `(N,)` against
//! `(N, K)` scores are refused, as Keras refuses them: one-hot encode them first.
use astrograd_autograd::Tensor;

use crate::{LayerError, Result};

/// Keras's `NEG_INF`: what `top_k` writes over the scores it drops.
pub const NEG_INF: f32 = -1e10;

/// The inputs of one batch as flat host vectors, checked against each other.
pub(crate) struct Batch {
    /// `y_true`, flattened.
    pub y_true: Vec<f32>,
    /// `y_pred`, flattened.
    pub y_pred: Vec<f32>,
    /// The values per sample (the product of all axes of `y_pred` but the first).
    pub per_sample: usize,
    /// The size of `y_pred`'s last axis, after an extra axis of size 1 is squeezed.
    pub last: usize,
    /// The rank of `y_pred` after squeezing.
    pub rank: usize,
    /// One weight per sample, or `None` for weights of 1.
    pub weights: Option<Vec<f32>>,
}

impl Batch {
    /// Keras's `squeeze_or_expand_dimensions` followed by its shape check.
    ///
    /// # Errors
    /// Shapes that do not go together; weights that are not one per sample, or negative or NaN.
    pub(crate) fn new(
        what: &str,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&[f32]>,
    ) -> Result<Batch> {
        let (t, p) = (y_true.shape(), y_pred.shape());
        let squeezed = |long: &[usize], short: &[usize]| {
            long.len() == short.len() + 1
                && long.last() == Some(&1)
                && long[..short.len()] == *short
        };
        let shape: &[usize] = if t == p || squeezed(p, t) {
            t
        } else if squeezed(t, p) {
            p
        } else {
            return Err(LayerError::invalid(
                what,
                "y_true and y_pred of the same shape (one-hot encode integer labels first, \
                 e.g. with to_categorical)",
                format!("y_true of shape {t:?} and y_pred of shape {p:?}"),
            ));
        };
        let samples = shape.first().copied().unwrap_or(1);
        let per_sample = shape.iter().skip(1).product::<usize>();
        let weights = match sample_weight {
            None => None,
            Some(w) => {
                check_sample_weight(what, w, samples)?;
                Some(w.to_vec())
            }
        };
        Ok(Batch {
            y_true: y_true.to_vec()?,
            y_pred: y_pred.to_vec()?,
            per_sample,
            last: shape.last().copied().unwrap_or(1),
            rank: shape.len(),
            weights,
        })
    }

    /// The weight of value `i` of the flattened batch.
    pub(crate) fn weight(&self, i: usize) -> f64 {
        match &self.weights {
            None => 1.0,
            Some(w) => f64::from(w[i / self.per_sample.max(1)]),
        }
    }
}

/// Sample weights: one per sample, none negative or NaN.
///
/// # Errors
/// [`LayerError::Invalid`] naming `what`, the count or the first bad weight.
pub fn check_sample_weight(what: &str, weights: &[f32], samples: usize) -> Result<()> {
    if weights.len() != samples {
        return Err(LayerError::invalid(
            what,
            format!("one sample weight per sample ({samples})"),
            format!("{} sample weights", weights.len()),
        ));
    }
    if let Some((i, w)) = weights
        .iter()
        .enumerate()
        .find(|(_, w)| w.is_nan() || **w < 0.0)
    {
        return Err(LayerError::invalid(
            what,
            "sample weights ≥ 0 (not NaN)",
            format!("{w} at sample {i}"),
        ));
    }
    Ok(())
}

/// What turns scores into yes/no decisions: Keras's `thresholds`, `top_k` and `class_id`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Decision {
    /// `thresholds=` (one value): `None` is 0.5, or −10¹⁰ with `top_k`.
    pub threshold: Option<f32>,
    /// `top_k=`: only the `k` highest scores of a row can say yes.
    pub top_k: Option<usize>,
    /// `class_id=`: only this column counts.
    pub class_id: Option<usize>,
}

/// Confusion counts, weighted, over the batches seen so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counts {
    /// True positives.
    pub tp: f64,
    /// False positives.
    pub fp: f64,
    /// False negatives.
    pub fn_: f64,
}

impl Decision {
    /// The threshold in force.
    pub fn threshold(&self) -> f32 {
        self.threshold
            .unwrap_or(if self.top_k.is_some() { NEG_INF } else { 0.5 })
    }

    /// Adds a batch to `counts`.
    pub(crate) fn update(&self, what: &str, counts: &mut Counts, batch: &Batch) -> Result<()> {
        let k_classes = batch.last;
        let mut y_pred = batch.y_pred.clone();
        if let Some(k) = self.top_k {
            if k == 0 || k > k_classes {
                return Err(LayerError::invalid(
                    what,
                    format!("top_k between 1 and the {k_classes} values of y_pred's last axis"),
                    format!("top_k={k}"),
                ));
            }
            for row in y_pred.chunks_exact_mut(k_classes) {
                keep_top_k(row, k);
            }
        }
        let threshold = self.threshold();
        let mut add = |i: usize, label: f32, score: f32| {
            let w = batch.weight(i);
            match (label != 0.0, score > threshold) {
                (true, true) => counts.tp += w,
                (false, true) => counts.fp += w,
                (true, false) => counts.fn_ += w,
                (false, false) => {}
            }
        };
        match self.class_id {
            None => {
                for (i, (&label, &score)) in batch.y_true.iter().zip(&y_pred).enumerate() {
                    add(i, label, score);
                }
            }
            Some(c) => {
                if batch.rank < 2 || c >= k_classes {
                    return Err(LayerError::invalid(
                        what,
                        format!("class_id below the {k_classes} classes of y_pred's last axis"),
                        format!("class_id={c} with y_pred of rank {}", batch.rank),
                    ));
                }
                for i in (c..y_pred.len()).step_by(k_classes) {
                    add(i, batch.y_true[i], y_pred[i]);
                }
            }
        }
        Ok(())
    }
}

/// Keras's `_filter_top_k` on one row: the `k` highest stay (the lower index first among
/// equals, as `tf.math.top_k`), the others become [`NEG_INF`].
fn keep_top_k(row: &mut [f32], k: usize) {
    let mut order: Vec<usize> = (0..row.len()).collect();
    // A stable sort, largest first: equal scores keep their index order.
    order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
    for &j in &order[k..] {
        row[j] = NEG_INF;
    }
}

/// `a / b`, or 0 when `b` is 0 (TensorFlow's `divide_no_nan`).
pub(crate) fn divide_no_nan(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

/// `tf.keras.metrics.Precision`: `TP / (TP + FP)` over the epoch (see the module doc).
///
/// ```
/// use astrograd_autograd::Tensor;
/// use astrograd_layers::training::metrics::Precision;
/// let mut m = Precision::new();
/// let y_true = Tensor::from_vec(vec![0.0, 1.0, 1.0, 1.0], &[4])?;
/// let y_pred = Tensor::from_vec(vec![1.0, 0.0, 1.0, 1.0], &[4])?;
/// m.update_state(&y_true, &y_pred, None)?;
/// assert!((m.result() - 2.0 / 3.0).abs() < 1e-7);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Precision {
    /// The key in the logs (`precision`).
    pub name: String,
    /// How scores become decisions.
    pub decision: Decision,
    /// The counts so far.
    pub counts: Counts,
}

/// `tf.keras.metrics.Recall`: `TP / (TP + FN)` over the epoch (see the module doc).
#[derive(Clone, Debug, PartialEq)]
pub struct Recall {
    /// The key in the logs (`recall`).
    pub name: String,
    /// How scores become decisions.
    pub decision: Decision,
    /// The counts so far.
    pub counts: Counts,
}

impl Default for Precision {
    fn default() -> Self {
        Self::new()
    }
}

impl Precision {
    /// Keras's defaults: threshold 0.5, no `top_k`, no `class_id`, named `precision`.
    pub fn new() -> Self {
        Precision {
            name: "precision".to_string(),
            decision: Decision::default(),
            counts: Counts::default(),
        }
    }

    /// `thresholds=t` (one threshold).
    pub fn threshold(mut self, threshold: f32) -> Self {
        self.decision.threshold = Some(threshold);
        self
    }

    /// `top_k=k`.
    pub fn top_k(mut self, k: usize) -> Self {
        self.decision.top_k = Some(k);
        self
    }

    /// `class_id=c`.
    pub fn class_id(mut self, class_id: usize) -> Self {
        self.decision.class_id = Some(class_id);
        self
    }

    /// `name=` (the key in the logs and the history).
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Adds a batch; `sample_weight` holds one weight per sample.
    ///
    /// # Errors
    /// Shapes that do not go together (see the module doc), a `top_k` or `class_id` out of
    /// range, bad sample weights.
    pub fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&[f32]>,
    ) -> Result<()> {
        let batch = Batch::new("Precision", y_true, y_pred, sample_weight)?;
        self.decision.update("Precision", &mut self.counts, &batch)
    }

    /// `TP / (TP + FP)` over every batch since the last reset.
    pub fn result(&self) -> f32 {
        let c = &self.counts;
        divide_no_nan(c.tp, c.tp + c.fp) as f32
    }

    /// Forgets the batches seen (Keras's `reset_state`, at each epoch's start).
    pub fn reset_state(&mut self) {
        self.counts = Counts::default();
    }
}

impl Default for Recall {
    fn default() -> Self {
        Self::new()
    }
}

impl Recall {
    /// Keras's defaults: threshold 0.5, no `top_k`, no `class_id`, named `recall`.
    pub fn new() -> Self {
        Recall {
            name: "recall".to_string(),
            decision: Decision::default(),
            counts: Counts::default(),
        }
    }

    /// `thresholds=t` (one threshold).
    pub fn threshold(mut self, threshold: f32) -> Self {
        self.decision.threshold = Some(threshold);
        self
    }

    /// `top_k=k`.
    pub fn top_k(mut self, k: usize) -> Self {
        self.decision.top_k = Some(k);
        self
    }

    /// `class_id=c`.
    pub fn class_id(mut self, class_id: usize) -> Self {
        self.decision.class_id = Some(class_id);
        self
    }

    /// `name=` (the key in the logs and the history).
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Adds a batch; `sample_weight` holds one weight per sample.
    ///
    /// # Errors
    /// Shapes that do not go together (see the module doc), a `top_k` or `class_id` out of
    /// range, bad sample weights.
    pub fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&[f32]>,
    ) -> Result<()> {
        let batch = Batch::new("Recall", y_true, y_pred, sample_weight)?;
        self.decision.update("Recall", &mut self.counts, &batch)
    }

    /// `TP / (TP + FN)` over every batch since the last reset.
    pub fn result(&self) -> f32 {
        let c = &self.counts;
        divide_no_nan(c.tp, c.tp + c.fn_) as f32
    }

    /// Forgets the batches seen (Keras's `reset_state`, at each epoch's start).
    pub fn reset_state(&mut self) {
        self.counts = Counts::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(values: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(values.to_vec(), shape).unwrap()
    }

    /// The examples of Keras's docstrings (tf.keras 2.10 `Precision`, `Recall`).
    #[test]
    fn keras_docstring_examples() {
        let mut p = Precision::new();
        p.update_state(
            &t(&[0., 1., 1., 1.], &[4]),
            &t(&[1., 0., 1., 1.], &[4]),
            None,
        )
        .unwrap();
        assert!((p.result() - 0.666_666_7).abs() < 1e-7);
        p.reset_state();
        let w = [0.0, 0.0, 1.0, 0.0];
        p.update_state(
            &t(&[0., 1., 1., 1.], &[4]),
            &t(&[1., 0., 1., 1.], &[4]),
            Some(&w),
        )
        .unwrap();
        assert_eq!(p.result(), 1.0);
        // top_k=2: of [0, 0, 1, 1], the two highest of [1, 0, 1, 1] are classes 0 and 2.
        let mut p = Precision::new().top_k(2);
        p.update_state(
            &t(&[0., 0., 1., 1.], &[1, 4]),
            &t(&[1., 0., 1., 1.], &[1, 4]),
            None,
        )
        .unwrap();
        assert_eq!(p.result(), 0.5);
        let mut r = Recall::new();
        r.update_state(
            &t(&[0., 1., 1., 1.], &[4]),
            &t(&[1., 0., 1., 1.], &[4]),
            None,
        )
        .unwrap();
        assert!((r.result() - 0.666_666_7).abs() < 1e-7);
        r.reset_state();
        r.update_state(
            &t(&[0., 1., 1., 1.], &[4]),
            &t(&[1., 0., 1., 1.], &[4]),
            Some(&w),
        )
        .unwrap();
        assert_eq!(r.result(), 1.0);
    }

    #[test]
    fn class_id_counts_one_column_and_batches_accumulate() {
        // Class 1 is predicted (> 0.5) in rows 0 and 2; it is true in rows 0 and 1.
        let y_true = t(&[0., 1., 0., 0., 1., 0., 1., 0., 0.], &[3, 3]);
        let y_pred = t(&[0.2, 0.7, 0.1, 0.1, 0.3, 0.6, 0.3, 0.6, 0.1], &[3, 3]);
        let mut p = Precision::new().class_id(1);
        let mut r = Recall::new().class_id(1);
        p.update_state(&y_true, &y_pred, None).unwrap();
        r.update_state(&y_true, &y_pred, None).unwrap();
        assert_eq!((p.result(), r.result()), (0.5, 0.5));
        // A second batch with class 1 right.
        p.update_state(
            &t(&[0., 1., 0.], &[1, 3]),
            &t(&[0., 0.9, 0.1], &[1, 3]),
            None,
        )
        .unwrap();
        assert!((p.result() - 2.0 / 3.0).abs() < 1e-7);
        assert!(Precision::new()
            .class_id(3)
            .update_state(&y_true, &y_pred, None)
            .is_err());
    }

    #[test]
    fn bad_shapes_and_weights_are_errors() {
        let mut p = Precision::new();
        let err = p
            .update_state(
                &t(&[0., 1.], &[2]),
                &t(&[0.1, 0.9, 0.5, 0.5], &[2, 2]),
                None,
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("one-hot encode"), "{err}");
        // (N,) labels against a sigmoid's (N, 1) are fine.
        p.update_state(&t(&[0., 1.], &[2]), &t(&[0.1, 0.9], &[2, 1]), None)
            .unwrap();
        assert_eq!(p.result(), 1.0);
        let bad = p.update_state(&t(&[0., 1.], &[2]), &t(&[0.1, 0.9], &[2]), Some(&[1.0]));
        assert!(bad.unwrap_err().to_string().contains("1 sample weights"));
        let bad = p.update_state(
            &t(&[0., 1.], &[2]),
            &t(&[0.1, 0.9], &[2]),
            Some(&[1.0, -1.0]),
        );
        assert!(bad.unwrap_err().to_string().contains("-1 at sample 1"));
        let bad = Recall::new().top_k(3).update_state(
            &t(&[0., 1.], &[1, 2]),
            &t(&[0.1, 0.9], &[1, 2]),
            None,
        );
        assert!(bad.unwrap_err().to_string().contains("top_k=3"));
    }

    proptest! {
        /// Precision and recall stay in [0, 1], whatever the scores and weights.
        #[test]
        fn precision_and_recall_are_in_0_1(
            rows in prop::collection::vec((0u8..2, -1.0f32..2.0, 0.0f32..3.0), 1..40),
        ) {
            let n = rows.len();
            let y_true = t(&rows.iter().map(|r| f32::from(r.0)).collect::<Vec<_>>(), &[n]);
            let y_pred = t(&rows.iter().map(|r| r.1).collect::<Vec<_>>(), &[n]);
            let w: Vec<f32> = rows.iter().map(|r| r.2).collect();
            let mut p = Precision::new();
            let mut r = Recall::new();
            p.update_state(&y_true, &y_pred, Some(&w)).unwrap();
            r.update_state(&y_true, &y_pred, Some(&w)).unwrap();
            prop_assert!((0.0..=1.0).contains(&p.result()));
            prop_assert!((0.0..=1.0).contains(&r.result()));
        }
    }
}
