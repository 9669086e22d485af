//! Resizing images of f32 values, for FITS images: their pixels are physical values (negative,
//! or far above 255), which the `image` crate's resamplers clamp to [0, 1], its range for
//! float pixels. These are the same resamplers without the clamp.
//!
//! # Math
//! A resize is separable: rows are resampled first, then columns, each a 1-D resample of
//! `n_in` values into `n_out`. Output sample `o` sits at input position `(o + ½) · s` with
//! `s = n_in / n_out`, and is a normalised weighted sum of the inputs around it:
//!
//! ```text
//! spread = max(s, 1)                        (shrinking widens the kernel: an average, not a pick)
//! t_i    = (i + ½ − (o + ½)·s) / spread
//! y[o]   = Σ_i k(t_i) · x[i] / Σ_i k(t_i)    over the i with |t_i| < support
//! ```
//!
//! with the kernel `k` of the interpolation: bilinear, the triangle `k(t) = max(0, 1 − |t|)`
//! (support 1); bicubic, Catmull–Rom (support 2), the cubic through the four nearest samples
//! with slopes from their neighbours. This is the `image` crate's `resize` with
//! `FilterType::Triangle` and `FilterType::CatmullRom`, the filters used for 8-bit pictures
//! (`directory_iterator.rs`); the tests check that both agree on values in [0, 1]. Nearest
//! uses PIL's rule, as for 8-bit pictures.
use super::directory_iterator::{resize_nearest_pil, Interpolation};

/// Resizes `pixels` `(H, W, C)` to `(TH, TW, C)`.
pub fn resize_float(
    pixels: &[f32],
    [h, w, c]: [usize; 3],
    [th, tw]: [usize; 2],
    interpolation: Interpolation,
) -> Vec<f32> {
    let kernel: (fn(f64) -> f64, f64) = match interpolation {
        Interpolation::Nearest => return resize_nearest_pil(pixels, h, w, c, th, tw),
        Interpolation::Bilinear => (triangle, 1.0),
        Interpolation::Bicubic => (catmull_rom, 2.0),
    };
    // rows: (TH, W, C), then columns: (TH, TW, C).
    let rows = resample_axis(pixels, [1, h, w * c], th, kernel);
    resample_axis(&rows, [th, w, c], tw, kernel)
}

/// Resamples the middle axis of `input` `(outer, n_in, inner)` to `n_out` values:
/// `(outer, n_out, inner)`.
fn resample_axis(
    input: &[f32],
    [outer, n_in, inner]: [usize; 3],
    n_out: usize,
    (kernel, support): (fn(f64) -> f64, f64),
) -> Vec<f32> {
    let scale = n_in as f64 / n_out as f64;
    let spread = scale.max(1.0);
    // For each output position: the first input it reads and the normalised weights.
    let taps: Vec<(usize, Vec<f64>)> = (0..n_out)
        .map(|o| {
            let centre = (o as f64 + 0.5) * scale;
            let first = ((centre - support * spread).floor().max(0.0) as usize).min(n_in - 1);
            let end = ((centre + support * spread).ceil() as usize).clamp(first + 1, n_in);
            let weights: Vec<f64> = (first..end)
                .map(|i| kernel((i as f64 + 0.5 - centre) / spread))
                .collect();
            let sum: f64 = weights.iter().sum();
            (first, weights.iter().map(|w| w / sum).collect())
        })
        .collect();
    let mut out = vec![0.0f32; outer * n_out * inner]; // (outer, n_out, inner)
    for block in 0..outer {
        for (o, (first, weights)) in taps.iter().enumerate() {
            for k in 0..inner {
                let value: f64 = weights
                    .iter()
                    .enumerate()
                    .map(|(j, w)| w * f64::from(input[(block * n_in + first + j) * inner + k]))
                    .sum();
                out[(block * n_out + o) * inner + k] = value as f32;
            }
        }
    }
    out
}

/// The triangle kernel of bilinear interpolation.
fn triangle(t: f64) -> f64 {
    (1.0 - t.abs()).max(0.0)
}

/// The Catmull–Rom cubic (Mitchell–Netravali with B = 0, C = ½).
fn catmull_rom(t: f64) -> f64 {
    let a = t.abs();
    if a < 1.0 {
        1.5 * a * a * a - 2.5 * a * a + 1.0
    } else if a < 2.0 {
        -0.5 * a * a * a + 2.5 * a * a - 4.0 * a + 2.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth picture with values in [0.2, 0.8]: no filter overshoots [0, 1] on it, so the
    /// `image` crate's clamp never acts.
    fn smooth(h: usize, w: usize, c: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(h * w * c);
        for r in 0..h {
            for col in 0..w {
                for k in 0..c {
                    let (y, x) = (r as f32 / h as f32, col as f32 / w as f32);
                    out.push(0.5 + 0.3 * (2.0 * y + 3.0 * x + k as f32).sin() * (x - 0.5));
                }
            }
        }
        out
    }

    /// Both filters, growing and shrinking, against `image::imageops::resize` on Rgb32F.
    #[test]
    fn agrees_with_the_image_crate_on_unit_values() {
        for (interpolation, filter) in [
            (
                Interpolation::Bilinear,
                image::imageops::FilterType::Triangle,
            ),
            (
                Interpolation::Bicubic,
                image::imageops::FilterType::CatmullRom,
            ),
        ] {
            for (h, w, th, tw) in [(12, 9, 5, 4), (5, 4, 11, 13), (8, 8, 8, 3), (7, 10, 20, 10)] {
                let pixels = smooth(h, w, 3);
                let ours = resize_float(&pixels, [h, w, 3], [th, tw], interpolation);
                let picture =
                    image::Rgb32FImage::from_raw(w as u32, h as u32, pixels).expect("h·w·3 values");
                let theirs =
                    image::imageops::resize(&picture, tw as u32, th as u32, filter).into_raw();
                assert_eq!(ours.len(), theirs.len());
                for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                    assert!(
                        (a - b).abs() < 1e-5,
                        "{interpolation:?} {h}×{w}→{th}×{tw} [{i}]: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn physical_values_are_not_clamped() {
        let pixels = [-500.0, 20_000.0, 3.0, -1.0];
        for interpolation in [
            Interpolation::Nearest,
            Interpolation::Bilinear,
            Interpolation::Bicubic,
        ] {
            let out = resize_float(&pixels, [2, 2, 1], [4, 4], interpolation);
            assert_eq!(out.len(), 16);
            assert!(
                out.iter().any(|&v| v < -400.0),
                "{interpolation:?}: {out:?}"
            );
            assert!(
                out.iter().any(|&v| v > 15_000.0),
                "{interpolation:?}: {out:?}"
            );
        }
        // The same size is the identity for every kernel.
        for interpolation in [Interpolation::Bilinear, Interpolation::Bicubic] {
            assert_eq!(
                resize_float(&pixels, [2, 2, 1], [2, 2], interpolation),
                pixels
            );
        }
    }
}
