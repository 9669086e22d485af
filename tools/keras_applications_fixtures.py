"""Keras-parity fixtures for `keras.applications`: VGG16, ResNet50 and MobileNetV2.

The real architectures are built by TF 2.10.1's own `keras.applications` functions with
`weights=None` at a reduced input size (32×32, the smallest Keras accepts), every weight is set
from a seeded generator, and the weights are saved in Keras's legacy HDF5 layout with the
outputs for two input images. The committed files must stay small (the full VGG16 without its
top is 59 MB, ResNet50 94 MB), so:

- `vgg16_block1.h5`: VGG16 (include_top=False) cut at `block1_pool` (Keras's
  `Model(base.input, base.get_layer('block1_pool').output)`, 38,720 params), rewritten with
  h5py in the layout of the official `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`:
  fixed-length byte-string attributes and weight names `block1_conv1_W_1:0`,
  `block1_conv1_b_1:0` directly in each layer's group.
- `resnet50_conv2_block2.h5`: ResNet50 (include_top=False) cut at `conv2_block2_out`: the stem
  (ZeroPadding, 7×7/2 conv, BN with epsilon 1.001e-5, max-pool 3/2), one block with a
  convolution shortcut and one identity block (157,312 params), `model.save_weights` as is.
- `mobilenet_v2_0.35_48.h5`: the whole MobileNetV2(alpha=0.35, include_top=False) at 48×48
  (410,208 params), `model.save_weights` as is. 48 rather than 32 so that one stride-2 block
  meets an odd size (3×3 before block 13) and pads ((1, 1), (1, 1)), as 150×150 inputs do.

For each case `<case>.json` holds the Keras call, the shapes, `layer_names` (Keras's
`model.layers` order) and the parameter counts, and `<case>.x.f32` / `<case>.y.f32` the input
batch (2 images, N H W C) and Keras's output `model(x, training=False)`, as raw little-endian
float32 (a JSON of ResNet's 32,768 outputs would be five times the size).

`architectures.json` holds what needs no weights: for each full architecture at its usual
input size, Keras's `model.layers` names, the total / trainable parameter counts, with and
without the top, and the model names.

Weights: kernels keep Keras's seeded glorot/he initialisation (so activations stay in range
through 50 layers); then every BatchNormalization gets γ in [0.5, 1.5], β and the moving mean
in [−0.2, 0.2], the moving variance in [0.5, 1.5], and every bias [−0.1, 0.1], from
`np.random.RandomState(crc32(case))`. Inputs are `preprocess_input`-like values: uniform in
[−1, 1] for MobileNetV2 ('tf' mode), in [−120, 130] for VGG16 and ResNet50 ('caffe' mode).

Run: /root/venvs/tf/bin/python tools/keras_applications_fixtures.py
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


def seeded_weights(model, case):
    """Sensible random values for the BN statistics and biases; kernels keep Keras's init."""
    rng = np.random.RandomState(zlib.crc32(case.encode()))
    for layer in model.layers:
        values = []
        for w in layer.weights:
            v = w.numpy()
            short = w.name.split("/")[-1].split(":")[0]
            if short in ("gamma", "moving_variance"):
                v = rng.uniform(0.5, 1.5, size=v.shape)
            elif short in ("beta", "moving_mean"):
                v = rng.uniform(-0.2, 0.2, size=v.shape)
            elif short == "bias":
                v = rng.uniform(-0.1, 0.1, size=v.shape)
            values.append(v.astype(np.float32))
        if values:
            layer.set_weights(values)


def write_official_vgg_style(path, model):
    """The official VGG16 files' layout: fixed-length strings, `<layer>_W_1:0` / `_b_1:0`."""
    letters = {"kernel": "W", "bias": "b"}

    def strings(names):
        return np.array([n.encode("utf8") for n in names])

    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = strings([layer.name for layer in model.layers])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.0.8"
        for layer in model.layers:
            g = f.create_group(layer.name)
            names = [
                f"{layer.name}_{letters[w.name.split('/')[-1].split(':')[0]]}_1:0"
                for w in layer.weights
            ]
            if names:
                g.attrs["weight_names"] = strings(names)
            else:
                g.attrs["weight_names"] = np.array([], dtype=np.float64)
            for n, w in zip(names, layer.weights):
                g.create_dataset(n, data=w.numpy().astype("<f4"))


def trainable_count(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def case(out, name, model, keras_call, low, high, official_vgg=False):
    seeded_weights(model, name)
    rng = np.random.RandomState(zlib.crc32((name + "/x").encode()))
    x = rng.uniform(low, high, size=(2,) + tuple(model.input_shape[1:])).astype(np.float32)
    y = model(x, training=False).numpy().astype(np.float32)
    h5 = os.path.join(out, name + ".h5")
    if official_vgg:
        write_official_vgg_style(h5, model)
    else:
        model.save_weights(h5)
    x.astype("<f4").tofile(os.path.join(out, name + ".x.f32"))
    y.astype("<f4").tofile(os.path.join(out, name + ".y.f32"))
    meta = {
        "keras": keras.__version__,
        "keras_call": keras_call,
        "x_shape": list(x.shape),
        "y_shape": list(y.shape),
        "layer_names": [layer.name for layer in model.layers],
        "count_params": int(model.count_params()),
        "y_abs_max": float(np.abs(y).max()),
        "y_abs_mean": float(np.abs(y).mean()),
    }
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"  {name}: {meta['count_params']} params, y {y.shape}, |y| max {meta['y_abs_max']:.3g} "
          f"mean {meta['y_abs_mean']:.3g}")


