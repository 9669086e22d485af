//! The confusion matrix: row `i`, column `j` counts the images of true class `i` that the
//! model predicted as class `j`, so a good model has its counts on the diagonal. Drawn as
//! scikit-learn's `ConfusionMatrixDisplay` draws it: shades of blue, the count in each cell,
//! predicted classes along the bottom (written vertically) and true classes down the side.
use std::path::Path;

use plotters::style::text_anchor::HPos;

use super::colormap::{sample, wants_white_text, BLACK, BLUES, INK, WHITE};
use super::figure::{fill_rect, stroke_rect, text, text_up, text_width, Figure, VAlign};
use super::{Result, VizError};

const NAME_SIZE: f32 = 13.0;
const COUNT_SIZE: f32 = 13.0;
const LABEL_SIZE: f32 = 14.0;
const TITLE_SIZE: f32 = 16.0;

/// The counts: `counts[true][predicted]`, `classes × classes`.
///
/// # Errors
/// [`VizError::Invalid`] when the two slices differ in length, or a class is `≥ classes`.
pub fn confusion_counts(
    y_true: &[usize],
    y_pred: &[usize],
    classes: usize,
) -> Result<Vec<Vec<usize>>> {
    const WHAT: &str = "confusion_matrix";
    if y_true.len() != y_pred.len() {
        return Err(VizError::invalid(
            WHAT,
            "as many predictions as true labels",
            format!(
                "{} true labels and {} predictions",
                y_true.len(),
                y_pred.len()
            ),
        ));
    }
    let mut counts = vec![vec![0usize; classes]; classes];
    for (i, (&t, &p)) in y_true.iter().zip(y_pred).enumerate() {
        if t >= classes || p >= classes {
            return Err(VizError::invalid(
                WHAT,
                format!("classes 0..{classes} (one per class name)"),
                format!("true {t}, predicted {p} at index {i}"),
            ));
        }
        counts[t][p] += 1;
    }
    Ok(counts)
}

