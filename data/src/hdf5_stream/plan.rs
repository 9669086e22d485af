//! The order of an epoch, and which images are held in memory while it is read.
//!
//! # Why not a plain permutation
//! A compressed HDF5 dataset is read a chunk at a time: to get one image out of a chunk that
//! holds 555 of them, all 555 are inflated. Visiting the images in a fully random order would
//! inflate every chunk once per image it holds, or keep the whole dataset in memory. The stream
//! shuffles in two stages instead, as tf.data does with `interleave` and `shuffle(buffer_size)`:
//!
//! 1. **Blocks in a random order.** A block is a run of consecutive images that share their
//!    chunks (one row of chunks along the image axis, see [`Blocks`]). The blocks are visited in
//!    a random order, and the images of each block in a random order among themselves; every
//!    chunk is inflated once per epoch.
//! 2. **A shuffle buffer of S images.** That sequence flows through a buffer: the first S
//!    images fill it; then each step hands out the image in a random slot and puts the next
//!    image of the sequence in its place; at the end the buffer empties in random order.
//!
//! ```text
//! blocks   [0 1 2 3][4 5 6 7][8 9 10 11]   order of blocks 2, 0, 1   →   10 8 11 9 | 1 3 0 2 | 6 4 7 5
//! buffer (S = 4)    10 8 11 9 → hand out slot 2 (11), put 1 there → 10 8 1 9 → …
//! ```
//!
//! # The trade-off
//! An image can move at most S places earlier than its place in the block sequence, so
//! neighbours in the file stay closer than in a true permutation: with S = 0 a batch holds
//! runs of one block. The bigger the buffer, the better the mixing and the more memory. When
//! the blocks are single images (a contiguous dataset, or chunks of one image) stage 1
//! alone is already a uniform random permutation.
//!
//! # Memory
//! The whole order is a list of indices, computed before any pixel is read (8 bytes per
//! image). Pixels are read lazily by [`Pending::take`]: when the next image to hand out is
//! not in memory, its whole block is read, and the images of the block still to come stay in
//! memory until their turn. At any moment those are a subset of the simulated buffer plus the
//! rest of the block being poured into it: at most S + B − 1 images for blocks of B images,
//! whatever the number of images in the file (the test
//! `pending_images_never_exceed_the_buffer_plus_a_block` checks it).
use std::collections::HashMap;
use std::ops::Range;

use astrograd_tensor::random::Rng;

use crate::error::{DataError, Result};

/// The images `start..end` of a dataset whose blocks are runs of `size` images starting at
/// multiples of `size` (the blocks at the ends of the range may be cut short).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Blocks {
    /// The range of images (a training or validation part of the file).
    pub range: Range<usize>,
    /// Images per block (≥ 1).
    pub size: usize,
}

impl Blocks {
    /// The block numbers that meet the range.
    fn numbers(&self) -> Range<usize> {
        if self.range.is_empty() {
            return 0..0;
        }
        self.range.start / self.size..(self.range.end - 1) / self.size + 1
    }

    /// The images of block `k` inside the range.
    pub fn images(&self, k: usize) -> Range<usize> {
        (k * self.size).max(self.range.start)..((k + 1) * self.size).min(self.range.end)
    }

    /// The images of the block that holds image `index`, inside the range.
    pub fn images_around(&self, index: usize) -> Range<usize> {
        self.images(index / self.size)
    }
}

/// How an epoch is shuffled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shuffle {
    /// The seed of the whole run; each epoch derives its own generator from it.
    pub seed: u64,
    /// S, the images of the shuffle buffer (0: blocks and their images in random order only).
    pub buffer: usize,
}

/// The order of one epoch and its inverse.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Image indices in the order they are handed out.
    pub order: Vec<usize>,
    /// `position[i − range.start]`: where image `i` comes in `order`.
    position: Vec<usize>,
    /// Where the images come from.
    pub blocks: Blocks,
}

