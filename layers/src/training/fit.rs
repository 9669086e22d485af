//! `model.fit(x, y, …)`: the training loop.
//!
//! # One epoch
//! ```text
//! Epoch 3/7                                   (when epochs > 1)
//! for each batch (x_b, y_b) of the epoch:     (a fresh permutation each epoch with shuffle)
//!     out    = model(x_b, training=True)      (keeping the logits of a final softmax/sigmoid)
//!     loss   = mean_n loss(out, y_b)_n        (from the logits when it can, see `losses.rs`)
//!     loss.backward()                         (gradients in every trainable weight)
//!     optimizer.apply_gradients(weights)      (one fused update per weight)
//!     running means of loss and metrics += this batch, weighted by its size
//!     redraw the progress bar; callbacks' on_batch_end
//! validation: evaluate(x_val, y_val) with the epoch's final weights → val_loss, val_…
//! the epoch's line; callbacks' on_epoch_end (may add `lr`, may stop); history += logs
//! ```
//!
//! The hot loop copies nothing it does not need: a batch is gathered once (`Tensor::select`
//! on axis 0), the weights are updated in place, and the graph of a step is freed when the
//! step ends.
use astrograd_autograd::{Tensor, Var};
use astrograd_distributed::Communicator;
use astrograd_optim::Optimizer;

use super::callbacks::{Callback, TrainingContext};
use super::class_weight::{check_sample_weight, ClassWeight};
use super::compile::{not_compiled, Compiled};
use super::data::{check_batch_size, validation_split, ArraySource, BatchSource};
use super::data_parallel::DataParallel;
use super::evaluate::{evaluate_batches, EpochMeans};
use super::history::{History, HistoryParams, Logs};
use super::progress::{print_msg, BarMode, Console, Progbar, Verbose};
use crate::model::Model;
use crate::{LayerError, Result};

/// Held-out data to evaluate after each epoch.
pub enum ValidationData<'a> {
    /// `validation_data=(x_val, y_val)`.
    Arrays(Tensor, Tensor),
    /// `validation_data=val_generator`: every batch of it, each epoch.
    Batches(Box<dyn BatchSource + 'a>),
}

/// The arguments of `fit`, with Keras's defaults; set them by name:
/// `FitOptions::default().epochs(7).validation_split(0.1)`.
pub struct FitOptions<'a> {
    /// Samples per batch (32).
    pub batch_size: usize,
    /// The epoch to stop before (1); with `initial_epoch`, epochs `initial_epoch..epochs` run.
    pub epochs: usize,
    /// What to print (`Auto`, as Keras's `'auto'` = 1).
    pub verbose: Verbose,
    /// Fraction of the samples, the LAST ones, held out for validation (0.0: none).
    pub validation_split: f64,
    /// Validation data; takes precedence over `validation_split`.
    pub validation_data: Option<ValidationData<'a>>,
    /// Draw a fresh order of the samples each epoch (true).
    pub shuffle: bool,
    /// The epoch to start from (to resume training: `history.epoch.last() + 1`).
    pub initial_epoch: usize,
    /// Called in order at each stage of training.
    pub callbacks: Vec<Box<dyn Callback + 'a>>,
    /// Where to print (standard output when `None`).
    pub console: Option<Console>,
    /// `class_weight=`: each sample's loss scaled by its class's weight.
    pub class_weight: Option<ClassWeight>,
    /// `sample_weight=`: each sample's loss scaled by its own weight, `(N,)` (arrays only).
    pub sample_weight: Option<Tensor>,
    /// The processes to train on (`None`: the program's
    /// [`world`](astrograd_distributed::world), one process unless started by `mpirun`).
    pub communicator: Option<&'a dyn Communicator>,
}

impl Default for FitOptions<'_> {
    fn default() -> Self {
        FitOptions {
            batch_size: 32,
            epochs: 1,
            verbose: Verbose::Auto,
            validation_split: 0.0,
            validation_data: None,
            shuffle: true,
            initial_epoch: 0,
            callbacks: Vec::new(),
            console: None,
            class_weight: None,
            sample_weight: None,
            communicator: None,
        }
    }
}

impl<'a> FitOptions<'a> {
    /// `batch_size=`.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// `epochs=`.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// `verbose=` (0, 1, 2 or [`Verbose::Auto`]).
    pub fn verbose(mut self, verbose: impl Into<Verbose>) -> Self {
        self.verbose = verbose.into();
        self
    }

    /// `validation_split=`.
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.validation_split = fraction;
        self
    }

    /// `validation_data=(x_val, y_val)`.
    pub fn validation_data(mut self, x: &Tensor, y: &Tensor) -> Self {
        self.validation_data = Some(ValidationData::Arrays(x.clone(), y.clone()));
        self
    }

    /// `validation_data=generator`.
    pub fn validation_batches(mut self, source: impl BatchSource + 'a) -> Self {
        self.validation_data = Some(ValidationData::Batches(Box::new(source)));
        self
    }

    /// `shuffle=`.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// `initial_epoch=`.
    pub fn initial_epoch(mut self, epoch: usize) -> Self {
        self.initial_epoch = epoch;
        self
    }

    /// Adds a callback, by value or as `&mut callback` to read it afterwards.
    pub fn callback(mut self, callback: impl Callback + 'a) -> Self {
        self.callbacks.push(Box::new(callback));
        self
    }

    /// Adds several callbacks (none from an empty list or `None`).
    pub fn callbacks(
        mut self,
        callbacks: impl IntoIterator<Item = Box<dyn Callback + 'a>>,
    ) -> Self {
        self.callbacks.extend(callbacks);
        self
    }

    /// Prints to this console instead of standard output.
    pub fn console(mut self, console: Console) -> Self {
        self.console = Some(console);
        self
    }

    /// `class_weight={0: 1.0, 1: 9.0}`: `.class_weight([(0, 1.0), (1, 9.0)])`, or a weight per
    /// class index (`compute_class_weight`'s result as `f32`s).
    pub fn class_weight(mut self, class_weight: impl Into<ClassWeight>) -> Self {
        self.class_weight = Some(class_weight.into());
        self
    }

    /// `sample_weight=w`, one weight per sample of `x`.
    pub fn sample_weight(mut self, weights: &Tensor) -> Self {
        self.sample_weight = Some(weights.clone());
        self
    }

    /// Trains on these processes instead of the program's world (`&SingleProcess`: alone,
    /// even under `mpirun`).
    pub fn communicator(mut self, communicator: &'a dyn Communicator) -> Self {
        self.communicator = Some(communicator);
        self
    }
}

