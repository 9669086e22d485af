//! `Logs` (the numbers of one batch or epoch, in Keras's order) and the `History` that `fit`
//! returns.
use std::ops::Index;

/// Named numbers in insertion order, as Keras's `logs` dict: `loss`, `accuracy`, `val_loss`,
/// `val_accuracy`, then what callbacks add (`lr`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Logs {
    entries: Vec<(String, f32)>,
}

impl Logs {
    /// No entries.
    pub fn new() -> Logs {
        Logs::default()
    }

    /// Logs holding these pairs in order (a test's scripted epoch: `[("val_loss", 0.4)]`).
    pub fn from_pairs(pairs: &[(&str, f32)]) -> Logs {
        let mut logs = Logs::new();
        for &(key, value) in pairs {
            logs.set(key, value);
        }
        logs
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<f32> {
        self.entries.iter().find(|(k, _)| k == key).map(|&(_, v)| v)
    }

    /// Sets `key`, keeping its place if it is there already, else appending it.
    pub fn set(&mut self, key: &str, value: f32) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.to_string(), value)),
        }
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f32)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// The keys, in order.
    pub fn keys(&self) -> Vec<&str> {
        self.entries.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The values, in order (what `evaluate` returns: `[loss, metrics…]`).
    pub fn values(&self) -> Vec<f32> {
        self.entries.iter().map(|&(_, v)| v).collect()
    }
}

/// Keras's `history.history`: one series per key, in the order keys first appeared.
/// `history.history["loss"]` works as in Python.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    series: Vec<(String, Vec<f32>)>,
}

impl Series {
    /// The values of `key`, one per epoch.
    pub fn get(&self, key: &str) -> Option<&[f32]> {
        self.series
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// The keys, in Keras's order.
    pub fn keys(&self) -> Vec<&str> {
        self.series.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// The key–series pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[f32])> {
        self.series.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Appends one epoch's logs (`History.on_epoch_end`).
    pub fn push(&mut self, logs: &Logs) {
        for (key, value) in logs.iter() {
            match self.series.iter_mut().find(|(k, _)| k == key) {
                Some((_, values)) => values.push(value),
                None => self.series.push((key.to_string(), vec![value])),
            }
        }
    }
}

impl Index<&str> for Series {
    type Output = [f32];

    /// # Panics
    /// When there is no such key, as a Python `KeyError`; use [`Series::get`] to ask.
    fn index(&self, key: &str) -> &[f32] {
        match self.get(key) {
            Some(values) => values,
            None => panic!("no history key {key:?}; the keys are {:?}", self.keys()),
        }
    }
}

/// Keras's `history.params`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistoryParams {
    /// 0, 1 or 2 (`'auto'` is 1).
    pub verbose: u8,
    /// The `epochs` argument of `fit`.
    pub epochs: usize,
    /// Batches per epoch.
    pub steps: usize,
}

/// What `fit` returns (Keras's `History` callback).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// `loss`, `accuracy`, `val_loss`, `val_accuracy`, `lr`: one value per epoch run.
    pub history: Series,
    /// The epochs run, counted from 0 (from `initial_epoch` when resuming).
    pub epoch: Vec<usize>,
    /// `{verbose, epochs, steps}`.
    pub params: HistoryParams,
}

/// Python's `repr(float)`: the shortest digits that read back to the same double, with an
/// exponent (`1e-05`, `2.5e+16`) outside `1e-4 ≤ |x| < 1e16`. Keras prints learning rates and
/// CSVLogger writes values this way.
pub fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let magnitude = x.abs();
    if (1e-4..1e16).contains(&magnitude) {
        let s = format!("{x}");
        return if s.contains('.') { s } else { format!("{s}.0") };
    }
    // Rust's `{:e}` gives the same shortest digits as `1e-5`; Python pads the exponent to two
    // digits and always signs it.
    let s = format!("{x:e}");
    let (mantissa, exponent) = s.split_once('e').expect("`{:e}` always writes an exponent");
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(digits) => ('-', digits),
        None => ('+', exponent),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_keep_keras_order_and_history_follows_it() {
        let mut logs = Logs::from_pairs(&[("loss", 0.5), ("accuracy", 0.8)]);
        logs.set("val_loss", 0.6);
        logs.set("loss", 0.4);
        assert_eq!(logs.keys(), vec!["loss", "accuracy", "val_loss"]);
        assert_eq!(logs.values(), vec![0.4, 0.8, 0.6]);
        let mut history = Series::default();
        history.push(&logs);
        logs.set("lr", 0.001);
        history.push(&logs);
        assert_eq!(history.keys(), vec!["loss", "accuracy", "val_loss", "lr"]);
        assert_eq!(&history["loss"], &[0.4, 0.4]);
        assert_eq!(history.get("lr"), Some(&[0.001][..]));
        assert_eq!(history.get("acc"), None);
    }

    #[test]
    fn floats_print_as_python_repr() {
        struct Case {
            x: f64,
            python: &'static str,
        }
        let cases = [
            Case {
                x: 0.1,
                python: "0.1",
            },
            Case {
                x: 1.0,
                python: "1.0",
            },
            Case {
                x: f64::from(0.001f32) * 0.1,
                python: "0.00010000000474974513",
            },
            Case {
                x: f64::from(1e-5f32),
                python: "9.999999747378752e-06",
            },
            Case {
                x: 1e-5,
                python: "1e-05",
            },
            Case {
                x: 1.5e-7,
                python: "1.5e-07",
            },
            Case {
                x: 2.5e16,
                python: "2.5e+16",
            },
            Case {
                x: -3.0,
                python: "-3.0",
            },
            Case {
                x: f64::NAN,
                python: "nan",
            },
            Case {
                x: f64::from(0.258_012_3_f32),
                python: "0.2580122947692871",
            },
        ];
        for case in cases {
            assert_eq!(python_float(case.x), case.python, "{}", case.x);
        }
    }
}