impl Plan {
    /// The order of `epoch`: the range in order without `shuffle`, else the two stages of the
    /// module's documentation, drawn from a generator fixed by `(seed, epoch)`.
    pub fn new(blocks: Blocks, shuffle: Option<Shuffle>, epoch: usize) -> Plan {
        let order = match shuffle {
            None => blocks.range.clone().collect(),
            Some(Shuffle { seed, buffer }) => {
                let mut rng =
                    Rng::new(seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                // Stage 1: blocks in random order, each block's images in random order.
                let mut numbers: Vec<usize> = blocks.numbers().collect();
                rng.shuffle(&mut numbers);
                let sequence = numbers.into_iter().flat_map(|k| {
                    let mut images: Vec<usize> = blocks.images(k).collect();
                    rng.shuffle(&mut images);
                    images
                });
                let sequence: Vec<usize> = sequence.collect();
                if buffer == 0 {
                    return Plan::inverted(sequence, blocks);
                }
                // Stage 2: the shuffle buffer (tf.data's `shuffle(buffer_size)`).
                let mut order = Vec::with_capacity(blocks.range.len());
                let mut slots: Vec<usize> = Vec::with_capacity(buffer);
                for index in sequence {
                    if slots.len() < buffer {
                        slots.push(index);
                        continue;
                    }
                    let j = rng.below(buffer);
                    order.push(std::mem::replace(&mut slots[j], index));
                }
                while !slots.is_empty() {
                    let j = rng.below(slots.len());
                    order.push(slots.swap_remove(j));
                }
                order
            }
        };
        Plan::inverted(order, blocks)
    }

    /// The plan of `order`, with its inverse.
    fn inverted(order: Vec<usize>, blocks: Blocks) -> Plan {
        let mut position = vec![0; blocks.range.len()];
        for (at, &index) in order.iter().enumerate() {
            position[index - blocks.range.start] = at;
        }
        Plan {
            order,
            position,
            blocks,
        }
    }

    /// Where image `index` comes in the order.
    fn position(&self, index: usize) -> usize {
        self.position[index - self.blocks.range.start]
    }
}

/// Images read from the file and not yet handed out, by index.
#[derive(Default)]
pub(crate) struct Pending {
    images: HashMap<usize, Vec<u8>>,
    /// The most images that have waited at once.
    pub most: usize,
}

impl Pending {
    /// The pixels of the image at position `at` of the order. When they are not in memory,
    /// `read(block)` reads the block that holds them (the bytes of its images one after the
    /// other, `image_bytes` each), and the images of that block that come after `at` are
    /// kept for later; those handed out before `at` are dropped.
    pub fn take(
        &mut self,
        plan: &Plan,
        at: usize,
        image_bytes: usize,
        read: &mut dyn FnMut(Range<usize>) -> Result<Vec<u8>>,
    ) -> Result<Vec<u8>> {
        let index = plan.order[at];
        if let Some(pixels) = self.images.remove(&index) {
            return Ok(pixels);
        }
        let block = plan.blocks.images_around(index);
        let bytes = read(block.clone())?;
        let mut wanted = None;
        for (i, pixels) in block.clone().zip(bytes.chunks_exact(image_bytes)) {
            let later = plan.position(i);
            if i == index {
                wanted = Some(pixels.to_vec());
            } else if later > at {
                self.images.insert(i, pixels.to_vec());
            }
        }
        self.most = self.most.max(self.images.len());
        // A read that came back short would leave the image out: an error, not a panic.
        wanted.ok_or_else(|| DataError::Invalid {
            op: "Hdf5Stream",
            expected: format!("the pixels of image {index} in the block read for it"),
            found: format!("{} bytes for images {block:?}", bytes.len()),
        })
    }

    /// How many images wait in memory.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.images.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A range, a block size and a buffer to plan.
    struct PlanCase {
        range: Range<usize>,
        block: usize,
        buffer: usize,
    }

    const CASES: [PlanCase; 5] = [
        PlanCase {
            range: 0..100,
            block: 8,
            buffer: 16,
        },
        PlanCase {
            range: 5..97,
            block: 8,
            buffer: 0,
        },
        PlanCase {
            range: 0..50,
            block: 1,
            buffer: 0,
        },
        PlanCase {
            range: 10..20,
            block: 64,
            buffer: 4,
        },
        PlanCase {
            range: 0..1000,
            block: 37,
            buffer: 100,
        },
    ];

