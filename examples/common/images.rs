//! What the Session 3 examples share: the cats-vs-dogs folders from `--data` or the usual
//! places, one picture loaded as `load_img` + `img_to_array` do, whether a flag was given, and
//! going through a generator's batches to predict.
// `ExampleError` carries a `DataError` by value: large, but only ever returned once, to exit.
#![allow(clippy::result_large_err)]
use std::path::Path;

use astrograd::data::cats_and_dogs::{self, CatsAndDogs, CLASS_FOLDERS, FOLDER, ZIP_NAME};
use astrograd::data::image_generator::{load_image, ColorMode, Image, Interpolation};
use astrograd::data::DataError;
use astrograd::layers::training::BatchSource;
use astrograd::layers::{EvalOptions, Model};
use astrograd::Tensor;

use super::{Args, Example, ExampleError};

/// What `--data` must point to for cats vs dogs.
pub fn cats_and_dogs_expected() -> String {
    format!(
        "{ZIP_NAME}, the extracted {FOLDER} folder (with {}), or a folder holding either",
        CLASS_FOLDERS.join(", ")
    )
}

/// The `train` and `validation` folders of cats vs dogs, as the course unzips them: from
/// `--data` when given (the zip, which is extracted beside it; the extracted folder, whatever
/// its name; or a folder holding either), else from the usual places or a download (65 MB).
///
/// # Errors
/// [`ExampleError::BadDataPath`] when `--data` holds none of these;
/// [`ExampleError::MissingData`] when the pictures are nowhere and cannot be downloaded; a
/// damaged or unsafe zip's [`DataError`].
pub fn load_cats_and_dogs(example: &Example, args: &Args) -> Result<CatsAndDogs, ExampleError> {
    if let Some(n) = args.limit {
        return Err(ExampleError::Usage {
            message: format!(
                "--limit {n}: cats vs dogs is read from its folders as they are; for a quick \
                 run, point --data at a smaller folder with the same layout"
            ),
            usage: super::usage(example),
        });
    }
    println!("Loading cats vs dogs…");
    let loaded = match &args.data {
        Some(path) => {
            let bad = |found: String| ExampleError::BadDataPath {
                path: path.clone(),
                expected: cats_and_dogs_expected(),
                found,
            };
            if !path.exists() {
                return Err(bad("nothing at that path".into()));
            }
            if path.is_dir() {
                // An extracted tree under another name is used as it is.
                if CLASS_FOLDERS.iter().all(|class| path.join(class).is_dir()) {
                    return Ok(CatsAndDogs {
                        root: path.clone(),
                        train_dir: path.join("train"),
                        validation_dir: path.join("validation"),
                    });
                }
                if !path.join(FOLDER).is_dir() && !path.join(ZIP_NAME).is_file() {
                    let missing: Vec<&str> = CLASS_FOLDERS
                        .iter()
                        .copied()
                        .filter(|class| !path.join(class).is_dir())
                        .collect();
                    return Err(bad(format!(
                        "a folder with no {FOLDER}/, no {ZIP_NAME} and no {}",
                        missing.join(", ")
                    )));
                }
            }
            cats_and_dogs::load_from(path)
        }
        None => cats_and_dogs::load(),
    };
    loaded.map_err(|e| match e {
        DataError::NotFound { .. } => ExampleError::MissingData {
            example: example.name,
            expected: cats_and_dogs_expected(),
            source: e,
        },
        other => ExampleError::Data(other),
    })
}

/// Whether `flag` (`"--epochs"`) is on the command line, as `--epochs N` or `--epochs=N`.
pub fn flag_given(flag: &str) -> bool {
    std::env::args().skip(1).any(|a| {
        a == flag
            || a.strip_prefix(flag)
                .is_some_and(|rest| rest.starts_with('='))
    })
}

/// One picture as the course loads it for the feature maps:
/// `img_to_array(load_img(path, target_size=size)) / 255`, as a batch of one `(1, H, W, 3)`.
///
/// # Errors
/// A file that cannot be read or decoded.
pub fn load_picture(path: &Path, size: (usize, usize)) -> Result<Tensor, ExampleError> {
    let image = load_image(path, ColorMode::Rgb, size, Interpolation::Nearest)?;
    Ok(image_to_batch(&image)?.mul_scalar(1.0 / 255.0))
}

