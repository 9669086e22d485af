//! [`DirectoryIterator`]: what `ImageDataGenerator.flow_from_directory(dir)` returns — batches
//! of images read from one folder per class, as the course's cats-vs-dogs notebook uses.
//!
//! ```text
//! train/                       classes = immediate subfolders, sorted: {"cats": 0, "dogs": 1}
//! ├── cats/cat.1.jpg           files  = every file below the class folder (recursively), whose
//! ├── cats/more/cat.2.JPG               lower-cased name ends with png, jpg, jpeg, bmp, ppm,
//! └── dogs/dog.1.png                    tif or tiff; folders sorted by path, files by name
//! ```
//!
//! FITS images are listed too, beside the pictures and in the same class folders: names that
//! end with `.fits`, `.fit`, `.fts` or those with `.gz` ([`crate::fits::FITS_EXTENSIONS`]).
//! They keep their physical values, as floats (`fits_images.rs` says how bands become
//! channels; stretch them with a `preprocessing_function`, see [`crate::stretch`]). A FITS
//! image whose every pixel is blank is left out of its batch with a warning, whatever
//! [`OnBadImage`] says.
//!
//! Exactly Keras's rules (`keras.preprocessing.image.DirectoryIterator`, TF 2.10), including two
//! oddities: the extension test has no dot (`"notapng"` is listed; PIL — and here the decoder —
//! then fails on it), and folders are sorted by their whole path string (`cats/a-b` before
//! `cats/a/x`). With a `subset`, each class's sorted files are split: validation
//! `[0, int(vs·N))`, training the rest. The constructor prints
//! `Found N images belonging to K classes.`.
//!
//! Two departures from Keras, because a folder is untrusted input: a listed name that is not
//! a regular file (a named pipe, a socket, a device, a broken link) or is empty is left out of
//! the listing with a warning on stderr ([`DirectoryListing::skipped`]) and never opened —
//! opening a named pipe waits forever; and a JPEG cut off before its end-of-image marker is a
//! bad image (PIL: "image file is truncated"), never decoded into a half-grey picture.
//!
//! Each image is decoded (the `image` crate; the format is sniffed from the bytes, as PIL does),
//! converted to RGB / L / RGBA with PIL's rules (L = (19595 R + 38470 G + 7471 B + 2¹⁵) >> 16;
//! alpha dropped, not composited), resized to `target_size` (PIL's nearest-neighbour rule,
//! exactly; bilinear and bicubic through the `image` crate's Triangle and Catmull–Rom filters,
//! which differ from PIL's fixed-point ones by a grey level or so), then augmented and
//! standardized. 16-bit images are reduced to 8 bits (PIL would keep `I;16` greys).
//!
//! # Shapes
//! A batch: x `(B, H, W, C)` with C = 3 (rgb), 1 (grayscale) or 4 (rgba); y `(B,)` for
//! binary/sparse, `(B, K)` one-hot for categorical.
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use astrograd_tensor::random::fork;
use astrograd_tensor::Tensor;
use image::DynamicImage;
use rayon::prelude::*;

use crate::error::{DataError, Result};

use super::fits_images::load_fits_image;
use super::prefetch::{sample_rng, Batches, MakeBatch};
use super::{invalid, Batch, Image, ImageDataGenerator, Subset};

/// Keras's `white_list_formats`: a file is listed when its lower-cased name ends with one.
pub const WHITE_LIST_FORMATS: [&str; 7] = ["png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff"];

/// `color_mode=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorMode {
    /// Three channels, red, green, blue (Keras's default).
    Rgb,
    /// One channel of grey.
    Grayscale,
    /// Four channels: red, green, blue and alpha.
    Rgba,
}

impl ColorMode {
    /// The number of channels of an image in this mode: 3, 1 or 4.
    pub fn channels(self) -> usize {
        match self {
            ColorMode::Rgb => 3,
            ColorMode::Grayscale => 1,
            ColorMode::Rgba => 4,
        }
    }
}

/// `class_mode=`: what a batch's labels look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassMode {
    /// f32 `(B,)` of 0/1.
    Binary,
    /// One-hot f32 `(B, K)`.
    Categorical,
    /// f32 class indices `(B,)`.
    Sparse,
    /// No labels (images only).
    None,
}

/// `interpolation=`: how images are resized to `target_size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolation {
    /// The nearest pixel (Keras's default).
    Nearest,
    /// A weighted mean of the 2×2 nearest pixels.
    Bilinear,
    /// A cubic fit through the 4×4 nearest pixels.
    Bicubic,
}

/// What to do with a listed file that does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnBadImage {
    /// The batch fails with an error naming the file (Keras's behaviour).
    Fail,
    /// Leave it out of its batch (which gets smaller) and print a warning on stderr.
    Skip,
}

/// The options of `flow_from_directory`, with Keras's defaults.
#[derive(Clone, Debug)]
pub struct DirectoryOptions {
    /// `(height, width)`.
    pub target_size: (usize, usize),
    /// The channels of each image.
    pub color_mode: ColorMode,
    /// Class folders to use, in this order (`None`: every subfolder, sorted).
    pub classes: Option<Vec<String>>,
    /// What a batch's labels look like.
    pub class_mode: ClassMode,
    /// Images per batch (the last batch may be smaller).
    pub batch_size: usize,
    /// Shuffle the order at the start of every epoch.
    pub shuffle: bool,
    /// Fixes the order and the augmentation; `None` draws a seed from the global generator.
    pub seed: Option<u64>,
    /// Use only the training or the validation part (`validation_split` of the generator).
    pub subset: Option<Subset>,
    /// How images are resized to `target_size`.
    pub interpolation: Interpolation,
    /// Follow symbolic links to folders and files.
    pub follow_links: bool,
    /// What to do with a listed file that does not decode.
    pub on_bad_image: OnBadImage,
    /// Batches built ahead on a background thread (0: build each when asked).
    pub prefetch: usize,
    /// The value that replaces blank pixels (NaN, `BLANK`) of FITS images.
    pub fits_blank_value: f32,
}

impl Default for DirectoryOptions {
    fn default() -> Self {
        DirectoryOptions {
            target_size: (256, 256),
            color_mode: ColorMode::Rgb,
            classes: None,
            class_mode: ClassMode::Categorical,
            batch_size: 32,
            shuffle: true,
            seed: None,
            subset: None,
            interpolation: Interpolation::Nearest,
            follow_links: false,
            on_bad_image: OnBadImage::Fail,
            prefetch: 4,
            fits_blank_value: 0.0,
        }
    }
}

