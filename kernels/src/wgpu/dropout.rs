//! The dropout mask on the GPU, bit-identical to [`crate::cpu::dropout::dropout_mask`]: the
//! same counter-based hash of `(seed, index)`, in 32-bit integer arithmetic
//! (`shaders/dropout.wgsl`).
//!
//! # Shapes
//! `out`: P elements, P < 2³².
use super::{dispatch, grid_1d, Access, GpuBuffer, Kernel};
use crate::KernelError;

const DROPOUT_MASK: Kernel = Kernel {
    name: "dropout.mask",
    source: include_str!("shaders/dropout.wgsl"),
    entry: "dropout_mask",
    buffers: &[Access::ReadWrite],
};

/// Writes `out[i] = 1/(1 − rate)` where `uniform(seed, i) ≥ rate`, else 0, for every element
/// of `out`. `rate` is in `[0, 1)` (the caller validates).
///
/// # Errors
/// [`KernelError::GpuLimit`] if `out` has 2³² elements or more (the hash counts in 32 bits).
pub fn dropout_mask(seed: u64, rate: f32, out: &GpuBuffer) -> Result<(), KernelError> {
    if out.len() > u32::MAX as usize {
        return Err(KernelError::GpuLimit {
            op: "dropout_mask",
            msg: format!("at most 2³² − 1 elements, found {}", out.len()),
        });
    }
    let scale = 1.0 / (1.0 - rate);
    let params = [
        out.len() as u32,
        seed as u32,
        (seed >> 32) as u32,
        rate.to_bits(),
        scale.to_bits(),
    ];
    dispatch(&DROPOUT_MASK, &params, &[out], grid_1d(out.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu;
    use crate::wgpu::testing::gpu_available;

    /// The GPU mask equals the CPU mask bit for bit, for odd lengths, several rates and seeds
    /// whose two halves both matter.
    #[test]
    fn the_gpu_mask_is_the_cpu_mask_bit_for_bit() {
        if !gpu_available() {
            return;
        }
        for (len, rate, seed) in [
            (1usize, 0.5f32, 0u64),
            (1000, 0.3, 42),
            (70_001, 0.5, 0xDEAD_BEEF_0123_4567),
            (4097, 0.9, u64::MAX),
            (333, 0.0, 7),
        ] {
            let mut expected = vec![0.0; len];
            cpu::dropout::dropout_mask(seed, rate, &mut expected);
            let out = GpuBuffer::uninit(len).unwrap();
            dropout_mask(seed, rate, &out).unwrap();
            let got = out.download().unwrap();
            let same = got
                .iter()
                .zip(&expected)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "len {len}, rate {rate}, seed {seed}: masks differ");
        }
    }
}
