//! Depthwise 2-D convolution (Keras `DepthwiseConv2D`), forward and backward, as direct loops.
//!
//! # Math
//!
//! Each input channel `c` is convolved with its own `M` filters (`M` = depth multiplier) and never
//! mixed with the other channels. With kernel `w: (KH, KW, C, M)`, output channel `c·M + m`:
//!
//! ```text
//! y[n, oh, ow, c·M + m] = b[c·M + m] + Σ_{kh, kw} x[n, oh·sh + kh·dh − pad_top, ow·sw + kw·dw − pad_left, c] · w[kh, kw, c, m]
//! ```
//!
//! Output size and padding follow the Keras rules of [`crate::geometry`].
//!
//! # Backward
//!
//! ```text
//! dx[n, ih, iw, c]  = Σ_{taps reading (ih, iw)} Σ_m dy[n, oh, ow, c·M + m] · w[kh, kw, c, m]
//! dw[kh, kw, c, m]  = Σ_{n, oh, ow} x[n, ih, iw, c] · dy[n, oh, ow, c·M + m]
//! db[c·M + m]       = Σ_{n, oh, ow} dy[n, oh, ow, c·M + m]
//! ```
//!
//! # Why direct loops
//!
//! A depthwise convolution does `KH·KW` multiply-adds per output value — far too little arithmetic
//! for im2col + GEMM to pay for its copies. Note that the flat index `c·M + m` of the output channel is
//! also the flat index of `w[kh, kw, c, m]` within one tap, so each tap is one vectorisable loop over
//! `C·M` contiguous floats. Work is parallel over images (each image writes only its own `y`, `dx`),
//! and `dw` is summed per image then reduced in image order, so results do not depend on the number
//! of threads.
use rayon::prelude::*;

use super::conv::sum_rows;
use crate::geometry::DepthwiseConv2dGeometry;

impl DepthwiseConv2dGeometry {
    /// Calls `visit(out_pixel, in_pixel, tap)` for every tap of every output pixel of one image
    /// that reads a real (non-padded) input pixel. Pixels are flat indices within the image
    /// (`oh·OW + ow` and `ih·W + iw`), `tap = kh·KW + kw`.
    fn for_each_tap(&self, mut visit: impl FnMut(usize, usize, usize)) {
        for oh in 0..self.oh {
            for kh in 0..self.kh {
                let Some(ih) =
                    (oh * self.stride_h + kh * self.dilation_h).checked_sub(self.pad_top)
                else {
                    continue;
                };
                if ih >= self.h {
                    continue;
                }
                for ow in 0..self.ow {
                    for kw in 0..self.kw {
                        let Some(iw) =
                            (ow * self.stride_w + kw * self.dilation_w).checked_sub(self.pad_left)
                        else {
                            continue;
                        };
                        if iw < self.w {
                            visit(oh * self.ow + ow, ih * self.w + iw, kh * self.kw + kw);
                        }
                    }
                }
            }
        }
    }
}

/// Forward.
///
/// # Shapes
/// `x: (N, H, W, C)`, `w: (KH, KW, C, M)`, `bias: (C·M)`, `y: (N, OH, OW, C·M)` (overwritten).
pub fn depthwise_conv2d_forward(
    g: &DepthwiseConv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    let (c, m, cm) = (g.c, g.m, g.c * g.m);
    debug_assert_eq!(x.len(), g.n * g.h * g.w * c);
    debug_assert_eq!(w.len(), g.kh * g.kw * cm);
    debug_assert!(bias.is_none_or(|b| b.len() == cm));
    debug_assert_eq!(y.len(), g.n * g.oh * g.ow * cm);
    y.par_chunks_mut(g.oh * g.ow * cm)
        .zip(x.par_chunks(g.h * g.w * c))
        .for_each(|(y_image, x_image)| {
            match bias {
                Some(b) => y_image
                    .chunks_exact_mut(cm)
                    .for_each(|px| px.copy_from_slice(b)),
                None => y_image.fill(0.0),
            }
            g.for_each_tap(|out_px, in_px, tap| {
                let y_px = &mut y_image[out_px * cm..(out_px + 1) * cm];
                let x_px = &x_image[in_px * c..(in_px + 1) * c];
                let w_tap = &w[tap * cm..(tap + 1) * cm];
                if m == 1 {
                    y_px.iter_mut()
                        .zip(x_px)
                        .zip(w_tap)
                        .for_each(|((y, x), w)| *y += x * w);
                } else {
                    for ((y_c, x), w_c) in y_px
                        .chunks_exact_mut(m)
                        .zip(x_px)
                        .zip(w_tap.chunks_exact(m))
                    {
                        y_c.iter_mut().zip(w_c).for_each(|(y, w)| *y += x * w);
                    }
                }
            });
        });
}

