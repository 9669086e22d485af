//! The exact ROC and precision–recall curves of one class against the rest, as scikit-learn's
//! `roc_curve`, `roc_auc_score`, `precision_recall_curve` and `average_precision_score`
//! compute them (every distinct score is a threshold; no binning, unlike Keras's `AUC`).
//!
//! # Math
//! Sort the scores from high to low. At each distinct score `s`, every sample with score
//! `≥ s` is called positive, giving cumulative counts TP(s), FP(s):
//!
//! ```text
//! ROC:  FPR = FP / N₋,  TPR = TP / N₊,  starting at (0, 0);  AUC = trapezoid area
//! PR:   precision = TP / (TP + FP),  recall = TP / N₊,  ending at (recall 0, precision 1)
//! AP  = Σ_n (R_n − R_{n−1}) · P_n     (average precision: a step sum, no interpolation)
//! ```
//!
//! ROC points that lie on a straight line between their neighbours are dropped, as
//! scikit-learn's `drop_intermediate=True` does; the area does not change.
//!
//! # Shapes
//! `y_true`: one yes/no per sample; `scores`: one score per sample (a column of `predict`'s
//! probabilities for the one-vs-rest curve of that class).
use crate::{LayerError, Result};

/// Points of a curve and the thresholds that give them.
#[derive(Clone, Debug, PartialEq)]
pub struct CurvePoints {
    /// The x of each point (FPR for ROC, recall for PR).
    pub x: Vec<f64>,
    /// The y of each point (TPR for ROC, precision for PR).
    pub y: Vec<f64>,
    /// The score threshold of each point (`+∞` for ROC's first point; PR's last point, at
    /// recall 0, has none).
    pub thresholds: Vec<f64>,
}

/// Cumulative (FP, TP) at each distinct score, from the highest down, with those scores
/// (scikit-learn's `_binary_clf_curve`).
fn binary_clf_curve(
    what: &str,
    y_true: &[bool],
    scores: &[f32],
) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    if y_true.len() != scores.len() || y_true.is_empty() {
        return Err(LayerError::invalid(
            what,
            "one score per label, at least one",
            format!("{} labels and {} scores", y_true.len(), scores.len()),
        ));
    }
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(LayerError::invalid(
            what,
            "finite scores",
            format!("{} at sample {i}", scores[i]),
        ));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut fps, mut tps, mut thresholds) = (Vec::new(), Vec::new(), Vec::new());
    let (mut tp, mut fp) = (0.0, 0.0);
    for (rank, &i) in order.iter().enumerate() {
        if y_true[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        // A threshold where the next score differs (or at the end).
        let last_of_run = order
            .get(rank + 1)
            .is_none_or(|&next| scores[next] != scores[i]);
        if last_of_run {
            fps.push(fp);
            tps.push(tp);
            thresholds.push(f64::from(scores[i]));
        }
    }
    Ok((fps, tps, thresholds))
}

fn need_both(what: &str, positives: f64, negatives: f64) -> Result<()> {
    if positives == 0.0 || negatives == 0.0 {
        return Err(LayerError::invalid(
            what,
            "both positive and negative samples (the curve is undefined otherwise)",
            format!("{positives} positive and {negatives} negative samples"),
        ));
    }
    Ok(())
}

/// scikit-learn's `roc_curve(y_true, scores)` (`drop_intermediate=True`).
///
/// ```
/// use astrograd_layers::training::metrics::curves::{roc_auc, roc_curve};
/// let y = [false, false, true, true];
/// let s = [0.1, 0.4, 0.35, 0.8];
/// let roc = roc_curve(&y, &s)?;
/// assert_eq!(roc.x, vec![0.0, 0.0, 0.5, 0.5, 1.0]);
/// assert_eq!(roc.y, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
/// assert_eq!(roc_auc(&y, &s)?, 0.75);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
///
/// # Errors
/// Lengths that differ, no sample, a NaN or infinite score, only one class present.
pub fn roc_curve(y_true: &[bool], scores: &[f32]) -> Result<CurvePoints> {
    let (fps, tps, thresholds) = binary_clf_curve("roc_curve", y_true, scores)?;
    let (p, n) = (*tps.last().unwrap_or(&0.0), *fps.last().unwrap_or(&0.0));
    need_both("roc_curve", p, n)?;
    // Keep the ends and every point where the slope changes.
    let keep: Vec<usize> = (0..fps.len())
        .filter(|&i| {
            i == 0
                || i + 1 == fps.len()
                || fps[i + 1] - 2.0 * fps[i] + fps[i - 1] != 0.0
                || tps[i + 1] - 2.0 * tps[i] + tps[i - 1] != 0.0
        })
        .collect();
    let mut curve = CurvePoints {
        x: vec![0.0],
        y: vec![0.0],
        thresholds: vec![f64::INFINITY],
    };
    for i in keep {
        curve.x.push(fps[i] / n);
        curve.y.push(tps[i] / p);
        curve.thresholds.push(thresholds[i]);
    }
    Ok(curve)
}

