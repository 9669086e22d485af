//! [`ArrayIterator`]: what `ImageDataGenerator.flow(x, y)` returns (Keras's `NumpyArrayIterator`).
//!
//! `ceil(n / batch_size)` batches per epoch, re-permuted each epoch when `shuffle`; each sample
//! is augmented and standardized by the generator. With a `subset`, the FIRST
//! `int(n · validation_split)` samples are the validation subset and the rest the training
//! subset (both are augmented, as in Keras).
//!
//! # Shapes
//! `x`: `(N, H, W, C)`; `y`: `(N, …)` (any trailing shape); a batch: `(B, H, W, C)` and `(B, …)`.
use std::sync::Arc;

use astrograd_tensor::random::fork;
use astrograd_tensor::Tensor;
use rayon::prelude::*;

use crate::error::Result;

use super::prefetch::{sample_rng, Batches, MakeBatch};
use super::{invalid, Batch, Image, ImageDataGenerator, Subset};

/// The options of `flow` (Keras's defaults: batch 32, shuffled, unseeded, no subset).
#[derive(Clone, Debug)]
pub struct FlowOptions {
    /// Images per batch (the last batch may be smaller).
    pub batch_size: usize,
    /// Shuffle the order at the start of every epoch.
    pub shuffle: bool,
    /// Fixes the order and the augmentation; `None` draws a seed from the global generator
    /// (so `set_seed` still reproduces a run).
    pub seed: Option<u64>,
    /// Use only the training or the validation part (`validation_split` of the generator).
    pub subset: Option<Subset>,
    /// Batches built ahead on a background thread (0: build each when asked).
    pub prefetch: usize,
}

impl Default for FlowOptions {
    fn default() -> Self {
        FlowOptions {
            batch_size: 32,
            shuffle: true,
            seed: None,
            subset: None,
            prefetch: 4,
        }
    }
}

impl FlowOptions {
    /// Sets [`FlowOptions::batch_size`].
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
    /// Sets [`FlowOptions::shuffle`].
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }
    /// Sets [`FlowOptions::seed`].
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    /// Sets [`FlowOptions::subset`].
    pub fn subset(mut self, subset: Subset) -> Self {
        self.subset = Some(subset);
        self
    }
    /// Sets [`FlowOptions::prefetch`].
    pub fn prefetch(mut self, batches: usize) -> Self {
        self.prefetch = batches;
        self
    }
}

/// Augmented batches of an array in memory.
pub struct ArrayIterator {
    batches: Batches,
    /// The samples of this subset.
    n: usize,
}

impl ImageDataGenerator {
    /// Keras's `flow(x, y, batch_size, shuffle, seed, subset)`.
    ///
    /// # Errors
    /// [`crate::DataError::Invalid`] if `x` is not of rank 4, `y` has another number of
    /// samples, `batch_size` is 0, a subset is asked for without `validation_split`, the two
    /// subsets hold different label sets (Keras's message), the generator's options are invalid
    /// or feature-wise normalisation is on without [`ImageDataGenerator::fit`].
    pub fn flow(
        &self,
        x: &Tensor,
        y: Option<&Tensor>,
        options: FlowOptions,
    ) -> Result<ArrayIterator> {
        const OP: &str = "ImageDataGenerator.flow";
        self.validate()?;
        self.check_fitted()?;
        let shape = x.shape().to_vec();
        if shape.len() != 4 {
            return Err(invalid(OP, "x of rank 4 (N, H, W, C)", format!("Input data in `NumpyArrayIterator` should have rank 4. You passed an array with shape {shape:?}")));
        }
        if options.batch_size == 0 {
            return Err(invalid(OP, "batch_size ≥ 1", "batch_size 0".to_string()));
        }
        let n = shape[0];
        if let Some(y) = y {
            if y.shape().first() != Some(&n) {
                return Err(invalid(
                    OP,
                    "`x` (images tensor) and `y` (labels) of the same length",
                    format!("x.shape = {shape:?}, y.shape = {:?}", y.shape()),
                ));
            }
        }
        let (mut x, mut y) = (x.clone(), y.cloned());
        if let Some(subset) = options.subset {
            if self.validation_split == 0.0 {
                return Err(invalid(
                    OP,
                    "a generator with `validation_split` for `subset`",
                    "validation_split 0".to_string(),
                ));
            }
            let split = (n as f64 * self.validation_split) as usize;
            if let Some(y) = &y {
                let head = unique_values(&y.select(0, &(0..split).collect::<Vec<_>>())?)?;
                let tail = unique_values(&y.select(0, &(split..n).collect::<Vec<_>>())?)?;
                if head != tail {
                    return Err(invalid(
                        OP,
                        "the same classes on both sides of the validation split",
                        "Training and validation subsets have different number of classes after the split. \
                         If your numpy arrays are sorted by the label, you might want to shuffle them."
                            .to_string(),
                    ));
                }
            }
            let rows: Vec<usize> = match subset {
                Subset::Validation => (0..split).collect(),
                Subset::Training => (split..n).collect(),
            };
            x = x.select(0, &rows)?;
            y = y.map(|y| y.select(0, &rows)).transpose()?;
        }
        let n = x.shape()[0];
        let seed = options.seed.unwrap_or_else(|| fork().next_u64());
        let generator = Arc::new(self.clone());
        let make: Arc<MakeBatch> = Arc::new(move |indices: &[usize], epoch, batch| {
            make_batch(&generator, &x, y.as_ref(), indices, seed, epoch, batch)
        });
        Ok(ArrayIterator {
            batches: Batches::new(
                make,
                n,
                options.batch_size,
                options.shuffle,
                seed,
                options.prefetch,
            ),
            n,
        })
    }

