//! Pooling on the GPU: max and average pooling (Keras `MaxPooling2D`, `AveragePooling2D`) and
//! global pooling (`GlobalAveragePooling2D`, `GlobalMaxPooling2D`), forward and backward.
//!
//! # Math
//! As in [`crate::cpu::pool`]: a window slides over each channel; max keeps the largest valid
//! cell (and its flat index into `x`, `argmax`, the first one on ties), average divides by the
//! number of *valid* cells (padding takes no part). Backward:
//!
//! ```text
//! max:  dx[i] = Σ_{o : argmax[o] = i} dy[o]
//! avg:  dx[i] = Σ_{windows o containing i} dy[o] / count(o)
//! ```
//!
//! Global pooling pools each image's whole `H×W`: `(N, H, W, C)` → `(N, C)`. Its max backward
//! shares `dy` equally among the pixels that tie for the maximum, as TensorFlow's `reduce_max`
//! (and autograd's `max`, which the CPU path composes it from).
//!
//! # Parallel scheme
//! Forward kernels run one thread per output element. The backward kernels are *gathers*: one
//! thread per input element visits the few windows that cover it and writes its gradient once, so
//! no two threads write the same number (the CPU scatters, which on a GPU would need atomics).
//! Global pooling runs one thread per `(n, c)`, walking the `H·W` pixels.
//!
//! As every kernel (see the crate doc), these overwrite their outputs.
use super::buffer::check_lengths;
use super::{dispatch, grid_1d, Access, GpuBuffer, Kernel};
use crate::geometry::Pool2dGeometry;
use crate::KernelError;

// Every pooling shader starts with the shared parameter block of `shaders/pool_params.wgsl`.
const MAX_FORWARD: Kernel = Kernel {
    name: "max_pool2d.forward",
    source: concat!(
        include_str!("shaders/pool_params.wgsl"),
        include_str!("shaders/max_pool_forward.wgsl")
    ),
    entry: "max_pool_forward_main",
    buffers: &[Access::Read, Access::ReadWrite, Access::ReadWrite],
};

const MAX_BACKWARD: Kernel = Kernel {
    name: "max_pool2d.backward",
    source: concat!(
        include_str!("shaders/pool_params.wgsl"),
        include_str!("shaders/max_pool_backward.wgsl")
    ),
    entry: "max_pool_backward_main",
    buffers: &[Access::Read, Access::Read, Access::ReadWrite],
};

const AVG_FORWARD: Kernel = Kernel {
    name: "avg_pool2d.forward",
    source: concat!(
        include_str!("shaders/pool_params.wgsl"),
        include_str!("shaders/avg_pool.wgsl")
    ),
    entry: "avg_pool_forward_main",
    buffers: &[Access::Read, Access::ReadWrite],
};

const AVG_BACKWARD: Kernel = Kernel {
    name: "avg_pool2d.backward",
    source: concat!(
        include_str!("shaders/pool_params.wgsl"),
        include_str!("shaders/avg_pool.wgsl")
    ),
    entry: "avg_pool_backward_main",
    buffers: &[Access::Read, Access::ReadWrite],
};

const GLOBAL_AVG_FORWARD: Kernel = Kernel {
    name: "global_avg_pool2d.forward",
    source: concat!(
        include_str!("shaders/pool_params.wgsl"),
        include_str!("shaders/global_pool.wgsl")
    ),
    entry: "global_avg_forward_main",
    buffers: &[Access::Read, Access::ReadWrite],
};

const GLOBAL_AVG_BACKWARD: Kernel = Kernel {
    name: "global_avg_pool2d.backward",
    source: concat!(
        include_str!("shaders/pool_params.wgsl"),
        include_str!("shaders/global_pool.wgsl")
    ),
    entry: "global_avg_backward_main",
    buffers: &[Access::Read, Access::ReadWrite],
};

const GLOBAL_MAX_FORWARD: Kernel = Kernel {
    name: "global_max_pool2d.forward",
    source: concat!(
        include_str!("shaders/pool_params.wgsl"),
        include_str!("shaders/global_pool.wgsl")
    ),
    entry: "global_max_forward_main",
    buffers: &[Access::Read, Access::ReadWrite],
};

