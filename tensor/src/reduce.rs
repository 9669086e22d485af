//! Reductions over axes: sum, mean, max, min, argmax; and `sum_to_shape`, the reduction that
//! undoes broadcasting in the backward pass.
use ndarray::{ArrayD, Axis};

use crate::shape::{broadcast_shape, check_axes, check_axis};
use crate::{Result, Tensor, TensorError};

impl Tensor {
    /// Sum over `axes`; with `keepdims` the reduced axes stay as size 1.
    ///
    /// # Errors
    /// [`TensorError::Axis`] / [`TensorError::Invalid`] for an axis out of range or repeated.
    pub fn sum_axes(&self, axes: &[usize], keepdims: bool) -> Result<Tensor> {
        self.reduce("sum", axes, keepdims, |a, axis| a.sum_axis(axis))
    }

    /// Mean over `axes` (the sum divided by the number of elements reduced).
    ///
    /// # Errors
    /// As [`Tensor::sum_axes`], and [`TensorError::Invalid`] when a reduced axis is empty.
    pub fn mean_axes(&self, axes: &[usize], keepdims: bool) -> Result<Tensor> {
        let count: usize = check_axes("mean", axes, self.shape())?
            .iter()
            .map(|&a| self.shape()[a])
            .product();
        if count == 0 {
            return Err(self.empty_error("mean"));
        }
        Ok(self
            .sum_axes(axes, keepdims)?
            .mul_scalar(1.0 / count as f32))
    }

    /// Maximum over `axes` (NaN wins, so a NaN is never hidden).
    ///
    /// # Errors
    /// As [`Tensor::sum_axes`], and [`TensorError::Invalid`] when a reduced axis is empty.
    pub fn max_axes(&self, axes: &[usize], keepdims: bool) -> Result<Tensor> {
        self.reduce_nonempty("max", axes, keepdims, |a, b| {
            if a.is_nan() || a >= b {
                a
            } else {
                b
            }
        })
    }

    /// Minimum over `axes` (NaN wins).
    ///
    /// # Errors
    /// As [`Tensor::max_axes`].
    pub fn min_axes(&self, axes: &[usize], keepdims: bool) -> Result<Tensor> {
        self.reduce_nonempty("min", axes, keepdims, |a, b| {
            if a.is_nan() || a <= b {
                a
            } else {
                b
            }
        })
    }

    /// Sum of every element, as a scalar tensor.
    pub fn sum_all(&self) -> Tensor {
        #[cfg(feature = "wgpu")]
        if let Some(x) = self.gpu_buffer() {
            // Every axis at once is the one axis of the flat buffer (the kernel takes at most 6).
            return self
                .with_shape(&[self.numel()])
                .reduce_on_gpu("sum", x, &[0], false)
                .expect("one axis of a buffer this GPU holds always reduces");
        }
        Tensor::scalar(self.host().iter().map(|&v| v as f64).sum::<f64>() as f32)
    }

    /// Mean of every element, as a scalar tensor.
    ///
    /// # Errors
    /// [`TensorError::Invalid`] for an empty tensor.
    pub fn mean_all(&self) -> Result<Tensor> {
        if self.numel() == 0 {
            return Err(self.empty_error("mean"));
        }
        #[cfg(feature = "wgpu")]
        if self.gpu_buffer().is_some() {
            return Ok(self.sum_all().mul_scalar(1.0 / self.numel() as f32));
        }
        let sum: f64 = self.as_slice()?.iter().map(|&v| v as f64).sum();
        Ok(Tensor::scalar((sum / self.numel() as f64) as f32))
    }

    /// Index of the largest value along `axis` (the first one on ties, as numpy), as `f32`
    /// in a tensor without that axis.
    ///
    /// # Errors
    /// [`TensorError::Axis`] for a bad axis, [`TensorError::Invalid`] when the axis is empty.
    pub fn argmax(&self, axis: usize) -> Result<Tensor> {
        check_axis("argmax", axis, self.shape())?;
        if self.shape()[axis] == 0 {
            return Err(self.empty_error("argmax"));
        }
        #[cfg(feature = "wgpu")]
        if let Some(x) = self.gpu_buffer() {
            let (outer, inner) = crate::shape_ops::outer_inner(self.shape(), axis);
            let mut shape = self.shape().to_vec();
            shape.remove(axis);
            let out = astrograd_kernels::wgpu::GpuBuffer::uninit(outer * inner)?;
            astrograd_kernels::wgpu::gather::argmax(x, [outer, self.shape()[axis], inner], &out)?;
            return Ok(Tensor::from_gpu(out, &shape));
        }
        let out = self.cpu_array()?.map_axis(Axis(axis), |lane| {
            let mut best = 0;
            for (i, &v) in lane.iter().enumerate() {
                if v > lane[best] || (v.is_nan() && !lane[best].is_nan()) {
                    best = i;
                }
            }
            best as f32
        });
        Ok(Tensor::from_array(out))
    }

    /// Sums a broadcast result back to `shape`: the adjoint of broadcasting.
    ///
    /// If `y = broadcast(x)` then `dx = sum_to_shape(dy, shape(x))`: every output position
    /// that read `x[i]` sends its gradient back to `x[i]`.
    ///
    /// # Errors
    /// [`TensorError::Shape`] if `shape` does not broadcast to this tensor's shape.
    pub fn sum_to_shape(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let out = broadcast_shape("sum_to_shape", shape, self.shape())?;
        if out != self.shape() {
            return Err(TensorError::Shape {
                op: "sum_to_shape",
                expected: format!("a shape that broadcasts to {:?}", self.shape()),
                found: format!("{shape:?}"),
            });
        }
        let lead = self.rank() - shape.len();
        // Axes that broadcasting created or stretched from size 1.
        let axes: Vec<usize> = (0..self.rank())
            .filter(|&a| a < lead || (shape[a - lead] == 1 && self.shape()[a] != 1))
            .collect();
        self.sum_axes(&axes, true)?.reshape(shape)
    }

