//! `model.compile(loss, optimizer, metrics)`: choose what `fit` minimises, how, and what it
//! reports.
//!
//! ```
//! use astrograd_layers::{Dense, Input, Sequential};
//! use astrograd_optim::SGD;
//! let mut model = Sequential::new(vec![
//!     Box::new(Input::new(&[4])),
//!     Box::new(Dense::new(3).activation("softmax")),
//! ])?;
//! // model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
//! model.compile("sparse_categorical_crossentropy", "sgd", &["accuracy"])?;
//! assert_eq!(model.metrics_names(), vec!["loss", "accuracy"]);
//! // An optimizer value instead of a name; compiling again starts a fresh optimizer.
//! model.compile("sparse_categorical_crossentropy", SGD::new(0.1).momentum(0.9), &[])?;
//! assert_eq!(model.optimizer().unwrap().learning_rate(), 0.1);
//! # Ok::<(), astrograd_layers::LayerError>(())
//! ```
use astrograd_optim::{Adagrad, Adam, AdamW, Optimizer, RMSprop, SGD};

use super::losses::{Loss, LossSpec};
use super::metrics::{Metric, MetricList};
use crate::model::Model;
use crate::{LayerError, Result};

/// What `compile(optimizer=…)` accepts: a name (`"adam"`, `"sgd"`, `"rmsprop"`, `"adagrad"`,
/// `"adamw"`, with Keras's defaults, `docs/keras-semantics.md` §0) or an optimizer.
pub enum OptimizerSpec {
    /// `optimizer='adam'`.
    Name(String),
    /// `optimizer=Adam(learning_rate=1e-4)`.
    Optimizer(Box<dyn Optimizer>),
}

impl OptimizerSpec {
    /// The optimizer it names or holds.
    ///
    /// # Errors
    /// An unknown name (the message lists the known ones).
    pub fn resolve(self) -> Result<Box<dyn Optimizer>> {
        match self {
            OptimizerSpec::Name(name) => Ok(astrograd_optim::from_name(&name)?),
            OptimizerSpec::Optimizer(optimizer) => Ok(optimizer),
        }
    }
}

impl From<&str> for OptimizerSpec {
    fn from(name: &str) -> OptimizerSpec {
        OptimizerSpec::Name(name.to_string())
    }
}

impl From<String> for OptimizerSpec {
    fn from(name: String) -> OptimizerSpec {
        OptimizerSpec::Name(name)
    }
}

impl From<Box<dyn Optimizer>> for OptimizerSpec {
    fn from(optimizer: Box<dyn Optimizer>) -> OptimizerSpec {
        OptimizerSpec::Optimizer(optimizer)
    }
}

impl From<SGD> for OptimizerSpec {
    fn from(optimizer: SGD) -> OptimizerSpec {
        OptimizerSpec::Optimizer(Box::new(optimizer))
    }
}

impl From<RMSprop> for OptimizerSpec {
    fn from(optimizer: RMSprop) -> OptimizerSpec {
        OptimizerSpec::Optimizer(Box::new(optimizer))
    }
}

impl From<Adam> for OptimizerSpec {
    fn from(optimizer: Adam) -> OptimizerSpec {
        OptimizerSpec::Optimizer(Box::new(optimizer))
    }
}

impl From<AdamW> for OptimizerSpec {
    fn from(optimizer: AdamW) -> OptimizerSpec {
        OptimizerSpec::Optimizer(Box::new(optimizer))
    }
}

impl From<Adagrad> for OptimizerSpec {
    fn from(optimizer: Adagrad) -> OptimizerSpec {
        OptimizerSpec::Optimizer(Box::new(optimizer))
    }
}

/// What `compile` chose, kept in the model for `fit` and `evaluate`.
pub struct Compiled {
    /// The loss, reduced by the mean over the batch.
    pub(crate) loss: Loss,
    /// Updates the trainable weights.
    pub(crate) optimizer: Box<dyn Optimizer>,
    /// Reported beside the loss, in the order given.
    pub(crate) metrics: Vec<Metric>,
}

/// Keras's message for `fit` or `evaluate` before `compile`.
pub(crate) fn not_compiled(what: &str) -> LayerError {
    LayerError::invalid(
        what,
        "a compiled model",
        "You must compile your model before training/testing. Use \
         `model.compile(optimizer, loss)`.",
    )
}

/// Each metric's arguments, and names that are all different (they are the history's keys).
pub(crate) fn check_metrics(metrics: &[Metric]) -> Result<()> {
    for (i, metric) in metrics.iter().enumerate() {
        metric.validate()?;
        if metrics[..i].iter().any(|m| m.name == metric.name) {
            return Err(LayerError::invalid(
                "compile",
                "metrics with different names",
                format!(
                    "Found two metrics with the same name: {}. All the metrics added to the \
                     model need to have unique names.",
                    metric.name
                ),
            ));
        }
    }
    Ok(())
}

