//! Inverted dropout, its mask from a counter-based random number generator: element `i` of the
//! mask depends only on `(seed, i)`, so the CPU and the GPU (`wgpu::dropout`) draw bit-identical
//! masks, in any order and on any number of threads, and the backward draws the forward's mask
//! again from the seed instead of keeping it.
//!
//! # Math
//! ```text
//! h_i    = hash(seed, i)                     32 random bits, a stateless function
//! u_i    = (h_i >> 8) · 2⁻²⁴                 uniform in [0, 1), on a grid of 2⁻²⁴
//! mask_i = 1/(1 − rate)  if u_i ≥ rate,  else 0
//! out_i  = x_i · mask_i
//! ```
//!
//! a value is dropped with probability `rate` and the kept ones are scaled so that the expected
//! output equals the input. The backward is the same product with `dout` in place of `x`.
//!
//! # The hash
//! A sequential generator (xoshiro, as `astrograd_tensor::random`) cannot be split over
//! thousands of GPU threads: number `i` of its stream needs the `i − 1` before it. A
//! *counter-based* generator (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", the
//! idea behind Philox) instead scrambles the counter `i` with a key. Ours runs three rounds of
//! the `lowbias32` integer mixer (Chris Wellons's hash-prospector: xor-shift, multiply,
//! xor-shift, multiply, xor-shift), keyed with the two 32-bit halves of the seed:
//!
//! ```text
//! h = mix(i·0x9E3779B9 ⊕ seed_lo);   h = mix(h ⊕ seed_hi);   h = mix(h + seed_lo)
//! ```
//!
//! Every step is a bijection of 32-bit words, so for one seed the `2³²` indices give `2³²`
//! distinct hashes. Only 32-bit integer operations are used: WGSL has no 64-bit integers.
//!
//! # Shapes
//! `x`, `out`: the same length, below 2³² (P elements).
use rayon::prelude::*;

/// Elements per parallel task.
const CHUNK: usize = 1 << 14;

/// `lowbias32`: a 32-bit integer mixer with low bias (each input bit flips each output bit
/// with probability close to ½).
#[inline]
pub fn mix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// The 32 random bits of element `index` for `seed`.
#[inline]
pub fn hash(seed: u64, index: u32) -> u32 {
    let (lo, hi) = (seed as u32, (seed >> 32) as u32);
    let h = mix32(index.wrapping_mul(0x9E37_79B9) ^ lo);
    let h = mix32(h ^ hi);
    mix32(h.wrapping_add(lo))
}

