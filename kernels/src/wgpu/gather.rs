//! Indexing along one axis on the GPU: [`gather`] (numpy's `take`, `Tensor::select`) and
//! [`argmax`] (`Tensor::argmax`). Both see a tensor as `(outer, size, inner)`: `size` is the axis,
//! `outer` the product of the axes before it and `inner` that of the axes after it
//! (`shaders/gather.wgsl`, `shaders/argmax.wgsl`).
use super::{dispatch, grid_1d, Access, GpuBuffer, Kernel};
use crate::KernelError;

const GATHER: Kernel = Kernel {
    name: "gather.take",
    source: include_str!("shaders/gather.wgsl"),
    entry: "gather_main",
    buffers: &[Access::Read, Access::Read, Access::ReadWrite],
};

const ARGMAX: Kernel = Kernel {
    name: "gather.argmax",
    source: include_str!("shaders/argmax.wgsl"),
    entry: "argmax_main",
    buffers: &[Access::Read, Access::ReadWrite],
};

/// Checks that `n` output elements fit the shaders' 32-bit counters.
fn check_u32(op: &'static str, n: usize) -> Result<(), KernelError> {
    if n > u32::MAX as usize {
        return Err(KernelError::GpuLimit {
            op,
            msg: format!("at most 2³² − 1 elements, found {n}"),
        });
    }
    Ok(())
}

/// `out[o, j, r] = x[o, indices[j], r]` for `x: (outer, size, inner)` and
/// `out: (outer, indices.len(), inner)`; `indices` holds `count` numbers below `size` (checked
/// by the caller, which has them on the host: `Tensor::select`).
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if a buffer's length does not fit the shape;
/// [`KernelError::GpuLimit`] past 2³² elements.
pub fn gather(
    x: &GpuBuffer,
    [outer, size, inner]: [usize; 3],
    indices: &GpuBuffer,
    out: &GpuBuffer,
) -> Result<(), KernelError> {
    let count = indices.len();
    let n = outer * count * inner;
    if x.len() != outer * size * inner || out.len() != n {
        return Err(KernelError::geometry(
            "gather (GPU)",
            format!(
                "x of {} and out of {n} numbers for ({outer}, {size}, {inner}) taking {count}, found {} and {}",
                outer * size * inner,
                x.len(),
                out.len()
            ),
        ));
    }
    check_u32("gather", n.max(x.len()))?;
    if n == 0 {
        return Ok(());
    }
    let params = [n, size, inner, count].map(|v| v as u32);
    dispatch(&GATHER, &params, &[x, indices, out], grid_1d(n))
}

