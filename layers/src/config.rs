//! Layer configs: Keras's `layer.get_config()` and `Layer.from_config(config)`, the JSON a
//! model file keeps to rebuild each layer.
//!
//! Each layer writes its options under Keras's names, in tf.keras 2.10's form (the course's
//! version), for example a `Dense(300, activation="relu")`:
//!
//! ```text
//! {"name": "dense", "trainable": true, "dtype": "float32", "units": 300,
//!  "activation": "relu", "use_bias": true,
//!  "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}},
//!  "bias_initializer": {"class_name": "Zeros", "config": {}},
//!  "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null,
//!  "kernel_constraint": null, "bias_constraint": null}
//! ```
//!
//! and reads them back with a [`ConfigReader`], which names the layer class and the option in
//! every error. Options astrograd does not have (regularizers, constraints, `channels_first`)
//! are written as Keras's "off" value and, when a file holds anything else, refused: a model
//! read from a file never computes something other than what the file says.
//! `saving::keras3` turns these configs into Keras 3's form and back.
use serde_json::{json, Map, Value};

use crate::activations::ActivationFn;
use crate::initializers::Initializer;
use crate::layer::LayerBase;
use crate::shape::Shape;
use crate::{LayerError, Padding, Result};

/// A config dictionary: option name → JSON value, in the order Keras writes them.
pub type Config = Map<String, Value>;

/// The options every layer writes first: `name`, `trainable`, `dtype`, and, for the first
/// layer of a `Sequential` given `input_shape=`, `batch_input_shape`.
pub fn base_config(base: &LayerBase) -> Config {
    let mut config = Config::new();
    config.insert("name".into(), base.name().into());
    config.insert("trainable".into(), base.trainable.into());
    if let Some(shape) = &base.batch_input_shape {
        config.insert("batch_input_shape".into(), shape_json(shape));
    }
    config.insert("dtype".into(), "float32".into());
    config
}

/// A shape as Keras writes it: `[null, 28, 28]`.
pub fn shape_json(shape: &Shape) -> Value {
    Value::Array(
        shape
            .iter()
            .map(|d| d.map_or(Value::Null, Value::from))
            .collect(),
    )
}

/// A finite `f32` as its shortest decimal (`0.2`, not `0.20000000298023224`).
pub fn json_f32(x: f32) -> Value {
    astrograd_optim::json_f32(x)
}

/// `{"class_name": "GlorotUniform", "config": {"seed": null}}`, as Keras serializes an
/// initializer.
pub fn initializer_json(initializer: &Initializer) -> Value {
    let (class_name, config) = match *initializer {
        Initializer::GlorotUniform => ("GlorotUniform", json!({"seed": null})),
        Initializer::GlorotNormal => ("GlorotNormal", json!({"seed": null})),
        Initializer::HeNormal => ("HeNormal", json!({"seed": null})),
        Initializer::HeUniform => ("HeUniform", json!({"seed": null})),
        Initializer::LecunNormal => ("LecunNormal", json!({"seed": null})),
        Initializer::LecunUniform => ("LecunUniform", json!({"seed": null})),
        Initializer::RandomNormal { mean, stddev } => (
            "RandomNormal",
            json!({"mean": json_f32(mean), "stddev": json_f32(stddev), "seed": null}),
        ),
        Initializer::RandomUniform { minval, maxval } => (
            "RandomUniform",
            json!({"minval": json_f32(minval), "maxval": json_f32(maxval), "seed": null}),
        ),
        Initializer::TruncatedNormal { mean, stddev } => (
            "TruncatedNormal",
            json!({"mean": json_f32(mean), "stddev": json_f32(stddev), "seed": null}),
        ),
        Initializer::Zeros => ("Zeros", json!({})),
        Initializer::Ones => ("Ones", json!({})),
        Initializer::Constant(value) => ("Constant", json!({"value": json_f32(value)})),
    };
    json!({"class_name": class_name, "config": config})
}

/// An activation option as Keras writes it (`"relu"`); a name that was never valid is an error.
pub fn activation_json(
    activation: &std::result::Result<ActivationFn, LayerError>,
    layer: &str,
) -> Result<Value> {
    match activation {
        Ok(activation) => Ok(activation.name().into()),
        Err(e) => Err(LayerError::invalid(
            format!("config of layer \"{layer}\""),
            "a known activation",
            e.to_string(),
        )),
    }
}

