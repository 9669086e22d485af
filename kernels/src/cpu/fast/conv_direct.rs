//! Direct convolution with register blocking (AVX-512 or AVX2): the fast path for the course's deeper
//! layers (stride 1, dilation 1; the forward pass and `dW` need at least 3 input channels and
//! filters a multiple of 16, `dX` input channels a multiple of 16 and at least 8 filters).
//!
//! # Why a second algorithm
//!
//! [`super::conv`] writes every receptive field into `cols` (im2col) and hands it to a GEMM, which
//! copies it once more into its packed panels. On 74×74×16 → 32 that double copy and the small
//! inner size (K = 3·3·16 = 144) held the GEMM to ~55 % of its large-matrix speed. Here the
//! convolution sum is computed straight from the (zero-padded) image, with the output tile held in
//! registers, so nothing is copied but the image itself.
//!
//! # The trick: pixels of one output row are equally spaced in the input
//!
//! With stride 1 and the image padded to `(HP, WP, C)`, output pixel `(r, o)` reads its tap
//! `(kh, kw)` at input pixel `(r + kh, o + kw)`, i.e. at flat offset
//! `((r·WP + o) + kh·WP + kw)·C`. For `P` consecutive pixels `o … o+P−1` of one output row the
//! reads are `C` floats apart. So a block of `P` output pixels × `L·NV` filters (`L` lanes a
//! register: 16 with AVX-512, 8 with AVX2) is
//!
//! ```text
//! acc[p][f] = Σ_{tap, c} xp[(base + p)·C + tap_offset + c] · w[(tap·C + c)·F + f]
//! ```
//!
//! computed with `P·NV` vector accumulators that stay in registers for the whole sum: each step
//! broadcasts one input value per pixel and loads `NV` vectors of weights, then does `P·NV`
//! fused multiply-adds. With `P·NV = 24` of AVX-512's 32 registers (12 of AVX2's 16, as
//! `P = 6, NV = 2`) the FMA units, not the loads, set the pace.
//!
//! The same kernel gives the gradient to the input: `dX` is the *full* correlation of `dY`
//! (padded by `KH−1`, `KW−1`) with the kernel flipped in space and with `C` and `F` swapped.
//! The gradient to the weights is a sum of outer products over pixels,
//! `dW[kh, kw, c, f] = Σ_p xp[p + kh·WP + kw, c] · dY[p, f]`, blocked the same way: 8 `(kw, c)`
//! rows × `16·NV` filters in AVX-512 registers (6 rows × 16 filters with AVX2), pixels streamed
//! from a cache-sized chunk.
//!
//! Each kernel is written once over the vector interface of `simd.rs` and compiled for each
//! instruction set; the block sizes are its const parameters.
//!
//! # What it bought (2 threads, batch 20, medians, this project's machine)
//!
//! | shape | im2col + GEMM fwd / dX / dW | direct fwd / dX / dW |
//! |---|---|---|
//! | 74×74×16 → 32 | 6.4 / 7.1 / 6.2 ms | 3.2 / 4.6 / 3.5 ms |
//! | 36×36×32 → 64 | 4.5 / 4.0 / 4.4 ms | 2.7 / 3.4 / 3.0 ms |
//!
//! (PyTorch 2.15 with oneDNN, same machine: 13.6 and 10.0 ms for the three together.)
//!
//! Results do not depend on the thread count: images are independent for the forward pass and
//! `dX`, and `dW` is summed over fixed chunks of images, added in chunk order.
use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::simd::{Avx2, Avx512, Vector};
use super::Isa;
use crate::geometry::Conv2dGeometry;

/// Pixels of zero slack after the padded image: the last block of an output row may run up to
/// `P − 1` pixels past the row, and past the image for the last row.
const SLACK_PIXELS: usize = 32;

/// Pixels per block at the end of a row, after the whole blocks of `P`.
const REST_PIXELS: usize = 4;

/// `dW` partial sums: at most this many chunks of images.
const MAX_WEIGHT_CHUNKS: usize = 16;

/// Whether this geometry takes the direct path for the forward pass. From 3 channels
/// (RGB images) up: for the cats-vs-dogs CNN's 150×150×3 → 16 layer the direct forward takes
/// 1.9 ms where im2col + GEMM took 4.7 ms (`cargo bench --bench conv2d -- cd1`), since it never
/// writes the 27-float patch of each pixel out to memory. Layers with 1 or 2 channels keep
/// im2col + GEMM (not measured with this kernel).
pub(crate) fn handles_forward(g: &Conv2dGeometry) -> bool {
    unit_steps(g) && g.c >= 3 && g.f.is_multiple_of(16)
}

