//! `predict`: classify images with any saved model. This is the last cell of a course notebook
//! (`model.predict(X_new)`, then the top classes), turned into a tool.
//!
//! ```text
//! cargo run --release --example session2_galaxy10_cnn -- --save galaxies.keras
//! cargo run --release --example predict -- --model galaxies.keras --classes galaxy10 my_galaxies/
//! ```
//!
//! The model is any `.keras` or `.h5` file: one saved by an example's `--save`, by
//! `model.save` in your own program, or by Keras itself. The images are JPEG or PNG files,
//! or folders of them. Each is resized to the model's input and converted to grey or colour to
//! match it, then scaled by `--rescale` (the course divides by 255). For each image the tool
//! prints the most probable classes with their probabilities; a model with one sigmoid output
//! (cats vs dogs) gets the probability of the second class.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use astrograd::data::image_generator::{load_image, ColorMode, Interpolation, WHITE_LIST_FORMATS};
use astrograd::layers::applications::imagenet_class;
use astrograd::{load_model, Tensor};
use clap::Parser;

/// This program installs astrograd's allocator, which keeps big freed blocks for the next
/// training step (see `astrograd::block_cache`); the library itself leaves the choice to you.
#[global_allocator]
static ALLOCATOR: astrograd::BlockCache = astrograd::BlockCache;

/// Classifies images with a saved model and prints the top classes with their probabilities.
#[derive(Parser, Debug)]
#[command(
    name = "predict",
    override_usage = "cargo run --release --example predict -- --model PATH [FLAGS] IMAGE_OR_FOLDER..."
)]
struct Flags {
    /// The model: a .keras or .h5 file (from an example's --save, model.save, or Keras)
    #[arg(long, value_name = "PATH")]
    model: PathBuf,
    /// Image files (JPEG, PNG) or folders of them
    #[arg(required = true, value_name = "IMAGE_OR_FOLDER")]
    images: Vec<PathBuf>,
    /// The class names: fashion-mnist, galaxy10, galaxy10-decals, cats-vs-dogs, imagenet, or a
    /// text file with one name per line [default: class 0, class 1, …]
    #[arg(long, value_name = "NAMES")]
    classes: Option<String>,
    /// How many classes to print for each image
    #[arg(long, value_name = "K", default_value_t = 3)]
    top: usize,
    /// What each pixel (0–255) is multiplied by before the model sees it
    #[arg(long, value_name = "F", default_value_t = 1.0 / 255.0)]
    rescale: f32,
}

/// What went wrong, said once in `main`.
type Error = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    let flags = Flags::parse();
    match run(&flags) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(flags: &Flags) -> Result<(), Error> {
    let mut model = load_model(&flags.model)?;
    let shape = model.input_shape().ok_or_else(|| {
        format!(
            "the model in '{}' does not say its input shape",
            flags.model.display()
        )
    })?;
    let (height, width, channels) = match shape.as_slice() {
        [_, Some(h), Some(w), Some(c)] => (*h, *w, *c),
        [_, Some(h), Some(w)] => (*h, *w, 1),
        _ => {
            return Err(format!(
                "expected a model of images (H, W[, C]), found input shape {shape:?}"
            )
            .into())
        }
    };
    let color_mode = match channels {
        1 => ColorMode::Grayscale,
        3 => ColorMode::Rgb,
        4 => ColorMode::Rgba,
        c => return Err(format!("expected a model of 1, 3 or 4 channels, found {c}").into()),
    };
    let files = image_files(&flags.images)?;
    let mut pixels = Vec::with_capacity(files.len() * height * width * channels);
    for file in &files {
        let image = load_image(file, color_mode, (height, width), Interpolation::Nearest)?;
        pixels.extend(image.data.iter().map(|&v| v * flags.rescale));
    }
    let batch_shape: Vec<usize> = std::iter::once(files.len())
        .chain(shape[1..].iter().map(|d| d.unwrap_or(1)))
        .collect();
    let x = Tensor::from_vec(pixels, &batch_shape)?;
    let probabilities = model.predict(&x, 32)?;
    let outputs = probabilities.shape().last().copied().unwrap_or(1);
    let names = class_names(flags.classes.as_deref(), outputs.max(2))?;
    println!(
        "{} ({}, input {}×{}×{channels}, {} output{})",
        flags.model.display(),
        model.class_name(),
        height,
        width,
        outputs,
        if outputs == 1 { "" } else { "s" }
    );
    let values = probabilities.to_vec()?;
    for (file, row) in files.iter().zip(values.chunks(outputs)) {
        println!("{}", file.display());
        for (rank, (class, p)) in top_classes(row, flags.top).into_iter().enumerate() {
            println!("  {}. {:<36} {:>6.2}%", rank + 1, names[class], 100.0 * p);
        }
    }
    Ok(())
}

