//! Data-parallel training: what `fit`, `evaluate` and `predict` do differently when the
//! program runs as N processes (`mpirun -n N`), through a
//! [`Communicator`](astrograd_distributed::Communicator). With one process every method here
//! returns at once, so a plain run pays nothing.
//!
//! # The recipe (Horovod's, and `tf.distribute.MultiWorkerMirroredStrategy`'s)
//! ```text
//! start of fit   all ranks agree on the batches per epoch and the parameter count (or all stop
//!                with the same error); rank 0's weights are broadcast to all
//! each epoch     rank 0's global generator is broadcast, so every rank shuffles alike
//! each step      rank r takes rows share(B, r, N) of the global batch of B samples;
//!                forward + backward on them; one all-reduce of [n_r·grad …, n_r];
//!                grad ← sum / B; the same optimizer step everywhere
//!                loss and metric sums all-reduced: every rank sees the global logs, so the
//!                callbacks (EarlyStopping, ReduceLROnPlateau, ModelCheckpoint) decide alike
//! end of epoch   a checksum of every weight, compared across ranks: a drift is an error
//! evaluate       rank r takes batches r, r+N, r+2N, …; the sums are all-reduced
//! predict        the same batches; the outputs are assembled on every rank (all-reduce of a
//!                zero-filled buffer where each rank wrote its rows)
//! ```
//! BatchNormalization computes its batch statistics over each rank's share, as Horovod and
//! PyTorch's DDP do without SyncBatchNorm; Dropout draws its masks from each rank's own
//! generator. Everything else equals the single-process run with the global batch, up to
//! the order in which floating-point sums are added.
use astrograd_autograd::{Tensor, Var};
use astrograd_distributed::{share, Communicator};
use astrograd_tensor::random::{global_state, set_global_state};

use super::evaluate::EpochMeans;
use super::history::Logs;
use super::metrics::Metric;
use crate::model::Model;
use crate::{LayerError, Result};

/// The processes a call of `fit`, `evaluate` or `predict` runs on.
#[derive(Clone, Copy)]
pub(crate) struct DataParallel<'c> {
    comm: &'c dyn Communicator,
}

impl<'c> DataParallel<'c> {
    /// On `comm`, or on the program's [`world`](astrograd_distributed::world) when `None`.
    pub(crate) fn new(comm: Option<&'c dyn Communicator>) -> DataParallel<'c> {
        DataParallel {
            comm: match comm {
                Some(comm) => comm,
                None => astrograd_distributed::world(),
            },
        }
    }

    pub(crate) fn rank(&self) -> usize {
        self.comm.rank()
    }

    pub(crate) fn size(&self) -> usize {
        self.comm.size()
    }

    /// Whether there is more than one process.
    pub(crate) fn is_parallel(&self) -> bool {
        self.size() > 1
    }

    /// Checks that every rank has the same `value` of `what`; otherwise every rank returns
    /// the same error, naming each rank's value (before any training, so no rank waits).
    pub(crate) fn agree(&self, op: &str, what: &str, value: usize) -> Result<()> {
        if !self.is_parallel() {
            return Ok(());
        }
        let values = self.comm.all_gather(value as f64);
        if values.iter().all(|&v| v == values[0]) {
            return Ok(());
        }
        let found: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(rank, v)| format!("rank {rank}: {v}"))
            .collect();
        Err(LayerError::invalid(
            op,
            format!("the same {what} on every process"),
            found.join(", "),
        ))
    }

    /// Copies rank 0's weights (all of them, moving statistics included) to every rank.
    pub(crate) fn broadcast_weights(&self, model: &Model) -> Result<()> {
        if !self.is_parallel() {
            return Ok(());
        }
        let weights: Vec<Var> = model.weights().into_iter().map(|w| w.var).collect();
        let mut flat = Vec::new();
        for w in &weights {
            flat.extend(w.value().to_vec()?);
        }
        self.comm.broadcast(&mut flat, 0);
        let mut at = 0;
        for w in &weights {
            let value = w.value();
            let n = value.numel();
            let new = Tensor::from_vec(flat[at..at + n].to_vec(), value.shape())?;
            w.set_value(new.to(value.device())?)?;
            at += n;
        }
        Ok(())
    }

    /// Copies rank 0's global random generator to every rank: the epoch's shuffle is then
    /// the same everywhere, even after ranks drew different amounts (dropout on shares of
    /// different sizes).
    pub(crate) fn broadcast_generator(&self) {
        if !self.is_parallel() {
            return;
        }
        let mut state = global_state();
        self.comm.broadcast_u64(&mut state, 0);
        set_global_state(state);
    }

    /// The rows of a batch of `n` samples that this rank trains on.
    pub(crate) fn my_share(&self, n: usize) -> std::ops::Range<usize> {
        share(n, self.rank(), self.size())
    }

