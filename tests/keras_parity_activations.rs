//! Keras parity of the activations: every activation of `tests/fixtures/keras/activations.json`
//! (TF 2.10.1, written by `tools/keras_op_fixtures.py`; see `tools/README.md`).
//!
//! The fixture holds 12 inputs `x` spanning [−6, 6] (none at a kink), a fixed random upstream
//! gradient `dy`, and for each activation its output `y_<name>` and `dx_<name>`, the gradient of
//! `L = Σ y · dy` from `tf.GradientTape`. So `y.backward_with(dy)` must leave `dx_<name>` in
//! `x`'s gradient. Softmax and log-softmax use `x` and `dy` reshaped to (3, 4), over the last
//! axis. The Keras calls that produced the numbers (`params.keras_call`):
//!
//! ```text
//! relu              tf.keras.activations.relu(x)
//! relu6             tf.keras.layers.ReLU(max_value=6.0)(x)       (= tf.nn.relu6)
//! leaky_relu_keras  tf.keras.layers.LeakyReLU()(x)               (default alpha=0.3)
//! leaky_relu_tfnn   tf.nn.leaky_relu(x)                          (default alpha=0.2; also activation='leaky_relu')
//! elu               tf.keras.activations.elu(x, alpha=1.0)
//! selu              tf.keras.activations.selu(x)
//! sigmoid           tf.keras.activations.sigmoid(x)
//! tanh              tf.keras.activations.tanh(x)
//! softplus          tf.keras.activations.softplus(x)
//! gelu              tf.keras.activations.gelu(x, approximate=False)
//! gelu_approx       tf.keras.activations.gelu(x, approximate=True)
//! swish             tf.keras.activations.swish(x)
//! softmax           tf.keras.activations.softmax(x.reshape(3,4), axis=-1)
//! log_softmax       tf.nn.log_softmax(x.reshape(3,4), axis=-1)
//! ```
mod common;

use astrograd::autograd::Result;
use astrograd::{Tensor, Var};
use common::{assert_close, Fixture};

const TOL: f32 = 1e-5;

/// One activation of the fixture: its name there, and how astrograd computes it.
struct ActivationCase {
    name: &'static str,
    /// Whether it runs on `x` reshaped to (3, 4) (softmax, log-softmax) instead of flat `x`.
    rows: bool,
    f: fn(&Var) -> Result<Var>,
}

const CASES: [ActivationCase; 14] = [
    ActivationCase {
        name: "relu",
        rows: false,
        f: |x| x.relu(),
    },
    ActivationCase {
        name: "relu6",
        rows: false,
        f: |x| x.relu6(),
    },
    ActivationCase {
        name: "leaky_relu_keras",
        rows: false,
        f: |x| x.leaky_relu(0.3),
    },
    ActivationCase {
        name: "leaky_relu_tfnn",
        rows: false,
        f: |x| x.leaky_relu(0.2),
    },
    ActivationCase {
        name: "elu",
        rows: false,
        f: |x| x.elu(1.0),
    },
    ActivationCase {
        name: "selu",
        rows: false,
        f: |x| x.selu(),
    },
    ActivationCase {
        name: "sigmoid",
        rows: false,
        f: |x| x.sigmoid(),
    },
    ActivationCase {
        name: "tanh",
        rows: false,
        f: |x| x.tanh(),
    },
    ActivationCase {
        name: "softplus",
        rows: false,
        f: |x| x.softplus(),
    },
    ActivationCase {
        name: "gelu",
        rows: false,
        f: |x| x.gelu(false),
    },
    ActivationCase {
        name: "gelu_approx",
        rows: false,
        f: |x| x.gelu(true),
    },
    ActivationCase {
        name: "swish",
        rows: false,
        f: |x| x.swish(),
    },
    ActivationCase {
        name: "softmax",
        rows: true,
        f: |x| x.softmax(1),
    },
    ActivationCase {
        name: "log_softmax",
        rows: true,
        f: |x| x.log_softmax(1),
    },
];

/// The largest `|a − e|`, to report how close we are beyond the pass/fail tolerance.
fn max_abs_diff(a: &Tensor, e: &Tensor) -> f32 {
    a.as_slice()
        .unwrap()
        .iter()
        .zip(e.as_slice().unwrap())
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f32::max)
}

#[test]
fn every_activation_matches_keras() {
    let f = Fixture::load("activations");
    let names: Vec<&str> = f.params["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        CASES.iter().map(|c| c.name).collect::<Vec<_>>(),
        "the fixture's activations changed"
    );

    for case in &CASES {
        let (mut x, mut dy) = (f.tensor("x"), f.tensor("dy"));
        if case.rows {
            x = x.reshape(&[3, 4]).unwrap();
            dy = dy.reshape(&[3, 4]).unwrap();
        }
        let x = Var::parameter(x);
        let y = (case.f)(&x).unwrap();
        y.backward_with(dy).unwrap();
        let (y_keras, dx_keras) = (
            f.tensor(&format!("y_{}", case.name)),
            f.tensor(&format!("dx_{}", case.name)),
        );
        let dx = x.grad().unwrap();
        eprintln!(
            "{:<17} max |y − Keras| {:.2e}   max |dx − Keras| {:.2e}",
            case.name,
            max_abs_diff(&y.value(), &y_keras),
            max_abs_diff(&dx, &dx_keras)
        );
        assert_close(&format!("{}: y", case.name), &y.value(), &y_keras, TOL);
        assert_close(&format!("{}: dx", case.name), &dx, &dx_keras, TOL);
    }
}

/// The fixture's constants are the ones astrograd uses.
#[test]
fn fixture_constants_match_ours() {
    let f = Fixture::load("activations");
    let alphas = &f.params["alphas"];
    assert_eq!(alphas["leaky_relu_keras"].as_f64(), Some(0.3));
    assert_eq!(alphas["leaky_relu_tfnn"].as_f64(), Some(0.2));
    assert_eq!(alphas["elu"].as_f64(), Some(1.0));
    let selu = &f.params["selu_constants"];
    assert_eq!(
        selu["alpha"].as_f64().unwrap() as f32,
        astrograd::ops::selu::SELU_ALPHA
    );
    assert_eq!(
        selu["scale"].as_f64().unwrap() as f32,
        astrograd::ops::selu::SELU_SCALE
    );
}
