//! Images side by side: the course's 4×4 grid of labelled training images, and one image next
//! to the variants `ImageDataGenerator` made of it.
//!
//! Small images are enlarged by repeating pixels (nearest neighbour, as matplotlib's `imshow`
//! shows them), so that a 28×28 Fashion-MNIST image is drawn 112×112 and stays sharp.
use std::path::Path;

use plotters::style::text_anchor::HPos;

use super::colormap::{grey, min_max_normalize, Rgb, INK};
use super::figure::{fill_rect, text, text_width, Area, Drawn, Figure, VAlign};
use super::{expect_rank, Result, VizError};
use crate::Tensor;

/// How pixel values map to brightness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelRange {
    /// Decide from the values: any below 0 → [`PixelRange::PerImage`], else any above 1 →
    /// [`PixelRange::Byte`], else [`PixelRange::Unit`].
    Auto,
    /// 0 is black, 1 is white (images after `/ 255`, `rescale=1/255`).
    Unit,
    /// 0 is black, 255 is white (images as loaded).
    Byte,
    /// Each image stretched from its own minimum (black) to its maximum (white): for
    /// standardised images with negative values.
    PerImage,
}

impl PixelRange {
    /// `Auto` resolved for `values`; the others unchanged.
    pub(crate) fn resolve(self, values: &[f32]) -> PixelRange {
        if self != PixelRange::Auto {
            return self;
        }
        let finite = values.iter().copied().filter(|v| v.is_finite());
        if finite.clone().any(|v| v < 0.0) {
            PixelRange::PerImage
        } else if finite.into_iter().any(|v| v > 1.0) {
            PixelRange::Byte
        } else {
            PixelRange::Unit
        }
    }
}

/// Target size in pixels of an image's longer side after nearest-neighbour enlargement.
const TARGET_TILE: usize = 112;
const CAPTION_SIZE: f32 = 14.0;
const GAP: usize = 12;

/// Draws `images` (N, H, W, C), C = 1 (grey) or 3 (RGB), in a grid of `cols` columns with
/// `labels[i]` written under image `i` (an empty `labels` writes none), and saves the PNG at
/// `path`. The pixel range (0–1 or 0–255) is detected from the values ([`PixelRange::Auto`]).
///
/// The course's grid is `image_grid(&x_train.slice_axis(0, 0, 16)?, &names, 4, path)`, with
/// `names[i] = class_names[y_train[i]]`.
///
/// # Errors
/// [`VizError::Invalid`] for a tensor that is not (N, H, W, 1 or 3), a label count other than
/// N (or 0), or `cols == 0`; [`VizError::Write`] when the file cannot be written.
pub fn image_grid(images: &Tensor, labels: &[String], cols: usize, path: &Path) -> Result<()> {
    image_grid_with_range(images, labels, cols, PixelRange::Auto, path)
}

