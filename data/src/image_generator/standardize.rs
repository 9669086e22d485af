//! `standardize` and `fit`: the normalisation steps that run after the random transforms.
//!
//! # Math
//! For one image `x` `(H, W, C)`, in this order (each step only when switched on):
//!
//! ```text
//! x = preprocessing_function(x)
//! x = x · rescale
//! x = x − mean(x)                      samplewise_center   (mean over H, W and C)
//! x = x / (std(x) + 1e-6)              samplewise_std_normalization
//! x = x − μ_c                          featurewise_center  (μ from fit, per channel)
//! x = x / (σ_c + 1e-6)                 featurewise_std_normalization
//! ```
//!
//! `fit(X)` (`X`: `(N, H, W, C)`) computes `μ_c` over N, H and W of `X · rescale`, then `σ_c`
//! (population std, NumPy's `np.std`) of the centred data. Statistics are accumulated in f64
//! and stored as f32 (NumPy sums f32 pairwise; the two agree to ~1e-7 relative).
use astrograd_tensor::Tensor;

use crate::error::Result;

use super::{invalid, Image, ImageDataGenerator};

/// Per-channel statistics from [`ImageDataGenerator::fit`] (`None` before it runs).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeatureStats {
    /// `μ_c`, one per channel.
    pub mean: Option<Vec<f32>>,
    /// `σ_c`, one per channel.
    pub std: Option<Vec<f32>>,
}

impl ImageDataGenerator {
    /// Keras's `standardize(x)` on one image, in place (see the module doc for the steps).
    ///
    /// # Errors
    /// [`crate::DataError::Invalid`] when feature-wise normalisation is on but [`Self::fit`] has
    /// not run (Keras only warns and skips the step; astrograd refuses, as the result would be
    /// silently unnormalised), or when `fit` saw another number of channels.
    pub fn standardize(&self, image: &mut Image) -> Result<()> {
        if let Some(f) = &self.preprocessing_function {
            f(image);
        }
        if let Some(rescale) = self.rescale {
            if rescale != 0.0 {
                let r = rescale as f32;
                image.data.iter_mut().for_each(|v| *v *= r);
            }
        }
        if self.samplewise_center {
            let (mean, _) = mean_std(&image.data);
            image.data.iter_mut().for_each(|v| *v -= mean);
        }
        if self.samplewise_std_normalization {
            let (_, std) = mean_std(&image.data);
            let d = std + 1e-6;
            image.data.iter_mut().for_each(|v| *v /= d);
        }
        if self.featurewise_center {
            let mean = self.fitted(
                "featurewise_center",
                self.stats.mean.as_ref(),
                image.channels,
            )?;
            for pixel in image.data.chunks_mut(image.channels) {
                pixel.iter_mut().zip(mean).for_each(|(v, m)| *v -= m);
            }
        }
        if self.featurewise_std_normalization {
            let std = self.fitted(
                "featurewise_std_normalization",
                self.stats.std.as_ref(),
                image.channels,
            )?;
            for pixel in image.data.chunks_mut(image.channels) {
                pixel.iter_mut().zip(std).for_each(|(v, s)| *v /= s + 1e-6);
            }
        }
        Ok(())
    }

    fn fitted<'a>(
        &self,
        option: &str,
        stats: Option<&'a Vec<f32>>,
        channels: usize,
    ) -> Result<&'a Vec<f32>> {
        let stats = stats.ok_or_else(|| {
            invalid(
                "ImageDataGenerator.standardize",
                &format!("`fit(x)` to have run before `{option}` is used"),
                "a generator that was never fit on any training data".to_string(),
            )
        })?;
        if stats.len() != channels {
            return Err(invalid(
                "ImageDataGenerator.standardize",
                &format!("images with the {} channels seen by `fit`", stats.len()),
                format!("an image with {channels} channels"),
            ));
        }
        Ok(stats)
    }

    /// Keras's `fit(x)`: the per-channel mean (and std) of `x · rescale` for feature-wise
    /// normalisation. `x` is `(N, H, W, C)`.
    ///
    /// # Errors
    /// [`crate::DataError::Invalid`] if `x` is not of rank 4 ("Input to `.fit()` should have
    /// rank 4") or is empty.
    pub fn fit(&mut self, x: &Tensor) -> Result<()> {
        let shape = x.shape();
        if shape.len() != 4 || shape.contains(&0) {
            return Err(invalid(
                "ImageDataGenerator.fit",
                "a non-empty array of rank 4 (N, H, W, C)",
                format!("Input to `.fit()` should have rank 4. Got array with shape: {shape:?}"),
            ));
        }
        let channels = shape[3];
        let rescale = self.rescale.filter(|&r| r != 0.0).map(|r| r as f32);
        let values: Vec<f32> = match rescale {
            Some(r) => x.as_slice()?.iter().map(|v| v * r).collect(),
            None => x.as_slice()?.to_vec(),
        };
        let count = (values.len() / channels) as f64;
        let mut sum = vec![0.0f64; channels];
        for pixel in values.chunks(channels) {
            pixel
                .iter()
                .zip(sum.iter_mut())
                .for_each(|(v, s)| *s += *v as f64);
        }
        let mean: Vec<f32> = sum.iter().map(|s| (s / count) as f32).collect();
        let mut std = None;
        if self.featurewise_std_normalization {
            let mut sq = vec![0.0f64; channels];
            for pixel in values.chunks(channels) {
                for ((v, m), s) in pixel.iter().zip(&mean).zip(sq.iter_mut()) {
                    let d = (v - m) as f64; // the centred data, as Keras divides after `x -= mean`
                    *s += d * d;
                }
            }
            std = Some(sq.iter().map(|s| (s / count).sqrt() as f32).collect());
        }
        self.stats = FeatureStats {
            mean: self.featurewise_center.then_some(mean),
            std,
        };
        Ok(())
    }
}

