"""Writes the text of `model.summary()` for the course's models, as TF 2.10 prints it.

One file per model in tests/fixtures/keras/summaries/<case>.txt; the Rust tests in
layers/tests/summary.rs build the same models with astrograd and compare the text exactly.
`tf.keras.backend.clear_session()` between models restarts the layer-name counters, as
astrograd's `reset_names()` does. Run: /root/venvs/tf/bin/python tools/keras_summary_fixtures.py
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402
from tensorflow.keras import layers  # noqa: E402


def session1_mlp():
    """Session 1, Fashion-MNIST MLP (266,610 params)."""
    return keras.Sequential([
        layers.Flatten(input_shape=[28, 28]),
        layers.Dense(300, activation="relu"),
        layers.Dense(100, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def session2_cnn_sequential():
    """Session 2, Fashion-MNIST CNN (261,122 params)."""
    return keras.Sequential([
        layers.Conv2D(12, (3, 3), strides=1, padding="valid", activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D((2, 2), strides=2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def session2_cnn_functional():
    """The same CNN with the functional API (an InputLayer row appears)."""
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(12, (3, 3), activation="relu")(inputs)
    x = layers.MaxPooling2D((2, 2))(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def galaxy10_mlp():
    """Session 1 hands-on, Galaxy10 grey MLP (2,432,110 params)."""
    return keras.Sequential([
        layers.Flatten(input_shape=(69, 69)),
        layers.Dense(500, activation="relu"),
        layers.Dense(100, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def galaxy10_cnn_dropout():
    """Session 3 hands-on, Galaxy10 colour CNN with Dropout(0.35) three times (6,585,946 params)."""
    return keras.Sequential([
        layers.Conv2D(12, (3, 3), activation="relu", input_shape=(69, 69, 3)),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dropout(0.35),
        layers.Dense(500, activation="relu"),
        layers.Dropout(0.35),
        layers.Dense(100, activation="relu"),
        layers.Dropout(0.35),
        layers.Dense(10, activation="softmax"),
    ])


def cats_dogs_cnn():
    """Session 3 lecture, cats vs dogs (9,494,561 params)."""
    return keras.Sequential([
        layers.Conv2D(16, 3, activation="relu", input_shape=(150, 150, 3)),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(512, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ])


def residual_functional():
    """A non-sequential functional model: a shared input, a residual Add, BatchNormalization
    (non-trainable params), a layer name long enough to wrap, and a shared (twice-called) Dense."""
    inputs = keras.Input(shape=(16, 16, 3))
    a = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    a = layers.BatchNormalization()(a)
    b = layers.Conv2D(8, 1, name="a_rather_long_projection_name")(inputs)
    x = layers.Add()([a, b])
    x = layers.ZeroPadding2D(((0, 1), (0, 1)))(x)
    x = layers.DepthwiseConv2D(3, strides=2, use_bias=False)(x)
    x = layers.GlobalAveragePooling2D()(x)
    shared = layers.Dense(8, activation="relu")
    y = shared(x)
    y = shared(y)
    outputs = layers.Dense(1, activation="sigmoid")(y)
    return keras.Model(inputs, outputs)


def frozen_base_sequential():
    """Transfer-learning shape: a frozen functional base inside a Sequential."""
    inputs = keras.Input(shape=(32, 32, 3))
    x = layers.Rescaling(1.0 / 127.5, offset=-1)(inputs)
    x = layers.Conv2D(8, 3, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.AveragePooling2D()(x)
    base = keras.Model(inputs, x)
    base.trainable = False
    return keras.Sequential([
        base,
        layers.GlobalMaxPooling2D(),
        layers.Dropout(0.2),
        layers.Dense(1),
    ])


CASES = [
    session1_mlp,
    session2_cnn_sequential,
    session2_cnn_functional,
    galaxy10_mlp,
    galaxy10_cnn_dropout,
    cats_dogs_cnn,
    residual_functional,
    frozen_base_sequential,
]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "keras", "summaries"))
    parser.add_argument("--any-tf", action="store_true", help="allow a TF other than 2.10.x")
    args = parser.parse_args()
    print("TensorFlow", tf.__version__)
    if not tf.__version__.startswith("2.10.") and not args.any_tf:
        sys.exit("needs TF 2.10.x (the course's version); --any-tf to override")
    os.makedirs(args.out, exist_ok=True)
    for case in CASES:
        tf.keras.backend.clear_session()
        model = case()
        lines = []
        model.summary(print_fn=lines.append)
        path = os.path.join(args.out, case.__name__ + ".txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"{case.__name__}: {model.count_params():,} params -> {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
