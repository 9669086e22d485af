//! Fused optimizer updates on either device: the parameter `w` and its slots are updated in
//! place, in one pass, by `astrograd_kernels::cpu::optimizer` (CPU tensors) or
//! `astrograd_kernels::wgpu::optimizer` (GPU tensors). The formulas are in the CPU kernel's
//! module doc.
//!
//! # Shapes
//! `w`, `g` and every slot: the parameter's shape (P elements).
use astrograd_kernels::cpu::optimizer as cpu;
pub use astrograd_kernels::cpu::optimizer::{AdamStep, RmspropStep};
#[cfg(feature = "wgpu")]
use astrograd_kernels::wgpu::optimizer as gpu;

use crate::{Result, Tensor, TensorError};

/// An error unless every tensor has the parameter's number of elements.
fn check(op: &'static str, w: &Tensor, others: &[&Tensor]) -> Result<()> {
    for t in others {
        if t.numel() != w.numel() {
            return Err(TensorError::Shape {
                op,
                expected: format!(
                    "a gradient and slots of the parameter's shape {:?}",
                    w.shape()
                ),
                found: format!("shape {:?}", t.shape()),
            });
        }
    }
    Ok(())
}

/// Plain gradient descent: `w −= lr·g`.
///
/// # Errors
/// [`TensorError::Shape`] if `g` has another size; [`TensorError::Device`] for mixed devices.
pub fn sgd_update(w: &mut Tensor, g: &Tensor, lr: f32) -> Result<()> {
    const OP: &str = "sgd_update";
    check(OP, w, &[g])?;
    #[cfg(feature = "wgpu")]
    if crate::gpu::all_on_gpu(OP, &[w, g])?.is_some() {
        if let Some(gb) = g.gpu_buffer() {
            return Ok(gpu::sgd_update(w.gpu_buffer_mut()?, gb, lr)?);
        }
    }
    cpu::sgd_update(w.as_mut_slice()?, g.as_slice()?, lr);
    Ok(())
}

/// SGD with momentum: `v = μ·v − lr·g`, then `w += v` (nesterov: `w += μ·v − lr·g`).
///
/// # Errors
/// As [`sgd_update`].
pub fn sgd_momentum_update(
    w: &mut Tensor,
    g: &Tensor,
    velocity: &mut Tensor,
    lr: f32,
    momentum: f32,
    nesterov: bool,
) -> Result<()> {
    const OP: &str = "sgd_momentum_update";
    check(OP, w, &[g, velocity])?;
    #[cfg(feature = "wgpu")]
    if crate::gpu::all_on_gpu(OP, &[w, g, velocity])?.is_some() {
        if let Some(gb) = g.gpu_buffer() {
            let (wb, vb) = (w.gpu_buffer_mut()?, velocity.gpu_buffer_mut()?);
            return Ok(gpu::sgd_momentum_update(
                wb, gb, vb, lr, momentum, nesterov,
            )?);
        }
    }
    cpu::sgd_momentum_update(
        w.as_mut_slice()?,
        g.as_slice()?,
        velocity.as_mut_slice()?,
        lr,
        momentum,
        nesterov,
    );
    Ok(())
}

/// RMSprop (mean square `ms`; `mg` when centered; `mom` when momentum > 0), in TF 2.10's two
/// forms (see the CPU kernel).
///
/// # Errors
/// As [`sgd_update`].
pub fn rmsprop_update(
    w: &mut Tensor,
    g: &Tensor,
    ms: &mut Tensor,
    mg: Option<&mut Tensor>,
    mom: Option<&mut Tensor>,
    step: &RmspropStep,
) -> Result<()> {
    const OP: &str = "rmsprop_update";
    let mut all: Vec<&Tensor> = vec![g, ms];
    all.extend(mg.as_deref());
    all.extend(mom.as_deref());
    check(OP, w, &all)?;
    all.push(w);
    #[cfg(feature = "wgpu")]
    if let (true, Some(gb)) = (crate::gpu::all_on_gpu(OP, &all)?.is_some(), g.gpu_buffer()) {
        let wb = w.gpu_buffer_mut()?;
        let msb = ms.gpu_buffer_mut()?;
        let mgb = mg.map(Tensor::gpu_buffer_mut).transpose()?;
        let momb = mom.map(Tensor::gpu_buffer_mut).transpose()?;
        return Ok(gpu::rmsprop_update(wb, gb, msb, mgb, momb, step)?);
    }
    cpu::rmsprop_update(
        w.as_mut_slice()?,
        g.as_slice()?,
        ms.as_mut_slice()?,
        mg.map(Tensor::as_mut_slice).transpose()?,
        mom.map(Tensor::as_mut_slice).transpose()?,
        step,
    );
    Ok(())
}

