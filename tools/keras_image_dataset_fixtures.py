"""Which files tf.keras 2.10's `image_dataset_from_directory` puts in the training and the
validation subset, and in which class, for a small folder: the fixture of
`data/tests/image_dataset_keras_split.rs`.

Run with TensorFlow 2.10 (the course's version):

    python tools/keras_image_dataset_fixtures.py

It writes `data/tests/fixtures/keras_image_dataset_splits.json`. The folder is built here and again
by the Rust test, with the same names: `galaxies/{elliptical,spiral}/g_NN.png` (12 and 9 files)
and `spiral/deeper/g_99.png` in a subfolder, which Keras lists too.
"""
import json
import os
import tempfile

import numpy as np
import tensorflow as tf


def build(root):
    names = {"elliptical": [f"g_{i:02d}.png" for i in range(12)],
             "spiral": [f"g_{i:02d}.png" for i in range(9)] + ["deeper/g_99.png"]}
    for cls, files in names.items():
        for name in files:
            path = os.path.join(root, cls, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tf.keras.utils.save_img(path, np.full((4, 4, 3), 128, np.uint8), scale=False)


def relative(paths, root):
    return [os.path.relpath(p, root).replace(os.sep, "/") for p in paths]


def main():
    out = {"tensorflow": tf.__version__, "cases": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "galaxies")
        build(root)
        for seed, split in [(42, 0.25), (7, 0.2), (123, 0.5)]:
            case = {"seed": seed, "validation_split": split}
            for subset in ["training", "validation"]:
                ds = tf.keras.utils.image_dataset_from_directory(
                    root, validation_split=split, subset=subset, seed=seed,
                    image_size=(4, 4), batch_size=4)
                case[subset] = relative(ds.file_paths, root)
                case["class_names"] = ds.class_names
            out["cases"].append(case)
    here = os.path.dirname(os.path.abspath(__file__))
    target = os.path.join(here, "..", "data", "tests", "fixtures", "keras_image_dataset_splits.json")
    with open(target, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", target)


if __name__ == "__main__":
    main()
