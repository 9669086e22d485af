//! Metrics for `compile(metrics=[…])`, and the running means that `fit` reports.
//!
//! | file | metric (Keras's name → history key) |
//! |---|---|
//! | `mod.rs` | `'accuracy'` and its three forms, `'mse'`, `'mae'`: means over the samples |
//! | [`top_k`] | `'top_k_categorical_accuracy'`, `'sparse_top_k_categorical_accuracy'` (k = 5) |
//! | [`confusion`] | [`Precision`] → `precision`, [`Recall`] → `recall`: counts over the epoch |
//! | [`auc`] | [`AUC`] → `auc` (ROC or PR, Keras's interpolation) |
//! | [`f1_score`] | [`F1Score`] → `f1_score` (Keras 3; micro, macro, weighted) |
//! | [`report`] | scikit-learn's `classification_report`, `precision_recall_fscore_support` |
//! | [`curves`] | scikit-learn's `roc_curve`, `precision_recall_curve` and their areas |
//!
//! The means are Keras's `MeanMetricWrapper`: a value per sample, averaged. Precision, recall,
//! AUC and F1 are not means of per-batch values: they keep counts (true positives, false
//! positives, …) through the epoch and divide once at the end, so that a batch without a
//! positive does not pull the epoch's number down.
//!
//! # 'accuracy', resolved as Keras does
//! `'accuracy'` (or `'acc'`) becomes one of three functions, chosen from the shapes of the first
//! batch (`docs/keras-semantics.md` §3, Keras's `compile_utils`):
//!
//! | shapes | metric | one sample is right when |
//! |---|---|---|
//! | `y_pred` last axis 1 | binary accuracy | `(ŷ > 0.5) == y`, strictly, even when `ŷ` are logits |
//! | `y_true` of lower rank, or its last axis 1 | sparse categorical accuracy | `argmax ŷ == y` |
//! | otherwise | categorical accuracy | `argmax ŷ == argmax y` |
//!
//! `argmax` takes the first of equal maxima. The history key is the string written in `compile`
//! (`'acc'` stays `'acc'`).
//!
//! # Running means
//! The numbers `fit` prints after each batch and keeps at the end of an epoch are means over
//! every sample seen so far in the epoch, each batch weighted by its size: `Σ_b n_b·m_b / Σ_b n_b`.
pub mod auc;
pub mod confusion;
pub mod curves;
pub mod f1_score;
pub mod report;
pub mod top_k;

use astrograd_autograd::Tensor;

pub use auc::{Curve, Summation, AUC};
use confusion::Counts;
pub use confusion::{Precision, Recall};
pub use f1_score::{Average, F1Score};

use crate::{LayerError, Result};

/// A metric function, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricFn {
    /// `mean((ŷ > 0.5) == y)` over the last axis.
    BinaryAccuracy,
    /// `argmax ŷ == y` for integer labels.
    SparseCategoricalAccuracy,
    /// `argmax ŷ == argmax y` for one-hot rows.
    CategoricalAccuracy,
    /// `mean((y − ŷ)²)` over the last axis.
    MeanSquaredError,
    /// `mean(|y − ŷ|)` over the last axis.
    MeanAbsoluteError,
    /// `argmax y` among the `k` highest of `ŷ` (see [`top_k`]).
    TopKCategoricalAccuracy {
        /// How many guesses count.
        k: usize,
    },
    /// The integer label `y` among the `k` highest of `ŷ` (see [`top_k`]).
    SparseTopKCategoricalAccuracy {
        /// How many guesses count.
        k: usize,
    },
}

/// The metric names [`Metric::new`] knows: Keras's function names (the history key is the
/// string given) and class names (the key is the class's default name: `'AUC'` → `auc`).
pub const METRIC_NAMES: [&str; 21] = [
    "accuracy",
    "acc",
    "binary_accuracy",
    "sparse_categorical_accuracy",
    "categorical_accuracy",
    "mse",
    "mean_squared_error",
    "mae",
    "mean_absolute_error",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "Precision",
    "precision",
    "Recall",
    "recall",
    "AUC",
    "auc",
    "F1Score",
    "f1_score",
];