/// Backward to the input.
///
/// # Shapes
/// `dy: (N, OH, OW, C·M)`, `w: (KH, KW, C, M)`, `dx: (N, H, W, C)` (overwritten).
pub fn depthwise_conv2d_backward_input(
    g: &DepthwiseConv2dGeometry,
    dy: &[f32],
    w: &[f32],
    dx: &mut [f32],
) {
    let (c, m, cm) = (g.c, g.m, g.c * g.m);
    debug_assert_eq!(dy.len(), g.n * g.oh * g.ow * cm);
    debug_assert_eq!(w.len(), g.kh * g.kw * cm);
    debug_assert_eq!(dx.len(), g.n * g.h * g.w * c);
    dx.par_chunks_mut(g.h * g.w * c)
        .zip(dy.par_chunks(g.oh * g.ow * cm))
        .for_each(|(dx_image, dy_image)| {
            // The taps add into dx, from zero.
            dx_image.fill(0.0);
            g.for_each_tap(|out_px, in_px, tap| {
                let dy_px = &dy_image[out_px * cm..(out_px + 1) * cm];
                let dx_px = &mut dx_image[in_px * c..(in_px + 1) * c];
                let w_tap = &w[tap * cm..(tap + 1) * cm];
                if m == 1 {
                    dx_px
                        .iter_mut()
                        .zip(dy_px)
                        .zip(w_tap)
                        .for_each(|((dx, dy), w)| *dx += dy * w);
                } else {
                    for ((dx, dy_c), w_c) in dx_px
                        .iter_mut()
                        .zip(dy_px.chunks_exact(m))
                        .zip(w_tap.chunks_exact(m))
                    {
                        *dx += dy_c.iter().zip(w_c).map(|(dy, w)| dy * w).sum::<f32>();
                    }
                }
            });
        });
}

/// Backward to the kernel: per-image partial sums, added in image order.
///
/// # Shapes
/// `x: (N, H, W, C)`, `dy: (N, OH, OW, C·M)`, `dw: (KH, KW, C, M)` (overwritten).
pub fn depthwise_conv2d_backward_weight(
    g: &DepthwiseConv2dGeometry,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
) {
    let (c, m, cm) = (g.c, g.m, g.c * g.m);
    debug_assert_eq!(x.len(), g.n * g.h * g.w * c);
    debug_assert_eq!(dy.len(), g.n * g.oh * g.ow * cm);
    debug_assert_eq!(dw.len(), g.kh * g.kw * cm);
    let partials: Vec<Vec<f32>> = x
        .par_chunks(g.h * g.w * c)
        .zip(dy.par_chunks(g.oh * g.ow * cm))
        .map(|(x_image, dy_image)| {
            // partial: (KH, KW, C, M), this image's share of dW
            let mut partial = vec![0.0f32; g.kh * g.kw * cm];
            g.for_each_tap(|out_px, in_px, tap| {
                let dy_px = &dy_image[out_px * cm..(out_px + 1) * cm];
                let x_px = &x_image[in_px * c..(in_px + 1) * c];
                let dw_tap = &mut partial[tap * cm..(tap + 1) * cm];
                if m == 1 {
                    dw_tap
                        .iter_mut()
                        .zip(x_px)
                        .zip(dy_px)
                        .for_each(|((dw, x), dy)| *dw += x * dy);
                } else {
                    for ((dw_c, x), dy_c) in dw_tap
                        .chunks_exact_mut(m)
                        .zip(x_px)
                        .zip(dy_px.chunks_exact(m))
                    {
                        dw_c.iter_mut().zip(dy_c).for_each(|(dw, dy)| *dw += x * dy);
                    }
                }
            });
            partial
        })
        .collect();
    dw.fill(0.0);
    for partial in partials {
        dw.iter_mut().zip(&partial).for_each(|(d, p)| *d += p);
    }
}

