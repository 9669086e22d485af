//! The fast paths of max pooling (`cpu/pool.rs` holds the textbook window loop and the hooks).
//!
//! - Outputs are written once, straight into fresh memory (`uninit.rs`): zeroing them first cost
//!   as much as the pooling.
//! - A window that lies wholly inside the image reads its cells at offsets computed once, and
//!   the course's 2×2 window has its own loop: four slices compared channel by channel, with
//!   the running max and its index as selects, which the compiler vectorises.
//! - Each image's loop is compiled again for AVX-512 and for AVX2, whose 64-bit lanes vectorise
//!   the selects and compares of the indices, and chosen at run time.
//! - The backward of windows that do not overlap gathers instead of scattering (see
//!   [`max_pool2d_backward`]).
//!
//! Both give exactly the textbook results: the same maxima, the same winners (the first maximum
//! of each window), the same gradients.
use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::uninit;
use crate::geometry::Pool2dGeometry;

/// Max pooling forward, as `cpu::pool::max_pool2d_forward`: `(y, argmax)`.
///
/// # Speed
/// Both outputs are written once, straight into fresh memory: zeroing them first cost as much as
/// the pooling. A window that lies wholly inside the image (all of them without padding) reads
/// its cells at offsets computed once; the 2×2 window of the course has its own loop, four
/// slices compared channel by channel, which the compiler vectorises (with AVX-512 or AVX2 where
/// the CPU has them: the selects of 64-bit indices need them).
pub(crate) fn max_pool2d_forward(g: &Pool2dGeometry, x: &[f32]) -> (Vec<f32>, Vec<usize>) {
    let c = g.c;
    assert_eq!(
        x.len(),
        g.n * g.h * g.w * c,
        "max_pool2d: x has the wrong size"
    );
    let image_out = g.oh * g.ow * c;
    let len = g.n * image_out;
    let mut y = Vec::with_capacity(len);
    let mut argmax = Vec::with_capacity(len);
    // Offsets (into x, from the window's first cell) of the cells of a window with no padding.
    let inner: Vec<usize> = (0..g.pool_h)
        .flat_map(|ph| (0..g.pool_w).map(move |pw| (ph * g.w + pw) * c))
        .collect();
    y.spare_capacity_mut()[..len]
        .par_chunks_mut(image_out)
        .zip(argmax.spare_capacity_mut()[..len].par_chunks_mut(image_out))
        .enumerate()
        .for_each(|(n, (y_image, argmax_image))| {
            #[cfg(target_arch = "x86_64")]
            match super::isa() {
                // SAFETY: the level never exceeds what the CPU has.
                Some(super::Isa::Avx512) => unsafe {
                    max_pool_image_avx512(g, x, n, &inner, y_image, argmax_image)
                },
                // SAFETY: as above.
                Some(super::Isa::Avx2) => unsafe {
                    max_pool_image_avx2(g, x, n, &inner, y_image, argmax_image)
                },
                None => max_pool_image(g, x, n, &inner, y_image, argmax_image),
            }
            #[cfg(not(target_arch = "x86_64"))]
            max_pool_image(g, x, n, &inner, y_image, argmax_image)
        });
    // SAFETY: every element of `y[..len]` and `argmax[..len]` was written above: the images
    // cover 0..len, and each image writes every pixel's c channels.
    unsafe {
        y.set_len(len);
        argmax.set_len(len);
    }
    (y, argmax)
}

/// [`max_pool_image`] compiled for AVX-512, whose 64-bit lanes vectorise the index selects.
///
/// # Safety
/// The CPU supports AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn max_pool_image_avx512(
    g: &Pool2dGeometry,
    x: &[f32],
    n: usize,
    inner: &[usize],
    y_image: &mut [MaybeUninit<f32>],
    argmax_image: &mut [MaybeUninit<usize>],
) {
    max_pool_image(g, x, n, inner, y_image, argmax_image)
}

/// [`max_pool_image`] compiled for AVX2 (4 lanes of 64 bits).
///
/// # Safety
/// The CPU supports AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn max_pool_image_avx2(
    g: &Pool2dGeometry,
    x: &[f32],
    n: usize,
    inner: &[usize],
    y_image: &mut [MaybeUninit<f32>],
    argmax_image: &mut [MaybeUninit<usize>],
) {
    max_pool_image(g, x, n, inner, y_image, argmax_image)
}

