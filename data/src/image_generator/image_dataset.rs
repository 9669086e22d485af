//! Keras's `image_dataset_from_directory`: a folder of class folders as batches of images and
//! labels, with no generator in front (no rescale, no augmentation), the files of each subset
//! chosen as tf.keras 2.10 chooses them.
//!
//! ```text
//! train = tf.keras.utils.image_dataset_from_directory(   let train = image_dataset_from_directory(
//!     "galaxies", validation_split=0.2,                      "galaxies", ImageDatasetOptions::default()
//!     subset="training", seed=42,                                .validation_split(0.2).subset(Subset::Training)
//!     image_size=(69, 69), batch_size=32)                        .seed(42).image_size(69, 69).batch_size(32))?;
//! ```
//!
//! # Which files, in which subset
//! As Keras's `index_directory`: the class folders in sorted order (or `class_names`), the
//! files of each listed recursively in sorted order, class after class. With `shuffle` (the
//! default) the list is shuffled once by NumPy's `RandomState(seed).shuffle` (astrograd's
//! [`Mt19937`]). Then `num_val = int(validation_split · n)`: the training subset is the list
//! without its last `num_val` files, the validation subset those last files. Keras requires a
//! seed when it both shuffles and splits, and so does this function. The test
//! `data/tests/image_dataset_keras_split.rs` compares the subsets with tf.keras 2.10's.
//!
//! # Batches
//! Pixels as f32 0–255 (a FITS file: its physical values, blanks 0, see [`load_image`]),
//! resized to `image_size` (bilinear by default); labels by `label_mode`: `Int` class indices
//! `(B,)`, `Categorical` one-hot `(B, K)`, `Binary` 0/1 `(B,)` for two classes. With `shuffle`,
//! the order of the files changes every epoch, drawn from `(seed, epoch)`: a full shuffle, where
//! tf.data's `shuffle(buffer_size=8·batch_size)` only approximates one.
//!
//! Formats: those of `flow_from_directory` ([`super::WHITE_LIST_FORMATS`], FITS included),
//! where Keras 2.10 takes `.bmp .gif .jpeg .jpg .png`. Not here: `labels` given as a list,
//! `crop_to_aspect_ratio`, and `label_mode=None` (use [`load_image`] to read images alone).
use std::path::{Path, PathBuf};

use astrograd_tensor::random::Rng;
use astrograd_tensor::Tensor;

use crate::error::{DataError, Result};
use crate::split::Mt19937;

use super::directory_iterator::{list_directory, load_image, ColorMode, Interpolation};
use super::Subset;

/// `label_mode=`: what a batch's labels are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelMode {
    /// `'int'` (the default): class indices, f32 `(B,)`.
    Int,
    /// `'categorical'`: one-hot, f32 `(B, K)`.
    Categorical,
    /// `'binary'`: 0 or 1, f32 `(B,)`; exactly two classes.
    Binary,
}

/// The arguments of `image_dataset_from_directory`, with Keras's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageDatasetOptions {
    /// `label_mode=` (`Int`).
    pub label_mode: LabelMode,
    /// `class_names=`: the class folders to use, in label order (`None`: every subfolder,
    /// sorted).
    pub class_names: Option<Vec<String>>,
    /// `color_mode=` (`Rgb`).
    pub color_mode: ColorMode,
    /// `batch_size=` (32).
    pub batch_size: usize,
    /// `image_size=` as (height, width) ((256, 256)).
    pub image_size: (usize, usize),
    /// `shuffle=` (true).
    pub shuffle: bool,
    /// `seed=` (`None`; required with a validation split and shuffling).
    pub seed: Option<u32>,
    /// `validation_split=` (`None`).
    pub validation_split: Option<f64>,
    /// `subset=` (`None`; required with a validation split).
    pub subset: Option<Subset>,
    /// `interpolation=` (`Bilinear`).
    pub interpolation: Interpolation,
    /// `follow_links=` (false).
    pub follow_links: bool,
}

impl Default for ImageDatasetOptions {
    fn default() -> Self {
        ImageDatasetOptions {
            label_mode: LabelMode::Int,
            class_names: None,
            color_mode: ColorMode::Rgb,
            batch_size: 32,
            image_size: (256, 256),
            shuffle: true,
            seed: None,
            validation_split: None,
            subset: None,
            interpolation: Interpolation::Bilinear,
            follow_links: false,
        }
    }
}

