//! `model.save(path)` then `load_model(path)` gives the same model: the same config, the same
//! predictions bit for bit, the same compile settings and optimizer slots, through every
//! format (`.keras`, `.h5`) and for weights files (`.weights.h5`, `.h5`). Bad files are typed errors naming the file and the part.
use std::path::Path;

use astrograd_autograd::Tensor;
use astrograd_layers::applications::ReLU;
use astrograd_layers::saving::model_from_config;
use astrograd_layers::training::FitOptions;
use astrograd_layers::{
    input, load_model, Activation, Add, AveragePooling2D, BatchNormalization, Conv2D, Dense,
    DepthwiseConv2D, Dropout, Flatten, GlobalAveragePooling2D, GlobalMaxPooling2D, Input, Layer,
    MaxPooling2D, Model, Padding, Rescaling, Sequential, ZeroPadding2D,
};
use astrograd_optim::{Adam, RMSprop, SGD};

/// Every layer class in one Sequential CNN (input 9×9×2, 4 classes).
fn every_layer_sequential() -> Model {
    Sequential::new(vec![
        Box::new(Input::new(&[9, 9, 2])),
        Box::new(Rescaling::new(0.5).offset(-0.25)),
        Box::new(ZeroPadding2D::new(((1, 0), (2, 1)))),
        Box::new(
            Conv2D::new(3, (3, 2))
                .strides(2)
                .padding(Padding::Same)
                .activation("relu"),
        ),
        Box::new(BatchNormalization::new().momentum(0.9)),
        Box::new(
            DepthwiseConv2D::new(2)
                .depth_multiplier(2)
                .padding(Padding::Same),
        ),
        Box::new(ReLU::new().max_value(6.0)),
        Box::new(MaxPooling2D::new().pool_size(2).strides(1)),
        Box::new(AveragePooling2D::new().padding(Padding::Same)),
        Box::new(Activation::new("tanh")),
        Box::new(Flatten::new()),
        Box::new(Dropout::new(0.25)),
        Box::new(Dense::new(4).activation("softmax")),
    ])
    .unwrap()
}

/// A functional graph with a residual Add and both global poolings (input 6×6×3, 4 classes).
fn residual_functional() -> Model {
    let x = input(&[6, 6, 3]);
    let y = Conv2D::new(3, 3).padding(Padding::Same).apply(&x).unwrap();
    let y = BatchNormalization::new().apply(&y).unwrap();
    let sum = Add::new().apply_all(&[&x, &y]).unwrap();
    let a = GlobalMaxPooling2D::new().apply(&sum).unwrap();
    let out = Dense::new(4).activation("softmax").apply(&a).unwrap();
    Model::new(&x, &out).unwrap()
}

/// A pretrained-base style model: a functional model used as the first layer of a Sequential.
fn nested() -> Model {
    let x = input(&[6, 6, 3]);
    let y = Conv2D::new(2, 3).activation("relu").apply(&x).unwrap();
    let y = GlobalAveragePooling2D::new().apply(&y).unwrap();
    let base = Model::new(&x, &y).unwrap().with_name("base");
    Sequential::new(vec![
        Box::new(Input::new(&[6, 6, 3])),
        Box::new(base),
        Box::new(Dense::new(4).activation("softmax")),
    ])
    .unwrap()
}

/// A batch for a model's input, and integer labels for its 4 classes.
fn data(model: &Model, n: usize) -> (Tensor, Tensor) {
    let mut shape = vec![n];
    shape.extend(model.input_shape().unwrap()[1..].iter().map(|d| d.unwrap()));
    let size: usize = shape.iter().product();
    let x = Tensor::from_vec(
        (0..size)
            .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
            .collect(),
        &shape,
    )
    .unwrap();
    let y = Tensor::from_vec((0..n).map(|i| (i % 4) as f32).collect(), &[n]).unwrap();
    (x, y)
}

fn predict(model: &mut Model, x: &Tensor) -> Vec<f32> {
    model.predict(x, 8).unwrap().to_vec().unwrap()
}

