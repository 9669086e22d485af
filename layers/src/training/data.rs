//! Where `fit` gets its batches: the [`BatchSource`] trait, and [`ArraySource`] for arrays in
//! memory (what `fit(x, y)` uses). `ImageDataGenerator.flow(...)` implements the same trait.
//!
//! # Batches of arrays, as Keras makes them
//! `ceil(n / batch_size)` batches per epoch, the last one partial; with `shuffle`, a fresh
//! permutation of the samples every epoch, drawn from the global generator (so
//! `set_seed` reproduces a run). A batch is gathered with one `Tensor::select` on axis 0: each
//! sample's row is copied once, straight into the batch.
use astrograd_autograd::Tensor;
use astrograd_tensor::random::with_global;

use super::history::python_float;
use crate::{LayerError, Result};

/// A sequence of `(x, y)` batches that can be iterated once per epoch.
pub trait BatchSource {
    /// Batches per epoch (Keras's `len(iterator)`).
    fn len(&self) -> usize;

    /// Whether there are no batches.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Called before each epoch's first batch (re-shuffle here).
    fn on_epoch_start(&mut self, epoch: usize) {
        let _ = epoch;
    }

    /// Batch `i` of the epoch, `0 ≤ i < len()`.
    ///
    /// # Errors
    /// What the source cannot produce (a file that does not decode, an index out of range).
    fn batch(&mut self, i: usize) -> Result<(Tensor, Tensor)>;

    /// The sample weights `(n,)` of batch `i`, in the order of [`BatchSource::batch`]'s
    /// samples; `None` (the default) for weights of 1.
    ///
    /// # Errors
    /// As [`BatchSource::batch`].
    fn sample_weights(&mut self, i: usize) -> Result<Option<Tensor>> {
        let _ = i;
        Ok(None)
    }

    /// Data-parallel training: from now on, serve only the rows
    /// [`share`](astrograd_distributed::share)`(n, rank, size)` of each batch of `n` samples
    /// (`shard(0, 1)`: whole batches again). Returns whether the source does so; the default
    /// does not, and `fit` then cuts each whole batch itself, which gives the same samples
    /// (and the same augmentation) at the cost of preparing the other ranks' rows too.
    fn shard(&mut self, rank: usize, size: usize) -> bool {
        let _ = (rank, size);
        false
    }
}

/// Batches of arrays held in memory.
#[derive(Clone, Debug)]
pub struct ArraySource {
    x: Tensor,
    y: Tensor,
    batch_size: usize,
    shuffle: bool,
    /// The sample order of this epoch.
    order: Vec<usize>,
    /// One weight per sample (`fit(sample_weight=…)`), if given.
    weights: Option<Tensor>,
    /// This process's share of each batch, `(rank, size)` (`(0, 1)`: all of it).
    share: (usize, usize),
}

impl ArraySource {
    /// Batches of `batch_size` samples of `x` and `y` (their first axis), in order or
    /// shuffled each epoch.
    ///
    /// # Errors
    /// [`LayerError::Invalid`] if `x` and `y` have different numbers of samples (Keras's "Data
    /// cardinality is ambiguous"), if either is a scalar, or if `batch_size` is 0.
    pub fn new(x: &Tensor, y: &Tensor, batch_size: usize, shuffle: bool) -> Result<ArraySource> {
        let n = samples("x", x)?;
        let m = samples("y", y)?;
        if n != m {
            return Err(LayerError::invalid(
                "fit",
                "x and y with the same number of samples",
                format!(
                    "Data cardinality is ambiguous:\n  x sizes: {n}\n  y sizes: {m}\n\
                     Make sure all arrays contain the same number of samples."
                ),
            ));
        }
        check_batch_size(batch_size)?;
        Ok(ArraySource {
            x: x.clone(),
            y: y.clone(),
            batch_size,
            shuffle,
            order: (0..n).collect(),
            weights: None,
            share: (0, 1),
        })
    }