/// Mean and population std of all values, accumulated in f64, returned as f32.
fn mean_std(values: &[f32]) -> (f32, f32) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean as f32, var.sqrt() as f32)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::fixtures;
    use super::*;

    /// Every `standardize` case of `tools/keras_augmentation_fixtures.py`, e.g.
    /// `ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True,
    /// rescale=1/255); fit(x_fit); standardize(x)`. Tolerance 1e-5·max(1, |expected|), or 1e-6 of
    /// the input's size after a centring (Keras sums f32 pairwise, we sum in f64).
    #[test]
    fn standardize_matches_keras() {
        let doc = fixtures();
        let mut worst = 0.0f32;
        for case in doc["standardize"].as_array().expect("standardize") {
            let name = case["name"].as_str().expect("name");
            let floats = |key: &str| -> Vec<f32> {
                case[key]
                    .as_array()
                    .expect(key)
                    .iter()
                    .map(|v| v.as_f64().expect("number") as f32)
                    .collect()
            };
            let dims = |key: &str| -> Vec<usize> {
                case[key]
                    .as_array()
                    .expect(key)
                    .iter()
                    .map(|v| v.as_u64().expect("dim") as usize)
                    .collect()
            };
            let options = &case["options"];
            let flag = |k: &str| options[k].as_bool().unwrap_or(false);
            let mut gen = ImageDataGenerator::default()
                .featurewise_center(flag("featurewise_center"))
                .samplewise_center(flag("samplewise_center"))
                .featurewise_std_normalization(flag("featurewise_std_normalization"))
                .samplewise_std_normalization(flag("samplewise_std_normalization"));
            if let Some(r) = options["rescale"].as_f64() {
                gen = gen.rescale(r);
            }
            if case["preprocessing"].as_str() == Some("affine_2x_plus_1") {
                gen = gen.preprocessing_function(|im: &mut Image| {
                    im.data.iter_mut().for_each(|v| *v = *v * 2.0 + 1.0)
                });
            }
            if gen.featurewise_center {
                let x_fit = Tensor::from_vec(floats("x_fit"), &dims("fit_shape")).expect("tensor");
                gen.fit(&x_fit).expect("fit");
                let mean = gen.feature_stats().mean.clone().expect("mean");
                let close = |a: &[f32], b: &[f32]| {
                    a.iter()
                        .zip(b)
                        .all(|(x, y)| (x - y).abs() <= 1e-5 * y.abs().max(1.0))
                };
                assert!(close(&mean, &floats("mean")), "{name}: mean {mean:?}");
                if let Some(std) = &gen.feature_stats().std {
                    assert!(close(std, &floats("std")), "{name}: std {std:?}");
                }
            }
            let shape = dims("shape");
            let mut image = Image::new(shape[0], shape[1], shape[2], floats("x")).expect("image");
            gen.standardize(&mut image).expect("standardize");
            // Centring subtracts two numbers of the input's size: Keras's f32 pairwise mean
            // carries a few f32 ulps of that size (~4e-5 at 255), so the tolerance is relative
            // to the larger of the output and the (rescaled, preprocessed) input.
            let input_scale = gen.rescale.unwrap_or(1.0) as f32
                * floats("x")
                    .iter()
                    .fold(0.0f32, |m, v| m.max(v.abs() * 2.0 + 1.0));
            for (a, e) in image.data.iter().zip(floats("expected")) {
                let scale = if gen.samplewise_center || gen.featurewise_center {
                    input_scale.max(1.0) * 0.5
                } else {
                    1.0
                };
                let err = (a - e).abs() / e.abs().max(scale);
                assert!(
                    err <= 1e-6 || (a - e).abs() / e.abs().max(1.0) <= 1e-5,
                    "{name}: {a} vs Keras {e}"
                );
                worst = worst.max((a - e).abs() / e.abs().max(1.0).max(scale));
            }
        }
        println!("standardize parity: max relative |Δ| = {worst:e}");
    }

    #[test]
    fn featurewise_without_fit_is_an_error() {
        let gen = ImageDataGenerator::default().featurewise_center(true);
        let mut image = Image::new(1, 1, 3, vec![1.0, 2.0, 3.0]).expect("image");
        let err = gen.standardize(&mut image).unwrap_err();
        assert!(err.to_string().contains("fit"), "{err}");
        let mut gen = gen;
        let err = gen.fit(&Tensor::zeros(&[2, 3])).unwrap_err();
        assert!(err.to_string().contains("rank 4"), "{err}");
    }
}
