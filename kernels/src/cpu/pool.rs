//! 2-D max and average pooling (Keras `MaxPooling2D`, `AveragePooling2D`), forward and backward.
//!
//! # Math
//!
//! A pooling window of `PH×PW` cells slides with strides `(sh, sw)`; per channel,
//!
//! ```text
//! max: y[n, oh, ow, c] = max  over valid cells (ih, iw) of the window of x[n, ih, iw, c]
//! avg: y[n, oh, ow, c] = mean over valid cells (ih, iw) of the window of x[n, ih, iw, c]
//! ```
//!
//! with `ih = oh·sh + ph − pad_top`, `iw = ow·sw + pw − pad_left`. Output size and padding follow the
//! convolution rules with `k = pool` (a 69×69 image, 2×2 pool, stride 2, `'valid'` → 34×34). Padded
//! cells take no part: they never win a max, and the mean divides by the number of *valid* cells
//! (as TensorFlow does).
//!
//! # Backward
//!
//! - max: the gradient goes to the winner only, `dx[argmax] += dy`. The forward records the winner
//!   (`argmax`, a flat index into `x`) so the backward need not search again.
//! - avg: each valid cell of the window receives an equal share, `dx[cell] += dy / count`.
//!
//! Both run in parallel over images: an image's windows only touch that image, so writes never overlap.
use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::conv::{check_positive, spatial_geometry, Padding};
use super::uninit;
use crate::KernelError;

/// Everything a pooling kernel needs to know about its shapes, validated once.
///
/// Input `(N, H, W, C)`, window `(PH, PW)` = `(pool_h, pool_w)`, output `(N, OH, OW, C)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dGeometry {
    /// Batch size (N).
    pub n: usize,
    /// Input height (H).
    pub h: usize,
    /// Input width (W).
    pub w: usize,
    /// Input channels (C).
    pub c: usize,
    /// Window height.
    pub pool_h: usize,
    /// Window width.
    pub pool_w: usize,
    /// Step between windows, down.
    pub stride_h: usize,
    /// Step between windows, across.
    pub stride_w: usize,
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

impl Pool2dGeometry {
    /// Validates and describes a pooling of an input `[N, H, W, C]` with a `[PH, PW]` window.
    ///
    /// # Errors
    /// [`KernelError::InvalidGeometry`] if a size or stride is 0, or if a `'valid'` window does not
    /// fit in the input.
    ///
    /// ```
    /// use astrograd_kernels::cpu::conv::Padding;
    /// use astrograd_kernels::cpu::pool::Pool2dGeometry;
    /// let g = Pool2dGeometry::new([32, 67, 67, 12], [2, 2], [2, 2], Padding::Valid)?;
    /// assert_eq!(g.output_shape(), [32, 33, 33, 12]);
    /// # Ok::<(), astrograd_kernels::KernelError>(())
    /// ```
    pub fn new(
        input: [usize; 4],
        pool: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    ) -> Result<Self, KernelError> {
        const OP: &str = "pool2d";
        check_positive(OP, "input shape [N, H, W, C] entries", &input)?;
        check_positive(OP, "pool size", &pool)?;
        check_positive(OP, "strides", &strides)?;
        let [n, h, w, c] = input;
        let (rows, cols) = spatial_geometry(
            OP,
            "pool window",
            [h, w],
            pool,
            strides,
            [1, 1],
            padding,
            false,
        )?;
        Ok(Pool2dGeometry {
            n,
            h,
            w,
            c,
            pool_h: pool[0],
            pool_w: pool[1],
            stride_h: strides[0],
            stride_w: strides[1],
            pad_top: rows.pad_before,
            pad_bottom: rows.pad_after,
            pad_left: cols.pad_before,
            pad_right: cols.pad_after,
            oh: rows.out,
            ow: cols.out,
        })
    }

    /// `[N, OH, OW, C]`.
    pub fn output_shape(&self) -> [usize; 4] {
        [self.n, self.oh, self.ow, self.c]
    }

    /// The valid input rows `ih` of window row `oh` (padding clipped away), as a range.
    fn window_rows(&self, oh: usize) -> std::ops::Range<usize> {
        let start = oh * self.stride_h;
        start.saturating_sub(self.pad_top)
            ..(start + self.pool_h)
                .saturating_sub(self.pad_top)
                .min(self.h)
    }

