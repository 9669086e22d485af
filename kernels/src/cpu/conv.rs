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
//! where `x` reads as 0 outside the image (the padding).
//!
//! # Output size (Keras / TF 2.10 rules)
//!
//! A dilated kernel spans `k_eff = k + (k − 1)(d − 1)` pixels. Per axis, with input size `n`:
//! - `'valid'`: no padding, `out = ⌊(n − k_eff) / s⌋ + 1` (an error if `k_eff > n`);
//! - `'same'`: `out = ⌈n / s⌉`, total padding `max((out − 1)·s + k_eff − n, 0)`, of which
//!   `pad_before = total / 2` and `pad_after = total − pad_before`: the odd pixel goes to the
//!   bottom / right (a 4×4 input, 3×3 kernel, stride 2 pads 0 rows on top and 1 at the bottom).
//!
//! # im2col: the convolution as one matrix product
//!
//! Write the receptive field of each output pixel `(n, oh, ow)` as one row of a matrix:
//!
//! ```text
//! cols[(n, oh, ow), (kh, kw, c)] = x[n, oh·sh + kh·dh − pad_top, ow·sw + kw·dw − pad_left, c]
//! ```
//!
//! so `cols: (N·OH·OW, KH·KW·C)`. In NHWC the `C` values of one input pixel are contiguous, so a row
//! of `cols` is copied as `KH·KW` runs of `C` floats (or `KH` runs of `KW·C` when the dilation is 1).
//! Viewing the HWIO kernel as `W: (KH·KW·C, F)` (no copy: that is its memory order),
//!
//! ```text
//! Y = cols · W + b        Y: (N·OH·OW, F), which *is* y in NHWC order
//! ```
//!
//! # Backward: if we im2col on the forward, we col2im on the backward
//!
//! `Y = cols · W` is a plain matrix product, so its gradients are the matrix-product ones:
//!
//! ```text
//! dW    = colsᵀ · dY          (KH·KW·C, F)      — the weight sees every receptive field
//! db    = Σ_rows dY           (F)
//! dcols = dY · Wᵀ             (N·OH·OW, KH·KW·C)
//! dX    = col2im(dcols)       (N, H, W, C)
//! ```
//!
//! `col2im` is the adjoint of `im2col`: where im2col *copied* `x[n, ih, iw, c]` into every row whose
//! receptive field contains it, col2im *adds* each of those entries of `dcols` back into
//! `dx[n, ih, iw, c]` (entries that fell in the padding are dropped). Overlapping windows are why it
//! must add, not copy.
//!
//! # Tiling and threads
//!
//! `cols` for a whole batch can be huge (150×150×3 images, batch 20: 438 k rows), so it is never
//! materialised: the output pixels are cut into tiles of [`Conv2dGeometry::tile_rows`] rows, chosen so
//! that one tile of `cols` fits in the L2 cache, and each tile does its own im2col + GEMM. Tiles run in
//! parallel (rayon), each with a single-threaded GEMM. The tiles depend only on the shapes, and the
//! per-tile partial sums of `dW` and `db` are added in tile order, so the results are bit-identical
//! whatever the number of threads. `dX` is parallel over images, so col2im writes never overlap.
//!
//! For inputs with few channels (RGB, grey) `cols` tiles are stored transposed, one row per tap
//! (see `ColsLayout`): the same matrix, faster to fill when `C` is 1 or 3.
//!
//! On x86-64 CPUs with AVX-512F, convolutions with stride 1 and dilation 1 take a faster route,
//! computed from a zero-padded copy of each image with the output tile held in registers: the
//! forward pass and `dW` when the input has at least 3 channels and `F` is a multiple of 16, `dX`
//! when `C` is a multiple of 16 and `F` is at least 8. See `kernels/src/cpu/conv_direct.rs`.
//!
//! A 1×1, stride-1, unpadded convolution needs no im2col at all: `cols` is `x` itself, viewed as
//! `(N·H·W, C)`, and the three products run as plain GEMMs.
use std::borrow::Cow;
use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::gemm::{gemm, gemm_serial, MatRef};
use super::uninit;
use crate::KernelError;

/// Keras's `padding` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// No padding: the kernel only visits positions where it fits entirely.
    Valid,
    /// Zero padding so that `out = ⌈n / stride⌉`; the odd pixel of padding goes bottom / right.
    Same,
}

impl Padding {
    /// The name Keras uses, for error messages.
    pub(crate) fn keras_name(self) -> &'static str {
        match self {
            Padding::Valid => "valid",
            Padding::Same => "same",
        }
    }
}

