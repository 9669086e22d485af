//! Numbers on the GPU: [`GpuBuffer`], the pool that recycles them, and the two explicit
//! copies between host and device ([`GpuBuffer::upload`], [`GpuBuffer::download`]).
//!
//! A training step makes the same temporaries in the same sizes every time. When a buffer is
//! dropped it goes back to a pool, keyed by its size in bytes, and the next request of that size
//! takes it, so after the first step no GPU memory is allocated at all ([`stats`] counts it).
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::context::{context, lock, GpuContext};
use crate::KernelError;

/// Every buffer can be bound to a shader and be the source or target of a copy.
pub(crate) const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// `len` 4-byte numbers (`f32`, or `u32` indices) in GPU memory.
#[derive(Debug)]
pub struct GpuBuffer {
    /// Always `Some` until the buffer is returned to the pool on drop.
    buffer: Option<wgpu::Buffer>,
    len: usize,
}

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
}

static UPLOADS: AtomicU64 = AtomicU64::new(0);
static UPLOAD_BYTES: AtomicU64 = AtomicU64::new(0);
static DOWNLOADS: AtomicU64 = AtomicU64::new(0);
static DOWNLOAD_BYTES: AtomicU64 = AtomicU64::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
pub(crate) static DISPATCHES: AtomicU64 = AtomicU64::new(0);
pub(crate) static BIND_GROUPS: AtomicU64 = AtomicU64::new(0);
pub(crate) static SUBMISSIONS: AtomicU64 = AtomicU64::new(0);

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
    }
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
    fn take(&self, ctx: &GpuContext, bytes: u64) -> Result<wgpu::Buffer, KernelError> {
        let recycled = lock(&self.free, "GPU buffer pool")?
            .get_mut(&bytes)
            .and_then(BTreeSet::pop_first);
        Ok(recycled.unwrap_or_else(|| {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: None,
                size: bytes,
                usage: USAGE,
                mapped_at_creation: false,
            })
        }))
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

impl GpuBuffer {
    /// A buffer for `len` numbers whose content is unspecified (every kernel that makes a
    /// fresh output writes all of it).
    ///
    /// # Errors
    /// [`KernelError::NoGpu`] if there is no GPU; [`KernelError::GpuLimit`] if `len` numbers are
    /// more than one kernel can bind on this GPU. Checked here, when a buffer is made, so that
    /// every kernel can take every buffer that exists.
    pub fn uninit(len: usize) -> Result<GpuBuffer, KernelError> {
        let ctx = context()?;
        check_bindable(ctx, len)?;
        let buffer = ctx.pool.take(ctx, bytes_for(len))?;
        Ok(GpuBuffer {
            buffer: Some(buffer),
            len,
        })
    }

    /// A buffer of `len` zeros (cleared on the GPU, in order with the pending work).
    pub fn zeros(len: usize) -> Result<GpuBuffer, KernelError> {
        let out = GpuBuffer::uninit(len)?;
        context()?.record(|encoder| encoder.clear_buffer(out.raw(), 0, None))?;
        Ok(out)
    }

    /// Copies `data` from the host to a new GPU buffer.
    pub fn upload(data: &[f32]) -> Result<GpuBuffer, KernelError> {
        Self::upload_bytes(bytemuck::cast_slice(data), data.len())
    }

    /// Copies `u32` numbers (indices, labels) from the host to a new GPU buffer.
    pub fn upload_u32(data: &[u32]) -> Result<GpuBuffer, KernelError> {
        Self::upload_bytes(bytemuck::cast_slice(data), data.len())
    }

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
        // `write_buffer` runs before the next submission's commands: submit the pending ones
        // first, or a recycled buffer could be overwritten before an earlier dispatch reads it.
        ctx.flush()?;
        ctx.queue.write_buffer(&buffer, 0, bytes);
        Ok(GpuBuffer {
            buffer: Some(buffer),
            len,
        })
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
        ctx.record(|encoder| encoder.copy_buffer_to_buffer(self.raw(), 0, &staging, 0, size))?;
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
    pub fn duplicate(&self) -> Result<GpuBuffer, KernelError> {
        let out = GpuBuffer::uninit(self.len)?;
        context()?.record(|encoder| {
            encoder.copy_buffer_to_buffer(self.raw(), 0, out.raw(), 0, self.byte_size())
        })?;
        Ok(out)
    }

    /// The number of 4-byte numbers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a buffer of no numbers.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes of the wgpu buffer (at least `4·len`, padded).
    pub fn byte_size(&self) -> u64 {
        self.raw().size()
    }

    pub(crate) fn raw(&self) -> &wgpu::Buffer {
        self.buffer
            .as_ref()
            .expect("a live GpuBuffer holds its buffer")
    }
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        if let (Some(buffer), Some(Ok(ctx))) = (self.buffer.take(), Some(context())) {
            ctx.pool.give_back(buffer);
        }
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
