//! One panel of a line plot, drawn as matplotlib draws it: a frame, "nice" ticks with their
//! labels, light grid lines, the curves, an optional vertical marker line and a legend in the
//! corner where it hides the fewest points. [`history_plot`](super::history_plot) and
//! [`line_plot`](super::line_plot) are built from it.
use super::canvas::{Align, Canvas, Rgb, VAlign, GRID, INK};

/// Font sizes, in pixels per em.
pub(crate) const TITLE_SIZE: f32 = 16.0;
pub(crate) const LABEL_SIZE: f32 = 14.0;
pub(crate) const TICK_SIZE: f32 = 12.0;

/// One curve of a panel.
pub(crate) struct Curve {
    /// Its legend entry; empty for none.
    pub label: String,
    /// `(x, y)` in data units; non-finite points leave a gap.
    pub points: Vec<(f32, f32)>,
    pub color: Rgb,
    /// Dashed (training curves when several runs share a panel).
    pub dashed: bool,
    /// A dot on every point (useful with few epochs).
    pub markers: bool,
}

/// What a panel shows besides its curves.
pub(crate) struct PanelText<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
}

/// A vertical line across the panel at data `x`, with a legend entry.
pub(crate) struct VLine<'a> {
    pub x: f32,
    pub label: &'a str,
}

/// Draws a panel inside the pixel rectangle `[x0, x1) × [y0, y1)` (margins included).
pub(crate) fn draw_panel(
    canvas: &mut Canvas,
    (x0, y0, x1, y1): (f32, f32, f32, f32),
    text: &PanelText,
    curves: &[Curve],
    integer_x: bool,
    vline: Option<&VLine>,
) {
    let all = || curves.iter().flat_map(|c| c.points.iter().copied());
    let finite = |v: &f32| v.is_finite();
    let mut x_values: Vec<f32> = all().map(|p| p.0).filter(finite).collect();
    if let Some(vline) = vline {
        x_values.push(vline.x);
    }
    let y_values: Vec<f32> = all().map(|p| p.1).filter(finite).collect();
    let (x_lo, x_hi) = padded_range(&x_values);
    let (y_lo, y_hi) = padded_range(&y_values);
    // Epochs get a tick each up to about ten of them.
    let x_ticks = nice_ticks(x_lo, x_hi, if integer_x { 10 } else { 7 }, integer_x);
    let y_ticks = nice_ticks(y_lo, y_hi, 6, false);
    let y_tick_labels: Vec<String> = y_ticks.ticks.iter().map(|&v| y_ticks.label(v)).collect();
    let widest = y_tick_labels
        .iter()
        .map(|l| Canvas::text_width(l, TICK_SIZE))
        .fold(0.0f32, f32::max);

    // The plotting area, inside the margins for title, tick labels and axis labels.
    let left = x0
        + widest
        + 14.0
        + if text.y_label.is_empty() {
            0.0
        } else {
            LABEL_SIZE + 10.0
        };
    let right = x1 - 14.0;
    let top = y0
        + if text.title.is_empty() {
            12.0
        } else {
            TITLE_SIZE + 18.0
        };
    let bottom = y1
        - (TICK_SIZE + 12.0)
        - if text.x_label.is_empty() {
            6.0
        } else {
            LABEL_SIZE + 12.0
        };
    let px = |x: f32| left + (x - x_lo) / (x_hi - x_lo) * (right - left);
    let py = |y: f32| bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top);

    // Grid, ticks and their labels.
    for (&v, label) in y_ticks.ticks.iter().zip(&y_tick_labels) {
        let y = py(v);
        canvas.polyline(&[(left, y), (right, y)], 1.0, GRID, None);
        canvas.polyline(&[(left - 5.0, y), (left, y)], 1.0, INK, None);
        canvas.text(
            (left - 8.0, y),
            TICK_SIZE,
            label,
            INK,
            Align::End,
            VAlign::Middle,
        );
    }
    for &v in &x_ticks.ticks {
        let x = px(v);
        canvas.polyline(&[(x, top), (x, bottom)], 1.0, GRID, None);
        canvas.polyline(&[(x, bottom), (x, bottom + 5.0)], 1.0, INK, None);
        canvas.text(
            (x, bottom + 8.0),
            TICK_SIZE,
            &x_ticks.label(v),
            INK,
            Align::Center,
            VAlign::Top,
        );
    }
    canvas.stroke_rect(
        left.round() as i64,
        top.round() as i64,
        right.round() as i64 + 1,
        bottom.round() as i64 + 1,
        INK,
    );

    // Labels.
    if !text.title.is_empty() {
        canvas.text(
            ((left + right) / 2.0, y0 + 10.0),
            TITLE_SIZE,
            text.title,
            INK,
            Align::Center,
            VAlign::Top,
        );
    }
    if !text.x_label.is_empty() {
        let y = bottom + 8.0 + TICK_SIZE + 12.0;
        canvas.text(
            ((left + right) / 2.0, y),
            LABEL_SIZE,
            text.x_label,
            INK,
            Align::Center,
            VAlign::Top,
        );
    }
    if !text.y_label.is_empty() {
        canvas.text_up(
            x0 + 4.0 + LABEL_SIZE / 2.0,
            (top + bottom) / 2.0,
            LABEL_SIZE,
            text.y_label,
            INK,
            Align::Center,
        );
    }

    // The marker line, then the curves over it.
    let mut legend: Vec<LegendEntry> = Vec::new();
    if let Some(vline) = vline {
        let x = px(vline.x);
        canvas.polyline(&[(x, top), (x, bottom)], 1.5, INK, Some((6.0, 4.0)));
        if !vline.label.is_empty() {
            legend.push(LegendEntry {
                label: vline.label,
                color: INK,
                dashed: true,
            });
        }
    }
    for curve in curves {
        let points: Vec<(f32, f32)> = curve.points.iter().map(|&(x, y)| (px(x), py(y))).collect();
        let dash = curve.dashed.then_some((7.0, 4.0));
        canvas.polyline(&points, 2.0, curve.color, dash);
        if curve.markers {
            for &(x, y) in &points {
                canvas.dot(x, y, 3.0, curve.color);
            }
        }
        if !curve.label.is_empty() {
            legend.push(LegendEntry {
                label: &curve.label,
                color: curve.color,
                dashed: curve.dashed,
            });
        }
    }

    let pixel_points: Vec<(f32, f32)> = all().map(|(x, y)| (px(x), py(y))).collect();
    draw_legend(canvas, (left, top, right, bottom), &legend, &pixel_points);
}