    /// These samples weighted by `weights` `(n,)`, served with each batch.
    ///
    /// # Errors
    /// Not one finite weight ≥ 0 per sample.
    pub fn with_sample_weight(mut self, weights: &Tensor) -> Result<ArraySource> {
        super::class_weight::check_sample_weight(weights, self.samples())?;
        self.weights = Some(weights.reshape(&[self.samples()])?);
        Ok(self)
    }

    /// The number of samples.
    pub fn samples(&self) -> usize {
        self.order.len()
    }

    /// The sample indices of batch `i` that this process serves (its share of them).
    fn indices(&self, i: usize) -> Result<&[usize]> {
        let start = i * self.batch_size;
        let end = (start + self.batch_size).min(self.samples());
        if start >= end {
            return Err(LayerError::invalid(
                "ArraySource::batch",
                format!("a batch index below {}", self.len()),
                i.to_string(),
            ));
        }
        let (rank, size) = self.share;
        let mine = astrograd_distributed::share(end - start, rank, size);
        Ok(&self.order[start + mine.start..start + mine.end])
    }
}

impl BatchSource for ArraySource {
    fn len(&self) -> usize {
        self.samples().div_ceil(self.batch_size)
    }

    fn on_epoch_start(&mut self, _epoch: usize) {
        if self.shuffle {
            let n = self.samples();
            self.order = with_global(|rng| rng.permutation(n));
        }
    }

    fn batch(&mut self, i: usize) -> Result<(Tensor, Tensor)> {
        let indices = self.indices(i)?;
        Ok((self.x.select(0, indices)?, self.y.select(0, indices)?))
    }

    fn sample_weights(&mut self, i: usize) -> Result<Option<Tensor>> {
        let Some(weights) = &self.weights else {
            return Ok(None);
        };
        Ok(Some(weights.select(0, self.indices(i)?)?))
    }

    fn shard(&mut self, rank: usize, size: usize) -> bool {
        self.share = (rank, size);
        true
    }
}

/// The number of samples of an array (its first axis).
fn samples(name: &str, t: &Tensor) -> Result<usize> {
    t.shape().first().copied().ok_or_else(|| {
        LayerError::invalid(
            "fit",
            format!("{name} with a first (sample) axis"),
            format!("{name} of shape {:?}", t.shape()),
        )
    })
}

/// `batch_size` must be at least 1.
pub(crate) fn check_batch_size(batch_size: usize) -> Result<()> {
    if batch_size == 0 {
        return Err(LayerError::invalid("fit", "batch_size ≥ 1", "batch_size 0"));
    }
    Ok(())
}

/// Keras's `train_validation_split`: the LAST `fraction` of the samples (taken before any
/// shuffling) for validation, the rest for training. `split_at = floor(n·(1 − fraction))`.
///
/// ```
/// use astrograd_autograd::Tensor;
/// use astrograd_layers::training::validation_split;
/// let x = Tensor::from_vec((0..10).map(|i| i as f32).collect(), &[10, 1])?;
/// let ((x_train, _), (x_val, _)) = validation_split(&x, &x, 0.2)?;
/// assert_eq!(x_val.to_vec()?, vec![8.0, 9.0]);
/// assert_eq!(x_train.shape(), &[8, 1]);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
///
/// # Errors
/// [`LayerError::Invalid`] if `fraction` is not in (0, 1), or when one side would be empty
/// (with Keras's message: "Training data contains 3 samples, which is not sufficient to split
/// it…"); the errors of [`ArraySource::new`].
#[allow(clippy::type_complexity)]
pub fn validation_split(
    x: &Tensor,
    y: &Tensor,
    fraction: f64,
) -> Result<((Tensor, Tensor), (Tensor, Tensor))> {
    let n = ArraySource::new(x, y, 1, false)?.samples();
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(LayerError::invalid(
            "fit",
            "validation_split strictly between 0 and 1",
            format!("validation_split={}", python_float(fraction)),
        ));
    }
    let split_at = (n as f64 * (1.0 - fraction)).floor() as usize;
    if split_at == 0 || split_at == n {
        return Err(LayerError::invalid(
            "fit",
            "enough samples for both a training and a validation set",
            format!(
                "Training data contains {n} samples, which is not sufficient to split it into a \
                 validation and training set as specified by `validation_split={}`. Either \
                 provide more data, or a different value for the `validation_split` argument.",
                python_float(fraction)
            ),
        ));
    }
    let train = (x.slice_axis(0, 0, split_at)?, y.slice_axis(0, 0, split_at)?);
    let val = (x.slice_axis(0, split_at, n)?, y.slice_axis(0, split_at, n)?);
    Ok((train, val))
}

