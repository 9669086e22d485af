//! The min–max stretch, astropy's `MinMaxInterval`.
//!
//! # Math
//! ```text
//! y = (x − min(x)) / (max(x) − min(x))
//! ```
//! over the image's finite values: the darkest pixel becomes 0, the brightest 1, and
//! everything between keeps its proportions. One hot pixel or bright star sets the scale for
//! the whole image, which is why the other stretches exist.
use super::{finite_min_max, rescale_to_unit};

/// Min–max scales `values` into [0, 1] in place (all 0 when the finite values are equal;
/// NaN stays NaN).
pub fn min_max(values: &mut [f32]) {
    if let Some((vmin, vmax)) = finite_min_max(values) {
        rescale_to_unit(values, vmin, vmax);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn darkest_to_zero_brightest_to_one() {
        let mut values = [4.0, 2.0, 10.0, f32::NAN, 6.0];
        min_max(&mut values);
        assert_eq!(values[..3], [0.25, 0.0, 1.0]);
        assert!(values[3].is_nan());
        assert_eq!(values[4], 0.5);
        let mut constant = [7.0; 3];
        min_max(&mut constant);
        assert_eq!(constant, [0.0; 3]);
        let mut empty: [f32; 0] = [];
        min_max(&mut empty);
    }
}
