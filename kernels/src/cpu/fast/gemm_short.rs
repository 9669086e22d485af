//! Short GEMM: `C = A·B + β·C` when `C` has at most 32 rows — a Dense layer on one batch — with
//! AVX-512.
//!
//! # Why a third GEMM
//!
//! A Dense layer multiplies a batch of 20 or 32 rows by its kernel, which can be large: the
//! cats-vs-dogs CNN's first Dense kernel is 18 496 × 512 (38 MB). `matrixmultiply` packs the
//! whole of `B` into panels on every call, so both the forward pass `X·W` and the input gradient
//! `dY·Wᵀ` copied the kernel before using it, and on that workload packing cost more than the
//! multiply-adds. With so few rows it is the small operand that is worth reorganising: here the
//! kernel is read once, in place.
//!
//! # How
//!
//! **`B` row-major** (the forward pass, `X·W`): a tile of `C` of up to 12 rows × 32 columns lives
//! in 24 registers. For each `p`, two loads fetch `B[p, j..j + 32]`, and each row `r` of the tile
//! takes one broadcast of `A[i + r, p]` and two FMAs:
//!
//! ```text
//! acc[r] = β·C[i + r, j..j + 32]
//! for p in 0..K:  acc[r] += A[i + r, p] · B[p, j..j + 32]
//! ```
//!
//! `K` is walked in chunks of [`K_CHUNK`]; when `C` has more than 12 rows, the chunk of `B` that
//! a column tile reads is first copied into a 16 KiB buffer, which stays in L1 while the next
//! rows of `A` use it (in place, the rows of `B` are a multiple of 4 KiB apart, land in the same
//! few cache sets, and evict each other).
//!
//! **`B = Wᵀ`** with `W` row-major (the input gradient, `dY·Wᵀ`): the product is computed as
//! `Cᵀ = W·Aᵀ`. Its right operand `Aᵀ` is small (`K × m`), so it is copied once into a `K × 32`
//! panel (lane `r` of row `p` holds `A[r, p]`). A tile of 12 rows of `W` then accumulates as
//! above — one broadcast of `W[j + t, p]`, two loads of the panel's row `p` — and is written to
//! `C` transposed: lane `r` of tile row `t` is `C[r, j + t]`.
//!
//! Each element of `C` is a sum over `p` in order. The columns of `C` are split across threads
//! in blocks that depend on the shape only, so the result does not depend on the thread count.
//!
//! # What it bought
//!
//! `cargo bench --bench gemm -- gemm_dense`, 2 threads, this project's 2-core machine, GFLOP/s:
//!
//! | Dense layer (batch, inputs, units) | `X·W` before → now | `dY·Wᵀ` before → now |
//! |---|---|---|
//! | Fashion-MNIST CNN (32, 2028, 128) | 103 → 118–131 | 125 → 132–148 |
//! | Galaxy10 CNN (32, 13 068, 500) | 158 → 192 | 122 → 268 |
//! | cats-vs-dogs CNN (20, 18 496, 512) | 82 → 155 | 68 → 167 |
use std::arch::x86_64::*;

use rayon::prelude::*;

use crate::cpu::matrix::{MatRef, SharedC, MIN_MULADDS_PER_BLOCK, TARGET_BLOCKS};

/// The most rows of `C` this kernel takes: two AVX-512 registers of lanes in the transposed case.
pub(crate) const MAX_ROWS: usize = 32;

/// Lanes of one AVX-512 register.
const LANES: usize = 16;

/// Columns of a forward tile, and lanes of the transposed panel: two registers.
const WIDTH: usize = 2 * LANES;

/// Rows of `K` walked per chunk by the forward kernel: a chunk of one column tile of `B` is
/// `128 × 32` floats (16 KiB), which stays in L1.
const K_CHUNK: usize = 128;

/// Which of the two kernels a product takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `B` is row-major (`col_stride == 1`): the forward kernel.
    RowMajorB,
    /// `B` is the transpose of a row-major `W` (`row_stride == 1`): the transposed kernel.
    TransposedB,
}

