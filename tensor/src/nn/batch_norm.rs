//! Batch normalization's passes on either device (the math and its derivation:
//! `autograd::ops::batch_norm`).
//!
//! # Math
//! Per channel, over the `M` positions of a channels-last `x: (…, C)`:
//!
//! ```text
//! μ = (1/M) Σ x      σ² = (1/M) Σ (x − μ)²      1/σ = 1/sqrt(σ² + ε)
//! x̂ = (x − μ)·(1/σ)  y = γ·x̂ + β
//! moving: mm = m·mm + (1−m)·μ,   mv = m·mv + (1−m)·σ²·bessel
//! dβ = Σ dy    dγ = Σ dy·x̂
//! dx = (γ/σ)/M · (M·dy − Σ dy − x̂ · Σ dy·x̂)   (training)      dx = γ/σ · dy   (inference)
//! ```
//!
//! This file checks the shapes once and sends each pass to its device: the CPU loops are in
//! `kernels/src/cpu/batch_norm.rs` (sums in f64), the GPU's in `kernels/src/wgpu/batch_norm.rs`
//! (sums in f32 as a tree; the two agree to about 1e-6).
//!
//! # Shapes
//! `x`, `y`, `x̂`, `dy`, `dx`: `(…, C)`; `γ`, `β`, `μ`, `σ²`, `1/σ`, the moving statistics,
//! `dγ`, `dβ`: `(C)`.
#[cfg(feature = "wgpu")]
use astrograd_kernels::wgpu::{batch_norm as gpu, batch_norm::BatchNormShape, GpuBuffer};

use astrograd_kernels::cpu::batch_norm as cpu;

use crate::{Result, Tensor, TensorError};

/// What [`batch_norm_normalize`] returns.
#[derive(Clone, Debug)]
pub struct Normalized {
    /// `y = γ·x̂ + β`: the shape of `x`.
    pub y: Tensor,
    /// `x̂ = (x − μ)/σ`: the shape of `x`, kept for the backward.
    pub x_hat: Tensor,
    /// `1/σ = 1/sqrt(σ² + ε)`: `(C)`, kept for the backward.
    pub inv_std: Tensor,
}

/// `(M, C)` of a channels-last tensor of rank ≥ 2 with at least one element.
fn positions_and_channels(op: &'static str, x: &Tensor) -> Result<(usize, usize)> {
    let shape = x.shape();
    if shape.len() < 2 || x.numel() == 0 {
        return Err(TensorError::Shape {
            op,
            expected: "a non-empty input of rank ≥ 2 with channels last".into(),
            found: format!("shape {shape:?}"),
        });
    }
    let c = shape[shape.len() - 1];
    Ok((x.numel() / c, c))
}

/// An error unless every tensor of `per_channel` has shape `(C)`.
fn expect_channels(op: &'static str, c: usize, per_channel: &[&Tensor]) -> Result<()> {
    for t in per_channel {
        if t.shape() != [c] {
            return Err(TensorError::Shape {
                op,
                expected: format!("per-channel values of shape [{c}]"),
                found: format!("shape {:?}", t.shape()),
            });
        }
    }
    Ok(())
}

#[cfg(feature = "wgpu")]
fn shape_of(m: usize, c: usize) -> BatchNormShape {
    BatchNormShape {
        positions: m,
        channels: c,
    }
}

/// The batch mean and biased variance of each channel: `(μ, σ²)`, each `(C)`.
///
/// # Errors
/// [`TensorError::Shape`] if `x` has rank < 2 or no elements.
pub fn batch_norm_moments(x: &Tensor) -> Result<(Tensor, Tensor)> {
    const OP: &str = "batch_norm_moments";
    let (m, c) = positions_and_channels(OP, x)?;
    #[cfg(feature = "wgpu")]
    if let Some(xb) = x.gpu_buffer() {
        let (mean, variance) = (GpuBuffer::uninit(c)?, GpuBuffer::uninit(c)?);
        gpu::batch_norm_moments(shape_of(m, c), xb, &mean, &variance)?;
        return Ok((
            Tensor::from_gpu(mean, &[c]),
            Tensor::from_gpu(variance, &[c]),
        ));
    }
    let (mut mean, mut variance) = (vec![0.0; c], vec![0.0; c]);
    cpu::moments(x.as_slice()?, c, &mut mean, &mut variance);
    let _ = m;
    Ok((
        Tensor::from_vec(mean, &[c])?,
        Tensor::from_vec(variance, &[c])?,
    ))
}

