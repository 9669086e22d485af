//! Batches streamed from an HDF5 file too big for memory: [`Hdf5Stream`].
//!
//! Keras users load `Galaxy10_DECals.h5` whole (`np.array(F['images'])`): 3.5 GB of bytes,
//! 14 GB as float32, and the notebook dies. A stream reads, for each batch, only the chunks
//! that hold its images, and keeps a bounded number of images in memory whatever the size of
//! the file:
//!
//! ```text
//!  file: images (N, H, W, C) uint8, chunked + gzip          background thread            fit
//!  ┌───────┬───────┬───────┬───────┐   read one block       ┌──────────────┐  channel of  ┌─────┐
//!  │block 0│block 1│block 2│  …    │ ─(its chunks only)──▶ │shuffle buffer│ ─ batches ─▶ │batch│
//!  └───────┴───────┴───────┴───────┘  blocks in random order└──────────────┘  (prefetch)  └─────┘
//!                                                            resize, × rescale, labels
//! ```
//!
//! - **Reading** ([`reader`](self) module): a *block* is one row of chunks along the image axis
//!   (the images that share their chunks); reading it inflates each of its chunks once.
//!   A contiguous dataset has blocks of one image.
//! - **Shuffling** (`plan.rs`): blocks in a random order, then a shuffle buffer of
//!   [`StreamOptions::shuffle_buffer`] images, as tf.data's `shuffle(buffer_size)`; the
//!   trade-off between mixing and memory is written there.
//! - **Memory**: at most `shuffle_buffer + 2 × block` images as bytes, plus the prefetched
//!   batches as f32 ([`Hdf5Stream::memory_bound`]); `docs/streaming.md` has the measurements.
//! - **Splitting** by index: [`Hdf5Stream::open_split`] holds out the last fraction of the
//!   images, as `fit(validation_split=…)` does; [`StreamOptions::range`] takes any range.
//! - **Prefetching**: batches are built on a background thread, [`StreamOptions::prefetch`]
//!   of them waiting at most.
//!
//! ```no_run
//! use astrograd_data::hdf5_stream::{Hdf5Stream, StreamOptions};
//! let options = StreamOptions::default()
//!     .datasets("images", "ans")
//!     .target_size(128, 128)
//!     .batch_size(32)
//!     .seed(42);
//! let (mut train, val) = Hdf5Stream::open_split("Galaxy10_DECals.h5", options, 0.1)?;
//! train.on_epoch_start(0);
//! let (x, y) = train.batch(0)?; // x: (32, 128, 128, 3) in [0, 1], y: (32,) classes
//! assert_eq!(x.shape(), &[32, 128, 128, 3]);
//! // model.fit_batches(&mut train, FitOptions::default().epochs(10).validation_batches(val))?;
//! # Ok::<(), astrograd_data::DataError>(())
//! ```
//!
//! [`crate::galaxy10::stream`] opens either Galaxy10 file with these options preset.
//!
//! # Shapes
//! A batch is `x: (B, TH, TW, C)` f32 and `y: (B,)` (sparse), `(B, K)` (categorical) or `(B,)`
//! of 0/1 (binary); `(TH, TW)` is [`StreamOptions::target_size`], or the stored `(H, W)`.
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::time::Instant;

use astrograd_tensor::random::with_global;
use astrograd_tensor::Tensor;
use rayon::prelude::*;

use crate::error::{DataError, Result};
use crate::image_generator::{resize_float, ClassMode, Interpolation};

mod plan;
mod reader;
#[cfg(test)]
mod tests;

use plan::{Blocks, Pending, Plan, Shuffle};
pub(crate) use reader::open_hdf5;
use reader::ImageFile;

