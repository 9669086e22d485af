//! Fused optimizer updates on the GPU, the same arithmetic as [`crate::cpu::optimizer`] (whose
//! module doc has the formulas) with the same arguments: the parameter and its slots are
//! updated in place, in one pass.
//!
//! # Shapes
//! `w`, `g` and every slot: the parameter's P elements.
use super::{dispatch, grid_1d, Access, GpuBuffer, Kernel};
pub use crate::cpu::optimizer::{AdamStep, RmspropStep};
use crate::KernelError;

use Access::{Read as R, ReadWrite as W};

const fn kernel(source: &'static str, entry: &'static str, buffers: &'static [Access]) -> Kernel {
    Kernel {
        name: "optimizer",
        source,
        entry,
        buffers,
    }
}

const NO_SLOT: &str = concat!(
    include_str!("shaders/optimizer_common.wgsl"),
    include_str!("shaders/optimizer_1.wgsl")
);
const ONE_SLOT: &str = concat!(
    include_str!("shaders/optimizer_common.wgsl"),
    include_str!("shaders/optimizer_2.wgsl")
);
const TWO_SLOTS: &str = concat!(
    include_str!("shaders/optimizer_common.wgsl"),
    include_str!("shaders/optimizer_3.wgsl")
);
const THREE_SLOTS: &str = concat!(
    include_str!("shaders/optimizer_common.wgsl"),
    include_str!("shaders/optimizer_4.wgsl")
);

const SGD: Kernel = kernel(NO_SLOT, "sgd", &[W, R]);
const SGD_MOMENTUM: Kernel = kernel(ONE_SLOT, "sgd_momentum", &[W, R, W]);
const RMSPROP: Kernel = kernel(ONE_SLOT, "rmsprop", &[W, R, W]);
const ADAGRAD: Kernel = kernel(ONE_SLOT, "adagrad", &[W, R, W]);
const RMSPROP_CENTERED: Kernel = kernel(TWO_SLOTS, "rmsprop_centered", &[W, R, W, W]);
const RMSPROP_MOMENTUM: Kernel = kernel(TWO_SLOTS, "rmsprop_momentum", &[W, R, W, W]);
const ADAM: Kernel = kernel(TWO_SLOTS, "adam", &[W, R, W, W]);
const RMSPROP_CENTERED_MOMENTUM: Kernel =
    kernel(THREE_SLOTS, "rmsprop_centered_momentum", &[W, R, W, W, W]);
const ADAM_AMSGRAD: Kernel = kernel(THREE_SLOTS, "adam_amsgrad", &[W, R, W, W, W]);

/// The parameter block of `optimizer_common.wgsl`; each kernel reads its own fields.
#[derive(Clone, Copy, Debug, Default)]
struct Params {
    n: usize,
    lr: f32,
    momentum: f32,
    rho: f32,
    epsilon: f32,
    alpha: f32,
    one_minus_beta_1: f32,
    one_minus_beta_2: f32,
    weight_decay: f32,
    nesterov: bool,
}

impl Params {
    fn words(&self) -> [u32; 11] {
        [
            self.n as u32,
            self.lr.to_bits(),
            self.momentum.to_bits(),
            self.rho.to_bits(),
            (1.0 - self.rho).to_bits(),
            self.epsilon.to_bits(),
            self.alpha.to_bits(),
            self.one_minus_beta_1.to_bits(),
            self.one_minus_beta_2.to_bits(),
            self.weight_decay.to_bits(),
            u32::from(self.nesterov),
        ]
    }
}

fn run(kernel: &Kernel, params: Params, buffers: &[&GpuBuffer]) -> Result<(), KernelError> {
    dispatch(kernel, &params.words(), buffers, grid_1d(params.n))
}

/// Plain gradient descent: `w −= lr·g`.
pub fn sgd_update(w: &GpuBuffer, g: &GpuBuffer, lr: f32) -> Result<(), KernelError> {
    let params = Params {
        n: w.len(),
        lr,
        ..Params::default()
    };
    run(&SGD, params, &[w, g])
}

