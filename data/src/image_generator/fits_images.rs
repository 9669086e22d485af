//! FITS files among the pictures of `flow_from_directory`: the file's first image
//! ([`crate::fits::read`]), its bands made into the channels of the colour mode, resized as
//! floats (`resize_float.rs`).
//!
//! | bands in the file | `Grayscale` (1 channel) | `Rgb` (3) | `Rgba` (4) |
//! |---|---|---|---|
//! | 1 (`NAXIS = 2`) | the image | the image in R, G and B | refused |
//! | 3 | the mean of the bands | band k in channel k | refused |
//! | 4 | the mean of the bands | refused | band k in channel k |
//! | any other count | the mean of the bands | refused | refused |
//!
//! The grey of several bands is their plain mean: PIL's weights (0.299 R + 0.587 G + 0.114 B)
//! are for a screen's primaries, not for filters such as g, r and i. A FITS file has no alpha
//! channel, so `Rgba` needs four bands.
//!
//! The values stay physical, not 0–255: give the generator a stretch
//! (`crate::stretch::Stretch`) as its `preprocessing_function` and no `rescale(1/255)`.
//! `brightness_range` quantises to 8 bits as PIL does and is meant for pictures; leave it off
//! for FITS images. Blank pixels hold [`crate::fits::FitsOptions::blank_value`]
//! (`DirectoryOptions::fits_blank_value`, 0 by default); an image whose every pixel is blank
//! is [`DataError::BlankImage`], which `flow_from_directory` reports as a warning and skips.
use std::path::Path;

use crate::error::{DataError, Result};
use crate::fits::{self, FitsOptions};

use super::directory_iterator::{ColorMode, Interpolation};
use super::resize_float::resize_float;
use super::Image;

