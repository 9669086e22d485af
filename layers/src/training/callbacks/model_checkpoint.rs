//! `ModelCheckpoint`: save the weights at the end of each epoch, or only when the monitored
//! number improves.
//!
//! The file name is a Python format string filled with the epoch (counted from 1) and the
//! epoch's logs, as Keras's `filepath.format(epoch=epoch + 1, **logs)`:
//! `"weights.{epoch:02d}-{val_loss:.2f}.safetensors"` → `weights.03-0.41.safetensors`. The
//! specs understood are those checkpoint names use: `d` with a width and zero padding
//! (`{epoch:02d}`), `f` and `e` with a precision (`{val_loss:.4f}`), and none (`{epoch}`,
//! `{loss}`, written as Python writes a float).
//!
//! By default the weights are saved ([`Model::save_weights`](crate::Model::save_weights):
//! `.safetensors`, `.weights.h5` or `.h5`), Keras's `save_weights_only=True`. With
//! `save_weights_only(false)` the whole model is saved (`.keras` or `.h5`, see
//! [`crate::saving`]): architecture, weights, compile settings, optimizer state and the random
//! generators' states, so that [`crate::saving::resume_from`] continues the run exactly.
//! Every file is written atomically. With `save_best_only`, a file is
//! written when the monitored value improves on the best so far (`<` in mode min, `>` in max;
//! auto maximises when the name contains `acc`), with Keras's messages when `verbose`:
//!
//! ```text
//! Epoch 3: val_loss improved from 0.41234 to 0.40000, saving model to w.03.safetensors
//! Epoch 4: val_loss did not improve from 0.40000
//! ```
use super::{Callback, Mode, TrainingContext};
use crate::training::history::{python_float, Logs};
use crate::training::progress::format_exp4;
use crate::{LayerError, Result};

/// Saves the model's weights during training.
#[derive(Clone, Debug)]
pub struct ModelCheckpoint {
    filepath: String,
    monitor: String,
    verbose: u8,
    save_best_only: bool,
    save_weights_only: bool,
    mode: Mode,
    initial_value_threshold: Option<f64>,
    /// Set when training first begins, then kept across fits (as Keras sets it once).
    best: Option<f64>,
}

impl ModelCheckpoint {
    /// Keras's `ModelCheckpoint(filepath, monitor='val_loss', verbose=0,
    /// save_best_only=False, save_weights_only=True, mode='auto')`.
    pub fn new(filepath: &str) -> ModelCheckpoint {
        ModelCheckpoint {
            filepath: filepath.to_string(),
            monitor: "val_loss".into(),
            verbose: 0,
            save_best_only: false,
            save_weights_only: true,
            mode: Mode::Auto,
            initial_value_threshold: None,
            best: None,
        }
    }

    /// The logs key that decides "best".
    pub fn monitor(mut self, monitor: &str) -> ModelCheckpoint {
        self.monitor = monitor.to_string();
        self
    }

    /// 1 prints a message at each epoch.
    pub fn verbose(mut self, verbose: u8) -> ModelCheckpoint {
        self.verbose = verbose;
        self
    }

    /// Save only when the monitored value improves.
    pub fn save_best_only(mut self, best_only: bool) -> ModelCheckpoint {
        self.save_best_only = best_only;
        self
    }

    /// `false`: save the whole model (`.keras` or `.h5` file names), not only the weights.
    pub fn save_weights_only(mut self, weights_only: bool) -> ModelCheckpoint {
        self.save_weights_only = weights_only;
        self
    }

    /// Writes this epoch's file (`epoch` counted from 0).
    fn save(&self, path: &str, epoch: usize, ctx: &TrainingContext) -> Result<()> {
        if self.save_weights_only {
            ctx.model().save_weights(path)
        } else {
            ctx.save_model(std::path::Path::new(path), Some(epoch + 1))
        }
    }

    /// Whether lower or higher is better.
    pub fn mode(mut self, mode: Mode) -> ModelCheckpoint {
        self.mode = mode;
        self
    }

    /// The value to beat before the first save (instead of ±∞).
    pub fn initial_value_threshold(mut self, threshold: f64) -> ModelCheckpoint {
        self.initial_value_threshold = Some(threshold);
        self
    }

    /// The best monitored value so far (±∞, or the threshold, before any).
    pub fn best(&self) -> f64 {
        self.best.unwrap_or_else(|| self.starting_best())
    }

    fn starting_best(&self) -> f64 {
        match self.initial_value_threshold {
            Some(threshold) => threshold,
            None if self.maximize() => f64::NEG_INFINITY,
            None => f64::INFINITY,
        }
    }

