//! Metric parity with Keras for imbalanced classes, and weighted training.
//!
//! - `metrics.json` (tf.keras 2.10.1, `tools/keras_metric_fixtures.py`): Precision, Recall, AUC
//!   (ROC and PR, every summation method, multi-label, from logits), TopKCategoricalAccuracy and
//!   SparseTopKCategoricalAccuracy, each updated with three batches, the result read after each,
//!   with and without sample weights. Tolerance: 1e-6 relative (+1e-7 absolute).
//! - `fit_*.json` (the same script): `Dense(4, relu) → Dense(3, softmax)` from fixed weights,
//!   `fit(batch_size=8, epochs=2, shuffle=False)` with `class_weight`, `sample_weight` (and a
//!   validation split), both, and neither; the History compared key by key. Tolerance: 1e-5
//!   relative for the losses and AUCs, 1e-6 absolute for the counted metrics.
//! - `f1_score.json` (Keras 3.15, `tools/keras3_sklearn_metric_fixtures.py`): F1Score for every
//!   average, with and without a threshold and sample weights.
//! - `sklearn.json` (scikit-learn 1.9.1, the same script): `compute_class_weight("balanced")`,
//!   `classification_report` text, `roc_curve`, `roc_auc_score`, `precision_recall_curve`,
//!   `average_precision_score`.
use std::path::PathBuf;

use astrograd::layers::training::metrics::curves::{
    average_precision, precision_recall_curve, roc_auc, roc_curve,
};
use astrograd::layers::training::metrics::{
    Average, Curve, F1Score, Metric, MetricFn, MetricSpec, Precision, Recall, Summation, AUC,
};
use astrograd::layers::training::{
    classification_report, compute_class_weight, ClassWeight, FitOptions, ReportOptions,
};
use astrograd::layers::{Dense, Input, Sequential};
use astrograd::optim::SGD;
use astrograd::Tensor;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keras/metrics")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(items) => items.iter().flat_map(floats).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap() as f32],
        other => panic!("not a number: {other}"),
    }
}