/// The options of a stream; set them by name:
/// `StreamOptions::default().datasets("images", "ans").target_size(128, 128)`.
#[derive(Clone, Debug)]
pub struct StreamOptions {
    /// The images dataset, uint8 `(N, H, W, C)` or `(N, H, W)` (`"images"`).
    pub images: String,
    /// The labels dataset, integers `(N,)` (`"labels"`).
    pub labels: String,
    /// Images per batch (32); the last batch may be smaller.
    pub batch_size: usize,
    /// Shuffle each epoch (true): blocks in random order and a shuffle buffer.
    pub shuffle: bool,
    /// Fixes every epoch's order; `None` draws a seed from the global generator when the
    /// stream is opened (so `set_seed` still reproduces a run).
    pub seed: Option<u64>,
    /// S, the images of the shuffle buffer (1024); 0 keeps only the shuffled block order.
    pub shuffle_buffer: usize,
    /// Resize every image to `(TH, TW)` on the fly (`None`: keep the stored size).
    pub target_size: Option<(usize, usize)>,
    /// How images are resized (bilinear, as `flow_from_directory(interpolation="bilinear")`).
    pub interpolation: Interpolation,
    /// Multiplies every pixel after resizing (1/255: pixels in [0, 1]).
    pub rescale: f32,
    /// Labels as class indices (`Sparse`, the default), one-hot (`Categorical`) or 0/1
    /// (`Binary`). `ClassMode::None` is refused: `fit` needs labels.
    pub class_mode: ClassMode,
    /// K, the number of classes (`None`: the largest label in the file plus one).
    pub num_classes: Option<usize>,
    /// Only the images of this range (`None`: all of them). [`Hdf5Stream::open_split`] sets it.
    pub range: Option<Range<usize>>,
    /// Batches built ahead on a background thread (4; 0 builds each batch when asked).
    pub prefetch: usize,
    /// The most bytes of images read in one go (256 MiB). A row of chunks larger than this
    /// is read in parts, each part inflating the whole row's chunks again.
    pub max_block_bytes: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            images: "images".to_string(),
            labels: "labels".to_string(),
            batch_size: 32,
            shuffle: true,
            seed: None,
            shuffle_buffer: 1024,
            target_size: None,
            interpolation: Interpolation::Bilinear,
            rescale: 1.0 / 255.0,
            class_mode: ClassMode::Sparse,
            num_classes: None,
            range: None,
            prefetch: 4,
            max_block_bytes: 256 << 20,
        }
    }
}

impl StreamOptions {
    /// Sets the names of the images and labels datasets.
    pub fn datasets(mut self, images: &str, labels: &str) -> Self {
        self.images = images.to_string();
        self.labels = labels.to_string();
        self
    }
    /// Sets [`StreamOptions::batch_size`].
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
    /// Sets [`StreamOptions::shuffle`].
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }
    /// Sets [`StreamOptions::seed`].
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    /// Sets [`StreamOptions::shuffle_buffer`].
    pub fn shuffle_buffer(mut self, images: usize) -> Self {
        self.shuffle_buffer = images;
        self
    }
    /// Sets [`StreamOptions::target_size`] to `(height, width)`.
    pub fn target_size(mut self, height: usize, width: usize) -> Self {
        self.target_size = Some((height, width));
        self
    }
    /// Sets [`StreamOptions::interpolation`].
    pub fn interpolation(mut self, interpolation: Interpolation) -> Self {
        self.interpolation = interpolation;
        self
    }
    /// Sets [`StreamOptions::rescale`].
    pub fn rescale(mut self, factor: f32) -> Self {
        self.rescale = factor;
        self
    }
    /// Sets [`StreamOptions::class_mode`].
    pub fn class_mode(mut self, mode: ClassMode) -> Self {
        self.class_mode = mode;
        self
    }
    /// Sets [`StreamOptions::num_classes`].
    pub fn num_classes(mut self, k: usize) -> Self {
        self.num_classes = Some(k);
        self
    }
    /// Sets [`StreamOptions::range`].
    pub fn range(mut self, images: Range<usize>) -> Self {
        self.range = Some(images);
        self
    }
    /// Sets [`StreamOptions::prefetch`].
    pub fn prefetch(mut self, batches: usize) -> Self {
        self.prefetch = batches;
        self
    }
    /// Sets [`StreamOptions::max_block_bytes`].
    pub fn max_block_bytes(mut self, bytes: usize) -> Self {
        self.max_block_bytes = bytes;
        self
    }
}

