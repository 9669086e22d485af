//! ROC and precision–recall curves, one per class against the rest, with each curve's area in
//! the legend: what astronomers plot to show how well a rare class is found.
//!
//! The curves are scikit-learn's (every distinct score a threshold,
//! `astrograd_layers::training::metrics::curves`), from the probabilities that `predict`
//! returns:
//!
//! - ROC: the true-positive rate (recall) against the false-positive rate, with the dashed
//!   diagonal of a classifier that guesses; the legend gives `roc_auc_score`.
//! - Precision–recall: precision against recall, with a dotted line at the class's share of the
//!   samples (what guessing gives); the legend gives `average_precision_score`. For a rare
//!   class this picture is the honest one: a ROC curve can look good while most of the
//!   galaxies called "rare" are not.
use std::path::Path;

use astrograd_layers::training::metrics::curves::{
    average_precision, precision_recall_curve, roc_auc, roc_curve, CurvePoints,
};
use astrograd_tensor::Tensor;

use super::colormap::{Rgb, TAB10};
use super::plot_area::{draw_panels, Curve, Panel};
use super::{Result, VizError};

/// Which curve a figure shows.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Roc,
    PrecisionRecall,
}

const GREY: Rgb = [128, 128, 128];

/// One-vs-rest ROC curves of every class of `probs` `(N, K)` (`predict`'s output) against the
/// integer labels `y_true`, saved as a PNG at `path`; returns each class's area under the
/// curve (`NaN` for a class with no sample, or only samples, in `y_true`: it has no curve).
///
/// A sigmoid's `(N, 1)` output gives one curve, for class 1, named by the last of two names.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// use astrograd::Tensor;
/// let probs = Tensor::from_vec(vec![0.8, 0.2, 0.3, 0.7, 0.6, 0.4, 0.1, 0.9], &[4, 2])?;
/// let names = ["elliptical".to_string(), "spiral".to_string()];
/// let aucs = astrograd::viz::roc_curves(&[0, 1, 0, 1], &probs, &names, &dir.path().join("roc.png"))?;
/// assert_eq!(aucs, vec![1.0, 1.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`VizError::Invalid`] for `probs` not `(N, K)`, labels not one per row or not below K, a name
/// count that is not K, or no class with both kinds of sample; [`VizError::Write`].
pub fn roc_curves(
    y_true: &[usize],
    probs: &Tensor,
    class_names: &[String],
    path: &Path,
) -> Result<Vec<f64>> {
    curves(Kind::Roc, y_true, probs, class_names, path)
}

/// One-vs-rest precision–recall curves (see [`roc_curves`]); returns each class's average
/// precision.
///
/// # Errors
/// As [`roc_curves`].
pub fn precision_recall_curves(
    y_true: &[usize],
    probs: &Tensor,
    class_names: &[String],
    path: &Path,
) -> Result<Vec<f64>> {
    curves(Kind::PrecisionRecall, y_true, probs, class_names, path)
}

fn curves(
    kind: Kind,
    y_true: &[usize],
    probs: &Tensor,
    class_names: &[String],
    path: &Path,
) -> Result<Vec<f64>> {
    let what = match kind {
        Kind::Roc => "roc_curves",
        Kind::PrecisionRecall => "precision_recall_curves",
    };
    let [n, k] = *probs.shape() else {
        return Err(VizError::invalid(
            what,
            "probabilities of shape (N, K)",
            format!("shape {:?}", probs.shape()),
        ));
    };
    // A sigmoid's single column is class 1's probability.
    let (classes, first_class) = if k == 1 { (2, 1) } else { (k, 0) };
    if class_names.len() != classes {
        return Err(VizError::invalid(
            what,
            format!("{classes} class names"),
            format!("{}", class_names.len()),
        ));
    }
    if y_true.len() != n {
        return Err(VizError::invalid(
            what,
            format!("one label per row of probs ({n})"),
            format!("{} labels", y_true.len()),
        ));
    }
    if let Some(bad) = y_true.iter().find(|&&l| l >= classes) {
        return Err(VizError::invalid(
            what,
            format!("labels below {classes}"),
            format!("label {bad}"),
        ));
    }
    let values = probs.to_vec()?;
    let mut areas = Vec::new();
    let mut drawn = Vec::new();
    for class in first_class..classes {
        let column = class - first_class;
        let scores: Vec<f32> = values.iter().skip(column).step_by(k).copied().collect();
        let is_class: Vec<bool> = y_true.iter().map(|&l| l == class).collect();
        let found = match kind {
            Kind::Roc => {
                roc_curve(&is_class, &scores).and_then(|c| Ok((c, roc_auc(&is_class, &scores)?)))
            }
            Kind::PrecisionRecall => precision_recall_curve(&is_class, &scores)
                .and_then(|c| Ok((c, average_precision(&is_class, &scores)?))),
        };
        match found {
            Ok((points, area)) => {
                let share = is_class.iter().filter(|&&b| b).count() as f64 / n as f64;
                drawn.push((class, points, area, share));
                areas.push(area);
            }
            // Only one kind of sample: no curve, no area.
            Err(_) => areas.push(f64::NAN),
        }
    }
    if drawn.is_empty() {
        return Err(VizError::invalid(
            what,
            "a class with both samples of it and samples of other classes",
            "none",
        ));
    }
    let mut lines = Vec::new();
    for (i, (class, points, area, share)) in drawn.iter().enumerate() {
        let color = TAB10[i % TAB10.len()];
        let measure = if kind == Kind::Roc { "AUC" } else { "AP" };
        lines.push(Curve {
            label: format!("{} ({measure} = {area:.3})", class_names[*class]),
            points: to_points(points, kind == Kind::PrecisionRecall),
            color,
            dashed: false,
            markers: false,
        });
        if kind == Kind::PrecisionRecall && drawn.len() == 1 {
            // What guessing gives: precision = the class's share, at every recall.
            lines.push(Curve {
                label: format!("chance ({share:.3})"),
                points: vec![(0.0, *share as f32), (1.0, *share as f32)],
                color: GREY,
                dashed: true,
                markers: false,
            });
        }
    }
    let (title, x_label, y_label) = match kind {
        Kind::Roc => {
            lines.push(Curve {
                label: "chance".into(),
                points: vec![(0.0, 0.0), (1.0, 1.0)],
                color: GREY,
                dashed: true,
                markers: false,
            });
            (
                "ROC curves (one class vs the rest)",
                "false positive rate",
                "true positive rate",
            )
        }
        Kind::PrecisionRecall => (
            "Precision–recall curves (one class vs the rest)",
            "recall",
            "precision",
        ),
    };
    let panel = Panel {
        title,
        x_label,
        y_label,
        curves: lines,
        integer_x: false,
        vline: None,
    };
    draw_panels(&[panel], "", (800, 600))?.save_png(path)?;
    Ok(areas)
}

