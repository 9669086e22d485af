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
//! Starting from `dx = 0`:
//!
//! - max: the gradient goes to the winner only, `dx[argmax] += dy`. The forward records the winner
//!   (`argmax`, a flat index into `x`) so the backward need not search again. A cell that wins
//!   several overlapping windows collects all of their gradients.
//! - avg: each valid cell of the window receives an equal share, `dx[cell] += dy / count`.
//!
//! All run in parallel over images: an image's windows only touch that image, so writes never
//! overlap.
//!
//! # Fast paths
//!
//! Max pooling, the course's pooling, first offers its work to `fast/pool.rs` (off under
//! `ASTROGRAD_KERNELS=portable`): the same windows with the 2×2 one unrolled, outputs written
//! once into fresh memory, each image's loop compiled a second time for AVX-512, and, when the
//! windows do not overlap, a backward that gathers each cell's gradient instead of scattering it.
//! Its results are those of the window loops below, to the bit.
use rayon::prelude::*;

use super::fast;
use crate::geometry::Pool2dGeometry;
use crate::KernelError;

/// Max pooling forward; records the winner of each window. Returns `(y, argmax)`.
///
/// # Shapes
/// `x: (N, H, W, C)` → `y: (N, OH, OW, C)`, `argmax: (N, OH, OW, C)`: `argmax[i]` is the flat
/// index into `x` of the cell that won `y[i]` (the first one on ties, scanning the window row by
/// row).
///
/// # Panics
/// If `x` does not hold `N·H·W·C` elements.
pub fn max_pool2d_forward(g: &Pool2dGeometry, x: &[f32]) -> (Vec<f32>, Vec<usize>) {
    assert_eq!(
        x.len(),
        g.n * g.h * g.w * g.c,
        "max_pool2d: x has the wrong size"
    );
    // Fast path (unrolled 2×2 windows, fresh outputs, AVX-512): unless ASTROGRAD_KERNELS=portable.
    if fast::enabled() {
        return fast::pool::max_pool2d_forward(g, x);
    }
    max_pool2d_forward_textbook(g, x)
}

/// The textbook forward: every window of every channel, scanned row by row.
fn max_pool2d_forward_textbook(g: &Pool2dGeometry, x: &[f32]) -> (Vec<f32>, Vec<usize>) {
    let (image_in, image_out) = (g.h * g.w * g.c, g.oh * g.ow * g.c);
    // y, argmax: (N, OH, OW, C)
    let mut y = vec![0.0; g.n * image_out];
    let mut argmax = vec![0; g.n * image_out];
    y.par_chunks_mut(image_out)
        .zip(argmax.par_chunks_mut(image_out))
        .enumerate()
        .for_each(|(n, (y_image, argmax_image))| {
            // Flat index into x of cell (ih, iw) of channel ch of this image.
            let at = |ih: usize, iw: usize, ch: usize| n * image_in + (ih * g.w + iw) * g.c + ch;
            for oh in 0..g.oh {
                let rows = g.window_rows(oh);
                for ow in 0..g.ow {
                    let cols = g.window_cols(ow);
                    for ch in 0..g.c {
                        // Padded cells are not in rows × cols, so they never win; strict `>`
                        // keeps the first maximum.
                        let mut winner = at(rows.start, cols.start, ch);
                        for ih in rows.clone() {
                            for iw in cols.clone() {
                                if x[at(ih, iw, ch)] > x[winner] {
                                    winner = at(ih, iw, ch);
                                }
                            }
                        }
                        let o = (oh * g.ow + ow) * g.c + ch;
                        (y_image[o], argmax_image[o]) = (x[winner], winner);
                    }
                }
            }
        });
    (y, argmax)
}

/// Max pooling backward: `dx[argmax[i]] += dy[i]`, from `dx = 0`. Returns `dx`.
///
/// # Shapes
/// `dy: (N, OH, OW, C)`, `argmax: (N, OH, OW, C)` from the forward → `dx: (N, H, W, C)`.
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if an index of `argmax` is not a cell of its own window,
/// which `max_pool2d_forward` never produces.
///
/// # Panics
/// If `dy` or `argmax` does not hold `N·OH·OW·C` elements.
pub fn max_pool2d_backward(
    g: &Pool2dGeometry,
    dy: &[f32],
    argmax: &[usize],
) -> Result<Vec<f32>, KernelError> {
    const OP: &str = "max_pool2d_backward";
    assert_eq!(
        dy.len(),
        g.n * g.oh * g.ow * g.c,
        "{OP}: dy has the wrong size"
    );
    assert_eq!(argmax.len(), dy.len(), "{OP}: argmax has the wrong size");
    // Fast path when the windows do not overlap (a gather, written once): unless
    // ASTROGRAD_KERNELS=portable.
    let dx = if fast::enabled() && g.stride_h >= g.pool_h && g.stride_w >= g.pool_w {
        fast::pool::max_pool2d_backward(g, dy, argmax)
    } else {
        max_pool2d_backward_textbook(g, dy, argmax)
    };
    dx.ok_or_else(|| {
        KernelError::geometry(
            OP,
            format!(
                "argmax indices that lie in their own window of the input {:?}, as \
                 max_pool2d_forward records them; found some elsewhere",
                [g.n, g.h, g.w, g.c]
            ),
        )
    })
}