/// What the stream's reader has done so far, across epochs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StreamStats {
    /// Images read from the file (an image read twice counts twice).
    pub images_read: u64,
    /// Seconds spent reading them: chunk lookup, file reads, inflating.
    pub read_seconds: f64,
    /// Seconds spent turning images into batches: resizing, rescaling, labels.
    pub assemble_seconds: f64,
    /// The most images that have waited in memory at once, read and not yet handed out
    /// (at most `shuffle_buffer + block_images − 1`, whatever the file's size).
    pub most_images_held: usize,
}

impl StreamStats {
    /// Images read per second of reading (one thread).
    pub fn read_rate(&self) -> f64 {
        self.images_read as f64 / self.read_seconds.max(1e-9)
    }
}

/// Batches of images and labels streamed from an HDF5 file; see the [module](self).
///
/// It has the three methods of a batch source (`len`, `on_epoch_start`, `batch`), and
/// `astrograd-layers` implements its `BatchSource` trait with them, so it goes straight to
/// `model.fit_batches` and `FitOptions::validation_batches`.
pub struct Hdf5Stream {
    shared: Arc<Shared>,
    epoch: usize,
    plan: Arc<Plan>,
    /// The background thread of this epoch, when prefetching.
    running: Option<Producer>,
    /// The batches built on the caller's thread, when not prefetching.
    local: Option<Cursor>,
}

/// What the stream and its background thread share.
struct Shared {
    file: ImageFile,
    /// Images of the range, in blocks.
    blocks: Blocks,
    /// One class index per image of the file, each in `0..num_classes`.
    labels: Vec<usize>,
    num_classes: usize,
    shuffle: Option<Shuffle>,
    batch_size: usize,
    target: (usize, usize),
    interpolation: Interpolation,
    rescale: f32,
    class_mode: ClassMode,
    prefetch: usize,
    images_read: AtomicU64,
    most_images_held: AtomicUsize,
    read_nanos: AtomicU64,
    assemble_nanos: AtomicU64,
}

impl Hdf5Stream {
    /// Opens `path` and checks its datasets; nothing of the images is read yet.
    ///
    /// # Errors
    /// - [`DataError::Io`], [`DataError::NotAFile`], [`DataError::Corrupt`] (not HDF5),
    ///   [`DataError::Truncated`] (shorter than its superblock says);
    /// - [`DataError::Layout`] naming the file and the dataset: a missing dataset, images not
    ///   uint8 of rank 3 or 4, labels whose number differs from the images' (both numbers in
    ///   the message), a label outside `0..num_classes` (`labels[i]`);
    /// - [`DataError::TooLarge`] for one image larger than `max_block_bytes`;
    /// - [`DataError::Invalid`] for a batch size of 0, `ClassMode::None`, binary labels with
    ///   more than two classes, or a range outside the file.
    pub fn open(path: impl AsRef<Path>, options: StreamOptions) -> Result<Hdf5Stream> {
        let file = ImageFile::open(
            path.as_ref(),
            &options.images,
            &options.labels,
            options.max_block_bytes,
        )?;
        Hdf5Stream::from_file(file, options)
    }

    /// A training and a validation stream over one file, split by index as
    /// `fit(validation_split=…)` splits arrays: training takes the first
    /// `floor(n · (1 − validation_split))` images (shuffled as the options say), validation
    /// the rest, in order. K comes from the whole file's labels, so both agree on it.
    ///
    /// # Errors
    /// As [`Hdf5Stream::open`]; [`DataError::Invalid`] if `validation_split` is not in (0, 1)
    /// or leaves one side empty.
    pub fn open_split(
        path: impl AsRef<Path>,
        options: StreamOptions,
        validation_split: f64,
    ) -> Result<(Hdf5Stream, Hdf5Stream)> {
        let file = ImageFile::open(
            path.as_ref(),
            &options.images,
            &options.labels,
            options.max_block_bytes,
        )?;
        let n = file.shape[0];
        let split_at = (n as f64 * (1.0 - validation_split)).floor() as usize;
        if !(validation_split > 0.0 && validation_split < 1.0) || split_at == 0 || split_at == n {
            return Err(invalid(
                "enough images for a training and a validation part, validation_split in (0, 1)",
                format!("{n} images and validation_split={validation_split}"),
            ));
        }
        let train = Hdf5Stream::from_file(file.clone(), options.clone().range(0..split_at))?;
        let validation = Hdf5Stream::from_file(file, options.range(split_at..n).shuffle(false))?;
        Ok((train, validation))
    }

