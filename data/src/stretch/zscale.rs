//! zscale, the display limits of IRAF's `display` task (Valdes 1985), as astropy's
//! `ZScaleInterval` computes them.
//!
//! # Math
//! An image of sky is mostly background with noise, plus a few sources. Sorted, a sample of
//! its pixels is a nearly straight line (the noise) with steep ends (the sources and the bad
//! pixels). zscale fits that line while rejecting the ends, and takes limits around the median
//! from its slope:
//!
//! 1. **sample**: the finite values taken every `stride = max(1, ⌊n / samples⌋)` pixels, at
//!    most `samples` of them (1000), sorted: `s₀ ≤ … ≤ s_{m−1}`;
//! 2. **fit**, at most `max_iterations` (5) times, while pixels are still being rejected and at
//!    least `minpix = max(min_pixels, ⌊m · max_reject⌋)` are left:
//!    - least squares `s_i ≈ a + b·i` over the pixels not rejected,
//!    - residuals `r_i = s_i − (a + b·i)`, `σ` their standard deviation over the kept pixels,
//!    - reject every pixel with `|r_i| > krej·σ` (`krej` = 2.5), then also its neighbours: the
//!      rejection mask is dilated by `ngrow = max(1, ⌊m/100⌋)` pixels (`np.convolve` with a
//!      box of `ngrow`, mode "same");
//! 3. **limits**: if at least `minpix` pixels are kept, with `b' = b / contrast` (0.25) and
//!    `c = ⌊(m − 1)/2⌋`:
//!
//!    ```text
//!    z₁ = max(s₀,     median(s) − (c − 1) · b')
//!    z₂ = min(s_{m−1}, median(s) + (m − c) · b')
//!    ```
//!
//!    otherwise `z₁ = s₀`, `z₂ = s_{m−1}`.
//!
//! The image is then scaled as by min–max with `(z₁, z₂)` and clipped: the sky spans [0, 1]
//! and every star is white. A smaller contrast gives a wider range. Astropy samples its
//! array in C order; a cube here is `(H, W, bands)`, so for several bands the sample (not the
//! rule) differs from astropy's on the same file.
use super::rescale_to_unit;
use crate::error::Result;

/// The parameters of zscale; the default is IRAF's and astropy's.
#[derive(Clone, Debug, PartialEq)]
pub struct ZScale {
    /// The most pixels sampled (1000).
    pub samples: usize,
    /// Divides the fitted slope: smaller is a wider range (0.25). 0 leaves the slope as is.
    pub contrast: f64,
    /// The fit is used only if more than this fraction of the sample is kept (0.5).
    pub max_reject: f64,
    /// … and at least this many pixels (5).
    pub min_pixels: usize,
    /// The rejection threshold in standard deviations (2.5).
    pub krej: f64,
    /// The most rejection passes (5).
    pub max_iterations: usize,
}

impl Default for ZScale {
    fn default() -> Self {
        ZScale {
            samples: 1000,
            contrast: 0.25,
            max_reject: 0.5,
            min_pixels: 5,
            krej: 2.5,
            max_iterations: 5,
        }
    }
}

impl ZScale {
    /// # Errors
    /// [`crate::DataError::Invalid`] for 0 samples, a contrast < 0, a `max_reject` outside
    /// [0, 1], a `krej` ≤ 0, or a parameter that is not finite.
    pub(crate) fn validate(&self) -> Result<()> {
        let ok = self.samples > 0
            && self.contrast >= 0.0
            && self.contrast.is_finite()
            && (0.0..=1.0).contains(&self.max_reject)
            && self.krej > 0.0
            && self.krej.is_finite();
        if ok {
            return Ok(());
        }
        Err(super::invalid(
            "Stretch::zscale",
            "samples ≥ 1, contrast ≥ 0, max_reject in [0, 1], krej > 0, all finite",
            format!("{self:?}"),
        ))
    }
}

