//! Reading Keras's legacy HDF5 weights files (`model.save_weights('x.h5')`, `model.save('m.h5')`,
//! and the `keras.applications` downloads such as `vgg16_weights_tf_dim_ordering_tf_kernels.h5`).
//!
//! The layout, from TF 2.10's `keras/saving/hdf5_format.py` (`docs/keras-semantics.md` §9):
//!
//! ```text
//! /                                   attrs: layer_names = ["conv2d", "max_pooling2d", "dense"],
//! │                                          backend, keras_version
//! ├── conv2d/                         attrs: weight_names = ["conv2d/kernel:0", "conv2d/bias:0"]
//! │   └── conv2d/                     (a "/" in a weight name makes a subgroup)
//! │       ├── kernel:0                float32 (3, 3, 1, 2)
//! │       └── bias:0                  float32 (2,)
//! ├── max_pooling2d/                  attrs: weight_names = [] (no weights)
//! └── dense/ …
//! ```
//!
//! - `layer_names` lists every layer in model order; past 64 KiB of names Keras splits it into
//!   `layer_names0`, `layer_names1`, … (and the same for `weight_names`).
//! - The strings are fixed-length byte strings in files written by old h5py (the official
//!   application weights) and variable-length strings in files written by h5py ≥ 3.
//! - A layer without weights has an empty `weight_names`, which h5py stores as an empty
//!   float64 array.
//! - `model.save('m.h5')` puts the same tree under `/model_weights`.
//! - The weight names are only read, never guessed: the official VGG16 file names its weights
//!   `block1_conv1_W_1:0`, `block1_conv1_b_1:0`.
//!
//! The HDF5 container itself is decoded by the pure-Rust [`hdf5_reader`] crate (no libhdf5
//! needed), which checks every offset against the file and so turns a truncated or corrupted
//! file into an error, not a crash.
use std::path::Path;

use hdf5_reader::group::Group;
use hdf5_reader::{Attribute, Datatype, Hdf5File};

use super::{io_error, SavedLayer, SavedWeight, WeightsError};
use crate::{LayerError, Result};

/// Reads the layers and weights of a Keras legacy HDF5 weights file, in the file's
/// `layer_names` order (layers without weights included, with no weights).
///
/// # Errors
/// [`WeightsError::Io`] when the file cannot be read; [`WeightsError::Corrupt`] when it is not
/// HDF5, is truncated, or is not laid out as Keras's weights; [`WeightsError::DType`] for a
/// weight that is not floating point.
pub fn read(path: &Path) -> Result<Vec<SavedLayer>> {
    let bytes = std::fs::read(path).map_err(|e| io_error("read", path, &e))?;
    parse(bytes, path)
}

/// The error for a file that is not HDF5 or not laid out as Keras's.
pub(crate) fn corrupt(path: &Path, detail: String) -> LayerError {
    WeightsError::Corrupt {
        path: path.display().to_string(),
        format: "HDF5",
        detail,
    }
    .into()
}

/// Opens an HDF5 file from its bytes, refusing one shorter than its superblock says.
pub(crate) fn open(bytes: Vec<u8>, path: &Path) -> Result<Hdf5File> {
    let corrupt = |detail: String| corrupt(path, detail);
    let file_len = bytes.len();
    let file = Hdf5File::from_vec(bytes).map_err(|e| corrupt(e.to_string()))?;
    // As libhdf5 does: a file shorter than its superblock says was cut off, even where the
    // missing bytes are ones we would not read.
    let superblock = file.superblock();
    let expected_len = superblock
        .base_address
        .saturating_add(superblock.eof_address);
    if expected_len > file_len as u64 {
        return Err(corrupt(format!(
            "truncated: the superblock says {expected_len} bytes, the file has {file_len}"
        )));
    }
    Ok(file)
}

/// Reads the layers and weights from the bytes of a file.
pub(super) fn parse(bytes: Vec<u8>, path: &Path) -> Result<Vec<SavedLayer>> {
    let file_len = bytes.len();
    let file = open(bytes, path)?;
    read_layers(&file, file_len, path)
}