const GLOBAL_MAX_BACKWARD: Kernel = Kernel {
    name: "global_max_pool2d.backward",
    source: concat!(
        include_str!("shaders/pool_params.wgsl"),
        include_str!("shaders/global_max_backward.wgsl")
    ),
    entry: "global_max_backward_main",
    buffers: &[Access::Read, Access::Read, Access::Read, Access::ReadWrite],
};

/// The parameter block of `shaders/pool_params.wgsl`, for `count` threads.
fn words(g: &Pool2dGeometry, count: usize) -> Vec<u32> {
    [
        g.n, g.h, g.w, g.c, g.pool_h, g.pool_w, g.stride_h, g.stride_w, g.pad_top, g.pad_left,
        g.oh, g.ow, count,
    ]
    .into_iter()
    .map(|v| v as u32)
    .collect()
}

fn input_len(g: &Pool2dGeometry) -> usize {
    g.n * g.h * g.w * g.c
}

fn output_len(g: &Pool2dGeometry) -> usize {
    g.n * g.oh * g.ow * g.c
}

/// Max pooling forward; records the winner of each window.
///
/// # Shapes
/// `x: (N, H, W, C)`, `y: (N, OH, OW, C)` and `argmax: (N, OH, OW, C)` (`u32`, the flat index
/// into `x` of each winner, the first on ties), both overwritten.
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if a buffer's length does not match `g`; GPU errors.
pub fn max_pool2d_forward(
    g: &Pool2dGeometry,
    x: &GpuBuffer,
    y: &GpuBuffer,
    argmax: &GpuBuffer,
) -> Result<(), KernelError> {
    let out = output_len(g);
    check_lengths(
        "max_pool2d (GPU)",
        &[
            ("x", x, input_len(g)),
            ("y", y, out),
            ("argmax", argmax, out),
        ],
    )?;
    dispatch(&MAX_FORWARD, &words(g, out), &[x, y, argmax], grid_1d(out))
}

/// Max pooling backward: `dx[i] = Σ_{o : argmax[o] = i} dy[o]`.
///
/// # Shapes
/// `dy: (N, OH, OW, C)`, `argmax: (N, OH, OW, C)` from the forward, `dx: (N, H, W, C)`
/// (overwritten).
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if a buffer's length does not match `g`; GPU errors.
pub fn max_pool2d_backward(
    g: &Pool2dGeometry,
    dy: &GpuBuffer,
    argmax: &GpuBuffer,
    dx: &GpuBuffer,
) -> Result<(), KernelError> {
    let (out, input) = (output_len(g), input_len(g));
    check_lengths(
        "max_pool2d backward (GPU)",
        &[("dy", dy, out), ("argmax", argmax, out), ("dx", dx, input)],
    )?;
    dispatch(
        &MAX_BACKWARD,
        &words(g, input),
        &[dy, argmax, dx],
        grid_1d(input),
    )
}

/// Average pooling forward (mean over the valid cells of each window).
///
/// # Shapes
/// `x: (N, H, W, C)`, `y: (N, OH, OW, C)` (overwritten).
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if a buffer's length does not match `g`; GPU errors.
pub fn avg_pool2d_forward(
    g: &Pool2dGeometry,
    x: &GpuBuffer,
    y: &GpuBuffer,
) -> Result<(), KernelError> {
    let out = output_len(g);
    check_lengths("avg_pool2d (GPU)", &[("x", x, input_len(g)), ("y", y, out)])?;
    dispatch(&AVG_FORWARD, &words(g, out), &[x, y], grid_1d(out))
}

/// Average pooling backward: every valid cell of a window gets `dy / count`.
///
/// # Shapes
/// `dy: (N, OH, OW, C)`, `dx: (N, H, W, C)` (overwritten).
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if a buffer's length does not match `g`; GPU errors.
pub fn avg_pool2d_backward(
    g: &Pool2dGeometry,
    dy: &GpuBuffer,
    dx: &GpuBuffer,
) -> Result<(), KernelError> {
    let input = input_len(g);
    check_lengths(
        "avg_pool2d backward (GPU)",
        &[("dy", dy, output_len(g)), ("dx", dx, input)],
    )?;
    dispatch(&AVG_BACKWARD, &words(g, input), &[dy, dx], grid_1d(input))
}

