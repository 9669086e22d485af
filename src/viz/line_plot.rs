//! Curves with a legend: the lecture's plot of the activation functions (sigmoid, ReLU, leaky
//! ReLU, ELU, SELU on [−5, 5]), or any other `y = f(x)`.
use std::path::Path;

use super::colormap::TAB10;
use super::plot_area::{draw_panels, Curve, Panel};
use super::{Result, VizError};

/// One curve: `y[i]` against `x[i]`, named in the legend by `label`.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Its legend entry.
    pub label: String,
    /// The x of each point.
    pub x: Vec<f32>,
    /// The y of each point, one per x.
    pub y: Vec<f32>,
}

impl Line {
    /// `f` evaluated at every `x` (`Line::from_fn("ReLU", &xs, |x| x.max(0.0))`).
    pub fn from_fn(label: &str, x: &[f32], f: impl Fn(f32) -> f32) -> Line {
        Line {
            label: label.to_string(),
            x: x.to_vec(),
            y: x.iter().map(|&v| f(v)).collect(),
        }
    }
}

/// The title, axis labels and size of a [`line_plot`].
#[derive(Clone, Debug, PartialEq)]
pub struct LinePlotOptions {
    /// The title above the plot.
    pub title: String,
    /// The x axis's label.
    pub x_label: String,
    /// The y axis's label.
    pub y_label: String,
    /// The plot's width in pixels (a legend that finds no free place inside the axes goes to
    /// the right of the plot, and widens the picture by its own width).
    pub width: usize,
    /// The picture's height in pixels.
    pub height: usize,
}

impl Default for LinePlotOptions {
    fn default() -> LinePlotOptions {
        LinePlotOptions {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            width: 800,
            height: 520,
        }
    }
}

/// Draws `lines` on one pair of axes, each in the next colour of matplotlib's cycle, with a
/// legend, and saves the PNG at `path`.
///
/// ```
/// use astrograd::viz::{line_plot, Line, LinePlotOptions};
/// # let dir = tempfile::tempdir()?;
/// let x: Vec<f32> = (0..=100).map(|i| -5.0 + 0.1 * i as f32).collect();
/// let lines = [
///     Line::from_fn("sigmoid", &x, |v| 1.0 / (1.0 + (-v).exp())),
///     Line::from_fn("ReLU", &x, |v| v.max(0.0)),
/// ];
/// let options = LinePlotOptions { title: "Activation functions".into(), ..Default::default() };
/// line_plot(&lines, &options, &dir.path().join("activations.png"))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`VizError::Invalid`] for no line, a line without points or with `x` and `y` of different
/// lengths, or a size under 200×150; [`VizError::Write`] when the file cannot be written.
pub fn line_plot(lines: &[Line], options: &LinePlotOptions, path: &Path) -> Result<()> {
    if lines.is_empty() {
        return Err(VizError::invalid("line_plot", "at least one line", "none"));
    }
    for line in lines {
        if line.x.is_empty() || line.x.len() != line.y.len() {
            return Err(VizError::invalid(
                "line_plot",
                format!(
                    "line {:?} with as many x as y values, at least one",
                    line.label
                ),
                format!("{} x and {} y values", line.x.len(), line.y.len()),
            ));
        }
    }
    if options.width < 200 || options.height < 150 {
        return Err(VizError::invalid(
            "line_plot",
            "a size of at least 200×150 pixels",
            format!("{}×{}", options.width, options.height),
        ));
    }
    let curves: Vec<Curve> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| Curve {
            label: line.label.clone(),
            points: line.x.iter().copied().zip(line.y.iter().copied()).collect(),
            color: TAB10[i % TAB10.len()],
            dashed: false,
            markers: false,
        })
        .collect();
    let panel = Panel {
        title: &options.title,
        x_label: &options.x_label,
        y_label: &options.y_label,
        curves,
        integer_x: false,
        vline: None,
    };
    draw_panels(&[panel], "", (options.width, options.height))?.save_png(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::testing::{decode, distinct_colours, missing_dir_path, output_dir};

    /// The five activation functions of the Session 1 lecture, as Keras defines them.
    fn activation_lines() -> Vec<Line> {
        let x: Vec<f32> = (0..=200).map(|i| -5.0 + 0.05 * i as f32).collect();
        let (alpha, scale) = (1.673_263_2_f32, 1.050_701_f32);
        vec![
            Line::from_fn("sigmoid", &x, |v| 1.0 / (1.0 + (-v).exp())),
            Line::from_fn("ReLU", &x, |v| v.max(0.0)),
            Line::from_fn("leaky ReLU (α = 0.3)", &x, |v| {
                if v > 0.0 {
                    v
                } else {
                    0.3 * v
                }
            }),
            Line::from_fn("ELU", &x, |v| if v > 0.0 { v } else { v.exp() - 1.0 }),
            Line::from_fn("SELU", &x, |v| {
                scale * if v > 0.0 { v } else { alpha * (v.exp() - 1.0) }
            }),
        ]
    }

    #[test]
    fn the_activation_functions_plot_decodes_with_its_size_and_all_five_colours() {
        let (_keep, dir) = output_dir();
        let path = dir.join("activations.png");
        let options = LinePlotOptions {
            title: "Activation functions".into(),
            x_label: "x".into(),
            y_label: "f(x)".into(),
            ..Default::default()
        };
        line_plot(&activation_lines(), &options, &path).unwrap();
        let decoded = decode(&path);
        assert_eq!((decoded.width, decoded.height), (800, 520));
        assert!(distinct_colours(&decoded) > 50);
        for colour in &TAB10[..5] {
            assert!(
                decoded.image.pixels().any(|p| p.0 == *colour),
                "colour {colour:?} missing"
            );
        }
    }

    #[test]
    fn mismatched_lengths_and_no_lines_are_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.png");
        let bad = Line {
            label: "bad".into(),
            x: vec![0.0, 1.0],
            y: vec![0.0],
        };
        let err = line_plot(&[bad], &LinePlotOptions::default(), &path).unwrap_err();
        assert!(err.to_string().contains("2 x and 1 y values"), "{err}");
        assert!(matches!(
            line_plot(&[], &LinePlotOptions::default(), &path),
            Err(VizError::Invalid { .. })
        ));
        assert!(!path.exists());
    }

    #[test]
    fn an_unwritable_directory_is_a_write_error() {
        let path = missing_dir_path("activations.png");
        let err = line_plot(&activation_lines(), &LinePlotOptions::default(), &path).unwrap_err();
        assert!(matches!(err, VizError::Write { .. }), "{err}");
    }
}
