//! The MPI world (`mpirun -n N`, `srun`), through rsmpi over the system's MPI library.
//!
//! MPI is initialised once, on the first call of [`crate::world`], with `MPI_THREAD_SERIALIZED`
//! (rayon's threads compute; only one thread at a time calls MPI, which the lock below makes
//! sure of), and finalised by an `atexit` handler, so a program that returns from `main`
//! (or calls `std::process::exit`) ends MPI properly and `mpirun` reports success.
use std::sync::Mutex;
use std::time::Instant;

use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator as _, CommunicatorCollectives, Root};
use mpi::Threading;

use crate::{CommStats, Communicator};

/// The MPI environment, finalised (dropped) at exit.
static UNIVERSE: Mutex<Option<Universe>> = Mutex::new(None);

/// Runs `MPI_Finalize` (by dropping rsmpi's `Universe`) when the program exits.
extern "C" fn finalize_at_exit() {
    if let Ok(mut universe) = UNIVERSE.lock() {
        drop(universe.take());
    }
}

/// `MPI_COMM_WORLD` and what its all-reduces have cost.
pub struct MpiWorld {
    rank: usize,
    size: usize,
    /// The communicator, one caller at a time.
    comm: Mutex<WorldComm>,
    stats: Mutex<CommStats>,
}

/// rsmpi's handle to `MPI_COMM_WORLD`. MPI handles are plain numbers or pointers owned by the
/// MPI library; with `MPI_THREAD_SERIALIZED` any thread may use them, one at a time (the
/// `Mutex` in [`MpiWorld`]).
struct WorldComm(SimpleCommunicator);

// SAFETY: see `WorldComm`: the handle is only used under `MpiWorld::comm`'s lock, and MPI was
// initialised with (at least asked for) `MPI_THREAD_SERIALIZED`.
unsafe impl Send for WorldComm {}

impl MpiWorld {
    /// Initialises MPI and registers its finalisation at exit. If the program initialised MPI
    /// itself before, astrograd uses its world and leaves finalising to the program.
    pub(crate) fn init() -> MpiWorld {
        if let Some((universe, _provided)) = mpi::initialize_with_threading(Threading::Serialized) {
            *UNIVERSE.lock().unwrap_or_else(|e| e.into_inner()) = Some(universe);
            // SAFETY: registering a plain `extern "C" fn` with no arguments.
            unsafe {
                libc::atexit(finalize_at_exit);
            }
        }
        let comm = SimpleCommunicator::world();
        // MPI numbers ranks 0..size with a C int: never negative.
        MpiWorld {
            rank: usize::try_from(comm.rank()).unwrap_or(0),
            size: usize::try_from(comm.size()).unwrap_or(1),
            comm: Mutex::new(WorldComm(comm)),
            stats: Mutex::new(CommStats::default()),
        }
    }

    fn with_comm<T>(&self, f: impl FnOnce(&SimpleCommunicator) -> T) -> T {
        let comm = self.comm.lock().unwrap_or_else(|e| e.into_inner());
        f(&comm.0)
    }

    fn count(&self, bytes: usize, started: Instant) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        stats.all_reduces += 1;
        stats.bytes += bytes as u64;
        stats.seconds += started.elapsed().as_secs_f64();
    }
}

/// A rank as MPI's C int (ranks come from `0..size`, which MPI counts in an int).
fn root_process(root: usize) -> i32 {
    i32::try_from(root).unwrap_or(i32::MAX)
}

impl Communicator for MpiWorld {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_reduce_sum(&self, buffer: &mut [f32]) {
        let started = Instant::now();
        let send = buffer.to_vec();
        self.with_comm(|c| c.all_reduce_into(&send[..], buffer, SystemOperation::sum()));
        self.count(std::mem::size_of_val(buffer), started);
    }

    fn all_reduce_sum_f64(&self, buffer: &mut [f64]) {
        let started = Instant::now();
        let send = buffer.to_vec();
        self.with_comm(|c| c.all_reduce_into(&send[..], buffer, SystemOperation::sum()));
        self.count(std::mem::size_of_val(buffer), started);
    }

    fn broadcast(&self, buffer: &mut [f32], root: usize) {
        self.with_comm(|c| c.process_at_rank(root_process(root)).broadcast_into(buffer));
    }

    fn broadcast_u64(&self, buffer: &mut [u64], root: usize) {
        self.with_comm(|c| c.process_at_rank(root_process(root)).broadcast_into(buffer));
    }

    fn barrier(&self) {
        self.with_comm(|c| c.barrier());
    }

    fn all_gather(&self, value: f64) -> Vec<f64> {
        let mut values = vec![0.0; self.size];
        self.with_comm(|c| c.all_gather_into(&value, &mut values[..]));
        values
    }

    fn abort(&self, code: i32) -> ! {
        // Not under the lock: a rank may abort while another thread waits in a collective.
        SimpleCommunicator::world().abort(code)
    }

    fn stats(&self) -> CommStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn describe(&self) -> String {
        format!("MPI, {} processes", self.size)
    }
}
