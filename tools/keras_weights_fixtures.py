"""Keras legacy HDF5 weight files, and the weight values they hold, for astrograd's `.h5` loader.

Writes tiny `.h5` files to tests/fixtures/keras/weights/ in the layouts the loader must read
(docs/keras-semantics.md §9), and `expected.json` with every weight each file holds:

- `mlp.h5`: `model.save_weights('mlp.h5')` of a Sequential MLP (TF 2.10: fixed-length
  `layer_names`/`weight_names` attributes, weights in subgroups `/dense/dense/kernel:0`).
- `cnn_bn.h5`: the same for a small CNN with BatchNormalization (moving statistics set to
  non-trivial values, so that a loader that skips them is caught).
- `mlp_full_model.h5`: `model.save('mlp_full_model.h5')`: the weights under `/model_weights`,
  beside `model_config` and `training_config`.
- `vgg_style.h5`: written by hand with h5py as the official VGG16 files are: fixed-length
  attributes, weight names `block1_conv1_W_1:0` / `block1_conv1_b_1:0` directly in the layer's
  group, and an empty `weight_names` for the pooling and flatten layers.
- `mlp_vlen.h5`: the MLP's weights written by hand with variable-length (h5py `string_dtype`)
  attributes, as newer h5py versions write them.
- `mlp_chunked.h5`: the MLP's weights with `layer_names` split into `layer_names0`,
  `layer_names1` (what Keras does past 64,512 bytes of names), written by hand.

`expected.json`: `{"keras": "2.10.1", "files": {"mlp.h5": {"keras_call": …, "weights":
[{"layer": "dense", "name": "dense/kernel:0", "shape": [4, 3], "data": […]}, …]}, …}}`, each
file's weights in the model's order (Keras's `model.weights`). Values are the exact float64
widening of each float32 (as tools/README.md's schema).

Run: /root/venvs/tf/bin/python tools/keras_weights_fixtures.py
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

MLP_CALL = (
    "keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, activation='relu', name='dense'), "
    "layers.Dense(2, activation='softmax', name='dense_1')])"
)
CNN_CALL = (
    "keras.Sequential([keras.Input(shape=(6, 6, 1)), layers.Conv2D(2, 3, name='conv2d'), "
    "layers.BatchNormalization(name='batch_normalization'), layers.MaxPooling2D(name='max_pooling2d'), "
    "layers.Flatten(name='flatten'), layers.Dense(3, name='dense')])"
)
VGG_CALL = (
    "keras.Sequential([keras.Input(shape=(4, 4, 1)), layers.Conv2D(2, 3, padding='same', "
    "activation='relu', name='block1_conv1'), layers.MaxPooling2D(name='block1_pool'), "
    "layers.Flatten(name='flatten'), layers.Dense(2, activation='softmax', name='predictions')])"
)


def mlp():
    return keras.Sequential([
        keras.Input(shape=(4,)),
        layers.Dense(3, activation="relu", name="dense"),
        layers.Dense(2, activation="softmax", name="dense_1"),
    ])


def cnn_bn():
    return keras.Sequential([
        keras.Input(shape=(6, 6, 1)),
        layers.Conv2D(2, 3, name="conv2d"),
        layers.BatchNormalization(name="batch_normalization"),
        layers.MaxPooling2D(name="max_pooling2d"),
        layers.Flatten(name="flatten"),
        layers.Dense(3, name="dense"),
    ])


def vgg_style():
    return keras.Sequential([
        keras.Input(shape=(4, 4, 1)),
        layers.Conv2D(2, 3, padding="same", activation="relu", name="block1_conv1"),
        layers.MaxPooling2D(name="block1_pool"),
        layers.Flatten(name="flatten"),
        layers.Dense(2, activation="softmax", name="predictions"),
    ])


def seeded_weights(model, case):
    """Every weight from a seeded generator; variances positive, as BatchNormalization needs."""
    rng = np.random.RandomState(zlib.crc32(case.encode()))
    values = []
    for w in model.weights:
        v = rng.uniform(-1.0, 1.0, size=w.shape).astype(np.float32)
        if "moving_variance" in w.name:
            v = np.abs(v) + np.float32(0.5)
        values.append(v)
    model.set_weights(values)


def expected(model, keras_call):
    out = []
    for layer in model.layers:
        for w in layer.weights:
            a = w.numpy().astype(np.float32)
            out.append({
                "layer": layer.name,
                "name": w.name,
                "shape": list(a.shape),
                "data": [float(v) for v in a.reshape(-1)],
            })
    return {"keras_call": keras_call, "weights": out}


def write_by_hand(path, model, weight_name, string_kind, chunk_layer_names=False):
    """A legacy weights file written with h5py: `weight_name(layer, weight, index)` names each
    weight; `string_kind` is "fixed" (numpy `S` arrays) or "vlen" (h5py string_dtype)."""

    def strings(names):
        if string_kind == "fixed":
            # np.array of bytes: fixed-length, NUL-padded (h5py writes H5T_STR_NULLPAD).
            return np.array([n.encode("utf8") for n in names])
        return np.array(names, dtype=h5py.string_dtype(encoding="utf-8"))

    with h5py.File(path, "w") as f:
        names = [layer.name for layer in model.layers]
        if chunk_layer_names:
            half = (len(names) + 1) // 2
            f.attrs["layer_names0"] = strings(names[:half])
            f.attrs["layer_names1"] = strings(names[half:])
        else:
            f.attrs["layer_names"] = strings(names)
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.10.0"
        for layer in model.layers:
            g = f.create_group(layer.name)
            wnames = [weight_name(layer, w, i) for i, w in enumerate(layer.weights)]
            if wnames:
                g.attrs["weight_names"] = strings(wnames)
            else:
                # What Keras writes for a layer without weights: an empty float array.
                g.attrs["weight_names"] = np.array([], dtype=np.float64)
            for n, w in zip(wnames, layer.weights):
                g.create_dataset(n, data=w.numpy().astype("<f4"))


def main():
    parser = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "keras", "weights"))
    parser.add_argument("--any-tf", action="store_true")
    args = parser.parse_args()
    print("tensorflow", tf.__version__, "h5py", h5py.__version__)
    if not tf.__version__.startswith("2.10.") and not args.any_tf:
        sys.exit("needs TensorFlow 2.10.x (or --any-tf; don't commit the output)")
    tf.random.set_seed(0)
    os.makedirs(args.out, exist_ok=True)
    files = {}

    model = mlp()
    seeded_weights(model, "mlp")
    model.save_weights(os.path.join(args.out, "mlp.h5"))
    files["mlp.h5"] = expected(model, MLP_CALL)

    model.compile(optimizer="sgd", loss="mse")
    model.save(os.path.join(args.out, "mlp_full_model.h5"), include_optimizer=False)
    files["mlp_full_model.h5"] = expected(model, MLP_CALL)

    # Subgroups as Keras makes them ("dense/kernel:0" → /dense/dense/kernel:0), vlen strings.
    write_by_hand(os.path.join(args.out, "mlp_vlen.h5"), model, lambda layer, w, i: w.name, "vlen")
    files["mlp_vlen.h5"] = expected(model, MLP_CALL)
    write_by_hand(os.path.join(args.out, "mlp_chunked.h5"), model, lambda layer, w, i: w.name, "fixed",
                  chunk_layer_names=True)
    files["mlp_chunked.h5"] = expected(model, MLP_CALL)

    model = cnn_bn()
    seeded_weights(model, "cnn_bn")
    model.save_weights(os.path.join(args.out, "cnn_bn.h5"))
    files["cnn_bn.h5"] = expected(model, CNN_CALL)

    model = vgg_style()
    seeded_weights(model, "vgg_style")
    letters = {"kernel": "W", "bias": "b"}

    def vgg_name(layer, w, i):
        short = w.name.split("/")[-1].split(":")[0]
        return f"{layer.name}_{letters[short]}_1:0"

    write_by_hand(os.path.join(args.out, "vgg_style.h5"), model, vgg_name, "fixed")
    files["vgg_style.h5"] = expected(model, VGG_CALL)

    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump({"keras": keras.__version__, "files": files}, f, indent=1)
        f.write("\n")
    for name in sorted(os.listdir(args.out)):
        print(f"  {name}: {os.path.getsize(os.path.join(args.out, name))} bytes")


if __name__ == "__main__":
    main()
