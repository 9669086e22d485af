//! `CSVLogger`: one row per epoch in a CSV file, as Keras writes it.
//!
//! The header is `epoch` and the logs' keys **sorted** (`epoch,accuracy,loss,val_accuracy,
//! val_loss`); epochs are counted from 0; rows end in `\r\n` (Python's `csv` "excel" dialect).
//! Values are written as Python prints them: the metrics as Python floats
//! (`0.2580122947692871`, the float32 widened), `lr` as a NumPy float32 (`0.001`). With
//! `append`, rows go after those already in the file, and the header is written only if the
//! file is empty. Each row is flushed as it is written, so the file can be watched during a
//! long run. When training was stopped early, keys missing from the last logs read `NA`.
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

use super::{Callback, TrainingContext};
use crate::training::history::{python_float, Logs};
use crate::{LayerError, Result};

/// Streams each epoch's logs into a CSV file.
#[derive(Debug)]
pub struct CsvLogger {
    filename: PathBuf,
    separator: char,
    append: bool,
    // State of one training run.
    file: Option<File>,
    keys: Option<Vec<String>>,
    write_header: bool,
}

impl CsvLogger {
    /// Keras's `CSVLogger(filename, separator=',', append=False)`.
    pub fn new(filename: impl Into<PathBuf>) -> CsvLogger {
        CsvLogger {
            filename: filename.into(),
            separator: ',',
            append: false,
            file: None,
            keys: None,
            write_header: true,
        }
    }

    /// The column separator.
    pub fn separator(mut self, separator: char) -> CsvLogger {
        self.separator = separator;
        self
    }

    /// Add to an existing file instead of replacing it.
    pub fn append(mut self, append: bool) -> CsvLogger {
        self.append = append;
        self
    }

    fn io_error(&self, error: std::io::Error) -> LayerError {
        LayerError::invalid(
            "CSVLogger",
            format!("a writable file {}", self.filename.display()),
            error.to_string(),
        )
    }

    fn write_row(&mut self, fields: &[String]) -> Result<()> {
        let line = format!("{}\r\n", fields.join(&self.separator.to_string()));
        let result = match self.file.as_mut() {
            Some(file) => file.write_all(line.as_bytes()).and_then(|()| file.flush()),
            None => Ok(()),
        };
        result.map_err(|e| self.io_error(e))
    }
}

/// A logs value as Keras's CSVLogger writes it (see the module doc).
fn csv_value(key: &str, value: f32) -> String {
    if key == "lr" {
        // NumPy's float32 `str`: the shortest digits of the float32 itself.
        let s = python_float(f64::from(value));
        let shortest = format!("{value}");
        if s.contains('e') || value.is_nan() || value.is_infinite() {
            float32_exponent_form(value, &s)
        } else if shortest.contains('.') {
            shortest
        } else {
            format!("{shortest}.0")
        }
    } else {
        python_float(f64::from(value))
    }
}

/// NumPy's float32 repr in exponent form (`1e-05`), from Rust's shortest float32 digits.
fn float32_exponent_form(value: f32, fallback: &str) -> String {
    if !value.is_finite() {
        return fallback.to_string();
    }
    let s = format!("{value:e}");
    match s.split_once('e') {
        Some((mantissa, exponent)) => {
            let (sign, digits) = match exponent.strip_prefix('-') {
                Some(digits) => ('-', digits),
                None => ('+', exponent),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => fallback.to_string(),
    }
}

impl Callback for CsvLogger {
    fn wants_batch_logs(&self) -> bool {
        false // it works on the epoch's logs
    }

    fn on_train_begin(&mut self, _ctx: &mut TrainingContext) -> Result<()> {
        self.keys = None;
        self.write_header = true;
        if !astrograd_distributed::is_main_process() {
            // Data-parallel: rank 0 writes the file; the other ranks' logs are the same.
            self.file = None;
            return Ok(());
        }
        let file = if self.append {
            if let Ok(existing) = File::open(&self.filename) {
                let mut first = String::new();
                BufReader::new(existing)
                    .read_line(&mut first)
                    .map_err(|e| self.io_error(e))?;
                self.write_header = first.is_empty();
            }
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.filename)
        } else {
            File::create(&self.filename)
        };
        self.file = Some(file.map_err(|e| self.io_error(e))?);
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        _ctx: &mut TrainingContext,
    ) -> Result<()> {
        let keys = match &self.keys {
            Some(keys) => keys.clone(),
            None => {
                let mut keys: Vec<String> = logs.keys().iter().map(|k| k.to_string()).collect();
                keys.sort();
                self.keys = Some(keys.clone());
                keys
            }
        };
        if self.write_header {
            let mut header = vec!["epoch".to_string()];
            header.extend(keys.iter().cloned());
            self.write_row(&header)?;
            self.write_header = false;
        }
        let mut row = vec![epoch.to_string()];
        for key in &keys {
            row.push(match logs.get(key) {
                Some(value) => csv_value(key, value),
                // Keras writes NA for a key missing when training was stopped early (and
                // fails otherwise); NA in both cases here.
                None => "NA".to_string(),
            });
        }
        self.write_row(&row)
    }

    fn on_train_end(&mut self, _logs: &Logs, _ctx: &mut TrainingContext) -> Result<()> {
        self.file = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::callbacks::testing::{model_and_optimizer, params};

    fn run(logger: &mut CsvLogger, epochs: &[Logs]) {
        let (mut model, mut opt) = model_and_optimizer();
        let mut out = Vec::new();
        let mut ctx = TrainingContext::new(&mut model, &mut opt, &mut out, params(epochs.len()));
        logger.on_train_begin(&mut ctx).unwrap();
        for (epoch, logs) in epochs.iter().enumerate() {
            logger
                .on_epoch_end(epoch, &mut logs.clone(), &mut ctx)
                .unwrap();
        }
        logger.on_train_end(&Logs::new(), &mut ctx).unwrap();
    }

    #[test]
    fn writes_sorted_keys_and_appends_without_a_second_header() {
        let dir = std::env::temp_dir().join(format!("astrograd_csv_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.csv");
        let epoch = Logs::from_pairs(&[
            ("loss", 0.258_012_3),
            ("accuracy", 0.5),
            ("val_loss", 1e-5),
            ("lr", 0.001),
        ]);
        run(&mut CsvLogger::new(&path), &[epoch.clone(), epoch.clone()]);
        let expected_row =
            |e: usize| format!("{e},0.5,0.2580122947692871,0.001,9.999999747378752e-06\r\n");
        let header = "epoch,accuracy,loss,lr,val_loss\r\n";
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{header}{}{}", expected_row(0), expected_row(1))
        );
        run(
            &mut CsvLogger::new(&path).append(true),
            std::slice::from_ref(&epoch),
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!(
                "{header}{}{}{}",
                expected_row(0),
                expected_row(1),
                expected_row(0)
            )
        );
        // Not appending replaces the file; a separator and a missing key.
        run(
            &mut CsvLogger::new(&path).separator(';'),
            &[
                Logs::from_pairs(&[("loss", 1.0), ("lr", 1e-5)]),
                Logs::from_pairs(&[("lr", 1e-5)]),
            ],
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "epoch;loss;lr\r\n0;1.0;1e-05\r\n1;NA;1e-05\r\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        let (mut model, mut opt) = model_and_optimizer();
        let mut out = Vec::new();
        let mut ctx = TrainingContext::new(&mut model, &mut opt, &mut out, params(1));
        let err = CsvLogger::new(dir.join("missing/dir/log.csv"))
            .on_train_begin(&mut ctx)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("CSVLogger: expected a writable file"),
            "{err}"
        );
    }
}
