//! Elementwise kernels: `y = f(x)`, `z = f(a, b)` with broadcasting, and fill.
//!
//! The functions are [`UnaryOp`] and [`BinaryOp`] (`crate::elementwise`), each defined once in
//! Rust and in WGSL: the WGSL of every op is put into a generated `switch`, and the tests below
//! run every op on the GPU against its Rust (`apply`, `backward`), the CPU definition.
use std::sync::OnceLock;

use super::{dispatch, grid_1d, Access, GpuBuffer, Kernel};
use crate::elementwise::{BinaryOp, UnaryOp};
use crate::KernelError;

/// The most axes a broadcast binary op handles on the GPU.
pub const MAX_RANK: usize = 6;

/// The kernels whose WGSL function is generated from the definitions of `crate::elementwise`: the
/// source is `elementwise_ops.wgsl`, the generated functions, then the kernel's own file, built
/// once.
fn generated_kernel(
    source: &'static OnceLock<String>,
    functions: fn() -> String,
    kernel_file: &str,
    name: &'static str,
    entry: &'static str,
    buffers: &'static [Access],
) -> Kernel {
    let source = source.get_or_init(|| {
        let ops = include_str!("shaders/elementwise_ops.wgsl");
        format!("{ops}\n{}\n{kernel_file}", functions())
    });
    Kernel {
        name,
        source,
        entry,
        buffers,
    }
}

fn unary_kernel() -> Kernel {
    static SOURCE: OnceLock<String> = OnceLock::new();
    generated_kernel(
        &SOURCE,
        UnaryOp::wgsl_functions,
        include_str!("shaders/unary.wgsl"),
        "elementwise.unary",
        "unary_main",
        &[Access::Read, Access::ReadWrite],
    )
}

fn unary_backward_kernel() -> Kernel {
    static SOURCE: OnceLock<String> = OnceLock::new();
    generated_kernel(
        &SOURCE,
        UnaryOp::wgsl_functions,
        include_str!("shaders/unary_backward.wgsl"),
        "elementwise.unary_backward",
        "unary_backward_main",
        &[Access::Read, Access::Read, Access::ReadWrite],
    )
}

fn binary_kernel() -> Kernel {
    static SOURCE: OnceLock<String> = OnceLock::new();
    generated_kernel(
        &SOURCE,
        BinaryOp::wgsl_function,
        include_str!("shaders/binary.wgsl"),
        "elementwise.binary",
        "binary_main",
        &[Access::Read, Access::Read, Access::ReadWrite],
    )
}

const FILL: Kernel = Kernel {
    name: "elementwise.fill",
    source: concat!(
        include_str!("shaders/elementwise_ops.wgsl"),
        include_str!("shaders/fill.wgsl")
    ),
    entry: "fill_main",
    buffers: &[Access::ReadWrite],
};

const STRIDED_COPY_INTO: Kernel = Kernel {
    name: "elementwise.strided_copy_into",
    source: concat!(
        include_str!("shaders/elementwise_ops.wgsl"),
        include_str!("shaders/strided_copy.wgsl")
    ),
    entry: "strided_copy_into_main",
    buffers: &[Access::Read, Access::ReadWrite],
};

const STRIDED_COPY: Kernel = Kernel {
    name: "elementwise.strided_copy",
    source: concat!(
        include_str!("shaders/elementwise_ops.wgsl"),
        include_str!("shaders/strided_copy.wgsl")
    ),
    entry: "strided_copy_main",
    buffers: &[Access::Read, Access::ReadWrite],
};

/// The parameter block of `elementwise_ops.wgsl`'s `Params`.
struct Params {
    n: usize,
    op: u32,
    value: f32,
    p0: f32,
    p1: f32,
    dims: [usize; MAX_RANK],
    a_strides: [usize; MAX_RANK],
    b_strides: [usize; MAX_RANK],
    start: usize,
    out_start: usize,
}

impl Params {
    fn new(n: usize) -> Params {
        Params {
            n,
            op: 0,
            value: 0.0,
            p0: 0.0,
            p1: 0.0,
            dims: [1; MAX_RANK],
            a_strides: [0; MAX_RANK],
            b_strides: [0; MAX_RANK],
            start: 0,
            out_start: 0,
        }
    }

    fn words(&self) -> Vec<u32> {
        let mut w = vec![
            self.n as u32,
            self.op,
            MAX_RANK as u32,
            self.value.to_bits(),
            self.p0.to_bits(),
            self.p1.to_bits(),
        ];
        w.extend(self.dims.iter().map(|&d| d as u32));
        w.extend(self.a_strides.iter().map(|&s| s as u32));
        w.extend(self.b_strides.iter().map(|&s| s as u32));
        w.push(self.start as u32);
        w.push(self.out_start as u32);
        w
    }
}

