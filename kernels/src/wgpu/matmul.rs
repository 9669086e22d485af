//! Matrix products on the GPU: `C = op(A)·op(B) + β·C`, batched, any operand transposed, with an
//! optional [`Epilogue`] (a bias per column, then a ReLU) applied before `C` is written.
//!
//! # Math
//! For every batch item `z`, with `op(A): (M, K)` and `op(B): (K, N)`:
//!
//! ```text
//! C[z, i, j] = Σ_p A[z, i, p]·B[z, p, j] + β·C[z, i, j]
//! ```
//!
//! As in [`crate::cpu::gemm`], `β` is the caller's explicit choice: `β = 0` overwrites `C` without
//! reading it (it may hold garbage), `β = 1` adds the product to it.
//!
//! With an [`Epilogue`], each finished sum goes through `relu(· + bias[j])` (either part
//! optional) while it is still in a register: a Dense or Conv2D layer's forward pass is then one
//! kernel, where a product, a bias addition and a ReLU would be three passes over `C`.
//!
//! # Layout
//! Each operand is a [`MatLayout`]: element `(i, j)` of batch item `z` lies at
//! `offset + z·batch_stride + i·row_stride + j·col_stride` of its buffer, so a transpose is a swap
//! of strides ([`MatLayout::t`]) and a matrix inside a bigger buffer is an offset.
//!
//! # Parallel scheme
//! `shaders/matmul.wgsl`: 64×64 tiles of `C`, one 16×16 workgroup each, 4×4 numbers per thread,
//! 16-deep slices of `K` staged in workgroup memory. A narrow `C` (at most 16 columns, at least
//! 256 rows: a first convolution's `cols · W`) takes `shaders/matmul_narrow.wgsl` instead:
//! 256×16 tiles, 16 rows of one column per thread, so no column of the tile is idle. A large `C`
//! (at least 2048 rows and columns) takes `shaders/matmul_large.wgsl`: 128×128 tiles, 8×8
//! numbers per thread, read from workgroup memory as vec4s, so each load feeds four times as
//! many multiply-adds. All three add `K` in order with `fma`: the same numbers whichever runs.
//! When the output has too few tiles to fill the GPU and `K` is long (a weight gradient
//! `colsᵀ·dY`: a few tiles, hundreds of thousands of
//! `K`), the product is split along `K`: each slice writes its partial tile and a second kernel
//! (`shaders/matmul_reduce.wgsl`) adds them in a fixed order, so results do not depend on timing.
use super::{dispatch, grid_1d, Access, GpuBuffer, Kernel};
use crate::KernelError;

const MATMUL: Kernel = Kernel {
    name: "matmul",
    source: concat!(
        include_str!("shaders/matmul_params.wgsl"),
        include_str!("shaders/epilogue.wgsl"),
        include_str!("shaders/matmul.wgsl")
    ),
    entry: "matmul_main",
    // a, b, c, bias
    buffers: &[Access::Read, Access::Read, Access::ReadWrite, Access::Read],
};

/// [`MATMUL`] for a narrow `C` (at most 16 columns): 256×16 tiles.
const MATMUL_NARROW: Kernel = Kernel {
    name: "matmul.narrow",
    source: concat!(
        include_str!("shaders/matmul_params.wgsl"),
        include_str!("shaders/epilogue.wgsl"),
        include_str!("shaders/matmul_narrow.wgsl")
    ),
    entry: "matmul_narrow_main",
    // a, b, c, bias
    buffers: &[Access::Read, Access::Read, Access::ReadWrite, Access::Read],
};

/// [`MATMUL`] for a large `C` (at least 2048 rows and columns): 128×128 tiles.
const MATMUL_LARGE: Kernel = Kernel {
    name: "matmul.large",
    source: concat!(
        include_str!("shaders/matmul_params.wgsl"),
        include_str!("shaders/epilogue.wgsl"),
        include_str!("shaders/matmul_large.wgsl")
    ),
    entry: "matmul_large_main",
    // a, b, c, bias
    buffers: &[Access::Read, Access::Read, Access::ReadWrite, Access::Read],
};

const MATMUL_REDUCE: Kernel = Kernel {
    name: "matmul.reduce",
    source: concat!(
        include_str!("shaders/matmul_params.wgsl"),
        include_str!("shaders/epilogue.wgsl"),
        include_str!("shaders/matmul_reduce.wgsl")
    ),
    entry: "matmul_reduce",
    // partial, c, bias
    buffers: &[Access::Read, Access::ReadWrite, Access::Read],
};

