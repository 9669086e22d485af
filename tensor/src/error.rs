//! The one error type of the tensor crate.
use astrograd_kernels::KernelError;

/// What went wrong in a tensor operation, with the operation's name and what it was given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TensorError {
    /// Shapes that do not fit together, e.g. `matmul` of (2, 3) and (4, 5).
    #[error("{op}: expected {expected}, found {found}")]
    Shape {
        op: &'static str,
        expected: String,
        found: String,
    },
    /// An axis that the tensor does not have.
    #[error("{op}: axis {axis} is out of range for a tensor of rank {rank} (shape {shape:?})")]
    Axis {
        op: &'static str,
        axis: usize,
        rank: usize,
        shape: Vec<usize>,
    },
    /// Any other argument that makes no sense (an empty list, a step of zero, …).
    #[error("{op}: {msg}")]
    Invalid { op: &'static str, msg: String },
    /// Host code asked for the numbers of a GPU tensor in place.
    #[error(
        "{op}: expected a tensor in host memory, found one on the GPU: copy it with \
         `.to(Device::Cpu)` (or read a copy with `.to_vec()`), or use an op that has a GPU kernel"
    )]
    NotOnHost { op: &'static str },
    /// Operands on different devices (move one with `.to(device)`).
    #[error("{op}: expected operands on one device, found {found}")]
    Device { op: &'static str, found: String },
    /// Geometry rejected by a kernel (a convolution kernel larger than its input, …).
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

/// `Result` with [`TensorError`].
pub type Result<T> = std::result::Result<T, TensorError>;