/// A batch source lent to `fit` is still a batch source.
impl<S: BatchSource + ?Sized> BatchSource for &mut S {
    fn len(&self) -> usize {
        (**self).len()
    }

    fn on_epoch_start(&mut self, epoch: usize) {
        (**self).on_epoch_start(epoch)
    }

    fn batch(&mut self, i: usize) -> Result<(Tensor, Tensor)> {
        (**self).batch(i)
    }

    fn sample_weights(&mut self, i: usize) -> Result<Option<Tensor>> {
        (**self).sample_weights(i)
    }

    fn shard(&mut self, rank: usize, size: usize) -> bool {
        (**self).shard(rank, size)
    }
}

impl Model {
    /// Keras's `model.fit(x, y, batch_size=32, epochs=1, …)`: trains on the arrays `x`, `y`
    /// (samples on the first axis) and returns the [`History`].
    ///
    /// ```
    /// use astrograd_autograd::Tensor;
    /// use astrograd_layers::training::FitOptions;
    /// use astrograd_layers::{Dense, Input, Sequential};
    /// let mut model = Sequential::new(vec![Box::new(Input::new(&[1])), Box::new(Dense::new(1))])?;
    /// model.compile("mse", "sgd", &[])?;
    /// let x = Tensor::from_vec(vec![0.0, 1.0, 2.0, 3.0], &[4, 1])?;
    /// let y = x.mul_scalar(2.0);
    /// let history = model.fit(&x, &y, FitOptions::default().epochs(3).verbose(0))?;
    /// assert_eq!(history.history.keys(), vec!["loss"]);
    /// assert_eq!(history.epoch, vec![0, 1, 2]);
    /// # Ok::<(), astrograd_layers::LayerError>(())
    /// ```
    ///
    /// # Errors
    /// Before `compile`; `x` and `y` with different numbers of samples; `validation_split`
    /// outside (0, 1) or leaving one side empty; no samples; a layer's or the loss's error
    /// (labels out of range); a callback's error. A NaN loss is not an error: it shows in the
    /// history (use [`TerminateOnNaN`](super::TerminateOnNaN) to stop).
    pub fn fit<'a>(&mut self, x: &Tensor, y: &Tensor, options: FitOptions<'a>) -> Result<History> {
        let mut options = options;
        DataParallel::new(options.communicator).agree(
            "fit",
            "number of samples",
            x.shape().first().copied().unwrap_or(0),
        )?;
        let weights = options.sample_weight.take();
        if let Some(w) = &weights {
            check_sample_weight(w, x.shape().first().copied().unwrap_or(0))?;
        }
        let (x_train, y_train, w_train) =
            if options.validation_data.is_none() && options.validation_split != 0.0 {
                let (train, (x_val, y_val)) = validation_split(x, y, options.validation_split)?;
                // The weights are split as the samples are; the validation loss uses its part.
                let split_at = train.0.shape()[0];
                let n = x.shape()[0];
                let (w_train, validation) = match &weights {
                    Some(w) => {
                        let w_val = w.slice_axis(0, split_at, n)?;
                        let source =
                            ArraySource::new(&x_val, &y_val, options.batch_size.max(1), false)?
                                .with_sample_weight(&w_val)?;
                        let batches: Box<dyn BatchSource + 'a> = Box::new(source);
                        (
                            Some(w.slice_axis(0, 0, split_at)?),
                            ValidationData::Batches(batches),
                        )
                    }
                    None => (None, ValidationData::Arrays(x_val, y_val)),
                };
                options.validation_data = Some(validation);
                (train.0, train.1, w_train)
            } else {
                (x.clone(), y.clone(), weights)
            };
        // On a GPU with room for them, the arrays go there once and each batch is gathered
        // there. Class weights read each batch's labels on the host, and many processes each
        // take a share of each batch: those keep the arrays on the host.
        let keep_on_device = options.class_weight.is_none()
            && !DataParallel::new(options.communicator).is_parallel();
        let (x_train, y_train) = match &self.compiled {
            Some(compiled) => crate::device::arrays_on_device(
                self,
                &compiled.loss,
                (x_train, y_train),
                keep_on_device,
            )?,
            None => (x_train, y_train),
        };
        // The validation arrays too, where there is room left after the training set: each
        // epoch's evaluation then gathers its batches there.
        if let (Some(compiled), Some(ValidationData::Arrays(x_val, y_val))) =
            (&self.compiled, &mut options.validation_data)
        {
            let arrays = (x_val.clone(), y_val.clone());
            (*x_val, *y_val) =
                crate::device::arrays_on_device(self, &compiled.loss, arrays, keep_on_device)?;
        }
        let mut source = ArraySource::new(&x_train, &y_train, options.batch_size, options.shuffle)?;
        if let Some(w) = &w_train {
            source = source.with_sample_weight(w)?;
        }
        self.fit_batches(&mut source, options)
    }

    /// `fit` on a [`BatchSource`] (Keras's `fit(generator)`): `source.len()` batches per
    /// epoch. `batch_size`, `shuffle` and `validation_split` of the options are not used (the
    /// source decides), except that `batch_size` batches the validation arrays.
    ///
    /// # Errors
    /// As [`Model::fit`]; the source's errors.
    pub fn fit_batches(
        &mut self,
        source: &mut dyn BatchSource,
        options: FitOptions,
    ) -> Result<History> {
        let mut compiled = self.compiled.take().ok_or_else(|| not_compiled("fit"))?;
        let result = self.train(&mut compiled, source, options);
        self.compiled = Some(compiled);
        result
    }

    /// The loop of `fit`, in named steps: [`TrainingRun::start`] checks the options,
    /// `on_train_begin`, then [`TrainingRun::epoch`] once per epoch (batches, validation, the
    /// epoch's logs into the history) until the last epoch or a callback stops it, then
    /// `on_train_end`.
    fn train(
        &mut self,
        compiled: &mut Compiled,
        source: &mut dyn BatchSource,
        options: FitOptions,
    ) -> Result<History> {
        let mut run = TrainingRun::start(source.len(), options)?;
        let mut history = History {
            params: run.hooks.params,
            ..History::default()
        };
        run.call(self, compiled, Moment::TrainBegin)?;
        run.sharded = run.distribute(self, source)?;
        let mut last_logs = Logs::new();
        // A callback (BackupAndRestore) may have moved the start.
        let first_epoch = run.hooks.initial_epoch.unwrap_or(run.initial_epoch);
        for epoch in first_epoch..run.epochs {
            let logs = run.epoch(self, compiled, source, epoch)?;
            history.history.push(&logs);
            history.epoch.push(epoch);
            last_logs = logs;
            if run.hooks.stop_training {
                break;
            }
        }
        if run.sharded {
            source.shard(0, 1);
        }
        run.call(self, compiled, Moment::TrainEnd(&last_logs))?;
        Ok(history)
    }

    /// One step of gradient descent on a batch (`None`: this process has no sample of it, in
    /// a data-parallel run), adding its loss and metrics to `means`; returns the batch's mean
    /// loss (a scalar tensor, on the model's device), if it had samples here.
    fn train_step(
        &mut self,
        compiled: &mut Compiled,
        weights: &mut Option<Vec<Var>>,
        batch: Option<Batch<'_>>,
        device: astrograd_autograd::Device,
        means: &mut EpochMeans,
        parallel: DataParallel,
    ) -> Result<Option<Tensor>> {
        let step = match batch {
            Some(batch) => Some(self.gradients(compiled, weights, batch, device)?),
            None => None,
        };
        let weights = weights.get_or_insert_with(|| self.trainable_vars());
        if step.is_none() {
            weights.iter().for_each(Var::zero_grad);
        }
        // Many processes: the mean gradient over the whole global batch (nothing with one).
        let samples = step.as_ref().map_or(0, |s| s.samples);
        parallel.average_gradients(weights, samples)?;
        compiled.optimizer.apply_gradients(weights)?;
        let Some(step) = step else {
            return Ok(None);
        };
        means.add(&mut compiled.metrics, &step.loss, &step.output, &step.y)?;
        Ok(Some(step.loss))
    }

    /// The trainable weights' variables.
    fn trainable_vars(&self) -> Vec<Var> {
        self.trainable_weights()
            .into_iter()
            .map(|w| w.var)
            .collect()
    }

    /// Forward and backward on a batch: every trainable weight's gradient of the batch's mean
    /// loss. Returns the loss, the outputs and the targets (on the device).
    fn gradients(
        &mut self,
        compiled: &mut Compiled,
        weights: &mut Option<Vec<Var>>,
        batch: Batch<'_>,
        device: astrograd_autograd::Device,
    ) -> Result<StepResult> {
        let Batch { x, y, .. } = batch;
        let samples = x.shape().first().copied().unwrap_or(1);
        // The batch goes where the weights are (a no-op on the CPU).
        let x = crate::device::on_device(x.clone(), device)?;
        let out = self.forward_with_logits(&Var::constant(x), true)?;
        if device != astrograd_autograd::Device::Cpu {
            compiled.loss.check_labels_on_host(&out.shape(), y)?;
        }
        let outputs = out.shape().last().copied().unwrap_or(1);
        let sample_weight = batch.weights(outputs)?;
        let y = crate::device::on_device(y.clone(), device)?;
        // Gathered after the first forward pass, which builds a model that did not know its
        // input shape.
        let weights = weights.get_or_insert_with(|| self.trainable_vars());
        for w in weights.iter() {
            w.zero_grad();
        }
        // The output for the metrics: with a softmax and a cross-entropy, the loss kernel's
        // probabilities (the softmax is not computed a second time).
        let (per_sample, output) = compiled.loss.per_sample_and_output(&out, &y)?;
        let loss = weighted_mean(&per_sample, sample_weight, device)?;
        loss.backward()?;
        // Free the step's graph before the update: its backward closures hold the weights'
        // values, and a weight still shared is copied before it is updated in place (a 38 MB
        // copy per step for the cats-vs-dogs CNN's Dense kernel; this bought 5 % of its epoch).
        // `per_sample` holds the graph too.
        let loss_value = loss.value();
        drop((loss, per_sample, out));
        Ok(StepResult {
            loss: loss_value,
            output,
            y,
            samples,
        })
    }
}

