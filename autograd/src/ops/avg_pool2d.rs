//! 2-D average pooling (Keras `AveragePooling2D`): the mean of each window, per channel.
//!
//! # Math
//! `y[n, oh, ow, c] = (1 / count) · Σ over the valid cells (ih, iw) of window (oh, ow) of x[n, ih, iw, c]`,
//! where `count` is the number of *valid* cells of the window: with `'same'` padding the padded
//! cells are left out of both the sum and the divisor, as in TensorFlow (a 2×2 'same' pooling of
//! the 3×3 image `[[1..9]]` gives `[[3, 4.5], [7.5, 9]]`, not `[[3, 2.25], [3.75, 2.25]]`).
//!
//! Each valid cell enters its window's mean with weight `1 / count`, so it receives that share of
//! the window's upstream gradient, added up over the windows that contain it:
//!
//! `dx[cell] += dy[window] / count(window)` ([`avg_pool2d_backward`]).
//!
//! The gradient does not depend on `x`, so the forward saves nothing but the geometry.
//! Loops: `kernels/src/cpu/pool.rs`, and on the GPU `kernels/src/wgpu/pool.rs` (the backward as
//! a gather: each cell sums the shares of the windows that cover it).
//!
//! # Shapes
//! `x: (N, H, W, C)`, `y: (N, OH, OW, C)`; output size as [`max_pool2d`](super::max_pool2d).
use astrograd_kernels::geometry::Pool2dGeometry;
use astrograd_tensor::nn::pool as nn;
use astrograd_tensor::Tensor;

use super::max_pool2d::pool_geometry;
use crate::{Result, Var};

pub use super::conv2d::Padding;
pub use super::max_pool2d::Pool2dOptions;

impl Var {
    /// Average pooling. See [`avg_pool2d`].
    pub fn avg_pool2d(&self, options: Pool2dOptions) -> Result<Var> {
        avg_pool2d(self, options)
    }
}

/// Average pooling of `x: (N, H, W, C)` over `pool` windows, per channel, dividing by the number
/// of valid (non-padded) cells of each window.
///
/// ```
/// use astrograd_autograd::ops::avg_pool2d::{Padding, Pool2dOptions};
/// use astrograd_autograd::{Tensor, Var};
/// let x = Var::constant(Tensor::from_vec((1..=9).map(|v| v as f32).collect(), &[1, 3, 3, 1])?);
/// let y = x.avg_pool2d(Pool2dOptions { padding: Padding::Same, ..Default::default() })?;
/// // Windows {1,2,4,5}, {3,6}, {7,8} and {9}: padded cells are not counted.
/// assert_eq!(y.value().to_vec()?, vec![3.0, 4.5, 7.5, 9.0]);
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// [`AutogradError::Invalid`](crate::AutogradError::Invalid) naming `avg_pool2d` and the shape if
/// `x` is not of rank 4; [`AutogradError::Kernel`](crate::AutogradError::Kernel) (also naming the
/// op and shapes) if a pool size or stride is 0 or a `'valid'` window does not fit in the input.
pub fn avg_pool2d(x: &Var, options: Pool2dOptions) -> Result<Var> {
    const OP: &str = "avg_pool2d";
    let geometry = pool_geometry(OP, &x.value(), options)?;
    // y: (N, OH, OW, C), on the device of x
    let y = nn::avg_pool2d_forward(&geometry, &x.value())?;
    // Saved for the backward: only the geometry (which cells each window averaged).
    Ok(Var::from_op(OP, y, &[x], move |dy| {
        Ok(vec![Some(avg_pool2d_backward(&geometry, dy)?)])
    }))
}

