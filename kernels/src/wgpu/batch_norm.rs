//! Batch normalization on the GPU: the arithmetic of `autograd::ops::batch_norm` (Keras's
//! `BatchNormalization`, axis −1), split into the passes a training step needs.
//!
//! # Math
//! Per channel `c`, over the `M` positions of a channels-last input `(M, C)` (`M = N·H·W`):
//!
//! ```text
//! μ = (1/M) Σ x          σ² = (1/M) Σ (x − μ)²          1/σ = 1/sqrt(σ² + ε)
//! x̂ = (x − μ)·(1/σ)      y = γ·x̂ + β
//! moving: mm = m·mm + (1−m)·μ,   mv = m·mv + (1−m)·σ²·bessel
//! dβ = Σ dy      dγ = Σ dy·x̂
//! dx = (γ/σ)/M · (M·dy − Σ dy − x̂ · Σ dy·x̂)     (training)
//! dx = γ/σ · dy                                  (inference: μ, σ from the moving statistics)
//! ```
//!
//! `bessel` is `M/(M − 1)` where TF 2.10's fused kernel stores the unbiased variance (rank-4
//! inputs, `M > 1`), else 1: the caller decides, as `autograd::ops::batch_norm` does.
//!
//! # Shapes
//! `x`, `y`, `x̂`, `dy`, `dx`: `(M, C)`; every per-channel buffer: `(C)`. Outputs are
//! overwritten; the moving statistics are updated in place.
use super::{dispatch, grid_1d, groups_2d, Access, GpuBuffer, Kernel};
use crate::KernelError;

const fn kernel(source: &'static str, entry: &'static str, buffers: &'static [Access]) -> Kernel {
    Kernel {
        name: "batch_norm",
        source,
        entry,
        buffers,
    }
}

use Access::{Read as R, ReadWrite as W};

const MOMENTS: Kernel = kernel(
    concat!(
        include_str!("shaders/batch_norm_common.wgsl"),
        include_str!("shaders/batch_norm_moments.wgsl")
    ),
    "batch_norm_moments",
    &[R, W, W],
);
const UPDATE_MOVING: Kernel = kernel(
    concat!(
        include_str!("shaders/batch_norm_common.wgsl"),
        include_str!("shaders/batch_norm_channel.wgsl")
    ),
    "update_moving",
    &[R, R, W, W],
);
const INV_STD: Kernel = kernel(
    concat!(
        include_str!("shaders/batch_norm_common.wgsl"),
        include_str!("shaders/batch_norm_inv_std.wgsl")
    ),
    "inv_std_main",
    &[R, W],
);
const FORWARD: Kernel = kernel(
    concat!(
        include_str!("shaders/batch_norm_common.wgsl"),
        include_str!("shaders/batch_norm_forward.wgsl")
    ),
    "batch_norm_forward",
    &[R, R, R, R, R, W, W],
);
const SUMS: Kernel = kernel(
    concat!(
        include_str!("shaders/batch_norm_common.wgsl"),
        include_str!("shaders/batch_norm_sums.wgsl")
    ),
    "batch_norm_sums",
    &[R, R, W, W],
);
const BACKWARD_TRAINING: Kernel = kernel(
    concat!(
        include_str!("shaders/batch_norm_common.wgsl"),
        include_str!("shaders/batch_norm_backward.wgsl")
    ),
    "backward_x_training",
    &[R, R, R, R, R, R, W],
);
const BACKWARD_INFERENCE: Kernel = kernel(
    concat!(
        include_str!("shaders/batch_norm_common.wgsl"),
        include_str!("shaders/batch_norm_backward_inference.wgsl")
    ),
    "backward_x_inference",
    &[R, R, R, W],
);

/// The sizes of one batch normalization: `M` positions of `C` channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchNormShape {
    /// M = N·H·W, the positions each channel is normalised over.
    pub positions: usize,
    /// C, the channels (the last axis).
    pub channels: usize,
}

/// The scalars of one call: the parameter block of `batch_norm_common.wgsl`.
#[derive(Clone, Copy, Debug, Default)]
struct Scalars {
    epsilon: f32,
    momentum: f32,
    bessel: f32,
}

