//! Shape arithmetic shared by the operations: numpy broadcasting and axis checks.
use crate::{Result, TensorError};

/// Number of elements of a shape (1 for a scalar, shape `[]`).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The shape two operands broadcast to, by numpy's rule: align the shapes on the right; each
/// pair of sizes must be equal or one of them 1.
///
/// `(N, H, W, C)` with `(C,)` gives `(N, H, W, C)`; `(3, 1)` with `(1, 4)` gives `(3, 4)`.
///
/// # Errors
/// [`TensorError::Shape`] naming `op` when a pair of sizes differs and neither is 1.
pub fn broadcast_shape(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        // Sizes counted from the right; a missing axis acts as size 1.
        let da = if i < a.len() { a[a.len() - 1 - i] } else { 1 };
        let db = if i < b.len() { b[b.len() - 1 - i] } else { 1 };
        out[rank - 1 - i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(TensorError::Shape {
                    op,
                    expected: "shapes that broadcast together (sizes equal or 1, aligned right)"
                        .into(),
                    found: format!("{a:?} and {b:?}"),
                })
            }
        };
    }
    Ok(out)
}

/// Checks that `axis < rank`.
pub fn check_axis(op: &'static str, axis: usize, shape: &[usize]) -> Result<()> {
    if axis < shape.len() {
        Ok(())
    } else {
        Err(TensorError::Axis {
            op,
            axis,
            rank: shape.len(),
            shape: shape.to_vec(),
        })
    }
}

/// Row-major strides of `shape`: how far apart, in elements, neighbours along each axis are
/// (`(2, 3, 4)` → `(12, 4, 1)`).
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for axis in (0..shape.len().saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1] * shape[axis + 1];
    }
    strides
}

/// Checks a list of axes: each in range, none repeated. Returns them sorted.
pub fn check_axes(op: &'static str, axes: &[usize], shape: &[usize]) -> Result<Vec<usize>> {
    let mut sorted = axes.to_vec();
    sorted.sort_unstable();
    for (i, &axis) in sorted.iter().enumerate() {
        check_axis(op, axis, shape)?;
        if i > 0 && sorted[i - 1] == axis {
            return Err(TensorError::Invalid {
                op,
                msg: format!("axis {axis} is listed twice in {axes:?}"),
            });
        }
    }
    Ok(sorted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(
            broadcast_shape("t", &[2, 3, 4, 5], &[5]).unwrap(),
            vec![2, 3, 4, 5]
        );
        assert_eq!(broadcast_shape("t", &[3, 1], &[1, 4]).unwrap(), vec![3, 4]);
        assert_eq!(broadcast_shape("t", &[], &[2, 2]).unwrap(), vec![2, 2]);
        let err = broadcast_shape("add", &[2, 3], &[4]).unwrap_err();
        assert!(err.to_string().contains("add"));
        assert!(err.to_string().contains("[2, 3] and [4]"));
    }

    #[test]
    fn repeated_axes_are_rejected() {
        assert!(check_axes("sum", &[1, 1], &[2, 3]).is_err());
        assert!(check_axes("sum", &[2], &[2, 3]).is_err());
        assert_eq!(check_axes("sum", &[1, 0], &[2, 3]).unwrap(), vec![0, 1]);
    }
}
