//! `model.evaluate(x, y)` and `model.predict(x)`: the forward pass in batches, in inference
//! mode (`training=false`: dropout off, batch normalization on its moving statistics) and
//! without recording a graph (`no_grad`), with Keras's progress bar.
use crate::device::on_device;
use astrograd_autograd::{no_grad, Tensor, Var};

use super::compile::{not_compiled, Compiled};
use super::data::{check_batch_size, ArraySource, BatchSource};
use super::data_parallel::DataParallel;
use super::history::Logs;
use super::metrics::{Metric, MetricFn, RunningMean};
use super::progress::{Console, Progbar, Verbose};
use crate::model::Model;
use crate::{LayerError, Result};

/// The arguments of `evaluate` and `predict`: `batch_size` (32) and `verbose` (auto). A
/// number is a batch size: `model.evaluate(&x, &y, 32)`.
///
/// In a data-parallel run (`mpirun -n N`) each process takes every N-th batch, and every
/// process gets the whole result.
pub struct EvalOptions {
    /// Samples per batch.
    pub batch_size: usize,
    /// What to print.
    pub verbose: Verbose,
    /// Where to print (standard output when `None`).
    pub console: Option<Console>,
    /// The processes to share the batches with (`None`: the program's
    /// [`world`](astrograd_distributed::world)).
    pub communicator: Option<&'static dyn astrograd_distributed::Communicator>,
}

impl Default for EvalOptions {
    fn default() -> EvalOptions {
        EvalOptions {
            batch_size: 32,
            verbose: Verbose::Auto,
            console: None,
            communicator: None,
        }
    }
}

impl From<usize> for EvalOptions {
    fn from(batch_size: usize) -> EvalOptions {
        EvalOptions {
            batch_size,
            ..EvalOptions::default()
        }
    }
}

impl EvalOptions {
    /// `batch_size=`.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// `verbose=`.
    pub fn verbose(mut self, verbose: impl Into<Verbose>) -> Self {
        self.verbose = verbose.into();
        self
    }

    /// Prints to this console instead of standard output.
    pub fn console(mut self, console: Console) -> Self {
        self.console = Some(console);
        self
    }

    /// Shares the batches with these processes instead of the program's world
    /// (`&SingleProcess`: all batches here, even under `mpirun`).
    pub fn communicator(
        mut self,
        communicator: &'static dyn astrograd_distributed::Communicator,
    ) -> Self {
        self.communicator = Some(communicator);
        self
    }
}

/// The running means of one epoch (or one evaluation): the loss and each metric.
///
/// On the CPU each batch's numbers are added as they come. On a GPU they are added up *on the
/// GPU* and read back only when [`EpochMeans::logs`] is called — when the progress bar draws,
/// a callback asks, or the epoch ends — because every read waits for the GPU to finish.
#[derive(Clone)]
pub(crate) struct EpochMeans {
    loss: RunningMean,
    metrics: Vec<RunningMean>,
    /// A fresh copy of each metric that keeps counts (precision, AUC, …), `None` for the means.
    counters: Vec<Option<Metric>>,
    /// GPU sums not read yet: `Σ loss·n`, each metric's sum, and their sample counts.
    on_device: Option<DeviceSums>,
}

#[derive(Clone)]
struct DeviceSums {
    loss: Tensor,
    samples: usize,
    metrics: Vec<(Tensor, usize)>,
}

impl EpochMeans {
    pub(crate) fn new(metrics: &[Metric]) -> EpochMeans {
        let counters = metrics
            .iter()
            .map(|m| {
                (!m.is_mean()).then(|| {
                    let mut fresh = m.clone();
                    fresh.reset_state();
                    fresh
                })
            })
            .collect();
        EpochMeans {
            loss: RunningMean::default(),
            metrics: vec![RunningMean::default(); metrics.len()],
            counters,
            on_device: None,
        }
    }