fn shape(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

fn tensor(values: &Value, shape_of: &Value) -> Tensor {
    Tensor::from_vec(floats(values), &shape(shape_of)).unwrap()
}

/// The largest relative difference seen, reported at the end of each test.
#[derive(Default)]
struct Worst(f64);

impl Worst {
    fn check(&mut self, what: &str, ours: f64, keras: f64, rtol: f64, atol: f64) {
        let diff = (ours - keras).abs();
        assert!(
            diff <= atol + rtol * keras.abs(),
            "{what}: astrograd {ours}, Keras {keras}"
        );
        self.0 = self.0.max(diff / keras.abs().max(1e-12).max(atol));
    }
}

/// The metric a fixture case names, built with our API from its Keras config.
enum Case {
    Counting(Metric),
    Mean(MetricFn),
}

fn build(class_name: &str, config: &Value) -> Case {
    let int = |key: &str| config.get(key).and_then(Value::as_u64).map(|v| v as usize);
    match class_name {
        "Precision" | "Recall" => {
            let mut p = Precision::new();
            let mut r = Recall::new();
            if let Some(t) = config.get("thresholds").and_then(Value::as_f64) {
                p = p.threshold(t as f32);
                r = r.threshold(t as f32);
            }
            if let Some(k) = int("top_k") {
                p = p.top_k(k);
                r = r.top_k(k);
            }
            if let Some(c) = int("class_id") {
                p = p.class_id(c);
                r = r.class_id(c);
            }
            Case::Counting(if class_name == "Precision" {
                p.into()
            } else {
                r.into()
            })
        }
        "AUC" => {
            let mut m = AUC::new();
            if let Some(n) = int("num_thresholds") {
                m = m.num_thresholds(n);
            }
            if let Some(c) = config.get("curve").and_then(Value::as_str) {
                m = m.curve(Curve::from_name(c).unwrap());
            }
            if let Some(s) = config.get("summation_method").and_then(Value::as_str) {
                m = m.summation_method(Summation::from_name(s).unwrap());
            }
            let flag = |key: &str| config.get(key).and_then(Value::as_bool).unwrap_or(false);
            Case::Counting(
                m.multi_label(flag("multi_label"))
                    .from_logits(flag("from_logits"))
                    .into(),
            )
        }
        "TopKCategoricalAccuracy" => Case::Mean(MetricFn::TopKCategoricalAccuracy {
            k: int("k").unwrap(),
        }),
        "SparseTopKCategoricalAccuracy" => Case::Mean(MetricFn::SparseTopKCategoricalAccuracy {
            k: int("k").unwrap(),
        }),
        other => panic!("no such metric in the fixture: {other}"),
    }
}

#[test]
fn precision_recall_auc_and_top_k_match_keras_batch_by_batch() {
    let keras = fixture("metrics");
    let mut worst = Worst::default();
    let cases = keras["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let class_name = case["class_name"].as_str().unwrap();
        for (weighted, key) in [(false, "results"), (true, "weighted_results")] {
            let Some(expected) = case[key].as_array() else {
                continue; // Keras refuses (N,) weights with class_id.
            };
            let mut metric = build(class_name, &case["config"]);
            // A mean metric: Σ w·value / Σ w (Keras's MeanMetricWrapper).
            let (mut total, mut count) = (0.0f64, 0.0f64);
            for (b, (batch, keras_value)) in case["batches"]
                .as_array()
                .unwrap()
                .iter()
                .zip(expected)
                .enumerate()
            {
                let y_true = tensor(&batch["y_true"], &batch["y_true_shape"]);
                let y_pred = tensor(&batch["y_pred"], &batch["y_pred_shape"]);
                let w = floats(&batch["sample_weight"]);
                let w = weighted.then_some(w.as_slice());
                let ours = match &mut metric {
                    Case::Counting(m) => {
                        m.update_state(&y_true, &y_pred, w).unwrap();
                        f64::from(m.result())
                    }
                    Case::Mean(f) => {
                        let values = f
                            .per_sample(
                                &y_pred.to_vec().unwrap(),
                                &y_true.to_vec().unwrap(),
                                &y_pred,
                                &y_true,
                            )
                            .unwrap();
                        for (i, v) in values.iter().enumerate() {
                            let wi = w.map_or(1.0, |w| f64::from(w[i]));
                            total += wi * v;
                            count += wi;
                        }
                        total / count
                    }
                };
                let what = format!("{name} ({key}) after batch {}", b + 1);
                worst.check(&what, ours, keras_value.as_f64().unwrap(), 1e-6, 1e-7);
            }
        }
    }
    println!("metrics: largest relative difference {:.2e}", worst.0);
}

/// `Dense(4, relu) → Dense(3, softmax)` with the fixture's initial weights.
fn tiny_model(keras: &Value) -> astrograd::layers::Model {
    let model = Sequential::new(vec![
        Box::new(Input::new(&[5])),
        Box::new(Dense::new(4).activation("relu")),
        Box::new(Dense::new(3).activation("softmax")),
    ])
    .unwrap();
    let shapes: Vec<Vec<usize>> = model.weights().iter().map(|w| w.var.shape()).collect();
    let weights: Vec<Tensor> = keras["initial_weights"]
        .as_array()
        .unwrap()
        .iter()
        .zip(shapes)
        .map(|(v, s)| Tensor::from_vec(floats(v), &s).unwrap())
        .collect();
    model.set_weights(&weights).unwrap();
    model
}

fn check_fit(name: &str, worst: &mut Worst) {
    let keras = fixture(name);
    let mut model = tiny_model(&keras);
    let x = Tensor::from_vec(floats(&keras["x"]), &[24, 5]).unwrap();
    let y = tensor(&keras["y"], &keras["y_shape"]);
    let loss = keras["loss"].as_str().unwrap();
    let metrics: Vec<MetricSpec> = if loss == "categorical_crossentropy" {
        vec![
            "accuracy".into(),
            "Precision".into(),
            "Recall".into(),
            "AUC".into(),
            AUC::new().curve(Curve::PR).name("pr_auc").into(),
            Metric::top_k_categorical_accuracy(2).into(),
        ]
    } else {
        vec![
            "accuracy".into(),
            Metric::sparse_top_k_categorical_accuracy(2).into(),
        ]
    };
    model.compile(loss, SGD::new(0.1), metrics).unwrap();
    let mut options = FitOptions::default()
        .batch_size(8)
        .epochs(2)
        .shuffle(false)
        .verbose(0)
        .validation_split(keras["validation_split"].as_f64().unwrap());
    if let Some(cw) = keras["class_weight"].as_object() {
        let pairs: Vec<(usize, f32)> = cw
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), v.as_f64().unwrap() as f32))
            .collect();
        options = options.class_weight(pairs.as_slice());
    }
    if !keras["sample_weight"].is_null() {
        options = options
            .sample_weight(&Tensor::from_vec(floats(&keras["sample_weight"]), &[24]).unwrap());
    }
    let history = model.fit(&x, &y, options).unwrap();
    let expected = keras["history"].as_object().unwrap();
    assert_eq!(
        history.history.keys(),
        expected.keys().map(String::as_str).collect::<Vec<_>>(),
        "{name}: history keys"
    );
    for (key, values) in expected {
        for (epoch, (ours, theirs)) in history.history[key.as_str()]
            .iter()
            .zip(values.as_array().unwrap())
            .enumerate()
        {
            let (rtol, atol) = if key.ends_with("loss") || key.ends_with("auc") {
                (1e-5, 1e-6)
            } else {
                (0.0, 1e-6)
            };
            let what = format!("{name} {key} epoch {epoch}");
            worst.check(
                &what,
                f64::from(*ours),
                theirs.as_f64().unwrap(),
                rtol,
                atol,
            );
        }
    }
}