/// [`image_grid`] with the pixel range given instead of detected.
///
/// # Errors
/// As [`image_grid`].
pub fn image_grid_with_range(
    images: &Tensor,
    labels: &[String],
    cols: usize,
    range: PixelRange,
    path: &Path,
) -> Result<()> {
    const WHAT: &str = "image_grid";
    expect_rank(WHAT, images, 4, "(N, H, W, C) with C = 1 or 3")?;
    let &[n, h, w, c] = images.shape() else {
        unreachable!("rank checked above")
    };
    check_channels(WHAT, c, images.shape())?;
    if !labels.is_empty() && labels.len() != n {
        return Err(VizError::invalid(
            WHAT,
            format!("one label per image ({n}), or none"),
            format!("{} labels", labels.len()),
        ));
    }
    if cols == 0 {
        return Err(VizError::invalid(WHAT, "at least 1 column", "cols = 0"));
    }
    let range = range.resolve(images.as_slice()?);
    let tiles: Vec<Tile> = images
        .as_slice()?
        .chunks(h * w * c)
        .enumerate()
        .map(|(i, image)| Tile {
            pixels: to_colours(image, c, range),
            rows: h,
            cols: w,
            caption: labels.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    tile_grid(&tiles, cols, "")?.save_png(path)
}

/// Draws `original` (H, W, C) followed by its `variants` (N, H, W, C), C = 1 or 3, captioned
/// "original" and "variant 1", "variant 2", …, five to a row, all with one pixel range
/// detected from their values; saves the PNG at `path`.
///
/// # Errors
/// [`VizError::Invalid`] when the shapes are not as above or the variants' (H, W, C) differ
/// from the original's; [`VizError::Write`] when the file cannot be written.
pub fn augmented_grid(original: &Tensor, variants: &Tensor, path: &Path) -> Result<()> {
    const WHAT: &str = "augmented_grid";
    expect_rank(
        WHAT,
        original,
        3,
        "(H, W, C) with C = 1 or 3 for the original",
    )?;
    expect_rank(WHAT, variants, 4, "(N, H, W, C) for the variants")?;
    let &[h, w, c] = original.shape() else {
        unreachable!("rank checked above")
    };
    check_channels(WHAT, c, original.shape())?;
    if variants.shape()[1..] != original.shape()[..] {
        return Err(VizError::invalid(
            WHAT,
            format!("variants of shape (N, {h}, {w}, {c}) like the original"),
            format!("variants of shape {:?}", variants.shape()),
        ));
    }
    let all: Vec<f32> = original
        .as_slice()?
        .iter()
        .chain(variants.as_slice()?)
        .copied()
        .collect();
    let range = PixelRange::Auto.resolve(&all);
    let tiles: Vec<Tile> = all
        .chunks(h * w * c)
        .enumerate()
        .map(|(i, image)| Tile {
            pixels: to_colours(image, c, range),
            rows: h,
            cols: w,
            caption: if i == 0 {
                "original".to_string()
            } else {
                format!("variant {i}")
            },
        })
        .collect();
    let cols = tiles.len().min(5);
    tile_grid(&tiles, cols, "")?.save_png(path)
}

fn check_channels(what: &'static str, c: usize, shape: &[usize]) -> Result<()> {
    if c == 1 || c == 3 {
        Ok(())
    } else {
        Err(VizError::invalid(
            what,
            "1 (grey) or 3 (RGB) channels in the last axis",
            format!("shape {shape:?}"),
        ))
    }
}

/// The colours of one image, `image` being (H, W, C) row-major with C = 1 or 3.
pub(crate) fn to_colours(image: &[f32], c: usize, range: PixelRange) -> Vec<Rgb> {
    let unit: Vec<f32> = match range {
        PixelRange::PerImage => min_max_normalize(image),
        PixelRange::Byte => image.iter().map(|v| v / 255.0).collect(),
        PixelRange::Unit | PixelRange::Auto => image.to_vec(),
    };
    unit.chunks(c)
        .map(|p| {
            if c == 1 {
                grey(p[0])
            } else {
                [grey(p[0])[0], grey(p[1])[0], grey(p[2])[0]]
            }
        })
        .collect()
}

/// One image of a grid, already in colours.
pub(crate) struct Tile {
    /// (rows, cols) colours, row-major.
    pub pixels: Vec<Rgb>,
    pub rows: usize,
    pub cols: usize,
    /// Written under the image; empty for none.
    pub caption: String,
}

/// Lays `tiles` out `cols` to a row, each enlarged by the same whole factor to about
/// [`TARGET_TILE`] pixels, with its caption under it and `title` above all; all tiles have the
/// size of the first.
pub(crate) fn tile_grid(tiles: &[Tile], cols: usize, title: &str) -> Result<Figure> {
    let (rows_px, cols_px) = tiles.first().map_or((1, 1), |t| (t.rows, t.cols));
    let scale = TARGET_TILE.div_ceil(rows_px.max(cols_px)).max(1);
    let (tile_h, tile_w) = (rows_px * scale, cols_px * scale);
    let has_captions = tiles.iter().any(|t| !t.caption.is_empty());
    let widest_caption = tiles
        .iter()
        .map(|t| text_width(&t.caption, CAPTION_SIZE).ceil() as usize)
        .max()
        .unwrap_or(0);
    let cell_w = tile_w.max(widest_caption + 6);
    let caption_h = if has_captions {
        CAPTION_SIZE as usize + 12
    } else {
        0
    };
    let cell_h = tile_h + caption_h;
    let cols = cols.min(tiles.len()).max(1);
    let rows = tiles.len().div_ceil(cols);
    let title_h = if title.is_empty() { 0 } else { 36 };
    let width = GAP + cols * (cell_w + GAP);
    let height = title_h + GAP + rows * (cell_h + GAP);
    let mut figure = Figure::new(width, height);
    figure.draw(|area| {
        if !title.is_empty() {
            let centre = (width as f32 / 2.0, 12.0);
            text(area, title, centre, 16.0, INK, HPos::Center, VAlign::Top)?;
        }
        for (i, tile) in tiles.iter().enumerate() {
            let (r, c) = (i / cols, i % cols);
            let cell_x = GAP + c * (cell_w + GAP);
            let cell_y = title_h + GAP + r * (cell_h + GAP);
            let x = cell_x + (cell_w - tile_w) / 2;
            draw_pixels(area, tile, (x, cell_y), scale)?;
            if !tile.caption.is_empty() {
                let at = ((cell_x + cell_w / 2) as f32, (cell_y + tile_h + 6) as f32);
                text(
                    area,
                    &tile.caption,
                    at,
                    CAPTION_SIZE,
                    INK,
                    HPos::Center,
                    VAlign::Top,
                )?;
            }
        }
        Ok(())
    })?;
    Ok(figure)
}

/// Draws the pixels of `tile` with its top-left corner at `(x, y)`, each as a `scale × scale`
/// square (nearest-neighbour enlargement, so that a 28×28 image stays sharp).
fn draw_pixels(area: &Area, tile: &Tile, (x, y): (usize, usize), scale: usize) -> Drawn {
    for r in 0..tile.rows {
        for c in 0..tile.cols {
            let (px, py) = ((x + c * scale) as f32, (y + r * scale) as f32);
            let far = (px + scale as f32, py + scale as f32);
            fill_rect(area, (px, py), far, tile.pixels[r * tile.cols + c])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::testing::{decode, distinct_colours, missing_dir_path, output_dir};

    const FASHION_MNIST: [&str; 10] = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ];

    /// Sixteen 28×28 grey images, 0–255, each a different blob (a stand-in for Fashion-MNIST).
    fn sixteen_images() -> Tensor {
        let mut data = Vec::with_capacity(16 * 28 * 28);
        for i in 0..16 {
            let (cy, cx, r) = (
                8.0 + (i % 4) as f32 * 4.0,
                8.0 + (i / 4) as f32 * 4.0,
                5.0 + (i % 5) as f32,
            );
            for y in 0..28 {
                for x in 0..28 {
                    let d = ((y as f32 - cy).powi(2) + (x as f32 - cx).powi(2)).sqrt();
                    data.push((255.0 * (1.0 - d / (2.0 * r))).clamp(0.0, 255.0).round());
                }
            }
        }
        Tensor::from_vec(data, &[16, 28, 28, 1]).unwrap()
    }

    fn labels(n: usize) -> Vec<String> {
        (0..n).map(|i| FASHION_MNIST[i % 10].to_string()).collect()
    }

    #[test]
    fn the_course_grid_is_4_by_4_with_enlarged_images_and_captions() {
        let (_keep, dir) = output_dir();
        let path = dir.join("image_grid.png");
        image_grid(&sixteen_images(), &labels(16), 4, &path).unwrap();
        let decoded = decode(&path);
        // 28 × 4 = 112 px tiles; the widest caption is narrower, so cells are 112 px wide.
        assert_eq!(decoded.width as usize, GAP + 4 * (112 + GAP));
        assert_eq!(
            decoded.height as usize,
            GAP + 4 * (112 + CAPTION_SIZE as usize + 12 + GAP)
        );
        assert!(distinct_colours(&decoded) > 100);
        // Nearest-neighbour: each source pixel is a 4×4 block of one colour.
        let (x, y) = (GAP as u32 + 40, GAP as u32 + 40);
        assert_eq!(
            decoded.image.get_pixel(x, y),
            decoded.image.get_pixel(x + 3, y + 3)
        );
    }

    #[test]
    fn unit_and_byte_ranges_give_the_same_picture() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = sixteen_images();
        let unit = bytes.mul_scalar(1.0 / 255.0);
        image_grid(&bytes, &labels(16), 4, &dir.path().join("b.png")).unwrap();
        image_grid(&unit, &labels(16), 4, &dir.path().join("u.png")).unwrap();
        assert_eq!(
            decode(&dir.path().join("b.png")).image,
            decode(&dir.path().join("u.png")).image
        );
    }

    #[test]
    fn colour_images_and_their_augmented_variants() {
        let (_keep, dir) = output_dir();
        let (h, w) = (69, 69);
        let colour = |k: usize| -> Vec<f32> {
            (0..h * w * 3)
                .map(|i| {
                    let (y, x, ch) = (i / (w * 3), (i / 3) % w, i % 3);
                    (((x + k * 7) % w) as f32 / w as f32 * (ch as f32 + 1.0) / 3.0
                        + y as f32 / h as f32 * 0.3)
                        .min(1.0)
                })
                .collect()
        };
        let original = Tensor::from_vec(colour(0), &[h, w, 3]).unwrap();
        let variants = Tensor::from_vec((1..=7).flat_map(colour).collect(), &[7, h, w, 3]).unwrap();
        let path = dir.join("augmented_grid.png");
        augmented_grid(&original, &variants, &path).unwrap();
        let decoded = decode(&path);
        // 69 × 2 = 138 px tiles, 5 columns, 2 rows.
        assert_eq!(decoded.width as usize, GAP + 5 * (138 + GAP));
        assert_eq!(
            decoded.height as usize,
            GAP + 2 * (138 + CAPTION_SIZE as usize + 12 + GAP)
        );
        assert!(distinct_colours(&decoded) > 100);
    }

    #[test]
    fn a_label_count_that_does_not_match_the_images_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let err =
            image_grid(&sixteen_images(), &labels(15), 4, &dir.path().join("g.png")).unwrap_err();
        assert!(
            err.to_string().contains("one label per image (16)"),
            "{err}"
        );
        assert!(err.to_string().contains("15 labels"), "{err}");
    }

    #[test]
    fn bad_shapes_are_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.png");
        let two_channels = Tensor::zeros(&[2, 8, 8, 2]);
        assert!(matches!(
            image_grid(&two_channels, &[], 2, &path),
            Err(VizError::Invalid { .. })
        ));
        let rank3 = Tensor::zeros(&[8, 8, 1]);
        let err = image_grid(&rank3, &[], 2, &path).unwrap_err();
        assert!(err.to_string().contains("[8, 8, 1]"), "{err}");
        assert!(matches!(
            image_grid(&Tensor::zeros(&[1, 8, 8, 1]), &[], 0, &path),
            Err(VizError::Invalid { .. })
        ));
        let original = Tensor::zeros(&[8, 8, 3]);
        let err = augmented_grid(&original, &Tensor::zeros(&[2, 8, 9, 3]), &path).unwrap_err();
        assert!(err.to_string().contains("(N, 8, 8, 3)"), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn an_unwritable_directory_is_a_write_error() {
        let err = image_grid(
            &sixteen_images(),
            &labels(16),
            4,
            &missing_dir_path("g.png"),
        )
        .unwrap_err();
        assert!(matches!(err, VizError::Write { .. }), "{err}");
        assert!(
            err.to_string().contains("nonexistent-astrograd-viz-dir"),
            "{err}"
        );
    }
}
