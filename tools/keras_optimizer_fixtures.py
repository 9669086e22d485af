#!/usr/bin/env python3
"""Keras-parity optimizer and learning-rate-schedule fixtures for astrograd.

Run with the TF 2.10 venv (see tools/README.md):

    /root/venvs/tf/bin/python tools/keras_optimizer_fixtures.py [--any-tf] [--out DIR]

Writes one JSON file per case into tests/fixtures/keras/ (relative to the repository root),
in the schema of tools/README.md:

- optimizer_<case>.json: two variables, `kernel` (3, 2) and `bias` (2,), start from `kernel0`
  and `bias0`; at step s the optimizer receives the gradients `grad_kernel[s]`, `grad_bias[s]`
  (one `apply_gradients` call); `kernel_after[s]`, `bias_after[s]` are the values after that
  step. `params.keras_call` is the Python expression that built the optimizer.
- schedule_<case>.json: `steps` (float) and `lr` = schedule(step) for each of them.

The optimizers are TF 2.10's default (legacy OptimizerV2) classes, except AdamW, which in 2.10
exists only as tf.keras.optimizers.experimental.AdamW. CosineDecay's warm-up arrived after 2.10
(Keras 2.13 / Keras 3): its case is computed with a NumPy transcription of Keras 3's formula and
says so in its params.

Deterministic: every case draws from its own numpy RandomState seeded with crc32(case name).
"""
import argparse
import json
import math
import os
import sys
import zlib
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

F32 = np.float32
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures" / "keras"
STEPS = 6


def rng_for(name):
    return np.random.RandomState(zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF)


def T(a):
    a = np.asarray(a)
    if a.dtype != F32:
        a = a.astype(F32)
    return {"shape": [int(d) for d in a.shape], "data": [float(v) for v in a.ravel()]}


class Writer:
    def __init__(self, out_dir):
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.written = []

    def case(self, name, op, params, tensors):
        doc = {
            "case": name,
            "op": op,
            "keras": tf.__version__,
            "params": params,
            "tensors": {k: T(v) for k, v in tensors.items()},
        }
        path = self.out / (name + ".json")
        with open(path, "w") as f:
            json.dump(doc, f, separators=(",", ":"), allow_nan=False)
            f.write("\n")
        self.written.append(path)


# ----------------------------------------------------------------------------- optimizers

K = tf.keras.optimizers
S = tf.keras.optimizers.schedules

# name -> (python expression, extra params for the Rust test). The expression is evaluated
# here and quoted in the fixture, so the test's doc can show exactly what Keras ran.
OPTIMIZER_CASES = {
    "sgd": "K.SGD()",
    "sgd_lr": "K.SGD(learning_rate=0.1)",
    "sgd_momentum": "K.SGD(learning_rate=0.05, momentum=0.9)",
    "sgd_nesterov": "K.SGD(learning_rate=0.05, momentum=0.9, nesterov=True)",
    "sgd_decay": "K.SGD(learning_rate=0.1, decay=0.5)",
    "rmsprop": "K.RMSprop()",
    "rmsprop_centered": "K.RMSprop(learning_rate=0.01, centered=True)",
    "rmsprop_momentum": "K.RMSprop(learning_rate=0.01, momentum=0.5)",
    "rmsprop_centered_momentum": "K.RMSprop(learning_rate=0.01, rho=0.8, momentum=0.5, centered=True)",
    "adam": "K.Adam()",
    "adam_custom": "K.Adam(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-3)",
    "adam_amsgrad": "K.Adam(learning_rate=0.01, amsgrad=True)",
    "adam_schedule": "K.Adam(learning_rate=S.ExponentialDecay(0.01, decay_steps=2, decay_rate=0.5))",
    "adagrad": "K.Adagrad(learning_rate=0.1)",
    "adamw": "K.experimental.AdamW(learning_rate=0.01)",
    "adamw_wd": "K.experimental.AdamW(learning_rate=0.01, weight_decay=0.1, amsgrad=True)",
    "sgd_clipnorm": "K.SGD(learning_rate=0.1, clipnorm=1.0)",
    "adam_clipnorm": "K.Adam(learning_rate=0.01, clipnorm=0.5)",
    "sgd_global_clipnorm": "K.SGD(learning_rate=0.1, global_clipnorm=1.0)",
    "sgd_clipvalue": "K.SGD(learning_rate=0.1, clipvalue=0.5)",
    "rmsprop_clipvalue_clipnorm": "K.RMSprop(learning_rate=0.01, clipvalue=0.5, clipnorm=0.8)",
}


