//! Saving an optimizer: its config (Keras's `optimizer.get_config()`) and, per parameter, its
//! slots (Adam's `m` and `v`, RMSprop's `rms`, SGD's `momentum`), so that a training run can be
//! stopped, written to a file and continued exactly where it was.
//!
//! The config is the dictionary tf.keras 2.10 writes in a model file's `training_config`:
//!
//! ```text
//! {"name": "Adam", "learning_rate": 0.001, "decay": 0.0, "beta_1": 0.9, "beta_2": 0.999,
//!  "epsilon": 1e-07, "amsgrad": false}
//! ```
//!
//! with `clipnorm`, `global_clipnorm` and `clipvalue` added when they are set. The slots keep
//! Keras's names (`m`, `v`, `vhat`; `rms`, `momentum`, `mg`; `momentum`; `accumulator`), which
//! are the names of the datasets in a model file's `optimizer_weights`.
//!
//! ```
//! use astrograd_optim::{from_config, Adam, Optimizer};
//! let adam = Adam::new(0.01).beta_1(0.8);
//! let config = adam.get_config()?;
//! assert_eq!(config["beta_1"], 0.8);
//! let again = from_config("Adam", &config)?;
//! assert_eq!(again.get_config()?, config);
//! assert_eq!(again.slot_names(), vec!["m", "v"]);
//! # Ok::<(), astrograd_optim::AutogradError>(())
//! ```
use std::collections::HashMap;

use astrograd_autograd::{AutogradError, Result, Tensor, Var};
use serde_json::{Map, Value};

use crate::base::{LearningRate, OptimizerBase};
use crate::{Adagrad, Adam, AdamW, Optimizer, RMSprop, SGD};

/// A config dictionary: option name → JSON value.
pub type Config = Map<String, Value>;

/// `keras.optimizers.deserialize({"class_name": …, "config": …})`: the optimizer a config
/// describes, with no slots yet and `iterations = 0`.
///
/// Options Keras writes and astrograd does not have (`jit_compile`, `is_legacy_optimizer`,
/// `use_ema` left off, …) are accepted when they hold their default; any other value is an
/// error, so that a file never trains differently from what it says.
///
/// # Errors
/// An unknown class name (the message lists the known ones), a missing or mistyped option, or
/// an option astrograd does not support.
pub fn from_config(class_name: &str, config: &Config) -> Result<Box<dyn Optimizer>> {
    let read = ConfigReader { class_name, config };
    read.check_unsupported()?;
    let lr = read.f32_or("learning_rate", 0.001)?;
    let optimizer: Box<dyn Optimizer> = match class_name {
        "Adam" => Box::new(
            read.with_shared_options(
                Adam::new(lr)
                    .beta_1(read.f32_or("beta_1", 0.9)?)
                    .beta_2(read.f32_or("beta_2", 0.999)?)
                    .epsilon(read.f32_or("epsilon", 1e-7)?)
                    .amsgrad(read.bool_or("amsgrad", false)?),
            )?,
        ),
        "AdamW" => Box::new(
            read.with_shared_options(
                AdamW::new(lr)
                    .weight_decay(read.f32_or("weight_decay", 0.004)?)
                    .beta_1(read.f32_or("beta_1", 0.9)?)
                    .beta_2(read.f32_or("beta_2", 0.999)?)
                    .epsilon(read.f32_or("epsilon", 1e-7)?)
                    .amsgrad(read.bool_or("amsgrad", false)?),
            )?,
        ),
        "SGD" => Box::new(
            read.with_shared_options(
                SGD::new(lr)
                    .momentum(read.f32_or("momentum", 0.0)?)
                    .nesterov(read.bool_or("nesterov", false)?),
            )?,
        ),
        "RMSprop" => Box::new(
            read.with_shared_options(
                RMSprop::new(lr)
                    .rho(read.f32_or("rho", 0.9)?)
                    .momentum(read.f32_or("momentum", 0.0)?)
                    .epsilon(read.f32_or("epsilon", 1e-7)?)
                    .centered(read.bool_or("centered", false)?),
            )?,
        ),
        "Adagrad" => Box::new(
            read.with_shared_options(
                Adagrad::new(lr)
                    .initial_accumulator_value(read.f32_or("initial_accumulator_value", 0.1)?)
                    .epsilon(read.f32_or("epsilon", 1e-7)?),
            )?,
        ),
        _ => {
            return Err(AutogradError::Invalid {
                op: "optimizer",
                expected: "one of the optimizer classes Adam, AdamW, SGD, RMSprop, Adagrad".into(),
                found: format!("{class_name:?}"),
            })
        }
    };
    optimizer.validate()?;
    Ok(optimizer)
}