/// Which kernel takes `a·b`, or `None` when this file does not: `C` must have 1 to
/// [`MAX_ROWS`] rows and more than 16 columns (narrower products go to `gemm_narrow`), `K ≥ 1`,
/// one of `b`'s strides must be 1, and the CPU must have AVX-512.
pub(crate) fn layout(a: &MatRef, b: &MatRef) -> Option<Layout> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if !(1..=MAX_ROWS).contains(&m) || k == 0 || n <= super::gemm_narrow::MAX_COLS {
        return None;
    }
    if !super::cpu_has_avx512() {
        return None;
    }
    if b.col_stride == 1 {
        Some(Layout::RowMajorB)
    } else if b.row_stride == 1 {
        Some(Layout::TransposedB)
    } else {
        None
    }
}

/// `C (m×n at c, row-major contiguous) = a·b + beta·C` for a product that [`layout`] accepts,
/// on rayon's pool when `parallel` is set (column blocks whose width depends on the shape only).
/// With `beta == 0`, `C` is not read.
///
/// # Safety
/// `c` points to `m·n` writable elements that nothing else touches during the call, initialised
/// unless `beta == 0`.
///
/// # Panics
/// If [`layout`] rejects the product, or a view reaches outside its slice (bugs in the caller).
pub(crate) unsafe fn gemm_short(a: MatRef, b: MatRef, beta: f32, c: *mut f32, parallel: bool) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let layout = layout(&a, &b).expect("gemm_short: a product this kernel does not take");
    assert_eq!(
        b.rows, k,
        "gemm_short: a is {m}×{k} but b has {} rows",
        b.rows
    );
    assert!(
        a.is_in_bounds() && b.is_in_bounds(),
        "gemm_short: a view reaches outside its slice"
    );
    // Column blocks: a multiple of the tile width (32 columns forward, 12 rows of W transposed).
    let unit = match layout {
        Layout::RowMajorB => WIDTH,
        Layout::TransposedB => TILE_ROWS,
    };
    let blocks = (m * k * n / MIN_MULADDS_PER_BLOCK).clamp(1, TARGET_BLOCKS);
    let block = n.div_ceil(blocks).div_ceil(unit) * unit;
    let blocks = if parallel { n.div_ceil(block) } else { 1 };
    let block = if parallel { block } else { n };
    let panel = match layout {
        Layout::RowMajorB => Vec::new(),
        Layout::TransposedB => transposed_panel(a),
    };
    let shared = SharedC(c);
    let run = |j: usize| {
        let first = j * block;
        let width = block.min(n - first);
        // SAFETY: AVX-512 is present (checked by `layout`); the views are in bounds (checked
        // above), and this block reads columns first..first + width of b and writes the same
        // columns of C's m·n elements (the caller's contract), disjoint from the other blocks'.
        unsafe {
            match layout {
                Layout::RowMajorB => forward_block(a, b, first, width, beta, shared, n),
                Layout::TransposedB => {
                    transposed_block(&panel, m, b, first, width, beta, shared, n)
                }
            }
        }
    };
    if blocks > 1 {
        (0..blocks).into_par_iter().for_each(run);
    } else {
        run(0);
    }
}

/// Rows of a full register tile: 12 rows × 2 registers = 24 accumulators, of the 32 registers.
const TILE_ROWS: usize = 12;

/// The height of the next tile when `left` rows remain: 12, then 8, 4, 2, 1 for the remainder,
/// so that only five tile heights are compiled.
fn tile_rows(left: usize) -> usize {
    [TILE_ROWS, 8, 4, 2, 1]
        .into_iter()
        .find(|&rows| rows <= left)
        .unwrap_or(1)
}

/// Lane masks for a tile `width ≤ 32` columns wide: the live lanes of its two registers.
fn masks(width: usize) -> [__mmask16; 2] {
    let lanes = |w: usize| ((1u32 << w.min(LANES)) - 1) as __mmask16;
    [lanes(width), lanes(width.saturating_sub(LANES))]
}

