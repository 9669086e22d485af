//! 2-D convolution (Keras `Conv2D`) as im2col + GEMM, forward and backward.
//!
//! # Math
//!
//! Keras's "convolution" is a cross-correlation (the kernel is not flipped). For an input
//! `x: (N, H, W, C)`, a kernel `w: (KH, KW, C, F)`, strides `(sh, sw)`, dilations `(dh, dw)` and
//! padding `(pad_top, pad_left)`:
//!
//! ```text
//! y[n, oh, ow, f] = b[f] + Σ_{kh, kw, c} x[n, oh·sh + kh·dh − pad_top, ow·sw + kw·dw − pad_left, c] · w[kh, kw, c, f]
//! ```
//!
//! where `x` reads as 0 outside the image (the padding). The output size `(OH, OW)` and the
//! padding follow Keras's rules, written once in `kernels/src/geometry.rs`.
//!
//! # im2col: the convolution as one matrix product
//!
//! Write the receptive field of each output pixel `(oh, ow)` of one image as one row of a matrix:
//!
//! ```text
//! cols[(oh, ow), (kh, kw, c)] = x[n, oh·sh + kh·dh − pad_top, ow·sw + kw·dw − pad_left, c]
//! ```
//!
//! so `cols: (OH·OW, KH·KW·C)`. In NHWC the `C` values of one input pixel are contiguous, so a row
//! of `cols` is copied as `KH·KW` runs of `C` floats. Viewing the HWIO kernel as
//! `W: (KH·KW·C, F)` (no copy: that is its memory order),
//!
//! ```text
//! Y = cols · W + b        Y: (OH·OW, F), which *is* y of that image in NHWC order
//! ```
//!
//! # Backward: if we im2col on the forward, we col2im on the backward
//!
//! `Y = cols · W` is a plain matrix product, so its gradients are the matrix-product ones:
//!
//! ```text
//! dW    = Σ_n colsₙᵀ · dYₙ    (KH·KW·C, F)      — the weight sees every receptive field
//! db    = Σ_rows dY           (F)
//! dcols = dY · Wᵀ             (OH·OW, KH·KW·C)
//! dX    = col2im(dcols)       (H, W, C)
//! ```
//!
//! `col2im` is the adjoint of `im2col`: where im2col *copied* `x[n, ih, iw, c]` into every row whose
//! receptive field contains it, col2im *adds* each of those entries of `dcols` back into
//! `dx[n, ih, iw, c]` (entries that fell in the padding are dropped). Overlapping windows are why it
//! must add, not copy.
//!
//! Images are independent, so the forward and `dX` run in parallel over images, one `cols` buffer
//! per thread; `dW` sums the images in order, each product parallel inside the GEMM. Either way
//! the result does not depend on the number of threads.
//!
//! # Fast paths
//!
//! Each public function below first offers its work to `fast/conv.rs` (off under
//! `ASTROGRAD_KERNELS=portable`), which computes the same products faster: `cols` in
//! cache-sized tiles rather than whole images, transposed tiles for inputs with few channels,
//! 1×1 convolutions as one GEMM without im2col, and, on CPUs with AVX-512 or AVX2, a direct
//! convolution with the output held in registers (`fast/conv_direct.rs`). What follows the hook is the
//! textbook path, the one this page explains, which runs on any CPU.
use rayon::prelude::*;

use super::fast;
use super::gemm::{gemm, gemm_serial, MatRef};
use crate::geometry::Conv2dGeometry;

/// The activation a convolution applies to its sums as it writes them: Keras's `activation`
/// argument, for the one the course's CNNs use after every convolution. Fused, the ReLU costs
/// no pass of its own over the output (on the cats-vs-dogs CNN, fusing it took the training
/// epoch from 1.66 s to 1.37 s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvActivation {
    /// `y = conv2d(x, w) + b`.
    Linear,
    /// `y = max(conv2d(x, w) + b, 0)`.
    Relu,
}

