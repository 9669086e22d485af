//! Keras's `ImageDataGenerator`: random augmentation, normalisation and batch iterators over
//! arrays ([`ImageDataGenerator::flow`]) and image folders ([`ImageDataGenerator::flow_from_directory`]).
//!
//! ```text
//! datagen = ImageDataGenerator(rescale=1./255,            let datagen = ImageDataGenerator::default()
//!     rotation_range=40, width_shift_range=0.2,               .rescale(1.0 / 255.0).rotation_range(40.0)
//!     height_shift_range=0.2, shear_range=0.2,                .width_shift_range(ShiftRange::Float(0.2))
//!     zoom_range=0.2, horizontal_flip=True)                   .height_shift_range(ShiftRange::Float(0.2))
//!                                                             .shear_range(0.2).zoom_range(0.2)
//!                                                             .horizontal_flip(true);
//! train = datagen.flow_from_directory(train_dir,          let train = datagen.flow_from_directory(&train_dir,
//!     target_size=(150, 150), batch_size=20,                  DirectoryOptions::default().target_size(150, 150)
//!     class_mode='binary')                                        .batch_size(20).class_mode(ClassMode::Binary))?;
//! ```
//!
//! Every sample goes through the same three steps as in Keras (`docs/keras-semantics.md` §8):
//! 1. [`ImageDataGenerator::get_random_transform`] draws the random parameters, in Keras's order;
//! 2. [`ImageDataGenerator::apply_transform`] applies them: one affine resample (rotation, shift,
//!    shear, zoom; `transform.rs`), channel shift, flips, brightness;
//! 3. [`ImageDataGenerator::standardize`]: `preprocessing_function`, `rescale`, sample-wise then
//!    feature-wise centring and scaling (`standardize.rs`, with [`ImageDataGenerator::fit`]).
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | the generator's options, [`TransformParams`] and the random draws |
//! | `transform.rs` | the affine resample exactly as `scipy.ndimage.affine_transform` (order 1), flips, channel and brightness shifts |
//! | `standardize.rs` | `standardize` and `fit` |
//! | `array_iterator.rs` | [`ArrayIterator`], what `flow(x, y)` returns |
//! | `directory_iterator.rs` | [`DirectoryIterator`]: class discovery, file listing, decoding, resizing |
//! | `image_dataset.rs` | [`image_dataset_from_directory`]: class folders as batches, no generator, Keras's subsets |
//! | `fits_images.rs` | FITS files in class folders: bands to channels ([`load_fits_image`]) |
//! | `resize_float.rs` | bilinear and bicubic resizing of float images, unclamped ([`resize_float`]) |
//! | `prefetch.rs` | batches built on background threads, their randomness fixed by (seed, epoch, batch) |
//!
//! # Randomness
//! Keras draws every sample's parameters from NumPy's global generator, one sample after the
//! other. astrograd builds batches on several threads, so each sample gets its own
//! [`Rng`] seeded from `(seed, epoch, batch index, position in the batch)`: the same seed gives
//! the same batches whatever the thread timing. Within a sample, the parameters are drawn in
//! exactly Keras's order (see [`ImageDataGenerator::get_random_transform`]); the numbers differ
//! from NumPy's (another generator), their distributions do not.
//!
//! # Shapes
//! An image is `(H, W, C)` ([`Image`]), a batch `(B, H, W, C)`, channels last as in Keras.
use std::sync::Arc;

use astrograd_tensor::random::Rng;

use crate::error::{DataError, Result};

mod array_iterator;
mod directory_iterator;
mod fits_images;
mod image_dataset;
mod prefetch;
mod resize_float;
mod standardize;
mod transform;

pub use array_iterator::{ArrayIterator, FlowOptions};
pub use directory_iterator::{
    list_directory, load_image, ClassMode, ColorMode, DirectoryIterator, DirectoryListing,
    DirectoryOptions, Interpolation, OnBadImage, SkippedFile, MAX_IMAGE_FILE_BYTES,
    WHITE_LIST_FORMATS,
};
pub use fits_images::load_fits_image;
pub use image_dataset::{
    image_dataset_from_directory, ImageDataset, ImageDatasetOptions, LabelMode,
};
pub use resize_float::resize_float;
pub use standardize::FeatureStats;
pub use transform::{affine_transform_matrix, apply_affine_transform};

