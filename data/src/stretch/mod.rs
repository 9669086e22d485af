//! Stretches: the maps astronomers use to bring an image's values into [0, 1].
//!
//! The pixels of a sky image span orders of magnitude: a faint background near 100 counts,
//! stars at 10⁴. Divided by its maximum, such an image is black with a few white dots, and a
//! network sees little more. A stretch chooses which values matter and how they spread:
//!
//! | stretch | file | formula |
//! |---|---|---|
//! | [`min_max`] | `min_max.rs` | `y = (x − min) / (max − min)` |
//! | [`percentile_clip`] | `percentile_clip.rs` | `y = clip((x − P_lo) / (P_hi − P_lo), 0, 1)`, `P_p` the p-th percentile |
//! | [`asinh`] | `asinh.rs` | `y = asinh(x / β) / asinh(1 / β)` on min–max scaled `x` (Lupton et al. 2004) |
//! | [`zscale`] | `zscale.rs` | IRAF's zscale: limits from a line fitted to the sorted sample, then as min–max |
//!
//! Each works on one image: its limits come from the image's own finite values, every band
//! together (so that the ratios between bands — the colours — are kept), and every output lies
//! in [0, 1]. NaN stays NaN (the FITS reader has replaced blanks already); an image whose
//! finite values are all equal becomes 0.
//!
//! [`Stretch`] holds one of them with its checked parameters. It is what the image
//! generator's `preprocessing_function` takes, so that every image of a batch is stretched
//! after its random transform (and before `rescale`):
//!
//! ```
//! use astrograd_data::image_generator::{Image, ImageDataGenerator};
//! use astrograd_data::stretch::Stretch;
//! let asinh = Stretch::asinh(0.1)?;
//! let generator = ImageDataGenerator::default()
//!     .preprocessing_function(move |image: &mut Image| asinh.apply(image));
//!
//! // Or on one image: a dark sky, a star 100 times brighter.
//! let mut image = Image::new(1, 3, 1, vec![100.0, 110.0, 10_000.0])?;
//! Stretch::asinh(0.1)?.apply(&mut image);
//! assert_eq!(image.data[0], 0.0);
//! assert_eq!(image.data[2], 1.0);
//! assert!(image.data[1] > 0.003); // min–max alone gives 0.001
//! # Ok::<(), astrograd_data::DataError>(())
//! ```
use astrograd_tensor::Tensor;

use crate::error::{DataError, Result};
use crate::image_generator::Image;

mod asinh;
mod min_max;
mod percentile_clip;
mod zscale;

pub use asinh::asinh;
pub use min_max::min_max;
pub use percentile_clip::{percentile, percentile_clip, percentile_limits};
pub use zscale::{zscale, zscale_limits, ZScale};

/// One stretch and its parameters, checked when it is made.
#[derive(Clone, Debug, PartialEq)]
pub struct Stretch {
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    MinMax,
    PercentileClip { lower: f64, upper: f64 },
    Asinh { softening: f64 },
    ZScale(ZScale),
}

impl Stretch {
    /// [`min_max`]: the image's smallest value to 0, its largest to 1.
    pub fn min_max() -> Stretch {
        Stretch { kind: Kind::MinMax }
    }

    /// [`percentile_clip`]: the `lower`-th percentile to 0, the `upper`-th to 1, values
    /// outside clipped (e.g. `(1.0, 99.0)`, or `(0.5, 99.5)`).
    ///
    /// # Errors
    /// [`DataError::Invalid`] unless `0 ≤ lower < upper ≤ 100`.
    pub fn percentile_clip(lower: f64, upper: f64) -> Result<Stretch> {
        if !(0.0 <= lower && lower < upper && upper <= 100.0) {
            return Err(invalid(
                "Stretch::percentile_clip",
                "percentiles with 0 ≤ lower < upper ≤ 100",
                format!("lower {lower}, upper {upper}"),
            ));
        }
        Ok(Stretch {
            kind: Kind::PercentileClip { lower, upper },
        })
    }

    /// [`asinh`] with the softening `β` (astropy's `a`; 0.1 is its default): linear below
    /// about β, logarithmic above, on the min–max scaled image.
    ///
    /// # Errors
    /// [`DataError::Invalid`] unless `β > 0` and finite.
    pub fn asinh(softening: f64) -> Result<Stretch> {
        if !(softening > 0.0 && softening.is_finite()) {
            return Err(invalid(
                "Stretch::asinh",
                "a softening β > 0",
                format!("{softening}"),
            ));
        }
        Ok(Stretch {
            kind: Kind::Asinh { softening },
        })
    }

