//! scikit-learn's `precision_recall_fscore_support` and `classification_report`: per-class
//! precision, recall, F1 and support from predicted and true class labels, and the table that
//! astronomers paste into papers.
//!
//! # Math
//! For each class `k` (one-vs-rest), counting samples:
//!
//! ```text
//! precision_k = TP_k / (TP_k + FP_k)      "of the galaxies I called k, how many are k?"
//! recall_k    = TP_k / (TP_k + FN_k)      "of the k galaxies, how many did I find?"
//! f1_k        = 2·TP_k / (2·TP_k + FP_k + FN_k)
//! support_k   = TP_k + FN_k               (the true members of k)
//! ```
//!
//! A ratio whose divisor is 0 is 0.0 (scikit-learn's `zero_division="warn"`), and the
//! warning scikit-learn would print is kept in [`ClassScores::warnings`]. The report's last
//! lines: `accuracy` (the fraction right, which is also the micro-average of all three),
//! `macro avg` (the plain mean over the classes: a rare class counts as much as a common one)
//! and `weighted avg` (weighted by support, dominated by the big classes).
//!
//! # Layout
//! Exactly scikit-learn's (`digits = 2`):
//!
//! ```text
//!               precision    recall  f1-score   support
//!
//!            0       0.50      1.00      0.67         1
//!            1       0.00      0.00      0.00         1
//!            2       1.00      0.67      0.80         3
//!
//!     accuracy                           0.60         5
//!    macro avg       0.50      0.56      0.49         5
//! weighted avg       0.70      0.60      0.61         5
//! ```
use std::fmt::Write;

use crate::{LayerError, Result};

/// Per-class precision, recall, F1 and support, for `labels` in order.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassScores {
    /// The classes, in the order of the other vectors.
    pub labels: Vec<usize>,
    /// `TP / (TP + FP)` per class.
    pub precision: Vec<f64>,
    /// `TP / (TP + FN)` per class.
    pub recall: Vec<f64>,
    /// `2·TP / (2·TP + FP + FN)` per class.
    pub f1: Vec<f64>,
    /// True members per class.
    pub support: Vec<usize>,
    /// scikit-learn's `UndefinedMetricWarning` messages, for ratios set to 0.0.
    pub warnings: Vec<String>,
}

/// The sorted classes present in either list (scikit-learn's `unique_labels`).
pub fn unique_labels(y_true: &[usize], y_pred: &[usize]) -> Vec<usize> {
    let mut labels: Vec<usize> = y_true.iter().chain(y_pred).copied().collect();
    labels.sort_unstable();
    labels.dedup();
    labels
}

fn check_lengths(what: &str, y_true: &[usize], y_pred: &[usize]) -> Result<()> {
    if y_true.len() != y_pred.len() || y_true.is_empty() {
        return Err(LayerError::invalid(
            what,
            "as many predicted labels as true labels, at least one",
            format!(
                "{} true and {} predicted labels",
                y_true.len(),
                y_pred.len()
            ),
        ));
    }
    Ok(())
}

