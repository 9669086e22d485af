//! ResNet50 (He et al., 2015): `keras.applications.ResNet50`.
//!
//! Deep networks train badly when each layer must learn a whole transformation; a residual
//! block learns only a correction `F(x)` added to its input, `y = relu(x + F(x))`, so that the
//! signal and its gradient pass unchanged through the shortcut. ResNet50's block is a
//! "bottleneck": 1×1 convolution down to `f` channels, 3×3 convolution, 1×1 back up to `4f`:
//!
//! ```text
//! x ─┬─ _1_conv 1×1 f (stride s) ─ _1_bn ─ _1_relu ─ _2_conv 3×3 f same ─ _2_bn ─ _2_relu ─ _3_conv 1×1 4f ─ _3_bn ─┐
//!    └─ shortcut: x itself, or (first block of a stack) _0_conv 1×1 4f (stride s) ─ _0_bn ─────────────────────────── _add ─ _out (relu)
//! ```
//!
//! The stem: `conv1_pad` (3) → `conv1_conv` 7×7/2, 64 → `conv1_bn` → `conv1_relu` → `pool1_pad`
//! (1) → `pool1_pool` 3×3/2; then the stacks `conv2` (64, 3 blocks, stride 1), `conv3` (128, 4
//! blocks), `conv4` (256, 6), `conv5` (512, 3), each first block with stride 2 (but conv2's).
//! Every convolution has a bias; every BatchNormalization has epsilon 1.001e-5. The top:
//! `avg_pool` (global average) and `predictions`. 23,587,712 parameters without the top,
//! 25,636,712 with it; 224×224 ends as 7×7×2048. Preprocessing: [`Mode::Caffe`].
use astrograd_autograd::Tensor;

use super::preprocess::Mode;
use super::{
    check_weights_and_classes, load_weights, obtain_input_shape, pooled, predictions, Options,
    Result, Source, WeightsFile,
};
use crate::functional::SymbolicTensor;
use crate::layer::Layer;
use crate::layers::activation::Activation;
use crate::layers::add::Add;
use crate::layers::batch_normalization::BatchNormalization;
use crate::layers::conv2d::Conv2D;
use crate::layers::global_pooling::GlobalAveragePooling2D;
use crate::layers::input::input;
use crate::layers::pooling::MaxPooling2D;
use crate::layers::zero_padding2d::ZeroPadding2D;
use crate::model::Model;
use crate::Padding;

/// MD5 of `resnet50_weights_tf_dim_ordering_tf_kernels.h5` (with the top).
pub const WEIGHTS_MD5: &str = "2cb95161c43110f7111970584f804107";
/// MD5 of `resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5`.
pub const WEIGHTS_NO_TOP_MD5: &str = "4d473c1dd8becc155b73f8504c6f6626";

/// ResNet's BatchNormalization epsilon.
const EPSILON: f32 = 1.001e-5;

/// `(name, filters, blocks, stride of the first block)` of each stack.
const STACKS: [(&str, usize, usize, usize); 4] = [
    ("conv2", 64, 3, 1),
    ("conv3", 128, 4, 2),
    ("conv4", 256, 6, 2),
    ("conv5", 512, 3, 2),
];

fn batch_norm(name: &str) -> BatchNormalization {
    BatchNormalization::new().epsilon(EPSILON).with_name(name)
}