    fn plan(case: &PlanCase, epoch: usize) -> Plan {
        let blocks = Blocks {
            range: case.range.clone(),
            size: case.block,
        };
        Plan::new(
            blocks,
            Some(Shuffle {
                seed: 42,
                buffer: case.buffer,
            }),
            epoch,
        )
    }

    #[test]
    fn every_image_comes_once_and_the_order_is_fixed_by_seed_and_epoch() {
        for case in &CASES {
            let a = plan(case, 0);
            let mut sorted = a.order.clone();
            sorted.sort();
            assert_eq!(sorted, case.range.clone().collect::<Vec<_>>());
            assert_eq!(a.order, plan(case, 0).order, "same seed and epoch");
            if case.range.len() > 20 {
                assert_ne!(a.order, plan(case, 1).order, "another epoch");
                assert_ne!(sorted, a.order, "shuffled");
            }
        }
        let blocks = Blocks {
            range: 3..9,
            size: 4,
        };
        assert_eq!(Plan::new(blocks, None, 5).order, vec![3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn blocks_are_cut_at_the_ends_of_the_range() {
        let blocks = Blocks {
            range: 5..19,
            size: 8,
        };
        assert_eq!(blocks.numbers(), 0..3);
        assert_eq!(blocks.images(0), 5..8);
        assert_eq!(blocks.images(1), 8..16);
        assert_eq!(blocks.images(2), 16..19);
        assert_eq!(blocks.images_around(17), 16..19);
        assert_eq!(
            Blocks {
                range: 4..4,
                size: 8
            }
            .numbers(),
            0..0
        );
    }

    /// Without a buffer, the order is the blocks one after the other, each whole.
    #[test]
    fn without_a_buffer_blocks_stay_together() {
        let case = &CASES[1];
        let p = plan(case, 3);
        let mut runs: Vec<(usize, Vec<usize>)> = Vec::new();
        for &i in &p.order {
            match runs.last_mut() {
                Some((k, run)) if *k == i / case.block => run.push(i),
                _ => runs.push((i / case.block, vec![i])),
            }
        }
        assert_eq!(
            runs.len(),
            p.blocks.numbers().len(),
            "each block comes once"
        );
        for (k, mut run) in runs {
            run.sort();
            assert_eq!(run, p.blocks.images(k).collect::<Vec<_>>());
        }
    }

    #[test]
    fn pending_images_never_exceed_the_buffer_plus_a_block() {
        for case in &CASES {
            let p = plan(case, 1);
            let image_bytes = 2;
            // Each image's bytes are its index (mod 256) twice; count the blocks read.
            let mut reads = 0;
            let mut read = |r: Range<usize>| {
                reads += 1;
                Ok(r.flat_map(|i| [i as u8, i as u8]).collect())
            };
            // From the start of the epoch, and from a restart in the middle.
            for start in [0, p.order.len() / 2] {
                let mut pending = Pending::default();
                let mut most = 0;
                for at in start..p.order.len() {
                    let pixels = pending.take(&p, at, image_bytes, &mut read).expect("read");
                    assert_eq!(pixels, vec![p.order[at] as u8; 2]);
                    most = most.max(pending.len());
                }
                assert!(
                    most < case.buffer + case.block,
                    "{most} pending with S = {}, B = {}",
                    case.buffer,
                    case.block
                );
                assert_eq!(pending.len(), 0);
            }
            // From the start, each block is read exactly once.
            let blocks = Blocks {
                range: case.range.clone(),
                size: case.block,
            };
            let mut once = 0;
            let mut pending = Pending::default();
            let mut count = |r: Range<usize>| {
                once += 1;
                Ok(vec![0; r.len() * image_bytes])
            };
            for at in 0..p.order.len() {
                pending.take(&p, at, image_bytes, &mut count).expect("read");
            }
            assert_eq!(once, blocks.numbers().len());
            assert!(reads > 0);
        }
    }
}