    /// Feature-wise normalisation needs `fit` first.
    pub(crate) fn check_fitted(&self) -> Result<()> {
        if (self.featurewise_center && self.stats.mean.is_none())
            || (self.featurewise_std_normalization && self.stats.std.is_none())
        {
            return Err(invalid(
                "ImageDataGenerator",
                "`fit(x)` before iterating with featurewise_center / featurewise_std_normalization",
                "a generator that was never fit on any training data".to_string(),
            ));
        }
        Ok(())
    }
}

/// One batch: every sample transformed and standardized in parallel.
fn make_batch(
    generator: &ImageDataGenerator,
    x: &Tensor,
    y: Option<&Tensor>,
    indices: &[usize],
    seed: u64,
    epoch: usize,
    batch: usize,
) -> Result<Batch> {
    let shape = x.shape();
    let (h, w, c) = (shape[1], shape[2], shape[3]);
    let size = h * w * c;
    let data = x.as_slice()?;
    let samples: Vec<Vec<f32>> = indices
        .par_iter()
        .enumerate()
        .map(|(position, &j)| {
            let image = Image {
                height: h,
                width: w,
                channels: c,
                data: data[j * size..(j + 1) * size].to_vec(),
            };
            let mut rng = sample_rng(seed, epoch, batch, position);
            Ok(generator.augment_and_standardize(&image, &mut rng)?.data)
        })
        .collect::<Result<_>>()?;
    let x = Tensor::from_vec(samples.concat(), &[indices.len(), h, w, c])?; // (B, H, W, C)
    let y = y.map(|y| y.select(0, indices)).transpose()?;
    Ok(Batch { x, y })
}

/// NumPy's `np.unique(y)` over all values, as f32 bit patterns in order.
fn unique_values(y: &Tensor) -> Result<Vec<u32>> {
    let mut v: Vec<f32> = y.to_vec()?;
    v.sort_by(f32::total_cmp);
    v.dedup();
    Ok(v.into_iter().map(f32::to_bits).collect())
}

