//! Short GEMM: `C = A·B + β·C` when `C` has at most 32 rows — a Dense layer on one batch — with
//! AVX-512 or AVX2.
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
//! in 24 AVX-512 registers (with AVX2, 6 rows × 16 columns in 12 of its 16). For each `p`, two
//! loads fetch the tile's columns of row `p` of `B`, and each row `r` of the tile takes one
//! broadcast of `A[i + r, p]` and two FMAs:
//!
//! ```text
//! acc[r] = β·C[i + r, j..j + 32]
//! for p in 0..K:  acc[r] += A[i + r, p] · B[p, j..j + 32]
//! ```
//!
//! `K` is walked in chunks of [`K_CHUNK`]; when `C` has more than 12 rows, the chunk of `B` that
//! a column tile reads is first copied into a buffer of at most 16 KiB, which stays in L1 while the next
//! rows of `A` use it (in place, the rows of `B` are a multiple of 4 KiB apart, land in the same
//! few cache sets, and evict each other).
//!
//! **`B = Wᵀ`** with `W` row-major (the input gradient, `dY·Wᵀ`): the product is computed as
//! `Cᵀ = W·Aᵀ`. Its right operand `Aᵀ` is small (`K × m`), so it is copied once into a `K × 32`
//! panel (lane `r` of row `p` holds `A[r, p]`). A tile of rows of `W` then accumulates as
//! above (12 rows with AVX-512; with AVX2 the `m` lanes take up to four registers, so 12, 6, 3 or
//! 2 rows) — one broadcast of `W[j + t, p]`, two loads of the panel's row `p` — and is written to
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
use rayon::prelude::*;

use super::simd::{Avx2, Avx512, Vector};
use super::Isa;
use crate::cpu::matrix::{MatRef, SharedC, MIN_MULADDS_PER_BLOCK, TARGET_BLOCKS};

/// The most rows of `C` this kernel takes: the lanes of the transposed panel.
pub(crate) const MAX_ROWS: usize = 32;

/// Lanes of the transposed panel (`K × 32`): two AVX-512 registers, four AVX2 ones.
const PANEL: usize = MAX_ROWS;

/// The widest forward tile: two AVX-512 registers (two AVX2 registers make 16 columns).
const MAX_WIDTH: usize = 32;

/// Rows of `K` walked per chunk by the forward kernel: a chunk of one column tile of `B` is
/// at most `128 × 32` floats (16 KiB), which stays in L1.
const K_CHUNK: usize = 128;