/// What the product does to each finished sum before it writes it: `relu(sum + bias[j])`, the
/// bias per column `j` of `C`, each part optional (the default does nothing).
#[derive(Clone, Copy, Debug, Default)]
pub struct Epilogue<'a> {
    /// `(N)`: added to every row of `C`.
    pub bias: Option<&'a GpuBuffer>,
    /// Then `max(·, 0)`.
    pub relu: bool,
}

impl Epilogue<'_> {
    /// The buffer to bind as the bias: the bias, or a placeholder the shader does not read.
    pub(crate) fn bias_binding(&self) -> Result<&GpuBuffer, KernelError> {
        match self.bias {
            Some(bias) => Ok(bias),
            None => no_bias(),
        }
    }
}

/// The buffer bound as the bias when there is none (the shader does not read it): one per
/// process, made on first use.
fn no_bias() -> Result<&'static GpuBuffer, KernelError> {
    static NO_BIAS: std::sync::OnceLock<GpuBuffer> = std::sync::OnceLock::new();
    if let Some(buffer) = NO_BIAS.get() {
        return Ok(buffer);
    }
    let buffer = GpuBuffer::zeros(1)?;
    Ok(NO_BIAS.get_or_init(|| buffer))
}

/// Rows and columns of `C` per workgroup (`TILE` in the shader).
const TILE: usize = 64;
/// Rows and columns of `C` per workgroup of the narrow kernel (`ROWS`, `COLS` in
/// `shaders/matmul_narrow.wgsl`).
const NARROW_ROWS: usize = 256;
const NARROW_COLS: usize = 16;
/// Rows and columns of `C` per workgroup of the large kernel (`TILE` in
/// `shaders/matmul_large.wgsl`).
const LARGE_TILE: usize = 128;
/// The fewest rows and columns a product needs for the large kernel.
const LARGE_FROM: usize = 2048;
/// The most workgroups along one axis of a dispatch.
const MAX_GROUPS: usize = 65_535;
/// Below this many output tiles the GPU has idle cores, and a long `K` is worth splitting.
const SPLIT_BELOW_TILES: usize = 64;
/// Split until about this many workgroups run.
const SPLIT_TARGET_GROUPS: usize = 256;
/// Shortest `K` slice worth a workgroup of its own.
const MIN_K_SLICE: usize = 256;

/// Where the elements of a (batched) matrix lie in a buffer: element `(i, j)` of batch item `z`
/// is number `offset + z·batch_stride + i·row_stride + j·col_stride`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatLayout {
    /// Position of element `(0, 0)` of batch item 0.
    pub offset: usize,
    /// Distance between batch items (0: every item reads the same matrix).
    pub batch_stride: usize,
    /// Distance between `(i, j)` and `(i + 1, j)`.
    pub row_stride: usize,
    /// Distance between `(i, j)` and `(i, j + 1)`.
    pub col_stride: usize,
}

