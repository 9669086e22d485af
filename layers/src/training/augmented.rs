//! Augmentation on top of any batch source: each image of each batch goes through an
//! [`ImageDataGenerator`]'s random transform (flips, rotations, shifts, zoom, …), as tf.data's
//! `dataset.map(augment)` does. A stream from a file too large for memory
//! ([`Hdf5Stream`](astrograd_data::hdf5_stream::Hdf5Stream)) has no generator of its own: wrap it.
//!
//! ```text
//! Keras (tf.data)                                      astrograd
//! train = train.map(lambda x, y: (augment(x), y))      let train = Augmented::new(stream, generator, seed);
//! ```
//!
//! The draws of batch `i` in epoch `e` come from a generator seeded with `(seed, e, i)`, so a
//! run is reproducible whatever order the batches are asked for. Only the random transform is
//! applied (no rescale: the source has already scaled the pixels).
use astrograd_data::image_generator::{Image, ImageDataGenerator};
use astrograd_tensor::random::Rng;
use astrograd_tensor::Tensor;

use super::data::BatchSource;
use crate::{LayerError, Result};

/// A [`BatchSource`] whose images are randomly transformed, batch by batch.
pub struct Augmented<S> {
    source: S,
    generator: ImageDataGenerator,
    seed: u64,
    epoch: usize,
}

impl<S: BatchSource> Augmented<S> {
    /// `source`'s batches, each image transformed by `generator.random_transform`; `x` must be
    /// `(N, H, W, C)`.
    pub fn new(source: S, generator: ImageDataGenerator, seed: u64) -> Augmented<S> {
        Augmented {
            source,
            generator,
            seed,
            epoch: 0,
        }
    }

    /// The source underneath.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The generator of batch `i` of the current epoch (a SplitMix-style mix of the three).
    fn rng_for(&self, i: usize) -> Rng {
        let mix = |x: u64| {
            let z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng::new(mix(mix(self.seed ^ mix(self.epoch as u64)) ^ i as u64))
    }
}

impl<S: BatchSource> BatchSource for Augmented<S> {
    fn len(&self) -> usize {
        self.source.len()
    }

    fn on_epoch_start(&mut self, epoch: usize) {
        self.epoch = epoch;
        self.source.on_epoch_start(epoch);
    }

    fn batch(&mut self, i: usize) -> Result<(Tensor, Tensor)> {
        let (x, y) = self.source.batch(i)?;
        let &[n, height, width, channels] = x.shape() else {
            return Err(LayerError::invalid(
                "Augmented",
                "image batches (N, H, W, C)",
                format!("a batch of shape {:?}", x.shape()),
            ));
        };
        let pixels = x.to_vec()?;
        let per_image = height * width * channels;
        let mut rng = self.rng_for(i);
        let mut out = Vec::with_capacity(pixels.len());
        for k in 0..n {
            let data = pixels[k * per_image..(k + 1) * per_image].to_vec();
            let transformed = Image::new(height, width, channels, data)
                .and_then(|image| self.generator.random_transform(&image, &mut rng))
                .map_err(|e| {
                    LayerError::invalid(
                        "Augmented",
                        format!("image {k} of batch {i}"),
                        e.to_string(),
                    )
                })?;
            out.extend(transformed.data);
        }
        Ok((Tensor::from_vec(out, x.shape())?, y))
    }

    fn sample_weights(&mut self, i: usize) -> Result<Option<Tensor>> {
        self.source.sample_weights(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::data::ArraySource;

    /// Two 2×3 one-channel images whose pixels are their own column index.
    fn source() -> ArraySource {
        let columns: Vec<f32> = (0..12).map(|i| (i % 3) as f32).collect();
        let x = Tensor::from_vec(columns, &[2, 2, 3, 1]).unwrap();
        let y = Tensor::from_vec(vec![0.0, 1.0], &[2]).unwrap();
        ArraySource::new(&x, &y, 2, false).unwrap()
    }

    #[test]
    fn a_flip_gives_each_image_or_its_mirror_and_keeps_the_labels() {
        let generator = ImageDataGenerator::default().horizontal_flip(true);
        // A flip happens with probability ½ per image: over many seeds both outcomes occur,
        // and each image is either itself or its mirror, never anything else.
        let (mut flipped, mut kept) = (0, 0);
        for seed in 0..20 {
            let mut augmented = Augmented::new(source(), generator.clone(), seed);
            augmented.on_epoch_start(0);
            let (x, y) = augmented.batch(0).unwrap();
            assert_eq!(y.to_vec().unwrap(), vec![0.0, 1.0]);
            for image in x.to_vec().unwrap().chunks(6) {
                match image {
                    [0.0, 1.0, 2.0, 0.0, 1.0, 2.0] => kept += 1,
                    [2.0, 1.0, 0.0, 2.0, 1.0, 0.0] => flipped += 1,
                    other => panic!("neither the image nor its mirror: {other:?}"),
                }
            }
        }
        assert!(flipped > 0 && kept > 0, "flipped {flipped}, kept {kept}");
    }

    #[test]
    fn the_same_seed_epoch_and_batch_give_the_same_images() {
        let generator = ImageDataGenerator::default()
            .horizontal_flip(true)
            .rotation_range(30.0);
        let run = |epoch| {
            let mut augmented = Augmented::new(source(), generator.clone(), 7);
            augmented.on_epoch_start(epoch);
            augmented.batch(0).unwrap().0.to_vec().unwrap()
        };
        assert_eq!(run(0), run(0));
        assert_ne!(run(0), run(1), "another epoch draws other transforms");
    }

    #[test]
    fn a_batch_that_is_not_images_is_an_error() {
        let x = Tensor::zeros(&[2, 6]);
        let y = Tensor::zeros(&[2]);
        let flat = ArraySource::new(&x, &y, 2, false).unwrap();
        let mut augmented = Augmented::new(flat, ImageDataGenerator::default(), 0);
        let err = augmented.batch(0).unwrap_err().to_string();
        assert!(
            err.contains("(N, H, W, C)") && err.contains("[2, 6]"),
            "{err}"
        );
    }
}
