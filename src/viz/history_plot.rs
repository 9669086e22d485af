//! The training curves: the course's `pd.DataFrame(history.history).plot()`, drawn as two
//! panels, loss on the left and the metric (accuracy) on the right, training against
//! validation. Several runs can share the panels (the optimizer comparison of Session 1), and a
//! dashed vertical line can mark the epoch where fine-tuning started.
use std::path::Path;

use super::colormap::TAB10;
use super::plot_area::{draw_panels, Curve, Panel, VLine};
use super::{Result, VizError};
use crate::layers::training::Logs;
use crate::layers::History;

/// A vertical line between epoch `after_epoch` and the next one (epochs counted from 1, as
/// Keras prints them): `after_epoch: 10` draws it at x = 10.5.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochMarker {
    /// The epoch after which the line is drawn (counted from 1).
    pub after_epoch: usize,
    /// Its legend entry (`"start of fine-tuning"`).
    pub label: String,
}

/// Options of [`history_plot_with`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryPlotOptions {
    /// A title above both panels; empty for none.
    pub title: String,
    /// A dashed vertical line at an epoch.
    pub marker: Option<EpochMarker>,
    /// Only the validation curves (`val_loss`, `val_accuracy`): clearer with many runs.
    pub validation_only: bool,
}

/// Size of one panel, in pixels.
const PANEL_WIDTH: usize = 560;
const PANEL_HEIGHT: usize = 420;
/// Above this many epochs the curves get no dots.
const MAX_EPOCHS_WITH_MARKERS: usize = 30;

/// Plots one `fit` history: loss and `val_loss` on the left, the first metric (`accuracy`) and
/// its validation on the right, against the epoch (from 1), and saves the PNG at `path`.
///
/// # Errors
/// [`VizError::Invalid`] when the history has no `loss` (no epoch was run);
/// [`VizError::Write`] when the file cannot be written.
pub fn history_plot(history: &History, path: &Path) -> Result<()> {
    history_plot_with(&[("", history)], &HistoryPlotOptions::default(), path)
}

/// Plots several histories on the same two panels, one colour per run: validation curves
/// solid, training curves dashed, named `"<name> (val)"` and `"<name> (train)"` in the legend.
/// With one run and an empty name, the legend uses Keras's keys (`loss`, `val_loss`) and
/// training and validation get the first two colours, as pandas draws them.
///
/// # Errors
/// [`VizError::Invalid`] for no run or a run without `loss`; [`VizError::Write`] when the file
/// cannot be written.
pub fn history_plot_with(
    runs: &[(&str, &History)],
    options: &HistoryPlotOptions,
    path: &Path,
) -> Result<()> {
    if runs.is_empty() {
        return Err(VizError::invalid(
            "history_plot",
            "at least one history",
            "none",
        ));
    }
    for (name, history) in runs {
        if history.history.get("loss").is_none_or(|l| l.is_empty()) {
            return Err(VizError::invalid(
                "history_plot",
                format!(
                    "a history with a 'loss' series (the History that fit returns){}",
                    run_name(name)
                ),
                format!("the keys {:?}", history.history.keys()),
            ));
        }
    }
    let metric = runs.iter().find_map(|(_, h)| first_metric(h));
    let longest = runs
        .iter()
        .map(|(_, h)| h.history["loss"].len())
        .max()
        .unwrap_or(0);
    let markers = longest <= MAX_EPOCHS_WITH_MARKERS;

    let keys: Vec<String> = std::iter::once("loss".to_string()).chain(metric).collect();
    let panels: Vec<Panel> = keys
        .iter()
        .map(|key| Panel {
            curves: curves_for(runs, key, options.validation_only, markers),
            title: key,
            x_label: "epoch",
            y_label: "",
            integer_x: true,
            vline: options.marker.as_ref().map(|m| VLine {
                x: m.after_epoch as f32 + 0.5,
                label: &m.label,
            }),
        })
        .collect();
    draw_panels(&panels, &options.title, (PANEL_WIDTH, PANEL_HEIGHT))?.save_png(path)
}

/// `" (run \"adam\")"` for error messages, nothing for an unnamed run.
fn run_name(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!(" (run {name:?})")
    }
}

/// The first key that is neither the loss, a validation value nor the learning rate: the
/// metric given to `compile` (`accuracy`).
fn first_metric(history: &History) -> Option<String> {
    history
        .history
        .keys()
        .into_iter()
        .find(|k| *k != "loss" && *k != "lr" && !k.starts_with("val_"))
        .map(str::to_string)
}