/// Reads typed options out of a config, with errors that name the class and the option.
struct ConfigReader<'a> {
    class_name: &'a str,
    config: &'a Config,
}

impl ConfigReader<'_> {
    fn error(&self, expected: String, found: &Value) -> AutogradError {
        AutogradError::Invalid {
            op: "optimizer config",
            expected: format!("{} {expected}", self.class_name),
            found: found.to_string(),
        }
    }

    fn f32_or(&self, key: &str, default: f32) -> Result<f32> {
        match self.config.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Number(n)) => n
                .as_f64()
                .map(|x| x as f32)
                .ok_or_else(|| self.error(format!("{key} as a number"), &Value::Number(n.clone()))),
            Some(other) => Err(self.error(format!("{key} as a number"), other)),
        }
    }

    fn optional_f32(&self, key: &str) -> Result<Option<f32>> {
        match self.config.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.f32_or(key, 0.0).map(Some),
        }
    }

    fn bool_or(&self, key: &str, default: bool) -> Result<bool> {
        match self.config.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.error(format!("{key} as true or false"), other)),
        }
    }

    /// `optimizer` with the options every optimizer shares read from the config: `decay` and
    /// the three clipping thresholds.
    fn with_shared_options<O: Optimizer>(&self, mut optimizer: O) -> Result<O> {
        let base = optimizer.base_mut();
        base.decay = self.f32_or("decay", 0.0)?;
        base.clipping.clipnorm = self.optional_f32("clipnorm")?;
        base.clipping.global_clipnorm = self.optional_f32("global_clipnorm")?;
        base.clipping.clipvalue = self.optional_f32("clipvalue")?;
        Ok(optimizer)
    }

    /// Keras's options that astrograd does not have must hold their "off" value.
    fn check_unsupported(&self) -> Result<()> {
        if let Some(lr) = self.config.get("learning_rate") {
            if lr.is_object() {
                return Err(self.error(
                    "learning_rate as a number (learning-rate schedules are not read from files)"
                        .into(),
                    lr,
                ));
            }
        }
        for key in [
            "use_ema",
            "ema_momentum",
            "ema_overwrite_frequency",
            "loss_scale_factor",
        ] {
            let off = match self.config.get(key) {
                None | Some(Value::Null) | Some(Value::Bool(false)) => true,
                // Keras writes the EMA's settings even when it is off.
                Some(_) => key != "use_ema" && !self.bool_or("use_ema", false)?,
            };
            if !off {
                return Err(self.error(
                    format!("{key} off (astrograd does not support it)"),
                    &self.config[key],
                ));
            }
        }
        if let Some(accumulation) = self.config.get("gradient_accumulation_steps") {
            if !accumulation.is_null() {
                return Err(self.error(
                    "gradient_accumulation_steps null (astrograd does not support it)".into(),
                    accumulation,
                ));
            }
        }
        Ok(())
    }
}

