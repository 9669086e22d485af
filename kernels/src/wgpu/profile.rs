//! Where the GPU's time goes: each kernel's run timed by the GPU itself, as PyTorch's profiler
//! reports its CUDA kernels.
//!
//! With `ASTROGRAD_GPU_PROFILE=1` in the environment when the GPU opens (and an adapter with
//! wgpu's `TIMESTAMP_QUERY` feature), every dispatch gets a compute pass of its own whose start
//! and end the GPU stamps with its clock, and each submission waits for the GPU and reads the
//! stamps back. [`profile`] then gives, per kernel name, the dispatches and the GPU time between
//! their stamps, and how long the host waited for the GPU in all.
//!
//! Profiling changes what it measures: the host waits at every submission instead of recording
//! the next step while the GPU runs this one, and one pass per dispatch adds the GPU's idle time
//! between passes. A step's GPU time is the sum of its kernels' times; the host's time is the
//! step's wall time less [`GpuProfile::waited`].
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::KernelError;

/// The environment variable that turns profiling on (`1`), read when the GPU opens.
pub const PROFILE_VARIABLE: &str = "ASTROGRAD_GPU_PROFILE";

/// One kernel's runs so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct KernelTime {
    /// How many times it ran.
    pub dispatches: u64,
    /// GPU time between the start and end stamps of its passes, all runs together.
    pub gpu: Duration,
}

/// What the profiler has seen since the GPU opened ([`profile`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GpuProfile {
    /// Per kernel name (`"matmul"`, `"optimizer"`…).
    pub kernels: BTreeMap<&'static str, KernelTime>,
    /// Host time spent waiting for the GPU at submissions.
    pub waited: Duration,
}

impl GpuProfile {
    /// The GPU time of every kernel together.
    pub fn gpu_total(&self) -> Duration {
        self.kernels.values().map(|k| k.gpu).sum()
    }

    /// What was added since `earlier`, a profile taken before this one (an epoch's share, as
    /// [`super::TransferStats::since`] gives an epoch's copies).
    pub fn since(&self, earlier: &GpuProfile) -> GpuProfile {
        let kernels = self
            .kernels
            .iter()
            .map(|(name, now)| {
                let before = earlier.kernels.get(name).copied().unwrap_or_default();
                let added = KernelTime {
                    dispatches: now.dispatches.saturating_sub(before.dispatches),
                    gpu: now.gpu.saturating_sub(before.gpu),
                };
                (*name, added)
            })
            .collect();
        GpuProfile {
            kernels,
            waited: self.waited.saturating_sub(earlier.waited),
        }
    }
}

/// What the profile has taken so far: `None` unless `ASTROGRAD_GPU_PROFILE=1` was set when
/// the GPU opened and the adapter can stamp times.
///
/// # Errors
/// [`KernelError::NoGpu`] without a GPU; [`KernelError::GpuPoisoned`] after an earlier GPU call
/// failed mid-way.
pub fn profile() -> Result<Option<GpuProfile>, KernelError> {
    super::context()?.profile()
}

/// Whether `value` of [`PROFILE_VARIABLE`] asks for profiling.
pub(crate) fn requested(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.trim() == "1")
}

/// The timestamp queries of one submission and the profile they add up to.
pub(crate) struct Profiler {
    queries: wgpu::QuerySet,
    /// Where the queries are resolved into (on the GPU), then copied to `readback`.
    resolved: wgpu::Buffer,
    readback: wgpu::Buffer,
    /// Nanoseconds per tick of the GPU's clock.
    period_ns: f64,
    /// The kernel of each pass of the pending submission: pass `i` stamps queries `2i`, `2i + 1`.
    names: Vec<&'static str>,
    pub(crate) totals: GpuProfile,
}

