//! # Pictures: the course's plots and image grids, saved as PNG
//!
//! The course shows its results with matplotlib; these functions draw the same pictures into
//! PNG files with [plotters](https://docs.rs/plotters), and no system library (the text is set
//! in DejaVu Sans, bundled in `assets/fonts`). What is astrograd's own is which picture to
//! draw, its colours (matplotlib's) and its layout, including where a legend goes so that it
//! hides no data:
//!
//! | function | the course's picture |
//! |---|---|
//! | [`image_grid()`] | a 4×4 grid of training images with the class name under each |
//! | [`augmented_grid`] | one image and what `ImageDataGenerator` made of it |
//! | [`history_plot()`], [`history_plot_with`] | `pd.DataFrame(history.history).plot()`: loss and accuracy, train vs validation; several runs overlaid |
//! | [`line_plot()`] | curves with a legend (the activation functions of Session 1) |
//! | [`confusion_matrix()`] | the confusion matrix with the count in each cell |
//! | [`roc_curves()`], [`precision_recall_curves()`] | one-vs-rest ROC and precision–recall curves with each class's area (scikit-learn's) |
//! | [`feature_maps()`], [`kernels()`] | what `conv1` sees in one image, and its filters |
//! | [`pixel_values()`] | one image with the value of every pixel written on it (Session 2) |
//! | [`matrices()`] | small matrices side by side with their numbers (the tutorials' im2col, pooling gradient, dropout masks) |
//!
//! Every file is written atomically (a temporary file beside it, then a rename), so a picture
//! on disk is always complete. Bad arguments give [`VizError::Invalid`], naming the function
//! and what was expected; a directory that cannot be written gives [`VizError::Write`]. Call
//! [`ensure_writable_dir`] before a long training run to learn that early.
//!
//! ```
//! use astrograd::viz;
//! use astrograd::Tensor;
//! # let dir = tempfile::tempdir()?;
//! // Two 28×28 grey images, values 0–1.
//! let images = Tensor::full(&[2, 28, 28, 1], 0.5);
//! let labels = vec!["Trouser".to_string(), "Bag".to_string()];
//! viz::image_grid(&images, &labels, 2, &dir.path().join("grid.png"))?;
//! assert!(dir.path().join("grid.png").exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
use std::path::{Path, PathBuf};

pub mod colormap;
pub mod confusion_matrix;
pub mod feature_maps;
mod figure;
pub mod history_plot;
pub mod image_grid;
pub mod kernels;
mod legend;
pub mod line_plot;
pub mod matrices;
pub mod pixel_values;
mod plot_area;
pub mod roc_curves;

pub use confusion_matrix::{confusion_counts, confusion_matrix};
pub use feature_maps::feature_maps;
pub use history_plot::{
    history_plot, history_plot_with, join_histories, EpochMarker, HistoryPlotOptions,
};
pub use image_grid::{augmented_grid, image_grid, image_grid_with_range, PixelRange};
pub use kernels::kernels;
pub use line_plot::{line_plot, Line, LinePlotOptions};
pub use matrices::{matrices, Matrix};
pub use pixel_values::pixel_values;
pub use roc_curves::{precision_recall_curves, roc_curves};