/// A FITS file as an image of `color_mode` at `target_size` (`(height, width)`), see the
/// module doc. `flow_from_directory` calls it for every FITS file it lists:
///
/// ```no_run
/// use astrograd_data::image_generator::{ClassMode, ColorMode, DirectoryOptions, Image, ImageDataGenerator};
/// use astrograd_data::stretch::Stretch;
/// // galaxies/train/{spiral,elliptical}/*.fits
/// let asinh = Stretch::asinh(0.1)?;
/// let generator = ImageDataGenerator::default()
///     .horizontal_flip(true)
///     .preprocessing_function(move |image: &mut Image| asinh.apply(image));
/// let mut train = generator.flow_from_directory(
///     "galaxies/train",
///     DirectoryOptions::default()
///         .target_size(64, 64)
///         .color_mode(ColorMode::Grayscale)
///         .class_mode(ClassMode::Binary)
///         .fits_blank_value(0.0),
/// )?;
/// let (x, y) = train.batch(0)?; // x: (32, 64, 64, 1) in [0, 1]
/// # Ok::<(), astrograd_data::DataError>(())
/// ```
///
/// # Errors
/// The errors of [`crate::fits::read`], each naming the file; [`DataError::Layout`] when the
/// file's bands cannot make the colour mode's channels.
pub fn load_fits_image(
    path: &Path,
    color_mode: ColorMode,
    target_size: (usize, usize),
    interpolation: Interpolation,
    options: &FitsOptions,
) -> Result<Image> {
    let read = fits::read(path, options)?;
    let shape = read.data.shape().to_vec();
    let (h, w) = (shape[0], shape[1]);
    let bands = shape.get(2).copied().unwrap_or(1);
    let values = read.data.to_vec()?; // (H, W, B)
    let channels = color_mode.channels();
    let pixels: Vec<f32> = match (bands, channels) {
        _ if bands == channels => values,
        (1, 3) => values.iter().flat_map(|&v| [v, v, v]).collect(),
        (_, 1) => values
            .chunks(bands)
            .map(|pixel| pixel.iter().sum::<f32>() / bands as f32)
            .collect(),
        _ => {
            return Err(DataError::Layout {
                path: path.to_path_buf(),
                item: format!("its image (HDU {})", read.hdu),
                expected: format!(
                    "bands for color_mode {color_mode:?}: {}",
                    match color_mode {
                        ColorMode::Rgb => "1 (copied into R, G, B) or 3",
                        _ => "4 (a FITS file has no alpha channel)",
                    }
                ),
                found: format!("{bands} bands"),
            })
        }
    };
    let (th, tw) = target_size;
    let data = if (h, w) == (th, tw) {
        pixels
    } else {
        resize_float(&pixels, [h, w, channels], [th, tw], interpolation)
    };
    Image::new(th, tw, channels, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fits::test_files::{big_endian, gzip, TestHdu};
    use crate::fits::BLOCK_BYTES;
    use crate::image_generator::{ClassMode, DirectoryOptions, ImageDataGenerator, OnBadImage};

    fn cube(bands: usize) -> Vec<u8> {
        // (B, H 2, W 2): band b holds 10·b + pixel.
        let values: Vec<f32> = (0..bands)
            .flat_map(|b| (0..4).map(move |p| (10 * b + p) as f32))
            .collect();
        let axes = if bands == 1 {
            vec![2, 2]
        } else {
            vec![2, 2, bands]
        };
        TestHdu::primary(-32, &axes, big_endian(&values, f32::to_be_bytes)).bytes()
    }

    /// Bands in the file, the colour mode, and the first pixel it must give (or `None`: refused).
    struct BandsCase {
        bands: usize,
        mode: ColorMode,
        first_pixel: Option<Vec<f32>>,
    }

    #[test]
    fn bands_become_channels() {
        let cases = [
            BandsCase {
                bands: 1,
                mode: ColorMode::Grayscale,
                first_pixel: Some(vec![0.0]),
            },
            BandsCase {
                bands: 1,
                mode: ColorMode::Rgb,
                first_pixel: Some(vec![0.0, 0.0, 0.0]),
            },
            BandsCase {
                bands: 3,
                mode: ColorMode::Rgb,
                first_pixel: Some(vec![0.0, 10.0, 20.0]),
            },
            BandsCase {
                bands: 3,
                mode: ColorMode::Grayscale,
                first_pixel: Some(vec![10.0]),
            },
            BandsCase {
                bands: 5,
                mode: ColorMode::Grayscale,
                first_pixel: Some(vec![20.0]),
            },
            BandsCase {
                bands: 4,
                mode: ColorMode::Rgba,
                first_pixel: Some(vec![0.0, 10.0, 20.0, 30.0]),
            },
            BandsCase {
                bands: 1,
                mode: ColorMode::Rgba,
                first_pixel: None,
            },
            BandsCase {
                bands: 5,
                mode: ColorMode::Rgb,
                first_pixel: None,
            },
        ];
        let dir = tempfile::tempdir().expect("temp dir");
        for case in cases {
            let path = dir.path().join(format!("b{}.fits", case.bands));
            std::fs::write(&path, cube(case.bands)).expect("write");
            let loaded = load_fits_image(
                &path,
                case.mode,
                (2, 2),
                Interpolation::Nearest,
                &FitsOptions::default(),
            );
            match (case.first_pixel, loaded) {
                (Some(pixel), Ok(image)) => {
                    assert_eq!(image.shape(), [2, 2, case.mode.channels()]);
                    assert_eq!(image.data[..pixel.len()], pixel[..], "{:?}", case.mode);
                }
                (None, Err(err)) => {
                    assert!(matches!(err, DataError::Layout { .. }), "{err:?}");
                    assert!(err.to_string().contains("bands"), "{err}");
                }
                (want, got) => panic!("{} bands, {:?}: {want:?} vs {got:?}", case.bands, case.mode),
            }
        }
    }

    /// Class folders of FITS files (every kind of name) beside a PNG:
    ///
    /// ```text
    /// root/galaxies/{a.fits, b.FIT, c.fits.gz, picture.png, notes.txt, outfit}
    /// root/stars/{d.fts, e.fit.gz}
    /// ```
    fn sky_tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for class in ["galaxies", "stars"] {
            std::fs::create_dir_all(root.join(class)).expect("mkdir");
        }
        let image = |level: f32| {
            TestHdu::primary(-32, &[3, 2], big_endian(&[level; 6], f32::to_be_bytes)).bytes()
        };
        let write = |rel: &str, bytes: Vec<u8>| std::fs::write(root.join(rel), bytes).expect("w");
        write("galaxies/a.fits", image(1.0));
        write("galaxies/b.FIT", image(2.0));
        write("galaxies/c.fits.gz", gzip(&image(3.0)));
        write("galaxies/notes.txt", b"not an image".to_vec());
        write("galaxies/outfit", b"not a FITS name".to_vec());
        write("stars/d.fts", image(4.0));
        write("stars/e.fit.gz", gzip(&image(5.0)));
        image::GrayImage::from_pixel(3, 2, image::Luma([200]))
            .save(root.join("galaxies/picture.png"))
            .expect("png");
        dir
    }

    fn grey_options() -> DirectoryOptions {
        DirectoryOptions::default()
            .target_size(2, 3)
            .color_mode(ColorMode::Grayscale)
            .class_mode(ClassMode::Sparse)
            .batch_size(10)
            .shuffle(false)
            .prefetch(0)
    }

    #[test]
    fn fits_files_are_listed_and_read_beside_pictures() {
        let dir = sky_tree();
        let mut log = Vec::new();
        let mut it = ImageDataGenerator::default()
            .flow_from_directory_with_log(dir.path(), grey_options(), &mut log)
            .expect("flow");
        assert_eq!(
            String::from_utf8(log).expect("utf8"),
            "Found 6 images belonging to 2 classes.\n"
        );
        assert_eq!(
            it.filenames(),
            [
                "galaxies/a.fits",
                "galaxies/b.FIT",
                "galaxies/c.fits.gz",
                "galaxies/picture.png",
                "stars/d.fts",
                "stars/e.fit.gz"
            ]
        );
        let (x, y) = it.batch(0).expect("batch");
        assert_eq!(x.shape(), [6, 2, 3, 1]);
        let firsts: Vec<f32> = x.to_vec().expect("x").chunks(6).map(|i| i[0]).collect();
        // FITS values as they are, the PNG in 0–255.
        assert_eq!(firsts, [1.0, 2.0, 3.0, 200.0, 4.0, 5.0]);
        assert_eq!(y.to_vec().expect("y"), [0.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn a_stretch_runs_on_fits_images_in_the_generator() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("sky")).expect("mkdir");
        let values = [100.0f32, 110.0, 10_000.0, f32::NAN, 100.0, 100.0];
        std::fs::write(
            dir.path().join("sky/one.fits"),
            TestHdu::primary(-32, &[3, 2], big_endian(&values, f32::to_be_bytes)).bytes(),
        )
        .expect("write");
        let stretch = crate::stretch::Stretch::asinh(0.1).expect("β > 0");
        let generator = ImageDataGenerator::default()
            .preprocessing_function(move |image: &mut Image| stretch.apply(image));
        let mut it = generator
            .flow_from_directory_with_log(
                dir.path(),
                grey_options().fits_blank_value(100.0),
                &mut std::io::sink(),
            )
            .expect("flow");
        let x = it.batch(0).expect("batch").0.to_vec().expect("x");
        // The NaN became 100 (the sky), then the asinh stretch: astropy gives 0.00336894 for 110.
        assert_eq!(x[0], 0.0);
        assert!((x[1] - 0.003_368_94).abs() < 1e-7, "{x:?}");
        assert_eq!(x[2], 1.0);
        assert_eq!(x[3], 0.0);
    }

    #[test]
    fn blank_images_are_skipped_and_broken_ones_follow_on_bad_image() {
        let dir = sky_tree();
        let all_nan = TestHdu::primary(-32, &[3, 2], big_endian(&[f32::NAN; 6], f32::to_be_bytes));
        std::fs::write(dir.path().join("stars/blank.fits"), all_nan.bytes()).expect("write");
        // A blank image is skipped even when bad images fail the batch.
        let mut it = ImageDataGenerator::default()
            .flow_from_directory_with_log(dir.path(), grey_options(), &mut std::io::sink())
            .expect("flow");
        assert_eq!(it.samples(), 7);
        assert_eq!(it.batch(0).expect("batch").0.shape()[0], 6);
        // A data unit cut short fails, naming the file; with Skip it is left out.
        let cut = TestHdu::primary(-32, &[3, 2], big_endian(&[1.0f32; 6], f32::to_be_bytes));
        let cut = cut.bytes()[..BLOCK_BYTES + 10].to_vec();
        std::fs::write(dir.path().join("stars/cut.fits"), cut).expect("write");
        let mut failing = ImageDataGenerator::default()
            .flow_from_directory_with_log(dir.path(), grey_options(), &mut std::io::sink())
            .expect("flow");
        let err = failing.batch(0).expect_err("a cut file");
        assert!(matches!(err, DataError::Truncated { .. }), "{err:?}");
        assert!(err.to_string().contains("cut.fits"), "{err}");
        let mut skipping = ImageDataGenerator::default()
            .flow_from_directory_with_log(
                dir.path(),
                grey_options().on_bad_image(OnBadImage::Skip),
                &mut std::io::sink(),
            )
            .expect("flow");
        assert_eq!(skipping.batch(0).expect("batch").0.shape()[0], 6);
    }

    #[test]
    fn images_are_resized_as_floats() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wide.fits");
        let values = [-100.0f32, 5000.0, 7.0, 8.0];
        std::fs::write(
            &path,
            TestHdu::primary(-32, &[2, 2], big_endian(&values, f32::to_be_bytes)).bytes(),
        )
        .expect("write");
        let image = load_fits_image(
            &path,
            ColorMode::Grayscale,
            (4, 6),
            Interpolation::Bilinear,
            &FitsOptions::default(),
        )
        .expect("loads");
        assert_eq!(image.shape(), [4, 6, 1]);
        assert_eq!(image.data[0], -100.0);
        assert_eq!(image.data[5], 5000.0);
    }
}