/// `dx[cell] += dy[window] / count(window)` for every valid cell of every window.
///
/// # Shapes
/// `dy: (N, OH, OW, C)` → `dx: (N, H, W, C)`.
///
/// # Errors
/// A shape error naming `avg_pool2d_backward` if `dy` does not have the shape `g` describes
/// (checked once, in `tensor::nn::pool`).
pub fn avg_pool2d_backward(g: &Pool2dGeometry, dy: &Tensor) -> Result<Tensor> {
    Ok(nn::avg_pool2d_backward(g, dy)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::random;
    use proptest::prelude::*;

    /// One pooling to check: input (n, h, w, c), window `pool`.
    #[derive(Debug, Clone, Copy)]
    struct Pool2dCase {
        n: usize,
        h: usize,
        w: usize,
        c: usize,
        pool: [usize; 2],
        strides: Option<[usize; 2]>,
        padding: Padding,
    }

    impl Pool2dCase {
        fn options(&self) -> Pool2dOptions {
            Pool2dOptions {
                pool: self.pool,
                strides: self.strides,
                padding: self.padding,
            }
        }

        /// Gradient check at random values drawn from `seed`.
        fn gradcheck(&self, seed: u64) -> Result<()> {
            let x = random(&[self.n, self.h, self.w, self.c], -1.0, 1.0, seed);
            let options = self.options();
            gradcheck("avg_pool2d", |v| v[0].avg_pool2d(options), &[x])?;
            Ok(())
        }
    }

    const BASE: Pool2dCase = Pool2dCase {
        n: 2,
        h: 4,
        w: 6,
        c: 2,
        pool: [2, 2],
        strides: None,
        padding: Padding::Valid,
    };

    #[test]
    fn the_divisor_counts_valid_cells_only() {
        // [[0..8]]: the example of docs/keras-semantics.md §1.
        let x = Var::parameter(
            Tensor::from_vec((0..9).map(|v| v as f32).collect(), &[1, 3, 3, 1]).unwrap(),
        );
        let y = x
            .avg_pool2d(Pool2dOptions {
                padding: Padding::Same,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![2.0, 3.5, 6.5, 8.0]);
        y.sum_all().unwrap().backward().unwrap();
        // Each cell lies in one window and gets 1 / (that window's count).
        assert_eq!(
            x.grad().unwrap().to_vec().unwrap(),
            vec![0.25, 0.25, 0.5, 0.25, 0.25, 0.5, 0.5, 0.5, 1.0]
        );
    }

    #[test]
    fn gradcheck_named_cases() {
        let cases = [
            BASE,
            // 'same', stride 2, odd sizes: edge windows have fewer valid cells.
            Pool2dCase {
                h: 5,
                w: 5,
                padding: Padding::Same,
                ..BASE
            },
            // 'same', stride 2, even sizes, a 3×3 window: padding after only.
            Pool2dCase {
                h: 4,
                w: 6,
                pool: [3, 3],
                strides: Some([2, 2]),
                padding: Padding::Same,
                ..BASE
            },
            // Overlapping 3×3 windows, padding on both sides.
            Pool2dCase {
                h: 5,
                w: 7,
                pool: [3, 3],
                strides: Some([2, 2]),
                padding: Padding::Same,
                ..BASE
            },
            Pool2dCase {
                h: 5,
                w: 4,
                pool: [3, 2],
                strides: Some([1, 2]),
                ..BASE
            },
        ];
        for (i, case) in cases.iter().enumerate() {
            case.gradcheck(i as u64)
                .unwrap_or_else(|e| panic!("{case:?}: {e}"));
        }
    }

    /// The error message of `avg_pool2d` on this shape.
    fn error(x: &[usize], options: Pool2dOptions) -> String {
        Var::constant(Tensor::zeros(x))
            .avg_pool2d(options)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_inputs_are_errors_naming_the_op_and_shapes() {
        let too_big = error(
            &[1, 2, 3, 1],
            Pool2dOptions {
                pool: [3, 3],
                ..Default::default()
            },
        );
        assert!(
            too_big.starts_with("avg_pool2d:") && too_big.contains("[1, 2, 3, 1]"),
            "{too_big}"
        );
        assert!(
            too_big.contains("[3, 3]") && too_big.contains("valid"),
            "{too_big}"
        );

        let rank3 = error(&[4, 4, 1], Pool2dOptions::default());
        assert!(
            rank3.starts_with("avg_pool2d:")
                && rank3.contains("rank 4")
                && rank3.contains("[4, 4, 1]"),
            "{rank3}"
        );

        let zero_stride = error(
            &[1, 4, 4, 1],
            Pool2dOptions {
                strides: Some([2, 0]),
                ..Default::default()
            },
        );
        assert!(
            zero_stride.starts_with("avg_pool2d:") && zero_stride.contains("[2, 0]"),
            "{zero_stride}"
        );
        assert!(zero_stride.contains("[1, 4, 4, 1]"), "{zero_stride}");
    }

    /// A random case; a 'valid' window that would not fit becomes 'same'.
    fn cases() -> impl Strategy<Value = Pool2dCase> {
        (
            (1usize..=2, 1usize..=6, 1usize..=6, 1usize..=3),
            (
                [1usize..=3, 1usize..=3],
                prop::option::of([1usize..=3, 1usize..=3]),
                any::<bool>(),
            ),
        )
            .prop_map(|((n, h, w, c), (pool, strides, same))| {
                let fits = pool[0] <= h && pool[1] <= w;
                let padding = if same || !fits {
                    Padding::Same
                } else {
                    Padding::Valid
                };
                Pool2dCase {
                    n,
                    h,
                    w,
                    c,
                    pool,
                    strides,
                    padding,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_geometry(case in cases(), seed in 0u64..1000) {
            case.gradcheck(seed).unwrap();
        }
    }
}

/// The op on GPU tensors against the same op on CPU tensors (feature `wgpu`).
#[cfg(all(test, feature = "wgpu"))]
mod gpu_tests {
    use super::*;
    use crate::ops::testing::random;
    use astrograd_tensor::Device;

    /// The GPU, or `None` (with a note) where there is none; CI sets `ASTROGRAD_REQUIRE_GPU`.
    fn gpu() -> Option<Device> {
        astrograd_tensor::gpu::gpu_or_skip()
    }

    #[test]
    fn forward_and_gradient_on_the_gpu_match_the_cpu() {
        let Some(device) = gpu() else { return };
        let options = Pool2dOptions {
            pool: [3, 2],
            strides: Some([2, 1]),
            padding: Padding::Same,
        };
        let x = random(&[2, 5, 6, 3], -1.0, 1.0, 1);
        let dy = random(&[2, 3, 6, 3], -1.0, 1.0, 2);
        let run = |x: Tensor, dy: Tensor| {
            let x = Var::parameter(x);
            let y = x.avg_pool2d(options).unwrap();
            y.backward_with(dy).unwrap();
            (y.value(), x.grad().unwrap())
        };
        let (y, dx) = run(x.clone(), dy.clone());
        let (yg, dxg) = run(x.to(device).unwrap(), dy.to(device).unwrap());
        assert_eq!((yg.device(), dxg.device()), (device, device));
        assert!(yg.all_close(&y, 1e-6, 1e-6), "y: {yg} vs {y}");
        assert!(dxg.all_close(&dx, 1e-6, 1e-6), "dx: {dxg} vs {dx}");
    }
}
