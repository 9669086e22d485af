//! The one error type of the tensor crate.
use astrograd_kernels::KernelError;

/// What went wrong in a tensor operation, with the operation's name and what it was given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TensorError {
    /// Shapes that do not fit together, e.g. `matmul` of (2, 3) and (4, 5).
    #[error("{op}: expected {expected}, found {found}")]
    Shape {
        /// The operation, e.g. `"matmul"`.
        op: &'static str,
        /// The shapes it needs.
        expected: String,
        /// The shapes it was given.
        found: String,
    },
    /// An axis that the tensor does not have.
    #[error("{op}: axis {axis} is out of range for a tensor of rank {rank} (shape {shape:?})")]
    Axis {
        /// The operation, e.g. `"argmax"`.
        op: &'static str,
        /// The axis asked for.
        axis: usize,
        /// The tensor's number of axes.
        rank: usize,
        /// The tensor's shape.
        shape: Vec<usize>,
    },
    /// Any other argument that makes no sense (an empty list, a step of zero, …).
    #[error("{op}: {msg}")]
    Invalid {
        /// The operation.
        op: &'static str,
        /// What is wrong with the argument.
        msg: String,
    },
    /// Host code asked for the numbers of a GPU tensor in place.
    #[error(
        "{op}: expected a tensor in host memory, found one on the GPU: copy it with \
         `.to(Device::Cpu)` (or read a copy with `.to_vec()`), or use an op that has a GPU kernel"
    )]
    NotOnHost {
        /// The operation that needs the numbers on the host.
        op: &'static str,
    },
    /// Operands on different devices (move one with `.to(device)`).
    #[error("{op}: expected operands on one device, found {found}")]
    Device {
        /// The operation.
        op: &'static str,
        /// The devices of the operands.
        found: String,
    },
    /// Geometry rejected by a kernel (a convolution kernel larger than its input, …).
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

/// `Result` with [`TensorError`].
pub type Result<T> = std::result::Result<T, TensorError>;

impl TensorError {
    /// Whether the GPU had no memory for a buffer of the op (or it would have passed the
    /// `ASTROGRAD_GPU_MEMORY` limit): the op failed, the tensors that exist are untouched.
    pub fn is_out_of_memory(&self) -> bool {
        matches!(
            self,
            TensorError::Kernel(KernelError::GpuOutOfMemory { .. })
        )
    }
}