/// `y = op(x)` for every element. `y` must hold `x.len()` numbers.
pub fn unary(op: UnaryOp, x: &GpuBuffer, y: &GpuBuffer) -> Result<(), KernelError> {
    let (code, [p0, p1]) = op.code();
    let params = Params {
        op: code,
        p0,
        p1,
        ..Params::new(x.len())
    };
    dispatch(&unary_kernel(), &params.words(), &[x, y], grid_1d(x.len()))
}

/// `dx = dout · f′` for every element, from `saved`: the op's input or output, as
/// [`UnaryOp::backward_reads`] says. `dout`, `saved` and `dx` hold the same number of numbers.
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if the lengths differ or the op has no backward.
pub fn unary_backward(
    op: UnaryOp,
    dout: &GpuBuffer,
    saved: &GpuBuffer,
    dx: &GpuBuffer,
) -> Result<(), KernelError> {
    if op.backward_reads().is_none() || saved.len() != dout.len() || dx.len() != dout.len() {
        return Err(KernelError::geometry(
            "unary_backward (GPU)",
            format!(
                "an op with a backward and three buffers of one length, found {} and lengths {}, {}, {}",
                op.name(),
                dout.len(),
                saved.len(),
                dx.len()
            ),
        ));
    }
    let (code, [p0, p1]) = op.code();
    let params = Params {
        op: code,
        p0,
        p1,
        ..Params::new(dout.len())
    };
    let buffers = [dout, saved, dx];
    dispatch(
        &unary_backward_kernel(),
        &params.words(),
        &buffers,
        grid_1d(dout.len()),
    )
}

/// `z = op(a, b)` where `a: a_shape` and `b: b_shape` broadcast to `out_shape` (validated by
/// the caller; at most [`MAX_RANK`] axes).
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if `out_shape` has more than [`MAX_RANK`] axes.
pub fn binary(
    op: BinaryOp,
    a: &GpuBuffer,
    a_shape: &[usize],
    b: &GpuBuffer,
    b_shape: &[usize],
    out_shape: &[usize],
    z: &GpuBuffer,
) -> Result<(), KernelError> {
    let rank = out_shape.len();
    if rank > MAX_RANK {
        return Err(KernelError::geometry(
            "binary (GPU)",
            format!("at most {MAX_RANK} axes, found shape {out_shape:?}"),
        ));
    }
    let n: usize = out_shape.iter().product();
    let mut params = Params {
        op: op.code(),
        ..Params::new(n)
    };
    let offset = MAX_RANK - rank;
    params.dims[offset..].copy_from_slice(out_shape);
    params.a_strides = broadcast_strides(a_shape, out_shape);
    params.b_strides = broadcast_strides(b_shape, out_shape);
    dispatch(&binary_kernel(), &params.words(), &[a, b, z], grid_1d(n))
}

/// Strides of a row-major `shape` read at the coordinates of `out_shape` (right-aligned, as
/// numpy broadcasts): 0 along axes that `shape` lacks or has of size 1.
fn broadcast_strides(shape: &[usize], out_shape: &[usize]) -> [usize; MAX_RANK] {
    let mut strides = [0; MAX_RANK];
    let mut stride = 1;
    for k in 0..shape.len() {
        let axis = shape.len() - 1 - k;
        let slot = MAX_RANK - 1 - k;
        let size = shape[axis];
        let out_size = out_shape[out_shape.len() - 1 - k];
        strides[slot] = if size == 1 && out_size != 1 {
            0
        } else {
            stride
        };
        stride *= size;
    }
    strides
}

/// `out: out_shape` gathered from `x`: output element at coordinates `(i₀, i₁, …)` is
/// `x[start + Σ iₖ·strides[k]]`. Stride 0 repeats `x` along an axis (`broadcast_to`); the
/// strides of `x`'s axes in another order permute them (`permute`); `start` and a shorter
/// extent along an axis take a slice (`slice_axis`).
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if `out_shape` has more than [`MAX_RANK`] axes or `strides`
/// is not one per axis.
pub fn strided_copy(
    x: &GpuBuffer,
    start: usize,
    strides: &[usize],
    out_shape: &[usize],
    out: &GpuBuffer,
) -> Result<(), KernelError> {
    let rank = out_shape.len();
    if rank > MAX_RANK || strides.len() != rank {
        return Err(KernelError::geometry(
            "strided_copy (GPU)",
            format!("at most {MAX_RANK} axes and one stride each, found shape {out_shape:?} and strides {strides:?}"),
        ));
    }
    let n: usize = out_shape.iter().product();
    let mut params = Params {
        start,
        ..Params::new(n)
    };
    let offset = MAX_RANK - rank;
    params.dims[offset..].copy_from_slice(out_shape);
    params.a_strides[offset..].copy_from_slice(strides);
    dispatch(&STRIDED_COPY, &params.words(), &[x, out], grid_1d(n))
}

