//! Inverted dropout on either device, its mask from a counter-based hash of `(seed, index)`:
//! the CPU and the GPU draw bit-identical masks from the same seed
//! (`astrograd_kernels::cpu::dropout` explains the hash), and no mask is stored — the backward
//! draws the forward's mask again from the seed.
//!
//! # Math
//! `mask_i = 1/(1 − rate)` if `uniform(seed, i) ≥ rate`, else 0; `out = x · mask`.
//!
//! # Shapes
//! `out`: the shape of `x`.
#[cfg(feature = "wgpu")]
use astrograd_kernels::wgpu::{dropout as gpu, GpuBuffer};

use crate::{Result, Tensor, TensorError};

/// `x · mask` on the device of `x`, each element's mask `1/(1 − rate)` (kept) or 0 (dropped,
/// with probability `rate`), a function of `(seed, index)` only. The backward of dropout is
/// this with `dout` as `x` and the same seed.
///
/// ```
/// use astrograd_tensor::nn::dropout::dropout;
/// use astrograd_tensor::Tensor;
/// let ones = Tensor::ones(&[4, 250]);
/// let mask = dropout(42, 0.5, &ones)?; // dropout of ones: the mask itself
/// assert!(mask.as_slice()?.iter().all(|&m| m == 0.0 || m == 2.0));
/// assert_eq!(mask, dropout(42, 0.5, &ones)?); // same seed, same mask
/// # Ok::<(), astrograd_tensor::TensorError>(())
/// ```
///
/// # Errors
/// [`TensorError::Invalid`] if `rate` is not in `[0, 1)`; a kernel error if the GPU fails.
pub fn dropout(seed: u64, rate: f32, x: &Tensor) -> Result<Tensor> {
    if !(0.0..1.0).contains(&rate) {
        return Err(TensorError::Invalid {
            op: "dropout",
            msg: format!("expected a rate in [0, 1), found {rate}"),
        });
    }
    #[cfg(feature = "wgpu")]
    if let Some(x_buffer) = x.gpu_buffer() {
        let out = GpuBuffer::uninit(x.numel())?;
        gpu::dropout(seed, rate, x_buffer, &out)?;
        return Ok(Tensor::from_gpu(out, x.shape()));
    }
    let mut out = Tensor::zeros(x.shape());
    astrograd_kernels::cpu::dropout::dropout(seed, rate, x.as_slice()?, out.as_mut_slice()?);
    Ok(out)
}

#[cfg(all(test, feature = "wgpu"))]
mod tests {
    use super::*;
    use crate::Device;

    #[test]
    fn the_gpu_dropout_is_the_cpu_dropout() {
        let Some(gpu) = crate::gpu::gpu_or_skip() else {
            return;
        };
        let x = Tensor::from_vec((0..105).map(|i| i as f32 - 52.0).collect(), &[3, 5, 7]).unwrap();
        let on_cpu = dropout(7, 0.3, &x).unwrap();
        let on_gpu = dropout(7, 0.3, &x.to(gpu).unwrap()).unwrap();
        assert_eq!(on_gpu.device(), Device::Gpu);
        assert_eq!(on_gpu.shape(), &[3, 5, 7]);
        assert_eq!(on_gpu.to(Device::Cpu).unwrap(), on_cpu);
    }
}
