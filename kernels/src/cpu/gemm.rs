//! GEMM: general matrix multiplication, `C = A·B + β·C`.
//!
//! # Math
//!
//! For `A: (m, k)` and `B: (k, n)`, `C[i, j] = Σ_p A[i, p]·B[p, j] + β·C[i, j]`.
//! With `β = 0` the old `C` is not read at all (it may hold garbage, even NaN): `C` is
//! overwritten, as every kernel's output is. With `β = 1` the product is added to `C`, when the
//! caller asks for it: the textbook convolution starts its output rows from the bias and adds
//! `cols · W`, and sums `dW` over images. `β` is always the caller's explicit argument.
//!
//! # Layout
//!
//! `A` and `B` are [`MatRef`] views: a slice plus row and column strides, so that a transpose is
//! free ([`MatRef::t`] swaps the strides). `C` is always row-major and contiguous.
//!
//! # Speed
//!
//! The inner work is `matrixmultiply::sgemm`, a packed micro-kernel GEMM that picks AVX-512, AVX2+FMA
//! or SSE at run time, on any CPU: this file is the portable GEMM. [`gemm`] adds parallelism: it
//! cuts `C` into row blocks (or, when `C` has too few rows, column blocks) whose size depends only
//! on `(m, k, n)` — never on the number of threads — and multiplies the blocks in parallel, so the
//! result is bit-identical whatever the size of the rayon pool (the block sizes are in
//! `cpu/matrix.rs`). [`gemm_serial`] is the same product on the calling thread, for loops that are
//! already parallel (the convolution tiles).
//!
//! # Fast paths
//!
//! Two shapes leave `matrixmultiply` on CPUs with AVX-512 or AVX2, through the one hook in `gemm_ptr`
//! (`fast::gemm::multiply`): a `C` at most 16 columns wide (`fast/gemm_narrow.rs`: the first
//! convolutions, the 10-class heads) and a `C` with at most 32 rows (`fast/gemm_short.rs`: a Dense
//! layer on one batch, which would otherwise pack its whole kernel). `ASTROGRAD_KERNELS=portable`
//! turns them off.
use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::fast;
pub use super::matrix::MatRef;
use super::matrix::{cols_per_block, rows_per_block, SharedC};

/// `c (m×n, row-major contiguous) = a·b + beta·c`, with `a: m×k`, `b: k×n`.
///
/// Parallel (rayon) over fixed row blocks of `c` when the product is large enough to pay, or over
/// column blocks when `c` has too few rows; each block runs `matrixmultiply::sgemm`, or a fast
/// path for its shape (see the module doc). With `beta == 0`, `c` is not read.
///
/// # Panics
/// If a view reaches outside its slice (a bug in the caller). Shapes are only `debug_assert!`ed.
///
/// ```
/// use astrograd_kernels::cpu::gemm::{gemm, MatRef};
/// let a = MatRef::row_major(&[1.0, 2.0, 3.0, 4.0], 2, 2);
/// let b = MatRef::row_major(&[1.0, 0.0, 0.0, 1.0], 2, 2);
/// let mut c = vec![10.0; 4];
/// gemm(a, b, 1.0, &mut c); // c = a·I + c
/// assert_eq!(c, [11.0, 12.0, 13.0, 14.0]);
/// ```
pub fn gemm(a: MatRef, b: MatRef, beta: f32, c: &mut [f32]) {
    assert!(c.len() >= a.rows * b.cols, "gemm: c is too short");
    // SAFETY: c holds m·n initialised, writable elements, borrowed exclusively.
    unsafe { gemm_ptr(a, b, beta, c.as_mut_ptr(), true) }
}

/// `c = a·b` into memory that need not be initialised (a fresh output, so that nothing has to
/// zero it first): every element of `c[..m·n]` is written. Parallel, as [`gemm`].
///
/// ```
/// use std::mem::MaybeUninit;
/// use astrograd_kernels::cpu::gemm::{gemm_uninit, MatRef};
/// let a = MatRef::row_major(&[1.0, 2.0, 3.0, 4.0], 2, 2);
/// let mut c: Vec<f32> = Vec::with_capacity(4);
/// gemm_uninit(a, a, &mut c.spare_capacity_mut()[..4]);
/// unsafe { c.set_len(4) }; // all four were written
/// assert_eq!(c, [7.0, 10.0, 15.0, 22.0]);
/// ```
pub fn gemm_uninit(a: MatRef, b: MatRef, c: &mut [MaybeUninit<f32>]) {
    assert!(c.len() >= a.rows * b.cols, "gemm: c is too short");
    // SAFETY: c holds m·n writable elements, borrowed exclusively; with β = 0 none is read.
    unsafe { gemm_ptr(a, b, 0.0, c.as_mut_ptr().cast(), true) }
}

