//! The error type of the kernels crate: bad geometry (shapes, strides, paddings) found when a
//! geometry struct is built, and what a GPU can refuse. The CPU kernels themselves never fail:
//! they run on validated geometry.

/// What went wrong when describing a kernel's geometry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KernelError {
    /// The shapes, strides, dilations or padding of an op do not describe a valid computation.
    /// `msg` says what was expected and what was found.
    #[error("{op}: {msg}")]
    InvalidGeometry {
        /// The op that rejected its geometry (`"conv2d"`, `"max_pool2d"`, …).
        op: &'static str,
        /// What was expected and what was found.
        msg: String,
    },
    /// No GPU could be opened (feature `wgpu`): no adapter, or it refused a device.
    #[error("no GPU available: {reason}")]
    NoGpu {
        /// What wgpu reported, and what to install.
        reason: String,
    },
    /// An earlier GPU call failed (panicked) while it held the GPU's shared state, which may
    /// now be half-updated: every later GPU call gets this error instead of using that state.
    #[error(
        "the GPU is unusable in this process: an earlier GPU call failed while it held the \
         {what}; move the model to the CPU (`model.to(Device::Cpu)`) or start the program again"
    )]
    GpuPoisoned {
        /// The piece of shared GPU state (the pending work, the pipeline cache, a buffer pool).
        what: &'static str,
    },
    /// A GPU buffer did not fit in the GPU's memory (or under the limit set by
    /// `ASTROGRAD_GPU_MEMORY`), even after the pool's free buffers were released. Nothing else
    /// is lost: the buffers that exist stay as they were, so the model can be moved to the CPU
    /// or trained on with smaller batches.
    #[error(
        "out of GPU memory: a buffer of {bytes} bytes, asked for by {requested_by}, does not \
         fit ({detail}); use smaller batches, or move the model to the CPU \
         (`model.to(Device::Cpu)`)"
    )]
    GpuOutOfMemory {
        /// The size of the buffer that did not fit.
        bytes: u64,
        /// Where in astrograd it was asked for (`kernels/src/wgpu/conv.rs:120`).
        requested_by: String,
        /// What was in use and what the limit is, or what the driver said.
        detail: String,
    },
    /// The GPU failed in a way that leaves nothing on it usable: the device was lost (driver
    /// reset, GPU removed) or reported an error of its own. Every later GPU call gets this
    /// error; what was on the GPU is gone (restart from a checkpoint, on the CPU or a new
    /// process).
    #[error(
        "the GPU failed and cannot be used again in this process: {reason}; what was on it is \
         lost: reload the last checkpoint (on the CPU, or in a new process)"
    )]
    GpuFault {
        /// What wgpu reported.
        reason: String,
    },
    /// The GPU cannot run this op as asked (a buffer over its binding limit, a failed read).
    #[error("{op} on the GPU: {msg}")]
    GpuLimit {
        /// The op or transfer that failed.
        op: &'static str,
        /// What was asked and what the GPU allows.
        msg: String,
    },
}

impl KernelError {
    /// Shorthand used by the geometry constructors.
    pub(crate) fn geometry(op: &'static str, msg: impl Into<String>) -> Self {
        KernelError::InvalidGeometry {
            op,
            msg: msg.into(),
        }
    }
}
