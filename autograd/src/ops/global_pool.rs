//! Global pooling (Keras `GlobalAveragePooling2D`, `GlobalMaxPooling2D`): one number per
//! image and channel, pooled over the whole height and width.
//!
//! # Math
//! `avg: out[n, c] = (1 / (H·W)) Σ_{h, w} x[n, h, w, c]`, [`mean`](super::mean) over axes
//! (1, 2): every position gets `dout[n, c] / (H·W)`.
//!
//! `max: out[n, c] = max_{h, w} x[n, h, w, c]`, [`max`](super::max) over axes (1, 2):
//! `dout[n, c]` goes to the position of the maximum (shared equally among ties, as TF's
//! `reduce_max`, which Keras's layer calls).
//!
//! The forward and the backward are `astrograd_tensor::nn::pool`'s global pooling functions. On
//! the CPU they compute exactly what `mean` and `max` compute (the same tensor ops, the same
//! numbers); on the GPU each is one fused kernel (`kernels/src/wgpu/shaders/global_pool.wgsl`)
//! instead of the five or so ops of the composition.
//!
//! # Shapes
//! `x: (N, H, W, C)` (NHWC); `out: (N, C)`.
use astrograd_tensor::nn::pool as nn;

use crate::{AutogradError, Result, Var};

impl Var {
    /// Mean over height and width: `(N, H, W, C)` → `(N, C)`. See [`global_average_pool2d`].
    pub fn global_average_pool2d(&self) -> Result<Var> {
        global_average_pool2d(self)
    }

    /// Maximum over height and width: `(N, H, W, C)` → `(N, C)`. See [`global_max_pool2d`].
    pub fn global_max_pool2d(&self) -> Result<Var> {
        global_max_pool2d(self)
    }
}

/// Mean over height and width, as `tf.keras.layers.GlobalAveragePooling2D()`.
///
/// ```
/// use astrograd_autograd::{Tensor, Var};
/// // One 2×2 image with one channel: [[1, 2], [3, 6]] → mean 3.
/// let x = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 6.0], &[1, 2, 2, 1])?);
/// assert_eq!(x.global_average_pool2d()?.value().to_vec()?, vec![3.0]);
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// [`AutogradError::Invalid`] naming `global_average_pool2d` and the shape if `x` is not
/// `(N, H, W, C)` with `H·W > 0`.
pub fn global_average_pool2d(x: &Var) -> Result<Var> {
    const OP: &str = "global_average_pool2d";
    check_nhwc(OP, x)?;
    let x_shape = x.shape();
    // out: (N, C)
    let out = nn::global_avg_pool2d_forward(&x.value())?;
    Ok(Var::from_op(OP, out, &[x], move |dout| {
        Ok(vec![Some(nn::global_avg_pool2d_backward(&x_shape, dout)?)])
    }))
}

/// Maximum over height and width, as `tf.keras.layers.GlobalMaxPooling2D()`.
///
/// # Errors
/// [`AutogradError::Invalid`] naming `global_max_pool2d` and the shape if `x` is not
/// `(N, H, W, C)` with `H·W > 0`.
pub fn global_max_pool2d(x: &Var) -> Result<Var> {
    const OP: &str = "global_max_pool2d";
    check_nhwc(OP, x)?;
    let x_value = x.value();
    // out: (N, C); the backward compares x with it to find the winners.
    let out = nn::global_max_pool2d_forward(&x_value)?;
    let saved_out = out.clone();
    Ok(Var::from_op(OP, out, &[x], move |dout| {
        Ok(vec![Some(nn::global_max_pool2d_backward(
            &x_value, &saved_out, dout,
        )?)])
    }))
}