/// scikit-learn's `precision_recall_fscore_support(y_true, y_pred, labels=labels,
/// average=None)`: the scores of each class in `labels` (all classes present when `None`).
///
/// ```
/// use astrograd_layers::training::metrics::report::precision_recall_fscore_support;
/// let s = precision_recall_fscore_support(&[0, 1, 2, 2, 2], &[0, 0, 2, 2, 1], None)?;
/// assert_eq!(s.precision, vec![0.5, 0.0, 1.0]);
/// assert_eq!(s.support, vec![1, 1, 3]);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
///
/// # Errors
/// Lists of different lengths, or empty.
pub fn precision_recall_fscore_support(
    y_true: &[usize],
    y_pred: &[usize],
    labels: Option<&[usize]>,
) -> Result<ClassScores> {
    check_lengths("precision_recall_fscore_support", y_true, y_pred)?;
    let labels = labels.map_or_else(|| unique_labels(y_true, y_pred), <[usize]>::to_vec);
    let count = |f: &dyn Fn(usize, usize) -> bool| -> usize {
        y_true.iter().zip(y_pred).filter(|(&t, &p)| f(t, p)).count()
    };
    let mut scores = ClassScores {
        labels: labels.clone(),
        precision: Vec::new(),
        recall: Vec::new(),
        f1: Vec::new(),
        support: Vec::new(),
        warnings: Vec::new(),
    };
    let (mut no_pred, mut no_true, mut neither) = (false, false, false);
    for &k in &labels {
        let tp = count(&|t, p| t == k && p == k);
        let predicted = count(&|_, p| p == k);
        let actual = count(&|t, _| t == k);
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        no_pred |= predicted == 0;
        no_true |= actual == 0;
        neither |= predicted + actual == 0;
        scores.precision.push(ratio(tp, predicted));
        scores.recall.push(ratio(tp, actual));
        scores.f1.push(ratio(2 * tp, actual + predicted));
        scores.support.push(actual);
    }
    let warn = |start: &str, modifier: &str| {
        format!(
            "UndefinedMetricWarning: {start} is ill-defined and being set to 0.0 in labels with \
             no {modifier} samples. Use `zero_division` parameter to control this behavior."
        )
    };
    for (happened, start, modifier) in [
        (no_pred, "Precision", "predicted"),
        (no_true, "Recall", "true"),
        (neither, "F-score", "true nor predicted"),
    ] {
        if happened {
            scores.warnings.push(warn(start, modifier));
        }
    }
    Ok(scores)
}

/// The options of [`classification_report`], with scikit-learn's defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportOptions {
    /// `labels=`: the classes to show, in order (all classes present when `None`).
    pub labels: Option<Vec<usize>>,
    /// `target_names=`: a name per shown class (the class number when `None`).
    pub target_names: Option<Vec<String>>,
    /// `digits=` (2 when `None`).
    pub digits: Option<usize>,
}

impl ReportOptions {
    /// `target_names=`.
    pub fn target_names<S: AsRef<str>>(mut self, names: &[S]) -> Self {
        self.target_names = Some(names.iter().map(|s| s.as_ref().to_string()).collect());
        self
    }

    /// `labels=`.
    pub fn labels(mut self, labels: &[usize]) -> Self {
        self.labels = Some(labels.to_vec());
        self
    }

    /// `digits=`.
    pub fn digits(mut self, digits: usize) -> Self {
        self.digits = Some(digits);
        self
    }
}

