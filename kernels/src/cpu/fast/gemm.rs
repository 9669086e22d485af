//! The GEMM's fast paths, on AVX-512 or AVX2: which of the two unpacked kernels takes a product.
//!
//! `matrixmultiply` (the portable GEMM of `cpu/gemm.rs`) packs both operands into panels before
//! it multiplies. For two shapes of the course that packing is most of the work:
//!
//! - `C` with at most 32 rows — a Dense layer on one batch, `(32, K)·(K, units)`: packing copies the
//!   whole kernel `B` for 32 rows of output. `gemm_short.rs` reads `B` in place.
//! - `C` with at most 16 columns — the first convolution's `(rows, 9)·(9, 12)` tiles, a 10-class
//!   head: one AVX-512 register (two AVX2 ones) holds a whole row of `C`. `gemm_narrow.rs` keeps 8 rows in
//!   registers and packs nothing.
//!
//! Each file says what it bought. Both compute every element of `C` as a sum over `p` in a fixed
//! order, so, like the portable GEMM, they do not depend on the number of threads.
#[cfg(target_arch = "x86_64")]
use rayon::prelude::*;

use super::Isa;
use crate::cpu::matrix::MatRef;
#[cfg(target_arch = "x86_64")]
use crate::cpu::matrix::{rows_per_block, SharedC};

/// `C (m×n at c, row-major contiguous) = a·b + beta·C` through `gemm_short` or `gemm_narrow`, with
/// the kernels of `isa`, when one of them takes the product (returns true), or nothing (returns
/// false). With `parallel`, on
/// rayon's pool: `gemm_short` splits the columns of `C`, and `gemm_narrow` runs on the row blocks
/// the portable GEMM would cut. With `beta == 0`, `C` is not read.
///
/// # Safety
/// The CPU supports `isa`; `c` points to `m·n` writable elements that nothing else touches
/// during the call, initialised unless `beta == 0`; `a` and `b` are in bounds, `k ≥ 1`, and `m, n ≥ 1`.
pub(crate) unsafe fn multiply(
    isa: Isa,
    a: MatRef,
    b: MatRef,
    beta: f32,
    c: *mut f32,
    parallel: bool,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use super::{gemm_narrow, gemm_short};
        if gemm_short::layout(&a, &b).is_some() {
            // SAFETY: the caller's contract on c, passed on.
            unsafe { gemm_short::gemm_short(isa, a, b, beta, c, parallel) };
            return true;
        }
        if gemm_narrow::handles(&b) {
            let (m, k, n) = (a.rows, a.cols, b.cols);
            let block = rows_per_block(m, k, n);
            if parallel && block < m {
                let shared = SharedC(c);
                (0..m.div_ceil(block)).into_par_iter().for_each(|i| {
                    let rows = block.min(m - i * block);
                    // SAFETY: row block i is rows i·block .. i·block + rows of C, inside its
                    // m·n elements and disjoint from the other blocks.
                    unsafe {
                        gemm_narrow::gemm_narrow(
                            isa,
                            a.row_block(i * block, rows),
                            b,
                            beta,
                            shared.at(i * block * n),
                        )
                    };
                });
            } else {
                // SAFETY: the caller's contract on c, passed on.
                unsafe { gemm_narrow::gemm_narrow(isa, a, b, beta, c) };
            }
            return true;
        }
    }
    let _ = (isa, a, b, beta, c, parallel);
    false
}
