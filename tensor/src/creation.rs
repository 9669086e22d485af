//! Making tensors: constants, ranges and seeded random draws.
use ndarray::{ArrayD, IxDyn};

use crate::random::{with_global, Rng};
use crate::{Result, Tensor, TensorError};

impl Tensor {
    /// All zeros.
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    /// All ones.
    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// Every element equal to `value`.
    pub fn full(shape: &[usize], value: f32) -> Tensor {
        Tensor::from_array(ArrayD::from_elem(IxDyn(shape), value))
    }

    /// Zeros with the shape of `other`, on `other`'s device.
    pub fn zeros_like(other: &Tensor) -> Tensor {
        // Cannot fail: `other` proves its device is open and that its length fits one binding.
        Tensor::full_on(other.shape(), 0.0, other.device())
            .expect("a tensor as large as `other` fits its device")
    }

    /// Every element equal to `value`, made directly on `device` (no copy from the host).
    ///
    /// # Errors
    /// [`TensorError::Kernel`] if the GPU cannot be opened.
    pub fn full_on(shape: &[usize], value: f32, device: crate::Device) -> Result<Tensor> {
        match device {
            crate::Device::Cpu => Ok(Tensor::full(shape, value)),
            #[cfg(feature = "wgpu")]
            crate::Device::Gpu => {
                use astrograd_kernels::wgpu::{elementwise::fill, GpuBuffer};
                let buffer = GpuBuffer::uninit(crate::shape::numel(shape))?;
                fill(&buffer, value)?;
                Ok(Tensor::from_gpu(buffer, shape))
            }
        }
    }

    /// `start, start + step, …` up to but excluding `end`, as `numpy.arange`.
    ///
    /// # Errors
    /// [`TensorError::Invalid`] if `step` is zero or not finite.
    pub fn arange(start: f32, end: f32, step: f32) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            return Err(TensorError::Invalid {
                op: "arange",
                msg: format!("expected finite bounds and a non-zero step, found start {start}, end {end}, step {step}"),
            });
        }
        let count = ((end - start) / step).ceil().max(0.0) as usize;
        let data: Vec<f32> = (0..count).map(|i| start + i as f32 * step).collect();
        Tensor::from_vec(data, &[count])
    }

    /// Uniform in `[low, high)`, from the global seeded generator.
    pub fn rand_uniform(shape: &[usize], low: f32, high: f32) -> Tensor {
        with_global(|rng| Tensor::rand_uniform_with(rng, shape, low, high))
    }

    /// Normal with `mean` and standard deviation `std`, from the global seeded generator.
    pub fn rand_normal(shape: &[usize], mean: f32, std: f32) -> Tensor {
        with_global(|rng| Tensor::rand_normal_with(rng, shape, mean, std))
    }

    /// Normal truncated to `mean ± 2·std` (values outside are redrawn), as Keras's
    /// `TruncatedNormal`, from the global seeded generator.
    pub fn rand_truncated_normal(shape: &[usize], mean: f32, std: f32) -> Tensor {
        with_global(|rng| Tensor::rand_truncated_normal_with(rng, shape, mean, std))
    }

    /// [`Tensor::rand_uniform`] drawing from a given generator.
    pub fn rand_uniform_with(rng: &mut Rng, shape: &[usize], low: f32, high: f32) -> Tensor {
        Tensor::from_fn(shape, || rng.uniform_range(low, high))
    }

    /// [`Tensor::rand_normal`] drawing from a given generator.
    pub fn rand_normal_with(rng: &mut Rng, shape: &[usize], mean: f32, std: f32) -> Tensor {
        Tensor::from_fn(shape, || mean + std * rng.normal())
    }

    /// [`Tensor::rand_truncated_normal`] drawing from a given generator.
    pub fn rand_truncated_normal_with(
        rng: &mut Rng,
        shape: &[usize],
        mean: f32,
        std: f32,
    ) -> Tensor {
        Tensor::from_fn(shape, || mean + std * rng.truncated_normal())
    }

    fn from_fn(shape: &[usize], mut next: impl FnMut() -> f32) -> Tensor {
        let n = crate::shape::numel(shape);
        let data: Vec<f32> = (0..n).map(|_| next()).collect();
        Tensor::from_vec(data, shape).expect("length equals the shape's element count")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::set_seed;

    #[test]
    fn constants() {
        assert_eq!(Tensor::ones(&[2, 2]).to_vec().unwrap(), vec![1.0; 4]);
        assert_eq!(Tensor::full(&[3], 2.5).to_vec().unwrap(), vec![2.5; 3]);
        assert_eq!(Tensor::zeros(&[0, 3]).numel(), 0);
    }

    #[test]
    fn arange_matches_numpy() {
        assert_eq!(
            Tensor::arange(0.0, 5.0, 1.0).unwrap().to_vec().unwrap(),
            vec![0.0, 1.0, 2.0, 3.0, 4.0]
        );
        assert_eq!(
            Tensor::arange(1.0, 0.0, -0.5).unwrap().to_vec().unwrap(),
            vec![1.0, 0.5]
        );
        assert_eq!(Tensor::arange(3.0, 1.0, 1.0).unwrap().numel(), 0);
        assert!(Tensor::arange(0.0, 1.0, 0.0).is_err());
    }

    #[test]
    fn seeded_draws_repeat() {
        set_seed(42);
        let a = Tensor::rand_normal(&[4, 4], 0.0, 1.0);
        let t = Tensor::rand_truncated_normal(&[1000], 1.0, 0.5);
        set_seed(42);
        let b = Tensor::rand_normal(&[4, 4], 0.0, 1.0);
        assert_eq!(a, b);
        assert!(t
            .as_slice()
            .unwrap()
            .iter()
            .all(|&v| (v - 1.0).abs() <= 1.0));
        let u = Tensor::rand_uniform(&[1000], -0.05, 0.05);
        assert!(u
            .as_slice()
            .unwrap()
            .iter()
            .all(|&v| (-0.05..0.05).contains(&v)));
    }
}
