//! GEMM: general matrix multiplication, `C = A·B + β·C`.
//!
//! # Math
//!
//! For `A: (m, k)` and `B: (k, n)`, `C[i, j] = Σ_p A[i, p]·B[p, j] + β·C[i, j]`.
//! With `β = 0` the old `C` is not read at all (it may hold garbage, even NaN); with `β = 1` the
//! product is accumulated into `C`, which is what backward passes want (`dW += colsᵀ·dY`).
//!
//! # Layout
//!
//! `A` and `B` are [`MatRef`] views: a slice plus row and column strides, so that a transpose is
//! free ([`MatRef::t`] swaps the strides). `C` is always row-major and contiguous.
//!
//! # Speed
//!
//! The inner work is `matrixmultiply::sgemm`, a packed micro-kernel GEMM that picks AVX-512, AVX2+FMA
//! or SSE at run time. [`gemm`] adds parallelism: it cuts `C` into row blocks (or, when `C` has too
//! few rows, column blocks) whose size depends only on `(m, k, n)` — never on the number of threads —
//! and multiplies the blocks in parallel, so the result is bit-identical whatever the size of the
//! rayon pool. [`gemm_serial`] is the same product
//! on the calling thread, for loops that are already parallel (the convolution tiles).
//!
//! Two shapes skip `matrixmultiply` on CPUs with AVX-512: a `C` at most 16 columns wide
//! (`gemm_narrow.rs`: the first convolutions, the 10-class heads) and a `C` with at most 32 rows
//! (`gemm_short.rs`: a Dense layer on one batch, which would otherwise pack its whole kernel).
use std::mem::MaybeUninit;

use rayon::prelude::*;

/// A read-only view of an `f32` matrix: element `(i, j)` is `data[i·row_stride + j·col_stride]`.
///
/// Strides must be non-negative, and every element of the `rows × cols` view must lie inside
/// `data` (checked by the GEMM functions before they touch memory).
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    /// The storage; element `(0, 0)` is `data[0]`.
    pub data: &'a [f32],
    /// Number of rows of the view.
    pub rows: usize,
    /// Number of columns of the view.
    pub cols: usize,
    /// Distance in `data` between `(i, j)` and `(i + 1, j)`.
    pub row_stride: isize,
    /// Distance in `data` between `(i, j)` and `(i, j + 1)`.
    pub col_stride: isize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows × cols` matrix stored contiguously in `data`.
    ///
    /// ```
    /// use astrograd_kernels::cpu::gemm::MatRef;
    /// let a = MatRef::row_major(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
    /// assert_eq!((a.rows, a.cols, a.row_stride, a.col_stride), (2, 3, 3, 1));
    /// ```
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        MatRef {
            data,
            rows,
            cols,
            row_stride: cols as isize,
            col_stride: 1,
        }
    }

    /// The transpose, without copying: rows and columns (and their strides) swap roles.
    ///
    /// ```
    /// use astrograd_kernels::cpu::gemm::MatRef;
    /// let at = MatRef::row_major(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3).t();
    /// assert_eq!((at.rows, at.cols), (3, 2));
    /// assert_eq!(at.get(2, 1), 6.0); // A[1, 2]
    /// ```
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Element `(i, j)` (bounds-checked by the slice).
    pub fn get(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.row_stride as usize + j * self.col_stride as usize]
    }

    /// Rows `first .. first + rows` of the view.
    fn row_block(self, first: usize, rows: usize) -> Self {
        let offset = first * self.row_stride as usize;
        MatRef {
            data: &self.data[offset..],
            rows,
            ..self
        }
    }

    /// Columns `first .. first + cols` of the view.
    fn col_block(self, first: usize, cols: usize) -> Self {
        let offset = first * self.col_stride as usize;
        MatRef {
            data: &self.data[offset..],
            cols,
            ..self
        }
    }

    /// True when every element of the view lies inside `data`: what makes the raw-pointer call
    /// to `matrixmultiply` sound.
    pub(crate) fn is_in_bounds(&self) -> bool {
        if self.row_stride < 0 || self.col_stride < 0 {
            return false;
        }
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        let last =
            (self.rows - 1) * self.row_stride as usize + (self.cols - 1) * self.col_stride as usize;
        last < self.data.len()
    }
}

