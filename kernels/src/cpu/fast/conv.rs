//! The fast paths of the convolution (`cpu/conv.rs` holds the textbook one and the hooks): the
//! same im2col + GEMM, cut into cache-sized tiles, with three shortcuts.
//!
//! # Tiles instead of images
//!
//! `cols` for a whole image can be large (a 150×150×3 image: 21 904 rows of 27 floats), and a
//! GEMM that reads it after im2col wrote it finds little of it in cache. Here the output pixels
//! are cut into tiles of [`tile_rows`] rows, chosen so that one tile of `cols` fits in the L2 cache,
//! and each tile does its own im2col + GEMM. Tiles run in parallel (rayon), each with a
//! single-threaded GEMM. The tiles depend only on the shapes, and the per-tile partial sums of
//! `dW` are added in tile order, so the results are bit-identical whatever the number of threads.
//! `dX` is parallel over images, so col2im writes never overlap.
//!
//! # Shortcuts
//!
//! - **Few channels** (RGB, grey): `cols` tiles are stored transposed, one row per tap (see
//!   `ColsLayout`): the same matrix, faster to fill when `C` is 1 or 3.
//! - **1×1, stride 1, no padding**: `cols` is `x` itself, viewed as `(N·H·W, C)`, and the three
//!   products run as plain GEMMs over the whole batch.
//! - **AVX-512 or AVX2, stride 1, dilation 1** (`conv_direct.rs`): the convolution is computed from a
//!   zero-padded copy of each image with the output tile held in registers, for the forward pass
//!   and `dW` when the input has at least 3 channels and `F` is a multiple of 16, and for `dX`
//!   when `C` is a multiple of 16 and `F` is at least 8.
//!
//! The forward pass writes into fresh memory that nothing zeroes first (`uninit.rs`): every
//! element is written once, by the bias or the first product. Like every kernel, these overwrite
//! their outputs.
use std::borrow::Cow;
use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::uninit;
use super::vectorised;
use crate::cpu::gemm::{gemm, gemm_serial};
use crate::cpu::map::CHUNK;
use crate::cpu::matrix::MatRef;
use crate::geometry::Conv2dGeometry;

/// One tile of `cols` holds at most this many floats (256 KiB): it stays in the L2 cache between
/// the im2col that writes it and the GEMM that reads it. (Measured on the course shapes, one thread:
/// 64 KiB and 1 MiB budgets were within ~15% of this one, each losing on some shape.)
const COLS_TILE_FLOATS: usize = 1 << 18;

/// `dW` and `db` are summed in at most this many chunks of consecutive tiles (each chunk owns one
/// partial sum, reduced in chunk order): enough chunks to keep 8 threads busy, few enough that the
/// partial sums stay small.
const MAX_REDUCTION_CHUNKS: usize = 16;

/// Output pixels per tile: as many as fit a 256 KiB `cols` tile, a multiple of 16 (the
/// micro-kernel height of the GEMM), between 16 and 4096. Depends on the shapes only.
pub(crate) fn tile_rows(g: &Conv2dGeometry) -> usize {
    (COLS_TILE_FLOATS / g.patch_len()).clamp(16, 4096) / 16 * 16
}

