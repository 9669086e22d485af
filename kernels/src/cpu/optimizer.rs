//! Fused optimizer updates: one pass over a parameter updates it and its slots together.
//!
//! # Math (TF 2.10 / tf.keras, `training_ops.cc` and `keras/optimizers/optimizer_v2/*`)
//!
//! `w` is the parameter, `g` its gradient, `lr` the learning rate of this step; slots start at zero.
//!
//! ```text
//! SGD                 w −= lr·g
//! SGD + momentum μ    v  = μ·v − lr·g ;  w += v                (nesterov: w += μ·v − lr·g)
//! RMSprop, μ = 0      ms = ρ·ms + (1−ρ)·g²                     (centered: mg = ρ·mg + (1−ρ)·g)
//!                     w −= lr·g / (√ms + ε)                    (centered: √(ms − mg²) + ε)
//! RMSprop, μ > 0      ms += (g² − ms)·(1−ρ)                    (centered: mg += (g − mg)·(1−ρ))
//!                     mom = μ·mom + lr·g / √(ms + ε)           (centered: √(ms − mg² + ε))
//!                     w −= mom
//! Adam                m += (g − m)·(1−β₁) ;  v += (g² − v)·(1−β₂)
//!                     α = lr·√(1−β₂ᵗ) / (1−β₁ᵗ)
//!                     w −= α·m / (√v + ε)                      (amsgrad: v̂ = max(v̂, v) replaces v)
//! AdamW               w −= w·wd·lr, then Adam
//! Adagrad             acc += g² ;  w −= lr·g / (√acc + ε)
//! ```
//!
//! The two RMSprop forms really differ in TF 2.10 (ε outside or inside the square root): the
//! momentum form is TF's C++ kernel, the plain form is Keras's Python code. Each line is written in
//! the order TF evaluates it (`(m·α) / (√v + ε)`, not `α·(m / …)`), so that float32 results agree with
//! Keras to the last bit or two.
//!
//! # Shapes
//!
//! Every slice of one call has the parameter's length (P elements); the update is elementwise.
//!
//! # Parallelism
//!
//! Parameters of at least [`PARALLEL_MIN_ELEMENTS`] run in parallel over chunks of
//! [`CHUNK`] elements. The update of one element does not depend on any other, so the result is
//! the same whatever the number of threads. One fused pass reads `w`, `g` and the slots once and
//! writes them once; an unfused update (one tensor op per line of the math) would make about ten
//! passes over memory for Adam.
use rayon::prelude::*;

use super::fast::vectorised;

/// Elements per parallel task.
pub const CHUNK: usize = 1 << 14;
/// Parameters smaller than this are updated on the calling thread.
pub const PARALLEL_MIN_ELEMENTS: usize = 1 << 15;

// ------------------------------------------------------------------ elementwise drivers

/// Runs `f(w_i, g_i)` for every element.
fn for_each_1(w: &mut [f32], g: &[f32], f: impl Fn(&mut f32, f32) + Sync) {
    debug_assert_eq!(w.len(), g.len());
    let chunk = |(w, g): (&mut [f32], &[f32])| {
        with_flush_to_zero(|| {
            vectorised(|| {
                for (w, &g) in w.iter_mut().zip(g) {
                    f(w, g);
                }
            })
        });
    };
    if w.len() >= PARALLEL_MIN_ELEMENTS {
        w.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .for_each(chunk);
    } else {
        chunk((w, g));
    }
}

/// Runs `f(w_i, g_i, a_i)` for every element.
fn for_each_2(w: &mut [f32], g: &[f32], a: &mut [f32], f: impl Fn(&mut f32, f32, &mut f32) + Sync) {
    debug_assert_eq!(w.len(), g.len());
    debug_assert_eq!(w.len(), a.len());
    let chunk = |((w, g), a): ((&mut [f32], &[f32]), &mut [f32])| {
        with_flush_to_zero(|| {
            vectorised(|| {
                for ((w, &g), a) in w.iter_mut().zip(g).zip(a) {
                    f(w, g, a);
                }
            })
        });
    };
    if w.len() >= PARALLEL_MIN_ELEMENTS {
        w.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(a.par_chunks_mut(CHUNK))
            .for_each(chunk);
    } else {
        chunk(((w, g), a));
    }
}