/// SGD with momentum: `v = μ·v − lr·g`, then `w += v` (nesterov: `w += μ·v − lr·g`).
pub fn sgd_momentum_update(
    w: &GpuBuffer,
    g: &GpuBuffer,
    velocity: &GpuBuffer,
    lr: f32,
    momentum: f32,
    nesterov: bool,
) -> Result<(), KernelError> {
    let params = Params {
        n: w.len(),
        lr,
        momentum,
        nesterov,
        ..Params::default()
    };
    run(&SGD_MOMENTUM, params, &[w, g, velocity])
}

/// RMSprop in TF 2.10's two forms: without `mom` (momentum 0) Keras's Python form, with `mom`
/// the C++ momentum kernel; `mg` (centered) subtracts the squared mean gradient.
pub fn rmsprop_update(
    w: &GpuBuffer,
    g: &GpuBuffer,
    ms: &GpuBuffer,
    mg: Option<&GpuBuffer>,
    mom: Option<&GpuBuffer>,
    step: &RmspropStep,
) -> Result<(), KernelError> {
    let params = Params {
        n: w.len(),
        lr: step.lr,
        rho: step.rho,
        momentum: step.momentum,
        epsilon: step.epsilon,
        ..Params::default()
    };
    match (mg, mom) {
        (None, None) => run(&RMSPROP, params, &[w, g, ms]),
        (Some(mg), None) => run(&RMSPROP_CENTERED, params, &[w, g, ms, mg]),
        (None, Some(mom)) => run(&RMSPROP_MOMENTUM, params, &[w, g, ms, mom]),
        (Some(mg), Some(mom)) => run(&RMSPROP_CENTERED_MOMENTUM, params, &[w, g, ms, mg, mom]),
    }
}

/// Adam / AdamW: `m`, `v` the moments, `vhat` the largest `v` so far (amsgrad only).
pub fn adam_update(
    w: &GpuBuffer,
    g: &GpuBuffer,
    m: &GpuBuffer,
    v: &GpuBuffer,
    vhat: Option<&GpuBuffer>,
    step: &AdamStep,
) -> Result<(), KernelError> {
    let params = Params {
        n: w.len(),
        lr: step.lr,
        epsilon: step.epsilon,
        alpha: step.alpha(),
        one_minus_beta_1: step.one_minus_beta_1,
        one_minus_beta_2: step.one_minus_beta_2,
        weight_decay: step.weight_decay,
        ..Params::default()
    };
    match vhat {
        None => run(&ADAM, params, &[w, g, m, v]),
        Some(vhat) => run(&ADAM_AMSGRAD, params, &[w, g, m, v, vhat]),
    }
}

