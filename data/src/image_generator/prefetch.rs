//! Batches built ahead of time on a background thread, the samples of each batch in parallel
//! (rayon), so that `fit` does not wait for decoding and augmentation.
//!
//! ```text
//!  producer thread:  batch k+1 → batch k+2 → … (at most `ahead` waiting)   ──channel──▶  batch(i)
//!                     └ rayon: one task per sample of the batch
//! ```
//!
//! # Reproducibility
//! Nothing random depends on which thread runs first: the epoch's sample order comes from
//! [`epoch_order`]`(seed, epoch)` and each sample's augmentation from
//! [`sample_rng`]`(seed, epoch, batch, position)`. A batch computed in the background, or again
//! on the caller's thread after a jump, is bit-identical.
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use astrograd_tensor::random::Rng;

use crate::error::Result;

use super::Batch;

/// Builds batch `batch` of epoch `epoch` from the sample indices `indices`.
pub(crate) type MakeBatch = dyn Fn(&[usize], usize, usize) -> Result<Batch> + Send + Sync;

/// SplitMix64's finaliser: a bijective scramble of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The generator of one sample: a pure function of where the sample sits.
pub(crate) fn sample_rng(seed: u64, epoch: usize, batch: usize, position: usize) -> Rng {
    let key = mix(mix(mix(seed ^ mix(epoch as u64)) ^ batch as u64) ^ position as u64);
    Rng::new(key)
}

/// The sample order of an epoch: `0..n`, or a permutation fixed by `(seed, epoch)`.
pub(crate) fn epoch_order(n: usize, shuffle: bool, seed: u64, epoch: usize) -> Vec<usize> {
    if shuffle {
        Rng::new(mix(seed ^ 0x5EED_0000_0000_0000) ^ mix(epoch as u64 + 1)).permutation(n)
    } else {
        (0..n).collect()
    }
}

/// The epoch bookkeeping shared by both iterators: `ceil(n / batch_size)` batches, a fresh
/// order each epoch, batches prefetched in order.
pub(crate) struct Batches {
    make: Arc<MakeBatch>,
    n: usize,
    batch_size: usize,
    shuffle: bool,
    seed: u64,
    /// How many batches may wait, built, in the channel (0: no background thread).
    ahead: usize,
    epoch: usize,
    order: Arc<Vec<usize>>,
    running: Option<Producer>,
}

/// The background thread of one epoch, and where it has got to.
struct Producer {
    /// Batches in order, starting at `next`.
    receiver: Receiver<Result<Batch>>,
    next: usize,
}

impl Batches {
    pub(crate) fn new(
        make: Arc<MakeBatch>,
        n: usize,
        batch_size: usize,
        shuffle: bool,
        seed: u64,
        ahead: usize,
    ) -> Batches {
        Batches {
            make,
            n,
            batch_size,
            shuffle,
            seed,
            ahead,
            epoch: 0,
            order: Arc::new(epoch_order(n, shuffle, seed, 0)),
            running: None,
        }
    }

    /// `ceil(n / batch_size)`.
    pub(crate) fn len(&self) -> usize {
        self.n.div_ceil(self.batch_size)
    }

    /// A new order for `epoch`, and the producer starts on batch 0 straight away.
    pub(crate) fn on_epoch_start(&mut self, epoch: usize) {
        self.epoch = epoch;
        self.order = Arc::new(epoch_order(self.n, self.shuffle, self.seed, epoch));
        self.running = None; // dropping the receiver stops the old producer at its next send
        self.start_producer(0);
    }

    /// Batch `i` of the current epoch: from the producer when it is the next one in line,
    /// otherwise built here (and the producer restarts after it).
    pub(crate) fn batch(&mut self, i: usize) -> Result<Batch> {
        if i >= self.len() {
            return Err(super::invalid(
                "ImageDataGenerator iterator",
                &format!("a batch index below {}", self.len()),
                format!(
                    "Asked to retrieve element {i}, but the Sequence has length {}",
                    self.len()
                ),
            ));
        }
        if let Some(producer) = &mut self.running {
            if producer.next == i {
                if let Ok(batch) = producer.receiver.recv() {
                    producer.next += 1;
                    return batch;
                }
            }
        }
        let batch = self.build(i);
        self.running = None;
        self.start_producer(i + 1);
        batch
    }

