//! The `Tensor` type: a shape, `f32` numbers in row-major order, and the device holding them.
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};

use crate::{Device, Result, TensorError};

/// An n-dimensional array of `f32` (row-major, NHWC for images).
///
/// Cloning is cheap: the numbers are shared and copied only when one of the clones is
/// written to (copy-on-write), so the autograd graph can keep the values it needs for the
/// backward pass without copying them.
///
/// Invariant: the CPU array is always in standard (C-contiguous) layout, so that
/// [`Tensor::as_slice`] can hand its numbers to the kernels without a copy.
#[derive(Clone, Debug)]
pub struct Tensor {
    storage: Storage,
}

/// The numbers behind a tensor, one variant per device.
#[derive(Clone, Debug)]
enum Storage {
    Cpu(Arc<ArrayD<f32>>),
}

impl Tensor {
    /// Wraps an ndarray array (copied into standard layout if it is not already).
    pub fn from_array(array: ArrayD<f32>) -> Tensor {
        let array = if array.is_standard_layout() {
            array
        } else {
            array.as_standard_layout().into_owned()
        };
        Tensor {
            storage: Storage::Cpu(Arc::new(array)),
        }
    }

    /// Builds a tensor from row-major numbers and a shape.
    ///
    /// # Errors
    /// [`TensorError::Shape`] if `data.len()` is not the product of `shape`.
    pub fn from_vec(data: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
        let expected = crate::shape::numel(shape);
        if data.len() != expected {
            return Err(TensorError::Shape {
                op: "from_vec",
                expected: format!("{expected} values for shape {shape:?}"),
                found: format!("{} values", data.len()),
            });
        }
        let array = ArrayD::from_shape_vec(IxDyn(shape), data).expect("length checked above");
        Ok(Tensor::from_array(array))
    }

    /// A rank-0 tensor holding one number.
    pub fn scalar(value: f32) -> Tensor {
        Tensor::from_array(ArrayD::from_elem(IxDyn(&[]), value))
    }

    /// The sizes of the axes, outermost first.
    pub fn shape(&self) -> &[usize] {
        self.cpu_array().shape()
    }

    /// The number of axes.
    pub fn rank(&self) -> usize {
        self.shape().len()
    }

    /// The number of elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.cpu_array().len()
    }

    /// The device holding the numbers.
    pub fn device(&self) -> Device {
        match &self.storage {
            Storage::Cpu(_) => Device::Cpu,
        }
    }

    /// The numbers as an ndarray array on the host. This is the one place that dispatches on
    /// the storage: every operation of this crate reads through it.
    pub fn cpu_array(&self) -> &ArrayD<f32> {
        match &self.storage {
            Storage::Cpu(array) => array,
        }
    }

    /// The numbers, row-major.
    pub fn as_slice(&self) -> &[f32] {
        self.cpu_array()
            .as_slice()
            .expect("Tensor invariant: storage is in standard layout")
    }

    /// Mutable access to the numbers, row-major (copies them first if they are shared).
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        match &mut self.storage {
            Storage::Cpu(array) => Arc::make_mut(array)
                .as_slice_mut()
                .expect("Tensor invariant: storage is in standard layout"),
        }
    }

    /// A copy of the numbers, row-major.
    pub fn to_vec(&self) -> Vec<f32> {
        self.as_slice().to_vec()
    }

    /// The array itself (copied only if shared).
    pub fn into_array(self) -> ArrayD<f32> {
        match self.storage {
            Storage::Cpu(array) => Arc::try_unwrap(array).unwrap_or_else(|a| (*a).clone()),
        }
    }

    /// The single number of a one-element tensor (a loss, a metric).
    ///
    /// # Errors
    /// [`TensorError::Shape`] if the tensor holds more or fewer than one number.
    pub fn item(&self) -> Result<f32> {
        if self.numel() != 1 {
            return Err(TensorError::Shape {
                op: "item",
                expected: "a tensor with exactly one element".into(),
                found: format!("shape {:?}", self.shape()),
            });
        }
        Ok(self.as_slice()[0])
    }

    /// True if both tensors have the same shape and numbers within `atol + rtol·|b|`.
    pub fn all_close(&self, other: &Tensor, rtol: f32, atol: f32) -> bool {
        self.shape() == other.shape()
            && self
                .as_slice()
                .iter()
                .zip(other.as_slice())
                .all(|(&a, &b)| (a - b).abs() <= atol + rtol * b.abs())
    }

    /// Number of elements that are NaN or ±∞.
    pub fn count_non_finite(&self) -> usize {
        self.as_slice().iter().filter(|v| !v.is_finite()).count()
    }

    /// Moves the tensor to `device` (a no-op while the CPU is the only device).
    pub fn to(&self, device: Device) -> Tensor {
        match device {
            Device::Cpu => self.clone(),
        }
    }
}

impl PartialEq for Tensor {
    /// Same shape and bit-for-bit the same numbers (NaN ≠ NaN, as for f32).
    fn eq(&self, other: &Tensor) -> bool {
        self.shape() == other.shape() && self.as_slice() == other.as_slice()
    }
}

impl From<ArrayD<f32>> for Tensor {
    fn from(array: ArrayD<f32>) -> Tensor {
        Tensor::from_array(array)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_vec_checks_length() {
        let err = Tensor::from_vec(vec![1.0; 5], &[2, 3]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "from_vec: expected 6 values for shape [2, 3], found 5 values"
        );
    }

    #[test]
    fn clones_share_until_written() {
        let a = Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap();
        let mut b = a.clone();
        b.as_mut_slice()[0] = 10.0;
        assert_eq!(a.to_vec(), vec![1.0, 2.0]);
        assert_eq!(b.to_vec(), vec![10.0, 2.0]);
    }

    #[test]
    fn item_needs_one_element() {
        assert_eq!(Tensor::scalar(3.5).item().unwrap(), 3.5);
        assert!(Tensor::zeros(&[2]).item().is_err());
    }
}