/// The forward of image `n`: every window's max and winner, into `y_image` and `argmax_image`.
#[inline(always)]
fn max_pool_image(
    g: &Pool2dGeometry,
    x: &[f32],
    n: usize,
    inner: &[usize],
    y_image: &mut [MaybeUninit<f32>],
    argmax_image: &mut [MaybeUninit<usize>],
) {
    let c = g.c;
    let image_start = n * g.h * g.w * c;
    // cells: offsets from the first cell of the valid cells of an edge window
    let mut cells = Vec::with_capacity(g.pool_h * g.pool_w);
    for oh in 0..g.oh {
        let rows = g.window_rows(oh);
        for ow in 0..g.ow {
            let cols = g.window_cols(ow);
            let o = (oh * g.ow + ow) * c;
            let (y_px, arg_px) = (&mut y_image[o..o + c], &mut argmax_image[o..o + c]);
            let first = image_start + (rows.start * g.w + cols.start) * c;
            if rows.len() == g.pool_h && cols.len() == g.pool_w {
                if let [0, right, down, diagonal] = inner[..] {
                    max_of_2x2(x, first, [right, down, diagonal], y_px, arg_px);
                } else {
                    max_of_cells(x, first, inner, y_px, arg_px);
                }
            } else {
                cells.clear();
                for ih in rows.clone() {
                    for iw in cols.clone() {
                        cells.push(((ih - rows.start) * g.w + iw - cols.start) * c);
                    }
                }
                max_of_cells(x, first, &cells, y_px, arg_px);
            }
        }
    }
}

/// One 2×2 window: the cells at `first` and `first + offsets[i]`, channel by channel, the running
/// max and its index as selects (not branches, which random data mispredicts half the time).
/// Strict `>`: the first maximum wins ties.
#[inline(always)]
fn max_of_2x2(
    x: &[f32],
    first: usize,
    [right, down, diagonal]: [usize; 3],
    y: &mut [MaybeUninit<f32>],
    argmax: &mut [MaybeUninit<usize>],
) {
    let c = y.len();
    let (top_left, top_right) = (&x[first..first + c], &x[first + right..first + right + c]);
    let (bottom_left, bottom_right) = (
        &x[first + down..first + down + c],
        &x[first + diagonal..first + diagonal + c],
    );
    for ch in 0..c {
        let (mut best, mut winner) = (top_left[ch], first + ch);
        for (value, offset) in [
            (top_right[ch], right),
            (bottom_left[ch], down),
            (bottom_right[ch], diagonal),
        ] {
            let better = value > best;
            best = if better { value } else { best };
            winner = if better { first + offset + ch } else { winner };
        }
        y[ch].write(best);
        argmax[ch].write(winner);
    }
}

/// One window of any shape: the cells at `first + offsets[i]` (`offsets[0] == 0`), channel by
/// channel, as [`max_of_2x2`].
#[inline(always)]
fn max_of_cells(
    x: &[f32],
    first: usize,
    offsets: &[usize],
    y: &mut [MaybeUninit<f32>],
    argmax: &mut [MaybeUninit<usize>],
) {
    for (ch, (y, arg)) in y.iter_mut().zip(argmax.iter_mut()).enumerate() {
        let (mut best, mut winner) = (x[first + ch], first + ch);
        for &offset in &offsets[1..] {
            let i = first + offset + ch;
            let better = x[i] > best;
            best = if better { x[i] } else { best };
            winner = if better { i } else { winner };
        }
        y.write(best);
        arg.write(winner);
    }
}

