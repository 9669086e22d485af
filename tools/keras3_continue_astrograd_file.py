"""The last leg of the round trip tf.keras 2.10 → astrograd → Keras 3 → astrograd.

`tests/fixtures/keras/model_files/astrograd_mlp_continued.keras` was written by astrograd: it is
`mlp_adam_tf210.h5` (from tools/keras_model_file_fixtures.py) loaded by astrograd and trained
for the fixture's three batches (Dropout off), then `model.save`d (see
`a_tf_keras_2_10_model_continues_here_and_goes_on_as_a_keras_3_file` in
layers/tests/keras_model_files.rs, which writes it when ASTROGRAD_MODEL_FILES_OUT is set).

This script opens that file with Keras 3, predicts, trains the same three batches again
(`train_on_batch`, Dropout off), saves the result, and writes to the same folder:

- `astrograd_mlp_continued_keras3.keras`: what Keras 3 saved (normalised as in
  tools/keras3_model_file_fixtures.py: date, shared ids, zip time);
- `astrograd_mlp_continued_keras3.json` (schema of tools/README.md): `x` and `y_pred_loaded`
  (Keras 3's predictions for astrograd's file), `after/<weight path>` (Keras 3's weights after
  the three steps), `y_pred` (Keras 3's predictions then).

The Rust test reads both back: astrograd's file predicts what Keras 3 says, astrograd continuing
its own file lands on Keras 3's weights, and Keras 3's file predicts in astrograd what it
predicted in Keras 3.

Run: KERAS_BACKEND=jax /root/venvs/keras3/bin/python tools/keras3_continue_astrograd_file.py
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keras3_model_file_fixtures import continue_training, normalise_keras_zip, tensor  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "keras", "model_files")


def array(t):
    return np.asarray(t["data"], dtype=np.float32).reshape(t["shape"])


def main():
    keras.utils.set_random_seed(1234)
    source = json.load(open(os.path.join(HERE, "mlp_adam_tf210.json")))["tensors"]
    x, x_train, y_train = array(source["x"]), array(source["x_train"]), array(source["y_train"])
    model = keras.models.load_model(os.path.join(HERE, "astrograd_mlp_continued.keras"))
    y_loaded = model.predict(x, verbose=0)
    continue_training(model, x_train, y_train)
    out = os.path.join(HERE, "astrograd_mlp_continued_keras3.keras")
    model.save(out)
    normalise_keras_zip(out)
    again = keras.models.load_model(out)
    y_pred = again.predict(x, verbose=0)
    tensors = {"x": tensor(x), "y_pred_loaded": tensor(y_loaded), "y_pred": tensor(y_pred)}
    for v in model.weights:
        tensors[f"after/{v.path}"] = tensor(v.numpy())
    record = {
        "case": "astrograd_mlp_continued_keras3",
        "op": "model_file",
        "keras": keras.__version__,
        "params": {"source": "astrograd_mlp_continued.keras", "batches": "x_train/y_train of mlp_adam_tf210.json, rows [4s, 4s + 4) for s in 0..3",
                   "weight_paths": [v.path for v in model.weights]},
        "tensors": tensors,
    }
    with open(os.path.join(HERE, "astrograd_mlp_continued_keras3.json"), "w") as f:
        json.dump(record, f)
    print("Keras", keras.__version__, "weights:", [v.path for v in model.weights])


if __name__ == "__main__":
    main()