/// Runs `f(w_i, g_i, a_i, b_i)` for every element.
fn for_each_3(
    w: &mut [f32],
    g: &[f32],
    a: &mut [f32],
    b: &mut [f32],
    f: impl Fn(&mut f32, f32, &mut f32, &mut f32) + Sync,
) {
    debug_assert_eq!(w.len(), g.len());
    debug_assert_eq!(w.len(), a.len());
    debug_assert_eq!(w.len(), b.len());
    type Chunks<'a> = (((&'a mut [f32], &'a [f32]), &'a mut [f32]), &'a mut [f32]);
    let chunk = |(((w, g), a), b): Chunks| {
        with_flush_to_zero(|| {
            vectorised(|| {
                for (((w, &g), a), b) in w.iter_mut().zip(g).zip(a).zip(b) {
                    f(w, g, a, b);
                }
            })
        });
    };
    if w.len() >= PARALLEL_MIN_ELEMENTS {
        w.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(a.par_chunks_mut(CHUNK))
            .zip(b.par_chunks_mut(CHUNK))
            .for_each(chunk);
    } else {
        chunk((((w, g), a), b));
    }
}

/// Runs `f(w_i, g_i, a_i, b_i, c_i)` for every element.
fn for_each_4(
    w: &mut [f32],
    g: &[f32],
    a: &mut [f32],
    b: &mut [f32],
    c: &mut [f32],
    f: impl Fn(&mut f32, f32, &mut f32, &mut f32, &mut f32) + Sync,
) {
    debug_assert_eq!(w.len(), g.len());
    debug_assert_eq!(w.len(), a.len());
    debug_assert_eq!(w.len(), b.len());
    debug_assert_eq!(w.len(), c.len());
    type Chunks<'a> = (
        (((&'a mut [f32], &'a [f32]), &'a mut [f32]), &'a mut [f32]),
        &'a mut [f32],
    );
    let chunk = |((((w, g), a), b), c): Chunks| {
        with_flush_to_zero(|| {
            vectorised(|| {
                for ((((w, &g), a), b), c) in w.iter_mut().zip(g).zip(a).zip(b).zip(c) {
                    f(w, g, a, b, c);
                }
            })
        });
    };
    if w.len() >= PARALLEL_MIN_ELEMENTS {
        w.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(a.par_chunks_mut(CHUNK))
            .zip(b.par_chunks_mut(CHUNK))
            .zip(c.par_chunks_mut(CHUNK))
            .for_each(chunk);
    } else {
        chunk(((((w, g), a), b), c));
    }
}

/// `x`, or 0 when `x` is subnormal (|x| < f32::MIN_POSITIVE ≈ 1.2e-38).
///
/// Why: a slot whose gradient is 0 (a dead ReLU unit, a pixel that is always 0) decays
/// geometrically, `m ← β·m`, into the subnormal range, and there it sticks: below about 1e-45,
/// `β·m` rounds back to `m`. Every x86 instruction that reads or writes a subnormal takes a
/// microcode assist costing ~100 cycles, so a model with many such slots slows down epoch after
/// epoch. Flushing them costs one compare per element and bought, on the course's Fashion-MNIST
/// MLP (Adam), 2.6× less time per epoch (4.4 s → 1.7 s: the Adam update had become 58 % of a
/// step); on the random Galaxy10 CNN, whose second epoch took 4× its first (18.8 s → 74 s), it
/// and [`with_flush_to_zero`] keep every epoch as fast as the first.
/// TensorFlow's CPU kernels flush subnormals to zero too (FTZ/DAZ), so Keras sees the same values.
#[inline(always)]
fn flush_subnormal(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE {
        0.0
    } else {
        x
    }
}

