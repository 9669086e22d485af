//! `preprocess_input`: what the pretrained networks expect their pixels to look like.
//!
//! A network pretrained on ImageNet learned on pictures prepared in one precise way, and it
//! must be fed pictures prepared the same way. Keras's `imagenet_utils.preprocess_input` has
//! three modes; each application uses one:
//!
//! | mode | used by | from RGB pixels `x` in 0–255 |
//! |---|---|---|
//! | [`Mode::Caffe`] | VGG16, ResNet50 | RGB → BGR, then subtract the ImageNet mean per channel `[103.939, 116.779, 123.68]` (B, G, R); no scaling |
//! | [`Mode::Tf`] | MobileNetV2 | `x / 127.5 − 1`, into [−1, 1] |
//! | [`Mode::Torch`] | (DenseNet) | `x / 255`, then `(x − mean) / std` per channel, mean `[0.485, 0.456, 0.406]`, std `[0.229, 0.224, 0.225]` (RGB) |
//!
//! RGB (10, 20, 30) becomes (−73.939, −96.779, −113.68) in 'caffe' mode (B − 103.939, G − 116.779,
//! R − 123.68, in BGR order) and (−0.9216, −0.8431, −0.7647) in 'tf' mode.
//!
//! # Shapes
//! `x: (…, 3)`, channels last; the output has the same shape.
use astrograd_autograd::Tensor;

use crate::{LayerError, Result};

/// The ImageNet mean that 'caffe' mode subtracts, in BGR order.
pub const CAFFE_MEAN_BGR: [f32; 3] = [103.939, 116.779, 123.68];
/// The mean and standard deviation of 'torch' mode, in RGB order.
pub const TORCH_MEAN_RGB: [f32; 3] = [0.485, 0.456, 0.406];
/// See [`TORCH_MEAN_RGB`].
pub const TORCH_STD_RGB: [f32; 3] = [0.229, 0.224, 0.225];

/// Keras's `mode=` of `preprocess_input`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// RGB → BGR, minus the ImageNet mean (VGG16, ResNet50).
    Caffe,
    /// `x / 127.5 − 1` (MobileNetV2).
    Tf,
    /// `(x / 255 − mean) / std` per channel.
    Torch,
}

/// `keras.applications.imagenet_utils.preprocess_input(x, mode=…)` for images with their
/// channels last, pixels in 0–255 (not rescaled to 0–1).
///
/// ```
/// use astrograd_layers::applications::{preprocess_input, Mode};
/// use astrograd_autograd::Tensor;
/// let rgb = Tensor::from_vec(vec![10.0, 20.0, 30.0], &[1, 1, 1, 3])?;
/// let bgr = preprocess_input(&rgb, Mode::Caffe)?.to_vec()?;
/// assert!((bgr[0] - (30.0 - 103.939)).abs() < 1e-4); // B first
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`LayerError::Invalid`] when the last axis is not 3 channels ('caffe' and 'torch' modes).
pub fn preprocess_input(x: &Tensor, mode: Mode) -> Result<Tensor> {
    if mode == Mode::Tf {
        return Ok(x.mul_scalar(1.0 / 127.5).add_scalar(-1.0));
    }
    let shape = x.shape().to_vec();
    if shape.last() != Some(&3) {
        return Err(LayerError::invalid(
            "preprocess_input",
            "images with 3 channels (RGB) on the last axis",
            format!("shape {shape:?}"),
        ));
    }
    let mut out = x.to_vec()?;
    for pixel in out.chunks_exact_mut(3) {
        let [r, g, b] = [pixel[0], pixel[1], pixel[2]];
        let value = match mode {
            Mode::Caffe => [
                b - CAFFE_MEAN_BGR[0],
                g - CAFFE_MEAN_BGR[1],
                r - CAFFE_MEAN_BGR[2],
            ],
            Mode::Torch | Mode::Tf => {
                let rgb = [r, g, b];
                std::array::from_fn(|c| (rgb[c] / 255.0 - TORCH_MEAN_RGB[c]) / TORCH_STD_RGB[c])
            }
        };
        pixel.copy_from_slice(&value);
    }
    Ok(Tensor::from_vec(out, &shape)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb() -> Tensor {
        Tensor::from_vec(vec![10.0, 20.0, 30.0, 255.0, 0.0, 127.5], &[2, 1, 1, 3]).unwrap()
    }

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4)
    }

    #[test]
    fn caffe_swaps_to_bgr_and_subtracts_the_mean() {
        // docs/keras-semantics.md §9: RGB (10, 20, 30) → (−73.939, −96.779, −113.68).
        let y = preprocess_input(&rgb(), Mode::Caffe).unwrap();
        assert_eq!(y.shape(), &[2, 1, 1, 3]);
        let expected = [
            -73.939,
            -96.779,
            -113.68,
            127.5 - 103.939,
            0.0 - 116.779,
            255.0 - 123.68,
        ];
        assert!(
            close(&y.to_vec().unwrap(), &expected),
            "{:?}",
            y.to_vec().unwrap()
        );
    }

    #[test]
    fn tf_and_torch_scale() {
        let y = preprocess_input(&rgb(), Mode::Tf)
            .unwrap()
            .to_vec()
            .unwrap();
        assert!(close(&y[3..], &[1.0, -1.0, 0.0]), "{y:?}");
        let y = preprocess_input(&rgb(), Mode::Torch)
            .unwrap()
            .to_vec()
            .unwrap();
        assert!(close(&y[3..4], &[(1.0 - 0.485) / 0.229]), "{y:?}");
    }

    #[test]
    fn caffe_needs_three_channels() {
        let grey = Tensor::zeros(&[2, 4, 4, 1]);
        let err = preprocess_input(&grey, Mode::Caffe)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("3 channels") && err.contains("[2, 4, 4, 1]"),
            "{err}"
        );
        assert!(preprocess_input(&grey, Mode::Tf).is_ok());
    }
}
