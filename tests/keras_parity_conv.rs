//! Keras parity of convolution and pooling: `Conv2D`, `DepthwiseConv2D`, `MaxPooling2D`,
//! `AveragePooling2D`.
//!
//! The numbers come from `tools/keras_op_fixtures.py` (TF 2.10.1, see `tools/README.md`): the
//! layer's output `y` for a random input `x` (and the layer's `kernel` and `bias`), and, for
//! `L = Σ y · dy` with a fixed random `dy`, the gradients `dx`, `dkernel`, `dbias` computed by
//! `tf.GradientTape`. So `y.backward_with(dy)` must leave exactly those in our inputs' grads.
//! Each test quotes the Keras call that produced its numbers; the options we pass are read from
//! the same fixture.
mod common;

use astrograd::ops::conv2d::{Conv2dOptions, Padding};
use astrograd::ops::max_pool2d::Pool2dOptions;
use astrograd::{Tensor, Var};
use common::{assert_close, Fixture};

/// TF's oneDNN and Eigen kernels differ by about 1.5e-6 on these gradients.
const TOL: f32 = 1e-5;

/// [`assert_close`], then prints the largest absolute difference (`--nocapture` shows it).
fn compare(what: &str, actual: &Tensor, expected: &Tensor) {
    assert_close(what, actual, expected, TOL);
    let worst = actual
        .as_slice()
        .unwrap()
        .iter()
        .zip(expected.as_slice().unwrap())
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f32::max);
    println!("{what}: max |ours − Keras| = {worst:.2e}");
}

fn padding(fixture: &Fixture) -> Padding {
    match fixture.string("padding").as_str() {
        "valid" => Padding::Valid,
        "same" => Padding::Same,
        other => panic!("{}: unknown padding {other}", fixture.case),
    }
}

/// Runs a (depthwise) convolution on the fixture's `x`, `kernel`, `bias` and compares `y`, `dx`,
/// `dkernel` and `dbias` with Keras's.
fn check_conv(
    case: &str,
    conv: impl Fn(&Var, &Var, &Var, Conv2dOptions) -> astrograd::autograd::Result<Var>,
) {
    let fixture = Fixture::load(case);
    let options = Conv2dOptions {
        strides: fixture.pair("strides"),
        padding: padding(&fixture),
        dilation: fixture.pair("dilation"),
    };
    let x = Var::parameter(fixture.tensor("x"));
    let kernel = Var::parameter(fixture.tensor("kernel"));
    let bias = Var::parameter(fixture.tensor("bias"));
    let y = conv(&x, &kernel, &bias, options).unwrap();
    compare(&format!("{case}: y"), &y.value(), &fixture.tensor("y"));
    y.backward_with(fixture.tensor("dy")).unwrap();
    compare(
        &format!("{case}: dx"),
        &x.grad().unwrap(),
        &fixture.tensor("dx"),
    );
    compare(
        &format!("{case}: dkernel"),
        &kernel.grad().unwrap(),
        &fixture.tensor("dkernel"),
    );
    compare(
        &format!("{case}: dbias"),
        &bias.grad().unwrap(),
        &fixture.tensor("dbias"),
    );
}

fn check_conv2d(case: &str) {
    check_conv(case, |x, kernel, bias, options| {
        x.conv2d(kernel, Some(bias), options)
    });
}

fn check_depthwise_conv2d(case: &str) {
    check_conv(case, |x, kernel, bias, options| {
        x.depthwise_conv2d(kernel, Some(bias), options)
    });
}

/// Runs a pooling on the fixture's `x` and compares `y` and `dx` with Keras's. The strides are
/// the Keras argument (`strides_arg`, `None` → the pool size), so Keras's default is tested too.
fn check_pool(case: &str, pool: impl Fn(&Var, Pool2dOptions) -> astrograd::autograd::Result<Var>) {
    let fixture = Fixture::load(case);
    let strides = (!fixture.params["strides_arg"].is_null()).then(|| fixture.pair("strides_arg"));
    let options = Pool2dOptions {
        pool: fixture.pair("pool"),
        strides,
        padding: padding(&fixture),
    };
    assert_eq!(
        options.strides_or_pool(),
        fixture.pair("strides"),
        "{case}: strides"
    );
    let x = Var::parameter(fixture.tensor("x"));
    let y = pool(&x, options).unwrap();
    compare(&format!("{case}: y"), &y.value(), &fixture.tensor("y"));
    y.backward_with(fixture.tensor("dy")).unwrap();
    compare(
        &format!("{case}: dx"),
        &x.grad().unwrap(),
        &fixture.tensor("dx"),
    );
}

fn check_max_pool2d(case: &str) {
    check_pool(case, |x, options| x.max_pool2d(options));
}

fn check_avg_pool2d(case: &str) {
    check_pool(case, |x, options| x.avg_pool2d(options));
}

/// `tf.keras.layers.Conv2D(3, (3, 3), strides=(1, 1), padding='valid', dilation_rate=(1, 1))`
/// on x (2, 5, 6, 2).
#[test]
fn conv2d_valid() {
    check_conv2d("conv2d_valid");
}

