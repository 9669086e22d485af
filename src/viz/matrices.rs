//! Small matrices side by side, each cell shaded by its value and with the value written in it:
//! the pictures of the tutorials (an image and its im2col matrix, a pooling gradient, dropout
//! masks), where the numbers themselves are the point.
use std::path::Path;

use plotters::style::text_anchor::HPos;

use super::colormap::{sample, wants_white_text, BLACK, BLUES, INK, WHITE};
use super::figure::{fill_rect, stroke_rect, text, text_width, Figure, VAlign};
use super::{Result, VizError};

const VALUE_SIZE: f32 = 12.0;
const PANEL_TITLE_SIZE: f32 = 13.0;
const TITLE_SIZE: f32 = 16.0;
/// Rows and columns beyond this would make cells too small to read.
const MAX_SIDE: usize = 64;

/// One matrix to draw: `values` row-major, `rows × cols`, with `title` above it.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    /// Written above the matrix (`"cols (4 × 9)"`).
    pub title: String,
    /// Its number of rows.
    pub rows: usize,
    /// Its number of columns.
    pub cols: usize,
    /// The `rows · cols` values, row by row.
    pub values: Vec<f32>,
}

impl Matrix {
    /// A matrix from its title, shape and row-major values.
    pub fn new(title: &str, rows: usize, cols: usize, values: Vec<f32>) -> Matrix {
        Matrix {
            title: title.to_string(),
            rows,
            cols,
            values,
        }
    }
}

/// A value as the cell shows it: whole numbers without decimals, others with at most two
/// (`1.25`, `0.1`).
fn format_value(v: f32) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let two = format!("{v:.2}");
        two.trim_end_matches('0').to_string()
    }
}

