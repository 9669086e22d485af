//! Weights in the [safetensors](https://github.com/huggingface/safetensors) format.
//!
//! A safetensors file is an 8-byte header length, a JSON header, and the raw tensors:
//!
//! ```text
//! [u64 LE: n] [n bytes of JSON] [tensor bytes …]
//! JSON: {"dense/kernel:0": {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 48]}, …,
//!        "__metadata__": {"format": "astrograd", "format_version": "1", "model": "sequential",
//!                         "weight_order": "[\"dense/kernel:0\", \"dense/bias:0\", …]"}}
//! ```
//!
//! Each weight is one float32 little-endian tensor, under its Keras name and with the model's
//! shape (a Dense kernel `(in, units)`, a Conv2D kernel `(KH, KW, C, F)`). The format sorts
//! tensors by name, so the metadata keeps the model's order in `weight_order` for loading by
//! position (`load_weights`). Any safetensors reader (Python's
//! `safetensors.numpy.load_file`, PyTorch, candle) opens these files.
use std::collections::{HashMap, HashSet};
use std::path::Path;

use ::safetensors::tensor::{Dtype, SafeTensors, View};

use super::{built_weights, checked_value, io_error, Matching, Pair, SavedWeight, WeightsError};
use crate::layer::Weight;
use crate::model::Model;
use crate::{LayerError, Result};

/// The value of the `format` metadata key.
pub const FORMAT: &str = "astrograd";
/// The value of the `format_version` metadata key.
pub const FORMAT_VERSION: &str = "1";

/// A weight's bytes, as the safetensors writer takes them.
struct F32Bytes {
    shape: Vec<usize>,
    /// The values as little-endian float32.
    bytes: Vec<u8>,
}

impl View for &F32Bytes {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.bytes)
    }

    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Writes every weight of `model` to `path` (atomically).
pub(super) fn save(model: &Model, path: &Path) -> Result<()> {
    let weights = built_weights(model)?;
    let mut seen = HashSet::new();
    for w in &weights {
        if !seen.insert(w.name.as_str()) {
            return Err(WeightsError::DuplicateName {
                model: model.name().to_string(),
                name: w.name.clone(),
            }
            .into());
        }
    }
    let tensors: Vec<(String, F32Bytes)> = weights
        .iter()
        .map(|w| {
            let value = w.var.value();
            // `to_vec` reads a GPU weight back to the host.
            let bytes = value
                .to_vec()?
                .into_iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            let shape = value.shape().to_vec();
            Ok((w.name.clone(), F32Bytes { shape, bytes }))
        })
        .collect::<Result<_>>()?;
    let order: Vec<&str> = weights.iter().map(|w| w.name.as_str()).collect();
    let metadata = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("format_version".to_string(), FORMAT_VERSION.to_string()),
        ("model".to_string(), model.name().to_string()),
        (
            "weight_order".to_string(),
            serde_json::Value::from(order).to_string(),
        ),
    ]);
    let bytes =
        ::safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(metadata))
            .map_err(|e| WeightsError::Io {
                action: "write",
                path: path.display().to_string(),
                detail: e.to_string(),
            })?;
    super::write_atomically(path, |w| std::io::Write::write_all(w, &bytes))
        .map_err(|e| io_error("write", path, &e))?;
    Ok(())
}

/// What a safetensors file holds.
#[derive(Debug)]
pub(super) struct SavedFile {
    /// Every tensor, in the file's (alphabetical) order.
    pub weights: Vec<SavedWeight>,
    /// The model's weight order, when astrograd wrote the file.
    pub order: Option<Vec<String>>,
}

/// Reads every tensor of a safetensors file.
pub(super) fn read(path: &Path) -> Result<SavedFile> {
    let bytes = std::fs::read(path).map_err(|e| io_error("read", path, &e))?;
    parse(&bytes, path)
}