/// Whether this geometry takes the direct path for `dX` (its output channels are `C`).
pub(crate) fn handles_backward_input(g: &Conv2dGeometry) -> bool {
    unit_steps(g) && g.f >= 8 && g.c.is_multiple_of(16)
}

/// Whether this geometry takes the direct path for `dW` (blocks of 8 or 6 `(kw, c)` rows).
pub(crate) fn handles_backward_weight(g: &Conv2dGeometry) -> bool {
    unit_steps(g) && g.c >= 3 && g.f.is_multiple_of(16)
}

fn unit_steps(g: &Conv2dGeometry) -> bool {
    g.stride_h == 1 && g.stride_w == 1 && g.dilation_h == 1 && g.dilation_w == 1
}

/// The padded image's size `(HP, WP)`.
fn padded_size(g: &Conv2dGeometry) -> (usize, usize) {
    (
        g.h + g.pad_top + g.pad_bottom,
        g.w + g.pad_left + g.pad_right,
    )
}

/// Copies one image `(H, W, C)` into the middle of `xp: (HP, WP, C)` + slack.
///
/// Only the middle is written: `xp` starts as zeros and is reused image after image, so its border
/// and slack stay zero (clearing the whole buffer each time cost ~5 % of the forward pass).
fn pad_image(g: &Conv2dGeometry, image: &[f32], xp: &mut [f32]) {
    let (_, wp) = padded_size(g);
    for r in 0..g.h {
        let dst = ((r + g.pad_top) * wp + g.pad_left) * g.c;
        xp[dst..dst + g.w * g.c].copy_from_slice(&image[r * g.w * g.c..(r + 1) * g.w * g.c]);
    }
}

/// How a block's accumulators start.
#[derive(Clone, Copy)]
enum Start<'a> {
    /// From zero (the output is overwritten).
    Zero,
    /// From the bias (the output is overwritten with `bias + Σ`).
    Bias(&'a [f32]),
}

/// What a block does to its sums before storing them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finish {
    /// Stores them as they are.
    Store,
    /// Stores `max(sum, 0)`: a ReLU fused into the convolution, so that the activation costs
    /// no pass of its own over the output.
    Relu,
}

/// One image of a stride-1 correlation: `out[r, o, :] = Σ_{tap, c} input[(r·in_w + o)·C_in +
/// taps[tap] + c] · w[tap, c, :]` for `r < out_h`, `o < out_w`.
///
/// # Shapes
/// `input`: a padded image with rows of `in_w` pixels and [`SLACK_PIXELS`] of slack;
/// `w: (taps, C_in, F_out)`; `out: (out_h, out_w, F_out)`.
///
/// `out` may be uninitialised: every element of its `out_h × out_w × F_out` is written, and none
/// is read.
#[derive(Clone, Copy)]
struct Correlation<'a> {
    input: &'a [f32],
    in_w: usize,
    c_in: usize,
    taps: &'a [usize],
    w: &'a [f32],
    f_out: usize,
    out_size: (usize, usize),
    start: Start<'a>,
    finish: Finish,
}