/// Output size and padding along one spatial axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AxisGeometry {
    pub out: usize,
    pub pad_before: usize,
    pub pad_after: usize,
}

/// Keras's output-size rule along one axis (see the module doc), or `None` when a `'valid'` window
/// of `k_eff` pixels does not fit in `size`. Arguments are assumed ≥ 1.
pub(crate) fn axis_geometry(
    size: usize,
    k_eff: usize,
    stride: usize,
    padding: Padding,
) -> Option<AxisGeometry> {
    match padding {
        Padding::Valid => (k_eff <= size).then(|| AxisGeometry {
            out: (size - k_eff) / stride + 1,
            pad_before: 0,
            pad_after: 0,
        }),
        Padding::Same => {
            let out = size.div_ceil(stride);
            let total = ((out - 1) * stride + k_eff).saturating_sub(size);
            Some(AxisGeometry {
                out,
                pad_before: total / 2,
                pad_after: total - total / 2,
            })
        }
    }
}

/// Checks that every entry of `values` is ≥ 1, naming them `what` in the error.
pub(crate) fn check_positive(
    op: &'static str,
    what: &str,
    values: &[usize],
) -> Result<(), KernelError> {
    if values.contains(&0) {
        return Err(KernelError::geometry(
            op,
            format!("{what} must be ≥ 1, found {values:?}"),
        ));
    }
    Ok(())
}

/// Output size and padding of both spatial axes of a (possibly dilated) window, with the
/// "does not fit" error phrased for `op`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn spatial_geometry(
    op: &'static str,
    window_name: &str,
    [h, w]: [usize; 2],
    [kh, kw]: [usize; 2],
    [stride_h, stride_w]: [usize; 2],
    [dilation_h, dilation_w]: [usize; 2],
    padding: Padding,
    show_dilation: bool,
) -> Result<(AxisGeometry, AxisGeometry), KernelError> {
    let kh_eff = kh + (kh - 1) * (dilation_h - 1);
    let kw_eff = kw + (kw - 1) * (dilation_w - 1);
    let rows = axis_geometry(h, kh_eff, stride_h, padding);
    let cols = axis_geometry(w, kw_eff, stride_w, padding);
    match (rows, cols) {
        (Some(rows), Some(cols)) => Ok((rows, cols)),
        _ => {
            let dilation = match (show_dilation, dilation_h == 1 && dilation_w == 1) {
                (false, _) => String::new(),
                (true, true) => " (with dilation 1)".to_string(),
                (true, false) => {
                    format!(
                        " (with dilation {dilation_h}×{dilation_w}, spanning {kh_eff}×{kw_eff})"
                    )
                }
            };
            Err(KernelError::geometry(
                op,
                format!(
                    "{window_name} {kh}×{kw}{dilation} does not fit in input {h}×{w} with padding '{}'",
                    padding.keras_name()
                ),
            ))
        }
    }
}

/// Everything a conv2d kernel needs to know about its shapes, validated once.
///
/// Input `(N, H, W, C)`, kernel `(KH, KW, C, F)`, output `(N, OH, OW, F)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    /// Batch size (N).
    pub n: usize,
    /// Input height (H).
    pub h: usize,
    /// Input width (W).
    pub w: usize,
    /// Input channels (C).
    pub c: usize,
    /// Filters = output channels (F).
    pub f: usize,
    /// Kernel height (KH).
    pub kh: usize,
    /// Kernel width (KW).
    pub kw: usize,
    /// Step between windows, down.
    pub stride_h: usize,
    /// Step between windows, across.
    pub stride_w: usize,
    /// Spacing between kernel taps, down (1: adjacent).
    pub dilation_h: usize,
    /// Spacing between kernel taps, across (1: adjacent).
    pub dilation_w: usize,
    /// Zero rows added above the input.
    pub pad_top: usize,
    /// Zero rows added below the input.
    pub pad_bottom: usize,
    /// Zero columns added left of the input.
    pub pad_left: usize,
    /// Zero columns added right of the input.
    pub pad_right: usize,
    /// Output height (OH).
    pub oh: usize,
    /// Output width (OW).
    pub ow: usize,
}

/// One tile of `cols` holds at most this many floats (256 KiB): it stays in the L2 cache between
/// the im2col that writes it and the GEMM that reads it. (Measured on the course shapes, one thread:
/// 64 KiB and 1 MiB budgets were within ~15% of this one, each losing on some shape.)
const COLS_TILE_FLOATS: usize = 1 << 18;