/// Runs `f` with the CPU set to flush subnormal results and inputs to zero (x86's FTZ and DAZ
/// bits of MXCSR), then restores the previous mode. Like TensorFlow's `ScopedFlushDenormal`.
///
/// Why: [`flush_subnormal`] keeps the slots out of the subnormal range, but an *intermediate*
/// can still land there: `(g² − v)·(1 − β₂)` is subnormal whenever `v < 1.2e-35`, which a slot
/// whose gradient has stopped passes through for thousands of steps. On the random Galaxy10 CNN
/// (6.5 M weights in one Dense kernel) the Adam update grew from 16 % of the first epoch to 32 %
/// of the second (13.8 s → 20.0 s per epoch); with this scope the second epoch runs as fast as
/// the first (13.7 s → 13.6 s).
#[inline]
fn with_flush_to_zero<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        /// Puts the saved MXCSR back when dropped, even if `f` panics.
        struct Restore(u32);
        impl Drop for Restore {
            fn drop(&mut self) {
                // SAFETY: ldmxcsr writes this thread's SSE control register with the value
                // stmxcsr read from it, which is a valid mode.
                unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &self.0, options(nostack)) };
            }
        }
        const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);
        let mut saved: u32 = 0;
        // SAFETY: stmxcsr/ldmxcsr only read and write the SSE control register of this thread,
        // and setting FTZ and DAZ is a valid mode; `Restore` puts the old mode back.
        unsafe {
            std::arch::asm!("stmxcsr [{}]", in(reg) &mut saved, options(nostack));
            let flushing = saved | FTZ_DAZ;
            std::arch::asm!("ldmxcsr [{}]", in(reg) &flushing, options(nostack));
        }
        let _restore = Restore(saved);
        f()
    }
    #[cfg(not(target_arch = "x86_64"))]
    f()
}

// ------------------------------------------------------------------ SGD

/// Plain gradient descent: `w −= lr·g`.
pub fn sgd_update(w: &mut [f32], g: &[f32], lr: f32) {
    for_each_1(w, g, |w, g| *w -= lr * g);
}

/// SGD with momentum (Keras's form, `ResourceApplyKerasMomentum`): the velocity `v` holds the
/// last step, already scaled by the learning rate.
///
/// `v = μ·v − lr·g`, then `w += v`; with `nesterov`, `w += μ·v − lr·g` (a look-ahead step
/// computed with the new velocity).
pub fn sgd_momentum_update(
    w: &mut [f32],
    g: &[f32],
    velocity: &mut [f32],
    lr: f32,
    momentum: f32,
    nesterov: bool,
) {
    for_each_2(w, g, velocity, |w, g, v| {
        *v = flush_subnormal(*v * momentum - g * lr);
        if nesterov {
            *w += *v * momentum - g * lr;
        } else {
            *w += *v;
        }
    });
}

// ------------------------------------------------------------------ RMSprop

/// The numbers of one RMSprop step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmspropStep {
    /// Learning rate of this step.
    pub lr: f32,
    /// Decay of the moving averages, ρ.
    pub rho: f32,
    /// Momentum μ; only read when the `mom` slot is given.
    pub momentum: f32,
    /// ε, added to the denominator.
    pub epsilon: f32,
}