/// Updates the moving statistics in place: `mm = m·mm + (1−m)·μ`, `mv = m·mv + (1−m)·σ²·bessel`
/// (`bessel` is `M/(M − 1)` where TF 2.10 stores the unbiased variance, else 1).
///
/// # Errors
/// [`TensorError::Shape`] unless all four are `(C)`; [`TensorError::Device`] for mixed devices.
pub fn batch_norm_update_moving(
    moving_mean: &mut Tensor,
    moving_variance: &mut Tensor,
    mean: &Tensor,
    variance: &Tensor,
    momentum: f32,
    bessel: f32,
) -> Result<()> {
    const OP: &str = "batch_norm_update_moving";
    let c = mean.numel();
    expect_channels(OP, c, &[moving_mean, moving_variance, mean, variance])?;
    #[cfg(feature = "wgpu")]
    if crate::gpu::all_on_gpu(OP, &[moving_mean, moving_variance, mean, variance])?.is_some() {
        if let (Some(mb), Some(vb)) = (mean.gpu_buffer(), variance.gpu_buffer()) {
            let mmb = moving_mean.gpu_buffer_mut()?;
            let mvb = moving_variance.gpu_buffer_mut()?;
            gpu::batch_norm_update_moving(shape_of(1, c), mb, vb, mmb, mvb, momentum, bessel)?;
            return Ok(());
        }
    }
    cpu::update_moving(
        moving_mean.as_mut_slice()?,
        moving_variance.as_mut_slice()?,
        mean.as_slice()?,
        variance.as_slice()?,
        momentum,
        bessel,
    );
    Ok(())
}

/// `1/σ = 1/sqrt(σ² + ε)`, then `x̂ = (x − μ)·(1/σ)` and `y = γ·x̂ + β`.
///
/// # Errors
/// [`TensorError::Shape`] if `x` is not channels-last of rank ≥ 2 or a per-channel tensor is
/// not `(C)`; [`TensorError::Device`] for mixed devices.
pub fn batch_norm_normalize(
    x: &Tensor,
    mean: &Tensor,
    variance: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    epsilon: f32,
) -> Result<Normalized> {
    const OP: &str = "batch_norm_normalize";
    let (m, c) = positions_and_channels(OP, x)?;
    expect_channels(OP, c, &[mean, variance, gamma, beta])?;
    #[cfg(feature = "wgpu")]
    if let Some(b) = crate::gpu::all_on_gpu(OP, &[x, mean, variance, gamma, beta])? {
        let shape = shape_of(m, c);
        let inv_std = GpuBuffer::uninit(c)?;
        gpu::batch_norm_inv_std(shape, b[2], epsilon, &inv_std)?;
        let (x_hat, y) = (GpuBuffer::uninit(m * c)?, GpuBuffer::uninit(m * c)?);
        gpu::batch_norm_forward(shape, b[0], b[1], &inv_std, b[3], b[4], &x_hat, &y)?;
        return Ok(Normalized {
            y: Tensor::from_gpu(y, x.shape()),
            x_hat: Tensor::from_gpu(x_hat, x.shape()),
            inv_std: Tensor::from_gpu(inv_std, &[c]),
        });
    }
    let mut inv_std = vec![0.0; c];
    cpu::inv_std(variance.as_slice()?, epsilon, &mut inv_std);
    // x_hat, y: the shape of x, every value overwritten
    let (mut x_hat, mut y) = (vec![0.0; m * c], vec![0.0; m * c]);
    cpu::normalize(
        x.as_slice()?,
        mean.as_slice()?,
        &inv_std,
        gamma.as_slice()?,
        beta.as_slice()?,
        &mut x_hat,
        &mut y,
    );
    Ok(Normalized {
        y: Tensor::from_vec(y, x.shape())?,
        x_hat: Tensor::from_vec(x_hat, x.shape())?,
        inv_std: Tensor::from_vec(inv_std, &[c])?,
    })
}

