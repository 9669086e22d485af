//! The matrix view the GEMMs read, and how a product is cut into parallel blocks: what the
//! portable GEMM (`gemm.rs`) and the AVX-512 ones (`fast/gemm_short.rs`, `fast/gemm_narrow.rs`)
//! share, kept apart from both so that neither imports the other.
//!
//! Block sizes depend on the shape `(m, k, n)` only, never on the number of threads: that is what
//! makes every product bit-identical whatever the size of the rayon pool.

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
    pub(crate) fn row_block(self, first: usize, rows: usize) -> Self {
        let offset = first * self.row_stride as usize;
        MatRef {
            data: &self.data[offset..],
            rows,
            ..self
        }
    }

    /// Columns `first .. first + cols` of the view.
    pub(crate) fn col_block(self, first: usize, cols: usize) -> Self {
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

/// Number of row blocks a product aims for. Every block packs all of `B` again, so blocks are not
/// free: at 1024³ on one core, 8 blocks lost 15% of serial throughput and 4 blocks lose 5%.
/// Four blocks still balance 2 or 4 threads exactly.
pub(crate) const TARGET_BLOCKS: usize = 4;

/// Rows of `C` per parallel block for an `(m, k, n)` product: a multiple of 16 (the height of
/// matrixmultiply's widest micro-kernel, so no block ends in a ragged micro-tile except the last),
/// about `m / 4`, and never so small that the block's work does not pay for its task.
/// It depends on the shape only, which is what makes the GEMM independent of the thread count.
pub(crate) fn rows_per_block(m: usize, k: usize, n: usize) -> usize {
    let round_up_16 = |r: usize| r.div_ceil(16) * 16;
    let balanced = round_up_16(m.div_ceil(TARGET_BLOCKS));
    let worth_a_task = round_up_16(MIN_MULADDS_PER_BLOCK.div_ceil((k * n).max(1)));
    balanced.max(worth_a_task).max(16)
}

/// Columns of `C` per parallel block when `C` has too few rows to split (a Dense layer's batch of
/// 32 rows): a multiple of 16, about `n / 4`, and never so few that the block's work does not
/// pay for its task. Like [`rows_per_block`], it depends on the shape only.
pub(crate) fn cols_per_block(m: usize, k: usize, n: usize) -> usize {
    let round_up_16 = |c: usize| c.div_ceil(16) * 16;
    let balanced = round_up_16(n.div_ceil(TARGET_BLOCKS));
    let worth_a_task = round_up_16(MIN_MULADDS_PER_BLOCK.div_ceil((m * k).max(1)));
    balanced.max(worth_a_task).max(16)
}

/// A pointer to `C` that the parallel blocks of one product share: each writes only its own
/// rows or columns (in `gemm.rs` and `fast/gemm_short.rs`).
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