/// `dW` and `db` are summed in at most this many chunks of consecutive tiles (each chunk owns one
/// partial sum, reduced in chunk order): enough chunks to keep 8 threads busy, few enough that the
/// partial sums stay small.
const MAX_REDUCTION_CHUNKS: usize = 16;

impl Conv2dGeometry {
    /// Validates and describes a convolution of an input `[N, H, W, C]` with a kernel
    /// `[KH, KW, C, F]`.
    ///
    /// # Errors
    /// [`KernelError::InvalidGeometry`] if a size, stride or dilation is 0, if the kernel's `C`
    /// differs from the input's, or if a `'valid'` kernel does not fit in the input.
    ///
    /// ```
    /// use astrograd_kernels::cpu::conv::{Conv2dGeometry, Padding};
    /// let g = Conv2dGeometry::new([32, 28, 28, 1], [3, 3, 1, 12], [1, 1], [1, 1], Padding::Valid)?;
    /// assert_eq!(g.output_shape(), [32, 26, 26, 12]);
    /// # Ok::<(), astrograd_kernels::KernelError>(())
    /// ```
    pub fn new(
        input: [usize; 4],
        kernel: [usize; 4],
        strides: [usize; 2],
        dilation: [usize; 2],
        padding: Padding,
    ) -> Result<Self, KernelError> {
        const OP: &str = "conv2d";
        check_positive(OP, "input shape [N, H, W, C] entries", &input)?;
        check_positive(OP, "kernel shape [KH, KW, C, F] entries", &kernel)?;
        check_positive(OP, "strides", &strides)?;
        check_positive(OP, "dilations", &dilation)?;
        let [n, h, w, c] = input;
        let [kh, kw, kc, f] = kernel;
        if kc != c {
            return Err(KernelError::geometry(
                OP,
                format!("input channels {c} do not match kernel's {kc}"),
            ));
        }
        let (rows, cols) = spatial_geometry(
            OP,
            "kernel",
            [h, w],
            [kh, kw],
            strides,
            dilation,
            padding,
            true,
        )?;
        Ok(Conv2dGeometry {
            n,
            h,
            w,
            c,
            f,
            kh,
            kw,
            stride_h: strides[0],
            stride_w: strides[1],
            dilation_h: dilation[0],
            dilation_w: dilation[1],
            pad_top: rows.pad_before,
            pad_bottom: rows.pad_after,
            pad_left: cols.pad_before,
            pad_right: cols.pad_after,
            oh: rows.out,
            ow: cols.out,
        })
    }

    /// `[N, OH, OW, F]`.
    pub fn output_shape(&self) -> [usize; 4] {
        [self.n, self.oh, self.ow, self.f]
    }

    /// Number of output pixels, `N·OH·OW`: the rows of `cols` and of `Y`.
    pub(crate) fn pixels(&self) -> usize {
        self.n * self.oh * self.ow
    }

    /// Length of one receptive field, `KH·KW·C`: the columns of `cols`, the rows of `W`.
    pub(crate) fn patch_len(&self) -> usize {
        self.kh * self.kw * self.c
    }

    /// A 1×1, stride-1, unpadded convolution: `cols` is `x` itself.
    pub(crate) fn is_pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.stride_h == 1
            && self.stride_w == 1
            && self.pad_top + self.pad_bottom + self.pad_left + self.pad_right == 0
    }

    /// Output pixels per tile: as many as fit a 256 KiB `cols` tile, a multiple of 16 (the
    /// micro-kernel height of the GEMM), between 16 and 4096. Depends on the shapes only.
    pub fn tile_rows(&self) -> usize {
        (COLS_TILE_FLOATS / self.patch_len()).clamp(16, 4096) / 16 * 16
    }
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