/// `(dγ, dβ) = (Σ dy·x̂, Σ dy)` per channel, each `(C)`.
///
/// # Errors
/// [`TensorError::Shape`] if the shapes differ or are not channels-last of rank ≥ 2;
/// [`TensorError::Device`] for mixed devices.
pub fn batch_norm_backward_gamma_beta(dy: &Tensor, x_hat: &Tensor) -> Result<(Tensor, Tensor)> {
    const OP: &str = "batch_norm_backward_gamma_beta";
    let (m, c) = positions_and_channels(OP, dy)?;
    same_shape(OP, dy, x_hat)?;
    #[cfg(feature = "wgpu")]
    if let Some(b) = crate::gpu::all_on_gpu(OP, &[dy, x_hat])? {
        let (dgamma, dbeta) = (GpuBuffer::uninit(c)?, GpuBuffer::uninit(c)?);
        gpu::batch_norm_backward_gamma_beta(shape_of(m, c), b[0], b[1], &dgamma, &dbeta)?;
        return Ok((
            Tensor::from_gpu(dgamma, &[c]),
            Tensor::from_gpu(dbeta, &[c]),
        ));
    }
    let _ = m;
    let (mut dgamma, mut dbeta) = (vec![0.0; c], vec![0.0; c]);
    cpu::backward_gamma_beta(dy.as_slice()?, x_hat.as_slice()?, &mut dgamma, &mut dbeta);
    Ok((
        Tensor::from_vec(dgamma, &[c])?,
        Tensor::from_vec(dbeta, &[c])?,
    ))
}

fn same_shape(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.shape() == b.shape() {
        return Ok(());
    }
    Err(TensorError::Shape {
        op,
        expected: format!("x̂ of the shape of dy {:?}", a.shape()),
        found: format!("shape {:?}", b.shape()),
    })
}

/// Training mode: `dx = (γ/σ)/M · (M·dy − Σ dy − x̂ · Σ dy·x̂)`, with the sums `dβ = Σ dy` and
/// `dγ = Σ dy·x̂` of [`batch_norm_backward_gamma_beta`].
///
/// # Errors
/// As [`batch_norm_normalize`].
pub fn batch_norm_backward_x_training(
    dy: &Tensor,
    x_hat: &Tensor,
    gamma: &Tensor,
    inv_std: &Tensor,
    dgamma: &Tensor,
    dbeta: &Tensor,
) -> Result<Tensor> {
    const OP: &str = "batch_norm_backward_x_training";
    let (m, c) = positions_and_channels(OP, dy)?;
    same_shape(OP, dy, x_hat)?;
    expect_channels(OP, c, &[gamma, inv_std, dgamma, dbeta])?;
    #[cfg(feature = "wgpu")]
    if let Some(b) = crate::gpu::all_on_gpu(OP, &[dy, x_hat, gamma, inv_std, dgamma, dbeta])? {
        let dx = GpuBuffer::uninit(m * c)?;
        gpu::batch_norm_backward_x_training(
            shape_of(m, c),
            b[0],
            b[1],
            b[2],
            b[3],
            b[5],
            b[4],
            &dx,
        )?;
        return Ok(Tensor::from_gpu(dx, dy.shape()));
    }
    let mut dx = vec![0.0; m * c]; // the shape of dy, every value overwritten
    cpu::backward_x_training(
        dy.as_slice()?,
        x_hat.as_slice()?,
        gamma.as_slice()?,
        inv_std.as_slice()?,
        dgamma.as_slice()?,
        dbeta.as_slice()?,
        &mut dx,
    );
    Tensor::from_vec(dx, dy.shape())
}