/// Backward to the bias: `db = Σ_{n, oh, ow} dy[n, oh, ow, :]`.
///
/// # Shapes
/// `dy: (N, OH, OW, C·M)`, `db: (C·M)` (overwritten).
pub fn depthwise_conv2d_backward_bias(g: &DepthwiseConv2dGeometry, dy: &[f32], db: &mut [f32]) {
    debug_assert_eq!(dy.len(), g.n * g.oh * g.ow * g.c * g.m);
    debug_assert_eq!(db.len(), g.c * g.m);
    sum_rows(dy, g.c * g.m, db);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::naive::{
        depthwise_conv2d_backward_input_naive, depthwise_conv2d_backward_weight_naive,
        depthwise_conv2d_forward_naive,
    };
    use crate::cpu::testing::{assert_close, random_vec, with_threads};
    use crate::geometry::Padding;
    use crate::KernelError;
    use proptest::prelude::*;

    /// One depthwise convolution to test: input (n, h, w, c), kernel (kh, kw, c, m).
    #[derive(Debug, Clone, Copy)]
    struct DepthwiseCase {
        n: usize,
        h: usize,
        w: usize,
        c: usize,
        m: usize,
        kh: usize,
        kw: usize,
        stride: [usize; 2],
        dilation: [usize; 2],
        padding: Padding,
    }

    impl DepthwiseCase {
        fn geometry(&self) -> Result<DepthwiseConv2dGeometry, KernelError> {
            DepthwiseConv2dGeometry::new(
                [self.n, self.h, self.w, self.c],
                [self.kh, self.kw, self.c, self.m],
                self.stride,
                self.dilation,
                self.padding,
            )
        }
    }

    /// `[y, dx, dw, db]` from the kernels (`naive = false`) or the references; every output
    /// starts as NaN, and must be overwritten.
    fn run(g: &DepthwiseConv2dGeometry, naive: bool) -> [Vec<f32>; 4] {
        let cm = g.c * g.m;
        let x = random_vec(g.n * g.h * g.w * g.c, 1);
        let w = random_vec(g.kh * g.kw * cm, 2);
        let b = random_vec(cm, 3);
        let dy = random_vec(g.n * g.oh * g.ow * cm, 4);
        let mut y = vec![f32::NAN; dy.len()];
        let mut dx = vec![f32::NAN; x.len()];
        let mut dw = vec![f32::NAN; w.len()];
        let mut db = vec![f32::NAN; cm];
        if naive {
            depthwise_conv2d_forward_naive(g, &x, &w, Some(&b), &mut y);
            depthwise_conv2d_backward_input_naive(g, &dy, &w, &mut dx);
            depthwise_conv2d_backward_weight_naive(g, &x, &dy, &mut dw);
            // db is a plain sum: its reference is the conv2d one, checked there.
            db.iter_mut()
                .enumerate()
                .for_each(|(j, d)| *d = dy.iter().skip(j).step_by(cm).sum::<f32>());
        } else {
            depthwise_conv2d_forward(g, &x, &w, Some(&b), &mut y);
            depthwise_conv2d_backward_input(g, &dy, &w, &mut dx);
            depthwise_conv2d_backward_weight(g, &x, &dy, &mut dw);
            depthwise_conv2d_backward_bias(g, &dy, &mut db);
        }
        [y, dx, dw, db]
    }

    fn check(case: &DepthwiseCase) {
        let g = case.geometry().unwrap();
        let (fast, slow) = (run(&g, false), run(&g, true));
        for (name, (a, b)) in ["y", "dx", "dw", "db"].iter().zip(fast.iter().zip(&slow)) {
            assert_close(a, b, 2e-5, &format!("{name} of {case:?}"));
        }
    }

    #[rustfmt::skip]
    const CASES: [DepthwiseCase; 3] = [
        // MobileNet-style: multiplier 1, stride 2, 'same'.
        DepthwiseCase { n: 2, h: 9, w: 8, c: 6, m: 1, kh: 3, kw: 3, stride: [2, 2], dilation: [1, 1], padding: Padding::Same },
        // Depth multiplier 3, 'valid'.
        DepthwiseCase { n: 3, h: 7, w: 7, c: 2, m: 3, kh: 3, kw: 2, stride: [1, 1], dilation: [1, 1], padding: Padding::Valid },
        // Dilation.
        DepthwiseCase { n: 1, h: 10, w: 9, c: 4, m: 2, kh: 3, kw: 3, stride: [1, 2], dilation: [2, 2], padding: Padding::Same },
    ];

    #[test]
    fn fast_kernels_match_naive_on_named_cases() {
        CASES.iter().for_each(check);
    }

    #[test]
    fn results_do_not_depend_on_thread_count() {
        let g = CASES[1].geometry().unwrap();
        let one = with_threads(1, || run(&g, false));
        let three = with_threads(3, || run(&g, false));
        for (a, b) in one.iter().zip(&three) {
            assert!(a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }

    #[test]
    fn output_channel_index_is_c_times_m_plus_m() {
        // One pixel, 1×1 kernel: y[c·M + m] = x[c] · w[c, m].
        let g = DepthwiseConv2dGeometry::new(
            [1, 1, 1, 2],
            [1, 1, 2, 3],
            [1, 1],
            [1, 1],
            Padding::Valid,
        )
        .unwrap();
        let mut y = vec![0.0; 6];
        depthwise_conv2d_forward(
            &g,
            &[1.0, 10.0],
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            None,
            &mut y,
        );
        assert_eq!(y, [1.0, 2.0, 3.0, 40.0, 50.0, 60.0]);
    }

    #[test]
    fn bad_geometry_is_an_error_that_says_why() {
        let err =
            DepthwiseConv2dGeometry::new([1, 8, 8, 3], [3, 3, 4, 1], [1, 1], [1, 1], Padding::Same)
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "depthwise_conv2d: input channels 3 do not match kernel's 4"
        );
        let err = DepthwiseConv2dGeometry::new(
            [1, 2, 8, 3],
            [3, 3, 3, 1],
            [1, 1],
            [1, 1],
            Padding::Valid,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("does not fit in input 2×8"),
            "{err}"
        );
    }

    /// The naive backward against central finite differences of the naive forward, for
    /// `L = Σ y ⊙ g` with a non-uniform `g`.
    #[test]
    fn naive_backward_matches_finite_differences() {
        let g = CASES[1].geometry().unwrap();
        let cm = g.c * g.m;
        let x = random_vec(g.n * g.h * g.w * g.c, 1);
        let w = random_vec(g.kh * g.kw * cm, 2);
        let upstream = random_vec(g.n * g.oh * g.ow * cm, 4);
        let loss = |x: &[f32], w: &[f32]| -> f64 {
            let mut y = vec![0.0; upstream.len()];
            depthwise_conv2d_forward_naive(&g, x, w, None, &mut y);
            y.iter()
                .zip(&upstream)
                .map(|(y, u)| *y as f64 * *u as f64)
                .sum()
        };
        let eps = 1e-2f32;
        let central = |v: &mut Vec<f32>, i: usize, f: &dyn Fn(&[f32]) -> f64| -> f32 {
            let orig = v[i];
            v[i] = orig + eps;
            let up = f(v);
            v[i] = orig - eps;
            let down = f(v);
            v[i] = orig;
            ((up - down) / (2.0 * eps as f64)) as f32
        };
        let mut xs = x.clone();
        let dx_numeric: Vec<f32> = (0..x.len())
            .map(|i| central(&mut xs, i, &|x| loss(x, &w)))
            .collect();
        let mut ws = w.clone();
        let dw_numeric: Vec<f32> = (0..w.len())
            .map(|i| central(&mut ws, i, &|w| loss(&x, w)))
            .collect();
        let mut dx = vec![0.0; x.len()];
        depthwise_conv2d_backward_input_naive(&g, &upstream, &w, &mut dx);
        let mut dw = vec![0.0; w.len()];
        depthwise_conv2d_backward_weight_naive(&g, &x, &upstream, &mut dw);
        assert_close(&dx, &dx_numeric, 1e-3, "dx vs finite differences");
        assert_close(&dw, &dw_numeric, 1e-3, "dw vs finite differences");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn fast_kernels_match_naive_on_random_geometry(
            n in 1usize..3, h in 1usize..9, w in 1usize..9, c in 1usize..5, m in 1usize..4,
            kh in 1usize..4, kw in 1usize..4, sh in 1usize..4, sw in 1usize..4, dh in 1usize..3, dw in 1usize..3,
            same: bool,
        ) {
            let padding = if same { Padding::Same } else { Padding::Valid };
            let case = DepthwiseCase { n, h, w, c, m, kh, kw, stride: [sh, sw], dilation: [dh, dw], padding };
            prop_assume!(case.geometry().is_ok());
            check(&case);
        }
    }
}