/// `(z₁, z₂)` of the finite values (see the module doc); `None` when there are none.
pub fn zscale_limits(values: &[f32], options: &ZScale) -> Option<(f64, f64)> {
    // Only the sample is kept, never a copy of the whole image.
    let finite = || {
        values
            .iter()
            .filter(|v| v.is_finite())
            .map(|&v| f64::from(v))
    };
    let stride = (finite().count() / options.samples.max(1)).max(1);
    let mut sample: Vec<f64> = finite().step_by(stride).take(options.samples).collect();
    sample.sort_by(f64::total_cmp);
    let m = sample.len();
    let (first, last) = (*sample.first()?, *sample.last()?);

    let min_pixels = options
        .min_pixels
        .max((m as f64 * options.max_reject) as usize);
    let ngrow = (m / 100).max(1);
    let mut rejected = vec![false; m];
    let mut kept = m;
    let mut kept_before = m + 1;
    let mut slope = None;
    for _ in 0..options.max_iterations {
        if kept >= kept_before || kept < min_pixels {
            break;
        }
        let (a, b) = line_fit(&sample, &rejected);
        let residuals: Vec<f64> = sample
            .iter()
            .enumerate()
            .map(|(i, s)| s - (a + b * i as f64))
            .collect();
        let threshold = options.krej * std_of_kept(&residuals, &rejected);
        for (mask, r) in rejected.iter_mut().zip(&residuals) {
            *mask |= r.abs() > threshold;
        }
        rejected = dilate(&rejected, ngrow);
        kept_before = kept;
        kept = rejected.iter().filter(|r| !**r).count();
        slope = Some(b);
    }
    let Some(mut slope) = slope.filter(|_| kept >= min_pixels) else {
        return Some((first, last));
    };
    if options.contrast > 0.0 {
        slope /= options.contrast;
    }
    let center = ((m - 1) / 2) as f64;
    let median = if m % 2 == 1 {
        sample[m / 2]
    } else {
        (sample[m / 2 - 1] + sample[m / 2]) / 2.0
    };
    Some((
        first.max(median - (center - 1.0) * slope),
        last.min(median + (m as f64 - center) * slope),
    ))
}

/// Scales `values` to [0, 1] between their zscale limits, clipping outside (NaN stays NaN).
pub fn zscale(values: &mut [f32], options: &ZScale) {
    if let Some((vmin, vmax)) = zscale_limits(values, options) {
        rescale_to_unit(values, vmin, vmax);
    }
}

/// Least squares `s_i ≈ a + b·i` over the pixels not rejected: `(a, b)`.
///
/// `b = Σ(i − ī)(s_i − s̄) / Σ(i − ī)²`, `a = s̄ − b·ī`; a flat line through the mean when the
/// kept pixels are fewer than two (NumPy's `polyfit` would warn and return the same).
fn line_fit(sample: &[f64], rejected: &[bool]) -> (f64, f64) {
    let kept = || {
        sample
            .iter()
            .enumerate()
            .filter(|(i, _)| !rejected[*i])
            .map(|(i, &s)| (i as f64, s))
    };
    let n = kept().count() as f64;
    let (i_mean, s_mean) = kept().fold((0.0, 0.0), |(i_sum, s_sum), (i, s)| (i_sum + i, s_sum + s));
    let (i_mean, s_mean) = (i_mean / n, s_mean / n);
    let (covariance, variance) = kept().fold((0.0, 0.0), |(c, v), (i, s)| {
        (
            c + (i - i_mean) * (s - s_mean),
            v + (i - i_mean) * (i - i_mean),
        )
    });
    let slope = if variance > 0.0 {
        covariance / variance
    } else {
        0.0
    };
    (s_mean - slope * i_mean, slope)
}