/// The image files given, with each folder's images (sorted, recursively, as Keras lists a
/// class folder); an image that is none of JPEG, PNG, BMP, PPM, TIFF is an error.
fn image_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let is_image = |path: &Path| {
        let name = path.to_string_lossy().to_ascii_lowercase();
        WHITE_LIST_FORMATS
            .iter()
            .any(|ext| name.ends_with(&format!(".{ext}")))
    };
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect(path, &mut found)?;
            found.retain(|p| is_image(p));
            found.sort();
            if found.is_empty() {
                return Err(format!("'{}' holds no JPEG or PNG image", path.display()).into());
            }
            files.extend(found);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(format!("'{}' does not exist", path.display()).into());
        }
    }
    Ok(files)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    for entry in
        std::fs::read_dir(dir).map_err(|e| format!("cannot list '{}': {e}", dir.display()))?
    {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// The `k` most probable classes of one row, best first. One sigmoid output `p` is the
/// probability of class 1 (and `1 − p` of class 0).
fn top_classes(row: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut ranked: Vec<(usize, f32)> = match row {
        [p] => vec![(1, *p), (0, 1.0 - p)],
        _ => row.iter().copied().enumerate().collect(),
    };
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(k.max(1));
    ranked
}

/// The names of `n` classes: a dataset's, a file's lines, or "class i".
fn class_names(spec: Option<&str>, n: usize) -> Result<Vec<String>, Error> {
    use astrograd::data::{fashion_mnist, galaxy10};
    let owned = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let names = match spec {
        None => (0..n).map(|i| format!("class {i}")).collect(),
        Some("fashion-mnist") => owned(&fashion_mnist::CLASS_NAMES),
        Some("galaxy10") => owned(&galaxy10::CLASS_NAMES),
        Some("galaxy10-decals") => owned(&galaxy10::DECALS_CLASS_NAMES),
        Some("cats-vs-dogs") => owned(&["cats", "dogs"]),
        Some("imagenet") => (0..n)
            .map(|i| imagenet_class(i).map(|(_, label)| label.to_string()))
            .collect::<Result<_, _>>()?,
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| {
                format!("--classes {path}: not a dataset name, and not a readable file: {e}")
            })?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
    };
    if names.len() != n {
        return Err(format!(
            "the model has {n} classes, --classes gives {} names",
            names.len()
        )
        .into());
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_classes_rank_probabilities_and_read_a_sigmoid_as_two_classes() {
        assert_eq!(top_classes(&[0.1, 0.7, 0.2], 2), vec![(1, 0.7), (2, 0.2)]);
        assert_eq!(top_classes(&[0.25], 3), vec![(0, 0.75), (1, 0.25)]);
    }

    #[test]
    fn class_names_come_from_datasets_files_or_numbers() {
        assert_eq!(class_names(None, 2).unwrap(), vec!["class 0", "class 1"]);
        assert_eq!(
            class_names(Some("fashion-mnist"), 10).unwrap()[0],
            "T-shirt/top"
        );
        let err = class_names(Some("galaxy10"), 3).unwrap_err().to_string();
        assert!(
            err.contains("3 classes") && err.contains("10 names"),
            "{err}"
        );
        assert!(class_names(Some("/no/such/file"), 2).is_err());
    }
}