/// Uniform in `[0, 1)` for element `index`: the top 24 bits of [`hash`] (every f32 step of
/// 2⁻²⁴ equally likely, as `Rng::uniform`).
#[inline]
pub fn uniform(seed: u64, index: u32) -> f32 {
    (hash(seed, index) >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
}

/// The mask of element `index`: `scale` where `uniform(seed, index) ≥ rate`, else 0.
#[inline]
pub fn mask_value(seed: u64, rate: f32, scale: f32, index: u32) -> f32 {
    if uniform(seed, index) >= rate {
        scale
    } else {
        0.0
    }
}

/// Inverted dropout: `out[i] = x[i] · mask_i`, with `mask_i = 1/(1 − rate)` where
/// `uniform(seed, i) ≥ rate` and 0 elsewhere, drawn as it is used (no mask is stored). `rate`
/// is in `[0, 1)` (the caller validates). The backward is this with `dout` as `x`.
///
/// ```
/// use astrograd_kernels::cpu::dropout::dropout;
/// let mut mask = vec![0.0; 10_000];
/// dropout(7, 0.25, &vec![1.0; 10_000], &mut mask); // the mask itself: dropout of ones
/// assert!(mask.iter().all(|&m| m == 0.0 || m == 1.0 / 0.75));
/// let dropped = mask.iter().filter(|&&m| m == 0.0).count();
/// assert!((2300..2700).contains(&dropped)); // about a quarter
/// ```
pub fn dropout(seed: u64, rate: f32, x: &[f32], out: &mut [f32]) {
    debug_assert!(out.len() <= u32::MAX as usize);
    debug_assert_eq!(x.len(), out.len());
    let scale = 1.0 / (1.0 - rate);
    let apply = |(c, (out, x)): (usize, (&mut [f32], &[f32]))| {
        for (j, (o, &v)) in out.iter_mut().zip(x).enumerate() {
            *o = v * mask_value(seed, rate, scale, (c * CHUNK + j) as u32);
        }
    };
    if out.len() >= 2 * CHUNK {
        out.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .enumerate()
            .for_each(apply);
    } else {
        out.chunks_mut(CHUNK)
            .zip(x.chunks(CHUNK))
            .enumerate()
            .for_each(apply);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mask: dropout of ones.
    fn mask(seed: u64, rate: f32, len: usize) -> Vec<f32> {
        let mut out = vec![0.0; len];
        dropout(seed, rate, &vec![1.0; len], &mut out);
        out
    }

    #[test]
    fn same_seed_same_mask_other_seed_other_mask() {
        let a = mask(42, 0.5, 1000);
        assert_eq!(a, mask(42, 0.5, 1000));
        assert_ne!(a, mask(43, 0.5, 1000));
        // Seeds that differ only in their high half give other masks too.
        assert_ne!(a, mask(42 + (1 << 32), 0.5, 1000));
    }

    /// Many threads give one thread's numbers: `x · mask`, the product of each value with its
    /// element's mask, a NaN or an infinity included (a dropped one is 0 · x, as `x · mask` is).
    #[test]
    fn the_parallel_dropout_is_the_serial_product_with_the_mask() {
        let n = 5 * CHUNK + 17;
        let mut x: Vec<f32> = (0..n).map(|i| (i % 97) as f32 - 48.5).collect();
        x[3] = f32::NAN;
        x[4] = f32::INFINITY;
        let mut parallel = vec![0.0; n];
        dropout(9, 0.3, &x, &mut parallel);
        let serial: Vec<f32> = (0..n)
            .map(|i| {
                x[i] * if uniform(9, i as u32) >= 0.3 {
                    1.0 / 0.7
                } else {
                    0.0
                }
            })
            .collect();
        let same = parallel
            .iter()
            .zip(&serial)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "the parallel and serial products differ");
    }

    /// The uniforms look uniform: mean ½, variance 1/12, every tenth of [0, 1) filled equally,
    /// and neighbouring indices uncorrelated.
    #[test]
    fn uniforms_have_the_moments_and_histogram_of_a_uniform() {
        let n = 200_000u32;
        let u: Vec<f64> = (0..n).map(|i| uniform(1234, i) as f64).collect();
        let mean = u.iter().sum::<f64>() / n as f64;
        let var = u.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
        assert!((var - 1.0 / 12.0).abs() < 0.002, "variance {var}");
        let mut bins = [0usize; 10];
        u.iter().for_each(|&v| bins[(v * 10.0) as usize] += 1);
        for b in bins {
            // Expected 20 000 each, standard deviation ≈ 134.
            assert!((b as i64 - 20_000).abs() < 800, "{bins:?}");
        }
        let lag1 = u
            .windows(2)
            .map(|w| (w[0] - 0.5) * (w[1] - 0.5))
            .sum::<f64>()
            / n as f64;
        assert!(lag1.abs() < 0.002, "lag-1 covariance {lag1}");
    }

    #[test]
    fn drops_about_rate() {
        for rate in [0.1f32, 0.5, 0.9] {
            let dropped = mask(5, rate, 100_000).iter().filter(|&&m| m == 0.0).count() as f32 / 1e5;
            assert!(
                (dropped - rate).abs() < 0.01,
                "rate {rate}: dropped {dropped}"
            );
        }
        assert_eq!(mask(5, 0.0, 100), vec![1.0; 100]);
    }
}
