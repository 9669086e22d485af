//! Zero padding of NHWC images on the GPU (`shaders/zero_pad.wgsl`), the twin of
//! [`crate::cpu::zero_pad`], whose math and shapes it follows. Its backward is a crop, which
//! `slice_axis` does on either device.
use super::{dispatch, grid_1d, Access, GpuBuffer, Kernel};
use crate::KernelError;

const ZERO_PAD: Kernel = Kernel {
    name: "zero_pad.forward",
    source: include_str!("shaders/zero_pad.wgsl"),
    entry: "zero_pad_main",
    buffers: &[Access::Read, Access::ReadWrite],
};

/// Writes `x: (N, H, W, C)` padded with `((top, bottom), (left, right))` zeros into
/// `out: (N, top + H + bottom, left + W + right, C)`, the border included.
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if the buffers' lengths do not fit the shape;
/// [`KernelError::GpuLimit`] if `out` has 2³² elements or more (the shader counts in 32 bits).
pub fn zero_pad2d_forward(
    x: &GpuBuffer,
    [n, h, w, c]: [usize; 4],
    ((top, bottom), (left, right)): ((usize, usize), (usize, usize)),
    out: &GpuBuffer,
) -> Result<(), KernelError> {
    let (oh, ow) = (top + h + bottom, left + w + right);
    let n_out = n * oh * ow * c;
    if x.len() != n * h * w * c || out.len() != n_out {
        return Err(KernelError::geometry(
            "zero_pad2d (GPU)",
            format!(
                "x of {} and out of {n_out} numbers for ({n}, {h}, {w}, {c}) padded to ({n}, {oh}, {ow}, {c}), found {} and {}",
                n * h * w * c,
                x.len(),
                out.len()
            ),
        ));
    }
    if n_out > u32::MAX as usize {
        return Err(KernelError::GpuLimit {
            op: "zero_pad2d",
            msg: format!("at most 2³² − 1 output elements, found {n_out}"),
        });
    }
    if n_out == 0 {
        return Ok(());
    }
    let params = [n_out, h, w, c, oh, ow, top, left].map(|v| v as u32);
    dispatch(&ZERO_PAD, &params, &[x, out], grid_1d(n_out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu;
    use crate::wgpu::testing::{gpu_available, numbers};

    /// The GPU's padded images are the CPU kernel's, exactly, for several paddings (MobileNetV2's
    /// `((0, 1), (0, 1))` and ResNet50's `((3, 3), (3, 3))` among them), the border included.
    #[test]
    fn the_gpu_pads_as_the_cpu() {
        if !gpu_available() {
            return;
        }
        for (shape, pads) in [
            ([2, 5, 4, 3], ((0, 1), (0, 1))),
            ([1, 7, 7, 2], ((3, 3), (3, 3))),
            ([3, 1, 6, 1], ((2, 0), (0, 5))),
            ([1, 4, 4, 5], ((0, 0), (0, 0))),
        ] {
            let [n, h, w, c] = shape;
            let ((top, bottom), (left, right)) = pads;
            let x = numbers(n * h * w * c, 3);
            let mut expected = vec![f32::NAN; n * (top + h + bottom) * (left + w + right) * c];
            cpu::zero_pad::zero_pad2d_forward(&x, shape, pads, &mut expected);
            let xb = GpuBuffer::upload(&x).unwrap();
            let out = GpuBuffer::upload(&vec![f32::NAN; expected.len()]).unwrap();
            zero_pad2d_forward(&xb, shape, pads, &out).unwrap();
            assert_eq!(out.download().unwrap(), expected, "{shape:?} {pads:?}");
        }
    }

    #[test]
    fn buffers_that_do_not_fit_the_shape_are_an_error() {
        if !gpu_available() {
            return;
        }
        let (x, out) = (GpuBuffer::uninit(5).unwrap(), GpuBuffer::uninit(9).unwrap());
        let err = zero_pad2d_forward(&x, [1, 2, 2, 1], ((0, 1), (0, 1)), &out).unwrap_err();
        assert!(err.to_string().contains("found 5 and 9"), "{err}");
    }
}