/// Draws `panels` left to right under `title`, each cell in the `Blues` colour map (0 or the
/// smallest value lightest, the largest darkest, per matrix) with its value written in it,
/// and saves the PNG at `path`.
///
/// ```
/// use astrograd::viz::{matrices, Matrix};
/// # let dir = tempfile::tempdir()?;
/// let x = Matrix::new("x", 2, 2, vec![1.0, 3.0, 4.0, 2.0]);
/// let dx = Matrix::new("dx", 2, 2, vec![0.0, 0.0, 0.1, 0.0]);
/// matrices(&[x, dx], "The gradient goes to the winner", &dir.path().join("pool.png"))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`VizError::Invalid`] for no matrix, a matrix whose `values` are not `rows · cols`, or a side
/// of 0 or over 64; [`VizError::Write`] when the file cannot be written.
pub fn matrices(panels: &[Matrix], title: &str, path: &Path) -> Result<()> {
    const WHAT: &str = "matrices";
    if panels.is_empty() {
        return Err(VizError::invalid(WHAT, "at least one matrix", "none"));
    }
    for m in panels {
        let sides_ok = (1..=MAX_SIDE).contains(&m.rows) && (1..=MAX_SIDE).contains(&m.cols);
        if !sides_ok || m.values.len() != m.rows * m.cols {
            return Err(VizError::invalid(
                WHAT,
                format!(
                    "matrix {:?} with rows · cols values, each side 1 to {MAX_SIDE}",
                    m.title
                ),
                format!("{} × {} and {} values", m.rows, m.cols, m.values.len()),
            ));
        }
    }
    let texts: Vec<Vec<String>> = panels
        .iter()
        .map(|m| m.values.iter().map(|&v| format_value(v)).collect())
        .collect();
    let widest = texts
        .iter()
        .flatten()
        .map(|t| text_width(t, VALUE_SIZE))
        .fold(0.0f32, f32::max);
    let cell = (widest.ceil() + 12.0).max(28.0);
    let (margin, gap) = (16.0, 32.0);
    // Each panel takes the width of its grid or of its title, whichever is wider.
    let slots: Vec<f32> = panels
        .iter()
        .map(|m| (m.cols as f32 * cell).max(text_width(&m.title, PANEL_TITLE_SIZE).ceil()))
        .collect();
    let title_height = if title.is_empty() {
        0.0
    } else {
        TITLE_SIZE + 16.0
    };
    let grids_top = margin + title_height + PANEL_TITLE_SIZE + 12.0;
    let tallest = panels.iter().map(|m| m.rows).max().unwrap_or(1) as f32 * cell;
    let width = 2.0 * margin + slots.iter().sum::<f32>() + gap * (panels.len() - 1) as f32;
    let height = grids_top + tallest + margin;
    let mut figure = Figure::new(width.ceil() as usize, height.ceil() as usize);
    figure.draw(|area| {
        if !title.is_empty() {
            let at = (width / 2.0, margin);
            text(area, title, at, TITLE_SIZE, INK, HPos::Center, VAlign::Top)?;
        }
        let mut left = margin;
        for ((m, texts), slot) in panels.iter().zip(&texts).zip(&slots) {
            let centre_x = left + slot / 2.0;
            let title_at = (centre_x, grids_top - PANEL_TITLE_SIZE - 6.0);
            let size = PANEL_TITLE_SIZE;
            text(
                area,
                &m.title,
                title_at,
                size,
                INK,
                HPos::Center,
                VAlign::Top,
            )?;
            let x0 = centre_x - m.cols as f32 * cell / 2.0;
            // Shades from min(0, smallest) to max(0, largest): a 0 is always the lightest
            // when no value is negative.
            let lo = m.values.iter().copied().fold(0.0f32, f32::min);
            let hi = m.values.iter().copied().fold(0.0f32, f32::max);
            for (i, (&v, label)) in m.values.iter().zip(texts).enumerate() {
                let (r, c) = (i / m.cols, i % m.cols);
                let (x, y) = (x0 + c as f32 * cell, grids_top + r as f32 * cell);
                let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
                let colour = sample(&BLUES, t);
                // One pixel of white between cells.
                fill_rect(area, (x, y), (x + cell - 1.0, y + cell - 1.0), colour)?;
                let ink = if wants_white_text(colour) {
                    WHITE
                } else {
                    BLACK
                };
                let centre = (x + cell / 2.0, y + cell / 2.0);
                text(
                    area,
                    label,
                    centre,
                    VALUE_SIZE,
                    ink,
                    HPos::Center,
                    VAlign::Middle,
                )?;
            }
            let (x1, y1) = (x0 + m.cols as f32 * cell, grids_top + m.rows as f32 * cell);
            stroke_rect(area, (x0 - 1.0, grids_top - 1.0), (x1, y1), INK)?;
            left += slot + gap;
        }
        Ok(())
    })?;
    figure.save_png(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::testing::{decode, distinct_colours, missing_dir_path, output_dir};

    #[test]
    fn values_are_written_as_integers_or_with_at_most_two_decimals() {
        assert_eq!(format_value(16.0), "16");
        assert_eq!(format_value(1.25), "1.25");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(-2.0), "-2");
    }

    #[test]
    fn an_image_and_its_cols_matrix_decode_side_by_side() {
        let (_keep, dir) = output_dir();
        let path = dir.join("matrices.png");
        let x = Matrix::new("x", 4, 4, (1..=16).map(|v| v as f32).collect());
        let cols = Matrix::new("cols", 4, 9, (0..36).map(|v| v as f32).collect());
        matrices(&[x.clone(), cols], "im2col", &path).unwrap();
        let both = decode(&path);
        assert!(distinct_colours(&both) > 20);
        matrices(&[x], "im2col", &path).unwrap();
        // The second matrix adds its 9 columns of at least 28 pixels each.
        assert!(both.width >= decode(&path).width + 9 * 28);
    }

    #[test]
    fn wrong_value_counts_and_no_matrix_are_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.png");
        let bad = Matrix::new("bad", 2, 3, vec![0.0; 5]);
        let err = matrices(&[bad], "", &path).unwrap_err();
        assert!(err.to_string().contains("2 × 3 and 5 values"), "{err}");
        assert!(matches!(
            matrices(&[], "", &path),
            Err(VizError::Invalid { .. })
        ));
        assert!(!path.exists());
    }

    #[test]
    fn an_unwritable_directory_is_a_write_error() {
        let m = Matrix::new("m", 1, 1, vec![1.0]);
        let err = matrices(&[m], "", &missing_dir_path("m.png")).unwrap_err();
        assert!(matches!(err, VizError::Write { .. }), "{err}");
    }
}