/// scikit-learn's `classification_report(y_true, y_pred, …)`, character for character (see
/// the module doc).
///
/// ```
/// use astrograd_layers::training::metrics::report::{classification_report, ReportOptions};
/// let report = classification_report(&[0, 1, 1], &[0, 1, 0], ReportOptions::default())?;
/// assert!(report.starts_with("              precision    recall  f1-score   support\n\n"));
/// assert!(report.contains("    accuracy                           0.67         3\n"));
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
///
/// # Errors
/// Lists of different lengths, or empty; `target_names` not one per class.
pub fn classification_report(
    y_true: &[usize],
    y_pred: &[usize],
    options: ReportOptions,
) -> Result<String> {
    check_lengths("classification_report", y_true, y_pred)?;
    let present = unique_labels(y_true, y_pred);
    let labels = options.labels.clone().unwrap_or_else(|| present.clone());
    let digits = options.digits.unwrap_or(2);
    let names = match options.target_names {
        Some(names) if names.len() != labels.len() => {
            return Err(LayerError::invalid(
                "classification_report",
                format!("one target name per class ({})", labels.len()),
                format!(
                    "Number of classes, {}, does not match size of target_names, {}",
                    labels.len(),
                    names.len()
                ),
            ))
        }
        Some(names) => names,
        None => labels.iter().map(usize::to_string).collect(),
    };
    let s = precision_recall_fscore_support(y_true, y_pred, Some(&labels))?;
    let last_heading = "weighted avg";
    let name_width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let width = name_width.max(last_heading.len()).max(digits);
    let mut report = format!(
        "{:>width$}  {:>9} {:>9} {:>9} {:>9}\n\n",
        "", "precision", "recall", "f1-score", "support"
    );
    let row = |report: &mut String, name: &str, p: f64, r: f64, f: f64, support: usize| {
        // `writeln!` into a String cannot fail.
        let _ = writeln!(
            report,
            "{name:>width$}  {p:>9.digits$} {r:>9.digits$} {f:>9.digits$} {support:>9}"
        );
    };
    for (i, name) in names.iter().enumerate() {
        row(
            &mut report,
            name,
            s.precision[i],
            s.recall[i],
            s.f1[i],
            s.support[i],
        );
    }
    report.push('\n');
    let total: usize = s.support.iter().sum();
    // scikit-learn writes `accuracy` when every class present is shown.
    let micro_is_accuracy = present.iter().all(|c| labels.contains(c));
    // The micro-average: counts summed over the shown classes.
    let tp: usize = labels
        .iter()
        .map(|&k| {
            y_true
                .iter()
                .zip(y_pred)
                .filter(|(&t, &p)| t == k && p == k)
                .count()
        })
        .sum();
    let predicted: usize = labels
        .iter()
        .map(|&k| y_pred.iter().filter(|&&p| p == k).count())
        .sum();
    let micro = |den: usize| {
        if den == 0 {
            0.0
        } else {
            tp as f64 / den as f64
        }
    };
    let micro_f1 = if total + predicted == 0 {
        0.0
    } else {
        2.0 * tp as f64 / (total + predicted) as f64
    };
    if micro_is_accuracy {
        let _ = writeln!(
            report,
            "{:>width$}  {:>9} {:>9} {micro_f1:>9.digits$} {total:>9}",
            "accuracy", "", ""
        );
    } else {
        row(
            &mut report,
            "micro avg",
            micro(predicted),
            micro(total),
            micro_f1,
            total,
        );
    }
    let n = labels.len() as f64;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n;
    row(
        &mut report,
        "macro avg",
        mean(&s.precision),
        mean(&s.recall),
        mean(&s.f1),
        total,
    );
    let weighted = |v: &[f64]| {
        if total == 0 {
            0.0
        } else {
            v.iter()
                .zip(&s.support)
                .map(|(x, &w)| x * w as f64)
                .sum::<f64>()
                / total as f64
        }
    };
    row(
        &mut report,
        last_heading,
        weighted(&s.precision),
        weighted(&s.recall),
        weighted(&s.f1),
        total,
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scikit-learn 1.9.1: `print(classification_report([0, 1, 2, 2, 2], [0, 0, 2, 2, 1]))`.
    #[test]
    fn matches_scikit_learn_text() {
        let report =
            classification_report(&[0, 1, 2, 2, 2], &[0, 0, 2, 2, 1], ReportOptions::default())
                .unwrap();
        let expected = "              precision    recall  f1-score   support

           0       0.50      1.00      0.67         1
           1       0.00      0.00      0.00         1
           2       1.00      0.67      0.80         3

    accuracy                           0.60         5
   macro avg       0.50      0.56      0.49         5
weighted avg       0.70      0.60      0.61         5
";
        assert_eq!(report, expected);
    }

    #[test]
    fn zero_division_is_zero_with_the_warning_and_bad_names_are_errors() {
        let s = precision_recall_fscore_support(&[0, 0, 1], &[0, 0, 0], None).unwrap();
        assert_eq!(s.precision, vec![2.0 / 3.0, 0.0]);
        assert_eq!(s.warnings.len(), 1);
        assert!(
            s.warnings[0].contains("Precision is ill-defined"),
            "{:?}",
            s.warnings
        );
        let err = classification_report(
            &[0, 1],
            &[0, 1],
            ReportOptions::default().target_names(&["a"]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("Number of classes, 2, does not match size of target_names, 1"),
            "{err}"
        );
        assert!(classification_report(&[0], &[], ReportOptions::default()).is_err());
    }
}