/// `tf.keras.layers.Conv2D(3, (3, 3), strides=(1, 1), padding='same', dilation_rate=(1, 1))`
/// on x (2, 5, 5, 2).
#[test]
fn conv2d_same_s1() {
    check_conv2d("conv2d_same_s1");
}

/// `tf.keras.layers.Conv2D(2, (3, 3), strides=(2, 2), padding='same', dilation_rate=(1, 1))`
/// on x (1, 4, 4, 1): padding 0 before, 1 after.
#[test]
fn conv2d_same_s2_even() {
    check_conv2d("conv2d_same_s2_even");
}

/// `tf.keras.layers.Conv2D(2, (3, 3), strides=(2, 2), padding='same', dilation_rate=(1, 1))`
/// on x (2, 7, 5, 3): padding 1 before, 1 after.
#[test]
fn conv2d_same_s2_odd() {
    check_conv2d("conv2d_same_s2_odd");
}

/// `tf.keras.layers.Conv2D(2, (3, 3), strides=(2, 1), padding='valid', dilation_rate=(1, 1))`
/// on x (1, 6, 5, 2).
#[test]
fn conv2d_valid_s2x1() {
    check_conv2d("conv2d_valid_s2x1");
}

/// `tf.keras.layers.Conv2D(2, (3, 3), strides=(1, 1), padding='same', dilation_rate=(2, 2))`
/// on x (1, 7, 7, 2).
#[test]
fn conv2d_dilation2_same() {
    check_conv2d("conv2d_dilation2_same");
}

/// `tf.keras.layers.Conv2D(5, (1, 1), strides=(1, 1), padding='valid', dilation_rate=(1, 1))`
/// on x (2, 3, 3, 4).
#[test]
fn conv2d_1x1() {
    check_conv2d("conv2d_1x1");
}

/// `tf.keras.layers.DepthwiseConv2D((3, 3), strides=(1, 1), padding='valid', depth_multiplier=2)`
/// on x (2, 5, 5, 3): output channel `c·2 + m`.
#[test]
fn depthwise_valid_m2() {
    check_depthwise_conv2d("depthwise_valid_m2");
}

/// `tf.keras.layers.DepthwiseConv2D((3, 3), strides=(2, 2), padding='same', depth_multiplier=1)`
/// on x (1, 6, 6, 2).
#[test]
fn depthwise_same_s2() {
    check_depthwise_conv2d("depthwise_same_s2");
}

/// `tf.keras.layers.MaxPooling2D(pool_size=(2, 2), strides=None, padding='valid')` on x (2, 6, 6, 2).
#[test]
fn max_pool_valid() {
    check_max_pool2d("max_pool_valid");
}

/// `tf.keras.layers.MaxPooling2D(pool_size=(2, 2), strides=(2, 2), padding='same')` on x (1, 5, 5, 2).
#[test]
fn max_pool_same_odd() {
    check_max_pool2d("max_pool_same_odd");
}

/// `tf.keras.layers.MaxPooling2D(pool_size=(3, 3), strides=(2, 2), padding='same')` on x (1, 7, 7, 1):
/// overlapping windows.
#[test]
fn max_pool_3x3_s2_same() {
    check_max_pool2d("max_pool_3x3_s2_same");
}

/// `tf.keras.layers.AveragePooling2D(pool_size=(2, 2), strides=None, padding='valid')` on x (2, 6, 5, 2).
#[test]
fn avg_pool_valid() {
    check_avg_pool2d("avg_pool_valid");
}

/// `tf.keras.layers.AveragePooling2D(pool_size=(3, 3), strides=(2, 2), padding='same')` on x (1, 5, 5, 2).
#[test]
fn avg_pool_same_odd() {
    check_avg_pool2d("avg_pool_same_odd");
}

/// `tf.keras.layers.AveragePooling2D(pool_size=(2, 2), strides=None, padding='same')` on
/// x = [[1..9]] (1, 3, 3, 1): TF gives y = [[3, 4.5], [7.5, 9]] (the divisor counts valid cells only).
#[test]
fn avg_pool_same_3x3() {
    let fixture = Fixture::load("avg_pool_same_3x3");
    assert_eq!(
        fixture.tensor("y").to_vec().unwrap(),
        vec![3.0, 4.5, 7.5, 9.0]
    );
    check_avg_pool2d("avg_pool_same_3x3");
}

/// `tf.keras.layers.AveragePooling2D(pool_size=(2, 2), strides=None, padding='same')` on
/// x = [[0..8]] (1, 3, 3, 1): TF gives y = [[2, 3.5], [6.5, 8]], the example of
/// `docs/keras-semantics.md` §1.
#[test]
fn avg_pool_same_3x3_arange0() {
    let fixture = Fixture::load("avg_pool_same_3x3_arange0");
    assert_eq!(
        fixture.tensor("y").to_vec().unwrap(),
        vec![2.0, 3.5, 6.5, 8.0]
    );
    check_avg_pool2d("avg_pool_same_3x3_arange0");
}