    fn from_file(file: ImageFile, options: StreamOptions) -> Result<Hdf5Stream> {
        let n = file.shape[0];
        if options.batch_size == 0 {
            return Err(invalid("batch_size ≥ 1", "batch_size 0".to_string()));
        }
        let range = options.range.clone().unwrap_or(0..n);
        if range.start > range.end || range.end > n {
            return Err(invalid(
                &format!("a range of images inside 0..{n}"),
                format!("{range:?}"),
            ));
        }
        let (labels, num_classes) = class_indices(&file, options.num_classes)?;
        match options.class_mode {
            ClassMode::None => {
                return Err(invalid(
                    "labels: ClassMode::Sparse, Categorical or Binary",
                    "ClassMode::None".to_string(),
                ))
            }
            ClassMode::Binary if num_classes > 2 => {
                return Err(invalid(
                    "labels 0 and 1 for ClassMode::Binary",
                    format!("{num_classes} classes"),
                ))
            }
            _ => {}
        }
        let image_bytes = file.image_bytes();
        // A block: one row of chunks, or fewer images when that row is above the cap.
        let row = file.chunk_images.unwrap_or(1);
        let cap = (options.max_block_bytes / image_bytes).max(1);
        let blocks = Blocks {
            range,
            size: row.min(cap),
        };
        let shuffle = options.shuffle.then(|| Shuffle {
            seed: options
                .seed
                .unwrap_or_else(|| with_global(|rng| rng.next_u64())),
            buffer: options.shuffle_buffer,
        });
        let [_, h, w, _] = file.shape;
        let shared = Shared {
            target: options.target_size.unwrap_or((h, w)),
            file,
            blocks: blocks.clone(),
            labels,
            num_classes,
            shuffle,
            batch_size: options.batch_size,
            interpolation: options.interpolation,
            rescale: options.rescale,
            class_mode: options.class_mode,
            prefetch: options.prefetch,
            images_read: AtomicU64::new(0),
            most_images_held: AtomicUsize::new(0),
            read_nanos: AtomicU64::new(0),
            assemble_nanos: AtomicU64::new(0),
        };
        Ok(Hdf5Stream {
            plan: Arc::new(Plan::new(blocks, shuffle, 0)),
            shared: Arc::new(shared),
            epoch: 0,
            running: None,
            local: None,
        })
    }
}

/// The labels of the whole file as class indices, and K.
fn class_indices(file: &ImageFile, num_classes: Option<usize>) -> Result<(Vec<usize>, usize)> {
    let largest = file.labels.iter().copied().max().unwrap_or(0);
    let k = num_classes.unwrap_or((largest.max(0) + 1) as usize);
    let labels = file
        .labels
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            usize::try_from(label)
                .ok()
                .filter(|&l| l < k)
                .ok_or_else(|| DataError::Layout {
                    path: file.path.clone(),
                    item: format!("`{}[{i}]`", file.labels_name),
                    expected: format!("a class in 0..{k}"),
                    found: label.to_string(),
                })
        })
        .collect::<Result<_>>()?;
    Ok((labels, k))
}

fn invalid(expected: &str, found: String) -> DataError {
    DataError::Invalid {
        op: "Hdf5Stream",
        expected: expected.to_string(),
        found,
    }
}

impl Hdf5Stream {
    /// Batches per epoch, `ceil(n / batch_size)` for the n images of the range.
    pub fn len(&self) -> usize {
        self.shared
            .blocks
            .range
            .len()
            .div_ceil(self.shared.batch_size)
    }

    /// Whether there are no batches.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The images the stream hands out per epoch.
    pub fn samples(&self) -> usize {
        self.shared.blocks.range.len()
    }

    /// The images of the file this stream takes (its part of a split).
    pub fn range(&self) -> Range<usize> {
        self.shared.blocks.range.clone()
    }

