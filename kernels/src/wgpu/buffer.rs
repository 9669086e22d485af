//! Numbers on the GPU: [`GpuBuffer`], the pool that recycles them, and the two explicit
//! copies between host and device ([`GpuBuffer::upload`], [`GpuBuffer::download`]).
//!
//! A buffer may also be a **view**, a stretch of another buffer's memory ([`GpuBuffer::view`]):
//! an optimizer keeps all the parameters of a model in one buffer, each parameter a view of
//! it, so that one dispatch updates them all. Kernels bind a view as they bind any buffer, and
//! see only its numbers. The memory goes back to the pool when its last buffer or view is
//! dropped.
//!
//! A training step makes the same temporaries in the same sizes every time. When a buffer is
//! dropped it goes back to a pool, keyed by its size in bytes, and the next request of that size
//! takes it, so after the first step no GPU memory is allocated at all ([`stats`] counts it).
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::context::{check_fault, context, lock, GpuContext, IN_ORDER_UPLOAD_BYTES};
use crate::KernelError;

/// Every buffer can be bound to a shader and be the source or target of a copy.
pub(crate) const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// `len` 4-byte numbers (`f32`, or `u32` indices) in GPU memory: a whole buffer, or a view of
/// `len` numbers of one from `offset` bytes on.
#[derive(Debug)]
pub struct GpuBuffer {
    memory: Arc<Memory>,
    /// Where the numbers start in `memory`, in bytes: 0 for a whole buffer, a multiple of
    /// [`VIEW_ALIGNMENT`] numbers for a view.
    offset: u64,
    len: usize,
}

/// GPU memory shared by a buffer and its views; it goes back to the pool when the last of them
/// is dropped.
#[derive(Debug)]
struct Memory {
    buffer: wgpu::Buffer,
}

impl Drop for Memory {
    fn drop(&mut self) {
        // A wgpu buffer is a shared handle: the pool's clone keeps the memory.
        if let Ok(ctx) = context() {
            ctx.pool.give_back(self.buffer.clone());
        }
    }
}

/// Views start at a multiple of this many numbers (256 bytes: WebGPU lets an adapter ask for
/// storage bindings at offsets aligned to at most 256 bytes, so every adapter takes these).
pub const VIEW_ALIGNMENT: usize = 64;

/// What the GPU has been asked to do since the process started: host↔device copies, GPU
/// allocations, kernel dispatches, the bind groups made for them, and queue submissions. The
/// difference of two readings is what happened between them (a training step, an epoch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransferStats {
    /// Host → device copies.
    pub uploads: u64,
    /// Bytes copied host → device.
    pub upload_bytes: u64,
    /// Device → host copies.
    pub downloads: u64,
    /// Bytes copied device → host.
    pub download_bytes: u64,
    /// Buffers created (not taken from the pool).
    pub allocations: u64,
    /// Kernel dispatches recorded (`context::dispatch`).
    pub dispatches: u64,
    /// Bind groups created. They are cached by kernel and buffers, so a training loop makes
    /// them in its first steps and then reuses them.
    pub bind_groups: u64,
    /// Command buffers submitted to the queue.
    pub submissions: u64,
    /// Copies from one GPU buffer to another ([`GpuBuffer::copy_to`], [`GpuBuffer::duplicate`]).
    pub copies: u64,
}

/// Bytes of the storage buffers that exist: in use, or free in the pool.
static BYTES_HELD: AtomicU64 = AtomicU64::new(0);
static UPLOADS: AtomicU64 = AtomicU64::new(0);
static UPLOAD_BYTES: AtomicU64 = AtomicU64::new(0);
static DOWNLOADS: AtomicU64 = AtomicU64::new(0);
static DOWNLOAD_BYTES: AtomicU64 = AtomicU64::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
pub(crate) static DISPATCHES: AtomicU64 = AtomicU64::new(0);
pub(crate) static BIND_GROUPS: AtomicU64 = AtomicU64::new(0);
pub(crate) static SUBMISSIONS: AtomicU64 = AtomicU64::new(0);
static COPIES: AtomicU64 = AtomicU64::new(0);