/// Parses the bytes of a safetensors file.
fn parse(bytes: &[u8], path: &Path) -> Result<SavedFile> {
    let corrupt = |detail: String| -> LayerError {
        WeightsError::Corrupt {
            path: path.display().to_string(),
            format: "safetensors",
            detail,
        }
        .into()
    };
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| corrupt(e.to_string()))?;
    let file = SafeTensors::deserialize(bytes).map_err(|e| corrupt(e.to_string()))?;
    let order = match metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get("weight_order"))
    {
        None => None,
        Some(json) => Some(
            serde_json::from_str::<Vec<String>>(json)
                .map_err(|e| corrupt(format!("metadata weight_order: {e}")))?,
        ),
    };
    let mut weights = Vec::new();
    for (name, view) in file.iter() {
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F64 => view
                .data()
                .chunks_exact(8)
                .map(|b| {
                    let b: [u8; 8] = b.try_into().expect("chunks_exact(8) gives 8 bytes");
                    f64::from_le_bytes(b) as f32
                })
                .collect(),
            other => {
                return Err(WeightsError::DType {
                    path: path.display().to_string(),
                    name: name.to_string(),
                    dtype: format!("{other:?}"),
                }
                .into())
            }
        };
        weights.push(SavedWeight {
            name: name.to_string(),
            shape: view.shape().to_vec(),
            values,
        });
    }
    Ok(SavedFile { weights, order })
}

/// Pairs the model's weights with the file's tensors, by stored position or by name.
pub(super) fn pair(
    model: &Model,
    saved: SavedFile,
    path: &Path,
    matching: Matching,
) -> Result<Vec<Pair>> {
    let display = path.display().to_string();
    // Each weight with the name of the model layer that holds it, for the error messages.
    let weights: Vec<(String, Weight)> = model
        .layers()
        .iter()
        .flat_map(|l| {
            let layer = l.name();
            l.borrow()
                .weights()
                .into_iter()
                .map(move |w| (layer.clone(), w))
        })
        .collect();
    let mut by_name: HashMap<&str, &SavedWeight> =
        saved.weights.iter().map(|w| (w.name.as_str(), w)).collect();
    let matched: Vec<(&(String, Weight), &SavedWeight)> = match matching {
        Matching::Topological => {
            let order = saved.order.as_ref().ok_or_else(|| WeightsError::NoOrder {
                path: display.clone(),
            })?;
            let in_order: Vec<&SavedWeight> = order
                .iter()
                .map(|name| by_name.remove(name.as_str()))
                .collect::<Option<_>>()
                .filter(|_| by_name.is_empty())
                .ok_or_else(|| WeightsError::Corrupt {
                    path: display.clone(),
                    format: "safetensors",
                    detail: "metadata weight_order does not list each tensor once".to_string(),
                })?;
            if in_order.len() != weights.len() {
                return Err(WeightsError::WeightCount {
                    path: display,
                    layer: model.name().to_string(),
                    file_layer: saved_model_name(path),
                    model_weights: weights.iter().map(|(_, w)| w.name.clone()).collect(),
                    file_weights: order.clone(),
                }
                .into());
            }
            weights.iter().zip(in_order).collect()
        }
        Matching::ByName => {
            let missing: Vec<String> = weights
                .iter()
                .filter(|(_, w)| !by_name.contains_key(w.name.as_str()))
                .map(|(_, w)| w.name.clone())
                .collect();
            if !missing.is_empty() {
                return Err(WeightsError::MissingWeights {
                    path: display,
                    model: model.name().to_string(),
                    missing,
                }
                .into());
            }
            let matched: Vec<_> = weights
                .iter()
                .map(|w| (w, by_name.remove(w.1.name.as_str())))
                .collect();
            if !by_name.is_empty() {
                let mut extra: Vec<String> = by_name.keys().map(|k| k.to_string()).collect();
                extra.sort();
                return Err(WeightsError::ExtraWeights {
                    path: display,
                    model: model.name().to_string(),
                    extra,
                }
                .into());
            }
            matched
                .into_iter()
                .map(|(w, s)| (w, s.expect("every weight was found above")))
                .collect()
        }
    };
    matched
        .into_iter()
        .map(|((layer, weight), saved)| {
            Ok((
                weight.var.clone(),
                checked_value(layer, weight, saved, &display)?,
            ))
        })
        .collect()
}

