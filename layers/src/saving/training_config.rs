//! What `compile` chose, as the `training_config` JSON of a tf.keras 2.10 model file, and the
//! way back: a model read from a file trains without being compiled again.
//!
//! ```text
//! {"loss": "sparse_categorical_crossentropy",
//!  "metrics": [[{"class_name": "MeanMetricWrapper",
//!                "config": {"name": "accuracy", "dtype": "float32",
//!                           "fn": "sparse_categorical_accuracy"}}]],
//!  "weighted_metrics": null, "loss_weights": null,
//!  "optimizer_config": {"class_name": "Adam", "config": {"name": "Adam", "learning_rate": 0.001, …}}}
//! ```
//!
//! A loss with options (`from_logits=True`, Huber's `delta`) is written as its class,
//! `{"class_name": "CategoricalCrossentropy", "config": {…, "from_logits": true}}`. A metric
//! whose function is known (after the first batch) is written as Keras's `MeanMetricWrapper`
//! naming the function; before that, as the string given to `compile`.
use serde_json::{json, Value};

use super::CompileState;
use crate::config::{json_f32, Config};
use crate::model::Model;
use crate::training::losses::Loss;
use crate::training::metrics::{
    Average, Curve, F1Score, Metric, MetricFn, MetricKind, Precision, Recall, Summation, AUC,
};
use crate::{LayerError, Result};

/// Keras's function name for a resolved metric (`"sparse_categorical_accuracy"`).
fn metric_fn_name(function: MetricFn) -> &'static str {
    match function {
        MetricFn::BinaryAccuracy => "binary_accuracy",
        MetricFn::SparseCategoricalAccuracy => "sparse_categorical_accuracy",
        MetricFn::CategoricalAccuracy => "categorical_accuracy",
        MetricFn::MeanSquaredError => "mean_squared_error",
        MetricFn::MeanAbsoluteError => "mean_absolute_error",
        MetricFn::TopKCategoricalAccuracy { .. } => "top_k_categorical_accuracy",
        MetricFn::SparseTopKCategoricalAccuracy { .. } => "sparse_top_k_categorical_accuracy",
    }
}

/// The loss as Keras serializes it: its name, or its class with options.
pub fn loss_json(loss: &Loss) -> Value {
    let class = |class_name: &str, mut config: Config| {
        config.insert("reduction".into(), "auto".into());
        config.insert("name".into(), loss.name().into());
        json!({"class_name": class_name, "config": config})
    };
    let logits_config = |from_logits: bool| {
        let mut config = Config::new();
        config.insert("from_logits".into(), from_logits.into());
        config.insert("label_smoothing".into(), json_f32(0.0));
        config.insert("axis".into(), (-1).into());
        config
    };
    match *loss {
        Loss::SparseCategoricalCrossentropy { from_logits: true } => {
            let mut config = Config::new();
            config.insert("from_logits".into(), true.into());
            config.insert("ignore_class".into(), Value::Null);
            class("SparseCategoricalCrossentropy", config)
        }
        Loss::CategoricalCrossentropy { from_logits: true } => {
            class("CategoricalCrossentropy", logits_config(true))
        }
        Loss::BinaryCrossentropy { from_logits: true } => {
            class("BinaryCrossentropy", logits_config(true))
        }
        Loss::Huber { delta } if delta != 1.0 => {
            let mut config = Config::new();
            config.insert("delta".into(), json_f32(delta));
            class("Huber", config)
        }
        _ => loss.name().into(),
    }
}

