//! The stream on small files: the Galaxy10 fixtures written by h5py
//! (`tools/galaxy10_fixtures.py`), and files written here with `hdf5-pure` in the layout of
//! `Galaxy10_DECals.h5` (uint8 images, gzip chunks), small enough to check every image.
use std::path::{Path, PathBuf};

use super::*;
use crate::galaxy10;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/galaxy10")
        .join(name)
}

/// A file to write: `n` images of `side × side × 3` whose every pixel is `image index mod
/// 256` (so a batch tells which images it holds), labels `index mod 3`, gzip chunks of
/// `chunk` images.
struct ImagesFile {
    n: usize,
    side: usize,
    chunk: usize,
    labels: usize,
}

impl ImagesFile {
    fn write(&self, path: &Path) {
        let image = self.side * self.side * 3;
        let pixels: Vec<u8> = (0..self.n * image).map(|p| (p / image) as u8).collect();
        let labels: Vec<u8> = (0..self.labels).map(|i| (i % 3) as u8).collect();
        let (n, side) = (self.n as u64, self.side as u64);
        let mut builder = hdf5_pure::FileBuilder::new();
        builder
            .create_dataset("images")
            .with_u8_data(&pixels)
            .with_shape(&[n, side, side, 3])
            .with_chunks(&[self.chunk as u64, side, side, 3])
            .with_shuffle()
            .with_deflate(4);
        builder
            .create_dataset("labels")
            .with_u8_data(&labels)
            .with_shape(&[self.labels as u64]);
        builder.write(path).expect("write the test file");
    }
}

/// The image index held in each image of a batch (its first pixel, rescale 1).
fn ids(x: &Tensor) -> Vec<usize> {
    let per: usize = x.shape()[1..].iter().product();
    x.to_vec()
        .unwrap()
        .chunks(per)
        .map(|im| im[0] as usize)
        .collect()
}

/// Every batch of one epoch, as (image ids, labels).
fn epoch(stream: &mut Hdf5Stream, epoch: usize) -> (Vec<usize>, Vec<f32>) {
    stream.on_epoch_start(epoch);
    let (mut all_ids, mut all_labels) = (Vec::new(), Vec::new());
    for i in 0..stream.len() {
        let (x, y) = stream.batch(i).expect("batch");
        all_ids.extend(ids(&x));
        all_labels.extend(y.to_vec().unwrap());
    }
    (all_ids, all_labels)
}

fn raw() -> StreamOptions {
    StreamOptions::default().rescale(1.0).seed(7)
}

#[test]
fn the_decals_fixture_streams_pixel_for_pixel() {
    let options = raw().shuffle(false).batch_size(2);
    let mut stream = galaxy10::stream_with(fixture("galaxy10_decals.h5"), options).expect("open");
    assert_eq!(stream.stored_shape(), [64, 64, 3]);
    assert_eq!(galaxy10::Edition::of_side(64), galaxy10::Edition::Decals);
    assert_eq!((stream.len(), stream.block_images()), (3, 1));
    stream.on_epoch_start(0);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..3 {
        let (bx, by) = stream.batch(i).expect("batch");
        x.extend(bx.to_vec().unwrap());
        y.extend(by.to_vec().unwrap());
    }
    // tools/galaxy10_fixtures.py: (13·n + 7·y + 3·x + 50·c) mod 256, labels [9, 0, 4, 7, 2].
    let mut expected = Vec::new();
    for n in 0..5 {
        for (r, c, k) in
            (0..64).flat_map(|r| (0..64).flat_map(move |c| (0..3).map(move |k| (r, c, k))))
        {
            expected.push(((13 * n + 7 * r + 3 * c + 50 * k) % 256) as f32);
        }
    }
    assert_eq!(x, expected);
    assert_eq!(y, vec![9.0, 0.0, 4.0, 7.0, 2.0]);
    // The SDSS fixture (contiguous) is told apart by its side.
    let sdss = galaxy10::stream(fixture("galaxy10_sdss.h5")).expect("open");
    assert_eq!(
        galaxy10::Edition::of_side(sdss.stored_shape()[0]),
        galaxy10::Edition::Sdss
    );
    assert_eq!(
        sdss.block_images(),
        1,
        "a contiguous dataset has blocks of one image"
    );
}