/// The whole `cols` matrix of `x`, one row per output pixel of every image: what the kernels
/// build one cache-sized tile at a time and never whole. For teaching and pictures
/// (`examples/docs_figures.rs` draws it); the convolution itself does not call it.
///
/// # Shapes
/// `x: (N, H, W, C)` → `cols: (N·OH·OW, KH·KW·C)`.
///
/// # Panics
/// If `x.len()` is not `N·H·W·C` of `g`.
///
/// ```
/// use astrograd_kernels::cpu::conv::{im2col_matrix, Conv2dGeometry, Padding};
/// let g = Conv2dGeometry::new([1, 4, 4, 1], [3, 3, 1, 1], [1, 1], [1, 1], Padding::Valid)?;
/// let x: Vec<f32> = (1..=16).map(|v| v as f32).collect();
/// let cols = im2col_matrix(&g, &x); // (4, 9): the four 3×3 windows, read row by row
/// assert_eq!(cols[9..18], [2.0, 3.0, 4.0, 6.0, 7.0, 8.0, 10.0, 11.0, 12.0]);
/// # Ok::<(), astrograd_kernels::KernelError>(())
/// ```
pub fn im2col_matrix(g: &Conv2dGeometry, x: &[f32]) -> Vec<f32> {
    assert_eq!(
        x.len(),
        g.n * g.h * g.w * g.c,
        "im2col_matrix: x is not (N, H, W, C) of g"
    );
    let rows = g.n * g.pixels();
    // cols: (N·OH·OW, KH·KW·C)
    let mut cols = vec![0.0; rows * g.patch_len()];
    im2col(g, x, 0, rows, &mut cols);
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
    let (pixels, patch, image_len) = (g.pixels(), g.patch_len(), g.h * g.w * g.c);
    assert_eq!(
        dcols.len(),
        g.n * pixels * patch,
        "col2im_matrix: dcols is not (N·OH·OW, KH·KW·C) of g"
    );
    // dx: (N, H, W, C)
    let mut dx = vec![0.0; g.n * image_len];
    for (dcols, dx_image) in dcols
        .chunks_exact(pixels * patch)
        .zip(dx.chunks_exact_mut(image_len))
    {
        col2im_add(g, dcols, 0, pixels, dx_image);
    }
    dx
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

impl ConvActivation {
    /// Applies the activation to sums already written to `y` (an im2col tile, still in cache;
    /// or the whole output of a 1×1 convolution, then in parallel chunks).
    fn apply(self, y: &mut [f32]) {
        if self == ConvActivation::Relu {
            let relu = |chunk: &mut [f32]| {
                super::map::vectorised(|| chunk.iter_mut().for_each(|v| *v = v.max(0.0)))
            };
            if y.len() <= super::map::CHUNK {
                relu(y);
            } else {
                y.par_chunks_mut(super::map::CHUNK).for_each(relu);
            }
        }
    }
}

/// Forward: `y = conv2d(x, w) + bias`, i.e. `Y = cols · W + b` tile by tile.
///
/// # Shapes
/// `x: (N, H, W, C)`, `w: (KH, KW, C, F)`, `bias: (F)`, `y: (N, OH, OW, F)` (overwritten).
pub fn conv2d_forward(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    // SAFETY: the kernel writes only floats into y.
    let y = unsafe { uninit::as_uninit_mut(y) };
    conv2d_forward_uninit(g, x, w, bias, ConvActivation::Linear, y);
}

/// [`conv2d_forward`] followed by `activation`, into a fresh vector, which is not zeroed first:
/// every element is written once, by the bias or by the first product.
pub fn conv2d_forward_vec(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    activation: ConvActivation,
) -> Vec<f32> {
    // SAFETY: conv2d_forward_uninit writes every element of y.
    unsafe {
        uninit::vec_written_by(g.pixels() * g.f, |y| {
            conv2d_forward_uninit(g, x, w, bias, activation, y)
        })
    }
}

/// [`conv2d_forward`] into memory that may be uninitialised: every element of `y` is written.
fn conv2d_forward_uninit(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    activation: ConvActivation,
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
        activation.apply(y);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        use super::conv_direct::Finish;
        let finish = match activation {
            ConvActivation::Linear => Finish::Store,
            ConvActivation::Relu => Finish::Relu,
        };
        if super::conv_direct::forward(g, x, w, bias, finish, y) {
            return;
        }
    }
    let tile = g.tile_rows();
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
            activation.apply(y_tile);
        },
    );
}