/// im2col for output pixels `first_pixel .. first_pixel + rows` (flat index over `N·OH·OW`):
/// `cols[r, (kh·KW + kw)·C + c] = x[n, oh·sh + kh·dh − pad_top, ow·sw + kw·dw − pad_left, c]`,
/// with 0 where the tap falls in the padding. `cols: (rows, KH·KW·C)`.
fn im2col(g: &Conv2dGeometry, x: &[f32], first_pixel: usize, rows: usize, cols: &mut [f32]) {
    let (patch, kw_c, image_len) = (g.patch_len(), g.kw * g.c, g.h * g.w * g.c);
    let (mut n, mut oh, mut ow) = (
        first_pixel / (g.oh * g.ow),
        first_pixel / g.ow % g.oh,
        first_pixel % g.ow,
    );
    for row in cols[..rows * patch].chunks_exact_mut(patch) {
        let image = &x[n * image_len..(n + 1) * image_len];
        let ih0 = (oh * g.stride_h) as isize - g.pad_top as isize;
        let iw0 = (ow * g.stride_w) as isize - g.pad_left as isize;
        for (kh, dst) in row.chunks_exact_mut(kw_c).enumerate() {
            let ih = ih0 + (kh * g.dilation_h) as isize;
            if ih < 0 || ih >= g.h as isize {
                dst.fill(0.0);
                continue;
            }
            let x_row = &image[ih as usize * g.w * g.c..(ih as usize + 1) * g.w * g.c];
            let last_iw = iw0 + ((g.kw - 1) * g.dilation_w) as isize;
            if g.dilation_w == 1 && iw0 >= 0 && last_iw < g.w as isize {
                // The whole kernel row is inside the image: one contiguous run of KW·C floats.
                dst.copy_from_slice(&x_row[iw0 as usize * g.c..iw0 as usize * g.c + kw_c]);
                continue;
            }
            for (kw, dst) in dst.chunks_exact_mut(g.c).enumerate() {
                let iw = iw0 + (kw * g.dilation_w) as isize;
                if iw < 0 || iw >= g.w as isize {
                    dst.fill(0.0);
                } else {
                    dst.copy_from_slice(&x_row[iw as usize * g.c..(iw as usize + 1) * g.c]);
                }
            }
        }
        ow += 1;
        if ow == g.ow {
            ow = 0;
            oh += 1;
            if oh == g.oh {
                oh = 0;
                n += 1;
            }
        }
    }
}

/// col2im, the adjoint of [`im2col`], for output pixels `first_pixel .. first_pixel + rows` of ONE
/// image (`first_pixel` counts within the image): adds every entry of `dcols: (rows, KH·KW·C)` back
/// into the input pixel it was copied from; entries that came from the padding are dropped.
/// `dx_image: (H, W, C)`.
fn col2im_add(
    g: &Conv2dGeometry,
    dcols: &[f32],
    first_pixel: usize,
    rows: usize,
    dx_image: &mut [f32],
) {
    let (patch, kw_c) = (g.patch_len(), g.kw * g.c);
    let (mut oh, mut ow) = (first_pixel / g.ow, first_pixel % g.ow);
    for row in dcols[..rows * patch].chunks_exact(patch) {
        let ih0 = (oh * g.stride_h) as isize - g.pad_top as isize;
        let iw0 = (ow * g.stride_w) as isize - g.pad_left as isize;
        for (kh, src) in row.chunks_exact(kw_c).enumerate() {
            let ih = ih0 + (kh * g.dilation_h) as isize;
            if ih < 0 || ih >= g.h as isize {
                continue;
            }
            let dx_row = &mut dx_image[ih as usize * g.w * g.c..(ih as usize + 1) * g.w * g.c];
            for (kw, src) in src.chunks_exact(g.c).enumerate() {
                let iw = iw0 + (kw * g.dilation_w) as isize;
                if iw >= 0 && iw < g.w as isize {
                    let dst = &mut dx_row[iw as usize * g.c..(iw as usize + 1) * g.c];
                    dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
                }
            }
        }
        ow += 1;
        if ow == g.ow {
            ow = 0;
            oh += 1;
        }
    }
}

/// Inputs with fewer channels than this get channel-major `cols` tiles (see [`ColsLayout`]).
const CHANNEL_MAJOR_BELOW_C: usize = 8;

/// How a tile of `cols: (rows, KH·KW·C)` lies in memory. Both layouts hold the same matrix, and
/// the GEMM reads either through a [`MatRef`]; they differ in which loop im2col runs innermost.
///
/// *Pixel-major* (row-major `cols`) copies, per pixel, runs of `C` (or `KW·C`) contiguous floats:
/// ideal for C ≥ 8. With C = 1 or 3 those runs are 1–9 floats long, and the per-run overhead made
/// im2col + col2im ¾ of the conv time on 150×150×3 images. *Channel-major* (`colsᵀ: (KH·KW·C, rows)`,
/// the classic Caffe order) is filled from a channel-planar copy of `x` (see [`to_planar`]), so its
/// inner loop copies a whole output row at once. What that bought, one thread, 3×3 kernels:
/// forward + all three backward kernels went from 53 to 27 ms on 150×150×3 → 16 (batch 20),
/// 16 to 10 ms on 69×69×3 → 12 and 1.8 to 1.0 ms on 28×28×1 → 12 (batch 32). With 16 or 32 input
/// channels channel-major was the slower one (41 vs 35 ms on 74×74×16, 26 vs 23 ms on 36×36×32),
/// hence the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ColsLayout {
    PixelMajor,
    ChannelMajor,
}