/// How a tile's accumulators start.
#[derive(Clone, Copy)]
enum Start {
    /// From zero (`β = 0` on the first chunk: `C` is not read).
    Zero,
    /// From `β·C` (the first chunk).
    Scaled(f32),
    /// From `C`, which holds the previous chunks' sums.
    Load,
}

/// The forward kernel on columns `first .. first + width` of `C`: all rows of `A`, `K` in chunks.
///
/// # Safety
/// AVX-512F is available; `a` and `b` are in bounds; `c` points to `m` rows of `ldc` elements
/// whose columns `first .. first + width` nothing else touches during the call.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn forward_block(
    a: MatRef,
    b: MatRef,
    first: usize,
    width: usize,
    beta: f32,
    c: SharedC,
    ldc: usize,
) {
    let (m, k) = (a.rows, a.cols);
    let (a_rs, a_cs, b_rs) = (
        a.row_stride as usize,
        a.col_stride as usize,
        b.row_stride as usize,
    );
    let mut packed = [0.0f32; K_CHUNK * WIDTH];
    for k0 in (0..k).step_by(K_CHUNK) {
        let kc = K_CHUNK.min(k - k0);
        let start = if k0 > 0 {
            Start::Load
        } else if beta == 0.0 {
            Start::Zero
        } else {
            Start::Scaled(beta)
        };
        for j0 in (first..first + width).step_by(WIDTH) {
            let masks = masks(WIDTH.min(first + width - j0));
            let mut b_tile = b.data.as_ptr().add(k0 * b_rs + j0);
            let mut b_tile_rs = b_rs;
            if m > TILE_ROWS {
                // Several row tiles will read this tile of B: copy it to `packed` first. Read in
                // place, its rows (a whole row of B apart, often a multiple of 4 KiB) fall into
                // a few L1 sets and evict each other before the next row tile reads them.
                for p in 0..kc {
                    let row = b_tile.add(p * b_rs);
                    let dst = packed.as_mut_ptr().add(p * WIDTH);
                    _mm512_storeu_ps(dst, _mm512_maskz_loadu_ps(masks[0], row));
                    _mm512_storeu_ps(
                        dst.add(LANES),
                        _mm512_maskz_loadu_ps(masks[1], row.wrapping_add(LANES)),
                    );
                }
                b_tile = packed.as_ptr();
                b_tile_rs = WIDTH;
            }
            let mut i0 = 0;
            while i0 < m {
                let rows = tile_rows(m - i0);
                let tile = ForwardTile {
                    a: a.data.as_ptr().add(i0 * a_rs + k0 * a_cs),
                    a_rs,
                    a_cs,
                    b: b_tile,
                    b_rs: b_tile_rs,
                    kc,
                    c: c.at(i0 * ldc + j0),
                    ldc,
                    masks,
                    start,
                };
                match rows {
                    12 => tile.run::<12>(),
                    8 => tile.run::<8>(),
                    4 => tile.run::<4>(),
                    2 => tile.run::<2>(),
                    _ => tile.run::<1>(),
                }
                i0 += rows;
            }
        }
    }
}

/// One register tile of the forward kernel: `C[0..R, 0..w] (+)= A[0..R, 0..kc]·B[0..kc, 0..w]`,
/// everything relative to the tile's corner, `w ≤ 32` lanes given by `masks`.
struct ForwardTile {
    a: *const f32,
    a_rs: usize,
    a_cs: usize,
    b: *const f32,
    b_rs: usize,
    kc: usize,
    c: *mut f32,
    ldc: usize,
    masks: [__mmask16; 2],
    start: Start,
}