impl BatchNormShape {
    fn words(&self, s: Scalars) -> [u32; 6] {
        [
            self.positions as u32,
            self.channels as u32,
            s.epsilon.to_bits(),
            s.momentum.to_bits(),
            (1.0 - s.momentum).to_bits(),
            s.bessel.to_bits(),
        ]
    }

    fn elements(&self) -> usize {
        self.positions * self.channels
    }
}

/// The batch mean and biased variance of each channel (two passes, one workgroup per channel).
pub fn batch_norm_moments(
    shape: BatchNormShape,
    x: &GpuBuffer,
    mean: &GpuBuffer,
    variance: &GpuBuffer,
) -> Result<(), KernelError> {
    let params = shape.words(Scalars::default());
    let groups = groups_2d(shape.channels as u32);
    dispatch(&MOMENTS, &params, &[x, mean, variance], groups)
}

/// Updates the moving statistics in place: `mm = m·mm + (1−m)·μ`, `mv = m·mv + (1−m)·σ²·bessel`.
pub fn batch_norm_update_moving(
    shape: BatchNormShape,
    mean: &GpuBuffer,
    variance: &GpuBuffer,
    moving_mean: &GpuBuffer,
    moving_variance: &GpuBuffer,
    momentum: f32,
    bessel: f32,
) -> Result<(), KernelError> {
    let scalars = Scalars {
        momentum,
        bessel,
        ..Scalars::default()
    };
    let buffers = [mean, variance, moving_mean, moving_variance];
    dispatch(
        &UPDATE_MOVING,
        &shape.words(scalars),
        &buffers,
        grid_1d(shape.channels),
    )
}

/// `inv_std = 1/sqrt(variance + ε)` per channel.
pub fn batch_norm_inv_std(
    shape: BatchNormShape,
    variance: &GpuBuffer,
    epsilon: f32,
    inv_std: &GpuBuffer,
) -> Result<(), KernelError> {
    let scalars = Scalars {
        epsilon,
        ..Scalars::default()
    };
    dispatch(
        &INV_STD,
        &shape.words(scalars),
        &[variance, inv_std],
        grid_1d(shape.channels),
    )
}

/// `x̂ = (x − μ)·inv_std` and `y = γ·x̂ + β`, per element.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_forward(
    shape: BatchNormShape,
    x: &GpuBuffer,
    mean: &GpuBuffer,
    inv_std: &GpuBuffer,
    gamma: &GpuBuffer,
    beta: &GpuBuffer,
    x_hat: &GpuBuffer,
    y: &GpuBuffer,
) -> Result<(), KernelError> {
    let buffers = [x, mean, inv_std, gamma, beta, x_hat, y];
    let params = shape.words(Scalars::default());
    dispatch(&FORWARD, &params, &buffers, grid_1d(shape.elements()))
}

/// `dγ = Σ dy·x̂` and `dβ = Σ dy` per channel (one workgroup per channel).
pub fn batch_norm_backward_gamma_beta(
    shape: BatchNormShape,
    dy: &GpuBuffer,
    x_hat: &GpuBuffer,
    dgamma: &GpuBuffer,
    dbeta: &GpuBuffer,
) -> Result<(), KernelError> {
    let params = shape.words(Scalars::default());
    let groups = groups_2d(shape.channels as u32);
    dispatch(&SUMS, &params, &[dy, x_hat, dgamma, dbeta], groups)
}

/// Training mode: `dx = (γ/σ)/M · (M·dy − Σ dy − x̂ · Σ dy·x̂)`, with the sums of
/// [`batch_norm_backward_gamma_beta`] (`sum_dy` is dβ, `sum_dy_x_hat` is dγ).
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward_x_training(
    shape: BatchNormShape,
    dy: &GpuBuffer,
    x_hat: &GpuBuffer,
    gamma: &GpuBuffer,
    inv_std: &GpuBuffer,
    sum_dy: &GpuBuffer,
    sum_dy_x_hat: &GpuBuffer,
    dx: &GpuBuffer,
) -> Result<(), KernelError> {
    let buffers = [dy, x_hat, gamma, inv_std, sum_dy, sum_dy_x_hat, dx];
    let params = shape.words(Scalars::default());
    dispatch(
        &BACKWARD_TRAINING,
        &params,
        &buffers,
        grid_1d(shape.elements()),
    )
}

