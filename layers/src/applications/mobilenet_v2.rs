//! MobileNetV2 (Sandler et al., 2018): `keras.applications.MobileNetV2`.
//!
//! Built for phones: most of its work is done by **depthwise** convolutions, which filter each
//! channel on its own (3·3·C weights instead of 3·3·C·F), between cheap 1×1 convolutions that
//! mix channels. Its block, the **inverted residual**, widens, filters, then narrows:
//!
//! ```text
//! x ─┬─ expand 1×1 (t·C, no bias) ─ BN ─ ReLU6 ─ [pad] depthwise 3×3 (stride s) ─ BN ─ ReLU6 ─ project 1×1 (c, no bias) ─ BN ─┐
//!    └──────────────────────────────────────── (when s = 1 and C = c) ──────────────────────────────────────────────── add
//! ```
//!
//! named `block_{id}_expand`, `_expand_BN`, `_expand_relu`, `_pad`, `_depthwise`,
//! `_depthwise_BN`, `_depthwise_relu`, `_project`, `_project_BN`, `_add` (block 0 has no expand
//! step and is named `expanded_conv_…`). A stride-2 block pads first (Keras's `correct_pad`:
//! `((0, 1), (0, 1))` for an even size, `((1, 1), (1, 1))` for an odd one) and convolves
//! 'valid'. The blocks `(t, c, s)`: 0 (1, 16, 1); 1–2 (6, 24; 2, 1); 3–5 (6, 32; 2, 1, 1);
//! 6–9 (6, 64; 2, 1, 1, 1); 10–12 (6, 96; 1); 13–15 (6, 160; 2, 1, 1); 16 (6, 320; 1). Around
//! them: `Conv1` 3×3/2 'same' (32) → `bn_Conv1` → `Conv1_relu`, and `Conv_1` 1×1 (1280) →
//! `Conv_1_bn` → `out_relu`. Every BatchNormalization: epsilon 1e-3, momentum 0.999.
//!
//! **`alpha`** scales every layer's width: `c·alpha` rounded by [`make_divisible`] to a multiple
//! of 8 (the last 1280 grows only when alpha > 1). The model is named
//! `mobilenetv2_{alpha:.2}_{rows}` (`mobilenetv2_1.00_224`). With alpha 1: 2,257,984
//! parameters without the top, 3,538,984 with it; 160×160 ends as 5×5×1280. Preprocessing:
//! [`Mode::Tf`].
//!
//! ImageNet weights exist for alpha in {0.35, 0.5, 0.75, 1.0, 1.3, 1.4} and square inputs of
//! 96, 128, 160, 192 or 224 (another size loads the 224 file, with Keras's warning), as
//! `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{rows}[_no_top].h5`; Keras
//! publishes no checksum for them.
use astrograd_autograd::Tensor;

use super::preprocess::Mode;
use super::relu::ReLU;
use super::{
    check_weights_and_classes, load_weights, obtain_input_shape, pooled, predictions,
    ApplicationError, Options, Result, Source, Weights, WeightsFile,
};
use crate::functional::SymbolicTensor;
use crate::layer::Layer;
use crate::layers::add::Add;
use crate::layers::batch_normalization::BatchNormalization;
use crate::layers::conv2d::Conv2D;
use crate::layers::depthwise_conv2d::DepthwiseConv2D;
use crate::layers::global_pooling::GlobalAveragePooling2D;
use crate::layers::input::input;
use crate::layers::zero_padding2d::ZeroPadding2D;
use crate::model::Model;
use crate::Padding;

/// The input sizes ImageNet weights were trained at.
const TRAINED_SIZES: [usize; 5] = [96, 128, 160, 192, 224];
/// The widths ImageNet weights exist for.
const TRAINED_ALPHAS: [f64; 6] = [0.35, 0.50, 0.75, 1.0, 1.3, 1.4];

/// `(expansion t, filters c, stride s)` of blocks 0 to 16.
const BLOCKS: [(usize, usize, usize); 17] = [
    (1, 16, 1),
    (6, 24, 2),
    (6, 24, 1),
    (6, 32, 2),
    (6, 32, 1),
    (6, 32, 1),
    (6, 64, 2),
    (6, 64, 1),
    (6, 64, 1),
    (6, 64, 1),
    (6, 96, 1),
    (6, 96, 1),
    (6, 96, 1),
    (6, 160, 2),
    (6, 160, 1),
    (6, 160, 1),
    (6, 320, 1),
];

