//! Panels of line plots, drawn with plotters as matplotlib draws them: a frame, "nice" ticks
//! with their labels, light grid lines, the curves, an optional vertical marker line, and a
//! legend where it hides no data (see [`legend`](super::legend)). Several panels sit side by
//! side under one title. [`history_plot`](super::history_plot) and
//! [`line_plot`](super::line_plot) are built from it.
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::colormap::{Rgb, GRID, INK};
use super::figure::{
    centring_offset, color, fill_rect, font, px, px2, snap, stroke, text, text_width, Area, Drawn,
    Figure, VAlign, SCALE,
};
use super::legend::{self, Entry, Rect};

/// Font sizes, in pixels.
pub(crate) const TITLE_SIZE: f32 = 16.0;
pub(crate) const LABEL_SIZE: f32 = 14.0;
pub(crate) const TICK_SIZE: f32 = 12.0;
/// The room under the x axis's label (its descenders: the `p` of "epoch").
const BOTTOM_MARGIN: f32 = 5.0;
/// The room between the panels and a legend beside them, and after it.
const LEGEND_GAP: f32 = 12.0;

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

/// A vertical line across the panel at data `x`, with a legend entry.
pub(crate) struct VLine<'a> {
    pub x: f32,
    pub label: &'a str,
}

/// One pair of axes and what it shows.
pub(crate) struct Panel<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub curves: Vec<Curve>,
    /// Ticks at whole numbers only (epochs).
    pub integer_x: bool,
    pub vline: Option<VLine<'a>>,
}

impl Panel<'_> {
    /// Its legend: the marker line's entry, then each labelled curve's.
    fn legend(&self) -> Vec<Entry> {
        let vline = self
            .vline
            .iter()
            .filter(|v| !v.label.is_empty())
            .map(|v| Entry {
                label: v.label.to_string(),
                color: INK,
                dashed: true,
            });
        let curves = self
            .curves
            .iter()
            .filter(|c| !c.label.is_empty())
            .map(|c| Entry {
                label: c.label.clone(),
                color: c.color,
                dashed: c.dashed,
            });
        vline.chain(curves).collect()
    }
}

/// Where a panel's pieces go, in pixels of the picture.
struct Layout {
    /// The panel's share of the picture, margins included.
    bounds: Rect,
    /// The axes: the frame the data is drawn in.
    axes: Rect,
    x: Axis,
    y: Axis,
}

impl Layout {
    /// Lays `panel` out in `bounds`: margins for its title, tick labels and axis labels, data
    /// ranges with matplotlib's 5 % margins.
    fn new(panel: &Panel, bounds: Rect) -> Layout {
        let all = || panel.curves.iter().flat_map(|c| c.points.iter().copied());
        let finite = |v: &f32| v.is_finite();
        let mut x_values: Vec<f32> = all().map(|p| p.0).filter(finite).collect();
        x_values.extend(panel.vline.as_ref().map(|v| v.x));
        let y_values: Vec<f32> = all().map(|p| p.1).filter(finite).collect();
        // Epochs get a tick each up to about ten of them.
        let x_target = if panel.integer_x { 10 } else { 7 };
        let x = nice_ticks(padded_range(&x_values), x_target, panel.integer_x);
        let y = nice_ticks(padded_range(&y_values), 6, false);
        let widest_y_tick = y
            .ticks
            .iter()
            .map(|&v| text_width(&y.label(v), TICK_SIZE))
            .fold(0.0f32, f32::max);
        // Room for a label only where there is one.
        let room = |label: &str, room: f32| if label.is_empty() { 0.0 } else { room };
        // Tick marks are 5 pixels long, and plotters starts their labels 10 pixels out.
        let left = 6.0 + widest_y_tick + 16.0 + room(panel.y_label, LABEL_SIZE + 6.0);
        let below = 10.0 + TICK_SIZE + 8.0 + room(panel.x_label, LABEL_SIZE + 10.0);
        let above = 12.0 + room(panel.title, TITLE_SIZE + 6.0);
        let axes = Rect {
            left: (bounds.left + left).round(),
            top: (bounds.top + above).round(),
            right: (bounds.right - 14.0).round(),
            bottom: (bounds.bottom - below).round(),
        };
        Layout { bounds, axes, x, y }
    }

    /// The pixel of the data point `(x, y)`.
    fn pixel(&self, (x, y): (f32, f32)) -> (f32, f32) {
        let (axes, x_axis, y_axis) = (self.axes, &self.x, &self.y);
        (
            axes.left + (x - x_axis.lo) / (x_axis.hi - x_axis.lo) * (axes.right - axes.left),
            axes.bottom - (y - y_axis.lo) / (y_axis.hi - y_axis.lo) * (axes.bottom - axes.top),
        )
    }

    /// The pixels the data of `panel` covers, for the legend to avoid.
    fn covered(&self, panel: &Panel) -> Vec<(f32, f32)> {
        let mut covered = Vec::new();
        for curve in &panel.curves {
            let pixels: Vec<(f32, f32)> = curve.points.iter().map(|&p| self.pixel(p)).collect();
            covered.extend(legend::trace(&pixels));
        }
        if let Some(vline) = &panel.vline {
            let (x, _) = self.pixel((vline.x, 0.0));
            covered.extend(legend::trace(&[(x, self.axes.top), (x, self.axes.bottom)]));
        }
        covered
    }
}