/// Max pooling backward for windows that do not overlap (stride ≥ window, as in the course):
/// `dx` with `dy[i]` at `argmax[i]` and 0 elsewhere, or `None` if a winner is not a cell of its
/// own window (which the forward never records).
///
/// # Speed
/// Each cell of `x` lies in at most one window, so `dx` is written once, window by window: `dy`
/// where the cell won, else 0. That needs neither a zeroed `dx` nor a scattered add, and it
/// checks the winners for free: each window must find its winner among its own cells.
///
/// # Panics
/// If the windows overlap (a bug in the caller).
pub(crate) fn max_pool2d_backward(
    g: &Pool2dGeometry,
    dy: &[f32],
    argmax: &[usize],
) -> Option<Vec<f32>> {
    assert!(
        g.stride_h >= g.pool_h && g.stride_w >= g.pool_w,
        "max_pool2d_backward: overlapping windows have no fast path"
    );
    let (image_in, image_out) = (g.h * g.w * g.c, g.oh * g.ow * g.c);
    let len = g.n * image_in;
    let covered = Coverage::new(g);
    // SAFETY: `gather_image` writes every element of its image, and the images cover 0..len.
    let (dx, winners) = unsafe {
        let mut winners = 0;
        let dx = uninit::vec_written_by(len, |dx| {
            winners = dx
                .par_chunks_mut(image_in)
                .zip(dy.par_chunks(image_out).zip(argmax.par_chunks(image_out)))
                .enumerate()
                .map(|(n, (dx_image, (dy_image, argmax_image)))| {
                    let args = (g, n, &covered, dy_image, argmax_image, dx_image);
                    #[cfg(target_arch = "x86_64")]
                    match super::isa() {
                        // SAFETY: the level never exceeds what the CPU has.
                        Some(super::Isa::Avx512) => gather_image_avx512(args),
                        // SAFETY: as above.
                        Some(super::Isa::Avx2) => gather_image_avx2(args),
                        None => gather_image(args),
                    }
                    #[cfg(not(target_arch = "x86_64"))]
                    gather_image(args)
                })
                .sum();
        });
        (dx, winners)
    };
    (winners == dy.len()).then_some(dx)
}

/// [`gather_image`] compiled for AVX-512, whose 64-bit lanes vectorise the index compares.
///
/// # Safety
/// The CPU supports AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gather_image_avx512(args: GatherArgs) -> usize {
    gather_image(args)
}

/// [`gather_image`] compiled for AVX2 (4 lanes of 64 bits).
///
/// # Safety
/// The CPU supports AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gather_image_avx2(args: GatherArgs) -> usize {
    gather_image(args)
}

/// The arguments of [`gather_image`]: `(g, n, covered, dy_image, argmax_image, dx_image)`.
type GatherArgs<'a> = (
    &'a Pool2dGeometry,
    usize,
    &'a Coverage,
    &'a [f32],
    &'a [usize],
    &'a mut [MaybeUninit<f32>],
);

/// The backward of image `n` for windows that do not overlap: every cell of `dx_image` gets the
/// `dy` of its window where it won, and 0 elsewhere (including cells no window covers). Returns
/// the number of winners found, one per output value when `argmax` is well formed.
#[inline(always)]
fn gather_image((g, n, covered, dy_image, argmax_image, dx_image): GatherArgs) -> usize {
    let c = g.c;
    let image_start = n * g.h * g.w * c;
    let mut winners = 0;
    for oh in 0..g.oh {
        let rows = g.window_rows(oh);
        for ow in 0..g.ow {
            let cols = g.window_cols(ow);
            let o = (oh * g.ow + ow) * c;
            let (dy_px, argmax_px) = (&dy_image[o..o + c], &argmax_image[o..o + c]);
            for ih in rows.clone() {
                for iw in cols.clone() {
                    let cell = (ih * g.w + iw) * c;
                    let here = image_start + cell;
                    let dx_px = &mut dx_image[cell..cell + c];
                    for ch in 0..c {
                        // dy where this cell won, else +0.0: a bit mask rather than a branch
                        // (which mispredicts on every window) or a product (0·∞ would be NaN).
                        let won = argmax_px[ch] == here + ch;
                        winners += won as usize;
                        let mask = 0u32.wrapping_sub(won as u32);
                        dx_px[ch].write(f32::from_bits(dy_px[ch].to_bits() & mask));
                    }
                }
            }
        }
    }
    // Cells no window covers (the last row of an odd image with 'valid' windows, say).
    for (ih, &row_covered) in covered.rows.iter().enumerate() {
        for (iw, &col_covered) in covered.cols.iter().enumerate() {
            if !(row_covered && col_covered) {
                let cell = (ih * g.w + iw) * c;
                for d in &mut dx_image[cell..cell + c] {
                    d.write(0.0);
                }
            }
        }
    }
    winners
}

/// Which input rows and columns some window covers. The windows are every pairing of a window
/// row with a window column, so a cell is covered exactly when its row and its column are.
struct Coverage {
    rows: Vec<bool>,
    cols: Vec<bool>,
}

impl Coverage {
    fn new(g: &Pool2dGeometry) -> Coverage {
        let mut rows = vec![false; g.h];
        (0..g.oh).for_each(|oh| rows[g.window_rows(oh)].fill(true));
        let mut cols = vec![false; g.w];
        (0..g.ow).for_each(|ow| cols[g.window_cols(ow)].fill(true));
        Coverage { rows, cols }
    }
}