/// `out[out_start + Σ iₖ·out_strides[k]] = x[i]` for every element `i` of a contiguous `x` of
/// `shape` (coordinates `(i₀, i₁, …)`): a scatter into a region of a larger `out`, which the
/// other elements of `out` keep. `concat` writes each piece so, at its offset along the axis.
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if `shape` has more than [`MAX_RANK`] axes or `out_strides`
/// is not one per axis.
pub fn strided_copy_into(
    x: &GpuBuffer,
    shape: &[usize],
    out: &GpuBuffer,
    out_start: usize,
    out_strides: &[usize],
) -> Result<(), KernelError> {
    let rank = shape.len();
    if rank > MAX_RANK || out_strides.len() != rank {
        return Err(KernelError::geometry(
            "strided_copy_into (GPU)",
            format!("at most {MAX_RANK} axes and one stride each, found shape {shape:?} and strides {out_strides:?}"),
        ));
    }
    let n: usize = shape.iter().product();
    let mut params = Params {
        out_start,
        ..Params::new(n)
    };
    let offset = MAX_RANK - rank;
    params.dims[offset..].copy_from_slice(shape);
    params.b_strides[offset..].copy_from_slice(out_strides);
    dispatch(&STRIDED_COPY_INTO, &params.words(), &[x, out], grid_1d(n))
}

/// The strides that read `shape` (row-major) at the coordinates of `out_shape` when it is
/// broadcast to it: 0 along new or stretched axes.
pub fn broadcast_strides_of(shape: &[usize], out_shape: &[usize]) -> Vec<usize> {
    broadcast_strides(shape, out_shape)[MAX_RANK - out_shape.len()..].to_vec()
}