/// Inference mode: `dx = γ/σ · dy`.
pub fn batch_norm_backward_x_inference(
    shape: BatchNormShape,
    dy: &GpuBuffer,
    gamma: &GpuBuffer,
    inv_std: &GpuBuffer,
    dx: &GpuBuffer,
) -> Result<(), KernelError> {
    let params = shape.words(Scalars::default());
    let buffers = [dy, gamma, inv_std, dx];
    dispatch(
        &BACKWARD_INFERENCE,
        &params,
        &buffers,
        grid_1d(shape.elements()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wgpu::testing::{gpu_available, max_rel_diff, numbers};

    /// One parity case: `M` positions of `C` channels (odd sizes, and M above one workgroup).
    #[derive(Debug, Clone, Copy)]
    struct BatchNormCase {
        positions: usize,
        channels: usize,
    }

    /// The CPU arithmetic of `autograd::ops::batch_norm`, on slices: the oracle.
    struct Reference {
        mean: Vec<f32>,
        variance: Vec<f32>,
        inv_std: Vec<f32>,
        x_hat: Vec<f32>,
        y: Vec<f32>,
        moving_mean: Vec<f32>,
        moving_variance: Vec<f32>,
        dgamma: Vec<f32>,
        dbeta: Vec<f32>,
        dx_training: Vec<f32>,
        dx_inference: Vec<f32>,
    }

    /// Per-channel sums in f64, as the autograd op's `channel_sums`.
    fn channel_sums(values: &[f32], c: usize) -> Vec<f32> {
        let mut sums = vec![0.0f64; c];
        for row in values.chunks_exact(c) {
            sums.iter_mut().zip(row).for_each(|(s, &v)| *s += v as f64);
        }
        sums.into_iter().map(|s| s as f32).collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn reference(
        m: usize,
        c: usize,
        x: &[f32],
        gamma: &[f32],
        beta: &[f32],
        moving: (&[f32], &[f32]),
        dy: &[f32],
        (momentum, epsilon, bessel): (f32, f32, f32),
    ) -> Reference {
        let mut mean64 = vec![0.0f64; c];
        x.chunks_exact(c).for_each(|row| {
            mean64
                .iter_mut()
                .zip(row)
                .for_each(|(s, &v)| *s += v as f64)
        });
        mean64.iter_mut().for_each(|s| *s /= m as f64);
        let mut var64 = vec![0.0f64; c];
        for row in x.chunks_exact(c) {
            for ((s, &v), mu) in var64.iter_mut().zip(row).zip(&mean64) {
                *s += (v as f64 - mu).powi(2);
            }
        }
        let mean: Vec<f32> = mean64.iter().map(|&v| v as f32).collect();
        let variance: Vec<f32> = var64.iter().map(|&v| (v / m as f64) as f32).collect();
        let inv_std: Vec<f32> = variance
            .iter()
            .map(|v| 1.0 / (v + epsilon).sqrt())
            .collect();
        let x_hat: Vec<f32> = (0..m * c)
            .map(|i| (x[i] - mean[i % c]) * inv_std[i % c])
            .collect();
        let y: Vec<f32> = (0..m * c)
            .map(|i| gamma[i % c] * x_hat[i] + beta[i % c])
            .collect();
        let moving_mean = (0..c)
            .map(|j| momentum * moving.0[j] + (1.0 - momentum) * mean[j])
            .collect();
        let moving_variance = (0..c)
            .map(|j| momentum * moving.1[j] + (1.0 - momentum) * variance[j] * bessel)
            .collect();
        let dbeta = channel_sums(dy, c);
        let dy_x_hat: Vec<f32> = dy.iter().zip(&x_hat).map(|(a, b)| a * b).collect();
        let dgamma = channel_sums(&dy_x_hat, c);
        let positions = m as f32;
        let dx_training = (0..m * c)
            .map(|i| {
                let k = i % c;
                let scale = gamma[k] * inv_std[k] / positions;
                scale * (positions * dy[i] - dbeta[k] - x_hat[i] * dgamma[k])
            })
            .collect();
        let dx_inference = (0..m * c)
            .map(|i| dy[i] * (gamma[i % c] * inv_std[i % c]))
            .collect();
        Reference {
            mean,
            variance,
            inv_std,
            x_hat,
            y,
            moving_mean,
            moving_variance,
            dgamma,
            dbeta,
            dx_training,
            dx_inference,
        }
    }

    fn check(what: &str, got: &GpuBuffer, expected: &[f32], tol: f32) {
        let err = max_rel_diff(&got.download().unwrap(), expected);
        assert!(err < tol, "{what}: max relative difference {err}");
    }

    #[test]
    fn every_pass_matches_the_cpu_arithmetic() {
        if !gpu_available() {
            return;
        }
        let cases = [
            BatchNormCase {
                positions: 1,
                channels: 1,
            },
            BatchNormCase {
                positions: 4,
                channels: 2,
            },
            BatchNormCase {
                positions: 2 * 7 * 5,
                channels: 3,
            },
            BatchNormCase {
                positions: 1000,
                channels: 17,
            },
        ];
        for case in cases {
            let (m, c) = (case.positions, case.channels);
            let shape = BatchNormShape {
                positions: m,
                channels: c,
            };
            // x with a channel offset, so that the mean matters.
            let x: Vec<f32> = numbers(m * c, 1)
                .iter()
                .enumerate()
                .map(|(i, v)| 3.0 * v + (i % c) as f32)
                .collect();
            let gamma: Vec<f32> = numbers(c, 2).iter().map(|v| 1.0 + 0.5 * v).collect();
            let beta = numbers(c, 3);
            let (mm, mv): (Vec<f32>, Vec<f32>) = (
                numbers(c, 4),
                numbers(c, 5).iter().map(|v| 1.0 + 0.5 * v).collect(),
            );
            let dy = numbers(m * c, 6);
            let bessel = if m > 1 {
                m as f32 / (m - 1) as f32
            } else {
                1.0
            };
            let r = reference(
                m,
                c,
                &x,
                &gamma,
                &beta,
                (&mm, &mv),
                &dy,
                (0.99, 1e-3, bessel),
            );

            let up = |v: &[f32]| GpuBuffer::upload(v).unwrap();
            let per_channel = || GpuBuffer::uninit(c).unwrap();
            let per_element = || GpuBuffer::uninit(m * c).unwrap();
            let (xb, gb, bb, dyb) = (up(&x), up(&gamma), up(&beta), up(&dy));
            let (mean, variance, inv_std) = (per_channel(), per_channel(), per_channel());
            batch_norm_moments(shape, &xb, &mean, &variance).unwrap();
            check(&format!("mean {case:?}"), &mean, &r.mean, 1e-6);
            check(&format!("variance {case:?}"), &variance, &r.variance, 1e-5);
            let (mmb, mvb) = (up(&mm), up(&mv));
            batch_norm_update_moving(shape, &mean, &variance, &mmb, &mvb, 0.99, bessel).unwrap();
            check(&format!("moving mean {case:?}"), &mmb, &r.moving_mean, 1e-6);
            check(
                &format!("moving variance {case:?}"),
                &mvb,
                &r.moving_variance,
                1e-6,
            );
            batch_norm_inv_std(shape, &variance, 1e-3, &inv_std).unwrap();
            check(&format!("inv_std {case:?}"), &inv_std, &r.inv_std, 1e-5);
            let (x_hat, y) = (per_element(), per_element());
            batch_norm_forward(shape, &xb, &mean, &inv_std, &gb, &bb, &x_hat, &y).unwrap();
            check(&format!("x_hat {case:?}"), &x_hat, &r.x_hat, 1e-5);
            check(&format!("y {case:?}"), &y, &r.y, 1e-5);

            let (dgamma, dbeta, dx) = (per_channel(), per_channel(), per_element());
            batch_norm_backward_gamma_beta(shape, &dyb, &x_hat, &dgamma, &dbeta).unwrap();
            check(&format!("dgamma {case:?}"), &dgamma, &r.dgamma, 1e-4);
            check(&format!("dbeta {case:?}"), &dbeta, &r.dbeta, 1e-5);
            batch_norm_backward_x_training(
                shape, &dyb, &x_hat, &gb, &inv_std, &dbeta, &dgamma, &dx,
            )
            .unwrap();
            check(&format!("dx training {case:?}"), &dx, &r.dx_training, 1e-4);
            batch_norm_backward_x_inference(shape, &dyb, &gb, &inv_std, &dx).unwrap();
            check(
                &format!("dx inference {case:?}"),
                &dx,
                &r.dx_inference,
                1e-6,
            );
        }
    }
}