impl Correlation<'_> {
    /// Runs the correlation into `out` with the register blocks of `isa` for `f_out` outputs
    /// (`f_out` a multiple of 16).
    ///
    /// # Safety
    /// The CPU supports `isa`; `input` holds every pixel the taps reach plus the slack.
    unsafe fn run(&self, isa: Isa, out: &mut [MaybeUninit<f32>]) {
        // SAFETY: forwarded from the caller.
        unsafe {
            match isa {
                Isa::Avx512 => self.run_avx512(out),
                Isa::Avx2 => self.run_avx2(out),
            }
        }
    }

    /// With AVX-512: 24 accumulators, as 6 pixels × 64 outputs, 12 × 32 or 24 × 16.
    #[target_feature(enable = "avx512f")]
    unsafe fn run_avx512(&self, out: &mut [MaybeUninit<f32>]) {
        if self.f_out.is_multiple_of(64) {
            self.image::<Avx512, 6, 4>(out)
        } else if self.f_out.is_multiple_of(32) {
            self.image::<Avx512, 12, 2>(out)
        } else {
            self.image::<Avx512, 24, 1>(out)
        }
    }

    /// With AVX2: 12 accumulators, as 6 pixels × 16 outputs (two weight vectors and a broadcast
    /// take three of the remaining four registers).
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(&self, out: &mut [MaybeUninit<f32>]) {
        self.image::<Avx2, 6, 2>(out)
    }

    /// The whole image in blocks of `P` pixels × `LANES·NV` outputs.
    ///
    /// # Safety
    /// The CPU has `V`'s instruction set; `f_out` is a multiple of `LANES·NV`; as [`Self::run`].
    #[inline(always)]
    unsafe fn image<V: Vector, const P: usize, const NV: usize>(
        &self,
        out: &mut [MaybeUninit<f32>],
    ) {
        let Correlation {
            input,
            in_w,
            c_in,
            taps,
            w,
            f_out,
            out_size: (out_h, out_w),
            ..
        } = *self;
        let last_read = (out_h - 1) * in_w + out_w - 1 + P - 1;
        let max_tap = taps.iter().max().copied().unwrap_or(0);
        assert!(
            (last_read * c_in + max_tap + c_in) <= input.len(),
            "correlate_image: input too short"
        );
        assert!(w.len() >= taps.len() * c_in * f_out && out.len() >= out_h * out_w * f_out);
        // Whole blocks of P pixels, then the rest of the row in blocks of REST_PIXELS, so that a
        // row of 74 pixels costs 3 × 24 + 4 pixels of work rather than 4 × 24.
        let whole = out_w / P * P;
        for r in 0..out_h {
            for o in (0..whole)
                .step_by(P)
                .chain((whole..out_w).step_by(REST_PIXELS))
            {
                let block = if o < whole { P } else { REST_PIXELS };
                let valid = block.min(out_w - o);
                for f0 in (0..f_out).step_by(V::LANES * NV) {
                    let x = input.as_ptr().add((r * in_w + o) * c_in);
                    let (w, out) = (
                        w.as_ptr().add(f0),
                        out.as_mut_ptr()
                            .cast::<f32>()
                            .add((r * out_w + o) * f_out + f0),
                    );
                    // SAFETY: the asserts above bound every read; `valid` bounds every write.
                    unsafe {
                        if block == P {
                            self.block::<V, P, NV>(x, w, out, valid, f0)
                        } else {
                            self.block::<V, REST_PIXELS, NV>(x, w, out, valid, f0)
                        }
                    };
                }
            }
        }
    }

    /// `P` pixels × `LANES·NV` outputs from `x` (the first pixel's input) and `w` (the first
    /// output's weights), accumulated in registers (see the module doc).
    ///
    /// # Safety
    /// As [`Self::image`], which bounds the pointers.
    #[inline(always)]
    unsafe fn block<V: Vector, const P: usize, const NV: usize>(
        &self,
        x: *const f32,
        w: *const f32,
        out: *mut f32,
        valid: usize,
        f0: usize,
    ) {
        let (c_in, f_out) = (self.c_in, self.f_out);
        // SAFETY (whole body): pointers are in bounds as checked by `image`.
        unsafe {
            let mut acc = [[V::zero(); NV]; P];
            match self.start {
                Start::Zero => {}
                Start::Bias(b) => {
                    for acc_p in acc.iter_mut() {
                        for (v, a) in acc_p.iter_mut().enumerate() {
                            *a = V::load(b.as_ptr().add(f0 + V::LANES * v));
                        }
                    }
                }
            }
            for (t, &offset) in self.taps.iter().enumerate() {
                let x_tap = x.add(offset);
                let w_tap = w.add(t * c_in * f_out);
                for c in 0..c_in {
                    let w_vec: [V::Reg; NV] =
                        std::array::from_fn(|v| V::load(w_tap.add(c * f_out + V::LANES * v)));
                    for (p, acc_p) in acc.iter_mut().enumerate() {
                        let x_value = V::splat(*x_tap.add(p * c_in + c));
                        for (a, wv) in acc_p.iter_mut().zip(&w_vec) {
                            *a = V::mul_add(x_value, *wv, *a);
                        }
                    }
                }
            }
            // Loops over all P pixels, each store under its own test, unroll completely and
            // keep `acc` in registers (a loop cut at `valid` made the compiler keep a copy of
            // `acc` in memory, stored at every step of the sum: half the speed).
            if self.finish == Finish::Relu {
                for acc_p in acc.iter_mut() {
                    for a in acc_p.iter_mut() {
                        *a = V::max(*a, V::zero());
                    }
                }
            }
            for (p, acc_p) in acc.iter().enumerate() {
                if p < valid {
                    for (v, a) in acc_p.iter().enumerate() {
                        V::store(out.add(p * f_out + V::LANES * v), *a);
                    }
                }
            }
        }
    }
}