/// Sets every element of `out` to `value`.
pub fn fill(out: &GpuBuffer, value: f32) -> Result<(), KernelError> {
    let params = Params {
        value,
        ..Params::new(out.len())
    };
    dispatch(&FILL, &params.words(), &[out], grid_1d(out.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elementwise::Saved;
    use crate::wgpu::testing::{gpu_available, max_rel_diff, numbers};

    /// How close the GPU must come to the CPU: 2e-6, except for GELU, which the CPU computes
    /// in f64 and the GPU in f32 (its tanh form's slope differs by up to 2.5e-6 at |x| ≈ 8).
    fn tolerance(op: UnaryOp) -> f32 {
        match op {
            UnaryOp::Gelu | UnaryOp::GeluTanh => 1e-5,
            _ => 2e-6,
        }
    }

    #[test]
    fn every_unary_op_matches_the_cpu_definition() {
        if !gpu_available() {
            return;
        }
        // Inputs in [-8, 8), and positive ones for ln / sqrt.
        let x: Vec<f32> = numbers(1000, 1).iter().map(|v| v * 8.0).collect();
        let positive: Vec<f32> = x.iter().map(|v| v.abs() + 0.01).collect();
        for op in UnaryOp::ALL {
            let input = if matches!(op, UnaryOp::Ln | UnaryOp::Sqrt) {
                &positive
            } else {
                &x
            };
            let expected: Vec<f32> = input.iter().map(|&v| op.apply(v)).collect();
            let xb = GpuBuffer::upload(input).unwrap();
            let yb = GpuBuffer::uninit(input.len()).unwrap();
            unary(op, &xb, &yb).unwrap();
            let got = yb.download().unwrap();
            let err = max_rel_diff(&got, &expected);
            assert!(err < tolerance(op), "{op:?}: max relative difference {err}");
        }
    }

    #[test]
    fn every_binary_op_matches_the_cpu_definition_with_broadcasting() {
        if !gpu_available() {
            return;
        }
        // a: (2, 3, 4), b: (3, 1) → (2, 3, 4).
        let (a_shape, b_shape, out_shape) = ([2, 3, 4], [3, 1], [2, 3, 4]);
        let a: Vec<f32> = numbers(24, 2).iter().map(|v| v * 3.0).collect();
        let mut b: Vec<f32> = numbers(3, 3).iter().map(|v| v * 3.0).collect();
        b[1] = a[5]; // one exact tie for the comparisons
                     // Positive bases for pow (its negative ones have their own test below).
        let positive_a: Vec<f32> = a.iter().map(|v| v.abs() + 0.01).collect();
        for op in BinaryOp::ALL {
            let a = if op == BinaryOp::Pow { &positive_a } else { &a };
            let expected: Vec<f32> = (0..24).map(|i| op.apply(a[i], b[(i / 4) % 3])).collect();
            let (ab, bb) = (
                GpuBuffer::upload(a).unwrap(),
                GpuBuffer::upload(&b).unwrap(),
            );
            let zb = GpuBuffer::uninit(24).unwrap();
            binary(op, &ab, &a_shape, &bb, &b_shape, &out_shape, &zb).unwrap();
            let err = max_rel_diff(&zb.download().unwrap(), &expected);
            assert!(err < 2e-6, "{op:?}: max relative difference {err}");
        }
    }

    #[test]
    fn every_backward_matches_the_cpu_definition() {
        if !gpu_available() {
            return;
        }
        let dout: Vec<f32> = numbers(1000, 4).iter().map(|v| v * 2.0).collect();
        let x: Vec<f32> = numbers(1000, 5).iter().map(|v| v * 8.0).collect();
        let with_backward = UnaryOp::ALL
            .into_iter()
            .filter(|op| op.backward_reads().is_some());
        // √x takes positive inputs only.
        let positive: Vec<f32> = x.iter().map(|v| v.abs() + 0.01).collect();
        for op in with_backward {
            let x = if op == UnaryOp::Sqrt { &positive } else { &x };
            // The saved values: the input, or the output f(x) (sigmoid, tanh, sqrt).
            let saved: Vec<f32> = match op.backward_reads() {
                Some(Saved::Output) => x.iter().map(|&v| op.apply(v)).collect(),
                _ => x.clone(),
            };
            let expected: Vec<f32> = dout
                .iter()
                .zip(&saved)
                .map(|(&g, &v)| op.backward(g, v))
                .collect();
            let (gb, sb) = (
                GpuBuffer::upload(&dout).unwrap(),
                GpuBuffer::upload(&saved).unwrap(),
            );
            let dxb = GpuBuffer::uninit(dout.len()).unwrap();
            unary_backward(op, &gb, &sb, &dxb).unwrap();
            let err = max_rel_diff(&dxb.download().unwrap(), &expected);
            assert!(
                err < tolerance(op),
                "{op:?} backward: max relative difference {err}"
            );
        }
    }

    #[test]
    fn pow_follows_powf_for_negative_bases() {
        if !gpu_available() {
            return;
        }
        let a = [-2.0f32, -2.0, 2.0, -0.5, 0.0];
        let b = [3.0f32, 2.0, 0.5, 0.5, 0.0];
        let (ab, bb) = (
            GpuBuffer::upload(&a).unwrap(),
            GpuBuffer::upload(&b).unwrap(),
        );
        let zb = GpuBuffer::uninit(5).unwrap();
        binary(BinaryOp::Pow, &ab, &[5], &bb, &[5], &[5], &zb).unwrap();
        let got = zb.download().unwrap();
        assert_eq!(&got[..2], &[-8.0, 4.0]);
        assert!((got[2] - 2f32.sqrt()).abs() < 1e-6, "{}", got[2]);
        assert!(got[3].is_nan());
        assert_eq!(got[4], 1.0);
    }

    #[test]
    fn fill_and_zeros() {
        if !gpu_available() {
            return;
        }
        let out = GpuBuffer::uninit(70_000).unwrap();
        fill(&out, 1.5).unwrap();
        assert!(out.download().unwrap().iter().all(|&v| v == 1.5));
        let zeros = GpuBuffer::zeros(33).unwrap();
        assert_eq!(zeros.download().unwrap(), vec![0.0; 33]);
    }

    #[test]
    fn strided_copy_broadcasts_permutes_and_slices() {
        if !gpu_available() {
            return;
        }
        // (2, 3) → transposed (3, 2): strides (1, 3) in the output's axes.
        let x = GpuBuffer::upload(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        let out = GpuBuffer::uninit(6).unwrap();
        strided_copy(&x, 0, &[1, 3], &[3, 2], &out).unwrap();
        assert_eq!(out.download().unwrap(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        // (3,) broadcast to (2, 3).
        let row = GpuBuffer::upload(&[7.0, 8.0, 9.0]).unwrap();
        let strides = broadcast_strides_of(&[3], &[2, 3]);
        assert_eq!(strides, vec![0, 1]);
        strided_copy(&row, 0, &strides, &[2, 3], &out).unwrap();
        assert_eq!(out.download().unwrap(), vec![7.0, 8.0, 9.0, 7.0, 8.0, 9.0]);
        // Columns 1..3 of the (2, 3) x: start at element 1, row-major strides (3, 1).
        let columns = GpuBuffer::uninit(4).unwrap();
        strided_copy(&x, 1, &[3, 1], &[2, 2], &columns).unwrap();
        assert_eq!(columns.download().unwrap(), vec![1.0, 2.0, 4.0, 5.0]);
    }

    #[test]
    fn too_many_axes_is_an_error() {
        if !gpu_available() {
            return;
        }
        let a = GpuBuffer::upload(&[1.0]).unwrap();
        let shape = [1; 7];
        let err = binary(BinaryOp::Add, &a, &shape, &a, &shape, &shape, &a).unwrap_err();
        assert!(err.to_string().contains("at most 6 axes"), "{err}");
    }
}