/// Keras's `_make_divisible(v, divisor)`: `v` rounded to the nearest multiple of `divisor`
/// (at least `divisor`), one step up if rounding lost more than 10 %.
///
/// ```
/// use astrograd_layers::applications::make_divisible;
/// assert_eq!(make_divisible(32.0 * 0.35, 8), 16); // 11.2 → 8 would lose 29 % → 16
/// assert_eq!(make_divisible(32.0 * 0.75, 8), 24);
/// ```
pub fn make_divisible(v: f64, divisor: usize) -> usize {
    let d = divisor as f64;
    let rounded = (((v + d / 2.0) as usize) / divisor * divisor).max(divisor);
    if (rounded as f64) < 0.9 * v {
        rounded + divisor
    } else {
        rounded
    }
}

fn batch_norm(name: &str) -> BatchNormalization {
    BatchNormalization::new()
        .epsilon(1e-3)
        .momentum(0.999)
        .with_name(name)
}

fn relu6(name: &str) -> ReLU {
    ReLU::new().max_value(6.0).with_name(name)
}

/// The channels (last axis) of a symbolic tensor.
fn channels(x: &SymbolicTensor) -> usize {
    x.shape().last().copied().flatten().unwrap_or(0)
}

/// Keras's `imagenet_utils.correct_pad(x, 3)`: the padding that makes a stride-2 'valid' 3×3
/// convolution take the same windows as TF's 'same' one.
fn correct_pad(x: &SymbolicTensor) -> ((usize, usize), (usize, usize)) {
    let size = |axis: usize| x.shape().get(axis).copied().flatten();
    let adjust = |n: Option<usize>| n.map_or(1, |n| 1 - n % 2);
    ((1 - adjust(size(1)), 1), (1 - adjust(size(2)), 1))
}

/// Keras's `_inverted_res_block(x, expansion, stride, alpha, filters, block_id)`.
fn inverted_res_block(
    inputs: &SymbolicTensor,
    expansion: usize,
    stride: usize,
    alpha: f64,
    filters: usize,
    block_id: usize,
) -> Result<SymbolicTensor> {
    let in_channels = channels(inputs);
    let pointwise_filters = make_divisible(((filters as f64) * alpha).trunc(), 8);
    let mut x = inputs.clone();
    let prefix = if block_id > 0 {
        let prefix = format!("block_{block_id}_");
        x = Conv2D::new(expansion * in_channels, 1)
            .padding(Padding::Same)
            .use_bias(false)
            .with_name(&format!("{prefix}expand"))
            .apply(&x)?;
        x = batch_norm(&format!("{prefix}expand_BN")).apply(&x)?;
        x = relu6(&format!("{prefix}expand_relu")).apply(&x)?;
        prefix
    } else {
        "expanded_conv_".to_string()
    };
    if stride == 2 {
        x = ZeroPadding2D::new(correct_pad(&x))
            .with_name(&format!("{prefix}pad"))
            .apply(&x)?;
    }
    x = DepthwiseConv2D::new(3)
        .strides(stride)
        .use_bias(false)
        .padding(if stride == 1 {
            Padding::Same
        } else {
            Padding::Valid
        })
        .with_name(&format!("{prefix}depthwise"))
        .apply(&x)?;
    x = batch_norm(&format!("{prefix}depthwise_BN")).apply(&x)?;
    x = relu6(&format!("{prefix}depthwise_relu")).apply(&x)?;
    x = Conv2D::new(pointwise_filters, 1)
        .padding(Padding::Same)
        .use_bias(false)
        .with_name(&format!("{prefix}project"))
        .apply(&x)?;
    x = batch_norm(&format!("{prefix}project_BN")).apply(&x)?;
    if in_channels == pointwise_filters && stride == 1 {
        return Ok(Add::new()
            .with_name(&format!("{prefix}add"))
            .apply_all(&[inputs, &x])?);
    }
    Ok(x)
}

/// Python's `str(float(alpha))`, as Keras's file names spell it: `1.0`, `0.35`, `0.5`.
fn python_float(alpha: f64) -> String {
    format!("{alpha:?}")
}