/// What a training step's forward and backward passes leave for the metrics.
struct StepResult {
    /// The batch's mean loss (a scalar).
    loss: Tensor,
    /// The model's outputs.
    output: Tensor,
    /// The targets, on the model's device.
    y: Tensor,
    /// The batch's samples.
    samples: usize,
}

/// One training batch and what weighs its samples.
struct Batch<'b> {
    x: &'b Tensor,
    y: &'b Tensor,
    /// From the batch source (`fit(sample_weight=…)`).
    sample_weight: Option<&'b Tensor>,
    /// `fit(class_weight=…)`.
    class_weight: Option<&'b ClassWeight>,
}

impl Batch<'_> {
    /// The weight of each sample: its class's weight times its own (`None`: all 1), for a
    /// model with `outputs` values per sample.
    fn weights(&self, outputs: usize) -> Result<Option<Tensor>> {
        let from_classes = match self.class_weight {
            Some(cw) => Some(cw.sample_weights(self.y, outputs)?),
            None => None,
        };
        let own = match self.sample_weight {
            Some(w) => Some(w.to_vec()?),
            None => None,
        };
        let combined = match (from_classes, own) {
            (None, None) => return Ok(None),
            (Some(w), None) | (None, Some(w)) => w,
            (Some(c), Some(s)) => c.iter().zip(&s).map(|(c, s)| c * s).collect(),
        };
        let n = combined.len();
        Ok(Some(Tensor::from_vec(combined, &[n])?))
    }
}