/// Backward to the input: `dx += col2im(dY · Wᵀ)`.
///
/// # Shapes
/// `dy: (N, OH, OW, F)`, `w: (KH, KW, C, F)`, `dx: (N, H, W, C)` (accumulated).
pub fn conv2d_backward_input(g: &Conv2dGeometry, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    debug_assert_eq!(dy.len(), g.pixels() * g.f);
    debug_assert_eq!(w.len(), g.patch_len() * g.f);
    debug_assert_eq!(dx.len(), g.n * g.h * g.w * g.c);
    let (patch, f) = (g.patch_len(), g.f);
    // Wᵀ: (F, KH·KW·C), a strided view of the kernel.
    let w_t = MatRef::row_major(w, patch, f).t();
    if g.is_pointwise() {
        gemm(MatRef::row_major(dy, g.pixels(), f), w_t, 1.0, dx);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if super::conv_direct::backward_input(g, dy, w, dx) {
        return;
    }
    let tile = g.tile_rows();
    let image_pixels = g.oh * g.ow;
    dx.par_chunks_mut(g.h * g.w * g.c)
        .zip(dy.par_chunks(image_pixels * f))
        .for_each_init(
            || (vec![0.0f32; tile * patch], Vec::new()),
            |(dcols, dx_planar), (dx_image, dy_image)| {
                if g.cols_layout() == ColsLayout::ChannelMajor {
                    // dx_planar: (C, H, W), this image's gradient in the order col2im writes it
                    dx_planar.clear();
                    dx_planar.resize(dx_image.len(), 0.0);
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
                            .for_each(|(c, d)| *d += dx_planar[c * plane + px]);
                    }
                }
            },
        );
}