#[test]
fn a_shuffled_epoch_hands_out_every_image_once_and_is_fixed_by_the_seed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("images.h5");
    ImagesFile {
        n: 40,
        side: 4,
        chunk: 5,
        labels: 40,
    }
    .write(&path);
    let options = raw().batch_size(6).shuffle_buffer(8);
    let mut a = Hdf5Stream::open(&path, options.clone()).expect("open");
    assert_eq!((a.len(), a.block_images(), a.num_classes()), (7, 5, 3));
    let (ids0, labels0) = epoch(&mut a, 0);
    let mut sorted = ids0.clone();
    sorted.sort();
    assert_eq!(sorted, (0..40).collect::<Vec<_>>());
    assert_ne!(ids0, sorted, "shuffled");
    let expected: Vec<f32> = ids0.iter().map(|&i| (i % 3) as f32).collect();
    assert_eq!(labels0, expected, "each label travels with its image");
    let (ids1, _) = epoch(&mut a, 1);
    assert_ne!(ids0, ids1, "another epoch, another order");
    // The same seed gives the same epochs, with or without the background thread.
    let mut b = Hdf5Stream::open(&path, options.clone().prefetch(0)).expect("open");
    assert_eq!(epoch(&mut b, 1).0, ids1);
    assert_eq!(epoch(&mut b, 0).0, ids0);
    // Batches asked out of order are the same batches.
    a.on_epoch_start(0);
    let third = ids(&a.batch(3).expect("batch 3").0);
    let first = ids(&a.batch(0).expect("batch 0").0);
    assert_eq!((first, third), (ids0[0..6].to_vec(), ids0[18..24].to_vec()));
    let err = a.batch(7).unwrap_err();
    assert!(err.to_string().contains("a batch index below 7"), "{err}");
    // Every chunk was read once per epoch from the start (7 epochs' worth at most).
    let stats = a.stats();
    assert!(stats.images_read >= 80, "{stats:?}");
    assert!(stats.most_images_held < 8 + 5, "{stats:?}");
}