    /// The valid input columns `iw` of window column `ow`, as a range.
    fn window_cols(&self, ow: usize) -> std::ops::Range<usize> {
        let start = ow * self.stride_w;
        start.saturating_sub(self.pad_left)
            ..(start + self.pool_w)
                .saturating_sub(self.pad_left)
                .min(self.w)
    }
}

/// Max pooling forward; records the winner of each window. Returns `(y, argmax)`.
///
/// # Shapes
/// `x: (N, H, W, C)` → `y: (N, OH, OW, C)`, `argmax: (N, OH, OW, C)`: `argmax[i]` is the flat
/// index into `x` of the cell that won `y[i]` (the first one on ties, scanning the window row by
/// row).
///
/// # Speed
/// Both outputs are written once, straight into fresh memory: zeroing them first cost as much as
/// the pooling. A window that lies wholly inside the image (all of them without padding) reads
/// its cells at offsets computed once; the 2×2 window of the course has its own loop, four
/// slices compared channel by channel, which the compiler vectorises (with AVX-512 where the
/// CPU has it: the selects of 64-bit indices need it).
pub fn max_pool2d_forward(g: &Pool2dGeometry, x: &[f32]) -> (Vec<f32>, Vec<usize>) {
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
            if is_x86_feature_detected!("avx512f") {
                // SAFETY: AVX-512F is present.
                return unsafe { max_pool_image_avx512(g, x, n, &inner, y_image, argmax_image) };
            }
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

/// Max pooling backward: `dx[argmax[i]] += dy[i]`, from `dx = 0`. Returns `dx`.
///
/// # Shapes
/// `dy: (N, OH, OW, C)`, `argmax: (N, OH, OW, C)` from the forward → `dx: (N, H, W, C)`.
///
/// # Speed
/// When the windows do not overlap (stride ≥ window, as in the course), each cell of `x` lies in
/// at most one window, so `dx` is written once, window by window: `dy` where the cell won, else
/// 0. That needs neither a zeroed `dx` nor a scattered add, and it checks the winners for free:
/// each window must find its winner among its own cells.
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if an index of `argmax` is not a cell of its own window
/// (overlapping windows: of its own image), which `max_pool2d_forward` never produces.
///
/// # Panics
/// If `dy` or `argmax` does not hold `N·OH·OW·C` elements.
pub fn max_pool2d_backward(
    g: &Pool2dGeometry,
    dy: &[f32],
    argmax: &[usize],
) -> Result<Vec<f32>, KernelError> {
    const OP: &str = "max_pool2d_backward";
    let c = g.c;
    assert_eq!(
        dy.len(),
        g.n * g.oh * g.ow * c,
        "{OP}: dy has the wrong size"
    );
    assert_eq!(argmax.len(), dy.len(), "{OP}: argmax has the wrong size");
    let (image_in, image_out) = (g.h * g.w * c, g.oh * g.ow * c);
    let len = g.n * image_in;
    let misplaced = || {
        KernelError::geometry(
            OP,
            format!(
                "argmax indices that lie in their own window of the input {:?}, as \
                 max_pool2d_forward records them; found some elsewhere",
                [g.n, g.h, g.w, g.c]
            ),
        )
    };
    if g.stride_h < g.pool_h || g.stride_w < g.pool_w {
        // Overlapping windows: a cell can win several of them, so the gradients add up.
        let mut dx = vec![0.0; len];
        let in_own_image = dx
            .par_chunks_mut(image_in)
            .zip(dy.par_chunks(image_out).zip(argmax.par_chunks(image_out)))
            .enumerate()
            .all(|(n, (dx_image, (dy_image, argmax_image)))| {
                let own = n * image_in..(n + 1) * image_in;
                argmax_image.iter().all(|i| own.contains(i)) && {
                    for (&d, &winner) in dy_image.iter().zip(argmax_image) {
                        dx_image[winner - own.start] += d;
                    }
                    true
                }
            });
        return if in_own_image {
            Ok(dx)
        } else {
            Err(misplaced())
        };
    }
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
                    #[cfg(target_arch = "x86_64")]
                    if is_x86_feature_detected!("avx512f") {
                        // SAFETY: AVX-512F is present.
                        return gather_image_avx512(
                            g,
                            n,
                            &covered,
                            dy_image,
                            argmax_image,
                            dx_image,
                        );
                    }
                    gather_image(g, n, &covered, dy_image, argmax_image, dx_image)
                })
                .sum();
        });
        (dx, winners)
    };
    if winners == dy.len() {
        Ok(dx)
    } else {
        Err(misplaced())
    }
}