    fn build(&self, i: usize) -> Result<Batch> {
        let end = ((i + 1) * self.batch_size).min(self.n);
        (self.make)(&self.order[i * self.batch_size..end], self.epoch, i)
    }

    fn start_producer(&mut self, first: usize) {
        if self.ahead == 0 || first >= self.len() {
            return;
        }
        let (sender, receiver) = sync_channel(self.ahead);
        let (make, order, epoch, batch_size, n, len) = (
            self.make.clone(),
            self.order.clone(),
            self.epoch,
            self.batch_size,
            self.n,
            self.len(),
        );
        let spawned = std::thread::Builder::new()
            .name("astrograd-prefetch".into())
            .spawn(move || {
                for i in first..len {
                    let end = ((i + 1) * batch_size).min(n);
                    let batch = make(&order[i * batch_size..end], epoch, i);
                    if sender.send(batch).is_err() {
                        return; // the iterator moved on: stop
                    }
                }
            });
        // Without a thread (the OS refused one) batches are simply built on demand.
        if spawned.is_ok() {
            self.running = Some(Producer {
                receiver,
                next: first,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use astrograd_tensor::Tensor;

    /// A batch whose x holds (epoch, batch, sample index, one draw of the sample's rng).
    fn recording_batches(ahead: usize) -> Batches {
        let make: Arc<MakeBatch> = Arc::new(|indices: &[usize], epoch, batch| {
            let mut data = Vec::new();
            for (position, &j) in indices.iter().enumerate() {
                let mut rng = sample_rng(7, epoch, batch, position);
                data.extend([epoch as f32, batch as f32, j as f32, rng.uniform()]);
            }
            let x = Tensor::from_vec(data, &[indices.len(), 4])?;
            Ok(Batch { x, y: None })
        });
        Batches::new(make, 10, 4, true, 7, ahead)
    }

    fn epoch_values(b: &mut Batches, epoch: usize, order: &[usize]) -> Vec<Vec<f32>> {
        b.on_epoch_start(epoch);
        order
            .iter()
            .map(|&i| b.batch(i).expect("batch").x.to_vec().unwrap())
            .collect()
    }

    #[test]
    fn prefetched_equals_on_demand_in_any_order() {
        let mut with = recording_batches(3);
        let mut without = recording_batches(0);
        assert_eq!(with.len(), 3);
        for epoch in 0..3 {
            let a = epoch_values(&mut with, epoch, &[0, 1, 2]);
            let b = epoch_values(&mut without, epoch, &[0, 1, 2]);
            assert_eq!(a, b);
            let jumped = epoch_values(&mut with, epoch, &[2, 0, 1]);
            assert_eq!(jumped, vec![a[2].clone(), a[0].clone(), a[1].clone()]);
        }
        // Each epoch has its own permutation, and every sample appears once.
        let e0 = epoch_values(&mut with, 0, &[0, 1, 2]);
        let e1 = epoch_values(&mut with, 1, &[0, 1, 2]);
        let ids = |e: &Vec<Vec<f32>>| {
            e.iter()
                .flat_map(|b| b.chunks(4).map(|s| s[2] as usize).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        };
        assert_ne!(ids(&e0), ids(&e1));
        let mut sorted = ids(&e0);
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        // The partial batch is last.
        assert_eq!(e0[2].len(), 2 * 4);
    }

    #[test]
    fn out_of_range_batch_is_an_error() {
        let mut b = recording_batches(2);
        let err = b.batch(3).unwrap_err();
        assert!(err.to_string().contains("has length 3"), "{err}");
    }
}
