//! VGG16 (Simonyan & Zisserman, 2014): `keras.applications.VGG16`.
//!
//! Five blocks of 3×3 'same' convolutions with ReLU, each closed by a 2×2 max-pooling that
//! halves the picture; the number of filters doubles from block to block up to 512:
//!
//! | block | layers | output for 224×224 |
//! |---|---|---|
//! | 1 | `block1_conv1`, `block1_conv2` (64), `block1_pool` | 112×112×64 |
//! | 2 | `block2_conv1`, `block2_conv2` (128), `block2_pool` | 56×56×128 |
//! | 3 | `block3_conv1` … `block3_conv3` (256), `block3_pool` | 28×28×256 |
//! | 4 | `block4_conv1` … `block4_conv3` (512), `block4_pool` | 14×14×512 |
//! | 5 | `block5_conv1` … `block5_conv3` (512), `block5_pool` | 7×7×512 |
//! | top | `flatten` (25,088), `fc1` (4096, relu), `fc2` (4096, relu), `predictions` (1000, softmax) | 1000 |
//!
//! 14,714,688 parameters in the convolutions, 138,357,544 with the top (fc1 alone has
//! 102,764,544). A 150×150 input ends as 4×4×512. Preprocessing: [`Mode::Caffe`].
//!
//! Keras's files: `vgg16_weights_tf_dim_ordering_tf_kernels.h5` (MD5
//! `64373286793e3c8b2b4e3219cbf3544b`, 528 MB) and `…_notop.h5` (MD5
//! `6d6bbae143d832006294945121d1f1fc`, 59 MB). Their weights are named `block1_conv1_W_1:0`,
//! `block1_conv1_b_1:0` (from Keras 1), which the loader pairs by position.
use astrograd_autograd::Tensor;

use super::preprocess::Mode;
use super::{
    check_weights_and_classes, load_weights, obtain_input_shape, pooled, predictions, Options,
    Result, Source, WeightsFile,
};
use crate::layer::Layer;
use crate::layers::conv2d::Conv2D;
use crate::layers::dense::Dense;
use crate::layers::flatten::Flatten;
use crate::layers::input::input;
use crate::layers::pooling::MaxPooling2D;
use crate::model::Model;
use crate::Padding;

/// MD5 of `vgg16_weights_tf_dim_ordering_tf_kernels.h5` (with the top).
pub const WEIGHTS_MD5: &str = "64373286793e3c8b2b4e3219cbf3544b";
/// MD5 of `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`.
pub const WEIGHTS_NO_TOP_MD5: &str = "6d6bbae143d832006294945121d1f1fc";

/// The filters and the number of convolutions of each block.
const BLOCKS: [(usize, usize); 5] = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)];

/// `keras.applications.VGG16(include_top, weights, input_shape, pooling, classes,
/// classifier_activation)`: the model `vgg16`.
///
/// ```
/// use astrograd_layers::applications::{vgg16, Options};
/// let base = vgg16(&Options::new().include_top(false).weights("none").input_shape(&[150, 150, 3]))?;
/// assert_eq!(base.count_params(), 14_714_688);
/// assert_eq!(base.output_shape(), Some(vec![None, Some(4), Some(4), Some(512)]));
/// # Ok::<(), astrograd_layers::applications::ApplicationError>(())
/// ```
///
/// # Errors
/// Keras's argument errors ([`super::ApplicationError::Argument`]); a weights file that does
/// not fit the architecture (its layer and both shapes); ImageNet weights that are not on this
/// machine and cannot be downloaded.
pub fn vgg16(options: &Options) -> Result<Model> {
    check_weights_and_classes(options, Source::Vgg)?;
    let shape = obtain_input_shape(options, 224, 32)?;
    let inputs = input(&shape);
    let mut x = inputs.clone();
    for (b, &(filters, convs)) in BLOCKS.iter().enumerate() {
        for c in 0..convs {
            x = Conv2D::new(filters, (3, 3))
                .activation("relu")
                .padding(Padding::Same)
                .with_name(&format!("block{}_conv{}", b + 1, c + 1))
                .apply(&x)?;
        }
        x = MaxPooling2D::new()
            .pool_size((2, 2))
            .strides((2, 2))
            .with_name(&format!("block{}_pool", b + 1))
            .apply(&x)?;
    }
    if options.include_top {
        x = Flatten::new().with_name("flatten").apply(&x)?;
        x = Dense::new(4096)
            .activation("relu")
            .with_name("fc1")
            .apply(&x)?;
        x = Dense::new(4096)
            .activation("relu")
            .with_name("fc2")
            .apply(&x)?;
        x = predictions(&x, options)?;
    } else {
        x = pooled(x, options.pooling, ("", ""))?;
    }
    let mut model = Model::new(&inputs, &x)?.with_name("vgg16");
    load_weights(&mut model, options, || {
        let (name, md5) = if options.include_top {
            ("vgg16_weights_tf_dim_ordering_tf_kernels.h5", WEIGHTS_MD5)
        } else {
            (
                "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                WEIGHTS_NO_TOP_MD5,
            )
        };
        WeightsFile::keras("vgg16", "vgg16", name, Some(md5))
    })?;
    Ok(model)
}

/// `keras.applications.vgg16.preprocess_input`: 'caffe' mode (RGB → BGR, minus the ImageNet
/// mean), for pixels in 0–255.
///
/// # Errors
/// Images without 3 channels on the last axis.
pub fn preprocess_input(x: &Tensor) -> crate::Result<Tensor> {
    super::preprocess_input(x, Mode::Caffe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::applications::Pooling;

    #[test]
    fn keras_s_layers_shapes_and_counts() {
        let base = vgg16(
            &Options::new()
                .include_top(false)
                .weights("none")
                .input_shape(&[32, 32, 3]),
        )
        .unwrap();
        assert_eq!(base.name(), "vgg16");
        assert_eq!(base.count_params(), 14_714_688);
        assert_eq!(
            base.output_shape(),
            Some(vec![None, Some(1), Some(1), Some(512)])
        );
        let names: Vec<String> = base.layers().iter().map(|l| l.name()).collect();
        assert_eq!(names[1..4], ["block1_conv1", "block1_conv2", "block1_pool"]);
        assert_eq!(names.last().unwrap(), "block5_pool");
        assert_eq!(names.len(), 19);
        let avg = vgg16(
            &Options::new()
                .include_top(false)
                .weights("none")
                .input_shape(&[32, 32, 3])
                .pooling(Pooling::Max),
        )
        .unwrap();
        assert_eq!(avg.output_shape(), Some(vec![None, Some(512)]));
    }
}