/// `out[o, r] = argmax_k x[o, k, r]` as f32 for `x: (outer, size, inner)`, `size ≥ 1`: the first
/// index on ties, the first NaN if there is one.
///
/// # Errors
/// [`KernelError::InvalidGeometry`] if `size` is 0 or a buffer's length does not fit the shape;
/// [`KernelError::GpuLimit`] past 2³² elements.
pub fn argmax(
    x: &GpuBuffer,
    [outer, size, inner]: [usize; 3],
    out: &GpuBuffer,
) -> Result<(), KernelError> {
    let n = outer * inner;
    if size == 0 || x.len() != outer * size * inner || out.len() != n {
        return Err(KernelError::geometry(
            "argmax (GPU)",
            format!(
                "a non-empty axis, x of {} and out of {n} numbers for ({outer}, {size}, {inner}), found {} and {}",
                outer * size * inner,
                x.len(),
                out.len()
            ),
        ));
    }
    check_u32("argmax", x.len())?;
    if n == 0 {
        return Ok(());
    }
    let params = [n, size, inner, 0].map(|v| v as u32);
    dispatch(&ARGMAX, &params, &[x, out], grid_1d(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wgpu::testing::{gpu_available, numbers};

    /// `take` on the host, as the reference.
    fn gather_cpu(x: &[f32], [outer, size, inner]: [usize; 3], indices: &[u32]) -> Vec<f32> {
        let mut out = Vec::new();
        for o in 0..outer {
            for &j in indices {
                let row = (o * size + j as usize) * inner;
                out.extend_from_slice(&x[row..row + inner]);
            }
        }
        out
    }

    /// `argmax` on the host, as `Tensor::argmax` does it.
    fn argmax_cpu(x: &[f32], [outer, size, inner]: [usize; 3]) -> Vec<f32> {
        let mut out = Vec::new();
        for o in 0..outer {
            for r in 0..inner {
                let at = |k: usize| x[(o * size + k) * inner + r];
                let mut best = 0;
                for k in 0..size {
                    if at(k) > at(best) || (at(k).is_nan() && !at(best).is_nan()) {
                        best = k;
                    }
                }
                out.push(best as f32);
            }
        }
        out
    }

    /// One gather: `x` seen as `shape = (outer, size, inner)`, the `indices` taken along `size`.
    struct GatherCase {
        shape: [usize; 3],
        indices: Vec<u32>,
    }

    #[test]
    fn gather_takes_the_rows_the_cpu_takes() {
        if !gpu_available() {
            return;
        }
        let cases = [
            // A batch from a dataset (axis 0 of a (10, 7) table), an index taken twice.
            GatherCase {
                shape: [1, 10, 7],
                indices: vec![3, 0, 9, 3],
            },
            // The last axis of (4, 5).
            GatherCase {
                shape: [4, 5, 1],
                indices: vec![4, 4, 1],
            },
            GatherCase {
                shape: [2, 3, 6],
                indices: vec![2],
            },
            // Nothing taken.
            GatherCase {
                shape: [3, 2, 2],
                indices: vec![],
            },
        ];
        for GatherCase { shape, indices } in cases {
            let x = numbers(shape.iter().product(), 5);
            let expected = gather_cpu(&x, shape, &indices);
            let xb = GpuBuffer::upload(&x).unwrap();
            let ib = GpuBuffer::upload_u32(&indices).unwrap();
            let out = GpuBuffer::upload(&vec![f32::NAN; expected.len()]).unwrap();
            gather(&xb, shape, &ib, &out).unwrap();
            assert_eq!(out.download().unwrap(), expected, "{shape:?} {indices:?}");
        }
    }

    #[test]
    fn argmax_picks_what_the_cpu_picks_ties_and_nans_included() {
        if !gpu_available() {
            return;
        }
        let mut planted = numbers(4 * 6 * 3, 9);
        planted[3] = planted[0]; // a tie along the axis of (0, ·, 0): the first wins
        planted[7] = f32::NAN; // a NaN wins over every number
        planted[19] = f32::NAN;
        for (shape, x) in [
            ([4, 6, 3], planted),
            ([1, 10, 1], numbers(10, 2)),
            ([5, 1, 2], numbers(10, 4)),
        ] {
            let expected = argmax_cpu(&x, shape);
            let xb = GpuBuffer::upload(&x).unwrap();
            let out = GpuBuffer::upload(&vec![f32::NAN; expected.len()]).unwrap();
            argmax(&xb, shape, &out).unwrap();
            assert_eq!(out.download().unwrap(), expected, "{shape:?}");
        }
    }

    #[test]
    fn shapes_that_do_not_fit_are_an_error() {
        if !gpu_available() {
            return;
        }
        let x = GpuBuffer::uninit(6).unwrap();
        let out = GpuBuffer::uninit(2).unwrap();
        let err = argmax(&x, [2, 0, 3], &out).unwrap_err();
        assert!(err.to_string().contains("a non-empty axis"), "{err}");
        let indices = GpuBuffer::upload_u32(&[0, 1]).unwrap();
        let err = gather(&x, [1, 3, 1], &indices, &out).unwrap_err();
        assert!(err.to_string().contains("found 6 and 2"), "{err}");
    }
}