/// One image, `(H, W, C)` row-major: pixel `(r, c)` channel `k` is `data[(r·W + c)·C + k]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// Rows (H).
    pub height: usize,
    /// Columns (W).
    pub width: usize,
    /// Channels (C): 1 grey, 3 RGB, 4 RGBA.
    pub channels: usize,
    /// The `H·W·C` values, row-major.
    pub data: Vec<f32>,
}

impl Image {
    /// An image from its pixels.
    ///
    /// # Errors
    /// [`DataError::Invalid`] if `data.len() != height·width·channels`.
    pub fn new(height: usize, width: usize, channels: usize, data: Vec<f32>) -> Result<Image> {
        if data.len() != height * width * channels {
            return Err(DataError::Invalid {
                op: "Image::new",
                expected: format!(
                    "{height}·{width}·{channels} = {} values",
                    height * width * channels
                ),
                found: format!("{} values", data.len()),
            });
        }
        Ok(Image {
            height,
            width,
            channels,
            data,
        })
    }

    /// `(H, W, C)`.
    pub fn shape(&self) -> [usize; 3] {
        [self.height, self.width, self.channels]
    }
}

/// `width_shift_range` / `height_shift_range`, in the three forms Keras accepts.
#[derive(Clone, Debug, PartialEq)]
pub enum ShiftRange {
    /// A float `f`: `U(−f, f)`, times the image side when `f < 1` (a float ≥ 1 is pixels).
    Float(f64),
    /// An int `r`: an integer of `0..r` (r excluded, NumPy's `choice(r)`) times ±1, in pixels.
    Int(usize),
    /// A list: one of its values times ±1; times the image side when every value is < 1.
    List(Vec<f64>),
}

impl ShiftRange {
    /// Keras's `if self.height_shift_range:` — 0, 0.0 and `[]` mean "no shift, no draw".
    fn is_set(&self) -> bool {
        match self {
            ShiftRange::Float(f) => *f != 0.0,
            ShiftRange::Int(r) => *r != 0,
            ShiftRange::List(values) => !values.is_empty(),
        }
    }

    /// Keras's draw: `choice(range)·choice([−1, 1])` for ints and lists, `U(−f, f)` for a
    /// float, then `·side` if `max(range) < 1`.
    fn draw(&self, side: usize, rng: &mut Rng) -> f64 {
        let (shift, max) = match self {
            ShiftRange::Float(f) => (uniform(rng, -f, *f), *f),
            ShiftRange::Int(r) => {
                let magnitude = rng.below(*r) as f64;
                (magnitude * plus_or_minus_one(rng), *r as f64)
            }
            ShiftRange::List(values) => {
                let magnitude = values[rng.below(values.len())];
                let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (magnitude * plus_or_minus_one(rng), max)
            }
        };
        if max < 1.0 {
            shift * side as f64
        } else {
            shift
        }
    }
}

/// How points outside the input are filled (scipy.ndimage's modes, as Keras passes them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillMode {
    /// `aaaa|abcd|dddd`: the nearest edge pixel.
    Nearest,
    /// `kkkk|abcd|kkkk`: `cval` (any coordinate outside `[0, n−1]` gives `cval`).
    Constant,
    /// `dcba|abcd|dcba`: mirrored about the edge of the last pixel.
    Reflect,
    /// `abcd|abcd|abcd`, with scipy's non-grid period `n − 1` (the first and last pixel meet).
    Wrap,
}

