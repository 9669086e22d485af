//! The data-parallel seam: how `fit`, `evaluate` and `predict` talk to the other processes of
//! a run, and nothing else.
//!
//! # One training step on N processes (Horovod's recipe)
//! ```text
//! every rank r of N:   the same global batch of B samples, in the same shuffled order
//!                      rows share(B, r, N) of it  → forward, loss, backward  (n_r samples)
//!                      buffer = [n_r · ∂L_r/∂w for every weight …, n_r]
//!  all-reduce (sum) →  buffer = [Σ_r n_r · ∂L_r/∂w …, B]
//!                      ∂L/∂w = buffer / B      (= the gradient of the mean over all B samples)
//!                      the same optimizer step on the same weights → the same new weights
//! ```
//! Because every rank ends a step with the same weights, nothing else needs to travel: no
//! parameter server, no weights sent after the start (rank 0's initial weights are broadcast
//! once, by `fit`).
//!
//! # The world
//! [`world`] is the set of processes this program was started in:
//! - a plain run (`cargo run --example …`), or a build without the `mpi` feature: one process,
//!   [`SingleProcess`], whose collectives do nothing;
//! - with the `mpi` feature, under `mpirun -n N` or `srun`: the MPI world of N processes
//!   (`MpiWorld`), initialised on first use and finalised when the program exits.
//!
//! The crate depends on no other part of astrograd (DESIGN: below the training loop and above
//! nothing else): it moves flat buffers of numbers, and `layers` decides what they mean.
use std::ops::Range;
use std::sync::OnceLock;

#[cfg(feature = "mpi")]
mod mpi_world;
#[cfg(feature = "mpi")]
pub use mpi_world::MpiWorld;

/// What the communicator has spent on all-reduces since the program started (the share of a
/// step that `bench_epochs` reports).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CommStats {
    /// All-reduce calls.
    pub all_reduces: u64,
    /// Bytes all-reduced (each call's buffer, counted once).
    pub bytes: u64,
    /// Seconds spent inside all-reduce calls (waiting for the slowest rank included).
    pub seconds: f64,
}

/// The processes of a data-parallel run, as `fit` needs them: who am I, how many are we, and
/// four collectives. Every rank must call the same collectives in the same order with buffers
/// of the same length; a rank that does not makes the others wait forever (MPI's rule).
pub trait Communicator: Send + Sync {
    /// This process's number, `0 ≤ rank < size` (rank 0 prints and writes the files).
    fn rank(&self) -> usize;

    /// The number of processes.
    fn size(&self) -> usize;

    /// `buffer ← Σ_ranks buffer`, element by element, the same result on every rank.
    fn all_reduce_sum(&self, buffer: &mut [f32]);

    /// [`Communicator::all_reduce_sum`] in `f64` (counts and sums of the metrics).
    fn all_reduce_sum_f64(&self, buffer: &mut [f64]);

    /// `buffer ← root's buffer` on every rank.
    fn broadcast(&self, buffer: &mut [f32], root: usize);

    /// [`Communicator::broadcast`] of 64-bit words (a random generator's state).
    fn broadcast_u64(&self, buffer: &mut [u64], root: usize);

    /// Waits until every rank has called it.
    fn barrier(&self);

    /// Every rank's `value`, in rank order, on every rank.
    fn all_gather(&self, value: f64) -> Vec<f64>;

    /// Ends the whole job with `code` (MPI_Abort): what a rank that met an error does, so that
    /// the others do not wait for it forever.
    fn abort(&self, code: i32) -> !;

    /// What the all-reduces have cost so far.
    fn stats(&self) -> CommStats {
        CommStats::default()
    }

    /// A name for messages: `"1 process"`, `"MPI, 4 processes"`.
    fn describe(&self) -> String {
        match self.size() {
            1 => "1 process".to_string(),
            n => format!("{n} processes"),
        }
    }
}

/// One process alone: rank 0 of 1, every collective a no-op (what every run without MPI uses).
#[derive(Clone, Copy, Debug, Default)]
pub struct SingleProcess;

impl Communicator for SingleProcess {
    fn rank(&self) -> usize {
        0
    }

    fn size(&self) -> usize {
        1
    }

    fn all_reduce_sum(&self, _buffer: &mut [f32]) {}

    fn all_reduce_sum_f64(&self, _buffer: &mut [f64]) {}

    fn broadcast(&self, _buffer: &mut [f32], _root: usize) {}

    fn broadcast_u64(&self, _buffer: &mut [u64], _root: usize) {}

    fn barrier(&self) {}

    fn all_gather(&self, value: f64) -> Vec<f64> {
        vec![value]
    }

    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }
}

/// The processes this program runs in (see the crate's docs), found on first use.
///
/// A build with the `mpi` feature that was not started by an MPI launcher runs alone and says
/// so once, on standard error.
pub fn world() -> &'static dyn Communicator {
    static WORLD: OnceLock<Box<dyn Communicator>> = OnceLock::new();
    WORLD.get_or_init(find_world).as_ref()
}