#[test]
fn images_are_resized_rescaled_and_labels_one_hot() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("images.h5");
    ImagesFile {
        n: 10,
        side: 8,
        chunk: 3,
        labels: 10,
    }
    .write(&path);
    let options = StreamOptions::default()
        .shuffle(false)
        .batch_size(4)
        .target_size(3, 5)
        .rescale(0.5)
        .class_mode(ClassMode::Categorical);
    let mut stream = Hdf5Stream::open(&path, options).expect("open");
    assert_eq!(stream.image_shape(), [3, 5, 3]);
    stream.on_epoch_start(0);
    let (x, y) = stream.batch(2).expect("last batch");
    assert_eq!(x.shape(), &[2, 3, 5, 3]);
    // Constant images stay constant under bilinear resizing: 8·0.5 and 9·0.5.
    let values = x.to_vec().unwrap();
    assert!(
        values[..45].iter().all(|&v| (v - 4.0).abs() < 1e-5),
        "{values:?}"
    );
    assert!(values[45..].iter().all(|&v| (v - 4.5).abs() < 1e-5));
    assert_eq!(y.shape(), &[2, 3]);
    assert_eq!(y.to_vec().unwrap(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
}

#[test]
fn open_split_holds_out_the_last_images_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("images.h5");
    ImagesFile {
        n: 40,
        side: 4,
        chunk: 8,
        labels: 40,
    }
    .write(&path);
    let (mut train, mut validation) =
        Hdf5Stream::open_split(&path, raw().batch_size(7), 0.25).expect("split");
    assert_eq!((train.range(), validation.range()), (0..30, 30..40));
    let mut seen = epoch(&mut train, 0).0;
    seen.sort();
    assert_eq!(seen, (0..30).collect::<Vec<_>>());
    assert_eq!(epoch(&mut validation, 0).0, (30..40).collect::<Vec<_>>());
    assert_eq!(validation.labels(), &[0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
    for bad in [0.0, 1.0, -0.1, f64::NAN] {
        let err = Hdf5Stream::open_split(&path, raw(), bad)
            .err()
            .expect("refused");
        assert!(matches!(err, DataError::Invalid { .. }), "{bad}: {err:?}");
    }
    let err = Hdf5Stream::open(&path, raw().range(30..41))
        .err()
        .expect("outside");
    assert!(err.to_string().contains("inside 0..40"), "{err}");
}

/// The images held in memory depend on the buffer and the block, not on the file: a file
/// four times longer holds no more.
#[test]
fn the_images_held_do_not_grow_with_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut most = Vec::new();
    for n in [200, 800] {
        let path = dir.path().join(format!("images_{n}.h5"));
        ImagesFile {
            n,
            side: 8,
            chunk: 16,
            labels: n,
        }
        .write(&path);
        let mut stream = Hdf5Stream::open(&path, raw().shuffle_buffer(64)).expect("open");
        let (seen, _) = epoch(&mut stream, 0);
        assert_eq!(seen.len(), n);
        let stats = stream.stats();
        assert_eq!(stats.images_read, n as u64, "each block read once");
        assert!(stats.most_images_held < 64 + 16, "{stats:?}");
        most.push(stats.most_images_held);
        // The bound counts S + 2B stored images and the prefetched f32 batches.
        assert_eq!(stream.memory_bound(), (64 + 32) * 192 + 5 * 32 * 192 * 4);
    }
    assert!(most[1] <= most[0] + 16, "{most:?}");
}

#[test]
fn labels_and_images_of_different_lengths_are_an_error_naming_both() {
    let err = galaxy10::stream(fixture("count_mismatch.h5"))
        .err()
        .expect("3 images, 2 labels");
    assert!(
        matches!(&err, DataError::Layout { item, .. } if item == "dataset `ans`"),
        "{err:?}"
    );
    let message = err.to_string();
    for needle in ["count_mismatch.h5", "(3 images)", "(2 labels)"] {
        assert!(message.contains(needle), "{needle:?} not in {message}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("longer_labels.h5");
    ImagesFile {
        n: 6,
        side: 4,
        chunk: 2,
        labels: 9,
    }
    .write(&path);
    let message = Hdf5Stream::open(&path, raw())
        .err()
        .expect("6 vs 9")
        .to_string();
    assert!(
        message.contains("(6 images)") && message.contains("(9 labels)"),
        "{message}"
    );
}

#[test]
fn a_missing_dataset_is_named() {
    let err = galaxy10::stream(fixture("no_ans.h5"))
        .err()
        .expect("no ans");
    assert!(err.to_string().contains("dataset `ans`"), "{err}");
    let options = raw().datasets("pixels", "ans");
    let err = Hdf5Stream::open(fixture("galaxy10_sdss.h5"), options)
        .err()
        .expect("no pixels");
    assert!(
        matches!(&err, DataError::Layout { item, .. } if item == "dataset `pixels`"),
        "{err:?}"
    );
    let err = galaxy10::stream(fixture("float_images.h5"))
        .err()
        .expect("float32");
    assert!(err.to_string().contains("dtype float32"), "{err}");
}

#[test]
fn a_label_out_of_range_names_its_index() {
    let err = galaxy10::stream(fixture("bad_label.h5"))
        .err()
        .expect("label 12");
    let message = err.to_string();
    assert!(
        message.contains("`ans[1]`") && message.contains("0..10"),
        "{message}"
    );
}

/// A file cut short is an error when it is opened (its superblock says how long it was),
/// and never a panic.
#[test]
fn a_truncated_file_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    for fraction in [2, 5, 9] {
        let bytes = std::fs::read(fixture("galaxy10_decals.h5")).expect("fixture");
        let path = dir.path().join("cut.h5");
        std::fs::write(&path, &bytes[..bytes.len() * fraction / 10]).expect("write");
        let err = galaxy10::stream(&path).err().expect("truncated");
        assert!(
            matches!(err, DataError::Truncated { .. } | DataError::Corrupt { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("cut.h5"), "{err}");
    }
}

/// A damaged chunk (bytes flipped inside its gzip stream) fails the batch that needs it,
/// with an error naming the image, and the stream goes on with the other batches.
#[test]
fn a_corrupted_chunk_is_an_error_naming_the_image() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("damaged.h5");
    std::fs::copy(fixture("galaxy10_decals.h5"), &path).expect("copy");
    // The chunks of image 2 (chunks of (1, 32, 32, 3)), where they are in the file.
    let chunks = hdf5_pure::File::open(&path)
        .and_then(|f| f.dataset("images")?.chunks())
        .expect("chunk index");
    let chunk = chunks
        .iter()
        .find(|c| c.offset == [2, 32, 0, 0])
        .expect("a chunk of image 2");
    let mut bytes = std::fs::read(&path).expect("read");
    let start = (chunk.address + chunk.storage_size / 3) as usize;
    for b in &mut bytes[start..start + 16] {
        *b ^= 0x5A;
    }
    std::fs::write(&path, bytes).expect("write");
    for prefetch in [0, 2] {
        let options = raw().shuffle(false).batch_size(1).prefetch(prefetch);
        let mut stream = galaxy10::stream_with(&path, options).expect("the index is intact");
        stream.on_epoch_start(0);
        for i in [0, 1, 3, 4] {
            stream.batch(i).expect("undamaged images read");
        }
        let err = stream.batch(2).expect_err("image 2 is damaged");
        assert!(matches!(err, DataError::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains("`images[2]`"), "{err}");
        assert!(err.to_string().contains("damaged.h5"), "{err}");
        stream.batch(3).expect("the stream goes on");
    }
}
