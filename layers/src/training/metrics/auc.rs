//! `AUC`: the area under the ROC curve (or the precision–recall curve), from confusion counts
//! kept at `num_thresholds` fixed thresholds and added up over the epoch, as tf.keras 2.10
//! computes it.
//!
//! # Math
//! Thresholds (T = `num_thresholds`, 200): `t_0 = −ε`, `t_i = i/(T−1)` for `0 < i < T−1`,
//! `t_{T−1} = 1 + ε`, with ε = 10⁻⁷, so that a score of exactly 0 or 1 still falls inside. At
//! each threshold the scores `ŷ > t_i` say yes; TP, FP, TN, FN are counted as for `Precision`.
//! Keras counts them in one pass, by putting each score in its bucket
//! `b = max(0, ⌈ŷ·(T−1)⌉ − 1)` (ŷ clipped to [0, 1], the product in f32) and summing the
//! buckets from the top: `TP_i = Σ_{b ≥ i} positives in b`.
//!
//! ```text
//! ROC:  x = FPR = FP/(FP+TN),  y = TPR = TP/(TP+FN)
//! PR:   x = recall,            y = precision = TP/(TP+FP)          (0/0 = 0 everywhere)
//! AUC = Σ_i (x_i − x_{i+1}) · h_i,    h_i = (y_i + y_{i+1})/2   ('interpolation')
//!                                          min(y_i, y_{i+1})   ('minoring')
//!                                          max(y_i, y_{i+1})   ('majoring')
//! ```
//!
//! For the PR curve, 'interpolation' is not the trapezoid: following Davis & Goadrich (2006),
//! Keras lets TP and P = TP + FP vary linearly between two thresholds A and B, so that the
//! precision `TP/P` is a hyperbola, and integrates it exactly:
//!
//! ```text
//! slope = ΔTP / ΔP,   intercept = TP_B − slope·P_B
//! area_i = slope · (ΔTP + intercept · ln(P_A / P_B)) / (TP_B + FN_B)
//! ```
//!
//! (`ln` replaced by 0 when P_A or P_B is 0.) The linear trapezoid would overstate the area
//! where precision changes fast, at low recall.
//!
//! `multi_label = false` (the default) flattens a `(N, K)` one-hot target into N·K yes/no
//! decisions: one curve for all classes together (a micro-average). `multi_label = true` keeps a
//! curve per column and averages the K areas: the mean one-vs-rest AUC. `from_logits = true`
//! applies a sigmoid to the scores first.
//!
//! # Shapes
//! As `Precision`: `y_true` the shape of `y_pred` (give a softmax model one-hot targets).
use astrograd_autograd::Tensor;

use super::confusion::{divide_no_nan, Batch};
use crate::{LayerError, Result};

/// Keras's `backend.epsilon()`.
const EPSILON: f64 = 1e-7;

/// Which curve `AUC` measures (`curve='ROC'` or `'PR'`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    /// True-positive rate against false-positive rate.
    ROC,
    /// Precision against recall.
    PR,
}

/// How `AUC` sums the area between two thresholds (`summation_method=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Summation {
    /// The trapezoid for ROC; the Davis–Goadrich hyperbola for PR (`'interpolation'`).
    Interpolation,
    /// The lower of the two heights (`'minoring'`).
    Minoring,
    /// The higher of the two heights (`'majoring'`).
    Majoring,
}

impl Curve {
    /// Keras's spelling (`"ROC"`, `"PR"`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Curve::ROC => "ROC",
            Curve::PR => "PR",
        }
    }

    /// The curve Keras's string names (any case).
    ///
    /// # Errors
    /// Another string.
    pub fn from_name(name: &str) -> Result<Curve> {
        match name.to_ascii_lowercase().as_str() {
            "roc" => Ok(Curve::ROC),
            "pr" => Ok(Curve::PR),
            _ => Err(LayerError::invalid("AUC", "curve 'ROC' or 'PR'", name)),
        }
    }
}

impl Summation {
    /// Keras's spelling (`"interpolation"`, …).
    pub fn as_str(&self) -> &'static str {
        match self {
            Summation::Interpolation => "interpolation",
            Summation::Minoring => "minoring",
            Summation::Majoring => "majoring",
        }
    }

    /// The method Keras's string names.
    ///
    /// # Errors
    /// Another string.
    pub fn from_name(name: &str) -> Result<Summation> {
        match name.to_ascii_lowercase().as_str() {
            "interpolation" => Ok(Summation::Interpolation),
            "minoring" => Ok(Summation::Minoring),
            "majoring" => Ok(Summation::Majoring),
            _ => Err(LayerError::invalid(
                "AUC",
                "summation_method 'interpolation', 'minoring' or 'majoring'",
                name,
            )),
        }
    }
}

