//! The worker threads: how many, and whether the calling thread is one of them.
//!
//! astrograd's kernels run in parallel on rayon's global pool of worker threads (as many as the
//! machine has cores). By default the program's own thread is not one of them: each parallel
//! kernel is handed to the workers while the calling thread sleeps, and handed back when they
//! finish — two thread wake-ups per kernel, dozens per training step. [`work_on_this_thread`]
//! makes the calling thread worker 0 of the pool instead, so that it runs its share of every
//! kernel itself and the other cores steal the rest (PyTorch's OpenMP threads work the same way).
//! On the 2-core machine of the workload timer (`examples/bench_epochs.rs`) this bought 1.3× on the
//! Fashion-MNIST CNN's epoch time (3.9 s → 2.9 s) and 1.2× on the MLP's (1.42 s → 1.15 s).
//!
//! The results do not change: every kernel splits its work by the shapes alone, never by the
//! number or identity of the threads.

/// Makes the calling thread one of the worker threads of the global pool, with as many threads in
/// all as the machine has cores (or `RAYON_NUM_THREADS`). Call it at the start of `main`, before
/// any tensor work; it returns `false`, and changes nothing, when the pool already exists (work
/// was already done, or it was called before).
///
/// The calling thread should be the one that does the work (the training loop) and should live
/// as long as the program: it is usually the main thread.
///
/// ```
/// // At the start of main():
/// astrograd_tensor::threads::work_on_this_thread();
/// ```
///
/// With a single thread in all (one core, as `mpirun` gives each process of a 2-core machine, or
/// `RAYON_NUM_THREADS=1`) it changes nothing either: the calling thread would then be the only
/// worker, and parallel work handed to the pool by another thread (a prefetching data loader)
/// would wait for it while it waits for that loader.
pub fn work_on_this_thread() -> bool {
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|n| n.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1);
    if threads < 2 {
        return false;
    }
    rayon::ThreadPoolBuilder::new()
        .use_current_thread()
        .build_global()
        .is_ok()
}