#[cfg(test)]
mod tests {
    use super::*;
    use astrograd_tensor::set_seed;

    fn range(n: usize) -> Tensor {
        Tensor::from_vec((0..n).map(|i| i as f32).collect(), &[n]).unwrap()
    }

    #[test]
    fn batches_cover_the_samples_with_a_partial_last_one() {
        let x = range(10);
        let mut source = ArraySource::new(&x, &x, 4, false).unwrap();
        assert_eq!(source.len(), 3);
        source.on_epoch_start(0);
        let (xb, yb) = source.batch(2).unwrap();
        assert_eq!(
            (xb.to_vec().unwrap(), yb.to_vec().unwrap()),
            (vec![8.0, 9.0], vec![8.0, 9.0])
        );
        assert!(source.batch(3).is_err());
        // 55000 samples in batches of 32: Keras's 1719 steps.
        let big = Tensor::zeros(&[55_000, 1]);
        assert_eq!(ArraySource::new(&big, &big, 32, true).unwrap().len(), 1719);
    }

    #[test]
    fn shuffling_draws_a_fresh_permutation_each_epoch_from_the_seed() {
        let x = range(50);
        let epoch_orders = || {
            set_seed(3);
            let mut source = ArraySource::new(&x, &x, 50, true).unwrap();
            (0..2)
                .map(|epoch| {
                    source.on_epoch_start(epoch);
                    let (xb, yb) = source.batch(0).unwrap();
                    assert_eq!(xb.to_vec(), yb.to_vec(), "x and y stay paired");
                    xb.to_vec()
                })
                .collect::<Vec<_>>()
        };
        let first = epoch_orders();
        assert_ne!(first[0], first[1]);
        assert_ne!(first[0], range(50).to_vec());
        assert_eq!(first, epoch_orders());
    }

    #[test]
    fn validation_split_boundaries() {
        let x = range(10);
        let ((xt, _), (xv, _)) = validation_split(&x, &x, 0.25).unwrap();
        // floor(10·0.75) = 7: 7 to train, the last 3 to validate.
        assert_eq!(xt.to_vec(), range(7).to_vec());
        assert_eq!(xv.to_vec().unwrap(), vec![7.0, 8.0, 9.0]);
        let ((xt, _), (xv, _)) = validation_split(&x, &x, 0.01).unwrap();
        assert_eq!((xt.shape()[0], xv.shape()[0]), (9, 1));
        for bad in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
            let err = validation_split(&x, &x, bad).unwrap_err().to_string();
            assert!(err.contains("strictly between 0 and 1"), "{bad}: {err}");
        }
        // floor(3·0.1) = 0 samples left to train on.
        let err = validation_split(&range(3), &range(3), 0.9)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "Training data contains 3 samples, which is not sufficient to split it \
                          into a validation and training set as specified by \
                          `validation_split=0.9`"
            ),
            "{err}"
        );
    }

    #[test]
    fn mismatched_lengths_and_bad_batch_sizes_are_errors() {
        let err = ArraySource::new(&range(5), &range(4), 2, true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("x sizes: 5\n  y sizes: 4"), "{err}");
        assert!(ArraySource::new(&range(5), &range(5), 0, true).is_err());
        assert!(ArraySource::new(&Tensor::scalar(1.0), &range(1), 1, true).is_err());
    }
}