impl MatLayout {
    /// Contiguous row-major `(rows, cols)` matrices, one after the other.
    ///
    /// ```
    /// use astrograd_kernels::wgpu::matmul::MatLayout;
    /// let l = MatLayout::row_major(2, 3);
    /// assert_eq!((l.batch_stride, l.row_stride, l.col_stride), (6, 3, 1));
    /// ```
    pub fn row_major(rows: usize, cols: usize) -> MatLayout {
        MatLayout {
            offset: 0,
            batch_stride: rows * cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose, without copying: row and column strides swap.
    ///
    /// ```
    /// use astrograd_kernels::wgpu::matmul::MatLayout;
    /// // A stored as (K, M) = (3, 2), read as Aᵀ: (2, 3).
    /// let at = MatLayout::row_major(3, 2).t();
    /// assert_eq!((at.row_stride, at.col_stride), (1, 2));
    /// ```
    pub fn t(self) -> MatLayout {
        MatLayout {
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// The layout moved by `offset` numbers (a block inside a bigger buffer).
    pub fn at(self, offset: usize) -> MatLayout {
        MatLayout {
            offset: self.offset + offset,
            ..self
        }
    }

    /// The largest index read for `batch` matrices of `(rows, cols)`, or `None` when empty.
    fn last_index(&self, batch: usize, rows: usize, cols: usize) -> Option<usize> {
        if batch == 0 || rows == 0 || cols == 0 {
            return None;
        }
        Some(
            self.offset
                + (batch - 1) * self.batch_stride
                + (rows - 1) * self.row_stride
                + (cols - 1) * self.col_stride,
        )
    }
}

/// The shapes and layouts of one batched product `C = op(A)·op(B) + β·C`.
///
/// # Shapes
/// `batch` items of `op(A): (m, k)`, `op(B): (k, n)`, `C: (m, n)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulGeometry {
    /// Number of independent products.
    pub batch: usize,
    /// Rows of `op(A)` and of `C`.
    pub m: usize,
    /// Columns of `op(A)`, rows of `op(B)`.
    pub k: usize,
    /// Columns of `op(B)` and of `C`.
    pub n: usize,
    /// Layout of `op(A)`, an `(m, k)` matrix.
    pub a: MatLayout,
    /// Layout of `op(B)`, a `(k, n)` matrix.
    pub b: MatLayout,
    /// Layout of `C`, an `(m, n)` matrix.
    pub c: MatLayout,
}

impl MatmulGeometry {
    /// Contiguous row-major operands: `batch` products `(m, k)·(k, n)`. Transpose an operand
    /// afterwards with `g.a = MatLayout::row_major(k, m).t()` (A stored as `(k, m)`).
    ///
    /// ```
    /// use astrograd_kernels::wgpu::matmul::{MatLayout, MatmulGeometry};
    /// let mut g = MatmulGeometry::row_major(1, 2, 3, 4);
    /// g.b = MatLayout::row_major(4, 3).t(); // C = A·Bᵀ with B stored (4, 3)
    /// assert_eq!(g.c, MatLayout::row_major(2, 4));
    /// ```
    pub fn row_major(batch: usize, m: usize, k: usize, n: usize) -> MatmulGeometry {
        MatmulGeometry {
            batch,
            m,
            k,
            n,
            a: MatLayout::row_major(m, k),
            b: MatLayout::row_major(k, n),
            c: MatLayout::row_major(m, n),
        }
    }

    /// Checks that every element of every operand lies inside its buffer, and that every index
    /// fits the shader's 32-bit arithmetic.
    fn check(&self, a_len: usize, b_len: usize, c_len: usize) -> Result<(), KernelError> {
        let operands = [
            ("A", self.a, self.m, self.k, a_len),
            ("B", self.b, self.k, self.n, b_len),
            ("C", self.c, self.m, self.n, c_len),
        ];
        for (name, layout, rows, cols, len) in operands {
            if let Some(last) = layout.last_index(self.batch, rows, cols) {
                if last >= len || last > u32::MAX as usize {
                    return Err(KernelError::geometry(
                        "matmul (GPU)",
                        format!(
                            "{name}: {} matrices of ({rows}, {cols}) with {layout:?} reach number {last}, but its buffer holds {len}",
                            self.batch
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The geometry of batch items `b0..b0 + batch`, rows `r0..r0 + m`, columns `c0..c0 + n`.
    fn block(&self, [b0, r0, c0]: [usize; 3], [batch, m, n]: [usize; 3]) -> MatmulGeometry {
        let a_shift = b0 * self.a.batch_stride + r0 * self.a.row_stride;
        let b_shift = b0 * self.b.batch_stride + c0 * self.b.col_stride;
        let c_shift = b0 * self.c.batch_stride + r0 * self.c.row_stride + c0 * self.c.col_stride;
        MatmulGeometry {
            batch,
            m,
            n,
            a: self.a.at(a_shift),
            b: self.b.at(b_shift),
            c: self.c.at(c_shift),
            ..*self
        }
    }

    /// The shader's parameter block (`shaders/matmul_params.wgsl`).
    fn words(&self, beta: f32, splits: usize, k_slice: usize, epilogue: &Epilogue) -> Vec<u32> {
        let mut w = vec![self.m, self.k, self.n, 0];
        for l in [self.a, self.b, self.c] {
            w.extend([l.offset, l.batch_stride, l.row_stride, l.col_stride]);
        }
        w.extend([self.batch, splits, k_slice]);
        w.extend([
            usize::from(epilogue.bias.is_some()),
            usize::from(epilogue.relu),
        ]);
        let mut words: Vec<u32> = w.into_iter().map(|v| v as u32).collect();
        words[3] = beta.to_bits();
        words
    }

    /// Whether `C` is narrow and tall enough for the 256×16 tiles of `matmul_narrow.wgsl`: the
    /// first convolutions' products (N = 12 or 16 filters, hundreds of thousands of pixels),
    /// on which a 64×64 tile would leave three quarters of its columns idle. It bought, on
    /// lavapipe, 1.24 → 0.46 s for the forward of 150×150×3 → 16 at batch 20, im2col included.
    pub(crate) fn is_narrow(&self) -> bool {
        self.n <= NARROW_COLS && self.m >= NARROW_ROWS
    }

    /// Whether `C` is large enough for the 128×128 tiles of `matmul_large.wgsl`: at least
    /// 2048 rows and 2048 columns, 256 such tiles for one batch item, about two per
    /// multiprocessor of an H100/H200. Measured on an H200 (docs/gpu.md), the 64×64 tiles win
    /// at 1024³ (0.28 against 0.34 ms: 64 large tiles leave half the chip idle) and the
    /// 128×128 ones at 4096³ (5.7 against 9.2 ms); 2048 lies between, not measured. With
    /// `ASTROGRAD_GPU_LARGE_TILES=0` every such product takes the 64×64 tiles, to compare.
    pub(crate) fn is_large(&self) -> bool {
        self.m >= LARGE_FROM && self.n >= LARGE_FROM
    }

    fn tiles(&self) -> usize {
        self.batch * self.m.div_ceil(TILE) * self.n.div_ceil(TILE)
    }

    /// `(splits, k_slice)`: how many slices of `K` to compute apart (1: no split). Depends on
    /// the shapes only.
    pub(crate) fn k_split(&self) -> (usize, usize) {
        let tiles = self.tiles();
        if tiles >= SPLIT_BELOW_TILES || self.k < 2 * MIN_K_SLICE {
            return (1, self.k);
        }
        let wanted = (SPLIT_TARGET_GROUPS / tiles)
            .min(self.k / MIN_K_SLICE)
            .max(1);
        let k_slice = self.k.div_ceil(wanted).div_ceil(16) * 16;
        (self.k.div_ceil(k_slice), k_slice)
    }
}

/// `C = op(A)·op(B) + beta·C` for every batch item, as laid out in `g`; with `beta == 0` the
/// old `C` is not read.
///
/// # Shapes
/// `g.batch` items of `op(A): (g.m, g.k)` in `a`, `op(B): (g.k, g.n)` in `b`, `C: (g.m, g.n)`
/// in `c`, each placed by its [`MatLayout`].
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if a layout reaches outside its buffer or `c` is also `a`
/// or `b`; [`KernelError::NoGpu`] / [`KernelError::GpuLimit`] from the GPU.
pub fn matmul(
    g: &MatmulGeometry,
    a: &GpuBuffer,
    b: &GpuBuffer,
    beta: f32,
    c: &GpuBuffer,
) -> Result<(), KernelError> {
    matmul_with(g, a, b, beta, c, Epilogue::default())
}

/// `C = epilogue(op(A)·op(B) + beta·C)`: [`matmul`], each finished sum then given the bias of
/// its column and the ReLU that `epilogue` asks for.
///
/// # Shapes
/// As [`matmul`]; `epilogue.bias`: `(g.n)`.
///
/// # Errors
/// As [`matmul`]; [`KernelError::InvalidGeometry`] if the bias does not hold `g.n` numbers.
pub fn matmul_with(
    g: &MatmulGeometry,
    a: &GpuBuffer,
    b: &GpuBuffer,
    beta: f32,
    c: &GpuBuffer,
    epilogue: Epilogue,
) -> Result<(), KernelError> {
    if let Some(bias) = epilogue.bias {
        super::buffer::check_lengths("matmul (GPU)", &[("the bias", bias, g.n)])?;
    }
    let bias = epilogue.bias_binding()?;
    if std::ptr::eq(a, c) || std::ptr::eq(b, c) {
        return Err(KernelError::geometry(
            "matmul (GPU)",
            "the output C must be a different buffer from A and B",
        ));
    }
    g.check(a.len(), b.len(), c.len())?;
    if g.batch == 0 || g.m == 0 || g.n == 0 {
        return Ok(());
    }
    let (splits, k_slice) = g.k_split();
    if splits > 1 {
        return matmul_split_k(g, [a, b, c, bias], beta, splits, k_slice, &epilogue);
    }
    dispatch_tiles(g, Tiles::for_product(g), [a, b, c, bias], beta, &epilogue)
}

/// The three tile shapes of `C`, each its own kernel, chosen by the product's shape
/// ([`Tiles::for_product`]). All three add `K` in the same order: the same numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tiles {
    /// 256×16 (`shaders/matmul_narrow.wgsl`): at most 16 columns, many rows.
    Narrow,
    /// 64×64 (`shaders/matmul.wgsl`): every other product.
    Square,
    /// 128×128 (`shaders/matmul_large.wgsl`): at least 2048 rows and 2048 columns.
    Large,
}

impl Tiles {
    fn for_product(g: &MatmulGeometry) -> Tiles {
        if g.is_narrow() {
            Tiles::Narrow
        } else if g.is_large() && super::context().is_ok_and(|ctx| ctx.has_large_tiles()) {
            Tiles::Large
        } else {
            Tiles::Square
        }
    }

    fn kernel(self) -> &'static Kernel {
        match self {
            Tiles::Narrow => &MATMUL_NARROW,
            Tiles::Square => &MATMUL,
            Tiles::Large => &MATMUL_LARGE,
        }
    }

    /// Rows and columns of `C` per workgroup.
    fn size(self) -> (usize, usize) {
        match self {
            Tiles::Narrow => (NARROW_ROWS, NARROW_COLS),
            Tiles::Square => (TILE, TILE),
            Tiles::Large => (LARGE_TILE, LARGE_TILE),
        }
    }
}

/// The product, unsplit, in `tiles`: one workgroup per tile of `C` and batch item. Dispatches
/// are limited to 65 535 workgroups per axis, so a huge product is cut into blocks.
fn dispatch_tiles(
    g: &MatmulGeometry,
    tiles: Tiles,
    buffers: [&GpuBuffer; 4],
    beta: f32,
    epilogue: &Epilogue,
) -> Result<(), KernelError> {
    let (rows, cols) = tiles.size();
    let (max_rows, max_cols) = (MAX_GROUPS * rows, MAX_GROUPS * cols);
    for b0 in (0..g.batch).step_by(MAX_GROUPS) {
        for r0 in (0..g.m).step_by(max_rows) {
            for c0 in (0..g.n).step_by(max_cols) {
                let size = [
                    (g.batch - b0).min(MAX_GROUPS),
                    (g.m - r0).min(max_rows),
                    (g.n - c0).min(max_cols),
                ];
                let block = g.block([b0, r0, c0], size);
                let groups = [
                    block.n.div_ceil(cols) as u32,
                    block.m.div_ceil(rows) as u32,
                    block.batch as u32,
                ];
                let words = block.words(beta, 1, g.k, epilogue);
                dispatch(tiles.kernel(), &words, &buffers, groups)?;
            }
        }
    }
    Ok(())
}

/// The product in `splits` slices of `K`: partial tiles into a scratch buffer
/// `(splits, batch, m, n)`, then their ordered sum into `C`. Only used for products of few
/// tiles (see [`MatmulGeometry::k_split`]), so no axis exceeds the dispatch limits.
fn matmul_split_k(
    g: &MatmulGeometry,
    [a, b, c, bias]: [&GpuBuffer; 4],
    beta: f32,
    splits: usize,
    k_slice: usize,
    epilogue: &Epilogue,
) -> Result<(), KernelError> {
    // partial: (splits, batch, M, N)
    let partial = GpuBuffer::uninit(splits * g.batch * g.m * g.n)?;
    let words = g.words(beta, splits, k_slice, epilogue);
    let groups = [
        g.n.div_ceil(TILE) as u32,
        g.m.div_ceil(TILE) as u32,
        (g.batch * splits) as u32,
    ];
    dispatch(&MATMUL, &words, &[a, b, &partial, bias], groups)?;
    add_slices(g, &partial, c, beta, splits, epilogue)
}

/// The second step of a product split along `K`: `C = epilogue(Σ_s partial[s] + β·C)`, the
/// `splits` slices added in order (`shaders/matmul_reduce.wgsl`), one thread per element of `C`.
/// Also the last step of the implicit convolution's weight gradient (`super::conv`).
///
/// # Shapes
/// `partial: (splits, batch, m, n)`, contiguous; `C` placed by `g.c`.
pub(crate) fn add_slices(
    g: &MatmulGeometry,
    partial: &GpuBuffer,
    c: &GpuBuffer,
    beta: f32,
    splits: usize,
    epilogue: &Epilogue,
) -> Result<(), KernelError> {
    // The reduction reads no slice length.
    let words = g.words(beta, splits, 0, epilogue);
    dispatch(
        &MATMUL_REDUCE,
        &words,
        &[partial, c, epilogue.bias_binding()?],
        grid_1d(g.batch * g.m * g.n),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::gemm::{gemm, MatRef};
    use crate::wgpu::testing::{gpu_available, max_rel_diff, numbers};

    /// One product to test: `batch` items of `op(A): (m, k)·op(B): (k, n)`.
    #[derive(Debug, Clone, Copy)]
    struct MatmulCase {
        batch: usize,
        m: usize,
        k: usize,
        n: usize,
        /// A stored as `(k, m)` and read transposed.
        transpose_a: bool,
        /// B stored as `(n, k)` and read transposed.
        transpose_b: bool,
        beta: f32,
    }

    impl MatmulCase {
        fn new(batch: usize, m: usize, k: usize, n: usize) -> MatmulCase {
            MatmulCase {
                batch,
                m,
                k,
                n,
                transpose_a: false,
                transpose_b: false,
                beta: 0.0,
            }
        }

        /// This shape with each operand stored as it is or transposed, and β = 0 and 1.
        fn every_layout(self) -> impl Iterator<Item = MatmulCase> {
            let transposes = [(false, false), (true, false), (false, true), (true, true)];
            transposes
                .into_iter()
                .flat_map(move |(transpose_a, transpose_b)| {
                    [0.0, 1.0].map(|beta| MatmulCase {
                        transpose_a,
                        transpose_b,
                        beta,
                        ..self
                    })
                })
        }

        fn geometry(&self) -> MatmulGeometry {
            let mut g = MatmulGeometry::row_major(self.batch, self.m, self.k, self.n);
            if self.transpose_a {
                g.a = MatLayout::row_major(self.k, self.m).t();
            }
            if self.transpose_b {
                g.b = MatLayout::row_major(self.n, self.k).t();
            }
            g
        }
    }

    /// Batch item `z` of a layout as a CPU [`MatRef`].
    fn view(data: &[f32], l: MatLayout, z: usize, rows: usize, cols: usize) -> MatRef<'_> {
        MatRef {
            data: &data[l.offset + z * l.batch_stride..],
            rows,
            cols,
            row_stride: l.row_stride as isize,
            col_stride: l.col_stride as isize,
        }
    }

    /// The CPU oracle: `cpu::gemm` per batch item, through the same strides (C row-major).
    fn cpu_matmul(g: &MatmulGeometry, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
        for z in 0..g.batch {
            let start = g.c.offset + z * g.c.batch_stride;
            gemm(
                view(a, g.a, z, g.m, g.k),
                view(b, g.b, z, g.k, g.n),
                beta,
                &mut c[start..start + g.m * g.n],
            );
        }
    }

    fn check_case(case: MatmulCase) -> f32 {
        let g = case.geometry();
        let a = numbers(case.batch * case.m * case.k, 1);
        let b = numbers(case.batch * case.k * case.n, 2);
        let c0 = numbers(case.batch * case.m * case.n, 3);
        let mut expected = c0.clone();
        cpu_matmul(&g, &a, &b, case.beta, &mut expected);
        let (ab, bb, cb) = (
            GpuBuffer::upload(&a).unwrap(),
            GpuBuffer::upload(&b).unwrap(),
            GpuBuffer::upload(&c0).unwrap(),
        );
        matmul(&g, &ab, &bb, case.beta, &cb).unwrap();
        max_rel_diff(&cb.download().unwrap(), &expected)
    }

    #[test]
    fn odd_sizes_and_every_transpose_match_cpu_gemm() {
        if !gpu_available() {
            return;
        }
        let shapes = [
            MatmulCase::new(1, 1, 1, 1),
            MatmulCase::new(1, 37, 45, 29),
            MatmulCase::new(3, 37, 45, 29),
            MatmulCase::new(1, 64, 64, 64),
            MatmulCase::new(2, 65, 17, 130),
            MatmulCase::new(1, 3, 0, 4),
        ];
        for case in shapes.into_iter().flat_map(MatmulCase::every_layout) {
            let err = check_case(case);
            assert!(err < 1e-5, "{case:?}: max relative difference {err}");
        }
    }

    #[test]
    fn a_long_k_is_split_and_summed_in_order() {
        if !gpu_available() {
            return;
        }
        let case = MatmulCase {
            transpose_a: true,
            beta: 1.0,
            ..MatmulCase::new(1, 5, 3000, 7)
        };
        assert!(
            case.geometry().k_split().0 > 1,
            "this case must take the split path"
        );
        let err = check_case(case);
        assert!(err < 1e-5, "{case:?}: max relative difference {err}");
        // Twice the same product gives the same bits.
        let g = case.geometry();
        let a = GpuBuffer::upload(&numbers(3000 * 5, 4)).unwrap();
        let b = GpuBuffer::upload(&numbers(3000 * 7, 5)).unwrap();
        let (c1, c2) = (
            GpuBuffer::uninit(35).unwrap(),
            GpuBuffer::uninit(35).unwrap(),
        );
        matmul(&g, &a, &b, 0.0, &c1).unwrap();
        matmul(&g, &a, &b, 0.0, &c2).unwrap();
        assert_eq!(c1.download().unwrap(), c2.download().unwrap());
    }

    /// A narrow product (at most 16 columns, many rows: a first convolution's) takes the
    /// 256×16 kernel, with every transpose, a second batch item, β = 1 and rows that do not fill
    /// the last tile; and gives the 64×64 kernel's numbers.
    #[test]
    fn narrow_products_take_their_own_tiles_and_match_cpu_gemm() {
        if !gpu_available() {
            return;
        }
        let narrow = [
            MatmulCase::new(1, 300, 27, 16),
            MatmulCase::new(2, 777, 9, 12),
            MatmulCase {
                transpose_a: true,
                transpose_b: true,
                ..MatmulCase::new(1, 513, 33, 1)
            },
            MatmulCase {
                beta: 1.0,
                ..MatmulCase::new(1, 256, 100, 10)
            },
        ];
        for case in narrow {
            assert!(
                case.geometry().is_narrow(),
                "{case:?} must take the narrow path"
            );
            assert_eq!(case.geometry().k_split().0, 1, "{case:?}");
            let err = check_case(case);
            assert!(err < 1e-5, "{case:?}: max relative difference {err}");
        }
        // Not narrow: 17 columns, or fewer than 256 rows.
        assert!(!MatmulCase::new(1, 300, 27, 17).geometry().is_narrow());
        assert!(!MatmulCase::new(1, 255, 27, 16).geometry().is_narrow());
    }

    /// The 128×128 kernel gives what the 64×64 kernel gives, number for number (both add K in
    /// order with fma), with every transpose, β = 0 and 1, two batch items, rows and columns
    /// that do not fill the last tiles, with and without the epilogue; so it matches the CPU
    /// GEMM as the 64×64 kernel does (checked here too).
    #[test]
    fn the_large_tiles_give_the_square_tiles_numbers() {
        if !gpu_available() {
            return;
        }
        let shapes = [
            MatmulCase::new(1, 1024, 37, 1024),
            MatmulCase::new(2, 1100, 20, 1030),
        ];
        let bias_values = numbers(1030, 4);
        for case in shapes.into_iter().flat_map(MatmulCase::every_layout) {
            let err = check_case(case);
            assert!(err < 1e-5, "{case:?}: max relative difference {err}");
            let g = case.geometry();
            let a = GpuBuffer::upload(&numbers(case.batch * case.m * case.k, 1)).unwrap();
            let b = GpuBuffer::upload(&numbers(case.batch * case.k * case.n, 2)).unwrap();
            let c0 = numbers(case.batch * case.m * case.n, 3);
            let bias = GpuBuffer::upload(&bias_values[..case.n]).unwrap();
            for epilogue in [
                Epilogue::default(),
                Epilogue {
                    bias: Some(&bias),
                    relu: true,
                },
            ] {
                let [large, square] = [Tiles::Large, Tiles::Square].map(|tiles| {
                    let c = GpuBuffer::upload(&c0).unwrap();
                    let buffers = [&a, &b, &c, epilogue.bias_binding().unwrap()];
                    dispatch_tiles(&g, tiles, buffers, case.beta, &epilogue).unwrap();
                    c.download().unwrap()
                });
                assert!(
                    large == square,
                    "{case:?}, {epilogue:?}: the two tile shapes differ"
                );
            }
        }
    }

    /// Products of at least 2048 rows and columns take the 128×128 tiles; one fewer row or
    /// column, the 64×64 ones (only the shapes are looked at: nothing is computed).
    #[test]
    fn the_large_tiles_start_at_2048_rows_and_columns() {
        if !gpu_available() {
            return;
        }
        let tiles = |m, n| Tiles::for_product(&MatmulCase::new(1, m, 64, n).geometry());
        assert_eq!(tiles(2048, 2048), Tiles::Large);
        assert_eq!(tiles(4096, 3000), Tiles::Large);
        assert_eq!(tiles(2047, 2048), Tiles::Square);
        assert_eq!(tiles(2048, 2047), Tiles::Square);
        assert_eq!(tiles(1024, 1024), Tiles::Square);
    }

    /// Prints the tiles a 4096 × 4096 product takes in this process; run by the next test.
    #[test]
    fn print_the_tiles_of_a_large_product() {
        if !gpu_available() {
            return;
        }
        let g = MatmulCase::new(1, 4096, 64, 4096).geometry();
        println!("tiles: {:?}.", Tiles::for_product(&g));
    }

    /// `ASTROGRAD_GPU_LARGE_TILES=0` (read when the GPU opens, so in a child process) gives a
    /// large product the 64×64 tiles.
    #[test]
    fn astrograd_gpu_large_tiles_0_turns_them_off() {
        if !gpu_available() {
            return;
        }
        let child = |value| {
            crate::wgpu::testing::child_test_output(
                "wgpu::matmul::tests::print_the_tiles_of_a_large_product",
                super::super::LARGE_TILES_VARIABLE,
                value,
            )
        };
        assert!(child(Some("0")).contains("tiles: Square."));
        assert!(child(None).contains("tiles: Large."));
    }

    /// The epilogue gives what a product followed by a bias addition and a ReLU gives, on the
    /// direct path and on the split-K path (where the reduction applies it), for each of its
    /// parts alone and together.
    #[test]
    fn the_epilogue_adds_the_bias_per_column_then_applies_the_relu() {
        if !gpu_available() {
            return;
        }
        let cases = [
            MatmulCase::new(1, 37, 19, 23),
            // the narrow kernel
            MatmulCase::new(1, 400, 27, 16),
            // the 64×64 kernel on a product of over a thousand rows and columns (the large
            // kernel's epilogue is compared with it in the test above)
            MatmulCase::new(1, 1024, 13, 1030),
            MatmulCase {
                transpose_a: true,
                ..MatmulCase::new(1, 5, 3000, 7)
            },
            MatmulCase {
                beta: 1.0,
                ..MatmulCase::new(3, 9, 11, 70)
            },
        ];
        for case in cases {
            let g = case.geometry();
            let a = numbers(case.batch * case.m * case.k, 1);
            let b = numbers(case.batch * case.k * case.n, 2);
            let c0 = numbers(case.batch * case.m * case.n, 3);
            let bias = numbers(case.n, 4);
            let mut product = c0.clone();
            cpu_matmul(&g, &a, &b, case.beta, &mut product);
            let (ab, bb, biasb) = (
                GpuBuffer::upload(&a).unwrap(),
                GpuBuffer::upload(&b).unwrap(),
                GpuBuffer::upload(&bias).unwrap(),
            );
            for (with_bias, relu) in [(true, false), (false, true), (true, true)] {
                let expected: Vec<f32> = product
                    .iter()
                    .enumerate()
                    .map(|(e, &v)| {
                        let v = if with_bias { v + bias[e % case.n] } else { v };
                        if relu {
                            v.max(0.0)
                        } else {
                            v
                        }
                    })
                    .collect();
                let cb = GpuBuffer::upload(&c0).unwrap();
                let epilogue = Epilogue {
                    bias: with_bias.then_some(&biasb),
                    relu,
                };
                matmul_with(&g, &ab, &bb, case.beta, &cb, epilogue).unwrap();
                let got = cb.download().unwrap();
                let err = max_rel_diff(&got, &expected);
                let what = format!("{case:?}, bias {with_bias}, relu {relu}");
                assert!(err < 1e-5, "{what}: max relative difference {err}");
                if relu {
                    assert!(got.contains(&0.0), "{what}: the ReLU clipped nothing");
                }
            }
            let short = GpuBuffer::upload(&bias[..case.n - 1]).unwrap();
            let out = GpuBuffer::uninit(case.batch * case.m * case.n).unwrap();
            let bad = Epilogue {
                bias: Some(&short),
                relu: false,
            };
            let err = matmul_with(&g, &ab, &bb, 0.0, &out, bad).unwrap_err();
            assert!(err.to_string().contains("the bias must hold"), "{err}");
        }
    }

    #[test]
    fn blocks_inside_bigger_buffers_and_a_shared_b() {
        if !gpu_available() {
            return;
        }
        // A: the (5, 6) block at row 1, column 2 of a (7, 9) matrix; B shared by both items.
        let (m, k, n, batch) = (5, 6, 4, 2);
        let a = numbers(2 * 7 * 9, 6);
        let b = numbers(k * n, 7);
        let g = MatmulGeometry {
            a: MatLayout {
                offset: 9 + 2,
                batch_stride: 63,
                row_stride: 9,
                col_stride: 1,
            },
            b: MatLayout {
                batch_stride: 0,
                ..MatLayout::row_major(k, n)
            },
            ..MatmulGeometry::row_major(batch, m, k, n)
        };
        let mut expected = vec![0.0; batch * m * n];
        cpu_matmul(&g, &a, &b, 0.0, &mut expected);
        let (ab, bb) = (
            GpuBuffer::upload(&a).unwrap(),
            GpuBuffer::upload(&b).unwrap(),
        );
        let cb = GpuBuffer::upload(&vec![f32::NAN; batch * m * n]).unwrap();
        matmul(&g, &ab, &bb, 0.0, &cb).unwrap();
        let err = max_rel_diff(&cb.download().unwrap(), &expected);
        assert!(err < 1e-5, "max relative difference {err}");
    }

    #[test]
    fn a_layout_outside_its_buffer_or_an_aliased_output_is_an_error() {
        if !gpu_available() {
            return;
        }
        let g = MatmulGeometry::row_major(2, 3, 4, 5);
        let small = GpuBuffer::uninit(2 * 3 * 4 - 1).unwrap();
        let b = GpuBuffer::uninit(2 * 4 * 5).unwrap();
        let c = GpuBuffer::uninit(2 * 3 * 5).unwrap();
        let err = matmul(&g, &small, &b, 0.0, &c).unwrap_err().to_string();
        assert!(err.contains("A:") && err.contains("holds 23"), "{err}");
        let square = MatmulGeometry::row_major(1, 4, 4, 4);
        let x = GpuBuffer::uninit(16).unwrap();
        let err = matmul(&square, &x, &c, 0.0, &x).unwrap_err().to_string();
        assert!(err.contains("different buffer"), "{err}");
    }
}