    /// Adds a batch to the metrics that keep counts (on the host: the predictions of a GPU
    /// batch are read back for them).
    fn count(&mut self, y_pred: &Tensor, y_true: &Tensor) -> Result<()> {
        for counter in self.counters.iter_mut().flatten() {
            counter.update_state(y_true, y_pred, None)?;
        }
        Ok(())
    }

    /// Adds a batch: its mean loss (a one-element tensor) and its predictions against its
    /// targets.
    pub(crate) fn add(
        &mut self,
        metrics: &mut [Metric],
        loss: &Tensor,
        y_pred: &Tensor,
        y_true: &Tensor,
    ) -> Result<()> {
        let n = y_pred.shape().first().copied().unwrap_or(1);
        self.count(y_pred, y_true)?;
        if loss.device() != astrograd_autograd::Device::Cpu {
            return self.add_on_device(metrics, loss, n, y_pred, y_true);
        }
        self.loss.add_mean(loss.item()?, n);
        for (metric, mean) in metrics.iter_mut().zip(&mut self.metrics) {
            if let Some(function) = metric.resolve(y_true.shape(), y_pred.shape()) {
                let (sum, count) = function.batch_sum(y_pred, y_true)?;
                mean.add(sum, count);
            }
        }
        Ok(())
    }

    /// A GPU batch into the running sums, which stay on the GPU until the logs are read. The
    /// loss and the first accuracy metric go in together, in one kernel
    /// ([`add_loss_and_accuracy`](astrograd_tensor::nn::metrics::add_loss_and_accuracy));
    /// every other metric adds its batch sum.
    fn add_on_device(
        &mut self,
        metrics: &mut [Metric],
        loss: &Tensor,
        n: usize,
        y_pred: &Tensor,
        y_true: &Tensor,
    ) -> Result<()> {
        use astrograd_tensor::nn::metrics::add_loss_and_accuracy;
        let (mut loss_before, mut metric_sums, samples) = match self.on_device.take() {
            Some(DeviceSums {
                loss,
                samples,
                metrics,
            }) => (Some(loss), Some(metrics.into_iter()), samples),
            None => (None, None, 0),
        };
        let mut loss_with_accuracy = None;
        let mut sums = Vec::with_capacity(metrics.len());
        for metric in metrics.iter_mut() {
            let before = metric_sums.as_mut().and_then(Iterator::next);
            let function = metric.resolve(y_true.shape(), y_pred.shape());
            let sum = match function.as_ref().and_then(MetricFn::accuracy_kind) {
                Some(kind) if loss_with_accuracy.is_none() => {
                    let classes = y_pred.shape().last().copied().unwrap_or(1).max(1);
                    let rows = y_pred.numel() / classes;
                    let (before_sums, before_count) = match (before, loss_before.take()) {
                        (Some((accuracy, count)), Some(loss)) => (Some((accuracy, loss)), count),
                        _ => (None, 0),
                    };
                    let (accuracy, loss) =
                        add_loss_and_accuracy(kind, y_pred, y_true, (loss, n), before_sums)?;
                    loss_with_accuracy = Some(loss);
                    (accuracy, before_count + rows)
                }
                _ => {
                    let (batch, count) = match function {
                        Some(function) => function.device_batch_sum(y_pred, y_true)?,
                        // Counted on the host; a zero keeps the list aligned with the metrics.
                        None => (Tensor::zeros(&[]).to(y_pred.device())?, 0),
                    };
                    let batch = batch.reshape(&[])?;
                    match before {
                        Some((sum, before_count)) => (sum.add(&batch)?, before_count + count),
                        None => (batch, count),
                    }
                }
            };
            sums.push(sum);
        }
        let loss = match loss_with_accuracy {
            Some(sum) => sum,
            None => {
                let batch = loss.reshape(&[])?.mul_scalar(n as f32);
                match loss_before {
                    Some(sum) => sum.add(&batch)?,
                    None => batch,
                }
            }
        };
        self.on_device = Some(DeviceSums {
            loss,
            samples: samples + n,
            metrics: sums,
        });
        Ok(())
    }