impl DirectoryOptions {
    /// Sets [`DirectoryOptions::target_size`].
    pub fn target_size(mut self, height: usize, width: usize) -> Self {
        self.target_size = (height, width);
        self
    }
    /// Sets [`DirectoryOptions::color_mode`].
    pub fn color_mode(mut self, mode: ColorMode) -> Self {
        self.color_mode = mode;
        self
    }
    /// Sets [`DirectoryOptions::classes`].
    pub fn classes(mut self, classes: &[&str]) -> Self {
        self.classes = Some(classes.iter().map(|c| c.to_string()).collect());
        self
    }
    /// Sets [`DirectoryOptions::class_mode`].
    pub fn class_mode(mut self, mode: ClassMode) -> Self {
        self.class_mode = mode;
        self
    }
    /// Sets [`DirectoryOptions::batch_size`].
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
    /// Sets [`DirectoryOptions::shuffle`].
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }
    /// Sets [`DirectoryOptions::seed`].
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    /// Sets [`DirectoryOptions::subset`].
    pub fn subset(mut self, subset: Subset) -> Self {
        self.subset = Some(subset);
        self
    }
    /// Sets [`DirectoryOptions::interpolation`].
    pub fn interpolation(mut self, interpolation: Interpolation) -> Self {
        self.interpolation = interpolation;
        self
    }
    /// Sets [`DirectoryOptions::follow_links`].
    pub fn follow_links(mut self, follow: bool) -> Self {
        self.follow_links = follow;
        self
    }
    /// Sets [`DirectoryOptions::on_bad_image`].
    pub fn on_bad_image(mut self, what: OnBadImage) -> Self {
        self.on_bad_image = what;
        self
    }
    /// Sets [`DirectoryOptions::prefetch`].
    pub fn prefetch(mut self, batches: usize) -> Self {
        self.prefetch = batches;
        self
    }
    /// Sets [`DirectoryOptions::fits_blank_value`].
    pub fn fits_blank_value(mut self, value: f32) -> Self {
        self.fits_blank_value = value;
        self
    }
}

/// The files of a class-folder tree, as Keras lists them.
#[derive(Clone, Debug, PartialEq)]
pub struct DirectoryListing {
    /// Class names in index order.
    pub class_names: Vec<String>,
    /// Paths relative to the root, `/`-separated (`cats/sub/deep.JPEG`).
    pub filenames: Vec<String>,
    /// The class index of each file.
    pub classes: Vec<usize>,
    /// Files with an image's name that were left out, and why (see the module doc).
    pub skipped: Vec<SkippedFile>,
}

/// A file named like an image that is not listed, because it cannot be one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedFile {
    /// The path relative to the root, `/`-separated, as in [`DirectoryListing::filenames`].
    pub filename: String,
    /// Why, e.g. "a named pipe (FIFO), not a regular file" or "an empty file (0 bytes)".
    pub reason: String,
}

/// Lists `directory` as Keras's `DirectoryIterator` does (see the module doc); `split` is the
/// `[start, stop)` fraction of each class's files to keep.
///
/// # Errors
/// [`DataError::Io`] if `directory` cannot be read; [`DataError::Invalid`] if it has no class
/// subfolders (and `classes` is `None`), or a class given in `classes` has no folder.
pub fn list_directory(
    directory: &Path,
    classes: Option<&[String]>,
    split: Option<(f64, f64)>,
    follow_links: bool,
) -> Result<DirectoryListing> {
    const OP: &str = "flow_from_directory";
    let class_names: Vec<String> = match classes {
        Some(given) => {
            for class in given {
                if !directory.join(class).is_dir() {
                    return Err(invalid(
                        OP,
                        &format!("a folder for class '{class}'"),
                        format!("no folder {}", directory.join(class).display()),
                    ));
                }
            }
            given.to_vec()
        }
        None => {
            let mut names = Vec::new();
            for entry in std::fs::read_dir(directory).map_err(|e| DataError::io(directory, e))? {
                let entry = entry.map_err(|e| DataError::io(directory, e))?;
                if entry.path().is_dir() {
                    names.push(entry.file_name().to_string_lossy().into_owned());
                }
            }
            names.sort();
            if names.is_empty() {
                return Err(invalid(
                    OP,
                    "one subfolder per class (e.g. train/cats/*.jpg, train/dogs/*.jpg)",
                    format!("no subfolders in {}", directory.display()),
                ));
            }
            names
        }
    };
    let mut filenames = Vec::new();
    let mut labels = Vec::new();
    let mut skipped = Vec::new();
    for (index, class) in class_names.iter().enumerate() {
        let root = directory.join(class);
        let (mut files, unusable) = valid_files(&root, follow_links)?;
        skipped.extend(unusable.into_iter().map(|file| SkippedFile {
            filename: format!("{class}/{}", file.filename),
            reason: file.reason,
        }));
        if let Some((start, stop)) = split {
            let n = files.len() as f64;
            let (a, b) = ((start * n) as usize, (stop * n) as usize);
            files = files[a..b.max(a)].to_vec();
        }
        labels.extend(std::iter::repeat_n(index, files.len()));
        filenames.extend(files.into_iter().map(|rel| format!("{class}/{rel}")));
    }
    Ok(DirectoryListing {
        class_names,
        filenames,
        classes: labels,
        skipped,
    })
}

/// Keras's `_iter_valid_files`: `os.walk` sorted by folder path, files sorted by name, kept when
/// the lower-cased name ends with a white-listed extension (or is a FITS name). Returns paths
/// relative to `root`, and apart the listed names that are not regular, non-empty files.
fn valid_files(root: &Path, follow_links: bool) -> Result<(Vec<String>, Vec<SkippedFile>)> {
    let mut folders: Vec<(PathBuf, Vec<FolderFile>)> = Vec::new();
    walk(root, follow_links, &mut folders)?;
    folders.sort_by(|a, b| {
        a.0.as_os_str()
            .as_encoded_bytes()
            .cmp(b.0.as_os_str().as_encoded_bytes())
    });
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (folder, mut files) in folders {
        files.sort_by(|a, b| a.name.cmp(&b.name));
        let relative = folder.strip_prefix(root).unwrap_or(&folder).to_path_buf();
        for file in files {
            let lower = file.name.to_lowercase();
            if WHITE_LIST_FORMATS.iter().any(|ext| lower.ends_with(ext))
                || crate::fits::is_fits_name(&lower)
            {
                let path = relative.join(&file.name);
                let parts: Vec<String> = path
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                let filename = parts.join("/");
                match file.unusable {
                    None => out.push(filename),
                    Some(reason) => skipped.push(SkippedFile { filename, reason }),
                }
            }
        }
    }
    Ok((out, skipped))
}