/// The parameter block of a global pooling over `x: [N, H, W, C]`, or an error naming `op`
/// when `x` has no pixel or a buffer's length does not match.
fn global_words(
    op: &'static str,
    [n, h, w, c]: [usize; 4],
    buffers: &[(&str, &GpuBuffer, usize)],
    count: usize,
) -> Result<Vec<u32>, KernelError> {
    if h * w == 0 {
        return Err(KernelError::geometry(
            op,
            format!(
                "the input [N, H, W, C] needs H, W ≥ 1, found {:?}",
                [n, h, w, c]
            ),
        ));
    }
    check_lengths(op, buffers)?;
    let g = Pool2dGeometry {
        n,
        h,
        w,
        c,
        pool_h: h,
        pool_w: w,
        stride_h: 1,
        stride_w: 1,
        pad_top: 0,
        pad_bottom: 0,
        pad_left: 0,
        pad_right: 0,
        oh: 1,
        ow: 1,
    };
    Ok(words(&g, count))
}

/// A global pooling forward, `y: (N, C)` from `x: (N, H, W, C)` as `shape`, one thread per
/// `(n, c)`: the average and max kernels share everything but their shader.
fn global_forward(
    op: &'static str,
    kernel: &Kernel,
    shape: [usize; 4],
    x: &GpuBuffer,
    y: &GpuBuffer,
) -> Result<(), KernelError> {
    let [n, h, w, c] = shape;
    let words = global_words(
        op,
        shape,
        &[("x", x, n * h * w * c), ("y", y, n * c)],
        n * c,
    )?;
    dispatch(kernel, &words, &[x, y], grid_1d(n * c))
}

/// Global average pooling: `y[n, c] = (1 / (H·W)) Σ_{h, w} x[n, h, w, c]`.
///
/// # Shapes
/// `x: (N, H, W, C)` as `shape`, `y: (N, C)` (overwritten).
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if `H·W = 0` or a buffer's length does not match; GPU errors.
pub fn global_avg_pool2d_forward(
    shape: [usize; 4],
    x: &GpuBuffer,
    y: &GpuBuffer,
) -> Result<(), KernelError> {
    global_forward(
        "global_average_pool2d (GPU)",
        &GLOBAL_AVG_FORWARD,
        shape,
        x,
        y,
    )
}

/// Global average pooling backward: `dx[n, h, w, c] = dy[n, c] / (H·W)`.
///
/// # Shapes
/// `dy: (N, C)`, `dx: (N, H, W, C)` as `shape` (overwritten).
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if `H·W = 0` or a buffer's length does not match; GPU errors.
pub fn global_avg_pool2d_backward(
    shape: [usize; 4],
    dy: &GpuBuffer,
    dx: &GpuBuffer,
) -> Result<(), KernelError> {
    let [n, h, w, c] = shape;
    let len = n * h * w * c;
    let words = global_words(
        "global_average_pool2d backward (GPU)",
        shape,
        &[("dy", dy, n * c), ("dx", dx, len)],
        len,
    )?;
    dispatch(&GLOBAL_AVG_BACKWARD, &words, &[dy, dx], grid_1d(len))
}

/// Global max pooling: `y[n, c] = max_{h, w} x[n, h, w, c]`.
///
/// # Shapes
/// `x: (N, H, W, C)` as `shape`, `y: (N, C)` (overwritten).
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if `H·W = 0` or a buffer's length does not match; GPU errors.
pub fn global_max_pool2d_forward(
    shape: [usize; 4],
    x: &GpuBuffer,
    y: &GpuBuffer,
) -> Result<(), KernelError> {
    global_forward("global_max_pool2d (GPU)", &GLOBAL_MAX_FORWARD, shape, x, y)
}

