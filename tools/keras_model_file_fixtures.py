"""Whole-model files written by tf.keras 2.10 (`model.save('m.h5')`), for astrograd's model-file
reader and writer (issue 13), with what each model predicts and how its training continues.

For each of three small compiled models it sets every weight from a seeded NumPy generator,
trains a couple of steps with `model.fit`, saves the whole model as a legacy HDF5 file (model
config, training config, weights, optimizer state), loads that file back with
`keras.models.load_model`, and on the loaded model records `predict(x)` and then k = 3 further
`train_on_batch` calls on fixed batches: the loss and accuracy each call returns and every weight
and optimizer variable after the third call. The Rust side can load the `.h5`, continue training
on the same batches and compare.

Cases (tests/fixtures/keras/model_files/):

- `mlp_adam_tf210.h5`: Sequential Flatten → Dense relu → Dropout(0.25) → Dense softmax,
  Adam(0.01), sparse_categorical_crossentropy, metrics ['accuracy'].
- `cnn_rmsprop_tf210.h5`: Sequential ZeroPadding2D → Conv2D relu → BatchNormalization →
  MaxPooling2D → DepthwiseConv2D → AveragePooling2D → GlobalAveragePooling2D → Dense softmax,
  RMSprop(0.005), categorical_crossentropy, ['accuracy'].
- `residual_sgd_tf210.h5`: functional Rescaling → Conv2D → Add (residual) → Activation relu →
  GlobalMaxPooling2D → Dense sigmoid, SGD(0.05, momentum=0.9, nesterov=True),
  binary_crossentropy, ['accuracy'].
- `residual_sgd_tf210_weights.h5`: `model.save_weights` (legacy weights-only layout) of the
  residual model at the moment it was saved whole, with `residual_sgd_tf210_weights.json`
  (x, y_pred and `model_config`, the `model.to_json()` that rebuilds it).

Each `<case>.json` (schema of tools/README.md, `"op": "model_file"`) holds the tensors `x`,
`y_pred` (= loaded.predict(x)), `x_train`, `y_train` (the continuation batches: call s, s = 0, 1, 2,
uses rows [4s, 4s + 4)), `losses` and `accuracy` (shape [3], what each `train_on_batch` call
returned), `after/<weight name>` for every entry of `model.weights` after the third call, and
`after_optimizer/<name>` for every optimizer variable after it (`iter` as a float).
`params` records the Keras calls, the weight names in `model.weights` order, the optimizer's
weight names in the file's order, and the steps.

Determinism: weights and data come from `np.random.RandomState(crc32(case))`; the TF seed is
fixed (`tf.keras.utils.set_random_seed(1234)` before each case), so the Dropout masks of the
initial `fit` repeat from run to run. Before the continuation every Dropout layer of the loaded
model gets `rate = 0.0`, so the three recorded steps contain no randomness (the file itself keeps
rate 0.25). The script checks that continuing the in-memory model (dropout also off) gives the
same numbers as continuing the reloaded one, i.e. that the file holds the whole training state.
Two runs write byte-identical files.

Run: /root/venvs/tf/bin/python tools/keras_model_file_fixtures.py [--out DIR] [--any-tf]
"""
import argparse
import json
import os
import sys
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402
from tensorflow.keras import layers  # noqa: E402

K_STEPS = 3
BATCH = 4
FIT_SAMPLES = 8  # model.fit(batch_size=4): two steps before the file is written
N_PREDICT = 4