/// Tap offsets `(kh·row + kw)·channels` in a padded image whose rows hold `row` pixels.
fn tap_offsets(kh: usize, kw: usize, row: usize, channels: usize) -> Vec<usize> {
    (0..kh)
        .flat_map(|i| (0..kw).map(move |j| (i * row + j) * channels))
        .collect()
}

/// Forward, `y = conv2d(x, w) + bias`, image by image, with the kernels of `isa`. Returns false
/// (doing nothing) when the geometry is not one [`handles_forward`] accepts.
///
/// # Safety
/// The CPU supports `isa`.
pub(crate) unsafe fn forward(
    isa: Isa,
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    finish: Finish,
    y: &mut [MaybeUninit<f32>],
) -> bool {
    if !handles_forward(g) {
        return false;
    }
    let (hp, wp) = padded_size(g);
    let taps = tap_offsets(g.kh, g.kw, wp, g.c);
    let start = bias.map_or(Start::Zero, Start::Bias);
    y.par_chunks_mut(g.oh * g.ow * g.f)
        .zip(x.par_chunks(g.h * g.w * g.c))
        .for_each_init(
            // xp: (HP, WP, C) + slack, one padded image
            || vec![0.0f32; (hp * wp + SLACK_PIXELS) * g.c],
            |xp, (y_image, x_image)| {
                pad_image(g, x_image, xp);
                let correlation = Correlation {
                    input: xp,
                    in_w: wp,
                    c_in: g.c,
                    taps: &taps,
                    w,
                    f_out: g.f,
                    out_size: (g.oh, g.ow),
                    start,
                    finish,
                };
                // SAFETY: the CPU has isa (the caller's contract); xp has the slack the
                // correlation asserts.
                unsafe { correlation.run(isa, y_image) };
            },
        );
    true
}

/// `dx = ∂L/∂x` (overwritten): the full correlation of `dY` with the flipped, transposed kernel,
/// then the padding cropped off, with the kernels of `isa`. Returns false when
/// [`handles_backward_input`] does not accept the case.
///
/// # Safety
/// The CPU supports `isa`.
pub(crate) unsafe fn backward_input(
    isa: Isa,
    g: &Conv2dGeometry,
    dy: &[f32],
    w: &[f32],
    dx: &mut [f32],
) -> bool {
    if !handles_backward_input(g) {
        return false;
    }
    let (hp, wp) = padded_size(g);
    // dY padded by KH−1 rows and KW−1 columns on each side: (OH + 2(KH−1), OW + 2(KW−1), F)
    let (dh, dw_) = (g.oh + 2 * (g.kh - 1), g.ow + 2 * (g.kw - 1));
    // w_flipped: (KH, KW, F, C), w_flipped[kh, kw, f, c] = w[KH−1−kh, KW−1−kw, c, f]
    let mut w_flipped = vec![0.0f32; w.len()];
    for kh in 0..g.kh {
        for kw in 0..g.kw {
            let src_tap = (g.kh - 1 - kh) * g.kw + (g.kw - 1 - kw);
            let dst_tap = kh * g.kw + kw;
            for c in 0..g.c {
                for f in 0..g.f {
                    w_flipped[(dst_tap * g.f + f) * g.c + c] = w[(src_tap * g.c + c) * g.f + f];
                }
            }
        }
    }
    let taps = tap_offsets(g.kh, g.kw, dw_, g.f);
    let unpadded = (hp, wp) == (g.h, g.w);
    dx.par_chunks_mut(g.h * g.w * g.c)
        .zip(dy.par_chunks(g.oh * g.ow * g.f))
        .for_each_init(
            || {
                (
                    vec![0.0f32; (dh * dw_ + SLACK_PIXELS) * g.f],
                    vec![0.0f32; if unpadded { 0 } else { hp * wp * g.c }],
                )
            },
            |(dy_padded, dxp), (dx_image, dy_image)| {
                // Only the middle is written; the zero border stays zero (see `pad_image`).
                for r in 0..g.oh {
                    let dst = ((r + g.kh - 1) * dw_ + g.kw - 1) * g.f;
                    dy_padded[dst..dst + g.ow * g.f]
                        .copy_from_slice(&dy_image[r * g.ow * g.f..(r + 1) * g.ow * g.f]);
                }
                let correlation = Correlation {
                    input: dy_padded,
                    in_w: dw_,
                    c_in: g.f,
                    taps: &taps,
                    w: &w_flipped,
                    f_out: g.c,
                    out_size: (hp, wp),
                    start: Start::Zero,
                    finish: Finish::Store,
                };
                // SAFETY: the CPU has isa (the caller's contract); dy_padded has the slack the
                // correlation asserts; and the kernel writes only floats through
                // `as_uninit_mut`, so dx stays initialised.
                unsafe {
                    if unpadded {
                        correlation.run(isa, super::uninit::as_uninit_mut(dx_image));
                    } else {
                        // dxp: (HP, WP, C), the gradient of the padded image; its border is dropped.
                        correlation.run(isa, super::uninit::as_uninit_mut(dxp));
                        for r in 0..g.h {
                            let src = ((r + g.pad_top) * wp + g.pad_left) * g.c;
                            let row = &dxp[src..src + g.w * g.c];
                            dx_image[r * g.w * g.c..(r + 1) * g.w * g.c].copy_from_slice(row);
                        }
                    }
                }
            },
        );
    true
}

