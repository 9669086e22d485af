//! One image with the value of every pixel written on it (Session 2: "an image is a matrix of
//! numbers"). Each pixel is a square of its own grey, with its value in white on dark pixels
//! and in black on light ones.
use std::path::Path;

use plotters::style::text_anchor::HPos;

use super::colormap::{wants_white_text, BLACK, WHITE};
use super::figure::{fill_rect, text, text_width, Figure, VAlign};
use super::image_grid::{to_colours, PixelRange};
use super::{Result, VizError};
use crate::Tensor;

const VALUE_SIZE: f32 = 11.0;

/// Draws `image` (H, W), (H, W, 1) or (1, H, W, 1) in grey with each value written in its
/// pixel, and saves the PNG at `path`. Whole numbers (0–255 data) are written as integers,
/// others with two decimals; the grey scale is detected as in [`image_grid`](super::image_grid()).
///
/// # Errors
/// [`VizError::Invalid`] for another shape or an image larger than 64 × 64 (the numbers
/// would not be readable); [`VizError::Write`] when the file cannot be written.
pub fn pixel_values(image: &Tensor, path: &Path) -> Result<()> {
    const WHAT: &str = "pixel_values";
    let (h, w) = match *image.shape() {
        [h, w] | [h, w, 1] | [1, h, w, 1] if h > 0 && w > 0 => (h, w),
        _ => {
            return Err(VizError::invalid(
                WHAT,
                "one grey image of shape (H, W), (H, W, 1) or (1, H, W, 1)",
                format!("shape {:?}", image.shape()),
            ))
        }
    };
    if h > 64 || w > 64 {
        return Err(VizError::invalid(
            WHAT,
            "an image of at most 64 × 64 pixels",
            format!("{h} × {w}"),
        ));
    }
    let values = image.as_slice()?;
    let whole = values.iter().all(|v| v.fract() == 0.0);
    let texts: Vec<String> = values
        .iter()
        .map(|v| {
            if whole {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            }
        })
        .collect();
    let widest = texts
        .iter()
        .map(|t| text_width(t, VALUE_SIZE))
        .fold(0.0f32, f32::max);
    let cell = (widest.ceil() as usize + 6).max(20);
    let colours = to_colours(values, 1, PixelRange::Auto.resolve(values));
    let margin = 10;
    let mut figure = Figure::new(2 * margin + w * cell, 2 * margin + h * cell);
    figure.draw(|area| {
        for y in 0..h {
            for x in 0..w {
                let colour = colours[y * w + x];
                let x0 = (margin + x * cell) as f32;
                let y0 = (margin + y * cell) as f32;
                let size = cell as f32;
                fill_rect(area, (x0, y0), (x0 + size, y0 + size), colour)?;
                let ink = if wants_white_text(colour) {
                    WHITE
                } else {
                    BLACK
                };
                let centre = (x0 + size / 2.0, y0 + size / 2.0);
                let value = &texts[y * w + x];
                text(
                    area,
                    value,
                    centre,
                    VALUE_SIZE,
                    ink,
                    HPos::Center,
                    VAlign::Middle,
                )?;
            }
        }
        Ok(())
    })?;
    figure.save_png(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::testing::{decode, distinct_colours, missing_dir_path, output_dir};

    /// A 28×28 "trouser": two bright legs on black, 0–255.
    fn trouser() -> Tensor {
        let data = (0..28 * 28)
            .map(|i| {
                let (y, x) = (i / 28, i % 28);
                let leg = (4..=24).contains(&y)
                    && ((8..=12).contains(&x)
                        || (15..=19).contains(&x)
                        || (y <= 8 && (8..=19).contains(&x)));
                if leg {
                    (180 + (x * 3 + y) % 60) as f32
                } else {
                    0.0
                }
            })
            .collect();
        Tensor::from_vec(data, &[28, 28]).unwrap()
    }

    #[test]
    fn a_28_by_28_image_gets_one_readable_cell_per_pixel() {
        let (_keep, dir) = output_dir();
        let path = dir.join("pixel_values.png");
        pixel_values(&trouser(), &path).unwrap();
        let decoded = decode(&path);
        assert_eq!(decoded.width, decoded.height);
        assert!(decoded.width >= 28 * 20);
        assert!(distinct_colours(&decoded) > 30);
    }

    #[test]
    fn unit_values_get_decimals_and_every_layout_of_one_image_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pv.png");
        let unit = trouser().mul_scalar(1.0 / 255.0);
        pixel_values(&unit.reshape(&[1, 28, 28, 1]).unwrap(), &path).unwrap();
        let wide = decode(&path).width;
        pixel_values(&trouser().reshape(&[28, 28, 1]).unwrap(), &path).unwrap();
        // "0.71" is wider than "181", so the decimal cells are wider.
        assert!(wide > decode(&path).width);
    }

    #[test]
    fn colour_batches_and_huge_images_are_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pv.png");
        let err = pixel_values(&Tensor::zeros(&[28, 28, 3]), &path).unwrap_err();
        assert!(err.to_string().contains("[28, 28, 3]"), "{err}");
        assert!(matches!(
            pixel_values(&Tensor::zeros(&[2, 28, 28, 1]), &path),
            Err(VizError::Invalid { .. })
        ));
        assert!(matches!(
            pixel_values(&Tensor::zeros(&[150, 150]), &path),
            Err(VizError::Invalid { .. })
        ));
        assert!(!path.exists());
    }

    #[test]
    fn an_unwritable_directory_is_a_write_error() {
        let err = pixel_values(&trouser(), &missing_dir_path("pv.png")).unwrap_err();
        assert!(matches!(err, VizError::Write { .. }), "{err}");
    }
}