/// A rank-4 NHWC tensor with at least one pixel to pool.
fn check_nhwc(op: &'static str, x: &Var) -> Result<()> {
    let shape = x.shape();
    if shape.len() != 4 || shape[1] * shape[2] == 0 {
        return Err(AutogradError::Invalid {
            op,
            expected: "a batch of images (N, H, W, C) with H, W ≥ 1".into(),
            found: format!("shape {shape:?}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::random;
    use astrograd_tensor::random::Rng;
    use astrograd_tensor::Tensor;
    use proptest::prelude::*;

    /// x: (1, 2, 2, 2); channel 0 = [[1, 2], [3, 6]], channel 1 = [[-1, -5], [0, -2]].
    fn two_channels() -> Tensor {
        Tensor::from_vec(
            vec![1.0, -1.0, 2.0, -5.0, 3.0, 0.0, 6.0, -2.0],
            &[1, 2, 2, 2],
        )
        .unwrap()
    }

    #[test]
    fn average_values_and_gradient() {
        let x = Var::parameter(two_channels());
        let y = x.global_average_pool2d().unwrap();
        assert_eq!(y.shape(), vec![1, 2]);
        assert_eq!(y.value().to_vec().unwrap(), vec![3.0, -2.0]);
        y.backward_with(Tensor::from_vec(vec![4.0, -8.0], &[1, 2]).unwrap())
            .unwrap();
        // Each of the 4 pixels gets dout / 4 of its channel.
        assert_eq!(
            x.grad().unwrap().to_vec().unwrap(),
            vec![1.0, -2.0, 1.0, -2.0, 1.0, -2.0, 1.0, -2.0]
        );
    }

    #[test]
    fn max_values_and_gradient() {
        let x = Var::parameter(two_channels());
        let y = x.global_max_pool2d().unwrap();
        assert_eq!(y.value().to_vec().unwrap(), vec![6.0, 0.0]);
        y.backward_with(Tensor::from_vec(vec![4.0, -8.0], &[1, 2]).unwrap())
            .unwrap();
        assert_eq!(
            x.grad().unwrap().to_vec().unwrap(),
            vec![0.0, 0.0, 0.0, 0.0, 0.0, -8.0, 4.0, 0.0]
        );
    }

    /// The written-out forward and backward give the same bits as the composition they replace
    /// (`mean` / `max` over axes 1 and 2), ties included.
    #[test]
    fn same_numbers_as_mean_and_max_over_height_and_width() {
        let x: Vec<f32> = (0..2 * 3 * 5 * 4)
            .map(|i| ((i * 7) % 9) as f32 / 3.0)
            .collect();
        let x = Tensor::from_vec(x, &[2, 3, 5, 4]).unwrap();
        let dout =
            Tensor::from_vec((0..8).map(|i| i as f32 * 0.3 - 1.1).collect(), &[2, 4]).unwrap();
        let composed: [fn(&Var) -> Result<Var>; 2] = [
            |v| v.mean_axes(&[1, 2], false),
            |v| v.max_axes(&[1, 2], false),
        ];
        let written: [fn(&Var) -> Result<Var>; 2] = [global_average_pool2d, global_max_pool2d];
        for (a, b) in composed.iter().zip(&written) {
            let (xa, xb) = (Var::parameter(x.clone()), Var::parameter(x.clone()));
            let (ya, yb) = (a(&xa).unwrap(), b(&xb).unwrap());
            assert_eq!(ya.value(), yb.value());
            ya.backward_with(dout.clone()).unwrap();
            yb.backward_with(dout.clone()).unwrap();
            assert_eq!(xa.grad().unwrap(), xb.grad().unwrap());
        }
    }

    #[test]
    fn not_nhwc_is_an_error_naming_the_op_and_shape() {
        let x = Var::constant(Tensor::zeros(&[2, 3, 4]));
        let err = x.global_average_pool2d().unwrap_err().to_string();
        assert!(
            err.contains("global_average_pool2d") && err.contains("[2, 3, 4]"),
            "{err}"
        );
        let err = x.global_max_pool2d().unwrap_err().to_string();
        assert!(
            err.contains("global_max_pool2d") && err.contains("[2, 3, 4]"),
            "{err}"
        );
        let empty = Var::constant(Tensor::zeros(&[1, 0, 2, 3]));
        assert!(empty.global_average_pool2d().is_err());
        assert!(empty.global_max_pool2d().is_err());
    }

    #[derive(Debug, Clone)]
    struct GlobalPoolCase {
        n: usize,
        h: usize,
        w: usize,
        c: usize,
    }

    fn cases() -> impl Strategy<Value = GlobalPoolCase> {
        (1usize..3, 1usize..4, 1usize..4, 1usize..4).prop_map(|(n, h, w, c)| GlobalPoolCase {
            n,
            h,
            w,
            c,
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_images(case in cases(), seed in 0u64..1000) {
            let GlobalPoolCase { n, h, w, c } = case;
            let shape = [n, h, w, c];
            let x = random(&shape, -1.0, 1.0, seed);
            gradcheck("global_average_pool2d", |v| v[0].global_average_pool2d(), &[x]).unwrap();
            // Distinct values 0.1 apart, so each maximum is unique under gradcheck's ±0.01.
            let count = n * h * w * c;
            let distinct: Vec<f32> =
                Rng::new(seed).permutation(count).into_iter().map(|i| 0.1 * i as f32).collect();
            let x = Tensor::from_vec(distinct, &shape).unwrap();
            gradcheck("global_max_pool2d", |v| v[0].global_max_pool2d(), &[x]).unwrap();
        }
    }
}

/// The op on GPU tensors against the same op on CPU tensors (feature `wgpu`).
#[cfg(all(test, feature = "wgpu"))]
mod gpu_tests {
    use super::*;
    use astrograd_tensor::{Device, Tensor};

    /// The GPU, or `None` (with a note) where there is none; CI sets `ASTROGRAD_REQUIRE_GPU`.
    fn gpu() -> Option<Device> {
        astrograd_tensor::gpu::gpu_or_skip()
    }

    #[test]
    fn forward_and_gradients_on_the_gpu_match_the_cpu() {
        let Some(device) = gpu() else { return };
        // Values in quarters: some channels tie for their maximum and share its gradient.
        let x: Vec<f32> = (0..2 * 3 * 5 * 4)
            .map(|i| ((i * 7) % 9) as f32 / 4.0)
            .collect();
        let x = Tensor::from_vec(x, &[2, 3, 5, 4]).unwrap();
        let dy = Tensor::from_vec((0..8).map(|i| i as f32 - 3.5).collect(), &[2, 4]).unwrap();
        for op in [global_average_pool2d, global_max_pool2d] {
            let run = |x: Tensor, dy: Tensor| {
                let x = Var::parameter(x);
                let y = op(&x).unwrap();
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
}