/// `tf.keras.metrics.AUC(num_thresholds=200, curve='ROC', summation_method='interpolation',
/// multi_label=False, from_logits=False)` (see the module doc).
///
/// ```
/// use astrograd_autograd::Tensor;
/// use astrograd_layers::training::metrics::AUC;
/// // Keras's docstring: thresholds [0 − ε, 0.5, 1 + ε] give TPR [1, 0.5, 0], FPR [1, 0, 0].
/// let mut m = AUC::new().num_thresholds(3);
/// let y_true = Tensor::from_vec(vec![0.0, 0.0, 1.0, 1.0], &[4])?;
/// let y_pred = Tensor::from_vec(vec![0.0, 0.5, 0.3, 0.9], &[4])?;
/// m.update_state(&y_true, &y_pred, None)?;
/// assert_eq!(m.result(), 0.75);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AUC {
    /// The key in the logs (`auc`).
    pub name: String,
    /// T, the number of thresholds (200, at least 2).
    pub num_thresholds: usize,
    /// ROC or PR.
    pub curve: Curve,
    /// How the area between two thresholds is summed.
    pub summation: Summation,
    /// One curve per column of a `(N, L)` target, their areas averaged.
    pub multi_label: bool,
    /// Apply a sigmoid to the scores first.
    pub from_logits: bool,
    /// The counts, `[threshold][label]` (one label unless `multi_label`).
    counts: Option<ThresholdCounts>,
}

/// TP, FP, TN, FN at each threshold, for each label, flattened `[t·L + l]`.
#[derive(Clone, Debug, PartialEq)]
struct ThresholdCounts {
    labels: usize,
    tp: Vec<f64>,
    fp: Vec<f64>,
    tn: Vec<f64>,
    fn_: Vec<f64>,
}

impl Default for AUC {
    fn default() -> Self {
        AUC::new()
    }
}

impl AUC {
    /// Keras's defaults (ROC, 200 thresholds, interpolation), named `auc`.
    pub fn new() -> AUC {
        AUC {
            name: "auc".into(),
            num_thresholds: 200,
            curve: Curve::ROC,
            summation: Summation::Interpolation,
            multi_label: false,
            from_logits: false,
            counts: None,
        }
    }

    /// `num_thresholds=`.
    pub fn num_thresholds(mut self, n: usize) -> Self {
        self.num_thresholds = n;
        self
    }

    /// `curve=`.
    pub fn curve(mut self, curve: Curve) -> Self {
        self.curve = curve;
        self
    }

    /// `summation_method=`.
    pub fn summation_method(mut self, summation: Summation) -> Self {
        self.summation = summation;
        self
    }

    /// `multi_label=`.
    pub fn multi_label(mut self, multi_label: bool) -> Self {
        self.multi_label = multi_label;
        self
    }

    /// `from_logits=`.
    pub fn from_logits(mut self, from_logits: bool) -> Self {
        self.from_logits = from_logits;
        self
    }

    /// `name=`.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The thresholds, as Keras builds them (`t_0 = −ε`, …, `t_{T−1} = 1 + ε`).
    pub fn thresholds(&self) -> Vec<f64> {
        let n = self.num_thresholds;
        (0..n)
            .map(|i| match i {
                0 => -EPSILON,
                _ if i == n - 1 => 1.0 + EPSILON,
                _ => i as f64 / (n - 1) as f64,
            })
            .collect()
    }

    /// Keras's argument checks (made at compile, and before the first batch).
    ///
    /// # Errors
    /// `num_thresholds` below 2.
    pub fn validate(&self) -> Result<()> {
        if self.num_thresholds <= 1 {
            return Err(LayerError::invalid(
                "AUC",
                "num_thresholds > 1",
                format!("num_thresholds={}", self.num_thresholds),
            ));
        }
        Ok(())
    }