impl Conv2dGeometry {
    fn cols_layout(&self) -> ColsLayout {
        if self.c < CHANNEL_MAJOR_BELOW_C {
            ColsLayout::ChannelMajor
        } else {
            ColsLayout::PixelMajor
        }
    }

    /// The output columns `ow` whose tap `kw` reads a real input column (not padding), as
    /// `lo..hi`: `iw = ow·sw + kw·dw − pad_left` must lie in `0..W`.
    fn valid_ow(&self, kw: usize) -> (usize, usize) {
        let offset = kw * self.dilation_w;
        let lo = self.pad_left.saturating_sub(offset).div_ceil(self.stride_w);
        let hi = match (self.w + self.pad_left).checked_sub(offset + 1) {
            Some(last) => (last / self.stride_w + 1).min(self.ow),
            None => 0,
        };
        (lo.min(hi), hi)
    }
}

/// Splits output pixels `first_pixel .. first_pixel + rows` into runs that lie along one output row
/// and calls `visit(j, n, oh, ow0, len)` for each: the run is pixels `(n, oh, ow0 .. ow0 + len)`,
/// and `j` is the position of its first pixel within the tile.
fn for_each_row_run(
    g: &Conv2dGeometry,
    first_pixel: usize,
    rows: usize,
    mut visit: impl FnMut(usize, usize, usize, usize, usize),
) {
    let mut p = first_pixel;
    while p < first_pixel + rows {
        let (n, oh, ow0) = (p / (g.oh * g.ow), p / g.ow % g.oh, p % g.ow);
        let len = (g.ow - ow0).min(first_pixel + rows - p);
        visit(p - first_pixel, n, oh, ow0, len);
        p += len;
    }
}

/// The input in channel-planar order `(N, C, H, W)`, for channel-major im2col: with it, one tap's
/// values along an output row are contiguous (stride 1) or evenly spaced (stride `sw`).
fn to_planar(g: &Conv2dGeometry, x: &[f32]) -> Vec<f32> {
    let plane = g.h * g.w;
    // x_planar: (N, C, H, W)
    let mut x_planar = vec![0.0f32; x.len()];
    x_planar
        .par_chunks_mut(plane * g.c)
        .zip(x.par_chunks(plane * g.c))
        .for_each(|(planes, image)| {
            for (px, values) in image.chunks_exact(g.c).enumerate() {
                for (c, &v) in values.iter().enumerate() {
                    planes[c * plane + px] = v;
                }
            }
        });
    x_planar
}

/// The input as im2col wants it for this geometry's [`ColsLayout`]: `x` itself for pixel-major
/// tiles, its channel-planar copy ([`to_planar`]) for channel-major ones.
fn input_for_im2col<'a>(g: &Conv2dGeometry, x: &'a [f32]) -> Cow<'a, [f32]> {
    match g.cols_layout() {
        ColsLayout::PixelMajor => Cow::Borrowed(x),
        ColsLayout::ChannelMajor => Cow::Owned(to_planar(g, x)),
    }
}

/// Calls `visit(r, dst_range, src_start)` for each tap row `r = (kh·KW + kw)·C + c` of a
/// channel-major tile and each run of output pixels `(n, oh, ow0 .. ow0 + len)` at tile position
/// `j`: the run's pixels `lo .. hi` read real input, at `x_planar[src_start + k·sw]`; the others
/// read padding. `dst_range` is `(j, lo − ow0, hi − ow0, len)`.
fn for_each_tap_run(
    g: &Conv2dGeometry,
    first_pixel: usize,
    rows: usize,
    mut visit: impl FnMut(usize, (usize, usize, usize, usize), Option<usize>),
) {
    let plane = g.h * g.w;
    for_each_row_run(g, first_pixel, rows, |j, n, oh, ow0, len| {
        for kh in 0..g.kh {
            let ih = (oh * g.stride_h + kh * g.dilation_h)
                .checked_sub(g.pad_top)
                .filter(|&ih| ih < g.h);
            for kw in 0..g.kw {
                let (lo, hi) = g.valid_ow(kw);
                let lo = lo.clamp(ow0, ow0 + len);
                let hi = hi.clamp(lo, ow0 + len);
                for c in 0..g.c {
                    let r = (kh * g.kw + kw) * g.c + c;
                    let src = ih.filter(|_| lo < hi).map(|ih| {
                        (n * g.c + c) * plane + ih * g.w + lo * g.stride_w + kw * g.dilation_w
                            - g.pad_left
                    });
                    visit(r, (j, lo - ow0, hi - ow0, len), src);
                }
            }
        }
    });
}

