//! Training parity with Keras: the course's Session 1 MLP and Session 2 CNN, trained by `fit` for six
//! Adam steps from the same weights and data as a TF 2.10 run, must log the same losses, reach the
//! same weights after every step, and predict the same probabilities.
//!
//! The weights and the data are closed-form functions of their indices (the same formulas as
//! `tools/keras_training_fixtures.py`, which produced `tests/fixtures/keras/training/*.json`):
//!
//! ```text
//! weight t, element i:  kernel  limit · sin(0.7·i + 1.3·t),  limit = sqrt(6 / (fan_in + fan_out))
//!                       bias    0.01 · cos(0.3·i + t)
//! input element j:      0.5 + 0.5·sin(0.0123·j + 0.5)        label k: (7·k) mod 10
//! ```
//!
//! Keras: `model.compile(loss='sparse_categorical_crossentropy', optimizer='adam',
//! metrics=['accuracy']); model.fit(x, y, batch_size=32, epochs=2, shuffle=False)`.
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use astrograd::layers::training::{Logs, TrainingContext};
use astrograd::layers::{
    Callback, Conv2D, Dense, FitOptions, Flatten, Layer, MaxPooling2D, Model, Sequential,
};
use astrograd::Tensor;
use serde_json::Value;

const SAMPLES: usize = 96;

/// What the recorder keeps after each step: the logs and every weight's values.
struct Step {
    loss: f32,
    accuracy: f32,
    weights: Vec<Vec<f32>>,
}

/// A callback that records each step, as the Keras script's `Recorder` does.
struct Recorder(Rc<RefCell<Vec<Step>>>);

impl Callback for Recorder {
    fn on_batch_end(
        &mut self,
        _batch: usize,
        logs: &Logs,
        ctx: &mut TrainingContext,
    ) -> astrograd::layers::Result<()> {
        self.0.borrow_mut().push(Step {
            loss: logs.get("loss").expect("fit logs the loss"),
            accuracy: logs.get("accuracy").expect("fit logs the accuracy"),
            weights: ctx
                .model()
                .weights()
                .iter()
                .map(|w| w.var.value().to_vec().unwrap())
                .collect(),
        });
        Ok(())
    }
}

/// The formula weights, in `model.weights()` order (Keras's order).
fn formula_weights(model: &Model) -> Vec<Tensor> {
    model
        .weights()
        .iter()
        .enumerate()
        .map(|(t, w)| {
            let shape = w.var.shape();
            let n: usize = shape.iter().product();
            let values: Vec<f32> = if shape.len() == 1 {
                (0..n)
                    .map(|i| (0.01 * (0.3 * i as f64 + t as f64).cos()) as f32)
                    .collect()
            } else {
                let receptive: usize = shape[..shape.len() - 2].iter().product();
                let fan_in = shape[shape.len() - 2] * receptive;
                let fan_out = shape[shape.len() - 1] * receptive;
                let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
                (0..n)
                    .map(|i| (limit * (0.7 * i as f64 + 1.3 * t as f64).sin()) as f32)
                    .collect()
            };
            Tensor::from_vec(values, &shape).unwrap()
        })
        .collect()
}

/// The formula inputs `(96, 28, 28)` and labels `(96,)`.
fn formula_data() -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..SAMPLES * 28 * 28)
        .map(|j| (0.5 + 0.5 * (0.0123 * j as f64 + 0.5).sin()) as f32)
        .collect();
    let y: Vec<f32> = (0..SAMPLES).map(|k| ((7 * k) % 10) as f32).collect();
    (
        Tensor::from_vec(x, &[SAMPLES, 28, 28]).unwrap(),
        Tensor::from_vec(y, &[SAMPLES]).unwrap(),
    )
}

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keras/training")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(what: &str, ours: f64, keras: f64, rtol: f64, atol: f64) {
    assert!(
        (ours - keras).abs() <= atol + rtol * keras.abs(),
        "{what}: astrograd {ours}, Keras {keras}"
    );
}

