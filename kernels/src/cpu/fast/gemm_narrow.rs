//! Narrow GEMM: `C = A·B + β·C` when `C` has at most 16 columns, with AVX-512 or AVX2.
//!
//! # Why a second GEMM
//!
//! The first convolution of each course CNN has few filters (F = 12 or 16) and a short patch
//! (K = KH·KW·C = 9 or 27). Its forward tile `Y = cols · W` is `(rows, 9)·(9, 12)`, and its weight
//! gradient `dW = colsᵀ · dY` is `(9, rows)·(rows, 12)`. `matrixmultiply` packs both operands into
//! panels and runs a micro-kernel 16 or 32 columns wide, so on these shapes most of its time went
//! to packing and to masked edge tiles.
//!
//! # How
//!
//! One AVX-512 register (two AVX2 ones) holds a whole row of `C` (its `N ≤ 16` lanes masked), so
//! nothing is packed: for a block of 8 rows of `C` (6 with two AVX2 registers a row),
//!
//! ```text
//! acc[r] = β·C[i + r, :]
//! for p in 0..K:  acc[r] += A[i + r, p] · B[p, :]      (r = 0..8, one broadcast and one FMA each)
//! ```
//!
//! with the accumulators in registers and `B[p, :]` loaded once per `p` for all 8 rows. Each
//! element of `C` is a sum over `p` in order, whatever the thread count.
//!
//! # What it bought (one call on one thread, this project's machine)
//!
//! | product (one tile) | matrixmultiply | narrow |
//! |---|---|---|
//! | `(676, 9)·(9, 12)`, forward tile of the Fashion-MNIST CNN's first conv | 6.3 µs | 2.6 µs |
//! | `(9, 676)·(676, 12)`, its `colsᵀ · dY` | 6.8 µs | 2.6 µs |
//! | `(1024, 27)·(27, 12)`, the Galaxy10 CNN's first conv | 16.0 µs | 8.7 µs |
//! | `(32, 128)·(128, 10)`, a Dense head | 2.2 µs | 1.0 µs |
//!
//! On the Fashion-MNIST CNN (`bench_epochs --workload s2_cnn`, 2 threads, medians) the epoch went
//! from 2.87 s to 2.64 s.
use super::simd::{Avx2, Avx512, Vector};
use super::Isa;
use crate::cpu::matrix::MatRef;

/// The widest `C` this kernel takes: the lanes of one AVX-512 register, or of two AVX2 ones.
pub(crate) const MAX_COLS: usize = 16;

/// Whether [`gemm_narrow`] takes this product: `B` row-major and contiguous with at most
/// [`MAX_COLS`] columns.
pub(crate) fn handles(b: &MatRef) -> bool {
    (1..=MAX_COLS).contains(&b.cols) && b.col_stride == 1 && b.row_stride == b.cols as isize
}

/// `C (m×n at c, row-major contiguous) = a·b + beta·C`, for `b: k×n` accepted by [`handles`],
/// with the kernel of `isa`. With `beta == 0`, `C` is not read.
///
/// # Safety
/// The CPU supports `isa`; `c` points to `m·n` writable elements that nothing else touches during
/// the call, initialised unless `beta == 0`.
///
/// # Panics
/// If [`handles`] rejects `b`, or if a view reaches outside its slice (bugs in the caller).
pub(crate) unsafe fn gemm_narrow(isa: Isa, a: MatRef, b: MatRef, beta: f32, c: *mut f32) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(
        handles(&b),
        "gemm_narrow: b must be row-major with ≤ 16 columns"
    );
    assert_eq!(
        b.rows, k,
        "gemm_narrow: a is {m}×{k} but b has {} rows",
        b.rows
    );
    assert!(
        b.data.len() >= k * n,
        "gemm_narrow: b reaches outside its slice"
    );
    let (rs, cs) = (a.row_stride, a.col_stride);
    assert!(rs >= 0 && cs >= 0, "gemm_narrow: negative strides");
    if m == 0 || k == 0 {
        // An empty product: c = beta·c, and beta = 0 must not read c.
        for i in 0..m * n {
            let v = c.add(i);
            v.write(if beta == 0.0 { 0.0 } else { *v * beta });
        }
        return;
    }
    let last = (m - 1) * rs as usize + (k - 1) * cs as usize;
    assert!(
        last < a.data.len(),
        "gemm_narrow: a reaches outside its slice"
    );
    // SAFETY: the CPU has `isa` (the caller's contract); every element read from a (index at
    // most `last`) and b (at most k·n) lies inside its slice (checked above), c holds m·n
    // elements (the caller's contract), and the masked loads and stores touch only the first
    // n ≤ 16 lanes of each row.
    unsafe {
        match isa {
            Isa::Avx512 => narrow_avx512(a, b.data, n, beta, c),
            Isa::Avx2 => narrow_avx2(a, b.data, n, beta, c),
        }
    }
}