    /// Replaces each weight's gradient (the mean over this rank's `samples`) by the mean over
    /// the whole global batch: one all-reduce of `[n_r·g …, gradient present …, n_r]`. A
    /// weight that no rank's loss reached keeps no gradient, as in a single process.
    pub(crate) fn average_gradients(&self, weights: &[Var], samples: usize) -> Result<()> {
        if !self.is_parallel() {
            return Ok(());
        }
        let grads: Vec<Option<Tensor>> = weights.iter().map(Var::grad).collect();
        let total: usize = weights.iter().map(|w| w.value().numel()).sum();
        let mut flat = Vec::with_capacity(total + weights.len() + 1);
        let scale = samples as f32;
        for (w, grad) in weights.iter().zip(&grads) {
            match grad {
                Some(g) => flat.extend(g.to_vec()?.into_iter().map(|v| v * scale)),
                None => flat.extend(std::iter::repeat_n(0.0, w.value().numel())),
            }
        }
        flat.extend(grads.iter().map(|g| f32::from(u8::from(g.is_some()))));
        flat.push(scale);
        self.comm.all_reduce_sum(&mut flat);
        let global_samples = flat[flat.len() - 1];
        let present = &flat[total..total + weights.len()];
        let mut at = 0;
        for (i, w) in weights.iter().enumerate() {
            let value = w.value();
            let n = value.numel();
            let grad = if present[i] > 0.0 && global_samples > 0.0 {
                let mean: Vec<f32> = flat[at..at + n]
                    .iter()
                    .map(|v| v / global_samples)
                    .collect();
                Some(Tensor::from_vec(mean, value.shape())?.to(value.device())?)
            } else {
                None
            };
            w.set_grad(grad);
            at += n;
        }
        Ok(())
    }

    /// The logs of `means` over every rank's samples: the loss and metric sums and counts,
    /// and the counts of the metrics that keep counts, all-reduced.
    pub(crate) fn global_logs(&self, means: &mut EpochMeans, metrics: &[Metric]) -> Result<Logs> {
        if !self.is_parallel() {
            return means.logs(metrics);
        }
        let mut global = means.read_back()?;
        let mut sums = global.sums();
        self.comm.all_reduce_sum_f64(&mut sums);
        global.set_sums(&sums);
        for counter in global.counters_mut() {
            let mut counts = counter.counts();
            // A rank that saw no batch has no counts yet: it sends zeros of the others' length.
            let lengths = self.comm.all_gather(counts.len() as f64);
            let longest = lengths.iter().fold(0.0_f64, |a, &b| a.max(b)) as usize;
            if lengths.iter().any(|&l| l != 0.0 && l as usize != longest) {
                return Err(LayerError::invalid(
                    format!("metric \"{}\"", counter.name),
                    "the same number of counts on every process",
                    format!("{lengths:?}"),
                ));
            }
            counts.resize(longest, 0.0);
            self.comm.all_reduce_sum_f64(&mut counts);
            counter.set_counts(&counts);
        }
        global.logs(metrics)
    }

    /// Checks that every rank holds the same weights, bit for bit (a 52-bit checksum of every
    /// weight's bits, all-gathered); an error names the epoch and each rank's checksum.
    pub(crate) fn check_in_sync(&self, model: &Model, epoch: usize) -> Result<()> {
        if !self.is_parallel() {
            return Ok(());
        }
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for w in model.weights() {
            for v in w.var.value().to_vec()? {
                hash = (hash ^ u64::from(v.to_bits())).wrapping_mul(0x0100_0000_01b3);
            }
        }
        // 52 bits: exactly representable in the f64 that all_gather carries.
        let checksum = (hash >> 12) as f64;
        let checksums = self.comm.all_gather(checksum);
        if checksums.iter().all(|&c| c == checksum) {
            return Ok(());
        }
        Err(LayerError::invalid(
            "fit (data-parallel)",
            format!(
                "the same weights on every process at the end of epoch {}",
                epoch + 1
            ),
            format!("weight checksums {checksums:?}: the processes have drifted apart"),
        ))
    }