#[cfg(feature = "mpi")]
fn find_world() -> Box<dyn Communicator> {
    if launched_by_mpi(|name| std::env::var_os(name).is_some()) {
        Box::new(MpiWorld::init())
    } else {
        eprintln!(
            "astrograd: built with MPI, but not started by mpirun or srun: training in this one \
             process"
        );
        Box::new(SingleProcess)
    }
}

#[cfg(not(feature = "mpi"))]
fn find_world() -> Box<dyn Communicator> {
    Box::new(SingleProcess)
}

/// The variables that MPI launchers set in every process they start: Open MPI's `mpirun`,
/// PMI (MPICH's Hydra, Intel MPI, `srun --mpi=pmi2`) and PMIx (`srun --mpi=pmix`, Open MPI 5).
pub const LAUNCHER_VARIABLES: [&str; 5] = [
    "OMPI_COMM_WORLD_SIZE",
    "PMI_SIZE",
    "PMI_RANK",
    "PMIX_RANK",
    "MPI_LOCALNRANKS",
];

/// Whether an MPI launcher started this process, given a test of whether a variable is set.
pub fn launched_by_mpi(is_set: impl Fn(&str) -> bool) -> bool {
    LAUNCHER_VARIABLES.iter().any(|name| is_set(name))
}

/// Whether this process is rank 0 of [`world`]: the one that prints and writes files.
pub fn is_main_process() -> bool {
    world().rank() == 0
}

/// The rows of a batch of `n` samples that rank `rank` of `size` takes:
/// `⌊rank·n/size⌋ .. ⌊(rank+1)·n/size⌋`. The shares are contiguous, cover `0..n` once, and
/// differ in length by at most one (so when `size` does not divide `n`, the first ranks take
/// one sample fewer; a rank may get none when `n < size`).
///
/// ```
/// use astrograd_distributed::share;
/// assert_eq!(share(32, 0, 2), 0..16);
/// assert_eq!(share(32, 1, 2), 16..32);
/// assert_eq!([share(10, 0, 3), share(10, 1, 3), share(10, 2, 3)], [0..3, 3..6, 6..10]);
/// assert_eq!(share(1, 0, 2), 0..0);
/// ```
pub fn share(n: usize, rank: usize, size: usize) -> Range<usize> {
    assert!(size > 0 && rank < size, "rank {rank} of {size}");
    (rank * n / size)..((rank + 1) * n / size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_single_process_changes_nothing() {
        let world = SingleProcess;
        let mut values = vec![1.5, -2.0];
        world.all_reduce_sum(&mut values);
        world.broadcast(&mut values, 0);
        let mut sums = vec![3.0_f64];
        world.all_reduce_sum_f64(&mut sums);
        let mut words = vec![u64::MAX];
        world.broadcast_u64(&mut words, 0);
        world.barrier();
        assert_eq!(values, vec![1.5, -2.0]);
        assert_eq!(sums, vec![3.0]);
        assert_eq!(words, vec![u64::MAX]);
        assert_eq!(world.all_gather(7.0), vec![7.0]);
        assert_eq!((world.rank(), world.size()), (0, 1));
        assert_eq!(world.describe(), "1 process");
        assert_eq!(world.stats(), CommStats::default());
    }

    #[test]
    fn the_launchers_are_recognised_by_their_variables() {
        assert!(!launched_by_mpi(|_| false));
        for name in LAUNCHER_VARIABLES {
            assert!(launched_by_mpi(|v| v == name), "{name}");
        }
        assert!(!launched_by_mpi(|v| v == "SLURM_JOB_ID"));
    }

    /// Without a launcher (as the test harness runs) the world is one process.
    #[test]
    fn the_world_of_a_plain_run_is_one_process() {
        if launched_by_mpi(|name| std::env::var_os(name).is_some()) {
            return; // the same tests run under mpirun by hand
        }
        assert_eq!(world().size(), 1);
        assert!(is_main_process());
    }

    proptest! {
        /// The shares tile `0..n` in rank order and differ in length by at most one.
        #[test]
        fn shares_tile_the_batch(n in 0usize..300, size in 1usize..17) {
            let shares: Vec<Range<usize>> = (0..size).map(|r| share(n, r, size)).collect();
            prop_assert_eq!(shares[0].start, 0);
            prop_assert_eq!(shares[size - 1].end, n);
            for pair in shares.windows(2) {
                prop_assert_eq!(pair[0].end, pair[1].start);
            }
            let lengths: Vec<usize> = shares.iter().map(|s| s.len()).collect();
            let (min, max) = (lengths.iter().min().unwrap(), lengths.iter().max().unwrap());
            prop_assert!(max - min <= 1);
        }
    }
}