/// Same as [`gemm`], on the calling thread: used inside loops that are already parallel.
pub fn gemm_serial(a: MatRef, b: MatRef, beta: f32, c: &mut [f32]) {
    debug_assert_eq!(c.len(), a.rows * b.cols, "gemm: c must hold m×n elements");
    assert!(c.len() >= a.rows * b.cols, "gemm: c is too short");
    // SAFETY: as in `gemm`.
    unsafe { gemm_ptr(a, b, beta, c.as_mut_ptr(), false) }
}

/// The product behind [`gemm`], [`gemm_uninit`] and [`gemm_serial`]: `C (m×n at c, row-major
/// contiguous) = a·b + beta·C`, on rayon's pool when `parallel` is set.
///
/// # Safety
/// `c` points to `m·n` writable elements that nothing else touches during the call; they must
/// be initialised unless `beta == 0` (then none is read).
///
/// # Panics
/// If a view reaches outside its slice (a bug in the caller). Shapes are only `debug_assert!`ed.
unsafe fn gemm_ptr(a: MatRef, b: MatRef, beta: f32, c: *mut f32, parallel: bool) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    debug_assert_eq!(b.rows, k, "gemm: a is {m}×{k} but b has {} rows", b.rows);
    assert!(
        a.is_in_bounds() && b.is_in_bounds(),
        "gemm: a view reaches outside its slice"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // An empty sum: c = beta·c (and beta = 0 must not read c).
        for i in 0..m * n {
            let v = c.add(i);
            v.write(if beta == 0.0 { 0.0 } else { *v * beta });
        }
        return;
    }
    // Fast path: with AVX-512 or AVX2, a C of at most 32 rows (a Dense layer's batch) is
    // multiplied reading B in place, and a C of at most 16 columns (a first convolution, a
    // 10-class head) with a row in one or two registers, neither packing its operands
    // (`fast/gemm.rs`).
    if let Some(isa) = fast::isa() {
        if fast::gemm::multiply(isa, a, b, beta, c, parallel) {
            return;
        }
    }
    let shared = SharedC(c);
    let block = rows_per_block(m, k, n);
    if parallel && block < m {
        (0..m.div_ceil(block)).into_par_iter().for_each(|i| {
            let rows = block.min(m - i * block);
            // SAFETY: row block i is rows i·block .. i·block + rows of C, inside its m·n
            // elements and disjoint from the other blocks.
            unsafe {
                gemm_ptr(
                    a.row_block(i * block, rows),
                    b,
                    beta,
                    shared.at(i * block * n),
                    false,
                )
            };
        });
        return;
    }
    // Few rows but many columns — a Dense layer's forward pass, (32, K)·(K, units) — split the
    // columns instead (where the fast path above does not take them: a CPU without AVX2, or a
    // B with no unit stride). Before, such products ran on one thread; this bought 8 % of the
    // Fashion-MNIST MLP's epoch time (1.47 s → 1.36 s). The Galaxy10 CNN's (32, 13068)·(13068, 500)
    // did not gain: it is bound by reading its 26 MB kernel, which two threads share.
    let cols = cols_per_block(m, k, n);
    if parallel && cols < n {
        (0..n.div_ceil(cols)).into_par_iter().for_each(|j| {
            let first = j * cols;
            let b_block = b.col_block(first, cols.min(n - first));
            // SAFETY: the views are in bounds (checked above); this block writes rows 0..m of
            // columns first..first + width of C, inside its m·n elements and disjoint from the
            // other blocks' columns.
            unsafe { sgemm_raw(a, b_block, beta, shared.at(first), n) };
        });
        return;
    }
    // SAFETY: every element of a and b lies in its slice (checked above, strides ≥ 0), and c holds
    // m·n elements addressed row-major with strides (n, 1).
    sgemm_raw(a, b, beta, c, n);
}