/// im2col in channel-major order from the planar input: `cols_t: (KH·KW·C, rows)`, row
/// `(kh·KW + kw)·C + c` holding that tap's input value for every pixel of the tile (0 in the padding).
fn im2col_channel_major(
    g: &Conv2dGeometry,
    x_planar: &[f32],
    first_pixel: usize,
    rows: usize,
    cols_t: &mut [f32],
) {
    for_each_tap_run(g, first_pixel, rows, |r, (j, lo, hi, len), src| {
        let dst = &mut cols_t[r * rows + j..r * rows + j + len];
        let Some(src) = src else {
            dst.fill(0.0);
            return;
        };
        dst[..lo].fill(0.0);
        dst[hi..].fill(0.0);
        let dst = &mut dst[lo..hi];
        if g.stride_w == 1 {
            dst.copy_from_slice(&x_planar[src..src + dst.len()]);
        } else {
            dst.iter_mut()
                .zip(x_planar[src..].iter().step_by(g.stride_w))
                .for_each(|(d, s)| *d = *s);
        }
    });
}

/// col2im from a channel-major `dcols_t: (KH·KW·C, rows)`, for output pixels
/// `first_pixel .. first_pixel + rows` of ONE image, into that image's planar gradient
/// `dx_planar: (C, H, W)`: the adjoint of [`im2col_channel_major`].
fn col2im_channel_major_add(
    g: &Conv2dGeometry,
    dcols_t: &[f32],
    first_pixel: usize,
    rows: usize,
    dx_planar: &mut [f32],
) {
    for_each_tap_run(g, first_pixel, rows, |r, (j, lo, hi, _), dst| {
        let Some(dst) = dst else { return };
        let src = &dcols_t[r * rows + j + lo..r * rows + j + hi];
        if g.stride_w == 1 {
            dx_planar[dst..dst + src.len()]
                .iter_mut()
                .zip(src)
                .for_each(|(d, s)| *d += s);
        } else {
            dx_planar[dst..]
                .iter_mut()
                .step_by(g.stride_w)
                .zip(src)
                .for_each(|(d, s)| *d += s);
        }
    });
}

/// Fills `buf` with the `cols` tile of output pixels `first_pixel .. first_pixel + rows`, in the
/// layout that suits this geometry, and returns it as a `(rows, KH·KW·C)` matrix view.
/// `x_im2col` comes from [`input_for_im2col`].
fn im2col_tile<'a>(
    g: &Conv2dGeometry,
    x_im2col: &[f32],
    first_pixel: usize,
    rows: usize,
    buf: &'a mut [f32],
) -> MatRef<'a> {
    let patch = g.patch_len();
    let buf = &mut buf[..rows * patch];
    match g.cols_layout() {
        ColsLayout::PixelMajor => {
            im2col(g, x_im2col, first_pixel, rows, buf);
            MatRef::row_major(buf, rows, patch)
        }
        ColsLayout::ChannelMajor => {
            im2col_channel_major(g, x_im2col, first_pixel, rows, buf);
            MatRef::row_major(buf, patch, rows).t()
        }
    }
}

/// Writes the bias (or zero) into every row of `y: (rows, F)`, which may be fresh memory, and
/// returns it initialised, for a GEMM with `β = 1` to add the product to.
fn start_with_bias<'a>(
    y: &'a mut [MaybeUninit<f32>],
    bias: Option<&[f32]>,
    f: usize,
) -> &'a mut [f32] {
    for row in y.chunks_exact_mut(f) {
        match bias {
            Some(b) => row.iter_mut().zip(b).for_each(|(y, &b)| {
                y.write(b);
            }),
            None => row.iter_mut().for_each(|y| {
                y.write(0.0);
            }),
        }
    }
    // SAFETY: every row of y was written above (y holds whole rows of f).
    unsafe { uninit::assume_init_mut(y) }
}