/// Inference mode, where `μ` and `σ` are constants: `dx = γ/σ · dy`.
///
/// # Errors
/// As [`batch_norm_normalize`].
pub fn batch_norm_backward_x_inference(
    dy: &Tensor,
    gamma: &Tensor,
    inv_std: &Tensor,
) -> Result<Tensor> {
    const OP: &str = "batch_norm_backward_x_inference";
    let (m, c) = positions_and_channels(OP, dy)?;
    expect_channels(OP, c, &[gamma, inv_std])?;
    #[cfg(feature = "wgpu")]
    if let Some(b) = crate::gpu::all_on_gpu(OP, &[dy, gamma, inv_std])? {
        let dx = GpuBuffer::uninit(m * c)?;
        gpu::batch_norm_backward_x_inference(shape_of(m, c), b[0], b[1], b[2], &dx)?;
        return Ok(Tensor::from_gpu(dx, dy.shape()));
    }
    let mut dx = vec![0.0; m * c];
    cpu::backward_x_inference(
        dy.as_slice()?,
        gamma.as_slice()?,
        inv_std.as_slice()?,
        &mut dx,
    );
    Tensor::from_vec(dx, dy.shape())
}

#[cfg(all(test, feature = "wgpu"))]
mod tests {
    use super::*;
    use crate::random::Rng;
    use crate::Device;

    /// A training forward, the moving update and both backwards on (N, H, W, C) = (2, 5, 3, 7)
    /// give the CPU's numbers on the GPU.
    #[test]
    fn every_pass_matches_on_both_devices() {
        let Some(dev) = crate::gpu::gpu_or_skip() else {
            return;
        };
        let mut rng = Rng::new(4);
        let x = Tensor::rand_uniform_with(&mut rng, &[2, 5, 3, 7], -2.0, 3.0);
        let gamma = Tensor::rand_uniform_with(&mut rng, &[7], 0.5, 1.5);
        let beta = Tensor::rand_uniform_with(&mut rng, &[7], -0.5, 0.5);
        let dy = Tensor::rand_uniform_with(&mut rng, &[2, 5, 3, 7], -1.0, 1.0);
        let g = |t: &Tensor| t.to(dev).unwrap();
        let close = |what: &str, a: &Tensor, b: &Tensor| {
            assert_eq!(a.device(), Device::Gpu, "{what}");
            assert!(a.all_close(b, 1e-4, 1e-5), "{what}: {a} vs {b}");
        };

        let (mc, vc) = batch_norm_moments(&x).unwrap();
        let (mg, vg) = batch_norm_moments(&g(&x)).unwrap();
        close("mean", &mg, &mc);
        close("variance", &vg, &vc);
        let (mut mmc, mut mvc) = (Tensor::zeros(&[7]), Tensor::ones(&[7]));
        let (mut mmg, mut mvg) = (g(&mmc), g(&mvc));
        batch_norm_update_moving(&mut mmc, &mut mvc, &mc, &vc, 0.99, 30.0 / 29.0).unwrap();
        batch_norm_update_moving(&mut mmg, &mut mvg, &mg, &vg, 0.99, 30.0 / 29.0).unwrap();
        close("moving mean", &mmg, &mmc);
        close("moving variance", &mvg, &mvc);
        let nc = batch_norm_normalize(&x, &mc, &vc, &gamma, &beta, 1e-3).unwrap();
        let ng = batch_norm_normalize(&g(&x), &mg, &vg, &g(&gamma), &g(&beta), 1e-3).unwrap();
        close("y", &ng.y, &nc.y);
        close("x_hat", &ng.x_hat, &nc.x_hat);
        let (dgc, dbc) = batch_norm_backward_gamma_beta(&dy, &nc.x_hat).unwrap();
        let (dgg, dbg) = batch_norm_backward_gamma_beta(&g(&dy), &ng.x_hat).unwrap();
        close("dgamma", &dgg, &dgc);
        close("dbeta", &dbg, &dbc);
        let dxc = batch_norm_backward_x_training(&dy, &nc.x_hat, &gamma, &nc.inv_std, &dgc, &dbc)
            .unwrap();
        let dxg =
            batch_norm_backward_x_training(&g(&dy), &ng.x_hat, &g(&gamma), &ng.inv_std, &dgg, &dbg)
                .unwrap();
        close("dx training", &dxg, &dxc);
        let dxc = batch_norm_backward_x_inference(&dy, &gamma, &nc.inv_std).unwrap();
        let dxg = batch_norm_backward_x_inference(&g(&dy), &g(&gamma), &ng.inv_std).unwrap();
        close("dx inference", &dxg, &dxc);
    }
}