/// Every slot of every trainable weight, in order.
fn slots(model: &Model) -> Vec<Vec<f32>> {
    let optimizer = model.optimizer().unwrap();
    let mut out = Vec::new();
    for slot in optimizer.slot_names() {
        for weight in model.trainable_weights() {
            out.push(
                optimizer
                    .slot(&weight.var, slot)
                    .map(|t| t.to_vec().unwrap())
                    .unwrap_or_default(),
            );
        }
    }
    out
}

fn fit(model: &mut Model, x: &Tensor, y: &Tensor, epochs: usize, initial_epoch: usize) {
    let options = FitOptions::default()
        .batch_size(4)
        .epochs(epochs)
        .initial_epoch(initial_epoch)
        .shuffle(false)
        .verbose(0);
    model.fit(x, y, options).unwrap();
}

#[test]
fn every_layer_and_both_model_kinds_round_trip_through_each_format() {
    let dir = tempfile::tempdir().unwrap();
    let optimizers: [fn() -> astrograd_layers::training::compile::OptimizerSpec; 3] = [
        || Adam::new(0.01).amsgrad(true).into(),
        || RMSprop::new(0.01).momentum(0.5).centered(true).into(),
        || SGD::new(0.05).momentum(0.9).nesterov(true).into(),
    ];
    for (make, optimizer) in [
        every_layer_sequential as fn() -> Model,
        residual_functional,
        nested,
    ]
    .iter()
    .zip(optimizers)
    {
        let mut model = make();
        model
            .compile(
                "sparse_categorical_crossentropy",
                optimizer(),
                &["accuracy"],
            )
            .unwrap();
        let (x, y) = data(&model, 8);
        fit(&mut model, &x, &y, 1, 0);
        let expected = predict(&mut model, &x);
        for name in ["m.keras", "m.h5", "m.hdf5"] {
            let path = dir.path().join(name);
            model.save(&path).unwrap();
            let mut loaded = load_model(&path).unwrap();
            let what = format!("{} via {name}", model.name());
            assert_eq!(
                loaded.model_config().unwrap(),
                model.model_config().unwrap(),
                "{what}"
            );
            if name == "m.keras" {
                // Keras 3 keeps a metric as the string given to compile ("accuracy"), which
                // the first batch resolves again, to the same function.
                assert_eq!(loaded.metrics_names(), model.metrics_names(), "{what}");
                assert_eq!(loaded.loss(), model.loss(), "{what}");
                let config = |m: &Model| m.optimizer().unwrap().get_config().unwrap();
                assert_eq!(config(&loaded), config(&model), "{what}");
            } else {
                assert_eq!(
                    loaded.training_config().unwrap(),
                    model.training_config().unwrap(),
                    "{what}"
                );
            }
            assert_eq!(predict(&mut loaded, &x), expected, "{what}");
            assert_eq!(loaded.optimizer().unwrap().iterations(), 2, "{what}");
            assert_eq!(slots(&loaded), slots(&model), "{what}");
        }
        export_for_python_check(&model, &x, &expected, dir.path());
        for name in ["w.weights.h5", "w.h5"] {
            let path = dir.path().join(name);
            model.save_weights(&path).unwrap();
            let mut fresh =
                model_from_config(model.class_name(), &model.model_config().unwrap()).unwrap();
            fresh.load_weights(&path).unwrap();
            assert_eq!(
                predict(&mut fresh, &x),
                expected,
                "{} via {name}",
                model.name()
            );
        }
    }
}