/// The kernel with AVX-512: a row of `C` in one register, 8 rows at a time.
///
/// # Safety
/// AVX-512F is available, and the bounds that [`gemm_narrow`] checks hold.
#[target_feature(enable = "avx512f")]
unsafe fn narrow_avx512(a: MatRef, b: &[f32], n: usize, beta: f32, c: *mut f32) {
    narrow_kernel::<Avx512, 8, 1>(a, b, n, beta, c)
}

/// The kernel with AVX2: a row of `C` in one register (8 rows at a time) when it has at most 8
/// columns, else in two (6 rows at a time: 12 accumulators, 2 rows of `B` and a broadcast fill
/// 15 of the 16 registers).
///
/// # Safety
/// AVX2 and FMA are available, and the bounds that [`gemm_narrow`] checks hold.
#[target_feature(enable = "avx2,fma")]
unsafe fn narrow_avx2(a: MatRef, b: &[f32], n: usize, beta: f32, c: *mut f32) {
    if n <= Avx2::LANES {
        narrow_kernel::<Avx2, 8, 1>(a, b, n, beta, c)
    } else {
        narrow_kernel::<Avx2, 6, 2>(a, b, n, beta, c)
    }
}

/// The loop of [`gemm_narrow`]: `ROWS` rows of `C` at a time, each in `H` registers.
///
/// # Safety
/// The CPU has `V`'s instruction set, `n ≤ H·LANES`, and the bounds that [`gemm_narrow`]
/// checks hold.
#[inline(always)]
unsafe fn narrow_kernel<V: Vector, const ROWS: usize, const H: usize>(
    a: MatRef,
    b: &[f32],
    n: usize,
    beta: f32,
    cp: *mut f32,
) {
    let (m, k) = (a.rows, a.cols);
    let (rs, cs) = (a.row_stride as usize, a.col_stride as usize);
    // masks[h]: the live lanes of register h of a row
    let masks: [V::Mask; H] = std::array::from_fn(|h| V::first(n.saturating_sub(h * V::LANES)));
    let (ap, bp) = (a.data.as_ptr(), b.as_ptr());
    let mut i = 0;
    while i < m {
        let rows = (m - i).min(ROWS);
        // acc[r]: row i + r of C, its n lanes live
        let mut acc = [[V::zero(); H]; ROWS];
        // The loops over rows run over all ROWS with a test rather than stopping at `rows`:
        // cut short, they made the compiler keep `acc` in memory (see `conv_direct.rs`).
        if beta != 0.0 {
            for (r, acc) in acc.iter_mut().enumerate() {
                if r >= rows {
                    continue;
                }
                let row = cp.add((i + r) * n);
                for (h, acc) in acc.iter_mut().enumerate() {
                    let old = V::load_masked(masks[h], row.wrapping_add(h * V::LANES));
                    *acc = V::mul(V::splat(beta), old);
                }
            }
        }
        if rows == ROWS {
            for p in 0..k {
                let b_row = row_of_b::<V, H>(bp.add(p * n), &masks);
                let a_col = ap.add(i * rs + p * cs);
                for (r, acc) in acc.iter_mut().enumerate() {
                    let x = V::splat(*a_col.add(r * rs));
                    for (acc, b) in acc.iter_mut().zip(&b_row) {
                        *acc = V::mul_add(x, *b, *acc);
                    }
                }
            }
        } else {
            // The last, partial block of rows.
            for p in 0..k {
                let b_row = row_of_b::<V, H>(bp.add(p * n), &masks);
                let a_col = ap.add(i * rs + p * cs);
                for (r, acc) in acc.iter_mut().enumerate().take(rows) {
                    let x = V::splat(*a_col.add(r * rs));
                    for (acc, b) in acc.iter_mut().zip(&b_row) {
                        *acc = V::mul_add(x, *b, *acc);
                    }
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            if r >= rows {
                continue;
            }
            let row = cp.add((i + r) * n);
            for (h, acc) in acc.iter().enumerate() {
                V::store_masked(row.wrapping_add(h * V::LANES), masks[h], *acc);
            }
        }
        i += rows;
    }
}

/// One row of `B` (at `p`) in `H` registers, the lanes past `n` zero.
#[inline(always)]
unsafe fn row_of_b<V: Vector, const H: usize>(p: *const f32, masks: &[V::Mask; H]) -> [V::Reg; H] {
    std::array::from_fn(|h| V::load_masked(masks[h], p.wrapping_add(h * V::LANES)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::fast::Isa;
    use crate::cpu::naive::gemm_naive;
    use crate::cpu::testing::{assert_close, random_vec};
    use proptest::prelude::*;

    /// One narrow product: `c (m×n) = op(a)·b + beta·c`, `op` = transpose when flagged (the
    /// weight gradient's `colsᵀ`).
    #[derive(Debug, Clone, Copy)]
    struct NarrowCase {
        m: usize,
        k: usize,
        n: usize,
        transpose_a: bool,
        beta: f32,
    }

    /// The instruction sets this CPU can run the kernel with; where there is none, each test
    /// says so and stops (the portable GEMM's own tests cover the products it then computes).
    fn isas(test: &str) -> Vec<Isa> {
        let here = crate::cpu::fast::isas_here();
        if here.is_empty() {
            eprintln!("{test}: neither AVX-512 nor AVX2 on this CPU, gemm_narrow not tested");
        }
        here
    }

    /// Checks the narrow kernel of `isa` against the naive loop on `case`.
    fn check(isa: Isa, case: NarrowCase) {
        let NarrowCase {
            m,
            k,
            n,
            transpose_a,
            beta,
        } = case;
        let a_data = random_vec(m * k, 1);
        let b_data = random_vec(k * n, 2);
        let a = if transpose_a {
            MatRef::row_major(&a_data, k, m).t()
        } else {
            MatRef::row_major(&a_data, m, k)
        };
        let b = MatRef::row_major(&b_data, k, n);
        let c0 = random_vec(m * n, 3);
        let mut expected = c0.clone();
        gemm_naive(a, b, beta, &mut expected);
        // With beta = 0 the old c must not be read: NaN there must not leak into the result.
        let mut c = if beta == 0.0 {
            vec![f32::NAN; m * n]
        } else {
            c0
        };
        assert!(
            handles(&b),
            "{case:?}: gemm_narrow declined a narrow product"
        );
        // SAFETY: the CPU has isa; c holds m·n elements.
        unsafe { gemm_narrow(isa, a, b, beta, c.as_mut_ptr()) };
        assert_close(&c, &expected, 1e-4, &format!("{isa:?} {case:?}"));
    }

    #[test]
    fn matches_the_naive_loop_on_the_course_shapes() {
        let cases = [
            // Fashion-MNIST CNN, 3×3×1 → 12: a forward tile, and the weight gradient's colsᵀ·dY.
            NarrowCase {
                m: 676,
                k: 9,
                n: 12,
                transpose_a: false,
                beta: 1.0,
            },
            NarrowCase {
                m: 9,
                k: 676,
                n: 12,
                transpose_a: true,
                beta: 1.0,
            },
            // Galaxy10 and cats-vs-dogs first convolutions, 3×3×3 → 12 and → 16.
            NarrowCase {
                m: 101,
                k: 27,
                n: 12,
                transpose_a: false,
                beta: 0.0,
            },
            NarrowCase {
                m: 27,
                k: 300,
                n: 16,
                transpose_a: true,
                beta: 1.0,
            },
            // A Dense head, (32, 128)·(128, 10), and the edge cases n = 1, m < 8, k = 1.
            NarrowCase {
                m: 32,
                k: 128,
                n: 10,
                transpose_a: false,
                beta: 0.0,
            },
            NarrowCase {
                m: 5,
                k: 7,
                n: 1,
                transpose_a: false,
                beta: 0.5,
            },
            NarrowCase {
                m: 3,
                k: 1,
                n: 16,
                transpose_a: true,
                beta: 0.0,
            },
        ];
        for isa in isas("matches_the_naive_loop_on_the_course_shapes") {
            for case in cases {
                check(isa, case);
            }
        }
    }

    #[test]
    fn an_empty_sum_scales_c() {
        let b = MatRef::row_major(&[], 0, 4);
        let a = MatRef::row_major(&[], 2, 0);
        for isa in isas("an_empty_sum_scales_c") {
            let product = |beta: f32, c: &mut [f32]| {
                // SAFETY: the CPU has isa; c holds the 2×4 elements of C.
                unsafe { gemm_narrow(isa, a, b, beta, c.as_mut_ptr()) };
            };
            let mut c = vec![2.0; 8];
            product(0.5, &mut c);
            assert_eq!(c, vec![1.0; 8]);
            let mut c = vec![f32::NAN; 8];
            product(0.0, &mut c);
            assert_eq!(c, vec![0.0; 8]);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn matches_the_naive_loop_on_random_shapes(
            m in 1usize..40,
            k in 1usize..40,
            n in 1usize..=MAX_COLS,
            transpose_a in any::<bool>(),
            beta in prop::sample::select(vec![0.0f32, 1.0, -0.5]),
        ) {
            for isa in crate::cpu::fast::isas_here() {
                check(isa, NarrowCase { m, k, n, transpose_a, beta });
            }
        }
    }
}