/// `dw = ∂L/∂w = Σ_p xp[p + tap]ᵀ · dY[p]` (overwritten), summed over fixed chunks of images in
/// chunk order.
/// With the kernels of `isa`; returns false when [`handles_backward_weight`] does not accept the
/// case.
///
/// # Safety
/// The CPU supports `isa`.
pub(crate) unsafe fn backward_weight(
    isa: Isa,
    g: &Conv2dGeometry,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
) -> bool {
    if !handles_backward_weight(g) {
        return false;
    }
    let (hp, wp) = padded_size(g);
    let chunks = g.n.min(MAX_WEIGHT_CHUNKS);
    let partials: Vec<Vec<f32>> = (0..chunks)
        .into_par_iter()
        .map(|chunk| {
            // partial: (KH, KW, C, F), this chunk's share of dW
            let mut partial = vec![0.0f32; dw.len()];
            // xp: (HP, WP, C) + slack
            let mut xp = vec![0.0f32; (hp * wp + SLACK_PIXELS) * g.c];
            for image in chunk * g.n / chunks..(chunk + 1) * g.n / chunks {
                pad_image(
                    g,
                    &x[image * g.h * g.w * g.c..(image + 1) * g.h * g.w * g.c],
                    &mut xp,
                );
                let dy_image = &dy[image * g.oh * g.ow * g.f..(image + 1) * g.oh * g.ow * g.f];
                // SAFETY: the CPU has isa (the caller's contract); F % 16 == 0 was checked.
                unsafe {
                    match isa {
                        Isa::Avx512 => weight_grad_avx512(g, &xp, wp, dy_image, &mut partial),
                        Isa::Avx2 => weight_grad_avx2(g, &xp, wp, dy_image, &mut partial),
                    }
                }
            }
            partial
        })
        .collect();
    dw.fill(0.0);
    for partial in partials {
        dw.iter_mut().zip(&partial).for_each(|(d, p)| *d += p);
    }
    true
}

/// [`weight_grad_image`] with AVX-512: 8 rows × 32 or 16 filters (16 or 8 accumulators).
///
/// # Safety
/// AVX-512F; as [`weight_grad_image`].
#[target_feature(enable = "avx512f")]
unsafe fn weight_grad_avx512(
    g: &Conv2dGeometry,
    xp: &[f32],
    wp: usize,
    dy: &[f32],
    dw: &mut [f32],
) {
    if g.f.is_multiple_of(32) {
        weight_grad_image::<Avx512, 8, 2>(g, xp, wp, dy, dw)
    } else {
        weight_grad_image::<Avx512, 8, 1>(g, xp, wp, dy, dw)
    }
}