/// `matrixmultiply::sgemm` into `C` at `c` with rows `c_row_stride` apart.
///
/// # Safety
/// `a` and `b` are in bounds, and `c` points to `a.rows` rows of `b.cols` writable elements,
/// `c_row_stride` apart, that nothing else touches during the call.
unsafe fn sgemm_raw(a: MatRef, b: MatRef, beta: f32, c: *mut f32, c_row_stride: usize) {
    matrixmultiply::sgemm(
        a.rows,
        a.cols,
        b.cols,
        1.0,
        a.data.as_ptr(),
        a.row_stride,
        a.col_stride,
        b.data.as_ptr(),
        b.row_stride,
        b.col_stride,
        beta,
        c,
        c_row_stride as isize,
        1,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::naive::gemm_naive;
    use crate::cpu::testing::{assert_close, random_vec, with_threads};
    use proptest::prelude::*;

    /// One GEMM test case: `c (m×n) = op(a)·op(b) + beta·c`, `op` = transpose when flagged.
    #[derive(Debug, Clone, Copy)]
    struct GemmCase {
        m: usize,
        k: usize,
        n: usize,
        transpose_a: bool,
        transpose_b: bool,
        beta: f32,
    }

    /// Runs `case` through `multiply` and through the naive reference; returns both results.
    fn run(case: GemmCase, multiply: fn(MatRef, MatRef, f32, &mut [f32])) -> (Vec<f32>, Vec<f32>) {
        let GemmCase {
            m,
            k,
            n,
            transpose_a,
            transpose_b,
            beta,
        } = case;
        let a_data = random_vec(m * k, 1);
        let b_data = random_vec(k * n, 2);
        let a = if transpose_a {
            MatRef::row_major(&a_data, k, m).t()
        } else {
            MatRef::row_major(&a_data, m, k)
        };
        let b = if transpose_b {
            MatRef::row_major(&b_data, n, k).t()
        } else {
            MatRef::row_major(&b_data, k, n)
        };
        let c0 = random_vec(m * n, 3);
        let mut fast = if beta == 0.0 {
            vec![f32::NAN; m * n]
        } else {
            c0.clone()
        };
        let mut slow = c0;
        multiply(a, b, beta, &mut fast);
        gemm_naive(a, b, beta, &mut slow);
        (fast, slow)
    }

    #[rustfmt::skip]
    const CASES: [GemmCase; 6] = [
        GemmCase { m: 1, k: 1, n: 1, transpose_a: false, transpose_b: false, beta: 0.0 },
        GemmCase { m: 7, k: 5, n: 3, transpose_a: true, transpose_b: false, beta: 1.0 },
        GemmCase { m: 33, k: 17, n: 9, transpose_a: false, transpose_b: true, beta: 0.5 },
        GemmCase { m: 300, k: 64, n: 70, transpose_a: true, transpose_b: true, beta: 0.0 },
        GemmCase { m: 513, k: 300, n: 40, transpose_a: false, transpose_b: false, beta: 1.0 },
        GemmCase { m: 4, k: 0, n: 3, transpose_a: false, transpose_b: false, beta: 2.0 },
    ];

    #[test]
    fn gemm_and_gemm_serial_match_naive() {
        for case in CASES {
            let (fast, slow) = run(case, gemm);
            assert_close(&fast, &slow, 1e-5, &format!("gemm {case:?}"));
            let (fast, slow) = run(case, gemm_serial);
            assert_close(&fast, &slow, 1e-5, &format!("gemm_serial {case:?}"));
        }
    }

    /// `gemm_uninit` into fresh memory equals `gemm` with β = 0, on the serial, row-parallel,
    /// column-parallel, short and empty-sum paths.
    #[test]
    fn gemm_uninit_writes_every_element() {
        for (m, k, n) in [
            (1, 1, 1),
            (300, 64, 70),
            (4, 0, 3),
            (32, 784, 300),
            (700, 200, 150),
        ] {
            let (a_data, b_data) = (random_vec(m * k, 1), random_vec(k * n, 2));
            let (a, b) = (
                MatRef::row_major(&a_data, m, k),
                MatRef::row_major(&b_data, k, n),
            );
            let mut expected = vec![f32::NAN; m * n];
            gemm(a, b, 0.0, &mut expected);
            let mut c: Vec<f32> = Vec::with_capacity(m * n);
            gemm_uninit(a, b, &mut c.spare_capacity_mut()[..m * n]);
            // SAFETY: gemm_uninit wrote all m·n elements.
            unsafe { c.set_len(m * n) };
            assert_eq!(c, expected, "{m}×{k}×{n}");
        }
    }

    #[test]
    fn beta_zero_ignores_nan_in_c() {
        let case = GemmCase {
            m: 40,
            k: 8,
            n: 24,
            transpose_a: false,
            transpose_b: false,
            beta: 0.0,
        };
        let (fast, _) = run(case, gemm);
        assert!(fast.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn large_gemm_is_parallel_and_independent_of_thread_count() {
        let case = GemmCase {
            m: 700,
            k: 200,
            n: 150,
            transpose_a: false,
            transpose_b: true,
            beta: 1.0,
        };
        assert!(
            rows_per_block(700, 200, 150) < 700,
            "this case must take the parallel path"
        );
        let one = with_threads(1, || run(case, gemm).0);
        let three = with_threads(3, || run(case, gemm).0);
        assert_eq!(one, three);
        let (fast, slow) = run(case, gemm);
        assert_close(&fast, &slow, 1e-5, "parallel gemm");
    }

    /// A Dense forward pass, (32, 784)·(784, 300): too few rows to split, so the columns are
    /// (on a CPU with AVX-512 or AVX2, `gemm_short` takes this product; its own tests cover it).
    #[test]
    fn wide_gemm_splits_columns_and_is_independent_of_thread_count() {
        for beta in [0.0, 1.0] {
            let case = GemmCase {
                m: 32,
                k: 784,
                n: 300,
                transpose_a: false,
                transpose_b: beta == 1.0,
                beta,
            };
            assert!(rows_per_block(32, 784, 300) >= 32 && cols_per_block(32, 784, 300) < 300);
            let one = with_threads(1, || run(case, gemm).0);
            let three = with_threads(3, || run(case, gemm).0);
            assert_eq!(one, three);
            let (fast, slow) = run(case, gemm);
            assert_close(&fast, &slow, 1e-5, "column-parallel gemm");
        }
    }

    /// The column split through `matrixmultiply`, which `gemm_short` leaves to B views with no
    /// unit stride (every other (32, K)·(K, N) product is its own on an AVX-512 or AVX2 CPU).
    #[test]
    fn column_split_of_a_strided_b_is_independent_of_thread_count() {
        let (m, k, n) = (32, 2000, 200);
        let a_data = random_vec(m * k, 1);
        let b_data = random_vec(2 * k * n, 2);
        let a = MatRef::row_major(&a_data, m, k);
        // B: every other number of a (k, 2n) matrix.
        let b = MatRef {
            data: &b_data,
            rows: k,
            cols: n,
            row_stride: 2 * n as isize,
            col_stride: 2,
        };
        assert!(
            cols_per_block(m, k, n) < n,
            "this case must take the column split"
        );
        let run = || {
            let mut c = vec![f32::NAN; m * n];
            gemm(a, b, 0.0, &mut c);
            c
        };
        let (one, three) = (with_threads(1, run), with_threads(3, run));
        assert_eq!(one, three);
        let mut expected = vec![0.0; m * n];
        gemm_naive(a, b, 0.0, &mut expected);
        assert_close(&one, &expected, 1e-5, "strided column split");
    }

    #[test]
    fn row_blocks_are_multiples_of_16() {
        for (m, k, n) in [(1024, 1024, 1024), (100, 3, 3), (5000, 27, 16)] {
            assert_eq!(rows_per_block(m, k, n) % 16, 0);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn gemm_matches_naive_on_random_shapes(
            m in 1usize..70, k in 0usize..40, n in 1usize..40,
            transpose_a: bool, transpose_b: bool, beta in prop::sample::select(vec![0.0f32, 1.0, -0.5]),
        ) {
            let case = GemmCase { m, k, n, transpose_a, transpose_b, beta };
            let (fast, slow) = run(case, gemm);
            assert_close(&fast, &slow, 1e-5, &format!("{case:?}"));
        }
    }
}
