//! `F1Score`: the harmonic mean of precision and recall, per class, and its averages, as
//! Keras 3 computes it (`keras.metrics.F1Score`; TF 2.10 has no F1 metric).
//!
//! # Math
//! Each row of `y_pred (N, K)` becomes yes/no decisions: with `threshold = None` (the default)
//! the row's largest score says yes — every score equal to the row's maximum, unless it is 0 —
//! and with a threshold `t`, every score `> t`. Per class `k`, over the epoch:
//!
//! ```text
//! TP_k, FP_k, FN_k as for Precision (weighted by the sample weights);  support_k = Σ w·y_k
//! P_k = TP_k / (TP_k + FP_k + ε)      R_k = TP_k / (TP_k + FN_k + ε)      (ε = 10⁻⁷)
//! F1_k = 2 · P_k·R_k / (P_k + R_k + ε)
//! ```
//!
//! | `average` | result |
//! |---|---|
//! | `None` | `[F1_0, …, F1_{K−1}]` (one number per class) |
//! | `"macro"` | `mean_k F1_k`: every class counts the same, however rare |
//! | `"weighted"` | `Σ_k F1_k · support_k / (Σ support + ε)`: classes count by their size |
//! | `"micro"` | TP, FP, FN summed over the classes first, then one F1 |
//!
//! With one label per sample and `threshold = None`, micro-F1 equals accuracy; macro-F1 is the
//! one that drops when a small class is missed.
//!
//! # Shapes
//! `y_true` and `y_pred` both `(N, K)` (one-hot targets).
use astrograd_autograd::Tensor;

use crate::{LayerError, Result};

/// Keras's `backend.epsilon()`.
const EPSILON: f64 = 1e-7;

/// How `F1Score` averages its per-class values (`average=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Average {
    /// `average=None`: one number per class.
    None,
    /// `"micro"`: the counts summed over the classes first.
    Micro,
    /// `"macro"`: the plain mean over the classes.
    Macro,
    /// `"weighted"`: the mean weighted by each class's support.
    Weighted,
}

impl Average {
    /// Keras's spelling (`None` is JSON `null`).
    pub fn as_str(&self) -> Option<&'static str> {
        match self {
            Average::None => None,
            Average::Micro => Some("micro"),
            Average::Macro => Some("macro"),
            Average::Weighted => Some("weighted"),
        }
    }

    /// The average Keras's string names (`None` for `average=None`).
    ///
    /// # Errors
    /// Another string.
    pub fn from_name(name: Option<&str>) -> Result<Average> {
        match name {
            None => Ok(Average::None),
            Some("micro") => Ok(Average::Micro),
            Some("macro") => Ok(Average::Macro),
            Some("weighted") => Ok(Average::Weighted),
            Some(other) => Err(LayerError::invalid(
                "F1Score",
                "average None, 'micro', 'macro' or 'weighted'",
                other,
            )),
        }
    }
}

/// `keras.metrics.F1Score(average=None, threshold=None)` (see the module doc).
///
/// ```
/// use astrograd_autograd::Tensor;
/// use astrograd_layers::training::metrics::{Average, F1Score};
/// let y_true = Tensor::from_vec(vec![1., 0., 0., 0., 1., 0., 0., 1., 0.], &[3, 3])?;
/// let y_pred = Tensor::from_vec(vec![0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.6, 0.3, 0.1], &[3, 3])?;
/// let mut f1 = F1Score::new().average(Average::Macro);
/// f1.update_state(&y_true, &y_pred, None)?;
/// // Class 0: P 1/2, R 1 → 2/3; class 1: P 1, R 1/2 → 2/3; class 2: 0.
/// assert!((f1.result() - 4.0 / 9.0).abs() < 1e-6);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct F1Score {
    /// The key in the logs (`f1_score`).
    pub name: String,
    /// How the per-class values are averaged.
    pub average: Average,
    /// `None`: the row's maximum says yes; `Some(t)`: every score `> t`.
    pub threshold: Option<f32>,
    /// Per class: TP, FP, FN, support (one entry for `micro`), from the first batch on.
    counts: Option<ClassCounts>,
}