#[test]
fn weighted_fits_match_keras_history() {
    let mut worst = Worst::default();
    for name in [
        "fit_unweighted",
        "fit_class_weight",
        "fit_sample_weight",
        "fit_class_and_sample_weight",
    ] {
        check_fit(name, &mut worst);
    }
    println!("fit: largest relative difference {:.2e}", worst.0);
}

#[test]
fn class_weight_errors_before_training() {
    let keras = fixture("fit_class_weight");
    let x = Tensor::from_vec(floats(&keras["x"]), &[24, 5]).unwrap();
    let y = tensor(&keras["y"], &keras["y_shape"]);
    let mut model = tiny_model(&keras);
    model
        .compile("categorical_crossentropy", "sgd", &[])
        .unwrap();
    let before: Vec<Vec<f32>> = model
        .weights()
        .iter()
        .map(|w| w.var.value().to_vec().unwrap())
        .collect();
    let quiet = || FitOptions::default().verbose(0);
    // A weight for class 3: the model has classes 0, 1, 2.
    let err = model
        .fit(&x, &y, quiet().class_weight(vec![1.0, 1.0, 1.0, 5.0]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a weight for class 3, which the model does not have"),
        "{err}"
    );
    let err = model
        .fit(&x, &y, quiet().class_weight([(0, 1.0), (2, 1.0)]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("keys from 0 to one less than the number of classes"),
        "{err}"
    );
    // Class 2 has no weight.
    let err = model
        .fit(&x, &y, quiet().class_weight([(0, 1.0), (1, 1.0)]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("without a weight"), "{err}");
    let err = model
        .fit(&x, &y, quiet().class_weight(vec![1.0, f32::NAN, 1.0]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("NaN for class 1"), "{err}");
    let err = model
        .fit(&x, &y, quiet().sample_weight(&Tensor::ones(&[23])))
        .unwrap_err()
        .to_string();
    assert!(err.contains("sample_weight of shape (24,)"), "{err}");
    let err = model
        .fit(&x, &y, quiet().sample_weight(&Tensor::full(&[24], -1.0)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("-1 at sample 0"), "{err}");
    let after: Vec<Vec<f32>> = model
        .weights()
        .iter()
        .map(|w| w.var.value().to_vec().unwrap())
        .collect();
    assert_eq!(before, after, "a refused fit changes no weight");
}

#[test]
fn f1_score_matches_keras_3() {
    let keras = fixture("f1_score");
    let mut worst = Worst::default();
    for case in keras["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let average = Average::from_name(case["average"].as_str()).unwrap();
        let mut f1 = F1Score::new().average(average);
        if let Some(t) = case["threshold"].as_f64() {
            f1 = f1.threshold(t as f32);
        }
        let weighted = case["weighted"].as_bool().unwrap();
        for (b, (batch, expected)) in case["batches"]
            .as_array()
            .unwrap()
            .iter()
            .zip(case["results"].as_array().unwrap())
            .enumerate()
        {
            let y_true = tensor(&batch["y_true"], &batch["shape"]);
            let y_pred = tensor(&batch["y_pred"], &batch["shape"]);
            let w = floats(&batch["sample_weight"]);
            f1.update_state(&y_true, &y_pred, weighted.then_some(w.as_slice()))
                .unwrap();
            let ours: Vec<f32> = if average == Average::None {
                f1.result_per_class()
            } else {
                vec![f1.result()]
            };
            let theirs = floats(expected);
            assert_eq!(ours.len(), theirs.len(), "{name}");
            for (j, (o, t)) in ours.iter().zip(&theirs).enumerate() {
                let what = format!("{name} batch {} value {j}", b + 1);
                worst.check(&what, f64::from(*o), f64::from(*t), 1e-6, 1e-7);
            }
        }
    }
    println!("F1: largest relative difference {:.2e}", worst.0);
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap_or(f64::INFINITY))
        .collect()
}

#[test]
fn scikit_learn_class_weights_report_and_curves() {
    let sk = fixture("sklearn");
    for case in sk["class_weight"].as_array().unwrap() {
        let ours = compute_class_weight("balanced", &usizes(&case["classes"]), &usizes(&case["y"]))
            .unwrap();
        let theirs = f64s(&case["weights"]);
        for (o, t) in ours.iter().zip(&theirs) {
            assert!((o - t).abs() <= 1e-12 * t.abs(), "{ours:?} vs {theirs:?}");
        }
    }
    for case in sk["class_weight_errors"].as_array().unwrap() {
        let err = compute_class_weight("balanced", &usizes(&case["classes"]), &usizes(&case["y"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(case["message"].as_str().unwrap()), "{err}");
    }
    for case in sk["reports"].as_array().unwrap() {
        let mut options = ReportOptions::default();
        if let Some(names) = case["target_names"].as_array() {
            let names: Vec<&str> = names.iter().map(|n| n.as_str().unwrap()).collect();
            options = options.target_names(&names);
        }
        if let Some(d) = case["digits"].as_u64() {
            options = options.digits(d as usize);
        }
        if !case["labels"].is_null() {
            options = options.labels(&usizes(&case["labels"]));
        }
        let ours =
            classification_report(&usizes(&case["y_true"]), &usizes(&case["y_pred"]), options)
                .unwrap();
        assert_eq!(
            ours,
            case["text"].as_str().unwrap(),
            "report {}",
            case["name"]
        );
    }
    for case in sk["curves"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let y: Vec<bool> = case["y_true"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64() == Some(1))
            .collect();
        let s = floats(&case["scores"]);
        let close = |what: &str, ours: &[f64], theirs: &[f64]| {
            assert_eq!(
                ours.len(),
                theirs.len(),
                "{name} {what}: {ours:?} vs {theirs:?}"
            );
            for (o, t) in ours.iter().zip(theirs) {
                assert!(
                    o == t || (o - t).abs() <= 1e-12,
                    "{name} {what}: {ours:?} vs {theirs:?}"
                );
            }
        };
        let roc = roc_curve(&y, &s).unwrap();
        close("fpr", &roc.x, &f64s(&case["fpr"]));
        close("tpr", &roc.y, &f64s(&case["tpr"]));
        close(
            "roc thresholds",
            &roc.thresholds,
            &f64s(&case["roc_thresholds"]),
        );
        let pr = precision_recall_curve(&y, &s).unwrap();
        close("precision", &pr.y, &f64s(&case["precision"]));
        close("recall", &pr.x, &f64s(&case["recall"]));
        close(
            "pr thresholds",
            &pr.thresholds,
            &f64s(&case["pr_thresholds"]),
        );
        close(
            "roc_auc",
            &[roc_auc(&y, &s).unwrap()],
            &[case["roc_auc"].as_f64().unwrap()],
        );
        close(
            "average_precision",
            &[average_precision(&y, &s).unwrap()],
            &[case["average_precision"].as_f64().unwrap()],
        );
    }
    let _ = ClassWeight::default();
}