impl Model {
    /// Keras's `model.compile(loss=…, optimizer=…, metrics=[…])` (the arguments in the order
    /// the course writes them). Compiling again replaces the loss, the metrics and the
    /// optimizer, whose slots start afresh (the transfer-learning recipe re-compiles after
    /// unfreezing).
    ///
    /// The metrics are names (`&["accuracy"]`) or, to configure them, a list of names and
    /// metric values, as Keras's `metrics=["accuracy", AUC(curve="PR")]`:
    ///
    /// ```
    /// use astrograd_layers::training::metrics::{Curve, Precision, AUC};
    /// use astrograd_layers::{Dense, Input, Sequential};
    /// let mut model = Sequential::new(vec![
    ///     Box::new(Input::new(&[4])),
    ///     Box::new(Dense::new(3).activation("softmax")),
    /// ])?;
    /// model.compile(
    ///     "categorical_crossentropy",
    ///     "adam",
    ///     vec!["accuracy".into(), AUC::new().curve(Curve::PR).name("pr_auc").into(),
    ///          Precision::new().class_id(2).name("precision_2").into()],
    /// )?;
    /// assert_eq!(model.metrics_names(), vec!["loss", "accuracy", "pr_auc", "precision_2"]);
    /// # Ok::<(), astrograd_layers::LayerError>(())
    /// ```
    ///
    /// # Errors
    /// An unknown loss, optimizer or metric name; the optimizer's or a metric's invalid
    /// arguments; two metrics with the same name (Keras's "Found two metrics with the same
    /// name").
    pub fn compile(
        &mut self,
        loss: impl Into<LossSpec>,
        optimizer: impl Into<OptimizerSpec>,
        metrics: impl MetricList,
    ) -> Result<()> {
        let loss = loss.into().resolve()?;
        let optimizer = optimizer.into().resolve()?;
        optimizer.validate()?;
        let metrics = metrics.into_metrics()?;
        check_metrics(&metrics)?;
        self.compiled = Some(Compiled {
            loss,
            optimizer,
            metrics,
        });
        Ok(())
    }

    /// Whether `compile` has been called.
    pub fn is_compiled(&self) -> bool {
        self.compiled.is_some()
    }

    /// The compiled loss.
    pub fn loss(&self) -> Option<Loss> {
        self.compiled.as_ref().map(|c| c.loss)
    }

    /// The compiled optimizer (`model.optimizer`).
    pub fn optimizer(&self) -> Option<&dyn Optimizer> {
        self.compiled.as_ref().map(|c| c.optimizer.as_ref())
    }

    /// The compiled optimizer, to change its learning rate between fits.
    pub fn optimizer_mut(&mut self) -> Option<&mut (dyn Optimizer + 'static)> {
        self.compiled.as_mut().map(|c| c.optimizer.as_mut())
    }

    /// `model.metrics_names`: `loss`, then the metrics as written in `compile`; what
    /// [`Model::evaluate`] returns, in order.
    pub fn metrics_names(&self) -> Vec<String> {
        let mut names = vec!["loss".to_string()];
        if let Some(compiled) = &self.compiled {
            names.extend(compiled.metrics.iter().map(|m| m.name.clone()));
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dense, Input, Sequential};

    fn model() -> Model {
        Sequential::new(vec![
            Box::new(Input::new(&[2])),
            Box::new(Dense::new(2).activation("softmax")),
        ])
        .unwrap()
    }

    #[test]
    fn compile_resolves_names_and_values() {
        let mut m = model();
        assert!(!m.is_compiled() && m.optimizer().is_none());
        m.compile("mse", "rmsprop", &["mae", "acc"]).unwrap();
        assert_eq!(m.loss(), Some(Loss::MeanSquaredError));
        assert_eq!(m.optimizer().unwrap().name(), "RMSprop");
        assert_eq!(m.metrics_names(), vec!["loss", "mae", "acc"]);
        let loss = Loss::CategoricalCrossentropy { from_logits: true };
        m.compile(loss, Adam::new(1e-4), &[]).unwrap();
        assert_eq!(m.loss(), Some(loss));
        assert_eq!(m.optimizer().unwrap().learning_rate(), 1e-4);
        let boxed: Box<dyn Optimizer> = Box::new(SGD::default());
        m.compile("huber", boxed, &[]).unwrap();
        m.optimizer_mut().unwrap().set_learning_rate(0.5);
        assert_eq!(m.optimizer().unwrap().learning_rate(), 0.5);
    }

    #[test]
    fn bad_names_and_hyperparameters_fail_at_compile() {
        let mut m = model();
        let err = m.compile("mse", "adamax", &[]).unwrap_err().to_string();
        assert!(err.contains("\"adamax\""), "{err}");
        let err = m.compile("msle", "adam", &[]).unwrap_err().to_string();
        assert!(err.contains("Unknown loss function: 'msle'"), "{err}");
        let err = m.compile("mse", "adam", &["f1"]).unwrap_err().to_string();
        assert!(err.contains("Unknown metric: 'f1'"), "{err}");
        assert!(m.compile("mse", SGD::new(-1.0), &[]).is_err());
        assert!(!m.is_compiled());
    }
}