/// Below this many multiply-adds (~30 µs of work) per row block, a block costs more than it saves.
pub(crate) const MIN_MULADDS_PER_BLOCK: usize = 1 << 22;

/// Number of row blocks [`gemm`] aims for. Every block packs all of `B` again, so blocks are not
/// free: at 1024³ on one core, 8 blocks lost 15% of serial throughput and 4 blocks lose 5%.
/// Four blocks still balance 2 or 4 threads exactly.
pub(crate) const TARGET_BLOCKS: usize = 4;

/// Rows of `C` per parallel block for an `(m, k, n)` product: a multiple of 16 (the height of
/// matrixmultiply's widest micro-kernel, so no block ends in a ragged micro-tile except the last),
/// about `m / 4`, and never so small that the block's work does not pay for its task.
/// It depends on the shape only, which is what makes [`gemm`] independent of the thread count.
fn rows_per_block(m: usize, k: usize, n: usize) -> usize {
    let round_up_16 = |r: usize| r.div_ceil(16) * 16;
    let balanced = round_up_16(m.div_ceil(TARGET_BLOCKS));
    let worth_a_task = round_up_16(MIN_MULADDS_PER_BLOCK.div_ceil((k * n).max(1)));
    balanced.max(worth_a_task).max(16)
}

/// Columns of `C` per parallel block when `C` has too few rows to split (a Dense layer's batch of
/// 32 rows): a multiple of 16, about `n / 4`, and never so few that the block's work does not
/// pay for its task. Like [`rows_per_block`], it depends on the shape only.
fn cols_per_block(m: usize, k: usize, n: usize) -> usize {
    let round_up_16 = |c: usize| c.div_ceil(16) * 16;
    let balanced = round_up_16(n.div_ceil(TARGET_BLOCKS));
    let worth_a_task = round_up_16(MIN_MULADDS_PER_BLOCK.div_ceil((m * k).max(1)));
    balanced.max(worth_a_task).max(16)
}

/// A pointer to `C` that the parallel blocks of one product share: each writes only its own
/// rows or columns (here and in `gemm_short.rs`).
#[derive(Clone, Copy)]
pub(crate) struct SharedC(pub(crate) *mut f32);

// SAFETY: the blocks of one product write disjoint elements of C.
unsafe impl Send for SharedC {}
unsafe impl Sync for SharedC {}

impl SharedC {
    /// Element `offset` of C (a method, so that closures capture the whole `Send` wrapper).
    pub(crate) fn at(self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

/// `c (m×n, row-major contiguous) = a·b + beta·c`, with `a: m×k`, `b: k×n`.
///
/// Parallel (rayon) over fixed row blocks of `c` when the product is large enough to pay, or over
/// column blocks when `c` has too few rows; each block runs `gemm_short`, `gemm_narrow` or
/// `matrixmultiply::sgemm`, by its shape (see the module doc). With `beta == 0`, `c` is not read.
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
    // A Dense layer's batch — at most 32 rows of C — reads B in place: see `gemm_short.rs`.
    #[cfg(target_arch = "x86_64")]
    if super::gemm_short::layout(&a, &b).is_some() {
        // SAFETY: the caller's contract on c, passed on.
        super::gemm_short::gemm_short(a, b, beta, c, parallel);
        return;
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
    // columns instead (where `gemm_short` above does not take them: a CPU without AVX-512, or a
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
    // A product at most 16 columns wide (the first convolution's 12 or 16 filters, a Dense head)
    // needs no packing: see `gemm_narrow.rs`.
    #[cfg(target_arch = "x86_64")]
    if super::gemm_narrow::handles(&b) {
        // SAFETY: the caller's contract on c, passed on.
        super::gemm_narrow::gemm_narrow(a, b, beta, c);
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
    /// (on a CPU with AVX-512, `gemm_short` takes this product; its own tests cover it).
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
    /// unit stride (every other (32, K)·(K, N) product is its own on an AVX-512 CPU).
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