/// A curve's points as the plot wants them. The precision–recall curve is drawn in steps, as
/// scikit-learn's `PrecisionRecallDisplay` draws it (`drawstyle="steps-post"`): a straight line
/// between two of its points would promise precisions no threshold gives.
fn to_points(curve: &CurvePoints, steps: bool) -> Vec<(f32, f32)> {
    let points: Vec<(f32, f32)> = curve
        .x
        .iter()
        .zip(&curve.y)
        .map(|(&x, &y)| (x as f32, y as f32))
        .collect();
    if !steps {
        return points;
    }
    let mut stepped = Vec::with_capacity(2 * points.len());
    for pair in points.windows(2) {
        stepped.push(pair[0]);
        stepped.push((pair[1].0, pair[0].1));
    }
    stepped.extend(points.last());
    stepped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::testing::{decode, distinct_colours, missing_dir_path, output_dir};

    /// Three classes, the third rare, the scores noisy.
    fn data() -> (Vec<usize>, Tensor, Vec<String>) {
        let y: Vec<usize> = (0..40)
            .map(|i| [0, 0, 1, 0, 1, 0, 2, 1, 0, 0][i % 10])
            .collect();
        let mut p = Vec::new();
        for (i, &label) in y.iter().enumerate() {
            let a = (i as f32 * 1.37).sin() * 0.25;
            let b = (i as f32 * 0.71).cos() * 0.2;
            let mut row = [0.35 + a, 0.3 + b, 0.25 - a];
            row[label] += 0.15;
            let total: f32 = row.iter().sum();
            p.extend(row.iter().map(|v| v / total));
        }
        let names = ["Disturbed", "Merging", "Cigar Shaped Smooth"]
            .map(String::from)
            .to_vec();
        (y, Tensor::from_vec(p, &[40, 3]).unwrap(), names)
    }

    #[test]
    fn roc_and_pr_figures_decode_with_one_colour_per_class() {
        let (_keep, dir) = output_dir();
        let (y, probs, names) = data();
        let aucs = roc_curves(&y, &probs, &names, &dir.join("roc.png")).unwrap();
        assert_eq!(aucs.len(), 3);
        assert!(aucs.iter().all(|a| (0.0..=1.0).contains(a)), "{aucs:?}");
        let aps = precision_recall_curves(&y, &probs, &names, &dir.join("pr.png")).unwrap();
        assert!(aps.iter().all(|a| (0.0..=1.0).contains(a)), "{aps:?}");
        for file in ["roc.png", "pr.png"] {
            let decoded = decode(&dir.join(file));
            assert_eq!((decoded.width, decoded.height), (800, 600));
            assert!(distinct_colours(&decoded) > 20);
            for colour in &TAB10[..3] {
                assert!(
                    decoded.image.pixels().any(|p| p.0 == *colour),
                    "{file}: {colour:?}"
                );
            }
        }
    }

    #[test]
    fn a_sigmoid_output_gives_one_curve_and_bad_input_is_invalid() {
        let (_keep, dir) = output_dir();
        let probs = Tensor::from_vec(vec![0.9, 0.2, 0.6, 0.4], &[4, 1]).unwrap();
        let names = ["no".to_string(), "yes".to_string()];
        let path = dir.join("roc_binary.png");
        let aucs = roc_curves(&[1, 0, 1, 0], &probs, &names, &path).unwrap();
        assert_eq!(aucs, vec![1.0]);
        let (y, probs, names) = data();
        let bad = |labels: &[usize], names: &[String]| {
            roc_curves(labels, &probs, names, &dir.join("bad.png")).unwrap_err()
        };
        assert!(bad(&y[..9], &names).to_string().contains("9 labels"));
        assert!(bad(&[0; 40], &names).to_string().contains("both samples"));
        assert!(bad(&y, &names[..2]).to_string().contains("3 class names"));
        let mut wrong = y.clone();
        wrong[0] = 3;
        assert!(bad(&wrong, &names).to_string().contains("label 3"));
        assert!(!dir.join("bad.png").exists());
        let err = roc_curves(&y, &probs, &names, &missing_dir_path("roc.png")).unwrap_err();
        assert!(matches!(err, VizError::Write { .. }), "{err}");
    }
}
