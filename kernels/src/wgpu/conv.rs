//! 2-D convolution on the GPU: im2col + matmul, the same algorithm as [`crate::cpu::conv`].
//!
//! # Math
//! With `cols: (N·OH·OW, KH·KW·C)` the receptive fields (im2col) and `W: (KH·KW·C, F)` the HWIO
//! kernel as it lies in memory (see [`crate::cpu::conv`] for the derivation):
//!
//! ```text
//! forward          Y     = cols · W + b         (N·OH·OW, F) = y in NHWC order
//!                  (relu(cols · W + b) with activation='relu': the bias and the ReLU in the
//!                  product's epilogue)
//! backward input   dcols = dY · Wᵀ,  dX = col2im(dcols)
//! backward weight  dW    = colsᵀ · dY           (KH·KW·C, F)
//! backward bias    db    = Σ_rows dY            (F)
//! ```
//!
//! # Parallel scheme
//! - the forward makes no `cols`: it is an implicit GEMM, whose kernel reads each patch element
//!   from `x` where the product needs it, on the 64×64 tiles of the matmul
//!   (`shaders/conv_implicit_square.wgsl`) or, for at most 16 filters, its narrow 256×16 tiles
//!   (`shaders/conv_implicit.wgsl`).
//! - im2col (`shaders/im2col.wgsl`, one thread per element of `cols`) for the weight gradient
//!   of more than 16 filters.
//! - the products: [`super::matmul::matmul`], 64×64 tiles, split along `K` for `dW`.
//! - col2im (`shaders/col2im.wgsl`) is a *gather*: one thread per element of `dX` adds the
//!   `dcols` entries copied from it. The CPU scatters instead (adds each `dcols` entry into `dX`);
//!   on a GPU that would make threads race for the same `dX` element.
//! - `db` (`shaders/conv_bias.wgsl`): a workgroup tree reduction over blocks of 1024 rows, repeated
//!   on the partial sums until one row is left.
//!
//! With at most 16 filters (every course CNN's first layer) the weight gradient makes no `cols`
//! either: `shaders/conv_implicit_weight.wgsl` sums 16 taps × 16 filters per workgroup over a
//! slice of the pixels, gathering the patches from `x`.
//!
//! Where `cols` (or `dcols`) is made, it is made for the whole batch at once when it fits in
//! one binding of the GPU
//! ([`super::GpuContext`]'s `max_binding_bytes`, capped at [`COLS_BUDGET_BYTES`]), else in chunks
//! of whole images. A 1×1, stride-1, unpadded convolution needs no `cols`: it is `x` itself.
//!
//! As every kernel (see the crate doc), these overwrite their outputs.
use super::buffer::check_lengths;
use super::matmul::{add_slices, matmul, matmul_with, Epilogue, MatLayout, MatmulGeometry};
use super::{context, dispatch, grid_1d, groups_2d, Access, GpuBuffer, Kernel};
use crate::geometry::Conv2dGeometry;
use crate::KernelError;

const IM2COL: Kernel = Kernel {
    name: "conv2d.im2col",
    source: concat!(
        include_str!("shaders/conv_params.wgsl"),
        include_str!("shaders/im2col.wgsl")
    ),
    entry: "im2col_main",
    buffers: &[Access::Read, Access::ReadWrite],
};

const COL2IM: Kernel = Kernel {
    name: "conv2d.col2im",
    source: concat!(
        include_str!("shaders/conv_params.wgsl"),
        include_str!("shaders/col2im.wgsl")
    ),
    entry: "col2im_main",
    buffers: &[Access::Read, Access::ReadWrite],
};

/// The forward of a convolution with few filters as an implicit GEMM (patches read from x).
const CONV_IMPLICIT: Kernel = Kernel {
    name: "conv2d.implicit",
    source: concat!(
        include_str!("shaders/conv_params.wgsl"),
        include_str!("shaders/epilogue.wgsl"),
        include_str!("shaders/conv_window.wgsl"),
        include_str!("shaders/conv_implicit.wgsl")
    ),
    entry: "conv_implicit_main",
    // x, w, y, bias
    buffers: &[Access::Read, Access::Read, Access::ReadWrite, Access::Read],
};

/// The forward of a convolution with more filters as an implicit GEMM on 64×64 tiles.
const CONV_IMPLICIT_SQUARE: Kernel = Kernel {
    name: "conv2d.implicit_square",
    source: concat!(
        include_str!("shaders/conv_params.wgsl"),
        include_str!("shaders/epilogue.wgsl"),
        include_str!("shaders/conv_window.wgsl"),
        include_str!("shaders/conv_implicit_square.wgsl")
    ),
    entry: "conv_implicit_square_main",
    // x, w, y, bias
    buffers: &[Access::Read, Access::Read, Access::ReadWrite, Access::Read],
};

