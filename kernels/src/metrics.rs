//! What the accuracy kernels count, shared by both devices (`cpu/accuracy.rs`,
//! `wgpu/metrics.rs`).

/// Which of Keras's three `'accuracy'` functions to count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccuracyKind {
    /// `argmax ŷ == y` for integer labels `(N)`.
    SparseCategorical,
    /// `argmax ŷ == argmax y` for one-hot rows `(N, K)`.
    Categorical,
    /// `(ŷ > 0.5) == y` per element, averaged over the last axis.
    Binary,
}
