//! Zero padding of images (Keras `ZeroPadding2D`): a border of zeros around each image.
//!
//! # Math
//! `out[n, top + h, left + w, c] = x[n, h, w, c]`, and every other position of `out` is 0.
//! The zeros do not depend on `x`, so the backward keeps only the part of `dout` that came from
//! `x`, cropping the border away:
//!
//! `dx = dout[:, top..top + H, left..left + W, :]`.
//!
//! MobileNetV2 uses it as `ZeroPadding2D(((0, 1), (0, 1)))` before a stride-2 "valid"
//! depthwise convolution; ResNet50 as `ZeroPadding2D(3)` (three on every side) before `conv1`.
//!
//! # Shapes
//! `x: (N, H, W, C)`; `out: (N, top + H + bottom, left + W + right, C)`.
use astrograd_tensor::nn::pad as nn;
use astrograd_tensor::Tensor;

use crate::{Result, Var};

/// The padding of [`zero_pad2d`], in Keras's order: `((top, bottom), (left, right))`.
pub type Padding2d = ((usize, usize), (usize, usize));

impl Var {
    /// Pads height and width with zeros. See [`zero_pad2d`].
    pub fn zero_pad2d(&self, pads: Padding2d) -> Result<Var> {
        zero_pad2d(self, pads)
    }
}

/// Pads each image of `x` with `top` rows of zeros above, `bottom` below, `left` columns on the
/// left and `right` on the right: Keras's `ZeroPadding2D(((top, bottom), (left, right)))`.
///
/// ```
/// use astrograd_autograd::{Tensor, Var};
/// let x = Var::constant(Tensor::ones(&[1, 2, 2, 1]));
/// let y = x.zero_pad2d(((0, 1), (0, 1)))?; // MobileNetV2's padding before a stride-2 conv
/// assert_eq!(y.shape(), vec![1, 3, 3, 1]);
/// assert_eq!(y.value().to_vec()?, vec![1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// A shape error naming `zero_pad2d` and the shape if `x` is not rank 4 (NHWC), checked in
/// `tensor::nn::pad`.
pub fn zero_pad2d(x: &Var, pads: Padding2d) -> Result<Var> {
    let shape = x.shape();
    // out: (N, top + H + bottom, left + W + right, C), on the device of x
    let out = nn::zero_pad2d_forward(&x.value(), pads)?;
    let (h, w) = (shape[1], shape[2]);
    Ok(Var::from_op("zero_pad2d", out, &[x], move |dout| {
        Ok(vec![Some(zero_pad2d_backward(dout, pads, h, w)?)])
    }))
}

