"""Model files written by Keras 3 (`model.save('m.keras')`, `model.save_weights('m.weights.h5')`),
for astrograd's model-file reader and writer (issue 13), with what each model predicts.

The same three kinds of compiled model as tools/keras_model_file_fixtures.py (TF 2.10), built
with Keras 3 on the JAX backend: weights set from a seeded NumPy generator, two `fit` steps, then
saved. For each case `<case>` it writes to tests/fixtures/keras/model_files/:

- `<case>.keras`: the zip `model.save` writes (metadata.json, config.json, model.weights.h5);
- `<case>.weights.h5`: `model.save_weights` at the same moment (layers and optimizer state);
- `<case>.json` (schema of tools/README.md, `"op": "model_file"`): `x`, `y_pred` (=
  `predict(x)` of the model reloaded from the `.keras`), and, as in the TF 2.10 fixtures, a
  continuation of k = 3 `train_on_batch` calls on the reloaded model (Dropout rate set to 0.0
  first): `x_train`, `y_train` (call s uses rows [4s, 4s + 4)), `losses`, `accuracy`,
  `after/<variable path>` for each model variable and `after_optimizer/<i>` for optimizer
  variable i (the index is its dataset name under `optimizer/vars/` in the weights file;
  `params.optimizer_variable_paths` gives Keras's paths). Keras 3's optimizers and
  BatchNormalization are not TF 2.10's, so these numbers are Keras 3's, not 2.10's.

Cases: `mlp_adam_keras3`, `cnn_rmsprop_keras3`, `residual_sgd_keras3` (architectures, optimizers
and losses as in the TF 2.10 script).

Determinism: weights and data from `np.random.RandomState(crc32(case))`,
`keras.utils.set_random_seed(1234)` before each case. Keras 3 itself writes three things that
change from run to run, and the script normalises them after `model.save` (unless
`--keep-keras-bytes`), so that two runs write byte-identical files:

- metadata.json's `date_saved` (the wall-clock time) becomes "1980-01-01@00:00:00";
- config.json's `shared_object_id` values (Python `id()`s of shared objects such as the
  DTypePolicy) are renumbered 1, 2, … in order of first appearance (same sharing, stable numbers);
- the zip entry time of model.weights.h5 (Keras writes it with `writestr` and the current time;
  metadata.json and config.json already carry 1980-01-01 00:00:00) becomes 1980-01-01 00:00:00.

Everything else (entry order, stored/no compression, the HDF5 bytes, the JSON text) is Keras's.
The script reloads each normalised file with `keras.models.load_model` and checks its
predictions and optimizer state against the in-memory model.

Run: KERAS_BACKEND=jax /root/venvs/keras3/bin/python tools/keras3_model_file_fixtures.py
     [--out DIR] [--any-keras] [--keep-keras-bytes]
"""
import argparse
import io
import json
import os
import sys
import zipfile
import zlib

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

