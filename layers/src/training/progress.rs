//! The progress bar of `fit`, `evaluate` and `predict`, character for character as TF 2.10's
//! `keras.utils.Progbar` prints it (`docs/keras-semantics.md` §5):
//!
//! ```text
//! Epoch 1/3
//! 1719/1719 [==============================] - 4s 2ms/step - loss: 0.2580 - accuracy: 0.9032 - val_loss: 0.3041 - val_accuracy: 0.8912
//! ```
//!
//! On a terminal the line is redrawn in place after each batch (`\r`, at most every 50 ms) and
//! shows `- ETA: 3s` until the epoch ends. When the output is not a terminal (a log file, a CI
//! job), one plain line per epoch is written instead, in the form of Keras's `verbose=2`:
//!
//! ```text
//! 1719/1719 - 4s - loss: 0.2580 - accuracy: 0.9032 - 4s/epoch - 2ms/step
//! ```
//!
//! The strings are made by pure functions ([`bar_line`], [`epoch_line`], [`format_value`],
//! [`format_time`], [`format_eta`]), tested on exact text; [`Progbar`] only adds the clock and
//! the redrawing.
use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::rc::Rc;
use std::time::Instant;

use super::history::Logs;

/// How much `fit`, `evaluate` and `predict` print (Keras's `verbose=`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbose {
    /// Keras's `'auto'`: as `1`.
    #[default]
    Auto,
    /// `0`: nothing.
    Silent,
    /// `1`: the progress bar (on a terminal; one line per epoch otherwise).
    ProgressBar,
    /// `2`: one line per epoch.
    OneLinePerEpoch,
}

impl From<u8> for Verbose {
    /// `0`, `1`, `2` as in Keras; anything above 2 prints as 2.
    fn from(level: u8) -> Verbose {
        match level {
            0 => Verbose::Silent,
            1 => Verbose::ProgressBar,
            _ => Verbose::OneLinePerEpoch,
        }
    }
}

impl Verbose {
    /// The number Keras's `history.params['verbose']` shows (`'auto'` is 1).
    pub fn level(&self) -> u8 {
        match self {
            Verbose::Silent => 0,
            Verbose::Auto | Verbose::ProgressBar => 1,
            Verbose::OneLinePerEpoch => 2,
        }
    }

    /// What to draw on an output that is, or is not, a terminal.
    pub fn mode(&self, terminal: bool) -> BarMode {
        match self {
            Verbose::Silent => BarMode::Silent,
            Verbose::Auto | Verbose::ProgressBar if terminal => BarMode::Dynamic,
            _ => BarMode::Line,
        }
    }
}

/// What a [`Progbar`] draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarMode {
    /// Nothing.
    Silent,
    /// The bar, redrawn in place (`verbose=1` on a terminal).
    Dynamic,
    /// One line when done (`verbose=2`, or any output that is not a terminal).
    Line,
}

/// Where the progress bar and the callbacks' messages go, and whether it is a terminal.
pub struct Console {
    writer: Box<dyn Write>,
    terminal: bool,
}

impl Console {
    /// Standard output; a terminal if `std::io::IsTerminal` says so. In a data-parallel run
    /// only rank 0 prints: on the other ranks this console writes nowhere.
    pub fn stdout() -> Console {
        if !astrograd_distributed::is_main_process() {
            return Console::new(std::io::sink(), false);
        }
        let terminal = std::io::stdout().is_terminal();
        Console {
            writer: Box::new(std::io::stdout()),
            terminal,
        }
    }

    /// Any writer; `terminal` chooses between the redrawn bar and one line per epoch.
    pub fn new(writer: impl Write + 'static, terminal: bool) -> Console {
        Console {
            writer: Box::new(writer),
            terminal,
        }
    }

    /// A console writing to memory, and a handle to read what was written (for tests and
    /// notebooks).
    ///
    /// ```
    /// use std::io::Write;
    /// use astrograd_layers::training::Console;
    /// let (mut console, captured) = Console::capture(false);
    /// writeln!(console.writer(), "Epoch 1/2").unwrap();
    /// assert_eq!(captured.text(), "Epoch 1/2\n");
    /// ```
    pub fn capture(terminal: bool) -> (Console, Captured) {
        let captured = Captured::default();
        (Console::new(captured.clone(), terminal), captured)
    }