/// A non-folder entry of a folder, looked at without opening it.
struct FolderFile {
    name: String,
    /// Why it cannot be an image (not a regular file, empty), or `None`.
    unusable: Option<String>,
}

impl FolderFile {
    /// Looks at `entry` through its metadata only: a link is followed (it is read through
    /// when loaded), and nothing is opened.
    fn inspect(entry: &std::fs::DirEntry) -> FolderFile {
        let path = entry.path();
        let unusable = match std::fs::metadata(&path) {
            Err(_) => Some("a broken symbolic link or an unreadable entry".to_string()),
            Ok(meta) if !meta.is_file() => Some(format!(
                "{}, not a regular file",
                crate::error::file_kind(&meta.file_type())
            )),
            Ok(meta) if meta.len() == 0 => Some("an empty file (0 bytes)".to_string()),
            Ok(_) => None,
        };
        FolderFile {
            name: entry.file_name().to_string_lossy().into_owned(),
            unusable,
        }
    }
}

/// `os.walk(folder, followlinks)`: every folder with its non-folder entries.
fn walk(
    folder: &Path,
    follow_links: bool,
    out: &mut Vec<(PathBuf, Vec<FolderFile>)>,
) -> Result<()> {
    let mut files = Vec::new();
    let mut subfolders = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(|e| DataError::io(folder, e))? {
        let entry = entry.map_err(|e| DataError::io(folder, e))?;
        let path = entry.path();
        if path.is_dir() {
            let is_link = entry.file_type().map(|t| t.is_symlink()).unwrap_or(false);
            if follow_links || !is_link {
                subfolders.push(path);
            }
        } else {
            files.push(FolderFile::inspect(&entry));
        }
    }
    out.push((folder.to_path_buf(), files));
    for sub in subfolders {
        walk(&sub, follow_links, out)?;
    }
    Ok(())
}

/// Batches of images read from class folders.
pub struct DirectoryIterator {
    batches: Batches,
    listing: DirectoryListing,
    directory: PathBuf,
    class_mode: ClassMode,
}

impl ImageDataGenerator {
    /// Keras's `flow_from_directory`; prints `Found N images belonging to K classes.` on stdout.
    ///
    /// # Errors
    /// As [`list_directory`], plus [`DataError::Invalid`] for a zero `batch_size` or
    /// `target_size`, a `subset` without `validation_split`, invalid generator options, or
    /// feature-wise normalisation without [`ImageDataGenerator::fit`].
    pub fn flow_from_directory(
        &self,
        directory: impl AsRef<Path>,
        options: DirectoryOptions,
    ) -> Result<DirectoryIterator> {
        self.flow_from_directory_with_log(directory, options, &mut std::io::stdout())
    }

    /// [`Self::flow_from_directory`], writing the "Found …" line to `log`.
    ///
    /// # Errors
    /// As [`Self::flow_from_directory`].
    pub fn flow_from_directory_with_log(
        &self,
        directory: impl AsRef<Path>,
        options: DirectoryOptions,
        log: &mut dyn Write,
    ) -> Result<DirectoryIterator> {
        const OP: &str = "flow_from_directory";
        self.validate()?;
        self.check_fitted()?;
        let directory = directory.as_ref().to_path_buf();
        if options.batch_size == 0 {
            return Err(invalid(OP, "batch_size ≥ 1", "batch_size 0".to_string()));
        }
        if options.target_size.0 == 0 || options.target_size.1 == 0 {
            return Err(invalid(
                OP,
                "a target_size with both sides ≥ 1",
                format!("{:?}", options.target_size),
            ));
        }
        let split = match options.subset {
            None => None,
            Some(_) if self.validation_split == 0.0 => {
                return Err(invalid(
                    OP,
                    "a generator with `validation_split` for `subset`",
                    "validation_split 0".to_string(),
                ));
            }
            Some(Subset::Validation) => Some((0.0, self.validation_split)),
            Some(Subset::Training) => Some((self.validation_split, 1.0)),
        };
        let listing = list_directory(
            &directory,
            options.classes.as_deref(),
            split,
            options.follow_links,
        )?;
        for file in &listing.skipped {
            eprintln!(
                "Warning: skipping {}: {}",
                directory.join(&file.filename).display(),
                file.reason
            );
        }
        writeln!(
            log,
            "Found {} images belonging to {} classes.",
            listing.filenames.len(),
            listing.class_names.len()
        )
        .map_err(|e| DataError::io("<log>", e))?;

        let seed = options.seed.unwrap_or_else(|| fork().next_u64());
        let generator = Arc::new(self.clone());
        let paths: Arc<Vec<PathBuf>> = Arc::new(
            listing
                .filenames
                .iter()
                .map(|f| directory.join(f))
                .collect(),
        );
        let labels = Arc::new(listing.classes.clone());
        let num_classes = listing.class_names.len();
        let opts = options.clone();
        let make: Arc<MakeBatch> = Arc::new(move |indices: &[usize], epoch, batch| {
            make_batch(
                &generator,
                &paths,
                &labels,
                num_classes,
                &opts,
                indices,
                seed,
                epoch,
                batch,
            )
        });
        let batches = Batches::new(
            make,
            listing.filenames.len(),
            options.batch_size,
            options.shuffle,
            seed,
            options.prefetch,
        );
        Ok(DirectoryIterator {
            batches,
            listing,
            directory,
            class_mode: options.class_mode,
        })
    }
}

