//! Whole-model files written by Keras itself, read by astrograd: tf.keras 2.10 `.h5` (the
//! course's version) and Keras 3 `.keras` / `.weights.h5`, from
//! `tools/keras_model_file_fixtures.py` and `tools/keras3_model_file_fixtures.py`.
//!
//! Each fixture holds an input batch `x` and Keras's predictions `y_pred`, and the weights
//! after Keras continued the training for three batches from the file. astrograd loads the
//! file, predicts, continues the same three batches (Dropout turned off, as the scripts do)
//! and must land on Keras's weights.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use astrograd_autograd::Tensor;
use astrograd_layers::config::Config;
use astrograd_layers::saving::model_from_config;
use astrograd_layers::training::FitOptions;
use astrograd_layers::{load_model, Model};
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/keras/model_files")
}

/// A fixture's tensors by name.
struct Fixture {
    params: Value,
    tensors: HashMap<String, Tensor>,
}

fn fixture(case: &str) -> Fixture {
    let text = std::fs::read_to_string(dir().join(format!("{case}.json"))).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    let tensors = json["tensors"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, t)| {
            let shape: Vec<usize> = t["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            let data: Vec<f32> = t["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            (name.clone(), Tensor::from_vec(data, &shape).unwrap())
        })
        .collect();
    Fixture {
        params: json["params"].clone(),
        tensors,
    }
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    let (a, b) = (a.to_vec().unwrap(), b.to_vec().unwrap());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn predict(model: &mut Model, x: &Tensor) -> Tensor {
    model.predict(x, 32).unwrap()
}

/// The same model with every Dropout rate set to 0 and the same weights, compile settings and
/// optimizer state: what the fixture scripts train in their continuation.
fn without_dropout(model: &Model) -> Model {
    let mut config = model.model_config().unwrap();
    fn zero_dropout(config: &mut Config) {
        if let Some(Value::Array(layers)) = config.get_mut("layers") {
            for layer in layers {
                if layer["class_name"] == "Dropout" {
                    layer["config"]["rate"] = 0.0.into();
                }
                if let Some(Value::Object(inner)) = layer.get_mut("config") {
                    zero_dropout(inner);
                }
            }
        }
    }
    zero_dropout(&mut config);
    let mut copy = model_from_config(model.class_name(), &config).unwrap();
    copy.set_weights(&model.get_weights()).unwrap();
    copy.compile_from_training_config(&model.training_config().unwrap().unwrap())
        .unwrap();
    let (from, to) = (model.trainable_weights(), copy.trainable_weights());
    let source = model.optimizer().unwrap();
    let slots: Vec<_> = source
        .slot_names()
        .into_iter()
        .flat_map(|slot| {
            from.iter()
                .zip(&to)
                .map(move |(f, t)| (slot, f.var.clone(), t.var.clone()))
        })
        .filter_map(|(slot, f, t)| source.slot(&f, slot).map(|v| (slot, t, v)))
        .collect();
    let iterations = source.iterations();
    let optimizer = copy.optimizer_mut().unwrap();
    for (slot, var, value) in slots {
        optimizer.set_slot(&var, slot, value).unwrap();
    }
    optimizer.set_iterations(iterations);
    copy
}

/// Loads `file`, checks the predictions, continues three batches and compares the weights.
fn check_case(case: &str, file: &str, weight_names: &str, tolerance: f32) {
    let f = fixture(case);
    let mut model = load_model(dir().join(file)).unwrap();
    assert!(
        model.is_compiled(),
        "{file}: the compile settings were not restored"
    );
    let y = predict(&mut model, &f.tensors["x"]);
    let diff = max_abs_diff(&y, &f.tensors["y_pred"]);
    assert!(
        diff <= 1e-5,
        "{file}: predictions differ from Keras's by {diff}"
    );

    let mut model = without_dropout(&model);
    let options = FitOptions::default()
        .batch_size(4)
        .epochs(1)
        .shuffle(false)
        .verbose(0);
    model
        .fit(&f.tensors["x_train"], &f.tensors["y_train"], options)
        .unwrap();
    let names: Vec<&str> = f.params[weight_names]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    // Every weight, the moving statistics of BatchNormalization included.
    let weights = model.weights();
    assert_eq!(weights.len(), names.len(), "{file}");
    for (weight, name) in weights.iter().zip(names) {
        let expected = &f.tensors[&format!("after/{name}")];
        let diff = max_abs_diff(&weight.var.value(), expected);
        println!("{file}: {name} after 3 more steps differs from Keras by {diff:.2e}");
        assert!(
            diff <= tolerance,
            "{file}: {name} differs from Keras's after 3 more steps by {diff}"
        );
    }
}

#[test]
fn tf_keras_2_10_models_load_predict_and_continue_training_as_tf_does() {
    for case in ["mlp_adam_tf210", "cnn_rmsprop_tf210", "residual_sgd_tf210"] {
        check_case(case, &format!("{case}.h5"), "weight_names", 1e-4);
    }
}

#[test]
fn keras_3_models_load_and_predict_as_keras_does() {
    for case in [
        "mlp_adam_keras3",
        "cnn_rmsprop_keras3",
        "residual_sgd_keras3",
    ] {
        let f = fixture(case);
        let mut model = load_model(dir().join(format!("{case}.keras"))).unwrap();
        let diff = max_abs_diff(&predict(&mut model, &f.tensors["x"]), &f.tensors["y_pred"]);
        assert!(
            diff <= 1e-5,
            "{case}.keras: predictions differ from Keras's by {diff}"
        );
        // The weights file alone, into the model the .keras file describes.
        let mut fresh =
            model_from_config(model.class_name(), &model.model_config().unwrap()).unwrap();
        fresh
            .load_weights(dir().join(format!("{case}.weights.h5")))
            .unwrap();
        let diff = max_abs_diff(&predict(&mut fresh, &f.tensors["x"]), &f.tensors["y_pred"]);
        assert!(
            diff <= 1e-5,
            "{case}.weights.h5: predictions differ from Keras's by {diff}"
        );
    }
}

#[test]
fn keras_3_models_continue_training_as_keras_3_does() {
    // Adam and SGD follow the same update rule in Keras 3 as in TF 2.10; RMSprop does not
    // (Keras 3 puts ε inside the square root), so it is compared with a looser bound.
    check_case(
        "mlp_adam_keras3",
        "mlp_adam_keras3.keras",
        "weight_paths",
        1e-4,
    );
    check_case(
        "residual_sgd_keras3",
        "residual_sgd_keras3.keras",
        "weight_paths",
        1e-4,
    );
}

#[test]
fn a_tf_keras_2_10_weights_file_loads_into_the_model_it_came_from() {
    let f = fixture("residual_sgd_tf210_weights");
    let text = std::fs::read_to_string(dir().join("residual_sgd_tf210_weights.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    let config = json["model_config"].clone();
    let mut model = model_from_config(
        config["class_name"].as_str().unwrap(),
        config["config"].as_object().unwrap(),
    )
    .unwrap();
    model
        .load_weights(dir().join("residual_sgd_tf210_weights.h5"))
        .unwrap();
    let diff = max_abs_diff(&predict(&mut model, &f.tensors["x"]), &f.tensors["y_pred"]);
    assert!(diff <= 1e-5, "predictions differ from Keras's by {diff}");
}

#[test]
fn a_tf_keras_2_10_model_continues_here_and_goes_on_as_a_keras_3_file() {
    // tf.keras 2.10 → astrograd → three more steps → .keras → astrograd again (and, with
    // ASTROGRAD_MODEL_FILES_OUT set, for Keras 3 through tools/check_saved_models.py).
    let f = fixture("mlp_adam_tf210");
    let model = load_model(dir().join("mlp_adam_tf210.h5")).unwrap();
    let mut model = without_dropout(&model);
    let options = FitOptions::default()
        .batch_size(4)
        .epochs(1)
        .shuffle(false)
        .verbose(0);
    model
        .fit(&f.tensors["x_train"], &f.tensors["y_train"], options)
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("continued.keras");
    model.save(&path).unwrap();
    let mut again = load_model(&path).unwrap();
    let x = &f.tensors["x"];
    let expected = predict(&mut model, x);
    assert_eq!(
        predict(&mut again, x).to_vec().unwrap(),
        expected.to_vec().unwrap()
    );
    let (a, b) = (model.optimizer().unwrap(), again.optimizer().unwrap());
    assert_eq!(b.iterations(), a.iterations());
    for (wa, wb) in model
        .trainable_weights()
        .iter()
        .zip(again.trainable_weights())
    {
        for slot in a.slot_names() {
            assert_eq!(
                a.slot(&wa.var, slot).unwrap().to_vec().unwrap(),
                b.slot(&wb.var, slot).unwrap().to_vec().unwrap()
            );
        }
    }
    if let Some(export) = std::env::var_os("ASTROGRAD_MODEL_FILES_OUT") {
        let export = Path::new(&export);
        std::fs::create_dir_all(export).unwrap();
        std::fs::copy(&path, export.join("tf210_continued.keras")).unwrap();
        let tensor = |t: &Tensor| serde_json::json!({"shape": t.shape(), "data": t.to_vec().unwrap().iter().map(|&v| f64::from(v)).collect::<Vec<_>>()});
        let sidecar = serde_json::json!({"tensors": {"x": tensor(x), "y_pred": tensor(&expected)}});
        std::fs::write(export.join("tf210_continued.json"), sidecar.to_string()).unwrap();
    }
}

#[test]
fn the_round_trip_tf_keras_2_10_to_astrograd_to_keras_3_and_back() {
    // astrograd_mlp_continued.keras: mlp_adam_tf210.h5 continued here (test above);
    // astrograd_mlp_continued_keras3.*: that file opened and continued by Keras 3
    // (tools/keras3_continue_astrograd_file.py).
    let source = fixture("mlp_adam_tf210");
    let keras3 = fixture("astrograd_mlp_continued_keras3");
    let mut ours = load_model(dir().join("astrograd_mlp_continued.keras")).unwrap();
    let x = &keras3.tensors["x"];
    let diff = max_abs_diff(&predict(&mut ours, x), &keras3.tensors["y_pred_loaded"]);
    assert!(
        diff <= 1e-5,
        "Keras 3 predicts {diff} away from astrograd on astrograd's file"
    );

    // The same three batches, here and in Keras 3, from the same file.
    let mut ours = without_dropout(&ours);
    let options = FitOptions::default()
        .batch_size(4)
        .epochs(1)
        .shuffle(false)
        .verbose(0);
    ours.fit(
        &source.tensors["x_train"],
        &source.tensors["y_train"],
        options,
    )
    .unwrap();
    let paths: Vec<&str> = keras3.params["weight_paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for (weight, path) in ours.weights().iter().zip(paths) {
        let diff = max_abs_diff(
            &weight.var.value(),
            &keras3.tensors[&format!("after/{path}")],
        );
        println!("continued here and in Keras 3: {path} differs by {diff:.2e}");
        assert!(diff <= 1e-4, "{path} differs from Keras 3's by {diff}");
    }

    // And Keras 3's file back here.
    let mut back = load_model(dir().join("astrograd_mlp_continued_keras3.keras")).unwrap();
    let diff = max_abs_diff(&predict(&mut back, x), &keras3.tensors["y_pred"]);
    assert!(
        diff <= 1e-5,
        "Keras 3's file predicts {diff} away from Keras 3 here"
    );
    assert_eq!(back.optimizer().unwrap().iterations(), 8);
}
