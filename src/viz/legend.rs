//! Legends that hide no data: matplotlib's `loc="best"`. Each place a legend can go inside the
//! axes (the corners, the middles of the sides, the centre) is scored by how many points of the
//! drawn curves its box would cover, and the first that covers none is taken. When every place
//! covers some, the legend goes outside the axes, to the right of the panels
//! (`fig.legend(loc="outside right upper")`).
use plotters::style::text_anchor::HPos;

use super::colormap::{Rgb, INK, LEGEND_EDGE, WHITE};
use super::figure::{fill_rect, stroke_rect, text, text_width, Area, Drawn, VAlign};

/// The legend's text size, in pixels.
const TEXT_SIZE: f32 = 12.0;
/// The height of one entry.
const ROW: f32 = 20.0;
/// The length of the line sample before each label.
const SAMPLE: f32 = 26.0;
/// Room left between the box and the frame of the axes, and around each covered point (a
/// curve is 2 pixels wide, a dot 6).
const PAD: f32 = 8.0;
const POINT_REACH: f32 = 4.0;

/// One line of a legend: a sample of the curve's line and its label.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub label: String,
    pub color: Rgb,
    pub dashed: bool,
}

/// A rectangle in pixels: left, top, right, bottom.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rect {
    pub left: f32,
    pub top: f32,
    pub right: f32,
    pub bottom: f32,
}

/// The width and height of the legend of `entries`.
pub(crate) fn size(entries: &[Entry]) -> (f32, f32) {
    let widest = entries
        .iter()
        .map(|e| text_width(&e.label, TEXT_SIZE))
        .fold(0.0f32, f32::max);
    (
        10.0 + SAMPLE + 8.0 + widest + 10.0,
        8.0 + ROW * entries.len() as f32 + 4.0,
    )
}

/// The top-left corner of the first place inside `axes` where a legend of `size` covers none
/// of `points` (pixel positions of the data), trying matplotlib's places in its order; `None`
/// when every place covers some, or the legend does not fit.
pub(crate) fn best_place(
    axes: Rect,
    (width, height): (f32, f32),
    points: &[(f32, f32)],
) -> Option<(f32, f32)> {
    let (left, right) = (axes.left + PAD, axes.right - PAD - width);
    let (top, bottom) = (axes.top + PAD, axes.bottom - PAD - height);
    if right < left || bottom < top {
        return None;
    }
    let (centre_x, centre_y) = ((left + right) / 2.0, (top + bottom) / 2.0);
    // upper right, upper left, lower left, lower right, center right, center left, lower
    // center, upper center, center
    let places = [
        (right, top),
        (left, top),
        (left, bottom),
        (right, bottom),
        (right, centre_y),
        (left, centre_y),
        (centre_x, bottom),
        (centre_x, top),
        (centre_x, centre_y),
    ];
    let covers = |&(x, y): &(f32, f32)| {
        points.iter().any(|p| {
            p.0 >= x - POINT_REACH
                && p.0 <= x + width + POINT_REACH
                && p.1 >= y - POINT_REACH
                && p.1 <= y + height + POINT_REACH
        })
    };
    places.into_iter().find(|place| !covers(place))
}

/// Points every pixel along the line through `points` (pixel positions; a non-finite point
/// breaks the line), for [`best_place`] to count.
pub(crate) fn trace(points: &[(f32, f32)]) -> Vec<(f32, f32)> {
    let finite = |p: &(f32, f32)| p.0.is_finite() && p.1.is_finite();
    let mut traced: Vec<(f32, f32)> = points.iter().copied().filter(finite).collect();
    for pair in points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if !(finite(&a) && finite(&b)) {
            continue;
        }
        let steps = (b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil() as usize;
        for i in 1..steps {
            let t = i as f32 / steps as f32;
            traced.push((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)));
        }
    }
    traced
}

/// The entries of several legends, each once, in the order they first appear.
pub(crate) fn merged(legends: &[Vec<Entry>]) -> Vec<Entry> {
    let mut all: Vec<Entry> = Vec::new();
    for entry in legends.iter().flatten() {
        if !all.contains(entry) {
            all.push(entry.clone());
        }
    }
    all
}

/// Draws the legend of `entries` with its top-left corner at `(x, y)`.
pub(crate) fn draw(area: &Area, entries: &[Entry], (x, y): (f32, f32)) -> Drawn {
    let (width, height) = size(entries);
    let (x, y) = (x.round(), y.round());
    let far_corner = (x + width.round(), y + height.round());
    fill_rect(area, (x, y), far_corner, WHITE)?;
    stroke_rect(area, (x, y), far_corner, LEGEND_EDGE)?;
    for (i, entry) in entries.iter().enumerate() {
        // A whole row, so that the 2-pixel sample line covers two rows of pixels exactly.
        let middle = (y + 8.0 + ROW * (i as f32 + 0.5)).round();
        // The sample is drawn as 2-pixel-tall rectangles (one, or one per dash), which cover
        // whole pixels: a plotters line would spill a third of a pixel below.
        let dash = if entry.dashed { 7.0 } else { SAMPLE };
        let mut start = 0.0;
        while start < SAMPLE {
            let end = (start + dash).min(SAMPLE);
            let from = (x + 10.0 + start, middle - 1.0);
            fill_rect(area, from, (x + 10.0 + end, middle + 1.0), entry.color)?;
            start += dash + 4.0;
        }
        let label_at = (x + 10.0 + SAMPLE + 8.0, middle);
        text(
            area,
            &entry.label,
            label_at,
            TEXT_SIZE,
            INK,
            HPos::Left,
            VAlign::Middle,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AXES: Rect = Rect {
        left: 0.0,
        top: 0.0,
        right: 400.0,
        bottom: 300.0,
    };

    #[test]
    fn the_upper_right_corner_is_taken_when_it_is_free() {
        let points = trace(&[(0.0, 290.0), (400.0, 290.0)]);
        assert_eq!(best_place(AXES, (100.0, 50.0), &points), Some((292.0, 8.0)));
    }

    #[test]
    fn a_line_through_a_corner_sends_the_legend_to_the_next_free_place() {
        // A diagonal from the lower left to the upper right, with no vertex in either corner
        // box: the line between the vertices is what the legend must not hide.
        let points = trace(&[(0.0, 300.0), (400.0, 0.0)]);
        assert_eq!(best_place(AXES, (100.0, 50.0), &points), Some((8.0, 8.0)));
    }

    #[test]
    fn no_place_is_found_when_the_data_fills_the_axes() {
        let zigzag: Vec<(f32, f32)> = (0..=40)
            .map(|i| (i as f32 * 10.0, if i % 2 == 0 { 0.0 } else { 300.0 }))
            .collect();
        assert_eq!(best_place(AXES, (100.0, 50.0), &trace(&zigzag)), None);
        // Nor when the legend is larger than the axes.
        assert_eq!(best_place(AXES, (500.0, 50.0), &[]), None);
    }

    #[test]
    fn trace_breaks_at_non_finite_points() {
        let traced = trace(&[(0.0, 0.0), (f32::NAN, 5.0), (10.0, 0.0)]);
        assert_eq!(traced, vec![(0.0, 0.0), (10.0, 0.0)]);
    }

    #[test]
    fn merged_keeps_each_entry_once() {
        let entry = |label: &str| Entry {
            label: label.into(),
            color: INK,
            dashed: false,
        };
        let merged = merged(&[vec![entry("a"), entry("b")], vec![entry("b"), entry("c")]]);
        assert_eq!(merged, vec![entry("a"), entry("b"), entry("c")]);
    }
}
