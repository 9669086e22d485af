"""Keras-parity fixtures for training: the course's Session 1 MLP and Session 2 CNN, trained by
`model.fit` for a few Adam steps from weights and data that both sides can rebuild from a formula.

Why formulas: the real models hold ~265,000 weights each; storing them (and their values after every
step) would make megabytes of fixtures. Instead every weight and every input is a closed-form
function of its index (below, and `tests/keras_parity_training.rs` on the Rust side), and the fixture
stores, after each training step, the running loss and accuracy that `fit` logs and, for each weight,
its sum, its sum of squares and its value at eight fixed positions; then `fit`'s History and
`predict` on four inputs.

  weight t (0-based, in model.weights order), element i (row-major), with n elements:
    kernel:  limit · sin(0.7·i + 1.3·t)        limit = sqrt(6 / (fan_in + fan_out)), Keras's fans
    bias:    0.01 · cos(0.3·i + t)
  input element j of the whole (96, 28, 28) array (row-major):  0.5 + 0.5·sin(0.0123·j + 0.5)
  label k:  (7·k) mod 10

All computed in float64, then rounded to float32. fit: batch_size 32, epochs 2, shuffle False
(3 steps an epoch, 6 in all), loss sparse_categorical_crossentropy, optimizer 'adam', metrics
['accuracy'].

Run: /root/venvs/tf/bin/python tools/keras_training_fixtures.py   (writes tests/fixtures/keras/training/)
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402
from tensorflow.keras import layers  # noqa: E402

N = 96
POSITIONS = 8


def formula_weights(model):
    values = []
    for t, w in enumerate(model.weights):
        shape = tuple(w.shape)
        n = int(np.prod(shape))
        i = np.arange(n, dtype=np.float64)
        if len(shape) == 1:
            v = 0.01 * np.cos(0.3 * i + t)
        else:
            receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
            fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            v = limit * np.sin(0.7 * i + 1.3 * t)
        values.append(v.astype(np.float32).reshape(shape))
    return values


def formula_data():
    j = np.arange(N * 28 * 28, dtype=np.float64)
    x = (0.5 + 0.5 * np.sin(0.0123 * j + 0.5)).astype(np.float32).reshape(N, 28, 28)
    y = ((7 * np.arange(N)) % 10).astype(np.float32)
    return x, y


def positions(n):
    return [int(p) for p in np.linspace(0, n - 1, POSITIONS).round()]


def summarise(model):
    out = {}
    for w in model.weights:
        v = w.numpy().astype(np.float64).ravel()
        out[w.name] = {
            "sum": float(v.sum()),
            "sumsq": float((v * v).sum()),
            "positions": positions(v.size),
            "samples": [float(v[p]) for p in positions(v.size)],
        }
    return out


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append({"loss": float(logs["loss"]), "accuracy": float(logs["accuracy"]),
                           "weights": summarise(self.model)})


def mlp():
    return keras.Sequential([
        layers.Flatten(input_shape=(28, 28)),
        layers.Dense(300, activation="relu"),
        layers.Dense(100, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def cnn():
    return keras.Sequential([
        layers.Conv2D(12, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def run(name, build, out_dir):
    keras.backend.clear_session()
    model = build()
    model.set_weights(formula_weights(model))
    x, y = formula_data()
    if name == "cnn":
        x = x[..., None]
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    recorder = Recorder()
    history = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0, callbacks=[recorder])
    predictions = model.predict(x[:4], verbose=0)
    fixture = {
        "case": f"training_{name}",
        "keras": tf.__version__,
        "weight_names": [w.name for w in model.weights],
        "weight_shapes": [list(w.shape) for w in model.weights],
        "steps": recorder.steps,
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "predictions": {"shape": list(predictions.shape),
                        "data": [float(v) for v in predictions.ravel()]},
    }
    path = os.path.join(out_dir, f"{name}.json")
    with open(path, "w") as f:
        json.dump(fixture, f, indent=1)
    print(f"wrote {path}: final loss {history.history['loss'][-1]:.6f}")


def main():
    if not tf.__version__.startswith("2.10") and "--any-tf" not in sys.argv:
        sys.exit(f"TensorFlow 2.10.x required (found {tf.__version__}); pass --any-tf to override")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = os.path.join(root, "tests", "fixtures", "keras", "training")
    os.makedirs(out_dir, exist_ok=True)
    run("mlp", mlp, out_dir)
    run("cnn", cnn, out_dir)


if __name__ == "__main__":
    main()
