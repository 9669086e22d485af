//! Shapes as Keras reports them: the batch size is unknown (`None`) until data arrives.
//!
//! A layer's output shape `(None, 26, 26, 32)` is a [`Shape`] `[None, Some(26), Some(26), Some(32)]`.
//! [`format_shape`] writes it as Keras's `model.summary()` does, which is Python's tuple
//! notation: `(None, 784)`, and `(None,)` for a single axis.
use crate::{LayerError, Result};

/// A shape with unknown sizes: `None` for the batch axis (or any size not known yet).
pub type Shape = Vec<Option<usize>>;

/// The shape of a batch of `item` (`[28, 28, 1]` → `(None, 28, 28, 1)`).
pub fn batch_shape(item: &[usize]) -> Shape {
    std::iter::once(None)
        .chain(item.iter().map(|&d| Some(d)))
        .collect()
}

/// Python's tuple notation, as Keras prints shapes: `(None, 784)`, `(None,)`, `()`.
///
/// ```
/// use astrograd_layers::shape::format_shape;
/// assert_eq!(format_shape(&vec![None, Some(784)]), "(None, 784)");
/// assert_eq!(format_shape(&vec![None]), "(None,)");
/// ```
pub fn format_shape(shape: &Shape) -> String {
    let parts: Vec<String> = shape
        .iter()
        .map(|d| d.map_or("None".to_string(), |d| d.to_string()))
        .collect();
    match parts.len() {
        1 => format!("({},)", parts[0]),
        _ => format!("({})", parts.join(", ")),
    }
}

/// The shape of a concrete tensor with its batch axis made unknown again.
pub fn from_tensor_shape(shape: &[usize]) -> Shape {
    batch_shape(shape.get(1..).unwrap_or(&[]))
}

/// The size of the last axis, which must be known (Dense, Conv2D and BatchNormalization size
/// their weights from it).
///
/// # Errors
/// [`LayerError::IncompatibleInput`] when the shape has no axes or the last size is unknown.
pub fn last_axis(layer: &str, shape: &Shape) -> Result<usize> {
    match shape.last() {
        Some(Some(d)) => Ok(*d),
        _ => Err(LayerError::IncompatibleInput {
            layer: layer.to_string(),
            input: 0,
            detail: format!(
                "the last dimension of the inputs should be defined. Full shape received: {}",
                format_shape(shape)
            ),
        }),
    }
}

/// Keras's `min_ndim` check: `expected min_ndim=4, found ndim=2. Full shape received: (None, 784)`.
///
/// # Errors
/// [`LayerError::IncompatibleInput`] with Keras's wording when `shape` has fewer axes.
pub fn check_min_ndim(layer: &str, shape: &Shape, min_ndim: usize) -> Result<()> {
    if shape.len() < min_ndim {
        return Err(LayerError::IncompatibleInput {
            layer: layer.to_string(),
            input: 0,
            detail: format!(
                "expected min_ndim={min_ndim}, found ndim={}. Full shape received: {}",
                shape.len(),
                format_shape(shape)
            ),
        });
    }
    Ok(())
}

/// Keras's `ndim` check: `expected ndim=4, found ndim=2. Full shape received: (None, 784)`.
///
/// # Errors
/// [`LayerError::IncompatibleInput`] with Keras's wording when `shape` has another rank.
pub fn check_ndim(layer: &str, shape: &Shape, ndim: usize) -> Result<()> {
    if shape.len() != ndim {
        return Err(LayerError::IncompatibleInput {
            layer: layer.to_string(),
            input: 0,
            detail: format!(
                "expected ndim={ndim}, found ndim={}. Full shape received: {}",
                shape.len(),
                format_shape(shape)
            ),
        });
    }
    Ok(())
}

/// Keras's check that a built layer sees the last-axis size its weights were made for:
/// `expected axis -1 of input shape to have value 784, but received input with shape (None, 100)`.
///
/// # Errors
/// [`LayerError::IncompatibleInput`] with Keras's wording when the sizes differ.
pub fn check_last_axis(layer: &str, shape: &Shape, expected: usize) -> Result<()> {
    if shape.last() != Some(&Some(expected)) {
        return Err(LayerError::IncompatibleInput {
            layer: layer.to_string(),
            input: 0,
            detail: format!(
                "expected axis -1 of input shape to have value {expected}, but received input with shape {}",
                format_shape(shape)
            ),
        });
    }
    Ok(())
}

/// The one input of a single-input layer.
///
/// # Errors
/// [`LayerError::Invalid`] when a layer that takes one input is given several.
pub fn single<'a, T>(layer: &str, inputs: &'a [T]) -> Result<&'a T> {
    match inputs {
        [one] => Ok(one),
        _ => Err(LayerError::invalid(
            format!("layer \"{layer}\""),
            "exactly one input",
            format!("{} inputs", inputs.len()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_print_as_python_tuples() {
        assert_eq!(
            format_shape(&batch_shape(&[28, 28, 1])),
            "(None, 28, 28, 1)"
        );
        assert_eq!(format_shape(&vec![None]), "(None,)");
        assert_eq!(format_shape(&vec![]), "()");
        assert_eq!(from_tensor_shape(&[32, 10]), vec![None, Some(10)]);
    }

    #[test]
    fn rank_checks_use_keras_wording() {
        let err = check_min_ndim("conv2d", &batch_shape(&[784]), 4).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Input 0 of layer \"conv2d\" is incompatible with the layer: expected min_ndim=4, \
             found ndim=2. Full shape received: (None, 784)"
        );
        assert!(check_ndim("max_pooling2d", &batch_shape(&[4, 4, 1]), 4).is_ok());
        let err = check_last_axis("dense", &batch_shape(&[100]), 784).unwrap_err();
        assert!(err
            .to_string()
            .contains("expected axis -1 of input shape to have value 784"));
    }
}