/// What went wrong while drawing or saving a picture.
#[derive(Debug, thiserror::Error)]
pub enum VizError {
    /// A bad argument: a tensor of the wrong shape, a label count that does not match.
    #[error("{what}: expected {expected}, found {found}")]
    Invalid {
        /// The function that rejected it (`image_grid`).
        what: &'static str,
        /// What would have been accepted.
        expected: String,
        /// What was given.
        found: String,
    },
    /// The file could not be written (missing or read-only directory, full disk).
    #[error("could not write the picture {path}: {source}")]
    Write {
        /// The picture's path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// plotters could not draw into the picture's memory (a glyph the bundled font lacks).
    #[error("could not draw the picture: {0}")]
    Draw(String),
    /// The tensor to draw could not be read (it is on the GPU: pictures are drawn on the host,
    /// so copy it with `.to(Device::Cpu)` first).
    #[error(transparent)]
    Tensor(#[from] astrograd_tensor::TensorError),
}

/// The result of a picture function.
pub type Result<T> = std::result::Result<T, VizError>;

impl VizError {
    /// Shorthand for [`VizError::Invalid`].
    pub fn invalid(
        what: &'static str,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> VizError {
        VizError::Invalid {
            what,
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// Creates `dir` (and its parents) if needed and checks that a file can be written in it, by
/// writing and removing a small probe file. The examples call it before training, so that an
/// unwritable output directory is reported before minutes of work, not after.
///
/// # Errors
/// [`VizError::Write`] naming the directory (or the probe file in it).
pub fn ensure_writable_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| VizError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let probe = dir.join(".astrograd-write-probe");
    crate::layers::write_atomically(&probe, |w| std::io::Write::write_all(w, b"ok"))
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|source| VizError::Write {
            path: dir.to_path_buf(),
            source,
        })
}

/// Checks that `tensor` has rank `rank`, naming `what` and the expected layout otherwise.
fn expect_rank(
    what: &'static str,
    tensor: &crate::Tensor,
    rank: usize,
    layout: &str,
) -> Result<()> {
    if tensor.rank() != rank {
        return Err(VizError::invalid(
            what,
            format!("a tensor of shape {layout}"),
            format!("shape {:?}", tensor.shape()),
        ));
    }
    if tensor.shape().contains(&0) {
        return Err(VizError::invalid(
            what,
            format!("a non-empty tensor of shape {layout}"),
            format!("shape {:?}", tensor.shape()),
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testing {
    //! What the picture tests share: decoding the PNG back and measuring it.
    use std::path::Path;

    /// A decoded PNG.
    pub struct Decoded {
        pub width: u32,
        pub height: u32,
        pub image: image::RgbImage,
    }

    /// Decodes the PNG at `path` with the `image` crate, panicking (a test failure) if it is
    /// not a PNG.
    pub fn decode(path: &Path) -> Decoded {
        let reader = image::ImageReader::open(path)
            .expect("the PNG exists")
            .with_guessed_format()
            .expect("readable");
        assert_eq!(reader.format(), Some(image::ImageFormat::Png));
        let image = reader.decode().expect("the PNG decodes").to_rgb8();
        Decoded {
            width: image.width(),
            height: image.height(),
            image,
        }
    }

    /// How many distinct colours the picture has: a blank or one-colour picture has 1.
    pub fn distinct_colours(decoded: &Decoded) -> usize {
        let mut colours: Vec<[u8; 3]> = decoded.image.pixels().map(|p| p.0).collect();
        colours.sort_unstable();
        colours.dedup();
        colours.len()
    }

    /// Where the tests write their pictures: `$ASTROGRAD_VIZ_DIR` when set (to look at them),
    /// else a fresh temporary directory.
    pub fn output_dir() -> (Option<tempfile::TempDir>, std::path::PathBuf) {
        match std::env::var_os("ASTROGRAD_VIZ_DIR") {
            Some(dir) => {
                std::fs::create_dir_all(&dir).expect("ASTROGRAD_VIZ_DIR can be created");
                (None, dir.into())
            }
            None => {
                let temp = tempfile::tempdir().expect("a temporary directory");
                let path = temp.path().to_path_buf();
                (Some(temp), path)
            }
        }
    }

    /// A path inside a directory that does not exist (for the unwritable-directory tests).
    pub fn missing_dir_path(name: &str) -> std::path::PathBuf {
        Path::new("/nonexistent-astrograd-viz-dir").join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_writable_dir_creates_the_directory_and_leaves_nothing_in_it() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("astrograd-output").join("session1_mlp");
        ensure_writable_dir(&dir).unwrap();
        assert!(dir.is_dir());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn ensure_writable_dir_reports_a_directory_that_cannot_be_made() {
        let temp = tempfile::tempdir().unwrap();
        let file = temp.path().join("a-file");
        std::fs::write(&file, b"not a directory").unwrap();
        let err = ensure_writable_dir(&file.join("sub")).unwrap_err();
        assert!(matches!(err, VizError::Write { .. }), "{err}");
        assert!(err.to_string().contains("a-file"), "{err}");
    }
}