/// Draws `panels` side by side, each `panel_width × panel_height` pixels, below `title` (none
/// when empty). Each panel's legend goes where it hides no data; when one panel has no such
/// place, all the legends become one, to the right of the panels, which widens the picture.
pub(crate) fn draw_panels(
    panels: &[Panel],
    title: &str,
    (panel_width, panel_height): (usize, usize),
) -> super::Result<Figure> {
    let header = if title.is_empty() {
        0
    } else {
        TITLE_SIZE as usize + 20
    };
    let layouts: Vec<Layout> = panels
        .iter()
        .enumerate()
        .map(|(i, panel)| {
            let bounds = Rect {
                left: (i * panel_width) as f32,
                top: header as f32,
                right: ((i + 1) * panel_width) as f32,
                bottom: (header + panel_height) as f32,
            };
            Layout::new(panel, bounds)
        })
        .collect();
    let legends: Vec<Vec<Entry>> = panels.iter().map(Panel::legend).collect();
    // places[i]: where panel i's legend goes inside its axes (None: nowhere free).
    let places: Vec<Option<(f32, f32)>> = panels
        .iter()
        .zip(&layouts)
        .zip(&legends)
        .map(|((panel, layout), entries)| {
            legend::best_place(layout.axes, legend::size(entries), &layout.covered(panel))
        })
        .collect();
    let inside = legends
        .iter()
        .zip(&places)
        .all(|(entries, place)| entries.is_empty() || place.is_some());
    let beside = legend::merged(&legends);
    let panels_width = panel_width * panels.len();
    let column = if inside || beside.is_empty() {
        0
    } else {
        (legend::size(&beside).0 + LEGEND_GAP).ceil() as usize
    };
    let mut figure = Figure::new(panels_width + column, header + panel_height);
    figure.draw(|area| {
        if !title.is_empty() {
            let centre = (panels_width as f32 / 2.0, 12.0);
            text(
                area,
                title,
                centre,
                TITLE_SIZE + 2.0,
                INK,
                HPos::Center,
                VAlign::Top,
            )?;
        }
        for ((panel, layout), (entries, place)) in
            panels.iter().zip(&layouts).zip(legends.iter().zip(&places))
        {
            draw_panel(area, panel, layout)?;
            if let (true, Some(place)) = (inside, place) {
                legend::draw(area, entries, *place)?;
            }
        }
        if column > 0 {
            let top_left = (panels_width as f32, layouts[0].axes.top);
            legend::draw(area, &beside, top_left)?;
        }
        Ok(())
    })?;
    Ok(figure)
}

/// Draws one panel: plotters' mesh (grid, frame, ticks, their labels, axis labels), then the
/// marker line and the curves.
fn draw_panel(area: &Area, panel: &Panel, layout: &Layout) -> Drawn {
    let (bounds, axes) = (layout.bounds, layout.axes);
    let size = px2((bounds.right - bounds.left, bounds.bottom - bounds.top));
    let panel_area = area.clone().shrink(
        px2((bounds.left, bounds.top)),
        (size.0 as u32, size.1 as u32),
    );
    let (y_lo, y_hi) = (layout.y.lo, layout.y.hi);
    // The margins put the axes that plotters draws (one drawing pixel outside its plotting
    // area) on the middle drawing pixel of the frame's picture pixels, so that they are sharp.
    let middle = (SCALE / 2) as i32;
    let inset = |length: f32, shift: i32| (px(length) + shift) as u32;
    let mut chart = ChartBuilder::on(&panel_area)
        .margin_top(inset(axes.top - bounds.top, middle))
        .margin_right(inset(bounds.right - axes.right, -middle - 1))
        .margin_left(px(6.0))
        .y_label_area_size(inset(axes.left - bounds.left - 6.0, middle + 1))
        .margin_bottom(px(BOTTOM_MARGIN))
        .x_label_area_size(inset(bounds.bottom - BOTTOM_MARGIN - axes.bottom, -middle))
        .build_cartesian_2d(layout.x.clone(), layout.y.clone())?;
    let x_label = |v: &f32| layout.x.label(*v);
    let y_label = |v: &f32| layout.y.label(*v);
    let ink = color(INK);
    let thin = stroke(1.0);
    let mut mesh = chart.configure_mesh();
    mesh.bold_line_style(color(GRID).stroke_width(thin))
        .axis_style(ink.stroke_width(thin))
        .set_all_tick_mark_size(px(5.0))
        .label_style(font(TICK_SIZE).color(&ink))
        .y_label_offset(centring_offset(TICK_SIZE))
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .axis_desc_style(font(LABEL_SIZE).color(&ink));
    if !panel.x_label.is_empty() {
        mesh.x_desc(panel.x_label);
    }
    if !panel.y_label.is_empty() {
        mesh.y_desc(panel.y_label);
    }
    mesh.draw()?;
    // The mesh draws the left and bottom sides of the frame; matplotlib closes it.
    let (left, top, right, bottom) = (axes.left, axes.top, axes.right + 1.0, axes.bottom + 1.0);
    fill_rect(area, (left, top), (right, top + 1.0), INK)?;
    fill_rect(area, (right - 1.0, top), (right, bottom), INK)?;
    if !panel.title.is_empty() {
        let centre = ((axes.left + axes.right) / 2.0, bounds.top + 10.0);
        text(
            area,
            panel.title,
            centre,
            TITLE_SIZE,
            INK,
            HPos::Center,
            VAlign::Top,
        )?;
    }

    // The marker line, then the curves over it.
    if let Some(vline) = &panel.vline {
        let line = vec![(vline.x, y_lo), (vline.x, y_hi)];
        let style = ink.stroke_width(stroke(1.5));
        chart.draw_series(std::iter::once(DashedPathElement::new(
            line,
            px(6.0),
            px(4.0),
            style,
        )))?;
    }
    for curve in &panel.curves {
        let style = color(curve.color).stroke_width(px(2.0) as u32);
        for run in finite_runs(&curve.points) {
            if curve.dashed {
                chart.draw_series(std::iter::once(DashedPathElement::new(
                    run,
                    px(7.0),
                    px(4.0),
                    style,
                )))?;
            } else {
                chart.draw_series(std::iter::once(PathElement::new(run, style)))?;
            }
        }
        if curve.markers {
            let dots = finite_runs(&curve.points).into_iter().flatten();
            chart.draw_series(dots.map(|p| Circle::new(p, px(3.0), style.filled())))?;
        }
    }
    Ok(())
}