/// The input pixel `(ih, iw)` that tap `(kh, kw)` of output pixel `(oh, ow)` reads, or `None`
/// when it falls in the padding: `ih = oh·sh + kh·dh − pad_top`, `iw = ow·sw + kw·dw − pad_left`.
fn input_pixel(
    g: &Conv2dGeometry,
    (oh, ow): (usize, usize),
    (kh, kw): (usize, usize),
) -> Option<(usize, usize)> {
    let ih = (oh * g.stride_h + kh * g.dilation_h).checked_sub(g.pad_top)?;
    let iw = (ow * g.stride_w + kw * g.dilation_w).checked_sub(g.pad_left)?;
    (ih < g.h && iw < g.w).then_some((ih, iw))
}

/// im2col of one image: `cols[(oh, ow), (kh, kw, c)] = x[ih, iw, c]`, with 0 where the tap falls
/// in the padding.
///
/// # Shapes
/// `x_image: (H, W, C)` → `cols: (OH·OW, KH·KW·C)` (overwritten).
fn im2col(g: &Conv2dGeometry, x_image: &[f32], cols: &mut [f32]) {
    for (pixel, row) in cols.chunks_exact_mut(g.patch_len()).enumerate() {
        let (oh, ow) = (pixel / g.ow, pixel % g.ow);
        for (tap, dst) in row.chunks_exact_mut(g.c).enumerate() {
            match input_pixel(g, (oh, ow), (tap / g.kw, tap % g.kw)) {
                Some((ih, iw)) => {
                    let src = (ih * g.w + iw) * g.c;
                    dst.copy_from_slice(&x_image[src..src + g.c]);
                }
                None => dst.fill(0.0),
            }
        }
    }
}

/// col2im of one image, the adjoint of [`im2col`]: every entry of `dcols` added back into the
/// input pixel it was copied from; entries that came from the padding are dropped.
///
/// # Shapes
/// `dcols: (OH·OW, KH·KW·C)` → `dx_image: (H, W, C)` (overwritten).
fn col2im(g: &Conv2dGeometry, dcols: &[f32], dx_image: &mut [f32]) {
    dx_image.fill(0.0);
    for (pixel, row) in dcols.chunks_exact(g.patch_len()).enumerate() {
        let (oh, ow) = (pixel / g.ow, pixel % g.ow);
        for (tap, src) in row.chunks_exact(g.c).enumerate() {
            if let Some((ih, iw)) = input_pixel(g, (oh, ow), (tap / g.kw, tap % g.kw)) {
                let dst = (ih * g.w + iw) * g.c;
                // Add, not copy: overlapping windows all read this pixel.
                dx_image[dst..dst + g.c]
                    .iter_mut()
                    .zip(src)
                    .for_each(|(d, s)| *d += s);
            }
        }
    }
}

/// Forward: `y = conv2d(x, w) + bias`, i.e. `Y = cols · W + b` image by image.
///
/// # Shapes
/// `x: (N, H, W, C)`, `w: (KH, KW, C, F)`, `bias: (F)`, `y: (N, OH, OW, F)` (overwritten).
///
/// # Panics
/// If a slice does not have the length `g` gives it.
pub fn conv2d_forward(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    conv2d_forward_activated(g, x, w, bias, ConvActivation::Linear, y);
}

/// [`conv2d_forward`] followed by `activation`, applied as the sums are written.
///
/// # Panics
/// As [`conv2d_forward`].
pub fn conv2d_forward_activated(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    activation: ConvActivation,
    y: &mut [f32],
) {
    assert_eq!(
        x.len(),
        g.n * g.h * g.w * g.c,
        "conv2d: x has the wrong size"
    );
    assert_eq!(w.len(), g.patch_len() * g.f, "conv2d: w has the wrong size");
    assert!(
        bias.is_none_or(|b| b.len() == g.f),
        "conv2d: bias has the wrong size"
    );
    assert_eq!(y.len(), g.pixels() * g.f, "conv2d: y has the wrong size");
    // Fast paths (tiles, 1×1, AVX-512/AVX2 direct): unless ASTROGRAD_KERNELS=portable.
    if fast::enabled() {
        return fast::conv::forward(g, x, w, bias, activation == ConvActivation::Relu, y);
    }
    forward_textbook(g, x, w, bias, activation, y);
}

