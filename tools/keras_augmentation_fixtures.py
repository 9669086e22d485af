"""Reference numbers for astrograd's ImageDataGenerator (data/src/image_generator/).

Writes data/tests/fixtures/keras_augmentation.json from tf.keras 2.10 (keras.preprocessing.image,
which resamples with scipy.ndimage and shifts brightness with PIL). Three kinds of case:

* "transforms": `ImageDataGenerator(fill_mode=..., cval=...).apply_transform(x, params)` with FIXED
  parameters, so that no random number is involved: the Rust side feeds the same parameters to
  `ImageDataGenerator::apply_transform` and must agree to 1e-5 per pixel.
* "standardize": `standardize(x)` after `fit(x_fit)` for the centre/std/rescale options.
* "random_stats": 20000 draws of `get_random_transform` per configuration, summarised (mean, std,
  min, max, and the distinct values of discrete parameters); NumPy's and astrograd's generators
  differ, so the draws are compared as distributions.

Run (TF 2.10, scipy and Pillow are needed; see tools/README.md):

    /root/venvs/tf/bin/python tools/keras_augmentation_fixtures.py

The output is deterministic (every input comes from np.random.RandomState(seed)).
"""
import argparse
import json
import os
import zlib

import numpy as np
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rng_for(name):
    return np.random.RandomState(zlib.crc32(name.encode()))


def image(name, shape, low=0.0, high=255.0):
    return rng_for(name).uniform(low, high, size=shape).astype(np.float32)


def as_list(a):
    return np.asarray(a, dtype=np.float64).ravel().tolist()


def transform_case(name, shape, params, fill_mode="nearest", cval=0.0, low=0.0, high=255.0):
    x = image(name, shape, low, high)
    gen = ImageDataGenerator(fill_mode=fill_mode, cval=cval)
    full = {
        "theta": 0.0, "tx": 0.0, "ty": 0.0, "shear": 0.0, "zx": 1.0, "zy": 1.0,
        "flip_horizontal": False, "flip_vertical": False,
        "channel_shift_intensity": None, "brightness": None,
    }
    full.update(params)
    out = gen.apply_transform(x.copy(), full)
    return {
        "name": name,
        "keras_call": f"ImageDataGenerator(fill_mode={fill_mode!r}, cval={cval}).apply_transform(x, {params})",
        "shape": list(shape),
        "fill_mode": fill_mode,
        "cval": cval,
        "params": full,
        "x": as_list(x),
        "expected": as_list(np.asarray(out, dtype=np.float32)),
    }


def transforms():
    cases = []
    affine = {"theta": 23.0, "tx": 1.7, "ty": -2.3, "shear": 12.0, "zx": 0.85, "zy": 1.2}
    for mode in ["nearest", "constant", "reflect", "wrap"]:
        cases.append(transform_case(f"affine_{mode}_nonsquare", (7, 10, 3), affine, mode, cval=17.5))
        cases.append(transform_case(f"affine_{mode}_big_shift", (9, 6, 2),
                                    {"theta": -140.0, "tx": 7.25, "ty": 11.5, "zx": 1.6, "zy": 0.7},
                                    mode, cval=-3.0))
    cases.append(transform_case("rotation_only_square", (8, 8, 3), {"theta": 90.0}))
    cases.append(transform_case("rotation_only_nonsquare", (6, 9, 1), {"theta": 30.0}, "constant"))
    cases.append(transform_case("integer_shift_constant", (6, 7, 3), {"tx": 2.0, "ty": -3.0}, "constant", 0.0))
    cases.append(transform_case("integer_shift_reflect", (6, 7, 3), {"tx": -4.0, "ty": 5.0}, "reflect"))
    cases.append(transform_case("integer_shift_wrap", (6, 7, 3), {"tx": -4.0, "ty": 9.0}, "wrap"))
    cases.append(transform_case("zoom_only", (8, 5, 3), {"zx": 0.5, "zy": 1.5}))
    cases.append(transform_case("shear_only", (8, 5, 3), {"shear": -35.0}, "constant", 1.0))
    cases.append(transform_case("identity", (4, 5, 3), {}))
    cases.append(transform_case("channel_shift", (5, 4, 3), {"channel_shift_intensity": 40.5}))
    cases.append(transform_case("channel_shift_negative", (5, 4, 3), {"channel_shift_intensity": -70.25}))
    cases.append(transform_case("flip_horizontal", (3, 4, 2), {"flip_horizontal": True}))
    cases.append(transform_case("flip_vertical", (3, 4, 2), {"flip_vertical": True}))
    cases.append(transform_case("flip_both_rotate", (5, 6, 3),
                                {"theta": 10.0, "flip_horizontal": True, "flip_vertical": True}))
    cases.append(transform_case("brightness_dark_rgb", (6, 5, 3), {"brightness": 0.63}))
    cases.append(transform_case("brightness_bright_rgb", (6, 5, 3), {"brightness": 1.37}))
    cases.append(transform_case("brightness_grey", (6, 5, 1), {"brightness": 0.81}))
    cases.append(transform_case("brightness_rgba", (4, 5, 4), {"brightness": 1.2}))
    cases.append(transform_case("brightness_out_of_range", (6, 5, 3), {"brightness": 0.9},
                                low=-40.0, high=300.0))
    cases.append(transform_case("brightness_unit_range", (6, 5, 3), {"brightness": 1.1},
                                low=0.0, high=1.0))
    cases.append(transform_case("everything", (9, 7, 3),
                                {"theta": -17.0, "tx": 0.6, "ty": 1.4, "shear": 5.0, "zx": 1.1,
                                 "zy": 0.95, "flip_horizontal": True, "channel_shift_intensity": 12.0,
                                 "brightness": 0.75}, "reflect"))
    return cases