/// RMSprop: divide the gradient by a running root-mean-square of recent gradients.
///
/// `ms` is the mean square; `mg` (centered only) the mean gradient, so that the denominator is
/// an estimate of the gradient's standard deviation instead; `mom` (momentum > 0 only) the
/// momentum buffer. Which of TF 2.10's two forms runs (see the module doc) depends on whether
/// `mom` is given, as in Keras, which uses the momentum kernel exactly when momentum > 0.
pub fn rmsprop_update(
    w: &mut [f32],
    g: &[f32],
    ms: &mut [f32],
    mg: Option<&mut [f32]>,
    mom: Option<&mut [f32]>,
    step: &RmspropStep,
) {
    let RmspropStep {
        lr,
        rho,
        momentum,
        epsilon,
    } = *step;
    let one_minus_rho = 1.0 - rho;
    match (mg, mom) {
        (None, None) => for_each_2(w, g, ms, |w, g, ms| {
            *ms = flush_subnormal(rho * *ms + one_minus_rho * (g * g));
            *w -= lr * g / (ms.sqrt() + epsilon);
        }),
        (Some(mg), None) => for_each_3(w, g, ms, mg, |w, g, ms, mg| {
            *ms = flush_subnormal(rho * *ms + one_minus_rho * (g * g));
            *mg = flush_subnormal(rho * *mg + one_minus_rho * g);
            *w -= lr * g / ((*ms - *mg * *mg).sqrt() + epsilon);
        }),
        (None, Some(mom)) => for_each_3(w, g, ms, mom, |w, g, ms, mom| {
            *ms = flush_subnormal(*ms + (g * g - *ms) * one_minus_rho);
            *mom = flush_subnormal(*mom * momentum + (g * lr) / (*ms + epsilon).sqrt());
            *w -= *mom;
        }),
        (Some(mg), Some(mom)) => for_each_4(w, g, ms, mg, mom, |w, g, ms, mg, mom| {
            *ms = flush_subnormal(*ms + (g * g - *ms) * one_minus_rho);
            *mg = flush_subnormal(*mg + (g - *mg) * one_minus_rho);
            let denom = (*ms - *mg * *mg) + epsilon;
            *mom = *mom * momentum + (g * lr) / denom.sqrt();
            *w -= *mom;
        }),
    }
}

// ------------------------------------------------------------------ Adam, AdamW

/// The numbers of one Adam (or AdamW) step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamStep {
    /// Learning rate of this step.
    pub lr: f32,
    /// `1 − β₁`, with β₁ the decay of the first moment (given rather than computed so that the
    /// caller decides how it is rounded: Keras's two optimizer classes round it differently).
    pub one_minus_beta_1: f32,
    /// `1 − β₂`, with β₂ the decay of the second moment.
    pub one_minus_beta_2: f32,
    /// ε ("epsilon hat"): added to the uncorrected √v, the bias corrections being folded into α
    /// (the paper's ε would be ε̂/√(1−β₂ᵗ)).
    pub epsilon: f32,
    /// β₁ᵗ, with t = iterations + 1.
    pub beta_1_power: f32,
    /// β₂ᵗ.
    pub beta_2_power: f32,
    /// AdamW's decoupled weight decay (`w −= w·wd·lr` before the Adam step); 0 for Adam.
    pub weight_decay: f32,
}

impl AdamStep {
    /// `α = lr·√(1−β₂ᵗ) / (1−β₁ᵗ)`: the learning rate with both bias corrections folded in.
    pub fn alpha(&self) -> f32 {
        self.lr * (1.0 - self.beta_2_power).sqrt() / (1.0 - self.beta_1_power)
    }
}

