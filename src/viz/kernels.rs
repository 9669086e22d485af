//! The filters of a convolution layer, as pictures: what pattern each one looks for.
//!
//! A kernel `w` of shape (KH, KW, C, F) holds F filters of KH × KW × C weights. With C = 3 (the
//! first layer of a colour model) each filter is shown as one small RGB image; otherwise each
//! input channel of each filter is one grey image. All weights share one scale (the smallest
//! weight black, the largest white), so filters can be compared with each other.
use std::path::Path;

use super::colormap::{grey, min_max_normalize};
use super::image_grid::{tile_grid, Tile};
use super::{expect_rank, Result};
use crate::Tensor;

/// Draws the filters of `w` (KH, KW, C, F), enlarged, eight to a row (one filter per row when
/// C is neither 1 nor 3, up to eight channels wide), and saves the PNG at `path`.
///
/// # Errors
/// [`VizError::Invalid`](super::VizError::Invalid) when `w` is not of rank 4;
/// [`VizError::Write`](super::VizError::Write) when the file cannot be written.
pub fn kernels(w: &Tensor, path: &Path) -> Result<()> {
    expect_rank("kernels", w, 4, "(KH, KW, C, F)")?;
    let &[kh, kw, c, f] = w.shape() else {
        unreachable!("rank checked above")
    };
    // scaled: (KH, KW, C, F), in [0, 1] over the whole kernel
    let scaled = min_max_normalize(w.as_slice()?);
    let at = |y: usize, x: usize, ch: usize, k: usize| scaled[((y * kw + x) * c + ch) * f + k];
    let mut tiles = Vec::new();
    for k in 0..f {
        if c == 3 {
            let pixels = (0..kh * kw)
                .map(|p| [0, 1, 2].map(|ch| grey(at(p / kw, p % kw, ch, k))[0]))
                .collect();
            tiles.push(Tile {
                pixels,
                rows: kh,
                cols: kw,
                caption: format!("filter {k}"),
            });
        } else {
            for ch in 0..c {
                let pixels = (0..kh * kw)
                    .map(|p| grey(at(p / kw, p % kw, ch, k)))
                    .collect();
                let caption = if c == 1 {
                    format!("filter {k}")
                } else {
                    format!("f{k} c{ch}")
                };
                tiles.push(Tile {
                    pixels,
                    rows: kh,
                    cols: kw,
                    caption,
                });
            }
        }
    }
    let cols = if c == 1 || c == 3 { f.min(8) } else { c.min(8) };
    tile_grid(&tiles, cols, "")?.save_png(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::random::Rng;
    use crate::viz::testing::{decode, distinct_colours, missing_dir_path, output_dir};
    use crate::viz::VizError;

    fn random_kernel(shape: &[usize], seed: u64) -> Tensor {
        let mut rng = Rng::new(seed);
        let n = shape.iter().product();
        Tensor::from_vec((0..n).map(|_| rng.normal()).collect(), shape).unwrap()
    }

    #[test]
    fn a_colour_first_layer_shows_one_rgb_tile_per_filter() {
        let (_keep, dir) = output_dir();
        let path = dir.join("kernels_rgb.png");
        kernels(&random_kernel(&[3, 3, 3, 32], 42), &path).unwrap();
        let decoded = decode(&path);
        // 3 × 38 = 114 px tiles, 8 columns, 4 rows.
        assert_eq!(decoded.width, 12 + 8 * (114 + 12));
        assert!(distinct_colours(&decoded) > 100);
    }

    #[test]
    fn grey_and_many_channel_kernels() {
        let (_keep, dir) = output_dir();
        let path = dir.join("kernels_grey.png");
        kernels(&random_kernel(&[3, 3, 1, 16], 7), &path).unwrap();
        assert_eq!(decode(&path).width, 12 + 8 * (114 + 12));
        let path = dir.join("kernels_channels.png");
        kernels(&random_kernel(&[3, 3, 4, 2], 7), &path).unwrap();
        assert_eq!(decode(&path).width, 12 + 4 * (114 + 12));
    }

    #[test]
    fn bad_shapes_and_unwritable_directories_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = kernels(&Tensor::ones(&[3, 3, 32]), &dir.path().join("k.png")).unwrap_err();
        assert!(err.to_string().contains("(KH, KW, C, F)"), "{err}");
        let err =
            kernels(&random_kernel(&[3, 3, 1, 4], 1), &missing_dir_path("k.png")).unwrap_err();
        assert!(matches!(err, VizError::Write { .. }), "{err}");
    }
}