/// [`conv2d_forward_activated`] into a fresh vector.
///
/// # Panics
/// As [`conv2d_forward`].
pub fn conv2d_forward_vec(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    activation: ConvActivation,
) -> Vec<f32> {
    // Fast paths, which also skip zeroing the fresh output: unless ASTROGRAD_KERNELS=portable.
    if fast::enabled() {
        return fast::conv::forward_vec(g, x, w, bias, activation == ConvActivation::Relu);
    }
    // y: (N, OH, OW, F)
    let mut y = vec![0.0; g.pixels() * g.f];
    conv2d_forward_activated(g, x, w, bias, activation, &mut y);
    y
}

/// The textbook forward: per image, `cols = im2col(x)`, then `Y = cols · W + b`.
fn forward_textbook(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    activation: ConvActivation,
    y: &mut [f32],
) {
    let (patch, f, pixels) = (g.patch_len(), g.f, g.oh * g.ow);
    // W: (KH·KW·C, F), the HWIO kernel as it lies in memory.
    let w_mat = MatRef::row_major(w, patch, f);
    y.par_chunks_mut(pixels * f)
        .zip(x.par_chunks(g.h * g.w * g.c))
        .for_each_init(
            // cols: (OH·OW, KH·KW·C), one image's receptive fields, one buffer per thread
            || vec![0.0f32; pixels * patch],
            |cols, (y_image, x_image)| {
                im2col(g, x_image, cols);
                // Y = cols · W + b: every row starts as the bias, and the GEMM adds (β = 1).
                for row in y_image.chunks_exact_mut(f) {
                    match bias {
                        Some(b) => row.copy_from_slice(b),
                        None => row.fill(0.0),
                    }
                }
                gemm_serial(MatRef::row_major(cols, pixels, patch), w_mat, 1.0, y_image);
                if activation == ConvActivation::Relu {
                    y_image.iter_mut().for_each(|v| *v = v.max(0.0));
                }
            },
        );
}

/// Backward to the input: `dx = col2im(dY · Wᵀ)`.
///
/// # Shapes
/// `dy: (N, OH, OW, F)`, `w: (KH, KW, C, F)`, `dx: (N, H, W, C)` (overwritten).
pub fn conv2d_backward_input(g: &Conv2dGeometry, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    debug_assert_eq!(dy.len(), g.pixels() * g.f);
    debug_assert_eq!(w.len(), g.patch_len() * g.f);
    debug_assert_eq!(dx.len(), g.n * g.h * g.w * g.c);
    // Fast paths (tiles, 1×1, AVX-512/AVX2 direct): unless ASTROGRAD_KERNELS=portable.
    if fast::enabled() {
        return fast::conv::backward_input(g, dy, w, dx);
    }
    backward_input_textbook(g, dy, w, dx);
}

/// The textbook `dX`: per image, `dcols = dY · Wᵀ`, then `dx = col2im(dcols)`.
fn backward_input_textbook(g: &Conv2dGeometry, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    let (patch, f, pixels) = (g.patch_len(), g.f, g.oh * g.ow);
    // Wᵀ: (F, KH·KW·C), a strided view of the kernel.
    let w_t = MatRef::row_major(w, patch, f).t();
    dx.par_chunks_mut(g.h * g.w * g.c)
        .zip(dy.par_chunks(pixels * f))
        .for_each_init(
            // dcols: (OH·OW, KH·KW·C), one buffer per thread
            || vec![0.0f32; pixels * patch],
            |dcols, (dx_image, dy_image)| {
                // dcols = dY · Wᵀ (β = 0: overwritten)
                gemm_serial(MatRef::row_major(dy_image, pixels, f), w_t, 0.0, dcols);
                col2im(g, dcols, dx_image);
            },
        );
}

/// Backward to the kernel: `dw = Σ_n colsₙᵀ · dYₙ`, image by image.
///
/// # Shapes
/// `x: (N, H, W, C)`, `dy: (N, OH, OW, F)`, `dw: (KH, KW, C, F)` (overwritten).
pub fn conv2d_backward_weight(g: &Conv2dGeometry, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    debug_assert_eq!(x.len(), g.n * g.h * g.w * g.c);
    debug_assert_eq!(dy.len(), g.pixels() * g.f);
    debug_assert_eq!(dw.len(), g.patch_len() * g.f);
    // Fast paths (tiles, 1×1, AVX-512/AVX2 direct): unless ASTROGRAD_KERNELS=portable.
    if fast::enabled() {
        return fast::conv::backward_weight(g, x, dy, dw);
    }
    backward_weight_textbook(g, x, dy, dw);
}