    /// Adds what the GPU added up since the last call to the host's means (one small read
    /// per number).
    fn read_device_sums(&mut self) -> Result<()> {
        if let Some(sums) = self.on_device.take() {
            self.loss.add(f64::from(sums.loss.item()?), sums.samples);
            for (mean, (sum, count)) in self.metrics.iter_mut().zip(sums.metrics) {
                mean.add(f64::from(sum.item()?), count);
            }
        }
        Ok(())
    }

    /// A copy with every number on the host (what data-parallel training adds up).
    pub(crate) fn read_back(&mut self) -> Result<EpochMeans> {
        self.read_device_sums()?;
        Ok(self.clone())
    }

    /// The loss's and each mean metric's sum and count, flat: `[Σ, n, Σ, n, …]`.
    pub(crate) fn sums(&self) -> Vec<f64> {
        std::iter::once(&self.loss)
            .chain(&self.metrics)
            .flat_map(|m| [m.total, m.count])
            .collect()
    }

    /// Replaces the sums and counts by `flat`, laid out as [`EpochMeans::sums`] lays them out.
    pub(crate) fn set_sums(&mut self, flat: &[f64]) {
        let means = std::iter::once(&mut self.loss).chain(&mut self.metrics);
        for (mean, pair) in means.zip(flat.chunks_exact(2)) {
            (mean.total, mean.count) = (pair[0], pair[1]);
        }
    }

    /// The metrics that keep counts (precision, AUC, …).
    pub(crate) fn counters_mut(&mut self) -> impl Iterator<Item = &mut Metric> {
        self.counters.iter_mut().flatten()
    }

    /// `loss`, then each metric under its name (reading back what the GPU added up since the
    /// last call: one small read per number).
    pub(crate) fn logs(&mut self, metrics: &[Metric]) -> Result<Logs> {
        self.read_device_sums()?;
        let mut logs = Logs::new();
        logs.set("loss", self.loss.result());
        for ((metric, mean), counter) in metrics.iter().zip(&self.metrics).zip(&self.counters) {
            let value = counter
                .as_ref()
                .map_or_else(|| mean.result(), Metric::result);
            logs.set(&metric.name, value);
        }
        Ok(logs)
    }
}

/// Loss and metrics over every batch of `source`, in inference mode, drawing `bar` if given;
/// with many processes, each takes every N-th batch and the sums are added up at the end.
pub(crate) fn evaluate_batches(
    model: &mut Model,
    compiled: &mut Compiled,
    source: &mut dyn BatchSource,
    mut bar: Option<&mut Progbar>,
    mut console: Option<&mut Console>,
    parallel: DataParallel,
) -> Result<Logs> {
    let steps = source.len();
    source.on_epoch_start(0);
    let mut means = EpochMeans::new(&compiled.metrics);
    let device = model.device();
    no_grad(|| {
        for step in (parallel.rank()..steps).step_by(parallel.size()) {
            let (x, y) = source.batch(step)?;
            let out = model.forward_with_logits(&Var::constant(on_device(x, device)?), false)?;
            if device != astrograd_autograd::Device::Cpu {
                compiled.loss.check_labels_on_host(&out.shape(), &y)?;
            }
            let y = on_device(y, device)?;
            let weights = source.sample_weights(step)?;
            // As in a training step: with a softmax and a cross-entropy, the loss kernel's
            // probabilities are the output.
            let (per_sample, output) = compiled.loss.per_sample_and_output(&out, &y)?;
            let loss = super::fit::weighted_mean(&per_sample, weights, device)?;
            means.add(&mut compiled.metrics, &loss.value(), &output, &y)?;
            if let (Some(bar), Some(console)) = (bar.as_deref_mut(), console.as_deref_mut()) {
                if bar.would_draw(false) {
                    let logs = means.logs(&compiled.metrics)?;
                    bar.update(console.writer(), step + 1, &logs, false);
                }
            }
        }
        parallel.global_logs(&mut means, &compiled.metrics)
    })
}

