//! Test helpers: the Keras fixtures of `tests/fixtures/keras/` (written by
//! `tools/keras_optimizer_fixtures.py`, TF 2.10.1; schema in `tools/README.md`).
use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::Value;

/// One fixture case: its parameters and its named tensors (flat values and shapes).
pub struct Fixture {
    pub case: String,
    pub params: Value,
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

impl Fixture {
    /// Reads `<repo>/tests/fixtures/keras/<case>.json`.
    pub fn load(case: &str) -> Fixture {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/keras")
            .join(format!("{case}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
        let json: Value = serde_json::from_str(&text).expect("fixture is valid JSON");
        let mut tensors = HashMap::new();
        for (name, t) in json["tensors"].as_object().expect("fixture has tensors") {
            let numbers = |key: &str| {
                t[key]
                    .as_array()
                    .expect("shape and data are arrays")
                    .clone()
            };
            let shape = numbers("shape")
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            let data = numbers("data")
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            tensors.insert(name.clone(), (shape, data));
        }
        Fixture {
            case: case.to_string(),
            params: json["params"].clone(),
            tensors,
        }
    }

    /// The flat values of tensor `name`.
    pub fn tensor(&self, name: &str) -> Vec<f32> {
        self.entry(name).1.clone()
    }

    /// The shape of tensor `name`.
    pub fn shape(&self, name: &str) -> Vec<usize> {
        self.entry(name).0.clone()
    }

    fn entry(&self, name: &str) -> &(Vec<usize>, Vec<f32>) {
        self.tensors
            .get(name)
            .unwrap_or_else(|| panic!("fixture {} has no tensor {name}", self.case))
    }

    /// `params.keras_call`: the Python expression that produced the numbers.
    pub fn keras_call(&self) -> String {
        self.params["keras_call"]
            .as_str()
            .unwrap_or("?")
            .to_string()
    }
}

/// The largest relative error `|a − e| / max(|e|, 1e-3)` (the floor keeps values that Keras
/// rounds to about zero from dominating); infinite as soon as either side holds a NaN, or an
/// infinity the other side does not match, so that a NaN cannot pass an `err <= rtol` check
/// (`f64::max` would drop it).
pub fn max_rel_error(actual: &[f32], expected: &[f32]) -> f64 {
    assert_eq!(
        actual.len(),
        expected.len(),
        "compared slices differ in length"
    );
    actual
        .iter()
        .zip(expected)
        .map(|(&a, &e)| {
            if a == e {
                0.0 // equal, infinities of the same sign included
            } else if !a.is_finite() || !e.is_finite() {
                f64::INFINITY
            } else {
                (a as f64 - e as f64).abs() / (e.abs() as f64).max(1e-3)
            }
        })
        .fold(0.0, f64::max)
}

/// Asserts that `actual` matches `expected` within `rtol`, relative (see [`max_rel_error`]).
pub fn assert_rel_close(what: &str, actual: &[f32], expected: &[f32], rtol: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    let err = max_rel_error(actual, expected);
    assert!(
        err <= rtol,
        "{what}: max relative error {err:.3e} > {rtol:.0e}\nours:  {actual:?}\nkeras: {expected:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_nan_or_infinity_fails_the_comparison() {
        let expected = [0.5, -0.25, 1e-4, 2.0];
        assert_eq!(max_rel_error(&expected, &expected), 0.0);
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for at in 0..expected.len() {
                let mut planted = expected;
                planted[at] = bad;
                assert_eq!(max_rel_error(&planted, &expected), f64::INFINITY);
                assert_eq!(max_rel_error(&expected, &planted), f64::INFINITY);
            }
        }
        let all_nan = [f32::NAN; 4];
        let caught =
            std::panic::catch_unwind(|| assert_rel_close("all NaN", &all_nan, &expected, 1e-6));
        assert!(caught.is_err(), "an all-NaN result passed assert_rel_close");
    }
}
