//! Session 3's cats-vs-dogs path, end to end on JPEG folders in the real layout, in seconds.
//!
//! The real `cats_and_dogs_filtered.zip` cannot be downloaded in CI, so these tests draw a small
//! stand-in with the same layout (`train/{cats,dogs}`, `validation/{cats,dogs}`, JPEGs of
//! various sizes) in which the classes can be told apart: a cat is a bright disk, a dog a dark
//! square, each on a noisy mid-grey background of its own size. Then they run the library
//! calls that `examples/session3_cats_dogs.rs` makes, as the course does:
//!
//! ```python
//! train_datagen = ImageDataGenerator(rescale=1./255)
//! train_generator = train_datagen.flow_from_directory(train_dir, target_size=(150, 150),
//!                                                     batch_size=20, class_mode='binary')
//! model.compile(loss='binary_crossentropy', optimizer=Adam(learning_rate=1e-3), metrics=['acc'])
//! history = model.fit(train_generator, epochs=15, validation_data=validation_generator,
//!                     callbacks=[EarlyStopping(patience=4, restore_best_weights=True)])
//! model.evaluate(validation_generator)
//! ```
//!
//! and check that the model separates the two drawn classes (validation accuracy ≥ 0.9; a
//! model that learns nothing stays near 0.5).
//!
//! The last test runs the calls of `examples/session3_transfer_learning.rs` on the same kind of
//! folder: a small frozen MobileNetV2 base (random weights: there is no internet in CI), its
//! features extracted once, a new head, then fine-tuning from layer 100 and the joined plot.
//!
//! To run the example itself on such a folder, keep one on disk:
//! `ASTROGRAD_SYNTHETIC_CATS_DOGS=/tmp/cd cargo test --release --test session3_examples_run
//! synthetic_folder` writes `/tmp/cd/cats_and_dogs_filtered`, then
//! `cargo run --release --example session3_cats_dogs -- --data /tmp/cd/cats_and_dogs_filtered`.
#[path = "synthetic/cats_dogs.rs"]
mod synthetic;

use std::path::PathBuf;

use astrograd::data::cats_and_dogs;
use astrograd::data::image_generator::{ClassMode, DirectoryOptions, ImageDataGenerator};
use astrograd::layers::applications::{
    extract_features_from, mobilenet_v2, preprocess_input, Mode, Options, Weights,
};
use astrograd::layers::{
    Conv2D, Dense, Dropout, EarlyStopping, EvalOptions, FitOptions, Flatten,
    GlobalAveragePooling2D, Input, MaxPooling2D, Sequential, SharedLayer,
};
use astrograd::optim::{Adam, RMSprop};
use astrograd::set_seed;
use astrograd::viz::{self, EpochMarker, HistoryPlotOptions};
use synthetic::{write_cats_and_dogs, Spec};

/// The stand-in the tests train on: 100 + 100 training and 20 + 20 validation JPEGs.
fn small_spec() -> Spec {
    Spec {
        train_per_class: 100,
        validation_per_class: 20,
        min_side: 80,
        max_side: 200,
        seed: 7,
    }
}

/// The folder has the archive's layout: `cats_and_dogs::load_from` takes it as an extracted
/// `cats_and_dogs_filtered`, and `flow_from_directory` finds the images and the two classes.
/// With `ASTROGRAD_SYNTHETIC_CATS_DOGS=DIR` it is written there and kept (for the example).
#[test]
fn synthetic_folder_has_the_real_layout() {
    let temp = tempfile::tempdir().expect("temp dir");
    let root = match std::env::var_os("ASTROGRAD_SYNTHETIC_CATS_DOGS") {
        Some(dir) => PathBuf::from(dir),
        None => temp.path().to_path_buf(),
    };
    let base = write_cats_and_dogs(&root, &small_spec());
    let data = cats_and_dogs::load_from(&base).expect("load_from accepts the folder");
    assert_eq!(data.train_dir, base.join("train"));
    let mut log = Vec::new();
    let train = ImageDataGenerator::default()
        .rescale(1.0 / 255.0)
        .flow_from_directory_with_log(
            &data.train_dir,
            DirectoryOptions::default()
                .target_size(150, 150)
                .batch_size(20)
                .class_mode(ClassMode::Binary),
            &mut log,
        )
        .expect("flow_from_directory");
    assert_eq!(
        String::from_utf8(log).expect("utf-8"),
        "Found 200 images belonging to 2 classes.\n"
    );
    assert_eq!(train.class_names(), ["cats", "dogs"]);
    assert_eq!(train.len(), 10);
}

/// The course's first cats-vs-dogs model, trained as the example trains it (batches of 20 from
/// the folders, Adam 1e-3, binary cross-entropy, EarlyStopping on `val_loss`) for 2 epochs, then
/// evaluated on the validation folder: it tells the bright disks from the dark squares.
#[test]
fn cats_dogs_training_path_separates_the_classes() {
    cats_dogs_training_path_on(astrograd::Device::Cpu, 150);
}