impl ForwardTile {
    /// Runs the tile with `R` rows.
    ///
    /// # Safety
    /// As [`forward_block`]: every address the masks keep lies inside its slice. A register's
    /// masked-off lanes are never loaded or stored (AVX-512 suppresses their faults), and their
    /// addresses are formed with `wrapping_add`.
    #[target_feature(enable = "avx512f")]
    unsafe fn run<const R: usize>(&self) {
        let [mask0, mask1] = self.masks;
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        for (r, acc) in acc.iter_mut().enumerate() {
            let row = self.c.add(r * self.ldc);
            match self.start {
                Start::Zero => {}
                Start::Scaled(beta) => {
                    let beta = _mm512_set1_ps(beta);
                    acc[0] = _mm512_mul_ps(beta, _mm512_maskz_loadu_ps(mask0, row));
                    acc[1] =
                        _mm512_mul_ps(beta, _mm512_maskz_loadu_ps(mask1, row.wrapping_add(LANES)));
                }
                Start::Load => {
                    acc[0] = _mm512_maskz_loadu_ps(mask0, row);
                    acc[1] = _mm512_maskz_loadu_ps(mask1, row.wrapping_add(LANES));
                }
            }
        }
        for p in 0..self.kc {
            let b_row = self.b.add(p * self.b_rs);
            let b0 = _mm512_maskz_loadu_ps(mask0, b_row);
            let b1 = _mm512_maskz_loadu_ps(mask1, b_row.wrapping_add(LANES));
            let a_col = self.a.add(p * self.a_cs);
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = _mm512_set1_ps(*a_col.add(r * self.a_rs));
                acc[0] = _mm512_fmadd_ps(x, b0, acc[0]);
                acc[1] = _mm512_fmadd_ps(x, b1, acc[1]);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let row = self.c.add(r * self.ldc);
            _mm512_mask_storeu_ps(row, mask0, acc[0]);
            _mm512_mask_storeu_ps(row.wrapping_add(LANES), mask1, acc[1]);
        }
    }
}

/// `Aᵀ` as a `K × 32` panel: row `p` holds `A[0..m, p]`, zero in the lanes past `m`.
fn transposed_panel(a: MatRef) -> Vec<f32> {
    let (m, k) = (a.rows, a.cols);
    let mut panel = vec![0.0f32; k * WIDTH];
    for (p, row) in panel.chunks_exact_mut(WIDTH).enumerate() {
        for (r, lane) in row.iter_mut().enumerate().take(m) {
            *lane = a.get(r, p);
        }
    }
    panel
}

/// The transposed kernel on columns `first .. first + width` of `C`, which are rows of `W`
/// (`b = Wᵀ`, `W[j, p]` at `b.data[j·col_stride + p]`).
///
/// # Safety
/// AVX-512F is available; `b` is in bounds, `panel` holds `K × 32` floats; `c` points to `m`
/// rows of `ldc` elements whose columns `first .. first + width` nothing else touches.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn transposed_block(
    panel: &[f32],
    m: usize,
    b: MatRef,
    first: usize,
    width: usize,
    beta: f32,
    c: SharedC,
    ldc: usize,
) {
    let k = b.rows;
    let ldw = b.col_stride as usize;
    let mut j0 = first;
    while j0 < first + width {
        let rows = tile_rows(first + width - j0);
        let tile = TransposedTile {
            w: b.data.as_ptr().add(j0 * ldw),
            ldw,
            panel: panel.as_ptr(),
            k,
            m,
            c: c.at(j0),
            ldc,
            beta,
        };
        match (rows, m > LANES) {
            (12, true) => tile.run::<12, 2>(),
            (12, false) => tile.run::<12, 1>(),
            (8, true) => tile.run::<8, 2>(),
            (8, false) => tile.run::<8, 1>(),
            (4, true) => tile.run::<4, 2>(),
            (4, false) => tile.run::<4, 1>(),
            (2, true) => tile.run::<2, 2>(),
            (2, false) => tile.run::<2, 1>(),
            (_, true) => tile.run::<1, 2>(),
            (_, false) => tile.run::<1, 1>(),
        }
        j0 += rows;
    }
}