    /// Adds a batch; `sample_weight` holds one weight per sample.
    ///
    /// # Errors
    /// Bad arguments; shapes that do not go together; with `multi_label`, a target that is not
    /// `(N, L)` or an `L` that changed; bad sample weights.
    pub fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&[f32]>,
    ) -> Result<()> {
        self.validate()?;
        let batch = Batch::new("AUC", y_true, y_pred, sample_weight)?;
        let labels = if self.multi_label {
            if batch.rank != 2 {
                return Err(LayerError::invalid(
                    "AUC",
                    "y_true of rank 2 when multi_label=True",
                    format!("y_true of shape {:?}", y_true.shape()),
                ));
            }
            batch.last
        } else {
            1
        };
        let t = self.num_thresholds;
        let counts = self.counts.get_or_insert_with(|| ThresholdCounts {
            labels,
            tp: vec![0.0; t * labels],
            fp: vec![0.0; t * labels],
            tn: vec![0.0; t * labels],
            fn_: vec![0.0; t * labels],
        });
        if counts.labels != labels {
            return Err(LayerError::invalid(
                "AUC",
                format!("{} labels, as in the first batch", counts.labels),
                format!("{labels}"),
            ));
        }
        // Bucketed positives and negatives per label, then summed from the top bucket down.
        let mut pos = vec![0.0f64; t * labels];
        let mut neg = vec![0.0f64; t * labels];
        let (mut total_pos, mut total_neg) = (vec![0.0f64; labels], vec![0.0f64; labels]);
        for (i, (&y, &p)) in batch.y_true.iter().zip(&batch.y_pred).enumerate() {
            let score = if self.from_logits {
                1.0 / (1.0 + (-p).exp())
            } else {
                p
            };
            let score = score.clamp(0.0, 1.0);
            // ⌈ŷ·(T−1)⌉ − 1 in f32, as Keras; the relu puts ŷ = 0 in bucket 0.
            let bucket = ((score * (t - 1) as f32).ceil() - 1.0).max(0.0) as usize;
            let l = i % labels;
            let w = batch.weight(i);
            if y != 0.0 {
                pos[bucket * labels + l] += w;
                total_pos[l] += w;
            } else {
                neg[bucket * labels + l] += w;
                total_neg[l] += w;
            }
        }
        for l in 0..labels {
            let (mut tp, mut fp) = (0.0, 0.0);
            for b in (0..t).rev() {
                let j = b * labels + l;
                tp += pos[j];
                fp += neg[j];
                counts.tp[j] += tp;
                counts.fp[j] += fp;
                counts.tn[j] += total_neg[l] - fp;
                counts.fn_[j] += total_pos[l] - tp;
            }
        }
        Ok(())
    }

    /// The area over every batch since the last reset (0 before any).
    pub fn result(&self) -> f32 {
        let Some(c) = &self.counts else {
            return 0.0;
        };
        let areas: Vec<f64> = (0..c.labels).map(|l| self.area(c, l)).collect();
        (areas.iter().sum::<f64>() / areas.len() as f64) as f32
    }

    /// The area of label `l`'s curve.
    fn area(&self, c: &ThresholdCounts, l: usize) -> f64 {
        let t = self.num_thresholds;
        let at = |v: &Vec<f64>, i: usize| v[i * c.labels + l];
        if self.curve == Curve::PR && self.summation == Summation::Interpolation {
            return (0..t - 1)
                .map(|i| {
                    let (tp_a, tp_b) = (at(&c.tp, i), at(&c.tp, i + 1));
                    let p_a = tp_a + at(&c.fp, i);
                    let p_b = tp_b + at(&c.fp, i + 1);
                    let dtp = tp_a - tp_b;
                    let slope = divide_no_nan(dtp, (p_a - p_b).max(0.0));
                    let intercept = tp_b - slope * p_b;
                    let ratio = if p_a > 0.0 && p_b > 0.0 {
                        divide_no_nan(p_a, p_b.max(0.0))
                    } else {
                        1.0
                    };
                    divide_no_nan(
                        slope * (dtp + intercept * ratio.ln()),
                        (tp_b + at(&c.fn_, i + 1)).max(0.0),
                    )
                })
                .sum();
        }
        let point = |i: usize| {
            let (tp, fp, tn, fn_) = (at(&c.tp, i), at(&c.fp, i), at(&c.tn, i), at(&c.fn_, i));
            let recall = divide_no_nan(tp, tp + fn_);
            match self.curve {
                Curve::ROC => (divide_no_nan(fp, fp + tn), recall),
                Curve::PR => (recall, divide_no_nan(tp, tp + fp)),
            }
        };
        (0..t - 1)
            .map(|i| {
                let ((x_a, y_a), (x_b, y_b)) = (point(i), point(i + 1));
                let height = match self.summation {
                    Summation::Interpolation => (y_a + y_b) / 2.0,
                    Summation::Minoring => y_a.min(y_b),
                    Summation::Majoring => y_a.max(y_b),
                };
                (x_a - x_b) * height
            })
            .sum()
    }

    /// Forgets the batches seen.
    pub fn reset_state(&mut self) {
        self.counts = None;
    }

    /// The counts so far, flat: `tp`, `fp`, `tn`, `fn` (each `(thresholds, labels)`); empty
    /// before any batch.
    pub(crate) fn counts(&self) -> Vec<f64> {
        self.counts.as_ref().map_or_else(Vec::new, |c| {
            super::flatten_four([&c.tp, &c.fp, &c.tn, &c.fn_])
        })
    }

    /// Replaces the counts by `flat`, laid out as [`AUC::counts`] lays them out.
    pub(crate) fn set_counts(&mut self, flat: &[f64]) {
        self.counts =
            super::split_four(flat, self.num_thresholds).map(|[tp, fp, tn, fn_]| ThresholdCounts {
                labels: tp.len() / self.num_thresholds,
                tp,
                fp,
                tn,
                fn_,
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

    #[test]
    fn thresholds_have_epsilon_ends() {
        let th = AUC::new().num_thresholds(5).thresholds();
        assert_eq!(th, vec![-1e-7, 0.25, 0.5, 0.75, 1.0 + 1e-7]);
        assert!(AUC::new().num_thresholds(1).validate().is_err());
    }

    /// A perfect ranking has area 1 on both curves; a reversed one 0 under ROC.
    #[test]
    fn perfect_and_reversed_rankings() {
        let y = t(&[0., 0., 1., 1.], &[4]);
        let good = t(&[0.1, 0.2, 0.8, 0.9], &[4]);
        for curve in [Curve::ROC, Curve::PR] {
            let mut m = AUC::new().curve(curve);
            m.update_state(&y, &good, None).unwrap();
            assert!((m.result() - 1.0).abs() < 1e-6, "{curve:?} {}", m.result());
        }
        let mut m = AUC::new();
        m.update_state(&y, &t(&[0.9, 0.8, 0.2, 0.1], &[4]), None)
            .unwrap();
        assert!(m.result().abs() < 1e-6);
    }

    #[test]
    fn multi_label_averages_the_columns() {
        // Column 0 perfectly ranked (1), column 1 reversed (0): the mean is 0.5.
        let y = t(&[1., 0., 0., 1., 1., 0., 0., 1.], &[4, 2]);
        let p = t(&[0.9, 0.9, 0.2, 0.1, 0.7, 0.8, 0.1, 0.2], &[4, 2]);
        let mut m = AUC::new().multi_label(true);
        m.update_state(&y, &p, None).unwrap();
        assert!((m.result() - 0.5).abs() < 1e-6, "{}", m.result());
        assert!(m
            .update_state(&t(&[1.0], &[1]), &t(&[0.5], &[1]), None)
            .is_err());
    }

    proptest! {
        /// Any scores: the area is in [0, 1]; scores that separate the classes give 1.
        #[test]
        fn area_in_0_1_and_perfect_ranking_is_1(
            rows in prop::collection::vec((0u8..2, 0.0f32..1.0), 2..40),
            curve_pr in any::<bool>(),
        ) {
            let n = rows.len();
            let labels: Vec<f32> = rows.iter().map(|r| f32::from(r.0)).collect();
            let scores: Vec<f32> = rows.iter().map(|r| r.1).collect();
            let curve = if curve_pr { Curve::PR } else { Curve::ROC };
            let mut m = AUC::new().curve(curve);
            m.update_state(&t(&labels, &[n]), &t(&scores, &[n]), None).unwrap();
            prop_assert!((-1e-6..=1.0 + 1e-6).contains(&m.result()));
            // Positives at 0.75 and above, negatives at 0.25 and below.
            let separated: Vec<f32> = rows
                .iter()
                .map(|r| if r.0 == 1 { 0.75 + r.1 / 4.0 } else { r.1 / 4.0 })
                .collect();
            let has_both = labels.contains(&1.0) && labels.contains(&0.0);
            let mut m = AUC::new().curve(curve);
            m.update_state(&t(&labels, &[n]), &t(&separated, &[n]), None).unwrap();
            if has_both {
                prop_assert!((m.result() - 1.0).abs() < 1e-5, "{}", m.result());
            }
        }
    }
}