impl ImageDatasetOptions {
    /// `label_mode=`.
    pub fn label_mode(mut self, mode: LabelMode) -> Self {
        self.label_mode = mode;
        self
    }

    /// `class_names=`.
    pub fn class_names(mut self, names: &[&str]) -> Self {
        self.class_names = Some(names.iter().map(|n| n.to_string()).collect());
        self
    }

    /// `color_mode=`.
    pub fn color_mode(mut self, mode: ColorMode) -> Self {
        self.color_mode = mode;
        self
    }

    /// `batch_size=`.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// `image_size=(height, width)`.
    pub fn image_size(mut self, height: usize, width: usize) -> Self {
        self.image_size = (height, width);
        self
    }

    /// `shuffle=`.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// `seed=`.
    pub fn seed(mut self, seed: u32) -> Self {
        self.seed = Some(seed);
        self
    }

    /// `validation_split=`.
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.validation_split = Some(fraction);
        self
    }

    /// `subset=`.
    pub fn subset(mut self, subset: Subset) -> Self {
        self.subset = Some(subset);
        self
    }

    /// `interpolation=`.
    pub fn interpolation(mut self, interpolation: Interpolation) -> Self {
        self.interpolation = interpolation;
        self
    }

    /// `follow_links=`.
    pub fn follow_links(mut self, follow: bool) -> Self {
        self.follow_links = follow;
        self
    }
}

/// What `image_dataset_from_directory` returns: the files of one subset, read a batch at a time.
#[derive(Clone, Debug)]
pub struct ImageDataset {
    root: PathBuf,
    /// The files, relative to `root`, in Keras's order (`ds.file_paths`).
    files: Vec<String>,
    /// The class of each file.
    labels: Vec<usize>,
    class_names: Vec<String>,
    options: ImageDatasetOptions,
    /// This epoch's order of the files.
    order: Vec<usize>,
}

/// Keras's `image_dataset_from_directory(directory, …)`; prints `Found N files belonging to K
/// classes.` and, with a split, `Using M files for training.` as Keras does.
///
/// # Errors
/// [`DataError::Invalid`] for a batch size of 0, an empty image size, a split outside (0, 1), a
/// split without a subset or a subset without a split, a split with shuffling but no seed,
/// binary labels for other than two classes, or a folder with no images; the errors of
/// [`list_directory`].
pub fn image_dataset_from_directory(
    directory: impl AsRef<Path>,
    options: ImageDatasetOptions,
) -> Result<ImageDataset> {
    const OP: &str = "image_dataset_from_directory";
    let root = directory.as_ref().to_path_buf();
    check_options(&options)?;
    let listing = list_directory(
        &root,
        options.class_names.as_deref(),
        None,
        options.follow_links,
    )?;
    let class_names = listing.class_names;
    if options.label_mode == LabelMode::Binary && class_names.len() != 2 {
        return Err(invalid(
            OP,
            "exactly 2 class folders for label_mode binary",
            format!("{} ({})", class_names.len(), class_names.join(", ")),
        ));
    }
    let (mut files, mut labels) = (listing.filenames, listing.classes);
    if files.is_empty() {
        return Err(invalid(
            OP,
            "image files in the class folders",
            format!("none in {}", root.display()),
        ));
    }
    println!(
        "Found {} files belonging to {} classes.",
        files.len(),
        class_names.len()
    );
    if options.shuffle {
        // index_directory: the paths, then the labels, each shuffled by RandomState(seed).
        let seed = options.seed.unwrap_or(0);
        Mt19937::new(seed).shuffle(&mut files);
        Mt19937::new(seed).shuffle(&mut labels);
    }
    if let (Some(split), Some(subset)) = (options.validation_split, options.subset) {
        let num_val = (split * files.len() as f64) as usize;
        let kept = match subset {
            Subset::Training => {
                println!("Using {} files for training.", files.len() - num_val);
                0..files.len() - num_val
            }
            Subset::Validation => {
                println!("Using {num_val} files for validation.");
                files.len() - num_val..files.len()
            }
        };
        files = files[kept.clone()].to_vec();
        labels = labels[kept].to_vec();
    }
    let order = (0..files.len()).collect();
    Ok(ImageDataset {
        root,
        files,
        labels,
        class_names,
        options,
        order,
    })
}

