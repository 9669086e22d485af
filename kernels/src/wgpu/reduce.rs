//! Reductions over axes (sum, max, min) on the GPU; the CPU twin is `Tensor::sum_axes` and
//! friends in the tensor crate, which the tests use as the oracle.
use super::{context, dispatch, grid_1d, groups_2d, Access, GpuBuffer, Kernel};
use crate::KernelError;

/// The most axes a reduction handles on the GPU (kept and reduced each).
pub const MAX_RANK: usize = 6;

/// Below this many numbers per output, one thread per output beats one workgroup per output.
const SMALL_REDUCTION: usize = 64;

/// Which fold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// `Σ`
    Sum,
    /// `max` (NaN wins)
    Max,
    /// `min` (NaN wins)
    Min,
}

const PORTABLE: &str = concat!(
    include_str!("shaders/reduce_common.wgsl"),
    include_str!("shaders/reduce.wgsl")
);

const ROWS: Kernel = Kernel {
    name: "reduce.rows",
    source: PORTABLE,
    entry: "reduce_rows",
    buffers: &[Access::Read, Access::ReadWrite],
};

/// [`ROWS`] with subgroup operations, where the GPU has them.
const ROWS_SUBGROUP: Kernel = Kernel {
    name: "reduce.rows_subgroup",
    source: concat!(
        include_str!("shaders/reduce_common.wgsl"),
        include_str!("shaders/reduce_subgroup.wgsl")
    ),
    entry: "reduce_rows_subgroup",
    buffers: &[Access::Read, Access::ReadWrite],
};

const SMALL: Kernel = Kernel {
    name: "reduce.small",
    source: PORTABLE,
    entry: "reduce_small",
    buffers: &[Access::Read, Access::ReadWrite],
};

/// Folds `x: shape` over `axes` (sorted, distinct, validated by the caller) into `y`, which
/// holds the product of the kept axes' sizes, in row-major order of the kept axes.
///
/// # Errors
/// [`KernelError::InvalidGeometry`] for more than [`MAX_RANK`] kept or reduced axes.
pub fn reduce(
    reduction: Reduction,
    x: &GpuBuffer,
    shape: &[usize],
    axes: &[usize],
    y: &GpuBuffer,
) -> Result<(), KernelError> {
    let subgroups = context()?.has_subgroups();
    reduce_with(reduction, x, shape, axes, y, subgroups)
}