/// The stretches of `points` between non-finite ones (a NaN loss leaves a gap in the line).
fn finite_runs(points: &[(f32, f32)]) -> Vec<Vec<(f32, f32)>> {
    points
        .split(|p| !(p.0.is_finite() && p.1.is_finite()))
        .filter(|run| !run.is_empty())
        .map(<[(f32, f32)]>::to_vec)
        .collect()
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

/// One axis of a panel: the data range `[lo, hi]` it shows, and tick positions at a "nice"
/// step (1, 2, 2.5 or 5 × 10ᵏ) inside it. Plotters maps values to pixels with it, and draws the
/// grid lines and tick labels at its ticks.
#[derive(Clone, Debug)]
struct Axis {
    lo: f32,
    hi: f32,
    ticks: Vec<f32>,
    step: f32,
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f32;

    fn map(&self, value: &f32, (start, end): (i32, i32)) -> i32 {
        let t = (value - self.lo) / (self.hi - self.lo);
        let pixel = start + (t * (end - start) as f32).round() as i32;
        // Grid lines and tick marks fall on whole pixels, as matplotlib snaps them: sharp.
        if self.ticks.contains(value) {
            snap(pixel)
        } else {
            pixel
        }
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f32> {
        // Matplotlib draws no minor grid lines.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f32> {
        self.lo..self.hi
    }
}

impl Axis {
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
fn nice_ticks((lo, hi): (f32, f32), target: usize, integer: bool) -> Axis {
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
    Axis {
        lo,
        hi,
        ticks,
        step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks_use_round_steps_inside_the_range() {
        let ticks = nice_ticks((0.27, 0.93), 6, false);
        assert!((ticks.step - 0.2).abs() < 1e-6, "{}", ticks.step);
        assert_eq!(ticks.ticks.len(), 3);
        assert!((ticks.ticks[0] - 0.4).abs() < 1e-6);
        assert_eq!(ticks.label(ticks.ticks[0]), "0.4");
        assert_eq!(ticks.label(-2.0), "\u{2212}2.0");
        let epochs = nice_ticks((0.6, 7.4), 7, true);
        assert_eq!(epochs.step, 1.0);
        assert_eq!(epochs.ticks, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(epochs.label(3.0), "3");
    }

    #[test]
    fn quarter_steps_get_two_decimals_and_zero_has_no_sign() {
        let ticks = Axis {
            lo: 0.0,
            hi: 1.0,
            ticks: vec![],
            step: 0.25,
        };
        assert_eq!(ticks.label(0.75), "0.75");
        assert_eq!(ticks.label(-0.0), "0.00");
    }

    #[test]
    fn nan_points_break_the_line_into_runs() {
        let runs = finite_runs(&[(1.0, 1.0), (2.0, f32::NAN), (3.0, 3.0), (4.0, 4.0)]);
        assert_eq!(runs, vec![vec![(1.0, 1.0)], vec![(3.0, 3.0), (4.0, 4.0)]]);
    }

    #[test]
    fn padded_range_survives_constant_and_empty_input() {
        assert_eq!(padded_range(&[]), (0.0, 1.0));
        assert_eq!(padded_range(&[2.0]), (1.5, 2.5));
        let (lo, hi) = padded_range(&[0.0, 10.0]);
        assert!((lo + 0.5).abs() < 1e-6 && (hi - 10.5).abs() < 1e-6);
    }
}