struct LegendEntry<'a> {
    label: &'a str,
    color: Rgb,
    dashed: bool,
}

/// The legend, in whichever corner of the plotting area covers the fewest curve points
/// (matplotlib's `loc="best"`, simplified to the four corners).
fn draw_legend(
    canvas: &mut Canvas,
    (left, top, right, bottom): (f32, f32, f32, f32),
    entries: &[LegendEntry],
    points: &[(f32, f32)],
) {
    if entries.is_empty() {
        return;
    }
    const ROW: f32 = 20.0;
    const SAMPLE: f32 = 26.0;
    let text_width = entries
        .iter()
        .map(|e| Canvas::text_width(e.label, TICK_SIZE))
        .fold(0.0f32, f32::max);
    let width = 10.0 + SAMPLE + 8.0 + text_width + 10.0;
    let height = 8.0 + ROW * entries.len() as f32 + 4.0;
    let corners = [
        (right - 8.0 - width, top + 8.0),
        (left + 8.0, top + 8.0),
        (right - 8.0 - width, bottom - 8.0 - height),
        (left + 8.0, bottom - 8.0 - height),
    ];
    let covered = |&(x, y): &(f32, f32)| {
        points
            .iter()
            .filter(|p| {
                p.0 >= x - 4.0
                    && p.0 <= x + width + 4.0
                    && p.1 >= y - 4.0
                    && p.1 <= y + height + 4.0
            })
            .count()
    };
    let (bx, by) = corners
        .iter()
        .copied()
        .min_by_key(covered)
        .expect("four corners");
    let (bx0, by0) = (bx.round() as i64, by.round() as i64);
    let (bx1, by1) = (bx0 + width.round() as i64, by0 + height.round() as i64);
    canvas.fill_rect(bx0, by0, bx1, by1, [255, 255, 255]);
    canvas.stroke_rect(bx0, by0, bx1, by1, [204, 204, 204]);
    for (i, entry) in entries.iter().enumerate() {
        let y = by + 8.0 + ROW * (i as f32 + 0.5);
        let dash = entry.dashed.then_some((7.0, 4.0));
        canvas.polyline(
            &[(bx + 10.0, y), (bx + 10.0 + SAMPLE, y)],
            2.0,
            entry.color,
            dash,
        );
        canvas.text(
            (bx + 10.0 + SAMPLE + 8.0, y),
            TICK_SIZE,
            entry.label,
            INK,
            Align::Start,
            VAlign::Middle,
        );
    }
}

