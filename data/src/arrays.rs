//! Small array recipes of the course: grey by channel mean, pixels / 255, one-hot labels.
//!
//! | course (NumPy / Keras)                        | astrograd                                |
//! |-----------------------------------------------|------------------------------------------|
//! | `images.mean(axis=3)`                         | [`to_grey_channel_mean`]`(&images)`      |
//! | `x_train / 255.0`                             | [`scale_255`]`(&x)` or [`scale_u8`]       |
//! | `keras.utils.to_categorical(y, num_classes)`  | [`one_hot`]`(&y, num_classes)`           |
//!
//! # Shapes
//! N images, H×W pixels, C channels (NHWC, as Keras).
use astrograd_tensor::Tensor;

use crate::error::{DataError, Result};

/// Grey images by the mean of the channels: (N, H, W, C) → (N, H, W).
///
/// # Math
/// `grey[n, h, w] = (Σ_c x[n, h, w, c]) / C`
///
/// ```
/// use astrograd_data::arrays::to_grey_channel_mean;
/// use astrograd_tensor::Tensor;
/// let rgb = Tensor::from_vec(vec![0.0, 30.0, 90.0, 255.0, 255.0, 255.0], &[1, 1, 2, 3])?;
/// assert_eq!(to_grey_channel_mean(&rgb)?.to_vec()?, vec![40.0, 255.0]);
/// # Ok::<(), astrograd_data::DataError>(())
/// ```
///
/// # Errors
/// [`DataError::Invalid`] unless `images` has rank 4 with at least one channel.
pub fn to_grey_channel_mean(images: &Tensor) -> Result<Tensor> {
    let shape = images.shape();
    if shape.len() != 4 || shape[3] == 0 {
        return Err(DataError::Invalid {
            op: "to_grey_channel_mean",
            expected: "images of shape (N, H, W, C) with C ≥ 1".to_string(),
            found: format!("shape {shape:?}"),
        });
    }
    let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3]);
    // grey: (N, H, W); each pixel's C channel values are contiguous in NHWC.
    let grey: Vec<f32> = images
        .as_slice()?
        .chunks_exact(c)
        .map(|pixel| pixel.iter().sum::<f32>() / c as f32)
        .collect();
    Ok(Tensor::from_vec(grey, &[n, h, w])?)
}

/// Bytes 0–255 to an f32 tensor of `shape` with values in [0, 1]: `x / 255`.
///
/// Division, not multiplication by 1/255, so that the values are the f32 nearest to NumPy's
/// `x / 255.0` (a correctly rounded f32 quotient equals the f64 quotient rounded to f32).
///
/// # Errors
/// [`DataError::Tensor`] if `bytes.len()` is not the product of `shape`.
pub fn scale_u8(bytes: &[u8], shape: &[usize]) -> Result<Tensor> {
    let data: Vec<f32> = bytes.iter().map(|&b| b as f32 / 255.0).collect();
    Ok(Tensor::from_vec(data, shape)?)
}

/// Raw pixel values 0–255 (as f32) to [0, 1]: `x / 255`, as the course's `x_train / 255.0`.
///
/// # Errors
/// [`DataError::Tensor`] for a tensor on the GPU (scale the images before moving them).
pub fn scale_255(x: &Tensor) -> Result<Tensor> {
    Ok(x.map(|v| v / 255.0)?)
}

