#!/usr/bin/env python3
"""Keras-parity op fixtures for astrograd.

Run with the TF 2.10 venv (see tools/README.md):

    /root/venvs/tf/bin/python tools/keras_op_fixtures.py [--any-tf] [--out DIR]

Writes one JSON file per case into tests/fixtures/keras/ (relative to the repository
root, i.e. the parent of this tools/ directory), regardless of the current directory.

Every case is produced with tf.keras layers / losses / activations (or the tf.nn ops those
call) in eager mode, float32 throughout.  Gradients come from tf.GradientTape on
L = sum(y * dy) with a fixed random upstream `dy` stored in the file; for losses L is the
mean (default-reduction) loss itself.

Besides writing the files, the script cross-checks TF against small NumPy reference
implementations of the formulas in docs/keras-semantics.md (padding split, pooling counts,
BN moving-variance update, loss clipping) and fails loudly if they disagree.

Deterministic: every case draws from its own numpy RandomState seeded with crc32(case name);
TF global seed is fixed; no TF randomness is used for any stored number.
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

FINDINGS = []  # human-readable notes printed at the end


# ----------------------------------------------------------------------------- helpers

def rng_for(name):
    return np.random.RandomState(zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF)


def uni(rng, shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(F32)


def distinct(rng, shape, lo=-2.0, hi=2.0):
    """Values with no ties: a random permutation of n evenly spaced levels plus jitter < 1 level."""
    n = int(np.prod(shape))
    levels = rng.permutation(n).astype(np.float64) + rng.uniform(0.1, 0.9, size=n)
    return (lo + (hi - lo) * levels / n).reshape(shape).astype(F32)


def T(a):
    a = np.asarray(a)
    if a.dtype != F32:
        a = a.astype(F32)
    return {"shape": [int(d) for d in a.shape], "data": [float(v) for v in a.ravel()]}


def np_of(t):
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t, dtype=F32)


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


def close(name, got, want, atol=1e-5, rtol=1e-5):
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    if got.shape != want.shape or not np.allclose(got, want, atol=atol, rtol=rtol):
        raise AssertionError(
            "%s: TF and reference disagree\nTF:  %s\nref: %s" % (name, got.ravel()[:16], want.ravel()[:16]))


def same_pads(n, k, s, d=1):
    k_eff = k + (k - 1) * (d - 1)
    out = -(-n // s)
    total = max((out - 1) * s + k_eff - n, 0)
    return out, total // 2, total - total // 2


def valid_out(n, k, s, d=1):
    k_eff = k + (k - 1) * (d - 1)
    return (n - k_eff) // s + 1


def geometry(h, w, kh, kw, strides, padding, dil=(1, 1)):
    if padding == "same":
        oh, pt, pb = same_pads(h, kh, strides[0], dil[0])
        ow, pl, pr = same_pads(w, kw, strides[1], dil[1])
    else:
        oh, pt, pb = valid_out(h, kh, strides[0], dil[0]), 0, 0
        ow, pl, pr = valid_out(w, kw, strides[1], dil[1]), 0, 0
    return oh, ow, (pt, pb), (pl, pr)


# ---------------------------------------------------------------- numpy references

def ref_conv2d(x, k, b, strides, padding, dil=(1, 1)):
    n, h, w, c = x.shape
    kh, kw, _, f = k.shape
    oh, ow, ph, pw = geometry(h, w, kh, kw, strides, padding, dil)
    xp = np.pad(x.astype(np.float64), ((0, 0), ph, pw, (0, 0)))
    y = np.zeros((n, oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for bb in range(kw):
                    r = i * strides[0] + a * dil[0]
                    q = j * strides[1] + bb * dil[1]
                    y[:, i, j, :] += xp[:, r, q, :] @ k[a, bb].astype(np.float64)
    return y + b


def ref_depthwise(x, k, b, strides, padding):
    n, h, w, c = x.shape
    kh, kw, _, m = k.shape
    oh, ow, ph, pw = geometry(h, w, kh, kw, strides, padding)
    xp = np.pad(x.astype(np.float64), ((0, 0), ph, pw, (0, 0)))
    y = np.zeros((n, oh, ow, c, m))
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for bb in range(kw):
                    y[:, i, j] += xp[:, i * strides[0] + a, j * strides[1] + bb, :, None] * k[a, bb]
    # output channel index = c*M + m
    return y.reshape(n, oh, ow, c * m) + b


def ref_pool(x, pool, strides, padding, kind):
    n, h, w, c = x.shape
    oh, ow, ph, pw = geometry(h, w, pool[0], pool[1], strides, padding)
    fill = -np.inf if kind == "max" else np.nan
    xp = np.pad(x.astype(np.float64), ((0, 0), ph, pw, (0, 0)), constant_values=fill)
    y = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, i * strides[0]:i * strides[0] + pool[0], j * strides[1]:j * strides[1] + pool[1], :]
            y[:, i, j] = win.max(axis=(1, 2)) if kind == "max" else np.nanmean(win, axis=(1, 2))
    return y


# ----------------------------------------------------------------------- gradients

def layer_grads(layer, x, dy, training=None):
    """y = layer(x); grads of sum(y*dy) wrt x and every trainable weight (in get_weights order)."""
    xv = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xv)
        y = layer(xv, training=training) if training is not None else layer(xv)
        L = tf.reduce_sum(y * tf.constant(dy))
    srcs = [xv] + list(layer.trainable_weights)
    g = tape.gradient(L, srcs)
    return np_of(y), [np_of(t) for t in g]


def fn_grads(fn, x, dy):
    xv = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xv)
        y = fn(xv)
        L = tf.reduce_sum(y * tf.constant(dy))
    return np_of(y), np_of(tape.gradient(L, xv))


# ------------------------------------------------------------------------------ cases

def conv_cases(W):
    specs = [
        # name, N, H, W, C, F, kernel, strides, padding, dilation
        ("conv2d_valid", 2, 5, 6, 2, 3, (3, 3), (1, 1), "valid", (1, 1)),
        ("conv2d_same_s1", 2, 5, 5, 2, 3, (3, 3), (1, 1), "same", (1, 1)),
        ("conv2d_same_s2_even", 1, 4, 4, 1, 2, (3, 3), (2, 2), "same", (1, 1)),
        ("conv2d_same_s2_odd", 2, 7, 5, 3, 2, (3, 3), (2, 2), "same", (1, 1)),
        ("conv2d_valid_s2x1", 1, 6, 5, 2, 2, (3, 3), (2, 1), "valid", (1, 1)),
        ("conv2d_dilation2_same", 1, 7, 7, 2, 2, (3, 3), (1, 1), "same", (2, 2)),
        ("conv2d_1x1", 2, 3, 3, 4, 5, (1, 1), (1, 1), "valid", (1, 1)),
    ]
    for name, n, h, w, c, f, ks, st, pad, dil in specs:
        rng = rng_for(name)
        x = uni(rng, (n, h, w, c))
        kernel = uni(rng, ks + (c, f))
        bias = uni(rng, (f,), -0.5, 0.5)
        layer = tf.keras.layers.Conv2D(f, ks, strides=st, padding=pad, dilation_rate=dil)
        layer.build((None, h, w, c))
        layer.set_weights([kernel, bias])
        oh, ow, ph, pw = geometry(h, w, ks[0], ks[1], st, pad, dil)
        dy = uni(rng, (n, oh, ow, f))
        y, (dx, dk, db) = layer_grads(layer, x, dy)
        close(name + ".y", y, ref_conv2d(x, kernel, bias, st, pad, dil))
        close(name + ".dbias", db, dy.sum(axis=(0, 1, 2)))
        call = "tf.keras.layers.Conv2D(%d, %s, strides=%s, padding=%r, dilation_rate=%s)" % (
            f, ks, st, pad, dil)
        W.case(name, "conv2d", {
            "filters": f, "kernel_size": list(ks), "strides": list(st), "padding": pad,
            "dilation": list(dil), "use_bias": True,
            "pad_top_bottom": list(ph), "pad_left_right": list(pw),
            "keras_call": call,
        }, {"x": x, "kernel": kernel, "bias": bias, "y": y, "dy": dy,
            "dx": dx, "dkernel": dk, "dbias": db})


def depthwise_cases(W):
    specs = [
        ("depthwise_valid_m2", 2, 5, 5, 3, 2, (3, 3), (1, 1), "valid"),
        ("depthwise_same_s2", 1, 6, 6, 2, 1, (3, 3), (2, 2), "same"),
    ]
    for name, n, h, w, c, m, ks, st, pad in specs:
        rng = rng_for(name)
        x = uni(rng, (n, h, w, c))
        kernel = uni(rng, ks + (c, m))
        bias = uni(rng, (c * m,), -0.5, 0.5)
        layer = tf.keras.layers.DepthwiseConv2D(ks, strides=st, padding=pad, depth_multiplier=m)
        layer.build((None, h, w, c))
        layer.set_weights([kernel, bias])
        oh, ow, ph, pw = geometry(h, w, ks[0], ks[1], st, pad)
        dy = uni(rng, (n, oh, ow, c * m))
        y, (dx, dk, db) = layer_grads(layer, x, dy)
        close(name + ".y", y, ref_depthwise(x, kernel, bias, st, pad))
        call = "tf.keras.layers.DepthwiseConv2D(%s, strides=%s, padding=%r, depth_multiplier=%d)" % (
            ks, st, pad, m)
        W.case(name, "depthwise_conv2d", {
            "kernel_size": list(ks), "strides": list(st), "padding": pad, "dilation": [1, 1],
            "depth_multiplier": m, "use_bias": True,
            "pad_top_bottom": list(ph), "pad_left_right": list(pw),
            "output_channel_order": "c*depth_multiplier + m",
            "keras_call": call,
        }, {"x": x, "kernel": kernel, "bias": bias, "y": y, "dy": dy,
            "dx": dx, "dkernel": dk, "dbias": db})


def pool_cases(W):
    specs = [
        # name, kind, N,H,W,C, pool, strides(None = pool), padding, x-kind
        ("max_pool_valid", "max", (2, 6, 6, 2), (2, 2), None, "valid", "distinct"),
        ("max_pool_same_odd", "max", (1, 5, 5, 2), (2, 2), (2, 2), "same", "distinct"),
        ("max_pool_3x3_s2_same", "max", (1, 7, 7, 1), (3, 3), (2, 2), "same", "distinct"),
        ("avg_pool_valid", "avg", (2, 6, 5, 2), (2, 2), None, "valid", "uniform"),
        ("avg_pool_same_3x3", "avg", (1, 3, 3, 1), (2, 2), None, "same", "arange1"),
        ("avg_pool_same_3x3_arange0", "avg", (1, 3, 3, 1), (2, 2), None, "same", "arange0"),
        ("avg_pool_same_odd", "avg", (1, 5, 5, 2), (3, 3), (2, 2), "same", "uniform"),
    ]
    for name, kind, shape, pool, st, pad, xk in specs:
        rng = rng_for(name)
        if xk == "distinct":
            x = distinct(rng, shape)
        elif xk == "uniform":
            x = uni(rng, shape)
        elif xk == "arange1":
            x = np.arange(1, 10, dtype=F32).reshape(shape)
        else:
            x = np.arange(0, 9, dtype=F32).reshape(shape)
        eff = st if st is not None else pool
        cls = "MaxPooling2D" if kind == "max" else "AveragePooling2D"
        layer = getattr(tf.keras.layers, cls)(pool_size=pool, strides=st, padding=pad)
        oh, ow, ph, pw = geometry(shape[1], shape[2], pool[0], pool[1], eff, pad)
        dy = uni(rng, (shape[0], oh, ow, shape[3]))
        y, (dx,) = layer_grads(layer, x, dy)
        close(name + ".y", y, ref_pool(x, pool, eff, pad, kind))
        call = "tf.keras.layers.%s(pool_size=%s, strides=%s, padding=%r)" % (cls, pool, st, pad)
        W.case(name, "max_pool2d" if kind == "max" else "avg_pool2d", {
            "pool": list(pool), "strides": list(eff), "strides_arg": None if st is None else list(st),
            "padding": pad, "pad_top_bottom": list(ph), "pad_left_right": list(pw),
            "keras_call": call,
        }, {"x": x, "y": y, "dy": dy, "dx": dx})
        # [[2, 3.5], [6.5, 8]] (docs/keras-semantics.md §1) is the result for [[0..8]], not [[1..9]].
        # With pad_before = 0, pad_after = 1 the windows are {0,1}x{0,1}, {0,1}x{2}, {2}x{0,1}, {2}x{2}.
        if xk == "arange1":
            assert y.ravel().tolist() == [3.0, 4.5, 7.5, 9.0], y.ravel()
        if xk == "arange0":
            assert y.ravel().tolist() == [2.0, 3.5, 6.5, 8.0], y.ravel()
        if xk == "arange1":
            FINDINGS.append("avg_pool_same_3x3: input [[1..9]] -> y = %s" % y.reshape(2, 2).tolist())
        if xk == "arange0":
            FINDINGS.append("avg_pool_same_3x3_arange0: input [[0..8]] -> y = %s" % y.reshape(2, 2).tolist())

    for name, cls, op in [("global_avg_pool", "GlobalAveragePooling2D", "global_avg_pool2d"),
                          ("global_max_pool", "GlobalMaxPooling2D", "global_max_pool2d")]:
        rng = rng_for(name)
        shape = (2, 3, 4, 3)
        x = distinct(rng, shape) if "max" in name else uni(rng, shape)
        layer = getattr(tf.keras.layers, cls)()
        dy = uni(rng, (2, 3))
        y, (dx,) = layer_grads(layer, x, dy)
        want = x.astype(np.float64).max(axis=(1, 2)) if "max" in name else x.astype(np.float64).mean(axis=(1, 2))
        close(name + ".y", y, want)
        W.case(name, op, {"keepdims": False, "keras_call": "tf.keras.layers.%s()" % cls},
               {"x": x, "y": y, "dy": dy, "dx": dx})


def bn_cases(W):
    specs = [
        ("batch_norm_train_4d", (3, 4, 4, 2), True),
        ("batch_norm_train_2d", (5, 3), True),
        ("batch_norm_inference_4d", (3, 4, 4, 2), False),
    ]
    for name, shape, training in specs:
        rng = rng_for(name)
        c = shape[-1]
        x = (uni(rng, shape, -2.0, 2.0) + uni(rng, (c,), -1.0, 1.0)).astype(F32)
        gamma = uni(rng, (c,), 0.5, 1.5)
        beta = uni(rng, (c,), -0.5, 0.5)
        mm = uni(rng, (c,), -0.5, 0.5)
        mv = uni(rng, (c,), 0.5, 2.0)
        layer = tf.keras.layers.BatchNormalization()
        layer.build((None,) + shape[1:])
        layer.set_weights([gamma, beta, mm, mv])
        dy = uni(rng, shape)
        y, (dx, dg, dbeta) = layer_grads(layer, x, dy, training=training)
        mm_after = np_of(layer.moving_mean)
        mv_after = np_of(layer.moving_variance)
        fused = bool(getattr(layer, "fused", False))

        axes = tuple(range(len(shape) - 1))
        x64 = x.astype(np.float64)
        M = int(np.prod([shape[a] for a in axes]))
        mu = x64.mean(axis=axes)
        var_b = x64.var(axis=axes)
        var_u = var_b * M / (M - 1)
        mom, eps = layer.momentum, layer.epsilon
        params = {"momentum": float(mom), "epsilon": float(eps), "axis": -1, "center": True,
                  "scale": True, "training": training, "fused": fused,
                  "reduction_count": M}
        if training:
            close(name + ".y", y, gamma * (x64 - mu) / np.sqrt(var_b + eps) + beta, atol=1e-4)
            close(name + ".moving_mean", mm_after, mom * mm + (1 - mom) * mu)
            mv_b = mom * mv + (1 - mom) * var_b
            mv_u = mom * mv + (1 - mom) * var_u
            err_b = float(np.abs(mv_after - mv_b).max())
            err_u = float(np.abs(mv_after - mv_u).max())
            which = "unbiased" if err_u < err_b else "biased"
            if min(err_b, err_u) > 1e-5:
                raise AssertionError("%s: moving variance matches neither formula (%g, %g)" % (name, err_b, err_u))
            params["moving_variance_update"] = which
            params["moving_variance_update_formula"] = (
                "mv_after = momentum*mv + (1-momentum)*var_batch*M/(M-1)" if which == "unbiased"
                else "mv_after = momentum*mv + (1-momentum)*var_batch")
            FINDINGS.append("%s: rank %d, layer.fused=%s, moving variance update uses %s batch variance "
                            "(max err biased=%.3g unbiased=%.3g, M=%d)"
                            % (name, len(shape), fused, which.upper(), err_b, err_u, M))
            params["keras_call"] = "tf.keras.layers.BatchNormalization()(x, training=True)"
        else:
            close(name + ".y", y, gamma * (x64 - mm) / np.sqrt(mv + eps) + beta, atol=1e-4)
            close(name + ".moving_mean", mm_after, mm, atol=0)
            close(name + ".moving_variance", mv_after, mv, atol=0)
            params["keras_call"] = "tf.keras.layers.BatchNormalization()(x, training=False)"
        W.case(name, "batch_norm", params, {
            "x": x, "gamma": gamma, "beta": beta, "moving_mean": mm, "moving_variance": mv,
            "y": y, "dy": dy, "dx": dx, "dgamma": dg, "dbeta": dbeta,
            "moving_mean_after": mm_after, "moving_variance_after": mv_after})


def softmax_np(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def loss_case(W, name, cls_name, kwargs, y_true, y_pred, call):
    cls = getattr(tf.keras.losses, cls_name)
    yt = tf.constant(y_true)
    yp = tf.constant(y_pred)
    with tf.GradientTape() as tape:
        tape.watch(yp)
        loss = cls(**kwargs)(yt, yp)
    dyp = tape.gradient(loss, yp)
    per = cls(reduction=tf.keras.losses.Reduction.NONE, **kwargs)(yt, yp)
    loss, per, dyp = np_of(loss), np_of(per), np_of(dyp)
    close(name + ".mean", loss, per.astype(np.float64).mean(), atol=1e-6)
    params = dict(kwargs)
    params.update({"reduction": "sum_over_batch_size (mean over batch)", "keras_call": call})
    W.case(name, "loss_" + {
        "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
        "CategoricalCrossentropy": "categorical_crossentropy",
        "BinaryCrossentropy": "binary_crossentropy",
        "MeanSquaredError": "mse", "MeanAbsoluteError": "mae", "Huber": "huber"}[cls_name],
        params, {"y_true": y_true, "y_pred": y_pred, "loss": loss, "per_sample": per, "dy_pred": dyp})
    return loss, per


def loss_cases(W):
    eps = 1e-7
    # --- sparse categorical crossentropy
    rng = rng_for("scce_logits")
    logits = uni(rng, (4, 5), -3, 3)
    labels = np.array([0, 3, 4, 1], F32)
    loss, per = loss_case(W, "scce_logits", "SparseCategoricalCrossentropy", {"from_logits": True},
                          labels, logits, "tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)")
    z = logits.astype(np.float64)
    ref = -(z[np.arange(4), labels.astype(int)] - np.log(np.exp(z).sum(-1)))
    close("scce_logits.ref", per, ref)

    rng = rng_for("scce_probs")
    p = softmax_np(uni(rng, (4, 5), -2, 2).astype(np.float64))
    labels = np.array([2, 0, 4, 1], F32)
    p[1, 0] = 0.0          # exact zero on the true class -> clipped to 1e-7
    p[1] /= p[1].sum()
    p[3] *= 1.7            # un-normalised row (sum 1.7) -> renormalised
    p = p.astype(F32)
    loss, per = loss_case(W, "scce_probs", "SparseCategoricalCrossentropy", {"from_logits": False},
                          labels, p, "tf.keras.losses.SparseCategoricalCrossentropy(from_logits=False)")
    pc = np.clip(p.astype(np.float64), eps, 1 - eps)
    ref = -np.log(pc[np.arange(4), labels.astype(int)]) + np.log(pc.sum(-1))
    close("scce_probs.ref", per, ref, rtol=1e-4)
    FINDINGS.append("scce_probs: per_sample = %s (row 1 has p_true = 0 -> ~16.118, row 3 sums to 1.7)"
                    % per.tolist())

    loss, per = loss_case(W, "scce_logits_extreme", "SparseCategoricalCrossentropy", {"from_logits": True},
                          np.array([1], F32), np.array([[50, -50]], F32),
                          "tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)")
    assert float(loss) == 100.0, loss
    FINDINGS.append("scce_logits_extreme: loss = %r" % float(loss))

    # --- categorical crossentropy
    rng = rng_for("cce_probs")
    onehot = np.eye(5, dtype=F32)[[1, 4, 0, 2]]
    p = softmax_np(uni(rng, (4, 5), -2, 2).astype(np.float64))
    p[2, 0] = 0.0          # exact zero on the true class
    p[2] /= p[2].sum()
    p[3] *= 0.6            # un-normalised (sum 0.6)
    p = p.astype(F32)
    loss, per = loss_case(W, "cce_probs", "CategoricalCrossentropy", {"from_logits": False},
                          onehot, p, "tf.keras.losses.CategoricalCrossentropy(from_logits=False)")
    pn = p.astype(np.float64) / p.astype(np.float64).sum(-1, keepdims=True)
    ref = -(onehot * np.log(np.clip(pn, eps, 1 - eps))).sum(-1)
    close("cce_probs.ref", per, ref, rtol=1e-4)

    rng = rng_for("cce_logits")
    logits = uni(rng, (4, 5), -3, 3)
    onehot = np.eye(5, dtype=F32)[[3, 3, 0, 1]]
    loss, per = loss_case(W, "cce_logits", "CategoricalCrossentropy", {"from_logits": True},
                          onehot, logits, "tf.keras.losses.CategoricalCrossentropy(from_logits=True)")

    # --- binary crossentropy
    yt = np.array([[1], [0], [1], [0]], F32)
    yp = np.array([[0.0], [1.0], [0.7], [0.2]], F32)
    loss, per = loss_case(W, "bce_probs", "BinaryCrossentropy", {"from_logits": False}, yt, yp,
                          "tf.keras.losses.BinaryCrossentropy(from_logits=False)")
    # emulate float32: 1 - 1e-7 rounds to 1 - 2**-23, so the p=1/t=0 cap is -log(2**-23 + 1e-7) = 15.3332,
    # not the p=0/t=1 cap -log(2e-7) = 15.4249
    e32 = F32(eps)
    pc = np.clip(yp, e32, F32(1) - e32)
    ref = -(yt * np.log(pc + e32) + (1 - yt) * np.log((F32(1) - pc) + e32)).mean(-1)
    close("bce_probs.ref", per, ref, rtol=1e-5)
    FINDINGS.append("bce_probs: per_sample = %s (p=0,t=1 cap -log(2e-7) = %.6f; p=1,t=0 cap in float32 "
                    "-log(2^-23 + 1e-7) = %.6f)" % (per.tolist(), -math.log(2e-7), -math.log(2.0**-23 + 1e-7)))

    rng = rng_for("bce_logits")
    yt = np.array([[1], [0], [0], [1]], F32)
    yp = uni(rng, (4, 1), -4, 4)
    loss_case(W, "bce_logits", "BinaryCrossentropy", {"from_logits": True}, yt, yp,
              "tf.keras.losses.BinaryCrossentropy(from_logits=True)")

    rng = rng_for("bce_probs_multi")
    yt = (rng.uniform(size=(3, 4)) < 0.5).astype(F32)
    yp = uni(rng, (3, 4), 0.02, 0.98)
    loss_case(W, "bce_probs_multi", "BinaryCrossentropy", {"from_logits": False}, yt, yp,
              "tf.keras.losses.BinaryCrossentropy(from_logits=False)")

    # --- regression
    rng = rng_for("mse")
    loss_case(W, "mse", "MeanSquaredError", {}, uni(rng, (4, 3), -2, 2), uni(rng, (4, 3), -2, 2),
              "tf.keras.losses.MeanSquaredError()")
    rng = rng_for("mae")
    loss_case(W, "mae", "MeanAbsoluteError", {}, uni(rng, (4, 3), -2, 2), uni(rng, (4, 3), -2, 2),
              "tf.keras.losses.MeanAbsoluteError()")
    rng = rng_for("huber")
    yt = uni(rng, (4, 3), -1, 1)
    err = np.array([[0.3, -0.7, 1.5], [-2.5, 0.05, -0.95],
                    [3.0, -1.2, 0.6], [-0.4, 2.2, -3.1]], F32)
    yp = (yt + err).astype(F32)
    loss, per = loss_case(W, "huber", "Huber", {"delta": 1.0}, yt, yp, "tf.keras.losses.Huber(delta=1.0)")
    e = np.abs(yp.astype(np.float64) - yt)
    ref = np.where(e <= 1.0, 0.5 * e * e, e - 0.5).mean(-1)
    close("huber.ref", per, ref)


def activation_cases(W):
    name = "activations"
    rng = rng_for(name)
    x = np.linspace(-6.0, 6.0, 12).astype(F32)      # no exact 0 (12 points)
    x = (x + rng.uniform(-0.1, 0.1, size=12)).astype(F32)
    assert np.all(x != 0)
    dy = uni(rng, (12,))
    x2, dy2 = x.reshape(3, 4), dy.reshape(3, 4)
    K = tf.keras
    acts = [
        ("relu", lambda t: K.activations.relu(t), "tf.keras.activations.relu(x)", 1),
        ("relu6", lambda t: K.layers.ReLU(max_value=6.0)(t), "tf.keras.layers.ReLU(max_value=6.0)(x)  (= tf.nn.relu6)", 1),
        ("leaky_relu_keras", lambda t: K.layers.LeakyReLU()(t),
         "tf.keras.layers.LeakyReLU()(x)  (default alpha=0.3)", 1),
        ("leaky_relu_tfnn", lambda t: tf.nn.leaky_relu(t),
         "tf.nn.leaky_relu(x)  (default alpha=0.2)", 1),
        ("elu", lambda t: K.activations.elu(t, alpha=1.0), "tf.keras.activations.elu(x, alpha=1.0)", 1),
        ("selu", lambda t: K.activations.selu(t), "tf.keras.activations.selu(x)", 1),
        ("sigmoid", lambda t: K.activations.sigmoid(t), "tf.keras.activations.sigmoid(x)", 1),
        ("tanh", lambda t: K.activations.tanh(t), "tf.keras.activations.tanh(x)", 1),
        ("softplus", lambda t: K.activations.softplus(t), "tf.keras.activations.softplus(x)", 1),
        ("gelu", lambda t: K.activations.gelu(t, approximate=False),
         "tf.keras.activations.gelu(x, approximate=False)", 1),
        ("gelu_approx", lambda t: K.activations.gelu(t, approximate=True),
         "tf.keras.activations.gelu(x, approximate=True)", 1),
        ("swish", lambda t: K.activations.swish(t), "tf.keras.activations.swish(x)", 1),
        ("softmax", lambda t: K.activations.softmax(t, axis=-1),
         "tf.keras.activations.softmax(x.reshape(3,4), axis=-1)", 2),
        ("log_softmax", lambda t: tf.nn.log_softmax(t, axis=-1),
         "tf.nn.log_softmax(x.reshape(3,4), axis=-1)", 2),
    ]
    tensors = {"x": x, "dy": dy}
    calls = {}
    for an, fn, call, rank in acts:
        xi, dyi = (x2, dy2) if rank == 2 else (x, dy)
        y, dx = fn_grads(fn, xi, dyi)
        tensors["y_" + an] = y
        tensors["dx_" + an] = dx
        calls[an] = call

    # reference checks for the defaults that matter
    x64 = x.astype(np.float64)
    close("leaky_relu_keras", tensors["y_leaky_relu_keras"], np.where(x64 > 0, x64, 0.3 * x64))
    close("leaky_relu_tfnn", tensors["y_leaky_relu_tfnn"], np.where(x64 > 0, x64, 0.2 * x64))
    close("relu6", tensors["y_relu6"], np.clip(x64, 0, 6))
    close("softmax", tensors["y_softmax"], softmax_np(x64.reshape(3, 4)))
    close("elu", tensors["y_elu"], np.where(x64 > 0, x64, np.expm1(x64)))
    from scipy.special import erf
    close("gelu", tensors["y_gelu"], 0.5 * x64 * (1 + erf(x64 / math.sqrt(2))))
    close("gelu_approx", tensors["y_gelu_approx"],
          0.5 * x64 * (1 + np.tanh(math.sqrt(2 / math.pi) * (x64 + 0.044715 * x64 ** 3))))
    FINDINGS.append("leaky_relu: tf.keras.layers.LeakyReLU() default alpha=0.3; tf.nn.leaky_relu default alpha=0.2")
    try:
        f = tf.keras.activations.get("leaky_relu")
        yv = np_of(f(tf.constant(x)))
        FINDINGS.append("activations.get('leaky_relu') -> %s, slope on negatives %.3f"
                        % (getattr(f, "__name__", f), float(yv[0] / x[0])))
        calls["string_leaky_relu"] = ("activation='leaky_relu' is accepted and resolves to %s.%s "
                                      "(negative slope %.3g), NOT the LeakyReLU layer's 0.3"
                                      % (f.__module__, f.__name__, float(yv[0] / x[0])))
    except Exception as e:  # noqa: BLE001
        FINDINGS.append("activations.get('leaky_relu') raises %s: %s" % (type(e).__name__, str(e)[:100]))
        calls["string_leaky_relu"] = "activation='leaky_relu' is NOT accepted in this TF (%s)" % type(e).__name__

    W.case(name, "activations", {
        "names": [a[0] for a in acts],
        "softmax_and_log_softmax_use": "x and dy reshaped to (3,4), softmax over the last axis",
        "alphas": {"leaky_relu_keras": 0.3, "leaky_relu_tfnn": 0.2, "elu": 1.0},
        "selu_constants": {"alpha": 1.6732632423543772848170429916717,
                           "scale": 1.0507009873554804934193349852946},
        "keras_call": calls,
    }, tensors)


# ------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--any-tf", action="store_true", help="run even if TF is not 2.10.x")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="output directory (default: %(default)s)")
    args = ap.parse_args()

    print("TensorFlow", tf.__version__, "| numpy", np.__version__)
    if not tf.__version__.startswith("2.10.") and not args.any_tf:
        sys.exit("refusing to run: TensorFlow %s is not 2.10.x (pass --any-tf to override)" % tf.__version__)

    tf.random.set_seed(1234)
    np.random.seed(1234)
    tf.keras.backend.set_floatx("float32")

    W = Writer(args.out)
    conv_cases(W)
    depthwise_cases(W)
    pool_cases(W)
    bn_cases(W)
    loss_cases(W)
    activation_cases(W)

    total = 0
    for p in W.written:
        sz = p.stat().st_size
        total += sz
        print("%7d  %s" % (sz, p.relative_to(REPO_ROOT) if REPO_ROOT in p.parents else p))
    print("%7d  total bytes in %d files" % (total, len(W.written)))
    print("\nFindings:")
    for f in FINDINGS:
        print(" -", f)


if __name__ == "__main__":
    main()
