//! Keras parity of whole models: the same weights and input give the same outputs, in
//! inference mode and in training mode (BatchNormalization with batch statistics, and the
//! moving statistics it updates).
//!
//! The numbers come from `tools/keras_model_fixtures.py` (TF 2.10.1): every weight set from a
//! seeded generator, then `model(x, training=False)` → `y_infer` and `model(x, training=True)`
//! → `y_train`. We build the same model (quoted in each test), check that our weights have
//! Keras's names, in Keras's order, set them from the fixture by name, and compare.
mod common;

use astrograd::layers::{
    input, reset_names, Activation, Add, AveragePooling2D, BatchNormalization, Conv2D, Dense,
    DepthwiseConv2D, Flatten, GlobalMaxPooling2D, Input, Layer, MaxPooling2D, Model, Padding,
    Rescaling, Sequential, ZeroPadding2D,
};
use astrograd::{Tensor, Var};
use common::{assert_close, Fixture};

/// TF's oneDNN and Eigen kernels differ by about 1.5e-6.
const TOL: f32 = 1e-5;

fn max_error(actual: &Tensor, expected: &Tensor) -> f32 {
    actual
        .as_slice()
        .unwrap()
        .iter()
        .zip(expected.as_slice().unwrap())
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f32::max)
}

/// Sets every weight from the fixture (checking names and order), runs both modes, compares.
fn check_model(mut model: Model, case: &str) {
    let fixture = Fixture::load(&format!("models/{case}"));
    let keras_names: Vec<String> = fixture.params["weight_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let weights = model.weights();
    let our_names: Vec<String> = weights.iter().map(|w| w.name.clone()).collect();
    assert_eq!(our_names, keras_names, "{case}: weight names and order");
    for weight in &weights {
        weight.var.set_value(fixture.tensor(&weight.name)).unwrap();
    }
    let x = Var::constant(fixture.tensor("x"));

    let y = model.forward(&x, false).unwrap().value();
    assert_close(
        &format!("{case} y_infer"),
        &y,
        &fixture.tensor("y_infer"),
        TOL,
    );
    println!(
        "{case} training=False: max |ours − Keras| = {:.2e}",
        max_error(&y, &fixture.tensor("y_infer"))
    );

    let y = model.forward(&x, true).unwrap().value();
    assert_close(
        &format!("{case} y_train"),
        &y,
        &fixture.tensor("y_train"),
        TOL,
    );
    println!(
        "{case} training=True: max |ours − Keras| = {:.2e}",
        max_error(&y, &fixture.tensor("y_train"))
    );
    for weight in &weights {
        let key = format!("after_train/{}", weight.name);
        let expected = if weight.name.contains("moving_") {
            fixture.tensor(&key)
        } else {
            fixture.tensor(&weight.name) // nothing else may change in a forward pass
        };
        assert_close(&key, &weight.var.value(), &expected, TOL);
    }
}

/// ```python
/// keras.Sequential([keras.Input(shape=(6,)), layers.Dense(5, activation='relu'),
///                   layers.BatchNormalization(), layers.Dense(3, activation='softmax')])
/// ```
#[test]
fn dense_batch_norm_softmax() {
    reset_names();
    let model = Sequential::new(vec![
        Box::new(Input::new(&[6])),
        Box::new(Dense::new(5).activation("relu")),
        Box::new(BatchNormalization::new()),
        Box::new(Dense::new(3).activation("softmax")),
    ])
    .unwrap();
    check_model(model, "mlp_bn");
}

/// ```python
/// keras.Sequential([keras.Input(shape=(8, 8, 2)), layers.Conv2D(3, 3, padding='same', activation='relu'),
///     layers.BatchNormalization(), layers.MaxPooling2D(),
///     layers.DepthwiseConv2D(3, padding='same', depth_multiplier=2), layers.AveragePooling2D(),
///     layers.Flatten(), layers.Dense(2, activation='softmax')])
/// ```
#[test]
fn conv_batch_norm_pool_depthwise() {
    reset_names();
    let model = Sequential::new(vec![
        Box::new(Input::new(&[8, 8, 2])),
        Box::new(Conv2D::new(3, 3).padding(Padding::Same).activation("relu")),
        Box::new(BatchNormalization::new()),
        Box::new(MaxPooling2D::new()),
        Box::new(
            DepthwiseConv2D::new(3)
                .padding(Padding::Same)
                .depth_multiplier(2),
        ),
        Box::new(AveragePooling2D::new()),
        Box::new(Flatten::new()),
        Box::new(Dense::new(2).activation("softmax")),
    ])
    .unwrap();
    check_model(model, "cnn_bn");
}

/// ```python
/// inputs = keras.Input(shape=(6, 6, 2)); x = layers.ZeroPadding2D(1)(inputs)
/// x = layers.Conv2D(2, 3, activation='elu')(x); x = layers.Add()([inputs, x])
/// x = layers.Rescaling(0.5, offset=0.1)(x); x = layers.Activation('tanh')(x)
/// x = layers.GlobalMaxPooling2D()(x); outputs = layers.Dense(3)(x); keras.Model(inputs, outputs)
/// ```
#[test]
fn residual_functional_graph() {
    reset_names();
    let inputs = input(&[6, 6, 2]);
    let x = ZeroPadding2D::new(1).apply(&inputs).unwrap();
    let x = Conv2D::new(2, 3).activation("elu").apply(&x).unwrap();
    let x = Add::new().apply_all(&[&inputs, &x]).unwrap();
    let x = Rescaling::new(0.5).offset(0.1).apply(&x).unwrap();
    let x = Activation::new("tanh").apply(&x).unwrap();
    let x = GlobalMaxPooling2D::new().apply(&x).unwrap();
    let outputs = Dense::new(3).apply(&x).unwrap();
    check_model(
        Model::new(&inputs, &outputs).unwrap(),
        "residual_functional",
    );
}
