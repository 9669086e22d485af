//! `fit` on `ImageDataGenerator` iterators: [`BatchSource`] for the data crate's
//! [`ArrayIterator`] (`datagen.flow(x, y)`) and [`DirectoryIterator`]
//! (`datagen.flow_from_directory(dir)`), and on HDF5 files streamed chunk by chunk
//! ([`Hdf5Stream`], `galaxy10::stream(path)`), and on folders read by
//! `image_dataset_from_directory` ([`ImageDataset`]).
//!
//! ```no_run
//! use astrograd_data::image_generator::{ClassMode, DirectoryOptions, ImageDataGenerator};
//! let datagen = ImageDataGenerator::default().rescale(1.0 / 255.0);
//! let mut train = datagen.flow_from_directory("train",
//!     DirectoryOptions::default().target_size(150, 150).batch_size(20).class_mode(ClassMode::Binary))?;
//! // let history = model.fit_batches(&mut train, FitOptions::default().epochs(30))?;
//! # Ok::<(), astrograd_data::DataError>(())
//! ```
//!
//! The data crate cannot depend on this one, so its iterators expose the same three methods
//! as inherent methods returning `astrograd_data::Result`; the impls below forward to them and
//! turn a data error into a [`LayerError::Invalid`] that carries its message.
use astrograd_autograd::Tensor;
use astrograd_data::hdf5_stream::Hdf5Stream;
use astrograd_data::image_generator::ImageDataset;
use astrograd_data::image_generator::{ArrayIterator, DirectoryIterator};
use astrograd_data::DataError;

use super::data::BatchSource;
use crate::{LayerError, Result};

/// A data error met while `fit` asked for batch `i`.
fn batch_error(source: &str, i: usize, len: usize, err: DataError) -> LayerError {
    LayerError::invalid(source, format!("batch {i} of {len}"), err.to_string())
}

impl BatchSource for ArrayIterator {
    fn len(&self) -> usize {
        ArrayIterator::len(self)
    }

    fn on_epoch_start(&mut self, epoch: usize) {
        ArrayIterator::on_epoch_start(self, epoch)
    }

    fn batch(&mut self, i: usize) -> Result<(Tensor, Tensor)> {
        let len = ArrayIterator::len(self);
        ArrayIterator::batch(self, i).map_err(|e| batch_error("ImageDataGenerator.flow", i, len, e))
    }
}

impl BatchSource for DirectoryIterator {
    fn len(&self) -> usize {
        DirectoryIterator::len(self)
    }

    fn on_epoch_start(&mut self, epoch: usize) {
        DirectoryIterator::on_epoch_start(self, epoch)
    }

    fn batch(&mut self, i: usize) -> Result<(Tensor, Tensor)> {
        let len = DirectoryIterator::len(self);
        DirectoryIterator::batch(self, i)
            .map_err(|e| batch_error("ImageDataGenerator.flow_from_directory", i, len, e))
    }
}

impl BatchSource for Hdf5Stream {
    fn len(&self) -> usize {
        Hdf5Stream::len(self)
    }

    fn on_epoch_start(&mut self, epoch: usize) {
        Hdf5Stream::on_epoch_start(self, epoch)
    }

    fn batch(&mut self, i: usize) -> Result<(Tensor, Tensor)> {
        let len = Hdf5Stream::len(self);
        Hdf5Stream::batch(self, i).map_err(|e| batch_error("Hdf5Stream", i, len, e))
    }
}

impl BatchSource for ImageDataset {
    fn len(&self) -> usize {
        ImageDataset::len(self)
    }

    fn on_epoch_start(&mut self, epoch: usize) {
        ImageDataset::on_epoch_start(self, epoch)
    }

    fn batch(&mut self, i: usize) -> Result<(Tensor, Tensor)> {
        let len = ImageDataset::len(self);
        ImageDataset::batch(self, i)
            .map_err(|e| batch_error("image_dataset_from_directory", i, len, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use astrograd_data::image_generator::{FlowOptions, ImageDataGenerator};

    /// The trait object sees the iterator's batches; errors keep the data crate's message.
    #[test]
    fn flow_is_a_batch_source() {
        let x = Tensor::from_vec((0..20).map(|v| v as f32).collect(), &[5, 2, 2, 1]).expect("x");
        let y = Tensor::from_vec(vec![0.0, 1.0, 0.0, 1.0, 0.0], &[5]).expect("y");
        let it = ImageDataGenerator::default()
            .flow(
                &x,
                Some(&y),
                FlowOptions::default().batch_size(2).shuffle(false),
            )
            .expect("flow");
        let mut source: Box<dyn BatchSource> = Box::new(it);
        assert_eq!(source.len(), 3);
        source.on_epoch_start(0);
        let (bx, by) = source.batch(2).expect("batch");
        assert_eq!(
            (bx.shape(), by.to_vec().unwrap()),
            (&[1, 2, 2, 1][..], vec![0.0])
        );
        let err = source.batch(3).unwrap_err();
        assert!(err.to_string().contains("has length 3"), "{err}");
    }

    /// A folder of two classes of 4×4 one-band FITS files (written by hand: the header's cards,
    /// then big-endian floats), trained on through `image_dataset_from_directory`.
    #[test]
    fn an_image_dataset_trains_a_model() {
        use crate::{Dense, Flatten, Input, Sequential};
        use astrograd_data::image_generator::{
            image_dataset_from_directory, ColorMode, ImageDatasetOptions,
        };
        let dir = tempfile::tempdir().expect("temp dir");
        for (class, value) in [("dim", 1.0f32), ("lit", 9.0)] {
            std::fs::create_dir_all(dir.path().join(class)).expect("class folder");
            for k in 0..4 {
                let cards = [
                    "SIMPLE  =                    T",
                    "BITPIX  =                  -32",
                    "NAXIS   =                    2",
                    "NAXIS1  =                    4",
                    "NAXIS2  =                    4",
                    "END",
                ];
                let mut bytes: Vec<u8> = cards
                    .iter()
                    .flat_map(|c| format!("{c:<80}").into_bytes())
                    .collect();
                bytes.resize(2880, b' ');
                (0..16).for_each(|_| bytes.extend_from_slice(&value.to_be_bytes()));
                bytes.resize(5760, 0);
                std::fs::write(dir.path().join(class).join(format!("{k}.fits")), bytes)
                    .expect("write FITS");
            }
        }
        let mut train = image_dataset_from_directory(
            dir.path(),
            ImageDatasetOptions::default()
                .image_size(4, 4)
                .color_mode(ColorMode::Grayscale)
                .batch_size(3)
                .seed(1),
        )
        .expect("dataset");
        assert_eq!(BatchSource::len(&train), 3);
        let mut model = Sequential::new(vec![
            Box::new(Input::new(&[4, 4, 1])),
            Box::new(Flatten::new()),
            Box::new(Dense::new(2).activation("softmax")),
        ])
        .expect("model");
        model
            .compile("sparse_categorical_crossentropy", "adam", &["accuracy"])
            .expect("compile");
        let history = model
            .fit_batches(
                &mut train,
                crate::FitOptions::default().epochs(2).verbose(0),
            )
            .expect("fit");
        assert!(history.history["loss"].iter().all(|l| l.is_finite()));
    }
}