/// Global max pooling backward, ties sharing equally:
/// `dx[n, h, w, c] = (x[n, h, w, c] == y[n, c]) / count[n, c] · dy[n, c]`.
///
/// # Shapes
/// `x: (N, H, W, C)` as `shape`, `y: (N, C)` from the forward, `dy: (N, C)`, `dx: (N, H, W, C)`
/// (overwritten).
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if `H·W = 0` or a buffer's length does not match; GPU errors.
pub fn global_max_pool2d_backward(
    shape: [usize; 4],
    x: &GpuBuffer,
    y: &GpuBuffer,
    dy: &GpuBuffer,
    dx: &GpuBuffer,
) -> Result<(), KernelError> {
    let [n, h, w, c] = shape;
    let len = n * h * w * c;
    let words = global_words(
        "global_max_pool2d backward (GPU)",
        shape,
        &[
            ("x", x, len),
            ("y", y, n * c),
            ("dy", dy, n * c),
            ("dx", dx, len),
        ],
        n * c,
    )?;
    dispatch(
        &GLOBAL_MAX_BACKWARD,
        &words,
        &[x, y, dy, dx],
        grid_1d(n * c),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::pool as cpu;
    use crate::geometry::Padding;
    use crate::wgpu::testing::{gpu_available, max_rel_diff, numbers};

    /// One pooling to test: input (n, h, w, c), window (pool_h, pool_w).
    #[derive(Debug, Clone, Copy)]
    struct PoolCase {
        n: usize,
        h: usize,
        w: usize,
        c: usize,
        pool_h: usize,
        pool_w: usize,
        stride: usize,
        padding: Padding,
    }

    const BASE: PoolCase = PoolCase {
        n: 2,
        h: 7,
        w: 6,
        c: 3,
        pool_h: 2,
        pool_w: 2,
        stride: 2,
        padding: Padding::Valid,
    };

    fn cases() -> Vec<PoolCase> {
        vec![
            BASE,
            PoolCase {
                padding: Padding::Same,
                ..BASE
            },
            PoolCase {
                pool_h: 3,
                pool_w: 3,
                stride: 1,
                padding: Padding::Same,
                ..BASE
            },
            PoolCase {
                pool_h: 3,
                pool_w: 2,
                stride: 1,
                ..BASE
            },
            PoolCase {
                n: 1,
                h: 5,
                w: 9,
                c: 1,
                pool_h: 3,
                pool_w: 3,
                stride: 2,
                padding: Padding::Same,
            },
        ]
    }

    fn up(v: &[f32]) -> GpuBuffer {
        GpuBuffer::upload(v).unwrap()
    }

    /// Outputs start as NaN: every kernel must write all of its output.
    fn nan(len: usize) -> GpuBuffer {
        up(&vec![f32::NAN; len])
    }

    #[test]
    fn max_pooling_matches_the_cpu_kernels_ties_included() {
        if !gpu_available() {
            return;
        }
        for case in cases() {
            let g = Pool2dGeometry::new(
                [case.n, case.h, case.w, case.c],
                [case.pool_h, case.pool_w],
                [case.stride, case.stride],
                case.padding,
            )
            .unwrap();
            // Values rounded to quarters: many ties, where the first maximum must win.
            let x: Vec<f32> = numbers(input_len(&g), 1)
                .iter()
                .map(|v| (v * 4.0).round() / 4.0)
                .collect();
            let dy = numbers(output_len(&g), 2);
            let (y, argmax) = cpu::max_pool2d_forward(&g, &x);
            let dx = cpu::max_pool2d_backward(&g, &dy, &argmax).unwrap();

            let (yg, argg, dxg) = (nan(y.len()), nan(y.len()), nan(x.len()));
            max_pool2d_forward(&g, &up(&x), &yg, &argg).unwrap();
            max_pool2d_backward(&g, &up(&dy), &argg, &dxg).unwrap();
            assert_eq!(yg.download().unwrap(), y, "{case:?}: y");
            let arg_gpu: Vec<usize> = argg
                .download_u32()
                .unwrap()
                .iter()
                .map(|&i| i as usize)
                .collect();
            assert_eq!(arg_gpu, argmax, "{case:?}: argmax");
            assert_eq!(dxg.download().unwrap(), dx, "{case:?}: dx");
        }
    }

    #[test]
    fn average_pooling_matches_the_cpu_kernels() {
        if !gpu_available() {
            return;
        }
        for case in cases() {
            let g = Pool2dGeometry::new(
                [case.n, case.h, case.w, case.c],
                [case.pool_h, case.pool_w],
                [case.stride, case.stride],
                case.padding,
            )
            .unwrap();
            let x = numbers(input_len(&g), 3);
            let dy = numbers(output_len(&g), 4);
            let mut y = vec![0.0; dy.len()];
            cpu::avg_pool2d_forward(&g, &x, &mut y);
            let mut dx = vec![0.0; x.len()];
            cpu::avg_pool2d_backward(&g, &dy, &mut dx);
            let (yg, dxg) = (nan(y.len()), nan(x.len()));
            avg_pool2d_forward(&g, &up(&x), &yg).unwrap();
            avg_pool2d_backward(&g, &up(&dy), &dxg).unwrap();
            let err_y = max_rel_diff(&yg.download().unwrap(), &y);
            let err_dx = max_rel_diff(&dxg.download().unwrap(), &dx);
            assert!(
                err_y < 1e-6 && err_dx < 1e-6,
                "{case:?}: y differs by {err_y}, dx by {err_dx}"
            );
        }
    }

    #[test]
    fn global_pooling_forward_and_backward() {
        if !gpu_available() {
            return;
        }
        let shape = [2, 3, 5, 4];
        let [n, h, w, c] = shape;
        // Quarters again, so that some channels tie for their maximum.
        let x: Vec<f32> = numbers(n * h * w * c, 5)
            .iter()
            .map(|v| (v * 2.0).round() / 4.0)
            .collect();
        let dy = numbers(n * c, 6);
        // The CPU definitions, written out: mean and max over (H, W) per image and channel.
        let pixel = |ni: usize, i: usize, ch: usize| x[(ni * h * w + i) * c + ch];
        let mut avg = vec![0.0f32; n * c];
        let mut max = vec![f32::NEG_INFINITY; n * c];
        for ni in 0..n {
            for ch in 0..c {
                for i in 0..h * w {
                    avg[ni * c + ch] += pixel(ni, i, ch) / (h * w) as f32;
                    max[ni * c + ch] = max[ni * c + ch].max(pixel(ni, i, ch));
                }
            }
        }
        let mut dx_avg = vec![0.0f32; x.len()];
        let mut dx_max = vec![0.0f32; x.len()];
        for (at, &v) in x.iter().enumerate() {
            let (ni, ch) = (at / (h * w * c), at % c);
            let o = ni * c + ch;
            dx_avg[at] = dy[o] / (h * w) as f32;
            let ties = (0..h * w).filter(|&i| pixel(ni, i, ch) == max[o]).count();
            if v == max[o] {
                dx_max[at] = dy[o] / ties as f32;
            }
        }
        assert!(
            dx_max.iter().filter(|&&d| d != 0.0).count() > n * c,
            "the test needs ties"
        );

        let (xg, dyg) = (up(&x), up(&dy));
        let (avg_g, max_g, dx_avg_g, dx_max_g) =
            (nan(n * c), nan(n * c), nan(x.len()), nan(x.len()));
        global_avg_pool2d_forward(shape, &xg, &avg_g).unwrap();
        global_avg_pool2d_backward(shape, &dyg, &dx_avg_g).unwrap();
        global_max_pool2d_forward(shape, &xg, &max_g).unwrap();
        global_max_pool2d_backward(shape, &xg, &max_g, &dyg, &dx_max_g).unwrap();
        let errs = [
            max_rel_diff(&avg_g.download().unwrap(), &avg),
            max_rel_diff(&dx_avg_g.download().unwrap(), &dx_avg),
            max_rel_diff(&max_g.download().unwrap(), &max),
            max_rel_diff(&dx_max_g.download().unwrap(), &dx_max),
        ];
        assert!(
            errs.iter().all(|&e| e < 1e-6),
            "avg, davg, max, dmax differ by {errs:?}"
        );
    }

    #[test]
    fn wrong_lengths_and_empty_images_are_errors() {
        if !gpu_available() {
            return;
        }
        let g = Pool2dGeometry::new([1, 4, 4, 2], [2, 2], [2, 2], Padding::Valid).unwrap();
        let (x, y) = (
            GpuBuffer::uninit(32).unwrap(),
            GpuBuffer::uninit(7).unwrap(),
        );
        let err = avg_pool2d_forward(&g, &x, &y).unwrap_err().to_string();
        assert!(err.contains("y must hold 8 numbers, found 7"), "{err}");
        let err = global_avg_pool2d_forward([1, 0, 4, 2], &x, &y)
            .unwrap_err()
            .to_string();
        assert!(err.contains("H, W ≥ 1"), "{err}");
    }
}