/// How many times each kernel has been dispatched since the process started, by name (e.g.
/// `"matmul.narrow"`): the difference of two readings says where a training step's dispatches
/// go. Empty without a GPU.
pub fn dispatches_by_kernel() -> BTreeMap<&'static str, u64> {
    context()
        .and_then(GpuContext::dispatches_by_kernel)
        .unwrap_or_default()
}

/// The counts so far (for tests and the workload timer).
pub fn stats() -> TransferStats {
    TransferStats {
        uploads: UPLOADS.load(Ordering::Relaxed),
        upload_bytes: UPLOAD_BYTES.load(Ordering::Relaxed),
        downloads: DOWNLOADS.load(Ordering::Relaxed),
        download_bytes: DOWNLOAD_BYTES.load(Ordering::Relaxed),
        allocations: ALLOCATIONS.load(Ordering::Relaxed),
        dispatches: DISPATCHES.load(Ordering::Relaxed),
        bind_groups: BIND_GROUPS.load(Ordering::Relaxed),
        submissions: SUBMISSIONS.load(Ordering::Relaxed),
        copies: COPIES.load(Ordering::Relaxed),
    }
}

/// Bytes of GPU memory astrograd holds in storage buffers (those in use and the pool's free
/// ones; the staging memory of copies is not counted).
pub fn memory_held() -> u64 {
    BYTES_HELD.load(Ordering::Relaxed)
}

/// The environment variable that caps the GPU memory astrograd holds, as
/// `torch.cuda.set_per_process_memory_fraction` or TensorFlow's `memory_limit` do: `2GiB`,
/// `512MB`, `1000000` (bytes). Past it a new buffer is an out-of-memory error.
pub const MEMORY_VARIABLE: &str = "ASTROGRAD_GPU_MEMORY";

/// Bytes from a size as `ASTROGRAD_GPU_MEMORY` spells it: a whole number, then optionally a
/// unit, `B`, `KB`/`MB`/`GB` (powers of 1000) or `KiB`/`MiB`/`GiB` (powers of 1024), in any
/// case, with or without a space.
///
/// # Errors
/// A message naming the value, if it is not such a size.
pub fn parse_bytes(text: &str) -> std::result::Result<u64, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => 0,
    };
    let bytes = number
        .parse::<u64>()
        .ok()
        .filter(|_| scale > 0)
        .and_then(|n| n.checked_mul(scale));
    bytes.ok_or_else(|| {
        format!(
            "{MEMORY_VARIABLE}={text:?} is not a size (expected bytes, e.g. 2GiB, 512MB or 1000000)"
        )
    })
}

/// Whether `numbers` 4-byte numbers would fit on the GPU with room to spare: within one
/// binding, and, under an `ASTROGRAD_GPU_MEMORY` limit, within half of what is left of it.
/// `fit` asks before it keeps a training set on the GPU.
pub fn has_room_for(numbers: usize) -> bool {
    let Ok(ctx) = context() else {
        return false;
    };
    let bytes = bytes_for(numbers);
    let under_limit = match ctx.memory_limit {
        Ok(Some(limit)) => memory_held() + 2 * bytes <= limit,
        Ok(None) => true,
        Err(_) => false,
    };
    bytes <= ctx.max_binding_bytes && under_limit
}

impl TransferStats {
    /// What happened between `earlier` and `self`, field by field.
    pub fn since(&self, earlier: &TransferStats) -> TransferStats {
        TransferStats {
            uploads: self.uploads - earlier.uploads,
            upload_bytes: self.upload_bytes - earlier.upload_bytes,
            downloads: self.downloads - earlier.downloads,
            download_bytes: self.download_bytes - earlier.download_bytes,
            allocations: self.allocations - earlier.allocations,
            dispatches: self.dispatches - earlier.dispatches,
            bind_groups: self.bind_groups - earlier.bind_groups,
            submissions: self.submissions - earlier.submissions,
            copies: self.copies - earlier.copies,
        }
    }
}

/// Free buffers by size in bytes: storage buffers, and the host-readable staging buffers that
/// downloads copy through.
///
/// The free storage buffers of a size are kept in order (wgpu orders buffers by their ids) and
/// the first is taken: a step that frees and takes the same sizes in the same order then gets the
/// same buffers at every step, whatever order the previous step freed them in, so the bind
/// groups cached for its kernels (`context::dispatch`) are found again.
#[derive(Default)]
pub(crate) struct BufferPool {
    free: Mutex<HashMap<u64, BTreeSet<wgpu::Buffer>>>,
    staging: Mutex<HashMap<u64, Vec<wgpu::Buffer>>>,
}