/// The textbook `dW`: per image, `cols = im2col(x)`, then `dW += colsᵀ · dY`.
fn backward_weight_textbook(g: &Conv2dGeometry, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    let (patch, f, pixels) = (g.patch_len(), g.f, g.oh * g.ow);
    // cols: (OH·OW, KH·KW·C), reused image after image
    let mut cols = vec![0.0f32; pixels * patch];
    for (n, (x_image, dy_image)) in x
        .chunks_exact(g.h * g.w * g.c)
        .zip(dy.chunks_exact(pixels * f))
        .enumerate()
    {
        im2col(g, x_image, &mut cols);
        // The first image overwrites dw (β = 0), the others add to it (β = 1).
        let beta = if n == 0 { 0.0 } else { 1.0 };
        gemm(
            MatRef::row_major(&cols, pixels, patch).t(),
            MatRef::row_major(dy_image, pixels, f),
            beta,
            dw,
        );
    }
}

/// Backward to the bias: `db = Σ_{n, oh, ow} dy[n, oh, ow, :]`.
///
/// # Shapes
/// `dy: (N, OH, OW, F)`, `db: (F)` (overwritten).
pub fn conv2d_backward_bias(g: &Conv2dGeometry, dy: &[f32], db: &mut [f32]) {
    debug_assert_eq!(dy.len(), g.pixels() * g.f);
    debug_assert_eq!(db.len(), g.f);
    sum_rows(dy, g.f, db);
}

/// Rows of `dy` summed per chunk; short chunks keep the f32 sums accurate.
const SUM_CHUNK_ROWS: usize = 1024;

/// `out[j] = Σ_i rows[i, j]` for `rows: (_, width)`: partial sums over fixed chunks of rows,
/// added in chunk order, so the result does not depend on the number of threads.
pub(crate) fn sum_rows(rows: &[f32], width: usize, out: &mut [f32]) {
    let partials: Vec<Vec<f32>> = rows
        .par_chunks(SUM_CHUNK_ROWS * width)
        .map(|chunk| {
            fast::vectorised(|| {
                let mut sum = vec![0.0f32; width];
                for row in chunk.chunks_exact(width) {
                    sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
                }
                sum
            })
        })
        .collect();
    out.fill(0.0);
    for partial in partials {
        out.iter_mut().zip(&partial).for_each(|(o, p)| *o += p);
    }
}

/// The whole `cols` matrix of `x`, one row per output pixel of every image: what the kernels
/// build one image (or one cache-sized tile) at a time and never whole. For teaching and
/// pictures (`examples/docs_figures.rs` draws it); the convolution itself does not call it.
///
/// # Shapes
/// `x: (N, H, W, C)` → `cols: (N·OH·OW, KH·KW·C)`.
///
/// # Panics
/// If `x.len()` is not `N·H·W·C` of `g`.
///
/// ```
/// use astrograd_kernels::cpu::conv::im2col_matrix;
/// use astrograd_kernels::geometry::{Conv2dGeometry, Padding};
/// let g = Conv2dGeometry::new([1, 4, 4, 1], [3, 3, 1, 1], [1, 1], [1, 1], Padding::Valid)?;
/// let x: Vec<f32> = (1..=16).map(|v| v as f32).collect();
/// let cols = im2col_matrix(&g, &x); // (4, 9): the four 3×3 windows, read row by row
/// assert_eq!(cols[9..18], [2.0, 3.0, 4.0, 6.0, 7.0, 8.0, 10.0, 11.0, 12.0]);
/// # Ok::<(), astrograd_kernels::KernelError>(())
/// ```
pub fn im2col_matrix(g: &Conv2dGeometry, x: &[f32]) -> Vec<f32> {
    let image_len = g.h * g.w * g.c;
    assert_eq!(
        x.len(),
        g.n * image_len,
        "im2col_matrix: x is not (N, H, W, C) of g"
    );
    // cols: (N·OH·OW, KH·KW·C)
    let mut cols = vec![0.0; g.pixels() * g.patch_len()];
    for (x_image, cols_image) in x
        .chunks_exact(image_len)
        .zip(cols.chunks_exact_mut(g.oh * g.ow * g.patch_len()))
    {
        im2col(g, x_image, cols_image);
    }
    cols
}