/// The loss a `training_config` names: a string, or a class with its config.
///
/// # Errors
/// An unknown loss, or options astrograd does not support (label smoothing, another axis or
/// reduction).
pub fn loss_from_json(value: &Value) -> Result<Loss> {
    if let Some(name) = value.as_str() {
        return Loss::from_name(name);
    }
    let bad = |expected: &str| {
        LayerError::invalid(
            "training_config loss",
            expected.to_string(),
            value.to_string(),
        )
    };
    let class_name = value
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("a loss name or {\"class_name\": …, \"config\": …}"))?;
    let empty = Config::new();
    let config = value
        .get("config")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let from_logits = config
        .get("from_logits")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let smoothing = config
        .get("label_smoothing")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    if smoothing != 0.0 {
        return Err(bad("label_smoothing 0 (astrograd does not smooth labels)"));
    }
    if config
        .get("axis")
        .and_then(Value::as_i64)
        .is_some_and(|a| a != -1)
    {
        return Err(bad("axis -1"));
    }
    match config.get("reduction").and_then(Value::as_str) {
        None | Some("auto") | Some("sum_over_batch_size") => {}
        Some(_) => return Err(bad("reduction \"auto\" or \"sum_over_batch_size\"")),
    }
    Ok(match class_name {
        "SparseCategoricalCrossentropy" => Loss::SparseCategoricalCrossentropy { from_logits },
        "CategoricalCrossentropy" => Loss::CategoricalCrossentropy { from_logits },
        "BinaryCrossentropy" => Loss::BinaryCrossentropy { from_logits },
        "MeanSquaredError" => Loss::MeanSquaredError,
        "MeanAbsoluteError" => Loss::MeanAbsoluteError,
        "Huber" => Loss::Huber {
            delta: config.get("delta").and_then(Value::as_f64).unwrap_or(1.0) as f32,
        },
        _ => return Err(bad("one of the losses SparseCategoricalCrossentropy, CategoricalCrossentropy, BinaryCrossentropy, MeanSquaredError, MeanAbsoluteError, Huber")),
    })
}

/// A metric as Keras serializes it once compiled (see the module doc): a mean as a
/// `MeanMetricWrapper` naming its function (or `TopKCategoricalAccuracy` with its `k` when k ≠
/// 5), a metric that keeps counts as its class with its config.
pub fn metric_json(metric: &Metric) -> Value {
    let name = metric.name.as_str();
    let class = |class_name: &str, config: Value| {
        let mut full = json!({"name": name, "dtype": "float32"});
        if let (Some(full), Value::Object(extra)) = (full.as_object_mut(), config) {
            full.extend(extra);
        }
        json!({"class_name": class_name, "config": full})
    };
    let confusion = |class_name: &str, d: &crate::training::metrics::confusion::Decision| {
        class(
            class_name,
            json!({"thresholds": d.threshold.map(json_f32), "top_k": d.top_k, "class_id": d.class_id}),
        )
    };
    match metric.kind() {
        MetricKind::Mean(None) => name.into(),
        MetricKind::Mean(Some(MetricFn::TopKCategoricalAccuracy { k })) if *k != 5 => {
            class("TopKCategoricalAccuracy", json!({"k": k}))
        }
        MetricKind::Mean(Some(MetricFn::SparseTopKCategoricalAccuracy { k })) if *k != 5 => {
            class("SparseTopKCategoricalAccuracy", json!({"k": k}))
        }
        MetricKind::Mean(Some(function)) => json!({
            "class_name": "MeanMetricWrapper",
            "config": {"name": name, "dtype": "float32", "fn": metric_fn_name(*function)},
        }),
        MetricKind::Precision(m) => confusion("Precision", &m.decision),
        MetricKind::Recall(m) => confusion("Recall", &m.decision),
        MetricKind::AUC(m) => class(
            "AUC",
            json!({
                "num_thresholds": m.num_thresholds,
                "curve": m.curve.as_str(),
                "summation_method": m.summation.as_str(),
                "multi_label": m.multi_label,
                "num_labels": null,
                "label_weights": null,
                "from_logits": m.from_logits,
            }),
        ),
        MetricKind::F1Score(m) => class(
            "F1Score",
            json!({"average": m.average.as_str(), "beta": 1.0, "threshold": m.threshold.map(json_f32)}),
        ),
    }
}