/// How the file calls the whole model, in a count mismatch message.
fn saved_model_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        BatchNormalization, Conv2D, Dense, Flatten, Input, Layer, MaxPooling2D, Sequential,
    };
    use astrograd_autograd::{Tensor, Var};

    fn cnn() -> Model {
        Sequential::new(vec![
            Box::new(Input::new(&[6, 6, 1])),
            Box::new(Conv2D::new(2, (3, 3))),
            Box::new(BatchNormalization::new()),
            Box::new(MaxPooling2D::new()),
            Box::new(Flatten::new()),
            Box::new(Dense::new(3)),
        ])
        .unwrap()
    }

    /// Every weight set to distinct values, so that a swapped pair would be seen.
    fn fill_distinct(model: &Model) {
        let values: Vec<Tensor> = model
            .weights()
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let shape = w.var.shape();
                let n: usize = shape.iter().product();
                let data = (0..n).map(|j| (i * 100 + j) as f32 * 0.01 + 0.5).collect();
                Tensor::from_vec(data, &shape).unwrap()
            })
            .collect();
        model.set_weights(&values).unwrap();
    }

    #[test]
    fn save_then_load_gives_back_every_weight_including_moving_statistics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cnn.safetensors");
        let mut trained = cnn();
        fill_distinct(&trained);
        trained.save_weights(&path).unwrap();

        let mut fresh = cnn();
        assert_ne!(fresh.get_weights(), trained.get_weights());
        fresh.load_weights(&path).unwrap();
        // The same weights to the bit, and so the same predictions to the bit.
        assert_eq!(bits(&fresh), bits(&trained));
        let x = Var::constant(
            Tensor::from_vec(
                (0..2 * 36).map(|i| (i as f32 * 0.37).sin()).collect(),
                &[2, 6, 6, 1],
            )
            .unwrap(),
        );
        let predict =
            |model: &mut Model| model.forward(&x, false).unwrap().value().to_vec().unwrap();
        let (ours, theirs) = (predict(&mut fresh), predict(&mut trained));
        assert_eq!(ours.len(), 6);
        assert!(ours.iter().all(|v| v.is_finite()));
        assert_eq!(
            ours.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            theirs.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );

        // By name needs the same names: a model with the trained one's layer names.
        let mut same_names = cnn();
        let err = same_names.load_weights_by_name(&path).unwrap_err();
        assert!(
            matches!(
                err.as_weights_error(),
                Some(WeightsError::MissingWeights { .. })
            ),
            "{err}"
        );
        let before = bits(&trained);
        trained.load_weights_by_name(&path).unwrap();
        assert_eq!(
            bits(&trained),
            before,
            "its own file by name gives the same weights"
        );
    }

    /// Every weight's values as bit patterns (so that −0.0 ≠ 0.0 and a NaN equals itself).
    fn bits(model: &Model) -> Vec<Vec<u32>> {
        model
            .get_weights()
            .iter()
            .map(|t| t.to_vec().unwrap().iter().map(|v| v.to_bits()).collect())
            .collect()
    }

    #[test]
    fn the_file_is_plain_safetensors_with_keras_names_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let model = cnn();
        model.save_weights(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let (_, metadata) = SafeTensors::read_metadata(&bytes).unwrap();
        let meta = metadata.metadata().as_ref().unwrap();
        assert_eq!(meta["format"], "astrograd");
        assert_eq!(meta["format_version"], "1");
        let names: Vec<String> = model.weights().iter().map(|w| w.name.clone()).collect();
        assert_eq!(
            serde_json::from_str::<Vec<String>>(&meta["weight_order"]).unwrap(),
            names
        );
        let file = SafeTensors::deserialize(&bytes).unwrap();
        for w in model.weights() {
            let view = file.tensor(&w.name).unwrap();
            assert_eq!(view.dtype(), Dtype::F32);
            assert_eq!(view.shape(), w.var.shape().as_slice());
            let first = f32::from_le_bytes(view.data()[..4].try_into().unwrap());
            assert_eq!(first, w.var.value().as_slice().unwrap()[0]);
        }
        assert!(names.iter().any(|n| n.ends_with("/moving_variance:0")));
    }

    #[test]
    fn a_shape_mismatch_names_the_layer_the_weight_and_both_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let small =
            Sequential::new(vec![Box::new(Input::new(&[4])), Box::new(Dense::new(3))]).unwrap();
        small.save_weights(&path).unwrap();
        let mut wide =
            Sequential::new(vec![Box::new(Input::new(&[5])), Box::new(Dense::new(3))]).unwrap();
        let before = wide.get_weights();
        let err = wide.load_weights(&path).unwrap_err();
        let Some(WeightsError::Shape {
            layer,
            weight,
            expected,
            found,
            ..
        }) = err.as_weights_error()
        else {
            panic!("{err}");
        };
        let layer_name = wide.layers()[0].name();
        assert_eq!(layer, &layer_name);
        assert_eq!(weight, &format!("{layer_name}/kernel:0"));
        assert_eq!(
            (expected.as_slice(), found.as_slice()),
            (&[5, 3][..], &[4, 3][..])
        );
        assert_eq!(wide.get_weights(), before, "a failed load changes nothing");
    }

    #[test]
    fn a_different_number_of_weights_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        cnn().save_weights(&path).unwrap();
        let mut mlp =
            Sequential::new(vec![Box::new(Input::new(&[4])), Box::new(Dense::new(3))]).unwrap();
        let err = mlp.load_weights(&path).unwrap_err();
        assert!(
            matches!(
                err.as_weights_error(),
                Some(WeightsError::WeightCount { .. })
            ),
            "{err}"
        );
        let err = mlp.load_weights_by_name(&path).unwrap_err();
        assert!(
            matches!(
                err.as_weights_error(),
                Some(WeightsError::MissingWeights { .. })
            ),
            "{err}"
        );
    }

    #[test]
    fn extra_tensors_are_reported_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let two = Sequential::new(vec![
            Box::new(Input::new(&[4])),
            Box::new(Dense::new(3).with_name("first")),
            Box::new(Dense::new(2).with_name("second")),
        ])
        .unwrap();
        two.save_weights(&path).unwrap();
        let mut one = Sequential::new(vec![
            Box::new(Input::new(&[4])),
            Box::new(Dense::new(3).with_name("first")),
        ])
        .unwrap();
        let err = one.load_weights_by_name(&path).unwrap_err();
        assert_eq!(
            err.as_weights_error(),
            Some(&WeightsError::ExtraWeights {
                path: path.display().to_string(),
                model: one.name().to_string(),
                extra: vec!["second/bias:0".to_string(), "second/kernel:0".to_string()],
            })
        );
    }

    #[test]
    fn truncated_and_foreign_files_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let model = cnn();
        model.save_weights(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        for len in (0..bytes.len()).step_by(7) {
            let err = parse(&bytes[..len], &path).unwrap_err();
            assert!(
                matches!(err.as_weights_error(), Some(WeightsError::Corrupt { .. })),
                "{len}: {err}"
            );
        }
        let err = parse(b"\x89HDF\r\n\x1a\n not safetensors", &path).unwrap_err();
        assert!(
            matches!(err.as_weights_error(), Some(WeightsError::Corrupt { .. })),
            "{err}"
        );
        let mut model = model;
        let err = model
            .load_weights(dir.path().join("missing.safetensors"))
            .unwrap_err();
        assert!(
            matches!(
                err.as_weights_error(),
                Some(WeightsError::Io { action: "read", .. })
            ),
            "{err}"
        );
    }

    #[test]
    fn a_file_from_another_program_loads_by_name_only() {
        use ::safetensors::tensor::TensorView;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.safetensors");
        let mut model = Sequential::new(vec![
            Box::new(Input::new(&[2])),
            Box::new(Dense::new(1).with_name("d")),
        ])
        .unwrap();
        // As another program would write it: no metadata, and the bias as float64.
        let kernel: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let bias = 0.25f64.to_le_bytes();
        let tensors = [
            (
                "d/kernel:0",
                TensorView::new(Dtype::F32, vec![2, 1], &kernel).unwrap(),
            ),
            (
                "d/bias:0",
                TensorView::new(Dtype::F64, vec![1], &bias).unwrap(),
            ),
        ];
        std::fs::write(&path, ::safetensors::serialize(tensors, None).unwrap()).unwrap();

        let err = model.load_weights(&path).unwrap_err();
        assert!(
            matches!(err.as_weights_error(), Some(WeightsError::NoOrder { .. })),
            "{err}"
        );
        model.load_weights_by_name(&path).unwrap();
        assert_eq!(model.get_weights()[0].as_slice().unwrap(), &[1.5, -2.0]);
        assert_eq!(model.get_weights()[1].as_slice().unwrap(), &[0.25]);

        let ints = [(
            "d/kernel:0",
            TensorView::new(Dtype::I32, vec![2, 1], &kernel).unwrap(),
        )];
        std::fs::write(&path, ::safetensors::serialize(ints, None).unwrap()).unwrap();
        let err = model.load_weights_by_name(&path).unwrap_err();
        assert!(
            matches!(err.as_weights_error(), Some(WeightsError::DType { .. })),
            "{err}"
        );
    }
}