/// The weight gradient of a convolution with few filters as an implicit GEMM.
const CONV_IMPLICIT_WEIGHT: Kernel = Kernel {
    name: "conv2d.implicit_weight",
    source: concat!(
        include_str!("shaders/conv_params.wgsl"),
        include_str!("shaders/conv_window.wgsl"),
        include_str!("shaders/conv_implicit_weight.wgsl")
    ),
    entry: "conv_implicit_weight_main",
    // x, dy, dW or its partial sums
    buffers: &[Access::Read, Access::Read, Access::ReadWrite],
};

const SUM_ROWS: Kernel = Kernel {
    name: "conv2d.sum_rows",
    source: concat!(
        include_str!("shaders/conv_params.wgsl"),
        include_str!("shaders/conv_bias.wgsl")
    ),
    entry: "sum_rows_main",
    buffers: &[Access::Read, Access::ReadWrite],
};

/// Rows summed by one workgroup of `sum_rows` (`ROWS_PER_GROUP` in the shader).
const SUM_ROWS_PER_GROUP: usize = 1024;

/// The most bytes of `cols` made at once, even where the GPU binds more: a bigger buffer makes
/// each product a little faster but holds that much GPU memory for the whole step.
pub const COLS_BUDGET_BYTES: u64 = 1 << 30;

/// The parameter block of `shaders/conv_params.wgsl`, for the images `first .. first + images`.
fn words(g: &Conv2dGeometry, images: usize, offset: usize, count: usize, rows: usize) -> Vec<u32> {
    [
        images,
        g.h,
        g.w,
        g.c,
        g.f,
        g.kh,
        g.kw,
        g.stride_h,
        g.stride_w,
        g.dilation_h,
        g.dilation_w,
        g.pad_top,
        g.pad_left,
        g.oh,
        g.ow,
        offset,
        count,
        rows,
    ]
    .into_iter()
    .map(|v| v as u32)
    .collect()
}

/// Images per chunk of `cols`: as many as fit `budget` bytes, at least one.
fn images_per_chunk(g: &Conv2dGeometry, budget: u64) -> usize {
    let image_bytes = (g.oh * g.ow * g.patch_len() * 4) as u64;
    ((budget / image_bytes.max(1)) as usize).clamp(1, g.n)
}

/// The `cols` budget of this GPU: its binding limit, capped at [`COLS_BUDGET_BYTES`].
fn cols_budget() -> Result<u64, KernelError> {
    Ok(context()?.max_binding_bytes.min(COLS_BUDGET_BYTES))
}

/// Fills `cols: (images·OH·OW, KH·KW·C)` from the images `first .. first + images` of `x`.
fn im2col(
    g: &Conv2dGeometry,
    x: &GpuBuffer,
    first: usize,
    images: usize,
    cols: &GpuBuffer,
) -> Result<(), KernelError> {
    let count = images * g.oh * g.ow * g.patch_len();
    let words = words(g, images, first * g.h * g.w * g.c, count, 0);
    dispatch(&IM2COL, &words, &[x, cols], grid_1d(count))
}

/// Forward: `y = conv2d(x, w) + bias`, i.e. `Y = cols · W + b`.
///
/// # Shapes
/// `x: (N, H, W, C)`, `w: (KH, KW, C, F)`, `bias: (F)`, `y: (N, OH, OW, F)` (overwritten).
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if a buffer's length does not match `g`; GPU errors.
pub fn conv2d_forward(
    g: &Conv2dGeometry,
    x: &GpuBuffer,
    w: &GpuBuffer,
    bias: Option<&GpuBuffer>,
    y: &GpuBuffer,
) -> Result<(), KernelError> {
    conv2d_forward_activated(g, x, w, bias, false, y)
}

/// Forward with Keras's `activation='relu'` when `relu`: `y = relu(cols · W + b)`, the bias and
/// the ReLU applied by the product's epilogue ([`Epilogue`]) as each sum is finished, so the
/// layer costs the im2col and one product, no pass of its own over `y`.
///
/// # Shapes
/// As [`conv2d_forward`].
///
/// # Errors
/// As [`conv2d_forward`].
pub fn conv2d_forward_activated(
    g: &Conv2dGeometry,
    x: &GpuBuffer,
    w: &GpuBuffer,
    bias: Option<&GpuBuffer>,
    relu: bool,
    y: &GpuBuffer,
) -> Result<(), KernelError> {
    conv2d_forward_with(g, x, w, Epilogue { bias, relu }, y)
}