/// A metric from its string, its `MeanMetricWrapper` config, or its class with its config
/// (`Precision`, `Recall`, `AUC`, `F1Score`, `TopKCategoricalAccuracy`,
/// `SparseTopKCategoricalAccuracy`).
///
/// # Errors
/// An unknown metric name, function or class; options astrograd does not support (several
/// thresholds, label weights, an F-beta other than F1).
pub fn metric_from_json(value: &Value) -> Result<Metric> {
    if let Some(name) = value.as_str() {
        return Metric::new(name);
    }
    let bad = |expected: &str| {
        LayerError::invalid(
            "training_config metrics",
            expected.to_string(),
            value.to_string(),
        )
    };
    let name = value.pointer("/config/name").and_then(Value::as_str);
    let config = value.get("config").cloned().unwrap_or(Value::Null);
    let get = |key: &str| config.get(key).filter(|v| !v.is_null());
    let usize_of = |key: &str| get(key).and_then(Value::as_u64).map(|v| v as usize);
    let class_name = value.get("class_name").and_then(Value::as_str);
    let metric: Metric = match class_name {
        Some("Precision" | "Recall") => {
            let threshold = match get("thresholds") {
                None => None,
                Some(v) => Some(v.as_f64().ok_or_else(|| {
                    bad("a single number for thresholds (astrograd keeps one threshold)")
                })? as f32),
            };
            let decision = crate::training::metrics::confusion::Decision {
                threshold,
                top_k: usize_of("top_k"),
                class_id: usize_of("class_id"),
            };
            if class_name == Some("Precision") {
                let mut m = Precision::new();
                m.decision = decision;
                m.into()
            } else {
                let mut m = Recall::new();
                m.decision = decision;
                m.into()
            }
        }
        Some("AUC") => {
            if get("label_weights").is_some() || get("thresholds").is_some() {
                return Err(bad("an AUC without label_weights or explicit thresholds"));
            }
            let mut m = AUC::new();
            if let Some(n) = usize_of("num_thresholds") {
                m = m.num_thresholds(n);
            }
            if let Some(curve) = get("curve").and_then(Value::as_str) {
                m = m.curve(Curve::from_name(curve)?);
            }
            if let Some(method) = get("summation_method").and_then(Value::as_str) {
                m = m.summation_method(Summation::from_name(method)?);
            }
            let flag = |key: &str| get(key).and_then(Value::as_bool).unwrap_or(false);
            m.multi_label(flag("multi_label"))
                .from_logits(flag("from_logits"))
                .into()
        }
        Some("F1Score") => {
            if get("beta")
                .and_then(Value::as_f64)
                .is_some_and(|b| b != 1.0)
            {
                return Err(bad("F1Score with beta 1"));
            }
            let mut m =
                F1Score::new().average(Average::from_name(get("average").and_then(Value::as_str))?);
            if let Some(t) = get("threshold").and_then(Value::as_f64) {
                m = m.threshold(t as f32);
            }
            m.into()
        }
        Some("TopKCategoricalAccuracy") => {
            Metric::top_k_categorical_accuracy(usize_of("k").unwrap_or(5))
        }
        Some("SparseTopKCategoricalAccuracy") => {
            Metric::sparse_top_k_categorical_accuracy(usize_of("k").unwrap_or(5))
        }
        _ => {
            let function = value.pointer("/config/fn").and_then(Value::as_str);
            return match (name, function) {
                (Some(name), Some(function)) => {
                    let resolved = Metric::new(function)?.function();
                    let mut metric = Metric::new(name).or_else(|_| Metric::new(function))?;
                    metric.name = name.to_string();
                    if let Some(f) = resolved {
                        metric.set_function(f);
                    }
                    Ok(metric)
                }
                (Some(name), None) => Metric::new(name),
                _ => Err(bad(
                    "a metric name, a MeanMetricWrapper {\"config\": {\"name\": …, \"fn\": …}} \
                     or a metric class (Precision, Recall, AUC, F1Score, TopKCategoricalAccuracy)",
                )),
            };
        }
    };
    Ok(match name {
        Some(name) => metric.named(name),
        None => metric,
    })
}

/// tf.keras 2.10's `training_config` of these compile settings.
///
/// # Errors
/// An optimizer whose learning rate is a schedule (see `Optimizer::get_config`).
pub fn training_config_of(compiled: CompileState<'_>) -> Result<Config> {
    let optimizer = compiled.optimizer;
    let mut config = Config::new();
    config.insert("loss".into(), loss_json(&compiled.loss));
    let metrics: Vec<Value> = compiled.metrics.iter().map(metric_json).collect();
    config.insert("metrics".into(), json!([metrics]));
    config.insert("weighted_metrics".into(), Value::Null);
    config.insert("loss_weights".into(), Value::Null);
    config.insert(
        "optimizer_config".into(),
        json!({"class_name": optimizer.name(), "config": optimizer.get_config()?}),
    );
    Ok(config)
}

impl Model {
    /// tf.keras 2.10's `training_config` of a compiled model; `None` when not compiled.
    ///
    /// # Errors
    /// An optimizer whose learning rate is a schedule (see `Optimizer::get_config`).
    pub fn training_config(&self) -> Result<Option<Config>> {
        self.compile_state().map(training_config_of).transpose()
    }

