//! Matplotlib's colours: the "tab10" cycle that pandas gives its curves, the greys of its axes,
//! and its colour maps, as the nine anchor colours matplotlib's own tables pass through,
//! interpolated linearly between them (close to the 256-entry tables to the eye).

/// A colour: red, green, blue, 0–255.
pub type Rgb = [u8; 3];

/// White, the background.
pub const WHITE: Rgb = [255, 255, 255];
/// Black.
pub const BLACK: Rgb = [0, 0, 0];
/// Matplotlib's dark grey for axes and text.
pub const INK: Rgb = [38, 38, 38];
/// Light grey for grid lines.
pub const GRID: Rgb = [225, 225, 225];
/// The frame of a legend.
pub const LEGEND_EDGE: Rgb = [204, 204, 204];

/// Matplotlib's "tab10" cycle, the colours pandas gives the 1st, 2nd, … column.
pub const TAB10: [Rgb; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

/// `viridis`, matplotlib's default for `imshow`: dark purple (0) to yellow (1).
pub const VIRIDIS: [Rgb; 9] = [
    [0x44, 0x01, 0x54],
    [0x47, 0x2c, 0x7a],
    [0x3b, 0x51, 0x8b],
    [0x2c, 0x71, 0x8e],
    [0x21, 0x90, 0x8d],
    [0x27, 0xad, 0x81],
    [0x5c, 0xc8, 0x63],
    [0xaa, 0xdc, 0x32],
    [0xfd, 0xe7, 0x25],
];

/// `Blues`, the colour map of scikit-learn's confusion matrix: near white (0) to dark blue (1).
pub const BLUES: [Rgb; 9] = [
    [0xf7, 0xfb, 0xff],
    [0xde, 0xeb, 0xf7],
    [0xc6, 0xdb, 0xef],
    [0x9e, 0xca, 0xe1],
    [0x6b, 0xae, 0xd6],
    [0x42, 0x92, 0xc6],
    [0x21, 0x71, 0xb5],
    [0x08, 0x51, 0x9c],
    [0x08, 0x30, 0x6b],
];

/// The colour of `t` (clamped to [0, 1]; NaN is 0) in the map `anchors`.
pub fn sample(anchors: &[Rgb; 9], t: f32) -> Rgb {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let position = t * 8.0;
    let i = (position.floor() as usize).min(7);
    let f = position - i as f32;
    let (a, b) = (anchors[i], anchors[i + 1]);
    [0, 1, 2].map(|k| (a[k] as f32 + (b[k] as f32 - a[k] as f32) * f).round() as u8)
}

/// A grey level: black (0) to white (1).
pub fn grey(t: f32) -> Rgb {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let v = (t * 255.0).round() as u8;
    [v, v, v]
}

/// Whether text written over `background` should be white (dark background) rather than black.
pub fn wants_white_text(background: Rgb) -> bool {
    let luminance =
        0.299 * background[0] as f32 + 0.587 * background[1] as f32 + 0.114 * background[2] as f32;
    luminance < 140.0
}

/// Rescales `values` to [0, 1] by their minimum and maximum (all 0.5 when they are equal);
/// non-finite values become 0.
pub fn min_max_normalize(values: &[f32]) -> Vec<f32> {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f32::INFINITY, f32::min);
    let hi = finite.fold(f32::NEG_INFINITY, f32::max);
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                0.0
            } else if hi > lo {
                (v - lo) / (hi - lo)
            } else {
                0.5
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ends_of_a_map_are_its_first_and_last_anchors() {
        assert_eq!(sample(&VIRIDIS, 0.0), VIRIDIS[0]);
        assert_eq!(sample(&VIRIDIS, 1.0), VIRIDIS[8]);
        assert_eq!(sample(&BLUES, 2.0), BLUES[8]);
        assert_eq!(sample(&BLUES, f32::NAN), BLUES[0]);
    }

    #[test]
    fn min_max_normalize_maps_the_extremes_to_0_and_1() {
        assert_eq!(min_max_normalize(&[2.0, 4.0, 3.0]), vec![0.0, 1.0, 0.5]);
        assert_eq!(min_max_normalize(&[7.0, 7.0]), vec![0.5, 0.5]);
        assert_eq!(
            min_max_normalize(&[f32::NAN, 1.0, 3.0]),
            vec![0.0, 0.0, 1.0]
        );
    }
}