/// Decodes, augments and standardizes one batch, the samples in parallel.
#[allow(clippy::too_many_arguments)]
fn make_batch(
    generator: &ImageDataGenerator,
    paths: &[PathBuf],
    labels: &[usize],
    num_classes: usize,
    options: &DirectoryOptions,
    indices: &[usize],
    seed: u64,
    epoch: usize,
    batch: usize,
) -> Result<Batch> {
    let (h, w) = options.target_size;
    let c = options.color_mode.channels();
    let samples: Vec<Option<(usize, Vec<f32>)>> = indices
        .par_iter()
        .enumerate()
        .map(|(position, &j)| {
            let image = match load_listed_image(&paths[j], options) {
                Ok(image) => image,
                // Nothing to learn from: never a failure (see the module doc).
                Err(err @ DataError::BlankImage { .. }) => {
                    eprintln!("Warning: skipping a blank image: {err}");
                    return Ok(None);
                }
                Err(err) if options.on_bad_image == OnBadImage::Skip => {
                    eprintln!("Warning: skipping unreadable image: {err}");
                    return Ok(None);
                }
                Err(err) => return Err(err),
            };
            let mut rng = sample_rng(seed, epoch, batch, position);
            Ok(Some((
                j,
                generator.augment_and_standardize(&image, &mut rng)?.data,
            )))
        })
        .collect::<Result<_>>()?;
    let samples: Vec<(usize, Vec<f32>)> = samples.into_iter().flatten().collect();
    if samples.is_empty() {
        return Err(invalid(
            "flow_from_directory",
            "at least one readable image in a batch",
            format!("every image of batch {batch} was unreadable"),
        ));
    }
    let b = samples.len();
    let data: Vec<f32> = samples
        .iter()
        .flat_map(|(_, d)| d.iter().copied())
        .collect();
    let x = Tensor::from_vec(data, &[b, h, w, c])?; // (B, H, W, C)
    let y = match options.class_mode {
        ClassMode::None => None,
        ClassMode::Binary | ClassMode::Sparse => Some(Tensor::from_vec(
            samples.iter().map(|(j, _)| labels[*j] as f32).collect(),
            &[b],
        )?),
        ClassMode::Categorical => {
            let mut one_hot = vec![0.0f32; b * num_classes]; // (B, K)
            for (row, (j, _)) in samples.iter().enumerate() {
                one_hot[row * num_classes + labels[*j]] = 1.0;
            }
            Some(Tensor::from_vec(one_hot, &[b, num_classes])?)
        }
    };
    Ok(Batch { x, y })
}

/// The largest image file read (512 MiB, the `image` crate's default limit on a decoded
/// picture): a bigger file is refused before it is read into memory.
pub const MAX_IMAGE_FILE_BYTES: u64 = 512 << 20;

/// One listed file with the options of `flow_from_directory`: a FITS image (by its name) or
/// a picture.
fn load_listed_image(path: &Path, options: &DirectoryOptions) -> Result<Image> {
    if path
        .file_name()
        .is_some_and(|name| crate::fits::is_fits_name(&name.to_string_lossy()))
    {
        let fits = crate::fits::FitsOptions::default().blank_value(options.fits_blank_value);
        return load_fits_image(
            path,
            options.color_mode,
            options.target_size,
            options.interpolation,
            &fits,
        );
    }
    load_picture(
        path,
        options.color_mode,
        options.target_size,
        options.interpolation,
    )
}

/// Keras's `load_img` + `img_to_array`: decode, convert to the colour mode, resize if needed,
/// pixels as f32 in 0–255. A FITS file (by its name, see [`crate::fits::FITS_EXTENSIONS`])
/// is read by [`load_fits_image`] instead, blanks set to 0, values physical.
///
/// The file is looked at before it is opened: only a regular file (a link to one is
/// followed) of 1 to [`MAX_IMAGE_FILE_BYTES`] bytes is read.
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read; [`DataError::NotAFile`] for a named pipe, a
/// socket, a device or a folder; [`DataError::BadImage`] if it is empty or too large, does
/// not decode, is a JPEG cut off before its end (as PIL's "image file is truncated"), or has
/// no pixels (0×0); for a FITS file, the errors of [`crate::fits::read`] and of
/// [`load_fits_image`].
pub fn load_image(
    path: &Path,
    color_mode: ColorMode,
    target_size: (usize, usize),
    interpolation: Interpolation,
) -> Result<Image> {
    let options = DirectoryOptions {
        color_mode,
        target_size,
        interpolation,
        ..DirectoryOptions::default()
    };
    load_listed_image(path, &options)
}

/// [`load_image`] for a picture (PNG, JPEG, BMP, PPM, TIFF).
fn load_picture(
    path: &Path,
    color_mode: ColorMode,
    target_size: (usize, usize),
    interpolation: Interpolation,
) -> Result<Image> {
    let decoded = decode_image(path)?;
    let (width, height) = (decoded.width() as usize, decoded.height() as usize);
    let pixels = to_color_mode(decoded, color_mode);
    let c = color_mode.channels();
    let (th, tw) = target_size;
    let pixels = if (height, width) == (th, tw) {
        pixels
    } else {
        match interpolation {
            Interpolation::Nearest => resize_nearest_pil(&pixels, height, width, c, th, tw),
            Interpolation::Bilinear => resize_filter(
                pixels,
                height,
                width,
                c,
                th,
                tw,
                image::imageops::FilterType::Triangle,
            ),
            Interpolation::Bicubic => resize_filter(
                pixels,
                height,
                width,
                c,
                th,
                tw,
                image::imageops::FilterType::CatmullRom,
            ),
        }
    };
    Ok(Image {
        height: th,
        width: tw,
        channels: c,
        data: pixels.into_iter().map(f32::from).collect(),
    })
}

