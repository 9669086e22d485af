//! Shape operations: reshape, permute, transpose, broadcast, slice, select, concat, stack.
//!
//! Each returns a new tensor in standard row-major layout (a permutation copies the numbers
//! into their new order), so every kernel can read any tensor as a plain slice.
use ndarray::{Axis, IxDyn, Slice};

use crate::shape::{check_axis, numel};
use crate::{Result, Tensor, TensorError};

impl Tensor {
    /// The same numbers in a new shape with the same element count (row-major order kept).
    ///
    /// # Errors
    /// [`TensorError::Shape`] if the element counts differ.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        if numel(shape) != self.numel() {
            return Err(TensorError::Shape {
                op: "reshape",
                expected: format!(
                    "a shape with {} elements (from {:?})",
                    self.numel(),
                    self.shape()
                ),
                found: format!("{shape:?} with {} elements", numel(shape)),
            });
        }
        Ok(self.with_shape(shape))
    }

    /// Keeps the first axis and flattens the rest: `(N, H, W, C)` → `(N, H·W·C)`, in row-major
    /// order (flat index `(h·W + w)·C + c`), as Keras's `Flatten`.
    ///
    /// # Errors
    /// [`TensorError::Invalid`] for a rank-0 tensor.
    pub fn flatten_batch(&self) -> Result<Tensor> {
        let Some(&n) = self.shape().first() else {
            return Err(TensorError::Invalid {
                op: "flatten",
                msg: "expected a tensor with a batch axis, found a scalar".into(),
            });
        };
        let rest = self.shape()[1..].iter().product();
        self.reshape(&[n, rest])
    }

    /// Reorders the axes: output axis `i` is input axis `axes[i]` (numpy `transpose(axes)`).
    ///
    /// # Errors
    /// [`TensorError::Invalid`] if `axes` is not a permutation of `0..rank`.
    pub fn permute(&self, axes: &[usize]) -> Result<Tensor> {
        let mut seen = vec![false; self.rank()];
        let is_permutation = axes.len() == self.rank()
            && axes
                .iter()
                .all(|&a| a < seen.len() && !std::mem::replace(&mut seen[a], true));
        if !is_permutation {
            return Err(TensorError::Invalid {
                op: "permute",
                msg: format!(
                    "expected a permutation of 0..{} for shape {:?}, found {axes:?}",
                    self.rank(),
                    self.shape()
                ),
            });
        }
        #[cfg(feature = "wgpu")]
        if let Some(x) = self.gpu_buffer() {
            // Output axis i reads input axis axes[i], with that axis's row-major stride.
            let strides = crate::shape::strides(self.shape());
            let out_shape: Vec<usize> = axes.iter().map(|&a| self.shape()[a]).collect();
            let out_strides: Vec<usize> = axes.iter().map(|&a| strides[a]).collect();
            return gpu_strided_copy(x, 0, &out_strides, &out_shape);
        }
        let view = self.cpu_array()?.view().permuted_axes(IxDyn(axes));
        Ok(Tensor::from_array(view.as_standard_layout().into_owned()))
    }

    /// Swaps two axes.
    ///
    /// # Errors
    /// [`TensorError::Axis`] if either axis is out of range.
    pub fn transpose(&self, axis0: usize, axis1: usize) -> Result<Tensor> {
        check_axis("transpose", axis0, self.shape())?;
        check_axis("transpose", axis1, self.shape())?;
        let mut axes: Vec<usize> = (0..self.rank()).collect();
        axes.swap(axis0, axis1);
        self.permute(&axes)
    }

    /// Repeats the tensor along new or size-1 axes to `shape` (numpy `broadcast_to`).
    ///
    /// # Errors
    /// [`TensorError::Shape`] if the tensor cannot broadcast to `shape`.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        #[cfg(feature = "wgpu")]
        if let Some(x) = self.gpu_buffer() {
            let out = crate::shape::broadcast_shape("broadcast_to", self.shape(), shape)?;
            if out != shape {
                return Err(TensorError::Shape {
                    op: "broadcast_to",
                    expected: format!("a shape that {:?} broadcasts to", self.shape()),
                    found: format!("{shape:?}"),
                });
            }
            let strides =
                astrograd_kernels::wgpu::elementwise::broadcast_strides_of(self.shape(), shape);
            return gpu_strided_copy(x, 0, &strides, shape);
        }
        match self.cpu_array()?.broadcast(IxDyn(shape)) {
            Some(view) => Ok(Tensor::from_array(view.to_owned())),
            None => Err(TensorError::Shape {
                op: "broadcast_to",
                expected: format!("a shape that {:?} broadcasts to", self.shape()),
                found: format!("{shape:?}"),
            }),
        }
    }

    /// The elements `start..end` along `axis`.
    ///
    /// # Errors
    /// [`TensorError::Axis`] or [`TensorError::Invalid`] if the axis or range is out of bounds.
    pub fn slice_axis(&self, axis: usize, start: usize, end: usize) -> Result<Tensor> {
        check_axis("slice", axis, self.shape())?;
        let size = self.shape()[axis];
        if start > end || end > size {
            return Err(TensorError::Invalid {
                op: "slice",
                msg: format!(
                    "expected 0 ≤ start ≤ end ≤ {size} on axis {axis} of shape {:?}, found {start}..{end}",
                    self.shape()
                ),
            });
        }
        #[cfg(feature = "wgpu")]
        if let Some(x) = self.gpu_buffer() {
            // The same row-major strides, a shorter extent along `axis`, starting at `start`.
            let strides = crate::shape::strides(self.shape());
            let mut out_shape = self.shape().to_vec();
            out_shape[axis] = end - start;
            return gpu_strided_copy(x, start * strides[axis], &strides, &out_shape);
        }
        let view = self
            .cpu_array()?
            .slice_axis(Axis(axis), Slice::from(start..end));
        Ok(Tensor::from_array(view.to_owned()))
    }

    /// The entries at `indices` along `axis`, in that order (numpy `take`): how a shuffled
    /// mini-batch is gathered from a dataset with `axis = 0`.
    ///
    /// # Errors
    /// [`TensorError::Axis`] or [`TensorError::Invalid`] if an index is out of range.
    pub fn select(&self, axis: usize, indices: &[usize]) -> Result<Tensor> {
        check_axis("select", axis, self.shape())?;
        let size = self.shape()[axis];
        if let Some(&bad) = indices.iter().find(|&&i| i >= size) {
            return Err(TensorError::Invalid {
                op: "select",
                msg: format!(
                    "expected indices below {size} on axis {axis} of shape {:?}, found {bad}",
                    self.shape()
                ),
            });
        }
        #[cfg(feature = "wgpu")]
        if let Some(x) = self.gpu_buffer() {
            // The indices travel to the GPU (checked here, on the host), and the gather runs there.
            let (outer, inner) = outer_inner(self.shape(), axis);
            let mut shape = self.shape().to_vec();
            shape[axis] = indices.len();
            let wide: Vec<u32> = indices.iter().map(|&i| i as u32).collect();
            let indices = astrograd_kernels::wgpu::GpuBuffer::upload_u32(&wide)?;
            let out = astrograd_kernels::wgpu::GpuBuffer::uninit(numel(&shape))?;
            astrograd_kernels::wgpu::gather::gather(x, [outer, size, inner], &indices, &out)?;
            return Ok(Tensor::from_gpu(out, &shape));
        }
        if axis == 0 {
            // Fast path for batching: copy whole contiguous rows.
            let row: usize = self.shape()[1..].iter().product();
            let src = self.as_slice()?;
            let mut data = Vec::with_capacity(indices.len() * row);
            for &i in indices {
                data.extend_from_slice(&src[i * row..(i + 1) * row]);
            }
            let mut shape = self.shape().to_vec();
            shape[0] = indices.len();
            return Tensor::from_vec(data, &shape);
        }
        Ok(Tensor::from_array(
            self.cpu_array()?.select(Axis(axis), indices),
        ))
    }

    /// Joins tensors along an existing axis; all other sizes must agree.
    ///
    /// # Errors
    /// [`TensorError::Invalid`] for an empty list, [`TensorError::Shape`] if sizes differ.
    pub fn concat(tensors: &[&Tensor], axis: usize) -> Result<Tensor> {
        same_device("concat", tensors)?;
        let first = tensors.first().ok_or_else(|| TensorError::Invalid {
            op: "concat",
            msg: "expected at least one tensor, found none".into(),
        })?;
        check_axis("concat", axis, first.shape())?;
        for t in tensors {
            let fits = t.rank() == first.rank()
                && (0..first.rank()).all(|a| a == axis || t.shape()[a] == first.shape()[a]);
            if !fits {
                return Err(TensorError::Shape {
                    op: "concat",
                    expected: format!("shapes equal to {:?} except on axis {axis}", first.shape()),
                    found: format!("{:?}", t.shape()),
                });
            }
        }
        #[cfg(feature = "wgpu")]
        if first.gpu_buffer().is_some() {
            return gpu_concat(tensors, axis);
        }
        let views = tensors
            .iter()
            .map(|t| t.cpu_array().map(|a| a.view()))
            .collect::<Result<Vec<_>>>()?;
        let array = ndarray::concatenate(Axis(axis), &views).expect("shapes checked above");
        Ok(Tensor::from_array(array))
    }

    /// Stacks equal-shaped tensors along a new axis.
    ///
    /// # Errors
    /// [`TensorError::Invalid`] for an empty list or `axis > rank`, [`TensorError::Shape`] if
    /// the shapes differ.
    pub fn stack(tensors: &[&Tensor], axis: usize) -> Result<Tensor> {
        same_device("stack", tensors)?;
        let first = tensors.first().ok_or_else(|| TensorError::Invalid {
            op: "stack",
            msg: "expected at least one tensor, found none".into(),
        })?;
        if axis > first.rank() {
            return Err(TensorError::Invalid {
                op: "stack",
                msg: format!(
                    "expected a new axis position ≤ {}, found {axis}",
                    first.rank()
                ),
            });
        }
        if let Some(t) = tensors.iter().find(|t| t.shape() != first.shape()) {
            return Err(TensorError::Shape {
                op: "stack",
                expected: format!("every tensor of shape {:?}", first.shape()),
                found: format!("{:?}", t.shape()),
            });
        }
        #[cfg(feature = "wgpu")]
        if first.gpu_buffer().is_some() {
            // Each tensor with a new axis of size 1 (a view, no copy), then joined along it.
            let expanded = tensors
                .iter()
                .map(|t| t.unsqueeze(axis))
                .collect::<Result<Vec<_>>>()?;
            return gpu_concat(&expanded.iter().collect::<Vec<_>>(), axis);
        }
        let views = tensors
            .iter()
            .map(|t| t.cpu_array().map(|a| a.view()))
            .collect::<Result<Vec<_>>>()?;
        let array = ndarray::stack(Axis(axis), &views).expect("shapes checked above");
        Ok(Tensor::from_array(array))
    }

    /// Inserts a size-1 axis at `axis` (numpy `expand_dims`).
    ///
    /// # Errors
    /// [`TensorError::Invalid`] if `axis > rank`.
    pub fn unsqueeze(&self, axis: usize) -> Result<Tensor> {
        if axis > self.rank() {
            return Err(TensorError::Invalid {
                op: "unsqueeze",
                msg: format!("expected an axis ≤ {}, found {axis}", self.rank()),
            });
        }
        let mut shape = self.shape().to_vec();
        shape.insert(axis, 1);
        self.reshape(&shape)
    }
}