/// Applies a ReLU to sums already written to `y` (an im2col tile, still in cache; or the whole
/// output of a 1×1 convolution, then in parallel chunks), when `relu` is set.
fn finish(relu: bool, y: &mut [f32]) {
    if relu {
        let relu =
            |chunk: &mut [f32]| vectorised(|| chunk.iter_mut().for_each(|v| *v = v.max(0.0)));
        if y.len() <= CHUNK {
            relu(y);
        } else {
            y.par_chunks_mut(CHUNK).for_each(relu);
        }
    }
}

/// Forward, `y = relu?(conv2d(x, w) + bias)`, into `y` (overwritten).
pub(crate) fn forward(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
    y: &mut [f32],
) {
    // SAFETY: the kernel writes only floats into y.
    let y = unsafe { uninit::as_uninit_mut(y) };
    forward_uninit(g, x, w, bias, relu, y);
}

/// [`forward`] into a fresh vector, which is not zeroed first: every element is written once, by
/// the bias or by the first product.
pub(crate) fn forward_vec(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    // SAFETY: forward_uninit writes every element of y.
    unsafe { uninit::vec_written_by(g.pixels() * g.f, |y| forward_uninit(g, x, w, bias, relu, y)) }
}

/// [`forward`] into memory that may be uninitialised: every element of `y` is written.
fn forward_uninit(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
    y: &mut [MaybeUninit<f32>],
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
    let (patch, f) = (g.patch_len(), g.f);
    // W: (KH·KW·C, F), the HWIO kernel as it lies in memory.
    let w_mat = MatRef::row_major(w, patch, f);
    if g.is_pointwise() {
        let y = start_with_bias(y, bias, f);
        gemm(MatRef::row_major(x, g.pixels(), g.c), w_mat, 1.0, y);
        finish(relu, y);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(isa) = super::isa() {
        use super::conv_direct::Finish;
        let finish = if relu { Finish::Relu } else { Finish::Store };
        // SAFETY: the level never exceeds what the CPU has.
        if unsafe { super::conv_direct::forward(isa, g, x, w, bias, finish, y) } {
            return;
        }
    }
    let tile = tile_rows(g);
    let x_im2col = input_for_im2col(g, x);
    y.par_chunks_mut(tile * f).enumerate().for_each_init(
        || vec![0.0f32; tile * patch],
        |cols, (t, y_tile)| {
            let rows = y_tile.len() / f;
            // cols: (rows, KH·KW·C), this tile's slice of the (N·OH·OW, KH·KW·C) matrix
            let cols = im2col_tile(g, &x_im2col, t * tile, rows, cols);
            let y_tile = start_with_bias(y_tile, bias, f);
            gemm_serial(cols, w_mat, 1.0, y_tile);
            // While the tile is still in cache.
            finish(relu, y_tile);
        },
    );
}

/// Backward to the input: `dx = col2im(dY · Wᵀ)` (overwritten).
pub(crate) fn backward_input(g: &Conv2dGeometry, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    debug_assert_eq!(dy.len(), g.pixels() * g.f);
    debug_assert_eq!(w.len(), g.patch_len() * g.f);
    debug_assert_eq!(dx.len(), g.n * g.h * g.w * g.c);
    let (patch, f) = (g.patch_len(), g.f);
    // Wᵀ: (F, KH·KW·C), a strided view of the kernel.
    let w_t = MatRef::row_major(w, patch, f).t();
    if g.is_pointwise() {
        gemm(MatRef::row_major(dy, g.pixels(), f), w_t, 0.0, dx);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(isa) = super::isa() {
        // SAFETY: the level never exceeds what the CPU has.
        if unsafe { super::conv_direct::backward_input(isa, g, dy, w, dx) } {
            return;
        }
    }
    let tile = tile_rows(g);
    let image_pixels = g.oh * g.ow;
    dx.par_chunks_mut(g.h * g.w * g.c)
        .zip(dy.par_chunks(image_pixels * f))
        .for_each_init(
            || (vec![0.0f32; tile * patch], Vec::new()),
            |(dcols, dx_planar), (dx_image, dy_image)| {
                match g.cols_layout() {
                    // col2im adds into dx, which starts from zero.
                    ColsLayout::PixelMajor => dx_image.fill(0.0),
                    ColsLayout::ChannelMajor => {
                        // dx_planar: (C, H, W), this image's gradient in the order col2im writes it
                        dx_planar.clear();
                        dx_planar.resize(dx_image.len(), 0.0);
                    }
                }
                for (t, dy_tile) in dy_image.chunks(tile * f).enumerate() {
                    let rows = dy_tile.len() / f;
                    let dy_tile = MatRef::row_major(dy_tile, rows, f);
                    let dcols = &mut dcols[..rows * patch];
                    match g.cols_layout() {
                        ColsLayout::PixelMajor => {
                            // dcols: (rows, KH·KW·C) = dY_tile · Wᵀ
                            gemm_serial(dy_tile, w_t, 0.0, dcols);
                            col2im_add(g, dcols, t * tile, rows, dx_image);
                        }
                        ColsLayout::ChannelMajor => {
                            // dcolsᵀ: (KH·KW·C, rows) = W · dY_tileᵀ
                            gemm_serial(w_t.t(), dy_tile.t(), 0.0, dcols);
                            col2im_channel_major_add(g, dcols, t * tile, rows, dx_planar);
                        }
                    }
                }
                if g.cols_layout() == ColsLayout::ChannelMajor {
                    let plane = g.h * g.w;
                    for (px, dx_px) in dx_image.chunks_exact_mut(g.c).enumerate() {
                        dx_px
                            .iter_mut()
                            .enumerate()
                            .for_each(|(c, d)| *d = dx_planar[c * plane + px]);
                    }
                }
            },
        );
}

/// Backward to the kernel: `dw = colsᵀ · dY` (overwritten), summed over tiles in a fixed order.
pub(crate) fn backward_weight(g: &Conv2dGeometry, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    debug_assert_eq!(x.len(), g.n * g.h * g.w * g.c);
    debug_assert_eq!(dy.len(), g.pixels() * g.f);
    debug_assert_eq!(dw.len(), g.patch_len() * g.f);
    let (patch, f) = (g.patch_len(), g.f);
    if g.is_pointwise() {
        // colsᵀ = Xᵀ: (C, N·H·W); gemm's row blocks each own whole rows of dW, so it is deterministic.
        gemm(
            MatRef::row_major(x, g.pixels(), g.c).t(),
            MatRef::row_major(dy, g.pixels(), f),
            0.0,
            dw,
        );
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(isa) = super::isa() {
        // SAFETY: the level never exceeds what the CPU has.
        if unsafe { super::conv_direct::backward_weight(isa, g, x, dy, dw) } {
            return;
        }
    }
    let tile = tile_rows(g);
    let (pixels, tiles) = (g.pixels(), g.pixels().div_ceil(tile));
    // Chunk c sums tiles c·T/chunks .. (c+1)·T/chunks: chunks differ by at most one tile, so two or
    // four threads get equal shares.
    let chunks = tiles.min(MAX_REDUCTION_CHUNKS);
    let x_im2col = input_for_im2col(g, x);
    let partials: Vec<Vec<f32>> = (0..chunks)
        .into_par_iter()
        .map(|chunk| {
            // partial: (KH·KW·C, F), this chunk's share of dW
            let mut partial = vec![0.0f32; patch * f];
            // cols: (tile, KH·KW·C)
            let mut cols = vec![0.0f32; tile * patch];
            for t in chunk * tiles / chunks..(chunk + 1) * tiles / chunks {
                let (first, rows) = (t * tile, tile.min(pixels - t * tile));
                let dy_tile = &dy[first * f..(first + rows) * f];
                let cols = im2col_tile(g, &x_im2col, first, rows, &mut cols);
                gemm_serial(
                    cols.t(),
                    MatRef::row_major(dy_tile, rows, f),
                    1.0,
                    &mut partial,
                );
            }
            partial
        })
        .collect();
    dw.fill(0.0);
    for partial in partials {
        dw.iter_mut().zip(&partial).for_each(|(d, p)| *d += p);
    }
}