/// Reads and decodes one image file, refusing what is not a whole picture of at least 1×1
/// pixel (see [`load_image`]).
fn decode_image(path: &Path) -> Result<DynamicImage> {
    let bad = |expected: &str, found: String| DataError::BadImage {
        path: path.to_path_buf(),
        expected: expected.to_string(),
        found,
    };
    let len = crate::error::regular_file(path)?.len();
    if len == 0 {
        return Err(bad("an image file", "an empty file (0 bytes)".to_string()));
    }
    if len > MAX_IMAGE_FILE_BYTES {
        return Err(bad(
            "an image file of at most 512 MiB",
            format!("{len} bytes"),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes.as_slice()))
        .with_guessed_format()
        .map_err(|e| DataError::io(path, e))?;
    if reader.format() == Some(image::ImageFormat::Jpeg) {
        // The decoder fills a cut-off JPEG with grey and says nothing; the markers tell.
        jpeg_end(&bytes).map_err(|found| {
            bad(
                "a complete JPEG, ending with its end-of-image marker FF D9",
                format!("{found} (image file is truncated)"),
            )
        })?;
    }
    let decoded = reader.decode().map_err(|e| {
        bad(
            "a readable PNG, JPEG, BMP, PPM or TIFF image",
            e.to_string(),
        )
    })?;
    if decoded.width() == 0 || decoded.height() == 0 {
        return Err(bad(
            "an image of at least 1×1 pixel",
            format!("{}×{} pixels", decoded.width(), decoded.height()),
        ));
    }
    Ok(decoded)
}

/// Finds the end of a JPEG stream by walking its markers, or says where it stops short.
///
/// A JPEG is a sequence of markers `FF xx`: start of image `FF D8`; segments `FF xx` followed
/// by a 2-byte big-endian length (that counts itself); after a start-of-scan segment
/// (`FF DA`) the entropy-coded data, in which `FF` only appears as `FF 00` (a stuffed zero)
/// or `FF D0`–`FF D7` (restart markers), up to the next marker; and end of image `FF D9`.
/// A file cut anywhere before `FF D9` is truncated. Bytes after `FF D9` are ignored, as PIL
/// and libjpeg ignore them. Returns the offset just past `FF D9`.
fn jpeg_end(bytes: &[u8]) -> std::result::Result<usize, String> {
    let cut = |at: usize| format!("a file that ends after {at} bytes, inside the stream");
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err("no start-of-image marker FF D8".to_string());
    }
    let mut i = 2;
    loop {
        // Skip to the next marker; `FF` fill bytes may precede its code.
        while i < bytes.len() && bytes[i] != 0xFF {
            i += 1;
        }
        while i < bytes.len() && bytes[i] == 0xFF {
            i += 1;
        }
        let Some(&code) = bytes.get(i) else {
            return Err(cut(bytes.len()));
        };
        i += 1;
        match code {
            0xD9 => return Ok(i),
            // Markers without a segment: restarts, TEM, and a stray stuffed zero.
            0x00 | 0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let Some(length) = bytes.get(i..i + 2) else {
            return Err(cut(bytes.len()));
        };
        let length = u16::from_be_bytes([length[0], length[1]]) as usize;
        if length < 2 {
            return Err(format!("a segment of length {length} at byte {i}"));
        }
        i += length;
        if i > bytes.len() {
            return Err(cut(bytes.len()));
        }
        if code == 0xDA {
            // Entropy-coded data: runs until an `FF` that is not `FF 00` nor a restart.
            loop {
                let Some(ff) = bytes[i..].iter().position(|&b| b == 0xFF) else {
                    return Err(cut(bytes.len()));
                };
                i += ff;
                match bytes.get(i + 1) {
                    None => return Err(cut(bytes.len())),
                    Some(0x00 | 0xD0..=0xD7) => i += 2,
                    Some(_) => break,
                }
            }
        }
    }
}

/// PIL's `convert("RGB" | "L" | "RGBA")` of the decoded image, as bytes `(H, W, C)`.
fn to_color_mode(decoded: DynamicImage, mode: ColorMode) -> Vec<u8> {
    match (mode, decoded) {
        (ColorMode::Grayscale, DynamicImage::ImageLuma8(g)) => g.into_raw(),
        (ColorMode::Grayscale, DynamicImage::ImageLumaA8(ga)) => {
            ga.into_raw().chunks(2).map(|p| p[0]).collect()
        }
        (ColorMode::Grayscale, other) => other
            .to_rgb8()
            .into_raw()
            .chunks(3)
            // PIL's L24: ITU-R 601-2 luma in 16-bit fixed point, rounded.
            .map(|p| {
                ((p[0] as u32 * 19595 + p[1] as u32 * 38470 + p[2] as u32 * 7471 + 0x8000) >> 16)
                    as u8
            })
            .collect(),
        (ColorMode::Rgb, DynamicImage::ImageLuma8(g)) => {
            g.into_raw().iter().flat_map(|&l| [l, l, l]).collect()
        }
        (ColorMode::Rgb, DynamicImage::ImageLumaA8(ga)) => ga
            .into_raw()
            .chunks(2)
            .flat_map(|p| [p[0], p[0], p[0]])
            .collect(),
        (ColorMode::Rgb, other) => other.into_rgb8().into_raw(),
        (ColorMode::Rgba, DynamicImage::ImageLuma8(g)) => {
            g.into_raw().iter().flat_map(|&l| [l, l, l, 255]).collect()
        }
        (ColorMode::Rgba, DynamicImage::ImageLumaA8(ga)) => ga
            .into_raw()
            .chunks(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        (ColorMode::Rgba, other) => other.into_rgba8().into_raw(),
    }
}

/// PIL's `resize(NEAREST)` (`ImagingScaleAffine`): source column `⌊x₀⌋` with `x₀ = s/2`, then
/// `x₀ += s` per output column, `s = W_in / W_out` (the running sum, as PIL does); rows alike.
/// For bytes (pictures) and floats (FITS images) alike.
pub(crate) fn resize_nearest_pil<T: Copy>(
    pixels: &[T],
    h: usize,
    w: usize,
    c: usize,
    th: usize,
    tw: usize,
) -> Vec<T> {
    let table = |input: usize, output: usize| -> Vec<usize> {
        let step = input as f64 / output as f64;
        let mut pos = step * 0.5;
        (0..output)
            .map(|_| {
                let i = (pos as usize).min(input - 1);
                pos += step;
                i
            })
            .collect()
    };
    let (rows, cols) = (table(h, th), table(w, tw));
    let mut out = Vec::with_capacity(th * tw * c); // (TH, TW, C)
    for &r in &rows {
        for &col in &cols {
            out.extend_from_slice(&pixels[(r * w + col) * c..(r * w + col + 1) * c]);
        }
    }
    out
}

/// Resize with one of the `image` crate's filters.
fn resize_filter(
    pixels: Vec<u8>,
    h: usize,
    w: usize,
    c: usize,
    th: usize,
    tw: usize,
    filter: image::imageops::FilterType,
) -> Vec<u8> {
    let (w32, h32, tw32, th32) = (w as u32, h as u32, tw as u32, th as u32);
    let dynamic = match c {
        1 => image::GrayImage::from_raw(w32, h32, pixels).map(DynamicImage::ImageLuma8),
        4 => image::RgbaImage::from_raw(w32, h32, pixels).map(DynamicImage::ImageRgba8),
        _ => image::RgbImage::from_raw(w32, h32, pixels).map(DynamicImage::ImageRgb8),
    }
    .expect("the buffer holds h·w·c bytes by construction");
    let resized = dynamic.resize_exact(tw32, th32, filter);
    match c {
        1 => resized.into_luma8().into_raw(),
        4 => resized.into_rgba8().into_raw(),
        _ => resized.into_rgb8().into_raw(),
    }
}

impl DirectoryIterator {
    /// Batches per epoch: `ceil(n / batch_size)`.
    pub fn len(&self) -> usize {
        self.batches.len()
    }
    /// Whether there are no batches (no images found).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The number of images (Keras's `samples`).
    pub fn samples(&self) -> usize {
        self.listing.filenames.len()
    }
    /// A fresh order for `epoch`; the background thread starts on its first batch.
    pub fn on_epoch_start(&mut self, epoch: usize) {
        self.batches.on_epoch_start(epoch)
    }
    /// Batch `i` as `(x, y)`.
    ///
    /// # Errors
    /// An unreadable image (with [`OnBadImage::Fail`]), `class_mode` None, `i ≥ len()`.
    pub fn batch(&mut self, i: usize) -> Result<(Tensor, Tensor)> {
        let batch = self.batches.batch(i)?;
        let y = batch.y.ok_or_else(|| {
            invalid(
                "DirectoryIterator.batch",
                "labels (a class_mode other than None)",
                "class_mode None".to_string(),
            )
        })?;
        Ok((batch.x, y))
    }
    /// Batch `i`'s images only.
    ///
    /// # Errors
    /// As [`Self::batch`], except for the class mode.
    pub fn batch_x(&mut self, i: usize) -> Result<Tensor> {
        Ok(self.batches.batch(i)?.x)
    }
    /// Files named like images that were left out (not regular files, or empty), and why.
    pub fn skipped(&self) -> &[SkippedFile] {
        &self.listing.skipped
    }
    /// Paths relative to the directory, `/`-separated, in sample order.
    pub fn filenames(&self) -> &[String] {
        &self.listing.filenames
    }
    /// Full paths, in sample order.
    pub fn filepaths(&self) -> Vec<PathBuf> {
        self.listing
            .filenames
            .iter()
            .map(|f| self.directory.join(f))
            .collect()
    }
    /// The class index of each sample.
    pub fn classes(&self) -> &[usize] {
        &self.listing.classes
    }
    /// Class name → index.
    pub fn class_indices(&self) -> BTreeMap<String, usize> {
        self.listing
            .class_names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect()
    }
    /// Class names in index order.
    pub fn class_names(&self) -> &[String] {
        &self.listing.class_names
    }
    /// The class mode the batches' labels follow.
    pub fn class_mode(&self) -> ClassMode {
        self.class_mode
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree with JPEG and PNG files, nested folders, upper-case extensions, a non-image
    /// file, a file that only looks like an image, and an empty class:
    ///
    /// ```text
    /// root/cats/{c0.jpg, c1.png, c2.JPEG, notes.txt, sub/deep.PNG, sub-b/x.jpg}
    /// root/dogs/{d0.jpg, d1.jpg, d2.bmp, d3.jpg}
    /// root/empty/
    /// ```
    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for folder in ["cats/sub", "cats/sub-b", "dogs", "empty"] {
            std::fs::create_dir_all(root.join(folder)).expect("mkdir");
        }
        let picture = |seed: u8| {
            image::RgbImage::from_fn(12, 8, |x, y| {
                image::Rgb([seed.wrapping_mul(40), (x * 20) as u8, (y * 30) as u8])
            })
        };
        let save = |rel: &str, seed: u8, format: image::ImageFormat| {
            picture(seed)
                .save_with_format(root.join(rel), format)
                .expect("save")
        };
        save("cats/c0.jpg", 1, image::ImageFormat::Jpeg);
        save("cats/c1.png", 2, image::ImageFormat::Png);
        save("cats/c2.JPEG", 3, image::ImageFormat::Jpeg);
        save("cats/sub/deep.PNG", 4, image::ImageFormat::Png);
        save("cats/sub-b/x.jpg", 5, image::ImageFormat::Jpeg);
        save("dogs/d0.jpg", 6, image::ImageFormat::Jpeg);
        save("dogs/d1.jpg", 7, image::ImageFormat::Jpeg);
        save("dogs/d2.bmp", 8, image::ImageFormat::Bmp);
        save("dogs/d3.jpg", 9, image::ImageFormat::Jpeg);
        std::fs::write(root.join("cats/notes.txt"), "not an image").expect("write");
        dir
    }

    #[test]
    fn lists_like_keras() {
        let dir = tree();
        let mut log = Vec::new();
        let it = ImageDataGenerator::default()
            .flow_from_directory_with_log(dir.path(), DirectoryOptions::default(), &mut log)
            .expect("flow");
        assert_eq!(
            String::from_utf8(log).expect("utf8"),
            "Found 9 images belonging to 3 classes.\n"
        );
        // Folders sorted by whole path ("cats" < "cats/sub" < "cats/sub-b"), files by name; no .txt.
        assert_eq!(
            it.filenames(),
            &[
                "cats/c0.jpg",
                "cats/c1.png",
                "cats/c2.JPEG",
                "cats/sub/deep.PNG",
                "cats/sub-b/x.jpg",
                "dogs/d0.jpg",
                "dogs/d1.jpg",
                "dogs/d2.bmp",
                "dogs/d3.jpg"
            ]
        );
        assert_eq!(it.classes(), &[0, 0, 0, 0, 0, 1, 1, 1, 1]);
        let indices = it.class_indices();
        assert_eq!(
            (indices["cats"], indices["dogs"], indices["empty"]),
            (0, 1, 2)
        );
        assert_eq!(it.len(), 1);
    }

    #[test]
    fn batches_have_keras_shapes_and_labels() {
        let dir = tree();
        let opts = DirectoryOptions::default()
            .target_size(6, 5)
            .batch_size(4)
            .shuffle(false)
            .prefetch(2);
        let mut sink = Vec::new();
        let gen = ImageDataGenerator::default().rescale(1.0 / 255.0);
        let mut it = gen
            .flow_from_directory_with_log(dir.path(), opts.clone(), &mut sink)
            .expect("flow");
        let (x, y) = it.batch(0).expect("batch");
        assert_eq!(x.shape(), &[4, 6, 5, 3]);
        assert_eq!(y.shape(), &[4, 3]);
        assert!(x.to_vec().unwrap().iter().all(|v| (0.0..=1.0).contains(v)));
        let (x, y) = it.batch(2).expect("last batch");
        assert_eq!(
            (x.shape()[0], y.to_vec().unwrap()),
            (1, vec![0.0, 1.0, 0.0])
        );
        for (mode, channels) in [(ColorMode::Grayscale, 1), (ColorMode::Rgba, 4)] {
            let mut it = gen
                .flow_from_directory_with_log(
                    dir.path(),
                    opts.clone().color_mode(mode).class_mode(ClassMode::Sparse),
                    &mut sink,
                )
                .expect("flow");
            let (x, y) = it.batch(1).expect("batch");
            assert_eq!(x.shape(), &[4, 6, 5, channels]);
            assert_eq!(y.to_vec().unwrap(), vec![0.0, 1.0, 1.0, 1.0]);
        }
        for interpolation in [Interpolation::Bilinear, Interpolation::Bicubic] {
            let mut it = gen
                .flow_from_directory_with_log(
                    dir.path(),
                    opts.clone().interpolation(interpolation),
                    &mut sink,
                )
                .expect("flow");
            assert_eq!(it.batch(0).expect("batch").0.shape(), &[4, 6, 5, 3]);
        }
        let mut none = gen
            .flow_from_directory_with_log(dir.path(), opts.class_mode(ClassMode::None), &mut sink)
            .expect("flow");
        assert!(none.batch(0).is_err());
        assert_eq!(none.batch_x(0).expect("x").shape(), &[4, 6, 5, 3]);
    }

    #[test]
    fn subsets_split_each_class() {
        let dir = tree();
        let gen = ImageDataGenerator::default().validation_split(0.5);
        let mut sink = Vec::new();
        let val = gen
            .flow_from_directory_with_log(
                dir.path(),
                DirectoryOptions::default().subset(Subset::Validation),
                &mut sink,
            )
            .expect("val");
        let train = gen
            .flow_from_directory_with_log(
                dir.path(),
                DirectoryOptions::default().subset(Subset::Training),
                &mut sink,
            )
            .expect("train");
        // cats: 5 files → int(2.5) = 2 validation; dogs: 4 → 2.
        assert_eq!(
            val.filenames(),
            &["cats/c0.jpg", "cats/c1.png", "dogs/d0.jpg", "dogs/d1.jpg"]
        );
        assert_eq!(
            train.filenames(),
            &[
                "cats/c2.JPEG",
                "cats/sub/deep.PNG",
                "cats/sub-b/x.jpg",
                "dogs/d2.bmp",
                "dogs/d3.jpg"
            ]
        );
        assert_eq!(
            String::from_utf8(sink).expect("utf8"),
            "Found 4 images belonging to 3 classes.\nFound 5 images belonging to 3 classes.\n"
        );
    }

    #[test]
    fn same_seed_same_augmented_batches() {
        let dir = tree();
        let gen = ImageDataGenerator::default()
            .rotation_range(30.0)
            .zoom_range(0.2)
            .horizontal_flip(true);
        let run = |seed: u64, prefetch: usize| {
            let mut sink = Vec::new();
            let opts = DirectoryOptions::default()
                .target_size(8, 8)
                .batch_size(4)
                .seed(seed)
                .prefetch(prefetch);
            let mut it = gen
                .flow_from_directory_with_log(dir.path(), opts, &mut sink)
                .expect("flow");
            let mut all = Vec::new();
            for epoch in 0..2 {
                it.on_epoch_start(epoch);
                for i in 0..it.len() {
                    all.push(it.batch(i).expect("batch").0.to_vec());
                }
            }
            all
        };
        assert_eq!(run(1, 3), run(1, 0));
        assert_ne!(run(1, 3), run(2, 3));
    }

    #[test]
    fn unreadable_images_fail_or_are_skipped() {
        let dir = tree();
        std::fs::write(
            dir.path().join("dogs/broken.jpg"),
            b"\xff\xd8 this is not a jpeg",
        )
        .expect("write");
        let mut sink = Vec::new();
        let opts = DirectoryOptions::default()
            .target_size(4, 4)
            .batch_size(20)
            .shuffle(false);
        let gen = ImageDataGenerator::default();
        let mut failing = gen
            .flow_from_directory_with_log(dir.path(), opts.clone(), &mut sink)
            .expect("flow");
        let err = failing.batch(0).unwrap_err();
        assert!(err.to_string().contains("broken.jpg"), "{err}");
        let mut skipping = gen
            .flow_from_directory_with_log(
                dir.path(),
                opts.on_bad_image(OnBadImage::Skip),
                &mut sink,
            )
            .expect("flow");
        let (x, y) = skipping.batch(0).expect("batch");
        assert_eq!((x.shape()[0], y.shape()[0]), (9, 9));
    }

    /// A real JPEG of `w`×`h` with enough detail to take a few kilobytes.
    fn jpeg_bytes(w: u32, h: u32) -> Vec<u8> {
        let picture = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 7 + y * 3) as u8, (x * y % 251) as u8, (x ^ y) as u8])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        picture
            .write_to(&mut out, image::ImageFormat::Jpeg)
            .expect("encode");
        out.into_inner()
    }

    #[test]
    fn jpeg_end_walks_the_markers() {
        let whole = jpeg_bytes(40, 30);
        assert_eq!(jpeg_end(&whole), Ok(whole.len()));
        // Bytes after the end are ignored, as PIL ignores them.
        let padded = [whole.clone(), vec![0, 1, 0xFF, 0xD8]].concat();
        assert_eq!(jpeg_end(&padded), Ok(whole.len()));
        for cut in [2, 3, 20, whole.len() / 2, whole.len() - 2, whole.len() - 1] {
            let message = jpeg_end(&whole[..cut]).expect_err("cut short");
            assert!(message.contains(&format!("after {cut} bytes")), "{message}");
        }
        assert!(jpeg_end(b"GIF89a").is_err());
    }

    /// A file put among good pictures, and what must become of it.
    struct HostileFileCase {
        name: &'static str,
        bytes: Vec<u8>,
        needle: &'static str,
    }

    #[test]
    fn cut_and_empty_pictures_are_bad_images_naming_the_file() {
        let jpeg = jpeg_bytes(64, 48);
        let mut png = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8, y as u8, (x * y) as u8]))
            .write_to(&mut png, image::ImageFormat::Png)
            .expect("encode");
        let png = png.into_inner();
        let cases = [
            HostileFileCase {
                name: "half.jpg",
                bytes: jpeg[..jpeg.len() / 2].to_vec(),
                needle: "image file is truncated",
            },
            HostileFileCase {
                name: "no_end_marker.jpg",
                bytes: jpeg[..jpeg.len() - 2].to_vec(),
                needle: "image file is truncated",
            },
            HostileFileCase {
                name: "half.png",
                bytes: png[..png.len() / 2].to_vec(),
                needle: "a readable PNG, JPEG",
            },
            HostileFileCase {
                name: "zero.jpg",
                bytes: b"P6 0 0\n255\n".to_vec(),
                needle: "0×0 pixels",
            },
        ];
        for case in cases {
            let dir = tree();
            let path = dir.path().join("dogs").join(case.name);
            std::fs::write(&path, &case.bytes).expect("write");
            let err = load_image(&path, ColorMode::Rgb, (8, 8), Interpolation::Nearest)
                .expect_err(case.name);
            assert!(matches!(err, DataError::BadImage { .. }), "{err:?}");
            let message = err.to_string();
            assert!(message.contains(case.name), "{message}");
            assert!(message.contains(case.needle), "{message}");
            // In a folder: an error by default, left out with OnBadImage::Skip.
            let opts = DirectoryOptions::default()
                .target_size(8, 8)
                .batch_size(20)
                .shuffle(false);
            let mut sink = Vec::new();
            let mut failing = ImageDataGenerator::default()
                .flow_from_directory_with_log(dir.path(), opts.clone(), &mut sink)
                .expect("flow");
            let message = failing.batch(0).expect_err(case.name).to_string();
            assert!(message.contains(case.name), "{message}");
            let mut skipping = ImageDataGenerator::default()
                .flow_from_directory_with_log(
                    dir.path(),
                    opts.on_bad_image(OnBadImage::Skip),
                    &mut sink,
                )
                .expect("flow");
            assert_eq!(skipping.batch(0).expect("batch").0.shape()[0], 9);
        }
    }

    #[cfg(unix)]
    #[test]
    fn pipes_and_empty_files_are_left_out_unopened() {
        let dir = tree();
        let fifo = dir.path().join("dogs/x.jpg");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
        std::fs::write(dir.path().join("cats/empty.png"), b"").expect("write");
        std::os::unix::fs::symlink("/nonexistent/picture.jpg", dir.path().join("cats/gone.jpg"))
            .expect("symlink");
        let mut sink = Vec::new();
        let mut it = ImageDataGenerator::default()
            .flow_from_directory_with_log(
                dir.path(),
                DirectoryOptions::default().target_size(8, 8).batch_size(20),
                &mut sink,
            )
            .expect("flow");
        assert_eq!(it.samples(), 9);
        let skipped: Vec<(&str, &str)> = it
            .skipped()
            .iter()
            .map(|s| (s.filename.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                ("cats/empty.png", "an empty file (0 bytes)"),
                (
                    "cats/gone.jpg",
                    "a broken symbolic link or an unreadable entry"
                ),
                ("dogs/x.jpg", "a named pipe (FIFO), not a regular file"),
            ]
        );
        // Every batch reads: the pipe is never opened (opening it would wait forever).
        assert_eq!(it.batch(0).expect("batch").0.shape()[0], 9);
        let err =
            load_image(&fifo, ColorMode::Rgb, (8, 8), Interpolation::Nearest).expect_err("a pipe");
        assert!(matches!(err, DataError::NotAFile { .. }), "{err:?}");
    }

    #[test]
    fn folders_without_classes_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.jpg"), b"x").expect("write");
        let mut sink = Vec::new();
        let gen = ImageDataGenerator::default();
        let err = gen
            .flow_from_directory_with_log(dir.path(), DirectoryOptions::default(), &mut sink)
            .err()
            .expect("error");
        assert!(err.to_string().contains("one subfolder per class"), "{err}");
        let err = gen
            .flow_from_directory_with_log(
                dir.path().join("missing"),
                DirectoryOptions::default(),
                &mut sink,
            )
            .err()
            .expect("error");
        assert!(err.to_string().contains("missing"), "{err}");
        let err = gen
            .flow_from_directory_with_log(
                dir.path(),
                DirectoryOptions::default().classes(&["cats"]),
                &mut sink,
            )
            .err()
            .expect("error");
        assert!(err.to_string().contains("cats"), "{err}");
        assert!(sink.is_empty());
    }

    #[test]
    fn explicit_classes_keep_their_order() {
        let dir = tree();
        let mut sink = Vec::new();
        let it = ImageDataGenerator::default()
            .flow_from_directory_with_log(
                dir.path(),
                DirectoryOptions::default().classes(&["dogs", "cats"]),
                &mut sink,
            )
            .expect("flow");
        assert_eq!(it.class_names(), &["dogs", "cats"]);
        assert_eq!(it.classes()[0], 0);
        assert_eq!(it.filenames()[0], "dogs/d0.jpg");
    }

    #[test]
    fn pil_nearest_resize_picks_centres() {
        // 4 → 2: centres at 1.0 and 3.0; 2 → 4: 0.25, 0.75, 1.25, 1.75 → 0, 0, 1, 1.
        assert_eq!(resize_nearest_pil(&[0, 1, 2, 3], 1, 4, 1, 1, 2), vec![1, 3]);
        assert_eq!(resize_nearest_pil(&[5, 6], 1, 2, 1, 1, 4), vec![5, 5, 6, 6]);
    }

    #[test]
    fn grey_conversion_is_pils() {
        let img = DynamicImage::ImageRgb8(
            image::RgbImage::from_raw(2, 1, vec![255, 0, 0, 10, 200, 30]).expect("raw"),
        );
        // PIL: Image.new("RGB", ...).convert("L") gives 76 for pure red, 124 for (10, 200, 30).
        assert_eq!(to_color_mode(img, ColorMode::Grayscale), vec![76, 124]);
    }
}