/// The population standard deviation (NumPy's `std`) of the residuals not rejected.
fn std_of_kept(residuals: &[f64], rejected: &[bool]) -> f64 {
    let kept: Vec<f64> = residuals
        .iter()
        .zip(rejected)
        .filter(|(_, r)| !**r)
        .map(|(v, _)| *v)
        .collect();
    let n = kept.len() as f64;
    let mean = kept.iter().sum::<f64>() / n;
    (kept.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

/// `np.convolve(mask, ones(ngrow), mode="same")` on booleans: pixel `j` rejected rejects
/// `j − ⌊(ngrow − 1)/2⌋ ..= j + ⌊ngrow/2⌋`.
fn dilate(mask: &[bool], ngrow: usize) -> Vec<bool> {
    let mut out = vec![false; mask.len()];
    for (j, _) in mask.iter().enumerate().filter(|(_, bad)| **bad) {
        let from = j.saturating_sub((ngrow - 1) / 2);
        let to = (j + ngrow / 2).min(mask.len() - 1);
        out[from..=to].iter_mut().for_each(|o| *o = true);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ```python
    /// b = np.zeros(100, dtype=bool); b[50] = True
    /// np.nonzero(np.convolve(b, np.ones(m, dtype=bool), mode="same"))[0]
    /// # m = 2: [50 51]; m = 3: [49 50 51]; m = 10: [46 … 55]
    /// ```
    #[test]
    fn dilation_is_numpys_same_convolution() {
        let mut mask = vec![false; 100];
        mask[50] = true;
        for (ngrow, from, to) in [(1, 50, 50), (2, 50, 51), (3, 49, 51), (10, 46, 55)] {
            let grown = dilate(&mask, ngrow);
            let marked: Vec<usize> = (0..100).filter(|&i| grown[i]).collect();
            assert_eq!(marked, (from..=to).collect::<Vec<_>>(), "ngrow {ngrow}");
        }
        let mut edge = vec![false; 5];
        edge[0] = true;
        edge[4] = true;
        assert_eq!(dilate(&edge, 3), [true, true, false, true, true]);
    }

    #[test]
    fn a_line_is_fitted_over_the_kept_pixels() {
        let sample = [1.0, 3.0, 5.0, 100.0, 9.0];
        let rejected = [false, false, false, true, false];
        let (a, b) = line_fit(&sample, &rejected);
        assert!(
            (a - 1.0).abs() < 1e-12 && (b - 2.0).abs() < 1e-12,
            "{a} {b}"
        );
    }

    #[test]
    fn the_sky_is_kept_and_the_stars_clipped() {
        // A sky of 1000 pixels rising slowly from 100 to 110, and 20 "stars" at 10⁴.
        let mut values: Vec<f32> = (0..1000).map(|i| 100.0 + (i % 97) as f32 / 9.7).collect();
        values.extend(std::iter::repeat_n(10_000.0, 20));
        let (z1, z2) = zscale_limits(&values, &ZScale::default()).expect("limits");
        assert!((99.0..=101.0).contains(&z1), "{z1}");
        assert!(z2 < 200.0, "{z2}");
        zscale(&mut values, &ZScale::default());
        assert_eq!(values[1010], 1.0);
        assert!(values.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn tiny_samples_fall_back_to_min_and_max() {
        let options = ZScale::default();
        assert_eq!(zscale_limits(&[3.0, 1.0, 2.0], &options), Some((1.0, 3.0)));
        assert_eq!(zscale_limits(&[f32::NAN], &options), None);
        assert_eq!(zscale_limits(&[], &options), None);
        assert_eq!(zscale_limits(&[4.0; 50], &options), Some((4.0, 4.0)));
        // Options a Stretch would refuse still never panic here.
        let odd = ZScale {
            samples: 0,
            min_pixels: 0,
            max_iterations: 0,
            ..ZScale::default()
        };
        assert_eq!(zscale_limits(&[1.0, 2.0], &odd), None);
        let no_passes = ZScale {
            max_iterations: 0,
            ..ZScale::default()
        };
        assert_eq!(
            zscale_limits(&[1.0, 9.0, 2.0], &no_passes),
            Some((1.0, 9.0))
        );
    }
}