    fn maximize(&self) -> bool {
        match self.mode {
            Mode::Min => false,
            Mode::Max => true,
            Mode::Auto => self.monitor.contains("acc") || self.monitor.starts_with("fmeasure"),
        }
    }

    /// The file name of this epoch (`epoch` counted from 0).
    ///
    /// # Errors
    /// [`LayerError::Invalid`] with Keras's "Failed to format this callback filepath" when a
    /// name in braces is not in the logs or a spec is not understood.
    pub fn file_path(&self, epoch: usize, logs: &Logs) -> Result<String> {
        format_filepath(&self.filepath, epoch + 1, logs).map_err(|reason| {
            LayerError::invalid(
                "ModelCheckpoint",
                "a filepath whose {names} are `epoch` or keys of the logs",
                format!(
                    "Failed to format this callback filepath: \"{}\". Reason: {reason}",
                    self.filepath
                ),
            )
        })
    }
}

impl Callback for ModelCheckpoint {
    fn wants_batch_logs(&self) -> bool {
        false // it works on the epoch's logs
    }

    fn on_train_begin(&mut self, _ctx: &mut TrainingContext) -> Result<()> {
        if !self.save_weights_only
            && crate::saving::ModelFormat::of(std::path::Path::new(&self.filepath)).is_none()
        {
            return Err(LayerError::invalid(
                "ModelCheckpoint",
                "a file name ending in .keras, .h5 or .hdf5 to save the whole model \
                 (save_weights_only=false)",
                format!("\"{}\"", self.filepath),
            ));
        }
        if self.best.is_none() {
            self.best = Some(self.starting_best());
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        ctx: &mut TrainingContext,
    ) -> Result<()> {
        let path = self.file_path(epoch, logs)?;
        if !self.save_best_only {
            if self.verbose > 0 {
                ctx.print(&format!("\nEpoch {}: saving model to {path}", epoch + 1));
            }
            return self.save(&path, epoch, ctx);
        }
        let Some(current) = logs.get(&self.monitor) else {
            ctx.print(&format!(
                "WARNING: Can save best model only with {} available, skipping.",
                self.monitor
            ));
            return Ok(());
        };
        let current = f64::from(current);
        let best = self.best();
        let improved = if self.maximize() {
            current > best
        } else {
            current < best
        };
        if improved {
            if self.verbose > 0 {
                ctx.print(&format!(
                    "\nEpoch {}: {} improved from {:.5} to {current:.5}, saving model to {path}",
                    epoch + 1,
                    self.monitor,
                    best
                ));
            }
            self.best = Some(current);
            self.save(&path, epoch, ctx)?;
        } else if self.verbose > 0 {
            ctx.print(&format!(
                "\nEpoch {}: {} did not improve from {:.5}",
                epoch + 1,
                self.monitor,
                best
            ));
        }
        Ok(())
    }
}

/// Python's `template.format(epoch=epoch, **logs)` for the specs of checkpoint names; the
/// error is the reason, as Python would give it (`KeyError: 'val_los'` → `'val_los'`).
pub fn format_filepath(
    template: &str,
    epoch: usize,
    logs: &Logs,
) -> std::result::Result<String, String> {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => field.push(c),
                        None => return Err("Single '{' encountered in format string".into()),
                    }
                }
                let (name, spec) = field.split_once(':').unwrap_or((&field, ""));
                let value = if name == "epoch" {
                    Value::Int(epoch as i64)
                } else {
                    match logs.get(name) {
                        Some(v) => Value::Float(f64::from(v)),
                        None => return Err(format!("'{name}'")),
                    }
                };
                out.push_str(&format_spec(value, spec)?);
            }
            '}' => return Err("Single '}' encountered in format string".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[derive(Clone, Copy)]
enum Value {
    Int(i64),
    Float(f64),
}

/// One `{name:spec}` field: `[0][width][.precision][d|f|e]`.
fn format_spec(value: Value, spec: &str) -> std::result::Result<String, String> {
    let (kind, body) = match spec.chars().last() {
        Some(k @ ('d' | 'f' | 'e')) => (Some(k), &spec[..spec.len() - 1]),
        _ => (None, spec),
    };
    let zero = body.starts_with('0');
    let (width, precision) = match body.split_once('.') {
        Some((w, p)) => (w, Some(p)),
        None => (body, None),
    };
    let width: usize = if width.is_empty() {
        0
    } else {
        width
            .parse()
            .map_err(|_| format!("Invalid format specifier '{spec}'"))?
    };
    let precision: Option<usize> = match precision {
        Some(p) => Some(
            p.parse()
                .map_err(|_| format!("Invalid format specifier '{spec}'"))?,
        ),
        None => None,
    };
    let text = match (kind, value) {
        (None, Value::Int(i)) if precision.is_none() => i.to_string(),
        (None, Value::Float(x)) if precision.is_none() => python_float(x),
        (Some('d'), Value::Int(i)) => i.to_string(),
        (Some('d'), Value::Float(_)) => {
            return Err("Unknown format code 'd' for object of type 'float'".into())
        }
        (Some('e'), v) => {
            let x = as_f64(v);
            let p = precision.unwrap_or(6);
            if p == 4 {
                format_exp4(x)
            } else {
                let s = format!("{x:.p$e}");
                let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                let (sign, digits) = match e.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', e),
                };
                format!("{m}e{sign}{digits:0>2}")
            }
        }
        (_, v) => {
            let p = precision.unwrap_or(6);
            format!("{:.p$}", as_f64(v))
        }
    };
    Ok(if zero {
        pad_zeros(&text, width)
    } else {
        format!("{text:>width$}")
    })
}

