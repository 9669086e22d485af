//! What a convolution layer sees: its output for one image, one small picture per filter
//! (Session 3 shows the 32 maps of `conv1` for a dog; the first 16 as a 4×4 grid).
//!
//! Each map is stretched from its own minimum to its maximum and coloured with viridis, as
//! `plt.imshow(maps[:, :, k])` shows it, so a filter that barely responds still shows its
//! pattern.
use std::path::Path;

use super::colormap::{min_max_normalize, sample, VIRIDIS};
use super::image_grid::{tile_grid, Tile};
use super::{expect_rank, Result, VizError};
use crate::Tensor;

/// Draws every map of `maps` (H, W, F), or (1, H, W, F) as `predict` returns it for one image,
/// `cols` to a row, captioned "filter 0", "filter 1", …; saves the PNG at `path`. To show the
/// first 16 of 32 maps, pass `maps.slice_axis(2, 0, 16)?`.
///
/// # Errors
/// [`VizError::Invalid`] for another shape or `cols == 0`; [`VizError::Write`] when the file
/// cannot be written.
pub fn feature_maps(maps: &Tensor, cols: usize, path: &Path) -> Result<()> {
    const WHAT: &str = "feature_maps";
    let maps = if maps.rank() == 4 && maps.shape()[0] == 1 {
        maps.reshape(&maps.shape()[1..])
            .map_err(|e| VizError::invalid(WHAT, "(H, W, F)", e.to_string()))?
    } else {
        maps.clone()
    };
    expect_rank(WHAT, &maps, 3, "(H, W, F) or (1, H, W, F)")?;
    if cols == 0 {
        return Err(VizError::invalid(WHAT, "at least 1 column", "cols = 0"));
    }
    let &[h, w, f] = maps.shape() else {
        unreachable!("rank checked above")
    };
    let data = maps.as_slice()?;
    let tiles: Vec<Tile> = (0..f)
        .map(|k| {
            // map: (H, W), the k-th channel of every pixel
            let map: Vec<f32> = data.iter().skip(k).step_by(f).copied().collect();
            Tile {
                pixels: min_max_normalize(&map)
                    .into_iter()
                    .map(|t| sample(&VIRIDIS, t))
                    .collect(),
                rows: h,
                cols: w,
                caption: format!("filter {k}"),
            }
        })
        .collect();
    tile_grid(&tiles, cols, "")?.save_png(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::testing::{decode, distinct_colours, missing_dir_path, output_dir};

    /// Sixteen 74×74 maps (conv1's output size on a 150×150 image after pooling, roughly):
    /// stripes at different angles.
    fn maps() -> Tensor {
        let (h, w, f) = (74, 74, 16);
        let mut data = Vec::with_capacity(h * w * f);
        for y in 0..h {
            for x in 0..w {
                for k in 0..f {
                    let angle = k as f32 * std::f32::consts::PI / f as f32;
                    let s = (x as f32 * angle.cos() + y as f32 * angle.sin()) / 6.0;
                    data.push(s.sin().max(0.0) * (k + 1) as f32);
                }
            }
        }
        Tensor::from_vec(data, &[h, w, f]).unwrap()
    }

    #[test]
    fn sixteen_maps_make_a_4_by_4_grid() {
        let (_keep, dir) = output_dir();
        let path = dir.join("feature_maps.png");
        feature_maps(&maps(), 4, &path).unwrap();
        let decoded = decode(&path);
        // 74 × 2 = 148 px tiles, 4 × 4.
        assert_eq!(decoded.width, 12 + 4 * (148 + 12));
        assert!(decoded.height > 4 * 148);
        assert!(distinct_colours(&decoded) > 100);
        assert!(decoded.image.pixels().any(|p| p.0 == VIRIDIS[8]));
    }

    #[test]
    fn a_batch_of_one_is_accepted_and_other_shapes_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fm.png");
        feature_maps(&Tensor::ones(&[1, 6, 6, 4]), 2, &path).unwrap();
        assert_eq!(decode(&path).width, 12 + 2 * (114 + 12));
        let err = feature_maps(&Tensor::ones(&[2, 6, 6, 4]), 2, &path).unwrap_err();
        assert!(err.to_string().contains("(H, W, F)"), "{err}");
        assert!(matches!(
            feature_maps(&Tensor::ones(&[6, 6, 4]), 0, &path),
            Err(VizError::Invalid { .. })
        ));
    }

    #[test]
    fn an_unwritable_directory_is_a_write_error() {
        let err = feature_maps(&maps(), 4, &missing_dir_path("fm.png")).unwrap_err();
        assert!(matches!(err, VizError::Write { .. }), "{err}");
    }
}