/// The forward with the product's epilogue: `x` itself for a pointwise convolution, else an
/// implicit GEMM on the tiles that suit the number of filters; no `cols` is made.
fn conv2d_forward_with(
    g: &Conv2dGeometry,
    x: &GpuBuffer,
    w: &GpuBuffer,
    epilogue: Epilogue,
    y: &GpuBuffer,
) -> Result<(), KernelError> {
    const OP: &str = "conv2d (GPU)";
    let (patch, f, image_pixels) = (g.patch_len(), g.f, g.oh * g.ow);
    check_lengths(
        OP,
        &[
            ("x", x, g.n * g.h * g.w * g.c),
            ("w", w, patch * f),
            ("y", y, g.n * image_pixels * f),
        ],
    )?;
    if let Some(b) = epilogue.bias {
        check_lengths(OP, &[("bias", b, f)])?;
    }
    if g.is_pointwise() {
        let product = MatmulGeometry::row_major(1, g.n * image_pixels, g.c, f);
        return matmul_with(&product, x, w, 0.0, y, epilogue);
    }
    conv2d_forward_implicit(g, x, w, epilogue, y)
}

/// Whether the convolution has few filters (at most 16) and enough output pixels for the
/// narrow 256×16 tiles: its forward then takes the narrow implicit kernel, and its weight
/// gradient reads its patches from `x` too. The narrow forward bought, on lavapipe,
/// 0.46 → 0.33 s for 150×150×3 → 16 at batch 20 (docs/gpu.md has the table).
fn has_few_filters(g: &Conv2dGeometry) -> bool {
    !g.is_pointwise()
        && MatmulGeometry::row_major(1, g.n * g.oh * g.ow, g.patch_len(), g.f).is_narrow()
}

/// The forward as an implicit GEMM: `Y = cols · W` with every element of `cols` read from `x`
/// where the product needs it, so no `cols` is made; the epilogue as in [`matmul_with`]. Few
/// filters take the narrow tiles (`shaders/conv_implicit.wgsl`), more the 64×64 ones
/// (`shaders/conv_implicit_square.wgsl`), which bought, on lavapipe, 924 → 649 ms for the
/// forward of 74×74×16 → 32 at batch 20 and 403 → 291 ms for 36×36×32 → 64 against im2col,
/// besides the `cols` they do not make (60 and 30 MB).
fn conv2d_forward_implicit(
    g: &Conv2dGeometry,
    x: &GpuBuffer,
    w: &GpuBuffer,
    epilogue: Epilogue,
    y: &GpuBuffer,
) -> Result<(), KernelError> {
    let rows = g.n * g.oh * g.ow;
    let mut words = words(g, g.n, 0, 0, 0);
    words.extend([u32::from(epilogue.bias.is_some()), u32::from(epilogue.relu)]);
    let bias = epilogue.bias_binding()?;
    // One workgroup per tile of output pixels (and, on the square tiles, of filters): the
    // pixel tiles across x and y, the filter tiles along z.
    let (kernel, rows_per_tile, filter_tiles) = if has_few_filters(g) {
        (&CONV_IMPLICIT, 256, 1)
    } else {
        (&CONV_IMPLICIT_SQUARE, 64, g.f.div_ceil(64))
    };
    let [gx, gy, _] = groups_2d(rows.div_ceil(rows_per_tile) as u32);
    dispatch(
        kernel,
        &words,
        &[x, w, y, bias],
        [gx, gy, filter_tiles as u32],
    )
}

/// The forward through `cols`: im2col, then the product, in chunks of whole images that keep
/// `cols` within `budget` bytes. The textbook form the implicit kernels replace, kept as the
/// reference their tests compare with, bit for bit.
#[cfg(test)]
fn conv2d_forward_im2col(
    g: &Conv2dGeometry,
    x: &GpuBuffer,
    w: &GpuBuffer,
    epilogue: Epilogue,
    y: &GpuBuffer,
    budget: u64,
) -> Result<(), KernelError> {
    let (patch, f, image_pixels) = (g.patch_len(), g.f, g.oh * g.ow);
    let chunk = images_per_chunk(g, budget);
    // cols: (chunk·OH·OW, KH·KW·C)
    let cols = GpuBuffer::uninit(chunk * image_pixels * patch)?;
    for first in (0..g.n).step_by(chunk) {
        let images = chunk.min(g.n - first);
        im2col(g, x, first, images, &cols)?;
        let rows = images * image_pixels;
        let product = MatmulGeometry {
            c: MatLayout::row_major(rows, f).at(first * image_pixels * f),
            ..MatmulGeometry::row_major(1, rows, patch, f)
        };
        matmul_with(&product, &cols, w, 0.0, y, epilogue)?;
    }
    Ok(())
}