/// The curves of `key` and `val_<key>` for every run.
fn curves_for(
    runs: &[(&str, &History)],
    key: &str,
    validation_only: bool,
    markers: bool,
) -> Vec<Curve> {
    let single = runs.len() == 1 && runs[0].0.is_empty();
    let val_key = format!("val_{key}");
    let mut curves = Vec::new();
    for (i, (name, history)) in runs.iter().enumerate() {
        let val = history.history.get(&val_key);
        let train = history.history.get(key);
        let points = |values: &[f32]| -> Vec<(f32, f32)> {
            values
                .iter()
                .enumerate()
                .map(|(e, &v)| (epoch_number(history, e), v))
                .collect()
        };
        if let Some(train) = train.filter(|_| !validation_only || val.is_none()) {
            curves.push(Curve {
                label: if single {
                    key.to_string()
                } else {
                    format!("{name} (train)")
                },
                points: points(train),
                color: TAB10[if single { 0 } else { i % TAB10.len() }],
                dashed: !single && val.is_some(),
                markers,
            });
        }
        if let Some(val) = val {
            curves.push(Curve {
                label: if single {
                    val_key.clone()
                } else {
                    format!("{name} (val)")
                },
                points: points(val),
                color: TAB10[if single { 1 } else { i % TAB10.len() }],
                dashed: false,
                markers,
            });
        }
    }
    curves
}

/// The histories of successive `fit` calls as one, to plot a training and its continuation
/// (the transfer-learning recipe's `history.history['accuracy'] + history_fine.history[…]`):
/// the epochs one after another, each series continued where the key exists. Epoch numbers
/// are kept as recorded (a fit resumed with `initial_epoch` already counts on from the first).
pub fn join_histories(histories: &[&History]) -> History {
    let mut joined = History::default();
    for history in histories {
        for e in 0..history.epoch.len() {
            let mut logs = Logs::new();
            for (key, values) in history.history.iter() {
                if let Some(&v) = values.get(e) {
                    logs.set(key, v);
                }
            }
            joined.history.push(&logs);
            joined.epoch.push(history.epoch[e]);
        }
        joined.params = history.params;
    }
    joined
}

