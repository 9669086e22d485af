//! Metrics for `compile(metrics=[…])`, and the running means that `fit` reports.
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
use astrograd_autograd::Tensor;

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
}

/// The metric names [`Metric::new`] knows.
pub const METRIC_NAMES: [&str; 9] = [
    "accuracy",
    "acc",
    "binary_accuracy",
    "sparse_categorical_accuracy",
    "categorical_accuracy",
    "mse",
    "mean_squared_error",
    "mae",
    "mean_absolute_error",
];

/// A metric as written in `compile`: its name (the history key) and its function, which for
/// `'accuracy'` is only known once the first batch shows the shapes.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// The key in the logs and the history: the string the user wrote.
    pub name: String,
    /// The function, `None` for `'accuracy'` until [`Metric::resolve`] sees the shapes.
    function: Option<MetricFn>,
}

impl Metric {
    /// The metric a `compile` string names.
    ///
    /// # Errors
    /// [`LayerError::UnknownName`] listing the known names.
    pub fn new(name: &str) -> Result<Metric> {
        let function = match name {
            "accuracy" | "acc" => None,
            "binary_accuracy" => Some(MetricFn::BinaryAccuracy),
            "sparse_categorical_accuracy" => Some(MetricFn::SparseCategoricalAccuracy),
            "categorical_accuracy" => Some(MetricFn::CategoricalAccuracy),
            "mse" | "mean_squared_error" => Some(MetricFn::MeanSquaredError),
            "mae" | "mean_absolute_error" => Some(MetricFn::MeanAbsoluteError),
            _ => {
                return Err(LayerError::UnknownName {
                    kind: "metric",
                    name: name.to_string(),
                    known: METRIC_NAMES.join(", "),
                })
            }
        };
        Ok(Metric {
            name: name.to_string(),
            function,
        })
    }

    /// The function, choosing it for `'accuracy'` from the shapes of a batch (see the module
    /// doc); a choice once made stays.
    pub fn resolve(&mut self, y_true: &[usize], y_pred: &[usize]) -> MetricFn {
        *self
            .function
            .get_or_insert_with(|| resolve_accuracy(y_true, y_pred))
    }

    /// The function, if chosen.
    pub fn function(&self) -> Option<MetricFn> {
        self.function
    }

    /// Chooses the function (a model file names it: `"fn": "sparse_categorical_accuracy"`).
    pub fn set_function(&mut self, function: MetricFn) {
        self.function = Some(function);
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
        let p = y_pred.as_slice()?;
        let t = y_true.as_slice()?;
        let sum = match self {
            MetricFn::SparseCategoricalAccuracy => {
                self.check(t.len() == rows, y_pred, y_true)?;
                p.chunks_exact(classes)
                    .zip(t)
                    .filter(|(row, &label)| first_argmax(row) as f32 == label)
                    .count() as f64
            }
            MetricFn::CategoricalAccuracy => {
                self.check(t.len() == p.len(), y_pred, y_true)?;
                p.chunks_exact(classes)
                    .zip(t.chunks_exact(classes))
                    .filter(|(row, target)| first_argmax(row) == first_argmax(target))
                    .count() as f64
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
        };
        Ok((sum, rows))
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

    fn sum_on_device(&self, y_pred: &Tensor, y_true: &Tensor, classes: usize) -> Result<Tensor> {
        use astrograd_tensor::nn::metrics::{accuracy_count, AccuracyKind};
        let kind = match self {
            MetricFn::SparseCategoricalAccuracy => AccuracyKind::SparseCategorical,
            MetricFn::CategoricalAccuracy => AccuracyKind::Categorical,
            MetricFn::BinaryAccuracy => AccuracyKind::Binary,
            MetricFn::MeanSquaredError | MetricFn::MeanAbsoluteError => {
                self.check(y_true.numel() == y_pred.numel(), y_pred, y_true)?;
                let error = y_pred.sub(&y_true.reshape(y_pred.shape())?)?;
                let per_value = if *self == MetricFn::MeanSquaredError {
                    error.mul(&error)?
                } else {
                    error.abs()
                };
                // Σ_rows mean_j = (Σ over every value) / d.
                return Ok(per_value.sum_all().mul_scalar(1.0 / classes.max(1) as f32));
            }
        };
        Ok(accuracy_count(kind, y_pred, y_true)?)
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

/// Index of the largest value, the first one on ties (as `tf.argmax`).
fn first_argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best
}

/// `Σ_rows mean_j f(p_j, t_j)` over rows of `d` values.
fn per_sample_mean(p: &[f32], t: &[f32], d: usize, f: impl Fn(f32, f32) -> f64) -> f64 {
    p.chunks_exact(d)
        .zip(t.chunks_exact(d))
        .map(|(p, t)| p.iter().zip(t).map(|(&p, &t)| f(p, t)).sum::<f64>() / d as f64)
        .sum()
}

/// A mean over the samples seen so far (Keras's `Mean` metric): `total / count`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunningMean {
    total: f64,
    count: f64,
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
            assert_eq!(metric.resolve(case.y_true, case.y_pred), case.expected);
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