/// The random parameters of one sample (Keras's `transform_parameters` dict).
#[derive(Clone, Debug, PartialEq)]
pub struct TransformParams {
    /// Rotation in degrees (counter-clockwise).
    pub theta: f64,
    /// Shift from `height_shift_range`, in pixels (it moves the image sideways: the axis swap).
    pub tx: f64,
    /// Shift from `width_shift_range`, in pixels (it moves the image up/down).
    pub ty: f64,
    /// Shear angle in degrees.
    pub shear: f64,
    /// The first zoom factor drawn from `zoom_range` (> 1 zooms out); it scales the axis
    /// that `tx` shifts.
    pub zx: f64,
    /// The second zoom factor; it scales the axis that `ty` shifts.
    pub zy: f64,
    /// Mirror left to right.
    pub flip_horizontal: bool,
    /// Mirror top to bottom.
    pub flip_vertical: bool,
    /// Added to every channel, then clipped to the image's min/max.
    pub channel_shift_intensity: Option<f64>,
    /// PIL `ImageEnhance.Brightness` factor.
    pub brightness: Option<f64>,
}

impl Default for TransformParams {
    /// The identity: no change to the image.
    fn default() -> Self {
        TransformParams {
            theta: 0.0,
            tx: 0.0,
            ty: 0.0,
            shear: 0.0,
            zx: 1.0,
            zy: 1.0,
            flip_horizontal: false,
            flip_vertical: false,
            channel_shift_intensity: None,
            brightness: None,
        }
    }
}

/// A function applied to every image before `rescale` (Keras's `preprocessing_function`).
pub type PreprocessingFunction = Arc<dyn Fn(&mut Image) + Send + Sync>;

/// Keras's `ImageDataGenerator`: set options with the builder methods, then [`Self::flow`] or
/// [`Self::flow_from_directory`]. Defaults are Keras's (nothing happens to the images).
#[derive(Clone)]
pub struct ImageDataGenerator {
    pub(crate) featurewise_center: bool,
    pub(crate) samplewise_center: bool,
    pub(crate) featurewise_std_normalization: bool,
    pub(crate) samplewise_std_normalization: bool,
    pub(crate) rotation_range: f64,
    pub(crate) width_shift_range: ShiftRange,
    pub(crate) height_shift_range: ShiftRange,
    pub(crate) brightness_range: Option<(f64, f64)>,
    pub(crate) shear_range: f64,
    pub(crate) zoom_range: (f64, f64),
    pub(crate) channel_shift_range: f64,
    pub(crate) fill_mode: FillMode,
    pub(crate) cval: f64,
    pub(crate) horizontal_flip: bool,
    pub(crate) vertical_flip: bool,
    pub(crate) rescale: Option<f64>,
    pub(crate) preprocessing_function: Option<PreprocessingFunction>,
    pub(crate) validation_split: f64,
    /// Per-channel mean and std from [`Self::fit`].
    pub(crate) stats: FeatureStats,
}

impl Default for ImageDataGenerator {
    fn default() -> Self {
        ImageDataGenerator {
            featurewise_center: false,
            samplewise_center: false,
            featurewise_std_normalization: false,
            samplewise_std_normalization: false,
            rotation_range: 0.0,
            width_shift_range: ShiftRange::Float(0.0),
            height_shift_range: ShiftRange::Float(0.0),
            brightness_range: None,
            shear_range: 0.0,
            zoom_range: (1.0, 1.0),
            channel_shift_range: 0.0,
            fill_mode: FillMode::Nearest,
            cval: 0.0,
            horizontal_flip: false,
            vertical_flip: false,
            rescale: None,
            preprocessing_function: None,
            validation_split: 0.0,
            stats: FeatureStats::default(),
        }
    }
}

impl std::fmt::Debug for ImageDataGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageDataGenerator")
            .field("featurewise_center", &self.featurewise_center)
            .field("samplewise_center", &self.samplewise_center)
            .field(
                "featurewise_std_normalization",
                &self.featurewise_std_normalization,
            )
            .field(
                "samplewise_std_normalization",
                &self.samplewise_std_normalization,
            )
            .field("rotation_range", &self.rotation_range)
            .field("width_shift_range", &self.width_shift_range)
            .field("height_shift_range", &self.height_shift_range)
            .field("brightness_range", &self.brightness_range)
            .field("shear_range", &self.shear_range)
            .field("zoom_range", &self.zoom_range)
            .field("channel_shift_range", &self.channel_shift_range)
            .field("fill_mode", &self.fill_mode)
            .field("cval", &self.cval)
            .field("horizontal_flip", &self.horizontal_flip)
            .field("vertical_flip", &self.vertical_flip)
            .field("rescale", &self.rescale)
            .field(
                "preprocessing_function",
                &self.preprocessing_function.is_some(),
            )
            .field("validation_split", &self.validation_split)
            .finish()
    }
}