/// The same on the GPU (feature `wgpu`): the generator's batches go to the GPU, EarlyStopping
/// restores the best weights there, and the model still tells the classes apart. At 64×64
/// pictures: CI's GPU is lavapipe, a software driver, where 150×150 takes minutes.
#[cfg(feature = "wgpu")]
#[test]
fn cats_dogs_training_path_separates_the_classes_on_the_gpu() {
    if let Some(gpu) = astrograd::tensor::gpu::gpu_or_skip() {
        cats_dogs_training_path_on(gpu, 64);
    }
}

/// Trains the course's model on `size`×`size` pictures on `device`.
fn cats_dogs_training_path_on(device: astrograd::Device, size: usize) {
    let temp = tempfile::tempdir().expect("temp dir");
    let data = cats_and_dogs::load_from(write_cats_and_dogs(temp.path(), &small_spec()))
        .expect("load_from");
    set_seed(42);
    let datagen = ImageDataGenerator::default().rescale(1.0 / 255.0);
    let options = || {
        DirectoryOptions::default()
            .target_size(size, size)
            .batch_size(20)
            .class_mode(ClassMode::Binary)
            .seed(42)
    };
    let mut train = datagen
        .flow_from_directory(&data.train_dir, options())
        .expect("train folder");
    let mut validation = datagen
        .flow_from_directory(&data.validation_dir, options())
        .expect("validation folder");

    let mut model = Sequential::new(vec![
        Box::new(Input::new(&[size, size, 3])),
        Box::new(Conv2D::new(16, 3).activation("relu")),
        Box::new(MaxPooling2D::new()),
        Box::new(Conv2D::new(32, 3).activation("relu")),
        Box::new(MaxPooling2D::new()),
        Box::new(Conv2D::new(64, 3).activation("relu")),
        Box::new(MaxPooling2D::new()),
        Box::new(Flatten::new()),
        Box::new(Dense::new(512).activation("relu")),
        Box::new(Dense::new(1).activation("sigmoid")),
    ])
    .expect("model");
    if size == 150 {
        assert_eq!(model.count_params(), 9_494_561);
    }
    model.to(device).expect("model.to");
    model
        .compile("binary_crossentropy", Adam::new(1e-3), &["acc"])
        .expect("compile");
    let mut early = EarlyStopping::new().patience(4).restore_best_weights(true);
    let history = model
        .fit_batches(
            &mut train,
            FitOptions::default()
                .epochs(2)
                .verbose(2)
                .validation_batches(&mut validation)
                .callback(&mut early),
        )
        .expect("fit");
    assert_eq!(
        history.history.keys(),
        ["loss", "acc", "val_loss", "val_acc"]
    );
    assert_eq!(history.epoch, [0, 1]);

    let logs = model
        .evaluate_batches_with(&mut validation, EvalOptions::default().verbose(0))
        .expect("evaluate");
    let accuracy = logs.get("acc").expect("acc in the logs");
    assert!(
        accuracy >= 0.9,
        "validation accuracy {accuracy} after 2 epochs (history {:?})",
        history.history
    );
}

