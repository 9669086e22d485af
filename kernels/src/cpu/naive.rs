//! Naive references: every kernel, written as the math reads, one loop per index, with `f64`
//! accumulation. Like the kernels, they overwrite their outputs. They are slow on purpose — they
//! are the oracle the tests compare both paths of each kernel against (the textbook one and the
//! fast one), and the place to read what a kernel computes before reading how it computes it.
//!
//! Index helpers below spell out the NHWC / HWIO memory order once.
use super::gemm::MatRef;
use crate::geometry::{Conv2dGeometry, DepthwiseConv2dGeometry, Pool2dGeometry};

/// Flat index of `(n, h, w, c)` in an NHWC tensor of spatial size `H×W` and `C` channels.
fn nhwc(n: usize, h: usize, w: usize, c: usize, [height, width, channels]: [usize; 3]) -> usize {
    ((n * height + h) * width + w) * channels + c
}

/// Input coordinate read by output position `o` and kernel tap `k` along one axis, or `None` when
/// it falls in the padding: `i = o·stride + k·dilation − pad_before`.
fn input_coord(
    o: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    pad_before: usize,
    size: usize,
) -> Option<usize> {
    (o * stride + k * dilation)
        .checked_sub(pad_before)
        .filter(|&i| i < size)
}

/// `c = a·b + beta·c` with `c: (m, n)` row-major; `c` is not read when `beta == 0`.
pub fn gemm_naive(a: MatRef, b: MatRef, beta: f32, c: &mut [f32]) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    for i in 0..m {
        for j in 0..n {
            let mut sum = 0.0f64;
            for p in 0..k {
                sum += a.get(i, p) as f64 * b.get(p, j) as f64;
            }
            if beta != 0.0 {
                sum += beta as f64 * c[i * n + j] as f64;
            }
            c[i * n + j] = sum as f32;
        }
    }
}

/// `y[n, oh, ow, f] = b[f] + Σ_{kh, kw, c} x[n, oh·sh + kh·dh − pad_top, ow·sw + kw·dw − pad_left, c] · w[kh, kw, c, f]`.
pub fn conv2d_forward_naive(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    for n in 0..g.n {
        for oh in 0..g.oh {
            for ow in 0..g.ow {
                for f in 0..g.f {
                    let mut sum = bias.map_or(0.0, |b| b[f] as f64);
                    for kh in 0..g.kh {
                        let Some(ih) =
                            input_coord(oh, kh, g.stride_h, g.dilation_h, g.pad_top, g.h)
                        else {
                            continue;
                        };
                        for kw in 0..g.kw {
                            let Some(iw) =
                                input_coord(ow, kw, g.stride_w, g.dilation_w, g.pad_left, g.w)
                            else {
                                continue;
                            };
                            for c in 0..g.c {
                                let xv = x[nhwc(n, ih, iw, c, [g.h, g.w, g.c])];
                                let wv = w[nhwc(kh, kw, c, f, [g.kw, g.c, g.f])];
                                sum += xv as f64 * wv as f64;
                            }
                        }
                    }
                    y[nhwc(n, oh, ow, f, [g.oh, g.ow, g.f])] = sum as f32;
                }
            }
        }
    }
}