/// Adam: momentum (`m`, the mean gradient) divided by the root of the mean square gradient
/// (`v`), both bias-corrected through α. With `vhat` (amsgrad) the denominator uses the largest
/// `v` seen so far, so the step size never grows.
pub fn adam_update(
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    vhat: Option<&mut [f32]>,
    step: &AdamStep,
) {
    let alpha = step.alpha();
    let one_minus_beta_1 = step.one_minus_beta_1;
    let one_minus_beta_2 = step.one_minus_beta_2;
    let decay = step.weight_decay;
    let lr = step.lr;
    let epsilon = step.epsilon;
    match vhat {
        None => for_each_3(w, g, m, v, |w, g, m, v| {
            if decay != 0.0 {
                *w -= *w * decay * lr;
            }
            *m = flush_subnormal(*m + (g - *m) * one_minus_beta_1);
            *v = flush_subnormal(*v + (g * g - *v) * one_minus_beta_2);
            *w -= (*m * alpha) / (v.sqrt() + epsilon);
        }),
        Some(vhat) => for_each_4(w, g, m, v, vhat, |w, g, m, v, vhat| {
            if decay != 0.0 {
                *w -= *w * decay * lr;
            }
            *m = flush_subnormal(*m + (g - *m) * one_minus_beta_1);
            *v = flush_subnormal(*v + (g * g - *v) * one_minus_beta_2);
            *vhat = vhat.max(*v);
            *w -= (*m * alpha) / (vhat.sqrt() + epsilon);
        }),
    }
}

// ------------------------------------------------------------------ Adagrad

/// Adagrad: divide by the root of the sum of all squared gradients so far, so that often-updated
/// weights slow down. `acc` starts at Keras's `initial_accumulator_value` (0.1), not at zero.
pub fn adagrad_update(w: &mut [f32], g: &[f32], acc: &mut [f32], lr: f32, epsilon: f32) {
    for_each_2(w, g, acc, |w, g, acc| {
        *acc += g * g;
        *w -= g * lr / (acc.sqrt() + epsilon);
    });
}

/// Loop-by-loop references in f64, written straight from the formulas of the module doc. The
/// tests check the fused kernels against them.
pub mod naive {
    use super::{AdamStep, RmspropStep};

    /// `w −= lr·g`.
    pub fn sgd_update(w: &mut [f32], g: &[f32], lr: f32) {
        for i in 0..w.len() {
            w[i] = (w[i] as f64 - lr as f64 * g[i] as f64) as f32;
        }
    }

    /// `v = μv − lr·g; w += v` (nesterov: `w += μv − lr·g`).
    pub fn sgd_momentum_update(
        w: &mut [f32],
        g: &[f32],
        velocity: &mut [f32],
        lr: f32,
        momentum: f32,
        nesterov: bool,
    ) {
        let (lr, mu) = (lr as f64, momentum as f64);
        for i in 0..w.len() {
            let g = g[i] as f64;
            let v = mu * velocity[i] as f64 - lr * g;
            velocity[i] = v as f32;
            let delta = if nesterov { mu * v - lr * g } else { v };
            w[i] = (w[i] as f64 + delta) as f32;
        }
    }

    /// RMSprop in both TF 2.10 forms (momentum form when `mom` is given).
    pub fn rmsprop_update(
        w: &mut [f32],
        g: &[f32],
        ms: &mut [f32],
        mut mg: Option<&mut [f32]>,
        mut mom: Option<&mut [f32]>,
        step: &RmspropStep,
    ) {
        let lr = step.lr as f64;
        let rho = step.rho as f64;
        let mu = step.momentum as f64;
        let eps = step.epsilon as f64;
        for i in 0..w.len() {
            let g = g[i] as f64;
            let new_ms = rho * ms[i] as f64 + (1.0 - rho) * g * g;
            ms[i] = new_ms as f32;
            let mut variance = new_ms;
            if let Some(mg) = mg.as_deref_mut() {
                let new_mg = rho * mg[i] as f64 + (1.0 - rho) * g;
                mg[i] = new_mg as f32;
                variance -= new_mg * new_mg;
            }
            match mom.as_deref_mut() {
                None => w[i] = (w[i] as f64 - lr * g / (variance.sqrt() + eps)) as f32,
                Some(mom) => {
                    let new_mom = mu * mom[i] as f64 + lr * g / (variance + eps).sqrt();
                    mom[i] = new_mom as f32;
                    w[i] = (w[i] as f64 - new_mom) as f32;
                }
            }
        }
    }

