//! 2-D max pooling (Keras `MaxPooling2D`): the largest value of each window, per channel.
//!
//! # Math
//! `y[n, oh, ow, c] = max over the valid cells (ih, iw) of window (oh, ow) of x[n, ih, iw, c]`,
//! with `ih = oh·sh + ph − pad_top`, `iw = ow·sw + pw − pad_left`. Padded cells take no part (they
//! never win), as in TensorFlow.
//!
//! Within a window the max is just the winning cell, `y = x[argmax]`, so `∂y/∂x` is 1 at the
//! winner and 0 elsewhere: the gradient is *routed*, not spread,
//!
//! `dx[argmax[i]] += dy[i]` ([`max_pool2d_backward`]),
//!
//! adding up where overlapping windows (stride < pool) share a winner. The forward records each
//! window's winner (`argmax`, a flat index into `x`) so the backward need not search again. On
//! ties the first cell, scanning the window row by row, wins; the max is not differentiable
//! there, and any one winner is a valid subgradient. Loops: `kernels/src/cpu/pool.rs`, and on
//! the GPU `kernels/src/wgpu/pool.rs` (the backward as a gather: each cell sums the `dy` of the
//! windows it won).
//!
//! # Shapes
//! `x: (N, H, W, C)`, `y: (N, OH, OW, C)`; output size as a convolution with the pool as its
//! kernel: `'valid'` `OH = ⌊(H − PH) / sh⌋ + 1` (69 → 34 for 2×2 / 2), `'same'` `OH = ⌈H / sh⌉`.
use astrograd_kernels::geometry::Pool2dGeometry;
use astrograd_tensor::nn::pool as nn;
use astrograd_tensor::Tensor;

use super::conv2d::{geometry_error, rank4};
use crate::{Result, Var};

pub use super::conv2d::Padding;
/// The winners of the forward, on the device of `x`.
pub use astrograd_tensor::nn::pool::Argmax;

/// The settings of a pooling layer; `Default` gives Keras's defaults (2×2, stride = pool, valid).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dOptions {
    /// Window size `[PH, PW]` (Keras `pool_size`, default `(2, 2)`).
    pub pool: [usize; 2],
    /// Step of the window; `None` means the pool size, as Keras's `strides=None`.
    pub strides: Option<[usize; 2]>,
    /// `Valid` (Keras's default) or `Same`.
    pub padding: Padding,
}

impl Default for Pool2dOptions {
    fn default() -> Self {
        Pool2dOptions {
            pool: [2, 2],
            strides: None,
            padding: Padding::Valid,
        }
    }
}

impl Pool2dOptions {
    /// The strides actually used: `strides`, or the pool size when `None`.
    pub fn strides_or_pool(&self) -> [usize; 2] {
        self.strides.unwrap_or(self.pool)
    }
}

impl Var {
    /// Max pooling. See [`max_pool2d`].
    pub fn max_pool2d(&self, options: Pool2dOptions) -> Result<Var> {
        max_pool2d(self, options)
    }
}

/// What the forward keeps for the backward.
struct MaxPool2dSaved {
    /// Shapes, window, strides and padding, validated once by the forward.
    geometry: Pool2dGeometry,
    /// `argmax: (N, OH, OW, C)`, the flat index into `x` of each window's winner.
    argmax: Argmax,
}

/// Max pooling of `x: (N, H, W, C)` over `pool` windows, per channel.
///
/// ```
/// use astrograd_autograd::ops::max_pool2d::Pool2dOptions;
/// use astrograd_autograd::{Tensor, Var};
/// let x = Var::parameter(Tensor::from_vec((1..=16).map(|v| v as f32).collect(), &[1, 4, 4, 1])?);
/// let y = x.max_pool2d(Pool2dOptions::default())?; // 2×2 windows, stride 2
/// assert_eq!(y.value().to_vec()?, vec![6.0, 8.0, 14.0, 16.0]);
/// y.sum_all()?.backward()?; // the gradient goes to the four winners only
/// assert_eq!(x.grad().unwrap().as_slice()?.iter().sum::<f32>(), 4.0);
/// assert_eq!(x.grad().unwrap().as_slice()?[5], 1.0);
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// [`AutogradError::Invalid`](crate::AutogradError::Invalid) naming `max_pool2d` and the shape
/// if `x` is not of rank 4; [`AutogradError::Kernel`](crate::AutogradError::Kernel) (also naming
/// the op and shapes) if a pool size or stride is 0 or a `'valid'` window does not fit in the
/// input.
pub fn max_pool2d(x: &Var, options: Pool2dOptions) -> Result<Var> {
    const OP: &str = "max_pool2d";
    let x_value = x.value();
    let geometry = pool_geometry(OP, &x_value, options)?;
    // y, argmax: (N, OH, OW, C), on the device of x
    let (y, argmax) = nn::max_pool2d_forward(&geometry, &x_value)?;
    let saved = MaxPool2dSaved { geometry, argmax };
    Ok(Var::from_op(OP, y, &[x], move |dy| {
        Ok(vec![Some(max_pool2d_backward(
            &saved.geometry,
            dy,
            &saved.argmax,
        )?)])
    }))
}