/// Backward to the input: `dx = col2im(dY · Wᵀ)`.
///
/// # Shapes
/// `dy: (N, OH, OW, F)`, `w: (KH, KW, C, F)`, `dx: (N, H, W, C)` (overwritten).
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if a buffer's length does not match `g`; GPU errors.
pub fn conv2d_backward_input(
    g: &Conv2dGeometry,
    dy: &GpuBuffer,
    w: &GpuBuffer,
    dx: &GpuBuffer,
) -> Result<(), KernelError> {
    conv2d_backward_input_chunked(g, dy, w, dx, cols_budget()?)
}

fn conv2d_backward_input_chunked(
    g: &Conv2dGeometry,
    dy: &GpuBuffer,
    w: &GpuBuffer,
    dx: &GpuBuffer,
    budget: u64,
) -> Result<(), KernelError> {
    let (patch, f, image_pixels) = (g.patch_len(), g.f, g.oh * g.ow);
    check_lengths(
        "conv2d backward input (GPU)",
        &[
            ("dy", dy, g.n * image_pixels * f),
            ("w", w, patch * f),
            ("dx", dx, g.n * g.h * g.w * g.c),
        ],
    )?;
    // Wᵀ: (F, KH·KW·C), a strided view of the kernel.
    let w_t = MatLayout::row_major(patch, f).t();
    if g.is_pointwise() {
        let product = MatmulGeometry {
            b: w_t,
            ..MatmulGeometry::row_major(1, g.n * image_pixels, f, g.c)
        };
        return matmul(&product, dy, w, 0.0, dx);
    }
    let chunk = images_per_chunk(g, budget);
    // dcols: (chunk·OH·OW, KH·KW·C)
    let dcols = GpuBuffer::uninit(chunk * image_pixels * patch)?;
    let image_len = g.h * g.w * g.c;
    for first in (0..g.n).step_by(chunk) {
        let images = chunk.min(g.n - first);
        let rows = images * image_pixels;
        let product = MatmulGeometry {
            a: MatLayout::row_major(rows, f).at(first * image_pixels * f),
            b: w_t,
            ..MatmulGeometry::row_major(1, rows, f, patch)
        };
        matmul(&product, dy, w, 0.0, &dcols)?;
        let count = images * image_len;
        let words = words(g, images, first * image_len, count, 0);
        dispatch(&COL2IM, &words, &[&dcols, dx], grid_1d(count))?;
    }
    Ok(())
}

/// Backward to the kernel: `dw = colsᵀ · dY`, summed chunk after chunk.
///
/// # Shapes
/// `x: (N, H, W, C)`, `dy: (N, OH, OW, F)`, `dw: (KH, KW, C, F)` (overwritten).
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if a buffer's length does not match `g`; GPU errors.
pub fn conv2d_backward_weight(
    g: &Conv2dGeometry,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    dw: &GpuBuffer,
) -> Result<(), KernelError> {
    conv2d_backward_weight_chunked(g, x, dy, dw, cols_budget()?)
}

fn conv2d_backward_weight_chunked(
    g: &Conv2dGeometry,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    dw: &GpuBuffer,
    budget: u64,
) -> Result<(), KernelError> {
    let (patch, f, image_pixels) = (g.patch_len(), g.f, g.oh * g.ow);
    check_lengths(
        "conv2d backward weight (GPU)",
        &[
            ("x", x, g.n * g.h * g.w * g.c),
            ("dy", dy, g.n * image_pixels * f),
            ("dw", dw, patch * f),
        ],
    )?;
    if g.is_pointwise() {
        // colsᵀ = Xᵀ: (C, N·H·W)
        let pixels = g.n * image_pixels;
        let product = MatmulGeometry {
            a: MatLayout::row_major(pixels, g.c).t(),
            ..MatmulGeometry::row_major(1, g.c, pixels, f)
        };
        return matmul(&product, x, dy, 0.0, dw);
    }
    if has_few_filters(g) {
        return conv2d_backward_weight_implicit(g, x, dy, dw);
    }
    conv2d_backward_weight_im2col(g, x, dy, dw, budget)
}