/// Counts the pairs (true, predicted), draws the matrix with `class_names` on both axes and
/// saves the PNG at `path`; returns the counts (`counts[true][predicted]`).
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let names: Vec<String> = ["cat", "dog"].map(String::from).to_vec();
/// let counts = astrograd::viz::confusion_matrix(&[0, 0, 1, 1], &[0, 1, 1, 1], &names, &dir.path().join("cm.png"))?;
/// assert_eq!(counts, vec![vec![1, 1], vec![0, 2]]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`VizError::Invalid`] for slices of different lengths, no class name, or a class index not
/// below `class_names.len()`; [`VizError::Write`] when the file cannot be written.
pub fn confusion_matrix(
    y_true: &[usize],
    y_pred: &[usize],
    class_names: &[String],
    path: &Path,
) -> Result<Vec<Vec<usize>>> {
    if class_names.is_empty() {
        return Err(VizError::invalid(
            "confusion_matrix",
            "at least one class name",
            "none",
        ));
    }
    let k = class_names.len();
    let counts = confusion_counts(y_true, y_pred, k)?;
    let largest = counts.iter().flatten().copied().max().unwrap_or(0).max(1);

    let widest_name = class_names
        .iter()
        .map(|n| text_width(n, NAME_SIZE))
        .fold(0.0f32, f32::max)
        .ceil() as usize;
    let widest_count = text_width(&largest.to_string(), COUNT_SIZE).ceil() as usize;
    let cell = (widest_count + 14).max(44);
    // Margins: left for the true-class names and "true label", bottom for the vertical
    // predicted-class names and "predicted label", top for the title.
    let left = LABEL_SIZE as usize + 18 + widest_name + 10;
    let top = TITLE_SIZE as usize + 24;
    let grid = k * cell;
    let bottom = 10 + widest_name + 14 + LABEL_SIZE as usize + 14;
    let mut figure = Figure::new(left + grid + 24, top + grid + bottom);
    let (left, top, grid, cell) = (left as f32, top as f32, grid as f32, cell as f32);
    let centre_x = left + grid / 2.0;
    figure.draw(|area| {
        let title_at = (centre_x, 10.0);
        text(
            area,
            "Confusion matrix",
            title_at,
            TITLE_SIZE,
            INK,
            HPos::Center,
            VAlign::Top,
        )?;
        for (t, row) in counts.iter().enumerate() {
            for (p, &count) in row.iter().enumerate() {
                let (x, y) = (left + p as f32 * cell, top + t as f32 * cell);
                let colour = sample(&BLUES, count as f32 / largest as f32);
                fill_rect(area, (x, y), (x + cell, y + cell), colour)?;
                let ink = if wants_white_text(colour) {
                    WHITE
                } else {
                    BLACK
                };
                let centre = (x + cell / 2.0, y + cell / 2.0);
                let count = count.to_string();
                text(
                    area,
                    &count,
                    centre,
                    COUNT_SIZE,
                    ink,
                    HPos::Center,
                    VAlign::Middle,
                )?;
            }
        }
        stroke_rect(
            area,
            (left, top),
            (left + grid + 1.0, top + grid + 1.0),
            INK,
        )?;
        for (i, name) in class_names.iter().enumerate() {
            let middle = i as f32 * cell + cell / 2.0;
            // True classes: right-aligned left of their row.
            let at = (left - 8.0, top + middle);
            text(area, name, at, NAME_SIZE, INK, HPos::Right, VAlign::Middle)?;
            // Predicted classes: vertical, ending just under their column.
            let at = (left + middle, top + grid + 8.0);
            text_up(area, name, at, NAME_SIZE, INK, HPos::Right)?;
        }
        let label_y = top + grid + 10.0 + widest_name as f32 + 14.0;
        let at = (centre_x, label_y);
        text(
            area,
            "predicted label",
            at,
            LABEL_SIZE,
            INK,
            HPos::Center,
            VAlign::Top,
        )?;
        let at = (6.0 + LABEL_SIZE / 2.0, top + grid / 2.0);
        text_up(area, "true label", at, LABEL_SIZE, INK, HPos::Center)
    })?;
    figure.save_png(path)?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::testing::{decode, distinct_colours, missing_dir_path, output_dir};

    fn fashion_names() -> Vec<String> {
        [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ]
        .map(String::from)
        .to_vec()
    }

    /// 1000 made-up predictions: mostly right, shirts often taken for T-shirts.
    fn predictions() -> (Vec<usize>, Vec<usize>) {
        let mut rng = astrograd_tensor::random::Rng::new(42);
        let y_true: Vec<usize> = (0..1000).map(|i| i % 10).collect();
        let y_pred = y_true
            .iter()
            .map(|&t| {
                let u = rng.uniform();
                if t == 6 && u < 0.3 {
                    0
                } else if u < 0.1 {
                    rng.below(10)
                } else {
                    t
                }
            })
            .collect();
        (y_true, y_pred)
    }

    #[test]
    fn counts_land_in_true_rows_and_predicted_columns() {
        let counts = confusion_counts(&[0, 1, 1, 2], &[0, 2, 1, 2], 3).unwrap();
        assert_eq!(counts, vec![vec![1, 0, 0], vec![0, 1, 1], vec![0, 0, 1]]);
    }

    #[test]
    fn the_fashion_mnist_matrix_decodes_with_counts_summing_to_the_samples() {
        let (_keep, dir) = output_dir();
        let path = dir.join("confusion_matrix.png");
        let (y_true, y_pred) = predictions();
        let counts = confusion_matrix(&y_true, &y_pred, &fashion_names(), &path).unwrap();
        assert_eq!(counts.iter().flatten().sum::<usize>(), 1000);
        let decoded = decode(&path);
        assert!(decoded.width > 10 * 44 && decoded.height > 10 * 44);
        assert!(distinct_colours(&decoded) > 30);
        // The darkest blue of the map is there: the largest count's cell.
        assert!(decoded.image.pixels().any(|p| p.0 == BLUES[8]));
    }

    #[test]
    fn mismatched_lengths_and_out_of_range_classes_are_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cm.png");
        let err = confusion_matrix(&[0, 1], &[0], &fashion_names(), &path).unwrap_err();
        assert!(
            err.to_string().contains("2 true labels and 1 predictions"),
            "{err}"
        );
        let err = confusion_matrix(&[0, 12], &[0, 1], &fashion_names(), &path).unwrap_err();
        assert!(err.to_string().contains("true 12"), "{err}");
        assert!(matches!(
            confusion_matrix(&[], &[], &[], &path),
            Err(VizError::Invalid { .. })
        ));
        assert!(!path.exists());
    }

    #[test]
    fn an_unwritable_directory_is_a_write_error() {
        let err = confusion_matrix(&[0], &[0], &fashion_names(), &missing_dir_path("cm.png"))
            .unwrap_err();
        assert!(matches!(err, VizError::Write { .. }), "{err}");
    }
}