#[derive(Clone, Debug, PartialEq)]
struct ClassCounts {
    tp: Vec<f64>,
    fp: Vec<f64>,
    fn_: Vec<f64>,
    support: Vec<f64>,
}

impl Default for F1Score {
    fn default() -> Self {
        F1Score::new()
    }
}

impl F1Score {
    /// Keras's defaults (`average=None`, `threshold=None`), named `f1_score`.
    pub fn new() -> F1Score {
        F1Score {
            name: "f1_score".into(),
            average: Average::None,
            threshold: None,
            counts: None,
        }
    }

    /// `average=`.
    pub fn average(mut self, average: Average) -> Self {
        self.average = average;
        self
    }

    /// `threshold=` (in (0, 1]).
    pub fn threshold(mut self, threshold: f32) -> Self {
        self.threshold = Some(threshold);
        self
    }

    /// `name=`.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Keras's argument check.
    ///
    /// # Errors
    /// A threshold outside (0, 1].
    pub fn validate(&self) -> Result<()> {
        match self.threshold {
            Some(t) if !(t > 0.0 && t <= 1.0) => Err(LayerError::invalid(
                "F1Score",
                "a threshold with 0 < threshold <= 1",
                format!("threshold={t}"),
            )),
            _ => Ok(()),
        }
    }

