//! # astrograd-data — datasets, downloads and image generators
//!
//! This crate will hold the dataset loaders of the course (Fashion-MNIST and MNIST from IDX
//! files, Galaxy10 SDSS and DECals from HDF5, image folders, cats vs dogs), the download cache
//! with checksums and atomic writes, train/test splits, and Keras's `ImageDataGenerator`.
//!
//! It is empty for now: the data issue fills it. It depends only on the tensor crate, so
//! datasets are plain `astrograd_tensor::Tensor`s.
