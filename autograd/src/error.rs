//! The error type of the autograd crate.
use astrograd_kernels::KernelError;
use astrograd_tensor::TensorError;

/// What went wrong while building or differentiating a graph.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AutogradError {
    /// A tensor operation rejected its inputs (shapes, axes, …).
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// A kernel rejected its geometry (a kernel larger than its input, a zero stride, …).
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// An argument that makes no sense for this op (a label out of range, a rate outside [0, 1)).
    #[error("{op}: expected {expected}, found {found}")]
    Invalid {
        /// The op, e.g. `"dropout"`.
        op: &'static str,
        /// What the op accepts.
        expected: String,
        /// What it was given.
        found: String,
    },
    /// `backward()` called on a value that is not a single number.
    #[error("backward: expected a scalar loss (one element) or an explicit upstream gradient, found shape {shape:?}")]
    NonScalarBackward {
        /// The shape of the value.
        shape: Vec<usize>,
    },
    /// An op's backward returned a gradient whose shape differs from its input's (a bug in that op).
    #[error("backward of {op}: gradient for input {input} has shape {found:?}, but the input has shape {expected:?}")]
    GradientShape {
        /// The op whose backward is wrong.
        op: &'static str,
        /// Which input of the op (0 for the first).
        input: usize,
        /// The input's shape.
        expected: Vec<usize>,
        /// The shape of the gradient the backward returned.
        found: Vec<usize>,
    },
    /// A finite-difference check disagreed with the analytic gradient.
    #[error("gradient check of {op} failed: {detail}")]
    GradientCheck {
        /// The op checked.
        op: String,
        /// Where the two gradients differ, and by how much.
        detail: String,
    },
}

/// `Result` with [`AutogradError`].
pub type Result<T> = std::result::Result<T, AutogradError>;