    /// One image as stored, `(H, W, C)`.
    pub fn stored_shape(&self) -> [usize; 3] {
        let [_, h, w, c] = self.shared.file.shape;
        [h, w, c]
    }

    /// One image as batched, `(TH, TW, C)`.
    pub fn image_shape(&self) -> [usize; 3] {
        let (th, tw) = self.shared.target;
        [th, tw, self.shared.file.shape[3]]
    }

    /// K, the number of classes.
    pub fn num_classes(&self) -> usize {
        self.shared.num_classes
    }

    /// The class of each image of the range, in file order.
    pub fn labels(&self) -> &[usize] {
        &self.shared.labels[self.range()]
    }

    /// B, the images of one block (one row of chunks, at most `max_block_bytes`).
    pub fn block_images(&self) -> usize {
        self.shared.blocks.size
    }

    /// The most bytes of images the stream holds at once: `S + 2·B` images as stored (the
    /// shuffle buffer, the block being poured into it, the block being read), and the
    /// prefetched batches plus the one being built as f32. The HDF5 reader's own buffers
    /// (one chunk at a time) come on top.
    pub fn memory_bound(&self) -> usize {
        let shared = &self.shared;
        let buffer = shared.shuffle.map_or(0, |s| s.buffer);
        let stored = (buffer + 2 * shared.blocks.size) * shared.file.image_bytes();
        let [th, tw, c] = self.image_shape();
        stored + (shared.prefetch + 1) * shared.batch_size * th * tw * c * 4
    }

    /// What the reader has done so far.
    pub fn stats(&self) -> StreamStats {
        let seconds = |nanos: &AtomicU64| nanos.load(Ordering::Relaxed) as f64 * 1e-9;
        StreamStats {
            images_read: self.shared.images_read.load(Ordering::Relaxed),
            read_seconds: seconds(&self.shared.read_nanos),
            assemble_seconds: seconds(&self.shared.assemble_nanos),
            most_images_held: self.shared.most_images_held.load(Ordering::Relaxed),
        }
    }

    /// A new order for `epoch`; the background thread starts on batch 0 straight away.
    pub fn on_epoch_start(&mut self, epoch: usize) {
        self.epoch = epoch;
        self.running = None; // stops the previous epoch's thread
        self.local = None;
        self.plan = Arc::new(Plan::new(
            self.shared.blocks.clone(),
            self.shared.shuffle,
            epoch,
        ));
        if self.shared.prefetch > 0 && !self.is_empty() {
            self.start_producer(0);
        }
    }

    /// Batch `i` of the epoch as `(x, y)`. Asked in order (as `fit` does), it comes from the
    /// background thread; after a jump, the thread restarts at `i`.
    ///
    /// # Errors
    /// [`DataError::Invalid`] if `i ≥ len()`; [`DataError::Corrupt`] naming the first image
    /// that cannot be read (`images[i]`) when a chunk does not inflate.
    pub fn batch(&mut self, i: usize) -> Result<(Tensor, Tensor)> {
        if i >= self.len() {
            return Err(invalid(
                &format!("a batch index below {}", self.len()),
                format!("batch {i}"),
            ));
        }
        if self.shared.prefetch > 0 {
            if !matches!(&self.running, Some(p) if p.next == i) {
                self.start_producer(i);
            }
            if let Some(producer) = &mut self.running {
                producer.next += 1;
                return producer.receiver.recv().unwrap_or_else(|_| {
                    Err(invalid(
                        "a running prefetch thread",
                        "the prefetch thread stopped (it panicked)".to_string(),
                    ))
                });
            }
            // No thread could be started: build the batch here.
        }
        if !matches!(&self.local, Some(c) if c.next == i) {
            self.local = Some(Cursor::at(i));
        }
        let cursor = self.local.as_mut().expect("set above");
        cursor.next_batch(&self.shared, &self.plan)
    }