def mlp():
    model = keras.Sequential([
        keras.Input(shape=(4, 5)),
        layers.Flatten(),
        layers.Dense(8, activation="relu"),
        layers.Dropout(0.25),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def cnn():
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 2)),
        layers.ZeroPadding2D(1),
        layers.Conv2D(4, 3, activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(),
        layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2),
        layers.AveragePooling2D(),
        layers.GlobalAveragePooling2D(),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.005),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def residual():
    inputs = keras.Input(shape=(6, 6, 2))
    x = layers.Rescaling(0.5, offset=-0.25)(inputs)
    y = layers.Conv2D(2, 3, padding="same")(x)
    x = layers.Add()([x, y])
    x = layers.Activation("relu")(x)
    x = layers.GlobalMaxPooling2D()(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


CASES = {
    "mlp_adam_tf210": (mlp, (4, 5), "sparse", 3, (
        "model = keras.Sequential([keras.Input(shape=(4, 5)), layers.Flatten(), "
        "layers.Dense(8, activation='relu'), layers.Dropout(0.25), layers.Dense(3, activation='softmax')]); "
        "model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), "
        "loss='sparse_categorical_crossentropy', metrics=['accuracy'])")),
    "cnn_rmsprop_tf210": (cnn, (8, 8, 2), "onehot", 3, (
        "model = keras.Sequential([keras.Input(shape=(8, 8, 2)), layers.ZeroPadding2D(1), "
        "layers.Conv2D(4, 3, activation='relu'), layers.BatchNormalization(), layers.MaxPooling2D(), "
        "layers.DepthwiseConv2D(3, padding='same', depth_multiplier=2), layers.AveragePooling2D(), "
        "layers.GlobalAveragePooling2D(), layers.Dense(3, activation='softmax')]); "
        "model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.005), "
        "loss='categorical_crossentropy', metrics=['accuracy'])")),
    "residual_sgd_tf210": (residual, (6, 6, 2), "binary", 1, (
        "inputs = keras.Input(shape=(6, 6, 2)); x = layers.Rescaling(0.5, offset=-0.25)(inputs); "
        "y = layers.Conv2D(2, 3, padding='same')(x); x = layers.Add()([x, y]); "
        "x = layers.Activation('relu')(x); x = layers.GlobalMaxPooling2D()(x); "
        "outputs = layers.Dense(1, activation='sigmoid')(x); model = keras.Model(inputs, outputs); "
        "model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True), "
        "loss='binary_crossentropy', metrics=['accuracy'])")),
}


def tensor(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def seeded_weights(model, rng):
    """Every weight from `rng`: kernels Glorot-uniform-sized, biases and BN shifts small,
    BN scales and moving variances near 1."""
    values = []
    for w in model.weights:
        shape = tuple(w.shape)
        name = w.name
        if "gamma" in name or "moving_variance" in name:
            v = rng.uniform(0.8, 1.2, shape)
        elif "beta" in name or "moving_mean" in name or "bias" in name:
            v = rng.uniform(-0.1, 0.1, shape)
        else:
            receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
            fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            v = rng.uniform(-limit, limit, shape)
        values.append(v.astype(np.float32))
    model.set_weights(values)


def labels(rng, n, kind, classes):
    if kind == "binary":
        return rng.randint(0, 2, size=(n, 1)).astype(np.float32)
    ids = rng.randint(0, classes, size=n)
    if kind == "sparse":
        return ids.astype(np.float32)
    return np.eye(classes, dtype=np.float32)[ids]


def continue_training(model, x_train, y_train):
    """Dropout off, then K_STEPS train_on_batch calls; returns (losses, accuracies)."""
    for layer in model.layers:
        if isinstance(layer, layers.Dropout):
            layer.rate = 0.0
    model.train_function = None  # retrace, so that the new rate is used
    losses, accs = [], []
    for s in range(K_STEPS):
        rows = slice(s * BATCH, (s + 1) * BATCH)
        out = model.train_on_batch(x_train[rows], y_train[rows], return_dict=True)
        losses.append(out["loss"])
        accs.append(out["accuracy"])
    return losses, accs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "keras", "model_files"))
    parser.add_argument("--any-tf", action="store_true", help="allow a TF other than 2.10.x")
    args = parser.parse_args()
    print("TensorFlow", tf.__version__, "keras", keras.__version__, "h5py", h5py.__version__)
    if not tf.__version__.startswith("2.10.") and not args.any_tf:
        sys.exit("needs TF 2.10.x (the course's version); --any-tf to override (don't commit the output)")
    os.makedirs(args.out, exist_ok=True)

    for case, (build, in_shape, label_kind, classes, call) in CASES.items():
        keras.backend.clear_session()
        tf.keras.utils.set_random_seed(1234)
        rng = np.random.RandomState(zlib.crc32(case.encode()))
        model = build()
        seeded_weights(model, rng)
        x_fit = rng.uniform(-1, 1, (FIT_SAMPLES,) + in_shape).astype(np.float32)
        y_fit = labels(rng, FIT_SAMPLES, label_kind, classes)
        x = rng.uniform(-1, 1, (N_PREDICT,) + in_shape).astype(np.float32)
        x_train = rng.uniform(-1, 1, (K_STEPS * BATCH,) + in_shape).astype(np.float32)
        y_train = labels(rng, K_STEPS * BATCH, label_kind, classes)

        model.fit(x_fit, y_fit, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
        path = os.path.join(args.out, case + ".h5")
        model.save(path)
        weights_path = None
        if case == "residual_sgd_tf210":
            weights_path = os.path.join(args.out, case + "_weights.h5")
            model.save_weights(weights_path)
        y_mem = model.predict(x, verbose=0)
        config_json = model.to_json()

        loaded = keras.models.load_model(path)
        y_pred = loaded.predict(x, verbose=0)
        if not np.array_equal(y_pred, y_mem):
            raise SystemExit(f"{case}: predictions of the reloaded model differ from the saved one")
        # The names as the file stores them (optimizer_weights/@weight_names). The loaded optimizer's
        # variables carry other names ('iter:0', not 'Adam/iter:0'): load_model matches by position.
        with h5py.File(path, "r") as f:
            opt_names = [n.decode() if isinstance(n, bytes) else n
                         for n in f["optimizer_weights"].attrs["weight_names"]]
        saved_opt = [w.numpy() for w in model.optimizer.weights]
        if len(saved_opt) != len(loaded.optimizer.weights) or not all(
                np.array_equal(a, w.numpy()) for a, w in zip(saved_opt, loaded.optimizer.weights)):
            raise SystemExit(f"{case}: load_model did not restore the optimizer state")

        losses, accs = continue_training(loaded, x_train, y_train)
        mem_losses, _ = continue_training(model, x_train, y_train)
        drift = max(float(np.abs(a.numpy() - b.numpy()).max()) for a, b in zip(model.weights, loaded.weights))
        drift = max(drift, float(np.abs(np.array(losses) - np.array(mem_losses)).max()))
        if drift > 1e-6:
            raise SystemExit(f"{case}: continuing the reloaded model drifts from the in-memory one by {drift}")

        tensors = {
            "x": tensor(x),
            "y_pred": tensor(y_pred),
            "x_train": tensor(x_train),
            "y_train": tensor(y_train),
            "losses": tensor(losses),
            "accuracy": tensor(accs),
        }
        for w in loaded.weights:
            tensors["after/" + w.name] = tensor(w.numpy())
        for name, w in zip(opt_names, loaded.optimizer.weights):
            tensors["after_optimizer/" + name] = tensor(w.numpy())
        fixture = {
            "case": case,
            "op": "model_file",
            "keras": keras.__version__,
            "params": {
                "file": case + ".h5",
                "tensorflow": tf.__version__,
                "keras_call": call,
                "initial_training": (
                    f"model.fit(x_fit, y_fit, batch_size={BATCH}, epochs=1, shuffle=False) on {FIT_SAMPLES} "
                    "seeded samples (2 steps; Dropout active, TF seed 1234), then model.save(file)"),
                "continuation": (
                    f"loaded = keras.models.load_model(file); every Dropout layer's rate set to 0.0; "
                    f"for s in 0..{K_STEPS}: loaded.train_on_batch(x_train[{BATCH}*s:{BATCH}*s+{BATCH}], "
                    f"y_train[{BATCH}*s:{BATCH}*s+{BATCH}]) -> losses[s], accuracy[s]"),
                "k": K_STEPS,
                "batch_size": BATCH,
                "weight_names": [w.name for w in loaded.weights],
                "optimizer_weight_names": opt_names,
            },
            "tensors": tensors,
        }
        json_path = os.path.join(args.out, case + ".json")
        with open(json_path, "w") as f:
            json.dump(fixture, f, indent=1)
            f.write("\n")
        print(f"{case}: {os.path.getsize(path)} bytes, losses {[round(v, 6) for v in losses]}, "
              f"continuation drift {drift:.1e}")

        if weights_path:
            wcase = case + "_weights"
            wfixture = {
                "case": wcase,
                "op": "weights_file",
                "keras": keras.__version__,
                "params": {
                    "file": wcase + ".h5",
                    "tensorflow": tf.__version__,
                    "keras_call": call + f"; (trained as {case}) model.save_weights(file)",
                    "weight_names": [w.name for w in model.weights],
                },
                "model_config": json.loads(config_json),
                "tensors": {"x": tensor(x), "y_pred": tensor(y_pred)},
            }
            with open(os.path.join(args.out, wcase + ".json"), "w") as f:
                json.dump(wfixture, f, indent=1)
                f.write("\n")
            print(f"{wcase}: {os.path.getsize(weights_path)} bytes")


if __name__ == "__main__":
    main()