/// `dx = dout[:, top..top + H, left..left + W, :]`: the border's gradient is dropped.
pub fn zero_pad2d_backward(
    dout: &Tensor,
    ((top, _), (left, _)): Padding2d,
    h: usize,
    w: usize,
) -> Result<Tensor> {
    Ok(dout
        .slice_axis(1, top, top + h)?
        .slice_axis(2, left, left + w)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::random;
    use proptest::prelude::*;

    #[test]
    fn values_and_cropped_gradient() {
        // x: (1, 2, 2, 1) = [[1, 2], [3, 4]], padded ((1, 0), (0, 2)) → (1, 3, 4, 1).
        let x = Var::parameter(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 2, 2, 1]).unwrap());
        let y = x.zero_pad2d(((1, 0), (0, 2))).unwrap();
        assert_eq!(y.shape(), vec![1, 3, 4, 1]);
        #[rustfmt::skip]
        let expected = vec![
            0.0, 0.0, 0.0, 0.0,
            1.0, 2.0, 0.0, 0.0,
            3.0, 4.0, 0.0, 0.0,
        ];
        assert_eq!(y.value().to_vec().unwrap(), expected);
        let dout = Tensor::from_vec((0..12).map(|i| i as f32).collect(), &[1, 3, 4, 1]).unwrap();
        y.backward_with(dout).unwrap();
        assert_eq!(
            x.grad().unwrap().to_vec().unwrap(),
            vec![4.0, 5.0, 8.0, 9.0]
        );
    }

    #[test]
    fn channels_stay_together() {
        // x: (2, 1, 1, 2): two 1×1 images with two channels, padded one on every side.
        let x = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 1, 1, 2]).unwrap());
        let y = x.zero_pad2d(((1, 1), (1, 1))).unwrap();
        assert_eq!(y.shape(), vec![2, 3, 3, 2]);
        let v = y.value().to_vec().unwrap();
        // The centre (1, 1) of image n starts at ((n·3 + 1)·3 + 1)·2.
        assert_eq!(&v[8..10], &[1.0, 2.0]);
        assert_eq!(&v[26..28], &[3.0, 4.0]);
        assert_eq!(v.iter().sum::<f32>(), 10.0);
    }

    #[test]
    fn not_rank_4_is_an_error_naming_the_op_and_shape() {
        let x = Var::constant(Tensor::zeros(&[3, 3, 1]));
        let err = x.zero_pad2d(((1, 1), (1, 1))).unwrap_err().to_string();
        assert!(
            err.contains("zero_pad2d") && err.contains("[3, 3, 1]"),
            "{err}"
        );
    }

    #[derive(Debug, Clone)]
    struct ZeroPad2dCase {
        n: usize,
        h: usize,
        w: usize,
        c: usize,
        pads: Padding2d,
    }

    fn cases() -> impl Strategy<Value = ZeroPad2dCase> {
        (
            1usize..3,
            1usize..4,
            1usize..4,
            1usize..3,
            (0usize..3, 0usize..3),
            (0usize..3, 0usize..3),
        )
            .prop_map(|(n, h, w, c, tb, lr)| ZeroPad2dCase {
                n,
                h,
                w,
                c,
                pads: (tb, lr),
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn gradcheck_random_padding(case in cases(), seed in 0u64..1000) {
            let ZeroPad2dCase { n, h, w, c, pads } = case;
            let ((top, bottom), (left, right)) = pads;
            let x = random(&[n, h, w, c], -1.0, 1.0, seed);
            let y = Var::constant(x.clone()).zero_pad2d(pads).unwrap();
            prop_assert_eq!(y.shape(), vec![n, top + h + bottom, left + w + right, c]);
            // The padded sum equals the original sum: only zeros were added.
            let (a, b) = (y.value().sum_all().item().unwrap(), x.sum_all().item().unwrap());
            prop_assert!((a - b).abs() < 1e-5);
            gradcheck("zero_pad2d", |v| v[0].zero_pad2d(pads), &[x]).unwrap();
        }
    }
}

/// Zero padding, Huber and MAE on the GPU (feature `wgpu`): values and gradients are the CPU's.
#[cfg(all(test, feature = "wgpu"))]
mod gpu_tests {
    use super::*;
    use crate::ops::testing::random;

    #[test]
    fn forward_and_backward_on_the_gpu_match_the_cpu() {
        let Some(gpu) = astrograd_tensor::gpu::gpu_or_skip() else {
            return;
        };
        let cpu = astrograd_tensor::Device::Cpu;
        let x = random(&[2, 4, 3, 2], -2.0, 2.0, 11);
        let target = random(&[2, 6, 4, 2], -2.0, 2.0, 12);
        // The same graph on either device: pad (bottom and left), then a per-sample loss; the
        // loss values and the gradient of x, read back to the host.
        let run = |device, loss: &str| -> (Tensor, Tensor) {
            let x = Var::parameter(x.to(device).unwrap());
            let target = target.to(device).unwrap();
            let padded = x.zero_pad2d(((0, 2), (1, 0))).unwrap();
            assert_eq!(padded.value().device(), device);
            let per_sample = match loss {
                "huber" => padded.huber(&target, 0.7).unwrap(),
                _ => padded.mean_absolute_error(&target).unwrap(),
            };
            per_sample.sum_all().unwrap().backward().unwrap();
            let dx = x.grad().unwrap();
            assert_eq!(dx.device(), device);
            (per_sample.value().to(cpu).unwrap(), dx.to(cpu).unwrap())
        };
        for loss in ["huber", "mae"] {
            let ((l_cpu, dx_cpu), (l_gpu, dx_gpu)) = (run(cpu, loss), run(gpu, loss));
            assert!(
                l_gpu.all_close(&l_cpu, 1e-5, 1e-6),
                "{loss}: {l_gpu} vs {l_cpu}"
            );
            assert!(
                dx_gpu.all_close(&dx_cpu, 1e-5, 1e-6),
                "{loss} dx: {dx_gpu} vs {dx_cpu}"
            );
        }
    }
}