/// Bytes of the buffer behind `len` numbers: never 0 (wgpu cannot bind an empty buffer), and
/// a multiple of 16 so that sizes that differ by a few numbers share a pool entry.
fn bytes_for(len: usize) -> u64 {
    ((len.max(1) * 4) as u64).next_multiple_of(16)
}

impl BufferPool {
    /// A buffer of `bytes`: a free one of that size from the pool, or a new one. Before a new
    /// buffer would pass the memory limit, or when the driver has no memory for it, the pool's
    /// free buffers are released and it is tried once more; then it is an out-of-memory error
    /// naming where it was asked for.
    #[track_caller]
    fn take(&self, ctx: &GpuContext, bytes: u64) -> Result<wgpu::Buffer, KernelError> {
        let requested_by = std::panic::Location::caller();
        let recycled = lock(&self.free, "GPU buffer pool")?
            .get_mut(&bytes)
            .and_then(BTreeSet::pop_first);
        if let Some(buffer) = recycled {
            return Ok(buffer);
        }
        let out_of_memory = |detail: String| KernelError::GpuOutOfMemory {
            bytes,
            requested_by: format!("{}:{}", requested_by.file(), requested_by.line()),
            detail,
        };
        if let Some(limit) = ctx
            .memory_limit
            .clone()
            .map_err(|msg| KernelError::GpuLimit {
                op: "GPU buffer",
                msg,
            })?
        {
            if memory_held() + bytes > limit {
                self.release_free(ctx)?;
            }
            let held = memory_held();
            if held + bytes > limit {
                return Err(out_of_memory(format!(
                    "{held} bytes are in use, the limit set by {MEMORY_VARIABLE} is {limit}"
                )));
            }
        }
        let created = create_storage(ctx, bytes);
        // A lost device fails every creation (reported to the fault handler, not the scope).
        check_fault()?;
        match created {
            Ok(buffer) => Ok(buffer),
            Err(_) => {
                self.release_free(ctx)?;
                create_storage(ctx, bytes).map_err(|driver| {
                    out_of_memory(format!(
                        "{} bytes are in use; the driver said: {driver}",
                        memory_held()
                    ))
                })
            }
        }
    }

    /// Frees every buffer waiting in the pool (and the cached bind groups, which hold them).
    fn release_free(&self, ctx: &GpuContext) -> Result<(), KernelError> {
        let free = std::mem::take(&mut *lock(&self.free, "GPU buffer pool")?);
        let released: u64 = free
            .iter()
            .map(|(bytes, buffers)| bytes * buffers.len() as u64)
            .sum();
        drop(free);
        ctx.forget_bind_groups()?;
        BYTES_HELD.fetch_sub(released, Ordering::Relaxed);
        Ok(())
    }

    fn give_back(&self, buffer: wgpu::Buffer) {
        if let Ok(mut free) = self.free.lock() {
            free.entry(buffer.size()).or_default().insert(buffer);
        }
    }

    fn take_staging(&self, ctx: &GpuContext, bytes: u64) -> Result<wgpu::Buffer, KernelError> {
        let recycled = lock(&self.staging, "GPU staging pool")?
            .get_mut(&bytes)
            .and_then(Vec::pop);
        Ok(recycled.unwrap_or_else(|| {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("astrograd.download"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        }))
    }

    fn give_back_staging(&self, buffer: wgpu::Buffer) {
        if let Ok(mut free) = self.staging.lock() {
            free.entry(buffer.size()).or_default().push(buffer);
        }
    }
}

/// A new storage buffer of `bytes`, or what the driver said when it had no memory for it.
fn create_storage(ctx: &GpuContext, bytes: u64) -> std::result::Result<wgpu::Buffer, String> {
    let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: bytes,
        usage: USAGE,
        mapped_at_creation: false,
    });
    if let Some(error) = pollster::block_on(scope.pop()) {
        return Err(error.to_string());
    }
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    BYTES_HELD.fetch_add(bytes, Ordering::Relaxed);
    Ok(buffer)
}

