//! Batch normalization and the losses against numbers from tf.keras 2.10.1
//! (`tests/fixtures/keras/*.json`, written by `tools/keras_op_fixtures.py`; schema and
//! findings in `tools/README.md`).
//!
//! Batch normalization: `y`, and the gradients of `L = sum(y · dy)` for a fixed random `dy`
//! (`dx`, `dgamma`, `dbeta`), and the moving statistics after one call.
//! Losses: the per-sample losses (Keras reduction NONE), the default-reduction loss (their
//! mean over the batch) and its gradient `dy_pred`.
mod common;

use astrograd::ops::batch_norm::{batch_norm, BatchNormOptions, BatchNormState};
use astrograd::ops::binary_crossentropy::binary_crossentropy;
use astrograd::ops::categorical_crossentropy::categorical_crossentropy;
use astrograd::ops::huber::huber;
use astrograd::ops::mae::mean_absolute_error;
use astrograd::ops::mse::mean_squared_error;
use astrograd::ops::softmax_cross_entropy::sparse_categorical_crossentropy;
use astrograd::{Tensor, Var};
use common::{assert_close, Fixture};

const TOL: f32 = 1e-5;

/// Runs one `batch_norm` fixture (training or inference, as its params say) and compares
/// everything it stores.
fn check_batch_norm(case: &str) {
    let f = Fixture::load(case);
    let x = Var::parameter(f.tensor("x"));
    let gamma = Var::parameter(f.tensor("gamma"));
    let beta = Var::parameter(f.tensor("beta"));
    let mut state = BatchNormState {
        moving_mean: f.tensor("moving_mean"),
        moving_variance: f.tensor("moving_variance"),
    };
    let options = BatchNormOptions {
        momentum: f.number("momentum"),
        epsilon: f.number("epsilon"),
        training: f.flag("training"),
    };
    let y = batch_norm(&x, &gamma, &beta, &mut state, options).unwrap();
    y.backward_with(f.tensor("dy")).unwrap();
    assert_close(&format!("{case}: y"), &y.value(), &f.tensor("y"), TOL);
    assert_close(
        &format!("{case}: dx"),
        &x.grad().unwrap(),
        &f.tensor("dx"),
        TOL,
    );
    assert_close(
        &format!("{case}: dgamma"),
        &gamma.grad().unwrap(),
        &f.tensor("dgamma"),
        TOL,
    );
    assert_close(
        &format!("{case}: dbeta"),
        &beta.grad().unwrap(),
        &f.tensor("dbeta"),
        TOL,
    );
    assert_close(
        &format!("{case}: moving_mean_after"),
        &state.moving_mean,
        &f.tensor("moving_mean_after"),
        TOL,
    );
    assert_close(
        &format!("{case}: moving_variance_after"),
        &state.moving_variance,
        &f.tensor("moving_variance_after"),
        TOL,
    );
}

/// `tf.keras.layers.BatchNormalization()(x, training=True)` on x (3, 4, 4, 2): the fused path,
/// whose moving variance takes the unbiased batch variance (M = 48).
#[test]
fn batch_norm_train_4d() {
    check_batch_norm("batch_norm_train_4d");
}

/// `tf.keras.layers.BatchNormalization()(x, training=True)` on x (5, 3): the non-fused path,
/// whose moving variance takes the biased batch variance.
#[test]
fn batch_norm_train_2d() {
    check_batch_norm("batch_norm_train_2d");
}

/// `tf.keras.layers.BatchNormalization()(x, training=False)` on x (3, 4, 4, 2): the moving
/// statistics normalise, and stay as they were.
#[test]
fn batch_norm_inference_4d() {
    check_batch_norm("batch_norm_inference_4d");
}

/// Compares a loss fixture: `per_sample`, `loss` (their mean) and `dy_pred = ∂loss/∂y_pred`.
fn check_loss(case: &str, loss_fn: impl Fn(&Var, &Tensor) -> astrograd::autograd::Result<Var>) {
    let f = Fixture::load(case);
    let y_pred = Var::parameter(f.tensor("y_pred"));
    let per_sample = loss_fn(&y_pred, &f.tensor("y_true")).unwrap();
    let loss = per_sample.mean_all().unwrap();
    loss.backward().unwrap();
    assert_close(
        &format!("{case}: per_sample"),
        &per_sample.value(),
        &f.tensor("per_sample"),
        TOL,
    );
    assert_close(
        &format!("{case}: loss"),
        &loss.value(),
        &f.tensor("loss"),
        TOL,
    );
    assert_close(
        &format!("{case}: dy_pred"),
        &y_pred.grad().unwrap(),
        &f.tensor("dy_pred"),
        TOL,
    );
}

/// `tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)`, 4 × 5 logits.
#[test]
fn scce_logits() {
    check_loss("scce_logits", |p, t| {
        sparse_categorical_crossentropy(p, t, true)
    });
}

/// `tf.keras.losses.SparseCategoricalCrossentropy(from_logits=False)`, 4 × 5 probabilities: a row
/// with p_true = 0 (loss 16.118095, gradient only through the renormalisation) and a row that
/// does not sum to 1.
#[test]
fn scce_probs() {
    check_loss("scce_probs", |p, t| {
        sparse_categorical_crossentropy(p, t, false)
    });
}

/// `tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)` on logits [[50, −50]],
/// label 1: exactly 100.0, gradient [1, −1].
#[test]
fn scce_logits_extreme() {
    check_loss("scce_logits_extreme", |p, t| {
        sparse_categorical_crossentropy(p, t, true)
    });
}

/// `tf.keras.losses.CategoricalCrossentropy(from_logits=False)`, 4 × 5 with one-hot targets; row 2
/// has p_true = 0, so its whole gradient row is 0.
#[test]
fn cce_probs() {
    check_loss("cce_probs", |p, t| categorical_crossentropy(p, t, false));
}

/// `tf.keras.losses.CategoricalCrossentropy(from_logits=True)`, 4 × 5 with one-hot targets.
#[test]
fn cce_logits() {
    check_loss("cce_logits", |p, t| categorical_crossentropy(p, t, true));
}

/// `tf.keras.losses.BinaryCrossentropy(from_logits=False)`, 4 × 1 including p = 0 with t = 1
/// (cap 15.424949) and p = 1 with t = 0 (cap 15.333239 in f32); both get zero gradient.
#[test]
fn bce_probs() {
    check_loss("bce_probs", |p, t| binary_crossentropy(p, t, false));
}

/// `tf.keras.losses.BinaryCrossentropy(from_logits=True)`, 4 × 1.
#[test]
fn bce_logits() {
    check_loss("bce_logits", |p, t| binary_crossentropy(p, t, true));
}

/// `tf.keras.losses.BinaryCrossentropy(from_logits=False)`, 3 × 4: the mean over the last axis.
#[test]
fn bce_probs_multi() {
    check_loss("bce_probs_multi", |p, t| binary_crossentropy(p, t, false));
}

/// `tf.keras.losses.MeanSquaredError()`, 4 × 3.
#[test]
fn mse() {
    check_loss("mse", mean_squared_error);
}

/// `tf.keras.losses.MeanAbsoluteError()`, 4 × 3.
#[test]
fn mae() {
    check_loss("mae", mean_absolute_error);
}

/// `tf.keras.losses.Huber(delta=1.0)`, 4 × 3 with errors on both sides of delta.
#[test]
fn huber_delta_1() {
    let delta = Fixture::load("huber").number("delta");
    check_loss("huber", |p, t| huber(p, t, delta));
}