/// The range of `values` widened by 5 % on each side (matplotlib's default margins); a
/// single value gets ±0.5, no value at all [0, 1].
fn padded_range(values: &[f32]) -> (f32, f32) {
    let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo <= f32::EPSILON * lo.abs().max(1.0) {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

/// Tick positions at a "nice" step (1, 2, 2.5 or 5 × 10ᵏ) inside `[lo, hi]`.
struct Ticks {
    ticks: Vec<f32>,
    step: f32,
}

impl Ticks {
    /// The label of tick `v`: as many decimals as the step needs (`0.25` → 2, `5` → 0).
    fn label(&self, v: f32) -> String {
        let mut decimals = 0usize;
        let mut scaled = self.step as f64;
        while decimals < 6 && (scaled - scaled.round()).abs() > 1e-6 * scaled.abs().max(1.0) {
            scaled *= 10.0;
            decimals += 1;
        }
        let text = format!("{:.*}", decimals, v);
        let digits = text.trim_start_matches('-');
        // "-0.0" reads oddly on an axis; a negative number gets a real minus sign (U+2212),
        // as matplotlib writes it, wider than a hyphen.
        if digits.chars().all(|c| c == '0' || c == '.') || !text.starts_with('-') {
            digits.to_string()
        } else {
            format!("\u{2212}{digits}")
        }
    }
}

/// At most about `target` ticks between `lo` and `hi`; with `integer`, a step of at least 1.
fn nice_ticks(lo: f32, hi: f32, target: usize, integer: bool) -> Ticks {
    let raw = (hi - lo) / target.max(2) as f32;
    let magnitude = 10f32.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * magnitude);
    if integer {
        step = step.max(1.0).round();
    }
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    let ticks = (first..=last).map(|k| k as f32 * step).collect();
    Ticks { ticks, step }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks_use_round_steps_inside_the_range() {
        let ticks = nice_ticks(0.27, 0.93, 6, false);
        assert!((ticks.step - 0.2).abs() < 1e-6, "{}", ticks.step);
        assert_eq!(ticks.ticks.len(), 3);
        assert!((ticks.ticks[0] - 0.4).abs() < 1e-6);
        assert_eq!(ticks.label(ticks.ticks[0]), "0.4");
        assert_eq!(ticks.label(-2.0), "\u{2212}2.0");
        let epochs = nice_ticks(0.6, 7.4, 7, true);
        assert_eq!(epochs.step, 1.0);
        assert_eq!(epochs.ticks, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(epochs.label(3.0), "3");
    }

    #[test]
    fn quarter_steps_get_two_decimals_and_zero_has_no_sign() {
        let ticks = Ticks {
            ticks: vec![],
            step: 0.25,
        };
        assert_eq!(ticks.label(0.75), "0.75");
        assert_eq!(ticks.label(-0.0), "0.00");
    }

    #[test]
    fn padded_range_survives_constant_and_empty_input() {
        assert_eq!(padded_range(&[]), (0.0, 1.0));
        assert_eq!(padded_range(&[2.0]), (1.5, 2.5));
        let (lo, hi) = padded_range(&[0.0, 10.0]);
        assert!((lo + 0.5).abs() < 1e-6 && (hi - 10.5).abs() < 1e-6);
    }
}