def standardize_case(name, options, shape=(5, 6, 4, 3), preprocessing=None):
    x_fit = image(name + "_fit", shape)
    x = image(name, shape[1:])
    kwargs = dict(options)
    if preprocessing == "affine_2x_plus_1":
        kwargs["preprocessing_function"] = lambda im: im * 2.0 + 1.0
    gen = ImageDataGenerator(**kwargs)
    fitted = False
    if options.get("featurewise_center") or options.get("featurewise_std_normalization"):
        gen.fit(x_fit)
        fitted = True
    out = gen.standardize(x.copy())
    return {
        "name": name,
        "keras_call": f"ImageDataGenerator(**{options}); fit(x_fit) = {fitted}; standardize(x)",
        "options": options,
        "preprocessing": preprocessing,
        "fit_shape": list(shape),
        "x_fit": as_list(x_fit),
        "shape": list(shape[1:]),
        "x": as_list(x),
        "mean": None if getattr(gen, "mean", None) is None else as_list(gen.mean),
        "std": None if getattr(gen, "std", None) is None else as_list(gen.std),
        "expected": as_list(out),
    }


def standardizes():
    return [
        standardize_case("rescale", {"rescale": 1.0 / 255}),
        standardize_case("samplewise_center", {"samplewise_center": True}),
        standardize_case("samplewise_std", {"samplewise_center": True, "samplewise_std_normalization": True}),
        standardize_case("featurewise_center", {"featurewise_center": True}),
        standardize_case("featurewise_std", {"featurewise_center": True, "featurewise_std_normalization": True}),
        standardize_case("featurewise_std_rescale",
                         {"featurewise_center": True, "featurewise_std_normalization": True,
                          "rescale": 1.0 / 255}),
        standardize_case("all_with_preprocessing",
                         {"samplewise_center": True, "samplewise_std_normalization": True,
                          "featurewise_center": True, "featurewise_std_normalization": True,
                          "rescale": 0.5},
                         preprocessing="affine_2x_plus_1"),
    ]


def random_stats_case(name, options, shape, draws=20000):
    gen = ImageDataGenerator(**options)
    np.random.seed(zlib.crc32(name.encode()))
    keys = ["theta", "tx", "ty", "shear", "zx", "zy", "flip_horizontal", "flip_vertical",
            "channel_shift_intensity", "brightness"]
    values = {k: [] for k in keys}
    for _ in range(draws):
        p = gen.get_random_transform(shape)
        for k in keys:
            v = p[k]
            values[k].append(np.nan if v is None else float(v))
    stats = {}
    for k, vs in values.items():
        a = np.asarray(vs, dtype=np.float64)
        if np.all(np.isnan(a)):
            stats[k] = None
            continue
        distinct = np.unique(a)
        stats[k] = {
            "mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max()),
            "distinct": distinct.tolist() if len(distinct) <= 16 else None,
        }
    return {"name": name, "keras_call": f"ImageDataGenerator(**{options}).get_random_transform({shape})",
            "options": options, "shape": list(shape), "draws": draws, "stats": stats}


def random_stats():
    return [
        random_stats_case("float_ranges", {
            "rotation_range": 40, "width_shift_range": 0.2, "height_shift_range": 0.1,
            "shear_range": 0.2, "zoom_range": 0.2, "horizontal_flip": True,
            "channel_shift_range": 30.0, "brightness_range": (0.5, 1.5)}, (50, 80, 3)),
        random_stats_case("int_and_list_ranges", {
            "width_shift_range": 3, "height_shift_range": [0.1, 0.25], "zoom_range": [0.8, 1.0],
            "vertical_flip": True}, (40, 30, 3)),
        random_stats_case("pixel_float_and_pixel_list", {
            "width_shift_range": 4.5, "height_shift_range": [2, 5, 7]}, (40, 30, 3)),
        random_stats_case("nothing", {}, (10, 10, 3)),
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(ROOT, "data", "tests", "fixtures",
                                                      "keras_augmentation.json"))
    parser.add_argument("--any-tf", action="store_true")
    args = parser.parse_args()
    print("TensorFlow", tf.__version__)
    if not tf.__version__.startswith("2.10.") and not args.any_tf:
        raise SystemExit("needs TF 2.10.x (pass --any-tf to override; do not commit the output)")
    doc = {
        "tf_version": tf.__version__,
        "transforms": transforms(),
        "standardize": standardizes(),
        "random_stats": random_stats(),
    }
    with open(args.out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", args.out, os.path.getsize(args.out), "bytes")


if __name__ == "__main__":
    main()
