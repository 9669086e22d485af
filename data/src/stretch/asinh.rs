//! The asinh stretch of Lupton et al. (2004, PASP 116, 133, "Preparing red-green-blue images
//! from CCD data"), on the min–max scaled image.
//!
//! # Math
//! With `x ∈ [0, 1]` the min–max scaled value and `β > 0` the softening:
//!
//! ```text
//! F(x) = asinh(x / β) / asinh(1 / β)
//! ```
//!
//! `asinh(u) = ln(u + √(u² + 1))` is `u` for small `u` and `ln(2u)` for large `u`: faint
//! pixels (`x ≪ β`, the noise) are stretched linearly, bright ones (`x ≫ β`) logarithmically,
//! so a galaxy's faint outskirts and its bright core show in one picture. `F(0) = 0`,
//! `F(1) = 1`. Lupton's `F(x) = asinh(αQx)/Q` is this curve with `αQ = 1/β`, scaled so the
//! brightest pixel maps to 1; astropy's `AsinhStretch(a)` is exactly `F` with `a = β`.
//!
//! For an image of several bands, Lupton applies `F` to the intensity `I`, the mean of the
//! bands, and scales every band by the same factor, so that each pixel keeps its colour (the
//! ratios between its bands):
//!
//! ```text
//! I  = (x₁ + … + x_B) / B
//! yₖ = xₖ · F(I) / I                                    (yₖ = 0 where I = 0)
//! yₖ = yₖ / max(y₁, …, y_B)    where that max is > 1    (a saturated pixel keeps its colour)
//! ```
//!
//! With one band `I = x` and this is `y = F(x)`.
use super::{finite_min_max, rescale_to_unit};

/// Asinh-stretches `values` (pixels of `channels` values) in place with softening `β`: the
/// min–max scaling over every finite value, then Lupton's colour-preserving `F` per pixel
/// (see the module doc). NaN stays NaN; `channels = 0` is read as 1.
pub fn asinh(values: &mut [f32], channels: usize, softening: f64) {
    let Some((vmin, vmax)) = finite_min_max(values) else {
        return;
    };
    rescale_to_unit(values, vmin, vmax);
    let norm = (1.0 / softening).asinh();
    let f = |x: f64| (x / softening).asinh() / norm;
    for pixel in values.chunks_mut(channels.max(1)) {
        let intensity = pixel.iter().map(|&x| f64::from(x)).sum::<f64>() / pixel.len() as f64;
        if intensity.is_nan() {
            continue; // a NaN band: the pixel has no intensity
        }
        let gain = if intensity > 0.0 {
            f(intensity) / intensity
        } else {
            0.0
        };
        let brightest = pixel
            .iter()
            .map(|&x| f64::from(x) * gain)
            .fold(0.0, f64::max);
        let saturation = brightest.max(1.0);
        for x in pixel.iter_mut() {
            *x = (f64::from(*x) * gain / saturation) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ```python
    /// AsinhStretch(0.1)(MinMaxInterval()(np.array([100., 110., 10000.])))
    /// # array([0.        , 0.00336894, 1.        ])
    /// ```
    #[test]
    fn one_band_is_astropys_asinh_stretch() {
        let mut values = [100.0, 110.0, 10_000.0];
        asinh(&mut values, 1, 0.1);
        assert_eq!(values[0], 0.0);
        assert!((values[1] - 0.003_368_94).abs() < 1e-7, "{}", values[1]);
        assert_eq!(values[2], 1.0);
    }

    #[test]
    fn faint_values_are_linear_bright_ones_logarithmic() {
        let softening = 0.01;
        let norm = (1.0f64 / softening).asinh();
        // x ≪ β: F(x) ≈ x / (β · asinh(1/β)).
        let mut faint = [0.0, 1e-4, 1.0];
        asinh(&mut faint, 1, softening);
        let linear = 1e-4 / (softening * norm);
        assert!((f64::from(faint[1]) - linear).abs() < 1e-4 * linear);
        // x ≫ β: F(2x) − F(x) ≈ ln 2 / asinh(1/β).
        let mut bright = [0.0, 0.25, 0.5, 1.0];
        asinh(&mut bright, 1, softening);
        let step = f64::from(bright[2] - bright[1]);
        assert!((step - 2f64.ln() / norm).abs() < 1e-3, "{step}");
    }

    #[test]
    fn bands_keep_their_ratios() {
        // Three pixels of (r, g, b); the image's min is 0 and max 8.
        let mut values = [0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 8.0, 4.0, 2.0];
        asinh(&mut values, 3, 0.1);
        assert_eq!(values[..3], [0.0; 3]);
        // Each pixel's bands keep the ratios they had.
        assert!((values[4] / values[3] - 1.0).abs() < 1e-6);
        assert!((values[5] / values[3] - 2.0).abs() < 1e-6);
        assert!((values[6] / values[8] - 4.0).abs() < 1e-6);
        // The first pixel: x = (1, 1, 2)/8, I = 1/6, y = x · F(I)/I.
        let f = |x: f64| (x / 0.1).asinh() / 10f64.asinh();
        let intensity = 1.0 / 6.0;
        let expected = 0.125 * f(intensity) / intensity;
        assert!(
            (f64::from(values[3]) - expected).abs() < 1e-6,
            "{}",
            values[3]
        );
        // The second is saturated (its brightest band would pass 1): scaled to 1.
        assert_eq!(values[6], 1.0);
        assert!(values.iter().all(|v| (0.0..=1.0).contains(v)));
    }
}
