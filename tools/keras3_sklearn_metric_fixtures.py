"""Fixtures for the metrics that TF 2.10 does not have: Keras 3's F1Score, and scikit-learn's
compute_class_weight("balanced"), classification_report, roc_curve / roc_auc_score and
precision_recall_curve / average_precision_score. The Rust side is
`tests/keras_parity_metrics.rs`; the TF 2.10 metrics come from `tools/keras_metric_fixtures.py`.

  f1_score.json  {"cases": [{"name", "average", "threshold", "weighted", "batches": [{"y_true",
                  "y_pred", "shape", "sample_weight"}], "results": [after batch 1, 2, …]}]}
  sklearn.json   {"class_weight", "class_weight_errors", "reports", "curves"}

Inputs are drawn from np.random.RandomState(seed) and stored beside the results.

Run: /root/venvs/keras3/bin/python tools/keras3_sklearn_metric_fixtures.py
     (Keras 3 with any backend, and scikit-learn: `pip install scikit-learn`;
      writes tests/fixtures/keras/metrics/)
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    average_precision_score,
    classification_report,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)
from sklearn.utils.class_weight import compute_class_weight  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "keras", "metrics")


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def f1_cases():
    rng = np.random.RandomState(31)
    k = 4
    batches = []
    for b, n in enumerate([6, 5, 7]):
        labels = rng.choice(k, size=n, p=[0.55, 0.25, 0.15, 0.05])
        y_true = np.eye(k, dtype=np.float32)[labels]
        y_pred = softmax(rng.normal(0.0, 1.2, size=(n, k))).astype(np.float32)
        if b == 0:
            y_pred[0] = [0.4, 0.4, 0.1, 0.1]  # a tie at the maximum
        w = rng.uniform(0.0, 2.0, size=n).astype(np.float32)
        batches.append((y_true, y_pred, w))
    cases = []
    for average in [None, "micro", "macro", "weighted"]:
        for threshold in [None, 0.3]:
            for weighted in [False, True]:
                m = keras.metrics.F1Score(average=average, threshold=threshold)
                results = []
                for y_true, y_pred, w in batches:
                    m.update_state(y_true, y_pred, sample_weight=w if weighted else None)
                    results.append(np.asarray(m.result(), dtype=np.float64).tolist())
                cases.append({
                    "name": f"f1_{average}_{threshold}_{'weighted' if weighted else 'plain'}",
                    "average": average,
                    "threshold": threshold,
                    "weighted": weighted,
                    "batches": [{"y_true": t.tolist(), "y_pred": p.tolist(), "shape": list(p.shape),
                                 "sample_weight": w.tolist()} for t, p, w in batches],
                    "results": results,
                })
    return {"keras_version": keras.__version__, "cases": cases}


def sklearn_cases():
    rng = np.random.RandomState(5)
    class_weight = []
    for classes, y in [
        ([0, 1], [0] * 9 + [1]),
        ([0, 1, 2, 3], list(rng.choice(4, size=40, p=[0.6, 0.2, 0.15, 0.05])) + [3]),
        ([2, 0, 1], [0, 1, 1, 2, 2, 2]),
    ]:
        w = compute_class_weight("balanced", classes=np.array(classes), y=np.array(y))
        class_weight.append({"classes": classes, "y": [int(v) for v in y], "weights": w.tolist()})
    errors = []
    for classes, y in [([0, 1, 2], [0, 1, 1]), ([0, 1], [0, 1, 2])]:
        try:
            compute_class_weight("balanced", classes=np.array(classes), y=np.array(y))
            raise AssertionError("expected a ValueError")
        except ValueError as e:
            errors.append({"classes": classes, "y": y, "message": str(e)})
    reports = []
    y_true = rng.choice(5, size=60, p=[0.4, 0.25, 0.2, 0.1, 0.05])
    y_pred = np.where(rng.uniform(size=60) < 0.6, y_true, rng.choice(4, size=60))  # 4 never predicted
    names = ["Disturbed", "Merging", "Round Smooth", "Cigar Shaped Smooth", "Barred Spiral"]
    for name, kwargs in [
        ("default", {}),
        ("names", {"target_names": names}),
        ("digits_4", {"digits": 4}),
        ("labels_subset", {"labels": [0, 1, 2]}),
        ("tiny", {}),
    ]:
        t, p = (y_true, y_pred) if name != "tiny" else (np.array([0, 1, 2, 2, 2]), np.array([0, 0, 2, 2, 1]))
        text = classification_report(t, p, zero_division="warn", **kwargs)
        reports.append({
            "name": name,
            "y_true": t.tolist(),
            "y_pred": p.tolist(),
            "target_names": kwargs.get("target_names"),
            "digits": kwargs.get("digits"),
            "labels": kwargs.get("labels"),
            "text": text,
        })
    curves = []
    for name, n, decimals in [("continuous", 40, None), ("ties", 30, 1)]:
        y = (rng.uniform(size=n) < 0.35).astype(int)
        s = np.clip(0.3 * y + rng.uniform(size=n) * 0.7, 0, 1).astype(np.float32)
        if decimals is not None:
            s = np.round(s, decimals).astype(np.float32)
        fpr, tpr, roc_t = roc_curve(y, s)
        precision, recall, pr_t = precision_recall_curve(y, s)
        curves.append({
            "name": name,
            "y_true": y.tolist(),
            "scores": s.tolist(),
            "fpr": fpr.tolist(),
            "tpr": tpr.tolist(),
            "roc_thresholds": [None if np.isinf(v) else float(v) for v in roc_t],
            "precision": precision.tolist(),
            "recall": recall.tolist(),
            "pr_thresholds": pr_t.astype(np.float64).tolist(),
            "roc_auc": float(roc_auc_score(y, s)),
            "average_precision": float(average_precision_score(y, s)),
        })
    return {
        "sklearn_version": sklearn.__version__,
        "class_weight": class_weight,
        "class_weight_errors": errors,
        "reports": reports,
        "curves": curves,
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in [("f1_score", f1_cases()), ("sklearn", sklearn_cases())]:
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(data, f, indent=None, separators=(",", ":"))
            f.write("\n")
        print("wrote", name)


if __name__ == "__main__":
    main()