    /// Whether the output is a terminal.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// The writer.
    pub fn writer(&mut self) -> &mut dyn Write {
        self.writer.as_mut()
    }
}

/// Text written to a [`Console::capture`] console.
#[derive(Clone, Debug, Default)]
pub struct Captured(Rc<RefCell<Vec<u8>>>);

impl Captured {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Python's `'%.4e' % x`: four decimals and an exponent of at least two digits (`1.2346e-04`).
pub fn format_exp4(x: f64) -> String {
    if !x.is_finite() {
        return format_nonfinite(x);
    }
    let s = format!("{x:.4e}");
    let (mantissa, exponent) = s.split_once('e').expect("`{:e}` always writes an exponent");
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(digits) => ('-', digits),
        None => ('+', exponent),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

/// `nan`, `inf`, `-inf` as printf writes them.
fn format_nonfinite(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x > 0.0 {
        "inf".into()
    } else {
        "-inf".into()
    }
}

/// A metric's value on the bar: `%.4f`, or `%.4e` when small. The redrawn bar tests
/// `|v| > 1e-3`; Keras's `verbose=2` line tests `v > 1e-3` (so negative values print with an
/// exponent there), and we copy both.
///
/// ```
/// use astrograd_layers::training::format_value;
/// assert_eq!(format_value(0.258_012_3, false), "0.2580");
/// assert_eq!(format_value(0.000_123_4, false), "1.2340e-04");
/// assert_eq!(format_value(-0.5, false), "-0.5000");
/// assert_eq!(format_value(-0.5, true), "-5.0000e-01");
/// ```
pub fn format_value(v: f32, line_mode: bool) -> String {
    let v = f64::from(v);
    let large = if line_mode { v > 1e-3 } else { v.abs() > 1e-3 };
    if v.is_nan() {
        // NaN fails both tests, and '%.4e' % nan is 'nan'.
        return "nan".into();
    }
    if large {
        if v.is_infinite() {
            return format_nonfinite(v);
        }
        format!("{v:.4}")
    } else {
        format_exp4(v)
    }
}

/// Keras's `_format_time`: ` 4s/epoch`, ` 14ms/step`, ` 873us/step` (with the leading space).
pub fn format_time(seconds: f64, unit: &str) -> String {
    if seconds >= 1.0 || seconds == 0.0 {
        format!(" {seconds:.0}s/{unit}")
    } else if seconds >= 1e-3 {
        format!(" {:.0}ms/{unit}", seconds * 1e3)
    } else {
        format!(" {:.0}us/{unit}", seconds * 1e6)
    }
}

/// The time left as Keras writes it after `ETA: `: `7s`, `1:05`, `1:00:07`.
pub fn format_eta(seconds: f64) -> String {
    // Python's `%d` truncates.
    let whole = seconds.max(0.0) as u64;
    if seconds > 3600.0 {
        format!(
            "{}:{:02}:{:02}",
            whole / 3600,
            (whole % 3600) / 60,
            whole % 60
        )
    } else if seconds > 60.0 {
        format!("{}:{:02}", whole / 60, whole % 60)
    } else {
        format!("{whole}s")
    }
}

/// `  7/25 [=======>......................]`: the counter right-aligned to the digits of the
/// target, then `width` cells with `int(width·current/target)` filled.
pub fn bar(current: usize, target: usize, width: usize) -> String {
    let digits = target.max(1).to_string().len();
    let mut s = format!("{current:>digits$}/{target} [");
    let filled = if target == 0 {
        width
    } else {
        (width as f64 * current as f64 / target as f64) as usize
    };
    if filled > 0 {
        s.push_str(&"=".repeat(filled - 1));
        s.push(if current < target { '>' } else { '=' });
    }
    s.push_str(&".".repeat(width.saturating_sub(filled)));
    s.push(']');
    s
}

/// ` - loss: 0.2580 - accuracy: 0.9032`.
fn format_values(values: &Logs, line_mode: bool) -> String {
    let mut s = String::new();
    for (key, value) in values.iter() {
        s.push_str(&format!(" - {key}: {}", format_value(value, line_mode)));
    }
    s
}

/// What one drawing of the redrawn bar shows.
#[derive(Clone, Debug)]
pub struct BarLine<'a> {
    /// Steps done.
    pub current: usize,
    /// Steps in the epoch.
    pub target: usize,
    /// Seconds since the epoch began.
    pub elapsed: f64,
    /// Estimated seconds per step (the first step left out once there are more).
    pub time_per_step: f64,
    /// Whether this is the last drawing of the epoch.
    pub finalize: bool,
    /// The numbers to show.
    pub values: &'a Logs,
    /// `step` (or `sample`).
    pub unit: &'a str,
}

/// One drawing of the bar, without the `\r` and the final `\n`:
/// `25/25 [==============================] - 1s 14ms/step - loss: 1.1167`, or, before the end,
/// ` 7/25 [=======>......................] - ETA: 0s - loss: 1.1167`.
pub fn bar_line(line: &BarLine) -> String {
    let mut s = bar(line.current, line.target, 30);
    if line.finalize {
        s.push_str(&format!(" - {:.0}s", line.elapsed));
        s.push_str(&format_time(line.time_per_step, line.unit));
    } else {
        let eta = line.time_per_step * line.target.saturating_sub(line.current) as f64;
        s.push_str(&format!(" - ETA: {}", format_eta(eta)));
    }
    s.push_str(&format_values(line.values, false));
    s
}

/// The one line of `verbose=2` (and of output that is not a terminal), without the `\n`:
/// `25/25 - 1s - loss: 1.1167 - 875ms/epoch - 35ms/step`.
pub fn epoch_line(target: usize, elapsed: f64, values: &Logs, unit: &str) -> String {
    let digits = target.max(1).to_string().len();
    let mut s = format!("{target:>digits$}/{target} - {elapsed:.0}s");
    s.push_str(&format_values(values, true));
    s.push_str(&format!(" -{}", format_time(elapsed, "epoch")));
    let per_step = if target == 0 {
        0.0
    } else {
        elapsed / target as f64
    };
    s.push_str(&format!(" -{}", format_time(per_step, unit)));
    s
}

/// The progress bar of one epoch (or one `evaluate`/`predict`), with Keras's timing rules.
#[derive(Clone, Debug)]
pub struct Progbar {
    target: usize,
    mode: BarMode,
    /// Least seconds between two drawings (Keras's `interval=0.05`).
    interval: f64,
    unit: &'static str,
    start: Instant,
    /// Characters of the last drawing (Keras erases them with backspaces).
    total_width: usize,
    /// When the bar was last drawn (seconds since `start`).
    last_update: Option<f64>,
    /// When step 1 ended: later per-step times leave the first step out.
    time_after_first_step: Option<f64>,
}

impl Progbar {
    /// A bar for `target` steps, drawn as `mode` says; the clock starts now.
    pub fn new(target: usize, mode: BarMode) -> Progbar {
        Progbar {
            target,
            mode,
            interval: 0.05,
            unit: "step",
            start: Instant::now(),
            total_width: 0,
            last_update: None,
            time_after_first_step: None,
        }
    }