/// `keras.applications.MobileNetV2(input_shape, alpha, include_top, weights, pooling, classes,
/// classifier_activation)`: the model `mobilenetv2_{alpha}_{rows}`.
///
/// ```
/// use astrograd_layers::applications::{mobilenet_v2, Options};
/// let options = Options::new().include_top(false).weights("none").input_shape(&[160, 160, 3]);
/// let base = mobilenet_v2(&options, 1.0)?;
/// assert_eq!(base.name(), "mobilenetv2_1.00_160");
/// assert_eq!(base.count_params(), 2_257_984);
/// assert_eq!(base.output_shape(), Some(vec![None, Some(5), Some(5), Some(1280)]));
/// # Ok::<(), astrograd_layers::applications::ApplicationError>(())
/// ```
///
/// # Errors
/// As [`super::vgg16()`]; an `alpha` that has no ImageNet weights (Keras's message).
pub fn mobilenet_v2(options: &Options, alpha: f64) -> Result<Model> {
    check_weights_and_classes(options, Source::MobileNetV2)?;
    let default_size = match options.input_shape.as_deref() {
        Some([rows, cols, ..]) if rows == cols && TRAINED_SIZES.contains(rows) => *rows,
        _ => 224,
    };
    let shape = obtain_input_shape(options, default_size, 32)?;
    if alpha.is_nan() || alpha <= 0.0 {
        return Err(ApplicationError::Argument {
            message: format!("`alpha` must be positive; Received `alpha={alpha:?}`"),
        });
    }
    let mut rows = shape[0];
    if options.weights == Weights::ImageNet {
        if !TRAINED_ALPHAS.contains(&alpha) {
            return Err(ApplicationError::Argument {
                message: format!(
                    "If imagenet weights are being loaded, alpha must be one of `0.35`, \
                     `0.50`, `0.75`, `1.0`, `1.3` or `1.4` only; Received `alpha={}`",
                    python_float(alpha)
                ),
            });
        }
        if shape[0] != shape[1] || !TRAINED_SIZES.contains(&rows) {
            rows = 224;
            eprintln!(
                "WARNING: `input_shape` is undefined or non-square, or `rows` is not in [96, \
                 128, 160, 192, 224]. Weights for input shape (224, 224) will be loaded as the \
                 default."
            );
        }
    }
    let inputs = input(&shape);
    let first_block_filters = make_divisible(32.0 * alpha, 8);
    let x = Conv2D::new(first_block_filters, 3)
        .strides(2)
        .padding(Padding::Same)
        .use_bias(false)
        .with_name("Conv1")
        .apply(&inputs)?;
    let x = batch_norm("bn_Conv1").apply(&x)?;
    let mut x = relu6("Conv1_relu").apply(&x)?;
    for (block_id, &(expansion, filters, stride)) in BLOCKS.iter().enumerate() {
        x = inverted_res_block(&x, expansion, stride, alpha, filters, block_id)?;
    }
    // No alpha on the last convolution below 1, as the paper says.
    let last_block_filters = if alpha > 1.0 {
        make_divisible(1280.0 * alpha, 8)
    } else {
        1280
    };
    let x = Conv2D::new(last_block_filters, 1)
        .use_bias(false)
        .with_name("Conv_1")
        .apply(&x)?;
    let x = batch_norm("Conv_1_bn").apply(&x)?;
    let mut x = relu6("out_relu").apply(&x)?;
    if options.include_top {
        x = GlobalAveragePooling2D::new().apply(&x)?;
        x = predictions(&x, options)?;
    } else {
        x = pooled(x, options.pooling, ("", ""))?;
    }
    let name = format!("mobilenetv2_{alpha:.2}_{rows}");
    let mut model = Model::new(&inputs, &x)?.with_name(&name);
    load_weights(&mut model, options, || {
        let top = if options.include_top { "" } else { "_no_top" };
        let file = format!(
            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{}_{rows}{top}.h5",
            python_float(alpha)
        );
        WeightsFile::keras("mobilenet_v2", "mobilenet_v2", &file, None)
    })?;
    Ok(model)
}

/// `keras.applications.mobilenet_v2.preprocess_input`: 'tf' mode, `x / 127.5 − 1`, for pixels
/// in 0–255.
///
/// # Errors
/// None in 'tf' mode; kept a `Result` like its siblings.
pub fn preprocess_input(x: &Tensor) -> crate::Result<Tensor> {
    super::preprocess_input(x, Mode::Tf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_divisible_is_keras_s() {
        // Python: [_make_divisible(v, 8) for v in (11.2, 5, 8, 35, 448, 1792.0)]
        for (v, expected) in [
            (11.2, 16),
            (5.0, 8),
            (8.0, 8),
            (35.0, 32),
            (448.0, 448),
            (1792.0, 1792),
        ] {
            assert_eq!(make_divisible(v, 8), expected, "{v}");
        }
        assert_eq!(python_float(1.0), "1.0");
        assert_eq!(python_float(0.35), "0.35");
        assert_eq!(python_float(0.5), "0.5");
    }

    #[test]
    fn pads_as_correct_pad() {
        let even = input(&[16, 16, 3]);
        assert_eq!(correct_pad(&even), ((0, 1), (0, 1)));
        let odd = input(&[75, 75, 3]);
        assert_eq!(correct_pad(&odd), ((1, 1), (1, 1)));
    }

    #[test]
    fn imagenet_weights_need_a_trained_alpha() {
        let options = Options::new().include_top(false).input_shape(&[96, 96, 3]);
        let err = mobilenet_v2(&options, 0.6)
            .err()
            .expect("an error")
            .to_string();
        assert_eq!(
            err,
            "If imagenet weights are being loaded, alpha must be one of `0.35`, `0.50`, `0.75`, \
             `1.0`, `1.3` or `1.4` only; Received `alpha=0.6`"
        );
    }
}