/// Integer class labels to one-hot rows, as `keras.utils.to_categorical(labels, num_classes)`:
/// (N,) or (N, 1) → (N, num_classes), with `out[i, labels[i]] = 1`.
///
/// ```
/// use astrograd_data::arrays::one_hot;
/// use astrograd_tensor::Tensor;
/// let y = Tensor::from_vec(vec![2.0, 0.0], &[2])?;
/// assert_eq!(one_hot(&y, 3)?.to_vec()?, vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
/// # Ok::<(), astrograd_data::DataError>(())
/// ```
///
/// # Errors
/// [`DataError::LabelOutOfRange`] for a label that is negative, not a whole number, or not
/// below `num_classes`; [`DataError::Invalid`] for another shape or `num_classes == 0`.
pub fn one_hot(labels: &Tensor, num_classes: usize) -> Result<Tensor> {
    const OP: &str = "one_hot";
    let shape = labels.shape();
    let n = match shape {
        [n] | [n, 1] => *n,
        _ => {
            return Err(DataError::Invalid {
                op: OP,
                expected: "labels of shape (N,) or (N, 1)".to_string(),
                found: format!("shape {shape:?}"),
            })
        }
    };
    if num_classes == 0 {
        return Err(DataError::Invalid {
            op: OP,
            expected: "num_classes ≥ 1".to_string(),
            found: "0".to_string(),
        });
    }
    // out: (N, K)
    let mut out = vec![0.0f32; n * num_classes];
    for (index, &label) in labels.as_slice()?.iter().enumerate() {
        let whole = label >= 0.0 && label.fract() == 0.0 && (label as usize) < num_classes;
        if !whole {
            return Err(DataError::LabelOutOfRange {
                op: OP,
                index,
                label,
                num_classes,
            });
        }
        out[index * num_classes + label as usize] = 1.0;
    }
    Ok(Tensor::from_vec(out, &[n, num_classes])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn grey_is_the_channel_mean() {
        // Two 1×2 RGB images.
        let x = Tensor::from_vec(
            vec![
                3.0, 6.0, 9.0, 0.0, 0.0, 3.0, 255.0, 255.0, 255.0, 1.0, 2.0, 4.0,
            ],
            &[2, 1, 2, 3],
        )
        .expect("12 values");
        let grey = to_grey_channel_mean(&x).expect("rank 4");
        assert_eq!(grey.shape(), &[2, 1, 2]);
        assert_eq!(grey.to_vec().unwrap(), vec![6.0, 1.0, 255.0, 7.0 / 3.0]);
    }

    #[test]
    fn grey_needs_rank_4() {
        let err = to_grey_channel_mean(&Tensor::zeros(&[2, 3, 3])).expect_err("rank 3");
        assert!(err.to_string().contains("(N, H, W, C)"), "{err}");
    }

    #[test]
    fn scaling_matches_numpy_division() {
        let x = scale_u8(&[0, 1, 127, 255], &[2, 2]).expect("4 values");
        assert_eq!(x.shape(), &[2, 2]);
        // NumPy: (np.array([0, 1, 127, 255]) / 255.0).astype(np.float32)
        let expected: Vec<f32> = [0u8, 1, 127, 255]
            .iter()
            .map(|&b| (b as f64 / 255.0) as f32)
            .collect();
        assert_eq!(x.to_vec().unwrap(), expected);
        assert_eq!(
            scale_255(&Tensor::from_vec(vec![0.0, 1.0, 127.0, 255.0], &[4]).expect("4"))
                .unwrap()
                .to_vec()
                .unwrap(),
            expected
        );
        assert!(scale_u8(&[1, 2, 3], &[2, 2]).is_err());
    }

    #[test]
    fn one_hot_rows() {
        let y = Tensor::from_vec(vec![1.0, 0.0, 3.0], &[3, 1]).expect("3 labels");
        let t = one_hot(&y, 4).expect("valid labels");
        assert_eq!(t.shape(), &[3, 4]);
        assert_eq!(
            t.to_vec().unwrap(),
            vec![0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
        );
    }

    #[test]
    fn labels_out_of_range_are_errors() {
        for (labels, bad_index) in [
            (vec![0.0, 4.0], 1),
            (vec![-1.0], 0),
            (vec![1.5], 0),
            (vec![f32::NAN], 0),
        ] {
            let y = Tensor::from_vec(labels.clone(), &[labels.len()]).expect("labels");
            let err = one_hot(&y, 4).expect_err("out of range");
            assert!(
                matches!(err, DataError::LabelOutOfRange { index, num_classes: 4, .. } if index == bad_index),
                "{labels:?}: {err:?}"
            );
        }
        assert!(one_hot(&Tensor::zeros(&[2, 2]), 3).is_err());
        assert!(one_hot(&Tensor::zeros(&[2]), 0).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// Every one-hot row sums to 1 and its argmax is the label.
        #[test]
        fn one_hot_rows_sum_to_one(labels in proptest::collection::vec(0usize..6, 1..20)) {
            let y = Tensor::from_vec(labels.iter().map(|&l| l as f32).collect(), &[labels.len()]).expect("labels");
            let t = one_hot(&y, 6).expect("in range");
            for (row, &label) in t.as_slice().unwrap().chunks(6).zip(&labels) {
                prop_assert_eq!(row.iter().sum::<f32>(), 1.0);
                prop_assert_eq!(row[label], 1.0);
            }
        }
    }
}