/// The builder methods, one per Keras argument.
impl ImageDataGenerator {
    /// Subtract the data set's per-channel mean (needs [`Self::fit`]).
    pub fn featurewise_center(mut self, on: bool) -> Self {
        self.featurewise_center = on;
        self
    }
    /// Subtract each image's own mean.
    pub fn samplewise_center(mut self, on: bool) -> Self {
        self.samplewise_center = on;
        self
    }
    /// Divide by the data set's per-channel std (needs [`Self::fit`]); turns on
    /// `featurewise_center` too, as Keras does.
    pub fn featurewise_std_normalization(mut self, on: bool) -> Self {
        self.featurewise_std_normalization = on;
        self.featurewise_center |= on;
        self
    }
    /// Divide each image by its own std; turns on `samplewise_center` too, as Keras does.
    pub fn samplewise_std_normalization(mut self, on: bool) -> Self {
        self.samplewise_std_normalization = on;
        self.samplewise_center |= on;
        self
    }
    /// Rotations drawn from `U(−degrees, degrees)`.
    pub fn rotation_range(mut self, degrees: f64) -> Self {
        self.rotation_range = degrees;
        self
    }
    /// Keras's `width_shift_range` (it moves the image up/down: the axis swap,
    /// `docs/keras-semantics.md` §8).
    pub fn width_shift_range(mut self, range: ShiftRange) -> Self {
        self.width_shift_range = range;
        self
    }
    /// Keras's `height_shift_range` (it moves the image sideways).
    pub fn height_shift_range(mut self, range: ShiftRange) -> Self {
        self.height_shift_range = range;
        self
    }
    /// Brightness factors drawn from `U(low, high)` (PIL semantics: the image is quantised to
    /// uint8, see `transform.rs`).
    pub fn brightness_range(mut self, low: f64, high: f64) -> Self {
        self.brightness_range = Some((low, high));
        self
    }
    /// Shear angles drawn from `U(−degrees, degrees)`.
    pub fn shear_range(mut self, degrees: f64) -> Self {
        self.shear_range = degrees;
        self
    }
    /// A float `z`: zoom factors from `[1 − z, 1 + z]`.
    pub fn zoom_range(mut self, z: f64) -> Self {
        self.zoom_range = (1.0 - z, 1.0 + z);
        self
    }
    /// A pair: zoom factors from `[low, high]`.
    pub fn zoom_range_pair(mut self, low: f64, high: f64) -> Self {
        self.zoom_range = (low, high);
        self
    }
    /// Channel shifts drawn from `U(−intensity, intensity)`.
    pub fn channel_shift_range(mut self, intensity: f64) -> Self {
        self.channel_shift_range = intensity;
        self
    }
    /// How points outside the input are filled.
    pub fn fill_mode(mut self, mode: FillMode) -> Self {
        self.fill_mode = mode;
        self
    }
    /// The value of [`FillMode::Constant`].
    pub fn cval(mut self, value: f64) -> Self {
        self.cval = value;
        self
    }
    /// Flip half of the images left–right.
    pub fn horizontal_flip(mut self, on: bool) -> Self {
        self.horizontal_flip = on;
        self
    }
    /// Flip half of the images upside down.
    pub fn vertical_flip(mut self, on: bool) -> Self {
        self.vertical_flip = on;
        self
    }
    /// Multiply every pixel by `factor` after the transforms (`1.0 / 255.0` in the course).
    pub fn rescale(mut self, factor: f64) -> Self {
        self.rescale = Some(factor);
        self
    }
    /// Run `f` on every image first in `standardize` (after augmentation).
    pub fn preprocessing_function(
        mut self,
        f: impl Fn(&mut Image) + Send + Sync + 'static,
    ) -> Self {
        self.preprocessing_function = Some(Arc::new(f));
        self
    }
    /// The fraction held out for `subset = Validation` (the FIRST fraction of each class).
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.validation_split = fraction;
        self
    }

    /// The statistics [`Self::fit`] computed (per-channel mean and std), if any.
    pub fn feature_stats(&self) -> &FeatureStats {
        &self.stats
    }

    /// Checks the options as Keras's constructor does.
    ///
    /// # Errors
    /// [`DataError::Invalid`] for a `validation_split` outside (0, 1) (other than 0), a
    /// `brightness_range` with low > high, a list shift range with a non-finite value.
    pub fn validate(&self) -> Result<()> {
        const OP: &str = "ImageDataGenerator";
        let vs = self.validation_split;
        if vs != 0.0 && !(vs > 0.0 && vs < 1.0) {
            return Err(invalid(
                OP,
                "`validation_split` strictly between 0 and 1",
                format!("{vs}"),
            ));
        }
        if let Some((low, high)) = self.brightness_range {
            if !(low.is_finite() && high.is_finite() && low <= high) {
                return Err(invalid(
                    OP,
                    "`brightness_range` (low, high) with low ≤ high",
                    format!("({low}, {high})"),
                ));
            }
        }
        for (name, range) in [
            ("width_shift_range", &self.width_shift_range),
            ("height_shift_range", &self.height_shift_range),
        ] {
            if let ShiftRange::List(values) = range {
                if values.iter().any(|v| !v.is_finite()) {
                    return Err(invalid(
                        OP,
                        &format!("`{name}` of finite values"),
                        format!("{values:?}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Draws one sample's parameters, in Keras's order (`docs/keras-semantics.md` §8):
    /// 1. `theta = U(−rotation_range, rotation_range)` if set;
    /// 2. `tx` from `height_shift_range` (scaled by the image **height** if < 1);
    /// 3. `ty` from `width_shift_range` (scaled by the **width**);
    /// 4. `shear = U(−shear_range, shear_range)` if set;
    /// 5. `zx, zy = U(z0, z1)` each, unless both bounds are 1;
    /// 6. `flip_horizontal = random() < 0.5` (drawn even when the flip is off), 7. likewise vertical;
    /// 8. the channel shift if set; 9. the brightness if set.
    ///
    /// `shape` is the image's `(H, W, C)`.
    pub fn get_random_transform(&self, shape: [usize; 3], rng: &mut Rng) -> TransformParams {
        let [height, width, _] = shape;
        let mut p = TransformParams::default();
        if self.rotation_range != 0.0 {
            p.theta = uniform(rng, -self.rotation_range, self.rotation_range);
        }
        if self.height_shift_range.is_set() {
            p.tx = self.height_shift_range.draw(height, rng);
        }
        if self.width_shift_range.is_set() {
            p.ty = self.width_shift_range.draw(width, rng);
        }
        if self.shear_range != 0.0 {
            p.shear = uniform(rng, -self.shear_range, self.shear_range);
        }
        let (z0, z1) = self.zoom_range;
        if !(z0 == 1.0 && z1 == 1.0) {
            p.zx = uniform(rng, z0, z1);
            p.zy = uniform(rng, z0, z1);
        }
        p.flip_horizontal = rng.uniform_f64() < 0.5 && self.horizontal_flip;
        p.flip_vertical = rng.uniform_f64() < 0.5 && self.vertical_flip;
        if self.channel_shift_range != 0.0 {
            p.channel_shift_intensity = Some(uniform(
                rng,
                -self.channel_shift_range,
                self.channel_shift_range,
            ));
        }
        if let Some((low, high)) = self.brightness_range {
            p.brightness = Some(uniform(rng, low, high));
        }
        p
    }

    /// Applies `params` to `image` in Keras's order: the affine resample (only when some affine
    /// parameter is not the identity), channel shift, horizontal flip, vertical flip, brightness.
    ///
    /// # Errors
    /// [`DataError::Invalid`] for a brightness shift of an image with 2 channels (PIL has no
    /// such mode; Keras fails too).
    pub fn apply_transform(&self, image: &Image, params: &TransformParams) -> Result<Image> {
        let mut out = apply_affine_transform(image, params, self.fill_mode, self.cval);
        if let Some(intensity) = params.channel_shift_intensity {
            transform::apply_channel_shift(&mut out, intensity);
        }
        if params.flip_horizontal {
            transform::flip_horizontal(&mut out);
        }
        if params.flip_vertical {
            transform::flip_vertical(&mut out);
        }
        if let Some(brightness) = params.brightness {
            transform::apply_brightness_shift(&mut out, brightness)?;
        }
        Ok(out)
    }

    /// [`Self::get_random_transform`] then [`Self::apply_transform`].
    ///
    /// # Errors
    /// As [`Self::apply_transform`].
    pub fn random_transform(&self, image: &Image, rng: &mut Rng) -> Result<Image> {
        let params = self.get_random_transform(image.shape(), rng);
        self.apply_transform(image, &params)
    }

    /// The whole per-sample pipeline of Keras's iterators: random transform, then standardize.
    pub(crate) fn augment_and_standardize(&self, image: &Image, rng: &mut Rng) -> Result<Image> {
        let mut out = self.random_transform(image, rng)?;
        self.standardize(&mut out)?;
        Ok(out)
    }
}

/// NumPy's `uniform(low, high) = low + (high − low)·random()`.
fn uniform(rng: &mut Rng, low: f64, high: f64) -> f64 {
    low + (high - low) * rng.uniform_f64()
}

/// NumPy's `choice([−1, 1])`.
fn plus_or_minus_one(rng: &mut Rng) -> f64 {
    if rng.below(2) == 0 {
        -1.0
    } else {
        1.0
    }
}

pub(crate) fn invalid(op: &'static str, expected: &str, found: String) -> DataError {
    DataError::Invalid {
        op,
        expected: expected.to_string(),
        found,
    }
}

/// `subset=` of `flow` and `flow_from_directory`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subset {
    /// Everything after the first `validation_split` fraction.
    Training,
    /// The first `validation_split` fraction.
    Validation,
}

/// One batch: images `(B, H, W, C)` and, unless the class mode is `None` / `flow` got no `y`,
/// labels.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The images, `(B, H, W, C)`.
    pub x: astrograd_tensor::Tensor,
    /// The labels, or `None` when there are none.
    pub y: Option<astrograd_tensor::Tensor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator_with_everything() -> ImageDataGenerator {
        ImageDataGenerator::default()
            .rotation_range(40.0)
            .height_shift_range(ShiftRange::Float(0.1))
            .width_shift_range(ShiftRange::Int(3))
            .shear_range(0.2)
            .zoom_range(0.2)
            .horizontal_flip(true)
            .channel_shift_range(30.0)
            .brightness_range(0.5, 1.5)
    }

    /// Replays the generator by hand, one draw at a time, in the order
    /// `docs/keras-semantics.md` §8 lists.
    #[test]
    fn draws_follow_keras_order() {
        let gen = generator_with_everything();
        let mut rng = Rng::new(11);
        let p = gen.get_random_transform([50, 80, 3], &mut rng);
        let mut r = Rng::new(11);
        let theta = -40.0 + 80.0 * r.uniform_f64();
        let tx = (-0.1 + 0.2 * r.uniform_f64()) * 50.0;
        let magnitude = r.below(3) as f64;
        let ty = magnitude * if r.below(2) == 0 { -1.0 } else { 1.0 };
        let shear = -0.2 + 0.4 * r.uniform_f64();
        let zx = 0.8 + (1.2 - 0.8) * r.uniform_f64();
        let zy = 0.8 + (1.2 - 0.8) * r.uniform_f64();
        let flip_h = r.uniform_f64() < 0.5;
        let _flip_v = r.uniform_f64() < 0.5;
        let shift = -30.0 + 60.0 * r.uniform_f64();
        let brightness = 0.5 + 1.0 * r.uniform_f64();
        let expected = TransformParams {
            theta,
            tx,
            ty,
            shear,
            zx,
            zy,
            flip_horizontal: flip_h,
            flip_vertical: false,
            channel_shift_intensity: Some(shift),
            brightness: Some(brightness),
        };
        assert_eq!(p, expected);
        // Both generators are now at the same place in the stream.
        assert_eq!(rng.next_u64(), r.next_u64());
    }

    #[test]
    fn defaults_draw_only_the_two_flips() {
        let gen = ImageDataGenerator::default();
        let mut rng = Rng::new(5);
        let p = gen.get_random_transform([4, 4, 1], &mut rng);
        assert_eq!(p, TransformParams::default());
        let mut r = Rng::new(5);
        r.uniform_f64();
        r.uniform_f64();
        assert_eq!(rng.next_u64(), r.next_u64());
    }

    #[test]
    fn shift_ranges_in_their_three_forms() {
        let mut rng = Rng::new(1);
        for _ in 0..200 {
            let t = ShiftRange::Int(3).draw(100, &mut rng);
            assert!([-2.0, -1.0, 0.0, 1.0, 2.0].contains(&t), "{t}");
            let t = ShiftRange::List(vec![0.1, 0.25]).draw(40, &mut rng);
            assert!([-10.0, -4.0, 4.0, 10.0].contains(&t), "{t}");
            let t = ShiftRange::List(vec![2.0, 5.0]).draw(40, &mut rng);
            assert!([-5.0, -2.0, 2.0, 5.0].contains(&t), "{t}");
            let t = ShiftRange::Float(4.5).draw(40, &mut rng);
            assert!((-4.5..4.5).contains(&t));
            let t = ShiftRange::Float(0.5).draw(40, &mut rng);
            assert!((-20.0..20.0).contains(&t));
        }
        assert!(!ShiftRange::List(vec![]).is_set());
        assert!(!ShiftRange::Int(0).is_set());
        assert!(!ShiftRange::Float(0.0).is_set());
    }

    #[test]
    fn validate_rejects_bad_options() {
        for bad in [1.0, 1.5, -0.2] {
            let err = ImageDataGenerator::default()
                .validation_split(bad)
                .validate()
                .unwrap_err();
            assert!(err.to_string().contains("validation_split"), "{err}");
        }
        assert!(ImageDataGenerator::default()
            .validation_split(0.2)
            .validate()
            .is_ok());
        let err = ImageDataGenerator::default()
            .brightness_range(1.5, 0.5)
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("brightness_range"), "{err}");
        assert!(Image::new(2, 2, 3, vec![0.0; 11]).is_err());
    }

    #[test]
    fn std_normalization_turns_on_centering() {
        let gen = ImageDataGenerator::default()
            .featurewise_std_normalization(true)
            .samplewise_std_normalization(true);
        assert!(gen.featurewise_center && gen.samplewise_center);
    }
}

/// The Keras fixtures of `tools/keras_augmentation_fixtures.py`, shared by the parity tests.
#[cfg(test)]
pub(crate) mod fixtures {
    /// `data/tests/fixtures/keras_augmentation.json`, parsed.
    pub(crate) fn fixtures() -> serde_json::Value {
        let text = include_str!("../../tests/fixtures/keras_augmentation.json");
        serde_json::from_str(text).expect("keras_augmentation.json parses")
    }
}

#[cfg(test)]
mod random_stats_tests {
    use super::fixtures::fixtures;
    use super::*;

    fn generator_for(options: &serde_json::Value) -> ImageDataGenerator {
        let shift = |v: &serde_json::Value| -> ShiftRange {
            if let Some(list) = v.as_array() {
                ShiftRange::List(list.iter().map(|x| x.as_f64().expect("number")).collect())
            } else if v.is_u64() {
                ShiftRange::Int(v.as_u64().expect("int") as usize)
            } else {
                ShiftRange::Float(v.as_f64().expect("float"))
            }
        };
        let mut gen = ImageDataGenerator::default();
        for (key, v) in options.as_object().expect("options") {
            gen = match key.as_str() {
                "rotation_range" => gen.rotation_range(v.as_f64().expect("rotation")),
                "width_shift_range" => gen.width_shift_range(shift(v)),
                "height_shift_range" => gen.height_shift_range(shift(v)),
                "shear_range" => gen.shear_range(v.as_f64().expect("shear")),
                "zoom_range" => match v.as_array() {
                    Some(pair) => gen.zoom_range_pair(
                        pair[0].as_f64().expect("z0"),
                        pair[1].as_f64().expect("z1"),
                    ),
                    None => gen.zoom_range(v.as_f64().expect("zoom")),
                },
                "horizontal_flip" => gen.horizontal_flip(v.as_bool().expect("flip")),
                "vertical_flip" => gen.vertical_flip(v.as_bool().expect("flip")),
                "channel_shift_range" => gen.channel_shift_range(v.as_f64().expect("shift")),
                "brightness_range" => {
                    let pair = v.as_array().expect("pair");
                    gen.brightness_range(
                        pair[0].as_f64().expect("b0"),
                        pair[1].as_f64().expect("b1"),
                    )
                }
                other => panic!("unknown option {other}"),
            };
        }
        gen
    }

    /// 20000 draws of `ImageDataGenerator(**options).get_random_transform(shape)` (NumPy) against
    /// 20000 of ours: same support (min/max, distinct values of the discrete parameters), means
    /// and stds within sampling error, and "not drawn" in the same places.
    #[test]
    fn random_transform_statistics_match_keras() {
        let doc = fixtures();
        for case in doc["random_stats"].as_array().expect("random_stats") {
            let name = case["name"].as_str().expect("name");
            let gen = generator_for(&case["options"]);
            let shape: Vec<usize> = case["shape"]
                .as_array()
                .expect("shape")
                .iter()
                .map(|v| v.as_u64().expect("dim") as usize)
                .collect();
            let draws = case["draws"].as_u64().expect("draws") as usize;
            let mut rng = Rng::new(2024);
            let mut values: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
            for _ in 0..draws {
                let p = gen.get_random_transform([shape[0], shape[1], shape[2]], &mut rng);
                let row = [
                    ("theta", Some(p.theta)),
                    ("tx", Some(p.tx)),
                    ("ty", Some(p.ty)),
                    ("shear", Some(p.shear)),
                    ("zx", Some(p.zx)),
                    ("zy", Some(p.zy)),
                    ("flip_horizontal", Some(p.flip_horizontal as u8 as f64)),
                    ("flip_vertical", Some(p.flip_vertical as u8 as f64)),
                    ("channel_shift_intensity", p.channel_shift_intensity),
                    ("brightness", p.brightness),
                ];
                for (key, v) in row {
                    if let Some(v) = v {
                        values.entry(key).or_default().push(v);
                    }
                }
            }
            for (key, expected) in case["stats"].as_object().expect("stats") {
                let ours = values.get(key.as_str());
                if expected.is_null() {
                    assert!(ours.is_none(), "{name}.{key}: Keras draws nothing, we drew");
                    continue;
                }
                let ours = ours.unwrap_or_else(|| panic!("{name}.{key}: not drawn"));
                let n = ours.len() as f64;
                let mean = ours.iter().sum::<f64>() / n;
                let std = (ours.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
                let min = ours.iter().copied().fold(f64::INFINITY, f64::min);
                let max = ours.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let e = |k: &str| expected[k].as_f64().expect(k);
                // 5 standard errors of the mean; 3 % on the std.
                let sem = e("std") / n.sqrt();
                assert!(
                    (mean - e("mean")).abs() <= 5.0 * sem + 1e-12,
                    "{name}.{key}: mean {mean} vs Keras {}",
                    e("mean")
                );
                assert!(
                    (std - e("std")).abs() <= 0.03 * e("std") + 1e-12,
                    "{name}.{key}: std {std} vs Keras {}",
                    e("std")
                );
                let span = (e("max") - e("min")).max(1e-12);
                assert!(
                    (min - e("min")).abs() <= 0.01 * span && (max - e("max")).abs() <= 0.01 * span,
                    "{name}.{key}: [{min}, {max}] vs Keras [{}, {}]",
                    e("min"),
                    e("max")
                );
                if let Some(distinct) = expected["distinct"].as_array() {
                    let mut ours_distinct: Vec<f64> = ours.clone();
                    ours_distinct.sort_by(f64::total_cmp);
                    ours_distinct.dedup();
                    let keras: Vec<f64> = distinct
                        .iter()
                        .map(|v| v.as_f64().expect("value"))
                        .collect();
                    assert_eq!(ours_distinct, keras, "{name}.{key}: distinct values");
                }
            }
        }
    }
}