/// Keras's `block1(x, filters, stride, conv_shortcut, name)`: one bottleneck residual block.
fn block(
    x: &SymbolicTensor,
    filters: usize,
    stride: usize,
    conv_shortcut: bool,
    name: &str,
) -> Result<SymbolicTensor> {
    let shortcut = if conv_shortcut {
        let s = Conv2D::new(4 * filters, 1)
            .strides(stride)
            .with_name(&format!("{name}_0_conv"))
            .apply(x)?;
        batch_norm(&format!("{name}_0_bn")).apply(&s)?
    } else {
        x.clone()
    };
    let y = Conv2D::new(filters, 1)
        .strides(stride)
        .with_name(&format!("{name}_1_conv"))
        .apply(x)?;
    let y = batch_norm(&format!("{name}_1_bn")).apply(&y)?;
    let y = Activation::new("relu")
        .with_name(&format!("{name}_1_relu"))
        .apply(&y)?;
    let y = Conv2D::new(filters, 3)
        .padding(Padding::Same)
        .with_name(&format!("{name}_2_conv"))
        .apply(&y)?;
    let y = batch_norm(&format!("{name}_2_bn")).apply(&y)?;
    let y = Activation::new("relu")
        .with_name(&format!("{name}_2_relu"))
        .apply(&y)?;
    let y = Conv2D::new(4 * filters, 1)
        .with_name(&format!("{name}_3_conv"))
        .apply(&y)?;
    let y = batch_norm(&format!("{name}_3_bn")).apply(&y)?;
    let y = Add::new()
        .with_name(&format!("{name}_add"))
        .apply_all(&[&shortcut, &y])?;
    Ok(Activation::new("relu")
        .with_name(&format!("{name}_out"))
        .apply(&y)?)
}

/// `keras.applications.ResNet50(include_top, weights, input_shape, pooling, classes,
/// classifier_activation)`: the model `resnet50`.
///
/// ```
/// use astrograd_layers::applications::{resnet50, Options};
/// let base = resnet50(&Options::new().include_top(false).weights("none").input_shape(&[32, 32, 3]))?;
/// assert_eq!(base.count_params(), 23_587_712);
/// assert_eq!(base.output_shape(), Some(vec![None, Some(1), Some(1), Some(2048)]));
/// # Ok::<(), astrograd_layers::applications::ApplicationError>(())
/// ```
///
/// # Errors
/// As [`super::vgg16()`].
pub fn resnet50(options: &Options) -> Result<Model> {
    check_weights_and_classes(options, Source::ResNet)?;
    let shape = obtain_input_shape(options, 224, 32)?;
    let inputs = input(&shape);
    let x = ZeroPadding2D::new(3)
        .with_name("conv1_pad")
        .apply(&inputs)?;
    let x = Conv2D::new(64, 7)
        .strides(2)
        .with_name("conv1_conv")
        .apply(&x)?;
    let x = batch_norm("conv1_bn").apply(&x)?;
    let x = Activation::new("relu").with_name("conv1_relu").apply(&x)?;
    let x = ZeroPadding2D::new(1).with_name("pool1_pad").apply(&x)?;
    let mut x = MaxPooling2D::new()
        .pool_size(3)
        .strides(2)
        .with_name("pool1_pool")
        .apply(&x)?;
    for (stack, filters, blocks, stride) in STACKS {
        x = block(&x, filters, stride, true, &format!("{stack}_block1"))?;
        for i in 2..=blocks {
            x = block(&x, filters, 1, false, &format!("{stack}_block{i}"))?;
        }
    }
    if options.include_top {
        x = GlobalAveragePooling2D::new()
            .with_name("avg_pool")
            .apply(&x)?;
        x = predictions(&x, options)?;
    } else {
        x = pooled(x, options.pooling, ("avg_pool", "max_pool"))?;
    }
    let mut model = Model::new(&inputs, &x)?.with_name("resnet50");
    load_weights(&mut model, options, || {
        let (name, md5) = if options.include_top {
            (
                "resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                WEIGHTS_MD5,
            )
        } else {
            (
                "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                WEIGHTS_NO_TOP_MD5,
            )
        };
        WeightsFile::keras("resnet50", "resnet", name, Some(md5))
    })?;
    Ok(model)
}

/// `keras.applications.resnet50.preprocess_input`: 'caffe' mode, for pixels in 0–255.
///
/// # Errors
/// Images without 3 channels on the last axis.
pub fn preprocess_input(x: &Tensor) -> crate::Result<Tensor> {
    super::preprocess_input(x, Mode::Caffe)
}
