//! Loading the Keras fixtures of `tests/fixtures/keras/` (written by
//! `tools/keras_op_fixtures.py`, TF 2.10.1; schema in `tools/README.md`).
#![allow(dead_code)] // each test file uses a different part of this module

use std::collections::HashMap;
use std::path::PathBuf;

use astrograd::Tensor;
use serde_json::Value;

/// One fixture case: the op's parameters and its named tensors.
pub struct Fixture {
    pub case: String,
    pub params: Value,
    tensors: HashMap<String, Tensor>,
}

impl Fixture {
    /// Reads `tests/fixtures/keras/<case>.json`.
    pub fn load(case: &str) -> Fixture {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/keras")
            .join(format!("{case}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
        let json: Value = serde_json::from_str(&text).expect("fixture is valid JSON");
        let mut tensors = HashMap::new();
        for (name, t) in json["tensors"].as_object().expect("fixture has tensors") {
            let shape: Vec<usize> = t["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            let data: Vec<f32> = t["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            tensors.insert(name.clone(), Tensor::from_vec(data, &shape).unwrap());
        }
        Fixture {
            case: case.to_string(),
            params: json["params"].clone(),
            tensors,
        }
    }

    /// The tensor called `name` (panics with the case name if absent).
    pub fn tensor(&self, name: &str) -> Tensor {
        self.tensors
            .get(name)
            .unwrap_or_else(|| panic!("fixture {} has no tensor {name}", self.case))
            .clone()
    }

    /// A parameter given as a pair, e.g. `"strides": [2, 2]`.
    pub fn pair(&self, key: &str) -> [usize; 2] {
        let v = self.params[key]
            .as_array()
            .unwrap_or_else(|| panic!("fixture {} has no pair {key}", self.case));
        [
            v[0].as_u64().unwrap() as usize,
            v[1].as_u64().unwrap() as usize,
        ]
    }

    /// A string parameter, e.g. `"padding": "same"`.
    pub fn string(&self, key: &str) -> String {
        self.params[key]
            .as_str()
            .unwrap_or_else(|| panic!("fixture {} has no string {key}", self.case))
            .to_string()
    }

    /// A number parameter, e.g. `"epsilon": 0.001`.
    pub fn number(&self, key: &str) -> f32 {
        self.params[key]
            .as_f64()
            .unwrap_or_else(|| panic!("fixture {} has no number {key}", self.case)) as f32
    }

    /// A boolean parameter, e.g. `"from_logits": true`.
    pub fn flag(&self, key: &str) -> bool {
        self.params[key]
            .as_bool()
            .unwrap_or_else(|| panic!("fixture {} has no flag {key}", self.case))
    }
}

/// Asserts same shape and `|a − e| ≤ tol · (1 + |e|)` everywhere, naming the worst element.
pub fn assert_close(what: &str, actual: &Tensor, expected: &Tensor, tol: f32) {
    assert_eq!(actual.shape(), expected.shape(), "{what}: shapes differ");
    let mut worst = (0usize, 0.0f32);
    for (i, (&a, &e)) in actual
        .as_slice()
        .unwrap()
        .iter()
        .zip(expected.as_slice().unwrap())
        .enumerate()
    {
        let err = (a - e).abs() / (1.0 + e.abs());
        if err.is_nan() || err > worst.1 {
            worst = (i, err);
        }
    }
    let (i, err) = worst;
    assert!(
        err <= tol,
        "{what}: element {i} is {} but Keras gave {} (relative error {err:.2e} > {tol:.0e})",
        actual.as_slice().unwrap()[i],
        expected.as_slice().unwrap()[i]
    );
}

/// Fashion-MNIST `((x_train, y_train), (x_test, y_test))`, or `None` where it cannot be loaded
/// and a test may skip: the skip is recorded by [`astrograd::kernels::test_env::skip`] (standard
/// error and `ASTROGRAD_SKIP_LOG`); with `ASTROGRAD_REQUIRE_DATA=1` (CI) it panics instead.
pub fn fashion_mnist_or_skip() -> Option<((Tensor, Tensor), (Tensor, Tensor))> {
    use astrograd::kernels::test_env;
    match astrograd::data::fashion_mnist::load_data() {
        Ok(data) => Some(data),
        Err(e) => {
            test_env::skip(
                test_env::REQUIRE_DATA,
                &format!("Fashion-MNIST could not be loaded: {e}"),
            );
            None
        }
    }
}

/// `labels` in an order drawn from `seed`: the same classes in the same proportions, no longer
/// tied to their images — the negative control of an accuracy threshold.
pub fn shuffled_labels(labels: &Tensor, seed: u64) -> Tensor {
    let mut values = labels.to_vec().unwrap();
    astrograd::tensor::random::Rng::new(seed).shuffle(&mut values);
    Tensor::from_vec(values, labels.shape()).unwrap()
}