impl GpuBuffer {
    /// A buffer for `len` numbers whose content is unspecified (every kernel that makes a
    /// fresh output writes all of it).
    ///
    /// # Errors
    /// [`KernelError::NoGpu`] if there is no GPU; [`KernelError::GpuLimit`] if `len` numbers are
    /// more than one kernel can bind on this GPU (checked here, when a buffer is made, so that
    /// every kernel can take every buffer that exists); [`KernelError::GpuOutOfMemory`] if the
    /// GPU has no memory for it, or it would pass `ASTROGRAD_GPU_MEMORY`.
    #[track_caller]
    pub fn uninit(len: usize) -> Result<GpuBuffer, KernelError> {
        let ctx = context()?;
        check_bindable(ctx, len)?;
        let buffer = ctx.pool.take(ctx, bytes_for(len))?;
        Ok(GpuBuffer::whole(buffer, len))
    }

    /// A buffer of `len` zeros (cleared on the GPU, in order with the pending work).
    #[track_caller]
    pub fn zeros(len: usize) -> Result<GpuBuffer, KernelError> {
        let out = GpuBuffer::uninit(len)?;
        context()?.record(|encoder| encoder.clear_buffer(out.raw(), 0, None))?;
        Ok(out)
    }

    /// Copies `data` from the host to a new GPU buffer.
    #[track_caller]
    pub fn upload(data: &[f32]) -> Result<GpuBuffer, KernelError> {
        Self::upload_bytes(bytemuck::cast_slice(data), data.len())
    }

    /// Copies `u32` numbers (indices, labels) from the host to a new GPU buffer.
    #[track_caller]
    pub fn upload_u32(data: &[u32]) -> Result<GpuBuffer, KernelError> {
        Self::upload_bytes(bytemuck::cast_slice(data), data.len())
    }

    #[track_caller]
    fn upload_bytes(bytes: &[u8], len: usize) -> Result<GpuBuffer, KernelError> {
        let ctx = context()?;
        UPLOADS.fetch_add(1, Ordering::Relaxed);
        UPLOAD_BYTES.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if bytes.is_empty() {
            return GpuBuffer::uninit(len);
        }
        check_bindable(ctx, len)?;
        let size = bytes_for(len);
        let buffer = ctx.pool.take(ctx, size)?;
        if bytes.len() as u64 <= IN_ORDER_UPLOAD_BYTES {
            // A batch: recorded in order with the pending work, no submission needed.
            ctx.write_in_order(&buffer, bytes)?;
        } else {
            // A whole dataset, once: `write_buffer` runs before the next submission's
            // commands, so submit the pending ones first, or a recycled buffer could be
            // overwritten before an earlier dispatch reads it.
            ctx.flush()?;
            ctx.queue.write_buffer(&buffer, 0, bytes);
        }
        Ok(GpuBuffer::whole(buffer, len))
    }

    /// Copies the numbers back to the host (waits for the GPU to finish the pending work).
    ///
    /// # Errors
    /// [`KernelError::NoGpu`] if there is no GPU, [`KernelError::GpuLimit`] if mapping fails.
    pub fn download(&self) -> Result<Vec<f32>, KernelError> {
        let bytes = self.download_bytes()?;
        Ok(bytemuck::cast_slice(&bytes[..self.len * 4]).to_vec())
    }

    /// As [`GpuBuffer::download`], for a buffer of `u32` numbers.
    pub fn download_u32(&self) -> Result<Vec<u32>, KernelError> {
        let bytes = self.download_bytes()?;
        Ok(bytemuck::cast_slice(&bytes[..self.len * 4]).to_vec())
    }