/// With `ASTROGRAD_MODEL_FILES_OUT=DIR`, copies the files of this model into DIR, each with a
/// JSON of the input batch and astrograd's predictions, for `tools/check_saved_models.py`
/// (which loads them with h5py and Keras and compares).
fn export_for_python_check(model: &Model, x: &Tensor, y_pred: &[f32], written: &Path) {
    let Some(out) = std::env::var_os("ASTROGRAD_MODEL_FILES_OUT") else {
        return;
    };
    let out = Path::new(&out);
    std::fs::create_dir_all(out).unwrap();
    let tensor = |shape: &[usize], data: &[f32]| serde_json::json!({"shape": shape, "data": data.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()});
    let rows = x.shape()[0];
    let sidecar = serde_json::json!({"tensors": {
        "x": tensor(x.shape(), &x.to_vec().unwrap()),
        "y_pred": tensor(&[rows, y_pred.len() / rows], y_pred),
    }});
    for name in ["m.keras", "m.h5"] {
        let stem = format!("{}_{}", model.name(), name.replace('.', "_"));
        let extension = name.rsplit('.').next().unwrap();
        std::fs::copy(written.join(name), out.join(format!("{stem}.{extension}"))).unwrap();
        std::fs::write(out.join(format!("{stem}.json")), sidecar.to_string()).unwrap();
    }
    // Weights files: Keras 3's beside the .keras whose config rebuilds the model; tf.keras's
    // with the model's config in its JSON.
    let name = model.name();
    model
        .save_weights(out.join(format!("{name}_m_keras.weights.h5")))
        .unwrap();
    model
        .save_weights(out.join(format!("{name}_w.h5")))
        .unwrap();
    let mut with_config = sidecar.clone();
    with_config["model_config"] = serde_json::json!({"class_name": model.class_name(), "config": model.model_config().unwrap()});
    std::fs::write(out.join(format!("{name}_w.json")), with_config.to_string()).unwrap();
}