/// The layers and weights of an open Keras weights or whole-model file.
pub(crate) fn read_layers(
    file: &Hdf5File,
    file_len: usize,
    path: &Path,
) -> Result<Vec<SavedLayer>> {
    let corrupt = |detail: String| corrupt(path, detail);
    let root = file.root_group().map_err(|e| corrupt(e.to_string()))?;
    let (top, layer_names) = match string_list(&root, "layer_names", &corrupt)? {
        Some(names) => (root, names),
        // model.save('m.h5'): the weights are one level down.
        None => {
            let top = root
                .group("model_weights")
                .map_err(|_| corrupt(not_keras(&root)))?;
            let names = string_list(&top, "layer_names", &corrupt)?.ok_or_else(|| {
                corrupt("/model_weights has no layer_names attribute".to_string())
            })?;
            (top, names)
        }
    };
    let mut layers = Vec::with_capacity(layer_names.len());
    for layer_name in layer_names {
        let group = top.group(&layer_name).map_err(|e| {
            corrupt(format!(
                "layer_names lists \"{layer_name}\" but its group cannot be read: {e}"
            ))
        })?;
        let weight_names = string_list(&group, "weight_names", &corrupt)?.ok_or_else(|| {
            corrupt(format!(
                "the group of layer \"{layer_name}\" has no weight_names attribute"
            ))
        })?;
        let mut weights = Vec::with_capacity(weight_names.len());
        for weight_name in weight_names {
            weights.push(read_weight(
                &group,
                &layer_name,
                &weight_name,
                file_len,
                path,
            )?);
        }
        layers.push(SavedLayer {
            name: layer_name,
            weights,
        });
    }
    Ok(layers)
}

/// Why a file without `layer_names` is not one we can read.
fn not_keras(root: &Group) -> String {
    if root.group("layers").is_ok() {
        "it looks like a Keras 3 `.weights.h5` file (a /layers group), which is not supported: \
         save the weights with TF 2.x Keras or as .safetensors"
            .to_string()
    } else {
        "no layer_names attribute and no /model_weights group: not a Keras weights file".to_string()
    }
}

/// One weight: the dataset at `weight_name` under the layer's group (a `/` in the name walks
/// into subgroups: `dense/kernel:0` is `<group>/dense/kernel:0`).
pub(crate) fn read_weight(
    group: &Group,
    layer_name: &str,
    weight_name: &str,
    file_len: usize,
    path: &Path,
) -> Result<SavedWeight> {
    let corrupt = |detail: String| -> LayerError {
        WeightsError::Corrupt {
            path: path.display().to_string(),
            format: "HDF5",
            detail: format!("weight \"{weight_name}\" of layer \"{layer_name}\": {detail}"),
        }
        .into()
    };
    let (subgroups, leaf) = match weight_name.rsplit_once('/') {
        Some((dirs, leaf)) => (dirs.split('/').collect::<Vec<_>>(), leaf),
        None => (Vec::new(), weight_name),
    };
    let mut parent = group.clone();
    for dir in subgroups {
        parent = parent.group(dir).map_err(|e| corrupt(e.to_string()))?;
    }
    let dataset = parent.dataset(leaf).map_err(|e| corrupt(e.to_string()))?;
    let shape: Vec<usize> = dataset
        .shape()
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| corrupt(format!("dimension {d} is too large"))))
        .collect::<Result<_>>()?;
    let numel = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| corrupt(format!("shape {shape:?} is too large")))?;
    let element_size = match dataset.dtype() {
        Datatype::FloatingPoint { size: 4, .. } => 4,
        Datatype::FloatingPoint { size: 8, .. } => 8,
        other => {
            return Err(WeightsError::DType {
                path: path.display().to_string(),
                name: weight_name.to_string(),
                dtype: format!("{other:?}"),
            }
            .into())
        }
    };
    // A corrupted shape must not make us allocate more than the file could hold.
    if numel.saturating_mul(element_size) > file_len {
        return Err(corrupt(format!(
            "shape {shape:?} needs more bytes than the file's {file_len}"
        )));
    }
    let values = if element_size == 4 {
        let mut values = vec![0f32; numel];
        dataset
            .read_into(&mut values)
            .map_err(|e| corrupt(e.to_string()))?;
        values
    } else {
        let mut values = vec![0f64; numel];
        dataset
            .read_into(&mut values)
            .map_err(|e| corrupt(e.to_string()))?;
        values.into_iter().map(|v| v as f32).collect()
    };
    Ok(SavedWeight {
        name: weight_name.to_string(),
        shape,
        values,
    })
}