def optimizer_case(W, name, expr):
    rng = rng_for("optimizer_" + name)
    kernel0 = rng.uniform(-1, 1, size=(3, 2)).astype(F32)
    bias0 = rng.uniform(-0.5, 0.5, size=(2,)).astype(F32)
    # Gradients of mixed sizes (so that clipnorm bites on some steps and not others), with one
    # exact zero (so that epsilon and the 0/0 guards are exercised).
    scale = np.array([0.3, 2.0, 0.05, 1.0, 3.0, 0.5], F32)[:STEPS]
    grad_kernel = (rng.normal(size=(STEPS, 3, 2)) * scale[:, None, None]).astype(F32)
    grad_bias = (rng.normal(size=(STEPS, 2)) * scale[:, None]).astype(F32)
    grad_kernel[2, 1, 0] = 0.0

    opt = eval(expr)
    kernel = tf.Variable(kernel0, name="kernel")
    bias = tf.Variable(bias0, name="bias")
    kernel_after, bias_after, lrs = [], [], []
    for s in range(STEPS):
        opt.apply_gradients([(tf.constant(grad_kernel[s]), kernel), (tf.constant(grad_bias[s]), bias)])
        kernel_after.append(kernel.numpy())
        bias_after.append(bias.numpy())
    assert int(opt.iterations.numpy()) == STEPS
    W.case("optimizer_" + name, "optimizer",
           {"keras_call": expr.replace("K.", "tf.keras.optimizers.").replace("S.", "tf.keras.optimizers.schedules."),
            "steps": STEPS},
           {"kernel0": kernel0, "bias0": bias0, "grad_kernel": grad_kernel, "grad_bias": grad_bias,
            "kernel_after": np.stack(kernel_after), "bias_after": np.stack(bias_after)})


# ----------------------------------------------------------------------------- schedules

SCHEDULE_STEPS = [0, 1, 2, 3, 5, 7, 10, 11, 15, 20, 25, 50, 99, 100, 101, 150, 1000]

SCHEDULE_CASES = {
    "exponential": "S.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.96)",
    "exponential_staircase": "S.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)",
    "inverse_time": "S.InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5)",
    "inverse_time_staircase": "S.InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)",
    "piecewise": "S.PiecewiseConstantDecay(boundaries=[10, 20, 100], values=[1.0, 0.5, 0.1, 0.01])",
    "cosine": "S.CosineDecay(0.1, decay_steps=100)",
    "cosine_alpha": "S.CosineDecay(0.1, decay_steps=100, alpha=0.2)",
    "polynomial": "S.PolynomialDecay(0.1, decay_steps=100)",
    "polynomial_power": "S.PolynomialDecay(0.1, decay_steps=100, end_learning_rate=0.01, power=2.0)",
    "polynomial_cycle": "S.PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.01, power=0.5, cycle=True)",
}


def keras3_cosine_warmup(step, initial, decay_steps, alpha, warmup_target, warmup_steps):
    """Keras 3 `CosineDecay.__call__` (keras/src/optimizers/schedules/learning_rate_schedule.py), float32."""
    step = F32(min(F32(step), F32(decay_steps) + F32(warmup_steps)))
    initial, warmup_target = F32(initial), F32(warmup_target)
    if step < warmup_steps:
        return (warmup_target - initial) * (step / F32(warmup_steps)) + initial
    frac = (step - F32(warmup_steps)) / F32(decay_steps)
    cosine = F32(0.5) * (F32(1.0) + np.cos(F32(math.pi) * frac, dtype=F32))
    return warmup_target * ((F32(1.0) - F32(alpha)) * cosine + F32(alpha))


def schedule_cases(W):
    steps = np.array(SCHEDULE_STEPS, F32)
    for name, expr in SCHEDULE_CASES.items():
        sched = eval(expr)
        lr = np.array([float(sched(tf.constant(s, tf.float32)).numpy()) for s in steps], F32)
        W.case("schedule_" + name, "schedule",
               {"keras_call": expr.replace("S.", "tf.keras.optimizers.schedules.")},
               {"steps": steps, "lr": lr})
    # Warm-up: Keras 3 only (see the module doc).
    params = dict(initial=0.0, decay_steps=100, alpha=0.1, warmup_target=0.1, warmup_steps=10)
    lr = np.array([keras3_cosine_warmup(s, **params) for s in steps], F32)
    W.case("schedule_cosine_warmup", "schedule",
           {"keras_call": "keras.optimizers.schedules.CosineDecay(0.0, decay_steps=100, alpha=0.1, "
                          "warmup_target=0.1, warmup_steps=10)  # Keras 3 formula, computed in NumPy",
            "keras3_formula": True},
           {"steps": steps, "lr": lr})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--any-tf", action="store_true", help="run even if TF is not 2.10.x")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="output directory (default: %(default)s)")
    args = ap.parse_args()

    print("TensorFlow", tf.__version__, "| numpy", np.__version__)
    if not tf.__version__.startswith("2.10.") and not args.any_tf:
        sys.exit("refusing to run: TensorFlow %s is not 2.10.x (pass --any-tf to override)" % tf.__version__)
    tf.random.set_seed(1234)
    tf.keras.backend.set_floatx("float32")

    W = Writer(args.out)
    for name, expr in OPTIMIZER_CASES.items():
        optimizer_case(W, name, expr)
    schedule_cases(W)

    total = 0
    for p in W.written:
        sz = p.stat().st_size
        total += sz
        print("%7d  %s" % (sz, p.relative_to(REPO_ROOT) if REPO_ROOT in p.parents else p))
    print("%7d  total bytes in %d files" % (total, len(W.written)))


if __name__ == "__main__":
    main()