/// The checks Keras makes on the arguments before it reads the folder.
fn check_options(options: &ImageDatasetOptions) -> Result<()> {
    const OP: &str = "image_dataset_from_directory";
    if options.batch_size == 0 {
        return Err(invalid(OP, "batch_size ≥ 1", "0".to_string()));
    }
    let (h, w) = options.image_size;
    if h == 0 || w == 0 {
        return Err(invalid(OP, "image_size ≥ (1, 1)", format!("({h}, {w})")));
    }
    match (options.validation_split, options.subset) {
        (None, None) => Ok(()),
        (Some(split), Some(_)) => {
            if !(split > 0.0 && split < 1.0) {
                return Err(invalid(OP, "validation_split in (0, 1)", split.to_string()));
            }
            if options.shuffle && options.seed.is_none() {
                return Err(invalid(
                    OP,
                    "a seed, when shuffling with a validation split (so that the two \
                     subsets do not overlap)",
                    "no seed".to_string(),
                ));
            }
            Ok(())
        }
        (Some(split), None) => Err(invalid(
            OP,
            "a subset (training or validation) with validation_split",
            format!("validation_split {split} and no subset"),
        )),
        (None, Some(subset)) => Err(invalid(
            OP,
            "a validation_split with a subset",
            format!("subset {subset:?} and no validation_split"),
        )),
    }
}

fn invalid(op: &'static str, expected: &str, found: String) -> DataError {
    DataError::Invalid {
        op,
        expected: expected.to_string(),
        found,
    }
}

impl ImageDataset {
    /// Batches per epoch, `ceil(files / batch_size)`.
    pub fn len(&self) -> usize {
        self.files.len().div_ceil(self.options.batch_size)
    }

    /// Whether there are no files.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The number of files.
    pub fn samples(&self) -> usize {
        self.files.len()
    }

    /// The files, relative to the folder, in Keras's order (`ds.file_paths`).
    pub fn file_paths(&self) -> &[String] {
        &self.files
    }