/// The weight gradient through `cols`: im2col, then `colsᵀ · dY`, in chunks of whole images that
/// keep `cols` within `budget` bytes, each chunk's product added to `dW`.
fn conv2d_backward_weight_im2col(
    g: &Conv2dGeometry,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    dw: &GpuBuffer,
    budget: u64,
) -> Result<(), KernelError> {
    let (patch, f, image_pixels) = (g.patch_len(), g.f, g.oh * g.ow);
    let chunk = images_per_chunk(g, budget);
    // cols: (chunk·OH·OW, KH·KW·C)
    let cols = GpuBuffer::uninit(chunk * image_pixels * patch)?;
    for first in (0..g.n).step_by(chunk) {
        let images = chunk.min(g.n - first);
        im2col(g, x, first, images, &cols)?;
        let rows = images * image_pixels;
        let product = MatmulGeometry {
            a: MatLayout::row_major(rows, patch).t(),
            b: MatLayout::row_major(rows, f).at(first * image_pixels * f),
            ..MatmulGeometry::row_major(1, patch, rows, f)
        };
        // The first chunk writes dW, the later ones add to it.
        let beta = if first == 0 { 0.0 } else { 1.0 };
        matmul(&product, &cols, dy, beta, dw)?;
    }
    Ok(())
}

/// The weight gradient as an implicit GEMM (`shaders/conv_implicit_weight.wgsl`):
/// `dW = colsᵀ · dY` with every element of `cols` read from `x` where the product needs it. The
/// pixel axis is cut into the slices the im2col path's product would use
/// ([`MatmulGeometry::k_split`]) and the slices are added in order ([`add_slices`]): the same
/// numbers as im2col + matmul, without the `cols` matrix or its kernel.
fn conv2d_backward_weight_implicit(
    g: &Conv2dGeometry,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    dw: &GpuBuffer,
) -> Result<(), KernelError> {
    let (patch, pixels) = (g.patch_len(), g.n * g.oh * g.ow);
    let product = MatmulGeometry::row_major(1, patch, pixels, g.f);
    let (splits, k_slice) = product.k_split();
    let mut words = words(g, g.n, 0, 0, 0);
    // has_bias, relu (unused here), then the slices.
    words.extend([0, 0, splits as u32, k_slice as u32]);
    // One workgroup per 16 taps (`TAPS` in the shader) and slice.
    let groups = [patch.div_ceil(16) as u32, splits as u32, 1];
    if splits == 1 {
        return dispatch(&CONV_IMPLICIT_WEIGHT, &words, &[x, dy, dw], groups);
    }
    // partial: (splits, KH·KW·C, F)
    let partial = GpuBuffer::uninit(splits * patch * g.f)?;
    dispatch(&CONV_IMPLICIT_WEIGHT, &words, &[x, dy, &partial], groups)?;
    add_slices(&product, &partial, dw, 0.0, splits, &Epilogue::default())
}

/// Backward to the bias: `db = Σ_{n, oh, ow} dy[n, oh, ow, :]`.
///
/// # Shapes
/// `dy: (N, OH, OW, F)`, `db: (F)` (overwritten).
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if a buffer's length does not match `g`; GPU errors.
pub fn conv2d_backward_bias(
    g: &Conv2dGeometry,
    dy: &GpuBuffer,
    db: &GpuBuffer,
) -> Result<(), KernelError> {
    check_lengths(
        "conv2d backward bias (GPU)",
        &[("dy", dy, g.n * g.oh * g.ow * g.f), ("db", db, g.f)],
    )?;
    sum_rows(g, dy, g.n * g.oh * g.ow, db)
}