/// A new GPU tensor of `out_shape` gathered from `x` with `strides` (see
/// `astrograd_kernels::wgpu::elementwise::strided_copy`).
#[cfg(feature = "wgpu")]
fn gpu_strided_copy(
    x: &astrograd_kernels::wgpu::GpuBuffer,
    start: usize,
    strides: &[usize],
    out_shape: &[usize],
) -> Result<Tensor> {
    let out = astrograd_kernels::wgpu::GpuBuffer::uninit(numel(out_shape))?;
    astrograd_kernels::wgpu::elementwise::strided_copy(x, start, strides, out_shape, &out)?;
    Ok(Tensor::from_gpu(out, out_shape))
}

/// The product of the axes before `axis` and that of the axes after it: the tensor seen as
/// `(outer, shape[axis], inner)`.
#[cfg(feature = "wgpu")]
pub(crate) fn outer_inner(shape: &[usize], axis: usize) -> (usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis + 1..].iter().product(),
    )
}

/// An error naming `op` unless every tensor is on the device of the first.
fn same_device(op: &'static str, tensors: &[&Tensor]) -> Result<()> {
    let Some(first) = tensors.first() else {
        return Ok(());
    };
    match tensors.iter().find(|t| t.device() != first.device()) {
        None => Ok(()),
        Some(other) => Err(TensorError::Device {
            op,
            found: format!(
                "a tensor on the {} and one on the {}",
                first.device(),
                other.device()
            ),
        }),
    }
}