/// Backward to the kernel: `dw += colsᵀ · dY`, summed over tiles in a fixed order.
///
/// # Shapes
/// `x: (N, H, W, C)`, `dy: (N, OH, OW, F)`, `dw: (KH, KW, C, F)` (accumulated).
pub fn conv2d_backward_weight(g: &Conv2dGeometry, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    debug_assert_eq!(x.len(), g.n * g.h * g.w * g.c);
    debug_assert_eq!(dy.len(), g.pixels() * g.f);
    debug_assert_eq!(dw.len(), g.patch_len() * g.f);
    let (patch, f) = (g.patch_len(), g.f);
    if g.is_pointwise() {
        // colsᵀ = Xᵀ: (C, N·H·W); gemm's row blocks each own whole rows of dW, so it is deterministic.
        gemm(
            MatRef::row_major(x, g.pixels(), g.c).t(),
            MatRef::row_major(dy, g.pixels(), f),
            1.0,
            dw,
        );
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if super::conv_direct::backward_weight(g, x, dy, dw) {
        return;
    }
    let tile = g.tile_rows();
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
    for partial in partials {
        dw.iter_mut().zip(&partial).for_each(|(d, p)| *d += p);
    }
}

/// Backward to the bias: `db += Σ_{n, oh, ow} dy[n, oh, ow, :]`.
///
/// # Shapes
/// `dy: (N, OH, OW, F)`, `db: (F)` (accumulated).
pub fn conv2d_backward_bias(g: &Conv2dGeometry, dy: &[f32], db: &mut [f32]) {
    debug_assert_eq!(dy.len(), g.pixels() * g.f);
    debug_assert_eq!(db.len(), g.f);
    sum_rows_into(dy, g.f, db);
}

/// Rows of `dy` summed per chunk; short chunks keep the f32 sums accurate.
const SUM_CHUNK_ROWS: usize = 1024;

/// `out[j] += Σ_i rows[i, j]` for `rows: (_, width)`: partial sums over fixed chunks of rows,
/// added in chunk order, so the result does not depend on the number of threads.
pub(crate) fn sum_rows_into(rows: &[f32], width: usize, out: &mut [f32]) {
    let partials: Vec<Vec<f32>> = rows
        .par_chunks(SUM_CHUNK_ROWS * width)
        .map(|chunk| {
            super::map::vectorised(|| {
                let mut sum = vec![0.0f32; width];
                for row in chunk.chunks_exact(width) {
                    sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
                }
                sum
            })
        })
        .collect();
    for partial in partials {
        out.iter_mut().zip(&partial).for_each(|(o, p)| *o += p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::naive::{
        conv2d_backward_bias_naive, conv2d_backward_input_naive, conv2d_backward_weight_naive,
        conv2d_forward_naive,
    };
    use crate::cpu::testing::{assert_close, random_vec, with_threads};
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

    /// Forward, and the three backward kernels (accumulating onto a non-zero start), of the fast
    /// kernels: `[y, dx, dw, db]`.
    fn fast(g: &Conv2dGeometry, d: &Data) -> [Vec<f32>; 4] {
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
        let mut dx = random_vec(d.x.len(), 21);
        conv2d_backward_input(g, &d.dy, &d.w, &mut dx);
        let mut dw = random_vec(d.w.len(), 22);
        conv2d_backward_weight(g, &d.x, &d.dy, &mut dw);
        let mut db = random_vec(g.f, 23);
        conv2d_backward_bias(g, &d.dy, &mut db);
        [y, dx, dw, db]
    }

    fn naive(g: &Conv2dGeometry, d: &Data) -> [Vec<f32>; 4] {
        let mut y = vec![f32::NAN; g.pixels() * g.f];
        conv2d_forward_naive(g, &d.x, &d.w, Some(&d.b), &mut y);
        let mut dx = random_vec(d.x.len(), 21);
        conv2d_backward_input_naive(g, &d.dy, &d.w, &mut dx);
        let mut dw = random_vec(d.w.len(), 22);
        conv2d_backward_weight_naive(g, &d.x, &d.dy, &mut dw);
        let mut db = random_vec(g.f, 23);
        conv2d_backward_bias_naive(g, &d.dy, &mut db);
        [y, dx, dw, db]
    }

    fn check_against_naive(case: &Conv2dCase) {
        let g = case.geometry().unwrap();
        let d = data(&g);
        let (fast, slow) = (fast(&g, &d), naive(&g, &d));
        for (name, (a, b)) in ["y", "dx", "dw", "db"].iter().zip(fast.iter().zip(&slow)) {
            assert_close(a, b, 2e-5, &format!("{name} of {case:?}"));
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
    fn fast_kernels_match_naive_on_named_cases() {
        for case in &CASES {
            check_against_naive(case);
        }
    }

    #[test]
    fn results_do_not_depend_on_thread_count() {
        for case in [&CASES[2], &CASES[3], &CASES[5], &CASES[7], &CASES[8]] {
            let g = case.geometry().unwrap();
            let d = data(&g);
            let one = with_threads(1, || fast(&g, &d));
            let three = with_threads(3, || fast(&g, &d));
            for (a, b) in one.iter().zip(&three) {
                assert!(
                    a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{case:?}"
                );
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

    #[test]
    fn output_sizes_follow_keras() {
        let shape = |h, k, s, d, p| {
            Conv2dGeometry::new([1, h, h, 1], [k, k, 1, 1], [s, s], [d, d], p)
                .unwrap()
                .oh
        };
        assert_eq!(shape(28, 3, 1, 1, Padding::Valid), 26);
        assert_eq!(shape(69, 3, 2, 1, Padding::Valid), 34);
        assert_eq!(shape(10, 3, 1, 2, Padding::Valid), 6); // k_eff = 5
        assert_eq!(shape(7, 3, 2, 1, Padding::Same), 4);
        assert_eq!(shape(224, 7, 2, 1, Padding::Same), 112);
    }

    #[test]
    fn bad_geometry_is_an_error_that_says_why() {
        let err = |input, kernel, strides, dilation, padding| {
            Conv2dGeometry::new(input, kernel, strides, dilation, padding)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err([1, 3, 3, 1], [5, 5, 1, 1], [1, 1], [1, 1], Padding::Valid),
            "conv2d: kernel 5×5 (with dilation 1) does not fit in input 3×3 with padding 'valid'"
        );
        assert_eq!(
            err([1, 5, 5, 1], [3, 3, 1, 1], [1, 1], [3, 1], Padding::Valid),
            "conv2d: kernel 3×3 (with dilation 3×1, spanning 7×3) does not fit in input 5×5 with padding 'valid'"
        );
        assert_eq!(
            err([1, 8, 8, 3], [3, 3, 1, 1], [1, 0], [1, 1], Padding::Same),
            "conv2d: strides must be ≥ 1, found [1, 0]"
        );
        assert_eq!(
            err([1, 8, 8, 3], [3, 3, 3, 1], [1, 1], [0, 1], Padding::Same),
            "conv2d: dilations must be ≥ 1, found [0, 1]"
        );
        assert_eq!(
            err([1, 8, 8, 3], [3, 3, 4, 2], [1, 1], [1, 1], Padding::Same),
            "conv2d: input channels 3 do not match kernel's 4"
        );
        assert!(
            err([0, 8, 8, 3], [3, 3, 3, 2], [1, 1], [1, 1], Padding::Same)
                .contains("found [0, 8, 8, 3]")
        );
        assert!(
            err([1, 8, 8, 3], [3, 3, 3, 0], [1, 1], [1, 1], Padding::Same).contains("kernel shape")
        );
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
        fn fast_kernels_match_naive_on_random_geometry(case in any_case()) {
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
        #[rustfmt::skip]
        let expected_counts = vec![
            1., 2., 2., 1.,
            2., 4., 4., 2.,
            2., 4., 4., 2.,
            1., 2., 2., 1.,
        ];
        assert_eq!(counts, expected_counts);
    }
}
