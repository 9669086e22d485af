//! Depthwise 2-D convolution on the GPU (`shaders/depthwise_conv.wgsl`), the twin of
//! [`crate::cpu::depthwise_conv`], whose math, shapes and geometry it follows: the forward, the
//! input gradient and the weight gradient, one thread per output element each. The bias (and
//! its gradient, a sum over rows) is left to the broadcasting add and the reductions.
//!
//! The weight gradient gives each thread one kernel tap of one channel and a loop over every
//! output pixel of the batch: correct, and fine for the course's sizes, but with only
//! `KH·KW·C·M` threads it leaves a large GPU mostly idle (a tiled reduction is the next step).
use super::{dispatch, grid_1d, Access, GpuBuffer, Kernel};
use crate::geometry::DepthwiseConv2dGeometry;
use crate::KernelError;

const BUFFERS: &[Access] = &[Access::Read, Access::Read, Access::ReadWrite];

const FORWARD: Kernel = Kernel {
    name: "depthwise_conv.forward",
    source: include_str!("shaders/depthwise_conv.wgsl"),
    entry: "forward",
    buffers: BUFFERS,
};

const BACKWARD_INPUT: Kernel = Kernel {
    name: "depthwise_conv.backward_input",
    source: include_str!("shaders/depthwise_conv.wgsl"),
    entry: "backward_input",
    buffers: BUFFERS,
};

const BACKWARD_WEIGHT: Kernel = Kernel {
    name: "depthwise_conv.backward_weight",
    source: include_str!("shaders/depthwise_conv.wgsl"),
    entry: "backward_weight",
    buffers: BUFFERS,
};

/// Runs `kernel` with one thread per element of `out`, after checking every length against `g`.
fn run(
    kernel: &Kernel,
    g: &DepthwiseConv2dGeometry,
    (a, a_len): (&GpuBuffer, usize),
    (b, b_len): (&GpuBuffer, usize),
    (out, out_len): (&GpuBuffer, usize),
) -> Result<(), KernelError> {
    if a.len() != a_len || b.len() != b_len || out.len() != out_len {
        return Err(KernelError::geometry(
            kernel.name,
            format!(
                "buffers of {a_len}, {b_len} and {out_len} numbers for {g:?}, found {}, {} and {}",
                a.len(),
                b.len(),
                out.len()
            ),
        ));
    }
    let largest = a_len.max(b_len).max(out_len);
    if largest > u32::MAX as usize {
        return Err(KernelError::GpuLimit {
            op: kernel.name,
            msg: format!("at most 2³² − 1 elements per buffer, found {largest}"),
        });
    }
    if out_len == 0 {
        return Ok(());
    }
    let params = [
        out_len,
        g.n,
        g.h,
        g.w,
        g.c,
        g.m,
        g.kh,
        g.kw,
        g.stride_h,
        g.stride_w,
        g.dilation_h,
        g.dilation_w,
        g.pad_top,
        g.pad_left,
        g.oh,
        g.ow,
    ]
    .map(|v| v as u32);
    dispatch(kernel, &params, &[a, b, out], grid_1d(out_len))
}

/// `y: (N, OH, OW, C·M)` from `x: (N, H, W, C)` and `w: (KH, KW, C, M)`, without bias.
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if a buffer's length does not fit `g`;
/// [`KernelError::GpuLimit`] for a buffer of 2³² elements or more.
pub fn depthwise_conv2d_forward(
    g: &DepthwiseConv2dGeometry,
    x: &GpuBuffer,
    w: &GpuBuffer,
    y: &GpuBuffer,
) -> Result<(), KernelError> {
    let (x_len, w_len) = (g.n * g.h * g.w * g.c, g.kh * g.kw * g.c * g.m);
    let y_len = g.n * g.oh * g.ow * g.c * g.m;
    run(&FORWARD, g, (x, x_len), (w, w_len), (y, y_len))
}

/// `dx: (N, H, W, C)` from `dy: (N, OH, OW, C·M)` and `w: (KH, KW, C, M)`.
///
/// # Errors
/// As [`depthwise_conv2d_forward`].
pub fn depthwise_conv2d_backward_input(
    g: &DepthwiseConv2dGeometry,
    dy: &GpuBuffer,
    w: &GpuBuffer,
    dx: &GpuBuffer,
) -> Result<(), KernelError> {
    let (dy_len, w_len) = (g.n * g.oh * g.ow * g.c * g.m, g.kh * g.kw * g.c * g.m);
    let dx_len = g.n * g.h * g.w * g.c;
    run(&BACKWARD_INPUT, g, (dy, dy_len), (w, w_len), (dx, dx_len))
}