/// Adagrad: `acc += g²; w −= lr·g/(√acc + ε)`.
pub fn adagrad_update(
    w: &GpuBuffer,
    g: &GpuBuffer,
    acc: &GpuBuffer,
    lr: f32,
    epsilon: f32,
) -> Result<(), KernelError> {
    let params = Params {
        n: w.len(),
        lr,
        epsilon,
        ..Params::default()
    };
    run(&ADAGRAD, params, &[w, g, acc])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::optimizer as cpu;
    use crate::wgpu::testing::{gpu_available, max_rel_diff, numbers};

    /// Which update a parity case runs.
    #[derive(Debug, Clone, Copy)]
    enum Update {
        Sgd,
        Momentum { nesterov: bool },
        Rmsprop { centered: bool, momentum: bool },
        Adam { amsgrad: bool, weight_decay: f32 },
        Adagrad,
    }

    const ALL: [Update; 11] = [
        Update::Sgd,
        Update::Momentum { nesterov: false },
        Update::Momentum { nesterov: true },
        Update::Rmsprop {
            centered: false,
            momentum: false,
        },
        Update::Rmsprop {
            centered: true,
            momentum: false,
        },
        Update::Rmsprop {
            centered: false,
            momentum: true,
        },
        Update::Rmsprop {
            centered: true,
            momentum: true,
        },
        Update::Adam {
            amsgrad: false,
            weight_decay: 0.0,
        },
        Update::Adam {
            amsgrad: true,
            weight_decay: 0.0,
        },
        Update::Adam {
            amsgrad: false,
            weight_decay: 0.004,
        },
        Update::Adagrad,
    ];

    /// Runs `steps` updates on the CPU kernel and on the GPU from the same start (P = 1037,
    /// not a multiple of 256) and compares the parameter and every slot after the last step.
    fn check(update: Update, steps: usize) {
        let n = 1037;
        let mut w = numbers(n, 1);
        let init = if matches!(update, Update::Adagrad) {
            0.1
        } else {
            0.0
        };
        let mut slots = vec![vec![init; n]; 3];
        let wb = GpuBuffer::upload(&w).unwrap();
        let sb: Vec<GpuBuffer> = slots
            .iter()
            .map(|s| GpuBuffer::upload(s).unwrap())
            .collect();
        for t in 0..steps {
            let g: Vec<f32> = numbers(n, 100 + t as u32).iter().map(|v| 2.0 * v).collect();
            let gb = GpuBuffer::upload(&g).unwrap();
            let lr = 0.01 * (t + 1) as f32;
            match update {
                Update::Sgd => {
                    cpu::sgd_update(&mut w, &g, lr);
                    sgd_update(&wb, &gb, lr).unwrap();
                }
                Update::Momentum { nesterov } => {
                    cpu::sgd_momentum_update(&mut w, &g, &mut slots[0], lr, 0.9, nesterov);
                    sgd_momentum_update(&wb, &gb, &sb[0], lr, 0.9, nesterov).unwrap();
                }
                Update::Rmsprop { centered, momentum } => {
                    let step = RmspropStep {
                        lr,
                        rho: 0.9,
                        momentum: if momentum { 0.5 } else { 0.0 },
                        epsilon: 1e-7,
                    };
                    let [ms, mg, mom] = &mut slots[..] else {
                        unreachable!()
                    };
                    cpu::rmsprop_update(
                        &mut w,
                        &g,
                        ms,
                        centered.then_some(&mut mg[..]),
                        momentum.then_some(&mut mom[..]),
                        &step,
                    );
                    let (mg, mom) = (centered.then_some(&sb[1]), momentum.then_some(&sb[2]));
                    rmsprop_update(&wb, &gb, &sb[0], mg, mom, &step).unwrap();
                }
                Update::Adam {
                    amsgrad,
                    weight_decay,
                } => {
                    let step = AdamStep {
                        lr,
                        one_minus_beta_1: 0.1,
                        one_minus_beta_2: 0.001,
                        epsilon: 1e-7,
                        beta_1_power: 0.9f32.powi(t as i32 + 1),
                        beta_2_power: 0.999f32.powi(t as i32 + 1),
                        weight_decay,
                    };
                    let [m, v, vhat] = &mut slots[..] else {
                        unreachable!()
                    };
                    cpu::adam_update(&mut w, &g, m, v, amsgrad.then_some(&mut vhat[..]), &step);
                    adam_update(&wb, &gb, &sb[0], &sb[1], amsgrad.then_some(&sb[2]), &step)
                        .unwrap();
                }
                Update::Adagrad => {
                    cpu::adagrad_update(&mut w, &g, &mut slots[0], lr, 1e-7);
                    adagrad_update(&wb, &gb, &sb[0], lr, 1e-7).unwrap();
                }
            }
        }
        let err = max_rel_diff(&wb.download().unwrap(), &w);
        assert!(err < 2e-6, "{update:?}: w differs by {err}");
        for (s, (gpu, cpu)) in sb.iter().zip(&slots).enumerate() {
            let err = max_rel_diff(&gpu.download().unwrap(), cpu);
            assert!(err < 2e-6, "{update:?}: slot {s} differs by {err}");
        }
    }

    #[test]
    fn every_update_matches_the_cpu_kernel_over_five_steps() {
        if !gpu_available() {
            return;
        }
        for update in ALL {
            check(update, 5);
        }
    }

    /// A slot whose gradient is 0 decays to exactly 0, not into the subnormals, as on the CPU.
    #[test]
    fn subnormal_slots_are_flushed_to_zero() {
        if !gpu_available() {
            return;
        }
        let (w, g) = (
            GpuBuffer::upload(&[1.0]).unwrap(),
            GpuBuffer::zeros(1).unwrap(),
        );
        let velocity = GpuBuffer::upload(&[2e-38]).unwrap(); // 0.5·2e-38 is subnormal
        sgd_momentum_update(&w, &g, &velocity, 0.1, 0.5, false).unwrap();
        assert_eq!(velocity.download().unwrap(), vec![0.0]);
    }
}