    /// The class of each file, in the order of [`Self::file_paths`].
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// `ds.class_names`: the class folders, in label order.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// Draws this epoch's order (a permutation from `(seed, epoch)` with shuffling; the file
    /// order without).
    pub fn on_epoch_start(&mut self, epoch: usize) {
        self.order = (0..self.files.len()).collect();
        if self.options.shuffle {
            let seed = u64::from(self.options.seed.unwrap_or(0));
            let mut rng = Rng::new(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            rng.shuffle(&mut self.order);
        }
    }

    /// Batch `i` of the epoch: images `(B, H, W, C)` and labels.
    ///
    /// # Errors
    /// [`DataError::Invalid`] for `i ≥ len()`; the errors of [`load_image`] for a file that is
    /// not an image, naming it.
    pub fn batch(&self, i: usize) -> Result<(Tensor, Tensor)> {
        let bs = self.options.batch_size;
        if i >= self.len() {
            return Err(invalid(
                "ImageDataset::batch",
                &format!("a batch index below {}", self.len()),
                i.to_string(),
            ));
        }
        let picked = &self.order[i * bs..((i + 1) * bs).min(self.files.len())];
        let (h, w) = self.options.image_size;
        let c = self.options.color_mode.channels();
        let mut pixels = Vec::with_capacity(picked.len() * h * w * c);
        for &k in picked {
            let path = self.root.join(&self.files[k]);
            let image = load_image(
                &path,
                self.options.color_mode,
                self.options.image_size,
                self.options.interpolation,
            )?;
            pixels.extend(image.data);
        }
        let b = picked.len();
        let x = Tensor::from_vec(pixels, &[b, h, w, c])?;
        let classes = self.class_names.len();
        let y = match self.options.label_mode {
            LabelMode::Int | LabelMode::Binary => Tensor::from_vec(
                picked.iter().map(|&k| self.labels[k] as f32).collect(),
                &[b],
            )?,
            LabelMode::Categorical => {
                let mut one_hot = vec![0.0; b * classes];
                for (row, &k) in picked.iter().enumerate() {
                    one_hot[row * classes + self.labels[k]] = 1.0;
                }
                Tensor::from_vec(one_hot, &[b, classes])?
            }
        };
        Ok((x, y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `root/{a,b}/` with `n_a` and `n_b` 3×2 PNGs whose pixels all hold their class (10, 20).
    fn folder(n_a: usize, n_b: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (class, n, value) in [("a", n_a, 10u8), ("b", n_b, 20u8)] {
            std::fs::create_dir_all(dir.path().join(class)).unwrap();
            for k in 0..n {
                let img = image::RgbImage::from_pixel(3, 2, image::Rgb([value; 3]));
                img.save(dir.path().join(class).join(format!("{k}.png")))
                    .unwrap();
            }
        }
        dir
    }

    #[test]
    fn batches_hold_the_pixels_and_labels_of_their_files() {
        let dir = folder(3, 2);
        let options = ImageDatasetOptions::default()
            .image_size(2, 3)
            .batch_size(2)
            .label_mode(LabelMode::Categorical)
            .seed(1);
        let mut ds = image_dataset_from_directory(dir.path(), options).unwrap();
        assert_eq!((ds.len(), ds.samples()), (3, 5));
        assert_eq!(ds.class_names(), ["a", "b"]);
        ds.on_epoch_start(0);
        let mut seen = vec![0; 2];
        for i in 0..ds.len() {
            let (x, y) = ds.batch(i).unwrap();
            let b = x.shape()[0];
            assert_eq!(x.shape(), [b, 2, 3, 3]);
            let (x, y) = (x.to_vec().unwrap(), y.to_vec().unwrap());
            for row in 0..b {
                let class = if y[row * 2] == 1.0 { 0 } else { 1 };
                seen[class] += 1;
                // Pixels stay 0–255: 10 for class a, 20 for class b.
                assert!(x[row * 18..(row + 1) * 18]
                    .iter()
                    .all(|&p| p == [10.0, 20.0][class]));
            }
        }
        assert_eq!(seen, [3, 2]);
    }

    #[test]
    fn the_epochs_are_shuffled_differently_and_the_unshuffled_order_is_the_files() {
        let dir = folder(4, 4);
        let opts = ImageDatasetOptions::default()
            .image_size(2, 3)
            .batch_size(8);
        let mut ds = image_dataset_from_directory(dir.path(), opts.clone().seed(3)).unwrap();
        let labels_of = |ds: &mut ImageDataset, epoch| {
            ds.on_epoch_start(epoch);
            ds.batch(0).unwrap().1.to_vec().unwrap()
        };
        let (e0, e1) = (labels_of(&mut ds, 0), labels_of(&mut ds, 1));
        assert_eq!(e0, labels_of(&mut ds, 0), "the same epoch, the same order");
        assert_ne!(e0, e1, "another epoch, another order");
        let mut plain = image_dataset_from_directory(dir.path(), opts.shuffle(false)).unwrap();
        assert_eq!(plain.file_paths()[..2], ["a/0.png", "a/1.png"]);
        assert_eq!(
            labels_of(&mut plain, 5),
            [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
        );
    }

    #[test]
    fn bad_arguments_are_errors_that_say_what_was_expected() {
        let dir = folder(2, 2);
        let cases = [
            (ImageDatasetOptions::default().batch_size(0), "batch_size"),
            (
                ImageDatasetOptions::default().validation_split(0.2),
                "a subset",
            ),
            (
                ImageDatasetOptions::default().subset(Subset::Training),
                "a validation_split",
            ),
            (
                ImageDatasetOptions::default()
                    .validation_split(0.2)
                    .subset(Subset::Training),
                "a seed",
            ),
            (
                ImageDatasetOptions::default()
                    .validation_split(1.5)
                    .subset(Subset::Training)
                    .seed(1),
                "(0, 1)",
            ),
        ];
        for (options, expected) in cases {
            let err = image_dataset_from_directory(dir.path(), options)
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{err}");
        }
        let three = folder(1, 1);
        std::fs::create_dir(three.path().join("c")).unwrap();
        let err = image_dataset_from_directory(
            three.path(),
            ImageDatasetOptions::default().label_mode(LabelMode::Binary),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("exactly 2 class folders"), "{err}");
        let ds = image_dataset_from_directory(dir.path(), ImageDatasetOptions::default()).unwrap();
        assert!(ds.batch(1).unwrap_err().to_string().contains("below 1"));
    }
}