/// Keras's `SUM_OVER_BATCH_SIZE` reduction: `Σ_n w_n · loss_n / N` (the plain mean without
/// weights), on the device of the losses.
pub(crate) fn weighted_mean(
    per_sample: &Var,
    weights: Option<Tensor>,
    device: astrograd_autograd::Device,
) -> Result<Var> {
    let Some(weights) = weights else {
        return Ok(per_sample.mean_all()?);
    };
    if weights.numel() != per_sample.value().numel() {
        return Err(LayerError::invalid(
            "fit",
            format!(
                "one sample weight per loss ({})",
                per_sample.value().numel()
            ),
            format!("{} weights", weights.numel()),
        ));
    }
    let weights = crate::device::on_device(weights.reshape(&per_sample.shape())?, device)?;
    Ok(per_sample.mul(&Var::constant(weights))?.mean_all()?)
}

/// Warns once per `fit` when the loss first becomes NaN or infinite, naming the epoch and the
/// batch: without [`TerminateOnNaN`](super::TerminateOnNaN) training goes on (as in Keras), and
/// every weight soon becomes NaN too.
#[derive(Default)]
struct NonFiniteLossWarning {
    warned: bool,
}

impl NonFiniteLossWarning {
    /// Prints the warning if `loss` is not finite and none was printed yet. `epoch` and `step`
    /// count from 0 and are printed from 1, as the progress bar counts; `running` says that
    /// `loss` is the epoch's running mean, read at `step`, rather than that batch's own loss.
    fn check(
        &mut self,
        out: &mut dyn std::io::Write,
        epoch: usize,
        step: usize,
        loss: f32,
        running: bool,
    ) {
        if self.warned || loss.is_finite() {
            return;
        }
        self.warned = true;
        let when = if running { "by" } else { "at" };
        print_msg(
            out,
            &format!(
                "Warning: the loss became {loss} {when} epoch {}, batch {}; the weights will \
                 follow. Lower the learning rate or look for NaN in the data; \
                 TerminateOnNaN stops training at that batch.",
                epoch + 1,
                step + 1
            ),
        );
    }
}

/// What one call of `fit` carries from epoch to epoch: the options it was given, where it
/// prints, its callbacks and what they decided.
struct TrainingRun<'a> {
    /// Batches per epoch.
    steps: usize,
    /// The epoch to stop before, and the one to start from.
    epochs: usize,
    initial_epoch: usize,
    class_weight: Option<ClassWeight>,
    validation: Option<Box<dyn BatchSource + 'a>>,
    console: Console,
    mode: BarMode,
    callbacks: Vec<Box<dyn Callback + 'a>>,
    hooks: Hooks,
    non_finite: NonFiniteLossWarning,
    /// The processes this run trains on.
    parallel: DataParallel<'a>,
    /// Whether the source serves only this process's share of each batch.
    sharded: bool,
}

impl<'a> TrainingRun<'a> {
    /// Checks the options and prepares the validation source and the console.
    ///
    /// # Errors
    /// A batch size of 0, a source with no batches, `sample_weight` without arrays, bad class
    /// weights, or validation arrays that cannot be batched.
    fn start(steps: usize, options: FitOptions<'a>) -> Result<TrainingRun<'a>> {
        check_batch_size(options.batch_size)?;
        if steps == 0 {
            return Err(LayerError::invalid(
                "fit",
                "at least one batch of training data",
                "no samples",
            ));
        }
        if options.sample_weight.is_some() {
            return Err(LayerError::invalid(
                "fit_batches",
                "sample weights given by the batch source (BatchSource::sample_weights)",
                "FitOptions::sample_weight, which only fit on arrays uses",
            ));
        }
        if let Some(cw) = &options.class_weight {
            cw.validate()?;
        }
        let validation: Option<Box<dyn BatchSource + 'a>> = match options.validation_data {
            Some(ValidationData::Arrays(x, y)) => Some(Box::new(ArraySource::new(
                &x,
                &y,
                options.batch_size,
                false,
            )?)),
            Some(ValidationData::Batches(source)) => Some(source),
            None => None,
        };
        let parallel = DataParallel::new(options.communicator);
        let console = options.console.unwrap_or_else(Console::stdout);
        let mode = options.verbose.mode(console.is_terminal());
        let params = HistoryParams {
            verbose: options.verbose.level(),
            epochs: options.epochs,
            steps,
        };
        Ok(TrainingRun {
            steps,
            epochs: options.epochs,
            initial_epoch: options.initial_epoch,
            class_weight: options.class_weight,
            validation,
            console,
            mode,
            callbacks: options.callbacks,
            hooks: Hooks {
                params,
                stop_training: false,
                initial_epoch: None,
            },
            non_finite: NonFiniteLossWarning::default(),
            parallel,
            sharded: false,
        })
    }

    /// Before the first epoch of a data-parallel run: every process must have the same number
    /// of batches and of parameters (or all stop with the same error), then takes rank 0's
    /// weights. Returns whether `source` serves this process's shares itself.
    fn distribute(&mut self, model: &mut Model, source: &mut dyn BatchSource) -> Result<bool> {
        let parallel = self.parallel;
        parallel.agree("fit", "number of batches per epoch", self.steps)?;
        if !parallel.is_parallel() {
            return Ok(false);
        }
        if !model.is_built() {
            // A Sequential model without an input shape: built from the first batch's.
            let (x, _) = source.batch(0)?;
            model.build(&x.shape()[1..])?;
        }
        let parameters = model.weights().iter().map(|w| w.numel()).sum();
        parallel.agree("fit", "number of parameters", parameters)?;
        parallel.broadcast_weights(model)?;
        Ok(source.shard(parallel.rank(), parallel.size()))
    }