/// One register tile of the transposed kernel: `C[0..m, t] = Σ_p W[t, p]·Aᵀ[p, 0..m] + β·C`
/// for the tile's `R` rows `t` of `W`, with `H` registers (16 lanes each) covering the `m` rows.
struct TransposedTile {
    w: *const f32,
    ldw: usize,
    panel: *const f32,
    k: usize,
    m: usize,
    c: *mut f32,
    ldc: usize,
    beta: f32,
}

impl TransposedTile {
    /// Runs the tile with `R` rows of `W` and `H` registers per row.
    ///
    /// # Safety
    /// As [`transposed_block`].
    #[target_feature(enable = "avx512f")]
    unsafe fn run<const R: usize, const H: usize>(&self) {
        let mut acc = [[_mm512_setzero_ps(); H]; R];
        for p in 0..self.k {
            let mut lanes = [_mm512_setzero_ps(); H];
            for (h, lanes) in lanes.iter_mut().enumerate() {
                *lanes = _mm512_loadu_ps(self.panel.add(p * WIDTH + h * LANES));
            }
            for (t, acc) in acc.iter_mut().enumerate() {
                let x = _mm512_set1_ps(*self.w.add(t * self.ldw + p));
                for (acc, lanes) in acc.iter_mut().zip(&lanes) {
                    *acc = _mm512_fmadd_ps(x, *lanes, *acc);
                }
            }
        }
        // Lane r of row t is C[r, t]: spill the tile, then write C row by row.
        let mut sums = [[0.0f32; WIDTH]; R];
        for (sums, acc) in sums.iter_mut().zip(&acc) {
            for (h, acc) in acc.iter().enumerate() {
                _mm512_storeu_ps(sums.as_mut_ptr().add(h * LANES), *acc);
            }
        }
        for r in 0..self.m {
            let row = self.c.add(r * self.ldc);
            for (t, sums) in sums.iter().enumerate() {
                let out = row.add(t);
                *out = if self.beta == 0.0 {
                    sums[r]
                } else {
                    sums[r] + self.beta * *out
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::naive::gemm_naive;
    use crate::cpu::testing::{assert_close, random_vec, with_threads};
    use proptest::prelude::*;

    /// One short product: `c (m×n) = op(a)·op(b) + beta·c`, `op` = transpose when flagged.
    #[derive(Debug, Clone, Copy)]
    struct ShortCase {
        m: usize,
        k: usize,
        n: usize,
        transpose_a: bool,
        transpose_b: bool,
        beta: f32,
    }

    /// Whether this CPU can run the kernel; where it cannot, each test says so and stops (the
    /// portable GEMM's own tests cover the products it then computes).
    fn runs_here(test: &str) -> bool {
        let here = crate::cpu::fast::cpu_has_avx512();
        if !here {
            eprintln!("{test}: no AVX-512 on this CPU, gemm_short not tested");
        }
        here
    }

    /// Runs `case` through [`gemm_short`] (parallel or not) and through the naive loop.
    fn run(case: ShortCase, parallel: bool) -> (Vec<f32>, Vec<f32>) {
        let ShortCase {
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
        // With beta = 0 the old c must not be read: NaN there must not leak into the result.
        let mut fast = if beta == 0.0 {
            vec![f32::NAN; m * n]
        } else {
            c0.clone()
        };
        let mut slow = c0;
        assert!(
            layout(&a, &b).is_some(),
            "{case:?}: gemm_short declined a short product on an AVX-512 CPU"
        );
        // SAFETY: fast holds m·n elements.
        unsafe { gemm_short(a, b, beta, fast.as_mut_ptr(), parallel) };
        gemm_naive(a, b, beta, &mut slow);
        (fast, slow)
    }

    #[test]
    fn takes_only_short_products_with_a_unit_stride_in_b() {
        let data = vec![0.0f32; 64 * 64];
        let a = MatRef::row_major(&data, 20, 64);
        let b = MatRef::row_major(&data, 64, 40);
        if !runs_here("takes_only_short_products_with_a_unit_stride_in_b") {
            // Without AVX-512 this kernel takes nothing: gemm() must not be sent here.
            assert_eq!(layout(&a, &b), None);
            assert_eq!(layout(&a, &MatRef::row_major(&data, 40, 64).t()), None);
            return;
        }
        assert_eq!(layout(&a, &b), Some(Layout::RowMajorB));
        assert_eq!(
            layout(&a, &MatRef::row_major(&data, 40, 64).t()),
            Some(Layout::TransposedB)
        );
        // 33 rows, 16 columns (gemm_narrow's), or no unit stride: not taken.
        assert_eq!(layout(&MatRef::row_major(&data, 33, 64), &b), None);
        assert_eq!(layout(&a, &MatRef::row_major(&data, 64, 16)), None);
        let strided = MatRef {
            row_stride: 80,
            col_stride: 2,
            ..b
        };
        assert_eq!(layout(&a, &strided), None);
    }

    #[test]
    fn matches_the_naive_loop_on_the_course_dense_layers() {
        #[rustfmt::skip]
        let cases = [
            // Fashion-MNIST CNN: (32, 2028)·(2028, 128) forward, and dY·Wᵀ.
            ShortCase { m: 32, k: 2028, n: 128, transpose_a: false, transpose_b: false, beta: 0.0 },
            ShortCase { m: 32, k: 128, n: 2028, transpose_a: false, transpose_b: true, beta: 0.0 },
            // Cats vs dogs (batch 20), a slice of its 18 496 × 512 kernel: K past one chunk.
            ShortCase { m: 20, k: 700, n: 512, transpose_a: false, transpose_b: false, beta: 0.0 },
            ShortCase { m: 20, k: 512, n: 700, transpose_a: false, transpose_b: true, beta: 0.0 },
            // The MLP's (32, 784)·(784, 300), accumulating; a last batch of 5; Aᵀ operands.
            ShortCase { m: 32, k: 784, n: 300, transpose_a: false, transpose_b: false, beta: 1.0 },
            ShortCase { m: 5, k: 300, n: 100, transpose_a: true, transpose_b: true, beta: -0.5 },
            ShortCase { m: 17, k: 129, n: 33, transpose_a: true, transpose_b: false, beta: 1.0 },
        ];
        if !runs_here("matches_the_naive_loop_on_the_course_dense_layers") {
            return;
        }
        for case in cases {
            for parallel in [false, true] {
                let (fast, slow) = run(case, parallel);
                assert_close(&fast, &slow, 1e-5, &format!("{case:?} parallel {parallel}"));
            }
        }
    }

    #[test]
    fn is_independent_of_the_thread_count() {
        if !runs_here("is_independent_of_the_thread_count") {
            return;
        }
        for transpose_b in [false, true] {
            let case = ShortCase {
                m: 20,
                k: 2000,
                n: 900,
                transpose_a: false,
                transpose_b,
                beta: 0.0,
            };
            let one = with_threads(1, || run(case, true));
            let three = with_threads(3, || run(case, true));
            assert_eq!(one.0, three.0, "{case:?}");
            let serial = run(case, false);
            assert_eq!(one.0, serial.0, "{case:?}: serial and parallel");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn matches_the_naive_loop_on_random_shapes(
            m in 1usize..=MAX_ROWS,
            k in 1usize..300,
            n in 17usize..80,
            transpose_a: bool,
            transpose_b: bool,
            beta in prop::sample::select(vec![0.0f32, 1.0, -0.5]),
            parallel: bool,
        ) {
            prop_assume!(crate::cpu::fast::cpu_has_avx512());
            let case = ShortCase { m, k, n, transpose_a, transpose_b, beta };
            let (fast, slow) = run(case, parallel);
            assert_close(&fast, &slow, 1e-5, &format!("{case:?}"));
        }
    }
}
