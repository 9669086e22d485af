//! The inverted-dropout mask on either device, from a counter-based hash of `(seed, index)`:
//! the CPU and the GPU draw bit-identical masks from the same seed
//! (`astrograd_kernels::cpu::dropout` explains the hash).
//!
//! # Math
//! `mask_i = 1/(1 − rate)` if `uniform(seed, i) ≥ rate`, else 0; dropout is `x · mask`.
//!
//! # Shapes
//! The mask has the shape it is asked for (the shape of `x`).
#[cfg(feature = "wgpu")]
use astrograd_kernels::wgpu::{dropout as gpu, GpuBuffer};

use crate::{Device, Result, Tensor, TensorError};

/// The dropout mask of `shape` on `device`: each element `1/(1 − rate)` (kept) or 0 (dropped,
/// with probability `rate`), a function of `(seed, index)` only.
///
/// ```
/// use astrograd_tensor::nn::dropout::dropout_mask;
/// use astrograd_tensor::Device;
/// let mask = dropout_mask(42, 0.5, &[4, 250], Device::Cpu)?;
/// assert!(mask.as_slice()?.iter().all(|&m| m == 0.0 || m == 2.0));
/// assert_eq!(mask, dropout_mask(42, 0.5, &[4, 250], Device::Cpu)?); // same seed, same mask
/// # Ok::<(), astrograd_tensor::TensorError>(())
/// ```
///
/// # Errors
/// [`TensorError::Invalid`] if `rate` is not in `[0, 1)`; a kernel error if the GPU fails.
pub fn dropout_mask(seed: u64, rate: f32, shape: &[usize], device: Device) -> Result<Tensor> {
    if !(0.0..1.0).contains(&rate) {
        return Err(TensorError::Invalid {
            op: "dropout_mask",
            msg: format!("expected a rate in [0, 1), found {rate}"),
        });
    }
    match device {
        Device::Cpu => {
            let mut mask = Tensor::zeros(shape);
            astrograd_kernels::cpu::dropout::dropout_mask(seed, rate, mask.as_mut_slice()?);
            Ok(mask)
        }
        #[cfg(feature = "wgpu")]
        Device::Gpu => {
            let mask = GpuBuffer::uninit(crate::shape::numel(shape))?;
            gpu::dropout_mask(seed, rate, &mask)?;
            Ok(Tensor::from_gpu(mask, shape))
        }
    }
}

#[cfg(all(test, feature = "wgpu"))]
mod tests {
    use super::*;

    #[test]
    fn the_gpu_mask_is_the_cpu_mask() {
        let Some(gpu) = crate::gpu::gpu_or_skip() else {
            return;
        };
        let cpu_mask = dropout_mask(7, 0.3, &[3, 5, 7], Device::Cpu).unwrap();
        let gpu_mask = dropout_mask(7, 0.3, &[3, 5, 7], gpu).unwrap();
        assert_eq!(gpu_mask.device(), Device::Gpu);
        assert_eq!(gpu_mask.shape(), &[3, 5, 7]);
        assert_eq!(gpu_mask.to(Device::Cpu).unwrap(), cpu_mask);
    }
}