/// [`gather_image`] compiled for AVX-512, whose 64-bit lanes vectorise the index compares.
///
/// # Safety
/// The CPU supports AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gather_image_avx512(
    g: &Pool2dGeometry,
    n: usize,
    covered: &Coverage,
    dy_image: &[f32],
    argmax_image: &[usize],
    dx_image: &mut [MaybeUninit<f32>],
) -> usize {
    gather_image(g, n, covered, dy_image, argmax_image, dx_image)
}

/// The backward of image `n` for windows that do not overlap: every cell of `dx_image` gets the
/// `dy` of its window where it won, and 0 elsewhere (including cells no window covers). Returns
/// the number of winners found, one per output value when `argmax` is well formed.
#[inline(always)]
fn gather_image(
    g: &Pool2dGeometry,
    n: usize,
    covered: &Coverage,
    dy_image: &[f32],
    argmax_image: &[usize],
    dx_image: &mut [MaybeUninit<f32>],
) -> usize {
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

/// Average pooling forward (mean over the valid cells of each window).
///
/// # Shapes
/// `x: (N, H, W, C)`, `y: (N, OH, OW, C)` (overwritten).
pub fn avg_pool2d_forward(g: &Pool2dGeometry, x: &[f32], y: &mut [f32]) {
    let c = g.c;
    debug_assert_eq!(x.len(), g.n * g.h * g.w * c);
    debug_assert_eq!(y.len(), g.n * g.oh * g.ow * c);
    y.par_chunks_mut(g.oh * g.ow * c)
        .zip(x.par_chunks(g.h * g.w * c))
        .for_each(|(y_image, x_image)| {
            for oh in 0..g.oh {
                for ow in 0..g.ow {
                    let y_px = &mut y_image[(oh * g.ow + ow) * c..(oh * g.ow + ow + 1) * c];
                    y_px.fill(0.0);
                    let (rows, cols) = (g.window_rows(oh), g.window_cols(ow));
                    let count = (rows.len() * cols.len()) as f32;
                    for ih in rows {
                        for iw in cols.clone() {
                            let x_px = &x_image[(ih * g.w + iw) * c..(ih * g.w + iw + 1) * c];
                            y_px.iter_mut().zip(x_px).for_each(|(y, x)| *y += x);
                        }
                    }
                    y_px.iter_mut().for_each(|y| *y /= count);
                }
            }
        });
}

/// Average pooling backward: every valid cell of a window gets `dy / count`.
///
/// # Shapes
/// `dy: (N, OH, OW, C)`, `dx: (N, H, W, C)` (accumulated).
pub fn avg_pool2d_backward(g: &Pool2dGeometry, dy: &[f32], dx: &mut [f32]) {
    let c = g.c;
    debug_assert_eq!(dy.len(), g.n * g.oh * g.ow * c);
    debug_assert_eq!(dx.len(), g.n * g.h * g.w * c);
    dx.par_chunks_mut(g.h * g.w * c)
        .zip(dy.par_chunks(g.oh * g.ow * c))
        .for_each(|(dx_image, dy_image)| {
            for oh in 0..g.oh {
                for ow in 0..g.ow {
                    let dy_px = &dy_image[(oh * g.ow + ow) * c..(oh * g.ow + ow + 1) * c];
                    let (rows, cols) = (g.window_rows(oh), g.window_cols(ow));
                    let count = (rows.len() * cols.len()) as f32;
                    for ih in rows {
                        for iw in cols.clone() {
                            let dx_px = &mut dx_image[(ih * g.w + iw) * c..(ih * g.w + iw + 1) * c];
                            dx_px
                                .iter_mut()
                                .zip(dy_px)
                                .for_each(|(dx, dy)| *dx += dy / count);
                        }
                    }
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::naive::{
        avg_pool2d_backward_naive, avg_pool2d_forward_naive, max_pool2d_backward_naive,
        max_pool2d_forward_naive,
    };
    use crate::cpu::testing::{assert_close, random_vec, with_threads};
    use proptest::prelude::*;

    /// One pooling to test: input (n, h, w, c), window (pool_h, pool_w).
    #[derive(Debug, Clone, Copy)]
    struct PoolCase {
        n: usize,
        h: usize,
        w: usize,
        c: usize,
        pool: [usize; 2],
        stride: [usize; 2],
        padding: Padding,
    }

    impl PoolCase {
        fn geometry(&self) -> Result<Pool2dGeometry, KernelError> {
            Pool2dGeometry::new(
                [self.n, self.h, self.w, self.c],
                self.pool,
                self.stride,
                self.padding,
            )
        }
    }

    /// Fast vs naive: max forward (values and winners), max backward (against the winners), avg
    /// forward and avg backward.
    fn check(case: &PoolCase) {
        let g = case.geometry().unwrap();
        let x = random_vec(g.n * g.h * g.w * g.c, 1);
        let out = g.n * g.oh * g.ow * g.c;
        let (mut y_ref, mut arg_ref) = (vec![f32::NAN; out], vec![0; out]);
        let (mut y, arg) = max_pool2d_forward(&g, &x);
        max_pool2d_forward_naive(&g, &x, &mut y_ref, &mut arg_ref);
        assert_eq!(y, y_ref, "max of {case:?}");
        assert_eq!(arg, arg_ref, "argmax of {case:?}");
        assert!(arg.iter().zip(&y).all(|(&i, &v)| x[i] == v));

        let dy = random_vec(out, 2);
        let dx = max_pool2d_backward(&g, &dy, &arg).unwrap();
        let mut dx_ref = vec![f32::NAN; x.len()];
        max_pool2d_backward_naive(&dy, &arg, &mut dx_ref);
        assert_eq!(dx, dx_ref, "max backward of {case:?}");

        avg_pool2d_forward(&g, &x, &mut y);
        avg_pool2d_forward_naive(&g, &x, &mut y_ref);
        assert_close(&y, &y_ref, 1e-6, &format!("avg of {case:?}"));
        let mut dx = random_vec(x.len(), 3);
        let mut dx_ref = dx.clone();
        avg_pool2d_backward(&g, &dy, &mut dx);
        avg_pool2d_backward_naive(&g, &dy, &mut dx_ref);
        assert_close(&dx, &dx_ref, 1e-6, &format!("avg backward of {case:?}"));
    }

    #[rustfmt::skip]
    const CASES: [PoolCase; 4] = [
        PoolCase { n: 2, h: 69, w: 69, c: 3, pool: [2, 2], stride: [2, 2], padding: Padding::Valid },
        PoolCase { n: 2, h: 7, w: 6, c: 4, pool: [3, 3], stride: [2, 2], padding: Padding::Same },
        PoolCase { n: 1, h: 5, w: 8, c: 2, pool: [2, 3], stride: [1, 2], padding: Padding::Same },
        PoolCase { n: 3, h: 6, w: 6, c: 1, pool: [3, 3], stride: [3, 3], padding: Padding::Valid },
    ];

    #[test]
    fn fast_kernels_match_naive_on_named_cases() {
        CASES.iter().for_each(check);
    }

    #[test]
    fn output_size_is_the_conv_rule_with_k_equal_to_pool() {
        let g = Pool2dGeometry::new([1, 69, 69, 3], [2, 2], [2, 2], Padding::Valid).unwrap();
        assert_eq!(g.output_shape(), [1, 34, 34, 3]);
        let g = Pool2dGeometry::new([1, 69, 69, 3], [2, 2], [2, 2], Padding::Same).unwrap();
        assert_eq!(g.output_shape(), [1, 35, 35, 3]);
    }

    /// Keras, TF 2.10 (`'same'` pads the bottom row and right column, and the mean divides by the
    /// *valid* cells only, so the corner window {8} averages to 8, not 8/4):
    /// ```python
    /// x = np.arange(9, dtype='float32').reshape(1, 3, 3, 1)      # [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    /// tf.keras.layers.AveragePooling2D(2, padding='same')(x)[0, :, :, 0]  # [[2, 3.5], [6.5, 8]]
    /// ```
    /// and with `x + 1` (the image [[1, 2, 3], [4, 5, 6], [7, 8, 9]]) every mean grows by 1.
    #[test]
    fn keras_avg_pool_same_divides_by_valid_cells() {
        let g = Pool2dGeometry::new([1, 3, 3, 1], [2, 2], [2, 2], Padding::Same).unwrap();
        assert_eq!(
            (g.pad_top, g.pad_bottom, g.pad_left, g.pad_right),
            (0, 1, 0, 1)
        );
        let x: Vec<f32> = (0..9).map(|v| v as f32).collect();
        let mut y = vec![0.0; 4];
        avg_pool2d_forward(&g, &x, &mut y);
        assert_eq!(y, [2.0, 3.5, 6.5, 8.0]);
        let x_plus_1: Vec<f32> = x.iter().map(|v| v + 1.0).collect();
        avg_pool2d_forward(&g, &x_plus_1, &mut y);
        assert_eq!(y, [3.0, 4.5, 7.5, 9.0]);
    }

    #[test]
    fn max_pool_ties_go_to_the_first_cell_and_padding_never_wins() {
        let g = Pool2dGeometry::new([1, 3, 3, 1], [2, 2], [2, 2], Padding::Same).unwrap();
        let x = [-5.0, -5.0, -1.0, -5.0, -5.0, -2.0, -3.0, -4.0, -9.0];
        let (y, arg) = max_pool2d_forward(&g, &x);
        assert_eq!(y, [-5.0, -1.0, -3.0, -9.0]);
        assert_eq!(arg, [0, 2, 6, 8]);
    }

    #[test]
    fn results_do_not_depend_on_thread_count() {
        let g = CASES[1].geometry().unwrap();
        let x = random_vec(g.n * g.h * g.w * g.c, 1);
        let run = || {
            let mut y = vec![0.0; g.n * g.oh * g.ow * g.c];
            let mut dx = vec![0.0; x.len()];
            avg_pool2d_forward(&g, &x, &mut y);
            avg_pool2d_backward(&g, &y, &mut dx);
            let (max, argmax) = max_pool2d_forward(&g, &x);
            let max_dx = max_pool2d_backward(&g, &max, &argmax).unwrap();
            (y, dx, max, argmax, max_dx)
        };
        assert_eq!(with_threads(1, run), with_threads(3, run));
    }

    /// A winner outside its own window (or, for overlapping windows, its own image) is an
    /// error, not a gradient sent to the wrong cell.
    #[test]
    fn backward_rejects_misplaced_winners() {
        // Two 2×2 windows side by side in a 2×4 image: window 1's winner in window 0.
        let g = Pool2dGeometry::new([1, 2, 4, 1], [2, 2], [2, 2], Padding::Valid).unwrap();
        assert!(max_pool2d_backward(&g, &[1.0, 1.0], &[5, 3]).is_ok());
        let err = max_pool2d_backward(&g, &[1.0, 1.0], &[5, 0]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("max_pool2d_backward: argmax indices"),
            "{err}"
        );
        // Overlapping 2×2 windows with stride 1 over two 2×3 images: a winner in the other image.
        let g = Pool2dGeometry::new([2, 2, 3, 1], [2, 2], [1, 1], Padding::Valid).unwrap();
        assert!(max_pool2d_backward(&g, &[1.0; 4], &[0, 1, 6, 7]).is_ok());
        assert!(max_pool2d_backward(&g, &[1.0; 4], &[0, 1, 6, 2]).is_err());
    }

    #[test]
    fn bad_geometry_is_an_error_that_says_why() {
        let err = Pool2dGeometry::new([1, 2, 2, 1], [3, 3], [1, 1], Padding::Valid).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pool2d: pool window 3×3 does not fit in input 2×2 with padding 'valid'"
        );
        let err = Pool2dGeometry::new([1, 4, 4, 1], [2, 2], [0, 2], Padding::Valid).unwrap_err();
        assert_eq!(err.to_string(), "pool2d: strides must be ≥ 1, found [0, 2]");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn fast_kernels_match_naive_on_random_geometry(
            n in 1usize..3, h in 1usize..10, w in 1usize..10, c in 1usize..4,
            ph in 1usize..4, pw in 1usize..4, sh in 1usize..4, sw in 1usize..4, same: bool,
        ) {
            let padding = if same { Padding::Same } else { Padding::Valid };
            let case = PoolCase { n, h, w, c, pool: [ph, pw], stride: [sh, sw], padding };
            prop_assume!(case.geometry().is_ok());
            check(&case);
        }
    }
}