/// A list-of-strings attribute as Keras writes it (`load_attributes_from_hdf5_group`): under
/// `name`, or split into `name0`, `name1`, …; `None` when neither is there. An empty array
/// (of any type: h5py stores `[]` as float64) is an empty list.
pub(crate) fn string_list(
    group: &Group,
    name: &str,
    corrupt: &dyn Fn(String) -> LayerError,
) -> Result<Option<Vec<String>>> {
    let attributes = group.attributes().map_err(|e| corrupt(e.to_string()))?;
    let find = |n: &str| attributes.iter().find(|a| a.name == n);
    if let Some(attribute) = find(name) {
        return strings(attribute, corrupt).map(Some);
    }
    let mut chunks = Vec::new();
    while let Some(attribute) = find(&format!("{name}{}", chunks.len())) {
        chunks.push(strings(attribute, corrupt)?);
    }
    Ok((!chunks.is_empty()).then(|| chunks.concat()))
}

/// The strings of an attribute, fixed- or variable-length.
fn strings(attribute: &Attribute, corrupt: &dyn Fn(String) -> LayerError) -> Result<Vec<String>> {
    // An array with a zero dimension (not a product, which a hostile shape could overflow).
    if attribute.shape.contains(&0) {
        return Ok(Vec::new());
    }
    attribute
        .read_strings()
        .map_err(|e| corrupt(format!("attribute {}: {e}", attribute.name)))
}