    /// Adds a batch; `sample_weight` holds one weight per sample.
    ///
    /// # Errors
    /// Inputs that are not both `(N, K)` with the same `K` as the first batch; bad weights.
    pub fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&[f32]>,
    ) -> Result<()> {
        self.validate()?;
        let (ts, ps) = (y_true.shape(), y_pred.shape());
        if ts.len() != 2 || ps.len() != 2 || ts != ps {
            return Err(LayerError::invalid(
                "F1Score",
                "2D inputs with shape (batch_size, output_dim), the same for y_true and y_pred \
                 (one-hot encode integer labels first)",
                format!("y_true of shape {ts:?} and y_pred of shape {ps:?}"),
            ));
        }
        let (n, k) = (ps[0], ps[1]);
        if let Some(w) = sample_weight {
            super::confusion::check_sample_weight("F1Score", w, n)?;
        }
        let slots = if self.average == Average::Micro { 1 } else { k };
        let counts = self.counts.get_or_insert_with(|| ClassCounts {
            tp: vec![0.0; slots],
            fp: vec![0.0; slots],
            fn_: vec![0.0; slots],
            support: vec![0.0; slots],
        });
        if counts.tp.len() != slots {
            return Err(LayerError::invalid(
                "F1Score",
                format!("{} classes, as in the first batch", counts.tp.len()),
                format!("{k}"),
            ));
        }
        let (t, p) = (y_true.to_vec()?, y_pred.to_vec()?);
        for (row, (truth, scores)) in t.chunks_exact(k).zip(p.chunks_exact(k)).enumerate() {
            let w = sample_weight.map_or(1.0, |w| f64::from(w[row]));
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            for (j, (&y, &s)) in truth.iter().zip(scores).enumerate() {
                let yes = match self.threshold {
                    None => s >= max && s.abs() > 1e-9,
                    Some(threshold) => s > threshold,
                };
                let (yes, y) = (f64::from(u8::from(yes)), f64::from(y));
                let slot = if slots == 1 { 0 } else { j };
                counts.tp[slot] += w * yes * y;
                counts.fp[slot] += w * yes * (1.0 - y);
                counts.fn_[slot] += w * (1.0 - yes) * y;
                counts.support[slot] += w * y;
            }
        }
        Ok(())
    }

    /// F1 of each class (one value for `micro`); empty before any batch.
    pub fn result_per_class(&self) -> Vec<f32> {
        let Some(c) = &self.counts else {
            return Vec::new();
        };
        (0..c.tp.len())
            .map(|j| {
                let precision = c.tp[j] / (c.tp[j] + c.fp[j] + EPSILON);
                let recall = c.tp[j] / (c.tp[j] + c.fn_[j] + EPSILON);
                (2.0 * precision * recall / (precision + recall + EPSILON)) as f32
            })
            .collect()
    }

    /// The averaged value (with `average = None`, the mean over the classes, which is what
    /// `macro` gives; read [`F1Score::result_per_class`] for the vector Keras returns).
    pub fn result(&self) -> f32 {
        let per_class = self.result_per_class();
        let Some(c) = &self.counts else {
            return 0.0;
        };
        match self.average {
            Average::Weighted => {
                let total: f64 = c.support.iter().sum::<f64>() + EPSILON;
                per_class
                    .iter()
                    .zip(&c.support)
                    .map(|(&f, &s)| f64::from(f) * s / total)
                    .sum::<f64>() as f32
            }
            _ => {
                (per_class.iter().map(|&f| f64::from(f)).sum::<f64>() / per_class.len() as f64)
                    as f32
            }
        }
    }

    /// Forgets the batches seen.
    pub fn reset_state(&mut self) {
        self.counts = None;
    }

    /// The counts so far, flat: `tp`, `fp`, `fn`, `support` (each one per class); empty before
    /// any batch.
    pub(crate) fn counts(&self) -> Vec<f64> {
        self.counts.as_ref().map_or_else(Vec::new, |c| {
            super::flatten_four([&c.tp, &c.fp, &c.fn_, &c.support])
        })
    }

    /// Replaces the counts by `flat`, laid out as [`F1Score::counts`] lays them out.
    pub(crate) fn set_counts(&mut self, flat: &[f64]) {
        self.counts = super::split_four(flat, 1).map(|[tp, fp, fn_, support]| ClassCounts {
            tp,
            fp,
            fn_,
            support,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(values: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(values.to_vec(), shape).unwrap()
    }

    /// With one label per row and the argmax decision, micro-F1 is the accuracy.
    #[test]
    fn micro_f1_is_accuracy_for_single_labels() {
        let y = t(&[1., 0., 0., 0., 1., 0., 0., 0., 1., 0., 1., 0.], &[4, 3]);
        let p = t(
            &[0.7, 0.2, 0.1, 0.5, 0.3, 0.2, 0.1, 0.1, 0.8, 0.3, 0.4, 0.3],
            &[4, 3],
        );
        let mut f1 = F1Score::new().average(Average::Micro);
        f1.update_state(&y, &p, None).unwrap();
        assert!((f1.result() - 0.75).abs() < 1e-6, "{}", f1.result());
    }

    #[test]
    fn ties_and_zero_rows_and_thresholds() {
        // Row 0 ties at the max: both say yes. Row 1 is all zeros: none says yes.
        let y = t(&[1., 0., 0., 1.], &[2, 2]);
        let p = t(&[0.5, 0.5, 0.0, 0.0], &[2, 2]);
        let mut f1 = F1Score::new();
        f1.update_state(&y, &p, None).unwrap();
        let per_class = f1.result_per_class();
        // Class 0: TP 1 → F1 ≈ 1; class 1: FP 1, FN 1 → 0.
        assert!((per_class[0] - 1.0).abs() < 1e-6 && per_class[1] == 0.0);
        assert!(F1Score::new().threshold(0.0).validate().is_err());
        let err = F1Score::new()
            .update_state(&t(&[1., 0.], &[2]), &p, None)
            .unwrap_err();
        assert!(err.to_string().contains("2D inputs"), "{err}");
    }

    proptest! {
        #[test]
        fn every_average_is_in_0_1(
            rows in prop::collection::vec((0usize..3, prop::collection::vec(0.0f32..1.0, 3)), 1..20),
            avg in 0usize..4,
        ) {
            let n = rows.len();
            let mut y = vec![0.0; n * 3];
            let mut p = Vec::new();
            for (i, (label, scores)) in rows.iter().enumerate() {
                y[i * 3 + label] = 1.0;
                p.extend(scores);
            }
            let average = [Average::None, Average::Micro, Average::Macro, Average::Weighted][avg];
            let mut f1 = F1Score::new().average(average);
            f1.update_state(&t(&y, &[n, 3]), &t(&p, &[n, 3]), None).unwrap();
            prop_assert!((0.0..=1.0).contains(&f1.result()));
        }
    }
}