    fn start_producer(&mut self, first: usize) {
        self.running = None;
        let (sender, receiver) = sync_channel(self.shared.prefetch);
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, plan, stop_thread) = (self.shared.clone(), self.plan.clone(), stop.clone());
        let len = self.len();
        let spawned = std::thread::Builder::new()
            .name("astrograd-hdf5-stream".into())
            .spawn(move || {
                let mut cursor = Cursor::at(first);
                while cursor.next < len && !stop_thread.load(Ordering::Relaxed) {
                    let batch = cursor.next_batch(&shared, &plan);
                    if sender.send(batch).is_err() {
                        return; // the stream moved on
                    }
                }
            });
        if spawned.is_ok() {
            self.running = Some(Producer {
                receiver,
                next: first,
                stop,
            });
        }
    }
}

/// The background thread of one epoch, and the next batch it will send.
struct Producer {
    receiver: Receiver<Result<(Tensor, Tensor)>>,
    next: usize,
    /// Set when the stream drops it: the thread stops before its next batch.
    stop: Arc<AtomicBool>,
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Builds batches one after the other from batch `next` on, keeping the images read ahead.
struct Cursor {
    next: usize,
    pending: Pending,
}

impl Cursor {
    fn at(batch: usize) -> Cursor {
        Cursor {
            next: batch,
            pending: Pending::default(),
        }
    }

    fn next_batch(&mut self, shared: &Shared, plan: &Plan) -> Result<(Tensor, Tensor)> {
        let i = self.next;
        self.next += 1;
        let positions = i * shared.batch_size..((i + 1) * shared.batch_size).min(plan.order.len());
        let mut read = |images: Range<usize>| {
            let started = Instant::now();
            let bytes = shared.file.read(images.clone());
            let nanos = started.elapsed().as_nanos() as u64;
            shared.read_nanos.fetch_add(nanos, Ordering::Relaxed);
            shared
                .images_read
                .fetch_add(images.len() as u64, Ordering::Relaxed);
            bytes
        };
        let image_bytes = shared.file.image_bytes();
        let pixels = positions
            .clone()
            .map(|at| self.pending.take(plan, at, image_bytes, &mut read))
            .collect::<Result<Vec<_>>>()?;
        shared
            .most_images_held
            .fetch_max(self.pending.most, Ordering::Relaxed);
        let started = Instant::now();
        let batch = shared.assemble(&pixels, &plan.order[positions]);
        let nanos = started.elapsed().as_nanos() as u64;
        shared.assemble_nanos.fetch_add(nanos, Ordering::Relaxed);
        batch
    }
}

impl Shared {
    /// `x: (B, TH, TW, C)`: each image resized (when the size differs) and rescaled, in
    /// parallel; `y` from the labels of `indices` in the class mode.
    fn assemble(&self, pixels: &[Vec<u8>], indices: &[usize]) -> Result<(Tensor, Tensor)> {
        let [_, h, w, c] = self.file.shape;
        let (th, tw) = self.target;
        let b = pixels.len();
        let out_len = th * tw * c;
        // x: (B, TH, TW, C)
        let mut x = vec![0.0f32; b * out_len];
        x.par_chunks_mut(out_len)
            .zip(pixels.par_iter())
            .for_each(|(out, image)| {
                if (th, tw) == (h, w) {
                    for (o, &p) in out.iter_mut().zip(image) {
                        *o = p as f32 * self.rescale;
                    }
                } else {
                    let values: Vec<f32> = image.iter().map(|&p| p as f32).collect();
                    let resized = resize_float(&values, [h, w, c], [th, tw], self.interpolation);
                    for (o, v) in out.iter_mut().zip(resized) {
                        *o = v * self.rescale;
                    }
                }
            });
        let x = Tensor::from_vec(x, &[b, th, tw, c])?;
        let classes = indices.iter().map(|&i| self.labels[i]);
        let y = match self.class_mode {
            ClassMode::Categorical => {
                // y: (B, K)
                let k = self.num_classes;
                let mut one_hot = vec![0.0f32; b * k];
                for (row, class) in classes.enumerate() {
                    one_hot[row * k + class] = 1.0;
                }
                Tensor::from_vec(one_hot, &[b, k])?
            }
            // y: (B,)
            _ => Tensor::from_vec(classes.map(|class| class as f32).collect(), &[b])?,
        };
        Ok((x, y))
    }
}