/// Adam / AdamW (moments `m`, `v`; `vhat` with amsgrad).
///
/// # Errors
/// As [`sgd_update`].
pub fn adam_update(
    w: &mut Tensor,
    g: &Tensor,
    m: &mut Tensor,
    v: &mut Tensor,
    vhat: Option<&mut Tensor>,
    step: &AdamStep,
) -> Result<()> {
    const OP: &str = "adam_update";
    let mut all: Vec<&Tensor> = vec![g, m, v];
    all.extend(vhat.as_deref());
    check(OP, w, &all)?;
    all.push(w);
    #[cfg(feature = "wgpu")]
    if let (true, Some(gb)) = (crate::gpu::all_on_gpu(OP, &all)?.is_some(), g.gpu_buffer()) {
        let (wb, mb, vb) = (
            w.gpu_buffer_mut()?,
            m.gpu_buffer_mut()?,
            v.gpu_buffer_mut()?,
        );
        let vhatb = vhat.map(Tensor::gpu_buffer_mut).transpose()?;
        return Ok(gpu::adam_update(wb, gb, mb, vb, vhatb, step)?);
    }
    cpu::adam_update(
        w.as_mut_slice()?,
        g.as_slice()?,
        m.as_mut_slice()?,
        v.as_mut_slice()?,
        vhat.map(Tensor::as_mut_slice).transpose()?,
        step,
    );
    Ok(())
}

/// Adagrad: `acc += g²; w −= lr·g/(√acc + ε)`.
///
/// # Errors
/// As [`sgd_update`].
pub fn adagrad_update(
    w: &mut Tensor,
    g: &Tensor,
    acc: &mut Tensor,
    lr: f32,
    epsilon: f32,
) -> Result<()> {
    const OP: &str = "adagrad_update";
    check(OP, w, &[g, acc])?;
    #[cfg(feature = "wgpu")]
    if crate::gpu::all_on_gpu(OP, &[w, g, acc])?.is_some() {
        if let Some(gb) = g.gpu_buffer() {
            let (wb, accb) = (w.gpu_buffer_mut()?, acc.gpu_buffer_mut()?);
            return Ok(gpu::adagrad_update(wb, gb, accb, lr, epsilon)?);
        }
    }
    cpu::adagrad_update(
        w.as_mut_slice()?,
        g.as_slice()?,
        acc.as_mut_slice()?,
        lr,
        epsilon,
    );
    Ok(())
}

#[cfg(all(test, feature = "wgpu"))]
mod tests {
    use super::*;
    use crate::random::Rng;
    use crate::Device;

    /// Three Adam (amsgrad) and RMSprop (centered, momentum) steps give the CPU's parameter and
    /// slots on the GPU, updated in place.
    #[test]
    fn gpu_updates_match_the_cpu_in_place() {
        let Some(dev) = crate::gpu::gpu_or_skip() else {
            return;
        };
        let mut rng = Rng::new(2);
        let w0 = Tensor::rand_uniform_with(&mut rng, &[7, 11], -1.0, 1.0);
        let zeros = Tensor::zeros(&[7, 11]);
        let (mut wc, mut wg) = (w0.clone(), w0.to(dev).unwrap());
        // Adam's m, v, v̂, then RMSprop's ms, mg, mom.
        let mut slots_c = [(); 6].map(|_| zeros.clone());
        let mut slots_g = slots_c.clone().map(|s| s.to(dev).unwrap());
        for t in 1..=3 {
            let g = Tensor::rand_uniform_with(&mut rng, &[7, 11], -1.0, 1.0);
            let gg = g.to(dev).unwrap();
            let step = AdamStep {
                lr: 0.01,
                one_minus_beta_1: 0.1,
                one_minus_beta_2: 0.001,
                epsilon: 1e-7,
                beta_1_power: 0.9f32.powi(t),
                beta_2_power: 0.999f32.powi(t),
                weight_decay: 0.004,
            };
            let [m, v, vhat, ..] = &mut slots_c;
            adam_update(&mut wc, &g, m, v, Some(vhat), &step).unwrap();
            let [m, v, vhat, ..] = &mut slots_g;
            adam_update(&mut wg, &gg, m, v, Some(vhat), &step).unwrap();
            let rms = RmspropStep {
                lr: 0.01,
                rho: 0.9,
                momentum: 0.5,
                epsilon: 1e-7,
            };
            let [.., ms, mg, mom] = &mut slots_c;
            rmsprop_update(&mut wc, &g, ms, Some(mg), Some(mom), &rms).unwrap();
            let [.., ms, mg, mom] = &mut slots_g;
            rmsprop_update(&mut wg, &gg, ms, Some(mg), Some(mom), &rms).unwrap();
        }
        assert_eq!(wg.device(), Device::Gpu);
        assert!(wg.all_close(&wc, 1e-5, 1e-6), "w: {wg} vs {wc}");
        for (sg, sc) in slots_g.iter().zip(&slots_c) {
            assert!(sg.all_close(sc, 1e-5, 1e-6), "slot: {sg} vs {sc}");
        }
    }
}
