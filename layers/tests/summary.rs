//! `model.summary()` compared character for character with TF 2.10's, for the course's models.
//!
//! The expected texts are in `tests/fixtures/keras/summaries/`, written by
//! `tools/keras_summary_fixtures.py`; each model here is built exactly as the function of the
//! same name there (quoted in each test's doc). `reset_names()` plays the part of
//! `tf.keras.backend.clear_session()`, so the automatic names start again from `dense`.
use astrograd_layers::{
    input, reset_names, Add, AveragePooling2D, BatchNormalization, Conv2D, Dense, DepthwiseConv2D,
    Dropout, Flatten, GlobalAveragePooling2D, GlobalMaxPooling2D, Input, Layer, MaxPooling2D,
    Model, Padding, Rescaling, Sequential, SharedLayer, ZeroPadding2D,
};

fn expected(case: &str) -> String {
    let path = format!(
        "{}/../tests/fixtures/keras/summaries/{case}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn assert_summary(model: &Model, case: &str) {
    let ours = model.summary().unwrap();
    let keras = expected(case);
    if ours != keras {
        panic!("{case}: summary differs from Keras's\n--- ours ---\n{ours}--- Keras ---\n{keras}");
    }
}

/// ```python
/// keras.Sequential([layers.Flatten(input_shape=[28, 28]), layers.Dense(300, activation="relu"),
///                   layers.Dense(100, activation="relu"), layers.Dense(10, activation="softmax")])
/// ```
#[test]
fn session1_mlp() {
    reset_names();
    let model = Sequential::new(vec![
        Box::new(Flatten::new().with_input_shape(&[28, 28])),
        Box::new(Dense::new(300).activation("relu")),
        Box::new(Dense::new(100).activation("relu")),
        Box::new(Dense::new(10).activation("softmax")),
    ])
    .unwrap();
    assert_eq!(model.count_params(), 266_610);
    assert_summary(&model, "session1_mlp");
}

/// ```python
/// keras.Sequential([layers.Conv2D(12, (3, 3), strides=1, padding="valid", activation="relu",
///                   input_shape=(28, 28, 1)), layers.MaxPooling2D((2, 2), strides=2), layers.Flatten(),
///                   layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")])
/// ```
#[test]
fn session2_cnn_sequential() {
    reset_names();
    let mut model = Sequential::empty();
    model.add(Input::new(&[28, 28, 1])).unwrap();
    model
        .add(
            Conv2D::new(12, (3, 3))
                .strides(1)
                .padding(Padding::Valid)
                .activation("relu"),
        )
        .unwrap();
    model
        .add(MaxPooling2D::new().pool_size((2, 2)).strides(2))
        .unwrap();
    model.add(Flatten::new()).unwrap();
    model.add(Dense::new(128).activation("relu")).unwrap();
    model.add(Dense::new(10).activation("softmax")).unwrap();
    assert_eq!(model.count_params(), 261_122);
    assert_summary(&model, "session2_cnn_sequential");
}

/// ```python
/// inputs = keras.Input(shape=(28, 28, 1))
/// x = layers.Conv2D(12, (3, 3), activation="relu")(inputs)
/// x = layers.MaxPooling2D((2, 2))(x); x = layers.Flatten()(x)
/// x = layers.Dense(128, activation="relu")(x)
/// outputs = layers.Dense(10, activation="softmax")(x)
/// keras.Model(inputs, outputs)
/// ```
#[test]
fn session2_cnn_functional() {
    reset_names();
    let inputs = input(&[28, 28, 1]);
    let x = Conv2D::new(12, (3, 3))
        .activation("relu")
        .apply(&inputs)
        .unwrap();
    let x = MaxPooling2D::new().pool_size((2, 2)).apply(&x).unwrap();
    let x = Flatten::new().apply(&x).unwrap();
    let x = Dense::new(128).activation("relu").apply(&x).unwrap();
    let outputs = Dense::new(10).activation("softmax").apply(&x).unwrap();
    let model = Model::new(&inputs, &outputs).unwrap();
    assert_summary(&model, "session2_cnn_functional");
}

/// ```python
/// keras.Sequential([layers.Flatten(input_shape=(69, 69)), layers.Dense(500, activation="relu"),
///                   layers.Dense(100, activation="relu"), layers.Dense(10, activation="softmax")])
/// ```
#[test]
fn galaxy10_mlp() {
    reset_names();
    let model = Sequential::new(vec![
        Box::new(Input::new(&[69, 69])),
        Box::new(Flatten::new()),
        Box::new(Dense::new(500).activation("relu")),
        Box::new(Dense::new(100).activation("relu")),
        Box::new(Dense::new(10).activation("softmax")),
    ])
    .unwrap();
    assert_summary(&model, "galaxy10_mlp");
}

/// ```python
/// keras.Sequential([layers.Conv2D(12, (3, 3), activation="relu", input_shape=(69, 69, 3)),
///     layers.MaxPooling2D((2, 2)), layers.Flatten(), layers.Dropout(0.35),
///     layers.Dense(500, activation="relu"), layers.Dropout(0.35),
///     layers.Dense(100, activation="relu"), layers.Dropout(0.35), layers.Dense(10, activation="softmax")])
/// ```
#[test]
fn galaxy10_cnn_dropout() {
    reset_names();
    let model = Sequential::new(vec![
        Box::new(
            Conv2D::new(12, (3, 3))
                .activation("relu")
                .with_input_shape(&[69, 69, 3]),
        ),
        Box::new(MaxPooling2D::new().pool_size((2, 2))),
        Box::new(Flatten::new()),
        Box::new(Dropout::new(0.35)),
        Box::new(Dense::new(500).activation("relu")),
        Box::new(Dropout::new(0.35)),
        Box::new(Dense::new(100).activation("relu")),
        Box::new(Dropout::new(0.35)),
        Box::new(Dense::new(10).activation("softmax")),
    ])
    .unwrap();
    assert_summary(&model, "galaxy10_cnn_dropout");
}

/// ```python
/// keras.Sequential([layers.Conv2D(16, 3, activation="relu", input_shape=(150, 150, 3)), layers.MaxPooling2D(2),
///     layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"),
///     layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(512, activation="relu"),
///     layers.Dense(1, activation="sigmoid")])
/// ```
#[test]
fn cats_dogs_cnn() {
    reset_names();
    let model = Sequential::new(vec![
        Box::new(Input::new(&[150, 150, 3])),
        Box::new(Conv2D::new(16, 3).activation("relu")),
        Box::new(MaxPooling2D::new().pool_size(2)),
        Box::new(Conv2D::new(32, 3).activation("relu")),
        Box::new(MaxPooling2D::new().pool_size(2)),
        Box::new(Conv2D::new(64, 3).activation("relu")),
        Box::new(MaxPooling2D::new().pool_size(2)),
        Box::new(Flatten::new()),
        Box::new(Dense::new(512).activation("relu")),
        Box::new(Dense::new(1).activation("sigmoid")),
    ])
    .unwrap();
    assert_summary(&model, "cats_dogs_cnn");
}

/// ```python
/// inputs = keras.Input(shape=(16, 16, 3))
/// a = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
/// a = layers.BatchNormalization()(a)
/// b = layers.Conv2D(8, 1, name="a_rather_long_projection_name")(inputs)
/// x = layers.Add()([a, b])
/// x = layers.ZeroPadding2D(((0, 1), (0, 1)))(x)
/// x = layers.DepthwiseConv2D(3, strides=2, use_bias=False)(x)
/// x = layers.GlobalAveragePooling2D()(x)
/// shared = layers.Dense(8, activation="relu"); y = shared(x); y = shared(y)
/// outputs = layers.Dense(1, activation="sigmoid")(y)
/// keras.Model(inputs, outputs)
/// ```
#[test]
fn residual_functional() {
    reset_names();
    let inputs = input(&[16, 16, 3]);
    let a = Conv2D::new(8, 3)
        .padding(Padding::Same)
        .activation("relu")
        .apply(&inputs)
        .unwrap();
    let a = BatchNormalization::new().apply(&a).unwrap();
    let b = Conv2D::new(8, 1)
        .with_name("a_rather_long_projection_name")
        .apply(&inputs)
        .unwrap();
    let x = Add::new().apply_all(&[&a, &b]).unwrap();
    let x = ZeroPadding2D::new(((0, 1), (0, 1))).apply(&x).unwrap();
    let x = DepthwiseConv2D::new(3)
        .strides(2)
        .use_bias(false)
        .apply(&x)
        .unwrap();
    let x = GlobalAveragePooling2D::new().apply(&x).unwrap();
    let shared = SharedLayer::new(Dense::new(8).activation("relu"));
    let y = shared.apply(&x).unwrap();
    let y = shared.apply(&y).unwrap();
    let outputs = Dense::new(1).activation("sigmoid").apply(&y).unwrap();
    let model = Model::new(&inputs, &outputs).unwrap();
    assert_summary(&model, "residual_functional");
}

/// ```python
/// inputs = keras.Input(shape=(32, 32, 3))
/// x = layers.Rescaling(1.0 / 127.5, offset=-1)(inputs)
/// x = layers.Conv2D(8, 3, activation="relu")(x); x = layers.BatchNormalization()(x)
/// x = layers.AveragePooling2D()(x)
/// base = keras.Model(inputs, x); base.trainable = False
/// keras.Sequential([base, layers.GlobalMaxPooling2D(), layers.Dropout(0.2), layers.Dense(1)])
/// ```
#[test]
fn frozen_base_sequential() {
    reset_names();
    let inputs = input(&[32, 32, 3]);
    let x = Rescaling::new(1.0 / 127.5)
        .offset(-1.0)
        .apply(&inputs)
        .unwrap();
    let x = Conv2D::new(8, 3).activation("relu").apply(&x).unwrap();
    let x = BatchNormalization::new().apply(&x).unwrap();
    let x = AveragePooling2D::new().apply(&x).unwrap();
    let mut base = Model::new(&inputs, &x).unwrap();
    base.set_trainable(false);
    let model = Sequential::new(vec![
        Box::new(base),
        Box::new(GlobalMaxPooling2D::new()),
        Box::new(Dropout::new(0.2)),
        Box::new(Dense::new(1)),
    ])
    .unwrap();
    assert_eq!(model.trainable_weights().len(), 2);
    assert_summary(&model, "frozen_base_sequential");
}