/// What a metric computes: a mean over the samples, or a metric that keeps counts through the
/// epoch.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricKind {
    /// A per-sample function, averaged (Keras's `MeanMetricWrapper`); `None` for `'accuracy'`
    /// until the first batch shows the shapes.
    Mean(Option<MetricFn>),
    /// `Precision(...)`.
    Precision(Precision),
    /// `Recall(...)`.
    Recall(Recall),
    /// `AUC(...)`.
    AUC(AUC),
    /// `F1Score(...)` (Keras 3).
    F1Score(F1Score),
}

/// A metric as given to `compile`: its name (the history key) and what it computes.
///
/// ```
/// use astrograd_layers::training::metrics::{Curve, Metric, AUC};
/// assert_eq!(Metric::new("AUC")?.name, "auc");
/// assert_eq!(Metric::new("acc")?.name, "acc");
/// let pr: Metric = AUC::new().curve(Curve::PR).name("pr_auc").into();
/// assert_eq!(pr.name, "pr_auc");
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// The key in the logs and the history.
    pub name: String,
    /// What it computes.
    kind: MetricKind,
}

impl Metric {
    /// The metric a `compile` string names (see [`METRIC_NAMES`]).
    ///
    /// # Errors
    /// [`LayerError::UnknownName`] listing the known names.
    pub fn new(name: &str) -> Result<Metric> {
        let mean = |function: Option<MetricFn>| Metric {
            name: name.to_string(),
            kind: MetricKind::Mean(function),
        };
        Ok(match name {
            "accuracy" | "acc" => mean(None),
            "binary_accuracy" => mean(Some(MetricFn::BinaryAccuracy)),
            "sparse_categorical_accuracy" => mean(Some(MetricFn::SparseCategoricalAccuracy)),
            "categorical_accuracy" => mean(Some(MetricFn::CategoricalAccuracy)),
            "mse" | "mean_squared_error" => mean(Some(MetricFn::MeanSquaredError)),
            "mae" | "mean_absolute_error" => mean(Some(MetricFn::MeanAbsoluteError)),
            "top_k_categorical_accuracy" => mean(Some(MetricFn::TopKCategoricalAccuracy { k: 5 })),
            "sparse_top_k_categorical_accuracy" => {
                mean(Some(MetricFn::SparseTopKCategoricalAccuracy { k: 5 }))
            }
            "TopKCategoricalAccuracy" => Metric::top_k_categorical_accuracy(5),
            "SparseTopKCategoricalAccuracy" => Metric::sparse_top_k_categorical_accuracy(5),
            "Precision" | "precision" => Precision::new().into(),
            "Recall" | "recall" => Recall::new().into(),
            "AUC" | "auc" => AUC::new().into(),
            "F1Score" | "f1_score" => F1Score::new().into(),
            _ => {
                return Err(LayerError::UnknownName {
                    kind: "metric",
                    name: name.to_string(),
                    known: METRIC_NAMES.join(", "),
                })
            }
        })
    }

    /// `TopKCategoricalAccuracy(k=k)`, named `top_k_categorical_accuracy`.
    pub fn top_k_categorical_accuracy(k: usize) -> Metric {
        Metric {
            name: "top_k_categorical_accuracy".into(),
            kind: MetricKind::Mean(Some(MetricFn::TopKCategoricalAccuracy { k })),
        }
    }

    /// `SparseTopKCategoricalAccuracy(k=k)`, named `sparse_top_k_categorical_accuracy`.
    pub fn sparse_top_k_categorical_accuracy(k: usize) -> Metric {
        Metric {
            name: "sparse_top_k_categorical_accuracy".into(),
            kind: MetricKind::Mean(Some(MetricFn::SparseTopKCategoricalAccuracy { k })),
        }
    }