    /// [`zscale`] with `options` (`ZScale::default()` is IRAF's and astropy's).
    ///
    /// # Errors
    /// [`DataError::Invalid`] for 0 samples, a contrast < 0, a `max_reject` outside [0, 1]
    /// or a `krej` ≤ 0 (or any of them not finite).
    pub fn zscale(options: ZScale) -> Result<Stretch> {
        options.validate()?;
        Ok(Stretch {
            kind: Kind::ZScale(options),
        })
    }

    /// Stretches `values`, pixels of `channels` values each, in place.
    pub fn apply_values(&self, values: &mut [f32], channels: usize) {
        match &self.kind {
            Kind::MinMax => min_max(values),
            Kind::PercentileClip { lower, upper } => percentile_clip(values, *lower, *upper),
            Kind::Asinh { softening } => asinh(values, channels, *softening),
            Kind::ZScale(options) => zscale(values, options),
        }
    }

    /// Stretches one image of the generator in place: the `preprocessing_function` form.
    pub fn apply(&self, image: &mut Image) {
        let channels = image.channels;
        self.apply_values(&mut image.data, channels);
    }

    /// The stretched copy of an image tensor, `(H, W)` (one band) or `(H, W, bands)`, as
    /// [`crate::fits::load`] returns them.
    ///
    /// # Errors
    /// [`DataError::Invalid`] for a tensor of another rank.
    pub fn apply_tensor(&self, image: &Tensor) -> Result<Tensor> {
        let channels = match image.shape() {
            [_, _] => 1,
            [_, _, bands] => *bands,
            other => {
                return Err(invalid(
                    "Stretch::apply_tensor",
                    "an image (H, W) or (H, W, bands)",
                    format!("shape {other:?}"),
                ))
            }
        };
        let mut values = image.to_vec()?;
        self.apply_values(&mut values, channels);
        Ok(Tensor::from_vec(values, image.shape())?)
    }
}

fn invalid(op: &'static str, expected: &str, found: String) -> DataError {
    DataError::Invalid {
        op,
        expected: expected.to_string(),
        found,
    }
}

/// The smallest and largest finite values, `None` when there are none.
fn finite_min_max(values: &[f32]) -> Option<(f64, f64)> {
    values
        .iter()
        .filter(|v| v.is_finite())
        .fold(None, |limits, &v| {
            let v = f64::from(v);
            Some(match limits {
                None => (v, v),
                Some((lo, hi)) => (f64::min(lo, v), f64::max(hi, v)),
            })
        })
}