/// scikit-learn's `roc_auc_score(y_true, scores)`: the trapezoid area under [`roc_curve`].
///
/// # Errors
/// As [`roc_curve`].
pub fn roc_auc(y_true: &[bool], scores: &[f32]) -> Result<f64> {
    let roc = roc_curve(y_true, scores)?;
    Ok(roc
        .x
        .windows(2)
        .zip(roc.y.windows(2))
        .map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0)
        .sum())
}

/// scikit-learn's `precision_recall_curve(y_true, scores)`: from the lowest threshold (recall
/// 1) up, then the point (recall 0, precision 1).
///
/// # Errors
/// As [`roc_curve`] (a class without positives has no recall).
pub fn precision_recall_curve(y_true: &[bool], scores: &[f32]) -> Result<CurvePoints> {
    let (fps, tps, thresholds) = binary_clf_curve("precision_recall_curve", y_true, scores)?;
    let p = *tps.last().unwrap_or(&0.0);
    need_both("precision_recall_curve", p, *fps.last().unwrap_or(&0.0))?;
    let mut curve = CurvePoints {
        x: Vec::new(),
        y: Vec::new(),
        thresholds: Vec::new(),
    };
    for i in (0..tps.len()).rev() {
        let predicted = tps[i] + fps[i];
        curve.y.push(if predicted == 0.0 {
            0.0
        } else {
            tps[i] / predicted
        });
        curve.x.push(tps[i] / p);
        curve.thresholds.push(thresholds[i]);
    }
    curve.x.push(0.0);
    curve.y.push(1.0);
    Ok(curve)
}

/// scikit-learn's `average_precision_score(y_true, scores)`: `Σ (R_n − R_{n−1}) · P_n`.
///
/// # Errors
/// As [`precision_recall_curve`].
pub fn average_precision(y_true: &[bool], scores: &[f32]) -> Result<f64> {
    let pr = precision_recall_curve(y_true, scores)?;
    Ok(-pr
        .x
        .windows(2)
        .zip(&pr.y)
        .map(|(r, &p)| (r[1] - r[0]) * p)
        .sum::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// scikit-learn's docstring example for `precision_recall_curve`.
    #[test]
    fn scikit_learn_docstring_examples() {
        let y = [false, false, true, true];
        let s = [0.1, 0.4, 0.35, 0.8];
        let pr = precision_recall_curve(&y, &s).unwrap();
        let third = 2.0 / 3.0;
        assert_eq!(pr.y, vec![0.5, third, 0.5, 1.0, 1.0]);
        assert_eq!(pr.x, vec![1.0, 1.0, 0.5, 0.5, 0.0]);
        assert_eq!(
            pr.thresholds,
            [0.1, 0.35, 0.4, 0.8]
                .iter()
                .map(|&v: &f32| f64::from(v))
                .collect::<Vec<_>>()
        );
        let ap = average_precision(&y, &s).unwrap();
        assert!((ap - 0.833_333_333_333_333_3).abs() < 1e-12, "{ap}");
        assert!(roc_curve(&[true, true], &[0.1, 0.2]).is_err());
        assert!(roc_curve(&[true, false], &[0.1]).is_err());
        assert!(roc_curve(&[true, false], &[0.1, f32::NAN]).is_err());
    }

    proptest! {
        /// The ROC area is the probability that a random positive outscores a random negative
        /// (ties count half): the Mann–Whitney statistic.
        #[test]
        fn roc_auc_is_the_mann_whitney_statistic(
            rows in prop::collection::vec((any::<bool>(), 0u8..10), 2..30),
        ) {
            let y: Vec<bool> = rows.iter().map(|r| r.0).collect();
            let s: Vec<f32> = rows.iter().map(|r| f32::from(r.1) / 10.0).collect();
            let pos: Vec<f32> = s.iter().zip(&y).filter(|(_, &t)| t).map(|(&v, _)| v).collect();
            let neg: Vec<f32> = s.iter().zip(&y).filter(|(_, &t)| !t).map(|(&v, _)| v).collect();
            prop_assume!(!pos.is_empty() && !neg.is_empty());
            let mut wins = 0.0;
            for &a in &pos {
                for &b in &neg {
                    wins += if a > b { 1.0 } else if a == b { 0.5 } else { 0.0 };
                }
            }
            let expected = wins / (pos.len() * neg.len()) as f64;
            prop_assert!((roc_auc(&y, &s).unwrap() - expected).abs() < 1e-12);
        }
    }
}