/// [`weight_grad_image`] with AVX2: 6 rows × 16 filters (12 accumulators, two vectors of `dY`
/// and a broadcast in the 16 registers).
///
/// # Safety
/// AVX2 and FMA; as [`weight_grad_image`].
#[target_feature(enable = "avx2,fma")]
unsafe fn weight_grad_avx2(g: &Conv2dGeometry, xp: &[f32], wp: usize, dy: &[f32], dw: &mut [f32]) {
    weight_grad_image::<Avx2, 6, 2>(g, xp, wp, dy, dw)
}

/// One image's `dW += Σ_p xp[p + kh·WP + kw, c] · dY[p, f]`.
///
/// For a fixed `kh`, the `KW·C` values `(kw, c)` that pixel `p` contributes are contiguous in `xp`
/// (from `(p + kh·WP)·C`), and so are the rows `(kh, kw, c)` of `dW`: each block holds `ROWS` of
/// them × `LANES·NV` filters in registers while the pixels of a cache-sized chunk of rows stream
/// by.
///
/// # Safety
/// The CPU has `V`'s instruction set; `F % (LANES·NV) == 0`; `xp` is a padded image with slack
/// (at least `ROWS` floats).
#[inline(always)]
unsafe fn weight_grad_image<V: Vector, const ROWS: usize, const NV: usize>(
    g: &Conv2dGeometry,
    xp: &[f32],
    wp: usize,
    dy: &[f32],
    dw: &mut [f32],
) {
    let (f, row_len) = (g.f, g.kw * g.c);
    // The last pixel's row, rounded up to whole blocks of ROWS values.
    let row_reach = row_len.div_ceil(ROWS) * ROWS;
    assert!(xp.len() >= ((g.oh - 1 + g.kh - 1) * wp + g.ow - 1) * g.c + row_reach);
    assert!(dy.len() >= g.oh * g.ow * f && dw.len() >= g.kh * row_len * f);
    // About 32 KiB of dY per chunk of output rows, so it stays in L1 across the blocks.
    let rows_per_chunk = (8192 / (g.ow * f)).max(1);
    for r0 in (0..g.oh).step_by(rows_per_chunk) {
        let r1 = (r0 + rows_per_chunk).min(g.oh);
        for kh in 0..g.kh {
            for j0 in (0..row_len).step_by(ROWS) {
                for f0 in (0..f).step_by(V::LANES * NV) {
                    // SAFETY: the asserts above bound every pointer below.
                    unsafe {
                        let dw_block = dw.as_mut_ptr().add((kh * row_len + j0) * f + f0);
                        // The last block of a row of KW·C not a multiple of ROWS (C = 3) is
                        // ragged: its rows past the end start at zero, read the next pixel's
                        // values (inside the slack), and are never stored.
                        let rows = ROWS.min(row_len - j0);
                        let mut acc = [[V::zero(); NV]; ROWS];
                        // (Loops over all ROWS with a test, not cut at `rows`: see
                        // `Correlation::block`.)
                        for (j, acc_j) in acc.iter_mut().enumerate() {
                            if j >= rows {
                                continue;
                            }
                            for (v, a) in acc_j.iter_mut().enumerate() {
                                *a = V::load(dw_block.add(j * f + V::LANES * v));
                            }
                        }
                        for r in r0..r1 {
                            for o in 0..g.ow {
                                let x_row = xp.as_ptr().add(((r + kh) * wp + o) * g.c + j0);
                                let dy_px = dy.as_ptr().add((r * g.ow + o) * f + f0);
                                let mut dy_vec = [V::zero(); NV];
                                for (v, d) in dy_vec.iter_mut().enumerate() {
                                    *d = V::load(dy_px.add(V::LANES * v));
                                }
                                for (j, acc_j) in acc.iter_mut().enumerate() {
                                    let x_value = V::splat(*x_row.add(j));
                                    for (a, d) in acc_j.iter_mut().zip(&dy_vec) {
                                        *a = V::mul_add(x_value, *d, *a);
                                    }
                                }
                            }
                        }
                        for (j, acc_j) in acc.iter().enumerate() {
                            if j < rows {
                                for (v, a) in acc_j.iter().enumerate() {
                                    V::store(dw_block.add(j * f + V::LANES * v), *a);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::naive::{
        conv2d_backward_input_naive, conv2d_backward_weight_naive, conv2d_forward_naive,
    };
    use crate::cpu::testing::{assert_close, random_vec, with_threads};
    use crate::geometry::Padding;

    /// A geometry the direct path accepts.
    #[derive(Clone, Copy, Debug)]
    struct DirectCase {
        n: usize,
        h: usize,
        w: usize,
        c: usize,
        f: usize,
        k: usize,
        padding: Padding,
    }

    const CASES: [DirectCase; 6] = [
        DirectCase {
            n: 2,
            h: 9,
            w: 7,
            c: 16,
            f: 32,
            k: 3,
            padding: Padding::Valid,
        },
        DirectCase {
            n: 3,
            h: 8,
            w: 13,
            c: 16,
            f: 16,
            k: 3,
            padding: Padding::Same,
        },
        DirectCase {
            n: 1,
            h: 11,
            w: 9,
            c: 32,
            f: 64,
            k: 3,
            padding: Padding::Valid,
        },
        DirectCase {
            n: 2,
            h: 6,
            w: 6,
            c: 8,
            f: 48,
            k: 5,
            padding: Padding::Same,
        },
        DirectCase {
            n: 2,
            h: 5,
            w: 40,
            c: 32,
            f: 32,
            k: 2,
            padding: Padding::Same,
        },
        DirectCase {
            n: 17,
            h: 4,
            w: 4,
            c: 16,
            f: 16,
            k: 3,
            padding: Padding::Valid,
        },
    ];

    fn geometry(case: &DirectCase) -> Conv2dGeometry {
        let DirectCase {
            n,
            h,
            w,
            c,
            f,
            k,
            padding,
        } = *case;
        Conv2dGeometry::new([n, h, w, c], [k, k, c, f], [1, 1], [1, 1], padding).unwrap()
    }

    /// The instruction sets this CPU can run the direct kernels with; where there is none, each
    /// test says so and stops (the tests of `cpu/conv.rs` cover what the convolution then
    /// computes).
    fn isas(test: &str) -> Vec<Isa> {
        let here = crate::cpu::fast::isas_here();
        if here.is_empty() {
            eprintln!(
                "{test}: neither AVX-512 nor AVX2 on this CPU, the direct kernels not tested"
            );
        }
        here
    }

    /// The forward, `dX` (where `dx` is asked for) and `dW` of `g` through this file's kernels
    /// for `isa`, against the naive loops. `seed` varies the random data.
    fn check_against_naive(isa: Isa, g: &Conv2dGeometry, seed: u64, dx: bool, what: &str) {
        let what = &format!("{isa:?} {what}");
        let x = random_vec(g.n * g.h * g.w * g.c, seed);
        let w = random_vec(g.kh * g.kw * g.c * g.f, seed + 100);
        let bias = random_vec(g.f, seed + 200);
        let dy = random_vec(g.n * g.oh * g.ow * g.f, seed + 300);

        // Outputs start as NaN: every kernel must overwrite every element.
        let (mut y, mut y_ref) = (vec![f32::NAN; dy.len()], vec![f32::NAN; dy.len()]);
        // SAFETY: the CPU has isa; the forward writes only floats into y.
        let took = unsafe {
            let y = crate::cpu::fast::uninit::as_uninit_mut(&mut y);
            forward(isa, g, &x, &w, Some(&bias), Finish::Store, y)
        };
        assert!(took, "{what}: the direct forward declined it");
        conv2d_forward_naive(g, &x, &w, Some(&bias), &mut y_ref);
        assert_close(&y, &y_ref, 1e-5, &format!("forward {what}"));

        if dx {
            let (mut dx, mut dx_ref) = (vec![f32::NAN; x.len()], vec![f32::NAN; x.len()]);
            // SAFETY: the CPU has isa.
            let took = unsafe { backward_input(isa, g, &dy, &w, &mut dx) };
            assert!(took, "{what}: the direct dX declined it");
            conv2d_backward_input_naive(g, &dy, &w, &mut dx_ref);
            assert_close(&dx, &dx_ref, 1e-5, &format!("dx {what}"));
        }
        let (mut dw, mut dw_ref) = (vec![f32::NAN; w.len()], vec![f32::NAN; w.len()]);
        // SAFETY: the CPU has isa.
        let took = unsafe { backward_weight(isa, g, &x, &dy, &mut dw) };
        assert!(took, "{what}: the direct dW declined it");
        conv2d_backward_weight_naive(g, &x, &dy, &mut dw_ref);
        assert_close(&dw, &dw_ref, 1e-5, &format!("dw {what}"));
    }

    /// RGB images (C = 3, the cats-vs-dogs CNN's first layer) take the direct forward and
    /// weight gradient.
    #[test]
    fn three_channel_images_take_the_direct_kernels() {
        for isa in isas("three_channel_images_take_the_direct_kernels") {
            for (i, padding) in [Padding::Valid, Padding::Same].into_iter().enumerate() {
                let g = Conv2dGeometry::new([2, 12, 30, 3], [3, 3, 3, 16], [1, 1], [1, 1], padding)
                    .unwrap();
                assert!(handles_forward(&g) && handles_backward_weight(&g));
                // The weight gradient's rows of KW·C = 9 values end in a ragged block.
                check_against_naive(isa, &g, 600 + i as u64, false, &format!("{padding:?}"));
            }
        }
    }

    #[test]
    fn direct_kernels_match_naive() {
        for isa in isas("direct_kernels_match_naive") {
            for (i, case) in CASES.iter().enumerate() {
                let g = geometry(case);
                let dx = handles_backward_input(&g);
                check_against_naive(isa, &g, 10 * i as u64, dx, &format!("{case:?}"));
            }
        }
    }

    #[test]
    fn results_do_not_depend_on_thread_count() {
        for isa in isas("results_do_not_depend_on_thread_count") {
            same_results_on_1_and_3_threads(isa);
        }
    }

    fn same_results_on_1_and_3_threads(isa: Isa) {
        let g = geometry(&CASES[5]);
        let x = random_vec(g.n * g.h * g.w * g.c, 1);
        let w = random_vec(g.kh * g.kw * g.c * g.f, 2);
        let dy = random_vec(g.n * g.oh * g.ow * g.f, 3);
        let run = || {
            let mut y = vec![0.0; dy.len()];
            let mut dx = vec![0.0; x.len()];
            let mut dw = vec![0.0; w.len()];
            // SAFETY: the CPU has isa; the forward writes only floats into y.
            unsafe {
                let y_uninit = crate::cpu::fast::uninit::as_uninit_mut(&mut y);
                assert!(forward(isa, &g, &x, &w, None, Finish::Store, y_uninit));
                assert!(backward_input(isa, &g, &dy, &w, &mut dx));
                assert!(backward_weight(isa, &g, &x, &dy, &mut dw));
            }
            (y, dx, dw)
        };
        assert_eq!(with_threads(1, run), with_threads(3, run), "{isa:?}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Random geometries the direct path takes, at every instruction set this CPU has.
        #[test]
        fn direct_kernels_match_naive_on_random_geometries(
            n in 1usize..3,
            h in 3usize..11,
            w in 3usize..11,
            c in proptest::sample::select(vec![3usize, 5, 16, 32]),
            f in proptest::sample::select(vec![16usize, 32, 48, 64]),
            k in 1usize..4,
            same in proptest::bool::ANY,
            seed in 0u64..1000,
        ) {
            let padding = if same { Padding::Same } else { Padding::Valid };
            let g = Conv2dGeometry::new([n, h, w, c], [k, k, c, f], [1, 1], [1, 1], padding)
                .unwrap();
            for isa in crate::cpu::fast::isas_here() {
                let dx = handles_backward_input(&g);
                check_against_naive(isa, &g, seed, dx, &format!("{g:?}"));
            }
        }
    }

    #[test]
    fn other_geometries_are_declined() {
        let strided =
            Conv2dGeometry::new([1, 8, 8, 16], [3, 3, 16, 16], [2, 2], [1, 1], Padding::Same)
                .unwrap();
        let few_channels =
            Conv2dGeometry::new([1, 8, 8, 1], [3, 3, 1, 16], [1, 1], [1, 1], Padding::Valid)
                .unwrap();
        let odd_filters = Conv2dGeometry::new(
            [1, 8, 8, 16],
            [3, 3, 16, 12],
            [1, 1],
            [1, 1],
            Padding::Valid,
        )
        .unwrap();
        for g in [strided, few_channels, odd_filters] {
            assert!(!handles_forward(&g), "{g:?}");
            for isa in crate::cpu::fast::isas_here() {
                // SAFETY: the CPU has isa.
                let took = unsafe { forward(isa, &g, &[], &[], None, Finish::Store, &mut []) };
                assert!(!took, "{isa:?} {g:?}");
            }
        }
    }
}