/// A finite `f32` as the JSON number with the shortest decimal form that reads back as the same
/// `f32` (`0.001`, not `0.0010000000474974513`), as Python prints Keras's float options.
pub fn json_f32(x: f32) -> Value {
    x.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

impl OptimizerBase {
    /// The config keys every optimizer writes first: `name`, `learning_rate`, `decay`, and the
    /// clipping thresholds that are set.
    ///
    /// # Errors
    /// A learning-rate schedule: its parameters cannot be written yet.
    pub(crate) fn config(&self) -> Result<Config> {
        let LearningRate::Constant(lr) = self.learning_rate else {
            return Err(AutogradError::Invalid {
                op: "optimizer config",
                expected: format!(
                    "{} with a constant learning rate (learning-rate schedules are not saved in \
                     model files; save the weights, or set the rate with set_learning_rate first)",
                    self.name
                ),
                found: format!("a schedule: {:?}", self.learning_rate),
            });
        };
        let mut config = Config::new();
        config.insert("name".into(), self.name.into());
        config.insert("learning_rate".into(), json_f32(lr));
        config.insert("decay".into(), json_f32(self.decay));
        for (key, value) in [
            ("clipnorm", self.clipping.clipnorm),
            ("global_clipnorm", self.clipping.global_clipnorm),
            ("clipvalue", self.clipping.clipvalue),
        ] {
            if let Some(v) = value {
                config.insert(key.into(), json_f32(v));
            }
        }
        Ok(config)
    }
}

/// Adds option values to a config, in order.
pub(crate) fn with_options(mut config: Config, options: &[(&str, Value)]) -> Config {
    for (key, value) in options {
        config.insert((*key).into(), value.clone());
    }
    config
}

/// The error for a slot name an optimizer does not have.
pub(crate) fn unknown_slot(optimizer: &str, slot: &str, known: &[&str]) -> AutogradError {
    AutogradError::Invalid {
        op: "optimizer slot",
        expected: format!("one of the slots of {optimizer}: {}", known.join(", ")),
        found: format!("{slot:?}"),
    }
}

/// Checks that a slot value has its parameter's shape, and moves it to the parameter's device.
pub(crate) fn slot_value(
    optimizer: &str,
    param: &Var,
    slot: &str,
    value: Tensor,
) -> Result<Tensor> {
    let shape = param.shape();
    if value.shape() != shape.as_slice() {
        return Err(AutogradError::Invalid {
            op: "optimizer slot",
            expected: format!("{optimizer} slot {slot:?} of the parameter's shape {shape:?}"),
            found: format!("shape {:?}", value.shape()),
        });
    }
    Ok(value.to(param.value().device())?)
}

/// The slots of `param` in a map keyed by parameter id, or a fresh entry made by `new`.
pub(crate) fn slots_for<'a, S>(
    slots: &'a mut HashMap<u64, S>,
    param: &Var,
    new: impl FnOnce() -> Result<S>,
) -> Result<&'a mut S> {
    Ok(match slots.entry(param.id()) {
        std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
        std::collections::hash_map::Entry::Vacant(entry) => entry.insert(new()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(values: &[f32], shape: &[usize]) -> Var {
        Var::parameter(Tensor::from_vec(values.to_vec(), shape).unwrap())
    }

    /// Gives `w` the gradient `g` (as backward of Σ w·g would).
    fn set_grad(w: &Var, g: Tensor) {
        w.zero_grad();
        w.mul(&Var::constant(g))
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
    }

    #[test]
    fn every_optimizer_round_trips_through_its_config() {
        let optimizers: Vec<Box<dyn Optimizer>> = vec![
            Box::new(Adam::new(0.01).beta_2(0.99).amsgrad(true).clipnorm(1.5)),
            Box::new(AdamW::new(0.002).weight_decay(0.01)),
            Box::new(SGD::new(0.1).momentum(0.9).nesterov(true).decay(0.01)),
            Box::new(
                RMSprop::new(0.001)
                    .rho(0.8)
                    .centered(true)
                    .momentum(0.5)
                    .clipvalue(2.0),
            ),
            Box::new(
                Adagrad::new(0.05)
                    .initial_accumulator_value(0.2)
                    .global_clipnorm(3.0),
            ),
        ];
        for optimizer in optimizers {
            let config = optimizer.get_config().unwrap();
            let again = from_config(optimizer.name(), &config).unwrap();
            assert_eq!(again.get_config().unwrap(), config, "{}", optimizer.name());
            assert_eq!(again.slot_names(), optimizer.slot_names());
        }
    }

    #[test]
    fn keras_floats_are_written_in_their_shortest_form() {
        let config = Adam::default().get_config().unwrap();
        assert_eq!(
            serde_json::to_string(&config).unwrap(),
            r#"{"name":"Adam","learning_rate":0.001,"decay":0.0,"beta_1":0.9,"beta_2":0.999,"epsilon":1e-7,"amsgrad":false}"#
        );
    }

    #[test]
    fn unknown_classes_schedules_and_unsupported_options_are_refused() {
        let err = from_config("Nadam", &Config::new())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("\"Nadam\"") && err.contains("RMSprop"),
            "{err}"
        );
        let config: Config =
            serde_json::from_str(r#"{"learning_rate": {"class_name": "ExponentialDecay"}}"#)
                .unwrap();
        let err = from_config("SGD", &config).err().unwrap().to_string();
        assert!(err.contains("schedules"), "{err}");
        let config: Config = serde_json::from_str(r#"{"use_ema": true}"#).unwrap();
        assert!(from_config("Adam", &config).is_err());
        let config: Config =
            serde_json::from_str(r#"{"use_ema": false, "ema_momentum": 0.99}"#).unwrap();
        assert!(from_config("Adam", &config).is_ok());
        let config: Config = serde_json::from_str(r#"{"momentum": "high"}"#).unwrap();
        let err = from_config("SGD", &config).err().unwrap().to_string();
        assert!(
            err.contains("momentum") && err.contains("\"high\""),
            "{err}"
        );
        let config: Config = serde_json::from_str(r#"{"learning_rate": -1.0}"#).unwrap();
        assert!(from_config("Adam", &config).is_err());
        let schedule = Adam::new(crate::ExponentialDecay::new(0.1, 10, 0.5).unwrap());
        assert!(schedule.get_config().is_err());
    }

    #[test]
    fn slots_can_be_read_set_and_continue_the_same_run() {
        // Two Adam runs: one uninterrupted, one whose state is copied into a fresh optimizer
        // after two steps; the third step must give the same weights, bit for bit.
        let run = |copy_after: Option<usize>| {
            let w = param(&[1.0, -2.0, 0.5], &[3]);
            let mut adam: Box<dyn Optimizer> = Box::new(Adam::new(0.1));
            for step in 0..3 {
                if copy_after == Some(step) {
                    let mut fresh = from_config("Adam", &adam.get_config().unwrap()).unwrap();
                    for slot in adam.slot_names() {
                        let value = adam.slot(&w, slot).unwrap();
                        fresh.set_slot(&w, slot, value).unwrap();
                    }
                    fresh.set_iterations(adam.iterations());
                    adam = fresh;
                }
                let g = Tensor::from_vec(vec![0.3 * (step as f32 + 1.0), -0.1, 2.0], &[3]).unwrap();
                set_grad(&w, g);
                adam.apply_gradients(std::slice::from_ref(&w)).unwrap();
            }
            w.value().to_vec().unwrap()
        };
        assert_eq!(run(None), run(Some(2)));
        let w = param(&[1.0], &[1]);
        let mut sgd = SGD::new(0.1).momentum(0.9);
        assert!(sgd.slot(&w, "momentum").is_none());
        let err = sgd
            .set_slot(&w, "momentum", Tensor::zeros(&[2]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("[1]") && err.contains("[2]"), "{err}");
        assert!(sgd.set_slot(&w, "velocity", Tensor::zeros(&[1])).is_err());
    }
}
