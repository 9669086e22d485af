//! `fit` on a stream: Galaxy10 read chunk by chunk from an HDF5 file, for training and for
//! validation, as a user with a file too big for memory runs it:
//!
//! ```text
//! let (mut train, val) = galaxy10::stream_split(path, options, 0.2)?;
//! model.fit_batches(&mut train, FitOptions::default().validation_batches(val))?;
//! ```
//!
//! The file is `tests/fixtures/galaxy10/galaxy10_sdss_400.h5`: 400 images in the SDSS layout,
//! written by h5py with `compression="gzip"` and h5py's automatic chunks, (100, 18, 18, 1):
//! the layout a DECals-style file gets when nobody chooses its chunks, where one image is
//! spread over 48 chunks that each hold 100 images.
use std::path::PathBuf;

use astrograd::data::galaxy10;
use astrograd::data::hdf5_stream::StreamOptions;
use astrograd::layers::{
    Conv2D, Dense, EvalOptions, FitOptions, Flatten, Input, MaxPooling2D, Sequential,
};
use astrograd::optim::Adam;
use astrograd::set_seed;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/galaxy10/galaxy10_sdss_400.h5")
}

#[test]
fn a_small_cnn_fits_one_epoch_from_a_stream_with_a_streamed_validation() {
    set_seed(42);
    let options = StreamOptions::default()
        .target_size(24, 24)
        .batch_size(32)
        .shuffle_buffer(64)
        .seed(42);
    let (mut train, mut validation) =
        galaxy10::stream_split(fixture(), options, 0.2).expect("open the stream");
    assert_eq!((train.range(), validation.range()), (0..320, 320..400));
    // A block is one row of h5py's automatic chunks: 100 images.
    assert_eq!(train.block_images(), 100);
    assert_eq!((train.len(), validation.len()), (10, 3));

    let mut model = Sequential::new(vec![
        Box::new(Input::new(&[24, 24, 3])),
        Box::new(Conv2D::new(4, 3).activation("relu")),
        Box::new(MaxPooling2D::new()),
        Box::new(Flatten::new()),
        Box::new(Dense::new(10).activation("softmax")),
    ])
    .expect("model");
    model
        .compile(
            "sparse_categorical_crossentropy",
            Adam::new(1e-3),
            &["accuracy"],
        )
        .expect("compile");
    let history = model
        .fit_batches(
            &mut train,
            FitOptions::default()
                .epochs(1)
                .verbose(0)
                .validation_batches(&mut validation),
        )
        .expect("fit on the stream");
    assert_eq!(
        history.history.keys(),
        ["loss", "accuracy", "val_loss", "val_accuracy"]
    );
    for (name, values) in history.history.iter() {
        assert!(
            values.len() == 1 && values[0].is_finite(),
            "{name}: {values:?}"
        );
    }
    // Every training image was read once: 4 blocks (0..100 … 300..320 cut at the split).
    assert_eq!(train.stats().images_read, 320);
    assert!(train.stats().most_images_held < 64 + 100);

    let logs = model
        .evaluate_batches_with(&mut validation, EvalOptions::default().verbose(0))
        .expect("evaluate on the stream");
    assert!(logs.get("loss").expect("loss").is_finite());
}

/// A stream error reaches `fit` as a layer error that keeps the data crate's message.
#[test]
fn a_damaged_file_stops_fit_with_the_streams_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cut.h5");
    let bytes = std::fs::read(fixture()).expect("fixture");
    // Zero a tenth of the file in its middle, where h5py put the chunks of the images (the
    // metadata is at the start, `ans` at the end).
    let mut damaged = bytes.clone();
    let len = damaged.len();
    damaged[len * 45 / 100..len * 55 / 100]
        .iter_mut()
        .for_each(|b| *b = 0);
    std::fs::write(&path, damaged).expect("write");
    let options = StreamOptions::default()
        .target_size(8, 8)
        .shuffle(false)
        .seed(1);
    let mut stream = galaxy10::stream_with(&path, options).expect("the metadata is intact");
    let mut model = Sequential::new(vec![
        Box::new(Input::new(&[8, 8, 3])),
        Box::new(Flatten::new()),
        Box::new(Dense::new(10).activation("softmax")),
    ])
    .expect("model");
    model
        .compile("sparse_categorical_crossentropy", Adam::new(1e-3), &[])
        .expect("compile");
    let err = model
        .fit_batches(&mut stream, FitOptions::default().epochs(1).verbose(0))
        .expect_err("the zeroed chunks do not inflate");
    let message = err.to_string();
    assert!(
        message.contains("Hdf5Stream") && message.contains("`images["),
        "{message}"
    );
}