/// Trains `model` as the Keras script did and compares every recorded step.
fn check_training(name: &str, mut model: Model, x: Tensor) {
    let keras = fixture(name);
    let names: Vec<String> = model.weights().iter().map(|w| w.name.clone()).collect();
    let keras_names: Vec<String> = keras["weight_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, keras_names, "weight names and order");
    model.set_weights(&formula_weights(&model)).unwrap();
    model
        .compile("sparse_categorical_crossentropy", "adam", &["accuracy"])
        .unwrap();
    let (_, y) = formula_data();
    let steps = Rc::new(RefCell::new(Vec::new()));
    let history = model
        .fit(
            &x,
            &y,
            FitOptions::default()
                .batch_size(32)
                .epochs(2)
                .shuffle(false)
                .verbose(0)
                .callback(Recorder(steps.clone())),
        )
        .unwrap();

    let steps = steps.borrow();
    let keras_steps = keras["steps"].as_array().unwrap();
    assert_eq!(steps.len(), keras_steps.len(), "number of steps");
    for (s, (ours, theirs)) in steps.iter().zip(keras_steps).enumerate() {
        close(
            &format!("{name} step {s} loss"),
            ours.loss as f64,
            theirs["loss"].as_f64().unwrap(),
            1e-5,
            1e-6,
        );
        close(
            &format!("{name} step {s} accuracy"),
            ours.accuracy as f64,
            theirs["accuracy"].as_f64().unwrap(),
            0.0,
            1e-6,
        );
        for (w, weight_name) in keras_names.iter().enumerate() {
            let summary = &theirs["weights"][weight_name];
            let values = &ours.weights[w];
            let sumsq: f64 = values.iter().map(|&v| v as f64 * v as f64).sum();
            let what = format!("{name} step {s} {weight_name}");
            close(
                &format!("{what} Σw²"),
                sumsq,
                summary["sumsq"].as_f64().unwrap(),
                1e-5,
                1e-9,
            );
            let positions = summary["positions"].as_array().unwrap();
            let samples = summary["samples"].as_array().unwrap();
            for (p, sample) in positions.iter().zip(samples) {
                let p = p.as_u64().unwrap() as usize;
                close(
                    &format!("{what}[{p}]"),
                    values[p] as f64,
                    sample.as_f64().unwrap(),
                    1e-4,
                    1e-6,
                );
            }
        }
    }
    for (key, keras_values) in keras["history"].as_object().unwrap() {
        let ours = &history.history[key.as_str()];
        for (e, (&a, b)) in ours
            .iter()
            .zip(keras_values.as_array().unwrap())
            .enumerate()
        {
            close(
                &format!("{name} history {key} epoch {e}"),
                a as f64,
                b.as_f64().unwrap(),
                1e-5,
                1e-6,
            );
        }
    }
    let first_four = x.slice_axis(0, 0, 4).unwrap();
    let predictions = model.predict(&first_four, 32).unwrap();
    let keras_predictions = &keras["predictions"]["data"];
    for (i, (&a, b)) in predictions
        .as_slice()
        .unwrap()
        .iter()
        .zip(keras_predictions.as_array().unwrap())
        .enumerate()
    {
        close(
            &format!("{name} prediction {i}"),
            a as f64,
            b.as_f64().unwrap(),
            1e-4,
            1e-6,
        );
    }
}

/// Session 1: `Flatten(input_shape=(28, 28)) → Dense(300, relu) → Dense(100, relu) → Dense(10, softmax)`.
#[test]
fn session1_mlp_trains_as_keras() {
    let model = Sequential::new(vec![
        Box::new(Flatten::new().with_input_shape(&[28, 28])),
        Box::new(Dense::new(300).activation("relu")),
        Box::new(Dense::new(100).activation("relu")),
        Box::new(Dense::new(10).activation("softmax")),
    ])
    .unwrap();
    let (x, _) = formula_data();
    check_training("mlp", model, x);
}

/// Session 2: `Conv2D(12, (3, 3), relu, input_shape=(28, 28, 1)) → MaxPooling2D((2, 2)) → Flatten →
/// Dense(128, relu) → Dense(10, softmax)`.
#[test]
fn session2_cnn_trains_as_keras() {
    let model = Sequential::new(vec![
        Box::new(
            Conv2D::new(12, (3, 3))
                .activation("relu")
                .with_input_shape(&[28, 28, 1]),
        ),
        Box::new(MaxPooling2D::new().pool_size((2, 2))),
        Box::new(Flatten::new()),
        Box::new(Dense::new(128).activation("relu")),
        Box::new(Dense::new(10).activation("softmax")),
    ])
    .unwrap();
    let (x, _) = formula_data();
    let x = x.reshape(&[SAMPLES, 28, 28, 1]).unwrap();
    check_training("cnn", model, x);
}
