"""Keras-parity fixtures for whole models: seeded weights, an input batch, and the outputs.

For each small model (Dense + BatchNormalization, Conv + BN + pooling + depthwise, a residual
functional graph) it sets every weight from a seeded NumPy generator, runs `model(x,
training=False)` and then `model(x, training=True)` (BatchNormalization with batch statistics,
which also moves its moving statistics), and writes one JSON file per case to
tests/fixtures/keras/models/ in the schema of tools/README.md. Tensor names: `x`, each weight
under its Keras name (`dense/kernel:0`), `y_infer`, `y_train`, and `after_train/<weight name>`
for the weights the training-mode call changed (moving statistics). No layer here is random
(no Dropout), so both outputs are deterministic.

Run: /root/venvs/tf/bin/python tools/keras_model_fixtures.py
"""
import argparse
import json
import os
import sys
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402
from tensorflow.keras import layers  # noqa: E402


def mlp_bn():
    return keras.Sequential([
        keras.Input(shape=(6,)),
        layers.Dense(5, activation="relu"),
        layers.BatchNormalization(),
        layers.Dense(3, activation="softmax"),
    ]), (4, 6), (
        "keras.Sequential([keras.Input(shape=(6,)), layers.Dense(5, activation='relu'), "
        "layers.BatchNormalization(), layers.Dense(3, activation='softmax')])"
    )


def cnn_bn():
    return keras.Sequential([
        keras.Input(shape=(8, 8, 2)),
        layers.Conv2D(3, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(),
        layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2),
        layers.AveragePooling2D(),
        layers.Flatten(),
        layers.Dense(2, activation="softmax"),
    ]), (3, 8, 8, 2), (
        "keras.Sequential([keras.Input(shape=(8, 8, 2)), layers.Conv2D(3, 3, padding='same', "
        "activation='relu'), layers.BatchNormalization(), layers.MaxPooling2D(), "
        "layers.DepthwiseConv2D(3, padding='same', depth_multiplier=2), layers.AveragePooling2D(), "
        "layers.Flatten(), layers.Dense(2, activation='softmax')])"
    )


def residual_functional():
    inputs = keras.Input(shape=(6, 6, 2))
    x = layers.ZeroPadding2D(1)(inputs)
    x = layers.Conv2D(2, 3, activation="elu")(x)
    x = layers.Add()([inputs, x])
    x = layers.Rescaling(0.5, offset=0.1)(x)
    x = layers.Activation("tanh")(x)
    x = layers.GlobalMaxPooling2D()(x)
    outputs = layers.Dense(3)(x)
    return keras.Model(inputs, outputs), (2, 6, 6, 2), (
        "inputs = keras.Input(shape=(6, 6, 2)); x = layers.ZeroPadding2D(1)(inputs); "
        "x = layers.Conv2D(2, 3, activation='elu')(x); x = layers.Add()([inputs, x]); "
        "x = layers.Rescaling(0.5, offset=0.1)(x); x = layers.Activation('tanh')(x); "
        "x = layers.GlobalMaxPooling2D()(x); outputs = layers.Dense(3)(x); keras.Model(inputs, outputs)"
    )


CASES = [mlp_bn, cnn_bn, residual_functional]


def tensor(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "keras", "models"))
    parser.add_argument("--any-tf", action="store_true", help="allow a TF other than 2.10.x")
    args = parser.parse_args()
    print("TensorFlow", tf.__version__)
    if not tf.__version__.startswith("2.10.") and not args.any_tf:
        sys.exit("needs TF 2.10.x (the course's version); --any-tf to override")
    os.makedirs(args.out, exist_ok=True)
    for case in CASES:
        tf.keras.backend.clear_session()
        name = case.__name__
        rng = np.random.RandomState(zlib.crc32(name.encode()))
        model, x_shape, call = case()
        tensors = {}
        for w in model.weights:
            if "moving_variance" in w.name or "gamma" in w.name:
                value = rng.uniform(0.5, 1.5, w.shape)  # positive, near Keras's 1
            else:
                value = rng.uniform(-0.5, 0.5, w.shape)
            w.assign(value.astype(np.float32))
            tensors[w.name] = tensor(w.numpy())
        x = rng.uniform(-1.0, 1.0, x_shape).astype(np.float32)
        tensors["x"] = tensor(x)
        tensors["y_infer"] = tensor(model(x, training=False).numpy())
        before = {w.name: w.numpy().copy() for w in model.weights}
        tensors["y_train"] = tensor(model(x, training=True).numpy())
        for w in model.weights:
            if not np.array_equal(before[w.name], w.numpy()):
                tensors["after_train/" + w.name] = tensor(w.numpy())
        fixture = {
            "case": name,
            "op": "model",
            "keras": keras.__version__,
            "params": {"keras_call": call, "weight_names": [w.name for w in model.weights]},
            "tensors": tensors,
        }
        path = os.path.join(args.out, name + ".json")
        with open(path, "w") as f:
            json.dump(fixture, f, indent=1)
        print(f"{name}: {len(model.weights)} weights -> {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