    /// This process's part of a batch: all of it alone, or when the source shards itself;
    /// otherwise the rows of its share (`None` when the share is empty).
    fn my_part(
        &self,
        x: Tensor,
        y: Tensor,
        weights: Option<Tensor>,
    ) -> Result<Option<(Tensor, Tensor, Option<Tensor>)>> {
        let n = x.shape().first().copied().unwrap_or(0);
        if !self.parallel.is_parallel() || self.sharded {
            return Ok((n > 0 || !self.parallel.is_parallel()).then_some((x, y, weights)));
        }
        let rows = self.parallel.my_share(n);
        if rows.is_empty() {
            return Ok(None);
        }
        let cut = |t: &Tensor| t.slice_axis(0, rows.start, rows.end);
        let weights = weights.as_ref().map(cut).transpose()?;
        Ok(Some((cut(&x)?, cut(&y)?, weights)))
    }

    /// Calls every callback at `moment`.
    fn call(&mut self, model: &mut Model, compiled: &mut Compiled, moment: Moment) -> Result<()> {
        self.hooks.call(
            model,
            compiled,
            &mut self.console,
            &mut self.callbacks,
            moment,
        )
    }

    /// One epoch: its header and `on_epoch_begin`, the batches, the validation pass, the
    /// epoch's line and `on_epoch_end`. Returns the epoch's logs (`val_…` included).
    fn epoch(
        &mut self,
        model: &mut Model,
        compiled: &mut Compiled,
        source: &mut dyn BatchSource,
        epoch: usize,
    ) -> Result<Logs> {
        if self.mode != BarMode::Silent && self.epochs > 1 {
            print_msg(
                self.console.writer(),
                &format!("Epoch {}/{}", epoch + 1, self.epochs),
            );
        }
        let mut bar = Progbar::new(self.steps, self.mode);
        self.call(model, compiled, Moment::EpochBegin(epoch))?;
        // Every process shuffles with rank 0's generator.
        self.parallel.broadcast_generator();
        source.on_epoch_start(epoch);
        let mut logs = self.batches(model, compiled, source, epoch, &mut bar)?;
        self.parallel.check_in_sync(model, epoch)?;
        if let Some(validation) = self.validation.as_mut() {
            let val_logs = evaluate_batches(
                model,
                compiled,
                validation.as_mut(),
                None,
                None,
                self.parallel,
            )?;
            for (key, value) in val_logs.iter() {
                logs.set(&format!("val_{key}"), value);
            }
        }
        bar.update(self.console.writer(), self.steps, &logs, true);
        self.call(model, compiled, Moment::EpochEnd(epoch, &mut logs))?;
        Ok(logs)
    }

    /// The training steps of one epoch, each followed by the bar and `on_batch_end`; stops
    /// early when a callback says so. Returns the running means of the loss and metrics.
    fn batches(
        &mut self,
        model: &mut Model,
        compiled: &mut Compiled,
        source: &mut dyn BatchSource,
        epoch: usize,
        bar: &mut Progbar,
    ) -> Result<Logs> {
        let mut means = EpochMeans::new(&compiled.metrics);
        // The trainable weights, gathered after the first forward pass (which builds a model
        // that did not know its input shape).
        let mut weights: Option<Vec<Var>> = None;
        let mut logs = Logs::new();
        // On a GPU, reading the running loss waits for the GPU: read it only for a callback
        // that looks at every batch, a drawing of the bar, and the epoch's end.
        let batch_logs_wanted = self.callbacks.iter().any(|c| c.wants_batch_logs());
        // Where the weights are: each batch is copied there.
        let device = model.device();
        let parallel = self.parallel;
        for step in 0..self.steps {
            let (x, y) = source.batch(step)?;
            let sample_weight = source.sample_weights(step)?;
            let part = self.my_part(x, y, sample_weight)?;
            let batch = part.as_ref().map(|(x, y, sample_weight)| Batch {
                x,
                y,
                sample_weight: sample_weight.as_ref(),
                class_weight: self.class_weight.as_ref(),
            });
            let loss =
                model.train_step(compiled, &mut weights, batch, device, &mut means, parallel)?;
            // On a GPU the step so far is only recorded: send it, in one submission.
            device.submit()?;
            if let (Some(loss), astrograd_autograd::Device::Cpu) = (&loss, device) {
                // On the CPU the batch's loss is at hand: the warning names the batch.
                let loss = loss.item()?;
                self.non_finite
                    .check(self.console.writer(), epoch, step, loss, false);
            }
            let last = step + 1 == self.steps;
            // Many processes read the global logs at every step, all of them together (a
            // collective must not depend on one rank's clock, as `would_draw` does).
            if parallel.is_parallel() || batch_logs_wanted || last || bar.would_draw(false) {
                logs = parallel.global_logs(&mut means, &compiled.metrics)?;
                if let Some(running) = logs.get("loss") {
                    // On a GPU the loss is read only here: the batch is the latest one.
                    self.non_finite
                        .check(self.console.writer(), epoch, step, running, true);
                }
                bar.update(self.console.writer(), step + 1, &logs, false);
            }
            self.call(model, compiled, Moment::BatchEnd(step, &logs))?;
            if self.hooks.stop_training {
                break;
            }
        }
        Ok(logs)
    }
}