    /// Adam / AdamW (amsgrad when `vhat` is given) in f64, in Keras's form:
    /// `α = lr·√(1−β₂ᵗ)/(1−β₁ᵗ)`, `w −= α·m/(√v + ε̂)`, with ε̂ added to the uncorrected √v.
    pub fn adam_update(
        w: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        mut vhat: Option<&mut [f32]>,
        step: &AdamStep,
    ) {
        let lr = step.lr as f64;
        let (b1, b2) = (
            1.0 - step.one_minus_beta_1 as f64,
            1.0 - step.one_minus_beta_2 as f64,
        );
        let alpha = lr * (1.0 - step.beta_2_power as f64).sqrt() / (1.0 - step.beta_1_power as f64);
        for i in 0..w.len() {
            let g = g[i] as f64;
            let mut wi = w[i] as f64;
            wi -= wi * step.weight_decay as f64 * lr;
            let new_m = b1 * m[i] as f64 + (1.0 - b1) * g;
            let new_v = b2 * v[i] as f64 + (1.0 - b2) * g * g;
            m[i] = new_m as f32;
            v[i] = new_v as f32;
            let mut denom_v = new_v;
            if let Some(vhat) = vhat.as_deref_mut() {
                denom_v = denom_v.max(vhat[i] as f64);
                vhat[i] = denom_v as f32;
            }
            w[i] = (wi - alpha * new_m / (denom_v.sqrt() + step.epsilon as f64)) as f32;
        }
    }

    /// `acc += g²; w −= lr·g/(√acc + ε)`.
    pub fn adagrad_update(w: &mut [f32], g: &[f32], acc: &mut [f32], lr: f32, epsilon: f32) {
        for i in 0..w.len() {
            let g = g[i] as f64;
            let a = acc[i] as f64 + g * g;
            acc[i] = a as f32;
            w[i] = (w[i] as f64 - lr as f64 * g / (a.sqrt() + epsilon as f64)) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A deterministic pseudo-random vector in [lo, hi) (an LCG: the kernels crate has no RNG).
    fn values(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
            })
            .collect()
    }

    fn assert_close(what: &str, fast: &[f32], naive: &[f32], rtol: f32) {
        for (i, (&a, &b)) in fast.iter().zip(naive).enumerate() {
            let tol = rtol * (1.0 + b.abs());
            assert!((a - b).abs() <= tol, "{what}[{i}]: fast {a} vs naive {b}");
        }
    }

    /// Which kernel a test case runs.
    #[derive(Debug, Clone, Copy)]
    enum Kernel {
        Sgd,
        Momentum { nesterov: bool },
        Rmsprop { centered: bool, momentum: bool },
        Adam { amsgrad: bool, weight_decay: f32 },
        Adagrad,
    }

    /// One agreement case: a kernel, a parameter length, a number of steps.
    #[derive(Debug, Clone, Copy)]
    struct KernelCase {
        kernel: Kernel,
        len: usize,
        steps: usize,
    }

