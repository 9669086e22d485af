//! The vector interface the fast kernels are written in, and its two x86-64 implementations.
//!
//! A register-blocked kernel is the same algorithm on every instruction set: broadcast one value,
//! load a vector of weights, fused multiply-add into accumulators that stay in registers. Only
//! the width changes (16 lanes with AVX-512, 8 with AVX2) and with it how many accumulators fit
//! (32 registers against 16). So each kernel is written once, generic over [`Vector`], with its
//! block sizes as const parameters, and compiled once per instruction set by an entry function
//! marked `#[target_feature]`:
//!
//! ```text
//! #[target_feature(enable = "avx2,fma")]
//! unsafe fn kernel_avx2(..) { kernel::<Avx2, 6, 2>(..) }     // 6 × 2 = 12 accumulators of 16
//! #[target_feature(enable = "avx512f")]
//! unsafe fn kernel_avx512(..) { kernel::<Avx512, 12, 2>(..) } // 24 accumulators of 32
//! ```
//!
//! Everything below the entry function is `#[inline(always)]`, so that it is compiled inside the
//! entry function, with its instruction set, and the intrinsics become single instructions.
//!
//! Masked loads and stores touch only the first `live` lanes; the lanes masked off are never
//! read or written, and faults there are suppressed (both instruction sets guarantee it), so a
//! kernel may form their addresses past the end of a slice (with `wrapping_add`).
use std::arch::x86_64::*;

/// A vector register of `LANES` f32 lanes, and the operations the kernels need.
///
/// # Safety
/// Every method is `unsafe`: it may only run on a CPU with the instruction set of the
/// implementation, and the pointer methods read or write `LANES` floats (the masked ones, the
/// live lanes) at the address given.
pub(crate) trait Vector {
    /// The register.
    type Reg: Copy;
    /// Which lanes a masked load or store touches.
    type Mask: Copy;
    /// f32 lanes per register.
    const LANES: usize;
    /// All lanes zero.
    unsafe fn zero() -> Self::Reg;
    /// All lanes `x`.
    unsafe fn splat(x: f32) -> Self::Reg;
    /// `LANES` floats from `p`.
    unsafe fn load(p: *const f32) -> Self::Reg;
    /// `LANES` floats to `p`.
    unsafe fn store(p: *mut f32, v: Self::Reg);
    /// `a·b + c`, rounded once.
    unsafe fn mul_add(a: Self::Reg, b: Self::Reg, c: Self::Reg) -> Self::Reg;
    /// `a·b`.
    unsafe fn mul(a: Self::Reg, b: Self::Reg) -> Self::Reg;
    /// `max(a, b)` lane by lane.
    unsafe fn max(a: Self::Reg, b: Self::Reg) -> Self::Reg;
    /// The mask of the first `live` lanes (`live ≤ LANES`).
    unsafe fn first(live: usize) -> Self::Mask;
    /// The live lanes from `p`, zero in the others.
    unsafe fn load_masked(mask: Self::Mask, p: *const f32) -> Self::Reg;
    /// The live lanes of `v` to `p`; memory under the others is untouched.
    unsafe fn store_masked(p: *mut f32, mask: Self::Mask, v: Self::Reg);
}

/// AVX-512F: 16 lanes, 32 registers, masks in `k` registers.
pub(crate) struct Avx512;