def architectures():
    apps = keras.applications
    out = {}
    specs = {
        "vgg16": lambda **kw: apps.VGG16(weights=None, **kw),
        "resnet50": lambda **kw: apps.ResNet50(weights=None, **kw),
        "mobilenet_v2": lambda **kw: apps.MobileNetV2(weights=None, **kw),
    }
    for name, build in specs.items():
        keras.backend.clear_session()
        top = build(include_top=True)
        keras.backend.clear_session()
        notop = build(include_top=False, input_shape=(224, 224, 3))
        out[name] = {
            "with_top": {"name": top.name, "count_params": int(top.count_params()),
                         "trainable": trainable_count(top),
                         "layer_names": [layer.name for layer in top.layers],
                         "output_shape": list(top.output_shape)},
            "no_top_224": {"name": notop.name, "count_params": int(notop.count_params()),
                           "trainable": trainable_count(notop),
                           "layer_names": [layer.name for layer in notop.layers],
                           "output_shape": list(notop.output_shape)},
        }
    keras.backend.clear_session()
    small = apps.MobileNetV2(weights=None, include_top=False, alpha=0.35, input_shape=(96, 96, 3))
    out["mobilenet_v2_0.35_96"] = {"name": small.name, "count_params": int(small.count_params()),
                                   "output_shape": list(small.output_shape)}
    keras.backend.clear_session()
    wide = apps.MobileNetV2(weights=None, include_top=False, alpha=1.4, input_shape=(160, 160, 3))
    out["mobilenet_v2_1.4_160"] = {"name": wide.name, "count_params": int(wide.count_params()),
                                   "output_shape": list(wide.output_shape)}
    keras.backend.clear_session()
    vgg150 = apps.VGG16(weights=None, include_top=False, input_shape=(150, 150, 3))
    out["vgg16_150"] = {"output_shape": list(vgg150.output_shape)}
    # Keras's errors, word for word.
    errors = {}
    for key, call in {
        "top_not_224": lambda: apps.VGG16(include_top=True, weights="imagenet", input_shape=(150, 150, 3)),
        "too_small": lambda: apps.VGG16(include_top=False, weights=None, input_shape=(31, 40, 3)),
        "classes": lambda: apps.ResNet50(include_top=True, weights="imagenet", classes=10),
    }.items():
        try:
            call()
            errors[key] = None
        except ValueError as e:
            errors[key] = str(e)
    out["errors"] = errors
    return out


def main():
    parser = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "keras", "applications"))
    parser.add_argument("--any-tf", action="store_true")
    args = parser.parse_args()
    print("tensorflow", tf.__version__, "h5py", h5py.__version__)
    if not tf.__version__.startswith("2.10.") and not args.any_tf:
        sys.exit("needs TensorFlow 2.10.x (or --any-tf; don't commit the output)")
    os.makedirs(args.out, exist_ok=True)
    tf.random.set_seed(0)
    apps = keras.applications

    keras.backend.clear_session()
    tf.random.set_seed(1)
    base = apps.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    model = keras.Model(base.input, base.get_layer("block1_pool").output)
    case(args.out, "vgg16_block1", model,
         "base = VGG16(include_top=False, weights=None, input_shape=(32, 32, 3)); "
         "Model(base.input, base.get_layer('block1_pool').output)", -120.0, 130.0, official_vgg=True)

    keras.backend.clear_session()
    tf.random.set_seed(2)
    base = apps.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3))
    model = keras.Model(base.input, base.get_layer("conv2_block2_out").output)
    case(args.out, "resnet50_conv2_block2", model,
         "base = ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3)); "
         "Model(base.input, base.get_layer('conv2_block2_out').output)", -120.0, 130.0)

    keras.backend.clear_session()
    tf.random.set_seed(3)
    model = apps.MobileNetV2(include_top=False, weights=None, alpha=0.35, input_shape=(48, 48, 3))
    case(args.out, "mobilenet_v2_0.35_48", model,
         "MobileNetV2(include_top=False, weights=None, alpha=0.35, input_shape=(48, 48, 3))", -1.0, 1.0)

    with open(os.path.join(args.out, "architectures.json"), "w") as f:
        json.dump({"keras": keras.__version__, **architectures()}, f, indent=1)
        f.write("\n")
    total = 0
    for name in sorted(os.listdir(args.out)):
        size = os.path.getsize(os.path.join(args.out, name))
        total += size
        print(f"  {name}: {size} bytes")
    print(f"  total: {total} bytes")


if __name__ == "__main__":
    main()