/// `out[j] = Σ_i src[i, j]` for `src: (rows, F)`: passes of the workgroup reduction, each
/// cutting the rows 1024-fold, until one row is left.
fn sum_rows(
    g: &Conv2dGeometry,
    src: &GpuBuffer,
    rows: usize,
    out: &GpuBuffer,
) -> Result<(), KernelError> {
    let column_groups = g.f.div_ceil(16) as u32;
    let mut rows = rows;
    let mut partial: Option<GpuBuffer> = None;
    loop {
        let groups = rows.div_ceil(SUM_ROWS_PER_GROUP);
        if groups > u16::MAX as usize {
            return Err(KernelError::GpuLimit {
                op: "conv2d backward bias",
                msg: format!("{rows} rows of dy are more than one reduction pass handles"),
            });
        }
        let input = partial.as_ref().unwrap_or(src);
        let words = words(g, 0, 0, 0, rows);
        if groups <= 1 {
            return dispatch(&SUM_ROWS, &words, &[input, out], [column_groups, 1, 1]);
        }
        // next: (groups, F), this pass's partial sums
        let next = GpuBuffer::uninit(groups * g.f)?;
        dispatch(
            &SUM_ROWS,
            &words,
            &[input, &next],
            [column_groups, groups as u32, 1],
        )?;
        partial = Some(next);
        rows = groups;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::conv as cpu;
    use crate::geometry::Padding;
    use crate::wgpu::testing::{gpu_available, max_rel_diff, numbers};

    /// One convolution to test: input (n, h, w, c), kernel (kh, kw, c, f).
    #[derive(Debug, Clone, Copy)]
    struct Conv2dCase {
        n: usize,
        h: usize,
        w: usize,
        c: usize,
        f: usize,
        kh: usize,
        kw: usize,
        stride: usize,
        dilation: usize,
        padding: Padding,
    }

    impl Conv2dCase {
        fn geometry(&self) -> Conv2dGeometry {
            Conv2dGeometry::new(
                [self.n, self.h, self.w, self.c],
                [self.kh, self.kw, self.c, self.f],
                [self.stride, self.stride],
                [self.dilation, self.dilation],
                self.padding,
            )
            .unwrap()
        }
    }

    const BASE: Conv2dCase = Conv2dCase {
        n: 2,
        h: 7,
        w: 6,
        c: 3,
        f: 5,
        kh: 3,
        kw: 3,
        stride: 1,
        dilation: 1,
        padding: Padding::Valid,
    };

    fn cases() -> Vec<Conv2dCase> {
        vec![
            BASE,
            Conv2dCase {
                padding: Padding::Same,
                ..BASE
            },
            Conv2dCase {
                stride: 2,
                padding: Padding::Same,
                ..BASE
            },
            Conv2dCase { stride: 2, ..BASE },
            Conv2dCase {
                dilation: 2,
                ..BASE
            },
            Conv2dCase {
                dilation: 2,
                padding: Padding::Same,
                ..BASE
            },
            Conv2dCase {
                c: 1,
                f: 4,
                kh: 2,
                kw: 3,
                ..BASE
            },
            Conv2dCase {
                n: 3,
                h: 5,
                w: 5,
                c: 4,
                f: 3,
                kh: 1,
                kw: 1,
                ..BASE
            },
            Conv2dCase {
                n: 1,
                h: 9,
                w: 8,
                c: 2,
                f: 1,
                kh: 1,
                kw: 1,
                stride: 2,
                ..BASE
            },
        ]
    }

    /// Max relative differences of (y, dx, dw, db, relu(y)) between the GPU and the CPU kernels,
    /// with the backward's `cols` made in chunks of at most `budget` bytes.
    fn compare(case: Conv2dCase, budget: u64) -> [f32; 5] {
        let g = case.geometry();
        let x = numbers(g.n * g.h * g.w * g.c, 1);
        let w = numbers(g.patch_len() * g.f, 2);
        let b = numbers(g.f, 3);
        let y_len = g.n * g.oh * g.ow * g.f;
        let dy = numbers(y_len, 4);
        let mut y = vec![0.0; y_len];
        cpu::conv2d_forward(&g, &x, &w, Some(&b), &mut y);
        let mut dx = vec![0.0; x.len()];
        cpu::conv2d_backward_input(&g, &dy, &w, &mut dx);
        let mut dw = vec![0.0; w.len()];
        cpu::conv2d_backward_weight(&g, &x, &dy, &mut dw);
        let mut db = vec![0.0; g.f];
        cpu::conv2d_backward_bias(&g, &dy, &mut db);

        let up = |v: &[f32]| GpuBuffer::upload(v).unwrap();
        let (xg, wg, bg, dyg) = (up(&x), up(&w), up(&b), up(&dy));
        // Outputs start as NaN: every kernel must write all of its output.
        let nan = |len: usize| up(&vec![f32::NAN; len]);
        let (yg, dxg, dwg, dbg) = (nan(y_len), nan(x.len()), nan(w.len()), nan(g.f));
        let linear = Epilogue {
            bias: Some(&bg),
            relu: false,
        };
        conv2d_forward_with(&g, &xg, &wg, linear, &yg).unwrap();
        // With Keras's activation='relu', fused into the product.
        let relu = Epilogue {
            relu: true,
            ..linear
        };
        let y_relu = nan(y_len);
        conv2d_forward_with(&g, &xg, &wg, relu, &y_relu).unwrap();
        let expected_relu: Vec<f32> = y.iter().map(|v| v.max(0.0)).collect();
        conv2d_backward_input_chunked(&g, &dyg, &wg, &dxg, budget).unwrap();
        conv2d_backward_weight_chunked(&g, &xg, &dyg, &dwg, budget).unwrap();
        conv2d_backward_bias(&g, &dyg, &dbg).unwrap();
        [
            max_rel_diff(&yg.download().unwrap(), &y),
            max_rel_diff(&dxg.download().unwrap(), &dx),
            max_rel_diff(&dwg.download().unwrap(), &dw),
            max_rel_diff(&dbg.download().unwrap(), &db),
            max_rel_diff(&y_relu.download().unwrap(), &expected_relu),
        ]
    }

    #[test]
    fn forward_and_backward_match_the_cpu_kernels() {
        if !gpu_available() {
            return;
        }
        for case in cases() {
            let errs = compare(case, COLS_BUDGET_BYTES);
            assert!(
                errs.iter().all(|&e| e < 1e-5),
                "{case:?}: y, dx, dw, db, relu(y) differ by {errs:?}"
            );
        }
    }

    /// The forward of `case` reads its patches from `x`: the numbers of im2col + the product
    /// bit for bit, and the CPU's within 1e-5, with a bias, without and with a ReLU. Returns
    /// the GPU's `x` (uploaded once for the callers' further checks).
    fn assert_forward_reads_patches_from_x(case: Conv2dCase) -> GpuBuffer {
        let g = case.geometry();
        let x = numbers(g.n * g.h * g.w * g.c, 1);
        let w = numbers(g.patch_len() * g.f, 2);
        let b = numbers(g.f, 3);
        let y_len = g.n * g.oh * g.ow * g.f;
        let mut y = vec![0.0; y_len];
        cpu::conv2d_forward(&g, &x, &w, Some(&b), &mut y);
        let up = |v: &[f32]| GpuBuffer::upload(v).unwrap();
        let (xg, wg, bg) = (up(&x), up(&w), up(&b));
        for relu in [false, true] {
            let epilogue = Epilogue {
                bias: Some(&bg),
                relu,
            };
            let (implicit, through_cols) = (up(&vec![f32::NAN; y_len]), up(&vec![f32::NAN; y_len]));
            conv2d_forward_with(&g, &xg, &wg, epilogue, &implicit).unwrap();
            conv2d_forward_im2col(&g, &xg, &wg, epilogue, &through_cols, COLS_BUDGET_BYTES)
                .unwrap();
            let implicit = implicit.download().unwrap();
            assert!(
                implicit == through_cols.download().unwrap(),
                "{case:?}, relu {relu}: the implicit and im2col forwards differ"
            );
            let expected: Vec<f32> = y
                .iter()
                .map(|&v| if relu { v.max(0.0) } else { v })
                .collect();
            let err = max_rel_diff(&implicit, &expected);
            assert!(err < 1e-5, "{case:?}, relu {relu}: {err}");
        }
        xg
    }

    /// With few filters and enough output pixels the forward (narrow tiles) and the weight
    /// gradient read their patches from `x` (no `cols`): the numbers of im2col + the product
    /// bit for bit, and the CPU's within 1e-5 (1e-4 for the long sums of `dW`), with padding,
    /// strides, dilation, one or several channels, a bias, a ReLU, a last tile that is not
    /// full, and the pixels in one slice or several.
    #[test]
    fn few_filters_read_their_patches_from_x() {
        if !gpu_available() {
            return;
        }
        let cases = [
            Conv2dCase {
                h: 20,
                w: 17,
                f: 12,
                ..BASE
            },
            Conv2dCase {
                n: 3,
                h: 24,
                w: 24,
                c: 1,
                f: 16,
                stride: 2,
                padding: Padding::Same,
                ..BASE
            },
            Conv2dCase {
                n: 1,
                h: 30,
                w: 30,
                c: 2,
                dilation: 2,
                ..BASE
            },
            // 27 taps (two workgroups of 16), thousands of pixels (many slices).
            Conv2dCase {
                n: 4,
                h: 40,
                w: 37,
                c: 3,
                f: 16,
                ..BASE
            },
        ];
        let mut slices = std::collections::BTreeSet::new();
        for case in cases {
            let g = case.geometry();
            assert!(has_few_filters(&g), "{case:?} must take the narrow tiles");
            let xg = assert_forward_reads_patches_from_x(case);
            // The weight gradient, in one slice of pixels or several.
            let x = numbers(g.n * g.h * g.w * g.c, 1);
            let dy = numbers(g.n * g.oh * g.ow * g.f, 4);
            let w_len = g.patch_len() * g.f;
            let mut dw = vec![0.0; w_len];
            cpu::conv2d_backward_weight(&g, &x, &dy, &mut dw);
            let up = |v: &[f32]| GpuBuffer::upload(v).unwrap();
            let dyg = up(&dy);
            let (implicit, through_cols) = (up(&vec![f32::NAN; w_len]), up(&vec![f32::NAN; w_len]));
            conv2d_backward_weight_implicit(&g, &xg, &dyg, &implicit).unwrap();
            conv2d_backward_weight_im2col(&g, &xg, &dyg, &through_cols, COLS_BUDGET_BYTES).unwrap();
            let implicit = implicit.download().unwrap();
            let splits = MatmulGeometry::row_major(1, g.patch_len(), g.n * g.oh * g.ow, g.f)
                .k_split()
                .0;
            slices.insert(splits);
            assert!(
                implicit == through_cols.download().unwrap(),
                "{case:?}: dW, {splits} slices: the implicit and im2col gradients differ"
            );
            // Sums of up to thousands of products, added in another order than the CPU's.
            let err = max_rel_diff(&implicit, &dw);
            assert!(err < 1e-4, "{case:?}: dW, {splits} slices: {err}");
        }
        assert!(
            slices.contains(&1) && slices.iter().any(|&s| s > 2),
            "the cases must cover one slice and several: {slices:?}"
        );
    }

    /// With more filters (or too few output pixels for the narrow tiles) the forward reads its
    /// patches from `x` on the 64×64 tiles: im2col's numbers bit for bit and the CPU's within
    /// 1e-5, with the course's deeper layers' filter counts, a filter count that leaves the last
    /// tile of filters partial, padding, strides, dilation and one channel.
    #[test]
    fn more_filters_read_their_patches_from_x_on_square_tiles() {
        if !gpu_available() {
            return;
        }
        let cases = [
            Conv2dCase {
                h: 20,
                w: 17,
                c: 16,
                f: 32,
                ..BASE
            },
            Conv2dCase {
                n: 3,
                h: 15,
                w: 16,
                c: 32,
                f: 64,
                stride: 2,
                padding: Padding::Same,
                ..BASE
            },
            Conv2dCase {
                n: 1,
                h: 21,
                w: 23,
                c: 1,
                f: 70,
                dilation: 2,
                ..BASE
            },
            // Few filters, but too few pixels for the narrow tiles.
            Conv2dCase {
                n: 1,
                h: 9,
                w: 9,
                f: 8,
                ..BASE
            },
        ];
        for case in cases {
            assert!(!has_few_filters(&case.geometry()), "{case:?}");
            assert_forward_reads_patches_from_x(case);
        }
    }

    #[test]
    fn cols_in_chunks_of_one_image_give_the_same_result() {
        if !gpu_available() {
            return;
        }
        for case in [
            Conv2dCase {
                n: 3,
                stride: 2,
                padding: Padding::Same,
                ..BASE
            },
            Conv2dCase {
                n: 3,
                dilation: 2,
                ..BASE
            },
        ] {
            // A budget of one byte: one image per chunk.
            assert_eq!(images_per_chunk(&case.geometry(), 1), 1);
            let errs = compare(case, 1);
            assert!(
                errs.iter().all(|&e| e < 1e-5),
                "{case:?}: y, dx, dw, db, relu(y) differ by {errs:?}"
            );
        }
    }

    #[test]
    fn without_bias_and_with_a_long_bias_reduction() {
        if !gpu_available() {
            return;
        }
        // 2·40·40 = 3200 output rows: the bias gradient takes two reduction passes.
        let g = Conv2dCase {
            n: 2,
            h: 40,
            w: 40,
            c: 1,
            f: 17,
            kh: 3,
            kw: 3,
            padding: Padding::Same,
            ..BASE
        }
        .geometry();
        let x = numbers(g.n * g.h * g.w, 5);
        let w = numbers(9 * g.f, 6);
        let mut y = vec![0.0; g.n * g.oh * g.ow * g.f];
        cpu::conv2d_forward(&g, &x, &w, None, &mut y);
        let mut db = vec![0.0; g.f];
        cpu::conv2d_backward_bias(&g, &y, &mut db);
        let (xg, wg) = (
            GpuBuffer::upload(&x).unwrap(),
            GpuBuffer::upload(&w).unwrap(),
        );
        let (yg, dbg) = (
            GpuBuffer::uninit(y.len()).unwrap(),
            GpuBuffer::uninit(g.f).unwrap(),
        );
        conv2d_forward(&g, &xg, &wg, None, &yg).unwrap();
        conv2d_backward_bias(&g, &yg, &dbg).unwrap();
        let err_y = max_rel_diff(&yg.download().unwrap(), &y);
        let err_db = max_rel_diff(&dbg.download().unwrap(), &db);
        assert!(
            err_y < 1e-5 && err_db < 1e-4,
            "y differs by {err_y}, db by {err_db}"
        );
    }

    #[test]
    fn a_buffer_of_the_wrong_length_is_an_error() {
        if !gpu_available() {
            return;
        }
        let g = BASE.geometry();
        let x = GpuBuffer::uninit(g.n * g.h * g.w * g.c).unwrap();
        let w = GpuBuffer::uninit(g.patch_len() * g.f + 1).unwrap();
        let y = GpuBuffer::uninit(g.n * g.oh * g.ow * g.f).unwrap();
        let err = conv2d_forward(&g, &x, &w, None, &y)
            .unwrap_err()
            .to_string();
        assert!(err.contains("w must hold 135 numbers, found 136"), "{err}");
    }
}