/// The error of `load_model`, as text.
fn load_error(path: &Path) -> String {
    match load_model(path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_files_are_errors_that_name_the_file_and_the_part() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = every_layer_sequential();
    model
        .compile("sparse_categorical_crossentropy", "adam", &[])
        .unwrap();
    let (x, y) = data(&model, 4);
    fit(&mut model, &x, &y, 1, 0);
    for name in ["m.keras", "m.h5"] {
        let path = dir.path().join(name);
        model.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        // Truncated.
        let cut = dir.path().join(format!("cut_{name}"));
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let err = load_error(&cut);
        assert!(err.contains(&cut.display().to_string()), "{err}");
        // Not a model file at all.
        let text = dir.path().join(format!("text_{name}"));
        std::fs::write(&text, "hello").unwrap();
        assert!(load_error(&text).contains("text_"));
    }
    // A weights file is not a whole model.
    let weights = dir.path().join("w.h5");
    model.save_weights(&weights).unwrap();
    assert!(
        load_error(&weights).contains("model_config"),
        "{}",
        load_error(&weights)
    );
    // Another extension.
    let err = model.save(dir.path().join("m.pt")).unwrap_err().to_string();
    assert!(err.contains(".keras") && err.contains(".h5"), "{err}");
    // Saving over an existing file: an error leaves the old file whole.
    let path = dir.path().join("m.h5");
    let before = std::fs::read(&path).unwrap();
    let mut unbuilt = Sequential::new(vec![Box::new(Dense::new(2))]).unwrap();
    assert!(unbuilt.save(&path).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    unbuilt.add(Dense::new(1)).unwrap();
}

#[test]
fn a_config_that_does_not_match_its_weights_is_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let mut small =
        Sequential::new(vec![Box::new(Input::new(&[3])), Box::new(Dense::new(2))]).unwrap();
    let mut other =
        Sequential::new(vec![Box::new(Input::new(&[3])), Box::new(Dense::new(5))]).unwrap();
    for name in ["w.weights.h5", "w.h5"] {
        let path = dir.path().join(name);
        small.save_weights(&path).unwrap();
        let before = other.get_weights();
        let err = other.load_weights(&path).unwrap_err().to_string();
        assert!(
            err.contains("shape") || err.contains("Shape"),
            "{name}: {err}"
        );
        assert_eq!(other.get_weights(), before, "{name}");
    }
    small.compile("mse", "sgd", &[]).unwrap();
    other.compile("mse", "sgd", &[]).unwrap();
}

#[test]
fn the_applications_round_trip_as_transfer_learning_uses_them() {
    use astrograd_layers::applications::{mobilenet_v2, resnet50, vgg16, Options};
    let dir = tempfile::tempdir().unwrap();
    let options = |size: usize| {
        Options::new()
            .include_top(false)
            .weights("none")
            .input_shape(&[size, size, 3])
    };
    let bases = [
        ("vgg16", vgg16(&options(32)).unwrap()),
        ("mobilenet_v2", mobilenet_v2(&options(32), 0.35).unwrap()),
        ("resnet50", resnet50(&options(32)).unwrap()),
    ];
    for (name, mut base) in bases {
        // The course's recipe: a frozen base under a new head.
        base.set_trainable(false);
        let mut model = Sequential::new(vec![
            Box::new(Input::new(&[32, 32, 3])),
            Box::new(base),
            Box::new(Flatten::new()),
            Box::new(Dense::new(1).activation("sigmoid")),
        ])
        .unwrap();
        model
            .compile("binary_crossentropy", RMSprop::new(2e-5), &["acc"])
            .unwrap();
        let x = Tensor::from_vec(
            (0..2 * 32 * 32 * 3).map(|i| (i % 251) as f32).collect(),
            &[2, 32, 32, 3],
        )
        .unwrap();
        let expected = predict(&mut model, &x);
        for file in ["m.keras", "m.h5"] {
            let path = dir.path().join(file);
            model.save(&path).unwrap();
            let mut loaded = load_model(&path).unwrap();
            assert_eq!(
                loaded.model_config().unwrap(),
                model.model_config().unwrap(),
                "{name} via {file}"
            );
            assert_eq!(predict(&mut loaded, &x), expected, "{name} via {file}");
            assert_eq!(
                loaded.trainable_weights().len(),
                2,
                "{name} via {file}: the frozen base thawed"
            );
        }
    }
}

/// Rewrites one entry of a .keras zip.
fn rewrite_entry(path: &Path, entry: &str, edit: impl Fn(String) -> String) {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().unwrap().to_string();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        if name == entry {
            bytes = edit(String::from_utf8(bytes).unwrap()).into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    std::fs::write(path, out.finish().unwrap().into_inner()).unwrap();
}

#[test]
fn unknown_classes_lambdas_and_newer_formats_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let model = Sequential::new(vec![
        Box::new(Input::new(&[3])),
        Box::new(Dense::new(2).with_name("head")),
    ])
    .unwrap();
    let path = dir.path().join("m.keras");
    for (edit, expected) in [
        (
            ("\"class_name\": \"Dense\"", "\"class_name\": \"LSTM\""),
            "LSTM layer \"head\"",
        ),
        (
            ("\"class_name\": \"Dense\"", "\"class_name\": \"Lambda\""),
            "Lambda layer \"head\"",
        ),
        (
            (
                "\"kernel_regularizer\":null",
                "\"kernel_regularizer\": {\"class_name\": \"L2\"}",
            ),
            "kernel_regularizer",
        ),
    ] {
        model.save(&path).unwrap();
        rewrite_entry(&path, "config.json", |text| {
            let text = text.replace("\"class_name\":\"", "\"class_name\": \"");
            assert!(text.contains(edit.0), "{text}");
            text.replace(edit.0, edit.1)
        });
        let err = load_error(&path);
        assert!(
            err.contains(expected) && err.contains("config.json"),
            "{err}"
        );
    }
    model.save(&path).unwrap();
    rewrite_entry(&path, "metadata.json", |text| {
        text.replace("3.15.1", "4.0.0")
    });
    let err = load_error(&path);
    assert!(
        err.contains("4.0.0") && err.contains("metadata.json"),
        "{err}"
    );
    let err = load_error(&dir.path().join("missing.keras"));
    assert!(err.contains("missing.keras"), "{err}");
}