/// `[a, b]`, as Keras writes `kernel_size`, `strides`, `pool_size`.
pub fn pair_json(pair: [usize; 2]) -> Value {
    json!([pair[0], pair[1]])
}

/// `"valid"` or `"same"`.
pub fn padding_json(padding: Padding) -> Value {
    match padding {
        Padding::Valid => "valid".into(),
        Padding::Same => "same".into(),
    }
}

/// The options of Keras's kernel layers (Dense, Conv2D) that astrograd does not have; always
/// written as `null`, and refused when a file holds anything else.
pub const KERNEL_LAYER_UNSUPPORTED: [&str; 5] = [
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
];

/// Adds `key: null` for each option astrograd does not have (regularizers, constraints).
pub fn insert_nulls(config: &mut Config, keys: &[&str]) {
    for key in keys {
        config.insert((*key).into(), Value::Null);
    }
}

/// Reads typed options out of a layer's config; each error names the class and the option.
pub struct ConfigReader<'a> {
    class_name: &'a str,
    config: &'a Config,
}

impl<'a> ConfigReader<'a> {
    /// A reader for the config of a layer of class `class_name`.
    pub fn new(class_name: &'a str, config: &'a Config) -> ConfigReader<'a> {
        ConfigReader { class_name, config }
    }

    /// The class whose config this is.
    pub fn class_name(&self) -> &'a str {
        self.class_name
    }

    /// The raw value of `key`, if present and not null.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.config.get(key).filter(|v| !v.is_null())
    }

    /// The error for option `key`: expected this, found that.
    pub fn error(&self, key: &str, expected: &str, found: &Value) -> LayerError {
        let name = self
            .config
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("?");
        LayerError::invalid(
            format!("config of {} \"{name}\"", self.class_name),
            format!("{key} as {expected}"),
            found.to_string(),
        )
    }

    fn missing(&self, key: &str, expected: &str) -> LayerError {
        self.error(
            key,
            expected,
            &Value::String("nothing (the option is missing)".into()),
        )
    }

    /// A whole number ≥ 0.
    pub fn usize(&self, key: &str) -> Result<usize> {
        let value = self
            .get(key)
            .ok_or_else(|| self.missing(key, "a whole number"))?;
        value
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| self.error(key, "a whole number", value))
    }

    /// A number, or `default` when absent.
    pub fn f32_or(&self, key: &str, default: f32) -> Result<f32> {
        match self.get(key) {
            None => Ok(default),
            Some(value) => value
                .as_f64()
                .map(|x| x as f32)
                .ok_or_else(|| self.error(key, "a number", value)),
        }
    }

    /// `true` or `false`, or `default` when absent.
    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(value) => value
                .as_bool()
                .ok_or_else(|| self.error(key, "true or false", value)),
        }
    }

    /// A string, or `default` when absent.
    pub fn str_or(&self, key: &str, default: &'a str) -> Result<&'a str> {
        match self.get(key) {
            None => Ok(default),
            Some(value) => value
                .as_str()
                .ok_or_else(|| self.error(key, "a string", value)),
        }
    }

    /// `[a, b]`, or one number `n` meaning `[n, n]`, as Keras accepts `kernel_size=3`.
    pub fn pair(&self, key: &str) -> Result<[usize; 2]> {
        let value = self
            .get(key)
            .ok_or_else(|| self.missing(key, "[height, width]"))?;
        let as_usize = |v: &Value| v.as_u64().and_then(|n| usize::try_from(n).ok());
        match value {
            Value::Array(items) if items.len() == 2 => {
                match (as_usize(&items[0]), as_usize(&items[1])) {
                    (Some(a), Some(b)) => Ok([a, b]),
                    _ => Err(self.error(key, "[height, width] of whole numbers", value)),
                }
            }
            _ => as_usize(value)
                .map(|n| [n, n])
                .ok_or_else(|| self.error(key, "[height, width] of whole numbers", value)),
        }
    }

    /// `"valid"` or `"same"` (Keras's default `"valid"` when absent).
    pub fn padding(&self, key: &str) -> Result<Padding> {
        match self.str_or(key, "valid")? {
            "valid" => Ok(Padding::Valid),
            "same" => Ok(Padding::Same),
            other => Err(self.error(key, "\"valid\" or \"same\"", &Value::from(other))),
        }
    }

    /// An activation by name (`"relu"`); absent or null is `linear`.
    pub fn activation(&self, key: &str) -> Result<ActivationFn> {
        match self.get(key) {
            None => Ok(ActivationFn::Linear),
            Some(Value::String(name)) => ActivationFn::from_name(name),
            Some(other) => Err(self.error(key, "an activation name such as \"relu\"", other)),
        }
    }

    /// An initializer, written as `{"class_name": …, "config": …}` (Keras 2) or by name.
    /// A seeded initializer is refused: astrograd seeds the whole run instead.
    pub fn initializer(&self, key: &str, default: Initializer) -> Result<Initializer> {
        let Some(value) = self.get(key) else {
            return Ok(default);
        };
        if let Some(name) = value.as_str() {
            return Initializer::from_name(name);
        }
        let class_name = value.get("class_name").and_then(Value::as_str);
        let empty = Config::new();
        let config = value
            .get("config")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let Some(class_name) = class_name else {
            return Err(self.error(
                key,
                "an initializer {\"class_name\": …, \"config\": …}",
                value,
            ));
        };
        let inner = ConfigReader::new(class_name, config);
        if inner.get("seed").is_some() {
            return Err(self.error(
                key,
                "an initializer without a seed (astrograd seeds the run)",
                value,
            ));
        }
        let f = |k: &str, d: f32| inner.f32_or(k, d);
        Ok(match class_name {
            "GlorotUniform" => Initializer::GlorotUniform,
            "GlorotNormal" => Initializer::GlorotNormal,
            "HeNormal" => Initializer::HeNormal,
            "HeUniform" => Initializer::HeUniform,
            "LecunNormal" => Initializer::LecunNormal,
            "LecunUniform" => Initializer::LecunUniform,
            "RandomNormal" => Initializer::RandomNormal {
                mean: f("mean", 0.0)?,
                stddev: f("stddev", 0.05)?,
            },
            "RandomUniform" => Initializer::RandomUniform {
                minval: f("minval", -0.05)?,
                maxval: f("maxval", 0.05)?,
            },
            "TruncatedNormal" => Initializer::TruncatedNormal {
                mean: f("mean", 0.0)?,
                stddev: f("stddev", 0.05)?,
            },
            "Zeros" => Initializer::Zeros,
            "Ones" => Initializer::Ones,
            "Constant" => Initializer::Constant(f("value", 0.0)?),
            _ => {
                return Err(self.error(
                    key,
                    "one of the initializers GlorotUniform, GlorotNormal, HeNormal, HeUniform, \
                     LecunNormal, LecunUniform, RandomNormal, RandomUniform, TruncatedNormal, \
                     Zeros, Ones, Constant",
                    value,
                ))
            }
        })
    }

    /// Each of `keys` must be absent or null: options astrograd does not have (regularizers,
    /// constraints).
    pub fn require_null(&self, keys: &[&str]) -> Result<()> {
        for key in keys {
            if let Some(value) = self.get(key) {
                return Err(self.error(
                    key,
                    "null (astrograd does not support this option)",
                    value,
                ));
            }
        }
        Ok(())
    }

    /// `key` must be absent or equal to `allowed` (`data_format` `"channels_last"`, `groups` 1).
    pub fn require(&self, key: &str, allowed: Value) -> Result<()> {
        match self.get(key) {
            Some(value) if *value != allowed => Err(self.error(
                key,
                &format!("{allowed} (the only value astrograd supports)"),
                value,
            )),
            _ => Ok(()),
        }
    }

    /// Applies the options of [`base_config`] to a new layer: its name, `trainable`, and
    /// `batch_input_shape`; `dtype` must be float32.
    pub fn apply_base(&self, base: &mut LayerBase) -> Result<()> {
        if let Some(name) = self.get("name") {
            let name = name
                .as_str()
                .ok_or_else(|| self.error("name", "a string", name))?;
            base.set_name(name);
        }
        base.trainable = self.bool_or("trainable", true)?;
        self.check_dtype()?;
        if let Some(shape) = self
            .get("batch_input_shape")
            .or_else(|| self.get("batch_shape"))
        {
            base.batch_input_shape = Some(self.shape_of("batch_input_shape", shape)?);
        }
        Ok(())
    }

    /// `dtype` must be float32 (written as a string, or as Keras 3's `DTypePolicy`).
    pub fn check_dtype(&self) -> Result<()> {
        let Some(dtype) = self.get("dtype") else {
            return Ok(());
        };
        let name = dtype
            .as_str()
            .or_else(|| dtype.pointer("/config/name").and_then(Value::as_str));
        match name {
            Some("float32") => Ok(()),
            _ => Err(self.error(
                "dtype",
                "\"float32\" (astrograd computes in float32)",
                dtype,
            )),
        }
    }

    /// A shape written as `[null, 28, 28]`.
    pub fn shape_of(&self, key: &str, value: &Value) -> Result<Shape> {
        let items = value
            .as_array()
            .ok_or_else(|| self.error(key, "a shape [null, …]", value))?;
        items
            .iter()
            .map(|d| match d {
                Value::Null => Ok(None),
                _ => d
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .map(Some)
                    .ok_or_else(|| self.error(key, "a shape of whole numbers or null", value)),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader_test(json: &str, test: impl FnOnce(ConfigReader<'_>)) {
        let config: Config = serde_json::from_str(json).unwrap();
        test(ConfigReader::new("Conv2D", &config));
    }

    #[test]
    fn readers_accept_keras_forms_and_name_the_option_in_errors() {
        reader_test(
            r#"{"name": "c", "kernel_size": [3, 5], "strides": 2, "padding": "same", "units": 7}"#,
            |r| {
                assert_eq!(r.pair("kernel_size").unwrap(), [3, 5]);
                assert_eq!(r.pair("strides").unwrap(), [2, 2]);
                assert_eq!(r.padding("padding").unwrap(), Padding::Same);
                assert_eq!(r.usize("units").unwrap(), 7);
                let err = r.usize("filters").unwrap_err().to_string();
                assert!(
                    err.contains("Conv2D \"c\"") && err.contains("filters"),
                    "{err}"
                );
            },
        );
        reader_test(
            r#"{"padding": "causal", "units": -3, "kernel_regularizer": {"class_name": "L2"}}"#,
            |r| {
                assert!(r
                    .padding("padding")
                    .unwrap_err()
                    .to_string()
                    .contains("\"causal\""));
                assert!(r.usize("units").is_err());
                let err = r
                    .require_null(&["kernel_regularizer"])
                    .unwrap_err()
                    .to_string();
                assert!(
                    err.contains("kernel_regularizer") && err.contains("L2"),
                    "{err}"
                );
            },
        );
    }

    #[test]
    fn initializers_round_trip_and_seeds_are_refused() {
        for init in [
            Initializer::GlorotUniform,
            Initializer::HeNormal,
            Initializer::RandomNormal {
                mean: 0.5,
                stddev: 0.1,
            },
            Initializer::TruncatedNormal {
                mean: 0.0,
                stddev: 0.02,
            },
            Initializer::Constant(0.25),
            Initializer::Ones,
        ] {
            let mut config = Config::new();
            config.insert("k".into(), initializer_json(&init));
            let read = ConfigReader::new("Dense", &config).initializer("k", Initializer::Zeros);
            assert_eq!(read.unwrap(), init);
        }
        reader_test(
            r#"{"k": {"class_name": "HeNormal", "config": {"seed": 3}}, "o": {"class_name": "Orthogonal", "config": {}}}"#,
            |r| {
                assert!(r
                    .initializer("k", Initializer::Zeros)
                    .unwrap_err()
                    .to_string()
                    .contains("seed"));
                assert!(r
                    .initializer("o", Initializer::Zeros)
                    .unwrap_err()
                    .to_string()
                    .contains("Orthogonal"));
            },
        );
    }

    #[test]
    fn dtype_must_be_float32_in_either_form() {
        reader_test(r#"{"dtype": "float32"}"#, |r| {
            assert!(r.check_dtype().is_ok())
        });
        reader_test(
            r#"{"dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}}}"#,
            |r| assert!(r.check_dtype().is_ok()),
        );
        reader_test(r#"{"dtype": "mixed_float16"}"#, |r| {
            assert!(r.check_dtype().is_err())
        });
    }
}