/// The transfer-learning recipe as `session3_transfer_learning` runs it, at a tiny size: base
/// frozen, features extracted once through `preprocess_input`, head trained on them, then the
/// base's top unfrozen, the model compiled again and fine-tuned from `initial_epoch`; the two
/// histories joined and plotted with the marker. The frozen layers must come out bit for bit.
#[test]
fn transfer_learning_path_runs_end_to_end() {
    let temp = tempfile::tempdir().expect("temp dir");
    let spec = Spec {
        train_per_class: 12,
        validation_per_class: 4,
        min_side: 40,
        max_side: 70,
        seed: 3,
    };
    let data =
        cats_and_dogs::load_from(write_cats_and_dogs(temp.path(), &spec)).expect("load_from");
    set_seed(42);
    let size = 48;
    let options = Options::new()
        .include_top(false)
        .weights(Weights::Random)
        .input_shape(&[size, size, 3]);
    let mut base = mobilenet_v2(&options, 0.35).expect("MobileNetV2");
    let base_layers: Vec<SharedLayer> = base.layers().to_vec();
    base.set_trainable(false);
    assert!(base.trainable_weights().is_empty());

    // Features once, in a fixed order, from pixels 0–255 through preprocess_input('tf').
    let folder = || {
        DirectoryOptions::default()
            .target_size(size, size)
            .batch_size(8)
            .class_mode(ClassMode::Binary)
            .seed(42)
    };
    let plain = ImageDataGenerator::default();
    let prepare = |x: &astrograd::Tensor| preprocess_input(x, Mode::Tf);
    let mut train = plain
        .flow_from_directory(&data.train_dir, folder().shuffle(false))
        .expect("train folder");
    let (features, labels) =
        extract_features_from(&mut base, &mut train, prepare).expect("features");
    assert_eq!(features.shape(), &[24, 2, 2, 1280]);
    assert_eq!(labels.shape(), &[24]);

    let mut head = Sequential::new(vec![
        Box::new(Input::new(&[2, 2, 1280])),
        Box::new(GlobalAveragePooling2D::new()),
        Box::new(Dense::new(16).activation("relu")),
        Box::new(Dropout::new(0.5)),
        Box::new(Dense::new(1).activation("sigmoid")),
    ])
    .expect("head");
    head.compile("binary_crossentropy", Adam::new(1e-3), &["accuracy"])
        .expect("compile");
    let first = head
        .fit(
            &features,
            &labels,
            FitOptions::default().epochs(2).batch_size(8).verbose(0),
        )
        .expect("fit the head");
    // Copies of the numbers (on the CPU a clone is a snapshot too, but not on the GPU).
    let snapshot = |weights: Vec<astrograd::Tensor>| -> Vec<Vec<f32>> {
        weights.iter().map(|t| t.to_vec().unwrap()).collect()
    };
    let frozen_before = snapshot(base.get_weights());
    let head_before = snapshot(head.get_weights());

    base.set_inference_only(true);
    let mut model = Sequential::new(vec![
        Box::new(Input::new(&[size, size, 3])),
        Box::new(base),
        Box::new(head),
    ])
    .expect("base + head");
    model.layers()[0].borrow_mut().set_trainable(true);
    for layer in &base_layers[..100] {
        layer.borrow_mut().set_trainable(false);
    }
    model
        .compile("binary_crossentropy", RMSprop::new(1e-5), &["accuracy"])
        .expect("compile again");
    struct Preprocessed(astrograd::data::image_generator::DirectoryIterator);
    impl astrograd::layers::training::BatchSource for Preprocessed {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn on_epoch_start(&mut self, epoch: usize) {
            self.0.on_epoch_start(epoch);
        }
        fn batch(
            &mut self,
            i: usize,
        ) -> astrograd::layers::Result<(astrograd::Tensor, astrograd::Tensor)> {
            let (x, y) = self.0.batch(i).map_err(|e| {
                astrograd::layers::LayerError::invalid("batch", "a batch", e.to_string())
            })?;
            Ok((preprocess_input(&x, Mode::Tf)?, y))
        }
    }
    let mut train = Preprocessed(
        plain
            .flow_from_directory(&data.train_dir, folder())
            .expect("train"),
    );
    let mut validation = Preprocessed(
        plain
            .flow_from_directory(&data.validation_dir, folder())
            .expect("validation"),
    );
    let fine = model
        .fit_batches(
            &mut train,
            FitOptions::default()
                .epochs(3)
                .initial_epoch(2)
                .verbose(0)
                .validation_batches(&mut validation),
        )
        .expect("fine-tune");
    assert_eq!(fine.epoch, [2]);
    let after: Vec<astrograd::layers::Weight> = base_layers
        .iter()
        .flat_map(|l| l.borrow().weights())
        .collect();
    let frozen_count: usize = base_layers[..100]
        .iter()
        .map(|l| l.borrow().weights().len())
        .sum();
    assert_eq!(
        snapshot(
            after[..frozen_count]
                .iter()
                .map(|w| w.var.value())
                .collect()
        ),
        frozen_before[..frozen_count],
        "layers before 100 must not move"
    );
    // And what was unfrozen did move (a fine-tuning that updated nothing would pass the check
    // above): most trainable weights of the base's top, and every weight of the head. Not every
    // one of the top: through a random 100-layer base some BN gammas get gradients of 1e-14 to
    // 1e-10, and RMSprop's step lr·g/(√v + ε) is then far below an ulp of their value 1.
    let top: Vec<_> = after[frozen_count..]
        .iter()
        .zip(&frozen_before[frozen_count..])
        .filter(|(w, _)| w.trainable)
        .collect();
    let moved = top
        .iter()
        .filter(|(w, before)| &w.var.value().to_vec().unwrap() != *before)
        .count();
    assert!(
        !top.is_empty() && moved * 4 >= top.len() * 3,
        "only {moved} of the {} trainable weights of the base's top moved",
        top.len()
    );
    let head_after = model.layers()[1].borrow().weights();
    assert_eq!(head_after.len(), head_before.len());
    for (w, before) in head_after.iter().zip(&head_before) {
        assert!(w.trainable, "{} is trainable", w.name);
        assert_ne!(
            &w.var.value().to_vec().unwrap(),
            before,
            "{} did not move",
            w.name
        );
    }
    println!(
        "fine-tuning: {frozen_count} weights frozen and unchanged; {moved} of the {} trainable \
         weights of the base's top and all {} of the head moved",
        top.len(),
        head_after.len()
    );

    let both = viz::join_histories(&[&first, &fine]);
    assert_eq!(both.epoch, [0, 1, 2]);
    assert_eq!(
        both.history["val_loss"].len(),
        1,
        "only fine-tuning had validation batches"
    );
    let plot = temp.path().join("history.png");
    viz::history_plot_with(
        &[("", &both)],
        &HistoryPlotOptions {
            title: String::new(),
            marker: Some(EpochMarker {
                after_epoch: 2,
                label: "start of fine-tuning".into(),
            }),
            validation_only: false,
        },
        &plot,
    )
    .expect("plot");
    assert!(plot.is_file());
}