/// `dw: (KH, KW, C, M)` from `x: (N, H, W, C)` and `dy: (N, OH, OW, C·M)`.
///
/// # Errors
/// As [`depthwise_conv2d_forward`].
pub fn depthwise_conv2d_backward_weight(
    g: &DepthwiseConv2dGeometry,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    dw: &GpuBuffer,
) -> Result<(), KernelError> {
    let (x_len, dy_len) = (g.n * g.h * g.w * g.c, g.n * g.oh * g.ow * g.c * g.m);
    let dw_len = g.kh * g.kw * g.c * g.m;
    run(&BACKWARD_WEIGHT, g, (x, x_len), (dy, dy_len), (dw, dw_len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::depthwise_conv as cpu;
    use crate::geometry::Padding;
    use crate::wgpu::testing::{gpu_available, max_rel_diff, numbers};

    /// All three passes give the CPU kernel's numbers, on geometries with stride, dilation,
    /// 'same' and 'valid' padding and a depth multiplier above 1 (MobileNetV2's is 1, stride 1
    /// or 2, 'same').
    #[test]
    fn every_pass_matches_the_cpu_kernel() {
        if !gpu_available() {
            return;
        }
        let cases = [
            ([2, 7, 6, 3], [3, 3, 3, 1], [1, 1], [1, 1], Padding::Same),
            ([1, 8, 8, 4], [3, 3, 4, 1], [2, 2], [1, 1], Padding::Same),
            ([2, 9, 7, 2], [3, 2, 2, 3], [2, 1], [1, 2], Padding::Valid),
            ([1, 5, 5, 1], [5, 5, 1, 2], [1, 1], [1, 1], Padding::Same),
        ];
        for (x_shape, w_shape, strides, dilation, padding) in cases {
            let g =
                DepthwiseConv2dGeometry::new(x_shape, w_shape, strides, dilation, padding).unwrap();
            let x = numbers(g.n * g.h * g.w * g.c, 1);
            let w = numbers(g.kh * g.kw * g.c * g.m, 2);
            let dy = numbers(g.n * g.oh * g.ow * g.c * g.m, 3);
            let (xb, wb, dyb) = (
                GpuBuffer::upload(&x).unwrap(),
                GpuBuffer::upload(&w).unwrap(),
                GpuBuffer::upload(&dy).unwrap(),
            );

            let mut y = vec![f32::NAN; dy.len()];
            cpu::depthwise_conv2d_forward(&g, &x, &w, None, &mut y);
            let yb = GpuBuffer::uninit(y.len()).unwrap();
            depthwise_conv2d_forward(&g, &xb, &wb, &yb).unwrap();
            let err = max_rel_diff(&yb.download().unwrap(), &y);
            assert!(err < 1e-5, "forward {g:?}: {err}");

            let mut dx = vec![f32::NAN; x.len()];
            cpu::depthwise_conv2d_backward_input(&g, &dy, &w, &mut dx);
            let dxb = GpuBuffer::uninit(dx.len()).unwrap();
            depthwise_conv2d_backward_input(&g, &dyb, &wb, &dxb).unwrap();
            let err = max_rel_diff(&dxb.download().unwrap(), &dx);
            assert!(err < 1e-5, "backward input {g:?}: {err}");

            let mut dw = vec![f32::NAN; w.len()];
            cpu::depthwise_conv2d_backward_weight(&g, &x, &dy, &mut dw);
            let dwb = GpuBuffer::uninit(dw.len()).unwrap();
            depthwise_conv2d_backward_weight(&g, &xb, &dyb, &dwb).unwrap();
            let err = max_rel_diff(&dwb.download().unwrap(), &dw);
            assert!(err < 1e-5, "backward weight {g:?}: {err}");
        }
    }

    #[test]
    fn buffers_that_do_not_fit_the_geometry_are_an_error() {
        if !gpu_available() {
            return;
        }
        let g =
            DepthwiseConv2dGeometry::new([1, 4, 4, 2], [3, 3, 2, 1], [1, 1], [1, 1], Padding::Same)
                .unwrap();
        let (x, w, y) = (
            GpuBuffer::uninit(32).unwrap(),
            GpuBuffer::uninit(5).unwrap(),
            GpuBuffer::uninit(32).unwrap(),
        );
        let err = depthwise_conv2d_forward(&g, &x, &w, &y)
            .unwrap_err()
            .to_string();
        assert!(err.contains("found 32, 5 and 32"), "{err}");
    }
}