    /// Runs `case.steps` updates with the fused kernel and with the naive one from the same
    /// start, and compares the parameter and every slot after each step.
    fn check_agreement(case: KernelCase) {
        let n = case.len;
        let w0 = values(n, 1, -1.0, 1.0);
        let (mut wf, mut wn) = (w0.clone(), w0);
        // slots: up to three per kernel, each zero (Adagrad starts at 0.1).
        let init = if matches!(case.kernel, Kernel::Adagrad) {
            0.1
        } else {
            0.0
        };
        let mut slots_f = vec![vec![init; n]; 3];
        let mut slots_n = slots_f.clone();
        for t in 0..case.steps {
            let g = values(n, 100 + t as u64, -2.0, 2.0);
            let lr = 0.01 * (t + 1) as f32;
            match case.kernel {
                Kernel::Sgd => {
                    sgd_update(&mut wf, &g, lr);
                    naive::sgd_update(&mut wn, &g, lr);
                }
                Kernel::Momentum { nesterov } => {
                    sgd_momentum_update(&mut wf, &g, &mut slots_f[0], lr, 0.9, nesterov);
                    naive::sgd_momentum_update(&mut wn, &g, &mut slots_n[0], lr, 0.9, nesterov);
                }
                Kernel::Rmsprop { centered, momentum } => {
                    let step = RmspropStep {
                        lr,
                        rho: 0.9,
                        momentum: if momentum { 0.5 } else { 0.0 },
                        epsilon: 1e-7,
                    };
                    let [ms, mg, mom] = &mut slots_f[..] else {
                        unreachable!()
                    };
                    rmsprop_update(
                        &mut wf,
                        &g,
                        ms,
                        centered.then_some(&mut mg[..]),
                        momentum.then_some(&mut mom[..]),
                        &step,
                    );
                    let [ms, mg, mom] = &mut slots_n[..] else {
                        unreachable!()
                    };
                    naive::rmsprop_update(
                        &mut wn,
                        &g,
                        ms,
                        centered.then_some(&mut mg[..]),
                        momentum.then_some(&mut mom[..]),
                        &step,
                    );
                }
                Kernel::Adam {
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
                    let [m, v, vhat] = &mut slots_f[..] else {
                        unreachable!()
                    };
                    adam_update(&mut wf, &g, m, v, amsgrad.then_some(&mut vhat[..]), &step);
                    let [m, v, vhat] = &mut slots_n[..] else {
                        unreachable!()
                    };
                    naive::adam_update(&mut wn, &g, m, v, amsgrad.then_some(&mut vhat[..]), &step);
                }
                Kernel::Adagrad => {
                    adagrad_update(&mut wf, &g, &mut slots_f[0], lr, 1e-7);
                    naive::adagrad_update(&mut wn, &g, &mut slots_n[0], lr, 1e-7);
                }
            }
            let what = format!("{case:?} step {t}");
            assert_close(&format!("{what} w"), &wf, &wn, 1e-5);
            for s in 0..3 {
                assert_close(&format!("{what} slot {s}"), &slots_f[s], &slots_n[s], 1e-5);
            }
        }
    }

    const ALL_KERNELS: [Kernel; 11] = [
        Kernel::Sgd,
        Kernel::Momentum { nesterov: false },
        Kernel::Momentum { nesterov: true },
        Kernel::Rmsprop {
            centered: false,
            momentum: false,
        },
        Kernel::Rmsprop {
            centered: true,
            momentum: false,
        },
        Kernel::Rmsprop {
            centered: false,
            momentum: true,
        },
        Kernel::Rmsprop {
            centered: true,
            momentum: true,
        },
        Kernel::Adam {
            amsgrad: false,
            weight_decay: 0.0,
        },
        Kernel::Adam {
            amsgrad: true,
            weight_decay: 0.0,
        },
        Kernel::Adam {
            amsgrad: false,
            weight_decay: 0.004,
        },
        Kernel::Adagrad,
    ];

    #[test]
    fn fused_kernels_agree_with_naive_on_small_parameters() {
        for kernel in ALL_KERNELS {
            check_agreement(KernelCase {
                kernel,
                len: 37,
                steps: 5,
            });
        }
    }

    /// Large enough to run in parallel over several chunks, with a ragged last chunk.
    #[test]
    fn fused_kernels_agree_with_naive_in_parallel() {
        for kernel in ALL_KERNELS {
            check_agreement(KernelCase {
                kernel,
                len: PARALLEL_MIN_ELEMENTS + CHUNK / 3,
                steps: 2,
            });
        }
    }