K_STEPS = 3
BATCH = 4
FIT_SAMPLES = 8
N_PREDICT = 4
FIXED_DATE = "1980-01-01@00:00:00"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


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
        layers.AveragePooling2D(2),  # Keras 3 has no default pool_size here (2.10: (2, 2))
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
    "mlp_adam_keras3": (mlp, (4, 5), "sparse", 3, (
        "model = keras.Sequential([keras.Input(shape=(4, 5)), layers.Flatten(), "
        "layers.Dense(8, activation='relu'), layers.Dropout(0.25), layers.Dense(3, activation='softmax')]); "
        "model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), "
        "loss='sparse_categorical_crossentropy', metrics=['accuracy'])")),
    "cnn_rmsprop_keras3": (cnn, (8, 8, 2), "onehot", 3, (
        "model = keras.Sequential([keras.Input(shape=(8, 8, 2)), layers.ZeroPadding2D(1), "
        "layers.Conv2D(4, 3, activation='relu'), layers.BatchNormalization(), layers.MaxPooling2D(), "
        "layers.DepthwiseConv2D(3, padding='same', depth_multiplier=2), layers.AveragePooling2D(2), "
        "layers.GlobalAveragePooling2D(), layers.Dense(3, activation='softmax')]); "
        "model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.005), "
        "loss='categorical_crossentropy', metrics=['accuracy'])")),
    "residual_sgd_keras3": (residual, (6, 6, 2), "binary", 1, (
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
    """As tools/keras_model_file_fixtures.py: Glorot-sized kernels, small biases and shifts,
    scales and moving variances near 1."""
    values = []
    for w in model.weights:
        shape = tuple(w.shape)
        name = w.path
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


def renumber_shared_ids(node, mapping):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "shared_object_id":
                node[k] = mapping.setdefault(v, len(mapping) + 1)
            else:
                renumber_shared_ids(v, mapping)
    elif isinstance(node, list):
        for v in node:
            renumber_shared_ids(v, mapping)


def normalise_keras_zip(path):
    """Replace the three run-dependent parts of a `.keras` file (see the module docstring)."""
    with zipfile.ZipFile(path) as z:
        entries = [(info, z.read(info.filename)) for info in z.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info, data in entries:
            if info.filename == "metadata.json":
                meta = json.loads(data)
                if "date_saved" in meta:
                    meta["date_saved"] = FIXED_DATE
                data = json.dumps(meta).encode()
            elif info.filename == "config.json":
                text = data.decode()
                cfg = json.loads(text)
                if json.dumps(cfg) != text:
                    raise SystemExit("config.json is not plain json.dumps output; refusing to rewrite it")
                renumber_shared_ids(cfg, {})
                data = json.dumps(cfg).encode()
            new = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            new.compress_type = info.compress_type
            new.external_attr = info.external_attr
            new.create_system = info.create_system
            z.writestr(new, data)
    with open(path, "wb") as f:
        f.write(out.getvalue())


def continue_training(model, x_train, y_train):
    for layer in model.layers:
        if isinstance(layer, layers.Dropout):
            layer.rate = 0.0
    model.make_train_function(force=True)
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
    parser.add_argument("--any-keras", action="store_true", help="allow a Keras other than 3.x or a backend other than jax")
    parser.add_argument("--keep-keras-bytes", action="store_true",
                        help="don't normalise date_saved, shared_object_id and the zip entry time")
    args = parser.parse_args()
    backend = keras.backend.backend()
    import jax  # noqa: E402  (the backend; only for its version)
    print("keras", keras.__version__, "backend", backend, "jax", jax.__version__, "h5py", h5py.__version__,
          "numpy", np.__version__)
    if (not keras.__version__.startswith("3.") or backend != "jax") and not args.any_keras:
        sys.exit("needs Keras 3.x with KERAS_BACKEND=jax; --any-keras to override (don't commit the output)")
    os.makedirs(args.out, exist_ok=True)

    for case, (build, in_shape, label_kind, classes, call) in CASES.items():
        keras.backend.clear_session()
        keras.utils.set_random_seed(1234)
        rng = np.random.RandomState(zlib.crc32(case.encode()))
        model = build()
        seeded_weights(model, rng)
        x_fit = rng.uniform(-1, 1, (FIT_SAMPLES,) + in_shape).astype(np.float32)
        y_fit = labels(rng, FIT_SAMPLES, label_kind, classes)
        x = rng.uniform(-1, 1, (N_PREDICT,) + in_shape).astype(np.float32)
        x_train = rng.uniform(-1, 1, (K_STEPS * BATCH,) + in_shape).astype(np.float32)
        y_train = labels(rng, K_STEPS * BATCH, label_kind, classes)

        model.fit(x_fit, y_fit, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
        path = os.path.join(args.out, case + ".keras")
        weights_path = os.path.join(args.out, case + ".weights.h5")
        model.save(path)
        model.save_weights(weights_path)
        if not args.keep_keras_bytes:
            normalise_keras_zip(path)
        y_mem = model.predict(x, verbose=0)

        loaded = keras.models.load_model(path)
        y_pred = loaded.predict(x, verbose=0)
        if not np.array_equal(y_pred, y_mem):
            raise SystemExit(f"{case}: predictions of the reloaded model differ from the saved one")
        saved_opt = [np.asarray(v) for v in model.optimizer.variables]
        if len(saved_opt) != len(loaded.optimizer.variables) or not all(
                np.array_equal(a, np.asarray(v)) for a, v in zip(saved_opt, loaded.optimizer.variables)):
            raise SystemExit(f"{case}: load_model did not restore the optimizer state")
        opt_paths = [v.path for v in loaded.optimizer.variables]

        losses, accs = continue_training(loaded, x_train, y_train)
        mem_losses, _ = continue_training(model, x_train, y_train)
        drift = max(float(np.abs(np.asarray(a) - np.asarray(b)).max()) for a, b in zip(model.weights, loaded.weights))
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
            tensors["after/" + w.path] = tensor(np.asarray(w))
        for i, v in enumerate(loaded.optimizer.variables):
            tensors[f"after_optimizer/{i}"] = tensor(np.asarray(v))
        fixture = {
            "case": case,
            "op": "model_file",
            "keras": keras.__version__,
            "params": {
                "files": [case + ".keras", case + ".weights.h5"],
                "backend": backend,
                "jax": jax.__version__,
                "keras_call": call,
                "initial_training": (
                    f"model.fit(x_fit, y_fit, batch_size={BATCH}, epochs=1, shuffle=False) on {FIT_SAMPLES} "
                    "seeded samples (2 steps; Dropout active, keras.utils.set_random_seed(1234)), then "
                    "model.save(<case>.keras) and model.save_weights(<case>.weights.h5)"),
                "normalised": not args.keep_keras_bytes,
                "continuation": (
                    f"loaded = keras.models.load_model('<case>.keras'); every Dropout layer's rate set to 0.0; "
                    f"for s in 0..{K_STEPS}: loaded.train_on_batch(x_train[{BATCH}*s:{BATCH}*s+{BATCH}], "
                    f"y_train[{BATCH}*s:{BATCH}*s+{BATCH}]) -> losses[s], accuracy[s]"),
                "k": K_STEPS,
                "batch_size": BATCH,
                "weight_paths": [w.path for w in loaded.weights],
                "optimizer_variable_paths": opt_paths,
            },
            "tensors": tensors,
        }
        with open(os.path.join(args.out, case + ".json"), "w") as f:
            json.dump(fixture, f, indent=1)
            f.write("\n")
        print(f"{case}: .keras {os.path.getsize(path)} bytes, .weights.h5 {os.path.getsize(weights_path)} bytes, "
              f"losses {[round(float(v), 6) for v in losses]}, continuation drift {drift:.1e}")


if __name__ == "__main__":
    main()