fn as_f64(value: Value) -> f64 {
    match value {
        Value::Int(i) => i as f64,
        Value::Float(x) => x,
    }
}

/// Zero padding after the sign, as Python's `{:05.1f}` (`-0001.5`).
fn pad_zeros(text: &str, width: usize) -> String {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", text),
    };
    let fill = width.saturating_sub(sign.len() + digits.len());
    format!("{sign}{}{digits}", "0".repeat(fill))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::callbacks::testing::{model_and_optimizer, params, set_w};

    #[test]
    fn file_names_are_formatted_as_python_does() {
        let logs = Logs::from_pairs(&[
            ("loss", 0.25),
            ("val_loss", 0.412_34),
            ("val_accuracy", 0.9),
        ]);
        struct Case {
            template: &'static str,
            expected: &'static str,
        }
        let cases = [
            Case {
                template: "w.{epoch:02d}-{val_loss:.2f}.safetensors",
                expected: "w.03-0.41.safetensors",
            },
            Case {
                template: "w{epoch}.safetensors",
                expected: "w3.safetensors",
            },
            Case {
                template: "{loss}_{val_accuracy:.4f}",
                expected: "0.25_0.9000",
            },
            Case {
                template: "{epoch:03d}{{x}}",
                expected: "003{x}",
            },
            Case {
                template: "{val_loss:.1e}|{loss:07.3f}|{epoch:4d}",
                expected: "4.1e-01|000.250|   3",
            },
        ];
        for case in cases {
            assert_eq!(
                format_filepath(case.template, 3, &logs).unwrap(),
                case.expected
            );
        }
        let err = ModelCheckpoint::new("w.{val_los:.2f}.safetensors")
            .file_path(2, &logs)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Failed to format this callback filepath: \"w.{val_los:.2f}.safetensors\". Reason: 'val_los'"),
            "{err}"
        );
        assert!(format_filepath("{loss:02d}", 1, &logs).is_err());
        assert!(format_filepath("{epoch", 1, &logs).is_err());
    }

    /// Keras's messages for `ModelCheckpoint(path, save_best_only=True, verbose=1)`; files are
    /// written only on improvement.
    #[test]
    fn saves_the_best_epochs_only_with_keras_messages() {
        let dir = std::env::temp_dir().join(format!("astrograd_ckpt_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let template = format!("{}/w.{{epoch:02d}}.safetensors", dir.display());
        let (mut model, mut opt) = model_and_optimizer();
        let mut out = Vec::new();
        let mut ctx = TrainingContext::new(&mut model, &mut opt, &mut out, params(3));
        let mut checkpoint = ModelCheckpoint::new(&template)
            .save_best_only(true)
            .verbose(1);
        checkpoint.on_train_begin(&mut ctx).unwrap();
        for (epoch, val_loss) in [0.41234, 0.4, 0.5].into_iter().enumerate() {
            set_w(ctx.model(), epoch as f32);
            let mut logs = Logs::from_pairs(&[("loss", 1.0), ("val_loss", val_loss)]);
            checkpoint.on_epoch_end(epoch, &mut logs, &mut ctx).unwrap();
        }
        let path = |e: usize| format!("{}/w.{e:02}.safetensors", dir.display());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "\nEpoch 1: val_loss improved from inf to 0.41234, saving model to {}\n\
                 \nEpoch 2: val_loss improved from 0.41234 to 0.40000, saving model to {}\n\
                 \nEpoch 3: val_loss did not improve from 0.40000\n",
                path(1),
                path(2)
            )
        );
        assert!(std::path::Path::new(&path(1)).exists() && std::path::Path::new(&path(2)).exists());
        assert!(!std::path::Path::new(&path(3)).exists());
        // The saved file holds epoch 2's weights (w = 1).
        set_w(&model, 7.0);
        model.load_weights(path(2)).unwrap();
        assert_eq!(crate::training::callbacks::testing::w(&model), 1.0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