    /// This metric under another name (Keras's `name=`).
    pub fn named(mut self, name: &str) -> Metric {
        self.name = name.to_string();
        match &mut self.kind {
            MetricKind::Mean(_) => {}
            MetricKind::Precision(m) => m.name = self.name.clone(),
            MetricKind::Recall(m) => m.name = self.name.clone(),
            MetricKind::AUC(m) => m.name = self.name.clone(),
            MetricKind::F1Score(m) => m.name = self.name.clone(),
        }
        self
    }

    /// What it computes.
    pub fn kind(&self) -> &MetricKind {
        &self.kind
    }

    /// Checks the metric's arguments, as `compile` does.
    ///
    /// # Errors
    /// `k = 0` for top-k; `AUC` with fewer than 2 thresholds; `F1Score` with a threshold outside
    /// (0, 1] or with `average = None`, whose one number per class the logs cannot hold.
    pub fn validate(&self) -> Result<()> {
        match &self.kind {
            MetricKind::Mean(Some(
                MetricFn::TopKCategoricalAccuracy { k }
                | MetricFn::SparseTopKCategoricalAccuracy { k },
            )) if *k == 0 => Err(LayerError::invalid(&self.name, "k ≥ 1", "k=0")),
            MetricKind::AUC(m) => m.validate(),
            MetricKind::F1Score(m) => {
                m.validate()?;
                if m.average == Average::None {
                    return Err(LayerError::invalid(
                        format!("metric {}", self.name),
                        "F1Score with average 'macro', 'weighted' or 'micro' in compile \
                         (average=None gives one number per class, which the progress bar and the \
                         history cannot hold; classification_report prints them)",
                        "average=None",
                    ));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The function, choosing it for `'accuracy'` from the shapes of a batch (see the module
    /// doc); a choice once made stays. `None` for the metrics that keep counts.
    pub fn resolve(&mut self, y_true: &[usize], y_pred: &[usize]) -> Option<MetricFn> {
        match &mut self.kind {
            MetricKind::Mean(function) => {
                Some(*function.get_or_insert_with(|| resolve_accuracy(y_true, y_pred)))
            }
            _ => None,
        }
    }

    /// The function of a mean metric, if chosen.
    pub fn function(&self) -> Option<MetricFn> {
        match self.kind {
            MetricKind::Mean(function) => function,
            _ => None,
        }
    }

    /// Chooses the function (a model file names it: `"fn": "sparse_categorical_accuracy"`).
    pub fn set_function(&mut self, function: MetricFn) {
        self.kind = MetricKind::Mean(Some(function));
    }

    /// Whether this metric is a mean over the samples (rather than counts over the epoch).
    pub fn is_mean(&self) -> bool {
        matches!(self.kind, MetricKind::Mean(_))
    }

    /// Adds a batch to a metric that keeps counts (a mean metric is added up by `fit`
    /// itself; here it does nothing).
    ///
    /// # Errors
    /// The metric's errors (shapes, arguments, weights).
    pub fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&[f32]>,
    ) -> Result<()> {
        match &mut self.kind {
            MetricKind::Mean(_) => Ok(()),
            MetricKind::Precision(m) => m.update_state(y_true, y_pred, sample_weight),
            MetricKind::Recall(m) => m.update_state(y_true, y_pred, sample_weight),
            MetricKind::AUC(m) => m.update_state(y_true, y_pred, sample_weight),
            MetricKind::F1Score(m) => m.update_state(y_true, y_pred, sample_weight),
        }
    }

    /// The result of a metric that keeps counts (0 for a mean metric, whose mean `fit` keeps).
    pub fn result(&self) -> f32 {
        match &self.kind {
            MetricKind::Mean(_) => 0.0,
            MetricKind::Precision(m) => m.result(),
            MetricKind::Recall(m) => m.result(),
            MetricKind::AUC(m) => m.result(),
            MetricKind::F1Score(m) => m.result(),
        }
    }

    /// Forgets the batches seen.
    pub fn reset_state(&mut self) {
        match &mut self.kind {
            MetricKind::Mean(_) => {}
            MetricKind::Precision(m) => m.reset_state(),
            MetricKind::Recall(m) => m.reset_state(),
            MetricKind::AUC(m) => m.reset_state(),
            MetricKind::F1Score(m) => m.reset_state(),
        }
    }

    /// The counts of a metric that keeps counts, flat (empty for a mean metric, and before
    /// any batch): data-parallel training adds them up across processes, since every count is
    /// a sum over samples.
    pub(crate) fn counts(&self) -> Vec<f64> {
        let pr = |c: &Counts| vec![c.tp, c.fp, c.fn_];
        match &self.kind {
            MetricKind::Mean(_) => Vec::new(),
            MetricKind::Precision(m) => pr(&m.counts),
            MetricKind::Recall(m) => pr(&m.counts),
            MetricKind::AUC(m) => m.counts(),
            MetricKind::F1Score(m) => m.counts(),
        }
    }

    /// Replaces the counts by `flat`, as [`Metric::counts`] lays them out.
    pub(crate) fn set_counts(&mut self, flat: &[f64]) {
        let pr = |c: &mut Counts| {
            if let [tp, fp, fn_] = flat {
                *c = Counts {
                    tp: *tp,
                    fp: *fp,
                    fn_: *fn_,
                };
            }
        };
        match &mut self.kind {
            MetricKind::Mean(_) => {}
            MetricKind::Precision(m) => pr(&mut m.counts),
            MetricKind::Recall(m) => pr(&mut m.counts),
            MetricKind::AUC(m) => m.set_counts(flat),
            MetricKind::F1Score(m) => m.set_counts(flat),
        }
    }
}

/// The counts of AUC and F1Score as data-parallel training sends them: four lists of one length
/// (true positives, false positives, …) one after the other.
pub(crate) fn flatten_four(parts: [&Vec<f64>; 4]) -> Vec<f64> {
    parts.into_iter().flatten().copied().collect()
}

/// The four lists of [`flatten_four`] again; `None` for no counts, or a length that does not
/// split in four lists of `len % unit == 0`.
pub(crate) fn split_four(flat: &[f64], unit: usize) -> Option<[Vec<f64>; 4]> {
    let part = flat.len() / 4;
    if flat.is_empty() || unit == 0 || !flat.len().is_multiple_of(4) || !part.is_multiple_of(unit) {
        return None;
    }
    let quarter = |i: usize| flat[i * part..(i + 1) * part].to_vec();
    Some([quarter(0), quarter(1), quarter(2), quarter(3)])
}

impl From<Precision> for Metric {
    fn from(m: Precision) -> Metric {
        Metric {
            name: m.name.clone(),
            kind: MetricKind::Precision(m),
        }
    }
}

impl From<Recall> for Metric {
    fn from(m: Recall) -> Metric {
        Metric {
            name: m.name.clone(),
            kind: MetricKind::Recall(m),
        }
    }
}

impl From<AUC> for Metric {
    fn from(m: AUC) -> Metric {
        Metric {
            name: m.name.clone(),
            kind: MetricKind::AUC(m),
        }
    }
}

impl From<F1Score> for Metric {
    fn from(m: F1Score) -> Metric {
        Metric {
            name: m.name.clone(),
            kind: MetricKind::F1Score(m),
        }
    }
}

/// One entry of `compile(metrics=[…])`: a name, or a configured metric.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricSpec {
    /// `"accuracy"`, `"AUC"`, …
    Name(String),
    /// `AUC(curve='PR')`, …
    Metric(Metric),
}

impl MetricSpec {
    /// The metric it names or holds.
    ///
    /// # Errors
    /// An unknown name.
    pub fn resolve(self) -> Result<Metric> {
        match self {
            MetricSpec::Name(name) => Metric::new(&name),
            MetricSpec::Metric(metric) => Ok(metric),
        }
    }
}

impl From<&str> for MetricSpec {
    fn from(name: &str) -> MetricSpec {
        MetricSpec::Name(name.to_string())
    }
}

impl From<String> for MetricSpec {
    fn from(name: String) -> MetricSpec {
        MetricSpec::Name(name)
    }
}

impl<M: Into<Metric>> From<M> for MetricSpec {
    fn from(metric: M) -> MetricSpec {
        MetricSpec::Metric(metric.into())
    }
}

/// What `compile` takes as its metrics: names (`&["accuracy"]`, `&[]`) or a list mixing names
/// and configured metrics (`vec!["accuracy".into(), AUC::new().into()]`).
pub trait MetricList {
    /// The metrics, in order.
    ///
    /// # Errors
    /// An unknown name.
    fn into_metrics(self) -> Result<Vec<Metric>>;
}

impl<const N: usize> MetricList for &[&str; N] {
    fn into_metrics(self) -> Result<Vec<Metric>> {
        self.iter().map(|name| Metric::new(name)).collect()
    }
}

impl MetricList for &[&str] {
    fn into_metrics(self) -> Result<Vec<Metric>> {
        self.iter().map(|name| Metric::new(name)).collect()
    }
}

impl MetricList for &Vec<&str> {
    fn into_metrics(self) -> Result<Vec<Metric>> {
        self.iter().map(|name| Metric::new(name)).collect()
    }
}

impl MetricList for Vec<MetricSpec> {
    fn into_metrics(self) -> Result<Vec<Metric>> {
        self.into_iter().map(MetricSpec::resolve).collect()
    }
}

/// Keras's choice for `'accuracy'` (`compile_utils.MetricsContainer._get_metric_object`).
pub fn resolve_accuracy(y_true: &[usize], y_pred: &[usize]) -> MetricFn {
    let y_pred_last = y_pred.last().copied();
    let y_true_last = y_true.last().copied();
    let is_binary = y_pred_last == Some(1);
    let is_sparse =
        y_true.len() < y_pred.len() || (y_true_last == Some(1) && y_pred_last.unwrap_or(0) > 1);
    if is_binary {
        MetricFn::BinaryAccuracy
    } else if is_sparse {
        MetricFn::SparseCategoricalAccuracy
    } else {
        MetricFn::CategoricalAccuracy
    }
}

impl MetricFn {
    /// The sum over the samples of a batch of the per-sample values, and the number of samples
    /// (the rows of `y_pred`, all axes but the last).
    ///
    /// # Errors
    /// [`LayerError::Invalid`] when the shapes of `y_pred` and `y_true` do not go together.
    pub fn batch_sum(&self, y_pred: &Tensor, y_true: &Tensor) -> Result<(f64, usize)> {
        let classes = *y_pred.shape().last().unwrap_or(&1);
        let rows = y_pred.numel().checked_div(classes).unwrap_or(0);
        if y_pred.device() != astrograd_autograd::Device::Cpu {
            let (sum, rows) = self.device_batch_sum(y_pred, y_true)?;
            return Ok((f64::from(sum.item()?), rows));
        }
        let values = self.per_sample(y_pred.as_slice()?, y_true.as_slice()?, y_pred, y_true)?;
        Ok((values.iter().sum(), rows))
    }

    /// The value of each sample (row of `y_pred`), from host slices of `y_pred` and `y_true`
    /// (whose shapes the tensors give, for the checks).
    ///
    /// # Errors
    /// As [`MetricFn::batch_sum`].
    pub fn per_sample(
        &self,
        p: &[f32],
        t: &[f32],
        y_pred: &Tensor,
        y_true: &Tensor,
    ) -> Result<Vec<f64>> {
        let classes = (*y_pred.shape().last().unwrap_or(&1)).max(1);
        let rows = p.len() / classes;
        let hit = |b: bool| f64::from(u8::from(b));
        Ok(match self {
            MetricFn::SparseCategoricalAccuracy => {
                self.check(t.len() == rows, y_pred, y_true)?;
                p.chunks_exact(classes)
                    .zip(t)
                    .map(|(row, &label)| hit(first_argmax(row) as f32 == label))
                    .collect()
            }
            MetricFn::CategoricalAccuracy => {
                self.check(t.len() == p.len(), y_pred, y_true)?;
                p.chunks_exact(classes)
                    .zip(t.chunks_exact(classes))
                    .map(|(row, target)| hit(first_argmax(row) == first_argmax(target)))
                    .collect()
            }
            MetricFn::SparseTopKCategoricalAccuracy { k } => {
                self.check(t.len() == rows, y_pred, y_true)?;
                p.chunks_exact(classes)
                    .zip(t)
                    .map(|(row, &label)| {
                        hit(label >= 0.0 && top_k::in_top_k(row, label as usize, *k))
                    })
                    .collect()
            }
            MetricFn::TopKCategoricalAccuracy { k } => {
                self.check(t.len() == p.len(), y_pred, y_true)?;
                p.chunks_exact(classes)
                    .zip(t.chunks_exact(classes))
                    .map(|(row, target)| hit(top_k::in_top_k(row, first_argmax(target), *k)))
                    .collect()
            }
            MetricFn::BinaryAccuracy => {
                self.check(t.len() == p.len(), y_pred, y_true)?;
                per_sample_mean(p, t, classes, |p, t| {
                    f64::from(((p > 0.5) as u8 as f32) == t)
                })
            }
            MetricFn::MeanSquaredError => {
                self.check(t.len() == p.len(), y_pred, y_true)?;
                per_sample_mean(p, t, classes, |p, t| f64::from((p - t) * (p - t)))
            }
            MetricFn::MeanAbsoluteError => {
                self.check(t.len() == p.len(), y_pred, y_true)?;
                per_sample_mean(p, t, classes, |p, t| f64::from((p - t).abs()))
            }
        })
    }

    /// [`MetricFn::batch_sum`] computed where the predictions are, left there: a one-element
    /// tensor on the GPU that `fit` adds up and reads back only when it shows it.
    ///
    /// # Errors
    /// As [`MetricFn::batch_sum`].
    pub fn device_batch_sum(&self, y_pred: &Tensor, y_true: &Tensor) -> Result<(Tensor, usize)> {
        let classes = *y_pred.shape().last().unwrap_or(&1);
        let rows = y_pred.numel().checked_div(classes).unwrap_or(0);
        Ok((self.sum_on_device(y_pred, y_true, classes)?, rows))
    }

    /// Which of the GPU's accuracy counts this metric is, if it is one.
    pub(crate) fn accuracy_kind(&self) -> Option<astrograd_tensor::nn::metrics::AccuracyKind> {
        use astrograd_tensor::nn::metrics::AccuracyKind;
        match self {
            MetricFn::SparseCategoricalAccuracy => Some(AccuracyKind::SparseCategorical),
            MetricFn::CategoricalAccuracy => Some(AccuracyKind::Categorical),
            MetricFn::BinaryAccuracy => Some(AccuracyKind::Binary),
            _ => None,
        }
    }

    fn sum_on_device(&self, y_pred: &Tensor, y_true: &Tensor, classes: usize) -> Result<Tensor> {
        use astrograd_tensor::nn::metrics::accuracy_count;
        if let Some(kind) = self.accuracy_kind() {
            return Ok(accuracy_count(kind, y_pred, y_true)?);
        }
        match self {
            MetricFn::TopKCategoricalAccuracy { .. }
            | MetricFn::SparseTopKCategoricalAccuracy { .. } => {
                // No GPU kernel: the scores are read back (K values a sample) and counted here.
                let (p, t) = (y_pred.to_vec()?, y_true.to_vec()?);
                let sum: f64 = self.per_sample(&p, &t, y_pred, y_true)?.iter().sum();
                Ok(Tensor::scalar(sum as f32).to(y_pred.device())?)
            }
            // MeanSquaredError, MeanAbsoluteError (the accuracies returned above).
            _ => {
                self.check(y_true.numel() == y_pred.numel(), y_pred, y_true)?;
                let error = y_pred.sub(&y_true.reshape(y_pred.shape())?)?;
                let per_value = if *self == MetricFn::MeanSquaredError {
                    error.mul(&error)?
                } else {
                    error.abs()
                };
                // Σ_rows mean_j = (Σ over every value) / d.
                Ok(per_value.sum_all().mul_scalar(1.0 / classes.max(1) as f32))
            }
        }
    }

    fn check(&self, fits: bool, y_pred: &Tensor, y_true: &Tensor) -> Result<()> {
        if fits {
            return Ok(());
        }
        let expected = match self {
            MetricFn::SparseCategoricalAccuracy => "one integer label per row of y_pred",
            _ => "y_true with as many values as y_pred",
        };
        Err(LayerError::invalid(
            format!("metric {self:?}"),
            expected,
            format!(
                "y_pred of shape {:?} and y_true of shape {:?}",
                y_pred.shape(),
                y_true.shape()
            ),
        ))
    }
}

/// Index of the largest value, the first one on ties (as `tf.argmax`): the accuracy kernel's.
pub(crate) use astrograd_tensor::nn::metrics::first_argmax;

/// `mean_j f(p_j, t_j)` for each row of `d` values.
fn per_sample_mean(p: &[f32], t: &[f32], d: usize, f: impl Fn(f32, f32) -> f64) -> Vec<f64> {
    p.chunks_exact(d)
        .zip(t.chunks_exact(d))
        .map(|(p, t)| p.iter().zip(t).map(|(&p, &t)| f(p, t)).sum::<f64>() / d as f64)
        .collect()
}

/// A mean over the samples seen so far (Keras's `Mean` metric): `total / count`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunningMean {
    pub(crate) total: f64,
    pub(crate) count: f64,
}

impl RunningMean {
    /// Adds a batch: the sum of its per-sample values and how many samples it had.
    pub fn add(&mut self, sum: f64, count: usize) {
        self.total += sum;
        self.count += count as f64;
    }

    /// Adds a batch whose mean is `mean`, weighted by its `count` samples (the loss).
    pub fn add_mean(&mut self, mean: f32, count: usize) {
        self.add(f64::from(mean) * count as f64, count);
    }

    /// The mean so far (0 before any sample, as Keras's `Mean`).
    pub fn result(&self) -> f32 {
        if self.count == 0.0 {
            0.0
        } else {
            (self.total / self.count) as f32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What data-parallel training sends of a counting metric brings it back whole, and the
    /// counts of two processes added up give the result of all their samples.
    #[test]
    fn counts_round_trip_and_add_up() {
        let y_true = t(vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0], &[4, 2]);
        let y_pred = t(vec![0.8, 0.2, 0.6, 0.4, 0.3, 0.7, 0.1, 0.9], &[4, 2]);
        let metrics: Vec<Metric> = vec![
            Precision::new().into(),
            Recall::new().into(),
            AUC::new().into(),
            F1Score::new().into(),
        ];
        for mut metric in metrics {
            metric.update_state(&y_true, &y_pred, None).unwrap();
            let counts = metric.counts();
            assert!(!counts.is_empty(), "{}", metric.name);
            let mut fresh = metric.clone();
            fresh.reset_state();
            assert!(fresh.counts().is_empty() || fresh.counts().iter().all(|&c| c == 0.0));
            fresh.set_counts(&counts);
            assert_eq!(fresh.counts(), counts, "{}", metric.name);
            assert_eq!(fresh.result(), metric.result(), "{}", metric.name);
            // The same batch seen by two processes: twice the counts, the same result.
            let twice: Vec<f64> = counts.iter().map(|c| 2.0 * c).collect();
            fresh.set_counts(&twice);
            metric.update_state(&y_true, &y_pred, None).unwrap();
            assert_eq!(fresh.counts(), metric.counts(), "{}", metric.name);
            assert_eq!(fresh.result(), metric.result(), "{}", metric.name);
        }
    }

    fn t(values: Vec<f32>, shape: &[usize]) -> Tensor {
        Tensor::from_vec(values, shape).unwrap()
    }

    /// The three cases of `'accuracy'`, as Keras 2.10 picks them.
    #[test]
    fn accuracy_resolves_from_the_shapes() {
        struct Case {
            y_true: &'static [usize],
            y_pred: &'static [usize],
            expected: MetricFn,
        }
        let cases = [
            Case {
                y_true: &[8],
                y_pred: &[8, 1],
                expected: MetricFn::BinaryAccuracy,
            },
            Case {
                y_true: &[8, 1],
                y_pred: &[8, 1],
                expected: MetricFn::BinaryAccuracy,
            },
            Case {
                y_true: &[8],
                y_pred: &[8, 10],
                expected: MetricFn::SparseCategoricalAccuracy,
            },
            Case {
                y_true: &[8, 1],
                y_pred: &[8, 10],
                expected: MetricFn::SparseCategoricalAccuracy,
            },
            Case {
                y_true: &[8, 10],
                y_pred: &[8, 10],
                expected: MetricFn::CategoricalAccuracy,
            },
        ];
        for case in cases {
            let mut metric = Metric::new("acc").unwrap();
            assert_eq!(
                metric.resolve(case.y_true, case.y_pred),
                Some(case.expected)
            );
            assert_eq!(metric.name, "acc");
        }
        let err = Metric::new("accuracyy").unwrap_err().to_string();
        assert!(
            err.starts_with("Unknown metric: 'accuracyy'. Known: accuracy, acc"),
            "{err}"
        );
    }

    #[test]
    fn accuracies_count_the_right_samples() {
        // Ties go to the first maximum: row 2 predicts class 0.
        let probs = t(vec![0.1, 0.9, 0.8, 0.2, 0.5, 0.5], &[3, 2]);
        let labels = t(vec![1.0, 1.0, 0.0], &[3]);
        let sparse = MetricFn::SparseCategoricalAccuracy
            .batch_sum(&probs, &labels)
            .unwrap();
        assert_eq!(sparse, (2.0, 3));
        let one_hot = t(vec![0.0, 1.0, 1.0, 0.0, 0.0, 1.0], &[3, 2]);
        let cat = MetricFn::CategoricalAccuracy
            .batch_sum(&probs, &one_hot)
            .unwrap();
        assert_eq!(cat, (2.0, 3));
        // 0.5 is not > 0.5.
        let p = t(vec![0.5, 0.51, -3.0], &[3, 1]);
        let y = t(vec![1.0, 1.0, 0.0], &[3]);
        assert_eq!(
            MetricFn::BinaryAccuracy.batch_sum(&p, &y).unwrap(),
            (2.0, 3)
        );
        let mae = MetricFn::MeanAbsoluteError.batch_sum(&p, &y).unwrap();
        assert!((mae.0 - (0.5 + 0.49 + 3.0)).abs() < 1e-6);
        let err = MetricFn::SparseCategoricalAccuracy
            .batch_sum(&probs, &t(vec![1.0], &[1]))
            .unwrap_err();
        assert!(err.to_string().contains("shape [3, 2]"), "{err}");
    }

    #[test]
    fn running_means_weight_batches_by_size() {
        let mut mean = RunningMean::default();
        assert_eq!(mean.result(), 0.0);
        mean.add_mean(1.0, 32);
        mean.add_mean(4.0, 16); // a partial last batch counts half
        assert_eq!(mean.result(), 2.0);
    }
}