impl Profiler {
    /// A profiler for up to `passes` dispatches per submission.
    pub(crate) fn new(device: &wgpu::Device, queue: &wgpu::Queue, passes: usize) -> Profiler {
        let bytes = (2 * passes * wgpu::QUERY_SIZE as usize) as u64;
        let buffer = |label, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        Profiler {
            queries: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("astrograd.profile"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * passes as u32,
            }),
            resolved: buffer(
                "astrograd.profile.resolved",
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            readback: buffer(
                "astrograd.profile.readback",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
            period_ns: f64::from(queue.get_timestamp_period()),
            names: Vec::with_capacity(passes),
            totals: GpuProfile::default(),
        }
    }

    /// The stamps for the pass of the next dispatch, a run of `kernel`.
    pub(crate) fn next_pass(
        &mut self,
        kernel: &'static str,
    ) -> wgpu::ComputePassTimestampWrites<'_> {
        let first = 2 * self.names.len() as u32;
        self.names.push(kernel);
        wgpu::ComputePassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: Some(first),
            end_of_pass_write_index: Some(first + 1),
        }
    }

    /// Records, at the end of a submission's work, the copy of its stamps to the host.
    pub(crate) fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        let count = 2 * self.names.len() as u32;
        if count == 0 {
            return;
        }
        encoder.resolve_query_set(&self.queries, 0..count, &self.resolved, 0);
        let bytes = u64::from(count) * u64::from(wgpu::QUERY_SIZE);
        encoder.copy_buffer_to_buffer(&self.resolved, 0, &self.readback, 0, bytes);
    }

    /// After the submission: waits for the GPU, reads the stamps and adds each pass's time to
    /// its kernel.
    pub(crate) fn collect(&mut self, device: &wgpu::Device) -> Result<(), KernelError> {
        if self.names.is_empty() {
            return Ok(());
        }
        let fail = |msg: String| KernelError::GpuLimit {
            op: "GPU profile",
            msg,
        };
        let bytes = (2 * self.names.len()) as u64 * u64::from(wgpu::QUERY_SIZE);
        let slice = self.readback.slice(..bytes);
        let (sender, receiver) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |result| {
            let _ = sender.send(result);
        });
        let start = Instant::now();
        device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: None,
            })
            .map_err(|e| fail(format!("waiting for the GPU failed: {e}")))?;
        self.totals.waited += start.elapsed();
        receiver
            .recv()
            .map_err(|e| fail(format!("the GPU never answered: {e}")))?
            .map_err(|e| fail(format!("reading the stamps failed: {e}")))?;
        {
            let stamps = slice
                .get_mapped_range()
                .map_err(|e| fail(format!("reading the stamps failed: {e}")))?;
            let ticks: &[u64] = bytemuck::cast_slice(&stamps);
            for (name, pass) in self.names.iter().zip(ticks.chunks_exact(2)) {
                let ns = pass[1].saturating_sub(pass[0]) as f64 * self.period_ns;
                let kernel = self.totals.kernels.entry(name).or_default();
                kernel.dispatches += 1;
                kernel.gpu += Duration::from_nanos(ns as u64);
            }
        }
        self.readback.unmap();
        self.names.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An epoch's share: each kernel's runs and time less those before, a kernel first run
    /// in the epoch whole, the wait likewise.
    #[test]
    fn a_profile_since_an_earlier_one_holds_what_was_added() {
        let time = |dispatches, ms| KernelTime {
            dispatches,
            gpu: Duration::from_millis(ms),
        };
        let earlier = GpuProfile {
            kernels: BTreeMap::from([("matmul", time(2, 5))]),
            waited: Duration::from_millis(10),
        };
        let later = GpuProfile {
            kernels: BTreeMap::from([("matmul", time(5, 12)), ("optimizer", time(3, 1))]),
            waited: Duration::from_millis(25),
        };
        let epoch = later.since(&earlier);
        assert_eq!(epoch.kernels["matmul"], time(3, 7));
        assert_eq!(epoch.kernels["optimizer"], time(3, 1));
        assert_eq!(epoch.waited, Duration::from_millis(15));
        assert_eq!(epoch.gpu_total(), Duration::from_millis(8));
    }

    #[test]
    fn only_the_value_1_asks_for_a_profile() {
        assert!(requested(Some("1")));
        assert!(requested(Some(" 1\n")));
        assert!(!requested(Some("0")));
        assert!(!requested(Some("yes")));
        assert!(!requested(None));
    }

    /// Prints the profile of three runs of one kernel; run by the next test in a child
    /// process with the variable set.
    #[test]
    fn print_the_profile_of_three_kernels() {
        if !crate::wgpu::testing::gpu_available() {
            return;
        }
        let x = super::super::GpuBuffer::upload(&vec![1.5f32; 4096]).unwrap();
        let out = super::super::GpuBuffer::uninit(4096).unwrap();
        for _ in 0..3 {
            crate::wgpu::dropout::dropout(7, 0.5, &x, &out).unwrap();
        }
        super::super::synchronize().unwrap();
        match profile().unwrap() {
            Some(p) => {
                for (name, k) in &p.kernels {
                    println!("kernel {name} {} {}", k.dispatches, k.gpu.as_nanos());
                }
                println!("waited {}", p.waited.as_nanos());
            }
            None => println!("no profile"),
        }
    }

    /// With `ASTROGRAD_GPU_PROFILE=1` every dispatch is counted under its kernel's name with a
    /// GPU time, and the host's wait is measured; without it there is no profile.
    #[test]
    fn astrograd_gpu_profile_times_each_kernel() {
        if !crate::wgpu::testing::gpu_available() {
            return;
        }
        let child = |value| {
            crate::wgpu::testing::child_test_output(
                "wgpu::profile::tests::print_the_profile_of_three_kernels",
                PROFILE_VARIABLE,
                value,
            )
        };
        assert!(child(None).contains("no profile"));
        let profiled = child(Some("1"));
        if profiled.contains("no profile") {
            // An adapter without timestamps: nothing to check but that it said so.
            return;
        }
        let line = |name: &str| -> (u64, u64) {
            // The harness's "test … ..." may share the line: read from the kernel's name on.
            let key = format!("kernel {name} ");
            let at = profiled
                .find(&key)
                .unwrap_or_else(|| panic!("no line for {name}: {profiled}"));
            let line = profiled[at..].lines().next().unwrap_or_default();
            let fields: Vec<u64> = line
                .split_whitespace()
                .skip(2)
                .map(|f| f.parse().unwrap())
                .collect();
            (fields[0], fields[1])
        };
        let (dropouts, dropout_ns) = line("dropout");
        assert_eq!(dropouts, 3, "{profiled}");
        assert!(dropout_ns > 0, "{profiled}");
        // The uploads and the allocation dispatch nothing: dropout is the only kernel.
        assert_eq!(profiled.matches("kernel ").count(), 1, "{profiled}");
        assert!(profiled.contains("waited "), "{profiled}");
    }
}