    /// `predict`'s outputs: each rank computed the batches `rank, rank + size, …` of
    /// `batch_size` samples out of `n`; every rank gets all `n` rows, in order.
    pub(crate) fn assemble(
        &self,
        mine: Vec<(usize, Tensor)>,
        n: usize,
        batch_size: usize,
    ) -> Result<Tensor> {
        // Rank 0 always has batch 0: its per-sample shape is broadcast to the others.
        let mut sample_shape: Vec<f32> = vec![0.0; 8];
        if let Some((_, first)) = mine.first() {
            let dims = &first.shape()[1..];
            if dims.len() >= sample_shape.len() {
                return Err(LayerError::invalid(
                    "predict (data-parallel)",
                    "outputs of at most 7 dimensions per sample",
                    format!("{:?}", first.shape()),
                ));
            }
            sample_shape[0] = dims.len() as f32;
            for (slot, &d) in sample_shape[1..].iter_mut().zip(dims) {
                *slot = d as f32;
            }
        }
        self.comm.broadcast(&mut sample_shape, 0);
        let rank_count = sample_shape[0] as usize;
        let dims: Vec<usize> = sample_shape[1..=rank_count]
            .iter()
            .map(|&d| d as usize)
            .collect();
        let per_sample: usize = dims.iter().product();
        let mut all = vec![0.0_f32; n * per_sample];
        for (step, output) in mine {
            let start = step * batch_size * per_sample;
            let values = output.to_vec()?;
            all[start..start + values.len()].copy_from_slice(&values);
        }
        self.comm.all_reduce_sum(&mut all);
        let mut shape = vec![n];
        shape.extend(dims);
        Ok(Tensor::from_vec(all, &shape)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use astrograd_distributed::CommStats;

    /// Rank 0 of two processes, the other one scripted: its all-gathered value and the buffer
    /// it adds to every f32 all-reduce.
    struct PretendPair {
        other_value: f64,
        other_buffer: Vec<f32>,
    }

    impl Communicator for PretendPair {
        fn rank(&self) -> usize {
            0
        }
        fn size(&self) -> usize {
            2
        }
        fn all_reduce_sum(&self, buffer: &mut [f32]) {
            assert_eq!(
                buffer.len(),
                self.other_buffer.len(),
                "buffers of one length"
            );
            buffer
                .iter_mut()
                .zip(&self.other_buffer)
                .for_each(|(a, b)| *a += b);
        }
        fn all_reduce_sum_f64(&self, buffer: &mut [f64]) {
            buffer.iter_mut().for_each(|v| *v *= 2.0);
        }
        fn broadcast(&self, _buffer: &mut [f32], _root: usize) {}
        fn broadcast_u64(&self, _buffer: &mut [u64], _root: usize) {}
        fn barrier(&self) {}
        fn all_gather(&self, value: f64) -> Vec<f64> {
            vec![value, self.other_value]
        }
        fn abort(&self, code: i32) -> ! {
            panic!("abort({code})")
        }
        fn stats(&self) -> CommStats {
            CommStats::default()
        }
    }

    fn leaf(values: &[f32]) -> Var {
        Var::parameter(Tensor::from_vec(values.to_vec(), &[values.len()]).unwrap())
    }

    #[test]
    fn processes_that_disagree_name_every_value() {
        let pair = PretendPair {
            other_value: 12.0,
            other_buffer: Vec::new(),
        };
        let parallel = DataParallel::new(Some(&pair));
        assert!(parallel.agree("fit", "number of parameters", 12).is_ok());
        let err = parallel
            .agree("fit", "number of parameters", 10)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the same number of parameters on every process")
                && err.contains("rank 0: 10, rank 1: 12"),
            "{err}"
        );
    }

    /// 16 samples here with gradient g, 48 there with gradient h: the mean over 64 samples
    /// is (16·g + 48·h) / 64; a weight no loss reached keeps no gradient.
    #[test]
    fn gradients_are_averaged_by_samples() {
        let (w, unused) = (leaf(&[1.0, 2.0]), leaf(&[5.0]));
        w.set_grad(Some(Tensor::from_vec(vec![1.0, -2.0], &[2]).unwrap()));
        let h = [3.0_f32, 2.0];
        let pair = PretendPair {
            other_value: 0.0,
            // 48·h, then "has a gradient" for each weight, then the samples.
            other_buffer: vec![48.0 * h[0], 48.0 * h[1], 0.0, 1.0, 0.0, 48.0],
        };
        let parallel = DataParallel::new(Some(&pair));
        parallel
            .average_gradients(&[w.clone(), unused.clone()], 16)
            .unwrap();
        let mean = w.grad().unwrap().to_vec().unwrap();
        assert_eq!(
            mean,
            vec![(16.0 + 48.0 * 3.0) / 64.0, (-32.0 + 96.0) / 64.0]
        );
        assert!(unused.grad().is_none());
    }

    /// A process with no sample in a batch contributes nothing but takes the others' mean.
    #[test]
    fn a_process_without_samples_takes_the_others_gradient() {
        let w = leaf(&[1.0]);
        let pair = PretendPair {
            other_value: 0.0,
            other_buffer: vec![2.0 * 0.5, 1.0, 2.0],
        };
        DataParallel::new(Some(&pair))
            .average_gradients(std::slice::from_ref(&w), 0)
            .unwrap();
        assert_eq!(w.grad().unwrap().to_vec().unwrap(), vec![0.5]);
    }

    #[test]
    fn one_process_changes_nothing() {
        let alone = astrograd_distributed::SingleProcess;
        let parallel = DataParallel::new(Some(&alone));
        let w = leaf(&[1.0]);
        w.set_grad(Some(Tensor::from_vec(vec![0.25], &[1]).unwrap()));
        parallel
            .average_gradients(std::slice::from_ref(&w), 7)
            .unwrap();
        assert_eq!(w.grad().unwrap().to_vec().unwrap(), vec![0.25]);
        assert_eq!(parallel.my_share(32), 0..32);
        assert!(parallel.agree("fit", "anything", 3).is_ok());
    }
}