/// [`Tensor::concat`] of GPU tensors whose shapes were checked: each piece is scattered into its
/// region of the output, at its offset along `axis`.
#[cfg(feature = "wgpu")]
fn gpu_concat(tensors: &[&Tensor], axis: usize) -> Result<Tensor> {
    use astrograd_kernels::wgpu::{elementwise::strided_copy_into, GpuBuffer};
    let mut shape = tensors[0].shape().to_vec();
    shape[axis] = tensors.iter().map(|t| t.shape()[axis]).sum();
    let strides = crate::shape::strides(&shape);
    let out = GpuBuffer::uninit(numel(&shape))?;
    let mut offset = 0;
    for t in tensors {
        let x = t.gpu_buffer().ok_or(TensorError::Device {
            op: "concat",
            found: "a tensor that is not on the GPU beside GPU tensors".into(),
        })?;
        strided_copy_into(x, t.shape(), &out, offset * strides[axis], &strides)?;
        offset += t.shape()[axis];
    }
    Ok(Tensor::from_gpu(out, &shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iota(shape: &[usize]) -> Tensor {
        let n = numel(shape);
        Tensor::arange(0.0, n as f32, 1.0)
            .unwrap()
            .reshape(shape)
            .unwrap()
    }

    #[test]
    fn permute_nhwc_to_nchw() {
        let x = iota(&[1, 2, 2, 3]); // N H W C
        let y = x.permute(&[0, 3, 1, 2]).unwrap(); // N C H W
        assert_eq!(y.shape(), &[1, 3, 2, 2]);
        // Channel 0 holds every third value.
        assert_eq!(&y.to_vec().unwrap()[..4], &[0.0, 3.0, 6.0, 9.0]);
        assert!(x.permute(&[0, 0, 1, 2]).is_err());
    }

    #[test]
    fn transpose_2d() {
        let x = iota(&[2, 3]);
        let y = x.transpose(0, 1).unwrap();
        assert_eq!(y.shape(), &[3, 2]);
        assert_eq!(y.to_vec().unwrap(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    }

    #[test]
    fn slicing_and_selecting() {
        let x = iota(&[4, 2]);
        assert_eq!(
            x.slice_axis(0, 1, 3).unwrap().to_vec().unwrap(),
            vec![2.0, 3.0, 4.0, 5.0]
        );
        assert_eq!(
            x.select(0, &[3, 0]).unwrap().to_vec().unwrap(),
            vec![6.0, 7.0, 0.0, 1.0]
        );
        assert_eq!(
            x.select(1, &[1]).unwrap().to_vec().unwrap(),
            vec![1.0, 3.0, 5.0, 7.0]
        );
        assert!(x.slice_axis(0, 3, 5).is_err());
        assert!(x.select(0, &[4]).is_err());
        assert!(x.slice_axis(2, 0, 1).is_err());
    }

    #[test]
    fn concat_and_stack() {
        let a = iota(&[2, 2]);
        let b = iota(&[1, 2]);
        let c = Tensor::concat(&[&a, &b], 0).unwrap();
        assert_eq!(c.shape(), &[3, 2]);
        assert!(Tensor::concat(&[&a, &b], 1).is_err());
        let s = Tensor::stack(&[&a, &a], 0).unwrap();
        assert_eq!(s.shape(), &[2, 2, 2]);
        assert!(Tensor::stack(&[&a, &b], 0).is_err());
        assert!(Tensor::stack(&[], 0).is_err());
    }

    #[test]
    fn reshape_and_broadcast() {
        let x = iota(&[2, 3]);
        assert_eq!(x.reshape(&[3, 2]).unwrap().shape(), &[3, 2]);
        let err = x.reshape(&[4, 2]).unwrap_err().to_string();
        assert!(err.contains("[4, 2]") && err.contains("[2, 3]"), "{err}");
        let b = Tensor::arange(0.0, 3.0, 1.0)
            .unwrap()
            .broadcast_to(&[2, 3])
            .unwrap();
        assert_eq!(b.to_vec().unwrap(), vec![0.0, 1.0, 2.0, 0.0, 1.0, 2.0]);
        assert!(b.broadcast_to(&[3, 3]).is_err());
        assert_eq!(iota(&[2, 2, 3]).flatten_batch().unwrap().shape(), &[2, 6]);
    }
}