    /// Compiles the model as a `training_config` says (a fresh optimizer, no slots yet).
    ///
    /// # Errors
    /// An unknown or unsupported loss, metric or optimizer; loss weights or weighted metrics.
    pub fn compile_from_training_config(&mut self, config: &Config) -> Result<()> {
        let bad = |key: &str, expected: &str, found: &Value| {
            LayerError::invalid(
                format!("training_config {key}"),
                expected.to_string(),
                found.to_string(),
            )
        };
        for key in ["loss_weights", "weighted_metrics"] {
            if let Some(value) = config.get(key).filter(|v| !v.is_null()) {
                return Err(bad(
                    key,
                    "null (astrograd has one output and no sample weights)",
                    value,
                ));
            }
        }
        let loss = loss_from_json(config.get("loss").unwrap_or(&Value::Null))?;
        let metrics_value = config.get("metrics").cloned().unwrap_or(Value::Null);
        // [[m1, m2]] (one list per output) or [m1, m2].
        let list = match metrics_value.as_array().map(Vec::as_slice) {
            None => Vec::new(),
            Some([Value::Array(inner)]) => inner.clone(),
            Some(items) => items.to_vec(),
        };
        let metrics = list
            .iter()
            .map(metric_from_json)
            .collect::<Result<Vec<_>>>()?;
        let optimizer = config.get("optimizer_config").unwrap_or(&Value::Null);
        let class_name = optimizer.get("class_name").and_then(Value::as_str);
        let optimizer_config = optimizer.get("config").and_then(Value::as_object);
        let (Some(class_name), Some(optimizer_config)) = (class_name, optimizer_config) else {
            return Err(bad(
                "optimizer_config",
                "{\"class_name\": …, \"config\": {…}}",
                optimizer,
            ));
        };
        let optimizer = astrograd_optim::from_config(class_name, optimizer_config)?;
        self.compiled = Some(crate::training::compile::Compiled {
            loss,
            optimizer,
            metrics,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dense, Input, Sequential};
    use astrograd_optim::RMSprop;

    #[test]
    fn compile_settings_round_trip() {
        let mut model = Sequential::new(vec![
            Box::new(Input::new(&[3])),
            Box::new(Dense::new(2).activation("softmax")),
        ])
        .unwrap();
        for (loss, metrics) in [
            (
                Loss::SparseCategoricalCrossentropy { from_logits: false },
                vec!["accuracy"],
            ),
            (
                Loss::CategoricalCrossentropy { from_logits: true },
                vec!["acc", "mae"],
            ),
            (Loss::Huber { delta: 2.5 }, vec![]),
            (Loss::MeanSquaredError, vec!["mse"]),
        ] {
            model
                .compile(loss, RMSprop::new(0.01).centered(true), &metrics)
                .unwrap();
            let config = model.training_config().unwrap().unwrap();
            let text = serde_json::to_string(&config).unwrap();
            let mut again =
                Sequential::new(vec![Box::new(Input::new(&[3])), Box::new(Dense::new(2))]).unwrap();
            again
                .compile_from_training_config(&serde_json::from_str(&text).unwrap())
                .unwrap();
            assert_eq!(again.loss(), Some(loss));
            assert_eq!(again.metrics_names(), model.metrics_names());
            assert_eq!(again.training_config().unwrap().unwrap(), config);
        }
    }

    /// Written by tf.keras 2.10.1 after compile(metrics=['Precision', 'AUC',
    /// 'top_k_categorical_accuracy', Recall(), AUC(curve='PR', name='pr_auc'),
    /// TopKCategoricalAccuracy(k=2, name='top2'), Precision(class_id=1, name='p1')]) and one fit.
    #[test]
    fn keras_metric_classes_round_trip() {
        let metrics = r#"[[{"class_name": "Precision", "config": {"name": "precision", "dtype": "float32", "thresholds": null, "top_k": null, "class_id": null}}, {"class_name": "AUC", "config": {"name": "auc", "dtype": "float32", "num_thresholds": 200, "curve": "ROC", "summation_method": "interpolation", "multi_label": false, "num_labels": null, "label_weights": null, "from_logits": false}}, {"class_name": "MeanMetricWrapper", "config": {"name": "top_k_categorical_accuracy", "dtype": "float32", "fn": "top_k_categorical_accuracy"}}, {"class_name": "Recall", "config": {"name": "recall", "dtype": "float32", "thresholds": null, "top_k": null, "class_id": null}}, {"class_name": "AUC", "config": {"name": "pr_auc", "dtype": "float32", "num_thresholds": 200, "curve": "PR", "summation_method": "interpolation", "multi_label": false, "num_labels": null, "label_weights": null, "from_logits": false}}, {"class_name": "TopKCategoricalAccuracy", "config": {"name": "top2", "dtype": "float32", "k": 2}}, {"class_name": "Precision", "config": {"name": "p1", "dtype": "float32", "thresholds": null, "top_k": null, "class_id": 1}}]]"#;
        let text = format!(
            r#"{{"loss": "categorical_crossentropy", "metrics": {metrics}, "weighted_metrics": null, "loss_weights": null, "optimizer_config": {{"class_name": "SGD", "config": {{"name": "SGD", "learning_rate": 0.01, "decay": 0.0, "momentum": 0.0, "nesterov": false}}}}}}"#
        );
        let config: Config = serde_json::from_str(&text).unwrap();
        let mut model =
            Sequential::new(vec![Box::new(Input::new(&[3])), Box::new(Dense::new(3))]).unwrap();
        model.compile_from_training_config(&config).unwrap();
        assert_eq!(
            model.metrics_names(),
            vec![
                "loss",
                "precision",
                "auc",
                "top_k_categorical_accuracy",
                "recall",
                "pr_auc",
                "top2",
                "p1"
            ]
        );
        assert_eq!(model.training_config().unwrap().unwrap(), config);
        // F1Score (Keras 3) and a thresholded Precision round-trip through our own files.
        model
            .compile(
                "categorical_crossentropy",
                "sgd",
                vec![
                    F1Score::new().average(Average::Macro).into(),
                    Precision::new().threshold(0.25).top_k(2).into(),
                    AUC::new()
                        .multi_label(true)
                        .summation_method(Summation::Minoring)
                        .into(),
                ],
            )
            .unwrap();
        let written = model.training_config().unwrap().unwrap();
        let mut again =
            Sequential::new(vec![Box::new(Input::new(&[3])), Box::new(Dense::new(3))]).unwrap();
        again.compile_from_training_config(&written).unwrap();
        assert_eq!(again.training_config().unwrap().unwrap(), written);
        assert_eq!(
            again.metrics_names(),
            vec!["loss", "f1_score", "precision", "auc"]
        );
    }

    #[test]
    fn tf_keras_2_10_training_configs_are_read() {
        // Written by tf.keras 2.10.1 after compile(loss=CategoricalCrossentropy(from_logits=True),
        // optimizer="sgd", metrics=["acc", "mae"]) and one fit.
        let text = r#"{"loss": {"class_name": "CategoricalCrossentropy", "config": {"reduction": "auto", "name": "categorical_crossentropy", "from_logits": true, "label_smoothing": 0.0, "axis": -1}}, "metrics": [[{"class_name": "MeanMetricWrapper", "config": {"name": "acc", "dtype": "float32", "fn": "categorical_accuracy"}}, {"class_name": "MeanMetricWrapper", "config": {"name": "mae", "dtype": "float32", "fn": "mean_absolute_error"}}]], "weighted_metrics": null, "loss_weights": null, "optimizer_config": {"class_name": "SGD", "config": {"name": "SGD", "learning_rate": 0.01, "decay": 0.0, "momentum": 0.0, "nesterov": false}}}"#;
        let mut model =
            Sequential::new(vec![Box::new(Input::new(&[3])), Box::new(Dense::new(2))]).unwrap();
        model
            .compile_from_training_config(&serde_json::from_str(text).unwrap())
            .unwrap();
        assert_eq!(
            model.loss(),
            Some(Loss::CategoricalCrossentropy { from_logits: true })
        );
        assert_eq!(model.metrics_names(), vec!["loss", "acc", "mae"]);
        assert_eq!(model.optimizer().unwrap().name(), "SGD");
        let written = model.training_config().unwrap().unwrap();
        assert_eq!(written, serde_json::from_str::<Config>(text).unwrap());
        let smoothing = r#"{"loss": {"class_name": "CategoricalCrossentropy", "config": {"label_smoothing": 0.1}}, "optimizer_config": {"class_name": "SGD", "config": {}}}"#;
        let err = model
            .compile_from_training_config(&serde_json::from_str(smoothing).unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("label_smoothing"), "{err}");
    }
}