/// The textbook backward: each window sends its `dy` to its winner, which must be one of its
/// cells. Overlapping windows can share a winner, whose gradients then add up. `None` if a
/// winner lies outside its window.
fn max_pool2d_backward_textbook(
    g: &Pool2dGeometry,
    dy: &[f32],
    argmax: &[usize],
) -> Option<Vec<f32>> {
    let (image_in, image_out) = (g.h * g.w * g.c, g.oh * g.ow * g.c);
    // dx: (N, H, W, C)
    let mut dx = vec![0.0; g.n * image_in];
    let winners_in_their_windows = dx
        .par_chunks_mut(image_in)
        .zip(dy.par_chunks(image_out).zip(argmax.par_chunks(image_out)))
        .enumerate()
        .all(|(n, (dx_image, (dy_image, argmax_image)))| {
            for oh in 0..g.oh {
                for ow in 0..g.ow {
                    for ch in 0..g.c {
                        let o = (oh * g.ow + ow) * g.c + ch;
                        // The winner's cell (ih, iw, c) within this image.
                        let Some(cell) = argmax_image[o].checked_sub(n * image_in) else {
                            return false;
                        };
                        let (ih, iw, c) = (cell / g.c / g.w, cell / g.c % g.w, cell % g.c);
                        let in_window = ih < g.h
                            && g.window_rows(oh).contains(&ih)
                            && g.window_cols(ow).contains(&iw)
                            && c == ch;
                        if !in_window {
                            return false;
                        }
                        dx_image[cell] += dy_image[o];
                    }
                }
            }
            true
        });
    winners_in_their_windows.then_some(dx)
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
/// `dy: (N, OH, OW, C)`, `dx: (N, H, W, C)` (overwritten).
pub fn avg_pool2d_backward(g: &Pool2dGeometry, dy: &[f32], dx: &mut [f32]) {
    let c = g.c;
    debug_assert_eq!(dy.len(), g.n * g.oh * g.ow * c);
    debug_assert_eq!(dx.len(), g.n * g.h * g.w * c);
    dx.par_chunks_mut(g.h * g.w * c)
        .zip(dy.par_chunks(g.oh * g.ow * c))
        .for_each(|(dx_image, dy_image)| {
            // Overlapping windows add into the same cells, from zero.
            dx_image.fill(0.0);
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
    use crate::geometry::Padding;
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

    /// Both paths vs naive: max forward (values and winners) and max backward (against the
    /// winners), through the public functions (the fast paths, unless
    /// `ASTROGRAD_KERNELS=portable`) and the textbook ones; then avg forward and avg backward.
    fn check(case: &PoolCase) {
        let g = case.geometry().unwrap();
        let x = random_vec(g.n * g.h * g.w * g.c, 1);
        let out = g.n * g.oh * g.ow * g.c;
        let (mut y_ref, mut arg_ref) = (vec![f32::NAN; out], vec![0; out]);
        max_pool2d_forward_naive(&g, &x, &mut y_ref, &mut arg_ref);
        let dy = random_vec(out, 2);
        let mut dx_ref = vec![f32::NAN; x.len()];
        max_pool2d_backward_naive(&dy, &arg_ref, &mut dx_ref);
        for (path, (y, arg), dx) in [
            (
                "routed",
                max_pool2d_forward(&g, &x),
                max_pool2d_backward(&g, &dy, &arg_ref).unwrap(),
            ),
            (
                "textbook",
                max_pool2d_forward_textbook(&g, &x),
                max_pool2d_backward_textbook(&g, &dy, &arg_ref).unwrap(),
            ),
        ] {
            assert_eq!(y, y_ref, "{path} max of {case:?}");
            assert_eq!(arg, arg_ref, "{path} argmax of {case:?}");
            assert!(arg.iter().zip(&y).all(|(&i, &v)| x[i] == v));
            assert_eq!(dx, dx_ref, "{path} max backward of {case:?}");
        }

        let mut y = vec![f32::NAN; out];
        avg_pool2d_forward(&g, &x, &mut y);
        avg_pool2d_forward_naive(&g, &x, &mut y_ref);
        assert_close(&y, &y_ref, 1e-6, &format!("avg of {case:?}"));
        // Both start as NaN: the backward overwrites.
        let (mut dx, mut dx_ref) = (vec![f32::NAN; x.len()], vec![f32::NAN; x.len()]);
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
    fn kernels_match_naive_on_named_cases() {
        CASES.iter().for_each(check);
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

    /// A winner outside its own window is an error, not a gradient sent to the wrong cell.
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
        assert!(max_pool2d_backward_textbook(&g, &[1.0, 1.0], &[5, 3]).is_some());
        assert!(max_pool2d_backward_textbook(&g, &[1.0, 1.0], &[5, 0]).is_none());
        // Overlapping 2×2 windows with stride 1 over two 2×3 images: a winner in the other
        // image, and one in its own image but outside its window.
        let g = Pool2dGeometry::new([2, 2, 3, 1], [2, 2], [1, 1], Padding::Valid).unwrap();
        assert!(max_pool2d_backward(&g, &[1.0; 4], &[0, 1, 6, 7]).is_ok());
        assert!(max_pool2d_backward(&g, &[1.0; 4], &[0, 1, 6, 2]).is_err());
        assert!(max_pool2d_backward(&g, &[1.0; 4], &[2, 1, 6, 7]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn kernels_match_naive_on_random_geometry(
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