/// `dx[n, ih, iw, c] = Σ dy[n, oh, ow, f] · w[kh, kw, c, f]` over every `(oh, ow, kh, kw, f)` whose
/// tap reads `(ih, iw)`: each forward product `x·w` sends `dy·w` back to the `x` it read.
pub fn conv2d_backward_input_naive(g: &Conv2dGeometry, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    let mut acc = vec![0.0f64; dx.len()];
    for n in 0..g.n {
        for oh in 0..g.oh {
            for ow in 0..g.ow {
                for f in 0..g.f {
                    let dyv = dy[nhwc(n, oh, ow, f, [g.oh, g.ow, g.f])] as f64;
                    for kh in 0..g.kh {
                        let Some(ih) =
                            input_coord(oh, kh, g.stride_h, g.dilation_h, g.pad_top, g.h)
                        else {
                            continue;
                        };
                        for kw in 0..g.kw {
                            let Some(iw) =
                                input_coord(ow, kw, g.stride_w, g.dilation_w, g.pad_left, g.w)
                            else {
                                continue;
                            };
                            for c in 0..g.c {
                                acc[nhwc(n, ih, iw, c, [g.h, g.w, g.c])] +=
                                    dyv * w[nhwc(kh, kw, c, f, [g.kw, g.c, g.f])] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    dx.iter_mut().zip(acc).for_each(|(d, a)| *d = a as f32);
}

/// `dw[kh, kw, c, f] = Σ_{n, oh, ow} x[n, oh·sh + kh·dh − pad_top, ow·sw + kw·dw − pad_left, c] · dy[n, oh, ow, f]`.
pub fn conv2d_backward_weight_naive(g: &Conv2dGeometry, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    for kh in 0..g.kh {
        for kw in 0..g.kw {
            for c in 0..g.c {
                for f in 0..g.f {
                    let mut sum = 0.0f64;
                    for n in 0..g.n {
                        for oh in 0..g.oh {
                            let Some(ih) =
                                input_coord(oh, kh, g.stride_h, g.dilation_h, g.pad_top, g.h)
                            else {
                                continue;
                            };
                            for ow in 0..g.ow {
                                let Some(iw) =
                                    input_coord(ow, kw, g.stride_w, g.dilation_w, g.pad_left, g.w)
                                else {
                                    continue;
                                };
                                sum += x[nhwc(n, ih, iw, c, [g.h, g.w, g.c])] as f64
                                    * dy[nhwc(n, oh, ow, f, [g.oh, g.ow, g.f])] as f64;
                            }
                        }
                    }
                    let i = nhwc(kh, kw, c, f, [g.kw, g.c, g.f]);
                    dw[i] = sum as f32;
                }
            }
        }
    }
}

/// `db[f] = Σ_{n, oh, ow} dy[n, oh, ow, f]`.
pub fn conv2d_backward_bias_naive(g: &Conv2dGeometry, dy: &[f32], db: &mut [f32]) {
    for (f, d) in db.iter_mut().enumerate() {
        let sum: f64 = dy.iter().skip(f).step_by(g.f).map(|&v| v as f64).sum();
        *d = sum as f32;
    }
}

/// Depthwise: each input channel `c` has its own `M` filters; output channel `c·M + m`:
/// `y[n, oh, ow, c·M + m] = b[c·M + m] + Σ_{kh, kw} x[n, ih, iw, c] · w[kh, kw, c, m]`.
pub fn depthwise_conv2d_forward_naive(
    g: &DepthwiseConv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    let out_channels = g.c * g.m;
    for n in 0..g.n {
        for oh in 0..g.oh {
            for ow in 0..g.ow {
                for c in 0..g.c {
                    for m in 0..g.m {
                        let mut sum = bias.map_or(0.0, |b| b[c * g.m + m] as f64);
                        for kh in 0..g.kh {
                            let Some(ih) =
                                input_coord(oh, kh, g.stride_h, g.dilation_h, g.pad_top, g.h)
                            else {
                                continue;
                            };
                            for kw in 0..g.kw {
                                let Some(iw) =
                                    input_coord(ow, kw, g.stride_w, g.dilation_w, g.pad_left, g.w)
                                else {
                                    continue;
                                };
                                sum += x[nhwc(n, ih, iw, c, [g.h, g.w, g.c])] as f64
                                    * w[nhwc(kh, kw, c, m, [g.kw, g.c, g.m])] as f64;
                            }
                        }
                        y[nhwc(n, oh, ow, c * g.m + m, [g.oh, g.ow, out_channels])] = sum as f32;
                    }
                }
            }
        }
    }
}

/// `dx[n, ih, iw, c] = Σ dy[n, oh, ow, c·M + m] · w[kh, kw, c, m]` over the taps that read `(ih, iw)`.
pub fn depthwise_conv2d_backward_input_naive(
    g: &DepthwiseConv2dGeometry,
    dy: &[f32],
    w: &[f32],
    dx: &mut [f32],
) {
    let out_channels = g.c * g.m;
    let mut acc = vec![0.0f64; dx.len()];
    for n in 0..g.n {
        for oh in 0..g.oh {
            for ow in 0..g.ow {
                for kh in 0..g.kh {
                    let Some(ih) = input_coord(oh, kh, g.stride_h, g.dilation_h, g.pad_top, g.h)
                    else {
                        continue;
                    };
                    for kw in 0..g.kw {
                        let Some(iw) =
                            input_coord(ow, kw, g.stride_w, g.dilation_w, g.pad_left, g.w)
                        else {
                            continue;
                        };
                        for c in 0..g.c {
                            for m in 0..g.m {
                                acc[nhwc(n, ih, iw, c, [g.h, g.w, g.c])] += dy
                                    [nhwc(n, oh, ow, c * g.m + m, [g.oh, g.ow, out_channels])]
                                    as f64
                                    * w[nhwc(kh, kw, c, m, [g.kw, g.c, g.m])] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    dx.iter_mut().zip(acc).for_each(|(d, a)| *d = a as f32);
}

/// `dw[kh, kw, c, m] = Σ_{n, oh, ow} x[n, ih, iw, c] · dy[n, oh, ow, c·M + m]`.
pub fn depthwise_conv2d_backward_weight_naive(
    g: &DepthwiseConv2dGeometry,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
) {
    let out_channels = g.c * g.m;
    for kh in 0..g.kh {
        for kw in 0..g.kw {
            for c in 0..g.c {
                for m in 0..g.m {
                    let mut sum = 0.0f64;
                    for n in 0..g.n {
                        for oh in 0..g.oh {
                            let Some(ih) =
                                input_coord(oh, kh, g.stride_h, g.dilation_h, g.pad_top, g.h)
                            else {
                                continue;
                            };
                            for ow in 0..g.ow {
                                let Some(iw) =
                                    input_coord(ow, kw, g.stride_w, g.dilation_w, g.pad_left, g.w)
                                else {
                                    continue;
                                };
                                sum += x[nhwc(n, ih, iw, c, [g.h, g.w, g.c])] as f64
                                    * dy[nhwc(n, oh, ow, c * g.m + m, [g.oh, g.ow, out_channels])]
                                        as f64;
                            }
                        }
                    }
                    let i = nhwc(kh, kw, c, m, [g.kw, g.c, g.m]);
                    dw[i] = sum as f32;
                }
            }
        }
    }
}

/// `y[n, oh, ow, c] = max` over the window's valid (non-padded) cells; `argmax` = flat index in `x`
/// of the first maximum, scanning the window row by row.
pub fn max_pool2d_forward_naive(
    g: &Pool2dGeometry,
    x: &[f32],
    y: &mut [f32],
    argmax: &mut [usize],
) {
    for n in 0..g.n {
        for oh in 0..g.oh {
            for ow in 0..g.ow {
                for c in 0..g.c {
                    let mut best = (f32::NEG_INFINITY, usize::MAX);
                    for ph in 0..g.pool_h {
                        let Some(ih) = input_coord(oh, ph, g.stride_h, 1, g.pad_top, g.h) else {
                            continue;
                        };
                        for pw in 0..g.pool_w {
                            let Some(iw) = input_coord(ow, pw, g.stride_w, 1, g.pad_left, g.w)
                            else {
                                continue;
                            };
                            let i = nhwc(n, ih, iw, c, [g.h, g.w, g.c]);
                            if best.1 == usize::MAX || x[i] > best.0 {
                                best = (x[i], i);
                            }
                        }
                    }
                    let o = nhwc(n, oh, ow, c, [g.oh, g.ow, g.c]);
                    (y[o], argmax[o]) = best;
                }
            }
        }
    }
}

/// `dx[argmax[i]] += dy[i]` from `dx = 0`: each window's gradient goes to the cell that won it
/// (a cell that won several overlapping windows collects all of their gradients).
pub fn max_pool2d_backward_naive(dy: &[f32], argmax: &[usize], dx: &mut [f32]) {
    dx.fill(0.0);
    for (&winner, &d) in argmax.iter().zip(dy) {
        dx[winner] += d;
    }
}

/// `y[n, oh, ow, c] = mean` of the window's valid (non-padded) cells.
pub fn avg_pool2d_forward_naive(g: &Pool2dGeometry, x: &[f32], y: &mut [f32]) {
    for n in 0..g.n {
        for oh in 0..g.oh {
            for ow in 0..g.ow {
                for c in 0..g.c {
                    let (mut sum, mut count) = (0.0f64, 0usize);
                    for ph in 0..g.pool_h {
                        let Some(ih) = input_coord(oh, ph, g.stride_h, 1, g.pad_top, g.h) else {
                            continue;
                        };
                        for pw in 0..g.pool_w {
                            let Some(iw) = input_coord(ow, pw, g.stride_w, 1, g.pad_left, g.w)
                            else {
                                continue;
                            };
                            sum += x[nhwc(n, ih, iw, c, [g.h, g.w, g.c])] as f64;
                            count += 1;
                        }
                    }
                    y[nhwc(n, oh, ow, c, [g.oh, g.ow, g.c])] = (sum / count as f64) as f32;
                }
            }
        }
    }
}

/// `dx[n, ih, iw, c] = Σ dy[n, oh, ow, c] / count(oh, ow)` over the windows that contain `(ih, iw)`.
pub fn avg_pool2d_backward_naive(g: &Pool2dGeometry, dy: &[f32], dx: &mut [f32]) {
    let mut acc = vec![0.0f64; dx.len()];
    for n in 0..g.n {
        for oh in 0..g.oh {
            for ow in 0..g.ow {
                let rows: Vec<usize> = (0..g.pool_h)
                    .filter_map(|ph| input_coord(oh, ph, g.stride_h, 1, g.pad_top, g.h))
                    .collect();
                let cols: Vec<usize> = (0..g.pool_w)
                    .filter_map(|pw| input_coord(ow, pw, g.stride_w, 1, g.pad_left, g.w))
                    .collect();
                let count = (rows.len() * cols.len()) as f64;
                for c in 0..g.c {
                    let share = dy[nhwc(n, oh, ow, c, [g.oh, g.ow, g.c])] as f64 / count;
                    for &ih in &rows {
                        for &iw in &cols {
                            acc[nhwc(n, ih, iw, c, [g.h, g.w, g.c])] += share;
                        }
                    }
                }
            }
        }
    }
    dx.iter_mut().zip(acc).for_each(|(d, a)| *d = a as f32);
}
