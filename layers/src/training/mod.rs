//! Training: `compile`, `fit`, `evaluate`, `predict`, the progress bar, the history and the
//! callbacks, with Keras's (TF 2.10) semantics and output (`docs/keras-semantics.md` §3, §5,
//! §6).
//!
//! ```text
//! model.compile(loss="sparse_categorical_crossentropy",   model.compile("sparse_categorical_crossentropy",
//!               optimizer="sgd", metrics=["accuracy"])                  "sgd", &["accuracy"])?;
//! history = model.fit(X_train, y_train, epochs=30,        let history = model.fit(&x_train, &y_train,
//!                     validation_data=(X_valid, y_valid))     FitOptions::default().epochs(30)
//!                                                                 .validation_data(&x_valid, &y_valid))?;
//! history.history["val_accuracy"]                         &history.history["val_accuracy"]
//! model.evaluate(X_test, y_test)                          model.evaluate(&x_test, &y_test, 32)?
//! model.predict(X_new)                                    model.predict(&x_new, 32)?
//! ```
//!
//! | file | what it holds |
//! |---|---|
//! | `compile.rs` | [`Model::compile`](crate::Model::compile), [`OptimizerSpec`] |
//! | `losses.rs` | [`Loss`]: by name or value, from the logits of a final softmax/sigmoid |
//! | `metrics/` | [`Metric`]: `'accuracy'` resolved as Keras does; running means; [`Precision`], [`Recall`], [`AUC`], [`F1Score`], top-k; scikit-learn's `classification_report` and curves |
//! | `class_weight.rs` | [`ClassWeight`] for `fit(class_weight=…)`, scikit-learn's [`compute_class_weight`] |
//! | `data.rs` | [`BatchSource`], [`ArraySource`], [`validation_split`] |
//! | `augmented.rs` | [`Augmented`]: any batch source, each image randomly transformed |
//! | `data_sources.rs` | `BatchSource` for `ImageDataGenerator`'s `flow` / `flow_from_directory` iterators |
//! | `fit.rs` | [`FitOptions`] and the training loop |
//! | `data_parallel.rs` | the same loop on N processes (MPI): shares of each batch, gradients averaged |
//! | `evaluate.rs` | [`EvalOptions`], `evaluate`, `predict` |
//! | `progress.rs` | the progress bar, character for character |
//! | `history.rs` | [`Logs`], [`History`] |
//! | `callbacks/` | [`Callback`], [`TrainingContext`], EarlyStopping, ModelCheckpoint, … |
pub mod augmented;
pub mod callbacks;
pub mod class_weight;
pub mod compile;
pub mod data;
mod data_parallel;
pub mod data_sources;
pub mod evaluate;
pub mod fit;
pub mod history;
pub mod losses;
pub mod metrics;
pub mod progress;

pub use augmented::Augmented;
pub use callbacks::{
    BackupAndRestore, Callback, CsvLogger, EarlyStopping, LearningRateScheduler, Mode,
    ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN, TrainingContext,
};
pub use class_weight::{compute_class_weight, ClassWeight};
pub use compile::OptimizerSpec;
pub use data::{validation_split, ArraySource, BatchSource};
pub use evaluate::EvalOptions;
pub use fit::{FitOptions, ValidationData};
pub use history::{python_float, History, HistoryParams, Logs, Series};
pub use losses::{Loss, LossSpec};
pub use metrics::report::{classification_report, precision_recall_fscore_support, ReportOptions};
pub use metrics::{
    Average, Curve, F1Score, Metric, MetricFn, MetricKind, MetricList, MetricSpec, Precision,
    Recall, Summation, AUC,
};
pub use progress::{format_value, Captured, Console, Verbose};