impl ArrayIterator {
    /// Batches per epoch: `ceil(n / batch_size)`.
    pub fn len(&self) -> usize {
        self.batches.len()
    }
    /// Whether there are no batches.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The number of samples (of the subset).
    pub fn samples(&self) -> usize {
        self.n
    }
    /// A fresh order for `epoch`; the background thread starts on its first batch.
    pub fn on_epoch_start(&mut self, epoch: usize) {
        self.batches.on_epoch_start(epoch)
    }
    /// Batch `i` as `(x, y)`.
    ///
    /// # Errors
    /// [`crate::DataError::Invalid`] if `flow` got no `y`, or `i ≥ len()`.
    pub fn batch(&mut self, i: usize) -> Result<(Tensor, Tensor)> {
        let batch = self.batches.batch(i)?;
        let y = batch.y.ok_or_else(|| {
            invalid(
                "ArrayIterator.batch",
                "labels (`flow(x, Some(y), ..)`)",
                "flow(x, None, ..)".to_string(),
            )
        })?;
        Ok((batch.x, y))
    }
    /// Batch `i`'s images only (what Keras yields when `y` is `None`).
    ///
    /// # Errors
    /// [`crate::DataError::Invalid`] if `i ≥ len()`.
    pub fn batch_x(&mut self, i: usize) -> Result<Tensor> {
        Ok(self.batches.batch(i)?.x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image_generator::ShiftRange;

    fn data(n: usize) -> (Tensor, Tensor) {
        let x = Tensor::from_vec(
            (0..n * 4 * 4 * 3).map(|v| (v % 251) as f32).collect(),
            &[n, 4, 4, 3],
        )
        .expect("x");
        let y = Tensor::from_vec((0..n).map(|i| (i % 3) as f32).collect(), &[n]).expect("y");
        (x, y)
    }

    fn augmenting() -> ImageDataGenerator {
        ImageDataGenerator::default()
            .rotation_range(30.0)
            .width_shift_range(ShiftRange::Float(0.2))
            .horizontal_flip(true)
            .validation_split(0.25)
    }

    #[test]
    fn same_seed_same_batches_different_seed_different() {
        let (x, y) = data(10);
        let run = |seed: u64, prefetch: usize| {
            let mut it = augmenting()
                .flow(
                    &x,
                    Some(&y),
                    FlowOptions::default()
                        .batch_size(4)
                        .seed(seed)
                        .prefetch(prefetch),
                )
                .expect("flow");
            assert_eq!(it.len(), 3);
            let mut out = Vec::new();
            for epoch in 0..2 {
                it.on_epoch_start(epoch);
                for i in 0..it.len() {
                    let (bx, by) = it.batch(i).expect("batch");
                    out.push((bx.to_vec(), by.to_vec()));
                }
            }
            out
        };
        assert_eq!(run(3, 4), run(3, 0));
        assert_ne!(run(3, 4), run(4, 4));
    }

    #[test]
    fn no_augmentation_no_shuffle_gives_x_back() {
        let (x, y) = data(5);
        let mut it = ImageDataGenerator::default()
            .flow(
                &x,
                Some(&y),
                FlowOptions::default().batch_size(2).shuffle(false),
            )
            .expect("flow");
        let (b0, y0) = it.batch(0).expect("batch");
        assert_eq!(b0.to_vec(), x.select(0, &[0, 1]).expect("select").to_vec());
        assert_eq!(y0.to_vec().unwrap(), vec![0.0, 1.0]);
        let (b2, _) = it.batch(2).expect("batch");
        assert_eq!(b2.shape(), &[1, 4, 4, 3]);
    }

    #[test]
    fn subsets_take_the_first_fraction_for_validation() {
        let (x, y) = data(12); // labels 0,1,2,0,1,2,…: both halves have every class
        let gen = ImageDataGenerator::default().validation_split(0.25);
        let opts = FlowOptions::default().shuffle(false).batch_size(100);
        let mut val = gen
            .flow(&x, Some(&y), opts.clone().subset(Subset::Validation))
            .expect("val");
        let mut train = gen
            .flow(&x, Some(&y), opts.subset(Subset::Training))
            .expect("train");
        assert_eq!((val.samples(), train.samples()), (3, 9));
        assert_eq!(
            val.batch(0).expect("b").1.to_vec().unwrap(),
            vec![0.0, 1.0, 2.0]
        );
        assert_eq!(
            train.batch(0).expect("b").0.to_vec(),
            x.select(0, &(3..12).collect::<Vec<_>>())
                .expect("s")
                .to_vec()
        );
    }

    #[test]
    fn bad_inputs_are_errors() {
        let (x, y) = data(6);
        let gen = ImageDataGenerator::default().validation_split(0.5);
        // Sorted labels: the first half has only class 0.
        let sorted = Tensor::from_vec(vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0], &[6]).expect("y");
        let err = gen
            .flow(
                &x,
                Some(&sorted),
                FlowOptions::default().subset(Subset::Training),
            )
            .err()
            .expect("error");
        assert!(
            err.to_string().contains(
                "Training and validation subsets have different number of classes after the split."
            ),
            "{err}"
        );
        let err = gen
            .flow(&Tensor::zeros(&[6, 4, 4]), Some(&y), FlowOptions::default())
            .err()
            .expect("error");
        assert!(err.to_string().contains("rank 4"), "{err}");
        let short = Tensor::zeros(&[5]);
        assert!(gen.flow(&x, Some(&short), FlowOptions::default()).is_err());
        assert!(gen
            .flow(&x, Some(&y), FlowOptions::default().batch_size(0))
            .is_err());
        assert!(ImageDataGenerator::default()
            .flow(
                &x,
                Some(&y),
                FlowOptions::default().subset(Subset::Training)
            )
            .is_err());
        assert!(ImageDataGenerator::default()
            .featurewise_center(true)
            .flow(&x, Some(&y), FlowOptions::default())
            .is_err());
        let mut no_y = gen.flow(&x, None, FlowOptions::default()).expect("flow");
        assert!(no_y.batch(0).is_err());
        assert_eq!(no_y.batch_x(0).expect("x").shape(), &[6, 4, 4, 3]);
    }
}