    fn download_bytes(&self) -> Result<Vec<u8>, KernelError> {
        let ctx = context()?;
        DOWNLOADS.fetch_add(1, Ordering::Relaxed);
        DOWNLOAD_BYTES.fetch_add(self.len as u64 * 4, Ordering::Relaxed);
        let size = self.byte_size();
        let staging = ctx.pool.take_staging(ctx, size)?;
        ctx.record(|encoder| {
            encoder.copy_buffer_to_buffer(self.raw(), self.offset, &staging, 0, size)
        })?;
        ctx.flush()?;
        let (sender, receiver) = std::sync::mpsc::channel();
        staging
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |result| {
                let _ = sender.send(result);
            });
        ctx.device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: None,
            })
            .map_err(|e| KernelError::GpuLimit {
                op: "download",
                msg: format!("waiting for the GPU failed: {e}"),
            })?;
        check_fault()?;
        receiver
            .recv()
            .map_err(|e| KernelError::GpuLimit {
                op: "download",
                msg: format!("the GPU never answered the read: {e}"),
            })?
            .map_err(|e| KernelError::GpuLimit {
                op: "download",
                msg: format!("reading GPU memory failed: {e}"),
            })?;
        let bytes = staging
            .slice(..)
            .get_mapped_range()
            .map_err(|e| KernelError::GpuLimit {
                op: "download",
                msg: format!("reading GPU memory failed: {e}"),
            })?
            .to_vec();
        staging.unmap();
        ctx.pool.give_back_staging(staging);
        Ok(bytes)
    }

    /// A copy of this buffer on the GPU (for copy-on-write before an in-place update).
    #[track_caller]
    pub fn duplicate(&self) -> Result<GpuBuffer, KernelError> {
        let out = GpuBuffer::uninit(self.len)?;
        self.copy_to(&out)?;
        Ok(out)
    }

    /// Copies this buffer's numbers into `dst` (a buffer or a view of the same length), in
    /// order with the pending work.
    ///
    /// # Errors
    /// [`KernelError::InvalidGeometry`] if the lengths differ; [`KernelError::NoGpu`] without a
    /// GPU.
    pub fn copy_to(&self, dst: &GpuBuffer) -> Result<(), KernelError> {
        check_lengths("copy", &[("the destination", dst, self.len)])?;
        let bytes = (self.len * 4) as u64;
        if bytes == 0 {
            return Ok(());
        }
        COPIES.fetch_add(1, Ordering::Relaxed);
        context()?.record(|encoder| {
            encoder.copy_buffer_to_buffer(self.raw(), self.offset, dst.raw(), dst.offset, bytes)
        })
    }

    /// A view of `len` numbers of this buffer from number `start` on: the same memory, so what
    /// a kernel writes into the view is in the buffer, and the other way round.
    ///
    /// # Errors
    /// [`KernelError::InvalidGeometry`] if `start` is not a multiple of [`VIEW_ALIGNMENT`] or the
    /// view would reach past the buffer's end.
    pub fn view(&self, start: usize, len: usize) -> Result<GpuBuffer, KernelError> {
        if !start.is_multiple_of(VIEW_ALIGNMENT) || start + len > self.len {
            return Err(KernelError::geometry(
                "GPU view",
                format!(
                    "a view starting at a multiple of {VIEW_ALIGNMENT} numbers and ending within \
                     the buffer's {} numbers, found numbers {start}..{}",
                    self.len,
                    start + len
                ),
            ));
        }
        Ok(GpuBuffer {
            memory: Arc::clone(&self.memory),
            offset: self.offset + (start * 4) as u64,
            len,
        })
    }

    /// Whether another buffer shares this memory: a view of this buffer, or the buffer (or
    /// another view) this one is a view of.
    pub fn shares_memory(&self) -> bool {
        Arc::strong_count(&self.memory) > 1
    }

    /// Whether this is the view of `whole` that starts at number `start`.
    pub fn is_view_at(&self, whole: &GpuBuffer, start: usize) -> bool {
        Arc::ptr_eq(&self.memory, &whole.memory) && self.offset == whole.offset + (start * 4) as u64
    }

    fn whole(buffer: wgpu::Buffer, len: usize) -> GpuBuffer {
        GpuBuffer {
            memory: Arc::new(Memory { buffer }),
            offset: 0,
            len,
        }
    }

    /// The number of 4-byte numbers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a buffer of no numbers.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes a kernel binds: `4·len` padded to a multiple of 16 (the size of a whole
    /// buffer, which the pool keys by it; views are laid out [`VIEW_ALIGNMENT`] numbers apart,
    /// so a view's padding stays within its own stretch).
    pub fn byte_size(&self) -> u64 {
        bytes_for(self.len).min(self.raw().size() - self.offset)
    }

    pub(crate) fn raw(&self) -> &wgpu::Buffer {
        &self.memory.buffer
    }

    /// Where this buffer's numbers start in [`GpuBuffer::raw`], in bytes.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }
}