/// `y = clip((x − vmin) / (vmax − vmin), 0, 1)`, in place; 0 everywhere when `vmax ≤ vmin`.
/// NaN stays NaN. This is astropy's `BaseInterval.__call__(values, clip=True)`.
pub fn rescale_to_unit(values: &mut [f32], vmin: f64, vmax: f64) {
    let range = vmax - vmin;
    for v in values.iter_mut().filter(|v| !v.is_nan()) {
        *v = if range > 0.0 {
            ((f64::from(*v) - vmin) / range).clamp(0.0, 1.0) as f32
        } else {
            0.0
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescale_clips_and_keeps_nan() {
        let mut values = [0.0, 5.0, 10.0, -3.0, 12.0, f32::NAN, f32::INFINITY];
        rescale_to_unit(&mut values, 0.0, 10.0);
        assert_eq!(values[..5], [0.0, 0.5, 1.0, 0.0, 1.0]);
        assert!(values[5].is_nan());
        assert_eq!(values[6], 1.0);
        let mut flat = [3.0, 3.0];
        rescale_to_unit(&mut flat, 3.0, 3.0);
        assert_eq!(flat, [0.0, 0.0]);
        assert_eq!(
            finite_min_max(&[f32::NAN, 2.0, -1.0, f32::INFINITY]),
            Some((-1.0, 2.0))
        );
        assert_eq!(finite_min_max(&[f32::NAN]), None);
    }

    #[test]
    fn parameters_are_checked() {
        for (lower, upper) in [
            (-1.0, 50.0),
            (50.0, 50.0),
            (60.0, 40.0),
            (0.0, 101.0),
            (f64::NAN, 99.0),
        ] {
            assert!(
                Stretch::percentile_clip(lower, upper).is_err(),
                "{lower} {upper}"
            );
        }
        for softening in [0.0, -0.1, f64::INFINITY, f64::NAN] {
            let err = Stretch::asinh(softening).expect_err("bad β");
            assert!(err.to_string().contains("softening"), "{err}");
        }
        let bad = ZScale {
            samples: 0,
            ..ZScale::default()
        };
        assert!(Stretch::zscale(bad).is_err());
        assert!(Stretch::zscale(ZScale::default()).is_ok());
    }

    #[test]
    fn tensors_of_one_band_or_several() {
        let grey = Tensor::from_vec(vec![1.0, 2.0, 3.0, 5.0], &[2, 2]).expect("tensor");
        let stretched = Stretch::min_max().apply_tensor(&grey).expect("rank 2");
        assert_eq!(stretched.shape(), [2, 2]);
        assert_eq!(stretched.to_vec().expect("values"), [0.0, 0.25, 0.5, 1.0]);
        let bands = Tensor::from_vec(vec![0.0, 4.0, 2.0, 8.0], &[1, 2, 2]).expect("tensor");
        let stretched = Stretch::min_max().apply_tensor(&bands).expect("rank 3");
        assert_eq!(stretched.to_vec().expect("values"), [0.0, 0.5, 0.25, 1.0]);
        let flat = Tensor::from_vec(vec![1.0; 4], &[4]).expect("tensor");
        assert!(Stretch::min_max().apply_tensor(&flat).is_err());
    }
}

/// The stretches against astropy on `tests/fixtures/fits/sky.fits` (`tools/fits_fixtures.py`).
#[cfg(test)]
mod astropy_parity {
    use super::*;

    /// The sky image's values and the expected stretches.
    fn sky() -> (Vec<f32>, serde_json::Value) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/fits");
        let image = crate::fits::load(root.join("sky.fits")).expect("sky.fits");
        assert_eq!(image.shape(), [60, 50]);
        let text = std::fs::read_to_string(root.join("expected.json")).expect("expected.json");
        let expected: serde_json::Value = serde_json::from_str(&text).expect("parses");
        (
            image.to_vec().expect("values"),
            expected["stretches"].clone(),
        )
    }

    fn close(ours: f64, theirs: f64, what: &str) {
        assert!(
            (ours - theirs).abs() <= 1e-5 * theirs.abs().max(1.0),
            "{what}: {ours} vs astropy {theirs}"
        );
    }

    /// `ZScaleInterval().get_limits(sky)`.
    #[test]
    fn zscale_limits_match_astropy() {
        let (values, expected) = sky();
        let (vmin, vmax) = zscale_limits(&values, &ZScale::default()).expect("limits");
        close(
            vmin,
            expected["zscale"]["vmin"].as_f64().expect("vmin"),
            "zscale vmin",
        );
        close(
            vmax,
            expected["zscale"]["vmax"].as_f64().expect("vmax"),
            "zscale vmax",
        );
        // The stars are far outside: zscale keeps the sky.
        assert!(vmax < 200.0, "{vmax}");
    }

    /// `np.percentile(sky, (lo, hi))`.
    #[test]
    fn percentiles_match_numpy() {
        let (values, expected) = sky();
        for (lower, upper) in [(1.0, 99.0), (0.5, 99.5), (5.0, 95.0)] {
            let key = format!("percentile_{lower:?}_{upper:?}");
            let (vmin, vmax) = percentile_limits(&values, lower, upper).expect("limits");
            close(vmin, expected[&key]["vmin"].as_f64().expect("vmin"), &key);
            close(vmax, expected[&key]["vmax"].as_f64().expect("vmax"), &key);
        }
    }

    /// `AsinhStretch(a)(MinMaxInterval()(sky))` at every `stride`-th pixel.
    #[test]
    fn asinh_matches_astropy() {
        let (values, expected) = sky();
        for a in [0.1, 0.02] {
            let key = format!("asinh_{a}");
            let case = &expected[&key];
            let stride = case["stride"].as_u64().expect("stride") as usize;
            let mut ours = values.clone();
            asinh(&mut ours, 1, a);
            let theirs = case["values"].as_array().expect("values");
            assert_eq!(theirs.len(), ours.len().div_ceil(stride));
            for (i, theirs) in theirs.iter().enumerate() {
                let theirs = theirs.as_f64().expect("value");
                close(
                    f64::from(ours[i * stride]),
                    theirs,
                    &format!("{key}[{}]", i * stride),
                );
            }
        }
    }
}