/// The whole col2im, the adjoint of [`im2col_matrix`]: every entry of `dcols` added back into
/// the input pixel it was copied from (entries from the padding are dropped). `col2im` of a
/// matrix of ones counts, in each pixel, the windows that read it. For teaching and pictures.
///
/// # Shapes
/// `dcols: (N·OH·OW, KH·KW·C)` → `dx: (N, H, W, C)`.
///
/// # Panics
/// If `dcols.len()` is not `N·OH·OW·KH·KW·C` of `g`.
pub fn col2im_matrix(g: &Conv2dGeometry, dcols: &[f32]) -> Vec<f32> {
    let image_len = g.h * g.w * g.c;
    assert_eq!(
        dcols.len(),
        g.pixels() * g.patch_len(),
        "col2im_matrix: dcols is not (N·OH·OW, KH·KW·C) of g"
    );
    // dx: (N, H, W, C)
    let mut dx = vec![0.0; g.n * image_len];
    for (dcols_image, dx_image) in dcols
        .chunks_exact(g.oh * g.ow * g.patch_len())
        .zip(dx.chunks_exact_mut(image_len))
    {
        col2im(g, dcols_image, dx_image);
    }
    dx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::naive::{
        conv2d_backward_bias_naive, conv2d_backward_input_naive, conv2d_backward_weight_naive,
        conv2d_forward_naive,
    };
    use crate::cpu::testing::{assert_close, random_vec, with_threads};
    use crate::geometry::Padding;
    use crate::KernelError;
    use proptest::prelude::*;

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
        stride: [usize; 2],
        dilation: [usize; 2],
        padding: Padding,
    }

    impl Conv2dCase {
        fn geometry(&self) -> Result<Conv2dGeometry, KernelError> {
            Conv2dGeometry::new(
                [self.n, self.h, self.w, self.c],
                [self.kh, self.kw, self.c, self.f],
                self.stride,
                self.dilation,
                self.padding,
            )
        }
    }

    /// The tensors of one test run, seeded.
    struct Data {
        x: Vec<f32>,
        w: Vec<f32>,
        b: Vec<f32>,
        dy: Vec<f32>,
    }

    fn data(g: &Conv2dGeometry) -> Data {
        Data {
            x: random_vec(g.n * g.h * g.w * g.c, 11),
            w: random_vec(g.kh * g.kw * g.c * g.f, 12),
            b: random_vec(g.f, 13),
            dy: random_vec(g.pixels() * g.f, 14),
        }
    }

    /// Forward, and the three backward kernels, as the public functions run them (the fast
    /// paths, unless `ASTROGRAD_KERNELS=portable`): `[y, dx, dw, db]`. Every output starts as NaN:
    /// each kernel must overwrite all of it.
    fn routed(g: &Conv2dGeometry, d: &Data) -> [Vec<f32>; 4] {
        let mut y = vec![f32::NAN; g.pixels() * g.f];
        conv2d_forward(g, &d.x, &d.w, Some(&d.b), &mut y);
        assert_eq!(
            conv2d_forward_vec(g, &d.x, &d.w, Some(&d.b), ConvActivation::Linear),
            y,
            "into fresh memory"
        );
        let relu: Vec<f32> = y.iter().map(|v| v.max(0.0)).collect();
        assert_eq!(
            conv2d_forward_vec(g, &d.x, &d.w, Some(&d.b), ConvActivation::Relu),
            relu,
            "with the ReLU fused"
        );
        let mut dx = vec![f32::NAN; d.x.len()];
        conv2d_backward_input(g, &d.dy, &d.w, &mut dx);
        let mut dw = vec![f32::NAN; d.w.len()];
        conv2d_backward_weight(g, &d.x, &d.dy, &mut dw);
        let mut db = vec![f32::NAN; g.f];
        conv2d_backward_bias(g, &d.dy, &mut db);
        [y, dx, dw, db]
    }

    /// The same through the textbook paths, whatever the switch says.
    fn textbook(g: &Conv2dGeometry, d: &Data) -> [Vec<f32>; 4] {
        let mut y = vec![f32::NAN; g.pixels() * g.f];
        forward_textbook(g, &d.x, &d.w, Some(&d.b), ConvActivation::Linear, &mut y);
        let mut relu = vec![f32::NAN; g.pixels() * g.f];
        forward_textbook(g, &d.x, &d.w, Some(&d.b), ConvActivation::Relu, &mut relu);
        assert!(
            relu.iter().zip(&y).all(|(r, y)| *r == y.max(0.0)),
            "with the ReLU"
        );
        let mut dx = vec![f32::NAN; d.x.len()];
        backward_input_textbook(g, &d.dy, &d.w, &mut dx);
        let mut dw = vec![f32::NAN; d.w.len()];
        backward_weight_textbook(g, &d.x, &d.dy, &mut dw);
        let mut db = vec![f32::NAN; g.f];
        conv2d_backward_bias(g, &d.dy, &mut db);
        [y, dx, dw, db]
    }

    fn naive(g: &Conv2dGeometry, d: &Data) -> [Vec<f32>; 4] {
        let mut y = vec![f32::NAN; g.pixels() * g.f];
        conv2d_forward_naive(g, &d.x, &d.w, Some(&d.b), &mut y);
        let mut dx = vec![f32::NAN; d.x.len()];
        conv2d_backward_input_naive(g, &d.dy, &d.w, &mut dx);
        let mut dw = vec![f32::NAN; d.w.len()];
        conv2d_backward_weight_naive(g, &d.x, &d.dy, &mut dw);
        let mut db = vec![f32::NAN; g.f];
        conv2d_backward_bias_naive(g, &d.dy, &mut db);
        [y, dx, dw, db]
    }

    /// Both paths of the kernels against the naive loops.
    fn check_against_naive(case: &Conv2dCase) {
        let g = case.geometry().unwrap();
        let d = data(&g);
        let slow = naive(&g, &d);
        for (path, result) in [("routed", routed(&g, &d)), ("textbook", textbook(&g, &d))] {
            for (name, (a, b)) in ["y", "dx", "dw", "db"].iter().zip(result.iter().zip(&slow)) {
                assert_close(a, b, 2e-5, &format!("{path} {name} of {case:?}"));
            }
        }
    }

    #[rustfmt::skip]
    const CASES: [Conv2dCase; 9] = [
        // The course's first conv layer, on a small batch.
        Conv2dCase { n: 2, h: 28, w: 28, c: 1, f: 12, kh: 3, kw: 3, stride: [1, 1], dilation: [1, 1], padding: Padding::Valid },
        // RGB input, 'same' padding.
        Conv2dCase { n: 2, h: 13, w: 11, c: 3, f: 5, kh: 3, kw: 3, stride: [1, 1], dilation: [1, 1], padding: Padding::Same },
        // Stride 2 with uneven 'same' padding, non-square kernel.
        Conv2dCase { n: 3, h: 9, w: 10, c: 4, f: 6, kh: 3, kw: 2, stride: [2, 2], dilation: [1, 1], padding: Padding::Same },
        // Many channels (pixel-major cols), stride 2, dilation, uneven 'same' padding.
        Conv2dCase { n: 2, h: 9, w: 11, c: 9, f: 5, kh: 3, kw: 3, stride: [2, 2], dilation: [1, 2], padding: Padding::Same },
        // Dilation.
        Conv2dCase { n: 1, h: 12, w: 12, c: 2, f: 3, kh: 3, kw: 3, stride: [1, 2], dilation: [2, 3], padding: Padding::Same },
        // 1×1 convolution: the plain-GEMM path.
        Conv2dCase { n: 2, h: 7, w: 5, c: 8, f: 16, kh: 1, kw: 1, stride: [1, 1], dilation: [1, 1], padding: Padding::Valid },
        // 1×1 with stride: the im2col path.
        Conv2dCase { n: 2, h: 7, w: 5, c: 8, f: 4, kh: 1, kw: 1, stride: [2, 2], dilation: [1, 1], padding: Padding::Same },
        // Many tiles per image (tile_rows is 16·⌊65536/(9·64)/16⌋ = 112 rows), several reduction chunks.
        Conv2dCase { n: 3, h: 40, w: 40, c: 64, f: 8, kh: 3, kw: 3, stride: [1, 1], dilation: [1, 1], padding: Padding::Same },
        // Small C (channel-major cols) with tiles that span two images (4096-row tiles, 4332 pixels).
        Conv2dCase { n: 3, h: 40, w: 40, c: 1, f: 3, kh: 3, kw: 3, stride: [1, 1], dilation: [1, 1], padding: Padding::Valid },
    ];

    #[test]
    fn kernels_match_naive_on_named_cases() {
        for case in &CASES {
            check_against_naive(case);
        }
    }

    #[test]
    fn results_do_not_depend_on_thread_count() {
        for case in [&CASES[2], &CASES[3], &CASES[5], &CASES[7], &CASES[8]] {
            let g = case.geometry().unwrap();
            let d = data(&g);
            for path in [routed, textbook] {
                let one = with_threads(1, || path(&g, &d));
                let three = with_threads(3, || path(&g, &d));
                for (a, b) in one.iter().zip(&three) {
                    assert!(
                        a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits()),
                        "{case:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn forward_without_bias_is_forward_with_zero_bias() {
        let g = CASES[1].geometry().unwrap();
        let d = data(&g);
        let (mut y0, mut y1) = (
            vec![f32::NAN; g.pixels() * g.f],
            vec![f32::NAN; g.pixels() * g.f],
        );
        conv2d_forward(&g, &d.x, &d.w, None, &mut y0);
        conv2d_forward(&g, &d.x, &d.w, Some(&vec![0.0; g.f]), &mut y1);
        assert_eq!(y0, y1);
    }

    /// Keras, TF 2.10: `Conv2D(1, 3, strides=2, padding='same')` on a 4×4 image gives a 2×2 output
    /// whose window (0, 0) covers rows and columns 0–2 — the extra padding row/column is at the
    /// bottom/right:
    /// ```python
    /// x = np.arange(16, dtype='float32').reshape(1, 4, 4, 1)
    /// conv = tf.keras.layers.Conv2D(1, 3, strides=2, padding='same', use_bias=False, kernel_initializer='ones')
    /// conv(x)[0, :, :, 0]  # [[45, 39], [66, 50]]
    /// ```
    #[test]
    fn keras_same_padding_puts_the_extra_pixel_bottom_right() {
        let g =
            Conv2dGeometry::new([1, 4, 4, 1], [3, 3, 1, 1], [2, 2], [1, 1], Padding::Same).unwrap();
        assert_eq!(
            (g.oh, g.ow, g.pad_top, g.pad_bottom, g.pad_left, g.pad_right),
            (2, 2, 0, 1, 0, 1)
        );
        let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let mut y = vec![0.0; 4];
        conv2d_forward(&g, &x, &[1.0; 9], None, &mut y);
        assert_eq!(y, [45.0, 39.0, 66.0, 50.0]);
    }

    /// The backward kernels are checked against the naive backward above; here the naive backward
    /// itself is checked against central finite differences of the naive forward, for the loss
    /// `L = Σ y ⊙ g` with a non-uniform `g` (so dL/dy = g).
    #[test]
    fn naive_backward_matches_finite_differences() {
        let case = Conv2dCase {
            n: 2,
            h: 5,
            w: 4,
            c: 2,
            f: 3,
            kh: 3,
            kw: 2,
            stride: [2, 1],
            dilation: [1, 1],
            padding: Padding::Same,
        };
        let g = case.geometry().unwrap();
        let d = data(&g);
        let loss = |x: &[f32], w: &[f32], b: &[f32]| -> f64 {
            let mut y = vec![0.0; g.pixels() * g.f];
            conv2d_forward_naive(&g, x, w, Some(b), &mut y);
            y.iter()
                .zip(&d.dy)
                .map(|(y, g)| *y as f64 * *g as f64)
                .sum()
        };
        let eps = 1e-2f32;
        let numeric = |which: usize| -> Vec<f32> {
            let mut params = [d.x.clone(), d.w.clone(), d.b.clone()];
            (0..params[which].len())
                .map(|i| {
                    let orig = params[which][i];
                    params[which][i] = orig + eps;
                    let up = loss(&params[0], &params[1], &params[2]);
                    params[which][i] = orig - eps;
                    let down = loss(&params[0], &params[1], &params[2]);
                    params[which][i] = orig;
                    ((up - down) / (2.0 * eps as f64)) as f32
                })
                .collect()
        };
        let mut dx = vec![0.0; d.x.len()];
        conv2d_backward_input_naive(&g, &d.dy, &d.w, &mut dx);
        let mut dw = vec![0.0; d.w.len()];
        conv2d_backward_weight_naive(&g, &d.x, &d.dy, &mut dw);
        let mut db = vec![0.0; g.f];
        conv2d_backward_bias_naive(&g, &d.dy, &mut db);
        assert_close(&dx, &numeric(0), 1e-3, "dx vs finite differences");
        assert_close(&dw, &numeric(1), 1e-3, "dw vs finite differences");
        assert_close(&db, &numeric(2), 1e-3, "db vs finite differences");
    }

    fn any_case() -> impl Strategy<Value = Conv2dCase> {
        (
            (
                1usize..3,
                1usize..9,
                1usize..9,
                prop::sample::select(vec![1usize, 2, 3, 4, 8, 9]),
                1usize..5,
            ),
            (
                1usize..4,
                1usize..4,
                1usize..4,
                1usize..4,
                1usize..3,
                1usize..3,
            ),
            prop::bool::ANY,
        )
            .prop_map(
                |((n, h, w, c, f), (kh, kw, sh, sw, dh, dw), same)| Conv2dCase {
                    n,
                    h,
                    w,
                    c,
                    f,
                    kh,
                    kw,
                    stride: [sh, sw],
                    dilation: [dh, dw],
                    padding: if same { Padding::Same } else { Padding::Valid },
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn kernels_match_naive_on_random_geometry(case in any_case()) {
            prop_assume!(case.geometry().is_ok());
            check_against_naive(&case);
        }
    }

    /// The tutorial's example (`docs/tutorials/2-convolution-as-im2col-gemm.md`): a 4×4 image
    /// of 1…16 and a 3×3 window give four rows; col2im of ones counts the windows of each pixel.
    #[test]
    fn the_whole_cols_matrix_is_the_tutorials_and_col2im_of_ones_counts_windows() {
        let g = Conv2dGeometry::new([1, 4, 4, 1], [3, 3, 1, 1], [1, 1], [1, 1], Padding::Valid)
            .unwrap();
        let x: Vec<f32> = (1..=16).map(|v| v as f32).collect();
        let cols = im2col_matrix(&g, &x);
        let expected_rows: [[f32; 9]; 4] = [
            [1., 2., 3., 5., 6., 7., 9., 10., 11.],
            [2., 3., 4., 6., 7., 8., 10., 11., 12.],
            [5., 6., 7., 9., 10., 11., 13., 14., 15.],
            [6., 7., 8., 10., 11., 12., 14., 15., 16.],
        ];
        assert_eq!(cols, expected_rows.concat());
        let counts = col2im_matrix(&g, &vec![1.0; cols.len()]);
        // Two images: two copies of each.
        let g2 = Conv2dGeometry { n: 2, ..g };
        let x2 = [x.clone(), x.clone()].concat();
        assert_eq!(
            im2col_matrix(&g2, &x2),
            [cols.clone(), cols.clone()].concat()
        );
        #[rustfmt::skip]
        let expected_counts = vec![
            1., 2., 2., 1.,
            2., 4., 4., 2.,
            2., 4., 4., 2.,
            1., 2., 2., 1.,
        ];
        assert_eq!(counts, expected_counts);
        let ones = vec![1.0; 2 * cols.len()];
        assert_eq!(
            col2im_matrix(&g2, &ones),
            [expected_counts.clone(), expected_counts].concat()
        );
    }
}