/// Checks that each named buffer holds exactly the numbers its shape needs: `(name, buffer,
/// expected length)`, with the op's name in the error.
pub(crate) fn check_lengths(
    op: &'static str,
    buffers: &[(&str, &GpuBuffer, usize)],
) -> Result<(), KernelError> {
    for &(name, buffer, expected) in buffers {
        if buffer.len() != expected {
            return Err(KernelError::geometry(
                op,
                format!(
                    "{name} must hold {expected} numbers, found {}",
                    buffer.len()
                ),
            ));
        }
    }
    Ok(())
}

/// An error unless a buffer of `len` numbers fits one binding of this GPU.
fn check_bindable(ctx: &GpuContext, len: usize) -> Result<(), KernelError> {
    let bytes = bytes_for(len);
    if bytes > ctx.max_binding_bytes {
        return Err(KernelError::GpuLimit {
            op: "GPU buffer",
            msg: format!(
                "{len} numbers ({bytes} bytes) are more than this GPU binds at once ({} bytes)",
                ctx.max_binding_bytes
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wgpu::testing::gpu_available;

    /// Set in the child processes of the tests that need a process of their own: which one
    /// the child runs.
    const CHILD: &str = "ASTROGRAD_TEST_GPU_FAULT";
    /// What a child prints when every check of its test passed.
    const CHILD_PASSED: &str = "the child's checks passed";

    /// Runs the test `name` of this binary alone in a child process with `env`, and asserts
    /// that it ran to its end.
    fn run_child(name: &str, env: &[(&str, &str)]) {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains(CHILD_PASSED),
            "the child {name} failed:\n{stdout}\n{stderr}"
        );
    }

    #[test]
    fn sizes_as_astrograd_gpu_memory_spells_them() {
        assert_eq!(parse_bytes("1000000"), Ok(1_000_000));
        assert_eq!(parse_bytes("2GiB"), Ok(2 << 30));
        assert_eq!(parse_bytes(" 512 MB "), Ok(512_000_000));
        assert_eq!(parse_bytes("64kib"), Ok(64 << 10));
        assert_eq!(parse_bytes("3gb"), Ok(3_000_000_000));
        assert_eq!(parse_bytes("7B"), Ok(7));
        for bad in [
            "",
            "GB",
            "1.5GB",
            "12 parsecs",
            "-1",
            "99999999999999999999GiB",
        ] {
            let err = parse_bytes(bad).unwrap_err();
            assert!(
                err.contains("ASTROGRAD_GPU_MEMORY=") && err.contains("not a size"),
                "{err}"
            );
        }
    }

    /// Under `ASTROGRAD_GPU_MEMORY=1MiB` (in a child process, as the limit is read when the GPU
    /// opens): a buffer that would pass the limit first frees the pool's free buffers; one that
    /// still does not fit is an out-of-memory error with its size, where it was asked for, what
    /// is in use and the limit; and the GPU works on afterwards.
    #[test]
    fn a_memory_limit_frees_the_pool_then_gives_an_out_of_memory_error() {
        if !gpu_available() {
            return;
        }
        run_child(
            "wgpu::buffer::tests::child_under_a_memory_limit",
            &[(CHILD, "memory"), (MEMORY_VARIABLE, "1MiB")],
        );
    }

    #[test]
    fn child_under_a_memory_limit() {
        if std::env::var(CHILD).as_deref() != Ok("memory") || !gpu_available() {
            return;
        }
        let pooled = GpuBuffer::uninit(150_000).unwrap();
        drop(pooled);
        assert_eq!(memory_held(), 600_000, "the free buffer is still held");
        assert!(has_room_for(50_000) && !has_room_for(100_000));
        let kept = GpuBuffer::upload(&vec![2.5; 175_000]).unwrap();
        assert_eq!(
            memory_held(),
            700_000,
            "the free buffer was released for it"
        );
        let err = GpuBuffer::uninit(175_000).unwrap_err();
        let KernelError::GpuOutOfMemory {
            bytes,
            requested_by,
            detail,
        } = &err
        else {
            panic!("expected an out-of-memory error, found {err}");
        };
        assert_eq!(*bytes, 700_000);
        assert!(
            requested_by.starts_with("kernels/src/wgpu/buffer.rs:"),
            "{requested_by}"
        );
        assert_eq!(
            detail,
            "700000 bytes are in use, the limit set by ASTROGRAD_GPU_MEMORY is 1048576"
        );
        let message = err.to_string();
        assert!(
            message.starts_with("out of GPU memory: a buffer of 700000 bytes"),
            "{message}"
        );
        assert!(message.contains("model.to(Device::Cpu)"), "{message}");
        // Nothing was lost: the buffer that fitted reads back, and small ones still come.
        assert_eq!(kept.download().unwrap()[174_999], 2.5);
        let small = GpuBuffer::upload(&[1.0, 2.0]).unwrap();
        assert_eq!(small.download().unwrap(), vec![1.0, 2.0]);
        println!("{CHILD_PASSED}");
    }

    /// A lost device (here destroyed on purpose, in a child process) makes the next wait on the
    /// GPU, and every GPU call after it, an error that says so, not a panic (wgpu's default).
    #[test]
    fn a_lost_device_is_an_error_for_every_later_call() {
        if !gpu_available() {
            return;
        }
        run_child(
            "wgpu::buffer::tests::child_that_loses_its_device",
            &[(CHILD, "lost")],
        );
    }

    #[test]
    fn child_that_loses_its_device() {
        if std::env::var(CHILD).as_deref() != Ok("lost") || !gpu_available() {
            return;
        }
        let before = GpuBuffer::upload(&[1.0, 2.0]).unwrap();
        assert_eq!(before.download().unwrap(), vec![1.0, 2.0]);
        context().unwrap().device.destroy();
        // wgpu learns of the loss when it next waits on the GPU (here `synchronize`; in
        // training, the next read or submission); from then on every call says so.
        let results = [
            crate::wgpu::synchronize(),
            GpuBuffer::upload(&[3.0]).map(|_| ()),
            before.download().map(|_| ()),
            GpuBuffer::uninit(4).map(|_| ()),
            crate::wgpu::submit(),
        ];
        for result in results {
            let err = result.unwrap_err();
            assert!(
                matches!(&err, KernelError::GpuFault { reason } if reason.contains("lost")),
                "{err}"
            );
            assert!(
                err.to_string().contains("reload the last checkpoint"),
                "{err}"
            );
        }
        drop(before);
        println!("{CHILD_PASSED}");
    }

    /// An upload is recorded in order with the pending dispatches: a recycled buffer is not
    /// overwritten before an earlier dispatch has read it, and no submission is needed first.
    /// In a child process: the other tests' threads share the pool and the queue, and could take
    /// the recycled buffer or submit in between.
    #[test]
    fn an_upload_waits_its_turn_behind_the_pending_work() {
        if !gpu_available() {
            return;
        }
        run_child(
            "wgpu::buffer::tests::child_that_uploads_behind_pending_work",
            &[(CHILD, "upload")],
        );
    }

    #[test]
    fn child_that_uploads_behind_pending_work() {
        if std::env::var(CHILD).as_deref() != Ok("upload") || !gpu_available() {
            return;
        }
        let _ = context().unwrap().flush();
        let before = stats();
        let first = GpuBuffer::upload(&[1.0, -2.0, 3.0, -4.0, 5.0]).unwrap();
        let out = GpuBuffer::uninit(5).unwrap();
        crate::wgpu::elementwise::unary(crate::elementwise::UnaryOp::Abs, &first, &out).unwrap();
        // `first` goes back to the pool while the dispatch that reads it is only recorded;
        // the next upload of its size takes it again.
        let recycled = first.raw().clone();
        drop(first);
        let second = GpuBuffer::upload(&[9.0; 5]).unwrap();
        let during = stats().since(&before);
        assert_eq!(
            second.raw(),
            &recycled,
            "the pool handed out the same buffer"
        );
        assert_eq!(during.submissions, 0, "{during:?}");
        assert_eq!(out.download().unwrap(), vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(second.download().unwrap(), vec![9.0; 5]);
        println!("{CHILD_PASSED}");
    }

    /// A view is a stretch of its buffer: kernels that read it see its numbers only, kernels
    /// that write it change those numbers of the buffer and no others; copies and
    /// downloads start at its offset; a misaligned view or one past the end is an error.
    #[test]
    fn a_view_is_a_stretch_of_its_buffer() {
        if !gpu_available() {
            return;
        }
        use crate::elementwise::UnaryOp;
        use crate::wgpu::elementwise::unary;
        let numbers: Vec<f32> = (0..200).map(|i| i as f32).collect();
        let whole = GpuBuffer::upload(&numbers).unwrap();
        assert!(!whole.shares_memory());
        let view = whole.view(64, 10).unwrap();
        assert!(view.is_view_at(&whole, 64) && !view.is_view_at(&whole, 0));
        assert!(whole.shares_memory() && view.shares_memory());
        assert_eq!(view.download().unwrap(), numbers[64..74].to_vec());
        unary(
            UnaryOp::Abs,
            &GpuBuffer::upload(&[-1.5; 10]).unwrap(),
            &view,
        )
        .unwrap();
        let read = GpuBuffer::uninit(10).unwrap();
        unary(UnaryOp::Neg, &whole.view(128, 10).unwrap(), &read).unwrap();
        assert_eq!(
            read.download().unwrap(),
            (128..138).map(|i| -(i as f32)).collect::<Vec<_>>()
        );
        GpuBuffer::upload(&[7.0; 5])
            .unwrap()
            .copy_to(&whole.view(192, 5).unwrap())
            .unwrap();
        let mut expected = numbers.clone();
        expected[64..74].fill(1.5);
        expected[192..197].fill(7.0);
        assert_eq!(whole.download().unwrap(), expected);
        let copy = view.duplicate().unwrap();
        assert!(!copy.is_view_at(&whole, 64));
        assert_eq!(copy.download().unwrap(), vec![1.5; 10]);
        for (start, len) in [(3, 4), (192, 9)] {
            let err = whole.view(start, len).unwrap_err().to_string();
            assert!(
                err.contains("multiple of 64") && err.contains("200"),
                "{err}"
            );
        }
        let err = GpuBuffer::uninit(3)
            .unwrap()
            .copy_to(&view)
            .unwrap_err()
            .to_string();
        assert!(err.contains("must hold 3 numbers, found 10"), "{err}");
    }

    /// The memory of a buffer goes back to the pool when its last view is dropped, not before
    /// (in a child process: the pool is shared by the other tests' threads).
    #[test]
    fn a_buffer_lives_as_long_as_its_views() {
        if !gpu_available() {
            return;
        }
        run_child(
            "wgpu::buffer::tests::child_that_drops_a_viewed_buffer",
            &[(CHILD, "views")],
        );
    }

    #[test]
    fn child_that_drops_a_viewed_buffer() {
        if std::env::var(CHILD).as_deref() != Ok("views") || !gpu_available() {
            return;
        }
        let whole = GpuBuffer::upload(&[3.0; 1000]).unwrap();
        let memory = whole.raw().clone();
        let view = whole.view(64, 10).unwrap();
        drop(whole);
        let other = GpuBuffer::uninit(1000).unwrap();
        assert_ne!(
            other.raw(),
            &memory,
            "the viewed memory stayed out of the pool"
        );
        assert_eq!(view.download().unwrap(), vec![3.0; 10]);
        drop(view);
        let again = GpuBuffer::uninit(1000).unwrap();
        assert_eq!(again.raw(), &memory, "the last view gave the memory back");
        drop(other);
        println!("{CHILD_PASSED}");
    }

    /// A buffer no kernel could bind is refused when it is made, with the sizes in the error.
    #[test]
    fn a_buffer_larger_than_one_binding_is_an_error() {
        if !gpu_available() {
            return;
        }
        let max = context().unwrap().max_binding_bytes as usize;
        let too_long = max / 4 + 4;
        let err = GpuBuffer::uninit(too_long).unwrap_err().to_string();
        assert!(err.contains("more than this GPU binds at once"), "{err}");
        assert!(GpuBuffer::uninit(max / 4 - 4).is_ok());
    }
}