/// Columns per parallel block are a multiple of this (a multiple of every tile width and height).
const BLOCK_UNIT: [usize; 2] = [MAX_WIDTH, 12];

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
/// and one of `b`'s strides must be 1.
pub(crate) fn layout(a: &MatRef, b: &MatRef) -> Option<Layout> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if !(1..=MAX_ROWS).contains(&m) || k == 0 || n <= super::gemm_narrow::MAX_COLS {
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
/// with the kernels of `isa`, on rayon's pool when `parallel` is set (column blocks whose width
/// depends on the shape only). With `beta == 0`, `C` is not read.
///
/// # Safety
/// The CPU supports `isa`; `c` points to `m·n` writable elements that nothing else touches during
/// the call, initialised unless `beta == 0`.
///
/// # Panics
/// If [`layout`] rejects the product, or a view reaches outside its slice (bugs in the caller).
pub(crate) unsafe fn gemm_short(
    isa: Isa,
    a: MatRef,
    b: MatRef,
    beta: f32,
    c: *mut f32,
    parallel: bool,
) {
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
    let unit = match layout {
        Layout::RowMajorB => BLOCK_UNIT[0],
        Layout::TransposedB => BLOCK_UNIT[1],
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
        // SAFETY: the CPU has `isa` (the caller's contract); the views are in bounds (checked
        // above), and this block reads columns first..first + width of b and writes the same
        // columns of C's m·n elements (the caller's contract), disjoint from the other blocks'.
        unsafe {
            match (layout, isa) {
                (Layout::RowMajorB, Isa::Avx512) => {
                    forward_avx512(a, b, first, width, beta, shared, n)
                }
                (Layout::RowMajorB, Isa::Avx2) => forward_avx2(a, b, first, width, beta, shared, n),
                (Layout::TransposedB, Isa::Avx512) => {
                    transposed_avx512(&panel, m, b, first, width, beta, shared, n)
                }
                (Layout::TransposedB, Isa::Avx2) => {
                    transposed_avx2(&panel, m, b, first, width, beta, shared, n)
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

/// The height of the next tile when `left` rows remain: `tallest`, then 8, 4, 2, 1 for the
/// remainder, so that only a few tile heights are compiled.
fn tile_rows(tallest: usize, left: usize) -> usize {
    [tallest, 8, 4, 2, 1]
        .into_iter()
        .find(|&rows| rows <= left && rows <= tallest)
        .unwrap_or(1)
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

/// The forward kernel with AVX-512: tiles of 12 rows × 32 columns, 24 accumulators of the 32
/// registers.
///
/// # Safety
/// AVX-512F is available; as [`forward_block`].
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn forward_avx512(
    a: MatRef,
    b: MatRef,
    first: usize,
    width: usize,
    beta: f32,
    c: SharedC,
    ldc: usize,
) {
    forward_block::<Avx512, 12>(a, b, first, width, beta, c, ldc)
}

/// The forward kernel with AVX2: tiles of 6 rows × 16 columns, 12 accumulators of the 16
/// registers (the two rows of `B` and the broadcast take three more).
///
/// # Safety
/// AVX2 and FMA are available; as [`forward_block`].
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn forward_avx2(
    a: MatRef,
    b: MatRef,
    first: usize,
    width: usize,
    beta: f32,
    c: SharedC,
    ldc: usize,
) {
    forward_block::<Avx2, 6>(a, b, first, width, beta, c, ldc)
}

/// The forward kernel on columns `first .. first + width` of `C`: all rows of `A`, `K` in chunks,
/// tiles of up to `TALLEST` rows × two registers.
///
/// # Safety
/// The CPU has `V`'s instruction set; `a` and `b` are in bounds; `c` points to `m` rows of `ldc`
/// elements whose columns `first .. first + width` nothing else touches during the call.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn forward_block<V: Vector, const TALLEST: usize>(
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
    // Columns of a tile: two registers.
    let tile_width = 2 * V::LANES;
    let mut packed = [0.0f32; K_CHUNK * MAX_WIDTH];
    for k0 in (0..k).step_by(K_CHUNK) {
        let kc = K_CHUNK.min(k - k0);
        let start = if k0 > 0 {
            Start::Load
        } else if beta == 0.0 {
            Start::Zero
        } else {
            Start::Scaled(beta)
        };
        for j0 in (first..first + width).step_by(tile_width) {
            let live = tile_width.min(first + width - j0);
            let masks = [V::first(live), V::first(live.saturating_sub(V::LANES))];
            let mut b_tile = b.data.as_ptr().add(k0 * b_rs + j0);
            let mut b_tile_rs = b_rs;
            if m > TALLEST {
                // Several row tiles will read this tile of B: copy it to `packed` first. Read in
                // place, its rows (a whole row of B apart, often a multiple of 4 KiB) fall into
                // a few L1 sets and evict each other before the next row tile reads them.
                for p in 0..kc {
                    let row = b_tile.add(p * b_rs);
                    let dst = packed.as_mut_ptr().add(p * tile_width);
                    V::store(dst, V::load_masked(masks[0], row));
                    V::store(
                        dst.add(V::LANES),
                        V::load_masked(masks[1], row.wrapping_add(V::LANES)),
                    );
                }
                b_tile = packed.as_ptr();
                b_tile_rs = tile_width;
            }
            let mut i0 = 0;
            while i0 < m {
                let rows = tile_rows(TALLEST, m - i0);
                let tile = ForwardTile::<V> {
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
                    6 => tile.run::<6>(),
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
/// everything relative to the tile's corner, `w ≤ 2·LANES` lanes given by `masks`.
struct ForwardTile<V: Vector> {
    a: *const f32,
    a_rs: usize,
    a_cs: usize,
    b: *const f32,
    b_rs: usize,
    kc: usize,
    c: *mut f32,
    ldc: usize,
    masks: [V::Mask; 2],
    start: Start,
}

impl<V: Vector> ForwardTile<V> {
    /// Runs the tile with `R` rows.
    ///
    /// # Safety
    /// As [`forward_block`]: every address the masks keep lies inside its slice. A register's
    /// masked-off lanes are never loaded or stored (their faults are suppressed), and their
    /// addresses are formed with `wrapping_add`.
    #[inline(always)]
    unsafe fn run<const R: usize>(&self) {
        let [mask0, mask1] = self.masks;
        let lanes = V::LANES;
        let mut acc = [[V::zero(); 2]; R];
        for (r, acc) in acc.iter_mut().enumerate() {
            let row = self.c.add(r * self.ldc);
            match self.start {
                Start::Zero => {}
                Start::Scaled(beta) => {
                    let beta = V::splat(beta);
                    acc[0] = V::mul(beta, V::load_masked(mask0, row));
                    acc[1] = V::mul(beta, V::load_masked(mask1, row.wrapping_add(lanes)));
                }
                Start::Load => {
                    acc[0] = V::load_masked(mask0, row);
                    acc[1] = V::load_masked(mask1, row.wrapping_add(lanes));
                }
            }
        }
        for p in 0..self.kc {
            let b_row = self.b.add(p * self.b_rs);
            let b0 = V::load_masked(mask0, b_row);
            let b1 = V::load_masked(mask1, b_row.wrapping_add(lanes));
            let a_col = self.a.add(p * self.a_cs);
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = V::splat(*a_col.add(r * self.a_rs));
                acc[0] = V::mul_add(x, b0, acc[0]);
                acc[1] = V::mul_add(x, b1, acc[1]);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let row = self.c.add(r * self.ldc);
            V::store_masked(row, mask0, acc[0]);
            V::store_masked(row.wrapping_add(lanes), mask1, acc[1]);
        }
    }
}

/// `Aᵀ` as a `K × 32` panel: row `p` holds `A[0..m, p]`, zero in the lanes past `m`.
fn transposed_panel(a: MatRef) -> Vec<f32> {
    let (m, k) = (a.rows, a.cols);
    let mut panel = vec![0.0f32; k * PANEL];
    for (p, row) in panel.chunks_exact_mut(PANEL).enumerate() {
        for (r, lane) in row.iter_mut().enumerate().take(m) {
            *lane = a.get(r, p);
        }
    }
    panel
}

/// The transposed kernel with AVX-512: tiles of 12 rows of `W` × one or two registers.
///
/// # Safety
/// AVX-512F is available; as [`transposed_block`].
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn transposed_avx512(
    panel: &[f32],
    m: usize,
    b: MatRef,
    first: usize,
    width: usize,
    beta: f32,
    c: SharedC,
    ldc: usize,
) {
    let args = (panel, m, b, first, width, beta, c, ldc);
    if m > Avx512::LANES {
        transposed_block::<Avx512, 12, 2>(args)
    } else {
        transposed_block::<Avx512, 12, 1>(args)
    }
}

/// The transposed kernel with AVX2: `m` rows need one to four registers a row of the tile,
/// and the tile holds 12, 6, 3 or 2 rows of `W` so that its accumulators and the panel's row
/// fit in the 16 registers.
///
/// # Safety
/// AVX2 and FMA are available; as [`transposed_block`].
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn transposed_avx2(
    panel: &[f32],
    m: usize,
    b: MatRef,
    first: usize,
    width: usize,
    beta: f32,
    c: SharedC,
    ldc: usize,
) {
    let args = (panel, m, b, first, width, beta, c, ldc);
    match m.div_ceil(Avx2::LANES) {
        1 => transposed_block::<Avx2, 12, 1>(args),
        2 => transposed_block::<Avx2, 6, 2>(args),
        3 => transposed_block::<Avx2, 3, 3>(args),
        _ => transposed_block::<Avx2, 2, 4>(args),
    }
}

/// The arguments of [`transposed_block`]: `(panel, m, b, first, width, beta, c, ldc)`.
type TransposedArgs<'a> = (
    &'a [f32],
    usize,
    MatRef<'a>,
    usize,
    usize,
    f32,
    SharedC,
    usize,
);

/// The transposed kernel on columns `first .. first + width` of `C`, which are rows of `W`
/// (`b = Wᵀ`, `W[j, p]` at `b.data[j·col_stride + p]`), in tiles of up to `TALLEST` rows of `W`
/// × `H` registers.
///
/// # Safety
/// The CPU has `V`'s instruction set; `m ≤ H·LANES`; `b` is in bounds, `panel` holds `K × 32`
/// floats; `c` points to `m` rows of `ldc` elements whose columns `first .. first + width`
/// nothing else touches.
#[inline(always)]
unsafe fn transposed_block<V: Vector, const TALLEST: usize, const H: usize>(
    (panel, m, b, first, width, beta, c, ldc): TransposedArgs,
) {
    let k = b.rows;
    let ldw = b.col_stride as usize;
    let mut j0 = first;
    while j0 < first + width {
        let rows = tile_rows(TALLEST, first + width - j0);
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
        match rows {
            12 => tile.run::<V, 12, H>(),
            8 => tile.run::<V, 8, H>(),
            6 => tile.run::<V, 6, H>(),
            4 => tile.run::<V, 4, H>(),
            3 => tile.run::<V, 3, H>(),
            2 => tile.run::<V, 2, H>(),
            _ => tile.run::<V, 1, H>(),
        }
        j0 += rows;
    }
}

/// One register tile of the transposed kernel: `C[0..m, t] = Σ_p W[t, p]·Aᵀ[p, 0..m] + β·C`
/// for the tile's `R` rows `t` of `W`, with `H` registers covering the `m` rows.
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
    #[inline(always)]
    unsafe fn run<V: Vector, const R: usize, const H: usize>(&self) {
        let mut acc = [[V::zero(); H]; R];
        for p in 0..self.k {
            let lanes: [V::Reg; H] =
                std::array::from_fn(|h| V::load(self.panel.add(p * PANEL + h * V::LANES)));
            for (t, acc) in acc.iter_mut().enumerate() {
                let x = V::splat(*self.w.add(t * self.ldw + p));
                for (acc, lanes) in acc.iter_mut().zip(&lanes) {
                    *acc = V::mul_add(x, *lanes, *acc);
                }
            }
        }
        // Lane r of row t is C[r, t]: spill the tile, then write C row by row.
        let mut sums = [[0.0f32; PANEL]; R];
        for (sums, acc) in sums.iter_mut().zip(&acc) {
            for (h, acc) in acc.iter().enumerate() {
                V::store(sums.as_mut_ptr().add(h * V::LANES), *acc);
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

    /// The instruction sets this CPU can run the kernel with; where there is none, each test
    /// says so and stops (the portable GEMM's own tests cover the products it then computes).
    fn isas(test: &str) -> Vec<Isa> {
        let here = crate::cpu::fast::isas_here();
        if here.is_empty() {
            eprintln!("{test}: neither AVX-512 nor AVX2 on this CPU, gemm_short not tested");
        }
        here
    }

    /// Runs `case` through [`gemm_short`] with `isa` (parallel or not) and through the naive
    /// loop.
    fn run(isa: Isa, case: ShortCase, parallel: bool) -> (Vec<f32>, Vec<f32>) {
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
            "{case:?}: gemm_short declined a short product"
        );
        // SAFETY: the CPU has isa; fast holds m·n elements.
        unsafe { gemm_short(isa, a, b, beta, fast.as_mut_ptr(), parallel) };
        gemm_naive(a, b, beta, &mut slow);
        (fast, slow)
    }

    #[test]
    fn takes_only_short_products_with_a_unit_stride_in_b() {
        let data = vec![0.0f32; 64 * 64];
        let a = MatRef::row_major(&data, 20, 64);
        let b = MatRef::row_major(&data, 64, 40);
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
        for isa in isas("matches_the_naive_loop_on_the_course_dense_layers") {
            for case in cases {
                for parallel in [false, true] {
                    let (fast, slow) = run(isa, case, parallel);
                    let what = format!("{isa:?} {case:?} parallel {parallel}");
                    assert_close(&fast, &slow, 1e-5, &what);
                }
            }
        }
    }

    #[test]
    fn is_independent_of_the_thread_count() {
        for (isa, transpose_b) in isas("is_independent_of_the_thread_count")
            .into_iter()
            .flat_map(|isa| [(isa, false), (isa, true)])
        {
            let case = ShortCase {
                m: 20,
                k: 2000,
                n: 900,
                transpose_a: false,
                transpose_b,
                beta: 0.0,
            };
            let one = with_threads(1, || run(isa, case, true));
            let three = with_threads(3, || run(isa, case, true));
            assert_eq!(one.0, three.0, "{isa:?} {case:?}");
            let serial = run(isa, case, false);
            assert_eq!(one.0, serial.0, "{isa:?} {case:?}: serial and parallel");
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
            let case = ShortCase { m, k, n, transpose_a, transpose_b, beta };
            for isa in crate::cpu::fast::isas_here() {
                let (fast, slow) = run(isa, case, parallel);
                assert_close(&fast, &slow, 1e-5, &format!("{isa:?} {case:?}"));
            }
        }
    }
}