impl Vector for Avx512 {
    type Reg = __m512;
    type Mask = __mmask16;
    const LANES: usize = 16;
    #[inline(always)]
    unsafe fn zero() -> __m512 {
        _mm512_setzero_ps()
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> __m512 {
        _mm512_set1_ps(x)
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m512 {
        _mm512_loadu_ps(p)
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m512) {
        _mm512_storeu_ps(p, v)
    }
    #[inline(always)]
    unsafe fn mul_add(a: __m512, b: __m512, c: __m512) -> __m512 {
        _mm512_fmadd_ps(a, b, c)
    }
    #[inline(always)]
    unsafe fn mul(a: __m512, b: __m512) -> __m512 {
        _mm512_mul_ps(a, b)
    }
    #[inline(always)]
    unsafe fn max(a: __m512, b: __m512) -> __m512 {
        _mm512_max_ps(a, b)
    }
    #[inline(always)]
    unsafe fn first(live: usize) -> __mmask16 {
        ((1u32 << live.min(16)) - 1) as __mmask16
    }
    #[inline(always)]
    unsafe fn load_masked(mask: __mmask16, p: *const f32) -> __m512 {
        _mm512_maskz_loadu_ps(mask, p)
    }
    #[inline(always)]
    unsafe fn store_masked(p: *mut f32, mask: __mmask16, v: __m512) {
        _mm512_mask_storeu_ps(p, mask, v)
    }
}

/// AVX2 with FMA: 8 lanes, 16 registers, masks as vectors whose live lanes are all ones.
pub(crate) struct Avx2;

/// Eight lanes of ones, then eight of zeros: the mask of the first `live` lanes is the eight
/// lanes starting at `8 − live`.
static AVX2_MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

impl Vector for Avx2 {
    type Reg = __m256;
    type Mask = __m256i;
    const LANES: usize = 8;
    #[inline(always)]
    unsafe fn zero() -> __m256 {
        _mm256_setzero_ps()
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> __m256 {
        _mm256_set1_ps(x)
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m256 {
        _mm256_loadu_ps(p)
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m256) {
        _mm256_storeu_ps(p, v)
    }
    #[inline(always)]
    unsafe fn mul_add(a: __m256, b: __m256, c: __m256) -> __m256 {
        _mm256_fmadd_ps(a, b, c)
    }
    #[inline(always)]
    unsafe fn mul(a: __m256, b: __m256) -> __m256 {
        _mm256_mul_ps(a, b)
    }
    #[inline(always)]
    unsafe fn max(a: __m256, b: __m256) -> __m256 {
        _mm256_max_ps(a, b)
    }
    #[inline(always)]
    unsafe fn first(live: usize) -> __m256i {
        _mm256_loadu_si256(AVX2_MASKS.as_ptr().add(8 - live.min(8)).cast())
    }
    #[inline(always)]
    unsafe fn load_masked(mask: __m256i, p: *const f32) -> __m256 {
        _mm256_maskload_ps(p, mask)
    }
    #[inline(always)]
    unsafe fn store_masked(p: *mut f32, mask: __m256i, v: __m256) {
        _mm256_maskstore_ps(p, mask, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::fast::{isas_here, Isa};

    /// Masked loads keep the first `live` lanes and zero the rest; masked stores leave the
    /// memory under the other lanes alone; `mul_add` and `max` work lane by lane.
    #[inline(always)]
    unsafe fn check<V: Vector>() {
        let source: Vec<f32> = (1..=V::LANES).map(|i| i as f32).collect();
        for live in 0..=V::LANES {
            let mask = V::first(live);
            let v = V::load_masked(mask, source.as_ptr());
            let mut out = vec![-1.0f32; V::LANES];
            V::store(out.as_mut_ptr(), v);
            for (i, &x) in out.iter().enumerate() {
                assert_eq!(
                    x,
                    if i < live { source[i] } else { 0.0 },
                    "load, live {live}"
                );
            }
            let mut kept = vec![-7.0f32; V::LANES];
            V::store_masked(kept.as_mut_ptr(), mask, V::splat(3.0));
            for (i, &x) in kept.iter().enumerate() {
                assert_eq!(x, if i < live { 3.0 } else { -7.0 }, "store, live {live}");
            }
        }
        let x = V::load(source.as_ptr());
        let y = V::max(V::mul_add(x, V::splat(2.0), V::splat(-5.0)), V::zero());
        let mut out = vec![0.0f32; V::LANES];
        V::store(out.as_mut_ptr(), V::mul(y, V::splat(0.5)));
        for (i, &v) in out.iter().enumerate() {
            assert_eq!(v, ((i + 1) as f32 * 2.0 - 5.0).max(0.0) * 0.5);
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn check_avx512() {
        check::<Avx512>()
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn check_avx2() {
        check::<Avx2>()
    }

    #[test]
    fn lanes_masks_and_arithmetic() {
        for isa in isas_here() {
            // SAFETY: the CPU has the instruction set (isas_here).
            unsafe {
                match isa {
                    Isa::Avx512 => check_avx512(),
                    Isa::Avx2 => check_avx2(),
                }
            }
        }
    }
}