    #[test]
    fn sgd_by_hand() {
        let mut w = vec![1.0, -2.0];
        sgd_update(&mut w, &[0.5, -1.0], 0.1);
        assert_eq!(w, vec![0.95, -1.9]);
        // momentum: v = 0.9·0 − 0.1·1 = −0.1 → w = 0.9; then v = −0.09 − 0.1 = −0.19 → w = 0.71
        let (mut w, mut v) = (vec![1.0], vec![0.0]);
        sgd_momentum_update(&mut w, &[1.0], &mut v, 0.1, 0.9, false);
        sgd_momentum_update(&mut w, &[1.0], &mut v, 0.1, 0.9, false);
        assert!((w[0] - 0.71).abs() < 1e-6 && (v[0] + 0.19).abs() < 1e-6);
    }

    /// Adam's first step moves every weight by about lr·sign(g), whatever the gradient's size.
    #[test]
    fn adam_first_step_is_lr_times_sign() {
        let mut w = vec![0.0; 3];
        let (mut m, mut v) = (vec![0.0; 3], vec![0.0; 3]);
        let step = AdamStep {
            lr: 0.001,
            one_minus_beta_1: 0.1,
            one_minus_beta_2: 0.001,
            epsilon: 1e-7,
            beta_1_power: 0.9,
            beta_2_power: 0.999,
            weight_decay: 0.0,
        };
        adam_update(&mut w, &[100.0, -0.01, 3.0], &mut m, &mut v, None, &step);
        for (wi, sign) in w.iter().zip([-1.0, 1.0, -1.0]) {
            assert!((wi - sign * 0.001).abs() < 1e-5, "{w:?}");
        }
    }

    /// A slot whose gradient stays 0 never sticks in the subnormal range (where `0.9·m` rounds
    /// back to `m` and every access is ~100× slower): it ends at 0 or, once the decrement itself
    /// is flushed, at a tiny normal number (as in TensorFlow).
    #[test]
    fn slots_without_gradient_decay_to_zero_not_to_subnormals() {
        let step = AdamStep {
            lr: 0.001,
            one_minus_beta_1: 0.1,
            one_minus_beta_2: 0.001,
            epsilon: 1e-7,
            beta_1_power: 0.9,
            beta_2_power: 0.999,
            weight_decay: 0.0,
        };
        let (mut w, mut m, mut v) = (vec![1.0], vec![1e-30], vec![1e-30]);
        let (mut velocity, mut ms) = (vec![1e-30], vec![1e-30]);
        let rms = RmspropStep {
            lr: 0.001,
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
        };
        for _ in 0..200_000 {
            adam_update(&mut w, &[0.0], &mut m, &mut v, None, &step);
            sgd_momentum_update(&mut w, &[0.0], &mut velocity, 0.1, 0.9, false);
            rmsprop_update(&mut w, &[0.0], &mut ms, None, None, &rms);
        }
        for slot in [m[0], v[0], velocity[0], ms[0]] {
            assert!(
                slot == 0.0 || (slot.is_normal() && slot < 1e-30),
                "{slot:e}"
            );
        }
    }

    /// The same update with 1 thread and with many gives bit-identical results.
    #[test]
    fn thread_count_does_not_change_the_result() {
        let n = PARALLEL_MIN_ELEMENTS * 2 + 5;
        let g = values(n, 7, -1.0, 1.0);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut w = values(n, 3, -1.0, 1.0);
                let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
                let step = AdamStep {
                    lr: 0.01,
                    one_minus_beta_1: 0.1,
                    one_minus_beta_2: 0.001,
                    epsilon: 1e-7,
                    beta_1_power: 0.9,
                    beta_2_power: 0.999,
                    weight_decay: 0.0,
                };
                adam_update(&mut w, &g, &mut m, &mut v, None, &step);
                w
            })
        };
        assert_eq!(run(1), run(4));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn fused_kernels_agree_with_naive_for_any_length(len in 0usize..200, which in 0usize..11) {
            check_agreement(KernelCase { kernel: ALL_KERNELS[which], len, steps: 3 });
        }
    }
}