    /// Applies a one-axis reduction over several axes, highest first so indices stay valid.
    fn reduce(
        &self,
        op: &'static str,
        axes: &[usize],
        keepdims: bool,
        one_axis: impl Fn(&ArrayD<f32>, Axis) -> ArrayD<f32>,
    ) -> Result<Tensor> {
        let axes = check_axes(op, axes, self.shape())?;
        #[cfg(feature = "wgpu")]
        if let Some(x) = self.gpu_buffer() {
            return self.reduce_on_gpu(op, x, &axes, keepdims);
        }
        let mut array = self.cpu_array()?.clone();
        for &axis in axes.iter().rev() {
            array = one_axis(&array, Axis(axis));
            if keepdims {
                array.insert_axis_inplace(Axis(axis));
            }
        }
        Ok(Tensor::from_array(array))
    }

    fn reduce_nonempty(
        &self,
        op: &'static str,
        axes: &[usize],
        keepdims: bool,
        pick: impl Fn(f32, f32) -> f32 + Copy,
    ) -> Result<Tensor> {
        let axes_checked = check_axes(op, axes, self.shape())?;
        if axes_checked.iter().any(|&a| self.shape()[a] == 0) {
            return Err(self.empty_error(op));
        }
        self.reduce(op, axes, keepdims, |a, axis| {
            a.map_axis(axis, |lane| {
                lane.iter().skip(1).fold(lane[0], |acc, &v| pick(acc, v))
            })
        })
    }

    /// [`Tensor::reduce`] on the GPU: one kernel for all the axes at once.
    #[cfg(feature = "wgpu")]
    fn reduce_on_gpu(
        &self,
        op: &'static str,
        x: &astrograd_kernels::wgpu::GpuBuffer,
        axes: &[usize],
        keepdims: bool,
    ) -> Result<Tensor> {
        use astrograd_kernels::wgpu::reduce::{reduce, Reduction};
        let reduction = match op {
            "max" => Reduction::Max,
            "min" => Reduction::Min,
            _ => Reduction::Sum,
        };
        let mut axes = axes.to_vec();
        axes.sort_unstable();
        axes.dedup();
        let shape: Vec<usize> = (0..self.rank())
            .filter_map(|a| {
                if axes.contains(&a) {
                    keepdims.then_some(1)
                } else {
                    Some(self.shape()[a])
                }
            })
            .collect();
        let y = astrograd_kernels::wgpu::GpuBuffer::uninit(crate::shape::numel(&shape))?;
        reduce(reduction, x, self.shape(), &axes, &y)?;
        Ok(Tensor::from_gpu(y, &shape))
    }

    fn empty_error(&self, op: &'static str) -> TensorError {
        TensorError::Invalid {
            op,
            msg: format!(
                "expected a non-empty axis to reduce, found shape {:?}",
                self.shape()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(data: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(data.to_vec(), shape).unwrap()
    }

    #[test]
    fn sums_and_means() {
        let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        assert_eq!(
            x.sum_axes(&[1], false).unwrap().to_vec().unwrap(),
            vec![6.0, 15.0]
        );
        let kept = x.sum_axes(&[1], true).unwrap();
        assert_eq!(kept.shape(), &[2, 1]);
        assert_eq!(x.sum_axes(&[0, 1], false).unwrap().shape(), &[] as &[usize]);
        assert_eq!(
            x.mean_axes(&[0], false).unwrap().to_vec().unwrap(),
            vec![2.5, 3.5, 4.5]
        );
        assert_eq!(x.mean_all().unwrap().item().unwrap(), 3.5);
        assert!(x.sum_axes(&[2], false).is_err());
    }

    #[test]
    fn max_min_argmax() {
        let x = t(&[1.0, 9.0, 3.0, 9.0, 0.0, -1.0], &[2, 3]);
        assert_eq!(
            x.max_axes(&[1], false).unwrap().to_vec().unwrap(),
            vec![9.0, 9.0]
        );
        assert_eq!(
            x.min_axes(&[0], false).unwrap().to_vec().unwrap(),
            vec![1.0, 0.0, -1.0]
        );
        assert_eq!(x.argmax(1).unwrap().to_vec().unwrap(), vec![1.0, 0.0]);
        let tie = t(&[2.0, 2.0], &[2]);
        assert_eq!(tie.argmax(0).unwrap().to_vec().unwrap(), vec![0.0]);
        let nan = t(&[1.0, f32::NAN], &[2]);
        assert!(nan.max_axes(&[0], false).unwrap().to_vec().unwrap()[0].is_nan());
        assert!(Tensor::zeros(&[0, 2]).max_axes(&[0], false).is_err());
    }

    #[test]
    fn sum_to_shape_undoes_broadcasting() {
        let dy = Tensor::ones(&[4, 2, 3]);
        assert_eq!(
            dy.sum_to_shape(&[3]).unwrap().to_vec().unwrap(),
            vec![8.0; 3]
        );
        assert_eq!(
            dy.sum_to_shape(&[2, 1]).unwrap().to_vec().unwrap(),
            vec![12.0; 2]
        );
        assert_eq!(dy.sum_to_shape(&[]).unwrap().to_vec().unwrap(), vec![24.0]);
        assert!(dy.sum_to_shape(&[5]).is_err());
    }
}