#[cfg(test)]
mod tests {
    //! The fixtures come from tools/keras_weights_fixtures.py (TF 2.10.1, h5py); the numbers
    //! each file holds are in tests/fixtures/keras/weights/expected.json.
    use super::*;
    use crate::weights::Matching;
    use crate::{
        BatchNormalization, Conv2D, Dense, Flatten, Input, Layer, MaxPooling2D, Model, Padding,
        Sequential,
    };
    use std::path::PathBuf;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/keras/weights")
            .join(name)
    }

    /// A weight as expected.json lists it.
    struct ExpectedWeight {
        layer: String,
        name: String,
        shape: Vec<usize>,
        data: Vec<f32>,
    }

    fn expected(file: &str) -> Vec<ExpectedWeight> {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap())
                .unwrap();
        json["files"][file]["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| ExpectedWeight {
                layer: w["layer"].as_str().unwrap().to_string(),
                name: w["name"].as_str().unwrap().to_string(),
                shape: w["shape"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap() as usize)
                    .collect(),
                data: w["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect(),
            })
            .collect()
    }

    /// `keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, activation='relu',
    /// name='dense'), layers.Dense(2, activation='softmax', name='dense_1')])`
    fn mlp(names: [&str; 2]) -> Model {
        Sequential::new(vec![
            Box::new(Input::new(&[4])),
            Box::new(Dense::new(3).activation("relu").with_name(names[0])),
            Box::new(Dense::new(2).activation("softmax").with_name(names[1])),
        ])
        .unwrap()
    }

    /// `keras.Sequential([keras.Input(shape=(6, 6, 1)), layers.Conv2D(2, 3, name='conv2d'),
    /// layers.BatchNormalization(name='batch_normalization'),
    /// layers.MaxPooling2D(name='max_pooling2d'), layers.Flatten(name='flatten'),
    /// layers.Dense(3, name='dense')])`
    fn cnn_bn() -> Model {
        Sequential::new(vec![
            Box::new(Input::new(&[6, 6, 1])),
            Box::new(Conv2D::new(2, (3, 3)).with_name("conv2d")),
            Box::new(BatchNormalization::new().with_name("batch_normalization")),
            Box::new(MaxPooling2D::new().with_name("max_pooling2d")),
            Box::new(Flatten::new().with_name("flatten")),
            Box::new(Dense::new(3).with_name("dense")),
        ])
        .unwrap()
    }

    /// `keras.Sequential([keras.Input(shape=(4, 4, 1)), layers.Conv2D(2, 3, padding='same',
    /// activation='relu', name='block1_conv1'), layers.MaxPooling2D(name='block1_pool'),
    /// layers.Flatten(name='flatten'), layers.Dense(2, activation='softmax',
    /// name='predictions')])`, written by hand in the official VGG16 files' style.
    fn vgg_style() -> Model {
        Sequential::new(vec![
            Box::new(Input::new(&[4, 4, 1])),
            Box::new(
                Conv2D::new(2, (3, 3))
                    .padding(Padding::Same)
                    .activation("relu")
                    .with_name("block1_conv1"),
            ),
            Box::new(MaxPooling2D::new().with_name("block1_pool")),
            Box::new(Flatten::new().with_name("flatten")),
            Box::new(Dense::new(2).activation("softmax").with_name("predictions")),
        ])
        .unwrap()
    }

    /// Every weight of `model` equals, bit for bit, what Keras saved (the model's weights in
    /// Keras's order are the file's).
    fn assert_weights_equal(model: &Model, file: &str) {
        let expected = expected(file);
        let layers: Vec<(String, Vec<crate::Weight>)> = model
            .layers()
            .iter()
            .map(|l| (l.name(), l.borrow().weights()))
            .collect();
        let actual: Vec<(String, crate::Weight)> = layers
            .into_iter()
            .flat_map(|(name, ws)| ws.into_iter().map(move |w| (name.clone(), w)))
            .collect();
        assert_eq!(actual.len(), expected.len(), "{file}: number of weights");
        for ((layer, weight), want) in actual.iter().zip(&expected) {
            assert_eq!(layer, &want.layer, "{file}");
            assert_eq!(weight.var.shape(), want.shape, "{file}: {}", want.name);
            assert_eq!(
                weight.var.value().as_slice().unwrap(),
                want.data.as_slice(),
                "{file}: {}",
                want.name
            );
        }
    }

    #[test]
    fn keras_save_weights_files_load_into_the_same_models() {
        for file in [
            "mlp.h5",
            "mlp_full_model.h5",
            "mlp_vlen.h5",
            "mlp_chunked.h5",
        ] {
            for matching in [Matching::Topological, Matching::ByName] {
                let mut model = mlp(["dense", "dense_1"]);
                match matching {
                    Matching::Topological => model.load_weights(fixture(file)),
                    Matching::ByName => model.load_weights_by_name(fixture(file)),
                }
                .unwrap_or_else(|e| panic!("{file}: {e}"));
                assert_weights_equal(&model, file);
            }
        }
    }

    #[test]
    fn a_cnn_with_batch_normalization_gets_its_moving_statistics() {
        let mut model = cnn_bn();
        model.load_weights(fixture("cnn_bn.h5")).unwrap();
        assert_weights_equal(&model, "cnn_bn.h5");
        let mut model = cnn_bn();
        model.load_weights_by_name(fixture("cnn_bn.h5")).unwrap();
        assert_weights_equal(&model, "cnn_bn.h5");
    }

    #[test]
    fn official_vgg16_style_names_and_fixed_length_strings_load() {
        let layers = read(&fixture("vgg_style.h5")).unwrap();
        let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            ["block1_conv1", "block1_pool", "flatten", "predictions"]
        );
        assert_eq!(layers[0].weights[0].name, "block1_conv1_W_1:0");
        assert!(layers[1].weights.is_empty());
        let mut model = vgg_style();
        model.load_weights(fixture("vgg_style.h5")).unwrap();
        assert_weights_equal(&model, "vgg_style.h5");
        let mut model = vgg_style();
        model.load_weights_by_name(fixture("vgg_style.h5")).unwrap();
        assert_weights_equal(&model, "vgg_style.h5");
    }

    #[test]
    fn loading_by_position_ignores_layer_names() {
        let mut renamed = mlp(["hidden", "output"]);
        renamed.load_weights(fixture("mlp.h5")).unwrap();
        let reference = {
            let mut m = mlp(["dense", "dense_1"]);
            m.load_weights(fixture("mlp.h5")).unwrap();
            m
        };
        assert_eq!(renamed.get_weights(), reference.get_weights());
    }

    #[test]
    fn loading_by_name_reports_missing_and_extra_layers() {
        let mut renamed = mlp(["hidden", "dense_1"]);
        let err = renamed.load_weights_by_name(fixture("mlp.h5")).unwrap_err();
        let Some(WeightsError::MissingLayers {
            missing,
            file_layers,
            ..
        }) = err.as_weights_error()
        else {
            panic!("{err}");
        };
        assert_eq!(missing, &["hidden"]);
        assert_eq!(file_layers, &["dense", "dense_1"]);
        assert!(err.to_string().contains("[\"hidden\"]"), "{err}");

        let mut one = Sequential::new(vec![
            Box::new(Input::new(&[4])),
            Box::new(Dense::new(3).with_name("dense")),
        ])
        .unwrap();
        let err = one.load_weights_by_name(fixture("mlp.h5")).unwrap_err();
        let Some(WeightsError::ExtraLayers { extra, .. }) = err.as_weights_error() else {
            panic!("{err}");
        };
        assert_eq!(extra, &["dense_1"]);
        let err = one.load_weights(fixture("mlp.h5")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "Layer count mismatch when loading weights from '{}': the model has 1 layers with \
                 weights [\"dense\"], the file has 2 [\"dense\", \"dense_1\"]",
                fixture("mlp.h5").display()
            )
        );
    }

    #[test]
    fn a_shape_mismatch_names_the_layer_the_weight_and_both_shapes_and_changes_nothing() {
        let mut wide = Sequential::new(vec![
            Box::new(Input::new(&[5])),
            Box::new(Dense::new(3).with_name("dense")),
            Box::new(Dense::new(2).with_name("dense_1")),
        ])
        .unwrap();
        let before = wide.get_weights();
        let err = wide.load_weights(fixture("mlp.h5")).unwrap_err();
        assert_eq!(
            err.as_weights_error(),
            Some(&WeightsError::Shape {
                path: fixture("mlp.h5").display().to_string(),
                layer: "dense".to_string(),
                weight: "dense/kernel:0".to_string(),
                file_weight: "dense/kernel:0".to_string(),
                expected: vec![5, 3],
                found: vec![4, 3],
            })
        );
        assert!(err.to_string().contains("expects shape [5, 3]"), "{err}");
        assert_eq!(wide.get_weights(), before);
    }

    #[test]
    fn a_layer_with_another_number_of_weights_is_reported() {
        // Dense without bias: one weight where the file has two.
        let mut model = Sequential::new(vec![
            Box::new(Input::new(&[4])),
            Box::new(Dense::new(3).use_bias(false).with_name("dense")),
            Box::new(Dense::new(2).with_name("dense_1")),
        ])
        .unwrap();
        let err = model.load_weights(fixture("mlp.h5")).unwrap_err();
        let Some(WeightsError::WeightCount {
            layer,
            model_weights,
            file_weights,
            ..
        }) = err.as_weights_error()
        else {
            panic!("{err}");
        };
        assert_eq!(layer, "dense");
        assert_eq!(model_weights, &["dense/kernel:0"]);
        assert_eq!(file_weights, &["dense/kernel:0", "dense/bias:0"]);
    }

    #[test]
    fn truncated_corrupted_and_foreign_files_are_typed_errors_never_panics() {
        for file in ["mlp.h5", "cnn_bn.h5", "vgg_style.h5"] {
            let bytes = std::fs::read(fixture(file)).unwrap();
            for len in (0..bytes.len()).step_by(37).chain([bytes.len() - 1]) {
                let err = parse(bytes[..len].to_vec(), Path::new(file)).unwrap_err();
                assert!(
                    matches!(err.as_weights_error(), Some(WeightsError::Corrupt { .. })),
                    "{file}[..{len}]: {err}"
                );
            }
            // Flipped bytes: an error or (where the byte was padding) the same weights.
            for i in (0..bytes.len()).step_by(53) {
                let mut flipped = bytes.clone();
                flipped[i] ^= 0xff;
                let _ = parse(flipped, Path::new(file));
            }
        }
        let err = parse(b"not an HDF5 file at all".to_vec(), Path::new("x.h5")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("'x.h5' is not a readable HDF5 weights file"),
            "{err}"
        );
        let mut model = mlp(["dense", "dense_1"]);
        let err = model.load_weights(fixture("no_such_file.h5")).unwrap_err();
        assert!(
            matches!(
                err.as_weights_error(),
                Some(WeightsError::Io { action: "read", .. })
            ),
            "{err}"
        );
    }
}