impl Model {
    /// Keras's `model.evaluate(x, y, batch_size=32)`: the loss and the metrics over `x`, `y`,
    /// in the order of [`Model::metrics_names`] (`[loss, accuracy]`).
    ///
    /// # Errors
    /// Before `compile`; mismatched lengths; no samples; the loss's errors.
    pub fn evaluate(
        &mut self,
        x: &Tensor,
        y: &Tensor,
        options: impl Into<EvalOptions>,
    ) -> Result<Vec<f32>> {
        let options = options.into();
        let mut source = ArraySource::new(x, y, options.batch_size, false)?;
        Ok(self.evaluate_batches_with(&mut source, options)?.values())
    }

    /// `evaluate` on a [`BatchSource`] (Keras's `evaluate(generator)`), returning the logs
    /// (`loss`, then the metrics by name).
    ///
    /// # Errors
    /// As [`Model::evaluate`]; the source's errors.
    pub fn evaluate_batches_with(
        &mut self,
        source: &mut dyn BatchSource,
        options: EvalOptions,
    ) -> Result<Logs> {
        let mut compiled = self
            .compiled
            .take()
            .ok_or_else(|| not_compiled("evaluate"))?;
        let result = (|| {
            check_batch_size(options.batch_size)?;
            let steps = source.len();
            if steps == 0 {
                return Err(LayerError::invalid(
                    "evaluate",
                    "at least one sample",
                    "no samples",
                ));
            }
            let mut console = options.console.unwrap_or_else(Console::stdout);
            let mut bar = Progbar::new(steps, options.verbose.mode(console.is_terminal()));
            let parallel = DataParallel::new(options.communicator);
            let logs = evaluate_batches(
                self,
                &mut compiled,
                source,
                Some(&mut bar),
                Some(&mut console),
                parallel,
            )?;
            bar.update(console.writer(), steps, &logs, true);
            Ok(logs)
        })();
        self.compiled = Some(compiled);
        result
    }

    /// Keras's `model.predict(x, batch_size=32)`: the model's outputs for `x`, in batches,
    /// in inference mode (probabilities after a final softmax).
    ///
    /// # Errors
    /// No samples; `batch_size` 0; the model's errors (an input of the wrong shape).
    pub fn predict(&mut self, x: &Tensor, options: impl Into<EvalOptions>) -> Result<Tensor> {
        let options = options.into();
        check_batch_size(options.batch_size)?;
        let n = x.shape().first().copied().unwrap_or(0);
        if n == 0 {
            return Err(LayerError::invalid(
                "predict",
                "at least one sample",
                format!("x of shape {:?}", x.shape()),
            ));
        }
        let steps = n.div_ceil(options.batch_size);
        let mut console = options.console.unwrap_or_else(Console::stdout);
        let mut bar = Progbar::new(steps, options.verbose.mode(console.is_terminal()));
        let none = Logs::new();
        let device = self.device();
        let parallel = DataParallel::new(options.communicator);
        parallel.agree("predict", "number of samples", n)?;
        // Alone: every batch. Many processes: batches rank, rank + N, … here.
        let outputs = no_grad(|| -> Result<Vec<(usize, Tensor)>> {
            let mut outputs = Vec::with_capacity(steps);
            for step in (parallel.rank()..steps).step_by(parallel.size()) {
                let start = step * options.batch_size;
                let end = (start + options.batch_size).min(n);
                let batch = on_device(x.slice_axis(0, start, end)?, device)?;
                let y = self.forward(&Var::constant(batch), false)?.value();
                outputs.push((step, y.to(astrograd_autograd::Device::Cpu)?));
                bar.update(console.writer(), step + 1, &none, false);
            }
            Ok(outputs)
        })?;
        bar.update(console.writer(), steps, &none, true);
        if parallel.is_parallel() {
            return parallel.assemble(outputs, n, options.batch_size);
        }
        // One batch is the answer as it is; several are joined along the samples.
        if let [(_, only)] = &outputs[..] {
            return Ok(only.clone());
        }
        let parts: Vec<&Tensor> = outputs.iter().map(|(_, t)| t).collect();
        Ok(Tensor::concat(&parts, 0)?)
    }
}