/// An [`Image`] `(H, W, C)` as a tensor `(1, H, W, C)`.
///
/// # Errors
/// Never for an image built by the data crate (its length is `H·W·C`).
pub fn image_to_batch(image: &Image) -> Result<Tensor, ExampleError> {
    Ok(Tensor::from_vec(
        image.data.clone(),
        &[1, image.height, image.width, image.channels],
    )?)
}

/// `model.predict(generator)` with the labels beside: every batch of `source` (make it with
/// `shuffle(false)` for a fixed order), `(probabilities, labels)` concatenated over the batches.
///
/// # Errors
/// The source's or the model's errors; an empty source.
pub fn predict_batches(
    model: &mut Model,
    source: &mut dyn BatchSource,
) -> Result<(Tensor, Tensor), ExampleError> {
    source.on_epoch_start(0);
    let mut probabilities = Vec::new();
    let mut labels = Vec::new();
    for i in 0..source.len() {
        let (x, y) = source.batch(i)?;
        let n = x.shape()[0];
        probabilities.push(model.predict(&x, EvalOptions::default().batch_size(n).verbose(0))?);
        labels.push(y);
    }
    let probabilities: Vec<&Tensor> = probabilities.iter().collect();
    let labels: Vec<&Tensor> = labels.iter().collect();
    Ok((
        Tensor::concat(&probabilities, 0)?,
        Tensor::concat(&labels, 0)?,
    ))
}

/// Prints the first `n` predictions of a sigmoid output `(N, 1)` against the labels `(N,)`
/// (0 for `class_names[0]`, 1 for `class_names[1]`): `p > 0.5` means the second class, as
/// `class_mode='binary'` numbers the folders.
///
/// # Errors
/// Tensors on the GPU (copy them with `.to(Device::Cpu)` first).
pub fn print_binary_predictions(
    probabilities: &Tensor,
    y_true: &Tensor,
    class_names: &[String],
    n: usize,
) -> Result<(), ExampleError> {
    let n = n.min(probabilities.shape()[0]);
    println!("\nThe first {n} validation images:");
    println!(
        "  {:>5}  {:<10} {:>14}  {:<10}",
        "image",
        "predicted",
        format!("P({})", class_names[1]),
        "true label"
    );
    for i in 0..n {
        let p = probabilities.as_slice()?[i];
        let predicted = usize::from(p > 0.5);
        let truth = y_true.as_slice()?[i] as usize;
        let mark = if predicted == truth { "✓" } else { "✗" };
        println!(
            "  {i:>5}  {:<10} {p:>14.3}  {:<10} {mark}",
            class_names[predicted], class_names[truth]
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    // Run by tests/examples_unit.rs, which compiles an example as a module.
    use super::super::Dataset;
    use super::*;

    const EXAMPLE: Example = Example {
        name: "demo",
        about: "A demo.",
        epochs: 1,
        batch_size: 20,
        dataset: Dataset::CatsAndDogs,
    };

    fn args(data: &Path) -> Args {
        Args {
            epochs: 1,
            data: Some(data.to_path_buf()),
            seed: 42,
            batch_size: 32,
            output: "out".into(),
            device: astrograd::Device::Cpu,
            limit: None,
            save: None,
            backup: None,
            summary: false,
        }
    }

    #[test]
    fn a_bad_data_path_says_what_was_expected() {
        let dir = tempfile::tempdir().unwrap();
        let e = load_cats_and_dogs(&EXAMPLE, &args(&dir.path().join("nope")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("found nothing at that path"), "{e}");
        assert!(e.contains(ZIP_NAME), "{e}");
        let e = load_cats_and_dogs(&EXAMPLE, &args(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("found a folder with no cats_and_dogs_filtered/"),
            "{e}"
        );
    }

    #[test]
    fn an_extracted_tree_under_another_name_is_used_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        for class in CLASS_FOLDERS {
            std::fs::create_dir_all(dir.path().join("my_copy").join(class)).unwrap();
        }
        let data = load_cats_and_dogs(&EXAMPLE, &args(&dir.path().join("my_copy"))).unwrap();
        assert_eq!(data.train_dir, dir.path().join("my_copy/train"));
        assert_eq!(data.validation_dir, dir.path().join("my_copy/validation"));
    }
}
