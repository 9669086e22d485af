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
    /// A GPU buffer (shared by clones, as the CPU array is) and the shape it holds.
    #[cfg(feature = "wgpu")]
    Gpu {
        buffer: Arc<GpuBuffer>,
        shape: Vec<usize>,
    },
}

#[cfg(feature = "wgpu")]
use astrograd_kernels::wgpu::GpuBuffer;

/// The numbers of an array kept in standard layout (the invariant of [`Tensor`]).
fn standard_slice(array: &ArrayD<f32>) -> &[f32] {
    array
        .as_slice()
        .expect("Tensor invariant: storage is in standard layout")
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
        match &self.storage {
            Storage::Cpu(array) => array.shape(),
            #[cfg(feature = "wgpu")]
            Storage::Gpu { shape, .. } => shape,
        }
    }

    /// The number of axes.
    pub fn rank(&self) -> usize {
        self.shape().len()
    }

    /// The number of elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        crate::shape::numel(self.shape())
    }

    /// The device holding the numbers.
    pub fn device(&self) -> Device {
        match &self.storage {
            Storage::Cpu(_) => Device::Cpu,
            #[cfg(feature = "wgpu")]
            Storage::Gpu { .. } => Device::Gpu,
        }
    }

    /// The numbers as an ndarray array on the host.
    ///
    /// # Errors
    /// [`TensorError::NotOnHost`] if the tensor is on the GPU (copy it with `.to(Device::Cpu)`).
    pub fn cpu_array(&self) -> Result<&ArrayD<f32>> {
        match &self.storage {
            Storage::Cpu(array) => Ok(array),
            #[cfg(feature = "wgpu")]
            Storage::Gpu { .. } => Err(TensorError::NotOnHost { op: "cpu_array" }),
        }
    }

    /// The numbers, row-major, in place on the host.
    ///
    /// # Errors
    /// [`TensorError::NotOnHost`] if the tensor is on the GPU (copy it with `.to(Device::Cpu)`,
    /// or read a copy with [`Tensor::to_vec`]).
    pub fn as_slice(&self) -> Result<&[f32]> {
        match &self.storage {
            Storage::Cpu(array) => Ok(standard_slice(array)),
            #[cfg(feature = "wgpu")]
            Storage::Gpu { .. } => Err(TensorError::NotOnHost { op: "as_slice" }),
        }
    }

    /// Mutable access to the numbers, row-major (copies them first if they are shared).
    ///
    /// # Errors
    /// [`TensorError::NotOnHost`] if the tensor is on the GPU.
    pub fn as_mut_slice(&mut self) -> Result<&mut [f32]> {
        match &mut self.storage {
            Storage::Cpu(array) => Ok(Arc::make_mut(array)
                .as_slice_mut()
                .expect("Tensor invariant: storage is in standard layout")),
            #[cfg(feature = "wgpu")]
            Storage::Gpu { .. } => Err(TensorError::NotOnHost { op: "as_mut_slice" }),
        }
    }

    /// The numbers of a tensor that the caller has just found to be on the host (the CPU
    /// branch of an op, after its GPU branch returned).
    ///
    /// # Panics
    /// On a GPU tensor: a bug in the op that called it, never the user's input.
    pub(crate) fn host(&self) -> &[f32] {
        match &self.storage {
            Storage::Cpu(array) => standard_slice(array),
            #[cfg(feature = "wgpu")]
            Storage::Gpu { .. } => panic!("astrograd bug: a host-only path met a GPU tensor"),
        }
    }

    /// A copy of the numbers, row-major, on the host (read back from the GPU if it is there).
    ///
    /// # Errors
    /// [`TensorError::Kernel`] if the GPU could not be read.
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        match &self.storage {
            Storage::Cpu(array) => Ok(standard_slice(array).to_vec()),
            #[cfg(feature = "wgpu")]
            Storage::Gpu { buffer, .. } => Ok(buffer.download()?),
        }
    }

    /// The array itself (copied only if shared; read back from the GPU if it is there).
    ///
    /// # Errors
    /// [`TensorError::Kernel`] if the GPU could not be read.
    pub fn into_array(self) -> Result<ArrayD<f32>> {
        match self.storage {
            Storage::Cpu(array) => Ok(Arc::try_unwrap(array).unwrap_or_else(|a| (*a).clone())),
            #[cfg(feature = "wgpu")]
            Storage::Gpu { .. } => {
                let data = self.to_vec()?;
                Ok(ArrayD::from_shape_vec(IxDyn(self.shape()), data)
                    .expect("a buffer holds its shape's number of values"))
            }
        }
    }

    /// The single number of a one-element tensor (a loss, a metric).
    ///
    /// # Errors
    /// [`TensorError::Shape`] if the tensor holds more or fewer than one number;
    /// [`TensorError::Kernel`] if the GPU could not be read.
    pub fn item(&self) -> Result<f32> {
        if self.numel() != 1 {
            return Err(TensorError::Shape {
                op: "item",
                expected: "a tensor with exactly one element".into(),
                found: format!("shape {:?}", self.shape()),
            });
        }
        Ok(self.to_vec()?[0])
    }

    /// True if both tensors have the same shape and numbers within `atol + rtol·|b|` (false
    /// too if either cannot be read back from the GPU).
    pub fn all_close(&self, other: &Tensor, rtol: f32, atol: f32) -> bool {
        match (self.to_vec(), other.to_vec()) {
            (Ok(a), Ok(b)) => {
                self.shape() == other.shape()
                    && a.iter()
                        .zip(&b)
                        .all(|(&a, &b)| (a - b).abs() <= atol + rtol * b.abs())
            }
            _ => false,
        }
    }

    /// Number of elements that are NaN or ±∞.
    ///
    /// # Errors
    /// [`TensorError::Kernel`] if the GPU could not be read.
    pub fn count_non_finite(&self) -> Result<usize> {
        Ok(self.to_vec()?.iter().filter(|v| !v.is_finite()).count())
    }

    /// A copy of the tensor on `device` (the same tensor, shared, if it is already there).
    /// This and [`Tensor::to_vec`] are the only copies between host and GPU.
    ///
    /// # Errors
    /// [`TensorError::Kernel`] if the GPU cannot be opened or read, or the tensor is larger than
    /// it binds at once.
    pub fn to(&self, device: Device) -> Result<Tensor> {
        if device == self.device() {
            return Ok(self.clone());
        }
        match device {
            Device::Cpu => Tensor::from_vec(self.to_vec()?, self.shape()),
            #[cfg(feature = "wgpu")]
            Device::Gpu => Ok(Tensor::from_gpu(
                GpuBuffer::upload(self.as_slice()?)?,
                self.shape(),
            )),
        }
    }

    /// Wraps a GPU buffer holding `shape`'s numbers, row-major.
    ///
    /// # Panics
    /// If the buffer's length is not the product of `shape` (kernels size their outputs).
    #[cfg(feature = "wgpu")]
    pub fn from_gpu(buffer: GpuBuffer, shape: &[usize]) -> Tensor {
        assert_eq!(
            buffer.len(),
            crate::shape::numel(shape),
            "a GPU buffer of {} numbers cannot hold shape {shape:?}",
            buffer.len()
        );
        Tensor {
            storage: Storage::Gpu {
                buffer: Arc::new(buffer),
                shape: shape.to_vec(),
            },
        }
    }

    /// A tensor of `shape` over a buffer other tensors may share.
    #[cfg(feature = "wgpu")]
    pub(crate) fn from_shared_gpu(buffer: Arc<GpuBuffer>, shape: &[usize]) -> Tensor {
        Tensor {
            storage: Storage::Gpu {
                buffer,
                shape: shape.to_vec(),
            },
        }
    }

    /// Another handle to the GPU buffer, if the tensor is on the GPU.
    #[cfg(feature = "wgpu")]
    pub(crate) fn shared_gpu_buffer(&self) -> Option<Arc<GpuBuffer>> {
        match &self.storage {
            Storage::Gpu { buffer, .. } => Some(Arc::clone(buffer)),
            Storage::Cpu(_) => None,
        }
    }

    /// The GPU buffer, if the tensor is on the GPU.
    #[cfg(feature = "wgpu")]
    pub fn gpu_buffer(&self) -> Option<&GpuBuffer> {
        match &self.storage {
            Storage::Gpu { buffer, .. } => Some(buffer),
            Storage::Cpu(_) => None,
        }
    }

    /// The GPU buffer for an in-place update: copied first (on the GPU) if another tensor
    /// shares it, as `as_mut_slice` does on the host.
    ///
    /// # Errors
    /// [`TensorError::Invalid`] if the tensor is on the CPU; [`TensorError::Kernel`] if the copy
    /// fails.
    #[cfg(feature = "wgpu")]
    pub fn gpu_buffer_mut(&mut self) -> Result<&GpuBuffer> {
        match &mut self.storage {
            Storage::Gpu { buffer, .. } => {
                if Arc::get_mut(buffer).is_none() {
                    *buffer = Arc::new(buffer.duplicate()?);
                }
                Ok(buffer)
            }
            Storage::Cpu(_) => Err(TensorError::Invalid {
                op: "gpu_buffer_mut",
                msg: "the tensor is on the CPU, not the GPU".into(),
            }),
        }
    }

    /// A tensor of `shape` whose numbers are this GPU tensor's from number `start` on: the same
    /// memory, not a copy (an optimizer keeps every parameter as a view of one flat buffer, so
    /// that one dispatch updates them all). `start` is a multiple of
    /// [`astrograd_kernels::wgpu::VIEW_ALIGNMENT`].
    ///
    /// Writing into the view (an in-place update through [`Tensor::gpu_buffer_mut`] of a view
    /// that no other tensor shares) writes into this tensor's numbers too.
    ///
    /// # Errors
    /// [`TensorError::Invalid`] if the tensor is on the CPU; [`TensorError::Kernel`] if the
    /// view is misaligned or reaches past the end.
    #[cfg(feature = "wgpu")]
    pub fn gpu_view(&self, start: usize, shape: &[usize]) -> Result<Tensor> {
        let Some(buffer) = self.gpu_buffer() else {
            return Err(TensorError::Invalid {
                op: "gpu_view",
                msg: "the tensor is on the CPU, not the GPU".into(),
            });
        };
        let view = buffer.view(start, crate::shape::numel(shape))?;
        Ok(Tensor::from_gpu(view, shape))
    }

    /// Whether this tensor is the view of `whole` made by `whole.gpu_view(start, …)`.
    #[cfg(feature = "wgpu")]
    pub fn is_gpu_view_at(&self, whole: &Tensor, start: usize) -> bool {
        match (self.gpu_buffer(), whole.gpu_buffer()) {
            (Some(view), Some(whole)) => view.is_view_at(whole, start),
            _ => false,
        }
    }

    /// Whether another tensor holds these GPU numbers or some of them: a clone, a view of this
    /// tensor, or the tensor this one is a view of (false on the CPU).
    #[cfg(feature = "wgpu")]
    pub fn is_gpu_memory_held_elsewhere(&self) -> bool {
        match &self.storage {
            Storage::Gpu { buffer, .. } => Arc::strong_count(buffer) > 1 || buffer.shares_memory(),
            Storage::Cpu(_) => false,
        }
    }

    /// Whether another tensor (a clone) shares these numbers, so that writing them in place
    /// would first copy them.
    pub fn is_shared(&self) -> bool {
        match &self.storage {
            Storage::Cpu(array) => Arc::strong_count(array) > 1,
            #[cfg(feature = "wgpu")]
            Storage::Gpu { buffer, .. } => Arc::strong_count(buffer) > 1,
        }
    }

    /// An error for ops that exist on the host only, when given a GPU tensor.
    ///
    /// # Errors
    /// [`TensorError::Device`] naming `op` when the tensor is not on the CPU.
    pub fn require_cpu(&self, op: &'static str) -> Result<()> {
        match self.device() {
            Device::Cpu => Ok(()),
            #[allow(unreachable_patterns)]
            other => Err(TensorError::Device {
                op,
                found: format!("a tensor on the {other}; this op runs on the CPU only (use `.to(Device::Cpu)`)"),
            }),
        }
    }

    /// The same numbers viewed with another shape of the same size (no copy on either device).
    pub(crate) fn with_shape(&self, shape: &[usize]) -> Tensor {
        match &self.storage {
            Storage::Cpu(array) => Tensor::from_array(
                array
                    .as_ref()
                    .clone()
                    .into_shape_with_order(IxDyn(shape))
                    .expect("reshape sizes checked by the caller"),
            ),
            #[cfg(feature = "wgpu")]
            Storage::Gpu { buffer, .. } => Tensor {
                storage: Storage::Gpu {
                    buffer: Arc::clone(buffer),
                    shape: shape.to_vec(),
                },
            },
        }
    }
}

impl PartialEq for Tensor {
    /// Same shape and bit-for-bit the same numbers (NaN ≠ NaN, as for f32).
    fn eq(&self, other: &Tensor) -> bool {
        self.shape() == other.shape() && self.to_vec() == other.to_vec()
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
        b.as_mut_slice().unwrap()[0] = 10.0;
        assert_eq!(a.to_vec().unwrap(), vec![1.0, 2.0]);
        assert_eq!(b.to_vec().unwrap(), vec![10.0, 2.0]);
    }

    #[test]
    fn item_needs_one_element() {
        assert_eq!(Tensor::scalar(3.5).item().unwrap(), 3.5);
        assert!(Tensor::zeros(&[2]).item().is_err());
    }
}