/// [`reduce`], with the subgroup schedule for long reductions or not.
fn reduce_with(
    reduction: Reduction,
    x: &GpuBuffer,
    shape: &[usize],
    axes: &[usize],
    y: &GpuBuffer,
    subgroups: bool,
) -> Result<(), KernelError> {
    let mut strides = vec![1usize; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * shape[a + 1];
    }
    let kept: Vec<usize> = (0..shape.len()).filter(|a| !axes.contains(a)).collect();
    if kept.len() > MAX_RANK || axes.len() > MAX_RANK {
        return Err(KernelError::geometry(
            "reduce (GPU)",
            format!("at most {MAX_RANK} kept and {MAX_RANK} reduced axes, found shape {shape:?} reduced over {axes:?}"),
        ));
    }
    let pack = |list: &[usize]| {
        let (mut dims, mut st) = ([1u32; MAX_RANK], [0u32; MAX_RANK]);
        let offset = MAX_RANK - list.len();
        for (i, &a) in list.iter().enumerate() {
            dims[offset + i] = shape[a] as u32;
            st[offset + i] = strides[a] as u32;
        }
        (dims, st)
    };
    let (kept_dims, kept_strides) = pack(&kept);
    let (red_dims, red_strides) = pack(axes);
    let n_out: usize = kept.iter().map(|&a| shape[a]).product();
    let n_red: usize = axes.iter().map(|&a| shape[a]).product();
    let op = match reduction {
        Reduction::Sum => 0,
        Reduction::Max => 1,
        Reduction::Min => 2,
    };
    // Reduced axes next to each other (axes a..=b) are one progression of stride strides[b]
    // through x, in the same order: row-major over them is j = 0, 1, 2, … at j·strides[b].
    let consecutive = axes.windows(2).all(|w| w[1] == w[0] + 1);
    let red_step = match axes.last() {
        Some(&last) if consecutive => strides[last] as u32,
        _ => 0,
    };
    let mut params = vec![n_out as u32, n_red as u32, op, red_step];
    params.extend(kept_dims);
    params.extend(kept_strides);
    params.extend(red_dims);
    params.extend(red_strides);
    if n_red < SMALL_REDUCTION {
        dispatch(&SMALL, &params, &[x, y], grid_1d(n_out))
    } else {
        let rows = if subgroups { &ROWS_SUBGROUP } else { &ROWS };
        dispatch(rows, &params, &[x, y], groups_2d(n_out as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wgpu::testing::{gpu_available, max_rel_diff, numbers};

    /// Reference: fold `x: shape` over `axes` on the host.
    fn reference(reduction: Reduction, x: &[f32], shape: &[usize], axes: &[usize]) -> Vec<f32> {
        let kept: Vec<usize> = (0..shape.len()).filter(|a| !axes.contains(a)).collect();
        let n_out: usize = kept.iter().map(|&a| shape[a]).product();
        let mut out = vec![
            match reduction {
                Reduction::Sum => 0.0f64,
                Reduction::Max => f64::NEG_INFINITY,
                Reduction::Min => f64::INFINITY,
            };
            n_out
        ];
        for (flat, &v) in x.iter().enumerate() {
            let mut rest = flat;
            let mut coords = vec![0; shape.len()];
            for a in (0..shape.len()).rev() {
                coords[a] = rest % shape[a];
                rest /= shape[a];
            }
            let o = kept.iter().fold(0, |acc, &a| acc * shape[a] + coords[a]);
            let v = f64::from(v);
            out[o] = match reduction {
                Reduction::Sum => out[o] + v,
                Reduction::Max => out[o].max(v),
                Reduction::Min => out[o].min(v),
            };
        }
        out.into_iter().map(|v| v as f32).collect()
    }

    #[test]
    fn sums_maxima_and_minima_match_the_host() {
        if !gpu_available() {
            return;
        }
        struct Case {
            shape: Vec<usize>,
            axes: Vec<usize>,
        }
        let cases = [
            Case {
                shape: vec![5, 7],
                axes: vec![0],
            },
            Case {
                shape: vec![5, 7],
                axes: vec![1],
            },
            Case {
                shape: vec![3, 333, 5],
                axes: vec![0, 1],
            }, // a bias gradient: many per output
            Case {
                shape: vec![2, 3, 4, 5],
                axes: vec![1, 3],
            },
            // Axes next to each other in the middle (one progression through x), and two
            // apart (decomposed axis by axis).
            Case {
                shape: vec![2, 3, 4, 5],
                axes: vec![1, 2],
            },
            Case {
                shape: vec![2, 3, 4, 5],
                axes: vec![0, 2],
            },
            Case {
                shape: vec![4, 6],
                axes: vec![0, 1],
            },
            Case {
                shape: vec![1000, 3],
                axes: vec![1],
            },
        ];
        // Both schedules of long reductions where the GPU has subgroups (lavapipe has).
        let schedules = if context().unwrap().has_subgroups() {
            vec![false, true]
        } else {
            vec![false]
        };
        for case in cases {
            let n: usize = case.shape.iter().product();
            let mut x = numbers(n, n as u32);
            for subgroups in schedules.iter().copied() {
                for reduction in [Reduction::Sum, Reduction::Max, Reduction::Min] {
                    let expected = reference(reduction, &x, &case.shape, &case.axes);
                    let xb = GpuBuffer::upload(&x).unwrap();
                    let yb = GpuBuffer::uninit(expected.len()).unwrap();
                    reduce_with(reduction, &xb, &case.shape, &case.axes, &yb, subgroups).unwrap();
                    let got = yb.download().unwrap();
                    let err = max_rel_diff(&got, &expected);
                    let what = format!(
                        "{reduction:?} of {:?} over {:?}, subgroups {subgroups}",
                        case.shape, case.axes
                    );
                    assert!(err < 1e-5, "{what}: {err}");
                }
                // A NaN wins, in a long reduction too: the outputs whose sum is NaN (the one
                // that reduces it) are NaN for the maximum and the minimum as well.
                x[n / 2] = f32::NAN;
                let xb = GpuBuffer::upload(&x).unwrap();
                let nans = |v: &[f32]| v.iter().map(|e| e.is_nan()).collect::<Vec<_>>();
                let expected = nans(&reference(Reduction::Sum, &x, &case.shape, &case.axes));
                for reduction in [Reduction::Sum, Reduction::Max, Reduction::Min] {
                    let yb = GpuBuffer::uninit(expected.len()).unwrap();
                    reduce_with(reduction, &xb, &case.shape, &case.axes, &yb, subgroups).unwrap();
                    let got = nans(&yb.download().unwrap());
                    assert_eq!(got, expected, "{reduction:?}, subgroups {subgroups}");
                }
                x[n / 2] = 0.5;
            }
        }
    }
}