/// `dx[argmax[i]] += dy[i]`: each window's gradient goes to its winner.
///
/// # Shapes
/// `dy: (N, OH, OW, C)`, `argmax: (N, OH, OW, C)` from the forward → `dx: (N, H, W, C)`.
///
/// # Errors
/// A shape error naming `max_pool2d_backward` if `dy` or `argmax` does not have the size `g`
/// describes, or a winner lies outside its own image (checked once, in
/// `astrograd_tensor::nn::pool`, where the kernel is chosen).
pub fn max_pool2d_backward(g: &Pool2dGeometry, dy: &Tensor, argmax: &Argmax) -> Result<Tensor> {
    Ok(nn::max_pool2d_backward(g, dy, argmax)?)
}

/// Validates `x` and `options` for the pooling op `op` (its name goes into the errors).
pub(crate) fn pool_geometry(
    op: &'static str,
    x: &Tensor,
    options: Pool2dOptions,
) -> Result<Pool2dGeometry> {
    let x_shape = rank4(op, "input x (N, H, W, C)", x)?;
    let strides = options.strides_or_pool();
    Pool2dGeometry::new(x_shape, options.pool, strides, options.padding).map_err(|e| {
        geometry_error(
            op,
            e,
            format!(
                "input {x_shape:?}, pool {:?}, strides {strides:?}, padding {:?}",
                options.pool, options.padding
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use astrograd_tensor::random::Rng;
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

        /// Gradient check at distinct values drawn from `seed`.
        fn gradcheck(&self, seed: u64) -> Result<()> {
            let x = distinct(&[self.n, self.h, self.w, self.c], seed);
            let options = self.options();
            gradcheck("max_pool2d", |v| v[0].max_pool2d(options), &[x])?;
            Ok(())
        }
    }

    /// A shuffled ramp: all values distinct and 0.05 apart, more than twice the gradcheck's
    /// ε = 0.01, so no nudge changes a window's winner (the max has a kink at ties).
    fn distinct(shape: &[usize], seed: u64) -> Tensor {
        let count: usize = shape.iter().product();
        let order = Rng::new(seed).permutation(count);
        let data = order
            .iter()
            .map(|&i| (i as f32 - count as f32 / 2.0) * 0.05)
            .collect();
        Tensor::from_vec(data, shape).unwrap()
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
    fn padded_cells_never_win() {
        // All values negative: had the zero padding taken part, it would win every edge window.
        let x = Var::constant(
            Tensor::from_vec((1..=9).map(|v| -(v as f32)).collect(), &[1, 3, 3, 1]).unwrap(),
        );
        let options = Pool2dOptions {
            padding: Padding::Same,
            ..Default::default()
        };
        let y = x.max_pool2d(options).unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![-1.0, -3.0, -7.0, -9.0]);
    }

    #[test]
    fn overlapping_windows_add_up_at_a_shared_winner() {
        // 1×3 image [0, 5, 1], 1×2 windows with stride 1: 5 wins both windows.
        let x = Var::parameter(Tensor::from_vec(vec![0.0, 5.0, 1.0], &[1, 1, 3, 1]).unwrap());
        let options = Pool2dOptions {
            pool: [1, 2],
            strides: Some([1, 1]),
            ..Default::default()
        };
        let y = x.max_pool2d(options).unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![5.0, 5.0]);
        y.backward_with(Tensor::from_vec(vec![2.0, 3.0], &[1, 1, 2, 1]).unwrap())
            .unwrap();
        assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![0.0, 5.0, 0.0]);
    }

    #[test]
    fn gradcheck_named_cases() {
        let cases = [
            BASE,
            // 'same', stride 2, odd sizes: the last row / column is a window of its own.
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
            // 3×3 windows with stride 2 overlap.
            Pool2dCase {
                h: 7,
                w: 7,
                c: 1,
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

    /// The error message of `max_pool2d` on this shape.
    fn error(x: &[usize], options: Pool2dOptions) -> String {
        Var::constant(Tensor::zeros(x))
            .max_pool2d(options)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_inputs_are_errors_naming_the_op_and_shapes() {
        let too_big = error(
            &[1, 2, 2, 1],
            Pool2dOptions {
                pool: [3, 3],
                ..Default::default()
            },
        );
        assert!(
            too_big.starts_with("max_pool2d:") && too_big.contains("[1, 2, 2, 1]"),
            "{too_big}"
        );
        assert!(
            too_big.contains("[3, 3]") && too_big.contains("valid"),
            "{too_big}"
        );

        let rank3 = error(&[4, 4, 1], Pool2dOptions::default());
        assert!(
            rank3.starts_with("max_pool2d:")
                && rank3.contains("rank 4")
                && rank3.contains("[4, 4, 1]"),
            "{rank3}"
        );

        let zero_stride = error(
            &[1, 4, 4, 1],
            Pool2dOptions {
                strides: Some([0, 2]),
                ..Default::default()
            },
        );
        assert!(
            zero_stride.starts_with("max_pool2d:") && zero_stride.contains("[0, 2]"),
            "{zero_stride}"
        );
        assert!(zero_stride.contains("[1, 4, 4, 1]"), "{zero_stride}");

        let zero_pool = error(
            &[1, 4, 4, 1],
            Pool2dOptions {
                pool: [0, 2],
                strides: Some([1, 1]),
                ..Default::default()
            },
        );
        assert!(
            zero_pool.starts_with("max_pool2d:") && zero_pool.contains("pool"),
            "{zero_pool}"
        );
    }

    #[test]
    fn backward_rejects_foreign_argmax() {
        let g = Pool2dGeometry::new([2, 2, 2, 1], [2, 2], [2, 2], Padding::Valid).unwrap();
        let dy = Tensor::ones(&[2, 1, 1, 1]);
        // Image 1's winner pointing into image 0.
        let err = max_pool2d_backward(&g, &dy, &Argmax::Cpu(vec![3, 0]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("max_pool2d_backward:"), "{err}");
        assert!(max_pool2d_backward(&g, &dy, &Argmax::Cpu(vec![3])).is_err());
        assert_eq!(
            max_pool2d_backward(&g, &dy, &Argmax::Cpu(vec![3, 4]))
                .unwrap()
                .to_vec()
                .unwrap(),
            vec![0., 0., 0., 1., 1., 0., 0., 0.]
        );
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
    use astrograd_tensor::random::Rng;
    use astrograd_tensor::Device;

    /// The GPU, or `None` (with a note) where there is none; CI sets `ASTROGRAD_REQUIRE_GPU`.
    fn gpu() -> Option<Device> {
        astrograd_tensor::gpu::gpu_or_skip()
    }

    #[test]
    fn forward_and_gradient_on_the_gpu_match_the_cpu() {
        let Some(device) = gpu() else { return };
        let options = Pool2dOptions {
            pool: [3, 3],
            strides: Some([2, 2]),
            padding: Padding::Same,
        };
        let mut rng = Rng::new(5);
        // Rounded values: ties, which the first cell must win on both devices.
        let x = Tensor::rand_uniform_with(&mut rng, &[2, 5, 7, 3], -2.0, 2.0)
            .to_vec()
            .unwrap();
        let x = Tensor::from_vec(x.iter().map(|v| v.round()).collect(), &[2, 5, 7, 3]).unwrap();
        let dy = Tensor::rand_uniform_with(&mut rng, &[2, 3, 4, 3], -1.0, 1.0);
        let run = |x: Tensor, dy: Tensor| {
            let x = Var::parameter(x);
            let y = x.max_pool2d(options).unwrap();
            y.backward_with(dy).unwrap();
            (y.value(), x.grad().unwrap())
        };
        let (y, dx) = run(x.clone(), dy.clone());
        let (yg, dxg) = run(x.to(device).unwrap(), dy.to(device).unwrap());
        assert_eq!((yg.device(), dxg.device()), (device, device));
        assert_eq!(yg.to_vec(), y.to_vec());
        assert_eq!(dxg.to_vec(), dx.to_vec());
    }
}
