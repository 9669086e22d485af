//! Inverted dropout on the GPU, bit-identical to [`crate::cpu::dropout::dropout`]: the same
//! counter-based hash of `(seed, index)` draws each element's mask, in 32-bit integer arithmetic
//! (`shaders/dropout.wgsl`), and multiplies it in; no mask is stored.
//!
//! # Shapes
//! `x`, `out`: P elements, P < 2³².
use super::buffer::check_lengths;
use super::{dispatch, grid_1d, Access, GpuBuffer, Kernel};
use crate::KernelError;

const DROPOUT: Kernel = Kernel {
    name: "dropout",
    source: include_str!("shaders/dropout.wgsl"),
    entry: "dropout",
    // x, out
    buffers: &[Access::Read, Access::ReadWrite],
};

/// `out[i] = x[i] · mask_i`, with `mask_i = 1/(1 − rate)` where `uniform(seed, i) ≥ rate`, else
/// 0. `rate` is in `[0, 1)` (the caller validates). The backward is this with `dout` as `x`.
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if `out` is not as long as `x`; [`KernelError::GpuLimit`] if
/// they have 2³² elements or more (the hash counts in 32 bits).
pub fn dropout(seed: u64, rate: f32, x: &GpuBuffer, out: &GpuBuffer) -> Result<(), KernelError> {
    check_lengths("dropout (GPU)", &[("out", out, x.len())])?;
    if out.len() > u32::MAX as usize {
        return Err(KernelError::GpuLimit {
            op: "dropout",
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
    dispatch(&DROPOUT, &params, &[x, out], grid_1d(out.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu;
    use crate::wgpu::testing::gpu_available;

    /// The GPU's dropout equals the CPU's bit for bit (a NaN is a NaN, whatever its payload),
    /// for odd lengths, several rates and seeds whose two halves both matter, with NaNs and
    /// infinities among the values.
    #[test]
    fn the_gpu_dropout_is_the_cpu_dropout_bit_for_bit() {
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
            let mut x: Vec<f32> = (0..len).map(|i| (i % 89) as f32 * 0.37 - 16.0).collect();
            x[0] = f32::NAN;
            if len > 1 {
                x[1] = f32::NEG_INFINITY;
            }
            let mut expected = vec![0.0; len];
            cpu::dropout::dropout(seed, rate, &x, &mut expected);
            let out = GpuBuffer::uninit(len).unwrap();
            dropout(seed, rate, &GpuBuffer::upload(&x).unwrap(), &out).unwrap();
            let got = out.download().unwrap();
            // A NaN stays a NaN, but its bits are the device's: x86 keeps the input's
            // (0x7FC00000 here), an NVIDIA GPU writes its own (0x7FFFFFFF).
            let same = got
                .iter()
                .zip(&expected)
                .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
            assert!(
                same,
                "len {len}, rate {rate}, seed {seed}: the outputs differ"
            );
        }
        let short = GpuBuffer::uninit(3).unwrap();
        let err = dropout(1, 0.5, &GpuBuffer::uninit(4).unwrap(), &short).unwrap_err();
        assert!(err.to_string().contains("out"), "{err}");
    }
}
