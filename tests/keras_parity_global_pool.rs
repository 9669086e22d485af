//! Keras parity of global pooling: `GlobalAveragePooling2D` and `GlobalMaxPooling2D`.
//!
//! The numbers come from `tools/keras_op_fixtures.py` (TF 2.10.1): for an input `x` of shape
//! (2, 3, 4, 3), the layer's output `y` (2, 3) and, for `L = Σ y · dy` with a fixed random
//! `dy`, the gradient `dx` computed by `tf.GradientTape`.
mod common;

use astrograd::Var;
use common::{assert_close, Fixture};

/// Runs `pool` on the fixture's `x` and compares `y` and `dx` with Keras's.
fn check(case: &str, pool: impl Fn(&Var) -> astrograd::autograd::Result<Var>) {
    let fixture = Fixture::load(case);
    let x = Var::parameter(fixture.tensor("x"));
    let y = pool(&x).unwrap();
    assert_close(
        &format!("{case}: y"),
        &y.value(),
        &fixture.tensor("y"),
        1e-5,
    );
    y.backward_with(fixture.tensor("dy")).unwrap();
    assert_close(
        &format!("{case}: dx"),
        &x.grad().unwrap(),
        &fixture.tensor("dx"),
        1e-5,
    );
}

/// `tf.keras.layers.GlobalAveragePooling2D()`: each of the 12 pixels gets `dy[n, c] / 12`.
#[test]
fn global_average_pool2d_matches_keras() {
    check("global_avg_pool", |x| x.global_average_pool2d());
}

/// `tf.keras.layers.GlobalMaxPooling2D()`: `dy[n, c]` goes to the maximum of each image and
/// channel (the fixture's `x` has no ties).
#[test]
fn global_max_pool2d_matches_keras() {
    check("global_max_pool", |x| x.global_max_pool2d());
}
