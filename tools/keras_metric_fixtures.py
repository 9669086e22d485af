"""Keras-parity fixtures for the metrics of imbalanced classes and for weighted training:
Precision, Recall, AUC (ROC and PR), TopKCategoricalAccuracy and SparseTopKCategoricalAccuracy
accumulated over several batches, with and without sample weights; and a tiny model trained by
`fit` for two epochs with class_weight, with sample_weight, and with both.

Every number comes from tf.keras in TensorFlow 2.10.1 (the course's version). The inputs are drawn
from np.random.RandomState(seed) and stored in the JSON next to the results, so the Rust tests
(`tests/keras_parity_metrics.rs`) read both. F1Score (Keras 3 only) and the scikit-learn functions
are written by `tools/keras3_sklearn_metric_fixtures.py`.

  metrics.json  {"cases": [{"name", "class_name", "config", "batches": [{"y_true", "y_pred",
                 "sample_weight"}], "results": [after batch 1, 2, …], "weighted_results": [...]}]}
  fit_*.json    {"x", "y", "initial_weights", "options", "history"}

Run: /root/venvs/tf/bin/python tools/keras_metric_fixtures.py   (writes tests/fixtures/keras/metrics/)
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "keras", "metrics")


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def multiclass_batches(rng, sizes, k):
    """One-hot targets and softmax scores (with a tied row and a hard one-hot row)."""
    batches = []
    for b, n in enumerate(sizes):
        labels = rng.randint(0, k, size=n)
        y_true = np.eye(k, dtype=np.float32)[labels]
        y_pred = softmax(rng.normal(0.0, 1.5, size=(n, k))).astype(np.float32)
        if b == 0:
            y_pred[0] = np.full(k, 1.0 / k, dtype=np.float32)  # all tied
            y_pred[1] = np.eye(k, dtype=np.float32)[labels[1]]  # exactly 0 and 1
        w = rng.uniform(0.0, 2.0, size=n).astype(np.float32)
        w[-1] = 0.0
        batches.append((y_true, y_pred, w))
    return batches


def binary_batches(rng, sizes):
    """Yes/no targets (N, 1) and sigmoid scores (N, 1), with 0, 0.5 and 1 among them. (Targets
    (N,) would do unweighted, but Keras 2.10's standalone update_state refuses (N,) weights with
    them; fit reshapes them first.)"""
    batches = []
    for b, n in enumerate(sizes):
        y_true = (rng.uniform(size=(n, 1)) < 0.3).astype(np.float32)
        y_pred = (1.0 / (1.0 + np.exp(-rng.normal(0.0, 2.0, size=(n, 1))))).astype(np.float32)
        if b == 0:
            y_pred[:3, 0] = [0.0, 0.5, 1.0]
        w = rng.uniform(0.0, 2.0, size=n).astype(np.float32)
        batches.append((y_true, y_pred, w))
    return batches


def run_metric(make, batches, weighted):
    """The result after each batch; None where Keras refuses the weights (class_id with (N,)
    weights: the weights are expanded to (N, 1) before the column is taken, and no longer fit)."""
    m = make()
    results = []
    for y_true, y_pred, w in batches:
        try:
            m.update_state(y_true, y_pred, sample_weight=w if weighted else None)
        except ValueError:
            return None
        results.append(float(m.result().numpy()))
    return results


def metric_cases():
    rng = np.random.RandomState(19)
    multi = multiclass_batches(rng, [7, 5, 4], 6)
    binary = binary_batches(rng, [9, 8, 6])
    logits = [(t, np.log(p / (1 - p + 1e-12) + 1e-12).astype(np.float32), w) for t, p, w in binary]
    sparse = [(np.argmax(t, axis=1).astype(np.float32), p, w) for t, p, w in multi]
    M = keras.metrics
    specs = [
        ("precision_multi", "Precision", {}, multi),
        ("recall_multi", "Recall", {}, multi),
        ("precision_threshold", "Precision", {"thresholds": 0.3}, multi),
        ("precision_top_k", "Precision", {"top_k": 2}, multi),
        ("recall_top_k", "Recall", {"top_k": 2}, multi),
        ("precision_class_id", "Precision", {"class_id": 1}, multi),
        ("recall_class_id", "Recall", {"class_id": 2}, multi),
        ("precision_top_k_class_id", "Precision", {"top_k": 2, "class_id": 3}, multi),
        ("precision_binary", "Precision", {}, binary),
        ("recall_binary", "Recall", {}, binary),
        ("auc_roc_multi", "AUC", {}, multi),
        ("auc_pr_multi", "AUC", {"curve": "PR"}, multi),
        ("auc_roc_binary", "AUC", {}, binary),
        ("auc_pr_binary", "AUC", {"curve": "PR"}, binary),
        ("auc_roc_50", "AUC", {"num_thresholds": 50}, binary),
        ("auc_roc_minoring", "AUC", {"summation_method": "minoring"}, binary),
        ("auc_pr_majoring", "AUC", {"curve": "PR", "summation_method": "majoring"}, multi),
        ("auc_pr_minoring", "AUC", {"curve": "PR", "summation_method": "minoring"}, binary),
        ("auc_roc_multi_label", "AUC", {"multi_label": True}, multi),
        ("auc_pr_multi_label", "AUC", {"curve": "PR", "multi_label": True}, multi),
        ("auc_from_logits", "AUC", {"from_logits": True}, logits),
        ("top_2", "TopKCategoricalAccuracy", {"k": 2}, multi),
        ("top_5", "TopKCategoricalAccuracy", {"k": 5}, multi),
        ("sparse_top_2", "SparseTopKCategoricalAccuracy", {"k": 2}, sparse),
        ("sparse_top_5", "SparseTopKCategoricalAccuracy", {"k": 5}, sparse),
    ]
    cases = []
    for name, class_name, config, batches in specs:
        make = lambda: getattr(M, class_name)(**config)  # noqa: E731
        cases.append({
            "name": name,
            "class_name": class_name,
            "config": config,
            "batches": [
                {"y_true": t.tolist(), "y_true_shape": list(t.shape),
                 "y_pred": p.tolist(), "y_pred_shape": list(p.shape), "sample_weight": w.tolist()}
                for t, p, w in batches
            ],
            "results": run_metric(make, batches, False),
            "weighted_results": run_metric(make, batches, True),
        })
    return {"tf_version": tf.__version__, "cases": cases}


def formula_weights(model):
    """weight t, element i: kernels 0.5·sin(0.7·i + 1.3·t), biases 0.05·cos(0.3·i + t)."""
    values = []
    for t, w in enumerate(model.weights):
        n = int(np.prod(w.shape))
        i = np.arange(n, dtype=np.float64)
        v = 0.05 * np.cos(0.3 * i + t) if len(w.shape) == 1 else 0.5 * np.sin(0.7 * i + 1.3 * t)
        values.append(v.astype(np.float32).reshape(tuple(w.shape)))
    return values


def fit_case(name, one_hot, class_weight, sample_weight, validation_split):
    """Dense(4, relu) → Dense(3, softmax) on 24 samples of 5 features, 15/6/3 per class."""
    rng = np.random.RandomState(7)
    n = 24
    x = rng.normal(0.0, 1.0, size=(n, 5)).astype(np.float32)
    labels = np.array([0] * 15 + [1] * 6 + [2] * 3)
    rng.shuffle(labels)
    y = np.eye(3, dtype=np.float32)[labels] if one_hot else labels.astype(np.float32)
    w = rng.uniform(0.2, 3.0, size=n).astype(np.float32) if sample_weight else None
    model = keras.Sequential([
        keras.layers.Dense(4, activation="relu", input_shape=(5,)),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.set_weights(formula_weights(model))
    if one_hot:
        loss = "categorical_crossentropy"
        # Named, as a fresh session would name them (each new instance otherwise gets a suffix).
        metrics = ["accuracy", keras.metrics.Precision(name="precision"),
                   keras.metrics.Recall(name="recall"), keras.metrics.AUC(name="auc"),
                   keras.metrics.AUC(curve="PR", name="pr_auc"),
                   keras.metrics.TopKCategoricalAccuracy(k=2)]
        metric_names = ["accuracy", "Precision", "Recall", "AUC", "AUC(curve='PR', name='pr_auc')",
                        "TopKCategoricalAccuracy(k=2)"]
    else:
        loss = "sparse_categorical_crossentropy"
        metrics = ["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=2)]
        metric_names = ["accuracy", "SparseTopKCategoricalAccuracy(k=2)"]
    model.compile(loss=loss, optimizer=keras.optimizers.SGD(learning_rate=0.1), metrics=metrics)
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                        class_weight=class_weight, sample_weight=w,
                        validation_split=validation_split)
    return name, {
        "tf_version": tf.__version__,
        "x": x.tolist(),
        "y": y.tolist(),
        "y_shape": list(y.shape),
        "sample_weight": None if w is None else w.tolist(),
        "class_weight": None if class_weight is None else {str(k): v for k, v in class_weight.items()},
        "validation_split": validation_split,
        "loss": loss,
        "metrics": metric_names,
        "initial_weights": [v.tolist() for v in formula_weights(model)],
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
    }


def main():
    if not tf.__version__.startswith("2.10.") and "--any-tf" not in sys.argv:
        sys.exit(f"TensorFlow 2.10.x expected, found {tf.__version__} (--any-tf to override)")
    os.makedirs(OUT, exist_ok=True)
    outputs = {"metrics": metric_cases()}
    cw = {0: 0.5, 1: 1.5, 2: 3.0}
    for name, data in [
        fit_case("fit_class_weight", True, cw, False, 0.0),
        fit_case("fit_sample_weight", False, None, True, 0.25),
        fit_case("fit_class_and_sample_weight", False, cw, True, 0.0),
        fit_case("fit_unweighted", True, None, False, 0.0),
    ]:
        outputs[name] = data
    for name, data in outputs.items():
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(data, f, indent=None, separators=(",", ":"))
            f.write("\n")
        print("wrote", name)


if __name__ == "__main__":
    main()