    /// Draws step `current` with these values, now. Errors writing the output are ignored: a
    /// closed terminal must not stop training.
    pub fn update(&mut self, out: &mut dyn Write, current: usize, values: &Logs, finalize: bool) {
        let now = self.start.elapsed().as_secs_f64();
        let text = self.update_at(now, current, values, finalize);
        if !text.is_empty() {
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }

    /// Whether [`Progbar::update`] would draw now (so that the values it shows need reading
    /// only then: on a GPU each read waits for the GPU).
    pub fn would_draw(&self, finalize: bool) -> bool {
        match self.mode {
            BarMode::Silent => false,
            BarMode::Line => finalize,
            BarMode::Dynamic => {
                let now = self.start.elapsed().as_secs_f64();
                finalize
                    || self
                        .last_update
                        .is_none_or(|last| now - last >= self.interval)
            }
        }
    }

    /// What [`Progbar::update`] writes when called `now` seconds after the bar was made
    /// (empty when it is too soon to redraw): Keras's `Progbar.update`.
    pub fn update_at(&mut self, now: f64, current: usize, values: &Logs, finalize: bool) -> String {
        match self.mode {
            BarMode::Silent => String::new(),
            BarMode::Line => {
                if !finalize {
                    return String::new();
                }
                self.last_update = Some(now);
                format!("{}\n", epoch_line(self.target, now, values, self.unit))
            }
            BarMode::Dynamic => {
                let too_soon = self
                    .last_update
                    .is_some_and(|last| now - last < self.interval);
                if too_soon && !finalize {
                    return String::new();
                }
                let previous_width = self.total_width;
                let time_per_step = self.estimate_step_duration(current, now);
                let mut line = bar_line(&BarLine {
                    current,
                    target: self.target,
                    elapsed: now,
                    time_per_step,
                    finalize,
                    values,
                    unit: self.unit,
                });
                self.total_width = line.chars().count();
                if previous_width > self.total_width {
                    line.push_str(&" ".repeat(previous_width - self.total_width));
                }
                if finalize {
                    line.push('\n');
                }
                self.last_update = Some(now);
                format!("{}\r{line}", "\u{8}".repeat(previous_width))
            }
        }
    }

    /// Keras's `_estimate_step_duration`: time per step, leaving out the first step once it is
    /// known (it includes one-off work).
    fn estimate_step_duration(&mut self, current: usize, now: f64) -> f64 {
        if current == 0 {
            return 0.0;
        }
        let per_step = match self.time_after_first_step {
            Some(first) if current > 1 => (now - first) / (current - 1) as f64,
            _ => now / current as f64,
        };
        if current == 1 {
            self.time_after_first_step = Some(now);
        }
        per_step
    }
}

/// Writes a callback's message as Keras's `print_msg` does (the text and a newline).
pub fn print_msg(out: &mut dyn Write, message: &str) {
    let _ = writeln!(out, "{message}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs(pairs: &[(&str, f32)]) -> Logs {
        Logs::from_pairs(pairs)
    }

    /// The line of `docs/keras-semantics.md` §5, as TF 2.10 printed it for
    /// `model.fit(x, y, epochs=3, validation_split=0.2)` on 1000 samples.
    #[test]
    fn the_final_bar_matches_keras() {
        let values = logs(&[
            ("loss", 1.116_7),
            ("accuracy", 0.368_8),
            ("val_loss", 1.111_3),
            ("val_accuracy", 0.35),
        ]);
        let line = bar_line(&BarLine {
            current: 25,
            target: 25,
            elapsed: 1.2,
            time_per_step: 0.014,
            finalize: true,
            values: &values,
            unit: "step",
        });
        assert_eq!(
            line,
            "25/25 [==============================] - 1s 14ms/step - loss: 1.1167 - accuracy: \
             0.3688 - val_loss: 1.1113 - val_accuracy: 0.3500"
        );
    }

    #[test]
    fn intermediate_bars_show_an_eta_and_a_right_aligned_counter() {
        let values = logs(&[("loss", 0.000_123_4)]);
        let line = bar_line(&BarLine {
            current: 7,
            target: 1719,
            elapsed: 0.5,
            time_per_step: 0.002,
            finalize: false,
            values: &values,
            unit: "step",
        });
        assert_eq!(
            line,
            "   7/1719 [..............................] - ETA: 3s - loss: 1.2340e-04"
        );
        assert_eq!(
            bar(1718, 1719, 30),
            "1718/1719 [============================>.]"
        );
        assert_eq!(
            bar(1719, 1719, 30),
            "1719/1719 [==============================]"
        );
        assert_eq!(bar(1, 25, 30), " 1/25 [>.............................]");
        assert_eq!(bar(13, 25, 30), "13/25 [==============>...............]");
    }

    #[test]
    fn times_and_etas_use_keras_units() {
        assert_eq!(format_time(0.014, "step"), " 14ms/step");
        assert_eq!(format_time(0.000_873, "step"), " 873us/step");
        assert_eq!(format_time(4.2, "epoch"), " 4s/epoch");
        assert_eq!(format_time(0.0, "step"), " 0s/step");
        assert_eq!(format_eta(59.9), "59s");
        assert_eq!(format_eta(65.0), "1:05");
        assert_eq!(format_eta(3607.0), "1:00:07");
        assert_eq!(format_exp4(0.0), "0.0000e+00");
        assert_eq!(format_exp4(1.5e-12), "1.5000e-12");
        assert_eq!(format_value(f32::NAN, false), "nan");
        assert_eq!(format_value(f32::INFINITY, false), "inf");
    }

    #[test]
    fn one_line_per_epoch_matches_keras_verbose_2() {
        let values = logs(&[("loss", 0.258_0), ("accuracy", 0.903_2)]);
        assert_eq!(
            epoch_line(1719, 4.1, &values, "step"),
            "1719/1719 - 4s - loss: 0.2580 - accuracy: 0.9032 - 4s/epoch - 2ms/step"
        );
        assert_eq!(
            epoch_line(25, 0.875, &values, "step"),
            "25/25 - 1s - loss: 0.2580 - accuracy: 0.9032 - 875ms/epoch - 35ms/step"
        );
    }

    /// A whole epoch of 3 steps on a terminal: the first step always draws, redraws closer than
    /// 50 ms apart are skipped, each redraw erases the last one, the last line ends the epoch
    /// and its per-step time leaves out step 1.
    #[test]
    fn a_terminal_bar_redraws_in_place() {
        let mut bar = Progbar::new(3, BarMode::Dynamic);
        let first = bar.update_at(0.5, 1, &logs(&[("loss", 2.0)]), false);
        assert_eq!(
            first,
            "\r1/3 [=========>....................] - ETA: 1s - loss: 2.0000"
        );
        assert_eq!(bar.update_at(0.52, 2, &logs(&[("loss", 1.5)]), false), "");
        let last = bar.update_at(0.7, 3, &logs(&[("loss", 1.0)]), true);
        let erase = "\u{8}".repeat(first.len() - 1);
        assert_eq!(
            last,
            format!(
                "{erase}\r3/3 [==============================] - 1s 100ms/step - loss: 1.0000\n"
            )
        );
        // Not a terminal: one line at the end only.
        let mut line = Progbar::new(3, BarMode::Line);
        assert_eq!(line.update_at(0.5, 1, &logs(&[("loss", 2.0)]), false), "");
        assert_eq!(
            line.update_at(0.7, 3, &logs(&[("loss", 1.0)]), true),
            "3/3 - 1s - loss: 1.0000 - 700ms/epoch - 233ms/step\n"
        );
        assert_eq!(
            Progbar::new(3, BarMode::Silent).update_at(1.0, 3, &Logs::new(), true),
            ""
        );
    }

    #[test]
    fn a_shorter_redraw_is_padded_over_the_longer_one() {
        let mut bar = Progbar::new(2, BarMode::Dynamic);
        let long = bar.update_at(0.0, 1, &logs(&[("loss", 12345.0)]), false);
        let short = bar.update_at(1.0, 1, &logs(&[("loss", 1.0)]), false);
        assert_eq!(short.matches('\u{8}').count(), long.len() - 1);
        assert!(short.ends_with("loss: 1.0000    "), "{short:?}");
    }

    #[test]
    fn verbose_levels_map_to_modes() {
        assert_eq!(Verbose::from(0).mode(true), BarMode::Silent);
        assert_eq!(Verbose::Auto.mode(true), BarMode::Dynamic);
        assert_eq!(Verbose::Auto.mode(false), BarMode::Line);
        assert_eq!(Verbose::from(1).mode(false), BarMode::Line);
        assert_eq!(Verbose::from(2).mode(true), BarMode::Line);
        assert_eq!((Verbose::Auto.level(), Verbose::from(2).level()), (1, 2));
    }
}