/// The epoch of the `e`-th recorded value, counted from 1 (from `initial_epoch + 1` when
/// `fit` was resumed).
fn epoch_number(history: &History, e: usize) -> f32 {
    history.epoch.get(e).map_or(e + 1, |&epoch| epoch + 1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::plot_area::TITLE_SIZE;
    use crate::viz::testing::{decode, distinct_colours, missing_dir_path, output_dir};

    /// A history as `fit` would record it, with made-up but plausible curves.
    fn history(epochs: usize, speed: f32) -> History {
        let mut history = History::default();
        for e in 0..epochs {
            let t = e as f32;
            history.history.push(&Logs::from_pairs(&[
                ("loss", 0.35 + 0.6 * (-speed * t).exp()),
                ("accuracy", 0.88 - 0.2 * (-speed * t).exp()),
                ("val_loss", 0.42 + 0.5 * (-speed * t).exp() + 0.004 * t),
                ("val_accuracy", 0.86 - 0.18 * (-speed * t).exp()),
            ]));
            history.epoch.push(e);
        }
        history
    }

    #[test]
    fn two_phases_join_into_one_history() {
        let first = history(3, 0.6);
        let mut second = History::default();
        for e in 3..5 {
            second
                .history
                .push(&Logs::from_pairs(&[("loss", e as f32), ("accuracy", 0.5)]));
            second.epoch.push(e);
        }
        let both = join_histories(&[&first, &second]);
        assert_eq!(both.epoch, [0, 1, 2, 3, 4]);
        assert_eq!(both.history["loss"][3..], [3.0, 4.0]);
        assert_eq!(both.history["loss"][..3], first.history["loss"]);
        assert_eq!(both.history["accuracy"].len(), 5);
        // A key the second phase lacks stops where the first ended.
        assert_eq!(both.history["val_loss"].len(), 3);
    }

    #[test]
    fn one_history_makes_two_panels_with_training_and_validation_colours() {
        let (_keep, dir) = output_dir();
        let path = dir.join("history.png");
        history_plot(&history(7, 0.6), &path).unwrap();
        let decoded = decode(&path);
        assert_eq!(
            (decoded.width, decoded.height),
            (2 * PANEL_WIDTH as u32, PANEL_HEIGHT as u32)
        );
        assert!(distinct_colours(&decoded) > 20);
        for colour in &TAB10[..2] {
            assert!(decoded.image.pixels().any(|p| p.0 == *colour));
        }
    }

    #[test]
    fn several_runs_with_a_marker_and_a_title() {
        let (_keep, dir) = output_dir();
        let path = dir.join("history_runs.png");
        let (sgd, adam, rmsprop) = (history(10, 0.2), history(10, 0.7), history(10, 0.5));
        let options = HistoryPlotOptions {
            title: "Optimizers on Fashion-MNIST".into(),
            marker: Some(EpochMarker {
                after_epoch: 5,
                label: "start of fine-tuning".into(),
            }),
            validation_only: false,
        };
        history_plot_with(
            &[("SGD", &sgd), ("Adam", &adam), ("RMSprop", &rmsprop)],
            &options,
            &path,
        )
        .unwrap();
        let decoded = decode(&path);
        assert_eq!(decoded.height, PANEL_HEIGHT as u32 + TITLE_SIZE as u32 + 20);
        for colour in &TAB10[..3] {
            assert!(decoded.image.pixels().any(|p| p.0 == *colour));
        }
    }

    /// A history of three epochs with the given validation losses and accuracies.
    fn short_run(val_loss: [f32; 3], val_accuracy: [f32; 3]) -> History {
        let mut history = History::default();
        for e in 0..3 {
            history.history.push(&Logs::from_pairs(&[
                ("loss", val_loss[e] - 0.05),
                ("accuracy", val_accuracy[e] + 0.02),
                ("val_loss", val_loss[e]),
                ("val_accuracy", val_accuracy[e]),
            ]));
            history.epoch.push(e);
        }
        history
    }

    #[test]
    fn a_legend_with_no_free_place_inside_goes_beside_the_panels() {
        // Session 1's optimizer comparison after 3 epochs (--limit 600): seven validation
        // curves that cross every corner of both panels, where the legend used to sit on top
        // of the SGD and RMSprop curves.
        let (_keep, dir) = output_dir();
        let path = dir.join("optimizers.png");
        let runs = [
            ("SGD", short_run([1.95, 1.78, 1.59], [0.38, 0.40, 0.54])),
            (
                "SGD + momentum 0.9",
                short_run([1.43, 0.94, 0.96], [0.50, 0.72, 0.68]),
            ),
            (
                "Nesterov",
                short_run([1.41, 0.93, 0.83], [0.46, 0.68, 0.74]),
            ),
            ("RMSprop", short_run([1.57, 0.81, 0.89], [0.52, 0.70, 0.60])),
            ("Adam", short_run([1.01, 0.73, 0.62], [0.62, 0.78, 0.82])),
            (
                "Adam + ExponentialDecay",
                short_run([1.08, 0.86, 0.81], [0.66, 0.70, 0.82]),
            ),
            (
                "Adam, He init",
                short_run([0.94, 0.69, 0.69], [0.76, 0.78, 0.82]),
            ),
        ];
        let runs: Vec<(&str, &History)> = runs.iter().map(|(n, h)| (*n, h)).collect();
        let options = HistoryPlotOptions {
            validation_only: true,
            ..Default::default()
        };
        history_plot_with(&runs, &options, &path).unwrap();
        let decoded = decode(&path);
        assert!(decoded.width > 2 * PANEL_WIDTH as u32, "{}", decoded.width);
        // The legend's frame is beside the panels, with all seven colours in it.
        let beside = |colour: &[u8; 3]| {
            (2 * PANEL_WIDTH as u32..decoded.width)
                .any(|x| (0..decoded.height).any(|y| decoded.image.get_pixel(x, y).0 == *colour))
        };
        for colour in &TAB10[..7] {
            assert!(
                beside(colour),
                "{colour:?} is not in the legend beside the panels"
            );
        }
    }

    #[test]
    fn a_history_without_a_metric_has_one_panel() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss_only.png");
        let mut history = History::default();
        for loss in [1.0, 0.6, 0.5] {
            history.history.push(&Logs::from_pairs(&[("loss", loss)]));
        }
        history_plot(&history, &path).unwrap();
        assert_eq!(decode(&path).width, PANEL_WIDTH as u32);
    }

    #[test]
    fn an_empty_history_is_invalid_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.png");
        let err = history_plot(&History::default(), &path).unwrap_err();
        assert!(err.to_string().contains("'loss'"), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn an_unwritable_directory_is_a_write_error() {
        let err = history_plot(&history(3, 0.5), &missing_dir_path("h.png")).unwrap_err();
        assert!(matches!(err, VizError::Write { .. }), "{err}");
    }
}