/// The moments at which `fit` calls the callbacks (Keras's `on_…` methods), with what each
/// receives.
enum Moment<'l> {
    TrainBegin,
    EpochBegin(usize),
    BatchEnd(usize, &'l Logs),
    EpochEnd(usize, &'l mut Logs),
    TrainEnd(&'l Logs),
}

/// Runs the callbacks with a [`TrainingContext`] and carries `stop_training` between calls.
struct Hooks {
    params: HistoryParams,
    stop_training: bool,
    /// An epoch to start from, set by a callback in `on_train_begin`.
    initial_epoch: Option<usize>,
}

impl Hooks {
    /// Calls every callback at `moment` with a [`TrainingContext`] on the model, and keeps
    /// what they decided (stop, or start from another epoch).
    fn call<'c>(
        &mut self,
        model: &mut Model,
        compiled: &mut Compiled,
        console: &mut Console,
        callbacks: &mut [Box<dyn Callback + 'c>],
        mut moment: Moment,
    ) -> Result<()> {
        if callbacks.is_empty() {
            return Ok(());
        }
        let Compiled {
            loss,
            optimizer,
            metrics,
        } = compiled;
        let optimizer: &mut dyn Optimizer = optimizer.as_mut();
        let mut ctx = TrainingContext::new(model, optimizer, console.writer(), self.params)
            .with_compiled(*loss, metrics);
        ctx.stop_training = self.stop_training;
        let result = callbacks.iter_mut().try_for_each(|c| match &mut moment {
            Moment::TrainBegin => c.on_train_begin(&mut ctx),
            Moment::EpochBegin(epoch) => c.on_epoch_begin(*epoch, &mut ctx),
            Moment::BatchEnd(step, logs) => c.on_batch_end(*step, logs, &mut ctx),
            Moment::EpochEnd(epoch, logs) => c.on_epoch_end(*epoch, logs, &mut ctx),
            Moment::TrainEnd(logs) => c.on_train_end(logs, &mut ctx),
        });
        self.stop_training = ctx.stop_training;
        if ctx.initial_epoch.is_some() {
            self.initial_epoch = ctx.initial_epoch;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::{
        format_value, EarlyStopping, EvalOptions, Loss, ReduceLROnPlateau, TerminateOnNaN,
    };
    use crate::{Dense, Input, Sequential};
    use astrograd_optim::{Adam, SGD};
    use astrograd_tensor::random::Rng;
    use astrograd_tensor::set_seed;

    /// `n` points of the plane labelled 1 when `x0 + x1 > 0`: separable by one line.
    fn blobs(n: usize, seed: u64) -> (Tensor, Tensor) {
        let mut rng = Rng::new(seed);
        let x: Vec<f32> = (0..2 * n).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
        let y: Vec<f32> = x
            .chunks(2)
            .map(|p| f32::from(u8::from(p[0] + p[1] > 0.0)))
            .collect();
        (
            Tensor::from_vec(x, &[n, 2]).unwrap(),
            Tensor::from_vec(y, &[n]).unwrap(),
        )
    }

    fn classifier() -> Model {
        Sequential::new(vec![
            Box::new(Input::new(&[2])),
            Box::new(Dense::new(8).activation("relu")),
            Box::new(Dense::new(2).activation("softmax")),
        ])
        .unwrap()
    }

    fn quiet<'a>() -> FitOptions<'a> {
        FitOptions::default().verbose(0)
    }

    #[test]
    fn fit_converges_on_a_separable_problem() {
        set_seed(1);
        let (x, y) = blobs(256, 7);
        let mut model = classifier();
        model
            .compile(
                "sparse_categorical_crossentropy",
                Adam::new(0.02),
                &["accuracy"],
            )
            .unwrap();
        let history = model
            .fit(
                &x,
                &y,
                quiet().epochs(15).batch_size(16).validation_split(0.25),
            )
            .unwrap();
        assert_eq!(
            history.history.keys(),
            vec!["loss", "accuracy", "val_loss", "val_accuracy"]
        );
        assert_eq!(history.epoch, (0..15).collect::<Vec<_>>());
        // 192 training samples in batches of 16.
        assert_eq!(
            history.params,
            HistoryParams {
                verbose: 0,
                epochs: 15,
                steps: 12
            }
        );
        let loss = &history.history["loss"];
        assert!(loss[14] < loss[0] * 0.5, "{loss:?}");
        assert!(
            history.history["val_accuracy"][14] > 0.9,
            "{:?}",
            history.history
        );
        // evaluate on the validation part gives the last val_ numbers (same weights, same data).
        let (x_val, y_val) = (
            x.slice_axis(0, 192, 256).unwrap(),
            y.slice_axis(0, 192, 256).unwrap(),
        );
        let scores = model
            .evaluate(&x_val, &y_val, EvalOptions::from(16).verbose(0))
            .unwrap();
        assert!((scores[0] - history.history["val_loss"][14]).abs() < 1e-6);
        assert_eq!(scores[1], history.history["val_accuracy"][14]);
        // predict returns probabilities, in order, across a partial last batch.
        let probs = model
            .predict(&x_val, EvalOptions::from(10).verbose(0))
            .unwrap();
        assert_eq!(probs.shape(), &[64, 2]);
        let direct = model.forward(&Var::constant(x_val), false).unwrap().value();
        assert!(probs.all_close(&direct, 1e-6, 1e-6));
    }

    #[test]
    fn bad_input_gives_typed_errors() {
        let (x, y) = blobs(10, 1);
        let mut model = classifier();
        let err = model.fit(&x, &y, quiet()).unwrap_err().to_string();
        assert!(
            err.contains("You must compile your model before training/testing"),
            "{err}"
        );
        assert!(model.evaluate(&x, &y, 32).is_err());
        model
            .compile("sparse_categorical_crossentropy", "sgd", &["accuracy"])
            .unwrap();
        let short = y.slice_axis(0, 0, 9).unwrap();
        let err = model.fit(&x, &short, quiet()).unwrap_err().to_string();
        assert!(err.contains("Data cardinality is ambiguous"), "{err}");
        let err = model
            .fit(&x, &y, quiet().validation_split(1.0))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("validation_split strictly between 0 and 1"),
            "{err}"
        );
        let labels = Tensor::from_vec(vec![2.0; 10], &[10]).unwrap();
        let err = model.fit(&x, &labels, quiet()).unwrap_err();
        assert!(matches!(err, LayerError::Autograd(_)), "{err:?}");
        assert!(model.fit(&x, &y, quiet().batch_size(0)).is_err());
        let err = model
            .fit(&Tensor::zeros(&[10, 3]), &y, quiet())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("expected shape=(None, 2), found shape=(10, 3)"),
            "{err}"
        );
        // The model stays compiled after a failed fit.
        assert!(model.is_compiled());
        assert!(model.predict(&Tensor::zeros(&[0, 2]), 32).is_err());
    }

    #[test]
    fn a_nan_loss_lands_in_the_history_unless_terminate_on_nan_stops() {
        let (x, mut y) = blobs(8, 1);
        y = y.map(|_| f32::NAN).unwrap();
        let mut model =
            Sequential::new(vec![Box::new(Input::new(&[2])), Box::new(Dense::new(1))]).unwrap();
        model.compile("mse", "sgd", &[]).unwrap();
        let history = model.fit(&x, &y, quiet().epochs(2).batch_size(4)).unwrap();
        assert!(history.history["loss"].iter().all(|l| l.is_nan()));
        assert_eq!(history.epoch, vec![0, 1]);
        let (console, captured) = Console::capture(false);
        let history = model
            .fit(
                &x,
                &y,
                quiet()
                    .epochs(3)
                    .batch_size(4)
                    .callback(TerminateOnNaN::new())
                    .console(console),
            )
            .unwrap();
        assert_eq!(history.epoch, vec![0]);
        assert_eq!(
            captured.text(),
            "Warning: the loss became NaN at epoch 1, batch 1; the weights will follow. Lower \
             the learning rate or look for NaN in the data; TerminateOnNaN stops training at \
             that batch.\nBatch 0: Invalid loss, terminating training\n"
        );
    }

    /// Without TerminateOnNaN, `fit` still says once where the loss first became NaN.
    #[test]
    fn fit_warns_once_where_the_loss_first_becomes_nan() {
        let (x, y) = blobs(8, 1);
        // Sample 6 is the first of batch 4 (batches of 2, in order): its label is NaN.
        let mut labels = y.to_vec().unwrap();
        labels[6] = f32::NAN;
        let y = Tensor::from_vec(labels, y.shape()).unwrap();
        let mut model =
            Sequential::new(vec![Box::new(Input::new(&[2])), Box::new(Dense::new(1))]).unwrap();
        model.compile("mse", "sgd", &[]).unwrap();
        let (console, captured) = Console::capture(false);
        let history = model
            .fit(
                &x,
                &y,
                quiet()
                    .epochs(3)
                    .batch_size(2)
                    .shuffle(false)
                    .console(console),
            )
            .unwrap();
        assert_eq!(
            history.epoch,
            vec![0, 1, 2],
            "training goes on, as in Keras"
        );
        let text = captured.text();
        assert_eq!(
            text.matches("Warning: the loss became").count(),
            1,
            "{text}"
        );
        assert!(text.contains("became NaN at epoch 1, batch 4;"), "{text}");
    }

    /// Without a terminal: `Epoch i/E`, then one Keras verbose-2 line per epoch.
    #[test]
    fn output_without_a_terminal_is_one_line_per_epoch() {
        let (x, y) = blobs(40, 2);
        let mut model = classifier();
        model
            .compile("sparse_categorical_crossentropy", "sgd", &["accuracy"])
            .unwrap();
        let (console, captured) = Console::capture(false);
        let options = FitOptions::default()
            .epochs(2)
            .batch_size(16)
            .validation_data(&x, &y)
            .console(console);
        let history = model.fit(&x, &y, options).unwrap();
        let text = captured.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!((lines[0], lines[2]), ("Epoch 1/2", "Epoch 2/2"));
        let expected_values = format!(
            " - loss: {} - accuracy: {} - val_loss: {} - val_accuracy: {} - ",
            format_value(history.history["loss"][1], true),
            format_value(history.history["accuracy"][1], true),
            format_value(history.history["val_loss"][1], true),
            format_value(history.history["val_accuracy"][1], true),
        );
        assert!(lines[3].starts_with("3/3 - 0s - loss: "), "{}", lines[3]);
        assert!(
            lines[3].contains(&expected_values),
            "{}\n{expected_values}",
            lines[3]
        );
        assert!(
            lines[3].ends_with("/step") && lines[3].contains("/epoch - "),
            "{}",
            lines[3]
        );
        assert!(!text.contains('\r'));
    }

    /// Precision, AUC and top-k show in the bar and the History under Keras's names.
    #[test]
    fn counting_metrics_show_in_the_bar_and_the_history() {
        let (x, y) = blobs(40, 2);
        let one_hot = astrograd_data::arrays::one_hot(&y, 2).unwrap();
        let mut model = classifier();
        model
            .compile(
                "categorical_crossentropy",
                "sgd",
                &["accuracy", "Precision", "AUC", "top_k_categorical_accuracy"],
            )
            .unwrap();
        let (console, captured) = Console::capture(false);
        let options = FitOptions::default()
            .batch_size(16)
            .validation_data(&x, &one_hot)
            .class_weight(vec![1.0, 3.0])
            .console(console);
        let history = model.fit(&x, &one_hot, options).unwrap();
        assert_eq!(
            history.history.keys(),
            vec![
                "loss",
                "accuracy",
                "precision",
                "auc",
                "top_k_categorical_accuracy",
                "val_loss",
                "val_accuracy",
                "val_precision",
                "val_auc",
                "val_top_k_categorical_accuracy"
            ]
        );
        let text = captured.text();
        for key in [" - precision: ", " - auc: ", " - val_auc: "] {
            assert!(text.contains(key), "{key} in {text}");
        }
        // Integer labels: Precision refuses them, as Keras does.
        model
            .compile("sparse_categorical_crossentropy", "sgd", &["Precision"])
            .unwrap();
        let err = model.fit(&x, &y, quiet()).unwrap_err().to_string();
        assert!(err.contains("one-hot encode"), "{err}");
    }

    /// On a terminal the bar is redrawn with `\r` and the last drawing of each epoch ends the
    /// line; evaluate and predict draw their own bars.
    #[test]
    fn output_on_a_terminal_is_the_redrawn_bar() {
        let (x, y) = blobs(40, 2);
        let mut model = classifier();
        model
            .compile("sparse_categorical_crossentropy", "sgd", &["accuracy"])
            .unwrap();
        let (console, captured) = Console::capture(true);
        model
            .fit(
                &x,
                &y,
                FitOptions::default().batch_size(16).console(console),
            )
            .unwrap();
        let text = captured.text();
        assert!(
            !text.contains("Epoch 1/1"),
            "one epoch prints no Epoch line: {text:?}"
        );
        assert!(
            text.starts_with("\r1/3 [=========>....................] - ETA: "),
            "{text:?}"
        );
        let last = text.rsplit('\r').next().unwrap();
        assert!(
            last.starts_with("3/3 [==============================] - 0s "),
            "{last:?}"
        );
        assert!(
            last.contains("/step - loss: ") && last.ends_with('\n'),
            "{last:?}"
        );
        let (console, captured) = Console::capture(true);
        model
            .evaluate(&x, &y, EvalOptions::from(40).console(console))
            .unwrap();
        let text = captured.text();
        assert!(
            text.starts_with("\r1/1 [==============================] - ETA: 0s - loss: "),
            "{text:?}"
        );
        let last = text.rsplit('\r').next().unwrap();
        assert!(
            last.starts_with("1/1 [==============================] - 0s ")
                && last.contains("/step - loss: "),
            "{last:?}"
        );
        let (console, captured) = Console::capture(true);
        model
            .predict(&x, EvalOptions::from(40).console(console))
            .unwrap();
        let text = captured.text();
        let last = text.rsplit('\r').next().unwrap();
        assert!(
            last.starts_with("1/1 [==============================] - 0s ")
                && last.ends_with("/step\n"),
            "{text:?}"
        );
        let (console, captured) = Console::capture(true);
        model
            .predict(&x, EvalOptions::from(40).verbose(0).console(console))
            .unwrap();
        assert_eq!(captured.text(), "");
    }

    #[test]
    fn callbacks_stop_restore_and_add_lr_to_the_history() {
        set_seed(5);
        let (x, y) = blobs(32, 4);
        let mut model = classifier();
        model
            .compile(
                "sparse_categorical_crossentropy",
                SGD::new(0.0),
                &["accuracy"],
            )
            .unwrap();
        // With lr 0 nothing changes: val_loss never improves after epoch 1.
        let mut stopping = EarlyStopping::new().monitor("loss").patience(2).verbose(1);
        let (console, captured) = Console::capture(false);
        let history = model
            .fit(
                &x,
                &y,
                quiet()
                    .epochs(10)
                    .shuffle(false)
                    .callback(&mut stopping)
                    .callback(ReduceLROnPlateau::new().monitor("loss").patience(1))
                    .console(console),
            )
            .unwrap();
        assert_eq!(history.epoch, vec![0, 1, 2]);
        assert_eq!(stopping.stopped_epoch(), 2);
        assert_eq!(captured.text(), "Epoch 3: early stopping\n");
        assert_eq!(history.history.keys(), vec!["loss", "accuracy", "lr"]);
        assert_eq!(history.history["lr"], [0.0, 0.0, 0.0]);
    }

    /// `fit(initial_epoch=1, epochs=3)` runs epochs 2 and 3 (printed 1-based).
    #[test]
    fn initial_epoch_resumes_the_count() {
        let (x, y) = blobs(8, 1);
        let mut model = classifier();
        model
            .compile(
                Loss::SparseCategoricalCrossentropy { from_logits: false },
                "adam",
                &[],
            )
            .unwrap();
        let (console, captured) = Console::capture(false);
        let history = model
            .fit(
                &x,
                &y,
                FitOptions::default()
                    .epochs(3)
                    .initial_epoch(1)
                    .console(console),
            )
            .unwrap();
        assert_eq!(history.epoch, vec![1, 2]);
        let text = captured.text();
        assert!(
            text.starts_with("Epoch 2/3\n1/1 - ") && text.contains("Epoch 3/3\n"),
            "{text}"
        );
    }

    /// A user's batch source (as ImageDataGenerator will be) drives `fit_batches`.
    #[test]
    fn fit_batches_takes_any_batch_source() {
        struct Repeated {
            x: Tensor,
            y: Tensor,
            epochs_started: Vec<usize>,
        }
        impl BatchSource for Repeated {
            fn len(&self) -> usize {
                3
            }
            fn on_epoch_start(&mut self, epoch: usize) {
                self.epochs_started.push(epoch);
            }
            fn batch(&mut self, _i: usize) -> Result<(Tensor, Tensor)> {
                Ok((self.x.clone(), self.y.clone()))
            }
        }
        let (x, y) = blobs(8, 1);
        let mut source = Repeated {
            x: x.clone(),
            y: y.clone(),
            epochs_started: vec![],
        };
        let mut model = classifier();
        model
            .compile("sparse_categorical_crossentropy", "adam", &["accuracy"])
            .unwrap();
        let validation = ArraySource::new(&x, &y, 4, false).unwrap();
        let history = model
            .fit_batches(
                &mut source,
                quiet().epochs(2).validation_batches(validation),
            )
            .unwrap();
        assert_eq!(source.epochs_started, vec![0, 1]);
        assert_eq!(history.params.steps, 3);
        assert_eq!(
            history.history.keys(),
            vec!["loss", "accuracy", "val_loss", "val_accuracy"]
        );
    }
}
