//! The layers of the course, one file per layer (pooling layers share one).
//!
//! Each holds its Keras constructor defaults, builds its weights from the input shape, and
//! runs its forward pass with the differentiable ops of `astrograd_autograd::ops`.
pub mod activation;
pub mod add;
pub mod batch_normalization;
pub mod conv2d;
pub mod dense;
pub mod depthwise_conv2d;
pub mod dropout;
pub mod flatten;
pub mod global_pooling;
pub mod input;
pub mod pooling;
pub mod rescaling;
pub mod zero_padding2d;

/// A pair of sizes `[height, width]`, given as Keras takes it: `3` means `(3, 3)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size2(pub [usize; 2]);

impl From<usize> for Size2 {
    fn from(n: usize) -> Size2 {
        Size2([n, n])
    }
}

impl From<(usize, usize)> for Size2 {
    fn from((h, w): (usize, usize)) -> Size2 {
        Size2([h, w])
    }
}

impl From<[usize; 2]> for Size2 {
    fn from(hw: [usize; 2]) -> Size2 {
        Size2(hw)
    }
}
